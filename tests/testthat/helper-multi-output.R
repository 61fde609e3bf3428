# Fixtures of tests/fixtures/multi_output (Keras 3 reference values, see tests/fixtures/README.md)
# and the models they describe, built with rkeras' functional API.

multi_output_fixture <- function(name) {
  path <- file.path(fixture_dir("multi_output"), paste0(name, ".json"))
  if (!file.exists(path)) stop("test fixture not found: ", path, call. = FALSE)
  jsonlite::fromJSON(path, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
}

# {shape, data} (row-major) as an R array (a 1-d array for one axis, as get_weights() gives a
# bias; as.numeric() of it for a plain vector).
fx_array <- function(e) {
  s <- as.integer(unlist(e$shape))
  d <- as.numeric(unlist(e$data))
  if (length(s) == 1) return(array(d, s))
  aperm(array(d, dim = rev(s)), rev(seq_along(s)))
}

fx_arrays <- function(e) lapply(e, fx_array)

fx_weights <- function(w) lapply(w, fx_array)

# The logs Keras wrote, in its order, as a named numeric vector.
fx_logs <- function(e) unlist(e$values[unlist(e$keys)])

fx_history <- function(e) lapply(e$values[unlist(e$keys)], function(v) as.numeric(unlist(v)))

# The two-input two-output model of two_io*.json: input_a (6) -> dense_a (5, relu),
# input_b (4) -> dense_b (3, tanh), concatenated, out1 = dense(3, softmax), out2 = dense(2).
# `shape_a = NA` leaves the model unbuilt (built from the data by its first fit()).
two_io_model <- function(shape_a = 6) {
  a <- layer_input(shape = shape_a, name = "input_a")
  b <- layer_input(shape = 4, name = "input_b")
  ha <- a %>% layer_dense(5, activation = "relu", name = "dense_a")
  hb <- b %>% layer_dense(3, activation = "tanh", name = "dense_b")
  h <- layer_concatenate(list(ha, hb), name = "concat")
  o1 <- h %>% layer_dense(3, activation = "softmax", name = "out1")
  o2 <- h %>% layer_dense(2, name = "out2")
  keras_model(inputs = list(a, b), outputs = list(o1, o2), name = "two_io")
}

# Keras' classic example of aux_main.json: main_input (8) -> encoder -> aux_output, and
# [encoder, aux_input (3)] -> mixer -> main_output; outputs (main_output, aux_output).
aux_main_model <- function() {
  main_in <- layer_input(shape = 8, name = "main_input")
  aux_in <- layer_input(shape = 3, name = "aux_input")
  enc <- main_in %>% layer_dense(6, activation = "relu", name = "encoder")
  aux_out <- enc %>% layer_dense(1, activation = "sigmoid", name = "aux_output")
  mixed <- layer_concatenate(list(enc, aux_in), name = "merge") %>% layer_dense(4, activation = "relu", name = "mixer")
  main_out <- mixed %>% layer_dense(1, activation = "sigmoid", name = "main_output")
  keras_model(list(main_in, aux_in), list(main_out, aux_out), name = "aux_main")
}

# A model whose spec follows GRAPH-CONTRACT.md without going through the functional API: for
# the R-side checks (compile spec, x/y lists), which need no Rust model.
mock_graph_model <- function(inputs = c("input_a", "input_b"), outputs = c("out1", "out2")) {
  model <- rkeras:::new_model("Functional", "mock")
  layers <- lapply(outputs, function(n) list(class_name = "Dense", name = n, units = 1L))
  layers <- c(list(list(class_name = "Concatenate", name = "concat", axis = -1L)), layers)
  nodes <- c(list(list(layer = 0L, inputs = lapply(seq_along(inputs) - 1L, function(i) list(input = i)))),
             lapply(seq_along(outputs), function(j) list(layer = j, inputs = list(list(node = 0L)))))
  model$graph <- list(name = "mock", class_name = "Functional",
                      inputs = lapply(inputs, function(n) list(name = n, shape = list(2L))),
                      layers = layers, nodes = nodes,
                      outputs = lapply(seq_along(outputs), function(j) list(node = j)))
  model
}
