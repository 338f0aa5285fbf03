/* bench_linear.c: time M linear seeds on a data set's training split, and export the identical feature
 * matrix for the scikit-learn peer (experiments/bench/bench_linear.sh runs both and prints the ratio).
 *
 *     bench_linear RUN/dataset.h5 EXPORT.h5 [seeds=100] [threads=2] [epochs=5] [l2=1e-4] [optimizer=sgd]
 *                  [batch=32] [lr=0.05] [init_std=0.01]
 *
 * Prints one line "splinter: ..." with the wall time of training only (features built once, excluded, as
 * for the peer), and the mean test accuracy; EXPORT.h5 gets /X (CSR of the train rows), /y, /Xtest, /ytest.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dataset.h"
#include "linear.h"
#include "store.h"
#include "train_linear.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): robust to other load on the machine. */
static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static int die(sp_status st)
{
    fprintf(stderr, "bench_linear: %s\n", sp_error_message());
    return sp_status_exit_code(st);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_linear DATASET.h5 EXPORT.h5 [seeds] [threads] [epochs] [l2] [optimizer] "
                        "[batch] [lr]\n");
        return 2;
    }
    int n_seeds = argc > 3 ? atoi(argv[3]) : 100, threads = argc > 4 ? atoi(argv[4]) : 2;
    sp_linear_spec spec = sp_linear_spec_default();
    spec.train.optimizer = SP_LINEAR_SGD;
    if (argc > 5) spec.train.epochs = atoi(argv[5]);
    if (argc > 6) spec.train.l2 = atof(argv[6]);
    if (argc > 7) spec.train.optimizer = (sp_linear_optimizer)sp_linear_optimizer_parse(argv[7]);
    if (argc > 8) spec.train.batch = atoi(argv[8]);
    if (argc > 9) spec.train.lr = atof(argv[9]);
    if (argc > 10) spec.train.init_std = atof(argv[10]);
    if (n_seeds < 1 || threads < 1 || (int)spec.train.optimizer < 0) {
        fprintf(stderr, "bench_linear: bad arguments\n");
        return 2;
    }
    sp_dataset *ds = NULL;
    sp_linear_data *d = NULL;
    sp_status st = sp_dataset_load(argv[1], &ds);
    if (st != SP_OK) return die(st);
    double t0 = now();
    if ((st = sp_linear_data_build(&d, ds, &spec.features, threads)) != SP_OK) return die(st);
    double t_feat = now() - t0;
    long test_view = -1;
    for (size_t v = 0; v < d->n_views; v++)
        if (strcmp(d->views[v].name, "test") == 0) test_view = (long)v;
    const sp_split_view *tr = &d->views[d->train_view];

    /* the identical matrices for the peer */
    sp_store_writer *w = NULL;
    int32_t *y = malloc(tr->n * sizeof *y), *yt = NULL;
    for (size_t i = 0; i < tr->n; i++) y[i] = ds->label[tr->rows[i]];
    hsize_t n = tr->n;
    if ((st = sp_store_create(argv[2], "splinter-bench", &w)) != SP_OK) return die(st);
    st = sp_csr_write(w, "/X", d->view_X[d->train_view]);
    if (st == SP_OK) st = sp_store_write_i32(w, "/y", 1, &n, y, 0);
    if (st == SP_OK && test_view >= 0) {
        const sp_split_view *te = &d->views[test_view];
        hsize_t nt = te->n;
        yt = malloc((te->n ? te->n : 1) * sizeof *yt);
        for (size_t i = 0; i < te->n; i++) yt[i] = ds->label[te->rows[i]];
        st = sp_csr_write(w, "/Xtest", d->view_X[test_view]);
        if (st == SP_OK) st = sp_store_write_i32(w, "/ytest", 1, &nt, yt, 0);
    }
    if (st == SP_OK) st = sp_store_attr_f64(w, "/", "l2", spec.train.l2);
    if (st == SP_OK) st = sp_store_attr_i64(w, "/", "epochs", spec.train.epochs);
    if (st == SP_OK) st = sp_store_attr_f64(w, "/", "lr", spec.train.lr);
    if (st == SP_OK) st = sp_store_commit(w);
    else sp_store_abort(w);
    if (st != SP_OK) return die(st);

    /* M seeds, one per thread, training only (the models are kept and scored afterwards) */
    double *acc = calloc((size_t)n_seeds, sizeof *acc);
    sp_linear_model **models = calloc((size_t)n_seeds, sizeof *models);
    int failed = 0;
    t0 = now();
    double c0 = cpu_now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) reduction(+ : failed)
    for (int s = 0; s < n_seeds; s++) {
        sp_seeds seeds;
        sp_seeds_from_master(&seeds, (uint64_t)s);
        models[s] = sp_linear_alloc(d->X->n_cols, ds->n_classes);
        if (!models[s] ||
            sp_linear_train_on(models[s], NULL, NULL, d->train, d->X, ds->label, NULL, 0, &spec.train, &seeds) != SP_OK)
            failed++;
    }
    double t_train = now() - t0, c_train = cpu_now() - c0;
    for (int s = 0; s < n_seeds && test_view >= 0; s++) {
        const sp_split_view *te = &d->views[test_view];
        float *p = malloc((te->n ? te->n : 1) * (size_t)ds->n_classes * sizeof *p);
        double loss;
        if (models[s] && p) {
            sp_linear_predict_proba(p, models[s], d->view_X[test_view]);
            sp_linear_evaluate(&acc[s], &loss, p, ds->label, te->rows, te->n, ds->n_classes);
        }
        free(p);
    }
    for (int s = 0; s < n_seeds; s++) sp_linear_free(models[s]);
    free(models);
    double mean = 0;
    for (int s = 0; s < n_seeds; s++) mean += acc[s] / n_seeds;
    printf("splinter: %d seeds (%s, batch %d, lr %g, %d epochs, l2 %g, init_std %g) on %d threads: %.3f s training, "
           "%.3f s CPU (%.2f ms CPU/seed; features %.2f s once); %zu train rows, %zu non-zeros; mean test accuracy %.4f%s\n",
           n_seeds, sp_linear_optimizer_name(spec.train.optimizer), spec.train.batch, spec.train.lr,
           spec.train.epochs, spec.train.l2, spec.train.init_std, threads, t_train, c_train, 1e3 * c_train / n_seeds, t_feat, tr->n,
           sp_csr_nnz(d->view_X[d->train_view]), mean, failed ? " (SOME SEEDS FAILED)" : "");
    free(acc), free(y), free(yt);
    sp_linear_data_free(d);
    sp_dataset_free(ds);
    return failed ? 1 : 0;
}
