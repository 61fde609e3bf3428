# Normalization layers: layer_batch_normalization().

#' Batch normalization layer
#'
#' Normalizes each feature along `axis` (by default the last axis: the units of a dense
#' layer, the channels of an image `(batch, height, width, channels)`, the features of a
#' sequence) over the batch and every other axis, then scales by `gamma` and shifts by `beta`:
#' `gamma * (x - mean) / sqrt(var + epsilon) + beta`.
#'
#' In training (`fit()`, `train_on_batch()`) `mean` and `var` are the current batch's mean and
#' (biased) variance, and the layer updates its moving statistics:
#' `moving_mean = moving_mean * momentum + mean * (1 - momentum)`, likewise `moving_variance`.
#' In `predict()`, `evaluate()` and validation it uses the moving statistics instead. A frozen
#' layer (`trainable = FALSE`, [freeze_weights()]) also uses the moving statistics in training
#' and leaves them alone, as in Keras.
#'
#' The weights, in Keras order, each of length `features`: `gamma` (when `scale`), `beta`
#' (when `center`), then `moving_mean` and `moving_variance`, which are not trainable (the
#' optimizer never sees them; [summary()] counts them as non-trainable parameters, and
#' [get_weights()], [set_weights()] and the saved files include them).
#'
#' @inheritParams layer_dense
#' @param axis The feature axis, counting the batch axis as 0 as in Keras: `-1` (the default)
#'   is the last axis, `1` the first axis of a sample (for example `axis = 1` normalizes each
#'   row of `(batch, rows, features)` input over the batch and the features).
#' @param momentum Momentum of the moving averages, in `[0, 1]`.
#' @param epsilon Small positive number added to the variance before the square root.
#' @param center Whether to add the learned offset `beta`.
#' @param scale Whether to multiply by the learned scale `gamma` (when the next layer is
#'   linear it can do the scaling).
#' @param beta_initializer,gamma_initializer,moving_mean_initializer,moving_variance_initializer
#'   Initializers (names such as `"zeros"`, `"ones"`, or `initializer_*()` objects).
#' @param beta_regularizer,gamma_regularizer,beta_constraint,gamma_constraint Not supported yet:
#'   only `NULL`.
#' @param synchronized Only `FALSE` (rkeras trains on one device).
#' @param ... `input_shape` (for the first layer), `batch_input_shape`, `trainable`;
#'   `batch_size`, `dtype` and `weights` are accepted for compatibility.
#' @param name Layer name (default `batch_normalization`, `batch_normalization_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family normalization layers
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
#'   layer_conv_2d(filters = 8, kernel_size = c(3, 3)) %>%
#'   layer_batch_normalization() %>%
#'   layer_activation("relu") %>%
#'   layer_flatten() %>%
#'   layer_dense(units = 10, activation = "softmax")
layer_batch_normalization <- function(object, axis = -1L, momentum = 0.99, epsilon = 0.001, center = TRUE,
                                      scale = TRUE, beta_initializer = "zeros", gamma_initializer = "ones",
                                      moving_mean_initializer = "zeros", moving_variance_initializer = "ones",
                                      beta_regularizer = NULL, gamma_regularizer = NULL, beta_constraint = NULL,
                                      gamma_constraint = NULL, synchronized = FALSE, ..., name = NULL) {
  fn <- "layer_batch_normalization"
  unsupported <- list(beta_regularizer = beta_regularizer, gamma_regularizer = gamma_regularizer,
                      beta_constraint = beta_constraint, gamma_constraint = gamma_constraint)
  given <- names(Filter(Negate(is.null), unsupported))
  if (length(given)) stop_arg(fn, "(): ", paste0("`", given, "`", collapse = ", "), " not supported yet (only NULL)")
  if (!identical(check_flag(synchronized, "synchronized"), FALSE))
    stop_arg(fn, "(): `synchronized = TRUE` is not supported (rkeras trains on one device)")
  dots <- list(...)
  check_dots(dots, c("input_shape", "batch_input_shape", "batch_size", "dtype", "trainable", "weights"), fn = fn)
  axis <- check_count(axis, "axis", min = -.Machine$integer.max)
  if (axis == 0L)
    stop_arg(fn, "(): `axis` 0 is the batch axis; use -1 (the last axis) or a feature axis from 1, ",
             "counting the batch axis as 0")
  momentum <- check_number(momentum, "momentum")
  if (momentum < 0 || momentum > 1) stop_arg(fn, "(): `momentum` must be in [0, 1], got ", momentum)
  epsilon <- check_number(epsilon, "epsilon")
  if (epsilon <= 0) stop_arg(fn, "(): `epsilon` must be a positive number, got ", epsilon)
  args <- list(axis = axis, momentum = momentum, epsilon = epsilon,
               center = check_flag(center, "center"), scale = check_flag(scale, "scale"),
               beta_initializer = initializer_spec(beta_initializer, "beta_initializer"),
               gamma_initializer = initializer_spec(gamma_initializer, "gamma_initializer"),
               moving_mean_initializer = initializer_spec(moving_mean_initializer, "moving_mean_initializer"),
               moving_variance_initializer = initializer_spec(moving_variance_initializer,
                                                              "moving_variance_initializer"))
  make_layer(object, "BatchNormalization", "batch_normalization", args, name, dots$trainable,
             input_shape_arg(dots$input_shape, dots$batch_input_shape))
}
