/* report_model.c: the model-level sections of report.md (summary table, finetune-vs-joint verdict) and
 * figures (accuracy ID vs OOD, Rashomon sets, per-example ranges and capacity, pairwise disagreement,
 * variance decomposition), all read from RUN/analysis/<table>.csv as written by analysis/run_write.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "fsutil.h"
#include "report_internal.h"

#define DIFF_VARIANT "finetune-minus-joint"

/* First row whose columns cols[0..nk) equal keys[0..nk); -1 when none. */
static long find_row(const sp_csv_table *t, size_t nk, const size_t *cols, const char *const *keys)
{
    for (size_t r = 0; r < sp_csv_table_rows(t); r++) {
        size_t k = 0;
        while (k < nk && strcmp(sp_csv_table_cell(t, r, cols[k]), keys[k]) == 0) k++;
        if (k == nk) return (long)r;
    }
    return -1;
}

/* value, lo, hi of a row (columns vcol, vcol's _lo and _hi, given as three indices). NaN when row < 0. */
static sp_status read_triple(const sp_csv_table *t, long row, const size_t c[3], double out[3])
{
    out[0] = out[1] = out[2] = NAN;
    if (row < 0) return SP_OK;
    for (int k = 0; k < 3; k++) {
        sp_status st = sp_csv_table_f64(t, (size_t)row, c[k], &out[k]);
        if (st != SP_OK) return st;
    }
    return SP_OK;
}

/* The four tables every model-level section needs, loaded once. */
typedef struct {
    sp_csv_table *models, *mult, *vars, *examples;
    char eps[64]; /* the multiplicity.csv text of the epsilon shown in the summary */
} model_tables;

static void tables_free(model_tables *m)
{
    sp_csv_table_free(m->models);
    sp_csv_table_free(m->mult);
    sp_csv_table_free(m->vars);
    sp_csv_table_free(m->examples);
    memset(m, 0, sizeof *m);
}

static sp_status required(rp_ctx *c, const char *file, sp_csv_table **t)
{
    sp_status st = rp_table(c, file, t);
    if (st == SP_OK && !*t)
        st = sp_fail(SP_ERR_INPUT,
                     "%s/%s is missing or empty; run `splinter report --force %s` to recompute the analysis",
                     c->analysis, file, c->run);
    return st;
}

/* Loads the tables and picks the grid epsilon of kind opt->eps_kind closest to opt->eps. */
static sp_status tables_load(rp_ctx *c, model_tables *m)
{
    memset(m, 0, sizeof *m);
    sp_status st = required(c, "models.csv", &m->models);
    if (st == SP_OK) st = required(c, "multiplicity.csv", &m->mult);
    if (st == SP_OK) st = required(c, "variants.csv", &m->vars);
    if (st == SP_OK) st = required(c, "examples.csv", &m->examples);
    size_t col[2];
    static const char *const names[2] = {"eps_kind", "eps"};
    if (st == SP_OK) st = rp_columns(m->mult, 2, names, col);
    double best = INFINITY;
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(m->mult); r++) {
        if (strcmp(sp_csv_table_cell(m->mult, r, col[0]), c->opt->eps_kind) != 0) continue;
        double e;
        if ((st = sp_csv_table_f64(m->mult, r, col[1], &e)) != SP_OK) break;
        if (fabs(e - c->opt->eps) < best) {
            best = fabs(e - c->opt->eps);
            snprintf(m->eps, sizeof m->eps, "%s", sp_csv_table_cell(m->mult, r, col[1]));
        }
    }
    if (st == SP_OK && !m->eps[0])
        st = sp_fail(SP_ERR_USAGE, "%s: no rows of epsilon kind '%s'; choose one of loss-abs, loss-rel, error-abs, "
                     "error-rel", sp_csv_table_path(m->mult), c->opt->eps_kind);
    if (st != SP_OK) tables_free(m);
    return st;
}

/* Distinct values of column `name` (rows whose `filter_col` equals filter_val, when filter_col is given). */
static sp_status distinct(const sp_csv_table *t, const char *name, const char *filter_col, const char *filter_val,
                          rp_names *out)
{
    size_t col, fcol = 0;
    sp_status st = sp_csv_table_column(t, name, &col);
    if (st == SP_OK && filter_col) st = sp_csv_table_column(t, filter_col, &fcol);
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
        if (filter_col && strcmp(sp_csv_table_cell(t, r, fcol), filter_val) != 0) continue;
        if (rp_names_add(out, sp_csv_table_cell(t, r, col)) < 0) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    return st;
}

/* variants.csv value/lo/hi of (variant, split, metric). */
static sp_status variant_metric(const sp_csv_table *vars, const char *variant, const char *split, const char *metric,
                                double out[3])
{
    static const char *const keys_cols[3] = {"variant", "split", "metric"}, *const val_cols[3] = {"value", "lo", "hi"};
    size_t kc[3], vc[3];
    sp_status st = rp_columns(vars, 3, keys_cols, kc);
    if (st == SP_OK) st = rp_columns(vars, 3, val_cols, vc);
    if (st != SP_OK) return st;
    const char *keys[3] = {variant, split, metric};
    return read_triple(vars, find_row(vars, 3, kc, keys), vc, out);
}

/* multiplicity.csv <metric>, <metric>_lo, <metric>_hi of (variant, kind, eps, split). */
static sp_status mult_metric(const sp_csv_table *mult, const char *variant, const char *kind, const char *eps,
                             const char *split, const char *metric, double out[3])
{
    static const char *const keys_cols[4] = {"variant", "eps_kind", "eps", "split"};
    char lo[80], hi[80];
    snprintf(lo, sizeof lo, "%s_lo", metric);
    snprintf(hi, sizeof hi, "%s_hi", metric);
    const char *val_cols[3] = {metric, lo, hi};
    size_t kc[4], vc[3];
    sp_status st = rp_columns(mult, 4, keys_cols, kc);
    if (st == SP_OK) st = rp_columns(mult, 3, val_cols, vc);
    if (st != SP_OK) return st;
    const char *keys[4] = {variant, kind, eps, split};
    return read_triple(mult, find_row(mult, 4, kc, keys), vc, out);
}

/* multiplicity.csv column without an interval (n_examples, pool_size) of (variant, kind, eps, split). */
static sp_status mult_plain(const sp_csv_table *mult, const char *variant, const char *kind, const char *eps,
                            const char *split, const char *column, double *out)
{
    static const char *const keys_cols[4] = {"variant", "eps_kind", "eps", "split"};
    size_t kc[4], vc;
    sp_status st = rp_columns(mult, 4, keys_cols, kc);
    if (st == SP_OK) st = sp_csv_table_column(mult, column, &vc);
    if (st != SP_OK) return st;
    const char *keys[4] = {variant, kind, eps, split};
    long r = find_row(mult, 4, kc, keys);
    *out = NAN;
    return r < 0 ? SP_OK : sp_csv_table_f64(mult, (size_t)r, vc, out);
}

/* Variants of the run in models.csv order. */
static sp_status run_variants(const model_tables *m, rp_names *v)
{
    return distinct(m->models, "variant", NULL, NULL, v);
}

/* ---------------------------------------------------------------- summary */

sp_status rp_model_summary(rp_ctx *c)
{
    model_tables m;
    sp_status st = tables_load(c, &m);
    if (st != SP_OK) return st;
    rp_names variants = {0}, models = {0};
    st = run_variants(&m, &variants);
    if (st == SP_OK) st = distinct(m.models, "model", NULL, NULL, &models);
    rp_md(c, "## Summary\n\n");
    if (st == SP_OK) {
        rp_md(c, "%zu models in %zu variant%s (", models.n, variants.n, variants.n == 1 ? "" : "s");
        for (size_t j = 0; j < variants.n; j++) rp_md(c, "%s`%s`", j ? ", " : "", variants.v[j]);
        rp_md(c, "). Accuracy is the fraction of correct predictions; the Rashomon set holds the models within "
                 "epsilon = %s (%s) of the reference model on the validation split; ambiguity is the share of "
                 "examples on which some model of the set disagrees with the reference; Rashomon capacity is the "
                 "mean per-example capacity (1 = every model agrees, 2 = two-class maximum).\n\n",
              m.eps, c->opt->eps_kind);
        rp_md(c, "| variant | split | models | accuracy mean | accuracy sd | Rashomon set size | ambiguity | "
                 "Rashomon capacity | pairwise disagreement |\n|---|---|---|---|---|---|---|---|---|\n");
    }
    for (size_t j = 0; st == SP_OK && j < variants.n; j++) {
        rp_names splits = {0};
        st = distinct(m.models, "split", "variant", variants.v[j], &splits);
        for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
            const char *v = variants.v[j], *s = splits.v[k];
            double acc[3], sd[3], size[3], amb[3], cap[3], pw[3];
            st = variant_metric(m.vars, v, s, "accuracy_mean", acc);
            if (st == SP_OK) st = variant_metric(m.vars, v, s, "accuracy_sd", sd);
            if (st == SP_OK) st = mult_metric(m.mult, v, c->opt->eps_kind, m.eps, s, "set_size", size);
            if (st == SP_OK) st = mult_metric(m.mult, v, c->opt->eps_kind, m.eps, s, "ambiguity", amb);
            if (st == SP_OK) st = mult_metric(m.mult, v, c->opt->eps_kind, m.eps, s, "capacity", cap);
            if (st == SP_OK) st = mult_metric(m.mult, v, c->opt->eps_kind, m.eps, s, "pairwise_disagreement", pw);
            if (st != SP_OK) break;
            double pool = NAN;
            if ((st = mult_plain(m.mult, v, c->opt->eps_kind, m.eps, s, "pool_size", &pool)) != SP_OK) break;
            char a[96], b[96], d[96], e[96], f[96], g[96];
            rp_fmt(a, sizeof a, acc[0], acc[1], acc[2]);
            rp_fmt(b, sizeof b, sd[0], sd[1], sd[2]);
            rp_fmt_count(d, sizeof d, size[0], size[1], size[2]);
            rp_fmt(e, sizeof e, amb[0], amb[1], amb[2]);
            rp_fmt(f, sizeof f, cap[0], cap[1], cap[2]);
            rp_fmt(g, sizeof g, pw[0], pw[1], pw[2]);
            rp_md(c, "| %s | %s%s | %.0f | %s | %s | %s | %s | %s | %s |\n", v, s, rp_is_ood(s) ? " (OOD)" : "", pool,
                  a, b, d, e, f, g);
        }
        rp_names_free(&splits);
    }
    if (st == SP_OK) rp_md(c, "\n");
    rp_names_free(&variants);
    rp_names_free(&models);
    tables_free(&m);
    return st;
}

/* ---------------------------------------------------------------- finetune vs joint */

sp_status rp_model_verdict(rp_ctx *c)
{
    model_tables m;
    sp_status st = tables_load(c, &m);
    if (st != SP_OK) return st;
    rp_names splits = {0};
    st = distinct(m.vars, "split", "variant", DIFF_VARIANT, &splits);
    rp_md(c, "## Fine-tuning vs joint training\n\n");
    if (st == SP_OK && splits.n == 0) {
        rp_names variants = {0};
        st = run_variants(&m, &variants);
        rp_md(c, "This run has no pair of `finetune` and `joint` variants (variants:");
        for (size_t j = 0; j < variants.n; j++) rp_md(c, " `%s`", variants.v[j]);
        rp_md(c, "), so there is no fine-tuning vs joint-training verdict.\n\n");
        rp_names_free(&variants);
    } else if (st == SP_OK) {
        rp_md(c, "Differences finetune − joint of the across-seed statistics (models of each variant resampled "
                 "independently, examples paired):\n\n| split | statistic | finetune − joint | interval vs 0 |\n"
                 "|---|---|---|---|\n");
        static const char *const metrics[3] = {"accuracy_mean", "accuracy_sd", "accuracy_sd_ratio"};
        for (size_t k = 0; st == SP_OK && k < splits.n; k++)
            for (int q = 0; st == SP_OK && q < 3; q++) {
                double d[3];
                if ((st = variant_metric(m.vars, DIFF_VARIANT, splits.v[k], metrics[q], d)) != SP_OK) break;
                if (isnan(d[0]) && isnan(d[1])) continue;
                char t[96];
                rp_fmt(t, sizeof t, d[0], d[1], d[2]);
                rp_md(c, "| %s | %s | %s | %s |\n", splits.v[k], metrics[q], t, rp_sign_phrase(d[1], d[2]));
            }
        rp_md(c, "\n");
        for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
            if (!rp_is_ood(splits.v[k])) continue;
            double d[3];
            if ((st = variant_metric(m.vars, DIFF_VARIANT, splits.v[k], "accuracy_sd", d)) != SP_OK) break;
            char t[96];
            rp_fmt(t, sizeof t, d[0], d[1], d[2]);
            const char *ph = rp_sign_phrase(d[1], d[2]);
            const char *says = "without a bootstrap interval of non-zero width the difference cannot be judged";
            if (strcmp(ph, "above 0") == 0)
                says = "fine-tuned models are more underspecified out of domain (their OOD accuracy varies more "
                       "across seeds)";
            else if (strcmp(ph, "below 0") == 0)
                says = "jointly trained models are more underspecified out of domain (their OOD accuracy varies "
                       "more across seeds)";
            else if (strcmp(ph, "contains 0") == 0)
                says = "no difference in OOD underspecification is detected at this number of seeds";
            rp_md(c, "**Verdict (%s, model level):** accuracy sd finetune − joint = %s, interval %s: %s.\n\n",
                  splits.v[k], t, ph, says);
        }
    }
    rp_names_free(&splits);
    tables_free(&m);
    return st;
}

/* ---------------------------------------------------------------- figures */

/* Series storage for one figure: up to n series of up to cap points each. */
typedef struct {
    sp_plot_series *s;
    double *buf; /* 4 arrays (x, y, lo, hi) of cap per series */
    char (*names)[160];
    size_t n, cap;
} series_set;

static sp_status series_alloc(series_set *ss, size_t n, size_t cap)
{
    ss->n = 0;
    ss->cap = cap ? cap : 1;
    ss->s = calloc(n ? n : 1, sizeof *ss->s);
    ss->buf = calloc((n ? n : 1) * 4 * ss->cap, sizeof *ss->buf);
    ss->names = calloc(n ? n : 1, sizeof *ss->names);
    if (!ss->s || !ss->buf || !ss->names) return sp_fail(SP_ERR_NOMEM, "out of memory drawing the report");
    return SP_OK;
}

static void series_free(series_set *ss)
{
    free(ss->s);
    free(ss->buf);
    free(ss->names);
    memset(ss, 0, sizeof *ss);
}

/* Starts series k (= ss->n) named name; with bands, y_lo/y_hi are set. */
static sp_plot_series *series_next(series_set *ss, const char *name, int bands)
{
    size_t k = ss->n++;
    sp_plot_series *s = &ss->s[k];
    double *b = ss->buf + k * 4 * ss->cap;
    snprintf(ss->names[k], sizeof ss->names[k], "%s", name);
    s->name = ss->names[k];
    s->x = b, s->y = b + ss->cap;
    s->y_lo = bands ? b + 2 * ss->cap : NULL;
    s->y_hi = bands ? b + 3 * ss->cap : NULL;
    s->n = 0;
    return s;
}

static void series_push(sp_plot_series *s, double x, double y, double lo, double hi)
{
    ((double *)s->x)[s->n] = x;
    ((double *)s->y)[s->n] = y;
    if (s->y_lo) ((double *)s->y_lo)[s->n] = lo, ((double *)s->y_hi)[s->n] = hi;
    s->n++;
}

static sp_status fig_accuracy(rp_ctx *c, const model_tables *m, const rp_names *variants)
{
    rp_md(c, "## Accuracy in and out of domain\n\n");
    static const char *const names[4] = {"variant", "model", "split", "accuracy"};
    size_t col[4];
    sp_status st = rp_columns(m->models, 4, names, col);
    rp_names splits = {0};
    if (st == SP_OK) st = distinct(m->models, "split", NULL, NULL, &splits);
    size_t n_ood = 0;
    for (size_t k = 0; k < splits.n; k++) n_ood += rp_is_ood(splits.v[k]);
    if (st == SP_OK && (n_ood == 0 || rp_names_find(&splits, "test") < 0)) {
        st = rp_skip(c, "ID vs OOD accuracy needs a `test` and an `ood-*` split; models.csv has %s",
                     n_ood ? "no test split" : "no OOD split");
        rp_names_free(&splits);
        return st;
    }
    series_set ss = {0};
    size_t rows = sp_csv_table_rows(m->models);
    if (st == SP_OK) st = series_alloc(&ss, variants->n * n_ood, rows);
    for (size_t j = 0; st == SP_OK && j < variants->n; j++)
        for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
            if (!rp_is_ood(splits.v[k])) continue;
            char name[160];
            if (n_ood > 1) snprintf(name, sizeof name, "%s, %s", variants->v[j], splits.v[k]);
            else snprintf(name, sizeof name, "%s", variants->v[j]);
            sp_plot_series *s = series_next(&ss, name, 0);
            for (size_t r = 0; st == SP_OK && r < rows; r++) {
                if (strcmp(sp_csv_table_cell(m->models, r, col[0]), variants->v[j]) != 0 ||
                    strcmp(sp_csv_table_cell(m->models, r, col[2]), splits.v[k]) != 0)
                    continue;
                const char *keys[3] = {variants->v[j], sp_csv_table_cell(m->models, r, col[1]), "test"};
                long t = find_row(m->models, 3, col, keys);
                double x = NAN, y = NAN;
                if (t >= 0) st = sp_csv_table_f64(m->models, (size_t)t, col[3], &x);
                if (st == SP_OK) st = sp_csv_table_f64(m->models, r, col[3], &y);
                series_push(s, x, y, NAN, NAN);
            }
        }
    if (st == SP_OK) {
        char stem[4400];
        rp_stem(c, stem, sizeof stem, "accuracy_id_ood");
        sp_plot_axes ax = sp_plot_axes_default("Accuracy of each model: in domain (test) vs out of domain",
                                               "ID test accuracy (fraction correct)",
                                               "OOD accuracy (fraction correct)");
        ax.key = "outside right top";
        st = sp_plot_xy(stem, &ax, SP_PLOT_POINTS, ss.n, ss.s);
        if (st == SP_OK)
            st = rp_figure(c, "accuracy_id_ood",
                           "ID test accuracy vs OOD accuracy, one point per model, colour = variant");
    }
    series_free(&ss);
    rp_names_free(&splits);
    return st;
}

static sp_status fig_rashomon(rp_ctx *c, const model_tables *m, const rp_names *variants)
{
    rp_md(c, "## Rashomon sets\n\n");
    static const char *const names[4] = {"variant", "eps_kind", "eps", "split"};
    size_t col[4];
    sp_status st = rp_columns(m->mult, 4, names, col);
    rp_names splits = {0};
    if (st == SP_OK) st = distinct(m->mult, "split", NULL, NULL, &splits);
    series_set ss = {0};
    size_t rows = sp_csv_table_rows(m->mult);
    for (int fig = 0; st == SP_OK && fig < 2; fig++) {
        const char *metric = fig == 0 ? "set_size" : "ambiguity";
        char lo[64], hi[64];
        snprintf(lo, sizeof lo, "%s_lo", metric);
        snprintf(hi, sizeof hi, "%s_hi", metric);
        const char *vnames[3] = {metric, lo, hi};
        size_t vc[3];
        if ((st = rp_columns(m->mult, 3, vnames, vc)) != SP_OK) break;
        /* The set does not depend on the evaluation split (it is formed on validation): one series per variant. */
        size_t n_series = fig == 0 ? variants->n : variants->n * splits.n;
        if ((st = series_alloc(&ss, n_series, rows)) != SP_OK) break;
        for (size_t j = 0; st == SP_OK && j < variants->n; j++)
            for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
                char name[160];
                snprintf(name, sizeof name, "%s, %s", variants->v[j], splits.v[k]);
                sp_plot_series *s = NULL;
                for (size_t r = 0; st == SP_OK && r < rows; r++) {
                    if (strcmp(sp_csv_table_cell(m->mult, r, col[0]), variants->v[j]) != 0 ||
                        strcmp(sp_csv_table_cell(m->mult, r, col[1]), c->opt->eps_kind) != 0 ||
                        strcmp(sp_csv_table_cell(m->mult, r, col[3]), splits.v[k]) != 0)
                        continue;
                    if (!s) s = series_next(&ss, fig == 0 ? variants->v[j] : name, 1);
                    double e, t[3];
                    if ((st = sp_csv_table_f64(m->mult, r, col[2], &e)) == SP_OK)
                        st = read_triple(m->mult, (long)r, vc, t);
                    series_push(s, e, t[0], t[1], t[2]);
                }
                if (fig == 0 && s) break; /* first split with rows is enough for the set size */
            }
        if (st == SP_OK) {
            char stem[4400], title[200], xlabel[200];
            const char *file = fig == 0 ? "rashomon_set_size" : "rashomon_ambiguity";
            rp_stem(c, stem, sizeof stem, file);
            snprintf(title, sizeof title, fig == 0 ? "Rashomon set size vs epsilon (%s)" : "Ambiguity vs epsilon (%s)",
                     c->opt->eps_kind);
            snprintf(xlabel, sizeof xlabel, "epsilon (%s%s)", c->opt->eps_kind,
                     strncmp(c->opt->eps_kind, "loss", 4) == 0 ? ": validation loss above the reference's, nats"
                                                               : ": validation error above the reference's");
            sp_plot_axes ax = sp_plot_axes_default(
                title, xlabel, fig == 0 ? "models in the Rashomon set" : "ambiguity (share of examples)");
            ax.y_min = 0;
            if (fig == 0) {
                /* Room above the full pool, so its line does not sit on the frame. */
                double top = 1;
                for (size_t q = 0; q < ss.n; q++)
                    for (size_t i = 0; i < ss.s[q].n; i++) top = fmax(top, fmax(ss.s[q].y[i], ss.s[q].y_hi[i]));
                ax.y_max = top + 0.5;
            }
            ax.key = fig == 0 ? "bottom right" : "outside right top";
            st = sp_plot_xy(stem, &ax, SP_PLOT_LINES, ss.n, ss.s);
            if (st == SP_OK)
                st = rp_figure(c, file,
                               fig == 0 ? "Rashomon set size vs epsilon per variant, shaded: bootstrap interval"
                                        : "Ambiguity vs epsilon per variant and split, shaded: bootstrap interval");
        }
        series_free(&ss);
    }
    series_free(&ss);
    rp_names_free(&splits);
    return st;
}

static sp_status fig_examples(rp_ctx *c, const model_tables *m, const rp_names *variants)
{
    rp_md(c, "## Per-example multiplicity\n\n");
    static const char *const names[5] = {"variant", "split", "vpr_low", "vpr_high", "capacity"};
    size_t col[5];
    sp_status st = rp_columns(m->examples, 5, names, col);
    size_t rows = sp_csv_table_rows(m->examples);
    double *width = malloc((rows ? rows : 1) * sizeof *width), *cap = malloc((rows ? rows : 1) * sizeof *cap);
    if (!width || !cap) st = sp_fail(SP_ERR_NOMEM, "out of memory drawing the report");
    for (size_t j = 0; st == SP_OK && j < variants->n; j++) {
        rp_names splits = {0};
        st = distinct(m->examples, "split", "variant", variants->v[j], &splits);
        /* Rows of one split are contiguous in examples.csv; collect each split's slice. */
        size_t *start = calloc(splits.n + 1, sizeof *start), *count = calloc(splits.n + 1, sizeof *count);
        const double **wv = calloc(splits.n + 1, sizeof *wv), **cv = calloc(splits.n + 1, sizeof *cv);
        const char **labels = calloc(splits.n + 1, sizeof *labels);
        char (*label_buf)[96] = calloc(splits.n + 1, sizeof *label_buf);
        if (!start || !count || !wv || !cv || !labels || !label_buf) st = sp_fail(SP_ERR_NOMEM, "out of memory");
        size_t used = 0;
        double cap_max = 1.0, width_max = 0.0;
        for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
            start[k] = used;
            for (size_t r = 0; st == SP_OK && r < rows; r++) {
                if (strcmp(sp_csv_table_cell(m->examples, r, col[0]), variants->v[j]) != 0 ||
                    strcmp(sp_csv_table_cell(m->examples, r, col[1]), splits.v[k]) != 0)
                    continue;
                double lo, hi;
                if ((st = sp_csv_table_f64(m->examples, r, col[2], &lo)) != SP_OK ||
                    (st = sp_csv_table_f64(m->examples, r, col[3], &hi)) != SP_OK ||
                    (st = sp_csv_table_f64(m->examples, r, col[4], &cap[used])) != SP_OK)
                    break;
                width[used] = hi - lo;
                if (isfinite(cap[used]) && cap[used] > cap_max) cap_max = cap[used];
                if (isfinite(width[used]) && width[used] > width_max) width_max = width[used];
                used++;
            }
            count[k] = used - start[k];
            wv[k] = width + start[k];
            cv[k] = cap + start[k];
            snprintf(label_buf[k], sizeof label_buf[k], "%s%s (%zu examples)", splits.v[k],
                     rp_is_ood(splits.v[k]) ? " OOD" : strcmp(splits.v[k], "test") == 0 ? " ID" : "", count[k]);
            labels[k] = label_buf[k];
        }
        /* The axes end at the largest value (rounded up to 0.05): models that mostly agree would otherwise leave
         * every bar in the first bin of the full [0, 1] or [1, C] range. */
        width_max = fmin(1.0, fmax(0.05, ceil(width_max * 20.0 - 1e-9) / 20.0));
        cap_max = fmax(1.05, 1.0 + ceil((cap_max - 1.0) * 20.0 - 1e-9) / 20.0);
        char safe[128], file[200], stem[4400], title[256], caption[256];
        sp_safe_name(safe, sizeof safe, variants->v[j]);
        if (st == SP_OK) {
            snprintf(file, sizeof file, "vpr_width_%s", safe);
            rp_stem(c, stem, sizeof stem, file);
            snprintf(title, sizeof title, "Viable prediction range width per example, variant %s", variants->v[j]);
            sp_plot_axes ax = sp_plot_axes_default(title, "width of the viable prediction range (max - min probability "
                                                   "over the models)", "fraction of examples");
            st = sp_plot_histograms(stem, &ax, splits.n, labels, wv, count, 25, 0.0, width_max);
            snprintf(caption, sizeof caption, "Viable prediction range widths, %s: ID test vs OOD", variants->v[j]);
            if (st == SP_OK) st = rp_figure(c, file, caption);
        }
        if (st == SP_OK) {
            snprintf(file, sizeof file, "capacity_%s", safe);
            rp_stem(c, stem, sizeof stem, file);
            snprintf(title, sizeof title, "Rashomon capacity per example, variant %s", variants->v[j]);
            sp_plot_axes ax = sp_plot_axes_default(title, "Rashomon capacity (1 = all models agree)",
                                                   "fraction of examples");
            st = sp_plot_histograms(stem, &ax, splits.n, labels, cv, count, 25, 1.0, cap_max);
            snprintf(caption, sizeof caption, "Rashomon capacity per example, %s: ID test vs OOD", variants->v[j]);
            if (st == SP_OK) st = rp_figure(c, file, caption);
        }
        free(start), free(count), free(wv), free(cv), free(labels), free(label_buf);
        rp_names_free(&splits);
    }
    free(width);
    free(cap);
    return st;
}

/* One M x M pairwise-disagreement matrix of `variant` on `split` from pairwise_<split>.csv (diagonal 0).
 * *found = 0 when the file or the variant's rows are missing. */
static sp_status pairwise_matrix(rp_ctx *c, const char *variant, const char *split, const rp_names *models,
                                 double *mat, int *found)
{
    char safe[128], file[200];
    sp_safe_name(safe, sizeof safe, split);
    snprintf(file, sizeof file, "pairwise_%s.csv", safe);
    sp_csv_table *t = NULL;
    *found = 0;
    sp_status st = rp_table(c, file, &t);
    if (st != SP_OK || !t) return st;
    static const char *const names[4] = {"variant", "model_a", "model_b", "disagreement"};
    size_t col[4];
    st = rp_columns(t, 4, names, col);
    size_t M = models->n;
    for (size_t i = 0; i < M * M; i++) mat[i] = i % (M + 1) == 0 ? 0.0 : NAN;
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
        if (strcmp(sp_csv_table_cell(t, r, col[0]), variant) != 0) continue;
        long a = rp_names_find(models, sp_csv_table_cell(t, r, col[1]));
        long b = rp_names_find(models, sp_csv_table_cell(t, r, col[2]));
        double d;
        if (a < 0 || b < 0 || (st = sp_csv_table_f64(t, r, col[3], &d)) != SP_OK) continue;
        mat[(size_t)a * M + (size_t)b] = mat[(size_t)b * M + (size_t)a] = d;
        *found = 1;
    }
    sp_csv_table_free(t);
    return st;
}

/* "Models by index: 0 = a, 1 = b, ..." under a heatmap, so the axes can be read. */
void rp_model_index_line(rp_ctx *c, const rp_names *models)
{
    rp_md(c, "Models by heatmap index:");
    for (size_t i = 0; i < models->n; i++) rp_md(c, " %zu = `%s`%s", i, models->v[i], i + 1 < models->n ? "," : ".");
    rp_md(c, "\n\n");
}

static sp_status fig_pairwise(rp_ctx *c, const model_tables *m, const rp_names *variants)
{
    rp_md(c, "## Pairwise disagreement\n\n");
    sp_status st = SP_OK;
    for (size_t j = 0; st == SP_OK && j < variants->n; j++) {
        rp_names models = {0}, splits = {0};
        st = distinct(m->models, "model", "variant", variants->v[j], &models);
        if (st == SP_OK) st = distinct(m->models, "split", "variant", variants->v[j], &splits);
        size_t M = models.n;
        double *mats = st == SP_OK ? malloc((splits.n ? splits.n : 1) * M * M * sizeof *mats) : NULL;
        const double **panels = calloc(splits.n + 1, sizeof *panels);
        const char **titles = calloc(splits.n + 1, sizeof *titles);
        char (*tbuf)[96] = calloc(splits.n + 1, sizeof *tbuf);
        if (st == SP_OK && (!mats || !panels || !titles || !tbuf)) st = sp_fail(SP_ERR_NOMEM, "out of memory");
        size_t n_panels = 0;
        double zmax = 0;
        for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
            int found;
            double *mat = mats + n_panels * M * M;
            st = pairwise_matrix(c, variants->v[j], splits.v[k], &models, mat, &found);
            if (st != SP_OK || !found) continue;
            for (size_t i = 0; i < M * M; i++)
                if (isfinite(mat[i]) && mat[i] > zmax) zmax = mat[i];
            snprintf(tbuf[n_panels], sizeof tbuf[n_panels], "%s%s", splits.v[k],
                     rp_is_ood(splits.v[k]) ? " (OOD)" : strcmp(splits.v[k], "test") == 0 ? " (ID)" : "");
            titles[n_panels] = tbuf[n_panels];
            panels[n_panels++] = mat;
        }
        if (st == SP_OK && (n_panels == 0 || M < 2)) {
            st = rp_skip(c, "pairwise disagreement of %s needs two models and a pairwise_<split>.csv", variants->v[j]);
        } else if (st == SP_OK) {
            char safe[128], file[200], stem[4400], title[256], caption[256];
            sp_safe_name(safe, sizeof safe, variants->v[j]);
            snprintf(file, sizeof file, "disagreement_%s", safe);
            rp_stem(c, stem, sizeof stem, file);
            snprintf(title, sizeof title, "Pairwise disagreement of the %s models", variants->v[j]);
            st = sp_plot_heatmaps(stem, title, "share of examples predicted differently", n_panels, titles, panels, M,
                                  0.0, zmax > 0 ? zmax : 1.0);
            snprintf(caption, sizeof caption, "Pairwise disagreement, %s: ID test and OOD side by side",
                     variants->v[j]);
            if (st == SP_OK) st = rp_figure(c, file, caption);
            if (st == SP_OK) rp_model_index_line(c, &models);
        }
        free(mats), free(panels), free(titles), free(tbuf);
        rp_names_free(&models);
        rp_names_free(&splits);
    }
    return st;
}

static sp_status fig_variance(rp_ctx *c, const model_tables *m, const rp_names *variants)
{
    rp_md(c, "## Variance decomposition\n\n");
    rp_names splits = {0};
    sp_status st = distinct(m->vars, "split", "metric", "accuracy_share_pretrain", &splits);
    if (st == SP_OK && splits.n == 0) {
        st = rp_skip(c, "no variant has fine-tuning seeds nested in shared pretraining seeds, so accuracy variance "
                        "cannot be split into a pretraining-seed and a fine-tuning-seed part");
        rp_names_free(&splits);
        return st;
    }
    series_set ss = {0};
    if (st == SP_OK) st = series_alloc(&ss, variants->n, splits.n);
    if (st == SP_OK)
        rp_md(c, "Accuracy variance across models split by a one-way random-effects ANOVA into the part between "
                 "pretraining seeds and the part between fine-tuning seeds within one pretraining seed.\n\n"
                 "| variant | split | variance (pretraining seed) | variance (fine-tuning seed) | "
                 "share of pretraining |\n"
                 "|---|---|---|---|---|\n");
    /* Variants with a decomposition are drawn side by side around each split's tic. */
    size_t n_with = 0;
    rp_names with = {0};
    if (st == SP_OK) st = distinct(m->vars, "variant", "metric", "accuracy_share_pretrain", &with);
    n_with = with.n;
    for (size_t j = 0; st == SP_OK && j < variants->n; j++) {
        sp_plot_series *s = NULL;
        long slot = rp_names_find(&with, variants->v[j]);
        if (slot < 0) continue;
        for (size_t k = 0; st == SP_OK && k < splits.n; k++) {
            double pre[3], fin[3], share[3];
            if ((st = variant_metric(m->vars, variants->v[j], splits.v[k], "accuracy_var_pretrain", pre)) != SP_OK ||
                (st = variant_metric(m->vars, variants->v[j], splits.v[k], "accuracy_var_finetune", fin)) != SP_OK ||
                (st = variant_metric(m->vars, variants->v[j], splits.v[k], "accuracy_share_pretrain", share)) != SP_OK)
                break;
            if (isnan(share[0]) && isnan(pre[0])) continue;
            char a[96], b[96], d[96];
            rp_fmt(a, sizeof a, pre[0], pre[1], pre[2]);
            rp_fmt(b, sizeof b, fin[0], fin[1], fin[2]);
            rp_fmt(d, sizeof d, share[0], share[1], share[2]);
            rp_md(c, "| %s | %s | %s | %s | %s |\n", variants->v[j], splits.v[k], a, b, d);
            if (!s) s = series_next(&ss, variants->v[j], 1);
            double off = n_with > 1 ? 0.15 * ((double)slot - 0.5 * (double)(n_with - 1)) : 0.0;
            series_push(s, (double)k + off, share[0], isnan(share[1]) ? share[0] : share[1],
                        isnan(share[2]) ? share[0] : share[2]);
        }
    }
    if (st == SP_OK) {
        rp_md(c, "\n");
        char stem[4400];
        rp_stem(c, stem, sizeof stem, "variance_share_pretrain");
        sp_plot_axes ax = sp_plot_axes_default("Share of accuracy variance due to the pretraining seed", "split",
                                               "share of variance (pretraining seed)");
        ax.x_labels = (const char *const *)splits.v;
        ax.n_x_labels = splits.n;
        ax.y_min = -0.05, ax.y_max = 1.05; /* a share in [0, 1], its ends visible */
        st = sp_plot_xy(stem, &ax, SP_PLOT_ERRORBARS, ss.n, ss.s);
        if (st == SP_OK)
            st = rp_figure(c, "variance_share_pretrain",
                           "Share of accuracy variance due to the pretraining seed per split, bars: bootstrap "
                           "interval");
    }
    series_free(&ss);
    rp_names_free(&with);
    rp_names_free(&splits);
    return st;
}

sp_status rp_model_figures(rp_ctx *c)
{
    model_tables m;
    sp_status st = tables_load(c, &m);
    if (st != SP_OK) return st;
    rp_names variants = {0};
    st = run_variants(&m, &variants);
    if (st == SP_OK) st = fig_accuracy(c, &m, &variants);
    if (st == SP_OK) st = fig_rashomon(c, &m, &variants);
    if (st == SP_OK) st = fig_examples(c, &m, &variants);
    if (st == SP_OK) st = fig_pairwise(c, &m, &variants);
    if (st == SP_OK) st = fig_variance(c, &m, &variants);
    rp_names_free(&variants);
    tables_free(&m);
    return st;
}
