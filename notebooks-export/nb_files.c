/* nb_files.c: file helpers of the notebook exporter: whole-file reads, sorted directory listings and a CSV
 * scanner that learns a table's columns and row count without assuming which columns exist. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

sp_status nb_read_file(const char *path, char **data, size_t *n)
{
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sp_fail(SP_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    int bad = !buf || ferror(f);
    int err = errno;
    fclose(f);
    if (!buf) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
    if (bad) {
        free(buf);
        return sp_fail(SP_ERR_INPUT, "cannot read %s: %s", path, strerror(err));
    }
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return SP_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nb_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

sp_status nb_list_dir(const char *dir, const char *suffix, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return SP_OK;
        return sp_fail(SP_ERR_INPUT, "cannot list %s: %s", dir, strerror(errno));
    }
    size_t cap = 0, len = 0, slen = strlen(suffix);
    char **list = NULL;
    sp_status st = SP_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nlen = strlen(e->d_name);
        if (e->d_name[0] == '.' || nlen <= slen || strcmp(e->d_name + nlen - slen, suffix) != 0) continue;
        char path[PATH_MAX];
        if (nb_path(path, "%s/%s", dir, e->d_name) != SP_OK || !nb_is_file(path)) continue;
        if (len == cap) {
            size_t grown_cap = cap ? cap * 2 : 16;
            char **grown = realloc(list, grown_cap * sizeof *grown);
            if (!grown) {
                st = sp_fail(SP_ERR_NOMEM, "out of memory listing %s", dir);
                break;
            }
            list = grown;
            cap = grown_cap;
        }
        if (!(list[len] = strdup(e->d_name))) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        len++;
    }
    closedir(d);
    if (st != SP_OK) {
        nb_names_free(list, len);
        return st;
    }
    /* readdir order depends on the file system; sort so the notebook does not. */
    if (len > 1) qsort(list, len, sizeof *list, compare_names);
    *names = list;
    *n = len;
    return SP_OK;
}

void nb_csv_shape_free(nb_csv_shape *shape)
{
    nb_names_free(shape->columns, shape->n_columns);
    memset(shape, 0, sizeof *shape);
}

sp_status nb_csv_scan(const char *path, nb_csv_shape *shape)
{
    memset(shape, 0, sizeof *shape);
    char *text = NULL;
    size_t n = 0;
    sp_status st = nb_read_file(path, &text, &n);
    if (st != SP_OK) return st;
    nb_buf field;
    nb_buf_init(&field);
    size_t cap = 0, line = 1, record_start_line = 1;
    int in_quotes = 0, header = 1, record_has_data = 0;
    /* One pass of an RFC 4180 reader: fields of the first record are the columns, later records are
     * counted. Quoted fields may hold commas, doubled quotes and line breaks. */
    for (size_t i = 0; i <= n && st == SP_OK; i++) {
        char c = i < n ? text[i] : '\n';
        if (i == n && !record_has_data && field.len == 0 && !in_quotes) break;
        if (in_quotes) {
            if (i == n) {
                st = sp_fail(SP_ERR_INPUT, "%s:%zu: quoted field never closed; fix the quoting", path,
                             record_start_line);
            } else if (c == '"' && i + 1 < n && text[i + 1] == '"') {
                if (header) nb_buf_add(&field, "\"", 1);
                i++;
            } else if (c == '"') {
                in_quotes = 0;
            } else {
                if (c == '\n') line++;
                if (header) nb_buf_add(&field, &c, 1);
            }
            continue;
        }
        if (c == '"') {
            in_quotes = 1;
            record_has_data = 1;
        } else if (c == ',' || c == '\n') {
            if (header) {
                if (shape->n_columns == cap) {
                    size_t grown_cap = cap ? cap * 2 : 16;
                    char **grown = realloc(shape->columns, grown_cap * sizeof *grown);
                    if (!grown) {
                        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
                        break;
                    }
                    shape->columns = grown;
                    cap = grown_cap;
                }
                const char *name = nb_buf_str(&field);
                size_t len = field.len;
                if (len > 0 && name[len - 1] == '\r') len--;
                if (!(shape->columns[shape->n_columns] = strndup(name, len)) || field.oom) {
                    st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
                    break;
                }
                shape->n_columns++;
                field.len = 0;
                if (field.s) field.s[0] = '\0';
            }
            if (c == '\n') {
                if (!header && record_has_data) shape->n_rows++;
                if (header) header = 0;
                record_has_data = 0;
                record_start_line = ++line;
            } else {
                record_has_data = 1;
            }
        } else {
            if (c != '\r') record_has_data = 1;
            if (header) nb_buf_add(&field, &c, 1);
        }
    }
    nb_buf_free(&field);
    free(text);
    if (st == SP_OK && shape->n_columns == 0)
        st = sp_fail(SP_ERR_INPUT, "%s:1: no header row; a CSV table needs column names in its first line", path);
    if (st != SP_OK) nb_csv_shape_free(shape);
    return st;
}
