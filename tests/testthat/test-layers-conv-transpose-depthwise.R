# layer_conv_2d_transpose(), layer_depthwise_conv_2d(), layer_separable_conv_2d(): values equal
# Keras 3's (tests/fixtures/keras/conv_x, made by tests/interop/make_conv_x_fixtures.py),
# parameter counts, save/load, training, argument and shape errors.

conv_x_cases <- function() {
  path <- file.path(fixture_dir("keras", "conv_x"), "layers.json")
  if (!file.exists(path)) stop("test fixture not found: ", path, call. = FALSE)
  jsonlite::fromJSON(path, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
}

conv_x_model <- function(case) {
  model <- keras_model_sequential(input_shape = unlist(case$input_shape))
  do.call(case$fn, c(list(model), lapply(case$args, function(a) if (is.list(a)) unlist(a) else a)))
  model
}

test_that("forward values equal Keras 3's for every case", {
  for (case in conv_x_cases()) {
    k_clear_session()
    model <- conv_x_model(case)
    expect_equal(count_params(model), case$params, info = case$name)
    w <- fx_weights(case$weights)
    expect_equal(lapply(get_weights(model), dim), lapply(w, dim), info = case$name)
    set_weights(model, w)
    p <- predict(model, fx_array(case$x), verbose = 0)
    want <- fx_array(case$y)
    expect_equal(dim(p), dim(want), info = case$name)
    expect_lt(max(abs(p - want)), 1e-5 * max(1, max(abs(want))))
  }
})

test_that("summary() shows Keras' classes, output shapes and parameter counts", {
  k_clear_session()
  model <- keras_model_sequential(input_shape = c(5, 5, 2)) %>%
    layer_conv_2d_transpose(3, 2, strides = 2, output_padding = 1) %>%
    layer_depthwise_conv_2d(3, depth_multiplier = 2, padding = "same") %>%
    layer_separable_conv_2d(4, 2)
  out <- capture.output(summary(model))
  # Keras 3: (None, 11, 11, 3) 27; (None, 11, 11, 6) 60; (None, 10, 10, 4) 52
  expect_true(any(grepl("^conv2d_transpose \\(Conv2DTranspose\\) +\\(None, 11, 11, 3\\) +27\\b", out)))
  expect_true(any(grepl("^depthwise_conv2d \\(DepthwiseConv2D\\) +\\(None, 11, 11, 6\\) +60\\b", out)))
  expect_true(any(grepl("^separable_conv2d \\(SeparableConv2D\\) +\\(None, 10, 10, 4\\) +52\\b", out)))
  expect_equal(count_params(model), 27 + 60 + 52)
  expect_equal(lapply(get_weights(model), dim),
               list(c(2, 2, 3, 2), 3, c(3, 3, 3, 2), 6, c(2, 2, 6, 1), c(1, 1, 6, 4), 4))
})

test_that("a model written by Keras 3 with the three layers loads and predicts as Keras", {
  dir <- fixture_dir("keras", "conv_x")
  m <- suppressWarnings(load_model_hdf5(file.path(dir, "chain_keras3.h5")))
  x <- fx_array(jsonlite::fromJSON(file.path(dir, "chain_x.json"), simplifyVector = TRUE))
  want <- fx_array(jsonlite::fromJSON(file.path(dir, "chain_pred.json"), simplifyVector = TRUE))
  expect_equal(unname(predict(m, x, verbose = 0)), want, tolerance = 1e-5)
  expect_equal(vapply(m$layers, function(l) l$name, ""), c("up", "dw", "sep", "flat", "out"))
})

test_that("the layers survive HDF5 (Keras 3 and 2 layouts), .keras and saveRDS round trips", {
  k_clear_session()
  set.seed(3)
  m <- keras_model_sequential(input_shape = c(5, 4, 2)) %>%
    layer_conv_2d_transpose(3, c(3, 2), strides = c(2, 1), padding = "same", output_padding = c(1, 0),
                            activation = "relu") %>%
    layer_depthwise_conv_2d(2, depth_multiplier = 2, dilation_rate = 2, use_bias = FALSE) %>%
    layer_separable_conv_2d(2, 3, padding = "same", strides = 2, pointwise_initializer = "he_normal") %>%
    layer_flatten() %>% layer_dense(1)
  m %>% compile(optimizer = "adam", loss = "mse")
  x <- array(runif(4 * 5 * 4 * 2), c(4, 5, 4, 2))
  fit(m, x, runif(4), epochs = 1, verbose = 0)
  p <- predict(m, x, verbose = 0)
  for (v in c(3, 2)) {
    f <- tempfile(fileext = ".h5")
    save_model_hdf5(m, f, keras_version = v)
    m2 <- suppressWarnings(load_model_hdf5(f))
    expect_equal(predict(m2, x, verbose = 0), p, info = paste("keras_version", v))
    expect_equal(vapply(m2$layers, function(l) class(l)[1], ""), vapply(m$layers, function(l) class(l)[1], ""))
    unlink(f)
  }
  f <- tempfile(fileext = ".keras")
  save_model(m, f)
  expect_equal(predict(load_model(f), x, verbose = 0), p)
  unlink(f)
  f <- tempfile(fileext = ".rds")
  saveRDS(m, f)
  expect_equal(predict(readRDS(f), x, verbose = 0), p)
  unlink(f)
})

test_that("a small model with the three layers trains", {
  k_clear_session()
  set.seed(1)
  n <- 64
  x <- array(rnorm(n * 4 * 4 * 2), c(n, 4, 4, 2))
  y <- as.integer(apply(x, 1, mean) > 0)
  model <- keras_model_sequential(input_shape = c(4, 4, 2)) %>%
    layer_conv_2d_transpose(4, 2, strides = 2, activation = "relu") %>%
    layer_depthwise_conv_2d(3, padding = "same", activation = "relu") %>%
    layer_separable_conv_2d(4, 3, strides = 2, activation = "relu") %>%
    layer_flatten() %>% layer_dense(2, activation = "softmax")
  model %>% compile(optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  h <- fit(model, x, y, epochs = 30, batch_size = 8, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), 0.8 * h$metrics$loss[1])
  expect_gt(tail(h$metrics$accuracy, 1), 0.75)
})

test_that("arguments and shapes give clear errors naming the layer", {
  k_clear_session()
  expect_error(layer_conv_2d_transpose(filters = 2, kernel_size = 3, strides = 2, output_padding = 2),
               "each `output_padding` must be less than its stride")
  expect_error(layer_conv_2d_transpose(filters = 2, kernel_size = 3, output_padding = -1),
               "`output_padding` must be a non-negative whole number")
  expect_error(layer_conv_2d_transpose(filters = 2, kernel_size = 3, strides = 2, dilation_rate = 2),
               "`strides` > 1 cannot be combined with `dilation_rate` > 1")
  expect_error(layer_conv_2d_transpose(filters = 0, kernel_size = 3), "filters")
  expect_error(layer_depthwise_conv_2d(kernel_size = 3, depth_multiplier = 0), "depth_multiplier")
  expect_error(layer_depthwise_conv_2d(kernel_size = c(3, 3, 3)), "kernel_size")
  expect_error(layer_separable_conv_2d(filters = 2, kernel_size = 3, padding = "causal"), "padding")
  expect_error(layer_separable_conv_2d(filters = 2, kernel_size = 3, data_format = "channels_middle"),
               "`data_format` must be \"channels_last\" or \"channels_first\", got .*channels_middle")
  expect_error(layer_separable_conv_2d(filters = 2, kernel_size = 3, pointwise_regularizer = "l2"),
               "`pointwise_regularizer` not supported")
  expect_error(layer_depthwise_conv_2d(kernel_size = 3, kernl = 2), "unknown argument")
  m <- keras_model_sequential(input_shape = 784) %>% layer_conv_2d_transpose(4, 3, name = "up")
  expect_error(count_params(m), "up \\(Conv2DTranspose\\): expects input of shape \\(height, width, channels\\).*array_reshape")
  m <- keras_model_sequential(input_shape = c(4, 4, 1)) %>% layer_depthwise_conv_2d(5, name = "dw")
  expect_error(summary(m), "dw \\(DepthwiseConv2D\\): kernel_size \\(5, 5\\).*larger than the input \\(4, 4\\)")
  m <- keras_model_sequential(input_shape = c(28, 28)) %>% layer_separable_conv_2d(2, 3, name = "sc")
  expect_error(summary(m), "sc \\(SeparableConv2D\\): expects input of shape \\(height, width, channels\\).*got \\(28, 28\\)")
  m <- keras_model_sequential(input_shape = c(6, 6, 3)) %>% layer_depthwise_conv_2d(3) %>% layer_flatten() %>%
    layer_dense(1)
  expect_error(predict(m, array(0, c(2, 6, 6, 2)), verbose = 0),
               "x has per-sample shape (6, 6, 2), the model expects per-sample shape (6, 6, 3)", fixed = TRUE)
})

test_that("Keras 3 and tf.keras 2 load rkeras' HDF5 files with the three layers and predict the same", {
  # optional, as in test-persistence-hdf5.R: RKERAS_KERAS_PYTHON / RKERAS_TFKERAS_PYTHON
  pythons <- list(list(py = Sys.getenv("RKERAS_KERAS_PYTHON"), extra = character(), version = 3),
                  list(py = Sys.getenv("RKERAS_TFKERAS_PYTHON"), extra = "--tf-keras", version = 2))
  pythons <- Filter(function(p) nzchar(p$py) && file.exists(p$py), pythons)
  if (!length(pythons)) skip("set RKERAS_KERAS_PYTHON or RKERAS_TFKERAS_PYTHON to run the Keras interop checks")
  script <- normalizePath(test_path("..", "interop", "check_keras.py"))
  k_clear_session()
  set.seed(7)
  m <- keras_model_sequential(input_shape = c(5, 4, 2)) %>%
    layer_conv_2d_transpose(3, 3, strides = 2, padding = "same", output_padding = 1, activation = "relu") %>%
    layer_depthwise_conv_2d(c(3, 2), depth_multiplier = 2, dilation_rate = c(1, 2)) %>%
    layer_separable_conv_2d(2, 2, strides = 2, activation = "tanh") %>%
    layer_flatten() %>% layer_dense(2)
  m %>% compile(optimizer = "adam", loss = "mean_squared_error")
  x <- array(runif(5 * 5 * 4 * 2), c(5, 5, 4, 2))
  fit(m, x, matrix(runif(10), 5), epochs = 1, verbose = 0)
  dir <- withr::local_tempdir()
  rows <- function(a) t(apply(a, 1, function(s) as.vector(aperm(s, rev(seq_along(dim(s)))))))
  xf <- file.path(dir, "x.csv")
  pf <- file.path(dir, "pred.csv")
  utils::write.table(format(rows(x), digits = 17), xf, sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
  utils::write.table(format(predict(m, x, verbose = 0), digits = 17), pf, sep = ",", row.names = FALSE,
                     col.names = FALSE, quote = FALSE)
  for (p in pythons) {
    f <- file.path(dir, sprintf("m%d.h5", p$version))
    save_model_hdf5(m, f, keras_version = p$version)
    out <- suppressWarnings(system2(p$py, c(script, p$extra, "load", f, xf, pf), stdout = TRUE, stderr = FALSE,
                                    env = "TF_CPP_MIN_LOG_LEVEL=3"))
    line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
    expect_true(length(line) == 1 && grepl('"ok": true', line), info = paste(out, collapse = "\n"))
  }
})
