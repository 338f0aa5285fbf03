/* sparse.c: CSR float32 matrices (see sparse.h). */
#include "sparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sp_csr *sp_csr_alloc(size_t n_cols, size_t nnz_hint)
{
    if (n_cols == 0 || n_cols > (size_t)INT32_MAX) return NULL;
    sp_csr *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_cols = n_cols;
    m->cap_rows = 64;
    m->cap_nnz = nnz_hint > 0 ? nnz_hint : 1024;
    m->row_ptr = calloc(m->cap_rows + 1, sizeof *m->row_ptr);
    m->col = malloc(m->cap_nnz * sizeof *m->col);
    m->val = malloc(m->cap_nnz * sizeof *m->val);
    if (!m->row_ptr || !m->col || !m->val) {
        sp_csr_free(m);
        return NULL;
    }
    return m;
}

void sp_csr_free(sp_csr *m)
{
    if (!m) return;
    free(m->row_ptr);
    free(m->col);
    free(m->val);
    free(m);
}

/* Makes room for `rows` more rows and `nnz` more entries; geometric growth keeps appends amortised O(1). */
static sp_status csr_reserve(sp_csr *m, size_t rows, size_t nnz)
{
    size_t need_rows = m->n_rows + rows, need_nnz = sp_csr_nnz(m) + nnz;
    if (need_rows > m->cap_rows) {
        size_t cap = m->cap_rows * 2 > need_rows ? m->cap_rows * 2 : need_rows;
        int64_t *p = realloc(m->row_ptr, (cap + 1) * sizeof *p);
        if (!p) return sp_fail(SP_ERR_NOMEM, "out of memory growing a sparse matrix to %zu rows", cap);
        m->row_ptr = p;
        m->cap_rows = cap;
    }
    if (need_nnz > m->cap_nnz) {
        size_t cap = m->cap_nnz * 2 > need_nnz ? m->cap_nnz * 2 : need_nnz;
        int32_t *c = realloc(m->col, cap * sizeof *c);
        if (!c) return sp_fail(SP_ERR_NOMEM, "out of memory growing a sparse matrix to %zu entries", cap);
        m->col = c;
        float *v = realloc(m->val, cap * sizeof *v);
        if (!v) return sp_fail(SP_ERR_NOMEM, "out of memory growing a sparse matrix to %zu entries", cap);
        m->val = v;
        m->cap_nnz = cap;
    }
    return SP_OK;
}

sp_status sp_csr_append_row(sp_csr *m, const int32_t *cols, const float *vals, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        if (cols[j] < 0 || (size_t)cols[j] >= m->n_cols)
            return sp_fail(SP_ERR_INPUT, "sparse row %zu, entry %zu: column %d outside [0, %zu); hash features "
                           "into the matrix width", m->n_rows, j, (int)cols[j], m->n_cols);
        if (j > 0 && cols[j] <= cols[j - 1])
            return sp_fail(SP_ERR_INPUT, "sparse row %zu, entry %zu: column %d not above the previous %d; sort "
                           "and merge duplicate columns first", m->n_rows, j, (int)cols[j], (int)cols[j - 1]);
    }
    sp_status st = csr_reserve(m, 1, k);
    if (st != SP_OK) return st;
    size_t at = sp_csr_nnz(m);
    if (k) {
        memcpy(m->col + at, cols, k * sizeof *cols);
        memcpy(m->val + at, vals, k * sizeof *vals);
    }
    m->row_ptr[m->n_rows + 1] = (int64_t)(at + k);
    m->n_rows++;
    return SP_OK;
}

sp_status sp_csr_append(sp_csr *a, const sp_csr *b)
{
    if (a->n_cols != b->n_cols)
        return sp_fail(SP_ERR_STATE, "cannot append a sparse matrix of %zu columns to one of %zu", b->n_cols,
                       a->n_cols);
    size_t bn = sp_csr_nnz(b);
    sp_status st = csr_reserve(a, b->n_rows, bn);
    if (st != SP_OK) return st;
    size_t at = sp_csr_nnz(a);
    if (bn) {
        memcpy(a->col + at, b->col, bn * sizeof *b->col);
        memcpy(a->val + at, b->val, bn * sizeof *b->val);
    }
    for (size_t r = 0; r < b->n_rows; r++) a->row_ptr[a->n_rows + 1 + r] = (int64_t)at + b->row_ptr[r + 1];
    a->n_rows += b->n_rows;
    return SP_OK;
}

sp_status sp_csr_select_rows(sp_csr **out, const sp_csr *m, const size_t *rows, size_t n)
{
    *out = NULL;
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= m->n_rows)
            return sp_fail(SP_ERR_STATE, "row %zu selected from a sparse matrix of %zu rows", rows[i], m->n_rows);
        nnz += (size_t)(m->row_ptr[rows[i] + 1] - m->row_ptr[rows[i]]);
    }
    sp_csr *s = sp_csr_alloc(m->n_cols, nnz);
    if (!s) return sp_fail(SP_ERR_NOMEM, "out of memory selecting %zu sparse rows", n);
    sp_status st = csr_reserve(s, n, nnz);
    if (st != SP_OK) {
        sp_csr_free(s);
        return st;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t lo = m->row_ptr[rows[i]], k = m->row_ptr[rows[i] + 1] - lo;
        memcpy(s->col + at, m->col + lo, (size_t)k * sizeof *s->col);
        memcpy(s->val + at, m->val + lo, (size_t)k * sizeof *s->val);
        at += (size_t)k;
        s->row_ptr[i + 1] = (int64_t)at;
    }
    s->n_rows = n;
    *out = s;
    return SP_OK;
}

void sp_csr_matmul(float *out, const sp_csr *m, const float *W, const float *bias, size_t C)
{
    /* The sums live in registers (two classes) or a local block: accumulating into out[] itself would make
     * every addition wait for the previous store, as out may alias W. Same additions in the same order. */
    enum { BLOCK = 64 };
    for (size_t r = 0; r < m->n_rows; r++) {
        const int64_t lo = m->row_ptr[r], hi = m->row_ptr[r + 1];
        float *o = out + r * C;
        if (C == 2) {
            float a0 = bias ? bias[0] : 0.0f, a1 = bias ? bias[1] : 0.0f;
            for (int64_t j = lo; j < hi; j++) {
                const float *w = W + (size_t)m->col[j] * 2;
                float x = m->val[j];
                a0 += x * w[0];
                a1 += x * w[1];
            }
            o[0] = a0, o[1] = a1;
            continue;
        }
        for (size_t c0 = 0; c0 < C; c0 += BLOCK) {
            size_t nc = C - c0 < BLOCK ? C - c0 : BLOCK;
            float a[BLOCK];
            for (size_t c = 0; c < nc; c++) a[c] = bias ? bias[c0 + c] : 0.0f;
            for (int64_t j = lo; j < hi; j++) {
                const float *w = W + (size_t)m->col[j] * C + c0;
                float x = m->val[j];
                for (size_t c = 0; c < nc; c++) a[c] += x * w[c];
            }
            for (size_t c = 0; c < nc; c++) o[c0 + c] = a[c];
        }
    }
}

sp_status sp_csr_write(sp_store_writer *w, const char *group, const sp_csr *m)
{
    char path[512], shape[64];
    size_t nnz = sp_csr_nnz(m);
    hsize_t d_ptr = m->n_rows + 1, d_nnz = nnz;
    sp_status st;
    snprintf(path, sizeof path, "%s/indptr", group);
    if ((st = sp_store_write_i64(w, path, 1, &d_ptr, m->row_ptr, 1)) != SP_OK) return st;
    snprintf(path, sizeof path, "%s/indices", group);
    if ((st = sp_store_write_i32(w, path, 1, &d_nnz, m->col, 1)) != SP_OK) return st;
    snprintf(path, sizeof path, "%s/data", group);
    if ((st = sp_store_write_f32(w, path, 1, &d_nnz, m->val, 1)) != SP_OK) return st;
    snprintf(shape, sizeof shape, "%zu,%zu", m->n_rows, m->n_cols);
    return sp_store_attr_str(w, group, "shape", shape);
}
