# Real Keras (optional): RKERAS_KERAS_PYTHON names a python with keras (3) and h5py,
# RKERAS_TFKERAS_PYTHON one with tf_keras (tf.keras 2) and h5py; tests/interop/check_keras.py loads
# an rkeras HDF5 file there and predicts.

# The Python Keras generations that are set up; skips the test when none is.
keras_pythons <- function() {
  pythons <- list(list(py = Sys.getenv("RKERAS_KERAS_PYTHON"), extra = character(), version = 3),
                  list(py = Sys.getenv("RKERAS_TFKERAS_PYTHON"), extra = "--tf-keras", version = 2))
  pythons <- Filter(function(p) nzchar(p$py) && file.exists(p$py), pythons)
  if (!length(pythons)) skip("set RKERAS_KERAS_PYTHON or RKERAS_TFKERAS_PYTHON to run the Keras interop checks")
  pythons
}

# Saves model `m` as HDF5 in each available Keras generation's layout; that Keras loads the file
# and must predict on `x` what rkeras predicts.
expect_keras_loads <- function(m, x, label = "") {
  pythons <- keras_pythons()
  script <- normalizePath(test_path("..", "interop", "check_keras.py"))
  dir <- withr::local_tempdir()
  csv <- function(v, name) {
    utils::write.table(format(v, digits = 17), file.path(dir, name), sep = ",", row.names = FALSE,
                       col.names = FALSE, quote = FALSE)
    file.path(dir, name)
  }
  # one sample a row, its values in row-major (numpy) order
  rows <- if (length(dim(x)) <= 2) x else t(apply(x, 1, function(s) as.vector(aperm(s, rev(seq_along(dim(s)))))))
  xf <- csv(rows, "x.csv")
  pf <- csv(predict(m, x, verbose = 0), "pred.csv")
  for (p in pythons) {
    f <- file.path(dir, sprintf("m%d.h5", p$version))
    save_model_hdf5(m, f, keras_version = p$version)
    out <- suppressWarnings(system2(p$py, c(script, p$extra, "load", f, xf, pf), stdout = TRUE, stderr = FALSE,
                                    env = "TF_CPP_MIN_LOG_LEVEL=3"))
    line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
    expect_true(length(line) == 1 && grepl('"ok": true', line),
                label = paste(label, "Keras", p$version, "loads and predicts"), info = paste(out, collapse = "\n"))
  }
}
