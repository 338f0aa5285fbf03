/* similarity_dump.c: prints the similarity library's results for a set of model files, for comparison with
 * the numpy reference (tests/check_similarity_ref.sh, tests/ref/similarity_ref.py).
 *
 * Usage: similarity_dump POOLING SPLIT[,SPLIT...] MODEL.h5...
 * Output lines (full precision):
 *   pair <split> <layer> <a> <b> <linear CKA> <debiased CKA> <Procrustes d^2>     (all-pairs driver, a < b)
 *   single <split> <layer> <a> <b> <linear CKA> <debiased CKA> <Procrustes d^2>   (single-pair functions)
 *   cross <split> <layer i> <layer j> <linear CKA>   (model 0's layer i against model 1's layer j)
 *   cca <split> <layer> <a> <b> <SVCCA> <PWCCA with a's weights>      (sp_cca_all_pairs, 99% variance, a != b)
 *   ccasingle <split> <layer> <a> <b> <SVCCA> <PWCCA>                 (sp_cca, a < b)
 * Exit 0, or 1 with the library's message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "similarity.h"

static int fail(sp_status st)
{
    fprintf(stderr, "similarity_dump: %s\n", sp_error_message());
    return sp_status_exit_code(st);
}

static int dump_split(const char *split, const char *pooling, const char *const *paths, size_t M)
{
    sp_activation_set *s = NULL;
    sp_status st = sp_activations_load(&s, paths, M, split, pooling, NULL, 0);
    if (st != SP_OK) return fail(st);
    double *lin = malloc(M * M * sizeof *lin), *deb = malloc(M * M * sizeof *deb);
    double *proc = malloc(M * M * sizeof *proc), *svcca = malloc(M * M * sizeof *svcca);
    double *pwcca = malloc(M * M * sizeof *pwcca);
    double *cross = malloc(s->n_layers * s->n_layers * sizeof *cross);
    const float **a0 = malloc(s->n_layers * sizeof *a0), **a1 = malloc(s->n_layers * sizeof *a1);
    size_t *d0 = malloc(s->n_layers * sizeof *d0), *d1 = malloc(s->n_layers * sizeof *d1);
    int rc = 0;
    if (!lin || !deb || !proc || !svcca || !pwcca || !cross || !a0 || !a1 || !d0 || !d1) {
        fprintf(stderr, "similarity_dump: out of memory\n");
        rc = 1;
        goto done;
    }
    for (size_t l = 0; l < s->n_layers; l++) {
        const float *const *acts = (const float *const *)s->acts + l * M;
        const size_t *dims = s->dims + l * M;
        if ((st = sp_similarity_all_pairs(lin, deb, proc, acts, dims, M, s->n)) != SP_OK) {
            rc = fail(st);
            goto done;
        }
        for (size_t a = 0; a < M; a++)
            for (size_t b = a + 1; b < M; b++) {
                printf("pair %s %s %zu %zu %.17g %.17g %.17g\n", split, s->layers[l], a, b, lin[a * M + b],
                       deb[a * M + b], proc[a * M + b]);
                double l1, d1v, p1;
                if ((st = sp_cka_linear(&l1, acts[a], acts[b], s->n, dims[a], dims[b])) != SP_OK ||
                    (st = sp_cka_debiased(&d1v, acts[a], acts[b], s->n, dims[a], dims[b])) != SP_OK ||
                    (st = sp_procrustes_distance(&p1, acts[a], acts[b], s->n, dims[a], dims[b])) != SP_OK) {
                    rc = fail(st);
                    goto done;
                }
                printf("single %s %s %zu %zu %.17g %.17g %.17g\n", split, s->layers[l], a, b, l1, d1v, p1);
            }
        if ((st = sp_cca_all_pairs(svcca, pwcca, NULL, acts, dims, M, s->n, 0.99)) != SP_OK) {
            rc = fail(st);
            goto done;
        }
        for (size_t a = 0; a < M; a++)
            for (size_t b = 0; b < M; b++) {
                if (a == b) continue;
                printf("cca %s %s %zu %zu %.17g %.17g\n", split, s->layers[l], a, b, svcca[a * M + b], pwcca[a * M + b]);
                if (a > b) continue;
                sp_cca_result r;
                if ((st = sp_cca(&r, NULL, acts[a], acts[b], s->n, dims[a], dims[b], 0.99)) != SP_OK) {
                    rc = fail(st);
                    goto done;
                }
                printf("ccasingle %s %s %zu %zu %.17g %.17g\n", split, s->layers[l], a, b, r.mean_rho, r.pwcca);
            }
        a0[l] = s->acts[l * M];
        d0[l] = s->dims[l * M];
        a1[l] = s->acts[l * M + (M > 1)];
        d1[l] = s->dims[l * M + (M > 1)];
    }
    if ((st = sp_similarity_cross(cross, NULL, NULL, a0, d0, s->n_layers, a1, d1, s->n_layers, s->n)) != SP_OK) {
        rc = fail(st);
        goto done;
    }
    for (size_t i = 0; i < s->n_layers; i++)
        for (size_t j = 0; j < s->n_layers; j++)
            printf("cross %s %s %s %.17g\n", split, s->layers[i], s->layers[j], cross[i * s->n_layers + j]);
done:
    free(lin), free(deb), free(proc), free(svcca), free(pwcca), free(cross), free(a0), free(a1), free(d0), free(d1);
    sp_activations_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: similarity_dump POOLING SPLIT[,SPLIT...] MODEL.h5...\n");
        return 2;
    }
    const char *const *paths = (const char *const *)argv + 3;
    const size_t M = (size_t)(argc - 3);
    char *splits = strdup(argv[2]);
    if (!splits) return 1;
    int rc = 0;
    for (char *save = NULL, *sp = strtok_r(splits, ",", &save); sp && rc == 0; sp = strtok_r(NULL, ",", &save))
        rc = dump_split(sp, argv[1], paths, M);
    free(splits);
    return rc;
}
