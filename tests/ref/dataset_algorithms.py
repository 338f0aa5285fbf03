"""Re-derives a dataset.h5's seeded choices from docs/datasets.md alone and compares them with the file.

Independent Python versions of: the seed derivation (docs/seeds.md), GSL's mt19937 with gsl_rng_uniform,
gsl_rng_uniform_int and gsl_ran_shuffle, the stratified split, and for IMDb the <br /> cleaning, the "long"
quartile and the "typos" / "dropped" stress tests.

Usage: /usr/bin/python3 dataset_algorithms.py DATASET.h5 [--imdb-reviews reviews.json] [--max-copies N]
Exit 0 when everything matches, 1 with a message naming each mismatch.
"""
import json
import sys

import h5py
import numpy as np

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def seed_for(stream, purpose, index):
    return splitmix64((splitmix64(stream ^ fnv1a64(purpose)) + index) & M64)


class Mt19937:
    """GSL's gsl_rng_mt19937 as seeded by sp_rng_alloc (64-bit seed folded to 32 bits; 0 means 4357)."""

    def __init__(self, seed64):
        s = (seed64 ^ (seed64 >> 32)) & 0xFFFFFFFF
        if s == 0:
            s = 4357
        mt = [s]
        for i in range(1, 624):
            mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & 0xFFFFFFFF)
        self.mt, self.i = mt, 624

    def get(self):
        if self.i >= 624:
            mt = self.mt
            for k in range(624):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7FFFFFFF)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.i = 0
        y = self.mt[self.i]
        self.i += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)

    def uniform(self):  # gsl_rng_uniform
        return self.get() / 4294967296.0

    def uniform_int(self, n):  # gsl_rng_uniform_int
        scale = 0xFFFFFFFF // n
        while True:
            k = self.get() // scale
            if k < n:
                return k

    def shuffle(self, a):  # gsl_ran_shuffle
        for i in range(len(a) - 1, 0, -1):
            j = self.uniform_int(i + 1)
            a[i], a[j] = a[j], a[i]


def self_check():
    # MT19937 reference: init_genrand(5489) -> 3499211612 first (Matsumoto & Nishimura's mt19937ar.c).
    r = Mt19937(5489)
    return r.get() == 3499211612


def splits_from_doc(labels, domains, domain_names, domain_is_ood, n_classes, seed, val, test):
    split = np.full(len(labels), 255, dtype=np.uint8)
    strata = {}
    for i, (d, c) in enumerate(zip(domains, labels)):
        if domain_is_ood[d]:
            split[i] = 3
        else:
            strata.setdefault((int(d), int(c)), []).append(i)
    for (d, c), rows in strata.items():
        r = Mt19937(seed_for(seed, "split:" + domain_names[d], c))
        r.shuffle(rows)
        m = len(rows)
        n_test = min(m, int(np.floor(m * test + 0.5)))
        n_val = min(m - n_test, int(np.floor(m * val + 0.5)))
        for j, i in enumerate(rows):
            split[i] = 2 if j < n_test else 1 if j < n_test + n_val else 0
    return split


SPACE = b" \t\n\r\f\v"


def is_letter(b):
    return 65 <= b <= 90 or 97 <= b <= 122


def words(t):
    """(start, end) of maximal runs of non-whitespace bytes."""
    out, i, n = [], 0, len(t)
    while i < n:
        if t[i] in SPACE:
            i += 1
            continue
        s = i
        while i < n and t[i] not in SPACE:
            i += 1
        out.append((s, i))
    return out


def typos(t, seed):
    r = Mt19937(seed)
    out, last = bytearray(), 0
    for s, e in words(t):
        out += t[last:s]
        w = bytearray(t[s:e])
        letters = [k for k in range(len(w)) if is_letter(w[k])]
        pairs = [k for k in range(len(w) - 1) if is_letter(w[k]) and is_letter(w[k + 1]) and w[k] != w[k + 1]]
        if len(letters) >= 2 and r.uniform() < 0.05:
            if pairs and r.uniform() < 0.5:
                k = pairs[r.uniform_int(len(pairs))]
                w[k], w[k + 1] = w[k + 1], w[k]
            else:
                del w[letters[r.uniform_int(len(letters))]]
        out += w
        last = e
    return bytes(out + t[last:])


def dropped(t, seed):
    r = Mt19937(seed)
    ws = words(t)
    if not ws:
        return t
    out = bytearray(t[: ws[0][0]])
    kept, prev_end = 0, ws[0][0]
    for s, e in ws:
        if r.uniform() >= 0.10:
            if kept:
                out += t[prev_end:s]
            out += t[s:e]
            kept += 1
        prev_end = e
    if not kept:
        out += t[ws[0][0] : ws[0][1]]
    return bytes(out + t[ws[-1][1] :])


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    path, reviews_path, max_copies = args[0], None, None
    if "--imdb-reviews" in args:
        reviews_path = args[args.index("--imdb-reviews") + 1]
    if "--max-copies" in args:
        max_copies = int(args[args.index("--max-copies") + 1])
    problems = []

    def check(cond, what):
        if not cond:
            problems.append(what)

    check(self_check(), "mt19937 reference output")
    with h5py.File(path, "r") as f:
        texts = [t if isinstance(t, bytes) else t.encode("utf-8") for t in f["text"][...]]
        labels, domains, split = f["label"][...], f["domain"][...], f["split"][...]
        domain_names = [x.decode() if isinstance(x, bytes) else x for x in f.attrs["domain_names"]]
        domain_is_ood = [int(x) for x in f.attrs["domain_is_ood"]]
        n_classes = len(f.attrs["class_names"])
        seed = int(f.attrs["data_seed"])
        prov = json.loads(f.attrs["provenance_json"])
    val, test = prov["splits"]["val_fraction"], prov["splits"]["test_fraction"]

    if prov.get("split_source") != "column":
        want = splits_from_doc(labels, domains, domain_names, domain_is_ood, n_classes, seed, val, test)
        bad = np.nonzero(want != split)[0]
        check(len(bad) == 0, "split of %d records (first rows %s)" % (len(bad), bad[:5].tolist()))

    n_copies_checked = 0
    if reviews_path:
        with open(reviews_path, encoding="utf-8") as fh:
            reviews = json.load(fh)
        n0 = len(reviews)
        if len(texts) < n0:
            problems.append("the file has %d records, fewer than the %d reviews" % (len(texts), n0))
            reviews_path, reviews = None, []
            n0 = 0
    if reviews_path:
        clean = [r["t"].replace("<br />", "\n").encode("utf-8") for r in reviews]
        check(texts[:n0] == clean, "cleaned review texts")
        check([int(x) for x in labels[:n0]] == [r["s"] for r in reviews], "review labels")
        order = sorted(range(n0), key=lambda i: (-len(clean[i]), i))
        long_rows = set(order[: n0 // 4])
        want_dom = [domain_names.index("long") if i in long_rows else domain_names.index("id") for i in range(n0)]
        check([int(x) for x in domains[:n0]] == want_dom, "long quartile")
        tests = [i for i in range(n0) if split[i] == 2]
        check(len(texts) == n0 + 2 * len(tests), "number of stress-test copies")
        k = n0
        for kind, fn in (("typos", typos), ("dropped", dropped)):
            for j, i in enumerate(tests):
                if max_copies is None or j < max_copies:
                    got = texts[k] if k < len(texts) else None
                    check(got == fn(clean[i], seed_for(seed, kind, i)), "%s copy of review %d" % (kind, i))
                    check(domain_names[domains[k]] == kind and labels[k] == labels[i] and split[k] == 3,
                          "%s copy %d metadata" % (kind, i))
                    n_copies_checked += 1
                k += 1

    if problems:
        print("dataset_algorithms.py: %s: mismatch in %s" % (path, "; ".join(problems[:20])), file=sys.stderr)
        return 1
    print("dataset_algorithms.py: %s: splits%s re-derived from the documented algorithms" %
          (path, " and %d stress-test copies" % n_copies_checked if reviews_path else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
