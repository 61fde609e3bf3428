#!/usr/bin/env bash
# One run of rkeras and, where their Python environment exists, the anchors (Keras 3 on JAX,
# Keras 3 on TensorFlow, PyTorch eager) and the f32 GEMM probe, on the same machine, one after
# the other, then one report (bench/report.R) with ratios taken within this run.
#
#   bench/run-all.sh [--epochs N] [--data DIR] [--reps R] [--no-scaling] [--no-anchors]
#
# --reps R repeats the whole sequence R times (interleaved, so every system sees the same
# machine state); the report keeps each system's fastest repetition (on a shared machine the
# fastest is the least disturbed). Each record's "other load" tells how busy other processes were.
#
# Environment:
#   BENCH_VENV     the anchors' venv (default ~/.cache/rkeras-tools/benchvenv, made by
#                  bench/anchors/setup_venv.sh; BENCH_EXTRAS="tensorflow-cpu torch" for TF/torch)
#   BENCH_ANCHORS  the anchors' scripts (default: bench/anchors in this repository)
#   BENCH_THREADS  threads for the anchors (default 2)
#   BENCH_OUT      where logs and results.jsonl go (default: a new directory under /tmp)
#   R_LIBS         where rkeras is installed, as for any Rscript
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
epochs=4; data=""; scaling=1; anchors=1; reps=1
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --epochs=*) epochs="${1#*=}"; shift ;;
    --data) data="$2"; shift 2 ;;
    --data=*) data="${1#*=}"; shift ;;
    --reps) reps="$2"; shift 2 ;;
    --reps=*) reps="${1#*=}"; shift ;;
    --no-scaling) scaling=0; shift ;;
    --no-anchors) anchors=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

anchors_dir="${BENCH_ANCHORS:-$repo/bench/anchors}"
venv="${BENCH_VENV:-$HOME/.cache/rkeras-tools/benchvenv}"
PY="$venv/bin/python"
export BENCH_THREADS="${BENCH_THREADS:-2}"
out="${BENCH_OUT:-$(mktemp -d /tmp/rkeras-bench.XXXXXX)}"
mkdir -p "$out"
res="$out/results.jsonl"
: > "$res"
data_args=(); [ -n "$data" ] && data_args=(--data "$data")
[ -n "$data" ] && export FASHION_DIR="$data"

echo "== rkeras benchmark run $(date -u '+%Y-%m-%d %H:%M:%SZ')"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1) | $(nproc) CPUs | flags: $(grep -o -w -E 'avx2|fma|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) | epochs $epochs | anchors' threads $BENCH_THREADS | logs: $out"
echo

# run one benchmark command, keep its log, copy its RESULT lines (tagged) into results.jsonl
run() {  # run <tag> <log-name> <command...>
  local tag="$1" log="$out/$2.rep$rep.log"; shift 2
  printf '  %-34s' "$tag"
  local t0=$SECONDS
  "$@" > "$log" 2>&1
  local rc=$?
  local n=0
  while IFS= read -r line; do
    printf '{"tag":"%s","rep":%s,"result":%s}\n' "$tag" "$rep" "${line#RESULT }" >> "$res"; n=$((n + 1))
  done < <(grep '^RESULT ' "$log")
  if [ $rc -ne 0 ] || [ $n -eq 0 ]; then echo "FAILED (rc $rc, see $log)"; else echo "done in $((SECONDS - t0)) s"; fi
}

echo "running:"
for rep in $(seq 1 "$reps"); do
[ "$reps" -gt 1 ] && echo " repetition $rep of $reps"
run "rkeras (fit, gen, predict)" rkeras Rscript "$here/bench.R" --regime all --epochs "$epochs" "${data_args[@]}"

have_py=0
if [ "$anchors" = 1 ] && [ -x "$PY" ] && [ -n "$anchors_dir" ]; then
  have_py=1
  has() { "$PY" -c "import $1" > /dev/null 2>&1; }
  if has keras && has jax; then
    for r in fit gen; do run "Keras 3 + JAX ($r)" "keras-jax-$r" "$PY" "$anchors_dir/keras_jax.py" --regime $r --epochs "$epochs" "${data_args[@]}"; done
    run "Keras 3 + JAX (predict)" keras-jax-predict "$PY" "$here/anchor_predict.py" --system keras-jax "${data_args[@]}"
  else echo "  Keras 3 + JAX: not installed in $venv"; fi
  if has keras && has tensorflow; then
    for r in fit gen; do run "Keras 3 + TensorFlow ($r)" "keras-tf-$r" "$PY" "$anchors_dir/keras_tf.py" --regime $r --epochs "$epochs" "${data_args[@]}"; done
    run "Keras 3 + TensorFlow (predict)" keras-tf-predict "$PY" "$here/anchor_predict.py" --system keras-tensorflow "${data_args[@]}"
  else echo "  Keras 3 + TensorFlow: not installed (BENCH_EXTRAS=\"tensorflow-cpu torch\" $anchors_dir/setup_venv.sh)"; fi
  if has torch; then
    for r in fit gen; do run "PyTorch eager ($r)" "torch-$r" "$PY" "$anchors_dir/torch_eager.py" --regime $r --epochs "$epochs" "${data_args[@]}"; done
    run "PyTorch eager (predict)" torch-predict "$PY" "$here/anchor_predict.py" --system torch "${data_args[@]}"
  else echo "  PyTorch: not installed (BENCH_EXTRAS=\"tensorflow-cpu torch\" $anchors_dir/setup_venv.sh)"; fi
  if has numpy && has threadpoolctl; then
    run "GEMM probe (numpy/OpenBLAS)" gemm env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$anchors_dir/gemm_probe.py"
  fi
elif [ "$rep" = 1 ]; then
  echo "  anchors: skipped (no python at $PY or no anchor scripts; make them with $anchors_dir/setup_venv.sh)"
fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

Rscript "$here/report.R" "$res"

if [ "$scaling" = 1 ]; then
  echo
  echo "== scaling (rkeras, fit regime)"
  Rscript "$here/scaling.R" --epochs "$epochs" "${data_args[@]}" --out "$out/scaling.jsonl"
fi
echo
echo "results: $res"
