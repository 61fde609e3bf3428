#!/usr/bin/env Rscript
# rkeras on the keras-for-R `imdb_cnn` example (embedding 5000 x 50 on maxlen 400, dropout .2,
# conv_1d 250 k3 valid relu, global max pool 1d, dense 250, dropout .2, relu, dense 1 sigmoid;
# Adam, binary cross-entropy, batch 32, validation_split 0.2) on synthetic sequences, as
# ../shared/bench/keras_zoo.py --model imdb_cnn --rows N runs it in Keras: ids uniform in
# 1..4999 without 7; label 1 rows (half) get one 7 at a random step (R's RNG, not numpy's:
# the same task, not the same draws).
#
#   Rscript bench/imdb_cnn.R [--rows 6000] [--epochs 3] [--out FILE] [--seed 1] [--no-threads]
#                            [--predict-reps 3]
#
# One `RESULT {json}` line: seconds per epoch (median over epochs 2..N), the first epoch,
# validation accuracy, RSS growth during fit(), predict() on all rows (median of
# --predict-reps after a warm-up), and (unless --no-threads) the epoch time with one thread
# against two (options(rkeras.threads = 1)).

t_process0 <- proc.time()[["elapsed"]]
bench_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench_dir, "common.R"))

args <- list(rows = 6000L, epochs = 3L, out = NULL, seed = 1L, threads = TRUE, predict_reps = 3L)
argv <- commandArgs(trailingOnly = TRUE)
i <- 1L
while (i <= length(argv)) {
  key <- argv[[i]]; val <- if (i < length(argv)) argv[[i + 1L]] else NA_character_; step <- 2L
  switch(key,
    "--rows" = args$rows <- as.integer(val),
    "--epochs" = args$epochs <- as.integer(val),
    "--out" = args$out <- val,
    "--seed" = args$seed <- as.integer(val),
    "--predict-reps" = args$predict_reps <- as.integer(val),
    "--no-threads" = { args$threads <- FALSE; step <- 1L },
    stop("unknown argument: ", key))
  i <- i + step
}
if (is.na(args$epochs) || args$epochs < 2L) stop("--epochs must be at least 2 (epoch 1 is excluded from the median)")

suppressPackageStartupMessages(library(rkeras))
maxlen <- 400L
max_features <- 5000L
n <- args$rows
set.seed(args$seed)
x_train <- matrix(sample.int(max_features - 1L, n * maxlen, replace = TRUE), n, maxlen)
x_train[x_train == 7L] <- 8L
y_train <- as.numeric(runif(n) < 0.5)
pos <- sample.int(maxlen, n, replace = TRUE)
x_train[cbind(which(y_train == 1), pos[y_train == 1])] <- 7L

imdb_cnn <- function() {
  model <- keras_model_sequential() %>%
    layer_embedding(max_features, 50, input_length = maxlen) %>%
    layer_dropout(0.2) %>%
    layer_conv_1d(250, 3, padding = "valid", activation = "relu", strides = 1) %>%
    layer_global_max_pooling_1d() %>%
    layer_dense(250) %>%
    layer_dropout(0.2) %>%
    layer_activation("relu") %>%
    layer_dense(1, activation = "sigmoid")
  model %>% compile(loss = "binary_crossentropy", optimizer = "adam", metrics = "accuracy")
  model
}

timed_fit <- function(model, epochs) {
  times <- numeric(0); t0 <- 0
  cb <- callback_lambda(on_epoch_begin = function(epoch, logs) t0 <<- now(),
                        on_epoch_end = function(epoch, logs) times <<- c(times, now() - t0))
  h <- model %>% fit(x_train, y_train, epochs = epochs, batch_size = 32, validation_split = 0.2, verbose = 0,
                     callbacks = list(cb))
  list(times = times, history = h)
}

invisible(gc())
peak_before <- proc_status_mib("VmHWM")
rss_before <- proc_status_mib("VmRSS")
reset_ok <- reset_peak()
set.seed(args$seed)
model <- imdb_cnn()
fit1 <- timed_fit(model, args$epochs)
peak_fit <- proc_status_mib("VmHWM")

predict_runs <- {
  predict(model, x_train, verbose = 0)
  vapply(seq_len(args$predict_reps), function(i) { t0 <- now(); predict(model, x_train, verbose = 0); now() - t0 }, 0)
}

one_thread <- NA_real_
if (args$threads) {
  old <- options(rkeras.threads = 1L)
  set.seed(args$seed)
  one_thread <- median_steady(timed_fit(imdb_cnn(), 2L)$times)
  options(old)
}

med <- median_steady(fit1$times)
emit(list(framework = "rkeras", model = "imdb_cnn", rows = n, epochs = args$epochs, seed = args$seed,
          params = count_params(model), epoch_times = fit1$times, first_epoch_s = fit1$times[[1]], median_s = med,
          samples_per_s = floor(n * 0.8) / med, val_acc = fit1$history$metrics$val_accuracy,
          fit_extra_rss_mib = if (reset_ok) peak_fit - rss_before else NA_real_,
          peak_rss_mib = max(peak_before, peak_fit),
          predict_s = stats::median(predict_runs), predict_rows = n, predict_runs = predict_runs,
          one_thread_median_s = one_thread, thread_speedup = one_thread / med,
          threads = getOption("rkeras.threads", Sys.getenv("RKERAS_THREADS", "all"))))
