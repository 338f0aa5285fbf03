"""Reads the file written by tests/test_store.c with h5py and checks every value the C code wrote.

Usage: /usr/bin/python3 read_store.py FILE   (exit 0 on match, 1 with a message on any mismatch)
"""
import sys

import h5py
import numpy as np


def main(path):
    problems = []

    def check(cond, what):
        if not cond:
            problems.append(what)

    with h5py.File(path, "r") as f:
        check(f.attrs["format"] == "splinter-test", "format attribute")
        check(int(f.attrs["complete"]) == 1, "complete attribute")
        check(int(f.attrs["format_version"]) == 1, "format_version")
        check(len(f.attrs["blas_config"]) > 0, "blas_config")
        check(f.attrs["name"] == "caf\u00e9 model", "utf-8 string attribute")
        check(int(f.attrs["count"]) == -7, "i64 attribute")
        check(int(f.attrs["seed_init"]) == 18446744073709551615, "u64 attribute")
        check(float(f.attrs["lr"]) == 0.125, "f64 attribute")
        p = f["predictions/test"][...]
        check(p.dtype == np.float32 and p.shape == (3, 2), "predictions dtype/shape")
        check(np.array_equal(p, np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]], np.float32)), "predictions values")
        check(float(f["predictions/test"].attrs["accuracy"]) == 0.5, "dataset attribute")
        a = f["activations/test/block0_cls"]
        check(a.compression == "gzip" and a.shuffle, "activations compressed with shuffle+deflate")
        check(np.array_equal(a[...], np.arange(3 * 70000, dtype=np.float32).reshape(3, 70000) / 7), "activation values")
        check(np.array_equal(f["rows/test"][...], np.array([5, 9, 2**40], np.int64)), "i64 dataset")
        check(np.array_equal(f["weights/i32"][...], np.array([-1, 0, 2147483647], np.int32)), "i32 dataset")
        check(np.array_equal(f["weights/u8"][...], np.array([0, 255], np.uint8)), "u8 dataset")
        check(np.array_equal(f["curves/loss"][...], np.array([2.5, 1e-300], np.float64)), "f64 dataset")
        s = [x.decode("utf-8") if isinstance(x, bytes) else x for x in f["text"][...]]
        check(s == ["hello", "", "\u00fcber \u2603"], "string dataset %r" % (s,))
    if problems:
        print("read_store.py: mismatch in " + ", ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
