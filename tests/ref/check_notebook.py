"""check_notebook.py NOTEBOOK EXPECTED_JSON RUN: checks a notebook written by `splinter export-notebook`.

1. nbformat validates it (nbformat 4.5 schema, ids included);
2. every redraw cell's stored output is byte-for-byte RUN/report/<stem>.png;
3. its code cells, run in order in this process, parse from the .dat files exactly the numbers the C test
   wrote (EXPECTED_JSON), load the CSV tables with the columns and row counts expected, stack the models'
   predictions into (M, n, C) arrays equal to what was stored, and compute the hand-computed disagreements;
4. Jupyter (nbconvert + the python3 ipykernel) executes it without error from an unrelated directory, and the
   executed notebook holds a freshly drawn PNG for every redraw cell.
Exits non-zero with a message on the first failure.
"""
import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np


def fail(message):
    print(f"check_notebook: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def redraw_stems(nb):
    """(cell index, stem) of every cell that calls redraw_figure."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            m = re.search(r'^redraw_figure\("([^"]+)"\);$', cell.source, re.M)
            if m:
                found.append((i, m.group(1)))
    return found


def check_schema_and_outputs(path, run):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)  # raises ValidationError on any schema violation
    check((nb.nbformat, nb.nbformat_minor) == (4, 5), f"nbformat {nb.nbformat}.{nb.nbformat_minor}, want 4.5")
    ids = [c.id for c in nb.cells]
    check(len(set(ids)) == len(ids), "cell ids are not unique")
    check(nb.metadata.kernelspec.name == "python3", "kernelspec is not python3")
    stems = redraw_stems(nb)
    check(len(stems) > 0, "no redraw cells")
    for i, stem in stems:
        outputs = nb.cells[i].outputs
        check(len(outputs) == 1 and "image/png" in outputs[0].data, f"cell {i} ({stem}) has no stored PNG")
        with open(os.path.join(run, "report", stem + ".png"), "rb") as f:
            png = f.read()
        check(base64.b64decode(outputs[0].data["image/png"]) == png, f"cell {i}: stored PNG is not {stem}.png")
    return nb, stems


def run_cells_in_process(nb):
    """Executes the notebook's code cells in order in one namespace, as a kernel would."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = {"__name__": "__notebook__"}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(cell.source, f"<cell {i}>", "exec"), ns)
        except Exception as e:  # report the cell, then fail
            fail(f"cell {i} raised {type(e).__name__}: {e}\n{cell.source}\n{printed.getvalue()}")
        plt.close("all")
    return ns


def check_numbers(ns, expected):
    figures = ns["FIGURES"]
    for stem, want in expected["figures"].items():
        check(stem in figures, f"figure {stem} was not redrawn")
        got = figures[stem]
        check(got["log_x"] == (stem == "rashomon"), f"{stem}: log_x {got['log_x']} (only rashomon is log x)")
        for key in ("kind", "title", "xlabel"):
            check(got[key] == want[key], f"{stem}: {key} {got[key]!r}, want {want[key]!r}")
        want_tics = [tuple(t) for t in want["xtics"]] if "xtics" in want else None
        check(got["xtics"] == want_tics, f"{stem}: xtics {got['xtics']!r}, want {want_tics!r}")
        check(len(got["blocks"]) == len(want["blocks"]),
              f"{stem}: {len(got['blocks'])} blocks, want {len(want['blocks'])}")
        for k, (g, w) in enumerate(zip(got["blocks"], want["blocks"])):
            check(g["name"] == w["name"], f"{stem} block {k}: name {g['name']!r}, want {w['name']!r}")
            wd = np.array(w["data"], dtype=float)
            check(g["data"].shape == wd.shape, f"{stem} block {k}: shape {g['data'].shape}, want {wd.shape}")
            # plot.c writes %.9g: 9 significant digits.
            check(np.allclose(g["data"], wd, rtol=1e-8, atol=1e-12),
                  f"{stem} block {k}: {g['data'].tolist()} != {wd.tolist()}")

    for name, want in expected["tables"].items():
        var = "df_" + name.split(".")[0]
        df = ns[var]
        check(list(df.columns) == want["columns"], f"{name}: columns {list(df.columns)}, want {want['columns']}")
        check(len(df) == want["rows"], f"{name}: {len(df)} rows, want {want['rows']}")

    check(ns["MODELS"] == expected["models"], f"models {ns['MODELS']}, want {expected['models']}")
    check(list(ns["P"]) == ["test", "ood-later"], f"splits {list(ns['P'])}, want test then ood-later")
    for split, want in expected["predictions"].items():
        p = ns["P"][split]
        w = np.array(want, dtype=np.float32)
        check(p.dtype == np.float32 and p.shape == w.shape, f"P[{split}] is {p.dtype} {p.shape}, want {w.shape}")
        check(np.array_equal(p, w), f"P[{split}] differs from the stored predictions")
    for split, want in expected["disagreement"].items():
        check(np.allclose(ns["DISAGREEMENT"][split], want, atol=1e-12),
              f"DISAGREEMENT[{split}] = {ns['DISAGREEMENT'][split]}, want {want}")
        check(np.allclose(ns["PAIRWISE"][split], expected["pairwise"][split], atol=1e-12),
              f"PAIRWISE[{split}] = {ns['PAIRWISE'][split]}, want {expected['pairwise'][split]}")
    check(np.array_equal(ns["ROWS"]["test"], [10, 11, 12, 13]), f"ROWS[test] = {ns['ROWS'].get('test')}")


def ensure_python3_kernel(scratch, env):
    """Debian's python3-ipykernel ships the "python3" kernel spec; where it is missing, install one into the
    scratch directory (no user or system files touched) and point Jupyter at it."""
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" in KernelSpecManager().find_kernel_specs():
        return
    prefix = os.path.join(scratch, "kernels")
    done = subprocess.run(["/usr/bin/python3", "-m", "ipykernel", "install", "--prefix", prefix, "--name", "python3"],
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        fail(f"no python3 kernel and ipykernel could not install one:\n{done.stderr[-2000:]}")
    env["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")


def check_jupyter_executes(path, stems):
    """nbconvert --execute in a scratch directory (so nothing resolves relative to the run)."""
    import nbformat

    scratch = tempfile.mkdtemp(prefix="splinter-nb-")
    try:
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=os.path.join(scratch, "runtime"),
                   MPLCONFIGDIR=os.path.join(scratch, "mpl"), IPYTHONDIR=os.path.join(scratch, "ipython"),
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("MPLBACKEND", None)  # the kernel's own inline backend must draw the figures
        ensure_python3_kernel(scratch, env)
        copy = os.path.join(scratch, "copy.ipynb")
        shutil.copyfile(path, copy)
        done = subprocess.run(["/usr/bin/python3", "-m", "nbconvert", "--to", "notebook", "--execute",
                               "--ExecutePreprocessor.timeout=120", "--ExecutePreprocessor.kernel_name=python3",
                               "--output", "executed.ipynb", copy],
                              cwd=scratch, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            fail(f"nbconvert --execute failed ({done.returncode}):\n{done.stderr[-3000:]}")
        nb = nbformat.read(os.path.join(scratch, "executed.ipynb"), as_version=4)
        for i, stem in stems:
            outs = nb.cells[i].outputs
            check(any(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outs),
                  f"executed cell {i} ({stem}) did not draw a PNG")
            check(not any(o.output_type == "error" for o in outs), f"executed cell {i} ({stem}) raised")
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        check("test: 3 models x 4 examples x 2 classes" in text, "predictions cell did not report test: 3 x 4 x 2")
        # Test rows 10..13 disagree 0, 1/3, 1/3, 0: row 11 comes first, its text read from dataset.h5.
        check("test row 11: label spam, disagreement 0.33: 'caf\u00e9 11'" in text,
              f"disputed-examples cell did not show row 11 first:\n{text}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    if len(sys.argv) != 4:
        fail("usage: check_notebook.py NOTEBOOK EXPECTED_JSON RUN")
    path, expected_path, run = sys.argv[1:]
    with open(expected_path) as f:
        expected = json.load(f)
    nb, stems = check_schema_and_outputs(path, run)
    check(sorted(s for _, s in stems) == sorted(expected["figures"]),
          f"redraw cells for {sorted(s for _, s in stems)}, want {sorted(expected['figures'])}")
    check_numbers(run_cells_in_process(nb), expected)
    check_jupyter_executes(path, stems)
    print(f"check_notebook: ok ({len(nb.cells)} cells, {len(stems)} figures redrawn and executed)")


if __name__ == "__main__":
    main()
