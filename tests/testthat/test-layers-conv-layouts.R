# data_format = "channels_first" for the convolutions and poolings, and grouped convolutions,
# against Keras 3: tests/fixtures/keras/conv_layouts (tests/interop/make_conv_layout_fixtures.py)
# holds per case one layer's arguments, fixed weights, a fixed input and Keras 3's output.

cf_fixture <- function() {
  jsonlite::fromJSON(file.path(fixture_dir("keras", "conv_layouts"), "layers.json"), simplifyVector = FALSE)
}

cf_layer_fn <- function(class) {
  switch(class,
         Conv2D = layer_conv_2d, Conv1D = layer_conv_1d, Conv2DTranspose = layer_conv_2d_transpose,
         DepthwiseConv2D = layer_depthwise_conv_2d, SeparableConv2D = layer_separable_conv_2d,
         MaxPooling2D = layer_max_pooling_2d, AveragePooling2D = layer_average_pooling_2d,
         MaxPooling1D = layer_max_pooling_1d, AveragePooling1D = layer_average_pooling_1d,
         GlobalMaxPooling1D = layer_global_max_pooling_1d, GlobalMaxPooling2D = layer_global_max_pooling_2d,
         GlobalAveragePooling1D = layer_global_average_pooling_1d,
         GlobalAveragePooling2D = layer_global_average_pooling_2d,
         stop("no rkeras layer for ", class))
}

cf_model <- function(case) {
  in_shape <- as.integer(unlist(case$input$shape))[-1]
  args <- lapply(case$args, function(a) if (is.list(a)) unlist(a) else a)
  model <- keras_model_sequential(input_shape = in_shape)
  do.call(cf_layer_fn(case$class), c(list(model), args))
  if (length(case$weights)) set_weights(model, lapply(case$weights, fx_array))
  model
}

test_that("every conv and pooling kind predicts channels-first input like Keras 3 (within 1e-5), and grouped convs", {
  fx <- cf_fixture()
  expect_equal(fx$keras_version, "3.15.1")
  expect_length(unique(vapply(fx$cases, `[[`, "", "class")), 13)
  expect_equal(sum(vapply(fx$cases, function(cs) !is.null(cs$args$groups), TRUE)), 4)
  for (case in fx$cases) {
    k_clear_session()
    model <- cf_model(case)
    x <- fx_array(case$input)
    want <- fx_array(case$output)
    got <- predict(model, x, verbose = 0)
    expect_identical(dim(got), dim(want), info = case$name)
    expect_lt(max(abs(got - want)), 1e-5, label = paste(case$name, "max |rkeras - keras|"))
    # the same shape and parameter count as Keras in summary(), and the weights in Keras' layout
    expect_equal(count_params(model), sum(vapply(case$weights, function(a) prod(unlist(a$shape)), 0)),
                 info = case$name)
    shape <- paste0("(None, ", paste(dim(want)[-1], collapse = ", "), ")")
    expect_true(any(grepl(shape, capture.output(summary(model)), fixed = TRUE)), info = paste(case$name, shape))
    if (length(case$weights))
      expect_equal(lapply(get_weights(model), dim), lapply(case$weights, function(a) as.integer(unlist(a$shape))),
                   info = case$name)
  }
})

test_that("a channels-first model with a grouped conv written by Keras 3 loads and predicts as Keras", {
  dir <- fixture_dir("keras", "conv_layouts")
  m <- suppressWarnings(load_model_hdf5(file.path(dir, "chain_keras3.h5")))
  x <- fx_array(jsonlite::fromJSON(file.path(dir, "chain_x.json"), simplifyVector = TRUE))
  want <- fx_array(jsonlite::fromJSON(file.path(dir, "chain_pred.json"), simplifyVector = TRUE))
  expect_equal(unname(predict(m, x, verbose = 0)), want, tolerance = 1e-5)
  expect_equal(m$input_shape, list(NULL, 3L, 8L, 7L))
})

cf_chain <- function() {
  keras_model_sequential(input_shape = c(2, 6, 5)) %>%
    layer_conv_2d(3, c(3, 2), padding = "same", activation = "relu", data_format = "channels_first") %>%
    layer_max_pooling_2d(2, data_format = "channels_first") %>%
    layer_separable_conv_2d(4, 2, data_format = "channels_first") %>%
    layer_conv_2d(2, 2, groups = 2, padding = "same", data_format = "channels_first") %>%
    layer_global_average_pooling_2d(data_format = "channels_first") %>%
    layer_dense(1)
}

test_that("a channels-first model trains, and keeps its layout through HDF5, saveRDS and the native format", {
  k_clear_session()
  set.seed(5)
  m <- cf_chain()
  expect_equal(m$output_shape, list(NULL, 1L))
  m %>% compile(optimizer = "adam", loss = "mse")
  x <- array(runif(16 * 2 * 6 * 5), c(16, 2, 6, 5))
  y <- apply(x, 1, function(s) mean(s[1, , ]) - mean(s[2, , ]))
  h <- fit(m, x, y, epochs = 20, batch_size = 8, verbose = 0)
  expect_lt(utils::tail(h$metrics$loss, 1), h$metrics$loss[1])
  p <- predict(m, x, verbose = 0)
  for (v in c(3, 2)) {
    f <- tempfile(fileext = ".h5")
    save_model_hdf5(m, f, keras_version = v)
    expect_equal(predict(suppressWarnings(load_model_hdf5(f)), x, verbose = 0), p, info = paste("keras", v))
  }
  f <- tempfile(fileext = ".rds")
  saveRDS(m, f)
  expect_equal(predict(readRDS(f), x, verbose = 0), p)
  f <- tempfile(fileext = ".keras")
  save_model(m, f)
  expect_equal(predict(load_model(f), x, verbose = 0), p)
})

test_that("channels-first layers give clear errors", {
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, data_format = "NCHW"),
               "layer_conv_2d\\(\\): `data_format` must be \"channels_last\" or \"channels_first\", got .*NCHW")
  expect_error(layer_global_max_pooling_1d(data_format = 1), "`data_format` must be")
  # Keras takes a softmax along the last axis, a spatial one in channels_first
  m <- keras_model_sequential(input_shape = c(3, 4, 4)) %>%
    layer_conv_2d(2, 1, activation = "softmax", data_format = "channels_first", name = "c")
  expect_error(summary(m), "c \\(Conv2D\\): a softmax activation with data_format = \"channels_first\" is not supported")
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, groups = 0), "`groups` must be")
  m <- keras_model_sequential(input_shape = c(5, 5, 3)) %>% layer_conv_2d(4, 3, groups = 2, name = "g")
  expect_error(summary(m), "g (Conv2D): groups = 2 must divide both the input channels (3) and filters (4)", fixed = TRUE)
})

test_that("Keras 3 and tf.keras 2 load rkeras' channels-first HDF5 files and predict the same", {
  pythons <- list(list(py = Sys.getenv("RKERAS_KERAS_PYTHON"), extra = character(), version = 3),
                  list(py = Sys.getenv("RKERAS_TFKERAS_PYTHON"), extra = "--tf-keras", version = 2))
  pythons <- Filter(function(p) nzchar(p$py) && file.exists(p$py), pythons)
  if (!length(pythons)) skip("set RKERAS_KERAS_PYTHON or RKERAS_TFKERAS_PYTHON to run the Keras interop checks")
  script <- normalizePath(test_path("..", "interop", "check_keras.py"))
  k_clear_session()
  set.seed(8)
  m <- cf_chain()
  m %>% compile(optimizer = "adam", loss = "mean_squared_error")
  x <- array(runif(4 * 2 * 6 * 5), c(4, 2, 6, 5))
  fit(m, x, runif(4), epochs = 1, verbose = 0)
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
