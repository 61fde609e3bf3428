# Tests for callback_tensorboard(), read_tensorboard_logs() and tensorboard().
#
# With RKERAS_TB_LOGDIR set, the log of the "leaves a log for TensorBoard" test is written
# there (its train/ and validation/ runs replaced), for CI to check with TensorBoard's own
# reader:  tb_verify $RKERAS_TB_LOGDIR --expect train/epoch_loss --expect validation/epoch_loss
#          --expect train/epoch_accuracy --min-steps 3 --serve
# With RKERAS_TB_VERIFY set to the path of that tb_verify script, the test runs it itself.

# Values as TensorBoard stores them: rounded to float32.
as_f32 <- function(x) readBin(writeBin(as.numeric(x), raw(), size = 4), "double", n = length(x), size = 4)

# Folder of the Keras 3 reference outputs (tests/fixtures/keras).
keras3_reference_dir <- function() fixture_dir("keras")

series <- function(logs, run, tag) logs[logs$run == run & logs$tag == tag, , drop = FALSE]

tb_fit <- function(log_dir, epochs = 3, ..., validation_split = 0.25, name = NULL) {
  d <- toy_data(40)  # 30 rows train in 3 batches of 10, 10 validate
  model <- keras_model_sequential(input_shape = 4, name = name) %>%
    layer_dense(8, activation = "relu", name = "hidden") %>%
    layer_dense(2, activation = "softmax", name = "output")
  model %>% compile(optimizer = "rmsprop", loss = "categorical_crossentropy", metrics = "accuracy")
  history <- model %>% fit(d$x, d$y, epochs = epochs, batch_size = 10, verbose = 0,
                           validation_split = validation_split, callbacks = list(callback_tensorboard(log_dir, ...)))
  list(model = model, history = history)
}

test_that("epoch summaries equal the history, with Keras' runs, tags and steps", {
  log_dir <- withr::local_tempdir()
  res <- tb_fit(log_dir)
  m <- res$history$metrics
  logs <- read_tensorboard_logs(log_dir)
  expect_named(logs, c("run", "tag", "step", "value", "wall_time"))
  expect_type(logs$step, "double")
  expect_setequal(unique(paste0(logs$run, "/", logs$tag)), c(
    "train/epoch_loss", "train/epoch_accuracy", "train/epoch_learning_rate",
    "validation/epoch_loss", "validation/epoch_accuracy",
    "validation/evaluation_loss_vs_iterations", "validation/evaluation_accuracy_vs_iterations"))
  for (key in c("loss", "accuracy")) {
    tr <- series(logs, "train", paste0("epoch_", key))
    expect_equal(tr$step, 0:2)
    expect_identical(tr$value, as_f32(m[[key]]))
    va <- series(logs, "validation", paste0("epoch_", key))
    expect_equal(va$step, 0:2)
    expect_identical(va$value, as_f32(m[[paste0("val_", key)]]))
    ev <- series(logs, "validation", paste0("evaluation_", key, "_vs_iterations"))
    expect_equal(ev$step, c(3, 6, 9))  # optimizer iterations after each epoch
    expect_identical(ev$value, va$value)
  }
  expect_identical(series(logs, "train", "epoch_learning_rate")$value, as_f32(rep(0.001, 3)))
  now <- as.numeric(Sys.time())
  expect_true(all(logs$wall_time > now - 600 & logs$wall_time <= now + 1))
  expect_setequal(dir(log_dir), c("train", "validation"))
})

test_that("update_freq = 'batch' and N write batch summaries on the global batch count", {
  log_dir <- withr::local_tempdir()
  res <- tb_fit(log_dir, update_freq = "batch")
  logs <- read_tensorboard_logs(log_dir)
  bl <- series(logs, "train", "batch_loss")
  expect_equal(bl$step, 1:9)
  # running means over the epoch: at an epoch's last batch, the epoch's loss
  expect_identical(bl$value[c(3, 6, 9)], as_f32(res$history$metrics$loss))
  expect_equal(series(logs, "train", "batch_accuracy")$step, 1:9)
  expect_false(any(grepl("^batch_", logs$tag[logs$run == "validation"])))

  log_dir <- withr::local_tempdir()
  tb_fit(log_dir, update_freq = 2)
  logs <- read_tensorboard_logs(log_dir)
  expect_equal(series(logs, "train", "batch_loss")$step, c(2, 4, 6, 8))
  # Keras 3 would drop epochs 0 and 2 (their last batches, 3 and 9, are odd)
  expect_equal(series(logs, "train", "epoch_loss")$step, 0:2)
  expect_equal(series(logs, "validation", "epoch_loss")$step, 0:2)
})

test_that("without validation data there is no validation run", {
  log_dir <- withr::local_tempdir()
  tb_fit(log_dir, validation_split = 0, write_graph = FALSE)
  expect_equal(dir(log_dir), "train")
  logs <- read_tensorboard_logs(log_dir)
  expect_setequal(unique(logs$tag), c("epoch_loss", "epoch_accuracy", "epoch_learning_rate"))
  expect_equal(series(logs, "train", "epoch_loss")$step, 0:2)
})

test_that("each fit adds files; the iterations go on", {
  log_dir <- withr::local_tempdir()
  res <- tb_fit(log_dir, epochs = 1)
  d <- toy_data(40)
  res$model %>% fit(d$x, d$y, epochs = 2, batch_size = 10, verbose = 0, validation_split = 0.25,
                    callbacks = callback_tensorboard(log_dir))
  expect_length(dir(file.path(log_dir, "train")), 2)
  logs <- read_tensorboard_logs(log_dir)
  expect_equal(series(logs, "train", "epoch_loss")$step, c(0, 0, 1))
  expect_equal(series(logs, "validation", "evaluation_loss_vs_iterations")$step, c(3, 6, 9))
})

test_that("each epoch is on disk at its end, for a running TensorBoard", {
  log_dir <- withr::local_tempdir()
  seen <- list()
  peek <- callback_lambda(on_epoch_end = function(epoch, logs) {
    l <- read_tensorboard_logs(log_dir)
    seen[[epoch]] <<- series(l, "validation", "epoch_loss")$step
  })
  d <- toy_data(40)
  model <- toy_model()
  model %>% fit(d$x, d$y, epochs = 3, batch_size = 10, verbose = 0, validation_split = 0.25,
                callbacks = list(callback_tensorboard(log_dir), peek))
  expect_equal(seen, list(0, 0:1, 0:2))
})

test_that("read_tensorboard_logs() reads Keras' own logs", {
  ref <- keras3_reference_dir()
  logs <- read_tensorboard_logs(file.path(ref, "tb_epoch"))
  expect_equal(nrow(logs), 21)  # scalars only: no histograms, no graph
  expect_equal(series(logs, "train", "epoch_loss")$value,
               c(0.7851298451423645, 0.7759631276130676, 0.7697739005088806))
  expect_equal(series(logs, "train", "epoch_accuracy")$value,
               c(0.4933333396911621, 0.5199999809265137, 0.5266666412353516))
  ev <- series(logs, "validation", "evaluation_loss_vs_iterations")
  expect_equal(ev$step, c(3, 6, 9))
  expect_equal(ev$value, c(0.7994823455810547, 0.7923036813735962, 0.7862995266914368))
  expect_identical(series(logs, "train", "epoch_learning_rate")$value, as_f32(rep(0.001, 3)))
  batch <- read_tensorboard_logs(file.path(ref, "tb_batch"))
  expect_equal(series(batch, "train", "batch_loss")$step, 1:6)
})

test_that("bad log directories and arguments give clear errors", {
  expect_error(read_tensorboard_logs(file.path(tempdir(), "no-such-logs")), "is not an existing directory")
  expect_error(read_tensorboard_logs(c("a", "b")), "single string")
  log_dir <- withr::local_tempdir()
  f <- file.path(log_dir, "events.out.tfevents.1.host")
  writeBin(as.raw(c(0x18, rep(0, 7), 1:20)), f)
  expect_error(read_tensorboard_logs(log_dir), "bad length CRC")

  file <- withr::local_tempfile()
  writeLines("not a directory", file)
  expect_error(tb_fit(file.path(file, "logs"), epochs = 1), "callback_tensorboard\\(\\): cannot write")

  expect_error(callback_tensorboard(update_freq = "often"), "`update_freq` must be")
  expect_error(callback_tensorboard(update_freq = 0), "`update_freq` must be")
  expect_error(callback_tensorboard(histogram_freq = -1), "histogram_freq")
  expect_error(callback_tensorboard(log_dir = ""), "must not be empty")
  expect_error(callback_tensorboard(write_graph = NA), "write_graph")
})

test_that("unsupported arguments warn only when set", {
  expect_silent(cb <- callback_tensorboard())
  expect_equal(cb$log_dir, "logs")
  expect_silent(callback_tensorboard("x", batch_size = NULL, write_grads = FALSE, embeddings_freq = 0,
                                     profile_batch = 0, update_freq = 5))
  expect_warning(callback_tensorboard(write_images = TRUE), "not supported by rkeras, ignored: write_images",
                 class = "rkeras_unsupported")
  expect_warning(callback_tensorboard(profile_batch = c(2, 4), batch_size = 32, embeddings_freq = 1),
                 "ignored: batch_size, embeddings_freq, profile_batch")
  expect_warning(callback_tensorboard(write_steps_per_second = TRUE), "ignored: write_steps_per_second")
  expect_error(callback_tensorboard("x", 0, NULL, TRUE, FALSE, FALSE, 0, NULL, NULL, NULL, "epoch", 0, 1),
               "must be named")
})

test_that("leaves a log for TensorBoard (RKERAS_TB_LOGDIR), with graph and histograms", {
  log_dir <- Sys.getenv("RKERAS_TB_LOGDIR")
  if (!nzchar(log_dir)) log_dir <- withr::local_tempdir()
  unlink(file.path(log_dir, c("train", "validation")), recursive = TRUE)
  tb_fit(log_dir, epochs = 3, histogram_freq = 1, name = "tb_model")
  logs <- read_tensorboard_logs(log_dir)
  for (tag in c("train/epoch_loss", "validation/epoch_loss", "train/epoch_accuracy"))
    expect_equal(sum(paste0(logs$run, "/", logs$tag) == tag), 3, label = tag)
  train <- dir(file.path(log_dir, "train"), full.names = TRUE)
  bytes <- readBin(train, "raw", file.size(train))
  has <- function(s) length(grepRaw(s, bytes, fixed = TRUE)) > 0
  expect_true(has("tb_model/hidden/kernel/histogram"))
  expect_true(has("tb_model/output/bias/histogram"))
  expect_true(has('{"module": "keras", "class_name": "Sequential", "config": {"name": "tb_model"'))
  expect_true(has("graph_keras_model"))

  verify <- Sys.getenv("RKERAS_TB_VERIFY")
  if (!nzchar(verify)) skip("set RKERAS_TB_VERIFY to the tb_verify script to check the log with TensorBoard")
  out <- suppressWarnings(system2(verify, c(
    shQuote(log_dir), "--expect", "train/epoch_loss", "--expect", "validation/epoch_loss",
    "--expect", "train/epoch_accuracy", "--min-steps", "3",
    "--expect-histogram", "train/tb_model/hidden/kernel/histogram", "--expect-keras-graph", "train", "--serve"),
    stdout = TRUE, stderr = TRUE))
  expect_null(attr(out, "status"), label = paste(out, collapse = "\n"))
})
