/* bench_exact_vpr.c: cost of exact viable prediction ranges on a real run (RUN with dataset.h5 and
 * models/linear-exact.h5): fit time, then per example the inner solves, Newton steps, Hessian-vector
 * products and wall time, for the first K test examples at the given epsilons.
 * usage: bench_exact_vpr RUN [K] [EPS,EPS,...] [TOL] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "exact_vpr.h"
#include "store.h"
#include "train_linear.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s RUN [K] [EPS,...]\n", argv[0]);
        return 2;
    }
    size_t K = argc > 2 ? (size_t)atoi(argv[2]) : 5;
    double eps[64];
    size_t ne = 0;
    char *list = strdup(argc > 3 ? argv[3] : "0.001,0.01,0.1");
    for (char *sv = NULL, *t = strtok_r(list, ",", &sv); t && ne < 64; t = strtok_r(NULL, ",", &sv)) eps[ne++] = atof(t);
    free(list);
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", argv[1]);
    sp_dataset *ds = NULL;
    sp_linear_data *ld = NULL;
    sp_ngram_options fo = sp_ngram_options_default();
    if (sp_dataset_load(path, &ds) != SP_OK || sp_linear_data_build(&ld, ds, &fo, 1) != SP_OK) {
        fprintf(stderr, "%s\n", sp_error_message());
        return 1;
    }
    const sp_split_view *tr = &ld->views[ld->train_view];
    sp_vpr_problem *p = NULL;
    sp_vpr_options o = sp_vpr_options_default();
    double t0 = omp_get_wtime();
    if (sp_vpr_problem_alloc(&p, ld->X, ds->label, tr->rows, tr->n, 1e-4) != SP_OK ||
        sp_vpr_fit(p, NULL, 0, &o) != SP_OK) {
        fprintf(stderr, "%s\n", sp_error_message());
        return 1;
    }
    printf("fit from zero: %.2f s, f* %.10f, |grad| %.2e, Fc %zu, R %zu\n", omp_get_wtime() - t0, p->f_star,
           p->fit_grad_norm, p->ts->n_compact, p->ts->X->n_rows);
    /* objective gaps of the sampled models linear-s0.. */
    double *d = malloc(p->n_features * sizeof *d);
    for (int m = 0; m < 1000 && d; m++) {
        snprintf(path, sizeof path, "%s/models/linear-s%d.h5", argv[1], m);
        hid_t f;
        if (sp_store_open(path, "splinter-model", &f) != SP_OK) break;
        int rank;
        hsize_t dims[4];
        float *W = NULL, *bb = NULL;
        if (sp_store_read_f32(f, "/weights/W", &rank, dims, &W) == SP_OK && sp_store_read_f32(f, "/weights/b", &rank, dims, &bb) == SP_OK) {
            for (size_t j = 0; j < p->n_features; j++) d[j] = (double)W[2 * j + 1] - W[2 * j];
            printf("linear-s%d: L - L* = %.6g\n", m, sp_vpr_objective(p, d, (double)bb[1] - bb[0]) - p->f_star);
        }
        free(W), free(bb);
        H5Fclose(f);
    }
    free(d);
    sp_error_clear();
    if (argc > 4) o.tol = atof(argv[4]);
    size_t v = 0;
    while (v < ld->n_views && strcmp(ld->views[v].name, "test") != 0) v++;
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(p);
    sp_vpr_range r[64];
    for (size_t i = 0; i < K && i < ld->views[v].n; i++) {
        size_t row = ld->views[v].rows[i];
        int64_t a = ld->X->row_ptr[row], b = ld->X->row_ptr[row + 1];
        size_t h0, n0, h1, n1;
        sp_vpr_workspace_counters(&h0, &n0, ws);
        double t1 = omp_get_wtime();
        if (sp_vpr_solve(r, ws, p, ld->X->col + a, ld->X->val + a, (size_t)(b - a), eps, ne, &o) != SP_OK) {
            fprintf(stderr, "%s\n", sp_error_message());
            return 1;
        }
        sp_vpr_workspace_counters(&h1, &n1, ws);
        int solves = 0;
        for (size_t e = 0; e < ne; e++) solves += r[e].solves;
        printf("example %zu: %.2f s, %d solves, %zu Newton, %zu HVP; m* %.4f; eps %g: [%.4f, %.4f] conv %d\n", i,
               omp_get_wtime() - t1, solves, n1 - n0, h1 - h0, sp_vpr_margin_star(p, ld->X->col + a, ld->X->val + a,
               (size_t)(b - a)), eps[ne - 1], r[ne - 1].lo, r[ne - 1].hi, r[ne - 1].converged);
    }
    sp_vpr_workspace_free(ws);
    sp_vpr_problem_free(p);
    sp_linear_data_free(ld);
    sp_dataset_free(ds);
    return 0;
}
