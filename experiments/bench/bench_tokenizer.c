/* bench_tokenizer.c: BPE training time and encoding throughput on a real corpus (not part of ctest).
 *
 *     /usr/bin/python3 experiments/bench/tokenizer_corpus.py /path/to/npm/package corpus.jsonl
 *     build/experiments/bench/bench_tokenizer corpus.jsonl [--vocab 8192] [--mail] [--reps 3]
 *
 * The corpus is JSONL with a "text" (or "t") string per line. --mail first turns each raw e-mail into
 * the text the classifiers see (sp_mail_to_text: Subject + decoded body). Prints training time, the
 * encoding throughput in MB/s on 1 thread and with OpenMP over texts on 2 threads (checking that both
 * give identical ids), and the compression (bytes per token). Timings are medians of --reps runs, as wall
 * clock and as process CPU time (the CPU figure stays meaningful when other jobs share the cores). */
#include <jansson.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"
#include "tokenizer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): robust to other load on a shared machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads the JSONL corpus; texts and lens malloc'ed. Returns the number of texts, or -1 on error. */
static long read_corpus(const char *path, int mail, char ***texts_out, size_t **lens_out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_tokenizer: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1024, n = 0, line_no = 0, lcap = 0;
    char **texts = malloc(cap * sizeof *texts);
    size_t *lens = malloc(cap * sizeof *lens);
    char *line = NULL;
    ssize_t got;
    while ((got = getline(&line, &lcap, f)) > 0) {
        line_no++;
        json_error_t err;
        json_t *rec = json_loadb(line, (size_t)got, 0, &err);
        json_t *v = rec ? json_object_get(rec, "text") : NULL;
        if (!v && rec) v = json_object_get(rec, "t");
        if (!json_is_string(v)) {
            fprintf(stderr, "bench_tokenizer: %s:%zu: not a JSON object with a \"text\" string\n", path, line_no);
            json_decref(rec);
            free(line);
            fclose(f);
            return -1;
        }
        if (n == cap) {
            cap *= 2;
            texts = realloc(texts, cap * sizeof *texts);
            lens = realloc(lens, cap * sizeof *lens);
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (mail) {
            sp_mail_options mo = {0};
            if (sp_mail_to_text(s, len, &mo, &texts[n], &lens[n]) != SP_OK) {
                fprintf(stderr, "bench_tokenizer: %s:%zu: %s\n", path, line_no, sp_error_message());
                return -1;
            }
        } else {
            texts[n] = strndup(s, len); /* training texts are C strings: a NUL ends the text */
            lens[n] = strlen(texts[n]);
        }
        n++;
        json_decref(rec);
    }
    free(line);
    fclose(f);
    *texts_out = texts;
    *lens_out = lens;
    return (long)n;
}

/* Encodes every text (into per-text buffers of the exact size) on `threads` threads; returns wall
 * seconds and, in *cpu, CPU seconds summed over threads. */
static double encode_all(const sp_tokenizer *t, char **texts, const size_t *lens, long n, int32_t **ids,
                         const size_t *counts, int threads, double *cpu)
{
    double t0 = now(), c0 = cpu_now();
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
    for (long i = 0; i < n; i++) sp_tokenizer_encode(t, texts[i], lens[i], ids[i], counts[i]);
    *cpu = cpu_now() - c0;
    return now() - t0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int vocab = 8192, mail = 0, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc) vocab = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mail") == 0) mail = 1;
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "usage: bench_tokenizer CORPUS.jsonl [--vocab N] [--mail] [--reps N]\n");
            return 2;
        }
    }
    if (!path || reps < 1 || reps > 99) {
        fprintf(stderr, "usage: bench_tokenizer CORPUS.jsonl [--vocab N] [--mail] [--reps N]\n");
        return 2;
    }
    char **texts;
    size_t *lens;
    long n = read_corpus(path, mail, &texts, &lens);
    if (n < 0) return 1;
    double mb = 0;
    for (long i = 0; i < n; i++) mb += (double)lens[i];
    mb /= 1e6;
    printf("corpus: %s: %ld texts, %.2f MB%s\n", path, n, mb, mail ? " (Subject + decoded body)" : " (raw)");

    sp_tokenizer_options opt = {vocab, 0};
    sp_tokenizer *t = NULL;
    double train_s[99], train_cpu[99];
    for (int r = 0; r < reps; r++) {
        sp_tokenizer_free(t);
        t = NULL;
        double t0 = now(), c0 = cpu_now();
        if (sp_tokenizer_train_lens((const char *const *)texts, lens, (size_t)n, &opt, &t) != SP_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", sp_error_message());
            return 1;
        }
        train_s[r] = now() - t0;
        train_cpu[r] = cpu_now() - c0;
    }
    qsort(train_s, (size_t)reps, sizeof *train_s, cmp_double);
    qsort(train_cpu, (size_t)reps, sizeof *train_cpu, cmp_double);
    printf("train: vocab %d (%d merges) in %.3f s wall, %.3f s CPU (medians of %d), hash %.16s...\n",
           sp_tokenizer_vocab_size(t), sp_tokenizer_n_merges(t), train_s[reps / 2], train_cpu[reps / 2], reps,
           sp_tokenizer_hash(t));

    size_t *counts = malloc((size_t)n * sizeof *counts), total = 0;
    int32_t **ids1 = malloc((size_t)n * sizeof *ids1), **ids2 = malloc((size_t)n * sizeof *ids2);
    for (long i = 0; i < n; i++) {
        counts[i] = sp_tokenizer_encode(t, texts[i], lens[i], NULL, 0);
        total += counts[i];
        ids1[i] = malloc((counts[i] + 1) * sizeof **ids1);
        ids2[i] = malloc((counts[i] + 1) * sizeof **ids2);
    }
    int threads[2] = {1, 2};
    for (int k = 0; k < 2; k++) {
        double s[99], c[99];
        for (int r = 0; r < reps; r++)
            s[r] = encode_all(t, texts, lens, n, k ? ids2 : ids1, counts, threads[k], &c[r]);
        qsort(s, (size_t)reps, sizeof *s, cmp_double);
        qsort(c, (size_t)reps, sizeof *c, cmp_double);
        printf("encode: %d thread%s %.1f MB/s wall (%.3f s), %.1f MB/s per CPU-second (medians of %d)\n",
               threads[k], k ? "s:" : ": ", mb / s[reps / 2], s[reps / 2], mb / c[reps / 2], reps);
    }
    int same = 1;
    for (long i = 0; i < n; i++) same &= memcmp(ids1[i], ids2[i], counts[i] * sizeof **ids1) == 0;
    printf("tokens: %zu, %.2f bytes per token; 1- and 2-thread ids %s\n", total, mb * 1e6 / (double)total,
           same ? "identical" : "DIFFER");

    int32_t window[256];
    double t0 = now();
    for (long i = 0; i < n; i++) sp_tokenizer_encode_fixed(t, texts[i], 256, window);
    printf("encode_fixed(256): %.0f texts/s on 1 thread\n", (double)n / (now() - t0));

    for (long i = 0; i < n; i++) {
        free(texts[i]);
        free(ids1[i]);
        free(ids2[i]);
    }
    free(texts);
    free(lens);
    free(counts);
    free(ids1);
    free(ids2);
    sp_tokenizer_free(t);
    return same ? 0 : 1;
}
