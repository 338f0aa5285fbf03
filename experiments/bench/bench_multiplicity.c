/* bench_multiplicity.c: times splinter's model-level kernels on a large prediction matrix: the pairwise
 * disagreement matrix (argmax packing + popcount), ambiguity and discrepancy over an epsilon grid, and the
 * per-example Rashomon capacity. Driven by bench_multiplicity.py, which writes the data, runs the numpy peer
 * on the same data in the same run and prints the ratios.
 *
 * usage: bench_multiplicity PROBS.f32 VAL_LOSS.f64 M n N_EPS EPS_MAX REPEATS [RC_OUT.f64]
 *   PROBS.f32: raw float32 [M][n][2]; VAL_LOSS.f64: raw float64 [M]. Prints "key value" lines; RC_OUT.f64
 *   (optional) receives the per-example Rashomon capacities, raw float64 [n], for the peer to compare.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "capacity.h"
#include "multiplicity.h"
#include "predmatrix.h"
#include "rashomon.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int read_raw(const char *path, void *buf, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(buf, 1, bytes, f);
    fclose(f);
    return got == bytes;
}

int main(int argc, char **argv)
{
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: %s PROBS.f32 VAL_LOSS.f64 M n N_EPS EPS_MAX REPEATS [RC_OUT.f64]\n", argv[0]);
        return 2;
    }
    size_t M = strtoull(argv[3], NULL, 10), n = strtoull(argv[4], NULL, 10), E = strtoull(argv[5], NULL, 10);
    double eps_max = strtod(argv[6], NULL);
    int reps = atoi(argv[7]);
    sp_predmatrix *pm = NULL;
    double *val = malloc(M * sizeof *val), *D = malloc(M * M * sizeof *D), *rc = malloc(n * sizeof *rc);
    uint64_t *work = NULL;
    uint8_t *member = malloc(M);
    double *amb = malloc(E * sizeof *amb), *dis = malloc(E * sizeof *dis);
    if (sp_predmatrix_alloc(&pm, M, n, 2) != SP_OK || !val || !D || !rc || !member || !amb || !dis) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    work = malloc(pm->n_words * sizeof *work);
    if (!read_raw(argv[1], pm->prob, M * n * 2 * sizeof(float)) || !read_raw(argv[2], val, M * sizeof *val)) {
        fprintf(stderr, "cannot read %s or %s with the given sizes\n", argv[1], argv[2]);
        return 1;
    }
    double best_pack = INFINITY, best_pair = INFINITY, best_ad = INFINITY, best_rc = INFINITY;
    size_t capped = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        sp_predmatrix_pack(pm);
        double t1 = now();
        sp_mult_pairwise(D, pm);
        double t2 = now();
        size_t ref = sp_rashomon_reference(val, M), size;
        for (size_t e = 0; e < E; e++) {
            double eps = E > 1 ? eps_max * (double)e / (double)(E - 1) : 0.0;
            sp_rashomon_set(member, &size, val, M, ref, SP_EPS_LOSS_ABS, eps);
            amb[e] = sp_mult_ambiguity(pm, ref, member, NULL, work);
            dis[e] = sp_mult_discrepancy(pm, ref, member, NULL, work);
        }
        double t3 = now();
        if (sp_rashomon_capacity(rc, &capped, pm, NULL) != SP_OK) return 1;
        double t4 = now();
        best_pack = fmin(best_pack, t1 - t0);
        best_pair = fmin(best_pair, t2 - t1);
        best_ad = fmin(best_ad, t3 - t2);
        best_rc = fmin(best_rc, t4 - t3);
    }
    double dsum = 0, rcsum = 0;
    for (size_t k = 0; k < M * M; k++) dsum += D[k];
    for (size_t i = 0; i < n; i++) rcsum += rc[i];
    if (argc == 9) {
        FILE *f = fopen(argv[8], "wb");
        int ok = f != NULL && fwrite(rc, sizeof *rc, n, f) == n;
        if (f && fclose(f) != 0) ok = 0;
        if (!ok) {
            fprintf(stderr, "cannot write %s\n", argv[8]);
            return 1;
        }
    }
    printf("threads %d\n", omp_get_max_threads());
    printf("pack_seconds %.6f\npairwise_seconds %.6f\nambdisc_seconds %.6f\ncapacity_seconds %.6f\n", best_pack,
           best_pair, best_ad, best_rc);
    printf("pairwise_sum %.12g\ncapacity_mean %.12g\ncapacity_capped %zu\n", dsum, rcsum / (double)n, capped);
    for (size_t e = 0; e < E; e++) printf("ambiguity_%zu %.12g\ndiscrepancy_%zu %.12g\n", e, amb[e], e, dis[e]);
    sp_predmatrix_free(pm);
    free(val), free(D), free(rc), free(work), free(member), free(amb), free(dis);
    return 0;
}
