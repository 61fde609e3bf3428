# Merge layers: they take a list of tensors (`layer_add(list(a, b))`, or the tensors as
# further unnamed arguments, `layer_add(a, b)`); called without tensors they return a layer
# object, to be called on a list of tensors later (`add <- layer_add(); add(list(a, b))`).
# Shapes are checked when the model is built (the error names the layer and the shapes).

merge_layer <- function(fn, class_name, prefix, inputs, dots, args = list()) {
  nm <- names(dots) %||% rep("", length(dots))
  named <- dots[nm != ""]
  check_dots(named, c("name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size", "weights"),
             fn = fn)
  tensors <- if (is.null(inputs)) list() else if (is_tensor(inputs)) list(inputs) else inputs
  tensors <- c(tensors, unname(dots[nm == ""]))
  if (length(tensors) && !all(vapply(tensors, is_tensor, TRUE)))
    stop_arg(fn, "(): `inputs` must be a list of tensors (from layer_input() or layers), got ",
             describe_value(tensors[!vapply(tensors, is_tensor, TRUE)][[1]]))
  layer <- make_layer(NULL, class_name, prefix, args, named$name, named$trainable, NULL)
  if (length(tensors) == 0) return(layer)
  check_merge_count(paste0(fn, "()"), length(tensors), class_name)
  apply_layer_object(tensors, layer)
}

check_merge_count <- function(fn, n, class_name) {
  if (class_name %in% c("Subtract", "Dot") && n != 2)
    stop_arg(fn, ": a ", class_name, " layer should be called on exactly 2 inputs, got ", n)
  if (n < 2) stop_arg(fn, ": a merge layer should be called on a list of at least 2 inputs, got ", n)
}

#' Merge layers
#'
#' `layer_concatenate()` joins its inputs along `axis`; `layer_add()`, `layer_subtract()`
#' (exactly two inputs: the first minus the second), `layer_multiply()`, `layer_average()`,
#' `layer_maximum()` and `layer_minimum()` combine inputs of the same shape element by
#' element; `layer_dot()` takes the dot product of two inputs along `axes`.
#'
#' @param inputs A list of tensors; missing or `NULL` for a layer object, to be called on a
#'   list of tensors later.
#' @param ... More input tensors (unnamed), and the layer arguments `name =`,
#'   `trainable =` (and `dtype =`, accepted for compatibility).
#' @param axis Axis to concatenate along, counting the batch axis as 0 as in keras: `-1`
#'   (the default) is the last axis, `1` the first axis of a sample.
#' @param axes Axis or axes (one per input) to take the dot product along, counted as `axis`.
#' @param normalize Whether to L2-normalise the inputs along `axes` first (the result is then
#'   the cosine proximity).
#' @returns A tensor, or a layer object when no tensors are given.
#' @family layers
#' @name layer-merging
#' @examples
#' a <- layer_input(shape = 4)
#' b <- layer_input(shape = 4)
#' both <- layer_concatenate(list(a, b))
#' sum <- layer_add(list(a, b))
#' model <- keras_model(list(a, b), list(both, sum))
NULL

#' @rdname layer-merging
#' @export
layer_concatenate <- function(inputs = NULL, ..., axis = -1L) {
  axis <- check_count(axis, "axis", min = -.Machine$integer.max)
  merge_layer("layer_concatenate", "Concatenate", "concatenate", inputs, list(...), list(axis = axis))
}

#' @rdname layer-merging
#' @export
layer_add <- function(inputs = NULL, ...) merge_layer("layer_add", "Add", "add", inputs, list(...))

#' @rdname layer-merging
#' @export
layer_subtract <- function(inputs = NULL, ...) merge_layer("layer_subtract", "Subtract", "subtract", inputs, list(...))

#' @rdname layer-merging
#' @export
layer_multiply <- function(inputs = NULL, ...) merge_layer("layer_multiply", "Multiply", "multiply", inputs, list(...))

#' @rdname layer-merging
#' @export
layer_average <- function(inputs = NULL, ...) merge_layer("layer_average", "Average", "average", inputs, list(...))

#' @rdname layer-merging
#' @export
layer_maximum <- function(inputs = NULL, ...) merge_layer("layer_maximum", "Maximum", "maximum", inputs, list(...))

#' @rdname layer-merging
#' @export
layer_minimum <- function(inputs = NULL, ...) merge_layer("layer_minimum", "Minimum", "minimum", inputs, list(...))

#' @rdname layer-merging
#' @export
layer_dot <- function(inputs = NULL, ..., axes, normalize = FALSE) {
  if (missing(axes)) stop_arg("layer_dot(): `axes` is required (the axis or axes to take the dot product along)")
  a <- unlist(axes)
  if (!is.numeric(a) || !length(a) %in% 1:2 || anyNA(a) || any(a != round(a)))
    stop_arg("layer_dot(): `axes` must be one whole number or two (one per input), got ", describe_value(axes))
  a <- as.integer(rep_len(a, 2))
  merge_layer("layer_dot", "Dot", "dot", inputs, list(...),
              list(axes = as.list(a), normalize = check_flag(normalize, "normalize")))
}
