# Batch normalization: Keras 3's values (tests/fixtures/batchnorm, made by
# tests/interop/make_batchnorm_fixtures.py), parameter counts, training, saving, errors.

bn_fixture <- function(name) {
  path <- file.path(fixture_dir("batchnorm"), name)
  if (!file.exists(path)) stop("test fixture not found: ", path, call. = FALSE)
  path
}

bn_cases <- function() {
  jsonlite::fromJSON(bn_fixture("batchnorm.json"), simplifyVector = TRUE, simplifyDataFrame = FALSE,
                     simplifyMatrix = FALSE)
}

# The one-layer model of a fixture case, with the case's weights.
bn_case_model <- function(case) {
  a <- case$args
  m <- keras_model_sequential(input_shape = unlist(case$input_shape)) %>%
    layer_batch_normalization(axis = a$axis %or% -1L, momentum = a$momentum %or% 0.99,
                              epsilon = a$epsilon %or% 0.001, center = a$center %or% TRUE,
                              scale = a$scale %or% TRUE)
  set_weights(m, fx_weights(case$weights))
  m
}

`%or%` <- function(a, b) if (is.null(a)) b else a

max_diff <- function(a, b) {
  expect_equal(dim(a), dim(b))
  max(abs(a - b))
}

test_that("inference and training outputs and the moving statistics equal Keras 3's (within 1e-5)", {
  cases <- bn_cases()
  cases$versions <- NULL
  expect_length(cases, 6)
  for (name in names(cases)) {
    k_clear_session()
    case <- cases[[name]]
    m <- bn_case_model(case)
    w <- get_weights(m)
    expect_length(w, length(case$weight_names))
    x <- fx_array(case$x)
    # inference: the moving statistics
    expect_lt(max_diff(predict(m, x, verbose = 0), fx_array(case$predict)), 1e-5, label = name)
    # one training step with SGD(learning_rate = 0): the loss is that of the training-mode output
    # (batch statistics); gamma and beta stay, the moving statistics move once
    m %>% compile(optimizer = optimizer_sgd(learning_rate = 0), loss = "mse")
    loss <- train_on_batch(m, x, fx_array(case$y))
    expect_lt(abs(unname(loss[[1]]) - case$train_on_batch$loss), 1e-5 * max(1, case$train_on_batch$loss),
              label = name)
    after <- get_weights(m)
    want <- fx_weights(case$train_on_batch$weights)
    for (i in seq_along(want)) expect_lt(max(abs(as.numeric(after[[i]]) - as.numeric(want[[i]]))), 1e-5, label = name)
    expect_lt(max_diff(predict(m, x, verbose = 0), fx_array(case$predict_after)), 1e-5, label = name)
    # with momentum 0 the moving statistics become the batch's, so inference after one step gives
    # the training-mode output Keras computed with layer(x, training = TRUE)
    m0 <- bn_case_model(case)
    cfg <- m0$layers[[1]]$get_config()
    expect_equal(cfg$momentum, case$args$momentum %or% 0.99)
    a <- case$args
    m0 <- keras_model_sequential(input_shape = unlist(case$input_shape)) %>%
      layer_batch_normalization(axis = a$axis %or% -1L, momentum = 0, epsilon = a$epsilon %or% 0.001,
                                center = a$center %or% TRUE, scale = a$scale %or% TRUE)
    set_weights(m0, fx_weights(case$weights))
    m0 %>% compile(optimizer = optimizer_sgd(learning_rate = 0), loss = "mse")
    train_on_batch(m0, x, fx_array(case$y))
    expect_lt(max_diff(predict(m0, x, verbose = 0), fx_array(case$train_out)), 1e-5, label = name)
  }
})

test_that("a fit() step and evaluate() use batch and moving statistics like train_on_batch()", {
  case <- bn_cases()$conv
  x <- fx_array(case$x)
  y <- fx_array(case$y)
  m <- bn_case_model(case)
  m %>% compile(optimizer = optimizer_sgd(learning_rate = 0), loss = "mse")
  before <- evaluate(m, x, y, verbose = 0)
  # evaluate() is inference: it leaves the moving statistics alone
  expect_equal(get_weights(m), fx_weights(case$weights), tolerance = 1e-7)
  expect_equal(unname(before[[1]]), mean((predict(m, x, verbose = 0) - y)^2), tolerance = 1e-5)
  h <- fit(m, x, y, epochs = 1, batch_size = dim(x)[1], shuffle = FALSE, verbose = 0)
  expect_lt(abs(h$metrics$loss - case$train_on_batch$loss), 1e-5)
  want <- fx_weights(case$train_on_batch$weights)
  got <- get_weights(m)
  for (i in seq_along(want)) expect_lt(max(abs(as.numeric(got[[i]]) - as.numeric(want[[i]]))), 1e-5)
})

test_that("summary() counts the moving statistics as non-trainable parameters, like Keras", {
  k_clear_session()
  model <- keras_model_sequential(input_shape = c(28, 28, 1)) %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3)) %>%
    layer_batch_normalization() %>%
    layer_flatten() %>%
    layer_dense(units = 10, activation = "softmax")
  out <- capture.output(summary(model))
  # 4 * 32 weights, of which 2 * 32 (moving mean and variance) are not trainable
  expect_true(any(grepl("^batch_normalization \\(BatchNormalization\\) *\\(None, 26, 26, 32\\) +128", out)), info = out)
  expect_true("Total params: 216,778" %in% out)
  expect_true("Trainable params: 216,714" %in% out)
  expect_true("Non-trainable params: 64" %in% out)
  expect_equal(count_params(model), 216778)
  w <- model$layers[[2]]$weights
  expect_equal(vapply(model$layers[[2]]$non_trainable_weights, function(v) length(v), 0), c(32, 32))
  expect_length(model$layers[[2]]$trainable_weights, 2)
  # without center and scale only the state is left
  m2 <- keras_model_sequential(input_shape = 5) %>% layer_batch_normalization(center = FALSE, scale = FALSE)
  out <- capture.output(summary(m2))
  expect_true("Trainable params: 0" %in% out && "Non-trainable params: 10" %in% out)
})

test_that("a CNN with batch normalization trains (the loss falls) and predicts with the moving statistics", {
  k_clear_session()
  set.seed(3)
  n <- 64
  x <- array(runif(n * 8 * 8), c(n, 8, 8, 1))
  y <- as.integer(apply(x[, 1:4, , 1], 1, sum) > apply(x[, 5:8, , 1], 1, sum))
  x[y == 1, 1:4, , 1] <- x[y == 1, 1:4, , 1] + 1
  inp <- layer_input(c(8, 8, 1))
  conv_out <- inp %>% layer_conv_2d(4, c(3, 3), padding = "same")
  bn_out <- conv_out %>% layer_batch_normalization()
  out <- bn_out %>% layer_activation("relu") %>% layer_max_pooling_2d() %>% layer_flatten() %>%
    layer_dense(2, activation = "softmax")
  model <- keras_model(inp, out)
  model %>% compile(optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  h <- model %>% fit(x, y, epochs = 20, batch_size = 16, verbose = 0)
  expect_lt(tail(h$metrics$loss, 1), 0.5 * h$metrics$loss[1])
  w <- get_weights(model)
  # moving statistics moved away from their initial zeros and ones
  expect_true(all(w[[5]] != 0) && all(w[[6]] != 1))
  # predict() normalizes with them: per channel (x - mean) / sqrt(var + eps) * gamma + beta
  # sub-models on the same layers, given the trained weights
  probe <- keras_model(inp, bn_out)
  set_weights(probe, w[1:6])
  conv <- keras_model(inp, conv_out)
  set_weights(conv, w[1:2])
  pc <- predict(conv, x[1:3, , , , drop = FALSE], verbose = 0)
  pb <- predict(probe, x[1:3, , , , drop = FALSE], verbose = 0)
  by_hand <- pc
  for (ch in 1:4) by_hand[, , , ch] <- (pc[, , , ch] - w[[5]][ch]) / sqrt(w[[6]][ch] + 0.001) * w[[3]][ch] + w[[4]][ch]
  expect_lt(max(abs(pb - by_hand)), 1e-5)
  expect_gt(mean(max.col(predict(model, x, verbose = 0)) - 1 == y), 0.9)
})

test_that("Keras 3's and tf.keras 2's HDF5 files of a CNN with batch normalization load with the moving statistics", {
  for (v in c("keras3", "keras2")) {
    k_clear_session()
    cnn <- jsonlite::fromJSON(bn_fixture(if (v == "keras3") "cnn.json" else "cnn_keras2.json"),
                              simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
    x <- fx_array(cnn$cnn_x)
    f <- paste0("batchnorm_", v, ".h5")
    m <- suppressWarnings(load_model_hdf5(bn_fixture(f)))
    w <- get_weights(m)
    kw <- fx_weights(cnn$weights)
    expect_length(w, length(kw))
    for (i in seq_along(kw)) expect_equal(as.numeric(w[[i]]), as.numeric(kw[[i]]), tolerance = 1e-7, info = f)
    # the moving statistics are not those a fresh layer has
    expect_true(all(w[[5]] != 0) && all(w[[6]] != 1), info = f)
    expect_lt(max_diff(predict(m, x, verbose = 0), fx_array(cnn$predict)), 1e-5, label = f)
    cfg <- m$layers[[2]]$get_config()
    expect_equal(c(cfg$momentum, cfg$epsilon), c(0.99, 0.001), info = f)
    # tf.keras 2 keeps the built layer's axis as the list [3]: the channels, the last axis
    expect_true(cfg$axis %in% c(-1, 3), info = f)
    expect_equal(count_params(m), length(unlist(kw)))
  }
})

test_that("saving and loading keep the moving statistics (HDF5 both layouts, .keras, native, RDS)", {
  k_clear_session()
  set.seed(5)
  m <- keras_model_sequential(input_shape = c(5, 5, 2)) %>%
    layer_conv_2d(3, 2) %>%
    layer_batch_normalization(momentum = 0.5, epsilon = 0.01, name = "bn") %>%
    layer_flatten() %>%
    layer_dense(2)
  m %>% compile(optimizer = "sgd", loss = "mse")
  x <- array(rnorm(8 * 50), c(8, 5, 5, 2))
  fit(m, x, matrix(rnorm(16), 8), epochs = 2, batch_size = 4, verbose = 0)
  w <- get_weights(m)
  expect_true(all(w[[5]] != 0))
  p <- predict(m, x, verbose = 0)
  dir <- withr::local_tempdir()
  check <- function(m2, what) {
    expect_equal(get_weights(m2), w, tolerance = 1e-7, info = what)
    expect_equal(predict(m2, x, verbose = 0), p, tolerance = 1e-6, info = what)
    cfg <- m2$layers[[2]]$get_config()
    expect_equal(c(cfg$momentum, cfg$epsilon), c(0.5, 0.01), info = what)
  }
  for (v in c(3, 2)) {
    f <- file.path(dir, paste0("bn", v, ".h5"))
    save_model_hdf5(m, f, keras_version = v)
    check(suppressWarnings(load_model_hdf5(f)), paste("hdf5", v))
  }
  f <- file.path(dir, "bn.keras")
  save_model(m, f)
  check(load_model(f), ".keras")
  f <- file.path(dir, "bn.rkeras")
  save_model(m, f)
  check(load_model(f), "rkeras")
  f <- file.path(dir, "bn.rds")
  saveRDS(m, f)
  check(readRDS(f), "rds")
  # set_weights() sets the moving statistics too
  m3 <- keras_model_sequential(input_shape = c(5, 5, 2)) %>% layer_conv_2d(3, 2) %>%
    layer_batch_normalization(momentum = 0.5, epsilon = 0.01) %>% layer_flatten() %>% layer_dense(2)
  set_weights(m3, w)
  expect_equal(predict(m3, x, verbose = 0), p, tolerance = 1e-6)
})

test_that("a frozen batch normalization layer keeps its moving statistics in training", {
  k_clear_session()
  m <- keras_model_sequential(input_shape = 3) %>%
    layer_dense(3) %>%
    layer_batch_normalization(name = "bn") %>%
    layer_dense(1)
  freeze_weights(m, from = "bn", to = "bn")
  m %>% compile(optimizer = "sgd", loss = "mse")
  out <- capture.output(summary(m))
  expect_true(any(grepl("Non-trainable params: 12", out)))
  before <- get_weights(m)[3:6]
  fit(m, matrix(rnorm(30), 10), rnorm(10), epochs = 1, verbose = 0)
  expect_equal(get_weights(m)[3:6], before)
})

test_that("bad batch normalization arguments give clear errors naming the layer", {
  k_clear_session()
  expect_error(layer_batch_normalization(epsilon = 0), "layer_batch_normalization\\(\\): `epsilon` must be a positive")
  expect_error(layer_batch_normalization(epsilon = -1), "`epsilon` must be a positive number, got -1")
  expect_error(layer_batch_normalization(momentum = 1.5), "`momentum` must be in \\[0, 1\\], got 1.5")
  expect_error(layer_batch_normalization(momentum = -0.1), "`momentum` must be in \\[0, 1\\]")
  expect_error(layer_batch_normalization(axis = 0), "`axis` 0 is the batch axis")
  expect_error(layer_batch_normalization(axis = 1.5), "`axis` must be a whole number")
  expect_error(layer_batch_normalization(center = NA), "`center` must be TRUE or FALSE")
  expect_error(layer_batch_normalization(gamma_regularizer = "l2"), "`gamma_regularizer` not supported yet")
  expect_error(layer_batch_normalization(beta_constraint = "non_neg"), "`beta_constraint` not supported yet")
  expect_error(layer_batch_normalization(synchronized = TRUE), "synchronized = TRUE")
  expect_error(layer_batch_normalization(gamma_initializer = "onez"), "unknown `gamma_initializer`")
  expect_error(layer_batch_normalization(axes = 1), "unknown argument `axes`")
  m <- keras_model_sequential(input_shape = c(4, 3)) %>% layer_batch_normalization(axis = 3, name = "bn_x")
  expect_error(summary(m), paste0("bn_x \\(BatchNormalization\\): axis 3 is not a feature axis of input shape ",
                                  "\\(None, 4, 3\\); use -1 \\(the last axis\\) or 1 to 2"))
  inp <- layer_input(c(4, 3))
  expect_error(keras_model(inp, inp %>% layer_batch_normalization(axis = -3, name = "bn_y")),
               "bn_y \\(BatchNormalization\\): axis -3 \\(the batch axis\\)")
})

# Real Keras (optional): RKERAS_KERAS_PYTHON names a python with keras (3) and h5py,
# RKERAS_TFKERAS_PYTHON one with tf_keras (tf.keras 2) and h5py; tests/interop/check_keras.py loads
# rkeras's files and predicts.
bn_interop <- function(var, keras_versions, extra = character()) {
  py <- Sys.getenv(var)
  if (!nzchar(py) || !file.exists(py)) skip(paste("set", var, "to run the Keras interop checks"))
  script <- normalizePath(test_path("..", "interop", "check_keras.py"))
  k_clear_session()
  set.seed(7)
  m <- keras_model_sequential(input_shape = c(5, 5, 2)) %>%
    layer_conv_2d(3, 2) %>%
    layer_batch_normalization(momentum = 0.5, epsilon = 0.01) %>%
    layer_flatten() %>%
    layer_dense(2)
  m %>% compile(optimizer = "adam", loss = "mean_squared_error")
  x <- array(rnorm(8 * 50), c(8, 5, 5, 2))
  fit(m, x, matrix(rnorm(16), 8), epochs = 2, batch_size = 4, verbose = 0)
  dir <- withr::local_tempdir()
  csv <- function(v, name) {
    utils::write.table(format(v, digits = 17), file.path(dir, name), sep = ",", row.names = FALSE,
                       col.names = FALSE, quote = FALSE)
    file.path(dir, name)
  }
  xs <- x[1:5, , , , drop = FALSE]
  xcsv <- csv(t(apply(xs, 1, function(s) as.numeric(aperm(s, 3:1)))), "x.csv")
  pcsv <- csv(predict(m, xs, verbose = 0), "pred.csv")
  wfile <- file.path(dir, "w.h5")
  save_model_weights_hdf5(m, wfile)
  for (v in keras_versions) {
    f <- file.path(dir, paste0("bn", v, ".h5"))
    save_model_hdf5(m, f, keras_version = v)
    out <- suppressWarnings(system2(py, c(script, extra, "load", f, xcsv, pcsv, wfile), stdout = TRUE, stderr = FALSE,
                                    env = "TF_CPP_MIN_LOG_LEVEL=3"))
    line <- utils::tail(grep("^\\{", out, value = TRUE), 1)
    expect_true(length(line) == 1 && grepl('"ok": true', line), info = paste(out, collapse = "\n"))
  }
}

test_that("Keras 3 loads rkeras's HDF5 files with batch normalization and predicts the same (1e-6)", {
  bn_interop("RKERAS_KERAS_PYTHON", c(3, 2))
})

test_that("tf.keras 2 loads rkeras's Keras 2 HDF5 files with batch normalization and predicts the same", {
  bn_interop("RKERAS_TFKERAS_PYTHON", 2, "--tf-keras")
})
