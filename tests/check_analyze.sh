#!/usr/bin/env bash
# check_analyze.sh: `splinter analyze` from the command line on a run written by h5py (not by the C store
# writer): exit codes (0 ok, 1 bad input, 2 usage), --top output with the example text, the CSV files, and
# the numpy reference agreeing with analysis.h5.
set -u
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
PY=/usr/bin/python3
rm -rf "$SPLINTER_TEST_TMP"
mkdir -p "$SPLINTER_TEST_TMP"
run="$SPLINTER_TEST_TMP/run"
fail=0
check() { # check <description> <expected exit> <command...>
    local what=$1 want=$2
    shift 2
    "$@" >"$SPLINTER_TEST_TMP/out" 2>"$SPLINTER_TEST_TMP/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; cat "$SPLINTER_TEST_TMP/err"; fail=1
    else
        echo "ok: $what (exit $got)"
    fi
}
contains() { # contains <file> <text>
    if ! grep -qF -- "$2" "$1"; then echo "FAIL: $1 lacks '$2'"; cat "$1"; fail=1; fi
}

$PY "$SPLINTER_SRC/tests/ref/make_synthetic_run.py" "$run" || exit 1

check "help" 0 "$SPLINTER" analyze --help
contains "$SPLINTER_TEST_TMP/out" "--eps-grid"
check "no run directory" 2 "$SPLINTER" analyze
check "bad epsilon" 2 "$SPLINTER" analyze "$run" --eps-grid 0,abc
check "negative epsilon" 2 "$SPLINTER" analyze "$run" --eps-grid -0.1
check "bad bootstrap count" 2 "$SPLINTER" analyze "$run" --bootstrap -3
check "missing run" 1 "$SPLINTER" analyze "$SPLINTER_TEST_TMP/nonexistent"
contains "$SPLINTER_TEST_TMP/err" "models directory"

# A bad concept file fails before anything is written, naming file and line.
printf 'money: cash\nmoney: dollars\n' >"$SPLINTER_TEST_TMP/concepts-bad.txt"
check "duplicate concept" 1 "$SPLINTER" analyze "$run" --concepts "$SPLINTER_TEST_TMP/concepts-bad.txt"
contains "$SPLINTER_TEST_TMP/err" "concepts-bad.txt:2: concept 'money' is already defined on line 1"
check "missing concept file" 1 "$SPLINTER" analyze "$run" --concepts "$SPLINTER_TEST_TMP/none.txt"
contains "$SPLINTER_TEST_TMP/err" "none.txt"
[ ! -e "$run/analysis/analysis.h5" ] || { echo "FAIL: output written with a bad concept file"; fail=1; }
check "bad tau-rep" 2 "$SPLINTER" analyze "$run" --tau-rep abc

check "analyze with --top" 0 "$SPLINTER" analyze "$run" --eps-grid 0,0.02,0.1 --bootstrap 30 --seed 5 --top 2
contains "$SPLINTER_TEST_TMP/out" "the 2 most ambiguous OOD examples"
contains "$SPLINTER_TEST_TMP/out" "ood-late row 1"
contains "$SPLINTER_TEST_TMP/out" "email number 1"
contains "$SPLINTER_TEST_TMP/err" "8 models in 2 variant(s)"
for f in analysis.h5 models.csv multiplicity.csv examples.csv variants.csv pairwise_test.csv pairwise_ood-late.csv; do
    [ -s "$run/analysis/$f" ] || { echo "FAIL: missing $f"; fail=1; }
done
contains "$run/analysis/examples.csv" "finetune,ood-late,100,spam-100,"
contains "$run/analysis/variants.csv" "finetune-minus-joint,ood-late,accuracy_mean,"
# 2 variants x 4 kinds x 3 eps x 2 splits rows + header
rows=$(wc -l <"$run/analysis/multiplicity.csv")
[ "$rows" = 49 ] || { echo "FAIL: multiplicity.csv has $rows lines, expected 49"; fail=1; }
$PY "$SPLINTER_SRC/tests/ref/multiplicity_ref.py" "$run" || fail=1

# same seed, same bytes
cp "$run/analysis/multiplicity.csv" "$SPLINTER_TEST_TMP/first.csv"
check "rerun" 0 "$SPLINTER" analyze "$run" --eps-grid 0,0.02,0.1 --bootstrap 30 --seed 5
cmp -s "$run/analysis/multiplicity.csv" "$SPLINTER_TEST_TMP/first.csv" || { echo "FAIL: rerun differs"; fail=1; }

rm -rf "$run"
$PY "$SPLINTER_SRC/tests/ref/make_synthetic_run.py" "$run" --only-one-model || exit 1
check "one model" 1 "$SPLINTER" analyze "$run"
contains "$SPLINTER_TEST_TMP/err" "needs at least 2"
[ ! -e "$run/analysis/analysis.h5" ] || { echo "FAIL: output written on failure"; fail=1; }

rm -rf "$SPLINTER_TEST_TMP"
exit $fail
