/* csv.h: RFC 4180 CSV files written atomically (to <path>.tmp, renamed by sp_csv_commit).
 *
 * A field is quoted when it holds a comma, a double quote, CR or LF (inner quotes doubled). Numbers are
 * written with "%.10g" ("nan", "inf", "-inf" for non-finite values). Every row must have exactly the
 * header's number of fields.
 *
 *     static const char *const cols[] = {"model", "accuracy"};
 *     sp_csv *csv = NULL;
 *     if (sp_csv_open(&csv, "run/analysis/models.csv", cols, 2) != SP_OK) return ...;
 *     sp_csv_str(csv, "linear-0"); sp_csv_f64(csv, 0.91); sp_csv_end_row(csv);
 *     return sp_csv_commit(csv);          // or sp_csv_abort(csv): nothing is left behind
 */
#ifndef SPLINTER_CSV_H
#define SPLINTER_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct sp_csv sp_csv;

/* Creates <path>.tmp and writes the header. SP_ERR_IO naming the path. */
sp_status sp_csv_open(sp_csv **out, const char *path, const char *const *columns, size_t n_columns);

/* Append one field to the current row. */
sp_status sp_csv_str(sp_csv *csv, const char *value);
sp_status sp_csv_f64(sp_csv *csv, double value);
sp_status sp_csv_i64(sp_csv *csv, int64_t value);

/* Ends the row; SP_ERR_STATE if it does not have exactly n_columns fields. */
sp_status sp_csv_end_row(sp_csv *csv);

/* Flushes, fsyncs, closes and renames <path>.tmp to <path>; frees csv (also on failure, then removing
 * the .tmp). */
sp_status sp_csv_commit(sp_csv *csv);

/* Closes and removes <path>.tmp; frees csv. Safe on NULL. */
void sp_csv_abort(sp_csv *csv);

/* Writes one field, quoted when needed, to a stdio stream (exposed for tests). */
int sp_csv_write_field(void *stream, const char *value);

#endif
