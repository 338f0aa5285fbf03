/* strlist.c: growable arrays of malloc'ed strings (see strlist.h). */
#include "strlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sp_status sp_strlist_push(char ***list, size_t *n, const char *s)
{
    char *copy = strdup(s);
    char **grown = copy ? realloc(*list, (*n + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return sp_fail(SP_ERR_NOMEM, "out of memory adding \"%.60s\" to a list", s);
    }
    grown[*n] = copy;
    *list = grown;
    (*n)++;
    return SP_OK;
}

sp_status sp_strlist_vpushf(char ***list, size_t *n, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    return sp_strlist_push(list, n, line);
}

sp_status sp_strlist_pushf(char ***list, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_status st = sp_strlist_vpushf(list, n, fmt, ap);
    va_end(ap);
    return st;
}

void sp_strlist_free(char **list, size_t n)
{
    if (!list) return;
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
}
