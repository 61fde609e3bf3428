# Convolution layers (channels_last): layer_conv_1d(), layer_conv_2d().

# An integer tuple argument of a conv layer: one whole number (repeated) or `rank` of them.
conv_tuple <- function(x, name, rank, fn) {
  if (is.list(x)) x <- unlist(x)
  if (!is.numeric(x) || !(length(x) %in% c(1L, rank)) || anyNA(x) || any(!is.finite(x)) ||
      any(x != round(x)) || any(x < 1))
    stop_arg(fn, "(): `", name, "` must be ", if (rank == 1) "a positive whole number" else
               paste0("a positive whole number or ", rank, " of them"), ", got ", describe_sizes(x))
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
  if (!is.null(data_format) && !identical(data_format, "channels_last"))
    stop_arg(fn, "(): only data_format = \"channels_last\" is supported, got ", describe_value(data_format))
  if (!identical(check_count(groups, "groups"), 1L))
    stop_arg(fn, "(): `groups` other than 1 is not supported yet, got ", groups)
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
               bias_initializer = initializer_spec(bias_initializer, "bias_initializer"))
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
#' @param data_format Only `NULL` or `"channels_last"`.
#' @param dilation_rate Dilation along height and width: one whole number or two.
#' @param groups Only 1.
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
