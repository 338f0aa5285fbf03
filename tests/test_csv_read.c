/* test_csv_read.c: the RFC 4180 table reader: quoting (commas, doubled quotes, line breaks inside fields),
 * CRLF, blank lines, numbers (nan/inf/empty), columns by name, and errors that name file, line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "csv_read.h"

static sp_csv_table *parse_ok(const char *text)
{
    sp_csv_table *t = NULL;
    assert_int_equal(sp_csv_table_parse(&t, "t.csv", text, strlen(text)), SP_OK);
    return t;
}

static void parse_fails(const char *text, const char *message)
{
    sp_csv_table *t = NULL;
    assert_int_equal(sp_csv_table_parse(&t, "t.csv", text, strlen(text)), SP_ERR_INPUT);
    assert_null(t);
    if (!strstr(sp_error_message(), message)) fail_msg("message '%s' lacks '%s'", sp_error_message(), message);
}

static void test_quoting_and_line_ends(void **state)
{
    (void)state;
    sp_csv_table *t = parse_ok("name,\"a, b\",c\r\n\"x \"\"y\"\"\",\"two\nlines\",\r\n\r\n\n3,,\"\"\n");
    assert_int_equal(sp_csv_table_columns(t), 3);
    assert_int_equal(sp_csv_table_rows(t), 2);
    assert_string_equal(sp_csv_table_column_name(t, 1), "a, b");
    assert_string_equal(sp_csv_table_cell(t, 0, 0), "x \"y\"");
    assert_string_equal(sp_csv_table_cell(t, 0, 1), "two\nlines");
    assert_string_equal(sp_csv_table_cell(t, 0, 2), "");
    assert_string_equal(sp_csv_table_cell(t, 1, 0), "3");
    assert_int_equal(sp_csv_table_line(t, 0), 2);
    assert_int_equal(sp_csv_table_line(t, 1), 6); /* the quoted line break and two blank lines counted */
    size_t c;
    assert_int_equal(sp_csv_table_column(t, "c", &c), SP_OK);
    assert_int_equal(c, 2);
    assert_true(sp_csv_table_has(t, "a, b"));
    assert_false(sp_csv_table_has(t, "a"));
    sp_csv_table_free(t);
    /* No final newline. */
    t = parse_ok("a,b\n1,2");
    assert_int_equal(sp_csv_table_rows(t), 1);
    assert_string_equal(sp_csv_table_cell(t, 0, 1), "2");
    sp_csv_table_free(t);
}

static void test_numbers(void **state)
{
    (void)state;
    sp_csv_table *t = parse_ok("v\n0.25\nnan\ninf\n-inf\n\"\"\n1e-320\n12abc\n");
    double v;
    assert_int_equal(sp_csv_table_f64(t, 0, 0, &v), SP_OK);
    assert_float_equal(v, 0.25, 0);
    assert_int_equal(sp_csv_table_f64(t, 1, 0, &v), SP_OK);
    assert_true(isnan(v));
    assert_int_equal(sp_csv_table_f64(t, 2, 0, &v), SP_OK);
    assert_true(isinf(v) && v > 0);
    assert_int_equal(sp_csv_table_f64(t, 3, 0, &v), SP_OK);
    assert_true(isinf(v) && v < 0);
    assert_int_equal(sp_csv_table_f64(t, 4, 0, &v), SP_OK);
    assert_true(isnan(v));
    assert_int_equal(sp_csv_table_f64(t, 5, 0, &v), SP_OK);
    assert_true(v > 0 && v < 1e-300);
    assert_int_equal(sp_csv_table_f64(t, 6, 0, &v), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "t.csv:8: column 'v': '12abc' is not a number"));
    sp_csv_table_free(t);
}

static void test_errors_name_file_line_column(void **state)
{
    (void)state;
    parse_fails("a,b\n1,\"open\n", "t.csv:2: quoted field never closed");
    parse_fails("a,b\n1,2,3\n", "t.csv:2: 3 fields where the header has 2 columns");
    parse_fails("a,b\n1,\"x\"y\n", "t.csv:2: text after a closing quote");
    parse_fails("a,b\n1,x\"y\"\n", "t.csv:2: a quote inside an unquoted field");
    parse_fails("", "t.csv:1: no header row");
    parse_fails("\n\r\n", "t.csv:1: no header row");
    sp_csv_table *t = parse_ok("a,b\n");
    assert_int_equal(sp_csv_table_rows(t), 0);
    size_t c;
    assert_int_equal(sp_csv_table_column(t, "accuracy", &c), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "t.csv: no column 'accuracy'"));
    sp_csv_table_free(t);
    assert_int_equal(sp_csv_table_read(&t, "no-such-dir/x.csv"), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), "no-such-dir/x.csv"));
}

/* Round trip with the writer: awkward fields come back byte for byte, numbers to the written precision. */
static void test_round_trip_with_writer(void **state)
{
    (void)state;
    static const char *const cols[3] = {"variant", "text", "value"};
    static const char *const texts[3] = {"plain", "comma, \"quote\"\nnewline\r\n", ""};
    sp_csv *w = NULL;
    assert_int_equal(sp_csv_open(&w, "csv-read-roundtrip.csv", cols, 3), SP_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sp_csv_str(w, "v"), SP_OK);
        assert_int_equal(sp_csv_str(w, texts[i]), SP_OK);
        assert_int_equal(sp_csv_f64(w, i == 2 ? NAN : 1.0 / (i + 3)), SP_OK);
        assert_int_equal(sp_csv_end_row(w), SP_OK);
    }
    assert_int_equal(sp_csv_commit(w), SP_OK);
    sp_csv_table *t = NULL;
    assert_int_equal(sp_csv_table_read(&t, "csv-read-roundtrip.csv"), SP_OK);
    assert_int_equal(sp_csv_table_rows(t), 3);
    for (size_t r = 0; r < 3; r++) {
        assert_string_equal(sp_csv_table_cell(t, r, 1), texts[r]);
        double v;
        assert_int_equal(sp_csv_table_f64(t, r, 2, &v), SP_OK);
        if (r == 2) assert_true(isnan(v));
        else assert_float_equal(v, 1.0 / ((double)r + 3), 1e-10);
    }
    sp_csv_table_free(t);
    remove("csv-read-roundtrip.csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting_and_line_ends),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_errors_name_file_line_column),
        cmocka_unit_test(test_round_trip_with_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
