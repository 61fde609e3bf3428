# Convolution and pooling layers against Keras 3: tests/fixtures/keras/cnn/layers.json holds, per
# case, one layer's arguments, fixed weights, a fixed input and Keras 3's output
# (tests/interop/make_cnn_fixtures.py). rkeras builds the same layer, takes the same weights and
# must predict the same values within 1e-5.

cnn_fixture <- function() jsonlite::fromJSON(file.path(fixture_dir("keras", "cnn"), "layers.json"), simplifyVector = FALSE)

# A `{shape, data}` (data row-major, as numpy writes it) as an R array of that shape.
from_row_major <- function(a) {
  shape <- as.integer(unlist(a$shape))
  data <- as.numeric(unlist(a$data))
  if (length(shape) == 1) return(array(data, shape))
  aperm(array(data, rev(shape)), rev(seq_along(shape)))
}

# The rkeras layer function and its arguments for a fixture case.
cnn_layer_call <- function(case) {
  fn <- switch(case$class,
               Conv2D = layer_conv_2d, Conv1D = layer_conv_1d,
               MaxPooling2D = layer_max_pooling_2d, AveragePooling2D = layer_average_pooling_2d,
               MaxPooling1D = layer_max_pooling_1d, AveragePooling1D = layer_average_pooling_1d,
               GlobalMaxPooling1D = layer_global_max_pooling_1d, GlobalMaxPooling2D = layer_global_max_pooling_2d,
               GlobalAveragePooling1D = layer_global_average_pooling_1d,
               GlobalAveragePooling2D = layer_global_average_pooling_2d,
               stop("no rkeras layer for ", case$class))
  args <- lapply(case$args, function(a) if (is.list(a)) unlist(a) else a)
  list(fn = fn, args = args)
}

test_that("the fixture covers every padding, stride, dilation and pooling kind", {
  fx <- cnn_fixture()
  expect_equal(fx$keras_version, "3.15.1")
  classes <- vapply(fx$cases, `[[`, "", "class")
  expect_setequal(unique(classes), c("Conv2D", "Conv1D", "MaxPooling2D", "AveragePooling2D", "MaxPooling1D",
                                     "AveragePooling1D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
                                     "GlobalAveragePooling1D", "GlobalAveragePooling2D"))
  paddings <- unique(unlist(lapply(fx$cases, function(cs) cs$args$padding)))
  expect_setequal(paddings, c("same", "causal"))
})

test_that("conv and pooling layers predict like Keras 3 (within 1e-5) for every fixture case", {
  fx <- cnn_fixture()
  worst <- 0
  for (case in fx$cases) {
    x <- from_row_major(case$input)
    want <- from_row_major(case$output)
    call <- cnn_layer_call(case)
    k_clear_session()
    model <- keras_model_sequential(input_shape = dim(x)[-1])
    do.call(call$fn, c(list(model), call$args))
    if (length(case$weights)) set_weights(model, lapply(case$weights, from_row_major))
    got <- predict(model, x, verbose = 0)
    expect_identical(dim(got), dim(want), info = case$name)
    diff <- max(abs(got - want))
    expect_lt(diff, 1e-5, label = paste(case$name, "max |rkeras - keras|"))
    worst <- max(worst, diff)
    # the weights came back as set, in Keras' layout
    if (length(case$weights)) {
      w <- get_weights(model)
      expect_equal(lapply(w, dim), lapply(case$weights, function(a) as.integer(unlist(a$shape))), info = case$name)
      expect_equal(w[[1]], from_row_major(case$weights[[1]]), tolerance = 1e-7, info = case$name)
    }
  }
  expect_lt(worst, 1e-5)
})

test_that("conv output shapes and parameter counts in summary() equal Keras' for every fixture case", {
  fx <- cnn_fixture()
  for (case in fx$cases) {
    call <- cnn_layer_call(case)
    k_clear_session()
    in_shape <- as.integer(unlist(case$input$shape))[-1]
    model <- keras_model_sequential(input_shape = in_shape)
    do.call(call$fn, c(list(model), call$args))
    want <- as.integer(unlist(case$output$shape))[-1]
    n <- sum(vapply(case$weights, function(a) prod(as.numeric(unlist(a$shape))), 0))
    expect_equal(count_params(model), n, info = case$name)
    out <- capture.output(summary(model))
    shape <- paste0("(None, ", paste(want, collapse = ", "), ")")
    expect_true(any(grepl(shape, out, fixed = TRUE)), info = paste(case$name, shape))
  }
})
