# Array utilities that keras for R re-exports: to_categorical(), array_reshape()
# and normalize(). Pure R; semantics follow numpy/Keras (see keras-api.md s. 14).

#' Convert integer class labels to a one-hot (binary class) matrix
#'
#' Like `keras.utils.to_categorical()`. Labels are **0-based**: `0` is the
#' first class. Doubles are truncated towards zero (as numpy's `int` cast
#' does). A trailing dimension of length 1 is dropped, so an `n x 1` matrix
#' gives an `n x num_classes` matrix; in general the result has dimensions
#' `c(dim(y), num_classes)` and `result[i, j, ]` is the one-hot code of
#' `y[i, j]`.
#'
#' Unlike numpy, negative labels are an error (numpy silently indexes from the
#' end), as are missing values and labels `>= num_classes`. Factors are
#' rejected because their codes are 1-based: use `as.integer(f) - 1L`.
#'
#' @param y A vector, matrix or array of class labels, integers from 0 to
#'   `num_classes - 1`.
#' @param num_classes Total number of classes. `NULL` (the default) means
#'   `max(y) + 1`.
#' @param dtype Storage type of the result: a float type (`"float32"`, the
#'   default, `"float64"`, `"float16"`) gives a double array (R has no
#'   single-precision type), an integer type (`"int32"`, `"int64"`, `"uint8"`,
#'   ...) gives an integer array, `"bool"` a logical array.
#' @returns A numeric matrix with one row per label and `num_classes` columns
#'   (an array of dimensions `c(dim(y), num_classes)` for array input).
#' @family array utilities
#' @export
#' @examples
#' to_categorical(c(0, 2, 1))
#' to_categorical(c(0, 2, 1), num_classes = 4)
#' dim(to_categorical(matrix(0:5, 3, 2)))
to_categorical <- function(y, num_classes = NULL, dtype = "float32") {
  if (is.factor(y)) {
    stop("`y` is a factor; to_categorical() needs 0-based integer labels, ",
         "e.g. `as.integer(y) - 1L`.", call. = FALSE)
  }
  if (!is.numeric(y) && !is.logical(y)) {
    stop("`y` must be numeric class labels, not ", class(y)[1], ".", call. = FALSE)
  }
  shape <- dim(y)
  if (length(shape) > 1L && shape[length(shape)] == 1L) shape <- shape[-length(shape)]
  if (length(shape) <= 1L) shape <- NULL
  y <- as.integer(y)
  if (anyNA(y)) stop("`y` contains missing values (NA).", call. = FALSE)
  n <- length(y)
  if (is.null(num_classes)) {
    if (n == 0L) stop("`num_classes` must be given when `y` is empty.", call. = FALSE)
    num_classes <- max(y) + 1L
  }
  if (!is.numeric(num_classes) || length(num_classes) != 1L || is.na(num_classes) || num_classes < 1 ||
      num_classes != round(num_classes) || num_classes > .Machine$integer.max) {
    stop_arg("to_categorical(): `num_classes` must be a whole number from 1 to ",
             format(.Machine$integer.max, big.mark = ","), ", got ", describe_value(num_classes))
  }
  num_classes <- as.integer(num_classes)
  if (n > 0L) {
    r <- range(y)
    if (r[1] < 0L) {
      stop("`y` contains negative labels (min ", r[1], "); labels must be ",
           "0-based integers in 0..", num_classes - 1L, ".", call. = FALSE)
    }
    if (r[2] >= num_classes) {
      stop("`y` contains label ", r[2], " but num_classes = ", num_classes,
           "; labels must be in 0..", num_classes - 1L, ".", call. = FALSE)
    }
  }
  out <- switch(categorical_storage(dtype),
                double = numeric(n * num_classes),
                integer = integer(n * num_classes),
                logical = logical(n * num_classes))
  out[seq_len(n) + n * y] <- TRUE
  dim(out) <- if (is.null(shape)) c(n, num_classes) else c(shape, num_classes)
  out
}

categorical_storage <- function(dtype) {
  if (!is.character(dtype) || length(dtype) != 1L) {
    stop("`dtype` must be a single string such as \"float32\".", call. = FALSE)
  }
  if (dtype %in% c("float16", "float32", "float64", "double", "float")) return("double")
  if (dtype %in% c("int8", "int16", "int32", "int64", "uint8", "uint16",
                   "uint32", "uint64", "int", "integer")) return("integer")
  if (dtype %in% c("bool", "logical")) return("logical")
  stop("Unsupported `dtype`: \"", dtype, "\".", call. = FALSE)
}

#' Reshape an array with row-major (C-style) semantics
#'
#' Like `numpy.reshape()` (as re-exported by keras from reticulate).
#' With the default `order = "C"` the new dimensions are filled in row-major
#' order, which is what Keras/numpy code expects; `dim<-()` fills in
#' column-major order, which `order = "F"` reproduces. For example
#' `array_reshape(1:4, c(2, 2))` is `rbind(1:2, 3:4)`, and for MNIST
#' `array_reshape(x, c(n, 784))` puts pixel `x[i, r, c]` in column
#' `(r - 1) * 28 + c`.
#'
#' One entry of `dim` may be `-1`; it is inferred from the length of `x`.
#' The storage type of `x` is kept (integers stay integer); names and
#' dimnames are dropped.
#'
#' When the leading dimensions stay the same (the usual `c(n, ...)` reshape of
#' a batch of images), a double or integer result is a view of `x` (an ALTREP
#' vector): it behaves as a copy in every way, but the copy is made only when R
#' code needs the result's memory, and `fit()`, `predict()` and generators read
#' it straight from `x`.
#'
#' @param x A vector, matrix, array or data frame (converted with
#'   `as.matrix()`).
#' @param dim The new dimensions: an integer vector whose product equals
#'   `length(x)`, with at most one `-1`.
#' @param order `"C"` (row-major, the default) or `"F"` (column-major, the
#'   same as `dim<-()`).
#' @returns An array with dimensions `dim` holding the elements of `x`.
#' @family array utilities
#' @export
#' @examples
#' array_reshape(1:6, c(2, 3))            # rows filled first
#' array_reshape(1:6, c(2, 3), order = "F") # same as matrix(1:6, 2, 3)
#' x <- array(1:24, c(2, 3, 4))
#' dim(array_reshape(x, c(2, -1)))
array_reshape <- function(x, dim, order = c("C", "F")) {
  order <- match.arg(order)
  if (is.data.frame(x)) x <- as.matrix(x)
  if (!is.null(oldClass(x))) x <- unclass(x)
  new_dim <- reshape_target(dim, length(x))
  old_dim <- base::dim(x)
  if (is.null(old_dim)) old_dim <- length(x)
  # Size-1 dimensions do not change the flat order, so ignore them. Leading
  # dimensions shared by the old and new shape (e.g. the batch size) are the
  # fastest-varying in R's storage and need no permutation: view x as a
  # P x M matrix and permute its M columns with a small precomputed index.
  from <- old_dim[old_dim != 1L]
  to <- new_dim[new_dim != 1L]
  p <- 0L
  while (p < min(length(from), length(to)) && from[p + 1L] == to[p + 1L]) p <- p + 1L
  rest_from <- from[seq_len(length(from) - p) + p]
  rest_to <- to[seq_len(length(to) - p) + p]
  if (order == "C" && (length(rest_from) > 1L || length(rest_to) > 1L)) {
    if (p == 0L) {
      x <- c_to_f(x, from, to)
    } else {
      prefix <- prod(from[seq_len(p)])
      idx <- column_order(length(x) / prefix, rest_from, rest_to)
      if (is.double(x) || is.integer(x)) {
        # a view of x: copied out only if R code reads it; rkeras reads it from x
        return(rk_reshape_view(x, as.integer(prefix), idx, as.integer(new_dim)))
      }
      x <- matrix(x, prefix)[, idx, drop = FALSE]
    }
  }
  base::dim(x) <- new_dim  # also drops names and dimnames
  x
}

# Reshape `v` (an array with dims `from`, size-1 dims allowed to be absent)
# to dims `to` in C order: flatten row-major, then refill row-major. Returns
# the data in R (column-major) storage order, dims unspecified.
# The column order of a reshape of trailing dimensions `from` into `to` (n columns),
# remembered: a generator reshapes batches of the same shape on every call.
column_orders <- new.env(parent = emptyenv())
column_order <- function(n, from, to) {
  key <- paste(c(from, 0L, to), collapse = " ")
  idx <- column_orders[[key]]
  if (is.null(idx)) {
    idx <- as.integer(c_to_f(seq_len(n), from, to))
    if (length(column_orders) >= 64L) rm(list = ls(column_orders), envir = column_orders)
    assign(key, idx, envir = column_orders)
  }
  idx
}

c_to_f <- function(v, from, to) {
  if (length(from) > 1L) {
    if (!identical(base::dim(v), as.integer(from))) base::dim(v) <- from
    v <- aperm(v, rev(seq_along(from)))
  }
  if (length(to) > 1L) {
    base::dim(v) <- rev(to)
    v <- aperm(v, rev(seq_along(to)))
  }
  v
}

reshape_target <- function(dim, n) {
  if (!is.numeric(dim) || length(dim) == 0L || anyNA(dim)) {
    stop("`dim` must be a non-empty numeric vector without NA.", call. = FALSE)
  }
  if (any(dim != trunc(dim))) stop("`dim` must contain whole numbers.", call. = FALSE)
  shape_txt <- paste0("(", paste(dim, collapse = ", "), ")")
  unknown <- which(dim == -1)
  if (length(unknown) > 1L) {
    stop("can only specify one unknown dimension (-1) in `dim`, got ",
         shape_txt, ".", call. = FALSE)
  }
  if (any(dim < 0 & dim != -1)) {
    stop("negative dimensions are not allowed in `dim` ", shape_txt,
         " (only a single -1).", call. = FALSE)
  }
  known <- if (length(unknown)) prod(dim[-unknown]) else prod(dim)
  if (length(unknown) == 1L) {
    if (known == 0 || n %% known != 0) {
      stop("cannot reshape array of size ", n, " into shape ", shape_txt, ".",
           call. = FALSE)
    }
    dim[unknown] <- n / known
  } else if (known != n) {
    stop("cannot reshape array of size ", n, " into shape ", shape_txt, ".",
         call. = FALSE)
  }
  as.integer(dim)
}

#' Normalize an array along an axis
#'
#' Like `keras.utils.normalize()`: divides `x` by its L`order` norm along
#' `axis`. Slices whose norm is zero are left unchanged (zero stays zero).
#'
#' @param x A numeric vector, matrix or array.
#' @param axis The axis to normalize along, **1-based** as in R keras; `-1`
#'   (the default) is the last axis, i.e. each row of a matrix gets unit norm.
#'   Other negative values count from the end (`-2` is the second-last axis).
#'   `0` is an error.
#' @param order The order of the norm: `2` (Euclidean, the default), `1`,
#'   `Inf`, `0` (number of non-zero entries) or any other positive number `p`
#'   (`sum(abs(x)^p)^(1/p)`).
#' @returns A double array of the same shape as `x`.
#' @family array utilities
#' @export
#' @examples
#' m <- rbind(c(3, 4), c(0, 0), c(1, 1))
#' normalize(m)          # rows get unit Euclidean norm; the zero row stays 0
#' normalize(m, axis = 1) # columns instead
normalize <- function(x, axis = -1, order = 2) {
  if (!is.numeric(x) && !is.logical(x)) stop("`x` must be numeric.", call. = FALSE)
  if (length(axis) != 1L || is.na(axis)) stop("`axis` must be a single integer.", call. = FALSE)
  axis <- as.integer(axis)
  if (axis == 0L) stop("`axis` argument is 1 based, received 0", call. = FALSE)
  if (length(order) != 1L || is.na(order) || order < 0) {
    stop("`order` must be a single non-negative number.", call. = FALSE)
  }
  d <- dim(x)
  nd <- max(length(d), 1L)
  if (axis < 0L) axis <- nd + 1L + axis
  if (axis < 1L || axis > nd) {
    stop("`axis` is out of bounds for an array with ", nd, " dimension(s).", call. = FALSE)
  }
  storage.mode(x) <- "double"
  if (is.null(d) || length(d) == 1L) {
    n <- vector_norm(x, order)
    return(if (isTRUE(n == 0)) x else x / n)
  }
  if (length(d) == 2L && order == 2) {  # fast path: matrix rows or columns
    x2 <- x * x
    n <- sqrt(if (axis == 2L) rowSums(x2) else colSums(x2))
    n[!is.na(n) & n == 0] <- 1
    return(x / if (axis == 2L) n else rep(n, each = d[1L]))
  }
  n <- apply(x, seq_along(d)[-axis], vector_norm, order = order)
  n[!is.na(n) & n == 0] <- 1
  sweep(x, seq_along(d)[-axis], n, "/", check.margin = FALSE)
}

vector_norm <- function(v, order) {
  if (order == 2) return(sqrt(sum(v * v)))
  if (order == 1) return(sum(abs(v)))
  if (is.infinite(order)) return(max(abs(v)))
  if (order == 0) return(sum(v != 0))
  sum(abs(v)^order)^(1 / order)
}
