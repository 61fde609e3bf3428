# Pooling layers: windowed max/average pooling over steps (1d) or rows and
# columns (2d), and global pooling over all of them.

# `pool_size` / `strides`: one whole number (used on every spatial axis) or `rank` of them.
pool_sizes <- function(x, name, rank, fn, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  d <- unlist(x)
  if (!is.numeric(d) || !(length(d) %in% c(1, rank)) || anyNA(d) || any(!is.finite(d)) || any(d != round(d)) ||
      any(d < 1) || any(d > .Machine$integer.max))
    stop_arg(fn, "(): `", name, "` must be ", if (rank == 1) "a positive whole number" else
               paste0("a positive whole number or ", rank, " of them"), ", got ", describe_sizes(x))
  as.list(rep_len(as.integer(d), rank))
}

check_padding <- function(padding, fn) {
  p <- if (is.character(padding) && length(padding) == 1 && !is.na(padding)) tolower(padding) else ""
  if (!p %in% c("valid", "same"))
    stop_arg(fn, "(): `padding` must be \"valid\" or \"same\", got ", describe_value(padding))
  p
}

pooling_layer <- function(object, class_name, prefix, rank, fn, pool_size, strides, padding, data_format,
                          name, dots) {
  check_dots(dots, c("input_shape", "batch_input_shape", "batch_size", "dtype", "trainable", "weights"), fn = fn)
  data_format <- check_data_format(data_format, fn)
  args <- list(pool_size = pool_sizes(pool_size, "pool_size", rank, fn))
  strides <- pool_sizes(strides, "strides", rank, fn, null_ok = TRUE)
  if (!is.null(strides)) args$strides <- strides
  args$padding <- check_padding(padding, fn)
  args$data_format <- data_format
  make_layer(object, class_name, prefix, args, name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}

global_pooling_layer <- function(object, class_name, prefix, fn, data_format, keepdims, dots) {
  check_dots(dots, c("input_shape", "batch_input_shape", "batch_size", "dtype", "name", "trainable", "weights"),
             fn = fn)
  args <- list(keepdims = check_flag(keepdims, "keepdims"), data_format = check_data_format(data_format, fn))
  make_layer(object, class_name, prefix, args, dots$name,
             dots$trainable, input_shape_arg(dots$input_shape, dots$batch_input_shape))
}

#' Max pooling for temporal data
#'
#' Slides a window of `pool_size` steps by `strides` over `(batch, steps, features)` and keeps
#' the largest value of each feature in the window. With `padding = "valid"` the output has
#' `floor((steps - pool_size) / strides) + 1` steps; with `"same"`, `ceil(steps / strides)`
#' (windows at the border hold fewer values).
#'
#' @param object A model, a tensor from [layer_input()], or missing.
#' @param pool_size Size of the pooling window.
#' @param strides Step of the window; `NULL` is `pool_size`.
#' @param padding `"valid"` (no padding) or `"same"`.
#' @param data_format `NULL` or `"channels_last"` (features or channels on the last axis), or
#'   `"channels_first"` (on the axis after the batch).
#' @param name Layer name; generated when `NULL`.
#' @param ... `input_shape`, `batch_input_shape`, `batch_size`, `dtype`, `trainable`, `weights`
#'   (as for the other layers); an unknown name is an error.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_max_pooling_1d(2)
layer_max_pooling_1d <- function(object, pool_size = 2L, strides = NULL, padding = "valid", data_format = NULL,
                                 name = NULL, ...) {
  pooling_layer(object, "MaxPooling1D", "max_pooling1d", 1, "layer_max_pooling_1d", pool_size, strides, padding,
                data_format, name, list(...))
}

#' Max pooling for 2D spatial data
#'
#' Slides a `pool_size` window by `strides` over the rows and columns of
#' `(batch, rows, cols, channels)` and keeps the largest value of each channel in the window.
#'
#' @inheritParams layer_max_pooling_1d
#' @param pool_size Window size: one whole number for both axes or `c(rows, cols)`.
#' @param strides Step of the window (one number or two); `NULL` is `pool_size`.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>% layer_max_pooling_2d(c(2, 2))
layer_max_pooling_2d <- function(object, pool_size = list(2L, 2L), strides = NULL, padding = "valid",
                                 data_format = "channels_last", name = NULL, ...) {
  pooling_layer(object, "MaxPooling2D", "max_pooling2d", 2, "layer_max_pooling_2d", pool_size, strides, padding,
                data_format, name, list(...))
}

#' Average pooling for temporal data
#'
#' As [layer_max_pooling_1d()], with the mean of the window; with `padding = "same"` a window
#' at the border averages only the input values it covers, as keras does.
#'
#' @inheritParams layer_max_pooling_1d
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_average_pooling_1d(2)
layer_average_pooling_1d <- function(object, pool_size, strides = NULL, padding = "valid", data_format = NULL,
                                     name = NULL, ...) {
  pooling_layer(object, "AveragePooling1D", "average_pooling1d", 1, "layer_average_pooling_1d", pool_size,
                strides, padding, data_format, name, list(...))
}

#' Average pooling for 2D spatial data
#'
#' As [layer_max_pooling_2d()], with the mean of the window; with `padding = "same"` a window
#' at the border averages only the input values it covers, as keras does.
#'
#' @inheritParams layer_max_pooling_2d
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>% layer_average_pooling_2d(c(2, 2))
layer_average_pooling_2d <- function(object, pool_size, strides = NULL, padding = "valid",
                                     data_format = "channels_last", name = NULL, ...) {
  pooling_layer(object, "AveragePooling2D", "average_pooling2d", 2, "layer_average_pooling_2d", pool_size,
                strides, padding, data_format, name, list(...))
}

#' Global max pooling for temporal data
#'
#' The largest value of each feature over all steps: `(batch, steps, features)` to
#' `(batch, features)`, or `(batch, 1, features)` with `keepdims = TRUE`.
#'
#' @inheritParams layer_max_pooling_1d
#' @param keepdims Whether to keep the pooled axes with length 1.
#' @param ... `name`, `input_shape`, `batch_input_shape`, `batch_size`, `dtype`, `trainable`,
#'   `weights`; an unknown name is an error.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_global_max_pooling_1d()
layer_global_max_pooling_1d <- function(object, data_format = NULL, keepdims = FALSE, ...) {
  global_pooling_layer(object, "GlobalMaxPooling1D", "global_max_pooling1d", "layer_global_max_pooling_1d",
                       data_format, keepdims, list(...))
}

#' Global max pooling for 2D spatial data
#'
#' The largest value of each channel over all rows and columns: `(batch, rows, cols, channels)`
#' to `(batch, channels)`, or `(batch, 1, 1, channels)` with `keepdims = TRUE`.
#'
#' @inheritParams layer_global_max_pooling_1d
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 3)) %>% layer_global_max_pooling_2d()
layer_global_max_pooling_2d <- function(object, data_format = NULL, keepdims = FALSE, ...) {
  global_pooling_layer(object, "GlobalMaxPooling2D", "global_max_pooling2d", "layer_global_max_pooling_2d",
                       data_format, keepdims, list(...))
}

#' Global average pooling for temporal data
#'
#' The mean of each feature over all steps: `(batch, steps, features)` to `(batch, features)`,
#' or `(batch, 1, features)` with `keepdims = TRUE`.
#'
#' @inheritParams layer_global_max_pooling_1d
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_global_average_pooling_1d()
layer_global_average_pooling_1d <- function(object, data_format = NULL, keepdims = FALSE, ...) {
  global_pooling_layer(object, "GlobalAveragePooling1D", "global_average_pooling1d",
                       "layer_global_average_pooling_1d", data_format, keepdims, list(...))
}

#' Global average pooling for 2D spatial data
#'
#' The mean of each channel over all rows and columns: `(batch, rows, cols, channels)` to
#' `(batch, channels)`, or `(batch, 1, 1, channels)` with `keepdims = TRUE`.
#'
#' @inheritParams layer_global_max_pooling_1d
#' @returns The model (invisibly), a tensor, or a layer.
#' @family pooling layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 3)) %>% layer_global_average_pooling_2d()
layer_global_average_pooling_2d <- function(object, data_format = NULL, keepdims = FALSE, ...) {
  global_pooling_layer(object, "GlobalAveragePooling2D", "global_average_pooling2d",
                       "layer_global_average_pooling_2d", data_format, keepdims, list(...))
}
