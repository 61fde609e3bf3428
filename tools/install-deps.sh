#!/usr/bin/env bash
# Installs what rkeras needs on Debian: R with the packages it uses, Fashion-MNIST for the
# example, and Chromium for the test of the live-metrics page. Rust (cargo) must already be there. Idempotent.
set -euo pipefail
# chromium: the live-metrics page is rendered headless in the tests (test-view-metrics.R);
# r-cran-cli decides what the console can show (R/console.R); r-cran-callr knits in a child.
pkgs="r-base-dev r-cran-testthat r-cran-magrittr r-cran-zeallot r-cran-generics r-cran-withr
      r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown r-cran-ggplot2 r-cran-cli r-cran-callr chromium
      dataset-fashion-mnist zip"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
