# Losses from logits (`from_logits = TRUE`), checked by hand and against the softmax/sigmoid path.

softmax_rows <- function(z) { e <- exp(z - apply(z, 1, max)); e / rowSums(e) }

test_that("cross-entropies from logits are -log softmax and the logistic loss", {
  z <- rbind(c(1, 2, 0.5), c(-1, 0, 3))
  y <- rbind(c(0, 1, 0), c(1, 0, 0))
  want <- -log(rowSums(softmax_rows(z) * y))
  expect_equal(loss_categorical_crossentropy(y, z, from_logits = TRUE), want, tolerance = 1e-6)
  expect_equal(loss_sparse_categorical_crossentropy(matrix(c(1, 0)), z, from_logits = TRUE), want, tolerance = 1e-6)
  zb <- rbind(c(2, -500))
  yb <- rbind(c(1, 0))
  expect_equal(loss_binary_crossentropy(yb, zb, from_logits = TRUE), mean(c(log1p(exp(-2)), log1p(exp(-500)))),
               tolerance = 1e-6)
  l <- loss_binary_crossentropy(from_logits = TRUE)
  expect_true(attr(l, "rkeras_from_logits"))
  expect_output(print(l), "binary_crossentropy \\(from logits\\)")
  expect_error(loss_categorical_crossentropy(from_logits = NA), "`from_logits` must be TRUE or FALSE")
})

test_that("a linear output with from_logits trains like a softmax output", {
  d <- toy_data(64)
  build <- function(act, loss) {
    set.seed(3)
    m <- keras_model_sequential(input_shape = 4) %>% layer_dense(8, activation = "relu") %>%
      layer_dense(2, activation = act)
    compile(m, optimizer = "adam", loss = loss, metrics = "accuracy")
    m
  }
  a <- build("linear", loss_categorical_crossentropy(from_logits = TRUE))
  b <- build("softmax", "categorical_crossentropy")
  set.seed(4); ha <- fit(a, d$x, d$y, epochs = 3, batch_size = 16, verbose = 0)
  set.seed(4); hb <- fit(b, d$x, d$y, epochs = 3, batch_size = 16, verbose = 0)
  expect_equal(ha$metrics$loss, hb$metrics$loss, tolerance = 1e-5)
  expect_equal(ha$metrics$accuracy, hb$metrics$accuracy)
  expect_equal(get_weights(a), get_weights(b), tolerance = 1e-5)
  expect_equal(softmax_rows(predict(a, d$x)), predict(b, d$x), tolerance = 1e-5)
  # the same for sigmoid and binary cross-entropy with one unit
  yb <- d$y[, 2, drop = FALSE]
  set.seed(5); c1 <- keras_model_sequential(input_shape = 4) %>% layer_dense(1)
  compile(c1, optimizer = "sgd", loss = loss_binary_crossentropy(from_logits = TRUE))
  set.seed(5); c2 <- keras_model_sequential(input_shape = 4) %>% layer_dense(1, activation = "sigmoid")
  compile(c2, optimizer = "sgd", loss = "binary_crossentropy")
  set.seed(6); h1 <- fit(c1, d$x, yb, epochs = 2, verbose = 0)
  set.seed(6); h2 <- fit(c2, d$x, yb, epochs = 2, verbose = 0)
  expect_equal(h1$metrics$loss, h2$metrics$loss, tolerance = 1e-5)
  expect_equal(get_weights(c1), get_weights(c2), tolerance = 1e-5)
})

test_that("from_logits survives saving, saveRDS and HDF5, and is refused for other losses", {
  d <- toy_data(32)
  m <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
  compile(m, optimizer = "adam", loss = loss_sparse_categorical_crossentropy(from_logits = TRUE))
  fit(m, d$x, d$cls, epochs = 1, verbose = 0)
  s <- evaluate(m, d$x, d$cls, verbose = 0)$loss
  expect_equal(s, mean(loss_sparse_categorical_crossentropy(matrix(d$cls), predict(m, d$x), from_logits = TRUE)),
               tolerance = 1e-5)
  f <- tempfile(fileext = ".rkeras")
  save_model(m, f)
  expect_equal(evaluate(load_model(f), d$x, d$cls, verbose = 0)$loss, s, tolerance = 1e-6)
  h5 <- tempfile(fileext = ".h5")
  save_model_hdf5(m, h5)
  expect_equal(evaluate(load_model_hdf5(h5), d$x, d$cls, verbose = 0)$loss, s, tolerance = 1e-6)
  r <- tempfile(fileext = ".rds")
  saveRDS(m, r)
  m2 <- readRDS(r)
  pop_layer(m2)
  m2 %>% layer_dense(2)
  expect_equal(evaluate(m2, d$x, d$cls, verbose = 0)$loss,
               mean(loss_sparse_categorical_crossentropy(matrix(d$cls), predict(m2, d$x), from_logits = TRUE)),
               tolerance = 1e-5)
  expect_error(loss_mean_squared_error(from_logits = TRUE), "unknown argument `from_logits`")
})
