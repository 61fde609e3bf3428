# time_distributed(): Keras 3 and tf.keras 2 values, masks through it, HDF5 both ways, bad input.

td_fixture <- function(file = "mask.json") {
  jsonlite::fromJSON(file.path(fixture_dir("keras", "mask"), file), simplifyVector = TRUE,
                     simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
}

td_array <- function(a) {
  shape <- as.integer(a$shape)
  if (length(shape) == 1) return(a$data)
  aperm(array(a$data, rev(shape)), rev(seq_along(shape)))
}

test_that("time_distributed(layer_dense()) predicts as Keras 3 and tf.keras 2", {
  f <- td_fixture()$td
  m <- keras_model_sequential(input_shape = c(4, 3)) %>%
    time_distributed(layer_dense(units = 2, activation = "tanh"), name = "td")
  expect_equal(m$layers[[1]]$class_name, "TimeDistributed")
  expect_equal(count_params(m), 3 * 2 + 2)
  set_weights(m, lapply(f$weights, td_array))
  x <- td_array(f$x)
  p <- predict(m, x)
  expect_equal(dim(p), c(3L, 4L, 2L))
  expect_lt(max(abs(p - td_array(f$predictions))), 1e-6)
  expect_lt(max(abs(p - td_array(td_fixture("tfk2.json")$td$predictions))), 1e-6)
  # by hand: the dense layer on every step
  w <- get_weights(m)
  expect_equal(p[2, 3, ], tanh(as.vector(x[2, 3, ] %*% w[[1]]) + as.vector(w[[2]])), tolerance = 1e-6)
  out <- capture.output(summary(m))
  expect_true(any(grepl("td (TimeDistributed)", out, fixed = TRUE)))
})

test_that("Keras HDF5 files with TimeDistributed load and predict as Keras did (Keras 3, tf.keras 2)", {
  f <- td_fixture()
  m <- suppressWarnings(load_model_hdf5(file.path(fixture_dir("keras", "mask"), "td_tfk2.h5")))
  expect_lt(max(abs(predict(m, td_array(f$td$x)) - td_array(td_fixture("tfk2.json")$td$predictions))), 1e-6)
  # embedding(mask_zero) -> time_distributed(dense) -> global average pooling: the mask passes through
  g <- f$td_mask
  m <- suppressWarnings(load_model_hdf5(file.path(fixture_dir("keras", "mask"), "td_mask.h5")))
  ids <- td_array(g$ids)
  expect_lt(max(abs(predict(m, ids) - td_array(g$predictions))), 1e-6)
  ev <- evaluate(m, ids, td_array(g$y), verbose = 0)
  expect_equal(unname(ev[["loss"]]), g$evaluate$loss, tolerance = 1e-5)
  # the same model built in R
  inp <- layer_input(shape = 6)
  out <- inp %>% layer_embedding(9, 4, mask_zero = TRUE) %>% time_distributed(layer_dense(units = 3, activation = "relu")) %>%
    layer_global_average_pooling_1d() %>% layer_dense(1, activation = "sigmoid")
  r <- keras_model(inp, out)
  set_weights(r, lapply(g$weights, td_array))
  expect_lt(max(abs(predict(r, ids) - td_array(g$predictions))), 1e-6)
})

test_that("time_distributed models survive HDF5 (both layouts), native files and saveRDS, and train", {
  set.seed(3)
  m <- keras_model_sequential(input_shape = c(5, 4)) %>%
    time_distributed(layer_dense(units = 6, activation = "relu")) %>%
    time_distributed(layer_dropout(rate = 0.2)) %>%
    time_distributed(layer_dense(units = 3, activation = "softmax"))
  m %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_adam(learning_rate = 0.02),
                metrics = "accuracy")
  x <- array(runif(200 * 5 * 4), c(200, 5, 4))
  # class of each step: which of the first three features is largest
  cls <- apply(x[, , 1:3], c(1, 2), which.max)
  y <- array(0, c(200, 5, 3))
  for (k in 1:3) y[, , k] <- cls == k
  h <- fit(m, x, y, epochs = 40, batch_size = 20, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), h$metrics$loss[1] * 0.6)
  expect_gt(tail(h$metrics$accuracy, 1), 0.8)
  want <- predict(m, x[1:7, , , drop = FALSE])
  for (v in c(3, 2)) {
    path <- tempfile(fileext = ".h5")
    save_model_hdf5(m, path, keras_version = v)
    back <- load_model_hdf5(path)
    expect_equal(predict(back, x[1:7, , , drop = FALSE]), want, tolerance = 1e-7)
    unlink(path)
  }
  path <- tempfile(fileext = ".rds")
  saveRDS(m, path)
  expect_equal(predict(readRDS(path), x[1:7, , , drop = FALSE]), want, tolerance = 1e-7)
  unlink(path)
})

test_that("real Keras loads rkeras's TimeDistributed and mask_zero HDF5 files and predicts the same (optional)", {
  pythons <- list(list(py = Sys.getenv("RKERAS_KERAS_PYTHON"), extra = character(), version = 3),
                  list(py = Sys.getenv("RKERAS_TFKERAS_PYTHON"), extra = "--tf-keras", version = 2))
  pythons <- Filter(function(p) nzchar(p$py) && file.exists(p$py), pythons)
  if (!length(pythons)) skip("set RKERAS_KERAS_PYTHON / RKERAS_TFKERAS_PYTHON to run the Keras interop checks")
  script <- normalizePath(test_path("..", "interop", "check_keras.py"))
  set.seed(4)
  inp <- layer_input(shape = 6)
  out <- inp %>% layer_embedding(20, 4, mask_zero = TRUE) %>% time_distributed(layer_dense(units = 3, activation = "tanh")) %>%
    layer_global_average_pooling_1d() %>% layer_dense(1, activation = "sigmoid")
  m <- keras_model(inp, out)
  m %>% compile(loss = "binary_crossentropy", optimizer = "adam")
  x <- matrix(sample(0:19, 60, TRUE), 10)
  x[1:3, 1:2] <- 0
  fit(m, x, as.numeric(runif(10) < 0.5), epochs = 1, verbose = 0)
  s <- keras_model_sequential(input_shape = c(4, 3)) %>% layer_masking() %>%
    time_distributed(layer_dense(units = 2)) %>% layer_global_average_pooling_1d()
  xs <- array(runif(5 * 4 * 3), c(5, 4, 3))
  xs[2, 2:3, ] <- 0
  dir <- tempfile("td-interop-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  csv <- function(v, p) utils::write.table(format(v, digits = 17), p, sep = ",", row.names = FALSE,
                                           col.names = FALSE, quote = FALSE)
  flat <- function(a) matrix(aperm(a, rev(seq_along(dim(a)))), dim(a)[1], byrow = TRUE)
  for (case in list(list(m, x, "f"), list(s, flat(xs), "s"))) {
    model <- case[[1]]
    csv(case[[2]], file.path(dir, paste0(case[[3]], "x.csv")))
    xin <- if (case[[3]] == "s") xs else x
    csv(predict(model, xin), file.path(dir, paste0(case[[3]], "p.csv")))
    for (p in pythons) {
      f <- file.path(dir, paste0(case[[3]], p$version, ".h5"))
      save_model_hdf5(model, f, keras_version = p$version)
      out <- suppressWarnings(system2(p$py, c(script, p$extra, "load", f, file.path(dir, paste0(case[[3]], "x.csv")),
                                              file.path(dir, paste0(case[[3]], "p.csv"))), stdout = TRUE, stderr = FALSE,
                                      env = "TF_CPP_MIN_LOG_LEVEL=3"))
      line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
      expect_match(paste(line, ""), "\"ok\": true", fixed = TRUE, label = paste("Keras", p$version, case[[3]]))
    }
  }
})

test_that("bad input: clear errors naming the layers and shapes", {
  m <- keras_model_sequential(input_shape = 8) %>%
    time_distributed(layer_dense(units = 2, name = "inner"), name = "td")
  expect_error(count_params(m),
               "td: TimeDistributed applies \"inner\" (Dense) to every step of an input of shape (batch, steps, ...), at least 3-d; got input shape (None, 8)",
               fixed = TRUE)
  expect_error(time_distributed(layer = "dense"), "`layer` must be a layer made without a model or tensor", fixed = TRUE)
  expect_error(time_distributed(layer = layer_add()), "is a Add layer; wrap a layer that takes one tensor", fixed = TRUE)
  inner <- keras_model_sequential(input_shape = 3) %>% layer_dense(2)
  expect_error(time_distributed(layer = inner), "rkeras applies a single layer to every step, not a model", fixed = TRUE)
  inp <- layer_input(shape = c(4, 3))
  expect_error(inp %>% time_distributed(layer_global_average_pooling_1d(name = "g"), name = "td2") %>%
                 keras_model(inputs = inp),
               "td2: g: GlobalAveragePooling1D takes 3-d input", fixed = TRUE)
})
