/* import_table.c: any JSONL/CSV/TSV file with a text column, a label column and optional domain and split
 * columns becomes a data set (rules in import.h and docs/datasets.md; parsers in table.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

/* Where each role's cells sit in a parsed row: text and label always, domain and split when requested. */
enum { COL_TEXT = 0, COL_LABEL = 1 };
typedef struct {
    int domain; /* column index, or -1 */
    int split;  /* column index, or -1 */
} table_layout;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted distinct values of column `col` (pointers into the table). */
static sp_status distinct_sorted(const sp_table *t, size_t col, const char ***out, size_t *n_out)
{
    const char **v = malloc((t->n_rows ? t->n_rows : 1) * sizeof *v);
    if (!v) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n_rows; i++) v[i] = t->cells[i * t->n_cols + col];
    qsort(v, t->n_rows, sizeof *v, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < t->n_rows; i++)
        if (m == 0 || strcmp(v[m - 1], v[i]) != 0) v[m++] = v[i];
    *out = v;
    *n_out = m;
    return SP_OK;
}

static int index_of(const char *const *names, size_t n, const char *key)
{
    const char *const *hit = bsearch(&key, names, n, sizeof *names, cmp_str);
    return hit ? (int)(hit - names) : -1;
}

/* Strict non-negative decimal integer; 0 if `s` is not one. */
static int parse_label_int(const char *s, long *v)
{
    if (!(*s >= '0' && *s <= '9')) return 0;
    char *end = NULL;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    *v = x;
    return 1;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (!(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')) return 0;
    return 1;
}

#define MAX_INT_CLASSES 10000

/* Fills labels and class names. */
static sp_status table_labels(sp_dataset *ds, const sp_table *t, const sp_table_import_options *o, json_t *prov)
{
    size_t nc = t->n_cols;
    int as_int = o->label_type == SP_LABELS_INT;
    if (o->label_type == SP_LABELS_AUTO) {
        as_int = 1;
        long v;
        for (size_t i = 0; i < t->n_rows && as_int; i++) as_int = parse_label_int(t->cells[i * nc + COL_LABEL], &v);
    }
    if (as_int) {
        long max = -1;
        for (size_t i = 0; i < t->n_rows; i++) {
            const char *s = t->cells[i * nc + COL_LABEL];
            long v;
            if (!parse_label_int(s, &v))
                return sp_fail(SP_ERR_INPUT, "%s:%zu: label '%s' in column '%s' is not a non-negative integer, but "
                                             "integer labels were declared (--label-type int); fix the value or use "
                                             "--label-type string",
                               o->input, t->line[i], s, o->label_column);
            if (v >= MAX_INT_CLASSES)
                return sp_fail(SP_ERR_INPUT, "%s:%zu: label %ld is too large (integer labels are classes 0..C-1 with "
                                             "C <= %d); use --label-type string for codes",
                               o->input, t->line[i], v, MAX_INT_CLASSES);
            ds->label[i] = (int32_t)v;
            if (v > max) max = v;
        }
        ds->n_classes = (int)(max + 1);
        if (!(ds->class_names = calloc((size_t)ds->n_classes, sizeof *ds->class_names)))
            return sp_fail(SP_ERR_NOMEM, "out of memory");
        for (int c = 0; c < ds->n_classes; c++) {
            char num[16];
            snprintf(num, sizeof num, "%d", c);
            if (!(ds->class_names[c] = strdup(num))) return sp_fail(SP_ERR_NOMEM, "out of memory");
        }
    } else {
        const char **names = NULL;
        size_t m = 0;
        sp_status st = distinct_sorted(t, COL_LABEL, &names, &m);
        if (st != SP_OK) return st;
        for (size_t i = 0; i < t->n_rows; i++) ds->label[i] = index_of(names, m, t->cells[i * nc + COL_LABEL]);
        st = sp_import_set_names(&ds->class_names, &ds->n_classes, names, (int)m);
        free(names);
        if (st != SP_OK) return st;
    }
    if (ds->n_classes < 2)
        return sp_fail(SP_ERR_INPUT, "%s: column '%s' has only one class ('%s'); a classifier needs at least two",
                       o->input, o->label_column, ds->class_names[0]);
    json_object_set_new(prov, "label_type", json_string(as_int ? "int" : "string"));
    return SP_OK;
}

/* Fills domains (sorted names of the domain column, or the single domain "all") and their OOD flags. */
static sp_status table_domains(sp_dataset *ds, const sp_table *t, const sp_table_import_options *o,
                               const table_layout *lay)
{
    size_t nc = t->n_cols;
    sp_status st;
    if (!o->domain_column) {
        static const char *const all[1] = {"all"};
        if ((st = sp_import_set_names(&ds->domain_names, &ds->n_domains, all, 1)) != SP_OK) return st;
    } else {
        const char **names = NULL;
        size_t m = 0;
        if ((st = distinct_sorted(t, (size_t)lay->domain, &names, &m)) != SP_OK) return st;
        for (size_t i = 0; i < t->n_rows; i++) ds->domain[i] = index_of(names, m, t->cells[i * nc + lay->domain]);
        st = sp_import_set_names(&ds->domain_names, &ds->n_domains, names, (int)m);
        free(names);
        if (st != SP_OK) return st;
    }
    if (!(ds->domain_is_ood = calloc((size_t)ds->n_domains, 1))) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < o->n_ood_domains; k++) {
        int d = index_of((const char *const *)ds->domain_names, (size_t)ds->n_domains, o->ood_domains[k]);
        if (d < 0) {
            char list[512] = "";
            size_t used = 0;
            for (int j = 0; j < ds->n_domains && used < sizeof list - 1; j++) {
                int w = snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", ds->domain_names[j]);
                if (w < 0) break;
                used += (size_t)w;
            }
            return sp_fail(SP_ERR_USAGE, "--ood-domains: %s has no domain '%s' (domains: %s)", o->input,
                           o->ood_domains[k], list);
        }
        ds->domain_is_ood[d] = 1;
    }
    int n_id = 0;
    for (int d = 0; d < ds->n_domains; d++) n_id += !ds->domain_is_ood[d];
    if (n_id == 0)
        return sp_fail(SP_ERR_USAGE, "--ood-domains: every domain of %s is out of domain; leave at least one in "
                                     "domain to train on",
                       o->input);
    return SP_OK;
}

/* Splits from the split column: train/val/test for ID records; OOD records always get SP_SPLIT_OOD. */
static sp_status table_splits(sp_dataset *ds, const sp_table *t, const sp_table_import_options *o,
                              const table_layout *lay)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        if (ds->domain_is_ood[ds->domain[i]]) {
            ds->split[i] = SP_SPLIT_OOD;
            continue;
        }
        const char *s = t->cells[i * t->n_cols + lay->split];
        if (!s) s = "";
        if (strcmp(s, "train") == 0) ds->split[i] = SP_SPLIT_TRAIN;
        else if (strcmp(s, "val") == 0 || strcmp(s, "validation") == 0) ds->split[i] = SP_SPLIT_VAL;
        else if (strcmp(s, "test") == 0) ds->split[i] = SP_SPLIT_TEST;
        else
            return sp_fail(SP_ERR_INPUT, "%s:%zu: split '%s' in column '%s' is not train, val or test (records of "
                                         "out-of-domain domains may have any value); fix the value",
                           o->input, t->line[i], s, o->split_column);
    }
    return SP_OK;
}

/* Checks every record's cells before anything is built, so the first bad line is the one reported. */
static sp_status table_check_records(const sp_table *t, const sp_table_import_options *o, const char *const *cols,
                                     const table_layout *lay)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        char **row = t->cells + i * t->n_cols;
        for (size_t j = 0; j < t->n_cols; j++) {
            if ((int)j == lay->split) continue; /* checked per domain in table_splits */
            if (!row[j] || (j != COL_TEXT && row[j][0] == '\0'))
                return sp_fail(SP_ERR_INPUT, "%s:%zu: missing %s (column '%s'); every record needs one", o->input,
                               t->line[i], j == COL_TEXT ? "text" : j == COL_LABEL ? "label" : "domain", cols[j]);
        }
        if (is_blank(row[COL_TEXT]))
            return sp_fail(SP_ERR_INPUT, "%s:%zu: empty text in column '%s'; remove the record or fill in its text",
                           o->input, t->line[i], cols[COL_TEXT]);
        if (lay->domain >= 0 && strlen(row[lay->domain]) > SP_DOMAIN_NAME_MAX)
            return sp_fail(SP_ERR_INPUT, "%s:%zu: domain name '%.20s...' is longer than %d bytes; shorten it",
                           o->input, t->line[i], row[lay->domain], SP_DOMAIN_NAME_MAX);
    }
    return SP_OK;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

sp_status sp_import_table(sp_dataset **out, const sp_table_import_options *o)
{
    *out = NULL;
    sp_status st = sp_import_check_split_options(&o->split);
    if (st != SP_OK) return st;
    if (!o->text_column || !o->label_column)
        return sp_fail(SP_ERR_USAGE, "a table import needs --text-column and --label-column");
    const char *cols[4] = {o->text_column, o->label_column, NULL, NULL};
    size_t n_cols = 2;
    table_layout lay = {-1, -1};
    if (o->domain_column) lay.domain = (int)n_cols, cols[n_cols++] = o->domain_column;
    if (o->split_column) lay.split = (int)n_cols, cols[n_cols++] = o->split_column;
    char *data = NULL;
    size_t len = 0;
    sp_table *t = NULL;
    sp_dataset *ds = NULL;
    json_t *prov = NULL;
    if ((st = sp_read_file(o->input, &data, &len)) != SP_OK) return st;
    char sha[65];
    if ((st = sp_import_digest_hex("SHA256", data, len, sha, sizeof sha)) != SP_OK) goto fail;
    st = sp_table_parse(&t, data, len, o->format, o->input, cols, n_cols);
    free(data);
    data = NULL;
    if (st != SP_OK) goto fail;
    if (t->n_rows == 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: no records; the file needs at least one line of data", o->input);
        goto fail;
    }
    if ((st = table_check_records(t, o, cols, &lay)) != SP_OK) goto fail;
    if (!(ds = sp_dataset_alloc(t->n_rows)) || !(prov = json_object())) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = table_labels(ds, t, o, prov)) != SP_OK) goto fail;
    if ((st = table_domains(ds, t, o, &lay)) != SP_OK) goto fail;
    const char *b = base_name(o->input);
    for (size_t i = 0; i < t->n_rows; i++) {
        char sid[64];
        snprintf(sid, sizeof sid, "%.40s:%zu", b, t->line[i]);
        ds->text[i] = t->cells[i * t->n_cols + COL_TEXT];
        t->cells[i * t->n_cols + COL_TEXT] = NULL; /* ownership moves to the data set */
        if (!(ds->source_id[i] = strdup(sid))) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    if (o->split_column) {
        if ((st = table_splits(ds, t, o, &lay)) != SP_OK) goto fail;
        ds->data_seed = o->split.data_seed;
    } else if ((st = sp_dataset_assign_splits(ds, o->split.data_seed, o->split.val_fraction,
                                              o->split.test_fraction)) != SP_OK) {
        goto fail;
    }
    if (o->name) {
        snprintf(ds->name, sizeof ds->name, "%s", o->name);
    } else {
        snprintf(ds->name, sizeof ds->name, "%s", b);
        char *dot = strrchr(ds->name, '.');
        if (dot && dot != ds->name) *dot = '\0';
    }
    static const char *const fmt_names[3] = {"jsonl", "csv", "tsv"};
    json_t *ood = json_array();
    for (size_t k = 0; ood && k < o->n_ood_domains; k++) json_array_append_new(ood, json_string(o->ood_domains[k]));
    json_object_set_new(prov, "importer", json_string("table"));
    json_object_set_new(prov, "input", json_string(o->input));
    json_object_set_new(prov, "input_sha256", json_string(sha));
    json_object_set_new(prov, "format", json_string(fmt_names[o->format]));
    json_object_set_new(prov, "columns", json_pack("{s:s, s:s, s:s?, s:s?}", "text", o->text_column, "label",
                                                   o->label_column, "domain", o->domain_column, "split",
                                                   o->split_column));
    json_object_set_new(prov, "ood_domains", ood ? ood : json_null());
    json_object_set_new(prov, "split_source", json_string(o->split_column ? "column" : "drawn"));
    sp_table_free(t);
    t = NULL;
    st = sp_import_finish(ds, prov, &o->split);
    prov = NULL;
    if (st != SP_OK) goto fail;
    *out = ds;
    return SP_OK;
fail:
    free(data);
    json_decref(prov);
    sp_table_free(t);
    sp_dataset_free(ds);
    return st;
}
