/* nb_title.c: the notebook's opening cells: what run this is (name, program version, data set and hash),
 * every model with its seeds, and the configuration (run.yaml, model specs). Root attributes are read
 * generically, so attributes added to the store later show up without changes here. */
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"
#include "store.h"

/* The root attributes of one file, name-sorted, values formatted as text. */
typedef struct {
    size_t n;
    char **names;
    char **values;
} nb_attrs;

static void attrs_free(nb_attrs *a)
{
    sp_strlist_free(a->names, a->n);
    sp_strlist_free(a->values, a->n);
    memset(a, 0, sizeof *a);
}

/* The value of attribute name, or NULL. */
static const char *attrs_get(const nb_attrs *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], name) == 0) return a->values[i];
    return NULL;
}

/* Separator of the items of a 1-D array attribute in nb_attrs values (a byte no name contains). */
#define LIST_SEP '\x1f'

/* Formats a 1-D attribute of variable-length strings or integers as items joined by LIST_SEP; NULL for
 * other types. */
static char *attr_format_list(hid_t attr, hid_t type, hid_t space)
{
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0 || n > 100000) return NULL;
    nb_buf b;
    nb_buf_init(&b);
    nb_buf_puts(&b, "");
    int ok = 0;
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
        char **items = calloc((size_t)n + 1, sizeof *items);
        hid_t mtype = H5Tcopy(H5T_C_S1);
        if (items && mtype >= 0 && H5Tset_size(mtype, H5T_VARIABLE) >= 0 && H5Tset_cset(mtype, H5T_CSET_UTF8) >= 0 &&
            H5Aread(attr, mtype, items) >= 0) {
            for (hssize_t i = 0; i < n; i++) {
                if (i) nb_buf_add(&b, &(char){LIST_SEP}, 1);
                nb_buf_puts(&b, items[i] ? items[i] : "");
                H5free_memory(items[i]);
            }
            ok = 1;
        }
        if (mtype >= 0) H5Tclose(mtype);
        free(items);
    } else if (H5Tget_class(type) == H5T_INTEGER) {
        int64_t *v = calloc((size_t)n + 1, sizeof *v);
        if (v && H5Aread(attr, H5T_NATIVE_INT64, v) >= 0) {
            for (hssize_t i = 0; i < n; i++) {
                if (i) nb_buf_add(&b, &(char){LIST_SEP}, 1);
                nb_buf_printf(&b, "%" PRId64, v[i]);
            }
            ok = 1;
        }
        free(v);
    }
    if (!ok || b.oom) {
        nb_buf_free(&b);
        return NULL;
    }
    return b.s; /* the buffer's string is the result */
}

/* Formats one attribute as text: scalars (string, integer, float) and 1-D lists of strings or integers
 * (see attr_format_list); NULL for other shapes and types. */
static char *attr_format(hid_t file, const char *name)
{
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char *out = NULL, num[64];
    if ((attr = H5Aopen(file, name, H5P_DEFAULT)) < 0 || (type = H5Aget_type(attr)) < 0 ||
        (space = H5Aget_space(attr)) < 0)
        goto done;
    if (H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        if (H5Sget_simple_extent_ndims(space) == 1) out = attr_format_list(attr, type, space);
        goto done;
    }
    switch (H5Tget_class(type)) {
    case H5T_STRING: {
        char *value = NULL;
        if (sp_store_read_attr_str(file, "/", name, &value) == SP_OK) out = value;
        break;
    }
    case H5T_INTEGER:
        if (H5Tget_sign(type) == H5T_SGN_NONE) {
            uint64_t v;
            if (H5Aread(attr, H5T_NATIVE_UINT64, &v) >= 0) snprintf(num, sizeof num, "%" PRIu64, v), out = strdup(num);
        } else {
            int64_t v;
            if (H5Aread(attr, H5T_NATIVE_INT64, &v) >= 0) snprintf(num, sizeof num, "%" PRId64, v), out = strdup(num);
        }
        break;
    case H5T_FLOAT: {
        double v;
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) >= 0) snprintf(num, sizeof num, "%.17g", v), out = strdup(num);
        break;
    }
    default:
        break;
    }
done:
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    return out;
}

/* Appends the items of a LIST_SEP-joined list as inline code, comma-separated; items whose flag in the
 * parallel list `flags` is "1" get the suffix `mark`. */
static void list_append(nb_buf *b, const char *list, const char *flags, const char *mark)
{
    const char *p = list, *f = flags;
    for (int first = 1;; first = 0) {
        const char *end = strchr(p, LIST_SEP);
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *item = strndup(p, n);
        if (!item) {
            b->oom = 1;
            return;
        }
        if (!first) nb_buf_puts(b, ", ");
        nb_buf_md_code(b, item);
        free(item);
        if (f && f[0] == '1' && (f[1] == LIST_SEP || f[1] == '\0')) nb_buf_puts(b, mark);
        if (f) f = strchr(f, LIST_SEP) ? strchr(f, LIST_SEP) + 1 : NULL;
        if (!end) return;
        p = end + 1;
    }
}

/* Reads every scalar root attribute of a complete splinter file of the given format. */
static sp_status attrs_read(const char *path, const char *format, nb_attrs *a)
{
    memset(a, 0, sizeof *a);
    hid_t file;
    sp_status st = sp_store_open(path, format, &file);
    if (st != SP_OK) return st;
    H5O_info_t info;
    if (H5Oget_info2(file, &info, H5O_INFO_NUM_ATTRS) < 0) {
        H5Fclose(file);
        return sp_fail(SP_ERR_INPUT, "%s: cannot read its root attributes; regenerate the file", path);
    }
    size_t n = (size_t)info.num_attrs;
    a->names = calloc(n ? n : 1, sizeof *a->names);
    a->values = calloc(n ? n : 1, sizeof *a->values);
    if (!a->names || !a->values) st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
    for (size_t i = 0; i < n && st == SP_OK; i++) {
        char name[256];
        /* By name, ascending: the same order whatever order the writer used. */
        if (H5Aget_name_by_idx(file, "/", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, name, sizeof name, H5P_DEFAULT) < 0) {
            st = sp_fail(SP_ERR_INPUT, "%s: cannot read root attribute %zu", path, i);
            break;
        }
        char *value = attr_format(file, name);
        if (!value) continue;
        a->names[a->n] = strdup(name);
        a->values[a->n] = value;
        if (!a->names[a->n]) {
            free(value);
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
            break;
        }
        a->n++;
    }
    H5Fclose(file);
    if (st != SP_OK) attrs_free(a);
    return st;
}

/* The canonical seed streams in docs/seeds.md order; other seed_* attributes follow by name. */
static const char *const seed_order[] = {"seed_init", "seed_order", "seed_mask", "seed_dropout", "seed_pretrain",
                                         "seed_split", "seed_data", "seed_bootstrap"};
#define N_SEED_ORDER (sizeof seed_order / sizeof seed_order[0])

static int seed_rank(const char *name)
{
    for (size_t i = 0; i < N_SEED_ORDER; i++)
        if (strcmp(name, seed_order[i]) == 0) return (int)i;
    return (int)N_SEED_ORDER;
}

static int compare_seed_names(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = seed_rank(x), ry = seed_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* Adds value to a small set of distinct strings (first-seen order). */
static void distinct_add(const char **set, size_t *n, size_t cap, const char *value)
{
    if (!value) return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(set[i], value) == 0) return;
    if (*n < cap) set[(*n)++] = value;
}

/* One table row "| key | values... |" listing the distinct values (or "-"). */
static void row_distinct(nb_buf *b, const char *key, const char **values, size_t n)
{
    nb_buf_printf(b, "| %s | ", key);
    if (n == 0) nb_buf_puts(b, "-");
    for (size_t i = 0; i < n; i++) {
        if (i) nb_buf_puts(b, ", ");
        nb_buf_md_code(b, values[i]);
    }
    nb_buf_puts(b, " |\n");
}

/* The top-level `name:` of run.yaml (the sweep name), or NULL. */
static char *yaml_run_name(const char *yaml)
{
    for (const char *p = yaml; p && *p;) {
        if (strncmp(p, "name:", 5) == 0) {
            p += 5;
            p += strspn(p, " \t");
            size_t n = strcspn(p, "#\r\n");
            while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
            if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) p++, n -= 2;
            return n ? strndup(p, n) : NULL;
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

#define MAX_DISTINCT 16

static const char *attr_or_dash(const nb_attrs *a, const char *name)
{
    const char *v = attrs_get(a, name);
    return v ? v : "-";
}

/* 1 if two models have the same family and variant. */
static int same_variant(const nb_attrs *a, const nb_attrs *b)
{
    return strcmp(attr_or_dash(a, "family"), attr_or_dash(b, "family")) == 0 &&
           strcmp(attr_or_dash(a, "variant"), attr_or_dash(b, "variant")) == 0;
}

sp_status nb_add_title(nb_builder *nb)
{
    char path[PATH_MAX], dir[PATH_MAX];
    sp_status st;
    nb_attrs data = {0};
    nb_attrs *models = NULL;
    char **files = NULL, *yaml = NULL, *run_name = NULL, *data_error = NULL;
    size_t n_files = 0, n_models = 0, yaml_len = 0;
    nb_buf b, skipped;
    nb_buf_init(&b);
    nb_buf_init(&skipped);

    /* run.yaml and dataset.h5 are optional: runs made piecewise by separate commands may lack them. */
    if ((st = nb_path(path, "%s/run.yaml", nb->run_abs)) != SP_OK) goto done;
    if (nb_is_file(path) && (st = sp_read_file(path, &yaml, &yaml_len)) != SP_OK) goto done;
    if ((st = nb_path(path, "%s/dataset.h5", nb->run_abs)) != SP_OK) goto done;
    if (nb_is_file(path) && attrs_read(path, "splinter-dataset", &data) != SP_OK &&
        !(data_error = strdup(sp_error_message()))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }

    if ((st = nb_path(dir, "%s/models", nb->run_abs)) != SP_OK || (st = nb_list_dir(dir, ".h5", &files, &n_files)) != SP_OK)
        goto done;
    if (n_files && !(models = calloc(n_files, sizeof *models))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_files; i++) {
        if ((st = nb_path(path, "%s/%s", dir, files[i])) != SP_OK) goto done;
        /* Pretrained encoders (format splinter-encoder) are not models to compare; other unreadable or
         * unfinished files are skipped with the reason, so the notebook still covers the rest. */
        if (sp_store_is_complete(path, "splinter-encoder")) continue;
        if (attrs_read(path, "splinter-model", &models[n_models]) != SP_OK) {
            nb_buf_puts(&skipped, "- ");
            nb_buf_md_code(&skipped, files[i]);
            nb_buf_puts(&skipped, ": ");
            nb_buf_md_cell(&skipped, sp_error_message());
            nb_buf_puts(&skipped, "\n");
            continue;
        }
        n_models++;
    }
    nb->summary.n_models = n_models;

    /* ---- title and facts */
    run_name = yaml ? yaml_run_name(yaml) : NULL;
    const char *base = strrchr(nb->run_abs, '/');
    base = base && base[1] ? base + 1 : nb->run_abs;
    nb_buf_puts(&b, "# splinter run ");
    nb_buf_md_code(&b, run_name ? run_name : base);
    nb_buf_puts(&b, "\n\nExported from the run directory ");
    nb_buf_md_code(&b, nb->run_abs);
    nb_buf_puts(&b, " by `splinter export-notebook`. The first code cell sets `RUN` to that directory: edit it "
                    "if the run moves. Every other cell reads through `RUN`, so the notebook runs from any "
                    "working directory.\n\n| | |\n|---|---|\n");
    const char *versions[MAX_DISTINCT], *hashes[MAX_DISTINCT], *blas[MAX_DISTINCT];
    size_t n_versions = 0, n_hashes = 0, n_blas = 0;
    distinct_add(versions, &n_versions, MAX_DISTINCT, attrs_get(&data, "program_version"));
    distinct_add(hashes, &n_hashes, MAX_DISTINCT, attrs_get(&data, "content_hash"));
    distinct_add(blas, &n_blas, MAX_DISTINCT, attrs_get(&data, "blas_config"));
    for (size_t m = 0; m < n_models; m++) {
        distinct_add(versions, &n_versions, MAX_DISTINCT, attrs_get(&models[m], "program_version"));
        distinct_add(hashes, &n_hashes, MAX_DISTINCT, attrs_get(&models[m], "data_hash"));
        distinct_add(blas, &n_blas, MAX_DISTINCT, attrs_get(&models[m], "blas_config"));
    }
    row_distinct(&b, "program version", versions, n_versions);
    if (attrs_get(&data, "name")) {
        nb_buf_puts(&b, "| data set | ");
        nb_buf_md_code(&b, attrs_get(&data, "name"));
        nb_buf_puts(&b, " |\n");
    }
    row_distinct(&b, "data hash", hashes, n_hashes);
    if (attrs_get(&data, "class_names")) {
        nb_buf_puts(&b, "| classes | ");
        list_append(&b, attrs_get(&data, "class_names"), NULL, "");
        nb_buf_puts(&b, " |\n");
    }
    if (attrs_get(&data, "domain_names")) {
        nb_buf_puts(&b, "| domains | ");
        list_append(&b, attrs_get(&data, "domain_names"), attrs_get(&data, "domain_is_ood"), " (OOD)");
        nb_buf_puts(&b, " |\n");
    }
    if (attrs_get(&data, "data_seed")) nb_buf_printf(&b, "| data seed | %s |\n", attrs_get(&data, "data_seed"));
    nb_buf_printf(&b, "| models | %zu |\n", n_models);
    row_distinct(&b, "BLAS", blas, n_blas);
    if (n_hashes > 1)
        nb_buf_puts(&b, "\n**Note:** the files record more than one data hash: some models were trained on a "
                        "different data set than `dataset.h5`.\n");
    if (data_error) {
        nb_buf_puts(&b, "\n**Note:** `dataset.h5` could not be read: ");
        nb_buf_md_cell(&b, data_error);
        nb_buf_puts(&b, "\n");
    }
    nb_add_markdown(nb, nb_buf_str(&b), NULL);

    /* ---- models and seeds */
    if (n_models > 0 || skipped.len > 0) {
        const char *seeds[64];
        size_t n_seeds = 0;
        for (size_t m = 0; m < n_models; m++)
            for (size_t i = 0; i < models[m].n; i++)
                if (strncmp(models[m].names[i], "seed_", 5) == 0) distinct_add(seeds, &n_seeds, 64, models[m].names[i]);
        qsort(seeds, n_seeds, sizeof *seeds, compare_seed_names);
        b.len = 0;
        nb_buf_puts(&b, "## Models and seeds\n\nOne row per model file in `models/` (seed streams: docs/seeds.md).\n\n"
                        "| model | family | variant |");
        for (size_t s = 0; s < n_seeds; s++) nb_buf_printf(&b, " %s |", seeds[s] + 5);
        nb_buf_puts(&b, "\n|---|---|---|");
        for (size_t s = 0; s < n_seeds; s++) nb_buf_puts(&b, "---:|");
        nb_buf_puts(&b, "\n");
        for (size_t m = 0; m < n_models; m++) {
            const char *cols[3] = {"name", "family", "variant"};
            nb_buf_puts(&b, "|");
            for (int c = 0; c < 3; c++) {
                nb_buf_puts(&b, " ");
                nb_buf_md_cell(&b, attr_or_dash(&models[m], cols[c]));
                nb_buf_puts(&b, " |");
            }
            for (size_t s = 0; s < n_seeds; s++) {
                const char *v = attrs_get(&models[m], seeds[s]);
                nb_buf_printf(&b, " %s |", v ? v : "-");
            }
            nb_buf_puts(&b, "\n");
        }
        if (skipped.len) {
            nb_buf_puts(&b, "\nSkipped (not complete model files; the Data section skips them too):\n\n");
            nb_buf_puts(&b, nb_buf_str(&skipped));
        }
        nb_add_markdown(nb, nb_buf_str(&b), NULL);
    }

    /* ---- configuration */
    b.len = 0;
    nb_buf_puts(&b, "## Configuration\n\n");
    if (yaml) {
        nb_buf_puts(&b, "The resolved sweep configuration, `run.yaml`:\n\n");
        nb_buf_md_fence(&b, "yaml", yaml);
    } else {
        nb_buf_puts(&b, "This run has no `run.yaml` (it was not made by `splinter sweep`).\n");
    }
    /* One spec per (family, variant), from its first model: seeds aside, a variant's models share their
     * hyperparameters (the seeds table above has the rest). */
    for (size_t m = 0; m < n_models; m++) {
        const char *spec = attrs_get(&models[m], "spec_json");
        if (!spec) continue;
        int first = 1;
        for (size_t i = 0; i < m && first; i++)
            first = !attrs_get(&models[i], "spec_json") || !same_variant(&models[i], &models[m]);
        if (!first) continue;
        nb_buf_puts(&b, "\nModel spec of ");
        nb_buf_md_code(&b, attr_or_dash(&models[m], "family"));
        nb_buf_puts(&b, " / ");
        nb_buf_md_code(&b, attr_or_dash(&models[m], "variant"));
        nb_buf_puts(&b, " (from ");
        nb_buf_md_code(&b, attr_or_dash(&models[m], "name"));
        nb_buf_puts(&b, "):\n\n");
        nb_buf_md_fence(&b, "json", spec);
    }
    nb_add_markdown(nb, nb_buf_str(&b), NULL);
    if (b.oom || skipped.oom) st = sp_fail(SP_ERR_NOMEM, "out of memory building the title cells");

done:
    for (size_t m = 0; m < n_models; m++) attrs_free(&models[m]);
    free(models);
    attrs_free(&data);
    sp_strlist_free(files, n_files);
    free(yaml);
    free(run_name);
    free(data_error);
    nb_buf_free(&b);
    nb_buf_free(&skipped);
    return st;
}
