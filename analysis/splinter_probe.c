/* splinter_probe.c: L2-regularised multinomial logistic probes on frozen activations (splinter_measures.h).
 *
 * The objective is smooth and strictly convex (l2 > 0), so BFGS from zero reaches the unique minimum; the
 * iteration count and tolerances are fixed, so a probe is a deterministic function of its inputs.
 * Parameters are packed as theta = [W (d x C, row-major), bias (C)].
 */
#include "splinter_measures.h"

#include <gsl/gsl_cblas.h> /* prototypes; the symbols resolve to OpenBLAS */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "similarity.h"

typedef struct {
    const double *X; /* [n, d] */
    const int32_t *y;
    size_t n, d, C;
    double l2;
    double *Z; /* [n, C] scratch: logits, then p - onehot(y) */
} probe_problem;

/* Objective and gradient (g may be NULL). Logits Z = X W + 1 b^T and the gradient X^T (P - Y) are two
 * GEMMs; the log-sum-exp is shifted by the row's max logit for stability. */
static double probe_eval(const gsl_vector *theta, void *params, gsl_vector *g)
{
    const probe_problem *pp = params;
    const size_t n = pp->n, d = pp->d, C = pp->C;
    const double *W = theta->data, *b = theta->data + d * C;
    double *Z = pp->Z, f = 0.0;
    for (size_t i = 0; i < n; i++) memcpy(Z + i * C, b, C * sizeof *Z);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)C, (int)d, 1.0, pp->X, (int)d, W, (int)C,
                1.0, Z, (int)C);
    for (size_t i = 0; i < n; i++) {
        double *z = Z + i * C;
        double zmax = z[0];
        for (size_t c = 1; c < C; c++) zmax = z[c] > zmax ? z[c] : zmax;
        double s = 0.0;
        for (size_t c = 0; c < C; c++) s += exp(z[c] - zmax);
        const double lse = zmax + log(s);
        f += lse - z[pp->y[i]];
        if (g)
            for (size_t c = 0; c < C; c++) z[c] = exp(z[c] - lse) - (c == (size_t)pp->y[i]); /* p_c - 1[c = y] */
    }
    const double inv = 1.0 / (double)n;
    double w2 = 0.0;
    for (size_t k = 0; k < d * C; k++) w2 += W[k] * W[k];
    if (g) {
        double *gW = g->data, *gb = g->data + d * C;
        /* gW = X^T (P - Y) / n + l2 W */
        memcpy(gW, W, d * C * sizeof *gW);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)C, (int)n, inv, pp->X, (int)d, Z, (int)C,
                    pp->l2, gW, (int)C);
        for (size_t c = 0; c < C; c++) gb[c] = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < C; c++) gb[c] += Z[i * C + c];
        for (size_t c = 0; c < C; c++) gb[c] *= inv;
    }
    return f * inv + 0.5 * pp->l2 * w2;
}

static double probe_f(const gsl_vector *theta, void *params) { return probe_eval(theta, params, NULL); }

static void probe_df(const gsl_vector *theta, void *params, gsl_vector *g) { probe_eval(theta, params, g); }

static void probe_fdf(const gsl_vector *theta, void *params, double *f, gsl_vector *g)
{
    *f = probe_eval(theta, params, g);
}

sp_status sp_probe_fit(double *W, double *bias, const double *X, const int32_t *y, size_t n, size_t d,
                       size_t n_classes, double l2, int max_iter)
{
    if (n == 0 || d == 0 || n_classes < 2 || !(l2 > 0.0) || max_iter < 1)
        return sp_fail(SP_ERR_USAGE, "probe needs inputs, >= 2 classes, l2 > 0 and >= 1 iteration (n=%zu, d=%zu, "
                                     "classes=%zu, l2=%g)", n, d, n_classes, l2);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= n_classes)
            return sp_fail(SP_ERR_INPUT, "probe label %d of input %zu is outside [0, %zu)", (int)y[i], i, n_classes);
    sp_gsl_quiet(); /* GSL's default handler aborts; we return a status instead */
    const size_t P = d * n_classes + n_classes;
    probe_problem pp = {X, y, n, d, n_classes, l2, malloc(n * n_classes * sizeof(double))};
    gsl_vector *theta = gsl_vector_calloc(P);
    gsl_multimin_fdfminimizer *mm = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, P);
    sp_status st = SP_OK;
    if (!pp.Z || !theta || !mm) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a probe of %zu x %zu", d, n_classes);
        goto done;
    }
    gsl_multimin_function_fdf fn = {probe_f, probe_df, probe_fdf, P, &pp};
    /* Step 0.1 and line tolerance 0.1 are GSL's recommended BFGS2 settings. */
    gsl_multimin_fdfminimizer_set(mm, &fn, theta, 0.1, 0.1);
    for (int it = 0; it < max_iter; it++) {
        int rc = gsl_multimin_fdfminimizer_iterate(mm);
        if (rc == GSL_ENOPROG) break; /* at the minimum to line-search precision */
        if (rc != GSL_SUCCESS) {
            st = sp_fail(SP_ERR_NUMERIC, "probe optimisation failed (%s); check the activations for NaN or Inf",
                         gsl_strerror(rc));
            goto done;
        }
        if (gsl_multimin_test_gradient(mm->gradient, 1e-6) == GSL_SUCCESS) break;
    }
    const gsl_vector *best = gsl_multimin_fdfminimizer_x(mm);
    if (!isfinite(mm->f)) {
        st = sp_fail(SP_ERR_NUMERIC, "probe objective is not finite; check the activations for NaN or Inf");
        goto done;
    }
    memcpy(W, best->data, d * n_classes * sizeof *W);
    memcpy(bias, best->data + d * n_classes, n_classes * sizeof *bias);
done:
    gsl_multimin_fdfminimizer_free(mm);
    gsl_vector_free(theta);
    free(pp.Z);
    return st;
}

void sp_probe_predict(int32_t *pred, const double *W, const double *bias, const double *X, size_t n, size_t d,
                      size_t n_classes)
{
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double best_z = -INFINITY;
        for (size_t c = 0; c < n_classes; c++) {
            double z = bias[c];
            for (size_t j = 0; j < d; j++) z += X[i * d + j] * W[j * n_classes + c];
            if (z > best_z) { /* ties go to the lower class */
                best_z = z;
                best = c;
            }
        }
        pred[i] = (int32_t)best;
    }
}
