# Keras masks: layer_masking(), layer_embedding(mask_zero = TRUE), masked global average pooling
# and masked losses and metrics of sequence outputs; values from Keras 3
# (tests/interop/make_mask_fixtures.py), HDF5 both ways, bad input.

mask_fixture <- function(file = "mask.json") {
  jsonlite::fromJSON(file.path(fixture_dir("keras", "mask"), file), simplifyVector = TRUE,
                     simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
}

# a row-major {shape, data} array of the fixture as an R array
rm_array <- function(a) {
  shape <- as.integer(a$shape)
  if (length(shape) == 1) return(a$data)
  aperm(array(a$data, rev(shape)), rev(seq_along(shape)))
}

fixture_weights <- function(ws) lapply(ws, rm_array)

emb_gap_model <- function() {
  inp <- layer_input(shape = 6)
  out <- inp %>% layer_embedding(10, 4, mask_zero = TRUE) %>% layer_global_average_pooling_1d() %>%
    layer_dense(3, activation = "softmax")
  keras_model(inp, out)
}

seq_model <- function() {
  inp <- layer_input(shape = 5)
  out <- inp %>% layer_embedding(8, 3, mask_zero = TRUE) %>% layer_dense(4, activation = "softmax")
  keras_model(inp, out)
}

test_that("layer_masking() zeroes the masked steps as Keras 3 does", {
  f <- mask_fixture()
  x <- rm_array(f$masking$x)
  for (v in c("0.0", "0.5")) {
    m <- keras_model_sequential(input_shape = c(4, 2)) %>% layer_masking(mask_value = as.numeric(v))
    expect_lt(max(abs(predict(m, x) - rm_array(f$masking[[v]]$output))), 1e-7)
  }
  # the mask itself, through masked average pooling
  m <- keras_model_sequential(input_shape = c(4, 2)) %>% layer_masking() %>% layer_global_average_pooling_1d()
  expect_lt(max(abs(predict(m, x) - rm_array(f$masked_gap$output))), 1e-6)
  # by hand: sample 1 has steps 1, 3, 4 (step 2 is all 0)
  expect_equal(predict(m, x)[1, ], colMeans(x[1, c(1, 3, 4), ]), tolerance = 1e-6)
})

test_that("embedding(mask_zero) + global average pooling predicts and evaluates as Keras 3", {
  f <- mask_fixture()$emb_gap
  m <- emb_gap_model()
  set_weights(m, fixture_weights(f$weights))
  ids <- rm_array(f$ids)
  expect_true(any(ids == 0))
  expect_lt(max(abs(predict(m, ids) - rm_array(f$predictions))), 1e-6)
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
  ev <- evaluate(m, ids, rm_array(f$y), verbose = 0)
  expect_equal(unname(ev[["loss"]]), f$evaluate$loss, tolerance = 1e-5)
  expect_equal(unname(ev[["accuracy"]]), f$evaluate$accuracy, tolerance = 1e-6)
  # without the mask the padding rows would count (a different value)
  m0 <- keras_model_sequential(input_shape = 6) %>% layer_embedding(10, 4) %>% layer_global_average_pooling_1d() %>%
    layer_dense(3, activation = "softmax")
  set_weights(m0, fixture_weights(f$weights))
  expect_gt(max(abs(predict(m0, ids) - rm_array(f$predictions))), 1e-3)
})

test_that("a masked sequence output: loss and metrics skip the padded steps as in Keras 3", {
  f <- mask_fixture()$seq
  m <- seq_model()
  set_weights(m, fixture_weights(f$weights))
  m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy",
                weighted_metrics = "accuracy")
  ids <- rm_array(f$ids)
  y <- rm_array(f$y)
  expect_lt(max(abs(predict(m, ids) - rm_array(f$predictions))), 1e-6)
  ev <- evaluate(m, ids, y, verbose = 0)
  expect_equal(unname(ev[["loss"]]), f$evaluate$loss, tolerance = 1e-5)
  expect_equal(unname(ev[["accuracy"]]), f$evaluate$accuracy, tolerance = 1e-6)
  expect_equal(unname(ev[["weighted_accuracy"]]), f$evaluate$weighted_accuracy, tolerance = 1e-6)
  # sample weights (Keras 3 took them repeated over the steps)
  ev <- evaluate(m, ids, y, sample_weight = rm_array(f$sample_weight), verbose = 0)
  expect_equal(unname(ev[["loss"]]), f$evaluate_weighted$loss, tolerance = 1e-5)
  expect_equal(unname(ev[["accuracy"]]), f$evaluate_weighted$accuracy, tolerance = 1e-6)
  expect_equal(unname(ev[["weighted_accuracy"]]), f$evaluate_weighted$weighted_accuracy, tolerance = 1e-6)
  # 13 of the 20 steps count: accuracy is a multiple of 1/13
  expect_equal(sum(ids != 0), 13)
  # the same model read from Keras' HDF5 file evaluates the same
  k <- suppressWarnings(load_model_hdf5(file.path(fixture_dir("keras", "mask"), "seq.h5")))
  expect_true(get_layer(k, index = 2)$mask_zero)
  expect_lt(max(abs(predict(k, ids) - rm_array(f$predictions))), 1e-6)
  ev <- evaluate(k, ids, y, verbose = 0)
  expect_equal(unname(ev[["loss"]]), f$evaluate$loss, tolerance = 1e-5)
})

test_that("a masking layer before dense layers: a masked sequence loss as in Keras 3", {
  f <- mask_fixture()$masking_seq
  inp <- layer_input(shape = c(5, 2))
  out <- inp %>% layer_masking() %>% layer_dense(3, activation = "tanh") %>% layer_dense(1)
  m <- keras_model(inp, out)
  set_weights(m, fixture_weights(f$weights))
  m %>% compile(loss = "mse", optimizer = "sgd", metrics = "mae")
  x <- rm_array(f$x)
  expect_lt(max(abs(predict(m, x) - rm_array(f$predictions))), 1e-6)
  ev <- evaluate(m, x, rm_array(f$y), verbose = 0)
  expect_equal(unname(ev[["loss"]]), f$evaluate$loss, tolerance = 1e-5)
  expect_equal(unname(ev[["mae"]]), f$evaluate$mae, tolerance = 1e-5)
})

test_that("Keras 3 and tf.keras 2 HDF5 files with mask_zero load and predict as Keras did", {
  f <- mask_fixture()
  k2 <- mask_fixture("tfk2.json")
  ids <- rm_array(f$emb_gap$ids)
  for (file in c("emb_gap.h5", "emb_gap_tfk2.h5")) {
    m <- suppressWarnings(load_model_hdf5(file.path(fixture_dir("keras", "mask"), file)))
    want <- if (file == "emb_gap.h5") f$emb_gap$predictions else k2$emb_gap$predictions
    expect_lt(max(abs(predict(m, ids) - rm_array(want))), 1e-6)
    expect_true(get_layer(m, index = 2)$mask_zero)
    m %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
    ev <- evaluate(m, ids, rm_array(f$emb_gap$y), verbose = 0)
    expect_equal(unname(ev[["loss"]]), f$emb_gap$evaluate$loss, tolerance = 1e-5)
  }
})

test_that("masking and mask_zero survive HDF5 (both layouts), native files and saveRDS", {
  set.seed(2)
  inp <- layer_input(shape = c(5, 3))
  out <- inp %>% layer_masking(mask_value = -1) %>% layer_dense(4, activation = "relu") %>%
    layer_global_average_pooling_1d() %>% layer_dense(1)
  m1 <- keras_model(inp, out)
  m2 <- keras_model_sequential(input_shape = 7) %>% layer_embedding(12, 3, mask_zero = TRUE) %>%
    layer_global_average_pooling_1d() %>% layer_dense(2)
  x1 <- array(runif(4 * 5 * 3), c(4, 5, 3))
  x1[1, 2:3, ] <- -1
  x1[3, 5, ] <- -1
  x2 <- matrix(sample(0:11, 28, TRUE), 4)
  x2[, 1:2] <- 0
  for (case in list(list(m1, x1), list(m2, x2))) {
    m <- case[[1]]
    x <- case[[2]]
    want <- predict(m, x)
    for (v in c(3, 2)) {
      path <- tempfile(fileext = ".h5")
      save_model_hdf5(m, path, keras_version = v)
      back <- load_model_hdf5(path, compile = FALSE)
      expect_equal(predict(back, x), want, tolerance = 1e-7)
      unlink(path)
    }
    path <- tempfile(fileext = ".rds")
    saveRDS(m, path)
    expect_equal(predict(readRDS(path), x), want, tolerance = 1e-7)
    unlink(path)
  }
  expect_equal(get_layer(m1, index = 2)$mask_value, -1)
})

test_that("masks train: a padded-sequence task learns with mask_zero", {
  set.seed(5)
  n <- 600
  len <- sample(2:10, n, TRUE)
  x <- t(vapply(len, function(l) c(rep(0L, 10 - l), sample(1:9, l, TRUE)), integer(10)))
  # label: whether the mean id of the real (unpadded) steps is above 5
  y <- as.numeric(rowSums(x) / len > 5)
  m <- keras_model_sequential(input_shape = 10) %>% layer_embedding(10, 8, mask_zero = TRUE) %>%
    layer_global_average_pooling_1d() %>% layer_dense(1, activation = "sigmoid")
  m %>% compile(loss = "binary_crossentropy", optimizer = optimizer_adam(0.05), metrics = "accuracy")
  h <- fit(m, x, y, epochs = 30, batch_size = 32, verbose = 0)
  expect_gt(tail(h$metrics$accuracy, 1), 0.9)
})

test_that("bad input: clear errors naming the layer", {
  expect_error(layer_masking(mask_value = "a"), "`mask_value` must be a single finite number", fixed = TRUE)
  m <- keras_model_sequential(input_shape = 4) %>% layer_masking(name = "pad_mask")
  expect_error(count_params(m),
               "pad_mask: Masking takes input of shape (batch, steps, features), got (None, 4)", fixed = TRUE)
  inp <- layer_input(shape = 5)
  out <- inp %>% layer_embedding(9, 4, mask_zero = TRUE) %>% layer_batch_normalization(name = "bn")
  expect_error(keras_model(inp, out),
               "bn (BatchNormalization): rkeras does not yet support a masked input here", fixed = TRUE)
  # a layer that does not use masks drops it, as in Keras 3: flatten then dense works
  m <- keras_model_sequential(input_shape = 5) %>% layer_embedding(9, 4, mask_zero = TRUE) %>%
    layer_flatten() %>% layer_dense(1)
  expect_equal(dim(predict(m, matrix(c(0, 0, 1, 2, 3), 1))), c(1L, 1L))
})
