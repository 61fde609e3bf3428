# Losses: loss_*() used uncalled in compile(loss = loss_mean_squared_error), called without
# targets (loss_mean_squared_error()), or called on (y_true, y_pred) for per-sample values.

# keras' optional arguments of each loss, with their defaults. rkeras computes `from_logits`
# either way and the keras default of the others; any other value is an error naming the
# argument (never ignored).
loss_options <- list(
  categorical_crossentropy = list(from_logits = FALSE, label_smoothing = 0, axis = -1),
  binary_crossentropy = list(from_logits = FALSE, label_smoothing = 0, axis = -1),
  sparse_categorical_crossentropy = list(from_logits = FALSE, ignore_class = NULL, axis = -1),
  cosine_similarity = list(axis = -1),
  huber = list(delta = 1))

# A loss function: uncalled or called without targets it is the loss for compile() (called
# with `from_logits = TRUE` it remembers that); called on (y_true, y_pred), the per-sample
# values.
loss_fn <- function(name, from_logits = FALSE) {
  f <- function(y_true, y_pred, ..., reduction = "auto", name = NULL) {
    opts <- check_loss_options(attr(f, "rkeras_name"), list(...), reduction)
    logits <- opts$from_logits %||% attr(f, "rkeras_from_logits")
    if (missing(y_true) && missing(y_pred)) return(loss_fn(attr(f, "rkeras_name"), logits))
    rk_loss_values(attr(f, "rkeras_name"), logits, as_input_array(y_true, "y_true"), as_input_array(y_pred, "y_pred"))
  }
  attr(f, "rkeras_name") <- name
  attr(f, "rkeras_from_logits") <- from_logits
  class(f) <- c("rkeras_loss", "function")
  f
}

check_loss_options <- function(loss, opts, reduction) {
  fn <- paste0("loss_", loss)
  defaults <- loss_options[[loss]] %||% list()
  check_dots(opts, names(defaults), fn = fn)
  if (!is.null(opts$from_logits)) check_flag(opts$from_logits, "from_logits")
  for (o in setdiff(names(opts), "from_logits")) {
    value <- opts[[o]]
    if (is.numeric(value) && is.numeric(defaults[[o]])) value <- as.numeric(value)
    check_unsupported(value, defaults[[o]], o, fn)
  }
  if (!reduction %in% c("auto", "sum_over_batch_size"))
    check_unsupported(reduction, "sum_over_batch_size", "reduction", fn)
  opts
}

#' Losses
#'
#' Pass one to `compile(loss = )` (called or not), or call it on `(y_true, y_pred)` to get
#' the per-sample loss values (reduced over the last axis as keras does).
#'
#' @param y_true Targets (a matrix; integer class labels for the sparse loss).
#' @param y_pred Predictions (a matrix).
#' @param ... keras' options of the loss. `from_logits = TRUE` (the cross-entropies): the
#'   predictions are raw scores (a linear last layer) and the loss applies the softmax or
#'   sigmoid itself, in a numerically stable form. `label_smoothing`, `axis`, `ignore_class`
#'   and `delta` are computed at their keras defaults, and any other value is an error naming
#'   the option. Unknown names are errors.
#' @param reduction `"auto"` or `"sum_over_batch_size"` (keras' default), the only reduction
#'   rkeras computes.
#' @param name Accepted for compatibility.
#' @returns Without arguments, the loss for [compile()]; with them, a numeric vector with
#'   one value per sample.
#' @family losses
#' @name losses
#' @usage loss_categorical_crossentropy(y_true, y_pred, ..., reduction = "auto", name = NULL)
#' @examples
#' loss_mean_squared_error(matrix(c(1, 2), 1), matrix(c(1, 4), 1))   # 2
NULL

#' @rdname losses
#' @usage NULL
#' @export
loss_categorical_crossentropy <- loss_fn("categorical_crossentropy")
#' @rdname losses
#' @usage NULL
#' @export
loss_sparse_categorical_crossentropy <- loss_fn("sparse_categorical_crossentropy")
#' @rdname losses
#' @usage NULL
#' @export
loss_binary_crossentropy <- loss_fn("binary_crossentropy")
#' @rdname losses
#' @usage NULL
#' @export
loss_mean_squared_error <- loss_fn("mean_squared_error")
#' @rdname losses
#' @usage NULL
#' @export
loss_mean_absolute_error <- loss_fn("mean_absolute_error")
#' @rdname losses
#' @usage NULL
#' @export
loss_mean_absolute_percentage_error <- loss_fn("mean_absolute_percentage_error")
#' @rdname losses
#' @usage NULL
#' @export
loss_mean_squared_logarithmic_error <- loss_fn("mean_squared_logarithmic_error")
#' @rdname losses
#' @usage NULL
#' @export
loss_hinge <- loss_fn("hinge")
#' @rdname losses
#' @usage NULL
#' @export
loss_squared_hinge <- loss_fn("squared_hinge")
#' @rdname losses
#' @usage NULL
#' @export
loss_categorical_hinge <- loss_fn("categorical_hinge")
#' @rdname losses
#' @usage NULL
#' @export
loss_kullback_leibler_divergence <- loss_fn("kullback_leibler_divergence")
#' @rdname losses
#' @usage NULL
#' @export
loss_kl_divergence <- loss_kullback_leibler_divergence
#' @rdname losses
#' @usage NULL
#' @export
loss_poisson <- loss_fn("poisson")
#' @rdname losses
#' @usage NULL
#' @export
loss_logcosh <- loss_fn("logcosh")
#' @rdname losses
#' @usage NULL
#' @export
loss_cosine_similarity <- loss_fn("cosine_similarity")
#' @rdname losses
#' @usage NULL
#' @export
loss_huber <- loss_fn("huber")

#' @export
print.rkeras_loss <- function(x, ...) {
  cat(sprintf("<loss %s%s>\n", attr(x, "rkeras_name"), if (isTRUE(attr(x, "rkeras_from_logits"))) " (from logits)" else ""))
  invisible(x)
}

resolve_loss <- function(loss) {
  if (is.null(loss)) stop_arg("compile() needs a `loss`, e.g. loss = \"categorical_crossentropy\"")
  if (is.function(loss)) {
    name <- attr(loss, "rkeras_name")
    if (is.null(name))
      stop_arg("custom R loss functions are not supported (rkeras differentiates its built-in losses in Rust); ",
               "use a loss name such as \"mse\" or a loss_*() function")
    return(list(loss = name, from_logits = isTRUE(attr(loss, "rkeras_from_logits"))))
  }
  list(loss = rk_loss_name(check_string(loss, "loss")), from_logits = FALSE)
}

# compile(loss = ) for a model with several outputs: one loss for all, or a list / character
# vector with one loss per output (unnamed: in output order; named: by output name, every
# output needs one). Returns list(loss = names in output order, from_logits = flags).
resolve_output_losses <- function(loss, outputs) {
  if (is.null(loss)) stop_arg("compile() needs a `loss`, e.g. loss = \"categorical_crossentropy\"")
  single <- is.function(loss) || (is.character(loss) && length(loss) == 1 && is.null(names(loss)))
  losses <- if (single) rep(list(loss), length(outputs))
            else match_io_list(if (is.character(loss)) as.list(loss) else loss, outputs, "loss", "output")
  resolved <- Map(function(l, name) {
    if (is.null(l))
      stop_arg("`loss` has no loss for the output \"", name, "\": rkeras trains every output, give each one a loss")
    if (is.list(l) && !is.function(l)) stop_arg("`loss` for the output \"", name, "\" must be one loss, got a list")
    resolve_loss(l)
  }, losses, outputs)
  list(loss = unname(lapply(resolved, `[[`, "loss")), from_logits = unname(lapply(resolved, `[[`, "from_logits")))
}

# compile(loss_weights = ) for several outputs: a numeric vector or list, unnamed (in output
# order) or named by output; one finite weight per output. NULL: every weight 1.
resolve_loss_weights <- function(loss_weights, outputs) {
  if (is.null(loss_weights)) return(as.list(rep(1, length(outputs))))
  if (!is.numeric(loss_weights) && !is.list(loss_weights))
    stop_arg("`loss_weights` must be a numeric vector or list with one weight per output (",
             describe_io(outputs, "output"), "), got ", describe_value(loss_weights))
  w <- match_io_list(as.list(loss_weights), outputs, "loss_weights", "output")
  unname(Map(function(v, name) {
    if (!is.numeric(v) || length(v) != 1 || !is.finite(v))
      stop_arg("`loss_weights` for the output \"", name, "\" must be one finite number, got ", describe_value(v))
    as.numeric(v)
  }, w, outputs))
}
