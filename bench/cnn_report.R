#!/usr/bin/env Rscript
# The issue-14 targets from one bench/cnn.sh run's results.jsonl.
if (!requireNamespace("jsonlite", quietly = TRUE)) stop("bench/cnn_report.R needs the jsonlite package")
recs <- lapply(readLines(commandArgs(trailingOnly = TRUE)[1]), jsonlite::fromJSON)
pick <- function(pred) Filter(pred, recs)[1][[1]]
rk <- pick(function(r) identical(r$framework, "rkeras"))
kj <- pick(function(r) identical(r$framework, "keras3-jax") && is.null(r$part))
kp <- pick(function(r) identical(r$framework, "keras3-jax") && identical(r$part, "predict"))
fl <- pick(function(r) identical(r$framework, "gemm-probe"))
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)[1]
ratio <- function(a, b) num(a) / num(b)
row <- function(what, value, target, ok) {
  cat(sprintf("  %-44s %8s   target %-8s %s\n", what, formatC(value, digits = 2, format = "f"), target,
              if (is.na(ok)) "(no anchor)" else if (ok) "met" else "NOT met"))
}
cat(sprintf("rkeras: %.3f s/epoch (first %.3f), val acc %s, predict 10k %.3f s, peak RSS %.0f MiB, 1 thread %.3f s/epoch\n",
            num(rk$median_s), num(rk$first_epoch_s), paste(round(rk$val_acc, 4), collapse = " "),
            num(rk$predict_s), num(rk$peak_rss_mib), num(rk$one_thread_median_s)))
if (!is.null(kj)) cat(sprintf("Keras 3 + JAX: %.3f s/epoch (first %.3f), val acc %s, peak RSS %.0f MiB\n",
                              num(kj$median_s), num(kj$first_epoch_s), paste(kj$val_acc, collapse = " "),
                              num(kj$peak_rss_mib)))
if (!is.null(kp)) cat(sprintf("Keras 3 + JAX predict 10k: %.3f s\n", num(kp$predict_10k_s)))
if (!is.null(fl)) cat(sprintf("GEMM floor: %.3f s/epoch\n", num(fl$fit_epoch_gemm_floor_s)))
cat("\n")
r <- ratio(rk$median_s, kj$median_s); row("fit epoch / Keras+JAX", r, "<= 0.33", r <= 0.33)
r <- ratio(rk$median_s, fl$fit_epoch_gemm_floor_s); row("fit epoch / GEMM floor", r, "<= 2", r <= 2)
r <- ratio(kp$predict_10k_s, rk$predict_s); row("predict: Keras+JAX time / rkeras time", r, ">= 2", r >= 2)
r <- ratio(rk$peak_rss_mib, kj$peak_rss_mib); row("peak RSS / Keras+JAX's", r, "<= 1.5", r <= 1.5)
r <- num(rk$thread_speedup); row("2 threads: speed-up over 1", r, ">= 1.7", r >= 1.7)
