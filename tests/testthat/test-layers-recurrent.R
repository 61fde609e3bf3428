# layer_simple_rnn(), layer_lstm(), layer_gru(): Keras 3 forward values, Keras' parameter counts,
# bad input, HDF5 files of Keras 3 and tf.keras 2, learning a task that needs memory.

rnn_dir <- function() fixture_dir("keras", "rnn")

rnn_fixture <- function() {
  jsonlite::fromJSON(file.path(rnn_dir(), "layers.json"), simplifyVector = TRUE, simplifyDataFrame = FALSE,
                     simplifyMatrix = FALSE)
}

# a row-major {shape, data} array of the fixture as an R array
rnn_array <- function(a) {
  shape <- as.integer(a$shape)
  if (length(shape) == 1) return(a$data)
  aperm(array(a$data, rev(shape)), rev(seq_along(shape)))
}

rnn_csv <- function(path) unname(as.matrix(utils::read.csv(path, header = FALSE)))

test_that("forward values equal Keras 3's for each layer and option (unmasked cases)", {
  f <- rnn_fixture()
  fns <- list(SimpleRNN = layer_simple_rnn, LSTM = layer_lstm, GRU = layer_gru)
  n <- 0
  worst <- 0
  for (case in f$cases) {
    if (!is.null(case$mask)) next
    x <- rnn_array(case$x)
    m <- keras_model_sequential(input_shape = dim(x)[-1])
    do.call(fns[[case$class]], c(list(m), case$config))
    set_weights(m, lapply(case$weights, rnn_array))
    got <- predict(m, x, verbose = 0)
    want <- rnn_array(case$y)
    expect_equal(dim(got), dim(want))
    worst <- max(worst, abs(got - want))
    n <- n + 1
  }
  expect_equal(n, 24)
  expect_lt(worst, 1e-5)
})

test_that("summary() and count_params() are Keras': LSTM(32) on 128 features has 20,608 parameters", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = c(10, 128)) %>%
    layer_lstm(32, return_sequences = TRUE) %>%
    layer_gru(16, return_sequences = TRUE) %>%
    layer_gru(8, reset_after = FALSE) %>%
    layer_dense(1)
  out <- capture.output(summary(m))
  expect_true(any(grepl("lstm \\(LSTM\\) +\\(None, 10, 32\\) +20608", out)))
  expect_true(any(grepl("gru \\(GRU\\) +\\(None, 10, 16\\) +2400", out)))
  expect_true(any(grepl("gru_1 \\(GRU\\) +\\(None, 8\\) +600", out)))
  expect_equal(count_params(m), 20608 + 2400 + 600 + 9)
  s <- keras_model_sequential(input_shape = c(5, 3)) %>% layer_simple_rnn(4)
  expect_equal(count_params(s), 3 * 4 + 4 * 4 + 4)
  expect_equal(lapply(get_weights(m)[1:3], dim), list(c(128L, 128L), c(32L, 128L), 128L))
  expect_equal(dim(get_weights(m)[[6]]), c(2L, 48L))
  expect_equal(length(get_weights(m)[[9]]), 24L)
  # the forget gate's bias starts at one
  expect_equal(as.vector(get_weights(m)[[3]]), rep(c(0, 1, 0, 0), each = 32))
})

test_that("the recurrent kernel is orthogonal and repeats under set.seed()", {
  set.seed(3)
  w1 <- get_weights(keras_model_sequential(input_shape = c(4, 6)) %>% layer_lstm(5))[[2]]
  set.seed(3)
  w2 <- get_weights(keras_model_sequential(input_shape = c(4, 6)) %>% layer_lstm(5))[[2]]
  expect_identical(w1, w2)
  expect_equal(w1 %*% t(w1), diag(5), tolerance = 1e-6)
  m <- keras_model_sequential(input_shape = c(3, 2)) %>%
    layer_simple_rnn(3, recurrent_initializer = initializer_identity(0.5),
                     kernel_initializer = initializer_orthogonal(gain = 2))
  expect_equal(get_weights(m)[[2]], diag(0.5, 3))
  k <- get_weights(m)[[1]]
  expect_equal(k %*% t(k), diag(4, 2), tolerance = 1e-6)
})

test_that("bad input and unsupported arguments give R errors naming the layer", {
  m <- keras_model_sequential(input_shape = c(12, 1)) %>% layer_lstm(4)
  expect_error(predict(m, matrix(0, 3, 12)), "array_reshape(x, c(nrow(x), 12, 1))", fixed = TRUE)
  m <- keras_model_sequential(input_shape = 12) %>% layer_lstm(4, name = "rec")
  expect_error(summary(m), "rec (LSTM): expected input of shape (batch, timesteps, features), got (None, 12)",
               fixed = TRUE)
  expect_error(predict(m, matrix(0, 2, 12)), "array_reshape(x, c(nrow(x), ncol(x), 1))", fixed = TRUE)
  expect_error(layer_lstm(units = 4, return_state = TRUE), "`return_state = TRUE` is not supported yet")
  expect_error(layer_gru(units = 4, stateful = TRUE), "`stateful = TRUE` is not supported yet")
  expect_error(layer_simple_rnn(units = 4, dropout = 1), "`dropout` must be in [0, 1)", fixed = TRUE)
  expect_error(layer_lstm(units = 0), "`units` must be a whole number")
  expect_error(layer_lstm(units = 4, recurrent_regularizer = "l2"), "`recurrent_regularizer` not supported yet")
  expect_error(layer_gru(units = 4, time_major = TRUE), "`time_major = TRUE` is not supported")
  m <- keras_model_sequential(input_shape = c(3, 2)) %>% layer_gru(4, activation = "softmax", name = "g")
  expect_error(summary(m), "g (GRU): activation = 'softmax' is not supported", fixed = TRUE)
})

test_that("Keras 3 and tf.keras 2 HDF5 files of a recurrent stack load and predict like Keras", {
  x <- rnn_csv(file.path(rnn_dir(), "rnn_x.csv"))
  x <- array_reshape(x, c(nrow(x), 6, 4))
  for (tag in c("keras3", "keras2")) {
    m <- load_model_hdf5(file.path(rnn_dir(), sprintf("rnn_%s.h5", tag)))
    expect_equal(count_params(m), 433)
    kinds <- vapply(rkeras:::model_spec(m)$layers, `[[`, "", "class_name")
    expect_equal(kinds, c("LSTM", "GRU", "GRU", "SimpleRNN", "Dense"))
    want <- rnn_csv(file.path(rnn_dir(), sprintf("rnn_%s_pred.csv", tag)))
    expect_lt(max(abs(predict(m, x, verbose = 0) - want)), 1e-5)
    h <- fit(m, x, to_categorical(c(0, 1, 1, 0), 2), epochs = 1, verbose = 0)
    expect_true(is.finite(h$metrics$loss))
  }
})

test_that("recurrent models round trip through HDF5 (both layouts) and saveRDS bitwise", {
  set.seed(4)
  m <- keras_model_sequential(input_shape = c(7, 3)) %>%
    layer_lstm(5, return_sequences = TRUE, go_backwards = TRUE) %>%
    layer_gru(4, return_sequences = TRUE, dropout = 0.1, recurrent_dropout = 0.1) %>%
    layer_gru(3, reset_after = FALSE, return_sequences = TRUE, use_bias = FALSE) %>%
    layer_simple_rnn(2, activation = "relu")
  m %>% compile(loss = "mse", optimizer = "adam")
  x <- array(rnorm(8 * 7 * 3), c(8, 7, 3))
  y <- matrix(rnorm(16), 8)
  fit(m, x, y, epochs = 1, batch_size = 4, verbose = 0)
  p <- predict(m, x, verbose = 0)
  for (v in c(3, 2)) {
    path <- tempfile(fileext = ".h5")
    save_model_hdf5(m, path, keras_version = v)
    loaded <- load_model_hdf5(path)
    expect_identical(predict(loaded, x, verbose = 0), p)
    expect_identical(get_weights(loaded), get_weights(m))
    expect_identical(capture.output(summary(loaded)), capture.output(summary(m)))
    unlink(path)
  }
  path <- tempfile(fileext = ".rds")
  saveRDS(m, path)
  expect_identical(predict(readRDS(path), x, verbose = 0), p)
})

# keras_zoo.py's imdb task at a small scale: label = whether token 7 occurs in the sequence
token7 <- function(n, maxlen = 80, vocab = 500) {
  x <- matrix(sample.int(vocab - 1, n * maxlen, replace = TRUE), n, maxlen)
  x[x == 7] <- 8L
  y <- as.numeric(runif(n) < 0.5)
  pos <- sample.int(maxlen, n, replace = TRUE)
  x[cbind(which(y == 1), pos[y == 1])] <- 7L
  list(x = x, y = y)
}

test_that("an imdb_lstm-like model learns whether token 7 occurs (>= 0.95 validation accuracy in 3 epochs)", {
  set.seed(5)
  d <- token7(3000)
  m <- keras_model_sequential() %>%
    layer_embedding(500, 32) %>%
    layer_lstm(32) %>%
    layer_dense(1, activation = "sigmoid")
  m %>% compile(loss = "binary_crossentropy", optimizer = "adam", metrics = "accuracy")
  h <- fit(m, d$x, d$y, batch_size = 32, epochs = 3, validation_split = 0.2, verbose = 0)
  expect_gte(max(h$metrics$val_accuracy), 0.95)
})

# --- Real Keras (optional): RKERAS_KERAS_PYTHON names a python with keras (3) and h5py,
# RKERAS_TFKERAS_PYTHON one with tf_keras (tf.keras 2) and h5py (as test-persistence-cnn.R).

rnn_keras_loads <- function(var, extra, versions) {
  py <- Sys.getenv(var)
  if (!nzchar(py) || !file.exists(py)) skip(paste0("set ", var, " to run the Keras recurrent interop checks"))
  script <- normalizePath(test_path("..", "interop", "check_keras.py"))
  dir <- withr::local_tempdir()
  set.seed(6)
  m <- keras_model_sequential(input_shape = c(7, 3), name = "rnn_stack") %>%
    layer_lstm(5, return_sequences = TRUE, go_backwards = TRUE) %>%
    layer_gru(4, return_sequences = TRUE, dropout = 0.1, recurrent_dropout = 0.1) %>%
    layer_gru(3, reset_after = FALSE, return_sequences = TRUE, use_bias = FALSE) %>%
    layer_simple_rnn(3, activation = "relu", recurrent_initializer = initializer_identity()) %>%
    layer_dense(2, activation = "softmax")
  m %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
  x <- array(rnorm(16 * 7 * 3), c(16, 7, 3))
  fit(m, x, to_categorical(rep(0:1, 8), 2), epochs = 1, batch_size = 4, verbose = 0)
  xs <- x[1:4, , ]
  write_rows <- function(a, path) {
    mm <- array_reshape(a, c(dim(a)[1], length(a) / dim(a)[1]))
    utils::write.table(format(mm, digits = 17), path, sep = ",", row.names = FALSE, col.names = FALSE,
                       quote = FALSE)
  }
  write_rows(xs, file.path(dir, "x.csv"))
  write_rows(predict(m, xs, verbose = 0), file.path(dir, "pred.csv"))
  w <- file.path(dir, "w.h5")
  save_model_weights_hdf5(m, w)
  for (v in versions) {
    f <- file.path(dir, sprintf("rnn_%d.h5", v))
    save_model_hdf5(m, f, keras_version = v)
    order <- if (v == 3 || length(extra)) "--key-order" else character()
    out <- suppressWarnings(system2(py, c(script, extra, order, "load", f, file.path(dir, "x.csv"),
                                          file.path(dir, "pred.csv"), w), stdout = TRUE, stderr = FALSE,
                                    env = c("TF_CPP_MIN_LOG_LEVEL=3", "KERAS_BACKEND=jax")))
    line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
    expect_true(length(line) == 1 && grepl('"ok": true', line), info = paste(v, paste(out, collapse = "\n")))
  }
}

# Keras 3 (3.15.1) cannot read tf.keras 2's recurrent layers (`time_major` is an unknown argument
# to it, also in files tf.keras 2 writes itself: tests/fixtures/keras/rnn/rnn_keras2.h5), so the
# tf.keras 2 layout is checked with tf.keras 2 only.
test_that("Keras 3 loads rkeras's recurrent HDF5 files: same predictions, key order", {
  rnn_keras_loads("RKERAS_KERAS_PYTHON", character(), 3)
})

test_that("tf.keras 2 loads rkeras's recurrent HDF5 files: same predictions, key order", {
  rnn_keras_loads("RKERAS_TFKERAS_PYTHON", "--tf-keras", 2)
})
