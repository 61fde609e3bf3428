# Saving, loading, saveRDS(), resuming, weights, freezing, get_layer(), clone_model() and
# the `$` idioms.

trained_model <- function(seed = 1, epochs = 2, dropout = 0.2) {
  d <- toy_data(120, seed = 5)
  set.seed(seed)
  model <- toy_model(units = 8, dropout = dropout)
  model %>% fit(d$x, d$y, epochs = epochs, batch_size = 16, verbose = 0)
  model
}

# Runs `fn(...)` in a new R session with the library paths of this one.
in_fresh_r <- function(fn, ...) {
  skip_if_not_installed("callr")
  callr::r(fn, args = list(...), libpath = .libPaths())
}

expect_rkeras_error <- function(expr, pattern, ...) {
  expect_error(expr, pattern, class = "rkeras_error", ...)
}

test_that("save_model()/load_model() round trip predicts bitwise and keeps compile() and optimizer", {
  model <- trained_model()
  x <- toy_data(30, seed = 9)$x
  path <- tempfile(fileext = ".rkeras")
  expect_true(save_model(model, path))
  loaded <- load_model(path)
  expect_identical(predict(loaded, x), predict(model, x))
  expect_identical(get_weights(loaded), get_weights(model))
  expect_equal(loaded$metrics_names, c("loss", "accuracy"))
  expect_equal(loaded$optimizer$name, "adam")
  expect_equal(loaded$loss, "categorical_crossentropy")
  expect_equal(rkeras:::rk_model_compile_info(loaded$ptr)$iterations,
               rkeras:::rk_model_compile_info(model$ptr)$iterations)
  expect_output(print(loaded), "Total params: 58")
  # serialize_model(): the same bytes
  raw <- serialize_model(model)
  expect_type(raw, "raw")
  expect_identical(raw, readBin(path, "raw", file.size(path)))
  expect_identical(predict(unserialize_model(raw), x), predict(model, x))
  # the directory variant
  dir <- tempfile()
  save_model_tf(model, dir)
  expect_true(file.exists(file.path(dir, "saved_model.rkeras")))
  expect_identical(predict(load_model_tf(dir), x), predict(model, x))
  expect_identical(predict(load_model(dir), x), predict(model, x))
})

test_that("a functional model round-trips with its input layer", {
  set.seed(3)
  inputs <- layer_input(shape = c(2, 3), name = "img")
  outputs <- inputs %>% layer_flatten() %>% layer_dense(4, activation = "relu") %>% layer_dense(1)
  model <- keras_model(inputs, outputs, name = "func")
  loaded <- unserialize_model(serialize_model(model))
  expect_equal(loaded$name, "func")
  expect_equal(vapply(loaded$layers, function(l) l$name, ""), vapply(model$layers, function(l) l$name, ""))
  expect_equal(loaded$layers[[1]]$class_name, "InputLayer")
  x <- array(runif(30), c(5, 2, 3))
  expect_identical(predict(loaded, x), predict(model, x))
  expect_null(loaded$optimizer)
})

test_that("compile = FALSE and include_optimizer = FALSE", {
  model <- trained_model()
  d <- toy_data(20, seed = 2)
  path <- tempfile(fileext = ".rkeras")
  save_model(model, path)
  bare <- load_model(path, compile = FALSE)
  expect_null(bare$optimizer)
  expect_rkeras_error(fit(bare, d$x, d$y, verbose = 0), "compile")
  expect_identical(predict(bare, d$x), predict(model, d$x))
  save_model(model, path, include_optimizer = FALSE)
  fresh <- load_model(path)
  expect_equal(fresh$optimizer$name, "adam")
  expect_equal(rkeras:::rk_model_compile_info(fresh$ptr)$iterations, 0)
})

test_that("training resumed in a fresh R process matches an uninterrupted fit", {
  d <- toy_data(120, seed = 5)
  build <- function() {
    set.seed(42)
    keras_model_sequential(input_shape = 4) %>% layer_dense(8, activation = "relu") %>% layer_dropout(0.3) %>%
      layer_dense(2, activation = "softmax") %>%
      compile(optimizer = "adam", loss = "categorical_crossentropy", metrics = "accuracy")
  }
  model <- build()
  model %>% fit(d$x, d$y, epochs = 4, batch_size = 16, verbose = 0)
  path <- tempfile(fileext = ".rkeras")
  in_fresh_r(function(build, x, y, path) {
    library(rkeras)
    environment(build) <- globalenv()
    model <- build()
    model %>% fit(x, y, epochs = 2, batch_size = 16, verbose = 0)
    save_model(model, path)
  }, build = build, x = d$x, y = d$y, path = path)
  resumed <- in_fresh_r(function(x, y, path) {
    library(rkeras)
    model <- load_model(path)
    model %>% fit(x, y, epochs = 4, initial_epoch = 2, batch_size = 16, verbose = 0)
    get_weights(model)
  }, x = d$x, y = d$y, path = path)
  expect_equal(length(resumed), 4)
  for (i in seq_along(resumed)) expect_lt(max(abs(resumed[[i]] - get_weights(model)[[i]])), 1e-6)
})

test_that("a model survives saveRDS()/readRDS() in a new session, trained and untrained", {
  model <- trained_model()
  untrained <- keras_model_sequential(input_shape = 4) %>% layer_dense(3)
  x <- toy_data(25, seed = 8)$x
  p_untrained <- predict(untrained, x)  # built (weights drawn) at first use
  rds <- tempfile(fileext = ".rds")
  saveRDS(list(model, untrained), rds)
  got <- in_fresh_r(function(rds, x) {
    library(rkeras)
    m <- readRDS(rds)
    list(predict(m[[1]], x), predict(m[[2]], x), m[[1]]$metrics_names)
  }, rds = rds, x = x)
  expect_identical(got[[1]], predict(model, x))
  expect_identical(got[[2]], p_untrained)
  expect_equal(got[[3]], c("loss", "accuracy"))
  # in this session: the handle restored by readRDS() is dead, the state rebuilds it
  back <- readRDS(rds)[[1]]
  expect_false(rkeras:::ptr_alive(get("ptr", envir = rkeras:::model_env(back))))
  expect_identical(predict(back, x), predict(model, x))
  # and training goes on exactly as it would have
  d <- toy_data(120, seed = 5)
  back %>% fit(d$x, d$y, epochs = 3, initial_epoch = 2, batch_size = 16, verbose = 0)
  model %>% fit(d$x, d$y, epochs = 3, initial_epoch = 2, batch_size = 16, verbose = 0)
  expect_identical(get_weights(back), get_weights(model))
})

test_that("the state follows set_weights() and train_on_batch()", {
  model <- trained_model()
  w <- get_weights(model)
  w[[2]][] <- 0.5
  set_weights(model, w)
  d <- toy_data(16, seed = 4)
  train_on_batch(model, d$x, d$y)
  back <- unserialize(serialize(model, NULL))
  expect_identical(get_weights(back), get_weights(model))
  # the state is an ordinary raw vector once serialized, in both serialization formats
  state <- get("state", envir = rkeras:::model_env(unserialize(serialize(model, NULL, version = 2))))
  expect_type(state, "raw")
  expect_identical(state, serialize_model(model))
  # save()/load() (workspaces) too
  f <- tempfile(fileext = ".RData")
  save(model, file = f)
  env <- new.env()
  load(f, envir = env)
  expect_identical(get_weights(env$model), get_weights(model))
})

test_that("saves are atomic: a failed or interrupted save keeps the old file", {
  model <- trained_model()
  other <- trained_model(seed = 99)
  x <- toy_data(10, seed = 3)$x
  dir <- tempfile()
  dir.create(dir)
  path <- file.path(dir, "model.rkeras")
  save_model(model, path)
  before <- readBin(path, "raw", file.size(path))
  withr::with_options(list(rkeras.save_fault = function(tmp) {
    expect_true(file.exists(tmp))
    stop("simulated disk failure")
  }), expect_error(save_model(other, path), "simulated disk failure"))
  expect_identical(readBin(path, "raw", file.size(path)), before)
  expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "model.rkeras")
  expect_identical(predict(load_model(path), x), predict(model, x))
  withr::with_options(list(rkeras.save_fault = function(tmp) stop("boom")),
                      expect_error(save_model_weights(other, path), "boom"))
  expect_identical(readBin(path, "raw", file.size(path)), before)
  # a real interrupt (SIGINT) during a save, in another process
  status <- in_fresh_r(function(path, model_bytes) {
    library(rkeras)
    m <- unserialize_model(model_bytes)
    options(rkeras.save_fault = function(tmp) {
      tools::pskill(Sys.getpid(), tools::SIGINT)
      Sys.sleep(2)
    })
    tryCatch({ save_model(m, path); "saved" }, interrupt = function(e) "interrupted")
  }, path = path, model_bytes = serialize_model(other))
  expect_equal(status, "interrupted")
  expect_identical(readBin(path, "raw", file.size(path)), before)
  expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "model.rkeras")
  # without faults the new model replaces the old one
  save_model(other, path)
  expect_identical(predict(load_model(path), x), predict(other, x))
})

test_that("overwrite = FALSE and bad targets give keras's errors", {
  model <- trained_model()
  path <- tempfile(fileext = ".rkeras")
  save_model(model, path)
  expect_rkeras_error(save_model(model, path, overwrite = FALSE), "already exists \\(pass overwrite = TRUE to force save\\)")
  expect_rkeras_error(save_model(model, file.path(tempfile(), "x.rkeras")), "does not exist")
  expect_rkeras_error(save_model(model, tempdir()), "is a directory")
  expect_rkeras_error(save_model("model", path), "must be an rkeras model")
})

test_that("truncated, damaged and foreign files give clear errors", {
  model <- trained_model()
  path <- tempfile(fileext = ".rkeras")
  save_model(model, path)
  bytes <- readBin(path, "raw", file.size(path))
  write <- function(b) {
    f <- tempfile()
    writeBin(b, f)
    f
  }
  expect_rkeras_error(load_model(write(bytes[1:100])), "truncated")
  expect_rkeras_error(load_model(write(bytes[seq_len(length(bytes) - 1)])), "truncated")
  bad <- bytes
  bad[length(bad) %/% 2] <- xor(bad[length(bad) %/% 2], as.raw(0x10))
  expect_rkeras_error(load_model(write(bad)), "damaged: checksum mismatch")
  expect_rkeras_error(load_model(write(raw(0))), "the file is empty")
  expect_rkeras_error(load_model(write(c(as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)), raw(40)))),
                      "HDF5")
  rds <- tempfile(fileext = ".rds")
  saveRDS(model, rds)
  expect_rkeras_error(load_model(rds), "readRDS")
  future <- bytes
  future[9] <- as.raw(2)
  expect_rkeras_error(load_model(write(future)), "newer version of rkeras")
  expect_rkeras_error(load_model(tempfile()), "no such file")
  expect_rkeras_error(unserialize_model(bytes[1:50]), "truncated")
  expect_rkeras_error(unserialize_model("not raw"), "raw vector")
  # the path is in the message
  f <- write(bytes[1:30])
  expect_error(load_model(f), f, fixed = TRUE)
  # a model whose saved state is damaged says so
  m <- trained_model()
  m$state <- bytes[1:100]
  m$ptr <- NULL
  expect_rkeras_error(predict(m, toy_data(2)$x), "cannot be restored from its saved state.*truncated")
})

test_that("a file written by format version 1 still loads", {
  path <- test_path("fixtures", "model-v1.rkeras")
  expected <- readRDS(test_path("fixtures", "model-v1-expected.rds"))
  model <- load_model(path)
  expect_equal(model$name, "fixture_v1")
  expect_equal(model$layers[[1]]$name, "pixels")
  expect_equal(model$metrics_names, c("loss", "accuracy"))
  expect_equal(model$optimizer$name, "rmsprop")
  expect_equal(predict(model, expected$x), expected$prediction, tolerance = 1e-6)
  expect_equal(get_weights(model), expected$weights, tolerance = 1e-7)
  # the optimizer state and random stream came back: training continues as it did
  model %>% fit(expected$x_train, expected$y_train, epochs = 3, initial_epoch = 2, batch_size = 8, verbose = 0)
  expect_equal(get_weights(model), expected$continued, tolerance = 1e-5)
})

test_that("save_model_weights()/load_model_weights() follow keras's matching rules", {
  src <- trained_model()
  path <- tempfile(fileext = ".rkeras")
  expect_true(save_model_weights(src, path))
  expect_rkeras_error(load_model(path), "only weights")
  # same layers without the dropout: matched in order of the layers with weights
  dst <- keras_model_sequential(input_shape = 4) %>% layer_dense(8, activation = "relu") %>%
    layer_dense(2, activation = "softmax")
  expect_identical(load_model_weights(dst, path), dst)
  expect_identical(get_weights(dst), get_weights(src))
  # whole-model files work too
  dst2 <- keras_model_sequential(input_shape = 4) %>% layer_dense(8) %>% layer_dense(2)
  p2 <- tempfile()
  save_model(src, p2)
  load_model_weights(dst2, p2)
  expect_identical(get_weights(dst2), get_weights(src))
  # mismatch: an error naming the layer and shapes, model unchanged
  wrong <- keras_model_sequential(input_shape = 4) %>% layer_dense(8) %>% layer_dense(3, name = "out")
  before <- get_weights(wrong)
  expect_rkeras_error(load_model_weights(wrong, path), "\"out\".*\\(8, 3\\).*\\(8, 2\\)")
  expect_identical(get_weights(wrong), before)
  # by name with skip_mismatch: the others load, with a warning
  names <- vapply(src$layers, function(l) l$name, "")
  renamed <- keras_model_sequential(input_shape = 4) %>% layer_dense(8, name = names[1]) %>%
    layer_dense(3, name = names[3])
  expect_warning(load_model_weights(renamed, path, by_name = TRUE, skip_mismatch = TRUE), "Skipping loading")
  expect_identical(get_weights(renamed)[1:2], get_weights(src)[1:2])
})

test_that("get_weights() gives keras order and shapes; set_weights() checks every shape", {
  model <- trained_model()
  w <- get_weights(model)
  expect_length(w, 4)
  expect_equal(dim(w[[1]]), c(4L, 8L))
  expect_equal(dim(w[[2]]), 8L)
  expect_equal(dim(w[[3]]), c(8L, 2L))
  expect_equal(dim(w[[4]]), 2L)
  x <- toy_data(5, seed = 1)$x
  manual <- function(w) {
    h <- pmax(sweep(x %*% w[[1]], 2, w[[2]], "+"), 0)
    z <- sweep(h %*% w[[3]], 2, w[[4]], "+")
    exp(z) / rowSums(exp(z))
  }
  expect_equal(predict(model, x), manual(w), tolerance = 1e-5)
  w2 <- lapply(w, function(a) a * 0 + 0.25)
  expect_invisible(set_weights(model, w2))
  expect_equal(get_weights(model), w2)
  # a plain vector is fine for a 1-d weight
  w2[[2]] <- as.numeric(w2[[2]])
  set_weights(model, w2)
  names <- vapply(model$layers, function(l) l$name, "")
  expect_rkeras_error(set_weights(model, w[1:3]), "has 4 weight arrays, 3 were given")
  bad <- w
  bad[[3]] <- t(bad[[3]])
  expect_rkeras_error(set_weights(model, bad),
                      sprintf("weights\\[\\[3\\]\\] \\(%s/kernel\\) must have shape \\(8, 2\\), got shape \\(2, 8\\)", names[3]))
  bad <- w
  bad[[1]] <- as.numeric(bad[[1]])
  expect_rkeras_error(set_weights(model, bad), "must have shape \\(4, 8\\), got shape \\(32\\)")
  bad <- w
  bad[[4]] <- c("a", "b")
  expect_rkeras_error(set_weights(model, bad), "numeric array")
  bad <- w
  bad[[2]][3] <- NA
  expect_error(set_weights(model, bad), "NA")
  expect_equal(get_weights(model)[[1]], w2[[1]])
  # a layer's weights
  layer <- get_layer(model, index = -1)
  expect_equal(layer$get_weights(), w2[3:4])
  set_weights(layer, w[3:4])
  expect_equal(get_weights(model)[3:4], w[3:4])
  expect_equal(lapply(get_weights(model)[1:2], as.numeric), lapply(w2[1:2], as.numeric))
})

test_that("freeze_weights() takes effect at compile(): frozen layers do not train", {
  d <- toy_data(120, seed = 5)
  model <- trained_model(dropout = 0)
  names <- vapply(model$layers, function(l) l$name, "")
  freeze_weights(model, to = 1)
  expect_false(get_layer(model, index = 1)$trainable)
  expect_true(get_layer(model, index = 2)$trainable)
  txt <- format(model)
  expect_true("Trainable params: 18" %in% txt && "Non-trainable params: 40" %in% txt)
  expect_equal(count_params(model), 58)
  expect_length(get_weights(model, trainable = FALSE), 2)
  expect_length(get_weights(model, trainable = TRUE), 2)
  # not compiled again: still trains everything (keras semantics)
  w0 <- get_weights(model)
  model %>% fit(d$x, d$y, epochs = 1, verbose = 0)
  expect_false(identical(get_weights(model)[[1]], w0[[1]]))
  model %>% compile(optimizer = "adam", loss = "categorical_crossentropy")
  w1 <- get_weights(model)
  model %>% fit(d$x, d$y, epochs = 2, verbose = 0)
  w2 <- get_weights(model)
  expect_identical(w2[1:2], w1[1:2])
  expect_false(identical(w2[[3]], w1[[3]]))
  # the frozen state survives saving
  loaded <- unserialize_model(serialize_model(model))
  expect_false(get_layer(loaded, index = 1)$trainable)
  # unfreeze everything, recompile: all train again
  unfreeze_weights(model)
  expect_true("Non-trainable params: 0" %in% format(model))
  model %>% compile(optimizer = "adam", loss = "categorical_crossentropy")
  model %>% fit(d$x, d$y, epochs = 1, verbose = 0)
  expect_false(identical(get_weights(model)[[1]], w2[[1]]))
  # ranges: inside gets the state, outside the opposite
  m <- keras_model_sequential(input_shape = 4) %>% layer_dense(4, name = "a") %>% layer_dense(4, name = "b") %>%
    layer_dense(4, name = "c") %>% layer_dense(2, name = "d")
  flags <- function(m) vapply(m$layers, function(l) l$trainable, TRUE)
  freeze_weights(m, from = "b", to = -2)
  expect_equal(flags(m), c(TRUE, FALSE, FALSE, TRUE))
  unfreeze_weights(m, from = 3)
  expect_equal(flags(m), c(FALSE, FALSE, TRUE, TRUE))
  freeze_weights(m)
  expect_equal(flags(m), rep(FALSE, 4))
  expect_false(m$trainable)
  m$trainable <- TRUE
  expect_equal(flags(m), rep(TRUE, 4))
  # layer$trainable <- FALSE, directly or through model$layers
  layer <- get_layer(m, "b")
  layer$trainable <- FALSE
  expect_false(get_layer(m, "b")$trainable)
  m$layers[[1]]$trainable <- FALSE
  expect_equal(flags(m), c(FALSE, FALSE, TRUE, TRUE))
  freeze_weights(get_layer(m, "d"))
  expect_equal(flags(m), c(FALSE, FALSE, TRUE, FALSE))
  expect_rkeras_error(layer$units <- 3, "only `trainable`")
})

test_that("get_layer() follows keras's index rules", {
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(8, name = "first") %>%
    layer_dropout(0.5, name = "mid") %>% layer_dense(2, name = "last")
  expect_equal(get_layer(model, index = 1)$name, "first")
  expect_equal(get_layer(model, index = 3)$name, "last")
  expect_equal(get_layer(model, index = -1)$name, "last")
  expect_equal(get_layer(model, index = -3)$name, "first")
  expect_equal(get_layer(model, name = "mid")$class_name, "Dropout")
  expect_equal(get_layer(model, name = "mid", index = 1)$name, "first")
  expect_rkeras_error(get_layer(model, index = 0), "`index` for get_layer() is 1-based (0 was passed as the index)",
                      fixed = TRUE)
  expect_rkeras_error(get_layer(model, index = 4), "at index 4 but model only has 3 layers")
  expect_rkeras_error(get_layer(model, index = -4), "at index -4")
  expect_rkeras_error(get_layer(model, name = "nope"), "No such layer: nope")
  expect_rkeras_error(get_layer(model), "Provide either a layer name or layer index")
  layer <- get_layer(model, "first")
  expect_equal(layer$units, 8)
  expect_equal(layer$input_shape, list(NULL, 4L))
  expect_equal(layer$output_shape, list(NULL, 8L))
  expect_output(print(layer), "<Dense layer \"first\">")
  # functional models list their input layer first
  inputs <- layer_input(shape = 3, name = "in")
  f <- keras_model(inputs, inputs %>% layer_dense(2, name = "out"))
  expect_equal(get_layer(f, index = 1)$class_name, "InputLayer")
  expect_equal(get_layer(f, index = 2)$name, "out")
  expect_length(f$layers, 2)
})

test_that("pop_layer() removes the last layer and keeps the other weights", {
  model <- trained_model(dropout = 0)
  w <- get_weights(model)
  expect_invisible(pop_layer(model))
  expect_length(model$layers, 1)
  expect_equal(model$output_shape, list(NULL, 8L))
  expect_identical(get_weights(model), w[1:2])
  pop_layer(model)
  expect_length(model$layers, 0)
  expect_rkeras_error(pop_layer(model), "There are no layers in the model.")
})

test_that("clone_model() has the same architecture, fresh weights and no compile", {
  model <- trained_model()
  clone <- clone_model(model)
  expect_equal(vapply(clone$layers, function(l) l$name, ""), vapply(model$layers, function(l) l$name, ""))
  expect_equal(count_params(clone), count_params(model))
  expect_null(clone$optimizer)
  expect_false(isTRUE(all.equal(get_weights(clone)[[1]], get_weights(model)[[1]])))
  expect_equal(get_weights(clone)[[2]], array(0, 8))
  w_before <- get_weights(model)
  set_weights(clone, lapply(get_weights(clone), function(a) a + 1))
  expect_identical(get_weights(model), w_before)
})

test_that("the keras `$` idioms work", {
  k_clear_session()
  model <- keras_model_sequential(input_shape = 784, name = "mlp") %>% layer_dense(256, activation = "relu") %>%
    layer_dropout(0.4) %>% layer_dense(10, activation = "softmax")
  expect_equal(model$name, "mlp")
  expect_equal(model$input_shape, list(NULL, 784L))
  expect_equal(model$output_shape, list(NULL, 10L))
  expect_equal(vapply(model$layers, function(l) l$name, ""), c("dense", "dropout", "dense_1"))
  expect_equal(model$layers[[1]]$name, "dense")
  expect_equal(model$metrics_names, character(0))
  expect_null(model$optimizer)
  model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(learning_rate = 0.002),
                    metrics = c("accuracy"))
  expect_equal(model$metrics_names, c("loss", "accuracy"))
  expect_s3_class(model$optimizer, "rkeras_optimizer")
  expect_equal(model$optimizer$learning_rate, 0.002, tolerance = 1e-7)
  expect_length(model$weights, 4)
  expect_length(model$trainable_weights, 4)
  expect_length(model$non_trainable_weights, 0)
  expect_equal(model$count_params(), 203530)
  expect_equal(model$get_layer("dense_1")$output_shape, list(NULL, 10L))
  expect_length(model$get_weights(), 4)
  expect_rkeras_error(model$output_shape <- 3, "cannot be set")
})
