# Masking layer: layer_masking().

#' Masking layer
#'
#' Marks padded steps of a sequence: a step (a row of the last axis, one per sample and time
#' step of a `(samples, timesteps, features)` input) whose values all equal `mask_value` is
#' masked. The layer outputs its input with the masked steps set to 0, and the output carries
#' a Keras mask, so that the layers after it that use masks skip those steps (global average
#' pooling 1-d averages over the others, recurrent layers skip them, the loss and metrics of a
#' sequence output leave them out). Layers that pass masks on keep it (dense, dropout,
#' activation, [time_distributed()]); others (flatten, convolutions) drop it, as in Keras.
#'
#' @inheritParams layer_dense
#' @param mask_value The value of padded steps.
#' @param dtype Accepted for compatibility (rkeras computes in float32).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>%
#'   layer_masking(mask_value = 0) %>%
#'   layer_global_average_pooling_1d() %>%
#'   layer_dense(units = 1)
layer_masking <- function(object, mask_value = 0, input_shape = NULL, batch_input_shape = NULL,
                          batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  mask_value <- check_number(mask_value, "mask_value")
  make_layer(object, "Masking", "masking", list(mask_value = mask_value), name, trainable,
             input_shape_arg(input_shape, batch_input_shape))
}
