#!/usr/bin/env bash
# Test accuracy of rkeras and Keras 3 + JAX after the same epochs of the fit regime, over
# several seeds: one seed's final epoch moves by a point or more from seed to seed (RMSprop
# and dropout on Fashion-MNIST), so the accuracy target is judged on the mean.
#
#   bench/accuracy.sh [--seeds N] [--epochs E] [--data DIR]
#
# Environment: BENCH_VENV, BENCH_ANCHORS, BENCH_THREADS as for bench/run-all.sh.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
seeds=5; epochs=5; data_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --data) data_args=(--data "$2"); export FASHION_DIR="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
anchors_dir="${BENCH_ANCHORS:-$repo/bench/anchors}"
PY="${BENCH_VENV:-$HOME/.cache/rkeras-tools/benchvenv}/bin/python"
export BENCH_THREADS="${BENCH_THREADS:-2}"
res="$(mktemp /tmp/rkeras-accuracy.XXXXXX.jsonl)"
for s in $(seq 1 "$seeds"); do
  echo "seed $s: rkeras"
  Rscript "$here/bench.R" --regime fit --epochs "$epochs" --seed "$s" --no-startup --no-fixed "${data_args[@]}" 2>&1 |
    sed -n 's/^RESULT //p' >> "$res"
  if [ -x "$PY" ] && [ -n "$anchors_dir" ]; then
    echo "seed $s: Keras 3 + JAX"
    "$PY" "$anchors_dir/keras_jax.py" --regime fit --epochs "$epochs" --seed "$s" "${data_args[@]}" 2>&1 |
      sed -n 's/^RESULT //p' >> "$res"
  fi
done
Rscript - "$res" <<'REOF'
recs <- lapply(readLines(commandArgs(TRUE)[1]), jsonlite::fromJSON)
acc <- function(a) if (is.list(a)) as.numeric(a[[which.max(as.integer(names(a)))]]) else as.numeric(a[[length(a)]])
tab <- do.call(rbind, lapply(recs, function(r) data.frame(system = r$framework, seed = r$seed, test_acc = acc(r$test_acc))))
w <- reshape(tab, idvar = "seed", timevar = "system", direction = "wide")
names(w) <- sub("^test_acc[.]", "", names(w))
print(w, row.names = FALSE, digits = 4)
if (all(c("rkeras", "keras3-jax") %in% tab$system)) {
  d <- 100 * (mean(w$rkeras) - mean(w[["keras3-jax"]]))
  cat(sprintf("\nmean test accuracy: rkeras %.4f, Keras 3 + JAX %.4f: %+.2f points (target >= -1): %s\n",
              mean(w$rkeras), mean(w[["keras3-jax"]]), d, if (d >= -1) "MET" else "not met"))
}
REOF
