/* cca_map.c: the CCA alignment map (see cca_map.h): ridge-regularised whiteners, the top-k canonical
 * directions from the SVD of the whitened cross-covariance, and their correlations on other inputs.
 *
 * The SVD of M [p, q] comes from the eigendecomposition of the smaller of M^T M and M M^T (GSL's symmetric
 * eigensolver, as for the Procrustes nuclear norm in similarity.c): only the top k directions are used and
 * their singular values are canonical correlations in (0, 1], far above the squared-condition error.
 */
#include "cca_map.h"

#include "similarity.h" /* sp_gsl_quiet */

#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Column means of X [n, p] into mu [p]. */
static void col_means(double *mu, const double *X, size_t n, size_t p)
{
    memset(mu, 0, p * sizeof *mu);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) mu[j] += X[i * p + j];
    for (size_t j = 0; j < p; j++) mu[j] /= (double)n;
}

/* Xc [n, p] = X minus its column means. */
static void centred_copy(double *Xc, const double *X, size_t n, size_t p, double *mu)
{
    col_means(mu, X, n, p);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) Xc[i * p + j] = X[i * p + j] - mu[j];
}

sp_status sp_cca_whitener(double *W, const double *X, size_t n, size_t p, double ridge)
{
    if (n < 2 || p == 0 || !(ridge > 0.0))
        return sp_fail(SP_ERR_USAGE, "CCA map needs >= 2 inputs, width >= 1 and a ridge > 0 (got n=%zu, p=%zu, "
                                     "ridge %g)", n, p, ridge);
    sp_gsl_quiet(); /* GSL's default handler aborts; we return a status instead */
    double *Xc = malloc(n * p * sizeof *Xc), *mu = malloc(p * sizeof *mu);
    gsl_matrix *S = gsl_matrix_alloc(p, p), *E = gsl_matrix_alloc(p, p);
    gsl_vector *lam = gsl_vector_alloc(p);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(p);
    sp_status st = SP_OK;
    if (!Xc || !mu || !S || !E || !lam || !ws) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu whitener", p, p);
        goto done;
    }
    centred_copy(Xc, X, n, p, mu);
    gsl_matrix_const_view Xv = gsl_matrix_const_view_array(Xc, n, p);
    gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0 / (double)(n - 1), &Xv.matrix, 0.0, S);
    double tr = 0.0;
    for (size_t j = 0; j < p; j++) tr += gsl_matrix_get(S, j, j);
    if (!isfinite(tr)) {
        st = sp_fail(SP_ERR_NUMERIC, "CCA map: representation has non-finite values");
        goto done;
    }
    if (!(tr > 0.0)) {
        st = sp_fail(SP_ERR_NUMERIC, "CCA map of a constant representation is undefined; drop that layer");
        goto done;
    }
    const double shift = ridge * tr / (double)p;
    for (size_t j = 0; j < p; j++) gsl_matrix_set(S, j, j, gsl_matrix_get(S, j, j) + shift);
    if (gsl_eigen_symmv(S, lam, E, ws) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "eigendecomposition of a %zu x %zu covariance did not converge", p, p);
        goto done;
    }
    /* W = E diag(lam^-1/2) E^T; lam >= shift > 0 up to rounding. */
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b <= a; b++) {
            double s = 0.0;
            for (size_t k = 0; k < p; k++) {
                const double l = gsl_vector_get(lam, k);
                s += gsl_matrix_get(E, a, k) * gsl_matrix_get(E, b, k) / sqrt(l > shift * 0.5 ? l : shift * 0.5);
            }
            W[a * p + b] = W[b * p + a] = s;
        }
done:
    free(Xc);
    free(mu);
    gsl_matrix_free(S);
    gsl_matrix_free(E);
    gsl_vector_free(lam);
    gsl_eigen_symmv_free(ws);
    return st;
}

sp_status sp_cca_map_fit(double *Ua, double *Ub, double *s, const double *Wa, const double *Wb, const double *A,
                         const double *B, size_t n, size_t p, size_t q, size_t k)
{
    const size_t r = p < q ? p : q;
    if (n < 2 || k < 1 || k > r)
        return sp_fail(SP_ERR_USAGE, "CCA map needs >= 2 inputs and 1 <= k <= min(%zu, %zu) (got n=%zu, k=%zu)", p, q,
                       n, k);
    sp_gsl_quiet();
    const int wide = p < q; /* decompose M M^T [p, p] when p < q, else M^T M [q, q] */
    double *Ac = malloc(n * p * sizeof *Ac), *Bc = malloc(n * q * sizeof *Bc), *mu = malloc((p > q ? p : q) * sizeof *mu);
    gsl_matrix *C = gsl_matrix_alloc(p, q), *T = gsl_matrix_alloc(p, q), *M = gsl_matrix_alloc(p, q);
    gsl_matrix *G = gsl_matrix_alloc(r, r), *E = gsl_matrix_alloc(r, r);
    gsl_matrix *P = gsl_matrix_calloc(p, k), *Q = gsl_matrix_calloc(q, k);
    gsl_vector *lam = gsl_vector_alloc(r);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(r);
    sp_status st = SP_OK;
    if (!Ac || !Bc || !mu || !C || !T || !M || !G || !E || !P || !Q || !lam || !ws) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu CCA map", p, q);
        goto done;
    }
    centred_copy(Ac, A, n, p, mu);
    centred_copy(Bc, B, n, q, mu);
    gsl_matrix_const_view Av = gsl_matrix_const_view_array(Ac, n, p), Bv = gsl_matrix_const_view_array(Bc, n, q);
    gsl_matrix_const_view Wav = gsl_matrix_const_view_array(Wa, p, p), Wbv = gsl_matrix_const_view_array(Wb, q, q);
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0 / (double)(n - 1), &Av.matrix, &Bv.matrix, 0.0, C); /* S_ab */
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Wav.matrix, C, 0.0, T);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, T, &Wbv.matrix, 0.0, M); /* M = Wa S_ab Wb */
    if (wide)
        gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, M, M, 0.0, G);
    else
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, M, M, 0.0, G);
    if (gsl_eigen_symmv(G, lam, E, ws) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "eigendecomposition for a %zu x %zu CCA map did not converge", p, q);
        goto done;
    }
    gsl_eigen_symmv_sort(lam, E, GSL_EIGEN_SORT_VAL_DESC);
    /* The eigenvectors are one side's singular vectors; the other side is M (or M^T) times them / s. */
    gsl_matrix *known = wide ? P : Q, *other = wide ? Q : P;
    const double l0 = gsl_vector_get(lam, 0);
    for (size_t i = 0; i < k; i++) {
        const double l = gsl_vector_get(lam, i);
        /* Directions at the eigensolver's rounding level carry no correlation: left zero. */
        const double si = l > 1e-13 * (l0 > 1.0 ? l0 : 1.0) ? sqrt(l) : 0.0;
        s[i] = si;
        if (si == 0.0) continue;
        for (size_t j = 0; j < r; j++) gsl_matrix_set(known, j, i, gsl_matrix_get(E, j, i));
        const size_t no = wide ? q : p;
        for (size_t j = 0; j < no; j++) {
            double v = 0.0;
            for (size_t t = 0; t < r; t++)
                v += (wide ? gsl_matrix_get(M, t, j) : gsl_matrix_get(M, j, t)) * gsl_matrix_get(E, t, i);
            gsl_matrix_set(other, j, i, v / si);
        }
    }
    gsl_matrix_view Uav = gsl_matrix_view_array(Ua, p, k), Ubv = gsl_matrix_view_array(Ub, q, k);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Wav.matrix, P, 0.0, &Uav.matrix);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Wbv.matrix, Q, 0.0, &Ubv.matrix);
done:
    free(Ac);
    free(Bc);
    free(mu);
    gsl_matrix_free(C);
    gsl_matrix_free(T);
    gsl_matrix_free(M);
    gsl_matrix_free(G);
    gsl_matrix_free(E);
    gsl_matrix_free(P);
    gsl_matrix_free(Q);
    gsl_vector_free(lam);
    gsl_eigen_symmv_free(ws);
    return st;
}

sp_status sp_cca_map_score(double *rho, double *mean, const double *Ua, const double *Ub, const double *A,
                           const double *B, size_t n, size_t p, size_t q, size_t k)
{
    if (n < 2 || k < 1) return sp_fail(SP_ERR_USAGE, "CCA map score needs >= 2 inputs and k >= 1 (n=%zu, k=%zu)", n, k);
    double *X = malloc(n * k * sizeof *X), *Y = malloc(n * k * sizeof *Y);
    if (!X || !Y) {
        free(X), free(Y);
        return sp_fail(SP_ERR_NOMEM, "out of memory scoring a CCA map on %zu inputs", n);
    }
    /* The canonical variates; the correlations below centre them, so A and B need no centring here. */
    gsl_matrix_const_view Av = gsl_matrix_const_view_array(A, n, p), Bv = gsl_matrix_const_view_array(B, n, q);
    gsl_matrix_const_view Uav = gsl_matrix_const_view_array(Ua, p, k), Ubv = gsl_matrix_const_view_array(Ub, q, k);
    gsl_matrix_view Xv = gsl_matrix_view_array(X, n, k), Yv = gsl_matrix_view_array(Y, n, k);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Av.matrix, &Uav.matrix, 0.0, &Xv.matrix);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Bv.matrix, &Ubv.matrix, 0.0, &Yv.matrix);
    double total = 0.0;
    for (size_t i = 0; i < k; i++) {
        double mx = 0.0, my = 0.0;
        for (size_t t = 0; t < n; t++) mx += X[t * k + i], my += Y[t * k + i];
        mx /= (double)n;
        my /= (double)n;
        double sxy = 0.0, sxx = 0.0, syy = 0.0;
        for (size_t t = 0; t < n; t++) {
            const double x = X[t * k + i] - mx, y = Y[t * k + i] - my;
            sxy += x * y, sxx += x * x, syy += y * y;
        }
        const double r = sxx > 0.0 && syy > 0.0 ? sxy / sqrt(sxx * syy) : 0.0;
        if (rho) rho[i] = r;
        total += r;
    }
    *mean = total / (double)k;
    free(X);
    free(Y);
    return SP_OK;
}
