/* fuzz_tokenizer.c: libFuzzer target for the BPE tokenizer. Any bytes must encode and decode back exactly
 * (with a fixed tokenizer and with one trained on the input itself), every id must be a byte or a merge,
 * encode_fixed must agree with the prefix of encode, and the merges learned from the input must be a
 * valid merge list (rebuilding them gives the same hash). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

static void check_round_trip(const sp_tokenizer *t, const char *s, size_t n)
{
    size_t k = sp_tokenizer_encode(t, s, n, NULL, 0);
    if (k > n) abort(); /* a token is never shorter than one byte */
    int32_t *ids = malloc((k + 1) * sizeof *ids);
    if (!ids || sp_tokenizer_encode(t, s, n, ids, k) != k) abort();
    for (size_t i = 0; i < k; i++)
        if (ids[i] < SP_TOK_BYTE0 || ids[i] >= sp_tokenizer_vocab_size(t)) abort();
    char *back;
    size_t blen;
    if (sp_tokenizer_decode(t, ids, k, &back, &blen) != SP_OK) abort();
    if (blen != n || memcmp(back, s, n) != 0) abort();
    free(back);
    /* the fixed window holds the prefix of the ids of the text up to its first NUL */
    size_t cn = strnlen(s, n);
    int32_t *pre = malloc((cn + 1) * sizeof *pre);
    if (!pre) abort();
    size_t kc = sp_tokenizer_encode(t, s, cn, pre, cn);
    int32_t win[34];
    int m = sp_tokenizer_encode_fixed(t, s, 34, win);
    size_t body = kc < 32 ? kc : 32;
    if (m != (int)body + 2 || win[0] != SP_TOK_CLS || win[body + 1] != SP_TOK_SEP) abort();
    if (memcmp(win + 1, pre, body * sizeof *pre) != 0) abort();
    free(pre);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sp_tokenizer *fixed = NULL;
    if (!fixed) {
        static const char *seed[] = {"From: a@b.c\nSubject: Re: the the the offer\n\nFREE money, click here!! 123"};
        sp_tokenizer_options o = {400, 0};
        if (sp_tokenizer_train(seed, 1, &o, &fixed) != SP_OK) abort();
    }
    /* the input, NUL-terminated for encode_fixed */
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_round_trip(fixed, s, size);

    /* train on the input (split at NULs into texts), lowercased if the first byte is odd */
    const char *texts[64];
    size_t lens[64], nt = 0;
    for (size_t i = 0; i <= size && nt < 64;) {
        size_t l = strnlen(s + i, size - i);
        texts[nt] = s + i;
        lens[nt++] = l;
        i += l + 1;
    }
    sp_tokenizer_options o = {300 + (size ? data[0] : 0), size && (data[0] & 1)};
    sp_tokenizer *t = NULL, *u = NULL;
    if (sp_tokenizer_train_lens(texts, lens, nt, &o, &t) != SP_OK) abort();
    int nm = sp_tokenizer_n_merges(t);
    int32_t *m = malloc(((size_t)nm * 2 + 1) * sizeof *m);
    for (int r = 0; r < nm; r++) sp_tokenizer_merge(t, r, &m[2 * r], &m[2 * r + 1]);
    if (sp_tokenizer_from_merges(m, nm, o.lowercase, &u) != SP_OK) abort();
    if (strcmp(sp_tokenizer_hash(t), sp_tokenizer_hash(u)) != 0) abort();
    if (!o.lowercase) check_round_trip(t, s, size);
    free(m);
    sp_tokenizer_free(u);
    sp_tokenizer_free(t);
    free(s);
    return 0;
}
