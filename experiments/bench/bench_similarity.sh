#!/usr/bin/env bash
# All-pairs linear CKA benchmark: splinter (C) against vectorised numpy on the same data, same OpenBLAS and
# thread count. Usage: experiments/bench/bench_similarity.sh [BUILD_DIR] [M L n d REPEATS]
# (defaults: build, 50 3 5000 128 5). Set THREADS to change the thread count (default 2). The last
# line starts with RATIO: the median of numpy time / splinter time over the interleaved repetitions.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
shift || true
threads=${THREADS:-2}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
exec /usr/bin/python3 "$root/experiments/bench/bench_similarity.py" "$build/experiments/bench/bench_similarity" "$@"
