/* test_outputs.c: removal of optional RUN/analysis/ files (analysis/outputs.h): each group removes exactly its
 * names and nothing else, absent files are fine, a name that cannot be removed fails naming it, and stale
 * pairwise_<split>.csv files are recognised by splinter's header (others are kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outputs.h"

#define DIR_ "outputs-test-dir"

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, DIR_ "/%s", name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, DIR_ "/%s", name);
    return access(path, F_OK) == 0;
}

static void fresh_dir(void)
{
    assert_int_equal(system("rm -rf " DIR_), 0);
    assert_int_equal(mkdir(DIR_, 0755), 0);
}

static size_t count(const char *const *names)
{
    size_t n = 0;
    while (names[n]) n++;
    return n;
}

static void test_groups(void **state)
{
    (void)state;
    const char *const *ex = sp_outputs_names(SP_OUTPUTS_EXACT), *const *co = sp_outputs_names(SP_OUTPUTS_CONCEPTS);
    const char *const *fe = sp_outputs_names(SP_OUTPUTS_FEATURES);
    assert_int_equal(count(ex), 2);
    assert_int_equal(count(co), 4);
    assert_int_equal(count(fe), 11);
    /* The feature group holds the concept files too: a run without features has no concept probes either. */
    for (size_t i = 0; co[i]; i++) {
        int found = 0;
        for (size_t j = 0; fe[j]; j++) found |= strcmp(co[i], fe[j]) == 0;
        assert_true(found);
    }
    fresh_dir();
    const char *keep[] = {"analysis.h5", "models.csv", "variants.csv", "similarity.csv", "notes.txt"};
    for (size_t i = 0; i < 5; i++) put(keep[i], "x\n");
    for (size_t i = 0; ex[i]; i++) put(ex[i], "x\n");
    for (size_t i = 0; co[i]; i++) put(co[i], "x\n");
    assert_int_equal(sp_outputs_remove(DIR_, SP_OUTPUTS_EXACT), SP_OK);
    for (size_t i = 0; ex[i]; i++) assert_false(exists(ex[i]));
    for (size_t i = 0; co[i]; i++) assert_true(exists(co[i]));
    assert_int_equal(sp_outputs_remove(DIR_, SP_OUTPUTS_CONCEPTS), SP_OK);
    for (size_t i = 0; co[i]; i++) assert_false(exists(co[i]));
    for (size_t i = 0; i < 5; i++) assert_true(exists(keep[i]));
    /* Again, with nothing left to remove; and a directory that does not exist. */
    assert_int_equal(sp_outputs_remove(DIR_, SP_OUTPUTS_CONCEPTS), SP_OK);
    assert_int_equal(sp_outputs_remove(DIR_ "/missing", SP_OUTPUTS_FEATURES), SP_OK);
    assert_int_equal(sp_outputs_remove(DIR_, SP_OUTPUTS_FEATURES), SP_OK);
    assert_false(exists("similarity.csv"));
    assert_true(exists("notes.txt") && exists("models.csv") && exists("analysis.h5"));
}

static void test_unremovable_fails(void **state)
{
    (void)state;
    fresh_dir();
    /* A non-empty directory under an output's name cannot be removed: the stale name must not pass silently. */
    assert_int_equal(mkdir(DIR_ "/exact_summary.csv", 0755), 0);
    put("exact_summary.csv/inside", "x\n");
    assert_int_equal(sp_outputs_remove(DIR_, SP_OUTPUTS_EXACT), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), DIR_ "/exact_summary.csv"));
    assert_non_null(strstr(sp_error_message(), "remove it by hand"));
}

static void test_pairwise(void **state)
{
    (void)state;
    fresh_dir();
    const char *header = "variant,model_a,model_b,disagreement\n";
    put("pairwise_test.csv", header);
    put("pairwise_ood-a.csv", header);
    put("pairwise_ood-old.csv", "variant,model_a,model_b,disagreement\r\nv,a,b,0.5\r\n"); /* CRLF */
    put("pairwise_mine.csv", "variant,model_a,score\n");
    put("pairwise_.csv", header);  /* no split name: not a name splinter writes */
    put("pairwise_x.txt", header);
    put("pairwise_empty.csv", "");
    const char *keep[] = {"pairwise_test.csv", "pairwise_ood-a.csv"};
    assert_int_equal(sp_outputs_remove_pairwise(DIR_, keep, 2), SP_OK);
    assert_true(exists("pairwise_test.csv") && exists("pairwise_ood-a.csv"));
    assert_false(exists("pairwise_ood-old.csv"));
    assert_true(exists("pairwise_mine.csv") && exists("pairwise_.csv") && exists("pairwise_x.txt") &&
                exists("pairwise_empty.csv"));
    /* Nothing kept: every file with the header goes. */
    assert_int_equal(sp_outputs_remove_pairwise(DIR_, NULL, 0), SP_OK);
    assert_false(exists("pairwise_test.csv") || exists("pairwise_ood-a.csv"));
    assert_int_equal(sp_outputs_remove_pairwise(DIR_ "/missing", NULL, 0), SP_OK);
    assert_int_equal(system("rm -rf " DIR_), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_unremovable_fails),
        cmocka_unit_test(test_pairwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
