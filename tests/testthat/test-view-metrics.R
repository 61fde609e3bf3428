# Live training metrics (issue 17): the page a person sees, rendered by headless Chromium.

chromium_bin <- function() {
  cands <- c(Sys.getenv("RKERAS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
  for (c in cands[nzchar(cands)]) {
    p <- Sys.which(c)
    if (nzchar(p)) return(unname(p))
  }
  ""
}

skip_without_chromium <- function() {
  if (!nzchar(chromium_bin()))
    skip("no Chromium found (install Debian's `chromium` package, or set RKERAS_CHROMIUM): the live-metrics page is not rendered")
}

# Renders the page as Chromium shows it after `ms` of (virtual) time; returns the DOM as text.
# The page reloads its data every second, so a budget of 2.5 s has it render the latest data.
render_dom <- function(page, ms = 2500, screenshot = NULL) {
  profile <- tempfile("chromium-profile-")
  on.exit(unlink(profile, recursive = TRUE), add = TRUE)
  args <- c("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", paste0("--user-data-dir=", profile),
            paste0("--virtual-time-budget=", ms), "--window-size=900,800")
  if (!is.null(screenshot)) {
    system2(chromium_bin(), c(args, paste0("--screenshot=", screenshot), paste0("file://", page)),
            stdout = FALSE, stderr = FALSE, timeout = 60)
  }
  out <- system2(chromium_bin(), c(args, "--dump-dom", paste0("file://", page)), stdout = TRUE, stderr = FALSE,
                 timeout = 60)
  paste(out, collapse = "\n")
}

# What the rendered page shows: per chart (metric) the number of points of each series, the
# epoch labels on its x axis, and the status line.
read_page <- function(dom) {
  charts <- regmatches(dom, gregexpr("<section class=\"chart\" data-metric=\"[^\"]+\">.*?</section>", dom))[[1]]
  info <- lapply(charts, function(ch) {
    metric <- sub(".*?data-metric=\"([^\"]+)\".*", "\\1", ch)
    series <- regmatches(ch, gregexpr("<g class=\"series (train|val)\" data-series=\"[^\"]+\".*?</g>", ch))[[1]]
    pts <- vapply(series, function(s) lengths(regmatches(s, gregexpr("<circle class=\"point\"", s))), 0)
    names(pts) <- sub(".*data-series=\"([^\"]+)\".*", "\\1", substr(series, 1, 120))
    ticks <- regmatches(ch, gregexpr("class=\"xtick\">[^<]*<", ch))[[1]]
    list(metric = metric, points = pts, xticks = as.numeric(gsub("class=\"xtick\">|<", "", ticks)))
  })
  names(info) <- vapply(info, `[[`, "", "metric")
  status <- sub(".*<span id=\"status\"[^>]*>([^<]*)</span>.*", "\\1", dom)
  list(charts = info, status = status)
}

test_that("JSON for the page: numbers (NA as null), escaped strings, written atomically", {
  expect_equal(json_numbers(c(1, 0.5, NA, Inf, 1e-8)), "[1,0.5,null,null,1e-08]")
  expect_equal(json_string("a\"b\\c\nd"), "\"a\\\"b\\\\c d\"")
  f <- tempfile()
  write_file_atomic(f, "one")
  write_file_atomic(f, "two")
  expect_equal(readLines(f, warn = FALSE), "two")
  expect_false(file.exists(paste0(f, ".tmp")))
})

test_that("view_metrics = 'auto' is on only in RStudio/Positron with verbose > 0", {
  withr::local_envvar(RSTUDIO = NA, POSITRON = NA)
  expect_false(resolve_view_metrics("auto", 1))
  expect_true(resolve_view_metrics(TRUE, 0))
  expect_false(resolve_view_metrics(FALSE, 1))
  expect_error(resolve_view_metrics("yes", 1), "TRUE, FALSE or \"auto\"")
  withr::local_options(viewer = function(url) NULL)
  withr::local_envvar(RSTUDIO = "1")
  expect_equal(resolve_view_metrics("auto", 1), interactive())
  expect_false(resolve_view_metrics("auto", 0))
  expect_false(resolve_view_metrics("auto", 1, epochs = 1))  # keras: a single epoch is no chart
  d <- toy_data(50)
  expect_error(fit(toy_model(), d$x, d$y, epochs = 1, verbose = 0, view_metrics = "yes"), "view_metrics")
})

test_that("the live page follows fit() epoch by epoch in Chromium (1, 3 and the last epoch)", {
  skip_without_chromium()
  withr::local_options(rkeras.view_metrics.interval = 0)  # every epoch, not 4 per second
  d <- toy_data(100)
  model <- toy_model()
  seen <- list()
  # on_epoch_begin(e) runs after every hook of epoch e - 1, the page's writer included
  snap <- callback_lambda(on_epoch_begin = function(epoch, logs) {
    if (epoch %in% c(2, 4)) seen[[as.character(epoch - 1)]] <<- read_page(render_dom(viewer_state$last$page))
  })
  h <- fit(model, d$x, d$y, epochs = 6, validation_split = 0.2, verbose = 0, view_metrics = TRUE, callbacks = list(snap))
  page <- viewer_state$last$page
  shot <- tempfile(fileext = ".png")
  last <- read_page(render_dom(page, screenshot = shot))
  for (e in c("1", "3")) {
    expect_named(seen[[e]]$charts, c("accuracy", "loss"))
    expect_equal(unname(seen[[e]]$charts$loss$points), c(as.numeric(e), as.numeric(e)))
    expect_equal(names(seen[[e]]$charts$loss$points), c("loss", "val_loss"))
    expect_equal(seen[[e]]$status, paste0("epoch ", e, " of 6"))
  }
  expect_equal(unname(last$charts$accuracy$points), c(6, 6))
  expect_equal(unname(last$charts$loss$points), c(6, 6))
  expect_equal(last$status, "finished: 6 epochs")
  expect_true(all(last$charts$loss$xticks == round(last$charts$loss$xticks)))
  expect_true(all(last$charts$loss$xticks >= 1 & last$charts$loss$xticks <= 6))
  # the data the page drew is the history
  json <- readLines(file.path(dirname(page), "metrics.json"), warn = FALSE)
  expect_match(json, paste0("\"val_loss\":", json_numbers(h$metrics$val_loss)), fixed = TRUE)
  expect_gt(file.size(shot), 5000)
})

test_that("the page keeps the final state when training stops early or fails", {
  skip_without_chromium()
  d <- toy_data(100)
  model <- toy_model()
  stopper <- callback_lambda(on_epoch_end = function(epoch, logs) if (epoch == 4) model$stop_training <- TRUE)
  fit(model, d$x, d$y, epochs = 20, validation_split = 0.2, verbose = 0, view_metrics = TRUE, callbacks = list(stopper))
  p <- read_page(render_dom(viewer_state$last$page))
  expect_equal(unname(p$charts$loss$points), c(4, 4))
  expect_equal(p$status, "stopped after epoch 4 of 20")
  boom <- callback_lambda(on_epoch_end = function(epoch, logs) if (epoch == 2) stop("boom"))
  expect_error(fit(model, d$x, d$y, epochs = 5, verbose = 0, view_metrics = TRUE, callbacks = list(boom)), "boom")
  p <- read_page(render_dom(viewer_state$last$page))
  # the epoch whose hooks failed is not in the history (as in keras), so not on the page
  expect_equal(unname(p$charts$loss$points), 1)
  expect_equal(p$status, "stopped by an error after epoch 1")
})

test_that("view_metrics() shows a history, plot(method = 'viewer') too, and a csv_logger file", {
  d <- toy_data(100)
  model <- toy_model()
  log <- tempfile(fileext = ".csv")
  h <- fit(model, d$x, d$y, epochs = 5, validation_split = 0.2, verbose = 0, callbacks = list(callback_csv_logger(log)))
  page <- view_metrics(h, open = FALSE)
  expect_true(file.exists(page))
  expect_equal(basename(page), "index.html")
  expect_setequal(list.files(dirname(page)), c("index.html", "viewer.js", "viewer.css", "metrics.json", "data.js"))
  expect_match(readLines(file.path(dirname(page), "data.js"), warn = FALSE), "^rkerasMetrics\\(\\{.*\"done\":true")
  page2 <- withr::with_options(list(browser = function(url) NULL), plot(h, method = "viewer"))
  expect_true(file.exists(page2))
  page3 <- view_metrics(log, open = FALSE)
  json <- readLines(file.path(dirname(page3), "metrics.json"), warn = FALSE)
  expect_match(json, "\"first_epoch\":1,", fixed = TRUE)  # the CSV's epoch column counts from 0
  expect_match(json, paste0("\"loss\":", json_numbers(h$metrics$loss)), fixed = TRUE)
  expect_error(view_metrics(tempfile()), "no file")
  expect_error(view_metrics(42), "training history")
  skip_without_chromium()
  for (p in c(page, page3)) {
    r <- read_page(render_dom(p))
    expect_equal(unname(r$charts$loss$points), c(5, 5))
    expect_equal(unname(r$charts$accuracy$points), c(5, 5))
    expect_equal(r$status, "finished: 5 epochs")
  }
})

test_that("Esc/Ctrl-C during fit_generator() leaves the page with the epochs that finished", {
  skip_on_os("windows")
  calls <- 0
  d <- toy_data(64)
  gen <- function() {
    calls <<- calls + 1
    if (calls == 7) {
      tools::pskill(Sys.getpid(), tools::SIGINT)
      Sys.sleep(0.5)
    }
    list(d$x[1:16, ], d$y[1:16, ])
  }
  model <- toy_model()
  expect_warning(h <- fit_generator(model, gen, steps_per_epoch = 2, epochs = 10, verbose = 0, view_metrics = TRUE),
                 "interrupted by the user at epoch 4")
  expect_length(h$metrics$loss, 3)
  page <- viewer_state$last$page
  json <- readLines(file.path(dirname(page), "metrics.json"), warn = FALSE)
  expect_match(json, "\"done\":true,\"status\":\"interrupted\"", fixed = TRUE)
  expect_match(json, paste0("\"loss\":", json_numbers(h$metrics$loss)), fixed = TRUE)
  skip_without_chromium()
  p <- read_page(render_dom(page))
  expect_equal(unname(p$charts$loss$points), 3)
  expect_equal(p$status, "interrupted after epoch 3")
})
