#!/usr/bin/env bash
# PyTorch parity of the encoder: tests/test_encoder_dump writes weights, a batch, dropout masks, logits,
# losses, every gradient and 10 AdamW step losses to HDF5; tests/ref/encoder_torch.py recomputes them with
# an independent PyTorch model and exits non-zero past the tolerances it prints.
set -euo pipefail
: "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
driver="$(dirname "$SPLINTER")/tests/test_encoder_dump"
[ -x "$driver" ] || { echo "check_encoder_torch: $driver not built" >&2; exit 1; }
rm -rf "$SPLINTER_TEST_TMP"
mkdir -p "$SPLINTER_TEST_TMP"
trap 'rm -rf "$SPLINTER_TEST_TMP"' EXIT
SPLINTER_ENCODER_DUMP="$SPLINTER_TEST_TMP/encoder.h5" "$driver"
/usr/bin/python3 "$SPLINTER_SRC/tests/ref/encoder_torch.py" "$SPLINTER_TEST_TMP/encoder.h5"
