# The model object: an environment (so verbs change it in place) holding the architecture
# as specs and a handle to the Rust model, built on first use.

# A model is a function (so that `model(x)` applies it to tensors, as in keras) whose
# environment holds its fields; `$` and `$<-` (model-layers.R) read and change them.
new_model <- function(class_name, name, input_shape = NULL, input_name = NULL) {
  env <- new.env(parent = topenv(environment(new_model)))
  env$name <- name
  env$class_name <- class_name
  env$input_shape <- input_shape
  env$input_name <- input_name
  env$layer_specs <- list()
  env$graph <- NULL
  env$ptr <- NULL
  env$compile_args <- NULL
  env$history <- NULL
  model <- function(object, ...) call_model(sys.function(), object, ...)
  environment(model) <- env
  class(model) <- "rkeras_model"
  model
}

# The environment holding a model's fields.
model_env <- function(model) environment(unclass(model))

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
  if (inherits(layers, "rkeras_layer") || inherits(layers, "rkeras_model")) layers <- list(layers)
  for (layer in layers) {
    if (inherits(layer, "rkeras_model")) layer(model) else add_layer(model, layer)
  }
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
  if (!is.null(model$graph))
    stop_arg("layers cannot be added to functional model \"", model$name, "\": apply them to tensors and call ",
             "keras_model() again")
  spec <- if (inherits(layer, "rkeras_layer")) layer_spec(layer) else layer
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

# The spec Rust builds the model from: the graph layout for functional models, the v1 layout
# for sequential ones (GRAPH-CONTRACT.md).
model_spec <- function(model) {
  if (!is.null(model$graph)) return(graph_model_spec(model))
  list(name = model$name, class_name = model$class_name,
       input_shape = as.list(model$input_shape), input_name = model$input_name,
       layers = model$layer_specs)
}

is_built <- function(model) {
  if (!is.null(model$graph)) graph_is_built(model$graph) else !is.null(model$input_shape)
}

# The per-sample shape of each input in `x` (an array, or a list of arrays for several
# inputs), for a deferred build; NULL when it cannot be told (a generator, no data).
data_shapes <- function(x) {
  if (is.null(x) || is.function(x)) return(NULL)
  one <- function(a) {
    if (is.data.frame(a)) return(ncol(a))
    d <- dim(a)
    if (is.null(d)) 1L else d[-1]
  }
  if (is.list(x) && !is.data.frame(x)) lapply(x, one) else list(one(x))
}

# Fixes the input shape of an unbuilt model from the data's shapes (deferred build).
resolve_input_shape <- function(model, shapes) {
  if (!is.null(model$graph)) return(fill_graph_shapes(model, shapes))
  if (length(shapes) != 1)
    stop_arg("model \"", model$name, "\" has one input, the data has ", length(shapes))
  model$input_shape <- check_shape(shapes[[1]])
  invisible(model)
}

# The Rust model behind `model`, built (and compiled again) when needed. A model whose
# handle is gone (readRDS(), a new session) is rebuilt from its saved state (persistence.R).
# An unbuilt model (no input shape, or NA dimensions) is built from `data_shapes` (one
# per-sample shape per input), drawing its initial weights from R's RNG then.
model_ptr <- function(model, data_shapes = NULL) {
  ptr <- model$ptr
  if (is.null(ptr) || !ptr_alive(ptr)) {
    if (!is.null(model$state)) return(restore_state(model))
    if (length(model$layer_specs) == 0)
      stop_arg("model \"", model$name, "\" has no layers")
    if (!is_built(model)) {
      if (is.null(data_shapes))
        stop_arg("model \"", model$name, "\" has no input shape yet: give `input_shape =` to its first layer ",
                 "or to keras_model_sequential(), call build(), or fit()/evaluate()/predict() it on arrays")
      resolve_input_shape(model, data_shapes)
    }
    ptr <- rk_model_build(model_spec(model), draw_seed())
    model$ptr <- ptr
    if (!is.null(model$compile_args)) rk_model_compile(ptr, model$compile_args)
    refresh_state(model)
  }
  ptr
}

#' Build a model
#'
#' Gives a model without an input shape (a sequential model whose first layer has no
#' `input_shape`, or a functional model with `NA` dimensions) its input shape and creates its
#' weights, drawn from R's random generator (so `set.seed()` first repeats them). A model is
#' otherwise built by its first `fit()`, `evaluate()` or `predict()`, from the data's shape.
#'
#' @param object A model.
#' @param input_shape The shape of one input batch, with the batch axis first (`c(NA, 784)`,
#'   `list(NULL, 784)`), as in keras; a list of them for a model with several inputs.
#' @param ... Unused.
#' @returns The model, invisibly (changed in place).
#' @family model
#' @export
#' @examples
#' model <- keras_model_sequential() %>% layer_dense(4) %>% layer_dense(1)
#' build(model, c(NA, 3))
#' model
build <- function(object, input_shape = NULL, ...) {
  check_model(object, "object")
  check_model_idle(object)
  if (is.null(input_shape)) stop_arg("build(): `input_shape` is required (the shape of a batch, e.g. c(NA, 784))")
  batch_shape <- function(s) {
    if (is.list(s)) s <- vapply(s, function(d) if (is.null(d)) NA_real_ else as.numeric(d), 0)
    if (length(s) < 2) stop_arg("build(): `input_shape` is a batch shape with the batch axis first, e.g. c(NA, ",
                                if (length(s)) s else 784, "), got ", describe_value(s))
    s[-1]
  }
  n_in <- if (!is.null(object$graph)) length(object$graph$inputs) else 1L
  shapes <- if (n_in > 1 || (is.list(input_shape) && length(input_shape) && is.list(input_shape[[1]]) ||
                             is.list(input_shape) && length(input_shape) && length(input_shape[[1]]) > 1))
    lapply(input_shape, batch_shape) else list(batch_shape(input_shape))
  if (!is_built(object)) {
    invalidate(object)
    resolve_input_shape(object, shapes)
  }
  model_ptr(object)
  invisible(object)
}

# FALSE for a handle restored by readRDS() (its pointer is NULL) or from another session.
ptr_alive <- function(ptr) isTRUE(rk_handle_alive(ptr))

#' @export
print.rkeras_model <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

# One line, for str() and RStudio's Environment pane: what the model is, not its table.
describe_model <- function(x) {
  env <- model_env(x)
  n_layers <- length(get0("layer_specs", envir = env, inherits = FALSE))
  params <- if (is_built(x)) tryCatch(prettyNum(count_params(x), big.mark = ","), error = function(e) NULL)
  args <- get0("compile_args", envir = env, inherits = FALSE)
  compiled <- if (is.null(args)) "not compiled" else {
    opt <- args$optimizer$name %||% args$optimizer[[1]]
    loss <- unlist(args$loss)
    paste0("compiled (", paste(c(if (is.character(opt)) opt, if (is.character(loss)) loss), collapse = ", "), ")")
  }
  sprintf("%s model \"%s\": %d layer%s, %s, %s", get0("class_name", envir = env, inherits = FALSE) %||% "Keras",
          get0("name", envir = env, inherits = FALSE) %||% "?", n_layers, if (n_layers == 1) "" else "s",
          if (is.null(params)) "not built" else paste(params, "parameters"), compiled)
}

#' @importFrom utils str
#' @export
str.rkeras_model <- function(object, ...) {
  cat("<", describe_model(object), ">\n", sep = "")
  invisible()
}

#' @export
summary.rkeras_model <- function(object, ...) {
  txt <- format(object, ...)
  cat(txt, sep = "\n")
  invisible(txt)
}

#' Format a model summary (the keras table)
#'
#' A built sequential model prints the classic keras table. A functional model, and a
#' model not built yet, print Keras 3's table (as keras3 for R does): for a graph that is
#' not a simple chain, with a "Connected to" column (`shared[1][0]` is the second call of
#' layer `shared`); a layer not built yet shows `?` and `0 (unbuilt)`.
#'
#' @param x A model.
#' @param width Line width (default `getOption("width")`).
#' @param line_length Width of Keras 3's table (default `min(width, 180)`).
#' @param ... Unused.
#' @returns A character vector, one element per line.
#' @family model
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 784) %>%
#'   layer_dense(256, activation = "relu") %>%
#'   layer_dense(10, activation = "softmax")
#' txt <- format(model, width = 70)
#' length(txt)
#' cat(txt, sep = "\n")
#' str(model)  # one line
format.rkeras_model <- function(x, width = getOption("width"), line_length = min(width, 180), ...) {
  if (!is.null(x$graph) || !is_built(x) || length(x$layer_specs) == 0)
    return(format_keras3(x, line_length))
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
  frozen <- non_trainable_count(x, info)
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

# Non-trainable weights: all those of the layers frozen now (freeze_weights() flags, which take
# effect in training at compile()) and the state of the others (batch normalization's moving
# statistics). `info`: rk_model_layers().
non_trainable_count <- function(model, info) {
  sum(vapply(seq_along(info), function(i) {
    if (isFALSE(model$layer_specs[[i]]$trainable)) info[[i]]$params else info[[i]]$state_params %||% 0
  }, 0))
}

# ---- Keras 3's summary table (keras/src/utils/summary_utils.py, drawn by rich) ----

# `info`: per layer of model$layer_specs, list(output_shape, params) (rk_model_layers()).
format_keras3 <- function(model, line_length, info = NULL) {
  built <- is_built(model) && length(model$layer_specs) > 0
  if (built && is.null(info)) info <- rk_model_layers(model_ptr(model))
  g <- model$graph
  shape_txt <- function(s) keras_shape_string(s)
  params_txt <- function(n) formatC(n, format = "d", big.mark = ",")
  rows <- list()
  connections <- NULL
  sequential_like <- TRUE
  if (is.null(g)) {
    for (i in seq_along(model$layer_specs)) {
      spec <- model$layer_specs[[i]]
      rows[[i]] <- c(sprintf("%s (%s)", spec$name, spec$class_name),
                     if (built) shape_txt(info[[i]]$output_shape) else "?",
                     if (built) params_txt(info[[i]]$params) else "0 (unbuilt)")
    }
  } else {
    sequential_like <- graph_sequential_like(g)
    input_names <- vapply(g$inputs, `[[`, "", "name")
    layer_names_ <- vapply(model$layer_specs, `[[`, "", "name")
    label <- function(r) {
      if (!is.null(r$input)) return(paste0(input_names[[r$input + 1L]], "[0][0]"))
      node <- g$nodes[[r$node + 1L]]
      paste0(layer_names_[[node$layer + 1L]], "[", g$node_keras_index[[r$node + 1L]], "][0]")
    }
    node_layer <- vapply(g$nodes, function(n) n$layer, 0L)
    for (name in g$layer_order) {
      k <- match(name, input_names)
      if (!is.na(k)) {
        row <- c(sprintf("%s (InputLayer)", name), shape_txt(g$inputs[[k]]$shape), "0", "-")
      } else {
        i <- match(name, layer_names_)
        spec <- model$layer_specs[[i]]
        nodes <- which(node_layer == i - 1L)
        nodes <- nodes[order(g$node_keras_index[nodes])]
        conn <- unlist(lapply(nodes, function(j) vapply(g$nodes[[j]]$inputs, label, "")))
        row <- c(sprintf("%s (%s)", spec$name, spec$class_name),
                 if (built) shape_txt(info[[i]]$output_shape) else "?",
                 if (built) params_txt(info[[i]]$params) else "0 (unbuilt)",
                 if (length(conn)) paste(conn, collapse = ", ") else "-")
      }
      rows[[length(rows) + 1]] <- if (sequential_like) row[1:3] else row
    }
  }
  header <- c("Layer (type)", "Output Shape", "Param #")
  justify <- c("left", "left", "right")
  positions <- c(0.45, 0.80, 1.0)
  if (!sequential_like) {
    header <- c(header, "Connected to")
    justify <- c(justify, "left")
    positions <- c(0.3, 0.56, 0.74, 1.0)
  }
  total <- if (built) sum(vapply(info, function(l) l$params, 0)) else 0
  frozen <- if (built) non_trainable_count(model, info) else 0
  if (built && frozen > 0) {
    # keras3 for R: show_trainable when the model has non-trainable weights
    header <- c(header, "Trainable")
    justify <- c(justify, "center")
    positions <- c(positions * 0.9, 1.0)
    trainable_col <- function(name) {
      i <- match(name, vapply(model$layer_specs, `[[`, "", "name"))
      if (is.na(i) || info[[i]]$params == 0) "-" else if (isFALSE(model$layer_specs[[i]]$trainable)) "N" else "Y"
    }
    names_in_order <- if (is.null(g)) vapply(model$layer_specs, `[[`, "", "name") else g$layer_order
    rows <- Map(function(r, n) c(r, trainable_col(n)), rows, names_in_order)
  }
  mem <- function(n) readable_memory_size(n * 4)
  opt <- if (built) optimizer_param_count(model, total - frozen)
  c(sprintf('Model: "%s"', model$name),
    rich_table(header, rows, justify, summary_widths(positions, line_length)),
    sprintf(" Total params: %s (%s)", params_txt(total + (opt %||% 0)), mem(total + (opt %||% 0))),
    sprintf(" Trainable params: %s (%s)", params_txt(total - frozen), mem(total - frozen)),
    sprintf(" Non-trainable params: %s (%s)", params_txt(frozen), mem(frozen)),
    if (!is.null(opt)) sprintf(" Optimizer params: %s (%s)", params_txt(opt), mem(opt)))
}

# The number of optimizer variables Keras 3 counts once the optimizer has taken a step
# (iteration and learning rate, plus its slots per trainable weight); NULL before.
optimizer_param_count <- function(model, trainable) {
  args <- model$compile_args
  if (is.null(args) || is.null(model$ptr) && is.null(model$state)) return(NULL)
  info <- rk_model_compile_info(model_ptr(model))
  if (is.null(info) || info$iterations < 1) return(NULL)
  o <- args$optimizer
  slots <- switch(o$name,
    sgd = as.numeric(isTRUE(o$momentum > 0)),
    rmsprop = 1 + isTRUE(o$momentum > 0) + isTRUE(o$centered),
    adam = 2 + isTRUE(o$amsgrad),
    adagrad = 1, adadelta = 2, adamax = 2, nadam = 2,
    return(NULL))
  2 + slots * trainable + if (identical(o$name, "nadam")) 1 else 0
}

# keras's test for a chain: one node per depth, no node with several inputs, no shared layer.
graph_sequential_like <- function(g) {
  depth <- graph_node_depths(g)
  input_depth <- rep(0L, length(g$inputs))
  for (k in seq_along(g$nodes)) for (r in g$nodes[[k]]$inputs) {
    if (!is.null(r$input)) input_depth[r$input + 1L] <- max(input_depth[r$input + 1L], depth[k] + 1L)
    if (length(g$nodes[[k]]$inputs) > 1) return(FALSE)
  }
  all_depths <- c(depth, input_depth)
  if (anyDuplicated(all_depths)) return(FALSE)
  layers <- vapply(g$nodes, function(n) n$layer, 0L)
  !anyDuplicated(layers)
}

# Column widths (with their padding) as rich lays out keras's table: int(position *
# line_length) per column, plus 2 for padding, reduced evenly to fit line_length.
summary_widths <- function(positions, line_length) {
  stops <- as.integer(floor(positions * line_length))
  w <- diff(c(0L, stops))
  if (any(w < 4)) stop_arg("Insufficient console width to print summary.")
  widths <- w + 2L
  max_width <- line_length - (length(w) + 1L)
  if (sum(widths) > max_width) widths <- ratio_reduce(sum(widths) - max_width, widths)
  widths
}

# rich's ratio_reduce() with equal ratios (Python's round(): half to even, as R's).
ratio_reduce <- function(total, values) {
  n <- length(values)
  out <- values
  remaining <- total
  for (i in seq_len(n)) {
    d <- min(values[[i]], round(remaining / (n - i + 1)))
    out[[i]] <- values[[i]] - d
    remaining <- remaining - d
  }
  as.integer(out)
}

# rich's word wrap for keras's columns (divide_line() without folding: words keep their
# trailing spaces, a word longer than the width gets a line of its own), then each line
# stripped on the right and cut to the width with an ellipsis (overflow = "ellipsis").
wrap_text <- function(text, width) {
  m <- gregexpr("\\s*\\S+\\s*", text)[[1]]
  if (m[[1]] == -1) return("")
  starts <- as.integer(m) - 1L
  lens <- attr(m, "match.length")
  breaks <- integer()
  offset <- 0L
  for (k in seq_along(starts)) {
    start <- starts[[k]]
    word <- substr(text, start + 1L, start + lens[[k]])
    wl <- nchar(sub("\\s+$", "", word))
    if (width - offset >= wl) {
      offset <- offset + nchar(word)
    } else if (wl > width || (offset > 0 && start > 0)) {
      if (start > 0) breaks <- c(breaks, start)
      offset <- nchar(word)
    }
  }
  cuts <- c(0L, breaks, nchar(text))
  lines <- sub("\\s+$", "", substring(text, cuts[-length(cuts)] + 1L, cuts[-1]))
  long <- nchar(lines) > width
  lines[long] <- paste0(substr(lines[long], 1L, width - 1L), "\u2026")
  lines
}

pad_cell <- function(line, width, justify) {
  excess <- width - nchar(line)
  switch(justify,
    left = paste0(line, strrep(" ", excess)),
    right = paste0(strrep(" ", excess), line),
    center = paste0(strrep(" ", excess %/% 2), line, strrep(" ", excess - excess %/% 2)))
}

# A rich table with box.HEAVY_HEAD, show_lines = TRUE and padding (0, 1).
rich_table <- function(header, rows, justify, widths) {
  hl <- function(l, m, r, ch) paste0(l, paste(strrep(ch, widths), collapse = m), r)
  render <- function(cells, side, sep) {
    parts <- lapply(seq_along(cells), function(j) wrap_text(cells[[j]], widths[[j]] - 2L))
    h <- max(lengths(parts))
    vapply(seq_len(h), function(k) {
      body <- vapply(seq_along(cells), function(j) {
        line <- if (k <= length(parts[[j]])) parts[[j]][[k]] else ""
        paste0(" ", pad_cell(line, widths[[j]] - 2L, justify[[j]]), " ")
      }, "")
      paste0(side, paste(body, collapse = sep), side)
    }, "")
  }
  out <- c(hl("\u250f", "\u2533", "\u2513", "\u2501"), render(header, "\u2503", "\u2503"),
           hl("\u2521", "\u2547", "\u2529", "\u2501"))
  for (i in seq_along(rows)) {
    if (i > 1) out <- c(out, hl("\u251c", "\u253c", "\u2524", "\u2500"))
    out <- c(out, render(rows[[i]], "\u2502", "\u2502"))
  }
  c(out, hl("\u2514", "\u2534", "\u2518", "\u2500"))
}

# keras's readable_memory_size().
readable_memory_size <- function(bytes) {
  for (unit in c("B", "KB", "MB", "GB", "TB")) {
    if (bytes / 1024 < 1) return(sprintf("%.2f %s", bytes, unit))
    bytes <- bytes / 1024
  }
  sprintf("%.2f PB", bytes)
}
