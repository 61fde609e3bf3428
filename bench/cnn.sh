#!/usr/bin/env bash
# The mnist_cnn benchmark of issue 14 in one run: rkeras (bench/cnn.R), Keras 3 on JAX
# (bench/anchors/keras_zoo.py --model mnist_cnn; bench/anchor_cnn.py --part predict) and the
# model's f32 GEMM floor (bench/anchor_cnn.py --part floor), one after the other on the same
# machine, then the ratios (bench/cnn_report.R).
#
#   R_LIBS=/path/to/lib bench/cnn.sh [--rows 6000] [--epochs 3] [--data DIR]
#
# Environment: BENCH_VENV (default ~/.cache/rkeras-tools/benchvenv, made by
# bench/anchors/setup_venv.sh), BENCH_THREADS (default 2), BENCH_OUT (default a new /tmp dir).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rows=6000; epochs=3; data=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --data) data=(--data "$2"); export FASHION_DIR="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
PY="${BENCH_VENV:-$HOME/.cache/rkeras-tools/benchvenv}/bin/python"
export BENCH_THREADS="${BENCH_THREADS:-2}"
out="${BENCH_OUT:-$(mktemp -d /tmp/rkeras-cnn.XXXXXX)}"
mkdir -p "$out"
res="$out/results.jsonl"; : > "$res"
echo "== mnist_cnn benchmark $(date -u '+%Y-%m-%d %H:%M:%SZ'), $rows rows, $epochs epochs, load $(cut -d' ' -f1-3 /proc/loadavg), logs $out"
step() {  # step <log> <command...>
  local log="$out/$1.log"; shift
  printf '  %-28s' "$(basename "$log" .log)"
  "$@" > "$log" 2>&1 || echo -n "(failed) "
  grep '^RESULT ' "$log" | sed 's/^RESULT //' >> "$res"
  echo "done"
}
step rkeras Rscript "$here/cnn.R" --rows "$rows" --epochs "$epochs" "${data[@]}"
if [ -x "$PY" ]; then
  step keras-jax "$PY" "$here/anchors/keras_zoo.py" --model mnist_cnn --rows "$rows" --epochs "$epochs" "${data[@]}"
  step keras-jax-predict "$PY" "$here/anchor_cnn.py" --part predict "${data[@]}"
  step gemm-floor env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$here/anchor_cnn.py" --part floor --rows "$rows"
else
  echo "  (no anchors: $PY not found; bench/anchors/setup_venv.sh makes it)"
fi
Rscript "$here/cnn_report.R" "$res"
