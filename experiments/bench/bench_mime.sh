#!/usr/bin/env bash
# Mail decoding throughput: splinter's sp_mail_to_text against Python's email package plus html.parser doing
# the same job (parse MIME, undo transfer encodings and charsets, HTML to text) on the same messages, in the
# same run; prints both rates and the ratio.
#
# usage: experiments/bench/bench_mime.sh DATA_DIR [BUILD_DIR]
#   DATA_DIR: the SpamAssassin package's data/ folder (data/<group>/*.txt raw messages)
#   BUILD_DIR: a Release build tree (default: build/ in the checkout)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data=${1:?usage: bench_mime.sh DATA_DIR [BUILD_DIR]}
build=${2:-$root/build}
files=("$data"/*/*.txt)
[ -e "${files[0]}" ] || { echo "bench_mime.sh: no $data/<group>/*.txt messages" >&2; exit 2; }

ours=$("$build/experiments/bench/bench_mime" --reps 3 "${files[@]}")
echo "splinter: $ours"
peer=$(/usr/bin/python3 - "${files[@]}" <<'PY'
import sys, time, email
from email import policy
from html.parser import HTMLParser

class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
    def handle_data(self, d):
        self.out.append(d)

def decode(b, charset):
    try:
        return b.decode(charset or "latin-1", errors="replace")
    except LookupError:  # labels Python does not know ("default_charset", ...)
        return b.decode("latin-1")

raws = [open(p, "rb").read() for p in sys.argv[1:]]
best = 1e30
for _ in range(3):
    t0 = time.perf_counter()
    for raw in raws:
        m = email.message_from_bytes(raw, policy=policy.compat32)
        parts = [str(m.get("Subject", ""))]
        for part in m.walk():
            if part.get_content_maintype() != "text":
                continue
            b = part.get_payload(decode=True) or b""
            t = decode(b, part.get_content_charset())
            if part.get_content_subtype() == "html":
                p = Text(); p.feed(t); p.close(); t = "".join(p.out)
            parts.append(t)
    best = min(best, time.perf_counter() - t0)
print("%.1f" % (sum(map(len, raws)) / 1e6 / best))
PY
)
echo "python email + html.parser: mb_per_s $peer"
rate=$(sed -n 's/.*mb_per_s \([0-9.]*\).*/\1/p' <<<"$ours")
awk -v a="$rate" -v b="$peer" 'BEGIN { printf "ratio splinter/python: %.1fx\n", a / b }'
