# Core layers. Every layer_*() takes the model (or a functional tensor) first:
#  - a model: the layer is added in place and the model returned invisibly;
#  - a tensor from layer_input(): a new tensor (functional API);
#  - missing/NULL: the layer itself, for keras_model_sequential(layers = list(...)).

activation_name <- function(activation) {
  if (is.null(activation)) return("linear")
  if (is.function(activation) && !is.null(attr(activation, "rkeras_name")))
    return(attr(activation, "rkeras_name"))
  rk_activation_name(check_string(activation, "activation"))
}

make_layer <- function(object, class_name, prefix, args, name, trainable, input_shape) {
  # evaluate the pipe's left side first, so auto-names follow the order of the code
  if (!missing(object)) force(object)
  name <- check_string(name, "name", null_ok = TRUE) %||% auto_name(prefix)
  spec <- c(list(class_name = class_name, name = name,
                 trainable = if (is.null(trainable)) TRUE else check_flag(trainable, "trainable")), args)
  if (!is.null(input_shape)) spec$input_shape <- check_shape(input_shape)
  layer <- structure(spec, class = "rkeras_layer")
  compose_layer(object, layer)
}

compose_layer <- function(object, layer) {
  if (missing(object) || is.null(object)) return(layer)
  if (inherits(object, "rkeras_model")) return(add_layer(object, layer))
  if (inherits(object, "rkeras_tensor")) return(tensor_apply(object, layer))
  stop_arg("the first argument of a layer function must be a model, a tensor from layer_input() or NULL, got ",
           describe_value(object))
}

initializer_names <- c("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                       "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal")

initializer_spec <- function(init, name) {
  if (inherits(init, "rkeras_initializer")) return(unclass(init))
  list(name = check_choice(init, paste0("`", name, "`"), initializer_names))
}

input_shape_arg <- function(input_shape, batch_input_shape, input_dim = NULL) {
  input_shape %||% (if (!is.null(batch_input_shape)) batch_input_shape[-1]) %||% input_dim
}

#' Densely-connected layer
#'
#' `output = activation(dot(input, kernel) + bias)`, applied on the last axis of the input.
#'
#' @param object A model, a tensor from [layer_input()], or missing.
#' @param units Number of output units.
#' @param activation Activation name (`"relu"`, `"softmax"`, ...); `NULL` is linear.
#' @param use_bias Whether to add a bias vector.
#' @param kernel_initializer,bias_initializer Initializer names (`"glorot_uniform"`,
#'   `"he_normal"`, `"zeros"`, ...) or [initializer_random_normal()] and friends.
#' @param kernel_regularizer,bias_regularizer,activity_regularizer,kernel_constraint,bias_constraint
#'   Not supported yet: must be `NULL`.
#' @param input_shape Shape of one sample (no batch axis), for the first layer.
#' @param batch_input_shape Shape including the batch axis (its first element is ignored).
#' @param batch_size Accepted for compatibility.
#' @param dtype Accepted for compatibility (rkeras computes in float32).
#' @param weights Accepted for compatibility; use `set_weights()`.
#' @param name Layer name (default `dense`, `dense_1`, ...).
#' @param trainable Whether the weights train.
#' @param ... Other keras arguments (`input_dim`).
#' @returns The model (invisibly), a tensor, or a layer; see above.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_dense(units = 32, activation = "relu", input_shape = 784) %>%
#'   layer_dense(units = 10, activation = "softmax")
layer_dense <- function(object, units, activation = NULL, use_bias = TRUE,
                        kernel_initializer = "glorot_uniform", bias_initializer = "zeros",
                        kernel_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                        kernel_constraint = NULL, bias_constraint = NULL, input_shape = NULL,
                        batch_input_shape = NULL, batch_size = NULL, dtype = NULL, name = NULL,
                        trainable = NULL, weights = NULL, ...) {
  unsupported <- list(kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
                      activity_regularizer = activity_regularizer, kernel_constraint = kernel_constraint,
                      bias_constraint = bias_constraint)
  given <- names(Filter(Negate(is.null), unsupported))
  if (length(given)) stop_arg("layer_dense(): ", paste0("`", given, "`", collapse = ", "), " not supported yet")
  check_dots(list(...), "input_dim", fn = "layer_dense")
  args <- list(units = check_count(units, "units"), activation = activation_name(activation),
               use_bias = check_flag(use_bias, "use_bias"),
               kernel_initializer = initializer_spec(kernel_initializer, "kernel_initializer"),
               bias_initializer = initializer_spec(bias_initializer, "bias_initializer"))
  make_layer(object, "Dense", "dense", args, name, trainable,
             input_shape_arg(input_shape, batch_input_shape, list(...)$input_dim))
}

#' Dropout layer
#'
#' Inverted dropout: in training each input is kept with probability `1 - rate` and
#' scaled by `1 / (1 - rate)`; in `predict()`, `evaluate()` and validation it is the identity.
#'
#' @inheritParams layer_dense
#' @param rate Fraction of the inputs to drop, in `[0, 1)`.
#' @param noise_shape,seed Accepted for compatibility (masks come from the model's stream,
#'   seeded by `set.seed()`).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 10) %>% layer_dropout(rate = 0.5)
layer_dropout <- function(object, rate, noise_shape = NULL, seed = NULL, input_shape = NULL,
                          batch_input_shape = NULL, batch_size = NULL, name = NULL, trainable = NULL,
                          weights = NULL) {
  rate <- check_number(rate, "rate")
  if (rate < 0 || rate >= 1) stop_arg("`rate` must be in [0, 1), got ", rate)
  make_layer(object, "Dropout", "dropout", list(rate = rate), name, trainable,
             input_shape_arg(input_shape, batch_input_shape))
}

#' Activation layer
#'
#' @inheritParams layer_dense
#' @param activation Activation name: `"relu"`, `"sigmoid"`, `"tanh"`, `"softmax"`, `"linear"`,
#'   `"elu"`, `"selu"`, `"softplus"`, `"softsign"`, `"hard_sigmoid"`, `"exponential"`, `"swish"`,
#'   `"gelu"`, ...
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 10) %>% layer_activation("relu")
layer_activation <- function(object, activation, input_shape = NULL, batch_input_shape = NULL,
                             batch_size = NULL, dtype = NULL, name = NULL, trainable = NULL, weights = NULL) {
  make_layer(object, "Activation", "activation", list(activation = activation_name(activation)), name,
             trainable, input_shape_arg(input_shape, batch_input_shape))
}

#' Flatten layer
#'
#' `(batch, d1, d2, ...)` to `(batch, d1 * d2 * ...)` in row-major order, the order of
#' [array_reshape()]: element `[i, r, c]` of a `(n, 4, 5)` input goes to column `(r-1)*5 + c`.
#'
#' @inheritParams layer_dense
#' @param data_format Accepted for compatibility (channels last).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28)) %>% layer_flatten()
layer_flatten <- function(object, data_format = NULL, input_shape = NULL, dtype = NULL, name = NULL,
                          trainable = NULL, weights = NULL) {
  make_layer(object, "Flatten", "flatten", list(), name, trainable, input_shape)
}

#' @export
print.rkeras_layer <- function(x, ...) {
  cat(sprintf("<%s layer \"%s\">\n", x$class_name, x$name))
  invisible(x)
}
