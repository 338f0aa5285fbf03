#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds splinter twice
# (Release, and AddressSanitizer + UBSan), runs every CTest test in both, then runs the fuzz targets for a
# bounded time. Exit status is non-zero if anything fails.
#
# Usage: tests/run.sh            (from anywhere; build trees go to build/ and build-asan/ in the checkout)
# Environment: SPLINTER_FUZZ_SECONDS (default 30 per target), SPLINTER_SKIP_ASAN=1 / SPLINTER_SKIP_FUZZ=1.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== Release build and tests" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

if [ "${SPLINTER_SKIP_ASAN:-0}" != 1 ]; then
  echo "== AddressSanitizer + UBSan build and tests" >&2
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSPLINTER_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  # OpenBLAS and OpenMP keep thread-pool allocations alive until exit; those are not our leaks.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     SPLINTER_TEST_SANITIZED=1 ctest --output-on-failure -j "$jobs")
fi

if [ "${SPLINTER_SKIP_FUZZ:-0}" != 1 ] && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  echo "== fuzz targets (${SPLINTER_FUZZ_SECONDS:-30} s each)" >&2
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSPLINTER_FUZZ=ON -DSPLINTER_NATIVE=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs"
  for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    corpus="build-fuzz/corpus-$name"
    mkdir -p "$corpus"
    [ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null || true
    ASAN_OPTIONS=detect_leaks=1 "build-fuzz/tests/$name" -max_total_time="${SPLINTER_FUZZ_SECONDS:-30}" \
      -rss_limit_mb=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -3
  done
fi
echo "== all tests passed" >&2
