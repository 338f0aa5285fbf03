/* nb_internal.h: shared pieces of the notebook exporter (notebook.h): a growable text buffer, the cell list
 * under construction, JSON cell builders, file helpers, and the section builders each file contributes.
 *
 * Allocation failures inside the builders are sticky (nb->oom, buf->oom) so section code stays readable;
 * nb_builder_status turns them into SP_ERR_NOMEM once at the end.
 */
#ifndef SPLINTER_NB_INTERNAL_H
#define SPLINTER_NB_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>

#include "fsutil.h"
#include "notebook.h"

/* ---------------------------------------------------------------- text buffer (nb_cells.c) */

typedef struct {
    char *s;    /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    int oom;
} nb_buf;

void nb_buf_init(nb_buf *b);
void nb_buf_free(nb_buf *b);
void nb_buf_add(nb_buf *b, const char *s, size_t n);
void nb_buf_puts(nb_buf *b, const char *s);
void nb_buf_printf(nb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty); valid until the next append. */
const char *nb_buf_str(const nb_buf *b);
/* Appends s as a markdown table cell: '|' escaped, line breaks as spaces. */
void nb_buf_md_cell(nb_buf *b, const char *s);
/* Appends s as inline markdown code: `s`, with a longer fence if s holds backticks. */
void nb_buf_md_code(nb_buf *b, const char *s);
/* Appends s as a Python double-quoted string literal (backslash, quote and control bytes escaped). */
void nb_buf_py_string(nb_buf *b, const char *s);
/* Appends text as a fenced markdown block of language lang, with a fence longer than any run of backticks
 * inside. */
void nb_buf_md_fence(nb_buf *b, const char *lang, const char *text);

/* ---------------------------------------------------------------- cells (nb_cells.c) */

typedef struct {
    json_t *cells;               /* the notebook's "cells" array */
    int oom;
    char run_abs[PATH_MAX];      /* absolute path of the run directory */
    sp_notebook_summary summary;
} nb_builder;

/* A JSON string of s; invalid UTF-8 bytes become U+FFFD (jansson refuses invalid UTF-8). NULL only when
 * out of memory. */
json_t *nb_string(const char *s, size_t n);
/* Splits text into nbformat's list-of-lines form (each line keeps its '\n'). */
json_t *nb_source(const char *text);
/* Standard base64 (RFC 4648, with padding, no line breaks); malloc'ed, NULL when out of memory. */
char *nb_base64(const unsigned char *data, size_t n);
/* 32-bit FNV-1a, for content-derived cell ids. */
unsigned nb_fnv1a(const char *s, size_t n, unsigned h);
#define NB_FNV_SEED 2166136261u

/* Appends a markdown cell (skipped when text is only whitespace). attachments (stolen, may be NULL) is the
 * cell's nbformat "attachments" object. */
void nb_add_markdown(nb_builder *nb, const char *text, json_t *attachments);
/* Appends a code cell; outputs (stolen, may be NULL for none) is its "outputs" array. */
void nb_add_code(nb_builder *nb, const char *source, json_t *outputs);
/* A display_data output holding an image of MIME type mime (base64-encoded unless it is SVG text) and a
 * text/plain alternative. NULL when out of memory. */
json_t *nb_image_output(const char *mime, const unsigned char *data, size_t n, const char *alt);
/* Gives every cell its id: "<index>-<fnv1a of type and source>", so re-export is byte-identical. */
void nb_assign_ids(nb_builder *nb);

/* ---------------------------------------------------------------- files (nb_files.c) */

int nb_is_dir(const char *path);
int nb_is_file(const char *path);
/* sp_dir_list (regular, non-hidden files ending in suffix, sorted by strcmp; free with sp_strlist_free), but
 * none (not an error) if dir does not exist. */
sp_status nb_list_dir(const char *dir, const char *suffix, char ***names, size_t *n);
/* snprintf into a PATH_MAX buffer; SP_ERR_USAGE if the path is too long. */
sp_status nb_path(char out[PATH_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CSV shape: the header's column names and the number of data records (RFC 4180 quoting). */
typedef struct {
    char **columns;
    size_t n_columns;
    size_t n_rows;
} nb_csv_shape;
sp_status nb_csv_scan(const char *path, nb_csv_shape *shape);
void nb_csv_shape_free(nb_csv_shape *shape);

/* ---------------------------------------------------------------- sections, in notebook order */

/* Title cell, models-and-seeds table, configuration (nb_title.c). */
sp_status nb_add_title(nb_builder *nb);
/* The setup cell (RUN path, imports) and the redraw helper cell (nb_python.c). */
void nb_add_setup(nb_builder *nb);
/* The narrative of report.md with figure cells; figures not referenced by it (nb_report.c). */
sp_status nb_add_report(nb_builder *nb);
/* The Data section: CSV tables, analysis.h5, predictions (nb_data.c). */
sp_status nb_add_data(nb_builder *nb);

/* The Python source of the redraw helper cell (nb_python.c). */
extern const char nb_python_redraw[];

#endif
