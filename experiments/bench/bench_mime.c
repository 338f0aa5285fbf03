/* bench_mime.c: throughput of sp_mail_to_text on a directory tree of raw messages (e.g. the SpamAssassin
 * package's data/GROUP/NNNNN.MD5.txt files), with the counts docs/mail-text.md reports.
 *
 * usage: bench_mime [--reps R] FILE...     (bench_mime.sh passes every message of the package)
 * Prints one line: messages, input MB, empty bodies, invalid outputs, best time of R passes, MB/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"
#include "utf8.h"

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = size > 0 ? (size_t)size : 0;
    return buf;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int reps = 3, first = 1;
    if (argc > 2 && strcmp(argv[1], "--reps") == 0) {
        reps = atoi(argv[2]);
        first = 3;
    }
    int count = argc - first;
    if (count <= 0 || reps <= 0) {
        fprintf(stderr, "usage: bench_mime [--reps R] FILE...\n");
        return 2;
    }
    char **raw = calloc((size_t)count, sizeof *raw);
    size_t *len = calloc((size_t)count, sizeof *len);
    if (!raw || !len) return 1;
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        if (!(raw[i] = read_all(argv[first + i], &len[i]))) {
            fprintf(stderr, "bench_mime: cannot read %s\n", argv[first + i]);
            return 1;
        }
        total += len[i];
    }
    size_t empty = 0, invalid = 0;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < count; i++) {
            char *text;
            size_t n;
            if (sp_mail_to_text(raw[i], len[i], NULL, &text, &n) != SP_OK) {
                fprintf(stderr, "bench_mime: %s: %s\n", argv[first + i], sp_error_message());
                return 1;
            }
            if (r == 0) {
                invalid += sp_utf8_valid_prefix(text, n) != n || strlen(text) != n;
                const char *body = strstr(text, "\n\n");
                empty += body == NULL || body[2] == '\0';
            }
            free(text);
        }
        double dt = now_seconds() - t0;
        if (dt < best) best = dt;
    }
    printf("messages %d input_mb %.2f empty_bodies %zu invalid_utf8 %zu best_seconds %.4f mb_per_s %.1f\n", count,
           (double)total / 1e6, empty, invalid, best, (double)total / 1e6 / best);
    for (int i = 0; i < count; i++) free(raw[i]);
    free(raw);
    free(len);
    return invalid ? 1 : 0;
}
