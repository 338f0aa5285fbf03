/* csv_read.h: reading RFC 4180 CSV tables (a header row of column names, then records) into memory.
 *
 * Fields may be quoted ("..."), holding commas, doubled quotes and line breaks; lines may end in LF or CRLF;
 * empty lines are skipped. Every record must have the header's number of fields. Columns are looked up by
 * name, and every error names the file, the line and the column, so a table written by an older or newer
 * analysis fails with a message that says what is missing.
 *
 *     sp_csv_table *t = NULL;
 *     if (sp_csv_table_read(&t, "run/analysis/models.csv") != SP_OK) return ...;
 *     size_t acc;
 *     if (sp_csv_table_column(t, "accuracy", &acc) != SP_OK) ...;
 *     for (size_t r = 0; r < sp_csv_table_rows(t); r++) {
 *         double a;
 *         if (sp_csv_table_f64(t, r, acc, &a) != SP_OK) ...;
 *     }
 *     sp_csv_table_free(t);
 */
#ifndef SPLINTER_CSV_READ_H
#define SPLINTER_CSV_READ_H

#include <stddef.h>

#include "status.h"

typedef struct sp_csv_table sp_csv_table;

/* Reads and parses the whole file. SP_ERR_IO when it cannot be read; SP_ERR_INPUT naming path:line for an
 * unclosed quote, text after a closing quote, a record with the wrong number of fields, or no header. */
sp_status sp_csv_table_read(sp_csv_table **out, const char *path);

/* Same, from a buffer; `name` stands for the file in messages. */
sp_status sp_csv_table_parse(sp_csv_table **out, const char *name, const char *text, size_t len);

void sp_csv_table_free(sp_csv_table *t);

size_t sp_csv_table_rows(const sp_csv_table *t);
size_t sp_csv_table_columns(const sp_csv_table *t);
const char *sp_csv_table_column_name(const sp_csv_table *t, size_t col);
const char *sp_csv_table_path(const sp_csv_table *t);

/* Index of the column called `name`. SP_ERR_INPUT "<path>: no column '<name>' ..." when absent. */
sp_status sp_csv_table_column(const sp_csv_table *t, const char *name, size_t *col);

/* 1 when the table has a column called `name`. */
int sp_csv_table_has(const sp_csv_table *t, const char *name);

/* The text of a cell (never NULL). row < rows, col < columns. */
const char *sp_csv_table_cell(const sp_csv_table *t, size_t row, size_t col);

/* The cell as a number: the whole field must parse (strtod; "nan", "inf", "-inf" accepted; an empty field
 * reads as NaN). SP_ERR_INPUT "<path>:<line>: column '<name>': '<text>' is not a number". */
sp_status sp_csv_table_f64(const sp_csv_table *t, size_t row, size_t col, double *out);

/* Line of the file where record `row` starts (the header is line 1). */
size_t sp_csv_table_line(const sp_csv_table *t, size_t row);

#endif
