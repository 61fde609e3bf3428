# Weight initializers with parameters (plain names like "he_normal" also work).

new_initializer <- function(name, ...) structure(list(name = name, ...), class = "rkeras_initializer")

#' Weight initializers
#'
#' For `kernel_initializer =` / `bias_initializer =`; names such as `"glorot_uniform"`,
#' `"he_normal"`, `"lecun_uniform"`, `"zeros"`, `"ones"` can be given as strings.
#'
#' @param mean,stddev Mean and standard deviation.
#' @param minval,maxval Bounds of the uniform distribution.
#' @param value The constant.
#' @param seed Accepted for compatibility (draws come from `set.seed()`).
#' @param gain Multiplier of the orthogonal or identity matrix.
#' @returns An initializer.
#' @family layers
#' @name initializers
#' @examples
#' layer <- layer_dense(units = 3, kernel_initializer = initializer_random_normal(stddev = 0.1))
NULL

#' @rdname initializers
#' @export
initializer_random_normal <- function(mean = 0, stddev = 0.05, seed = NULL)
  new_initializer("random_normal", mean = check_number(mean, "mean"), stddev = check_number(stddev, "stddev"))

#' @rdname initializers
#' @export
initializer_random_uniform <- function(minval = -0.05, maxval = 0.05, seed = NULL)
  new_initializer("random_uniform", minval = check_number(minval, "minval"), maxval = check_number(maxval, "maxval"))

#' @rdname initializers
#' @export
initializer_truncated_normal <- function(mean = 0, stddev = 0.05, seed = NULL)
  new_initializer("truncated_normal", mean = check_number(mean, "mean"), stddev = check_number(stddev, "stddev"))

#' @rdname initializers
#' @export
initializer_constant <- function(value = 0) new_initializer("constant", value = check_number(value, "value"))

#' @rdname initializers
#' @export
initializer_zeros <- function() new_initializer("zeros")

#' @rdname initializers
#' @export
initializer_ones <- function() new_initializer("ones")

#' @rdname initializers
#' @export
initializer_glorot_uniform <- function(seed = NULL) new_initializer("glorot_uniform")

#' @rdname initializers
#' @export
initializer_glorot_normal <- function(seed = NULL) new_initializer("glorot_normal")

#' @rdname initializers
#' @export
initializer_he_uniform <- function(seed = NULL) new_initializer("he_uniform")

#' @rdname initializers
#' @export
initializer_he_normal <- function(seed = NULL) new_initializer("he_normal")

#' @rdname initializers
#' @export
initializer_lecun_uniform <- function(seed = NULL) new_initializer("lecun_uniform")

#' @rdname initializers
#' @export
initializer_lecun_normal <- function(seed = NULL) new_initializer("lecun_normal")

#' @rdname initializers
#' @details `initializer_orthogonal()` draws a random orthogonal matrix (the Q of the QR
#'   decomposition of a matrix of standard normals, as Keras), the weight read as a matrix of
#'   its last axis' columns; the default recurrent initializer of the recurrent layers.
#'   `initializer_identity()` is `gain` times the identity matrix (2-d weights).
#' @export
initializer_orthogonal <- function(gain = 1, seed = NULL) new_initializer("orthogonal", gain = check_number(gain, "gain"))

#' @rdname initializers
#' @export
initializer_identity <- function(gain = 1) new_initializer("identity", gain = check_number(gain, "gain"))
