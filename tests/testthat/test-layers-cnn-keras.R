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

# tests/fixtures/keras/summaries.json (tests/interop/make_summary_fixtures.py): Keras 3's summary
# text of keras' mnist_cnn example and of a Conv1D text model. A built sequential model's
# summary() prints the classic keras table (see ?format.rkeras_model); its Keras 3 table
# (format_keras3(), what functional and unbuilt models print) must equal Keras 3's text, and
# the classic table must show the same shapes and parameter counts.
classic_rows <- function(lines) {
  pattern <- "^(\\S+ \\(\\w+\\)) *(\\(None[^)]*\\)) +([0-9,]+) *$"
  rows <- regmatches(lines, regexec(pattern, lines))
  lapply(Filter(length, rows), function(r) c(r[2], r[3], gsub(",", "", r[4])))
}
keras3_rows <- function(lines) {
  rows <- grep("^\u2502 [^ ]", lines, value = TRUE)
  cells <- lapply(strsplit(rows, "\u2502"), function(r) trimws(r[2:4]))
  # a long "name (Class)" wraps onto the next line: join it back
  out <- list()
  for (i in seq_along(cells)) {
    if (cells[[i]][2] == "" && length(out)) {
      out[[length(out)]][1] <- paste(out[[length(out)]][1], cells[[i]][1])
    } else {
      out[[length(out) + 1]] <- c(cells[[i]][1], cells[[i]][2], gsub(",", "", cells[[i]][3]))
    }
  }
  out
}

test_that("summary() of mnist_cnn and of a Conv1D text model: Keras 3's text, shapes and parameter counts", {
  fx <- jsonlite::fromJSON(file.path(fixture_dir("keras"), "summaries.json"), simplifyVector = FALSE)$models
  k_clear_session()
  mnist <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu") %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_dropout(rate = 0.25) %>%
    layer_flatten() %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = 10, activation = "softmax")
  want <- strsplit(fx$mnist_cnn$text, "\n")[[1]]
  expect_true(any(grepl("Total params: 1,199,882 (4.58 MB)", want, fixed = TRUE)))
  expect_identical(rkeras:::format_keras3(mnist, 80), want)
  classic <- capture.output(summary(mnist))
  expect_identical(classic_rows(classic), keras3_rows(want))
  expect_true("Total params: 1,199,882" %in% classic)
  expect_equal(count_params(mnist), 1199882)
  k_clear_session()
  text <- keras_model_sequential(input_shape = c(100, 16)) %>%
    layer_conv_1d(32, 5, padding = "same", activation = "relu") %>%
    layer_max_pooling_1d(2) %>%
    layer_conv_1d(16, 3, padding = "causal", dilation_rate = 2) %>%
    layer_average_pooling_1d(3, strides = 2, padding = "same") %>%
    layer_conv_1d(8, 4, strides = 2, use_bias = FALSE) %>%
    layer_global_max_pooling_1d() %>%
    layer_dense(1, activation = "sigmoid")
  want <- strsplit(fx$text_cnn$text, "\n")[[1]]
  expect_identical(rkeras:::format_keras3(text, 80), want)
  expect_identical(classic_rows(capture.output(summary(text))), keras3_rows(want))
  expect_length(keras3_rows(want), 7)
})
