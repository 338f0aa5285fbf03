/* test_exact_precond.c: the Woodbury preconditioner of the exact ranges. On random sparse problems (more
 * features than rows, and more rows than features; curvatures spanning eight decades, some zero) the applied
 * H(D)^{-1} must invert the dense Hessian X~^T diag(D) X~ + diag(c, .., c, 0) to 1e-10; and ranges solved with
 * it must equal those solved with Jacobi preconditioning alone to within the solver tolerance, with the same
 * certificates (outer bounds outside inner bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>

#include "exact_precond.h"
#include "exact_vpr.h"
#include "seeds.h"

/* A random [R, F] CSR with about k non-zeros per row, column j drawn with weight 1/(j+1) (a few frequent
 * features, many rare ones, as in text). */
static sp_csr *random_csr(gsl_rng *r, size_t R, size_t F, size_t k)
{
    sp_csr *X = sp_csr_alloc(F, R * k);
    assert_non_null(X);
    int32_t *c = malloc(k * sizeof *c);
    float *v = malloc(k * sizeof *v);
    char *used = calloc(F, 1);
    for (size_t i = 0; i < R; i++) {
        size_t n = 0;
        for (size_t t = 0; t < k; t++) {
            size_t j = (size_t)floor(pow((double)F + 1, gsl_rng_uniform(r))) - 1;
            if (j >= F || used[j]) continue;
            used[j] = 1;
            c[n] = (int32_t)j;
            v[n++] = (float)(0.2 + gsl_rng_uniform(r));
        }
        /* columns ascending within a row */
        for (size_t a = 1; a < n; a++)
            for (size_t b = a; b > 0 && c[b - 1] > c[b]; b--) {
                int32_t tc = c[b]; c[b] = c[b - 1]; c[b - 1] = tc;
                float tv = v[b]; v[b] = v[b - 1]; v[b - 1] = tv;
            }
        for (size_t a = 0; a < n; a++) used[c[a]] = 0;
        assert_int_equal(sp_csr_append_row(X, c, v, n), SP_OK);
    }
    free(c), free(v), free(used);
    return X;
}

static void check_inverse(size_t R, size_t F, size_t k, uint64_t seed)
{
    gsl_rng *r = sp_rng_alloc(seed);
    sp_csr *X = random_csr(r, R, F, k);
    const size_t N = F + 1;
    const double c = 0.05;
    double *D = malloc(R * sizeof *D), *H = calloc(N * N, sizeof *H), *b = malloc(N * sizeof *b);
    double *y = malloc(N * sizeof *y), *xi = calloc(N, sizeof *xi), *scratch = malloc(R * sizeof *scratch);
    for (size_t i = 0; i < R; i++) D[i] = i % 7 == 3 ? 0.0 : pow(10.0, -8.0 * gsl_rng_uniform(r)) * 0.25;
    /* dense H = X~^T diag(D) X~ + diag(c on features, 0 on the bias) */
    for (size_t i = 0; i < R; i++) {
        for (size_t j = 0; j < N; j++) xi[j] = 0;
        for (int64_t q = X->row_ptr[i]; q < X->row_ptr[i + 1]; q++) xi[X->col[q]] = X->val[q];
        xi[F] = 1.0;
        for (size_t a = 0; a < N; a++)
            for (size_t bb = 0; bb < N; bb++) H[a * N + bb] += D[i] * xi[a] * xi[bb];
    }
    for (size_t j = 0; j < F; j++) H[j * N + j] += c;
    sp_vpr_precond *pc = NULL;
    assert_int_equal(sp_vpr_precond_build(&pc, X, D, c), SP_OK);
    assert_int_equal(sp_vpr_precond_rows(pc), R);
    for (int rep = 0; rep < 3; rep++) {
        for (size_t j = 0; j < N; j++) b[j] = gsl_ran_gaussian(r, 1.0);
        sp_vpr_precond_apply(y, pc, b, scratch);
        double err = 0, bn = 0;
        for (size_t a = 0; a < N; a++) {
            double s = 0;
            for (size_t bb = 0; bb < N; bb++) s += H[a * N + bb] * y[bb];
            err = fmax(err, fabs(s - b[a]));
            bn = fmax(bn, fabs(b[a]));
        }
        assert_true(err <= 1e-10 * bn);
    }
    sp_vpr_precond_free(pc);
    free(D), free(H), free(b), free(y), free(xi), free(scratch);
    sp_csr_free(X);
    gsl_rng_free(r);
}

static void test_inverse_wide(void **state)
{
    (void)state;
    check_inverse(40, 120, 6, 11);
}

static void test_inverse_tall(void **state)
{
    (void)state;
    check_inverse(60, 9, 4, 12);
}

/* The same ranges with and without the preconditioner (precond_max_rows 0). */
static void test_ranges_match_jacobi(void **state)
{
    (void)state;
    const size_t R = 80, F = 300;
    gsl_rng *r = sp_rng_alloc(13);
    sp_csr *X = random_csr(r, R + 3, F, 12);
    int32_t *y = malloc((R + 3) * sizeof *y);
    size_t *rows = malloc(R * sizeof *rows);
    for (size_t i = 0; i < R + 3; i++) {
        double a = -0.3;
        for (int64_t q = X->row_ptr[i]; q < X->row_ptr[i + 1]; q++) a += (X->col[q] % 3 == 0 ? 1.0 : -0.7) * X->val[q];
        y[i] = a + gsl_ran_logistic(r, 1.0) > 0;
    }
    for (size_t i = 0; i < R; i++) rows[i] = i;
    const double eps[3] = {1e-4, 1e-3, 1e-2};
    sp_vpr_range out[2][3][3];
    for (int mode = 0; mode < 2; mode++) {
        sp_vpr_problem *p = NULL;
        sp_vpr_options o = sp_vpr_options_default();
        if (mode == 1) o.precond_max_rows = 0;
        assert_int_equal(sp_vpr_problem_alloc(&p, X, y, rows, R, 1e-3), SP_OK);
        assert_int_equal(sp_vpr_fit(p, NULL, 0.0, &o), SP_OK);
        assert_true(mode == 0 ? p->pc != NULL : p->pc == NULL);
        sp_vpr_workspace *ws = sp_vpr_workspace_alloc(p);
        assert_non_null(ws);
        for (size_t e = 0; e < 3; e++) { /* the three held-out rows */
            int64_t a = X->row_ptr[R + e], b = X->row_ptr[R + e + 1];
            assert_int_equal(sp_vpr_solve(out[mode][e], ws, p, X->col + a, X->val + a, (size_t)(b - a), eps, 3, &o),
                             SP_OK);
        }
        sp_vpr_workspace_free(ws);
        sp_vpr_problem_free(p);
    }
    for (size_t e = 0; e < 3; e++)
        for (size_t k = 0; k < 3; k++) {
            const sp_vpr_range *a = &out[0][e][k], *b = &out[1][e][k];
            assert_int_equal(a->converged, 1);
            assert_int_equal(b->converged, 1);
            assert_true(a->lo <= a->lo_in && a->hi_in <= a->hi);
            assert_true(a->hi - a->lo > 1e-3); /* a range of real width, not the optimum's point */
            double tol = 1e-5 * fmax(1.0, fabs(a->hi));
            assert_true(fabs(a->lo - b->lo) <= tol && fabs(a->hi - b->hi) <= tol);
            assert_true(fabs(a->lo_in - b->lo_in) <= tol && fabs(a->hi_in - b->hi_in) <= tol);
        }
    free(y), free(rows);
    sp_csr_free(X);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inverse_wide),
        cmocka_unit_test(test_inverse_tall),
        cmocka_unit_test(test_ranges_match_jacobi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
