/* test_fsutil.c: sorted directory listings (sp_dir_list): which names are listed for a suffix, their byte
 * order whatever the creation order, links followed, and the error for a directory that cannot be listed. */
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

#include "fsutil.h"

#define DIR_ "fsutil-test"

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

static void test_dir_list_suffix_order_and_kinds(void **state)
{
    (void)state;
    assert_int_equal(system("rm -rf " DIR_ " && mkdir " DIR_), 0);
    /* listed: regular files and links to them, whose name is longer than the suffix */
    touch(DIR_ "/b.csv");
    touch(DIR_ "/B.csv");
    touch(DIR_ "/a-10.csv");
    touch(DIR_ "/a-9.csv");
    assert_int_equal(symlink("b.csv", DIR_ "/link.csv"), 0);
    /* not listed: hidden, the bare suffix, another suffix, the suffix inside the name, a directory, a dangling
     * link */
    touch(DIR_ "/.hidden.csv");
    touch(DIR_ "/.csv");
    touch(DIR_ "/c.csv.tmp");
    touch(DIR_ "/csv");
    assert_int_equal(mkdir(DIR_ "/sub.csv", 0755), 0);
    assert_int_equal(symlink("missing", DIR_ "/dangling.csv"), 0);

    char **names = NULL;
    size_t n = 0;
    assert_int_equal(sp_dir_list(&names, &n, DIR_, ".csv"), SP_OK);
    static const char *const want[5] = {"B.csv", "a-10.csv", "a-9.csv", "b.csv", "link.csv"}; /* strcmp order */
    assert_int_equal(n, 5);
    for (size_t k = 0; k < 5; k++) assert_string_equal(names[k], want[k]);
    sp_strlist_free(names, n);

    assert_int_equal(sp_dir_list(&names, &n, DIR_, ".tmp"), SP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "c.csv.tmp");
    sp_strlist_free(names, n);

    assert_int_equal(sp_dir_list(&names, &n, DIR_, ".json"), SP_OK);
    assert_int_equal(n, 0);
    assert_null(names);
    sp_strlist_free(NULL, 0);
    assert_int_equal(system("rm -rf " DIR_), 0);
}

static void test_dir_list_missing_directory(void **state)
{
    (void)state;
    char **names = (char **)1;
    size_t n = 7;
    assert_int_equal(sp_dir_list(&names, &n, "fsutil-no-such-dir", ".csv"), SP_ERR_INPUT);
    assert_null(names);
    assert_int_equal(n, 0);
    assert_string_equal(sp_error_message(), "cannot list fsutil-no-such-dir: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_list_suffix_order_and_kinds),
        cmocka_unit_test(test_dir_list_missing_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
