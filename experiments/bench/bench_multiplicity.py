#!/usr/bin/python3
"""Benchmark: splinter's multiplicity kernels vs vectorised numpy, on the same data, in the same run.

M models x n examples x 2 classes (default 1000 x 50,000): pairwise disagreement matrix, ambiguity and
discrepancy over an epsilon grid of 20 (validation-loss, absolute), and the per-example Rashomon capacity.
Both sides get 2 threads (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS = 2); each time is the best of REPEATS
(default 7: the capacity pass is bound by memory bandwidth, which varies from moment to moment).
The numpy peers are the fastest vectorised forms we know: pairwise = one float32 GEMM on the 0/1 prediction
matrix; ambiguity/discrepancy = one boolean flip matrix, then per epsilon an any() and a max of row means.
Capacity, the same quantity as splinter's (rows renormalised to sum 1, docs/metrics.md): per example the
smallest and largest renormalised P(class 1) over the models, found as the max / min of g0/g1 in float32 over
blocks of 16 models (the block of ratios stays in cache; numpy's reductions are single-threaded), then the
closed-form capacity of the two extreme rows, vectorised over examples. splinter does one pass over the
matrix (extreme pairs chosen by division-free comparisons of g1/g0, eight models streamed together, OpenMP
over example blocks; docs/metrics.md) and the same closed form.
Per-example results of the two sides are compared (max |RC difference|) before timings are printed. An
extra line times numpy's shortcut that skips the renormalisation (min/max of the stored P(class 1) over
contiguous memory): it agrees only because the bench rows sum to 1 in float32, and is not the ratio.

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


def numpy_extremes(G, block=16):
    """Smallest and largest renormalised P(class 1) per example over the models of G (M, n, 2): the max and
    min over models of t = g0 / g1 (float32, a block of models at a time), r = 1 / (1 + t)."""
    M, n, _ = G.shape
    tmin = np.full(n, np.inf, dtype=np.float32)
    tmax = np.full(n, -np.inf, dtype=np.float32)
    buf = np.empty((block, n), dtype=np.float32)
    with np.errstate(divide="ignore"):
        for m0 in range(0, M, block):
            b = buf[:min(block, M - m0)]
            np.divide(G[m0:m0 + block, :, 0], G[m0:m0 + block, :, 1], out=b)
            np.minimum(tmin, b.min(axis=0), out=tmin)
            np.maximum(tmax, b.max(axis=0), out=tmax)
    return 1.0 / (1.0 + tmax.astype(np.float64)), 1.0 / (1.0 + tmin.astype(np.float64))


def numpy_capacity_binary(a, b):
    """RC = e^C of the channel with rows (1 - a, a), (1 - b, b), a <= b (arrays): ln((1 - q) / q) equals the
    slope (h(b) - h(a)) / (b - a) of the binary entropy at the optimal output q, and C = KL(b || q)."""
    d = b - a
    ua, ub = 1.0 - a, 1.0 - b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pa = np.where(a > 0, a * np.log1p(d / a) / d, 0.0)
        pb = np.where(ub > 0, ub * np.log1p(d / ub) / d, 0.0)
        slope = -(np.log(b) + pa) + (np.log(ua) + pb)
        q = 1.0 / (1.0 + np.exp(slope))
        uq = 1.0 / (1.0 + np.exp(-slope))
        kl = np.where(b > 0, b * np.log(b / q), 0.0) + np.where(ub > 0, ub * np.log(ub / uq), 0.0)
    return np.where(d > 0, np.exp(kl), 1.0)


def numpy_capacity(G):
    return numpy_capacity_binary(*numpy_extremes(G))


def numpy_capacity_shortcut(G):
    """Not the same quantity: extremes of the stored P(class 1) without renormalising the rows."""
    mn, mx = G.min(axis=0), G.max(axis=0)
    return numpy_capacity_binary(mn[:, 1].astype(np.float64), mx[:, 1].astype(np.float64))


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
    ap.add_argument("--repeats", type=int, default=7)
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
                              str(n), str(E), str(eps_max), str(args.repeats), os.path.join(tmp, "rc.f64")],
                             capture_output=True, text=True)
        rc_splinter = np.fromfile(os.path.join(tmp, "rc.f64"), dtype=np.float64) if run.returncode == 0 else None
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
    t_rc, rc = best_of(args.repeats, lambda: numpy_capacity(G))
    t_short, rc_short = best_of(args.repeats, lambda: numpy_capacity_shortcut(G))

    # the two sides must agree before their times mean anything (capacity: docs/metrics.md's 1e-6)
    rc_diff = float(np.abs(rc - rc_splinter).max())
    ok = abs(D.sum() - c["pairwise_sum"]) <= 1e-6 * M * M and rc_diff <= 1e-6
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
    print(f"numpy capacity shortcut without renormalising rows (not the same quantity): {t_short:.4f} s, "
          f"numpy/splinter {t_short / c['capacity_seconds']:.1f}x, max |RC difference| "
          f"{float(np.abs(rc_short - rc_splinter).max()):.1e}")
    print(f"results agree: {'yes' if ok else 'NO'} (pairwise sum {c['pairwise_sum']:.6f} vs {D.sum():.6f}, "
          f"mean RC {c['capacity_mean']:.9f} vs {rc.mean():.9f}, max |RC difference| {rc_diff:.1e}, "
          f"capped {int(c['capacity_capped'])})")
    total = c_pair + c["ambdisc_seconds"] + c["capacity_seconds"]
    print(f"splinter all three kernels: {total:.3f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
