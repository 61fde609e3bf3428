# Saving and loading models in rkeras's own file format (described in ?save_model and at
# the top of src/rust/core/src/serialize.rs), and the saved state that lets a model survive
# saveRDS()/readRDS() and a new R session.
#
# How a model survives saveRDS(): the environment holds `model$state`, the model in
# rkeras's format as a raw vector, and readRDS() gives back the environment with a dead
# handle (external pointers serialize as NULL) and that state, from which model_ptr()
# rebuilds the Rust model. R has no hook that runs before an environment is serialized, so
# the state is a lazy ALTREP raw vector (src/state_altrep.c): it holds the model's handle
# and takes the bytes from the Rust model only when R reads it, which saveRDS() and
# serialize() do; R then writes it as an ordinary raw vector. Every call that changes the
# Rust model (building, compile(), fit(), train_on_batch(), set_weights(),
# load_model_weights(), pop_layer(), ...) puts a fresh lazy state in the environment, so a
# state is never older than the last change, and keeping it costs nothing until the model
# is serialized (taking it costs about 3 ms for the 235k-weight tutorial MLP with Adam).
# During the model's own fit() (saveRDS() in a callback or a generator), the state is that
# of the model as of the last finished step, taken again at each later pause of the loop
# (src/rust/core/src/paused.rs, src/rust/src/r_lent.rs).

# Puts a fresh state of the Rust model in the environment.
refresh_state <- function(model) {
  model$state <- if (!is.null(model$ptr)) rk_model_state(model$ptr)  # NULL: not built yet
  invisible(model)
}

# Rebuilds the Rust model from `model$state`; returns the new handle.
restore_state <- function(model) {
  res <- tryCatch(rk_model_from_bytes(model$state, TRUE), error = function(e)
    stop_arg("model \"", model$name, "\" cannot be restored from its saved state: ", conditionMessage(e)))
  model$ptr <- res$ptr
  # a lazy state again: a plain one would be written as it is by saveRDS() during a fit
  refresh_state(model)
  res$ptr
}

check_model <- function(x, name = "model") {
  if (!inherits(x, "rkeras_model"))
    stop_arg("`", name, "` must be an rkeras model (from keras_model_sequential() or keras_model()), got ",
             describe_value(x))
  x
}

# The path to save to, after keras's overwrite rules: FALSE means "do not save" (the user
# said no at the prompt).
confirm_target <- function(filepath, overwrite) {
  filepath <- path.expand(check_string(filepath, "filepath"))
  check_flag(overwrite, "overwrite")
  if (dir.exists(filepath))
    stop_arg("cannot save to '", filepath, "': it is a directory")
  dir <- dirname(filepath)
  if (!dir.exists(dir))
    stop_arg("cannot save to '", filepath, "': the directory '", dir, "' does not exist")
  if (!overwrite && file.exists(filepath)) {
    if (!interactive())
      stop_arg("File '", filepath, "' already exists (pass overwrite = TRUE to force save).")
    answer <- readline(sprintf("[WARNING] %s already exists - overwrite? [y/n] ", filepath))
    if (!tolower(answer) %in% c("y", "yes")) return(FALSE)
  }
  filepath
}

# Writes a file atomically: `write(tmp)` fills a new temporary file in the target's
# directory (flushed to disk), which is then renamed over the target in one step. An error
# or an interrupt before the rename leaves the target as it was and removes the temporary.
# The temporary is named for its writer (`.name.tmp-<host>-<pid>-<random>`), so that when
# a writer dies before either (kill -9), a later save of the target removes what it left
# (src/rust/core/src/serialize/temps.rs says when).
write_atomic <- function(filepath, write) {
  tmp <- rk_temp_path(filepath)
  done <- FALSE
  on.exit(if (!done) unlink(tmp), add = TRUE)
  write(tmp)
  # test hook: a function called with the finished temporary file, before the rename
  fault <- getOption("rkeras.save_fault")
  if (is.function(fault)) fault(tmp)
  rk_file_replace(tmp, filepath)
  done <- TRUE
  rk_remove_stale_temps(filepath)
  invisible(filepath)
}

# The bytes of the file a loader reads. Read in Rust, without an R connection: only a
# regular file is read (a FIFO or a device is an error, not a wait), and nothing stays open
# whatever happens.
read_model_file <- function(filepath, what) {
  filepath <- path.expand(check_string(filepath, "filepath"))
  tryCatch(rk_read_file(filepath), error = function(e) stop_arg(what, "(): ", conditionMessage(e)))
}

# A new model environment from rkeras-format bytes.
model_from_bytes <- function(bytes, compile, what) {
  res <- tryCatch({
    rk_check_finite(bytes)  # as set_weights(); a model's own state (restore_state()) loads as it is
    rk_model_from_bytes(bytes, isTRUE(compile))
  }, error = function(e)
    stop_arg("cannot load a model from ", what, ": ", conditionMessage(e)))
  model_from_loaded(res)
}

# A new model environment around a model loaded in Rust: `list(ptr, model = <spec>,
# compile = <spec or NULL>)` (also what load_model_hdf5() gets).
model_from_loaded <- function(res) {
  spec <- res$model
  if (!is.null(spec$nodes)) {
    # a graph model (GRAPH-CONTRACT.md)
    model <- new_model("Functional", spec$name)
    made <- graph_from_spec(spec)
    set_model_graph(model, made$graph)
    model$input_tensors <- made$inputs
    model$output_tensors <- made$outputs
  } else {
    model <- new_model(spec$class_name, spec$name, input_shape = as.integer(unlist(spec$input_shape)),
                       input_name = spec$input_name)
    first <- c("class_name", "name", "trainable")
    model$layer_specs <- lapply(spec$layers, function(s) s[c(first, setdiff(names(s), first))])
  }
  if (!is.null(res$compile)) {
    # one output, or lists per output (model-training.R)
    model$compile_args <- compile_args_from_core(res$compile, max(1L, length(spec$outputs)))
  }
  model$ptr <- res$ptr
  refresh_state(model)
  model
}

#' Save and load models
#'
#' `save_model()` writes everything needed to use or go on training a model to one file:
#' the architecture, the weights, the `compile()` configuration, the optimizer state
#' (moments, iteration count, learning rate) and the model's random stream (shuffling,
#' dropout). `load_model()` gives back a model that predicts exactly (bitwise) what the saved
#' one predicted and, compiled, resumes training exactly where it stopped: fitting 2 epochs,
#' saving, loading in a new R session and fitting 2 more with `initial_epoch = 2` gives the
#' weights of a 4-epoch fit.
#'
#' Writes are atomic: the file is written under a temporary name in the same directory,
#' flushed to disk, then renamed over `filepath`, so an error or an interrupt during a save
#' never leaves a damaged file and never destroys an earlier good one. A truncated, damaged
#' or foreign file (`.rds`, a file from a newer rkeras, ...) gives an error that says
#' which.
#'
#' A model whose writer was killed before the rename (`kill -9`, a crash) leaves a hidden
#' temporary file `.<name>.tmp-<host>-<pid>-<random>` behind; the next save of the same file
#' removes it once it is a minute old and its writer no longer runs (a day old when that
#' cannot be told: another host sharing the directory).
#'
#' A model can be saved from inside its own [fit()]: `save_model()`, [save_model_hdf5()]
#' and `saveRDS()` in a callback, a learning-rate schedule or a generator write the model
#' as of the last finished training step (a generator, which runs while a step is computed,
#' waits for that step). Changing the model there ([set_weights()], [compile()], ...) is an
#' error.
#'
#' Loaders read only regular files: a FIFO or a device is an error, not a wait. Like
#' [set_weights()], they refuse NaN or infinite weights (a damaged file, or a model saved
#' after its training diverged) with an error naming the weight, and leave the model they
#' load into unchanged. A model's own state (`saveRDS()`/`readRDS()`) is restored as it was.
#'
#' A model object also survives `saveRDS()`/`readRDS()` and a new R session by itself (it
#' carries its saved state); `save_model()` is for files that other code reads.
#'
#' @section File format:
#' A binary file (conventionally `.rkeras`): the signature `RKERAS\x1a\n`, a format version
#' (`u32`, currently 1), the lengths of a JSON header and of the weight data, the header
#' (architecture, compile configuration, optimizer iterations and learning rate, random
#' stream, and the name and shape of every array), the arrays as little-endian `float32` in
#' Keras order and shapes (dense: `kernel` `(in, units)` then `bias`), and a CRC-32 of all
#' of it. Files written by this version load in later versions. The full description is at
#' the top of `src/rust/core/src/serialize.rs` in the package sources.
#'
#' @param model A model.
#' @param filepath Path of the file.
#' @param overwrite Whether to replace an existing file. If `FALSE`, an existing file is an
#'   error (interactive sessions are asked).
#' @param include_optimizer Whether to save the optimizer state. Without it, a loaded model
#'   is compiled with a fresh optimizer.
#' @param compile Whether the loaded model is compiled (with the saved loss, metrics,
#'   optimizer and optimizer state). With `FALSE`, call [compile()] before training.
#' @param custom_objects Accepted for compatibility (rkeras has no custom layers yet).
#' @returns `save_model()`: `TRUE`, invisibly. `load_model()`: the model.
#' @family persistence
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
#' path <- tempfile(fileext = ".rkeras")
#' save_model(model, path)
#' model2 <- load_model(path)
#' x <- matrix(runif(8), 2)
#' identical(predict(model, x), predict(model2, x))
save_model <- function(model, filepath, overwrite = TRUE, include_optimizer = TRUE) {
  check_model(model)
  include_optimizer <- check_flag(include_optimizer, "include_optimizer")
  filepath <- confirm_target(filepath, overwrite)
  if (isFALSE(filepath)) return(invisible(FALSE))
  ptr <- model_ptr(model)
  write_atomic(filepath, function(tmp) rk_model_write(ptr, tmp, include_optimizer, FALSE))
  invisible(TRUE)
}

#' @rdname save_model
#' @export
load_model <- function(filepath, custom_objects = NULL, compile = TRUE) {
  path <- path.expand(check_string(filepath, "filepath"))
  compile <- check_flag(compile, "compile")
  if (dir.exists(path)) return(load_model_tf(path, custom_objects = custom_objects, compile = compile))
  bytes <- read_model_file(path, "load_model")
  if (is_hdf5_bytes(bytes)) return(model_from_hdf5(bytes, path, compile))
  model_from_bytes(bytes, compile, sprintf("'%s'", path))
}

# TRUE when the bytes start with HDF5's signature (Keras .h5 files, checkpoints named .h5).
is_hdf5_bytes <- function(bytes) {
  length(bytes) >= 8L && identical(bytes[1:8], as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)))
}

#' Save and load only the weights of a model
#'
#' `save_model_weights()` writes the weights (in the file format of [save_model()], with
#' the architecture recorded for messages); `load_model_weights()` loads weights from such
#' a file, or from a whole-model file, into a model. As in keras, layers with weights are
#' matched in order (layers without weights do not count); with `by_name = TRUE` they are
#' matched by name, and layers the file does not have keep their weights. A shape mismatch
#' is an error that names the layer and both shapes; with `by_name = TRUE` and
#' `skip_mismatch = TRUE` the layer is skipped with a warning instead. On error the model
#' is unchanged.
#'
#' @inheritParams save_model
#' @param object A model.
#' @param by_name Match layers by name instead of by order.
#' @param skip_mismatch With `by_name`, skip layers whose shapes differ (with a warning).
#' @param reshape,... Accepted for compatibility.
#' @returns `save_model_weights()`: `TRUE`, invisibly. `load_model_weights()`: the model,
#'   invisibly (changed in place).
#' @family persistence
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
#' path <- tempfile(fileext = ".rkeras")
#' save_model_weights(model, path)
#' other <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
#' load_model_weights(other, path)
save_model_weights <- function(object, filepath, overwrite = TRUE) {
  check_model(object, "object")
  filepath <- confirm_target(filepath, overwrite)
  if (isFALSE(filepath)) return(invisible(FALSE))
  ptr <- model_ptr(object)
  write_atomic(filepath, function(tmp) rk_model_write(ptr, tmp, FALSE, TRUE))
  invisible(TRUE)
}

#' @rdname save_model_weights
#' @export
load_model_weights <- function(object, filepath, by_name = FALSE, skip_mismatch = FALSE, reshape = FALSE, ...) {
  check_model(object, "object")
  by_name <- check_flag(by_name, "by_name")
  skip_mismatch <- check_flag(skip_mismatch, "skip_mismatch")
  bytes <- read_model_file(filepath, "load_model_weights")
  ptr <- model_ptr(object)
  warnings <- tryCatch(rk_model_load_weights(ptr, bytes, by_name, skip_mismatch),
                       error = function(e) stop_arg("cannot load weights from '", path.expand(filepath), "': ",
                                                    conditionMessage(e)))
  refresh_state(object)
  for (w in warnings) warning(w, call. = FALSE)
  invisible(object)
}

#' Serialize a model to a raw vector
#'
#' `serialize_model()` gives the bytes [save_model()] would write; `unserialize_model()`
#' makes a model from them. rkeras models also survive `saveRDS()` directly, so these are
#' only needed to store models elsewhere (a database, a network message).
#'
#' @inheritParams save_model
#' @param model A model (`serialize_model()`), or a raw vector from `serialize_model()`
#'   (`unserialize_model()`).
#' @returns `serialize_model()`: a raw vector. `unserialize_model()`: a model.
#' @family persistence
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
#' bytes <- serialize_model(model)
#' model2 <- unserialize_model(bytes)
serialize_model <- function(model, include_optimizer = TRUE) {
  check_model(model)
  rk_model_to_bytes(model_ptr(model), check_flag(include_optimizer, "include_optimizer"))
}

#' @rdname serialize_model
#' @export
unserialize_model <- function(model, custom_objects = NULL, compile = TRUE) {
  if (!is.raw(model))
    stop_arg("`model` must be a raw vector from serialize_model(), got ", describe_value(model))
  model_from_bytes(model, check_flag(compile, "compile"), "the raw vector")
}

#' Save and load a model as a directory (not a TensorFlow SavedModel)
#'
#' For old scripts that call `save_model_tf()`/`load_model_tf()`: the directory holds the
#' model in rkeras's own format (`saved_model.rkeras`, see [save_model()]) and a README. It
#' is **not** a TensorFlow SavedModel: TensorFlow and Python keras cannot read it, and
#' rkeras cannot read SavedModels written by TensorFlow.
#'
#' @inheritParams save_model
#' @param object A model.
#' @param filepath Path of the directory (created if needed).
#' @param signatures,options Accepted for compatibility.
#' @returns `save_model_tf()`: `TRUE`, invisibly. `load_model_tf()`: the model.
#' @family persistence
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
#' dir <- tempfile()
#' save_model_tf(model, dir)
#' model2 <- load_model_tf(dir)
save_model_tf <- function(object, filepath, overwrite = TRUE, include_optimizer = TRUE, signatures = NULL,
                          options = NULL) {
  check_model(object, "object")
  dir <- path.expand(check_string(filepath, "filepath"))
  if (file.exists(dir) && !dir.exists(dir))
    stop_arg("cannot save to '", dir, "': it exists and is not a directory")
  if (!dir.exists(dir) && !dir.create(dir, recursive = TRUE, showWarnings = FALSE))
    stop_arg("cannot create the directory '", dir, "'")
  res <- save_model(object, file.path(dir, "saved_model.rkeras"), overwrite = overwrite,
                    include_optimizer = include_optimizer)
  writeLines(c("This directory holds an rkeras model (saved_model.rkeras), written by save_model_tf().",
               "It is not a TensorFlow SavedModel: read it in R with rkeras::load_model_tf() or load_model()."),
             file.path(dir, "README.txt"))
  invisible(res)
}

#' @rdname save_model_tf
#' @export
load_model_tf <- function(filepath, custom_objects = NULL, compile = TRUE) {
  dir <- path.expand(check_string(filepath, "filepath"))
  if (!dir.exists(dir)) stop_arg("load_model_tf(): no such directory '", dir, "'")
  file <- file.path(dir, "saved_model.rkeras")
  if (!file.exists(file)) {
    if (file.exists(file.path(dir, "saved_model.pb")))
      stop_arg("'", dir, "' is a TensorFlow SavedModel, which rkeras cannot read (it does not use TensorFlow); ",
               "save the model from keras as HDF5 (save_model_hdf5()) instead")
    stop_arg("'", dir, "' holds no rkeras model (no saved_model.rkeras file)")
  }
  bytes <- read_model_file(file, "load_model_tf")
  model_from_bytes(bytes, check_flag(compile, "compile"), sprintf("'%s'", file))
}
