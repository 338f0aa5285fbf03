#!/usr/bin/env bash
# splinter sweep end to end on the real SpamAssassin data set (linear family, so it is quick):
#  1. an uninterrupted single-process sweep is the reference;
#  2. a sweep killed with SIGKILL at several seeded random points, then rerun, ends with exactly the
#     reference's files (bit-identical), no *.tmp left, and no complete model trained twice;
#  3. the same sweep under `mpirun -np 2` produces the same files (skipped, with a message, without mpirun);
#  4. bad configurations fail with the key or path named and leave nothing behind.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
PY=/usr/bin/python3
tmp="$SPLINTER_TEST_TMP"
rm -rf "$tmp"
mkdir -p "$tmp"
fail() { echo "check_sweep: $*" >&2; exit 1; }

config() { # config NAME RUN_DIR
  cat > "$tmp/$1.yaml" <<YAML
name: $1
run_dir: $2
dataset:
  source: spam-assassin
linear:
  seeds: {first: 0, count: 6}
  epochs: 3
  exact: false
analysis:
  eps: [0.003, 0.3]
  bootstrap: 20
  top: 2
YAML
}

# 1. reference
config reference "$tmp/reference"
"$SPLINTER" sweep --quiet --threads 2 "$tmp/reference.yaml"
[ "$(ls "$tmp/reference/models" | wc -l)" -eq 6 ] || fail "reference sweep did not write 6 models"
"$SPLINTER" sweep --dry-run "$tmp/reference.yaml" | grep -c '^complete' | grep -qx 6 || fail "dry run does not see 6 complete"
# analyze takes the run's recorded analysis settings (eps grid, replicates, top) unless options override them.
"$SPLINTER" analyze "$tmp/reference" > "$tmp/analyze.out" 2>&1 || fail "analyze failed: $(cat "$tmp/analyze.out")"
cut -d, -f3 "$tmp/reference/analysis/multiplicity.csv" | sed 1d | sort -u | tr '\n' ' ' | grep -qx '0.003 0.3 ' ||
  fail "analyze did not use the eps grid of run.yaml"
grep -c '^[0-9]*\. ' "$tmp/analyze.out" | grep -qx 2 || fail "analyze did not print the top 2 examples of run.yaml"
"$SPLINTER" analyze --eps-grid 0.05 "$tmp/reference" > /dev/null 2>&1
cut -d, -f3 "$tmp/reference/analysis/multiplicity.csv" | sed 1d | sort -u | grep -qx '0.05' || fail "--eps-grid did not override run.yaml"

# 2. killed at seeded random points, then finished
config killed "$tmp/killed"
RANDOM=20261127
declare -A mtime
for attempt in 1 2 3 4; do
  "$SPLINTER" sweep --quiet --threads 2 "$tmp/killed.yaml" &
  pid=$!
  sleep "$(( RANDOM % 4 + 1 )).$(( RANDOM % 10 ))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Files complete before this kill must be untouched by every later run.
  for f in "$tmp"/killed/models/*.h5; do
    [ -e "$f" ] || continue
    stamp=$(stat -c '%i %Y.%y' "$f")
    if [ -n "${mtime[$f]:-}" ] && [ "${mtime[$f]}" != "$stamp" ]; then fail "$f was rewritten after it was complete"; fi
    mtime[$f]=$stamp
  done
done
"$SPLINTER" sweep --quiet --threads 2 "$tmp/killed.yaml"
for f in "${!mtime[@]}"; do
  [ "$(stat -c '%i %Y.%y' "$f")" = "${mtime[$f]}" ] || fail "$f was retrained after it was complete"
done
ls "$tmp"/killed/models/*.tmp >/dev/null 2>&1 && fail "temporary files left after the resumed sweep"
$PY "$SPLINTER_SRC/tests/ref/compare_runs.py" "$tmp/reference" "$tmp/killed"

# 3. two MPI ranks
if command -v mpirun >/dev/null 2>&1; then
  config ranks "$tmp/ranks"
  # Open MPI unloads its dlopen'ed components at MPI_Finalize, so LeakSanitizer can neither symbolise nor
  # suppress their one-time allocations: leak checking is off for the MPI ranks only.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    mpirun --allow-run-as-root --oversubscribe -np 2 "$SPLINTER" sweep --quiet --threads 1 "$tmp/ranks.yaml"
  $PY "$SPLINTER_SRC/tests/ref/compare_runs.py" "$tmp/reference" "$tmp/ranks"
else
  echo "check_sweep: mpirun not installed, MPI part skipped" >&2
fi

# 4. every shipped configuration parses and expands (dry run: nothing is written)
for cfg in "$SPLINTER_SRC"/experiments/*.yaml; do
  n=$("$SPLINTER" sweep --dry-run "$cfg" | wc -l)
  [ "$n" -gt 0 ] || fail "$cfg expands to no model"
done
[ "$("$SPLINTER" sweep --dry-run "$SPLINTER_SRC/experiments/spam-demo.yaml" | grep -c 'finetune-p0-s')" -eq 3 ] ||
  fail "spam-demo.yaml should nest 3 fine-tuning seeds in pretrained encoder p0"
[ "$("$SPLINTER" sweep --dry-run "$SPLINTER_SRC/experiments/linear-rashomon.yaml" | grep -c '^train.*linear-s')" -eq 1000 ] ||
  fail "linear-rashomon.yaml should hold 1000 linear seeds"

# 5. bad configurations
expect_fail() { # expect_fail CODE NEEDLE CONFIG
  set +e
  out=$("$SPLINTER" sweep --quiet "$3" 2>&1)
  code=$?
  set -e
  [ "$code" -eq "$1" ] || fail "expected exit $1 for $3, got $code: $out"
  echo "$out" | grep -qF -- "$2" || fail "message for $3 lacks '$2': $out"
}
printf 'name: bad\nrun_dir: %s/bad1\ndataset: {source: spam-assassin}\nlinear:\n  seeds: {first: 0, count: 2}\n  epoch: 3\n' "$tmp" > "$tmp/unknown.yaml"
expect_fail 2 "unknown.yaml:6: unknown key 'epoch'" "$tmp/unknown.yaml"
printf 'name: bad\nrun_dir: %s/bad2\ndataset: {source: spam-assassin}\nlinear:\n  seeds: {first: 0, count: 0}\n' "$tmp" > "$tmp/empty.yaml"
expect_fail 2 "linear.seeds.count is 0" "$tmp/empty.yaml"
printf 'name: bad\nrun_dir: %s/bad3\ndataset: {source: table, input: %s/nope.jsonl, format: jsonl, text_column: t, label_column: l}\nlinear:\n  seeds: {first: 0, count: 1}\n' "$tmp" "$tmp" > "$tmp/missing.yaml"
expect_fail 1 "nope.jsonl" "$tmp/missing.yaml"
[ -e "$tmp/bad3/dataset.h5" ] && fail "a dataset.h5 was left behind for a missing input"
printf 'name: bad\nrun_dir: /proc/splinter-cannot-write\ndataset: {source: spam-assassin}\nlinear:\n  seeds: {first: 0, count: 1}\n' > "$tmp/unwritable.yaml"
expect_fail 1 "/proc/splinter-cannot-write" "$tmp/unwritable.yaml"
# A run directory made by another config is refused.
sed 's/count: 6/count: 7/' "$tmp/reference.yaml" > "$tmp/other.yaml"
expect_fail 2 "made by a different configuration (linear.seeds.count, resolved line" "$tmp/other.yaml"
expect_fail 2 "run has 'count: 6', config gives 'count: 7'" "$tmp/other.yaml"
echo "check_sweep: ok"
