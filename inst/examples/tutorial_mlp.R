# The tutorial's first script on Fashion-MNIST (Debian's dataset-fashion-mnist package,
# so it runs offline): 5 epochs of the 784-256-128-10 MLP.
library(rkeras)
mnist <- dataset_fashion_mnist()
x_train <- mnist$train$x
y_train <- mnist$train$y
x_test <- mnist$test$x
y_test <- mnist$test$y

x_train <- array_reshape(x_train, c(nrow(x_train), 784))
x_test <- array_reshape(x_test, c(nrow(x_test), 784))
x_train <- x_train / 255
x_test <- x_test / 255
y_train <- to_categorical(y_train, 10)
y_test <- to_categorical(y_test, 10)

model <- keras_model_sequential()
model %>%
  layer_dense(units = 256, activation = 'relu', input_shape = c(784)) %>%
  layer_dropout(rate = 0.4) %>%
  layer_dense(units = 128, activation = 'relu') %>%
  layer_dropout(rate = 0.3) %>%
  layer_dense(units = 10, activation = 'softmax')
summary(model)

model %>% compile(
  loss = 'categorical_crossentropy',
  optimizer = optimizer_rmsprop(),
  metrics = c('accuracy'))

history <- model %>% fit(
  x_train, y_train,
  epochs = 5, batch_size = 128,
  validation_split = 0.2, verbose = 2
)
print(history)
score <- model %>% evaluate(x_test, y_test, verbose = 0)
cat(sprintf("Test loss %.4f, test accuracy %.4f\n", score[["loss"]], score[["accuracy"]]))
