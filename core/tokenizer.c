/* tokenizer.c: a tokenizer built from its merge list (lookup tables, the read-only chunk cache, the
 * hash), and encoding and decoding with it. Training lives in bpe_train.c, HDF5 in tokenizer_io.c.
 *
 * Encoding a chunk = start from its bytes and repeatedly merge every occurrence (left to right) of the
 * adjacent pair with the lowest merge rank, until no adjacent pair is a merge: the GPT-2 rule. */
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

sp_tokenizer_options sp_tokenizer_defaults(void)
{
    sp_tokenizer_options o = {.vocab_size = 8192, .lowercase = 0};
    return o;
}

void sp_tokenizer_free(sp_tokenizer *t)
{
    if (!t) return;
    free(t->merges);
    free(t->pair_slots);
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_bytes);
    free(t->cache_slots);
    free(t->cache_hash);
    free(t->cache_off);
    free(t->cache_len);
    free(t->cache_ids);
    free(t);
}

int sp_tokenizer_vocab_size(const sp_tokenizer *t) { return SP_TOK_N_BASE + t->n_merges; }
int sp_tokenizer_n_merges(const sp_tokenizer *t) { return t->n_merges; }
int sp_tokenizer_lowercase(const sp_tokenizer *t) { return t->lowercase; }
const char *sp_tokenizer_hash(const sp_tokenizer *t) { return t->hash; }

void sp_tokenizer_merge(const sp_tokenizer *t, int rank, int32_t *left, int32_t *right)
{
    *left = t->merges[2 * rank];
    *right = t->merges[2 * rank + 1];
}

const char *sp_tokenizer_token_bytes(const sp_tokenizer *t, int32_t id, size_t *len)
{
    if (id < SP_TOK_BYTE0 || id >= sp_tokenizer_vocab_size(t)) {
        *len = 0;
        return NULL;
    }
    *len = t->tok_len[id];
    return (const char *)t->tok_bytes + t->tok_off[id];
}

/* Smallest power of two >= 2*n (load factor <= 1/2), at least 16. */
static size_t table_cap(size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    return cap;
}

/* SHA-256 over "<pretokenizer>\n<max chunk>\n<lowercase>\n<n_merges>\n" then the merges as
 * little-endian int32 (left, right) pairs; written as 64 lowercase hex digits. */
static sp_status tokenizer_compute_hash(sp_tokenizer *t)
{
    char head[128];
    int hn = snprintf(head, sizeof head, "%s\n%d\n%d\n%d\n", SP_TOK_PRETOKENIZER, SP_TOK_MAX_CHUNK,
                      t->lowercase, t->n_merges);
    size_t mb = (size_t)t->n_merges * 8;
    uint8_t *buf = malloc((size_t)hn + mb + 1);
    if (!buf) return sp_fail(SP_ERR_NOMEM, "tokenizer hash: out of memory for %d merges", t->n_merges);
    memcpy(buf, head, (size_t)hn);
    for (size_t i = 0; i < (size_t)t->n_merges * 2; i++) {
        uint32_t v = (uint32_t)t->merges[i];
        for (int k = 0; k < 4; k++) buf[(size_t)hn + 4 * i + (size_t)k] = (uint8_t)(v >> (8 * k));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int ok = EVP_Digest(buf, (size_t)hn + mb, md, &md_len, EVP_sha256(), NULL);
    free(buf);
    if (!ok || md_len != 32) return sp_fail(SP_ERR_STATE, "tokenizer hash: OpenSSL SHA-256 failed");
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        t->hash[2 * i] = hex[md[i] >> 4];
        t->hash[2 * i + 1] = hex[md[i] & 15];
    }
    t->hash[64] = '\0';
    return SP_OK;
}

int sp_tok_encode_chunk_uncached(const sp_tokenizer *t, const uint8_t *chunk, int n, int32_t *ids)
{
    /* merged[i] = merged id of (ids[i], ids[i+1]) or INT32_MAX; merged ids grow with rank, so the
     * lowest rank is the smallest merged id. */
    int32_t merged[SP_TOK_MAX_CHUNK];
    for (int i = 0; i < n; i++) ids[i] = SP_TOK_BYTE0 + chunk[i];
    for (int i = 0; i + 1 < n; i++) {
        int32_t m = sp_tok_pair_lookup(t, ids[i], ids[i + 1]);
        merged[i] = m < 0 ? INT32_MAX : m;
    }
    while (n > 1) {
        int32_t best = INT32_MAX;
        for (int i = 0; i + 1 < n; i++)
            if (merged[i] < best) best = merged[i];
        if (best == INT32_MAX) break;
        /* merge every occurrence left to right; occurrences cannot overlap except for (x, x), where
         * the left one wins, as in training. src[w] = input position of output w, or -1 if it is new. */
        int w = 0;
        int src[SP_TOK_MAX_CHUNK];
        for (int i = 0; i < n;) {
            if (i + 1 < n && merged[i] == best) {
                src[w] = -1;
                ids[w++] = best;
                i += 2;
            } else {
                src[w] = i;
                ids[w++] = ids[i++];
            }
        }
        n = w;
        /* two old neighbours were neighbours before, so their pair keeps its merged id; only pairs
         * touching a new symbol are looked up (src is increasing, so merged[src[i]] is still unread) */
        for (int i = 0; i + 1 < n; i++) {
            if (src[i] >= 0 && src[i + 1] >= 0) {
                merged[i] = merged[src[i]];
            } else {
                int32_t m = sp_tok_pair_lookup(t, ids[i], ids[i + 1]);
                merged[i] = m < 0 ? INT32_MAX : m;
            }
        }
    }
    return n;
}

/* Fills the pair table, token bytes and the chunk cache from t->merges; checks the merge list. */
static sp_status tokenizer_build(sp_tokenizer *t)
{
    int nm = t->n_merges, vocab = SP_TOK_N_BASE + nm;
    size_t pcap = table_cap((size_t)nm);
    t->pair_slots = calloc(pcap, sizeof *t->pair_slots);
    t->pair_mask = pcap - 1;
    t->tok_off = calloc((size_t)vocab, sizeof *t->tok_off);
    t->tok_len = calloc((size_t)vocab, sizeof *t->tok_len);
    if (!t->pair_slots || !t->tok_off || !t->tok_len)
        return sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory for %d merges", nm);

    /* token lengths first (a merge is as long as its parts), so the byte pool is one allocation */
    size_t total = 256;
    for (int b = 0; b < 256; b++) t->tok_len[SP_TOK_BYTE0 + b] = 1;
    for (int r = 0; r < nm; r++) {
        int32_t a = t->merges[2 * r], b = t->merges[2 * r + 1], id = SP_TOK_N_BASE + r;
        if (a < SP_TOK_BYTE0 || a >= id || b < SP_TOK_BYTE0 || b >= id)
            return sp_fail(SP_ERR_INPUT, "tokenizer merge %d: ids (%d, %d) must be bytes or earlier merges "
                           "(5 .. %d); the merge list is corrupt", r, (int)a, (int)b, (int)id - 1);
        uint64_t len = (uint64_t)t->tok_len[a] + t->tok_len[b];
        if (len > SP_TOK_MAX_CHUNK)
            return sp_fail(SP_ERR_INPUT, "tokenizer merge %d: token of %llu bytes is longer than a chunk (%d); "
                           "the merge list is corrupt", r, (unsigned long long)len, SP_TOK_MAX_CHUNK);
        t->tok_len[id] = (uint32_t)len;
        total += len;
        uint64_t key = sp_tok_pair_key40(a, b);
        size_t i = sp_tok_hash_pair(key) & t->pair_mask;
        while (t->pair_slots[i] != 0 && (t->pair_slots[i] & 0xffffffffffULL) != key) i = (i + 1) & t->pair_mask;
        if (t->pair_slots[i] != 0)
            return sp_fail(SP_ERR_INPUT, "tokenizer merge %d: pair (%d, %d) repeats merge %d; the merge list "
                           "is corrupt", r, (int)a, (int)b, (int)(t->pair_slots[i] >> 40) - SP_TOK_N_BASE);
        t->pair_slots[i] = ((uint64_t)id << 40) | key;
    }
    t->tok_bytes = malloc(total);
    if (!t->tok_bytes) return sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory for token bytes");
    for (int b = 0; b < 256; b++) {
        t->tok_off[SP_TOK_BYTE0 + b] = (uint32_t)b;
        t->tok_bytes[b] = (uint8_t)b;
    }
    size_t off = 256;
    for (int r = 0; r < nm; r++) {
        int32_t a = t->merges[2 * r], b = t->merges[2 * r + 1], id = SP_TOK_N_BASE + r;
        t->tok_off[id] = (uint32_t)off;
        memcpy(t->tok_bytes + off, t->tok_bytes + t->tok_off[a], t->tok_len[a]);
        memcpy(t->tok_bytes + off + t->tok_len[a], t->tok_bytes + t->tok_off[b], t->tok_len[b]);
        off += t->tok_len[id];
    }

    /* chunk cache: the encoding of every merged token's bytes (usually that one token) */
    size_t ccap = table_cap((size_t)nm);
    t->cache_slots = malloc(ccap * sizeof *t->cache_slots);
    t->cache_hash = malloc(ccap * sizeof *t->cache_hash);
    t->cache_mask = ccap - 1;
    t->cache_off = malloc(((size_t)nm + 1) * sizeof *t->cache_off);
    t->cache_len = malloc(((size_t)nm + 1) * sizeof *t->cache_len);
    t->cache_ids = malloc((total + 1) * sizeof *t->cache_ids);
    if (!t->cache_slots || !t->cache_hash || !t->cache_off || !t->cache_len || !t->cache_ids)
        return sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory for the chunk cache");
    for (size_t i = 0; i < ccap; i++) t->cache_slots[i] = -1;
    size_t coff = 0;
    for (int r = 0; r < nm; r++) {
        int32_t id = SP_TOK_N_BASE + r;
        const uint8_t *s = t->tok_bytes + t->tok_off[id];
        int len = (int)t->tok_len[id];
        t->cache_off[r] = (uint32_t)coff;
        t->cache_len[r] = (uint8_t)sp_tok_encode_chunk_uncached(t, s, len, t->cache_ids + coff);
        coff += t->cache_len[r];
        uint64_t h = sp_tok_hash_bytes(s, (size_t)len);
        size_t i = h & t->cache_mask;
        int dup = 0;
        for (; t->cache_slots[i] >= 0; i = (i + 1) & t->cache_mask) {
            int32_t o = SP_TOK_N_BASE + t->cache_slots[i];
            if (t->cache_hash[i] == h && (int)t->tok_len[o] == len &&
                memcmp(t->tok_bytes + t->tok_off[o], s, (size_t)len) == 0) {
                dup = 1; /* two merge paths to one string: both encode it alike, keep the first */
                break;
            }
        }
        if (!dup) {
            t->cache_slots[i] = r;
            t->cache_hash[i] = h;
        }
    }
    return tokenizer_compute_hash(t);
}

sp_status sp_tokenizer_from_merges(const int32_t *merges, int n_merges, int lowercase, sp_tokenizer **out)
{
    *out = NULL;
    if (n_merges < 0 || n_merges > SP_TOK_MAX_VOCAB - SP_TOK_N_BASE)
        return sp_fail(SP_ERR_INPUT, "tokenizer: %d merges is out of range", n_merges);
    if (lowercase != 0 && lowercase != 1)
        return sp_fail(SP_ERR_INPUT, "tokenizer: lowercase must be 0 or 1, got %d", lowercase);
    sp_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory");
    t->n_merges = n_merges;
    t->lowercase = lowercase;
    t->merges = malloc(((size_t)n_merges * 2 + 1) * sizeof *t->merges);
    if (!t->merges) {
        sp_tokenizer_free(t);
        return sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory for %d merges", n_merges);
    }
    if (n_merges > 0) memcpy(t->merges, merges, (size_t)n_merges * 2 * sizeof *merges);
    sp_status st = tokenizer_build(t);
    if (st != SP_OK) {
        sp_tokenizer_free(t);
        return st;
    }
    *out = t;
    return SP_OK;
}

/* Ids of one chunk via the cache, else the merge loop; returns their count (<= n). */
static int encode_chunk(const sp_tokenizer *t, const uint8_t *chunk, int n, int32_t *ids)
{
    if (n == 1) {
        ids[0] = SP_TOK_BYTE0 + chunk[0];
        return 1;
    }
    if (t->n_merges > 0) {
        uint64_t h = sp_tok_hash_bytes(chunk, (size_t)n);
        for (size_t i = h & t->cache_mask; t->cache_slots[i] >= 0; i = (i + 1) & t->cache_mask) {
            if (t->cache_hash[i] != h) continue;
            int32_t r = t->cache_slots[i], id = SP_TOK_N_BASE + r;
            if ((int)t->tok_len[id] == n && memcmp(t->tok_bytes + t->tok_off[id], chunk, (size_t)n) == 0) {
                memcpy(ids, t->cache_ids + t->cache_off[r], t->cache_len[r] * sizeof *ids);
                return t->cache_len[r];
            }
        }
    }
    return sp_tok_encode_chunk_uncached(t, chunk, n, ids);
}

/* Encodes text into ids[0..cap); returns the full count, or stops at the first chunk that reaches cap
 * when stop_when_full (the count returned is then >= cap). */
static size_t encode_impl(const sp_tokenizer *t, const uint8_t *text, size_t len, int32_t *ids, size_t cap,
                          int stop_when_full)
{
    sp_pretok_iter it;
    sp_pretok_init(&it, text, len);
    size_t s, e, count = 0;
    uint8_t lower[SP_TOK_MAX_CHUNK];
    int32_t buf[SP_TOK_MAX_CHUNK];
    while (sp_pretok_next(&it, &s, &e)) {
        const uint8_t *chunk = text + s;
        int n = (int)(e - s);
        if (t->lowercase) {
            for (int i = 0; i < n; i++) lower[i] = sp_tok_lower(chunk[i]);
            chunk = lower;
        }
        int k = encode_chunk(t, chunk, n, buf);
        if (count < cap) memcpy(ids + count, buf, ((size_t)k < cap - count ? (size_t)k : cap - count) * sizeof *ids);
        count += (size_t)k;
        if (stop_when_full && count >= cap) break;
    }
    return count;
}

size_t sp_tokenizer_encode(const sp_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t cap)
{
    return encode_impl(t, (const uint8_t *)text, len, ids, cap, 0);
}

int sp_tokenizer_encode_fixed(const sp_tokenizer *t, const char *text, int max_len, int32_t *ids)
{
    if (max_len < 2) return -1;
    size_t body = (size_t)max_len - 2;
    size_t n = encode_impl(t, (const uint8_t *)text, strlen(text), ids + 1, body, 1);
    if (n > body) n = body;
    ids[0] = SP_TOK_CLS;
    ids[n + 1] = SP_TOK_SEP;
    for (size_t i = n + 2; i < (size_t)max_len; i++) ids[i] = SP_TOK_PAD;
    return (int)n + 2;
}

sp_status sp_tokenizer_decode(const sp_tokenizer *t, const int32_t *ids, size_t n, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    int vocab = sp_tokenizer_vocab_size(t);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= vocab)
            return sp_fail(SP_ERR_INPUT, "tokenizer decode: id %d at position %zu is outside 0 .. %d; the ids "
                           "come from another tokenizer", (int)ids[i], i, vocab - 1);
        if (ids[i] >= SP_TOK_BYTE0) total += t->tok_len[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) return sp_fail(SP_ERR_NOMEM, "tokenizer decode: out of memory for %zu bytes", total);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < SP_TOK_BYTE0) continue;
        memcpy(out + off, t->tok_bytes + t->tok_off[ids[i]], t->tok_len[ids[i]]);
        off += t->tok_len[ids[i]];
    }
    out[off] = '\0';
    *text = out;
    *len = off;
    return SP_OK;
}
