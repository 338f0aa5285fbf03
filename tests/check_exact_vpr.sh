#!/usr/bin/env bash
# check_exact_vpr.sh: exact viable prediction ranges in `splinter analyze` end to end on a small synthetic table.
#  - 6 SGD seeds + the exact optimum (bits 10, l2 0.01); analyze --exact on 12 examples per split at three
#    epsilons: tests/ref/exact_vpr_check.py recomputes f*, the seeds' objective gaps and their margins with
#    numpy and checks that every seed inside a level set has predictions inside the exact range (the largest
#    epsilon holds all seeds), ranges nest in eps, flips follow the bounds; exact_vpr.csv and
#    exact_summary.csv have their documented columns;
#  - 1 and 2 threads give identical exact_vpr.csv / exact_summary.csv;
#  - a later run with --no-exact, or without the exact model, removes exact_vpr.csv, exact_summary.csv and
#    analysis.h5:/exact and keeps the other files;
#  - bad input: --exact without an exact model, a seed with other features (bits 11) in the run, a bad
#    --exact-eps: exit code 1 / 2 and a message naming the problem.
# Environment (set by CTest): SPLINTER, SPLINTER_SRC, SPLINTER_TEST_TMP.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
source "$SPLINTER_SRC/tests/lib/check_lib.sh"
check_begin run noexact

"$PY" "$SPLINTER_SRC/tests/ref/make_sentiment_table.py" "$T/table.jsonl" --seed 99 --rows 200 --id-rows 160 \
  --words 6 20 --max-cues 2 --p-cue-id 0.85 --p-cue-ood 0.85
for r in run noexact; do
  "$SPLINTER" data import --dataset table --input "$T/table.jsonl" --format jsonl --domain-column domain \
    --ood-domains forum -o "$T/$r/dataset.h5" 2>/dev/null
done
opts=(--bits 10 --l2 0.01 --optimizer sgd --lr 0.5 --epochs 3 --topk 0)
"$SPLINTER" train --family linear "$T/run" --seeds 0-5 --exact "${opts[@]}" >/dev/null 2>"$T/train.err" ||
  bad "train: $(cat "$T/train.err")"
"$SPLINTER" train --family linear "$T/noexact" --seeds 0-1 "${opts[@]}" >/dev/null 2>&1 || bad "train noexact"

EPS=0.01,0.3,3
OMP_NUM_THREADS=2 "$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features --exact --exact-max 12 \
  --exact-eps "$EPS" >"$T/a2.out" 2>"$T/a2.err" || bad "analyze: $(cat "$T/a2.err")"
grep -q "exact ranges of" "$T/a2.err" || bad "analyze did not report the exact ranges: $(cat "$T/a2.err")"
if grep -q "outside the exact range" "$T/a2.err"; then bad "containment warning: $(cat "$T/a2.err")"; fi
"$PY" "$SPLINTER_SRC/tests/ref/exact_vpr_check.py" "$T/run" 6 || bad "exact_vpr_check.py"
head -1 "$T/run/analysis/exact_vpr.csv" | grep -q "^split,row,source_id,label,stratum,weight,eps,margin_star,lower,upper,lower_logit,upper_logit,gap,flips,undecided,converged,sampled_lower,sampled_upper,sampled_flips,n_sampled_in_set$" ||
  bad "exact_vpr.csv header: $(head -1 "$T/run/analysis/exact_vpr.csv")"
head -1 "$T/run/analysis/exact_summary.csv" | grep -q "^split,eps,n_examples,n_solved,n_sampled,n_sampled_in_set,exact_ambiguity," ||
  bad "exact_summary.csv header"
cp "$T/run/analysis/exact_vpr.csv" "$T/vpr2.csv"
cp "$T/run/analysis/exact_summary.csv" "$T/sum2.csv"
OMP_NUM_THREADS=1 "$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features --exact --exact-max 12 \
  --exact-eps "$EPS" >/dev/null 2>&1 || bad "analyze (1 thread)"
cmp -s "$T/vpr2.csv" "$T/run/analysis/exact_vpr.csv" || bad "exact_vpr.csv differs between 1 and 2 threads"
cmp -s "$T/sum2.csv" "$T/run/analysis/exact_summary.csv" || bad "exact_summary.csv differs between 1 and 2 threads"

# a subset: 4 per split (2 nearest the boundary, 2 random), weights sum to the split size
"$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features --exact-max 4 --exact-eps 0.01 >/dev/null 2>&1 ||
  bad "analyze --exact-max 4"
"$PY" - "$T/run/analysis/exact_vpr.csv" <<'PYEOF' || bad "subset selection"
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1])))
by = collections.defaultdict(list)
for r in rows: by[r["split"]].append(r)
for sp, rs in by.items():
    strata = sorted(r["stratum"] for r in rs)
    assert strata == ["boundary"] * 2 + ["random"] * 2, (sp, strata)
    b = [abs(float(r["margin_star"])) for r in rs if r["stratum"] == "boundary"]
    rnd = [abs(float(r["margin_star"])) for r in rs if r["stratum"] == "random"]
    assert max(b) <= min(rnd), (sp, b, rnd)
PYEOF

# a run without exact ranges (--no-exact, or no exact model) removes the earlier exact files and keeps the rest
A="$T/run/analysis"
has_exact_group() { "$PY" -c 'import h5py, sys; sys.exit(0 if "exact" in h5py.File(sys.argv[1], "r") else 1)' "$1"; }
[ -s "$A/exact_vpr.csv" ] && [ -s "$A/exact_summary.csv" ] && has_exact_group "$A/analysis.h5" ||
  bad "no exact outputs before the --no-exact run"
echo "kept" >"$A/notes.txt"
"$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features --no-exact >/dev/null 2>&1 || bad "analyze --no-exact"
for f in exact_vpr.csv exact_summary.csv; do [ ! -e "$A/$f" ] || bad "$f left by --no-exact"; done
if has_exact_group "$A/analysis.h5"; then bad "analysis.h5 still has /exact after --no-exact"; fi
for f in analysis.h5 models.csv multiplicity.csv examples.csv variants.csv pairwise_test.csv pairwise_ood-forum.csv; do
  [ -s "$A/$f" ] || bad "$f missing after --no-exact"
done
grep -q "^kept$" "$A/notes.txt" || bad "notes.txt touched"
"$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features --exact-max 2 --exact-eps 0.01 >/dev/null 2>&1 ||
  bad "analyze (exact again)"
[ -s "$A/exact_vpr.csv" ] || bad "exact_vpr.csv not written again"
exact_model=$(ls "$T"/run/models/*exact*.h5)
mv "$exact_model" "$T/exact-model.h5"
"$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features >/dev/null 2>&1 || bad "analyze without the exact model"
for f in exact_vpr.csv exact_summary.csv; do [ ! -e "$A/$f" ] || bad "$f left without an exact model"; done
mv "$T/exact-model.h5" "$exact_model"

expect_fail 1 "no exact linear model" "$SPLINTER" analyze "$T/noexact" --bootstrap 0 --no-features --exact
"$SPLINTER" analyze "$T/noexact" --bootstrap 0 --no-features >/dev/null 2>&1 || bad "analyze without exact model (auto)"
[ ! -e "$T/noexact/analysis/exact_vpr.csv" ] || bad "exact_vpr.csv written without an exact model"
expect_fail 2 "--exact-eps" "$SPLINTER" analyze "$T/run" --exact-eps 0.1,-1
"$SPLINTER" train --family linear "$T/run" --seed 9 --bits 11 --l2 0.01 --topk 0 >/dev/null 2>&1 || bad "train bits 11"
expect_fail 1 "differ from the exact model" "$SPLINTER" analyze "$T/run" --bootstrap 0 --no-features --exact-max 2

rm -rf "$T"
check_end check_exact_vpr
