# rkeras benchmark: a graph model's training step against its branches timed alone.
#
#   Rscript bench/graph.R [--rows N] [--reps N]
#
# Two towers (784 -> 256 relu -> 128 relu) on two inputs, concatenated, then a 10-way softmax,
# against each tower alone with its own 10-way softmax head, all trained with RMSprop, batch 128,
# on the same random data. Prints one `RESULT {json}` line: seconds per epoch (median over
# `--reps` one-epoch fits after a warm-up) and the ratio two-branch / (tower A + tower B). The
# issue's target is a ratio at most 1.10 (a graph step costs the sum of its layers).
suppressPackageStartupMessages(library(rkeras))

args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default) {
  i <- match(name, args)
  if (is.na(i)) default else as.integer(args[i + 1])
}
rows <- opt("--rows", 24000L)
reps <- opt("--reps", 5L)

set.seed(1)
xa <- matrix(runif(rows * 784), rows, 784)
xb <- matrix(runif(rows * 784), rows, 784)
y <- to_categorical(sample(0:9, rows, replace = TRUE), 10)

tower <- function(input) input %>% layer_dense(256, activation = "relu") %>% layer_dense(128, activation = "relu")

one_tower <- function() {
  input <- layer_input(shape = 784)
  keras_model(input, tower(input) %>% layer_dense(10, activation = "softmax"))
}

two_towers <- function() {
  a <- layer_input(shape = 784, name = "a")
  b <- layer_input(shape = 784, name = "b")
  out <- layer_concatenate(list(tower(a), tower(b))) %>% layer_dense(10, activation = "softmax")
  keras_model(list(a, b), out)
}

epoch_seconds <- function(model, x) {
  model %>% compile(optimizer = "rmsprop", loss = "categorical_crossentropy")
  fit(model, x, y, batch_size = 128, epochs = 1, verbose = 0)  # warm-up
  times <- vapply(seq_len(reps), function(i) {
    system.time(fit(model, x, y, batch_size = 128, epochs = 1, verbose = 0))[["elapsed"]]
  }, 0)
  median(times)
}

ta <- epoch_seconds(one_tower(), xa)
tb <- epoch_seconds(one_tower(), xb)
tab <- epoch_seconds(two_towers(), list(xa, xb))
ratio <- tab / (ta + tb)
cat(sprintf('RESULT {"bench":"graph","rows":%d,"reps":%d,"tower_a_s":%.4f,"tower_b_s":%.4f,"two_branch_s":%.4f,"ratio":%.4f}\n',
            rows, reps, ta, tb, tab, ratio))
cat(sprintf("tower A %.3f s/epoch, tower B %.3f s/epoch, two-branch %.3f s/epoch: ratio %.3f (target <= 1.10)\n",
            ta, tb, tab, ratio))
