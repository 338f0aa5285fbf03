/* rashomon.c: epsilon-Rashomon set membership and distinct prediction patterns. */
#include "rashomon.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *sp_eps_kind_name(sp_eps_kind kind)
{
    switch (kind) {
    case SP_EPS_LOSS_ABS: return "loss-abs";
    case SP_EPS_LOSS_REL: return "loss-rel";
    case SP_EPS_ERROR_ABS: return "error-abs";
    case SP_EPS_ERROR_REL: return "error-rel";
    }
    return "unknown";
}

size_t sp_rashomon_reference(const double *val_loss, size_t n_models)
{
    size_t best = 0;
    for (size_t m = 1; m < n_models; m++)
        if (val_loss[m] < val_loss[best]) best = m;
    return best;
}

sp_status sp_rashomon_set(uint8_t *member, size_t *size, const double *score, size_t n_models, size_t ref,
                          sp_eps_kind kind, double eps)
{
    if (!isfinite(eps) || eps < 0)
        return sp_fail(SP_ERR_USAGE, "epsilon %g is not a finite non-negative number", eps);
    double threshold = (kind == SP_EPS_LOSS_REL || kind == SP_EPS_ERROR_REL) ? score[ref] * (1.0 + eps)
                                                                            : score[ref] + eps;
    size_t k = 0;
    for (size_t m = 0; m < n_models; m++) {
        member[m] = (uint8_t)(m == ref || score[m] <= threshold);
        k += member[m];
    }
    *size = k;
    return SP_OK;
}

/* qsort has no context argument; the matrix being sorted is passed per thread. */
static _Thread_local const sp_predmatrix *pattern_pm;

static int pattern_cmp(const void *a, const void *b)
{
    const sp_predmatrix *pm = pattern_pm;
    size_t ma = *(const size_t *)a, mb = *(const size_t *)b;
    return memcmp(sp_predmatrix_bits(pm, ma), sp_predmatrix_bits(pm, mb),
                  (size_t)pm->n_planes * pm->n_words * sizeof(uint64_t));
}

sp_status sp_rashomon_patterns(size_t *out, const sp_predmatrix *pm, const uint8_t *member)
{
    size_t k = 0;
    size_t *idx = malloc(pm->n_models * sizeof *idx);
    if (!idx) return sp_fail(SP_ERR_NOMEM, "out of memory counting prediction patterns");
    for (size_t m = 0; m < pm->n_models; m++)
        if (!member || member[m]) idx[k++] = m;
    pattern_pm = pm;
    qsort(idx, k, sizeof *idx, pattern_cmp);
    size_t distinct = k > 0;
    for (size_t j = 1; j < k; j++) distinct += pattern_cmp(&idx[j - 1], &idx[j]) != 0;
    free(idx);
    *out = distinct;
    return SP_OK;
}
