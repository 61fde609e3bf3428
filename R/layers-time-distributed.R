# Wrapper applying a layer to every time step: time_distributed().

#' Apply a layer to every time step
#'
#' `time_distributed(object, layer)` applies `layer` (one set of weights) to every step of
#' its input: an input of shape `(samples, timesteps, ...)` is run through `layer` as
#' `(samples * timesteps, ...)` and comes out as `(samples, timesteps, ...)`. The weights are
#' those of `layer`. A Keras mask on the input (from `layer_embedding(mask_zero = TRUE)` or
#' [layer_masking()]) passes on unchanged.
#'
#' @inheritParams layer_dense
#' @param layer A layer made without a model or tensor, such as `layer_dense(units = 8)`.
#' @param dtype Accepted for compatibility (rkeras computes in float32).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 16)) %>%
#'   time_distributed(layer_dense(units = 8, activation = "relu"))
time_distributed <- function(object, layer, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                             dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  if (!missing(object)) force(object)
  if (missing(layer) || !inherits(layer, "rkeras_layer")) {
    given <- if (missing(layer)) "nothing" else if (inherits(layer, "rkeras_model"))
      paste0("model \"", layer$name, "\" (rkeras applies a single layer to every step, not a model)")
    else describe_value(layer)
    stop_arg("time_distributed(): `layer` must be a layer made without a model or tensor, such as ",
             "layer_dense(units = 8), got ", given)
  }
  inner <- layer_spec(layer)
  if (inner$class_name %in% c(merge_classes, "TimeDistributed"))
    stop_arg("time_distributed(): `layer` \"", inner$name, "\" is a ", inner$class_name,
             " layer; wrap a layer that takes one tensor")
  inner$input_shape <- NULL
  make_layer(object, "TimeDistributed", "time_distributed", list(layer = inner), name, trainable,
             input_shape_arg(input_shape, batch_input_shape))
}

#' @rdname time_distributed
#' @export
layer_time_distributed <- time_distributed
