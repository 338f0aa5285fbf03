#!/bin/bash
# check_train_encoder.sh: `splinter train --family encoder` refuses bad options and configurations with exit 2
# and a message naming the problem, fails with exit 1 (and no model file) on a missing data set.
set -u
T="$SPLINTER_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE PATTERN ARGS...: exit code and a stderr pattern
    local code=$1 pat=$2; shift 2
    "$SPLINTER" train --family encoder "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    [ $rc -eq "$code" ] || fail "exit $rc (expected $code) for: $*: $(cat "$T/err")"
    grep -q -- "$pat" "$T/err" || fail "stderr lacks '$pat' for: $*: $(cat "$T/err")"
}
expect 2 "missing the run directory" --variant scratch
expect 2 "unknown --variant 'bert'" "$T/run" --variant bert
expect 2 "heads = 3 does not divide d_model = 128" "$T/run" --variant scratch --heads 3
expect 2 "max_len = 9000 is outside" "$T/run" --variant joint --max-len 9000
expect 2 "option --lr expects" "$T/run" --variant joint --lr abc
expect 2 "--poolings expects" "$T/run" --variant joint --poolings max
expect 1 "dataset.h5" "$T/run" --variant scratch --quiet
[ ! -e "$T/run/models/scratch-s0.h5" ] || fail "a model file was written without a data set"
"$SPLINTER" train --family encoder --help | grep -q "joint-nosplit" || fail "--help lacks the variants"
echo "check_train_encoder: ok"
