/* test_notebook.c: the notebook exporter on a synthetic run directory (figures from analysis/plot.c, model and
 * dataset files from core/store.c, CSV tables, report.md). Asserts: re-export is byte-identical; every cell has
 * a unique nbformat 4.5 id; the report's sections and figures land in the right cells, each redraw cell's
 * stored output being splinter's own PNG; fenced code is left alone; missing and non-plot images are handled;
 * a run without report.md still exports its figures; bad runs and unwritable outputs fail cleanly with nothing
 * left behind; and (tests/ref/check_notebook.py) nbformat validates it, Jupyter executes it from another
 * directory, and the numbers the notebook parses equal the numbers written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "nb_internal.h"
#include "notebook.h"
#include "plot.h"
#include "store.h"

#define DIR "notebook-test"
#define RUN DIR "/run"

/* ---------------------------------------------------------------- fixture */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    char *data;
    size_t n;
    assert_int_equal(sp_read_file(from, &data, &n), SP_OK);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(data);
}

/* Predicted classes of the 3 models: test split (4 examples) and ood-later (3 examples). */
static const int test_labels[3][4] = {{0, 1, 0, 1}, {0, 1, 1, 1}, {0, 0, 1, 1}};
static const int ood_labels[3][3] = {{1, 1, 1}, {1, 0, 1}, {0, 0, 1}};

/* Probabilities with the given argmax, distinct per model and example so stacking order is checked. */
static void make_probs(float *p, const int *labels, size_t n, int model)
{
    for (size_t i = 0; i < n; i++) {
        float hi = 0.9f - 0.1f * (float)model - 0.01f * (float)i;
        p[2 * i + labels[i]] = hi;
        p[2 * i + 1 - labels[i]] = 1.0f - hi;
    }
}

/* content_hash of the test's dataset.h5, recorded as every model's data_hash. */
static char toy_hash[65];

static void write_model(int m, json_t *expected_preds)
{
    char path[256], name[32];
    snprintf(name, sizeof name, "linear-s%d", m);
    snprintf(path, sizeof path, RUN "/models/%s.h5", name);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-model", &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "family", "linear"), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "variant", m < 2 ? "sgd" : "exact"), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "name", name), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "spec_json", m < 2 ? "{\"lr\": 0.05, \"bits\": 12}" : "{\"l2\": 0.001}"),
                     SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "data_hash", toy_hash), SP_OK);
    assert_int_equal(sp_store_attr_u64(w, "/", "seed_init", 100 + (uint64_t)m), SP_OK);
    assert_int_equal(sp_store_attr_u64(w, "/", "seed_order", 200 + (uint64_t)m), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "n_classes", 2), SP_OK);
    float test[8], ood[6];
    make_probs(test, test_labels[m], 4, m);
    make_probs(ood, ood_labels[m], 3, m);
    hsize_t dt[2] = {4, 2}, dood[2] = {3, 2}, drows[1] = {4};
    int64_t rows[4] = {10, 11, 12, 13};
    assert_int_equal(sp_store_write_f32(w, "/predictions/test", 2, dt, test, 0), SP_OK);
    assert_int_equal(sp_store_write_f32(w, "/predictions/ood-later", 2, dood, ood, 0), SP_OK);
    assert_int_equal(sp_store_write_i64(w, "/rows/test", 1, drows, rows, 0), SP_OK);
    assert_int_equal(sp_store_commit(w), SP_OK);
    /* Expected stacking: expected_preds[split][m] = n x C. */
    const char *splits[2] = {"test", "ood-later"};
    const float *data[2] = {test, ood};
    size_t ns[2] = {4, 3};
    for (int s = 0; s < 2; s++) {
        json_t *rowsj = json_array();
        for (size_t i = 0; i < ns[s]; i++)
            json_array_append_new(rowsj, json_pack("[f, f]", (double)data[s][2 * i], (double)data[s][2 * i + 1]));
        json_array_append_new(json_object_get(expected_preds, splits[s]), rowsj);
    }
}

/* A figure's expected blocks as JSON: [{"name":..., "data": [[...], ...]}, ...]. */
static json_t *block(const char *name, size_t rows, size_t cols, const double *values)
{
    json_t *data = json_array();
    for (size_t i = 0; i < rows; i++) {
        json_t *row = json_array();
        for (size_t j = 0; j < cols; j++) json_array_append_new(row, json_real(values[i * cols + j]));
        json_array_append_new(data, row);
    }
    return json_pack("{s:s, s:o}", "name", name, "data", data);
}

static void write_figures(json_t *expected)
{
    /* Scatter: the NaN point is dropped by plot.c, so the notebook must see two rows. */
    double fx[3] = {0.91, 0.92, 0.93}, fy[3] = {0.71, NAN, 0.65}, jx[1] = {0.9}, jy[1] = {0.8};
    sp_plot_series s2[2] = {{.name = "finetune", .n = 3, .x = fx, .y = fy}, {.name = "joint", .n = 1, .x = jx, .y = jy}};
    sp_plot_axes ax = sp_plot_axes_default("ID vs OOD accuracy", "ID test accuracy", "OOD accuracy");
    assert_int_equal(sp_plot_xy(RUN "/report/id_vs_ood", &ax, SP_PLOT_POINTS, 2, s2), SP_OK);
    double e0[4] = {0.91, 0.71, 0.93, 0.65}, e1[2] = {0.9, 0.8};
    json_object_set_new(expected, "id_vs_ood",
                        json_pack("{s:s, s:s, s:s, s:[o, o]}", "kind", "xy", "title", "ID vs OOD accuracy", "xlabel",
                                  "ID test accuracy", "blocks", block("finetune", 2, 2, e0), block("joint", 1, 2, e1)));

    double x[4] = {0.001, 0.01, 0.1, 1}, y[4] = {1, 3, 9, 20}, lo[4] = {1, 2, 7, 18}, hi[4] = {1, 4, 11, 22};
    sp_plot_series band = {.name = "joint", .n = 4, .x = x, .y = y, .y_lo = lo, .y_hi = hi};
    sp_plot_axes ax2 = sp_plot_axes_default("Rashomon set size", "epsilon", "models");
    ax2.log_x = 1;
    assert_int_equal(sp_plot_xy(RUN "/report/rashomon", &ax2, SP_PLOT_LINES, 1, &band), SP_OK);
    double e2[16] = {0.001, 1, 1, 1, 0.01, 3, 2, 4, 0.1, 9, 7, 11, 1, 20, 18, 22};
    json_object_set_new(expected, "rashomon",
                        json_pack("{s:s, s:s, s:s, s:[o]}", "kind", "xy", "title", "Rashomon set size", "xlabel",
                                  "epsilon", "blocks", block("joint", 4, 4, e2)));

    /* Histogram on [0,1] with 2 bins (centres 0.25, 0.75): ID -> 1/2, 1/2; OOD -> 0, 1. */
    double id[4] = {0.1, 0.2, 0.7, 0.9}, ood[3] = {0.6, 0.8, 0.95};
    const double *sets[2] = {id, ood};
    size_t counts[2] = {4, 3};
    const char *names[2] = {"ID test", "OOD later"};
    sp_plot_axes ax3 = sp_plot_axes_default("Prediction range", "width", "fraction");
    assert_int_equal(sp_plot_histograms(RUN "/report/range_hist", &ax3, 2, names, sets, counts, 2, 0.0, 1.0), SP_OK);
    double h0[4] = {0.25, 0.5, 0.75, 0.5}, h1[4] = {0.25, 0, 0.75, 1};
    json_object_set_new(expected, "range_hist",
                        json_pack("{s:s, s:s, s:s, s:[o, o]}", "kind", "histogram", "title", "Prediction range",
                                  "xlabel", "width", "blocks", block("ID test", 2, 2, h0), block("OOD later", 2, 2, h1)));

    double m0[4] = {0, 0.25, 0.25, 0}, m1[4] = {0, 0.5, 0.5, 0};
    const double *mats[2] = {m0, m1};
    const char *titles[2] = {"ID test", "OOD later"};
    assert_int_equal(sp_plot_heatmaps(RUN "/report/pairwise", "Pairwise disagreement", "D", 2, titles, mats, 2, 0, 1),
                     SP_OK);
    json_object_set_new(expected, "pairwise",
                        json_pack("{s:s, s:s, s:s, s:[o, o]}", "kind", "heatmap", "title", "Pairwise disagreement",
                                  "xlabel", "model", "blocks", block("ID test", 2, 2, m0), block("OOD later", 2, 2, m1)));

    /* Not referenced by report.md: must appear under "Other figures". */
    double bx[2] = {1, 2}, by[2] = {0.5, 0.6}, blo[2] = {0.4, 0.5}, bhi[2] = {0.6, 0.7};
    sp_plot_series bars = {.name = "probe", .n = 2, .x = bx, .y = by, .y_lo = blo, .y_hi = bhi};
    sp_plot_axes ax4 = sp_plot_axes_default("Spread", "layer", "CKA");
    static const char *const layers[3] = {"input", "emb", "block \"0\""}; /* named category tics */
    ax4.x_labels = layers;
    ax4.n_x_labels = 3;
    assert_int_equal(sp_plot_xy(RUN "/report/spread", &ax4, SP_PLOT_ERRORBARS, 1, &bars), SP_OK);
    double b0[8] = {1, 0.5, 0.4, 0.6, 2, 0.6, 0.5, 0.7};
    json_object_set_new(expected, "spread",
                        json_pack("{s:s, s:s, s:s, s:[o], s:[[f,s],[f,s],[f,s]]}", "kind", "xy", "title", "Spread",
                                  "xlabel", "layer", "blocks", block("probe", 2, 4, b0), "xtics", 0.0, "input", 1.0,
                                  "emb", 2.0, "block \"0\""));
}

/* 17 records: 10 train and 4 test (rows 10-13) of domain "early", 3 OOD of domain "later". */
static int write_dataset(void)
{
    sp_dataset *ds = sp_dataset_alloc(17);
    if (!ds) return -1;
    for (size_t i = 0; i < ds->n; i++) {
        char text[64], id[32];
        snprintf(text, sizeof text, i == 11 ? "caf\xc3\xa9 %zu" : "message %zu", i);
        snprintf(id, sizeof id, "m%zu", i);
        ds->text[i] = strdup(text);
        ds->source_id[i] = strdup(id);
        ds->label[i] = (int32_t)(i % 2);
        ds->domain[i] = i < 14 ? 0 : 1;
        ds->split[i] = i < 10 ? SP_SPLIT_TRAIN : i < 14 ? SP_SPLIT_TEST : SP_SPLIT_OOD;
    }
    ds->n_classes = 2;
    ds->class_names = calloc(2, sizeof *ds->class_names);
    ds->n_domains = 2;
    ds->domain_names = calloc(2, sizeof *ds->domain_names);
    ds->domain_is_ood = calloc(2, 1);
    if (!ds->class_names || !ds->domain_names || !ds->domain_is_ood) return -1;
    ds->class_names[0] = strdup("ham");
    ds->class_names[1] = strdup("spam");
    ds->domain_names[0] = strdup("early");
    ds->domain_names[1] = strdup("later");
    ds->domain_is_ood[1] = 1;
    snprintf(ds->name, sizeof ds->name, "toy");
    ds->data_seed = 7;
    ds->provenance_json = strdup("{}");
    int rc = sp_dataset_hash(ds) == SP_OK && sp_dataset_save(ds, RUN "/dataset.h5") == SP_OK ? 0 : -1;
    if (rc == 0) snprintf(toy_hash, sizeof toy_hash, "%s", ds->content_hash);
    sp_dataset_free(ds);
    return rc;
}

static const char report_md[] =
    "# Report: toy\n\nIntroduction with a [link](https://example.org).\n\n"
    "## Accuracy\n\nBefore the figure. ![ID vs OOD accuracy](id_vs_ood.png) After the figure.\n\n"
    "```text\n## not a heading\n![not a figure](rashomon.png)\n```\n\n"
    "## Rashomon set\n\n![Rashomon set size](./rashomon.svg \"title\")\n\n"
    "## Ranges and pairs\n\n![Ranges](range_hist.png)\n![Pairs](pairwise.png)\n\n"
    "## Other images\n\nA logo: ![logo](logo.png). A lost one: ![lost](lost.png).\n";

static int setup_run(void **state)
{
    (void)state;
    if (system("rm -rf " DIR) != 0) return -1;
    const char *dirs[5] = {DIR, RUN, RUN "/models", RUN "/analysis", RUN "/report"};
    for (int i = 0; i < 5; i++)
        if (mkdir(dirs[i], 0755) != 0) return -1;
    json_t *expected = json_object(), *figures = json_object(), *preds = json_pack("{s:[], s:[]}", "test", "ood-later");
    json_object_set_new(expected, "figures", figures);
    json_object_set_new(expected, "predictions", preds);

    if (write_dataset() != 0) return -1;
    sp_store_writer *w;
    for (int m = 0; m < 3; m++) write_model(m, preds);
    /* A pretrained encoder is not a model to compare: the notebook must skip it. */
    if (sp_store_create(RUN "/models/pretrain-0.h5", "splinter-encoder", &w) != SP_OK) return -1;
    if (sp_store_commit(w) != SP_OK) return -1;
    /* A broken model file is listed as skipped, and the notebook's own loader must step over it. */
    write_text(RUN "/models/broken.h5", "not an HDF5 file\n");
    if (sp_store_create(RUN "/analysis/analysis.h5", "splinter-analysis", &w) != SP_OK) return -1;
    double amb[2] = {0.25, 0.5};
    hsize_t d[1] = {2};
    sp_store_write_f64(w, "/multiplicity/ambiguity", 1, d, amb, 0);
    if (sp_store_commit(w) != SP_OK) return -1;

    write_text(RUN "/run.yaml", "name: toy-sweep   # a comment\nlinear:\n  seeds: {first: 0, count: 3}\n");
    /* A quoted header with a comma and a quoted field with a line break: 2 records, 3 columns. */
    write_text(RUN "/analysis/multiplicity.csv",
               "variant,split,\"ambiguity, eps=0.01\"\nsgd,test,0.25\n\"exact\nvariant\",ood-later,0.5\n");
    write_text(RUN "/analysis/pairs.csv", "model_a,model_b,d_id,d_ood\n0,1,0.25,0.333\n0,2,0.5,0.667\n1,2,0.25,0.333\n");
    json_object_set_new(expected, "tables",
                        json_pack("{s:{s:i, s:[s, s, s]}, s:{s:i, s:[s, s, s, s]}}", "multiplicity.csv", "rows", 2,
                                  "columns", "variant", "split", "ambiguity, eps=0.01", "pairs.csv", "rows", 3,
                                  "columns", "model_a", "model_b", "d_id", "d_ood"));
    write_figures(figures);
    copy_file(RUN "/report/id_vs_ood.png", RUN "/report/logo.png");
    write_text(RUN "/report/report.md", report_md);
    /* Hand-computed: share of models outvoted by the majority, and D(m, m') per split. */
    json_object_set_new(expected, "disagreement",
                        json_pack("{s:[f, f, f, f], s:[f, f, f]}", "test", 0.0, 1.0 / 3, 1.0 / 3, 0.0, "ood-later",
                                  1.0 / 3, 1.0 / 3, 0.0));
    json_object_set_new(expected, "pairwise",
                        json_pack("{s:[[f,f,f],[f,f,f],[f,f,f]], s:[[f,f,f],[f,f,f],[f,f,f]]}", "test", 0.0, 0.25, 0.5,
                                  0.25, 0.0, 0.25, 0.5, 0.25, 0.0, "ood-later", 0.0, 1.0 / 3, 2.0 / 3, 1.0 / 3, 0.0,
                                  1.0 / 3, 2.0 / 3, 1.0 / 3, 0.0));
    json_object_set_new(expected, "models", json_pack("[s, s, s]", "linear-s0", "linear-s1", "linear-s2"));
    int rc = json_dump_file(expected, DIR "/expected.json", JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(expected);
    return rc;
}

/* ---------------------------------------------------------------- helpers */

/* The whole source of a cell as one string (static buffer). */
static const char *cell_source(json_t *cell)
{
    static char buf[65536];
    buf[0] = '\0';
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(cell, "source"), i, line) strncat(buf, json_string_value(line), sizeof buf - strlen(buf) - 1);
    return buf;
}

/* Index of the first cell whose source contains needle, or -1. */
static long find_cell(json_t *cells, const char *needle)
{
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) if (strstr(cell_source(cell), needle)) return (long)i;
    return -1;
}

static const char *cell_type(json_t *cells, long i)
{
    return json_string_value(json_object_get(json_array_get(cells, (size_t)i), "cell_type"));
}

/* ---------------------------------------------------------------- tests */

static void test_base64_known_answers(void **state)
{
    (void)state;
    const char *in[6] = {"", "f", "fo", "foo", "foob", "foobar"};
    const char *out[6] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmFy"}; /* RFC 4648 section 10 */
    for (int i = 0; i < 6; i++) {
        char *b = nb_base64((const unsigned char *)in[i], strlen(in[i]));
        assert_string_equal(b, out[i]);
        free(b);
    }
}

static void test_strings_and_quoting(void **state)
{
    (void)state;
    /* Invalid UTF-8 (a lone continuation byte, an overlong '/') becomes U+FFFD; valid text passes through. */
    json_t *s = nb_string("a\x80z\xc0\xaf\xc3\xa9", 7);
    assert_string_equal(json_string_value(s), "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
    json_decref(s);
    json_t *lines = nb_source("x = 1\ny = 2\n\nz");
    assert_int_equal(json_array_size(lines), 4);
    assert_string_equal(json_string_value(json_array_get(lines, 1)), "y = 2\n");
    assert_string_equal(json_string_value(json_array_get(lines, 3)), "z");
    json_decref(lines);
    nb_buf b;
    nb_buf_init(&b);
    nb_buf_py_string(&b, "a\"b\\c\nd\x01\xc3\xa9\xe9");
    nb_buf_puts(&b, " ");
    nb_buf_md_code(&b, "x`y");
    nb_buf_puts(&b, " ");
    nb_buf_md_cell(&b, "p|q\nr");
    assert_string_equal(nb_buf_str(&b), "\"a\\\"b\\\\c\\nd\\x01\xc3\xa9\\udce9\" `` x`y `` p\\|q r");
    nb_buf_free(&b);
}

static void test_csv_scan(void **state)
{
    (void)state;
    nb_csv_shape shape;
    assert_int_equal(nb_csv_scan(RUN "/analysis/multiplicity.csv", &shape), SP_OK);
    assert_int_equal(shape.n_columns, 3);
    assert_int_equal(shape.n_rows, 2);
    assert_string_equal(shape.columns[2], "ambiguity, eps=0.01");
    nb_csv_shape_free(&shape);
    write_text(DIR "/crlf.csv", "a,\"b\"\"q\"\r\n1,2\r\n\r\n3,4\r\n");
    assert_int_equal(nb_csv_scan(DIR "/crlf.csv", &shape), SP_OK);
    assert_int_equal(shape.n_columns, 2);
    assert_string_equal(shape.columns[1], "b\"q");
    assert_int_equal(shape.n_rows, 2);
    nb_csv_shape_free(&shape);
    write_text(DIR "/open.csv", "a,b\n1,\"never closed\n");
    assert_int_equal(nb_csv_scan(DIR "/open.csv", &shape), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "open.csv:2"));
    write_text(DIR "/empty.csv", "");
    assert_int_equal(nb_csv_scan(DIR "/empty.csv", &shape), SP_ERR_INPUT);
}

static void test_export_is_deterministic_and_structured(void **state)
{
    (void)state;
    sp_notebook_summary sum;
    assert_int_equal(sp_notebook_export(RUN, DIR "/a.ipynb", &sum), SP_OK);
    assert_int_equal(sp_notebook_export(RUN, DIR "/b.ipynb", NULL), SP_OK);
    char *a, *b;
    size_t na, nb;
    assert_int_equal(sp_read_file(DIR "/a.ipynb", &a, &na), SP_OK);
    assert_int_equal(sp_read_file(DIR "/b.ipynb", &b, &nb), SP_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(b);
    assert_int_equal(access(DIR "/a.ipynb.tmp", F_OK), -1);
    assert_int_equal(sum.has_report, 1);
    assert_int_equal(sum.n_models, 3);
    assert_int_equal(sum.n_tables, 2);
    assert_int_equal(sum.n_figures_redraw, 5); /* 4 referenced + 1 other */
    assert_int_equal(sum.n_figures, 6);        /* + logo.png as an attachment */
    assert_int_equal(sum.n_figures_missing, 1);

    json_error_t err;
    json_t *nbj = json_loads(a, 0, &err);
    free(a);
    assert_non_null(nbj);
    assert_int_equal(json_integer_value(json_object_get(nbj, "nbformat")), 4);
    assert_int_equal(json_integer_value(json_object_get(nbj, "nbformat_minor")), 5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(nbj, "metadata"), "kernelspec"),
                                                          "name")),
                        "python3");
    json_t *cells = json_object_get(nbj, "cells");
    assert_int_equal(json_array_size(cells), sum.n_cells);
    /* Ids: unique, "<index>-<hash>", legal nbformat characters. */
    for (size_t i = 0; i < json_array_size(cells); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(cells, i), "id"));
        assert_non_null(id);
        assert_true(strlen(id) >= 1 && strlen(id) <= 64);
        assert_int_equal(strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-"), strlen(id));
        assert_int_equal(strtol(id, NULL, 10), (long)i);
    }

    /* Title: run name from run.yaml, versions, hash, seeds table with both seed streams in stream order. */
    long title = find_cell(cells, "# splinter run `toy-sweep`");
    assert_int_equal(title, 0);
    char row[128];
    snprintf(row, sizeof row, "| data hash | `%s` |", toy_hash);
    assert_non_null(strstr(cell_source(json_array_get(cells, 0)), row));
    assert_non_null(strstr(cell_source(json_array_get(cells, 0)), "| classes | `ham`, `spam` |"));
    assert_non_null(strstr(cell_source(json_array_get(cells, 0)), "| domains | `early`, `later` (OOD) |"));
    assert_non_null(strstr(cell_source(json_array_get(cells, 0)), "| data seed | 7 |"));
    long seeds = find_cell(cells, "## Models and seeds");
    assert_true(seeds > 0);
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)seeds)), "| model | family | variant | init | order |"));
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)seeds)), "| linear-s2 | linear | exact | 102 | 202 |"));
    assert_null(strstr(cell_source(json_array_get(cells, (size_t)seeds)), "pretrain-0"));
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)seeds)), "- `broken.h5`: /"));
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)seeds)), "/models/broken.h5 is not an HDF5 file"));
    long config = find_cell(cells, "## Configuration");
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)config)), "```yaml\nname: toy-sweep"));
    /* Two variants, two specs. */
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)config)), "{\"l2\": 0.001}"));
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)config)), "{\"lr\": 0.05, \"bits\": 12}"));

    /* The first code cell sets RUN to the absolute run path. */
    long setup = find_cell(cells, "RUN = Path(\"/");
    assert_true(setup > config);
    assert_string_equal(cell_type(cells, setup), "code");
    for (long i = 0; i < setup; i++) assert_string_equal(cell_type(cells, i), "markdown");
    long helper = find_cell(cells, "def redraw_figure(");
    assert_int_equal(helper, setup + 1);

    /* Narrative: text before a figure, the redraw cell, text after, in that order. */
    long before = find_cell(cells, "## Accuracy\n\nBefore the figure.");
    long fig = find_cell(cells, "redraw_figure(\"id_vs_ood\");");
    long after = find_cell(cells, "After the figure.");
    assert_true(helper < before && before + 1 == fig && fig + 1 == after);
    assert_string_equal(cell_type(cells, fig), "code");
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)fig)), "# Figure: ID vs OOD accuracy"));
    /* Fenced code stays verbatim in the after-cell: no split, no figure. */
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)after)), "```text\n## not a heading\n![not a figure](rashomon.png)\n```"));
    assert_true(find_cell(cells, "redraw_figure(\"rashomon\");") > after);
    assert_true(find_cell(cells, "redraw_figure(\"pairwise\");") > find_cell(cells, "redraw_figure(\"range_hist\");"));
    /* The stored output is splinter's PNG, byte for byte. */
    json_t *out = json_array_get(json_object_get(json_array_get(cells, (size_t)fig), "outputs"), 0);
    assert_string_equal(json_string_value(json_object_get(out, "output_type")), "display_data");
    char *png;
    size_t npng;
    assert_int_equal(sp_read_file(RUN "/report/id_vs_ood.png", &png, &npng), SP_OK);
    char *b64 = nb_base64((unsigned char *)png, npng);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "data"), "image/png")), b64);
    free(b64);
    free(png);
    /* A non-plot image is an attachment; a missing one keeps its link with a note. */
    long other = find_cell(cells, "## Other images");
    json_t *att = json_object_get(json_array_get(cells, (size_t)other), "attachments");
    assert_non_null(json_object_get(json_object_get(att, "logo.png"), "image/png"));
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)other)), "![logo](attachment:logo.png)"));
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)other)), "![lost](lost.png) *(figure file `lost.png` not found"));
    /* The figure report.md does not show comes after the narrative. */
    long rest = find_cell(cells, "## Other figures");
    assert_true(rest > other);
    assert_int_equal(find_cell(cells, "redraw_figure(\"spread\");"), rest + 1);

    /* Data: each CSV described from its header, then loaded; predictions and the example. */
    long data = find_cell(cells, "## Data");
    assert_true(data > rest);
    long mult = find_cell(cells, "### `multiplicity.csv`");
    assert_non_null(strstr(cell_source(json_array_get(cells, (size_t)mult)),
                           "2 rows; columns: `variant`, `split`, `ambiguity, eps=0.01`."));
    assert_string_equal(cell_source(json_array_get(cells, (size_t)mult + 1)),
                        "df_multiplicity = pd.read_csv(RUN / \"analysis\" / \"multiplicity.csv\")\ndf_multiplicity.head()");
    assert_true(find_cell(cells, "df_pairs = pd.read_csv") > mult);
    assert_true(find_cell(cells, "\"analysis.h5\"") > data);
    assert_true(find_cell(cells, "P[split] = np.stack(arrays)") > data);
    assert_true(find_cell(cells, "DISAGREEMENT[split] =") > data);
    json_decref(nbj);
}

static void test_notebook_validates_executes_and_parses_the_numbers(void **state)
{
    (void)state;
    assert_int_equal(sp_notebook_export(RUN, DIR "/a.ipynb", NULL), SP_OK);
    const char *src = getenv("SPLINTER_SRC");
    assert_non_null(src);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/check_notebook.py %s %s %s", src, DIR "/a.ipynb",
             DIR "/expected.json", RUN);
    assert_int_equal(system(cmd), 0);
}

static void test_run_without_report(void **state)
{
    (void)state;
    assert_int_equal(system("rm -rf " DIR "/bare && mkdir -p " DIR "/bare/report"), 0);
    copy_file(RUN "/report/rashomon.dat", DIR "/bare/report/rashomon.dat");
    copy_file(RUN "/report/rashomon.gp", DIR "/bare/report/rashomon.gp");
    copy_file(RUN "/report/rashomon.svg", DIR "/bare/report/rashomon.svg"); /* no PNG: the SVG is the output */
    /* Data without a script is not a splinter figure. */
    write_text(DIR "/bare/report/notes.dat", "1 2\n");
    /* An unreadable dataset.h5 is reported in the title, not fatal. */
    write_text(DIR "/bare/dataset.h5", "truncated");
    sp_notebook_summary sum;
    char *text;
    assert_int_equal(sp_notebook_render(DIR "/bare", &text, &sum), SP_OK);
    assert_int_equal(sum.has_report, 0);
    assert_int_equal(sum.n_models, 0);
    assert_int_equal(sum.n_figures_redraw, 1);
    assert_non_null(strstr(text, "This run has no `report/report.md`"));
    assert_non_null(strstr(text, "**Note:** `dataset.h5` could not be read: /"));
    assert_non_null(strstr(text, "/bare/dataset.h5 is not an HDF5 file"));
    assert_non_null(strstr(text, "redraw_figure(\\\"rashomon\\\");"));
    assert_non_null(strstr(text, "\"image/svg+xml\": \"<?xml"));
    assert_null(strstr(text, "notes"));
    assert_null(strstr(text, "P[split]")); /* no models: no prediction cells that could not run */
    free(text);
}

static void test_errors_leave_nothing_behind(void **state)
{
    (void)state;
    assert_int_equal(sp_notebook_export(DIR "/no-such-run", DIR "/x.ipynb", NULL), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "no-such-run is not a directory"));
    assert_int_equal(system("rm -rf " DIR "/empty && mkdir -p " DIR "/empty"), 0);
    assert_int_equal(sp_notebook_export(DIR "/empty", DIR "/x.ipynb", NULL), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "not a splinter run directory"));
    assert_int_equal(access(DIR "/x.ipynb", F_OK), -1);
    assert_int_equal(sp_notebook_export(RUN, DIR "/missing-dir/x.ipynb", NULL), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), "missing-dir/x.ipynb.tmp"));
    /* The output path is a directory: the rename fails and the .tmp is removed. */
    assert_int_equal(system("mkdir -p " DIR "/taken.ipynb/inner"), 0);
    assert_int_equal(sp_notebook_export(RUN, DIR "/taken.ipynb", NULL), SP_ERR_IO);
    assert_int_equal(access(DIR "/taken.ipynb.tmp", F_OK), -1);
    if (geteuid() != 0) { /* root writes anywhere */
        assert_int_equal(system("mkdir -p " DIR "/ro && chmod 0555 " DIR "/ro"), 0);
        assert_int_equal(sp_notebook_export(RUN, DIR "/ro/x.ipynb", NULL), SP_ERR_IO);
        assert_int_equal(access(DIR "/ro/x.ipynb.tmp", F_OK), -1);
        assert_int_equal(system("chmod 0755 " DIR "/ro"), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_known_answers),
        cmocka_unit_test(test_strings_and_quoting),
        cmocka_unit_test(test_csv_scan),
        cmocka_unit_test(test_export_is_deterministic_and_structured),
        cmocka_unit_test(test_notebook_validates_executes_and_parses_the_numbers),
        cmocka_unit_test(test_run_without_report),
        cmocka_unit_test(test_errors_leave_nothing_behind),
    };
    return cmocka_run_group_tests(tests, setup_run, NULL);
}
