/* similarity_cca.c: CCA, SVCCA and PWCCA between two representations of the same inputs (see similarity.h).
 *
 * Both sides are centred and decomposed X = U S V^T (thin SVD, double). The kept left singular vectors U_x
 * [n, kx] and U_y [n, ky] are orthonormal bases of the two spans, so the canonical correlations are the
 * singular values of U_x^T U_y (Bjorck & Golub 1973); no covariance matrix is inverted. For PWCCA the
 * canonical variates of X are h_i = U_x P e_i (P: left singular vectors of U_x^T U_y) and
 * <h_i, x_j> = (P^T S V^T)_ij, so the weights need no pass over the n inputs.
 */
#include "similarity.h"
#include "blas_threads.h"

#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
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

/* Thin SVD of the centred copy of X [n, p] from the eigendecomposition of its smaller Gram matrix (X^T X
 * when p <= n, else X X^T), then U = X V S^-1 (or V = X^T U S^-1). Squaring the condition number costs
 * nothing here: only directions with s_i > max(n, p) * FLT_EPSILON * s_0 are ever kept (cca_side_keep), and
 * for those the eigenvalue error eps * s_0^2 is below 1e-9 relative. A Householder SVD of the n x p matrix
 * (GSL) is ~40x slower at n = 5000, p = 128. */
static sp_status cca_side_build(cca_side *c, const float *X, size_t n, size_t p)
{
    c->U = c->V = NULL;
    c->s = NULL;
    const int wide = p > n;
    const size_t r = wide ? n : p;
    gsl_matrix *A = gsl_matrix_alloc(n, p), *G = gsl_matrix_alloc(r, r), *E = gsl_matrix_alloc(r, r);
    gsl_matrix *U = gsl_matrix_calloc(n, r), *V = gsl_matrix_calloc(p, r);
    gsl_vector *s = gsl_vector_alloc(r);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(r);
    double *mean = calloc(p, sizeof *mean);
    sp_status st = SP_OK;
    if (!A || !G || !E || !U || !V || !s || !ws || !mean) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for the SVD of a %zu x %zu representation", n, p);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) mean[j] += X[i * p + j];
    for (size_t j = 0; j < p; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p; j++) {
            double v = (double)X[i * p + j] - mean[j];
            if (!isfinite(v)) {
                st = sp_fail(SP_ERR_NUMERIC, "representation has a non-finite value at input %zu, unit %zu", i, j);
                goto done;
            }
            gsl_matrix_set(A, i, j, v);
        }
    gsl_blas_dsyrk(CblasLower, wide ? CblasNoTrans : CblasTrans, 1.0, A, 0.0, G); /* eigen_symmv reads lower */
    if (gsl_eigen_symmv(G, s, E, ws) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "eigendecomposition of a %zu x %zu Gram matrix did not converge", r, r);
        goto done;
    }
    gsl_eigen_symmv_sort(s, E, GSL_EIGEN_SORT_VAL_DESC);
    for (size_t k = 0; k < r; k++) {
        const double l = gsl_vector_get(s, k);
        gsl_vector_set(s, k, l > 0.0 ? sqrt(l) : 0.0);
    }
    /* The eigenvectors are one side's singular vectors; the other side is X (or X^T) times them / s. */
    gsl_matrix *known = wide ? U : V, *other = wide ? V : U;
    gsl_matrix_memcpy(known, E);
    gsl_blas_dgemm(wide ? CblasTrans : CblasNoTrans, CblasNoTrans, 1.0, A, E, 0.0, other);
    for (size_t k = 0; k < r; k++) {
        const double sk = gsl_vector_get(s, k);
        gsl_vector_view col = gsl_matrix_column(other, k);
        if (sk > 0.0)
            gsl_vector_scale(&col.vector, 1.0 / sk);
        else
            gsl_vector_set_zero(&col.vector); /* below the rank: never kept */
    }
    c->U = U;
    c->V = V;
    c->s = s;
    U = V = NULL;
    s = NULL;
done:
    gsl_matrix_free(A);
    gsl_matrix_free(G);
    gsl_matrix_free(E);
    gsl_matrix_free(U);
    gsl_matrix_free(V);
    gsl_vector_free(s);
    gsl_eigen_symmv_free(ws);
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

/* CCA of two decomposed sides keeping kx and ky directions (both > 0); p is X's width. */
static sp_status cca_pair(sp_cca_result *res, double *rho, const cca_side *cx, size_t kx, const cca_side *cy,
                          size_t ky, size_t n, size_t p)
{
    /* C = U_x^T U_y, stored with at least as many rows as columns for GSL: transposed when kx < ky. */
    const int tr = kx < ky;
    const size_t r = tr ? kx : ky;
    gsl_matrix *C = gsl_matrix_alloc(tr ? ky : kx, r), *Q = gsl_matrix_alloc(r, r);
    gsl_matrix *VS = gsl_matrix_alloc(p, kx), *Mx = gsl_matrix_alloc(p, r);
    gsl_vector *sv = gsl_vector_alloc(r), *work = gsl_vector_alloc(r);
    sp_status st = SP_OK;
    if (!C || !Q || !VS || !Mx || !sv || !work) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for CCA of %zu and %zu directions", kx, ky);
        goto done;
    }
    gsl_matrix_const_view Ux = gsl_matrix_const_submatrix(cx->U, 0, 0, n, kx);
    gsl_matrix_const_view Uy = gsl_matrix_const_submatrix(cy->U, 0, 0, n, ky);
    if (tr)
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Uy.matrix, &Ux.matrix, 0.0, C);
    else
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Ux.matrix, &Uy.matrix, 0.0, C);
    if (gsl_linalg_SV_decomp(C, Q, sv, work) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "SVD of the %zu x %zu CCA cross matrix did not converge", kx, ky);
        goto done;
    }
    /* X's canonical directions in U_x coordinates: P [kx, r] (C^T = Q S C'^T when transposed). */
    const gsl_matrix *P = tr ? Q : C;
    double mean = 0.0;
    for (size_t i = 0; i < r; i++) {
        double v = gsl_vector_get(sv, i);
        v = v > 1.0 ? 1.0 : v; /* a cosine of principal angles; rounding can exceed 1 by an ulp */
        gsl_vector_set(sv, i, v);
        if (rho) rho[i] = v;
        mean += v;
    }
    /* PWCCA weights: alpha_i = sum_j |<h_i, x_j>| = sum_j |(V_x S_x P)_{j i}| over the p units. */
    for (size_t j = 0; j < p; j++)
        for (size_t l = 0; l < kx; l++)
            gsl_matrix_set(VS, j, l, gsl_matrix_get(cx->V, j, l) * gsl_vector_get(cx->s, l));
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, VS, P, 0.0, Mx);
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
    gsl_matrix_free(C);
    gsl_matrix_free(Q);
    gsl_matrix_free(VS);
    gsl_matrix_free(Mx);
    gsl_vector_free(sv);
    gsl_vector_free(work);
    return st;
}

static sp_status cca_check(size_t n, double keep_var)
{
    if (n < 2) return sp_fail(SP_ERR_USAGE, "CCA needs at least 2 inputs (got %zu)", n);
    if (!(keep_var > 0.0 && keep_var <= 1.0))
        return sp_fail(SP_ERR_USAGE, "CCA variance share %g is outside (0, 1]; use 0.99 for SVCCA, 1 for CCA",
                       keep_var);
    sp_gsl_quiet(); /* GSL's default handler aborts; we return a status instead */
    return SP_OK;
}

static sp_status cca_constant(size_t which)
{
    return sp_fail(SP_ERR_NUMERIC, "CCA of a constant representation (%zu) is undefined; drop that layer", which);
}

sp_status sp_cca(sp_cca_result *res, double *rho, const float *X, const float *Y, size_t n, size_t p, size_t q,
                 double keep_var)
{
    sp_status st = cca_check(n, keep_var);
    if (st != SP_OK) return st;
    if (p == 0 || q == 0) return sp_fail(SP_ERR_USAGE, "CCA of an empty representation (widths %zu, %zu)", p, q);
    cca_side cx = {0}, cy = {0};
    if ((st = cca_side_build(&cx, X, n, p)) != SP_OK) return st;
    if ((st = cca_side_build(&cy, Y, n, q)) != SP_OK) goto done;
    const size_t kx = cca_side_keep(&cx, n, p, keep_var), ky = cca_side_keep(&cy, n, q, keep_var);
    if (kx == 0 || ky == 0) {
        st = cca_constant(kx == 0 ? 0 : 1);
        goto done;
    }
    st = cca_pair(res, rho, &cx, kx, &cy, ky, n, p);
done:
    cca_side_free(&cx);
    cca_side_free(&cy);
    return st;
}

sp_status sp_cca_all_pairs(double *mean_rho, double *pwcca, size_t *n_warnings, const float *const *acts,
                           const size_t *dims, size_t n_models, size_t n, double keep_var)
{
    const size_t M = n_models;
    sp_status st = cca_check(n, keep_var);
    if (st != SP_OK) return st;
    for (size_t m = 0; m < M; m++)
        if (!acts[m] || dims[m] == 0) return sp_fail(SP_ERR_USAGE, "representation %zu is empty", m);
    cca_side *side = calloc(M ? M : 1, sizeof *side);
    size_t *keep = calloc(M ? M : 1, sizeof *keep);
    sp_status *pst = malloc((M ? M * M : 1) * sizeof *pst);
    int *warn = calloc(M ? M * M : 1, sizeof *warn);
    if (!side || !keep || !pst || !warn) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for CCA of %zu representations", M);
        goto done;
    }
    /* Each side is decomposed once; failures are re-raised in model order so the message is deterministic. */
    int blas_saved = sp_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t m = 0; m < M; m++) pst[m] = cca_side_build(&side[m], acts[m], n, dims[m]);
    sp_blas_serial_end(blas_saved);
    for (size_t m = 0; m < M; m++)
        if (pst[m] != SP_OK) {
            st = cca_side_build(&side[m], acts[m], n, dims[m]);
            st = sp_fail_context(st != SP_OK ? st : SP_ERR_STATE, "representation %zu", m);
            goto done;
        }
    for (size_t m = 0; m < M; m++)
        if ((keep[m] = cca_side_keep(&side[m], n, dims[m], keep_var)) == 0) {
            st = cca_constant(m);
            goto done;
        }
    blas_saved = sp_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t ab = 0; ab < M * M; ab++) {
        const size_t a = ab / M, b = ab % M;
        pst[ab] = SP_OK;
        if (a == b) continue;
        sp_cca_result r = {0};
        pst[ab] = cca_pair(&r, NULL, &side[a], keep[a], &side[b], keep[b], n, dims[a]);
        if (pst[ab] != SP_OK) continue;
        if (mean_rho) mean_rho[ab] = r.mean_rho;
        if (pwcca) pwcca[ab] = r.pwcca;
        warn[ab] = r.warning;
    }
    sp_blas_serial_end(blas_saved);
    size_t warnings = 0;
    for (size_t ab = 0; ab < M * M; ab++) {
        if (pst[ab] != SP_OK) {
            st = sp_fail(pst[ab], "CCA of representations %zu and %zu failed; check them for NaN or Inf", ab / M,
                         ab % M);
            goto done;
        }
        warnings += warn[ab] && ab / M < ab % M;
    }
    for (size_t m = 0; m < M; m++) {
        if (mean_rho) mean_rho[m * M + m] = 1.0;
        if (pwcca) pwcca[m * M + m] = 1.0;
    }
    if (n_warnings) *n_warnings = warnings;
done:
    if (side)
        for (size_t m = 0; m < M; m++) cca_side_free(&side[m]);
    free(side);
    free(keep);
    free(pst);
    free(warn);
    return st;
}
