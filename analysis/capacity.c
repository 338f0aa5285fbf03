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
    ws->logW = malloc(max_rows * (size_t)n_classes * sizeof *ws->logW);
    ws->p = malloc(max_rows * sizeof *ws->p);
    ws->d = malloc(max_rows * sizeof *ws->d);
    ws->q = malloc((size_t)n_classes * sizeof *ws->q);
    if (!ws->W || !ws->logW || !ws->p || !ws->d || !ws->q) {
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
    free(ws->logW);
    free(ws->p);
    free(ws->d);
    free(ws->q);
    free(ws);
}

double sp_capacity_blahut_arimoto(sp_capacity_ws *ws, size_t M, int *iterations)
{
    const int C = ws->n_classes;
    double *W = ws->W, *L = ws->logW, *p = ws->p, *d = ws->d, *q = ws->q;
    for (size_t m = 0; m < M; m++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += W[m * (size_t)C + (size_t)c];
        for (int c = 0; c < C; c++) {
            double w = W[m * (size_t)C + (size_t)c] / s;
            W[m * (size_t)C + (size_t)c] = w;
            L[m * (size_t)C + (size_t)c] = w > 0 ? log(w) : 0.0;
        }
        p[m] = 1.0 / (double)M;
    }
    double lower = 0;
    int it;
    for (it = 1; it <= SP_CAPACITY_MAX_ITER; it++) {
        for (int c = 0; c < C; c++) q[c] = 0;
        for (size_t m = 0; m < M; m++)
            for (int c = 0; c < C; c++) q[c] += p[m] * W[m * (size_t)C + (size_t)c];
        for (int c = 0; c < C; c++) q[c] = q[c] > 0 ? log(q[c]) : 0.0; /* q now holds ln q */
        double upper = -INFINITY, z = 0;
        for (size_t m = 0; m < M; m++) {
            double kl = 0;
            for (int c = 0; c < C; c++) {
                double w = W[m * (size_t)C + (size_t)c];
                if (w > 0) kl += w * (L[m * (size_t)C + (size_t)c] - q[c]);
            }
            d[m] = exp(kl);
            if (kl > upper) upper = kl;
            z += p[m] * d[m];
        }
        lower = log(z);
        if (upper - lower <= SP_CAPACITY_TOL) break;
        for (size_t m = 0; m < M; m++) p[m] = p[m] * d[m] / z;
    }
    if (iterations) *iterations = it;
    /* Rounding can leave the bound a hair below zero for identical rows. */
    return (lower > 0 ? lower : 0.0) / log(2.0);
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
