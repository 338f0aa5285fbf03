/* fsutil.c: mkdir -p (see fsutil.h). */
#include "fsutil.h"

#include <errno.h>
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
