# Keras HDF5 files: Keras-written fixtures load and predict like Keras, rkeras files round
# trip bitwise, errors are clear; with RKERAS_KERAS_PYTHON, real Keras loads rkeras's files.

# tests/fixtures/keras/h5 (Keras 2.12 and 3.15.1 files), or $RKERAS_KERAS_H5_DIR.
keras_h5_dir <- function() fixture_dir("keras", "h5", env = "RKERAS_KERAS_H5_DIR")

read_num_csv <- function(path) unname(as.matrix(utils::read.csv(path, header = FALSE)))

testdata <- function(name) test_path("testdata", name)

h5_models <- function() {
  k_clear_session()
  set.seed(11)
  seq <- keras_model_sequential(input_shape = 6, name = "seq") %>%
    layer_dense(8, activation = "relu") %>%
    layer_dropout(0.2) %>%
    layer_dense(3, activation = "softmax")
  seq %>% compile(optimizer = optimizer_adam(learning_rate = 0.01), loss = "categorical_crossentropy",
                  metrics = "accuracy")
  inp <- layer_input(shape = 6)
  out <- inp %>% layer_dense(5, activation = "tanh") %>% layer_activation("relu") %>%
    layer_dense(3, activation = "softmax")
  fun <- keras_model(inp, out)
  fun %>% compile(optimizer = optimizer_rmsprop(momentum = 0.5, centered = TRUE),
                  loss = "categorical_crossentropy", metrics = "accuracy")
  x <- matrix(runif(64 * 6), 64)
  y <- to_categorical(sample(0:2, 64, TRUE), 3)
  fit(seq, x, y, epochs = 2, verbose = 0)
  fit(fun, x, y, epochs = 2, verbose = 0)
  list(seq = seq, fun = fun, x = x, y = y)
}

test_that("Keras 2 and Keras 3 HDF5 files load and predict like Keras (within 1e-6)", {
  dir <- keras_h5_dir()
  x <- read_num_csv(file.path(dir, "x.csv"))
  cases <- list(c("functional_keras2.h5", "pred_keras2.csv", "Functional"),
                c("functional_keras3.h5", "pred_keras3.csv", "Functional"),
                c("sequential_keras2.h5", "pred_sequential_keras2.csv", "Sequential"))
  for (case in cases) {
    model <- expect_silent(load_model_hdf5(file.path(dir, case[1])))
    expect_s3_class(model, "rkeras_model")
    expect_equal(model$class_name, case[3])
    want <- read_num_csv(file.path(dir, case[2]))
    got <- predict(model, x)
    expect_lt(max(abs(got - want)), 1e-6)
    expect_equal(model$compile_args$loss, "categorical_crossentropy")
    expect_equal(model$compile_args$metrics, list("accuracy"))
    expect_equal(count_params(model), if (case[3] == "Sequential") 387 else 499)
  }
  f3 <- load_model_hdf5(file.path(dir, "functional_keras3.h5"))
  # a functional file comes back in the graph layout, as keras_model() makes it
  spec <- rkeras:::model_spec(f3)
  expect_equal(spec$inputs[[1]]$name, "input_layer")
  expect_equal(vapply(spec$layers, `[[`, "", "name"), c("fc_1", "dropout_1", "fc_2", "output_layer"))
  expect_equal(f3$compile_args$optimizer$name, "rmsprop")
  expect_true(any(grepl("fc_1 \\(Dense\\) +\u2502 \\(None, 16\\) +\u2502 +336", capture.output(summary(f3)))))
  # a loaded model trains on
  y <- to_categorical(c(0, 1, 2, 0, 1), 3)
  expect_silent(fit(f3, x, y, epochs = 1, verbose = 0))
})

test_that("a Keras 3 Sequential file (Nadam state, swish, elu) loads and predicts like Keras", {
  x <- read_num_csv(testdata("keras3_x.csv"))
  model <- load_model_hdf5(testdata("keras3_sequential_nadam.h5"))
  expect_equal(model$name, "seq_nadam")
  expect_lt(max(abs(predict(model, x) - read_num_csv(testdata("keras3_sequential_nadam_pred.csv")))), 1e-6)
  expect_equal(model$compile_args$optimizer$name, "nadam")
  expect_equal(model$compile_args$optimizer$learning_rate, 0.01, tolerance = 1e-7)
})

test_that("compile = FALSE loads an uncompiled model", {
  dir <- keras_h5_dir()
  model <- load_model_hdf5(file.path(dir, "functional_keras2.h5"), compile = FALSE)
  expect_null(model$compile_args)
  expect_error(fit(model, matrix(0, 2, 20), matrix(0, 2, 3), verbose = 0), "must compile")
  expect_equal(dim(predict(model, matrix(0, 2, 20))), c(2L, 3L))
})

test_that("rkeras -> HDF5 -> rkeras predicts bitwise the same and trains on the same", {
  m <- h5_models()
  for (name in c("seq", "fun")) {
    model <- m[[name]]
    path <- tempfile(fileext = ".h5")
    expect_identical(save_model_hdf5(model, path), TRUE)
    expect_identical(readBin(path, "raw", 8), as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)))
    loaded <- load_model_hdf5(path)
    expect_identical(predict(loaded, m$x), predict(model, m$x))
    expect_identical(loaded$name, model$name)
    expect_identical(loaded$class_name, model$class_name)
    expect_identical(loaded$input_shape, model$input_shape)
    expect_identical(vapply(loaded$layer_specs, `[[`, "", "name"), vapply(model$layer_specs, `[[`, "", "name"))
    expect_identical(loaded$compile_args$loss, model$compile_args$loss)
    expect_identical(loaded$compile_args$metrics, model$compile_args$metrics)
    expect_identical(capture.output(summary(loaded)), capture.output(summary(model)))
    # the optimizer state came along: one more epoch on both gives the same weights
    # (the functional model has no dropout, so its training is deterministic)
    if (name == "fun") {
      fit(model, m$x, m$y, epochs = 1, shuffle = FALSE, verbose = 0)
      fit(loaded, m$x, m$y, epochs = 1, shuffle = FALSE, verbose = 0)
      expect_identical(predict(loaded, m$x), predict(model, m$x))
    }
    unlink(path)
  }
})

test_that("the Keras 2 layout (keras_version = 2) round trips too", {
  m <- h5_models()
  path <- tempfile(fileext = ".h5")
  save_model_hdf5(m$fun, path, keras_version = 2)
  loaded <- load_model_hdf5(path)
  expect_identical(predict(loaded, m$x), predict(m$fun, m$x))
  fit(m$fun, m$x, m$y, epochs = 1, shuffle = FALSE, verbose = 0)
  fit(loaded, m$x, m$y, epochs = 1, shuffle = FALSE, verbose = 0)
  expect_identical(predict(loaded, m$x), predict(m$fun, m$x))
  expect_error(save_model_hdf5(m$fun, path, keras_version = 4), "`keras_version` must be 2 or 3")
  hs <- keras_model_sequential(input_shape = 2) %>% layer_dense(1, activation = "hard_sigmoid")
  expect_error(save_model_hdf5(hs, path, keras_version = 2), "hard_sigmoid cannot be saved for Keras 2")
})

test_that("include_optimizer = FALSE saves an uncompiled model", {
  m <- h5_models()
  path <- tempfile(fileext = ".h5")
  save_model_hdf5(m$seq, path, include_optimizer = FALSE)
  expect_warning(loaded <- load_model_hdf5(path), "No training configuration found")
  expect_null(loaded$compile_args)
  expect_identical(predict(loaded, m$x), predict(m$seq, m$x))
  expect_silent(load_model_hdf5(path, compile = FALSE))
})

test_that("overwrite = FALSE refuses an existing file and keeps it", {
  m <- h5_models()
  path <- tempfile(fileext = ".h5")
  save_model_hdf5(m$seq, path)
  before <- readBin(path, "raw", file.size(path))
  expect_error(save_model_hdf5(m$fun, path, overwrite = FALSE),
               sprintf("File '%s' already exists (pass overwrite = TRUE to force save)", path), fixed = TRUE)
  expect_error(save_model_weights_hdf5(m$fun, path, overwrite = FALSE), "already exists")
  expect_identical(readBin(path, "raw", file.size(path)), before)
  save_model_hdf5(m$fun, path, overwrite = TRUE)
  expect_equal(load_model_hdf5(path)$class_name, "Functional")
  fresh <- tempfile(fileext = ".h5")
  expect_silent(save_model_hdf5(m$fun, fresh, overwrite = FALSE))
  # a failed save leaves no file behind and no temporary file
  dir <- tempfile()
  dir.create(dir)
  expect_error(save_model_hdf5(m$fun, file.path(dir, "missing", "m.h5")), "does not exist")
  expect_error(save_model_hdf5(m$fun, dir), "is a directory")
  expect_length(list.files(dir, all.files = TRUE, no.. = TRUE), 0)
  # an error after the file is written but before the rename keeps the earlier file
  target <- file.path(dir, "m.h5")
  save_model_hdf5(m$seq, target)
  good <- readBin(target, "raw", file.size(target))
  withr::with_options(list(rkeras.save_fault = function(tmp) stop("disk full")), {
    expect_error(save_model_hdf5(m$fun, target), "disk full")
    expect_error(save_model_weights_hdf5(m$fun, target), "disk full")
  })
  expect_identical(readBin(target, "raw", file.size(target)), good)
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "m.h5")
})

test_that("models loaded from HDF5 survive saveRDS(), with weights loaded from HDF5", {
  m <- h5_models()
  path <- tempfile(fileext = ".h5")
  save_model_hdf5(m$fun, path)
  loaded <- load_model_hdf5(path)
  rds <- tempfile(fileext = ".rds")
  saveRDS(loaded, rds)
  back <- readRDS(rds)
  expect_identical(predict(back, m$x), predict(m$fun, m$x))
  expect_identical(back$compile_args$loss, m$fun$compile_args$loss)
  w <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(m$seq, w)
  seq2 <- keras_model_sequential(input_shape = 6) %>% layer_dense(8, activation = "relu") %>%
    layer_dense(3, activation = "softmax")
  load_model_weights_hdf5(seq2, w)
  saveRDS(seq2, rds)
  expect_identical(predict(readRDS(rds), m$x), predict(m$seq, m$x))
})

test_that("weights files round trip, by position and by name", {
  m <- h5_models()
  path <- tempfile(fileext = ".h5")
  expect_identical(save_model_weights_hdf5(m$fun, path), TRUE)
  k_clear_session()
  inp <- layer_input(shape = 6)
  out <- inp %>% layer_dense(5, activation = "tanh", name = "a") %>% layer_dropout(0.5) %>%
    layer_activation("relu", name = "r") %>% layer_dense(3, activation = "softmax", name = "b")
  other <- keras_model(inp, out)
  expect_false(identical(predict(other, m$x), predict(m$fun, m$x)))
  expect_identical(load_model_weights_hdf5(other, path), other)
  # by position: the activation and dropout layers (no weights) may differ, names too
  expect_identical(predict(other, m$x), predict(m$fun, m$x))
  # by name: no layer of `other2` has a saved name, so nothing changes
  other2 <- keras_model_sequential(input_shape = 6) %>% layer_dense(5, name = "zz") %>% layer_dense(3, name = "yy")
  before <- predict(other2, m$x)
  load_model_weights_hdf5(other2, path, by_name = TRUE)
  expect_identical(predict(other2, m$x), before)
  # a model file is a weights file too
  mpath <- tempfile(fileext = ".h5")
  save_model_hdf5(m$seq, mpath)
  seq2 <- keras_model_sequential(input_shape = 6) %>% layer_dense(8, activation = "relu") %>%
    layer_dense(3, activation = "softmax")
  load_model_weights_hdf5(seq2, mpath)
  expect_identical(predict(seq2, m$x), predict(m$seq, m$x))
  # Keras-written model files too
  dir <- keras_h5_dir()
  k2 <- keras_model_sequential(input_shape = 20) %>% layer_dense(16, activation = "relu") %>%
    layer_dense(3, activation = "softmax")
  load_model_weights_hdf5(k2, file.path(dir, "sequential_keras2.h5"))
  x <- read_num_csv(file.path(dir, "x.csv"))
  expect_lt(max(abs(predict(k2, x) - read_num_csv(file.path(dir, "pred_sequential_keras2.csv")))), 1e-6)
})

test_that("weight mismatches: errors that name the layer, skip_mismatch, reshape", {
  m <- h5_models()
  path <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(m$seq, path)
  wide <- keras_model_sequential(input_shape = 6) %>% layer_dense(8, name = "d1") %>% layer_dense(4, name = "d2")
  before <- predict(wide, m$x)
  expect_error(load_model_weights_hdf5(wide, path),
               "Shape mismatch in layer #1 (named d2) for weight d2/kernel. Weight expects shape (8, 4). Received saved weight with shape (8, 3)",
               fixed = TRUE)
  expect_identical(predict(wide, m$x), before)
  w <- capture_warnings(load_model_weights_hdf5(wide, path, skip_mismatch = TRUE))
  expect_length(w, 2) # d2's kernel and bias
  expect_match(w, "^Skipping loading of a weight: Shape mismatch in layer #1 \\(named d2\\)")
  expect_false(identical(predict(wide, m$x), before))
  short <- keras_model_sequential(input_shape = 6) %>% layer_dense(3)
  expect_error(load_model_weights_hdf5(short, path), "Model expected 1 layers, found 2 saved layers")
  expect_error(load_model_weights_hdf5(short, path, reshape = TRUE), "Model expected 1 layers")
  expect_error(load_model_weights_hdf5(short, path, by_name = NA), "`by_name` must be TRUE or FALSE")
  expect_error(load_model_weights_hdf5("model", path), "must be an rkeras model")
})

test_that("foreign, truncated and corrupt files give clear errors", {
  dir <- keras_h5_dir()
  expect_error(load_model_hdf5(tempfile(fileext = ".h5")), "load_model_hdf5\\(\\): no such file")
  expect_error(load_model_hdf5(tempdir()), "is a directory")
  txt <- tempfile(fileext = ".h5")
  writeLines("just text", txt)
  expect_error(load_model_hdf5(txt), "cannot load a Keras model from .*: it is not an HDF5 file")
  m <- keras_model_sequential(input_shape = 3) %>% layer_dense(2)
  expect_error(load_model_weights_hdf5(m, txt), "cannot load weights from .*: it is not an HDF5 file")
  bytes <- readBin(file.path(dir, "functional_keras3.h5"), "raw", 1e6)
  trunc <- tempfile(fileext = ".h5")
  for (n in c(8, 100, 2000, length(bytes) %/% 2, length(bytes) - 100)) {
    writeBin(bytes[seq_len(n)], trunc)
    expect_error(load_model_hdf5(trunc), "cannot load a Keras model from")
  }
  set.seed(3)
  flipped <- 0
  for (i in 1:40) {
    b <- bytes
    at <- sample(length(b), 4)
    b[at] <- as.raw(bitwXor(as.integer(b[at]), 0x5a))
    writeBin(b, trunc)
    res <- tryCatch(suppressWarnings(load_model_hdf5(trunc)), error = function(e) e)
    if (inherits(res, "error")) {
      expect_match(conditionMessage(res), "cannot load a Keras model from")
      flipped <- flipped + 1
    } else {
      expect_s3_class(res, "rkeras_model")
    }
  }
  # a weights file is not a model file
  w <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(m, w)
  expect_error(load_model_hdf5(w), "no model_config attribute: it holds weights only")
})

test_that("a Conv2D model written by Keras 3 loads and computes the convolution of its weights", {
  # tests/interop/make_fixtures.py: Input (4, 4, 1) -> Conv2D(2, 3) -> Flatten -> Dense(2)
  expect_warning(m <- load_model_hdf5(testdata("keras3_conv2d.h5")), "not* compiled", fixed = TRUE)
  w <- get_weights(m)
  expect_identical(dim(w[[1]]), c(3L, 3L, 1L, 2L))
  set.seed(5)
  x <- array(runif(3 * 16), c(3, 4, 4, 1))
  # by hand: valid 3x3 convolution (Keras' kernel layout (kh, kw, cin, cout)), row-major flatten
  conv <- array(0, c(3, 2, 2, 2))
  for (n in 1:3) for (i in 1:2) for (j in 1:2) for (f in 1:2)
    conv[n, i, j, f] <- sum(x[n, i:(i + 2), j:(j + 2), 1] * w[[1]][, , 1, f]) + w[[2]][f]
  flat <- t(apply(conv, 1, function(s) as.vector(aperm(s, c(3, 2, 1)))))
  by_hand <- flat %*% w[[3]] + matrix(w[[4]], 3, 2, byrow = TRUE)
  expect_equal(predict(m, x, verbose = 0), by_hand, tolerance = 1e-5)
})

# --- Real Keras (optional): RKERAS_KERAS_PYTHON names a python with keras (3) and h5py,
# RKERAS_TFKERAS_PYTHON one with tf_keras (tf.keras 2) and h5py.

keras_python <- function(var = "RKERAS_KERAS_PYTHON") {
  py <- Sys.getenv(var)
  if (!nzchar(py) || !file.exists(py))
    skip(paste0("set ", var, " to a python with ", if (var == "RKERAS_TFKERAS_PYTHON") "tf_keras" else "keras",
                " and h5py to run the Keras interop checks"))
  py
}

check_script <- function() {
  s <- test_path("..", "interop", "check_keras.py")
  if (!file.exists(s)) skip("tests/interop/check_keras.py not found")
  normalizePath(s)
}

run_check <- function(py, ...) {
  out <- suppressWarnings(system2(py, c(check_script(), ...), stdout = TRUE, stderr = FALSE,
                                  env = "TF_CPP_MIN_LOG_LEVEL=3"))
  line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
  status <- attr(out, "status")
  list(status = if (is.null(status)) 0L else status, line = if (length(line)) line else paste(out, collapse = "\n"))
}

write_csv17 <- function(m, path) {
  utils::write.table(format(m, digits = 17), path, sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
}

interop_load_checks <- function(py, keras_version, extra = character()) {
  m <- h5_models()
  dir <- tempfile()
  dir.create(dir)
  x <- m$x[1:5, ]
  write_csv17(x, file.path(dir, "x.csv"))
  for (name in c("seq", "fun")) {
    f <- file.path(dir, paste0(name, ".h5"))
    w <- file.path(dir, paste0(name, "_w.h5"))
    p <- file.path(dir, paste0(name, "_pred.csv"))
    save_model_hdf5(m[[name]], f, keras_version = keras_version)
    save_model_weights_hdf5(m[[name]], w)
    write_csv17(predict(m[[name]], x), p)
    res <- run_check(py, extra, "load", f, file.path(dir, "x.csv"), p, w)
    expect_true(res$status == 0 && grepl('"ok": true', res$line), info = res$line)
    expect_match(res$line, '"iterations": 4', fixed = TRUE)
  }
}

test_that("Keras 3 loads rkeras's HDF5 files (both layouts) and predicts the same (within 1e-6)", {
  py <- keras_python()
  interop_load_checks(py, 3)
  interop_load_checks(py, 2)
})

test_that("Keras 3 reads a from-logits loss from rkeras's HDF5 files (both layouts)", {
  py <- keras_python()
  d <- toy_data(20)
  m <- keras_model_sequential(input_shape = 4) %>% layer_dense(3)
  compile(m, optimizer = "adam", loss = loss_categorical_crossentropy(from_logits = TRUE))
  y <- to_categorical(d$cls, 3)
  fit(m, d$x, y, epochs = 1, batch_size = 5, verbose = 0)
  dir <- withr::local_tempdir()
  write_csv17(d$x[1:5, ], file.path(dir, "x.csv"))
  write_csv17(predict(m, d$x[1:5, ]), file.path(dir, "pred.csv"))
  for (v in c(3, 2)) {
    f <- file.path(dir, paste0("logits", v, ".h5"))
    save_model_hdf5(m, f, keras_version = v)
    res <- run_check(py, "load", f, file.path(dir, "x.csv"), file.path(dir, "pred.csv"))
    expect_true(res$status == 0 && grepl('"ok": true', res$line), info = res$line)
    expect_match(res$line, '"from_logits": true', fixed = TRUE)
  }
})

test_that("tf.keras 2 loads rkeras's Keras 2 files with the optimizer state, predicts the same", {
  py <- keras_python("RKERAS_TFKERAS_PYTHON")
  interop_load_checks(py, 2, "--tf-keras")
})

keras_writes <- function(py, extra = character()) {
  dir <- tempfile()
  dir.create(dir)
  x <- matrix(runif(5 * 4), 5)
  write_csv17(x, file.path(dir, "x.csv"))
  f <- file.path(dir, "k.h5")
  res <- run_check(py, extra, "save", f, file.path(dir, "x.csv"), file.path(dir, "k_pred.csv"))
  expect_true(res$status == 0, info = res$line)
  model <- load_model_hdf5(f)
  expect_lt(max(abs(predict(model, x) - read_num_csv(file.path(dir, "k_pred.csv")))), 1e-6)
  expect_equal(model$compile_args$optimizer$name, "adam")
}

test_that("rkeras loads a file Keras 3 writes now and predicts the same (within 1e-6)", {
  keras_writes(keras_python())
})

test_that("rkeras loads a file tf.keras 2 writes now and predicts the same (within 1e-6)", {
  keras_writes(keras_python("RKERAS_TFKERAS_PYTHON"), "--tf-keras")
})

test_that("callback_model_checkpoint() writes Keras HDF5 files for .h5/.hdf5 names", {
  m <- h5_models()
  dir <- tempfile()
  cbs <- list(callback_model_checkpoint(file.path(dir, "m-{epoch:02d}.h5")),
              callback_model_checkpoint(file.path(dir, "w-{epoch:02d}.hdf5"), save_weights_only = TRUE))
  fit(m$fun, m$x, m$y, epochs = 2, verbose = 0, callbacks = cbs)
  expect_setequal(list.files(dir), c("m-01.h5", "m-02.h5", "w-01.hdf5", "w-02.hdf5"))
  loaded <- load_model_hdf5(file.path(dir, "m-02.h5"))
  expect_identical(predict(loaded, m$x), predict(m$fun, m$x))
  inp <- layer_input(shape = 6)
  out <- inp %>% layer_dense(5, activation = "tanh") %>% layer_activation("relu") %>%
    layer_dense(3, activation = "softmax")
  other <- keras_model(inp, out)
  load_model_weights_hdf5(other, file.path(dir, "w-02.hdf5"))
  expect_identical(predict(other, m$x), predict(m$fun, m$x))
})

test_that("load_model() also reads Keras HDF5 files", {
  d <- toy_data(20)
  model <- toy_model()
  f <- tempfile(fileext = ".h5")
  save_model_hdf5(model, f)
  expect_equal(predict(load_model(f), d$x), predict(model, d$x))
})

# --- Graph models (tests/fixtures/keras/h5-graph, made by tests/interop/make_graph_fixtures.py)

graph_h5_dir <- function() fixture_dir("keras", "h5-graph")

# name, number of inputs, number of outputs
graph_fixtures <- list(c("two_in_two_out", 2, 2), c("merges", 1, 1), c("siamese", 2, 1), c("nested", 2, 1),
                       c("reshape_chain", 1, 1))

graph_x <- function(name, inputs) {
  xs <- lapply(seq_len(inputs), function(i) read_num_csv(file.path(graph_h5_dir(), sprintf("%s_x%d.csv", name, i))))
  if (inputs == 1) xs[[1]] else xs
}

test_that("Keras 3 and tf.keras 2 graph models load and predict like Keras (within 1e-6)", {
  for (tag in c("keras3", "keras2")) {
    for (f in graph_fixtures) {
      name <- f[1]
      outputs <- as.integer(f[3])
      model <- expect_silent(load_model_hdf5(file.path(graph_h5_dir(), sprintf("%s_%s.h5", name, tag))))
      expect_equal(model$name, name)
      expect_false(is.null(model$compile_args), info = paste(name, tag))
      got <- predict(model, graph_x(name, as.integer(f[2])), verbose = 0)
      if (outputs == 1) got <- list(got)
      expect_length(got, outputs)
      for (j in seq_len(outputs)) {
        want <- read_num_csv(file.path(graph_h5_dir(), sprintf("%s_%s_pred%d.csv", name, tag, j)))
        expect_lt(max(abs(matrix(got[[j]], nrow(want)) - want)), 1e-6)
      }
    }
  }
  m <- load_model_hdf5(file.path(graph_h5_dir(), "two_in_two_out_keras3.h5"))
  expect_equal(unname(unlist(m$compile_args$loss_weights)), c(1, 0.5))
})

graph_h5_model <- function() {
  k_clear_session()
  set.seed(5)
  a <- layer_input(shape = 5, name = "a")
  b <- layer_input(shape = 3, name = "b")
  shared <- layer_dense(units = 4, activation = "tanh", name = "shared")
  inner_in <- layer_input(shape = 4, name = "enc_in")
  encoder <- keras_model(inner_in, layer_dense(inner_in, 4, activation = "relu", name = "enc_dense"), name = "encoder")
  ha <- encoder(shared(a))
  hb <- b %>% layer_dense(4, name = "proj")
  joined <- layer_concatenate(list(ha, layer_add(list(hb, shared(layer_dense(b, 5, name = "widen"))))), name = "joined")
  o1 <- joined %>% layer_dense(3, activation = "softmax", name = "cls")
  o2 <- joined %>% layer_reshape(c(2, 4), name = "grid") %>% layer_flatten(name = "flat") %>% layer_dense(1, name = "reg")
  model <- keras_model(list(a, b), list(o1, o2), name = "graph_h5")
  model %>% compile(optimizer = optimizer_adam(learning_rate = 0.01),
                    loss = list("categorical_crossentropy", "mse"), loss_weights = c(1, 0.25),
                    metrics = list(cls = "accuracy"))
  x <- list(matrix(runif(40 * 5), 40), matrix(runif(40 * 3), 40))
  y <- list(to_categorical(sample(0:2, 40, TRUE), 3), matrix(rnorm(40), 40))
  fit(model, x, y, epochs = 2, batch_size = 10, verbose = 0)
  list(model = model, x = x, y = y)
}

test_that("graph models (shared layers, a nested model, two outputs) round trip through HDF5 bitwise", {
  g <- graph_h5_model()
  for (v in c(3, 2)) {
    path <- tempfile(fileext = ".h5")
    if (v == 2) {
      expect_warning(save_model_hdf5(g$model, path, keras_version = v), "Keras 3.15 does not")
    } else {
      expect_identical(save_model_hdf5(g$model, path, keras_version = v), TRUE)
    }
    loaded <- load_model_hdf5(path)
    expect_identical(predict(loaded, g$x, verbose = 0), predict(g$model, g$x, verbose = 0))
    expect_identical(loaded$compile_args$loss_weights, g$model$compile_args$loss_weights)
    # the optimizer state came along: one more epoch on both gives the same weights
    m2 <- load_model_hdf5(path)
    fit(m2, g$x, g$y, epochs = 1, batch_size = 10, shuffle = FALSE, verbose = 0)
    fit(loaded, g$x, g$y, epochs = 1, batch_size = 10, shuffle = FALSE, verbose = 0)
    expect_identical(predict(loaded, g$x, verbose = 0), predict(m2, g$x, verbose = 0))
    unlink(path)
  }
  # a weights file loads into the same architecture
  w <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(g$model, w)
  fresh <- load_model_hdf5({ p <- tempfile(fileext = ".h5"); save_model_hdf5(g$model, p); p })
  set_weights(fresh, lapply(get_weights(fresh), function(a) a * 0))
  load_model_weights_hdf5(fresh, w)
  expect_identical(predict(fresh, g$x, verbose = 0), predict(g$model, g$x, verbose = 0))
})

test_that("Keras 3 and tf.keras 2 load rkeras's graph HDF5 files and predict the same (within 1e-6)", {
  pythons <- list(list(py = Sys.getenv("RKERAS_KERAS_PYTHON"), extra = character(), versions = c(3)),
                  list(py = Sys.getenv("RKERAS_TFKERAS_PYTHON"), extra = "--tf-keras", versions = 2))
  pythons <- Filter(function(p) nzchar(p$py) && file.exists(p$py), pythons)
  if (!length(pythons)) skip("set RKERAS_KERAS_PYTHON or RKERAS_TFKERAS_PYTHON to run the Keras interop checks")
  g <- graph_h5_model()
  dir <- withr::local_tempdir()
  xs <- vapply(1:2, function(i) {
    p <- file.path(dir, sprintf("x%d.csv", i))
    write_csv17(g$x[[i]][1:5, ], p)
    p
  }, "")
  preds <- predict(g$model, lapply(g$x, function(x) x[1:5, ]), verbose = 0)
  ps <- vapply(1:2, function(j) {
    p <- file.path(dir, sprintf("pred%d.csv", j))
    write_csv17(matrix(preds[[j]], 5), p)
    p
  }, "")
  for (p in pythons) {
    for (v in p$versions) {
      f <- file.path(dir, sprintf("graph%d.h5", v))
      suppressWarnings(save_model_hdf5(g$model, f, keras_version = v))
      res <- run_check(p$py, p$extra, "load", f, paste(xs, collapse = ","), paste(ps, collapse = ","))
      expect_true(res$status == 0 && grepl('"ok": true', res$line), info = res$line)
    }
  }
})
