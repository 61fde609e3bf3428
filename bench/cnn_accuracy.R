#!/usr/bin/env Rscript
# Test accuracy of the keras-for-R mnist_cnn example (Adadelta lr 1, batch 128,
# validation_split 0.2, 12 epochs) on the MNIST subset, over several seeds: one seed's result
# moves by a few tenths of a point, so issue 14's ">= 0.97 like Keras" is judged on the mean.
#
#   Rscript bench/cnn_accuracy.R [--seeds 5] [--epochs 12] [--data DIR]
#
# DIR holds the four MNIST IDX files (default: tests/fixtures/mnist of this repository).
bench_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
args <- list(seeds = 5L, epochs = 12L, data = file.path(dirname(bench_dir), "tests", "fixtures", "mnist"))
argv <- commandArgs(trailingOnly = TRUE)
for (i in seq(1, length(argv), by = 2)[seq_len(length(argv) %/% 2)]) {
  switch(argv[[i]],
    "--seeds" = args$seeds <- as.integer(argv[[i + 1]]),
    "--epochs" = args$epochs <- as.integer(argv[[i + 1]]),
    "--data" = args$data <- argv[[i + 1]],
    stop("unknown argument: ", argv[[i]]))
}
suppressPackageStartupMessages(library(rkeras))
t_process0 <- proc.time()[["elapsed"]]
source(file.path(bench_dir, "common.R"))
mnist <- dataset_mnist(path = args$data)
prep <- function(x) array_reshape(x, c(dim(x)[1], 28, 28, 1)) / 255
x_train <- prep(mnist$train$x); y_train <- to_categorical(mnist$train$y, 10)
x_test <- prep(mnist$test$x); y_test <- to_categorical(mnist$test$y, 10)
acc <- vapply(seq_len(args$seeds), function(seed) {
  set.seed(seed)
  model <- mnist_cnn()
  t0 <- Sys.time()
  model %>% fit(x_train, y_train, batch_size = 128, epochs = args$epochs, validation_split = 0.2, verbose = 0)
  a <- evaluate(model, x_test, y_test, verbose = 0)[["accuracy"]]
  cat(sprintf("seed %d: test accuracy %.4f (%.1f s)\n", seed, a, as.numeric(Sys.time() - t0, units = "secs")))
  a
}, 0)
cat(sprintf("mean test accuracy over %d seeds: %.4f (min %.4f, max %.4f); target >= 0.97\n",
            length(acc), mean(acc), min(acc), max(acc)))
