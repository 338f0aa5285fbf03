/* sparse.h: compressed sparse row (CSR) float32 matrices: the hashed text features of the linear family.
 *
 * Rows are appended one at a time with strictly ascending column indices, so a matrix is always valid CSR
 * (scipy.sparse.csr_matrix((val, col, row_ptr), shape) reads it as-is):
 *
 *     sp_csr *X = sp_csr_alloc(1u << 18, 0);
 *     int32_t cols[2] = {3, 70};  float vals[2] = {1.0f, 2.0f};
 *     if (sp_csr_append_row(X, cols, vals, 2) != SP_OK) ...;
 *     float out[1 * 2];
 *     sp_csr_matmul(out, X, W, 2);            // out[n_rows, 2] = X @ W[n_cols, 2]
 *     sp_csr_free(X);
 *
 * Dimension letters: R rows, F columns (features), C output columns (classes).
 */
#ifndef SPLINTER_SPARSE_H
#define SPLINTER_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "store.h"

typedef struct {
    size_t n_rows;    /* R */
    size_t n_cols;    /* F */
    int64_t *row_ptr; /* [R + 1]; row r holds entries row_ptr[r] .. row_ptr[r+1]-1 */
    int32_t *col;     /* [nnz] column of each entry, strictly ascending within a row */
    float *val;       /* [nnz] value of each entry */
    size_t cap_rows;  /* allocated rows (row_ptr holds cap_rows + 1) */
    size_t cap_nnz;   /* allocated entries */
} sp_csr;

/* Number of stored entries. */
static inline size_t sp_csr_nnz(const sp_csr *m) { return (size_t)m->row_ptr[m->n_rows]; }

/* An empty matrix (0 rows) of n_cols columns with room for nnz_hint entries (grows as needed).
 * n_cols must be in [1, INT32_MAX]. NULL on allocation failure or a bad n_cols. */
sp_csr *sp_csr_alloc(size_t n_cols, size_t nnz_hint);
void sp_csr_free(sp_csr *m);

/* Appends one row of k entries. cols must be strictly ascending and in [0, n_cols); values are copied.
 * SP_ERR_INPUT (naming the row and entry) if not, SP_ERR_NOMEM if growing fails; m is unchanged then. */
sp_status sp_csr_append_row(sp_csr *m, const int32_t *cols, const float *vals, size_t k);

/* Appends all rows of b to a (same n_cols). */
sp_status sp_csr_append(sp_csr *a, const sp_csr *b);

/* A new matrix made of rows[0..n-1] of m in that order (rows may repeat). */
sp_status sp_csr_select_rows(sp_csr **out, const sp_csr *m, const size_t *rows, size_t n);

/* out[R, C] = m[R, F] @ W[F, C] + bias[C] (bias may be NULL). W and out are row-major. */
void sp_csr_matmul(float *out, const sp_csr *m, const float *W, const float *bias, size_t C);

/* Writes the matrix as a group `group` with datasets indptr int64 [R+1], indices int32 [nnz], data float32
 * [nnz] and attribute shape "R,F" (scipy.sparse.csr_matrix((data, indices, indptr), shape) reads it). */
sp_status sp_csr_write(sp_store_writer *w, const char *group, const sp_csr *m);

#endif
