/* test_capacity.c: Rashomon capacity known answers (Hsu & Calmon's examples), bounds, the two-class
 * closed form and the extreme-row reduction against the full Blahut-Arimoto channel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "capacity.h"
#include "seeds.h"

static double rc_of_rows(const double *rows, size_t M, int C, int *iters)
{
    sp_capacity_ws *ws = NULL;
    assert_int_equal(sp_capacity_ws_alloc(&ws, M, C), SP_OK);
    for (size_t k = 0; k < M * (size_t)C; k++) ws->W[k] = rows[k];
    double bits = sp_capacity_blahut_arimoto(ws, M, iters);
    sp_capacity_ws_free(ws);
    return exp2(bits);
}

static void test_known_answers(void **state)
{
    (void)state;
    int it;
    const double a[] = {0.9, 0.1, 0.1, 0.9};
    assert_float_equal(rc_of_rows(a, 2, 2, &it), 1.444935, 1e-6);
    assert_true(it <= SP_CAPACITY_MAX_ITER);
    /* closed form for a binary symmetric channel: 2^(1 - H(0.1)) */
    double h = -(0.1 * log2(0.1) + 0.9 * log2(0.9));
    assert_float_equal(rc_of_rows(a, 2, 2, &it), exp2(1.0 - h), 1e-9);
    const double b[] = {0.8, 0.2, 0.2, 0.8};
    assert_float_equal(rc_of_rows(b, 2, 2, &it), 1.212573, 1e-6);
    const double same[] = {0.3, 0.7, 0.3, 0.7, 0.3, 0.7};
    assert_float_equal(rc_of_rows(same, 3, 2, &it), 1.0, 1e-12);
    for (int C = 2; C <= 6; C++) {
        double *eye = calloc((size_t)(C * C), sizeof *eye);
        for (int c = 0; c < C; c++) eye[c * C + c] = 1.0;
        assert_float_equal(rc_of_rows(eye, (size_t)C, C, &it), (double)C, 1e-9);
        free(eye);
    }
    /* one model: no multiplicity */
    const double one[] = {0.2, 0.5, 0.3};
    assert_float_equal(rc_of_rows(one, 1, 3, &it), 1.0, 1e-12);
}

/* sp_rashomon_capacity on an M x n two-class matrix (rows scaled by up to 1 +- 5e-4 when `unnormalised`,
 * as the validation tolerance allows) against the full M-row Blahut-Arimoto of each example. */
static void check_against_full_channel(size_t M, size_t n, unsigned long seed, int unnormalised)
{
    sp_predmatrix *pm = NULL;
    assert_int_equal(sp_predmatrix_alloc(&pm, M, n, 2), SP_OK);
    gsl_rng *r = sp_rng_alloc(seed);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < n; i++) {
            float p1 = (float)gsl_rng_uniform(r);
            float scale = unnormalised ? (float)(1.0 + 1e-3 * (gsl_rng_uniform(r) - 0.5)) : 1.0f;
            sp_predmatrix_row(pm, m)[2 * i] = (1.0f - p1) * scale;
            sp_predmatrix_row(pm, m)[2 * i + 1] = p1 * scale;
        }
    gsl_rng_free(r);
    sp_predmatrix_pack(pm);
    double *rc = malloc(n * sizeof *rc), *full_rows = malloc(2 * M * sizeof *full_rows);
    assert_non_null(rc);
    assert_non_null(full_rows);
    size_t capped = 99;
    assert_int_equal(sp_rashomon_capacity(rc, &capped, pm, NULL), SP_OK);
    assert_int_equal(capped, 0);
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < M; m++) {
            full_rows[2 * m] = sp_predmatrix_row(pm, m)[2 * i];
            full_rows[2 * m + 1] = sp_predmatrix_row(pm, m)[2 * i + 1];
        }
        int it;
        double full = rc_of_rows(full_rows, M, 2, &it);
        /* Near-duplicate extreme rows (e.g. two models at 0.924) leave the full channel ill-conditioned:
         * the iteration may stop at the cap, with a certified lower bound. */
        assert_true(full <= rc[i] + 1e-12);
        assert_float_equal(rc[i], full, it > SP_CAPACITY_MAX_ITER ? 1e-6 : 1e-9);
        assert_true(rc[i] >= 1.0 - 1e-12 && rc[i] <= 2.0 + 1e-12);
    }
    free(rc);
    free(full_rows);
    sp_predmatrix_free(pm);
}

static void test_predmatrix_capacity_and_reduction(void **state)
{
    (void)state;
    /* Two classes: extreme rows + closed form must equal the full M-row Blahut-Arimoto, also for rows
     * that do not sum to exactly 1 and across the kernel's example blocks (4096). */
    check_against_full_channel(7, 40, 11, 0);
    check_against_full_channel(50, 60, 12, 1);
    check_against_full_channel(3, 4100, 13, 1);

    const size_t M = 7, n = 40;
    sp_predmatrix *pm = NULL;
    assert_int_equal(sp_predmatrix_alloc(&pm, M, n, 2), SP_OK);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < n; i++) {
            float p1 = (float)((double)(m * n + i) / (double)(M * n));
            sp_predmatrix_row(pm, m)[2 * i] = 1.0f - p1;
            sp_predmatrix_row(pm, m)[2 * i + 1] = p1;
        }
    sp_predmatrix_pack(pm);
    double rc[40];
    /* a member set of one model has capacity 1 everywhere */
    uint8_t member[7] = {0, 0, 1, 0, 0, 0, 0};
    assert_int_equal(sp_rashomon_capacity(rc, NULL, pm, member), SP_OK);
    for (size_t i = 0; i < n; i++) assert_float_equal(rc[i], 1.0, 1e-12);
    /* members 1 and 5 only: the closed form of exactly those two rows */
    uint8_t two[7] = {0, 1, 0, 0, 0, 1, 0};
    assert_int_equal(sp_rashomon_capacity(rc, NULL, pm, two), SP_OK);
    for (size_t i = 0; i < n; i++) {
        const float *a = sp_predmatrix_row(pm, 1) + 2 * i, *b = sp_predmatrix_row(pm, 5) + 2 * i;
        double ra = (double)a[1] / ((double)a[0] + a[1]), rb = (double)b[1] / ((double)b[0] + b[1]);
        assert_float_equal(rc[i], exp2(sp_capacity_binary(ra, rb)), 0.0);
    }
    uint8_t none[7] = {0};
    assert_int_equal(sp_rashomon_capacity(rc, NULL, pm, none), SP_ERR_USAGE);
    sp_predmatrix_free(pm);
}

static void test_extremes_with_saturated_rows(void **state)
{
    (void)state;
    /* Saturated and tied outputs (exact 0 and 1, subnormal and near-1 shares, duplicated rows, rows not
     * summing to 1, an all-zero pair, which has no share and is skipped): the result equals the closed form
     * of the brute-force extreme renormalised shares. M = 19 and n = 70 take every path of the kernel: groups
     * of members and single members, 16-example vectors and the scalar tail. */
    const float vals[] = {0.0f, 1.0f, 1e-40f, 1e-30f, 0.5f, 0.99999994f, 1.0f - 1e-7f, 0.25f};
    enum { n = 70 };
    const size_t M = 19;
    sp_predmatrix *pm = NULL;
    assert_int_equal(sp_predmatrix_alloc(&pm, M, n, 2), SP_OK);
    gsl_rng *r = sp_rng_alloc(21);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < n; i++) {
            float p1 = vals[gsl_rng_uniform_int(r, 8)], s = i % 3 == 0 ? 0.9995f : 1.0f;
            if (i % 4 == 1) p1 = vals[i % 8]; /* every model identical */
            const int zero = i % 4 != 1 && i % 5 == 2 && m % 6 == 3;
            sp_predmatrix_row(pm, m)[2 * i] = zero ? 0.0f : (1.0f - p1) * s;
            sp_predmatrix_row(pm, m)[2 * i + 1] = zero ? 0.0f : p1 * s;
        }
    gsl_rng_free(r);
    double rc[n];
    assert_int_equal(sp_rashomon_capacity(rc, NULL, pm, NULL), SP_OK);
    for (size_t i = 0; i < n; i++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t m = 0; m < M; m++) {
            const float *g = sp_predmatrix_row(pm, m) + 2 * i;
            double share = (double)g[1] / ((double)g[0] + g[1]);
            lo = share < lo ? share : lo, hi = share > hi ? share : hi;
        }
        assert_float_equal(rc[i], exp2(sp_capacity_binary(lo, hi)), 0.0);
        assert_true(rc[i] >= 1.0 && rc[i] <= 2.0 + 1e-12);
        if (i % 4 == 1) assert_float_equal(rc[i], 1.0, 0.0);
    }
    sp_predmatrix_free(pm);
}

static void test_nearly_identical_rows_converge(void **state)
{
    (void)state;
    /* Every model says ~0.999: plain Blahut-Arimoto needs tens of thousands of steps here; the certified
     * bounds must close within the cap, and the value must match the two-row dual solution
     * (q equalising KL(a || q) = KL(b || q), by bisection). */
    const double pairs[][2] = {{0.999, 0.9991}, {0.6, 0.61}, {0.01, 0.02}, {0.9999995, 1.0}, {0.5, 0.5 + 1e-9}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        double a = pairs[k][0], b = pairs[k][1];
        const double rows[4] = {1 - a, a, 1 - b, b};
        int it;
        double rc = rc_of_rows(rows, 2, 2, &it);
        assert_true(it <= 500);
        double lo = a, hi = b, q = 0;
        for (int t = 0; t < 200; t++) {
            q = 0.5 * (lo + hi);
            double ka = a * log(a / q) + (1 - a) * log((1 - a) / (1 - q));
            double kb = (b > 0 ? b * log(b / q) : 0) + (b < 1 ? (1 - b) * log((1 - b) / (1 - q)) : 0);
            if (ka > kb) hi = q;
            else lo = q;
        }
        double kb = (b > 0 ? b * log(b / q) : 0) + (b < 1 ? (1 - b) * log((1 - b) / (1 - q)) : 0);
        assert_float_equal(rc, exp(kb), 1e-10);
        assert_float_equal(exp2(sp_capacity_binary(a, b)), exp(kb), 1e-12);
    }
}

static void test_binary_closed_form_known(void **state)
{
    (void)state;
    /* binary symmetric channel: 1 - H(p); the METRICS.md known answers */
    double h = -(0.1 * log2(0.1) + 0.9 * log2(0.9));
    assert_float_equal(sp_capacity_binary(0.1, 0.9), 1.0 - h, 1e-14);
    assert_float_equal(exp2(sp_capacity_binary(0.9, 0.1)), 1.444935, 1e-6);
    assert_float_equal(exp2(sp_capacity_binary(0.2, 0.8)), 1.212573, 1e-6);
    assert_float_equal(sp_capacity_binary(0.3, 0.3), 0.0, 0.0);
    assert_float_equal(sp_capacity_binary(0.0, 1.0), 1.0, 1e-15);
    assert_float_equal(sp_capacity_binary(1.0, 0.0), 1.0, 1e-15);
    /* Z channel (rows (1, 0) and (1 - b, b)): C = log2(1 + b (1 - b)^((1 - b) / b)) */
    const double zb[] = {0.5, 0.9, 0.01, 1e-6};
    for (size_t k = 0; k < sizeof zb / sizeof zb[0]; k++) {
        double b = zb[k], z = log2(1.0 + b * pow(1.0 - b, (1.0 - b) / b));
        assert_float_equal(sp_capacity_binary(0.0, b), z, 1e-14);
        assert_float_equal(sp_capacity_binary(1.0 - b, 1.0), z, 1e-14); /* mirrored classes */
    }
    /* symmetric in the order of the rows and in the labelling of the classes */
    assert_float_equal(sp_capacity_binary(0.37, 0.61), sp_capacity_binary(0.61, 0.37), 0.0);
    assert_float_equal(sp_capacity_binary(0.37, 0.61), sp_capacity_binary(1 - 0.61, 1 - 0.37), 1e-15);
}

/* Random binary channels of M rows: the closed form on the two extreme rows equals the full M-row
 * Blahut-Arimoto to 1e-6 (1e-9 when BA met its tolerance), and BA, a certified lower bound, never exceeds
 * it. Rows are drawn uniformly, near 0 or 1, or as near-duplicates of one value. */
static void test_binary_closed_form_matches_blahut_arimoto(void **state)
{
    (void)state;
    const size_t Ms[] = {2, 3, 5, 10, 20, 50};
    gsl_rng *r = sp_rng_alloc(2024);
    sp_capacity_ws *ws = NULL;
    assert_int_equal(sp_capacity_ws_alloc(&ws, 50, 2), SP_OK);
    size_t n_checked = 0;
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
        const size_t M = Ms[mi];
        for (int trial = 0; trial < 40; trial++) {
            double lo = 1, hi = 0, centre = gsl_rng_uniform(r);
            for (size_t m = 0; m < M; m++) {
                double p;
                switch (trial % 4) {
                case 0: p = gsl_rng_uniform(r); break;
                case 1: p = 1e-4 * gsl_rng_uniform(r); break;                 /* all near class 0 */
                case 2: p = 1.0 - 1e-3 * gsl_rng_uniform(r); break;           /* all near class 1 */
                default: p = centre + 1e-3 * (gsl_rng_uniform(r) - 0.5); break; /* near-duplicates */
                }
                ws->W[2 * m] = 1.0 - p, ws->W[2 * m + 1] = p;
                lo = p < lo ? p : lo, hi = p > hi ? p : hi;
            }
            int it;
            double ba = exp2(sp_capacity_blahut_arimoto(ws, M, &it));
            double cf = exp2(sp_capacity_binary(lo, hi));
            assert_true(ba <= cf + 1e-12);
            assert_float_equal(cf, ba, it > SP_CAPACITY_MAX_ITER ? 1e-6 : 1e-9);
            n_checked++;
        }
    }
    assert_int_equal(n_checked, 6 * 40);
    sp_capacity_ws_free(ws);
    gsl_rng_free(r);
}

static void test_three_classes_bounds(void **state)
{
    (void)state;
    /* Capacity of more than C rows is bounded by C; adding a mixture of existing rows changes nothing. */
    const double rows[] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    int it;
    assert_float_equal(rc_of_rows(rows, 4, 3, &it), 3.0, 1e-8);
    const double two[] = {0.7, 0.2, 0.1, 0.1, 0.2, 0.7};
    const double two_plus_mix[] = {0.7, 0.2, 0.1, 0.1, 0.2, 0.7, 0.4, 0.2, 0.4};
    assert_float_equal(rc_of_rows(two, 2, 3, &it), rc_of_rows(two_plus_mix, 3, 3, &it), 1e-8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_predmatrix_capacity_and_reduction),
        cmocka_unit_test(test_nearly_identical_rows_converge),
        cmocka_unit_test(test_extremes_with_saturated_rows),
        cmocka_unit_test(test_binary_closed_form_known),
        cmocka_unit_test(test_binary_closed_form_matches_blahut_arimoto),
        cmocka_unit_test(test_three_classes_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
