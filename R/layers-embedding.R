# Embedding layer: layer_embedding().

#' Embedding layer
#'
#' Turns integer ids into dense vectors: each id `i` of the input `(batch, sequence_length)`
#' becomes row `i + 1` (ids count from 0) of the `(input_dim, output_dim)` weight
#' `embeddings`, giving `(batch, sequence_length, output_dim)`. Ids may be given as integers
#' or whole doubles; any other value, or an id outside `0:(input_dim - 1)`, is an error that
#' names the value, its row and its step. Ids are carried as float32, so `input_dim` is at
#' most 2^24.
#'
#' @inheritParams layer_dense
#' @param input_dim Size of the vocabulary: the largest id plus one.
#' @param output_dim Length of each embedding vector.
#' @param embeddings_initializer Initializer of the embeddings: `"uniform"` (uniform in
#'   `[-0.05, 0.05]`, as Keras), another initializer name, or [initializer_random_uniform()]
#'   and friends.
#' @param embeddings_regularizer,activity_regularizer,embeddings_constraint Not supported yet:
#'   must be `NULL`.
#' @param mask_zero Whether id 0 is padding: with `TRUE` the output carries a Keras mask that is
#'   false where the id is 0, so the layers after it that use masks skip those steps (global
#'   average pooling 1-d averages over the other steps, recurrent layers skip them, and the
#'   loss and metrics of a sequence output leave them out). Id 0 still has its row in
#'   `embeddings`, so `input_dim` counts it.
#' @param input_length Length of the input sequences, for the first layer of a sequential
#'   model (its input shape is then `input_length`).
#' @param weights Not supported yet (an error): set a pretrained table with
#'   `set_weights(get_layer(model, name), list(matrix))` once the model is built.
#' @param ... `input_shape`, `batch_input_shape`, `dtype` and `sparse = FALSE` (accepted for
#'   compatibility).
#' @param name Layer name (default `embedding`, `embedding_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_embedding(input_dim = 1000, output_dim = 16, input_length = 20) %>%
#'   layer_flatten() %>%
#'   layer_dense(units = 1, activation = "sigmoid")
layer_embedding <- function(object, input_dim, output_dim, embeddings_initializer = "uniform",
                            embeddings_regularizer = NULL, activity_regularizer = NULL, embeddings_constraint = NULL,
                            mask_zero = FALSE, input_length = NULL, batch_size = NULL, name = NULL, trainable = NULL,
                            weights = NULL, ...) {
  fn <- "layer_embedding"
  unsupported <- list(embeddings_regularizer = embeddings_regularizer, activity_regularizer = activity_regularizer,
                      embeddings_constraint = embeddings_constraint)
  given <- names(Filter(Negate(is.null), unsupported))
  if (length(given)) stop_arg(fn, "(): ", paste0("`", given, "`", collapse = ", "), " not supported yet")
  mask_zero <- check_flag(mask_zero, "mask_zero")
  if (!is.null(weights))
    stop_arg(fn, "(): `weights` is not supported yet; build the model, then set the table with ",
             "set_weights(get_layer(model, \"", name %||% "embedding", "\"), list(matrix)) ",
             "(an input_dim x output_dim matrix)")
  dots <- check_dots(list(...), c("input_shape", "batch_input_shape", "dtype", "sparse"), fn = fn)
  if (!is.null(dots$sparse) && !identical(dots$sparse, FALSE))
    stop_arg(fn, "(): `sparse = TRUE` is not supported (the embedding gradient is dense)")
  input_dim <- check_count(input_dim, "input_dim", max = 2^24)  # ids are carried as float32
  init <- if (identical(embeddings_initializer, "uniform"))
    list(name = "random_uniform", minval = -0.05, maxval = 0.05)
  else initializer_spec(embeddings_initializer, "embeddings_initializer")
  args <- list(input_dim = input_dim, output_dim = check_count(output_dim, "output_dim"),
               embeddings_initializer = init)
  if (mask_zero) args$mask_zero <- TRUE
  shape <- input_shape_arg(dots$input_shape, dots$batch_input_shape,
                           if (!is.null(input_length)) check_count(input_length, "input_length"))
  make_layer(object, "Embedding", "embedding", args, name, trainable, shape)
}
