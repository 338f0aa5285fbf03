"""scikit-learn peer of bench_linear.c: M fits of SGDClassifier(loss="log_loss", penalty="l2") on the identical
CSR matrix, each followed by a prediction of the test split and its accuracy.

Usage: bench_linear.py EXPORT.h5 SEEDS JOBS
JOBS = 1: one fit at a time on one thread. JOBS > 1: joblib.Parallel(n_jobs=JOBS, backend="threading"), one fit
per task; SGDClassifier's inner loop (_plain_sgd) releases the GIL, so threads run fits side by side without
copying the data to worker processes (the loky process backend was slower here: it pickles X per task).
Same algorithm as splinter's per-sample SGD with the "optimal" schedule (docs/linear.md): alpha = l2/2,
learning_rate="optimal", the same epochs (max_iter, tol=None so every fit runs them all), no averaging,
random_state = seed (on this sparse input scikit-learn's intercept takes 0.01 of each step; splinter's the
full step). Timed around fit + predict only (the data are loaded before).
"""
import sys
import time

import h5py
import numpy as np
import scipy.sparse as sps
from joblib import Parallel, delayed
from sklearn.linear_model import SGDClassifier


def csr(g):
    shape = tuple(int(v) for v in g.attrs["shape"].split(","))
    # float64 as scikit-learn's SGD works in float64 (float32 input would be converted inside every fit)
    return sps.csr_matrix((g["data"][...].astype(np.float64), g["indices"][...], g["indptr"][...]), shape=shape)


def fit_score(X, y, Xt, yt, alpha, epochs, seed):
    m = SGDClassifier(loss="log_loss", penalty="l2", alpha=alpha, learning_rate="optimal", max_iter=epochs,
                      tol=None, average=False, random_state=seed)
    m.fit(X, y)
    return float((m.predict(Xt) == yt).mean())


def main(path, seeds, jobs):
    with h5py.File(path, "r") as f:
        X, y = csr(f["X"]), f["y"][...]
        Xt, yt = csr(f["Xtest"]), f["ytest"][...]
        l2, epochs = float(f.attrs["l2"]), int(f.attrs["epochs"])
    alpha = l2 / 2
    fit_score(X, y, Xt, yt, alpha, epochs, 0)  # warm-up: first-call imports and allocations
    t0, c0 = time.perf_counter(), time.process_time()
    if jobs == 1:
        acc = [fit_score(X, y, Xt, yt, alpha, epochs, s) for s in range(seeds)]
    else:
        acc = Parallel(n_jobs=jobs, backend="threading")(
            delayed(fit_score)(X, y, Xt, yt, alpha, epochs, s) for s in range(seeds))
    t, c = time.perf_counter() - t0, time.process_time() - c0
    acc = np.array(acc)
    how = "one at a time" if jobs == 1 else f"joblib threading n_jobs={jobs}"
    print(f"scikit-learn: {seeds} SGDClassifier(log_loss, l2, alpha {alpha:g}, optimal) fits ({epochs} epochs) "
          f"{how}: {t:.3f} s, {c:.3f} s CPU ({1e3 * c / seeds:.2f} ms CPU/fit); test accuracy min {acc.min():.4f} "
          f"mean {acc.mean():.4f} max {acc.max():.4f}, {int((acc < 0.97).sum())} seeds below 0.97")
    print(f"SKLEARN {t:.6f} {c:.6f} {int((acc < 0.97).sum())}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
