# Tests for tensorboard(): launching and stopping an external `tensorboard` (a stand-in
# script here; the real one when it is on the PATH).

# A `tensorboard` stand-in in a fresh folder: records its arguments, prints what TensorBoard
# prints (the URL last), then waits; or, with `fail`, prints an error and exits.
fake_tensorboard <- function(env = parent.frame(), fail = FALSE) {
  dir <- withr::local_tempdir(.local_envir = env)
  args_file <- file.path(dir, "args.txt")
  body <- if (fail) c("echo 'E0101 error: could not bind to port 6006' >&2", "exit 1") else c(
    "echo 'NOTE: see https://github.com/tensorflow/tensorboard/issues/4784'", "sleep 0.2",
    "echo 'TensorBoard 2.99.0 at http://127.0.0.1:16123/ (Press CTRL+C to quit)'", "exec sleep 30")
  writeLines(c("#!/bin/sh", sprintf("echo \"$@\" > '%s'", args_file), body), file.path(dir, "tensorboard"))
  Sys.chmod(file.path(dir, "tensorboard"), "755")
  withr::local_envvar(PATH = paste(dir, Sys.getenv("PATH"), sep = .Platform$path.sep), .local_envir = env)
  args_file
}

tb_pid <- function() {
  proc <- rkeras:::.tb$proc
  if (is.numeric(proc)) proc else proc$get_pid()
}

test_that("tensorboard() says how to install TensorBoard when it is missing", {
  withr::local_envvar(PATH = withr::local_tempdir())
  expect_error(tensorboard(withr::local_tempdir(), launch_browser = FALSE), "pip install tensorboard")
  expect_output(tensorboard(action = "stop"), "^TensorBoard is not running\\.$")
})

for (launcher in c("processx", "shell")) {
  test_that(paste("tensorboard() starts and stops TensorBoard in the background via", launcher), {
    skip_on_os("windows")
    if (launcher == "processx") skip_if_not_installed("processx")
    withr::local_options(rkeras.tensorboard_launcher = launcher)
    withr::defer(rkeras:::tb_stop())
    args_file <- fake_tensorboard()
    log_dir <- file.path(withr::local_tempdir(), "new", "logs")
    expect_output(url <- withVisible(tensorboard(log_dir, launch_browser = FALSE)),
                  "^Started TensorBoard at http://127\\.0\\.0\\.1:16123$")
    expect_equal(url, list(value = "http://127.0.0.1:16123", visible = FALSE))
    expect_true(dir.exists(log_dir))
    expect_equal(readLines(args_file), paste("--logdir", log_dir,
      "--host 127.0.0.1 --port 0 --reload_interval 5 --purge_orphaned_data=true"))
    pid <- tb_pid()
    expect_true(rkeras:::pid_alive(pid))

    # a second start replaces the first
    dirs <- c(a = log_dir, file.path(dirname(log_dir), "other"))
    expect_output(tensorboard(dirs, host = "localhost", port = 7007, reload_interval = 1,
                              purge_orphaned_data = FALSE, launch_browser = FALSE),
                  "Started TensorBoard at http://localhost:16123")
    expect_false(rkeras:::pid_alive(pid))
    expect_equal(readLines(args_file), paste0(
      "--logdir_spec a:", normalizePath(dirs[[1]]), ",other:", normalizePath(dirs[[2]]),
      " --host localhost --port 7007 --reload_interval 1 --purge_orphaned_data=false"))
    pid <- tb_pid()
    expect_output(tensorboard(action = "stop"), "^TensorBoard stopped\\.$")
    expect_false(rkeras:::pid_alive(pid))
    expect_output(tensorboard(action = "stop"), "^TensorBoard is not running\\.$")
  })
}

test_that("tensorboard() reports a TensorBoard that fails to start", {
  skip_on_os("windows")
  fake_tensorboard(fail = TRUE)
  expect_error(tensorboard(withr::local_tempdir(), launch_browser = FALSE),
               "TensorBoard exited at start-up; its output:\nE0101 error: could not bind to port 6006")
  expect_output(tensorboard(action = "stop"), "not running")
  expect_error(tensorboard(character(), launch_browser = FALSE), "one or more directory names")
  expect_error(tensorboard(port = -1, launch_browser = FALSE), "`port`")
})

test_that("the real TensorBoard serves the logs of callback_tensorboard()", {
  if (!nzchar(Sys.which("tensorboard"))) skip("no `tensorboard` on the PATH")
  withr::defer(rkeras:::tb_stop())
  log_dir <- withr::local_tempdir()
  d <- toy_data(40)
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax")
  model %>% compile(optimizer = "adam", loss = "categorical_crossentropy", metrics = "accuracy")
  model %>% fit(d$x, d$y, epochs = 3, batch_size = 10, verbose = 0, validation_split = 0.25,
                callbacks = callback_tensorboard(log_dir))
  expect_output(url <- tensorboard(log_dir, launch_browser = FALSE), "Started TensorBoard at http://127.0.0.1:")
  get <- function(path) {
    con <- url(paste0(url, path))
    on.exit(close(con))
    paste(suppressWarnings(readLines(con, warn = FALSE)), collapse = "")
  }
  deadline <- Sys.time() + 60
  repeat {
    tags <- tryCatch(get("/data/plugin/scalars/tags"), error = function(e) "")
    if (grepl("validation", tags) || Sys.time() > deadline) break
    Sys.sleep(0.5)
  }
  expect_match(tags, '"train":\\s*\\{.*"epoch_loss"')
  expect_match(tags, '"validation":\\s*\\{.*"evaluation_loss_vs_iterations"')
  pts <- get("/data/plugin/scalars/scalars?run=train&tag=epoch_loss")
  expect_equal(lengths(regmatches(pts, gregexpr("\\]", pts))) - 1, 3)  # three [wall_time, step, value]
  expect_output(tensorboard(action = "stop"), "TensorBoard stopped.")
})
