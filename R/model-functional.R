# Functional API for chains of layers: layer_input() starts a symbolic tensor, each
# layer_*() applied to it extends the chain, keras_model() turns a chain into a model.

#' Input layer of a functional model
#'
#' @param shape Shape of one sample, without the batch axis (`c(784)`).
#' @param batch_shape Shape including the batch axis (its first element is ignored).
#' @param name Name of the input layer.
#' @param dtype,sparse,tensor,ragged Accepted for compatibility.
#' @returns A symbolic tensor for `layer_*()` and [keras_model()].
#' @family model
#' @export
#' @examples
#' inputs <- layer_input(shape = 784)
#' outputs <- inputs %>% layer_dense(10, activation = "softmax")
#' model <- keras_model(inputs, outputs)
layer_input <- function(shape = NULL, batch_shape = NULL, name = NULL, dtype = NULL, sparse = FALSE,
                        tensor = NULL, ragged = FALSE) {
  shape <- shape %||% (if (!is.null(batch_shape)) batch_shape[-1])
  if (is.null(shape)) stop_arg("layer_input() needs `shape` (one sample's shape, without the batch axis)")
  structure(list(input_shape = check_shape(shape, "shape"),
                 input_name = check_string(name, "name", null_ok = TRUE) %||% auto_name("input_layer"),
                 layers = list()),
            class = "rkeras_tensor")
}

tensor_apply <- function(tensor, layer) {
  spec <- unclass(layer)
  spec$input_shape <- NULL
  used <- c(tensor$input_name, vapply(tensor$layers, `[[`, "", "name"))
  if (spec$name %in% used) stop_arg("All layer names should be unique: \"", spec$name, "\" is used twice")
  tensor$layers[[length(tensor$layers) + 1]] <- spec
  tensor
}

#' Create a functional model
#'
#' @param inputs A tensor from [layer_input()].
#' @param outputs The tensor the layers produce from `inputs`.
#' @param name Model name (default `model`, `model_1`, ...).
#' @param ... Unused.
#' @returns A model (class `rkeras_model`).
#' @family model
#' @export
keras_model <- function(inputs, outputs = NULL, name = NULL, ...) {
  if (!inherits(inputs, "rkeras_tensor") || !inherits(outputs, "rkeras_tensor"))
    stop_arg("keras_model() needs `inputs` from layer_input() and `outputs` built from them with layer_*()")
  if (!identical(inputs$input_name, outputs$input_name) || length(inputs$layers) > 0)
    stop_arg("`outputs` was not built from `inputs` (input \"", outputs$input_name, "\" vs \"", inputs$input_name,
             "\"); only chains of layers from one input are supported")
  model <- new_model("Functional", check_string(name, "name", null_ok = TRUE) %||% auto_name("model"),
                     input_shape = inputs$input_shape, input_name = inputs$input_name)
  model$layer_specs <- outputs$layers
  model
}

#' @export
print.rkeras_tensor <- function(x, ...) {
  cat(sprintf("<tensor (None, %s) from input \"%s\" through %d layer(s)>\n",
              paste(x$input_shape, collapse = ", "), x$input_name, length(x$layers)))
  invisible(x)
}
