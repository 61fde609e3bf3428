# layer_embedding(): Keras 3 forward values, parameter counts, learning, bad ids, save/load.

embedding_fixture <- function() {
  jsonlite::fromJSON(file.path(fixture_dir("keras", "embedding"), "embedding.json"), simplifyVector = TRUE,
                     simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
}

# a row-major {shape, data} array of the fixture as an R array
from_row_major <- function(a) {
  shape <- as.integer(a$shape)
  if (length(shape) == 1) return(a$data)
  aperm(array(a$data, rev(shape)), rev(seq_along(shape)))
}

imdb_synthetic <- function(n, maxlen = 400, feats = 5000) {
  # keras_zoo.py's task: ids in 1..feats-1 without 7; label 1 rows get one 7 somewhere
  x <- matrix(sample.int(feats - 1, n * maxlen, replace = TRUE), n, maxlen)
  x[x == 7] <- 8L
  y <- as.numeric(runif(n) < 0.5)
  pos <- sample.int(maxlen, n, replace = TRUE)
  x[cbind(which(y == 1), pos[y == 1])] <- 7L
  list(x = x, y = y)
}

imdb_cnn <- function(maxlen = 400) {
  keras_model_sequential() %>%
    layer_embedding(5000, 50, input_length = maxlen) %>%
    layer_dropout(0.2) %>%
    layer_conv_1d(250, 3, padding = "valid", activation = "relu", strides = 1) %>%
    layer_global_max_pooling_1d() %>%
    layer_dense(250) %>%
    layer_dropout(0.2) %>%
    layer_activation("relu") %>%
    layer_dense(1, activation = "sigmoid")
}

test_that("the forward values equal Keras 3's on fixed ids and weights", {
  f <- embedding_fixture()
  ids <- from_row_major(f$forward$ids)
  table <- from_row_major(f$forward$embeddings)
  m <- keras_model_sequential(input_shape = 5) %>% layer_embedding(7, 3)
  set_weights(m, list(table))
  want <- from_row_major(f$forward$output)
  expect_equal(dim(predict(m, ids)), c(4L, 5L, 3L))
  expect_lt(max(abs(predict(m, ids) - want)), 1e-6)
  # ids as integers or doubles give the same
  storage.mode(ids) <- "integer"
  expect_lt(max(abs(predict(m, ids) - want)), 1e-6)
  # row i + 1 of the table for id i, by hand
  expect_equal(predict(m, matrix(c(0, 6, 3, 3, 1), 1))[1, , ], table[c(1, 7, 4, 4, 2), ], tolerance = 1e-6)
})

test_that("a Keras 3 HDF5 model with an embedding loads and predicts as Keras did", {
  f <- embedding_fixture()
  m <- suppressWarnings(load_model_hdf5(file.path(fixture_dir("keras", "embedding"), "embedding_model.h5")))
  ids <- from_row_major(f$forward$ids)
  expect_lt(max(abs(predict(m, ids) - from_row_major(f$model$predictions))), 1e-6)
  w <- get_weights(m)
  expect_equal(dim(w[[1]]), c(7L, 3L))
  expect_equal(w[[1]], from_row_major(f$forward$embeddings), tolerance = 1e-7)
})

test_that("the imdb_cnn model has Keras' shapes and parameter counts", {
  m <- imdb_cnn()
  out <- capture.output(summary(m))
  expect_true(any(grepl("(Embedding)", out, fixed = TRUE) & grepl("(None, 400, 50)", out, fixed = TRUE) &
                    grepl("250000", out, fixed = TRUE)))
  expect_equal(count_params(m), 350751)
  # Keras: Embedding 250,000, Conv1D 37,750, Dense 62,750 and 251
  expect_equal(vapply(get_weights(m), length, 1L), c(250000L, 37500L, 250L, 62500L, 250L, 250L, 1L))
  w <- get_weights(m)[[1]]
  expect_true(all(abs(w) <= 0.05) && max(abs(w)) > 0.049)
})

test_that("the imdb_cnn model learns keras_zoo.py's synthetic task (token 7 occurs) on a few hundred rows", {
  set.seed(1)
  d <- imdb_synthetic(600)
  m <- imdb_cnn()
  m %>% compile(loss = "binary_crossentropy", optimizer = "adam", metrics = "accuracy")
  h <- m %>% fit(d$x, d$y, batch_size = 32, epochs = 8, validation_split = 0.2, verbose = 0)
  expect_gte(tail(h$metrics$val_accuracy, 1), 0.9)
  expect_lt(tail(h$metrics$loss, 1), 0.3)
})

test_that("bad ids give R errors naming the value, row and step", {
  m <- keras_model_sequential(input_shape = 4) %>% layer_embedding(10, 2, name = "emb") %>% layer_flatten() %>%
    layer_dense(1)
  m %>% compile(loss = "mse", optimizer = "sgd")
  x <- matrix(c(0, 1, 2, 3, 4, 5, 6, 9), 2, byrow = TRUE)
  y <- c(0, 1)
  expect_silent(fit(m, x, y, verbose = 0))
  bad <- x; bad[2, 3] <- 10
  msg <- "emb (Embedding): x[row 2, step 3] is 10, outside [0, 10); ids must be whole numbers from 0 to 9 (input_dim = 10)"
  expect_error(predict(m, bad), msg, fixed = TRUE)
  expect_error(fit(m, bad, y, verbose = 0), msg, fixed = TRUE)
  expect_error(evaluate(m, bad, y, verbose = 0), msg, fixed = TRUE)
  bad <- x; bad[1, 2] <- 1.5
  expect_error(predict(m, bad), "emb (Embedding): x[row 1, step 2] is 1.5, not an integer", fixed = TRUE)
  bad <- x; bad[1, 4] <- -1
  expect_error(predict(m, bad), "x[row 1, step 4] is -1, outside [0, 10)", fixed = TRUE)
  bad <- x; bad[2, 1] <- NA
  expect_error(predict(m, bad), "x contains NA, NaN or Inf values (first at row 2, column 1)", fixed = TRUE)
  # validation data and generator batches are checked too
  bad <- x; bad[2, 1] <- 11
  expect_error(fit(m, x, y, validation_data = list(bad, y), verbose = 0), "emb (Embedding)", fixed = TRUE)
  gen <- function() list(bad, y)
  expect_error(fit(m, gen, steps_per_epoch = 1, epochs = 1, verbose = 0), "x[row 2, step 1] is 11", fixed = TRUE)
})

test_that("layer_embedding() checks its arguments", {
  expect_error(layer_embedding(input_dim = 10, output_dim = 2, mask_zero = NA),
               "`mask_zero` must be TRUE or FALSE", fixed = TRUE)
  expect_true(layer_embedding(input_dim = 10, output_dim = 2, mask_zero = TRUE)$mask_zero)
  expect_error(layer_embedding(input_dim = 0, output_dim = 2), "`input_dim` must be a whole number", fixed = TRUE)
  expect_error(layer_embedding(input_dim = 2^25, output_dim = 2), "`input_dim`", fixed = TRUE)
  expect_error(layer_embedding(input_dim = 10, output_dim = 2.5), "`output_dim`", fixed = TRUE)
  expect_error(layer_embedding(input_dim = 10, output_dim = 2, embeddings_regularizer = "l2"),
               "`embeddings_regularizer` not supported yet", fixed = TRUE)
  expect_error(layer_embedding(input_dim = 10, output_dim = 2, sparse = TRUE), "`sparse = TRUE` is not supported")
  expect_error(layer_embedding(input_dim = 10, output_dim = 2, inptu_length = 3), "unknown argument `inptu_length`")
  expect_error(layer_embedding(input_dim = 10, output_dim = 2, weights = list(matrix(0, 10, 2)), name = "glove"),
               "set_weights(get_layer(model, \"glove\"), list(matrix))", fixed = TRUE)
  # a pretrained table goes in with set_weights() on the layer
  m <- keras_model_sequential(input_shape = 3) %>% layer_embedding(10, 2, name = "glove", trainable = FALSE)
  table <- matrix(seq_len(20) / 10, 10, 2)
  set_weights(get_layer(m, "glove"), list(table))
  expect_equal(predict(m, matrix(c(9, 0, 4), 1))[1, , ], table[c(10, 1, 5), ], tolerance = 1e-6)
  # input_length sets the input shape; without it the shape comes from the data
  m <- keras_model_sequential() %>% layer_embedding(10, 2, input_length = 3)
  expect_equal(dim(predict(m, matrix(0, 2, 3))), c(2L, 3L, 2L))
  m <- keras_model_sequential() %>% layer_embedding(10, 2, embeddings_initializer = "zeros")
  expect_equal(predict(m, matrix(1, 2, 5)), array(0, c(2, 5, 2)))
  m <- keras_model_sequential() %>%
    layer_embedding(10, 2, embeddings_initializer = initializer_random_uniform(1, 2), input_shape = 4)
  expect_true(all(get_weights(m)[[1]] >= 1))
})

test_that("embedding models survive saving and loading (HDF5 in both layouts, .keras, saveRDS)", {
  set.seed(2)
  m <- keras_model_sequential(input_shape = 6) %>% layer_embedding(20, 4) %>% layer_conv_1d(3, 2) %>%
    layer_global_max_pooling_1d() %>% layer_dense(1, activation = "sigmoid")
  m %>% compile(loss = "binary_crossentropy", optimizer = "adam")
  x <- matrix(sample(0:19, 60, TRUE), 10)
  fit(m, x, as.numeric(runif(10) < 0.5), epochs = 1, verbose = 0)
  want <- predict(m, x)
  for (v in c(3, 2)) {
    f <- tempfile(fileext = ".h5")
    save_model_hdf5(m, f, keras_version = v)
    back <- suppressWarnings(load_model_hdf5(f))
    expect_identical(predict(back, x), want)
    expect_identical(get_weights(back), get_weights(m))
    unlink(f)
  }
  f2 <- tempfile(fileext = ".keras")
  on.exit(unlink(f2))
  save_model(m, f2)
  expect_identical(predict(load_model(f2), x), want)
  f3 <- tempfile(fileext = ".rds")
  on.exit(unlink(f3), add = TRUE)
  saveRDS(m, f3)
  expect_identical(predict(readRDS(f3), x), want)
})

test_that("real Keras loads rkeras's embedding HDF5 files and predicts the same (optional)", {
  keras_pythons()
  set.seed(4)
  m <- keras_model_sequential(input_shape = 6) %>% layer_embedding(20, 4) %>% layer_conv_1d(3, 2) %>%
    layer_global_max_pooling_1d() %>% layer_dense(1, activation = "sigmoid")
  m %>% compile(loss = "binary_crossentropy", optimizer = "adam")
  x <- matrix(sample(0:19, 60, TRUE), 10)
  fit(m, x, as.numeric(runif(10) < 0.5), epochs = 1, verbose = 0)
  expect_keras_loads(m, x)
})
