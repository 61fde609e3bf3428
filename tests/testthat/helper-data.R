# Fixtures shared by the tests: the real MNIST subset and small synthetic problems.

# Folder `tests/fixtures/<parts>` of the package sources (see tests/fixtures/README.md), or
# $<env> when that is set to a folder. testthat runs in tests/testthat, both from the sources
# (tools/run-tests.R) and in R CMD check's copy of tests/, so the fixtures are at ../fixtures.
# A missing folder is an error, not a skip: the fixtures are part of the repository.
fixture_dir <- function(..., env = "") {
  given <- Sys.getenv(env)
  if (nzchar(given) && dir.exists(given)) return(given)
  dir <- test_path("..", "fixtures", ...)
  if (!dir.exists(dir)) stop("test fixtures not found: ", normalizePath(dir, mustWork = FALSE), call. = FALSE)
  normalizePath(dir)
}

# Folder of the real MNIST subset ($RKERAS_MNIST_DIR, else tests/fixtures/mnist).
mnist_subset_dir <- function() fixture_dir("mnist", env = "RKERAS_MNIST_DIR")

# The MNIST subset as the tutorial prepares it: x scaled to [0, 1] with 784 columns,
# y one-hot; `n` rows of train and test at most.
mnist_tutorial_data <- function(n_train = 8000, n_test = 2000) {
  mnist <- dataset_mnist(path = mnist_subset_dir())
  prep <- function(x, n) array_reshape(x[seq_len(min(n, nrow(x))), , , drop = FALSE], c(min(n, nrow(x)), 784)) / 255
  list(x_train = prep(mnist$train$x, n_train), y_train = to_categorical(mnist$train$y[seq_len(min(n_train, 8000))], 10),
       x_test = prep(mnist$test$x, n_test), y_test = to_categorical(mnist$test$y[seq_len(min(n_test, 2000))], 10),
       raw = mnist)
}

# A small separable 2-class problem: x in [0,1]^4, class = x1 + x2 > 1.
toy_data <- function(n = 200, seed = 1) {
  set.seed(seed)
  x <- matrix(runif(n * 4), n)
  cls <- as.integer(x[, 1] + x[, 2] > 1)
  list(x = x, y = to_categorical(cls, 2), cls = cls)
}

toy_model <- function(units = 8, dropout = 0, optimizer = "adam", metrics = "accuracy", loss = "categorical_crossentropy") {
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(units, activation = "relu")
  if (dropout > 0) model %>% layer_dropout(dropout)
  model %>% layer_dense(2, activation = "softmax")
  model %>% compile(optimizer = optimizer, loss = loss, metrics = metrics)
  model
}
