# The background `tensorboard` process behind tensorboard(): one at a time, kept in `.tb`.
# Started with processx when it is installed, else (Unix) through `sh` with its PID.
# TensorBoard is started with its output in a log file; it is up once it prints its URL.

.tb <- new.env(parent = emptyenv())

tb_launcher <- function() {
  getOption("rkeras.tensorboard_launcher") %||%
    if (requireNamespace("processx", quietly = TRUE)) "processx" else if (.Platform$OS.type == "unix") "shell" else "none"
}

tb_spawn <- function(bin, args, log, launcher) {
  switch(launcher,
    processx = processx::process$new(bin, args, stdin = NULL, stdout = log, stderr = "2>&1", cleanup = TRUE),
    shell = {
      cmd <- paste("exec", paste(shQuote(c(bin, args)), collapse = " "), "<", "/dev/null", ">", shQuote(log), "2>&1 & echo $!")
      as.integer(system2("sh", c("-c", shQuote(cmd)), stdout = TRUE))
    },
    stop_arg("starting TensorBoard in the background needs the processx package here: install.packages(\"processx\")"))
}

pid_alive <- function(pid) {
  if (!isTRUE(tools::pskill(pid, 0L))) return(FALSE)
  stat <- sprintf("/proc/%d/stat", pid)  # a zombie still accepts signal 0
  !file.exists(stat) || !grepl("^[0-9]+ \\(.*\\) Z ", readLines(stat, n = 1, warn = FALSE))
}

tb_alive <- function(proc) if (is.numeric(proc)) pid_alive(proc) else proc$is_alive()

# Starts TensorBoard and waits until it serves; returns its URL.
tb_start <- function(bin, args, host, timeout = getOption("rkeras.tensorboard_timeout", 60)) {
  log <- tempfile("tensorboard-", fileext = ".log")
  file.create(log)
  .tb$proc <- tb_spawn(bin, args, log, tb_launcher())
  .tb$log <- log
  deadline <- Sys.time() + timeout
  repeat {
    alive <- tb_alive(.tb$proc)  # before reading: a process found dead has written all it will
    out <- readLines(log, warn = FALSE)
    port <- regmatches(out, regexpr("https?://[^ /]+:[0-9]+/", out))
    if (length(port) && alive) return(sprintf("http://%s:%s", host, sub(".*:([0-9]+)/$", "\\1", port[[1]])))
    failed <- if (!alive) "exited at start-up" else if (Sys.time() > deadline)
      paste("did not start within", timeout, "seconds")
    if (!is.null(failed)) {
      tb_stop()
      stop_arg("TensorBoard ", failed, "; its output:\n", paste(utils::tail(out, 15), collapse = "\n"))
    }
    Sys.sleep(0.1)
  }
}

# Stops the running TensorBoard (TERM, then KILL after 5 s); FALSE when none was running.
tb_stop <- function() {
  proc <- .tb$proc
  if (is.null(proc)) return(FALSE)
  if (is.numeric(proc)) tools::pskill(proc, tools::SIGTERM) else proc$signal(tools::SIGTERM)
  deadline <- Sys.time() + 5
  while (tb_alive(proc) && Sys.time() < deadline) Sys.sleep(0.05)
  if (tb_alive(proc)) if (is.numeric(proc)) tools::pskill(proc, tools::SIGKILL) else proc$kill()
  unlink(.tb$log)
  rm(list = c("proc", "log"), envir = .tb)
  TRUE
}
