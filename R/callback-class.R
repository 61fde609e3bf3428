#' Define a callback class in R
#'
#' The keras3 `Callback()` style: give hook methods; call the result to make a callback.
#' Inside the methods, `self` is the callback object: `self$model` is the model being
#' trained, `self$model$stop_training <- TRUE` stops training after the current batch or
#' epoch, and fields set on `self` persist. Epoch and batch numbers are 1-based, and a named
#' list a method returns is merged into the logs.
#'
#' Weights cannot be read from inside a hook while `fit()` runs (the model is busy); read
#' them after `fit()` returns.
#'
#' @param classname Name of the class (added to the object's class).
#' @param on_epoch_begin,on_epoch_end,on_train_begin,on_train_end,on_train_batch_begin,on_train_batch_end,on_test_begin,on_test_end,on_test_batch_begin,on_test_batch_end,on_predict_begin,on_predict_end,on_predict_batch_begin,on_predict_batch_end
#'   Hook methods: `function(epoch, logs)`, `function(batch, logs)` or `function(logs)`.
#' @param on_batch_begin,on_batch_end keras' older names of `on_train_batch_begin` and
#'   `on_train_batch_end` (used when those are not given).
#' @param initialize Optional `function(...)` run when the callback is created, with the
#'   constructor's arguments.
#' @param ... Other methods or fields to put on `self`.
#' @returns A constructor function; call it (with `initialize`'s arguments) to get a callback.
#' @family callbacks
#' @export
#' @examples
#' StopAt <- Callback("StopAt",
#'   initialize = function(loss) self$target <- loss,
#'   on_epoch_end = function(epoch, logs) {
#'     if (logs$loss < self$target) self$model$stop_training <- TRUE
#'   })
#' cb <- StopAt(loss = 0.1)
Callback <- function(classname, on_epoch_begin = NULL, on_epoch_end = NULL, on_train_begin = NULL,
                     on_train_end = NULL, on_train_batch_begin = NULL, on_train_batch_end = NULL,
                     on_test_begin = NULL, on_test_end = NULL, on_test_batch_begin = NULL,
                     on_test_batch_end = NULL, on_predict_begin = NULL, on_predict_end = NULL,
                     on_predict_batch_begin = NULL, on_predict_batch_end = NULL, on_batch_begin = NULL,
                     on_batch_end = NULL, initialize = NULL, ...) {
  check_string(classname, "classname")
  # keras: on_batch_begin/on_batch_end are the old names of the training-batch hooks
  on_train_batch_begin <- on_train_batch_begin %||% on_batch_begin
  on_train_batch_end <- on_train_batch_end %||% on_batch_end
  hooks <- Filter(Negate(is.null), list(
    on_epoch_begin = on_epoch_begin, on_epoch_end = on_epoch_end, on_train_begin = on_train_begin,
    on_train_end = on_train_end, on_train_batch_begin = on_train_batch_begin,
    on_train_batch_end = on_train_batch_end, on_test_begin = on_test_begin, on_test_end = on_test_end,
    on_test_batch_begin = on_test_batch_begin, on_test_batch_end = on_test_batch_end,
    on_predict_begin = on_predict_begin, on_predict_end = on_predict_end,
    on_predict_batch_begin = on_predict_batch_begin, on_predict_batch_end = on_predict_batch_end))
  members <- list(...)
  for (h in names(hooks))
    if (!is.function(hooks[[h]])) stop_arg("`", h, "` must be a function, got ", describe_value(hooks[[h]]))
  function(...) {
    self <- new.env(parent = emptyenv())
    bind <- function(fn) {
      if (!is.function(fn)) return(fn)
      env <- new.env(parent = environment(fn))
      env$self <- self
      environment(fn) <- env
      fn
    }
    for (m in names(members)) assign(m, bind(members[[m]]), envir = self)
    bound <- lapply(hooks, bind)
    for (h in names(bound)) assign(h, bound[[h]], envir = self)
    if (!is.null(initialize)) bind(initialize)(...)
    structure(list(type = "r", hooks = bound, self = self), class = c(classname, "rkeras_callback"))
  }
}

#' @export
`$.rkeras_callback` <- function(x, name) {
  self <- .subset2(x, "self")
  if (!is.null(self) && exists(name, envir = self, inherits = FALSE)) return(get(name, envir = self))
  .subset2(x, name)
}
