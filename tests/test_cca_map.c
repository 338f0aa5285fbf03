/* test_cca_map.c: the CCA alignment map (analysis/cca_map.h): parity with a float64 numpy reference
 * (tests/ref/cca_map_ref.py) on small correlated matrices, known answers for rotated and for diagonal
 * representations, and the error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>

#include "cca_map.h"
#include "linalg_test_util.h"
#include "seeds.h"

/* Model a sees a shared latent Z [n, 3] through a random map plus noise; model b likewise (other map). */
static void correlated(double *A, double *B, size_t n, size_t p, size_t q, gsl_rng *r)
{
    double Ma[3 * 16], Mb[3 * 16];
    for (size_t i = 0; i < 3 * p; i++) Ma[i] = gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < 3 * q; i++) Mb[i] = gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < n; i++) {
        double z[3];
        for (int t = 0; t < 3; t++) z[t] = gsl_ran_gaussian(r, 1.0);
        for (size_t j = 0; j < p; j++) {
            double s = 0.0;
            for (int t = 0; t < 3; t++) s += z[t] * Ma[t * p + j];
            A[i * p + j] = s + 0.7 * gsl_ran_gaussian(r, 1.0) + 3.0;
        }
        for (size_t j = 0; j < q; j++) {
            double s = 0.0;
            for (int t = 0; t < 3; t++) s += z[t] * Mb[t * q + j];
            B[i * q + j] = s + 0.7 * gsl_ran_gaussian(r, 1.0) - 1.0;
        }
    }
}

static void fit_and_score(double *s, double *rho, double *mean, const double *Af, const double *Bf, size_t nf,
                          const double *As, const double *Bs, size_t ns, size_t p, size_t q, size_t k, double ridge)
{
    double *Wa = malloc(p * p * sizeof *Wa), *Wb = malloc(q * q * sizeof *Wb);
    double *Ua = malloc(p * k * sizeof *Ua), *Ub = malloc(q * k * sizeof *Ub);
    assert_int_equal(sp_cca_whitener(Wa, Af, nf, p, ridge), SP_OK);
    assert_int_equal(sp_cca_whitener(Wb, Bf, nf, q, ridge), SP_OK);
    assert_int_equal(sp_cca_map_fit(Ua, Ub, s, Wa, Wb, Af, Bf, nf, p, q, k), SP_OK);
    assert_int_equal(sp_cca_map_score(rho, mean, Ua, Ub, As, Bs, ns, p, q, k), SP_OK);
    free(Wa), free(Wb), free(Ua), free(Ub);
}

static void check_against_numpy(size_t p, size_t q, size_t k, double ridge, uint64_t seed)
{
    enum { NF = 40, NS = 25 };
    gsl_rng *r = sp_rng_alloc(seed);
    double *Af = malloc(NF * p * sizeof *Af), *Bf = malloc(NF * q * sizeof *Bf);
    double *As = malloc(NS * p * sizeof *As), *Bs = malloc(NS * q * sizeof *Bs);
    correlated(Af, Bf, NF, p, q, r);
    correlated(As, Bs, NS, p, q, r); /* another draw: other maps, so the fitted map transfers only partly */
    double s[16], rho[16], mean;
    fit_and_score(s, rho, &mean, Af, Bf, NF, As, Bs, NS, p, q, k, ridge);

    const char *src = getenv("SPLINTER_SRC");
    assert_non_null(src);
    char in[64], cmd[512];
    snprintf(in, sizeof in, "cca-map-ref-%zu-%zu.txt", p, q);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fprintf(f, "%d %d %zu %zu %zu %.17g\n", NF, NS, p, q, k, ridge);
    const double *mats[4] = {Af, Bf, As, Bs};
    const size_t rows[4] = {NF, NF, NS, NS}, cols[4] = {p, q, p, q};
    for (int m = 0; m < 4; m++)
        for (size_t i = 0; i < rows[m] * cols[m]; i++) fprintf(f, "%.17g\n", mats[m][i]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/cca_map_ref.py %s", src, in);
    FILE *py = popen(cmd, "r");
    assert_non_null(py);
    double ref[40];
    size_t got = 0;
    while (got < 2 * k + 1 && fscanf(py, "%lf", &ref[got]) == 1) got++;
    assert_int_equal(pclose(py), 0);
    assert_int_equal(got, 2 * k + 1);
    for (size_t i = 0; i < k; i++) {
        assert_float_equal(s[i], ref[i], 1e-6);
        assert_float_equal(rho[i], ref[k + i], 1e-6);
    }
    assert_float_equal(mean, ref[2 * k], 1e-6);
    /* A shared latent: the top fitted correlation is high (lower with a large ridge). */
    assert_true(s[0] > (ridge < 0.1 ? 0.9 : 0.7));
    remove(in);
    free(Af), free(Bf), free(As), free(Bs);
    gsl_rng_free(r);
}

static void test_matches_numpy(void **state)
{
    (void)state;
    check_against_numpy(6, 5, 3, 0.05, 11); /* p > q: eigen of M^T M */
    check_against_numpy(4, 7, 4, 0.01, 12); /* p < q: eigen of M M^T, every direction */
    check_against_numpy(5, 5, 1, 0.5, 13);
}

/* B = A Q (a rotation): every canonical variate pair is perfectly correlated on any inputs, and with
 * diagonal A of column variances v_j the fitted correlations are v_j / (v_j + ridge * mean(v)). */
static void test_known_answers(void **state)
{
    (void)state;
    enum { N = 60, D = 4 };
    gsl_rng *r = sp_rng_alloc(5);
    double A[N * D], B[N * D], A2[N * D], B2[N * D];
    for (size_t i = 0; i < N * D; i++) A[i] = gsl_ran_gaussian(r, 1.0) * (1.0 + (double)(i % D));
    for (size_t i = 0; i < N * D; i++) A2[i] = gsl_ran_gaussian(r, 2.0);
    gsl_matrix *Q = test_random_orthogonal(r, D);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++) {
            double s = 0.0, s2 = 0.0;
            for (size_t t = 0; t < D; t++) s += A[i * D + t] * gsl_matrix_get(Q, t, j), s2 += A2[i * D + t] * gsl_matrix_get(Q, t, j);
            B[i * D + j] = s, B2[i * D + j] = s2;
        }
    double s[D], rho[D], mean;
    fit_and_score(s, rho, &mean, A, B, N, A2, B2, N, D, D, D, 0.1);
    for (size_t i = 0; i < D; i++) assert_float_equal(rho[i], 1.0, 1e-9);
    assert_float_equal(mean, 1.0, 1e-9);

    /* Orthogonal centred columns with variances 1, 4, 9, 16 (Hadamard rows): s_j = v / (v + 0.1 * 7.5). */
    double H[8 * 4];
    static const int had[8][4] = {{1, 1, 1, 1}, {1, -1, 1, -1}, {1, 1, -1, -1}, {1, -1, -1, 1},
                                  {-1, -1, -1, -1}, {-1, 1, -1, 1}, {-1, -1, 1, 1}, {-1, 1, 1, -1}};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) H[i * 4 + j] = had[i][j] * sqrt((j + 1.0) * (j + 1.0) * 7.0 / 8.0);
    fit_and_score(s, rho, &mean, H, H, 8, H, H, 8, 4, 4, 4, 0.1);
    const double mean_v = (1 + 4 + 9 + 16) / 4.0;
    for (int j = 0; j < 4; j++) {
        const double v = (4 - j) * (4 - j); /* decreasing order */
        assert_float_equal(s[j], v / (v + 0.1 * mean_v), 1e-12);
        assert_float_equal(rho[j], 1.0, 1e-12);
    }
    gsl_matrix_free(Q);
    gsl_rng_free(r);
}

static void test_errors(void **state)
{
    (void)state;
    double X[6 * 2] = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, W[4], U[4], s[2], mean;
    assert_int_equal(sp_cca_whitener(W, X, 6, 2, 0.1), SP_ERR_NUMERIC); /* constant */
    assert_int_equal(sp_cca_whitener(W, X, 1, 2, 0.1), SP_ERR_USAGE);
    assert_int_equal(sp_cca_whitener(W, X, 6, 2, 0.0), SP_ERR_USAGE);
    assert_int_equal(sp_cca_map_fit(U, U, s, W, W, X, X, 6, 2, 2, 3), SP_ERR_USAGE);
    assert_int_equal(sp_cca_map_score(s, &mean, U, U, X, X, 1, 2, 2, 1), SP_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_numpy),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
