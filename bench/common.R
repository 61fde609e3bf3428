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
