/* html.c: HTML to visible text (see html.h for the exact rules). One forward pass, no DOM. */
#include "html.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Output state: pending whitespace is written lazily so runs collapse and the ends are trimmed. */
typedef struct {
    sp_textbuf *b;
    size_t start; /* b->len when the conversion started: nothing before it is ours to trim */
    int pending;  /* 0 none, 1 a space, 2 a line break */
} html_out;

static void out_space(html_out *o, int kind)
{
    if (kind > o->pending) o->pending = kind;
}

static void out_flush_space(html_out *o)
{
    if (o->pending && o->b->len > o->start) sp_textbuf_putc(o->b, o->pending == 2 ? '\n' : ' ');
    o->pending = 0;
}

static void out_codepoint(html_out *o, uint32_t cp)
{
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == 0xA0) {
        out_space(o, 1);
        return;
    }
    if (cp < 0x20 || cp == 0x7F) return; /* other controls carry no text */
    out_flush_space(o);
    sp_textbuf_put_codepoint(o->b, cp);
}

static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/* Case-insensitive search for the ASCII needle (lower case) in s[from..len); returns its offset or len. */
static size_t find_ci(const char *s, size_t from, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && (char)(s[i + k] | (is_alpha((unsigned char)s[i + k]) ? 0x20 : 0)) == needle[k]) k++;
        if (k == n) return i;
    }
    return len;
}

/* Line-breaking elements: their start and end tags both begin a new line. The table holds each name with
 * its length so the check per tag is a few byte compares (tags dominate HTML mail). */
static int tag_is_block(const char *name, size_t n)
{
#define BLOCK_TAG(s) {s, sizeof s - 1}
    static const struct {
        const char *name;
        size_t len;
    } block[] = {
        BLOCK_TAG("address"), BLOCK_TAG("article"), BLOCK_TAG("aside"), BLOCK_TAG("blockquote"), BLOCK_TAG("body"),
        BLOCK_TAG("br"), BLOCK_TAG("caption"), BLOCK_TAG("center"), BLOCK_TAG("dd"), BLOCK_TAG("div"),
        BLOCK_TAG("dl"), BLOCK_TAG("dt"), BLOCK_TAG("fieldset"), BLOCK_TAG("footer"), BLOCK_TAG("form"),
        BLOCK_TAG("h1"), BLOCK_TAG("h2"), BLOCK_TAG("h3"), BLOCK_TAG("h4"), BLOCK_TAG("h5"), BLOCK_TAG("h6"),
        BLOCK_TAG("head"), BLOCK_TAG("header"), BLOCK_TAG("hr"), BLOCK_TAG("html"), BLOCK_TAG("legend"),
        BLOCK_TAG("li"), BLOCK_TAG("nav"), BLOCK_TAG("noscript"), BLOCK_TAG("ol"), BLOCK_TAG("option"),
        BLOCK_TAG("p"), BLOCK_TAG("pre"), BLOCK_TAG("section"), BLOCK_TAG("table"), BLOCK_TAG("tbody"),
        BLOCK_TAG("tfoot"), BLOCK_TAG("thead"), BLOCK_TAG("title"), BLOCK_TAG("tr"), BLOCK_TAG("ul"),
    };
#undef BLOCK_TAG
    for (size_t k = 0; k < sizeof block / sizeof *block; k++)
        if (block[k].len == n && block[k].name[0] == name[0] && memcmp(block[k].name, name, n) == 0) return 1;
    return 0;
}

/* Decodes the character reference at s[i] == '&'. Writes the code point to *cp and returns the bytes
 * consumed, or returns 0 when it is not a reference we know (the '&' is then literal). */
static size_t entity_parse(const char *s, size_t i, size_t len, uint32_t *cp)
{
    static const uint16_t cp1252_high[32] = {
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    };
    size_t j = i + 1;
    if (j < len && s[j] == '#') {
        j++;
        int hex = 0;
        if (j < len && (s[j] == 'x' || s[j] == 'X')) {
            hex = 1;
            j++;
        }
        size_t d0 = j;
        uint32_t v = 0;
        for (; j < len; j++) {
            unsigned char c = (unsigned char)s[j];
            int dv;
            if (is_digit(c)) dv = c - '0';
            else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') dv = (c | 0x20) - 'a' + 10;
            else break;
            if (v <= 0x10FFFF) v = v * (hex ? 16u : 10u) + (uint32_t)dv; /* saturates past the range */
        }
        if (j == d0) return 0;
        if (j < len && s[j] == ';') j++;
        if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
        else if (v >= 0x80 && v <= 0x9F) v = cp1252_high[v - 0x80];
        *cp = v;
        return j - i;
    }
    while (j < len && j - i <= 16 && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]))) j++;
    size_t n = j - i - 1;
    if (n == 0) return 0;
    uint32_t v;
    if (j < len && s[j] == ';' && (v = sp_html_entity_lookup(s + i + 1, n)) != 0) {
        *cp = v;
        return j + 1 - i;
    }
    /* Without ';' only the legacy names browsers accept, as the longest prefix ("&lt3" is "<3"). */
    size_t m = sp_html_entity_legacy_prefix(s + i + 1, n, cp);
    return m ? 1 + m : 0;
}

/* Skips the attributes of a tag whose name ends at s[i], up to and including its '>', following the HTML5
 * tokenizer: a name runs to a blank, '/', '>' or '=' (an '=' may start a name); after "name =" a value is
 * quoted (quotes hide '>') or unquoted (runs to a blank or '>'). So `<font size=3D"4=\n">` ends at its own
 * '>' even though its quotes are unbalanced. Returns the index after the tag (len if unclosed). */
static size_t skip_tag_rest(const char *s, size_t i, size_t len)
{
    for (;;) {
        /* Before an attribute name. */
        while (i < len && (is_blank((unsigned char)s[i]) || s[i] == '/')) i++;
        if (i >= len) return len;
        if (s[i] == '>') return i + 1;
        i++; /* the name's first character, which may be '=' */
        while (i < len && !is_blank((unsigned char)s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=') i++;
        /* After the name. */
        while (i < len && is_blank((unsigned char)s[i])) i++;
        if (i >= len) return len;
        if (s[i] != '=') continue;
        i++;
        /* Before the value. */
        while (i < len && is_blank((unsigned char)s[i])) i++;
        if (i >= len) return len;
        if (s[i] == '"' || s[i] == '\'') {
            const char *q = memchr(s + i + 1, s[i], len - i - 1);
            if (!q) return len;
            i = (size_t)(q - s) + 1;
        } else {
            while (i < len && !is_blank((unsigned char)s[i]) && s[i] != '>') i++;
        }
    }
}

void sp_html_to_text_append(sp_textbuf *b, const char *s, size_t len)
{
    html_out o = {b, b->len, 0};
    size_t no_close_from = SIZE_MAX; /* no "-->" occurs at or after this offset */
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<') {
            unsigned char d = i + 1 < len ? (unsigned char)s[i + 1] : 0;
            if (d == '!') {
                if (i + 3 < len && s[i + 2] == '-' && s[i + 3] == '-') {
                    size_t k = i + 4;
                    if (k < len && s[k] == '>') { i = k + 1; continue; }             /* "<!-->" */
                    if (k + 1 < len && s[k] == '-' && s[k + 1] == '>') { i = k + 2; continue; } /* "<!--->" */
                    /* Once a search found no "-->", later comments need not search again (keeps
                     * "<!--a><!--b>..." linear). */
                    size_t e = k >= no_close_from ? len : find_ci(s, k, len, "-->");
                    if (e == len && k < no_close_from) no_close_from = k;
                    if (e < len) {
                        i = e + 3;
                    } else {
                        /* Unclosed: end at the next '>' as older browsers did, instead of hiding the rest
                         * of the document (spam writes "<!--#rotate>" meaning a tag). */
                        const char *gt = memchr(s + k, '>', len - k);
                        i = gt ? (size_t)(gt - s) + 1 : len;
                    }
                    continue;
                }
                const char *e = memchr(s + i, '>', len - i); /* <!DOCTYPE ...>, <![CDATA[...]]> */
                i = e ? (size_t)(e - s) + 1 : len;
                continue;
            }
            if (d == '?') {
                const char *e = memchr(s + i, '>', len - i);
                i = e ? (size_t)(e - s) + 1 : len;
                continue;
            }
            int end_tag = d == '/';
            size_t n0 = i + 1 + (size_t)end_tag;
            if (end_tag && n0 < len && !is_alpha((unsigned char)s[n0])) {
                /* "</" + non-letter: a bogus comment up to '>' (HTML5), e.g. "</ p>" or "</= i>". */
                const char *e = memchr(s + n0, '>', len - n0);
                i = e ? (size_t)(e - s) + 1 : len;
                continue;
            }
            if (n0 < len && is_alpha((unsigned char)s[n0])) {
                /* The tag name runs to a blank, '/' or '>' (HTML5), so "<br=>" is an unknown element. */
                char name[16];
                size_t n = 0, j = n0;
                while (j < len && !is_blank((unsigned char)s[j]) && s[j] != '/' && s[j] != '>') {
                    if (n < sizeof name) name[n] = (char)(s[j] | (is_alpha((unsigned char)s[j]) ? 0x20 : 0));
                    n++;
                    j++;
                }
                if (n > sizeof name) n = sizeof name; /* longer than any name we test for */
                i = skip_tag_rest(s, j, len);
                if (tag_is_block(name, n)) out_space(&o, 2);
                else if ((n == 2 && (memcmp(name, "td", 2) == 0 || memcmp(name, "th", 2) == 0)) ||
                         (n == 3 && memcmp(name, "img", 3) == 0))
                    out_space(&o, 1);
                int raw_text = (n == 6 && memcmp(name, "script", 6) == 0) ||
                               (n == 5 && memcmp(name, "style", 5) == 0);
                if (!end_tag && raw_text) {
                    /* Raw text up to the matching end tag is code, not text. */
                    size_t e = find_ci(s, i, len, n == 6 ? "</script" : "</style");
                    if (e == len) {
                        i = len;
                    } else {
                        const char *gt = memchr(s + e, '>', len - e);
                        i = gt ? (size_t)(gt - s) + 1 : len;
                    }
                }
                continue;
            }
            /* "<" not followed by a tag name is text ("a < b"). */
            out_codepoint(&o, '<');
            i++;
            continue;
        }
        if (c == '&') {
            uint32_t cp;
            size_t n = entity_parse(s, i, len, &cp);
            if (n) {
                out_codepoint(&o, cp);
                i += n;
                continue;
            }
            out_codepoint(&o, '&');
            i++;
            continue;
        }
        if (c < 0x80) {
            if (c > ' ' && c != 0x7F) { /* the common case: visible ASCII */
                out_flush_space(&o);
                sp_textbuf_putc(b, (char)c);
            } else {
                out_codepoint(&o, c);
            }
            i++;
            continue;
        }
        /* A multi-byte UTF-8 sequence is copied whole, U+00A0 (C2 A0) is whitespace, an invalid byte is U+FFFD. */
        size_t n = sp_utf8_sequence_length(s + i, len - i);
        if (n == 0) {
            out_codepoint(&o, 0xFFFD);
            i++;
            continue;
        }
        if (n == 2 && c == 0xC2 && (unsigned char)s[i + 1] == 0xA0) {
            out_space(&o, 1);
        } else {
            out_flush_space(&o);
            sp_textbuf_append(b, s + i, n);
        }
        i += n;
    }
}

sp_status sp_html_to_text(const char *html, size_t len, char **out, size_t *out_len)
{
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_html_to_text_append(&b, html, len);
    return sp_textbuf_finish(&b, out, out_len);
}
