# compile(), fit(), evaluate(), predict(), batch verbs: behaviour and bad input.

test_that("compile() resolves names and rejects unknown ones, listing the valid names", {
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
  expect_invisible(compile(model, optimizer = "adam", loss = "categorical_crossentropy", metrics = "accuracy"))
  expect_error(compile(model, optimizer = "adamw", loss = "mse"), "unknown optimizer \"adamw\".*rmsprop")
  expect_error(compile(model, optimizer = "sgd", loss = "msq"), "msq.*mean_squared_error")
  expect_error(compile(model, optimizer = "sgd", loss = "mse", metrics = "acuracy"), "acuracy")
  expect_error(compile(model, optimizer = "sgd"), "needs a `loss`")
  expect_error(compile(model, loss = function(y_true, y_pred) 0), "custom R loss")
  compile(model, loss = loss_mean_squared_error, optimizer = optimizer_sgd(lr = 0.1), metrics = c("mae", "mse"))
})

test_that("optimizers accept lr as an alias and reject both", {
  expect_equal(optimizer_sgd(lr = 0.5)$learning_rate, 0.5)
  expect_error(optimizer_adam(learning_rate = 0.1, lr = 0.2), "both `lr` and `learning_rate`")
  expect_equal(optimizer_rmsprop()$learning_rate, 0.001)
  expect_equal(optimizer_rmsprop()$rho, 0.9)
  expect_equal(optimizer_adam()$beta_2, 0.999)
  expect_equal(optimizer_sgd()$learning_rate, 0.01)
})

test_that("fit() before compile() is an error", {
  d <- toy_data()
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
  expect_error(fit(model, d$x, d$y, verbose = 0), "You must compile your model before training")
  expect_error(evaluate(model, d$x, d$y, verbose = 0), "You must compile")
  expect_equal(dim(predict(model, d$x)), c(200L, 2L))  # predict needs no compile
})

test_that("bad training data gives clear errors naming the problem", {
  d <- toy_data()
  model <- toy_model()
  fit0 <- function(...) fit(model, ..., epochs = 1, verbose = 0)
  expect_error(fit0(d$x[, 1:3], d$y), "x has 3 columns, the model expects 4 columns")
  expect_error(fit0(array(0, c(200, 2, 2)), d$y), "x has per-sample shape \\(2, 2\\), the model expects 4 columns")
  expect_error(fit0(d$x, d$y[1:150, ]), "x has 200 rows but y has 150 rows")
  expect_error(fit0(replace(d$x, 17, NaN), d$y), "x contains NA, NaN or Inf values \\(first at row 17, column 1\\)")
  expect_error(fit0(d$x, replace(d$y, 5, NA)), "y contains NA, NaN or Inf")
  expect_error(fit0(matrix(letters[1:8], 2), d$y[1:2, ]), "`x` must be a numeric matrix")
  expect_error(fit0(data.frame(a = letters[1:200], b = 1), d$y), "non-numeric columns \\(a\\)")
  expect_error(fit0(d$x, to_categorical(c(d$cls[-1], 2), 3)), "3 columns \\(classes\\), more than the model's 2 output units")
  expect_error(fit0(d$x, d$y, validation_split = 1), "validation_split.*\\[0, 1\\)")
  expect_error(fit0(d$x, d$y, validation_split = -0.1), "validation_split")
  expect_error(fit0(d$x[1, , drop = FALSE], d$y[1, , drop = FALSE], validation_split = 0.5), "not sufficient to split")
  expect_error(fit0(d$x, d$y, batch_size = 0), "batch_size` must be a whole number from 1")
  expect_error(fit0(d$x, d$y, epochs = -1), "epochs")
  expect_error(fit0(d$x, d$y, validation_data = list(d$x[, 1:2], d$y)), "validation_data: x has 2 columns")
  # the model still trains afterwards
  expect_s3_class(fit0(d$x, d$y), "keras_training_history")
})

test_that("sparse labels beyond the output units are errors", {
  d <- toy_data()
  model <- toy_model(loss = "sparse_categorical_crossentropy")
  expect_error(fit(model, d$x, c(d$cls[-1], 2), verbose = 0), "y\\[200\\] is 2.*labels 0..1")
  h <- fit(model, d$x, d$cls, verbose = 0, epochs = 2)
  expect_named(h$metrics, c("accuracy", "loss"))
})

test_that("a numeric data frame is accepted as x", {
  d <- toy_data()
  model <- toy_model()
  expect_silent(fit(model, as.data.frame(d$x), d$y, epochs = 1, verbose = 0))
})

test_that("fit() returns the history invisibly with keras' keys, params and printing", {
  d <- toy_data()
  model <- toy_model()
  expect_invisible(h <- fit(model, d$x, d$y, epochs = 3, batch_size = 20, validation_split = 0.25, verbose = 0))
  expect_s3_class(h, "keras_training_history")
  expect_named(h$metrics, c("accuracy", "loss", "val_accuracy", "val_loss"))
  expect_equal(h$params$epochs, 3)
  expect_equal(h$params$steps, 8)          # 150 training rows / 20
  expect_equal(h$params$samples, 150)
  expect_equal(h$params$validation_samples, 50)
  out <- capture.output(print(h))
  expect_equal(out[1], "Trained on 150 samples, validated on 50 samples (batch_size=20, epochs=3)")
  expect_equal(out[2], "Final epoch (plot to see history):")
  expect_match(out[3], "^    accuracy: [0-9.]+$")
  expect_match(out[6], "^    val_loss: [0-9.]+$")
  df <- as.data.frame(h)
  expect_equal(names(df), c("epoch", "value", "metric", "data"))
  expect_equal(nrow(df), 12)
  expect_equal(levels(df$metric), c("accuracy", "loss"))
  expect_equal(levels(df$data), c("training", "validation"))
  expect_equal(df$value[df$metric == "loss" & df$data == "validation"], h$metrics$val_loss)
})

test_that("history plots with ggplot2 and with base graphics", {
  d <- toy_data()
  model <- toy_model()
  h <- fit(model, d$x, d$y, epochs = 2, validation_split = 0.2, verbose = 0)
  skip_if_not_installed("ggplot2")
  p <- plot(h)
  expect_s3_class(p, "ggplot")
  f <- tempfile(fileext = ".pdf")
  grDevices::pdf(f)
  expect_null(plot(h, method = "base"))
  grDevices::dev.off()
  expect_gt(file.size(f), 1000)
})

test_that("validation uses the last rows before shuffling, in inference mode", {
  d <- toy_data(200)
  model <- toy_model(dropout = 0.5)
  h <- fit(model, d$x, d$y, epochs = 2, validation_split = 0.2, verbose = 0)
  last <- 161:200
  e <- evaluate(model, d$x[last, ], d$y[last, ], verbose = 0)
  expect_equal(h$metrics$val_loss[2], e[["loss"]], tolerance = 1e-6)
  expect_equal(h$metrics$val_accuracy[2], e[["accuracy"]], tolerance = 1e-6)
})

test_that("evaluate() gives a named vector usable as score[[1]] and score[['loss']]", {
  d <- toy_data()
  model <- toy_model(metrics = c("accuracy", "mae"))
  score <- evaluate(model, d$x, d$y, verbose = 0)
  expect_named(score, c("loss", "accuracy", "mae"))
  expect_identical(score[[1]], score[["loss"]])
  p <- predict(model, d$x)
  ce <- mean(-log(rowSums(p * d$y)))
  expect_equal(score[["loss"]], ce, tolerance = 1e-5)
  expect_equal(score[["accuracy"]], mean(max.col(p) == max.col(d$y)), tolerance = 1e-6)
  expect_equal(score[["mae"]], mean(abs(p - d$y)), tolerance = 1e-5)
})

test_that("predict() does not depend on batch size and dropout is off", {
  d <- toy_data()
  model <- toy_model(dropout = 0.5)
  p1 <- predict(model, d$x, batch_size = 7)
  p2 <- predict(model, d$x, batch_size = 200)
  expect_equal(p1, p2, tolerance = 1e-6)
  expect_equal(rowSums(p1), rep(1, 200), tolerance = 1e-6)
})

test_that("set.seed() before building and fitting makes runs identical", {
  d <- toy_data()
  run <- function() {
    set.seed(123)
    model <- toy_model(dropout = 0.3)
    h <- fit(model, d$x, d$y, epochs = 3, batch_size = 16, validation_split = 0.2, verbose = 0)
    list(h$metrics, predict(model, d$x))
  }
  a <- run(); b <- run()
  expect_identical(a, b)
  set.seed(124)
  m <- toy_model(dropout = 0.3)
  fit(m, d$x, d$y, epochs = 3, batch_size = 16, verbose = 0)
  expect_false(identical(predict(m, d$x), a[[2]]))
})

test_that("use_session_with_seed() and set_random_seed() make runs repeat", {
  d <- toy_data()
  expect_output(use_session_with_seed(42), "Set session seed to 42")
  m1 <- toy_model(); fit(m1, d$x, d$y, epochs = 1, verbose = 0)
  set_random_seed(42)
  m2 <- toy_model(); fit(m2, d$x, d$y, epochs = 1, verbose = 0)
  expect_identical(predict(m1, d$x), predict(m2, d$x))
})

test_that("initial_epoch counts as epochs already run", {
  d <- toy_data()
  model <- toy_model()
  seen <- integer()
  cb <- callback_lambda(on_epoch_begin = function(epoch, logs) seen <<- c(seen, epoch))
  out <- capture.output(h <- fit(model, d$x, d$y, epochs = 5, initial_epoch = 3, verbose = 2, callbacks = list(cb)))
  expect_equal(seen, c(4, 5))
  expect_equal(grep("^Epoch", out, value = TRUE), c("Epoch 4/5", "Epoch 5/5"))
  expect_length(h$metrics$loss, 2)
})

test_that("verbose = 1 and 2 print through R's console in keras' format; 0 is silent", {
  d <- toy_data()
  model <- toy_model()
  out2 <- capture.output(fit(model, d$x, d$y, epochs = 2, batch_size = 50, verbose = 2))
  expect_equal(out2[1], "Epoch 1/2")
  expect_match(out2[2], "^4/4 - [0-9]+s - [0-9]+(us|ms|s)/step - accuracy: [0-9.]+ - loss: [0-9.]+$")
  # the bar where the console redraws (test-console.R covers the other places)
  out1 <- withr::with_options(list(cli.dynamic = TRUE),
                              capture.output(fit(model, d$x, d$y, epochs = 1, batch_size = 50, verbose = 1)))
  txt <- paste(out1, collapse = "\n")
  expect_match(txt, "4/4", fixed = TRUE)
  expect_match(txt, "\u2501", fixed = TRUE)
  expect_false(grepl("Epoch 1/1", txt))
  expect_length(capture.output(fit(model, d$x, d$y, epochs = 1, verbose = 0)), 0)
  expect_error(fit(model, d$x, d$y, verbose = 3), "verbose")
})

test_that("class_weight and sample_weight weight the loss", {
  d <- toy_data(100)
  model <- toy_model()
  base <- evaluate(model, d$x, d$y, verbose = 0)[["loss"]]
  w2 <- evaluate(model, d$x, d$y, sample_weight = rep(2, 100), verbose = 0)[["loss"]]
  expect_equal(w2, 2 * base, tolerance = 1e-5)
  expect_error(fit(model, d$x, d$y, class_weight = c(1, 2), verbose = 0), "named list")
  expect_error(fit(model, d$x, d$y, class_weight = list(a = 1), verbose = 0), "class indices")
  # a zero weight on class 1 means its rows are never learned: train_on_batch loss reflects it
  l0 <- train_on_batch(model, d$x, d$y, class_weight = list("0" = 1, "1" = 0))
  p <- predict(model, d$x)
  expect_true(is.numeric(l0))
  expect_error(fit(model, d$x, d$y, sample_weight = rep(1, 3), verbose = 0), "sample_weight has length 3")
})

test_that("train_on_batch, test_on_batch and predict_on_batch work on one batch", {
  d <- toy_data(32)
  model <- toy_model(optimizer = optimizer_sgd(learning_rate = 0.1))
  before <- test_on_batch(model, d$x, d$y)
  expect_named(before, c("loss", "accuracy"))
  r <- train_on_batch(model, d$x, d$y)
  expect_equal(r[["loss"]], before[["loss"]], tolerance = 1e-6)  # loss before the update
  after <- test_on_batch(model, d$x, d$y)
  expect_lt(after[["loss"]], before[["loss"]])
  expect_equal(predict_on_batch(model, d$x), predict(model, d$x))
  m2 <- toy_model(metrics = NULL)
  expect_length(train_on_batch(m2, d$x, d$y), 1)
})

test_that("losses can be called directly on (y_true, y_pred)", {
  yt <- matrix(c(0, 1, 0, 1, 0, 0), 2, byrow = TRUE)
  yp <- matrix(c(0.2, 0.7, 0.1, 0.5, 0.25, 0.25), 2, byrow = TRUE)
  expect_equal(loss_categorical_crossentropy(yt, yp), -log(c(0.7, 0.5)), tolerance = 1e-6)
  expect_equal(loss_mean_squared_error(yt, yp), rowMeans((yt - yp)^2), tolerance = 1e-6)
  expect_equal(loss_mean_absolute_error(yt, yp), rowMeans(abs(yt - yp)), tolerance = 1e-6)
  expect_equal(loss_sparse_categorical_crossentropy(c(1, 0), yp), -log(c(0.7, 0.5)), tolerance = 1e-6)
  expect_s3_class(loss_hinge(), "rkeras_loss")
})

test_that("accuracy resolves from shapes: binary for one unit, sparse for label vectors", {
  d <- toy_data()
  m <- keras_model_sequential(input_shape = 4) %>% layer_dense(1, activation = "sigmoid")
  compile(m, optimizer = "adam", loss = "binary_crossentropy", metrics = "accuracy")
  s <- evaluate(m, d$x, d$cls, verbose = 0)
  p <- predict(m, d$x)
  expect_equal(s[["accuracy"]], mean((p > 0.5) == d$cls), tolerance = 1e-6)
})

test_that("legacy decay lowers the learning rate as classic keras did", {
  d <- toy_data(64)
  set.seed(1); m1 <- toy_model(optimizer = optimizer_sgd(learning_rate = 0.5, decay = 0))
  set.seed(1); m2 <- toy_model(optimizer = optimizer_sgd(learning_rate = 0.5, decay = 10))
  fit(m1, d$x, d$y, epochs = 3, verbose = 0, shuffle = FALSE)
  fit(m2, d$x, d$y, epochs = 3, verbose = 0, shuffle = FALSE)
  expect_false(isTRUE(all.equal(predict(m1, d$x), predict(m2, d$x))))
})

test_that("predict_classes and predict_proba still work with a deprecation warning", {
  d <- toy_data()
  model <- toy_model()
  expect_warning(cl <- predict_classes(model, d$x), "deprecated")
  expect_equal(cl, max.col(predict(model, d$x), ties.method = "first") - 1L)
  expect_warning(pp <- predict_proba(model, d$x), "deprecated")
  expect_equal(pp, predict(model, d$x))
})

test_that("Ctrl-C while Rust computes stops training, keeps the weights and returns the history", {
  skip_on_os("windows")
  d <- toy_data(2000)
  model <- toy_model(units = 64)
  pid <- Sys.getpid()
  parallel::mcparallel({ Sys.sleep(1); tools::pskill(pid, tools::SIGINT) }, detached = TRUE)
  expect_warning(h <- fit(model, d$x, d$y, epochs = 100000, batch_size = 8, verbose = 0), "interrupted by the user")
  expect_s3_class(h, "keras_training_history")
  expect_lt(length(h$metrics$loss), 100000)
  expect_equal(dim(predict(model, d$x[1:2, ])), c(2L, 2L))
})

test_that("denormal products are zero as in Keras, while R keeps IEEE denormals, even in closures", {
  tiny <- .Machine$double.xmin / 4 # a double denormal: 0 if R ran with flush-to-zero
  model <- keras_model_sequential(input_shape = 1) %>% layer_dense(1)
  model %>% set_weights(list(matrix(1e-20), 0))
  # 1e-20 * 1e-20 = 1e-40 is a denormal float: TensorFlow and JAX give 0
  expect_identical(as.vector(predict(model, matrix(c(1e-20, 1e20)), verbose = 0)), c(0, 1))
  expect_gt(.Machine$double.xmin / 4, 0)
  model %>% compile(optimizer = "rmsprop", loss = "mse")
  seen <- c()
  gen <- function() {
    seen <<- c(seen, .Machine$double.xmin / 4)
    list(matrix(runif(8)), matrix(runif(8)))
  }
  cb <- callback_lambda(on_batch_end = function(batch, logs) seen <<- c(seen, .Machine$double.xmin / 4))
  model %>% fit_generator(gen, steps_per_epoch = 3, epochs = 2, verbose = 0, callbacks = list(cb))
  model %>% fit(matrix(runif(40)), matrix(runif(40)), epochs = 1, batch_size = 8, verbose = 0, callbacks = list(cb))
  expect_true(length(seen) >= 17)
  expect_true(all(seen == tiny) && tiny > 0)
})

test_that("values beyond the float32 range are an error naming the argument, row and column, like Inf", {
  d <- toy_data()
  model <- toy_model()
  w0 <- get_weights(model)
  big <- d$x
  big[5, 2] <- 1e300
  too_large <- function(what, at, value = "1e300")
    paste0("^", what, " contains values too large for 32-bit floats \\(first at ", at, ": ", value, ";")
  fit0 <- function(...) fit(model, ..., epochs = 1, verbose = 0)
  expect_error(fit0(big, d$y), too_large("x", "row 5, column 2"))
  expect_error(fit0(d$x, replace(d$y, 207, -1e39)), too_large("y", "row 7, column 2", "-1e39"))
  expect_error(fit0(d$x, d$y, sample_weight = replace(rep(1, 200), 9, 4e38)), too_large("sample_weight", "element 9", "4e38"))
  expect_error(fit0(d$x, d$y, validation_data = list(big, d$y)), too_large("validation_data: x", "row 5, column 2"))
  expect_error(evaluate(model, big, d$y, verbose = 0), too_large("x", "row 5, column 2"))
  expect_error(predict(model, big), too_large("x", "row 5, column 2"))
  expect_error(predict(model, big, verbose = 1), too_large("x", "row 5, column 2"))
  expect_error(train_on_batch(model, big, d$y), too_large("x", "row 5, column 2"))
  gen <- function() list(big[1:8, ], d$y[1:8, ])
  expect_error(fit_generator(model, gen, steps_per_epoch = 2, epochs = 1, verbose = 0),
               "x contains values too large for 32-bit floats \\(first at row 5, column 2: 1e300;")
  w <- w0
  w[[1]][2, 3] <- -1e300
  expect_error(set_weights(model, w), too_large("weights\\[\\[1\\]\\]", "row 2, column 3", "-1e300"))
  # nothing was trained or changed on the way
  expect_identical(get_weights(model), w0)
  # the first bad value in R's order, whichever its kind
  expect_error(fit0(replace(big, 3, NA), d$y), "x contains NA, NaN or Inf values \\(first at row 3, column 1\\)")
  # the largest float32 and what rounds to it still convert
  edge <- replace(d$x, 1:2, c(3.4028234663852886e38, -3.4028235e38))
  expect_equal(dim(predict(keras_model_sequential(input_shape = 4) %>% layer_dense(1), edge)), c(200L, 1L))
})

test_that("Ctrl-C during a large predict() stops it between chunks with an rkeras_interrupted error", {
  skip_on_os("windows")
  # about 25 MFLOP a row: 100,000 rows take tens of seconds, one chunk of 2048 rows well under one
  model <- keras_model_sequential(input_shape = 64) %>%
    layer_dense(2048, activation = "relu") %>% layer_dense(2048, activation = "relu") %>%
    layer_dense(2048, activation = "relu") %>% layer_dense(1)
  set.seed(1)
  x <- matrix(runif(100000 * 64), ncol = 64)
  pid <- Sys.getpid()
  hook <- list(callback_lambda(on_predict_begin = function(logs) NULL))
  for (callbacks in list(NULL, hook)) {  # the chunked array path, and the batch loop with hooks
    parallel::mcparallel({ Sys.sleep(1); tools::pskill(pid, tools::SIGINT) }, detached = TRUE)
    t0 <- Sys.time()
    got <- tryCatch(
      {
        p <- predict(model, x, callbacks = callbacks)
        Sys.sleep(0.1) # R sees a pending interrupt here at the latest
        "finished"
      },
      rkeras_interrupted = function(e) e,
      interrupt = function(e) "interrupted only after predict() returned")
    elapsed <- as.numeric(Sys.time() - t0, units = "secs")
    expect_s3_class(got, c("rkeras_interrupted", "rkeras_error", "error", "condition"))
    expect_match(if (is.character(got)) got else conditionMessage(got), "predict\\(\\) interrupted by the user")
    expect_lt(elapsed, 10)
  }
  # the model is intact and predicts again
  expect_equal(dim(predict(model, x[1:3, ])), c(3L, 1L))
})

test_that("fit() in a loop converts the data each call: values changed in place between calls are used", {
  # 6000 x 784 is 18.8 MB as float32: the converted copy's memory is reused between calls
  set.seed(3)
  n <- 6000
  x <- matrix(runif(n * 784), n)
  y <- to_categorical(as.integer(x[, 1] > 0.5), 2)
  model <- keras_model_sequential(input_shape = 784) %>% layer_dense(2, activation = "softmax")
  model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  fit(model, x, y, epochs = 1, batch_size = 500, shuffle = FALSE, verbose = 0)
  w0 <- get_weights(model)
  x[, 1:392] <- 1 - x[, 1:392] # in place: the same R vector, new values
  fit(model, x, y, epochs = 1, batch_size = 500, shuffle = FALSE, verbose = 0)
  # the same steps one batch at a time (each batch converted on its own)
  twin <- keras_model_sequential(input_shape = 784) %>% layer_dense(2, activation = "softmax")
  twin %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  set_weights(twin, w0)
  for (b in split(seq_len(n), ceiling(seq_len(n) / 500))) train_on_batch(twin, x[b, ], y[b, ])
  expect_identical(get_weights(model), get_weights(twin))
})
