#!/usr/bin/env bash
# bench_linear.sh: 100 linear seeds on SpamAssassin (ID train split), splinter vs scikit-learn's
# SGDClassifier(loss="log_loss") on the identical feature matrix, same L2 and epochs, in the same run.
# Prints both times and the ratio. Not a test: timings depend on the machine and its load.
#
# Usage: experiments/bench/bench_linear.sh RUN/dataset.h5 [BUILD_DIR=build] [SEEDS=100] [THREADS=2]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ds=${1:?usage: bench_linear.sh RUN/dataset.h5 [BUILD_DIR] [SEEDS] [THREADS]}
build=${2:-$root/build}
seeds=${3:-100}
threads=${4:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench="$build/experiments/bench/bench_linear"
export OPENBLAS_NUM_THREADS=1

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# splinter SGD (default batch 32) on all threads, and on one thread for the per-core comparison
line=$("$bench" "$ds" "$tmp/x.h5" "$seeds" "$threads" 5 1e-4 sgd 32 0.05)
echo "$line"
t_sp=$(echo "$line" | sed -E 's/.* ([0-9.]+) s training.*/\1/')
line1=$("$bench" "$ds" "$tmp/x1.h5" "$seeds" 1 5 1e-4 sgd 32 0.05)
echo "$line1"
t_sp1=$(echo "$line1" | sed -E 's/.* ([0-9.]+) s training.*/\1/')
# the other trainers, for reference
"$bench" "$ds" "$tmp/x2.h5" "$seeds" "$threads" 5 1e-4 sgd 1 0.05
"$bench" "$ds" "$tmp/x3.h5" "$seeds" "$threads" 5 1e-4 adamw 32 0.05
out=$(/usr/bin/python3 "$root/experiments/bench/bench_linear.py" "$tmp/x.h5" "$seeds")
echo "$out" | grep -v SKLEARN_SECONDS
t_sk=$(echo "$out" | sed -n 's/SKLEARN_SECONDS //p')
awk -v a="$t_sk" -v b="$t_sp" -v c="$t_sp1" -v t="$threads" 'BEGIN {
  printf "ratio: scikit-learn / splinter (SGD, batch 32, %d threads) = %.1fx; per core (1 thread) = %.1fx\n", t, a / b, a / c }'
