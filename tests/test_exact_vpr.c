/* test_exact_vpr.c: exact viable prediction ranges over the level set of the two-class linear objective.
 * A tiny problem (4 features, one of them never seen in training, 12 training rows) is checked by brute
 * force: boundary points found by bisection along 1,000 random rays from the optimum (then refined by a random
 * local search over the ray direction) must never leave the solver's outer bounds and must come within 1e-5
 * of them; random points inside the set must have margins inside the range (containment); a vanishing eps
 * collapses the range onto the optimum's margin at the rate sqrt(2 eps x'H^{-1}x); ranges grow with eps;
 * bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exact_vpr.h"
#include "seeds.h"

#define TF 4  /* features; feature 3 never occurs in training */
#define TR 12 /* training rows */
#define TN (TF + 1)

typedef struct {
    sp_csr *X;        /* [TR + n_eval, TF] */
    int32_t y[TR];
    size_t rows[TR];
    sp_vpr_problem *p;
    double l2;
} tiny;

static const float eval_x[4][TF] = {
    {0.5f, -1.0f, 0.25f, 0.0f},  /* seen features only */
    {0.0f, 0.3f, 0.0f, 1.2f},    /* mostly the unseen feature */
    {1.0f, 1.0f, 1.0f, 0.0f},
    {0.0f, 0.0f, 0.0f, 0.0f},    /* empty: the margin is the bias */
};

static void tiny_build(tiny *t, double l2)
{
    gsl_rng *r = sp_rng_alloc(12345);
    t->X = sp_csr_alloc(TF, 64);
    assert_non_null(t->X);
    const double w_true[3] = {1.5, -1.0, 0.5};
    for (size_t i = 0; i < TR; i++) {
        float v[3];
        int32_t c[3] = {0, 1, 2};
        double a = 0.2;
        for (int j = 0; j < 3; j++) v[j] = (float)gsl_ran_gaussian(r, 1.0), a += w_true[j] * v[j];
        t->y[i] = a + gsl_ran_gaussian(r, 1.0) > 0; /* noisy labels: not separable */
        t->rows[i] = i;
        assert_int_equal(sp_csr_append_row(t->X, c, v, 3), SP_OK);
    }
    gsl_rng_free(r);
    t->l2 = l2;
    assert_int_equal(sp_vpr_problem_alloc(&t->p, t->X, t->y, t->rows, TR, l2), SP_OK);
    sp_vpr_options o = sp_vpr_options_default();
    assert_int_equal(sp_vpr_fit(t->p, NULL, 0.0, &o), SP_OK);
    assert_true(t->p->fit_grad_norm <= o.fit_grad_tol);
}

static void tiny_free(tiny *t)
{
    sp_vpr_problem_free(t->p);
    sp_csr_free(t->X);
}

/* Full-space point (d[TF], beta) of the optimum: feature 3 is 0 there. */
static void star_point(double z[TN], const tiny *t)
{
    memset(z, 0, TN * sizeof *z);
    for (size_t j = 0; j < t->p->ts->n_compact; j++) z[t->p->full_id[j]] = t->p->z_star[j];
    z[TF] = t->p->z_star[t->p->ts->n_compact];
}

static double f_at(const tiny *t, const double z[TN]) { return sp_vpr_objective(t->p, z, z[TF]); }

static double margin_at(const double z[TN], const float x[TF])
{
    double a = z[TF];
    for (int j = 0; j < TF; j++) a += x[j] * z[j];
    return a;
}

/* The point of the ray z* + s u (u unit) where f = c, from below (inside the set): bisection on s. */
static void ray_boundary(double out[TN], const tiny *t, const double zs[TN], const double u[TN], double c)
{
    double lo = 0, hi = 1;
    double z[TN];
    for (;;) {
        for (int j = 0; j < TN; j++) z[j] = zs[j] + hi * u[j];
        if (f_at(t, z) > c) break;
        lo = hi, hi *= 2;
    }
    for (int it = 0; it < 80; it++) {
        double mid = 0.5 * (lo + hi);
        for (int j = 0; j < TN; j++) z[j] = zs[j] + mid * u[j];
        if (f_at(t, z) <= c) lo = mid;
        else hi = mid;
    }
    for (int j = 0; j < TN; j++) out[j] = zs[j] + lo * u[j];
}

static void random_unit(double u[TN], gsl_rng *r)
{
    double n = 0;
    for (int j = 0; j < TN; j++) u[j] = gsl_ran_gaussian(r, 1.0), n += u[j] * u[j];
    for (int j = 0; j < TN; j++) u[j] /= sqrt(n);
}

/* max over the set of sigma m_x by brute force: the best of n_rays random boundary points, then a random
 * local search on the direction with shrinking steps. */
static double brute_max(const tiny *t, const float x[TF], double sigma, double eps, size_t n_rays, gsl_rng *r)
{
    double zs[TN], u[TN], best_u[TN], z[TN], best = -INFINITY;
    star_point(zs, t);
    double c = t->p->f_star + eps;
    for (size_t k = 0; k < n_rays; k++) {
        random_unit(u, r);
        ray_boundary(z, t, zs, u, c);
        double v = sigma * margin_at(z, x);
        if (v > best) best = v, memcpy(best_u, u, sizeof u);
    }
    for (double step = 0.1; step > 1e-7; step *= 0.5)
        for (int k = 0; k < 30; k++) {
            double n = 0;
            for (int j = 0; j < TN; j++) u[j] = best_u[j] + step * gsl_ran_gaussian(r, 1.0), n += u[j] * u[j];
            for (int j = 0; j < TN; j++) u[j] /= sqrt(n);
            ray_boundary(z, t, zs, u, c);
            double v = sigma * margin_at(z, x);
            if (v > best) best = v, memcpy(best_u, u, sizeof u);
        }
    return best;
}

/* Sparse form of a dense example. */
static size_t sparse_x(int32_t cols[TF], float vals[TF], const float x[TF])
{
    size_t k = 0;
    for (int j = 0; j < TF; j++)
        if (x[j] != 0) cols[k] = j, vals[k++] = x[j];
    return k;
}

static void test_brute_force(void **state)
{
    (void)state;
    tiny t;
    tiny_build(&t, 0.1);
    sp_vpr_options o = sp_vpr_options_default();
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(t.p);
    assert_non_null(ws);
    gsl_rng *r = sp_rng_alloc(7);
    const double eps[2] = {0.01, 0.2};
    for (int ex = 0; ex < 4; ex++) {
        int32_t cols[TF];
        float vals[TF];
        size_t k = sparse_x(cols, vals, eval_x[ex]);
        sp_vpr_range rg[2];
        assert_int_equal(sp_vpr_solve(rg, ws, t.p, cols, vals, k, eps, 2, &o), SP_OK);
        for (int e = 0; e < 2; e++) {
            assert_true(rg[e].converged);
            assert_true(rg[e].lo <= rg[e].lo_in && rg[e].hi_in <= rg[e].hi);
            assert_true(rg[e].hi - rg[e].hi_in <= 1e-6 * fmax(1, fabs(rg[e].hi)));
            double bmax = brute_max(&t, eval_x[ex], 1.0, eps[e], 1000, r);
            double bmin = -brute_max(&t, eval_x[ex], -1.0, eps[e], 1000, r);
            /* brute-force points are inside the set: never beyond the outer bounds */
            assert_true(bmax <= rg[e].hi + 1e-9);
            assert_true(bmin >= rg[e].lo - 1e-9);
            /* and they reach them */
            assert_true(rg[e].hi - bmax <= 1e-5);
            assert_true(bmin - rg[e].lo <= 1e-5);
        }
    }
    gsl_rng_free(r);
    sp_vpr_workspace_free(ws);
    tiny_free(&t);
}

static void test_containment_of_random_members(void **state)
{
    (void)state;
    tiny t;
    tiny_build(&t, 0.1);
    sp_vpr_options o = sp_vpr_options_default();
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(t.p);
    gsl_rng *r = sp_rng_alloc(11);
    const double eps = 0.05;
    sp_vpr_range rg[4];
    for (int ex = 0; ex < 4; ex++) {
        int32_t cols[TF];
        float vals[TF];
        size_t k = sparse_x(cols, vals, eval_x[ex]);
        assert_int_equal(sp_vpr_solve(&rg[ex], ws, t.p, cols, vals, k, &eps, 1, &o), SP_OK);
    }
    double zs[TN], z[TN], u[TN];
    star_point(zs, &t);
    size_t members = 0;
    for (int k = 0; k < 5000; k++) {
        /* a random point of a box around the optimum; members of the set must stay inside every range */
        random_unit(u, r);
        double s = 3.0 * gsl_rng_uniform(r);
        for (int j = 0; j < TN; j++) z[j] = zs[j] + s * u[j];
        if (f_at(&t, z) > t.p->f_star + eps) continue;
        members++;
        for (int ex = 0; ex < 4; ex++) {
            double m = margin_at(z, eval_x[ex]);
            assert_true(m <= rg[ex].hi + 1e-9);
            assert_true(m >= rg[ex].lo - 1e-9);
        }
    }
    assert_true(members > 100);
    gsl_rng_free(r);
    sp_vpr_workspace_free(ws);
    tiny_free(&t);
}

static void test_eps_to_zero_collapses(void **state)
{
    (void)state;
    tiny t;
    tiny_build(&t, 0.1);
    sp_vpr_options o = sp_vpr_options_default();
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(t.p);
    int32_t cols[TF];
    float vals[TF];
    size_t k = sparse_x(cols, vals, eval_x[0]);
    double m_star = sp_vpr_margin_star(t.p, cols, vals, k);
    double zs[TN];
    star_point(zs, &t);
    assert_true(fabs(m_star - margin_at(zs, eval_x[0])) < 1e-12);
    const double eps[3] = {0, 1e-10, 1e-8};
    sp_vpr_range rg[3];
    assert_int_equal(sp_vpr_solve(rg, ws, t.p, cols, vals, k, eps, 3, &o), SP_OK);
    assert_true(rg[0].lo == m_star && rg[0].hi == m_star);
    /* half-width sqrt(2 eps q) to first order: the ratio of the two half-widths is sqrt(100) = 10 */
    double w1 = rg[1].hi - m_star, w2 = rg[2].hi - m_star;
    assert_true(w1 > 0 && w1 < 1e-3);
    assert_true(fabs(w2 / w1 - 10.0) < 0.05);
    assert_true(fabs((m_star - rg[2].lo) / w2 - 1.0) < 0.01); /* symmetric to first order */
    sp_vpr_workspace_free(ws);
    tiny_free(&t);
}

static void test_monotone_in_eps(void **state)
{
    (void)state;
    tiny t;
    tiny_build(&t, 0.1);
    sp_vpr_options o = sp_vpr_options_default();
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(t.p);
    const double eps[6] = {0.1, 0.001, 0.5, 0.01, 0.05, 0.002}; /* any order */
    const int asc[6] = {1, 5, 3, 4, 0, 2};
    for (int ex = 0; ex < 4; ex++) {
        int32_t cols[TF];
        float vals[TF];
        size_t k = sparse_x(cols, vals, eval_x[ex]);
        sp_vpr_range rg[6];
        assert_int_equal(sp_vpr_solve(rg, ws, t.p, cols, vals, k, eps, 6, &o), SP_OK);
        for (int e = 1; e < 6; e++) {
            assert_true(rg[asc[e]].hi > rg[asc[e - 1]].hi);
            assert_true(rg[asc[e]].lo < rg[asc[e - 1]].lo);
        }
        /* the same range when asked alone */
        sp_vpr_range one;
        assert_int_equal(sp_vpr_solve(&one, ws, t.p, cols, vals, k, &eps[3], 1, &o), SP_OK);
        assert_true(fabs(one.hi - rg[3].hi) < 1e-6 && fabs(one.lo - rg[3].lo) < 1e-6);
    }
    sp_vpr_workspace_free(ws);
    tiny_free(&t);
}

static void test_bad_input(void **state)
{
    (void)state;
    tiny t;
    tiny_build(&t, 0.1);
    sp_vpr_problem *p = NULL;
    assert_int_equal(sp_vpr_problem_alloc(&p, t.X, t.y, t.rows, TR, 0.0), SP_ERR_USAGE);
    int32_t y1[TR];
    for (int i = 0; i < TR; i++) y1[i] = 1;
    assert_int_equal(sp_vpr_problem_alloc(&p, t.X, y1, t.rows, TR, 0.1), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "both classes"));
    y1[3] = 2;
    assert_int_equal(sp_vpr_problem_alloc(&p, t.X, y1, t.rows, TR, 0.1), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "training row 3"));
    assert_null(p);
    sp_vpr_options o = sp_vpr_options_default();
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(t.p);
    sp_vpr_range rg;
    int32_t cols[1] = {TF};
    float vals[1] = {1};
    double eps = 0.1;
    assert_int_equal(sp_vpr_solve(&rg, ws, t.p, cols, vals, 1, &eps, 1, &o), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "outside"));
    cols[0] = 0;
    eps = -1;
    assert_int_equal(sp_vpr_solve(&rg, ws, t.p, cols, vals, 1, &eps, 1, &o), SP_ERR_USAGE);
    sp_vpr_workspace_free(ws);
    tiny_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_containment_of_random_members),
        cmocka_unit_test(test_eps_to_zero_collapses),
        cmocka_unit_test(test_monotone_in_eps),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
