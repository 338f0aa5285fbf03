/* csv_read.c: an RFC 4180 CSV reader holding the whole table in memory (see csv_read.h). Fields are kept
 * NUL-terminated in one growing buffer, addressed by offsets, so a table is three allocations. */
#include "csv_read.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

struct sp_csv_table {
    char *path;
    char *text;        /* fields, each NUL-terminated */
    size_t text_len, text_cap;
    size_t *field;     /* offsets into text: header fields, then record by record */
    size_t n_fields, field_cap;
    size_t *line;      /* [n_rows] line where each record starts */
    size_t line_cap;
    size_t n_columns, n_rows;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * size);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

static int add_char(sp_csv_table *t, char c)
{
    if (!grow((void **)&t->text, &t->text_cap, t->text_len + 1, 1)) return 0;
    t->text[t->text_len++] = c;
    return 1;
}

/* Ends the current field: NUL-terminates it and records where the next one starts. */
static int end_field(sp_csv_table *t, size_t *start)
{
    if (!add_char(t, '\0') || !grow((void **)&t->field, &t->field_cap, t->n_fields + 1, sizeof *t->field)) return 0;
    t->field[t->n_fields++] = *start;
    *start = t->text_len;
    return 1;
}

/* Ends a record of `n` fields that started on `line`. */
static sp_status end_record(sp_csv_table *t, size_t n, size_t line)
{
    if (t->n_columns == 0) {
        t->n_columns = n;
        return SP_OK;
    }
    if (n != t->n_columns)
        return sp_fail(SP_ERR_INPUT, "%s:%zu: %zu field%s where the header has %zu columns; fix the quoting or the row",
                       t->path, line, n, n == 1 ? "" : "s", t->n_columns);
    if (!grow((void **)&t->line, &t->line_cap, t->n_rows + 1, sizeof *t->line))
        return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", t->path);
    t->line[t->n_rows++] = line;
    return SP_OK;
}

sp_status sp_csv_table_parse(sp_csv_table **out, const char *name, const char *s, size_t n)
{
    *out = NULL;
    sp_csv_table *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(name))) {
        free(t);
        return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", name);
    }
    sp_status st = SP_OK;
    size_t line = 1, record_line = 1, start = 0, fields_in_record = 0;
    int in_quotes = 0, quoted = 0, has_data = 0, ok = 1;
    for (size_t i = 0; i <= n && ok && st == SP_OK; i++) {
        int at_end = i == n;
        char c = at_end ? '\n' : s[i];
        if (in_quotes) {
            if (at_end) {
                st = sp_fail(SP_ERR_INPUT, "%s:%zu: quoted field never closed; fix the quoting", t->path, record_line);
            } else if (c == '"' && i + 1 < n && s[i + 1] == '"') {
                ok = add_char(t, '"');
                i++;
            } else if (c == '"') {
                in_quotes = 0;
                quoted = 1;
            } else {
                if (c == '\n') line++;
                ok = add_char(t, c);
            }
            continue;
        }
        int line_end = c == '\n' || (c == '\r' && (i + 1 >= n || s[i + 1] == '\n'));
        if (c == '"') {
            if (quoted || t->text_len > start)
                st = sp_fail(SP_ERR_INPUT, "%s:%zu: a quote inside an unquoted field; quote the whole field and "
                             "double inner quotes", t->path, line);
            in_quotes = 1;
            has_data = 1;
        } else if (c == ',') {
            ok = end_field(t, &start);
            fields_in_record++;
            quoted = 0;
            has_data = 1;
        } else if (line_end) {
            if (c == '\r') i++; /* CRLF: the LF is consumed with the CR */
            if (has_data) {
                ok = end_field(t, &start);
                if (ok) st = end_record(t, fields_in_record + 1, record_line);
            }
            fields_in_record = 0;
            quoted = has_data = 0;
            record_line = ++line;
        } else if (quoted) {
            st = sp_fail(SP_ERR_INPUT, "%s:%zu: text after a closing quote; quote the whole field", t->path, line);
        } else {
            ok = add_char(t, c);
            has_data = 1;
        }
    }
    if (!ok) st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", t->path);
    if (st == SP_OK && t->n_columns == 0)
        st = sp_fail(SP_ERR_INPUT, "%s:1: no header row; a CSV table needs column names in its first line", t->path);
    if (st != SP_OK) {
        sp_csv_table_free(t);
        return st;
    }
    *out = t;
    return SP_OK;
}

sp_status sp_csv_table_read(sp_csv_table **out, const char *path)
{
    *out = NULL;
    char *text;
    size_t len;
    sp_status st = sp_read_file(path, &text, &len);
    if (st != SP_OK) return st;
    st = sp_csv_table_parse(out, path, text, len);
    free(text);
    return st;
}

void sp_csv_table_free(sp_csv_table *t)
{
    if (!t) return;
    free(t->path);
    free(t->text);
    free(t->field);
    free(t->line);
    free(t);
}

size_t sp_csv_table_rows(const sp_csv_table *t) { return t->n_rows; }
size_t sp_csv_table_columns(const sp_csv_table *t) { return t->n_columns; }
const char *sp_csv_table_path(const sp_csv_table *t) { return t->path; }
const char *sp_csv_table_column_name(const sp_csv_table *t, size_t col) { return t->text + t->field[col]; }

int sp_csv_table_has(const sp_csv_table *t, const char *name)
{
    for (size_t c = 0; c < t->n_columns; c++)
        if (strcmp(t->text + t->field[c], name) == 0) return 1;
    return 0;
}

sp_status sp_csv_table_column(const sp_csv_table *t, const char *name, size_t *col)
{
    for (size_t c = 0; c < t->n_columns; c++)
        if (strcmp(t->text + t->field[c], name) == 0) {
            *col = c;
            return SP_OK;
        }
    return sp_fail(SP_ERR_INPUT, "%s: no column '%s'; the file was written by a different version of splinter "
                   "analyze: rerun the analysis", t->path, name);
}

const char *sp_csv_table_cell(const sp_csv_table *t, size_t row, size_t col)
{
    return t->text + t->field[(row + 1) * t->n_columns + col];
}

size_t sp_csv_table_line(const sp_csv_table *t, size_t row) { return t->line[row]; }

sp_status sp_csv_table_f64(const sp_csv_table *t, size_t row, size_t col, double *out)
{
    const char *s = sp_csv_table_cell(t, row, col);
    if (*s == '\0') {
        *out = NAN;
        return SP_OK;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    /* Underflow to a subnormal or zero is still the number written; only a partial parse is an error. */
    if (end == s || *end != '\0')
        return sp_fail(SP_ERR_INPUT, "%s:%zu: column '%s': '%s' is not a number", t->path, t->line[row],
                       sp_csv_table_column_name(t, col), s);
    *out = v;
    return SP_OK;
}
