/* mime_decode.h: the byte-level decoders of MIME: quoted-printable, base64, and RFC 2047 encoded words.
 *
 * All of them are total: malformed input is decoded as far as it makes sense and never rejected, because
 * real mail (spam above all) is full of broken encodings.
 *
 *     sp_textbuf b; sp_textbuf_init(&b);
 *     sp_qp_decode_append(&b, "caf=C3=A9 =3D=\n1", 16, 0);          // b = "caf\xC3\xA9 =1"
 *     sp_base64_decode_append(&b, "aGk=", 4);                       // appends "hi"
 *     sp_header_decode_append(&b, "=?iso-8859-1?Q?caf=E9?=", 23, NULL, NULL);  // appends "caf\xC3\xA9"
 */
#ifndef SPLINTER_MIME_DECODE_H
#define SPLINTER_MIME_DECODE_H

#include <stddef.h>

#include "status.h"
#include "textbuf.h"
#include "utf8.h"

/* Appends the quoted-printable decoding of s[0..len) (RFC 2045 6.7): "=HH" (either case) is a byte, "="
 * before a line end (after optional blanks) is a soft line break and vanishes, blanks at the end of a line
 * are dropped, and an "=" that starts neither is kept literally (RFC 2045's advice for robust decoders), as
 * is the last "=" of a run of them at a line end ("=====" rules in text declared quoted-printable). With header_q nonzero, "_" decodes to a
 * space (the RFC 2047 "Q" encoding). Output bytes are raw (not yet charset-converted). */
void sp_qp_decode_append(sp_textbuf *b, const char *s, size_t len, int header_q);

/* Appends the base64 decoding of s[0..len) (RFC 2045 6.8): characters outside the alphabet (line breaks,
 * junk) are skipped, padding that completes a quantum ("xx==", "xxx=") ends the data (text appended after
 * it, such as a list footer, is not base64), any other "=" is skipped, and a dangling partial quantum is
 * dropped. Output bytes are raw. The result equals Python's binascii.a2b_base64 wherever that accepts the
 * input (it rejects a dangling partial quantum). */
void sp_base64_decode_append(sp_textbuf *b, const char *s, size_t len);

/* Appends a header value s[0..len) as valid UTF-8: RFC 2047 encoded words (=?charset?Q?...?= and
 * =?charset?B?...?=, also when glued to other text) are decoded and converted from their charset
 * (sp_charset_append, so any charset iconv knows), blanks between adjacent encoded words are dropped, and
 * raw text is kept when it is valid UTF-8, else decoded from raw_charset (a label; NULL: windows-1252).
 * NUL bytes are dropped; line breaks are kept as they are. stats (may be NULL) accumulates the charset
 * fallbacks and replacements. */
void sp_header_decode_append(sp_textbuf *b, const char *s, size_t len, const char *raw_charset,
                             sp_charset_stats *stats);

/* sp_header_decode_append into a new NUL-terminated string (caller frees). Fails only with SP_ERR_NOMEM. */
sp_status sp_header_decode(const char *s, size_t len, char **out, size_t *out_len);

#endif
