#!/usr/bin/env python3
"""Reference for analysis/cca_map.c in float64 numpy: the ridge-regularised CCA map fitted on one pair of
matrices and scored on another. Input file (whitespace-separated numbers):
    n_fit n_score p q k ridge
    A_fit (n_fit x p), B_fit (n_fit x q), A_score (n_score x p), B_score (n_score x q), row-major
Prints k fitted canonical correlations, then k scored correlations, then their mean, one per line."""
import sys

import numpy as np


def whitener(X, ridge):
    Xc = X - X.mean(axis=0)
    S = Xc.T @ Xc / (X.shape[0] - 1)
    S = S + ridge * np.trace(S) / S.shape[0] * np.eye(S.shape[0])
    lam, E = np.linalg.eigh(S)
    return E @ np.diag(lam ** -0.5) @ E.T


def main():
    v = np.array(open(sys.argv[1]).read().split(), dtype=float)
    nf, ns, p, q, k = (int(x) for x in v[:5])
    ridge = v[5]
    off = 6
    def take(r, c):
        nonlocal off
        m = v[off:off + r * c].reshape(r, c)
        off += r * c
        return m
    Af, Bf, As, Bs = take(nf, p), take(nf, q), take(ns, p), take(ns, q)
    Wa, Wb = whitener(Af, ridge), whitener(Bf, ridge)
    Ac, Bc = Af - Af.mean(axis=0), Bf - Bf.mean(axis=0)
    M = Wa @ (Ac.T @ Bc / (nf - 1)) @ Wb
    P, s, Qt = np.linalg.svd(M)
    Ua, Ub = Wa @ P[:, :k], Wb @ Qt.T[:, :k]
    X, Y = As @ Ua, Bs @ Ub
    rho = [np.corrcoef(X[:, i], Y[:, i])[0, 1] for i in range(k)]
    for x in list(s[:k]) + rho + [np.mean(rho)]:
        print("%.17g" % x)


if __name__ == "__main__":
    main()
