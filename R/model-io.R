# The names of a model's inputs and outputs, and the conversion of x / y given as (named)
# lists into arrays in input / output order for the one .Call.
#
# A functional model keeps its graph spec in `model$graph` (GRAPH-CONTRACT.md): `inputs` is a
# list of {name, shape} (or of names), `outputs` a list of tensor references {node = j} /
# {input = i}; an output is named by the layer of the node that produces it. A sequential
# model (or a chain without a graph) has one input and one output.

model_input_names <- function(model) {
  g <- model$graph
  if (!is.null(g$inputs)) return(vapply(g$inputs, graph_input_name, ""))
  model$input_name %||% "input_layer"
}

model_output_names <- function(model) {
  g <- model$graph
  if (!is.null(g$outputs)) return(vapply(g$outputs, function(ref) graph_ref_name(g, ref), ""))
  specs <- model$layer_specs
  if (length(specs)) specs[[length(specs)]]$name else character()
}

graph_input_name <- function(input) if (is.character(input)) input else input$name

# The name of the tensor a reference {node = j} or {input = i} (0-based) points to.
graph_ref_name <- function(g, ref) {
  if (is.character(ref)) return(ref)
  if (!is.null(ref$input)) return(graph_input_name(g$inputs[[ref$input + 1]]))
  node <- g$nodes[[ref$node + 1]]
  g$layers[[node$layer + 1]]$name
}

is_multi_output <- function(model) length(model_output_names(model)) > 1
is_multi_input <- function(model) length(model_input_names(model)) > 1

quote_names <- function(x) paste0("\"", x, "\"", collapse = ", ")

describe_io <- function(names, what) {
  if (length(names) == 1) sprintf("the model has one %s, \"%s\"", what, names)
  else sprintf("the model has %ss %s", what, quote_names(names))
}

# `value` given per input/output: a named list (matched by name, every name must be one of
# `names`; `partial = TRUE` allows some to be left out, their entries are then NULL) or an
# unnamed list with one entry per name. Returns an unnamed list in the order of `names`.
match_io_list <- function(value, names, arg, what, partial = FALSE) {
  nm <- names(value)
  if (!is.null(nm) && any(nzchar(nm))) {
    if (!all(nzchar(nm)))
      stop_arg("`", arg, "` names some entries and not others: name every entry by ", what, " (",
               describe_io(names, what), ") or none")
    if (anyDuplicated(nm))
      stop_arg("`", arg, "` names the ", what, " \"", nm[anyDuplicated(nm)], "\" twice")
    unknown <- setdiff(nm, names)
    if (length(unknown))
      stop_arg("`", arg, "` names ", if (length(unknown) == 1) "an unknown " else "unknown ", what,
               if (length(unknown) > 1) "s", " ", quote_names(unknown), ": ", describe_io(names, what))
    missing <- setdiff(names, nm)
    if (length(missing) && !partial)
      stop_arg("`", arg, "` has no entry for the ", what, if (length(missing) > 1) "s", " ",
               quote_names(missing), ": ", describe_io(names, what))
    return(unname(lapply(names, function(n) if (n %in% nm) value[[n]])))
  }
  if (length(value) != length(names))
    stop_arg("`", arg, "` has ", plural_entry(length(value)), " but ", describe_io(names, what),
             ": give one per ", what, " (in order) or a list named by ", what)
  unname(as.list(value))
}

plural_entry <- function(n) if (n == 1) "1 entry" else paste(n, "entries")

# x (or y) for the .Call: one array when the model has one input (output), else an unnamed
# list of arrays in input (output) order. `what` is "input" or "output"; `arg` names the
# argument in errors (`x`, `validation_data: y`, ...).
io_arrays <- function(x, names, arg, what) {
  if (length(names) <= 1) {
    if (is.list(x) && !is.data.frame(x)) {
      if (length(x) != 1)
        stop_arg("`", arg, "` is a list of ", length(x), " arrays but ", describe_io(names, what))
      if (!is.null(names(x)) && length(names) == 1 && !identical(names(x), names))
        stop_arg("`", arg, "` names the ", what, " \"", names(x), "\": ", describe_io(names, what))
      x <- x[[1]]
    }
    return(as_input_array(x, arg))
  }
  if (is.null(x)) stop_arg("`", arg, "` is missing: ", describe_io(names, what), ", give a list of arrays")
  if (!is.list(x) || is.data.frame(x))
    stop_arg("`", arg, "` must be a list of ", length(names), " arrays, one per ", what, " (",
             describe_io(names, what), "), got ", describe_value(x))
  arrays <- match_io_list(x, names, arg, what)
  arrays <- Map(function(a, n) as_input_array(a, paste0(arg, "$", n)), arrays, names)
  unname(arrays)
}

# Every array of one batch or data set must have the same number of rows (samples).
check_same_rows <- function(parts) {
  rows <- vapply(parts, function(p) as.numeric(NROW(p$value)), 0)
  if (length(unique(rows)) > 1) {
    desc <- vapply(seq_along(parts), function(i) sprintf("%s has %s", parts[[i]]$name, plural(rows[i], "row")), "")
    stop_arg("the arrays do not have the same number of samples (rows): ", paste(desc, collapse = ", "))
  }
  invisible(rows[1])
}

io_parts <- function(arrays, names, arg) {
  if (!is.list(arrays) || is.data.frame(arrays)) return(list(list(name = paste0("`", arg, "`"), value = arrays)))
  Map(function(a, n) list(name = paste0("`", arg, "$", n, "`"), value = a), arrays, names)
}

# x, y (and sample_weight) converted for the .Call and checked against the model's inputs and
# outputs; only multi-input/multi-output models get the R-side row check (a single array is
# checked by Rust as before).
model_xy <- function(model, x, y, sample_weight = NULL, prefix = "", need_y = TRUE) {
  ins <- model_input_names(model)
  outs <- model_output_names(model)
  xa <- io_arrays(x, ins, paste0(prefix, "x"), "input")
  ya <- if (need_y || !is.null(y)) io_arrays(y, outs, paste0(prefix, "y"), "output")
  if (is.list(sample_weight) && length(outs) > 1)
    stop_arg("`", prefix, "sample_weight` must be one vector of per-sample weights (it applies to every output), ",
             "got a list")
  d <- dim(sample_weight)
  if (length(d) > 1 && prod(d[-1]) > 1)
    stop_arg("`", prefix, "sample_weight` must hold one weight per sample (a vector), got an array of shape (",
             paste(d, collapse = ", "), "); weights per time step or per output are not supported")
  if (length(ins) > 1 || length(outs) > 1) {
    parts <- c(io_parts(xa, ins, paste0(prefix, "x")), if (!is.null(ya)) io_parts(ya, outs, paste0(prefix, "y")))
    if (!is.null(sample_weight))
      parts <- c(parts, list(list(name = paste0("`", prefix, "sample_weight`"), value = sample_weight)))
    check_same_rows(parts)
  }
  list(x = xa, y = ya)
}

n_rows <- function(x) if (is.list(x) && !is.data.frame(x)) NROW(x[[1]]) else NROW(x)
