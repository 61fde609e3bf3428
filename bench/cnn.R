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

args <- list(rows = 6000L, epochs = 3L, data = NULL, out = NULL, seed = 1L, threads = TRUE, predict_reps = 3L)
argv <- commandArgs(trailingOnly = TRUE)
i <- 1L
while (i <= length(argv)) {
  key <- argv[[i]]; val <- if (i < length(argv)) argv[[i + 1L]] else NA_character_; step <- 2L
  switch(key,
    "--rows" = args$rows <- as.integer(val),
    "--epochs" = args$epochs <- as.integer(val),
    "--data" = args$data <- val,
    "--out" = args$out <- val,
    "--seed" = args$seed <- as.integer(val),
    "--predict-reps" = args$predict_reps <- as.integer(val),
    "--no-threads" = { args$threads <- FALSE; step <- 1L },
    stop("unknown argument: ", key))
  i <- i + step
}
if (is.na(args$epochs) || args$epochs < 2L) stop("--epochs must be at least 2 (epoch 1 is excluded from the median)")

suppressPackageStartupMessages(library(rkeras))
fashion <- if (is.null(args$data)) dataset_fashion_mnist() else dataset_fashion_mnist(path = args$data)
n <- min(args$rows, dim(fashion$train$x)[1])
x_train <- array_reshape(fashion$train$x[seq_len(n), , ] / 255, c(n, 28, 28, 1))
y_train <- to_categorical(fashion$train$y[seq_len(n)], 10)
x_test <- array_reshape(fashion$test$x / 255, c(dim(fashion$test$x)[1], 28, 28, 1))


# epoch times of one fit() (callback_lambda around each epoch), and its history
timed_fit <- function(model, epochs) {
  times <- numeric(0); t0 <- 0
  cb <- callback_lambda(on_epoch_begin = function(epoch, logs) t0 <<- now(),
                        on_epoch_end = function(epoch, logs) times <<- c(times, now() - t0))
  h <- model %>% fit(x_train, y_train, epochs = epochs, batch_size = 128, validation_split = 0.2, verbose = 0,
                     callbacks = list(cb))
  list(times = times, history = h)
}

invisible(gc())
peak_before <- proc_status_mib("VmHWM")
rss_before <- proc_status_mib("VmRSS")
reset_ok <- reset_peak()
set.seed(args$seed)
model <- mnist_cnn()
fit1 <- timed_fit(model, args$epochs)
peak_fit <- proc_status_mib("VmHWM")

predict_runs <- {
  predict(model, x_test, verbose = 0)
  vapply(seq_len(args$predict_reps), function(i) { t0 <- now(); predict(model, x_test, verbose = 0); now() - t0 }, 0)
}

one_thread <- NA_real_
if (args$threads) {
  old <- options(rkeras.threads = 1L)
  set.seed(args$seed)
  one_thread <- median_steady(timed_fit(mnist_cnn(), 2L)$times)
  options(old)
}

med <- median_steady(fit1$times)
emit(list(framework = "rkeras", model = "mnist_cnn", rows = n, epochs = args$epochs, seed = args$seed,
          params = count_params(model), epoch_times = fit1$times, first_epoch_s = fit1$times[[1]], median_s = med,
          samples_per_s = floor(n * 0.8) / med, val_acc = fit1$history$metrics$val_accuracy,
          fit_extra_rss_mib = if (reset_ok) peak_fit - rss_before else NA_real_,
          peak_rss_mib = max(peak_before, peak_fit),
          predict_10k_s = stats::median(predict_runs), predict_runs = predict_runs,
          one_thread_median_s = one_thread, thread_speedup = one_thread / med,
          threads = getOption("rkeras.threads", Sys.getenv("RKERAS_THREADS", "all"))))
