#!/usr/bin/env bash
# Runs tutorial_30.R as `Rscript tutorial_30.R > log` with the rkeras found through R_LIBS and
# prints the log's size, its control characters (other than newline) and its line count.
# VERBOSE=1 forces verbose = 1 (the default is "auto").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
Rscript "$here/tutorial_30.R" > "$log" 2>/dev/null
bytes=$(wc -c < "$log")
ctrl=$(tr -d '\n' < "$log" | tr -cd '\000-\037\177' | wc -c)
lines=$(wc -l < "$log")
echo "log: $bytes bytes, $lines lines, $ctrl control characters (besides newlines)"
if [ -n "${KEEP_LOG:-}" ]; then cp "$log" "$KEEP_LOG"; fi
rm -f "$log"
