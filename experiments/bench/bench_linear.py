"""scikit-learn peer of bench_linear.c: M fits of SGDClassifier(loss="log_loss") on the identical CSR matrix.

Usage: bench_linear.py EXPORT.h5 SEEDS
Same epochs (max_iter, tol=None so every fit runs them all) and the same L2: splinter's two-class softmax
penalty (l2/2)(|w0|^2 + |w1|^2) at the symmetric solution w1 = -w0 = w/2 equals SGDClassifier's
(alpha/2)|w|^2 with alpha = l2/2. One fit per seed (random_state = seed), single-threaded, timed around
fit() only.
"""
import sys
import time

import h5py
import numpy as np
import scipy.sparse as sps
from sklearn.linear_model import SGDClassifier


def csr(g):
    shape = tuple(int(v) for v in g.attrs["shape"].split(","))
    # float64 as scikit-learn's SGD works in float64 (float32 input would be converted inside every fit)
    return sps.csr_matrix((g["data"][...].astype(np.float64), g["indices"][...], g["indptr"][...]), shape=shape)


def main(path, seeds):
    with h5py.File(path, "r") as f:
        X, y = csr(f["X"]), f["y"][...]
        Xt, yt = csr(f["Xtest"]), f["ytest"][...]
        l2, epochs = float(f.attrs["l2"]), int(f.attrs["epochs"])
    acc = []
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(seeds):
        m = SGDClassifier(loss="log_loss", alpha=l2 / 2, max_iter=epochs, tol=None, random_state=s)
        m.fit(X, y)
        acc.append((m.predict(Xt) == yt).mean())
    t, c = time.perf_counter() - t0, time.process_time() - c0
    print(f"scikit-learn: {seeds} SGDClassifier(log_loss) fits ({epochs} epochs, alpha {l2 / 2:g}) on 1 thread: "
          f"{t:.3f} s, {c:.3f} s CPU ({1e3 * c / seeds:.2f} ms CPU/fit); mean test accuracy {np.mean(acc):.4f}")
    print(f"SKLEARN_SECONDS {t:.6f} {c:.6f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
