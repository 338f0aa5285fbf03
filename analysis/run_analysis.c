/* run_analysis.c: the statistics of `splinter analyze`: multiplicity cells over the epsilon grid, per-example
 * metrics, underspecification summaries, Multi-Bootstrap replicates and the variant difference. Loading is
 * in run_load.c, output in run_write.c. */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "multiplicity.h"
#include "seeds.h"

const char *const run_metric_names[MET_COUNT] = {
    "set_size", "rashomon_ratio", "pattern_ratio", "ambiguity", "discrepancy", "delta_ambiguity",
    "delta_discrepancy", "vpr_width", "capacity", "mu", "mu_unbiased", "self_consistency", "pairwise_disagreement"};

const char *const run_us_names[US_COUNT] = {
    "accuracy_mean", "accuracy_sd", "accuracy_range", "accuracy_iqr",
    "loss_mean", "loss_sd", "loss_range", "loss_iqr",
    "accuracy_sd_ratio", "accuracy_range_ratio", "accuracy_iqr_ratio",
    "loss_sd_ratio", "loss_range_ratio", "loss_iqr_ratio",
    "accuracy_spearman", "accuracy_kendall", "loss_spearman", "loss_kendall",
    "accuracy_var_pretrain", "accuracy_var_finetune", "accuracy_share_pretrain"};

void sp_analysis_options_default(sp_analysis_options *opt)
{
    static const double grid[] = {0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1};
    memset(opt, 0, sizeof *opt);
    opt->n_eps = sizeof grid / sizeof grid[0];
    memcpy(opt->eps, grid, sizeof grid);
    opt->delta = 0.1;
    opt->bootstrap = 200;
    opt->seed = 0;
    opt->level = 0.95;
    opt->top_k = 0;
}

/* ------------------------------------------------------------------ multiplicity cells */

/* Per-thread scratch for cell_metrics. */
typedef struct {
    uint64_t *words;   /* [W] */
    uint8_t *bytes;    /* [n] */
    double *rc, *mu, *mu_u, *sc; /* [n] */
    float *lo, *hi;    /* [n][C] */
    uint32_t *count_in_set; /* [M] */
} cell_ws;

static void cell_ws_free(cell_ws *ws)
{
    free(ws->words);
    free(ws->bytes);
    free(ws->rc);
    free(ws->mu);
    free(ws->mu_u);
    free(ws->sc);
    free(ws->lo);
    free(ws->hi);
    free(ws->count_in_set);
    memset(ws, 0, sizeof *ws);
}

static sp_status cell_ws_alloc(cell_ws *ws, const sp_predmatrix *pm)
{
    const size_t n = pm->n_examples, nc = n * (size_t)pm->n_classes;
    memset(ws, 0, sizeof *ws);
    ws->words = malloc(pm->n_words * sizeof *ws->words);
    ws->bytes = malloc(n);
    ws->rc = malloc(n * sizeof *ws->rc);
    ws->mu = malloc(n * sizeof *ws->mu);
    ws->mu_u = malloc(n * sizeof *ws->mu_u);
    ws->sc = malloc(n * sizeof *ws->sc);
    ws->lo = malloc(nc * sizeof *ws->lo);
    ws->hi = malloc(nc * sizeof *ws->hi);
    ws->count_in_set = malloc(pm->n_models * sizeof *ws->count_in_set);
    if (!ws->words || !ws->bytes || !ws->rc || !ws->mu || !ws->mu_u || !ws->sc || !ws->lo || !ws->hi ||
        !ws->count_in_set) {
        cell_ws_free(ws);
        return sp_fail(SP_ERR_NOMEM, "out of memory for multiplicity workspaces");
    }
    return SP_OK;
}

/* Weighted mean over examples, skipping NaN values; NaN when nothing is left. */
static double wmean(const double *x, const double *w, size_t n)
{
    double s = 0, t = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi == 0 || isnan(x[i])) continue;
        s += wi * x[i];
        t += wi;
    }
    return t > 0 ? s / t : NAN;
}

/* Every metric of one Rashomon set. member: distinct models of the set (contains ref); count: how often
 * each model was drawn (NULL: once); pool_size: models in the pool (with multiplicity); pool_patterns:
 * distinct patterns in the pool; w: example weights (NULL: 1); D: pairwise matrix for the point estimate
 * of mean pairwise disagreement (NULL: use 1 - mean self-consistency, the same quantity). */
static sp_status cell_metrics(double out[MET_COUNT], size_t *n_capped, const sp_predmatrix *pm, size_t ref,
                              const uint8_t *member, const uint32_t *count, double pool_size, double pool_patterns,
                              const double *w, double delta, const double *D, cell_ws *ws)
{
    const size_t M = pm->n_models, n = pm->n_examples;
    const int C = pm->n_classes;
    double size = 0;
    for (size_t m = 0; m < M; m++) {
        ws->count_in_set[m] = member[m] ? (count ? count[m] : 1) : 0;
        size += ws->count_in_set[m];
    }
    out[MET_SET_SIZE] = size;
    out[MET_RASHOMON_RATIO] = size / pool_size;
    size_t patterns;
    sp_status st = sp_rashomon_patterns(&patterns, pm, member);
    if (st != SP_OK) return st;
    out[MET_PATTERN_RATIO] = (double)patterns / pool_patterns;
    out[MET_AMBIGUITY] = sp_mult_ambiguity(pm, ref, member, w, ws->words);
    out[MET_DISCREPANCY] = sp_mult_discrepancy(pm, ref, member, w, ws->words);
    sp_mult_delta(&out[MET_DELTA_AMBIGUITY], &out[MET_DELTA_DISCREPANCY], pm, ref, member, w, delta, ws->bytes);
    sp_mult_vpr(ws->lo, ws->hi, pm, member);
    for (size_t i = 0; i < n; i++) {
        double width = 0;
        for (int c = 0; c < C; c++) {
            double d = (double)ws->hi[i * (size_t)C + (size_t)c] - (double)ws->lo[i * (size_t)C + (size_t)c];
            if (d > width) width = d;
        }
        ws->rc[i] = width;
    }
    out[MET_VPR_WIDTH] = wmean(ws->rc, w, n);
    size_t capped = 0;
    if ((st = sp_rashomon_capacity(ws->rc, &capped, pm, member)) != SP_OK) return st;
    *n_capped += capped;
    out[MET_CAPACITY] = wmean(ws->rc, w, n);
    sp_mult_seed_disagreement(ws->mu, ws->mu_u, ws->sc, pm, ws->count_in_set);
    out[MET_MU] = wmean(ws->mu, w, n);
    out[MET_MU_UNBIASED] = wmean(ws->mu_u, w, n);
    out[MET_SELF_CONSISTENCY] = wmean(ws->sc, w, n);
    if (D) {
        double s = 0, pairs = 0;
        for (size_t a = 0; a < M; a++)
            for (size_t b = a + 1; b < M; b++)
                if (member[a] && member[b]) s += D[a * M + b], pairs += 1;
        out[MET_PAIRWISE] = pairs > 0 ? s / pairs : NAN;
    } else {
        out[MET_PAIRWISE] = 1.0 - out[MET_SELF_CONSISTENCY];
    }
    return SP_OK;
}

static const double *kind_score(const run_variant *v, int kind)
{
    return (kind == SP_EPS_LOSS_ABS || kind == SP_EPS_LOSS_REL) ? v->val_loss : v->val_error;
}

/* Members among `avail` (NULL: all models) of the set of `kind`, eps with reference ref. */
static void set_members(uint8_t *member, const run_variant *v, const uint8_t *avail, size_t ref, int kind, double eps)
{
    const double *score = kind_score(v, kind);
    double thr = (kind == SP_EPS_LOSS_REL || kind == SP_EPS_ERROR_REL) ? score[ref] * (1.0 + eps) : score[ref] + eps;
    for (size_t m = 0; m < v->M; m++) member[m] = (uint8_t)((!avail || avail[m]) && (m == ref || score[m] <= thr));
}

#define CELL(sp_, kind, e, met, n_eps) ((((size_t)(kind) * (n_eps)) + (size_t)(e)) * MET_COUNT + (size_t)(met))

/* Point estimates and per-example metrics of one split. */
static sp_status split_point(run_state *s, run_variant *v, run_split *sp)
{
    const size_t M = v->M, n = sp->n, C = (size_t)v->n_classes, E = s->opt->n_eps;
    sp->churn = malloc(M * sizeof *sp->churn);
    sp->pairwise = malloc(M * M * sizeof *sp->pairwise);
    sp->capacity = malloc(n * sizeof *sp->capacity);
    sp->mu = malloc(n * sizeof *sp->mu);
    sp->mu_unbiased = malloc(n * sizeof *sp->mu_unbiased);
    sp->sc = malloc(n * sizeof *sp->sc);
    sp->flip = malloc(n);
    sp->vpr_low = malloc(n * C * sizeof *sp->vpr_low);
    sp->vpr_high = malloc(n * C * sizeof *sp->vpr_high);
    sp->cell = malloc(SP_EPS_KIND_COUNT * E * MET_COUNT * sizeof *sp->cell);
    sp->cell_lo = malloc(SP_EPS_KIND_COUNT * E * MET_COUNT * sizeof *sp->cell_lo);
    sp->cell_hi = malloc(SP_EPS_KIND_COUNT * E * MET_COUNT * sizeof *sp->cell_hi);
    uint8_t *member = malloc(M);
    if (!sp->churn || !sp->pairwise || !sp->capacity || !sp->mu || !sp->mu_unbiased || !sp->sc || !sp->flip ||
        !sp->vpr_low || !sp->vpr_high || !sp->cell || !sp->cell_lo || !sp->cell_hi || !member) {
        free(member);
        return sp_fail(SP_ERR_NOMEM, "out of memory for split %s", sp->name);
    }
    sp_mult_churn(sp->churn, sp->pm, v->ref);
    sp_mult_pairwise(sp->pairwise, sp->pm);
    size_t capped = 0;
    sp_status st = sp_rashomon_capacity(sp->capacity, &capped, sp->pm, NULL);
    cell_ws ws;
    if (st == SP_OK) st = cell_ws_alloc(&ws, sp->pm);
    if (st != SP_OK) {
        free(member);
        return st;
    }
    sp_mult_seed_disagreement(sp->mu, sp->mu_unbiased, sp->sc, sp->pm, NULL);
    sp_mult_flips(sp->flip, sp->pm, v->ref, NULL, ws.words);
    sp_mult_vpr(sp->vpr_low, sp->vpr_high, sp->pm, NULL);
    size_t pool_patterns;
    st = sp_rashomon_patterns(&pool_patterns, sp->pm, NULL);
    for (int kind = 0; kind < SP_EPS_KIND_COUNT && st == SP_OK; kind++)
        for (size_t e = 0; e < E && st == SP_OK; e++) {
            set_members(member, v, NULL, v->ref, kind, s->opt->eps[e]);
            st = cell_metrics(&sp->cell[CELL(sp, kind, e, 0, E)], &capped, sp->pm, v->ref, member, NULL, (double)M,
                              (double)pool_patterns, NULL, s->opt->delta, sp->pairwise, &ws);
            for (int k = 0; k < MET_COUNT; k++)
                sp->cell_lo[CELL(sp, kind, e, k, E)] = sp->cell_hi[CELL(sp, kind, e, k, E)] = NAN;
        }
    cell_ws_free(&ws);
    free(member);
    if (st == SP_OK && capped)
        st = run_warn(s, "variant %s, split %s: %zu Rashomon capacity computations stopped at the iteration cap "
                      "(%d); their values are lower bounds", v->name, sp->name, capped, SP_CAPACITY_MAX_ITER);
    return st;
}

/* Draws replicate b's models: counts[M] and the drawn list (draw, slot, *k). */
static sp_status draw_models(size_t *draw, size_t *slot, size_t *k, uint32_t *counts, const run_state *s,
                             const run_variant *v, size_t b)
{
    char purpose[128];
    snprintf(purpose, sizeof purpose, "models:%s", v->name);
    gsl_rng *r = sp_rng_alloc(sp_seed_for(s->opt->seed, purpose, b));
    if (!r) return sp_fail(SP_ERR_NOMEM, "out of memory for a generator");
    sp_boot_draw_models(draw, slot, k, v->groups, r);
    gsl_rng_free(r);
    if (counts) {
        memset(counts, 0, v->M * sizeof *counts);
        for (size_t j = 0; j < *k; j++) counts[draw[j]]++;
    }
    return SP_OK;
}

/* Example weights of split `name`, replicate b: shared by every variant (paired by example). */
static sp_status draw_examples(double *w, size_t n, const run_state *s, const char *name, size_t b)
{
    char purpose[128];
    snprintf(purpose, sizeof purpose, "examples:%s", name);
    gsl_rng *r = sp_rng_alloc(sp_seed_for(s->opt->seed, purpose, b));
    if (!r) return sp_fail(SP_ERR_NOMEM, "out of memory for a generator");
    sp_boot_example_weights(w, n, r);
    gsl_rng_free(r);
    return SP_OK;
}

/* Multi-Bootstrap intervals of every multiplicity cell of one split. */
static sp_status split_bootstrap(run_state *s, run_variant *v, run_split *sp)
{
    const size_t B = s->opt->bootstrap, E = s->opt->n_eps, M = v->M, K = SP_EPS_KIND_COUNT * E * MET_COUNT;
    if (B == 0) return SP_OK;
    double *reps = malloc(B * K * sizeof *reps);
    if (!reps) return sp_fail(SP_ERR_NOMEM, "out of memory for bootstrap replicates");
    int failed = 0;
    size_t capped = 0;
#pragma omp parallel reduction(| : failed) reduction(+ : capped)
    {
        cell_ws ws;
        size_t *draw = malloc(sp_boot_groups_max_draw(v->groups) * sizeof *draw);
        uint32_t *counts = malloc(M * sizeof *counts);
        /* sets already evaluated in this replicate (different kinds and epsilons often give the same set) */
        uint8_t *avail = malloc(M), *member = malloc(M), *seen = malloc(SP_EPS_KIND_COUNT * E * M);
        double **seen_cell = malloc(SP_EPS_KIND_COUNT * E * sizeof *seen_cell);
        double *w = malloc(sp->n * sizeof *w);
        int ok = draw && counts && avail && member && seen && seen_cell && w && cell_ws_alloc(&ws, sp->pm) == SP_OK;
        if (!ok) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < B; b++) {
            if (!ok) continue;
            size_t k;
            if (draw_models(draw, NULL, &k, counts, s, v, b) != SP_OK || draw_examples(w, sp->n, s, sp->name, b) != SP_OK) {
                failed = 1;
                continue;
            }
            size_t ref = SIZE_MAX;
            for (size_t m = 0; m < M; m++) {
                avail[m] = counts[m] > 0;
                if (avail[m] && (ref == SIZE_MAX || v->val_loss[m] < v->val_loss[ref])) ref = m;
            }
            size_t pool_patterns;
            if (sp_rashomon_patterns(&pool_patterns, sp->pm, avail) != SP_OK) {
                failed = 1;
                continue;
            }
            double *out = reps + b * K;
            size_t n_seen = 0;
            for (int kind = 0; kind < SP_EPS_KIND_COUNT; kind++)
                for (size_t e = 0; e < E; e++) {
                    set_members(member, v, avail, ref, kind, s->opt->eps[e]);
                    double *cell = out + CELL(sp, kind, e, 0, E);
                    size_t j = 0;
                    while (j < n_seen && memcmp(member, seen + j * M, M) != 0) j++;
                    if (j < n_seen) {
                        memcpy(cell, seen_cell[j], MET_COUNT * sizeof *cell);
                        continue;
                    }
                    if (cell_metrics(cell, &capped, sp->pm, ref, member, counts, (double)k, (double)pool_patterns,
                                     w, s->opt->delta, NULL, &ws) != SP_OK)
                        failed = 1;
                    memcpy(seen + n_seen * M, member, M);
                    seen_cell[n_seen++] = cell;
                }
        }
        if (ok) cell_ws_free(&ws);
        free(draw);
        free(counts);
        free(avail);
        free(member);
        free(seen);
        free(seen_cell);
        free(w);
    }
    sp_status st = failed ? sp_fail(SP_ERR_NOMEM, "bootstrap of split %s failed (out of memory)", sp->name) : SP_OK;
    double *col = malloc(B * sizeof *col);
    if (st == SP_OK && !col) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < K && st == SP_OK; c++) {
        for (size_t b = 0; b < B; b++) col[b] = reps[b * K + c];
        st = sp_boot_percentile(&sp->cell_lo[c], &sp->cell_hi[c], col, B, s->opt->level);
    }
    free(col);
    free(reps);
    if (st == SP_OK && capped)
        st = run_warn(s, "variant %s, split %s: %zu bootstrap Rashomon capacity computations stopped at the "
                      "iteration cap", v->name, sp->name, capped);
    return st;
}

/* ------------------------------------------------------------------ underspecification */

/* The underspecification statistics of one split from per-model scores (k models; test scores NULL when the
 * split is the test split or there is none; group: nesting slot per model, NULL when not nested). */
static void us_compute(double out[US_COUNT], const double *acc, const double *loss, const double *test_acc,
                       const double *test_loss, size_t k, const size_t *group, size_t n_groups)
{
    for (int j = 0; j < US_COUNT; j++) out[j] = NAN;
    sp_spread a, l;
    if (sp_spread_compute(&a, acc, k) != SP_OK || sp_spread_compute(&l, loss, k) != SP_OK) return;
    out[US_ACC_MEAN] = a.mean, out[US_ACC_SD] = a.sd, out[US_ACC_RANGE] = a.range, out[US_ACC_IQR] = a.iqr;
    out[US_LOSS_MEAN] = l.mean, out[US_LOSS_SD] = l.sd, out[US_LOSS_RANGE] = l.range, out[US_LOSS_IQR] = l.iqr;
    if (test_acc) {
        sp_spread ta, tl;
        if (sp_spread_compute(&ta, test_acc, k) == SP_OK && sp_spread_compute(&tl, test_loss, k) == SP_OK) {
            out[US_ACC_SD_RATIO] = sp_spread_ratio(a.sd, ta.sd);
            out[US_ACC_RANGE_RATIO] = sp_spread_ratio(a.range, ta.range);
            out[US_ACC_IQR_RATIO] = sp_spread_ratio(a.iqr, ta.iqr);
            out[US_LOSS_SD_RATIO] = sp_spread_ratio(l.sd, tl.sd);
            out[US_LOSS_RANGE_RATIO] = sp_spread_ratio(l.range, tl.range);
            out[US_LOSS_IQR_RATIO] = sp_spread_ratio(l.iqr, tl.iqr);
        }
        out[US_ACC_SPEARMAN] = sp_spearman(test_acc, acc, k);
        out[US_ACC_KENDALL] = sp_kendall_tau_b(test_acc, acc, k);
        out[US_LOSS_SPEARMAN] = sp_spearman(test_loss, loss, k);
        out[US_LOSS_KENDALL] = sp_kendall_tau_b(test_loss, loss, k);
    }
    if (group) {
        sp_nested_var nv;
        if (sp_nested_variance(&nv, acc, group, k, n_groups) == SP_OK) {
            out[US_ACC_VAR_PRETRAIN] = nv.var_between;
            out[US_ACC_VAR_FINETUNE] = nv.var_within;
            out[US_ACC_SHARE_PRETRAIN] = nv.share_between;
        } else {
            sp_error_clear();
        }
    }
}

/* Scratch of us_replicate: per split, the drawn models' accuracy and loss, and one split's weights. */
typedef struct {
    size_t cap;         /* models per draw */
    double *acc, *loss; /* [S][cap] */
    double *w;          /* [max n] */
} us_ws;

static void us_ws_free(us_ws *u)
{
    free(u->acc);
    free(u->loss);
    free(u->w);
}

/* Scratch for draws of up to cap models of variant v; 0 on allocation failure (u is then freeable). */
static int us_ws_alloc(us_ws *u, const run_variant *v, size_t cap)
{
    const size_t S = v->n_splits;
    size_t maxn = 1;
    for (size_t j = 0; j < S; j++) maxn = v->splits[j].n > maxn ? v->splits[j].n : maxn;
    u->cap = cap;
    u->acc = malloc((S ? S : 1) * cap * sizeof *u->acc);
    u->loss = malloc((S ? S : 1) * cap * sizeof *u->loss);
    u->w = malloc(maxn * sizeof *u->w);
    return u->acc && u->loss && u->w;
}

/* Underspecification statistics of variant v in replicate b for the drawn models draw[0..k) (slot: the
 * group draw of each, used when v is nested) and replicate b's example weights of every split.
 * out: [S][US_COUNT]. */
static sp_status us_replicate(double *out, const run_state *s, const run_variant *v, size_t b, const size_t *draw,
                              const size_t *slot, size_t k, us_ws *u)
{
    const size_t S = v->n_splits, T = v->test_split, cap = u->cap;
    for (size_t j = 0; j < S; j++) {
        const run_split *sp = &v->splits[j];
        sp_status st = draw_examples(u->w, sp->n, s, sp->name, b);
        if (st != SP_OK) return st;
        for (size_t t = 0; t < k; t++) {
            const uint8_t *cor = sp->correct + draw[t] * sp->n;
            const double *nll = sp->nll + draw[t] * sp->n;
            double c = 0, l = 0, tot = 0;
            for (size_t i = 0; i < sp->n; i++) {
                c += u->w[i] * cor[i];
                l += u->w[i] * nll[i];
                tot += u->w[i];
            }
            u->acc[j * cap + t] = c / tot;
            u->loss[j * cap + t] = l / tot;
        }
    }
    for (size_t j = 0; j < S; j++) {
        int with_test = T < S && j != T;
        us_compute(&out[j * US_COUNT], &u->acc[j * cap], &u->loss[j * cap], with_test ? &u->acc[T * cap] : NULL,
                   with_test ? &u->loss[T * cap] : NULL, k, v->nested ? slot : NULL, v->groups->n_groups);
    }
    return SP_OK;
}

/* Point values, replicates and intervals of the underspecification statistics of one variant. */
static sp_status variant_underspec(run_state *s, run_variant *v)
{
    const size_t S = v->n_splits, M = v->M, B = s->opt->bootstrap;
    const size_t T = v->test_split;
    v->us = malloc((S ? S : 1) * US_COUNT * sizeof *v->us);
    v->us_lo = malloc((S ? S : 1) * US_COUNT * sizeof *v->us_lo);
    v->us_hi = malloc((S ? S : 1) * US_COUNT * sizeof *v->us_hi);
    v->us_reps = malloc((B ? B : 1) * (S ? S : 1) * US_COUNT * sizeof *v->us_reps);
    if (!v->us || !v->us_lo || !v->us_hi || !v->us_reps) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < S; j++) {
        const run_split *sp = &v->splits[j];
        int with_test = T < S && j != T;
        us_compute(&v->us[j * US_COUNT], sp->accuracy, sp->loss, with_test ? v->splits[T].accuracy : NULL,
                   with_test ? v->splits[T].loss : NULL, M, v->nested ? v->groups->group_of : NULL,
                   v->groups->n_groups);
    }
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        size_t cap = sp_boot_groups_max_draw(v->groups);
        size_t *draw = malloc(cap * sizeof *draw), *slot = malloc(cap * sizeof *slot);
        us_ws u = {0};
        int ok = draw && slot && us_ws_alloc(&u, v, cap);
        if (!ok) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < B; b++) {
            size_t k;
            if (!ok || draw_models(draw, slot, &k, NULL, s, v, b) != SP_OK ||
                us_replicate(&v->us_reps[b * S * US_COUNT], s, v, b, draw, slot, k, &u) != SP_OK)
                failed = 1;
        }
        free(draw);
        free(slot);
        us_ws_free(&u);
    }
    if (failed) return sp_fail(SP_ERR_NOMEM, "bootstrap of variant %s failed (out of memory)", v->name);
    double *col = malloc((B ? B : 1) * sizeof *col);
    if (!col) return sp_fail(SP_ERR_NOMEM, "out of memory");
    sp_status st = SP_OK;
    for (size_t c = 0; c < S * US_COUNT && st == SP_OK; c++) {
        for (size_t b = 0; b < B; b++) col[b] = v->us_reps[b * S * US_COUNT + c];
        st = sp_boot_percentile(&v->us_lo[c], &v->us_hi[c], col, B, s->opt->level);
    }
    free(col);
    return st;
}

/* Seed pairing of variants va and vb (NULL when either lacks fine-tuning seeds or the seed sets differ).
 * A nested variant's groups are its pretraining seeds; a variant without nesting is one group. */
static sp_status diff_pairing(sp_boot_pairing **out, const run_variant *va, const run_variant *vb)
{
    *out = NULL;
    const run_variant *v2[2] = {va, vb};
    uint64_t *seed[2] = {malloc(va->M * sizeof(uint64_t)), malloc(vb->M * sizeof(uint64_t))};
    sp_status st = seed[0] && seed[1] ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory");
    int all = 1;
    for (int t = 0; t < 2 && st == SP_OK; t++)
        for (size_t m = 0; m < v2[t]->M; m++) {
            all &= v2[t]->models[m]->has_seed_finetune;
            seed[t][m] = v2[t]->models[m]->seed_finetune;
        }
    if (st == SP_OK && all)
        st = sp_boot_pairing_alloc(out, seed[0], va->nested ? va->groups->group_of : NULL, va->groups->n_groups,
                                   va->M, seed[1], vb->nested ? vb->groups->group_of : NULL, vb->groups->n_groups,
                                   vb->M);
    free(seed[0]);
    free(seed[1]);
    return st;
}

/* Replicates of both variants' statistics under seed-paired model draws: reps_v [B][S_v][US_COUNT]. Seeds
 * come from sp_seed_for(seed, "seeds:<a>-minus-<b>", b), each variant's pretraining groups from
 * sp_seed_for(seed, "groups:<v>", b); example weights are the same as in the unpaired replicates. */
static sp_status paired_replicates(double *reps_a, double *reps_b, const run_state *s, const run_variant *va,
                                   const run_variant *vb, const sp_boot_pairing *p)
{
    const size_t B = s->opt->bootstrap, F = p->n_seeds;
    const size_t ka = p->n_groups[0] * F, kb = p->n_groups[1] * F;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        size_t *fd = malloc(F * sizeof *fd), *da = malloc(ka * sizeof *da), *sa = malloc(ka * sizeof *sa);
        size_t *db = malloc(kb * sizeof *db), *sb = malloc(kb * sizeof *sb);
        us_ws ua = {0}, ub = {0};
        int ok = fd && da && sa && db && sb && us_ws_alloc(&ua, va, ka) && us_ws_alloc(&ub, vb, kb);
        if (!ok) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < B; b++) {
            if (!ok) continue;
            char purpose[3][300];
            snprintf(purpose[0], sizeof purpose[0], "seeds:%s-minus-%s", va->name, vb->name);
            snprintf(purpose[1], sizeof purpose[1], "groups:%s", va->name);
            snprintf(purpose[2], sizeof purpose[2], "groups:%s", vb->name);
            gsl_rng *r[3];
            for (int t = 0; t < 3; t++) r[t] = sp_rng_alloc(sp_seed_for(s->opt->seed, purpose[t], b));
            if (r[0] && r[1] && r[2]) {
                sp_boot_draw_paired(fd, da, sa, db, sb, p, r[0], r[1], r[2]);
                if (us_replicate(&reps_a[b * va->n_splits * US_COUNT], s, va, b, da, sa, ka, &ua) != SP_OK ||
                    us_replicate(&reps_b[b * vb->n_splits * US_COUNT], s, vb, b, db, sb, kb, &ub) != SP_OK)
                    failed = 1;
            } else {
                failed = 1;
            }
            for (int t = 0; t < 3; t++)
                if (r[t]) gsl_rng_free(r[t]);
        }
        free(fd), free(da), free(sa), free(db), free(sb);
        us_ws_free(&ua);
        us_ws_free(&ub);
    }
    return failed ? sp_fail(SP_ERR_NOMEM, "paired bootstrap of %s and %s failed (out of memory)", va->name, vb->name)
                  : SP_OK;
}

/* finetune-minus-joint: examples paired (same example draws per split and replicate); models paired by
 * fine-tuning seed when both variants trained the same seeds (s->diff_paired), else drawn independently
 * per variant (the variants' own replicates). */
static sp_status variant_difference(run_state *s)
{
    size_t a = SIZE_MAX, bj = SIZE_MAX;
    for (size_t j = 0; j < s->n_variants; j++) {
        if (strcmp(s->variants[j].name, "finetune") == 0) a = j;
        if (strcmp(s->variants[j].name, "joint") == 0) bj = j;
    }
    if (a == SIZE_MAX || bj == SIZE_MAX) return SP_OK;
    const run_variant *va = &s->variants[a], *vb = &s->variants[bj];
    const size_t S = va->n_splits, B = s->opt->bootstrap;
    s->have_diff = 1;
    s->diff_a = a, s->diff_b = bj;
    s->diff = malloc((S ? S : 1) * US_COUNT * sizeof *s->diff);
    s->diff_lo = malloc((S ? S : 1) * US_COUNT * sizeof *s->diff_lo);
    s->diff_hi = malloc((S ? S : 1) * US_COUNT * sizeof *s->diff_hi);
    double *col = malloc((B ? B : 1) * sizeof *col);
    if (!s->diff || !s->diff_lo || !s->diff_hi || !col) {
        free(col);
        return sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    sp_boot_pairing *pairing = NULL;
    sp_status st = B > 0 ? diff_pairing(&pairing, va, vb) : SP_OK;
    const double *reps_a = va->us_reps, *reps_b = vb->us_reps;
    double *own_a = NULL, *own_b = NULL;
    if (st == SP_OK && pairing) {
        own_a = malloc(B * (S ? S : 1) * US_COUNT * sizeof *own_a);
        own_b = malloc(B * (vb->n_splits ? vb->n_splits : 1) * US_COUNT * sizeof *own_b);
        st = own_a && own_b ? paired_replicates(own_a, own_b, s, va, vb, pairing) : sp_fail(SP_ERR_NOMEM, "out of memory");
        reps_a = own_a, reps_b = own_b;
        s->diff_paired = 1;
    }
    sp_boot_pairing_free(pairing);
    for (size_t j = 0; j < S && st == SP_OK; j++) {
        size_t jb = SIZE_MAX;
        for (size_t t = 0; t < vb->n_splits; t++)
            if (strcmp(vb->splits[t].name, va->splits[j].name) == 0) jb = t;
        int same_rows = jb != SIZE_MAX && vb->splits[jb].n == va->splits[j].n &&
                        memcmp(vb->splits[jb].rows, va->splits[j].rows, va->splits[j].n * sizeof(int64_t)) == 0;
        for (size_t c = 0; c < US_COUNT; c++) {
            size_t ia = j * US_COUNT + c;
            s->diff[ia] = s->diff_lo[ia] = s->diff_hi[ia] = NAN;
            if (!same_rows) continue;
            size_t ib = jb * US_COUNT + c;
            s->diff[ia] = va->us[ia] - vb->us[ib];
            for (size_t b = 0; b < B; b++)
                col[b] = reps_a[b * S * US_COUNT + ia] - reps_b[b * vb->n_splits * US_COUNT + ib];
            if ((st = sp_boot_percentile(&s->diff_lo[ia], &s->diff_hi[ia], col, B, s->opt->level)) != SP_OK) break;
        }
        if (!same_rows && st == SP_OK)
            st = run_warn(s, "split %s: finetune and joint are not evaluated on the same rows; no difference "
                          "reported", va->splits[j].name);
    }
    free(own_a);
    free(own_b);
    free(col);
    return st;
}

/* ------------------------------------------------------------------ top-K and entry point */

static int cmp_example(const void *pa, const void *pb)
{
    const sp_analysis_example *a = pa, *b = pb;
    if (a->capacity != b->capacity) return a->capacity > b->capacity ? -1 : 1;
    double ma = isnan(a->mu_unbiased) ? -1 : a->mu_unbiased, mb = isnan(b->mu_unbiased) ? -1 : b->mu_unbiased;
    if (ma != mb) return ma > mb ? -1 : 1;
    int c = strcmp(a->variant, b->variant);
    if (c) return c;
    if ((c = strcmp(a->split, b->split))) return c;
    return (a->row > b->row) - (a->row < b->row);
}

static sp_status collect_top(const run_state *s, sp_analysis_result *res)
{
    size_t total = 0;
    for (size_t j = 0; j < s->n_variants; j++)
        for (size_t k = 0; k < s->variants[j].n_splits; k++)
            if (strncmp(s->variants[j].splits[k].name, "ood-", 4) == 0) total += s->variants[j].splits[k].n;
    if (s->opt->top_k == 0 || total == 0) return SP_OK;
    sp_analysis_example *all = calloc(total, sizeof *all);
    if (!all) return sp_fail(SP_ERR_NOMEM, "out of memory");
    size_t t = 0;
    for (size_t j = 0; j < s->n_variants; j++) {
        const run_variant *v = &s->variants[j];
        for (size_t k = 0; k < v->n_splits; k++) {
            const run_split *sp = &v->splits[k];
            if (strncmp(sp->name, "ood-", 4) != 0) continue;
            size_t C = (size_t)v->n_classes, c = C == 2 ? 1 : 0;
            for (size_t i = 0; i < sp->n; i++, t++) {
                snprintf(all[t].variant, sizeof all[t].variant, "%s", v->name);
                snprintf(all[t].split, sizeof all[t].split, "%s", sp->name);
                all[t].row = sp->rows[i];
                all[t].label = sp->label[i];
                all[t].capacity = sp->capacity[i];
                all[t].mu_unbiased = sp->mu_unbiased[i];
                size_t cc = C == 2 ? c : (size_t)sp_predmatrix_label(sp->pm, v->ref, i);
                all[t].vpr_low = sp->vpr_low[i * C + cc];
                all[t].vpr_high = sp->vpr_high[i * C + cc];
            }
        }
    }
    qsort(all, total, sizeof *all, cmp_example);
    res->n_top = s->opt->top_k < total ? s->opt->top_k : total;
    res->top = all;
    return SP_OK;
}

sp_status sp_analysis_run(const char *run_dir, const sp_analysis_options *opt, sp_analysis_result **out)
{
    *out = NULL;
    if (opt->n_eps == 0 || opt->n_eps > SP_ANALYSIS_MAX_EPS)
        return sp_fail(SP_ERR_USAGE, "the epsilon grid needs 1 to %d values", SP_ANALYSIS_MAX_EPS);
    for (size_t e = 0; e < opt->n_eps; e++)
        if (!isfinite(opt->eps[e]) || opt->eps[e] < 0)
            return sp_fail(SP_ERR_USAGE, "epsilon %g is not a finite non-negative number", opt->eps[e]);
    if (!(opt->level > 0 && opt->level < 1)) return sp_fail(SP_ERR_USAGE, "interval level must be in (0, 1)");
    run_state s = {.run_dir = run_dir, .opt = opt};
    sp_analysis_result *res = calloc(1, sizeof *res);
    if (!res) return sp_fail(SP_ERR_NOMEM, "out of memory");
    sp_status st = run_load(&s);
    for (size_t j = 0; j < s.n_variants && st == SP_OK; j++) {
        run_variant *v = &s.variants[j];
        for (size_t k = 0; k < v->n_splits && st == SP_OK; k++) {
            if ((st = split_point(&s, v, &v->splits[k])) == SP_OK) st = split_bootstrap(&s, v, &v->splits[k]);
        }
        if (st == SP_OK) st = variant_underspec(&s, v);
    }
    if (st == SP_OK) st = variant_difference(&s);
    if (st == SP_OK) st = collect_top(&s, res);
    if (st == SP_OK) st = run_write(&s);
    if (st == SP_OK) {
        res->n_models = s.n_models;
        res->n_variants = s.n_variants;
        res->warnings = s.warnings;
        res->n_warnings = s.n_warnings;
        s.warnings = NULL;
        s.n_warnings = 0;
    }
    run_state_free(&s);
    if (st != SP_OK) {
        sp_analysis_result_free(res);
        return st;
    }
    *out = res;
    return SP_OK;
}

void sp_analysis_result_free(sp_analysis_result *res)
{
    if (!res) return;
    for (size_t k = 0; k < res->n_warnings; k++) free(res->warnings[k]);
    free(res->warnings);
    free(res->top);
    free(res);
}
