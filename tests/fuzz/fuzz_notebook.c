/* fuzz_notebook.c: libFuzzer target for the notebook exporter's text readers. The first byte picks what the
 * rest is: report.md of a run (rendered into a whole notebook, which must parse back as JSON with a unique
 * id on every cell) or an analysis CSV table (scanned: any header found has at least one column). Also
 * checks that nb_string turns any bytes into a JSON string. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nb_internal.h"
#include "notebook.h"

static char run[64];

/* Removes the scratch run directory when the fuzzer exits. */
static void remove_run(void)
{
    const char *parts[4] = {"report/report.md", "analysis/table.csv", "report", "analysis"};
    char path[128];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run, parts[i]);
        remove(path);
    }
    rmdir(run);
}

/* A scratch run directory with report/ and analysis/, made once per process. */
static void make_run(void)
{
    if (run[0]) return;
    snprintf(run, sizeof run, "/tmp/fuzz-notebook-XXXXXX");
    if (!mkdtemp(run)) abort();
    char path[128];
    snprintf(path, sizeof path, "%s/report", run);
    if (mkdir(path, 0700) != 0) abort();
    snprintf(path, sizeof path, "%s/analysis", run);
    if (mkdir(path, 0700) != 0) abort();
    atexit(remove_run);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    make_run();
    json_t *s = nb_string((const char *)data + 1, size - 1);
    if (!s) abort(); /* only out of memory may fail */
    json_decref(s);

    char report[128], csv[128];
    snprintf(report, sizeof report, "%s/report/report.md", run);
    snprintf(csv, sizeof csv, "%s/analysis/table.csv", run);
    if (data[0] & 1) {
        write_file(csv, data + 1, size - 1);
        nb_csv_shape shape;
        if (nb_csv_scan(csv, &shape) == SP_OK) {
            if (shape.n_columns == 0) abort();
            nb_csv_shape_free(&shape);
        }
        unlink(csv);
        return 0;
    }
    write_file(report, data + 1, size - 1);
    char *text = NULL;
    if (sp_notebook_render(run, &text, NULL) == SP_OK) {
        json_error_t err;
        json_t *nb = json_loads(text, 0, &err);
        if (!nb) abort();
        json_t *ids = json_object();
        size_t i;
        json_t *cell;
        json_array_foreach(json_object_get(nb, "cells"), i, cell) {
            const char *id = json_string_value(json_object_get(cell, "id"));
            if (!id || json_object_get(ids, id)) abort();
            json_object_set_new(ids, id, json_true());
        }
        json_decref(ids);
        json_decref(nb);
        free(text);
    }
    unlink(report);
    return 0;
}
