#!/usr/bin/env bash
# Rebuilds the generated files: R/extendr-wrappers.R (from the Rust library), then
# NAMESPACE and man/ (roxygen2). Run from the package root.
set -euo pipefail
R CMD INSTALL --no-test-load . >/dev/null
Rscript tools/gen-wrappers.R
Rscript -e 'roxygen2::roxygenise(load_code = roxygen2::load_source)' 
