/* mime.h: raw e-mail (RFC 822 / MIME) to the plain text a classifier should see.
 *
 *     sp_mail_options opt = {0};                 // keep_headers = 0: Subject only
 *     char *text; size_t n;
 *     if (sp_mail_to_text(raw, raw_len, &opt, &text, &n) != SP_OK) return SP_ERR_NOMEM;
 *     // text = "<subject>\n\n<body text>", valid UTF-8, no NUL bytes
 *     free(text);
 *
 * Routing headers (Received, Return-Path, Delivered-To, X-*, Message-ID, addresses) are dropped by default
 * because in the SpamAssassin corpus they identify the mailbox a message was collected from, which is the
 * label; docs/mail-text.md gives the reasoning and the exact rules.
 */
#ifndef SPLINTER_MIME_H
#define SPLINTER_MIME_H

#include <stddef.h>

#include "status.h"
#include "utf8.h"

typedef struct {
    int keep_headers; /* 0 (default): the first line is the decoded Subject. Nonzero: every top-level header
                       * field as "Name: decoded value" lines instead (routing headers included) */
} sp_mail_options;

/* Converts the raw message raw[0..len) (optionally preceded by an mbox "From " line) to a new NUL-terminated
 * valid UTF-8 string (caller frees) of the form "Subject\n\nbody text" (with keep_headers: "Name: value\n"
 * lines, then "\n", then the body text). The subject is RFC 2047-decoded with whitespace collapsed ("" if
 * absent). The body text is every readable text part in order, parts separated by one line break:
 *  - multipart/... is walked recursively; of a multipart/alternative only one part is used: text/plain if it
 *    has text, else text/html, else the first other part that has text; preamble and epilogue are dropped;
 *  - message/rfc822 parts contribute their Subject line and their body;
 *  - quoted-printable and base64 are decoded, charsets converted (sp_charset_append: tables for utf-8,
 *    windows-1252 and iso-8859-15, iconv for the others, windows-1252 for unknown labels; text that is valid
 *    UTF-8 is kept as UTF-8 whatever the label says, except for 7-bit iso-2022-* / utf-7; unlabelled 8-bit
 *    text and raw 8-bit header bytes are read in the charset the message declares elsewhere, if any),
 *    text/html (and text/enriched) goes through sp_html_to_text; other text/... parts are plain text;
 *  - non-text parts (application/..., image/..., audio/...) are skipped;
 *  - a message without Content-Type whose body is an HTML document is read as text/html;
 *  - broken input is read best effort: when a multipart's boundary is missing or never occurs, the first
 *    body line "--X" followed by a "Content-..." line gives the boundary X, and without one the body is read
 *    as text/plain; a body without Content-Type is read as multipart/mixed the same way when the message has
 *    a MIME-Version field or the body opens with such a line; a missing closing boundary ends the last part
 *    at the end of input; nesting deeper than 32 levels is skipped; invalid bytes become U+FFFD.
 * Plain text keeps its lines (CRLF and CR become LF, other control characters are dropped, blanks at line
 * ends, leading whitespace and trailing blank lines are removed, runs of blank lines become one).
 * opt may be NULL (defaults). Never fails on message content; fails only with SP_ERR_NOMEM. */
sp_status sp_mail_to_text(const char *raw, size_t len, const sp_mail_options *opt, char **text, size_t *text_len);

/* sp_mail_to_text that also accumulates into *stats (may be NULL) what the charset conversions met: parts
 * and encoded words whose unknown charset label was decoded as windows-1252, and bytes replaced by U+FFFD
 * in iconv-decoded text. The importer records these counts in the data set's provenance. */
sp_status sp_mail_to_text_stats(const char *raw, size_t len, const sp_mail_options *opt, char **text, size_t *text_len,
                                sp_charset_stats *stats);

#endif
