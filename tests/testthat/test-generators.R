# fit_generator() and friends: the R closure is called exactly once per step, bad batches
# and errors in user code stop training cleanly with the user's condition.

counting_generator <- function(batch = 16, seed = 1, bad = NULL) {
  d <- toy_data(400, seed)
  calls <- 0
  gen <- function() {
    calls <<- calls + 1
    if (!is.null(bad) && calls == bad$at) return(bad$value)
    idx <- sample(nrow(d$x), batch)
    list(d$x[idx, , drop = FALSE], d$y[idx, , drop = FALSE])
  }
  list(gen = gen, calls = function() calls)
}

test_that("the generator runs exactly steps_per_epoch times per epoch, plus validation_steps", {
  g <- counting_generator()
  v <- counting_generator(seed = 2)
  model <- toy_model()
  h <- fit_generator(model, g$gen, steps_per_epoch = 5, epochs = 3, verbose = 0,
                     validation_data = v$gen, validation_steps = 2)
  expect_equal(g$calls(), 15)
  expect_equal(v$calls(), 6)
  expect_equal(h$params$steps, 5)
  expect_named(h$metrics, c("accuracy", "loss", "val_accuracy", "val_loss"))
  expect_length(h$metrics$loss, 3)
})

test_that("validation_data as a list is evaluated once per epoch and validation_steps is ignored", {
  g <- counting_generator()
  d <- toy_data(50, 3)
  model <- toy_model()
  h <- fit_generator(model, g$gen, steps_per_epoch = 4, epochs = 2, verbose = 0,
                     validation_data = list(d$x, d$y), validation_steps = 1)
  expect_equal(g$calls(), 8)
  expect_equal(h$metrics$val_loss[2], evaluate(model, d$x, d$y, verbose = 0)[["loss"]], tolerance = 1e-6)
})

test_that("fit() accepts a generator function with steps_per_epoch, like modern keras", {
  g <- counting_generator()
  model <- toy_model()
  fit(model, g$gen, steps_per_epoch = 3, epochs = 2, verbose = 0)
  expect_equal(g$calls(), 6)
  expect_error(fit(model, g$gen, epochs = 1, verbose = 0), "steps_per_epoch")
})

test_that("batches may differ in size and carry sample weights", {
  d <- toy_data(300)
  sizes <- c(7, 32, 1, 20)
  i <- 0
  gen <- function() {
    i <<- i + 1
    n <- sizes[(i - 1) %% 4 + 1]
    idx <- sample(300, n)
    list(d$x[idx, , drop = FALSE], d$y[idx, , drop = FALSE], rep(2, n))
  }
  model <- toy_model()
  h <- fit_generator(model, gen, steps_per_epoch = 4, epochs = 2, verbose = 0)
  expect_equal(i, 8)
  expect_true(all(is.finite(h$metrics$loss)))
})

test_that("sample weights from the generator scale the loss", {
  d <- toy_data(64)
  make <- function(w) function() list(d$x, d$y, rep(w, 64))
  m1 <- toy_model(); m2 <- toy_model()
  set_weights(m2, get_weights(m1))
  e1 <- evaluate(m1, make(1), steps = 1, verbose = 0)
  e3 <- evaluate(m2, make(3), steps = 1, verbose = 0)
  expect_equal(e3[["loss"]], 3 * e1[["loss"]], tolerance = 1e-5)
})

test_that("each bad batch stops training with a message naming the step and the problem", {
  d <- toy_data(64)
  good <- list(d$x[1:8, ], d$y[1:8, ])
  cases <- list(
    list(list(d$x[1:8, 1:3], d$y[1:8, ]), "generator step 2 of epoch 1: x has 3 columns, the model expects 4"),
    list(list(d$x[1:8, ], d$y[1:7, ]), "x has 8 rows but y has 7 rows"),
    list(list(d$x[1:8, ], d$y[1:8, 1, drop = FALSE]), "y has 1 column, the model"),
    list(list(replace(d$x[1:8, ], 3, NA), d$y[1:8, ]), "x contains NA, NaN or Inf values \\(first at row 3, column 1\\)"),
    list(list(d$x[1:8, ], replace(d$y[1:8, ], 2, Inf)), "y contains NA, NaN or Inf"),
    list(list(matrix("a", 8, 4), d$y[1:8, ]), "x must be a numeric matrix"),
    list(NULL, "must return list\\(x, y\\) or list\\(x, y, sample_weight\\), got NULL"),
    list(42, "must return list\\(x, y\\)"),
    list(list(d$x[1:8, ]), "got a list of 1 elements"),
    list(list(1, 2, 3, 4), "got a list of 4 elements"))
  for (case in cases) {
    calls <- 0
    gen <- function() { calls <<- calls + 1; if (calls == 2) case[[1]] else good }
    model <- toy_model()
    expect_error(fit_generator(model, gen, steps_per_epoch = 3, epochs = 2, verbose = 0), case[[2]])
    expect_equal(calls, 2)
  }
})

test_that("an error inside the generator is re-raised with its class, after closing files", {
  csv <- tempfile(fileext = ".csv")
  calls <- 0
  d <- toy_data(64)
  gen <- function() {
    calls <<- calls + 1
    if (calls == 7) stop(structure(class = c("my_error", "error", "condition"),
                                   list(message = "data source went away", call = NULL)))
    list(d$x[1:16, ], d$y[1:16, ])
  }
  model <- toy_model()
  w0 <- get_weights(model)
  caught <- tryCatch(
    fit_generator(model, gen, steps_per_epoch = 3, epochs = 5, verbose = 0,
                  callbacks = list(callback_csv_logger(csv))),
    my_error = function(e) e)
  expect_s3_class(caught, "my_error")
  expect_equal(conditionMessage(caught), "data source went away")
  expect_equal(calls, 7)
  # two finished epochs are in the history and in the closed CSV file
  expect_length(caught$rkeras_history$metrics$loss, 2)
  expect_length(model$history$metrics$loss, 2)
  expect_equal(nrow(read.csv(csv)), 2)
  # the weights are those trained up to the last completed step
  expect_false(isTRUE(all.equal(get_weights(model), w0)))
})

test_that("an interrupt inside the generator stops training with a warning and keeps the history", {
  skip_on_os("windows")
  calls <- 0
  d <- toy_data(64)
  gen <- function() {
    calls <<- calls + 1
    if (calls == 5) {
      tools::pskill(Sys.getpid(), tools::SIGINT)
      Sys.sleep(0.5)
    }
    list(d$x[1:16, ], d$y[1:16, ])
  }
  model <- toy_model()
  expect_warning(h <- fit_generator(model, gen, steps_per_epoch = 2, epochs = 10, verbose = 0),
                 "interrupted by the user at epoch 3")
  expect_s3_class(h, "keras_training_history")
  expect_length(h$metrics$loss, 2)
  expect_equal(calls, 5)
  # the model still works afterwards
  expect_equal(dim(predict(model, d$x[1:3, ])), c(3L, 2L))
})

test_that("workers > 1 warns and uses the main thread", {
  g <- counting_generator()
  model <- toy_model()
  expect_warning(fit_generator(model, g$gen, steps_per_epoch = 2, epochs = 1, verbose = 0, workers = 4),
                 "main R thread")
  expect_equal(g$calls(), 2)
})

test_that("evaluate_generator and predict_generator call the generator `steps` times", {
  d <- toy_data(100)
  i <- 0
  gen <- function() { i <<- i + 1; rows <- ((i - 1) * 10 + 1):(i * 10); list(d$x[rows, ], d$y[rows, ]) }
  model <- toy_model()
  e <- evaluate_generator(model, gen, steps = 3)
  expect_equal(i, 3)
  expect_named(e, c("loss", "accuracy"))
  i <- 0
  xonly <- function() { i <<- i + 1; list(d$x[((i - 1) * 7 + 1):(i * 7), ]) }
  p <- predict_generator(model, xonly, steps = 4)
  expect_equal(i, 4)
  expect_equal(dim(p), c(28L, 2L))
  expect_equal(p, predict(model, d$x[1:28, ]), tolerance = 1e-6)
})

test_that("the tutorial's sampling and sequential generators train a model", {
  data <- mnist_tutorial_data(n_train = 2000, n_test = 500)
  x <- data$raw$train$x[1:2000, , ]
  y <- data$raw$train$y[1:2000]
  sampling_generator <- function(x, y, batch_size) {
    function() {
      inSample <- sample(1:nrow(x), batch_size)
      x.sample <- x[inSample, , ]
      x.sample <- x.sample / 255
      x.sample <- array_reshape(x.sample, c(length(inSample), 784))
      y.sample <- to_categorical(y[inSample], 10)
      return(list(x.sample, y.sample))
    }
  }
  seq_generator <- function(x, y, batch_size) {
    i <- 0
    function() {
      if (i + batch_size > nrow(x)) i <<- 0
      rows <- (i + 1):(i + batch_size)
      i <<- i + batch_size
      list(array_reshape(x[rows, , ] / 255, c(batch_size, 784)), to_categorical(y[rows], 10))
    }
  }
  set.seed(42)
  for (make in list(sampling_generator, seq_generator)) {
    model <- keras_model_sequential() %>%
      layer_dense(units = 64, activation = "relu", input_shape = c(784)) %>%
      layer_dropout(rate = 0.4) %>%
      layer_dense(units = 10, activation = "softmax")
    model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(), metrics = c("accuracy"))
    valid.set <- list(data$x_test, data$y_test)
    hist <- model %>% fit_generator(make(x, y, batch_size = 64), steps_per_epoch = 30, epochs = 3, verbose = 0,
                                    validation_data = valid.set, validation_steps = 1)
    expect_gt(tail(hist$metrics$val_accuracy, 1), 0.8)
  }
})
