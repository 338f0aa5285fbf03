/* text_test_util.h: helpers shared by the text-decoding tests (hex, temp files, the Python reference). */
#ifndef SPLINTER_TEXT_TEST_UTIL_H
#define SPLINTER_TEXT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the lower-case hex of s[0..n) into out (2n+1 bytes). */
static inline void text_hex(char *out, const char *s, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < n; k++) {
        out[2 * k] = digits[(unsigned char)s[k] >> 4];
        out[2 * k + 1] = digits[(unsigned char)s[k] & 15];
    }
    out[2 * n] = '\0';
}

/* Path of a file under $SPLINTER_FIXTURES/.. (the tests/ folder), or NULL if the variable is unset. */
static inline int text_tests_path(char *buf, size_t cap, const char *rel)
{
    const char *fx = getenv("SPLINTER_FIXTURES");
    if (!fx) return -1;
    int n = snprintf(buf, cap, "%s/../%s", fx, rel);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Reads a whole file (NUL-terminated copy; *n = size); NULL on failure. */
static inline char *text_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *p = realloc(buf, cap * 2);
            if (!p) { free(buf); buf = NULL; break; }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    *n = len;
    return buf;
}

#endif
