# Spatial layers without weights: zero padding, cropping, upsampling (steps for 1d, rows and
# columns for 2d) and spatial dropout (whole channels). Channels last by default; channels
# first where Keras has it.

spatial_dots <- c("name", "input_shape", "batch_input_shape", "batch_size", "dtype", "trainable", "weights")

spatial_layer <- function(object, class_name, prefix, fn, args, dots) {
  check_dots(dots, spatial_dots, fn = fn)
  make_layer(object, class_name, prefix, args, dots$name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}

is_whole <- function(x, min) {
  is.numeric(x) && !anyNA(x) && all(is.finite(x)) && all(x == round(x)) && all(x >= min) &&
    all(x <= .Machine$integer.max)
}

# `padding` / `cropping`: (before, after) per spatial axis, as keras reads them. 1d: one whole
# number (both ends) or two (start, end). 2d: one whole number (every side), two (rows and
# columns, symmetric) or a list of two pairs, list(c(top, bottom), c(left, right)).
side_pairs <- function(x, name, rank, fn) {
  what <- if (rank == 1) "one non-negative whole number or two (start, end)" else
    paste0("one non-negative whole number, two (rows, columns), or two pairs ",
           "list(c(top, bottom), c(left, right))")
  bad <- function() stop_arg(fn, "(): `", name, "` must be ", what, ", got ", describe_value(x),
                             if (is.numeric(unlist(x)) && any(unlist(x) < 0, na.rm = TRUE)) " (negative)")
  flat <- unlist(x)
  if (is.null(x) || !is_whole(flat, 0)) bad()
  pairs <- if (rank == 1) {
    if (!length(flat) %in% 1:2) bad()
    list(rep_len(flat, 2))
  } else if (is.list(x) && any(lengths(x) > 1)) {
    if (length(x) != 2 || !all(lengths(x) %in% 1:2)) bad()
    lapply(x, function(p) rep_len(unlist(p), 2))
  } else {
    if (!length(flat) %in% 1:2) bad()
    lapply(rep_len(flat, 2), function(d) c(d, d))
  }
  pairs <- lapply(pairs, function(p) as.list(as.integer(p)))
  if (rank == 1) pairs[[1]] else pairs
}

# Upsampling factors: one positive whole number (1d), or one or two (2d).
up_size <- function(size, rank, fn) {
  d <- unlist(size)
  if (!is_whole(d, 1) || !length(d) %in% seq_len(rank))
    stop_arg(fn, "(): `size` must be ", if (rank == 1) "a positive whole number" else
               "one or two positive whole numbers", ", got ", describe_value(size),
             if (is.numeric(d) && any(d < 1, na.rm = TRUE)) " (sizes start at 1)")
  if (rank == 1) as.integer(d) else as.list(rep_len(as.integer(d), 2))
}

check_rate <- function(rate, fn) {
  if (missing(rate)) stop_arg(fn, "(): `rate` is missing: the fraction of channels to drop, in [0, 1)")
  rate <- check_number(rate, "rate")
  if (rate < 0 || rate >= 1) stop_arg(fn, "(): `rate` must be in [0, 1), got ", rate)
  rate
}

#' Zero-padding layer for 1D input (e.g. temporal sequence)
#'
#' Adds zeros at the start and the end of the steps of `(batch, steps, features)`, giving
#' `(batch, steps + start + end, features)`.
#'
#' @param object A model, a tensor from [layer_input()], or missing.
#' @param padding One whole number (zeros at both ends) or two, `c(start, end)`.
#' @param data_format `NULL` or `"channels_last"` (input `(batch, steps, features)`), or
#'   `"channels_first"` (input `(batch, features, steps)`).
#' @param ... `name`, `input_shape`, `batch_input_shape`, `batch_size`, `dtype`, `trainable`,
#'   `weights` (as for the other layers); an unknown name is an error.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_zero_padding_1d(c(2, 1))
layer_zero_padding_1d <- function(object, padding = 1L, data_format = NULL, ...) {
  fn <- "layer_zero_padding_1d"
  args <- list(padding = side_pairs(padding, "padding", 1, fn), data_format = check_data_format(data_format, fn))
  spatial_layer(object, "ZeroPadding1D", "zero_padding1d", fn, args, list(...))
}

#' Zero-padding layer for 2D input (e.g. picture)
#'
#' Adds rows of zeros at the top and bottom and columns of zeros at the left and right of
#' `(batch, rows, cols, channels)`.
#'
#' @inheritParams layer_zero_padding_1d
#' @param padding One whole number (the same on every side), two, `c(rows, cols)` (symmetric:
#'   that many rows on top and at the bottom, columns on the left and on the right), or two
#'   pairs, `list(c(top, bottom), c(left, right))`.
#' @param data_format `NULL` or `"channels_last"` (input `(batch, rows, cols, channels)`), or
#'   `"channels_first"` (input `(batch, channels, rows, cols)`).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
#'   layer_zero_padding_2d(list(c(1, 2), c(3, 4)))
layer_zero_padding_2d <- function(object, padding = list(1L, 1L), data_format = NULL, ...) {
  fn <- "layer_zero_padding_2d"
  args <- list(padding = side_pairs(padding, "padding", 2, fn), data_format = check_data_format(data_format, fn))
  spatial_layer(object, "ZeroPadding2D", "zero_padding2d", fn, args, list(...))
}

#' Cropping layer for 1D input (e.g. temporal sequence)
#'
#' Removes steps at the start and the end of `(batch, steps, features)`; at least one step
#' must remain.
#'
#' @inheritParams layer_zero_padding_1d
#' @param cropping One whole number (steps removed at both ends) or two, `c(start, end)`.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_cropping_1d(c(2, 1))
layer_cropping_1d <- function(object, cropping = list(1L, 1L), ...) {
  fn <- "layer_cropping_1d"
  spatial_layer(object, "Cropping1D", "cropping1d", fn, list(cropping = side_pairs(cropping, "cropping", 1, fn)),
                list(...))
}

#' Cropping layer for 2D input (e.g. picture)
#'
#' Removes rows at the top and bottom and columns at the left and right of
#' `(batch, rows, cols, channels)`; at least one row and one column must remain.
#'
#' @inheritParams layer_zero_padding_2d
#' @param cropping One whole number (the same on every side), two, `c(rows, cols)`
#'   (symmetric), or two pairs, `list(c(top, bottom), c(left, right))`.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
#'   layer_cropping_2d(cropping = list(c(2, 2), c(4, 4)))
layer_cropping_2d <- function(object, cropping = list(list(0L, 0L), list(0L, 0L)), data_format = NULL, ...) {
  fn <- "layer_cropping_2d"
  args <- list(cropping = side_pairs(cropping, "cropping", 2, fn), data_format = check_data_format(data_format, fn))
  spatial_layer(object, "Cropping2D", "cropping2d", fn, args, list(...))
}

#' Upsampling layer for 1D inputs
#'
#' Repeats each step `size` times: `(batch, steps, features)` to
#' `(batch, steps * size, features)`.
#'
#' @inheritParams layer_zero_padding_1d
#' @param size Upsampling factor, a positive whole number.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>% layer_upsampling_1d(3)
layer_upsampling_1d <- function(object, size = 2L, ...) {
  fn <- "layer_upsampling_1d"
  spatial_layer(object, "UpSampling1D", "up_sampling1d", fn, list(size = up_size(size, 1, fn)), list(...))
}

#' Upsampling layer for 2D inputs
#'
#' Enlarges `(batch, rows, cols, channels)` to `(batch, rows * size[1], cols * size[2],
#' channels)`. With `interpolation = "nearest"` each row and column is repeated; with
#' `"bilinear"` the image is resized as Keras 3 does (`ops.image.resize()`): output row `i`
#' takes the input at `(i + 0.5) / size - 0.5`, clamped to the first and last rows, as the
#' linear interpolation of its two nearest rows (and the same for the columns).
#'
#' @inheritParams layer_zero_padding_2d
#' @param size Upsampling factors for rows and columns: one positive whole number for both, or two.
#' @param interpolation `"nearest"` or `"bilinear"` (Keras' `"bicubic"`, `"lanczos3"`,
#'   `"lanczos5"` and `"area"` are not supported).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(7, 7, 8)) %>%
#'   layer_upsampling_2d(size = c(2, 2), interpolation = "bilinear")
layer_upsampling_2d <- function(object, size = list(2L, 2L), data_format = NULL, interpolation = "nearest", ...) {
  fn <- "layer_upsampling_2d"
  interp <- if (is.character(interpolation) && length(interpolation) == 1 && !is.na(interpolation))
    tolower(interpolation) else ""
  if (interp %in% c("bicubic", "lanczos3", "lanczos5", "area"))
    stop_arg(fn, "(): interpolation = \"", interp, "\" is not supported by rkeras (only \"nearest\" and \"bilinear\")")
  if (!interp %in% c("nearest", "bilinear"))
    stop_arg(fn, "(): `interpolation` must be \"nearest\" or \"bilinear\", got ", describe_value(interpolation))
  args <- list(size = up_size(size, 2, fn), data_format = check_data_format(data_format, fn),
               interpolation = interp)
  spatial_layer(object, "UpSampling2D", "up_sampling2d", fn, args, list(...))
}

#' Spatial 1D version of dropout
#'
#' Drops whole channels: in training each channel of each sample is zeroed with probability
#' `rate`, on every step at once, and the others are scaled by `1 / (1 - rate)`; in
#' `predict()` and `evaluate()` the layer passes its input through. Use it instead of
#' [layer_dropout()] after convolutions, whose neighbouring steps are strongly correlated.
#' The random channels follow `set.seed()`.
#'
#' @inheritParams layer_zero_padding_1d
#' @param rate Fraction of the channels to drop, in `[0, 1)`.
#' @param seed Accepted for compatibility: the random draws follow R's seed (`set.seed()`).
#' @param name Layer name; generated when `NULL`.
#' @param dtype Accepted for compatibility (rkeras computes in float32).
#' @param ... `input_shape`, `batch_input_shape`, `batch_size`, `trainable`, `weights`; an
#'   unknown name is an error.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(20, 16)) %>% layer_spatial_dropout_1d(0.2)
layer_spatial_dropout_1d <- function(object, rate, seed = NULL, name = NULL, dtype = NULL, ...) {
  fn <- "layer_spatial_dropout_1d"
  check_count(seed, "seed", min = 0, null_ok = TRUE)
  spatial_layer(object, "SpatialDropout1D", "spatial_dropout1d", fn, list(rate = check_rate(rate, fn)),
                c(list(...), list(name = name)))
}

#' Spatial 2D version of dropout
#'
#' Drops whole feature maps: in training each channel of each sample is zeroed with
#' probability `rate`, on all rows and columns at once, and the others are scaled by
#' `1 / (1 - rate)`; in `predict()` and `evaluate()` the layer passes its input through. The
#' random channels follow `set.seed()`.
#'
#' @inheritParams layer_spatial_dropout_1d
#' @inheritParams layer_zero_padding_2d
#' @returns The model (invisibly), a tensor, or a layer.
#' @family spatial layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 8)) %>% layer_spatial_dropout_2d(0.2)
layer_spatial_dropout_2d <- function(object, rate, data_format = NULL, seed = NULL, name = NULL, dtype = NULL, ...) {
  fn <- "layer_spatial_dropout_2d"
  check_count(seed, "seed", min = 0, null_ok = TRUE)
  args <- list(rate = check_rate(rate, fn), data_format = check_data_format(data_format, fn))
  spatial_layer(object, "SpatialDropout2D", "spatial_dropout2d", fn, args, c(list(...), list(name = name)))
}
