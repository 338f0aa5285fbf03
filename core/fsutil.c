/* fsutil.c: mkdir -p, safe name parts, whole-file reads, sorted directory listings (see fsutil.h). */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

sp_status sp_make_dirs(const char *path)
{
    if (path[0] == '\0') return sp_fail(SP_ERR_USAGE, "empty directory name");
    char *p = strdup(path);
    if (!p) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                sp_status st = sp_fail(SP_ERR_IO, "cannot create directory %s: %s", p, strerror(e));
                free(p);
                return st;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return sp_fail(SP_ERR_IO, "%s is not a directory", path);
    return SP_OK;
}

void sp_safe_name(char *out, size_t cap, const char *in)
{
    size_t k = 0;
    for (; in[k] && k + 1 < cap; k++) {
        char ch = in[k];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '_' || ch == '-';
        out[k] = ok ? ch : '_';
    }
    out[k] = '\0';
}

sp_status sp_read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sp_fail(SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || S_ISDIR(sb.st_mode)) {
        fclose(f);
        return sp_fail(SP_ERR_IO, "%s is a directory, not a file", path);
    }
    /* A regular file is read in one piece of its size; a pipe or device grows the buffer until end of file. */
    size_t cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 1 : 65536, n = 0;
    char *buf = malloc(cap);
    int oom = !buf;
    while (!oom) {
        if (n + 1 == cap) {
            int next = fgetc(f); /* full: grow only when the file goes on (never for an unchanged regular file) */
            if (next == EOF) break;
            char *grown = realloc(buf, 2 * cap);
            if (!grown) {
                oom = 1;
                break;
            }
            buf = grown;
            cap *= 2;
            buf[n++] = (char)next;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (oom || err) {
        free(buf);
        return oom ? sp_fail(SP_ERR_NOMEM, "out of memory reading %s (%zu bytes)", path, n)
                   : sp_fail(SP_ERR_IO, "cannot read %s", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SP_OK;
}

static int names_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

sp_status sp_dir_list(char ***names, size_t *n, const char *dir, const char *suffix)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        return sp_fail(SP_ERR_INPUT, "cannot list %s: %s", dir, strerror(e));
    }
    size_t slen = strlen(suffix), dlen = strlen(dir), len = 0;
    char **list = NULL, *path = NULL;
    sp_status st = SP_OK;
    struct dirent *e;
    while (st == SP_OK && (e = readdir(d)) != NULL) {
        size_t nlen = strlen(e->d_name);
        if (e->d_name[0] == '.' || nlen <= slen || strcmp(e->d_name + nlen - slen, suffix) != 0) continue;
        char *grown = realloc(path, dlen + nlen + 2);
        if (!grown) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        path = grown;
        snprintf(path, dlen + nlen + 2, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue; /* sub-directories, dangling links */
        st = sp_strlist_push(&list, &len, e->d_name);
    }
    closedir(d);
    free(path);
    if (st != SP_OK) {
        sp_strlist_free(list, len);
        return st;
    }
    if (len > 1) qsort(list, len, sizeof *list, names_cmp);
    *names = list;
    *n = len;
    return SP_OK;
}
