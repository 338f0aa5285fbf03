"""Parity of the linear family with scikit-learn (run by tests/test_linear.c).

Input: an HDF5 file with the training matrix /X (CSR group: indptr, indices, data, attr shape), labels /y,
the exact optimum /theta = [W (F*C, row-major), b (C)] fitted by splinter with objective
    mean NLL + (l2/2) ||W||^2,
and /sgd_probs, splinter's minibatch-SGD model's probabilities on the same rows.

1. LogisticRegression(multinomial) minimises C_sk * sum NLL + (1/2)||W||^2, i.e. our objective times
   C_sk * n when C_sk = 1 / (n * l2). For two classes scikit-learn reports one row w with class 1 = +w and
   class 0 = -w: the symmetric softmax solution, which is also ours (the penalty makes the class columns sum
   to zero). By l2-strong convexity a point's distance to the optimum is at most |grad L| / l2, so two
   solutions may differ by at most (|grad L(ours)| + |grad L(theirs)|) / l2: that bound must hold for both
   solvers, and newton-cg (which converges to |grad| ~1e-11) must also match to 1e-4. scikit-learn's
   lbfgs stops early on its relative-decrease test (|grad| ~1e-5 on three classes), hence the bound.
2. SGDClassifier(loss="log_loss") is a sanity check only (another algorithm): its accuracy on the training
   rows must be within 0.05 of ours and the two must agree on >= 90% of the predicted labels.
Exit status 0 on success, 1 with a message on failure.
"""
import sys
import warnings

import h5py
import numpy as np
import scipy.sparse as sps
from sklearn.linear_model import LogisticRegression, SGDClassifier


def grad_norm(X, y, W, b, l2):
    """Euclidean norm of the gradient of mean NLL + (l2/2)||W||^2 at (W, b)."""
    n, C = X.shape[0], W.shape[1]
    Z = X @ W + b
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    D = (P - np.eye(C)[y]) / n
    gW = X.T @ D + l2 * W
    gb = D.sum(axis=0)
    return float(np.sqrt((gW ** 2).sum() + (gb ** 2).sum()))


def main(path):
    with h5py.File(path, "r") as f:
        shape = tuple(int(v) for v in f["X"].attrs["shape"].split(","))
        X = sps.csr_matrix((f["X/data"][...].astype(np.float64), f["X/indices"][...], f["X/indptr"][...]),
                           shape=shape)
        y = f["y"][...]
        theta = f["theta"][...]
        sgd_probs = f["sgd_probs"][...]
        l2 = float(f.attrs["l2"])
        C = int(f.attrs["n_classes"])
        epochs = int(f.attrs["epochs"])
        lr = float(f.attrs["lr"])
    n, F = X.shape
    W = theta[: F * C].reshape(F, C)
    b = theta[F * C:]

    ok = True
    g_ours = grad_norm(X, y, W, b, l2)
    print(f"C={C}: splinter exact optimum: |grad| = {g_ours:.3g}")
    for solver in ("newton-cg", "lbfgs"):
        # newton-cg reaches |grad| ~1e-11 within a few dozen iterations and then stalls short of tol.
        lr_model = LogisticRegression(C=1.0 / (n * l2), multi_class="multinomial", solver=solver, tol=1e-12,
                                      max_iter=100 if solver == "newton-cg" else 10000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the iteration limit above
            lr_model.fit(X, y)
        if C == 2:
            w_sk = np.stack([-lr_model.coef_[0], lr_model.coef_[0]], axis=1)
            b_sk = np.array([-lr_model.intercept_[0], lr_model.intercept_[0]])
        else:
            w_sk = lr_model.coef_.T
            b_sk = lr_model.intercept_ - lr_model.intercept_.mean()
        g_sk = grad_norm(X, y, w_sk, b_sk, l2)
        tol = (g_ours + g_sk) / l2
        if solver == "newton-cg":
            tol = min(tol, 1e-4)
        dw = np.abs(W - w_sk).max()
        db = np.abs(b - b_sk).max()
        print(f"C={C}: {solver}: |grad| = {g_sk:.3g}, max |W - W_sklearn| = {dw:.3g}, max |b - b_sklearn| = "
              f"{db:.3g} (tolerance {tol:.3g}; max |W| = {np.abs(W).max():.3g})")
        ok = ok and dw < tol and db < tol

    # SGD sanity. Our softmax penalty (l2/2)(|w0|^2 + |w1|^2) equals the binary (alpha/2)|w|^2 of
    # SGDClassifier with w = w1 - w0 = 2 w1 when alpha = l2 / 2; for C > 2 it is one-vs-rest anyway.
    sgd = SGDClassifier(loss="log_loss", alpha=l2 / 2 if C == 2 else l2, learning_rate="constant", eta0=lr,
                        max_iter=epochs, tol=None, random_state=0)
    sgd.fit(X, y)
    ours = sgd_probs.argmax(axis=1)
    theirs = sgd.predict(X)
    acc_ours, acc_sk = (ours == y).mean(), (theirs == y).mean()
    agree = (ours == theirs).mean()
    acc_exact = ((X @ W + b).argmax(axis=1) == y).mean()
    print(f"C={C}: train accuracy splinter SGD {acc_ours:.3f}, sklearn SGDClassifier {acc_sk:.3f}, "
          f"exact {acc_exact:.3f}; label agreement {agree:.3f}")
    ok = ok and abs(acc_ours - acc_sk) <= 0.05 and agree >= 0.9
    if not ok:
        print("FAILED: parity with scikit-learn", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
