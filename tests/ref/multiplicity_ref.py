#!/usr/bin/python3
"""Independent numpy implementation of the model-level metrics of `splinter analyze`, checked against the
C output of a run directory: ambiguity, discrepancy, mean Rashomon capacity, mean pairwise disagreement and
set size for every variant x epsilon kind x epsilon x split cell, and the per-example Rashomon capacity and
the pairwise disagreement matrix over each variant's pool. Exits 1 on any difference above 1e-6.

Usage: multiplicity_ref.py RUN
Definitions follow docs/metrics.md; this file shares no code with the C implementation.
"""
import glob
import os
import sys

import h5py
import numpy as np

TOL = 1e-6
KINDS = ["loss-abs", "loss-rel", "error-abs", "error-rel"]
MET = {"set_size": 0, "ambiguity": 3, "discrepancy": 4, "capacity": 8, "pairwise_disagreement": 12}


def load(run):
    labels = h5py.File(os.path.join(run, "dataset.h5"), "r")["label"][...]
    variants = {}
    for path in sorted(glob.glob(os.path.join(run, "models", "*.h5"))):
        with h5py.File(path, "r") as f:
            fmt = f.attrs["format"]
            fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
            if fmt != "splinter-model":
                continue
            attr = lambda k: f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else f.attrs[k]
            m = {"name": attr("name"), "pred": {}, "rows": {}}
            for s in f["predictions"]:
                m["pred"][s] = f["predictions"][s][...].astype(np.float64)
                m["rows"][s] = f["rows"][s][...]
            variants.setdefault(attr("variant"), []).append(m)
    return labels, variants


def kl_binary(a, q):
    """KL((1-a, a) || (1-q, q)) in nats, 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(a > 0, a * np.log(a / q), 0.0)
        t0 = np.where(a < 1, (1 - a) * np.log((1 - a) / (1 - q)), 0.0)
    return t1 + t0


def capacity(W):
    """Rashomon capacity 2^C per example; W: (n, K, C) channel rows.

    Two classes: not Blahut-Arimoto but the dual (minimax) form C = min_q max_m KL(W_m || q). The maximum
    over rows sits at the rows with the smallest and largest P(class 1), a and b; the optimal q equalises
    KL(a || q) = KL(b || q) and lies between them, found by bisection (KL(a||q) - KL(b||q) is increasing
    in q on [a, b]). More classes: plain Blahut-Arimoto until the bound gap is below 1e-12."""
    n, K, C = W.shape
    W = W / W.sum(axis=2, keepdims=True)
    if C == 2:
        a, b = W[:, :, 1].min(axis=1), W[:, :, 1].max(axis=1)
        lo, hi = a.copy(), b.copy()
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            up = kl_binary(a, mid) - kl_binary(b, mid) > 0  # mid too far from b: move down
            hi = np.where(up, mid, hi)
            lo = np.where(up, lo, mid)
        q = 0.5 * (lo + hi)
        cap = np.where(b > a, np.maximum(kl_binary(a, q), kl_binary(b, q)), 0.0)
        return np.exp(cap)
    logW = np.where(W > 0, np.log(np.where(W > 0, W, 1.0)), 0.0)
    p = np.full((n, K), 1.0 / K)
    lower = np.zeros(n)
    for _ in range(200000):
        q = np.einsum("nk,nkc->nc", p, W)
        logq = np.log(np.where(q > 0, q, 1.0))
        D = np.sum(np.where(W > 0, W * (logW - logq[:, None, :]), 0.0), axis=2)
        eD = np.exp(D)
        z = np.sum(p * eD, axis=1)
        lower = np.log(z)
        if np.all(D.max(axis=1) - lower <= 1e-12):
            break
        p = p * eD / z[:, None]
    return np.exp(np.maximum(lower, 0.0))


def main(run):
    labels, variants = load(run)
    out = h5py.File(os.path.join(run, "analysis", "analysis.h5"), "r")
    eps_grid = out["eps"][...]
    bad = 0
    checked = 0

    def check(what, ours, theirs):
        nonlocal bad, checked
        checked += 1
        ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, atol=TOL, rtol=0, equal_nan=True):
            bad += 1
            diff = np.nanmax(np.abs(ours - theirs)) if ours.shape == theirs.shape else "shape"
            print(f"MISMATCH {what}: numpy {ours.ravel()[:6]} C {theirs.ravel()[:6]} (max diff {diff})")

    for vname, models in sorted(variants.items()):
        models.sort(key=lambda m: m["name"])
        M = len(models)
        val = np.stack([m["pred"]["val"] for m in models])
        yv = labels[models[0]["rows"]["val"]]
        pv = val[:, np.arange(len(yv)), yv]
        val_loss = np.mean(-np.log(np.maximum(pv, 1e-12)), axis=1)
        val_err = np.mean(np.argmax(val, axis=2) != yv[None, :], axis=1)
        ref = int(np.argmin(val_loss))
        g = out["variants"][vname]
        check(f"{vname} val_loss", val_loss, g["val_loss"][...])
        splits = [s for s in models[0]["pred"] if s == "test" or s.startswith("ood-")]
        for s in splits:
            G = np.stack([m["pred"][s] for m in models])  # (M, n, C)
            H = np.argmax(G, axis=2)                        # ties -> lowest class, as in the C code
            n = H.shape[1]
            gs = g["splits"][s]
            # pool: pairwise matrix and per-example capacity
            D = (H[:, None, :] != H[None, :, :]).mean(axis=2)
            check(f"{vname}/{s} pairwise", D, gs["pairwise"][...])
            check(f"{vname}/{s} capacity", capacity(np.transpose(G, (1, 0, 2))), gs["capacity"][...])
            cells = gs["multiplicity"][...]
            for k, kind in enumerate(KINDS):
                score = val_loss if kind.startswith("loss") else val_err
                for e, eps in enumerate(eps_grid):
                    thr = score[ref] * (1 + eps) if kind.endswith("rel") else score[ref] + eps
                    S = np.flatnonzero((score <= thr) | (np.arange(M) == ref))
                    flips = H[S] != H[ref][None, :]
                    amb = flips.any(axis=0).mean()
                    dis = flips.mean(axis=1).max()
                    rc = capacity(np.transpose(G[S], (1, 0, 2))).mean()
                    pairs = [D[a, b] for i, a in enumerate(S) for b in S[i + 1:]]
                    pw = np.mean(pairs) if pairs else np.nan
                    where = f"{vname}/{s}/{kind}/eps={eps}"
                    check(where + " set_size", len(S), cells[k, e, MET["set_size"]])
                    check(where + " ambiguity", amb, cells[k, e, MET["ambiguity"]])
                    check(where + " discrepancy", dis, cells[k, e, MET["discrepancy"]])
                    check(where + " capacity", rc, cells[k, e, MET["capacity"]])
                    check(where + " pairwise", pw, cells[k, e, MET["pairwise_disagreement"]])
                    if dis > amb + 1e-15:
                        bad += 1
                        print(f"PROPERTY {where}: discrepancy {dis} > ambiguity {amb}")
    print(f"{checked} comparisons, {bad} mismatches")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
