/* test_sweep.c: job expansion (names, variants, nesting), resume (complete files skipped, partial redone),
 * division over ranks (disjoint, covering), failure reporting. Trainers are replaced by a recorder that
 * writes a tiny model file, so this tests the scheduler alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "sweep.h"

typedef struct {
    int calls[64];
    const char *fail_name;
} recorder;

static sp_status record_train(const sp_sweep_config *cfg, const sp_sweep_job *job, const char *path, int threads,
                              void *ctx)
{
    (void)cfg;
    recorder *r = ctx;
    if (threads != 1) return sp_fail(SP_ERR_STATE, "expected one thread per model, got %d", threads);
    if (r->fail_name && strcmp(job->name, r->fail_name) == 0) return sp_fail(SP_ERR_NUMERIC, "loss is NaN at step 3");
#pragma omp critical(recorder)
    r->calls[job->kind * 16 + (int)(job->seed % 16)]++;
    sp_store_writer *w;
    sp_status st = sp_store_create(path, job->kind == SP_JOB_PRETRAIN ? "splinter-encoder" : "splinter-model", &w);
    if (st != SP_OK) return st;
    if ((st = sp_store_attr_str(w, "/", "variant", job->variant)) != SP_OK) {
        sp_store_abort(w);
        return st;
    }
    return sp_store_commit(w);
}

static sp_sweep_config *load(const char *text)
{
    FILE *f = fopen("sweep-test.yaml", "w");
    fputs(text, f);
    fclose(f);
    sp_sweep_config *c = NULL;
    assert_int_equal(sp_sweep_config_load("sweep-test.yaml", &c), SP_OK);
    return c;
}

static const char *config_text = "name: t\nrun_dir: sweep-run\ndataset: {source: spam-assassin}\n"
                                 "linear: {seeds: {first: 5, count: 3}, l2: [0.001]}\n"
                                 "encoder:\n  variants: [joint, finetune]\n  pretrain_seeds: {first: 0, count: 2}\n"
                                 "  seeds: {first: 0, count: 2}\n";

static void test_expansion(void **state)
{
    (void)state;
    sp_sweep_config *c = load(config_text);
    sp_sweep_job *j;
    size_t n;
    assert_int_equal(sp_sweep_expand(c, &j, &n), SP_OK);
    /* 3 linear + 1 exact + 2 pretrain + 2 joint + 2x2 finetune */
    assert_int_equal(n, 12);
    const char *names[12] = {"linear-s5", "linear-s6", "linear-s7", "linear-exact", "pretrain-p0", "pretrain-p1",
                             "joint-s0", "joint-s1", "finetune-p0-s0", "finetune-p0-s1", "finetune-p1-s0",
                             "finetune-p1-s1"};
    for (size_t i = 0; i < n; i++) assert_string_equal(j[i].name, names[i]);
    assert_string_equal(j[0].variant, "sgd");
    assert_string_equal(j[3].variant, "exact");
    assert_true(j[0].l2 == 0.001);
    assert_int_equal(j[6].needs, -1);
    assert_int_equal(j[8].needs, 4);
    assert_int_equal(j[10].needs, 5);
    assert_int_equal(j[11].pretrain_seed, 1);
    assert_int_equal(j[11].seed, 1);
    free(j);
    sp_sweep_config_free(c);

    c = load("name: g\ndataset: {source: imdb}\nlinear: {seeds: {first: 0, count: 1}, l2: [0.001, 0.01], exact: false}\n");
    assert_int_equal(sp_sweep_expand(c, &j, &n), SP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(j[0].name, "linear-l2_0.001-s0");
    assert_string_equal(j[1].variant, "sgd-l2_0.01");
    free(j);
    sp_sweep_config_free(c);
}

static int count_calls(const recorder *r)
{
    int total = 0;
    for (int i = 0; i < 64; i++) total += r->calls[i];
    return total;
}

/* The standard configuration expanded into its 12 jobs, with no run directory yet. */
static sp_sweep_config *fresh_sweep(sp_sweep_job **jobs, size_t *n)
{
    assert_int_equal(system("rm -rf sweep-run"), 0);
    sp_sweep_config *c = load(config_text);
    assert_int_equal(sp_sweep_expand(c, jobs, n), SP_OK);
    assert_int_equal(*n, 12);
    return c;
}

static void test_resume_skips_complete_and_redoes_partial(void **state)
{
    (void)state;
    sp_sweep_job *j;
    size_t n;
    sp_sweep_config *c = fresh_sweep(&j, &n);
    recorder r = {{0}, NULL};
    sp_sweep_options o = sp_sweep_options_default();
    o.train = record_train;
    o.ctx = &r;
    o.quiet = 1;
    o.threads = 2;
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_OK);
    assert_int_equal(count_calls(&r), 12);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        sp_sweep_model_path(c->run_dir, &j[i], path, sizeof path);
        assert_true(sp_store_is_complete(path, j[i].kind == SP_JOB_PRETRAIN ? "splinter-encoder" : "splinter-model"));
    }
    /* A second run trains nothing. */
    memset(&r, 0, sizeof r);
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_OK);
    assert_int_equal(count_calls(&r), 0);
    /* Lose one finished file and leave a stale partial one: only that model is redone. */
    assert_int_equal(unlink("sweep-run/models/joint-s1.h5"), 0);
    FILE *f = fopen("sweep-run/models/joint-s1.h5.tmp", "w");
    fputs("partial", f);
    fclose(f);
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_OK);
    assert_int_equal(count_calls(&r), 1);
    assert_int_equal(r.calls[SP_JOB_ENCODER * 16 + 1], 1);
    assert_int_equal(access("sweep-run/models/joint-s1.h5.tmp", F_OK), -1);
    free(j);
    sp_sweep_config_free(c);
}

static void test_ranks_divide_jobs(void **state)
{
    (void)state;
    sp_sweep_job *j;
    size_t n;
    sp_sweep_config *c = fresh_sweep(&j, &n);
    recorder r0 = {{0}, NULL}, r1 = {{0}, NULL};
    sp_sweep_options o = sp_sweep_options_default();
    o.train = record_train;
    o.quiet = 1;
    o.n_ranks = 2;
    /* Rank 1 alone cannot finish its fine-tuning jobs: pretrain-p0 belongs to rank 0. */
    o.rank = 1;
    o.ctx = &r1;
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_ERR_STATE);
    assert_non_null(strstr(sp_error_message(), "pretrain-p0.h5"));
    o.rank = 0;
    o.ctx = &r0;
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_OK);
    o.rank = 1;
    o.ctx = &r1;
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_OK);
    /* Rank 1's first attempt trained its wave-0 jobs (linear-s6, linear-exact, pretrain-p1, joint-s1). */
    assert_int_equal(count_calls(&r0) + count_calls(&r1), 12);
    free(j);
    sp_sweep_config_free(c);
}

static void test_failure_names_the_model(void **state)
{
    (void)state;
    sp_sweep_job *j;
    size_t n;
    sp_sweep_config *c = fresh_sweep(&j, &n);
    recorder r = {{0}, "joint-s0"};
    sp_sweep_options o = sp_sweep_options_default();
    o.train = record_train;
    o.ctx = &r;
    o.quiet = 1;
    assert_int_equal(sp_sweep_run(c, j, n, &o), SP_ERR_NUMERIC);
    assert_non_null(strstr(sp_error_message(), "model joint-s0: loss is NaN"));
    assert_int_equal(access("sweep-run/models/joint-s0.h5", F_OK), -1);
    /* The rest of wave 0 still finished; wave 1 did not start. */
    assert_int_equal(access("sweep-run/models/joint-s1.h5", F_OK), 0);
    assert_int_equal(access("sweep-run/models/finetune-p0-s0.h5", F_OK), -1);
    free(j);
    sp_sweep_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion),
        cmocka_unit_test(test_resume_skips_complete_and_redoes_partial),
        cmocka_unit_test(test_ranks_divide_jobs),
        cmocka_unit_test(test_failure_names_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
