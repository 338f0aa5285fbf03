/* textbuf.c: growable byte buffer with a sticky failure flag (see textbuf.h). */
#include "textbuf.h"

#include <stdlib.h>

void sp_textbuf_init(sp_textbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

int sp_textbuf_reserve(sp_textbuf *b, size_t extra)
{
    if (b->failed) return -1;
    if (extra <= b->cap - b->len) return 0;
    size_t need = b->len + extra + 1; /* +1 keeps room for the terminating NUL of finish */
    if (need < b->len) goto fail;     /* overflow */
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) goto fail;
    b->data = p;
    b->cap = cap - 1;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

void sp_textbuf_append(sp_textbuf *b, const char *s, size_t n)
{
    if (n == 0 || sp_textbuf_reserve(b, n) != 0) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void sp_textbuf_put_codepoint(sp_textbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sp_textbuf_append(b, u, n);
}

void sp_textbuf_rtrim(sp_textbuf *b)
{
    while (b->len > 0) {
        char c = b->data[b->len - 1];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
        b->len--;
    }
}

sp_status sp_textbuf_finish(sp_textbuf *b, char **out, size_t *out_len)
{
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!b->failed && b->data == NULL) sp_textbuf_reserve(b, 1);
    if (b->failed) {
        sp_textbuf_free(b);
        return sp_fail(SP_ERR_NOMEM,
                       "out of memory while decoding text; free memory or process fewer messages at once");
    }
    b->data[b->len] = '\0'; /* reserve() always keeps one spare byte past cap */
    *out = b->data;
    if (out_len) *out_len = b->len;
    sp_textbuf_init(b);
    return SP_OK;
}

void sp_textbuf_free(sp_textbuf *b)
{
    free(b->data);
    sp_textbuf_init(b);
}
