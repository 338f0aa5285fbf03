"""Compares the model files of two run directories: the same file names, and in each file the same datasets
with bit-identical contents and the same attributes (except those naming when or where a file was made).

Usage: /usr/bin/python3 compare_runs.py RUN_A RUN_B   (exit 0 if identical, 1 with the differences)
"""
import os
import sys

import h5py
import numpy as np

# Attributes that may legitimately differ between two runs of the same models.
IGNORED_ATTRIBUTES = {"created", "run_dir"}


def collect(group, prefix=""):
    items = {}
    for key, obj in group.items():
        path = prefix + "/" + key
        if isinstance(obj, h5py.Group):
            items.update(collect(obj, path))
        else:
            items[path] = obj
    return items


def attrs_of(obj):
    return {k: v for k, v in obj.attrs.items() if k not in IGNORED_ATTRIBUTES}


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return a.shape == b.shape and np.array_equal(a, b)


def main(run_a, run_b):
    models_a = sorted(f for f in os.listdir(os.path.join(run_a, "models")) if f.endswith(".h5"))
    models_b = sorted(f for f in os.listdir(os.path.join(run_b, "models")) if f.endswith(".h5"))
    problems = []
    if models_a != models_b:
        problems.append("different model files: %s vs %s" % (models_a, models_b))
    leftovers = [f for d in (run_a, run_b) for f in os.listdir(os.path.join(d, "models")) if f.endswith(".tmp")]
    if leftovers:
        problems.append("temporary files left: %s" % leftovers)
    compared = 0
    for name in sorted(set(models_a) & set(models_b)):
        with h5py.File(os.path.join(run_a, "models", name), "r") as fa, \
                h5py.File(os.path.join(run_b, "models", name), "r") as fb:
            da, db = collect(fa), collect(fb)
            if sorted(da) != sorted(db):
                problems.append("%s: different datasets" % name)
                continue
            for path in sorted(da):
                if not same_value(da[path][()], db[path][()]):
                    problems.append("%s: %s differs" % (name, path))
                if attrs_of(da[path]).keys() != attrs_of(db[path]).keys() or not all(
                        same_value(attrs_of(da[path])[k], attrs_of(db[path])[k]) for k in attrs_of(da[path])):
                    problems.append("%s: attributes of %s differ" % (name, path))
                compared += 1
            ra, rb = attrs_of(fa), attrs_of(fb)
            for k in sorted(set(ra) | set(rb)):
                if k not in ra or k not in rb or not same_value(ra[k], rb[k]):
                    problems.append("%s: root attribute %s differs" % (name, k))
    if problems:
        print("compare_runs.py: " + "; ".join(problems[:20]), file=sys.stderr)
        return 1
    print("compare_runs.py: %d model files, %d datasets identical" % (len(models_a), compared))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
