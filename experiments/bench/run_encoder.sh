#!/usr/bin/env bash
# Encoder training throughput, splinter vs PyTorch, in the same run: same model (vocab 8192, d 128, 2 layers,
# 4 heads, FFN 512, length 128, batch 32), joint MLM + classification objective, dropout 0.1, AdamW with
# clipping; 1 and 2 threads (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for both, as PyTorch also calls
# OpenBLAS through libblas, plus torch.set_num_threads; bench_encoder runs N OpenMP threads that each call a
# single-threaded OpenBLAS, as splinter's training jobs do).
# OMP_WAIT_POLICY=passive for both: on a shared machine, OpenMP workers spinning between parallel regions
# starve the BLAS threads (and vice versa), which slows both sides several-fold.
# Each side runs REPEATS times, alternating, and the best tokens/s is kept (the machine is shared).
# Usage: experiments/bench/run_encoder.sh [build-dir] [steps] [repeats]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
steps=${2:-10}
repeats=${3:-3}
bench="$build/experiments/bench/bench_encoder"
[ -x "$bench" ] || { echo "run_encoder: $bench not built (cmake --build $build)" >&2; exit 1; }
export OMP_WAIT_POLICY=passive
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
for threads in 1 2; do
  best_c=0 best_t=0 line_c="" line_t=""
  for _ in $(seq "$repeats"); do
    lc=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$bench" "$threads" "$steps")
    lt=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 "$root/experiments/bench/encoder_torch_bench.py" "$threads" "$steps")
    vc=$(echo "$lc" | field tokens_per_s)
    vt=$(echo "$lt" | field tokens_per_s)
    if [ "$vc" -gt "$best_c" ]; then best_c=$vc line_c=$lc; fi
    if [ "$vt" -gt "$best_t" ]; then best_t=$vt line_t=$lt; fi
  done
  echo "$line_c"
  echo "$line_t"
  cc=$(echo "$line_c" | field tokens_per_cpu_s)
  ct=$(echo "$line_t" | field tokens_per_cpu_s)
  load=$(cut -d' ' -f1 /proc/loadavg)
  awk -v c="$best_c" -v t="$best_t" -v cc="$cc" -v ct="$ct" -v n="$threads" -v load="$load" \
    'BEGIN { printf "ratio threads=%d splinter/torch tokens_per_s = %.2f (target >= 2), per CPU second = %.2f, load %s\n",
             n, c / t, cc / ct, load }'
done
