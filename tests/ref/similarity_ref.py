"""Independent numpy reference for linear CKA, debiased CKA, orthogonal Procrustes distance, SVCCA and PWCCA.

The C library works in feature space (one SYRK, no n x n matrices); this reference uses the textbook n x n
forms in float64 instead: HSIC with the centring matrix H (Kornblith et al. 2019), the unbiased HSIC with
zero-diagonal Gram matrices (Song et al. 2012; Nguyen, Raghu & Kornblith 2021) and the nuclear norm from
numpy's SVD (Ding, Denain & Steinhardt 2021). SVCCA/PWCCA use numpy's SVD of the n x p activations (the C
code uses the eigendecomposition of the p x p Gram) and project the centred units on explicit canonical
variates (the C code uses the closed form V S P).

Usage:
  similarity_ref.py write DIR          writes synthetic model files DIR/m0.h5 .. m3.h5 with h5py (and
                                       DIR/other-inputs.h5, whose /rows/test differ)
  similarity_ref.py compare DUMP MODEL.h5...
                                       recomputes every line of similarity_dump's output from the files and
                                       exits 1 if any value differs by more than 1e-5
"""
import sys

import h5py
import numpy as np

TOL = 1e-5
POOLINGS = ("cls", "mean")


def write(out_dir):
    rng = np.random.default_rng(20240611)
    sizes = {"test": 300, "ood-x": 200}
    latent = {s: rng.standard_normal((n, 6)) for s, n in sizes.items()}
    widths = {"emb": 16, "block0": 24, "block1": 24}
    for m in range(4):
        path = f"{out_dir}/m{m}.h5"
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "splinter-model"
            f.attrs["format_version"] = np.int64(1)
            for split, n in sizes.items():
                f[f"rows/{split}"] = np.arange(n, dtype=np.int64) + (0 if split == "test" else 1000)
                for layer, d in widths.items():
                    if m == 3 and layer == "block1":
                        d = 20  # models may differ in width
                    mix = rng.standard_normal((6, d)) * (1.0 + m)
                    for pooling in POOLINGS:
                        x = latent[split] @ mix + 0.7 * rng.standard_normal((n, d)) + rng.normal(0, 5, d)
                        if split.startswith("ood") and m % 2 == 1:
                            x[:, : d // 2] = rng.standard_normal((n, d // 2))  # splinter half the units
                        f[f"activations/{split}/{layer}_{pooling}"] = x.astype(np.float32)
            f.attrs["complete"] = np.int64(1)
    with h5py.File(f"{out_dir}/other-inputs.h5", "w") as f:
        f.attrs["format"] = "splinter-model"
        f.attrs["format_version"] = np.int64(1)
        f["rows/test"] = np.arange(300, dtype=np.int64)[::-1].copy()
        for layer, d in widths.items():
            for pooling in POOLINGS:
                f[f"activations/test/{layer}_{pooling}"] = rng.standard_normal((300, d)).astype(np.float32)
        f.attrs["complete"] = np.int64(1)


def centred_gram(x):
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return h @ (x @ x.T) @ h


def cka_linear(x, y):
    k, l = centred_gram(x), centred_gram(y)
    return np.sum(k * l) / np.sqrt(np.sum(k * k) * np.sum(l * l))


def hsic_unbiased(k, l):
    n = k.shape[0]
    k = k.copy()
    l = l.copy()
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(l, 0.0)
    one = np.ones(n)
    return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ k @ l @ one)) / (n * (n - 3))


def cka_debiased(x, y):
    k, l = x @ x.T, y @ y.T  # raw inputs: the unbiased estimator needs no centring
    return hsic_unbiased(k, l) / np.sqrt(hsic_unbiased(k, k) * hsic_unbiased(l, l))


def procrustes_d2(x, y):
    a = x - x.mean(0)
    b = y - y.mean(0)
    a /= np.linalg.norm(a)
    b /= np.linalg.norm(b)
    return 2.0 - 2.0 * np.linalg.svd(a.T @ b, compute_uv=False).sum()


def svd_side(z, keep):
    z = z - z.mean(0)
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    rank = int(np.sum(s > max(z.shape) * np.finfo(np.float32).eps * s[0]))
    s2 = s[:rank] ** 2
    k = rank if keep >= 1.0 else int(np.searchsorted(np.cumsum(s2), keep * s2.sum())) + 1
    return u[:, :k]


def svcca_pwcca(x, y, keep=0.99):
    ux, uy = svd_side(x, keep), svd_side(y, keep)
    p, rho, _ = np.linalg.svd(ux.T @ uy, full_matrices=False)
    rho = np.minimum(rho, 1.0)
    h = ux @ p[:, : len(rho)]  # canonical variates of x
    alpha = np.abs(h.T @ (x - x.mean(0))).sum(axis=1)
    return rho.mean(), float((alpha * rho).sum() / alpha.sum())


def compare(dump, models, pooling="cls"):
    files = [h5py.File(p, "r") for p in models]
    cache = {}

    def act(m, split, layer):
        key = (m, split, layer)
        if key not in cache:
            cache[key] = files[m][f"activations/{split}/{layer}_{pooling}"][...].astype(np.float64)
        return cache[key]

    worst, checked, bad = 0.0, 0, []
    for line in open(dump):
        f = line.split()
        if f[0] in ("pair", "single"):
            split, layer, a, b = f[1], f[2], int(f[3]), int(f[4])
            x, y = act(a, split, layer), act(b, split, layer)
            want = (cka_linear(x, y), cka_debiased(x, y), procrustes_d2(x, y))
            got = tuple(float(v) for v in f[5:8])
        elif f[0] in ("cca", "ccasingle"):
            split, layer, a, b = f[1], f[2], int(f[3]), int(f[4])
            want = svcca_pwcca(act(a, split, layer), act(b, split, layer))
            got = (float(f[5]), float(f[6]))
        elif f[0] == "cross":
            split, li, lj = f[1], f[2], f[3]
            want = (cka_linear(act(0, split, li), act(1, split, lj)),)
            got = (float(f[4]),)
        else:
            bad.append(f"unknown line: {line.strip()}")
            continue
        for w, g in zip(want, got):
            checked += 1
            worst = max(worst, abs(w - g))
            if not abs(w - g) <= TOL:
                bad.append(f"{line.strip()}: reference {w:.10f}, C {g:.10f}")
    if checked < 400:
        bad.append(f"only {checked} values were compared; the dump is incomplete")
    print(f"similarity_ref: {checked} values compared, max |C - numpy| = {worst:.3g} (tolerance {TOL})")
    for b in bad[:20]:
        print("MISMATCH", b)
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3:]))
    print(__doc__)
    sys.exit(2)
