#!/usr/bin/env bash
# check_report.sh: `splinter report` on a real linear run (data import of a small synthetic table, then
# `splinter train --family linear`, four seeds).
#  - exit 0; every expected figure exists as .dat/.gp/.png/.svg, non-empty, PNG magic bytes; report.md links
#    only files that exist; the sections a linear run cannot have say so ("Not drawn: ...");
#  - key numbers of report.md (accuracy mean with interval, ambiguity at epsilon 0.01) equal the CSV values;
#  - a second report does not recompute (analysis.h5 mtime unchanged); touching a model file recomputes;
#  - bad input: missing RUN (exit 2), RUN without models (exit 1), bad option (exit 2), each with a message,
#    and no report/ or report.tmp/ left behind;
#  - a real run of tiny encoders (finetune, joint), concepts from a pipe: all sixteen figures, both verdicts,
#    the 2x2 table; every cell of the per-layer CKA heatmaps (cka_<variant>_<layer>) equals similarity.csv;
#    the concept section's rates and tables equal concepts.csv and splinter_concept_variants.csv (s_probe
#    as "mean [lo, hi]" from s_probe_lo / s_probe_hi); again after `analyze --agree-eps 1` (every pair agrees,
#    so some interval has non-zero width) and a report that reads that fresh analysis.
# Environment (set by CTest): SPLINTER, SPLINTER_SRC, SPLINTER_TEST_TMP.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
source "$SPLINTER_SRC/tests/lib/check_lib.sh"
check_begin run

"$PY" "$SPLINTER_SRC/tests/ref/make_sentiment_table.py" "$T/table.jsonl" --seed 99 --rows 300 --id-rows 220
"$SPLINTER" data import --dataset table --input "$T/table.jsonl" --format jsonl --domain-column domain \
  --ood-domains forum -o "$T/run/dataset.h5" 2>/dev/null
"$SPLINTER" train --family linear "$T/run" --seeds 0-3 --topk 4 >/dev/null 2>"$T/train.err" ||
  { echo "FAIL: train: $(cat "$T/train.err")" >&2; exit 1; }

mtime() { "$PY" -c 'import os, sys; print(os.stat(sys.argv[1]).st_mtime_ns)' "$1"; }

# --- first report: computes the analysis
if ! "$SPLINTER" report "$T/run" --bootstrap 20 2>"$T/r1.err"; then
  bad "report failed: $(cat "$T/r1.err")"
fi
grep -q "analysis recomputed" "$T/r1.err" || bad "first report did not say it recomputed: $(cat "$T/r1.err")"
[ -e "$T/run/report.tmp" ] && bad "report.tmp left behind"
"$PY" - "$T/run" <<'PYEOF' || failures=$((failures + 1))
import csv, os, re, sys
run = sys.argv[1]
rep = os.path.join(run, "report")
md = open(os.path.join(rep, "report.md"), encoding="utf-8").read()
variants = sorted({r["variant"] for r in csv.DictReader(open(os.path.join(run, "analysis", "models.csv")))})
expected = ["accuracy_id_ood", "rashomon_set_size", "rashomon_ambiguity"]
for v in variants:
    expected += ["vpr_width_" + v, "capacity_" + v, "disagreement_" + v]
errors = []
for stem in expected:
    for ext in ("dat", "gp", "png", "svg"):
        p = os.path.join(rep, stem + "." + ext)
        if not os.path.isfile(p) or os.path.getsize(p) == 0:
            errors.append("missing or empty " + p)
    p = os.path.join(rep, stem + ".png")
    if os.path.isfile(p) and open(p, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
        errors.append("not a PNG: " + p)
links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
for target in links:
    if not os.path.isfile(os.path.join(rep, target)):
        errors.append("report.md links a missing file: " + target)
if sorted(l[:-4] for l in links) != sorted(expected):
    errors.append("linked figures %s != expected %s" % (sorted(links), sorted(expected)))
for phrase in ["## Summary", "## Fine-tuning vs joint training", "no pair of `finetune` and `joint` variants",
               "*Not drawn: CKA heatmaps need `similarity.csv`", "*Not drawn: splintering per layer needs",
               "## Concept probes\n\n*No concept probes: the analysis ran without a concept file",
               "*Not drawn: no variant has fine-tuning seeds nested"]:
    if phrase not in md:
        errors.append("report.md lacks: " + phrase)
# Key numbers equal the CSVs.
fmt = lambda r, k: "%.4f [%.4f, %.4f]" % (float(r[k]), float(r[k + "_lo"] if k + "_lo" in r else r["lo"]),
                                          float(r[k + "_hi"] if k + "_hi" in r else r["hi"]))
for r in csv.DictReader(open(os.path.join(run, "analysis", "variants.csv"))):
    if r["metric"] == "accuracy_mean":
        want = "%.4f [%.4f, %.4f]" % (float(r["value"]), float(r["lo"]), float(r["hi"]))
        row = [l for l in md.splitlines() if l.startswith("| %s | %s" % (r["variant"], r["split"]))]
        if not row or want not in row[0]:
            errors.append("accuracy of %s/%s: %s not in %s" % (r["variant"], r["split"], want, row))
for r in csv.DictReader(open(os.path.join(run, "analysis", "multiplicity.csv"))):
    if r["eps_kind"] == "loss-abs" and float(r["eps"]) == 0.01:
        want = "%.4f [%.4f, %.4f]" % (float(r["ambiguity"]), float(r["ambiguity_lo"]), float(r["ambiguity_hi"]))
        row = [l for l in md.splitlines() if l.startswith("| %s | %s" % (r["variant"], r["split"]))]
        if not row or want not in row[0]:
            errors.append("ambiguity of %s/%s: %s not in %s" % (r["variant"], r["split"], want, row))
for e in errors:
    print("FAIL: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PYEOF

# --- staleness
before=$(mtime "$T/run/analysis/analysis.h5")
"$SPLINTER" report "$T/run" --bootstrap 20 2>"$T/r2.err" || bad "second report failed: $(cat "$T/r2.err")"
grep -q "analysis up to date" "$T/r2.err" || bad "second report recomputed: $(cat "$T/r2.err")"
[ "$(mtime "$T/run/analysis/analysis.h5")" = "$before" ] || bad "second report rewrote analysis.h5"
sleep 0.01
touch "$(ls "$T"/run/models/*.h5 | head -1)"
"$SPLINTER" report "$T/run" --bootstrap 20 2>"$T/r3.err" || bad "third report failed: $(cat "$T/r3.err")"
grep -q "analysis recomputed" "$T/r3.err" || bad "touching a model did not recompute: $(cat "$T/r3.err")"
[ "$(mtime "$T/run/analysis/analysis.h5")" != "$before" ] || bad "analysis.h5 not rewritten after touching a model"

# --- bad input
expect_fail 2 "is not a directory" "$SPLINTER" report "$T/no-such-run"
mkdir -p "$T/empty/models"
expect_fail 1 "no model files" "$SPLINTER" report "$T/empty"
[ -e "$T/empty/report" ] || [ -e "$T/empty/report.tmp" ] && bad "a report directory was left for a run without models"
expect_fail 2 "unknown option" "$SPLINTER" report "$T/run" --no-such-option
expect_fail 2 "expects exactly one run directory" "$SPLINTER" report
expect_fail 2 "eps-kind" "$SPLINTER" report "$T/run" --eps-kind loss
expect_fail 2 "option --delta" "$SPLINTER" report "$T/run" --delta 2

# --- a real encoder run (tiny encoders): finetune on two pretraining seeds x two seeds, three joint models.
# Every figure kind is drawn, nothing is left out, and both verdicts are stated.
"$SPLINTER" data import --dataset table --input "$T/table.jsonl" --format jsonl --domain-column domain \
  --ood-domains forum -o "$T/enc/dataset.h5" 2>/dev/null
E="--threads 1 --quiet --vocab 300 --d-model 16 --layers 2 --heads 2 --ffn 32 --max-len 48 --epochs 2"
E="$E --pretrain-epochs 1 --batch 16"
for p in 0 1; do
  for s in 0 1; do
    # shellcheck disable=SC2086
    "$SPLINTER" train --family encoder "$T/enc" --variant finetune --seed $s --pretrain-seed $p $E 2>>"$T/enc.err" ||
      bad "train --family encoder finetune p$p s$s: $(cat "$T/enc.err")"
  done
done
for s in 0 1 2; do
  # shellcheck disable=SC2086
  "$SPLINTER" train --family encoder "$T/enc" --variant joint --seed $s $E 2>>"$T/enc.err" ||
    bad "train --family encoder joint s$s: $(cat "$T/enc.err")"
done
# Concepts come from a pipe (read once by the feature analysis the report runs).
"$SPLINTER" report "$T/enc" --bootstrap 20 \
  --concepts <(printf 'positive: great excellent wonderful\nnegative: awful terrible boring\nrare: zebra\n') \
  2>"$T/enc-report.err" || bad "encoder report failed: $(cat "$T/enc-report.err")"
grep -q "16 figures, 0 left out" "$T/enc-report.err" || bad "encoder report: $(tail -1 "$T/enc-report.err")"
for stem in accuracy_id_ood rashomon_set_size rashomon_ambiguity variance_share_pretrain splinter_cka_layers \
  splinter_align_layers vpr_width_finetune vpr_width_joint capacity_finetune capacity_joint \
  disagreement_finetune disagreement_joint cka_finetune_block0 cka_finetune_block1 cka_joint_block0 \
  cka_joint_block1; do
  [ "$(head -c 4 "$T/enc/report/$stem.png" 2>/dev/null | od -An -c | tr -d ' ')" = "211PNG" ] ||
    bad "encoder report: $stem.png missing or not a PNG"
  grep -q "](${stem}.png)" "$T/enc/report/report.md" || bad "encoder report.md does not link $stem.png"
done
grep -q "^\*\*Verdict (ood-forum, model level):\*\*" "$T/enc/report/report.md" || bad "no model-level verdict"
grep -q "^\*\*Verdict (ood-forum, feature level, layer block1):\*\*" "$T/enc/report/report.md" ||
  bad "no feature-level verdict at the deepest layer"
grep -q "^| finetune | ood-forum | block1 | cls |" "$T/enc/report/report.md" || bad "no 2x2 row for block1"
# Every cell of every per-layer CKA heatmap equals similarity.csv (cls pooling; the emb layer's CLS vector is
# the same for every input, so it has no CKA), the layers' matrices differ, and the concept tables and rates
# in report.md equal concepts.csv and splinter_concept_variants.csv.
check_encoder_report() { # RUN NEED_WIDE: NEED_WIDE=1 asks for an s_probe interval of non-zero width
"$PY" - "$1" "$2" <<'PYEOF'
import csv, os, sys
run, need_wide = sys.argv[1], sys.argv[2] == "1"
A, R = os.path.join(run, "analysis"), os.path.join(run, "report")
md = open(os.path.join(R, "report.md"), encoding="utf-8").read()
rows = lambda f: list(csv.DictReader(open(os.path.join(A, f))))
models = {}
for r in rows("models.csv"):
    models.setdefault(r["variant"], [])
    if r["model"] not in models[r["variant"]]:
        models[r["variant"]].append(r["model"])
sim = {(r["split"], r["layer"], r["model_a"], r["model_b"]): float(r["value"]) for r in rows("similarity.csv")
       if r["pooling"] == "cls" and r["measure"] == "cka"}
errors = []
for v, ms in models.items():
    mats = {}
    for layer in ("block0", "block1"):
        panels = open(os.path.join(R, "cka_%s_%s.dat" % (v, layer))).read().split("# panel ")[1:]
        titles = [p.split(": ", 1)[1].split(" (")[0] for p in panels]
        if titles != ["test", "ood-forum"]:
            errors.append("cka_%s_%s panels %s" % (v, layer, titles))
        for split, p in zip(titles, panels):
            m = [[float(x) for x in line.split()] for line in p.splitlines()[1:] if line.strip()]
            mats[(layer, split)] = m
            for i, a in enumerate(ms):
                for j, b in enumerate(ms):
                    if abs(m[i][j] - sim[(split, layer, a, b)]) > 1e-8:
                        errors.append("cka_%s_%s %s [%d,%d] = %g, similarity.csv %g" % (v, layer, split, i, j, m[i][j],
                                                                                     sim[(split, layer, a, b)]))
        if "](cka_%s_%s.png)" % (v, layer) not in md:
            errors.append("report.md does not link cka_%s_%s.png" % (v, layer))
    if mats[("block0", "ood-forum")] == mats[("block1", "ood-forum")]:
        errors.append("cka_%s: block0 and block1 heatmaps are the same" % v)
if "\n## Concept probes\n" not in md:
    errors.append("no Concept probes section")
sec = md.split("\n## Concept probes\n", 1)[-1]
f4 = lambda x: "n/a" if x.lower() == "nan" else "%.4f" % float(x)
for name in ("positive", "negative", "rare"):
    cr = [r for r in rows("concepts.csv") if r["concept"] == name]
    want = "Positive rate: " + ", ".join("%s %s (%s of %s)" % (r["split"], f4(r["positive_rate"]), r["positives"],
                                                                 r["n_inputs"]) for r in cr) + "."
    if "### Concept `%s`\n\n%s" % (name, want) not in sec:
        errors.append("concept %s: no line %r" % (name, want))
if "Not probed: the ID positive rate is outside" not in sec.split("### Concept `rare`")[1]:
    errors.append("rare: not said to be skipped")
n_rows = n_ci = n_wide = 0
for r in rows("splinter_concept_variants.csv"):
    if r["pooling"] != "cls":
        continue
    table = sec.split("`%s`, %s:\n\n" % (r["concept"], r["variant"]), 1)
    # s_probe with its interval: "mean [lo, hi]" from the same CSV row (the mean alone when a bound is NaN).
    s_probe = f4(r["s_probe"])
    if s_probe != "n/a" and "nan" not in (r["s_probe_lo"].lower(), r["s_probe_hi"].lower()):
        s_probe += " [%s, %s]" % (f4(r["s_probe_lo"]), f4(r["s_probe_hi"]))
        n_ci += 1
        n_wide += float(r["s_probe_lo"]) < float(r["s_probe_hi"])
    line = "| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r["ood_split"], r["layer"], r["n_pairs"], f4(r["bacc_id"]), f4(r["bacc_ood"]), f4(r["probe_agree_id"]),
        f4(r["probe_agree_ood"]), s_probe, f4(r["probe_cosine"]))
    if len(table) < 2 or line not in table[1].split("\n\n", 1)[0]:
        errors.append("no row %s in the table of %s, %s" % (line, r["concept"], r["variant"]))
    n_rows += 1
if n_rows != 2 * 2 * 2:  # two used concepts x two variants x two layers
    errors.append("%d cls rows in splinter_concept_variants.csv" % n_rows)
if n_ci == 0:
    errors.append("no concept table row shows an s_probe interval")
if need_wide and n_wide == 0:
    errors.append("no concept table row has an s_probe interval of non-zero width")
for e in errors:
    print("FAIL: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PYEOF
}
check_encoder_report "$T/enc" 0 || bad "encoder report: per-layer heatmaps or concept section"
# Every pair agreeing in domain (--agree-eps 1): several pairs per variant, so intervals of non-zero width;
# the report, not forced, shows this fresh analysis.
"$SPLINTER" analyze "$T/enc" --bootstrap 20 --agree-eps 1 \
  --concepts <(printf 'positive: great excellent wonderful\nnegative: awful terrible boring\nrare: zebra\n') \
  >/dev/null 2>"$T/enc-eps.err" || bad "encoder analyze --agree-eps 1: $(cat "$T/enc-eps.err")"
"$SPLINTER" report "$T/enc" 2>"$T/enc-report2.err" || bad "encoder report (fresh): $(cat "$T/enc-report2.err")"
check_encoder_report "$T/enc" 1 || bad "encoder report with every pair agreeing: concept section"

check_end check_report
