/* test_sparse.c: CSR construction, validation, row selection, concatenation and X @ W known answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sparse.h"

/* [[0, 2, 0, 1], [0, 0, 0, 0], [3, 0, 0, 0]] */
static sp_csr *make_example(void)
{
    sp_csr *X = sp_csr_alloc(4, 1); /* capacity 1 forces growth */
    assert_non_null(X);
    int32_t c0[2] = {1, 3}, c2[1] = {0};
    float v0[2] = {2.0f, 1.0f}, v2[1] = {3.0f};
    assert_int_equal(sp_csr_append_row(X, c0, v0, 2), SP_OK);
    assert_int_equal(sp_csr_append_row(X, NULL, NULL, 0), SP_OK);
    assert_int_equal(sp_csr_append_row(X, c2, v2, 1), SP_OK);
    return X;
}

static void test_build_and_layout(void **state)
{
    (void)state;
    sp_csr *X = make_example();
    assert_int_equal(X->n_rows, 3);
    assert_int_equal(sp_csr_nnz(X), 3);
    int64_t ptr[4] = {0, 2, 2, 3};
    assert_memory_equal(X->row_ptr, ptr, sizeof ptr);
    assert_int_equal(X->col[0], 1);
    assert_int_equal(X->col[2], 0);
    assert_true(X->val[2] == 3.0f);
    /* many rows: growth keeps earlier rows intact */
    for (int i = 0; i < 1000; i++) {
        int32_t c[2] = {0, i % 3 + 1};
        float v[2] = {(float)i, 1.0f};
        assert_int_equal(sp_csr_append_row(X, c, v, 2), SP_OK);
    }
    assert_int_equal(X->n_rows, 1003);
    assert_int_equal(sp_csr_nnz(X), 2003);
    assert_true(X->val[3 + 2 * 999] == 999.0f);
    assert_int_equal(X->col[1], 3);
    sp_csr_free(X);
}

static void test_rejects_bad_rows(void **state)
{
    (void)state;
    sp_csr *X = make_example();
    int32_t unsorted[2] = {3, 1}, dup[2] = {2, 2}, out[1] = {4}, neg[1] = {-1};
    float v[2] = {1.0f, 1.0f};
    assert_int_equal(sp_csr_append_row(X, unsorted, v, 2), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "not above"));
    assert_int_equal(sp_csr_append_row(X, dup, v, 2), SP_ERR_INPUT);
    assert_int_equal(sp_csr_append_row(X, out, v, 1), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "outside [0, 4)"));
    assert_int_equal(sp_csr_append_row(X, neg, v, 1), SP_ERR_INPUT);
    assert_int_equal(X->n_rows, 3); /* unchanged */
    assert_null(sp_csr_alloc(0, 10));
    sp_csr_free(X);
}

static void test_matmul_known_answer(void **state)
{
    (void)state;
    sp_csr *X = make_example();
    float W[4 * 2] = {1, -1, 0.5f, 2, 7, 7, -3, 0.25f}; /* [4, 2] */
    float b[2] = {0.125f, -1};
    float out[3 * 2];
    sp_csr_matmul(out, X, W, b, 2);
    /* row 0: 2*[0.5,2] + 1*[-3,0.25] + b = [-2+0.125, 4.25-1]; row 1: b; row 2: 3*[1,-1] + b */
    float want[6] = {-1.875f, 3.25f, 0.125f, -1.0f, 3.125f, -4.0f};
    for (int i = 0; i < 6; i++) assert_true(out[i] == want[i]);
    sp_csr_matmul(out, X, W, NULL, 2);
    assert_true(out[2] == 0.0f && out[3] == 0.0f);
    sp_csr_free(X);
}

static void test_select_and_append(void **state)
{
    (void)state;
    sp_csr *X = make_example(), *S = NULL;
    size_t rows[4] = {2, 0, 2, 1};
    assert_int_equal(sp_csr_select_rows(&S, X, rows, 4), SP_OK);
    assert_int_equal(S->n_rows, 4);
    int64_t ptr[5] = {0, 1, 3, 4, 4};
    assert_memory_equal(S->row_ptr, ptr, sizeof ptr);
    assert_int_equal(S->col[1], 1);
    assert_true(S->val[3] == 3.0f);
    size_t bad = 3;
    sp_csr *T = NULL;
    assert_int_equal(sp_csr_select_rows(&T, X, &bad, 1), SP_ERR_STATE);
    assert_null(T);
    assert_int_equal(sp_csr_append(X, S), SP_OK);
    assert_int_equal(X->n_rows, 7);
    assert_int_equal(X->row_ptr[7], 7);
    assert_int_equal(X->row_ptr[4], 4);
    assert_int_equal(X->col[4], 1); /* appended row 1 of S = original row 0 */
    sp_csr *narrow = sp_csr_alloc(3, 0);
    assert_int_equal(sp_csr_append(X, narrow), SP_ERR_STATE);
    sp_csr_free(narrow);
    sp_csr_free(S);
    sp_csr_free(X);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_layout),
        cmocka_unit_test(test_rejects_bad_rows),
        cmocka_unit_test(test_matmul_known_answer),
        cmocka_unit_test(test_select_and_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
