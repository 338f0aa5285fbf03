/* dataset.c: the in-memory data set: allocation, seeded stratified splits, the content hash and the
 * evaluation split views (contracts in dataset.h; file I/O in dataset_h5.c; byte layout of the hash in
 * docs/datasets.md). */
#include "dataset.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"

sp_dataset *sp_dataset_alloc(size_t n)
{
    sp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    ds->n = n;
    size_t m = n ? n : 1; /* calloc(0) may return NULL */
    ds->text = calloc(m, sizeof *ds->text);
    ds->label = calloc(m, sizeof *ds->label);
    ds->domain = calloc(m, sizeof *ds->domain);
    ds->split = calloc(m, sizeof *ds->split);
    ds->source_id = calloc(m, sizeof *ds->source_id);
    if (!ds->text || !ds->label || !ds->domain || !ds->split || !ds->source_id) {
        sp_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void sp_dataset_free(sp_dataset *ds)
{
    if (!ds) return;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->text) free(ds->text[i]);
        if (ds->source_id) free(ds->source_id[i]);
    }
    free(ds->text);
    free(ds->label);
    free(ds->domain);
    free(ds->split);
    free(ds->source_id);
    if (ds->class_names)
        for (int c = 0; c < ds->n_classes; c++) free(ds->class_names[c]);
    free(ds->class_names);
    if (ds->domain_names)
        for (int d = 0; d < ds->n_domains; d++) free(ds->domain_names[d]);
    free(ds->domain_names);
    free(ds->domain_is_ood);
    free(ds->provenance_json);
    free(ds);
}

/* Checks the invariants every producer and consumer relies on; names the first broken record. */
sp_status sp_dataset_validate(const sp_dataset *ds, const char *what)
{
    if (ds->n_classes < 1 || !ds->class_names)
        return sp_fail(SP_ERR_STATE, "%s: the data set has no classes", what);
    if (ds->n_domains < 1 || !ds->domain_names || !ds->domain_is_ood)
        return sp_fail(SP_ERR_STATE, "%s: the data set has no domains", what);
    for (int c = 0; c < ds->n_classes; c++)
        if (!ds->class_names[c]) return sp_fail(SP_ERR_STATE, "%s: class %d has no name", what, c);
    for (int d = 0; d < ds->n_domains; d++)
        if (!ds->domain_names[d]) return sp_fail(SP_ERR_STATE, "%s: domain %d has no name", what, d);
    for (size_t i = 0; i < ds->n; i++) {
        if (!ds->text[i] || !ds->source_id[i])
            return sp_fail(SP_ERR_STATE, "%s: record %zu has no text or source id", what, i);
        if (ds->label[i] < 0 || ds->label[i] >= ds->n_classes)
            return sp_fail(SP_ERR_STATE, "%s: record %zu (%s) has label %d outside 0..%d", what, i, ds->source_id[i],
                           (int)ds->label[i], ds->n_classes - 1);
        if (ds->domain[i] < 0 || ds->domain[i] >= ds->n_domains)
            return sp_fail(SP_ERR_STATE, "%s: record %zu (%s) has domain %d outside 0..%d", what, i, ds->source_id[i],
                           (int)ds->domain[i], ds->n_domains - 1);
        if (ds->split[i] > SP_SPLIT_OOD)
            return sp_fail(SP_ERR_STATE, "%s: record %zu (%s) has split %u", what, i, ds->source_id[i], ds->split[i]);
        if ((ds->split[i] == SP_SPLIT_OOD) != (ds->domain_is_ood[ds->domain[i]] != 0))
            return sp_fail(SP_ERR_STATE, "%s: record %zu (%s) is in split %u but its domain '%s' is %s", what, i,
                           ds->source_id[i], ds->split[i], ds->domain_names[ds->domain[i]],
                           ds->domain_is_ood[ds->domain[i]] ? "out of domain" : "in domain");
    }
    return SP_OK;
}

sp_status sp_dataset_assign_splits(sp_dataset *ds, uint64_t data_seed, double val_fraction, double test_fraction)
{
    if (!(val_fraction > 0 && val_fraction < 1) || !(test_fraction > 0 && test_fraction < 1) ||
        !(val_fraction + test_fraction < 1))
        return sp_fail(SP_ERR_USAGE, "split fractions val=%g test=%g: each must be in (0,1) and their sum below 1",
                       val_fraction, test_fraction);
    if (!ds->domain_is_ood || !ds->domain_names || ds->n_domains < 1 || ds->n_classes < 1)
        return sp_fail(SP_ERR_STATE, "splits drawn before the data set's classes and domains were set");
    for (size_t i = 0; i < ds->n; i++)
        if (ds->domain[i] < 0 || ds->domain[i] >= ds->n_domains || ds->label[i] < 0 || ds->label[i] >= ds->n_classes)
            return sp_fail(SP_ERR_STATE, "record %zu has domain %d / label %d outside the data set's tables", i,
                           (int)ds->domain[i], (int)ds->label[i]);
    /* Bucket the rows by stratum (domain-major), each bucket in dataset order: one pass, any stratum count. */
    size_t n_strata = (size_t)ds->n_domains * (size_t)ds->n_classes;
    size_t *rows = malloc((ds->n ? ds->n : 1) * sizeof *rows);
    size_t *start = calloc(n_strata + 1, sizeof *start);
    gsl_rng *r = sp_rng_alloc(0);
    if (!rows || !start || !r) {
        free(rows);
        free(start);
        if (r) gsl_rng_free(r);
        return sp_fail(SP_ERR_NOMEM, "out of memory drawing splits");
    }
    for (size_t i = 0; i < ds->n; i++) start[(size_t)ds->domain[i] * (size_t)ds->n_classes + (size_t)ds->label[i] + 1]++;
    for (size_t k = 0; k < n_strata; k++) start[k + 1] += start[k];
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->domain_is_ood[ds->domain[i]]) ds->split[i] = SP_SPLIT_OOD;
        rows[start[(size_t)ds->domain[i] * (size_t)ds->n_classes + (size_t)ds->label[i]]++] = i;
    }
    /* start[k] now ends stratum k; stratum k is rows[k ? start[k-1] : 0 .. start[k]). */
    for (int d = 0; d < ds->n_domains; d++) {
        if (ds->domain_is_ood[d]) continue;
        /* One generator per stratum, seeded by (domain name, label): a stratum's split does not depend on
         * which other domains or classes the data set has. */
        char purpose[SP_NAME_MAX + 16];
        snprintf(purpose, sizeof purpose, "split:%s", ds->domain_names[d]);
        for (int c = 0; c < ds->n_classes; c++) {
            size_t k = (size_t)d * (size_t)ds->n_classes + (size_t)c;
            size_t lo = k ? start[k - 1] : 0, m = start[k] - lo;
            if (m == 0) continue;
            size_t *sr = rows + lo;
            uint64_t s = sp_seed_for(data_seed, purpose, (uint64_t)c);
            gsl_rng_set(r, (unsigned long)((s ^ (s >> 32)) & 0xffffffffULL)); /* as sp_rng_alloc */
            gsl_ran_shuffle(r, sr, m, sizeof *sr);
            size_t n_test = (size_t)floor((double)m * test_fraction + 0.5);
            size_t n_val = (size_t)floor((double)m * val_fraction + 0.5);
            if (n_test > m) n_test = m;
            if (n_val > m - n_test) n_val = m - n_test;
            for (size_t j = 0; j < m; j++)
                ds->split[sr[j]] = j < n_test ? SP_SPLIT_TEST : j < n_test + n_val ? SP_SPLIT_VAL : SP_SPLIT_TRAIN;
        }
    }
    free(start);
    gsl_rng_free(r);
    free(rows);
    ds->data_seed = data_seed;
    return SP_OK;
}

/* ---------------------------------------------------------------- content hash */

static int put_u32(EVP_MD_CTX *ctx, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return EVP_DigestUpdate(ctx, b, 4);
}

static int put_u64(EVP_MD_CTX *ctx, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return EVP_DigestUpdate(ctx, b, 8);
}

static int put_str32(EVP_MD_CTX *ctx, const char *s)
{
    size_t n = strlen(s);
    return put_u32(ctx, (uint32_t)n) && EVP_DigestUpdate(ctx, s, n);
}

/* SHA-256 of the serialisation documented in docs/datasets.md ("Content hash"), as 64 hex digits. */
sp_status sp_dataset_compute_hash(const sp_dataset *ds, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return sp_fail(SP_ERR_NOMEM, "out of memory hashing the data set");
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    static const char magic[] = "splinter-dataset-v1\n";
    ok = ok && EVP_DigestUpdate(ctx, magic, sizeof magic - 1);
    ok = ok && put_u32(ctx, (uint32_t)ds->n_classes);
    for (int c = 0; ok && c < ds->n_classes; c++) ok = put_str32(ctx, ds->class_names[c]);
    ok = ok && put_u32(ctx, (uint32_t)ds->n_domains);
    for (int d = 0; ok && d < ds->n_domains; d++) {
        unsigned char ood = ds->domain_is_ood[d] ? 1 : 0;
        ok = put_str32(ctx, ds->domain_names[d]) && EVP_DigestUpdate(ctx, &ood, 1);
    }
    ok = ok && put_u64(ctx, (uint64_t)ds->n);
    for (size_t i = 0; ok && i < ds->n; i++) {
        size_t len = strlen(ds->text[i]);
        unsigned char split = ds->split[i];
        ok = put_u64(ctx, (uint64_t)len) && EVP_DigestUpdate(ctx, ds->text[i], len) &&
             put_u32(ctx, (uint32_t)ds->label[i]) && put_u32(ctx, (uint32_t)ds->domain[i]) &&
             EVP_DigestUpdate(ctx, &split, 1);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) return sp_fail(SP_ERR_STATE, "OpenSSL SHA-256 failed while hashing the data set");
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return SP_OK;
}

sp_status sp_dataset_hash(sp_dataset *ds)
{
    sp_status st = sp_dataset_validate(ds, ds->name[0] ? ds->name : "data set");
    if (st != SP_OK) return st;
    return sp_dataset_compute_hash(ds, ds->content_hash);
}

/* ---------------------------------------------------------------- split views */

static sp_status view_add(sp_split_view *views, size_t *nv, const char *name, const sp_dataset *ds, int split,
                          int domain)
{
    size_t m = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->split[i] == split && (domain < 0 || ds->domain[i] == domain)) m++;
    if (m == 0) return SP_OK;
    sp_split_view *v = &views[*nv];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->rows = malloc(m * sizeof *v->rows);
    if (!v->rows) return sp_fail(SP_ERR_NOMEM, "out of memory building split views");
    v->n = m;
    m = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->split[i] == split && (domain < 0 || ds->domain[i] == domain)) v->rows[m++] = i;
    (*nv)++;
    return SP_OK;
}

sp_status sp_dataset_split_views(const sp_dataset *ds, sp_split_view **views, size_t *n_views)
{
    *views = NULL;
    *n_views = 0;
    sp_split_view *v = calloc(3 + (size_t)ds->n_domains, sizeof *v);
    if (!v) return sp_fail(SP_ERR_NOMEM, "out of memory building split views");
    size_t nv = 0;
    static const char *const id_names[3] = {"train", "val", "test"};
    sp_status st = SP_OK;
    for (int s = 0; s < 3 && st == SP_OK; s++) st = view_add(v, &nv, id_names[s], ds, s, -1);
    for (int d = 0; d < ds->n_domains && st == SP_OK; d++) {
        if (!ds->domain_is_ood[d]) continue;
        char name[SP_NAME_MAX];
        snprintf(name, sizeof name, "ood-%s", ds->domain_names[d]);
        st = view_add(v, &nv, name, ds, SP_SPLIT_OOD, d);
    }
    if (st != SP_OK) {
        sp_split_views_free(v, nv);
        return st;
    }
    *views = v;
    *n_views = nv;
    return SP_OK;
}

void sp_split_views_free(sp_split_view *views, size_t n_views)
{
    if (!views) return;
    for (size_t i = 0; i < n_views; i++) free(views[i].rows);
    free(views);
}

/* ---------------------------------------------------------------- descriptive statistics */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

sp_status sp_dataset_length_quantiles(double *out, const sp_dataset *ds, const size_t *rows, size_t n,
                                      const double *p, size_t k)
{
    if (n == 0) return sp_fail(SP_ERR_USAGE, "quantiles of an empty set of records");
    size_t *len = malloc(n * sizeof *len);
    if (!len) return sp_fail(SP_ERR_NOMEM, "out of memory computing text lengths");
    for (size_t i = 0; i < n; i++) len[i] = strlen(ds->text[rows ? rows[i] : i]);
    qsort(len, n, sizeof *len, cmp_size);
    for (size_t j = 0; j < k; j++) {
        /* Hyndman & Fan type 7 (numpy's default "linear"): h = (n-1)p, interpolate between floor and ceil. */
        double h = (double)(n - 1) * p[j];
        size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
        out[j] = (double)len[lo] + (h - (double)lo) * ((double)len[hi] - (double)len[lo]);
    }
    free(len);
    return SP_OK;
}
