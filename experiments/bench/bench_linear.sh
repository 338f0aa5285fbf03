#!/usr/bin/env bash
# bench_linear.sh: 100 linear seeds on SpamAssassin (ID train split), splinter vs scikit-learn's
# SGDClassifier(loss="log_loss") on the identical feature matrix (exported to HDF5, read with h5py +
# scipy.sparse), same L2 (alpha = l2/2, see docs/linear.md) and epochs, one fit per seed, in the same run.
# Prints wall and CPU times and their ratios. Not a test: timings depend on the machine and its load.
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
wall() { echo "$1" | sed -E 's/.* ([0-9.]+) s training.*/\1/'; }
cpu() { echo "$1" | sed -E 's/.* ([0-9.]+) s CPU .*/\1/'; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# main comparison: SGD from zero like SGDClassifier (init_std 0), minibatch 32, lr 20 decaying linearly
# (rows are l2-normalised, so steps must be large; this reaches test accuracy ~0.97 like the peer)
sgd=$("$bench" "$ds" "$tmp/x.h5" "$seeds" "$threads" 5 1e-4 sgd 32 20 0)
echo "$sgd"
out=$(/usr/bin/python3 "$root/experiments/bench/bench_linear.py" "$tmp/x.h5" "$seeds")
echo "$out" | grep -v SKLEARN_SECONDS
read -r sk_wall sk_cpu < <(echo "$out" | sed -n 's/SKLEARN_SECONDS //p')
# the defaults (AdamW, random init) for reference
adamw=$("$bench" "$ds" "$tmp/y.h5" "$seeds" "$threads" 5 1e-4 adamw 32 0.05 0.01)
echo "$adamw"
awk -v a="$sk_wall" -v b="$(wall "$sgd")" -v c="$sk_cpu" -v d="$(cpu "$sgd")" -v e="$(wall "$adamw")" \
    -v t="$threads" 'BEGIN {
  printf "ratio scikit-learn / splinter SGD: wall %.2fx (%d threads vs 1), CPU %.2fx\n", a / b, t, c / d
  printf "ratio scikit-learn / splinter AdamW defaults: wall %.2fx\n", a / e }'
