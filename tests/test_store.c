/* test_store.c: the HDF5 store writes what it is given, commits atomically, and refuses bad files.
 * Values written here are read back in C and, independently, by h5py (tests/ref/read_store.py). */
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

#include "store.h"

#define TEST_DIR "store-test"

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

static sp_status write_sample(const char *path)
{
    sp_store_writer *w = NULL;
    sp_status st = sp_store_create(path, "splinter-test", &w);
    if (st != SP_OK) return st;
    const float probs[6] = {0.25f, 0.75f, 1.0f, 0.0f, 0.5f, 0.5f};
    hsize_t pd[2] = {3, 2};
    float *act = malloc(sizeof(float) * 3 * 70000);
    for (int i = 0; i < 3 * 70000; i++) act[i] = (float)i / 7.0f;
    hsize_t ad[2] = {3, 70000};
    const int64_t rows[3] = {5, 9, (int64_t)1 << 40};
    hsize_t rd[1] = {3};
    const int32_t i32[3] = {-1, 0, 2147483647};
    const uint8_t u8[2] = {0, 255};
    hsize_t ud[1] = {2};
    const double curve[2] = {2.5, 1e-300};
    char *text[3] = {"hello", "", "\xc3\xbc" "ber \xe2\x98\x83"};
    if ((st = sp_store_attr_str(w, "/", "name", "caf\xc3\xa9 model")) != SP_OK ||
        (st = sp_store_attr_i64(w, "/", "count", -7)) != SP_OK ||
        (st = sp_store_attr_u64(w, "/", "seed_init", UINT64_MAX)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/", "lr", 0.125)) != SP_OK ||
        (st = sp_store_write_f32(w, "/predictions/test", 2, pd, probs, 0)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/predictions/test", "accuracy", 0.5)) != SP_OK ||
        (st = sp_store_write_f32(w, "/activations/test/block0_cls", 2, ad, act, 1)) != SP_OK ||
        (st = sp_store_write_i64(w, "/rows/test", 1, rd, rows, 0)) != SP_OK ||
        (st = sp_store_write_i32(w, "/weights/i32", 1, rd, i32, 0)) != SP_OK ||
        (st = sp_store_write_u8(w, "/weights/u8", 1, ud, u8, 0)) != SP_OK ||
        (st = sp_store_write_f64(w, "/curves/loss", 1, ud, curve, 0)) != SP_OK ||
        (st = sp_store_write_strings(w, "/text", 3, text)) != SP_OK) {
        free(act);
        sp_store_abort(w);
        return st;
    }
    free(act);
    return sp_store_commit(w);
}

static void test_roundtrip_in_c(void **state)
{
    (void)state;
    const char *path = TEST_DIR "/roundtrip.h5";
    assert_int_equal(write_sample(path), SP_OK);
    assert_true(file_exists(path));
    assert_false(file_exists(TEST_DIR "/roundtrip.h5.tmp"));
    assert_true(sp_store_is_complete(path, "splinter-test"));
    assert_false(sp_store_is_complete(path, "splinter-model"));

    hid_t f;
    assert_int_equal(sp_store_open(path, "splinter-test", &f), SP_OK);
    int rank;
    hsize_t dims[4];
    float *p;
    assert_int_equal(sp_store_read_f32(f, "/predictions/test", &rank, dims, &p), SP_OK);
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], 3);
    assert_int_equal(dims[1], 2);
    assert_true(p[1] == 0.75f && p[4] == 0.5f);
    free(p);
    int64_t *rows;
    assert_int_equal(sp_store_read_i64(f, "/rows/test", &rank, dims, &rows), SP_OK);
    assert_int_equal(rows[2], (int64_t)1 << 40);
    free(rows);
    double *curve;
    assert_int_equal(sp_store_read_f64(f, "/curves/loss", &rank, dims, &curve), SP_OK);
    assert_true(curve[0] == 2.5 && curve[1] == 1e-300);
    free(curve);
    char *name;
    assert_int_equal(sp_store_read_attr_str(f, "/", "name", &name), SP_OK);
    assert_string_equal(name, "caf\xc3\xa9 model");
    free(name);
    uint64_t seed;
    assert_int_equal(sp_store_read_attr_u64(f, "/", "seed_init", &seed), SP_OK);
    assert_true(seed == UINT64_MAX);
    double acc;
    assert_int_equal(sp_store_read_attr_f64(f, "/predictions/test", "accuracy", &acc), SP_OK);
    assert_true(acc == 0.5);
    size_t n;
    char **text;
    assert_int_equal(sp_store_read_strings(f, "/text", &n, &text), SP_OK);
    assert_int_equal(n, 3);
    assert_string_equal(text[0], "hello");
    assert_string_equal(text[1], "");
    assert_string_equal(text[2], "\xc3\xbc" "ber \xe2\x98\x83");
    for (size_t i = 0; i < n; i++) free(text[i]);
    free(text);
    assert_true(sp_store_exists(f, "/activations/test/block0_cls"));
    assert_false(sp_store_exists(f, "/activations/ood-x/block0_cls"));
    assert_int_equal(sp_store_read_f32(f, "/activations/ood-x/block0_cls", &rank, dims, &p), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "/activations/ood-x/block0_cls"));
    assert_int_equal(sp_store_read_attr_str(f, "/", "missing", &name), SP_ERR_INPUT);
    H5Fclose(f);
}

static void test_h5py_reads_the_same_values(void **state)
{
    (void)state;
    const char *path = TEST_DIR "/h5py.h5";
    assert_int_equal(write_sample(path), SP_OK);
    const char *src = getenv("SPLINTER_SRC");
    assert_non_null(src);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/read_store.py %s", src, path);
    assert_int_equal(system(cmd), 0);
}

static void test_abort_leaves_nothing(void **state)
{
    (void)state;
    const char *path = TEST_DIR "/aborted.h5";
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-test", &w), SP_OK);
    assert_true(file_exists(TEST_DIR "/aborted.h5.tmp"));
    sp_store_abort(w);
    assert_false(file_exists(TEST_DIR "/aborted.h5.tmp"));
    assert_false(file_exists(path));
}

static void test_incomplete_tmp_is_not_complete(void **state)
{
    (void)state;
    const char *path = TEST_DIR "/crashed.h5";
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-test", &w), SP_OK);
    H5Fflush(sp_store_file(w), H5F_SCOPE_GLOBAL);
    /* A crash here leaves only the .tmp file: readers neither see nor accept it. */
    assert_false(sp_store_is_complete(path, "splinter-test"));
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f;
    assert_int_equal(sp_store_open(tmp, "splinter-test", &f), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "incomplete"));
    sp_store_abort(w);
}

static void test_bad_files_are_refused_with_their_name(void **state)
{
    (void)state;
    hid_t f;
    const char *text = TEST_DIR "/not-hdf5.h5";
    FILE *fp = fopen(text, "w");
    fputs("this is not HDF5\n", fp);
    fclose(fp);
    assert_int_equal(sp_store_open(text, NULL, &f), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), text));
    assert_non_null(strstr(sp_error_message(), "not an HDF5 file"));

    /* A truncated copy of a good file. */
    const char *good = TEST_DIR "/good.h5", *cut = TEST_DIR "/truncated.h5";
    assert_int_equal(write_sample(good), SP_OK);
    FILE *in = fopen(good, "rb"), *out = fopen(cut, "wb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, n / 2, out);
    fclose(in);
    fclose(out);
    assert_int_equal(sp_store_open(cut, "splinter-test", &f), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), cut));

    assert_int_equal(sp_store_open(TEST_DIR "/does-not-exist.h5", NULL, &f), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "does-not-exist.h5"));
}

static void test_unwritable_directory(void **state)
{
    (void)state;
    sp_store_writer *w = NULL;
    assert_int_equal(sp_store_create(TEST_DIR "/no/such/dir/model.h5", "splinter-test", &w), SP_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(sp_error_message(), "no/such/dir/model.h5.tmp"));
    assert_non_null(strstr(sp_error_message(), "writable"));
}

static int setup(void **state)
{
    (void)state;
    (void)system("rm -rf " TEST_DIR);
    return mkdir(TEST_DIR, 0755);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_in_c),
        cmocka_unit_test(test_h5py_reads_the_same_values),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_incomplete_tmp_is_not_complete),
        cmocka_unit_test(test_bad_files_are_refused_with_their_name),
        cmocka_unit_test(test_unwritable_directory),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
