# Callbacks in fit() and fit_generator(): CSV files, early stopping, learning-rate
# callbacks, R callbacks, errors in R hooks.

test_that("the tutorial's callback list runs in fit() and the CSV reads back as the history", {
  dir <- file.path(tempfile("cb"), "model", "log")   # missing folders are created
  csv <- file.path(dir, format(Sys.time(), "mnist_%Y%m%d_%H%M.csv"))
  d <- toy_data(200)
  model <- toy_model()
  callbacks <- list(callback_csv_logger(csv), callback_early_stopping(patience = 5))
  h <- fit(model, d$x, d$y, epochs = 4, validation_split = 0.2, callbacks = callbacks, verbose = 0)
  raw <- readBin(csv, "raw", file.size(csv))
  txt <- rawToChar(raw)
  expect_equal(strsplit(txt, "\r\n")[[1]][1], "epoch,accuracy,loss,val_accuracy,val_loss")
  expect_equal(length(gregexpr("\r\n", txt)[[1]]), 5)
  back <- read.csv(csv)
  expect_equal(back$epoch, 0:3)
  for (k in names(h$metrics)) expect_equal(back[[k]], h$metrics[[k]], tolerance = 1e-12)
})

test_that("the CSV logger appends, writes NA columns without validation and uses the separator", {
  csv <- tempfile(fileext = ".csv")
  d <- toy_data(100)
  model <- toy_model()
  fit(model, d$x, d$y, epochs = 2, callbacks = list(callback_csv_logger(csv, separator = ";")), verbose = 0)
  fit(model, d$x, d$y, epochs = 1, callbacks = list(callback_csv_logger(csv, separator = ";", append = TRUE)),
      verbose = 0)
  lines <- strsplit(rawToChar(readBin(csv, "raw", file.size(csv))), "\r\n")[[1]]
  expect_equal(lines[1], "epoch;accuracy;loss;val_accuracy;val_loss")
  expect_length(lines, 4)
  expect_match(lines[2], "^0;[0-9.e-]+;[0-9.e-]+;NA;NA$")
  expect_match(lines[4], "^0;")
})

test_that("early stopping stops on keras' epoch and prints keras' message", {
  d <- toy_data(100)
  model <- toy_model()
  seen <- 0
  # a monitor that stops improving after epoch 2: val_loss on data never trained on is noisy,
  # so monitor a constant instead via a lambda-added log
  cb_const <- callback_lambda(on_epoch_end = function(epoch, logs) list(flat = c(3, 2, 2.5, 2.5, 2.5, 2.5)[epoch]))
  es <- callback_early_stopping(monitor = "flat", patience = 2, verbose = 1)
  out <- capture.output(h <- fit(model, d$x, d$y, epochs = 6, verbose = 0, callbacks = list(cb_const, es)))
  expect_length(h$metrics$loss, 4)   # best at epoch 2, then 2 epochs without improvement
  expect_equal(out, "Epoch 4: early stopping")
  expect_equal(h$metrics$flat, c(3, 2, 2.5, 2.5))
  expect_warning(fit(model, d$x, d$y, epochs = 1, verbose = 0, callbacks = list(callback_early_stopping())),
                 "conditioned on metric `val_loss` which is not available")
})

test_that("callback_lambda hooks get 1-based epochs and batches, and their lists join the logs", {
  d <- toy_data(100)
  model <- toy_model()
  calls <- character()
  cb <- callback_lambda(
    on_train_begin = function(logs) calls <<- c(calls, "train_begin"),
    on_epoch_begin = function(epoch, logs) calls <<- c(calls, paste0("epoch_begin", epoch)),
    on_batch_end = function(batch, logs) calls <<- c(calls, paste0("batch", batch)),
    on_epoch_end = function(epoch, logs) list(my_metric = epoch * 10),
    on_train_end = function(logs) calls <<- c(calls, "train_end"))
  h <- fit(model, d$x, d$y, epochs = 2, batch_size = 50, verbose = 0, callbacks = cb)
  expect_equal(calls, c("train_begin", "epoch_begin1", "batch1", "batch2", "epoch_begin2", "batch1", "batch2",
                        "train_end"))
  expect_equal(h$metrics$my_metric, c(10, 20))
})

test_that("the learning-rate schedule gets 0-based epochs and its rates reach the history", {
  d <- toy_data(100)
  model <- toy_model(optimizer = optimizer_sgd(learning_rate = 0.1))
  seen <- list()
  sched <- callback_learning_rate_scheduler(function(epoch, lr) {
    seen[[length(seen) + 1]] <<- c(epoch, lr)
    lr * 0.5
  }, verbose = 1)
  out <- capture.output(h <- fit(model, d$x, d$y, epochs = 3, verbose = 0, callbacks = list(sched)))
  expect_equal(do.call(rbind, seen), rbind(c(0, 0.1), c(1, 0.05), c(2, 0.025)), tolerance = 1e-7)
  expect_equal(h$metrics$learning_rate, c(0.05, 0.025, 0.0125), tolerance = 1e-7)
  # Keras 3 prints the f32 rate widened to double, exactly
  expect_equal(out[out != ""], c("Epoch 1: LearningRateScheduler setting learning rate to 0.05000000074505806.",
                                 "Epoch 2: LearningRateScheduler setting learning rate to 0.02500000037252903.",
                                 "Epoch 3: LearningRateScheduler setting learning rate to 0.012500000186264515."))
  bad <- callback_learning_rate_scheduler(function(epoch, lr) "fast")
  expect_error(fit(model, d$x, d$y, epochs = 1, verbose = 0, callbacks = list(bad)), "single number")
})

test_that("a learning rate added by a callback reaches the callbacks after it, not before", {
  d <- toy_data(100)
  model <- toy_model()
  before <- tempfile(fileext = ".csv"); after <- tempfile(fileext = ".csv")
  rl <- callback_reduce_lr_on_plateau(monitor = "loss", patience = 100)
  fit(model, d$x, d$y, epochs = 2, verbose = 0, validation_split = 0.2,
      callbacks = list(callback_csv_logger(before), rl, callback_csv_logger(after)))
  expect_equal(names(read.csv(before)), c("epoch", "accuracy", "loss", "val_accuracy", "val_loss"))
  expect_equal(names(read.csv(after)), c("epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"))
})

test_that("reduce_lr_on_plateau lowers the rate and says so", {
  d <- toy_data(100)
  model <- toy_model(optimizer = optimizer_sgd(learning_rate = 0.1))
  flat <- callback_lambda(on_epoch_end = function(epoch, logs) list(flat = 1))
  rl <- callback_reduce_lr_on_plateau(monitor = "flat", factor = 0.5, patience = 2, verbose = 1)
  out <- capture.output(h <- fit(model, d$x, d$y, epochs = 5, verbose = 0, callbacks = list(flat, rl)))
  expect_equal(h$metrics$learning_rate, c(0.1, 0.1, 0.1, 0.05, 0.05), tolerance = 1e-7)
  expect_equal(out[out != ""], c("Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05000000074505806.",
                                 "Epoch 5: ReduceLROnPlateau reducing learning rate to 0.02500000037252903."))
  expect_error(callback_reduce_lr_on_plateau(factor = 1), "factor >= 1")
})

test_that("terminate_on_naan stops when the loss is not finite", {
  x <- matrix(1, 8, 1)
  y <- matrix(1e20, 8, 1)
  model <- keras_model_sequential(input_shape = 1) %>% layer_dense(1)
  compile(model, optimizer = optimizer_sgd(learning_rate = 1), loss = "mse")
  out <- capture.output(h <- fit(model, x, y, epochs = 5, batch_size = 2, verbose = 0,
                                 callbacks = list(callback_terminate_on_naan())))
  expect_match(out[1], "^Batch [0-9]+: Invalid loss, terminating training$")
  expect_length(h$metrics$loss, 1)
})

test_that("an error in an R callback stops training with the user's condition; files are closed", {
  csv <- tempfile(fileext = ".csv")
  d <- toy_data(100)
  model <- toy_model()
  boom <- callback_lambda(on_epoch_end = function(epoch, logs) {
    if (epoch == 2) stop(structure(class = c("cb_error", "error", "condition"), list(message = "callback broke", call = NULL)))
  })
  err <- tryCatch(fit(model, d$x, d$y, epochs = 5, verbose = 0, callbacks = list(callback_csv_logger(csv), boom)),
                  cb_error = function(e) e)
  expect_s3_class(err, "cb_error")
  expect_equal(conditionMessage(err), "callback broke")
  expect_equal(nrow(read.csv(csv)), 2)
  expect_length(err$rkeras_history$metrics$loss, 1)
})

test_that("Callback() classes see the model, keep state and can stop training", {
  d <- toy_data(100)
  model <- toy_model()
  StopAfter <- Callback("StopAfter",
    initialize = function(n) { self$n <- n; self$seen <- 0 },
    on_epoch_end = function(epoch, logs) {
      self$seen <- self$seen + 1
      if (epoch >= self$n) self$model$stop_training <- TRUE
      list(seen = self$seen)
    })
  cb <- StopAfter(n = 3)
  expect_s3_class(cb, "StopAfter")
  h <- fit(model, d$x, d$y, epochs = 10, verbose = 0, callbacks = list(cb))
  expect_length(h$metrics$loss, 3)
  expect_equal(cb$seen, 3)
  expect_equal(h$metrics$seen, 1:3)
  expect_identical(cb$model, model)
})

test_that("callbacks also run in fit_generator()", {
  d <- toy_data(100)
  csv <- tempfile(fileext = ".csv")
  gen <- function() { i <- sample(100, 10); list(d$x[i, ], d$y[i, ]) }
  model <- toy_model()
  h <- fit_generator(model, gen, steps_per_epoch = 3, epochs = 3, verbose = 0,
                     validation_data = list(d$x, d$y), callbacks = list(callback_csv_logger(csv)))
  expect_equal(read.csv(csv)$val_loss, h$metrics$val_loss, tolerance = 1e-12)
})

test_that("remote_monitor posts each epoch and warns when the server is unreachable", {
  d <- toy_data(50)
  model <- toy_model()
  port <- 39000 + sample(999, 1)
  expect_warning(fit(model, d$x, d$y, epochs = 1, verbose = 0,
                     callbacks = list(callback_remote_monitor(root = paste0("http://127.0.0.1:", port)))),
                 "could not reach RemoteMonitor root server")
  skip_if(Sys.which("python3") == "", "python3 is needed for the test server")
  out <- tempfile()
  srv <- tempfile(fileext = ".py")
  writeLines(c(
    "import http.server, sys",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_POST(self):",
    "        n = int(self.headers['Content-Length'])",
    "        open(sys.argv[2], 'a').write(self.path + ' ' + self.rfile.read(n).decode() + '\\n')",
    "        self.send_response(200); self.end_headers()",
    "    def log_message(self, *a): pass",
    "s = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H)",
    "for _ in range(2): s.handle_request()"), srv)
  system2("python3", c(srv, port, out), wait = FALSE)
  Sys.sleep(1)
  fit(model, d$x, d$y, epochs = 2, verbose = 0,
      callbacks = list(callback_remote_monitor(root = paste0("http://127.0.0.1:", port), send_as_json = TRUE)))
  got <- readLines(out)
  expect_length(got, 2)
  expect_match(got[1], '^/publish/epoch/end/ \\{"accuracy":[0-9.e-]+,"epoch":0,"loss":[0-9.e-]+\\}$')
})

test_that("model_checkpoint writes files load_model() reads, with keras' names and messages", {
  dir <- tempfile("ckpt")
  d <- toy_data(200)
  model <- toy_model()
  cb <- callback_model_checkpoint(file.path(dir, "weights.{epoch:02d}-{val_loss:.2f}.rkeras"), save_best_only = TRUE,
                                  verbose = 1)
  out <- capture.output(h <- fit(model, d$x, d$y, epochs = 3, validation_split = 0.25, verbose = 0, callbacks = list(cb)))
  files <- list.files(dir)
  expect_true(all(grepl("^weights\\.0[1-3]-[0-9]\\.[0-9]{2}\\.rkeras$", files)))
  expect_match(out[2], "^Epoch 1: val_loss improved from None to [0-9.]+, saving model to .*weights\\.01-")
  best <- which.min(h$metrics$val_loss)
  last <- sort(files)[length(files)]
  expect_equal(as.integer(substr(last, 9, 10)), best)
  if (best == 3) expect_equal(predict(load_model(file.path(dir, last)), d$x), predict(model, d$x))
  # weights only, every 5 batches
  dir2 <- tempfile("ckpt")
  cb2 <- callback_model_checkpoint(file.path(dir2, "w-{epoch}-{batch}.rkeras"), save_weights_only = TRUE, save_freq = 5)
  fit(model, d$x, d$y, epochs = 1, batch_size = 20, verbose = 0, callbacks = list(cb2))
  expect_equal(sort(list.files(dir2)), c("w-1-10.rkeras", "w-1-5.rkeras"))
  other <- toy_model()
  load_model_weights(other, file.path(dir2, "w-1-10.rkeras"))
  expect_equal(predict(other, d$x), predict(model, d$x))
  bad <- callback_model_checkpoint(file.path(dir2, "{nope}.rkeras"))
  expect_error(fit(model, d$x, d$y, epochs = 1, verbose = 0, callbacks = list(bad)), "'nope'")
})
