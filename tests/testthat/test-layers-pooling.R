test_that("pooling layers give keras' output shapes in summary and predict", {
  model <- keras_model_sequential(input_shape = c(7, 6, 2)) %>%
    layer_max_pooling_2d(name = "mp") %>%
    layer_average_pooling_2d(c(2, 3), strides = 1, padding = "same", name = "ap") %>%
    layer_global_max_pooling_2d(keepdims = TRUE, name = "gmp")
  out <- paste(capture.output(summary(model)), collapse = "\n")
  expect_match(out, "mp (MaxPooling2D)", fixed = TRUE)
  expect_match(out, "(None, 3, 3, 2)", fixed = TRUE)
  expect_match(out, "(None, 1, 1, 2)", fixed = TRUE)
  expect_equal(dim(predict(model, array(runif(3 * 7 * 6 * 2), c(3, 7, 6, 2)))), c(3L, 1L, 1L, 2L))

  m1 <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_max_pooling_1d(3, strides = 2) %>%
    layer_average_pooling_1d(2, padding = "same") %>% layer_global_average_pooling_1d()
  expect_equal(dim(predict(m1, array(runif(2 * 10 * 3), c(2, 10, 3)))), c(2L, 3L))
  x <- layer_input(shape = c(9, 4))
  expect_equal(dim(predict(keras_model(x, layer_global_max_pooling_1d(x, keepdims = TRUE)),
                           array(runif(2 * 36), c(2, 9, 4)))), c(2L, 1L, 4L))
})

test_that("pooling values on a tiny array match those computed by hand", {
  x <- array(0, c(2, 3, 3, 1))  # x[n, i, j, 1]: a magic square and its negation
  x[1, , , 1] <- matrix(c(4, 9, 2, 3, 5, 7, 8, 1, 6), 3)
  x[2, , , 1] <- -x[1, , , 1]
  mp <- keras_model_sequential(input_shape = c(3, 3, 1)) %>% layer_max_pooling_2d(2, strides = 1)
  p <- predict(mp, x)
  expect_equal(dim(p), c(2L, 2L, 2L, 1L))
  for (i in 1:2) for (j in 1:2) {
    expect_equal(p[1, i, j, 1], max(x[1, i:(i + 1), j:(j + 1), 1]))
    expect_equal(p[2, i, j, 1], max(x[2, i:(i + 1), j:(j + 1), 1]))
  }
  # "same" with stride 1: the window of the last row/column is cut by the border and
  # averages only the values it covers
  ap <- keras_model_sequential(input_shape = c(3, 3, 1)) %>%
    layer_average_pooling_2d(2, strides = 1, padding = "same")
  q <- predict(ap, x)
  for (i in 1:3) for (j in 1:3)
    expect_equal(q[1, i, j, 1], mean(x[1, i:min(i + 1, 3), j:min(j + 1, 3), 1]), tolerance = 1e-6)
  # 1d: keras' docs example, x = 1..5, pool 2, stride 1, same: 1.5 2.5 3.5 4.5 5
  a1 <- keras_model_sequential(input_shape = c(5, 1)) %>% layer_average_pooling_1d(2, strides = 1, padding = "same")
  expect_equal(as.vector(predict(a1, array(1:5, c(1, 5, 1)))), c(1.5, 2.5, 3.5, 4.5, 5))
  # global pooling per channel
  y <- array(c(1, 2, 3, 4, 10, 0, -3, 1), c(1, 2, 2, 2))
  g <- keras_model_sequential(input_shape = c(2, 2, 2)) %>% layer_global_average_pooling_2d()
  expect_equal(predict(g, y), matrix(c(2.5, 2), 1), tolerance = 1e-6)
  g <- keras_model_sequential(input_shape = c(2, 2, 2)) %>% layer_global_max_pooling_2d()
  expect_equal(predict(g, y), matrix(c(4, 10), 1))
})

test_that("pooling errors name the layer and the shapes", {
  # shapes are checked when the model is built (summary, predict, keras_model)
  expect_error(summary(keras_model_sequential(input_shape = c(2, 2, 1)) %>% layer_max_pooling_2d(3, name = "pool")),
               "pool: MaxPooling2D pool_size (3, 3) is larger than the input (None, 2, 2, 1)", fixed = TRUE)
  expect_error(summary(keras_model_sequential(input_shape = c(4, 4)) %>% layer_max_pooling_2d(name = "m")),
               "m: MaxPooling2D takes 4-d input (batch, rows, cols, channels), got shape (None, 4, 4)", fixed = TRUE)
  x <- layer_input(shape = c(4, 4, 3))
  expect_error(keras_model(x, layer_global_average_pooling_1d(x, name = "g")),
               "g: GlobalAveragePooling1D takes 3-d input", fixed = TRUE)
  expect_error(layer_max_pooling_1d(pool_size = 0), "`pool_size` must be a positive whole number")
  expect_error(layer_average_pooling_2d(pool_size = c(2, 2, 2)), "`pool_size` must be a positive whole number or 2")
  expect_error(layer_max_pooling_2d(strides = -1), "`strides`")
  expect_error(layer_max_pooling_2d(padding = "full"), "`padding` must be \"valid\" or \"same\"")
  expect_error(layer_max_pooling_2d(data_format = NA), "`data_format` must be \"channels_last\" or \"channels_first\"")
  expect_error(layer_global_max_pooling_2d(keepdims = NA), "`keepdims` must be TRUE or FALSE")
  expect_error(layer_global_max_pooling_2d(kepdims = TRUE), "unknown argument `kepdims`")
})

test_that("pooling layers survive saving and loading (HDF5 and .keras)", {
  m <- keras_model_sequential(input_shape = c(6, 6, 2)) %>%
    layer_max_pooling_2d(strides = 1, padding = "same") %>% layer_average_pooling_2d(c(2, 3)) %>%
    layer_global_max_pooling_2d(keepdims = TRUE)
  x <- array(runif(2 * 72), c(2, 6, 6, 2))
  f <- tempfile(fileext = ".h5")
  on.exit(unlink(f))
  save_model_hdf5(m, f)
  expect_equal(predict(suppressWarnings(load_model_hdf5(f)), x), predict(m, x))
  f2 <- tempfile(fileext = ".keras")
  on.exit(unlink(f2), add = TRUE)
  save_model(m, f2)
  expect_equal(predict(load_model(f2), x), predict(m, x))
})
