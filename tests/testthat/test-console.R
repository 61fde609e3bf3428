# Output that fits where it goes (issue 17): the Keras 3 bar redraws only where the console can,
# colours only where it shows them; elsewhere one line per epoch.

has_ctrl <- function(txt) grepl("[\001-\010\013-\037\177]", txt, useBytes = TRUE)  # all but \t \n

console_fit <- function(verbose, epochs = 2) {
  d <- toy_data()
  model <- toy_model()
  capture.output(fit(model, d$x, d$y, epochs = epochs, batch_size = 50, verbose = verbose))
}

test_that("verbose = 'auto' is 2 in knitr, 0 under testthat, 1 interactive, 2 in a script", {
  dyn <- list(dynamic = TRUE)
  withr::local_envvar(TESTTHAT = "false")
  expect_equal(resolve_verbose("auto", dyn), if (interactive()) 1L else 2L)
  withr::with_options(list(knitr.in.progress = TRUE), expect_equal(resolve_verbose("auto", dyn), 2L))
  withr::with_envvar(c(TESTTHAT = "true"), expect_equal(resolve_verbose("auto", dyn), 0L))
  expect_equal(resolve_verbose(1, dyn), 1L)
  expect_equal(resolve_verbose(1, list(dynamic = FALSE)), 2L)
  expect_equal(resolve_verbose(0, list(dynamic = FALSE)), 0L)
  expect_equal(resolve_verbose(2, dyn), 2L)
  expect_error(resolve_verbose(3, dyn), "0, 1, 2 or \"auto\"")
  expect_identical(formals(fit_generator)$verbose, quote(getOption("keras.fit_verbose", default = "auto")))
})

test_that("the console is not dynamic in knitr or under a sink, and cli's options decide first", {
  withr::local_envvar(R_CLI_DYNAMIC = NA, R_CLI_NUM_COLORS = NA, RSTUDIO = NA, POSITRON = NA)
  withr::local_options(cli.dynamic = NULL, cli.num_colors = NULL)
  withr::with_options(list(knitr.in.progress = TRUE), expect_false(console_caps()$dynamic))
  caps <- NULL
  capture.output(caps <- console_caps())
  expect_false(caps$dynamic)
  expect_false(caps$color)
  withr::with_options(list(cli.dynamic = TRUE, cli.num_colors = 256), {
    expect_equal(console_caps()[c("dynamic", "color")], list(dynamic = TRUE, color = TRUE))
    expect_equal(console_style(), c(color = TRUE, backspaces = isatty(stdout())))
  })
  withr::with_options(list(cli.dynamic = TRUE, cli.num_colors = 1),
                      expect_equal(console_caps()[c("dynamic", "color")], list(dynamic = TRUE, color = FALSE)))
  withr::with_envvar(c(R_CLI_DYNAMIC = "true", NO_COLOR = "1"),
                     expect_equal(console_caps()[c("dynamic", "color")], list(dynamic = TRUE, color = FALSE)))
})

test_that("without a dynamic console verbose = 1 prints verbose = 2's lines, no control characters", {
  withr::local_options(cli.dynamic = NULL, cli.num_colors = NULL)
  withr::local_envvar(R_CLI_DYNAMIC = NA)
  out1 <- console_fit(1)  # capture.output() is a sink: not a console that redraws
  out2 <- console_fit(2)
  expect_equal(out1[c(1, 3)], c("Epoch 1/2", "Epoch 2/2"))
  expect_length(out1, 4)
  expect_match(out1[2], "^4/4 - [0-9]+s - [0-9]+(us|ms|s)/step - accuracy: [0-9.]+ - loss: [0-9.]+$")
  expect_false(has_ctrl(paste(out1, collapse = "\n")))
  # the same lines but for the figures (and the time unit, which depends on the machine's speed)
  figures <- function(o) gsub("[0-9.]+(us|ms|s)?", "N", o)
  expect_equal(figures(out1), figures(out2))
  d <- toy_data()
  ev <- capture.output(e <- evaluate(toy_model(), d$x, d$y, verbose = 1))
  expect_match(ev, "^7/7 - [0-9]+s - [0-9]+(us|ms|s)/step - accuracy: [0-9.]+ - loss: [0-9.]+$")
  pr <- capture.output(p <- predict(toy_model(), d$x, verbose = 1))
  expect_match(pr, "^7/7 - [0-9]+s - [0-9]+(us|ms|s)/step$")
})

test_that("a dynamic console gets the Keras 3 bar: colours only when it shows them, \\r without backspaces off a tty", {
  withr::local_options(cli.dynamic = TRUE, cli.num_colors = 256)
  txt <- paste(console_fit(1, epochs = 1), collapse = "\n")
  expect_match(txt, paste0("\r\033[1m4/4\033[0m \033[32m", "\u2501"), fixed = TRUE)
  expect_false(grepl("\b", txt, fixed = TRUE))  # capture.output() is no tty: "\r" alone
  withr::local_options(cli.num_colors = 1)
  txt <- paste(console_fit(1, epochs = 1), collapse = "\n")
  expect_match(txt, paste0("\r4/4 ", strrep("\u2501", 20), " [0-9]+s [0-9]+(us|ms|s)/step - accuracy"))
  expect_false(grepl("\033", txt, fixed = TRUE))
})

run_script_to_file <- function(lines, tty = FALSE) {
  dir <- withr::local_tempdir(.local_envir = parent.frame())
  script <- file.path(dir, "train.R")
  log <- file.path(dir, "log")
  writeLines(lines, script)
  rscript <- file.path(R.home("bin"), "Rscript")
  # a clean environment for the console detection: no NO_COLOR, no cli overrides
  env <- c("-u", "NO_COLOR", "-u", "R_CLI_DYNAMIC", "-u", "R_CLI_NUM_COLORS", "-u", "RSTUDIO", "-u", "POSITRON",
           paste0("R_LIBS=", paste(.libPaths(), collapse = ":")), "TESTTHAT=false", "TERM=xterm-256color")
  cmd <- paste(shQuote(rscript), shQuote(script))
  if (tty) {
    # script(1) gives the R session a pseudo-terminal: stdout is a tty, as in a shell
    system2("env", c(env, "script", "-qec", shQuote(cmd), "/dev/null"), stdout = log, stderr = FALSE)
  } else {
    system2("env", c(env, cmd), stdout = log, stderr = FALSE)
  }
  readBin(log, "raw", file.size(log))
}

fit_script <- c(
  "suppressPackageStartupMessages(library(rkeras))",
  "set.seed(1); x <- matrix(runif(400), 100); y <- to_categorical(as.integer(x[, 1] > 0.5), 2)",
  "model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2, activation = 'softmax')",
  "model %>% compile(loss = 'categorical_crossentropy', optimizer = 'adam', metrics = 'accuracy')",
  "h <- model %>% fit(x, y, epochs = 3, batch_size = 10, validation_split = 0.2, verbose = VERBOSE)",
  "e <- model %>% evaluate(x, y, verbose = 1)")

test_that("Rscript train.R > log writes one line per epoch and no control characters", {
  for (v in c("'auto'", "1")) {
    raw <- run_script_to_file(sub("VERBOSE", v, fit_script))
    txt <- rawToChar(raw)
    expect_false(has_ctrl(txt))
    lines <- strsplit(txt, "\n")[[1]]
    expect_equal(grep("^Epoch", lines, value = TRUE), paste0("Epoch ", 1:3, "/3"))
    expect_length(grep("^8/8 - [0-9]+s - .* - val_loss: [0-9.]+$", lines), 3)
    expect_length(grep("^4/4 - [0-9]+s - .*loss: [0-9.]+$", lines), 1)
  }
})

test_that("on a terminal the bar redraws with Keras 3's exact bytes (backspaces, \\r, colours)", {
  skip_if(Sys.which("script") == "", "script(1) (util-linux) is not installed: no pseudo-terminal to test with")
  raw <- run_script_to_file(sub("VERBOSE", "1", fit_script), tty = TRUE)
  txt <- rawToChar(raw)
  expect_match(txt, "Epoch 1/3", fixed = TRUE)
  expect_match(txt, paste0("\r\033[1m8/8\033[0m \033[32m", "\u2501"), fixed = TRUE)
  expect_match(txt, "\b\r", fixed = TRUE)  # Keras writes "\b" * previous width before "\r"
})

test_that("a knitted R Markdown document has no control characters", {
  skip_if_not_installed("knitr")
  skip_if_not_installed("rmarkdown")
  skip_if_not_installed("callr")
  dir <- withr::local_tempdir()
  rmd <- file.path(dir, "train.Rmd")
  writeLines(c("---", "title: console", "output: html_document", "---", "", "```{r}",
               sub("VERBOSE", "1", fit_script), "h", "```", "", "```{r}", "model %>% fit(x, y, epochs = 2)", "```"),
             rmd)
  md <- callr::r(function(rmd, out) {
    knitr::knit(rmd, out, quiet = TRUE, envir = new.env())
    out
  }, list(rmd, file.path(dir, "train.md")), env = c(callr::rcmd_safe_env(), TESTTHAT = "false"))
  txt <- paste(readLines(md, encoding = "UTF-8"), collapse = "\n")
  expect_match(txt, "## Epoch 3/3", fixed = TRUE)
  expect_match(txt, "## Epoch 2/2", fixed = TRUE)  # verbose = "auto" is 2 in knitr
  expect_match(txt, "## 8/8 - [0-9]+s")
  expect_false(has_ctrl(txt))
  if (rmarkdown::pandoc_available()) {
    html <- callr::r(function(rmd) rmarkdown::render(rmd, quiet = TRUE, envir = new.env()), list(rmd),
                     env = c(callr::rcmd_safe_env(), TESTTHAT = "false"))
    page <- paste(readLines(html, encoding = "UTF-8"), collapse = "\n")
    expect_match(page, "Epoch 3/3", fixed = TRUE)
    expect_false(grepl("[\001-\010\013\014\016-\037]", page, useBytes = TRUE))
  }
})
