# CNN models through Keras HDF5 files, both ways (issue 14). Keras-written fixtures
# (tests/fixtures/keras/h5-cnn, made by tests/interop/cnn_models.py) load and predict like Keras;
# rkeras's files round trip; with RKERAS_KERAS_PYTHON / RKERAS_TFKERAS_PYTHON set, real Keras 3
# and tf.keras 2 load rkeras's CNN files (full-size mnist_cnn and a Conv1D text model) with the
# same predictions and Keras' config key order, and write full-size models that rkeras loads.

cnn_h5_dir <- function() fixture_dir("keras", "h5-cnn")

cnn_csv <- function(path) unname(as.matrix(utils::read.csv(path, header = FALSE)))

# Rows of a CSV (one flattened sample per row, row-major) as a batch of the model's input shape.
cnn_rows <- function(path, model) {
  x <- cnn_csv(path)
  array_reshape(x, c(nrow(x), unlist(model$input_shape)))
}

cnn_write_csv <- function(a, path) {
  m <- array_reshape(a, c(dim(a)[1], length(a) / dim(a)[1]))
  utils::write.table(format(m, digits = 17), path, sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
}

test_that("mnist_cnn and a Conv1D text model written by Keras 3 and tf.keras 2 load and predict like Keras", {
  dir <- cnn_h5_dir()
  cases <- list(c("mnist_cnn_mini", "adadelta", "2570"), c("text_cnn", "rmsprop", "290"))
  for (case in cases) {
    for (tag in c("keras3", "keras2")) {
      info <- paste(case[1], tag)
      model <- expect_silent(load_model_hdf5(file.path(dir, sprintf("%s_%s.h5", case[1], tag))))
      expect_equal(model$name, case[1], info = info)
      expect_equal(model$compile_args$optimizer$name, case[2], info = info)
      expect_equal(count_params(model), as.numeric(case[3]), info = info)
      x <- cnn_rows(file.path(dir, paste0(case[1], "_x.csv")), model)
      want <- cnn_csv(file.path(dir, sprintf("%s_%s_pred.csv", case[1], tag)))
      got <- predict(model, x, verbose = 0)
      expect_lt(max(abs(matrix(got, nrow(want)) - want)), 1e-5)
      # it trains on (the optimizer state came along)
      y <- if (case[1] == "text_cnn") matrix(c(0, 1, 1, 0), 4) else to_categorical(0:3, 10)
      h <- fit(model, x, y, epochs = 1, verbose = 0)
      expect_true(is.finite(h$metrics$loss))
    }
  }
  m <- load_model_hdf5(file.path(dir, "mnist_cnn_mini_keras3.h5"))
  kinds <- vapply(rkeras:::model_spec(m)$layers, `[[`, "", "class_name")
  expect_equal(kinds, c("Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"))
  t2 <- load_model_hdf5(file.path(dir, "text_cnn_keras2.h5"))
  out <- capture.output(summary(t2))
  expect_true(any(grepl("conv_causal \\(Conv1D\\) +\\(None, 10, 5\\) +95", out)))
  expect_true(any(grepl("avg \\(AveragePooling1D\\) +\\(None, 5, 5\\) +0", out)))
  expect_true(any(grepl("global_max \\(GlobalMaxPooling1D\\) +\\(None, 4\\) +0", out)))
})

test_that("Keras 3 .keras (zip) files of CNN models", {
  skip("rkeras cannot read Keras 3 .keras (zip) files yet: tests/fixtures/keras/h5-cnn/*.keras wait for it")
  dir <- cnn_h5_dir()
  for (name in c("mnist_cnn_mini", "text_cnn")) {
    model <- load_model(file.path(dir, paste0(name, "_keras3.keras")))
    x <- cnn_rows(file.path(dir, paste0(name, "_x.csv")), model)
    want <- cnn_csv(file.path(dir, paste0(name, "_keras3_pred.csv")))
    expect_lt(max(abs(matrix(predict(model, x, verbose = 0), nrow(want)) - want)), 1e-5)
  }
})

# rkeras's CNN models: keras' mnist_cnn example (full size unless `mini`) and a Conv1D text model,
# compiled as the examples do and trained one epoch on random data.
rk_cnn_model <- function(name, mini = FALSE) {
  k_clear_session()
  set.seed(21)
  if (name == "mnist_cnn") {
    side <- if (mini) 12 else 28
    model <- keras_model_sequential(input_shape = c(side, side, 1), name = "mnist_cnn") %>%
      layer_conv_2d(filters = if (mini) 4 else 32, kernel_size = c(3, 3), activation = "relu") %>%
      layer_conv_2d(filters = if (mini) 8 else 64, kernel_size = c(3, 3), activation = "relu") %>%
      layer_max_pooling_2d(pool_size = c(2, 2)) %>%
      layer_dropout(rate = 0.25) %>%
      layer_flatten() %>%
      layer_dense(units = if (mini) 16 else 128, activation = "relu") %>%
      layer_dropout(rate = 0.5) %>%
      layer_dense(units = 10, activation = "softmax")
    model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_adadelta(), metrics = "accuracy")
    x <- array(runif(32 * side * side), c(32, side, side, 1))
    y <- to_categorical(sample(0:9, 32, TRUE), 10)
  } else if (name == "pools_2d") {
    # the 2-d kinds mnist_cnn does not have
    model <- keras_model_sequential(input_shape = c(9, 8, 3), name = "pools_2d") %>%
      layer_conv_2d(4, c(3, 2), strides = c(2, 1), padding = "same", use_bias = FALSE, activation = "tanh") %>%
      layer_average_pooling_2d(c(2, 3), strides = 1, padding = "same") %>%
      layer_conv_2d(3, 2, dilation_rate = 2) %>%
      layer_max_pooling_2d(2, strides = c(1, 2), padding = "same") %>%
      layer_global_average_pooling_2d(keepdims = TRUE) %>%
      layer_global_max_pooling_2d() %>%
      layer_dense(2, activation = "softmax")
    model %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
    x <- array(runif(32 * 9 * 8 * 3), c(32, 9, 8, 3))
    y <- to_categorical(sample(0:1, 32, TRUE), 2)
  } else {
    model <- keras_model_sequential(input_shape = c(20, 8), name = "text_cnn") %>%
      layer_conv_1d(6, 3, padding = "same", activation = "relu") %>%
      layer_max_pooling_1d(2) %>%
      layer_conv_1d(5, 3, padding = "causal", dilation_rate = 2, activation = "tanh") %>%
      layer_average_pooling_1d(3, strides = 2, padding = "same") %>%
      layer_conv_1d(4, 2, use_bias = FALSE, strides = 1) %>%
      layer_max_pooling_1d(2, padding = "same") %>%
      layer_global_average_pooling_1d(keepdims = TRUE) %>%
      layer_global_max_pooling_1d() %>%
      layer_dropout(0.3) %>%
      layer_dense(1, activation = "sigmoid")
    model %>% compile(loss = "binary_crossentropy", optimizer = optimizer_rmsprop(learning_rate = 0.01),
                      metrics = "accuracy")
    x <- array(runif(32 * 20 * 8), c(32, 20, 8))
    y <- matrix(sample(0:1, 32, TRUE), 32)
  }
  fit(model, x, y, epochs = 1, batch_size = 8, verbose = 0)
  list(model = model, x = x, y = y)
}

test_that("rkeras CNN models round trip through HDF5 (both layouts) bitwise and train on the same", {
  for (name in c("mnist_cnn", "text_cnn")) {
    m <- rk_cnn_model(name, mini = TRUE)
    for (v in c(3, 2)) {
      path <- tempfile(fileext = ".h5")
      save_model_hdf5(m$model, path, keras_version = v)
      loaded <- load_model_hdf5(path)
      expect_identical(predict(loaded, m$x, verbose = 0), predict(m$model, m$x, verbose = 0))
      expect_identical(capture.output(summary(loaded)), capture.output(summary(m$model)))
      expect_identical(loaded$compile_args$optimizer$name, m$model$compile_args$optimizer$name)
      expect_identical(get_weights(loaded), get_weights(m$model))
      h <- fit(loaded, m$x, m$y, epochs = 1, batch_size = 8, verbose = 0)
      expect_true(is.finite(h$metrics$loss))
      unlink(path)
    }
  }
})

# --- Real Keras (optional): as test-persistence-hdf5.R, RKERAS_KERAS_PYTHON names a python with
# keras (3) and h5py, RKERAS_TFKERAS_PYTHON one with tf_keras (tf.keras 2) and h5py.

cnn_python <- function(var) {
  py <- Sys.getenv(var)
  if (!nzchar(py) || !file.exists(py))
    skip(paste0("set ", var, " to a python with ", if (var == "RKERAS_TFKERAS_PYTHON") "tf_keras" else "keras",
                " and h5py to run the Keras CNN interop checks"))
  py
}

cnn_script <- function(name) {
  s <- test_path("..", "interop", name)
  if (!file.exists(s)) skip(paste("tests/interop", name, "not found"))
  normalizePath(s)
}

cnn_run <- function(py, script, ...) {
  out <- suppressWarnings(system2(py, c(cnn_script(script), ...), stdout = TRUE, stderr = FALSE,
                                  env = c("TF_CPP_MIN_LOG_LEVEL=3", "KERAS_BACKEND=jax")))
  line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
  status <- attr(out, "status")
  list(status = if (is.null(status)) 0L else status, line = if (length(line)) line else paste(out, collapse = "\n"))
}

cnn_keras_loads <- function(py, extra, versions) {
  dir <- withr::local_tempdir()
  for (name in c("mnist_cnn", "text_cnn", "pools_2d")) {
    m <- rk_cnn_model(name)
    d <- dim(m$x)
    x <- array(m$x[rep(1:4, prod(d[-1])) + rep(seq(0, length(m$x) - 1, by = d[1]), each = 4)], c(4, d[-1]))
    if (name == "mnist_cnn") expect_equal(count_params(m$model), 1199882)
    cnn_write_csv(x, file.path(dir, "x.csv"))
    cnn_write_csv(predict(m$model, x, verbose = 0), file.path(dir, "pred.csv"))
    w <- file.path(dir, paste0(name, "_w.h5"))
    save_model_weights_hdf5(m$model, w)
    for (v in versions) {
      f <- file.path(dir, sprintf("%s_%d.h5", name, v))
      save_model_hdf5(m$model, f, keras_version = v)
      # the config key order is checked in the layout of the Keras that loads the file
      order <- if (v == 3 || length(extra)) "--key-order" else character()
      res <- cnn_run(py, "check_keras.py", extra, order, "load", f, file.path(dir, "x.csv"),
                     file.path(dir, "pred.csv"), w)
      expect_true(res$status == 0 && grepl('"ok": true', res$line), info = paste(name, v, res$line))
      expect_match(res$line, '"iterations": 4', fixed = TRUE)
      if (length(order)) expect_match(res$line, sprintf('"key_order_layers": %d', c(mnist_cnn = 8, text_cnn = 10, pools_2d = 7)[[name]]))
    }
  }
}

test_that("Keras 3 loads rkeras's mnist_cnn and text CNN HDF5 files (both layouts): same predictions, key order", {
  cnn_keras_loads(cnn_python("RKERAS_KERAS_PYTHON"), character(), c(3, 2))
})

test_that("tf.keras 2 loads rkeras's mnist_cnn and text CNN HDF5 files: same predictions, key order", {
  cnn_keras_loads(cnn_python("RKERAS_TFKERAS_PYTHON"), "--tf-keras", 2)
})

cnn_keras_writes <- function(py, extra) {
  dir <- withr::local_tempdir()
  tag <- if (length(extra)) "keras2" else "keras3"
  for (name in c("mnist_cnn", "text_cnn")) {
    res <- cnn_run(py, "cnn_models.py", extra, "save", name, dir)
    expect_true(res$status == 0 && grepl('"ok": true', res$line), info = res$line)
    model <- load_model_hdf5(file.path(dir, sprintf("%s_%s.h5", name, tag)))
    if (name == "mnist_cnn") expect_equal(count_params(model), 1199882)
    x <- cnn_rows(file.path(dir, paste0(name, "_x.csv")), model)
    want <- cnn_csv(file.path(dir, sprintf("%s_%s_pred.csv", name, tag)))
    expect_lt(max(abs(matrix(predict(model, x, verbose = 0), nrow(want)) - want)), 1e-5)
  }
}

test_that("rkeras loads the full mnist_cnn and the text CNN as Keras 3 writes them now (within 1e-5)", {
  cnn_keras_writes(cnn_python("RKERAS_KERAS_PYTHON"), character())
})

test_that("rkeras loads the full mnist_cnn and the text CNN as tf.keras 2 writes them now (within 1e-5)", {
  cnn_keras_writes(cnn_python("RKERAS_TFKERAS_PYTHON"), "--tf-keras")
})
