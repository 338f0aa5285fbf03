/* test_bootstrap.c: Multi-Bootstrap draws and interval coverage on synthetic data with known truth (plain
 * and nested designs; a bootstrap that ignores the nesting must undercover), percentile intervals, the nested
 * ANOVA decomposition, the underspecification statistics (spread, Spearman, Kendall tau-b with ties), and
 * the seed pairing of two variants (which grids pair, and a paired difference that is exactly known). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_randist.h>

#include "bootstrap.h"
#include "seeds.h"
#include "underspec.h"

static void test_groups_and_draws(void **state)
{
    (void)state;
    const uint64_t key[7] = {5, 9, 5, 7, 9, 5, 7};
    sp_boot_groups *g = NULL;
    assert_int_equal(sp_boot_groups_alloc(&g, key, 7), SP_OK);
    assert_int_equal(g->n_groups, 3);
    assert_int_equal(g->max_group, 3);
    assert_int_equal(sp_boot_groups_max_draw(g), 9);
    const size_t group_of[7] = {0, 1, 0, 2, 1, 0, 2};
    for (int m = 0; m < 7; m++) assert_int_equal(g->group_of[m], group_of[m]);
    gsl_rng *r = sp_rng_alloc(sp_seed_for(1, "models:x", 0));
    size_t draw[9], slot[9], k;
    for (int rep = 0; rep < 200; rep++) {
        sp_boot_draw_models(draw, slot, &k, g, r);
        /* each of the 3 group draws contributes its group's size; all models of one slot share a group */
        assert_true(k >= 6 && k <= 9);
        for (size_t t = 1; t < k; t++)
            if (slot[t] == slot[t - 1]) assert_int_equal(g->group_of[draw[t]], g->group_of[draw[t - 1]]);
    }
    gsl_rng_free(r);
    /* same seed, same draws */
    size_t d1[9], d2[9], k1, k2;
    gsl_rng *r1 = sp_rng_alloc(sp_seed_for(3, "models:x", 4)), *r2 = sp_rng_alloc(sp_seed_for(3, "models:x", 4));
    sp_boot_draw_models(d1, NULL, &k1, g, r1);
    sp_boot_draw_models(d2, NULL, &k2, g, r2);
    assert_int_equal(k1, k2);
    assert_memory_equal(d1, d2, k1 * sizeof *d1);
    gsl_rng_free(r1), gsl_rng_free(r2);
    sp_boot_groups_free(g);
    /* no key: every model alone */
    assert_int_equal(sp_boot_groups_alloc(&g, NULL, 4), SP_OK);
    assert_int_equal(g->n_groups, 4);
    assert_int_equal(g->max_group, 1);
    sp_boot_groups_free(g);
    double w[10];
    r = sp_rng_alloc(9);
    sp_boot_example_weights(w, 10, r);
    double tot = 0;
    for (int i = 0; i < 10; i++) tot += w[i];
    assert_float_equal(tot, 10.0, 0);
    gsl_rng_free(r);
}

static void test_percentile(void **state)
{
    (void)state;
    double reps[102], lo, hi;
    for (int b = 0; b < 100; b++) reps[b] = 100 - b; /* unsorted input */
    reps[100] = NAN, reps[101] = INFINITY;           /* non-finite replicates are ignored */
    assert_int_equal(sp_boot_percentile(&lo, &hi, reps, 102, 0.95), SP_OK);
    assert_float_equal(lo, 3.475, 1e-12); /* numpy.percentile(arange(1, 101), [2.5, 97.5]) */
    assert_float_equal(hi, 97.525, 1e-12);
    assert_float_equal(reps[0], 100, 0);  /* input untouched */
    double one = 1;
    assert_int_equal(sp_boot_percentile(&lo, &hi, &one, 1, 0.95), SP_OK);
    assert_true(isnan(lo) && isnan(hi));
    assert_int_equal(sp_boot_percentile(&lo, &hi, reps, 100, 1.5), SP_ERR_USAGE);
}

/* Coverage of the 95% percentile interval of a mean over R synthetic data sets. */
static double coverage_plain(size_t R, size_t B, size_t n)
{
    gsl_rng *data = sp_rng_alloc(77);
    double *x = malloc(n * sizeof *x), *w = malloc(n * sizeof *w), *reps = malloc(B * sizeof *reps);
    size_t hits = 0;
    for (size_t rep = 0; rep < R; rep++) {
        for (size_t i = 0; i < n; i++) x[i] = 3.0 + gsl_ran_gaussian(data, 2.0);
        for (size_t b = 0; b < B; b++) {
            gsl_rng *r = sp_rng_alloc(sp_seed_for(rep, "examples:test", b));
            sp_boot_example_weights(w, n, r);
            gsl_rng_free(r);
            double s = 0;
            for (size_t i = 0; i < n; i++) s += w[i] * x[i];
            reps[b] = s / (double)n;
        }
        double lo, hi;
        sp_boot_percentile(&lo, &hi, reps, B, 0.95);
        hits += lo <= 3.0 && 3.0 <= hi;
    }
    free(x), free(w), free(reps);
    gsl_rng_free(data);
    return (double)hits / (double)R;
}

static void test_coverage_plain(void **state)
{
    (void)state;
    /* percentile intervals of a mean with n = 40 cover about 94%; binomial sd over 400 runs is 1.2% */
    double cov = coverage_plain(400, 400, 40);
    print_message("plain coverage %.4f\n", cov);
    assert_true(cov >= 0.90 && cov <= 0.98);
}

/* y_gj = mu + a_g + e_gj, G groups of J; coverage of the grand mean with the nested draw, or with every
 * model treated as independent (key = NULL). */
static double coverage_nested(size_t R, size_t B, size_t G, size_t J, int use_groups)
{
    const size_t N = G * J;
    gsl_rng *data = sp_rng_alloc(1234);
    uint64_t *key = malloc(N * sizeof *key);
    for (size_t j = 0; j < N; j++) key[j] = j / J;
    sp_boot_groups *g = NULL;
    assert_int_equal(sp_boot_groups_alloc(&g, use_groups ? key : NULL, N), SP_OK);
    double *y = malloc(N * sizeof *y), *reps = malloc(B * sizeof *reps);
    size_t *draw = malloc(sp_boot_groups_max_draw(g) * sizeof *draw), k, hits = 0;
    for (size_t rep = 0; rep < R; rep++) {
        for (size_t a = 0; a < G; a++) {
            double effect = gsl_ran_gaussian(data, 1.0);
            for (size_t j = 0; j < J; j++) y[a * J + j] = effect + gsl_ran_gaussian(data, 1.0);
        }
        for (size_t b = 0; b < B; b++) {
            gsl_rng *r = sp_rng_alloc(sp_seed_for(rep, "models:nested", b));
            sp_boot_draw_models(draw, NULL, &k, g, r);
            gsl_rng_free(r);
            double s = 0;
            for (size_t t = 0; t < k; t++) s += y[draw[t]];
            reps[b] = s / (double)k;
        }
        double lo, hi;
        sp_boot_percentile(&lo, &hi, reps, B, 0.95);
        hits += lo <= 0.0 && 0.0 <= hi;
    }
    free(key), free(y), free(reps), free(draw);
    sp_boot_groups_free(g);
    gsl_rng_free(data);
    return (double)hits / (double)R;
}

static void test_coverage_nested(void **state)
{
    (void)state;
    /* Var(mean) = 1/G + 1/(G J) = 0.0667 for G = 20, J = 3. The two-stage draw covers about 95% (slightly
     * conservative); treating the 60 models as independent estimates ~2/60 = 0.033 and covers ~80%. */
    double nested = coverage_nested(300, 300, 20, 3, 1), flat = coverage_nested(300, 300, 20, 3, 0);
    print_message("nested coverage %.4f, flat coverage %.4f\n", nested, flat);
    assert_true(nested >= 0.91 && nested <= 0.995);
    assert_true(flat <= 0.88);
}

static void test_nested_variance(void **state)
{
    (void)state;
    /* groups {1,3}, {5,7}, {9,11}: MSB = 32, MSW = 2, n0 = 2 -> between 15, within 2 */
    const double y[6] = {1, 3, 5, 7, 9, 11};
    const size_t grp[6] = {0, 0, 1, 1, 2, 2};
    sp_nested_var v;
    assert_int_equal(sp_nested_variance(&v, y, grp, 6, 3), SP_OK);
    assert_float_equal(v.mean, 6.0, 1e-14);
    assert_float_equal(v.var_between, 15.0, 1e-12);
    assert_float_equal(v.var_within, 2.0, 1e-12);
    assert_float_equal(v.share_between, 15.0 / 17.0, 1e-12);
    /* equal group means: negative raw estimate, truncated at 0 */
    const double z[6] = {1, 3, 3, 1, 0, 4};
    assert_int_equal(sp_nested_variance(&v, z, grp, 6, 3), SP_OK);
    assert_true(v.var_between_raw < 0);
    assert_float_equal(v.var_between, 0.0, 0);
    /* unbalanced: {1,2,3}, {7}: MSB = 3*(2-3.25)^2 + (7-3.25)^2 = 18.75, MSW = 1, n0 = (4 - 10/4)/1 = 1.5 */
    const double u[4] = {1, 2, 3, 7};
    const size_t gu[4] = {0, 0, 0, 1};
    assert_int_equal(sp_nested_variance(&v, u, gu, 4, 2), SP_OK);
    assert_float_equal(v.var_within, 1.0, 1e-12);
    assert_float_equal(v.var_between, (18.75 - 1.0) / 1.5, 1e-12);
    assert_int_equal(sp_nested_variance(&v, y, grp, 3, 3), SP_ERR_USAGE); /* one model per group */
}

static void test_underspec_statistics(void **state)
{
    (void)state;
    const double x[5] = {10, 1, 3, 2, 4};
    sp_spread s;
    assert_int_equal(sp_spread_compute(&s, x, 5), SP_OK);
    assert_float_equal(s.mean, 4.0, 1e-14);
    assert_float_equal(s.sd, sqrt(12.5), 1e-12);
    assert_float_equal(s.range, 9.0, 0);
    assert_float_equal(s.iqr, 2.0, 1e-14);
    assert_int_equal(sp_spread_compute(&s, x, 1), SP_OK);
    assert_true(isnan(s.sd));
    assert_float_equal(s.range, 0.0, 0);
    /* scipy.stats.kendalltau (tau-b) and spearmanr */
    const double a[5] = {1, 2, 2, 3, 4}, b[5] = {1, 3, 2, 2, 5};
    assert_float_equal(sp_kendall_tau_b(a, b, 5), 0.6666666666666666, 1e-14);
    const double c[6] = {1, 2, 3, 4, 5, 6}, d[6] = {2, 1, 4, 3, 6, 5};
    assert_float_equal(sp_kendall_tau_b(c, d, 6), 0.6, 1e-14);
    const double e[5] = {1, 2, 3, 4, 5}, f[5] = {5, 6, 7, 8, 7};
    assert_float_equal(sp_spearman(e, f, 5), 0.8207826816681233, 1e-12);
    const double k[3] = {2, 2, 2};
    assert_true(isnan(sp_kendall_tau_b(k, e, 3)));
    assert_true(isnan(sp_spearman(k, e, 3)));
    assert_true(isnan(sp_spread_ratio(1.0, 0.0)));
    assert_float_equal(sp_spread_ratio(3.0, 2.0), 1.5, 0);
}

static void test_pairing_grids(void **state)
{
    (void)state;
    sp_boot_pairing *p = NULL;
    /* variant 0 nested: 2 pretraining groups x seeds {7, 3, 9} in scrambled order; variant 1: seeds 9, 7, 3 */
    const uint64_t s0[] = {7, 3, 9, 9, 7, 3}, s1[] = {9, 7, 3};
    const size_t g0[] = {0, 0, 0, 1, 1, 1};
    assert_int_equal(sp_boot_pairing_alloc(&p, s0, g0, 2, 6, s1, NULL, 1, 3), SP_OK);
    assert_non_null(p);
    assert_int_equal(p->n_seeds, 3);
    assert_int_equal(p->n_groups[0], 2);
    assert_int_equal(p->n_groups[1], 1);
    /* seeds sorted 3, 7, 9: cell[g][f] is the model of (group g, seed f) */
    const size_t want0[] = {1, 0, 2, 5, 4, 3}, want1[] = {2, 1, 0};
    for (int c = 0; c < 6; c++) assert_int_equal(p->cell[0][c], want0[c]);
    for (int c = 0; c < 3; c++) assert_int_equal(p->cell[1][c], want1[c]);
    /* a draw: the same seeds in every drawn group and in the other variant, groups drawn per variant */
    gsl_rng *rs = sp_rng_alloc(1), *r0 = sp_rng_alloc(2), *r1 = sp_rng_alloc(3);
    size_t fd[3], o0[6], sl0[6], o1[3], sl1[3];
    for (int rep = 0; rep < 20; rep++) {
        sp_boot_draw_paired(fd, o0, sl0, o1, sl1, p, rs, r0, r1);
        for (size_t t = 0; t < 3; t++) {
            assert_true(fd[t] < 3);
            assert_int_equal(s1[o1[t]], s0[o0[t]]);     /* paired by seed */
            assert_int_equal(s0[o0[3 + t]], s0[o0[t]]); /* same seeds in both group draws */
            assert_int_equal(g0[o0[t]], g0[o0[0]]);     /* one group per group draw */
            assert_int_equal(sl0[t], 0);
            assert_int_equal(sl0[3 + t], 1);
            assert_int_equal(sl1[t], 0);
        }
    }
    gsl_rng_free(rs), gsl_rng_free(r0), gsl_rng_free(r1);
    sp_boot_pairing_free(p);

    /* not pairable: different seed sets, a seed twice in a group, a missing cell */
    const uint64_t other[] = {9, 7, 4};
    assert_int_equal(sp_boot_pairing_alloc(&p, s0, g0, 2, 6, other, NULL, 1, 3), SP_OK);
    assert_null(p);
    const uint64_t twice[] = {7, 7, 9, 9, 7, 3};
    assert_int_equal(sp_boot_pairing_alloc(&p, twice, g0, 2, 6, s1, NULL, 1, 3), SP_OK);
    assert_null(p);
    assert_int_equal(sp_boot_pairing_alloc(&p, s0, g0, 2, 5, s1, NULL, 1, 3), SP_OK);
    assert_null(p);
}

/* Scores with a strong per-seed effect e(s) shared by both variants: y1(s) = e(s), y0(g, s) = pre(g) + e(s)
 * + delta + d(s), pre = {-0.5, 0, 0.5} over 3 pretraining groups, d = {+0.1, -0.1, +0.1, -0.1}, e = {0, 2, 4, 6}.
 * The true difference of the means over the grid is delta (pre and d average to 0). A paired replicate's
 * difference of means is delta + (mean of the drawn pre) + (mean of d over the drawn seeds), so every one lies
 * in [delta - 0.6, delta + 0.6] whatever the draw; unpaired draws add the spread of e (6 units). */
static void test_paired_difference_known(void **state)
{
    (void)state;
    enum { F = 4, G = 3, B = 2000 };
    const double e[F] = {0, 2, 4, 6}, d[F] = {0.1, -0.1, 0.1, -0.1}, pre[G] = {-0.5, 0, 0.5}, delta = 0.25;
    uint64_t seed0[G * F], seed1[F];
    size_t group0[G * F];
    double y0[G * F], y1[F];
    for (size_t g = 0; g < G; g++)
        for (size_t f = 0; f < F; f++) {
            size_t m = g * F + f;
            seed0[m] = 1000 + f, group0[m] = g;
            y0[m] = pre[g] + e[f] + delta + d[f];
        }
    for (size_t f = 0; f < F; f++) seed1[F - 1 - f] = 1000 + f, y1[F - 1 - f] = e[f];
    sp_boot_pairing *p = NULL;
    assert_int_equal(sp_boot_pairing_alloc(&p, seed0, group0, G, G * F, seed1, NULL, 1, F), SP_OK);
    assert_non_null(p);
    sp_boot_groups *gr0 = NULL, *gr1 = NULL;
    uint64_t key0[G * F];
    for (size_t m = 0; m < G * F; m++) key0[m] = group0[m];
    assert_int_equal(sp_boot_groups_alloc(&gr0, key0, G * F), SP_OK);
    assert_int_equal(sp_boot_groups_alloc(&gr1, NULL, F), SP_OK);
    double *paired = malloc(B * sizeof *paired), *unpaired = malloc(B * sizeof *unpaired);
    size_t fd[F], o0[G * F], o1[F], k0, k1;
    for (size_t b = 0; b < B; b++) {
        gsl_rng *rs = sp_rng_alloc(sp_seed_for(5, "seeds", b)), *r0 = sp_rng_alloc(sp_seed_for(5, "g0", b)),
                *r1 = sp_rng_alloc(sp_seed_for(5, "g1", b));
        sp_boot_draw_paired(fd, o0, NULL, o1, NULL, p, rs, r0, r1);
        double m0 = 0, m1 = 0;
        for (size_t t = 0; t < G * F; t++) m0 += y0[o0[t]] / (G * F);
        for (size_t t = 0; t < F; t++) m1 += y1[o1[t]] / F;
        paired[b] = m0 - m1;
        assert_true(paired[b] >= delta - 0.6 - 1e-12 && paired[b] <= delta + 0.6 + 1e-12);
        sp_boot_draw_models(o0, NULL, &k0, gr0, r0); /* the unpaired Multi-Bootstrap: independent draws */
        sp_boot_draw_models(o1, NULL, &k1, gr1, r1);
        assert_int_equal(k0, G * F);
        assert_int_equal(k1, F);
        m0 = m1 = 0;
        for (size_t t = 0; t < k0; t++) m0 += y0[o0[t]] / (double)k0;
        for (size_t t = 0; t < k1; t++) m1 += y1[o1[t]] / (double)k1;
        unpaired[b] = m0 - m1;
        gsl_rng_free(rs), gsl_rng_free(r0), gsl_rng_free(r1);
    }
    double plo, phi, ulo, uhi;
    assert_int_equal(sp_boot_percentile(&plo, &phi, paired, B, 0.95), SP_OK);
    assert_int_equal(sp_boot_percentile(&ulo, &uhi, unpaired, B, 0.95), SP_OK);
    print_message("paired [%.3f, %.3f], unpaired [%.3f, %.3f], true %.3f\n", plo, phi, ulo, uhi, delta);
    assert_true(plo <= delta && delta <= phi);
    assert_true(ulo <= delta && delta <= uhi);
    assert_true(phi - plo <= 1.2 + 1e-12);       /* the bound above */
    assert_true(uhi - ulo > 2.0 * (phi - plo));  /* the shared seed effect no longer widens it */
    /* without pretraining and seed noise (pre = d = 0) every paired replicate is exactly delta */
    for (size_t m = 0; m < G * F; m++) y0[m] = e[m % F] + delta;
    gsl_rng *rs = sp_rng_alloc(9), *r0 = sp_rng_alloc(10), *r1 = sp_rng_alloc(11);
    for (int b = 0; b < 50; b++) {
        sp_boot_draw_paired(fd, o0, NULL, o1, NULL, p, rs, r0, r1);
        double m0 = 0, m1 = 0;
        for (size_t t = 0; t < G * F; t++) m0 += y0[o0[t]];
        for (size_t t = 0; t < F; t++) m1 += y1[o1[t]];
        assert_float_equal(m0 / (G * F) - m1 / F, delta, 1e-12);
    }
    gsl_rng_free(rs), gsl_rng_free(r0), gsl_rng_free(r1);
    free(paired);
    free(unpaired);
    sp_boot_groups_free(gr0);
    sp_boot_groups_free(gr1);
    sp_boot_pairing_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_and_draws),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_coverage_plain),
        cmocka_unit_test(test_coverage_nested),
        cmocka_unit_test(test_nested_variance),
        cmocka_unit_test(test_underspec_statistics),
        cmocka_unit_test(test_pairing_grids),
        cmocka_unit_test(test_paired_difference_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
