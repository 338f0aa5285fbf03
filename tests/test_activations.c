/* test_activations.c: the activation loader reads what the store writer wrote, in network layer order, and
 * refuses model files that were not run on the same inputs, lack a layer or hold NaN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "activations.h"
#include "store.h"

#define TEST_DIR "test_activations.tmp"
enum { N = 7 };

/* Value written at (model, layer, row, column): distinct everywhere, so a mix-up shows. */
static float value(int model, int layer, size_t i, size_t j)
{
    return (float)(1000 * model + 100 * layer + 10 * (double)i + (double)j * 0.5);
}

/* A model file with layers block10, emb, block2 (cls; widths 3, 2, 4) and block0 (mean) on splits test
 * and ood-x. row_shift changes /rows/test; nan_at >= 0 puts a NaN in emb_cls row nan_at. */
static void write_model(const char *path, int model, int64_t row_shift, int nan_at, int skip_block2)
{
    static const char *names[3] = {"block10", "emb", "block2"};
    static const size_t widths[3] = {3, 2, 4};
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-model", &w), SP_OK);
    float buf[N * 4];
    const char *splits[2] = {"test", "ood-x"};
    for (int s = 0; s < 2; s++) {
        for (int l = 0; l < 3; l++) {
            if (skip_block2 && l == 2) continue;
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < widths[l]; j++) buf[i * widths[l] + j] = value(model, l, i, j);
            if (nan_at >= 0 && l == 1) buf[nan_at * widths[l]] = NAN;
            char dset[128];
            snprintf(dset, sizeof dset, "/activations/%s/%s_cls", splits[s], names[l]);
            hsize_t dims[2] = {N, widths[l]};
            assert_int_equal(sp_store_write_f32(w, dset, 2, dims, buf, 1), SP_OK);
        }
        char dset[128];
        snprintf(dset, sizeof dset, "/activations/%s/block0_mean", splits[s]);
        hsize_t dims[2] = {N, 1};
        assert_int_equal(sp_store_write_f32(w, dset, 2, dims, buf, 0), SP_OK);
        int64_t rows[N];
        for (size_t i = 0; i < N; i++) rows[i] = 40 + (int64_t)i + (s == 0 ? row_shift * (i == 3) : 0);
        snprintf(dset, sizeof dset, "/rows/%s", splits[s]);
        hsize_t rdims[1] = {N};
        assert_int_equal(sp_store_write_i64(w, dset, 1, rdims, rows, 0), SP_OK);
    }
    assert_int_equal(sp_store_commit(w), SP_OK);
}

static int setup(void **state)
{
    (void)state;
    mkdir(TEST_DIR, 0755);
    write_model(TEST_DIR "/m0.h5", 0, 0, -1, 0);
    write_model(TEST_DIR "/m1.h5", 1, 0, -1, 0);
    write_model(TEST_DIR "/m2.h5", 2, 0, -1, 0);
    write_model(TEST_DIR "/shifted.h5", 3, 5, -1, 0);
    write_model(TEST_DIR "/nan.h5", 4, 0, 2, 0);
    write_model(TEST_DIR "/short.h5", 5, 0, -1, 1);
    return 0;
}

static void test_loads_in_network_order(void **state)
{
    (void)state;
    const char *paths[3] = {TEST_DIR "/m0.h5", TEST_DIR "/m1.h5", TEST_DIR "/m2.h5"};
    sp_activation_set *s = NULL;
    assert_int_equal(sp_activations_load(&s, paths, 3, "test", "cls", NULL, 0), SP_OK);
    assert_int_equal(s->n, N);
    assert_int_equal(s->n_layers, 3);
    assert_int_equal(s->n_models, 3);
    assert_string_equal(s->layers[0], "emb");
    assert_string_equal(s->layers[1], "block2");
    assert_string_equal(s->layers[2], "block10");
    const int written_index[3] = {1, 2, 0}; /* emb, block2, block10 in write order */
    const size_t widths[3] = {2, 4, 3};
    for (size_t l = 0; l < 3; l++)
        for (int m = 0; m < 3; m++) {
            assert_int_equal(s->dims[l * 3 + m], widths[l]);
            const float *x = s->acts[l * 3 + m];
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < widths[l]; j++)
                    assert_true(x[i * widths[l] + j] == value(m, written_index[l], i, j));
        }
    assert_non_null(s->rows);
    assert_int_equal(s->rows[3], 43);
    sp_activations_free(s);
    const char *only[1] = {"block0"};
    assert_int_equal(sp_activations_load(&s, paths, 2, "ood-x", "mean", only, 1), SP_OK);
    assert_int_equal(s->n_layers, 1);
    assert_int_equal(s->dims[1], 1);
    sp_activations_free(s);
}

static void test_lists_splits(void **state)
{
    (void)state;
    hid_t f;
    assert_int_equal(sp_store_open(TEST_DIR "/m0.h5", "splinter-model", &f), SP_OK);
    char **splits;
    size_t n;
    assert_int_equal(sp_activations_list_splits(&splits, &n, f), SP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(splits[0], "ood-x");
    assert_string_equal(splits[1], "test");
    for (size_t i = 0; i < n; i++) free(splits[i]);
    free(splits);
    char **layers;
    assert_int_equal(sp_activations_list_layers(&layers, &n, f, "nope", "cls"), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "/activations/nope"));
    H5Fclose(f);
}

static void test_refuses_mismatched_files(void **state)
{
    (void)state;
    sp_activation_set *s = NULL;
    const char *shifted[2] = {TEST_DIR "/m0.h5", TEST_DIR "/shifted.h5"};
    assert_int_equal(sp_activations_load(&s, shifted, 2, "test", "cls", NULL, 0), SP_ERR_INPUT);
    assert_null(s);
    assert_non_null(strstr(sp_error_message(), "shifted.h5: /rows/test[3]"));
    assert_non_null(strstr(sp_error_message(), "same inputs"));
    /* The OOD rows of that file agree, so that split loads. */
    assert_int_equal(sp_activations_load(&s, shifted, 2, "ood-x", "cls", NULL, 0), SP_OK);
    sp_activations_free(s);
    const char *nan[2] = {TEST_DIR "/m0.h5", TEST_DIR "/nan.h5"};
    assert_int_equal(sp_activations_load(&s, nan, 2, "test", "cls", NULL, 0), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "nan.h5: /activations/test/emb_cls has a non-finite value at row 2"));
    const char *shorter[2] = {TEST_DIR "/m0.h5", TEST_DIR "/short.h5"};
    assert_int_equal(sp_activations_load(&s, shorter, 2, "test", "cls", NULL, 0), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "short.h5: missing dataset /activations/test/block2_cls"));
    const char *missing[1] = {TEST_DIR "/absent.h5"};
    assert_int_equal(sp_activations_load(&s, missing, 1, "test", "cls", NULL, 0), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "absent.h5"));
    const char *one[1] = {TEST_DIR "/m0.h5"};
    assert_int_equal(sp_activations_load(&s, one, 1, "test", "max", NULL, 0), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "pooling 'max'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_in_network_order),
        cmocka_unit_test(test_lists_splits),
        cmocka_unit_test(test_refuses_mismatched_files),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
