#!/usr/bin/env bash
# One command: install the dependencies, run the Rust core's tests, build and install
# rkeras, run the R test suite (ends with "N passed, N failed").
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
log=$(mktemp)
if ! (cd src/rust && cargo test --release -p rkeras-core) >"$log" 2>&1; then
  cat "$log"; echo "cargo test failed" >&2; exit 1
fi
grep -E "^test result" "$log"
R CMD INSTALL . >/dev/null
Rscript tools/run-tests.R
