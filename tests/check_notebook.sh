#!/usr/bin/env bash
# check_notebook.sh: `splinter export-notebook` from the command line: exit codes and messages for usage
# errors, missing or empty runs and unwritable outputs (nothing left behind); a relative RUN becomes an
# absolute path in the notebook; output validates with nbformat; re-export is byte-identical.
# (The notebook's content, execution and numbers are checked by test_notebook + tests/ref/check_notebook.py.)
set -euo pipefail
: "${SPLINTER:?path of the splinter binary}" "${SPLINTER_TEST_TMP:?scratch directory}"
tmp=$SPLINTER_TEST_TMP
rm -rf "$tmp" && mkdir -p "$tmp"
cd "$tmp"

fail() { echo "check_notebook: FAIL: $*" >&2; exit 1; }
# expect CODE PATTERN cmd...: runs cmd, checks its exit code and that stderr matches PATTERN.
expect() {
  local want=$1 pattern=$2; shift 2
  local got=0
  "$@" 2>err.txt >out.txt || got=$?
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want: $(cat err.txt)"
  grep -q -- "$pattern" err.txt out.txt || fail "'$*' did not say '$pattern': $(cat err.txt)"
}

expect 0 "usage: splinter export-notebook" "$SPLINTER" export-notebook --help
expect 2 "missing -o" "$SPLINTER" export-notebook run
expect 2 "expected one run directory" "$SPLINTER" export-notebook -o x.ipynb
expect 2 "expected one run directory" "$SPLINTER" export-notebook -o x.ipynb a b
expect 2 "Try 'splinter export-notebook --help'" "$SPLINTER" export-notebook --bogus run -o x.ipynb
expect 2 "no-such-run is not a directory" "$SPLINTER" export-notebook no-such-run -o x.ipynb
mkdir empty
expect 1 "not a splinter run directory" "$SPLINTER" export-notebook empty -o x.ipynb
[ ! -e x.ipynb ] && [ ! -e x.ipynb.tmp ] || fail "a failed export left a file behind"

mkdir -p run/report run/analysis
printf '# Report\n\n## Section one\n\nText.\n\n## Section two\n\nMore text.\n' > run/report/report.md
printf 'variant,ambiguity\nsgd,0.25\n' > run/analysis/summary.csv
mkdir elsewhere
(cd elsewhere && expect 0 "wrote ../nb.ipynb: .* 1 table, 0 models" "$SPLINTER" export-notebook ../run -o ../nb.ipynb)
[ -s nb.ipynb ] && [ ! -e nb.ipynb.tmp ] || fail "no notebook, or a .tmp left behind"
abs=$(cd run && pwd -P)
grep -qF "RUN = Path(\\\"$abs\\\")" nb.ipynb || fail "the notebook does not set RUN to $abs"
expect 0 "wrote nb2.ipynb" "$SPLINTER" export-notebook run -o nb2.ipynb
cmp -s nb.ipynb nb2.ipynb || fail "re-export is not byte-identical"
/usr/bin/python3 - nb.ipynb <<'PY' || fail "nbformat rejects the notebook"
import sys
import nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
heads = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
assert "## Section one" in heads and "## Section two" in heads, heads
assert any("pd.read_csv(RUN / \"analysis\" / \"summary.csv\")" in c.source for c in nb.cells if c.cell_type == "code")
PY

expect 1 "cannot write no-dir/nb.ipynb.tmp" "$SPLINTER" export-notebook run -o no-dir/nb.ipynb
rm run/report/report.md
expect 0 "no report/report.md, so no narrative" "$SPLINTER" export-notebook run -o bare.ipynb
echo "check_notebook: ok"
