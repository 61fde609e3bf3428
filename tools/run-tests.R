# Runs the R test suite against the installed package and ends with "N passed, N failed".
suppressMessages(library(testthat))
library(rkeras)
res <- as.data.frame(testthat::test_dir("tests/testthat", package = "rkeras", load_package = "installed",
                                        reporter = testthat::ProgressReporter$new(show_praise = FALSE),
                                        stop_on_failure = FALSE))
failed <- sum(res$failed) + sum(res$error)
passed <- sum(res$nb) - sum(res$failed) - sum(res$skipped)
cat(sprintf("\n%d passed, %d failed, %d skipped\n", passed, failed, sum(res$skipped)))
quit(status = if (failed > 0) 1 else 0)
