/* html.h: visible text of an HTML document, for classifiers that see mail bodies as plain text.
 *
 *     char *t; size_t n;
 *     sp_html_to_text("<p>Caf&eacute; <b>now</b></p><p>&#36;5&nbsp;off", 45, &t, &n);
 *     // t = "Café now\n$5 off"
 *     free(t);
 *
 * What is kept and dropped (a browser's view, not a full HTML5 parser):
 *  - tags vanish; inline tags (b, font, span, a, ...) join their neighbours without a space, so a word
 *    split by markup ("V<b></b>iagra") stays one word; a tag name runs to a blank, '/' or '>' as in
 *    HTML5 ("<br=>" is not a br); "</" followed by anything but a letter starts a bogus comment that ends
 *    at '>' ("</ p>" vanishes);
 *  - comments, <!DOCTYPE ...>, <?...?>, and the contents of <script> and <style> are dropped; an unclosed
 *    tag or script runs to the end of the input, as in a browser, but a comment without "-->" ends at the
 *    next '>' (as in older browsers: spam writes "<!--#rotate>" and means the text after it to be seen);
 *  - entities: the 252 named ones of HTML 4.01 (Latin-1, symbols, Greek, math, typographic) and &apos;,
 *    &#NNN; and &#xHH;; the ';' is optional for numeric references and for the legacy names HTML5 also
 *    accepts without it (amp, lt, gt, quot, nbsp, copy, reg, the Latin-1 letters, ...), which then match
 *    as the longest prefix ("&lt3" is "<3", "&oacuten" is "ón");
 *    numeric references to 0x80..0x9F are read as windows-1252, to 0, surrogates or > U+10FFFF as U+FFFD;
 *    unknown entities stay literal;
 *  - whitespace collapses as in HTML: a run of blanks (and &nbsp;) is one space; block tags (p, div, br,
 *    li, tr, h1..h6, table, ...) start a new line; a run of whitespace containing a line start becomes one
 *    "\n"; td/th separate cells by a space; the result has no leading or trailing whitespace;
 *  - control characters other than whitespace and NUL bytes are dropped; input bytes that are not valid
 *    UTF-8 become U+FFFD (convert other charsets with sp_charset_to_utf8 first).
 */
#ifndef SPLINTER_HTML_H
#define SPLINTER_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "textbuf.h"

/* Text of html[0..len) as a new NUL-terminated valid UTF-8 string (caller frees), per the rules above.
 * Fails only with SP_ERR_NOMEM. */
sp_status sp_html_to_text(const char *html, size_t len, char **out, size_t *out_len);

/* The same conversion appended to b; b's earlier content is left alone (and never trimmed). */
void sp_html_to_text_append(sp_textbuf *b, const char *html, size_t len);

/* Code point of the named entity name[0..len) (without '&' and ';'), or 0 if it is not one we know. */
uint32_t sp_html_entity_lookup(const char *name, size_t len);

/* Length of the longest legacy entity name (one HTML5 accepts without ';', e.g. "amp", "eacute") that
 * s[0..len) starts with, storing its code point in *cp; 0 if none. */
size_t sp_html_entity_legacy_prefix(const char *s, size_t len, uint32_t *cp);

/* Number of named entities in the table, the k-th name in table order (NULL past the end), and whether it
 * is a legacy name; for tests. */
size_t sp_html_entity_count(void);
const char *sp_html_entity_name(size_t k);
int sp_html_entity_is_legacy(size_t k);

#endif
