/* tokenizer.h: the byte-level BPE tokenizer that turns texts into token ids for the encoder.
 *
 * Fixed ids, so other modules can rely on them: PAD=0, CLS=1, SEP=2, MASK=3, UNK=4, byte b = 5+b
 * (5..260), merges 261.. in the order they were learned. Text is split into chunks (a GPT-2-like
 * pre-tokenizer over bytes, docs/tokenizer.md); merges never cross chunk boundaries. Any byte
 * sequence, invalid UTF-8 and NUL included, encodes and decodes back exactly (byte fallback: UNK is
 * never produced). A tokenizer is immutable after sp_tokenizer_train / sp_tokenizer_load, so any
 * number of threads may encode and decode with it concurrently.
 *
 *     sp_tokenizer_options opt = sp_tokenizer_defaults();      // vocab 8192, no lowercasing
 *     sp_tokenizer *tok = NULL;
 *     if (sp_tokenizer_train(train_texts, n_train, &opt, &tok) != SP_OK) return ...;
 *     int32_t ids[128];
 *     int n = sp_tokenizer_encode_fixed(tok, text, 128, ids);  // [CLS] ... [SEP] PAD PAD ...
 *     sp_tokenizer_save(tok, file, "/tokenizer");             // merges + attrs, hash in the run
 *     sp_tokenizer_free(tok);
 */
#ifndef SPLINTER_TOKENIZER_H
#define SPLINTER_TOKENIZER_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "status.h"

enum {
    SP_TOK_PAD = 0,
    SP_TOK_CLS = 1,
    SP_TOK_SEP = 2,
    SP_TOK_MASK = 3,
    SP_TOK_UNK = 4,
    SP_TOK_BYTE0 = 5,       /* byte b has id SP_TOK_BYTE0 + b; ids >= 5 are the text tokens (draw MLM
                               random replacements from SP_TOK_BYTE0 .. vocab_size-1) */
    SP_TOK_N_BASE = 261,    /* specials + 256 bytes: the first merge gets this id */
    SP_TOK_MAX_CHUNK = 64,  /* longer pre-tokenizer chunks are cut into pieces of this many bytes */
    SP_TOK_MAX_VOCAB = 1 << 20 /* largest vocab_size */
};

typedef struct sp_tokenizer sp_tokenizer;

typedef struct {
    int vocab_size; /* upper bound on specials + bytes + merges; 261 .. 2^20. Training stops earlier
                       when no adjacent pair is left to merge. */
    int lowercase;  /* 1: ASCII A-Z are folded to a-z before training and encoding (decode then returns
                       the folded text); 0 (default): case is kept */
} sp_tokenizer_options;

/* vocab_size 8192, lowercase 0. */
sp_tokenizer_options sp_tokenizer_defaults(void);

/* Learns merges from n_texts NUL-terminated texts (opt NULL = defaults). Deterministic: the same texts
 * in any order and the same options give the same merges (ties go to the lowest (left, right) ids).
 * SP_ERR_USAGE if vocab_size is outside 261 .. SP_TOK_MAX_VOCAB or lowercase is not 0/1. */
sp_status sp_tokenizer_train(const char *const *texts, size_t n_texts, const sp_tokenizer_options *opt,
                             sp_tokenizer **out);

/* As sp_tokenizer_train, with explicit byte lengths (lens NULL = strlen), so texts may hold NUL bytes. */
sp_status sp_tokenizer_train_lens(const char *const *texts, const size_t *lens, size_t n_texts,
                                  const sp_tokenizer_options *opt, sp_tokenizer **out);

/* Trains on the texts of the records of ds whose split is SP_SPLIT_TRAIN (never val, test or OOD text).
 * SP_ERR_INPUT naming the data set if there are none. */
sp_status sp_tokenizer_train_split(const sp_dataset *ds, const sp_tokenizer_options *opt, sp_tokenizer **out);

/* Builds a tokenizer from a merge list: merges[2*i], merges[2*i+1] are the ids joined into id 261+i.
 * Every id must be a byte or an earlier merge, and no pair may repeat; SP_ERR_INPUT otherwise. */
sp_status sp_tokenizer_from_merges(const int32_t *merges, int n_merges, int lowercase, sp_tokenizer **out);

/* Safe on NULL. */
void sp_tokenizer_free(sp_tokenizer *t);

/* Number of ids in use: 261 + number of merges (<= the requested vocab_size). Ids are 0 .. size-1. */
int sp_tokenizer_vocab_size(const sp_tokenizer *t);
int sp_tokenizer_n_merges(const sp_tokenizer *t);
int sp_tokenizer_lowercase(const sp_tokenizer *t);

/* The two ids merged into id 261+rank (0 <= rank < n_merges). */
void sp_tokenizer_merge(const sp_tokenizer *t, int rank, int32_t *left, int32_t *right);

/* The bytes of a token (NULL, 0 for specials and ids out of range); not NUL-terminated. */
const char *sp_tokenizer_token_bytes(const sp_tokenizer *t, int32_t id, size_t *len);

/* Ids of text[0..len) without specials. Writes min(count, cap) ids to ids (may be NULL if cap is 0)
 * and returns count, so a return > cap means the buffer was too small. */
size_t sp_tokenizer_encode(const sp_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t cap);

/* ids[0..max_len) = [CLS] first max_len-2 ids of text [SEP], then PAD; text is NUL-terminated. Stops
 * encoding once the window is full, so long texts cost only their prefix. Returns the number of
 * non-PAD ids (2 .. max_len), or -1 (nothing written) if max_len < 2. */
int sp_tokenizer_encode_fixed(const sp_tokenizer *t, const char *text, int max_len, int32_t *ids);

/* encode_fixed of texts[0..n) into ids [n, max_len] (row i = text i), in parallel over texts (OpenMP);
 * lengths[i] = its non-PAD count (lengths may be NULL). Same ids for any thread count. SP_ERR_USAGE if
 * max_len < 2. */
sp_status sp_tokenizer_encode_fixed_batch(const sp_tokenizer *t, const char *const *texts, size_t n, int max_len,
                                          int32_t *ids, int32_t *lengths);

/* Concatenated bytes of ids[0..n), specials skipped. *text is malloc'ed, NUL-terminated (the text may
 * itself hold NULs: use *len), owned by the caller. SP_ERR_INPUT naming the position for an id out of
 * range; nothing is returned then. */
sp_status sp_tokenizer_decode(const sp_tokenizer *t, const int32_t *ids, size_t n, char **text, size_t *len);

/* SHA-256 (64 hex digits) of the pre-tokenizer version, lowercase flag and merges (docs/tokenizer.md):
 * equal hashes mean equal encodings. */
const char *sp_tokenizer_hash(const sp_tokenizer *t);

/* Writes group `group` (created, with missing parents) in an open HDF5 file: dataset merges int32
 * [n_merges, 2]; attrs vocab_size, n_merges, lowercase (int64), pretokenizer, hash (strings).
 * SP_ERR_IO naming file and group if any HDF5 call fails (e.g. the group exists already). */
sp_status sp_tokenizer_save(const sp_tokenizer *t, hid_t file, const char *group);

/* Reads what sp_tokenizer_save wrote and checks it: shapes, ids, vocab_size, pretokenizer version and
 * the stored hash against the recomputed one. SP_ERR_INPUT naming file and group on any mismatch. */
sp_status sp_tokenizer_load(hid_t file, const char *group, sp_tokenizer **out);

#endif
