/* ngram.c: hashed word uni+bigram features (see ngram.h and docs/linear.md). */
#include "ngram.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

sp_ngram_options sp_ngram_options_default(void)
{
    sp_ngram_options o = {.bits = 18, .bigrams = 1, .weighting = SP_NGRAM_BINARY, .l2_normalize = 1};
    return o;
}

sp_status sp_ngram_options_check(const sp_ngram_options *o)
{
    if (o->bits < 1 || o->bits > 30)
        return sp_fail(SP_ERR_USAGE, "feature bits %d outside [1, 30]; use e.g. --bits 18", o->bits);
    if (o->weighting != SP_NGRAM_TF && o->weighting != SP_NGRAM_BINARY)
        return sp_fail(SP_ERR_USAGE, "unknown feature weighting %d; use tf or binary", (int)o->weighting);
    return SP_OK;
}

static inline uint32_t ngram_id(uint64_t fnv_state, int bits)
{
    return (uint32_t)(sp_splitmix64(fnv_state) & ((1ULL << bits) - 1));
}

uint32_t sp_ngram_hash(const char *bytes, size_t len, int bits)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)bytes[i]) * FNV_PRIME;
    return ngram_id(h, bits);
}

/* Word bytes: ASCII alphanumerics and any byte of a multi-byte UTF-8 sequence. */
static inline int ngram_is_word(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch >= 0x80;
}

static inline unsigned char ngram_lower(unsigned char ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; }

size_t sp_ngram_scan(const char *text, const sp_ngram_options *o, void (*emit)(uint32_t id, void *ctx), void *ctx)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t tokens = 0;
    uint64_t prev = 0; /* FNV state after the previous token's bytes (before finalising) */
    while (*p) {
        while (*p && !ngram_is_word(*p)) p++;
        if (!*p) break;
        uint64_t uni = FNV_OFFSET;
        /* The bigram hash continues the previous token's state with a space, then this token's bytes. */
        uint64_t bi = (prev ^ (unsigned char)' ') * FNV_PRIME;
        for (; *p && ngram_is_word(*p); p++) {
            unsigned char ch = ngram_lower(*p);
            uni = (uni ^ ch) * FNV_PRIME;
            bi = (bi ^ ch) * FNV_PRIME;
        }
        emit(ngram_id(uni, o->bits), ctx);
        if (o->bigrams && tokens > 0) emit(ngram_id(bi, o->bits), ctx);
        prev = uni;
        tokens++;
    }
    return tokens;
}

/* Per-thread buffer of one row's feature ids. */
typedef struct {
    uint32_t *ids;
    size_t n, cap;
    int failed;
} ngram_ids;

static void ngram_collect(uint32_t id, void *ctx)
{
    ngram_ids *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        uint32_t *p = realloc(b->ids, cap * sizeof *p);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->ids = p;
        b->cap = cap;
    }
    b->ids[b->n++] = id;
}

static int ngram_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Featurises texts[lo, hi) into a fresh matrix. */
static sp_status ngram_chunk(sp_csr **out, char *const *texts, size_t lo, size_t hi, const sp_ngram_options *o)
{
    sp_status st = SP_OK;
    ngram_ids b = {0};
    int32_t *cols = NULL;
    float *vals = NULL;
    size_t cap = 0;
    sp_csr *X = sp_csr_alloc((size_t)1 << o->bits, 0);
    if (!X) return sp_fail(SP_ERR_NOMEM, "out of memory for hashed features");
    for (size_t i = lo; i < hi && st == SP_OK; i++) {
        b.n = 0;
        if (texts[i]) sp_ngram_scan(texts[i], o, ngram_collect, &b);
        if (b.failed) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory hashing text %zu", i);
            break;
        }
        if (b.n > cap) {
            int32_t *c = realloc(cols, b.n * sizeof *c);
            float *v = c ? realloc(vals, b.n * sizeof *v) : NULL;
            if (c) cols = c;
            if (v) vals = v;
            if (!c || !v) {
                st = sp_fail(SP_ERR_NOMEM, "out of memory hashing text %zu", i);
                break;
            }
            cap = b.n;
        }
        if (b.n) qsort(b.ids, b.n, sizeof *b.ids, ngram_cmp_u32);
        size_t k = 0;
        for (size_t j = 0; j < b.n; j++) {
            if (k > 0 && (uint32_t)cols[k - 1] == b.ids[j]) {
                if (o->weighting == SP_NGRAM_TF) vals[k - 1] += 1.0f;
                continue;
            }
            cols[k] = (int32_t)b.ids[j];
            vals[k] = 1.0f;
            k++;
        }
        if (o->l2_normalize && k > 0) {
            double ss = 0.0;
            for (size_t j = 0; j < k; j++) ss += (double)vals[j] * vals[j];
            float inv = (float)(1.0 / sqrt(ss));
            for (size_t j = 0; j < k; j++) vals[j] *= inv;
        }
        st = sp_csr_append_row(X, cols, vals, k);
    }
    free(b.ids);
    free(cols);
    free(vals);
    if (st != SP_OK) {
        sp_csr_free(X);
        return st;
    }
    *out = X;
    return SP_OK;
}

sp_status sp_ngram_featurize(sp_csr **out, char *const *texts, size_t n, const sp_ngram_options *o, int threads)
{
    *out = NULL;
    sp_status st = sp_ngram_options_check(o);
    if (st != SP_OK) return st;
    if (threads < 1) threads = 1;
    /* Fixed contiguous chunks, several per thread for balance; the result is their in-order concatenation. */
    size_t n_chunks = (size_t)threads * 8;
    if (n_chunks > n) n_chunks = n ? n : 1;
    sp_csr **parts = calloc(n_chunks, sizeof *parts);
    sp_status *stats = calloc(n_chunks, sizeof *stats);
    char (*msgs)[256] = calloc(n_chunks, sizeof *msgs);
    if (!parts || !stats || !msgs) {
        free(parts), free(stats), free(msgs);
        return sp_fail(SP_ERR_NOMEM, "out of memory hashing %zu texts", n);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t c = 0; c < n_chunks; c++) {
        size_t lo = n * c / n_chunks, hi = n * (c + 1) / n_chunks;
        stats[c] = ngram_chunk(&parts[c], texts, lo, hi, o);
        if (stats[c] != SP_OK) strncpy(msgs[c], sp_error_message(), sizeof msgs[c] - 1);
    }
    for (size_t c = 0; c < n_chunks && st == SP_OK; c++)
        if (stats[c] != SP_OK) st = sp_fail(stats[c], "%s", msgs[c]);
    size_t nnz = 0;
    for (size_t c = 0; c < n_chunks && st == SP_OK; c++) nnz += sp_csr_nnz(parts[c]);
    sp_csr *X = NULL;
    if (st == SP_OK && !(X = sp_csr_alloc((size_t)1 << o->bits, nnz)))
        st = sp_fail(SP_ERR_NOMEM, "out of memory for %zu hashed features", nnz);
    for (size_t c = 0; c < n_chunks && st == SP_OK; c++) st = sp_csr_append(X, parts[c]);
    for (size_t c = 0; c < n_chunks; c++) sp_csr_free(parts[c]);
    free(parts), free(stats), free(msgs);
    if (st != SP_OK) {
        sp_csr_free(X);
        return st;
    }
    *out = X;
    return SP_OK;
}
