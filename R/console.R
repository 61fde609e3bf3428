# What the place fit()'s output goes to can show: whether a progress bar may redraw itself in
# place, with colours, with backspaces. Rust draws Keras 3's bar; R decides how (issue 17).
#
# - dynamic (redraw in place): a terminal (isatty), RStudio's or Positron's console, R.app, as
#   cli::is_dynamic_tty() decides; never in knitr or while a sink() (capture.output()) takes
#   the output. Elsewhere a verbose = 1 bar becomes verbose = 2's one line per epoch.
# - colour: cli::num_ansi_colors() > 1 (RStudio's setting, NO_COLOR, TERM, knitr).
# - backspaces: only on a real terminal. RStudio's console handles "\r" and "\b", Positron's
#   only "\r" (it shows "\b" as a glyph: posit-dev/positron#3683, seen with keras' own bar),
#   so in both the bar redraws with "\r" alone (same line, padded with spaces).
# cli's options and variables (cli.dynamic, R_CLI_DYNAMIC, cli.num_colors, R_CLI_NUM_COLORS)
# override the detection, with or without cli installed.

console_caps <- function() {
  knitr <- isTRUE(getOption("knitr.in.progress"))
  dynamic <- console_dynamic(knitr)
  list(dynamic = dynamic, color = dynamic && console_colors(knitr) > 1,
       backspaces = dynamic && !in_ide_console() && isatty(stdout()))
}

# c(color, backspaces), as the Rust console host reads it.
console_style <- function(caps = console_caps()) c(color = caps$color, backspaces = caps$backspaces)

has_cli <- function() requireNamespace("cli", quietly = TRUE)

in_rstudio_console <- function() interactive() && identical(Sys.getenv("RSTUDIO"), "1") && !isatty(stdout())
in_positron_console <- function() interactive() && identical(Sys.getenv("POSITRON"), "1") && !isatty(stdout())
in_ide_console <- function() in_rstudio_console() || in_positron_console()

console_dynamic <- function(knitr = isTRUE(getOption("knitr.in.progress"))) {
  opt <- getOption("cli.dynamic")
  if (!is.null(opt)) return(isTRUE(opt))
  env <- Sys.getenv("R_CLI_DYNAMIC")
  if (nzchar(env)) return(isTRUE(as.logical(env)))
  if (knitr || sink.number() > 0) return(FALSE)
  if (in_ide_console()) return(TRUE)
  if (has_cli()) return(isTRUE(cli::is_dynamic_tty(stdout())))
  isatty(stdout())
}

console_colors <- function(knitr = isTRUE(getOption("knitr.in.progress"))) {
  opt <- getOption("cli.num_colors")
  if (!is.null(opt)) return(as.integer(opt))
  env <- Sys.getenv("R_CLI_NUM_COLORS")
  if (nzchar(env)) return(as.integer(env))
  if (!is.na(Sys.getenv("NO_COLOR", NA_character_)) || knitr) return(1L)
  if (has_cli()) {
    n <- cli::num_ansi_colors(stdout())
    # cli before 3.6.2 does not know Positron, whose console shows ANSI colours
    return(if (n <= 1 && in_positron_console()) 256L else n)
  }
  if (in_rstudio_console()) return(max(1L, suppressWarnings(as.integer(Sys.getenv("RSTUDIO_CONSOLE_COLOR", "1"))),
                                       na.rm = TRUE))
  if (in_positron_console()) return(256L)
  if (isatty(stdout()) && !Sys.getenv("TERM") %in% c("", "dumb")) return(8L)
  1L
}

# keras for R: "auto" is 2 in knitr, 0 under testthat, else 1 at an interactive console and 2
# in a script. A progress bar (1) where the output cannot redraw becomes one line per epoch (2).
resolve_verbose <- function(verbose, caps = NULL) {
  if (identical(verbose, "auto")) {
    v <- if (isTRUE(getOption("knitr.in.progress"))) 2L
         else if (identical(Sys.getenv("TESTTHAT"), "true")) 0L
         else if (interactive()) 1L else 2L
  } else {
    v <- check_count(verbose, "verbose", min = 0)
    if (v > 2) stop_arg("`verbose` must be 0, 1, 2 or \"auto\", got ", v)
  }
  if (v == 1L && !(caps %||% console_caps())$dynamic) v <- 2L
  v
}
