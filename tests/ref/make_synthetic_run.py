#!/usr/bin/python3
"""Writes a small synthetic run directory with h5py (independently of the C store writer): dataset.h5 and
two variants of two-class models with val, test and ood-late predictions, in the layout of docs/store.md.

usage: make_synthetic_run.py RUN [--models-per-variant K] [--only-one-model]
"""
import argparse
import os

import h5py
import numpy as np

HASH = "ab" * 32


def stamp(f, fmt):
    f.attrs["format"] = fmt
    f.attrs["format_version"] = np.int64(1)
    f.attrs["program_version"] = "test"
    f.attrs["blas_config"] = "none"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--models-per-variant", type=int, default=4)
    ap.add_argument("--only-one-model", action="store_true")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.run, "models"), exist_ok=True)
    rng = np.random.default_rng(3)
    N = 150
    labels = rng.integers(0, 2, N).astype(np.int32)
    with h5py.File(os.path.join(args.run, "dataset.h5"), "w") as f:
        stamp(f, "splinter-dataset")
        f.attrs["content_hash"] = HASH
        f["label"] = labels
        f.create_dataset("text", data=[f"email number {i}: win a prize, now" for i in range(N)],
                         dtype=h5py.string_dtype())
        f.create_dataset("source_id", data=[f"spam-{i}" for i in range(N)], dtype=h5py.string_dtype())
        f.attrs["complete"] = np.int64(1)
    splits = {"val": range(0, 50), "test": range(50, 100), "ood-late": range(100, 150)}
    k = 0
    for variant in ["finetune", "joint"]:
        for j in range(args.models_per_variant):
            if args.only_one_model and k > 0:
                return
            name = f"{variant}-{j}"
            with h5py.File(os.path.join(args.run, "models", name + ".h5"), "w") as f:
                stamp(f, "splinter-model")
                for key, val in [("family", "encoder"), ("variant", variant), ("name", name), ("data_hash", HASH)]:
                    f.attrs[key] = val
                f.attrs["n_classes"] = np.int64(2)
                f.attrs["seed_pretrain"] = np.uint64(j // 2 if variant == "finetune" else 100 + j)
                for s, rows in splits.items():
                    rows = np.array(rows, dtype=np.int64)
                    signal = np.where(labels[rows] == 1, 1.0, -1.0)
                    p1 = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.5 if s == "ood-late" else 0.7, len(rows)))))
                    probs = np.stack([1 - p1, p1], axis=1).astype(np.float32)
                    d = f.create_dataset(f"predictions/{s}", data=probs)
                    d.attrs["accuracy"] = float(np.mean((p1 > 0.5) == (labels[rows] == 1)))
                    d.attrs["loss"] = float(np.mean(-np.log(np.where(labels[rows] == 1, p1, 1 - p1))))
                    f[f"rows/{s}"] = rows
                f.attrs["complete"] = np.int64(1)
            k += 1


if __name__ == "__main__":
    main()
