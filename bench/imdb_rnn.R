#!/usr/bin/env Rscript
# rkeras on the keras-for-R `imdb_lstm` example (embedding 20000 x 128 on maxlen 80, LSTM 128 with
# dropout .2 and recurrent_dropout .2, dense 1 sigmoid; Adam, binary cross-entropy, batch 32,
# validation_split 0.2), or with --model imdb_gru the same with a GRU, on synthetic sequences as
# ../shared/bench/keras_zoo.py --model imdb_lstm --rows N runs it in Keras: ids uniform in
# 1..19999 without 7; label 1 rows (half) get one 7 at a random step (R's RNG, not numpy's: the
# same task, not the same draws).
#
#   Rscript bench/imdb_rnn.R [--model imdb_lstm|imdb_gru] [--rows 6000] [--epochs 3] [--out FILE]
#                            [--seed 1] [--no-threads] [--predict-reps 3]
#
# One `RESULT {json}` line, as bench/imdb_cnn.R.

t_process0 <- proc.time()[["elapsed"]]
bench_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench_dir, "common.R"))

cmd <- commandArgs(TRUE)
which_model <- if ("--model" %in% cmd) cmd[[match("--model", cmd) + 1]] else "imdb_lstm"
if (!which_model %in% c("imdb_lstm", "imdb_gru")) stop("--model must be imdb_lstm or imdb_gru")
if ("--model" %in% cmd) {
  i <- match("--model", cmd)
  cmd <- cmd[-c(i, i + 1)]
}
args <- model_bench_args(cmd)

suppressPackageStartupMessages(library(rkeras))
maxlen <- 80L
max_features <- 20000L
data <- synthetic_imdb(args$rows, maxlen, max_features, args$seed)
x_train <- data$x
y_train <- data$y

imdb_rnn <- function() {
  rec <- if (which_model == "imdb_lstm") layer_lstm else layer_gru
  model <- keras_model_sequential() %>%
    layer_embedding(max_features, 128) %>%
    rec(units = 128, dropout = 0.2, recurrent_dropout = 0.2) %>%
    layer_dense(1, activation = "sigmoid")
  model %>% compile(loss = "binary_crossentropy", optimizer = "adam", metrics = "accuracy")
  model
}

emit(c(list(model = which_model), measure_model(imdb_rnn, x_train, y_train, 32, x_train, args)))
