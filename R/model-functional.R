# Functional API: layer_input() makes a symbolic tensor; applying a layer (or a model) to
# tensors makes a new tensor; keras_model() turns the graph between some input tensors and
# some output tensors into a model (the graph spec of GRAPH-CONTRACT.md).
#
# A tensor is immutable plain R data: a reference to what produced it (an input or a node)
# and the whole sub-graph needed to compute it, as three lists keyed by ids (inputs, layers,
# nodes). Ids are unique in the session (and carry a session token, so that tensors read back
# with readRDS() never collide with new ones). Tensors from several inputs merge their
# graphs by id, so a layer object applied twice is one layer with two nodes (shared weights).
# Output shapes are not inferred in R: the Rust core reports them when the model is built
# (and a mismatch is an error there that names the layer and the shapes).

.graph_ids <- new.env(parent = emptyenv())
.graph_ids$n <- 0L

# A new id, unique in this session and across sessions (no draw from R's RNG).
graph_id <- function() {
  if (is.null(.graph_ids$session))
    .graph_ids$session <- paste0(format(Sys.time(), "%Y%m%d%H%M%OS6"), "-", Sys.getpid())
  .graph_ids$n <- .graph_ids$n + 1L
  paste0(.graph_ids$session, "#", .graph_ids$n)
}

#' Input layer of a functional model
#'
#' Makes a symbolic tensor that `layer_*()` functions, layers and models are applied to;
#' [keras_model()] then makes a model from input and output tensors. Dimensions given as
#' `NA` (`shape = c(NA, 8)`) are taken from the data at the first `fit()`, `evaluate()` or
#' `predict()` (or from [build()]).
#'
#' @param shape Shape of one sample, without the batch axis (`c(784)`); `NA` for a dimension
#'   that the data decides.
#' @param batch_shape Shape including the batch axis (its first element is ignored).
#' @param name Name of the input layer (default `input_layer`, `input_layer_1`, ...).
#' @param dtype,sparse,tensor,ragged Accepted for compatibility (`dtype` must be a float type).
#' @param ... `batch_size`, `optional`: accepted for compatibility.
#' @returns A symbolic tensor (class `rkeras_tensor`).
#' @family model
#' @export
#' @examples
#' inputs <- layer_input(shape = 784)
#' outputs <- inputs %>% layer_dense(10, activation = "softmax")
#' model <- keras_model(inputs, outputs)
layer_input <- function(shape = NULL, batch_shape = NULL, name = NULL, dtype = NULL, sparse = FALSE,
                        tensor = NULL, ragged = FALSE, ...) {
  check_dots(list(...), c("batch_size", "optional"), fn = "layer_input")
  shape <- shape %||% (if (!is.null(batch_shape)) as.list(batch_shape)[-1])
  if (is.null(shape)) stop_arg("layer_input() needs `shape` (one sample's shape, without the batch axis)")
  if (!is.null(dtype) && !check_string(dtype, "dtype") %in% c("float32", "float64", "float16"))
    stop_arg("layer_input(): rkeras computes in float32; `dtype` \"", dtype, "\" is not supported")
  if (!isFALSE(sparse) || !isFALSE(ragged) || !is.null(tensor))
    stop_arg("layer_input(): `sparse`, `ragged` and `tensor` are not supported by rkeras")
  shape <- check_input_shape(shape, "shape")
  input_tensor(check_string(name, "name", null_ok = TRUE) %||% auto_name("input_layer"), shape)
}

# A per-sample shape where NA marks a dimension the data decides.
check_input_shape <- function(shape, name = "shape") {
  if (is.list(shape)) shape <- vapply(shape, function(d) if (is.null(d)) NA_real_ else as.numeric(d), 0)
  d <- if (is.numeric(shape) || is.logical(shape)) as.numeric(shape) else NULL
  known <- d[!is.na(d)]
  if (length(d) == 0 || (is.logical(shape) && !all(is.na(shape))) || any(known < 1) || any(known != round(known)))
    stop_arg("`", name, "` must be a vector of positive whole numbers or NA (one sample's shape, ",
             "without the batch axis), got ", describe_value(shape))
  as.integer(d)
}

new_tensor <- function(graph, ref) structure(list(graph = graph, ref = ref), class = "rkeras_tensor")

is_tensor <- function(x) inherits(x, "rkeras_tensor")

# Unions of graphs (by id; the same id always holds the same record).
merge_graphs <- function(graphs) {
  out <- graphs[[1]]
  for (g in graphs[-1]) {
    for (part in c("inputs", "layers", "nodes")) {
      new <- setdiff(names(g[[part]]), names(out[[part]]))
      out[[part]][new] <- g[[part]][new]
    }
  }
  # nodes in creation order, which is topological
  out$nodes <- out$nodes[order(vapply(out$nodes, function(n) n$seq, 0))]
  out
}

# A list of tensors from a tensor, a list of tensors, or c() of them; NULL if `x` is not
# made of tensors.
as_tensor_list <- function(x) {
  if (is_tensor(x)) return(list(x))
  if (is.list(x) && length(x) > 0 && all(vapply(x, is_tensor, TRUE))) return(x)
  NULL
}

#' @export
c.rkeras_tensor <- function(...) {
  items <- list(...)
  out <- list()
  for (x in items) {
    if (is_tensor(x)) out[[length(out) + 1]] <- x
    else if (is.list(x)) out <- c(out, unname(x))
    else stop_arg("c() of tensors: cannot combine a tensor with ", describe_value(x))
  }
  out
}

# The name of what produced a tensor, as keras shows it: `dense[0][0]`, `input_a[0][0]`.
tensor_label <- function(t) {
  g <- t$graph
  if (!is.null(t$ref$input)) return(paste0(g$inputs[[t$ref$input]]$name, "[0][0]"))
  node <- g$nodes[[t$ref$node]]
  paste0(g$layers[[node$layer]]$spec$name, "[", node$index, "][0]")
}

#' @export
print.rkeras_tensor <- function(x, ...) {
  if (!is.null(x$ref$input)) {
    input <- x$graph$inputs[[x$ref$input]]
    cat(sprintf("<KerasTensor shape=%s, dtype=float32, sparse=False, name=%s>\n",
                keras_shape_string(input$shape), input$name))
  } else {
    node <- x$graph$nodes[[x$ref$node]]
    spec <- x$graph$layers[[node$layer]]$spec
    cat(sprintf("<KerasTensor from %s (%s), node %s>\n", spec$name, spec$class_name, tensor_label(x)))
  }
  invisible(x)
}

# "(None, 8)", "(None, None, 8)".
keras_shape_string <- function(shape) {
  paste0("(", paste(c("None", ifelse(is.na(shape), "None", shape)), collapse = ", "), ")")
}

# Applies a layer record (list(id, spec, kind, ...)) and its call counter to tensors: a new
# tensor whose graph holds one more node. `counter` is the environment counting the calls
# of that layer (keras's node index).
tensor_apply <- function(tensors, record, counter) {
  graph <- merge_graphs(lapply(tensors, `[[`, "graph"))
  name <- record$spec$name
  if (is.null(graph$layers[[record$id]])) {
    used <- c(vapply(graph$inputs, `[[`, "", "name"),
              vapply(graph$layers, function(l) l$spec$name, ""))
    if (name %in% used)
      stop_arg("All layer names should be unique: \"", name, "\" is already used by another layer of this graph")
    graph$layers[[record$id]] <- record
  }
  index <- counter$calls %||% 0L
  counter$calls <- index + 1L
  node <- list(id = graph_id(), seq = .graph_ids$n, layer = record$id, index = index,
               inputs = lapply(tensors, `[[`, "ref"))
  graph$nodes[[node$id]] <- node
  new_tensor(graph, list(node = node$id))
}

# ---- layer objects: a layer made without a model or tensor, callable on tensors ----

# A layer object is a function (so that `shared(a)` works, as in keras) whose environment
# holds its spec, its id and its call count. Its `$` gives the spec's fields.
new_layer_object <- function(spec) {
  env <- new.env(parent = topenv(environment(new_layer_object)))
  env$spec <- spec
  env$id <- graph_id()
  env$calls <- 0L
  f <- function(object, ...) call_layer(sys.function(), object, ...)
  environment(f) <- env
  class(f) <- "rkeras_layer"
  f
}

layer_env <- function(layer) environment(unclass(layer))

# The spec of a layer object (a copy).
layer_spec <- function(layer) layer_env(layer)$spec

call_layer <- function(self, object, ...) {
  if (length(list(...))) stop_arg("a layer is called with one argument: a tensor or a list of tensors")
  compose_layer(object, self)
}

#' @export
`$.rkeras_layer` <- function(x, name) {
  env <- layer_env(x)
  if (name == "spec" && from_rkeras(parent.frame())) return(env$spec)
  env$spec[[name]]
}

#' @export
`$<-.rkeras_layer` <- function(x, name, value) {
  if (!identical(name, "trainable")) stop_arg("only `trainable` can be set on a layer, not `", name, "`")
  env <- layer_env(x)
  env$spec$trainable <- check_flag(value, "trainable")
  x
}

#' @export
print.rkeras_layer <- function(x, ...) {
  cat(sprintf("<%s layer \"%s\">\n", x$class_name, x$name))
  invisible(x)
}

# A layer object applied to a model, a tensor or a list of tensors (merge layers).
apply_layer_object <- function(object, layer) {
  tensors <- as_tensor_list(object)
  if (is.null(tensors))
    stop_arg("layer \"", layer$name, "\" must be called on a model, a tensor from layer_input() or a list of ",
             "tensors, got ", describe_value(object))
  env <- layer_env(layer)
  spec <- env$spec
  spec$input_shape <- NULL
  n <- length(tensors)
  if (spec$class_name %in% merge_classes) check_merge_count(paste0("layer \"", spec$name, "\""), n, spec$class_name)
  else if (n != 1)
    stop_arg("layer \"", spec$name, "\" (", spec$class_name, ") takes one input tensor, ", n, " were given")
  tensor_apply(tensors, list(id = env$id, spec = spec), env)
}

merge_classes <- c("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot")

# ---- models used as layers ----

# The layer spec of a model nested in another one (GRAPH-CONTRACT.md).
nested_model_spec <- function(model) {
  if (length(model$layer_specs) == 0) stop_arg("model \"", model$name, "\" has no layers: it cannot be used as a layer")
  if (!is_built(model))
    stop_arg("model \"", model$name, "\" has no input shape yet: a model used as a layer needs one (give ",
             "`input_shape =` or build() it first)")
  if (!is.null(model$graph) && length(model$graph$outputs) != 1)
    stop_arg("model \"", model$name, "\" has ", length(model$graph$outputs), " outputs: a model used as a layer ",
             "must have exactly one output")
  list(class_name = model$class_name, name = model$name, trainable = TRUE, model = model_spec(model))
}

# `model(x)`: a model applied to tensors (a nested model node) or added to a sequential model.
call_model <- function(self, object, ...) {
  if (length(list(...))) stop_arg("a model is called with one argument: a tensor, a list of tensors or a model")
  if (inherits(object, "rkeras_model")) {
    if (!identical(object$class_name, "Sequential"))
      stop_arg("model \"", self$name, "\" can only be added to a sequential model, not to \"", object$name, "\"")
    return(add_layer(object, nested_model_spec(self)))
  }
  tensors <- as_tensor_list(object)
  if (is.null(tensors))
    stop_arg("model \"", self$name, "\" must be called on a tensor or a list of tensors, got ", describe_value(object))
  n_in <- if (!is.null(self$graph)) length(self$graph$inputs) else 1L
  if (length(tensors) != n_in)
    stop_arg("model \"", self$name, "\" takes ", n_in, " input(s), ", length(tensors), " tensor(s) were given")
  env <- model_env(self)
  if (is.null(env$graph_layer_id)) env$graph_layer_id <- graph_id()
  tensor_apply(tensors, list(id = env$graph_layer_id, spec = nested_model_spec(self)), env)
}

# ---- keras_model() ----

#' Create a functional model
#'
#' A model from the graph of layers between `inputs` and `outputs`: several inputs and
#' outputs, shared layers (one layer object applied to several tensors shares its weights),
#' merge layers ([layer_concatenate()], [layer_add()], ...) and nested models. The layers
#' (`model$layers`) are in keras's order: by depth from the inputs, input layers included.
#'
#' @param inputs A tensor from [layer_input()], or a list of them (named or not).
#' @param outputs A tensor computed from `inputs`, or a list of them. Outputs are named by the
#'   layers that produce them (the names of the losses and metrics in the logs).
#' @param name Model name (default `functional`, `functional_1`, ...).
#' @param ... Unused; an unknown argument is an error.
#' @returns A model (class `rkeras_model`).
#' @family model
#' @export
#' @examples
#' a <- layer_input(shape = 4, name = "a")
#' b <- layer_input(shape = 4, name = "b")
#' shared <- layer_dense(units = 3)
#' out <- layer_concatenate(list(shared(a), shared(b))) %>% layer_dense(1)
#' model <- keras_model(list(a, b), out)
#' model
keras_model <- function(inputs, outputs = NULL, name = NULL, ...) {
  check_dots(list(...), fn = "keras_model")
  in_list <- as_tensor_list(inputs)
  if (is.null(in_list))
    stop_arg("keras_model(): `inputs` must be a tensor from layer_input() or a list of them, got ",
             describe_value(inputs))
  for (t in in_list) {
    if (is.null(t$ref$input))
      stop_arg("keras_model(): every input must be a tensor from layer_input(); ", tensor_label(t),
               " is the output of layer \"", t$graph$layers[[t$graph$nodes[[t$ref$node]]$layer]]$spec$name, "\"")
  }
  out_list <- as_tensor_list(outputs)
  if (is.null(out_list))
    stop_arg("keras_model(): `outputs` must be a tensor computed from `inputs` or a list of them, got ",
             describe_value(outputs))
  graph <- build_graph(in_list, out_list)
  name <- check_string(name, "name", null_ok = TRUE) %||% auto_name("functional")
  model <- new_model("Functional", name)
  set_model_graph(model, graph)
  model$input_tensors <- in_list
  model$output_tensors <- out_list
  # shapes and merges are checked now, as keras does, when every input shape is known
  if (graph_is_built(graph)) rk_model_check(graph_model_spec(model))
  model
}

# Keras's map_graph(): walks back from the outputs (depth-first, inputs in order), gives
# every node and layer a depth (longest path to an output), checks that every tensor needed
# comes from the given inputs and that names are unique. Returns the graph as
# GRAPH-CONTRACT.md lays it out, plus what summary() and model$layers need.
build_graph <- function(inputs, outputs) {
  g <- merge_graphs(lapply(c(inputs, outputs), `[[`, "graph"))
  input_ids <- vapply(inputs, function(t) t$ref$input, "")
  if (anyDuplicated(input_ids))
    stop_arg("keras_model(): input \"", g$inputs[[input_ids[anyDuplicated(input_ids)]]]$name, "\" is given twice")
  layer_name <- function(lid) g$layers[[lid]]$spec$name
  # depth-first walk: nodes in post-order (inputs before the nodes that use them)
  order_nodes <- character()
  op_index <- list()   # first traversal index of each operation (layer id, or input id)
  finished <- character()
  in_progress <- character()
  visited_layers <- character()
  walk <- function(ref, consumer) {
    if (!is.null(ref$input)) {
      if (!ref$input %in% input_ids) {
        inp <- g$inputs[[ref$input]]
        stop_arg("Graph disconnected: cannot obtain value for tensor \"", inp$name, "\" (input layer, shape ",
                 keras_shape_string(inp$shape), ") at layer \"", consumer, "\". It is not one of the model's inputs (",
                 paste0("\"", vapply(inputs, function(t) g$inputs[[t$ref$input]]$name, ""), "\"", collapse = ", "),
                 "). The following previous layers were accessed without issue: [",
                 if (length(visited_layers)) paste0("'", visited_layers, "'", collapse = ", "), "]")
      }
      if (is.null(op_index[[ref$input]])) op_index[[ref$input]] <<- length(op_index)
      return(invisible())
    }
    id <- ref$node
    if (id %in% finished) return(invisible())
    if (id %in% in_progress) stop_arg("the graph has a cycle at layer \"", layer_name(g$nodes[[id]]$layer), "\"")
    node <- g$nodes[[id]]
    if (is.null(op_index[[node$layer]])) op_index[[node$layer]] <<- length(op_index)
    in_progress <<- c(in_progress, id)
    for (r in node$inputs) walk(r, layer_name(node$layer))
    visited_layers <<- union(visited_layers, layer_name(node$layer))
    finished <<- c(finished, id)
    in_progress <<- setdiff(in_progress, id)
    order_nodes <<- c(order_nodes, id)
  }
  for (t in outputs) walk(t$ref, "(model output)")
  # depths, as map_graph() computes them
  node_depth <- stats::setNames(integer(0), character(0))
  op_depth <- stats::setNames(integer(0), character(0))
  parent_ids <- function(id) vapply(g$nodes[[id]]$inputs, function(r) r$node %||% paste0("input:", r$input), "")
  for (id in rev(order_nodes)) {
    d <- if (is.na(node_depth[id])) 0L else node_depth[[id]]
    lid <- g$nodes[[id]]$layer
    d <- max(d, if (is.na(op_depth[lid])) 0L else op_depth[[lid]])
    op_depth[lid] <- d
    node_depth[id] <- d
    for (p in parent_ids(id)) node_depth[p] <- max(d + 1L, if (is.na(node_depth[p])) 0L else node_depth[[p]])
  }
  for (iid in input_ids) {
    key <- paste0("input:", iid)
    op_depth[iid] <- if (is.na(node_depth[key])) 0L else node_depth[[key]]
    if (is.null(op_index[[iid]])) op_index[[iid]] <- length(op_index)  # unused input: last
  }
  ops <- names(op_depth)
  ops <- ops[order(-op_depth[ops], vapply(ops, function(o) op_index[[o]], 0))]
  op_names <- vapply(ops, function(o) if (o %in% input_ids) g$inputs[[o]]$name else layer_name(o), "")
  dup <- op_names[duplicated(op_names)]
  if (length(dup))
    stop_arg("The name \"", dup[[1]], "\" is used ", sum(op_names == dup[[1]]),
             " times in the model. All layer names should be unique.")
  layer_ids <- setdiff(ops, input_ids)
  # the contract's layout: 0-based indices
  ref_of <- function(r) {
    if (!is.null(r$input)) list(input = match(r$input, input_ids) - 1L)
    else list(node = match(r$node, order_nodes) - 1L)
  }
  nodes <- lapply(order_nodes, function(id) {
    n <- g$nodes[[id]]
    list(layer = match(n$layer, layer_ids) - 1L, inputs = lapply(n$inputs, ref_of))
  })
  list(inputs = lapply(input_ids, function(i) list(name = g$inputs[[i]]$name, shape = g$inputs[[i]]$shape)),
       layers = lapply(layer_ids, function(l) g$layers[[l]]$spec),
       nodes = nodes,
       outputs = lapply(outputs, function(t) ref_of(t$ref)),
       # for summary() and model$layers: keras's order with the input layers, and the
       # keras node index ("shared[1][0]") of each node
       layer_order = unname(op_names),
       node_keras_index = vapply(order_nodes, function(id) g$nodes[[id]]$index, 0L, USE.NAMES = FALSE))
}

# Stores a graph (from build_graph() or read back from Rust) in a model.
set_model_graph <- function(model, graph) {
  model$graph <- graph
  model$layer_specs <- graph$layers
  model$input_name <- NULL
  model$input_shape <- NULL
  invisible(model)
}

# The names of the layers producing the outputs (the outputs' names in logs and lists).
output_names <- function(model) {
  g <- model$graph
  if (is.null(g)) return(NULL)
  vapply(g$outputs, function(r) {
    if (!is.null(r$input)) g$inputs[[r$input + 1L]]$name else g$layers[[g$nodes[[r$node + 1L]]$layer + 1L]]$name
  }, "")
}

# A graph spec with its NA input dimensions filled from the data (one per-sample shape per
# input); an error naming the input when a known dimension disagrees.
fill_graph_shapes <- function(model, data_shapes) {
  g <- model$graph
  input_names <- vapply(g$inputs, `[[`, "", "name")
  if (!is.null(names(data_shapes)) && all(input_names %in% names(data_shapes)))
    data_shapes <- data_shapes[input_names]  # a named list of arrays: by input name
  if (length(data_shapes) != length(g$inputs))
    stop_arg("model \"", model$name, "\" has ", length(g$inputs), " input(s), the data has ", length(data_shapes))
  for (i in seq_along(g$inputs)) {
    want <- g$inputs[[i]]$shape
    got <- as.integer(data_shapes[[i]])
    if (length(want) != length(got) || any(!is.na(want) & want != got))
      stop_arg("input \"", g$inputs[[i]]$name, "\" of model \"", model$name, "\" expects samples of shape ",
               keras_shape_string(want), ", the data has shape ", keras_shape_string(got))
    g$inputs[[i]]$shape <- got
  }
  model$graph <- g
  invisible(model)
}

graph_is_built <- function(graph) all(vapply(graph$inputs, function(i) !anyNA(i$shape), TRUE))

# The contract's spec of a graph model.
graph_model_spec <- function(model) {
  g <- model$graph
  list(name = model$name, class_name = "Functional",
       inputs = lapply(g$inputs, function(i) list(name = i$name, shape = as.list(i$shape))),
       layers = model$layer_specs, nodes = g$nodes, outputs = g$outputs)
}

# A graph as Rust gives it back (a loaded model's spec): the spec's layers, nodes and outputs
# as they are (the weights follow that order), keras's layer order (with the input layers)
# recomputed, and tensors for model$inputs and model$outputs.
graph_from_spec <- function(spec) {
  first <- c("class_name", "name", "trainable")
  layers <- lapply(spec$layers, function(s) s[c(first, setdiff(names(s), first))])
  inputs <- lapply(spec$inputs, function(i) list(name = i$name, shape = as.integer(unlist(i$shape))))
  as_ref <- function(r) if (!is.null(r$input)) list(input = as.integer(r$input)) else list(node = as.integer(r$node))
  nodes <- lapply(spec$nodes, function(n) list(layer = as.integer(n$layer), inputs = lapply(n$inputs, as_ref)))
  outputs <- lapply(spec$outputs, as_ref)
  tensors_in <- lapply(inputs, function(i) input_tensor(i$name, i$shape))
  objects <- lapply(layers, new_layer_object)
  made <- list()
  resolve <- function(r) if (!is.null(r$input)) tensors_in[[r$input + 1L]] else made[[r$node + 1L]]
  for (k in seq_along(nodes)) {
    n <- nodes[[k]]
    made[[k]] <- apply_layer_object(lapply(n$inputs, resolve), objects[[n$layer + 1L]])
  }
  outs <- lapply(outputs, resolve)
  rebuilt <- build_graph(tensors_in, outs)
  layer_of_node <- vapply(nodes, function(n) n$layer, 0L)
  keras_index <- vapply(seq_along(nodes), function(k) sum(layer_of_node[seq_len(k - 1)] == layer_of_node[[k]]), 0L)
  graph <- list(inputs = inputs, layers = layers, nodes = nodes, outputs = outputs,
                layer_order = rebuilt$layer_order, node_keras_index = keras_index)
  list(graph = graph, inputs = tensors_in, outputs = outs)
}

# An input tensor with a given name (no auto-name drawn).
input_tensor <- function(name, shape) {
  input <- list(id = graph_id(), name = name, shape = shape)
  new_tensor(list(inputs = stats::setNames(list(input), input$id), layers = list(), nodes = list()),
             list(input = input$id))
}

# Depth of each node (0-based list order): the longest path to an output, as keras counts.
graph_node_depths <- function(graph) {
  n <- length(graph$nodes)
  depth <- integer(n)
  layer_depth <- integer(length(graph$layers))
  for (k in rev(seq_len(n))) {
    l <- graph$nodes[[k]]$layer + 1L
    depth[k] <- max(depth[k], layer_depth[l])
    layer_depth[l] <- depth[k]
    for (r in graph$nodes[[k]]$inputs) if (!is.null(r$node)) depth[r$node + 1L] <- max(depth[r$node + 1L], depth[k] + 1L)
  }
  depth
}
