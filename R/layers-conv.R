# Convolution layers: layer_conv_1d(), layer_conv_2d(), the transposed, depthwise and separable ones.

# An integer tuple argument of a conv layer: one whole number (repeated) or `rank` of them,
# each at least `min` (1: positive; 0: non-negative).
conv_tuple <- function(x, name, rank, fn, min = 1) {
  if (is.list(x)) x <- unlist(x)
  if (!is.numeric(x) || !(length(x) %in% c(1L, rank)) || anyNA(x) || any(!is.finite(x)) ||
      any(x != round(x)) || any(x < min) || any(x > .Machine$integer.max)) {
    what <- if (min > 0) "a positive whole number" else "a non-negative whole number"
    stop_arg(fn, "(): `", name, "` must be ", if (rank == 1) what else paste0(what, " or ", rank, " of them"),
             ", got ", describe_sizes(x))
  }
  as.list(rep_len(as.integer(x), rank))
}

# A size argument as the user gave it: short numeric vectors show their values.
describe_sizes <- function(x) {
  if (is.numeric(x) && length(x) %in% 2:4) paste0("c(", paste(x, collapse = ", "), ")") else describe_value(x)
}

conv_layer <- function(object, fn, class_name, prefix, rank, filters, kernel_size, strides, padding,
                       data_format, dilation_rate, groups, activation, use_bias, kernel_initializer,
                       bias_initializer, unsupported, dots, name) {
  given <- names(Filter(Negate(is.null), unsupported))
  if (length(given)) stop_arg(fn, "(): ", paste0("`", given, "`", collapse = ", "), " not supported yet")
  check_dots(dots, c("input_shape", "batch_input_shape", "batch_size", "dtype", "trainable", "weights"), fn = fn)
  data_format <- check_data_format(data_format, fn)
  groups <- check_count(groups, "groups")
  paddings <- if (rank == 1) c("valid", "same", "causal") else c("valid", "same")
  if (!is.numeric(filters) || length(filters) != 1 || !is.finite(filters) || filters != round(filters) ||
      filters < 1 || filters > .Machine$integer.max)
    stop_arg(fn, "(): `filters` must be a positive whole number, got ", describe_value(filters))
  pad <- if (is.character(padding) && length(padding) == 1 && !is.na(padding)) tolower(padding) else ""
  if (!pad %in% paddings)
    stop_arg(fn, "(): `padding` must be ", paste0("\"", paddings, "\"", collapse = " or "), ", got ",
             describe_value(padding))
  args <- list(filters = as.integer(filters),
               kernel_size = conv_tuple(kernel_size, "kernel_size", rank, fn),
               strides = conv_tuple(strides, "strides", rank, fn),
               padding = pad,
               dilation_rate = conv_tuple(dilation_rate, "dilation_rate", rank, fn),
               activation = activation_name(activation),
               use_bias = check_flag(use_bias, "use_bias"),
               kernel_initializer = initializer_spec(kernel_initializer, "kernel_initializer"),
               bias_initializer = initializer_spec(bias_initializer, "bias_initializer"),
               data_format = data_format, groups = groups)
  make_layer(object, class_name, prefix, args, name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}

#' 2D convolution layer
#'
#' Convolves `filters` kernels of size `kernel_size` over the height and width of an input
#' `(batch, height, width, channels)` (channels last), giving `(batch, new_height, new_width,
#' filters)`; then adds the bias and applies the activation. The kernel has shape
#' `(kernel_height, kernel_width, channels, filters)`, as in Keras.
#'
#' Images stored one per row of a matrix must be reshaped first, for example
#' `array_reshape(x, c(nrow(x), 28, 28, 1))`.
#'
#' @inheritParams layer_dense
#' @param filters Number of output channels.
#' @param kernel_size Height and width of the kernel: one whole number or two.
#' @param strides Strides along height and width: one whole number or two.
#' @param padding `"valid"` (no padding) or `"same"` (zero padding so that the output has
#'   `ceiling(input / strides)` positions).
#' @param data_format `NULL` or `"channels_last"` (input `(batch, height, width, channels)`), or
#'   `"channels_first"` (input `(batch, channels, height, width)`, output `(batch, filters,
#'   new_height, new_width)`; the kernel keeps its shape).
#' @param dilation_rate Dilation along height and width: one whole number or two.
#' @param groups Number of groups the input channels and the filters are split into, each group
#'   of filters convolving its group of channels only; it must divide both. The kernel then has
#'   shape `(kernel_height, kernel_width, channels / groups, filters)`.
#' @param ... `input_shape` (for the first layer), `batch_input_shape`, `trainable`; `batch_size`,
#'   `dtype` and `weights` are accepted for compatibility.
#' @param name Layer name (default `conv2d`, `conv2d_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
#'   layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu") %>%
#'   layer_flatten() %>%
#'   layer_dense(units = 10, activation = "softmax")
layer_conv_2d <- function(object, filters, kernel_size, strides = c(1L, 1L), padding = "valid",
                          data_format = NULL, dilation_rate = c(1L, 1L), groups = 1L, activation = NULL,
                          use_bias = TRUE, kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, ..., name = NULL) {
  conv_layer(object, "layer_conv_2d", "Conv2D", "conv2d", 2L, filters, kernel_size, strides, padding,
             data_format, dilation_rate, groups, activation, use_bias, kernel_initializer, bias_initializer,
             list(kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                  activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                  bias_constraint = bias_constraint), list(...), name)
}

#' 1D convolution layer
#'
#' Convolves `filters` kernels of length `kernel_size` along the steps of an input
#' `(batch, steps, channels)` (channels last), giving `(batch, new_steps, filters)`. The
#' kernel has shape `(kernel_size, channels, filters)`, as in Keras.
#'
#' @inheritParams layer_conv_2d
#' @param kernel_size Length of the kernel.
#' @param strides Stride along the steps.
#' @param padding `"valid"`, `"same"` or `"causal"` (zero padding on the left only, so that
#'   output step `t` sees input steps up to `t`).
#' @param dilation_rate Dilation along the steps.
#' @param name Layer name (default `conv1d`, `conv1d_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(100, 3)) %>%
#'   layer_conv_1d(filters = 8, kernel_size = 5, activation = "relu")
layer_conv_1d <- function(object, filters, kernel_size, strides = 1L, padding = "valid", data_format = NULL,
                          dilation_rate = 1L, groups = 1L, activation = NULL, use_bias = TRUE,
                          kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                          kernel_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, ..., name = NULL) {
  conv_layer(object, "layer_conv_1d", "Conv1D", "conv1d", 1L, filters, kernel_size, strides, padding,
             data_format, dilation_rate, groups, activation, use_bias, kernel_initializer, bias_initializer,
             list(kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                  activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                  bias_constraint = bias_constraint), list(...), name)
}

# The regularizer and constraint arguments rkeras does not implement yet: an error naming them.
conv_unsupported <- function(fn, unsupported) {
  given <- names(Filter(Negate(is.null), unsupported))
  if (length(given)) stop_arg(fn, "(): ", paste0("`", given, "`", collapse = ", "), " not supported yet")
}

# kernel_size, strides, padding, dilation_rate, data_format of a 2d convolution layer.
conv2d_shape_args <- function(fn, kernel_size, strides, padding, data_format, dilation_rate) {
  list(kernel_size = conv_tuple(kernel_size, "kernel_size", 2L, fn),
       strides = conv_tuple(strides, "strides", 2L, fn),
       padding = check_choice(tolower(check_string(padding, "padding")), "padding", c("valid", "same")),
       dilation_rate = conv_tuple(dilation_rate, "dilation_rate", 2L, fn),
       data_format = check_data_format(data_format, fn))
}

conv_dots <- c("input_shape", "batch_input_shape", "batch_size", "dtype", "trainable", "weights")

#' 2D transposed convolution layer
#'
#' The transpose of a 2D convolution (sometimes called deconvolution): it maps an input
#' `(batch, height, width, channels)` to `(batch, new_height, new_width, filters)` with the
#' connectivity of a convolution going the other way, as used to upsample feature maps. Each
#' input position adds its channels times the kernel to a `kernel_size` window of the output,
#' windows `strides` apart. The kernel has shape `(kernel_height, kernel_width, filters,
#' channels)`, as in Keras.
#'
#' Output size per spatial axis (input size `n`, `k = (kernel_size - 1) * dilation_rate + 1`):
#' with `padding = "valid"`, `(n - 1) * strides + k + output_padding` (`output_padding`
#' defaulting to `max(k, strides) - k`); with `"same"`, `n * strides`, or
#' `(n - 1) * strides + k %% 2 + output_padding` when `output_padding` is given.
#'
#' @inheritParams layer_conv_2d
#' @param output_padding `NULL` (the default sizes above) or the extra rows and columns added
#'   on one side of the output: one whole number or two, each less than its stride.
#' @param dilation_rate Dilation along height and width: one whole number or two (cannot be
#'   combined with `strides` above 1).
#' @param name Layer name (default `conv2d_transpose`, `conv2d_transpose_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(7, 7, 8)) %>%
#'   layer_conv_2d_transpose(filters = 4, kernel_size = 3, strides = 2, padding = "same")
layer_conv_2d_transpose <- function(object, filters, kernel_size, strides = c(1L, 1L), padding = "valid",
                                    output_padding = NULL, data_format = NULL, dilation_rate = c(1L, 1L),
                                    activation = NULL, use_bias = TRUE, kernel_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", kernel_regularizer = NULL, bias_regularizer = NULL,
                                    activity_regularizer = NULL, kernel_constraint = NULL, bias_constraint = NULL,
                                    ..., name = NULL) {
  fn <- "layer_conv_2d_transpose"
  conv_unsupported(fn, list(kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                             activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                             bias_constraint = bias_constraint))
  dots <- list(...)
  check_dots(dots, conv_dots, fn = fn)
  shape <- conv2d_shape_args(fn, kernel_size, strides, padding, data_format, dilation_rate)
  if (!is.null(output_padding)) {
    output_padding <- conv_tuple(output_padding, "output_padding", 2L, fn, min = 0)
    if (any(unlist(output_padding) >= unlist(shape$strides)))
      stop_arg(fn, "(): each `output_padding` must be less than its stride, got output_padding = (",
               paste(unlist(output_padding), collapse = ", "), ") and strides = (",
               paste(unlist(shape$strides), collapse = ", "), ")")
  }
  if (any(unlist(shape$strides) > 1) && any(unlist(shape$dilation_rate) > 1))
    stop_arg(fn, "(): `strides` > 1 cannot be combined with `dilation_rate` > 1")
  args <- c(list(filters = check_count(filters, "filters")), shape[c("kernel_size", "strides", "padding")],
            list(output_padding = output_padding, dilation_rate = shape$dilation_rate,
                 activation = activation_name(activation), use_bias = check_flag(use_bias, "use_bias"),
                 kernel_initializer = initializer_spec(kernel_initializer, "kernel_initializer"),
                 bias_initializer = initializer_spec(bias_initializer, "bias_initializer"),
                 data_format = shape$data_format))
  make_layer(object, "Conv2DTranspose", "conv2d_transpose", args, name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}

#' 2D depthwise convolution layer
#'
#' Convolves each input channel of `(batch, height, width, channels)` with its own
#' `depth_multiplier` kernels (channels are not mixed), giving `(batch, new_height, new_width,
#' channels * depth_multiplier)`, where output channel `c * depth_multiplier + j` (from 0) comes
#' from input channel `c`. The kernel has shape `(kernel_height, kernel_width, channels,
#' depth_multiplier)` and the bias `channels * depth_multiplier` values, as in Keras. Output
#' sizes are those of [layer_conv_2d()].
#'
#' @inheritParams layer_conv_2d
#' @param depth_multiplier Number of output channels per input channel.
#' @param depthwise_initializer Initializer of the kernel (a name such as `"glorot_uniform"` or an
#'   initializer object).
#' @param bias_initializer Initializer of the bias.
#' @param depthwise_regularizer,depthwise_constraint Not supported yet (must be `NULL`).
#' @param bias_regularizer,activity_regularizer,bias_constraint Not supported yet (must be `NULL`).
#' @param name Layer name (default `depthwise_conv2d`, `depthwise_conv2d_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 3)) %>%
#'   layer_depthwise_conv_2d(kernel_size = 3, depth_multiplier = 2, activation = "relu")
layer_depthwise_conv_2d <- function(object, kernel_size, strides = c(1L, 1L), padding = "valid",
                                    depth_multiplier = 1L, data_format = NULL, dilation_rate = c(1L, 1L),
                                    activation = NULL, use_bias = TRUE, depthwise_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", depthwise_regularizer = NULL, bias_regularizer = NULL,
                                    activity_regularizer = NULL, depthwise_constraint = NULL, bias_constraint = NULL,
                                    ..., name = NULL) {
  fn <- "layer_depthwise_conv_2d"
  conv_unsupported(fn, list(depthwise_regularizer = depthwise_regularizer, bias_regularizer = bias_regularizer,
                             activity_regularizer = activity_regularizer, depthwise_constraint = depthwise_constraint,
                             bias_constraint = bias_constraint))
  dots <- list(...)
  check_dots(dots, conv_dots, fn = fn)
  shape <- conv2d_shape_args(fn, kernel_size, strides, padding, data_format, dilation_rate)
  args <- c(shape[c("kernel_size", "strides", "padding")],
            list(depth_multiplier = check_count(depth_multiplier, "depth_multiplier"),
                 dilation_rate = shape$dilation_rate, activation = activation_name(activation),
                 use_bias = check_flag(use_bias, "use_bias"),
                 depthwise_initializer = initializer_spec(depthwise_initializer, "depthwise_initializer"),
                 bias_initializer = initializer_spec(bias_initializer, "bias_initializer"),
                 data_format = shape$data_format))
  make_layer(object, "DepthwiseConv2D", "depthwise_conv2d", args, name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}

#' 2D separable convolution layer
#'
#' A depthwise convolution (each input channel convolved with its own `depth_multiplier`
#' kernels, see [layer_depthwise_conv_2d()]) followed by a pointwise (1x1) convolution that
#' mixes the `channels * depth_multiplier` results into `filters` outputs; then the bias and the
#' activation. Input `(batch, height, width, channels)`, output `(batch, new_height, new_width,
#' filters)` with the sizes of [layer_conv_2d()]. Weights, as in Keras: `depthwise_kernel`
#' `(kernel_height, kernel_width, channels, depth_multiplier)`, `pointwise_kernel` `(1, 1,
#' channels * depth_multiplier, filters)`, `bias` `(filters)`.
#'
#' @inheritParams layer_depthwise_conv_2d
#' @param filters Number of output channels.
#' @param pointwise_initializer Initializer of the pointwise kernel.
#' @param pointwise_regularizer,pointwise_constraint Not supported yet (must be `NULL`).
#' @param name Layer name (default `separable_conv2d`, `separable_conv2d_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 3)) %>%
#'   layer_separable_conv_2d(filters = 16, kernel_size = 3, activation = "relu")
layer_separable_conv_2d <- function(object, filters, kernel_size, strides = c(1L, 1L), padding = "valid",
                                    data_format = NULL, dilation_rate = c(1L, 1L), depth_multiplier = 1L,
                                    activation = NULL, use_bias = TRUE, depthwise_initializer = "glorot_uniform",
                                    pointwise_initializer = "glorot_uniform", bias_initializer = "zeros",
                                    depthwise_regularizer = NULL, pointwise_regularizer = NULL,
                                    bias_regularizer = NULL, activity_regularizer = NULL, depthwise_constraint = NULL,
                                    pointwise_constraint = NULL, bias_constraint = NULL, ..., name = NULL) {
  fn <- "layer_separable_conv_2d"
  conv_unsupported(fn, list(depthwise_regularizer = depthwise_regularizer,
                             pointwise_regularizer = pointwise_regularizer, bias_regularizer = bias_regularizer,
                             activity_regularizer = activity_regularizer, depthwise_constraint = depthwise_constraint,
                             pointwise_constraint = pointwise_constraint, bias_constraint = bias_constraint))
  dots <- list(...)
  check_dots(dots, conv_dots, fn = fn)
  shape <- conv2d_shape_args(fn, kernel_size, strides, padding, data_format, dilation_rate)
  args <- c(list(filters = check_count(filters, "filters")), shape,
            list(depth_multiplier = check_count(depth_multiplier, "depth_multiplier"),
                 activation = activation_name(activation), use_bias = check_flag(use_bias, "use_bias"),
                 depthwise_initializer = initializer_spec(depthwise_initializer, "depthwise_initializer"),
                 pointwise_initializer = initializer_spec(pointwise_initializer, "pointwise_initializer"),
                 bias_initializer = initializer_spec(bias_initializer, "bias_initializer")))
  make_layer(object, "SeparableConv2D", "separable_conv2d", args, name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}
