# Convolution layers: shapes, Keras parameter counts, training, argument errors.

test_that("a conv_2d model has keras' summary and parameter counts", {
  k_clear_session()
  model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu") %>%
    layer_conv_2d(filters = 8, kernel_size = 3, strides = 2, padding = "same") %>%
    layer_flatten() %>%
    layer_dense(units = 10, activation = "softmax")
  out <- capture.output(summary(model))
  expect_true(any(grepl("^conv2d \\(Conv2D\\) +\\(None, 26, 26, 32\\) +320", out)))
  # 3*3*32*8 + 8 = 2312; ceiling(26 / 2) = 13
  expect_true(any(grepl("^conv2d_1 \\(Conv2D\\) +\\(None, 13, 13, 8\\) +2,?312", out)))
  expect_true(any(grepl("^flatten \\(Flatten\\) +\\(None, 1352\\) +0", out)))
  expect_equal(count_params(model), 320 + 2312 + 1352 * 10 + 10)
  w <- get_weights(model)
  expect_equal(dim(w[[1]]), c(3, 3, 1, 32))
  expect_equal(dim(w[[3]]), c(3, 3, 32, 8))
})

test_that("a small conv_2d model fits and predicts with the right output shape", {
  k_clear_session()
  set.seed(1)
  n <- 64
  x <- array(runif(n * 8 * 8), c(n, 8, 8, 1))
  # class: bright top half or bright bottom half
  y <- as.integer(apply(x[, 1:4, , 1], 1, sum) > apply(x[, 5:8, , 1], 1, sum))
  x[y == 1, 1:4, , 1] <- x[y == 1, 1:4, , 1] + 1
  model <- keras_model_sequential(input_shape = c(8, 8, 1)) %>%
    layer_conv_2d(4, c(3, 3), padding = "same", activation = "relu") %>%
    layer_conv_2d(4, 3, strides = 2, dilation_rate = 1) %>%
    layer_flatten() %>%
    layer_dense(2, activation = "softmax")
  model %>% compile(optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  h <- model %>% fit(x, y, epochs = 30, batch_size = 16, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), h$metrics$loss[1])
  p <- predict(model, x, verbose = 0)
  expect_equal(dim(p), c(n, 2))
  expect_gt(mean(max.col(p) - 1 == y), 0.9)
})

test_that("conv_1d works in sequential and functional models, with causal padding", {
  k_clear_session()
  inp <- layer_input(shape = c(10, 3))
  out <- inp %>% layer_conv_1d(5, 3, padding = "causal", dilation_rate = 2) %>% layer_conv_1d(2, 4)
  model <- keras_model(inp, out)
  expect_equal(count_params(model), 3 * 3 * 5 + 5 + 4 * 5 * 2 + 2)
  p <- predict(model, array(rnorm(2 * 10 * 3), c(2, 10, 3)), verbose = 0)
  expect_equal(dim(p), c(2, 7, 2))
  # causal: output step 1 sees only input step 1, so changing later steps leaves it alone
  m1 <- keras_model_sequential(input_shape = c(6, 1)) %>% layer_conv_1d(1, 3, padding = "causal")
  x <- array(rnorm(6), c(1, 6, 1))
  x2 <- x
  x2[1, 2:6, 1] <- x2[1, 2:6, 1] + 5
  expect_equal(predict(m1, x, verbose = 0)[1, 1, 1], predict(m1, x2, verbose = 0)[1, 1, 1])
})

test_that("conv arguments and shapes give clear errors", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = 784) %>% layer_conv_2d(4, 3)
  expect_error(count_params(m), "conv2d \\(Conv2D\\): expects input of shape \\(height, width, channels\\).*array_reshape")
  m <- keras_model_sequential(input_shape = c(4, 4, 1)) %>% layer_conv_2d(4, 5)
  expect_error(summary(m), "conv2d_1 \\(Conv2D\\): kernel_size \\(5, 5\\).*larger than the input \\(4, 4\\)")
  m <- keras_model_sequential(input_shape = c(28, 28, 1)) %>% layer_conv_2d(2, 3) %>% layer_flatten() %>%
    layer_dense(1)
  m %>% compile(optimizer = "sgd", loss = "mse")
  expect_error(fit(m, matrix(0, 4, 784), 1:4, verbose = 0),
               "x has 784 columns.*array_reshape\\(x, c\\(nrow\\(x\\), 28, 28, 1\\)\\)")
  expect_error(layer_conv_2d(filters = 0, kernel_size = 3), "filters")
  expect_error(layer_conv_2d(filters = 2, kernel_size = c(3, 3, 3)), "kernel_size")
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, padding = "causal"), "padding")
  expect_error(layer_conv_2d(filters = 2, kernel_size = 3, data_format = "first"), "`data_format` must be")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, strides = 0), "strides")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, kernel_regularizer = "l2"), "not supported")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, input_shap = c(4, 1)), "unknown argument")
})
