#!/usr/bin/env Rscript
# rkeras benchmark: the tutorial's model on Fashion-MNIST, regimes matching the anchors in
# bench/anchors (fit, gen) plus predict and a few fixed costs.
#
#   Rscript bench/bench.R [--regime fit|gen|predict|all] [--epochs N] [--data DIR]
#                         [--out FILE] [--seed N] [--rows-mult K] [--width-mult K] [--no-startup]
#                         [--no-fixed] [--predict-reps N]
#
# Prints one line `RESULT {json}` per regime (and one for the fixed costs), then a table.
# Timings are medians over epochs 2..N (the first epoch is reported apart), as the anchors do.
# --rows-mult / --width-mult are used by bench/scaling.R (fit regime only).

t_process0 <- proc.time()[["elapsed"]]
bench_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench_dir, "common.R"))

# ---- arguments ------------------------------------------------------------------------------
parse_args <- function(argv) {
  a <- list(regime = "all", epochs = 4L, data = NULL, out = NULL, seed = 1L, rows_mult = 1,
            width_mult = 1, startup = TRUE, fixed = TRUE, predict_reps = 5L)
  i <- 1L
  while (i <= length(argv)) {
    key <- argv[[i]]
    val <- if (i < length(argv)) argv[[i + 1L]] else NA_character_
    if (grepl("=", key, fixed = TRUE)) {
      val <- sub("^[^=]*=", "", key); key <- sub("=.*$", "", key); step <- 1L
    } else step <- 2L
    switch(key,
      "--regime" = a$regime <- match.arg(val, c("fit", "gen", "predict", "all")),
      "--epochs" = a$epochs <- as.integer(val),
      "--data" = a$data <- val,
      "--out" = a$out <- val,
      "--seed" = a$seed <- as.integer(val),
      "--rows-mult" = a$rows_mult <- as.numeric(val),
      "--width-mult" = a$width_mult <- as.numeric(val),
      "--predict-reps" = a$predict_reps <- as.integer(val),
      "--no-startup" = { a$startup <- FALSE; step <- 1L },
      "--no-fixed" = { a$fixed <- FALSE; step <- 1L },
      "--help" = { cat(readLines(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))[2:11],
                       sep = "\n"); quit(status = 0) },
      stop("unknown argument: ", key))
    i <- i + step
  }
  if (is.na(a$epochs) || a$epochs < 2L) stop("--epochs must be at least 2 (epoch 1 is excluded from the median)")
  a
}
args <- parse_args(commandArgs(trailingOnly = TRUE))
regimes <- if (args$regime == "all") c("fit", "gen", "predict") else args$regime

# ---- small helpers --------------------------------------------------------------------------

# per-call time of f(), in seconds: total over `reps` calls / reps, best of `trials` blocks
per_call <- function(f, reps = 200L, trials = 5L) {
  best <- Inf
  for (t in seq_len(trials)) {
    t0 <- now()
    for (i in seq_len(reps)) f()
    best <- min(best, (now() - t0) / reps)
  }
  best
}

threads_env <- function() {
  c(MATMUL_NUM_THREADS = Sys.getenv("MATMUL_NUM_THREADS", NA), RKERAS_THREADS = Sys.getenv("RKERAS_THREADS", NA),
    rkeras.threads = as.character(getOption("rkeras.threads", NA)))
}

# ---- library(rkeras) in a fresh process ------------------------------------------------------
startup_time <- function(reps = 3L) {
  rscript <- file.path(R.home("bin"), "Rscript")
  code <- "t0<-proc.time()[[3]];suppressPackageStartupMessages(library(rkeras));cat(proc.time()[[3]]-t0)"
  vapply(seq_len(reps), function(i) {
    out <- suppressWarnings(system2(rscript, c("--vanilla", "-e", shQuote(code)), stdout = TRUE, stderr = FALSE,
                                    env = paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
    as.numeric(tail(out, 1))
  }, 0)
}

# ---- the package and the data ---------------------------------------------------------------
t0 <- now()
suppressPackageStartupMessages(library(rkeras))
library_in_process_s <- now() - t0
pkg_version <- as.character(utils::packageVersion("rkeras"))

load_fashion <- function(dir) {
  if (!is.null(dir)) return(dataset_fashion_mnist(path = dir))
  tryCatch(dataset_fashion_mnist(), error = function(e)
    stop("Fashion-MNIST not found (", conditionMessage(e), "); pass --data DIR with the four IDX files"))
}
t0 <- now()
fashion <- load_fashion(args$data)
load_s <- now() - t0

# the tutorial's sampling generator, copied unchanged from the project's seed tutorial
sampling_generator <- function(x,y,batch_size) {
  function() {
    # sample a batch
    inSample <- sample(1:nrow(x), batch_size)
    x.sample <- x[inSample, ,]
    # re-scale
    x.sample <- x.sample / 255
    # re-shape
    x.sample <- array_reshape(x.sample, c(length(inSample), 784))
    # one-hot encoding
    y.sample <- to_categorical(y[inSample],10)
    # return format (feature, label)
    return(list(x.sample, y.sample))
  }
}

# the tutorial's model (hidden widths scaled by --width-mult for the scaling benchmark)
build_model <- function(width_mult = 1) {
  model <- keras_model_sequential()
  model %>%
    layer_dense(units = round(256 * width_mult), activation = 'relu', input_shape = c(784)) %>%
    layer_dropout(rate = 0.4) %>%
    layer_dense(units = round(128 * width_mult), activation = 'relu') %>%
    layer_dropout(rate = 0.3) %>%
    layer_dense(units = 10, activation = 'softmax')
  model %>% compile(
    loss = 'categorical_crossentropy',
    optimizer = optimizer_rmsprop(),
    metrics = c('accuracy'))
  model
}

epoch_timer <- function() {
  env <- new.env()
  env$times <- numeric(0)
  env$cb <- callback_lambda(
    on_epoch_begin = function(epoch, logs) { env$t <- now(); NULL },
    on_epoch_end = function(epoch, logs) { env$times <- c(env$times, now() - env$t); NULL })
  env
}

test_accuracy <- function(model, x, y) {
  score <- evaluate(model, x, y, batch_size = 2000, verbose = 0)
  unname(score[["accuracy"]])
}

base_record <- function(regime) {
  list(framework = "rkeras", version = pkg_version, regime = regime, epochs = args$epochs, seed = args$seed,
       R = paste(R.version$major, R.version$minor, sep = "."), threads = as.list(threads_env()),
       nproc = parallel::detectCores())
}

results <- list()

# ---- fixed costs: library(), build+compile, array_reshape()/to_categorical() ----------------
fixed <- if (!args$fixed) list() else local({
  set.seed(args$seed)
  build_s <- vapply(1:5, function(i) { k_clear_session(); t0 <- now(); build_model(); now() - t0 }, 0)
  xb <- fashion$train$x[sample(nrow(fashion$train$x), 128), , ] / 255
  yb <- fashion$train$y[sample(length(fashion$train$y), 128)]
  reshape_s <- per_call(function() array_reshape(xb, c(128L, 784L)))
  categ_s <- per_call(function() to_categorical(yb, 10))
  subset_s <- per_call(function() fashion$train$x[sample(1:60000, 128), , ], reps = 100L)
  lib <- if (args$startup) startup_time() else NA_real_
  c(base_record("fixed"), list(
    library_s = stats::median(lib), library_s_runs = lib, library_in_process_s = library_in_process_s,
    build_compile_s = stats::median(build_s), build_compile_first_s = build_s[[1]],
    array_reshape_ms = reshape_s * 1e3, to_categorical_ms = categ_s * 1e3,
    base_r_x_subset_ms = subset_s * 1e3, dataset_load_s = load_s))
})
if (args$fixed) emit(fixed)
results$fixed <- fixed

# ---- fit regime -----------------------------------------------------------------------------
run_fit_regime <- function() {
  # the tutorial's first script
  x_train <- fashion$train$x
  y_train <- fashion$train$y
  x_test <- fashion$test$x
  y_test <- fashion$test$y
  x_train <- array_reshape(x_train, c(nrow(x_train), 784))
  x_test <- array_reshape(x_test, c(nrow(x_test), 784))
  x_train <- x_train / 255
  x_test <- x_test / 255
  y_train <- to_categorical(y_train, 10)
  y_test <- to_categorical(y_test, 10)
  if (args$rows_mult != 1) {  # scaling: repeat the rows; validation stays the last 20 %
    idx <- rep_len(seq_len(nrow(x_train)), round(nrow(x_train) * args$rows_mult))
    x_train <- x_train[idx, , drop = FALSE]
    y_train <- y_train[idx, , drop = FALSE]
  }
  data_mib <- as.numeric(utils::object.size(x_train) + utils::object.size(y_train)) / 2^20
  invisible(gc())
  peak_before <- proc_status_mib("VmHWM")
  rss_before <- proc_status_mib("VmRSS")
  reset_ok <- reset_peak()

  set.seed(args$seed)
  k_clear_session()
  model <- build_model(args$width_mult)
  timer <- epoch_timer()
  t0 <- now()
  history <- model %>% fit(
    x_train, y_train,
    epochs = args$epochs, batch_size = 128,
    validation_split = 0.2, verbose = 0, callbacks = list(timer$cb))
  fit_wall <- now() - t0
  peak_fit <- proc_status_mib("VmHWM")
  t0 <- now()
  acc <- test_accuracy(model, x_test, y_test)
  eval_s <- now() - t0
  n_train <- nrow(x_train) - floor(nrow(x_train) * 0.2)
  times <- timer$times
  fixed <- fit_fixed_cost(model, x_train, y_train, timer)
  med <- median_steady(times)
  m <- history$metrics
  rec <- c(base_record("fit"), list(
    rows = nrow(x_train), width_mult = args$width_mult, train_rows = n_train,
    steps_per_epoch = ceiling(n_train / 128),
    epoch_times = times, first_epoch_s = times[[1]], median_s = med,
    min_s = min(times[-1]), max_s = max(times[-1]),
    train_samples_per_s = n_train / med, fit_wall_s = fit_wall,
    fit_overhead_s = fit_wall - sum(times),
    fit_fixed_cost_s = stats::median(fixed$per_call), fit_fixed_cost_runs = fixed$per_call,
    r_copy_x_s = fixed$r_copy_s,
    train_acc = m$accuracy, val_acc = m$val_accuracy, test_acc = acc, test_eval_s = eval_s,
    r_data_mib = data_mib, rss_before_fit_mib = rss_before,
    peak_rss_fit_mib = if (reset_ok) peak_fit else NA_real_,
    fit_extra_rss_mib = if (reset_ok) peak_fit - rss_before else NA_real_,
    peak_rss_mib = max(peak_before, peak_fit),
    peak_reset_ok = reset_ok))
  list(rec = rec, model = model, x_test = x_test, y_test = y_test)
}

# fit()'s cost per call beyond its epochs (issue 12): fit(epochs = 1) in a loop, as a user
# stepping through epochs does, minus the epoch's own time from the timing callback; median of
# `reps` calls after the regime's fit (so the first call's page faults are not in it; they are
# in fit_overhead_s). The anchor: R copying x_train once (what `x2[1] <- x2[1]` costs).
fit_fixed_cost <- function(model, x_train, y_train, timer, reps = 5L) {
  per_call <- vapply(seq_len(reps), function(i) {
    t0 <- now()
    model %>% fit(x_train, y_train, epochs = 1, batch_size = 128, validation_split = 0.2, verbose = 0,
                  callbacks = list(timer$cb))
    now() - t0 - tail(timer$times, 1)
  }, 0)
  r_copy <- vapply(1:3, function(i) { x2 <- x_train; t0 <- now(); x2[1] <- x2[1]; now() - t0 }, 0)
  list(per_call = per_call, r_copy_s = stats::median(r_copy))
}

# ---- generator regime -----------------------------------------------------------------------
run_gen_regime <- function() {
  steps <- 500L
  x_train <- fashion$train$x
  y_train <- fashion$train$y
  gen <- sampling_generator(x_train, y_train, 128)
  set.seed(args$seed)
  # 1. the R closure alone: 500 calls, median over reps
  reps <- min(args$epochs, 3L)
  closure <- vapply(seq_len(reps), function(r) {
    t0 <- now(); for (i in seq_len(steps)) gen(); now() - t0
  }, 0)
  closure_s <- stats::median(closure)

  # 2. the training compute alone: 500 pre-generated batches in memory
  batches <- lapply(seq_len(steps), function(i) gen())
  xs <- do.call(rbind, lapply(batches, `[[`, 1))
  ys <- do.call(rbind, lapply(batches, `[[`, 2))
  set.seed(args$seed); k_clear_session()
  model <- build_model()
  timer <- epoch_timer()
  model %>% fit(xs, ys, epochs = args$epochs, batch_size = 128, shuffle = FALSE, verbose = 0,
                callbacks = list(timer$cb))
  compute <- timer$times
  compute_s <- median_steady(compute)

  # 2b. the same batches fed through the generator path (a closure that only hands them out)
  i <- 0L; calls <- 0L
  replay <- function() { i <<- i %% steps + 1L; calls <<- calls + 1L; batches[[i]] }
  set.seed(args$seed); k_clear_session()
  model <- build_model()
  timer <- epoch_timer()
  model %>% fit_generator(replay, steps_per_epoch = steps, epochs = args$epochs, verbose = 0,
                          callbacks = list(timer$cb))
  replay_times <- timer$times
  replay_s <- median_steady(replay_times)
  replay_calls <- calls
  rm(batches, xs, ys); invisible(gc())

  # 3. together: the tutorial's generator driving fit_generator
  set.seed(args$seed); k_clear_session()
  model <- build_model()
  timer <- epoch_timer()
  hist <- model %>% fit_generator(sampling_generator(x_train, y_train, 128), steps_per_epoch = steps,
                                  epochs = args$epochs, verbose = 0, callbacks = list(timer$cb))
  epochs <- timer$times
  epoch_s <- median_steady(epochs)
  bound <- max(closure_s, compute_s)
  x_test <- array_reshape(fashion$test$x, c(nrow(fashion$test$x), 784)) / 255
  acc <- test_accuracy(model, x_test, to_categorical(fashion$test$y, 10))
  # sanity: the generator must really have driven every step (a wrong steps count in the
  # package once made fit_generator() return at once with an empty history)
  ok <- replay_calls == steps * args$epochs && length(hist$metrics$accuracy) == args$epochs
  if (!ok) warning("fit_generator() did not run ", steps, " steps x ", args$epochs, " epochs (replay closure called ",
                   replay_calls, " times, history has ", length(hist$metrics$accuracy),
                   " epochs): the generator timings are not valid", call. = FALSE, immediate. = TRUE)
  c(base_record("gen"), list(
    valid = ok, replay_calls = replay_calls, steps_per_epoch = steps, batch = 128L,
    closure_s = closure_s, closure_runs = closure, compute_s = compute_s, compute_epoch_times = compute,
    replay_s = replay_s, replay_epoch_times = replay_times,
    epoch_times = epochs, first_epoch_s = epochs[[1]], median_s = epoch_s,
    train_samples_per_s = steps * 128 / epoch_s,
    ratio_epoch_over_bound = epoch_s / bound, bound = if (closure_s >= compute_s) "closure" else "compute",
    ratio_to_r_keras_17.3 = epoch_s / 17.3,
    train_acc = hist$metrics$accuracy, test_acc = acc, peak_rss_mib = proc_status_mib("VmHWM")))
}

# ---- predict regime -------------------------------------------------------------------------
run_predict_regime <- function(model = NULL, x_test = NULL) {
  if (is.null(model)) {
    set.seed(args$seed); k_clear_session()
    model <- build_model()
  }
  if (is.null(x_test)) x_test <- array_reshape(fashion$test$x, c(nrow(fashion$test$x), 784)) / 255
  p <- predict(model, x_test)  # warm-up
  times_default <- vapply(seq_len(args$predict_reps), function(i) { t0 <- now(); predict(model, x_test); now() - t0 }, 0)
  times_big <- vapply(seq_len(args$predict_reps), function(i) {
    t0 <- now(); predict(model, x_test, batch_size = 10000); now() - t0 }, 0)
  c(base_record("predict"), list(
    rows = nrow(x_test), out_dim = dim(p), median_s = stats::median(times_default), runs_s = times_default,
    batch_size = "default (32)", rows_per_s = nrow(x_test) / stats::median(times_default),
    median_s_batch_10000 = stats::median(times_big), runs_s_batch_10000 = times_big,
    peak_rss_mib = proc_status_mib("VmHWM")))
}

fit_out <- NULL
for (r in regimes) {
  rec <- switch(r,
    fit = { fit_out <- run_fit_regime(); fit_out$rec },
    gen = run_gen_regime(),
    predict = run_predict_regime(fit_out$model, fit_out$x_test))
  rec$wall_total_s <- proc.time()[["elapsed"]] - t_process0
  rec$loadavg_end <- strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3]
  emit(rec)
  results[[r]] <- rec
}

# ---- human table ----------------------------------------------------------------------------
f <- function(x, d = 3) if (is.null(x) || length(x) == 0 || all(is.na(x))) "-" else formatC(x, digits = d, format = "f")
cat("\nrkeras ", pkg_version, " | threads env: ",
    paste(names(threads_env()), threads_env(), sep = "=", collapse = " "), " | epochs ", args$epochs, "\n", sep = "")
rows <- if (!args$fixed) list() else list(
  c("library(rkeras), fresh Rscript (s)", f(fixed$library_s), "target < 0.3"),
  c("build + compile tutorial model (ms)", f(fixed$build_compile_s * 1e3, 1), "target < 50"),
  c("array_reshape() on a 128x28x28 batch (ms)", f(fixed$array_reshape_ms, 4), "target < 0.1"),
  c("to_categorical() on 128 labels (ms)", f(fixed$to_categorical_ms, 4), "target < 0.1"),
  c("x[inSample, , ] in base R (ms)", f(fixed$base_r_x_subset_ms, 3), "(R itself)"))
if (!is.null(results$fit)) {
  r <- results$fit
  rows <- c(rows, list(
    c("fit: s/epoch (median epochs 2..N)", f(r$median_s), sprintf("first epoch %s s", f(r$first_epoch_s))),
    c("fit: train samples/s", f(r$train_samples_per_s, 0), ""),
    c("fit: test accuracy", f(r$test_acc, 4), sprintf("after %d epochs", args$epochs)),
    c("fit() fixed cost per call (s)", f(r$fit_fixed_cost_s),
      sprintf("target < 0.1; fit(epochs = 1) - epoch; R copying x_train: %s s", f(r$r_copy_x_s))),
    c("fit: peak RSS, whole process (MiB)", f(r$peak_rss_mib, 0), "includes R's copies of the data"),
    c("fit: R data x_train+y_train (MiB)", f(r$r_data_mib, 0), ""),
    c("fit: RSS growth during fit() (MiB)", f(r$fit_extra_rss_mib, 0), "target <= 250")))
}
if (!is.null(results$gen)) {
  r <- results$gen
  rows <- c(rows, list(
    if (!isTRUE(r$valid)) c("gen: INVALID", "-", "fit_generator() did not run the 500 steps; see warning"),
    c("gen: R closure alone, 500 calls (s)", f(r$closure_s), ""),
    c("gen: compute alone, 500 in-memory steps (s)", f(r$compute_s), ""),
    c("gen: same batches via generator path (s)", f(r$replay_s), "(replay closure)"),
    c("gen: epoch, closure + compute together (s)", f(r$median_s), ""),
    c("gen: epoch / max(closure, compute)", f(r$ratio_epoch_over_bound), "target <= 1.15"),
    c("gen: epoch / R keras 17.3 s", f(r$ratio_to_r_keras_17.3), "target <= 0.2")))
}
if (!is.null(results$predict)) {
  r <- results$predict
  rows <- c(rows, list(
    c("predict 10,000 rows, default batch (s)", f(r$median_s, 4), ""),
    c("predict 10,000 rows, batch_size 10000 (s)", f(r$median_s_batch_10000, 4), "")))
}
rows <- Filter(Negate(is.null), rows)
w <- max(nchar(vapply(rows, `[[`, "", 1)))
for (row in rows) cat(formatC(row[1], width = -w), " ", formatC(row[2], width = 10), "  ", row[3], "\n", sep = "")
