# Argument checks shared by the R API: each says what was expected and what was given, and
# every error rkeras raises has class `rkeras_error` (with a subclass per kind where useful)
# and names the call the user made (`fit()`), never an internal function.

# The call the user made: walking out from the innermost frame over frames that run rkeras
# code (base R's frames, such as tryCatch()'s, are passed through), the outermost of them.
user_call <- function() {
  ns <- topenv(environment(user_call))
  found <- NULL
  for (i in rev(seq_len(sys.nframe() - 1L))) {
    env <- environment(sys.function(i))
    top <- if (is.null(env)) baseenv() else topenv(env)
    if (identical(top, ns)) {
      found <- sys.call(i)
    } else if (!identical(top, baseenv()) && !isBaseNamespace(top) && !is.null(found)) {
      break
    }
  }
  # a method reached through its generic shows as the generic: fit(), not fit.rkeras_model()
  if (is.call(found) && is.symbol(found[[1]]))
    found[[1]] <- as.symbol(sub("[.]rkeras_model$", "", as.character(found[[1]])))
  found
}

# An rkeras error condition: classes c(<subclass>, "rkeras_error", "error", "condition").
rkeras_condition <- function(message, subclass = NULL, call = user_call(), ...) {
  structure(class = c(subclass, "rkeras_error", "error", "condition"),
            list(message = message, call = call, ...))
}

stop_arg <- function(..., subclass = "rkeras_argument_error") {
  stop(rkeras_condition(paste0(...), subclass))
}

# Runs a call into Rust: an error it returns becomes an rkeras error naming the user's call.
rk_call <- function(expr) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "rkeras_error")) stop(e)
    stop(rkeras_condition(conditionMessage(e), "rkeras_core_error"))
  })
}

describe_value <- function(x) {
  if (is.null(x)) return("NULL")
  cls <- paste(class(x), collapse = "/")
  if (length(x) == 1 && is.atomic(x)) paste0(cls, " ", format(x)) else paste0(cls, " of length ", length(x))
}

# "1 column", "2 columns".
plural <- function(n, what) paste0(format(n, big.mark = ",", scientific = FALSE), " ", what, if (n != 1) "s")

check_count <- function(x, name, min = 1, null_ok = FALSE, max = .Machine$integer.max) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x) || x != round(x) || x < min || x > max)
    stop_arg("`", name, "` must be a whole number from ", min, " to ", format(max, big.mark = ","),
             ", got ", describe_value(x))
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

# `...` of a keras verb: names in `accepted` are keras arguments that change nothing here
# (kept for compatibility); any other name is an error naming it (a typo such as `epoch =`
# must never be swallowed).
check_dots <- function(dots, accepted = character(), fn = "") {
  nm <- names(dots) %||% rep("", length(dots))
  if (any(nm == ""))
    stop_arg(fn, "(): unexpected unnamed argument ", describe_value(dots[nm == ""][[1]]))
  bad <- setdiff(nm, accepted)
  if (length(bad)) {
    formals_fn <- if (nzchar(fn)) names(formals(get_method(fn))) else character()
    hint <- agrep(bad[[1]], setdiff(formals_fn, "..."), max.distance = 0.2, value = TRUE)
    stop_arg(fn, "(): unknown argument `", bad[[1]], "`",
             if (length(hint)) paste0("; did you mean `", hint[[1]], "`?") else "")
  }
  invisible(dots)
}

get_method <- function(fn) {
  ns <- topenv(environment(get_method))
  m <- paste0(fn, ".rkeras_model")
  if (exists(m, envir = ns, inherits = FALSE)) get(m, envir = ns) else get(fn, envir = ns)
}

# An argument keras has that rkeras does not implement: an error naming it unless it has its
# default value.
check_unsupported <- function(value, default, name, fn) {
  if (!identical(value, default))
    stop_arg(fn, "(): `", name, "` is not supported by rkeras yet (got ", describe_value(value),
             "); leave it at its default, ", describe_value(default))
  invisible(value)
}

# Numeric input data as a matrix/array; data frames of numbers are accepted. Zero samples is
# an error, as in keras.
as_input_array <- function(x, name, allow_empty = FALSE) {
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
  if (!allow_empty && NROW(x) == 0)
    stop_arg("`", name, "` has no samples (0 rows): the data must not be empty")
  x
}

# The `data_format` of a spatial layer (convolutions, poolings, padding, ...); NULL is Keras'
# default, channels last.
check_data_format <- function(data_format, fn) {
  if (is.null(data_format)) return("channels_last")
  if (!is.character(data_format) || length(data_format) != 1 || is.na(data_format) ||
      !data_format %in% c("channels_last", "channels_first"))
    stop_arg(fn, "(): `data_format` must be \"channels_last\" or \"channels_first\", got ",
             describe_value(data_format))
  data_format
}
