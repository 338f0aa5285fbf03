/* report_concepts.c: the "Concept probes" section of report.md: for each concept of the concept file, how
 * often it occurs per split (concepts.csv), and per variant a table of its probe measures per OOD split and
 * layer (splinter_concept_variants.csv; columns in docs/splintering.md, "Concept probes"). A run analysed
 * without a concept file has neither file: the section then says so in one line. */
#include <math.h>
#include <string.h>

#include "report_internal.h"

/* Columns of concepts.csv and splinter_concept_variants.csv the section reads, in these orders. */
enum { L_CONCEPT, L_SPLIT, L_N_INPUTS, L_POSITIVES, L_RATE, L_STATUS, L_NCOLS };
static const char *const list_names[L_NCOLS] = {"concept", "split", "n_inputs", "positives", "positive_rate",
                                                "status"};
enum { V_VARIANT, V_OOD, V_LAYER, V_POOLING, V_CONCEPT, V_N_PAIRS, V_BACC_ID, V_BACC_OOD, V_AGREE_ID, V_AGREE_OOD,
       V_S_PROBE, V_COSINE, V_S_PROBE_LO, V_S_PROBE_HI, V_NCOLS };
static const char *const variant_names[V_NCOLS] = {"variant", "ood_split", "layer", "pooling", "concept",
                                                   "n_pairs", "bacc_id", "bacc_ood", "probe_agree_id",
                                                   "probe_agree_ood", "s_probe", "probe_cosine", "s_probe_lo",
                                                   "s_probe_hi"};

/* "0.1234", or "n/a" for NaN (a measure undefined for every pair). */
static void fmt4(char *out, size_t cap, double v)
{
    if (isnan(v)) snprintf(out, cap, "n/a");
    else snprintf(out, cap, "%.4f", v);
}

/* One line per concept: its positive rate on every split, and whether it was probed. */
static sp_status concept_rates(rp_ctx *c, const sp_csv_table *list, const size_t *lc, const char *concept,
                               int *used)
{
    sp_status st = SP_OK;
    int first = 1;
    *used = 0;
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(list); r++) {
        if (strcmp(sp_csv_table_cell(list, r, lc[L_CONCEPT]), concept) != 0) continue;
        double n, pos, rate;
        if ((st = sp_csv_table_f64(list, r, lc[L_N_INPUTS], &n)) != SP_OK ||
            (st = sp_csv_table_f64(list, r, lc[L_POSITIVES], &pos)) != SP_OK ||
            (st = sp_csv_table_f64(list, r, lc[L_RATE], &rate)) != SP_OK)
            break;
        char txt[32];
        fmt4(txt, sizeof txt, rate);
        rp_md(c, "%s%s %s (%.0f of %.0f)", first ? "Positive rate: " : ", ", sp_csv_table_cell(list, r, lc[L_SPLIT]),
              txt, pos, n);
        first = 0;
        *used = strcmp(sp_csv_table_cell(list, r, lc[L_STATUS]), "used") == 0;
    }
    if (st == SP_OK && !first) rp_md(c, ".%s\n\n", *used ? "" : " Not probed: the ID positive rate is outside the "
                                                              "allowed range (too rare or too common).");
    return st;
}

/* The table of one concept and variant: one row per OOD split and layer (network order), the shown pooling. */
static sp_status concept_table(rp_ctx *c, const sp_csv_table *t, const size_t *vc, const char *concept,
                               const char *variant, const char *pooling, const rp_names *oods, const rp_names *layers)
{
    sp_status st = SP_OK;
    int any = 0;
    for (size_t o = 0; st == SP_OK && o < oods->n; o++)
        for (size_t l = 0; st == SP_OK && l < layers->n; l++)
            for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
                if (strcmp(sp_csv_table_cell(t, r, vc[V_CONCEPT]), concept) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, vc[V_VARIANT]), variant) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, vc[V_POOLING]), pooling) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, vc[V_OOD]), oods->v[o]) != 0 ||
                    strcmp(sp_csv_table_cell(t, r, vc[V_LAYER]), layers->v[l]) != 0)
                    continue;
                if (!any)
                    rp_md(c, "`%s`, %s:\n\n| OOD split | layer | pairs | bacc ID | bacc OOD | agree ID | agree OOD | "
                             "s_probe | cosine |\n|---|---|---|---|---|---|---|---|---|\n", concept, variant);
                any = 1;
                double v[V_NCOLS - V_N_PAIRS];
                for (int k = 0; k < V_NCOLS - V_N_PAIRS && st == SP_OK; k++)
                    st = sp_csv_table_f64(t, r, vc[V_N_PAIRS + k], &v[k]);
                if (st != SP_OK) break;
                char txt[V_COSINE + 1 - V_BACC_ID][64];
                for (int k = 0; k < V_COSINE + 1 - V_BACC_ID; k++) fmt4(txt[k], sizeof txt[k], v[1 + k]);
                /* s_probe with its Multi-Bootstrap interval (none with bootstrap off). */
                rp_fmt(txt[V_S_PROBE - V_BACC_ID], sizeof txt[0], v[V_S_PROBE - V_N_PAIRS],
                       v[V_S_PROBE_LO - V_N_PAIRS], v[V_S_PROBE_HI - V_N_PAIRS]);
                rp_md(c, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n", oods->v[o], layers->v[l], v[0], txt[0],
                      txt[1], txt[2], txt[3], txt[4], txt[5]);
            }
    if (st == SP_OK && any) rp_md(c, "\n");
    return st;
}

sp_status rp_concepts(rp_ctx *c)
{
    rp_md(c, "## Concept probes\n\n");
    sp_csv_table *list = NULL, *t = NULL;
    sp_status st = rp_table(c, "concepts.csv", &list);
    if (st != SP_OK) return st;
    if (!list) {
        rp_md(c, "*No concept probes: the analysis ran without a concept file (`splinter analyze RUN --concepts "
                 "FILE`, or `analysis.concepts` of the sweep).*\n\n");
        return SP_OK;
    }
    size_t lc[L_NCOLS], vc[V_NCOLS];
    rp_names concepts = {0}, variants = {0}, oods = {0}, poolings = {0}, layers = {0};
    st = rp_columns(list, L_NCOLS, list_names, lc);
    if (st == SP_OK) st = rp_column_values(list, "concept", &concepts);
    if (st == SP_OK) st = rp_table(c, "splinter_concept_variants.csv", &t);
    const char *pooling = "";
    if (st == SP_OK && t) {
        st = rp_columns(t, V_NCOLS, variant_names, vc);
        if (st == SP_OK) st = rp_column_values(t, "variant", &variants);
        if (st == SP_OK) st = rp_column_values(t, "ood_split", &oods);
        if (st == SP_OK) st = rp_column_values(t, "pooling", &poolings);
        pooling = rp_pick_pooling(&poolings);
        if (st == SP_OK) st = rp_layers_in_order(t, "pooling", pooling, &layers);
    }
    char level[32] = "";
    if (!isnan(c->level)) snprintf(level, sizeof level, "%g%% ", 100.0 * c->level);
    if (st == SP_OK) {
        rp_md(c, "A logistic probe per model, layer and concept predicts whether an input contains one of the "
                 "concept's words (docs/splintering.md, \"Concept probes\"; all columns in "
                 "`splinter_concept_pairs.csv` and `splinter_concept_variants.csv`).");
        if (t)
            rp_md(c, " Tables: %s pooling, means over the variant's model pairs that agree in domain.\n\n"
                     "- **pairs**: model pairs behind the means.\n"
                     "- **bacc ID / bacc OOD**: balanced accuracy of the probes on held-out ID inputs / on the OOD "
                     "split (0.5 = chance).\n"
                     "- **agree ID / agree OOD**: share of inputs on which the two models' probes predict the same.\n"
                     "- **s_probe**: agree ID − agree OOD; above 0, the models' concept probes part ways out of "
                     "domain. In brackets its %sMulti-Bootstrap interval over seeds (`splinter_concept_variants.csv`; "
                     "finetune − joint differences in `splinter_concept_compare.csv`).\n"
                     "- **cosine**: cosine of the two probe directions after the Procrustes map fitted in domain "
                     "(1 = the same direction).\n\n",
                  pooling, level);
        else
            rp_md(c, " No concept was probed (`splinter_concept_variants.csv` has no rows).\n\n");
    }
    for (size_t k = 0; st == SP_OK && k < concepts.n; k++) {
        rp_md(c, "### Concept `%s`\n\n", concepts.v[k]);
        int used = 0;
        st = concept_rates(c, list, lc, concepts.v[k], &used);
        for (size_t v = 0; st == SP_OK && used && t && v < variants.n; v++)
            st = concept_table(c, t, vc, concepts.v[k], variants.v[v], pooling, &oods, &layers);
    }
    rp_names_free(&concepts);
    rp_names_free(&variants);
    rp_names_free(&oods);
    rp_names_free(&poolings);
    rp_names_free(&layers);
    sp_csv_table_free(list);
    sp_csv_table_free(t);
    return st;
}
