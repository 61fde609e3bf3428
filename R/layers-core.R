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
  compose_layer(object, new_layer_object(spec))
}

# A layer object applied to what a layer function got first: a model (the layer is added),
# a tensor or a list of tensors (a new tensor), or nothing (the layer object itself).
compose_layer <- function(object, layer) {
  if (missing(object) || is.null(object)) return(layer)
  if (inherits(object, "rkeras_model")) return(add_layer(object, layer))
  if (is_tensor(object) || !is.null(as_tensor_list(object))) return(apply_layer_object(object, layer))
  stop_arg("the first argument of a layer function must be a model, a tensor from layer_input() or NULL, got ",
           describe_value(object))
}

initializer_names <- c("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                       "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
                       "orthogonal", "identity")

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

#' Reshape layer
#'
#' Gives each sample the shape `target_shape` (row-major, as [array_reshape()]); one
#' dimension may be `-1`, computed from the others.
#'
#' @inheritParams layer_dense
#' @param target_shape Shape of one output sample, without the batch axis (`c(2, 3)`).
#' @param ... Other keras arguments: an unknown name is an error.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 6) %>% layer_reshape(c(2, 3))
layer_reshape <- function(object, target_shape, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                          dtype = NULL, name = NULL, trainable = NULL, weights = NULL, ...) {
  check_dots(list(...), fn = "layer_reshape")
  d <- unlist(target_shape)
  if (!is.numeric(d) || length(d) == 0 || anyNA(d) || any(d != round(d)) || any(d < 1 & d != -1) || sum(d == -1) > 1)
    stop_arg("layer_reshape(): `target_shape` must be positive whole numbers (one of them may be -1), got ",
             describe_value(target_shape))
  make_layer(object, "Reshape", "reshape", list(target_shape = as.list(as.integer(d))), name, trainable,
             input_shape_arg(input_shape, batch_input_shape))
}

#' Permute layer
#'
#' Permutes the axes of each sample: `dims = c(2, 1)` swaps the two axes of a
#' `(batch, a, b)` input, giving `(batch, b, a)`. Axes are numbered from 1 and the batch
#' axis is not counted, as in keras.
#'
#' @inheritParams layer_reshape
#' @param dims A permutation of `1:k` for samples of rank `k`.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(2, 3)) %>% layer_permute(c(2, 1))
layer_permute <- function(object, dims, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                          dtype = NULL, name = NULL, trainable = NULL, weights = NULL, ...) {
  check_dots(list(...), fn = "layer_permute")
  d <- unlist(dims)
  if (!is.numeric(d) || length(d) == 0 || anyNA(d) || !setequal(d, seq_along(d)) || anyDuplicated(d))
    stop_arg("layer_permute(): `dims` must be a permutation of 1:k (axes counted from 1, without the batch axis), ",
             "got ", describe_value(dims))
  make_layer(object, "Permute", "permute", list(dims = as.list(as.integer(d))), name, trainable,
             input_shape_arg(input_shape, batch_input_shape))
}

#' Repeat vector layer
#'
#' Repeats each input vector `n` times: `(batch, features)` to `(batch, n, features)`.
#'
#' @inheritParams layer_reshape
#' @param n Number of repetitions.
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_repeat_vector(3)
layer_repeat_vector <- function(object, n, input_shape = NULL, batch_input_shape = NULL, batch_size = NULL,
                                dtype = NULL, name = NULL, trainable = NULL, weights = NULL, ...) {
  check_dots(list(...), fn = "layer_repeat_vector")
  make_layer(object, "RepeatVector", "repeat_vector", list(n = check_count(n, "n")), name, trainable,
             input_shape_arg(input_shape, batch_input_shape))
}
