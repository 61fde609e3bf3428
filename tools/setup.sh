#!/usr/bin/env bash
# One command: install the dependencies, build and install rkeras, train the tutorial model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
R CMD INSTALL . >/dev/null
Rscript inst/examples/tutorial_mlp.R
