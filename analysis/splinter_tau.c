/* splinter_tau.c: the calibrated threshold tau_rep of the 2x2 tables: how much similarity an ID-vs-ID
 * comparison loses from sampling alone (docs/splintering.md, "Calibrated tau_rep").
 *
 * For one pooling and layer, the ID inputs are split B times at random into halves H1 (n1 = n/2 rounded
 * down) and H2; every model pair's linear CKA, debiased CKA and Procrustes similarity are computed on the
 * whole ID set and on each half (sp_similarity_all_pairs, all models at once). A finite-sample model
 * sim(m inputs) = sim_inf + beta / m + noise of variance gamma / m then gives the drop expected between the
 * n ID inputs and an independent sample of n_ood inputs: beta from the halves against the whole set (a
 * delete-half jackknife bias estimate), the noise from the half-vs-half differences, rescaled. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "bootstrap.h"
#include "seeds.h"
#include "similarity.h"
#include "splinter_run_internal.h"

void srun_tau_null_free(srun_tau_null *t)
{
    free(t->full);
    free(t->half_mean);
    free(t->diff);
    memset(t, 0, sizeof *t);
}

/* sim[3][M*M] of rows `rows[0..m)` of every model's layer-l activations (gathered into buf). */
static sp_status tau_similarity(double *sim, float **buf, const srun_state *st, const sp_activation_set *set,
                                size_t l, const size_t *rows, size_t m)
{
    const size_t M = st->n_models;
    for (size_t k = 0; k < M; k++) {
        const size_t d = set->dims[l * M + k];
        const float *src = set->acts[l * M + k];
        for (size_t i = 0; i < m; i++) memcpy(buf[k] + i * d, src + (rows ? rows[i] : i) * d, d * sizeof(float));
    }
    sp_status s = sp_similarity_all_pairs(sim, sim + M * M, sim + 2 * M * M, (const float *const *)buf,
                                          set->dims + l * M, M, m);
    /* Procrustes comes back as d^2; like s_rep, use the similarity 1 - d^2 / 2. */
    for (size_t i = 0; s == SP_OK && i < M * M; i++) sim[2 * M * M + i] = 1.0 - sim[2 * M * M + i] / 2.0;
    return s;
}

static int size_cmp(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

sp_status srun_tau_null_build(srun_tau_null *t, const srun_state *st, const sp_activation_set *id,
                              const unsigned char *skip, const char *pooling, const sp_splinter_run_options *opt)
{
    memset(t, 0, sizeof *t);
    const size_t M = st->n_models, L = st->n_layers, B = opt->tau_resamples, n = id->n;
    t->n_id = n;
    t->n1 = n / 2;
    t->n2 = n - t->n1;
    t->B = B;
    t->n_models = M;
    if (!opt->tau_rep_calibrated) return SP_OK;
    if (B < 2) return sp_fail(SP_ERR_USAGE, "calibrating tau_rep needs >= 2 resamples (got %zu)", B);
    if (t->n1 < 4) return sp_fail(SP_ERR_INPUT, "calibrating tau_rep needs >= 8 ID inputs (got %zu)", n);
    const size_t S = 3 * M * M;
    t->full = calloc(L * S, sizeof *t->full);
    t->half_mean = calloc(L * S, sizeof *t->half_mean);
    t->diff = calloc(L * S * B, sizeof *t->diff);
    size_t *perm = malloc(n * sizeof *perm);
    float **buf = calloc(M, sizeof *buf);
    double *h1 = malloc(S * sizeof *h1), *h2 = malloc(S * sizeof *h2);
    sp_status s = t->full && t->half_mean && t->diff && perm && buf && h1 && h2
                      ? SP_OK
                      : sp_fail(SP_ERR_NOMEM, "out of memory calibrating tau_rep for %zu models", M);
    size_t dmax = 0;
    for (size_t k = 0; k < L * M; k++) dmax = id->dims[k] > dmax ? id->dims[k] : dmax;
    for (size_t k = 0; s == SP_OK && k < M; k++)
        if (!(buf[k] = malloc(n * dmax * sizeof **buf))) s = sp_fail(SP_ERR_NOMEM, "out of memory calibrating tau_rep");
    char purpose[96];
    snprintf(purpose, sizeof purpose, "tau-rep:%s", pooling);
    for (size_t l = 0; s == SP_OK && l < L; l++) {
        if (skip[l]) continue;
        if ((s = tau_similarity(t->full + l * S, buf, st, id, l, NULL, n)) != SP_OK) break;
        for (size_t b = 0; s == SP_OK && b < B; b++) {
            /* Replicate b's split is the same for every layer (one generator per replicate). */
            gsl_rng *r = sp_rng_alloc(sp_seed_for(opt->seed, purpose, b));
            if (!r) {
                s = sp_fail(SP_ERR_NOMEM, "out of memory calibrating tau_rep");
                break;
            }
            for (size_t i = 0; i < n; i++) perm[i] = i;
            gsl_ran_shuffle(r, perm, n, sizeof *perm);
            gsl_rng_free(r);
            qsort(perm, t->n1, sizeof *perm, size_cmp);
            qsort(perm + t->n1, t->n2, sizeof *perm, size_cmp);
            if ((s = tau_similarity(h1, buf, st, id, l, perm, t->n1)) != SP_OK ||
                (s = tau_similarity(h2, buf, st, id, l, perm + t->n1, t->n2)) != SP_OK)
                break;
            for (size_t i = 0; i < S; i++) {
                t->half_mean[l * S + i] += (h1[i] + h2[i]) / 2.0 / (double)B;
                t->diff[(l * S + i) * B + b] = h1[i] - h2[i];
            }
        }
    }
    if (s != SP_OK) s = sp_fail_context(s, "calibrating tau_rep (pooling %s)", pooling);
    for (size_t k = 0; buf && k < M; k++) free(buf[k]);
    free(buf);
    free(perm);
    free(h1);
    free(h2);
    if (s != SP_OK) srun_tau_null_free(t);
    return s;
}

sp_status srun_tau_value(double *tau, const srun_tau_null *t, size_t layer, int measure, size_t a, size_t b,
                         size_t n_ood, const sp_splinter_run_options *opt)
{
    if (!opt->tau_rep_calibrated) {
        *tau = opt->tau_rep;
        return SP_OK;
    }
    const size_t M = t->n_models, S = 3 * M * M, B = t->B, i = (size_t)measure * M * M + a * M + b;
    const double full = t->full[layer * S + i], half = t->half_mean[layer * S + i];
    const double inv_n = 1.0 / (double)t->n_id, inv_o = 1.0 / (double)n_ood;
    const double inv1 = 1.0 / (double)t->n1, inv2 = 1.0 / (double)t->n2;
    /* E[sim(half)] - sim(all) = beta ((1/n1 + 1/n2) / 2 - 1/n). */
    const double beta = (half - full) / ((inv1 + inv2) / 2.0 - inv_n);
    const double scale = sqrt((inv_n + inv_o) / (inv1 + inv2));
    double *T = malloc(B * sizeof *T);
    if (!T) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < B; r++)
        T[r] = beta * (inv_n - inv_o) + scale * (t->diff[(layer * S + i) * B + r] - beta * (inv1 - inv2));
    double lo, hi;
    /* The one-sided tau_level quantile is the upper end of the two-sided (2 tau_level - 1) interval. */
    sp_status s = sp_boot_percentile(&lo, &hi, T, B, 2.0 * opt->tau_level - 1.0);
    free(T);
    /* 1e-6: the rounding level of similarities from float32 activations, so that representations equal up
     * to a rotation on both sides (no sampling noise at all) still count as agreeing. */
    *tau = hi + 1e-6;
    return s;
}
