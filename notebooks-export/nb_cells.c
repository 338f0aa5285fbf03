/* nb_cells.c: text buffer, markdown/Python quoting and nbformat 4.5 cell builders for the notebook exporter. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"

/* ---------------------------------------------------------------- text buffer */

void nb_buf_init(nb_buf *b) { memset(b, 0, sizeof *b); }

void nb_buf_free(nb_buf *b)
{
    free(b->s);
    nb_buf_init(b);
}

/* Makes room for n more bytes plus the terminator; sets oom on failure. */
static int buf_reserve(nb_buf *b, size_t n)
{
    if (b->oom) return 0;
    if (b->len + n + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

void nb_buf_add(nb_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n)) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void nb_buf_puts(nb_buf *b, const char *s) { nb_buf_add(b, s, strlen(s)); }

void nb_buf_printf(nb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *nb_buf_str(const nb_buf *b) { return b->s ? b->s : ""; }

void nb_buf_md_cell(nb_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') nb_buf_puts(b, "\\|");
        else if (*s == '\n' || *s == '\r') nb_buf_puts(b, " ");
        else nb_buf_add(b, s, 1);
    }
}

/* Longest run of backticks in s. */
static size_t longest_backtick_run(const char *s)
{
    size_t best = 0, run = 0;
    for (; s && *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > best) best = run;
    }
    return best;
}

void nb_buf_md_code(nb_buf *b, const char *s)
{
    size_t fence = longest_backtick_run(s) + 1;
    for (size_t i = 0; i < fence; i++) nb_buf_puts(b, "`");
    if (fence > 1) nb_buf_puts(b, " ");
    for (; s && *s; s++) nb_buf_add(b, (*s == '\n' || *s == '\r') ? " " : s, 1);
    if (fence > 1) nb_buf_puts(b, " ");
    for (size_t i = 0; i < fence; i++) nb_buf_puts(b, "`");
}

static size_t utf8_sequence(const unsigned char *p, size_t left);

void nb_buf_py_string(nb_buf *b, const char *s)
{
    nb_buf_puts(b, "\"");
    size_t left = s ? strlen(s) : 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++, left--) {
        if (*p == '"' || *p == '\\') nb_buf_printf(b, "\\%c", *p);
        else if (*p == '\n') nb_buf_puts(b, "\\n");
        else if (*p < 0x20 || *p == 0x7f) nb_buf_printf(b, "\\x%02x", *p);
        else if (*p < 0x80) nb_buf_add(b, (const char *)p, 1);
        else {
            size_t k = utf8_sequence(p, left);
            /* A byte that is not UTF-8 (a file name in another encoding) becomes Python's surrogateescape
             * form, which os.fsencode turns back into the same byte. */
            if (k == 0) nb_buf_printf(b, "\\udc%02x", *p);
            else {
                nb_buf_add(b, (const char *)p, k);
                p += k - 1, left -= k - 1;
            }
        }
    }
    nb_buf_puts(b, "\"");
}

void nb_buf_md_fence(nb_buf *b, const char *lang, const char *text)
{
    size_t fence = longest_backtick_run(text) + 1;
    if (fence < 3) fence = 3;
    for (size_t i = 0; i < fence; i++) nb_buf_puts(b, "`");
    nb_buf_printf(b, "%s\n", lang);
    nb_buf_puts(b, text);
    if (text[0] && text[strlen(text) - 1] != '\n') nb_buf_puts(b, "\n");
    for (size_t i = 0; i < fence; i++) nb_buf_puts(b, "`");
    nb_buf_puts(b, "\n");
}

/* ---------------------------------------------------------------- JSON values */

/* Length of the valid UTF-8 sequence at p (at most `left` bytes), or 0 if it is invalid. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    size_t n;
    unsigned cp;
    if (p[0] < 0x80) return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) n = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) n = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4) n = 4, cp = p[0] & 0x07;
    else return 0;
    if (left < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are invalid. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

json_t *nb_string(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_sequence(p + i, n - i);
        if (k == 0 || p[i] == 0) break;
        i += k;
    }
    if (i == n) return json_stringn(s, n);
    nb_buf b;
    nb_buf_init(&b);
    for (i = 0; i < n;) {
        size_t k = utf8_sequence(p + i, n - i);
        if (k == 0 || p[i] == 0) {
            nb_buf_puts(&b, "\xef\xbf\xbd");
            i++;
        } else {
            nb_buf_add(&b, s + i, k);
            i += k;
        }
    }
    json_t *j = b.oom ? NULL : json_stringn(nb_buf_str(&b), b.len);
    nb_buf_free(&b);
    return j;
}

json_t *nb_source(const char *text)
{
    json_t *lines = json_array();
    if (!lines) return NULL;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (json_array_append_new(lines, nb_string(p, n)) != 0) {
            json_decref(lines);
            return NULL;
        }
        p += n;
    }
    return lines;
}

char *nb_base64(const unsigned char *data, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out) return NULL;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        *o++ = alphabet[v >> 18], *o++ = alphabet[(v >> 12) & 63], *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)data[i] << 16;
        *o++ = alphabet[v >> 18], *o++ = alphabet[(v >> 12) & 63], *o++ = '=', *o++ = '=';
    } else if (n - i == 2) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
        *o++ = alphabet[v >> 18], *o++ = alphabet[(v >> 12) & 63], *o++ = alphabet[(v >> 6) & 63], *o++ = '=';
    }
    *o = '\0';
    return out;
}

unsigned nb_fnv1a(const char *s, size_t n, unsigned h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* ---------------------------------------------------------------- cells */

/* Appends cell (stolen) to the notebook, noting allocation failure. */
static void add_cell(nb_builder *nb, json_t *cell)
{
    if (!cell || json_array_append_new(nb->cells, cell) != 0) nb->oom = 1;
}

/* Sets obj[key] = value (stolen, may be NULL); on failure frees obj and returns NULL. json_object_set_new
 * always consumes value, so nothing leaks on any path. */
static json_t *set_or_drop(json_t *obj, const char *key, json_t *value)
{
    if (!obj) {
        json_decref(value);
        return NULL;
    }
    if (!value || json_object_set_new(obj, key, value) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Copy of text without trailing blank lines and spaces (they only pad the rendered cell). */
static char *trim_end(const char *text)
{
    size_t n = strlen(text);
    while (n > 0 && strchr(" \t\r\n", text[n - 1])) n--;
    return strndup(text, n);
}

void nb_add_markdown(nb_builder *nb, const char *text, json_t *attachments)
{
    if (text[strspn(text, " \t\r\n")] == '\0') {
        json_decref(attachments);
        return;
    }
    char *trimmed = trim_end(text);
    json_t *cell = set_or_drop(json_object(), "cell_type", json_string("markdown"));
    cell = set_or_drop(cell, "metadata", json_object());
    cell = set_or_drop(cell, "source", trimmed ? nb_source(trimmed) : NULL);
    free(trimmed);
    if (attachments) cell = set_or_drop(cell, "attachments", attachments);
    add_cell(nb, cell);
}

void nb_add_code(nb_builder *nb, const char *source, json_t *outputs)
{
    char *trimmed = trim_end(source);
    json_t *cell = set_or_drop(json_object(), "cell_type", json_string("code"));
    cell = set_or_drop(cell, "execution_count", json_null());
    cell = set_or_drop(cell, "metadata", json_object());
    cell = set_or_drop(cell, "source", trimmed ? nb_source(trimmed) : NULL);
    free(trimmed);
    cell = set_or_drop(cell, "outputs", outputs ? outputs : json_array());
    add_cell(nb, cell);
}

json_t *nb_image_output(const char *mime, const unsigned char *data, size_t n, const char *alt)
{
    json_t *image;
    if (strcmp(mime, "image/svg+xml") == 0) {
        /* nbformat keeps SVG as text, not base64. */
        image = nb_string((const char *)data, n);
    } else {
        char *b64 = nb_base64(data, n);
        image = b64 ? json_string(b64) : NULL;
        free(b64);
    }
    json_t *bundle = set_or_drop(json_object(), mime, image);
    bundle = set_or_drop(bundle, "text/plain", nb_string(alt, strlen(alt)));
    json_t *out = set_or_drop(json_object(), "output_type", json_string("display_data"));
    out = set_or_drop(out, "data", bundle);
    return set_or_drop(out, "metadata", json_object());
}

void nb_assign_ids(nb_builder *nb)
{
    size_t i;
    json_t *cell;
    json_array_foreach(nb->cells, i, cell) {
        const char *type = json_string_value(json_object_get(cell, "cell_type"));
        unsigned h = nb_fnv1a(type, strlen(type), NB_FNV_SEED);
        size_t k;
        json_t *line;
        json_array_foreach(json_object_get(cell, "source"), k, line)
            h = nb_fnv1a(json_string_value(line), json_string_length(line), h);
        char id[32];
        snprintf(id, sizeof id, "%03zu-%08x", i, h);
        if (json_object_set_new(cell, "id", json_string(id)) != 0) nb->oom = 1;
    }
}
