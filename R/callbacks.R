# Callbacks: built-in ones are specs the Rust core builds; R callbacks (callback_lambda(),
# custom ones) are lists of guarded R hooks called from the Rust loop.

# A callback: its spec, and `self`, an environment where the state after a fit() lands
# (`es$stopped_epoch`, `es$best`, `es$wait`, as keras exposes them).
new_callback <- function(type, ...) {
  structure(list(type = type, ..., self = new.env(parent = emptyenv())), class = "rkeras_callback")
}

# After fit(): each callback's state as the core reports it goes to its `self`.
store_callback_states <- function(callbacks, states) {
  if (inherits(callbacks, "rkeras_callback")) callbacks <- list(callbacks)
  for (i in seq_along(states)) {
    self <- .subset2(callbacks[[i]], "self")
    if (is.environment(self)) for (k in names(states[[i]])) assign(k, states[[i]][[k]], envir = self)
  }
}

# At fit time: R hooks return list(result, stop_training) (a hook stops training by
# setting `model$stop_training <- TRUE`), guarded so errors and interrupts come back as values.
prepare_callback <- function(cb, model) {
  if (identical(cb$type, "r")) {
    if (!is.null(cb$self)) cb$self$model <- model
    cb$hooks <- lapply(cb$hooks, function(fn) {
      force(fn)
      guard_closure(function(...) {
        res <- fn(...)
        list(if (is.list(res)) res, isTRUE(model$stop_training))
      })
    })
  }
  if (identical(cb$type, "learning_rate_scheduler")) cb$schedule <- guard_closure(cb$schedule)
  unclass(cb)[setdiff(names(cb), "self")]
}

#' Send each epoch's logs to a server
#'
#' POSTs `{"epoch": <0-based>, <log keys>: values}` to `root + path` at every epoch end:
#' form-encoded as field `field` (default) or as a JSON body. Only `http://` URLs are
#' supported; an unreachable server gives a warning and training goes on.
#'
#' @param root Server URL.
#' @param path Path on the server.
#' @param field Form field holding the JSON (when `send_as_json = FALSE`).
#' @param headers Named list of extra HTTP headers.
#' @param send_as_json Send the JSON itself as the body.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_remote_monitor("http://localhost:9000")
callback_remote_monitor <- function(root = "http://localhost:9000", path = "/publish/epoch/end/", field = "data",
                                    headers = NULL, send_as_json = FALSE) {
  if (!is.null(headers) && (is.null(names(headers)) || !all(vapply(headers, is.character, TRUE))))
    stop_arg("`headers` must be a named list of strings")
  new_callback("remote_monitor", root = check_string(root, "root"), path = check_string(path, "path"),
               field = check_string(field, "field"), headers = if (!is.null(headers)) as.list(headers),
               send_as_json = check_flag(send_as_json, "send_as_json"))
}

#' Progress bar logger
#'
#' The progress bar is added to every `fit()` with `verbose > 0`; this explicit callback is
#' accepted for old code and adds nothing more.
#'
#' @param count_mode,stateful_metrics Accepted for compatibility.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_progbar_logger()
callback_progbar_logger <- function(count_mode = "samples", stateful_metrics = NULL) {
  new_callback("r", hooks = list())
}

#' Stream epoch results to a CSV file
#'
#' Keras' `CSVLogger`: a header `epoch` then the sorted log keys, one row per epoch (epoch
#' 0-based), `\r\n` line endings, `NA` for missing values, flushed after every epoch.
#' Missing parent folders are created.
#'
#' @param filename Path of the CSV file.
#' @param separator Field separator.
#' @param append Append to an existing file instead of overwriting it.
#' @returns A callback for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_csv_logger(tempfile(fileext = ".csv"))
callback_csv_logger <- function(filename, separator = ",", append = FALSE) {
  new_callback("csv_logger", filename = path.expand(check_string(filename, "filename")),
               separator = check_string(separator, "separator"), append = check_flag(append, "append"))
}

#' Stop training when a monitored quantity has stopped improving
#'
#' Keras 3 semantics: an epoch improves when it beats the best by more than `min_delta`;
#' training stops after `patience` epochs without improvement (never on the first epoch).
#'
#' @param monitor Quantity to monitor (a log key such as `"val_loss"`).
#' @param min_delta Minimum change that counts as an improvement.
#' @param patience Epochs without improvement before stopping.
#' @param verbose 1 prints `Epoch N: early stopping`.
#' @param mode `"auto"`, `"min"` or `"max"`.
#' @param baseline Value the monitor must beat for training to go on.
#' @param restore_best_weights Restore the weights of the best epoch at the end.
#' @param start_from_epoch Epochs to wait before monitoring.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_early_stopping(patience = 5)
callback_early_stopping <- function(monitor = "val_loss", min_delta = 0, patience = 0, verbose = 0,
                                    mode = c("auto", "min", "max"), baseline = NULL,
                                    restore_best_weights = FALSE, start_from_epoch = 0) {
  new_callback("early_stopping", monitor = check_string(monitor, "monitor"),
               min_delta = check_number(min_delta, "min_delta"), patience = check_count(patience, "patience", 0),
               verbose = check_count(verbose, "verbose", 0), mode = check_choice(match.arg(mode), "mode", c("auto", "min", "max")),
               baseline = check_number(baseline, "baseline", null_ok = TRUE),
               restore_best_weights = check_flag(restore_best_weights, "restore_best_weights"),
               start_from_epoch = check_count(start_from_epoch, "start_from_epoch", 0))
}

#' Reduce the learning rate when a metric has stopped improving
#'
#' @inheritParams callback_early_stopping
#' @param factor Factor by which the learning rate is reduced (`< 1`).
#' @param cooldown Epochs to wait after a reduction.
#' @param min_lr Lower bound on the learning rate.
#' @param ... Unused.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_reduce_lr_on_plateau(factor = 0.5, patience = 2)
callback_reduce_lr_on_plateau <- function(monitor = "val_loss", factor = 0.1, patience = 10, verbose = 0,
                                          mode = c("auto", "min", "max"), min_delta = 1e-04, cooldown = 0,
                                          min_lr = 0, ...) {
  factor <- check_number(factor, "factor")
  if (factor >= 1) stop_arg("ReduceLROnPlateau does not support a factor >= 1.0, got factor = ", factor)
  new_callback("reduce_lr_on_plateau", monitor = check_string(monitor, "monitor"), factor = factor,
               patience = check_count(patience, "patience", 0), verbose = check_count(verbose, "verbose", 0),
               mode = match.arg(mode), min_delta = check_number(min_delta, "min_delta"),
               cooldown = check_count(cooldown, "cooldown", 0), min_lr = check_number(min_lr, "min_lr"))
}

#' Learning-rate schedule
#'
#' @param schedule A function `(epoch, lr)` returning the new learning rate; `epoch` is
#'   0-based, as in keras.
#' @param verbose 1 prints the learning rate set at each epoch.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_learning_rate_scheduler(function(epoch, lr) lr * 0.9)
callback_learning_rate_scheduler <- function(schedule, verbose = 0) {
  if (!is.function(schedule)) stop_arg("`schedule` must be a function(epoch, lr), got ", describe_value(schedule))
  new_callback("learning_rate_scheduler", schedule = schedule, verbose = check_count(verbose, "verbose", 0))
}

#' Stop training when the loss becomes NaN or infinite
#'
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_terminate_on_naan()
callback_terminate_on_naan <- function() new_callback("terminate_on_nan")

#' Callbacks from R functions
#'
#' Each hook gets a 1-based `epoch` or `batch` and the `logs` as a named list; a named list
#' it returns is merged into the logs (seen by later callbacks and the history).
#'
#' @param on_epoch_begin,on_epoch_end `function(epoch, logs)`.
#' @param on_batch_begin,on_batch_end,on_train_batch_begin,on_train_batch_end `function(batch, logs)`.
#' @param on_train_begin,on_train_end `function(logs)`.
#' @param on_predict_batch_begin,on_predict_batch_end,on_test_batch_begin,on_test_batch_end `function(batch, logs)`.
#' @param on_predict_begin,on_predict_end,on_test_begin,on_test_end `function(logs)`.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_lambda(on_epoch_end = function(epoch, logs) cat("epoch", epoch, "\n"))
callback_lambda <- function(on_epoch_begin = NULL, on_epoch_end = NULL, on_batch_begin = NULL,
                            on_batch_end = NULL, on_train_batch_begin = NULL, on_train_batch_end = NULL,
                            on_train_begin = NULL, on_train_end = NULL, on_predict_batch_begin = NULL,
                            on_predict_batch_end = NULL, on_predict_begin = NULL, on_predict_end = NULL,
                            on_test_batch_begin = NULL, on_test_batch_end = NULL, on_test_begin = NULL,
                            on_test_end = NULL) {
  hooks <- list(on_epoch_begin = on_epoch_begin, on_epoch_end = on_epoch_end,
                on_train_batch_begin = on_train_batch_begin %||% on_batch_begin,
                on_train_batch_end = on_train_batch_end %||% on_batch_end,
                on_train_begin = on_train_begin, on_train_end = on_train_end,
                on_predict_batch_begin = on_predict_batch_begin, on_predict_batch_end = on_predict_batch_end,
                on_predict_begin = on_predict_begin, on_predict_end = on_predict_end,
                on_test_batch_begin = on_test_batch_begin, on_test_batch_end = on_test_batch_end,
                on_test_begin = on_test_begin, on_test_end = on_test_end)
  hooks <- Filter(Negate(is.null), hooks)
  for (h in names(hooks))
    if (!is.function(hooks[[h]])) stop_arg("`", h, "` must be a function, got ", describe_value(hooks[[h]]))
  new_callback("r", hooks = hooks)
}

# Keras' class for each built-in callback type, for printing.
callback_keras_class <- c(csv_logger = "CSVLogger", early_stopping = "EarlyStopping",
                          reduce_lr_on_plateau = "ReduceLROnPlateau", learning_rate_scheduler = "LearningRateScheduler",
                          terminate_on_nan = "TerminateOnNaN", model_checkpoint = "ModelCheckpoint",
                          tensorboard = "TensorBoard", remote_monitor = "RemoteMonitor", progbar_logger = "ProgbarLogger",
                          r = "LambdaCallback")

format_setting <- function(v) {
  if (is.null(v)) return("NULL")
  if (is.function(v)) return("<function>")
  if (is.character(v)) return(paste0("\"", v, "\"", collapse = ", "))
  if (is.numeric(v) || is.logical(v)) return(paste(format(v, digits = 6), collapse = ", "))
  paste0("<", class(v)[[1]], ">")
}

# Prints "  <lead>a, b, c" wrapped between items at the console width.
wrap_items <- function(items, lead = "") {
  width <- getOption("width") - 2
  line <- paste0("  ", lead)
  start <- TRUE
  for (i in seq_along(items)) {
    piece <- paste0(items[[i]], if (i < length(items)) ",")
    if (!start && nchar(line) + 1 + nchar(piece) > width) {
      cat(line, "\n", sep = "")
      line <- paste0("  ", strrep(" ", nchar(lead)), piece)
    } else {
      line <- paste0(line, if (!start) " ", piece)
    }
    start <- FALSE
  }
  cat(line, "\n", sep = "")
}

#' @export
print.rkeras_callback <- function(x, ...) {
  type <- .subset2(x, "type")
  custom <- setdiff(class(x), "rkeras_callback")
  what <- if (length(custom)) custom[[1]] else callback_keras_class[[type]] %||% type
  cat(sprintf("<callback %s> (%s)\n", if (length(custom)) "class" else type, what))
  fields <- unclass(x)[setdiff(names(unclass(x)), c("type", "self", "hooks"))]
  if (length(fields)) wrap_items(paste(names(fields), vapply(fields, format_setting, ""), sep = " = "))
  hooks <- .subset2(x, "hooks")
  if (length(hooks)) wrap_items(names(hooks), "hooks: ")
  self <- .subset2(x, "self")
  state <- if (is.environment(self)) setdiff(ls(self), c("model", names(hooks), names(fields)))
  if (!length(custom)) state <- state[vapply(state, function(k) is.atomic(get(k, envir = self)), TRUE)]
  if (length(state)) {
    vals <- vapply(state, function(k) {
      v <- get(k, envir = self)
      # the core counts epochs from 0 as Keras does; people count from 1
      if (!length(custom) && grepl("_epoch$", k) && is.numeric(v)) {
        if (k == "stopped_epoch" && v == 0) "none" else format_setting(v + 1)
      } else format_setting(v)
    }, "")
    wrap_items(paste(state, vals, sep = " = "), if (length(custom)) "fields: " else "after the last fit(): ")
  } else if (!length(custom) && type %in% c("early_stopping", "reduce_lr_on_plateau", "model_checkpoint")) {
    cat("  not used in a fit() yet\n")
  }
  invisible(x)
}

#' Save the model during training
#'
#' Keras' `ModelCheckpoint`. `filepath` is a Python format template filled with `epoch`
#' (1-based) and the log values: `"weights.{epoch:02d}-{val_loss:.2f}.rkeras"`. Missing
#' folders are created and each file is written atomically. Files ending in `.h5`/`.hdf5`
#' are written in Keras' HDF5 layout; others in rkeras' format ([load_model()] and
#' [load_model_weights()] read them).
#'
#' @param filepath File path template.
#' @param monitor Quantity to monitor for `save_best_only`.
#' @param verbose 1 prints keras' messages.
#' @param save_best_only Save only when `monitor` improves.
#' @param save_weights_only Save only the weights.
#' @param mode `"auto"`, `"min"` or `"max"`.
#' @param period Deprecated: save every `period` epochs.
#' @param save_freq `"epoch"` or a number of batches.
#' @param initial_value_threshold Value the monitor must beat for the first save.
#' @param ... Unused.
#' @returns A callback.
#' @family callbacks
#' @export
#' @examples
#' cb <- callback_model_checkpoint(file.path(tempdir(), "weights.{epoch:02d}-{val_loss:.2f}.rkeras"))
callback_model_checkpoint <- function(filepath, monitor = "val_loss", verbose = 0, save_best_only = FALSE,
                                      save_weights_only = FALSE, mode = c("auto", "min", "max"), period = NULL,
                                      save_freq = "epoch", initial_value_threshold = NULL, ...) {
  if (!is.null(period)) {
    warning("`period` is deprecated; use `save_freq`", call. = FALSE)
    period <- check_count(period, "period")
  }
  if (!identical(save_freq, "epoch")) save_freq <- check_count(save_freq, "save_freq")
  new_callback("model_checkpoint", filepath = path.expand(check_string(filepath, "filepath")),
               monitor = check_string(monitor, "monitor"), verbose = check_count(verbose, "verbose", 0),
               save_best_only = check_flag(save_best_only, "save_best_only"),
               save_weights_only = check_flag(save_weights_only, "save_weights_only"), mode = match.arg(mode),
               save_freq = save_freq, period = period %||% 1L,
               initial_value_threshold = check_number(initial_value_threshold, "initial_value_threshold", null_ok = TRUE))
}
