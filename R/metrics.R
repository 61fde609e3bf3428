# Metrics: names as given (the log key is the string given), or metric_*() objects.

metric_obj <- function(metric, ...) {
  fn <- paste0("metric_", metric)
  dots <- check_dots(list(...), c("name", "dtype"), fn = fn)
  if (!is.null(dots$name)) check_unsupported(dots$name, metric, "name", fn)
  if (!is.null(dots$dtype)) check_unsupported(dots$dtype, "float32", "dtype", fn)
  structure(metric, class = "rkeras_metric")
}

#' Metrics
#'
#' For `compile(metrics = )`. Names can also be given as strings (`"accuracy"`, `"mae"`);
#' the history and logs use the string as given. `"accuracy"`/`"acc"` resolve from the shapes
#' as TF2 keras does: one output unit gives binary accuracy, one target column with several
#' units gives sparse categorical accuracy, otherwise categorical accuracy.
#'
#' @param k Classes counted as a hit (top-k): rkeras computes keras' default, 5; any other
#'   value is an error.
#' @param threshold Decision threshold of binary accuracy: rkeras computes keras' default,
#'   0.5; any other value is an error.
#' @param ... `name` (only the metric's own name: it is the log key) and `dtype` (only
#'   `"float32"`) are accepted; other names are errors.
#' @returns A metric for [compile()].
#' @family metrics
#' @name metrics
#' @examples
#' metric_categorical_accuracy()
NULL

#' @rdname metrics
#' @export
metric_accuracy <- function(...) metric_obj("accuracy", ...)
#' @rdname metrics
#' @export
metric_binary_accuracy <- function(threshold = 0.5, ...) {
  check_unsupported(as.numeric(threshold), 0.5, "threshold", "metric_binary_accuracy")
  metric_obj("binary_accuracy", ...)
}
#' @rdname metrics
#' @export
metric_categorical_accuracy <- function(...) metric_obj("categorical_accuracy", ...)
#' @rdname metrics
#' @export
metric_sparse_categorical_accuracy <- function(...) metric_obj("sparse_categorical_accuracy", ...)
#' @rdname metrics
#' @export
metric_top_k_categorical_accuracy <- function(k = 5, ...) {
  check_unsupported(as.numeric(k), 5, "k", "metric_top_k_categorical_accuracy")
  metric_obj("top_k_categorical_accuracy", ...)
}
#' @rdname metrics
#' @export
metric_mean_squared_error <- function(...) metric_obj("mean_squared_error", ...)
#' @rdname metrics
#' @export
metric_mean_absolute_error <- function(...) metric_obj("mean_absolute_error", ...)
#' @rdname metrics
#' @export
metric_root_mean_squared_error <- function(...) metric_obj("root_mean_squared_error", ...)

#' @export
print.rkeras_metric <- function(x, ...) {
  cat(sprintf("<metric %s>\n", unclass(x)))
  invisible(x)
}

resolve_metrics <- function(metrics) {
  if (is.null(metrics)) return(list())
  if (inherits(metrics, "rkeras_metric") || is.function(metrics)) metrics <- list(metrics)
  out <- lapply(metrics, function(m) {
    if (inherits(m, "rkeras_metric")) return(unclass(m))
    if (is.function(m)) {
      name <- attr(m, "rkeras_name")
      if (is.null(name)) stop_arg("custom R metric functions are not supported yet; use a metric name")
      return(name)
    }
    check_string(m, "metrics")
  })
  for (m in out) rk_check_metric(m)
  as.list(unlist(out))
}

# compile(metrics = ) / compile(weighted_metrics = ) for a model with several outputs, as a list
# of metric-name lists in output order:
# - a list named by output (list(out1 = "accuracy", out2 = c("mae", "mse"))): outputs left out
#   get none;
# - an unnamed list or vector with one entry per output (as Keras 3: c("accuracy", "mae") gives
#   accuracy to the first output and mae to the second); an entry may be a vector or list of
#   several metrics, or NULL;
# - a flat vector/list of plain metrics whose length differs from the number of outputs (e.g.
#   metrics = "accuracy"): every output gets all of them, as Keras 2 did (Keras 3 refuses it).
resolve_output_metrics <- function(metrics, outputs, arg = "metrics") {
  n <- length(outputs)
  if (is.null(metrics)) return(rep(list(list()), n))
  if (inherits(metrics, "rkeras_metric") || is.function(metrics)) metrics <- list(metrics)
  nm <- names(metrics)
  plain <- function(m) inherits(m, "rkeras_metric") || is.function(m) || (is.character(m) && length(m) == 1)
  per_output <- if (!is.null(nm) && any(nzchar(nm))) match_io_list(metrics, outputs, arg, "output", partial = TRUE)
                else if (length(metrics) == n) unname(as.list(metrics))
                else if (all(vapply(metrics, plain, TRUE))) rep(list(metrics), n)
                else match_io_list(metrics, outputs, arg, "output")
  unname(Map(function(m, name) {
    if (is.list(m) && !is.null(names(m)) && any(nzchar(names(m))))
      stop_arg("`", arg, "` for the output \"", name, "\" must be metric names or metric_*() objects, got a named list")
    tryCatch(resolve_metrics(m), error = function(e)
      stop_arg("`", arg, "` for the output \"", name, "\": ", conditionMessage(e)))
  }, per_output, outputs))
}
