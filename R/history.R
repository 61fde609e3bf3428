# keras_training_history: what fit() returns (params + metrics by epoch), with keras's
# print(), as.data.frame() and plot().

new_history <- function(res, cfg, model) {
  metrics <- lapply(res$metrics, as.numeric)
  p <- res$params
  params <- list(verbose = p$verbose, epochs = p$epochs, steps = p$steps, samples = p$samples,
                 batch_size = p$batch_size, validation_samples = p$validation_samples,
                 do_validation = isTRUE(p$do_validation), metrics = names(metrics))
  if (!is.null(cfg$initial_epoch) && cfg$initial_epoch > 0) params$initial_epoch <- cfg$initial_epoch
  structure(list(params = Filter(Negate(is.null), params), metrics = metrics), class = "keras_training_history")
}

#' @export
print.keras_training_history <- function(x, ...) {
  metrics <- x$metrics
  epochs <- min(x$params$epochs, max(0, lengths(metrics)))
  if (!is.null(x$params$samples)) {
    str <- paste0("Trained on ", prettyNum(x$params$samples, big.mark = ","), " samples")
    if (!is.null(x$params$validation_samples))
      str <- paste0(str, ", validated on ", prettyNum(x$params$validation_samples, big.mark = ","), " samples")
    str <- paste0(str, " (batch_size=", x$params$batch_size, ", epochs=", epochs, ")")
  } else {
    str <- ""
  }
  str <- paste0(str, "\nFinal epoch (plot to see history):\n")
  labels <- format(names(metrics), justify = "right")
  for (i in seq_along(metrics)) {
    v <- metrics[[i]][length(metrics[[i]])]
    str <- paste0(str, labels[i], ": ", prettyNum(v, big.mark = ",", digits = 4, scientific = FALSE), "\n")
  }
  cat(str, "\n")
  invisible(x)
}

#' @export
as.data.frame.keras_training_history <- function(x, ...) {
  epochs <- x$params$epochs
  metrics <- x$metrics
  values <- unlist(lapply(metrics, function(v) c(v, rep(NA_real_, max(0, epochs - length(v))))[seq_len(epochs)]))
  names_all <- names(metrics)
  data.frame(
    epoch = rep(seq_len(epochs), length(metrics)),
    value = unname(values),
    metric = factor(rep(sub("^val_", "", names_all), each = epochs), levels = unique(sub("^val_", "", names_all))),
    data = factor(rep(ifelse(grepl("^val_", names_all), "validation", "training"), each = epochs),
                  levels = c("training", "validation")),
    stringsAsFactors = FALSE
  )
}

#' Plot a training history
#'
#' One panel per metric, training and validation together; ggplot2 when installed (the
#' ggplot object is returned), base graphics otherwise.
#'
#' @param x A `keras_training_history`.
#' @param y Unused.
#' @param metrics Metrics to plot (default: all).
#' @param method `"auto"`, `"ggplot2"` or `"base"`.
#' @param smooth Add a loess smooth when there are 10 or more epochs (ggplot2).
#' @param theme_bw Use `ggplot2::theme_bw()`.
#' @param ... Passed to the plotting functions.
#' @returns The ggplot object (ggplot2), or `NULL` invisibly (base graphics).
#' @family training
#' @export
plot.keras_training_history <- function(x, y, metrics = NULL, method = c("auto", "ggplot2", "base"),
                                        smooth = getOption("keras.plot.history.smooth", TRUE),
                                        theme_bw = getOption("keras.plot.history.theme_bw", FALSE), ...) {
  method <- match.arg(method)
  if (method == "auto") method <- if (requireNamespace("ggplot2", quietly = TRUE)) "ggplot2" else "base"
  df <- as.data.frame(x)
  if (is.null(metrics)) metrics <- levels(df$metric)
  df <- df[df$metric %in% metrics & !is.na(df$value), , drop = FALSE]
  df$metric <- droplevels(df$metric)
  if (method == "ggplot2") {
    p <- ggplot2::ggplot(df, ggplot2::aes(x = epoch, y = value, color = data, fill = data))
    p <- p + ggplot2::geom_point(shape = 21, size = 2) + ggplot2::facet_grid(metric ~ ., switch = "y", scales = "free_y")
    if (isTRUE(smooth) && x$params$epochs >= 10)
      p <- p + ggplot2::geom_smooth(method = "loess", formula = y ~ x, se = FALSE, linewidth = 0.5)
    p <- p + ggplot2::labs(x = "epoch", y = NULL, color = "data", fill = "data")
    if (isTRUE(theme_bw)) p <- p + ggplot2::theme_bw()
    return(p)
  }
  op <- graphics::par(mfrow = c(length(metrics), 1), mar = c(3, 3, 2, 1))
  on.exit(graphics::par(op))
  for (m in metrics) {
    d <- df[df$metric == m, ]
    graphics::plot(d$epoch, d$value, type = "n", main = m, xlab = "epoch", ylab = "", ...)
    for (s in levels(d$data)) {
      ds <- d[d$data == s, ]
      if (nrow(ds)) graphics::lines(ds$epoch, ds$value, type = "o", col = if (s == "training") "#F8766D" else "#00BFC4", pch = 19)
    }
    graphics::legend("topright", legend = levels(droplevels(d$data)), col = c("#F8766D", "#00BFC4"), pch = 19, bty = "n")
  }
  invisible(NULL)
}

utils::globalVariables(c("epoch", "value", "data"))
