"""Reads a dataset.h5 with h5py and checks it against what `splinter data info --json` reported for it.

Independently of the C code it recomputes the per split x domain x label counts, the text-length quantiles
(numpy's default linear interpolation) and the SHA-256 content hash from the byte layout documented in
docs/datasets.md, and compares records quoted in the card.

Usage: /usr/bin/python3 read_dataset.py DATASET.h5 INFO.json [--expect-domains name=count,...]
Exit 0 on a match, 1 with a message naming every mismatch.
"""
import hashlib
import json
import struct
import sys

import h5py
import numpy as np

SPLITS = ["train", "val", "test", "ood"]


def as_str(x):
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def content_hash(class_names, domain_names, domain_is_ood, texts, labels, domains, splits):
    """SHA-256 of the serialisation in docs/datasets.md ("Content hash")."""
    h = hashlib.sha256()
    h.update(b"splinter-dataset-v1\n")
    h.update(struct.pack("<I", len(class_names)))
    for c in class_names:
        b = c.encode("utf-8")
        h.update(struct.pack("<I", len(b)) + b)
    h.update(struct.pack("<I", len(domain_names)))
    for d, ood in zip(domain_names, domain_is_ood):
        b = d.encode("utf-8")
        h.update(struct.pack("<I", len(b)) + b + bytes([1 if ood else 0]))
    h.update(struct.pack("<Q", len(texts)))
    for t, l, d, s in zip(texts, labels, domains, splits):
        h.update(struct.pack("<Q", len(t)) + t + struct.pack("<iIB", int(l), int(d), int(s)))
    return h.hexdigest()


def main(argv):
    if len(argv) not in (3, 5):
        print(__doc__, file=sys.stderr)
        return 2
    path, info_path = argv[1], argv[2]
    expect_domains = {}
    if len(argv) == 5 and argv[3] == "--expect-domains":
        for item in argv[4].split(","):
            k, v = item.split("=")
            expect_domains[k] = int(v)
    with open(info_path, encoding="utf-8") as fh:
        info = json.load(fh)
    problems = []

    def check(cond, what):
        if not cond:
            problems.append(what)

    with h5py.File(path, "r") as f:
        a = f.attrs
        check(as_str(a["format"]) == "splinter-dataset", "format attribute")
        check(int(a["complete"]) == 1, "complete attribute")
        texts = [t if isinstance(t, bytes) else t.encode("utf-8") for t in f["text"][...]]
        source_ids = [as_str(s) for s in f["source_id"][...]]
        labels = f["label"][...]
        domains = f["domain"][...]
        splits = f["split"][...]
        check(labels.dtype == np.int32 and domains.dtype == np.int32 and splits.dtype == np.uint8, "dtypes")
        class_names = [as_str(c) for c in a["class_names"]]
        domain_names = [as_str(d) for d in a["domain_names"]]
        domain_is_ood = [int(x) for x in a["domain_is_ood"]]
        name = as_str(a["name"])
        stored_hash = as_str(a["content_hash"])
        data_seed = int(a["data_seed"])
        provenance = json.loads(as_str(a["provenance_json"]))

    n = len(texts)
    check(n == info["n"] == len(labels) == len(domains) == len(splits) == len(source_ids), "record count")
    check(name == info["name"], "name")
    check(str(data_seed) == info["data_seed"], "data_seed")
    check(provenance == info["provenance"], "provenance")
    check(class_names == info["classes"], "class names")
    check(domain_names == [d["name"] for d in info["domains"]], "domain names")
    check(domain_is_ood == [1 if d["ood"] else 0 for d in info["domains"]], "domain_is_ood")
    check(all(0 <= l < len(class_names) for l in labels), "labels in range")
    check(all((s == 3) == bool(domain_is_ood[d]) for s, d in zip(splits, domains)), "OOD domains <=> ood split")

    recomputed = content_hash(class_names, domain_names, domain_is_ood, texts, labels, domains, splits)
    check(recomputed == stored_hash == info["content_hash"], "content hash %s vs stored %s" % (recomputed, stored_hash))

    counts = {}
    for s, d, l in zip(splits, domains, labels):
        key = (SPLITS[s], domain_names[d], class_names[l])
        counts[key] = counts.get(key, 0) + 1
    reported = {(c["split"], c["domain"], c["label"]): c["n"] for c in info["counts"]}
    check(counts == reported, "counts per split x domain x label")
    for dname, want in expect_domains.items():
        got = sum(v for (s, d, l), v in counts.items() if d == dname)
        check(got == want, "domain %s has %d records, expected %d" % (dname, got, want))

    lengths = np.array([len(t) for t in texts], dtype=np.float64)
    views = [(SPLITS[s], (splits == s)) for s in range(3)]
    views += [("ood-" + dn, (splits == 3) & (domains == d)) for d, dn in enumerate(domain_names) if domain_is_ood[d]]
    views = [(vn, m) for vn, m in views if m.any()]
    check([vn for vn, _ in views] == [s["name"] for s in info["splits"]], "split view names")
    qs = {"min": 0.0, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
    for (vn, m), rep in zip(views, info["splits"]):
        check(int(m.sum()) == rep["n"], "size of split %s" % vn)
        for k, p in qs.items():
            q = float(np.quantile(lengths[m], p))
            check(abs(q - rep["length_bytes"][k]) <= 1e-9 * max(1.0, q), "quantile %s of %s: %r vs %r" %
                  (k, vn, q, rep["length_bytes"][k]))

    for ex in info["examples"]:
        i = ex["row"]
        check(texts[i].decode("utf-8") == ex["text"], "text of row %d" % i)
        check(source_ids[i] == ex["source_id"], "source id of row %d" % i)
        check(int(labels[i]) == ex["label"] and int(domains[i]) == ex["domain"] and int(splits[i]) == ex["split"],
              "label/domain/split of row %d" % i)

    if problems:
        print("read_dataset.py: %s: mismatch in %s" % (path, "; ".join(problems)), file=sys.stderr)
        return 1
    print("read_dataset.py: %s: %d records, hash %s, counts and %d quantile rows match" %
          (path, n, stored_hash[:16], len(views)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
