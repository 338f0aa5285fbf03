/* bench_similarity.c: all-pairs linear CKA of M models x L layers on n inputs of width d, timed, plus the
 * machine's OpenBLAS sgemm rate as the peak to compare against. Driven by bench_similarity.sh, which runs the
 * numpy peer on the same data in the same run and prints the ratio.
 *
 * Usage: bench_similarity PREFIX M L n d REPEATS PEAK
 *   reads PREFIX.layer<l>.f32 (float32 [M, n, d], model-major, written by bench_similarity.py),
 *   writes PREFIX.cka_c.f64 (float64 [L, M, M]) and prints one line of key=value timings:
 *     c_seconds       best of REPEATS runs of the whole analysis (every layer: centring, Gram, all pairs)
 *     syrk_seconds    one bare cblas_ssyrk of the same shape (n x D, D = M d) on ready data, right after,
 *                     times L: the floor the analysis could reach with this OpenBLAS at this moment
 *   PEAK > 0 also times a PEAK^3 sgemm (0 skips it).
 */
#include <gsl/gsl_cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "similarity.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best-of-3 rate of a square sgemm of size s, in GFLOP/s. */
static double sgemm_peak(int s)
{
    float *A = malloc((size_t)s * s * sizeof *A), *B = malloc((size_t)s * s * sizeof *B);
    float *C = malloc((size_t)s * s * sizeof *C);
    if (!A || !B || !C) return 0.0;
    for (size_t i = 0; i < (size_t)s * s; i++) {
        A[i] = (float)((i * 7919) % 1000) * 1e-3f;
        B[i] = (float)((i * 104729) % 1000) * 1e-3f;
    }
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, s, s, 1.0f, A, s, B, s, 0.0f, C, s);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    free(A);
    free(B);
    free(C);
    return 2.0 * (double)s * s * s / best * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: bench_similarity PREFIX M L n d REPEATS PEAK\n");
        return 2;
    }
    const char *prefix = argv[1];
    const size_t M = strtoul(argv[2], NULL, 10), L = strtoul(argv[3], NULL, 10);
    const size_t n = strtoul(argv[4], NULL, 10), d = strtoul(argv[5], NULL, 10);
    const int repeats = atoi(argv[6]), peak_size = atoi(argv[7]);
    float *data = malloc(L * M * n * d * sizeof *data);
    double *cka = malloc(L * M * M * sizeof *cka);
    const float **acts = malloc(L * M * sizeof *acts);
    size_t *dims = malloc(M * sizeof *dims);
    if (!data || !cka || !acts || !dims || M < 2 || repeats < 1) {
        fprintf(stderr, "bench_similarity: bad arguments or out of memory\n");
        return 1;
    }
    for (size_t l = 0; l < L; l++) {
        char path[4096];
        snprintf(path, sizeof path, "%s.layer%zu.f32", prefix, l);
        FILE *f = fopen(path, "rb");
        if (!f || fread(data + l * M * n * d, sizeof *data, M * n * d, f) != M * n * d) {
            fprintf(stderr, "bench_similarity: cannot read %zu floats from %s\n", M * n * d, path);
            return 1;
        }
        fclose(f);
        for (size_t m = 0; m < M; m++) acts[l * M + m] = data + (l * M + m) * n * d;
    }
    for (size_t m = 0; m < M; m++) dims[m] = d;
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        /* The whole analysis as splinter's pipeline runs it: one workspace for all layers, created (and its
         * pages first touched) inside the timing. */
        double t0 = now();
        sp_similarity_workspace *w = sp_similarity_workspace_alloc();
        for (size_t l = 0; l < L; l++)
            if (!w || sp_similarity_all_pairs_ws(cka + l * M * M, NULL, NULL, acts + l * M, dims, M, n, w) != SP_OK) {
                fprintf(stderr, "bench_similarity: %s\n", sp_error_message());
                return 1;
            }
        sp_similarity_workspace_free(w);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    /* The bare SYRK the analysis is built on, same shape, on data already in place (timed once, after). */
    const size_t D = M * d;
    float *Z = malloc(n * D * sizeof *Z), *G = malloc(D * D * sizeof *G);
    if (!Z || !G) {
        fprintf(stderr, "bench_similarity: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t m = 0; m < M; m++)
            for (size_t j = 0; j < d; j++) Z[i * D + m * d + j] = acts[m][i * d + j];
    memset(G, 0, D * D * sizeof *G); /* first-touch outside the timing, as for a second call */
    double t0 = now();
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)n, 1.0f, Z, (int)D, 0.0f, G, (int)D);
    const double syrk = (now() - t0) * (double)L;
    free(Z);
    free(G);
    char path[4096];
    snprintf(path, sizeof path, "%s.cka_c.f64", prefix);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(cka, sizeof *cka, L * M * M, f) != L * M * M || fclose(f) != 0) {
        fprintf(stderr, "bench_similarity: cannot write %s\n", path);
        return 1;
    }
    /* SYRK of Z [n, D]: n * D * (D + 1) flops (a multiply and an add per entry of the upper triangle). */
    const double flops = (double)L * (double)n * (double)D * ((double)D + 1.0);
    const double peak = peak_size > 0 ? sgemm_peak(peak_size) : 0.0;
    printf("c_seconds=%.4f c_gflops=%.2f syrk_seconds=%.4f syrk_gflops=%.2f sgemm_peak_gflops=%.2f omp_threads=%d\n",
           best, flops / best * 1e-9, syrk, flops / syrk * 1e-9, peak, omp_get_max_threads());
    free(data);
    free(cka);
    free(acts);
    free(dims);
    return 0;
}
