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
  lines <- character()
  if (!is.null(x$params$samples)) {
    str <- paste0("Trained on ", prettyNum(x$params$samples, big.mark = ","), " samples")
    if (!is.null(x$params$validation_samples))
      str <- paste0(str, ", validated on ", prettyNum(x$params$validation_samples, big.mark = ","), " samples")
    lines <- paste0(str, " (batch_size=", x$params$batch_size, ", epochs=", epochs, ")")
  }
  if (length(metrics)) {
    labels <- format(names(metrics), justify = "right")
    last <- vapply(metrics, function(v) if (length(v)) v[[length(v)]] else NA_real_, 0)
    lines <- c(lines, "Final epoch (plot to see history):",
               paste0(labels, ": ", prettyNum(last, big.mark = ",", digits = 4, scientific = FALSE)))
  } else {
    lines <- c(lines, "No epochs were run.")
  }
  cat(lines, sep = "\n")
  invisible(x)
}

#' @export
as.data.frame.keras_training_history <- function(x, ...) {
  epochs <- x$params$epochs
  first <- x$params$initial_epoch %||% 0  # epochs before it were not run in this fit
  metrics <- x$metrics
  values <- unlist(lapply(metrics, function(v) {
    out <- rep(NA_real_, epochs)
    at <- first + seq_along(v)
    out[at[at <= epochs]] <- v[at <= epochs]
    out
  }))
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
#' One panel per metric, training and validation together, epochs on the x axis (whole
#' numbers). `"ggplot2"` draws keras for R's plot (facets per metric, a loess smooth once
#' there are 10 epochs or more) and returns it; `"base"` draws with base graphics;
#' `"viewer"` opens the live-metrics page ([view_metrics()]) with the final state.
#'
#' @param x A `keras_training_history`.
#' @param y Unused.
#' @param metrics Metrics to plot (default: all; `val_` series go with their metric).
#' @param method `"auto"` (ggplot2 when installed, else base graphics), `"ggplot2"`, `"base"`
#'   or `"viewer"`.
#' @param smooth Add a loess smooth (ggplot2) when 10 or more epochs were run (not merely
#'   requested: a run stopped early at 6 epochs gets none).
#' @param theme_bw Use `ggplot2::theme_bw()`, with shapes for training and validation.
#' @param ... Passed to [graphics::plot()] (base graphics).
#' @returns The ggplot object (ggplot2); `NULL` invisibly (base graphics); the page's path
#'   invisibly (viewer).
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(200), 50); y <- to_categorical(as.integer(x[, 1] > 0.5), 2)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
#' history <- model %>% fit(x, y, epochs = 3, validation_split = 0.2, verbose = 0)
#' plot(history, method = "base")
plot.keras_training_history <- function(x, y, metrics = NULL, method = c("auto", "ggplot2", "base", "viewer"),
                                        smooth = getOption("keras.plot.history.smooth", TRUE),
                                        theme_bw = getOption("keras.plot.history.theme_bw", FALSE), ...) {
  method <- match.arg(method)
  if (method == "viewer") return(invisible(view_metrics(x)))
  if (method == "auto") method <- if (requireNamespace("ggplot2", quietly = TRUE)) "ggplot2" else "base"
  df <- as.data.frame(x)
  if (is.null(metrics)) metrics <- levels(df$metric)
  metrics <- unique(sub("^val_", "", metrics))
  unknown <- setdiff(metrics, levels(df$metric))
  if (length(unknown))
    stop_arg("plot(): no metric ", quote_names(unknown), " in this history; it has ", quote_names(levels(df$metric)))
  df <- df[df$metric %in% metrics & !is.na(df$value), , drop = FALSE]
  df$metric <- factor(df$metric, levels = metrics)
  do_validation <- any(df$data == "validation")
  if (!do_validation) df$data <- droplevels(df$data)
  # smoothing needs points: the epochs actually run, per series
  run <- if (nrow(df)) min(table(droplevels(interaction(df$metric, df$data)))) else 0L
  if (method == "ggplot2") return(plot_history_ggplot(df, do_validation, isTRUE(smooth) && run >= 10, isTRUE(theme_bw)))
  plot_history_base(df, metrics, do_validation, ...)
}

# Whole-number breaks for the epoch axis.
int_breaks <- function(x) {
  b <- pretty(x)
  b <- b[b == round(b)]
  if (length(b) < 2) b <- unique(round(x))
  b
}

plot_history_ggplot <- function(df, do_validation, smooth, theme_bw) {
  aes <- ggplot2::aes
  p <- if (!do_validation) ggplot2::ggplot(df, aes(.data$epoch, .data$value))
       else if (theme_bw) ggplot2::ggplot(df, aes(.data$epoch, .data$value, color = .data$data, fill = .data$data,
                                                 linetype = .data$data, shape = .data$data))
       else ggplot2::ggplot(df, aes(.data$epoch, .data$value, color = .data$data, fill = .data$data))
  smooth_args <- list(se = FALSE, method = "loess", na.rm = TRUE, formula = y ~ x)
  environment(smooth_args$formula) <- baseenv()
  if (theme_bw) {
    smooth_args$linewidth <- 0.5
    smooth_args$color <- "gray47"
    p <- p + ggplot2::theme_bw() + ggplot2::geom_point(col = 1, na.rm = TRUE, size = 2) +
      ggplot2::scale_shape(solid = FALSE)
  } else {
    p <- p + ggplot2::geom_point(shape = 21, col = 1, na.rm = TRUE)
  }
  if (smooth) p <- p + do.call(ggplot2::geom_smooth, smooth_args)
  p + ggplot2::facet_grid(metric ~ ., switch = "y", scales = "free_y") +
    ggplot2::scale_x_continuous(breaks = int_breaks) +
    ggplot2::theme(axis.title.y = ggplot2::element_blank(), strip.placement = "outside",
                   strip.text = ggplot2::element_text(colour = "black", size = 11),
                   strip.background = ggplot2::element_rect(fill = NA, color = NA))
}

# One panel per metric stacked vertically; margins leave room for the axis labels (the
# y label is the metric, "epoch" under the bottom panel only).
plot_history_base <- function(df, metrics, do_validation, ...) {
  op <- graphics::par(mfrow = c(length(metrics), 1), oma = c(0, 0, 0, 0))
  on.exit(graphics::par(op), add = TRUE)
  cols <- c(training = "#F8766D", validation = "#00BFC4")
  xlim <- if (nrow(df)) range(df$epoch) else c(1, 2)
  for (i in seq_along(metrics)) {
    m <- metrics[[i]]
    d <- df[df$metric == m, , drop = FALSE]
    bottom <- i == length(metrics)
    graphics::par(mar = c(if (bottom) 4.1 else 1.1, 4.6, if (i == 1) 1.6 else 0.6, 1.1), mgp = c(2.6, 0.8, 0))
    ylim <- if (nrow(d)) range(d$value) else c(0, 1)
    graphics::plot(NA, xlim = xlim, ylim = ylim, xaxt = "n", xlab = if (bottom) "epoch" else "", ylab = m, las = 1, ...)
    graphics::axis(1, at = int_breaks(xlim), labels = bottom)
    for (s in levels(d$data)) {
      ds <- d[d$data == s, , drop = FALSE]
      if (nrow(ds)) graphics::lines(ds$epoch, ds$value, type = "o", col = cols[[s]], pch = if (s == "training") 19 else 17)
    }
    tr <- d$value[d$data == "training"]
    where <- if (length(tr) > 1 && tr[[1]] < tr[[length(tr)]]) "bottomright" else "topright"  # away from the curve
    if (i == 1 && do_validation)
      graphics::legend(where, legend = c("training", "validation"), col = cols, pch = c(19, 17), lty = 1,
                       bty = "n", horiz = TRUE, cex = 0.9)
  }
  invisible(NULL)
}

utils::globalVariables(".data")  # the tidy-eval pronoun in ggplot2::aes()
