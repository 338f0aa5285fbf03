/* test_sweep_config.c: sweep configurations parse, resolve defaults, round-trip, and reject bad input with
 * the key (and line, where the YAML itself is wrong). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_config.h"

static const char *write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    fputs(text, f);
    fclose(f);
    return name;
}

static const char *good =
    "name: demo\n"
    "dataset:\n"
    "  source: spam-assassin\n"
    "  data_seed: 3\n"
    "linear:\n"
    "  seeds: {first: 10, count: 20}\n"
    "  l2: [0.0001, 0.001]\n"
    "encoder:\n"
    "  variants: [finetune, joint]\n"
    "  pretrain_seeds: {first: 0, count: 2}\n"
    "  seeds: {first: 0, count: 3}\n"
    "  d_model: 64\n";

static void test_good_config_resolves_defaults(void **state)
{
    (void)state;
    sp_sweep_config *c;
    assert_int_equal(sp_sweep_config_load(write_file("good.yaml", good), &c), SP_OK);
    assert_string_equal(c->name, "demo");
    assert_string_equal(c->run_dir, "runs/demo");
    assert_int_equal(*c->dataset->data_seed, 3);
    assert_true(*c->dataset->val_fraction == 0.2 && *c->dataset->test_fraction == 0.2);
    assert_int_equal(c->linear->seeds->first, 10);
    assert_int_equal(c->linear->seeds->count, 20);
    assert_int_equal(c->linear->l2_count, 2);
    assert_true(c->linear->l2[1] == 0.001);
    assert_string_equal(c->linear->optimizer, "sgd"); /* per-sample SGD, optimal schedule, from zero */
    assert_int_equal(*c->linear->batch, 1);
    assert_string_equal(c->linear->lr_schedule, "optimal");
    assert_true(*c->linear->init_std == 0.0);
    assert_true(*c->linear->exact);
    assert_int_equal(c->encoder->variants_count, 2);
    assert_string_equal(c->encoder->variants[1], "joint");
    assert_int_equal(*c->encoder->d_model, 64);
    assert_int_equal(*c->encoder->heads, 4);
    assert_int_equal(c->encoder->pretrain_seeds->count, 2);
    assert_int_equal(c->encoder->activation_poolings_count, 2);
    assert_int_equal(c->analysis->eps_count, 20);
    assert_float_equal(c->analysis->eps[0], 1e-3, 1e-15);
    assert_float_equal(c->analysis->eps[19], 1.0, 1e-12);
    assert_int_equal(*c->analysis->bootstrap, 1000);
    assert_null(c->analysis->concepts); /* no concept probes unless asked */
    sp_sweep_config_free(c);
}

static void test_analysis_concepts_key(void **state)
{
    (void)state;
    sp_sweep_config *c, *d;
    char *text;
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%sanalysis:\n  concepts: experiments/spam-concepts.txt\n", good);
    assert_int_equal(sp_sweep_config_load(write_file("concepts.yaml", yaml), &c), SP_OK);
    assert_string_equal(c->analysis->concepts, "experiments/spam-concepts.txt");
    assert_int_equal(sp_sweep_config_save(c, "concepts-resolved.yaml"), SP_OK);
    assert_int_equal(sp_sweep_config_load("concepts-resolved.yaml", &d), SP_OK);
    assert_string_equal(d->analysis->concepts, "experiments/spam-concepts.txt");
    assert_int_equal(sp_sweep_config_text(d, &text), SP_OK);
    assert_non_null(strstr(text, "concepts: experiments/spam-concepts.txt"));
    free(text);
    sp_sweep_config_free(c);
    sp_sweep_config_free(d);
}

static void test_resolved_config_round_trips(void **state)
{
    (void)state;
    sp_sweep_config *a, *b;
    char *ta, *tb;
    assert_int_equal(sp_sweep_config_load(write_file("rt.yaml", good), &a), SP_OK);
    assert_int_equal(sp_sweep_config_save(a, "rt-resolved.yaml"), SP_OK);
    assert_int_equal(sp_sweep_config_load("rt-resolved.yaml", &b), SP_OK);
    assert_int_equal(sp_sweep_config_text(a, &ta), SP_OK);
    assert_int_equal(sp_sweep_config_text(b, &tb), SP_OK);
    assert_string_equal(ta, tb);
    assert_non_null(strstr(ta, "vocab_size: 8192"));
    free(ta);
    free(tb);
    sp_sweep_config_free(a);
    sp_sweep_config_free(b);
}

/* run.yaml writes each double in its shortest form that reads back to the same bits (0.2, not
 * 2.0000000000000001e-01), and reading it back gives the identical configuration. */
static void test_floats_written_shortest_and_exact(void **state)
{
    (void)state;
    static const char *text = "name: floats\n"
                              "dataset: {source: imdb, val_fraction: 0.2, test_fraction: 0.15}\n"
                              "linear:\n"
                              "  seeds: {first: 0, count: 1}\n"
                              "  lr_schedule: constant\n" /* the optimal schedule would refuse l2 >= 2 */
                              "  lr: 0.30000000000000004\n" /* 0.1 + 0.2: needs all 17 digits */
                              "  l2: [1e-4, 2.5e-300, 5e-324, 123456789012, 0]\n"
                              "analysis: {eps: [0.001, 0.0014384498882876629, 1]}\n";
    sp_sweep_config *a, *b;
    char *ta, *tb;
    assert_int_equal(sp_sweep_config_load(write_file("floats.yaml", text), &a), SP_OK);
    assert_int_equal(sp_sweep_config_save(a, "floats-resolved.yaml"), SP_OK);
    assert_int_equal(sp_sweep_config_text(a, &ta), SP_OK);
    static const char *const lines[] = {
        "  val_fraction: 0.2\n", "  test_fraction: 0.15\n", "  lr: 0.30000000000000004\n", "  - 0.0001\n",
        "  - 2.5e-300\n",        "  - 5e-324\n",            "  - 123456789012.0\n",        "  - 0.0\n",
        "  - 0.001\n",           "  - 0.0014384498882876629\n", "  - 1.0\n",
    };
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++)
        if (!strstr(ta, lines[k])) fail_msg("'%s' not in:\n%s", lines[k], ta);
    assert_null(strstr(ta, "e-01"));
    assert_null(strstr(ta, "e+00"));
    /* The saved file reads back to the same doubles, bit for bit, and to the same text. */
    assert_int_equal(sp_sweep_config_load("floats-resolved.yaml", &b), SP_OK);
    assert_memory_equal(a->dataset->val_fraction, b->dataset->val_fraction, sizeof(double));
    assert_memory_equal(a->dataset->test_fraction, b->dataset->test_fraction, sizeof(double));
    assert_memory_equal(a->linear->lr, b->linear->lr, sizeof(double));
    assert_int_equal(a->linear->l2_count, b->linear->l2_count);
    assert_memory_equal(a->linear->l2, b->linear->l2, a->linear->l2_count * sizeof(double));
    assert_int_equal(a->analysis->eps_count, b->analysis->eps_count);
    assert_memory_equal(a->analysis->eps, b->analysis->eps, a->analysis->eps_count * sizeof(double));
    assert_true(*b->linear->lr == 0.1 + 0.2 && b->linear->l2[2] == 5e-324);
    assert_int_equal(sp_sweep_config_text(b, &tb), SP_OK);
    assert_string_equal(ta, tb);
    /* A configuration that differs in the last bit of one double writes different text (the comparison
     * that refuses a run directory made by another configuration still sees it). */
    *b->linear->lr = nextafter(*b->linear->lr, 1.0);
    free(tb);
    assert_int_equal(sp_sweep_config_text(b, &tb), SP_OK);
    assert_string_not_equal(ta, tb);
    assert_non_null(strstr(tb, "  lr: 0.3000000000000001\n"));
    free(ta);
    free(tb);
    sp_sweep_config_free(a);
    sp_sweep_config_free(b);
    /* A string that looks like libcyaml's float form is not a float: the text would not read back the same,
     * so libcyaml's own 17-digit text is kept whole. */
    assert_int_equal(sp_sweep_config_load(write_file("floats2.yaml", "name: x\nrun_dir: \"2.0000000000000001e-01\"\n"
                                                                      "dataset: {source: imdb}\n"
                                                                      "linear: {seeds: {first: 0, count: 1}}\n"),
                                          &a),
                     SP_OK);
    assert_int_equal(sp_sweep_config_text(a, &ta), SP_OK);
    assert_non_null(strstr(ta, "run_dir: 2.0000000000000001e-01\n"));
    assert_non_null(strstr(ta, "val_fraction: 2.0000000000000001e-01\n"));
    free(ta);
    sp_sweep_config_free(a);
}

/* Loads `text`, expects `code`, and checks every needle appears in the message. */
static void expect_error(const char *text, sp_status code, const char *needle1, const char *needle2)
{
    sp_sweep_config *c = (sp_sweep_config *)1;
    assert_int_equal(sp_sweep_config_load(write_file("bad.yaml", text), &c), code);
    assert_null(c);
    const char *msg = sp_error_message();
    if (!strstr(msg, needle1) || (needle2 && !strstr(msg, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", msg, needle1, needle2 ? needle2 : "");
    assert_non_null(strstr(msg, "bad.yaml"));
}

static void test_unknown_key_names_key_and_line(void **state)
{
    (void)state;
    expect_error("name: x\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: 2}\n  epocs: 3\n",
                 SP_ERR_USAGE, "bad.yaml:6: unknown key 'epocs'", NULL);
}

static void test_wrong_type(void **state)
{
    (void)state;
    expect_error("name: x\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: many}\n", SP_ERR_USAGE,
                 "count", "line: 5");
}

static void test_semantic_errors_name_the_key(void **state)
{
    (void)state;
    expect_error("name: x\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: 0}\n", SP_ERR_USAGE,
                 "linear.seeds.count", "empty");
    expect_error("name: x\ndataset:\n  source: imdb\nencoder:\n  variants: [joint]\n  seeds: {first: 0, count: 1}\n"
                 "  d_model: 100\n  heads: 3\n", SP_ERR_USAGE, "encoder.heads", "divide");
    expect_error("name: x\ndataset:\n  source: imdb\nencoder:\n  variants: [joint, bert]\n  seeds: {first: 0, count: 1}\n",
                 SP_ERR_USAGE, "encoder.variants[1]", "bert");
    expect_error("name: x\ndataset:\n  source: web\nlinear:\n  seeds: {first: 0, count: 1}\n", SP_ERR_USAGE,
                 "dataset.source", "web");
    expect_error("name: x\ndataset:\n  source: table\nlinear:\n  seeds: {first: 0, count: 1}\n", SP_ERR_USAGE,
                 "dataset.input", NULL);
    expect_error("name: x\ndataset:\n  source: imdb\n", SP_ERR_USAGE, "nothing to train", NULL);
    expect_error("name: a/b\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: 1}\n", SP_ERR_USAGE,
                 "name 'a/b'", NULL);
    expect_error("name: x\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: 1}\n  lr_schedule: cosine\n",
                 SP_ERR_USAGE, "linear.lr_schedule", "cosine");
    expect_error("name: x\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: 1}\n  l2: [0.001, 0]\n",
                 SP_ERR_USAGE, "linear.l2[1]", "optimal");
    expect_error("name: x\ndataset:\n  source: imdb\nlinear:\n  seeds: {first: 0, count: 1}\n  init_std: -1\n",
                 SP_ERR_USAGE, "linear.init_std", NULL);
}

static void test_missing_file(void **state)
{
    (void)state;
    sp_sweep_config *c;
    assert_int_equal(sp_sweep_config_load("no-such-config.yaml", &c), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "no-such-config.yaml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config_resolves_defaults),
        cmocka_unit_test(test_resolved_config_round_trips),
        cmocka_unit_test(test_analysis_concepts_key),
        cmocka_unit_test(test_floats_written_shortest_and_exact),
        cmocka_unit_test(test_unknown_key_names_key_and_line),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_semantic_errors_name_the_key),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
