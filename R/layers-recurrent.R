# Recurrent layers: layer_simple_rnn(), layer_lstm(), layer_gru().

# The checks and the spec common to the recurrent layers.
recurrent_layer <- function(object, fn, class_name, prefix, units, activation, use_bias, kernel_initializer,
                            recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                            return_sequences, return_state, go_backwards, stateful, unroll, unsupported, dots,
                            name, extra = list()) {
  given <- names(Filter(Negate(is.null), unsupported))
  if (length(given)) stop_arg(fn, "(): ", paste0("`", given, "`", collapse = ", "), " not supported yet")
  dots <- check_dots(dots, c("input_shape", "batch_input_shape", "batch_size", "dtype", "trainable", "weights",
                             "time_major", "implementation", "use_cudnn", "seed", "input_dim", "input_length"),
                     fn = fn)
  if (isTRUE(dots$time_major))
    stop_arg(fn, "(): `time_major = TRUE` is not supported: inputs are (batch, timesteps, features)")
  if (isTRUE(check_flag(return_state, "return_state")))
    stop_arg(fn, "(): `return_state = TRUE` is not supported yet (rkeras layers have one output); ",
             "use return_sequences = TRUE to get every step's output")
  if (isTRUE(check_flag(stateful, "stateful")))
    stop_arg(fn, "(): `stateful = TRUE` is not supported yet: states are reset for every batch")
  rate <- function(x, what) {
    x <- check_number(x, what)
    if (x < 0 || x >= 1) stop_arg(fn, "(): `", what, "` must be in [0, 1), got ", x)
    x
  }
  args <- c(list(units = check_count(units, "units"),
                 activation = activation_name(activation)),
            extra,
            list(use_bias = check_flag(use_bias, "use_bias"),
                 kernel_initializer = initializer_spec(kernel_initializer, "kernel_initializer"),
                 recurrent_initializer = initializer_spec(recurrent_initializer, "recurrent_initializer"),
                 bias_initializer = initializer_spec(bias_initializer, "bias_initializer"),
                 dropout = rate(dropout, "dropout"),
                 recurrent_dropout = rate(recurrent_dropout, "recurrent_dropout"),
                 return_sequences = check_flag(return_sequences, "return_sequences"),
                 go_backwards = check_flag(go_backwards, "go_backwards"),
                 unroll = check_flag(unroll, "unroll")))
  shape <- input_shape_arg(dots$input_shape, dots$batch_input_shape,
                           if (!is.null(dots$input_dim))
                             c(dots$input_length, check_count(dots$input_dim, "input_dim")))
  make_layer(object, class_name, prefix, args, name, dots$trainable, shape)
}

recurrent_unsupported <- function(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                  activity_regularizer, kernel_constraint, recurrent_constraint, bias_constraint) {
  list(kernel_regularizer = kernel_regularizer, recurrent_regularizer = recurrent_regularizer,
       bias_regularizer = bias_regularizer, activity_regularizer = activity_regularizer,
       kernel_constraint = kernel_constraint, recurrent_constraint = recurrent_constraint,
       bias_constraint = bias_constraint)
}

#' Fully-connected RNN layer
#'
#' Runs over the steps of an input `(batch, timesteps, features)` with
#' `h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias)` (`h_0 = 0`), returning the
#' last output `(batch, units)`, or every step's `(batch, timesteps, units)` with
#' `return_sequences = TRUE`. Weights as in Keras: `kernel (features, units)`,
#' `recurrent_kernel (units, units)`, `bias (units)`.
#'
#' A matrix of sequences of single values (one sequence per row) must be reshaped to 3-d first:
#' `array_reshape(x, c(nrow(x), ncol(x), 1))`. Padded steps are skipped (the state is carried
#' over) when the input carries a mask (`layer_embedding(mask_zero = TRUE)`, `layer_masking()`).
#'
#' @inheritParams layer_dense
#' @param units Dimension of the output (and of the state).
#' @param activation Activation of the output (`"tanh"`); element-wise activations only.
#' @param recurrent_initializer Initializer of the recurrent kernel (`"orthogonal"`, see
#'   [initializer_orthogonal()]).
#' @param recurrent_regularizer,recurrent_constraint Not supported yet: must be `NULL`.
#' @param dropout Fraction of the input features to drop in training (one mask per batch,
#'   the same for every step).
#' @param recurrent_dropout Fraction of the state's units to drop in the recurrent products in
#'   training (each gate has its own masks, as Keras).
#' @param return_sequences Whether to return the output of every step.
#' @param return_state,stateful Only `FALSE` for now (an error otherwise).
#' @param go_backwards Whether to process the steps in reverse order (the returned sequence is
#'   then in the reversed order too, as Keras).
#' @param unroll Accepted (the result is the same).
#' @param seed Accepted for compatibility (dropout draws come from `set.seed()`).
#' @param ... `input_shape` (for the first layer: `c(timesteps, features)`),
#'   `batch_input_shape`, `trainable`, `input_dim`/`input_length`; `batch_size`, `dtype`,
#'   `time_major = FALSE`, `implementation`, `use_cudnn` are accepted for compatibility.
#' @param name Layer name (default `simple_rnn`, `simple_rnn_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 3)) %>%
#'   layer_simple_rnn(units = 8) %>%
#'   layer_dense(units = 1)
layer_simple_rnn <- function(object, units, activation = "tanh", use_bias = TRUE,
                             kernel_initializer = "glorot_uniform", recurrent_initializer = "orthogonal",
                             bias_initializer = "zeros", kernel_regularizer = NULL, recurrent_regularizer = NULL,
                             bias_regularizer = NULL, activity_regularizer = NULL, kernel_constraint = NULL,
                             recurrent_constraint = NULL, bias_constraint = NULL, dropout = 0,
                             recurrent_dropout = 0, return_sequences = FALSE, return_state = FALSE,
                             go_backwards = FALSE, stateful = FALSE, unroll = FALSE, seed = NULL, ...,
                             name = NULL) {
  recurrent_layer(object, "layer_simple_rnn", "SimpleRNN", "simple_rnn", units, activation, use_bias,
                  kernel_initializer, recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                  return_sequences, return_state, go_backwards, stateful, unroll,
                  recurrent_unsupported(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                        activity_regularizer, kernel_constraint, recurrent_constraint,
                                        bias_constraint), list(...), name)
}

#' Long Short-Term Memory layer
#'
#' Hochreiter & Schmidhuber's LSTM with Keras 3's equations: from
#' `z = x_t kernel + h_{t-1} recurrent_kernel + bias`, split in four gates `i, f, c, o`,
#' `c_t = f * c_{t-1} + i * activation(z_c)` and `h_t = o * activation(c_t)` (`i, f, o` through
#' `recurrent_activation`). Input `(batch, timesteps, features)`, output `(batch, units)` or,
#' with `return_sequences = TRUE`, `(batch, timesteps, units)`. Weights as Keras 3 keeps them:
#' `kernel (features, 4 * units)`, `recurrent_kernel (units, 4 * units)`, `bias (4 * units)`,
#' gates in the order i, f, c, o; so HDF5 files move between rkeras, Keras 3 and tf.keras 2.
#'
#' @inheritParams layer_simple_rnn
#' @param recurrent_activation Activation of the gates (`"sigmoid"`).
#' @param unit_forget_bias Whether the forget gate's bias starts at 1 (added to
#'   `bias_initializer`'s values, as Keras).
#' @param use_cudnn Accepted for compatibility.
#' @param name Layer name (default `lstm`, `lstm_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential() %>%
#'   layer_embedding(input_dim = 1000, output_dim = 16) %>%
#'   layer_lstm(units = 8) %>%
#'   layer_dense(units = 1, activation = "sigmoid")
layer_lstm <- function(object, units, activation = "tanh", recurrent_activation = "sigmoid", use_bias = TRUE,
                       kernel_initializer = "glorot_uniform", recurrent_initializer = "orthogonal",
                       bias_initializer = "zeros", unit_forget_bias = TRUE, kernel_regularizer = NULL,
                       recurrent_regularizer = NULL, bias_regularizer = NULL, activity_regularizer = NULL,
                       kernel_constraint = NULL, recurrent_constraint = NULL, bias_constraint = NULL,
                       dropout = 0, recurrent_dropout = 0, seed = NULL, return_sequences = FALSE,
                       return_state = FALSE, go_backwards = FALSE, stateful = FALSE, unroll = FALSE,
                       use_cudnn = "auto", ..., name = NULL) {
  recurrent_layer(object, "layer_lstm", "LSTM", "lstm", units, activation, use_bias, kernel_initializer,
                  recurrent_initializer, bias_initializer, dropout, recurrent_dropout, return_sequences,
                  return_state, go_backwards, stateful, unroll,
                  recurrent_unsupported(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                        activity_regularizer, kernel_constraint, recurrent_constraint,
                                        bias_constraint), list(...), name,
                  extra = list(recurrent_activation = activation_name(recurrent_activation),
                               unit_forget_bias = check_flag(unit_forget_bias, "unit_forget_bias")))
}

#' Gated Recurrent Unit layer
#'
#' Cho et al.'s GRU with Keras 3's equations: gates `z, r` and candidate `hh` from
#' `x_t kernel` and `h_{t-1} recurrent_kernel`, `h_t = z * h_{t-1} + (1 - z) * hh`. With
#' `reset_after = TRUE` (the default, as Keras) the reset gate multiplies the recurrent product
#' and the bias is `(2, 3 * units)` (input bias, recurrent bias); with `FALSE` it multiplies
#' `h_{t-1}` before the product and the bias is `(3 * units)`. Weights as Keras 3:
#' `kernel (features, 3 * units)`, `recurrent_kernel (units, 3 * units)`, gates z, r, h.
#'
#' @inheritParams layer_lstm
#' @param reset_after Whether to apply the reset gate after the recurrent product (see above).
#' @param name Layer name (default `gru`, `gru_1`, ...).
#' @returns The model (invisibly), a tensor, or a layer.
#' @family layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(20, 4)) %>%
#'   layer_gru(units = 8, return_sequences = TRUE) %>%
#'   layer_gru(units = 4)
layer_gru <- function(object, units, activation = "tanh", recurrent_activation = "sigmoid", use_bias = TRUE,
                      kernel_initializer = "glorot_uniform", recurrent_initializer = "orthogonal",
                      bias_initializer = "zeros", kernel_regularizer = NULL, recurrent_regularizer = NULL,
                      bias_regularizer = NULL, activity_regularizer = NULL, kernel_constraint = NULL,
                      recurrent_constraint = NULL, bias_constraint = NULL, dropout = 0, recurrent_dropout = 0,
                      seed = NULL, return_sequences = FALSE, return_state = FALSE, go_backwards = FALSE,
                      stateful = FALSE, unroll = FALSE, reset_after = TRUE, use_cudnn = "auto", ...,
                      name = NULL) {
  recurrent_layer(object, "layer_gru", "GRU", "gru", units, activation, use_bias, kernel_initializer,
                  recurrent_initializer, bias_initializer, dropout, recurrent_dropout, return_sequences,
                  return_state, go_backwards, stateful, unroll,
                  recurrent_unsupported(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                        activity_regularizer, kernel_constraint, recurrent_constraint,
                                        bias_constraint), list(...), name,
                  extra = list(recurrent_activation = activation_name(recurrent_activation),
                               reset_after = check_flag(reset_after, "reset_after")))
}
