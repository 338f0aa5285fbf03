#!/usr/bin/python3
"""bpe_reference.py: an independent, deliberately naive reference of splinter's byte-level BPE
(docs/tokenizer.md), used by tests/test_tokenizer.c to check the C implementation exactly.

Pre-tokenization is the literal regex; training recounts every pair from scratch after each merge;
encoding repeatedly merges the lowest-rank pair. Nothing is shared with the C code but the definition.

usage: bpe_reference.py TRAIN.bin PROBE.bin VOCAB_SIZE LOWERCASE EXPECTED.txt
  *.bin: uint32-LE count, then per text uint32-LE length + bytes.
  EXPECTED.txt (written by the C side): "merges N", N lines "left right", "hash HEX",
  "probes M", M lines of space-separated ids.
Exits 0 if the reference output equals EXPECTED.txt, 1 (printing the first difference) otherwise.
"""
import hashlib
import re
import struct
import sys
from collections import Counter

N_BASE = 261
BYTE0 = 5
MAX_CHUNK = 64
PRETOKENIZER = "splinter-bytes-gpt2like-v1"
SPACE = rb" \t\n\v\f\r"
PATTERN = re.compile(
    rb" ?[A-Za-z\x80-\xff]+| ?[0-9]+| ?[^A-Za-z0-9\x80-\xff" + SPACE + rb"]+"
    rb"|[" + SPACE + rb"]+(?![^" + SPACE + rb"])|[" + SPACE + rb"]+")


def read_texts(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<I", data, 0)
    pos, texts = 4, []
    for _ in range(n):
        (length,) = struct.unpack_from("<I", data, pos)
        texts.append(data[pos + 4:pos + 4 + length])
        pos += 4 + length
    assert pos == len(data), "trailing bytes in %s" % path
    return texts


def chunks(text, lowercase):
    if lowercase:
        text = text.lower()  # bytes.lower() folds ASCII A-Z only
    out = []
    for m in PATTERN.finditer(text):
        s = m.group(0)
        out.extend(s[i:i + MAX_CHUNK] for i in range(0, len(s), MAX_CHUNK))
    assert b"".join(out) == text
    return out


def merge_word(word, pair, new_id):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train(texts, vocab_size, lowercase):
    words = Counter()
    for t in texts:
        for c in chunks(t, lowercase):
            words[tuple(BYTE0 + b for b in c)] += 1
    merges = []
    while N_BASE + len(merges) < vocab_size:
        pairs = Counter()
        for w, f in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += f
        if not pairs:
            break
        # highest count, ties to the lowest (left, right)
        best = min(pairs, key=lambda p: (-pairs[p], p[0], p[1]))
        new_id = N_BASE + len(merges)
        merges.append(best)
        nxt = Counter()
        for w, f in words.items():
            nxt[merge_word(w, best, new_id)] += f
        words = nxt
    return merges


def encode(text, merges, lowercase):
    rank = {p: N_BASE + r for r, p in enumerate(merges)}
    ids = []
    for c in chunks(text, lowercase):
        w = tuple(BYTE0 + b for b in c)
        while len(w) > 1:
            cands = [rank[p] for p in zip(w, w[1:]) if p in rank]
            if not cands:
                break
            best_id = min(cands)
            w = merge_word(w, merges[best_id - N_BASE], best_id)
        ids.extend(w)
    return ids


def tokenizer_hash(merges, lowercase):
    head = "%s\n%d\n%d\n%d\n" % (PRETOKENIZER, MAX_CHUNK, lowercase, len(merges))
    body = b"".join(struct.pack("<ii", a, b) for a, b in merges)
    return hashlib.sha256(head.encode() + body).hexdigest()


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    train_texts = read_texts(sys.argv[1])
    probes = read_texts(sys.argv[2])
    vocab_size, lowercase = int(sys.argv[3]), int(sys.argv[4])
    merges = train(train_texts, vocab_size, lowercase)
    lines = ["merges %d" % len(merges)] + ["%d %d" % p for p in merges]
    lines.append("hash " + tokenizer_hash(merges, lowercase))
    lines.append("probes %d" % len(probes))
    for p in probes:
        lines.append(" ".join(str(i) for i in encode(p, merges, lowercase)))
    with open(sys.argv[5], "r") as f:
        expected = f.read().split("\n")
    if expected and expected[-1] == "":
        expected.pop()
    for i, (want, got) in enumerate(zip(lines, expected)):
        if want != got:
            print("bpe_reference: line %d differs\n  reference: %.300s\n  C:         %.300s" % (i + 1, want, got),
                  file=sys.stderr)
            return 1
    if len(lines) != len(expected):
        print("bpe_reference: reference has %d lines, C output %d" % (len(lines), len(expected)), file=sys.stderr)
        return 1
    print("bpe_reference: %d merges, %d probe encodings identical" % (len(merges), len(probes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
