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

args <- model_bench_args()

suppressPackageStartupMessages(library(rkeras))
maxlen <- 400L
max_features <- 5000L
data <- synthetic_imdb(args$rows, maxlen, max_features, args$seed)
x_train <- data$x
y_train <- data$y

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

emit(c(list(model = "imdb_cnn"), measure_model(imdb_cnn, x_train, y_train, 32, x_train, args)))
