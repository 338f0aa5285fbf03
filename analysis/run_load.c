/* run_load.c: reads a run directory's model files and labels into per-variant prediction matrices. */
#include "run_internal.h"

#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_models.h"
#include "strlist.h"
#include "store.h"

sp_status run_warn(run_state *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_status st = sp_strlist_vpushf(&s->warnings, &s->n_warnings, fmt, ap);
    va_end(ap);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_eval_split(const char *name) { return strcmp(name, "test") == 0 || strncmp(name, "ood-", 4) == 0; }

static void model_clear(run_model *m)
{
    free(m->path);
    free(m->name);
    free(m->family);
    free(m->variant);
    free(m->data_hash);
    for (size_t k = 0; k < m->n_splits; k++) {
        free(m->splits[k].rows);
        free(m->splits[k].prob);
    }
    free(m->splits);
    memset(m, 0, sizeof *m);
}

/* Reads one split's predictions and rows; the file is open. */
static sp_status model_read_split(run_model_split *sp, hid_t f, const char *path, const char *split, int C)
{
    char dpath[160];
    int rank;
    hsize_t dims[4], rdims[4];
    snprintf(sp->name, sizeof sp->name, "%s", split);
    snprintf(dpath, sizeof dpath, "/predictions/%s", split);
    sp_status st = sp_store_read_f32(f, dpath, &rank, dims, &sp->prob);
    if (st != SP_OK) return st;
    if (rank != 2 || dims[1] != (hsize_t)C || dims[0] == 0)
        return sp_fail(SP_ERR_INPUT, "%s: %s has shape %s, expected [n, %d] with n >= 1 (n_classes); "
                       "regenerate the model", path, dpath, rank == 2 ? "[n, C']" : "of another rank", C);
    sp->n = (size_t)dims[0];
    if (sp_store_read_attr_f64(f, dpath, "accuracy", &sp->stored_accuracy) != SP_OK) sp->stored_accuracy = NAN;
    if (sp_store_read_attr_f64(f, dpath, "loss", &sp->stored_loss) != SP_OK) sp->stored_loss = NAN;
    sp_error_clear();
    snprintf(dpath, sizeof dpath, "/rows/%s", split);
    if ((st = sp_store_read_i64(f, dpath, &rank, rdims, &sp->rows)) != SP_OK) return st;
    if (rank != 1 || rdims[0] != dims[0])
        return sp_fail(SP_ERR_INPUT, "%s: %s has %llu entries but /predictions/%s has %llu rows; regenerate the "
                       "model", path, dpath, (unsigned long long)rdims[0], split, (unsigned long long)dims[0]);
    return SP_OK;
}

/* Reads a model file's attributes and its val / test / ood-* splits. */
static sp_status model_read(run_model *m, hid_t f, const char *path)
{
    sp_status st;
    int64_t C;
    if (!(m->path = strdup(path))) return sp_fail(SP_ERR_NOMEM, "out of memory");
    if ((st = sp_store_read_attr_str(f, "/", "name", &m->name)) != SP_OK ||
        (st = sp_store_read_attr_str(f, "/", "family", &m->family)) != SP_OK ||
        (st = sp_store_read_attr_str(f, "/", "variant", &m->variant)) != SP_OK ||
        (st = sp_store_read_attr_str(f, "/", "data_hash", &m->data_hash)) != SP_OK ||
        (st = sp_store_read_attr_i64(f, "/", "n_classes", &C)) != SP_OK)
        return sp_fail_context(st, "%s", path);
    if (C < 2 || C > 1 << 20)
        return sp_fail(SP_ERR_INPUT, "%s: n_classes = %lld is not a class count >= 2", path, (long long)C);
    m->n_classes = (int)C;
    m->has_seed_pretrain = sp_store_read_attr_u64(f, "/", "seed_pretrain", &m->seed_pretrain) == SP_OK;
    /* the fine-tuning seed's identity: seed_init (derived from the master seed, written by every family),
     * else the master seed itself */
    m->has_seed_finetune = sp_store_read_attr_u64(f, "/", "seed_init", &m->seed_finetune) == SP_OK ||
                           sp_store_read_attr_u64(f, "/", "seed", &m->seed_finetune) == SP_OK;
    sp_error_clear();
    if (!sp_store_exists(f, "/predictions"))
        return sp_fail(SP_ERR_INPUT, "%s: no /predictions group; the model was not evaluated", path);
    hid_t g = H5Gopen2(f, "/predictions", H5P_DEFAULT);
    H5G_info_t info;
    if (g < 0 || H5Gget_info(g, &info) < 0) {
        if (g >= 0) H5Gclose(g);
        return sp_fail(SP_ERR_INPUT, "%s: cannot read the /predictions group", path);
    }
    m->splits = calloc(info.nlinks ? info.nlinks : 1, sizeof *m->splits);
    if (!m->splits) {
        H5Gclose(g);
        return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
    }
    st = SP_OK;
    for (hsize_t k = 0; k < info.nlinks && st == SP_OK; k++) {
        char split[64];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, split, sizeof split, H5P_DEFAULT);
        if (len < 0 || (size_t)len >= sizeof split) {
            st = sp_fail(SP_ERR_INPUT, "%s: unreadable or over-long split name in /predictions", path);
            break;
        }
        if (strcmp(split, "val") != 0 && !is_eval_split(split)) continue;
        st = model_read_split(&m->splits[m->n_splits++], f, path, split, m->n_classes);
    }
    H5Gclose(g);
    return st;
}

/* Reads every complete splinter-model file of models/ (run_models.h: sorted by file name), with a warning for
 * each file that is unfinished or of a format that is not a model; pretrained encoders are skipped quietly. */
static sp_status load_models(run_state *s)
{
    sp_run_models *ms = NULL;
    sp_status st = sp_run_models_list(&ms, s->run_dir, 2);
    if (st != SP_OK) return st;
    if (!(s->models = calloc(ms->n_models, sizeof *s->models)))
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", ms->dir);
    for (size_t k = 0; k < ms->n_files && st == SP_OK; k++) {
        const sp_run_file *rf = &ms->files[k];
        if (rf->kind == SP_RUN_FILE_INCOMPLETE) {
            st = run_warn(s, "skipped %s: incomplete or not a splinter file", rf->path);
        } else if (rf->kind == SP_RUN_FILE_OTHER) {
            st = run_warn(s, "skipped %s: a '%s' file, not a model", rf->path, rf->format);
        } else if (rf->kind == SP_RUN_FILE_MODEL) {
            hid_t f;
            if ((st = sp_store_open(rf->path, "splinter-model", &f)) != SP_OK) break;
            st = model_read(&s->models[s->n_models], f, rf->path);
            s->n_models++;
            H5Fclose(f);
        }
    }
    sp_run_models_free(ms);
    if (st != SP_OK) return st;
    for (size_t k = 1; k < s->n_models; k++) {
        if (strcmp(s->models[k].data_hash, s->models[0].data_hash) != 0)
            return sp_fail(SP_ERR_INPUT, "%s: data_hash %.16s... differs from %s (%.16s...): the models were "
                           "trained on different data; analyse them in separate runs", s->models[k].path,
                           s->models[k].data_hash, s->models[0].path, s->models[0].data_hash);
        if (s->models[k].n_classes != s->models[0].n_classes)
            return sp_fail(SP_ERR_INPUT, "%s: n_classes %d differs from %s (%d)", s->models[k].path,
                           s->models[k].n_classes, s->models[0].path, s->models[0].n_classes);
    }
    return SP_OK;
}

/* Reads dataset.h5 labels (and source ids when present) and checks its content hash. */
static sp_status load_dataset(run_state *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", s->run_dir);
    hid_t f;
    sp_status st = sp_store_open(path, "splinter-dataset", &f);
    if (st != SP_OK) return st;
    char *hash = NULL;
    if (sp_store_read_attr_str(f, "/", "content_hash", &hash) != SP_OK) sp_error_clear(); /* optional */
    else if (strcmp(hash, s->models[0].data_hash) != 0)
        st = sp_fail(SP_ERR_INPUT, "%s: content_hash %.16s... is not the models' data_hash %.16s...; the models "
                     "belong to another data set", path, hash, s->models[0].data_hash);
    free(hash);
    int rank;
    hsize_t dims[4];
    if (st == SP_OK) st = sp_store_read_i32(f, "/label", &rank, dims, &s->labels);
    if (st == SP_OK && rank != 1) st = sp_fail(SP_ERR_INPUT, "%s: /label is not 1-D", path);
    if (st == SP_OK) s->n_labels = (size_t)dims[0];
    if (st == SP_OK && sp_store_exists(f, "/source_id")) {
        st = sp_store_read_strings(f, "/source_id", &s->n_source_ids, &s->source_ids);
        if (st == SP_OK && s->n_source_ids != s->n_labels)
            st = sp_fail(SP_ERR_INPUT, "%s: /source_id has %zu entries, /label %zu", path, s->n_source_ids, s->n_labels);
    }
    H5Fclose(f);
    return st;
}

static const run_model_split *find_split(const run_model *m, const char *name)
{
    for (size_t k = 0; k < m->n_splits; k++)
        if (strcmp(m->splits[k].name, name) == 0) return &m->splits[k];
    return NULL;
}

/* Fills a run_split from the variant's models; rows must agree across models. */
static sp_status split_build(run_split *sp, const run_state *s, run_model **models, size_t M, const char *name)
{
    const run_model_split *first = find_split(models[0], name);
    const int C = models[0]->n_classes;
    const size_t n = first->n;
    snprintf(sp->name, sizeof sp->name, "%s", name);
    sp->n = n;
    sp_status st = sp_predmatrix_alloc(&sp->pm, M, n, C);
    if (st != SP_OK) return st;
    sp->rows = malloc(n * sizeof *sp->rows);
    sp->label = malloc(n * sizeof *sp->label);
    sp->accuracy = malloc(M * sizeof *sp->accuracy);
    sp->loss = malloc(M * sizeof *sp->loss);
    sp->stored_accuracy = malloc(M * sizeof *sp->stored_accuracy);
    sp->stored_loss = malloc(M * sizeof *sp->stored_loss);
    sp->correct = malloc(M * n);
    sp->nll = malloc(M * n * sizeof *sp->nll);
    if (!sp->rows || !sp->label || !sp->accuracy || !sp->loss || !sp->stored_accuracy || !sp->stored_loss ||
        !sp->correct || !sp->nll)
        return sp_fail(SP_ERR_NOMEM, "out of memory for split %s", name);
    memcpy(sp->rows, first->rows, n * sizeof *sp->rows);
    for (size_t i = 0; i < n; i++) {
        if (sp->rows[i] < 0 || (uint64_t)sp->rows[i] >= s->n_labels)
            return sp_fail(SP_ERR_INPUT, "%s: /rows/%s[%zu] = %lld is outside dataset.h5 (%zu rows)", models[0]->path,
                           name, i, (long long)sp->rows[i], s->n_labels);
        sp->label[i] = s->labels[sp->rows[i]];
        if (sp->label[i] < 0 || sp->label[i] >= C)
            return sp_fail(SP_ERR_INPUT, "%s/dataset.h5: /label[%lld] = %d is not a class of %d-class models",
                           s->run_dir, (long long)sp->rows[i], sp->label[i], C);
    }
    const char **names = malloc(M * sizeof *names);
    if (!names) return sp_fail(SP_ERR_NOMEM, "out of memory for split %s", name);
    for (size_t m = 0; m < M; m++) {
        const run_model_split *ms = find_split(models[m], name);
        names[m] = models[m]->path;
        if (ms->n != n || memcmp(ms->rows, sp->rows, n * sizeof *sp->rows) != 0) {
            free(names);
            return sp_fail(SP_ERR_INPUT, "%s: /rows/%s differs from %s's; models of one variant must be evaluated "
                           "on the same rows", models[m]->path, name, models[0]->path);
        }
        memcpy(sp_predmatrix_row(sp->pm, m), ms->prob, n * (size_t)C * sizeof(float));
        sp->stored_accuracy[m] = ms->stored_accuracy;
        sp->stored_loss[m] = ms->stored_loss;
    }
    st = sp_predmatrix_validate(sp->pm, 1e-3, names, name);
    free(names);
    if (st != SP_OK) return st;
    sp_predmatrix_pack(sp->pm);
    for (size_t m = 0; m < M; m++) {
        const float *g = sp_predmatrix_row(sp->pm, m);
        double correct = 0, loss = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t ok = sp_predmatrix_label(sp->pm, m, i) == sp->label[i];
            double py = g[i * (size_t)C + (size_t)sp->label[i]];
            double l = -log(py > RUN_LOSS_CLAMP ? py : RUN_LOSS_CLAMP);
            sp->correct[m * n + i] = ok;
            sp->nll[m * n + i] = l;
            correct += ok;
            loss += l;
        }
        sp->accuracy[m] = correct / (double)n;
        sp->loss[m] = loss / (double)n;
    }
    return SP_OK;
}

void run_split_clear(run_split *sp)
{
    sp_predmatrix_free(sp->pm);
    free(sp->rows);
    free(sp->label);
    free(sp->accuracy);
    free(sp->loss);
    free(sp->stored_accuracy);
    free(sp->stored_loss);
    free(sp->correct);
    free(sp->nll);
    free(sp->churn);
    free(sp->pairwise);
    free(sp->capacity);
    free(sp->mu);
    free(sp->mu_unbiased);
    free(sp->sc);
    free(sp->flip);
    free(sp->vpr_low);
    free(sp->vpr_high);
    free(sp->cell);
    free(sp->cell_lo);
    free(sp->cell_hi);
    memset(sp, 0, sizeof *sp);
}

/* Builds one variant: val scores, the reference, the nesting, its evaluation splits. */
static sp_status variant_build(run_state *s, run_variant *v)
{
    const size_t M = v->M;
    for (size_t m = 0; m < M; m++)
        if (!find_split(v->models[m], "val"))
            return sp_fail(SP_ERR_INPUT, "%s: no /predictions/val; the Rashomon set and the reference model are "
                           "defined on the validation split", v->models[m]->path);
    run_split val = {0};
    sp_status st = split_build(&val, s, v->models, M, "val");
    v->val_loss = malloc(M * sizeof *v->val_loss);
    v->val_error = malloc(M * sizeof *v->val_error);
    if (st == SP_OK && (!v->val_loss || !v->val_error)) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    if (st == SP_OK)
        for (size_t m = 0; m < M; m++) {
            v->val_loss[m] = val.loss[m];
            v->val_error[m] = 1.0 - val.accuracy[m];
        }
    run_split_clear(&val);
    if (st != SP_OK) return st;
    v->ref = sp_rashomon_reference(v->val_loss, M);

    /* Nesting: group by seed_pretrain when some seed is shared and there are >= 2 seeds. */
    uint64_t *key = malloc(M * sizeof *key);
    if (!key) return sp_fail(SP_ERR_NOMEM, "out of memory");
    int all_have = 1;
    for (size_t m = 0; m < M; m++) {
        all_have &= v->models[m]->has_seed_pretrain;
        key[m] = v->models[m]->seed_pretrain;
    }
    if ((st = sp_boot_groups_alloc(&v->groups, all_have ? key : NULL, M)) != SP_OK) {
        free(key);
        return st;
    }
    if (all_have && !(v->groups->n_groups >= 2 && v->groups->n_groups < M)) {
        sp_boot_groups_free(v->groups);
        v->groups = NULL;
        st = sp_boot_groups_alloc(&v->groups, NULL, M);
    } else if (all_have) {
        v->nested = 1;
    }
    free(key);
    if (st != SP_OK) return st;

    /* Evaluation splits present in every model; the others are skipped with a warning. */
    size_t cap = 0;
    for (size_t m = 0; m < M; m++) cap += v->models[m]->n_splits;
    char **names = calloc(cap ? cap : 1, sizeof *names);
    if (!names) return sp_fail(SP_ERR_NOMEM, "out of memory");
    size_t nn = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t k = 0; k < v->models[m]->n_splits; k++) {
            char *nm = v->models[m]->splits[k].name;
            if (!is_eval_split(nm)) continue;
            int seen = 0;
            for (size_t j = 0; j < nn; j++) seen |= strcmp(names[j], nm) == 0;
            if (!seen) names[nn++] = nm;
        }
    qsort(names, nn, sizeof *names, cmp_str); /* "ood-*" sorts before "test"; reorder below */
    v->splits = calloc(nn ? nn : 1, sizeof *v->splits);
    if (!v->splits) {
        free(names);
        return sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    v->test_split = SIZE_MAX;
    for (int pass = 0; pass < 2 && st == SP_OK; pass++)
        for (size_t j = 0; j < nn && st == SP_OK; j++) {
            int is_test = strcmp(names[j], "test") == 0;
            if (is_test != (pass == 0)) continue;
            size_t missing = 0;
            for (size_t m = 0; m < M; m++) missing += find_split(v->models[m], names[j]) == NULL;
            if (missing) {
                st = run_warn(s, "variant %s: split %s skipped: missing from %zu of %zu models", v->name, names[j],
                              missing, M);
                continue;
            }
            st = split_build(&v->splits[v->n_splits], s, v->models, M, names[j]);
            if (is_test) v->test_split = v->n_splits;
            v->n_splits++;
        }
    free(names);
    if (st == SP_OK && v->test_split == SIZE_MAX) {
        v->test_split = v->n_splits;
        st = run_warn(s, "variant %s: no test split; OOD/ID spread ratios and rank correlations are omitted", v->name);
    }
    return st;
}

sp_status run_load(run_state *s)
{
    sp_status st = load_models(s);
    if (st == SP_OK) st = load_dataset(s);
    if (st != SP_OK) return st;
    /* variants, in name order */
    char **vn = malloc(s->n_models * sizeof *vn);
    if (!vn) return sp_fail(SP_ERR_NOMEM, "out of memory");
    size_t nv = 0;
    for (size_t k = 0; k < s->n_models; k++) {
        int seen = 0;
        for (size_t j = 0; j < nv; j++) seen |= strcmp(vn[j], s->models[k].variant) == 0;
        if (!seen) vn[nv++] = s->models[k].variant;
    }
    qsort(vn, nv, sizeof *vn, cmp_str);
    s->variants = calloc(nv, sizeof *s->variants);
    if (!s->variants) {
        free(vn);
        return sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    s->n_variants = nv;
    for (size_t j = 0; j < nv && st == SP_OK; j++) {
        run_variant *v = &s->variants[j];
        if (!(v->name = strdup(vn[j])) || !(v->models = malloc(s->n_models * sizeof *v->models))) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t k = 0; k < s->n_models; k++)
            if (strcmp(s->models[k].variant, v->name) == 0) v->models[v->M++] = &s->models[k];
        v->n_classes = v->models[0]->n_classes;
        st = variant_build(s, v);
    }
    free(vn);
    return st;
}

void run_state_free(run_state *s)
{
    for (size_t j = 0; j < s->n_variants; j++) {
        run_variant *v = &s->variants[j];
        for (size_t k = 0; k < v->n_splits; k++) run_split_clear(&v->splits[k]);
        free(v->splits);
        free(v->name);
        free(v->models);
        free(v->val_loss);
        free(v->val_error);
        sp_boot_groups_free(v->groups);
        free(v->us);
        free(v->us_lo);
        free(v->us_hi);
        free(v->us_reps);
    }
    free(s->variants);
    for (size_t k = 0; k < s->n_models; k++) model_clear(&s->models[k]);
    free(s->models);
    free(s->labels);
    for (size_t k = 0; k < s->n_source_ids; k++) free(s->source_ids[k]);
    free(s->source_ids);
    for (size_t k = 0; k < s->n_warnings; k++) free(s->warnings[k]);
    free(s->warnings);
    free(s->diff);
    free(s->diff_lo);
    free(s->diff_hi);
    run_exact_free(s->exact);
    memset(s, 0, sizeof *s);
}
