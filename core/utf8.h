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
 * Charsets without a table here (CJK, Cyrillic, the other ISO-8859 and windows-125x) go through glibc's
 * iconv; docs/mail-text.md lists the labels, the aliases and the fallback for unknown labels.
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

/* How a charset label is decoded (sp_charset_lookup). */
typedef enum {
    SP_CHARSET_UTF8,         /* utf-8 and its labels: repaired as sp_utf8_sanitize */
    SP_CHARSET_WINDOWS_1252, /* us-ascii, iso-8859-1 and the other WHATWG windows-1252 labels, NULL or "" */
    SP_CHARSET_ISO_8859_15,  /* iso-8859-15 / latin9 */
    SP_CHARSET_ICONV,        /* any other label glibc's iconv converts (after the aliases of charset.c) */
    SP_CHARSET_UNKNOWN       /* a label nothing knows: decoded as windows-1252 and counted as a fallback */
} sp_charset;

/* What charset conversions met, accumulated over calls (one struct per message in the importer). */
typedef struct {
    size_t fallbacks;         /* conversions whose unknown label decided the decoding (as windows-1252) */
    size_t replaced;          /* bytes invalid in an iconv-decoded charset, each written as U+FFFD */
    char fallback_label[32];  /* the first such label, lower-cased, quotes dropped (NUL-terminated) */
} sp_charset_stats;

/* Flags of sp_charset_append. */
enum {
    /* Text that is valid UTF-8 is kept as UTF-8 whatever the label says (mislabelled UTF-8 is common in mail
     * and Latin or CJK text is almost never valid UTF-8 by accident); not applied for the 7-bit escape
     * encodings (iso-2022-*, utf-7, hz), whose text is pure ASCII. */
    SP_CHARSET_TRUST_UTF8 = 1
};

/* Classifies a charset label (name[0..len), len may be (size_t)-1 for a NUL-terminated name): case is
 * ignored, surrounding quotes/blanks and an RFC 2231 "*language" suffix are dropped, and the aliases of
 * docs/mail-text.md apply (gb2312 -> GB18030, ks_c_5601-1987 -> CP949, shift_jis -> CP932, big5 ->
 * BIG5-HKSCS, iso-8859-8-i -> ISO-8859-8, an "x-" prefix is dropped when the rest is known, ...). If
 * iconv_name is not NULL it receives, for SP_CHARSET_ICONV, the name handed to iconv_open (else ""). */
sp_charset sp_charset_lookup(const char *name, size_t len, char iconv_name[32]);

/* Appends s[0..len), in the charset labelled name[0..name_len) (NULL: none), to b as valid UTF-8 with NUL
 * bytes dropped. Table charsets (SP_CHARSET_UTF8/WINDOWS_1252/ISO_8859_15) use sp_utf8_append_decoded;
 * others go through iconv, where every byte at which the charset's decoder stops (invalid or unmappable
 * sequence) becomes one U+FFFD and decoding resumes at the next byte, and a sequence cut off by the end of
 * the input becomes one U+FFFD; unknown labels are decoded as windows-1252. stats (may be NULL) accumulates
 * what happened. flags: SP_CHARSET_TRUST_UTF8 or 0. Allocation failure sets b->failed. */
void sp_charset_append(sp_textbuf *b, const char *name, size_t name_len, const char *s, size_t len, int flags,
                       sp_charset_stats *stats);

/* 1 if the label name[0..len) can serve as a guess for unlabelled 8-bit text: an SP_CHARSET_ICONV charset
 * that is not a 7-bit escape encoding (iso-2022-*, utf-7, hz: they cannot describe 8-bit bytes). */
int sp_charset_guess_usable(const char *name, size_t len);

/* Finds the first declaration "charset=<label>" in s[0..len) (case ignored; blanks, quotes or a
 * quoted-printable "3D" may follow the '=') whose label sp_charset_guess_usable accepts, copies the label to
 * label[32] and returns 1; returns 0 (label "") if there is none. It reads Content-Type parameters and HTML <meta>
 * declarations alike, to guess the charset of unlabelled text from the rest of its message. */
int sp_charset_find_declared(const char *s, size_t len, char label[32]);

/* sp_charset_append(name, s, len, flags 0, no stats) into a new NUL-terminated string (caller frees).
 *   sp_charset_to_utf8("big5", "\xA4\xA4\xA4\xE5", 4, &u, &n)    // u = "\xE4\xB8\xAD\xE6\x96\x87" (U+4E2D U+6587)
 *   sp_charset_to_utf8("x-nonsense", "caf\xE9", 4, &u, &n)       // windows-1252: "caf\xC3\xA9"
 * Fails only with SP_ERR_NOMEM. */
sp_status sp_charset_to_utf8(const char *charset, const char *s, size_t len, char **out, size_t *out_len);

/* Appends s[0..len) decoded from a table charset (SP_CHARSET_UTF8, _WINDOWS_1252 or _ISO_8859_15; any other
 * value is read as windows-1252) to b as valid UTF-8, NUL bytes dropped. In windows-1252 the five unassigned
 * bytes (0x81 0x8D 0x8F 0x90 0x9D) become U+FFFD. The building block of sp_utf8_sanitize and
 * sp_charset_append. */
void sp_utf8_append_decoded(sp_textbuf *b, sp_charset cs, const char *s, size_t len);

#endif
