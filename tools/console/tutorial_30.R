# The README tutorial, smaller (6,000 Fashion-MNIST rows, a 784-64-10 MLP) for 30 epochs with
# fit()'s defaults (verbose = "auto"): tools/console/log-size.sh runs it as `Rscript ... > log`
# and counts the bytes and control characters of the log (issue 17).
library(rkeras)
set.seed(1)
mnist <- dataset_fashion_mnist()
n <- 6000
x_train <- array_reshape(mnist$train$x[1:n, , ], c(n, 784)) / 255
y_train <- to_categorical(mnist$train$y[1:n], 10)
x_test <- array_reshape(mnist$test$x[1:1000, , ], c(1000, 784)) / 255
y_test <- to_categorical(mnist$test$y[1:1000], 10)
model <- keras_model_sequential() %>%
  layer_dense(units = 64, activation = "relu", input_shape = c(784)) %>%
  layer_dropout(rate = 0.3) %>%
  layer_dense(units = 10, activation = "softmax")
model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(), metrics = c("accuracy"))
history <- model %>% fit(x_train, y_train, epochs = 30, batch_size = 128, validation_split = 0.2,
                         verbose = if (nzchar(Sys.getenv("VERBOSE"))) as.integer(Sys.getenv("VERBOSE")) else "auto")
print(history)
score <- model %>% evaluate(x_test, y_test, verbose = 1)
predictions <- model %>% predict(x_test[1:10, ], verbose = 1)
