/* run_test_util.h: fixtures for the tests that build a run directory by hand: an empty RUN/models, and one
 * split's predictions and dataset rows in a model file being written (the layout of core/store.h).
 * Include after <cmocka.h>: a failed step fails the calling test.
 *
 *     test_fresh_run("my-run");                                  // my-run/models, nothing else
 *     test_write_split(w, "test", prob, rows, n, 2);             // /predictions/test, /rows/test
 */
#ifndef SPLINTER_RUN_TEST_UTIL_H
#define SPLINTER_RUN_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

/* An empty run directory holding only an empty models/ (whatever an earlier run left there is removed). */
static inline void test_fresh_run(const char *run)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/models'", run, run);
    assert_int_equal(system(cmd), 0);
}

/* /predictions/<split> = prob and /rows/<split> = rows, uncompressed.
 * prob: [n, C] class probabilities; rows: [n] the dataset row of each prediction. */
static inline void test_write_split(sp_store_writer *w, const char *split, const float *prob, const int64_t *rows,
                                    size_t n, size_t C)
{
    char path[160];
    hsize_t d2[2] = {n, C}, d1[1] = {n};
    snprintf(path, sizeof path, "/predictions/%s", split);
    assert_int_equal(sp_store_write_f32(w, path, 2, d2, prob, 0), SP_OK);
    snprintf(path, sizeof path, "/rows/%s", split);
    assert_int_equal(sp_store_write_i64(w, path, 1, d1, rows, 0), SP_OK);
}

#endif
