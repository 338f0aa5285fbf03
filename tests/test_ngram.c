/* test_ngram.c: tokenisation, the documented hash, tf/binary weighting, l2 normalisation, thread invariance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngram.h"
#include "seeds.h"

/* |a - b| <= tol in double precision (cmocka's assert_float_equal works in float and casts only the first
 * token of an expression). Prints both operands on failure. */
#define assert_close(a, b, tol) assert_close_impl((double)(a), (double)(b), (double)(tol), #a, __FILE__, __LINE__)
static void assert_close_impl(double a, double b, double tol, const char *what, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%s = %.17g, expected %.17g within %g\n", what, a, b, tol);
        _fail(file, line);
    }
}

typedef struct {
    uint32_t ids[64];
    size_t n;
} collected;

static void collect(uint32_t id, void *ctx)
{
    collected *c = ctx;
    if (c->n < 64) c->ids[c->n++] = id;
}

static void test_hash_is_documented_formula(void **state)
{
    (void)state;
    /* splitmix64(fnv1a64(bytes)) mod 2^bits, with the functions of seeds.h */
    assert_int_equal(sp_ngram_hash("spam", 4, 18), (uint32_t)(sp_splitmix64(sp_fnv1a64("spam")) & 0x3ffff));
    assert_int_equal(sp_ngram_hash("free money", 10, 20),
                     (uint32_t)(sp_splitmix64(sp_fnv1a64("free money")) & 0xfffff));
    /* pinned values (computed independently in Python), so the feature space never changes silently */
    assert_int_equal(sp_ngram_hash("spam", 4, 18), 59644);
    assert_int_equal(sp_ngram_hash("free money", 10, 20), 857186);
    assert_int_equal(sp_ngram_hash("caf\xc3\xa9", 5, 18), 135225);
}

static void test_scan_tokens_and_bigrams(void **state)
{
    (void)state;
    sp_ngram_options o = sp_ngram_options_default();
    collected c = {0};
    /* case folded, punctuation splits, digits are word bytes, UTF-8 bytes stay in the word */
    size_t ntok = sp_ngram_scan("  Free MONEY!!  now,99 caf\xc3\xa9", &o, collect, &c);
    assert_int_equal(ntok, 5);
    const char *expect[] = {"free", "money", "free money", "now", "money now", "99", "now 99", "caf\xc3\xa9",
                            "99 caf\xc3\xa9"};
    assert_int_equal(c.n, 9);
    for (size_t i = 0; i < 9; i++) assert_int_equal(c.ids[i], sp_ngram_hash(expect[i], strlen(expect[i]), 18));
    o.bigrams = 0;
    c.n = 0;
    assert_int_equal(sp_ngram_scan("a b c", &o, collect, &c), 3);
    assert_int_equal(c.n, 3);
    c.n = 0;
    assert_int_equal(sp_ngram_scan("!!! ... ", &o, collect, &c), 0);
    assert_int_equal(c.n, 0);
}

static void test_featurize_tf_binary_norm(void **state)
{
    (void)state;
    char *texts[3] = {"a a b", NULL, "A. a; b"};
    sp_ngram_options o = sp_ngram_options_default();
    o.bits = 20;
    o.bigrams = 0;
    o.weighting = SP_NGRAM_TF;
    o.l2_normalize = 0;
    sp_csr *X = NULL;
    assert_int_equal(sp_ngram_featurize(&X, texts, 3, &o, 1), SP_OK);
    assert_int_equal(X->n_rows, 3);
    assert_int_equal(X->n_cols, 1u << 20);
    uint32_t ha = sp_ngram_hash("a", 1, 20), hb = sp_ngram_hash("b", 1, 20);
    assert_true(ha != hb);
    assert_int_equal(X->row_ptr[1] - X->row_ptr[0], 2);
    assert_int_equal(X->row_ptr[2], X->row_ptr[1]); /* NULL text: empty row */
    int ia = ha < hb ? 0 : 1; /* columns ascending */
    assert_int_equal(X->col[ia], (int32_t)ha);
    assert_true(X->val[ia] == 2.0f && X->val[1 - ia] == 1.0f);
    sp_csr_free(X);

    o.l2_normalize = 1;
    assert_int_equal(sp_ngram_featurize(&X, texts, 3, &o, 1), SP_OK);
    assert_close(X->val[ia], 2.0 / sqrt(5.0), 1e-6);
    assert_close(X->val[1 - ia], 1.0 / sqrt(5.0), 1e-6);
    sp_csr_free(X);

    o.weighting = SP_NGRAM_BINARY;
    o.bigrams = 1;
    assert_int_equal(sp_ngram_featurize(&X, texts, 3, &o, 1), SP_OK);
    /* "a a b": unigrams a, b; bigrams "a a", "a b": 4 distinct features of value 1/2 */
    assert_int_equal(X->row_ptr[1], 4);
    for (int j = 0; j < 4; j++) assert_close(X->val[j], 0.5, 1e-7);
    /* row 2 "A. a; b" has the same n-grams as row 0 */
    assert_memory_equal(X->col + X->row_ptr[2], X->col, 4 * sizeof *X->col);
    sp_csr_free(X);

    o.bits = 31;
    assert_int_equal(sp_ngram_featurize(&X, texts, 3, &o, 1), SP_ERR_USAGE);
    assert_null(X);
}

static void test_featurize_independent_of_threads(void **state)
{
    (void)state;
    enum { N = 301 };
    char *texts[N];
    const char *words[] = {"viagra", "meeting", "free", "the", "of", "cash", "tomorrow", "click", "here", "now"};
    for (int i = 0; i < N; i++) {
        texts[i] = malloc(512);
        assert_non_null(texts[i]);
        texts[i][0] = '\0';
        for (int k = 0; k < i % 37; k++) {
            strcat(texts[i], words[(i * 7 + k * 3) % 10]);
            strcat(texts[i], k % 4 ? " " : ", ");
        }
    }
    sp_ngram_options o = sp_ngram_options_default();
    sp_csr *a = NULL, *b = NULL;
    assert_int_equal(sp_ngram_featurize(&a, texts, N, &o, 1), SP_OK);
    assert_int_equal(sp_ngram_featurize(&b, texts, N, &o, 3), SP_OK);
    assert_int_equal(a->n_rows, N);
    assert_int_equal(sp_csr_nnz(a), sp_csr_nnz(b));
    assert_memory_equal(a->row_ptr, b->row_ptr, (N + 1) * sizeof *a->row_ptr);
    assert_memory_equal(a->col, b->col, sp_csr_nnz(a) * sizeof *a->col);
    assert_memory_equal(a->val, b->val, sp_csr_nnz(a) * sizeof *a->val);
    /* every non-empty row has unit norm */
    for (size_t r = 0; r < N; r++) {
        double ss = 0;
        for (int64_t j = a->row_ptr[r]; j < a->row_ptr[r + 1]; j++) ss += (double)a->val[j] * a->val[j];
        if (a->row_ptr[r + 1] > a->row_ptr[r]) assert_close(ss, 1.0, 1e-5);
    }
    sp_csr_free(a);
    sp_csr_free(b);
    for (int i = 0; i < N; i++) free(texts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_is_documented_formula),
        cmocka_unit_test(test_scan_tokens_and_bigrams),
        cmocka_unit_test(test_featurize_tf_binary_norm),
        cmocka_unit_test(test_featurize_independent_of_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
