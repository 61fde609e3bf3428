# Argument checks shared by the R API: each says what was expected and what was given.

stop_arg <- function(...) {
  stop(structure(class = c("rkeras_error", "error", "condition"),
                 list(message = paste0(...), call = sys.call(-1))))
}

describe_value <- function(x) {
  if (is.null(x)) return("NULL")
  cls <- paste(class(x), collapse = "/")
  if (length(x) == 1 && is.atomic(x)) paste0(cls, " ", format(x)) else paste0(cls, " of length ", length(x))
}

check_count <- function(x, name, min = 1, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || x != round(x) || x < min)
    stop_arg("`", name, "` must be a whole number >= ", min, ", got ", describe_value(x))
  as.integer(x)
}

check_number <- function(x, name, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.numeric(x) || length(x) != 1 || !is.finite(x))
    stop_arg("`", name, "` must be a single finite number, got ", describe_value(x))
  as.numeric(x)
}

check_flag <- function(x, name) {
  if (!is.logical(x) || length(x) != 1 || is.na(x))
    stop_arg("`", name, "` must be TRUE or FALSE, got ", describe_value(x))
  x
}

check_string <- function(x, name, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.character(x) || length(x) != 1 || is.na(x))
    stop_arg("`", name, "` must be a single string, got ", describe_value(x))
  x
}

check_choice <- function(x, name, choices) {
  check_string(x, name)
  if (!x %in% choices)
    stop_arg("unknown ", name, " \"", x, "\"; valid values are: ", paste(choices, collapse = ", "))
  x
}

# Numeric input data as a matrix/array; data frames of numbers are accepted.
as_input_array <- function(x, name) {
  if (is.data.frame(x)) {
    ok <- vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))
    if (!all(ok))
      stop_arg("`", name, "` is a data frame with non-numeric columns (",
               paste(names(x)[!ok], collapse = ", "), "); convert them to numbers first")
    x <- as.matrix(x)
  }
  if (is.null(x)) stop_arg("`", name, "` is missing: a numeric matrix or array is needed")
  if (!(is.numeric(x) || is.logical(x)))
    stop_arg("`", name, "` must be a numeric matrix or array, got ", describe_value(x))
  x
}
