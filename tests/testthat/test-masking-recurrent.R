# Masks reaching recurrent layers through the graph: a mask_zero embedding (or layer_masking())
# makes an RNN skip padded steps, so a padded sequence gives what the unpadded one gives (Keras
# semantics: a masked step keeps the state; with return_sequences the mask goes on, and a masked
# global average pooling then averages the steps that count).

unpadded_prediction <- function(m, build, row) {
  ids <- row[row != 0]
  m2 <- build(length(ids), FALSE)
  set_weights(m2, get_weights(m))
  predict(m2, matrix(ids, 1), verbose = 0)
}

test_that("a mask_zero embedding makes SimpleRNN, LSTM and GRU skip pre- and post-padding", {
  seqs <- list(c(3, 4, 5), c(1, 2, 3, 4, 5, 6), 7, c(9, 8))
  for (layer in list(layer_simple_rnn, layer_lstm, layer_gru)) {
    for (padding in c("pre", "post")) {
      build <- function(len, mask) {
        keras_model_sequential(input_shape = len) %>% layer_embedding(10, 3, mask_zero = mask) %>% layer(units = 4)
      }
      set.seed(2)
      m <- build(6, TRUE)
      x <- pad_sequences(seqs, maxlen = 6, padding = padding)
      p <- predict(m, x, verbose = 0)
      for (i in seq_along(seqs))
        expect_equal(p[i, , drop = FALSE], unpadded_prediction(m, build, x[i, ]), tolerance = 1e-6,
                     info = paste(padding, i))
      # without the mask the padding counts
      m0 <- build(6, FALSE)
      set_weights(m0, get_weights(m))
      expect_gt(max(abs(predict(m0, x, verbose = 0) - p)), 1e-3)
    }
  }
})

test_that("return_sequences passes the mask on: masked pooling averages only the real steps", {
  build <- function(len, mask) {
    keras_model_sequential(input_shape = len) %>% layer_embedding(12, 4, mask_zero = mask) %>%
      layer_lstm(5, return_sequences = TRUE) %>% layer_global_average_pooling_1d() %>% layer_dense(2)
  }
  set.seed(3)
  m <- build(7, TRUE)
  x <- pad_sequences(list(c(1, 2, 3), c(4, 5, 6, 7, 8, 9, 10), c(11, 2)), maxlen = 7, padding = "post")
  p <- predict(m, x, verbose = 0)
  for (i in 1:3) expect_equal(p[i, , drop = FALSE], unpadded_prediction(m, build, x[i, ]), tolerance = 1e-6)
})

test_that("a masked recurrent model trains, and its loss ignores the padding", {
  set.seed(4)
  n <- 400
  lens <- sample(2:10, n, TRUE)
  seqs <- lapply(lens, function(l) sample(1:20, l, TRUE))
  y <- as.numeric(vapply(seqs, function(s) 7 %in% s, TRUE))
  x <- pad_sequences(seqs, maxlen = 10)
  m <- keras_model_sequential(input_shape = 10) %>% layer_embedding(21, 8, mask_zero = TRUE) %>%
    layer_gru(16) %>% layer_dense(1, activation = "sigmoid")
  m %>% compile(optimizer = optimizer_adam(0.01), loss = "binary_crossentropy", metrics = "accuracy")
  h <- fit(m, x, y, epochs = 15, batch_size = 32, verbose = 0)
  expect_gt(utils::tail(h$metrics$accuracy, 1), 0.9)
})
