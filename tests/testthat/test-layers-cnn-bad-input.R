# Bad input to the convolution and pooling layers (issue 14): R errors that name the layer (or
# the R function) and the shapes; nothing crashes and a failed call leaves the model as it was.

test_that("a kernel or pool larger than the input is an error naming the layer and both shapes", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = c(4, 4, 1)) %>% layer_conv_2d(4, 5, name = "big")
  expect_error(count_params(m), "big (Conv2D): kernel_size (5, 5) with dilation_rate (1, 1) is larger than the input (4, 4) with padding 'valid'",
               fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(5, 5, 2)) %>% layer_conv_2d(4, 3, dilation_rate = c(1, 3), name = "dil")
  expect_error(summary(m), "dil (Conv2D): kernel_size (3, 3) with dilation_rate (1, 3) is larger than the input (5, 5)",
               fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(4, 2)) %>% layer_conv_1d(4, 5, name = "c1")
  expect_error(count_params(m), "c1 (Conv1D): kernel_size (5) with dilation_rate (1) is larger than the input (4)", fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(3, 3, 1)) %>% layer_max_pooling_2d(4, name = "mp")
  expect_error(count_params(m), "mp: MaxPooling2D pool_size (4, 4) is larger than the input (None, 3, 3, 1)", fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(3, 1)) %>% layer_average_pooling_1d(4, name = "ap")
  expect_error(count_params(m), "ap: AveragePooling1D pool_size (4) is larger than the input (None, 3, 1)", fixed = TRUE)
  # functional: the error comes when the model is made
  inp <- layer_input(shape = c(4, 4, 1))
  expect_error(keras_model(inp, layer_conv_2d(inp, 2, c(2, 6), name = "wide")),
               "wide (Conv2D): kernel_size (2, 6)", fixed = TRUE)
  # with padding = "same" (and "causal") a large kernel is fine, as in Keras
  m <- keras_model_sequential(input_shape = c(4, 4, 1)) %>% layer_conv_2d(2, 7, strides = 3, padding = "same")
  expect_equal(dim(predict(m, array(1, c(1, 4, 4, 1)), verbose = 0)), c(1, 2, 2, 2))
  m <- keras_model_sequential(input_shape = c(4, 1)) %>% layer_conv_1d(1, 6, padding = "causal")
  expect_equal(dim(predict(m, array(1, c(1, 4, 1)), verbose = 0)), c(1, 4, 1))
  m <- keras_model_sequential(input_shape = c(3, 3, 1)) %>% layer_max_pooling_2d(5, padding = "same")
  expect_equal(predict(m, array(1:9, c(1, 3, 3, 1)), verbose = 0)[1, , , 1], 9)
})

test_that("strides, kernel, pool sizes and dilation of 0 or less are errors naming the function", {
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, strides = 0),
               "layer_conv_2d(): `strides` must be a positive whole number or 2 of them, got numeric 0", fixed = TRUE)
  expect_error(layer_conv_2d(filters = 2, kernel_size = c(3, -1)),
               "layer_conv_2d(): `kernel_size` must be a positive whole number or 2 of them, got c(3, -1)", fixed = TRUE)
  expect_error(layer_conv_2d(filters = 2, kernel_size = 0), "`kernel_size` must be a positive whole number")
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, dilation_rate = c(0, 1)), "`dilation_rate`.*got c\\(0, 1\\)")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, strides = -1),
               "layer_conv_1d(): `strides` must be a positive whole number, got numeric -1", fixed = TRUE)
  expect_error(layer_conv_1d(filters = 2, kernel_size = 2.5), "layer_conv_1d(): `kernel_size`", fixed = TRUE)
  expect_error(layer_conv_1d(filters = 2, kernel_size = NA), "`kernel_size`")
  expect_error(layer_conv_2d(filters = 0, kernel_size = 3),
               "layer_conv_2d(): `filters` must be a positive whole number, got numeric 0", fixed = TRUE)
  expect_error(layer_conv_2d(filters = -3, kernel_size = 3), "layer_conv_2d(): `filters`", fixed = TRUE)
  expect_error(layer_conv_1d(filters = 2.5, kernel_size = 3), "layer_conv_1d(): `filters`", fixed = TRUE)
  expect_error(layer_max_pooling_2d(pool_size = 0),
               "layer_max_pooling_2d(): `pool_size` must be a positive whole number or 2 of them, got numeric 0", fixed = TRUE)
  expect_error(layer_max_pooling_2d(pool_size = c(2, 0)), "`pool_size`.*got c\\(2, 0\\)")
  expect_error(layer_average_pooling_2d(pool_size = 2, strides = c(1, -2)), "layer_average_pooling_2d\\(\\): `strides`")
  expect_error(layer_max_pooling_1d(pool_size = 2, strides = 0),
               "layer_max_pooling_1d(): `strides` must be a positive whole number, got numeric 0", fixed = TRUE)
  expect_error(layer_average_pooling_1d(pool_size = -2), "layer_average_pooling_1d(): `pool_size`", fixed = TRUE)
})

test_that("negative (or numeric) padding is an error naming the function and the valid values", {
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, padding = -1),
               "layer_conv_2d(): `padding` must be \"valid\" or \"same\", got numeric -1", fixed = TRUE)
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, padding = c(-1, 2)),
               "layer_conv_2d(): `padding` must be \"valid\" or \"same\", got numeric of length 2", fixed = TRUE)
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, padding = -1),
               "layer_conv_1d(): `padding` must be \"valid\" or \"same\" or \"causal\", got numeric -1", fixed = TRUE)
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, padding = "causal"), "layer_conv_2d(): `padding`", fixed = TRUE)
  expect_error(layer_max_pooling_2d(padding = -1),
               "layer_max_pooling_2d(): `padding` must be \"valid\" or \"same\", got numeric -1", fixed = TRUE)
  expect_error(layer_average_pooling_1d(pool_size = 2, padding = -2L), "layer_average_pooling_1d(): `padding`", fixed = TRUE)
  # Keras' upper case spelling is accepted
  m <- keras_model_sequential(input_shape = c(5, 5, 1)) %>% layer_conv_2d(1, 3, padding = "SAME")
  expect_equal(dim(predict(m, array(0, c(1, 5, 5, 1)), verbose = 0)), c(1, 5, 5, 1))
})

test_that("a matrix (or an image array without its channel axis) into layer_conv_2d says how to reshape", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = c(28, 28, 1)) %>% layer_conv_2d(4, 3) %>% layer_flatten() %>%
    layer_dense(2, activation = "softmax")
  compile(m, optimizer = "sgd", loss = "categorical_crossentropy")
  x <- matrix(runif(3 * 784), 3)
  hint <- "x has 784 columns, the model expects per-sample shape (28, 28, 1); reshape it first: array_reshape(x, c(nrow(x), 28, 28, 1))"
  expect_error(predict(m, x, verbose = 0), hint, fixed = TRUE)
  expect_error(fit(m, x, to_categorical(c(0, 1, 0), 2), verbose = 0), hint, fixed = TRUE)
  expect_error(evaluate(m, x, to_categorical(c(0, 1, 0), 2), verbose = 0), hint, fixed = TRUE)
  expect_error(predict(m, array(0, c(3, 28, 28)), verbose = 0),
               "x has per-sample shape (28, 28), the model expects per-sample shape (28, 28, 1); reshape it first: array_reshape(x, c(dim(x)[1], 28, 28, 1))",
               fixed = TRUE)
  # the hint is right: the reshaped data predicts
  expect_equal(dim(predict(m, array_reshape(x, c(nrow(x), 28, 28, 1)), verbose = 0)), c(3, 2))
  # a different size is a plain shape error, without a reshape hint
  err <- tryCatch(predict(m, array(0, c(3, 20, 20, 1)), verbose = 0), error = conditionMessage)
  expect_match(err, "x has per-sample shape (20, 20, 1), the model expects per-sample shape (28, 28, 1)", fixed = TRUE)
  expect_no_match(err, "reshape")
  expect_error(predict(m, array(0, c(3, 28, 28, 3)), verbose = 0), "per-sample shape \\(28, 28, 3\\)")
  # an input shape of the wrong rank: the layer says what it expects
  m <- keras_model_sequential(input_shape = 784) %>% layer_conv_2d(4, 3, name = "c2")
  expect_error(count_params(m),
               "c2 (Conv2D): expects input of shape (height, width, channels) per sample, got (784) (rank 2 instead of 4); images stored one per row of a matrix must be reshaped first, e.g. array_reshape(x, c(n, 28, 28, 1))",
               fixed = TRUE)
  inp <- layer_input(shape = 784)
  expect_error(keras_model(inp, layer_conv_2d(inp, 4, 3)), "array_reshape\\(x, c\\(n, 28, 28, 1\\)\\)")
  m <- keras_model_sequential(input_shape = c(28, 28)) %>% layer_conv_2d(4, 3, name = "c3")
  expect_error(count_params(m), "c3 (Conv2D): expects input of shape (height, width, channels) per sample, got (28, 28)",
               fixed = TRUE)
  m <- keras_model_sequential(input_shape = 10) %>% layer_conv_1d(4, 3, name = "c4")
  expect_error(count_params(m), "c4 (Conv1D): expects input of shape (steps, channels) per sample, got (10)", fixed = TRUE)
  m <- keras_model_sequential(input_shape = c(28, 28)) %>% layer_max_pooling_2d(name = "p2")
  expect_error(count_params(m), "p2: MaxPooling2D takes 4-d input (batch, rows, cols, channels), got shape (None, 28, 28)",
               fixed = TRUE)
  m <- keras_model_sequential(input_shape = 28) %>% layer_global_average_pooling_1d(name = "g1")
  expect_error(count_params(m), "g1: GlobalAveragePooling1D takes 3-d input (batch, steps, features), got shape (None, 28)",
               fixed = TRUE)
})

test_that("weights whose channels do not match the layer: errors naming the weight and shapes, model unchanged", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = c(6, 6, 1)) %>% layer_conv_2d(4, 3, name = "conv") %>%
    layer_max_pooling_2d() %>% layer_flatten() %>% layer_dense(2, name = "out")
  x <- array(runif(2 * 36), c(2, 6, 6, 1))
  before <- predict(m, x, verbose = 0)
  w <- get_weights(m)
  bad <- function(i, a) { w[[i]] <- a; w }
  expect_error(set_weights(m, bad(1, array(0, c(3, 3, 3, 4)))),
               "set_weights(): weights[[1]] (conv/kernel) must have shape (3, 3, 1, 4), got shape (3, 3, 3, 4)", fixed = TRUE)
  expect_error(set_weights(m, bad(1, array(0, c(3, 3, 1, 5)))), "(conv/kernel) must have shape (3, 3, 1, 4), got shape (3, 3, 1, 5)",
               fixed = TRUE)
  expect_error(set_weights(m, bad(1, array(0, c(9, 1, 4)))), "got shape (9, 1, 4)", fixed = TRUE)
  expect_error(set_weights(m, bad(2, rep(0, 5))), "weights[[2]] (conv/bias) must have shape (4), got shape (5)", fixed = TRUE)
  expect_error(set_weights(m, bad(3, matrix(0, 64, 2))), "weights[[3]] (out/kernel) must have shape (16, 2), got shape (64, 2)",
               fixed = TRUE)
  expect_error(set_weights(m, w[1:2]), "the model has 4 weight arrays, 2 were given", fixed = TRUE)
  expect_identical(predict(m, x, verbose = 0), before)
  # a weights file of a model with other channels
  other <- keras_model_sequential(input_shape = c(6, 6, 3)) %>% layer_conv_2d(4, 3, name = "conv") %>%
    layer_max_pooling_2d() %>% layer_flatten() %>% layer_dense(2, name = "out")
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_weights_hdf5(other, f)
  expect_error(load_model_weights_hdf5(m, f),
               "Shape mismatch in layer #0 (named conv) for weight conv/kernel. Weight expects shape (3, 3, 1, 4). Received saved weight with shape (3, 3, 3, 4)",
               fixed = TRUE)
  expect_identical(predict(m, x, verbose = 0), before)
})

test_that("a Keras file with impossible conv or pooling arguments is a clear error", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = c(6, 6, 2)) %>% layer_conv_2d(3, c(3, 3), name = "cv") %>%
    layer_max_pooling_2d(c(2, 2), name = "mp")
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  bytes <- readBin(f, "raw", file.size(f))
  # the model config is stored as text: change it in place, keeping its length
  patched <- function(from, to) {
    at <- grepRaw(from, bytes, fixed = TRUE)
    expect_length(at, 1)
    b <- bytes
    b[at:(at + nchar(from) - 1)] <- charToRaw(to)
    g <- tempfile(fileext = ".h5")
    writeBin(b, g)
    g
  }
  expect_error(load_model_hdf5(patched('"strides": [1, 1]', '"strides": [0, 1]')),
               "layer 'cv' (Conv2D): strides must be 2 positive integer(s), got [0, 1]", fixed = TRUE)
  expect_error(load_model_hdf5(patched('"kernel_size": [3, 3]', '"kernel_size": [9, 3]')),
               "cv (Conv2D): kernel_size (9, 3) with dilation_rate (1, 1) is larger than the input (6, 6)", fixed = TRUE)
  expect_error(load_model_hdf5(patched('"pool_size": [2, 2]', '"pool_size": [0, 2]')),
               "layer 'mp' (MaxPooling2D): `pool_size` must be 2 positive integer(s), got [0, 2]", fixed = TRUE)
  expect_error(load_model_hdf5(patched('"filters": 3', '"filters": 0')), "layer 'cv' (Conv2D): `filters`", fixed = TRUE)
})
