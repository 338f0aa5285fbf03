/* test_multiplicity.c: hand-computed ambiguity, discrepancy, delta variants, viable prediction ranges,
 * seed disagreement, self-consistency, pairwise disagreement, churn, Rashomon sets and patterns (ties,
 * M = 1, M = 2), and properties on random matrices (discrepancy <= ambiguity, popcount == naive loops). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "multiplicity.h"
#include "rashomon.h"
#include "seeds.h"

/* A two-class matrix from per-model P(class 1) rows. */
static sp_predmatrix *binary_matrix(size_t M, size_t n, const float *p1)
{
    sp_predmatrix *pm = NULL;
    assert_int_equal(sp_predmatrix_alloc(&pm, M, n, 2), SP_OK);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < n; i++) {
            sp_predmatrix_row(pm, m)[2 * i] = 1.0f - p1[m * n + i];
            sp_predmatrix_row(pm, m)[2 * i + 1] = p1[m * n + i];
        }
    sp_predmatrix_pack(pm);
    return pm;
}

/* Model 0 is the reference. Hard predictions (0.5 ties go to class 0):
 *   m0: 1 0 1 0    m1: 1 1 0 0    m2: 0 0 1 1 */
static const float case_a[] = {0.9f, 0.2f, 0.6f, 0.5f, /* m0 */
                               0.8f, 0.7f, 0.4f, 0.5f, /* m1 */
                               0.3f, 0.1f, 0.55f, 0.51f};

static void test_hand_computed_three_models(void **state)
{
    (void)state;
    sp_predmatrix *pm = binary_matrix(3, 4, case_a);
    const int h[3][4] = {{1, 0, 1, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}};
    for (size_t m = 0; m < 3; m++)
        for (size_t i = 0; i < 4; i++) assert_int_equal(sp_predmatrix_label(pm, m, i), h[m][i]);
    uint64_t work[1];
    assert_float_equal(sp_mult_ambiguity(pm, 0, NULL, NULL, work), 1.0, 1e-15);
    assert_float_equal(sp_mult_discrepancy(pm, 0, NULL, NULL, work), 0.5, 1e-15);
    const uint8_t s01[3] = {1, 1, 0}, s0[3] = {1, 0, 0};
    assert_float_equal(sp_mult_ambiguity(pm, 0, s01, NULL, work), 0.5, 1e-15);
    assert_float_equal(sp_mult_discrepancy(pm, 0, s01, NULL, work), 0.5, 1e-15);
    assert_float_equal(sp_mult_ambiguity(pm, 0, s0, NULL, work), 0.0, 0);
    assert_float_equal(sp_mult_discrepancy(pm, 0, s0, NULL, work), 0.0, 0);
    /* weights: example 1 counted 3 times, example 0 dropped -> flips {1,2,3} of weight 3+1+1 over 5 */
    const double w[4] = {0, 3, 1, 1};
    assert_float_equal(sp_mult_ambiguity(pm, 0, NULL, w, work), 1.0, 1e-15);
    assert_float_equal(sp_mult_ambiguity(pm, 0, s01, w, work), 4.0 / 5.0, 1e-15);
    assert_float_equal(sp_mult_discrepancy(pm, 0, NULL, w, work), 4.0 / 5.0, 1e-15);
    uint8_t flip[4];
    sp_mult_flips(flip, pm, 0, s01, work);
    assert_int_equal(flip[0], 0), assert_int_equal(flip[1], 1), assert_int_equal(flip[2], 1), assert_int_equal(flip[3], 0);

    /* delta = 0.15: |p1 - p1_ref| of m1 = .1 .5 .2 0 -> {1, 2}; of m2 = .6 .1 .05 .01 -> {0} */
    double da, dd;
    uint8_t bytes[4];
    sp_mult_delta(&da, &dd, pm, 0, NULL, NULL, 0.15, bytes);
    assert_float_equal(da, 0.75, 1e-15);
    assert_float_equal(dd, 0.5, 1e-15);

    float lo[8], hi[8];
    sp_mult_vpr(lo, hi, pm, NULL);
    const float lo1[4] = {0.3f, 0.1f, 0.4f, 0.5f}, hi1[4] = {0.9f, 0.7f, 0.6f, 0.51f};
    for (int i = 0; i < 4; i++) {
        assert_float_equal(lo[2 * i + 1], lo1[i], 0);
        assert_float_equal(hi[2 * i + 1], hi1[i], 0);
        assert_float_equal(lo[2 * i], 1.0f - hi1[i], 1e-7);
    }

    /* every example has a 2-1 vote: p = 1/3 or 2/3, mu = 8/9, unbiased 4/3, SC = 1 - 2*1*2/(3*2) = 1/3 */
    double mu[4], mu_u[4], sc[4];
    sp_mult_seed_disagreement(mu, mu_u, sc, pm, NULL);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(mu[i], 8.0 / 9.0, 1e-14);
        assert_float_equal(mu_u[i], 4.0 / 3.0, 1e-14);
        assert_float_equal(sc[i], 1.0 / 3.0, 1e-14);
    }
    /* counts: m0 twice, m1 once, m2 never: example 0 votes 1,1,1 -> 0; example 1 votes 0,0,1 -> B1 = 1 of 3 */
    const uint32_t cnt[3] = {2, 1, 0};
    sp_mult_seed_disagreement(mu, mu_u, sc, pm, cnt);
    assert_float_equal(mu[0], 0.0, 1e-15);
    assert_float_equal(sc[0], 1.0, 1e-15);
    assert_float_equal(mu[1], 8.0 / 9.0, 1e-14);
    assert_float_equal(sc[1], 1.0 / 3.0, 1e-14);

    double D[9], churn[3];
    sp_mult_pairwise(D, pm);
    const double Dref[9] = {0, 0.5, 0.5, 0.5, 0, 1.0, 0.5, 1.0, 0};
    for (int k = 0; k < 9; k++) assert_float_equal(D[k], Dref[k], 1e-15);
    sp_mult_churn(churn, pm, 0);
    assert_float_equal(churn[0], 0, 0), assert_float_equal(churn[1], 0.5, 0), assert_float_equal(churn[2], 0.5, 0);
    /* mean pairwise disagreement = 1 - mean self-consistency = 2/3 */
    assert_float_equal((D[1] + D[2] + D[5]) / 3, 1.0 - 1.0 / 3.0, 1e-15);

    size_t patterns;
    assert_int_equal(sp_rashomon_patterns(&patterns, pm, NULL), SP_OK);
    assert_int_equal(patterns, 3);
    sp_predmatrix_free(pm);
}

static void test_one_and_two_models_with_ties(void **state)
{
    (void)state;
    /* M = 1: no multiplicity, unbiased estimates undefined */
    const float one[] = {0.5f, 0.7f, 0.2f};
    sp_predmatrix *pm = binary_matrix(1, 3, one);
    uint64_t work[1];
    double mu[3], mu_u[3], sc[3], D[1], da, dd;
    uint8_t bytes[3];
    assert_float_equal(sp_mult_ambiguity(pm, 0, NULL, NULL, work), 0.0, 0);
    assert_float_equal(sp_mult_discrepancy(pm, 0, NULL, NULL, work), 0.0, 0);
    sp_mult_delta(&da, &dd, pm, 0, NULL, NULL, 0.0, bytes);
    assert_float_equal(da, 0.0, 0); /* the reference is not compared with itself */
    sp_mult_seed_disagreement(mu, mu_u, sc, pm, NULL);
    for (int i = 0; i < 3; i++) {
        assert_float_equal(mu[i], 0.0, 0);
        assert_true(isnan(mu_u[i]) && isnan(sc[i]));
    }
    sp_mult_pairwise(D, pm);
    assert_float_equal(D[0], 0.0, 0);
    sp_predmatrix_free(pm);

    /* M = 2 with exact ties: 0.5/0.5 predicts class 0 for both models, so a tie is not a disagreement;
     * m1 differs on examples 1 and 2 only. */
    const float two[] = {0.5f, 0.5f, 0.9f, 0.1f, /* m0: 0 0 1 0 */
                         0.5f, 0.6f, 0.4f, 0.1f}; /* m1: 0 1 0 0 */
    pm = binary_matrix(2, 4, two);
    assert_float_equal(sp_mult_ambiguity(pm, 0, NULL, NULL, work), 0.5, 0);
    assert_float_equal(sp_mult_discrepancy(pm, 0, NULL, NULL, work), 0.5, 0);
    assert_float_equal(sp_mult_ambiguity(pm, 1, NULL, NULL, work), 0.5, 0); /* symmetric for M = 2 */
    double D2[4];
    sp_mult_pairwise(D2, pm);
    assert_float_equal(D2[1], 0.5, 0);
    assert_float_equal(D2[2], 0.5, 0);
    double mu2[4], mu2u[4], sc2[4];
    sp_mult_seed_disagreement(mu2, mu2u, sc2, pm, NULL);
    /* a 1-1 split: mu = 1, unbiased 2, SC = 0; agreement: 0, 0, 1 */
    assert_float_equal(mu2[1], 1.0, 1e-15);
    assert_float_equal(mu2u[1], 2.0, 1e-15);
    assert_float_equal(sc2[1], 0.0, 1e-15);
    assert_float_equal(mu2[0], 0.0, 1e-15);
    assert_float_equal(sc2[0], 1.0, 1e-15);
    sp_predmatrix_free(pm);
}

static void test_multiclass_bits(void **state)
{
    (void)state;
    /* five classes -> three bit planes; ties go to the lowest class */
    sp_predmatrix *pm = NULL;
    assert_int_equal(sp_predmatrix_alloc(&pm, 2, 3, 5), SP_OK);
    assert_int_equal(pm->n_planes, 3);
    const float g0[15] = {0, 0, 0, 0, 1, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.1f, 0.1f, 0.1f, 0.6f, 0.1f};
    const float g1[15] = {0, 0, 0, 1, 0, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f, 0.1f, 0.1f, 0.1f, 0.6f, 0.1f};
    memcpy(sp_predmatrix_row(pm, 0), g0, sizeof g0);
    memcpy(sp_predmatrix_row(pm, 1), g1, sizeof g1);
    sp_predmatrix_pack(pm);
    assert_int_equal(sp_predmatrix_label(pm, 0, 0), 4);
    assert_int_equal(sp_predmatrix_label(pm, 1, 0), 3);
    assert_int_equal(sp_predmatrix_label(pm, 0, 1), 0);
    assert_int_equal(sp_predmatrix_label(pm, 0, 2), 3);
    /* 4 = 100b and 3 = 011b differ in every plane but count once */
    assert_int_equal(sp_predmatrix_disagree_count(pm, 0, 1), 1);
    uint64_t work[1];
    assert_float_equal(sp_mult_ambiguity(pm, 0, NULL, NULL, work), 1.0 / 3.0, 1e-15);
    assert_int_equal(sp_predmatrix_validate(pm, 1e-6, NULL, "test"), SP_OK);
    sp_predmatrix_row(pm, 1)[4] = 0.5f;
    assert_int_equal(sp_predmatrix_validate(pm, 1e-3, NULL, "test"), SP_ERR_INPUT);
    sp_predmatrix_row(pm, 1)[4] = NAN;
    assert_int_equal(sp_predmatrix_validate(pm, 1e-3, NULL, "test"), SP_ERR_INPUT);
    sp_predmatrix_free(pm);
}

/* Random Dirichlet-ish probabilities. */
static sp_predmatrix *random_matrix(gsl_rng *r, size_t M, size_t n, int C)
{
    sp_predmatrix *pm = NULL;
    assert_int_equal(sp_predmatrix_alloc(&pm, M, n, C), SP_OK);
    for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < n; i++) {
            float *g = sp_predmatrix_row(pm, m) + i * (size_t)C;
            double s = 0;
            for (int c = 0; c < C; c++) s += g[c] = (float)(gsl_rng_uniform(r) + (c == (int)(i % (size_t)C)) * 0.8);
            for (int c = 0; c < C; c++) g[c] = (float)(g[c] / s);
        }
    sp_predmatrix_pack(pm);
    return pm;
}

static int naive_label(const sp_predmatrix *pm, size_t m, size_t i)
{
    const float *g = sp_predmatrix_row(pm, m) + i * (size_t)pm->n_classes;
    int best = 0;
    for (int c = 1; c < pm->n_classes; c++)
        if (g[c] > g[best]) best = c;
    return best;
}

static void test_random_properties(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_alloc(2024);
    const size_t Ms[] = {1, 2, 33, 70}, ns[] = {1, 63, 64, 65, 200};
    const int Cs[] = {2, 3, 5};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t c = 0; c < 3; c++) {
                size_t M = Ms[a], n = ns[b];
                sp_predmatrix *pm = random_matrix(r, M, n, Cs[c]);
                uint64_t *work = malloc(pm->n_words * sizeof *work);
                uint8_t *member = malloc(M);
                double *w = malloc(n * sizeof *w), *D = malloc(M * M * sizeof *D);
                for (size_t i = 0; i < n; i++) w[i] = (double)gsl_rng_uniform_int(r, 3);
                w[0] = 1;
                size_t ref = gsl_rng_uniform_int(r, M);
                for (size_t m = 0; m < M; m++) member[m] = m == ref || gsl_rng_uniform(r) < 0.6;
                /* naive ambiguity and discrepancy, weighted */
                double tot = 0, amb = 0, best = 0;
                for (size_t i = 0; i < n; i++) tot += w[i];
                for (size_t i = 0; i < n; i++) {
                    int any = 0;
                    for (size_t m = 0; m < M; m++) any |= member[m] && naive_label(pm, m, i) != naive_label(pm, ref, i);
                    amb += any * w[i];
                }
                for (size_t m = 0; m < M; m++) {
                    if (!member[m]) continue;
                    double d = 0;
                    for (size_t i = 0; i < n; i++) d += (naive_label(pm, m, i) != naive_label(pm, ref, i)) * w[i];
                    best = d > best ? d : best;
                }
                double A = sp_mult_ambiguity(pm, ref, member, w, work), Dsc = sp_mult_discrepancy(pm, ref, member, w, work);
                assert_float_equal(A, amb / tot, 1e-12);
                assert_float_equal(Dsc, best / tot, 1e-12);
                assert_true(Dsc <= A + 1e-15);
                double A1 = sp_mult_ambiguity(pm, ref, member, NULL, work), D1 = sp_mult_discrepancy(pm, ref, member, NULL, work);
                assert_true(D1 <= A1 + 1e-15);
                double da, dd;
                uint8_t *bytes = malloc(n);
                sp_mult_delta(&da, &dd, pm, ref, member, NULL, 0.05, bytes);
                assert_true(dd <= da + 1e-15);
                free(bytes);
                /* pairwise popcount against the naive double loop */
                sp_mult_pairwise(D, pm);
                for (size_t x = 0; x < M; x++)
                    for (size_t y = 0; y < M; y++) {
                        size_t cnt = 0;
                        for (size_t i = 0; i < n; i++) cnt += naive_label(pm, x, i) != naive_label(pm, y, i);
                        assert_float_equal(D[x * M + y], (double)cnt / (double)n, 1e-15);
                    }
                /* mean pairwise disagreement over pairs = 1 - mean self-consistency */
                if (M >= 2) {
                    double *mu = malloc(n * sizeof *mu), *mu_u = malloc(n * sizeof *mu_u), *sc = malloc(n * sizeof *sc);
                    sp_mult_seed_disagreement(mu, mu_u, sc, pm, NULL);
                    double mp = 0, msc = 0;
                    for (size_t x = 0; x < M; x++)
                        for (size_t y = x + 1; y < M; y++) mp += D[x * M + y];
                    mp /= (double)(M * (M - 1) / 2);
                    for (size_t i = 0; i < n; i++) {
                        msc += sc[i];
                        assert_float_equal(mu_u[i], 2.0 * (1.0 - sc[i]), 1e-12);
                    }
                    assert_float_equal(mp, 1.0 - msc / (double)n, 1e-12);
                    free(mu), free(mu_u), free(sc);
                }
                free(work), free(member), free(w), free(D);
                sp_predmatrix_free(pm);
            }
    gsl_rng_free(r);
}

static void test_rashomon_sets(void **state)
{
    (void)state;
    const double loss[5] = {0.30, 0.25, 0.26, 0.40, 0.25};
    const double err[5] = {0.10, 0.12, 0.08, 0.20, 0.11};
    assert_int_equal(sp_rashomon_reference(loss, 5), 1); /* tie 0.25 at 1 and 4: lowest index */
    uint8_t member[5];
    size_t size;
    assert_int_equal(sp_rashomon_set(member, &size, loss, 5, 1, SP_EPS_LOSS_ABS, 0.0), SP_OK);
    assert_int_equal(size, 2);
    assert_true(member[1] && member[4] && !member[2]);
    assert_int_equal(sp_rashomon_set(member, &size, loss, 5, 1, SP_EPS_LOSS_ABS, 0.05), SP_OK);
    assert_int_equal(size, 4); /* 0.30 <= 0.30 */
    assert_int_equal(sp_rashomon_set(member, &size, loss, 5, 1, SP_EPS_LOSS_REL, 0.1), SP_OK);
    assert_int_equal(size, 3); /* <= 0.275 */
    /* error sets keep the loss reference even when it is not the lowest error */
    assert_int_equal(sp_rashomon_set(member, &size, err, 5, 1, SP_EPS_ERROR_ABS, 0.0), SP_OK);
    assert_int_equal(size, 4); /* <= 0.12: models 0, 1, 2, 4 */
    assert_int_equal(sp_rashomon_set(member, &size, err, 5, 1, SP_EPS_ERROR_REL, 0.5), SP_OK);
    assert_int_equal(size, 4); /* <= 0.18 */
    assert_int_equal(sp_rashomon_set(member, &size, err, 5, 1, SP_EPS_ERROR_REL, -1.0), SP_ERR_USAGE);
    assert_string_equal(sp_eps_kind_name(SP_EPS_ERROR_REL), "error-rel");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed_three_models),
        cmocka_unit_test(test_one_and_two_models_with_ties),
        cmocka_unit_test(test_multiclass_bits),
        cmocka_unit_test(test_random_properties),
        cmocka_unit_test(test_rashomon_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
