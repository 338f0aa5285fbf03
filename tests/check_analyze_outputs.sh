#!/usr/bin/env bash
# check_analyze_outputs.sh: which files `splinter analyze` leaves in RUN/analysis/, on a real run of tiny
# encoders (finetune and joint, two seeds each).
#  - --concepts from a pipe (process substitution) is read once: concepts.csv has one row per concept and
#    split whose positives equal a count over the analysed texts (dataset.h5 /text at the models' /rows),
#    and all four concept CSVs are byte-identical to those of the same concepts given as a file;
#  - with concepts the directory holds exactly the documented files (no more, no fewer);
#  - a rerun without concepts removes the four concept CSVs and the /concepts group of splinter.h5 and
#    leaves every other file (similarity.csv byte-identical);
#  - --no-features removes every feature-splintering file and keeps the model-level ones, and so does a
#    run whose models store no activations (linear models replacing the encoders);
#  - a pairwise_<split>.csv of a split the models do not have (splinter's header) is removed; a file with
#    another header and a file splinter never writes are kept.
# The exact-range files are checked the same way in check_exact_vpr.sh.
# Environment (set by CTest): SPLINTER, SPLINTER_SRC, SPLINTER_TEST_TMP.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
PY=/usr/bin/python3
T="$SPLINTER_TEST_TMP"
rm -rf "$T"
mkdir -p "$T"
failures=0
bad() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

"$PY" - "$T/table.jsonl" <<'PYEOF'
import json, random, sys
rng = random.Random(7)
common = "the a of and to in is it that was for on with as this".split()
pos = "great excellent wonderful superb loved brilliant enjoyable".split()
neg = "awful terrible boring dreadful hated poor weak".split()
with open(sys.argv[1], "w") as f:
    for i in range(240):
        label = i % 2
        domain = "news" if i < 170 else "forum"
        cue = pos if label else neg
        words = [rng.choice(common) for _ in range(rng.randint(8, 20))]
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cue if rng.random() < 0.8 else pos + neg))
        f.write(json.dumps({"text": " ".join(words), "label": label, "domain": domain}) + "\n")
PYEOF
R="$T/run"
"$SPLINTER" data import --dataset table --input "$T/table.jsonl" --format jsonl --domain-column domain \
  --ood-domains forum -o "$R/dataset.h5" 2>/dev/null
E=(--threads 1 --quiet --vocab 300 --d-model 16 --layers 2 --heads 2 --ffn 32 --max-len 48 --epochs 2
  --pretrain-epochs 1 --batch 16)
for s in 0 1; do
  "$SPLINTER" train --family encoder "$R" --variant finetune --seed $s --pretrain-seed 0 "${E[@]}" 2>>"$T/train.err" ||
    bad "train finetune s$s: $(cat "$T/train.err")"
  "$SPLINTER" train --family encoder "$R" --variant joint --seed $s "${E[@]}" 2>>"$T/train.err" ||
    bad "train joint s$s: $(cat "$T/train.err")"
done
A="$R/analysis"
CONCEPTS='# probes\npositive: great excellent wonderful\nnegative: awful terrible boring\nrare: zebra\n'

# --- concepts from a pipe, then from a file: the same tables
"$SPLINTER" analyze "$R" --bootstrap 10 --concepts <(printf "$CONCEPTS") >/dev/null 2>"$T/pipe.err" ||
  bad "analyze --concepts <(pipe): $(cat "$T/pipe.err")"
grep -q "concept rare (/dev/fd/[0-9]* line 4)" "$T/pipe.err" || bad "no skip warning for 'rare': $(cat "$T/pipe.err")"
mkdir -p "$T/pipe"
for f in concepts.csv splinter_concept_pairs.csv splinter_concept_variants.csv splinter_concept_compare.csv; do
  cp "$A/$f" "$T/pipe/$f" 2>/dev/null || bad "the pipe run wrote no $f"
done
"$PY" - "$R" <<'PYEOF' || bad "concepts.csv of the pipe run"
import csv, re, sys
import h5py
run = sys.argv[1]
texts = [t.decode() if isinstance(t, bytes) else t for t in h5py.File(run + "/dataset.h5", "r")["text"][:]]
rows = {s: h5py.File(run + "/models/joint-s0.h5", "r")["rows/" + s][:] for s in ("test", "ood-forum")}
concepts = [("positive", 2, ["great", "excellent", "wonderful"]), ("negative", 3, ["awful", "terrible", "boring"]),
            ("rare", 4, ["zebra"])]
got = list(csv.DictReader(open(run + "/analysis/concepts.csv")))
want = [(c, s) for c, _, _ in concepts for s in ("test", "ood-forum")]
assert [(r["concept"], r["split"]) for r in got] == want, [(r["concept"], r["split"]) for r in got]
for r, (name, line, words) in zip(got, [c for c in concepts for _ in range(2)]):
    pat = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(words) + r")(?![A-Za-z0-9])", re.I)
    idx = rows[r["split"]]
    pos = sum(1 for i in idx if pat.search(texts[i]))
    assert int(r["line"]) == line and int(r["n_words"]) == len(words), r
    assert int(r["n_inputs"]) == len(idx) and int(r["positives"]) == pos, (r, len(idx), pos)
    assert abs(float(r["positive_rate"]) - pos / len(idx)) < 1e-9, r
    assert r["status"] == ("used" if name != "rare" else "skipped: ID positive rate outside the allowed range"), r
    assert 0 < pos < len(idx) or name == "rare", r
PYEOF
printf "$CONCEPTS" >"$T/concepts.txt"
"$SPLINTER" analyze "$R" --bootstrap 10 --concepts "$T/concepts.txt" >/dev/null 2>"$T/file.err" ||
  bad "analyze --concepts FILE: $(cat "$T/file.err")"
for f in concepts.csv splinter_concept_pairs.csv splinter_concept_variants.csv splinter_concept_compare.csv; do
  cmp -s "$A/$f" "$T/pipe/$f" || bad "$f differs between the pipe and the file"
done
[ "$(wc -l <"$A/splinter_concept_pairs.csv")" -gt 1 ] || bad "splinter_concept_pairs.csv has no records"

# --- exactly the documented files
model_files="analysis.h5 examples.csv models.csv multiplicity.csv pairwise_ood-forum.csv pairwise_test.csv variants.csv"
feature_files="crosslayer.csv similarity.csv splinter.h5 splinter_2x2.csv splinter_compare.csv splinter_pairs.csv splinter_variants.csv"
concept_files="concepts.csv splinter_concept_compare.csv splinter_concept_pairs.csv splinter_concept_variants.csv"
listing() { ls "$A" | sort | tr '\n' ' '; }
sorted() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '; }
[ "$(listing)" = "$(sorted $model_files $feature_files $concept_files)" ] || bad "files with concepts: $(listing)"
"$PY" -c 'import h5py, sys; sys.exit(0 if "concepts" in h5py.File(sys.argv[1], "r") else 1)' "$A/splinter.h5" ||
  bad "splinter.h5 has no /concepts with concepts"
cp "$A/similarity.csv" "$T/similarity.csv"

# --- a run without concepts removes them, keeps the rest; files it never writes are kept
printf 'variant,model_a,model_b,disagreement\nfinetune,a,b,0.5\n' >"$A/pairwise_ood-gone.csv"
printf 'variant,model_a,score\n' >"$A/pairwise_mine.csv"
echo "my notes" >"$A/notes.txt"
"$SPLINTER" analyze "$R" --bootstrap 10 >/dev/null 2>"$T/plain.err" || bad "analyze without concepts: $(cat "$T/plain.err")"
[ "$(listing)" = "$(sorted $model_files $feature_files notes.txt pairwise_mine.csv)" ] ||
  bad "files without concepts: $(listing)"
cmp -s "$A/similarity.csv" "$T/similarity.csv" || bad "similarity.csv changed without concepts"
"$PY" -c 'import h5py, sys; sys.exit(1 if "concepts" in h5py.File(sys.argv[1], "r") else 0)' "$A/splinter.h5" ||
  bad "splinter.h5 still has /concepts"
grep -q "^my notes$" "$A/notes.txt" || bad "notes.txt changed"

# --- --no-features removes the feature files (a later report must not show them as current)
"$SPLINTER" analyze "$R" --bootstrap 10 --no-features --concepts "$T/concepts.txt" >/dev/null 2>"$T/nf.err" ||
  bad "analyze --no-features: $(cat "$T/nf.err")"
[ "$(listing)" = "$(sorted $model_files notes.txt pairwise_mine.csv)" ] || bad "files with --no-features: $(listing)"
for f in $model_files; do [ -s "$A/$f" ] || bad "$f empty after --no-features"; done

# --- models without activations (the linear family) replace the encoders: the feature files go as well
"$SPLINTER" analyze "$R" --bootstrap 10 --concepts "$T/concepts.txt" >/dev/null 2>&1 || bad "analyze (features again)"
[ -s "$A/similarity.csv" ] && [ -s "$A/concepts.csv" ] || bad "feature files not written again"
mv "$R/models" "$T/encoder-models"
"$SPLINTER" train --family linear "$R" --seeds 0-1 --topk 0 >/dev/null 2>"$T/linear.err" ||
  bad "train --family linear: $(cat "$T/linear.err")"
"$SPLINTER" analyze "$R" --bootstrap 10 --concepts "$T/concepts.txt" >/dev/null 2>"$T/linear-analyze.err" ||
  bad "analyze linear: $(cat "$T/linear-analyze.err")"
grep -q "feature splintering skipped" "$T/linear-analyze.err" || bad "no skip warning: $(cat "$T/linear-analyze.err")"
[ "$(listing)" = "$(sorted $model_files notes.txt pairwise_mine.csv)" ] || bad "files of the linear run: $(listing)"

if [ "$failures" -ne 0 ]; then
  echo "check_analyze_outputs: $failures failure(s)" >&2
  exit 1
fi
echo "check_analyze_outputs: ok"
