# The tutorial's first script, unchanged but for the data source, on the real MNIST subset.

test_that("the tutorial's MNIST script reaches >= 0.95 test accuracy after 30 epochs", {
  dir <- mnist_subset_dir()
  set.seed(2018)
  mnist <- dataset_mnist(path = dir)
  x_train <- mnist$train$x
  y_train <- mnist$train$y
  x_test <- mnist$test$x
  y_test <- mnist$test$y

  # reshape
  x_train <- array_reshape(x_train, c(nrow(x_train), 784))
  x_test <- array_reshape(x_test, c(nrow(x_test), 784))
  # rescale
  x_train <- x_train / 255
  x_test <- x_test / 255

  # one-hot encoding the label
  y_train <- to_categorical(y_train, 10)
  y_test <- to_categorical(y_test, 10)

  # define the computational graph
  model <- keras_model_sequential()
  model %>%
    layer_dense(units = 256, activation = 'relu', input_shape = c(784)) %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = 128, activation = 'relu') %>%
    layer_dropout(rate = 0.3) %>%
    layer_dense(units = 10, activation = 'softmax')

  # compile model
  model %>% compile(
  loss = 'categorical_crossentropy',
  optimizer = optimizer_rmsprop(),
  metrics = c('accuracy'))

  # model training
  history <- model %>% fit(
    x_train, y_train,
    epochs = 30, batch_size = 128,
    validation_split = 0.2
  )

  expect_length(history$metrics$val_accuracy, 30)
  score <- model %>% evaluate(x_test, y_test, verbose = 0)
  expect_gte(score[["accuracy"]], 0.95)
  expect_lt(score[["loss"]], 0.3)
})
