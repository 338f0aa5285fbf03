"""All-pairs linear CKA: splinter's C library against a vectorised numpy peer, in the same run.

The peer is the strongest plain-numpy form: per layer, centre every model's activations, stack them into
Z [n, M d] and form Z^T Z with one matrix product (numpy hands Z.T @ Z to BLAS SYRK), then read every
pair's ||X_a^T X_b||_F^2 from its block. Both sides use the same OpenBLAS with the same thread count.

Usage: /usr/bin/python3 bench_similarity.py BENCH_BINARY [M L n d REPEATS]   (default 50 3 5000 128 3)
Prints both timings, the ratio numpy / C (>= 1 means C is faster), the C rate as a share of the machine's
sgemm rate, and the largest difference between the two CKA matrices.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def numpy_all_pairs(acts):
    """acts: float32 [M, n, d] -> linear CKA [M, M] (float64)."""
    M, n, d = acts.shape
    Z = acts.transpose(1, 0, 2).reshape(n, M * d)
    Z = Z - Z.mean(axis=0, dtype=np.float64).astype(np.float32)
    G = Z.T @ Z
    B = G.reshape(M, d, M, d)
    F = np.einsum("aibj,aibj->ab", B, B, dtype=np.float64)
    diag = np.sqrt(np.diag(F))
    return F / np.outer(diag, diag)


def main():
    binary = sys.argv[1]
    M, L, n, d, repeats = (int(v) for v in (sys.argv[2:7] if len(sys.argv) >= 7 else (50, 3, 5000, 128, 3)))
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="bench_similarity.") as tmp:
        prefix = os.path.join(tmp, "acts")
        layers = []
        for l in range(L):
            # Models share a low-rank signal, so CKA values are spread out rather than all near zero.
            shared = rng.standard_normal((n, 16), dtype=np.float32)
            acts = np.empty((M, n, d), dtype=np.float32)
            for m in range(M):
                mix = rng.standard_normal((16, d), dtype=np.float32)
                acts[m] = shared @ mix + rng.standard_normal((n, d), dtype=np.float32) * (0.5 + m / M)
            acts.tofile(f"{prefix}.layer{l}.f32")
            layers.append(acts)
        # The machine is shared: C and numpy runs alternate, so a change in load hits both alike; the best
        # run of each is compared. The sgemm peak is timed once, after the last C run.
        c_best, np_best = float("inf"), float("inf")
        for r in range(repeats):
            peak = "4096" if r == repeats - 1 else "0"
            out = subprocess.run([binary, prefix, str(M), str(L), str(n), str(d), "1", peak], check=True,
                                 capture_output=True, text=True).stdout
            run = dict(kv.split("=") for kv in out.split())
            if float(run["c_seconds"]) < c_best:
                c_best, c = float(run["c_seconds"]), run
            if r == repeats - 1:
                c["sgemm_peak_gflops"] = run["sgemm_peak_gflops"]
            t0 = time.perf_counter()
            cka_np = np.stack([numpy_all_pairs(a) for a in layers])
            np_best = min(np_best, time.perf_counter() - t0)
        cka_c = np.fromfile(f"{prefix}.cka_c.f64").reshape(L, M, M)
    c_s = float(c["c_seconds"])
    print(f"all-pairs linear CKA, M={M} models x L={L} layers, n={n}, d={d} ({M * (M - 1) // 2} pairs/layer), "
          f"best of {repeats} alternating runs each")
    print(f"  C  (splinter, one SYRK per layer): {c_s:.3f} s, {float(c['c_gflops']):.1f} GFLOP/s "
          f"({100 * float(c['c_gflops']) / float(c['sgemm_peak_gflops']):.0f}% of OpenBLAS sgemm "
          f"{float(c['sgemm_peak_gflops']):.1f} GFLOP/s), OMP threads {c['omp_threads']}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"  numpy (Z.T @ Z per layer):         {np_best:.3f} s")
    print(f"  ratio numpy / C = {np_best / c_s:.2f}")
    print(f"  max |CKA_C - CKA_numpy| = {np.abs(cka_c - cka_np).max():.2e}")


if __name__ == "__main__":
    main()
