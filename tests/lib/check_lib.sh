# check_lib.sh: helpers shared by the end-to-end tests/check_*.sh scripts (sourced, never run itself):
# a fresh scratch directory, failure and pass counters that let a script go on after a failed check, and
# the "bad input fails with this exit code and this message, and leaves nothing behind" check.
#
#   set -euo pipefail
#   : "${SPLINTER:?}" "${SPLINTER_SRC:?}" "${SPLINTER_TEST_TMP:?}"
#   source "$SPLINTER_SRC/tests/lib/check_lib.sh"
#   check_begin run                                   # T="$SPLINTER_TEST_TMP" emptied, $T/run created; PY
#   "$SPLINTER" ... || bad "what went wrong"
#   expect_fail 2 "unknown option" "$SPLINTER" report "$T/run" --bogus
#   check_end check_report                            # exit 1 after any failure

PY=/usr/bin/python3
failures=0
passes=0

# check_begin [DIR...]: T = the scratch directory, removed and made again with the sub-directories DIR.
check_begin() {
  T="$SPLINTER_TEST_TMP"
  rm -rf "$T"
  mkdir -p "$T"
  local d
  for d in "$@"; do mkdir -p "$T/$d"; done
}

# ok: records a passed check (for scripts that report how many passed).
ok() { passes=$((passes + 1)); }

# bad MESSAGE: records a failure (printed on stderr) and lets the script go on.
bad() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_fail CODE MESSAGE [--] COMMAND...: COMMAND exits with CODE and its stderr contains MESSAGE (a fixed
# string). expect_fail CODE MESSAGE DIR -- COMMAND...: and DIR (unless "") is still empty afterwards: a command
# refused bad input without leaving a file behind. Its output is kept in $T/expect_fail.out and .err.
expect_fail() {
  local code=$1 msg=$2 dir="" rc=0 before=$failures
  shift 2
  if [ "${2:-}" = "--" ] && [ "${1:-}" != "--" ]; then
    dir=$1
    shift
  fi
  [ "${1:-}" = "--" ] && shift
  "$@" >"$T/expect_fail.out" 2>"$T/expect_fail.err" || rc=$?
  [ "$rc" = "$code" ] || bad "'$*' exited $rc, expected $code ($(cat "$T/expect_fail.err"))"
  grep -qF -- "$msg" "$T/expect_fail.err" || bad "'$*' message lacks '$msg': $(cat "$T/expect_fail.err")"
  if [ -n "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    bad "'$*' left files behind in $dir: $(ls -A "$dir")"
  fi
  [ "$failures" != "$before" ] || ok
}

# check_end NAME: "NAME: ok", or the number of failures and exit status 1.
check_end() {
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures failure(s)" >&2
    exit 1
  fi
  echo "$1: ok"
}
