/* test_tokenizer.c: the byte-level BPE: hand-computed merges, chunking rules, exact round trips over
 * arbitrary bytes, determinism, vocabulary bounds, fixed-length windows, HDF5 save/load (and tamper
 * detection), concurrent encoding, and exact parity with tests/ref/bpe_reference.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tokenizer.h"
#include "tokenizer_internal.h"

#define A 102 /* 'a' = 5 + 97 */
#define B 103
#define C 104
#define D 105
#define SP 37 /* ' ' = 5 + 32 */

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[sz] = '\0';
    *n = (size_t)sz;
    return buf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The real e-mails in $SPLINTER_FIXTURES/mail (files *.eml), sorted by name. */
typedef struct {
    char *text[32];
    size_t len[32];
    size_t n;
} corpus;

static void corpus_load_mail(corpus *c)
{
    const char *fx = getenv("SPLINTER_FIXTURES");
    assert_non_null(fx);
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/mail", fx);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[32];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0 && n < 32) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    assert_true(n >= 8);
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        c->text[i] = slurp(path, &c->len[i]);
        assert_non_null(c->text[i]);
        free(names[i]);
    }
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->text[i]);
}

static sp_tokenizer *train_one(const char *text, int vocab_size, int lowercase)
{
    sp_tokenizer_options o = {vocab_size, lowercase};
    sp_tokenizer *t = NULL;
    const char *texts[1] = {text};
    assert_int_equal(sp_tokenizer_train(texts, 1, &o, &t), SP_OK);
    return t;
}

/* Encodes and checks the ids against want[0..n). */
static void assert_encoding(const sp_tokenizer *t, const char *text, const int32_t *want, size_t n)
{
    int32_t ids[64];
    size_t got = sp_tokenizer_encode(t, text, strlen(text), ids, 64);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) assert_int_equal(ids[i], want[i]);
}

/* decode(encode(text)) == text byte for byte; every id a byte or a merge. */
static void assert_round_trip(const sp_tokenizer *t, const char *text, size_t len)
{
    size_t n = sp_tokenizer_encode(t, text, len, NULL, 0);
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    assert_int_equal(sp_tokenizer_encode(t, text, len, ids, n), n);
    for (size_t i = 0; i < n; i++) {
        assert_true(ids[i] >= SP_TOK_BYTE0);
        assert_true(ids[i] < sp_tokenizer_vocab_size(t));
    }
    char *back = NULL;
    size_t blen = 0;
    assert_int_equal(sp_tokenizer_decode(t, ids, n, &back, &blen), SP_OK);
    assert_int_equal(blen, len);
    assert_memory_equal(back, text, len);
    assert_int_equal(back[blen], '\0');
    free(back);
    free(ids);
}

/* ---- known answers ---- */

/* "aaabdaaabac" (the classic BPE example), one chunk, counted by hand:
 * aa:4 ab:2 bd:1 da:1 ba:1 ac:1          -> 261 = (a,a)
 * [261 a b d 261 a b a c]: (261,a):2 (a,b):2 ... tie at 2 -> lowest left id a=102 -> 262 = (a,b)
 * [261 262 d 261 262 a c]: (261,262):2    -> 263 = (261,262)  "aaab"
 * [263 d 263 a c]: all 1, lowest left a   -> 264 = (a,c)
 * [263 d 263 264]: lowest left d=105      -> 265 = (d,263)
 * [263 265 264]                            -> 266 = (263,265), then 267 = (266,264); one symbol left. */
static void test_classic_merges(void **state)
{
    (void)state;
    sp_tokenizer *t = train_one("aaabdaaabac", 8192, 0);
    static const int32_t want[7][2] = {{A, A}, {A, B}, {261, 262}, {A, C}, {D, 263}, {263, 265}, {266, 264}};
    assert_int_equal(sp_tokenizer_n_merges(t), 7);
    assert_int_equal(sp_tokenizer_vocab_size(t), 268);
    for (int r = 0; r < 7; r++) {
        int32_t l, rr;
        sp_tokenizer_merge(t, r, &l, &rr);
        assert_int_equal(l, want[r][0]);
        assert_int_equal(rr, want[r][1]);
    }
    size_t len;
    const char *s = sp_tokenizer_token_bytes(t, 263, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(s, "aaab", 4);
    assert_null(sp_tokenizer_token_bytes(t, SP_TOK_MASK, &len));

    assert_encoding(t, "aaabdaaabac", (int32_t[]){267}, 1);
    assert_encoding(t, "aaab", (int32_t[]){263}, 1);
    /* lowest rank first: (a,a) before (a,b); the merged 261 and 264 do not form a merge */
    assert_encoding(t, "aaac", (int32_t[]){261, 264}, 2);
    assert_encoding(t, "abaa", (int32_t[]){262, 261}, 2);
    assert_encoding(t, "aaaa", (int32_t[]){261, 261}, 2);
    /* chunks: " aaab" keeps its space; "," and "7" are other chunks */
    assert_encoding(t, "aaab aaab,7", (int32_t[]){263, SP, 263, 5 + ',', 5 + '7'}, 5);
    assert_encoding(t, "", NULL, 0);
    sp_tokenizer_free(t);

    /* vocab_size is an upper bound: 264 keeps exactly the first three merges */
    t = train_one("aaabdaaabac", 264, 0);
    assert_int_equal(sp_tokenizer_n_merges(t), 3);
    assert_int_equal(sp_tokenizer_vocab_size(t), 264);
    assert_encoding(t, "aaabdaaabac", (int32_t[]){263, D, 263, A, C}, 5);
    sp_tokenizer_free(t);
}

static void test_chunk_rules(void **state)
{
    (void)state;
    static const char text[] = "Hi,  w\xc3\xa9rld 42\n\nfoo \tbar\x01\x02x  ";
    static const char *want[] = {"Hi", ",", " ", " w\xc3\xa9rld", " 42", "\n", "\n", "foo", " ",
                                 "\t", "bar", "\x01\x02", "x", "  "};
    sp_pretok_iter it;
    sp_pretok_init(&it, (const uint8_t *)text, sizeof text - 1);
    size_t s, e, k = 0, nwant = sizeof want / sizeof *want;
    while (sp_pretok_next(&it, &s, &e)) {
        assert_true(k < nwant);
        assert_int_equal(e - s, strlen(want[k]));
        assert_memory_equal(text + s, want[k], e - s);
        k++;
    }
    assert_int_equal(k, nwant);

    /* a run of 150 letters after a space: pieces of 64, 64, 22 */
    char lng[152];
    lng[0] = ' ';
    memset(lng + 1, 'q', 150);
    sp_pretok_init(&it, (const uint8_t *)lng, 151);
    size_t lens[4], np = 0;
    while (sp_pretok_next(&it, &s, &e) && np < 4) lens[np++] = e - s;
    assert_int_equal(np, 3);
    assert_int_equal(lens[0], 64);
    assert_int_equal(lens[1], 64);
    assert_int_equal(lens[2], 23);
}

/* ---- round trips and bounds ---- */

static void test_round_trip_bytes(void **state)
{
    (void)state;
    corpus c;
    corpus_load_mail(&c);
    sp_tokenizer_options o = {1000, 0};
    sp_tokenizer *t = NULL;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_OK);
    assert_int_equal(sp_tokenizer_vocab_size(t), 1000);
    for (size_t i = 0; i < c.n; i++) assert_round_trip(t, c.text[i], c.len[i]);

    /* every byte value, NULs, invalid UTF-8 (lone continuation, truncated sequence, overlong, 0xFF) */
    char all[512];
    for (int i = 0; i < 512; i++) all[i] = (char)(i * 7 + 3);
    assert_round_trip(t, all, sizeof all);
    static const char bad[] = "Subject: caf\xe9 \x80\x80 \xc3 \xe2\x82 \xc0\xaf \xff\xfe\0\0 na\0me\r\n\r\n";
    assert_round_trip(t, bad, sizeof bad - 1);
    char lng[3000];
    for (int i = 0; i < 3000; i++) lng[i] = "QUJDRA=="[i % 8]; /* a base64-looking run, cut into pieces */
    assert_round_trip(t, lng, sizeof lng);
    assert_round_trip(t, "", 0);

    /* a common word of the corpus is a single token, and ids are compact */
    int32_t ids[8];
    assert_int_equal(sp_tokenizer_encode(t, " the", 4, ids, 8), 1);
    assert_true(ids[0] >= SP_TOK_N_BASE);
    sp_tokenizer_free(t);
    corpus_free(&c);
}

static void test_vocab_bounds_and_options(void **state)
{
    (void)state;
    corpus c;
    corpus_load_mail(&c);
    sp_tokenizer *t = NULL;
    sp_tokenizer_options o = {300, 0};
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_OK);
    assert_int_equal(sp_tokenizer_n_merges(t), 39);
    assert_int_equal(sp_tokenizer_vocab_size(t), 300);
    int32_t ids[4096];
    size_t n = sp_tokenizer_encode(t, c.text[0], c.len[0], ids, 4096);
    assert_true(n <= 4096 && n < c.len[0]);
    for (size_t i = 0; i < n; i++) assert_true(ids[i] >= SP_TOK_BYTE0 && ids[i] < 300);
    sp_tokenizer_free(t);

    /* 261: bytes only */
    o.vocab_size = 261;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_OK);
    assert_int_equal(sp_tokenizer_n_merges(t), 0);
    assert_int_equal(sp_tokenizer_encode(t, "Ab\xff", 3, ids, 8), 3);
    assert_int_equal(ids[0], 5 + 'A');
    assert_int_equal(ids[2], 5 + 255);
    sp_tokenizer_free(t);

    o.vocab_size = 260;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_ERR_USAGE);
    assert_null(t);
    o.vocab_size = SP_TOK_MAX_VOCAB + 1;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_ERR_USAGE);
    /* no texts at all: no merges, bytes still encode */
    o.vocab_size = 1000;
    assert_int_equal(sp_tokenizer_train_lens(NULL, NULL, 0, &o, &t), SP_OK);
    assert_int_equal(sp_tokenizer_vocab_size(t), 261);
    assert_int_equal(sp_tokenizer_encode(t, "ab", 2, ids, 8), 2);
    sp_tokenizer_free(t);
    o.lowercase = 2;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_ERR_USAGE);

    /* lowercase: case folded before training and encoding; decode returns the folded text */
    o.lowercase = 1;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_OK);
    int32_t a[64], b[64];
    size_t na = sp_tokenizer_encode(t, "The Subject: HELLO World", 24, a, 64);
    size_t nb = sp_tokenizer_encode(t, "the subject: hello world", 24, b, 64);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    char *back;
    size_t blen;
    assert_int_equal(sp_tokenizer_decode(t, a, na, &back, &blen), SP_OK);
    assert_string_equal(back, "the subject: hello world");
    free(back);
    for (int r = 0; r < sp_tokenizer_n_merges(t); r++) {
        const char *s = sp_tokenizer_token_bytes(t, SP_TOK_N_BASE + r, &blen);
        for (size_t k = 0; k < blen; k++) assert_false(s[k] >= 'A' && s[k] <= 'Z');
    }
    sp_tokenizer_free(t);
    corpus_free(&c);
}

static void test_encode_fixed_and_cap(void **state)
{
    (void)state;
    sp_tokenizer *t = train_one("aaabdaaabac", 8192, 0);
    /* full encoding of "aaabdaaabac aaab" is 267, ' ', 263 */
    int32_t ids[8];
    for (int i = 0; i < 8; i++) ids[i] = -7;
    assert_int_equal(sp_tokenizer_encode(t, "aaabdaaabac aaab", 16, ids, 1), 3);
    assert_int_equal(ids[0], 267);
    assert_int_equal(ids[1], -7); /* nothing written past cap */

    assert_int_equal(sp_tokenizer_encode_fixed(t, "aaabdaaabac aaab", 8, ids), 5);
    int32_t w8[8] = {SP_TOK_CLS, 267, SP, 263, SP_TOK_SEP, SP_TOK_PAD, SP_TOK_PAD, SP_TOK_PAD};
    assert_memory_equal(ids, w8, sizeof w8);
    assert_int_equal(sp_tokenizer_encode_fixed(t, "aaabdaaabac aaab", 4, ids), 4);
    int32_t w4[4] = {SP_TOK_CLS, 267, SP, SP_TOK_SEP};
    assert_memory_equal(ids, w4, sizeof w4);
    assert_int_equal(sp_tokenizer_encode_fixed(t, "aaabdaaabac aaab", 5, ids), 5);
    int32_t w5[5] = {SP_TOK_CLS, 267, SP, 263, SP_TOK_SEP};
    assert_memory_equal(ids, w5, sizeof w5);
    assert_int_equal(sp_tokenizer_encode_fixed(t, "aaabdaaabac", 2, ids), 2);
    assert_int_equal(ids[0], SP_TOK_CLS);
    assert_int_equal(ids[1], SP_TOK_SEP);
    assert_int_equal(sp_tokenizer_encode_fixed(t, "", 4, ids), 2);
    int32_t we[4] = {SP_TOK_CLS, SP_TOK_SEP, SP_TOK_PAD, SP_TOK_PAD};
    assert_memory_equal(ids, we, sizeof we);
    ids[0] = -7;
    assert_int_equal(sp_tokenizer_encode_fixed(t, "aaab", 1, ids), -1);
    assert_int_equal(ids[0], -7);

    /* decode skips specials and rejects ids out of range */
    char *back;
    size_t blen;
    int32_t with_specials[] = {SP_TOK_CLS, 267, SP_TOK_MASK, SP, SP_TOK_UNK, 263, SP_TOK_SEP, SP_TOK_PAD};
    assert_int_equal(sp_tokenizer_decode(t, with_specials, 8, &back, &blen), SP_OK);
    assert_int_equal(blen, 16);
    assert_string_equal(back, "aaabdaaabac aaab");
    free(back);
    int32_t bad[] = {267, 268};
    assert_int_equal(sp_tokenizer_decode(t, bad, 2, &back, &blen), SP_ERR_INPUT);
    assert_null(back);
    assert_non_null(strstr(sp_error_message(), "position 1"));
    sp_tokenizer_free(t);
}

static void test_from_merges_checks(void **state)
{
    (void)state;
    sp_tokenizer *t = NULL;
    int32_t forward[] = {A, 262, A, B};     /* merge 0 refers to the later id 262 */
    assert_int_equal(sp_tokenizer_from_merges(forward, 2, 0, &t), SP_ERR_INPUT);
    assert_null(t);
    int32_t special[] = {SP_TOK_UNK, A};
    assert_int_equal(sp_tokenizer_from_merges(special, 1, 0, &t), SP_ERR_INPUT);
    int32_t twice[] = {A, B, A, B};
    assert_int_equal(sp_tokenizer_from_merges(twice, 2, 0, &t), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "repeats merge 0"));
    int32_t ok[] = {A, A, A, B, 261, 262};
    assert_int_equal(sp_tokenizer_from_merges(ok, 3, 0, &t), SP_OK);
    assert_encoding(t, "aaab", (int32_t[]){263}, 1);
    sp_tokenizer_free(t);
}

/* ---- determinism, storage, threads ---- */

static void test_determinism(void **state)
{
    (void)state;
    corpus c;
    corpus_load_mail(&c);
    sp_tokenizer_options o = {800, 0};
    sp_tokenizer *t1 = NULL, *t2 = NULL, *t3 = NULL;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t1), SP_OK);
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t2), SP_OK);
    /* the same texts in reverse order */
    const char *rev[32];
    size_t rlen[32];
    for (size_t i = 0; i < c.n; i++) {
        rev[i] = c.text[c.n - 1 - i];
        rlen[i] = c.len[c.n - 1 - i];
    }
    assert_int_equal(sp_tokenizer_train_lens(rev, rlen, c.n, &o, &t3), SP_OK);
    assert_int_equal(sp_tokenizer_n_merges(t1), 539);
    for (int r = 0; r < 539; r++) {
        int32_t l1, r1, l2, r2, l3, r3;
        sp_tokenizer_merge(t1, r, &l1, &r1);
        sp_tokenizer_merge(t2, r, &l2, &r2);
        sp_tokenizer_merge(t3, r, &l3, &r3);
        assert_true(l1 == l2 && r1 == r2 && l1 == l3 && r1 == r3);
    }
    assert_string_equal(sp_tokenizer_hash(t1), sp_tokenizer_hash(t2));
    assert_string_equal(sp_tokenizer_hash(t1), sp_tokenizer_hash(t3));
    assert_int_equal(strlen(sp_tokenizer_hash(t1)), 64);
    /* the hash depends on the options too */
    o.lowercase = 1;
    sp_tokenizer *tl = NULL;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &tl), SP_OK);
    assert_string_not_equal(sp_tokenizer_hash(t1), sp_tokenizer_hash(tl));
    sp_tokenizer_free(tl);
    sp_tokenizer_free(t1);
    sp_tokenizer_free(t2);
    sp_tokenizer_free(t3);
    corpus_free(&c);
}

static void test_save_load(void **state)
{
    (void)state;
    corpus c;
    corpus_load_mail(&c);
    sp_tokenizer_options o = {700, 1};
    sp_tokenizer *t = NULL, *u = NULL;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_OK);
    char path[64];
    snprintf(path, sizeof path, "tok-save-%ld.h5", (long)getpid());
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_int_equal(sp_tokenizer_save(t, f, "/run/tokenizer"), SP_OK);
    assert_int_equal(sp_tokenizer_save(t, f, "/run/tokenizer"), SP_ERR_IO); /* exists already */
    sp_tokenizer *empty = train_one("x", 8192, 0);                           /* no merges at all */
    assert_int_equal(sp_tokenizer_n_merges(empty), 0);
    assert_int_equal(sp_tokenizer_save(empty, f, "/empty"), SP_OK);
    assert_true(H5Fclose(f) >= 0);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_int_equal(sp_tokenizer_load(f, "/run/tokenizer", &u), SP_OK);
    assert_int_equal(sp_tokenizer_vocab_size(u), 700);
    assert_int_equal(sp_tokenizer_lowercase(u), 1);
    assert_string_equal(sp_tokenizer_hash(u), sp_tokenizer_hash(t));
    for (size_t i = 0; i < c.n; i++) {
        size_t n1 = sp_tokenizer_encode(t, c.text[i], c.len[i], NULL, 0);
        int32_t *a = malloc(n1 * sizeof *a), *b = malloc(n1 * sizeof *b);
        assert_int_equal(sp_tokenizer_encode(t, c.text[i], c.len[i], a, n1), n1);
        assert_int_equal(sp_tokenizer_encode(u, c.text[i], c.len[i], b, n1), n1);
        assert_memory_equal(a, b, n1 * sizeof *a);
        free(a);
        free(b);
    }
    sp_tokenizer *e2 = NULL;
    assert_int_equal(sp_tokenizer_load(f, "/empty", &e2), SP_OK);
    assert_string_equal(sp_tokenizer_hash(e2), sp_tokenizer_hash(empty));
    sp_tokenizer_free(e2);
    assert_int_equal(sp_tokenizer_load(f, "/nothing", &e2), SP_ERR_INPUT);
    assert_null(e2);
    assert_true(H5Fclose(f) >= 0);
    sp_tokenizer_free(empty);

    /* tamper with the last merge (still a valid merge list): the hash check refuses it */
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "/run/tokenizer/merges", H5P_DEFAULT);
    assert_true(ds >= 0);
    int32_t *m = malloc((size_t)sp_tokenizer_n_merges(t) * 2 * sizeof *m);
    assert_true(H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) >= 0);
    m[2 * sp_tokenizer_n_merges(t) - 1] = 5 + 0x7f; /* DEL: in no merge of the corpus, so no repeat */
    assert_true(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) >= 0);
    free(m);
    H5Dclose(ds);
    sp_tokenizer *bad = NULL;
    assert_int_equal(sp_tokenizer_load(f, "/run/tokenizer", &bad), SP_ERR_INPUT);
    assert_null(bad);
    assert_non_null(strstr(sp_error_message(), "hash"));
    H5Fclose(f);
    unlink(path);
    sp_tokenizer_free(u);
    sp_tokenizer_free(t);
    corpus_free(&c);
}

static void test_concurrent_encoding(void **state)
{
    (void)state;
    corpus c;
    corpus_load_mail(&c);
    sp_tokenizer_options o = {1500, 0};
    sp_tokenizer *t = NULL;
    assert_int_equal(sp_tokenizer_train_lens((const char *const *)c.text, c.len, c.n, &o, &t), SP_OK);
    enum { REPS = 8, WIN = 256 };
    int n = (int)c.n * REPS;
    int32_t *serial = malloc((size_t)n * WIN * sizeof *serial), *par = malloc((size_t)n * WIN * sizeof *par);
    int32_t lens[8 * 32], slens[8 * 32];
    const char *texts[8 * 32];
    for (int i = 0; i < n; i++) {
        texts[i] = c.text[i % c.n];
        slens[i] = sp_tokenizer_encode_fixed(t, texts[i], WIN, serial + (size_t)i * WIN);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
    for (int i = 0; i < n; i++) sp_tokenizer_encode_fixed(t, texts[i], WIN, par + (size_t)i * WIN);
    assert_memory_equal(serial, par, (size_t)n * WIN * sizeof *serial);
    memset(par, 0xff, (size_t)n * WIN * sizeof *par);
    assert_int_equal(sp_tokenizer_encode_fixed_batch(t, texts, (size_t)n, WIN, par, lens), SP_OK);
    assert_memory_equal(serial, par, (size_t)n * WIN * sizeof *serial);
    assert_memory_equal(slens, lens, (size_t)n * sizeof *lens);
    assert_int_equal(lens[0], WIN); /* the first e-mail fills the window */
    assert_int_equal(sp_tokenizer_encode_fixed_batch(t, texts, (size_t)n, 1, par, lens), SP_ERR_USAGE);
    free(serial);
    free(par);
    sp_tokenizer_free(t);
    corpus_free(&c);
}

static void test_train_split(void **state)
{
    (void)state;
    /* only the training split is seen: the test and OOD texts (all 'z') leave no trace in the merges */
    sp_dataset *ds = sp_dataset_alloc(4);
    static const char *text[4] = {"zzzz zzzz", "aaabdaaabac", "zzzzzz", "zz zz zz"};
    static const uint8_t split[4] = {SP_SPLIT_TEST, SP_SPLIT_TRAIN, SP_SPLIT_OOD, SP_SPLIT_VAL};
    for (int i = 0; i < 4; i++) {
        ds->text[i] = strdup(text[i]);
        ds->split[i] = split[i];
    }
    sp_tokenizer *t = NULL, *ref = train_one("aaabdaaabac", 8192, 0);
    assert_int_equal(sp_tokenizer_train_split(ds, NULL, &t), SP_OK);
    assert_string_equal(sp_tokenizer_hash(t), sp_tokenizer_hash(ref));
    assert_int_equal(sp_tokenizer_n_merges(t), 7);
    sp_tokenizer_free(t);
    ds->split[1] = SP_SPLIT_VAL;
    assert_int_equal(sp_tokenizer_train_split(ds, NULL, &t), SP_ERR_INPUT);
    assert_null(t);
    sp_tokenizer_free(ref);
    sp_dataset_free(ds);
}

/* ---- parity with the Python reference ---- */

static void write_texts(const char *path, const char *const *texts, const size_t *lens, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t v = (uint32_t)n;
    fwrite(&v, 4, 1, f); /* little-endian host (x86-64, aarch64) */
    for (size_t i = 0; i < n; i++) {
        v = (uint32_t)lens[i];
        fwrite(&v, 4, 1, f);
        fwrite(texts[i], 1, lens[i], f);
    }
    assert_int_equal(fclose(f), 0);
}

static void run_parity(int vocab_size, int lowercase)
{
    corpus c;
    corpus_load_mail(&c);
    /* training: the e-mails plus text with invalid UTF-8 and control bytes (no NUL: training texts are
     * C strings); probes: the e-mails again plus unseen text with NULs and long runs */
    const char *train[40];
    size_t tlen[40], nt = 0;
    for (size_t i = 0; i < c.n; i++) {
        train[nt] = c.text[i];
        tlen[nt++] = c.len[i];
    }
    static const char extra[] = "Caf\xe9 caf\xe9 CAF\xc3\x89 \xff\xfe\x80 \x01\x02\x03 aaaa  \t\r\n 12345 123,45";
    train[nt] = extra;
    tlen[nt++] = sizeof extra - 1;
    static const char p1[] = "Unseen: na\0me\0\0 \xc3\x28 \xa0\xa1 qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
                             "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq  \n\n\t x";
    static const char p2[] = "   Leading spaces, then The END.\r\n";
    const char *probe[40];
    size_t plen[40], np = 0;
    for (size_t i = 0; i < nt; i++) {
        probe[np] = train[i];
        plen[np++] = tlen[i];
    }
    probe[np] = p1;
    plen[np++] = sizeof p1 - 1;
    probe[np] = p2;
    plen[np++] = sizeof p2 - 1;

    sp_tokenizer_options o = {vocab_size, lowercase};
    sp_tokenizer *t = NULL;
    assert_int_equal(sp_tokenizer_train_lens(train, tlen, nt, &o, &t), SP_OK);

    char dir[] = "tok-ref-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ptrain[64], pprobe[64], pout[64], cmd[4096], script[2048];
    snprintf(ptrain, sizeof ptrain, "%s/train.bin", dir);
    snprintf(pprobe, sizeof pprobe, "%s/probe.bin", dir);
    snprintf(pout, sizeof pout, "%s/c_out.txt", dir);
    write_texts(ptrain, train, tlen, nt);
    write_texts(pprobe, probe, plen, np);
    FILE *f = fopen(pout, "w");
    assert_non_null(f);
    fprintf(f, "merges %d\n", sp_tokenizer_n_merges(t));
    for (int r = 0; r < sp_tokenizer_n_merges(t); r++) {
        int32_t l, rr;
        sp_tokenizer_merge(t, r, &l, &rr);
        fprintf(f, "%d %d\n", (int)l, (int)rr);
    }
    fprintf(f, "hash %s\nprobes %zu\n", sp_tokenizer_hash(t), np);
    for (size_t i = 0; i < np; i++) {
        size_t n = sp_tokenizer_encode(t, probe[i], plen[i], NULL, 0);
        int32_t *ids = malloc((n + 1) * sizeof *ids);
        sp_tokenizer_encode(t, probe[i], plen[i], ids, n);
        for (size_t k = 0; k < n; k++) fprintf(f, k ? " %d" : "%d", (int)ids[k]);
        fputc('\n', f);
        free(ids);
    }
    assert_int_equal(fclose(f), 0);

    const char *fx = getenv("SPLINTER_FIXTURES");
    assert_non_null(fx);
    snprintf(script, sizeof script, "%s/../ref/bpe_reference.py", fx);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s %s %d %d %s", script, ptrain, pprobe, vocab_size,
             lowercase, pout);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
    unlink(ptrain);
    unlink(pprobe);
    unlink(pout);
    rmdir(dir);
    sp_tokenizer_free(t);
    corpus_free(&c);
}

static void test_parity_python(void **state)
{
    (void)state;
    run_parity(261 + 400, 0);
    run_parity(261 + 150, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classic_merges),
        cmocka_unit_test(test_chunk_rules),
        cmocka_unit_test(test_round_trip_bytes),
        cmocka_unit_test(test_vocab_bounds_and_options),
        cmocka_unit_test(test_encode_fixed_and_cap),
        cmocka_unit_test(test_from_merges_checks),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_concurrent_encoding),
        cmocka_unit_test(test_train_split),
        cmocka_unit_test(test_parity_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
