# fit()/evaluate()/predict() as keras users rely on them (issue 12 regressions).

test_that("predict() on arrays works with verbose and callbacks, and hook errors reach the user", {
  d <- toy_data(50)
  m <- toy_model()
  p0 <- predict(m, d$x, verbose = 0)
  out <- capture.output(p1 <- predict(m, d$x, verbose = 1))
  expect_equal(p1, p0)
  expect_true(any(grepl("2/2", out)))
  seen <- integer()
  cb <- callback_lambda(on_predict_batch_end = function(batch, logs) seen <<- c(seen, batch))
  expect_equal(predict(m, d$x, batch_size = 20, callbacks = list(cb)), p0)
  expect_equal(seen, 1:3)
  bad <- callback_lambda(on_predict_batch_end = function(batch, logs) stop(structure(
    class = c("my_condition", "error", "condition"), list(message = "my hook failed", call = NULL))))
  expect_error(predict(m, d$x, callbacks = list(bad)), "my hook failed", class = "my_condition")
  expect_identical(formals(rkeras:::predict.rkeras_model)$verbose, "auto")
})

test_that("a callback that changes the model during fit() is refused before anything changes", {
  d <- toy_data(64)
  m <- toy_model()
  fit(m, d$x, d$y, epochs = 1, verbose = 0)
  before <- get_weights(m)
  changes <- list(function() pop_layer(m), function() m %>% layer_dense(3), function() compile(m, loss = "mse"),
                  function() set_weights(m, before), function() freeze_weights(m))
  for (change in changes) {
    w0 <- get_weights(m)
    calls <- 0
    cb <- callback_lambda(on_epoch_end = function(epoch, logs) {
      calls <<- calls + 1
      if (calls == 2) change()
    })
    e <- expect_error(fit(m, d$x, d$y, epochs = 3, verbose = 0, callbacks = list(cb)), class = "rkeras_busy_error")
    expect_match(conditionMessage(e), "is busy: .*nothing was changed")
    # the model is whole: it prints, predicts and saves, and kept the epoch trained before the error
    expect_length(m$layers, 2)
    expect_output(print(m), "Total params: 58")
    expect_false(isTRUE(all.equal(get_weights(m), w0)))
    expect_length(e$rkeras_history$metrics$loss, 1)
    f <- tempfile(fileext = ".rds")
    saveRDS(m, f)
    expect_equal(predict(readRDS(f), d$x), predict(m, d$x))
  }
  # a generator is refused the same way
  calls <- 0
  gen <- function() {
    calls <<- calls + 1
    if (calls == 3) m %>% layer_dense(5)
    list(d$x[1:16, ], d$y[1:16, ])
  }
  expect_error(fit(m, gen, steps_per_epoch = 2, epochs = 3, verbose = 0), class = "rkeras_busy_error")
  expect_length(m$layers, 2)
  expect_equal(dim(predict(m, d$x)), c(64L, 2L))
  # after the fit the model can be changed again
  pop_layer(m)
  expect_length(m$layers, 1)
})

test_that("evaluate() returns a named list", {
  d <- toy_data(50)
  m <- toy_model()
  s <- evaluate(m, d$x, d$y, verbose = 0)
  expect_type(s, "list")
  expect_named(s, c("loss", "accuracy"))
  expect_identical(s[[1]], s$loss)
  expect_true(is.numeric(s$accuracy) && length(s$accuracy) == 1)
})

test_that("validation_data overrides validation_split, as in keras", {
  d <- toy_data(100)
  m <- toy_model()
  h <- fit(m, d$x, d$y, epochs = 1, verbose = 0, validation_split = 0.5, validation_data = list(d$x[1:10, ], d$y[1:10, ]))
  expect_equal(h$params$samples, 100)
  expect_equal(h$params$validation_samples, 10)
  seen <- 0
  cb <- callback_lambda(on_test_batch_end = function(batch, logs) seen <<- seen + 1)
  fit(m, d$x, d$y, epochs = 1, verbose = 0, validation_data = list(d$x, d$y), validation_batch_size = 50,
      callbacks = list(cb))
  expect_equal(seen, 2)
})

test_that("optimizer defaults are keras 2.11 / keras3's, also when named in compile()", {
  for (name in c("adadelta", "adagrad", "adamax", "nadam", "adam", "rmsprop")) {
    expect_equal(get(paste0("optimizer_", name))()$learning_rate, 0.001, info = name)
    m <- toy_model(optimizer = name)
    expect_equal(m$optimizer$learning_rate, 0.001, tolerance = 1e-6, info = name)
  }
  expect_equal(optimizer_sgd()$learning_rate, 0.01)
  expect_equal(optimizer_adagrad()$initial_accumulator_value, 0.1)
  expect_equal(optimizer_adadelta()$rho, 0.95)
})

test_that("Callback(on_batch_end =) is called, and callbacks' state is readable after fit()", {
  d <- toy_data(64)
  m <- toy_model()
  n <- 0
  C <- Callback("C", on_batch_end = function(batch, logs) n <<- n + 1)
  fit(m, d$x, d$y, epochs = 2, batch_size = 16, verbose = 0, callbacks = list(C()))
  expect_equal(n, 8)
  es <- callback_early_stopping(monitor = "loss", patience = 1, min_delta = 100)
  h <- fit(m, d$x, d$y, epochs = 10, verbose = 0, callbacks = list(es))
  # keras: epoch 0 sets `best`; epoch 1 does not improve by 100, wait reaches patience 1
  expect_length(h$metrics$loss, 2)
  expect_equal(es$stopped_epoch, 1)
  expect_equal(es$wait, 1)
  expect_equal(es$best, h$metrics$loss[[1]], tolerance = 1e-6)
  rl <- callback_reduce_lr_on_plateau(monitor = "loss", patience = 100)
  fit(m, d$x, d$y, epochs = 2, verbose = 0, callbacks = list(rl))
  expect_equal(rl$best, min(m$history$metrics$loss), tolerance = 1e-6)
})

test_that("count_params() and freeze_weights(which =) work on layers", {
  m <- keras_model_sequential(input_shape = 4) %>% layer_dense(8) %>% layer_dropout(0.1) %>% layer_dense(2)
  expect_equal(count_params(m$layers[[1]]), 40)
  expect_equal(count_params(get_layer(m, index = 2)), 0)
  expect_equal(count_params(get_layer(m, name = m$layers[[3]]$name)), 18)
  expect_equal(m$layers[[3]]$count_params(), 18)
  freeze_weights(m, which = 1)
  expect_equal(vapply(m$layers, function(l) l$trainable, TRUE), c(FALSE, TRUE, TRUE))
  freeze_weights(m, which = function(l) l$class_name == "Dense")
  expect_equal(vapply(m$layers, function(l) l$trainable, TRUE), c(FALSE, TRUE, FALSE))
  unfreeze_weights(m, which = c(TRUE, FALSE, FALSE))
  expect_equal(vapply(m$layers, function(l) l$trainable, TRUE), c(TRUE, FALSE, FALSE))
  freeze_weights(m, which = list(m$layers[[3]]))
  expect_equal(vapply(m$layers, function(l) l$trainable, TRUE), c(TRUE, TRUE, FALSE))
  expect_output(print(m), "Non-trainable params: 18")
  expect_error(freeze_weights(m, from = 1, which = 2), "both `which` and `from`/`to`")
  expect_error(freeze_weights(m, which = c(TRUE, FALSE)), "one TRUE/FALSE per layer")
})

test_that("Ctrl-C during evaluate() is reported as an interrupted evaluation", {
  skip_on_os("windows")
  d <- toy_data(64)
  m <- toy_model()
  cb <- callback_lambda(on_test_batch_end = function(batch, logs) if (batch == 2) {
    tools::pskill(Sys.getpid(), tools::SIGINT)
    Sys.sleep(0.5)
  })
  e <- expect_error(evaluate(m, d$x, d$y, batch_size = 8, verbose = 0, callbacks = list(cb)),
                    class = "rkeras_interrupted")
  expect_match(conditionMessage(e), "evaluate\\(\\) interrupted by the user: no result is returned")
  expect_false(grepl("training|history", conditionMessage(e)))
})

test_that("metrics ignore sample weights and weighted_metrics use them, with keras' log keys", {
  d <- toy_data(60)
  w <- rep(c(0, 1, 3), 20)
  m <- toy_model()
  compile(m, optimizer = "adam", loss = "categorical_crossentropy", metrics = "accuracy",
          weighted_metrics = c("accuracy", "mae"))
  expect_equal(m$metrics_names, c("loss", "accuracy", "weighted_accuracy", "mae"))
  s <- evaluate(m, d$x, d$y, sample_weight = w, verbose = 0)
  expect_named(s, c("loss", "accuracy", "mae", "weighted_accuracy"))
  p <- predict(m, d$x)
  correct <- as.numeric(max.col(p, ties.method = "first") == max.col(d$y, ties.method = "first"))
  expect_equal(s$accuracy, mean(correct), tolerance = 1e-6)
  expect_equal(s$weighted_accuracy, sum(w * correct) / sum(w), tolerance = 1e-6)
  expect_equal(s$mae, sum(w * rowMeans(abs(p - d$y))) / sum(w), tolerance = 1e-5)
  # class weights are sample weights: they leave `metrics` alone too
  h <- fit(m, d$x, d$y, epochs = 1, verbose = 0, shuffle = FALSE, batch_size = 60, class_weight = list("0" = 5, "1" = 0))
  correct <- as.numeric(max.col(p, ties.method = "first") == max.col(d$y, ties.method = "first"))
  cw <- ifelse(d$cls == 0, 5, 0)
  expect_equal(h$metrics$accuracy, mean(correct), tolerance = 1e-6)
  expect_equal(h$metrics$weighted_accuracy, sum(cw * correct) / sum(cw), tolerance = 1e-6)
  # the weighted metrics survive saving
  f <- tempfile(fileext = ".rds")
  saveRDS(m, f)
  expect_equal(readRDS(f)$metrics_names, m$metrics_names)
})

test_that("a callback reads the model it trains: weights, summary and count", {
  d <- toy_data(64)
  m <- toy_model()
  seen <- list()
  cb <- callback_lambda(on_epoch_end = function(epoch, logs) {
    seen[[length(seen) + 1]] <<- list(w = get_weights(m), n = count_params(m), s = format(m))
  })
  fit(m, d$x, d$y, epochs = 2, verbose = 0, callbacks = list(cb))
  expect_length(seen, 2)
  expect_equal(seen[[2]]$w, get_weights(m))
  expect_false(isTRUE(all.equal(seen[[1]]$w, seen[[2]]$w)))
  expect_equal(seen[[1]]$n, 58)
  expect_true(any(grepl("Total params: 58", seen[[1]]$s)))
})
