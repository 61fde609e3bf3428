# The keras-for-R `mnist_cnn.R` example, run as written (on the 8,000-image MNIST subset in
# tests/fixtures/mnist instead of the full download): it must reach Keras' accuracy.

test_that("the mnist_cnn example reaches 0.97 test accuracy in 12 epochs on the MNIST subset", {
  batch_size <- 128
  num_classes <- 10
  epochs <- 12
  img_rows <- 28
  img_cols <- 28

  mnist <- dataset_mnist(path = mnist_subset_dir())
  x_train <- mnist$train$x
  y_train <- mnist$train$y
  x_test <- mnist$test$x
  y_test <- mnist$test$y

  x_train <- array_reshape(x_train, c(nrow(x_train), img_rows, img_cols, 1))
  x_test <- array_reshape(x_test, c(nrow(x_test), img_rows, img_cols, 1))
  input_shape <- c(img_rows, img_cols, 1)
  x_train <- x_train / 255
  x_test <- x_test / 255
  y_train <- to_categorical(y_train, num_classes)
  y_test <- to_categorical(y_test, num_classes)

  set.seed(1)
  model <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu", input_shape = input_shape) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_dropout(rate = 0.25) %>%
    layer_flatten() %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = num_classes, activation = "softmax")
  model %>% compile(
    loss = loss_categorical_crossentropy,
    optimizer = optimizer_adadelta(learning_rate = 1.0),
    metrics = c("accuracy")
  )
  expect_equal(count_params(model), 1199882)

  history <- model %>% fit(x_train, y_train, batch_size = batch_size, epochs = epochs, validation_split = 0.2,
                           verbose = 0)
  scores <- model %>% evaluate(x_test, y_test, verbose = 0)
  expect_length(history$metrics$val_accuracy, epochs)
  expect_gte(scores[["accuracy"]], 0.97)
  # the loss fell steadily: the last epoch's training loss is a fraction of the first's
  expect_lt(tail(history$metrics$loss, 1), history$metrics$loss[[1]] / 3)
})
