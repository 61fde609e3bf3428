# TensorBoard: the callback that writes event logs (written by the Rust core), reading the
# scalars back, and launching an external `tensorboard` to view them.

#' TensorBoard logs of training
#'
#' Writes event files that [TensorBoard](https://www.tensorflow.org/tensorboard) displays,
#' with the runs, tags and steps of Keras 3's `TensorBoard` callback:
#' * `<log_dir>/train`: `epoch_loss`, `epoch_<metric>` and `epoch_learning_rate` at every
#'   epoch end (step = epoch, 0-based); `batch_loss`, `batch_<metric>` (running means of the
#'   epoch so far) when `update_freq` is `"batch"` or a number of batches (step = batch
#'   count since the start of `fit()`, 1-based); weight histograms
#'   (`<model>/<layer>/kernel/histogram`; functional models: `<layer>/kernel/histogram`)
#'   every `histogram_freq` epochs; and the model's Keras JSON (tag `keras`, shown in the
#'   Graphs tab) when `write_graph = TRUE`.
#' * `<log_dir>/validation`: `epoch_loss`, `epoch_<metric>` from the validation data (the
#'   `val_` prefix dropped) and `evaluation_<name>_vs_iterations` (step = optimizer
#'   iterations).
#'
#' Each `fit()` adds new files, which TensorBoard shows overlaid. The files are flushed at
#' every epoch end, so a running TensorBoard (see [tensorboard()]) updates live. Unlike
#' Keras 3, an integer `update_freq` never drops the epoch summaries (a Keras bug skips
#' those of epochs whose last batch count is not a multiple of it).
#'
#' Not supported, accepted with a warning when set to a non-default value: `batch_size`,
#' `write_grads`, `write_images`, the embeddings arguments, `profile_batch` and any
#' argument in `...` (such as Keras 3's `write_steps_per_second`).
#'
#' @param log_dir Directory of the logs (created when needed); `NULL` means `"logs"`.
#' @param histogram_freq Write weight histograms every this many epochs (0: never).
#' @param batch_size,write_grads,write_images,embeddings_freq,embeddings_layer_names,embeddings_metadata,embeddings_data,profile_batch
#'   Not supported (see Details).
#' @param write_graph Write the model's graph (Keras JSON) before training.
#' @param update_freq `"epoch"`, `"batch"` (batch summaries after every batch) or a number
#'   `N` (after every `N`th batch).
#' @param ... Not supported (see Details).
#' @returns A callback for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' x <- matrix(runif(80), 20); y <- to_categorical(sample(0:1, 20, TRUE), 2)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
#' log_dir <- file.path(tempdir(), "logs")
#' model %>% fit(x, y, epochs = 2, verbose = 0, validation_split = 0.2,
#'               callbacks = callback_tensorboard(log_dir))
#' head(read_tensorboard_logs(log_dir))
callback_tensorboard <- function(log_dir = NULL, histogram_freq = 0, batch_size = NULL, write_graph = TRUE,
                                 write_grads = FALSE, write_images = FALSE, embeddings_freq = 0,
                                 embeddings_layer_names = NULL, embeddings_metadata = NULL,
                                 embeddings_data = NULL, update_freq = "epoch", profile_batch = 0, ...) {
  log_dir <- check_string(log_dir %||% "logs", "log_dir")
  if (!nzchar(log_dir)) stop_arg("`log_dir` must not be empty")
  if (!(is.character(update_freq) && length(update_freq) == 1 && update_freq %in% c("epoch", "batch")) &&
      !(is.numeric(update_freq) && length(update_freq) == 1 && is.finite(update_freq) && update_freq >= 1 &&
        update_freq == round(update_freq)))
    stop_arg("`update_freq` must be \"epoch\", \"batch\" or a whole number >= 1, got ", describe_value(update_freq))
  dots <- list(...)
  if (length(dots) && (is.null(names(dots)) || any(!nzchar(names(dots)))))
    stop_arg("callback_tensorboard(): arguments in `...` must be named")
  unsupported <- c(
    batch_size = !is.null(batch_size), write_grads = !isFALSE(write_grads), write_images = !isFALSE(write_images),
    embeddings_freq = !identical(as.numeric(embeddings_freq), 0), embeddings_layer_names = !is.null(embeddings_layer_names),
    embeddings_metadata = !is.null(embeddings_metadata), embeddings_data = !is.null(embeddings_data),
    profile_batch = !(is.numeric(profile_batch) && length(profile_batch) > 0 && all(profile_batch == 0)),
    vapply(dots, function(v) TRUE, logical(1)))
  if (any(unsupported))
    warning(structure(class = c("rkeras_unsupported", "warning", "condition"), list(
      message = paste0("callback_tensorboard(): not supported by rkeras, ignored: ",
                       paste(names(unsupported)[unsupported], collapse = ", ")),
      call = NULL)))
  new_callback("tensorboard", log_dir = path.expand(log_dir),
               histogram_freq = check_count(histogram_freq, "histogram_freq", 0),
               write_graph = check_flag(write_graph, "write_graph"), update_freq = update_freq)
}

#' Read the scalars of TensorBoard logs
#'
#' Reads every scalar below `log_dir` (recursively), from rkeras, Keras or any other
#' TensorBoard writer. Both checksums of every record are verified.
#'
#' @param log_dir A log directory, e.g. the `log_dir` of [callback_tensorboard()].
#' @returns A data frame with columns `run` (the directory relative to `log_dir`, such as
#'   `"train"` and `"validation"`, `"."` for `log_dir` itself), `tag` (e.g. `"epoch_loss"`),
#'   `step`, `value` and `wall_time` (seconds since 1970), sorted by run, tag and step.
#' @family callbacks
#' @export
#' @examples
#' x <- matrix(runif(80), 20); y <- x[, 1] + x[, 2]
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(1)
#' model %>% compile(loss = "mse", optimizer = "sgd")
#' log_dir <- file.path(tempdir(), "logs-mse")
#' model %>% fit(x, y, epochs = 3, verbose = 0, callbacks = callback_tensorboard(log_dir))
#' logs <- read_tensorboard_logs(log_dir)
#' logs[logs$tag == "epoch_loss", c("run", "step", "value")]
read_tensorboard_logs <- function(log_dir) {
  log_dir <- check_string(log_dir, "log_dir")
  if (!dir.exists(log_dir)) stop_arg("`log_dir` \"", log_dir, "\" is not an existing directory")
  recs <- tryCatch(rk_read_scalars(path.expand(log_dir)),
                   error = function(e) stop_arg("cannot read TensorBoard logs: ", conditionMessage(e)))
  data.frame(run = recs$run, tag = recs$tag, step = recs$step, value = recs$value,
             wall_time = recs$wall_time, stringsAsFactors = FALSE)
}

#' Run TensorBoard
#'
#' Starts TensorBoard in the background on the given logs, or stops the one started before
#' (only one runs at a time: starting a new one stops the previous one). TensorBoard is an
#' external program: install it with `pip install tensorboard` (Python 3) and make sure the
#' `tensorboard` command is on the `PATH`.
#'
#' @param log_dir Log directory or directories (created when missing). Several directories
#'   are shown as runs named after their names (if any) or base names. Default `"logs"`.
#' @param action `"start"` or `"stop"`.
#' @param host Host to serve on.
#' @param port Port to serve on, or `"auto"` for a free one.
#' @param launch_browser Open TensorBoard in the web browser.
#' @param reload_interval Seconds between reloads of the logs.
#' @param purge_orphaned_data Discard data from crashed runs that were restarted.
#' @returns The URL of TensorBoard, invisibly (`NULL` for `"stop"`).
#' @family callbacks
#' @export
#' @examples
#' if (nzchar(Sys.which("tensorboard")) && interactive()) {
#'   tensorboard(file.path(tempdir(), "logs"))
#'   tensorboard(action = "stop")
#' }
tensorboard <- function(log_dir, action = c("start", "stop"), host = "127.0.0.1", port = "auto",
                        launch_browser = getOption("tensorboard.launch_browser", interactive()),
                        reload_interval = 5, purge_orphaned_data = TRUE) {
  action <- match.arg(action)
  if (action == "stop") {
    cat(if (tb_stop()) "TensorBoard stopped.\n" else "TensorBoard is not running.\n")
    return(invisible(NULL))
  }
  if (missing(log_dir)) log_dir <- "logs"
  if (!is.character(log_dir) || length(log_dir) == 0 || anyNA(log_dir) || !all(nzchar(log_dir)))
    stop_arg("`log_dir` must be one or more directory names, got ", describe_value(log_dir))
  host <- check_string(host, "host")
  if (!identical(port, "auto")) port <- check_count(port, "port", 1)
  launch_browser <- check_flag(launch_browser, "launch_browser")
  bin <- Sys.which("tensorboard")[[1]]
  if (!nzchar(bin))
    stop_arg("TensorBoard is not installed: no `tensorboard` command on the PATH. Install it with ",
             "`pip install tensorboard` (Python 3) and make sure the folder of the `tensorboard` command is ",
             "on the PATH (e.g. Sys.setenv(PATH = ...)). The logs can be read without it: read_tensorboard_logs().")
  dirs <- path.expand(log_dir)
  for (d in dirs) if (!dir.exists(d)) dir.create(d, recursive = TRUE)
  logdir_args <- if (length(dirs) == 1) c("--logdir", dirs) else {
    run <- if (is.null(names(log_dir))) basename(dirs) else ifelse(nzchar(names(log_dir)), names(log_dir), basename(dirs))
    c("--logdir_spec", paste(paste0(run, ":", normalizePath(dirs)), collapse = ","))
  }
  args <- c(logdir_args, "--host", host, "--port", if (identical(port, "auto")) "0" else port,
            "--reload_interval", format(check_number(reload_interval, "reload_interval")),
            paste0("--purge_orphaned_data=", tolower(check_flag(purge_orphaned_data, "purge_orphaned_data"))))
  tb_stop()
  url <- tb_start(bin, args, host)
  cat("Started TensorBoard at ", url, "\n", sep = "")
  if (launch_browser) utils::browseURL(url)
  invisible(url)
}
