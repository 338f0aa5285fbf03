"""Per-sample SGD with the "optimal" schedule against scikit-learn's SGDClassifier, update for update
(run by tests/test_linear.c).

Input: an HDF5 file with the training rows /X (CSR group) already in the order splinter visited them in its
one epoch, labels /y, and splinter's two-class model /W [F, 2], /b [2], trained with l2 (attribute) and the
optimal schedule from zero. docs/linear.md: for two classes D = W1 - W0 follows
    D <- (1 - eta l2) D - 2 eta (p1 - y) x,   eta = 1 / (l2 (t0 + k)),
which is SGDClassifier(loss="log_loss", alpha=l2/2, learning_rate="optimal") on w = D (its step 2 eta, its
decay 2 eta alpha = eta l2), with the bias b1 - b0 as its intercept. scikit-learn is given the rows as a
dense array (so its intercept learns at the full rate; sparse input would damp it by 0.01) and
shuffle=False (so it visits them in splinter's order). Exit status 0 if the weights and the intercept agree
to 1e-5 relative to the largest weight, 1 with a message otherwise.
"""
import sys
import warnings

import h5py
import numpy as np
import scipy.sparse as sps
from sklearn.linear_model import SGDClassifier


def main(path):
    with h5py.File(path, "r") as f:
        g = f["X"]
        shape = tuple(int(v) for v in g.attrs["shape"].split(","))
        X = sps.csr_matrix((g["data"][...].astype(np.float64), g["indices"][...], g["indptr"][...]),
                           shape=shape).toarray()
        y = f["y"][...]
        W, b = f["W"][...].astype(np.float64), f["b"][...].astype(np.float64)
        l2 = float(f.attrs["l2"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: "maximum number of iterations reached"
        m = SGDClassifier(loss="log_loss", penalty="l2", alpha=l2 / 2, learning_rate="optimal", max_iter=1,
                          tol=None, shuffle=False, average=False).fit(X, y)
    D, d0 = W[:, 1] - W[:, 0], b[1] - b[0]
    scale = np.abs(m.coef_[0]).max()
    err = max(np.abs(D - m.coef_[0]).max(), abs(d0 - m.intercept_[0])) / scale
    print(f"per-sample SGD vs SGDClassifier(optimal): max difference {err:.2e} of max |w| {scale:.3f}")
    if not (scale > 0.1 and err < 1e-5):
        print("FAIL: splinter's per-sample SGD does not make SGDClassifier's updates", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
