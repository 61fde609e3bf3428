# Honest errors (issue 12): every bad argument is an rkeras_error, raised where it is given,
# naming the argument, what was given and what is allowed, and the user's call.

test_that("counts beyond the integer range are errors naming the argument", {
  d <- toy_data(40)
  m <- toy_model()
  e <- expect_error(fit(m, d$x, d$y, epochs = Inf, verbose = 0), class = "rkeras_argument_error")
  expect_match(conditionMessage(e), "`epochs` must be a whole number from 0 to 2,147,483,647, got numeric Inf")
  expect_error(fit(m, d$x, d$y, batch_size = 2^31, verbose = 0), "`batch_size` must be a whole number .* 2147483648")
  expect_error(layer_dense(units = 1e12), "`units` must be a whole number from 1 to 2,147,483,647")
  expect_error(to_categorical(1, num_classes = 1e10), "to_categorical\\(\\): `num_classes` must be a whole number")
})

test_that("errors name the user's call and share the rkeras_error class", {
  d <- toy_data(40)
  m <- toy_model()
  e <- expect_error(fit(m, d$x, d$y, epochs = -1), class = "rkeras_error")
  expect_identical(conditionCall(e)[[1]], as.symbol("fit"))
  e <- expect_error(m %>% fit(d$x, d$y, batch_size = 0), class = "rkeras_error")
  expect_identical(conditionCall(e)[[1]], as.symbol("fit"))
  # an error from the Rust core (x with the wrong width) names fit() too, not rk_fit()
  e <- expect_error(fit(m, d$x[, 1:3], d$y, verbose = 0), "x has 3 columns, the model expects 4 columns",
                    class = "rkeras_error")
  expect_identical(conditionCall(e)[[1]], as.symbol("fit"))
  e <- expect_error(predict(m, d$x[, 1, drop = FALSE]), "x has 1 column, the model expects 4 columns",
                    class = "rkeras_core_error")
  expect_identical(conditionCall(e)[[1]], as.symbol("predict"))
})

test_that("unknown arguments in ... are errors, with a hint", {
  d <- toy_data(40)
  m <- toy_model()
  expect_error(fit(m, d$x, d$y, epocs = 2, verbose = 0), "fit\\(\\): unknown argument `epocs`; did you mean `epochs`\\?")
  expect_error(evaluate(m, d$x, d$y, verbose = 0, bach_size = 3), "evaluate\\(\\): unknown argument `bach_size`")
  expect_error(predict(m, d$x, verbse = 0), "predict\\(\\): unknown argument `verbse`")
  expect_error(compile(m, loss = "mse", optimizer = "adam", metrcs = "mae"), "compile\\(\\): unknown argument `metrcs`")
  expect_error(layer_dense(units = 2, input_dm = 3), "layer_dense\\(\\): unknown argument `input_dm`")
  expect_error(optimizer_adam(lerning_rate = 0.1), "optimizer_adam\\(\\): unknown argument `lerning_rate`")
  expect_error(optimizer_adam(weight_decay = 0.01), "`weight_decay` is not supported")
  expect_s3_class(optimizer_adam(name = "Adam"), "rkeras_optimizer")
  # workers and friends are accepted (R closures always run on R's thread)
  expect_silent(fit(m, d$x, d$y, epochs = 1, verbose = 0, workers = 4, use_multiprocessing = TRUE))
  expect_error(fit(m, d$x, d$y, epochs = 1, verbose = 0, validation_freq = 2), "`validation_freq` other than 1")
})

test_that("loss and metric options are computed or refused, never ignored", {
  expect_error(loss_categorical_crossentropy(label_smoothing = 0.1), "`label_smoothing` is not supported")
  expect_error(loss_huber(delta = 2), "`delta` is not supported")
  expect_error(loss_mean_squared_error(reduction = "sum"), "`reduction` is not supported")
  expect_error(loss_mean_squared_error(from_logits = TRUE), "unknown argument `from_logits`")
  # the defaults, spelled out, are fine
  expect_s3_class(loss_binary_crossentropy(from_logits = FALSE, label_smoothing = 0, axis = -1L), "rkeras_loss")
  expect_equal(loss_mean_squared_error(matrix(c(1, 2), 1), matrix(c(1, 4), 1), reduction = "auto"), 2)
  expect_error(metric_top_k_categorical_accuracy(k = 3), "`k` is not supported by rkeras yet \\(got numeric 3\\)")
  expect_error(metric_binary_accuracy(threshold = 0.7), "`threshold` is not supported")
  expect_s3_class(metric_top_k_categorical_accuracy(k = 5, name = "top_k_categorical_accuracy"), "rkeras_metric")
  expect_error(metric_accuracy(name = "acc2"), "`name` is not supported")
  m <- toy_model()
  expect_error(compile(m, loss = "mse", optimizer = "adam", loss_weights = list(2)), "`loss_weights`")
  expect_silent(compile(m, loss = "mse", optimizer = "adam", loss_weights = 1, run_eagerly = FALSE))
})

test_that("initializers, thread options and metric/target mismatches are checked where given", {
  expect_error(layer_dense(units = 1, kernel_initializer = "bogus"),
               "unknown `kernel_initializer` \"bogus\"; valid values are: glorot_uniform")
  d <- toy_data(40)
  m <- toy_model()
  withr::local_options(rkeras.threads = c(1, 2))
  expect_error(fit(m, d$x, d$y, epochs = 1, verbose = 0), "option `rkeras.threads` must be one whole number")
  withr::local_options(rkeras.threads = NULL)
  m2 <- toy_model(metrics = "sparse_categorical_accuracy")
  e <- expect_error(fit(m2, d$x, d$y, epochs = 1, verbose = 0),
                    "metric \"sparse_categorical_accuracy\" needs targets with 1 column for an output of 2 units")
  expect_false(grepl("assertion", conditionMessage(e)))
  expect_error(train_on_batch(m2, d$x, d$y), "needs targets with 1 column")
})

test_that("zero-row data is an error, as in keras", {
  d <- toy_data(40)
  m <- toy_model()
  expect_error(fit(m, d$x[0, , drop = FALSE], d$y[0, , drop = FALSE], verbose = 0), "`x` has no samples")
  expect_error(evaluate(m, d$x[0, , drop = FALSE], d$y[0, , drop = FALSE], verbose = 0), "`x` has no samples")
  expect_error(train_on_batch(m, d$x[0, , drop = FALSE], d$y[0, , drop = FALSE]), "`x` has no samples")
  expect_error(fit(m, d$x, d$y[0, , drop = FALSE], verbose = 0), "`y` has no samples")
})

test_that("class_weight names must be classes of y", {
  d <- toy_data(40)
  m <- toy_model()
  expect_error(fit(m, d$x, d$y, class_weight = list("1000000000" = 1), verbose = 0),
               "`class_weight` names must be class indices from 0 to 1 .*got \"1000000000\"")
  expect_error(train_on_batch(m, d$x, d$y, class_weight = list("2" = 1)), "from 0 to 1")
  expect_silent(fit(m, d$x, d$y, class_weight = list("0" = 1, "1" = 2), epochs = 1, verbose = 0))
})

test_that("an IDX file whose header claims huge dimensions is an error naming the file", {
  dir <- withr::local_tempdir()
  idx <- function(file, dims, bytes) {
    writeBin(c(as.raw(c(0, 0, 8, length(dims))), writeBin(as.integer(dims), raw(), size = 4, endian = "big"),
               as.raw(bytes)), file.path(dir, file))
  }
  idx("train-images-idx3-ubyte", c(60000L, 100000L, 100000L), 1:8)
  idx("train-labels-idx1-ubyte", 2, 0:1)
  idx("t10k-images-idx3-ubyte", c(1, 2, 2), 1:4)
  idx("t10k-labels-idx1-ubyte", 1, 1)
  e <- expect_error(dataset_mnist(path = dir), class = "rkeras_error")
  expect_match(conditionMessage(e), "train-images-idx3-ubyte' is truncated or damaged: its IDX header claims dimensions 60000 x")
  expect_false(grepl("vector size", conditionMessage(e)))
})
