"""Independent check of the exact viable prediction ranges in RUN/analysis/analysis.h5 (tests/check_exact_vpr.sh).

Rebuilds the hashed features with the Python re-implementation of tests/ref/linear_check_model.py, then
checks with numpy:
  - the training objective of every sampled model, f(d, beta) = mean log-loss + (l2/4)||d||^2 at
    d = W1 - W0, beta = b1 - b0, minus f* of the exact optimum, against /exact/sampled_objective_gap;
  - f* against an own Newton fit of the same objective (scipy-free dense Newton on the training features);
  - containment: every sampled model whose gap is <= eps has, on every solved example, a margin inside
    [lower, upper] (1e-6 slack), and the stored sampled_lower / sampled_upper are its min / max with w*;
  - lower <= lower_inner <= margin_star <= upper_inner <= upper, ranges nested in eps, flips consistent.
Usage: exact_vpr_check.py RUN MIN_IN_SET  (MIN_IN_SET: sampled models that must fall inside the largest eps)
"""
import glob
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linear_check_model import features  # noqa: E402

SPLIT_TRAIN = 0


def fail(msg):
    print("exact_vpr_check: FAIL: " + msg)
    sys.exit(1)


def main():
    run, min_in = sys.argv[1], int(sys.argv[2])
    with h5py.File(os.path.join(run, "dataset.h5")) as f:
        texts = [t.decode() if isinstance(t, bytes) else t for t in f["text"][...]]
        label = f["label"][...]
        split = f["split"][...]
    a = h5py.File(os.path.join(run, "analysis", "analysis.h5"))
    ex = a["exact"]
    exact_path = ex.attrs["model"]
    exact_path = exact_path.decode() if isinstance(exact_path, bytes) else exact_path
    with h5py.File(exact_path) as m:
        spec = json.loads(m.attrs["spec_json"])
    X = features(texts, spec["bits"], spec["bigrams"], spec["weighting"] == "binary", spec["l2_normalize"]).tocsr()
    l2 = spec["l2"]
    tr = np.flatnonzero(split == SPLIT_TRAIN)
    Xt, s = X[tr], np.where(label[tr] == 1, 1.0, -1.0)

    def objective(d, beta):
        z = s * (Xt @ d + beta)
        return np.mean(np.logaddexp(0.0, -z)) + 0.25 * l2 * d @ d

    # own Newton fit on the features that occur in training (the others are 0 at the optimum)
    cols = np.unique(Xt.indices)
    A = np.hstack([Xt[:, cols].toarray(), np.ones((len(tr), 1))])
    w = np.zeros(A.shape[1])
    reg = np.full(A.shape[1], 0.5 * l2)
    reg[-1] = 0.0
    for _ in range(100):
        z = s * (A @ w)
        p = 1.0 / (1.0 + np.exp(z))  # sigma(-z)
        g = A.T @ (-s * p) / len(tr) + reg * w
        if np.linalg.norm(g) < 1e-12:
            break
        H = (A * (p * (1 - p))[:, None]).T @ A / len(tr) + np.diag(reg)
        w -= np.linalg.solve(H, g)
    d_star = np.zeros(X.shape[1])
    d_star[cols] = w[:-1]
    f_star = objective(d_star, w[-1])
    # the C features are float32 (values 1/sqrt(k)), numpy uses float64: agreement to ~1e-9, not 1e-15
    if abs(f_star - ex.attrs["objective_star"]) > 1e-8:
        fail(f"f* {ex.attrs['objective_star']:.12g} vs numpy Newton {f_star:.12g}")

    names = [n.decode() if isinstance(n, bytes) else n for n in ex["sampled_models"][...]]
    gaps = ex["sampled_objective_gap"][...]
    models = {}
    for path in glob.glob(os.path.join(run, "models", "*.h5")):
        with h5py.File(path) as m:
            if m.attrs.get("family") in ("linear", b"linear") and m.attrs["variant"] not in ("exact", b"exact"):
                W, b = m["weights/W"][...].astype(np.float64), m["weights/b"][...].astype(np.float64)
                n = m.attrs["name"]
                models[n.decode() if isinstance(n, bytes) else n] = (W[:, 1] - W[:, 0], b[1] - b[0])
    if sorted(models) != sorted(names):
        fail(f"sampled models {names} vs files {sorted(models)}")
    for n, g in zip(names, gaps):
        own = objective(*models[n]) - f_star
        if abs(own - g) > 1e-7 * max(1.0, abs(own)):
            fail(f"{n}: objective gap {g:.12g} vs numpy {own:.12g}")

    eps = ex["eps"][...]
    if min_in > 0 and np.sum(gaps <= eps.max()) < min_in:
        fail(f"only {np.sum(gaps <= eps.max())} sampled models inside the largest eps {eps.max()}: containment untested")
    checked = 0
    for sn in ex["splits"]:
        g = ex["splits"][sn]
        rows = g["rows"][...]
        lo, hi, lo_in, hi_in = (g[k][...] for k in ("lower", "upper", "lower_inner", "upper_inner"))
        ms = g["margin_star"][...]
        if np.max(np.abs(ms - (X[rows] @ d_star + w[-1]))) > 1e-6:
            fail(f"{sn}: margin_star differs from the numpy optimum")
        if not (np.all(lo <= lo_in + 1e-12) and np.all(lo_in <= ms[:, None] + 1e-9) and
                np.all(ms[:, None] <= hi_in + 1e-9) and np.all(hi_in <= hi + 1e-12)):
            fail(f"{sn}: bounds not ordered")
        order = np.argsort(eps)
        if np.any(np.diff(hi[:, order], axis=1) < -1e-9) or np.any(np.diff(lo[:, order], axis=1) > 1e-9):
            fail(f"{sn}: ranges not nested in eps")
        flips = g["flips"][...]
        want = np.where(ms[:, None] > 0, lo_in <= 0, hi_in > 0)
        if np.any(flips != want):
            fail(f"{sn}: flips inconsistent with the inner bounds")
        for e, ev in enumerate(eps):
            mlo, mhi = ms.copy(), ms.copy()
            for n, gp in zip(names, gaps):
                if gp > ev:
                    continue
                mm = X[rows] @ models[n][0] + models[n][1]
                tol = 1e-6 * np.maximum(1.0, np.abs(mm))
                if np.any(mm < lo[:, e] - tol) or np.any(mm > hi[:, e] + tol):
                    fail(f"{sn} eps {ev}: {n} has a margin outside the exact range")
                mlo, mhi = np.minimum(mlo, mm), np.maximum(mhi, mm)
                checked += len(rows)
            if np.max(np.abs(mlo - g["sampled_lower"][:, e])) > 1e-6 or np.max(np.abs(mhi - g["sampled_upper"][:, e])) > 1e-6:
                fail(f"{sn} eps {ev}: sampled range differs from numpy")
    print(f"exact_vpr_check: ok ({checked} (model, example) margins inside their exact ranges; f* {f_star:.10g})")


main()
