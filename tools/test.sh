#!/usr/bin/env bash
# One command: install the dependencies, run the Rust core's tests, build and install
# rkeras, run the R test suite (ends with "N passed, N failed").
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cargo test --release --manifest-path src/rust/Cargo.toml -p rkeras-core 2>&1 | grep -E "^(test result|running|error|failures|---- )|panicked|FAILED" || true
cargo test --release --manifest-path src/rust/Cargo.toml -p rkeras-core --quiet >/dev/null 2>&1 || { echo "cargo test failed"; exit 1; }
R CMD INSTALL . >/dev/null
Rscript tools/run-tests.R
