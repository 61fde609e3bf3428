#!/usr/bin/env Rscript
# rkeras on the keras-for-R `mnist_cnn` example (conv 32 3x3 relu, conv 64 3x3 relu, max-pool 2,
# dropout .25, flatten, dense 128 relu, dropout .5, dense 10 softmax; Adadelta lr 1, batch 128,
# validation_split 0.2), on the first --rows Fashion-MNIST training images, as
# bench/anchors/keras_zoo.py --model mnist_cnn --rows N runs it in Keras.
#
#   Rscript bench/cnn.R [--rows 6000] [--epochs 3] [--data DIR] [--out FILE] [--seed 1]
#                       [--no-threads] [--predict-reps 3]
#
# One `RESULT {json}` line: seconds per epoch (median over epochs 2..N), the first epoch,
# validation accuracy, RSS growth during fit(), predict() on the 10,000 test images
# (median of --predict-reps after a warm-up), and (unless --no-threads) the epoch time with
# one thread against two (options(rkeras.threads = 1)).

t_process0 <- proc.time()[["elapsed"]]
bench_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench_dir, "common.R"))

args <- model_bench_args()

suppressPackageStartupMessages(library(rkeras))
fashion <- if (is.null(args$data)) dataset_fashion_mnist() else dataset_fashion_mnist(path = args$data)
n <- min(args$rows, dim(fashion$train$x)[1])
x_train <- array_reshape(fashion$train$x[seq_len(n), , ] / 255, c(n, 28, 28, 1))
y_train <- to_categorical(fashion$train$y[seq_len(n)], 10)
x_test <- array_reshape(fashion$test$x / 255, c(dim(fashion$test$x)[1], 28, 28, 1))


emit(c(list(model = "mnist_cnn"), measure_model(mnist_cnn, x_train, y_train, 128, x_test, args)))
