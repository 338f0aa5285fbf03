/* status.h: status codes and the last error message, for every library function in splinter.
 *
 * Library code never prints and never exits: it returns an sp_status and, on failure, leaves a one-line
 * message (which file, which record, what is wrong, what to do) that cli/ prints before exiting.
 *
 *     if (sp_dataset_load(path, &ds) != SP_OK) {
 *         fprintf(stderr, "splinter: %s\n", sp_error_message());
 *         return sp_status_exit_code(st);
 *     }
 *
 * The message buffer is thread-local, so OpenMP workers can fail independently.
 */
#ifndef SPLINTER_STATUS_H
#define SPLINTER_STATUS_H

typedef enum {
    SP_OK = 0,
    SP_ERR_USAGE,   /* bad option, bad config value: the user must change the command (exit 2) */
    SP_ERR_INPUT,   /* malformed input file or record (exit 1) */
    SP_ERR_IO,      /* cannot open, read, write, rename (exit 1) */
    SP_ERR_NOMEM,   /* allocation failed (exit 1) */
    SP_ERR_NUMERIC, /* divergence, NaN/Inf, no convergence (exit 1) */
    SP_ERR_STATE    /* inconsistent run directory or internal invariant broken (exit 1) */
} sp_status;

/* Records a printf-style message for the current thread and returns `code`, so callers can write
 * `return sp_fail(SP_ERR_INPUT, "%s:%zu: label is not an integer", path, line);`. */
sp_status sp_fail(sp_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current thread's message with more context ("while importing X: <old message>"). */
sp_status sp_fail_context(sp_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current thread's last message; "" if none was recorded. Valid until the next sp_fail. */
const char *sp_error_message(void);

/* Clears the current thread's message. */
void sp_error_clear(void);

/* Process exit code for a status: 0 ok, 2 usage error, 1 any other failure. */
int sp_status_exit_code(sp_status st);

/* A short fixed name for a status ("usage error", "input error", ...). */
const char *sp_status_name(sp_status st);

#endif
