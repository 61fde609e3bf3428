#!/usr/bin/env Rscript
# Tables from one run's results.jsonl (written by bench/run-all.sh): fit regime, generator
# regime, prediction, rkeras's fixed costs, and the targets of issue 6 / issue 3.
#   Rscript bench/report.R results.jsonl
if (!requireNamespace("jsonlite", quietly = TRUE)) stop("bench/report.R needs the jsonlite package")
file <- commandArgs(trailingOnly = TRUE)[1]
recs <- lapply(readLines(file), jsonlite::fromJSON, simplifyVector = TRUE)
`%||%` <- function(a, b) if (is.null(a)) b else a
n_reps <- max(vapply(recs, function(r) as.numeric(r$rep %||% 1), 0))
if (n_reps > 1) cat("(", n_reps, " repetitions: each system's fastest one is shown)\n\n", sep = "")

# the matching record; with several repetitions, the fastest one (lowest median_s, or for the
# GEMM probe the lowest floor): on a shared machine it is the least disturbed
find <- function(framework, regime = NULL) {
  best <- NULL; best_s <- Inf
  for (r in recs) {
    x <- r$result
    if (identical(x$framework, framework) && (is.null(regime) || identical(x$regime, regime))) {
      s <- x$median_s %||% x$fit_epoch_gemm_floor_s %||% x$library_s %||% 0
      if (is.null(best) || s < best_s) { best <- x; best_s <- s }
    }
  }
  best
}
last_acc <- function(a) {  # python: {"4": acc} keyed by epoch; rkeras: a number
  if (is.null(a) || length(a) == 0) return(NA_real_)
  if (is.list(a)) return(as.numeric(a[[which.max(as.integer(names(a)))]]))
  as.numeric(a[[length(a)]])
}
num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)[1]
fmt <- function(x, d = 3) ifelse(is.na(x), "-", formatC(x, digits = d, format = "f"))
print_table <- function(df, title) {
  cat(title, "\n", sep = "")
  w <- pmax(nchar(names(df)), vapply(df, function(col) max(nchar(col)), 0))
  line <- function(v) cat(paste(sprintf("%*s", w, v), collapse = "  "), "\n")
  line(names(df)); line(strrep("-", w))
  for (i in seq_len(nrow(df))) line(unlist(df[i, ]))
  cat("\n")
}

systems <- c("rkeras" = "rkeras", "Keras 3 + JAX" = "keras3-jax", "Keras 3 + TensorFlow" = "keras3-tensorflow",
             "PyTorch eager" = "torch-eager")
gemm <- find("gemm-probe")
floor_fit <- num(gemm$fit_epoch_gemm_floor_s)
floor_gen <- num(gemm$gen_epoch_gemm_floor_s)

regime_table <- function(regime) {
  rk <- find("rkeras", regime)
  rk_s <- num(rk$median_s)
  floor <- if (regime == "fit") floor_fit else floor_gen
  rows <- list()
  for (nm in names(systems)) {
    r <- find(systems[[nm]], regime)
    if (is.null(r)) next
    s <- num(r$median_s)
    rows[[nm]] <- data.frame(system = nm, `s/epoch` = fmt(s), `first epoch s` = fmt(num(r$first_epoch_s)),
                             `samples/s` = fmt(num(r$train_samples_per_s), 0),
                             `rkeras/this` = fmt(rk_s / s, 2), `% of GEMM floor` = fmt(100 * floor / s, 1),
                             `x floor` = fmt(s / floor, 2), `test acc` = fmt(last_acc(r$test_acc), 4),
                             `peak RSS MiB` = fmt(num(r$peak_rss_mib), 0),
                             `other load` = fmt(num(r$other_load_cores), 2), check.names = FALSE)
  }
  if (!is.na(floor))
    rows[["floor"]] <- data.frame(system = "f32 GEMM floor (OpenBLAS)", `s/epoch` = fmt(floor), `first epoch s` = "",
                                  `samples/s` = fmt((if (regime == "fit") 48000 else 64000) / floor, 0),
                                  `rkeras/this` = fmt(rk_s / floor, 2), `% of GEMM floor` = "100.0",
                                  `x floor` = "1.00", `test acc` = "", `peak RSS MiB` = "", `other load` = "",
                                  check.names = FALSE)
  if (length(rows)) do.call(rbind, rows) else NULL
}

fit_tab <- regime_table("fit")
if (!is.null(fit_tab)) print_table(fit_tab, paste0(
  "FIT regime: 60,000 rows, validation_split 0.2 (375 steps + validation), median s/epoch over epochs 2..N\n",
  "(% of GEMM floor = floor / s_epoch, 100 = at the floor; rkeras/this < 1 = rkeras faster; ",
  "rkeras peak RSS includes R's own copies of the data; other load = cores busy with other processes)"))

gen_tab <- regime_table("gen")
if (!is.null(gen_tab)) print_table(gen_tab, paste0(
  "GENERATOR regime: 500 steps of 128 rows per epoch (rkeras: the tutorial's R sampling_generator; ",
  "anchors: a Python generator)"))

rk_gen <- find("rkeras", "gen")
if (!is.null(rk_gen)) {
  g <- data.frame(part = c("R closure alone (500 calls)", "training compute alone (500 in-memory steps)",
                           "same batches through the generator path", "epoch, closure + compute together",
                           "epoch / max(closure, compute)", "epoch / R keras 2.11 (17.3 s)"),
                  value = c(fmt(num(rk_gen$closure_s)), fmt(num(rk_gen$compute_s)), fmt(num(rk_gen$replay_s)),
                            fmt(num(rk_gen$median_s)), fmt(num(rk_gen$ratio_epoch_over_bound), 2),
                            fmt(num(rk_gen$ratio_to_r_keras_17.3), 2)),
                  unit = c("s", "s", "s", "s/epoch", "target <= 1.15", "target <= 0.20"))
  if (!isTRUE(rk_gen$valid)) g$unit <- paste(g$unit, "(INVALID: fit_generator did not run all steps)")
  print_table(g, "rkeras generator breakdown")
}

pred_rows <- list()
rk_pred <- find("rkeras", "predict")
for (nm in c("rkeras", "keras-jax", "keras-tensorflow", "torch")) {
  r <- find(nm, "predict")
  if (is.null(r)) next
  pred_rows[[nm]] <- data.frame(system = nm, `s (batch 32)` = fmt(num(r$median_s), 4),
                                `s (batch 10000)` = fmt(num(r$median_s_batch_10000), 4),
                                `this/rkeras (batch 32)` = fmt(num(r$median_s) / num(rk_pred$median_s), 2),
                                `this/rkeras (batch 10000)` = fmt(num(r$median_s_batch_10000) /
                                                                    num(rk_pred$median_s_batch_10000), 2),
                                check.names = FALSE)
}
if (length(pred_rows)) print_table(do.call(rbind, pred_rows),
  "PREDICT: 10,000 test rows, median of 5 after a warm-up (this/rkeras > 1 = rkeras faster)")

fx <- find("rkeras", "fixed")
if (!is.null(fx)) print_table(data.frame(
  cost = c("library(rkeras), fresh Rscript", "build + compile the tutorial model", "array_reshape(), 128x28x28 batch",
           "to_categorical(), 128 labels", "x[inSample, , ] in base R (for scale)"),
  value = c(fmt(num(fx$library_s), 3), fmt(1e3 * num(fx$build_compile_s), 2), fmt(num(fx$array_reshape_ms), 4),
            fmt(num(fx$to_categorical_ms), 4), fmt(num(fx$base_r_x_subset_ms), 3)),
  unit = c("s", "ms", "ms", "ms", "ms")), "rkeras fixed costs")

# ---- targets --------------------------------------------------------------------------------
rk_fit <- find("rkeras", "fit"); jax_fit <- find("keras3-jax", "fit"); jax_pred <- find("keras-jax", "predict")
chk <- function(name, value, target, ok) data.frame(target = name, measured = value, wanted = target,
                                                   status = if (is.na(ok)) "n/a" else if (ok) "MET" else "not met")
t <- list(
  chk("fit s/epoch vs Keras+JAX", fmt(num(rk_fit$median_s) / num(jax_fit$median_s), 2), "<= 0.50 x",
      num(rk_fit$median_s) <= 0.5 * num(jax_fit$median_s)),
  chk("fit s/epoch vs GEMM floor", fmt(num(rk_fit$median_s) / floor_fit, 2), "<= 1.50 x",
      num(rk_fit$median_s) <= 1.5 * floor_fit),
  chk("test accuracy vs Keras+JAX (one seed; see accuracy.sh)", fmt(100 * (last_acc(rk_fit$test_acc) - last_acc(jax_fit$test_acc)), 2),
      ">= -1 point", last_acc(rk_fit$test_acc) >= last_acc(jax_fit$test_acc) - 0.01),
  chk("gen epoch / max(closure, compute)", fmt(num(rk_gen$ratio_epoch_over_bound), 2), "<= 1.15",
      isTRUE(rk_gen$valid) && num(rk_gen$ratio_epoch_over_bound) <= 1.15),
  chk("gen epoch vs R keras 17.3 s", fmt(num(rk_gen$median_s), 2), "<= 3.46 s",
      isTRUE(rk_gen$valid) && num(rk_gen$median_s) <= 0.2 * 17.3),
  chk("array_reshape() per batch", fmt(num(fx$array_reshape_ms), 4), "< 0.1 ms", num(fx$array_reshape_ms) < 0.1),
  chk("to_categorical() per batch", fmt(num(fx$to_categorical_ms), 4), "< 0.1 ms", num(fx$to_categorical_ms) < 0.1),
  chk("predict 10,000 rows: Keras+JAX / rkeras", fmt(num(jax_pred$median_s) / num(rk_pred$median_s), 2), ">= 3 x",
      num(jax_pred$median_s) / num(rk_pred$median_s) >= 3),
  chk("fit() fixed cost per call (issue 12)", fmt(num(rk_fit$fit_fixed_cost_s), 3), "< 0.1 s",
      num(rk_fit$fit_fixed_cost_s) < 0.1),
  chk("RSS growth during fit() over R's data", fmt(num(rk_fit$fit_extra_rss_mib), 0), "<= 250 MiB",
      num(rk_fit$fit_extra_rss_mib) <= 250),
  chk("library(rkeras)", fmt(num(fx$library_s), 3), "< 0.3 s", num(fx$library_s) < 0.3),
  chk("build + compile", fmt(1e3 * num(fx$build_compile_s), 2), "< 50 ms", 1e3 * num(fx$build_compile_s) < 50))
print_table(do.call(rbind, t), "TARGETS (issue 6, issue 3; ratios from this run)")
