# compile(), fit(), evaluate(), predict() and the batch-level verbs. Each checks its
# arguments, builds a spec and makes one call into Rust.

#' Configure a model for training
#'
#' @param object A model.
#' @param optimizer An optimizer name (`"rmsprop"`, `"adam"`, `"sgd"`, ...) or an
#'   `optimizer_*()` object.
#' @param loss A loss name (`"categorical_crossentropy"`, `"mse"`, ...) or a `loss_*()` function.
#'   For a model with several outputs: one loss for every output, or one per output as an
#'   unnamed list (or character vector) in output order or a list named by output
#'   (`list(main_output = "binary_crossentropy", aux_output = "mse")`); every output needs one.
#'   Outputs are named by the layers that produce them.
#' @param metrics Metric names (`c("accuracy")`) or `metric_*()` objects. For a model with
#'   several outputs: a list named by output (`list(out1 = "accuracy", out2 = c("mae", "mse"))`,
#'   outputs left out get none), or an unnamed list with one entry per output, as Keras 3 reads
#'   it (`c("accuracy", "mae")` on a two-output model gives `out1_accuracy` and `out2_mae`); a
#'   flat list of another length (e.g. `"accuracy"`) applies to every output, as Keras 2 did.
#'   Logs name them `<output>_<metric>`.
#' @param loss_weights Weights of the outputs' losses in the total `loss`: a numeric vector or
#'   list, unnamed (output order) or named by output, one per output. A one-output model takes
#'   `NULL` or 1 only.
#' @param weighted_metrics Metrics computed with the sample (and class) weights; those in
#'   `metrics` ignore them, as in keras. A weighted metric whose name `metrics` already uses is
#'   logged as `weighted_<name>`. Per output like `metrics`.
#' @param run_eagerly,steps_per_execution,jit_compile Accepted for compatibility: rkeras
#'   always runs compiled Rust code one batch at a time.
#' @param ... No other arguments: an unknown name is an error.
#' @returns The model, invisibly (changed in place).
#' @family training
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(3, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "rmsprop", metrics = "accuracy")
compile.rkeras_model <- function(object, optimizer = "rmsprop", loss = NULL, metrics = NULL, loss_weights = NULL,
                                 weighted_metrics = NULL, run_eagerly = NULL, steps_per_execution = NULL,
                                 jit_compile = NULL, ...) {
  check_dots(list(...), fn = "compile")
  check_model_idle(object)
  outputs <- model_output_names(object)
  args <- if (length(outputs) > 1) {
    compile_spec_multi(optimizer, loss, metrics, loss_weights, weighted_metrics, outputs)
  } else {
    one <- function(v, arg) unwrap_single_output(v, outputs, arg)
    check_loss_weights(one(loss_weights, "loss_weights"))
    loss <- resolve_loss(one(loss, "loss"))
    list(optimizer = resolve_optimizer(optimizer), loss = loss$loss, metrics = resolve_metrics(one(metrics, "metrics")),
         weighted_metrics = resolve_metrics(one(weighted_metrics, "weighted_metrics")), from_logits = loss$from_logits)
  }
  apply_pending_trainable(object)
  if (is_built(object) || !is.null(object$state)) rk_model_compile(model_ptr(object), args)  # else at the build
  object$compile_args <- args
  refresh_state(object)
  invisible(object)
}

# The compile spec of a model with several outputs (GRAPH-CONTRACT.md): every entry is a list
# in output order.
compile_spec_multi <- function(optimizer, loss, metrics, loss_weights, weighted_metrics, outputs) {
  loss <- resolve_output_losses(loss, outputs)
  list(optimizer = resolve_optimizer(optimizer), loss = loss$loss,
       loss_weights = resolve_loss_weights(loss_weights, outputs),
       metrics = resolve_output_metrics(metrics, outputs, "metrics"),
       weighted_metrics = resolve_output_metrics(weighted_metrics, outputs, "weighted_metrics"),
       from_logits = loss$from_logits)
}

# model$compile_args from the compile spec the core hands back for a loaded model (the one-output
# layout, or lists per output for `n_outputs` > 1), in the layout compile() stores.
compile_args_from_core <- function(cmp, n_outputs = 1L) {
  opt <- Filter(Negate(is.null), cmp$optimizer)
  opt <- opt[c("name", setdiff(names(opt), "name"))]
  flat <- function(m) as.list(unlist(m))
  if (n_outputs <= 1)
    return(list(optimizer = opt, loss = cmp$loss, metrics = flat(cmp$metrics), weighted_metrics = flat(cmp$weighted_metrics),
                from_logits = isTRUE(cmp$from_logits)))
  per <- function(v, default) {
    v <- if (is.null(v)) list() else as.list(v)
    if (length(v) == 0) return(rep(list(default), n_outputs))
    if (length(v) == 1 && n_outputs > 1) v <- rep(v, n_outputs)
    v
  }
  list(optimizer = opt, loss = lapply(per(cmp$loss, NULL), as.character),
       loss_weights = lapply(per(cmp$loss_weights, 1), as.numeric),
       metrics = lapply(per(cmp$metrics, list()), flat), weighted_metrics = lapply(per(cmp$weighted_metrics, list()), flat),
       from_logits = lapply(per(cmp$from_logits, FALSE), isTRUE))
}

# A one-output model also takes loss/metrics as a list of one entry, unnamed or named by its
# output (as Keras does); anything else is passed on unchanged.
unwrap_single_output <- function(value, outputs, arg) {
  if (!is.list(value) || is.function(value) || length(value) != 1 || inherits(value, "rkeras_metric")) return(value)
  nm <- names(value)
  if (is.null(nm) || !nzchar(nm)) {
    # an unnamed list of one metric stays a list of metrics
    return(if (arg %in% c("metrics", "weighted_metrics")) value else value[[1]])
  }
  if (length(outputs) == 1 && !identical(nm, outputs))
    stop_arg("`", arg, "` names the output \"", nm, "\": ", describe_io(outputs, "output"))
  value[[1]]
}

# keras accepts one weight per output; a one-output model takes weight 1 only.
check_loss_weights <- function(loss_weights) {
  if (is.null(loss_weights)) return(invisible())
  w <- unlist(loss_weights)
  if (!is.numeric(w) || length(w) != 1 || !isTRUE(all.equal(unname(w), 1)))
    stop_arg("compile(): `loss_weights` must have one weight per model output; this model has one output, ",
             "and rkeras supports only weight 1 for it (got ", describe_value(loss_weights), ")")
  invisible()
}

check_compiled <- function(model) {
  if (is.null(model$compile_args))
    stop_arg("You must compile your model before training/testing. Use `compile(model, optimizer, loss)`.")
  invisible(model)
}

# The compiled Rust model; an unbuilt model is built from `x`, the data as it goes to Rust (one
# array, or a list in input order).
ensure_compiled <- function(model, x = NULL) {
  check_compiled(model)
  model_ptr(model, data_shapes(x))
}

# Arrays for the .Call: x and y as one array each (one input / output) or unnamed lists of
# arrays in input / output order (see model-io.R).
array_data <- function(x, y, sample_weight = NULL, prefix = "", model) {
  xy <- model_xy(model, x, y, sample_weight, prefix)
  list(type = "arrays", x = xy$x, y = xy$y, w = sample_weight)
}

generator_data <- function(generator, steps, steps_name, model = NULL) {
  if (missing(steps) || is.null(steps)) steps <- flow_steps(generator)  # a flow: one pass over its data
  if (is.null(steps))
    stop_arg("`", steps_name, "` is required when the data is a generator function")
  list(type = "generator", fn = guard_closure(io_generator(generator, model)), steps = check_count(steps, steps_name))
}

validation_arg <- function(validation_data, validation_steps, model) {
  if (is.null(validation_data)) return(NULL)
  if (is.function(validation_data)) return(generator_data(validation_data, validation_steps, "validation_steps", model))
  if (!is.list(validation_data) || !length(validation_data) %in% 2:3)
    stop_arg("`validation_data` must be list(x, y), list(x, y, sample_weight) or a generator function, got ",
             describe_value(validation_data))
  array_data(validation_data[[1]], validation_data[[2]],
             if (length(validation_data) == 3) validation_data[[3]], prefix = "validation_data: ", model = model)
}

# Class weights as a vector indexed by class (0-based); the names must be classes of the
# targets: columns of one-hot `y`, or the model's output units for integer labels.
class_weight_arg <- function(class_weight, y = NULL, model = NULL) {
  if (is.null(class_weight)) return(NULL)
  check_class_weight_outputs(class_weight, model)
  if (!is.list(class_weight) && !is.numeric(class_weight) || is.null(names(class_weight)))
    stop_arg("`class_weight` must be a named list of weights, e.g. list(\"0\" = 1, \"1\" = 10)")
  idx <- suppressWarnings(as.integer(names(class_weight)))
  if (anyNA(idx) || any(idx < 0))
    stop_arg("`class_weight` names must be class indices 0, 1, ..., got: ", paste(names(class_weight), collapse = ", "))
  classes <- n_classes(y, model)
  if (!is.null(classes) && any(idx >= classes))
    stop_arg("`class_weight` names must be class indices from 0 to ", classes - 1, " (the classes of `y`), got \"",
             names(class_weight)[idx >= classes][[1]], "\"")
  w <- rep(1, max(idx) + 1)
  w[idx + 1] <- vapply(class_weight, function(v) check_number(v, "class_weight"), 0)
  as.list(w)
}

check_class_weight_outputs <- function(class_weight, model) {
  if (!is.null(class_weight) && !is.null(model) && is_multi_output(model))
    stop_arg("`class_weight` is only supported for models with a single output; this model has outputs ",
             quote_names(model_output_names(model)), " (use `sample_weight`)")
  invisible()
}

# How many classes the targets have: one-hot columns, else the model's output units (2 for
# one sigmoid unit). NULL when unknown (a generator).
n_classes <- function(y, model) {
  if (is.null(y) || is.function(y)) return(NULL)
  cols <- if (length(dim(y)) >= 2) prod(dim(y)[-1]) else 1L
  if (cols > 1) return(cols)
  units <- if (!is.null(model)) output_units(model)
  if (is.null(units)) NULL else max(units, 2L)
}

output_units <- function(model) {
  info <- rk_model_layers(model_ptr(model))
  if (!length(info)) return(NULL)
  s <- info[[length(info)]]$output_shape
  s[[length(s)]]
}

normalize_callbacks <- function(callbacks, model) {
  if (is.null(callbacks)) return(list())
  if (inherits(callbacks, "rkeras_callback")) callbacks <- list(callbacks)
  lapply(callbacks, function(cb) {
    if (!inherits(cb, "rkeras_callback"))
      stop_arg("`callbacks` must be a list of callback_*() objects, got ", describe_value(cb))
    prepare_callback(cb, model)
  })
}

#' Train a model
#'
#' Trains for `epochs` epochs on arrays, or on a generator function (`x = function()` that
#' returns `list(x, y)` per call, with `steps_per_epoch`). Esc/Ctrl-C stops after the current
#' batch, keeps the weights trained so far and returns the history with a warning.
#'
#' @param object A compiled model.
#' @param x Inputs: a matrix or array (samples first), or a generator function. For a model
#'   with several inputs, a list of arrays: unnamed in input order, or named by input
#'   (`list(input_a = xa, input_b = xb)`). A generator may return lists for `x` and `y`.
#' @param y Targets: an array, or for a model with several outputs a list of arrays, unnamed in
#'   output order or named by output (the names of the output layers). Every array must have
#'   the same number of rows.
#' @param batch_size Samples per step (default 32).
#' @param epochs Number of the final epoch (`initial_epoch` counts as already run).
#' @param verbose 0 (silent), 1 (progress bar), 2 (a line per epoch) or `"auto"` (1 at an
#'   interactive console, 2 in scripts and knitr, 0 under testthat). The bar redraws itself only
#'   where the output can (a terminal, the RStudio or Positron console); elsewhere
#'   (`Rscript train.R > log`, knitr, `capture.output()`) 1 prints one line per epoch as 2
#'   does, without control characters. Colours follow the console (cli's detection, `NO_COLOR`).
#' @param callbacks A list of `callback_*()` objects.
#' @param view_metrics Show live charts of the metrics (one per metric, training and
#'   validation) while training: `TRUE`, `FALSE` or `"auto"` (on in RStudio and Positron when
#'   `verbose > 0` and more than one epoch is run). The page opens in the IDE's Viewer, elsewhere in a browser; see
#'   [view_metrics()].
#' @param validation_split Fraction of the data (the last rows, before shuffling) to validate on.
#' @param validation_data `list(x, y)`, `list(x, y, sample_weight)` or a generator function
#'   (`x` and `y` lists of arrays for several inputs/outputs).
#' @param shuffle Whether to shuffle the training rows each epoch.
#' @param class_weight Named list mapping class indices (`"0"`, `"1"`, ...) to weights.
#' @param sample_weight Per-sample weights: one vector, applied to every output.
#' @param initial_epoch Epoch to start at (0-based count of epochs already run).
#' @param steps_per_epoch Steps per epoch for a generator.
#' @param validation_steps Steps of a validation generator per epoch.
#' @param ... `validation_batch_size` (samples per validation step, default `batch_size`);
#'   `validation_freq = 1`, `workers`, `use_multiprocessing` and `max_queue_size` are accepted
#'   for compatibility (R closures always run on R's thread). Any other name is an error.
#' @returns A `keras_training_history`, invisibly.
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(200), 50); y <- to_categorical(sample(0:1, 50, TRUE), 2)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
#' history <- model %>% fit(x, y, epochs = 2, verbose = 0)
#' history
fit.rkeras_model <- function(object, x = NULL, y = NULL, batch_size = NULL, epochs = 10,
                             verbose = getOption("keras.fit_verbose", default = "auto"), callbacks = NULL,
                             view_metrics = getOption("keras.view_metrics", default = "auto"),
                             validation_split = 0, validation_data = NULL, shuffle = TRUE, class_weight = NULL,
                             sample_weight = NULL, initial_epoch = 0, steps_per_epoch = NULL,
                             validation_steps = NULL, ...) {
  dots <- check_dots(list(...), c("validation_batch_size", "validation_freq", "workers", "use_multiprocessing",
                                  "max_queue_size"), fn = "fit")
  if (!is.null(dots$validation_freq) && !identical(as.numeric(dots$validation_freq), 1))
    stop_arg("fit(): `validation_freq` other than 1 is not supported by rkeras yet, got ",
             describe_value(dots$validation_freq))
  check_model_idle(object)
  check_compiled(object)
  train <- if (is.function(x)) generator_data(x, steps_per_epoch, "steps_per_epoch", object)
           else array_data(x, y, sample_weight, model = object)
  val <- validation_arg(validation_data, validation_steps, object)
  check_class_weight_outputs(class_weight, object)
  ensure_compiled(object, train$x)  # builds an unbuilt model from the data (inputs in order)
  validation_split <- check_number(validation_split, "validation_split")
  # keras: validation_data, when given, overrides validation_split
  if (!is.null(validation_data)) validation_split <- 0
  if (validation_split < 0 || validation_split >= 1)
    stop_arg("`validation_split` must be in [0, 1), got ", validation_split)
  if (is.function(x) && validation_split > 0)
    stop_arg("`validation_split` is not supported with a generator; pass `validation_data`")
  cfg <- list(epochs = check_count(epochs, "epochs", min = 0),
              initial_epoch = check_count(initial_epoch, "initial_epoch", min = 0),
              verbose = resolve_verbose(verbose),
              class_weight = class_weight_arg(class_weight, if (!is.function(x)) y, object),
              batch_size = check_count(batch_size %||% 32L, "batch_size"),
              validation_batch_size = check_count(dots$validation_batch_size, "validation_batch_size", null_ok = TRUE),
              shuffle = check_flag(shuffle, "shuffle"), validation_split = validation_split)
  run_fit(object, train, val, cfg, callbacks, view_metrics)
}

run_fit <- function(object, train, val, cfg, callbacks, view_metrics = FALSE) {
  view <- resolve_view_metrics(view_metrics, cfg$verbose, cfg$epochs - cfg$initial_epoch)
  object$stop_training <- FALSE
  apply_threads()
  cbs <- normalize_callbacks(callbacks, object)
  n_user <- length(cbs)
  res <- NULL
  if (view) {
    # the live page (view-metrics.R): its epoch-end hook runs last, as keras adds its viewer last
    page <- metrics_page_for_fit(cfg, open = interactive())
    cbs <- c(cbs, list(prepare_callback(metrics_page_callback(page), object)))
    on.exit(metrics_page_finish(page, res), add = TRUE)
  }
  hold_model(object)
  res <- rk_fit(model_ptr(object), train, val, cfg, cbs, console_style())
  store_callback_states(callbacks, res$callback_states[seq_len(n_user)])
  refresh_state(object)
  history <- new_history(res, cfg, object)
  object$history <- history
  raise_outcome(res, history)
  invisible(history)
}

# Turns a non-"ok" status from Rust into what the user sees: the original R condition
# (error in user code), an rkeras error, or after an interrupt a warning (fit(): the weights
# and history are kept) or an error (evaluate(), predict(): there is no result to return).
raise_outcome <- function(res, history = NULL, what = "fit") {
  for (w in res$warnings) warning(w, call. = FALSE)
  switch(res$status,
    ok = invisible(NULL),
    interrupted = if (what == "fit") {
      warning(structure(class = c("rkeras_interrupted", "warning", "condition"), list(
        message = sprintf(paste0("training interrupted by the user at epoch %d, step %d: the weights are kept ",
                                 "as trained so far and the history covers the finished epochs"),
                          as.integer(res$epoch), as.integer(res$step)),
        call = NULL, history = history)))
    } else {
      stop(rkeras_condition(paste0(what, "() interrupted by the user: no result is returned"), "rkeras_interrupted"))
    },
    rerror = {
      cond <- res$condition
      if (inherits(cond, "condition")) {
        cond$rkeras_history <- history
        stop(cond)
      }
      stop_arg(res$message)
    },
    error = stop(rkeras_condition(res$message, "rkeras_runtime_error", rkeras_history = history)))
}

eval_data <- function(x, y, sample_weight, steps, model) {
  if (is.function(x)) generator_data(x, steps, "steps", model) else array_data(x, y, sample_weight, model = model)
}

#' Evaluate a model
#'
#' @inheritParams fit.rkeras_model
#' @param steps Steps for a generator.
#' @param ... No other arguments: an unknown name is an error.
#' @returns A named list, as keras returns it: `loss` and the metrics (`score$loss`,
#'   `score[[1]]`, `score$accuracy`).
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(400), 100); y <- to_categorical(as.integer(x[, 1] > 0.5), 2)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam", metrics = "accuracy")
#' model %>% fit(x, y, epochs = 2, verbose = 0)
#' score <- model %>% evaluate(x, y, verbose = 0)
#' score$loss
#' score$accuracy
evaluate <- function(object, ...) UseMethod("evaluate")

#' @rdname evaluate
#' @export
evaluate.rkeras_model <- function(object, x = NULL, y = NULL, batch_size = NULL, verbose = "auto",
                                  sample_weight = NULL, steps = NULL, callbacks = NULL, ...) {
  check_dots(list(...), fn = "evaluate")
  check_model_idle(object)
  check_compiled(object)
  data <- eval_data(x, y, sample_weight, steps, object)
  ensure_compiled(object, data$x)
  hold_model(object)
  res <- rk_evaluate(model_ptr(object), data,
                     check_count(batch_size %||% 32L, "batch_size"), resolve_verbose(verbose),
                     normalize_callbacks(callbacks, object), console_style())
  raise_outcome(res, what = "evaluate")
  logs <- res$logs
  logs[c("loss", setdiff(names(logs), "loss"))]
}

#' Predict with a model
#'
#' @inheritParams fit.rkeras_model
#' @param object A model.
#' @param steps Steps for a generator.
#' @param verbose 0 (silent), 1 (progress bar), 2 or `"auto"` (1 at an interactive console,
#'   2 in scripts and knitr, 0 in tests).
#'   Esc/Ctrl-C stops a prediction between chunks with an error of class
#'   `rkeras_interrupted` (there is no partial result).
#' @param ... No other arguments: an unknown name is an error.
#' @returns A numeric matrix (samples x outputs), or an array for N-d outputs; for a model with
#'   several outputs, an unnamed list of them in output order (as keras returns it).
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(40), 10)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(3, activation = "softmax")
#' p <- predict(model, x, verbose = 0)  # no compile() needed
#' dim(p)
#' rowSums(p)
#' max.col(p) - 1  # class ids, counted from 0 as in keras
predict.rkeras_model <- function(object, x, batch_size = NULL, verbose = "auto", steps = NULL, callbacks = NULL,
                                 ...) {
  check_dots(list(...), fn = "predict")
  check_model_idle(object)
  data <- if (is.function(x)) generator_data(x, steps, "steps", object)
          else list(type = "arrays", x = model_xy(object, x, NULL, need_y = FALSE)$x)
  apply_threads()
  hold_model(object)
  res <- rk_predict(model_ptr(object, data_shapes(data$x)), data, check_count(batch_size %||% 32L, "batch_size"),
                    resolve_verbose(verbose), normalize_callbacks(callbacks, object), console_style())
  raise_outcome(res, what = "predict")
  res$value
}

#' Single-batch training, testing and prediction
#'
#' @param object A model.
#' @param x,y A batch of inputs and targets (lists of arrays for several inputs/outputs, as in
#'   [fit()]).
#' @param class_weight Named list of class weights.
#' @param sample_weight Per-sample weights.
#' @returns `train_on_batch()`/`test_on_batch()`: the loss (and metrics) on the batch, named
#'   by `model$metrics_names`; `predict_on_batch()`: predictions.
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(128), 32); y <- to_categorical(as.integer(x[, 1] > 0.5), 2)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd", metrics = "accuracy")
#' train_on_batch(model, x, y)  # the loss and accuracy before this step's update
#' test_on_batch(model, x, y)
#' dim(predict_on_batch(model, x))
train_on_batch <- function(object, x, y, class_weight = NULL, sample_weight = NULL) {
  check_model_idle(object)
  check_compiled(object)
  xy <- model_xy(object, x, y, sample_weight)
  cw <- unlist(class_weight_arg(class_weight, y, object))
  ensure_compiled(object, xy$x)
  logs <- rk_train_on_batch(model_ptr(object), xy$x, xy$y, sample_weight, cw)
  refresh_state(object)
  batch_result(logs)
}

#' @rdname train_on_batch
#' @export
test_on_batch <- function(object, x, y, sample_weight = NULL) {
  check_model_idle(object)
  check_compiled(object)
  xy <- model_xy(object, x, y, sample_weight)
  ensure_compiled(object, xy$x)
  batch_result(rk_test_on_batch(model_ptr(object), xy$x, xy$y, sample_weight))
}

#' @rdname train_on_batch
#' @export
predict_on_batch <- function(object, x) {
  predict(object, x, batch_size = max(1L, n_rows(x)))
}

batch_result <- function(logs) {
  v <- unlist(logs)
  v <- c(v["loss"], v[setdiff(names(v), "loss")])
  if (length(v) == 1) unname(v) else v
}

#' Class predictions (deprecated)
#'
#' Kept for old tutorials; keras removed them in TF 2.6. Use
#' `predict(model, x) %>% max.col() - 1` (or `> 0.5` for one output unit).
#'
#' @inheritParams predict.rkeras_model
#' @returns `predict_classes()`: 0-based class ids; `predict_proba()`: probabilities.
#' @family training
#' @export
#' @examples
#' x <- matrix(runif(40), 10)
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(3, activation = "softmax")
#' suppressWarnings(predict_classes(model, x))
#' max.col(predict(model, x, verbose = 0)) - 1  # the same, without the warning
predict_classes <- function(object, x, batch_size = NULL, verbose = 0, steps = NULL) {
  warning("`predict_classes()` is deprecated: use `predict(model, x) %>% max.col() - 1` instead", call. = FALSE)
  p <- predict(object, x, batch_size = batch_size, verbose = verbose, steps = steps)
  if (ncol(p) == 1) as.integer(p > 0.5) else max.col(p, ties.method = "first") - 1L
}

#' @rdname predict_classes
#' @export
predict_proba <- function(object, x, batch_size = NULL, verbose = 0, steps = NULL) {
  warning("`predict_proba()` is deprecated: use `predict(model, x)` instead", call. = FALSE)
  predict(object, x, batch_size = batch_size, verbose = verbose, steps = steps)
}
