/* splinter_run.c: the run-level feature-splintering driver (see splinter_run.h): finds the models with
 * activations, loads each split's activations once per pooling, computes all-pairs similarity, and the
 * per-pair splintering measures of every same-variant pair. Summaries and outputs: splinter_summary.c. */
#include "splinter_run.h"
#include "blas_threads.h"

#include <errno.h>
#include <sys/stat.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "csv.h"
#include "outputs.h"
#include "seeds.h"
#include "similarity.h"
#include "run_models.h"
#include "splinter_run_internal.h"
#include "store.h"
#include "strlist.h"

const char *const srun_measure_names[SRUN_N_MEASURES] = {
    "s_beh", "s_rep_cka", "s_rep_dcka", "s_rep_procrustes", "s_rep_svcca", "s_rep_pwcca",
    "s_align", "s_align_cca", "unit_splinter_frac", "s_probe"};

void sp_splinter_run_options_default(sp_splinter_run_options *opt)
{
    opt->agree_eps = 0.05;
    opt->tau_beh = 0.02;
    opt->tau_rep_calibrated = 1;
    opt->tau_rep = 0.05;
    opt->tau_resamples = 50;
    opt->tau_level = 0.95;
    opt->bootstrap = 200;
    opt->seed = 0;
    opt->level = 0.95;
    opt->max_examples = 2000;
    opt->cca = 1;
    opt->concepts = NULL;
    opt->concept_list = NULL;
    opt->concept_min_rate = 0.01;
    sp_splinter_options_default(&opt->pair);
}

double srun_measure_value(const srun_pair *p, int measure)
{
    switch (measure) {
    case SRUN_S_BEH: return p->s_beh;
    case SRUN_S_REP_CKA: return p->m.s_rep[SP_SIM_CKA];
    case SRUN_S_REP_DCKA: return p->m.s_rep[SP_SIM_DCKA];
    case SRUN_S_REP_PROCRUSTES: return p->m.s_rep[SP_SIM_PROCRUSTES];
    case SRUN_S_REP_SVCCA: return p->svcca_id - p->svcca_ood;
    case SRUN_S_REP_PWCCA: return p->pwcca_id - p->pwcca_ood;
    case SRUN_S_ALIGN: return p->m.s_align;
    case SRUN_S_ALIGN_CCA: return p->m.s_align_cca;
    case SRUN_UNIT_SPLINTER: return p->m.unit_splinter_frac;
    case SRUN_S_PROBE: return p->m.has_probes ? p->m.s_probe : NAN;
    }
    return NAN;
}

sp_status srun_warn(srun_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_status status = sp_strlist_vpushf(&st->result->warnings, &st->result->n_warnings, fmt, ap);
    va_end(ap);
    return status;
}

void sp_splinter_run_result_free(sp_splinter_run_result *res)
{
    if (!res) return;
    sp_strlist_free(res->warnings, res->n_warnings);
    free(res);
}

static void srun_state_free(srun_state *st)
{
    free(st->models);
    sp_strlist_free(st->variants, st->n_variants);
    free(st->variant_of);
    sp_strlist_free(st->ood_splits, st->n_ood);
    sp_strlist_free(st->layers, st->n_layers);
    free(st->pairs);
    srun_concepts_free(&st->concepts);
}

/* Variant order: finetune, joint, then the others alphabetically, so differences read finetune - joint. */
static int srun_variant_rank(const char *v)
{
    return strcmp(v, "finetune") == 0 ? 0 : strcmp(v, "joint") == 0 ? 1 : 2;
}

static int srun_cmp_variant(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int rx = srun_variant_rank(x), ry = srun_variant_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* 1 if an open model file stores pooled layer activations (<layer>_cls or <layer>_mean) of the test split. */
static int srun_has_pooled_layers(hid_t f)
{
    static const char *const poolings[2] = {"cls", "mean"};
    for (int p = 0; p < 2; p++) {
        char **layers = NULL;
        size_t n = 0;
        if (!sp_store_exists(f, "/activations/test")) return 0;
        if (sp_activations_list_layers(&layers, &n, f, "test", poolings[p]) != SP_OK) continue;
        sp_strlist_free(layers, n);
        if (n > 0) return 1;
    }
    return 0;
}

/* The complete splinter-model files of RUN/models (run_models.h: sorted by file name, so results never depend
 * on directory order) that store pooled layer activations. Pretrained encoders, unfinished files and models
 * without activations are skipped quietly: the model-level analysis reports the first two. */
static sp_status srun_find_models(srun_state *st, const char *run_dir)
{
    sp_run_models *ms = NULL;
    sp_status status = sp_run_models_list(&ms, run_dir, 0);
    if (status != SP_OK) return status;
    st->models = calloc(ms->n_models ? ms->n_models : 1, sizeof *st->models);
    if (!st->models) {
        sp_run_models_free(ms);
        return sp_fail(SP_ERR_NOMEM, "out of memory listing %s/models", run_dir);
    }
    for (size_t i = 0; i < ms->n_files && status == SP_OK; i++) {
        if (ms->files[i].kind != SP_RUN_FILE_MODEL) continue;
        srun_model *m = &st->models[st->n_models];
        if ((size_t)snprintf(m->path, sizeof m->path, "%s", ms->files[i].path) >= sizeof m->path) {
            status = sp_fail(SP_ERR_USAGE, "model path too long: %s", ms->files[i].path);
            break;
        }
        hid_t f;
        if ((status = sp_store_open(m->path, "splinter-model", &f)) != SP_OK) break;
        if (!srun_has_pooled_layers(f)) { /* e.g. the linear family's logit contributions */
            H5Fclose(f);
            continue;
        }
        char *variant = NULL, *name = NULL;
        uint64_t pretrain = 0;
        status = sp_store_read_attr_str(f, "/", "variant", &variant);
        if (status == SP_OK) status = sp_store_read_attr_str(f, "/", "name", &name);
        if (status == SP_OK) {
            snprintf(m->variant, sizeof m->variant, "%s", variant);
            snprintf(m->name, sizeof m->name, "%s", name);
            /* Fine-tuned and probed models nest in their pretrained encoder; every other model is its own
             * group (its index, offset so it cannot collide with a pretraining seed). */
            int nested = strcmp(variant, "finetune") == 0 || strcmp(variant, "probe") == 0;
            if (nested && sp_store_read_attr_u64(f, "/", "seed_pretrain", &pretrain) != SP_OK)
                status = sp_fail(SP_ERR_INPUT, "%s: a %s model without the seed_pretrain attribute", m->path, variant);
            m->group_key = nested ? pretrain : (UINT64_C(1) << 63) + st->n_models;
            st->n_models++;
        }
        free(variant);
        free(name);
        H5Fclose(f);
    }
    sp_run_models_free(ms);
    return status;
}

/* Distinct variants in display order and each model's variant index. */
static sp_status srun_group_variants(srun_state *st)
{
    st->variants = calloc(st->n_models, sizeof *st->variants);
    st->variant_of = calloc(st->n_models, sizeof *st->variant_of);
    if (!st->variants || !st->variant_of) return sp_fail(SP_ERR_NOMEM, "out of memory grouping variants");
    for (size_t i = 0; i < st->n_models; i++) {
        size_t v = 0;
        while (v < st->n_variants && strcmp(st->variants[v], st->models[i].variant) != 0) v++;
        if (v == st->n_variants && !(st->variants[st->n_variants++] = strdup(st->models[i].variant)))
            return sp_fail(SP_ERR_NOMEM, "out of memory grouping variants");
    }
    qsort(st->variants, st->n_variants, sizeof *st->variants, srun_cmp_variant);
    for (size_t i = 0; i < st->n_models; i++)
        for (size_t v = 0; v < st->n_variants; v++)
            if (strcmp(st->variants[v], st->models[i].variant) == 0) st->variant_of[i] = v;
    return SP_OK;
}

/* OOD splits, layers and poolings, read from the first model (the loader checks the others have them). */
static sp_status srun_discover_layout(srun_state *st)
{
    hid_t f;
    sp_status status = sp_store_open(st->models[0].path, "splinter-model", &f);
    if (status != SP_OK) return status;
    char **splits = NULL;
    size_t n_splits = 0;
    status = sp_activations_list_splits(&splits, &n_splits, f);
    int has_test = 0;
    for (size_t i = 0; status == SP_OK && i < n_splits; i++) {
        if (strcmp(splits[i], "test") == 0) has_test = 1;
        if (strncmp(splits[i], "ood-", 4) == 0) status = sp_strlist_push(&st->ood_splits, &st->n_ood, splits[i]);
    }
    sp_strlist_free(splits, n_splits);
    if (status == SP_OK && !has_test)
        status = sp_fail(SP_ERR_INPUT, "%s has no /activations/test: the in-domain reference is missing; retrain it "
                                       "with test activations", st->models[0].path);
    if (status == SP_OK && st->n_ood == 0)
        status = sp_fail(SP_ERR_INPUT, "%s has no /activations/ood-* split: nothing to compare out of domain",
                         st->models[0].path);
    static const char *const poolings[2] = {"cls", "mean"};
    for (int p = 0; status == SP_OK && p < 2; p++) {
        char **layers = NULL;
        size_t n_layers = 0;
        status = sp_activations_list_layers(&layers, &n_layers, f, "test", poolings[p]);
        if (status != SP_OK) break;
        if (n_layers > 0) {
            st->poolings[st->n_poolings++] = poolings[p];
            if (n_layers > 64) {
                sp_strlist_free(layers, n_layers);
                status = sp_fail(SP_ERR_INPUT, "%s stores %zu layers; feature splintering handles up to 64",
                                 st->models[0].path, n_layers);
                break;
            }
            if (!st->layers) {
                st->layers = layers;
                st->n_layers = n_layers;
                continue;
            }
            if (n_layers != st->n_layers)
                status = sp_fail(SP_ERR_INPUT, "%s: pooling %s has %zu layers, %s has %zu", st->models[0].path,
                                 poolings[p], n_layers, st->poolings[0], st->n_layers);
        }
        sp_strlist_free(layers, n_layers);
    }
    H5Fclose(f);
    return status;
}

/* Hard predictions (argmax) of every model on `split`, keeping only the rows in `keep` (NULL: all).
 * pred: [n_models][n_keep]. rows: the split's dataset rows, checked against the activations' rows. */
static sp_status srun_load_predictions(int32_t *pred, const srun_state *st, const char *split, const size_t *keep,
                                       size_t n_keep, size_t n_all, const int64_t *act_rows)
{
    for (size_t m = 0; m < st->n_models; m++) {
        hid_t f;
        sp_status status = sp_store_open(st->models[m].path, "splinter-model", &f);
        if (status != SP_OK) return status;
        char path[256];
        snprintf(path, sizeof path, "/predictions/%s", split);
        float *p = NULL;
        int64_t *rows = NULL;
        int rank;
        hsize_t dims[4];
        status = sp_store_read_f32(f, path, &rank, dims, &p);
        if (status == SP_OK && (rank != 2 || dims[0] != n_all))
            status = sp_fail(SP_ERR_INPUT, "%s: %s has %llu rows but its activations have %zu", st->models[m].path, path,
                             (unsigned long long)dims[0], n_all);
        snprintf(path, sizeof path, "/rows/%s", split);
        hsize_t rdims[4];
        if (status == SP_OK && act_rows && (status = sp_store_read_i64(f, path, &rank, rdims, &rows)) == SP_OK &&
            memcmp(rows, act_rows, n_all * sizeof *rows) != 0)
            status = sp_fail(SP_ERR_INPUT, "%s: predictions and activations of %s are on different rows",
                             st->models[m].path, split);
        for (size_t k = 0; status == SP_OK && k < n_keep; k++) {
            size_t i = keep ? keep[k] : k, C = (size_t)dims[1], best = 0;
            for (size_t c = 1; c < C; c++)
                if (p[i * C + c] > p[i * C + best]) best = c;
            pred[m * n_keep + k] = (int32_t)best;
        }
        free(p);
        free(rows);
        H5Fclose(f);
        if (status != SP_OK) return status;
    }
    return SP_OK;
}

/* A seeded subset of at most max rows out of n (sorted ascending); *keep NULL when all rows are kept. */
static sp_status srun_subsample(size_t **keep, size_t *n_keep, size_t n, size_t max, uint64_t seed, const char *split)
{
    *keep = NULL;
    *n_keep = n;
    if (max == 0 || n <= max) return SP_OK;
    size_t *idx = malloc(n * sizeof *idx);
    gsl_rng *r = sp_rng_alloc(sp_seed_for(seed, split, 0));
    if (!idx || !r) {
        free(idx);
        if (r) gsl_rng_free(r);
        return sp_fail(SP_ERR_NOMEM, "out of memory subsampling %s", split);
    }
    for (size_t i = 0; i < n; i++) idx[i] = i;
    /* Partial Fisher-Yates: the first `max` entries are a uniform subset. */
    for (size_t i = 0; i < max; i++) {
        size_t j = i + (size_t)gsl_rng_uniform_int(r, (unsigned long)(n - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    gsl_rng_free(r);
    for (size_t i = 1; i < max; i++) /* insertion sort keeps dataset order, cheap for these sizes */
        for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    *keep = idx;
    *n_keep = max;
    return SP_OK;
}

/* Keeps rows `keep` of every activation matrix of the set, in place. */
static void srun_compact(sp_activation_set *s, const size_t *keep, size_t n_keep)
{
    if (!keep) return;
    for (size_t k = 0; k < s->n_layers * s->n_models; k++) {
        size_t d = s->dims[k];
        for (size_t i = 0; i < n_keep; i++) memmove(s->acts[k] + i * d, s->acts[k] + keep[i] * d, d * sizeof(float));
    }
    if (s->rows)
        for (size_t i = 0; i < n_keep; i++) s->rows[i] = s->rows[keep[i]];
    s->n = n_keep;
}

/* Loads one split and pooling for all models, subsampled. pred gets the matching hard predictions. */
static sp_status srun_load_split(sp_activation_set **set, int32_t **pred, const srun_state *st, const char *split,
                                 const char *pooling, const sp_splinter_run_options *opt)
{
    const char **paths = malloc(st->n_models * sizeof *paths);
    if (!paths) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t m = 0; m < st->n_models; m++) paths[m] = st->models[m].path;
    sp_status status = sp_activations_load(set, paths, st->n_models, split, pooling,
                                           (const char *const *)st->layers, st->n_layers);
    free(paths);
    if (status != SP_OK) return status;
    size_t *keep = NULL, n_keep = 0, n_all = (*set)->n;
    int64_t *rows_all = NULL;
    if ((*set)->rows && !(rows_all = malloc(n_all * sizeof *rows_all))) status = sp_fail(SP_ERR_NOMEM, "out of memory");
    if (status == SP_OK && rows_all) memcpy(rows_all, (*set)->rows, n_all * sizeof *rows_all);
    if (status == SP_OK) status = srun_subsample(&keep, &n_keep, n_all, opt->max_examples, opt->seed, split);
    if (status == SP_OK && !(*pred = malloc(st->n_models * (n_keep ? n_keep : 1) * sizeof **pred)))
        status = sp_fail(SP_ERR_NOMEM, "out of memory");
    if (status == SP_OK) status = srun_load_predictions(*pred, st, split, keep, n_keep, n_all, rows_all);
    if (status == SP_OK) srun_compact(*set, keep, n_keep);
    free(keep);
    free(rows_all);
    if (status != SP_OK) {
        sp_activations_free(*set);
        *set = NULL;
        free(*pred);
        *pred = NULL;
    }
    return status;
}

/* Marks in skip[l] the layers where some model's representation is the same for every input (e.g. the
 * embedding output at [CLS], which never sees the text): similarity is undefined there. */
static void srun_mark_constant_layers(unsigned char *skip, const srun_state *st, const sp_activation_set *set)
{
    size_t M = st->n_models;
    for (size_t l = 0; l < st->n_layers; l++)
        for (size_t m = 0; m < M && !skip[l]; m++) {
            const float *x = set->acts[l * M + m];
            size_t d = set->dims[l * M + m];
            int constant = 1;
            for (size_t i = 1; i < set->n && constant; i++)
                if (memcmp(x, x + i * d, d * sizeof *x) != 0) constant = 0;
            skip[l] = (unsigned char)constant;
        }
}

/* Appends all-pairs linear CKA, debiased CKA and Procrustes similarity of every layer of `set` to
 * similarity.csv (rows: split, layer, pooling, measure, model_a, model_b, value). */
static sp_status srun_similarity_rows(sp_csv *csv, const srun_state *st, const sp_activation_set *set,
                                      const char *split, const char *pooling, const unsigned char *skip)
{
    size_t M = st->n_models;
    double *cka = malloc(3 * M * M * sizeof *cka);
    if (!cka) return sp_fail(SP_ERR_NOMEM, "out of memory");
    double *dcka = cka + M * M, *proc = dcka + M * M;
    sp_similarity_workspace *ws = sp_similarity_workspace_alloc(); /* one Z and G for every layer */
    sp_status status = ws ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t l = 0; l < st->n_layers && status == SP_OK; l++) {
        if (skip[l]) continue;
        status = sp_similarity_all_pairs_ws(cka, dcka, proc, (const float *const *)set->acts + l * M,
                                            set->dims + l * M, M, set->n, ws);
        const double *vals[3] = {cka, dcka, proc};
        static const char *const names[3] = {"cka", "dcka", "procrustes"};
        for (int k = 0; k < 3 && status == SP_OK; k++)
            for (size_t a = 0; a < M && status == SP_OK; a++)
                for (size_t b = 0; b < M && status == SP_OK; b++) {
                    /* Procrustes is stored as a similarity, 1 - d^2/2, like every other measure here. */
                    double v = k == 2 ? 1.0 - vals[k][a * M + b] / 2.0 : vals[k][a * M + b];
                    if ((status = sp_csv_str(csv, split)) != SP_OK || (status = sp_csv_str(csv, st->layers[l])) != SP_OK ||
                        (status = sp_csv_str(csv, pooling)) != SP_OK || (status = sp_csv_str(csv, names[k])) != SP_OK ||
                        (status = sp_csv_str(csv, st->models[a].name)) != SP_OK ||
                        (status = sp_csv_str(csv, st->models[b].name)) != SP_OK || (status = sp_csv_f64(csv, v)) != SP_OK)
                        break;
                    status = sp_csv_end_row(csv);
                }
    }
    sp_similarity_workspace_free(ws);
    free(cka);
    return status;
}

/* Cross-layer linear CKA of each same-variant pair on `split` (rows: split, pooling, model_a, model_b,
 * layer_a, layer_b, cka). */
static sp_status srun_crosslayer_rows(sp_csv *csv, const srun_state *st, const sp_activation_set *set,
                                      const char *split, const char *pooling, const unsigned char *skip)
{
    size_t M = st->n_models, L = 0, kept[64];
    for (size_t l = 0; l < st->n_layers && L < 64; l++)
        if (!skip[l]) kept[L++] = l;
    if (L == 0) return SP_OK;
    double *cka = malloc(L * L * sizeof *cka);
    const float **A = malloc(2 * L * sizeof *A);
    size_t *dims = malloc(2 * L * sizeof *dims);
    sp_similarity_workspace *ws = sp_similarity_workspace_alloc(); /* one Z and G for every model pair */
    sp_status status = cka && A && dims && ws ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t a = 0; a < M && status == SP_OK; a++)
        for (size_t b = a + 1; b < M && status == SP_OK; b++) {
            if (st->variant_of[a] != st->variant_of[b]) continue;
            for (size_t i = 0; i < L; i++) {
                size_t l = kept[i];
                A[i] = set->acts[l * M + a], dims[i] = set->dims[l * M + a];
                A[L + i] = set->acts[l * M + b], dims[L + i] = set->dims[l * M + b];
            }
            status = sp_similarity_cross_ws(cka, NULL, NULL, A, dims, L, A + L, dims + L, L, set->n, ws);
            for (size_t i = 0; i < L && status == SP_OK; i++)
                for (size_t j = 0; j < L && status == SP_OK; j++) {
                    if ((status = sp_csv_str(csv, split)) != SP_OK || (status = sp_csv_str(csv, pooling)) != SP_OK ||
                        (status = sp_csv_str(csv, st->models[a].name)) != SP_OK ||
                        (status = sp_csv_str(csv, st->models[b].name)) != SP_OK ||
                        (status = sp_csv_str(csv, st->layers[kept[i]])) != SP_OK ||
                        (status = sp_csv_str(csv, st->layers[kept[j]])) != SP_OK ||
                        (status = sp_csv_f64(csv, cka[i * L + j])) != SP_OK)
                        break;
                    status = sp_csv_end_row(csv);
                }
        }
    sp_similarity_workspace_free(ws);
    free(cka);
    free(A);
    free(dims);
    return status;
}

/* Per-pair measures of every same-variant pair on one OOD split and pooling, all layers. Per layer, each
 * model is prepared once (its fit/held-out partition, normalised copies and label probe) and decomposed once
 * for CCA; then the pairs run in parallel, each writing only its own record, so the result does not depend
 * on the thread count. */
static sp_status srun_pairs_for_split(srun_state *st, const sp_activation_set *id, const int32_t *pred_id,
                                      const sp_activation_set *ood, const int32_t *pred_ood, const int32_t *labels_id,
                                      size_t n_classes, size_t ood_index, size_t pooling_index,
                                      const unsigned char *skip, const srun_tau_null *tau,
                                      const sp_concept_targets *ct, const sp_splinter_run_options *opt)
{
    size_t M = st->n_models, L = st->n_layers, kept = 0;
    for (size_t l = 0; l < L; l++) kept += !skip[l];
    size_t per_layer = 0;
    for (size_t a = 0; a < M; a++)
        for (size_t b = a + 1; b < M; b++) per_layer += st->variant_of[a] == st->variant_of[b];
    size_t first = st->n_pairs, count = per_layer * kept;
    if (st->n_pairs + count > st->cap_pairs) {
        size_t cap = (st->n_pairs + count) * 2;
        srun_pair *grown = realloc(st->pairs, cap * sizeof *grown);
        if (!grown) return sp_fail(SP_ERR_NOMEM, "out of memory for %zu pair records", cap);
        st->pairs = grown;
        st->cap_pairs = cap;
    }
    size_t k = first;
    for (size_t l = 0; l < L; l++)
        for (size_t a = 0; a < M && !skip[l]; a++)
            for (size_t b = a + 1; b < M; b++) {
                if (st->variant_of[a] != st->variant_of[b]) continue;
                srun_pair *p = &st->pairs[k++];
                memset(p, 0, sizeof *p);
                p->a = a, p->b = b, p->variant = st->variant_of[a], p->ood = ood_index, p->layer = l;
                p->pooling = pooling_index;
            }
    st->n_pairs += count;

    /* Concept records: per layer, per pair, the used concepts in list order. */
    const size_t K = ct ? ct->n_concepts : 0;
    size_t concept_index[SP_CONCEPTS_MAX], rec_first = st->concepts.n_recs;
    for (size_t k = 0, u = 0; K && k < st->concepts.list->n; k++)
        if (st->concepts.used[k]) concept_index[u++] = k;
    if (K) {
        srun_concepts *c = &st->concepts;
        if (c->n_recs + count * K > c->cap_recs) {
            size_t cap = (c->n_recs + count * K) * 2;
            srun_concept_rec *grown = realloc(c->recs, cap * sizeof *grown);
            if (!grown) return sp_fail(SP_ERR_NOMEM, "out of memory for %zu concept records", cap);
            c->recs = grown;
            c->cap_recs = cap;
        }
        for (size_t r = 0; r < count; r++)
            for (size_t k = 0; k < K; k++) {
                srun_concept_rec *cr = &c->recs[rec_first + r * K + k];
                memset(cr, 0, sizeof *cr);
                cr->pair = first + r;
                cr->concept = concept_index[k];
            }
        c->n_recs += count * K;
    }

    sp_splinter_model **prepared = calloc(M, sizeof *prepared);
    double *cca = malloc(4 * M * M * sizeof *cca);
    if (!prepared || !cca) {
        free(prepared);
        free(cca);
        return sp_fail(SP_ERR_NOMEM, "out of memory preparing %zu models", M);
    }
    double *svcca_id = cca, *pwcca_id = cca + M * M, *svcca_ood = cca + 2 * M * M, *pwcca_ood = cca + 3 * M * M;
    sp_status failure = SP_OK;
    char message[1024] = "";
    size_t layer_first = first;
    int blas_saved = sp_blas_serial_begin(); /* every model and pair below calls BLAS */
    for (size_t l = 0; l < L && failure == SP_OK; l++) {
        if (skip[l]) continue;
        const float *const *ida = (const float *const *)id->acts + l * M, *const *oa = (const float *const *)ood->acts + l * M;
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t m = 0; m < M; m++) {
            sp_status s = sp_splinter_model_prepare_concepts(&prepared[m], ida[m], id->n, oa[m], ood->n,
                                                             id->dims[l * M + m], labels_id, n_classes, K ? ct : NULL,
                                                             &opt->pair);
            if (s != SP_OK) {
#pragma omp critical(srun_failure)
                if (failure == SP_OK) {
                    failure = s;
                    snprintf(message, sizeof message, "model %s, layer %s, %s: %s", st->models[m].name,
                             st->layers[l], st->ood_splits[ood_index], sp_error_message());
                }
            }
        }
        size_t warn_id = 0, warn_ood = 0;
        if (failure == SP_OK && opt->cca) {
            sp_status s = sp_cca_all_pairs(svcca_id, pwcca_id, &warn_id, ida, id->dims + l * M, M, id->n, 0.99);
            if (s == SP_OK) s = sp_cca_all_pairs(svcca_ood, pwcca_ood, &warn_ood, oa, ood->dims + l * M, M, ood->n, 0.99);
            if (s != SP_OK) {
                failure = s;
                snprintf(message, sizeof message, "CCA of layer %s on %s: %s", st->layers[l], st->ood_splits[ood_index],
                         sp_error_message());
            }
            /* Forced correlations (width >= inputs) say nothing about the models: the layer's CCA statistics
             * on that split are left undefined rather than reported as agreement. */
            for (size_t i = 0; warn_id && i < M * M; i++) svcca_id[i] = pwcca_id[i] = NAN;
            for (size_t i = 0; warn_ood && i < M * M; i++) svcca_ood[i] = pwcca_ood[i] = NAN;
            if (s == SP_OK && (warn_id || warn_ood) &&
                       srun_warn(st, "layer %s, %s: %zu model pairs have CCA statistics forced to 1 by width >= inputs; "
                                     "left undefined", st->layers[l], st->ood_splits[ood_index], warn_id + warn_ood) != SP_OK) {
                failure = SP_ERR_NOMEM;
            }
        }
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t r = layer_first; r < layer_first + per_layer; r++) {
            if (failure != SP_OK) continue;
            srun_pair *p = &st->pairs[r];
            size_t a = p->a, b = p->b;
            sp_status s = sp_splinter_behaviour(&p->s_beh, &p->d_id, &p->d_ood, pred_id + a * id->n, pred_id + b * id->n,
                                                id->n, pred_ood + a * ood->n, pred_ood + b * ood->n, ood->n);
            p->agree_id = p->d_id <= opt->agree_eps;
            sp_concept_pair cp[SP_CONCEPTS_MAX];
            if (s == SP_OK) s = sp_splinter_pair_concepts(&p->m, K ? cp : NULL, prepared[a], prepared[b], &opt->pair);
            for (size_t k = 0; s == SP_OK && k < K; k++) st->concepts.recs[rec_first + (r - first) * K + k].c = cp[k];
            for (int q = 0; q < SP_SIM_MEASURES && s == SP_OK; q++)
                s = srun_tau_value(&p->tau_rep[q], tau, l, q, a, b, ood->n, opt);
            p->svcca_id = p->svcca_ood = p->pwcca_id = p->pwcca_ood = NAN;
            if (opt->cca) {
                p->svcca_id = svcca_id[a * M + b], p->pwcca_id = pwcca_id[a * M + b];
                p->svcca_ood = svcca_ood[a * M + b], p->pwcca_ood = pwcca_ood[a * M + b];
            }
            if (s != SP_OK) {
#pragma omp critical(srun_failure)
                if (failure == SP_OK) {
                    failure = s;
                    snprintf(message, sizeof message, "pair %s / %s, %s, layer %s: %s", st->models[a].name,
                             st->models[b].name, st->ood_splits[p->ood], st->layers[p->layer], sp_error_message());
                }
            }
        }
        for (size_t m = 0; m < M; m++) {
            sp_splinter_model_free(prepared[m]);
            prepared[m] = NULL;
        }
        layer_first += per_layer;
    }
    sp_blas_serial_end(blas_saved);
    free(prepared);
    free(cca);
    if (failure != SP_OK) return sp_fail(failure, "%s", message);
    return SP_OK;
}

/* Dataset labels of the rows of `set` (for the label probes); *n_classes from the model files. */
static sp_status srun_labels(int32_t **labels, size_t *n_classes, const char *run_dir, const srun_state *st,
                             const sp_activation_set *set)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", run_dir);
    hid_t f;
    sp_status status = sp_store_open(path, "splinter-dataset", &f);
    if (status != SP_OK) return status;
    int32_t *all = NULL;
    int rank;
    hsize_t dims[4];
    status = sp_store_read_i32(f, "/label", &rank, dims, &all);
    H5Fclose(f);
    if (status != SP_OK) return status;
    int64_t classes = 0;
    hid_t mf;
    if ((status = sp_store_open(st->models[0].path, "splinter-model", &mf)) == SP_OK) {
        status = sp_store_read_attr_i64(mf, "/", "n_classes", &classes);
        H5Fclose(mf);
    }
    *labels = malloc((set->n ? set->n : 1) * sizeof **labels);
    if (status == SP_OK && !*labels) status = sp_fail(SP_ERR_NOMEM, "out of memory");
    if (status == SP_OK && !set->rows)
        status = sp_fail(SP_ERR_INPUT, "%s has no /rows/test: cannot match activations to labels", st->models[0].path);
    for (size_t i = 0; status == SP_OK && i < set->n; i++) {
        if (set->rows[i] < 0 || (hsize_t)set->rows[i] >= dims[0] || all[set->rows[i]] < 0 ||
            all[set->rows[i]] >= classes) {
            status = sp_fail(SP_ERR_INPUT, "%s: row %lld of the test activations has no valid label in %s",
                             st->models[0].path, (long long)set->rows[i], path);
            break;
        }
        (*labels)[i] = all[set->rows[i]];
    }
    free(all);
    *n_classes = (size_t)classes;
    if (status != SP_OK) {
        free(*labels);
        *labels = NULL;
    }
    return status;
}

static const char *const similarity_columns[] = {"split", "layer", "pooling", "measure", "model_a", "model_b", "value"};
static const char *const crosslayer_columns[] = {"split", "pooling", "model_a", "model_b", "layer_a", "layer_b", "cka"};

sp_status sp_splinter_run(const char *run_dir, const sp_splinter_run_options *opt, sp_splinter_run_result **out)
{
    *out = NULL;
    srun_state st = {0};
    st.result = calloc(1, sizeof *st.result);
    if (!st.result) return sp_fail(SP_ERR_NOMEM, "out of memory");
    sp_csv *sim = NULL, *cross = NULL;
    sp_activation_set *id = NULL, *ood = NULL;
    int32_t *pred_id = NULL, *pred_ood = NULL, *labels = NULL;
    srun_tau_null tau = {0};
    uint8_t *concepts_id = NULL, *concepts_ood = NULL;
    size_t k_used = 0;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/analysis", run_dir);

    sp_status status = srun_find_models(&st, run_dir);
    if (status != SP_OK) goto done;
    if (st.n_models == 0) {
        status = srun_warn(&st, "no model in %s/models stores pooled layer activations (the linear family does not): "
                                "feature splintering skipped", run_dir);
        /* Feature outputs of earlier models would describe models that are gone. */
        if (status == SP_OK) status = sp_outputs_remove(dir, SP_OUTPUTS_FEATURES);
        goto done;
    }
    if ((status = srun_group_variants(&st)) != SP_OK || (status = srun_discover_layout(&st)) != SP_OK ||
        (status = srun_concepts_init(&st, run_dir, opt)) != SP_OK)
        goto done;
    int any_pair = 0;
    for (size_t v = 0; v < st.n_variants; v++) {
        size_t count = 0;
        for (size_t m = 0; m < st.n_models; m++) count += st.variant_of[m] == v;
        if (count >= 2) any_pair = 1;
        else if ((status = srun_warn(&st, "variant %s has one model with activations: no pairs", st.variants[v])) != SP_OK)
            goto done;
    }
    if (!any_pair) {
        status = sp_fail(SP_ERR_INPUT, "%s: no variant has two models with activations; train more seeds", run_dir);
        goto done;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        status = sp_fail(SP_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
        goto done;
    }
    if ((status = sp_csv_open(&sim, (snprintf(path, sizeof path, "%s/similarity.csv", dir), path), similarity_columns,
                              7)) != SP_OK ||
        (status = sp_csv_open(&cross, (snprintf(path, sizeof path, "%s/crosslayer.csv", dir), path),
                              crosslayer_columns, 7)) != SP_OK)
        goto done;

    for (size_t p = 0; p < st.n_poolings; p++) {
        const char *pooling = st.poolings[p];
        size_t n_classes = 0;
        unsigned char skip_id[64] = {0}, skip[64];
        if ((status = srun_load_split(&id, &pred_id, &st, "test", pooling, opt)) != SP_OK) goto done;
        srun_mark_constant_layers(skip_id, &st, id);
        for (size_t l = 0; l < st.n_layers; l++)
            if (skip_id[l] && (status = srun_warn(&st, "layer %s, pooling %s is constant over the ID inputs in some "
                                                       "model (no similarity is defined): skipped",
                                                  st.layers[l], pooling)) != SP_OK)
                goto done;
        if ((status = srun_tau_null_build(&tau, &st, id, skip_id, pooling, opt)) != SP_OK ||
            (status = srun_labels(&labels, &n_classes, run_dir, &st, id)) != SP_OK ||
            (status = srun_concept_targets(&concepts_id, &k_used, &st, id, 0, opt)) != SP_OK ||
            (status = srun_similarity_rows(sim, &st, id, "test", pooling, skip_id)) != SP_OK ||
            (status = srun_crosslayer_rows(cross, &st, id, "test", pooling, skip_id)) != SP_OK)
            goto done;
        for (size_t o = 0; o < st.n_ood; o++) {
            memcpy(skip, skip_id, sizeof skip);
            if ((status = srun_load_split(&ood, &pred_ood, &st, st.ood_splits[o], pooling, opt)) != SP_OK ||
                (status = srun_concept_targets(&concepts_ood, &k_used, &st, ood, 1 + o, opt)) != SP_OK)
                goto done;
            const sp_concept_targets ct = {k_used, concepts_id, concepts_ood};
            srun_mark_constant_layers(skip, &st, ood);
            if ((status = srun_similarity_rows(sim, &st, ood, st.ood_splits[o], pooling, skip)) != SP_OK ||
                (status = srun_crosslayer_rows(cross, &st, ood, st.ood_splits[o], pooling, skip)) != SP_OK ||
                (status = srun_pairs_for_split(&st, id, pred_id, ood, pred_ood, labels, n_classes, o, p, skip, &tau,
                                               k_used ? &ct : NULL, opt)) !=
                    SP_OK)
                goto done;
            sp_activations_free(ood);
            ood = NULL;
            free(pred_ood);
            pred_ood = NULL;
            free(concepts_ood);
            concepts_ood = NULL;
        }
        free(concepts_id);
        concepts_id = NULL;
        st.concepts.recorded = 1; /* rates and skips come from the first pooling (the same inputs) */
        sp_activations_free(id);
        id = NULL;
        free(pred_id);
        pred_id = NULL;
        free(labels);
        labels = NULL;
        srun_tau_null_free(&tau);
    }
    if ((status = sp_csv_commit(sim)) != SP_OK) {
        sim = NULL;
        goto done;
    }
    sim = NULL;
    if ((status = sp_csv_commit(cross)) != SP_OK) {
        cross = NULL;
        goto done;
    }
    cross = NULL;
    for (size_t i = 0; i < st.n_pairs; i++) st.result->n_agreeing += st.pairs[i].agree_id;
    st.result->n_models = st.n_models;
    st.result->n_variants = st.n_variants;
    st.result->n_pairs = st.n_pairs;
    status = srun_write_summaries(&st, opt, dir);
done:
    sp_csv_abort(sim);
    sp_csv_abort(cross);
    sp_activations_free(id);
    sp_activations_free(ood);
    free(pred_id);
    free(pred_ood);
    free(labels);
    free(concepts_id);
    free(concepts_ood);
    srun_tau_null_free(&tau);
    srun_state_free(&st);
    if (status != SP_OK) {
        sp_splinter_run_result_free(st.result);
        return status;
    }
    *out = st.result;
    return SP_OK;
}
