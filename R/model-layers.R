# Layer and model introspection: get_layer(), pop_layer(), get/set_weights(), freezing,
# clone_model(), and the keras `$` idioms (model$layers, layer$trainable <- FALSE, ...).
#
# A layer from get_layer() or model$layers is a reference to a layer of a model (class
# `rkeras_layer_ref`): an environment holding the model and the layer's name, so that
# `layer$trainable <- FALSE` changes the model, as in keras.

new_layer_ref <- function(model, name) {
  ref <- new.env(parent = emptyenv())
  ref$model_env <- model
  ref$layer_name <- name
  class(ref) <- "rkeras_layer_ref"
  ref
}

# Names of model$layers: the input layer first for functional models (as keras does),
# then the layers.
layer_names <- function(model) {
  if (!is.null(model$graph)) return(model$graph$layer_order)
  names <- vapply(model$layer_specs, function(s) s$name, "")
  if (identical(model$class_name, "Functional")) c(model$input_name, names) else names
}

layer_index <- function(model, name) match(name, vapply(model$layer_specs, function(s) s$name, ""))

# A shape as keras shows it in R: list(NULL, 784L).
keras_shape <- function(shape) if (is.null(shape)) NULL else c(list(NULL), as.list(as.integer(shape)))

# Per-sample output shapes of the layers (from the built model).
layer_output_shapes <- function(model) lapply(rk_model_layers(model_ptr(model)), function(l) l$output_shape)

# Is this call from inside rkeras (which reads the environment's own fields)?
from_rkeras <- function(env) identical(topenv(env), topenv(environment(from_rkeras)))

#' Retrieve a layer of a model
#'
#' `index` is 1-based and negative values count from the end (`-1` is the last layer); if
#' both are given, `index` wins. For functional models the first layer is the input layer,
#' as in keras. The layer is a reference: `layer$trainable <- FALSE` changes the model.
#'
#' @param object A model.
#' @param name Layer name.
#' @param index Layer position (1-based; negative from the end).
#' @returns A layer (class `rkeras_layer_ref`) with `$name`, `$trainable`, `$weights`,
#'   `$input_shape`, `$output_shape`, `$get_weights()`, `$set_weights()` and its arguments
#'   (`$units`, `$activation`, ...).
#' @family layer introspection
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(8) %>% layer_dense(2)
#' get_layer(model, index = -1)$name
get_layer <- function(object, name = NULL, index = NULL) {
  check_model(object, "object")
  names <- layer_names(object)
  if (!is.null(index)) {
    if (!is.numeric(index) || length(index) != 1 || is.na(index) || index != round(index))
      stop_arg("`index` must be a single whole number, got ", describe_value(index))
    if (index == 0) stop_arg("`index` for get_layer() is 1-based (0 was passed as the index)")
    i <- if (index < 0) length(names) + index + 1 else index
    if (i < 1 || i > length(names))
      stop_arg("Was asked to retrieve layer at index ", index, " but model only has ", length(names), " layers.")
    return(new_layer_ref(object, names[[i]]))
  }
  if (!is.null(name)) {
    check_string(name, "name")
    if (!name %in% names)
      stop_arg("No such layer: ", name, ". Existing layers are: ", paste(names, collapse = ", "), ".")
    return(new_layer_ref(object, name))
  }
  stop_arg("Provide either a layer name or layer index")
}

#' Remove the last layer of a model
#'
#' The other layers keep their weights; a compiled model is compiled again (with a fresh
#' optimizer state).
#'
#' @param object A model.
#' @returns The model, invisibly (changed in place).
#' @family layer introspection
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(8) %>% layer_dense(2)
#' pop_layer(model)
#' length(model$layers)
pop_layer <- function(object) {
  check_model(object, "object")
  check_model_idle(object)
  if (!is.null(object$graph))
    stop_arg("pop_layer() works on sequential models only; \"", object$name, "\" is a functional model")
  n <- length(object$layer_specs)
  if (n == 0) stop_arg("There are no layers in the model.")
  live <- is_built(object) && (!is.null(object$state) || (!is.null(object$ptr) && ptr_alive(object$ptr)))
  if (!live || n == 1) {
    object$layer_specs <- object$layer_specs[-n]
    invalidate(object)
    return(invisible(object))
  }
  ptr <- model_ptr(object)
  object$layer_specs <- object$layer_specs[-n]
  rk_model_respec(ptr, model_spec(object), draw_seed())
  object$trainable_changed <- NULL
  if (!is.null(object$compile_args)) rk_model_compile(ptr, object$compile_args)
  refresh_state(object)
  invisible(object)
}

# Which weights (rows of rk_model_weight_info) belong to `object` (a model or a layer).
weight_rows <- function(object) {
  if (inherits(object, "rkeras_layer_ref")) {
    model <- object$model_env
    info <- rk_model_weight_info(model_ptr(model))
    list(model = model, info = info, keep = info$layer == object$layer_name)
  } else {
    check_model(object, "object")
    info <- rk_model_weight_info(model_ptr(object))
    list(model = object, info = info, keep = rep(TRUE, length(info$layer)))
  }
}

# The trainable flag of each weight, as the layers say now (keras: layer.trainable).
weight_trainable <- function(model, info) {
  flags <- vapply(model$layer_specs, function(s) !isFALSE(s$trainable), TRUE)
  names(flags) <- vapply(model$layer_specs, function(s) s$name, "")
  # layer state (batch normalization's moving statistics) is never trainable
  unname(flags[info$layer]) & !(info$state %||% FALSE)
}

#' Get or set the weights of a model or a layer
#'
#' Weights are a list of R arrays in keras order and shapes: for each layer with weights,
#' in order, its weights (dense: the kernel, an `inputs x units` matrix, then the bias, a
#' 1-d array of length `units`). `set_weights()` takes the same structure; it checks the
#' number of arrays and every shape (a plain vector is accepted for a 1-d weight) and
#' names the first one that is wrong; on error nothing changes.
#'
#' @param object A model, or a layer from [get_layer()].
#' @param trainable `NA` for all weights, `TRUE` for the trainable ones, `FALSE` for the
#'   others (of layers frozen with [freeze_weights()] or `trainable = FALSE`).
#' @param weights A list of arrays, as `get_weights()` returns.
#' @returns `get_weights()`: a list of arrays. `set_weights()`: `object`, invisibly.
#' @family layer introspection
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
#' w <- get_weights(model)
#' str(w)
#' w[[2]][] <- 1
#' set_weights(model, w)
get_weights <- function(object, trainable = NA) {
  if (!is.logical(trainable) || length(trainable) != 1)
    stop_arg("`trainable` must be NA, TRUE or FALSE, got ", describe_value(trainable))
  r <- weight_rows(object)
  keep <- r$keep
  if (!is.na(trainable)) keep <- keep & weight_trainable(r$model, r$info) == trainable
  rk_get_weights(model_ptr(r$model))[keep]
}

fmt_dims <- function(d) paste0("(", paste(d, collapse = ", "), ")")

#' @rdname get_weights
#' @export
set_weights <- function(object, weights) {
  check_model_idle(object)
  r <- weight_rows(object)
  info <- r$info
  idx <- which(r$keep)
  what <- if (inherits(object, "rkeras_layer_ref")) sprintf("layer \"%s\"", object$layer_name) else "the model"
  if (!is.list(weights) || is.data.frame(weights))
    stop_arg("`weights` must be a list of arrays (as get_weights() returns), got ", describe_value(weights))
  if (length(weights) != length(idx))
    stop_arg("set_weights(): ", what, " has ", length(idx), " weight arrays, ", length(weights), " were given")
  for (k in seq_along(idx)) {
    w <- weights[[k]]
    i <- idx[[k]]
    want <- info$shape[[i]]
    label <- sprintf("weights[[%d]] (%s/%s)", k, info$layer[[i]], info$weight[[i]])
    if (!(is.numeric(w) || is.logical(w)))
      stop_arg("set_weights(): ", label, " must be a numeric array, got ", describe_value(w))
    got <- dim(w) %||% length(w)
    if (!identical(as.integer(got), as.integer(want)))
      stop_arg("set_weights(): ", label, " must have shape ", fmt_dims(want), ", got shape ", fmt_dims(got))
  }
  all <- rk_get_weights(model_ptr(r$model))
  all[idx] <- weights
  rk_set_weights(model_ptr(r$model), all)
  refresh_state(r$model)
  invisible(object)
}

# ---- freezing ----

# Sets the trainable flag of the named layers in the specs. It takes effect in the Rust
# model at the next compile() (as in keras); summary() shows it at once.
set_layer_trainable <- function(model, names, value) {
  for (name in names) {
    i <- layer_index(model, name)
    if (is.na(i)) next  # the input layer has no weights
    if (!identical(model$layer_specs[[i]]$trainable, value)) {
      model$layer_specs[[i]]$trainable <- value
      model$trainable_changed <- TRUE
    }
  }
  invisible(model)
}

# At compile(): hands pending trainable changes to the Rust model (keeping its weights).
apply_pending_trainable <- function(model) {
  if (!isTRUE(model$trainable_changed)) return(invisible(model))
  if (!is_built(model) && is.null(model$state)) {
    model$trainable_changed <- NULL  # the specs carry the flags to the first build
    return(invisible(model))
  }
  ptr <- model_ptr(model)
  rk_model_respec(ptr, model_spec(model), draw_seed())
  model$trainable_changed <- NULL
  invisible(model)
}

# A layer given as a name, a 1-based index (negative from the end) or a layer, as a name.
resolve_layer_arg <- function(model, x, arg) {
  if (inherits(x, "rkeras_layer_ref")) return(x$layer_name)
  if (is.character(x)) return(get_layer(model, name = x)$layer_name)
  if (is.numeric(x)) return(get_layer(model, index = x)$layer_name)
  stop_arg("`", arg, "` must be a layer name, a layer index or a layer, got ", describe_value(x))
}

# Layers from..to (inclusive) get `value`, the others its opposite (keras's apply_trainable).
apply_trainable <- function(model, from, to, value) {
  names <- layer_names(model)
  from <- if (is.null(from)) names[[1]] else resolve_layer_arg(model, from, "from")
  to <- if (is.null(to)) names[[length(names)]] else resolve_layer_arg(model, to, "to")
  inside <- FALSE
  for (name in names) {
    if (name == from) inside <- TRUE
    set_layer_trainable(model, name, if (inside) value else !value)
    if (name == to) inside <- FALSE
  }
}

#' Freeze and unfreeze weights
#'
#' `freeze_weights()` makes layers not trainable: all of them, or with `from`/`to` the
#' layers from `from` to `to` (inclusive; a name, a 1-based index, negative from the end,
#' or a layer), the others becoming trainable. `unfreeze_weights()` makes everything
#' trainable first, then with `from`/`to` only that range. As in keras, the change takes
#' effect at the next [compile()] (training a model compiled before goes on updating the
#' layers as compiled); `summary()` shows it at once as non-trainable params, and
#' `count_params()` does not change. Frozen layers keep their weights through `fit()`.
#'
#' @param object A model or a layer from [get_layer()].
#' @param from,to First and last layer of the range.
#' @param which Instead of `from`/`to`: the layers to (un)freeze, the others becoming the
#'   opposite: layer names, 1-based positions (negative from the end), layers, a logical
#'   vector with one value per layer, or a function of a layer returning `TRUE`/`FALSE`.
#' @returns `object`, invisibly.
#' @family layer introspection
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(8) %>% layer_dense(2)
#' freeze_weights(model, to = 1)
#' model
freeze_weights <- function(object, from = NULL, to = NULL, which = NULL) {
  set_trainable(object, from, to, which, FALSE)
}

#' @rdname freeze_weights
#' @export
unfreeze_weights <- function(object, from = NULL, to = NULL, which = NULL) {
  set_trainable(object, from, to, which, TRUE)
}

# freeze_weights() (value FALSE) and unfreeze_weights() (TRUE): a layer reference, the whole
# model, a from..to range, or the layers `which` selects (the others get the opposite).
set_trainable <- function(object, from, to, which, value) {
  check_model_idle(object)
  if (inherits(object, "rkeras_layer_ref")) {
    set_layer_trainable(object$model_env, object$layer_name, value)
    return(invisible(object))
  }
  check_model(object, "object")
  if (!is.null(which)) {
    if (!is.null(from) || !is.null(to)) stop_arg("both `which` and `from`/`to` can not be supplied")
    names <- layer_names(object)
    set_layer_trainable(object, names, !value)
    set_layer_trainable(object, which_layers(object, which), value)
  } else if (is.null(from) && is.null(to)) {
    set_layer_trainable(object, layer_names(object), value)
  } else {
    if (value) set_layer_trainable(object, layer_names(object), TRUE)
    apply_trainable(object, from, to, value)
  }
  invisible(object)
}

# The names of the layers `which` selects: names, 1-based positions (negative from the end),
# layers, a logical vector over model$layers, or a function of a layer returning TRUE/FALSE.
which_layers <- function(model, which) {
  layers <- lapply(layer_names(model), function(n) new_layer_ref(model, n))
  if (is.function(which)) {
    which <- vapply(layers, function(l) isTRUE(which(l)), TRUE)
  }
  if (is.logical(which)) {
    if (length(which) != length(layers) || anyNA(which))
      stop_arg("`which` as a logical vector must have one TRUE/FALSE per layer (", length(layers), "), got ",
               describe_value(which))
    return(layer_names(model)[which])
  }
  if (inherits(which, "rkeras_layer_ref")) which <- list(which)
  vapply(as.list(which), function(w) resolve_layer_arg(model, w, "which"), "")
}

#' Clone a model
#'
#' The same architecture (layers, names, arguments) with fresh weights, initialised anew
#' from R's random generator; the clone is not compiled and shares nothing with `model`.
#'
#' @param model A model.
#' @param input_tensors,clone_function Accepted for compatibility when `NULL`.
#' @returns A new model.
#' @family layer introspection
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
#' clone <- clone_model(model)
clone_model <- function(model, input_tensors = NULL, clone_function = NULL) {
  check_model(model)
  if (!is.null(input_tensors) || !is.null(clone_function))
    stop_arg("clone_model(): `input_tensors` and `clone_function` are not supported yet")
  clone <- new_model(model$class_name, model$name, input_shape = model$input_shape, input_name = model$input_name)
  if (!is.null(model$graph)) {
    g <- model$graph
    g$layers <- model$layer_specs
    set_model_graph(clone, g)
    clone$input_tensors <- model$input_tensors
    clone$output_tensors <- model$output_tensors
  }
  clone$layer_specs <- model$layer_specs
  clone
}

# ---- the `$` idioms ----

model_fields <- c("layers", "inputs", "outputs", "input", "output", "output_names", "input_shape", "output_shape", "metrics_names", "optimizer", "loss", "weights",
                  "trainable_weights", "non_trainable_weights", "trainable", "get_weights", "set_weights",
                  "get_layer", "count_params", "pop", "summary")

# Fields a model may not have yet (read as NULL): keras sets them during fit().
model_optional_fields <- c("name", "history", "stop_training")

# `model$nonexistent` is an error naming what exists (keras: an AttributeError), not a silent NULL.
no_model_field <- function(x, name) {
  have <- model_public_fields(x)
  near <- have[agrepl(name, have, max.distance = 0.2) | startsWith(have, name)]
  stop_arg("a model has no field \"", name, "\"", if (length(near)) paste0(" (did you mean ", quote_names(near), "?)"),
           ". Fields: ", paste(have, collapse = ", "))
}

model_public_fields <- function(x) sort(unique(c(model_fields, model_optional_fields)))

#' @importFrom utils .DollarNames
#' @export
.DollarNames.rkeras_model <- function(x, pattern = "") {
  grep(pattern, model_public_fields(x), value = TRUE)
}

#' @export
`$.rkeras_model` <- function(x, name) {
  env <- model_env(x)
  field <- function(n) get0(n, envir = env, inherits = FALSE)
  if (from_rkeras(parent.frame())) return(field(name))
  if (!name %in% model_fields) {
    if (!exists(name, envir = env, inherits = FALSE) && !name %in% model_optional_fields) no_model_field(x, name)
    return(field(name))
  }
  g <- field("graph")
  switch(name,
    layers = lapply(layer_names(x), function(n) new_layer_ref(x, n)),
    inputs = field("input_tensors"),
    outputs = field("output_tensors"),
    input = { t <- field("input_tensors"); if (length(t) == 1) t[[1]] else t },
    output = { t <- field("output_tensors"); if (length(t) == 1) t[[1]] else t },
    output_names = output_names(x),
    input_shape = {
      if (is.null(g)) keras_shape(field("input_shape")) else {
        s <- lapply(g$inputs, function(i) keras_shape(i$shape))
        if (length(s) == 1) s[[1]] else s
      }
    },
    output_shape = {
      if (!is.null(g)) {
        info <- if (is_built(x)) rk_model_layers(model_ptr(x))
        s <- lapply(g$outputs, function(r) {
          if (!is.null(r$input)) keras_shape(g$inputs[[r$input + 1L]]$shape)
          else if (!is.null(info)) keras_shape(info[[g$nodes[[r$node + 1L]]$layer + 1L]]$output_shape)
        })
        if (length(s) == 1) s[[1]] else s
      } else {
        shapes <- if (is_built(x) && length(x$layer_specs)) layer_output_shapes(x)
        keras_shape(if (length(shapes)) shapes[[length(shapes)]] else field("input_shape"))
      }
    },
    metrics_names = {
      if (is.null(field("compile_args"))) character(0) else rk_model_compile_info(model_ptr(x))$log_keys
    },
    optimizer = {
      args <- field("compile_args")
      if (is.null(args)) return(NULL)
      opt <- args$optimizer
      live <- if (!is.null(field("ptr")) || !is.null(field("state"))) rk_model_compile_info(model_ptr(x))
      if (!is.null(live)) opt$learning_rate <- live$learning_rate
      structure(opt, class = "rkeras_optimizer")
    },
    loss = field("compile_args")$loss,
    weights = get_weights(x),
    trainable_weights = get_weights(x, trainable = TRUE),
    non_trainable_weights = get_weights(x, trainable = FALSE),
    trainable = any(vapply(x$layer_specs, function(s) !isFALSE(s$trainable), TRUE)),
    get_weights = function(trainable = NA) get_weights(x, trainable),
    set_weights = function(weights) set_weights(x, weights),
    get_layer = function(name = NULL, index = NULL) get_layer(x, name, index),
    count_params = function() count_params(x),
    pop = function() pop_layer(x),
    summary = function(...) summary(x, ...)
  )
}

#' @export
`$<-.rkeras_model` <- function(x, name, value) {
  if (!from_rkeras(parent.frame()) && name %in% model_fields) {
    if (name == "trainable") {
      set_layer_trainable(x, layer_names(x), check_flag(value, "trainable"))
      return(x)
    }
    # e.g. `model$layers[[1]]$trainable <- FALSE` ends by assigning model$layers: the
    # change already went through the layer reference
    if (name == "layers") return(x)
    stop_arg("`", name, "` of a model cannot be set")
  }
  assign(name, value, envir = model_env(x))
  x
}

#' @export
`$.rkeras_layer_ref` <- function(x, name) {
  model <- .subset2(x, "model_env")
  lname <- .subset2(x, "layer_name")
  if (from_rkeras(parent.frame()) && name %in% c("model_env", "layer_name")) return(.subset2(x, name))
  i <- layer_index(model, lname)
  spec <- if (!is.na(i)) model$layer_specs[[i]]
  shape_at <- function(k) if (k == 0) model$input_shape else layer_output_shapes(model)[[k]]
  g <- model$graph
  # in a graph: the shape of a tensor reference, and the references into a layer's first node
  ref_shape <- function(r) {
    if (!is.null(r$input)) g$inputs[[r$input + 1L]]$shape else layer_output_shapes(model)[[g$nodes[[r$node + 1L]]$layer + 1L]]
  }
  graph_input_shape <- function() {
    k <- match(lname, vapply(g$inputs, `[[`, "", "name"))
    if (!is.na(k)) return(keras_shape(g$inputs[[k]]$shape))
    node <- Find(function(n) n$layer == i - 1L, g$nodes)
    s <- lapply(node$inputs, function(r) keras_shape(ref_shape(r)))
    if (length(s) == 1) s[[1]] else s
  }
  graph_output_shape <- function() {
    k <- match(lname, vapply(g$inputs, `[[`, "", "name"))
    keras_shape(if (!is.na(k)) g$inputs[[k]]$shape else layer_output_shapes(model)[[i]])
  }
  switch(name,
    name = lname,
    class_name = if (is.null(spec)) "InputLayer" else spec$class_name,
    trainable = if (is.null(spec)) TRUE else !isFALSE(spec$trainable),
    input_shape = if (!is.null(g)) graph_input_shape() else keras_shape(shape_at(if (is.na(i)) 0 else i - 1)),
    output_shape = if (!is.null(g)) graph_output_shape() else keras_shape(shape_at(if (is.na(i)) 0 else i)),
    weights = get_weights(x),
    trainable_weights = get_weights(x, trainable = TRUE),
    non_trainable_weights = get_weights(x, trainable = FALSE),
    get_weights = function(trainable = NA) get_weights(x, trainable),
    set_weights = function(weights) set_weights(x, weights),
    count_params = function() count_params(x),
    get_config = function() spec,
    spec[[name]]
  )
}

#' @export
`$<-.rkeras_layer_ref` <- function(x, name, value) {
  if (!identical(name, "trainable"))
    stop_arg("only `trainable` can be set on a layer, not `", name, "`")
  set_layer_trainable(.subset2(x, "model_env"), .subset2(x, "layer_name"), check_flag(value, "trainable"))
  x
}

#' @export
print.rkeras_layer_ref <- function(x, ...) {
  cat(sprintf("<%s layer \"%s\"%s>\n", x$class_name, x$name, if (x$trainable) "" else " (frozen)"))
  invisible(x)
}
