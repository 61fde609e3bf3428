# Helpers shared by the benchmark scripts (sourced by bench.R, cnn.R, cnn_accuracy.R): clocks, memory
# figures from /proc, the RESULT line, the mnist_cnn model. A script sets `t_process0` and
# `args$out` first.

# machine-wide busy CPU seconds, to tell how much other processes loaded the machine
cpu_busy_s <- function() {
  v <- tryCatch(as.numeric(strsplit(trimws(readLines("/proc/stat", n = 1)), " +")[[1]][-1]), error = function(e) NA)
  (sum(v[1:8]) - v[4] - v[5]) / 100  # USER_HZ is 100 on Linux
}
busy0 <- cpu_busy_s()

now <- function() as.numeric(Sys.time())

proc_status_mib <- function(field) {
  line <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
  if (!length(line)) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}
# Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so the peak of one phase
# (a fit) can be read apart from the peak of the data preparation before it.
reset_peak <- function() {
  ok <- tryCatch({ writeLines("5", "/proc/self/clear_refs"); TRUE }, error = function(e) FALSE,
                 warning = function(w) FALSE)
  ok
}

json_value <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x)) && all(nzchar(names(x)))) {
      return(paste0("{", paste0('"', names(x), '":', vapply(x, json_value, ""), collapse = ","), "}"))
    }
    return(paste0("[", paste(vapply(x, json_value, ""), collapse = ","), "]"))
  }
  one <- function(v) {
    if (is.na(v)) return("null")
    if (is.logical(v)) return(if (v) "true" else "false")
    if (is.numeric(v)) return(if (is.finite(v)) format(signif(v, 7), scientific = FALSE, trim = TRUE) else "null")
    v <- gsub("\\\\", "\\\\\\\\", as.character(v)); v <- gsub('"', '\\\\"', v)
    paste0('"', gsub("\n", "\\\\n", v), '"')
  }
  if (!is.null(names(x)) && length(x) > 0) return(json_value(as.list(x)))
  if (length(x) == 1L) one(x) else paste0("[", paste(vapply(as.list(x), one, ""), collapse = ","), "]")
}

emit <- function(rec) {
  wall <- proc.time()[["elapsed"]] - t_process0
  own <- sum(proc.time()[c("user.self", "sys.self")])
  rec$other_load_cores <- max(0, (cpu_busy_s() - busy0 - own) / wall)
  line <- json_value(rec)
  cat("RESULT ", line, "\n", sep = "")
  if (!is.null(args$out)) cat(line, "\n", file = args$out, sep = "", append = TRUE)
  flush(stdout())
}

median_steady <- function(times) stats::median(if (length(times) > 1) times[-1] else times)

# The keras-for-R mnist_cnn example model, compiled as the example does (Adadelta, lr 1).
mnist_cnn <- function() {
  model <- keras_model_sequential() %>%
    layer_conv_2d(filters = 32, kernel_size = c(3, 3), activation = "relu", input_shape = c(28, 28, 1)) %>%
    layer_conv_2d(filters = 64, kernel_size = c(3, 3), activation = "relu") %>%
    layer_max_pooling_2d(pool_size = c(2, 2)) %>%
    layer_dropout(rate = 0.25) %>%
    layer_flatten() %>%
    layer_dense(units = 128, activation = "relu") %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = 10, activation = "softmax")
  model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_adadelta(learning_rate = 1.0),
                    metrics = c("accuracy"))
  model
}

# The arguments of the model benchmarks (cnn.R, imdb_cnn.R): --rows, --epochs, --data, --out,
# --seed, --predict-reps, --no-threads.
model_bench_args <- function(argv = commandArgs(trailingOnly = TRUE)) {
  a <- list(rows = 6000L, epochs = 3L, data = NULL, out = NULL, seed = 1L, threads = TRUE, predict_reps = 3L)
  i <- 1L
  while (i <= length(argv)) {
    key <- argv[[i]]; val <- if (i < length(argv)) argv[[i + 1L]] else NA_character_; step <- 2L
    switch(key,
      "--rows" = a$rows <- as.integer(val),
      "--epochs" = a$epochs <- as.integer(val),
      "--data" = a$data <- val,
      "--out" = a$out <- val,
      "--seed" = a$seed <- as.integer(val),
      "--predict-reps" = a$predict_reps <- as.integer(val),
      "--no-threads" = { a$threads <- FALSE; step <- 1L },
      stop("unknown argument: ", key))
    i <- i + step
  }
  if (is.na(a$epochs) || a$epochs < 2L) stop("--epochs must be at least 2 (epoch 1 is excluded from the median)")
  a
}

# One model benchmark: `build()` makes a fresh compiled model; fit() on x, y with
# validation_split 0.2 timed per epoch (callback_lambda), RSS during fit(), predict() on
# `x_predict` (median of args$predict_reps after a warm-up), and unless --no-threads the epoch
# time on one thread. Returns the fields of the RESULT record.
measure_model <- function(build, x, y, batch_size, x_predict, args) {
  timed_fit <- function(model, epochs) {
    times <- numeric(0); t0 <- 0
    cb <- callback_lambda(on_epoch_begin = function(epoch, logs) t0 <<- now(),
                          on_epoch_end = function(epoch, logs) times <<- c(times, now() - t0))
    h <- model %>% fit(x, y, epochs = epochs, batch_size = batch_size, validation_split = 0.2, verbose = 0,
                       callbacks = list(cb))
    list(times = times, history = h)
  }
  invisible(gc())
  peak_before <- proc_status_mib("VmHWM")
  rss_before <- proc_status_mib("VmRSS")
  reset_ok <- reset_peak()
  set.seed(args$seed)
  model <- build()
  fit1 <- timed_fit(model, args$epochs)
  peak_fit <- proc_status_mib("VmHWM")
  predict(model, x_predict, verbose = 0)
  predict_runs <- vapply(seq_len(args$predict_reps), function(i) {
    t0 <- now(); predict(model, x_predict, verbose = 0); now() - t0
  }, 0)
  one_thread <- NA_real_
  if (args$threads) {
    old <- options(rkeras.threads = 1L)
    set.seed(args$seed)
    one_thread <- median_steady(timed_fit(build(), 2L)$times)
    options(old)
  }
  n <- dim(x)[1]
  med <- median_steady(fit1$times)
  list(framework = "rkeras", rows = n, epochs = args$epochs, seed = args$seed, params = count_params(model),
       epoch_times = fit1$times, first_epoch_s = fit1$times[[1]], median_s = med,
       samples_per_s = floor(n * 0.8) / med, val_acc = fit1$history$metrics$val_accuracy,
       fit_extra_rss_mib = if (reset_ok) peak_fit - rss_before else NA_real_,
       peak_rss_mib = max(peak_before, peak_fit),
       predict_s = stats::median(predict_runs), predict_rows = dim(x_predict)[1], predict_runs = predict_runs,
       one_thread_median_s = one_thread, thread_speedup = one_thread / med,
       threads = getOption("rkeras.threads", Sys.getenv("RKERAS_THREADS", "all")))
}

# The imdb_* examples' synthetic task, as ../shared/bench/keras_zoo.py makes it (with R's RNG, not
# numpy's: the same task, not the same draws): `n` sequences of `maxlen` ids uniform in
# 1..max_features-1 without 7; label 1 rows (half) get one 7 at a random step.
synthetic_imdb <- function(n, maxlen, max_features, seed) {
  set.seed(seed)
  x <- matrix(sample.int(max_features - 1L, n * maxlen, replace = TRUE), n, maxlen)
  x[x == 7L] <- 8L
  y <- as.numeric(runif(n) < 0.5)
  pos <- sample.int(maxlen, n, replace = TRUE)
  x[cbind(which(y == 1), pos[y == 1])] <- 7L
  list(x = x, y = y)
}
