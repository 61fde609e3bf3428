#!/usr/bin/env Rscript
# Scaling of the fit regime (tutorial model, Fashion-MNIST, validation_split 0.2):
#   rows 1x/2x/4x (the 60,000 rows repeated), hidden widths 1x/2x/4x (256-128 -> 512-256 ->
#   1024-512), and 1 vs 2 threads.
#
#   Rscript bench/scaling.R [--epochs N] [--thread-reps K] [--data DIR] [--out FILE]
#
# Each point runs bench/bench.R --regime fit in its own Rscript process. The thread points
# run K times each (default 3), 1 thread and all threads alternating, and keep each one's
# fastest run: this machine's speed drifts by 10-15 % over minutes, more than enough to move
# one pair's ratio by 0.1.
# Threads: the thread points set RKERAS_THREADS (rkeras' thread option; the option
# `rkeras.threads` does the same from R). Large matrix products are then split in two
# between R's thread and one helper thread.

options(width = 200)
argv <- commandArgs(trailingOnly = TRUE)
get_arg <- function(name, default) {
  i <- match(name, argv)
  if (is.na(i)) default else argv[[i + 1L]]
}
epochs <- as.integer(get_arg("--epochs", "3"))
thread_reps <- max(1L, as.integer(get_arg("--thread-reps", "3")))
data <- get_arg("--data", NULL)
out <- get_arg("--out", NULL)

self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench <- file.path(dirname(normalizePath(self)), "bench.R")
rscript <- file.path(R.home("bin"), "Rscript")
ncores <- parallel::detectCores()

# which thread knobs does the installed library know?
so <- file.path(find.package("rkeras"), "libs", "rkeras.so")
so_has <- function(s) {
  if (!file.exists(so)) return(NA)
  raw <- readBin(so, "raw", file.size(so))
  length(grepRaw(charToRaw(s), raw, fixed = TRUE)) > 0
}
ns_text <- tryCatch(paste(unlist(lapply(ls(asNamespace("rkeras"), all.names = TRUE), function(n) {
  f <- get(n, asNamespace("rkeras")); if (is.function(f)) deparse(f) else NULL })), collapse = "\n"),
  error = function(e) "")
knobs <- c(RKERAS_THREADS = isTRUE(so_has("RKERAS_THREADS")) || grepl("RKERAS_THREADS", ns_text, fixed = TRUE),
           rkeras.threads_option = grepl("rkeras.threads", ns_text, fixed = TRUE),
           MATMUL_NUM_THREADS = isTRUE(so_has("MATMUL_NUM_THREADS")))

run_point <- function(label, rows = 1, width = 1, threads = NA) {
  env <- character(0)
  if (!is.na(threads)) env <- sprintf("RKERAS_THREADS=%d", threads)
  a <- c(bench, "--regime", "fit", "--epochs", epochs, "--no-fixed", "--rows-mult", rows, "--width-mult", width)
  if (!is.null(data)) a <- c(a, "--data", data)
  cat(sprintf("  running %-14s ...", label)); flush(stdout())
  lines <- system2(rscript, a, stdout = TRUE, stderr = FALSE,
                   env = c(env, paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  res <- grep("^RESULT ", lines, value = TRUE)
  if (!length(res)) { cat(" failed\n"); return(NULL) }
  line <- sub("^RESULT ", "", res[[length(res)]])
  num <- function(key) as.numeric(sub(sprintf('.*"%s":([-0-9.eE]+).*', key), "\\1", line))
  r <- data.frame(point = label, rows = rows, width = width, threads = if (is.na(threads)) "default" else threads,
                  train_rows = num("train_rows"), s_epoch = num("median_s"), samples_s = num("train_samples_per_s"),
                  test_acc = num("test_acc"), stringsAsFactors = FALSE)
  cat(sprintf(" %.3f s/epoch\n", r$s_epoch))
  if (!is.null(out)) cat(line, "\n", file = out, sep = "", append = TRUE)
  r
}

flops <- function(w) { h1 <- 256 * w; h2 <- 128 * w; 784 * h1 + h1 * h2 + h2 * 10 }

cat(sprintf("scaling: fit regime, %d epochs per point (median of epochs 2..%d), %d cores\n", epochs, epochs, ncores))
pts <- list(
  run_point("rows 1x", 1, 1), run_point("rows 2x", 2, 1), run_point("rows 4x", 4, 1),
  run_point("width 2x", 1, 2), run_point("width 4x", 1, 4))
thread_runs <- do.call(rbind, Filter(Negate(is.null), unlist(lapply(seq_len(thread_reps), function(k)
  list(run_point("threads 1", 1, 1, 1), run_point(sprintf("threads %d", ncores), 1, 1, ncores))),
  recursive = FALSE)))
fastest <- if (is.null(thread_runs)) NULL else
  do.call(rbind, lapply(split(thread_runs, thread_runs$point), function(r) r[which.min(r$s_epoch), ]))
tab <- do.call(rbind, c(Filter(Negate(is.null), pts), list(fastest)))
base <- tab$s_epoch[tab$point == "rows 1x"]
tab$time_ratio <- tab$s_epoch / base
tab$expected_ratio <- ifelse(grepl("^rows", tab$point), tab$rows,
                      ifelse(grepl("^width", tab$point), flops(tab$width) / flops(1), NA))
tab$expected_ratio[tab$point == "rows 1x"] <- 1
tab$time_over_expected <- tab$time_ratio / tab$expected_ratio

cat("\n")
fmt <- tab
for (k in c("s_epoch", "time_ratio", "expected_ratio", "time_over_expected")) fmt[[k]] <- formatC(tab[[k]], digits = 3, format = "f")
fmt$samples_s <- formatC(tab$samples_s, digits = 0, format = "f")
fmt$test_acc <- formatC(tab$test_acc, digits = 4, format = "f")
print(fmt[, c("point", "train_rows", "width", "threads", "s_epoch", "samples_s", "time_ratio", "expected_ratio",
              "time_over_expected", "test_acc")], row.names = FALSE)
cat("expected_ratio: rows multiplier, or the ratio of multiply-adds per sample for the wider model",
    "(784*h1 + h1*h2 + h2*10); time_over_expected 1.00 = linear.\n")
t1 <- tab$s_epoch[tab$point == "threads 1"]; tn <- tab$s_epoch[tab$point == sprintf("threads %d", ncores)]
if (length(t1) && length(tn)) {
  each <- function(p) paste(formatC(thread_runs$s_epoch[thread_runs$point == p], digits = 3, format = "f"), collapse = " ")
  cat(sprintf("threads: runs (s/epoch, alternating) 1 thread: %s; %d threads: %s\n", each("threads 1"), ncores,
              each(sprintf("threads %d", ncores))))
  cat(sprintf("threads: %d threads give %.2fx the speed of 1 thread, fastest runs (target >= 1.7x for 2 threads)\n",
              ncores, t1 / tn))
}
cat("thread knobs found in the installed rkeras:",
    paste(names(knobs), ifelse(knobs, "yes", "no"), sep = "=", collapse = ", "), "\n")
if (!knobs[["RKERAS_THREADS"]] && !knobs[["rkeras.threads_option"]])
  cat("this rkeras exposes no thread option: the thread points measured the default\n")
