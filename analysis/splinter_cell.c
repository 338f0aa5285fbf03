/* splinter_cell.c: one variant's model pairs in one (OOD split, layer, pooling) cell as Mv x Mv matrices of
 * per-pair values, their means over the in-domain-agreeing pairs and the Multi-Bootstrap replicates of those
 * means (docs/splintering.md, "Per variant"). Shared by the pair-level measures (splinter_summary.c) and the
 * concept probes (splinter_concepts_run.c), so both are resampled by the same draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"
#include "splinter_run_internal.h"

void srun_cell_free(srun_cell *c)
{
    free(c->global);
    free(c->local);
    sp_boot_groups_free(c->groups);
    free(c->value);
    memset(c, 0, sizeof *c);
}

sp_status srun_cell_alloc(srun_cell *c, const srun_state *st, size_t v, size_t n_measures)
{
    memset(c, 0, sizeof *c);
    c->n_measures = n_measures;
    for (size_t m = 0; m < st->n_models; m++) c->Mv += st->variant_of[m] == v;
    const size_t cells = n_measures * c->Mv * c->Mv;
    c->global = malloc((c->Mv ? c->Mv : 1) * sizeof *c->global);
    c->local = calloc(st->n_models, sizeof *c->local);
    c->value = malloc((cells ? cells : 1) * sizeof *c->value);
    uint64_t *keys = malloc((c->Mv ? c->Mv : 1) * sizeof *keys);
    sp_status status = SP_OK;
    if (!c->global || !c->local || !c->value || !keys)
        status = sp_fail(SP_ERR_NOMEM, "out of memory summarising variant %s", st->variants[v]);
    if (status == SP_OK) {
        for (size_t m = 0, k = 0; m < st->n_models; m++)
            if (st->variant_of[m] == v) c->global[k] = m, keys[k] = st->models[m].group_key, c->local[m] = k++;
        for (size_t i = 0; i < cells; i++) c->value[i] = NAN;
        if (c->Mv > 0) status = sp_boot_groups_alloc(&c->groups, keys, c->Mv);
    }
    free(keys);
    if (status != SP_OK) srun_cell_free(c);
    return status;
}

double *srun_cell_at(srun_cell *c, size_t q, size_t model_a, size_t model_b)
{
    size_t i = c->local[model_a], j = c->local[model_b];
    if (i > j) {
        size_t t = i;
        i = j;
        j = t;
    }
    return &c->value[(q * c->Mv + i) * c->Mv + j];
}

/* Mean of measure q over the distinct pairs among draw[0..k) (positions x < y with different models),
 * skipping undefined values; *pairs = how many entered. */
static double cell_mean(const srun_cell *c, size_t q, const size_t *draw, size_t k, size_t *pairs)
{
    double sum = 0;
    size_t used = 0;
    for (size_t x = 0; x < k; x++)
        for (size_t y = x + 1; y < k; y++) {
            size_t i = draw[x], j = draw[y];
            if (i == j) continue;
            if (i > j) {
                size_t t = i;
                i = j;
                j = t;
            }
            double v = c->value[(q * c->Mv + i) * c->Mv + j];
            if (isnan(v)) continue;
            sum += v;
            used++;
        }
    if (pairs) *pairs = used;
    return used ? sum / (double)used : NAN;
}

sp_status srun_cell_estimates(double *est, size_t *n_pairs, double *reps, const srun_cell *c, const char *variant,
                              size_t B, uint64_t seed)
{
    const size_t Q = c->n_measures;
    size_t *all = malloc((c->Mv ? c->Mv : 1) * sizeof *all);
    size_t *draw = malloc((c->groups ? sp_boot_groups_max_draw(c->groups) : 1) * sizeof *draw);
    if (!all || !draw) {
        free(all);
        free(draw);
        return sp_fail(SP_ERR_NOMEM, "out of memory bootstrapping %s", variant);
    }
    for (size_t i = 0; i < c->Mv; i++) all[i] = i;
    for (size_t q = 0; q < Q; q++) est[q] = cell_mean(c, q, all, c->Mv, &n_pairs[q]);
    char purpose[96];
    snprintf(purpose, sizeof purpose, "splinter-models:%s", variant);
    for (size_t b = 0; b < B && c->groups; b++) {
        gsl_rng *r = sp_rng_alloc(sp_seed_for(seed, purpose, b));
        if (!r) {
            free(all);
            free(draw);
            return sp_fail(SP_ERR_NOMEM, "out of memory bootstrapping %s", variant);
        }
        size_t k = 0;
        sp_boot_draw_models(draw, NULL, &k, c->groups, r);
        gsl_rng_free(r);
        for (size_t q = 0; q < Q; q++) reps[q * B + b] = cell_mean(c, q, draw, k, NULL);
    }
    free(all);
    free(draw);
    return SP_OK;
}

sp_status srun_interval(double *lo, double *hi, const double *reps, size_t B, double level)
{
    *lo = *hi = NAN;
    return B >= 2 ? sp_boot_percentile(lo, hi, reps, B, level) : SP_OK;
}

sp_status srun_diff_interval(double *lo, double *hi, double *work, const double *reps_a, const double *reps_b,
                             size_t B, double level)
{
    for (size_t r = 0; r < B; r++) work[r] = reps_a[r] - reps_b[r];
    return srun_interval(lo, hi, work, B, level);
}
