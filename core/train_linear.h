/* train_linear.h: dataset -> hashed features -> M seeds of the linear family -> one model file per seed.
 *
 * The features of every record are built once (sp_linear_data) and shared read-only by all seeds; each seed
 * trains single-threaded, many seeds run in parallel, so a model is the same whatever the thread count.
 *
 *     sp_linear_data *d = NULL;
 *     sp_linear_spec spec = sp_linear_spec_default();
 *     if (sp_linear_data_build(&d, ds, &spec.features, threads) != SP_OK) ...;
 *     uint64_t seeds[3] = {0, 1, 2};
 *     sp_linear_train_seeds(d, &spec, seeds, 3, "RUN/models", threads, NULL);  // RUN/models/linear-s<seed>.h5
 *     sp_linear_fit_exact_model(d, &spec, 0, "linear-exact", "RUN/models/linear-exact.h5", NULL);
 *     sp_linear_data_free(d);
 *
 * File layout: docs/store.md (common part) and docs/linear.md (weights, logit contributions, curves).
 */
#ifndef SPLINTER_TRAIN_LINEAR_H
#define SPLINTER_TRAIN_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "linear.h"
#include "ngram.h"
#include "sparse.h"
#include "status.h"

#define SP_LINEAR_TOPK_DEFAULT 32

typedef struct {
    sp_ngram_options features;   /* text -> features */
    sp_linear_train_options train; /* minibatch trainer */
    sp_linear_exact_options exact; /* exact mode */
    int topk;                    /* K of /activations/<split>/logit_contrib (default 32, 0 = not stored) */
} sp_linear_spec;

sp_linear_spec sp_linear_spec_default(void);

/* Every hyperparameter of a spec (and the variant and master seed) as a JSON object text (malloc'ed). */
sp_status sp_linear_spec_json(char **out, const sp_linear_spec *spec, const char *variant, uint64_t seed);

/* A data set's features, split views and per-view row matrices; read-only once built. */
typedef struct {
    const sp_dataset *ds;  /* borrowed; must outlive this */
    sp_ngram_options features;
    sp_csr *X;             /* [ds->n, 2^bits] one row per record */
    sp_split_view *views;  /* train, val, test, ood-<domain>... */
    size_t n_views;
    sp_csr **view_X;       /* [n_views] the rows of each view, in view order */
    long train_view;       /* index of "train" in views, or -1 */
    long val_view;         /* index of "val", or -1 */
    sp_linear_trainset *train; /* the train view in the trainer's compact form, shared by all seeds */
} sp_linear_data;

/* Featurises every record of ds (on `threads` threads; the result does not depend on it). */
sp_status sp_linear_data_build(sp_linear_data **out, const sp_dataset *ds, const sp_ngram_options *o, int threads);
void sp_linear_data_free(sp_linear_data *d);

/* Trains master seed `seed` with spec->train and writes the model atomically to `path` as `name`; variant
 * NULL means the optimizer's name. view_accuracy[n_views] (may be NULL) receives the accuracy per view.
 * Runs on the calling thread; HDF5 writes are serialised in `#pragma omp critical(sp_hdf5)`. */
sp_status sp_linear_train_model(const sp_linear_data *d, const sp_linear_spec *spec, uint64_t seed,
                                const char *name, const char *variant, const char *path, double *view_accuracy);

/* The exact L2 optimum (spec->train.l2) written as `name` (variant NULL = "exact"); `seed` only fills the
 * seed attributes (the optimum does not depend on seeds). */
sp_status sp_linear_fit_exact_model(const sp_linear_data *d, const sp_linear_spec *spec, uint64_t seed,
                                    const char *name, const char *path, double *view_accuracy);

/* Trains seeds[0..n-1] on `threads` threads, one seed per thread, into <models_dir>/linear-s<seed>.h5.
 * view_accuracy[n * n_views] (may be NULL): row i = seed i. Every seed is attempted; the first failure in
 * seed order is returned. */
sp_status sp_linear_train_seeds(const sp_linear_data *d, const sp_linear_spec *spec, const uint64_t *seeds,
                                size_t n, const char *models_dir, int threads, double *view_accuracy);

#endif
