/* bpe_train.c: learning the merges of the byte-level BPE from training texts.
 *
 * 1. Chunk the texts (bpe_pretok.c) and count each distinct chunk ("word") once with its frequency.
 * 2. Count every adjacent symbol pair over the words (weighted by frequency), with for each pair a list
 *    of the words it occurs in (lists may hold stale words; they are checked when used).
 * 3. Repeatedly take the pair with the highest count, ties to the lowest (left, right) ids, from a
 *    max-heap with lazy deletion: counts of existing pairs only ever fall (a merge only creates pairs
 *    that contain the new symbol), so a popped entry whose count is out of date is pushed back with
 *    its current count and the first entry that is up to date is the true maximum.
 * 4. Merge it in the words of its list only, updating pair counts and lists from those words.
 * The result depends on the multiset of texts only (not their order), so training is deterministic. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

/* ---- growable arrays ---- */

/* Makes room for n elements of size sz in *p (capacity *cap); 0 on success. */
static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* ---- step 1: distinct chunks and their frequencies ---- */

typedef struct {
    uint8_t *bytes;   /* chunk bytes, concatenated */
    size_t nbytes, bytes_cap;
    uint32_t *off;    /* [n] */
    uint8_t *len;     /* [n] <= SP_TOK_MAX_CHUNK */
    int64_t *freq;    /* [n] */
    uint64_t *hash;   /* [n] */
    size_t n, cap;
    int32_t *slots;   /* [mask+1] entry index, -1 = empty */
    size_t mask;
} chunk_table;

static void chunk_table_free(chunk_table *c)
{
    free(c->bytes);
    free(c->off);
    free(c->len);
    free(c->freq);
    free(c->hash);
    free(c->slots);
}

/* Rebuilds the slot array with cap (a power of two) slots; 0 on success. */
static int chunk_table_rehash(chunk_table *c, size_t cap)
{
    int32_t *s = malloc(cap * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < cap; i++) s[i] = -1;
    for (size_t e = 0; e < c->n; e++) {
        size_t i = c->hash[e] & (cap - 1);
        while (s[i] >= 0) i = (i + 1) & (cap - 1);
        s[i] = (int32_t)e;
    }
    free(c->slots);
    c->slots = s;
    c->mask = cap - 1;
    return 0;
}

/* Adds one occurrence of chunk s[0..n). */
static int chunk_table_add(chunk_table *c, const uint8_t *s, size_t n)
{
    uint64_t h = sp_tok_hash_bytes(s, n);
    size_t i = h & c->mask;
    for (; c->slots[i] >= 0; i = (i + 1) & c->mask) {
        int32_t e = c->slots[i];
        if (c->hash[e] == h && c->len[e] == n && memcmp(c->bytes + c->off[e], s, n) == 0) {
            c->freq[e]++;
            return 0;
        }
    }
    if (c->n >= INT32_MAX - 1 || c->nbytes + n > UINT32_MAX) return -1;
    size_t cap = c->cap;
    if (grow((void **)&c->off, &cap, c->n + 1, sizeof *c->off)) return -1;
    cap = c->cap;
    if (grow((void **)&c->len, &cap, c->n + 1, sizeof *c->len)) return -1;
    cap = c->cap;
    if (grow((void **)&c->freq, &cap, c->n + 1, sizeof *c->freq)) return -1;
    cap = c->cap;
    if (grow((void **)&c->hash, &cap, c->n + 1, sizeof *c->hash)) return -1;
    c->cap = cap;
    if (grow((void **)&c->bytes, &c->bytes_cap, c->nbytes + n, 1)) return -1;
    memcpy(c->bytes + c->nbytes, s, n);
    c->off[c->n] = (uint32_t)c->nbytes;
    c->len[c->n] = (uint8_t)n;
    c->freq[c->n] = 1;
    c->hash[c->n] = h;
    c->slots[i] = (int32_t)c->n;
    c->nbytes += n;
    c->n++;
    if (2 * c->n > c->mask + 1) return chunk_table_rehash(c, 2 * (c->mask + 1));
    return 0;
}

/* Counts the chunks of all texts (lens NULL = strlen), case-folded first if lowercase; 0 on success. */
static int chunk_table_count(chunk_table *c, const char *const *texts, const size_t *lens, size_t n_texts,
                             int lowercase)
{
    if (chunk_table_rehash(c, 1 << 12)) return -1;
    uint8_t lower[SP_TOK_MAX_CHUNK];
    for (size_t d = 0; d < n_texts; d++) {
        const uint8_t *text = (const uint8_t *)texts[d];
        size_t len = lens ? lens[d] : strlen(texts[d]);
        sp_pretok_iter it;
        sp_pretok_init(&it, text, len);
        size_t s, e;
        while (sp_pretok_next(&it, &s, &e)) {
            const uint8_t *chunk = text + s;
            if (lowercase) {
                for (size_t i = 0; i < e - s; i++) lower[i] = sp_tok_lower(chunk[i]);
                chunk = lower;
            }
            if (chunk_table_add(c, chunk, e - s)) return -1;
        }
    }
    return 0;
}

/* ---- steps 2-4: pairs, heap, merges ---- */

typedef struct {
    int64_t count;
    int32_t left, right;
} heap_entry;

typedef struct {
    /* words: symbols sym[off[w] .. off[w]+len[w]), frequency freq[w] */
    int32_t *sym;
    uint32_t *woff;
    uint8_t *wlen;
    int64_t *wfreq;
    size_t n_words;

    /* pairs: key -> index via open addressing; per pair counts and the head of its word list */
    uint64_t *keys;     /* [mask+1], 0 = empty */
    int32_t *slot_pair; /* [mask+1] */
    size_t mask;
    int32_t *left, *right, *head, *touched;
    int64_t *count;
    size_t n_pairs, pairs_cap;

    /* word lists: singly linked nodes, prepended */
    int32_t *node_word, *node_next;
    size_t n_nodes, nodes_cap;

    heap_entry *heap;
    size_t heap_n, heap_cap;

    int32_t *touched_list;
    size_t n_touched, touched_cap;
} trainer;

static void trainer_free(trainer *tr)
{
    free(tr->sym);
    free(tr->woff);
    free(tr->wlen);
    free(tr->wfreq);
    free(tr->keys);
    free(tr->slot_pair);
    free(tr->left);
    free(tr->right);
    free(tr->head);
    free(tr->touched);
    free(tr->count);
    free(tr->node_word);
    free(tr->node_next);
    free(tr->heap);
    free(tr->touched_list);
}

/* a ranks above b: higher count, then lower left id, then lower right id */
static int heap_above(const heap_entry *a, const heap_entry *b)
{
    if (a->count != b->count) return a->count > b->count;
    if (a->left != b->left) return a->left < b->left;
    return a->right < b->right;
}

/* Pushes (count, left, right) on the max-heap; 0 on success. */
static int heap_push(trainer *tr, int64_t count, int32_t left, int32_t right)
{
    if (grow((void **)&tr->heap, &tr->heap_cap, tr->heap_n + 1, sizeof *tr->heap)) return -1;
    heap_entry e = {count, left, right};
    size_t i = tr->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_above(&e, &tr->heap[p])) break;
        tr->heap[i] = tr->heap[p];
        i = p;
    }
    tr->heap[i] = e;
    return 0;
}

/* Removes and returns the top entry; the heap must not be empty. */
static heap_entry heap_pop(trainer *tr)
{
    heap_entry top = tr->heap[0], last = tr->heap[--tr->heap_n];
    size_t i = 0, n = tr->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_above(&tr->heap[c + 1], &tr->heap[c])) c++;
        if (!heap_above(&tr->heap[c], &last)) break;
        tr->heap[i] = tr->heap[c];
        i = c;
    }
    if (n > 0) tr->heap[i] = last;
    return top;
}

/* Rebuilds the pair index with cap (a power of two) slots; 0 on success. */
static int pairs_rehash(trainer *tr, size_t cap)
{
    uint64_t *k = calloc(cap, sizeof *k);
    int32_t *s = malloc(cap * sizeof *s);
    if (!k || !s) {
        free(k);
        free(s);
        return -1;
    }
    for (size_t p = 0; p < tr->n_pairs; p++) {
        uint64_t key = sp_tok_pair_key(tr->left[p], tr->right[p]);
        size_t i = sp_tok_hash_pair(key) & (cap - 1);
        while (k[i] != 0) i = (i + 1) & (cap - 1);
        k[i] = key;
        s[i] = (int32_t)p;
    }
    free(tr->keys);
    free(tr->slot_pair);
    tr->keys = k;
    tr->slot_pair = s;
    tr->mask = cap - 1;
    return 0;
}

/* Index of pair (a, b), created with count 0 if new; -1 on allocation failure. */
static int32_t pair_get(trainer *tr, int32_t a, int32_t b)
{
    uint64_t key = sp_tok_pair_key(a, b);
    size_t i = sp_tok_hash_pair(key) & tr->mask;
    for (; tr->keys[i] != 0; i = (i + 1) & tr->mask)
        if (tr->keys[i] == key) return tr->slot_pair[i];
    if (tr->n_pairs >= INT32_MAX - 1) return -1;
    size_t n = tr->n_pairs + 1, cap = tr->pairs_cap;
    if (grow((void **)&tr->left, &cap, n, sizeof *tr->left)) return -1;
    cap = tr->pairs_cap;
    if (grow((void **)&tr->right, &cap, n, sizeof *tr->right)) return -1;
    cap = tr->pairs_cap;
    if (grow((void **)&tr->head, &cap, n, sizeof *tr->head)) return -1;
    cap = tr->pairs_cap;
    if (grow((void **)&tr->touched, &cap, n, sizeof *tr->touched)) return -1;
    cap = tr->pairs_cap;
    if (grow((void **)&tr->count, &cap, n, sizeof *tr->count)) return -1;
    tr->pairs_cap = cap;
    int32_t p = (int32_t)tr->n_pairs++;
    tr->left[p] = a;
    tr->right[p] = b;
    tr->head[p] = -1;
    tr->touched[p] = -1;
    tr->count[p] = 0;
    tr->keys[i] = key;
    tr->slot_pair[i] = p;
    if (2 * tr->n_pairs > tr->mask + 1 && pairs_rehash(tr, 2 * (tr->mask + 1))) return -1;
    return p;
}

/* Records that word w contains pair p (unless p's list already starts with w). */
static int pair_note_word(trainer *tr, int32_t p, int32_t w)
{
    if (tr->head[p] >= 0 && tr->node_word[tr->head[p]] == w) return 0;
    if (tr->n_nodes >= INT32_MAX - 1) return -1;
    size_t cap = tr->nodes_cap;
    if (grow((void **)&tr->node_word, &cap, tr->n_nodes + 1, sizeof *tr->node_word)) return -1;
    cap = tr->nodes_cap;
    if (grow((void **)&tr->node_next, &cap, tr->n_nodes + 1, sizeof *tr->node_next)) return -1;
    tr->nodes_cap = cap;
    int32_t node = (int32_t)tr->n_nodes++;
    tr->node_word[node] = w;
    tr->node_next[node] = tr->head[p];
    tr->head[p] = node;
    return 0;
}

/* Words from the chunk table, their pairs, word lists and the initial heap. */
static int trainer_init(trainer *tr, const chunk_table *c)
{
    tr->n_words = c->n;
    tr->sym = malloc((c->nbytes + 1) * sizeof *tr->sym);
    tr->woff = malloc((c->n + 1) * sizeof *tr->woff);
    tr->wlen = malloc(c->n + 1);
    tr->wfreq = malloc((c->n + 1) * sizeof *tr->wfreq);
    if (!tr->sym || !tr->woff || !tr->wlen || !tr->wfreq || pairs_rehash(tr, 1 << 14)) return -1;
    for (size_t w = 0; w < c->n; w++) {
        tr->woff[w] = c->off[w];
        tr->wlen[w] = c->len[w];
        tr->wfreq[w] = c->freq[w];
        int32_t *s = tr->sym + c->off[w];
        for (size_t i = 0; i < c->len[w]; i++) s[i] = SP_TOK_BYTE0 + c->bytes[c->off[w] + i];
        for (size_t i = 0; i + 1 < c->len[w]; i++) {
            int32_t p = pair_get(tr, s[i], s[i + 1]);
            if (p < 0 || pair_note_word(tr, p, (int32_t)w)) return -1;
            tr->count[p] += c->freq[w];
        }
    }
    for (size_t p = 0; p < tr->n_pairs; p++)
        if (heap_push(tr, tr->count[p], tr->left[p], tr->right[p])) return -1;
    return 0;
}

/* Adds delta to pair (a, b); with `is_new` (the pair holds the new symbol) notes word w and marks the
 * pair as touched in this step so its new count is pushed on the heap. */
static int pair_update(trainer *tr, int32_t a, int32_t b, int64_t delta, int is_new, int32_t w, int32_t step)
{
    int32_t p = pair_get(tr, a, b);
    if (p < 0) return -1;
    tr->count[p] += delta;
    if (!is_new) return 0;
    if (pair_note_word(tr, p, w)) return -1;
    if (tr->touched[p] != step) {
        tr->touched[p] = step;
        if (grow((void **)&tr->touched_list, &tr->touched_cap, tr->n_touched + 1, sizeof *tr->touched_list))
            return -1;
        tr->touched_list[tr->n_touched++] = p;
    }
    return 0;
}

/* Replaces (a, b) by z in word w, left to right, and updates the pair counts; no-op if absent. */
static int merge_in_word(trainer *tr, int32_t w, int32_t a, int32_t b, int32_t z, int32_t step)
{
    int32_t *s = tr->sym + tr->woff[w];
    int n = tr->wlen[w];
    int64_t f = tr->wfreq[w];
    int found = 0;
    for (int i = 0; i + 1 < n && !found; i++) found = s[i] == a && s[i + 1] == b;
    if (!found) return 0;
    for (int i = 0; i + 1 < n; i++)
        if (pair_update(tr, s[i], s[i + 1], -f, 0, w, step)) return -1;
    int m = 0;
    for (int i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            s[m++] = z;
            i += 2;
        } else {
            s[m++] = s[i++];
        }
    }
    tr->wlen[w] = (uint8_t)m;
    for (int i = 0; i + 1 < m; i++)
        if (pair_update(tr, s[i], s[i + 1], f, s[i] == z || s[i + 1] == z, w, step)) return -1;
    return 0;
}

/* Runs up to max_merges merges; writes them to merges[2*r], merges[2*r+1]; *n_out = how many. */
static int trainer_run(trainer *tr, int max_merges, int32_t *merges, int *n_out)
{
    int r = 0;
    while (r < max_merges && tr->heap_n > 0) {
        heap_entry e = heap_pop(tr);
        int32_t p = pair_get(tr, e.left, e.right);
        if (p < 0) return -1;
        if (tr->count[p] != e.count) {
            if (tr->count[p] > 0 && heap_push(tr, tr->count[p], e.left, e.right)) return -1;
            continue;
        }
        if (e.count <= 0) continue;
        int32_t z = SP_TOK_N_BASE + r;
        merges[2 * r] = e.left;
        merges[2 * r + 1] = e.right;
        tr->n_touched = 0;
        int32_t node = tr->head[p];
        tr->head[p] = -1; /* the pair disappears from every word it is merged in */
        for (; node >= 0; node = tr->node_next[node])
            if (merge_in_word(tr, tr->node_word[node], e.left, e.right, z, r)) return -1;
        for (size_t k = 0; k < tr->n_touched; k++) {
            int32_t q = tr->touched_list[k];
            if (tr->count[q] > 0 && heap_push(tr, tr->count[q], tr->left[q], tr->right[q])) return -1;
        }
        r++;
    }
    *n_out = r;
    return 0;
}

sp_status sp_tokenizer_train_lens(const char *const *texts, const size_t *lens, size_t n_texts,
                                  const sp_tokenizer_options *opt, sp_tokenizer **out)
{
    *out = NULL;
    sp_tokenizer_options o = opt ? *opt : sp_tokenizer_defaults();
    if (o.vocab_size < SP_TOK_N_BASE || o.vocab_size > SP_TOK_MAX_VOCAB)
        return sp_fail(SP_ERR_USAGE, "tokenizer: vocab_size %d is outside %d (5 specials + 256 bytes) .. %d; "
                       "choose a vocab_size in that range", o.vocab_size, SP_TOK_N_BASE, SP_TOK_MAX_VOCAB);
    if (o.lowercase != 0 && o.lowercase != 1)
        return sp_fail(SP_ERR_USAGE, "tokenizer: lowercase must be 0 or 1, got %d", o.lowercase);
    if (n_texts > 0 && !texts) return sp_fail(SP_ERR_USAGE, "tokenizer: texts is NULL for %zu texts", n_texts);
    for (size_t d = 0; d < n_texts; d++)
        if (!texts[d]) return sp_fail(SP_ERR_INPUT, "tokenizer: training text %zu is NULL", d);

    chunk_table c = {0};
    trainer tr = {0};
    int max_merges = o.vocab_size - SP_TOK_N_BASE, n_merges = 0;
    int32_t *merges = malloc(((size_t)max_merges * 2 + 1) * sizeof *merges);
    sp_status st = SP_OK;
    if (!merges || chunk_table_count(&c, texts, lens, n_texts, o.lowercase) || trainer_init(&tr, &c) ||
        trainer_run(&tr, max_merges, merges, &n_merges))
        st = sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory (or over 4 GB of distinct chunk bytes) while "
                     "training on %zu texts; train on fewer texts", n_texts);
    chunk_table_free(&c);
    trainer_free(&tr);
    if (st == SP_OK) st = sp_tokenizer_from_merges(merges, n_merges, o.lowercase, out);
    free(merges);
    return st;
}

sp_status sp_tokenizer_train(const char *const *texts, size_t n_texts, const sp_tokenizer_options *opt,
                             sp_tokenizer **out)
{
    return sp_tokenizer_train_lens(texts, NULL, n_texts, opt, out);
}
