"""Independent check of a linear-family model file against its dataset.h5 (run by tests/check_linear_train.sh).

Re-implements the documented feature hashing (docs/linear.md) in Python, recomputes the logits
softmax(X W + b) of every split from the stored weights, and checks the file's layout and values:
attributes (family, variant, spec_json, data_hash, seed_<stream>, n_classes), /rows/<split> against the
dataset's split column, /predictions/<split> (to 2e-5) with their accuracy and loss attributes, the top-K
logit contributions, the curves, and for variant "exact" the gradient norm of the objective (< 1e-6).
Usage: linear_check_model.py DATASET.h5 MODEL.h5 [MODEL.h5 ...]; exit status 0 iff every file passes.
"""
import json
import sys

import h5py
import numpy as np
import scipy.sparse as sps

M64 = (1 << 64) - 1
STREAMS = ["init", "order", "mask", "dropout", "pretrain", "split", "data", "bootstrap"]


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & M64
    return h


def splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def tokens(text):
    """Maximal runs of ASCII alphanumerics and bytes >= 0x80; ASCII letters lowercased."""
    out, cur = [], bytearray()
    for b in text.encode("utf-8"):
        if (48 <= b <= 57) or (65 <= b <= 90) or (97 <= b <= 122) or b >= 0x80:
            cur.append(b + 32 if 65 <= b <= 90 else b)
        elif cur:
            out.append(bytes(cur))
            cur = bytearray()
    if cur:
        out.append(bytes(cur))
    return out


def features(texts, bits, bigrams, binary, normalize):
    mask = (1 << bits) - 1
    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        toks = tokens(t)
        ids = [splitmix64(fnv1a(w)) & mask for w in toks]
        if bigrams:
            ids += [splitmix64(fnv1a(toks[k - 1] + b" " + toks[k])) & mask for k in range(1, len(toks))]
        u, c = np.unique(np.array(ids, dtype=np.int64), return_counts=True)
        v = np.ones(len(u)) if binary else c.astype(np.float64)
        if normalize and len(u):
            v = v / np.sqrt((v ** 2).sum())
        rows += [i] * len(u)
        cols += list(u)
        vals += list(v)
    return sps.csr_matrix((vals, (rows, cols)), shape=(len(texts), 1 << bits))


def fail(msg):
    print("FAILED:", msg, file=sys.stderr)
    sys.exit(1)


def check(ds, path, X_cache):
    f = h5py.File(path, "r")
    a = f.attrs
    for k in ["family", "variant", "name", "spec_json", "data_hash", "n_classes", "complete"]:
        if k not in a:
            fail(f"{path}: attribute {k} missing")
    if a["family"] != "linear" or a["data_hash"] != ds["hash"]:
        fail(f"{path}: family {a['family']} / data_hash {a['data_hash']} wrong")
    for s in STREAMS:
        if f"seed_{s}" not in a:
            fail(f"{path}: seed_{s} missing")
    spec = json.loads(a["spec_json"])
    for k in ["optimizer", "epochs", "batch", "lr", "l2", "bits", "bigrams", "weighting", "l2_normalize", "topk",
              "init_std", "bootstrap"]:
        if k not in spec:
            fail(f"{path}: spec_json lacks {k}")
    key = (spec["bits"], spec["bigrams"], spec["weighting"], spec["l2_normalize"])
    if key not in X_cache:
        X_cache[key] = features(ds["text"], spec["bits"], spec["bigrams"], spec["weighting"] == "binary",
                                spec["l2_normalize"])
    X = X_cache[key]
    W = f["weights/W"][...].astype(np.float64)
    b = f["weights/b"][...].astype(np.float64)
    C = int(a["n_classes"])
    if W.shape != (1 << spec["bits"], C) or b.shape != (C,):
        fail(f"{path}: weight shapes {W.shape} {b.shape}")
    split_names = {0: "train", 1: "val", 2: "test"}
    for name in f["predictions"]:
        rows = f["rows"][name][...]
        if name.startswith("ood-"):
            dom = ds["domain_names"].index(name[4:])
            want = np.where((ds["split"] == 3) & (ds["domain"] == dom))[0]
        else:
            code = [k for k, v in split_names.items() if v == name][0]
            want = np.where(ds["split"] == code)[0]
        if not np.array_equal(rows, want):
            fail(f"{path}: rows/{name} differ from the dataset's split")
        P = f["predictions"][name][...]
        Z = X[rows] @ W + b
        Q = np.exp(Z - Z.max(axis=1, keepdims=True))
        Q /= Q.sum(axis=1, keepdims=True)
        err = np.abs(P - Q).max() if len(rows) else 0.0
        if err > 2e-5:
            fail(f"{path}: predictions/{name} differ from softmax(X W + b) recomputed in Python by {err:.3g}")
        y = ds["label"][rows]
        acc = (P.argmax(axis=1) == y).mean() if len(rows) else np.nan
        loss = -np.log(np.maximum(P[np.arange(len(rows)), y], 1e-30)).mean() if len(rows) else np.nan
        pa = f["predictions"][name].attrs
        if len(rows) and (abs(pa["accuracy"] - acc) > 1e-12 or abs(pa["loss"] - loss) > 1e-5):
            fail(f"{path}: predictions/{name} accuracy/loss attributes {pa['accuracy']}/{pa['loss']} vs {acc}/{loss}")
        if spec["topk"] > 0:
            ids = f[f"activations/{name}/logit_contrib/ids"][...]
            vals = f[f"activations/{name}/logit_contrib/values"][...]
            for i in range(min(len(rows), 20)):
                r = X[rows[i]]
                best = int(np.argmax(Z[i]))
                contrib = r.data * (W[r.indices, best] - W[r.indices].mean(axis=1))
                order = sorted(range(len(contrib)), key=lambda j: (-abs(np.float32(contrib[j])), r.indices[j]))
                k = min(spec["topk"], len(order))
                if not np.array_equal(ids[i, :k], r.indices[order[:k]]) or np.any(ids[i, k:] != -1):
                    fail(f"{path}: logit_contrib ids of {name} row {i} differ")
                if np.abs(vals[i, :k] - contrib[order[:k]]).max(initial=0) > 1e-5:
                    fail(f"{path}: logit_contrib values of {name} row {i} differ")
    tl, vl = f["curves/train_loss"][...], f["curves/val_loss"][...]
    if a["variant"] == "exact":
        if len(tl) != 1 or not a["exact_grad_norm"] < 1e-6:
            fail(f"{path}: exact model curves {tl} or gradient norm {a.get('exact_grad_norm')}")
        rows = f["rows/train"][...]
        Xt, y = X[rows], ds["label"][rows]
        Z = Xt @ W + b
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        D = (P - np.eye(C)[y]) / len(rows)
        g = np.sqrt(((Xt.T @ D + spec["l2"] * W) ** 2).sum() + (D.sum(axis=0) ** 2).sum())
        # W was rounded to float32 in the file: allow that rounding in the recomputed gradient
        if g > 1e-4:
            fail(f"{path}: gradient norm at the stored exact optimum is {g:.3g}")
        print(f"{path}: exact optimum, |grad| {a['exact_grad_norm']:.3g} (float32 file: {g:.3g})")
    elif len(tl) != spec["epochs"] or len(vl) != spec["epochs"] or not np.all(np.isfinite(tl)):
        fail(f"{path}: curves have {len(tl)}/{len(vl)} entries for {spec['epochs']} epochs")
    f.close()


def main():
    with h5py.File(sys.argv[1], "r") as d:
        ds = {"text": [t.decode() if isinstance(t, bytes) else t for t in d["text"][...]],
              "label": d["label"][...], "domain": d["domain"][...], "split": d["split"][...],
              "hash": d.attrs["content_hash"],
              "domain_names": [s.decode() if isinstance(s, bytes) else s for s in d.attrs["domain_names"]]}
    cache = {}
    for path in sys.argv[2:]:
        check(ds, path, cache)
    print(f"{len(sys.argv) - 2} model files match the Python re-implementation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
