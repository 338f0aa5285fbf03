/* exact_write.c: output of the exact viable prediction ranges: analysis.h5 group /exact, exact_vpr.csv (one
 * row per solved example and epsilon) and exact_summary.csv (one row per split and epsilon); columns in
 * docs/metrics.md. */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "fsutil.h"

static double sigmoid(double a) { return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a)); }

static const char *const stratum_names[3] = {"all", "boundary", "random"};

sp_status run_exact_write_h5(sp_store_writer *w, const run_exact *e)
{
    sp_status st;
    const size_t E = e->n_eps;
    hsize_t d1[1] = {E}, d2[2];
    char *names[EXS_COUNT];
    for (int k = 0; k < EXS_COUNT; k++) names[k] = (char *)run_exact_summary_names[k];
    if ((st = sp_store_write_f64(w, "/exact/eps", 1, d1, e->eps, 0)) != SP_OK ||
        (st = sp_store_write_strings(w, "/exact/summary_names", EXS_COUNT, names)) != SP_OK ||
        (st = sp_store_attr_str(w, "/exact", "model", e->model)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/exact", "l2", e->l2)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/exact", "objective_star", e->f_star)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/exact", "grad_norm_star", e->fit_grad_norm)) != SP_OK ||
        (st = sp_store_attr_i64(w, "/exact", "n_train", (int64_t)e->n_train)) != SP_OK ||
        (st = sp_store_attr_str(w, "/exact", "definition",
                                "margin range of x.d + beta over {f(d, beta) <= f* + eps}, f = mean training log-loss "
                                "+ (l2/4)||d||^2 (the objective of the centred weights); docs/metrics.md")) != SP_OK)
        return st;
    if (e->n_sampled) {
        d1[0] = e->n_sampled;
        if ((st = sp_store_write_strings(w, "/exact/sampled_models", e->n_sampled, e->sampled_names)) != SP_OK ||
            (st = sp_store_write_f64(w, "/exact/sampled_objective_gap", 1, d1, e->sampled_gap, 0)) != SP_OK)
            return st;
    }
    for (size_t k = 0; k < e->n_splits; k++) {
        const run_exact_split *x = &e->splits[k];
        const size_t n = x->n_sel, nE = n * E;
        char sn[128], p[300];
        sp_safe_name(sn, sizeof sn, x->name);
        double *buf = malloc((nE ? nE : 1) * 4 * sizeof *buf);
        uint8_t *flags = malloc((nE ? nE : 1) * 2);
        if (!buf || !flags) {
            free(buf), free(flags);
            return sp_fail(SP_ERR_NOMEM, "out of memory writing exact ranges");
        }
        double *lo = buf, *hi = buf + nE, *lo_in = buf + 2 * nE, *hi_in = buf + 3 * nE;
        uint8_t *flip = flags, *undecided = flags + nE;
        for (size_t t = 0; t < nE; t++) {
            const sp_vpr_range *r = &x->range[t];
            int h = x->m_star[t / E] > 0;
            lo[t] = r->lo, hi[t] = r->hi, lo_in[t] = r->lo_in, hi_in[t] = r->hi_in;
            flip[t] = (uint8_t)(h ? r->lo_in <= 0 : r->hi_in > 0);
            undecided[t] = (uint8_t)(!flip[t] && (h ? r->lo <= 0 : r->hi > 0));
        }
        d1[0] = n, d2[0] = n, d2[1] = E;
#define PATH(leaf) (snprintf(p, sizeof p, "/exact/splits/%s/%s", sn, leaf), p)
        st = sp_store_write_i64(w, PATH("rows"), 1, d1, x->rows, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("weight"), 1, d1, x->weight, 0);
        if (st == SP_OK) st = sp_store_write_u8(w, PATH("stratum"), 1, d1, x->stratum, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("margin_star"), 1, d1, x->m_star, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("lower"), 2, d2, lo, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("upper"), 2, d2, hi, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("lower_inner"), 2, d2, lo_in, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("upper_inner"), 2, d2, hi_in, 0);
        if (st == SP_OK) st = sp_store_write_u8(w, PATH("flips"), 2, d2, flip, 0);
        if (st == SP_OK) st = sp_store_write_u8(w, PATH("undecided"), 2, d2, undecided, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("sampled_lower"), 2, d2, x->s_lo, 0);
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("sampled_upper"), 2, d2, x->s_hi, 0);
        if (st == SP_OK) st = sp_store_write_u8(w, PATH("sampled_flips"), 2, d2, x->s_flip, 0);
        d2[0] = E, d2[1] = EXS_COUNT;
        if (st == SP_OK) st = sp_store_write_f64(w, PATH("summary"), 2, d2, x->summary, 0);
        if (st == SP_OK) st = sp_store_attr_i64(w, PATH(""), "n_examples", (int64_t)x->n);
#undef PATH
        free(buf), free(flags);
        if (st != SP_OK) return st;
    }
    return SP_OK;
}

#define TRY(x)                   \
    do {                         \
        if ((st = (x)) != SP_OK) \
            goto fail;           \
    } while (0)

static sp_status write_examples(const run_state *s, const run_exact *e, const char *path)
{
    static const char *const cols[] = {"split", "row", "source_id", "label", "stratum", "weight", "eps",
                                       "margin_star", "lower", "upper", "lower_logit", "upper_logit", "gap",
                                       "flips", "undecided", "converged", "sampled_lower", "sampled_upper",
                                       "sampled_flips", "n_sampled_in_set"};
    sp_csv *csv = NULL;
    sp_status st = sp_csv_open(&csv, path, cols, sizeof cols / sizeof cols[0]);
    if (st != SP_OK) return st;
    const size_t E = e->n_eps;
    for (size_t k = 0; k < e->n_splits; k++) {
        const run_exact_split *x = &e->splits[k];
        for (size_t j = 0; j < x->n_sel; j++)
            for (size_t q = 0; q < E; q++) {
                const sp_vpr_range *r = &x->range[j * E + q];
                int h = x->m_star[j] > 0;
                int flip = h ? r->lo_in <= 0 : r->hi_in > 0, maybe = h ? r->lo <= 0 : r->hi > 0;
                double gap = fmax(r->hi - r->hi_in, r->lo_in - r->lo);
                TRY(sp_csv_str(csv, x->name));
                TRY(sp_csv_i64(csv, x->rows[j]));
                TRY(sp_csv_str(csv, s->source_ids ? s->source_ids[x->rows[j]] : ""));
                TRY(sp_csv_i64(csv, x->label[j]));
                TRY(sp_csv_str(csv, stratum_names[x->stratum[j]]));
                TRY(sp_csv_f64(csv, x->weight[j]));
                TRY(sp_csv_f64(csv, e->eps[q]));
                TRY(sp_csv_f64(csv, x->m_star[j]));
                TRY(sp_csv_f64(csv, sigmoid(r->lo)));
                TRY(sp_csv_f64(csv, sigmoid(r->hi)));
                TRY(sp_csv_f64(csv, r->lo));
                TRY(sp_csv_f64(csv, r->hi));
                TRY(sp_csv_f64(csv, gap));
                TRY(sp_csv_i64(csv, flip));
                TRY(sp_csv_i64(csv, maybe && !flip));
                TRY(sp_csv_i64(csv, r->converged));
                TRY(sp_csv_f64(csv, sigmoid(x->s_lo[j * E + q])));
                TRY(sp_csv_f64(csv, sigmoid(x->s_hi[j * E + q])));
                TRY(sp_csv_i64(csv, x->s_flip[j * E + q]));
                TRY(sp_csv_i64(csv, (int64_t)x->summary[q * EXS_COUNT + EXS_N_IN_SET]));
                TRY(sp_csv_end_row(csv));
            }
    }
    return sp_csv_commit(csv);
fail:
    sp_csv_abort(csv);
    return st;
}

static sp_status write_summary(const run_exact *e, const char *path)
{
    const char *cols[2 + EXS_COUNT] = {"split", "eps"};
    for (int k = 0; k < EXS_COUNT; k++) cols[2 + k] = run_exact_summary_names[k];
    sp_csv *csv = NULL;
    sp_status st = sp_csv_open(&csv, path, cols, 2 + EXS_COUNT);
    if (st != SP_OK) return st;
    for (size_t k = 0; k < e->n_splits; k++)
        for (size_t q = 0; q < e->n_eps; q++) {
            TRY(sp_csv_str(csv, e->splits[k].name));
            TRY(sp_csv_f64(csv, e->eps[q]));
            for (int c = 0; c < EXS_COUNT; c++) TRY(sp_csv_f64(csv, e->splits[k].summary[q * EXS_COUNT + c]));
            TRY(sp_csv_end_row(csv));
        }
    return sp_csv_commit(csv);
fail:
    sp_csv_abort(csv);
    return st;
}

sp_status run_exact_write_csv(const run_state *s, const char *dir)
{
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/exact_vpr.csv", dir);
    if (k < 0 || (size_t)k >= sizeof path) return sp_fail(SP_ERR_USAGE, "%s: path too long", dir);
    sp_status st = write_examples(s, s->exact, path);
    if (st != SP_OK) return st;
    snprintf(path, sizeof path, "%s/exact_summary.csv", dir);
    return write_summary(s->exact, path);
}
