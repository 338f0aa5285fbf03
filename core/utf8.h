/* utf8.h: UTF-8 validation and repair, and conversion of the MIME charsets seen in mail to UTF-8.
 *
 * Everything that leaves the mail decoder is valid UTF-8 without NUL bytes, so tokenizers downstream
 * never meet a broken sequence:
 *
 *     char *u; size_t n;
 *     if (sp_charset_to_utf8("iso-8859-1", "caf\xe9", 4, &u, &n) == SP_OK) {   // u = "caf\xc3\xa9", n = 5
 *         ...; free(u);
 *     }
 *     size_t ok = sp_utf8_valid_prefix(u, n);                                    // == n
 *
 * "Valid" means RFC 3629: shortest form only, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 * Output strings are malloc'd and NUL-terminated; the caller frees them.
 */
#ifndef SPLINTER_UTF8_H
#define SPLINTER_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "textbuf.h"

/* Length in bytes of the longest prefix of s[0..len) that is valid UTF-8 (== len iff all of s is valid).
 * Rejects overlong forms, surrogates and code points above U+10FFFF; a sequence cut off by len is invalid. */
size_t sp_utf8_valid_prefix(const char *s, size_t len);

/* Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 if s[0..len) does not start with one. */
size_t sp_utf8_sequence_length(const char *s, size_t len);

/* Copies s[0..len) into a new NUL-terminated valid UTF-8 string: every byte that does not belong to a valid
 * sequence becomes U+FFFD (one per byte) and NUL bytes are dropped. Fails only with SP_ERR_NOMEM. */
sp_status sp_utf8_sanitize(const char *s, size_t len, char **out, size_t *out_len);

/* Converts s[0..len) from a MIME charset to a new NUL-terminated valid UTF-8 string; NUL bytes are dropped.
 * Charset names are matched case-insensitively and may carry quotes or an RFC 2231 "*language" suffix.
 *   utf-8 (utf8)                                  -> sanitized as sp_utf8_sanitize
 *   us-ascii, iso-8859-1 / latin1 and aliases, windows-1252 / cp1252, NULL or ""
 *                                                 -> windows-1252 (as browsers and the WHATWG Encoding
 *                                                    standard do: mail labelled ASCII or Latin-1 that has
 *                                                    bytes 0x80..0x9F is in practice windows-1252)
 *   iso-8859-15 / latin9                          -> ISO-8859-15
 *   anything else                                 -> windows-1252
 * In windows-1252 the five unassigned bytes (0x81 0x8D 0x8F 0x90 0x9D) become U+FFFD.
 * Fails only with SP_ERR_NOMEM. */
sp_status sp_charset_to_utf8(const char *charset, const char *s, size_t len, char **out, size_t *out_len);

/* Charsets sp_charset_to_utf8 distinguishes. */
typedef enum { SP_CHARSET_UTF8, SP_CHARSET_WINDOWS_1252, SP_CHARSET_ISO_8859_15 } sp_charset;

/* Classifies a charset name (name[0..len), len may be (size_t)-1 for a NUL-terminated name) as above. */
sp_charset sp_charset_lookup(const char *name, size_t len);

/* Appends s[0..len) decoded from charset cs to b as valid UTF-8 (NUL bytes dropped); the building block of
 * sp_utf8_sanitize and sp_charset_to_utf8 for decoders that assemble one output. */
void sp_utf8_append_decoded(sp_textbuf *b, sp_charset cs, const char *s, size_t len);

#endif
