/* similarity_cca.c: CCA, SVCCA and PWCCA between two representations of the same inputs (see similarity.h).
 *
 * Both sides are centred and decomposed X = U S V^T (thin SVD, double). The kept left singular vectors U_x
 * [n, kx] and U_y [n, ky] are orthonormal bases of the two spans, so the canonical correlations are the
 * singular values of U_x^T U_y (Bjorck & Golub 1973); no covariance matrix is inverted. For PWCCA the
 * canonical variates of X are h_i = U_x P e_i (P: left singular vectors of U_x^T U_y) and
 * <h_i, x_j> = (P^T S V^T)_ij, so the weights need no pass over the n inputs.
 */
#include "similarity.h"

#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>

/* Thin SVD of one centred side: U [n, r], s [r] (decreasing), V [p, r], r = min(n, p). */
typedef struct {
    gsl_matrix *U, *V;
    gsl_vector *s;
} cca_side;

static void cca_side_free(cca_side *c)
{
    gsl_matrix_free(c->U);
    gsl_matrix_free(c->V);
    gsl_vector_free(c->s);
}

/* SVD of the centred copy of X [n, p]. GSL decomposes tall matrices only; a wide X is decomposed as X^T
 * with the roles of U and V swapped. */
static sp_status cca_side_build(cca_side *c, const float *X, size_t n, size_t p)
{
    c->U = c->V = NULL;
    c->s = NULL;
    const int wide = p > n;
    const size_t rows = wide ? p : n, cols = wide ? n : p;
    gsl_matrix *A = gsl_matrix_alloc(rows, cols), *W = gsl_matrix_alloc(cols, cols);
    gsl_matrix *Xw = gsl_matrix_alloc(cols, cols);
    gsl_vector *s = gsl_vector_alloc(cols), *work = gsl_vector_alloc(cols);
    double *mean = calloc(p, sizeof *mean);
    sp_status st = SP_OK;
    if (!A || !W || !Xw || !s || !work || !mean) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for the SVD of a %zu x %zu representation", n, p);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) mean[j] += X[i * p + j];
    for (size_t j = 0; j < p; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double v = (double)X[i * p + j] - mean[j];
            if (!isfinite(v)) {
                st = sp_fail(SP_ERR_NUMERIC, "representation has a non-finite value at input %zu, unit %zu", i, j);
                goto fail;
            }
            gsl_matrix_set(A, wide ? j : i, wide ? i : j, v);
        }
    /* The modified Golub-Reinsch algorithm starts with a QR step, faster when rows >> cols. */
    if (gsl_linalg_SV_decomp_mod(A, Xw, W, s, work) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "SVD of a %zu x %zu representation did not converge", n, p);
        goto fail;
    }
    c->U = wide ? W : A;
    c->V = wide ? A : W;
    c->s = s;
    gsl_matrix_free(Xw);
    gsl_vector_free(work);
    free(mean);
    return SP_OK;
fail:
    gsl_matrix_free(A);
    gsl_matrix_free(W);
    gsl_matrix_free(Xw);
    gsl_vector_free(s);
    gsl_vector_free(work);
    free(mean);
    return st;
}

/* Directions kept: numerical rank (singular values above max(n, p) * FLT_EPSILON * s_0, the float32 noise
 * floor of the inputs), then the fewest leading ones holding keep_var of the variance. */
static size_t cca_side_keep(const cca_side *c, size_t n, size_t p, double keep_var)
{
    const size_t r = c->s->size;
    const double s0 = r ? gsl_vector_get(c->s, 0) : 0.0;
    const double tol = (double)(n > p ? n : p) * FLT_EPSILON * s0;
    size_t rank = 0;
    double total = 0.0;
    while (rank < r && gsl_vector_get(c->s, rank) > tol) {
        total += gsl_vector_get(c->s, rank) * gsl_vector_get(c->s, rank);
        rank++;
    }
    if (keep_var >= 1.0) return rank;
    double cum = 0.0;
    for (size_t k = 0; k < rank; k++) {
        cum += gsl_vector_get(c->s, k) * gsl_vector_get(c->s, k);
        if (cum >= keep_var * total) return k + 1;
    }
    return rank;
}

sp_status sp_cca(sp_cca_result *res, double *rho, const float *X, const float *Y, size_t n, size_t p, size_t q,
                 double keep_var)
{
    if (n < 2 || p == 0 || q == 0)
        return sp_fail(SP_ERR_USAGE, "CCA needs at least 2 inputs and non-empty representations (n=%zu, "
                                     "widths %zu and %zu)", n, p, q);
    if (!(keep_var > 0.0 && keep_var <= 1.0))
        return sp_fail(SP_ERR_USAGE, "CCA variance share %g is outside (0, 1]; use 0.99 for SVCCA, 1 for CCA",
                       keep_var);
    gsl_set_error_handler_off(); /* GSL's default handler aborts; we return a status instead */
    cca_side cx = {0}, cy = {0};
    gsl_matrix *C = NULL, *Q = NULL, *Mx = NULL;
    gsl_vector *sv = NULL, *work = NULL;
    sp_status st;
    if ((st = cca_side_build(&cx, X, n, p)) != SP_OK) return st;
    if ((st = cca_side_build(&cy, Y, n, q)) != SP_OK) goto done;
    const size_t kx = cca_side_keep(&cx, n, p, keep_var), ky = cca_side_keep(&cy, n, q, keep_var);
    if (kx == 0 || ky == 0) {
        st = sp_fail(SP_ERR_NUMERIC, "CCA of a constant representation (%s side) is undefined; drop that layer",
                     kx == 0 ? "first" : "second");
        goto done;
    }
    /* C = U_x^T U_y, stored with at least as many rows as columns for GSL: transposed when kx < ky. */
    const int tr = kx < ky;
    const size_t r = tr ? kx : ky;
    C = gsl_matrix_alloc(tr ? ky : kx, r);
    Q = gsl_matrix_alloc(r, r);
    sv = gsl_vector_alloc(r);
    work = gsl_vector_alloc(r);
    Mx = gsl_matrix_alloc(p, r);
    if (!C || !Q || !sv || !work || !Mx) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for CCA of widths %zu and %zu", p, q);
        goto done;
    }
    gsl_matrix_const_view Ux = gsl_matrix_const_submatrix(cx.U, 0, 0, n, kx);
    gsl_matrix_const_view Uy = gsl_matrix_const_submatrix(cy.U, 0, 0, n, ky);
    if (tr)
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Uy.matrix, &Ux.matrix, 0.0, C);
    else
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Ux.matrix, &Uy.matrix, 0.0, C);
    if (gsl_linalg_SV_decomp(C, Q, sv, work) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "SVD of the %zu x %zu CCA cross matrix did not converge", kx, ky);
        goto done;
    }
    /* X's canonical directions in U_x coordinates: P [kx, r]. */
    const gsl_matrix *P = tr ? Q : C;

    double mean = 0.0;
    for (size_t i = 0; i < r; i++) {
        double v = gsl_vector_get(sv, i);
        v = v > 1.0 ? 1.0 : v; /* a cosine of principal angles; rounding can exceed 1 by an ulp */
        gsl_vector_set(sv, i, v);
        if (rho) rho[i] = v;
        mean += v;
    }
    /* PWCCA weights: alpha_i = sum_j |(V_x S_x P)_{j i}| over the p units. */
    gsl_matrix *VS = gsl_matrix_alloc(p, kx);
    if (!VS) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for PWCCA weights of width %zu", p);
        goto done;
    }
    for (size_t j = 0; j < p; j++)
        for (size_t l = 0; l < kx; l++) gsl_matrix_set(VS, j, l, gsl_matrix_get(cx.V, j, l) * gsl_vector_get(cx.s, l));
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, VS, P, 0.0, Mx);
    gsl_matrix_free(VS);
    double wsum = 0.0, pw = 0.0;
    for (size_t i = 0; i < r; i++) {
        double a = 0.0;
        for (size_t j = 0; j < p; j++) a += fabs(gsl_matrix_get(Mx, j, i));
        wsum += a;
        pw += a * gsl_vector_get(sv, i);
    }
    res->rank_x = kx;
    res->rank_y = ky;
    res->n_rho = r;
    res->n_forced = kx + ky > n - 1 ? kx + ky - (n - 1) : 0;
    res->warning = res->n_forced > 0;
    res->mean_rho = mean / (double)r;
    res->pwcca = wsum > 0.0 ? pw / wsum : 0.0;
done:
    cca_side_free(&cx);
    cca_side_free(&cy);
    gsl_matrix_free(C);
    gsl_matrix_free(Q);
    gsl_matrix_free(Mx);
    gsl_vector_free(sv);
    gsl_vector_free(work);
    return st;
}
