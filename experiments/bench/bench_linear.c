/* bench_linear.c: time M linear seeds on a data set's training split, and export the identical feature
 * matrix for the scikit-learn peer (experiments/bench/bench_linear.sh runs both and prints the ratio).
 *
 *     bench_linear RUN/dataset.h5 EXPORT.h5 [seeds=100] [threads=2] [epochs=5] [l2=1e-4] [optimizer=sgd]
 *                  [batch=1] [lr_schedule=optimal] [lr=0.05] [init_std=0]
 *
 * The defaults are per-sample SGD from zero with the "optimal" schedule: scikit-learn's
 * SGDClassifier(loss="log_loss", penalty="l2", alpha=l2/2) algorithm. Features are built once (timed
 * apart, as for the peer, which gets them from EXPORT.h5). The timed part is what the peer's loop does per
 * seed: train one model, predict the test split, score it; seeds run in parallel, one per thread. Prints one
 * line "splinter: ..." with wall and CPU times and the test accuracy of every seed (min, mean, max, and how
 * many are below 0.97), then "SPLINTER <wall s> <CPU s> <seeds below 0.97 or failed>" for the script;
 * EXPORT.h5 gets /X (CSR of the train rows), /y, /Xtest, /ytest.
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

/* Writes the train and test matrices and labels for the peer. */
static sp_status export_peer(const char *path, const sp_linear_data *d, long test_view, const sp_linear_spec *spec)
{
    const sp_dataset *ds = d->ds;
    const sp_split_view *tr = &d->views[d->train_view], *te = &d->views[test_view];
    int32_t *y = malloc((tr->n ? tr->n : 1) * sizeof *y), *yt = malloc((te->n ? te->n : 1) * sizeof *yt);
    if (!y || !yt) {
        free(y), free(yt);
        return sp_fail(SP_ERR_NOMEM, "out of memory exporting %s", path);
    }
    for (size_t i = 0; i < tr->n; i++) y[i] = ds->label[tr->rows[i]];
    for (size_t i = 0; i < te->n; i++) yt[i] = ds->label[te->rows[i]];
    hsize_t n = tr->n, nt = te->n;
    sp_store_writer *w = NULL;
    sp_status st = sp_store_create(path, "splinter-bench", &w);
    if (st == SP_OK) st = sp_csr_write(w, "/X", d->view_X[d->train_view]);
    if (st == SP_OK) st = sp_store_write_i32(w, "/y", 1, &n, y, 0);
    if (st == SP_OK) st = sp_csr_write(w, "/Xtest", d->view_X[test_view]);
    if (st == SP_OK) st = sp_store_write_i32(w, "/ytest", 1, &nt, yt, 0);
    if (st == SP_OK) st = sp_store_attr_f64(w, "/", "l2", spec->train.l2);
    if (st == SP_OK) st = sp_store_attr_i64(w, "/", "epochs", spec->train.epochs);
    if (st == SP_OK) st = sp_store_commit(w);
    else if (w) sp_store_abort(w);
    free(y), free(yt);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_linear DATASET.h5 EXPORT.h5 [seeds] [threads] [epochs] [l2] [optimizer] "
                        "[batch] [lr_schedule] [lr] [init_std]\n");
        return 2;
    }
    int n_seeds = argc > 3 ? atoi(argv[3]) : 100, threads = argc > 4 ? atoi(argv[4]) : 2;
    sp_linear_spec spec = sp_linear_spec_default();
    spec.train.optimizer = SP_LINEAR_SGD;
    spec.train.batch = 1;
    spec.train.lr_schedule = SP_LINEAR_LR_OPTIMAL;
    spec.train.init_std = 0;
    int schedule = spec.train.lr_schedule, optimizer = spec.train.optimizer;
    if (argc > 5) spec.train.epochs = atoi(argv[5]);
    if (argc > 6) spec.train.l2 = atof(argv[6]);
    if (argc > 7) optimizer = sp_linear_optimizer_parse(argv[7]);
    if (argc > 8) spec.train.batch = atoi(argv[8]);
    if (argc > 9) schedule = sp_linear_lr_schedule_parse(argv[9]);
    if (argc > 10) spec.train.lr = atof(argv[10]);
    if (argc > 11) spec.train.init_std = atof(argv[11]);
    if (n_seeds < 1 || threads < 1 || optimizer < 0 || schedule < 0) {
        fprintf(stderr, "bench_linear: bad arguments\n");
        return 2;
    }
    spec.train.optimizer = (sp_linear_optimizer)optimizer;
    spec.train.lr_schedule = (sp_linear_lr_schedule)schedule;
    sp_status st = sp_linear_train_options_check(&spec.train);
    if (st != SP_OK) return die(st);
    sp_dataset *ds = NULL;
    sp_linear_data *d = NULL;
    if ((st = sp_dataset_load(argv[1], &ds)) != SP_OK) return die(st);
    double t0 = now();
    if ((st = sp_linear_data_build(&d, ds, &spec.features, threads)) != SP_OK) return die(st);
    double t_feat = now() - t0;
    long test_view = -1;
    for (size_t v = 0; v < d->n_views; v++)
        if (strcmp(d->views[v].name, "test") == 0) test_view = (long)v;
    if (test_view < 0) {
        fprintf(stderr, "bench_linear: %s has no test split\n", argv[1]);
        return 1;
    }
    if ((st = export_peer(argv[2], d, test_view, &spec)) != SP_OK) return die(st);

    /* M seeds, one per thread: train, predict the test split, score (the peer's loop body) */
    const sp_split_view *te = &d->views[test_view];
    const sp_csr *Xte = d->view_X[test_view];
    double *acc = calloc((size_t)n_seeds, sizeof *acc);
    int failed = 0;
    t0 = now();
    double c0 = cpu_now();
#pragma omp parallel num_threads(threads) reduction(+ : failed)
    {
        float *p = malloc((te->n ? te->n : 1) * (size_t)ds->n_classes * sizeof *p);
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < n_seeds; s++) {
            sp_seeds seeds;
            sp_seeds_from_master(&seeds, (uint64_t)s);
            sp_linear_model *m = sp_linear_alloc(d->X->n_cols, ds->n_classes);
            double loss;
            if (!m || !p ||
                sp_linear_train_on(m, NULL, NULL, d->train, d->X, ds->label, NULL, 0, &spec.train, &seeds) != SP_OK) {
                failed++;
            } else {
                sp_linear_predict_proba(p, m, Xte);
                sp_linear_evaluate(&acc[s], &loss, p, ds->label, te->rows, te->n, ds->n_classes);
            }
            sp_linear_free(m);
        }
        free(p);
    }
    double t_train = now() - t0, c_train = cpu_now() - c0;
    double mean = 0, lo = 1, hi = 0;
    int below = 0;
    for (int s = 0; s < n_seeds; s++) {
        mean += acc[s] / n_seeds;
        lo = acc[s] < lo ? acc[s] : lo;
        hi = acc[s] > hi ? acc[s] : hi;
        below += acc[s] < 0.97;
    }
    const sp_linear_train_options *o = &spec.train;
    printf("splinter: %d seeds (%s, batch %d, lr schedule %s, lr %g, %d epochs, l2 %g, init_std %g) on %d threads: "
           "%.3f s, %.3f s CPU (%.2f ms CPU/seed; features %.2f s once); %zu train rows, %zu non-zeros; test "
           "accuracy min %.4f mean %.4f max %.4f, %d seeds below 0.97%s\n",
           n_seeds, sp_linear_optimizer_name(o->optimizer), o->batch, sp_linear_lr_schedule_name(o->lr_schedule),
           o->lr, o->epochs, o->l2, o->init_std, threads, t_train, c_train, 1e3 * c_train / n_seeds, t_feat,
           d->views[d->train_view].n, sp_csr_nnz(d->view_X[d->train_view]), lo, mean, hi, below,
           failed ? " (SOME SEEDS FAILED)" : "");
    printf("SPLINTER %.6f %.6f %d\n", t_train, c_train, below + failed);
    free(acc);
    sp_linear_data_free(d);
    sp_dataset_free(ds);
    return failed ? 1 : 0;
}
