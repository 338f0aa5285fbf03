/* mime_decode.c: quoted-printable, base64 and RFC 2047 decoders (see mime_decode.h). */
#include "mime_decode.h"

#include <string.h>

#include "utf8.h"

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

void sp_qp_decode_append(sp_textbuf *b, const char *s, size_t len, int header_q)
{
    if (sp_textbuf_reserve(b, len) != 0) return; /* output is never longer than input */
    size_t i = 0;
    int after_literal_eq = 0; /* the previous input byte was an '=' kept literally */
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            int hi = i + 2 < len ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value((unsigned char)s[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                b->data[b->len++] = (char)(hi * 16 + lo);
                i += 3;
                after_literal_eq = 0;
                continue;
            }
            /* Soft line break: "=" [blanks] (CRLF | LF | end of input) -- unless this '=' ends a run of
             * literal '=' (a "=====" rule in text that was never really encoded: an encoder writes "=3D"). */
            size_t j = i + 1;
            while (j < len && (s[j] == ' ' || s[j] == '\t')) j++;
            if (!after_literal_eq) {
                if (j == len) break;
                if (s[j] == '\n') { i = j + 1; continue; }
                if (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n') { i = j + 2; continue; }
                if (s[j] == '\r' && j + 1 == len) break;
            }
            b->data[b->len++] = '=';
            i++;
            after_literal_eq = 1;
            continue;
        }
        after_literal_eq = 0;
        if (c == ' ' || c == '\t') {
            /* Blanks at the end of a line were added in transport (RFC 2045 rule 3): drop them. */
            size_t j = i;
            while (j < len && (s[j] == ' ' || s[j] == '\t')) j++;
            if (j == len || s[j] == '\n' || (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n')) {
                i = j;
                continue;
            }
            memcpy(b->data + b->len, s + i, j - i);
            b->len += j - i;
            i = j;
            continue;
        }
        b->data[b->len++] = (header_q && c == '_') ? ' ' : (char)c;
        i++;
    }
}

void sp_base64_decode_append(sp_textbuf *b, const char *s, size_t len)
{
    /* Value of each byte in the base64 alphabet, -1 outside it (constant, so threads can share it). */
    static const signed char table[256] = {
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
        52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
        -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
        15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
        -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
        41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    };
    if (sp_textbuf_reserve(b, len / 4 * 3 + 3) != 0) return;
    uint32_t acc = 0;
    int bits = 0; /* undecoded bits: 6, 4, 2 after 1, 2, 3 characters of a quantum, 0 after 4 */
    int pads = 0; /* '=' seen since the last alphabet character */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            /* Padding that completes a quantum ("xx==" or "xxx=") is the end of the data (RFC 2045 6.8);
             * what follows is typically a mailing-list footer appended to the encoded text. Any other '='
             * is skipped like junk. */
            pads++;
            if ((bits == 4 && pads >= 2) || (bits == 2 && pads >= 1)) break;
            continue;
        }
        int v = table[c];
        if (v < 0) continue;
        pads = 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b->data[b->len++] = (char)((acc >> bits) & 0xFF);
            acc &= (1u << bits) - 1;
        }
    }
}

/* Remembers the last scan for the end of an encoded word, so that a header full of "=?" that never close
 * is still decoded in linear time. */
typedef struct {
    size_t from; /* the scan started here ... */
    size_t stop; /* ... and stopped here: the first "?=", line break, or the end of the input */
    int valid;
} word_scan;

/* Index of the first "?=" or line break at or after `from` in s[0..len), or len. */
static size_t word_end_find(const char *s, size_t from, size_t len, word_scan *cache)
{
    /* The first stop after cache->from is also the first stop after any later start before it. */
    if (cache->valid && from >= cache->from && from <= cache->stop) return cache->stop;
    size_t j = from;
    while (j < len && s[j] != '\n' && s[j] != '\r' && !(s[j] == '?' && j + 1 < len && s[j + 1] == '=')) j++;
    cache->from = from;
    cache->stop = j;
    cache->valid = 1;
    return j;
}

/* Parses an RFC 2047 encoded word at s[0..len) (which starts with "=?"). On success stores the charset,
 * the encoding letter and the encoded text spans and returns the word's length; returns 0 if it is not one.
 * base is the offset of s in the string the cache refers to. */
static size_t encoded_word_parse(const char *s, size_t len, size_t base, word_scan *cache, const char **cs,
                                 size_t *cs_len, char *enc, const char **text, size_t *text_len)
{
    if (len < 8 || s[0] != '=' || s[1] != '?') return 0;
    size_t i = 2;
    while (i < len && s[i] != '?' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && i < 2 + 64) i++;
    if (i == 2 || i + 3 >= len || s[i] != '?') return 0;
    *cs = s + 2;
    *cs_len = i - 2;
    char e = s[i + 1];
    if (e == 'q') e = 'Q';
    if (e == 'b') e = 'B';
    if ((e != 'Q' && e != 'B') || s[i + 2] != '?') return 0;
    size_t t = i + 3;
    /* An encoded word never spans a line break. */
    size_t j = word_end_find(s - base, base + t, base + len, cache) - base;
    if (j >= len || s[j] != '?') return 0;
    *enc = e;
    *text = s + t;
    *text_len = j - t;
    return j + 2;
}

/* Header text outside encoded words: UTF-8 if valid, else raw_charset (if given), else windows-1252. */
static void raw_text_append(sp_textbuf *b, const char *s, size_t len, const char *raw_charset, sp_charset_stats *stats)
{
    if (sp_utf8_valid_prefix(s, len) == len) sp_utf8_append_decoded(b, SP_CHARSET_UTF8, s, len);
    else if (raw_charset) sp_charset_append(b, raw_charset, (size_t)-1, s, len, 0, stats);
    else sp_utf8_append_decoded(b, SP_CHARSET_WINDOWS_1252, s, len);
}

void sp_header_decode_append(sp_textbuf *b, const char *s, size_t len, const char *raw_charset,
                             sp_charset_stats *stats)
{
    sp_textbuf scratch;
    sp_textbuf_init(&scratch);
    word_scan cache = {0, 0, 0};
    size_t raw_start = 0;     /* start of text not yet written */
    int after_word = 0;       /* the last thing written was an encoded word */
    size_t i = 0;
    while (i < len) {
        if (s[i] != '=' || i + 1 >= len || s[i + 1] != '?') {
            i++;
            continue;
        }
        const char *cs, *text;
        size_t cs_len, text_len;
        char enc;
        size_t n = encoded_word_parse(s + i, len - i, i, &cache, &cs, &cs_len, &enc, &text, &text_len);
        if (n == 0) {
            i++;
            continue;
        }
        /* Blanks (and folding) between two encoded words are not part of the text (RFC 2047 6.2). */
        int only_blanks = 1;
        for (size_t k = raw_start; k < i; k++)
            if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r' && s[k] != '\n') { only_blanks = 0; break; }
        if (!(after_word && only_blanks)) raw_text_append(b, s + raw_start, i - raw_start, raw_charset, stats);
        scratch.len = 0;
        if (enc == 'Q') sp_qp_decode_append(&scratch, text, text_len, 1);
        else sp_base64_decode_append(&scratch, text, text_len);
        if (scratch.failed) b->failed = 1;
        sp_charset_append(b, cs, cs_len, scratch.data ? scratch.data : "", scratch.len, 0, stats);
        i += n;
        raw_start = i;
        after_word = 1;
    }
    raw_text_append(b, s + raw_start, len - raw_start, raw_charset, stats);
    sp_textbuf_free(&scratch);
}

sp_status sp_header_decode(const char *s, size_t len, char **out, size_t *out_len)
{
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_header_decode_append(&b, s, len, NULL, NULL);
    return sp_textbuf_finish(&b, out, out_len);
}
