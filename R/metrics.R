# Metrics: names as given (the log key is the string given), or metric_*() objects.

metric_obj <- function(name) structure(name, class = "rkeras_metric")

#' Metrics
#'
#' For `compile(metrics = )`. Names can also be given as strings (`"accuracy"`, `"mae"`);
#' the history and logs use the string as given. `"accuracy"`/`"acc"` resolve from the shapes
#' as TF2 keras does: one output unit gives binary accuracy, one target column with several
#' units gives sparse categorical accuracy, otherwise categorical accuracy.
#'
#' @returns A metric for [compile()].
#' @family metrics
#' @name metrics
#' @examples
#' metric_categorical_accuracy()
NULL

#' @rdname metrics
#' @export
metric_accuracy <- function() metric_obj("accuracy")
#' @rdname metrics
#' @export
metric_binary_accuracy <- function() metric_obj("binary_accuracy")
#' @rdname metrics
#' @export
metric_categorical_accuracy <- function() metric_obj("categorical_accuracy")
#' @rdname metrics
#' @export
metric_sparse_categorical_accuracy <- function() metric_obj("sparse_categorical_accuracy")
#' @rdname metrics
#' @export
metric_top_k_categorical_accuracy <- function() metric_obj("top_k_categorical_accuracy")
#' @rdname metrics
#' @export
metric_mean_squared_error <- function() metric_obj("mean_squared_error")
#' @rdname metrics
#' @export
metric_mean_absolute_error <- function() metric_obj("mean_absolute_error")
#' @rdname metrics
#' @export
metric_root_mean_squared_error <- function() metric_obj("root_mean_squared_error")

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
