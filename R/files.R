# Opening files for reading (the dataset readers): only regular files (opening a FIFO
# waits for a writer), and a failed open never leaves its connection behind. R makes the
# connection before it opens the file and removes it when the open fails, after warning;
# an exiting warning handler in the caller's code (tryCatch(warning = )) would jump out in
# between and leak the connection, so the warning is muffled here and becomes the error.

# An error unless `file` is a regular file (it is not opened).
check_input <- function(file) {
  why <- rk_check_regular_file(path.expand(file))
  if (nzchar(why)) stop(why, call. = FALSE)
  invisible(file)
}

# An open binary read connection to `file` (gzip-compressed or not with `gz = TRUE`).
open_input <- function(file, gz = FALSE) {
  check_input(file)
  msg <- NULL
  con <- withCallingHandlers(
    tryCatch(if (gz) gzfile(file, "rb") else file(file, "rb"), error = function(e) NULL),
    warning = function(w) {
      msg <<- conditionMessage(w)
      invokeRestart("muffleWarning")
    })
  if (is.null(con)) stop("cannot open '", file, "'", if (!is.null(msg)) paste0(": ", msg), call. = FALSE)
  con
}
