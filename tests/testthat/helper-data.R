# Fixtures shared by the tests: the real MNIST subset and small synthetic problems.

# Folder `shared/<parts>` of the project's shared material: $<env> when set to a folder, else
# the first ancestor of the working directory that holds it; NULL when there is none.
shared_dir <- function(..., env = "") {
  given <- Sys.getenv(env)
  if (nzchar(given) && dir.exists(given)) return(given)
  dir <- normalizePath(getwd(), mustWork = FALSE)
  repeat {
    cand <- file.path(dir, "shared", ...)
    if (dir.exists(cand)) return(cand)
    parent <- dirname(dir)
    if (parent == dir) return(NULL)
    dir <- parent
  }
}

# Folder of the real MNIST subset ($RKERAS_MNIST_DIR, else shared/data/mnist-subset).
mnist_subset_dir <- function() shared_dir("data", "mnist-subset", env = "RKERAS_MNIST_DIR")

skip_if_no_mnist <- function() {
  dir <- mnist_subset_dir()
  if (is.null(dir)) skip("MNIST subset not found (set RKERAS_MNIST_DIR)")
  dir
}


# The MNIST subset as the tutorial prepares it: x scaled to [0, 1] with 784 columns,
# y one-hot; `n` rows of train and test at most.
mnist_tutorial_data <- function(n_train = 8000, n_test = 2000) {
  dir <- skip_if_no_mnist()
  mnist <- dataset_mnist(path = dir)
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
