# The model object: an environment (so verbs change it in place) holding the architecture
# as specs and a handle to the Rust model, built on first use.

new_model <- function(class_name, name, input_shape = NULL, input_name = NULL) {
  model <- new.env(parent = emptyenv())
  model$name <- name
  model$class_name <- class_name
  model$input_shape <- input_shape
  model$input_name <- input_name
  model$layer_specs <- list()
  model$ptr <- NULL
  model$compile_args <- NULL
  model$history <- NULL
  class(model) <- "rkeras_model"
  model
}

#' Create a sequential model
#'
#' A linear stack of layers. Layers are added with the `layer_*()` functions, which
#' change the model in place (so `model %>% layer_dense(...)` needs no reassignment).
#'
#' @param layers A list of layers (from `layer_*()` called without a model) to add.
#' @param name Model name (default `sequential`, `sequential_1`, ...).
#' @param ... `input_shape =` (the shape of one sample, without the batch axis) or
#'   `input_dim =`.
#' @returns A model (class `rkeras_model`).
#' @family model
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>%
#'   layer_dense(units = 3, activation = "softmax")
#' model
keras_model_sequential <- function(layers = NULL, name = NULL, ...) {
  dots <- list(...)
  name <- check_string(name, "name", null_ok = TRUE) %||% auto_name("sequential")
  shape <- dots$input_shape %||% dots$input_dim %||% (dots$batch_input_shape[-1])
  model <- new_model("Sequential", name, input_shape = if (!is.null(shape)) check_shape(shape))
  if (inherits(layers, "rkeras_layer")) layers <- list(layers)
  for (layer in layers) add_layer(model, layer)
  model
}

`%||%` <- function(a, b) if (is.null(a)) b else a

check_shape <- function(shape, name = "input_shape") {
  shape <- unlist(shape)
  if (!is.numeric(shape) || length(shape) == 0 || anyNA(shape) || any(shape < 1) || any(shape != round(shape)))
    stop_arg("`", name, "` must be a vector of positive whole numbers (one sample's shape, ",
             "without the batch axis), got ", describe_value(shape))
  as.integer(shape)
}

# Adds a layer spec to a model (in place). The first layer may carry the input shape.
add_layer <- function(model, layer) {
  check_model_idle(model)
  spec <- unclass(layer)
  if (!is.null(spec$input_shape)) {
    if (length(model$layer_specs) > 0)
      stop_arg("`input_shape` can only be given to the first layer of a sequential model (layer \"",
               spec$name, "\")")
    model$input_shape <- spec$input_shape
  }
  spec$input_shape <- NULL
  used <- c(model$input_name, vapply(model$layer_specs, `[[`, "", "name"))
  if (spec$name %in% used)
    stop_arg("All layer names should be unique: \"", spec$name, "\" is already used in model \"",
             model$name, "\"")
  model$layer_specs[[length(model$layer_specs) + 1]] <- spec
  invalidate(model)
  invisible(model)
}

# Models a fit(), evaluate() or predict() is running on (their callbacks and generators may
# reach them). Kept in the session, not in the model, so that a saved copy is never busy.
.busy <- new.env(parent = emptyenv())
.busy$models <- list()

model_busy <- function(model) {
  for (m in .busy$models) if (identical(m, model)) return(TRUE)
  FALSE
}

# Marks `model` busy until the calling function returns.
hold_model <- function(model, frame = parent.frame()) {
  .busy$models[[length(.busy$models) + 1L]] <- model
  do.call(on.exit, list(substitute(release_model(m), list(m = model)), add = TRUE), envir = frame)
  invisible(model)
}

release_model <- function(model) {
  for (i in rev(seq_along(.busy$models))) {
    if (identical(.busy$models[[i]], model)) {
      .busy$models[[i]] <- NULL
      break
    }
  }
}

# Refuses, before anything changes, to alter a model (or a layer's model) that is training.
check_model_idle <- function(object) {
  model <- if (inherits(object, "rkeras_layer_ref")) object$model_env else object
  if (inherits(model, "rkeras_model") && model_busy(model))
    stop(rkeras_condition(paste0("model \"", model$name, "\" is busy: it cannot be changed or used from inside ",
                                 "its own fit(), evaluate() or predict() (from a callback or a generator); ",
                                 "nothing was changed"), "rkeras_busy_error"))
  invisible(object)
}

# The architecture changed: the Rust model must be rebuilt (and recompiled).
invalidate <- function(model) {
  model$ptr <- NULL
  model$state <- NULL
}

model_spec <- function(model) {
  list(name = model$name, class_name = model$class_name,
       input_shape = as.list(model$input_shape), input_name = model$input_name,
       layers = model$layer_specs)
}

is_built <- function(model) !is.null(model$input_shape)

# The Rust model behind `model`, built (and compiled again) when needed. A model whose
# handle is gone (readRDS(), a new session) is rebuilt from its saved state (persistence.R).
model_ptr <- function(model) {
  ptr <- model$ptr
  if (is.null(ptr) || !ptr_alive(ptr)) {
    if (!is.null(model$state)) return(restore_state(model))
    if (!is_built(model))
      stop_arg("model \"", model$name, "\" has no input shape yet: give `input_shape =` to its first layer ",
               "or to keras_model_sequential()")
    if (length(model$layer_specs) == 0)
      stop_arg("model \"", model$name, "\" has no layers")
    ptr <- rk_model_build(model_spec(model), draw_seed())
    model$ptr <- ptr
    if (!is.null(model$compile_args)) rk_model_compile(ptr, model$compile_args)
    refresh_state(model)
  }
  ptr
}

# FALSE for a handle restored by readRDS() (its pointer is NULL) or from another session.
ptr_alive <- function(ptr) isTRUE(rk_handle_alive(ptr))

#' @export
print.rkeras_model <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

#' @export
summary.rkeras_model <- function(object, ...) {
  txt <- format(object, ...)
  cat(txt, sep = "\n")
  invisible(txt)
}

#' Format a model summary (the keras table)
#'
#' @param x A model.
#' @param width Line width (default `getOption("width")`).
#' @param ... Unused.
#' @returns A character vector, one element per line.
#' @family model
#' @export
format.rkeras_model <- function(x, width = getOption("width"), ...) {
  if (!is_built(x) || length(x$layer_specs) == 0)
    return(sprintf('Model: "%s"\n<no summary available, model was not built>', x$name))
  info <- rk_model_layers(model_ptr(x))
  width <- max(width, 60)
  stops <- round(c(0.45, 0.85, 1) * width)
  row <- function(a, b, c) {
    paste0(formatC(a, width = -stops[1]), formatC(b, width = -(stops[2] - stops[1])),
           formatC(c, width = -(stops[3] - stops[2])))
  }
  shape_str <- function(s) paste0("(None, ", paste(s, collapse = ", "), ")")
  lines <- c(sprintf('Model: "%s"', x$name), strrep("_", width), row("Layer (type)", "Output Shape", "Param #"),
             strrep("=", width))
  if (identical(x$class_name, "Functional")) {
    lines <- c(lines, row(sprintf("%s (InputLayer)", x$input_name),
                          paste0("[", shape_str(x$input_shape), "]"), "0"), strrep("_", width))
  }
  for (i in seq_along(info)) {
    spec <- x$layer_specs[[i]]
    lines <- c(lines, row(sprintf("%s (%s)", spec$name, spec$class_name), shape_str(info[[i]]$output_shape),
                          format(info[[i]]$params, scientific = FALSE)))
    lines <- c(lines, if (i < length(info)) strrep("_", width) else strrep("=", width))
  }
  total <- sum(vapply(info, function(l) l$params, 0))
  frozen <- sum(vapply(seq_along(info), function(i)
    if (isFALSE(x$layer_specs[[i]]$trainable)) info[[i]]$params else 0, 0))
  big <- function(n) formatC(n, format = "d", big.mark = ",")
  c(lines, paste("Total params:", big(total)), paste("Trainable params:", big(total - frozen)),
    paste("Non-trainable params:", big(frozen)), strrep("_", width))
}

#' Number of weights in a model
#'
#' @param object A model, or a layer from [get_layer()] or `model$layers`.
#' @returns The total number of weights (trainable and not).
#' @family model
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 784) %>% layer_dense(10)
#' count_params(model)
count_params <- function(object) {
  if (inherits(object, "rkeras_layer_ref")) {
    model <- object$model_env
    i <- layer_index(model, object$layer_name)
    if (is.na(i)) return(0)  # the input layer
    return(rk_model_layers(model_ptr(model))[[i]]$params)
  }
  check_model(object, "object")
  info <- rk_model_layers(model_ptr(object))
  sum(vapply(info, function(l) l$params, 0))
}
