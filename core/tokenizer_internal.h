/* tokenizer_internal.h: the tokenizer's struct, pre-tokenizer and hashing shared by tokenizer.c
 * (construction, encode, decode), bpe_train.c (merge learning) and tokenizer_io.c (HDF5). Not public. */
#ifndef SPLINTER_TOKENIZER_INTERNAL_H
#define SPLINTER_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

/* Version tag of the chunking rules (bpe_pretok.c); part of the hash, so changing the rules must
 * change the tag. */
#define SP_TOK_PRETOKENIZER "splinter-bytes-gpt2like-v1"

struct sp_tokenizer {
    int n_merges;
    int lowercase;
    int32_t *merges;      /* [n_merges, 2] left, right id of merge rank r (new id 261+r) */

    /* (left, right) -> merged id, open addressing over one 8-byte word per slot (one cache line per
     * probe): bits 0-19 right, 20-39 left, 40-63 merged id; 0 = empty (left >= 5, so no slot is 0) */
    uint64_t *pair_slots; /* [pair_mask + 1] */
    size_t pair_mask;

    /* bytes of every id: tok_bytes[tok_off[id] .. tok_off[id]+tok_len[id]) */
    uint32_t *tok_off;    /* [vocab] */
    uint32_t *tok_len;    /* [vocab] */
    uint8_t *tok_bytes;

    /* read-only cache chunk -> ids, keyed by the byte string of every merged token (frequent words
     * end up as tokens, so their chunks are found here); value = encoding of that string */
    int32_t *cache_slots; /* [cache_cap] merge rank, -1 = empty */
    uint64_t *cache_hash; /* [cache_cap] */
    size_t cache_mask;
    uint32_t *cache_off;  /* [n_merges] into cache_ids */
    uint8_t *cache_len;   /* [n_merges] <= SP_TOK_MAX_CHUNK */
    int32_t *cache_ids;

    char hash[65];
};

/* Iterator over the chunks of text[0..n): each chunk is at most SP_TOK_MAX_CHUNK bytes. */
typedef struct {
    const uint8_t *text;
    size_t n;
    size_t pos;      /* start of the next piece */
    size_t run_end;  /* end of the rule-level chunk pos lies in (pieces cut it at SP_TOK_MAX_CHUNK) */
} sp_pretok_iter;

void sp_pretok_init(sp_pretok_iter *it, const uint8_t *text, size_t n);

/* Next piece [*start, *end); returns 0 when the text is exhausted. */
int sp_pretok_next(sp_pretok_iter *it, size_t *start, size_t *end);

/* 64-bit hash of a byte string (FNV-1a followed by a final mix). */
uint64_t sp_tok_hash_bytes(const uint8_t *s, size_t n);

/* Hash of a (left, right) pair key. */
static inline uint64_t sp_tok_hash_pair(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ULL;
    key ^= key >> 33;
    return key;
}

static inline uint64_t sp_tok_pair_key(int32_t left, int32_t right)
{
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

static inline uint8_t sp_tok_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/* 40-bit key of a pair of ids < SP_TOK_MAX_VOCAB, as stored in pair_slots. */
static inline uint64_t sp_tok_pair_key40(int32_t left, int32_t right)
{
    return ((uint64_t)(uint32_t)left << 20) | (uint32_t)right;
}

/* Merged id of (left, right), or -1 if the pair is not a merge. */
static inline int32_t sp_tok_pair_lookup(const sp_tokenizer *t, int32_t left, int32_t right)
{
    uint64_t key = sp_tok_pair_key40(left, right);
    for (size_t i = sp_tok_hash_pair(key) & t->pair_mask;; i = (i + 1) & t->pair_mask) {
        uint64_t slot = t->pair_slots[i];
        if ((slot & 0xffffffffffULL) == key) return (int32_t)(slot >> 40);
        if (slot == 0) return -1;
    }
}

/* Encodes one chunk (n <= SP_TOK_MAX_CHUNK bytes, already lowercased if the tokenizer folds case) by
 * applying merges lowest rank first, without the cache. Writes ids (room for n) and returns their count. */
int sp_tok_encode_chunk_uncached(const sp_tokenizer *t, const uint8_t *chunk, int n, int32_t *ids);

#endif
