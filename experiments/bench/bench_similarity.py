"""All-pairs linear CKA: splinter's C library against a vectorised numpy peer, in the same run.

The peer is the strongest plain-numpy form: per layer, centre every model's activations, stack them into
Z [n, M d] and form Z^T Z with one matrix product (numpy hands Z.T @ Z to BLAS SYRK), then read every
pair's ||X_a^T X_b||_F^2 from its block. Both sides use the same OpenBLAS with the same thread count, and
both do the whole analysis (centring, Gram, every pair) from the raw float32 activations.

Usage: /usr/bin/python3 bench_similarity.py BENCH_BINARY [M L n d REPEATS]   (default 50 3 5000 128 5)

The machine may be shared, so the two sides are interleaved: each repetition runs both, the C side first
in odd repetitions and numpy first in even ones, and prints both times and their ratio; the summary is the
median ratio (and the median of each side). Every C run also times one bare OpenBLAS ssyrk of the same
shape in the same process, so the C rate can be read against what this OpenBLAS reaches at that moment;
an sgemm 4096^3 peak is timed once at the end. Load averages are printed before and after.
"""
import os
import statistics
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


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def run_c(binary, prefix, M, L, n, d, peak):
    out = subprocess.run([binary, prefix, str(M), str(L), str(n), str(d), "1", str(peak)], check=True,
                         capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (kv.split("=") for kv in out.split())}


def run_numpy(layers):
    t0 = time.perf_counter()
    cka = np.stack([numpy_all_pairs(a) for a in layers])
    return time.perf_counter() - t0, cka


def main():
    binary = sys.argv[1]
    M, L, n, d, repeats = (int(v) for v in (sys.argv[2:7] if len(sys.argv) >= 7 else (50, 3, 5000, 128, 5)))
    flops = L * n * (M * d) * (M * d + 1)  # SYRK of Z [n, M d]: the work both sides share
    rng = np.random.default_rng(7)
    print(f"all-pairs linear CKA, M={M} models x L={L} layers, n={n}, d={d} ({M * (M - 1) // 2} pairs/layer); "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; load average {load()}")
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
        c_times, np_times, ratios, syrk_times = [], [], [], []
        for r in range(repeats):
            if r % 2 == 0:
                c = run_c(binary, prefix, M, L, n, d, 0)
                np_s, cka_np = run_numpy(layers)
            else:
                np_s, cka_np = run_numpy(layers)
                c = run_c(binary, prefix, M, L, n, d, 0)
            c_times.append(c["c_seconds"])
            np_times.append(np_s)
            syrk_times.append(c["syrk_seconds"])
            ratios.append(np_s / c["c_seconds"])
            print(f"  rep {r + 1}/{repeats} ({'C first' if r % 2 == 0 else 'numpy first'}): C {c['c_seconds']:.3f} s "
                  f"({c['c_gflops']:.1f} GFLOP/s; bare ssyrk {c['syrk_gflops']:.1f} GFLOP/s), numpy {np_s:.3f} s "
                  f"({flops / np_s * 1e-9:.1f} GFLOP/s), ratio {np_s / c['c_seconds']:.2f}, load {load()}",
                  flush=True)
        cka_c = np.fromfile(f"{prefix}.cka_c.f64").reshape(L, M, M)
        peak = run_c(binary, prefix, M, 1, n, d, 4096)["sgemm_peak_gflops"]
    c_med, np_med, syrk_med = (statistics.median(v) for v in (c_times, np_times, syrk_times))
    print(f"  C     (splinter: centring + one SYRK per layer + all pairs): median {c_med:.3f} s, "
          f"{flops / c_med * 1e-9:.1f} GFLOP/s = {100 * syrk_med / c_med:.0f}% of the bare ssyrk "
          f"({flops / syrk_med * 1e-9:.1f} GFLOP/s), {100 * flops / c_med * 1e-9 / peak:.0f}% of OpenBLAS sgemm "
          f"4096^3 ({peak:.1f} GFLOP/s)")
    print(f"  numpy (centring + Z.T @ Z + einsum per layer):              median {np_med:.3f} s, "
          f"{flops / np_med * 1e-9:.1f} GFLOP/s")
    print(f"  max |CKA_C - CKA_numpy| = {np.abs(cka_c - cka_np).max():.2e}; load average {load()}")
    print(f"RATIO numpy / C = {statistics.median(ratios):.2f} (median of {repeats}; "
          f"per repetition {' '.join(f'{x:.2f}' for x in ratios)}; >= 1 means splinter is faster)")


if __name__ == "__main__":
    main()
