/* status.c: thread-local last-error message behind sp_fail. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SP_ERROR_MESSAGE_MAX 1024

static _Thread_local char error_message[SP_ERROR_MESSAGE_MAX];

sp_status sp_fail(sp_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return code;
}

sp_status sp_fail_context(sp_status code, const char *fmt, ...)
{
    char previous[SP_ERROR_MESSAGE_MAX];
    memcpy(previous, error_message, sizeof previous);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    if (n < 0 || previous[0] == '\0') return code;
    /* Append ": <previous>", truncating at the buffer end. */
    size_t used = strlen(error_message), room = sizeof error_message - 1 - used;
    const char sep[] = ": ";
    size_t add = strlen(previous) + 2;
    if (add > room) add = room;
    for (size_t i = 0; i < add; i++) error_message[used + i] = i < 2 ? sep[i] : previous[i - 2];
    error_message[used + add] = '\0';
    return code;
}

const char *sp_error_message(void) { return error_message; }

void sp_error_clear(void) { error_message[0] = '\0'; }

int sp_status_exit_code(sp_status st)
{
    if (st == SP_OK) return 0;
    return st == SP_ERR_USAGE ? 2 : 1;
}

const char *sp_status_name(sp_status st)
{
    switch (st) {
    case SP_OK: return "ok";
    case SP_ERR_USAGE: return "usage error";
    case SP_ERR_INPUT: return "input error";
    case SP_ERR_IO: return "i/o error";
    case SP_ERR_NOMEM: return "out of memory";
    case SP_ERR_NUMERIC: return "numerical failure";
    case SP_ERR_STATE: return "inconsistent state";
    }
    return "unknown error";
}
