/* csv.c: atomic RFC 4180 CSV writer. */
#include "csv.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sp_csv {
    FILE *f;
    char *path, *tmp;
    size_t n_columns, field; /* fields written in the current row */
    int failed;
};

int sp_csv_write_field(void *stream, const char *value)
{
    FILE *f = stream;
    if (strpbrk(value, ",\"\r\n") == NULL) return fputs(value, f) < 0 ? -1 : 0;
    if (fputc('"', f) == EOF) return -1;
    for (const char *p = value; *p; p++) {
        if (*p == '"' && fputc('"', f) == EOF) return -1;
        if (fputc(*p, f) == EOF) return -1;
    }
    return fputc('"', f) == EOF ? -1 : 0;
}

sp_status sp_csv_open(sp_csv **out, const char *path, const char *const *columns, size_t n_columns)
{
    *out = NULL;
    sp_csv *csv = calloc(1, sizeof *csv);
    if (!csv) return sp_fail(SP_ERR_NOMEM, "out of memory opening %s", path);
    csv->path = strdup(path);
    csv->tmp = malloc(strlen(path) + 5);
    if (!csv->path || !csv->tmp) {
        sp_csv_abort(csv);
        return sp_fail(SP_ERR_NOMEM, "out of memory opening %s", path);
    }
    sprintf(csv->tmp, "%s.tmp", path);
    csv->f = fopen(csv->tmp, "w");
    if (!csv->f) {
        int e = errno;
        sp_csv_abort(csv);
        return sp_fail(SP_ERR_IO, "%s.tmp: cannot create (%s); check that the directory exists and is writable",
                       path, strerror(e));
    }
    csv->n_columns = n_columns;
    for (size_t c = 0; c < n_columns; c++) {
        sp_status st = sp_csv_str(csv, columns[c]);
        if (st != SP_OK) {
            sp_csv_abort(csv);
            return st;
        }
    }
    sp_status st = sp_csv_end_row(csv);
    if (st != SP_OK) {
        sp_csv_abort(csv);
        return st;
    }
    *out = csv;
    return SP_OK;
}

sp_status sp_csv_str(sp_csv *csv, const char *value)
{
    if (csv->field >= csv->n_columns)
        return sp_fail(SP_ERR_STATE, "%s: row has more than %zu fields", csv->path, csv->n_columns);
    if ((csv->field > 0 && fputc(',', csv->f) == EOF) || sp_csv_write_field(csv->f, value ? value : "") != 0) {
        csv->failed = 1;
        return sp_fail(SP_ERR_IO, "%s.tmp: write failed (disk full?)", csv->path);
    }
    csv->field++;
    return SP_OK;
}

sp_status sp_csv_f64(sp_csv *csv, double value)
{
    char buf[40];
    if (isnan(value)) snprintf(buf, sizeof buf, "nan");
    else if (isinf(value)) snprintf(buf, sizeof buf, value > 0 ? "inf" : "-inf");
    else snprintf(buf, sizeof buf, "%.10g", value);
    return sp_csv_str(csv, buf);
}

sp_status sp_csv_i64(sp_csv *csv, int64_t value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, value);
    return sp_csv_str(csv, buf);
}

sp_status sp_csv_end_row(sp_csv *csv)
{
    if (csv->field != csv->n_columns)
        return sp_fail(SP_ERR_STATE, "%s: row has %zu fields, the header %zu", csv->path, csv->field,
                       csv->n_columns);
    csv->field = 0;
    if (fputc('\n', csv->f) == EOF) {
        csv->failed = 1;
        return sp_fail(SP_ERR_IO, "%s.tmp: write failed (disk full?)", csv->path);
    }
    return SP_OK;
}

sp_status sp_csv_commit(sp_csv *csv)
{
    sp_status st = SP_OK;
    if (csv->field != 0) st = sp_fail(SP_ERR_STATE, "%s: last row is unfinished", csv->path);
    else if (csv->failed || fflush(csv->f) != 0 || fsync(fileno(csv->f)) != 0)
        st = sp_fail(SP_ERR_IO, "%s.tmp: write failed (%s)", csv->path, strerror(errno));
    if (st != SP_OK) {
        sp_csv_abort(csv);
        return st;
    }
    int closed = fclose(csv->f);
    csv->f = NULL;
    if (closed != 0 || rename(csv->tmp, csv->path) != 0) {
        st = sp_fail(SP_ERR_IO, "%s: cannot finish writing (%s)", csv->path, strerror(errno));
        sp_csv_abort(csv);
        return st;
    }
    free(csv->path);
    free(csv->tmp);
    free(csv);
    return SP_OK;
}

void sp_csv_abort(sp_csv *csv)
{
    if (!csv) return;
    if (csv->f) fclose(csv->f);
    if (csv->tmp) remove(csv->tmp);
    free(csv->path);
    free(csv->tmp);
    free(csv);
}
