/* test_splinter_measures.c: planted splintering is found and an unsplintered control is not; the
 * assignment, probe and behavioural pieces against known answers and optimality conditions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "linalg_test_util.h"
#include "seeds.h"
#include "splinter_measures.h"

enum { D = 12, N_ID = 600, N_OOD = 400 };

/* Two "models" of the same inputs. Latent z ~ N(0, diag(s_j^2)); model a reads x_a = z, model b reads
 * x_b = z Q + noise with Q orthogonal (a random rotation, or a permutation when permute != 0). On OOD inputs
 * a splintered model b replaces latent units 6..11 by fresh noise before Q; the control does not. The label
 * is 1[z_0 + z_6 > 0], so it depends on a unit that splinters. */
typedef struct {
    float a_id[N_ID * D], b_id[N_ID * D], a_ood[N_OOD * D], b_ood[N_OOD * D];
    int32_t y[N_ID];
} pair_data;

static void orthogonal(gsl_rng *r, double Q[D][D], int permute)
{
    if (permute) {
        size_t perm[D];
        for (size_t i = 0; i < D; i++) perm[i] = i;
        gsl_ran_shuffle(r, perm, D, sizeof *perm);
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j < D; j++) Q[i][j] = perm[i] == j;
        return;
    }
    gsl_matrix *Qm = test_random_orthogonal(r, D);
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) Q[i][j] = gsl_matrix_get(Qm, i, j);
    gsl_matrix_free(Qm);
}

static void make_row(gsl_rng *r, float *xa, float *xb, int32_t *y, double Q[D][D], int splinter)
{
    double z[D], zb[D];
    for (size_t j = 0; j < D; j++) z[j] = zb[j] = gsl_ran_gaussian(r, 1.0 + 0.1 * (double)j);
    if (splinter)
        for (size_t j = 6; j < D; j++) zb[j] = gsl_ran_gaussian(r, 1.0 + 0.1 * (double)j);
    if (y) *y = z[0] + z[6] > 0.0;
    for (size_t k = 0; k < D; k++) {
        double s = 0.0;
        for (size_t j = 0; j < D; j++) s += zb[j] * Q[j][k];
        xa[k] = (float)z[k];
        xb[k] = (float)(s + gsl_ran_gaussian(r, 0.05));
    }
}

static pair_data *make_pair(uint64_t seed, int splinter, int permute)
{
    pair_data *p = malloc(sizeof *p);
    assert_non_null(p);
    gsl_rng *r = sp_rng_alloc(seed);
    double Q[D][D];
    orthogonal(r, Q, permute);
    for (size_t i = 0; i < N_ID; i++) make_row(r, p->a_id + i * D, p->b_id + i * D, p->y + i, Q, 0);
    for (size_t i = 0; i < N_OOD; i++) make_row(r, p->a_ood + i * D, p->b_ood + i * D, NULL, Q, splinter);
    gsl_rng_free(r);
    return p;
}

static void run_pair(sp_splinter_layer *L, const pair_data *p)
{
    sp_splinter_options opt;
    sp_splinter_options_default(&opt);
    opt.seed = 5;
    assert_int_equal(sp_splinter_pair(L, p->a_id, p->b_id, N_ID, p->a_ood, p->b_ood, N_OOD, D, D, p->y, 2, &opt),
                     SP_OK);
}

static void bootstrap_pair(sp_splinter_intervals *ci, const pair_data *p)
{
    sp_splinter_options opt;
    sp_splinter_options_default(&opt);
    opt.seed = 5;
    assert_int_equal(sp_splinter_pair_bootstrap(ci, p->a_id, p->b_id, N_ID, p->a_ood, p->b_ood, N_OOD, D, D, &opt,
                                                60, 0.95, 77),
                     SP_OK);
}

static void test_planted_splintering_is_found(void **state)
{
    (void)state;
    pair_data *p = make_pair(101, 1, 0);
    sp_splinter_layer L;
    run_pair(&L, p);
    /* In domain the models are rotations of each other. */
    assert_true(L.sim_id[SP_SIM_CKA] > 0.99 && L.sim_id[SP_SIM_PROCRUSTES] > 0.97);
    assert_true(L.align_heldout < 0.02);
    /* Out of domain half the latent units are independent: every measure drops clearly. */
    for (int m = 0; m < SP_SIM_MEASURES; m++) assert_true(L.s_rep[m] > 0.15);
    assert_true(L.s_align > 0.3);
    assert_true(L.align_ood > L.align_ood_refit); /* the ID map is worse than the best OOD map */
    /* The CCA map (top 10 of 12 directions): aligned on held-out ID, about half its variates lost OOD. */
    assert_int_equal(L.align_cca_k, 10);
    assert_true(L.align_cca_heldout > 0.98 && L.align_cca_fit >= L.align_cca_heldout - 0.01);
    assert_true(L.s_align_cca > 0.3);
    assert_float_equal(L.s_align_cca, L.align_cca_heldout - L.align_cca_ood, 1e-15);
    assert_int_equal(L.has_probes, 1);
    assert_true(L.probe_acc_a > 0.9 && L.probe_acc_b > 0.9);
    assert_true(L.probe_agree_id > 0.9);
    assert_true(L.s_probe > 0.15);
    assert_true(L.probe_cosine > 0.9); /* fitted on ID, where the models agree */
    sp_splinter_intervals ci;
    bootstrap_pair(&ci, p);
    for (int m = 0; m < SP_SIM_MEASURES; m++) {
        assert_true(ci.s_rep[m].lo > 0.1);
        assert_true(ci.s_rep[m].lo <= ci.s_rep[m].hi);
        assert_true(ci.s_rep[m].est == L.s_rep[m]);
    }
    assert_true(ci.s_align.lo > 0.25);
    free(p);
}

static void test_unsplintered_control_is_near_zero(void **state)
{
    (void)state;
    pair_data *p = make_pair(102, 0, 0);
    sp_splinter_layer L;
    run_pair(&L, p);
    for (int m = 0; m < SP_SIM_MEASURES; m++) assert_true(fabs(L.s_rep[m]) < 0.01);
    assert_true(fabs(L.s_align) < 0.01);
    assert_true(L.align_cca_heldout > 0.98 && fabs(L.s_align_cca) < 0.01);
    assert_true(fabs(L.s_probe) < 0.05);
    assert_true(L.probe_cosine > 0.9);
    sp_splinter_intervals ci;
    bootstrap_pair(&ci, p);
    for (int m = 0; m < SP_SIM_MEASURES; m++) assert_true(ci.s_rep[m].lo > -0.02 && ci.s_rep[m].hi < 0.02);
    assert_true(ci.s_align.lo > -0.02 && ci.s_align.hi < 0.02);
    free(p);
}

/* With a permutation between the models the units match one to one in domain; half of them splinter. */
static void test_unit_level_matching(void **state)
{
    (void)state;
    pair_data *p = make_pair(103, 1, 1);
    sp_splinter_layer L;
    run_pair(&L, p);
    assert_int_equal(L.unit_pairs, D);
    assert_true(L.unit_corr_id > 0.99);
    assert_true(fabs(L.unit_splinter_frac - 0.5) < 1e-12); /* units 6..11 of 12 */
    free(p);
    p = make_pair(104, 0, 1);
    run_pair(&L, p);
    assert_int_equal(L.unit_pairs, D);
    assert_true(L.unit_splinter_frac == 0.0);
    assert_true(L.unit_corr_ood > 0.99);
    free(p);
}

/* Prepared models give exactly what sp_splinter_pair gives, in either order of preparation, and refuse to
 * pair models prepared differently. */
static void test_prepared_models_match_pairs(void **state)
{
    (void)state;
    pair_data *p = make_pair(107, 1, 0);
    sp_splinter_options opt;
    sp_splinter_options_default(&opt);
    opt.seed = 5;
    sp_splinter_layer direct, prepared;
    run_pair(&direct, p);
    sp_splinter_model *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(sp_splinter_model_prepare(&b, p->b_id, N_ID, p->b_ood, N_OOD, D, p->y, 2, &opt), SP_OK);
    assert_int_equal(sp_splinter_model_prepare(&a, p->a_id, N_ID, p->a_ood, N_OOD, D, p->y, 2, &opt), SP_OK);
    assert_int_equal(sp_splinter_pair_prepared(&prepared, a, b, &opt), SP_OK);
    assert_memory_equal(&direct, &prepared, sizeof direct);
    opt.seed = 6;
    assert_int_equal(sp_splinter_model_prepare(&c, p->b_id, N_ID, p->b_ood, N_OOD, D, p->y, 2, &opt), SP_OK);
    assert_int_equal(sp_splinter_pair_prepared(&prepared, a, c, &opt), SP_ERR_USAGE);
    sp_splinter_model_free(c);
    c = NULL;
    assert_int_equal(sp_splinter_model_prepare(&c, p->b_id, N_ID, p->b_ood, N_OOD, D, NULL, 0, &opt), SP_OK);
    opt.seed = 5;
    assert_int_equal(sp_splinter_pair_prepared(&prepared, a, c, &opt), SP_ERR_USAGE);
    sp_splinter_model_free(a);
    sp_splinter_model_free(b);
    sp_splinter_model_free(c);
    free(p);
}

/* Concept probes: concept 0 is the label itself (so its results must equal the label probe's, bit for bit:
 * one code path), concept 1 = 1[z_1 > 0.3] reads a unit that survives OOD, concept 2 = 1[z_8 > 0] one that
 * splinters in model b, concept 3 never occurs (undefined). */
static void test_concept_probes(void **state)
{
    (void)state;
    pair_data *p = make_pair(108, 1, 0);
    sp_splinter_options opt;
    sp_splinter_options_default(&opt);
    opt.seed = 5;
    enum { K = 4 };
    uint8_t *tid = calloc(K * N_ID, 1), *tood = calloc(K * N_OOD, 1);
    int32_t *y_ood = malloc(N_OOD * sizeof *y_ood);
    for (size_t i = 0; i < N_ID; i++) {
        tid[i] = (uint8_t)p->y[i];
        tid[N_ID + i] = p->a_id[i * D + 1] > 0.3f;
        tid[2 * N_ID + i] = p->a_id[i * D + 8] > 0.0f;
    }
    for (size_t i = 0; i < N_OOD; i++) { /* model a reads the latent itself */
        y_ood[i] = p->a_ood[i * D + 0] + p->a_ood[i * D + 6] > 0.0f;
        tood[i] = (uint8_t)y_ood[i];
        tood[N_OOD + i] = p->a_ood[i * D + 1] > 0.3f;
        tood[2 * N_OOD + i] = p->a_ood[i * D + 8] > 0.0f;
    }
    const sp_concept_targets ct = {K, tid, tood};
    sp_splinter_model *a = NULL, *b = NULL;
    assert_int_equal(sp_splinter_model_prepare_concepts(&a, p->a_id, N_ID, p->a_ood, N_OOD, D, p->y, 2, &ct, &opt),
                     SP_OK);
    assert_int_equal(sp_splinter_model_prepare_concepts(&b, p->b_id, N_ID, p->b_ood, N_OOD, D, p->y, 2, &ct, &opt),
                     SP_OK);
    sp_splinter_layer L, plain;
    sp_concept_pair c[K];
    assert_int_equal(sp_splinter_pair_concepts(&L, c, a, b, &opt), SP_OK);
    run_pair(&plain, p);
    assert_memory_equal(&L, &plain, sizeof L); /* concepts change nothing else */
    assert_int_equal(c[0].defined, 1);
    assert_true(c[0].acc_id_a == L.probe_acc_a && c[0].acc_id_b == L.probe_acc_b);
    assert_true(c[0].agree_id == L.probe_agree_id && c[0].agree_ood == L.probe_agree_ood);
    assert_true(c[0].s_probe == L.probe_agree_id - L.probe_agree_ood && c[0].cosine == L.probe_cosine);
    /* Concept 1 survives out of domain in both models. */
    assert_true(c[1].acc_id_a > 0.9 && c[1].acc_id_b > 0.9 && c[1].acc_ood_a > 0.9 && c[1].acc_ood_b > 0.9);
    assert_true(c[1].agree_ood > 0.9 && fabs(c[1].s_probe) < 0.05 && c[1].cosine > 0.9);
    /* Concept 2: model b's unit 8 is noise OOD, so its probe is at chance there and the probes disagree. */
    assert_true(c[2].acc_id_a > 0.9 && c[2].acc_id_b > 0.9 && c[2].acc_ood_a > 0.9);
    assert_true(c[2].acc_ood_b < 0.65 && c[2].s_probe > 0.3 && c[2].cosine > 0.9);
    /* Balanced classes (rates near 0.5): balanced accuracy is close to accuracy; at most 1 apart by
     * definition, and a probe at chance scores near 0.5. */
    assert_true(fabs(c[1].bacc_ood_a - c[1].acc_ood_a) < 0.1 && c[1].bacc_id_b > 0.85);
    assert_true(c[2].bacc_ood_a > 0.9 && c[2].bacc_ood_b < 0.65);
    assert_float_equal(c[2].s_probe, c[2].agree_id - c[2].agree_ood, 1e-15);
    /* Concept 3 never occurs: undefined, not an error. */
    assert_int_equal(c[3].defined, 0);
    assert_true(isnan(c[3].acc_id_a) && isnan(c[3].agree_ood) && isnan(c[3].cosine));
    /* Pairing a model with concepts and one without is refused. */
    sp_splinter_model *plain_b = NULL;
    assert_int_equal(sp_splinter_model_prepare(&plain_b, p->b_id, N_ID, p->b_ood, N_OOD, D, p->y, 2, &opt), SP_OK);
    assert_int_equal(sp_splinter_pair_concepts(&L, c, a, plain_b, &opt), SP_ERR_USAGE);
    sp_splinter_model_free(plain_b);
    sp_splinter_model_free(a);
    sp_splinter_model_free(b);
    free(tid), free(tood), free(y_ood), free(p);
}

static void test_results_do_not_depend_on_threads(void **state)
{
    (void)state;
    pair_data *p = make_pair(105, 1, 0);
    sp_splinter_layer L1, L2;
    sp_splinter_intervals c1, c2;
    omp_set_num_threads(1);
    run_pair(&L1, p);
    bootstrap_pair(&c1, p);
    omp_set_num_threads(2);
    run_pair(&L2, p);
    bootstrap_pair(&c2, p);
    assert_memory_equal(&L1, &L2, sizeof L1);
    assert_memory_equal(&c1, &c2, sizeof c1);
    free(p);
}

/* Greedy picks (0,0) = 0.9 and then (1,1) = 0.1; the optimum is 0.8 + 0.8. */
static void test_assignment_beats_greedy(void **state)
{
    (void)state;
    const double w[2 * 2] = {0.9, 0.8, 0.8, 0.1};
    size_t m[2];
    assert_int_equal(sp_assignment_max(m, w, 2, 2), SP_OK);
    assert_int_equal(m[0], 1);
    assert_int_equal(m[1], 0);
    /* Rectangular: 2 rows, 4 columns; best is row 0 -> col 3 (5), row 1 -> col 0 (4), total 9. */
    const double v[2 * 4] = {1, 2, 3, 5, 4, 0, 0, 4.5};
    assert_int_equal(sp_assignment_max(m, v, 2, 4), SP_OK);
    assert_int_equal(m[0], 3);
    assert_int_equal(m[1], 0);
    assert_int_equal(sp_assignment_max(m, v, 4, 2), SP_ERR_USAGE);
}

/* At the probe optimum the gradient of mean CE + l2/2 ||W||^2 vanishes (first-order optimality). */
static void test_probe_reaches_optimum(void **state)
{
    (void)state;
    enum { N = 300, P = 4, C = 3 };
    gsl_rng *r = sp_rng_alloc(9);
    double X[N * P], W[P * C], b[C];
    int32_t y[N], pred[N];
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % C);
        for (size_t j = 0; j < P; j++) X[i * P + j] = gsl_ran_gaussian(r, 1.0) + (j == (size_t)y[i] ? 1.5 : 0.0);
    }
    const double l2 = 0.01;
    assert_int_equal(sp_probe_fit(W, b, X, y, N, P, C, l2, 500), SP_OK);
    double gW[P * C] = {0}, gb[C] = {0};
    for (size_t i = 0; i < N; i++) {
        double z[C], zmax = -INFINITY, s = 0.0;
        for (size_t c = 0; c < C; c++) {
            z[c] = b[c];
            for (size_t j = 0; j < P; j++) z[c] += X[i * P + j] * W[j * C + c];
            zmax = z[c] > zmax ? z[c] : zmax;
        }
        for (size_t c = 0; c < C; c++) s += exp(z[c] - zmax);
        for (size_t c = 0; c < C; c++) {
            const double g = exp(z[c] - zmax) / s - (c == (size_t)y[i]);
            gb[c] += g / N;
            for (size_t j = 0; j < P; j++) gW[j * C + c] += g * X[i * P + j] / N;
        }
    }
    for (size_t k = 0; k < P * C; k++) assert_true(fabs(gW[k] + l2 * W[k]) < 1e-5);
    for (size_t c = 0; c < C; c++) assert_true(fabs(gb[c]) < 1e-5);
    sp_probe_predict(pred, W, b, X, N, P, C);
    size_t ok = 0;
    for (size_t i = 0; i < N; i++) ok += pred[i] == y[i];
    assert_true(ok > N * 2 / 3); /* well above chance (1/3) on these separated classes */
    const int32_t bad[1] = {3};
    assert_int_equal(sp_probe_fit(W, b, X, bad, 1, P, C, l2, 10), SP_ERR_INPUT);
    gsl_rng_free(r);
}

static void test_behaviour_known_answer(void **state)
{
    (void)state;
    const int32_t a_id[4] = {0, 1, 1, 0}, b_id[4] = {0, 1, 0, 0}; /* 1 of 4 differ */
    const int32_t a_ood[5] = {1, 1, 0, 0, 1}, b_ood[5] = {0, 1, 1, 0, 0}; /* 3 of 5 differ */
    double s, di, doo;
    assert_int_equal(sp_splinter_behaviour(&s, &di, &doo, a_id, b_id, 4, a_ood, b_ood, 5), SP_OK);
    assert_true(di == 0.25 && doo == 0.6);
    assert_true(fabs(s - 0.35) < 1e-15);
}

static void test_bad_inputs_are_reported(void **state)
{
    (void)state;
    pair_data *p = make_pair(106, 0, 0);
    sp_splinter_options opt;
    sp_splinter_options_default(&opt);
    sp_splinter_layer L;
    p->y[17] = 2;
    assert_int_equal(sp_splinter_pair(&L, p->a_id, p->b_id, N_ID, p->a_ood, p->b_ood, N_OOD, D, D, p->y, 2, &opt),
                     SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "ID input 17"));
    for (size_t i = 0; i < N_ID; i++) p->y[i] = 1;
    assert_int_equal(sp_splinter_pair(&L, p->a_id, p->b_id, N_ID, p->a_ood, p->b_ood, N_OOD, D, D, p->y, 2, &opt),
                     SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "two classes"));
    opt.fit_fraction = 1.0;
    assert_int_equal(sp_splinter_pair(&L, p->a_id, p->b_id, N_ID, p->a_ood, p->b_ood, N_OOD, D, D, NULL, 0, &opt),
                     SP_ERR_USAGE);
    sp_splinter_options_default(&opt);
    assert_int_equal(sp_splinter_pair(&L, p->a_id, p->b_id, 7, p->a_ood, p->b_ood, N_OOD, D, D, NULL, 0, &opt),
                     SP_ERR_USAGE);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_splintering_is_found),
        cmocka_unit_test(test_unsplintered_control_is_near_zero),
        cmocka_unit_test(test_unit_level_matching),
        cmocka_unit_test(test_prepared_models_match_pairs),
        cmocka_unit_test(test_concept_probes),
        cmocka_unit_test(test_results_do_not_depend_on_threads),
        cmocka_unit_test(test_assignment_beats_greedy),
        cmocka_unit_test(test_probe_reaches_optimum),
        cmocka_unit_test(test_behaviour_known_answer),
        cmocka_unit_test(test_bad_inputs_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
