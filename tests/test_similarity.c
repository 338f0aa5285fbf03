/* test_similarity.c: CKA, debiased CKA, Procrustes and CCA against invariances, known answers and a direct
 * O(n^2) implementation of the unbiased HSIC; the all-pairs driver against the single-pair functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "linalg_test_util.h"
#include "seeds.h"
#include "similarity.h"

/* X [n, d] with independent Gaussian columns of unequal scale, plus an offset (tests centring). */
static float *random_matrix(gsl_rng *r, size_t n, size_t d, double offset)
{
    float *X = malloc(n * d * sizeof *X);
    assert_non_null(X);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(offset + (1.0 + j % 5) * gsl_ran_gaussian(r, 1.0));
    return X;
}

/* Y = s X M, M a gsl d x e matrix. */
static float *times(const float *X, size_t n, const gsl_matrix *M, double s)
{
    const size_t d = M->size1, e = M->size2;
    float *Y = calloc(n * e, sizeof *Y);
    assert_non_null(Y);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e; k++) {
            double acc = 0.0;
            for (size_t j = 0; j < d; j++) acc += (double)X[i * d + j] * gsl_matrix_get(M, j, k);
            Y[i * e + k] = (float)(s * acc);
        }
    return Y;
}

static void test_cka_invariant_to_orthogonal_and_scale(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(11);
    const size_t n = 300, d = 12;
    float *X = random_matrix(r, n, d, 3.0);
    gsl_matrix *Q = test_random_orthogonal(r, d);
    float *Y = times(X, n, Q, 2.5);
    double lin, deb, d2;
    assert_int_equal(sp_cka_linear(&lin, X, Y, n, d, d), SP_OK);
    assert_int_equal(sp_cka_debiased(&deb, X, Y, n, d, d), SP_OK);
    assert_int_equal(sp_procrustes_distance(&d2, X, Y, n, d, d), SP_OK);
    assert_true(fabs(lin - 1.0) < 1e-5);
    assert_true(fabs(deb - 1.0) < 1e-5);
    assert_true(d2 >= 0.0 && d2 < 1e-5);
    free(X);
    free(Y);
    gsl_matrix_free(Q);
    gsl_rng_free(r);
}

/* A generic invertible map changes CKA (not invariant) but spans the same space, so every canonical
 * correlation is 1. */
static void test_cka_not_invariant_to_invertible_but_cca_is(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(12);
    const size_t n = 400, d = 8;
    float *X = random_matrix(r, n, d, 0.0);
    gsl_matrix *Q1 = test_random_orthogonal(r, d), *Q2 = test_random_orthogonal(r, d), *A = gsl_matrix_alloc(d, d);
    for (size_t i = 0; i < d; i++) {
        gsl_vector_view row = gsl_matrix_row(Q1, i);
        gsl_vector_scale(&row.vector, exp(-0.6 * (double)i));
    }
    gsl_matrix_transpose(Q1); /* Q1^T diag(...) */
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Q1, Q2, 0.0, A);
    float *Y = times(X, n, A, 1.0);
    double lin, d2, rho[8];
    assert_int_equal(sp_cka_linear(&lin, X, Y, n, d, d), SP_OK);
    assert_true(lin < 0.9);
    assert_int_equal(sp_procrustes_distance(&d2, X, Y, n, d, d), SP_OK);
    assert_true(d2 > 0.05);
    sp_cca_result c;
    assert_int_equal(sp_cca(&c, rho, X, Y, n, d, d, 1.0), SP_OK);
    assert_int_equal(c.n_rho, d);
    assert_int_equal(c.warning, 0);
    assert_true(fabs(c.mean_rho - 1.0) < 1e-5);
    assert_true(fabs(c.pwcca - 1.0) < 1e-5);
    for (size_t i = 0; i < d; i++) assert_true(fabs(rho[i] - 1.0) < 1e-5);
    free(X);
    free(Y);
    gsl_matrix_free(Q1);
    gsl_matrix_free(Q2);
    gsl_matrix_free(A);
    gsl_rng_free(r);
}

/* Single columns: linear CKA = r^2 and Procrustes d^2 = 2 (1 - |r|), with r Pearson's correlation. */
static void test_one_column_known_answers(void **state)
{
    (void)state;
    const float x[5] = {1, 2, 3, 4, 5}, y[5] = {2, 1, 4, 3, 5};
    /* Centred: x = (-2,-1,0,1,2), y = (-1,-2,1,0,2): x.y = 2+2+0+0+4 = 8, |x|^2 = |y|^2 = 10, r = 0.8. */
    double lin, d2;
    assert_int_equal(sp_cka_linear(&lin, x, y, 5, 1, 1), SP_OK);
    assert_int_equal(sp_procrustes_distance(&d2, x, y, 5, 1, 1), SP_OK);
    assert_true(fabs(lin - 0.64) < 1e-12);
    assert_true(fabs(d2 - 0.4) < 1e-12);
    const float yneg[5] = {-2, -1, -4, -3, -5}; /* r = -0.8: Procrustes may flip the sign */
    assert_int_equal(sp_procrustes_distance(&d2, x, yneg, 5, 1, 1), SP_OK);
    assert_true(fabs(d2 - 0.4) < 1e-12);
}

/* Direct unbiased HSIC with n x n Gram matrices of the raw (uncentred) inputs, as written in METRICS.md. */
static double hsic1_direct(const float *X, const float *Y, size_t n, size_t p, size_t q)
{
    double *K = calloc(n * n, sizeof *K), *L = calloc(n * n, sizeof *L);
    assert_non_null(K);
    assert_non_null(L);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            for (size_t k = 0; k < p; k++) K[i * n + j] += (double)X[i * p + k] * X[j * p + k];
            for (size_t k = 0; k < q; k++) L[i * n + j] += (double)Y[i * q + k] * Y[j * q + k];
        }
    double trKL = 0.0, sK = 0.0, sL = 0.0, oKLo = 0.0;
    for (size_t i = 0; i < n; i++) {
        double rK = 0.0, rL = 0.0;
        for (size_t j = 0; j < n; j++) {
            trKL += K[i * n + j] * L[j * n + i];
            rK += K[i * n + j];
            rL += L[i * n + j];
        }
        sK += rK;
        sL += rL;
        oKLo += rK * rL; /* (K 1)_i (L 1)_i, K and L symmetric */
    }
    const double nn = (double)n;
    free(K);
    free(L);
    return (trKL + sK * sL / ((nn - 1) * (nn - 2)) - 2.0 / (nn - 2) * oKLo) / (nn * (nn - 3));
}

static void test_debiased_cka_matches_direct(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(13);
    const size_t n = 23, p = 5, q = 7;
    float *X = random_matrix(r, n, p, 4.0);
    float *Y = random_matrix(r, n, q, -2.0);
    for (size_t i = 0; i < n; i++) Y[i * q] += 8.0f * X[i * p + 1]; /* some shared signal */
    const double direct = hsic1_direct(X, Y, n, p, q) /
                          sqrt(hsic1_direct(X, X, n, p, p) * hsic1_direct(Y, Y, n, q, q));
    double deb;
    assert_int_equal(sp_cka_debiased(&deb, X, Y, n, p, q), SP_OK);
    assert_true(fabs(deb - direct) < 1e-6);
    assert_true(fabs(direct) > 0.05); /* the comparison is not between two zeros */
    /* Independent inputs: can be negative, unlike linear CKA. */
    float *Z = random_matrix(r, n, q, 1.0);
    double lin;
    assert_int_equal(sp_cka_debiased(&deb, X, Z, n, p, q), SP_OK);
    assert_int_equal(sp_cka_linear(&lin, X, Z, n, p, q), SP_OK);
    const double direct2 = hsic1_direct(X, Z, n, p, q) /
                           sqrt(hsic1_direct(X, X, n, p, p) * hsic1_direct(Z, Z, n, q, q));
    assert_true(fabs(deb - direct2) < 1e-6);
    assert_true(deb < lin);
    free(X);
    free(Y);
    free(Z);
    gsl_rng_free(r);
}

static void test_procrustes_bounds(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(14);
    for (int t = 0; t < 20; t++) {
        const size_t n = 30 + t, p = 1 + t % 6, q = 1 + (t * 7) % 9;
        float *X = random_matrix(r, n, p, 0.5), *Y = random_matrix(r, n, q, 0.0);
        double d2;
        assert_int_equal(sp_procrustes_distance(&d2, X, Y, n, p, q), SP_OK);
        assert_true(d2 >= 0.0 && d2 <= 2.0);
        assert_true(d2 > 0.1); /* independent draws are far apart */
        free(X);
        free(Y);
    }
    gsl_rng_free(r);
}

/* The eigenvalue route to the nuclear norm agrees with GSL's SVD, also when A is rank deficient (where the
 * square roots of near-zero eigenvalues are least accurate), and wide or tall. */
static void test_nuclear_norm_matches_svd(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(19);
    const size_t shapes[3][2] = {{40, 40}, {50, 30}, {20, 60}};
    for (int t = 0; t < 3; t++)
        for (int deficient = 0; deficient < 2; deficient++) {
            const size_t rows = shapes[t][0], cols = shapes[t][1], rank = deficient ? 7 : (rows < cols ? rows : cols);
            double *A = calloc(rows * cols, sizeof *A);
            assert_non_null(A);
            for (size_t k = 0; k < rank; k++) { /* A = sum of rank outer products */
                double u[60], v[60];
                for (size_t i = 0; i < rows; i++) u[i] = gsl_ran_gaussian(r, 1.0);
                for (size_t j = 0; j < cols; j++) v[j] = gsl_ran_gaussian(r, 1.0);
                for (size_t i = 0; i < rows; i++)
                    for (size_t j = 0; j < cols; j++) A[i * cols + j] += u[i] * v[j];
            }
            const int tr = rows < cols;
            gsl_matrix *U = gsl_matrix_alloc(tr ? cols : rows, tr ? rows : cols);
            gsl_matrix *V = gsl_matrix_alloc(U->size2, U->size2);
            gsl_vector *S = gsl_vector_alloc(U->size2), *work = gsl_vector_alloc(U->size2);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++) gsl_matrix_set(U, tr ? j : i, tr ? i : j, A[i * cols + j]);
            assert_int_equal(gsl_linalg_SV_decomp(U, V, S, work), 0);
            double svd = 0.0, nuc;
            for (size_t i = 0; i < S->size; i++) svd += gsl_vector_get(S, i);
            assert_int_equal(sp_nuclear_norm(&nuc, A, rows, cols), SP_OK);
            assert_true(fabs(nuc - svd) <= 1.5e-8 * (double)S->size * gsl_vector_get(S, 0));
            assert_true(fabs(nuc - svd) <= 1e-7 * svd);
            free(A);
            gsl_matrix_free(U);
            gsl_matrix_free(V);
            gsl_vector_free(S);
            gsl_vector_free(work);
        }
    gsl_rng_free(r);
}

/* Width >= n: any two representations span the whole centred space, so CCA is 1 and the flag is up. */
static void test_cca_degenerate_width_flags_warning(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(15);
    const size_t n = 10, p = 12, q = 15;
    float *X = random_matrix(r, n, p, 1.0), *Y = random_matrix(r, n, q, 0.0);
    sp_cca_result c;
    double rho[12];
    assert_int_equal(sp_cca(&c, rho, X, Y, n, p, q, 1.0), SP_OK);
    assert_int_equal(c.rank_x, n - 1);
    assert_int_equal(c.rank_y, n - 1);
    assert_int_equal(c.n_rho, n - 1);
    assert_int_equal(c.n_forced, n - 1);
    assert_int_equal(c.warning, 1);
    assert_true(fabs(c.mean_rho - 1.0) < 1e-9);
    assert_true(fabs(c.pwcca - 1.0) < 1e-9);
    /* n >> width with independent inputs: no warning and far from 1. */
    float *A = random_matrix(r, 500, 4, 0.0), *B = random_matrix(r, 500, 4, 0.0);
    assert_int_equal(sp_cca(&c, rho, A, B, 500, 4, 4, 1.0), SP_OK);
    assert_int_equal(c.warning, 0);
    assert_int_equal(c.n_forced, 0);
    assert_true(c.mean_rho < 0.3);
    free(X);
    free(Y);
    free(A);
    free(B);
    gsl_rng_free(r);
}

/* SVCCA keeps the two strong directions (of 6) and PWCCA weights them by how much of X they carry. */
static void test_svcca_truncation_and_pwcca_weights(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(16);
    const size_t n = 600, p = 6, q = 2;
    float *X = malloc(n * p * sizeof *X), *Y = malloc(n * q * sizeof *Y);
    for (size_t i = 0; i < n; i++) {
        double a = gsl_ran_gaussian(r, 10.0), b = gsl_ran_gaussian(r, 10.0);
        X[i * p + 0] = (float)a;
        X[i * p + 1] = (float)b;
        for (size_t j = 2; j < p; j++) X[i * p + j] = (float)gsl_ran_gaussian(r, 0.1);
        Y[i * q + 0] = (float)(a + gsl_ran_gaussian(r, 0.5));
        Y[i * q + 1] = (float)gsl_ran_gaussian(r, 1.0);
    }
    sp_cca_result c;
    double rho[2];
    assert_int_equal(sp_cca(&c, rho, X, Y, n, p, q, 0.99), SP_OK);
    assert_int_equal(c.rank_x, 2);
    assert_int_equal(c.rank_y, 2);
    assert_true(rho[0] > 0.99 && rho[1] < 0.15);
    assert_true(fabs(c.mean_rho - 0.5 * (rho[0] + rho[1])) < 1e-12);
    /* Both canonical variates of X carry equal variance (a and b both sd 10): weights near 1/2 each. */
    assert_true(fabs(c.pwcca - c.mean_rho) < 0.1);
    assert_int_equal(sp_cca(&c, rho, X, Y, n, p, q, 1.0), SP_OK);
    assert_int_equal(c.rank_x, 6);
    free(X);
    free(Y);
    gsl_rng_free(r);
}

/* PWCCA: a strongly shared high-variance direction outweighs an unshared low-variance one. */
static void test_pwcca_weights_follow_variance(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(17);
    const size_t n = 800;
    float *X = malloc(n * 2 * sizeof *X), *Y = malloc(n * 2 * sizeof *Y);
    for (size_t i = 0; i < n; i++) {
        double a = gsl_ran_gaussian(r, 10.0);
        X[i * 2] = (float)a;
        X[i * 2 + 1] = (float)gsl_ran_gaussian(r, 0.5);
        Y[i * 2] = (float)(a + gsl_ran_gaussian(r, 0.1));
        Y[i * 2 + 1] = (float)gsl_ran_gaussian(r, 1.0);
    }
    sp_cca_result c;
    assert_int_equal(sp_cca(&c, NULL, X, Y, n, 2, 2, 1.0), SP_OK);
    assert_true(c.mean_rho < 0.6);
    assert_true(c.pwcca > 0.9);
    free(X);
    free(Y);
    gsl_rng_free(r);
}

/* The all-pairs driver agrees with single pairs and with the cross matrix, whatever the thread count. */
static void test_all_pairs_matches_pairs_and_threads(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(18);
    enum { M = 4 };
    const size_t n = 200, dims[M] = {5, 9, 3, 9};
    float *acts[M];
    for (size_t m = 0; m < M; m++) acts[m] = random_matrix(r, n, dims[m], (double)m);
    for (size_t i = 0; i < n; i++) /* shared signal so values are not all near zero */
        for (size_t m = 1; m < M; m++) acts[m][i * dims[m]] += acts[0][i * dims[0] + 4] * (float)(2 * m);
    double lin[M * M], deb[M * M], proc[M * M], lin1[M * M], deb1[M * M], proc1[M * M];
    omp_set_num_threads(2);
    assert_int_equal(sp_similarity_all_pairs(lin, deb, proc, (const float *const *)acts, dims, M, n), SP_OK);
    omp_set_num_threads(1);
    assert_int_equal(sp_similarity_all_pairs(lin1, deb1, proc1, (const float *const *)acts, dims, M, n), SP_OK);
    omp_set_num_threads(2);
    assert_memory_equal(lin, lin1, sizeof lin);
    assert_memory_equal(deb, deb1, sizeof deb);
    assert_memory_equal(proc, proc1, sizeof proc);
    for (size_t a = 0; a < M; a++) {
        assert_true(lin[a * M + a] == 1.0 && deb[a * M + a] == 1.0 && proc[a * M + a] == 0.0);
        for (size_t b = 0; b < M; b++) {
            assert_true(lin[a * M + b] == lin[b * M + a]);
            double l, d, p;
            assert_int_equal(sp_cka_linear(&l, acts[a], acts[b], n, dims[a], dims[b]), SP_OK);
            assert_int_equal(sp_cka_debiased(&d, acts[a], acts[b], n, dims[a], dims[b]), SP_OK);
            assert_int_equal(sp_procrustes_distance(&p, acts[a], acts[b], n, dims[a], dims[b]), SP_OK);
            assert_true(fabs(l - lin[a * M + b]) < 1e-6);
            assert_true(fabs(d - deb[a * M + b]) < 1e-6);
            assert_true(fabs(p - proc[a * M + b]) < 1e-6);
        }
    }
    assert_true(lin[1] > 0.2); /* the shared signal shows */
    double cross[2 * 3];
    const float *xa[2] = {acts[0], acts[1]}, *xb[3] = {acts[1], acts[2], acts[3]};
    assert_int_equal(sp_similarity_cross(cross, NULL, NULL, xa, dims, 2, xb, dims + 1, 3, n), SP_OK);
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++) assert_true(fabs(cross[i * 3 + j] - lin[i * M + j + 1]) < 1e-6);
    for (size_t m = 0; m < M; m++) free(acts[m]);
    gsl_rng_free(r);
}

/* One workspace reused across calls of other sizes and kinds gives bit-identical results to fresh calls:
 * nothing stale in its buffers is read (the cross form skips the blocks within a side, which still hold the
 * previous call's values), for all three measures. */
static void test_workspace_reuse(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(19);
    enum { M = 5 };
    const size_t n = 120, dims[M] = {6, 3, 8, 6, 4};
    float *acts[M];
    for (size_t m = 0; m < M; m++) acts[m] = random_matrix(r, n, dims[m], 1.0 + (double)m);
    for (size_t i = 0; i < n; i++)
        for (size_t m = 1; m < M; m++) acts[m][i * dims[m]] += acts[0][i * dims[0] + 1] * (float)m;
    const float *const *A = (const float *const *)acts;
    double lin[M * M], deb[M * M], proc[M * M], lin_ws[M * M], deb_ws[M * M], proc_ws[M * M];
    double c[3][2 * 3], c_ws[3][2 * 3];
    assert_int_equal(sp_similarity_all_pairs(lin, deb, proc, A, dims, M, n), SP_OK);
    assert_int_equal(sp_similarity_cross(c[0], c[1], c[2], A, dims, 2, A + 2, dims + 2, 3, n), SP_OK);
    sp_similarity_workspace *w = sp_similarity_workspace_alloc();
    assert_non_null(w);
    for (int round = 0; round < 2; round++) {
        /* small first (the buffers grow), then big, then the cross form on the big call's leftovers */
        double small[4];
        assert_int_equal(sp_similarity_all_pairs_ws(small, NULL, NULL, A + 3, dims + 3, 2, n, w), SP_OK);
        assert_true(fabs(small[1] - lin[3 * M + 4]) < 1e-6); /* another SYRK size: float32 sums may regroup */
        assert_int_equal(sp_similarity_all_pairs_ws(lin_ws, deb_ws, proc_ws, A, dims, M, n, w), SP_OK);
        assert_memory_equal(lin, lin_ws, sizeof lin);
        assert_memory_equal(deb, deb_ws, sizeof deb);
        assert_memory_equal(proc, proc_ws, sizeof proc);
        assert_int_equal(sp_similarity_cross_ws(c_ws[0], c_ws[1], c_ws[2], A, dims, 2, A + 2, dims + 2, 3, n, w),
                         SP_OK);
        assert_memory_equal(c, c_ws, sizeof c);
    }
    /* The cross values are the all-pairs values of the same matrices (another Gram routine, same sums). */
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++) {
            assert_true(fabs(c[0][i * 3 + j] - lin[i * M + 2 + j]) < 1e-6);
            assert_true(fabs(c[1][i * 3 + j] - deb[i * M + 2 + j]) < 1e-6);
            assert_true(fabs(c[2][i * 3 + j] - proc[i * M + 2 + j]) < 1e-6);
        }
    sp_similarity_workspace_free(w);
    sp_similarity_workspace_free(NULL);
    for (size_t m = 0; m < M; m++) free(acts[m]);
    gsl_rng_free(r);
}

/* The CCA all-pairs driver agrees with single calls, PWCCA is asymmetric, and threads change nothing. */
static void test_cca_all_pairs_matches_pairs(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(20);
    enum { M = 3 };
    const size_t n = 150, dims[M] = {4, 7, 5};
    float *acts[M];
    for (size_t m = 0; m < M; m++) acts[m] = random_matrix(r, n, dims[m], 1.0);
    for (size_t i = 0; i < n; i++)
        for (size_t m = 1; m < M; m++) acts[m][i * dims[m] + 1] += 3.0f * acts[0][i * dims[0] + 3];
    double mr[M * M], pw[M * M], mr1[M * M], pw1[M * M];
    size_t nw;
    omp_set_num_threads(1);
    assert_int_equal(sp_cca_all_pairs(mr1, pw1, &nw, (const float *const *)acts, dims, M, n, 0.99), SP_OK);
    omp_set_num_threads(2);
    assert_int_equal(sp_cca_all_pairs(mr, pw, &nw, (const float *const *)acts, dims, M, n, 0.99), SP_OK);
    assert_memory_equal(mr, mr1, sizeof mr);
    assert_memory_equal(pw, pw1, sizeof pw);
    assert_int_equal(nw, 0);
    for (size_t a = 0; a < M; a++)
        for (size_t b = 0; b < M; b++) {
            if (a == b) {
                assert_true(mr[a * M + a] == 1.0 && pw[a * M + a] == 1.0);
                continue;
            }
            sp_cca_result c;
            assert_int_equal(sp_cca(&c, NULL, acts[a], acts[b], n, dims[a], dims[b], 0.99), SP_OK);
            assert_true(fabs(c.mean_rho - mr[a * M + b]) < 1e-12);
            assert_true(fabs(c.pwcca - pw[a * M + b]) < 1e-12);
            assert_true(fabs(mr[a * M + b] - mr[b * M + a]) < 1e-12);
        }
    assert_true(fabs(pw[1] - pw[M]) > 1e-3); /* weights come from the first model's side */
    for (size_t m = 0; m < M; m++) free(acts[m]);
    gsl_rng_free(r);
}

static void test_bad_inputs_are_reported(void **state)
{
    (void)state;
    const float x[6] = {1, 2, 3, 4, 5, 6}, c[6] = {2, 2, 2, 2, 2, 2};
    double v;
    assert_int_equal(sp_cka_debiased(&v, x, x, 3, 2, 2), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "at least 4 inputs"));
    assert_int_equal(sp_cka_linear(&v, x, c, 6, 1, 1), SP_ERR_NUMERIC);
    assert_non_null(strstr(sp_error_message(), "constant"));
    sp_cca_result r;
    assert_int_equal(sp_cca(&r, NULL, x, x, 6, 1, 1, 1.5), SP_ERR_USAGE);
    assert_int_equal(sp_cca(&r, NULL, x, c, 6, 1, 1, 1.0), SP_ERR_NUMERIC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cka_invariant_to_orthogonal_and_scale),
        cmocka_unit_test(test_cka_not_invariant_to_invertible_but_cca_is),
        cmocka_unit_test(test_one_column_known_answers),
        cmocka_unit_test(test_debiased_cka_matches_direct),
        cmocka_unit_test(test_procrustes_bounds),
        cmocka_unit_test(test_nuclear_norm_matches_svd),
        cmocka_unit_test(test_cca_degenerate_width_flags_warning),
        cmocka_unit_test(test_svcca_truncation_and_pwcca_weights),
        cmocka_unit_test(test_pwcca_weights_follow_variance),
        cmocka_unit_test(test_all_pairs_matches_pairs_and_threads),
        cmocka_unit_test(test_workspace_reuse),
        cmocka_unit_test(test_cca_all_pairs_matches_pairs),
        cmocka_unit_test(test_bad_inputs_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
