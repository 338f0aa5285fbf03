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

/* A contribution's rank as one integer, larger = ranked first: |value| (its float bits are monotonic for
 * non-negative floats; +1 so that 0 ranks above NaN, which gets 0 and ranks last), then the lower id
 * (complemented). Ids within a row are distinct, so ranks are too. */
static inline uint64_t linear_contrib_rank(float value, int32_t id)
{
    uint32_t bits = 0;
    if (!isnan(value)) {
        float a = fabsf(value);
        memcpy(&bits, &a, sizeof bits);
        bits += 1;
    }
    return (uint64_t)bits << 32 | (uint32_t)~(uint32_t)id;
}

typedef struct {
    uint64_t rank;
    float value;
} linear_contrib;

sp_status sp_linear_predict_explain(float *probs, int32_t *ids, float *values, const sp_linear_model *m,
                                    const sp_csr *X, int K)
{
    const int C = m->n_classes;
    const float *W = m->W;
    linear_contrib *top = K > 0 ? malloc((size_t)K * sizeof *top) : NULL;
    if (K > 0 && !top) return sp_fail(SP_ERR_NOMEM, "out of memory ranking feature contributions");
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
        /* the row's weights are in cache from the logits; top[0..k) holds the best so far in ranking
         * order, and most entries rank below its last one (one comparison each) */
        size_t k = 0;
        for (int64_t j = lo; j < hi; j++) {
            const float *w = W + (size_t)X->col[j] * C;
            double mean = 0.0;
            if (C == 2) { /* the general loop's additions, unrolled */
                mean = (mean + w[0] + w[1]) / 2;
            } else {
                for (int c = 0; c < C; c++) mean += w[c];
                mean /= C;
            }
            float v = (float)(X->val[j] * (w[best] - mean));
            uint64_t rank = linear_contrib_rank(v, X->col[j]);
            if (k == (size_t)K && rank <= top[K - 1].rank) continue;
            size_t at = k < (size_t)K ? k++ : (size_t)K - 1;
            for (; at > 0 && top[at - 1].rank < rank; at--) top[at] = top[at - 1];
            top[at] = (linear_contrib){.rank = rank, .value = v};
        }
        for (int j = 0; j < K; j++) {
            ids[r * (size_t)K + j] = (size_t)j < k ? (int32_t)~(uint32_t)top[j].rank : -1;
            values[r * (size_t)K + j] = (size_t)j < k ? top[j].value : 0.0f;
        }
    }
    free(top);
    return SP_OK;
}

sp_status sp_linear_top_contributions(int32_t *ids, float *values, const sp_linear_model *m, const sp_csr *X, int K)
{
    return sp_linear_predict_explain(NULL, ids, values, m, X, K);
}
