# Forked processes (parallel::mclapply(), future's multicore, doParallel on Unix) after the
# parent trained. A child has only the thread that forked: the parent's helper thread (which
# splits products in two) does not exist there, so the child must start its own. A
# regression hangs the child, so every fork here is waited for with a time limit, then
# killed with its own children and reported as a failure.

# Waits for the parallel::mcparallel() jobs `jobs`; returns their values in order, or gives
# an error after `timeout` seconds, killing the jobs still running and their children.
collect_or_kill <- function(jobs, timeout = 60) {
  pids <- vapply(jobs, function(j) j$pid, 0L)
  out <- vector("list", length(jobs))
  done <- rep(FALSE, length(jobs))
  deadline <- Sys.time() + timeout
  while (!all(done) && Sys.time() < deadline) {
    got <- parallel::mccollect(jobs[!done], wait = FALSE, timeout = 1)
    for (pid in names(got)) {
      i <- match(as.integer(pid), pids)
      out[i] <- list(got[[pid]])
      done[i] <- TRUE
    }
  }
  if (!all(done)) {
    for (pid in pids[!done]) {
      kids <- suppressWarnings(tryCatch(system2("pgrep", c("-P", pid), stdout = TRUE, stderr = FALSE),
                                        error = function(e) character()))
      tools::pskill(c(as.integer(kids), pid), tools::SIGKILL)
    }
    parallel::mccollect(jobs[!done], wait = FALSE, timeout = 5)
    stop(sprintf("%d forked process(es) did not finish within %d s (hung)", sum(!done), timeout), call. = FALSE)
  }
  for (r in out) if (inherits(r, "try-error")) stop("error in a forked process: ", r, call. = FALSE)
  out
}

# A model trained in this process, big enough that its products are split between R's
# thread and the helper, with its data.
trained_model <- function() {
  set.seed(1)
  x <- matrix(runif(256 * 64), 256)
  y <- matrix(runif(256 * 8), 256)
  m <- keras_model_sequential(input_shape = 64) %>%
    layer_dense(256, activation = "relu") %>%
    layer_dense(8)
  compile(m, loss = "mse", optimizer = "adam")
  fit(m, x, y, epochs = 2, batch_size = 128, verbose = 0)
  list(m = m, x = x, y = y)
}

test_that("after fit() in the parent, forked children predict and train, and the parent still does", {
  skip_on_os("windows")
  withr::local_options(rkeras.threads = 2) # the helper is used even on one core
  d <- trained_model()
  p0 <- predict(d$m, d$x)
  work <- function(i) {
    p <- predict(d$m, d$x)
    fit(d$m, d$x, d$y, epochs = 1, batch_size = 128, verbose = 0)
    list(p = p, w = get_weights(d$m))
  }
  # children forked from the trained parent, and mclapply() children of a child that
  # predicted first (forked from a process whose own helper runs)
  jobs <- list(
    parallel::mcparallel(work(1), silent = TRUE),
    parallel::mcparallel(work(2), silent = TRUE),
    parallel::mcparallel({
      predict(d$m, d$x)
      parallel::mclapply(1:2, work, mc.cores = 2)
    }, silent = TRUE)
  )
  res <- collect_or_kill(jobs)
  res <- c(res[1:2], res[[3]])
  expect_length(res, 4)
  for (r in res) {
    expect_identical(r$p, p0)
    expect_identical(r$w, res[[1]]$w)
  }
  # the parent's model is untouched by the children's training; it predicts and trains
  # exactly as they did
  expect_identical(predict(d$m, d$x), p0)
  fit(d$m, d$x, d$y, epochs = 1, batch_size = 128, verbose = 0)
  expect_identical(get_weights(d$m), res[[1]]$w)
})

test_that("Ctrl-C in a forked child stops its training and leaves its helper working", {
  skip_on_os("windows")
  withr::local_options(rkeras.threads = 2)
  d <- trained_model()
  p0 <- predict(d$m, d$x)
  flag <- tempfile()
  on.exit(unlink(flag))
  job <- parallel::mcparallel({
    training <- callback_lambda(on_epoch_end = function(epoch, logs) if (epoch == 10) file.create(flag))
    msg <- tryCatch({
      fit(d$m, d$x, d$y, epochs = 100000, batch_size = 128, verbose = 0, callbacks = list(training))
      "not interrupted"
    }, warning = conditionMessage)
    p <- predict(d$m, d$x)
    fit(d$m, d$x, d$y, epochs = 1, batch_size = 128, verbose = 0)
    list(msg = msg, p = p, p2 = predict(d$m, d$x))
  }, silent = TRUE)
  # Ctrl-C once the child trains
  deadline <- Sys.time() + 60
  while (!file.exists(flag) && Sys.time() < deadline) Sys.sleep(0.05)
  trains <- file.exists(flag)
  if (trains) {
    Sys.sleep(0.2)
    tools::pskill(job$pid, tools::SIGINT)
  }
  r <- collect_or_kill(list(job), timeout = if (trains) 60 else 1)[[1]]
  expect_match(r$msg, "interrupted by the user")
  expect_false(identical(r$p, p0)) # it trained before the interrupt
  expect_false(identical(r$p2, r$p)) # and after it
  expect_true(all(is.finite(r$p2)))
  # the parent is not affected
  expect_identical(predict(d$m, d$x), p0)
  fit(d$m, d$x, d$y, epochs = 1, batch_size = 128, verbose = 0)
  expect_false(identical(predict(d$m, d$x), p0))
})
