/* textbuf.h: a growable byte buffer with a sticky allocation-failure flag, for the text decoders.
 *
 * Appends never fail visibly: after the first failed allocation every later append is a no-op and
 * sp_textbuf_finish reports SP_ERR_NOMEM once, so decoders need no error check per byte.
 *
 *     sp_textbuf b; sp_textbuf_init(&b);
 *     sp_textbuf_append(&b, "abc", 3); sp_textbuf_put_codepoint(&b, 0xE9);
 *     char *s; size_t n;
 *     if (sp_textbuf_finish(&b, &s, &n) != SP_OK) return SP_ERR_NOMEM;   // s = "abc\xC3\xA9", n = 5
 *     free(s);
 */
#ifndef SPLINTER_TEXTBUF_H
#define SPLINTER_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "status.h"

typedef struct {
    char *data;  /* len bytes of content; not NUL-terminated until sp_textbuf_finish */
    size_t len;
    size_t cap;
    int failed;  /* nonzero once an allocation failed; all later appends are ignored */
} sp_textbuf;

/* Empty buffer, no allocation yet. */
void sp_textbuf_init(sp_textbuf *b);

/* Ensures room for `extra` more bytes; returns 0 on success, -1 (and sets failed) on allocation failure. */
int sp_textbuf_reserve(sp_textbuf *b, size_t extra);

/* Appends n bytes of s. */
void sp_textbuf_append(sp_textbuf *b, const char *s, size_t n);

/* Appends the UTF-8 encoding of code point cp (cp must be a scalar value, <= 0x10FFFF, not a surrogate;
 * anything else is written as U+FFFD). */
void sp_textbuf_put_codepoint(sp_textbuf *b, uint32_t cp);

/* Appends one byte. */
static inline void sp_textbuf_putc(sp_textbuf *b, char c)
{
    if (b->len == b->cap && sp_textbuf_reserve(b, 1) != 0) return;
    b->data[b->len++] = c;
}

/* Removes trailing bytes that are ASCII whitespace (space, tab, CR, LF). */
void sp_textbuf_rtrim(sp_textbuf *b);

/* Hands the content over as a NUL-terminated malloc'd string (caller frees) and resets the buffer.
 * Returns SP_ERR_NOMEM (with a message) and frees everything if any allocation failed. */
sp_status sp_textbuf_finish(sp_textbuf *b, char **out, size_t *out_len);

/* Releases the content (safe on an initialised or finished buffer). */
void sp_textbuf_free(sp_textbuf *b);

#endif
