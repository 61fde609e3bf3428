# Runs `code` in a new R session (Rscript, with this session's library paths and rkeras
# attached), where `args` is the list given; returns the value of `code`. A session that
# fails, or runs longer than `timeout` seconds (it is killed), is an error with its output.
in_rscript <- function(code, args = list(), timeout = 120) {
  dir <- tempfile("rscript-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  files <- file.path(dir, c("run.R", "args.rds", "value.rds"))
  saveRDS(args, files[2])
  writeLines(c("args <- readRDS(commandArgs(TRUE)[1])", "suppressPackageStartupMessages(library(rkeras))",
               "value <- local({", deparse(substitute(code)), "})", "saveRDS(value, commandArgs(TRUE)[2])"),
             files[1])
  log <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), shQuote(files), stdout = TRUE, stderr = TRUE,
                                  timeout = timeout,
                                  env = paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = ":")))))
  if (!file.exists(files[3])) {
    status <- attr(log, "status")
    stop("the new R session ", if (identical(status, 124L)) paste("timed out after", timeout, "s") else "failed",
         ":\n", paste(log, collapse = "\n"), call. = FALSE)
  }
  readRDS(files[3])
}
