#!/usr/bin/env bash
# bench_linear.sh: SEEDS linear seeds on a data set's train split (SpamAssassin: 1,800 rows, hashed uni+bigram
# features), splinter's per-sample SGD vs scikit-learn's SGDClassifier, like with like:
#   - the same algorithm: SGDClassifier(loss="log_loss", penalty="l2", alpha=l2/2, learning_rate="optimal",
#     max_iter=epochs, tol=None, average=False) vs `sgd`, batch 1, lr schedule `optimal`, l2, from zero
#     (docs/linear.md shows the updates are the same; tests/test_linear.c checks it update for update; on
#     sparse input scikit-learn damps its intercept's step by 0.01, splinter does not);
#   - the same feature matrix (splinter exports it; scikit-learn reads it with h5py + scipy.sparse);
#   - the same work per seed, timed: train one model, predict the test split, score it (features built once,
#     outside the timing, on both sides);
#   - the same thread count: splinter on T threads (one model per thread) vs scikit-learn with
#     joblib.Parallel(n_jobs=T, backend="threading"), and both on 1 thread (scikit-learn one fit at a time).
# The sides alternate, REPEATS times; the median wall and CPU times are reported with their ratios. Both sides
# must reach test accuracy >= 0.97 on every seed (exit status 1 otherwise). Not a test: timings depend on the
# machine and its load (printed).
#
# Usage: experiments/bench/bench_linear.sh RUN/dataset.h5 [BUILD_DIR=build] [SEEDS=100] [THREADS=2] [REPEATS=3]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ds=${1:?usage: bench_linear.sh RUN/dataset.h5 [BUILD_DIR] [SEEDS] [THREADS] [REPEATS]}
build=${2:-$root/build}
seeds=${3:-100}
threads=${4:-2}
repeats=${5:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench="$build/experiments/bench/bench_linear"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
declare -A wall cpu
below=0

# one run of a side: prints its summary line, appends "wall cpu" to $tmp/<key>, counts low-accuracy seeds
run() {
  local key=$1 out
  shift
  out=$("$@")
  echo "$out" | grep -v -E '^(SPLINTER|SKLEARN) '
  echo "$out" | sed -n -E 's/^(SPLINTER|SKLEARN) ([0-9.]+) ([0-9.]+) ([0-9]+)$/\2 \3 \4/p' >>"$tmp/$key"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $seeds seeds, $threads threads, $repeats repeats"
tcounts="$threads"
[ "$threads" -gt 1 ] && tcounts="$threads 1"
for r in $(seq "$repeats"); do
  for t in $tcounts; do
    run "splinter-$t" "$bench" "$ds" "$tmp/x.h5" "$seeds" "$t"
    run "sklearn-$t" /usr/bin/python3 "$root/experiments/bench/bench_linear.py" "$tmp/x.h5" "$seeds" "$t"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for key in $(ls "$tmp" | grep -E '^(splinter|sklearn)-'); do
  wall[$key]=$(cut -d' ' -f1 "$tmp/$key" | median)
  cpu[$key]=$(cut -d' ' -f2 "$tmp/$key" | median)
  below=$((below + $(awk '{ s += $3 } END { print s + 0 }' "$tmp/$key")))
done
for t in $tcounts; do
  how=$([ "$t" -eq 1 ] && echo "one fit at a time" || echo "joblib threading n_jobs=$t")
  awk -v sw="${wall[sklearn-$t]}" -v sc="${cpu[sklearn-$t]}" -v pw="${wall[splinter-$t]}" \
      -v pc="${cpu[splinter-$t]}" -v t="$t" -v n="$seeds" -v how="$how" 'BEGIN {
    printf "median of the repeats, %d thread(s): splinter %.3f s wall, %.2f ms CPU/model; scikit-learn (%s) %.3f s wall, %.2f ms CPU/model\n", t, pw, 1e3 * pc / n, how, sw, 1e3 * sc / n
    printf "ratio scikit-learn / splinter, both on %d thread(s): wall %.2fx, CPU per model %.2fx\n", t, sw / pw, sc / pc }'
done
if [ "$below" -eq 0 ]; then
  echo "accuracy check: every seed of both sides reached test accuracy >= 0.97 in every run"
else
  echo "accuracy check FAILED: $below seed runs below 0.97 (see the lines above)"
  exit 1
fi
