# Live training metrics in the RStudio / Positron Viewer or a browser (issue 17).
#
# A page in a folder under the session's tempdir(): index.html, viewer.js and viewer.css
# (inst/metrics-viewer, plain SVG, no network) and the run's data: data.js, one JSON object
# inside `rkerasMetrics(...)` (a page opened from file:// can load a script, not fetch a
# file), rewritten atomically (a new file renamed over the old one) after each epoch by an R
# epoch-end hook, at most 4 times a second; metrics.json, the same JSON, once the run is over.
# The page reloads data.js every second until the data says the run is done. fit() writes the
# final state when it returns, however it stopped (early stopping, an error, Esc/Ctrl-C).

#' View training metrics as charts in the Viewer or a browser
#'
#' `fit()` and `fit_generator()` show a page with one chart per metric (training and
#' validation, whole-number epochs) that follows the run epoch by epoch when `view_metrics`
#' is `TRUE`, or `"auto"` in RStudio or Positron with `verbose > 0` and more than one epoch;
#' the page keeps the last state when training ends or is interrupted. `view_metrics()`
#' shows the same page afterwards, for a history or for the file a [callback_csv_logger()]
#' wrote.
#'
#' The page is in a folder under [tempdir()] and needs no network. In RStudio and Positron it
#' opens in the Viewer pane; elsewhere in the browser ([utils::browseURL()]).
#'
#' @param x A `keras_training_history` (what `fit()` returns), the path of a CSV file written
#'   by [callback_csv_logger()], or a data frame with one column per metric (one row per
#'   epoch; an `epoch` column counted from 0 is used for the first epoch).
#' @param open Open the page (default: in an interactive session).
#' @param title The page's title.
#' @returns The path of the page (`index.html`), invisibly.
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(200), 50); y <- to_categorical(as.integer(x[, 1] > 0.5), 2)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
#' log <- tempfile(fileext = ".csv")
#' history <- model %>% fit(x, y, epochs = 3, validation_split = 0.2, verbose = 0,
#'                          view_metrics = FALSE, callbacks = callback_csv_logger(log))
#' page <- view_metrics(history, open = FALSE)
#' basename(page)
#' view_metrics(log, open = FALSE)
view_metrics <- function(x, open = interactive(), title = NULL) {
  if (inherits(x, "keras_training_history")) {
    metrics <- x$metrics
    epochs <- x$params$epochs %||% max(0, lengths(metrics))
    first <- (x$params$initial_epoch %||% 0) + 1
  } else if (is.character(x) && length(x) == 1) {
    if (!file.exists(x)) stop_arg("view_metrics(): no file ", x)
    title <- title %||% basename(x)
    x <- csv_metrics(x)
  }
  if (is.data.frame(x)) {
    first <- if ("epoch" %in% names(x) && nrow(x)) min(x$epoch) + 1 else 1
    metrics <- lapply(x[setdiff(names(x), "epoch")], as.numeric)
    epochs <- first - 1 + nrow(x)
  } else if (!inherits(x, "keras_training_history")) {
    stop_arg("view_metrics(): `x` must be a training history, a CSV file from callback_csv_logger() or a data ",
             "frame, got ", describe_value(x))
  }
  v <- metrics_page(title %||% "Training metrics", epochs, first)
  v$metrics <- metrics
  metrics_page_write(v, done = TRUE)
  if (isTRUE(open)) metrics_page_open(v)
  invisible(v$page)
}

# A CSV from callback_csv_logger(): separator "," or ";" (whichever the header uses), "NA" missing.
csv_metrics <- function(path) {
  header <- readLines(path, n = 1, warn = FALSE)
  sep <- if (grepl(";", header, fixed = TRUE) && !grepl(",", header, fixed = TRUE)) ";"
         else if (grepl("\t", header, fixed = TRUE) && !grepl(",", header, fixed = TRUE)) "\t" else ","
  df <- utils::read.csv(path, sep = sep, na.strings = c("NA", "nan", "NaN", ""), check.names = FALSE,
                        stringsAsFactors = FALSE)
  num <- vapply(df, is.numeric, TRUE)
  df[num]
}

# keras for R: "auto" is on when training prints (verbose > 0) for more than one epoch in an
# IDE that has a viewer (RStudio, Positron); TRUE is on everywhere (a browser outside the IDEs).
resolve_view_metrics <- function(view_metrics, verbose, epochs = 2) {
  if (identical(view_metrics, "auto"))
    return(verbose > 0 && epochs > 1 && !isTRUE(getOption("knitr.in.progress")) && has_ide_viewer())
  if (!is.logical(view_metrics) || length(view_metrics) != 1 || is.na(view_metrics))
    stop_arg("`view_metrics` must be TRUE, FALSE or \"auto\", got ", describe_value(view_metrics))
  view_metrics
}

has_ide_viewer <- function() {
  interactive() && !is.null(getOption("viewer")) &&
    (nzchar(Sys.getenv("RSTUDIO")) || identical(Sys.getenv("POSITRON"), "1"))
}

# The state of one page: where it is, what it shows.
metrics_page <- function(title, epochs, first = 1) {
  dir <- tempfile("rkeras-metrics-")
  dir.create(dir)
  src <- system.file("metrics-viewer", package = "rkeras")
  if (!nzchar(src)) stop_arg("the metrics viewer's files are missing from the installed rkeras")
  file.copy(file.path(src, c("index.html", "viewer.js", "viewer.css")), dir)
  v <- new.env(parent = emptyenv())
  v$dir <- dir
  v$page <- file.path(dir, "index.html")
  v$title <- title
  v$epochs <- epochs
  v$first <- first
  v$metrics <- list()
  v$serial <- 0L
  viewer_state$last <- v
  v
}

viewer_state <- new.env(parent = emptyenv())

metrics_page_write <- function(v, done = FALSE, status = if (done) "ok" else "running") {
  v$serial <- v$serial + 1L
  json <- paste0("{\"title\":", json_string(v$title), ",\"epochs\":", v$epochs, ",\"first_epoch\":", v$first,
                 ",\"serial\":", v$serial, ",\"done\":", if (done) "true" else "false",
                 ",\"status\":", json_string(status), ",\"metrics\":{",
                 paste0(json_string(names(v$metrics)), ":", vapply(v$metrics, json_numbers, ""), collapse = ","), "}}")
  # one file per epoch (creating files is what costs here); the plain JSON with the final state
  write_file_atomic(file.path(v$dir, "data.js"), paste0("rkerasMetrics(", json, ");\n"))
  if (done) write_file_atomic(file.path(v$dir, "metrics.json"), paste0(json, "\n"))
}

# Writes `text` to a new file beside `path` and renames it over `path`: a reader sees the old
# file or the new one, never half of one. (Not persistence.R's write_atomic(): no fsync, the
# page's data need not survive a crash of the machine, and an epoch must not wait for a disk.)
write_file_atomic <- function(path, text) {
  tmp <- paste0(path, ".tmp")
  con <- file(tmp, "wb")
  writeChar(text, con, eos = NULL, useBytes = TRUE)
  close(con)
  if (!file.rename(tmp, path)) {
    unlink(path)
    file.rename(tmp, path)
  }
  invisible(path)
}

json_string <- function(x) {
  x <- enc2utf8(as.character(x))
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\"", "\\\"", x, fixed = TRUE)
  x <- gsub("[[:cntrl:]]", " ", x)
  paste0("\"", x, "\"")
}

json_numbers <- function(x) {
  x <- as.numeric(x)
  s <- sprintf("%.10g", x)
  s[!is.finite(x)] <- "null"
  paste0("[", paste(trimws(s), collapse = ","), "]")
}

metrics_page_open <- function(v) {
  viewer <- getOption("viewer")
  if (!is.null(viewer) && (nzchar(Sys.getenv("RSTUDIO")) || identical(Sys.getenv("POSITRON"), "1"))) viewer(v$page)
  else utils::browseURL(v$page)
  invisible(v$page)
}

# The epoch-end hook that keeps a page current during fit(): it appends the epoch's logs and
# rewrites the data (a millisecond or so), at most every 0.25 s (option
# rkeras.view_metrics.interval), then lets the IDE serve the page.
metrics_page_callback <- function(v) {
  interval <- getOption("rkeras.view_metrics.interval", 0.25)
  last <- -Inf
  new_callback("r", hooks = list(on_epoch_end = function(epoch, logs) {
    n <- epoch - v$first + 1  # epochs are 1-based in R hooks
    for (k in names(logs)) {
      cur <- v$metrics[[k]] %||% numeric()
      if (length(cur) < n - 1) cur <- c(cur, rep(NA_real_, n - 1 - length(cur)))
      cur[n] <- as.numeric(logs[[k]])[1]
      v$metrics[[k]] <- cur
    }
    # the page reads the data once a second: writing more often than every `interval`
    # seconds shows nothing sooner (fit() writes the final state itself)
    now <- proc.time()[["elapsed"]]
    if (now - last >= interval) {
      last <<- now
      metrics_page_write(v)
      utils::process.events()
    }
    NULL
  }))
}

# fit()'s part: a page for this run (opened now), its hook, and what to do when fit() returns.
metrics_page_for_fit <- function(cfg, open = TRUE) {
  v <- metrics_page("Training metrics", cfg$epochs, cfg$initial_epoch + 1)
  metrics_page_write(v)
  if (open) metrics_page_open(v)
  v
}

metrics_page_finish <- function(v, res) {
  status <- if (is.null(res)) "error" else switch(res$status, ok = "ok", interrupted = "interrupted", "error")
  # the history is the truth (what the hook saw, unless R was interrupted inside it)
  if (!is.null(res$metrics) && length(res$metrics)) v$metrics <- lapply(res$metrics, as.numeric)
  metrics_page_write(v, done = TRUE, status = status)
}
