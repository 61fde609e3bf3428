# compile()/fit()/evaluate()/predict() for models with several inputs and outputs (issue 13).
# The R-side checks and compile specs are tested on a model spec that follows GRAPH-CONTRACT.md;
# the end-to-end tests compare with Keras 3 (tests/fixtures/multi_output, made by
# tests/interop/make_multi_output_fixtures.py).

# ---- output and input names ----

test_that("input and output names come from the graph; a sequential model has one of each", {
  m <- mock_graph_model(inputs = c("in_x", "in_y"), outputs = c("main_output", "aux_output"))
  expect_identical(rkeras:::model_input_names(m), c("in_x", "in_y"))
  expect_identical(rkeras:::model_output_names(m), c("main_output", "aux_output"))
  # an output can be an input passed straight through
  m$graph$outputs[[2]] <- list(input = 1L)
  expect_identical(rkeras:::model_output_names(m), c("main_output", "in_y"))
  s <- keras_model_sequential(input_shape = 4) %>% layer_dense(3, name = "hidden") %>% layer_dense(2, name = "probs")
  expect_identical(rkeras:::model_output_names(s), "probs")
  expect_length(rkeras:::model_input_names(s), 1)
})

# ---- compile specs ----

outs <- c("out1", "out2")

test_that("a loss list, loss weights and per-output metrics become lists in output order", {
  spec <- rkeras:::compile_spec_multi("sgd", list("categorical_crossentropy", "mse"), list(out1 = "accuracy", out2 = "mae"),
                                      c(1, 0.5), NULL, outs)
  expect_identical(names(spec), c("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "from_logits"))
  expect_identical(spec$loss, list("categorical_crossentropy", "mean_squared_error"))
  expect_identical(spec$loss_weights, list(1, 0.5))
  expect_identical(spec$metrics, list(list("accuracy"), list("mae")))
  expect_identical(spec$weighted_metrics, list(list(), list()))
  expect_identical(spec$from_logits, list(FALSE, FALSE))
})

test_that("named lists are put in output order, whatever order they are given in", {
  spec <- rkeras:::compile_spec_multi("sgd", list(out2 = "mse", out1 = loss_categorical_crossentropy(from_logits = TRUE)),
                                      list(out2 = c("mae", "mse")), list(out2 = 1, out1 = 0.3),
                                      list(out2 = "mse", out1 = "accuracy"), outs)
  expect_identical(spec$loss, list("categorical_crossentropy", "mean_squared_error"))
  expect_identical(spec$from_logits, list(TRUE, FALSE))
  expect_identical(spec$loss_weights, list(0.3, 1))
  expect_identical(spec$metrics, list(list(), list("mae", "mse")))  # out1 left out: no metrics
  expect_identical(spec$weighted_metrics, list(list("accuracy"), list("mse")))
  # a character vector of losses is one per output too
  expect_identical(rkeras:::compile_spec_multi("sgd", c("mse", "mae"), NULL, NULL, NULL, outs)$loss,
                   list("mean_squared_error", "mean_absolute_error"))
})

test_that("one loss applies to every output with weight 1", {
  spec <- rkeras:::compile_spec_multi("adam", "binary_crossentropy", NULL, NULL, NULL, outs)
  expect_identical(spec$loss, list("binary_crossentropy", "binary_crossentropy"))
  expect_identical(spec$loss_weights, list(1, 1))
  spec <- rkeras:::compile_spec_multi("adam", loss_binary_crossentropy, NULL, NULL, NULL, c("a", "b", "c"))
  expect_identical(spec$loss, rep(list("binary_crossentropy"), 3))
})

test_that("flat metrics: one per output when the lengths match (Keras 3), else all on every output", {
  m <- function(metrics, o = outs) rkeras:::resolve_output_metrics(metrics, o)
  expect_identical(m(c("accuracy", "mae")), list(list("accuracy"), list("mae")))
  expect_identical(m(list(c("accuracy", "mse"), "mae")), list(list("accuracy", "mse"), list("mae")))
  expect_identical(m(list("accuracy", NULL)), list(list("accuracy"), list()))
  expect_identical(m("accuracy"), list(list("accuracy"), list("accuracy")))
  expect_identical(m(metric_binary_accuracy()), list(list("binary_accuracy"), list("binary_accuracy")))
  expect_identical(m(c("accuracy", "mae", "mse")), rep(list(list("accuracy", "mae", "mse")), 2))
  expect_identical(m(NULL), list(list(), list()))
})

test_that("compile arguments come back from the core's compile spec in compile()'s layout", {
  spec <- rkeras:::compile_spec_multi("sgd", list(out2 = "mse", out1 = loss_categorical_crossentropy(from_logits = TRUE)),
                                      list(out2 = c("mae", "mse")), list(out2 = 1, out1 = 0.3), NULL, outs)
  expect_identical(rkeras:::compile_args_from_core(spec, 2L), spec)
  # a single loss string and empty lists stand for every output
  core <- list(optimizer = spec$optimizer, loss = "mean_squared_error", metrics = list(), weighted_metrics = NULL)
  back <- rkeras:::compile_args_from_core(core, 2L)
  expect_identical(back$loss, list("mean_squared_error", "mean_squared_error"))
  expect_identical(back$loss_weights, list(1, 1))
  expect_identical(back$metrics, list(list(), list()))
  expect_identical(back$from_logits, list(FALSE, FALSE))
  one <- list(optimizer = spec$optimizer, loss = "categorical_crossentropy", metrics = list("accuracy"),
              weighted_metrics = list(), from_logits = FALSE)
  expect_identical(rkeras:::compile_args_from_core(one), one)
})

test_that("a one-output model keeps its compile spec and takes a list of one entry", {
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = "softmax", name = "probs")
  model %>% compile(optimizer = "sgd", loss = "categorical_crossentropy", metrics = c("accuracy", "mae"))
  expect_identical(names(model$compile_args), c("optimizer", "loss", "metrics", "weighted_metrics", "from_logits"))
  expect_identical(model$compile_args$loss, "categorical_crossentropy")
  expect_identical(model$compile_args$metrics, list("accuracy", "mae"))
  expect_identical(model$compile_args$weighted_metrics, list())
  expect_false(model$compile_args$from_logits)
  before <- model$compile_args
  model %>% compile(optimizer = "sgd", loss = list(probs = "categorical_crossentropy"),
                    metrics = list(probs = c("accuracy", "mae")), loss_weights = list(probs = 1))
  expect_identical(model$compile_args, before)
  model %>% compile(optimizer = "sgd", loss = list("categorical_crossentropy"), metrics = list("accuracy", "mae"))
  expect_identical(model$compile_args, before)
  expect_error(compile(model, optimizer = "sgd", loss = list(out = "mse")),
               "`loss` names the output \"out\": the model has one output, \"probs\"", fixed = TRUE)
})

test_that("loss lists that do not match the outputs are errors naming the outputs", {
  m <- mock_graph_model()
  expect_error(compile(m, loss = list("categorical_crossentropy", "mse", "mae")),
               "`loss` has 3 entries but the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = list("mse")),
               "`loss` has 1 entry but the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = list(out1 = "mse", bad = "mse")),
               "`loss` names an unknown output \"bad\": the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = list(out1 = "mse")),
               "`loss` has no entry for the output \"out2\": the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = list(out1 = "mse", "mae")), "names some entries and not others", fixed = TRUE)
  expect_error(compile(m, loss = list("mse", NULL)), "no loss for the output \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = list("mse", "nonsense")), "nonsense")
  expect_error(compile(m, loss = list("mse", function(y_true, y_pred) y_true)), "custom R loss functions")
})

test_that("loss_weights and metrics that do not match the outputs are errors", {
  m <- mock_graph_model()
  expect_error(compile(m, loss = "mse", loss_weights = 1),
               "`loss_weights` has 1 entry but the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = "mse", loss_weights = c(1, 0.5, 2)), "`loss_weights` has 3 entries", fixed = TRUE)
  expect_error(compile(m, loss = "mse", loss_weights = list(out1 = 1, out3 = 2)),
               "`loss_weights` names an unknown output \"out3\"", fixed = TRUE)
  expect_error(compile(m, loss = "mse", loss_weights = c(out1 = 1)),
               "`loss_weights` has no entry for the output \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = "mse", loss_weights = list(1, "a")),
               "`loss_weights` for the output \"out2\" must be one finite number", fixed = TRUE)
  expect_error(compile(m, loss = "mse", loss_weights = "a"), "numeric vector or list")
  expect_error(compile(m, loss = "mse", metrics = list(bad = "accuracy")),
               "`metrics` names an unknown output \"bad\": the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(compile(m, loss = "mse", metrics = list(list("accuracy"), list(), list())),
               "`metrics` has 3 entries but the model has outputs", fixed = TRUE)
  expect_error(compile(m, loss = "mse", weighted_metrics = list(out2 = "nonsense")),
               "`weighted_metrics` for the output \"out2\": Unknown metric 'nonsense'", fixed = TRUE)
})

# ---- x and y as lists ----

test_that("x and y lists are matched by name or order and passed unnamed in input/output order", {
  m <- mock_graph_model()
  xa <- matrix(1, 3, 6); xb <- matrix(2, 3, 4); y1 <- matrix(0, 3, 3); y2 <- matrix(0.5, 3, 2)
  want <- list(x = list(xa, xb), y = list(y1, y2))
  expect_identical(rkeras:::model_xy(m, list(xa, xb), list(y1, y2)), want)
  expect_identical(rkeras:::model_xy(m, list(input_b = xb, input_a = xa), list(out2 = y2, out1 = y1)), want)
  expect_identical(rkeras:::model_xy(m, list(input_a = xa, input_b = xb), NULL, need_y = FALSE), list(x = list(xa, xb), y = NULL))
  expect_identical(rkeras:::model_xy(m, list(xa, xb), list(y1, y2), sample_weight = c(1, 2, 3)), want)
  # a one-input one-output model gets its arrays unchanged
  s <- keras_model_sequential(input_shape = 6) %>% layer_dense(3)
  expect_identical(rkeras:::model_xy(s, xa, y1), list(x = xa, y = y1))
  expect_identical(rkeras:::model_xy(s, list(xa), list(y1)), list(x = xa, y = y1))
})

test_that("x and y lists that do not match the inputs/outputs are errors naming them", {
  m <- mock_graph_model()
  xa <- matrix(1, 3, 6); xb <- matrix(2, 3, 4); y1 <- matrix(0, 3, 3); y2 <- matrix(0.5, 3, 2)
  xy <- function(...) rkeras:::model_xy(m, ...)
  expect_error(xy(xa, list(y1, y2)),
               "`x` must be a list of 2 arrays, one per input (the model has inputs \"input_a\", \"input_b\")", fixed = TRUE)
  expect_error(xy(list(xa, xb, xa), list(y1, y2)), "`x` has 3 entries but the model has inputs \"input_a\", \"input_b\"",
               fixed = TRUE)
  expect_error(xy(list(input_a = xa, input_c = xb), list(y1, y2)),
               "`x` names an unknown input \"input_c\": the model has inputs \"input_a\", \"input_b\"", fixed = TRUE)
  expect_error(xy(list(input_a = xa), list(y1, y2)), "`x` has no entry for the input \"input_b\"", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(y1)), "`y` has 1 entry but the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(out1 = y1, main = y2)), "`y` names an unknown output \"main\"", fixed = TRUE)
  expect_error(xy(list(xa, xb), NULL), "`y` is missing: the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(xy(list(xa, "a"), list(y1, y2)), "`x$input_b` must be a numeric matrix or array", fixed = TRUE)
  expect_error(xy(list(xa, xb[1:2, ]), list(y1, y2)), "`x$input_b` has 2 rows", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(y1, y2[1:2, ])), "`y$out2` has 2 rows", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(y1, y2), sample_weight = c(1, 2)), "`sample_weight` has 2 rows", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(y1, y2), sample_weight = list(1:3, 1:3)),
               "`sample_weight` must be one vector of per-sample weights (it applies to every output)", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(y1, y2), sample_weight = matrix(1, 3, 2)),
               "`sample_weight` must hold one weight per sample (a vector), got an array of shape (3, 2)", fixed = TRUE)
  expect_identical(xy(list(xa, xb), list(y1, y2), sample_weight = matrix(1, 3, 1))$x, list(xa, xb))
  s <- keras_model_sequential(input_shape = c(5, 6)) %>% layer_dense(3)
  expect_error(rkeras:::model_xy(s, array(1, c(3, 5, 6)), array(0, c(3, 5, 3)), sample_weight = matrix(1, 3, 5)),
               "got an array of shape (3, 5); weights per time step or per output are not supported", fixed = TRUE)
  expect_error(xy(list(xa, xb), list(y1, y2[1:2, ]), prefix = "validation_data: "),
               "`validation_data: y$out2` has 2 rows", fixed = TRUE)
  expect_error(rkeras:::class_weight_arg(list("0" = 1, "1" = 2), NULL, m),
               "`class_weight` is only supported for models with a single output", fixed = TRUE)
})

test_that("generator batches with named x / y lists are put in input/output order", {
  m <- mock_graph_model()
  g <- rkeras:::io_generator(function() list(list(input_b = 2, input_a = 1), list(out2 = "b", out1 = "a"), 1:2), m)
  expect_identical(g(), list(list(1, 2), list("a", "b"), 1:2))
  g <- rkeras:::io_generator(function() list(list(1, 2)), m)  # prediction: x only, unnamed
  expect_identical(g(), list(list(1, 2)))
  g <- rkeras:::io_generator(function() list(list(input_a = 1, other = 2), list(3, 4)), m)
  expect_error(g(), "`x (from the generator)` names an unknown input \"other\"", fixed = TRUE)
  gen <- function() list(1, 2)
  s <- keras_model_sequential(input_shape = 6) %>% layer_dense(3)
  expect_identical(rkeras:::io_generator(gen, s), gen)
})

# ---- end to end against Keras 3 ----

check_logs <- function(got, want, tolerance = 1e-5) {
  expect_identical(names(got), names(want))
  expect_equal(unname(unlist(got)), unname(want), tolerance = tolerance)
}

check_history <- function(history, want) {
  expect_identical(names(history$metrics), names(want))
  for (k in names(want)) expect_equal(history$metrics[[k]], want[[k]], tolerance = 1e-5, label = k)
}

# Keras' evaluate() order with `loss` moved first, as rkeras' evaluate() returns it.
loss_first <- function(v) v[c("loss", setdiff(names(v), "loss"))]

two_io_from_fixture <- function(fx) {
  model <- two_io_model()
  expect_identical(rkeras:::model_input_names(model), unlist(fx$model$inputs))
  expect_identical(rkeras:::model_output_names(model), unlist(fx$model$outputs))
  set_weights(model, fx_weights(fx$weights))
  model
}

test_that("two inputs, two outputs: evaluate, fit history, predict and batch verbs match Keras 3", {
  fx <- multi_output_fixture("two_io")
  model <- two_io_from_fixture(fx)
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y); xv <- fx_arrays(fx$x_val); yv <- fx_arrays(fx$y_val)
  p0 <- predict(model, x, batch_size = 8, verbose = 0)
  expect_type(p0, "list")
  expect_null(names(p0))
  expect_equal(p0, fx_arrays(fx$predict_initial), tolerance = 1e-6)
  model %>% compile(optimizer = optimizer_sgd(learning_rate = 0.1), loss = list("categorical_crossentropy", "mse"),
                    loss_weights = c(1, 0.5), metrics = list(out1 = "accuracy", out2 = "mae"))
  check_logs(evaluate(model, x, y, batch_size = 8, verbose = 0), loss_first(fx_logs(fx$evaluate)))
  check_logs(evaluate(model, x, y, sample_weight = as.numeric(fx_array(fx$sample_weight)), batch_size = 8, verbose = 0),
             loss_first(fx_logs(fx$evaluate_weighted)))
  check_logs(evaluate(model, unname(xv), unname(yv), batch_size = 8, verbose = 0), loss_first(fx_logs(fx$evaluate_val)))
  # named lists in another order than the model's
  history <- fit(model, rev(x), rev(y), batch_size = 8, epochs = 2, shuffle = FALSE, verbose = 0,
                 validation_data = list(xv, yv))
  check_history(history, fx_history(fx$history))
  expect_equal(get_weights(model), fx_weights(fx$weights_after_fit), tolerance = 1e-5)
  expect_equal(predict(model, x, batch_size = 8, verbose = 0), fx_arrays(fx$predict_after_fit), tolerance = 1e-6)
  check_logs(evaluate(model, x, y, batch_size = 8, verbose = 0), loss_first(fx_logs(fx$evaluate_after_fit)))
  bx <- lapply(x, function(a) a[1:8, , drop = FALSE]); by <- lapply(y, function(a) a[1:8, , drop = FALSE])
  check_logs(as.list(test_on_batch(model, bx, by)), loss_first(fx_logs(fx$test_on_batch)))
  check_logs(as.list(train_on_batch(model, bx, by)), loss_first(fx_logs(fx$train_on_batch)))
  expect_equal(predict_on_batch(model, bx), fx_arrays(fx$predict_after_train_on_batch), tolerance = 1e-6)
})

test_that("named losses and weights, flat metrics, weighted metrics and sample_weight match Keras 3", {
  fx <- multi_output_fixture("two_io_named")
  model <- two_io_from_fixture(fx)
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y); xv <- fx_arrays(fx$x_val); yv <- fx_arrays(fx$y_val)
  sw <- as.numeric(fx_array(fx$sample_weight))
  model %>% compile(optimizer = optimizer_sgd(learning_rate = 0.1),
                    loss = list(out2 = "mse", out1 = "categorical_crossentropy"),
                    loss_weights = list(out2 = 1, out1 = 0.3), metrics = c("accuracy", "mae"),
                    weighted_metrics = list("accuracy", "mse"))
  check_logs(evaluate(model, x, y, batch_size = 8, verbose = 0), loss_first(fx_logs(fx$evaluate)))
  check_logs(evaluate(model, x, y, sample_weight = sw, batch_size = 8, verbose = 0),
             loss_first(fx_logs(fx$evaluate_weighted)))
  history <- fit(model, x, y, sample_weight = sw, batch_size = 8, epochs = 2, shuffle = FALSE, verbose = 0,
                 validation_data = list(xv, yv))
  check_history(history, fx_history(fx$history))
  expect_equal(get_weights(model), fx_weights(fx$weights_after_fit), tolerance = 1e-5)
  expect_equal(predict(model, x, batch_size = 8, verbose = 0), fx_arrays(fx$predict_after_fit), tolerance = 1e-6)
})

test_that("Keras' main/aux example: log keys sorted as Keras writes them, validation_split on two inputs", {
  fx <- multi_output_fixture("aux_main")
  model <- aux_main_model()
  expect_identical(vapply(model$layers, function(l) l$name, ""), vapply(fx$model$layers, `[[`, "", "name"))
  expect_identical(rkeras:::model_output_names(model), c("main_output", "aux_output"))
  set_weights(model, fx_weights(fx$weights))
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y)
  expect_equal(predict(model, x, batch_size = 5, verbose = 0), fx_arrays(fx$predict_initial), tolerance = 1e-6)
  model %>% compile(optimizer = optimizer_sgd(learning_rate = 0.1), loss = "binary_crossentropy",
                    loss_weights = c(main_output = 1, aux_output = 0.2), metrics = list(aux_output = "accuracy",
                                                                                        main_output = "accuracy"))
  check_logs(evaluate(model, x, y, batch_size = 5, verbose = 0), loss_first(fx_logs(fx$evaluate)))
  history <- fit(model, x, y, batch_size = 5, epochs = 2, shuffle = FALSE, validation_split = 0.25, verbose = 0)
  check_history(history, fx_history(fx$history))
  expect_identical(names(history$metrics)[1:3], c("aux_output_accuracy", "aux_output_loss", "loss"))
  expect_equal(get_weights(model), fx_weights(fx$weights_after_fit), tolerance = 1e-5)
  expect_equal(predict(model, x, batch_size = 5, verbose = 0), fx_arrays(fx$predict_after_fit), tolerance = 1e-6)
})

test_that("a generator may yield lists of inputs and targets", {
  fx <- multi_output_fixture("two_io")
  model <- two_io_from_fixture(fx)
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y); xv <- fx_arrays(fx$x_val); yv <- fx_arrays(fx$y_val)
  model %>% compile(optimizer = optimizer_sgd(learning_rate = 0.1), loss = list("categorical_crossentropy", "mse"),
                    loss_weights = c(1, 0.5), metrics = list(out1 = "accuracy", out2 = "mae"))
  step <- 0
  gen <- function() {
    rows <- (step %% 3) * 8 + 1:8
    step <<- step + 1
    # named lists in another order than the model's
    list(rev(lapply(x, function(a) a[rows, , drop = FALSE])), rev(lapply(y, function(a) a[rows, , drop = FALSE])))
  }
  history <- fit(model, gen, steps_per_epoch = 3, epochs = 2, verbose = 0, validation_data = list(xv, yv))
  expect_identical(step, 6)
  check_history(history, fx_history(fx$history))
  step <- 0
  pred <- predict(model, function() { step <<- step + 1; list(x) }, steps = 1, verbose = 0)
  expect_equal(pred, fx_arrays(fx$predict_after_fit), tolerance = 1e-6)
})

test_that("a (batch, time, classes) softmax with categorical cross-entropy and sample_weight matches Keras 3", {
  fx <- multi_output_fixture("sequence")
  model <- keras_model_sequential(input_shape = c(5, 4)) %>%
    layer_dense(6, activation = "tanh", name = "dense") %>%
    layer_dense(3, activation = "softmax", name = "probs")
  set_weights(model, fx_weights(fx$weights))
  x <- fx_array(fx$x); y <- fx_array(fx$y); sw <- as.numeric(fx_array(fx$sample_weight))
  expect_equal(dim(x), c(12L, 5L, 4L))
  expect_equal(predict(model, x, batch_size = 4, verbose = 0), fx_array(fx$predict_initial), tolerance = 1e-6)
  model %>% compile(optimizer = optimizer_sgd(learning_rate = 0.1), loss = "categorical_crossentropy",
                    metrics = "accuracy")
  check_logs(evaluate(model, x, y, batch_size = 4, verbose = 0), loss_first(fx_logs(fx$evaluate)))
  check_logs(evaluate(model, x, y, sample_weight = sw, batch_size = 4, verbose = 0), loss_first(fx_logs(fx$evaluate_weighted)))
  history <- fit(model, x, y, sample_weight = sw, batch_size = 4, epochs = 2, shuffle = FALSE, verbose = 0,
                 validation_data = list(fx_array(fx$x_val), fx_array(fx$y_val), as.numeric(fx_array(fx$sample_weight_val))))
  check_history(history, fx_history(fx$history))
  expect_equal(get_weights(model), fx_weights(fx$weights_after_fit), tolerance = 1e-5)
  expect_equal(predict(model, x, batch_size = 4, verbose = 0), fx_array(fx$predict_after_fit), tolerance = 1e-6)
})

test_that("a generator naming unknown inputs stops fit() with an error naming them", {
  fx <- multi_output_fixture("two_io")
  model <- two_io_from_fixture(fx)
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y)
  model %>% compile(optimizer = "sgd", loss = list("categorical_crossentropy", "mse"))
  w0 <- get_weights(model)
  expect_error(fit(model, function() list(list(a = x$input_a, b = x$input_b), y), steps_per_epoch = 1, epochs = 1,
                   verbose = 0), "`x (from the generator)` names unknown inputs \"a\", \"b\"", fixed = TRUE)
  expect_identical(get_weights(model), w0)
})

test_that("fit(), evaluate() and the batch verbs on a two-output model refuse mismatched lists before building it", {
  fx <- multi_output_fixture("two_io")
  model <- two_io_model(shape_a = NA)  # unbuilt: nothing reaches Rust
  expect_false(rkeras:::is_built(model))
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y)
  expect_error(compile(model, loss = list("categorical_crossentropy", "mse", "mae")),
               "`loss` has 3 entries but the model has outputs \"out1\", \"out2\"", fixed = TRUE)
  expect_error(fit(model, x, y, verbose = 0), "You must compile your model", fixed = TRUE)
  model %>% compile(optimizer = "sgd", loss = list(out2 = "mse", out1 = "categorical_crossentropy"),
                    metrics = list(out1 = "accuracy"))
  expect_identical(model$compile_args$loss, list("categorical_crossentropy", "mean_squared_error"))
  expect_identical(model$compile_args$metrics, list(list("accuracy"), list()))
  expect_error(fit(model, x$input_a, y, verbose = 0), "`x` must be a list of 2 arrays", fixed = TRUE)
  expect_error(fit(model, list(input_a = x$input_a, other = x$input_b), y, verbose = 0),
               "`x` names an unknown input \"other\"", fixed = TRUE)
  expect_error(fit(model, x, list(y$out1), verbose = 0), "`y` has 1 entry", fixed = TRUE)
  expect_error(fit(model, x, y, verbose = 0, validation_data = list(x, list(y$out1, y$out2[1:3, ]))),
               "`validation_data: y$out2` has 3 rows", fixed = TRUE)
  expect_error(fit(model, x, y, class_weight = list("0" = 1, "1" = 2), verbose = 0),
               "`class_weight` is only supported for models with a single output", fixed = TRUE)
  expect_error(evaluate(model, x, list(out1 = y$out1), verbose = 0), "no entry for the output \"out2\"", fixed = TRUE)
  expect_error(predict(model, list(x$input_a), verbose = 0), "`x` has 1 entry but the model has inputs", fixed = TRUE)
  expect_error(train_on_batch(model, x, y, class_weight = list("0" = 1)), "single output", fixed = TRUE)
  expect_error(test_on_batch(model, x, list(y$out1, y$out2[1:5, ])), "`y$out2` has 5 rows", fixed = TRUE)
  expect_false(rkeras:::is_built(model))
})

test_that("a compiled two-output model keeps its per-output compile settings through serialize_model()", {
  fx <- multi_output_fixture("two_io")
  model <- two_io_from_fixture(fx)
  model %>% compile(optimizer = optimizer_sgd(learning_rate = 0.1), loss = list("categorical_crossentropy", "mse"),
                    loss_weights = c(1, 0.5), metrics = list(out1 = c("accuracy", "mse"), out2 = "mae"),
                    weighted_metrics = list(out2 = "mse"))
  back <- unserialize_model(serialize_model(model))
  expect_identical(back$loss, list("categorical_crossentropy", "mean_squared_error"))
  env <- function(m) rkeras:::model_env(m)
  keep <- c("loss", "loss_weights", "metrics", "weighted_metrics", "from_logits")
  expect_identical(env(back)$compile_args[keep], env(model)$compile_args[keep])
  x <- fx_arrays(fx$x); y <- fx_arrays(fx$y)
  expect_identical(evaluate(back, x, y, batch_size = 8, verbose = 0), evaluate(model, x, y, batch_size = 8, verbose = 0))
})
