/* report_feature.c: the feature-level sections of report.md: the finetune-vs-joint splintering verdict, CKA
 * heatmaps per layer (ID vs OOD), splintering per layer with intervals and the model-vs-feature 2x2 tables,
 * read from the CSVs of analysis/splinter_run.c and splinter_summary.c (columns in docs/splintering.md). A run
 * whose models store no activations has none of these files: each section then says so in one line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "fsutil.h"
#include "report_internal.h"

sp_status rp_feature_verdict(rp_ctx *c)
{
    sp_csv_table *t = NULL;
    sp_status st = rp_table(c, "splinter_compare.csv", &t);
    if (st != SP_OK) return st;
    if (!t) {
        rp_md(c, "*Feature level: no `splinter_compare.csv` (the models store no activations, or fewer than two "
                 "variants have them), so no feature-splintering comparison.*\n\n");
        return SP_OK;
    }
    static const char *const names[9] = {"ood_split", "layer", "pooling", "measure", "variant_a",
                                         "variant_b", "diff", "lo", "hi"};
    size_t col[9];
    rp_names layers = {0}, poolings = {0};
    st = rp_columns(t, 9, names, col);
    if (st == SP_OK) st = rp_column_values(t, "pooling", &poolings);
    const char *pooling = rp_pick_pooling(&poolings);
    if (st == SP_OK) st = rp_layers_in_order(t, "pooling", pooling, &layers);
    int any = 0;
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
        if (strcmp(sp_csv_table_cell(t, r, col[4]), "finetune") != 0 ||
            strcmp(sp_csv_table_cell(t, r, col[5]), "joint") != 0 ||
            strcmp(sp_csv_table_cell(t, r, col[2]), pooling) != 0)
            continue;
        const char *measure = sp_csv_table_cell(t, r, col[3]);
        if (strcmp(measure, "s_rep_cka") != 0 && strcmp(measure, "s_beh") != 0) continue;
        if (!any) {
            rp_md(c, "Feature splintering, finetune − joint (%s pooling; `s_rep_cka` = drop of linear CKA from ID to "
                     "OOD, `s_beh` = rise of prediction disagreement from ID to OOD, among pairs that agree in "
                     "domain):\n\n| OOD split | layer | measure | finetune − joint | interval vs 0 |\n"
                     "|---|---|---|---|---|\n", pooling);
            any = 1;
        }
        double d[3];
        for (int k = 0; k < 3 && st == SP_OK; k++) st = sp_csv_table_f64(t, r, col[6 + k], &d[k]);
        char txt[96];
        rp_fmt(txt, sizeof txt, d[0], d[1], d[2]);
        rp_md(c, "| %s | %s | %s | %s | %s |\n", sp_csv_table_cell(t, r, col[0]), sp_csv_table_cell(t, r, col[1]),
              measure, txt, rp_sign_phrase(d[1], d[2]));
    }
    if (st == SP_OK && !any)
        rp_md(c, "*Feature level: `splinter_compare.csv` has no finetune − joint rows (no pair of `finetune` and "
                 "`joint` variants with activations).*\n\n");
    /* The verdict is read at the deepest layer, where fine-tuning changes the representation most. */
    if (st == SP_OK && any && layers.n) {
        rp_md(c, "\n");
        const char *deep = layers.v[layers.n - 1];
        for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
            if (strcmp(sp_csv_table_cell(t, r, col[4]), "finetune") != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[5]), "joint") != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[2]), pooling) != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[1]), deep) != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[3]), "s_rep_cka") != 0)
                continue;
            double d[3];
            for (int k = 0; k < 3 && st == SP_OK; k++) st = sp_csv_table_f64(t, r, col[6 + k], &d[k]);
            char txt[96];
            rp_fmt(txt, sizeof txt, d[0], d[1], d[2]);
            const char *ph = rp_sign_phrase(d[1], d[2]);
            const char *says = "without a bootstrap interval of non-zero width (too few agreeing pairs) it cannot "
                               "be judged";
            if (strcmp(ph, "above 0") == 0) says = "fine-tuned models splinter more out of domain";
            else if (strcmp(ph, "below 0") == 0) says = "jointly trained models splinter more out of domain";
            else if (strcmp(ph, "contains 0") == 0) says = "no difference in feature splintering is detected";
            rp_md(c,
                  "**Verdict (%s, feature level, layer %s):** CKA drop finetune − joint = %s, interval %s: %s.\n\n",
                  sp_csv_table_cell(t, r, col[0]), deep, txt, ph, says);
        }
    }
    if (st == SP_OK && any) rp_md(c, "\n");
    rp_names_free(&layers);
    rp_names_free(&poolings);
    sp_csv_table_free(t);
    return st;
}

/* The columns of similarity.csv the heatmaps read, in this order. */
enum { SIM_SPLIT, SIM_LAYER, SIM_POOLING, SIM_MEASURE, SIM_A, SIM_B, SIM_VALUE, SIM_NCOLS };

/* One heatmap figure cka_<variant>_<layer>: linear CKA between the models ms of one variant at one layer, ID
 * test and every OOD split side by side, colours on [zmin, 1] (shared by the variant's layers so they compare). */
static sp_status cka_figure(rp_ctx *c, const sp_csv_table *t, const size_t *col, const rp_names *splits,
                            const rp_names *ms, const char *variant, const char *layer, const char *pooling,
                            double zmin)
{
    const size_t M = ms->n;
    double *mats = malloc((splits->n ? splits->n : 1) * (M ? M * M : 1) * sizeof *mats);
    const double **panels = calloc(splits->n + 1, sizeof *panels);
    const char **titles = calloc(splits->n + 1, sizeof *titles);
    char (*tbuf)[96] = calloc(splits->n + 1, sizeof *tbuf);
    sp_status st = mats && panels && titles && tbuf ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory");
    size_t n_panels = 0;
    for (size_t k = 0; st == SP_OK && k < splits->n; k++) {
        double *mat = mats + n_panels * M * M;
        for (size_t i = 0; i < M * M; i++) mat[i] = NAN;
        int found = 0;
        for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
            if (strcmp(sp_csv_table_cell(t, r, col[SIM_SPLIT]), splits->v[k]) != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[SIM_LAYER]), layer) != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[SIM_POOLING]), pooling) != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[SIM_MEASURE]), "cka") != 0)
                continue;
            long a = rp_names_find(ms, sp_csv_table_cell(t, r, col[SIM_A]));
            long b = rp_names_find(ms, sp_csv_table_cell(t, r, col[SIM_B]));
            if (a < 0 || b < 0) continue;
            double v;
            if ((st = sp_csv_table_f64(t, r, col[SIM_VALUE], &v)) != SP_OK) break;
            mat[(size_t)a * M + (size_t)b] = v;
            found = 1;
        }
        if (!found) continue;
        snprintf(tbuf[n_panels], sizeof tbuf[n_panels], "%s%s", splits->v[k],
                 rp_is_ood(splits->v[k]) ? " (OOD)" : strcmp(splits->v[k], "test") == 0 ? " (ID)" : "");
        titles[n_panels] = tbuf[n_panels];
        panels[n_panels++] = mat;
    }
    if (st == SP_OK && (n_panels == 0 || M < 2)) {
        st = rp_skip(c, "no CKA values for the %s models at layer %s", variant, layer);
    } else if (st == SP_OK) {
        char safe_v[128], safe_l[128], file[300], stem[4400], title[256], caption[256];
        sp_safe_name(safe_v, sizeof safe_v, variant);
        sp_safe_name(safe_l, sizeof safe_l, layer);
        snprintf(file, sizeof file, "cka_%s_%s", safe_v, safe_l);
        rp_stem(c, stem, sizeof stem, file);
        snprintf(title, sizeof title, "Linear CKA between the %s models, layer %s (%s)", variant, layer, pooling);
        st = sp_plot_heatmaps(stem, title, "linear CKA (1 = same representation)", n_panels, titles, panels, M,
                              zmin, 1.0);
        snprintf(caption, sizeof caption, "Linear CKA, %s, layer %s: ID test and OOD side by side", variant, layer);
        if (st == SP_OK) st = rp_figure(c, file, caption);
    }
    free(mats), free(panels), free(titles), free(tbuf);
    return st;
}

/* CKA heatmaps per variant and layer (shallow to deep): ID test and every OOD split side by side. */
static sp_status fig_cka(rp_ctx *c)
{
    rp_md(c, "## Representation similarity\n\n");
    sp_csv_table *t = NULL;
    sp_status st = rp_table(c, "similarity.csv", &t);
    if (st != SP_OK) return st;
    if (!t) return rp_skip(c, "CKA heatmaps need `similarity.csv`, written only for models that store activations");
    static const char *const names[SIM_NCOLS] = {"split", "layer", "pooling", "measure", "model_a", "model_b", "value"};
    size_t col[SIM_NCOLS];
    rp_names layers = {0}, poolings = {0}, splits = {0};
    st = rp_columns(t, SIM_NCOLS, names, col);
    if (st == SP_OK) st = rp_column_values(t, "pooling", &poolings);
    if (st == SP_OK) st = rp_column_values(t, "split", &splits);
    const char *pooling = rp_pick_pooling(&poolings);
    if (st == SP_OK) st = rp_layers_in_order(t, "pooling", pooling, &layers);
    if (st == SP_OK)
        rp_md(c, "Linear CKA between every two models of a variant, one figure per layer (%s pooling), the ID test "
                 "split and each OOD split side by side: a drop from ID to OOD is representational splintering. "
                 "The colour scale is shared by a variant's layers.\n\n", pooling);
    /* Models per variant from models.csv (similarity.csv has no variant column). */
    sp_csv_table *models = NULL;
    rp_names variants = {0};
    if (st == SP_OK) st = rp_table(c, "models.csv", &models);
    size_t mcol[2] = {0, 0};
    static const char *const mnames[2] = {"variant", "model"};
    if (st == SP_OK && models) st = rp_columns(models, 2, mnames, mcol);
    if (st == SP_OK && models) st = rp_column_values(models, "variant", &variants);
    for (size_t j = 0; st == SP_OK && j < variants.n; j++) {
        rp_names ms = {0};
        for (size_t r = 0; r < sp_csv_table_rows(models); r++)
            if (strcmp(sp_csv_table_cell(models, r, mcol[0]), variants.v[j]) == 0 &&
                rp_names_add(&ms, sp_csv_table_cell(models, r, mcol[1])) < 0)
                st = sp_fail(SP_ERR_NOMEM, "out of memory");
        /* The lowest CKA of this variant's pairs over all layers and splits: the shared colour range. */
        double zmin = 1.0;
        for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
            if (strcmp(sp_csv_table_cell(t, r, col[SIM_POOLING]), pooling) != 0 ||
                strcmp(sp_csv_table_cell(t, r, col[SIM_MEASURE]), "cka") != 0 ||
                rp_names_find(&ms, sp_csv_table_cell(t, r, col[SIM_A])) < 0 ||
                rp_names_find(&ms, sp_csv_table_cell(t, r, col[SIM_B])) < 0)
                continue;
            double v;
            if ((st = sp_csv_table_f64(t, r, col[SIM_VALUE], &v)) == SP_OK && isfinite(v) && v < zmin) zmin = v;
        }
        if (zmin >= 1.0) zmin = 0.0;
        size_t drawn = c->res->n_figures;
        for (size_t l = 0; st == SP_OK && l < layers.n; l++)
            st = cka_figure(c, t, col, &splits, &ms, variants.v[j], layers.v[l], pooling, zmin);
        if (st == SP_OK && c->res->n_figures > drawn) rp_model_index_line(c, &ms);
        rp_names_free(&ms);
    }
    rp_names_free(&variants);
    rp_names_free(&layers);
    rp_names_free(&poolings);
    rp_names_free(&splits);
    sp_csv_table_free(models);
    sp_csv_table_free(t);
    return st;
}

/* Splintering per layer (x) per variant and OOD split, means with bootstrap intervals. */
static sp_status fig_layers(rp_ctx *c, const sp_csv_table *t, const char *measure, const char *ylabel,
                            const char *title, const char *file)
{
    static const char *const names[9] = {"variant", "ood_split", "layer", "pooling", "measure",
                                         "n_pairs", "mean", "lo", "hi"};
    size_t col[9];
    rp_names variants = {0}, oods = {0}, layers = {0}, poolings = {0};
    sp_status st = rp_columns(t, 9, names, col);
    if (st == SP_OK) st = rp_column_values(t, "variant", &variants);
    if (st == SP_OK) st = rp_column_values(t, "ood_split", &oods);
    if (st == SP_OK) st = rp_column_values(t, "pooling", &poolings);
    const char *pooling = rp_pick_pooling(&poolings);
    if (st == SP_OK) st = rp_layers_in_order(t, NULL, NULL, &layers);
    size_t n_series = variants.n * oods.n;
    sp_plot_series *series = calloc(n_series + 1, sizeof *series);
    double *buf = calloc((n_series + 1) * 4 * (layers.n + 1), sizeof *buf);
    char (*sname)[160] = calloc(n_series + 1, sizeof *sname);
    if (st == SP_OK && (!series || !buf || !sname)) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    size_t ns = 0, L = layers.n + 1;
    for (size_t j = 0; st == SP_OK && j < variants.n; j++)
        for (size_t o = 0; st == SP_OK && o < oods.n; o++) {
            sp_plot_series *s = &series[ns];
            double *x = buf + ns * 4 * L, *y = x + L, *lo = y + L, *hi = lo + L;
            if (oods.n > 1) snprintf(sname[ns], sizeof sname[ns], "%s, %s", variants.v[j], oods.v[o]);
            else snprintf(sname[ns], sizeof sname[ns], "%s", variants.v[j]);
            *s = (sp_plot_series){.name = sname[ns], .x = x, .y = y, .y_lo = lo, .y_hi = hi};
            double off = n_series > 1 ? 0.12 * ((double)ns - 0.5 * (double)(n_series - 1)) : 0.0;
            for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
                if (strcmp(sp_csv_table_cell(t, r, col[0]), variants.v[j]) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, col[1]), oods.v[o]) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, col[3]), pooling) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, col[4]), measure) != 0)
                    continue;
                long l = rp_names_find(&layers, sp_csv_table_cell(t, r, col[2]));
                double v[3];
                for (int k = 0; k < 3 && st == SP_OK; k++) st = sp_csv_table_f64(t, r, col[6 + k], &v[k]);
                if (st != SP_OK || s->n >= L) break;
                /* Without an interval (bootstrap off or one pair) the bar collapses onto the mean. */
                x[s->n] = (double)l + off, y[s->n] = v[0];
                lo[s->n] = isnan(v[1]) ? v[0] : v[1], hi[s->n] = isnan(v[2]) ? v[0] : v[2];
                s->n++;
            }
            if (s->n) ns++;
        }
    if (st == SP_OK && ns == 0) {
        st = rp_skip(c, "`splinter_variants.csv` has no `%s` rows", measure);
    } else if (st == SP_OK) {
        char stem[4400], full_title[256];
        rp_stem(c, stem, sizeof stem, file);
        snprintf(full_title, sizeof full_title, "%s (%s pooling)", title, pooling);
        sp_plot_axes ax = sp_plot_axes_default(full_title, "layer (shallow to deep)", ylabel);
        ax.x_labels = (const char *const *)layers.v;
        ax.n_x_labels = layers.n;
        ax.key = "outside right top";
        st = sp_plot_xy(stem, &ax, SP_PLOT_ERRORBARS, ns, series);
        char caption[256];
        snprintf(caption, sizeof caption, "%s per layer and variant, bars: bootstrap interval over seeds", title);
        if (st == SP_OK) st = rp_figure(c, file, caption);
    }
    free(series), free(buf), free(sname);
    rp_names_free(&variants);
    rp_names_free(&oods);
    rp_names_free(&layers);
    rp_names_free(&poolings);
    return st;
}

/* The model-level vs feature-level 2x2 tables as one markdown table. */
static sp_status table_2x2(rp_ctx *c)
{
    sp_csv_table *t = NULL;
    sp_status st = rp_table(c, "splinter_2x2.csv", &t);
    if (st != SP_OK) return st;
    if (!t) {
        rp_md(c, "*No model-vs-feature 2x2 tables: no `splinter_2x2.csv`.*\n\n");
        return SP_OK;
    }
    static const char *const names[10] = {"variant", "ood_split", "layer", "pooling", "n_pairs",
                                          "pred_agree_feat_agree", "pred_agree_feat_split",
                                          "pred_split_feat_agree", "pred_split_feat_split", "spearman_sbeh_srep"};
    size_t col[10];
    st = rp_columns(t, 10, names, col);
    if (st == SP_OK)
        rp_md(c, "### Model level vs feature level (2x2)\n\nAmong the pairs of one variant that agree in domain: "
                 "predictions agree OOD when `s_beh` <= tau_beh, features agree OOD when `s_rep_cka` <= the pair's "
                 "tau_rep (by default calibrated: the drop expected from sampling alone; docs/splintering.md). Counts of pairs, and the Spearman correlation of `s_beh` and `s_rep_cka`.\n\n"
                 "| variant | OOD split | layer | pooling | pairs | pred agree, feat agree | pred agree, feat split | "
                 "pred split, feat agree | pred split, feat split | Spearman |\n"
                 "|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
        double v[6];
        for (int k = 0; k < 6 && st == SP_OK; k++) st = sp_csv_table_f64(t, r, col[4 + k], &v[k]);
        if (st != SP_OK) break;
        char sp[32];
        if (isnan(v[5])) snprintf(sp, sizeof sp, "n/a");
        else snprintf(sp, sizeof sp, "%.4f", v[5]);
        rp_md(c, "| %s | %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n", sp_csv_table_cell(t, r, col[0]),
              sp_csv_table_cell(t, r, col[1]), sp_csv_table_cell(t, r, col[2]), sp_csv_table_cell(t, r, col[3]), v[0],
              v[1], v[2], v[3], v[4], sp);
    }
    if (st == SP_OK) rp_md(c, "\n");
    sp_csv_table_free(t);
    return st;
}

sp_status rp_feature_figures(rp_ctx *c)
{
    sp_status st = fig_cka(c);
    if (st != SP_OK) return st;
    rp_md(c, "## Feature splintering\n\n");
    sp_csv_table *t = NULL;
    if ((st = rp_table(c, "splinter_variants.csv", &t)) != SP_OK) return st;
    if (!t) {
        st = rp_skip(c, "splintering per layer needs `splinter_variants.csv`, written only for models that store "
                        "activations");
    } else {
        st = fig_layers(c, t, "s_rep_cka", "CKA drop ID - OOD (s_rep_cka)", "Representational splintering",
                        "splinter_cka_layers");
        if (st == SP_OK)
            st = fig_layers(c, t, "s_align", "alignment residual OOD - held-out ID (s_align)",
                            "Alignment transfer: ID-fitted map applied OOD",
                            "splinter_align_layers");
    }
    sp_csv_table_free(t);
    if (st == SP_OK) st = table_2x2(c);
    return st;
}
