# Keras HDF5 files: models and weights that move between rkeras and Keras (R or Python).
# The file format is read and written in Rust (src/rust/core/src/keras_h5.rs); no HDF5
# library or Python is needed. Overwrite rules, atomic writes and reading files are those
# of persistence.R.

#' Save and load models in Keras' HDF5 format
#'
#' `save_model_hdf5()` writes one HDF5 file holding the architecture (`model_config`), the
#' weights, and, with `include_optimizer = TRUE`, the compile configuration
#' (`training_config`) and the optimizer state, in the layout of Keras 3's
#' `model.save("model.h5")` (`keras_version = 3`) or of tf.keras 2 (`keras_version = 2`, what
#' R keras 2.x writes). Keras loads either compiled, predicting what rkeras predicts:
#' tf.keras 2 (R keras 2.x) restores the whole optimizer state of a `keras_version = 2` file;
#' Keras 3 (R keras3) reads both layouts but its HDF5 loader restores at most the iteration
#' count and learning rate of the optimizer, as for the files it writes itself.
#' `load_model_hdf5()` reads files written by Keras 2, Keras 3 and rkeras, with the whole
#' optimizer state, so training goes on where it stopped.
#'
#' rkeras builds chains of the layers it implements (dense, dropout, activation, flatten) from
#' one input; a file with another layer gives an error naming it. Files are written atomically
#' (a temporary file, then renamed), so a failed save never damages an earlier file.
#'
#' @param object A model.
#' @param filepath Path of the `.h5` file.
#' @param overwrite Whether to replace an existing file; with `FALSE`, an existing file is an
#'   error (interactive sessions ask first).
#' @param include_optimizer Whether to save the compile configuration and the optimizer state.
#' @param keras_version The Keras whose layout to write: `3` (Keras 3) or `2` (tf.keras 2.x).
#'   (An rkeras extension.)
#' @param custom_objects Accepted for compatibility (rkeras has no custom layers); ignored.
#' @param compile Whether to compile the loaded model with the file's training
#'   configuration and restore the optimizer state. Without one the model is returned
#'   uncompiled, with a warning.
#' @returns `save_model_hdf5()`: `TRUE`, invisibly (`FALSE` if an interactive user declined
#'   to overwrite). `load_model_hdf5()`: a model.
#' @family persistence
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(3, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
#' path <- tempfile(fileext = ".h5")
#' save_model_hdf5(model, path)
#' model2 <- load_model_hdf5(path)
#' x <- matrix(runif(8), 2)
#' all.equal(predict(model, x), predict(model2, x))
save_model_hdf5 <- function(object, filepath, overwrite = TRUE, include_optimizer = TRUE, keras_version = 3) {
  check_model(object, "object")
  include_optimizer <- check_flag(include_optimizer, "include_optimizer")
  if (!identical(as.numeric(keras_version), 2) && !identical(as.numeric(keras_version), 3))
    stop_arg("`keras_version` must be 2 or 3, got ", describe_value(keras_version))
  filepath <- confirm_target(filepath, overwrite)
  if (isFALSE(filepath)) return(invisible(FALSE))
  ptr <- model_ptr(object)
  warnings <- NULL
  write_atomic(filepath, function(tmp) {
    warnings <<- rk_h5_save_model(ptr, tmp, include_optimizer, as.integer(keras_version))
  })
  for (w in warnings) warning(w, call. = FALSE)
  invisible(TRUE)
}

#' @rdname save_model_hdf5
#' @export
load_model_hdf5 <- function(filepath, custom_objects = NULL, compile = TRUE) {
  compile <- check_flag(compile, "compile")
  path <- path.expand(check_string(filepath, "filepath"))
  model_from_hdf5(read_model_file(path, "load_model_hdf5"), path, compile)
}

# A new model environment from the bytes of the Keras HDF5 file `path`.
model_from_hdf5 <- function(bytes, path, compile) {
  res <- tryCatch(rk_h5_load_model(bytes, compile, draw_seed()), error = function(e)
    stop_arg("cannot load a Keras model from '", path, "': ", conditionMessage(e)))
  for (w in res$warnings) warning(w, call. = FALSE)
  model_from_loaded(res)
}

#' Save and load model weights in Keras' HDF5 format
#'
#' `save_model_weights_hdf5()` writes the weights as Keras' `save_weights("w.h5")` does: the
#' attribute `layer_names`, one group per layer with the attribute `weight_names`, and one
#' dataset per weight. `load_model_weights_hdf5()` reads such a file, or the weights of a
#' model file written by [save_model_hdf5()] or Keras.
#'
#' By default weights are loaded by position among the layers that have weights (layers
#' without weights, such as dropout, may differ); `by_name = TRUE` loads the layers whose
#' names match and leaves the others.
#'
#' @inheritParams save_model_hdf5
#' @param by_name Match layers by name instead of by position.
#' @param skip_mismatch Skip, with a warning, weights whose shape does not fit (and, with
#'   `by_name = TRUE`, layers whose number of weights does not) instead of failing.
#' @param reshape Accept a saved weight of another shape with the same number of values.
#' @returns `save_model_weights_hdf5()`: `TRUE`, invisibly. `load_model_weights_hdf5()`: the
#'   model, invisibly (changed in place; on error it is unchanged).
#' @family persistence
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) %>% layer_dense(3)
#' path <- tempfile(fileext = ".h5")
#' save_model_weights_hdf5(model, path)
#' model2 <- keras_model_sequential(input_shape = 4) %>% layer_dense(3)
#' load_model_weights_hdf5(model2, path)
save_model_weights_hdf5 <- function(object, filepath, overwrite = TRUE) {
  check_model(object, "object")
  filepath <- confirm_target(filepath, overwrite)
  if (isFALSE(filepath)) return(invisible(FALSE))
  ptr <- model_ptr(object)
  write_atomic(filepath, function(tmp) rk_h5_save_weights(ptr, tmp))
  invisible(TRUE)
}

#' @rdname save_model_weights_hdf5
#' @export
load_model_weights_hdf5 <- function(object, filepath, by_name = FALSE, skip_mismatch = FALSE, reshape = FALSE) {
  check_model(object, "object")
  by_name <- check_flag(by_name, "by_name")
  skip_mismatch <- check_flag(skip_mismatch, "skip_mismatch")
  reshape <- check_flag(reshape, "reshape")
  path <- path.expand(check_string(filepath, "filepath"))
  bytes <- read_model_file(path, "load_model_weights_hdf5")
  ptr <- model_ptr(object)
  warnings <- tryCatch(rk_h5_load_weights(ptr, bytes, by_name, skip_mismatch, reshape), error = function(e)
    stop_arg("cannot load weights from '", path, "': ", conditionMessage(e)))
  refresh_state(object)
  for (w in warnings) warning(w, call. = FALSE)
  invisible(object)
}
