# Functional graph models: specs (GRAPH-CONTRACT.md), keras's layer order, errors, Keras 3
# summaries (tests/fixtures/keras/summaries.json, made by tests/interop/make_summary_fixtures.py),
# deferred build and persistence.

# The fixture, read without a JSON package: each model's text, layer order and layer info.
read_summaries <- function() {
  txt <- paste(readLines(file.path(fixture_dir(), "keras", "summaries.json"), encoding = "UTF-8", warn = FALSE), collapse = "\n")
  # the file is json.dump(indent=1) of plain strings, lists and numbers: R can parse it as a
  # tiny subset of JSON by hand, model by model
  models <- list()
  for (name in c("siamese", "chain", "late_input", "frozen", "unbuilt")) {
    block <- regmatches(txt, regexpr(paste0('"', name, '": \\{.*?"layers": \\[.*?\\]\\n  \\}'), txt))
    text <- sub('^.*?"text": "(.*?)",\\n.*$', "\\1", block)
    text <- gsub("\\\\n", "\n", text)
    text <- gsub('\\\\"', '"', text)
    order <- sub('^.*?"layer_order": \\[(.*?)\\].*$', "\\1", block)
    order <- gsub('[\\s"]', "", strsplit(order, ",")[[1]], perl = TRUE)
    layers <- regmatches(block, gregexpr('"name": "[^"]+",\\s*"output_shape": \\[[^]]*\\],\\s*"params": \\d+', block))[[1]]
    info <- lapply(layers, function(l) {
      shape <- sub('^.*"output_shape": \\[([^]]*)\\].*$', "\\1", l)
      list(name = sub('^"name": "([^"]+)".*$', "\\1", l),
           output_shape = as.integer(strsplit(gsub("\\s", "", shape), ",")[[1]]),
           params = as.numeric(sub('^.*"params": (\\d+)$', "\\1", l)))
    })
    models[[name]] <- list(text = strsplit(text, "\n")[[1]], layer_order = order, info = info)
  }
  models
}

siamese_model <- function() {
  a <- layer_input(shape = 8, name = "input_a")
  b <- layer_input(shape = 8, name = "input_b")
  shared <- layer_dense(units = 4, name = "shared")
  c1 <- layer_concatenate(list(shared(a), shared(b)), name = "concat")
  o1 <- c1 %>% layer_dense(1, name = "out1")
  o2 <- c1 %>% layer_dense(3, activation = "softmax", name = "out2")
  keras_model(list(a, b), list(o1, o2), name = "siamese")
}

late_input_model <- function() {
  a <- layer_input(shape = 6, name = "a")
  b <- layer_input(shape = 2, name = "b")
  h <- a %>% layer_dense(5, name = "d1") %>% layer_dense(2, name = "d2")
  s <- layer_add(list(h, b), name = "add_residual_connection_layer")
  keras_model(list(a, b), s %>% layer_dense(1, name = "head"), name = "late_input")
}

# TRUE once the Rust core builds graph specs.
graph_core <- function() {
  x <- layer_input(shape = 2)
  m <- keras_model(x, layer_dense(x, 1))
  isTRUE(tryCatch({ rkeras:::model_ptr(m); TRUE }, error = function(e) FALSE))
}

test_that("a two-input model with a shared layer and two outputs gives the contract's spec", {
  m <- siamese_model()
  spec <- rkeras:::model_spec(m)
  expect_identical(spec$class_name, "Functional")
  expect_identical(spec$name, "siamese")
  expect_identical(spec$inputs, list(list(name = "input_a", shape = list(8L)), list(name = "input_b", shape = list(8L))))
  expect_identical(vapply(spec$layers, `[[`, "", "name"), c("shared", "concat", "out1", "out2"))
  expect_identical(spec$layers[[2]][c("class_name", "axis")], list(class_name = "Concatenate", axis = -1L))
  expect_identical(spec$nodes, list(
    list(layer = 0L, inputs = list(list(input = 0L))),
    list(layer = 0L, inputs = list(list(input = 1L))),
    list(layer = 1L, inputs = list(list(node = 0L), list(node = 1L))),
    list(layer = 2L, inputs = list(list(node = 2L))),
    list(layer = 3L, inputs = list(list(node = 2L)))))
  expect_identical(spec$outputs, list(list(node = 3L), list(node = 4L)))
  expect_identical(m$output_names, c("out1", "out2"))
  expect_length(m$inputs, 2)
  expect_s3_class(m$outputs[[1]], "rkeras_tensor")
})

test_that("model$layers follows keras's order: by depth, input layers included", {
  fx <- read_summaries()
  expect_identical(vapply(siamese_model()$layers, function(l) l$name, ""), fx$siamese$layer_order)
  late <- late_input_model()
  expect_identical(vapply(late$layers, function(l) l$name, ""), fx$late_input$layer_order)
  expect_identical(fx$late_input$layer_order, c("a", "d1", "d2", "b", "add_residual_connection_layer", "head"))
  # the spec's layers are that order without the inputs; the nodes are topological
  spec <- rkeras:::model_spec(late)
  expect_identical(vapply(spec$layers, `[[`, "", "name"), c("d1", "d2", "add_residual_connection_layer", "head"))
  expect_identical(spec$nodes[[3]]$inputs, list(list(node = 1L), list(input = 1L)))
  expect_identical(get_layer(late, index = 4)$name, "b")
  expect_identical(get_layer(late, name = "b")$class_name, "InputLayer")
})

test_that("layer objects are callable, and merge layers take lists, extra arguments or c() of tensors", {
  a <- layer_input(shape = 3)
  b <- layer_input(shape = 3)
  ab <- c(a, b)
  expect_type(ab, "list")
  expect_length(ab, 2)
  expect_s3_class(ab[[2]], "rkeras_tensor")
  add <- layer_add(name = "my_add")
  expect_s3_class(add, "rkeras_layer")
  expect_identical(add$name, "my_add")
  m1 <- keras_model(list(a, b), add(ab))
  m2 <- keras_model(list(a, b), layer_multiply(a, b, name = "mul"))
  expect_identical(rkeras:::model_spec(m1)$nodes, list(list(layer = 0L, inputs = list(list(input = 0L), list(input = 1L)))))
  expect_identical(rkeras:::model_spec(m2)$layers[[1]]$class_name, "Multiply")
  d <- layer_dot(list(a, b), axes = 1, normalize = TRUE, name = "cos")
  spec <- rkeras:::model_spec(keras_model(list(a, b), d))$layers[[1]]
  expect_identical(spec[c("class_name", "axes", "normalize")], list(class_name = "Dot", axes = list(1L, 1L), normalize = TRUE))
  r <- a %>% layer_repeat_vector(2, name = "rep") %>% layer_permute(c(2, 1), name = "perm") %>%
    layer_reshape(c(-1, 2), name = "resh") %>% layer_flatten(name = "flat")
  spec <- rkeras:::model_spec(keras_model(a, r))$layers
  expect_identical(lapply(spec, function(s) s[-(1:3)]),
                   list(list(n = 2L), list(dims = list(2L, 1L)), list(target_shape = list(-1L, 2L)),
                        structure(list(), names = character())))
  # a layer made once and applied to one input twice is one layer with two nodes
  dense <- layer_dense(units = 2, name = "twice")
  y <- dense(layer_dense(dense(a), 3, name = "between"))
  expect_error(keras_model(a, y), NA)
})

test_that("wrong graphs are errors that name the layers", {
  a <- layer_input(shape = 4, name = "in_a")
  b <- layer_input(shape = 4, name = "in_b")
  out <- layer_concatenate(list(a, b), name = "joined")
  expect_error(keras_model(a, out), 'Graph disconnected: cannot obtain value for tensor "in_b".*at layer "joined"',
               class = "rkeras_error")
  h <- layer_dense(a, 2, name = "h")
  expect_error(keras_model(h, layer_dense(h, 1)), "every input must be a tensor from layer_input\\(\\).*\"h\"")
  expect_error(keras_model(list(a, 3), out), "`inputs` must be a tensor from layer_input")
  expect_error(keras_model(a, "x"), "`outputs` must be a tensor")
  x1 <- layer_dense(a, 2, name = "same")
  expect_error(layer_dense(x1, 2, name = "same"), 'All layer names should be unique: "same"')
  y1 <- layer_dense(b, 2, name = "dup")
  y2 <- layer_dense(a, 2, name = "dup")
  expect_error(keras_model(list(a, b), layer_add(list(y1, y2))),
               'The name "dup" is used 2 times in the model. All layer names should be unique.')
  expect_error(layer_subtract(list(a, b, a)), "exactly 2 inputs, got 3")
  expect_error(layer_add(list(a)), "at least 2 inputs, got 1")
  dense <- layer_dense(units = 2, name = "single")
  expect_error(dense(list(a, b)), 'layer "single" \\(Dense\\) takes one input tensor, 2 were given')
  expect_error(layer_dense(1:3, 2), "must be a model, a tensor")
  expect_error(layer_concatenate(list(a, 1)), "must be a list of tensors")
  expect_error(layer_dot(list(a, b)), "`axes` is required")
  expect_error(layer_permute(a, c(1, 1)), "permutation")
  expect_error(layer_reshape(a, c(-1, -1)), "one of them may be -1")
  m <- keras_model(list(a, b), out)
  expect_error(pop_layer(m), "sequential models only")
  expect_error(m %>% layer_dense(2), "cannot be added to functional model")
  expect_error(m(list(a)), "takes 2 input\\(s\\), 1 tensor\\(s\\) were given")
})

test_that("Keras 3's summary text: graphs get the Connected to column, long names are cut as rich cuts them", {
  fx <- read_summaries()
  check <- function(model, key) {
    f <- fx[[key]]
    info <- lapply(f$info, function(l) list(output_shape = l$output_shape, params = l$params))
    expect_identical(vapply(model$layer_specs, `[[`, "", "name"), vapply(f$info, `[[`, "", "name"))
    expect_identical(rkeras:::format_keras3(model, 80, info = info), f$text)
  }
  check(siamese_model(), "siamese")
  check(late_input_model(), "late_input")
  x <- layer_input(shape = 4, name = "x")
  check(keras_model(x, x %>% layer_dense(3, name = "hidden") %>% layer_dense(2, name = "output_layer"), name = "chain"),
        "chain")
  inp <- layer_input(shape = 3, name = "inp")
  h <- layer_dense(inp, 4, name = "frozen_dense", trainable = FALSE)
  check(keras_model(inp, layer_concatenate(list(h, layer_dense(h, 2, name = "free_dense")), name = "cat"),
                    name = "frozen"), "frozen")
})

test_that("summary() of an unbuilt sequential model prints Keras 3's unbuilt table", {
  fx <- read_summaries()
  m <- keras_model_sequential(name = "sequential") %>% layer_dense(4, name = "dense") %>% layer_dense(1, name = "dense_1")
  expect_identical(format(m, line_length = 80), fx$unbuilt$text)
  expect_identical(capture.output(summary(m, line_length = 80)), fx$unbuilt$text)
})

test_that("a sequential model without input shape builds at the first fit(), seeded by set.seed()", {
  x <- matrix(seq(-1, 1, length.out = 60), 20, 3)
  y <- x %*% c(1, -2, 0.5)
  run <- function() {
    m <- keras_model_sequential() %>% layer_dense(4, activation = "tanh") %>% layer_dense(1)
    compile(m, optimizer = "adam", loss = "mse")
    expect_false(rkeras:::is_built(m))
    set.seed(42)
    fit(m, x, y, epochs = 2, batch_size = 5, verbose = 0)
    m
  }
  m1 <- run()
  m2 <- run()
  expect_identical(m1$input_shape, list(NULL, 3L))
  expect_identical(get_weights(m1), get_weights(m2))
  expect_identical(dim(get_weights(m1)[[1]]), c(3L, 4L))
  # predict() builds too; build() takes a batch shape
  m3 <- keras_model_sequential() %>% layer_dense(2)
  expect_identical(dim(predict(m3, x, verbose = 0)), c(20L, 2L))
  m4 <- keras_model_sequential() %>% layer_dense(2)
  build(m4, c(NA, 5))
  expect_identical(count_params(m4), 12)
  expect_error(keras_model_sequential() %>% layer_dense(2) %>% count_params(), "has no input shape yet")
  # an unbuilt model survives saveRDS() and builds after it
  m5 <- keras_model_sequential() %>% layer_dense(2)
  path <- tempfile(fileext = ".rds")
  saveRDS(m5, path)
  m6 <- readRDS(path)
  expect_identical(dim(predict(m6, x, verbose = 0)), c(20L, 2L))
})

test_that("graph models fit, predict and round-trip through saveRDS(), save_model() and serialize_model()", {
  skip_if_not(graph_core(), "the Rust core does not build graph specs yet")
  m <- siamese_model()
  set.seed(1)
  xa <- matrix(runif(80), 10, 8)
  xb <- matrix(runif(80), 10, 8)
  p <- predict(m, list(xa, xb), verbose = 0)
  expect_length(p, 2)
  fx <- read_summaries()
  expect_identical(format(m, line_length = 80), fx$siamese$text)
  path <- tempfile(fileext = ".rds")
  saveRDS(m, path)
  expect_identical(predict(readRDS(path), list(xa, xb), verbose = 0), p)
  file <- tempfile(fileext = ".rkeras")
  save_model(m, file)
  loaded <- load_model(file)
  expect_identical(predict(loaded, list(xa, xb), verbose = 0), p)
  expect_identical(vapply(loaded$layers, function(l) l$name, ""), fx$siamese$layer_order)
  expect_identical(rkeras:::model_spec(loaded)$nodes, rkeras:::model_spec(m)$nodes)
  expect_identical(predict(unserialize_model(serialize_model(m)), list(xa, xb), verbose = 0), p)
  # after a training step Keras 3 counts the optimizer's variables: adam has iteration,
  # learning rate and two slots per weight (2 + 2 * 72 = 146, as Keras prints for this model)
  compile(m, optimizer = "adam", loss = list("mse", "categorical_crossentropy"))
  train_on_batch(m, list(xa, xb), list(matrix(0, 10, 1), diag(3)[rep(1:3, length.out = 10), ]))
  out <- format(m, line_length = 80)
  expect_identical(tail(out, 4), c(" Total params: 218 (872.00 B)", " Trainable params: 72 (288.00 B)",
                                   " Non-trainable params: 0 (0.00 B)", " Optimizer params: 146 (584.00 B)"))
  # NA dimensions come from the data
  x <- layer_input(shape = c(NA, 3))
  d <- keras_model(x, layer_dense(x, 2))
  expect_false(rkeras:::is_built(d))
  expect_identical(dim(predict(d, array(1, c(4, 5, 3)), verbose = 0)), c(4L, 5L, 2L))
  expect_identical(d$input_shape, list(NULL, 5L, 3L))
})

test_that("models are callable on tensors and addable to sequential models (nested model specs)", {
  inner_in <- layer_input(shape = 4, name = "enc_in")
  encoder <- keras_model(inner_in, layer_dense(inner_in, 2, name = "enc_dense"), name = "encoder")
  a <- layer_input(shape = 4, name = "a")
  b <- layer_input(shape = 4, name = "b")
  joined <- layer_concatenate(list(encoder(a), encoder(b)), name = "joined")
  m <- keras_model(list(a, b), joined)
  spec <- rkeras:::model_spec(m)
  expect_length(spec$layers, 2)
  expect_identical(spec$layers[[1]][c("class_name", "name", "trainable")],
                   list(class_name = "Functional", name = "encoder", trainable = TRUE))
  expect_identical(spec$layers[[1]]$model$nodes, list(list(layer = 0L, inputs = list(list(input = 0L)))))
  expect_identical(spec$nodes[1:2], list(list(layer = 0L, inputs = list(list(input = 0L))),
                                          list(layer = 0L, inputs = list(list(input = 1L)))))
  s <- keras_model_sequential(input_shape = 4, name = "outer")
  s %>% encoder
  expect_identical(s$layer_specs[[1]]$class_name, "Functional")
  expect_identical(s$layer_specs[[1]]$model$name, "encoder")
})

test_that("keras_model() checks shapes as keras does: mismatched merges name the layer and the shapes", {
  a <- layer_input(shape = 4)
  b <- layer_input(shape = 5)
  expect_error(keras_model(list(a, b), layer_add(list(a, b), name = "plus")),
               "plus: inputs have incompatible shapes: (None, 4), (None, 5)", fixed = TRUE)
  c3 <- layer_input(shape = c(2, 3))
  c4 <- layer_input(shape = c(2, 4))
  expect_error(keras_model(list(c3, c4), layer_concatenate(list(c3, c4), axis = 1, name = "cat")),
               "cat: a Concatenate layer requires inputs with matching shapes except for the concatenation axis")
  ok <- keras_model(list(c3, c4), layer_concatenate(list(c3, c4), name = "cat2"))
  expect_identical(rkeras:::rk_model_layers(rkeras:::model_ptr(ok))[[1]]$output_shape, c(2L, 7L))
  expect_error(keras_model(a, layer_repeat_vector(layer_reshape(a, c(2, 2)), 3)), "RepeatVector takes 2-d input")
  enc_in <- layer_input(shape = 4)
  encoder <- keras_model(enc_in, layer_dense(enc_in, 2))
  expect_error(keras_model(b, encoder(b)), "the model expects input shape (None, 4), got (None, 5)", fixed = TRUE)
})

test_that("a nested model trains inside its outer model, applied twice with one set of weights", {
  enc_in <- layer_input(shape = 4, name = "n_enc_in")
  encoder <- keras_model(enc_in, enc_in %>% layer_dense(3, activation = "tanh", name = "n_enc_dense"),
                         name = "n_encoder")
  a <- layer_input(shape = 4, name = "n_a")
  b <- layer_input(shape = 4, name = "n_b")
  out <- layer_subtract(list(encoder(a), encoder(b)), name = "n_diff") %>%
    layer_dense(1, activation = "sigmoid", name = "n_score")
  m <- keras_model(list(a, b), out)
  m %>% compile(optimizer = "sgd", loss = "binary_crossentropy")
  expect_identical(count_params(m), 4 * 3 + 3 + 3 + 1)
  w <- get_weights(m)
  expect_identical(lapply(w, dim), list(c(4L, 3L), 3L, c(3L, 1L), 1L))
  set.seed(3)
  xa <- matrix(runif(40), 10)
  xb <- matrix(runif(40), 10)
  y <- matrix(rbinom(10, 1, 0.5))
  # by hand: sigmoid(tanh(xa K + c) - tanh(xb K + c)) V + d)
  by_hand <- 1 / (1 + exp(-((tanh(sweep(xa %*% w[[1]], 2, w[[2]], "+")) -
                               tanh(sweep(xb %*% w[[1]], 2, w[[2]], "+"))) %*% w[[3]] + as.numeric(w[[4]]))))
  expect_equal(predict(m, list(xa, xb), verbose = 0), by_hand, tolerance = 1e-6)
  h <- fit(m, list(xa, xb), y, epochs = 3, verbose = 0)
  expect_length(h$metrics$loss, 3)
  expect_false(identical(get_weights(m)[[1]], w[[1]]))
  expect_identical(predict(readRDS(local({ f <- tempfile(); saveRDS(m, f); f })), list(xa, xb), verbose = 0),
                   predict(m, list(xa, xb), verbose = 0))
})
