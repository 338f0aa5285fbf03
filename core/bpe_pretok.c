/* bpe_pretok.c: the tokenizer's chunking rules, over bytes (no UTF-8 decoding, so any byte sequence is
 * accepted). Byte classes: letters = A-Z a-z and every byte >= 0x80 (so UTF-8 words and stray 8-bit
 * bytes stay together); digits = 0-9; space = ' ' \t \n \v \f \r; other = the rest (NUL included).
 * The chunks are those of the GPT-2 pattern without its English contractions,
 *     ' ?L+| ?D+| ?O+|\s+(?!\S)|\s+'
 * (tests/ref/bpe_reference.py applies that regex literally), each cut into pieces of at most
 * SP_TOK_MAX_CHUNK bytes so a long run (a URL, a base64 line) costs linear time everywhere. */
#include "tokenizer_internal.h"

enum { CLASS_LETTER, CLASS_DIGIT, CLASS_SPACE, CLASS_OTHER };

static int byte_class(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return CLASS_LETTER;
    if (c >= '0' && c <= '9') return CLASS_DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return CLASS_SPACE;
    return CLASS_OTHER;
}

/* End of the rule-level chunk that starts at i < n. */
static size_t chunk_end(const uint8_t *t, size_t n, size_t i)
{
    size_t j = i;
    if (t[i] == ' ' && i + 1 < n && byte_class(t[i + 1]) != CLASS_SPACE) {
        /* ' ?L+', ' ?D+', ' ?O+' with the optional space present */
        int c = byte_class(t[i + 1]);
        j = i + 2;
        while (j < n && byte_class(t[j]) == c) j++;
        return j;
    }
    int c = byte_class(t[i]);
    while (j < n && byte_class(t[j]) == c) j++;
    /* '\s+(?!\S)': a space run followed by a non-space leaves its last byte to the next chunk (where
     * a ' ' joins the word after it); a single space byte is then matched by the plain '\s+'. */
    if (c == CLASS_SPACE && j < n && j - i >= 2) j--;
    return j;
}

void sp_pretok_init(sp_pretok_iter *it, const uint8_t *text, size_t n)
{
    it->text = text;
    it->n = n;
    it->pos = 0;
    it->run_end = 0;
}

int sp_pretok_next(sp_pretok_iter *it, size_t *start, size_t *end)
{
    if (it->pos >= it->n) return 0;
    if (it->pos >= it->run_end) it->run_end = chunk_end(it->text, it->n, it->pos);
    size_t e = it->run_end;
    if (e - it->pos > SP_TOK_MAX_CHUNK) e = it->pos + SP_TOK_MAX_CHUNK;
    *start = it->pos;
    *end = e;
    it->pos = e;
    return 1;
}

uint64_t sp_tok_hash_bytes(const uint8_t *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return sp_tok_hash_pair(h ^ n);
}
