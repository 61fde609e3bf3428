# Zero padding, cropping, upsampling and spatial dropout: values against Python Keras 3
# (tests/fixtures/keras/spatial, made by tests/interop/make_spatial_fixtures.py), summary
# shapes, Keras-written files, save/load round trips, spatial dropout masks, argument errors.

spatial_fixture <- function(file) file.path(fixture_dir("keras", "spatial"), file)

# A row-major {shape, data} of the fixture as an R array.
row_major <- function(a) {
  shape <- unlist(a$shape)
  aperm(array(unlist(a$data), rev(shape)), rev(seq_along(shape)))
}

# The R call of each fixture case, on a sequential model with the case's input shape.
spatial_cases <- list(
  zp1_default = function(m) layer_zero_padding_1d(m),
  zp1_pair = function(m) layer_zero_padding_1d(m, padding = c(2, 0)),
  zp1_cf = function(m) layer_zero_padding_1d(m, padding = c(1, 2), data_format = "channels_first"),
  zp2_int = function(m) layer_zero_padding_2d(m, padding = 2),
  zp2_sym = function(m) layer_zero_padding_2d(m, padding = c(1, 2)),
  zp2_pairs = function(m) layer_zero_padding_2d(m, padding = list(c(1, 0), c(2, 3))),
  zp2_cf = function(m) layer_zero_padding_2d(m, list(c(0, 1), c(2, 0)), data_format = "channels_first"),
  cr1_default = function(m) layer_cropping_1d(m),
  cr1_pair = function(m) layer_cropping_1d(m, cropping = c(2, 0)),
  cr2_default = function(m) layer_cropping_2d(m),
  cr2_int = function(m) layer_cropping_2d(m, cropping = 1),
  cr2_sym = function(m) layer_cropping_2d(m, cropping = c(1, 2)),
  cr2_pairs = function(m) layer_cropping_2d(m, cropping = list(c(0, 2), c(3, 1))),
  cr2_cf = function(m) layer_cropping_2d(m, list(c(1, 1), c(0, 2)), data_format = "channels_first"),
  up1_default = function(m) layer_upsampling_1d(m),
  up1_3 = function(m) layer_upsampling_1d(m, size = 3),
  up2_default = function(m) layer_upsampling_2d(m),
  up2_23 = function(m) layer_upsampling_2d(m, size = c(2, 3)),
  up2_cf = function(m) layer_upsampling_2d(m, size = c(2, 1), data_format = "channels_first"),
  up2_bilinear = function(m) layer_upsampling_2d(m, size = c(2, 2), interpolation = "bilinear"),
  up2_bilinear_31 = function(m) layer_upsampling_2d(m, size = c(3, 1), interpolation = "bilinear"),
  up2_bilinear_cf = function(m) layer_upsampling_2d(m, c(2, 3), data_format = "channels_first",
                                                    interpolation = "bilinear"),
  sd1 = function(m) layer_spatial_dropout_1d(m, rate = 0.4),
  sd2 = function(m) layer_spatial_dropout_2d(m, rate = 0.4),
  sd2_cf = function(m) layer_spatial_dropout_2d(m, rate = 0.25, data_format = "channels_first")
)

test_that("every spatial layer gives Keras 3's values on the fixture inputs", {
  fx <- jsonlite::fromJSON(spatial_fixture("layers_keras3.json"), simplifyVector = FALSE)
  cases <- fx$cases
  expect_setequal(vapply(cases, `[[`, "", "name"), names(spatial_cases))
  for (case in cases) {
    x <- row_major(case$x)
    want <- row_major(case$y)
    model <- spatial_cases[[case$name]](keras_model_sequential(input_shape = dim(x)[-1]))
    got <- predict(model, x, verbose = 0)
    expect_equal(dim(got), dim(want), info = case$name)
    expect_lt(max(abs(got - want)), 1e-5, label = case$name)
  }
})

test_that("summary shows Keras' output shapes", {
  k_clear_session()
  model <- keras_model_sequential(input_shape = c(6, 5, 2)) %>%
    layer_zero_padding_2d(list(c(1, 2), c(0, 3))) %>%
    layer_cropping_2d(c(1, 2)) %>%
    layer_upsampling_2d(c(2, 3), interpolation = "bilinear") %>%
    layer_spatial_dropout_2d(0.3)
  out <- capture.output(summary(model))
  expect_true(any(grepl("^zero_padding2d \\(ZeroPadding2D\\) +\\(None, 9, 8, 2\\) +0", out)))
  expect_true(any(grepl("^cropping2d \\(Cropping2D\\) +\\(None, 7, 4, 2\\) +0", out)))
  expect_true(any(grepl("^up_sampling2d \\(UpSampling2D\\) +\\(None, 14, 12, 2\\) +0", out)))
  expect_true(any(grepl("^spatial_dropout2d \\(SpatialDropout2D\\) *\\(None, 14, 12, 2\\) +0", out)))
  m1 <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_zero_padding_1d() %>%
    layer_cropping_1d(c(3, 0)) %>% layer_upsampling_1d(3) %>% layer_spatial_dropout_1d(0.5)
  out <- capture.output(summary(m1))
  expect_true(any(grepl("^zero_padding1d \\(ZeroPadding1D\\) +\\(None, 12, 3\\)", out)))
  expect_true(any(grepl("^cropping1d \\(Cropping1D\\) +\\(None, 9, 3\\)", out)))
  expect_true(any(grepl("^up_sampling1d \\(UpSampling1D\\) +\\(None, 27, 3\\)", out)))
  expect_true(any(grepl("^spatial_dropout1d \\(SpatialDropout1D\\) *\\(None, 27, 3\\)", out)))
  # functional: channels first
  inp <- layer_input(shape = c(2, 4, 5))
  out <- inp %>% layer_zero_padding_2d(1, data_format = "channels_first") %>%
    layer_upsampling_2d(2, data_format = "channels_first")
  expect_equal(dim(predict(keras_model(inp, out), array(1, c(3, 2, 4, 5)), verbose = 0)), c(3, 2, 12, 14))
})

test_that("values on a tiny array match those computed by hand", {
  x <- array(0, c(1, 2, 2, 1))
  x[1, , , 1] <- matrix(c(1, 3, 2, 4), 2)  # rows (1, 2) and (3, 4)
  pad <- keras_model_sequential(input_shape = c(2, 2, 1)) %>% layer_zero_padding_2d(list(c(1, 0), c(0, 2)))
  p <- predict(pad, x, verbose = 0)
  expect_equal(p[1, , , 1], rbind(c(0, 0, 0, 0), c(1, 2, 0, 0), c(3, 4, 0, 0)))
  up <- keras_model_sequential(input_shape = c(2, 2, 1)) %>% layer_upsampling_2d(2, interpolation = "bilinear")
  expect_equal(predict(up, x, verbose = 0)[1, , , 1],
               rbind(c(1, 1.25, 1.75, 2), c(1.5, 1.75, 2.25, 2.5), c(2.5, 2.75, 3.25, 3.5), c(3, 3.25, 3.75, 4)),
               tolerance = 1e-6)
  near <- keras_model_sequential(input_shape = c(2, 2, 1)) %>% layer_upsampling_2d(c(1, 2))
  expect_equal(predict(near, x, verbose = 0)[1, , , 1], rbind(c(1, 1, 2, 2), c(3, 3, 4, 4)))
  crop <- keras_model_sequential(input_shape = c(5, 1)) %>% layer_cropping_1d(c(1, 2))
  expect_equal(as.vector(predict(crop, array(1:5, c(1, 5, 1)), verbose = 0)), c(2, 3))
})

test_that("Keras-written files with spatial layers load and predict as Keras did", {
  for (name in c("spatial2d", "spatial1d")) {
    x <- as.matrix(read.csv(spatial_fixture(paste0(name, "_x.csv")), header = FALSE))
    shape <- if (name == "spatial2d") c(7, 6, 2) else c(10, 3)
    x <- array_reshape(x, c(nrow(x), shape))
    for (file in paste0(name, c("_keras3.h5", "_keras2.h5"))) {
      model <- suppressWarnings(load_model_hdf5(spatial_fixture(file)))
      want <- as.matrix(read.csv(spatial_fixture(sub("\\.h5$", "_pred.csv", file)), header = FALSE))
      expect_lt(max(abs(predict(model, x, verbose = 0) - unname(want))), 1e-5, label = file)
    }
  }
})

test_that("models with spatial layers survive HDF5 (both layouts), .keras and saveRDS round trips", {
  set.seed(3)
  m <- keras_model_sequential(input_shape = c(6, 5, 2)) %>%
    layer_zero_padding_2d(list(c(1, 0), c(2, 1))) %>%
    layer_conv_2d(3, 3, activation = "relu") %>%
    layer_cropping_2d(list(c(1, 0), c(0, 1))) %>%
    layer_upsampling_2d(c(2, 1), interpolation = "bilinear") %>%
    layer_spatial_dropout_2d(0.3) %>%
    layer_upsampling_2d(2) %>%
    layer_flatten() %>%
    layer_dense(2)
  m %>% compile(optimizer = "adam", loss = "mse")
  x <- array(runif(4 * 60), c(4, 6, 5, 2))
  fit(m, x, matrix(runif(8), 4), epochs = 1, verbose = 0)
  p <- predict(m, x, verbose = 0)
  for (v in c(3, 2)) {
    f <- tempfile(fileext = ".h5")
    save_model_hdf5(m, f, keras_version = v)
    expect_equal(predict(suppressWarnings(load_model_hdf5(f)), x, verbose = 0), p, info = paste("keras", v))
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

  m1 <- keras_model_sequential(input_shape = c(9, 3)) %>% layer_zero_padding_1d(c(2, 1)) %>%
    layer_cropping_1d(c(1, 2)) %>% layer_upsampling_1d(2) %>% layer_spatial_dropout_1d(0.2)
  x1 <- array(runif(2 * 27), c(2, 9, 3))
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m1, f, keras_version = 2)
  expect_equal(predict(suppressWarnings(load_model_hdf5(f)), x1, verbose = 0), predict(m1, x1, verbose = 0))
  # channels_first layers that tf.keras 2 cannot describe are refused for that layout only
  cf <- keras_model_sequential(input_shape = c(2, 4, 4)) %>% layer_spatial_dropout_2d(0.2, data_format = "channels_first")
  expect_error(save_model_hdf5(cf, f, keras_version = 2), "SpatialDropout2D's data_format")
  save_model_hdf5(cf, f)
  expect_equal(predict(suppressWarnings(load_model_hdf5(f)), array(1, c(1, 2, 4, 4)), verbose = 0),
               array(1, c(1, 2, 4, 4)))
})

# input (3, 4, channels) -> spatial dropout -> flatten -> dense(1, no bias, zero kernel): one SGD
# step (lr 0.5, mse, one sample of ones, target 1) sets the kernel to the dropped-out input, so
# the kernel shows the mask that training drew.
dropout_mask <- function(layer_fn, seed, channels = 400) {
  set.seed(seed)
  m <- keras_model_sequential(input_shape = c(3, 4, channels))
  m <- layer_fn(m) %>% layer_flatten() %>%
    layer_dense(1, use_bias = FALSE, kernel_initializer = "zeros")
  m %>% compile(optimizer = optimizer_sgd(learning_rate = 0.5), loss = "mse")
  fit(m, array(1, c(1, 3, 4, channels)), matrix(1), epochs = 1, batch_size = 1, verbose = 0)
  # kernel rows in (row, col, channel) order: one column per channel
  matrix(get_weights(m)[[1]], ncol = channels, byrow = TRUE)
}

test_that("spatial dropout drops whole channels in training, scales the rest, repeats under set.seed()", {
  k <- dropout_mask(function(m) layer_spatial_dropout_2d(m, rate = 0.3), seed = 42)
  expect_equal(dim(k), c(12, 400))
  per_channel <- apply(k, 2, function(v) length(unique(v)))
  expect_true(all(per_channel == 1))  # a channel is kept or dropped at every position at once
  kept <- k[1, ] != 0
  expect_equal(k[1, kept], rep(1 / 0.7, sum(kept)), tolerance = 1e-6)
  expect_gt(mean(kept), 0.6)
  expect_lt(mean(kept), 0.8)
  expect_equal(dropout_mask(function(m) layer_spatial_dropout_2d(m, rate = 0.3), seed = 42), k)
  expect_false(identical(dropout_mask(function(m) layer_spatial_dropout_2d(m, rate = 0.3), seed = 43), k))
  # 1d: (batch, steps, channels) with 12 steps
  k1 <- dropout_mask(function(m) m %>% layer_reshape(c(12, 400)) %>% layer_spatial_dropout_1d(0.5), seed = 7)
  expect_true(all(apply(k1, 2, function(v) length(unique(v))) == 1))
  expect_true(all(k1[1, ] %in% c(0, 2)))
  expect_gt(mean(k1[1, ] == 0), 0.4)
  expect_lt(mean(k1[1, ] == 0), 0.6)
  # predict() and evaluate() pass the input through
  m <- keras_model_sequential(input_shape = c(3, 4, 5)) %>% layer_spatial_dropout_2d(0.9)
  x <- array(rnorm(2 * 60), c(2, 3, 4, 5))
  expect_equal(predict(m, x, verbose = 0), x, tolerance = 1e-6)
})

test_that("bad arguments and shapes give clear errors naming the layer", {
  expect_error(layer_zero_padding_2d(padding = -1), "layer_zero_padding_2d\\(\\): `padding` must be .*negative")
  expect_error(layer_zero_padding_1d(padding = c(1, 2, 3)), "layer_zero_padding_1d\\(\\): `padding`")
  expect_error(layer_zero_padding_2d(padding = list(c(1, 2), c(3, 4), c(5, 6))), "two pairs")
  expect_error(layer_cropping_2d(cropping = list(c(1, -2), c(0, 0))), "`cropping`.*negative")
  expect_error(layer_cropping_1d(cropping = 1.5), "layer_cropping_1d\\(\\): `cropping`")
  expect_error(layer_upsampling_2d(size = 0), "layer_upsampling_2d\\(\\): `size` must be .*start at 1")
  expect_error(layer_upsampling_1d(size = c(2, 2)), "layer_upsampling_1d\\(\\): `size` must be a positive whole number")
  expect_error(layer_upsampling_2d(interpolation = "bicubic"), "\"bicubic\" is not supported by rkeras")
  expect_error(layer_upsampling_2d(interpolation = "cubic"), "must be \"nearest\" or \"bilinear\"")
  expect_error(layer_zero_padding_2d(data_format = "channels_middle"), "`data_format` must be")
  expect_error(layer_spatial_dropout_1d(rate = 1), "layer_spatial_dropout_1d\\(\\): `rate` must be in \\[0, 1\\)")
  expect_error(layer_spatial_dropout_2d(), "`rate` is missing")
  expect_error(layer_cropping_2d(cropping = 1, input_shap = c(4, 4, 1)), "unknown argument `input_shap`")

  # shapes are checked when the model is built
  m <- keras_model_sequential(input_shape = c(5, 6, 2)) %>% layer_cropping_2d(list(c(1, 1), c(3, 3)), name = "crop")
  expect_error(summary(m), paste0("crop: Cropping2D cropping ((1, 1), (3, 3)) leaves nothing of the input's 6 cols: ",
                                  "input shape (None, 5, 6, 2)"), fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(4, 2)) %>% layer_cropping_1d(c(2, 2), name = "c1")
  expect_error(predict(m, array(0, c(1, 4, 2)), verbose = 0),
               "c1: Cropping1D cropping (2, 2) leaves nothing of the input's 4 steps", fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(28, 28)) %>% layer_zero_padding_2d(name = "zp")
  expect_error(summary(m), "zp: ZeroPadding2D takes 4-d input (batch, rows, cols, channels), got shape (None, 28, 28)",
               fixed = TRUE)
  x <- layer_input(shape = c(4, 4, 3))
  expect_error(keras_model(x, layer_upsampling_1d(x, name = "u1")),
               "u1: UpSampling1D takes 3-d input (batch, steps, features), got shape (None, 4, 4, 3)", fixed = TRUE)
  expect_error(keras_model(x, layer_spatial_dropout_1d(x, 0.2, name = "sd")), "sd: SpatialDropout1D takes 3-d input",
               fixed = TRUE)
  m <- keras_model_sequential(input_shape = 10) %>% layer_spatial_dropout_2d(0.2, name = "sd2")
  expect_error(summary(m), "sd2: SpatialDropout2D takes 4-d input (batch, rows, cols, channels), got shape (None, 10)",
               fixed = TRUE)
})

test_that("Keras 3 and tf.keras 2 load rkeras's HDF5 files with spatial layers and predict the same", {
  # optional: RKERAS_KERAS_PYTHON / RKERAS_TFKERAS_PYTHON name pythons with keras (3) / tf_keras and
  # h5py (tests/interop/check_keras.py, as in test-persistence-hdf5.R)
  keras_pythons()
  set.seed(5)
  models <- list(
    two_d = list(keras_model_sequential(input_shape = c(6, 5, 2)) %>%
                   layer_zero_padding_2d(list(c(1, 0), c(2, 1))) %>% layer_conv_2d(3, 3, activation = "relu") %>%
                   layer_cropping_2d(list(c(1, 0), c(0, 1))) %>%
                   layer_upsampling_2d(c(2, 3), interpolation = "bilinear") %>%
                   layer_spatial_dropout_2d(0.3) %>% layer_upsampling_2d(2) %>% layer_flatten() %>% layer_dense(2),
                 c(6, 5, 2), c(2, 3)),
    one_d = list(keras_model_sequential(input_shape = c(9, 3)) %>% layer_zero_padding_1d(c(2, 1)) %>%
                   layer_conv_1d(4, 3) %>% layer_cropping_1d(c(1, 2)) %>% layer_upsampling_1d(3) %>%
                   layer_spatial_dropout_1d(0.2) %>% layer_flatten() %>% layer_dense(2),
                 c(9, 3), c(2, 3)),
    channels_first = list(keras_model_sequential(input_shape = c(2, 4, 5)) %>%
                            layer_zero_padding_2d(list(c(0, 1), c(2, 0)), data_format = "channels_first") %>%
                            layer_cropping_2d(c(1, 1), data_format = "channels_first") %>%
                            layer_upsampling_2d(c(2, 1), data_format = "channels_first",
                                                interpolation = "bilinear") %>%
                            layer_flatten() %>% layer_dense(2),
                          c(2, 4, 5), c(2, 3)))
  for (name in names(models)) {
    m <- models[[name]][[1]]
    m %>% compile(optimizer = "adam", loss = "mean_squared_error")
    x <- array(runif(5 * prod(models[[name]][[2]])), c(5, models[[name]][[2]]))
    fit(m, x, matrix(runif(10), 5), epochs = 1, verbose = 0)
    expect_keras_loads(m, x, label = name)
  }
})
