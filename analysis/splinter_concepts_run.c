/* splinter_concepts_run.c: concept probes in the run-level splintering driver: the concept file and the
 * run's texts, each split's concept targets (matched through the activations' dataset rows), which concepts
 * are too rare or too common to probe, and the concept output files: the pair table, the per-variant means with
 * Multi-Bootstrap intervals and the variant differences (srun_cell, as the pair-level summaries; see
 * docs/splintering.md, "Concept probes"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "outputs.h"
#include "splinter_run_internal.h"

sp_status srun_concepts_init(srun_state *st, const char *run_dir, const sp_splinter_run_options *opt)
{
    srun_concepts *c = &st->concepts;
    if (!opt->concepts && !opt->concept_list) return SP_OK;
    if (!(opt->concept_min_rate >= 0.0 && opt->concept_min_rate < 0.5))
        return sp_fail(SP_ERR_USAGE, "concept minimum positive rate %g must be in [0, 0.5)", opt->concept_min_rate);
    sp_status status = SP_OK;
    if (opt->concept_list) {
        c->list = opt->concept_list;
    } else {
        if ((status = sp_concepts_load(&c->owned, opt->concepts)) != SP_OK) return status;
        c->list = c->owned;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", run_dir);
    hid_t f;
    if ((status = sp_store_open(path, "splinter-dataset", &f)) != SP_OK) return status;
    status = sp_store_read_strings(f, "/text", &c->n_texts, &c->texts);
    H5Fclose(f);
    if (status != SP_OK) return sp_fail_context(status, "concept probes need the texts of %s", path);
    const size_t K = c->list->n, S = 1 + st->n_ood;
    c->used = calloc(K, 1);
    c->positives = calloc(S * K, sizeof *c->positives);
    c->n_inputs = calloc(S, sizeof *c->n_inputs);
    if (!c->used || !c->positives || !c->n_inputs) return sp_fail(SP_ERR_NOMEM, "out of memory for %zu concepts", K);
    return SP_OK;
}

void srun_concepts_free(srun_concepts *c)
{
    sp_concepts_free(c->owned);
    for (size_t i = 0; c->texts && i < c->n_texts; i++) free(c->texts[i]);
    free(c->texts);
    free(c->used);
    free(c->positives);
    free(c->n_inputs);
    free(c->recs);
    memset(c, 0, sizeof *c);
}

sp_status srun_concept_targets(uint8_t **targets, size_t *n_used, srun_state *st, const sp_activation_set *set,
                               size_t split_index, const sp_splinter_run_options *opt)
{
    srun_concepts *c = &st->concepts;
    *targets = NULL;
    *n_used = 0;
    if (!c->list) return SP_OK;
    const size_t K = c->list->n, n = set->n;
    const char *split = split_index == 0 ? "test" : st->ood_splits[split_index - 1];
    if (!set->rows)
        return sp_fail(SP_ERR_INPUT, "%s has no /rows/%s: cannot match activations to texts for concept probes",
                       st->models[0].path, split);
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    uint8_t *all = malloc((K * n > 0 ? K * n : 1) * sizeof *all);
    if (!texts || !all) {
        free(texts);
        free(all);
        return sp_fail(SP_ERR_NOMEM, "out of memory matching concepts");
    }
    sp_status status = SP_OK;
    for (size_t i = 0; i < n && status == SP_OK; i++) {
        if (set->rows[i] < 0 || (size_t)set->rows[i] >= c->n_texts)
            status = sp_fail(SP_ERR_INPUT, "%s: row %lld of /rows/%s is not a row of the run's dataset.h5 (%zu texts)",
                             st->models[0].path, (long long)set->rows[i], split, c->n_texts);
        else
            texts[i] = c->texts[set->rows[i]];
    }
    if (status == SP_OK) status = sp_concepts_match(all, c->list, texts, n);
    free(texts);
    if (status == SP_OK && !c->recorded) {
        c->n_inputs[split_index] = n;
        for (size_t k = 0; k < K; k++) {
            size_t pos = 0;
            for (size_t i = 0; i < n; i++) pos += all[k * n + i];
            c->positives[split_index * K + k] = pos;
            if (split_index != 0) continue;
            const double rate = n ? (double)pos / (double)n : 0.0;
            c->used[k] = rate >= opt->concept_min_rate && rate <= 1.0 - opt->concept_min_rate;
            const char *file = opt->concepts ? opt->concepts : "concept list";
            if (!c->used[k] && (status = srun_warn(st, "concept %s (%s line %zu): ID positive rate %.4f is outside "
                                                       "[%g, %g]; skipped", c->list->concepts[k].name, file,
                                                   c->list->concepts[k].line, rate, opt->concept_min_rate,
                                                   1.0 - opt->concept_min_rate)) != SP_OK)
                break;
        }
    }
    /* Keep only the used concepts' rows, in list order. */
    size_t u = 0;
    for (size_t k = 0; status == SP_OK && k < K; k++)
        if (c->used[k]) memmove(all + u++ * n, all + k * n, n);
    if (status != SP_OK || u == 0) {
        free(all);
        return status;
    }
    *targets = all;
    *n_used = u;
    return SP_OK;
}

/* ---------------------------------------------------------------- outputs */

static const char *const list_columns[] = {"concept", "line", "n_words", "split", "n_inputs", "positives",
                                           "positive_rate", "status"};
static const char *const pair_columns[] = {"variant", "model_a", "model_b", "ood_split", "layer", "pooling",
                                           "concept", "agree_id", "defined", "acc_id_a", "acc_id_b", "acc_ood_a",
                                           "acc_ood_b", "bacc_id_a", "bacc_id_b", "bacc_ood_a", "bacc_ood_b",
                                           "probe_agree_id", "probe_agree_ood", "s_probe", "probe_cosine"};
/* The measures summarised per variant (splinter_concept_variants.csv: each as <name>, <name>_lo, <name>_hi;
 * splinter_concept_compare.csv: one row per measure). */
enum { CM_ACC_ID, CM_ACC_OOD, CM_BACC_ID, CM_BACC_OOD, CM_AGREE_ID, CM_AGREE_OOD, CM_S_PROBE, CM_COSINE, N_CM };
static const char *const measure_names[N_CM] = {"acc_id",         "acc_ood",         "bacc_id", "bacc_ood",
                                                "probe_agree_id", "probe_agree_ood", "s_probe", "probe_cosine"};
static const char *const compare_columns[] = {"ood_split", "layer",     "pooling", "concept", "measure",
                                              "variant_a", "variant_b", "diff",    "lo",      "hi"};
enum { N_LIST = 8, N_PAIR_TEXT = 7, N_PAIR_NUM = 14, N_VAR_KEYS = 5, N_VAR = N_VAR_KEYS + 1 + 3 * N_CM, N_COMPARE = 10 };

static const char *concept_status(const srun_concepts *c, size_t k)
{
    return c->used[k] ? "used" : "skipped: ID positive rate outside the allowed range";
}

/* The numeric columns of one concept record, in pair_columns order after the text columns. */
static void rec_numbers(double v[N_PAIR_NUM], const srun_state *st, const srun_concept_rec *r)
{
    const sp_concept_pair *c = &r->c;
    v[0] = st->pairs[r->pair].agree_id;
    v[1] = c->defined;
    v[2] = c->acc_id_a, v[3] = c->acc_id_b, v[4] = c->acc_ood_a, v[5] = c->acc_ood_b;
    v[6] = c->bacc_id_a, v[7] = c->bacc_id_b, v[8] = c->bacc_ood_a, v[9] = c->bacc_ood_b;
    v[10] = c->agree_id, v[11] = c->agree_ood, v[12] = c->s_probe, v[13] = c->cosine;
}

static void rec_texts(const char *t[N_PAIR_TEXT], const srun_state *st, const srun_concept_rec *r)
{
    const srun_pair *p = &st->pairs[r->pair];
    t[0] = st->variants[p->variant], t[1] = st->models[p->a].name, t[2] = st->models[p->b].name;
    t[3] = st->ood_splits[p->ood], t[4] = st->layers[p->layer], t[5] = st->poolings[p->pooling];
    t[6] = st->concepts.list->concepts[r->concept].name;
}

static sp_status row(sp_csv *csv, const char *const *text, size_t n_text, const double *num, size_t n_num)
{
    sp_status status = SP_OK;
    for (size_t i = 0; i < n_text && status == SP_OK; i++) status = sp_csv_str(csv, text[i]);
    for (size_t i = 0; i < n_num && status == SP_OK; i++) status = sp_csv_f64(csv, num[i]);
    return status == SP_OK ? sp_csv_end_row(csv) : status;
}

static sp_status write_list(const srun_state *st, const char *dir)
{
    const srun_concepts *c = &st->concepts;
    char path[4200];
    snprintf(path, sizeof path, "%s/concepts.csv", dir);
    sp_csv *csv = NULL;
    sp_status status = sp_csv_open(&csv, path, list_columns, N_LIST);
    const size_t K = c->list->n;
    for (size_t k = 0; k < K && status == SP_OK; k++)
        for (size_t s = 0; s <= st->n_ood && status == SP_OK; s++) {
            const sp_concept *cp = &c->list->concepts[k];
            if ((status = sp_csv_str(csv, cp->name)) != SP_OK || (status = sp_csv_f64(csv, (double)cp->line)) != SP_OK ||
                (status = sp_csv_f64(csv, (double)cp->n_words)) != SP_OK ||
                (status = sp_csv_str(csv, s == 0 ? "test" : st->ood_splits[s - 1])) != SP_OK)
                break;
            const double n = (double)c->n_inputs[s], pos = (double)c->positives[s * K + k];
            const double num[3] = {n, pos, n > 0 ? pos / n : NAN};
            for (int i = 0; i < 3 && status == SP_OK; i++) status = sp_csv_f64(csv, num[i]);
            if (status == SP_OK) status = sp_csv_str(csv, concept_status(c, k));
            if (status == SP_OK) status = sp_csv_end_row(csv);
        }
    if (status != SP_OK) {
        sp_csv_abort(csv);
        return status;
    }
    return sp_csv_commit(csv);
}

static sp_status write_pairs(const srun_state *st, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/splinter_concept_pairs.csv", dir);
    sp_csv *csv = NULL;
    sp_status status = sp_csv_open(&csv, path, pair_columns, N_PAIR_TEXT + N_PAIR_NUM);
    for (size_t i = 0; i < st->concepts.n_recs && status == SP_OK; i++) {
        const char *t[N_PAIR_TEXT];
        double v[N_PAIR_NUM];
        rec_texts(t, st, &st->concepts.recs[i]);
        rec_numbers(v, st, &st->concepts.recs[i]);
        status = row(csv, t, N_PAIR_TEXT, v, N_PAIR_NUM);
    }
    if (status != SP_OK) {
        sp_csv_abort(csv);
        return status;
    }
    return sp_csv_commit(csv);
}

/* The value of measure j of a concept record (accuracies: the mean of the two models'). */
static double concept_measure(const sp_concept_pair *c, int j)
{
    switch (j) {
    case CM_ACC_ID: return (c->acc_id_a + c->acc_id_b) / 2.0;
    case CM_ACC_OOD: return (c->acc_ood_a + c->acc_ood_b) / 2.0;
    case CM_BACC_ID: return (c->bacc_id_a + c->bacc_id_b) / 2.0;
    case CM_BACC_OOD: return (c->bacc_ood_a + c->bacc_ood_b) / 2.0;
    case CM_AGREE_ID: return c->agree_id;
    case CM_AGREE_OOD: return c->agree_ood;
    case CM_S_PROBE: return c->s_probe;
    case CM_COSINE: return c->cosine;
    }
    return NAN;
}

/* The concept cell of variant v in (o, l, p): measure u * N_CM + j is measure j of the u-th used concept, over
 * the pairs that agree in domain with a defined probe; present[u] = 1 when the cell has a record of concept u
 * (a layer skipped as constant has none). */
static sp_status concept_cell(srun_cell *cell, unsigned char *present, const srun_state *st, const size_t *slot,
                              size_t n_used, size_t v, size_t o, size_t l, size_t p)
{
    const srun_concepts *c = &st->concepts;
    sp_status status = srun_cell_alloc(cell, st, v, n_used * N_CM);
    if (status != SP_OK) return status;
    memset(present, 0, n_used);
    for (size_t i = 0; i < c->n_recs; i++) {
        const srun_concept_rec *r = &c->recs[i];
        const srun_pair *q = &st->pairs[r->pair];
        if (q->variant != v || q->ood != o || q->layer != l || q->pooling != p) continue;
        const size_t u = slot[r->concept];
        present[u] = 1;
        if (!q->agree_id || !r->c.defined) continue;
        for (int j = 0; j < N_CM; j++) *srun_cell_at(cell, u * N_CM + (size_t)j, q->a, q->b) = concept_measure(&r->c, j);
    }
    return SP_OK;
}

/* Working memory of the concept summaries of one (o, l, p) cell across variants. */
typedef struct {
    size_t *slot;           /* [list->n] index among the used concepts */
    size_t n_used;
    double *est, *reps, *diff; /* [V][Q], [V][Q][B], [B] with Q = n_used * N_CM */
    size_t *n_pairs;        /* [V][Q] */
    unsigned char *present; /* [V][n_used] */
    unsigned char *has;     /* [V] the variant has two models or more */
} concept_work;

static void concept_work_free(concept_work *w)
{
    free(w->slot);
    free(w->est);
    free(w->reps);
    free(w->diff);
    free(w->n_pairs);
    free(w->present);
    free(w->has);
}

static sp_status concept_work_alloc(concept_work *w, const srun_state *st, size_t B)
{
    const srun_concepts *c = &st->concepts;
    memset(w, 0, sizeof *w);
    w->slot = calloc(c->list->n, sizeof *w->slot);
    if (!w->slot) return sp_fail(SP_ERR_NOMEM, "out of memory summarising concepts");
    for (size_t k = 0; k < c->list->n; k++)
        if (c->used[k]) w->slot[k] = w->n_used++;
    const size_t V = st->n_variants, Q = w->n_used * N_CM;
    w->est = malloc((V * Q + 1) * sizeof *w->est);
    w->reps = malloc((V * Q * B + 1) * sizeof *w->reps);
    w->diff = malloc((B + 1) * sizeof *w->diff);
    w->n_pairs = malloc((V * Q + 1) * sizeof *w->n_pairs);
    w->present = calloc(V * w->n_used + 1, 1);
    w->has = calloc(V + 1, 1);
    if (!w->est || !w->reps || !w->diff || !w->n_pairs || !w->present || !w->has) {
        concept_work_free(w);
        return sp_fail(SP_ERR_NOMEM, "out of memory summarising concepts");
    }
    return SP_OK;
}

/* The rows of one (o, l, p) cell: per variant and used concept the means with their Multi-Bootstrap
 * intervals (the replicates of the pair-level summaries: the same streams and model draws), then
 * per pair of variants in display order (finetune - joint first) and measure the difference. */
static sp_status concept_cell_rows(sp_csv *vcsv, sp_csv *ccsv, concept_work *w, const srun_state *st,
                                   const sp_splinter_run_options *opt, size_t o, size_t l, size_t p)
{
    const srun_concepts *c = &st->concepts;
    const size_t V = st->n_variants, U = w->n_used, Q = U * N_CM, B = opt->bootstrap;
    sp_status status = SP_OK;
    for (size_t v = 0; v < V && status == SP_OK; v++) {
        srun_cell cell;
        unsigned char *present = w->present + v * U;
        if ((status = concept_cell(&cell, present, st, w->slot, U, v, o, l, p)) != SP_OK) break;
        w->has[v] = cell.Mv >= 2;
        if (w->has[v])
            status = srun_cell_estimates(w->est + v * Q, w->n_pairs + v * Q, w->reps + v * Q * B, &cell,
                                         st->variants[v], B, opt->seed);
        srun_cell_free(&cell);
        for (size_t k = 0; k < c->list->n && w->has[v] && status == SP_OK; k++) {
            const size_t u = w->slot[k];
            if (!c->used[k] || !present[u]) continue;
            const char *t[N_VAR_KEYS] = {st->variants[v], st->ood_splits[o], st->layers[l], st->poolings[p],
                                         c->list->concepts[k].name};
            double num[1 + 3 * N_CM];
            num[0] = (double)w->n_pairs[v * Q + u * N_CM + CM_S_PROBE]; /* s_probe is defined iff the probes are */
            for (int j = 0; j < N_CM && status == SP_OK; j++) {
                const size_t q = u * N_CM + (size_t)j;
                num[1 + 3 * j] = w->est[v * Q + q];
                status = srun_interval(&num[2 + 3 * j], &num[3 + 3 * j], w->reps + (v * Q + q) * B, B, opt->level);
            }
            if (status == SP_OK) status = row(vcsv, t, N_VAR_KEYS, num, 1 + 3 * N_CM);
        }
    }
    for (size_t a = 0; a < V && status == SP_OK; a++)
        for (size_t b = a + 1; b < V && status == SP_OK; b++) {
            if (!w->has[a] || !w->has[b]) continue;
            for (size_t k = 0; k < c->list->n && status == SP_OK; k++) {
                const size_t u = w->slot[k];
                if (!c->used[k] || !w->present[a * U + u] || !w->present[b * U + u]) continue;
                for (int j = 0; j < N_CM && status == SP_OK; j++) {
                    const size_t q = u * N_CM + (size_t)j;
                    double num[3] = {w->est[a * Q + q] - w->est[b * Q + q]};
                    status = srun_diff_interval(&num[1], &num[2], w->diff, w->reps + (a * Q + q) * B,
                                                w->reps + (b * Q + q) * B, B, opt->level);
                    const char *t[7] = {st->ood_splits[o], st->layers[l], st->poolings[p], c->list->concepts[k].name,
                                        measure_names[j], st->variants[a], st->variants[b]};
                    if (status == SP_OK) status = row(ccsv, t, 7, num, 3);
                }
            }
        }
    return status;
}

/* splinter_concept_variants.csv and splinter_concept_compare.csv (docs/splintering.md, "Concept probes"). */
static sp_status write_variants(const srun_state *st, const sp_splinter_run_options *opt, const char *dir)
{
    const char *cols[N_VAR];
    char names[3 * N_CM][40];
    const char *const keys[N_VAR_KEYS + 1] = {"variant", "ood_split", "layer", "pooling", "concept", "n_pairs"};
    for (int i = 0; i <= N_VAR_KEYS; i++) cols[i] = keys[i];
    for (int j = 0; j < N_CM; j++) {
        snprintf(names[3 * j], sizeof names[0], "%s", measure_names[j]);
        snprintf(names[3 * j + 1], sizeof names[0], "%s_lo", measure_names[j]);
        snprintf(names[3 * j + 2], sizeof names[0], "%s_hi", measure_names[j]);
    }
    for (int i = 0; i < 3 * N_CM; i++) cols[N_VAR_KEYS + 1 + i] = names[i];
    char path[4200];
    sp_csv *vcsv = NULL, *ccsv = NULL;
    concept_work w;
    sp_status status = concept_work_alloc(&w, st, opt->bootstrap);
    if (status != SP_OK) return status;
    snprintf(path, sizeof path, "%s/splinter_concept_variants.csv", dir);
    status = sp_csv_open(&vcsv, path, cols, N_VAR);
    snprintf(path, sizeof path, "%s/splinter_concept_compare.csv", dir);
    if (status == SP_OK) status = sp_csv_open(&ccsv, path, compare_columns, N_COMPARE);
    for (size_t o = 0; o < st->n_ood && status == SP_OK; o++)
        for (size_t l = 0; l < st->n_layers && status == SP_OK; l++)
            for (size_t p = 0; p < st->n_poolings && status == SP_OK; p++)
                status = concept_cell_rows(vcsv, ccsv, &w, st, opt, o, l, p);
    concept_work_free(&w);
    if (status != SP_OK) {
        sp_csv_abort(vcsv);
        sp_csv_abort(ccsv);
        return status;
    }
    if ((status = sp_csv_commit(vcsv)) != SP_OK) {
        sp_csv_abort(ccsv);
        return status;
    }
    return sp_csv_commit(ccsv);
}

sp_status srun_write_concepts(const srun_state *st, const sp_splinter_run_options *opt, const char *dir)
{
    if (!st->concepts.list) return sp_outputs_remove(dir, SP_OUTPUTS_CONCEPTS); /* none from an earlier run */
    sp_status status = write_list(st, dir);
    if (status == SP_OK) status = write_pairs(st, dir);
    if (status == SP_OK) status = write_variants(st, opt, dir);
    return status;
}

sp_status srun_write_concepts_h5(const srun_state *st, sp_store_writer *w)
{
    const srun_concepts *c = &st->concepts;
    if (!c->list) return SP_OK;
    const size_t K = c->list->n, n = c->n_recs;
    char **text = calloc((n > K ? n : K) + 1, sizeof *text);
    double *values = malloc(((n > K ? n : K) + 1) * sizeof *values);
    sp_status status = text && values ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory writing concepts");
    char name[96];
    /* /concepts/list: one row per concept (ID test positives and status). */
    for (size_t k = 0; k < K && status == SP_OK; k++) text[k] = (char *)c->list->concepts[k].name;
    if (status == SP_OK) status = sp_store_write_strings(w, "/concepts/list/concept", K, text);
    for (size_t k = 0; k < K && status == SP_OK; k++) text[k] = (char *)concept_status(c, k);
    if (status == SP_OK) status = sp_store_write_strings(w, "/concepts/list/status", K, text);
    for (size_t k = 0; k < K; k++)
        values[k] = c->n_inputs[0] ? (double)c->positives[k] / (double)c->n_inputs[0] : NAN;
    hsize_t dk[1] = {K};
    if (status == SP_OK) status = sp_store_write_f64(w, "/concepts/list/positive_rate_id", 1, dk, values, 1);
    /* /concepts/pairs/<column>: the splinter_concept_pairs.csv table (absent when no concept was used). */
    for (size_t col = 0; n > 0 && col < N_PAIR_TEXT && status == SP_OK; col++) {
        for (size_t i = 0; i < n; i++) {
            const char *t[N_PAIR_TEXT];
            rec_texts(t, st, &c->recs[i]);
            text[i] = (char *)t[col];
        }
        snprintf(name, sizeof name, "/concepts/pairs/%s", pair_columns[col]);
        status = sp_store_write_strings(w, name, n, text);
    }
    for (size_t col = 0; n > 0 && col < N_PAIR_NUM && status == SP_OK; col++) {
        for (size_t i = 0; i < n; i++) {
            double v[N_PAIR_NUM];
            rec_numbers(v, st, &c->recs[i]);
            values[i] = v[col];
        }
        snprintf(name, sizeof name, "/concepts/pairs/%s", pair_columns[N_PAIR_TEXT + col]);
        hsize_t dn[1] = {n};
        status = sp_store_write_f64(w, name, 1, dn, values, 1);
    }
    free(text);
    free(values);
    return status;
}
