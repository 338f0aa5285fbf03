/* splinter_summary.c: per-variant summaries of the run-level splintering records, their Multi-Bootstrap
 * intervals, variant differences, the model-level vs feature-level 2x2 tables, and the output files
 * (see splinter_run.h; the exact estimators are in docs/splintering.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>

#include "bootstrap.h"
#include "csv.h"
#include "splinter_run_internal.h"
#include "store.h"

/* ---------------------------------------------------------------- the pair table */

/* Numeric columns of splinter_pairs.csv and /pairs in splinter.h5, after the six text columns. */
typedef struct {
    const char *name;
    double (*get)(const srun_pair *p);
} pair_column;

#define PAIR_GETTER(fn, expr) \
    static double fn(const srun_pair *p) { return (expr); }
PAIR_GETTER(col_agree_id, p->agree_id)
PAIR_GETTER(col_d_id, p->d_id)
PAIR_GETTER(col_d_ood, p->d_ood)
PAIR_GETTER(col_s_beh, p->s_beh)
PAIR_GETTER(col_sim_id_cka, p->m.sim_id[SP_SIM_CKA])
PAIR_GETTER(col_sim_ood_cka, p->m.sim_ood[SP_SIM_CKA])
PAIR_GETTER(col_s_rep_cka, p->m.s_rep[SP_SIM_CKA])
PAIR_GETTER(col_sim_id_dcka, p->m.sim_id[SP_SIM_DCKA])
PAIR_GETTER(col_sim_ood_dcka, p->m.sim_ood[SP_SIM_DCKA])
PAIR_GETTER(col_s_rep_dcka, p->m.s_rep[SP_SIM_DCKA])
PAIR_GETTER(col_sim_id_proc, p->m.sim_id[SP_SIM_PROCRUSTES])
PAIR_GETTER(col_sim_ood_proc, p->m.sim_ood[SP_SIM_PROCRUSTES])
PAIR_GETTER(col_s_rep_proc, p->m.s_rep[SP_SIM_PROCRUSTES])
PAIR_GETTER(col_tau_rep_cka, p->tau_rep[SP_SIM_CKA])
PAIR_GETTER(col_tau_rep_dcka, p->tau_rep[SP_SIM_DCKA])
PAIR_GETTER(col_tau_rep_proc, p->tau_rep[SP_SIM_PROCRUSTES])
PAIR_GETTER(col_feat_agree, p->m.s_rep[SP_SIM_CKA] <= p->tau_rep[SP_SIM_CKA])
PAIR_GETTER(col_svcca_id, p->svcca_id)
PAIR_GETTER(col_svcca_ood, p->svcca_ood)
PAIR_GETTER(col_pwcca_id, p->pwcca_id)
PAIR_GETTER(col_pwcca_ood, p->pwcca_ood)
PAIR_GETTER(col_align_heldout, p->m.align_heldout)
PAIR_GETTER(col_align_ood, p->m.align_ood)
PAIR_GETTER(col_s_align, p->m.s_align)
PAIR_GETTER(col_align_cca_heldout, p->m.align_cca_heldout)
PAIR_GETTER(col_align_cca_ood, p->m.align_cca_ood)
PAIR_GETTER(col_s_align_cca, p->m.s_align_cca)
PAIR_GETTER(col_unit_pairs, (double)p->m.unit_pairs)
PAIR_GETTER(col_unit_frac, p->m.unit_splinter_frac)
PAIR_GETTER(col_probe_agree_id, p->m.has_probes ? p->m.probe_agree_id : NAN)
PAIR_GETTER(col_probe_agree_ood, p->m.has_probes ? p->m.probe_agree_ood : NAN)
PAIR_GETTER(col_s_probe, p->m.has_probes ? p->m.s_probe : NAN)
PAIR_GETTER(col_probe_cosine, p->m.has_probes ? p->m.probe_cosine : NAN)

static const pair_column pair_columns[] = {
    {"agree_id", col_agree_id},           {"d_id", col_d_id},
    {"d_ood", col_d_ood},                 {"s_beh", col_s_beh},
    {"sim_id_cka", col_sim_id_cka},       {"sim_ood_cka", col_sim_ood_cka},
    {"s_rep_cka", col_s_rep_cka},         {"sim_id_dcka", col_sim_id_dcka},
    {"sim_ood_dcka", col_sim_ood_dcka},   {"s_rep_dcka", col_s_rep_dcka},
    {"sim_id_procrustes", col_sim_id_proc}, {"sim_ood_procrustes", col_sim_ood_proc},
    {"s_rep_procrustes", col_s_rep_proc}, {"tau_rep_cka", col_tau_rep_cka},
    {"tau_rep_dcka", col_tau_rep_dcka},   {"tau_rep_procrustes", col_tau_rep_proc},
    {"feat_agree_ood", col_feat_agree},   {"svcca_id", col_svcca_id},
    {"svcca_ood", col_svcca_ood},         {"pwcca_id", col_pwcca_id},
    {"pwcca_ood", col_pwcca_ood},         {"align_heldout", col_align_heldout},
    {"align_ood", col_align_ood},         {"s_align", col_s_align},
    {"align_cca_heldout", col_align_cca_heldout}, {"align_cca_ood", col_align_cca_ood},
    {"s_align_cca", col_s_align_cca},
    {"unit_pairs", col_unit_pairs},       {"unit_splinter_frac", col_unit_frac},
    {"probe_agree_id", col_probe_agree_id}, {"probe_agree_ood", col_probe_agree_ood},
    {"s_probe", col_s_probe},             {"probe_cosine", col_probe_cosine},
};
#define N_PAIR_COLUMNS (sizeof pair_columns / sizeof pair_columns[0])
static const char *const pair_text_columns[6] = {"variant", "model_a", "model_b", "ood_split", "layer", "pooling"};

/* The six text fields of a pair record, in pair_text_columns order. */
static void pair_texts(const srun_state *st, const srun_pair *p, const char *out[6])
{
    out[0] = st->variants[p->variant];
    out[1] = st->models[p->a].name;
    out[2] = st->models[p->b].name;
    out[3] = st->ood_splits[p->ood];
    out[4] = st->layers[p->layer];
    out[5] = st->poolings[p->pooling];
}

static sp_status write_pairs_csv(const srun_state *st, const char *dir)
{
    const char *cols[6 + N_PAIR_COLUMNS];
    for (size_t i = 0; i < 6; i++) cols[i] = pair_text_columns[i];
    for (size_t i = 0; i < N_PAIR_COLUMNS; i++) cols[6 + i] = pair_columns[i].name;
    char path[4200];
    snprintf(path, sizeof path, "%s/splinter_pairs.csv", dir);
    sp_csv *csv = NULL;
    sp_status status = sp_csv_open(&csv, path, cols, 6 + N_PAIR_COLUMNS);
    for (size_t r = 0; r < st->n_pairs && status == SP_OK; r++) {
        const char *text[6];
        pair_texts(st, &st->pairs[r], text);
        for (size_t i = 0; i < 6 && status == SP_OK; i++) status = sp_csv_str(csv, text[i]);
        for (size_t i = 0; i < N_PAIR_COLUMNS && status == SP_OK; i++)
            status = sp_csv_f64(csv, pair_columns[i].get(&st->pairs[r]));
        if (status == SP_OK) status = sp_csv_end_row(csv);
    }
    if (status != SP_OK) {
        sp_csv_abort(csv);
        return status;
    }
    return sp_csv_commit(csv);
}

/* /pairs/<column> in splinter.h5: the same table as splinter_pairs.csv, column by column. */
static sp_status write_pairs_h5(const srun_state *st, const sp_splinter_run_options *opt, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/splinter.h5", dir);
    sp_store_writer *w = NULL;
    sp_status status = sp_store_create(path, "splinter-analysis", &w);
    if (status != SP_OK) return status;
    size_t n = st->n_pairs;
    char **text = malloc((n ? n : 1) * sizeof *text);
    double *values = malloc((n ? n : 1) * sizeof *values);
    if (!text || !values) status = sp_fail(SP_ERR_NOMEM, "out of memory writing %s", path);
    for (size_t c = 0; c < 6 && status == SP_OK; c++) {
        for (size_t r = 0; r < n; r++) {
            const char *t[6];
            pair_texts(st, &st->pairs[r], t);
            text[r] = (char *)t[c];
        }
        char name[64];
        snprintf(name, sizeof name, "/pairs/%s", pair_text_columns[c]);
        status = sp_store_write_strings(w, name, n, text);
    }
    for (size_t c = 0; c < N_PAIR_COLUMNS && status == SP_OK; c++) {
        for (size_t r = 0; r < n; r++) values[r] = pair_columns[c].get(&st->pairs[r]);
        char name[64];
        snprintf(name, sizeof name, "/pairs/%s", pair_columns[c].name);
        hsize_t dims[1] = {n};
        status = sp_store_write_f64(w, name, 1, dims, values, 1);
    }
    if (status == SP_OK) status = sp_store_attr_str(w, "/", "analysis", "feature splintering (docs/splintering.md)");
    if (status == SP_OK) status = sp_store_attr_f64(w, "/", "agree_eps", opt->agree_eps);
    if (status == SP_OK) status = sp_store_attr_f64(w, "/", "tau_beh", opt->tau_beh);
    if (status == SP_OK)
        status = sp_store_attr_str(w, "/", "tau_rep_mode", opt->tau_rep_calibrated ? "calibrated" : "fixed");
    if (status == SP_OK && !opt->tau_rep_calibrated) status = sp_store_attr_f64(w, "/", "tau_rep", opt->tau_rep);
    if (status == SP_OK && opt->tau_rep_calibrated)
        status = sp_store_attr_i64(w, "/", "tau_resamples", (int64_t)opt->tau_resamples);
    if (status == SP_OK && opt->tau_rep_calibrated) status = sp_store_attr_f64(w, "/", "tau_level", opt->tau_level);
    if (status == SP_OK) status = sp_store_attr_i64(w, "/", "bootstrap", (int64_t)opt->bootstrap);
    if (status == SP_OK) status = sp_store_attr_u64(w, "/", "seed", opt->seed);
    if (status == SP_OK) status = sp_store_attr_i64(w, "/", "max_examples", (int64_t)opt->max_examples);
    if (status == SP_OK && opt->concepts) status = sp_store_attr_str(w, "/", "concepts_file", opt->concepts);
    if (status == SP_OK) status = srun_write_concepts_h5(st, w);
    free(text);
    free(values);
    if (status != SP_OK) {
        sp_store_abort(w);
        return status;
    }
    return sp_store_commit(w);
}

/* ---------------------------------------------------------------- summaries */

/* One (OOD split, layer, pooling) cell of one variant: the per-measure pair values (srun_cell) and each
 * agreeing pair's tau_rep of linear CKA. */
typedef struct {
    srun_cell cell;
    double *tau; /* [Mv][Mv], upper triangle */
} variant_cell;

static void variant_cell_free(variant_cell *c)
{
    srun_cell_free(&c->cell);
    free(c->tau);
    c->tau = NULL;
}

static sp_status variant_cell_build(variant_cell *c, const srun_state *st, size_t v, size_t ood, size_t layer,
                                    size_t pooling)
{
    c->tau = NULL;
    sp_status status = srun_cell_alloc(&c->cell, st, v, SRUN_N_MEASURES);
    if (status != SP_OK) return status;
    const size_t Mv = c->cell.Mv;
    c->tau = malloc((Mv > 0 ? Mv * Mv : 1) * sizeof *c->tau);
    if (!c->tau) {
        variant_cell_free(c);
        return sp_fail(SP_ERR_NOMEM, "out of memory summarising variant %s", st->variants[v]);
    }
    for (size_t r = 0; r < st->n_pairs; r++) {
        const srun_pair *p = &st->pairs[r];
        if (p->variant != v || p->ood != ood || p->layer != layer || p->pooling != pooling || !p->agree_id) continue;
        for (int q = 0; q < SRUN_N_MEASURES; q++) *srun_cell_at(&c->cell, (size_t)q, p->a, p->b) = srun_measure_value(p, q);
        c->tau[c->cell.local[p->a] * Mv + c->cell.local[p->b]] = p->tau_rep[SP_SIM_CKA];
    }
    return SP_OK;
}

/* 2x2 counts of the agreeing pairs of a cell (features agree when s_rep of linear CKA <= the pair's tau_rep)
 * and the Spearman correlation of s_beh and s_rep (linear CKA). */
static void cell_two_by_two(size_t counts[4], double *spearman, size_t *n_pairs, const variant_cell *vc,
                            const sp_splinter_run_options *opt)
{
    const srun_cell *c = &vc->cell;
    memset(counts, 0, 4 * sizeof *counts);
    size_t n = 0;
    double *x = malloc(c->Mv * c->Mv * sizeof *x), *y = malloc(c->Mv * c->Mv * sizeof *y);
    double *work = malloc(2 * c->Mv * c->Mv * sizeof *work);
    for (size_t i = 0; i < c->Mv; i++)
        for (size_t j = i + 1; j < c->Mv; j++) {
            double beh = c->value[((size_t)SRUN_S_BEH * c->Mv + i) * c->Mv + j];
            double rep = c->value[((size_t)SRUN_S_REP_CKA * c->Mv + i) * c->Mv + j];
            if (isnan(beh) || isnan(rep)) continue;
            int pred_agree = beh <= opt->tau_beh, feat_agree = rep <= vc->tau[i * c->Mv + j];
            counts[pred_agree ? (feat_agree ? 0 : 1) : (feat_agree ? 2 : 3)]++;
            if (x && y) x[n] = beh, y[n] = rep;
            n++;
        }
    *n_pairs = n;
    *spearman = (x && y && work && n >= 3) ? gsl_stats_spearman(x, 1, y, 1, n, work) : NAN;
    free(x);
    free(y);
    free(work);
}

static const char *const variant_columns[] = {"variant", "ood_split", "layer", "pooling", "measure",
                                              "n_pairs", "mean", "lo", "hi"};
static const char *const compare_columns[] = {"ood_split", "layer", "pooling", "measure", "variant_a",
                                              "variant_b", "diff", "lo", "hi"};
static const char *const twobytwo_columns[] = {"variant", "ood_split", "layer", "pooling", "n_pairs",
                                               "pred_agree_feat_agree", "pred_agree_feat_split",
                                               "pred_split_feat_agree", "pred_split_feat_split",
                                               "spearman_sbeh_srep"};

/* Writes the text fields then numbers of one CSV row. */
static sp_status csv_row(sp_csv *csv, const char *const *text, size_t n_text, const double *num, size_t n_num)
{
    sp_status status = SP_OK;
    for (size_t i = 0; i < n_text && status == SP_OK; i++) status = sp_csv_str(csv, text[i]);
    for (size_t i = 0; i < n_num && status == SP_OK; i++) status = sp_csv_f64(csv, num[i]);
    return status == SP_OK ? sp_csv_end_row(csv) : status;
}

static sp_status write_summary_csvs(const srun_state *st, const sp_splinter_run_options *opt, const char *dir)
{
    char path[4200];
    sp_csv *vcsv = NULL, *ccsv = NULL, *tcsv = NULL;
    size_t V = st->n_variants, B = opt->bootstrap;
    double *est = malloc(V * SRUN_N_MEASURES * sizeof *est);
    size_t *npairs = malloc(V * SRUN_N_MEASURES * sizeof *npairs);
    double *reps = malloc((V * SRUN_N_MEASURES * B + 1) * sizeof *reps), *diff = malloc((B + 1) * sizeof *diff);
    int *present = calloc(V, sizeof *present);
    sp_status status = est && npairs && reps && diff && present ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory");
    if (status == SP_OK)
        status = sp_csv_open(&vcsv, (snprintf(path, sizeof path, "%s/splinter_variants.csv", dir), path),
                             variant_columns, 9);
    if (status == SP_OK)
        status = sp_csv_open(&ccsv, (snprintf(path, sizeof path, "%s/splinter_compare.csv", dir), path),
                             compare_columns, 9);
    if (status == SP_OK)
        status = sp_csv_open(&tcsv, (snprintf(path, sizeof path, "%s/splinter_2x2.csv", dir), path),
                             twobytwo_columns, 10);
    for (size_t o = 0; o < st->n_ood && status == SP_OK; o++)
        for (size_t l = 0; l < st->n_layers && status == SP_OK; l++)
            for (size_t p = 0; p < st->n_poolings && status == SP_OK; p++) {
                /* Layers skipped for this split and pooling (constant representations) have no records. */
                int any = 0;
                for (size_t r = 0; r < st->n_pairs && !any; r++)
                    any = st->pairs[r].ood == o && st->pairs[r].layer == l && st->pairs[r].pooling == p;
                if (!any) continue;
                for (size_t v = 0; v < V && status == SP_OK; v++) {
                    variant_cell c;
                    present[v] = 0;
                    if ((status = variant_cell_build(&c, st, v, o, l, p)) != SP_OK) break;
                    if (c.cell.Mv < 2) {
                        variant_cell_free(&c);
                        continue;
                    }
                    present[v] = 1;
                    status = srun_cell_estimates(est + v * SRUN_N_MEASURES, npairs + v * SRUN_N_MEASURES,
                                                 reps + v * SRUN_N_MEASURES * B, &c.cell, st->variants[v], B, opt->seed);
                    size_t counts[4], n2;
                    double rho;
                    cell_two_by_two(counts, &rho, &n2, &c, opt);
                    variant_cell_free(&c);
                    const char *keys[4] = {st->variants[v], st->ood_splits[o], st->layers[l], st->poolings[p]};
                    for (int q = 0; q < SRUN_N_MEASURES && status == SP_OK; q++) {
                        double lo, hi;
                        if (status == SP_OK)
                            status = srun_interval(&lo, &hi, reps + (v * SRUN_N_MEASURES + (size_t)q) * B, B, opt->level);
                        const char *text[5] = {keys[0], keys[1], keys[2], keys[3], srun_measure_names[q]};
                        double num[4] = {(double)npairs[v * SRUN_N_MEASURES + (size_t)q],
                                         est[v * SRUN_N_MEASURES + (size_t)q], lo, hi};
                        if (status == SP_OK) status = csv_row(vcsv, text, 5, num, 4);
                    }
                    double num2[6] = {(double)n2, (double)counts[0], (double)counts[1], (double)counts[2],
                                      (double)counts[3], rho};
                    if (status == SP_OK) status = csv_row(tcsv, keys, 4, num2, 6);
                }
                /* Differences a - b for every pair of variants in display order (finetune - joint first). */
                for (size_t a = 0; a < V && status == SP_OK; a++)
                    for (size_t b = a + 1; b < V && status == SP_OK; b++) {
                        if (!present[a] || !present[b]) continue;
                        for (int q = 0; q < SRUN_N_MEASURES && status == SP_OK; q++) {
                            double d = est[a * SRUN_N_MEASURES + (size_t)q] - est[b * SRUN_N_MEASURES + (size_t)q];
                            double lo, hi;
                            status = srun_diff_interval(&lo, &hi, diff, reps + (a * SRUN_N_MEASURES + (size_t)q) * B,
                                                        reps + (b * SRUN_N_MEASURES + (size_t)q) * B, B, opt->level);
                            const char *text[6] = {st->ood_splits[o], st->layers[l], st->poolings[p],
                                                   srun_measure_names[q], st->variants[a], st->variants[b]};
                            double num[3] = {d, lo, hi};
                            if (status == SP_OK) status = csv_row(ccsv, text, 6, num, 3);
                        }
                    }
            }
    free(est);
    free(npairs);
    free(reps);
    free(diff);
    free(present);
    if (status != SP_OK) {
        sp_csv_abort(vcsv);
        sp_csv_abort(ccsv);
        sp_csv_abort(tcsv);
        return status;
    }
    if ((status = sp_csv_commit(vcsv)) != SP_OK) {
        sp_csv_abort(ccsv);
        sp_csv_abort(tcsv);
        return status;
    }
    if ((status = sp_csv_commit(ccsv)) != SP_OK) {
        sp_csv_abort(tcsv);
        return status;
    }
    return sp_csv_commit(tcsv);
}

sp_status srun_write_summaries(const srun_state *st, const sp_splinter_run_options *opt, const char *dir)
{
    sp_status status = write_pairs_csv(st, dir);
    if (status == SP_OK) status = write_summary_csvs(st, opt, dir);
    if (status == SP_OK) status = srun_write_concepts(st, opt, dir);
    if (status == SP_OK) status = write_pairs_h5(st, opt, dir);
    return status;
}
