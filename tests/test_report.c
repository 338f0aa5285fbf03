/* test_report.c: `sp_report_run` on a planted encoder-shaped run: finetune models (two pretraining seeds x
 * two fine-tuning seeds) whose OOD features splinter, joint models that do not, predictions on val/test/ood-x
 * and activations of two layers. Asserts: every expected figure (four files, PNG magic), report.md links only
 * files that exist, key numbers of report.md equal the CSV values, one CKA heatmap per layer holding that
 * layer's similarity.csv values, the concept section of a run without concepts, the feature-level verdict
 * finds more splintering in finetune, the analysis is not recomputed when fresh and is when a model file is
 * newer, and a failing report leaves the previous report untouched and no report.tmp. */
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

#include "csv_test_util.h"
#include "linalg_test_util.h"
#include "run_test_util.h"

#include "csv_read.h"
#include "report.h"
#include "seeds.h"
#include "store.h"

#define RUN "report-test-run"
#define N_VAL 60
#define N_ID 80
#define N_OOD 60
#define N_ROWS (N_VAL + N_ID + N_OOD)
#define D 6
#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int32_t labels[N_ROWS];

/* Predictions of one split: the label's signal plus model noise (more out of domain). */
static void write_predictions(sp_store_writer *w, const char *split, int start, int n, gsl_rng *r, double noise)
{
    float *p = malloc(sizeof(float) * 2 * (size_t)n);
    int64_t *rows = malloc(sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        int y = labels[start + i];
        double z = (y ? 1.0 : -1.0) * (0.5 + (double)((start + i) % 5) / 3.0) + gsl_ran_gaussian(r, noise);
        p[2 * i + 1] = (float)(1.0 / (1.0 + exp(-z)));
        p[2 * i] = 1.0f - p[2 * i + 1];
        rows[i] = start + i;
    }
    test_write_split(w, split, p, rows, (size_t)n, 2);
    free(p);
    free(rows);
}

static void write_model(const char *name, const char *variant, uint64_t pretrain, uint64_t seed, float *const acts[4])
{
    char path[256];
    snprintf(path, sizeof path, RUN "/models/%s.h5", name);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-model", &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "family", "encoder"), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "variant", variant), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "name", name), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "data_hash", HASH), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "n_classes", 2), SP_OK);
    assert_int_equal(sp_store_attr_u64(w, "/", "seed_pretrain", pretrain), SP_OK);
    gsl_rng *r = sp_rng_alloc(seed);
    write_predictions(w, "val", 0, N_VAL, r, 0.4);
    write_predictions(w, "test", N_VAL, N_ID, r, 0.4);
    write_predictions(w, "ood-x", N_VAL + N_ID, N_OOD, r, 1.5);
    gsl_rng_free(r);
    static const char *const layers[2] = {"emb", "block0"};
    for (int l = 0; l < 2; l++) {
        char p[128];
        hsize_t a[2] = {N_ID, D}, b[2] = {N_OOD, D};
        snprintf(p, sizeof p, "/activations/test/%s_cls", layers[l]);
        assert_int_equal(sp_store_write_f32(w, p, 2, a, acts[l], 1), SP_OK);
        snprintf(p, sizeof p, "/activations/ood-x/%s_cls", layers[l]);
        assert_int_equal(sp_store_write_f32(w, p, 2, b, acts[2 + l], 1), SP_OK);
    }
    assert_int_equal(sp_store_commit(w), SP_OK);
}

/* finetune-p<g>-s<k>: pretraining seed g, fine-tuning seed k; OOD features independent per model.
 * joint-s<k>: rotations of one representation on ID and OOD alike. */
static void make_run(void)
{
    test_fresh_run(RUN);
    gsl_rng *r = sp_rng_alloc(77);
    for (int i = 0; i < N_ROWS; i++) labels[i] = (int32_t)gsl_rng_uniform_int(r, 2);
    double *id = malloc(sizeof(double) * N_ID * D), *ood = malloc(sizeof(double) * N_OOD * D);
    double *own = malloc(sizeof(double) * N_OOD * D);
    for (int i = 0; i < N_ID * D; i++)
        id[i] = gsl_ran_gaussian(r, 1.0) + (i % D == 0 ? 2.0 * labels[N_VAL + i / D] : 0);
    for (int i = 0; i < N_OOD * D; i++) ood[i] = gsl_ran_gaussian(r, 1.0);
    float *acts[4];
    for (int k = 0; k < 4; k++) acts[k] = malloc(sizeof(float) * N_ID * D);
    for (int m = 0; m < 8; m++) {
        int finetune = m < 4;
        gsl_matrix *Qm = test_random_orthogonal(r, D);
        const double *Q = Qm->data; /* row-major, tda == D */
        test_rotate(acts[0], id, Q, N_ID, D);
        test_rotate(acts[1], id, Q, N_ID, D);
        const double *o = ood;
        if (finetune) {
            for (int i = 0; i < N_OOD * D; i++) own[i] = gsl_ran_gaussian(r, 1.0);
            o = own;
        }
        test_rotate(acts[2], o, Q, N_OOD, D);
        test_rotate(acts[3], o, Q, N_OOD, D);
        char name[32];
        if (finetune) snprintf(name, sizeof name, "finetune-p%d-s%d", m / 2, m % 2);
        else snprintf(name, sizeof name, "joint-s%d", m - 4);
        write_model(name, finetune ? "finetune" : "joint", finetune ? (uint64_t)(m / 2) : (uint64_t)(100 + m),
                    1000 + (uint64_t)m, acts);
        gsl_matrix_free(Qm);
    }
    for (int k = 0; k < 4; k++) free(acts[k]);
    free(id), free(ood), free(own);
    gsl_rng_free(r);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(RUN "/dataset.h5", "splinter-dataset", &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "content_hash", HASH), SP_OK);
    hsize_t n[1] = {N_ROWS};
    assert_int_equal(sp_store_write_i32(w, "/label", 1, n, labels, 0), SP_OK);
    assert_int_equal(sp_store_commit(w), SP_OK);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void assert_figure(const char *stem)
{
    const char *ext[4] = {"dat", "gp", "png", "svg"};
    char path[512];
    for (int i = 0; i < 4; i++) {
        struct stat st;
        snprintf(path, sizeof path, RUN "/report/%s.%s", stem, ext[i]);
        if (stat(path, &st) != 0 || st.st_size == 0) fail_msg("figure file %s missing or empty", path);
    }
    snprintf(path, sizeof path, RUN "/report/%s.png", stem);
    FILE *f = fopen(path, "rb");
    unsigned char magic[8];
    assert_int_equal(fread(magic, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
}

/* Entry (i, j) of panel `panel` of a heatmap's report/<stem>.dat ("# panel k: ..." then the matrix rows). */
static double heatmap_cell(const char *stem, int panel, int i, int j)
{
    char path[512], want[32];
    snprintf(path, sizeof path, RUN "/report/%s.dat", stem);
    snprintf(want, sizeof want, "# panel %d:", panel);
    char *s = slurp(path);
    char *p = strstr(s, want);
    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    for (int r = 0; r < i; r++) p = strchr(p, '\n') + 1;
    double v = NAN;
    for (int c = 0; c <= j; c++) v = strtod(p, &p);
    free(s);
    return v;
}

static long long mtime_ns(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static sp_report_options quick_options(void)
{
    sp_report_options opt;
    sp_report_options_default(&opt);
    opt.analysis.bootstrap = 30;
    opt.splinter.bootstrap = 30;
    return opt;
}

static void test_full_report(void **state)
{
    (void)state;
    make_run();
    sp_report_options opt = quick_options();
    sp_report_result *res = NULL;
    assert_int_equal(sp_report_run(RUN, &opt, &res), SP_OK);
    assert_int_equal(res->recomputed, 1);
    static const char *const expected[] = {"accuracy_id_ood", "rashomon_set_size", "rashomon_ambiguity",
                                           "vpr_width_finetune", "capacity_finetune", "vpr_width_joint",
                                           "capacity_joint", "disagreement_finetune", "disagreement_joint",
                                           "variance_share_pretrain", "cka_finetune_emb",
                                           "cka_finetune_block0", "cka_joint_emb", "cka_joint_block0",
                                           "splinter_cka_layers", "splinter_align_layers"};
    size_t n_expected = sizeof expected / sizeof expected[0];
    assert_int_equal(res->n_figures, n_expected);
    for (size_t k = 0; k < n_expected; k++) {
        assert_string_equal(res->figures[k], expected[k]);
        assert_figure(expected[k]);
    }
    assert_int_equal(res->n_skipped, 0);
    sp_report_result_free(res);
    assert_int_equal(access(RUN "/report.tmp", F_OK), -1);

    char *md = slurp(RUN "/report/report.md");
    /* Every image link names a file that exists in report/. */
    size_t links = 0;
    for (const char *p = strstr(md, "]("); p; p = strstr(p + 1, "](")) {
        const char *end = strchr(p, ')');
        assert_non_null(end);
        char path[512];
        snprintf(path, sizeof path, RUN "/report/%.*s", (int)(end - p - 2), p + 2);
        if (access(path, F_OK) != 0) fail_msg("report.md links %s, which does not exist", path);
        links++;
    }
    assert_int_equal(links, n_expected);

    /* Key numbers equal the CSV values. */
    char want[512];
    const char *vk[3] = {"variant", "split", "metric"};
    const char *acc[3] = {"finetune", "ood-x", "accuracy_mean"};
    snprintf(want, sizeof want, "%.4f [%.4f, %.4f]", test_csv_value(RUN "/analysis/variants.csv", 3, vk, acc, "value"),
             test_csv_value(RUN "/analysis/variants.csv", 3, vk, acc, "lo"),
             test_csv_value(RUN "/analysis/variants.csv", 3, vk, acc, "hi"));
    assert_non_null(strstr(md, want));
    const char *mk[4] = {"variant", "eps_kind", "eps", "split"}, *amb[4] = {"joint", "loss-abs", "0.01", "test"};
    snprintf(want, sizeof want, "%.4f [%.4f, %.4f]",
             test_csv_value(RUN "/analysis/multiplicity.csv", 4, mk, amb, "ambiguity"),
             test_csv_value(RUN "/analysis/multiplicity.csv", 4, mk, amb, "ambiguity_lo"),
             test_csv_value(RUN "/analysis/multiplicity.csv", 4, mk, amb, "ambiguity_hi"));
    assert_non_null(strstr(md, want));
    const char *ck[6] = {"ood_split", "layer", "pooling", "measure", "variant_a", "variant_b"};
    const char *cv[6] = {"ood-x", "block0", "cls", "s_rep_cka", "finetune", "joint"};
    double d = test_csv_value(RUN "/analysis/splinter_compare.csv", 6, ck, cv, "diff");
    double lo = test_csv_value(RUN "/analysis/splinter_compare.csv", 6, ck, cv, "lo");
    assert_true(d > 0.3 && lo > 0); /* planted: finetune splinters, joint does not */
    snprintf(want, sizeof want,
             "**Verdict (ood-x, feature level, layer block0):** CKA drop finetune − joint = %.4f [%.4f, %.4f], "
             "interval above 0: fine-tuned models splinter more out of domain.", d, lo,
             test_csv_value(RUN "/analysis/splinter_compare.csv", 6, ck, cv, "hi"));
    assert_non_null(strstr(md, want));
    /* 2x2 row of the joint variant: every pair's features agree OOD. */
    const char *tk[4] = {"variant", "ood_split", "layer", "pooling"}, *tv[4] = {"joint", "ood-x", "block0", "cls"};
    double agree = test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, tk, tv, "pred_agree_feat_agree") +
                   test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, tk, tv, "pred_split_feat_agree");
    double pairs = test_csv_value(RUN "/analysis/splinter_2x2.csv", 4, tk, tv, "n_pairs");
    assert_true(pairs > 0);
    assert_float_equal(agree, pairs, 0);
    assert_non_null(strstr(md, "| joint | ood-x | block0 | cls |"));
    /* Sections the notebook exporter splits on. */
    assert_non_null(strstr(md, "\n## Summary\n"));
    assert_non_null(strstr(md, "\n## Fine-tuning vs joint training\n"));
    assert_non_null(strstr(md, "\n## Variance decomposition\n"));
    /* One CKA heatmap per layer, each with that layer's values (test = panel 0, ood-x = panel 1). */
    const char *sk[6] = {"split", "layer", "pooling", "measure", "model_a", "model_b"};
    const char *emb[6] = {"ood-x", "emb", "cls", "cka", "finetune-p0-s0", "finetune-p1-s1"};
    const char *blk[6] = {"ood-x", "block0", "cls", "cka", "finetune-p0-s0", "finetune-p1-s1"};
    double cka_emb = test_csv_value(RUN "/analysis/similarity.csv", 6, sk, emb, "value");
    double cka_blk = test_csv_value(RUN "/analysis/similarity.csv", 6, sk, blk, "value");
    /* (The planted layers are one representation, so their values coincide here; check_report.sh compares every
     * cell of a real run's per-layer heatmaps, whose layers differ.) */
    assert_float_equal(heatmap_cell("cka_finetune_emb", 1, 0, 3), cka_emb, 1e-8);
    assert_float_equal(heatmap_cell("cka_finetune_block0", 1, 0, 3), cka_blk, 1e-8);
    assert_non_null(strstr(md, "![Linear CKA, finetune, layer emb: ID test and OOD side by side](cka_finetune_emb.png)"));
    /* Analysed without a concept file: the section says so. */
    assert_non_null(strstr(md, "\n## Concept probes\n\n*No concept probes: the analysis ran without a concept file"));
    free(md);
}

static void test_staleness(void **state)
{
    (void)state;
    sp_report_options opt = quick_options();
    long long before = mtime_ns(RUN "/analysis/analysis.h5");
    sp_report_result *res = NULL;
    assert_int_equal(sp_report_analysis_stale(RUN), 0);
    assert_int_equal(sp_report_run(RUN, &opt, &res), SP_OK);
    assert_int_equal(res->recomputed, 0);
    sp_report_result_free(res);
    assert_true(mtime_ns(RUN "/analysis/analysis.h5") == before);
    /* A model file newer than the analysis makes it stale. */
    assert_int_equal(system("sleep 0.01 && touch " RUN "/models/joint-s0.h5"), 0);
    assert_int_equal(sp_report_analysis_stale(RUN), 1);
    assert_int_equal(sp_report_run(RUN, &opt, &res), SP_OK);
    assert_int_equal(res->recomputed, 1);
    sp_report_result_free(res);
    assert_true(mtime_ns(RUN "/analysis/analysis.h5") > before);
    assert_int_equal(sp_report_analysis_stale(RUN), 0);
}

static void test_failure_keeps_previous_report(void **state)
{
    (void)state;
    char *before = slurp(RUN "/report/report.md");
    /* A models.csv without its accuracy column: the report must name file and column and change nothing. */
    assert_int_equal(system("cp " RUN "/analysis/models.csv models-backup.csv && "
                            "sed -i '1s/,accuracy,/,acc,/' " RUN "/analysis/models.csv"), 0);
    sp_report_options opt = quick_options();
    sp_report_result *res = NULL;
    assert_int_equal(sp_report_run(RUN, &opt, &res), SP_ERR_INPUT);
    assert_null(res);
    assert_non_null(strstr(sp_error_message(), "models.csv: no column 'accuracy'"));
    assert_int_equal(access(RUN "/report.tmp", F_OK), -1);
    char *after = slurp(RUN "/report/report.md");
    assert_string_equal(before, after);
    free(before), free(after);
    assert_int_equal(system("mv models-backup.csv " RUN "/analysis/models.csv"), 0);
}

static void test_bad_runs(void **state)
{
    (void)state;
    sp_report_options opt = quick_options();
    sp_report_result *res = NULL;
    assert_int_equal(sp_report_run("no-such-run-dir", &opt, &res), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "no-such-run-dir is not a directory"));
    (void)system("rm -rf report-empty-run && mkdir -p report-empty-run/models");
    assert_int_equal(sp_report_run("report-empty-run", &opt, &res), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "report-empty-run/models: no model files"));
    assert_int_equal(access("report-empty-run/report", F_OK), -1);
    assert_int_equal(access("report-empty-run/report.tmp", F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_report),
        cmocka_unit_test(test_staleness),
        cmocka_unit_test(test_failure_keeps_previous_report),
        cmocka_unit_test(test_bad_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
