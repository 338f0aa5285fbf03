/* linear_predict.c: the linear family's predictions, their accuracy and loss, and the top logit contributions
 * per row (see linear.h and docs/linear.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linear.h"
#include "linear_internal.h"

void sp_linear_predict_proba(float *probs, const sp_linear_model *m, const sp_csr *X)
{
    const int C = m->n_classes;
    sp_csr_matmul(probs, X, m->W, m->b, (size_t)C);
    for (size_t r = 0; r < X->n_rows; r++) {
        float *p = probs + r * (size_t)C;
        double z[SP_LINEAR_MAX_CLASSES];
        for (int c = 0; c < C; c++) z[c] = p[c];
        linear_softmax(z, C);
        for (int c = 0; c < C; c++) p[c] = (float)z[c];
    }
}

void sp_linear_evaluate(double *accuracy, double *loss, const float *probs, const int32_t *y, const size_t *rows,
                        size_t n, int C)
{
    size_t correct = 0;
    double nll = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)C;
        int label = y[rows ? rows[i] : i], best = 0;
        for (int c = 1; c < C; c++)
            if (p[c] > p[best]) best = c;
        correct += best == label;
        nll -= log(p[label] > 1e-30f ? (double)p[label] : 1e-30);
    }
    *accuracy = n ? (double)correct / (double)n : NAN;
    *loss = n ? nll / (double)n : NAN;
}

/* ---------------------------------------------------------------- top contributions */

typedef struct {
    float key; /* |value|, or -1 for NaN (ranked last) */
    int32_t id;
    float value;
} linear_contrib;

/* Ranking order: larger |value| first, then lower id. A total order within a row (its ids are distinct). */
static inline int linear_contrib_before(const linear_contrib *x, const linear_contrib *y)
{
    return x->key != y->key ? x->key > y->key : x->id < y->id;
}

static inline void linear_contrib_swap(linear_contrib *e, size_t i, size_t j)
{
    linear_contrib t = e[i];
    e[i] = e[j], e[j] = t;
}

/* Rearranges e[0..n-1] so that e[0..k-1] are the k first entries in ranking order (in some order):
 * quickselect with a median-of-three pivot, O(n) on average. */
static void linear_contrib_select(linear_contrib *e, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (linear_contrib_before(&e[mid], &e[lo])) linear_contrib_swap(e, lo, mid);
        if (linear_contrib_before(&e[last], &e[lo])) linear_contrib_swap(e, lo, last);
        if (linear_contrib_before(&e[last], &e[mid])) linear_contrib_swap(e, mid, last);
        linear_contrib_swap(e, mid, last); /* the median of the three is the pivot, parked at the end */
        const linear_contrib pivot = e[last];
        size_t at = lo;
        for (size_t i = lo; i < last; i++)
            if (linear_contrib_before(&e[i], &pivot)) linear_contrib_swap(e, i, at++);
        linear_contrib_swap(e, at, last); /* [lo, at) rank before the pivot, (at, hi) after */
        if (k < at) hi = at;
        else if (k > at + 1) lo = at + 1;
        else return;
    }
}

/* Index of the entry ranked last among e[0..n-1] (n >= 1). */
static size_t linear_contrib_last(const linear_contrib *e, size_t n)
{
    size_t w = 0;
    for (size_t i = 1; i < n; i++)
        if (linear_contrib_before(&e[w], &e[i])) w = i;
    return w;
}

/* Moves the k first entries of e[0..n-1] in ranking order to e[0..k-1] (k < n), in some order. Most entries
 * rank after the k-th best seen so far and cost one comparison: the candidates that rank before it are
 * gathered behind e[0..k-1] and cut back to k by linear_contrib_select whenever they fill 2k slots. */
static void linear_contrib_top(linear_contrib *e, size_t n, size_t k)
{
    size_t m = k;
    linear_contrib worst = e[linear_contrib_last(e, k)];
    for (size_t i = k; i < n; i++) {
        if (!linear_contrib_before(&e[i], &worst)) continue;
        e[m++] = e[i];
        if (m == 2 * k) {
            linear_contrib_select(e, m, k);
            m = k;
            worst = e[linear_contrib_last(e, k)];
        }
    }
    linear_contrib_select(e, m, k);
}

/* Insertion sort of e[0..n-1] into ranking order (n <= K, a few dozen). */
static void linear_contrib_sort(linear_contrib *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        linear_contrib x = e[i];
        size_t j = i;
        for (; j > 0 && linear_contrib_before(&x, &e[j - 1]); j--) e[j] = e[j - 1];
        e[j] = x;
    }
}

sp_status sp_linear_predict_explain(float *probs, int32_t *ids, float *values, const sp_linear_model *m,
                                    const sp_csr *X, int K)
{
    const int C = m->n_classes;
    const float *W = m->W;
    size_t max_nnz = 0;
    for (size_t r = 0; r < X->n_rows; r++) {
        size_t k = (size_t)(X->row_ptr[r + 1] - X->row_ptr[r]);
        max_nnz = k > max_nnz ? k : max_nnz;
    }
    linear_contrib *buf = K > 0 ? malloc((max_nnz ? max_nnz : 1) * sizeof *buf) : NULL;
    if (K > 0 && !buf) return sp_fail(SP_ERR_NOMEM, "out of memory ranking feature contributions");
    for (size_t r = 0; r < X->n_rows; r++) {
        const int64_t lo = X->row_ptr[r], hi = X->row_ptr[r + 1];
        float z[SP_LINEAR_MAX_CLASSES];
        const sp_csr row = {.n_rows = 1, .n_cols = X->n_cols, .row_ptr = X->row_ptr + r, .col = X->col, .val = X->val};
        sp_csr_matmul(z, &row, W, m->b, (size_t)C);
        if (probs) {
            double p[SP_LINEAR_MAX_CLASSES];
            for (int c = 0; c < C; c++) p[c] = z[c];
            linear_softmax(p, C);
            for (int c = 0; c < C; c++) probs[r * (size_t)C + c] = (float)p[c];
        }
        if (K <= 0) continue;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        /* the row's weights are in cache from the logits */
        size_t n = (size_t)(hi - lo);
        for (size_t i = 0; i < n; i++) {
            const float *w = W + (size_t)X->col[lo + (int64_t)i] * C;
            double mean = 0.0;
            for (int c = 0; c < C; c++) mean += w[c];
            mean /= C;
            float v = (float)(X->val[lo + (int64_t)i] * (w[best] - mean));
            buf[i] = (linear_contrib){.key = isnan(v) ? -1.0f : fabsf(v), .id = X->col[lo + (int64_t)i], .value = v};
        }
        size_t k = n < (size_t)K ? n : (size_t)K;
        if (n > k) linear_contrib_top(buf, n, k);
        linear_contrib_sort(buf, k);
        for (int j = 0; j < K; j++) {
            ids[r * (size_t)K + j] = (size_t)j < k ? buf[j].id : -1;
            values[r * (size_t)K + j] = (size_t)j < k ? buf[j].value : 0.0f;
        }
    }
    free(buf);
    return SP_OK;
}

sp_status sp_linear_top_contributions(int32_t *ids, float *values, const sp_linear_model *m, const sp_csr *X, int K)
{
    return sp_linear_predict_explain(NULL, ids, values, m, X, K);
}
