/* activations.c: loading pooled layer activations of many model files for one split (activations.h). */
#include "activations.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "strlist.h"

typedef struct {
    char **names;
    size_t n, cap;
    const char *suffix; /* "_<pooling>" to keep (the suffix is stripped), or NULL to keep every name */
    int failed;
} name_list;

static herr_t collect_name(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    (void)group;
    (void)info;
    name_list *l = data;
    size_t len = strlen(name);
    if (l->suffix) {
        size_t sl = strlen(l->suffix);
        if (len <= sl || strcmp(name + len - sl, l->suffix) != 0) return 0;
        len -= sl;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **grown = realloc(l->names, cap * sizeof *grown);
        if (!grown) {
            l->failed = 1;
            return -1;
        }
        l->names = grown;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        l->failed = 1;
        return -1;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    l->names[l->n++] = copy;
    return 0;
}

/* Network order key: emb < block0 < block1 < ... < block10 < any other name (alphabetical). */
static int layer_rank(const char *name, long *k)
{
    if (strcmp(name, "emb") == 0) return 0;
    char *end;
    if (strncmp(name, "block", 5) == 0 && name[5] >= '0' && name[5] <= '9') {
        *k = strtol(name + 5, &end, 10);
        if (*end == '\0') return 1;
    }
    return 2;
}

int sp_activations_layer_order(const char *x, const char *y)
{
    long kx = 0, ky = 0;
    int rx = layer_rank(x, &kx), ry = layer_rank(y, &ky);
    if (rx != ry) return rx - ry;
    if (rx == 1) return (kx > ky) - (kx < ky);
    return strcmp(x, y);
}

static int layer_cmp(const void *a, const void *b)
{
    return sp_activations_layer_order(*(char *const *)a, *(char *const *)b);
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Links of a group, filtered by suffix. */
static sp_status list_group(name_list *l, hid_t file, const char *group_path)
{
    char fname[1024];
    if (H5Fget_name(file, fname, sizeof fname) < 0) strcpy(fname, "(hdf5 file)");
    if (!sp_store_exists(file, group_path))
        return sp_fail(SP_ERR_INPUT, "%s: no group %s; was the model trained with activations for it?", fname,
                       group_path);
    hid_t g = H5Gopen2(file, group_path, H5P_DEFAULT);
    if (g < 0) return sp_fail(SP_ERR_INPUT, "%s: %s is not a group", fname, group_path);
    hsize_t idx = 0;
    herr_t rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, l);
    H5Gclose(g);
    if (l->failed) return sp_fail(SP_ERR_NOMEM, "out of memory listing %s in %s", group_path, fname);
    if (rc < 0) return sp_fail(SP_ERR_INPUT, "%s: cannot list %s (corrupt file?)", fname, group_path);
    return SP_OK;
}

sp_status sp_activations_list_layers(char ***layers, size_t *n_layers, hid_t file, const char *split,
                                     const char *pooling)
{
    char group[512], suffix[128];
    snprintf(group, sizeof group, "/activations/%s", split);
    snprintf(suffix, sizeof suffix, "_%s", pooling);
    name_list l = {NULL, 0, 0, suffix, 0};
    sp_status st = list_group(&l, file, group);
    if (st != SP_OK) {
        sp_strlist_free(l.names, l.n);
        return st;
    }
    if (l.n > 1) qsort(l.names, l.n, sizeof *l.names, layer_cmp);
    *layers = l.names;
    *n_layers = l.n;
    return SP_OK;
}

sp_status sp_activations_list_splits(char ***splits, size_t *n_splits, hid_t file)
{
    name_list l = {NULL, 0, 0, NULL, 0};
    sp_status st = list_group(&l, file, "/activations");
    if (st != SP_OK) {
        sp_strlist_free(l.names, l.n);
        return st;
    }
    if (l.n > 1) qsort(l.names, l.n, sizeof *l.names, name_cmp);
    *splits = l.names;
    *n_splits = l.n;
    return SP_OK;
}

void sp_activations_free(sp_activation_set *s)
{
    if (!s) return;
    if (s->acts)
        for (size_t i = 0; i < s->n_layers * s->n_models; i++) free(s->acts[i]);
    free(s->acts);
    free(s->dims);
    sp_strlist_free(s->layers, s->n_layers);
    free(s->rows);
    free(s->split);
    free(s->pooling);
    free(s);
}

static char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

/* The /rows/<split> of one file, compared with (or, for the first file, stored into) s->rows. */
static sp_status check_rows(sp_activation_set *s, hid_t f, const char *path, const char *first_path, size_t m)
{
    char dset[512];
    snprintf(dset, sizeof dset, "/rows/%s", s->split);
    const int has = sp_store_exists(f, dset);
    if (m == 0 && !has) return SP_OK;
    if (m > 0 && has != (s->rows != NULL))
        return sp_fail(SP_ERR_INPUT, "%s: %s %s, unlike in %s; the model files were not written alike", path, dset,
                       has ? "exists" : "is missing", first_path);
    if (!has) return SP_OK;
    int rank;
    hsize_t dims[4];
    int64_t *rows = NULL;
    sp_status st = sp_store_read_i64(f, dset, &rank, dims, &rows);
    if (st != SP_OK) return st;
    if (rank != 1 || dims[0] != s->n) {
        free(rows);
        return sp_fail(SP_ERR_INPUT, "%s: %s has %llu entries, expected %zu (one per activation row)", path, dset,
                       (unsigned long long)dims[0], s->n);
    }
    if (m == 0) {
        s->rows = rows;
        return SP_OK;
    }
    for (size_t i = 0; i < s->n; i++)
        if (rows[i] != s->rows[i]) {
            st = sp_fail(SP_ERR_INPUT, "%s: %s[%zu] = %lld but the first model has %lld: the models were not run on "
                                       "the same inputs; rerun them on one data set and split",
                         path, dset, i, (long long)rows[i], (long long)s->rows[i]);
            break;
        }
    free(rows);
    return st;
}

sp_status sp_activations_load(sp_activation_set **out, const char *const *paths, size_t n_models, const char *split,
                              const char *pooling, const char *const *layers, size_t n_layers)
{
    *out = NULL;
    if (n_models == 0) return sp_fail(SP_ERR_USAGE, "no model files given");
    sp_activation_set *s = calloc(1, sizeof *s);
    if (!s) return sp_fail(SP_ERR_NOMEM, "out of memory loading activations");
    s->n_models = n_models;
    s->split = dup_str(split);
    s->pooling = dup_str(pooling);
    sp_status st = SP_OK;
    hid_t f = H5I_INVALID_HID;
    if (!s->split || !s->pooling) goto nomem;
    for (size_t m = 0; m < n_models; m++) {
        if ((st = sp_store_open(paths[m], "splinter-model", &f)) != SP_OK) goto fail;
        if (m == 0) {
            if (layers) {
                s->layers = calloc(n_layers ? n_layers : 1, sizeof *s->layers);
                if (!s->layers) goto nomem;
                s->n_layers = n_layers;
                for (size_t l = 0; l < n_layers; l++)
                    if (!(s->layers[l] = dup_str(layers[l]))) goto nomem;
            } else if ((st = sp_activations_list_layers(&s->layers, &s->n_layers, f, split, pooling)) != SP_OK) {
                goto fail;
            }
            if (s->n_layers == 0) {
                st = sp_fail(SP_ERR_INPUT, "%s: no activations with pooling '%s' under /activations/%s", paths[0],
                             pooling, split);
                goto fail;
            }
            s->acts = calloc(s->n_layers * n_models, sizeof *s->acts);
            s->dims = calloc(s->n_layers * n_models, sizeof *s->dims);
            if (!s->acts || !s->dims) goto nomem;
        }
        for (size_t l = 0; l < s->n_layers; l++) {
            char dset[512];
            snprintf(dset, sizeof dset, "/activations/%s/%s_%s", split, s->layers[l], pooling);
            int rank;
            hsize_t dims[4];
            float *x = NULL;
            if ((st = sp_store_read_f32(f, dset, &rank, dims, &x)) != SP_OK) goto fail;
            s->acts[l * n_models + m] = x;
            if (rank != 2 || dims[1] == 0) {
                st = sp_fail(SP_ERR_INPUT, "%s: %s must be a 2-D [inputs, width] array", paths[m], dset);
                goto fail;
            }
            if (m == 0 && l == 0) s->n = (size_t)dims[0];
            if ((size_t)dims[0] != s->n) {
                st = sp_fail(SP_ERR_INPUT, "%s: %s has %llu rows but %s has %zu; the models were not run on the "
                                           "same inputs", paths[m], dset, (unsigned long long)dims[0], paths[0], s->n);
                goto fail;
            }
            s->dims[l * n_models + m] = (size_t)dims[1];
            const size_t total = s->n * (size_t)dims[1];
            for (size_t i = 0; i < total; i++)
                if (!isfinite(x[i])) {
                    const size_t w = (size_t)dims[1];
                    st = sp_fail(SP_ERR_INPUT, "%s: %s has a non-finite value at row %zu, column %zu; the model "
                                               "diverged, retrain it", paths[m], dset, i / w, i % w);
                    goto fail;
                }
        }
        if ((st = check_rows(s, f, paths[m], paths[0], m)) != SP_OK) goto fail;
        H5Fclose(f);
        f = H5I_INVALID_HID;
    }
    *out = s;
    return SP_OK;
nomem:
    st = sp_fail(SP_ERR_NOMEM, "out of memory loading activations of %zu models", n_models);
fail:
    if (f >= 0) H5Fclose(f);
    sp_activations_free(s);
    return st;
}
