# Building models: layers, names, shapes, summary.

tutorial_model <- function() {
  model <- keras_model_sequential()
  model %>%
    layer_dense(units = 256, activation = "relu", input_shape = c(784)) %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.3) %>%
    layer_dense(units = 10, activation = "softmax")
  model
}

test_that("the tutorial model has keras' summary with 235,146 parameters", {
  k_clear_session()
  model <- tutorial_model()
  out <- capture.output(summary(model))
  expect_equal(out[1], 'Model: "sequential"')
  expect_true(any(grepl("^Layer \\(type\\) +Output Shape +Param #", out)))
  expect_true(any(grepl("^dense \\(Dense\\) +\\(None, 256\\) +200960", out)))
  expect_true(any(grepl("^dropout \\(Dropout\\) +\\(None, 256\\) +0", out)))
  expect_true(any(grepl("^dense_1 \\(Dense\\) +\\(None, 128\\) +32896", out)))
  expect_true(any(grepl("^dense_2 \\(Dense\\) +\\(None, 10\\) +1290", out)))
  expect_true("Total params: 235,146" %in% out)
  expect_true("Trainable params: 235,146" %in% out)
  expect_true("Non-trainable params: 0" %in% out)
  expect_equal(count_params(model), 235146)
  expect_identical(capture.output(print(model)), out)
})

test_that("layer functions change the model in place and auto-names follow keras", {
  k_clear_session()
  model <- keras_model_sequential(input_shape = 3)
  model %>% layer_dense(4) %>% layer_dense(2)
  expect_equal(vapply(model$layer_specs, `[[`, "", "name"), c("dense", "dense_1"))
  expect_equal(model$name, "sequential")
  m2 <- keras_model_sequential()
  expect_equal(m2$name, "sequential_1")
  k_clear_session()
  m3 <- keras_model_sequential(input_shape = 3) %>% layer_dense(1)
  expect_equal(m3$layer_specs[[1]]$name, "dense")
})

test_that("layers can be given as a list and with input_shape on the model", {
  model <- keras_model_sequential(list(layer_dense(units = 5, activation = "relu"), layer_dense(units = 1)),
                                  input_shape = 7)
  expect_equal(dim(predict(model, matrix(0, 2, 7))), c(2L, 1L))
})

test_that("duplicate layer names and misplaced input shapes are errors", {
  model <- keras_model_sequential(input_shape = 3) %>% layer_dense(2, name = "a")
  expect_error(model %>% layer_dense(2, name = "a"), "unique.*\"a\"")
  expect_error(model %>% layer_dense(2, input_shape = 5), "first layer")
  expect_error(layer_dense(model, units = 0), "units")
  expect_error(layer_dropout(model, rate = 1), "rate")
  expect_error(layer_dense(model, 2, activation = "relux"), "relux")
})

test_that("an unbuilt model says so, and builds from the data", {
  model <- keras_model_sequential() %>% layer_dense(2)
  expect_true(any(grepl("0 \\(unbuilt\\)", format(model))))
  expect_error(count_params(model), "no input shape")
  expect_identical(dim(predict(model, matrix(1, 1, 3), verbose = 0)), c(1L, 2L))
  expect_identical(count_params(model), 8)
})

test_that("functional chains build the same model with named layers", {
  k_clear_session()
  inputs <- layer_input(shape = c(784), name = "pixels")
  outputs <- inputs %>%
    layer_dense(units = 256, activation = "relu", name = "fc_1") %>%
    layer_dropout(rate = 0.4, name = "dropout_1") %>%
    layer_dense(units = 10, activation = "softmax", name = "output")
  model <- keras_model(inputs, outputs)
  out <- capture.output(summary(model))
  expect_equal(out[1], 'Model: "functional"')
  # Keras 3's table (test-model-functional.R checks it against Keras character for character)
  expect_true(any(grepl("pixels \\(InputLayer\\) +\u2502 \\(None, 784\\) +\u2502 +0 \u2502", out)))
  expect_true(any(grepl("fc_1 \\(Dense\\) +\u2502 \\(None, 256\\) +\u2502 +200,960 \u2502", out)))
  expect_equal(count_params(model), 200960 + 2570)
  expect_error(keras_model(layer_input(shape = 3), outputs), "Graph disconnected")
  expect_error(inputs %>% layer_dense(2, name = "pixels"), "unique")
})

test_that("layer_flatten is row-major, like array_reshape", {
  x <- array(runif(2 * 4 * 5), c(2, 4, 5))
  model <- keras_model_sequential(input_shape = c(4, 5)) %>% layer_flatten() %>%
    layer_activation("linear")
  expect_equal(predict(model, x), array_reshape(x, c(2, 20)), tolerance = 1e-6)
  expect_equal(predict(model, x)[2, (3 - 1) * 5 + 4], x[2, 3, 4], tolerance = 1e-6)
})

test_that("dense layers apply on the last axis of 3-d input", {
  model <- keras_model_sequential(input_shape = c(3, 4)) %>%
    layer_dense(2, use_bias = FALSE, kernel_initializer = "ones")
  x <- array(1:24, c(2, 3, 4))
  p <- predict(model, x)
  expect_equal(dim(p), c(2L, 3L, 2L))
  expect_equal(p[2, 3, 1], sum(x[2, 3, ]))
})

test_that("activations compute keras' functions", {
  x <- matrix(c(-2, -0.5, 0, 0.5, 2), 1)
  act <- function(name) {
    m <- keras_model_sequential(input_shape = 5) %>% layer_activation(name)
    as.vector(predict(m, x))
  }
  expect_equal(act("relu"), pmax(x[1, ], 0), tolerance = 1e-6)
  expect_equal(act("sigmoid"), 1 / (1 + exp(-x[1, ])), tolerance = 1e-6)
  expect_equal(act("tanh"), tanh(x[1, ]), tolerance = 1e-6)
  expect_equal(act("softmax"), exp(x[1, ]) / sum(exp(x[1, ])), tolerance = 1e-6)
  expect_equal(act("softplus"), log1p(exp(x[1, ])), tolerance = 1e-6)
  expect_equal(act("elu"), ifelse(x[1, ] > 0, x[1, ], exp(x[1, ]) - 1), tolerance = 1e-6)
  expect_equal(act("linear"), x[1, ], tolerance = 1e-6)
})

test_that("initializers follow keras: glorot_uniform limits, zeros and constants", {
  set.seed(3)
  model <- keras_model_sequential(input_shape = 784) %>% layer_dense(256) %>%
    layer_dense(3, kernel_initializer = initializer_constant(0.5), bias_initializer = "ones")
  ptr <- rkeras:::model_ptr(model)
  w <- rkeras:::rk_get_weights(ptr)
  lim <- sqrt(6 / (784 + 256))
  expect_lte(max(abs(w[[1]])), lim)
  expect_gt(max(abs(w[[1]])), 0.99 * lim)
  expect_equal(dim(w[[1]]), c(784L, 256L))
  expect_true(all(w[[2]] == 0))
  expect_true(all(w[[3]] == 0.5))
  expect_true(all(w[[4]] == 1))
})

test_that("an absurdly large layer is an error, not a crash", {
  model <- keras_model_sequential(input_shape = 784) %>% layer_dense(1e9)
  expect_error(compile(model, loss = "mse", optimizer = "sgd"), "784 x 1000000000 kernel.*too many")
})
