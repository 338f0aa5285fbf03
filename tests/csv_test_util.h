/* csv_test_util.h: looks up one number in a CSV output file, for tests that check what an analysis wrote.
 * Include after <cmocka.h>: a missing file, column or row fails the calling test.
 *
 *     const char *cols[2] = {"variant", "measure"}, *keys[2] = {"joint", "s_rep_cka"};
 *     double mean = test_csv_value(RUN "/analysis/splinter_variants.csv", 2, cols, keys, "mean");
 */
#ifndef SPLINTER_CSV_TEST_UTIL_H
#define SPLINTER_CSV_TEST_UTIL_H

#include <math.h>
#include <string.h>

#include "csv_read.h"

/* The value of column `col` in the first row of `file` whose key columns hold keys[0..nk): the columns named
 * kcols[0..nk), or, when kcols is NULL, the first nk columns in order. nk <= 8. */
static inline double test_csv_value(const char *file, int nk, const char *const *kcols, const char *const *keys,
                                    const char *col)
{
    sp_csv_table *t = NULL;
    if (sp_csv_table_read(&t, file) != SP_OK) fail_msg("%s", sp_error_message());
    size_t c, kc[8];
    assert_true(nk >= 0 && nk <= 8);
    if (sp_csv_table_column(t, col, &c) != SP_OK) fail_msg("%s", sp_error_message());
    for (int k = 0; k < nk; k++) {
        kc[k] = (size_t)k;
        if (kcols && sp_csv_table_column(t, kcols[k], &kc[k]) != SP_OK) fail_msg("%s", sp_error_message());
    }
    double v = NAN;
    int found = 0;
    for (size_t r = 0; r < sp_csv_table_rows(t) && !found; r++) {
        int k = 0;
        while (k < nk && strcmp(sp_csv_table_cell(t, r, kc[k]), keys[k]) == 0) k++;
        if (k == nk) {
            assert_int_equal(sp_csv_table_f64(t, r, c, &v), SP_OK);
            found = 1;
        }
    }
    sp_csv_table_free(t);
    if (!found) fail_msg("%s: no row with the given keys (column %s)", file, col);
    return v;
}

#endif
