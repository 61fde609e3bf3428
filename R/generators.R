# The classic generator verbs. A generator is an R function of no arguments returning
# list(x, y) or list(x, y, sample_weight) (list(x) for prediction); Rust calls it exactly
# once per step on the main R thread, computing the previous step meanwhile.

check_workers <- function(workers) {
  workers <- check_count(workers, "workers")
  if (workers > 1)
    warning("`workers > 1` cannot be honoured: R generator functions must run on the main R thread; using 1",
            call. = FALSE)
  invisible(1L)
}

#' Train, evaluate and predict with a generator function
#'
#' `generator` is a function of no arguments that returns one batch per call:
#' `list(x, y)` or `list(x, y, sample_weight)` (or `list(x)` for prediction). It is called
#' exactly `steps_per_epoch` times per epoch, on the main R thread, while Rust computes the
#' previous step.
#'
#' @inheritParams fit.rkeras_model
#' @param generator The generator function.
#' @param steps_per_epoch Calls of the generator per epoch.
#' @param epochs Number of the final epoch (default 1, as in keras).
#' @param validation_data `list(x, y)` (evaluated once per epoch; `validation_steps` is then
#'   ignored) or a generator function (called `validation_steps` times per epoch).
#' @param max_queue_size Accepted for compatibility.
#' @param workers Must be 1 (R closures run on the main thread); larger values warn.
#' @param steps Number of generator calls.
#' @returns `fit_generator()`: a `keras_training_history`, invisibly; `evaluate_generator()`:
#'   named loss and metrics; `predict_generator()`: predictions, one row per generated row.
#' @family generators
#' @export
#' @examples
#' gen <- function() { x <- matrix(runif(32 * 4), 32); list(x, to_categorical(x[, 1] > 0.5, 2)) }
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
#' model %>% fit_generator(gen, steps_per_epoch = 5, epochs = 2, verbose = 0)
fit_generator <- function(object, generator, steps_per_epoch, epochs = 1,
                          verbose = getOption("keras.fit_verbose", default = "auto"), callbacks = NULL,
                          view_metrics = getOption("keras.view_metrics", default = "auto"),
                          validation_data = NULL, validation_steps = NULL, class_weight = NULL,
                          max_queue_size = 10, workers = 1, initial_epoch = 0) {
  ensure_compiled(object)
  if (!is.function(generator)) stop_arg("`generator` must be a function, got ", describe_value(generator))
  check_workers(workers)
  if (missing(steps_per_epoch)) steps_per_epoch <- NULL
  if (is.list(validation_data) && !is.function(validation_data)) validation_steps <- NULL
  cfg <- list(epochs = check_count(epochs, "epochs", min = 0),
              initial_epoch = check_count(initial_epoch, "initial_epoch", min = 0),
              verbose = resolve_verbose(verbose), class_weight = class_weight_arg(class_weight, model = object),
              batch_size = 32L, shuffle = FALSE, validation_split = 0)
  run_fit(object, generator_data(generator, steps_per_epoch, "steps_per_epoch", object),
          validation_arg(validation_data, validation_steps, object), cfg, callbacks, view_metrics)
}

#' @rdname fit_generator
#' @export
evaluate_generator <- function(object, generator, steps, max_queue_size = 10, workers = 1, callbacks = NULL) {
  check_workers(workers)
  if (missing(steps)) steps <- NULL
  evaluate(object, generator, steps = steps, verbose = 0, callbacks = callbacks)
}

#' @rdname fit_generator
#' @export
predict_generator <- function(object, generator, steps, max_queue_size = 10, workers = 1, verbose = 0,
                              callbacks = NULL) {
  check_workers(workers)
  if (missing(steps)) steps <- NULL
  predict(object, generator, steps = steps, verbose = verbose, callbacks = callbacks)
}

# For a model with several inputs or outputs, the batches of a generator may hold x and y as
# lists named by input/output: they are put in input/output order (unnamed lists pass as they
# are, and the binding checks their counts and shapes). A one-input one-output model gets the
# generator unchanged.
io_generator <- function(generator, model) {
  if (is.null(model)) return(generator)
  ins <- model_input_names(model)
  outs <- model_output_names(model)
  if (length(ins) <= 1 && length(outs) <= 1) return(generator)
  order_named <- function(v, names, arg, what) {
    if (!is.list(v) || is.data.frame(v) || is.null(names(v))) return(v)
    match_io_list(v, names, arg, what)
  }
  function() {
    batch <- generator()
    if (!is.list(batch) || is.data.frame(batch)) return(batch)
    if (length(batch) >= 1 && length(ins) > 1) batch[[1]] <- order_named(batch[[1]], ins, "x (from the generator)", "input")
    if (length(batch) >= 2 && length(outs) > 1 && !is.null(batch[[2]]))
      batch[[2]] <- order_named(batch[[2]], outs, "y (from the generator)", "output")
    batch
  }
}
