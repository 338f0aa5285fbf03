/* train_linear.c: the linear family from a data set to model files (see train_linear.h, docs/linear.md). */
#include "train_linear.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"
#include "store.h"

sp_linear_spec sp_linear_spec_default(void)
{
    sp_linear_spec s = {.features = sp_ngram_options_default(),
                        .train = sp_linear_train_options_default(),
                        .exact = sp_linear_exact_options_default(),
                        .topk = SP_LINEAR_TOPK_DEFAULT};
    return s;
}

sp_status sp_linear_spec_json(char **out, const sp_linear_spec *spec, const char *variant, uint64_t seed)
{
    const sp_linear_train_options *t = &spec->train;
    const sp_ngram_options *f = &spec->features;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:i, s:i, s:f, s:s, s:f, s:f, s:b, s:f, s:f, s:f, s:i, s:b, s:s, s:b, s:i, s:f, s:i}",
        "family", "linear", "variant", variant, "optimizer", sp_linear_optimizer_name(t->optimizer), "seed",
        (json_int_t)seed, "epochs", t->epochs, "batch", t->batch, "lr", t->lr, "lr_schedule", sp_linear_lr_schedule_name(t->lr_schedule), "l2", t->l2, "init_std",
        t->init_std, "bootstrap", t->bootstrap, "beta1", t->beta1, "beta2", t->beta2, "eps", t->eps, "bits",
        f->bits, "bigrams", f->bigrams, "weighting", f->weighting == SP_NGRAM_TF ? "tf" : "binary",
        "l2_normalize", f->l2_normalize, "topk", spec->topk, "exact_grad_tol", spec->exact.grad_tol,
        "exact_max_iter", spec->exact.max_iter);
    if (!o) return sp_fail(SP_ERR_NOMEM, "out of memory writing the model spec as JSON");
    *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(o);
    return *out ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory writing the model spec as JSON");
}

/* ---------------------------------------------------------------- features */

void sp_linear_data_free(sp_linear_data *d)
{
    if (!d) return;
    if (d->view_X)
        for (size_t v = 0; v < d->n_views; v++) sp_csr_free(d->view_X[v]);
    free(d->view_X);
    if (d->views) sp_split_views_free(d->views, d->n_views);
    sp_linear_trainset_free(d->train);
    sp_csr_free(d->X);
    free(d);
}

sp_status sp_linear_data_build(sp_linear_data **out, const sp_dataset *ds, const sp_ngram_options *o, int threads)
{
    *out = NULL;
    if (ds->n_classes < 2 || ds->n_classes > SP_LINEAR_MAX_CLASSES)
        return sp_fail(SP_ERR_INPUT, "data set %s has %d classes; the linear family needs 2..%d", ds->name,
                       ds->n_classes, SP_LINEAR_MAX_CLASSES);
    sp_linear_data *d = calloc(1, sizeof *d);
    if (!d) return sp_fail(SP_ERR_NOMEM, "out of memory for the features of %s", ds->name);
    d->ds = ds;
    d->features = *o;
    d->train_view = d->val_view = -1;
    sp_status st = sp_ngram_featurize(&d->X, ds->text, ds->n, o, threads);
    if (st == SP_OK) st = sp_dataset_split_views(ds, &d->views, &d->n_views);
    if (st == SP_OK && !(d->view_X = calloc(d->n_views ? d->n_views : 1, sizeof *d->view_X)))
        st = sp_fail(SP_ERR_NOMEM, "out of memory for the split views of %s", ds->name);
    for (size_t v = 0; v < d->n_views && st == SP_OK; v++) {
        st = sp_csr_select_rows(&d->view_X[v], d->X, d->views[v].rows, d->views[v].n);
        if (strcmp(d->views[v].name, "train") == 0) d->train_view = (long)v;
        if (strcmp(d->views[v].name, "val") == 0) d->val_view = (long)v;
    }
    if (st == SP_OK && d->train_view < 0)
        st = sp_fail(SP_ERR_INPUT, "data set %s has no train split; re-import it with ID records", ds->name);
    if (st == SP_OK)
        st = sp_linear_trainset_build(&d->train, d->X, ds->label, d->views[d->train_view].rows,
                                      d->views[d->train_view].n, ds->n_classes);
    if (st != SP_OK) {
        sp_linear_data_free(d);
        return st;
    }
    *out = d;
    return SP_OK;
}

/* ---------------------------------------------------------------- model files */

/* Everything a model file holds beyond the model, computed before the file is opened. */
typedef struct {
    float **probs;      /* [n_views] [n, C] */
    int32_t **ids;      /* [n_views] [n, K] */
    float **contrib;    /* [n_views] [n, K] */
    int64_t **rows;     /* [n_views] [n] */
    double *accuracy, *loss;
} linear_outputs;

static void outputs_free(linear_outputs *o, size_t n_views)
{
    for (size_t v = 0; v < n_views; v++) {
        if (o->probs) free(o->probs[v]);
        if (o->ids) free(o->ids[v]);
        if (o->contrib) free(o->contrib[v]);
        if (o->rows) free(o->rows[v]);
    }
    free(o->probs), free(o->ids), free(o->contrib), free(o->rows), free(o->accuracy), free(o->loss);
}

static sp_status outputs_compute(linear_outputs *o, const sp_linear_data *d, const sp_linear_model *m, int K)
{
    size_t nv = d->n_views, C = (size_t)m->n_classes;
    memset(o, 0, sizeof *o);
    o->probs = calloc(nv, sizeof *o->probs);
    o->ids = calloc(nv, sizeof *o->ids);
    o->contrib = calloc(nv, sizeof *o->contrib);
    o->rows = calloc(nv, sizeof *o->rows);
    o->accuracy = calloc(nv, sizeof *o->accuracy);
    o->loss = calloc(nv, sizeof *o->loss);
    if (!o->probs || !o->ids || !o->contrib || !o->rows || !o->accuracy || !o->loss) goto nomem;
    for (size_t v = 0; v < nv; v++) {
        size_t n = d->views[v].n;
        size_t nn = n ? n : 1;
        o->probs[v] = malloc(nn * C * sizeof(float));
        o->rows[v] = malloc(nn * sizeof(int64_t));
        if (!o->probs[v] || !o->rows[v]) goto nomem;
        if (K > 0) {
            o->ids[v] = malloc(nn * (size_t)K * sizeof(int32_t));
            o->contrib[v] = malloc(nn * (size_t)K * sizeof(float));
            if (!o->ids[v] || !o->contrib[v]) goto nomem;
        }
        sp_status st = sp_linear_predict_explain(o->probs[v], o->ids[v], o->contrib[v], m, d->view_X[v], K);
        if (st != SP_OK) return st;
        sp_linear_evaluate(&o->accuracy[v], &o->loss[v], o->probs[v], d->ds->label, d->views[v].rows, n, (int)C);
        for (size_t i = 0; i < n; i++) o->rows[v][i] = (int64_t)d->views[v].rows[i];
    }
    return SP_OK;
nomem:
    return sp_fail(SP_ERR_NOMEM, "out of memory for the predictions of a linear model");
}

typedef struct {
    const char *family_variant;
    const char *name;
    uint64_t seed;
    const float *train_loss, *val_loss;
    size_t n_curve;
    double exact_grad_norm; /* NaN unless exact */
    int exact_iterations;
} linear_meta;

static sp_status model_write(sp_store_writer *w, const sp_linear_data *d, const sp_linear_spec *spec,
                             const sp_linear_model *m, const linear_outputs *out, const linear_meta *meta)
{
    sp_status st;
    sp_seeds seeds;
    sp_seeds_from_master(&seeds, meta->seed);
    char *spec_json = NULL;
    if ((st = sp_linear_spec_json(&spec_json, spec, meta->family_variant, meta->seed)) != SP_OK) return st;
    st = sp_store_attr_str(w, "/", "family", "linear");
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "variant", meta->family_variant);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "name", meta->name);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "spec_json", spec_json);
    free(spec_json);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "data_hash", d->ds->content_hash);
    if (st == SP_OK) st = sp_store_attr_u64(w, "/", "seed", meta->seed);
    for (int i = 0; i < SP_SEED_STREAM_COUNT && st == SP_OK; i++) {
        char attr[64];
        snprintf(attr, sizeof attr, "seed_%s", sp_seed_stream_names[i]);
        st = sp_store_attr_u64(w, "/", attr, *sp_seeds_stream(&seeds, sp_seed_stream_names[i]));
    }
    if (st == SP_OK) st = sp_store_attr_i64(w, "/", "n_classes", m->n_classes);
    if (st == SP_OK) st = sp_store_attr_i64(w, "/", "n_features", (int64_t)m->n_features);
    if (st == SP_OK && !isnan(meta->exact_grad_norm)) {
        st = sp_store_attr_f64(w, "/", "exact_grad_norm", meta->exact_grad_norm);
        if (st == SP_OK) st = sp_store_attr_i64(w, "/", "exact_iterations", meta->exact_iterations);
    }
    hsize_t dW[2] = {m->n_features, (hsize_t)m->n_classes}, db = (hsize_t)m->n_classes;
    if (st == SP_OK) st = sp_store_write_f32(w, "/weights/W", 2, dW, m->W, 0);
    if (st == SP_OK) st = sp_store_write_f32(w, "/weights/b", 1, &db, m->b, 0);
    for (size_t v = 0; v < d->n_views && st == SP_OK; v++) {
        char path[160];
        const char *split = d->views[v].name;
        hsize_t n = d->views[v].n, dp[2] = {n, (hsize_t)m->n_classes}, dk[2] = {n, (hsize_t)spec->topk};
        snprintf(path, sizeof path, "/predictions/%s", split);
        st = sp_store_write_f32(w, path, 2, dp, out->probs[v], 1);
        if (st == SP_OK) st = sp_store_attr_f64(w, path, "accuracy", out->accuracy[v]);
        if (st == SP_OK) st = sp_store_attr_f64(w, path, "loss", out->loss[v]);
        snprintf(path, sizeof path, "/rows/%s", split);
        if (st == SP_OK) st = sp_store_write_i64(w, path, 1, &n, out->rows[v], 1);
        if (spec->topk <= 0) continue;
        snprintf(path, sizeof path, "/activations/%s/logit_contrib/ids", split);
        if (st == SP_OK) st = sp_store_write_i32(w, path, 2, dk, out->ids[v], 1);
        snprintf(path, sizeof path, "/activations/%s/logit_contrib/values", split);
        if (st == SP_OK) st = sp_store_write_f32(w, path, 2, dk, out->contrib[v], 1);
        snprintf(path, sizeof path, "/activations/%s/logit_contrib", split);
        if (st == SP_OK) st = sp_store_attr_i64(w, path, "k", spec->topk);
        if (st == SP_OK)
            st = sp_store_attr_str(w, path, "definition",
                                   "top-k |x_f (W[f,c^] - mean_c W[f,c])|, c^ = predicted class; docs/linear.md");
    }
    hsize_t dc = meta->n_curve;
    if (st == SP_OK) st = sp_store_write_f32(w, "/curves/train_loss", 1, &dc, meta->train_loss, 0);
    if (st == SP_OK) st = sp_store_write_f32(w, "/curves/val_loss", 1, &dc, meta->val_loss, 0);
    return st;
}

/* Predictions, then the file: computed on the calling thread, written under the process-wide HDF5 lock
 * (the serial HDF5 library is not thread-safe). */
static sp_status model_save(const sp_linear_data *d, const sp_linear_spec *spec, const sp_linear_model *m,
                            const linear_meta *meta, const char *path, double *view_accuracy)
{
    linear_outputs out;
    sp_status st = outputs_compute(&out, d, m, spec->topk);
    if (st == SP_OK) {
#pragma omp critical(sp_hdf5)
        {
            sp_store_writer *w = NULL;
            st = sp_store_create(path, "splinter-model", &w);
            if (st == SP_OK) st = model_write(w, d, spec, m, &out, meta);
            if (st == SP_OK) st = sp_store_commit(w);
            else sp_store_abort(w);
        }
    }
    if (st == SP_OK && view_accuracy)
        for (size_t v = 0; v < d->n_views; v++) view_accuracy[v] = out.accuracy[v];
    outputs_free(&out, d->n_views);
    return st;
}

sp_status sp_linear_train_model(const sp_linear_data *d, const sp_linear_spec *spec, uint64_t seed,
                                const char *name, const char *variant, const char *path, double *view_accuracy)
{
    sp_status st = sp_linear_train_options_check(&spec->train);
    if (st != SP_OK) return st;
    if (spec->topk < 0) return sp_fail(SP_ERR_USAGE, "topk %d: must be >= 0", spec->topk);
    sp_linear_model *m = sp_linear_alloc(d->X->n_cols, d->ds->n_classes);
    int E = spec->train.epochs;
    float *curves = malloc(2 * (size_t)E * sizeof *curves);
    if (!m || !curves) {
        sp_linear_free(m);
        free(curves);
        return sp_fail(SP_ERR_NOMEM, "out of memory for linear model %s", name);
    }
    sp_seeds seeds;
    sp_seeds_from_master(&seeds, seed);
    const sp_split_view *va = d->val_view >= 0 ? &d->views[d->val_view] : NULL;
    st = sp_linear_train_on(m, curves, curves + E, d->train, d->X, d->ds->label, va ? va->rows : NULL,
                            va ? va->n : 0, &spec->train, &seeds);
    if (st == SP_OK) {
        linear_meta meta = {.family_variant = variant ? variant : sp_linear_optimizer_name(spec->train.optimizer),
                            .name = name, .seed = seed, .train_loss = curves, .val_loss = curves + E,
                            .n_curve = (size_t)E, .exact_grad_norm = NAN};
        st = model_save(d, spec, m, &meta, path, view_accuracy);
    }
    if (st != SP_OK) st = sp_fail_context(st, "linear model %s", name);
    sp_linear_free(m);
    free(curves);
    return st;
}

sp_status sp_linear_fit_exact_model(const sp_linear_data *d, const sp_linear_spec *spec, uint64_t seed,
                                    const char *name, const char *path, double *view_accuracy)
{
    if (spec->topk < 0) return sp_fail(SP_ERR_USAGE, "topk %d: must be >= 0", spec->topk);
    int C = d->ds->n_classes;
    size_t F = d->X->n_cols, n = F * (size_t)C + (size_t)C;
    const sp_split_view *tr = &d->views[d->train_view];
    int32_t *y = malloc((tr->n ? tr->n : 1) * sizeof *y);
    double *theta = malloc(n * sizeof *theta);
    sp_linear_model *m = sp_linear_alloc(F, C);
    if (!y || !theta || !m) {
        free(y), free(theta), sp_linear_free(m);
        return sp_fail(SP_ERR_NOMEM, "out of memory for the exact fit %s", name);
    }
    for (size_t i = 0; i < tr->n; i++) y[i] = d->ds->label[tr->rows[i]];
    double gnorm = NAN;
    int iters = 0;
    /* GSL's vector operations go through CBLAS; one BLAS thread keeps the fit independent of the machine. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    sp_status st = sp_linear_fit_exact(theta, &gnorm, &iters, d->view_X[d->train_view], y, C, spec->train.l2,
                                       &spec->exact);
    openblas_set_num_threads(blas_threads);
    if (st == SP_OK) {
        for (size_t i = 0; i < F * (size_t)C; i++) m->W[i] = (float)theta[i];
        for (int c = 0; c < C; c++) m->b[c] = (float)theta[F * (size_t)C + (size_t)c];
        /* one-point curves: the optimum's mean NLL on train and val */
        float curves[2] = {NAN, NAN};
        double obj = sp_linear_objective(NULL, theta, d->view_X[d->train_view], y, C, spec->train.l2), sq = 0;
        for (size_t i = 0; i < F * (size_t)C; i++) sq += theta[i] * theta[i];
        curves[0] = (float)(obj - 0.5 * spec->train.l2 * sq);
        if (d->val_view >= 0) {
            const sp_split_view *va = &d->views[d->val_view];
            float *p = malloc((va->n ? va->n : 1) * (size_t)C * sizeof *p);
            if (!p) st = sp_fail(SP_ERR_NOMEM, "out of memory for the exact fit %s", name);
            else {
                double acc, loss;
                sp_linear_predict_proba(p, m, d->view_X[d->val_view]);
                sp_linear_evaluate(&acc, &loss, p, d->ds->label, va->rows, va->n, C);
                curves[1] = (float)loss;
                free(p);
            }
        }
        linear_meta meta = {.family_variant = "exact", .name = name, .seed = seed, .train_loss = curves,
                            .val_loss = curves + 1, .n_curve = 1, .exact_grad_norm = gnorm,
                            .exact_iterations = iters};
        if (st == SP_OK) st = model_save(d, spec, m, &meta, path, view_accuracy);
    }
    if (st != SP_OK) st = sp_fail_context(st, "exact linear model %s", name);
    free(y), free(theta), sp_linear_free(m);
    return st;
}

sp_status sp_linear_train_seeds(const sp_linear_data *d, const sp_linear_spec *spec, const uint64_t *seeds,
                                size_t n, const char *models_dir, int threads, double *view_accuracy)
{
    if (threads < 1) threads = 1;
    sp_status *stats = calloc(n ? n : 1, sizeof *stats);
    char (*msgs)[512] = calloc(n ? n : 1, sizeof *msgs);
    if (!stats || !msgs) {
        free(stats), free(msgs);
        return sp_fail(SP_ERR_NOMEM, "out of memory scheduling %zu linear seeds", n);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t i = 0; i < n; i++) {
        char name[64], path[4096];
        snprintf(name, sizeof name, "linear-s%llu", (unsigned long long)seeds[i]);
        snprintf(path, sizeof path, "%s/%s.h5", models_dir, name);
        stats[i] = sp_linear_train_model(d, spec, seeds[i], name, NULL, path,
                                         view_accuracy ? view_accuracy + i * d->n_views : NULL);
        if (stats[i] != SP_OK) snprintf(msgs[i], sizeof msgs[i], "%s", sp_error_message());
    }
    sp_status st = SP_OK;
    for (size_t i = 0; i < n && st == SP_OK; i++)
        if (stats[i] != SP_OK) st = sp_fail(stats[i], "%s", msgs[i]);
    free(stats), free(msgs);
    return st;
}
