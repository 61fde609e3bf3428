# Printing and plotting what fit() returns, and the one-line descriptions (issue 17).

stopped_history <- function(stop_at = 6, epochs = 50) {
  d <- toy_data(100)
  model <- toy_model()
  stopper <- callback_lambda(on_epoch_end = function(epoch, logs) if (epoch >= stop_at) model$stop_training <- TRUE)
  fit(model, d$x, d$y, epochs = epochs, validation_split = 0.2, verbose = 0, callbacks = list(stopper))
}

test_that("print(history) has no blank lines, before or after", {
  h <- stopped_history(3, 10)
  out <- capture.output(print(h))
  expect_equal(out[1:2], c("Trained on 80 samples, validated on 20 samples (batch_size=32, epochs=3)",
                           "Final epoch (plot to see history):"))
  expect_length(out, 6)
  expect_false(any(trimws(out) == ""))
  expect_equal(sub(":.*", "", out[3:6]), format(c("accuracy", "loss", "val_accuracy", "val_loss"), justify = "right"))
  expect_equal(as.numeric(sub(".*: ", "", out[6])), signif(h$metrics$val_loss[3], 4))
  # a generator fit has no sample count: no leading blank line either
  h$params$samples <- NULL
  out <- capture.output(print(h))
  expect_equal(out[1], "Final epoch (plot to see history):")
  expect_invisible(print(h))
})

test_that("as.data.frame(history) puts the values at their epochs (initial_epoch, early stop)", {
  h <- stopped_history(4, 10)
  df <- as.data.frame(h)
  expect_equal(nrow(df), 40)  # keras: padded to `epochs` rows per series
  loss <- df[df$metric == "loss" & df$data == "training", ]
  expect_equal(loss$value[1:4], h$metrics$loss)
  expect_true(all(is.na(loss$value[5:10])))
  d <- toy_data(100)
  model <- toy_model()
  h2 <- fit(model, d$x, d$y, epochs = 5, initial_epoch = 3, verbose = 0)
  df2 <- as.data.frame(h2)
  expect_equal(df2$value[df2$metric == "loss"], c(NA, NA, NA, h2$metrics$loss))
})

test_that("plot(history) after early stopping: whole-number epochs, no smoothing and no loess warnings", {
  skip_if_not_installed("ggplot2")
  h <- stopped_history(6)
  p <- expect_silent(plot(h))
  expect_s3_class(p, "ggplot")
  layers <- vapply(p$layers, function(l) class(l$geom)[1], "")
  expect_equal(layers, "GeomPoint")
  f <- tempfile(fileext = ".png")
  grDevices::png(f, 600, 400)
  expect_silent(print(p))
  b <- ggplot2::ggplot_build(p)
  grDevices::dev.off()
  breaks <- b$layout$panel_params[[1]]$x$breaks
  breaks <- breaks[!is.na(breaks)]
  expect_true(length(breaks) >= 2 && all(breaks == round(breaks)))
  expect_equal(range(b$data[[1]]$x), c(1, 6))
  # keras for R's look: one facet per metric, labels outside, points with a black outline
  expect_equal(levels(b$layout$layout$metric), c("accuracy", "loss"))
  expect_equal(p$theme$strip.placement, "outside")
  expect_equal(p$layers[[1]]$aes_params$colour, 1)
  # enough epochs run: the smooth is there, still without warnings
  h15 <- stopped_history(15, 15)
  p15 <- plot(h15)
  expect_equal(vapply(p15$layers, function(l) class(l$geom)[1], ""), c("GeomPoint", "GeomSmooth"))
  grDevices::png(f, 600, 400)
  expect_silent(print(p15))
  grDevices::dev.off()
  expect_error(plot(h, metrics = "mae"), "no metric \"mae\"")
  expect_s3_class(plot(h, metrics = "val_loss", theme_bw = TRUE), "ggplot")
})

test_that("base graphics: whole-number epoch axis, labels inside the device, no warnings", {
  h <- stopped_history(7)
  f <- tempfile(fileext = ".png")
  grDevices::png(f, 500, 400)
  on.exit(if (grDevices::dev.cur() > 1) grDevices::dev.off(), add = TRUE)
  expect_silent(plot(h, method = "base"))
  # the bottom panel's margins leave the x label ("epoch", line 2.6) and the y labels room
  expect_gte(graphics::par("mar")[1], 3.6)
  expect_gte(graphics::par("mar")[2], 4)
  grDevices::dev.off()
  expect_gt(file.size(f), 2000)
  expect_equal(int_breaks(c(1, 7)), 1:7)
  expect_equal(int_breaks(c(1, 50)), c(0, 10, 20, 30, 40, 50))
  expect_equal(int_breaks(c(1, 2)), c(1, 2))
  expect_true(all(int_breaks(c(1, 3)) %% 1 == 0))
})

test_that("str(model) is one line; model$nonexistent is an error listing the fields", {
  model <- toy_model()
  out <- capture.output(str(model))
  expect_equal(out, paste0("<Sequential model \"", model$name,
                           "\": 2 layers, 58 parameters, compiled (adam, categorical_crossentropy)>"))
  unbuilt <- keras_model_sequential() %>% layer_dense(3)
  expect_match(capture.output(str(unbuilt)), "1 layer, not built, not compiled>$")
  err <- expect_error(model$nonexistent, class = "rkeras_error")
  expect_match(conditionMessage(err), "a model has no field \"nonexistent\"", fixed = TRUE)
  expect_match(conditionMessage(err), "layers, loss", fixed = TRUE)
  expect_error(model$layer, "did you mean \"get_layer\", \"layers\"")
  expect_equal(model$stop_training, NULL)
  expect_length(model$layers, 2)
  expect_true("trainable_weights" %in% utils::.DollarNames(model, "train"))
})

test_that("callbacks print what they are, their settings and their state after fit()", {
  es <- callback_early_stopping(patience = 2, monitor = "loss")
  out <- capture.output(print(es))
  expect_equal(out[1], "<callback early_stopping> (EarlyStopping)")
  expect_match(paste(out, collapse = " "), "monitor = \"loss\", min_delta = 0, patience = 2", fixed = TRUE)
  expect_equal(out[length(out)], "  not used in a fit() yet")
  d <- toy_data(100)
  model <- toy_model()
  fit(model, d$x, d$y, epochs = 3, verbose = 0, callbacks = list(es))
  out <- gsub(" +", " ", paste(capture.output(print(es)), collapse = " "))
  expect_match(out, "after the last fit\\(\\): best = [0-9.]+, best_epoch = 3, stopped_epoch = none, wait = 0")
  expect_equal(capture.output(print(callback_lambda(on_epoch_end = function(epoch, logs) NULL))),
               c("<callback r> (LambdaCallback)", "  hooks: on_epoch_end"))
  expect_equal(capture.output(print(callback_terminate_on_naan())), "<callback terminate_on_nan> (TerminateOnNaN)")
  Counter <- Callback("Counter", initialize = function() self$n <- 0, on_epoch_end = function(epoch, logs) self$n <- self$n + 1)
  cnt <- Counter()
  fit(model, d$x, d$y, epochs = 2, verbose = 0, callbacks = list(cnt))
  out <- capture.output(print(cnt))
  expect_equal(out, c("<callback class> (Counter)", "  hooks: on_epoch_end", "  fields: n = 2"))
})
