/* capacity.c: Blahut-Arimoto channel capacity and the per-example Rashomon capacity. */
#include "capacity.h"

#include <math.h>
#include <stdlib.h>

sp_status sp_capacity_ws_alloc(sp_capacity_ws **out, size_t max_rows, int n_classes)
{
    *out = NULL;
    if (max_rows == 0 || n_classes < 1)
        return sp_fail(SP_ERR_USAGE, "capacity workspace needs >= 1 row and >= 1 class");
    sp_capacity_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return sp_fail(SP_ERR_NOMEM, "out of memory for a capacity workspace");
    ws->max_rows = max_rows;
    ws->n_classes = n_classes;
    ws->W = malloc(max_rows * (size_t)n_classes * sizeof *ws->W);
    ws->p = malloc(2 * max_rows * sizeof *ws->p); /* current and trial distributions */
    ws->d = malloc(2 * max_rows * sizeof *ws->d);
    ws->q = malloc((size_t)n_classes * sizeof *ws->q);
    if (!ws->W || !ws->p || !ws->d || !ws->q) {
        sp_capacity_ws_free(ws);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %d capacity workspace", max_rows, n_classes);
    }
    *out = ws;
    return SP_OK;
}

void sp_capacity_ws_free(sp_capacity_ws *ws)
{
    if (!ws) return;
    free(ws->W);
    free(ws->p);
    free(ws->d);
    free(ws->q);
    free(ws);
}

/* One evaluation at input distribution p: q = p W, d[m] = KL(W_m || q) (nats); returns I(p) = sum p d and
 * Blahut's bounds *lower = ln sum_m p_m e^{d_m} <= C <= *upper = max_m d_m (valid for any p). */
/* (1 + x) ln(1 + x) - x >= 0 without cancellation: the series sum_{k>=2} (-x)^k / (k (k - 1)) for small |x|
 * (15 terms leave a relative error below 1e-17 for |x| < 0.05). */
static double kl_term(double x)
{
    if (x <= -1.0) return 1.0; /* w = 0: the limit of (1 + x) ln(1 + x) is 0 */
    if (fabs(x) >= 0.05) return (1.0 + x) * log1p(x) - x;
    double s = 0, xk = x * x;
    for (int k = 2; k <= 16; k++, xk *= -x) s += xk / ((double)k * (double)(k - 1));
    return s;
}

/* One evaluation at input distribution p: q = p W, d[m] = KL(W_m || q) (nats); returns I(p) = sum p d and
 * Blahut's bounds *lower = ln sum_m p_m e^{d_m} <= C <= *upper = max_m d_m (valid for any p).
 * KL is summed as sum_c q_c f((w_c - q_c) / q_c), f(x) = (1 + x) ln(1 + x) - x: every term is >= 0 and
 * second order, so nearly coinciding rows (every model says 0.999) keep full relative precision instead
 * of cancelling to rounding noise, which the over-relaxed steps below rely on. */
static double ba_eval(sp_capacity_ws *ws, size_t M, const double *p, double *d, double *lower, double *upper)
{
    const int C = ws->n_classes;
    const double *W = ws->W;
    double *q = ws->q;
    for (int c = 0; c < C; c++) q[c] = 0;
    for (size_t m = 0; m < M; m++)
        for (int c = 0; c < C; c++) q[c] += p[m] * W[m * (size_t)C + (size_t)c];
    double up = -INFINITY, mi = 0;
    for (size_t m = 0; m < M; m++) {
        double kl = 0;
        for (int c = 0; c < C; c++) {
            double w = W[m * (size_t)C + (size_t)c];
            if (q[c] > 0) kl += q[c] * kl_term((w - q[c]) / q[c]);
        }
        d[m] = kl;
        mi += p[m] * kl;
        if (kl > up) up = kl;
    }
    double z = 0; /* sum p (e^{d - up} - 1), so ln(1 + z) keeps the small gap exact */
    for (size_t m = 0; m < M; m++) z += p[m] * expm1(d[m] - up);
    *lower = up + log1p(z);
    *upper = up;
    return mi;
}

double sp_capacity_blahut_arimoto(sp_capacity_ws *ws, size_t M, int *iterations)
{
    const int C = ws->n_classes;
    double *W = ws->W, *p = ws->p, *d = ws->d;
    double *p_try = ws->p + ws->max_rows, *d_try = ws->d + ws->max_rows;
    for (size_t m = 0; m < M; m++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += W[m * (size_t)C + (size_t)c];
        for (int c = 0; c < C; c++) {
            double w = W[m * (size_t)C + (size_t)c] / s;
            W[m * (size_t)C + (size_t)c] = w;
        }
        p[m] = 1.0 / (double)M;
    }
    double lower, upper;
    double mi = ba_eval(ws, M, p, d, &lower, &upper);
    double best_lower = lower, best_upper = upper, step = 1.0;
    int it;
    for (it = 1; it <= SP_CAPACITY_MAX_ITER; it++) {
        if (best_upper - best_lower <= SP_CAPACITY_TOL) break;
        /* Over-relaxed update p' ~ p e^{step d}: step 1 is Blahut-Arimoto (never decreases I); a longer step
         * is kept only if I(p') >= I(p), and the step doubles after each accepted one. */
        for (;;) {
            double z = 0;
            for (size_t m = 0; m < M; m++) z += p_try[m] = p[m] * exp(step * (d[m] - upper));
            for (size_t m = 0; m < M; m++) p_try[m] /= z;
            double lo_try, up_try;
            double mi_try = ba_eval(ws, M, p_try, d_try, &lo_try, &up_try);
            if (step == 1.0 || mi_try >= mi) {
                for (size_t m = 0; m < M; m++) p[m] = p_try[m], d[m] = d_try[m];
                mi = mi_try, lower = lo_try, upper = up_try;
                break;
            }
            step = step / 4 > 1.0 ? step / 4 : 1.0;
        }
        step = step * 2 < 1e15 ? step * 2 : 1e15;
        if (lower > best_lower) best_lower = lower;
        if (upper < best_upper) best_upper = upper;
    }
    if (iterations) *iterations = it;
    /* Rounding can leave the bound a hair below zero for identical rows. */
    return (best_lower > 0 ? best_lower : 0.0) / log(2.0);
}

sp_status sp_rashomon_capacity(double *rc, size_t *n_capped, const sp_predmatrix *pm, const uint8_t *member)
{
    const size_t n = pm->n_examples, M = pm->n_models;
    const int C = pm->n_classes;
    size_t k = 0;
    for (size_t m = 0; m < M; m++) k += member == NULL || member[m];
    if (k == 0) return sp_fail(SP_ERR_USAGE, "Rashomon capacity of an empty set of models");
    size_t *idx = malloc(k * sizeof *idx);
    if (!idx) return sp_fail(SP_ERR_NOMEM, "out of memory for Rashomon capacity");
    k = 0;
    for (size_t m = 0; m < M; m++)
        if (member == NULL || member[m]) idx[k++] = m;
    size_t rows = C == 2 ? 2 : k, capped = 0;
    int failed = 0;
#pragma omp parallel reduction(+ : capped) reduction(| : failed)
    {
        sp_capacity_ws *ws = NULL;
        if (sp_capacity_ws_alloc(&ws, rows, C) != SP_OK) failed = 1;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            if (!ws) continue;
            size_t used;
            if (C == 2) {
                /* the two extreme rows (see capacity.h) */
                const float *g = sp_predmatrix_row(pm, idx[0]) + 2 * i;
                double lo1 = g[1], lo0 = g[0], hi1 = g[1], hi0 = g[0];
                for (size_t j = 1; j < k; j++) {
                    g = sp_predmatrix_row(pm, idx[j]) + 2 * i;
                    if (g[1] < lo1) lo1 = g[1], lo0 = g[0];
                    if (g[1] > hi1) hi1 = g[1], hi0 = g[0];
                }
                ws->W[0] = lo0, ws->W[1] = lo1, ws->W[2] = hi0, ws->W[3] = hi1;
                used = 2;
            } else {
                for (size_t j = 0; j < k; j++) {
                    const float *g = sp_predmatrix_row(pm, idx[j]) + (size_t)C * i;
                    for (int c = 0; c < C; c++) ws->W[j * (size_t)C + (size_t)c] = g[c];
                }
                used = k;
            }
            int iters;
            double bits = sp_capacity_blahut_arimoto(ws, used, &iters);
            if (iters > SP_CAPACITY_MAX_ITER) capped++;
            rc[i] = exp2(bits);
        }
        sp_capacity_ws_free(ws);
    }
    free(idx);
    if (failed) return sp_fail(SP_ERR_NOMEM, "out of memory for Rashomon capacity workspaces");
    if (n_capped) *n_capped = capped;
    return SP_OK;
}
