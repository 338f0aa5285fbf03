/* linear_exact.c: the exact L2 optimum of the linear family with GSL's vector_bfgs2.
 *
 * With l2 > 0 the objective of linear.h is strictly convex in W and convex in b (flat only along a common
 * shift of the biases), so it has one optimum up to that shift. That optimum is the reference model of the
 * convex Rashomon analysis: seeds of the minibatch trainer scatter around it.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <string.h>

#include "linear.h"

sp_linear_exact_options sp_linear_exact_options_default(void)
{
    sp_linear_exact_options o = {.grad_tol = 1e-7, .max_iter = 50000};
    return o;
}

typedef struct {
    const sp_csr *X;
    const int32_t *y;
    int C;
    double l2;
} exact_problem;

static double exact_f(const gsl_vector *x, void *params)
{
    const exact_problem *p = params;
    return sp_linear_objective(NULL, x->data, p->X, p->y, p->C, p->l2);
}

static void exact_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g)
{
    const exact_problem *p = params;
    *f = sp_linear_objective(g->data, x->data, p->X, p->y, p->C, p->l2);
}

static void exact_df(const gsl_vector *x, void *params, gsl_vector *g)
{
    double f;
    exact_fdf(x, params, &f, g);
}

static double exact_norm(const gsl_vector *g)
{
    double s = 0.0;
    for (size_t i = 0; i < g->size; i++) s += g->data[i] * g->data[i];
    return sqrt(s);
}

sp_status sp_linear_fit_exact(double *theta, double *grad_norm, int *iterations, const sp_csr *X, const int32_t *y,
                              int C, double l2, const sp_linear_exact_options *o)
{
    if (!(l2 > 0)) return sp_fail(SP_ERR_USAGE, "exact mode needs l2 > 0 (got %g): the optimum is not unique", l2);
    if (C < 2 || C > SP_LINEAR_MAX_CLASSES) return sp_fail(SP_ERR_USAGE, "%d classes outside [2, 64]", C);
    if (X->n_rows == 0) return sp_fail(SP_ERR_INPUT, "no training rows for the exact fit");
    for (size_t r = 0; r < X->n_rows; r++)
        if (y[r] < 0 || y[r] >= C) return sp_fail(SP_ERR_INPUT, "training row %zu: label %d outside [0, %d)", r, y[r], C);
    size_t n = X->n_cols * (size_t)C + (size_t)C;
    exact_problem prob = {.X = X, .y = y, .C = C, .l2 = l2};
    gsl_multimin_function_fdf fdf = {.n = n, .f = exact_f, .df = exact_df, .fdf = exact_fdf, .params = &prob};
    /* GSL calls its error handler (abort by default) on allocation failure; library code returns instead. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_vector *x = gsl_vector_calloc(n);
    gsl_multimin_fdfminimizer *s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, n);
    sp_status st = SP_OK;
    int iter = 0, restarts = 0;
    double gnorm = INFINITY;
    if (!x || !s) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for the exact fit of %zu parameters", n);
        goto done;
    }
    /* First trial step 1 along the steepest descent direction, line-search tolerance 0.1 (GSL's advice
     * for bfgs2). */
    if (gsl_multimin_fdfminimizer_set(s, &fdf, x, 1.0, 0.1) != GSL_SUCCESS) {
        st = sp_fail(SP_ERR_NUMERIC, "exact fit: cannot start the minimiser");
        goto done;
    }
    gnorm = exact_norm(s->gradient);
    while (gnorm >= o->grad_tol && iter < o->max_iter) {
        int status = gsl_multimin_fdfminimizer_iterate(s);
        iter++;
        gnorm = exact_norm(s->gradient);
        if (status == GSL_SUCCESS) continue;
        /* The line search stalled (GSL_ENOPROG): the memoryless BFGS direction went stale. Restart from the
         * current point along the gradient; give up if restarts stop helping. */
        if (gnorm < o->grad_tol) break;
        if (++restarts > 50) break;
        gsl_vector_memcpy(x, s->x);
        if (gsl_multimin_fdfminimizer_set(s, &fdf, x, 1e-3, 0.1) != GSL_SUCCESS) break;
        gnorm = exact_norm(s->gradient);
    }
    if (!(gnorm < o->grad_tol)) {
        st = sp_fail(SP_ERR_NUMERIC, "exact fit: gradient norm %.3g after %d iterations (%d restarts) is above %g; "
                     "raise the iteration limit or l2", gnorm, iter, restarts, o->grad_tol);
        goto done;
    }
    memcpy(theta, s->x->data, n * sizeof *theta);
    double mean = 0.0;
    double *b = theta + X->n_cols * (size_t)C;
    for (int c = 0; c < C; c++) mean += b[c];
    mean /= C;
    for (int c = 0; c < C; c++) b[c] -= mean;
done:
    if (grad_norm) *grad_norm = gnorm;
    if (iterations) *iterations = iter;
    gsl_multimin_fdfminimizer_free(s);
    gsl_vector_free(x);
    gsl_set_error_handler(old);
    return st;
}
