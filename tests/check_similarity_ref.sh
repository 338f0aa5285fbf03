#!/usr/bin/env bash
# Parity of the C similarity library with an independent numpy reference on HDF5 model files: h5py writes
# synthetic model files, the C activation loader reads them and the C library computes linear CKA, debiased
# CKA, Procrustes (all-pairs driver, single pairs, cross-layer matrix), SVCCA and PWCCA (all pairs and single
# pairs); tests/ref/similarity_ref.py
# recomputes each value with n x n float64 formulas and fails on any difference above 1e-5. Then a file
# whose inputs differ must be refused with a message naming it.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
dump_bin="$(dirname "$SPLINTER")/tests/similarity_dump"
ref="$SPLINTER_SRC/tests/ref/similarity_ref.py"
tmp="$SPLINTER_TEST_TMP"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 "$ref" write "$tmp"
models=("$tmp/m0.h5" "$tmp/m1.h5" "$tmp/m2.h5" "$tmp/m3.h5")
"$dump_bin" cls test,ood-x "${models[@]}" >"$tmp/dump.txt"
/usr/bin/python3 "$ref" compare "$tmp/dump.txt" "${models[@]}"

if "$dump_bin" cls test "$tmp/m0.h5" "$tmp/other-inputs.h5" >/dev/null 2>"$tmp/err.txt"; then
  echo "FAIL: files run on other inputs were accepted" >&2
  exit 1
fi
grep -q "other-inputs.h5: /rows/test\[0\]" "$tmp/err.txt" || { echo "FAIL: unexpected message:" >&2; cat "$tmp/err.txt" >&2; exit 1; }
echo "check_similarity_ref: ok"
