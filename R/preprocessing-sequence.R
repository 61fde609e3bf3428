# Sequence preprocessing: pad_sequences().

#' Pad sequences to the same length
#'
#' Turns a list of sequences (integer or numeric vectors) into a matrix with one row per
#' sequence and `maxlen` columns, as Keras does: sequences shorter than `maxlen` are padded
#' with `value`, longer ones are cut.
#'
#' @param sequences A list of numeric vectors (a matrix is taken row by row).
#' @param maxlen Number of columns; `NULL` uses the length of the longest sequence.
#' @param dtype Type of the result: `"int32"` (or another integer type) gives an integer
#'   matrix (values are truncated towards zero, as numpy casts them), `"float32"` /
#'   `"float64"` a double matrix.
#' @param padding `"pre"` (pad before each sequence) or `"post"` (after).
#' @param truncating `"pre"` (drop values from the start of longer sequences) or `"post"`
#'   (from the end).
#' @param value The padding value.
#' @returns A matrix of `length(sequences)` rows and `maxlen` columns.
#' @family sequence preprocessing
#' @export
#' @examples
#' pad_sequences(list(c(1, 2, 3), 4, c(5, 6)), maxlen = 2)
#' pad_sequences(list(1:3, 4L), padding = "post", value = -1)
pad_sequences <- function(sequences, maxlen = NULL, dtype = "int32", padding = "pre", truncating = "pre",
                          value = 0) {
  if (is.matrix(sequences) || is.data.frame(sequences)) {
    m <- as.matrix(sequences)
    sequences <- lapply(seq_len(nrow(m)), function(i) m[i, ])
  }
  if (!is.list(sequences))
    stop_arg("pad_sequences(): `sequences` must be a list of numeric vectors, got ", describe_value(sequences))
  ok <- vapply(sequences, function(s) is.null(s) || (is.atomic(s) && (is.numeric(s) || is.logical(s))), TRUE)
  if (!all(ok))
    stop_arg("pad_sequences(): `sequences` must be a list of numeric vectors; element ", which(!ok)[[1]], " is ",
             describe_value(sequences[[which(!ok)[[1]]]]))
  padding <- check_choice(padding, "padding", c("pre", "post"))
  truncating <- check_choice(truncating, "truncating", c("pre", "post"))
  value <- check_number(value, "value")
  dtype <- check_string(dtype, "dtype")
  integer_types <- c("int32", "int64", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "int")
  float_types <- c("float32", "float64", "float16", "float", "double")
  if (!dtype %in% c(integer_types, float_types))
    stop_arg("pad_sequences(): `dtype` must be an integer type (\"int32\", ...) or a float type (\"float32\", ",
             "\"float64\"), got \"", dtype, "\"")
  integer <- dtype %in% integer_types
  want <- if (integer) is.integer else is.double
  # the core reads each element as it is; coerce the others (numpy truncates to integers too)
  if (!all(vapply(sequences, want, TRUE, USE.NAMES = FALSE)))
    sequences <- lapply(sequences, if (integer) as.integer else as.double)
  n <- length(sequences)
  maxlen <- if (is.null(maxlen)) (if (n) max(lengths(sequences, use.names = FALSE)) else 0L)
  else check_count(maxlen, "maxlen")
  if (as.numeric(n) * maxlen > .Machine$integer.max)
    stop_arg("pad_sequences(): the result (", n, " x ", maxlen, ") is too large")
  rk_pad_sequences(unname(sequences), as.integer(maxlen), padding == "pre", truncating == "pre", value, integer)
}
