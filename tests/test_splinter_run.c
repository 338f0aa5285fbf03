/* test_splinter_run.c: the run-level splintering driver on a planted run. Two variants of three models:
 * "joint" models are rotations of one representation on ID and OOD inputs alike (no splintering);
 * "finetune" models are rotations of it on ID inputs but independent on OOD inputs (planted splintering).
 * The summaries must find splintering in finetune only, the difference finetune - joint with an interval
 * above zero, and 2x2 tables that count every agreeing pair once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <omp.h>

#include "csv_test_util.h"
#include "linalg_test_util.h"
#include "run_test_util.h"

#include "seeds.h"
#include "splinter_run.h"
#include "store.h"

#define RUN "splinter-run-test"
#define N_ID 120
#define N_OOD 80
#define D 8

static void write_model(const char *name, const char *variant, uint64_t pretrain, const float *id_acts[2],
                        const float *ood_acts[2], const int32_t *labels_id)
{
    char path[256];
    snprintf(path, sizeof path, RUN "/models/%s.h5", name);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-model", &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "variant", variant), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "name", name), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "n_classes", 2), SP_OK);
    assert_int_equal(sp_store_attr_u64(w, "/", "seed_pretrain", pretrain), SP_OK);
    const char *layers[2] = {"emb", "block0"};
    float probs_id[N_ID * 2], probs_ood[N_OOD * 2];
    int64_t rows_id[N_ID], rows_ood[N_OOD];
    for (int i = 0; i < N_ID; i++) {
        /* Every model predicts the label in domain: they agree there (d_id = 0). */
        probs_id[2 * i + 1] = labels_id[i] ? 0.9f : 0.1f;
        probs_id[2 * i] = 1 - probs_id[2 * i + 1];
        rows_id[i] = i;
    }
    for (int i = 0; i < N_OOD; i++) {
        probs_ood[2 * i + 1] = 0.8f;
        probs_ood[2 * i] = 0.2f;
        rows_ood[i] = N_ID + i;
    }
    test_write_split(w, "test", probs_id, rows_id, N_ID, 2);
    test_write_split(w, "ood-x", probs_ood, rows_ood, N_OOD, 2);
    for (int l = 0; l < 2; l++) {
        char p[128];
        hsize_t a[2] = {N_ID, D}, b[2] = {N_OOD, D};
        snprintf(p, sizeof p, "/activations/test/%s_cls", layers[l]);
        assert_int_equal(sp_store_write_f32(w, p, 2, a, id_acts[l], 1), SP_OK);
        snprintf(p, sizeof p, "/activations/ood-x/%s_cls", layers[l]);
        assert_int_equal(sp_store_write_f32(w, p, 2, b, ood_acts[l], 1), SP_OK);
    }
    assert_int_equal(sp_store_commit(w), SP_OK);
}

static int32_t labels_all[N_ID + N_OOD];

static void make_run(int constant_emb)
{
    test_fresh_run(RUN);
    gsl_rng *r = sp_rng_alloc(2024);
    /* ID and OOD base representations with label-dependent means so the probes have something to find. */
    double *id = malloc(sizeof(double) * N_ID * D), *ood = malloc(sizeof(double) * N_OOD * D);
    for (int i = 0; i < N_ID + N_OOD; i++) labels_all[i] = i % 2;
    for (int i = 0; i < N_ID * D; i++) id[i] = gsl_ran_gaussian(r, 1.0) + ((i % D) == 0 ? 2.0 * labels_all[i / D] : 0);
    for (int i = 0; i < N_OOD * D; i++) ood[i] = gsl_ran_gaussian(r, 1.0);
    float *buf[4];
    for (int k = 0; k < 4; k++) buf[k] = malloc(sizeof(float) * N_ID * D);
    for (int m = 0; m < 6; m++) {
        int splinters = m < 3; /* finetune models */
        gsl_matrix *Qm = test_random_orthogonal(r, D);
        const double *Q = Qm->data; /* row-major, tda == D */
        test_rotate(buf[0], id, Q, N_ID, D);
        test_rotate(buf[1], id, Q, N_ID, D);
        if (splinters) {
            /* OOD features unrelated to the other models' (fresh Gaussian inputs per model). */
            double *own = malloc(sizeof(double) * N_OOD * D);
            for (int i = 0; i < N_OOD * D; i++) own[i] = gsl_ran_gaussian(r, 1.0);
            test_rotate(buf[2], own, Q, N_OOD, D);
            test_rotate(buf[3], own, Q, N_OOD, D);
            free(own);
        } else {
            test_rotate(buf[2], ood, Q, N_OOD, D);
            test_rotate(buf[3], ood, Q, N_OOD, D);
        }
        if (constant_emb) /* like the embedding output at [CLS]: the same vector for every input */
            for (int i = 0; i < N_ID * D; i++) buf[0][i] = (float)(i % D);
        const float *ida[2] = {buf[0], buf[1]}, *oa[2] = {buf[2], buf[3]};
        char name[32];
        snprintf(name, sizeof name, "%s-s%d", splinters ? "finetune-p0" : "joint", m % 3);
        write_model(name, splinters ? "finetune" : "joint", 0, ida, oa, labels_all);
        gsl_matrix_free(Qm);
    }
    for (int k = 0; k < 4; k++) free(buf[k]);
    free(id);
    free(ood);
    gsl_rng_free(r);
    /* A minimal dataset.h5 with the labels (the probes read them through /rows). */
    sp_store_writer *w;
    assert_int_equal(sp_store_create(RUN "/dataset.h5", "splinter-dataset", &w), SP_OK);
    hsize_t n[1] = {N_ID + N_OOD};
    assert_int_equal(sp_store_write_i32(w, "/label", 1, n, labels_all, 0), SP_OK);
    /* Texts for concept probes: "Message <i> is ODD." exactly when the label is 1. */
    char *texts[N_ID + N_OOD];
    for (int i = 0; i < N_ID + N_OOD; i++) {
        texts[i] = malloc(64);
        snprintf(texts[i], 64, "Message %d is %s.", i, labels_all[i] ? "ODD" : "even");
    }
    assert_int_equal(sp_store_write_strings(w, "/text", N_ID + N_OOD, texts), SP_OK);
    for (int i = 0; i < N_ID + N_OOD; i++) free(texts[i]);
    assert_int_equal(sp_store_commit(w), SP_OK);
}

static void test_planted_splintering_is_found_in_finetune_only(void **state)
{
    (void)state;
    make_run(0);
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    opt.bootstrap = 200;
    sp_splinter_run_result *res = NULL;
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    assert_int_equal(res->n_models, 6);
    assert_int_equal(res->n_variants, 2);
    /* 3 pairs per variant x 2 layers x 1 OOD split x 1 pooling. */
    assert_int_equal(res->n_pairs, 12);
    assert_int_equal(res->n_agreeing, 12);
    sp_splinter_run_result_free(res);

    const char *ft[5] = {"finetune", "ood-x", "block0", "cls", "s_rep_cka"};
    const char *jt[5] = {"joint", "ood-x", "block0", "cls", "s_rep_cka"};
    double ft_mean = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, NULL, ft, "mean");
    double jt_mean = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, NULL, jt, "mean");
    double jt_lo = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, NULL, jt, "lo");
    double jt_hi = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, NULL, jt, "hi");
    assert_true(ft_mean > 0.5);           /* rotations agree fully in domain, independent out of domain */
    assert_true(fabs(jt_mean) < 1e-6);    /* rotations on both: CKA is exactly invariant */
    assert_true(jt_lo <= 1e-6 && jt_hi >= -1e-6);
    const char *al[5] = {"finetune", "ood-x", "block0", "cls", "s_align"};
    assert_true(test_csv_value(RUN "/analysis/splinter_variants.csv", 5, NULL, al, "mean") > 0.5);
    const char *al_j[5] = {"joint", "ood-x", "block0", "cls", "s_align"};
    assert_true(fabs(test_csv_value(RUN "/analysis/splinter_variants.csv", 5, NULL, al_j, "mean")) < 0.2);

    const char *cmp[6] = {"ood-x", "block0", "cls", "s_rep_cka", "finetune", "joint"};
    double diff = test_csv_value(RUN "/analysis/splinter_compare.csv", 6, NULL, cmp, "diff");
    double lo = test_csv_value(RUN "/analysis/splinter_compare.csv", 6, NULL, cmp, "lo");
    assert_float_equal(diff, ft_mean - jt_mean, 1e-9);
    assert_true(lo > 0);

    /* 2x2: predictions agree OOD for every pair (identical OOD predictions, s_beh = 0); features split in
     * finetune, agree in joint. */
    const char *t_ft[4] = {"finetune", "ood-x", "block0", "cls"}, *t_jt[4] = {"joint", "ood-x", "block0", "cls"};
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, NULL, t_ft, "pred_agree_feat_split"), 3);
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, NULL, t_ft, "pred_agree_feat_agree"), 0);
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, NULL, t_jt, "pred_agree_feat_agree"), 3);
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, NULL, t_jt, "n_pairs"), 3);

    /* Calibrated tau_rep (the default): in domain every model is a rotation of one representation, so the
     * ID-vs-ID drop is zero up to float32 rounding and tau_rep is the 1e-6 rounding allowance; the CCA map
     * transfers in joint and not in finetune. */
    const char *pj[6] = {"joint", "joint-s0", "joint-s1", "ood-x", "block0", "cls"};
    const char *pf[6] = {"finetune", "finetune-p0-s0", "finetune-p0-s1", "ood-x", "block0", "cls"};
    assert_float_equal(test_csv_value(RUN "/analysis/splinter_pairs.csv", 6, NULL, pj, "tau_rep_cka"), 1e-6, 1e-6);
    assert_float_equal(test_csv_value(RUN "/analysis/splinter_pairs.csv", 6, NULL, pf, "tau_rep_cka"), 1e-6, 1e-6);
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_pairs.csv", 6, NULL, pj, "feat_agree_ood"), 1);
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_pairs.csv", 6, NULL, pf, "feat_agree_ood"), 0);
    assert_true(fabs(test_csv_value(RUN "/analysis/splinter_pairs.csv", 6, NULL, pj, "s_align_cca")) < 1e-6);
    assert_true(test_csv_value(RUN "/analysis/splinter_pairs.csv", 6, NULL, pf, "s_align_cca") > 0.5);

    /* similarity.csv: a model with itself has CKA 1; joint models are exact rotations of each other. */
    const char *self[6] = {"ood-x", "block0", "cls", "cka", "joint-s0", "joint-s0"};
    assert_float_equal(test_csv_value(RUN "/analysis/similarity.csv", 6, NULL, self, "value"), 1.0, 1e-6);
    const char *rot[6] = {"ood-x", "block0", "cls", "procrustes", "joint-s0", "joint-s2"};
    assert_float_equal(test_csv_value(RUN "/analysis/similarity.csv", 6, NULL, rot, "value"), 1.0, 1e-5);
    assert_int_equal(access(RUN "/analysis/splinter.h5", F_OK), 0);
    assert_int_equal(access(RUN "/analysis/crosslayer.csv", F_OK), 0);
}

static void test_deterministic_outputs(void **state)
{
    (void)state;
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    opt.bootstrap = 50;
    sp_splinter_run_result *res = NULL;
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    sp_splinter_run_result_free(res);
    assert_int_equal(system("cp " RUN "/analysis/splinter_variants.csv splinter-run-first.csv"), 0);
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    sp_splinter_run_result_free(res);
    assert_int_equal(system("cmp -s " RUN "/analysis/splinter_variants.csv splinter-run-first.csv"), 0);
}

static void test_constant_layer_is_skipped_with_a_warning(void **state)
{
    (void)state;
    make_run(1);
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    opt.bootstrap = 10;
    sp_splinter_run_result *res = NULL;
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    assert_int_equal(res->n_pairs, 6); /* block0 only */
    assert_true(res->n_warnings >= 1);
    assert_non_null(strstr(res->warnings[0], "layer emb"));
    sp_splinter_run_result_free(res);
    assert_int_equal(system("grep -q ',emb,' " RUN "/analysis/splinter_pairs.csv"), 256);
    assert_int_equal(system("grep -q ',emb,' " RUN "/analysis/splinter_variants.csv"), 256);
}

static void test_linear_only_run_is_a_documented_skip(void **state)
{
    (void)state;
    /* Models without activations (like the linear family's), a partial write and a pretrained encoder: the
     * same listing as the model-level analysis (run_models.h) finds no model to compare. */
    test_fresh_run("splinter-run-empty");
    const float prob[4] = {0.25f, 0.75f, 0.5f, 0.5f};
    const int64_t rows[2] = {0, 1};
    static const char *const files[3][2] = {{"linear-s0.h5", "splinter-model"},
                                            {"joint-s0.h5", "splinter-model"},
                                            {"pretrain-p0.h5", "splinter-encoder"}};
    for (int k = 0; k < 3; k++) {
        char path[128];
        snprintf(path, sizeof path, "splinter-run-empty/models/%s", files[k][0]);
        sp_store_writer *w;
        assert_int_equal(sp_store_create(path, files[k][1], &w), SP_OK);
        assert_int_equal(sp_store_attr_str(w, "/", "variant", "joint"), SP_OK);
        assert_int_equal(sp_store_attr_str(w, "/", "name", files[k][0]), SP_OK);
        test_write_split(w, "test", prob, rows, 2, 2);
        if (k == 1) { /* activations of a write that never finished */
            hsize_t d[2] = {2, 2};
            assert_int_equal(sp_store_write_f32(w, "/activations/test/emb_cls", 2, d, prob, 0), SP_OK);
            assert_int_equal(sp_store_commit(w), SP_OK);
            assert_int_equal(rename("splinter-run-empty/models/joint-s0.h5", "splinter-run-empty/models/joint-s0.h5.tmp"),
                             0);
        } else {
            assert_int_equal(sp_store_commit(w), SP_OK);
        }
    }
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    sp_splinter_run_result *res = NULL;
    assert_int_equal(sp_splinter_run("splinter-run-empty", &opt, &res), SP_OK);
    assert_int_equal(res->n_models, 0);
    assert_int_equal(res->n_warnings, 1);
    assert_non_null(strstr(res->warnings[0], "feature splintering skipped"));
    sp_splinter_run_result_free(res);
    assert_int_equal(access("splinter-run-empty/analysis/splinter_pairs.csv", F_OK), -1);
    assert_int_equal(sp_splinter_run("no-such-run", &opt, &res), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "no-such-run/models"));
}

/* ---------------------------------------------------------------- the ID-vs-ID null of tau_rep */

#define RUN_NULL "splinter-run-null"
enum { NV_ID = 160, NV_SMALL = 60, NV_LARGE = 800, NV_D = 48, NV_LATENT = 4 };

/* One model file with layer block0 on the test split and two OOD splits; every prediction is class 1. */
static void write_view_model(const char *name, const float *acts[3], const size_t n[3])
{
    static const char *const splits[3] = {"test", "ood-small", "ood-large"};
    char path[256];
    snprintf(path, sizeof path, RUN_NULL "/models/%s.h5", name);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-model", &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "variant", "joint"), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "name", name), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "n_classes", 2), SP_OK);
    int64_t row0 = 0;
    for (int s = 0; s < 3; s++) {
        float *probs = malloc(sizeof(float) * n[s] * 2);
        int64_t *rows = malloc(sizeof(int64_t) * n[s]);
        for (size_t i = 0; i < n[s]; i++) probs[2 * i] = 0.3f, probs[2 * i + 1] = 0.7f, rows[i] = row0 + (int64_t)i;
        row0 += (int64_t)n[s];
        test_write_split(w, splits[s], probs, rows, n[s], 2);
        char p[128];
        hsize_t da[2] = {n[s], NV_D};
        snprintf(p, sizeof p, "/activations/%s/block0_cls", splits[s]);
        assert_int_equal(sp_store_write_f32(w, p, 2, da, acts[s], 1), SP_OK);
        free(probs);
        free(rows);
    }
    assert_int_equal(sp_store_commit(w), SP_OK);
}

/* Three models that read one latent z (NV_LATENT dims) through their own random maps plus their own noise;
 * the OOD "groups" are just more draws from the ID distribution, one smaller and one larger than ID. */
static void make_null_run(void)
{
    test_fresh_run(RUN_NULL);
    const size_t n[3] = {NV_ID, NV_SMALL, NV_LARGE}, total = NV_ID + NV_SMALL + NV_LARGE;
    gsl_rng *r = sp_rng_alloc(77);
    double *z = malloc(sizeof(double) * total * NV_LATENT);
    for (size_t i = 0; i < total * NV_LATENT; i++) z[i] = gsl_ran_gaussian(r, 1.0);
    float *x = malloc(sizeof(float) * total * NV_D);
    for (int m = 0; m < 3; m++) {
        double map[NV_LATENT * NV_D];
        for (int i = 0; i < NV_LATENT * NV_D; i++) map[i] = gsl_ran_gaussian(r, 1.0);
        for (size_t i = 0; i < total; i++)
            for (int j = 0; j < NV_D; j++) {
                double v = 3.0 * gsl_ran_gaussian(r, 1.0);
                for (int k = 0; k < NV_LATENT; k++) v += z[i * NV_LATENT + k] * map[k * NV_D + j];
                x[i * NV_D + j] = (float)v;
            }
        const float *acts[3] = {x, x + NV_ID * NV_D, x + (NV_ID + NV_SMALL) * NV_D};
        char name[32];
        snprintf(name, sizeof name, "joint-s%d", m);
        write_view_model(name, acts, n);
    }
    free(x);
    free(z);
    gsl_rng_free(r);
    int32_t *labels = malloc(sizeof(int32_t) * total);
    for (size_t i = 0; i < total; i++) labels[i] = (int32_t)(i % 2);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(RUN_NULL "/dataset.h5", "splinter-dataset", &w), SP_OK);
    hsize_t dn[1] = {total};
    assert_int_equal(sp_store_write_i32(w, "/label", 1, dn, labels, 0), SP_OK);
    assert_int_equal(sp_store_commit(w), SP_OK);
    free(labels);
}

static void test_ood_that_is_another_id_sample_agrees(void **state)
{
    (void)state;
    make_null_run();
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    opt.bootstrap = 0;
    sp_splinter_run_result *res = NULL;
    assert_int_equal(sp_splinter_run(RUN_NULL, &opt, &res), SP_OK);
    assert_int_equal(res->n_pairs, 6); /* 3 pairs x 2 OOD splits */
    sp_splinter_run_result_free(res);
    const char *small[4] = {"joint", "ood-small", "block0", "cls"}, *large[4] = {"joint", "ood-large", "block0", "cls"};
    assert_int_equal((int)test_csv_value(RUN_NULL "/analysis/splinter_2x2.csv", 4, NULL, small, "pred_agree_feat_agree"),
                     3);
    assert_int_equal((int)test_csv_value(RUN_NULL "/analysis/splinter_2x2.csv", 4, NULL, large, "pred_agree_feat_agree"),
                     3);
    /* Linear CKA is biased upwards on fewer inputs: more OOD inputs than ID lower the OOD similarity (a
     * positive drop from sampling alone, which a fixed tau of 0.05 calls splintering), fewer raise it. */
    const char *pl[6] = {"joint", "joint-s0", "joint-s1", "ood-large", "block0", "cls"};
    const char *ps[6] = {"joint", "joint-s0", "joint-s1", "ood-small", "block0", "cls"};
    double s_large = test_csv_value(RUN_NULL "/analysis/splinter_pairs.csv", 6, NULL, pl, "s_rep_cka");
    double t_large = test_csv_value(RUN_NULL "/analysis/splinter_pairs.csv", 6, NULL, pl, "tau_rep_cka");
    double t_small = test_csv_value(RUN_NULL "/analysis/splinter_pairs.csv", 6, NULL, ps, "tau_rep_cka");
    assert_true(s_large > 0.05);
    assert_true(t_large > s_large);
    assert_true(t_small < t_large);

    /* The fixed threshold is still available. */
    opt.tau_rep_calibrated = 0;
    opt.tau_rep = 0.05;
    assert_int_equal(sp_splinter_run(RUN_NULL, &opt, &res), SP_OK);
    sp_splinter_run_result_free(res);
    assert_float_equal(test_csv_value(RUN_NULL "/analysis/splinter_pairs.csv", 6, NULL, pl, "tau_rep_cka"), 0.05, 0);
    assert_true(test_csv_value(RUN_NULL "/analysis/splinter_2x2.csv", 4, NULL, large, "pred_agree_feat_agree") < 3);
}

static void test_concept_probes_in_a_run(void **state)
{
    (void)state;
    make_run(0);
    FILE *f = fopen("concepts-test.txt", "w");
    assert_non_null(f);
    fprintf(f, "# test concepts\nodd: odd\nzebra: zebra\nmessage: message\n");
    fclose(f);
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    opt.bootstrap = 0;
    opt.concepts = "concepts-test.txt";
    sp_splinter_run_result *res = NULL;
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    int warned_zebra = 0, warned_message = 0;
    for (size_t k = 0; k < res->n_warnings; k++) {
        warned_zebra |= strstr(res->warnings[k], "concept zebra (concepts-test.txt line 3)") != NULL;
        warned_message |= strstr(res->warnings[k], "concept message") != NULL;
    }
    assert_true(warned_zebra && warned_message);
    sp_splinter_run_result_free(res);

    /* concepts.csv: rates per split and the skip status. */
    const char *lc[2] = {"concept", "split"};
    const char *odd_test[2] = {"odd", "test"}, *zebra_test[2] = {"zebra", "test"};
    assert_float_equal(test_csv_value(RUN "/analysis/concepts.csv", 2, lc, odd_test, "positive_rate"), 0.5, 1e-12);
    assert_float_equal(test_csv_value(RUN "/analysis/concepts.csv", 2, lc, zebra_test, "positives"), 0, 0);
    assert_int_equal(system("grep -q '^zebra,3,1,test,120,0,0,skipped' " RUN "/analysis/concepts.csv"), 0);
    assert_int_equal(system("grep -q '^odd,2,1,ood-x,80,40,0.5,used' " RUN "/analysis/concepts.csv"), 0);
    /* Only the used concept has pair rows: 12 pair records x 1 concept. */
    assert_int_equal(system("test $(wc -l < " RUN "/analysis/splinter_concept_pairs.csv) = 13"), 0);
    assert_int_equal(system("grep -q zebra " RUN "/analysis/splinter_concept_pairs.csv"), 256);

    /* The concept "odd" is the label: its probe results are the label probe's, bit for bit. */
    const char *pc[5] = {"model_a", "model_b", "ood_split", "layer", "pooling"};
    const char *pk[5] = {"finetune-p0-s0", "finetune-p0-s1", "ood-x", "block0", "cls"};
    const char *cc[6] = {"model_a", "model_b", "ood_split", "layer", "pooling", "concept"};
    const char *ck[6] = {"finetune-p0-s0", "finetune-p0-s1", "ood-x", "block0", "cls", "odd"};
    const char *names[3][2] = {{"probe_agree_id", "probe_agree_id"}, {"probe_agree_ood", "probe_agree_ood"},
                               {"probe_cosine", "probe_cosine"}};
    for (int k = 0; k < 3; k++)
        assert_float_equal(test_csv_value(RUN "/analysis/splinter_concept_pairs.csv", 6, cc, ck, names[k][0]),
                           test_csv_value(RUN "/analysis/splinter_pairs.csv", 5, pc, pk, names[k][1]), 0);
    assert_true(test_csv_value(RUN "/analysis/splinter_concept_pairs.csv", 6, cc, ck, "acc_id_a") > 0.8);
    /* OOD activations carry no label signal: the probes are near chance there. */
    assert_true(fabs(test_csv_value(RUN "/analysis/splinter_concept_pairs.csv", 6, cc, ck, "acc_ood_a") - 0.5) < 0.2);
    const char *vc[5] = {"variant", "ood_split", "layer", "pooling", "concept"};
    const char *vk[5] = {"joint", "ood-x", "block0", "cls", "odd"};
    assert_int_equal((int)test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, vc, vk, "n_pairs"), 3);
    assert_true(test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, vc, vk, "probe_cosine") > 0.99);

    /* A bad concept file fails before anything is written, naming file and line. */
    f = fopen("concepts-bad.txt", "w");
    fprintf(f, "odd: odd\nodd: even\n");
    fclose(f);
    opt.concepts = "concepts-bad.txt";
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "concepts-bad.txt:2: concept 'odd' is already defined on line 1"));
    remove("concepts-test.txt");
    remove("concepts-bad.txt");
}

/* The concept summaries' intervals: a concept equal to the label gives the label probe's s_probe mean, interval
 * and finetune - joint difference bit for bit (the same cells, draws and replicate means); the means are the
 * averages of the pair rows; 1 and 2 threads write identical files; bootstrap 0 leaves the bounds NaN. */
static void test_concept_intervals_in_a_run(void **state)
{
    (void)state;
    make_run(0);
    FILE *f = fopen("concepts-ci.txt", "w");
    assert_non_null(f);
    fprintf(f, "odd: odd\n");
    fclose(f);
    sp_splinter_run_options opt;
    sp_splinter_run_options_default(&opt);
    opt.bootstrap = 40;
    opt.concepts = "concepts-ci.txt";
    sp_splinter_run_result *res = NULL;
    omp_set_num_threads(1);
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    sp_splinter_run_result_free(res);
    assert_int_equal(system("cp " RUN "/analysis/splinter_concept_variants.csv concept-ci-1.csv && cp " RUN
                            "/analysis/splinter_concept_compare.csv concept-cmp-1.csv"), 0);
    omp_set_num_threads(2);
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    sp_splinter_run_result_free(res);
    assert_int_equal(system("cmp -s " RUN "/analysis/splinter_concept_variants.csv concept-ci-1.csv"), 0);
    assert_int_equal(system("cmp -s " RUN "/analysis/splinter_concept_compare.csv concept-cmp-1.csv"), 0);

    const char *variants[2] = {"finetune", "joint"}, *layers[2] = {"emb", "block0"};
    const char *vc[5] = {"variant", "ood_split", "layer", "pooling", "measure"};
    const char *cc[5] = {"variant", "ood_split", "layer", "pooling", "concept"};
    const char *mc[6] = {"ood_split", "layer", "pooling", "measure", "variant_a", "variant_b"};
    const char *kc[7] = {"ood_split", "layer", "pooling", "concept", "measure", "variant_a", "variant_b"};
    const char *pc[7] = {"variant", "ood_split", "layer", "pooling", "concept", "model_a", "model_b"};
    int wide = 0;
    for (int l = 0; l < 2; l++) {
        for (int v = 0; v < 2; v++) {
            const char *vk[5] = {variants[v], "ood-x", layers[l], "cls", "s_probe"};
            const char *ck[5] = {variants[v], "ood-x", layers[l], "cls", "odd"};
            double m = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, vc, vk, "mean");
            double lo = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, vc, vk, "lo");
            double hi = test_csv_value(RUN "/analysis/splinter_variants.csv", 5, vc, vk, "hi");
            assert_true(isfinite(m) && isfinite(lo) && isfinite(hi));
            assert_true(m == test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "s_probe"));
            assert_true(lo == test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "s_probe_lo"));
            assert_true(hi == test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "s_probe_hi"));
            assert_true(test_csv_value(RUN "/analysis/splinter_variants.csv", 5, vc, vk, "n_pairs") ==
                        test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "n_pairs"));
            wide += hi > lo;
            /* probe_agree_id: the mean of the three pairs' rows (every pair agrees in domain). */
            double sum = 0;
            const char *ab[3][2] = {{"s0", "s1"}, {"s0", "s2"}, {"s1", "s2"}};
            for (int q = 0; q < 3; q++) {
                char ma[32], mb[32];
                snprintf(ma, sizeof ma, "%s-%s", v ? "joint" : "finetune-p0", ab[q][0]);
                snprintf(mb, sizeof mb, "%s-%s", v ? "joint" : "finetune-p0", ab[q][1]);
                const char *pk[7] = {variants[v], "ood-x", layers[l], "cls", "odd", ma, mb};
                sum += test_csv_value(RUN "/analysis/splinter_concept_pairs.csv", 7, pc, pk, "probe_agree_id");
            }
            assert_float_equal(test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "probe_agree_id"),
                               sum / 3, 1e-9);
        }
        const char *mk[6] = {"ood-x", layers[l], "cls", "s_probe", "finetune", "joint"};
        const char *kk[7] = {"ood-x", layers[l], "cls", "odd", "s_probe", "finetune", "joint"};
        const char *cols[3] = {"diff", "lo", "hi"};
        for (int k = 0; k < 3; k++)
            assert_true(test_csv_value(RUN "/analysis/splinter_compare.csv", 6, mc, mk, cols[k]) ==
                        test_csv_value(RUN "/analysis/splinter_concept_compare.csv", 7, kc, kk, cols[k]));
    }
    assert_true(wide > 0); /* the intervals compared are not all collapsed */

    /* Bootstrap 0: the means stay, every bound is NaN. */
    opt.bootstrap = 0;
    assert_int_equal(sp_splinter_run(RUN, &opt, &res), SP_OK);
    sp_splinter_run_result_free(res);
    const char *ck[5] = {"finetune", "ood-x", "block0", "cls", "odd"};
    const char *kk[7] = {"ood-x", "block0", "cls", "odd", "bacc_ood", "finetune", "joint"};
    assert_true(isfinite(test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "s_probe")));
    assert_true(isnan(test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "s_probe_lo")));
    assert_true(isnan(test_csv_value(RUN "/analysis/splinter_concept_variants.csv", 5, cc, ck, "probe_cosine_hi")));
    assert_true(isfinite(test_csv_value(RUN "/analysis/splinter_concept_compare.csv", 7, kc, kk, "diff")));
    assert_true(isnan(test_csv_value(RUN "/analysis/splinter_concept_compare.csv", 7, kc, kk, "lo")));
    remove("concepts-ci.txt");
    remove("concept-ci-1.csv");
    remove("concept-cmp-1.csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_splintering_is_found_in_finetune_only),
        cmocka_unit_test(test_deterministic_outputs),
        cmocka_unit_test(test_constant_layer_is_skipped_with_a_warning),
        cmocka_unit_test(test_linear_only_run_is_a_documented_skip),
        cmocka_unit_test(test_ood_that_is_another_id_sample_agrees),
        cmocka_unit_test(test_concept_probes_in_a_run),
        cmocka_unit_test(test_concept_intervals_in_a_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
