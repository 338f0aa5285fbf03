/* strlist.h: growable arrays of malloc'ed strings (warnings, names, split lists), the one place that grows,
 * fills and frees them.
 *
 *     char **warnings = NULL;
 *     size_t n = 0;
 *     if (sp_strlist_pushf(&warnings, &n, "skipped %s: %s", path, why) != SP_OK) return ...;
 *     if (sp_strlist_push(&warnings, &n, "another") != SP_OK) return ...;
 *     sp_strlist_free(warnings, n);
 */
#ifndef SPLINTER_STRLIST_H
#define SPLINTER_STRLIST_H

#include <stdarg.h>
#include <stddef.h>

#include "status.h"

/* Appends a copy of s to list[0..*n) and increments *n. On SP_ERR_NOMEM the list is unchanged (still owned by
 * the caller, still freeable with sp_strlist_free). */
sp_status sp_strlist_push(char ***list, size_t *n, const char *s);

/* sp_strlist_push of a printf-formatted line, truncated to 1023 bytes. */
sp_status sp_strlist_pushf(char ***list, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* sp_strlist_pushf for wrappers that take their own variadic arguments. */
sp_status sp_strlist_vpushf(char ***list, size_t *n, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Frees list[0..n) and the array; safe on NULL. */
void sp_strlist_free(char **list, size_t n);

#endif
