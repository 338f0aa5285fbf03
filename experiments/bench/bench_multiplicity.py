#!/usr/bin/python3
"""Benchmark: splinter's multiplicity kernels vs vectorised numpy, on the same data, in the same run.

M models x n examples x 2 classes (default 1000 x 50,000): pairwise disagreement matrix, ambiguity and
discrepancy over an epsilon grid of 20 (validation-loss, absolute), and the per-example Rashomon capacity.
Both sides get 2 threads (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS = 2); each time is the best of REPEATS.
The numpy peers are the fastest vectorised forms we know: pairwise = one float32 GEMM on the 0/1 prediction
matrix; ambiguity/discrepancy = one boolean flip matrix, then per epsilon an any() and a max of row means;
capacity = the two-extreme-row reduction plus the dual bisection (60 vectorised steps, exact), not a
per-example Python loop. Results of the two sides are compared before timings are printed.

usage: bench_multiplicity.py [BENCH_BINARY] [--models M] [--examples n] [--repeats R]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import numpy as np  # noqa: E402  (thread counts must be set before numpy loads BLAS)


def kl_binary(a, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(a > 0, a * np.log(a / q), 0.0)
        t0 = np.where(a < 1, (1 - a) * np.log((1 - a) / (1 - q)), 0.0)
    return t1 + t0


def numpy_capacity(P1):
    """Rashomon capacity per example from P1 = (M, n) probabilities of class 1."""
    a = P1.min(axis=0).astype(np.float64)
    b = P1.max(axis=0).astype(np.float64)
    lo, hi = a.copy(), b.copy()
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = kl_binary(a, mid) > kl_binary(b, mid)
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    q = 0.5 * (lo + hi)
    return np.where(b > a, np.exp(np.maximum(kl_binary(a, q), kl_binary(b, q))), 1.0)


def best_of(repeats, fn):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("binary", nargs="?", default=os.path.join(here, "..", "..", "build", "experiments", "bench",
                                                              "bench_multiplicity"))
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--examples", type=int, default=50000)
    ap.add_argument("--eps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    M, n, E, eps_max = args.models, args.examples, args.eps, 0.05

    rng = np.random.default_rng(20260101)
    logit = rng.normal(0.0, 2.5, size=n).astype(np.float32)
    P1 = 1.0 / (1.0 + np.exp(-(logit[None, :] + rng.normal(0.0, 0.6, size=(M, n)).astype(np.float32))))
    P1 = P1.astype(np.float32)
    G = np.empty((M, n, 2), dtype=np.float32)
    G[:, :, 1] = P1
    G[:, :, 0] = np.float32(1.0) - P1
    val = 0.30 + 0.05 * rng.random(M)

    with tempfile.TemporaryDirectory() as tmp:
        G.tofile(os.path.join(tmp, "probs.f32"))
        val.astype(np.float64).tofile(os.path.join(tmp, "val.f64"))
        run = subprocess.run([args.binary, os.path.join(tmp, "probs.f32"), os.path.join(tmp, "val.f64"), str(M),
                              str(n), str(E), str(eps_max), str(args.repeats)], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"bench binary failed: {run.stderr}")
    c = {k: float(v) for k, v in (line.split() for line in run.stdout.split("\n") if line)}

    # numpy peers on the same matrix (G[:, :, 0] / G[:, :, 1] as stored)
    P0, P1 = G[:, :, 0], G[:, :, 1]

    def pairwise():
        H = (P1 > P0).astype(np.float32)          # argmax with ties to class 0
        ones = H.sum(axis=1, dtype=np.float64)
        agree1 = (H @ H.T).astype(np.float64)     # both predict 1
        return (ones[:, None] + ones[None, :] - 2.0 * agree1) / n

    def ambdisc():
        H = P1 > P0
        ref = int(np.argmin(val))
        flips = H != H[ref][None, :]
        rate = flips.mean(axis=1)
        out = []
        for e in range(E):
            eps = eps_max * e / (E - 1)
            S = val <= val[ref] + eps
            S[ref] = True
            out.append((flips[S].any(axis=0).mean(), rate[S].max()))
        return out

    t_pair, D = best_of(args.repeats, pairwise)
    t_ad, ad = best_of(args.repeats, ambdisc)
    t_rc, rc = best_of(args.repeats, lambda: numpy_capacity(P1))

    # the two sides must agree before their times mean anything
    ok = abs(D.sum() - c["pairwise_sum"]) <= 1e-6 * M * M and abs(rc.mean() - c["capacity_mean"]) <= 1e-6
    for e in range(E):
        ok &= abs(ad[e][0] - c[f"ambiguity_{e}"]) <= 1e-12 and abs(ad[e][1] - c[f"discrepancy_{e}"]) <= 1e-12
    c_pair = c["pack_seconds"] + c["pairwise_seconds"]
    print(f"M = {M} models x n = {n} examples x 2 classes, eps grid of {E}, best of {args.repeats}, "
          f"threads: splinter {int(c['threads'])}, numpy BLAS {os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"{'kernel':<34}{'splinter s':>12}{'numpy s':>12}{'numpy/splinter':>16}")
    for name, a, b in [("pairwise disagreement (incl argmax)", c_pair, t_pair),
                       ("ambiguity+discrepancy x 20 eps", c["ambdisc_seconds"], t_ad),
                       ("Rashomon capacity (n examples)", c["capacity_seconds"], t_rc)]:
        print(f"{name:<34}{a:>12.4f}{b:>12.4f}{b / a:>15.1f}x")
    print(f"splinter pairwise = argmax packing {c['pack_seconds']:.4f} s + popcount matrix "
          f"{c['pairwise_seconds']:.4f} s")
    print(f"results agree: {'yes' if ok else 'NO'} (pairwise sum {c['pairwise_sum']:.6f} vs {D.sum():.6f}, "
          f"mean RC {c['capacity_mean']:.9f} vs {rc.mean():.9f}, capped {int(c['capacity_capped'])})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
