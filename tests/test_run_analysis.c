/* test_run_analysis.c: `splinter analyze` end to end on synthetic runs written with the store writer:
 * outputs exist with their documented columns, the numpy reference (tests/ref/multiplicity_ref.py) agrees
 * to 1e-6, results are bit-identical across thread counts, and bad runs fail with a clear message and leave
 * no output (fewer than 2 models, mixed data_hash, non-HDF5 file, missing val split, differing rows, bad
 * probabilities) or are handled as documented (*.tmp ignored, a split missing from one model skipped with a
 * warning), and the finetune-minus-joint interval is paired by fine-tuning seed when both variants trained
 * the same seeds (narrower under a shared seed effect) and unpaired otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_randist.h>

#include "run_analysis.h"
#include "run_test_util.h"
#include "seeds.h"
#include "store.h"

#define RUN "test_run_analysis_tmp"
#define N_ROWS 200
#define HASH "5f1c0e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"

static int32_t labels[N_ROWS];

static void write_dataset(const char *run, const char *hash)
{
    char path[512];
    snprintf(path, sizeof path, "%s/dataset.h5", run);
    sp_store_writer *w = NULL;
    assert_int_equal(sp_store_create(path, "splinter-dataset", &w), SP_OK);
    gsl_rng *r = sp_rng_alloc(5);
    char *text[N_ROWS], *ids[N_ROWS];
    for (int i = 0; i < N_ROWS; i++) {
        labels[i] = (int32_t)gsl_rng_uniform_int(r, 2);
        text[i] = malloc(64);
        ids[i] = malloc(32);
        snprintf(text[i], 64, "message %d, \"quoted\"\nsecond line", i);
        snprintf(ids[i], 32, "msg-%04d", i);
    }
    gsl_rng_free(r);
    hsize_t d[1] = {N_ROWS};
    assert_int_equal(sp_store_attr_str(w, "/", "content_hash", hash), SP_OK);
    assert_int_equal(sp_store_write_i32(w, "/label", 1, d, labels, 0), SP_OK);
    assert_int_equal(sp_store_write_strings(w, "/text", N_ROWS, text), SP_OK);
    assert_int_equal(sp_store_write_strings(w, "/source_id", N_ROWS, ids), SP_OK);
    assert_int_equal(sp_store_commit(w), SP_OK);
    for (int i = 0; i < N_ROWS; i++) free(text[i]), free(ids[i]);
}

typedef struct {
    const char *name, *variant, *hash;
    uint64_t seed, pretrain;
    int skip_split;      /* 0 none, 1 no ood-late, 2 no val */
    int shift_rows;      /* 1: test rows shifted by one */
    int bad_probability; /* 1: a row that does not sum to 1 */
    int has_ft;          /* 1: a fine-tuning seed ft with a strong effect on the logits */
    uint64_t ft;
    int write_ft;        /* 1: record ft as the seed_init attribute */
} model_spec;

/* Splits: val rows 0..59, test 60..139, ood-late 140..199. OOD predictions vary more across models. */
static void write_model(const char *run, const model_spec *spec)
{
    static const char *const splits[3] = {"val", "test", "ood-late"};
    static const size_t start[3] = {0, 60, 140}, count[3] = {60, 80, 60};
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s.h5", run, spec->name);
    sp_store_writer *w = NULL;
    assert_int_equal(sp_store_create(path, "splinter-model", &w), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "family", "encoder"), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "variant", spec->variant), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "name", spec->name), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "data_hash", spec->hash), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "n_classes", 2), SP_OK);
    assert_int_equal(sp_store_attr_u64(w, "/", "seed_pretrain", spec->pretrain), SP_OK);
    gsl_rng *r = sp_rng_alloc(spec->seed);
    gsl_rng *shared = sp_rng_alloc(spec->pretrain * 7919 + 1); /* a pretraining-seed effect */
    double group_shift = gsl_ran_gaussian(shared, 0.3);
    gsl_rng_free(shared);
    if (spec->has_ft) group_shift += 2.0 * ((double)(spec->ft % 4) - 1.5); /* shared by every variant */
    if (spec->write_ft) assert_int_equal(sp_store_attr_u64(w, "/", "seed_init", spec->ft), SP_OK);
    for (int s = 0; s < 3; s++) {
        if ((spec->skip_split == 1 && s == 2) || (spec->skip_split == 2 && s == 0)) continue;
        size_t n = count[s];
        float *prob = malloc(2 * n * sizeof *prob);
        int64_t *rows = malloc(n * sizeof *rows);
        double correct = 0, loss = 0;
        for (size_t i = 0; i < n; i++) {
            rows[i] = (int64_t)(start[s] + i) + (spec->shift_rows && s == 1 ? 1 : 0);
            if (rows[i] >= N_ROWS) rows[i] = N_ROWS - 1;
            int y = labels[start[s] + i];
            double signal = (y ? 1.0 : -1.0) * (0.3 + 1.5 * (double)((start[s] + i) % 7) / 7.0);
            double noise = gsl_ran_gaussian(r, s == 2 ? 1.5 : 0.6) + group_shift;
            float p1 = (float)(1.0 / (1.0 + exp(-(signal + noise))));
            prob[2 * i] = 1.0f - p1;
            prob[2 * i + 1] = p1;
            correct += (p1 > 0.5f) == (y == 1);
            loss += -log(y ? p1 : 1.0f - p1);
        }
        if (spec->bad_probability && s == 1) prob[6] = 0.9f, prob[7] = 0.9f;
        test_write_split(w, splits[s], prob, rows, n, 2);
        char p[64];
        snprintf(p, sizeof p, "/predictions/%s", splits[s]);
        assert_int_equal(sp_store_attr_f64(w, p, "accuracy", correct / (double)n), SP_OK);
        assert_int_equal(sp_store_attr_f64(w, p, "loss", loss / (double)n), SP_OK);
        free(prob);
        free(rows);
    }
    gsl_rng_free(r);
    assert_int_equal(sp_store_commit(w), SP_OK);
}

static void fresh_run(const char *run, const char *hash)
{
    test_fresh_run(run);
    write_dataset(run, hash);
}

/* finetune: 6 models on 3 pretraining seeds; joint: 5 models, each its own pretraining seed. */
static void standard_run(const char *run)
{
    fresh_run(run, HASH);
    char name[32];
    for (int k = 0; k < 6; k++) {
        snprintf(name, sizeof name, "finetune-%d", k);
        model_spec s = {name, "finetune", HASH, 100 + (uint64_t)k, (uint64_t)(k / 2), 0, 0, 0, 0, 0, 0};
        write_model(run, &s);
    }
    for (int k = 0; k < 5; k++) {
        snprintf(name, sizeof name, "joint-%d", k);
        model_spec s = {name, "joint", HASH, 200 + (uint64_t)k, 50 + (uint64_t)k, 0, 0, 0, 0, 0, 0};
        write_model(run, &s);
    }
}

static sp_analysis_options test_options(void)
{
    sp_analysis_options opt;
    sp_analysis_options_default(&opt);
    opt.n_eps = 4;
    opt.eps[0] = 0, opt.eps[1] = 0.01, opt.eps[2] = 0.05, opt.eps[3] = 0.5;
    opt.bootstrap = 40;
    opt.seed = 7;
    opt.top_k = 3;
    return opt;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static void assert_prefix(const char *text, const char *prefix)
{
    if (strncmp(text, prefix, strlen(prefix)) != 0) print_error("expected prefix:\n%s\ngot:\n%.300s\n", prefix, text);
    assert_int_equal(strncmp(text, prefix, strlen(prefix)), 0);
}

static void test_synthetic_run_matches_numpy(void **state)
{
    (void)state;
    standard_run(RUN);
    /* a stale temporary file is ignored */
    FILE *f = fopen(RUN "/models/half-written.h5.tmp", "w");
    fputs("garbage", f);
    fclose(f);
    sp_analysis_options opt = test_options();
    sp_analysis_result *res = NULL;
    sp_status st = sp_analysis_run(RUN, &opt, &res);
    if (st != SP_OK) print_error("%s\n", sp_error_message());
    assert_int_equal(st, SP_OK);
    assert_int_equal(res->n_models, 11);
    assert_int_equal(res->n_variants, 2);
    for (size_t k = 0; k < res->n_warnings; k++) print_message("warning: %s\n", res->warnings[k]);
    assert_int_equal(res->n_warnings, 0);
    assert_int_equal(res->n_top, 3);
    for (size_t k = 0; k + 1 < res->n_top; k++) assert_true(res->top[k].capacity >= res->top[k + 1].capacity);
    assert_string_equal(res->top[0].split, "ood-late");
    assert_true(res->top[0].capacity > 1.0 && res->top[0].capacity <= 2.0);
    sp_analysis_result_free(res);

    /* documented headers */
    char *models = read_file(RUN "/analysis/models.csv"), *mult = read_file(RUN "/analysis/multiplicity.csv");
    char *ex = read_file(RUN "/analysis/examples.csv"), *var = read_file(RUN "/analysis/variants.csv");
    char *pw = read_file(RUN "/analysis/pairwise_ood-late.csv");
    assert_non_null(models), assert_non_null(mult), assert_non_null(ex), assert_non_null(var), assert_non_null(pw);
    assert_prefix(models, "variant,model,family,split,n_examples,accuracy,loss,stored_accuracy,stored_loss,"
                                "churn_vs_reference,is_reference,val_loss,val_error\n");
    assert_prefix(mult, "variant,eps_kind,eps,split,n_examples,pool_size,set_size,set_size_lo,set_size_hi,");
    assert_prefix(ex, "variant,split,row,source_id,label,reference_prediction,vpr_class,vpr_low,vpr_high,"
                            "capacity,flip,mu,mu_unbiased,self_consistency\n");
    assert_prefix(pw, "variant,model_a,model_b,disagreement\nfinetune,finetune-0,finetune-1,");
    assert_non_null(strstr(ex, "joint,ood-late,140,msg-0140,"));
    /* the nested decomposition exists for finetune only, the difference for both splits */
    assert_non_null(strstr(var, "finetune,test,accuracy_var_pretrain,"));
    assert_null(strstr(var, "joint,test,accuracy_var_pretrain,"));
    assert_non_null(strstr(var, "finetune-minus-joint,ood-late,accuracy_sd_ratio,"));
    assert_int_equal(access(RUN "/analysis/analysis.h5", R_OK), 0);
    assert_int_equal(access(RUN "/analysis/models.csv.tmp", F_OK), -1);

    /* the numpy reference agrees to 1e-6 */
    const char *src = getenv("SPLINTER_SRC");
    assert_non_null(src);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/multiplicity_ref.py %s", src, RUN);
    assert_int_equal(system(cmd), 0);

    /* bit-identical with one thread */
    omp_set_num_threads(1);
    assert_int_equal(sp_analysis_run(RUN, &opt, &res), SP_OK);
    sp_analysis_result_free(res);
    omp_set_num_threads(2);
    char *mult1 = read_file(RUN "/analysis/multiplicity.csv"), *var1 = read_file(RUN "/analysis/variants.csv");
    assert_string_equal(mult, mult1);
    assert_string_equal(var, var1);
    free(models), free(mult), free(ex), free(var), free(pw), free(mult1), free(var1);
}

/* finetune: 3 pretraining seeds x fine-tuning seeds 0..3; joint: fine-tuning seeds 0..3; the fine-tuning
 * seed shifts every logit by 2 (s - 1.5) in both variants. Returns the finetune-minus-joint test accuracy
 * row: value, lo, hi and the paired flag. */
static void seed_effect_run(int write_ft, double *value, double *lo, double *hi, int *paired)
{
    fresh_run(RUN, HASH);
    char name[32];
    for (uint64_t p = 0; p < 3; p++)
        for (uint64_t f = 0; f < 4; f++) {
            snprintf(name, sizeof name, "finetune-p%llu-s%llu", (unsigned long long)p, (unsigned long long)f);
            model_spec s = {name, "finetune", HASH, 300 + 4 * p + f, p, 0, 0, 0, 1, f, write_ft};
            write_model(RUN, &s);
        }
    for (uint64_t f = 0; f < 4; f++) {
        snprintf(name, sizeof name, "joint-s%llu", (unsigned long long)f);
        model_spec s = {name, "joint", HASH, 400 + f, 60 + f, 0, 0, 0, 1, f, write_ft};
        write_model(RUN, &s);
    }
    sp_analysis_options opt = test_options();
    opt.bootstrap = 200;
    sp_analysis_result *res = NULL;
    assert_int_equal(sp_analysis_run(RUN, &opt, &res), SP_OK);
    sp_analysis_result_free(res);
    char *var = read_file(RUN "/analysis/variants.csv");
    assert_non_null(var);
    assert_prefix(var, "variant,split,metric,value,lo,hi,n_models,paired\n");
    assert_non_null(strstr(var, "\nfinetune,test,accuracy_mean,")); /* one variant's rows: paired left empty */
    const char *row = strstr(var, "\nfinetune-minus-joint,test,accuracy_mean,");
    assert_non_null(row);
    int n_models = 0;
    assert_int_equal(sscanf(row + strlen("\nfinetune-minus-joint,test,accuracy_mean,"), "%lf,%lf,%lf,%d,%d", value,
                            lo, hi, &n_models, paired),
                     5);
    assert_int_equal(n_models, 16);
    char *fin = strstr(var, "\nfinetune,test,accuracy_mean,");
    char *eol = strchr(fin + 1, '\n');
    assert_true(eol > fin && eol[-1] == ','); /* empty paired field */
    /* bit-identical with one thread */
    omp_set_num_threads(1);
    assert_int_equal(sp_analysis_run(RUN, &opt, &res), SP_OK);
    sp_analysis_result_free(res);
    omp_set_num_threads(2);
    char *var1 = read_file(RUN "/analysis/variants.csv");
    assert_string_equal(var, var1);
    free(var1);
    free(var);
}

static void test_difference_paired_by_seed(void **state)
{
    (void)state;
    double v1, lo1, hi1, v0, lo0, hi0;
    int p1, p0;
    seed_effect_run(1, &v1, &lo1, &hi1, &p1);
    seed_effect_run(0, &v0, &lo0, &hi0, &p0); /* same predictions, seeds not recorded: unpaired */
    print_message("paired %d: %.4f [%.4f, %.4f]; paired %d: %.4f [%.4f, %.4f]\n", p1, v1, lo1, hi1, p0, v0, lo0, hi0);
    assert_int_equal(p1, 1);
    assert_int_equal(p0, 0);
    assert_float_equal(v1, v0, 0.0);
    assert_true(lo1 <= v1 && v1 <= hi1);
    assert_true(lo0 <= v0 && v0 <= hi0);
    assert_true(hi1 - lo1 < 0.75 * (hi0 - lo0));
}

/* Runs the analysis expecting failure whose message contains `needle`, and no analysis output. */
static void expect_failure(const char *needle)
{
    sp_analysis_options opt = test_options();
    sp_analysis_result *res = NULL;
    sp_status st = sp_analysis_run(RUN, &opt, &res);
    print_message("expected failure: %s\n", sp_error_message());
    assert_int_equal(st, SP_ERR_INPUT);
    assert_null(res);
    assert_non_null(strstr(sp_error_message(), needle));
    assert_int_equal(access(RUN "/analysis/analysis.h5", F_OK), -1);
    assert_int_equal(access(RUN "/analysis/multiplicity.csv", F_OK), -1);
}

static void test_bad_runs(void **state)
{
    (void)state;
    model_spec a = {"a", "joint", HASH, 1, 1, 0, 0, 0, 0, 0, 0}, b = {"b", "joint", HASH, 2, 2, 0, 0, 0, 0, 0, 0};

    fresh_run(RUN, HASH);
    write_model(RUN, &a);
    expect_failure("needs at least 2");

    model_spec other = b;
    other.hash = "0000000000000000000000000000000000000000000000000000000000000000";
    write_model(RUN, &other);
    expect_failure("data_hash");

    fresh_run(RUN, HASH);
    write_model(RUN, &a);
    write_model(RUN, &b);
    FILE *f = fopen(RUN "/models/notes.h5", "w");
    fputs("not hdf5", f);
    fclose(f);
    expect_failure("not an HDF5 file");

    fresh_run(RUN, HASH);
    write_model(RUN, &a);
    model_spec noval = b;
    noval.skip_split = 2;
    write_model(RUN, &noval);
    expect_failure("no /predictions/val");

    fresh_run(RUN, HASH);
    write_model(RUN, &a);
    model_spec shifted = b;
    shifted.shift_rows = 1;
    write_model(RUN, &shifted);
    expect_failure("/rows/test differs");

    fresh_run(RUN, HASH);
    write_model(RUN, &a);
    model_spec badp = b;
    badp.bad_probability = 1;
    write_model(RUN, &badp);
    expect_failure("sum to");

    fresh_run(RUN, "ffff000000000000000000000000000000000000000000000000000000000000");
    write_model(RUN, &a);
    write_model(RUN, &b);
    expect_failure("content_hash");

    assert_int_equal(system("rm -f " RUN "/dataset.h5"), 0);
    expect_failure("dataset.h5");
}

static void test_missing_split_is_skipped_with_warning(void **state)
{
    (void)state;
    fresh_run(RUN, HASH);
    model_spec a = {"a", "joint", HASH, 1, 1, 0, 0, 0, 0, 0, 0}, b = {"b", "joint", HASH, 2, 2, 1, 0, 0, 0, 0, 0};
    model_spec c = {"c", "joint", HASH, 3, 3, 0, 0, 0, 0, 0, 0};
    write_model(RUN, &a);
    write_model(RUN, &b);
    write_model(RUN, &c);
    sp_analysis_options opt = test_options();
    opt.bootstrap = 0; /* no intervals: lo/hi are nan */
    sp_analysis_result *res = NULL;
    assert_int_equal(sp_analysis_run(RUN, &opt, &res), SP_OK);
    for (size_t k = 0; k < res->n_warnings; k++) print_message("warning: %s\n", res->warnings[k]);
    assert_int_equal(res->n_warnings, 1);
    assert_non_null(strstr(res->warnings[0], "split ood-late skipped: missing from 1 of 3 models"));
    assert_int_equal(res->n_top, 0);
    sp_analysis_result_free(res);
    assert_int_equal(access(RUN "/analysis/pairwise_test.csv", R_OK), 0);
    assert_int_equal(access(RUN "/analysis/pairwise_ood-late.csv", F_OK), -1);
    char *mult = read_file(RUN "/analysis/multiplicity.csv");
    assert_non_null(strstr(mult, "joint,loss-abs,0,test,80,3,"));
    free(mult);
    assert_int_equal(system("rm -rf " RUN), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_run_matches_numpy),
        cmocka_unit_test(test_bad_runs),
        cmocka_unit_test(test_missing_split_is_skipped_with_warning),
        cmocka_unit_test(test_difference_paired_by_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
