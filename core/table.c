/* table.c: the JSONL and RFC 4180 CSV/TSV readers behind sp_import_table (contract in import.h).
 *
 * Both readers work on the whole file in memory and report the line where a record starts (and, for an
 * unclosed quote, the line where the quote opened), so every error points at the place to fix.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import.h"
#include "utf8.h"

sp_status sp_table_format_parse(const char *name, sp_table_format *fmt)
{
    if (strcmp(name, "jsonl") == 0) *fmt = SP_TABLE_JSONL;
    else if (strcmp(name, "csv") == 0) *fmt = SP_TABLE_CSV;
    else if (strcmp(name, "tsv") == 0) *fmt = SP_TABLE_TSV;
    else return sp_fail(SP_ERR_USAGE, "unknown table format '%s'; use jsonl, csv or tsv", name);
    return SP_OK;
}

void sp_table_free(sp_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
    free(t->cells);
    free(t->line);
    free(t);
}

/* Appends one row slot to a table under construction, growing its arrays geometrically. */
static sp_status table_add_row(sp_table *t, size_t *cap, size_t line, const char *path)
{
    if (t->n_rows == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        char **cells = realloc(t->cells, nc * t->n_cols * sizeof *cells);
        if (!cells) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        t->cells = cells;
        size_t *lines = realloc(t->line, nc * sizeof *lines);
        if (!lines) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        t->line = lines;
        *cap = nc;
    }
    memset(t->cells + t->n_rows * t->n_cols, 0, t->n_cols * sizeof *t->cells);
    t->line[t->n_rows++] = line;
    return SP_OK;
}

static char *copy_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Fails if a kept cell is not valid UTF-8, naming the line, column and byte offset. */
static sp_status check_utf8(const char *cell, size_t n, const char *path, size_t line, const char *column)
{
    size_t ok = sp_utf8_valid_prefix(cell, n);
    if (ok == n) return SP_OK;
    return sp_fail(SP_ERR_INPUT, "%s:%zu: column '%s' is not valid UTF-8 (bad byte 0x%02x at byte %zu of the "
                                 "field); re-encode the file as UTF-8",
                   path, line, column, (unsigned char)cell[ok], ok + 1);
}

/* ---------------------------------------------------------------- CSV / TSV */

/* One record at a time from a buffer; fields are unescaped into `buf`, each NUL-terminated, starting at
 * off[i]. The workspace is reused across records. */
typedef struct {
    const char *p, *end;
    size_t line; /* current line (1-based) */
    char delim;
    const char *path;
    char *buf;
    size_t buf_len, buf_cap;
    size_t *off;
    size_t n_fields, off_cap;
} csv_cursor;

static sp_status csv_put(csv_cursor *c, char ch)
{
    if (c->buf_len == c->buf_cap) {
        size_t nc = c->buf_cap ? 2 * c->buf_cap : 4096;
        char *b = realloc(c->buf, nc);
        if (!b) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", c->path);
        c->buf = b;
        c->buf_cap = nc;
    }
    c->buf[c->buf_len++] = ch;
    return SP_OK;
}

static sp_status csv_begin_field(csv_cursor *c)
{
    if (c->n_fields == c->off_cap) {
        size_t nc = c->off_cap ? 2 * c->off_cap : 16;
        size_t *o = realloc(c->off, nc * sizeof *o);
        if (!o) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", c->path);
        c->off = o;
        c->off_cap = nc;
    }
    c->off[c->n_fields++] = c->buf_len;
    return SP_OK;
}

/* Consumes a line end at c->p (CRLF, LF or a lone CR) and counts it. */
static void csv_eat_newline(csv_cursor *c)
{
    if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') c->p++;
    c->p++;
    c->line++;
}

/* Reads the next record. Returns SP_OK with *got = 1 and *start_line set, or *got = 0 at the end. */
static sp_status csv_next(csv_cursor *c, int *got, size_t *start_line)
{
    *got = 0;
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) csv_eat_newline(c); /* blank lines */
    if (c->p >= c->end) return SP_OK;
    *start_line = c->line;
    c->n_fields = 0;
    c->buf_len = 0;
    sp_status st;
    for (;;) {
        if ((st = csv_begin_field(c)) != SP_OK) return st;
        if (c->p < c->end && *c->p == '"') {
            size_t open_line = c->line;
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return sp_fail(SP_ERR_INPUT, "%s:%zu: quoted field opened on this line is never closed; "
                                                 "close the quote (a quote inside a field is written \"\")",
                                   c->path, open_line);
                char ch = *c->p;
                if (ch == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        if ((st = csv_put(c, '"')) != SP_OK) return st;
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (ch == '\0') return sp_fail(SP_ERR_INPUT, "%s:%zu: NUL byte in the file; remove it", c->path, c->line);
                if (ch == '\n' || (ch == '\r' && !(c->p + 1 < c->end && c->p[1] == '\n'))) c->line++;
                if ((st = csv_put(c, ch)) != SP_OK) return st;
                c->p++;
            }
            if (c->p < c->end && *c->p != c->delim && *c->p != '\n' && *c->p != '\r')
                return sp_fail(SP_ERR_INPUT, "%s:%zu: unexpected '%c' after the closing quote of a field; quote the "
                                             "whole field and write a quote inside it as \"\"",
                               c->path, c->line, *c->p);
        } else {
            /* Unquoted: a quote in the middle is taken literally, as Python's csv module does. */
            while (c->p < c->end && *c->p != c->delim && *c->p != '\n' && *c->p != '\r') {
                if (*c->p == '\0')
                    return sp_fail(SP_ERR_INPUT, "%s:%zu: NUL byte in the file; remove it", c->path, c->line);
                if ((st = csv_put(c, *c->p)) != SP_OK) return st;
                c->p++;
            }
        }
        if ((st = csv_put(c, '\0')) != SP_OK) return st;
        if (c->p >= c->end) break;
        if (*c->p == c->delim) {
            c->p++;
            continue;
        }
        csv_eat_newline(c);
        break;
    }
    *got = 1;
    return SP_OK;
}

static sp_status parse_delimited(sp_table *t, const char *data, size_t len, char delim, const char *path,
                                 const char *const *columns)
{
    csv_cursor c = {.p = data, .end = data + len, .line = 1, .delim = delim, .path = path};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) c.p += 3; /* UTF-8 byte-order mark */
    size_t *col_index = calloc(t->n_cols, sizeof *col_index);
    size_t cap = 0, n_header = 0, header_line = 0;
    int got = 0;
    sp_status st = SP_OK;
    if (!col_index) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
    if ((st = csv_next(&c, &got, &header_line)) != SP_OK) goto done;
    if (!got) {
        st = sp_fail(SP_ERR_INPUT, "%s:1: the file is empty; it needs a header line naming the columns", path);
        goto done;
    }
    n_header = c.n_fields;
    for (size_t j = 0; j < t->n_cols; j++) {
        size_t found = SIZE_MAX;
        for (size_t k = 0; k < n_header; k++) {
            if (strcmp(c.buf + c.off[k], columns[j]) != 0) continue;
            if (found != SIZE_MAX) {
                st = sp_fail(SP_ERR_INPUT, "%s:%zu: column '%s' appears twice in the header; rename one", path,
                             header_line, columns[j]);
                goto done;
            }
            found = k;
        }
        if (found == SIZE_MAX) {
            char names[512] = "";
            size_t used = 0;
            for (size_t k = 0; k < n_header && used < sizeof names - 1; k++) {
                int w = snprintf(names + used, sizeof names - used, "%s'%s'", k ? ", " : "", c.buf + c.off[k]);
                if (w < 0) break;
                used += (size_t)w;
            }
            st = sp_fail(SP_ERR_INPUT, "%s:%zu: no column '%s' in the header (columns: %s); pass an existing name",
                         path, header_line, columns[j], names);
            goto done;
        }
        col_index[j] = found;
    }
    for (;;) {
        size_t line = 0;
        if ((st = csv_next(&c, &got, &line)) != SP_OK) goto done;
        if (!got) break;
        if (c.n_fields != n_header) {
            st = sp_fail(SP_ERR_INPUT, "%s:%zu: record has %zu fields but the header has %zu; quote fields that "
                                       "contain '%s' or line breaks",
                         path, line, c.n_fields, n_header, delim == '\t' ? "\\t" : ",");
            goto done;
        }
        if ((st = table_add_row(t, &cap, line, path)) != SP_OK) goto done;
        char **row = t->cells + (t->n_rows - 1) * t->n_cols;
        for (size_t j = 0; j < t->n_cols; j++) {
            size_t start = c.off[col_index[j]];
            size_t end = col_index[j] + 1 < c.n_fields ? c.off[col_index[j] + 1] - 1 : c.buf_len - 1;
            if ((st = check_utf8(c.buf + start, end - start, path, line, columns[j])) != SP_OK) goto done;
            if (!(row[j] = copy_bytes(c.buf + start, end - start))) {
                st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
                goto done;
            }
        }
    }
done:
    free(c.buf);
    free(c.off);
    free(col_index);
    return st;
}

/* ---------------------------------------------------------------- JSONL */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static sp_status parse_jsonl(sp_table *t, const char *data, size_t len, const char *path, const char *const *columns)
{
    size_t cap = 0, line = 0;
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) p += 3;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        size_t n = (size_t)(e - p);
        if (n > 0 && p[n - 1] == '\r') n--;
        int blank = 1;
        for (size_t i = 0; i < n && blank; i++) blank = p[i] == ' ' || p[i] == '\t';
        if (blank) {
            p = next;
            continue;
        }
        size_t ok = sp_utf8_valid_prefix(p, n);
        if (ok != n)
            return sp_fail(SP_ERR_INPUT, "%s:%zu: invalid UTF-8 (bad byte 0x%02x at byte %zu of the line); re-encode "
                                         "the file as UTF-8",
                           path, line, (unsigned char)p[ok], ok + 1);
        json_error_t err;
        json_t *obj = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
        if (!obj)
            return sp_fail(SP_ERR_INPUT, "%s:%zu: malformed JSON at column %d: %s; each line must be one JSON object",
                           path, line, err.column, err.text);
        if (!json_is_object(obj)) {
            sp_status st = sp_fail(SP_ERR_INPUT, "%s:%zu: the line is %s, not a JSON object; each line must be one "
                                                 "JSON object",
                                   path, line, json_kind(obj));
            json_decref(obj);
            return st;
        }
        sp_status st = table_add_row(t, &cap, line, path);
        char **row = st == SP_OK ? t->cells + (t->n_rows - 1) * t->n_cols : NULL;
        for (size_t j = 0; j < t->n_cols && st == SP_OK; j++) {
            json_t *v = json_object_get(obj, columns[j]);
            if (!v) continue;
            if (json_is_string(v)) {
                row[j] = copy_bytes(json_string_value(v), json_string_length(v));
            } else if (json_is_integer(v)) {
                char num[32];
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                row[j] = copy_bytes(num, strlen(num));
            } else {
                st = sp_fail(SP_ERR_INPUT, "%s:%zu: field '%s' is %s; it must be a string or an integer", path, line,
                             columns[j], json_kind(v));
                break;
            }
            if (!row[j]) st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        }
        json_decref(obj);
        if (st != SP_OK) return st;
        p = next;
    }
    return SP_OK;
}

sp_status sp_table_parse(sp_table **out, const char *data, size_t len, sp_table_format fmt, const char *path,
                         const char *const *columns, size_t n_cols)
{
    *out = NULL;
    sp_table *t = calloc(1, sizeof *t);
    if (!t) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
    t->n_cols = n_cols;
    sp_status st;
    if (fmt == SP_TABLE_JSONL) st = parse_jsonl(t, data, len, path, columns);
    else st = parse_delimited(t, data, len, fmt == SP_TABLE_TSV ? '\t' : ',', path, columns);
    if (st != SP_OK) {
        sp_table_free(t);
        return st;
    }
    *out = t;
    return SP_OK;
}
