/* ngram.h: text -> hashed word unigram + bigram features (one sparse row per text).
 *
 * Tokens are maximal runs of word bytes: ASCII letters (lowercased), ASCII digits, and every byte >= 0x80
 * (so UTF-8 words of any script stay whole; they are not case-folded). Everything else separates tokens.
 * Feature ids (docs/linear.md):
 *     unigram w      -> splitmix64(fnv1a64(w))           mod 2^bits
 *     bigram  w1 w2  -> splitmix64(fnv1a64(w1 " " w2))   mod 2^bits   (one space byte between the words)
 * with fnv1a64 and splitmix64 as in seeds.h. A row's value for a feature is its count (tf) or 1 (binary),
 * colliding n-grams adding up; optionally the row is scaled to unit Euclidean norm.
 *
 *     sp_ngram_options o = sp_ngram_options_default();   // 2^18, uni+bigrams, binary, l2-normalised
 *     sp_csr *X = NULL;
 *     if (sp_ngram_featurize(&X, texts, n, &o, 2) != SP_OK) ...;   // X: [n, 2^18]
 *     sp_csr_free(X);
 */
#ifndef SPLINTER_NGRAM_H
#define SPLINTER_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "sparse.h"
#include "status.h"

typedef enum { SP_NGRAM_TF = 0, SP_NGRAM_BINARY = 1 } sp_ngram_weighting;

typedef struct {
    int bits;                     /* feature space 2^bits, 1..30 (default 18) */
    int bigrams;                  /* 1: unigrams and bigrams (default); 0: unigrams only */
    sp_ngram_weighting weighting; /* default SP_NGRAM_BINARY */
    int l2_normalize;             /* 1: each non-empty row scaled to unit norm (default) */
} sp_ngram_options;

sp_ngram_options sp_ngram_options_default(void);

/* SP_ERR_USAGE naming the bad field if the options are out of range. */
sp_status sp_ngram_options_check(const sp_ngram_options *o);

/* Feature id of one n-gram given as its raw bytes (already lowercased; a bigram as "w1 w2"). */
uint32_t sp_ngram_hash(const char *bytes, size_t len, int bits);

/* Calls emit(id, ctx) for every n-gram of `text` in text order: each token's unigram, then (from the second
 * token on) the bigram ending at it. Returns the number of tokens. */
size_t sp_ngram_scan(const char *text, const sp_ngram_options *o, void (*emit)(uint32_t id, void *ctx), void *ctx);

/* One sparse row per text (NULL text = empty row), rows in input order. Rows are built in parallel on
 * `threads` threads (fixed contiguous chunks, concatenated in order), so X does not depend on threads. */
sp_status sp_ngram_featurize(sp_csr **out, char *const *texts, size_t n, const sp_ngram_options *o, int threads);

#endif
