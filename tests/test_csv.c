/* test_csv.c: RFC 4180 quoting, fixed field counts, and atomic writing (.tmp until commit, nothing left on
 * abort). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

#define DIR_ "test_csv_tmp"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_quoting_and_atomic_commit(void **state)
{
    (void)state;
    (void)system("rm -rf " DIR_ " && mkdir -p " DIR_);
    static const char *const cols[] = {"name", "value", "n"};
    sp_csv *csv = NULL;
    assert_int_equal(sp_csv_open(&csv, DIR_ "/a.csv", cols, 3), SP_OK);
    assert_int_equal(access(DIR_ "/a.csv", F_OK), -1); /* nothing under the final name yet */
    assert_int_equal(access(DIR_ "/a.csv.tmp", F_OK), 0);
    assert_int_equal(sp_csv_str(csv, "plain"), SP_OK);
    assert_int_equal(sp_csv_f64(csv, 0.25), SP_OK);
    assert_int_equal(sp_csv_i64(csv, -3), SP_OK);
    assert_int_equal(sp_csv_end_row(csv), SP_OK);
    assert_int_equal(sp_csv_str(csv, "a,b \"q\"\nline"), SP_OK);
    assert_int_equal(sp_csv_f64(csv, NAN), SP_OK);
    assert_int_equal(sp_csv_f64(csv, 1.0 / 3.0), SP_OK);
    assert_int_equal(sp_csv_end_row(csv), SP_OK);
    /* a short row is refused */
    assert_int_equal(sp_csv_str(csv, "x"), SP_OK);
    assert_int_equal(sp_csv_end_row(csv), SP_ERR_STATE);
    assert_int_equal(sp_csv_str(csv, "y"), SP_OK);
    assert_int_equal(sp_csv_str(csv, "z"), SP_OK);
    assert_int_equal(sp_csv_str(csv, "too many"), SP_ERR_STATE);
    assert_int_equal(sp_csv_end_row(csv), SP_OK);
    assert_int_equal(sp_csv_commit(csv), SP_OK);
    assert_int_equal(access(DIR_ "/a.csv.tmp", F_OK), -1);
    assert_string_equal(slurp(DIR_ "/a.csv"), "name,value,n\nplain,0.25,-3\n\"a,b \"\"q\"\"\nline\",nan,0.3333333333\n"
                                              "x,y,z\n");
    /* pandas reads it back with the embedded comma, quotes and newline */
    assert_int_equal(system("/usr/bin/python3 -c \"import pandas as pd; d = pd.read_csv('" DIR_ "/a.csv'); "
                            "assert d['name'][1] == 'a,b \\\"q\\\"\\nline', d; assert d['value'].isna()[1]\""),
                     0);
}

static void test_abort_and_bad_directory(void **state)
{
    (void)state;
    (void)system("mkdir -p " DIR_);
    static const char *const cols[] = {"a"};
    sp_csv *csv = NULL;
    assert_int_equal(sp_csv_open(&csv, DIR_ "/b.csv", cols, 1), SP_OK);
    assert_int_equal(sp_csv_str(csv, "1"), SP_OK);
    sp_csv_abort(csv);
    assert_int_equal(access(DIR_ "/b.csv.tmp", F_OK), -1);
    assert_int_equal(access(DIR_ "/b.csv", F_OK), -1);
    assert_int_equal(sp_csv_open(&csv, DIR_ "/no/such/dir/c.csv", cols, 1), SP_ERR_IO);
    assert_null(csv);
    assert_non_null(strstr(sp_error_message(), "c.csv.tmp"));
    /* an unfinished row is not committed */
    assert_int_equal(sp_csv_open(&csv, DIR_ "/d.csv", (const char *const[]){"a", "b"}, 2), SP_OK);
    assert_int_equal(sp_csv_str(csv, "1"), SP_OK);
    assert_int_equal(sp_csv_commit(csv), SP_ERR_STATE);
    assert_int_equal(access(DIR_ "/d.csv", F_OK), -1);
    assert_int_equal(access(DIR_ "/d.csv.tmp", F_OK), -1);
    (void)system("rm -rf " DIR_);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting_and_atomic_commit),
        cmocka_unit_test(test_abort_and_bad_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
