/* nb_files.c: file helpers of the notebook exporter: whole-file reads, sorted directory listings and the
 * shape of a CSV table (its columns and row count, read with analysis/csv_read.h), whatever its columns are. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv_read.h"
#include "nb_internal.h"

int nb_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int nb_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

sp_status nb_path(char out[PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX) return sp_fail(SP_ERR_USAGE, "path too long (over %d bytes): %.80s...", PATH_MAX, out);
    return SP_OK;
}

sp_status nb_list_dir(const char *dir, const char *suffix, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    struct stat sb;
    /* A run made piecewise by separate commands may lack the directory: that is no files, not an error. */
    if (stat(dir, &sb) != 0 ? errno == ENOENT || errno == ENOTDIR : !S_ISDIR(sb.st_mode)) return SP_OK;
    return sp_dir_list(names, n, dir, suffix);
}

void nb_csv_shape_free(nb_csv_shape *shape)
{
    sp_strlist_free(shape->columns, shape->n_columns);
    memset(shape, 0, sizeof *shape);
}

sp_status nb_csv_scan(const char *path, nb_csv_shape *shape)
{
    memset(shape, 0, sizeof *shape);
    sp_csv_table *t = NULL;
    sp_status st = sp_csv_table_read(&t, path);
    if (st != SP_OK) return st;
    size_t n = sp_csv_table_columns(t);
    if (!(shape->columns = calloc(n, sizeof *shape->columns))) st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
    for (size_t c = 0; st == SP_OK && c < n; c++) {
        if (!(shape->columns[c] = strdup(sp_csv_table_column_name(t, c))))
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        else
            shape->n_columns++;
    }
    shape->n_rows = sp_csv_table_rows(t);
    sp_csv_table_free(t);
    if (st != SP_OK) nb_csv_shape_free(shape);
    return st;
}
