/* nb_data.c: the notebook's Data section: every analysis/<table>.csv loaded with pandas (columns discovered from the
 * header, never assumed), what analysis.h5 holds, and every model's predictions stacked per split into
 * numpy arrays (M x n x C) with a short example of per-example and pairwise disagreement. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"

/* The Python that stacks predictions: P[split] is (M, n, C), models in MODELS order. */
static const char predictions_code[] =
    "# Predicted probabilities of every model, one array per split: P[split] has shape (M, n, C) with models\n"
    "# in MODELS order; ROWS[split] maps prediction rows to rows of RUN/dataset.h5.\n"
    "SPLIT_RANK = {\"train\": 0, \"val\": 1, \"test\": 2}  # then ood-<domain> splits by name\n"
    "MODELS, per_split, ROWS = [], {}, {}\n"
    "for path in sorted((RUN / \"models\").glob(\"*.h5\")):\n"
    "    try:\n"
    "        f = h5py.File(path, \"r\")\n"
    "    except OSError as e:\n"
    "        print(f\"{path.name}: skipped ({e})\")\n"
    "        continue\n"
    "    with f:\n"
    "        if f.attrs.get(\"format\") != \"splinter-model\" or f.attrs.get(\"complete\") != 1 or \"predictions\" not in f:\n"
    "            continue  # pretrained encoders and unfinished files\n"
    "        MODELS.append(path.stem)\n"
    "        for split, dataset in f[\"predictions\"].items():\n"
    "            per_split.setdefault(split, {})[path.stem] = dataset[...]\n"
    "            if split not in ROWS and \"rows\" in f and split in f[\"rows\"]:\n"
    "                ROWS[split] = f[\"rows\"][split][...]\n"
    "P = {}\n"
    "for split in sorted(per_split, key=lambda s: (SPLIT_RANK.get(s, 3), s)):\n"
    "    arrays = [per_split[split].get(m) for m in MODELS]\n"
    "    missing = [m for m, a in zip(MODELS, arrays) if a is None]\n"
    "    if missing:\n"
    "        print(f\"{split}: skipped (no predictions in {', '.join(missing)})\")\n"
    "        continue\n"
    "    if len({a.shape for a in arrays}) != 1:\n"
    "        print(f\"{split}: skipped (the models' predictions differ in shape)\")\n"
    "        continue\n"
    "    P[split] = np.stack(arrays)\n"
    "    M, n, C = P[split].shape\n"
    "    print(f\"{split}: {M} models x {n} examples x {C} classes\")\n";

static const char disagreement_code[] =
    "# Example: where do the models disagree? Per example, the share of models outvoted by the majority\n"
    "# (0 = unanimous); per pair of models, D(m, m') = fraction of examples predicted differently.\n"
    "DISAGREEMENT, PAIRWISE = {}, {}\n"
    "for split, p in P.items():\n"
    "    labels = p.argmax(axis=2)                                                  # (M, n)\n"
    "    votes = np.stack([(labels == c).sum(axis=0) for c in range(p.shape[2])])  # (C, n)\n"
    "    DISAGREEMENT[split] = 1 - votes.max(axis=0) / p.shape[0]                  # (n,)\n"
    "    PAIRWISE[split] = (labels[:, None, :] != labels[None, :, :]).mean(axis=2)  # (M, M)\n"
    "    pairs = PAIRWISE[split][np.triu_indices(len(p), 1)]\n"
    "    print(f\"{split}: {np.mean(DISAGREEMENT[split] > 0):.3f} of examples get conflicting predictions; \"\n"
    "          f\"mean pairwise disagreement {pairs.mean() if pairs.size else 0.0:.4f}\")\n";

static const char disputed_code[] =
    "# The most disputed examples of each split that records its dataset rows: text and label from\n"
    "# RUN/dataset.h5 (docs/datasets.md), largest DISAGREEMENT first.\n"
    "with h5py.File(RUN / \"dataset.h5\", \"r\") as f:\n"
    "    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in f.attrs.get(\"class_names\", [])]\n"
    "    for split, d in DISAGREEMENT.items():\n"
    "        if split not in ROWS or \"text\" not in f or \"label\" not in f:\n"
    "            continue\n"
    "        for i in np.argsort(-d, kind=\"stable\")[:3]:\n"
    "            row = int(ROWS[split][i])\n"
    "            text, label = f[\"text\"][row], int(f[\"label\"][row])\n"
    "            text = text.decode(\"utf-8\", \"replace\") if isinstance(text, bytes) else str(text)\n"
    "            name = classes[label] if label < len(classes) else label\n"
    "            print(f\"{split} row {row}: label {name}, disagreement {d[i]:.2f}: {text[:100]!r}\")\n";

/* A Python identifier "df_<name>" for a CSV file stem, unique among the names already given. */
static void table_variable(char *out, size_t cap, const char *file, char names[][80], size_t n_names)
{
    char base[64];
    size_t k = 0;
    for (const char *p = file; *p && *p != '.' && k + 1 < sizeof base; p++)
        base[k++] = isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80) ? (char)tolower((unsigned char)*p) : '_';
    base[k] = '\0';
    snprintf(out, cap, "df_%s", base);
    for (int suffix = 2;; suffix++) {
        int taken = 0;
        for (size_t i = 0; i < n_names && !taken; i++) taken = strcmp(names[i], out) == 0;
        if (!taken) return;
        snprintf(out, cap, "df_%s_%d", base, suffix);
    }
}

sp_status nb_add_data(nb_builder *nb)
{
    char dir[PATH_MAX], path[PATH_MAX];
    char **csvs = NULL;
    size_t n_csvs = 0;
    char (*names)[80] = NULL;
    nb_buf md, code;
    nb_buf_init(&md);
    nb_buf_init(&code);
    sp_status st;
    if ((st = nb_path(dir, "%s/analysis", nb->run_abs)) != SP_OK || (st = nb_list_dir(dir, ".csv", &csvs, &n_csvs)) != SP_OK)
        goto done;
    if (n_csvs && !(names = calloc(n_csvs, sizeof *names))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }
    nb_buf_puts(&md, "## Data\n\nThe numbers behind the report, loaded from `RUN`: the analysis tables with pandas, "
                     "the models' predictions with h5py.");
    if (n_csvs == 0) nb_buf_puts(&md, " This run has no `analysis/<table>.csv` tables.");
    nb_buf_puts(&md, "\n");
    nb_add_markdown(nb, nb_buf_str(&md), NULL);

    for (size_t i = 0; i < n_csvs; i++) {
        if ((st = nb_path(path, "%s/%s", dir, csvs[i])) != SP_OK) goto done;
        nb_csv_shape shape;
        md.len = 0;
        nb_buf_puts(&md, "### ");
        nb_buf_md_code(&md, csvs[i]);
        nb_buf_puts(&md, "\n\n");
        if (nb_csv_scan(path, &shape) != SP_OK) {
            /* Keep the rest of the notebook: say what is wrong instead of a cell that cannot run. */
            nb_buf_puts(&md, "Not loaded: ");
            nb_buf_md_cell(&md, sp_error_message());
            nb_buf_puts(&md, "\n");
            nb_add_markdown(nb, nb_buf_str(&md), NULL);
            continue;
        }
        nb_buf_printf(&md, "%zu row%s; columns: ", shape.n_rows, shape.n_rows == 1 ? "" : "s");
        for (size_t c = 0; c < shape.n_columns; c++) {
            if (c) nb_buf_puts(&md, ", ");
            nb_buf_md_code(&md, shape.columns[c]);
        }
        nb_buf_puts(&md, ".\n");
        nb_csv_shape_free(&shape);
        nb_add_markdown(nb, nb_buf_str(&md), NULL);

        table_variable(names[i], sizeof names[i], csvs[i], names, i);
        code.len = 0;
        nb_buf_printf(&code, "%s = pd.read_csv(RUN / \"analysis\" / ", names[i]);
        nb_buf_py_string(&code, csvs[i]);
        nb_buf_printf(&code, ")\n%s.head()\n", names[i]);
        nb_add_code(nb, nb_buf_str(&code), NULL);
        nb->summary.n_tables++;
    }

    if ((st = nb_path(path, "%s/analysis.h5", dir)) != SP_OK) goto done;
    if (nb_is_file(path)) {
        nb_add_markdown(nb, "### `analysis.h5`\n\nEvery data set in the analysis file, with its shape and type "
                            "(layout: docs/metrics.md).", NULL);
        nb_add_code(nb, "with h5py.File(RUN / \"analysis\" / \"analysis.h5\", \"r\") as f:\n"
                        "    f.visititems(lambda name, obj: print(f\"{name}: {obj.shape} {obj.dtype}\")\n"
                        "                 if isinstance(obj, h5py.Dataset) else None)\n",
                    NULL);
    }

    md.len = 0;
    nb_buf_puts(&md, "### Predictions\n\n");
    if (nb->summary.n_models == 0) {
        nb_buf_puts(&md, "This run has no complete model files in `models/`.\n");
        nb_add_markdown(nb, nb_buf_str(&md), NULL);
    } else {
        nb_buf_printf(&md, "The predicted class probabilities of the %zu model%s, stacked per split. Each model file "
                           "also holds pooled activations (`activations/<split>/<layer>_<pooling>`, n x d), training "
                           "curves (`curves/<name>`) and weights (`weights/<name>`); docs/store.md has the layout.\n",
                      nb->summary.n_models, nb->summary.n_models == 1 ? "" : "s");
        nb_add_markdown(nb, nb_buf_str(&md), NULL);
        nb_add_code(nb, predictions_code, NULL);
        nb_add_code(nb, disagreement_code, NULL);
        if ((st = nb_path(path, "%s/dataset.h5", nb->run_abs)) != SP_OK) goto done;
        if (nb_is_file(path)) nb_add_code(nb, disputed_code, NULL);
    }
    if (md.oom || code.oom) st = sp_fail(SP_ERR_NOMEM, "out of memory building the data section");
done:
    sp_strlist_free(csvs, n_csvs);
    free(names);
    nb_buf_free(&md);
    nb_buf_free(&code);
    return st;
}
