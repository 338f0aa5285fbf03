/* splinter_bootstrap.c: percentile bootstrap over inputs for one pair's splintering measures
 * (splinter_measures.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"
#include "blas_threads.h"
#include "splinter_measures.h"

/* Percentile (linear interpolation between order statistics) of sorted x[0..n). */
static double quantile_sorted(const double *x, size_t n, double q)
{
    const double h = q * (double)(n - 1);
    const size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    return x[lo] + (h - (double)lo) * (x[hi] - x[lo]);
}

static int double_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Interval of the finite values among v[0..n) (sorted in place). */
static void interval_of(sp_interval *ci, double *v, size_t n, double level)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) v[k++] = v[i];
    if (k == 0) {
        ci->lo = ci->hi = NAN;
        return;
    }
    qsort(v, k, sizeof *v, double_cmp);
    ci->lo = quantile_sorted(v, k, (1.0 - level) / 2.0);
    ci->hi = quantile_sorted(v, k, (1.0 + level) / 2.0);
}

/* One replicate: gathers the resampled rows and reruns the pair measures without probes. */
static sp_status boot_one(sp_splinter_layer *L, const float *a_id, const float *b_id, size_t n_id,
                          const float *a_ood, const float *b_ood, size_t n_ood, size_t da, size_t db,
                          const size_t *ri, const size_t *ro, const sp_splinter_options *opt)
{
    float *buf = malloc((n_id + n_ood) * (da + db) * sizeof *buf);
    if (!buf) return sp_fail(SP_ERR_NOMEM, "out of memory for a bootstrap resample");
    float *ai = buf, *bi = ai + n_id * da, *ao = bi + n_id * db, *bo = ao + n_ood * da;
    for (size_t i = 0; i < n_id; i++) {
        memcpy(ai + i * da, a_id + ri[i] * da, da * sizeof *ai);
        memcpy(bi + i * db, b_id + ri[i] * db, db * sizeof *bi);
    }
    for (size_t i = 0; i < n_ood; i++) {
        memcpy(ao + i * da, a_ood + ro[i] * da, da * sizeof *ao);
        memcpy(bo + i * db, b_ood + ro[i] * db, db * sizeof *bo);
    }
    sp_status st = sp_splinter_pair(L, ai, bi, n_id, ao, bo, n_ood, da, db, NULL, 0, opt);
    free(buf);
    return st;
}

sp_status sp_splinter_pair_bootstrap(sp_splinter_intervals *ci, const float *a_id, const float *b_id,
                                     size_t n_id, const float *a_ood, const float *b_ood, size_t n_ood,
                                     size_t da, size_t db, const sp_splinter_options *opt, size_t n_boot,
                                     double level, uint64_t seed)
{
    if (n_boot < 2 || !(level > 0.0 && level < 1.0))
        return sp_fail(SP_ERR_USAGE, "bootstrap needs >= 2 resamples and a level in (0, 1) (got %zu, %g)", n_boot,
                       level);
    sp_splinter_layer L0;
    sp_status st = sp_splinter_pair(&L0, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, NULL, 0, opt);
    if (st != SP_OK) return st;
    const size_t K = SP_SIM_MEASURES + 2; /* s_rep per measure, s_align, unit fraction */
    size_t *ri = malloc(n_boot * n_id * sizeof *ri), *ro = malloc(n_boot * n_ood * sizeof *ro);
    double *stat = malloc(K * n_boot * sizeof *stat);
    sp_status *bst = malloc(n_boot * sizeof *bst);
    gsl_rng *rng = sp_rng_alloc(seed);
    if (!ri || !ro || !stat || !bst || !rng) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for %zu bootstrap resamples", n_boot);
        goto done;
    }
    /* All resamples are drawn up front from one generator, so they do not depend on the thread count. */
    for (size_t b = 0; b < n_boot; b++) {
        for (size_t i = 0; i < n_id; i++) ri[b * n_id + i] = gsl_rng_uniform_int(rng, n_id);
        for (size_t i = 0; i < n_ood; i++) ro[b * n_ood + i] = gsl_rng_uniform_int(rng, n_ood);
    }
    int blas_saved = sp_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t b = 0; b < n_boot; b++) {
        sp_splinter_layer L;
        bst[b] = boot_one(&L, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, ri + b * n_id, ro + b * n_ood, opt);
        if (bst[b] != SP_OK) continue;
        for (int m = 0; m < SP_SIM_MEASURES; m++) stat[m * n_boot + b] = L.s_rep[m];
        stat[SP_SIM_MEASURES * n_boot + b] = L.s_align;
        stat[(SP_SIM_MEASURES + 1) * n_boot + b] = L.unit_splinter_frac;
    }
    sp_blas_serial_end(blas_saved);
    for (size_t b = 0; b < n_boot; b++)
        if (bst[b] != SP_OK) { /* rerun serially so this thread holds the message */
            sp_splinter_layer L;
            st = boot_one(&L, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, ri + b * n_id, ro + b * n_ood, opt);
            st = st != SP_OK ? sp_fail_context(st, "bootstrap resample %zu", b)
                             : sp_fail(SP_ERR_STATE, "bootstrap resample %zu failed only in parallel", b);
            goto done;
        }
    for (int m = 0; m < SP_SIM_MEASURES; m++) {
        ci->s_rep[m].est = L0.s_rep[m];
        interval_of(&ci->s_rep[m], stat + m * n_boot, n_boot, level);
    }
    ci->s_align.est = L0.s_align;
    interval_of(&ci->s_align, stat + SP_SIM_MEASURES * n_boot, n_boot, level);
    ci->unit_splinter_frac.est = L0.unit_splinter_frac;
    interval_of(&ci->unit_splinter_frac, stat + (SP_SIM_MEASURES + 1) * n_boot, n_boot, level);
done:
    free(ri);
    free(ro);
    free(stat);
    free(bst);
    gsl_rng_free(rng);
    return st;
}
