#!/usr/bin/env bash
# check_linear_train.sh: `splinter train --family linear` end to end on a small synthetic table.
#  - seeds trained on 1 and on 2 threads give bit-identical model files (every dataset and attribute but the
#    file name), and a different seed gives different weights;
#  - every model file matches an independent Python re-implementation of the feature hashing and of
#    softmax(X W + b), with the documented layout (tests/ref/linear_check_model.py); the exact optimum has a
#    gradient norm below 1e-6;
#  - bad options and a missing data set fail with exit code 2 / 1, a message naming the problem, and no file
#    (not even a .tmp) left in the models directory;
#  - on the real SpamAssassin data (when its package is in the cache) 5 default seeds reach ID test accuracy
#    >= 0.97 each.
# Environment (set by CTest): SPLINTER, SPLINTER_SRC, SPLINTER_TEST_TMP.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
source "$SPLINTER_SRC/tests/lib/check_lib.sh"
check_begin run1 run2

# A two-class table: ID domain "news" (train/val/test), OOD domain "forum" whose cue words shift.
"$PY" "$SPLINTER_SRC/tests/ref/make_sentiment_table.py" "$T/table.jsonl" --seed 1234 --rows 360 --id-rows 280 \
  --words 8 30 --p-cafe 0.1 --capitalize
for r in run1 run2; do
  "$SPLINTER" data import --dataset table --input "$T/table.jsonl" --format jsonl --domain-column domain \
    --ood-domains forum -o "$T/$r/dataset.h5" 2>/dev/null
done

# --- determinism across thread counts
"$SPLINTER" train --family linear "$T/run1" --seeds 0-3 --threads 1 --topk 8 >"$T/run1.out" 2>"$T/run1.err" ||
  bad "train run1: $(cat "$T/run1.err")"
"$SPLINTER" train --family linear "$T/run2" --seeds 0-3 --threads 2 --topk 8 >"$T/run2.out" 2>"$T/run2.err" ||
  bad "train run2: $(cat "$T/run2.err")"
"$PY" - "$T/run1/models" "$T/run2/models" <<'PYEOF' || bad "1-thread and 2-thread models differ"
import h5py, numpy as np, sys
def items(path):
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[...].tobytes()) if isinstance(o, h5py.Dataset) else None)
        for n in [""] + [k for k in out]:
            for k, v in f[n or "/"].attrs.items():
                out[f"{n}@{k}"] = str(v)
    return out
for s in range(4):
    a, b = items(f"{sys.argv[1]}/linear-s{s}.h5"), items(f"{sys.argv[2]}/linear-s{s}.h5")
    if a != b:
        print("differ:", [k for k in a if a.get(k) != b.get(k)][:5], file=sys.stderr)
        sys.exit(1)
with h5py.File(f"{sys.argv[1]}/linear-s0.h5") as f0, h5py.File(f"{sys.argv[1]}/linear-s1.h5") as f1:
    if np.array_equal(f0["weights/W"][...], f1["weights/W"][...]):
        print("seeds 0 and 1 gave the same weights", file=sys.stderr)
        sys.exit(1)
print("4 seeds bit-identical on 1 and 2 threads; seeds differ")
PYEOF
grep -q "^linear-s3 " "$T/run1.out" || bad "accuracy table lacks linear-s3: $(cat "$T/run1.out")"

# --- the exact optimum and minibatch SGD (seeds 0-3 above: the per-sample default), checked against Python
"$SPLINTER" train --family linear "$T/run1" --exact --l2 1e-3 --topk 8 >/dev/null 2>"$T/exact.err" ||
  bad "exact: $(cat "$T/exact.err")"
"$SPLINTER" train --family linear "$T/run1" --seed 7 --optimizer sgd --batch 16 --lr-schedule constant --lr 2 --epochs 3 --weighting tf \
  --no-l2-normalize --bits 12 --topk 4 >/dev/null 2>"$T/sgd.err" || bad "sgd: $(cat "$T/sgd.err")"
"$PY" "$SPLINTER_SRC/tests/ref/linear_check_model.py" "$T/run1/dataset.h5" "$T/run1/models/linear-s0.h5" \
  "$T/run1/models/linear-s3.h5" "$T/run1/models/linear-exact.h5" "$T/run1/models/linear-s7.h5" ||
  bad "model files do not match the Python re-implementation"

# --- bad input: exit code, message, nothing left behind
mkdir -p "$T/empty"
expect_fail 1 "$T/empty/dataset.h5" -- "$SPLINTER" train --family linear "$T/empty"
expect_fail 2 "--optimizer must be sgd or adamw" -- "$SPLINTER" train --family linear "$T/run2" --optimizer adam
expect_fail 2 "--seeds expects" -- "$SPLINTER" train --family linear "$T/run2" --seeds 5-3
expect_fail 2 "--epochs expects an integer" -- "$SPLINTER" train --family linear "$T/run2" --epochs 0
expect_fail 2 "unknown family 'forest'" -- "$SPLINTER" train --family forest "$T/run2"
expect_fail 2 "missing --family" -- "$SPLINTER" train "$T/run2"
expect_fail 2 "--exact needs --l2 > 0" -- "$SPLINTER" train --family linear "$T/run2" --exact --l2 0
expect_fail 2 "--lr-schedule must be linear, constant or optimal" -- "$SPLINTER" train --family linear "$T/run2" --lr-schedule cosine
expect_fail 2 "the optimal lr schedule needs 0 < l2 < 2" -- "$SPLINTER" train --family linear "$T/run2" --l2 0
expect_fail 2 "missing the run directory" -- "$SPLINTER" train --family linear
[ -z "$(ls "$T/empty")" ] || bad "files left in $T/empty: $(ls "$T/empty")"
ls "$T/run1/models" "$T/run2/models" | grep -q '\.tmp$' && bad ".tmp files left behind"

# --- quality on the real data: SpamAssassin from the package cache (skipped when it was never fetched, or with
# SPLINTER_OFFLINE=1); 5 seeds of the default per-sample SGD must each reach ID test accuracy >= 0.97
if [ "${SPLINTER_OFFLINE:-0}" != 1 ] &&
  "$SPLINTER" data import --dataset spam-assassin -o "$T/spam/dataset.h5" >/dev/null 2>"$T/spam-import.err"; then
  "$SPLINTER" train --family linear "$T/spam" --seeds 0-4 --topk 0 --threads 2 >"$T/spam.out" 2>"$T/spam.err" ||
    bad "SpamAssassin training: $(cat "$T/spam.err")"
  awk 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == "test") c = i; next }
       c && $c + 0 >= 0.97 { ok++ } END { exit !(c && ok == 5 && NR == 6) }' "$T/spam.out" ||
    bad "SpamAssassin: a seed below test accuracy 0.97: $(cat "$T/spam.out")"
  echo "SpamAssassin, 5 default seeds, test accuracy: $(awk 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == "test") c = i; next } { printf " %s", $c }' "$T/spam.out")"
else
  echo "SpamAssassin not in the package cache (splinter data fetch): real-data quality check skipped"
fi

[ "$failures" -ne 0 ] || rm -rf "$T"
check_end check_linear_train
