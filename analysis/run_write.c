/* run_write.c: writes RUN/analysis/analysis.h5 and the CSV files (columns documented in docs/metrics.md). */
#include "run_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "fsutil.h"
#include "outputs.h"
#include "store.h"

#define E_ (s->opt->n_eps)
#define CELL_AT(kind, e, met) ((((size_t)(kind) * E_) + (size_t)(e)) * MET_COUNT + (size_t)(met))

/* out = dir/file (the file name built from fmt); SP_ERR_USAGE when the path is too long. */
static sp_status join_path(char *out, size_t cap, const char *dir, const char *file)
{
    int k = snprintf(out, cap, "%s/%s", dir, file);
    if (k < 0 || (size_t)k >= cap) return sp_fail(SP_ERR_USAGE, "%s/%s: path too long", dir, file);
    return SP_OK;
}

/* The class whose viable prediction range examples.csv reports: 1 for two classes, else h_0(x). */
static size_t vpr_class(const run_variant *v, const run_split *sp, size_t i)
{
    return v->n_classes == 2 ? 1 : (size_t)sp_predmatrix_label(sp->pm, v->ref, i);
}

/* ------------------------------------------------------------------ analysis.h5 */

static sp_status h5_split(sp_store_writer *w, const run_state *s, const run_variant *v, const run_split *sp,
                          const char *base)
{
    char p[512];
    const hsize_t M = v->M, n = sp->n, C = (hsize_t)v->n_classes;
    hsize_t d1[1], d2[2], d3[3];
    sp_status st;
#define W64(name, rank, dims, data)                                                   \
    do {                                                                              \
        snprintf(p, sizeof p, "%s/%s", base, name);                                   \
        if ((st = sp_store_write_f64(w, p, rank, dims, data, 0)) != SP_OK) return st; \
    } while (0)
    d1[0] = n;
    snprintf(p, sizeof p, "%s/rows", base);
    if ((st = sp_store_write_i64(w, p, 1, d1, sp->rows, 0)) != SP_OK) return st;
    W64("capacity", 1, d1, sp->capacity);
    W64("mu", 1, d1, sp->mu);
    W64("mu_unbiased", 1, d1, sp->mu_unbiased);
    W64("self_consistency", 1, d1, sp->sc);
    snprintf(p, sizeof p, "%s/flip", base);
    if ((st = sp_store_write_u8(w, p, 1, d1, sp->flip, 0)) != SP_OK) return st;
    d2[0] = n, d2[1] = C;
    snprintf(p, sizeof p, "%s/vpr_low", base);
    if ((st = sp_store_write_f32(w, p, 2, d2, sp->vpr_low, 0)) != SP_OK) return st;
    snprintf(p, sizeof p, "%s/vpr_high", base);
    if ((st = sp_store_write_f32(w, p, 2, d2, sp->vpr_high, 0)) != SP_OK) return st;
    d1[0] = M;
    W64("accuracy", 1, d1, sp->accuracy);
    W64("loss", 1, d1, sp->loss);
    W64("churn", 1, d1, sp->churn);
    d2[0] = M, d2[1] = M;
    W64("pairwise", 2, d2, sp->pairwise);
    d3[0] = SP_EPS_KIND_COUNT, d3[1] = E_, d3[2] = MET_COUNT;
    W64("multiplicity", 3, d3, sp->cell);
    W64("multiplicity_lo", 3, d3, sp->cell_lo);
    W64("multiplicity_hi", 3, d3, sp->cell_hi);
#undef W64
    return SP_OK;
}

static sp_status write_h5(const run_state *s, const char *dir)
{
    char path[4096], p[512], vn[128], sn[128];
    if (join_path(path, sizeof path, dir, "analysis.h5") != SP_OK) return SP_ERR_USAGE;
    sp_store_writer *w = NULL;
    sp_status st = sp_store_create(path, "splinter-analysis", &w);
    if (st != SP_OK) return st;
    hsize_t d1[1];
    char *kinds[SP_EPS_KIND_COUNT], *mets[MET_COUNT], *uss[US_COUNT];
    for (int k = 0; k < SP_EPS_KIND_COUNT; k++) kinds[k] = (char *)sp_eps_kind_name((sp_eps_kind)k);
    for (int k = 0; k < MET_COUNT; k++) mets[k] = (char *)run_metric_names[k];
    for (int k = 0; k < US_COUNT; k++) uss[k] = (char *)run_us_names[k];
    d1[0] = E_;
    if ((st = sp_store_write_f64(w, "/eps", 1, d1, s->opt->eps, 0)) != SP_OK ||
        (st = sp_store_write_strings(w, "/eps_kinds", SP_EPS_KIND_COUNT, kinds)) != SP_OK ||
        (st = sp_store_write_strings(w, "/metric_names", MET_COUNT, mets)) != SP_OK ||
        (st = sp_store_write_strings(w, "/underspec_names", US_COUNT, uss)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/", "delta", s->opt->delta)) != SP_OK ||
        (st = sp_store_attr_f64(w, "/", "level", s->opt->level)) != SP_OK ||
        (st = sp_store_attr_u64(w, "/", "bootstrap", s->opt->bootstrap)) != SP_OK ||
        (st = sp_store_attr_u64(w, "/", "seed", s->opt->seed)) != SP_OK ||
        (st = sp_store_attr_i64(w, "/", "n_models", (int64_t)s->n_models)) != SP_OK ||
        (st = sp_store_attr_str(w, "/", "data_hash", s->models[0].data_hash)) != SP_OK)
        goto fail;
    if (s->n_warnings && (st = sp_store_write_strings(w, "/warnings", s->n_warnings, s->warnings)) != SP_OK) goto fail;
    for (size_t j = 0; j < s->n_variants; j++) {
        const run_variant *v = &s->variants[j];
        sp_safe_name(vn, sizeof vn, v->name);
        char **names = malloc(v->M * sizeof *names);
        if (!names) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t m = 0; m < v->M; m++) names[m] = v->models[m]->name;
        snprintf(p, sizeof p, "/variants/%s/models", vn);
        st = sp_store_write_strings(w, p, v->M, names);
        free(names);
        if (st != SP_OK) goto fail;
        d1[0] = v->M;
        snprintf(p, sizeof p, "/variants/%s/val_loss", vn);
        if ((st = sp_store_write_f64(w, p, 1, d1, v->val_loss, 0)) != SP_OK) goto fail;
        snprintf(p, sizeof p, "/variants/%s/val_error", vn);
        if ((st = sp_store_write_f64(w, p, 1, d1, v->val_error, 0)) != SP_OK) goto fail;
        snprintf(p, sizeof p, "/variants/%s", vn);
        if ((st = sp_store_attr_i64(w, p, "reference", (int64_t)v->ref)) != SP_OK ||
            (st = sp_store_attr_i64(w, p, "nested", v->nested)) != SP_OK ||
            (st = sp_store_attr_str(w, p, "variant", v->name)) != SP_OK)
            goto fail;
        for (size_t k = 0; k < v->n_splits; k++) {
            sp_safe_name(sn, sizeof sn, v->splits[k].name);
            char base[300];
            snprintf(base, sizeof base, "/variants/%s/splits/%s", vn, sn);
            if ((st = h5_split(w, s, v, &v->splits[k], base)) != SP_OK) goto fail;
            hsize_t du[1] = {US_COUNT};
            const double *arr[3] = {&v->us[k * US_COUNT], &v->us_lo[k * US_COUNT], &v->us_hi[k * US_COUNT]};
            const char *nm[3] = {"underspec", "underspec_lo", "underspec_hi"};
            for (int t = 0; t < 3; t++) {
                snprintf(p, sizeof p, "%s/%s", base, nm[t]);
                if ((st = sp_store_write_f64(w, p, 1, du, arr[t], 0)) != SP_OK) goto fail;
            }
        }
    }
    if (s->have_diff) {
        const run_variant *va = &s->variants[s->diff_a];
        for (size_t k = 0; k < va->n_splits; k++) {
            sp_safe_name(sn, sizeof sn, va->splits[k].name);
            hsize_t du[1] = {US_COUNT};
            const double *arr[3] = {&s->diff[k * US_COUNT], &s->diff_lo[k * US_COUNT], &s->diff_hi[k * US_COUNT]};
            const char *nm[3] = {"underspec", "underspec_lo", "underspec_hi"};
            for (int t = 0; t < 3; t++) {
                snprintf(p, sizeof p, "/finetune_minus_joint/%s/%s", sn, nm[t]);
                if ((st = sp_store_write_f64(w, p, 1, du, arr[t], 0)) != SP_OK) goto fail;
            }
        }
        if (va->n_splits > 0 && (st = sp_store_attr_i64(w, "/finetune_minus_joint", "paired", s->diff_paired)) != SP_OK)
            goto fail;
    }
    if (s->exact && (st = run_exact_write_h5(w, s->exact)) != SP_OK) goto fail;
    return sp_store_commit(w);
fail:
    sp_store_abort(w);
    return st;
}

/* ------------------------------------------------------------------ CSV files */

#define TRY(x)                   \
    do {                         \
        if ((st = (x)) != SP_OK) \
            goto fail;           \
    } while (0)

static sp_status write_models_csv(const run_state *s, const char *dir)
{
    static const char *const cols[] = {"variant", "model", "family", "split", "n_examples", "accuracy", "loss",
                                       "stored_accuracy", "stored_loss", "churn_vs_reference", "is_reference",
                                       "val_loss", "val_error"};
    char path[4096];
    if (join_path(path, sizeof path, dir, "models.csv") != SP_OK) return SP_ERR_USAGE;
    sp_csv *csv = NULL;
    sp_status st = sp_csv_open(&csv, path, cols, sizeof cols / sizeof cols[0]);
    if (st != SP_OK) return st;
    for (size_t j = 0; j < s->n_variants; j++) {
        const run_variant *v = &s->variants[j];
        for (size_t m = 0; m < v->M; m++)
            for (size_t k = 0; k < v->n_splits; k++) {
                const run_split *sp = &v->splits[k];
                TRY(sp_csv_str(csv, v->name));
                TRY(sp_csv_str(csv, v->models[m]->name));
                TRY(sp_csv_str(csv, v->models[m]->family));
                TRY(sp_csv_str(csv, sp->name));
                TRY(sp_csv_i64(csv, (int64_t)sp->n));
                TRY(sp_csv_f64(csv, sp->accuracy[m]));
                TRY(sp_csv_f64(csv, sp->loss[m]));
                TRY(sp_csv_f64(csv, sp->stored_accuracy[m]));
                TRY(sp_csv_f64(csv, sp->stored_loss[m]));
                TRY(sp_csv_f64(csv, sp->churn[m]));
                TRY(sp_csv_i64(csv, m == v->ref));
                TRY(sp_csv_f64(csv, v->val_loss[m]));
                TRY(sp_csv_f64(csv, v->val_error[m]));
                TRY(sp_csv_end_row(csv));
            }
    }
    return sp_csv_commit(csv);
fail:
    sp_csv_abort(csv);
    return st;
}

static sp_status write_multiplicity_csv(const run_state *s, const char *dir)
{
    const char *cols[6 + 3 * MET_COUNT];
    char names[3 * MET_COUNT][64];
    size_t nc = 0;
    cols[nc++] = "variant", cols[nc++] = "eps_kind", cols[nc++] = "eps", cols[nc++] = "split";
    cols[nc++] = "n_examples", cols[nc++] = "pool_size";
    for (int k = 0; k < MET_COUNT; k++) {
        snprintf(names[3 * k], 64, "%s", run_metric_names[k]);
        snprintf(names[3 * k + 1], 64, "%s_lo", run_metric_names[k]);
        snprintf(names[3 * k + 2], 64, "%s_hi", run_metric_names[k]);
        for (int t = 0; t < 3; t++) cols[nc++] = names[3 * k + t];
    }
    char path[4096];
    if (join_path(path, sizeof path, dir, "multiplicity.csv") != SP_OK) return SP_ERR_USAGE;
    sp_csv *csv = NULL;
    sp_status st = sp_csv_open(&csv, path, cols, nc);
    if (st != SP_OK) return st;
    for (size_t j = 0; j < s->n_variants; j++) {
        const run_variant *v = &s->variants[j];
        for (int kind = 0; kind < SP_EPS_KIND_COUNT; kind++)
            for (size_t e = 0; e < E_; e++)
                for (size_t k = 0; k < v->n_splits; k++) {
                    const run_split *sp = &v->splits[k];
                    TRY(sp_csv_str(csv, v->name));
                    TRY(sp_csv_str(csv, sp_eps_kind_name((sp_eps_kind)kind)));
                    TRY(sp_csv_f64(csv, s->opt->eps[e]));
                    TRY(sp_csv_str(csv, sp->name));
                    TRY(sp_csv_i64(csv, (int64_t)sp->n));
                    TRY(sp_csv_i64(csv, (int64_t)v->M));
                    for (int met = 0; met < MET_COUNT; met++) {
                        TRY(sp_csv_f64(csv, sp->cell[CELL_AT(kind, e, met)]));
                        TRY(sp_csv_f64(csv, sp->cell_lo[CELL_AT(kind, e, met)]));
                        TRY(sp_csv_f64(csv, sp->cell_hi[CELL_AT(kind, e, met)]));
                    }
                    TRY(sp_csv_end_row(csv));
                }
    }
    return sp_csv_commit(csv);
fail:
    sp_csv_abort(csv);
    return st;
}

static sp_status write_examples_csv(const run_state *s, const char *dir)
{
    static const char *const cols[] = {"variant", "split", "row", "source_id", "label", "reference_prediction",
                                       "vpr_class", "vpr_low", "vpr_high", "capacity", "flip", "mu", "mu_unbiased",
                                       "self_consistency"};
    char path[4096];
    if (join_path(path, sizeof path, dir, "examples.csv") != SP_OK) return SP_ERR_USAGE;
    sp_csv *csv = NULL;
    sp_status st = sp_csv_open(&csv, path, cols, sizeof cols / sizeof cols[0]);
    if (st != SP_OK) return st;
    for (size_t j = 0; j < s->n_variants; j++) {
        const run_variant *v = &s->variants[j];
        const size_t C = (size_t)v->n_classes;
        for (size_t k = 0; k < v->n_splits; k++) {
            const run_split *sp = &v->splits[k];
            for (size_t i = 0; i < sp->n; i++) {
                size_t c = vpr_class(v, sp, i);
                TRY(sp_csv_str(csv, v->name));
                TRY(sp_csv_str(csv, sp->name));
                TRY(sp_csv_i64(csv, sp->rows[i]));
                TRY(sp_csv_str(csv, s->source_ids ? s->source_ids[sp->rows[i]] : ""));
                TRY(sp_csv_i64(csv, sp->label[i]));
                TRY(sp_csv_i64(csv, sp_predmatrix_label(sp->pm, v->ref, i)));
                TRY(sp_csv_i64(csv, (int64_t)c));
                TRY(sp_csv_f64(csv, sp->vpr_low[i * C + c]));
                TRY(sp_csv_f64(csv, sp->vpr_high[i * C + c]));
                TRY(sp_csv_f64(csv, sp->capacity[i]));
                TRY(sp_csv_i64(csv, sp->flip[i]));
                TRY(sp_csv_f64(csv, sp->mu[i]));
                TRY(sp_csv_f64(csv, sp->mu_unbiased[i]));
                TRY(sp_csv_f64(csv, sp->sc[i]));
                TRY(sp_csv_end_row(csv));
            }
        }
    }
    return sp_csv_commit(csv);
fail:
    sp_csv_abort(csv);
    return st;
}

/* pairwise_<split>.csv: one file per evaluation split name, rows for every variant's model pairs (a < b).
 * written[0..*n_written) receives the file names (the caller's array holds one per split of every variant). */
static sp_status write_pairwise_csv(const run_state *s, const char *dir, char (*written)[160], size_t *n_written)
{
    static const char *const cols[] = {"variant", "model_a", "model_b", "disagreement"};
    sp_status st = SP_OK;
    *n_written = 0;
    for (size_t j0 = 0; j0 < s->n_variants; j0++)
        for (size_t k0 = 0; k0 < s->variants[j0].n_splits; k0++) {
            const char *name = s->variants[j0].splits[k0].name;
            int first = 1; /* write each split name once, from its first occurrence */
            for (size_t j = 0; j < j0 && first; j++)
                for (size_t k = 0; k < s->variants[j].n_splits; k++)
                    if (strcmp(s->variants[j].splits[k].name, name) == 0) first = 0;
            if (!first) continue;
            char sn[128], file[160], path[4096];
            sp_safe_name(sn, sizeof sn, name);
            snprintf(file, sizeof file, "pairwise_%s.csv", sn);
            if (join_path(path, sizeof path, dir, file) != SP_OK) return SP_ERR_USAGE;
            sp_csv *csv = NULL;
            if ((st = sp_csv_open(&csv, path, cols, 4)) != SP_OK) return st;
            for (size_t j = j0; j < s->n_variants; j++) {
                const run_variant *v = &s->variants[j];
                for (size_t k = 0; k < v->n_splits; k++) {
                    const run_split *sp = &v->splits[k];
                    if (strcmp(sp->name, name) != 0) continue;
                    for (size_t a = 0; a < v->M; a++)
                        for (size_t b = a + 1; b < v->M; b++) {
                            TRY(sp_csv_str(csv, v->name));
                            TRY(sp_csv_str(csv, v->models[a]->name));
                            TRY(sp_csv_str(csv, v->models[b]->name));
                            TRY(sp_csv_f64(csv, sp->pairwise[a * v->M + b]));
                            TRY(sp_csv_end_row(csv));
                        }
                }
            }
            if ((st = sp_csv_commit(csv)) != SP_OK) return st;
            memcpy(written[(*n_written)++], file, sizeof file);
            continue;
        fail:
            sp_csv_abort(csv);
            return st;
        }
    return st;
}

/* paired: -1 for one variant's rows (empty field), else 0/1 for a difference of variants. */
static sp_status variants_rows(sp_csv *csv, const char *variant, const char *split, size_t n_models, int paired,
                               const double *val, const double *lo, const double *hi)
{
    sp_status st = SP_OK;
    for (int c = 0; c < US_COUNT; c++) {
        if (isnan(val[c]) && isnan(lo[c])) continue; /* not applicable (e.g. ratios on the test split) */
        TRY(sp_csv_str(csv, variant));
        TRY(sp_csv_str(csv, split));
        TRY(sp_csv_str(csv, run_us_names[c]));
        TRY(sp_csv_f64(csv, val[c]));
        TRY(sp_csv_f64(csv, lo[c]));
        TRY(sp_csv_f64(csv, hi[c]));
        TRY(sp_csv_i64(csv, (int64_t)n_models));
        TRY(paired < 0 ? sp_csv_str(csv, "") : sp_csv_i64(csv, paired));
        TRY(sp_csv_end_row(csv));
    }
fail:
    return st;
}

static sp_status write_variants_csv(const run_state *s, const char *dir)
{
    static const char *const cols[] = {"variant", "split", "metric", "value", "lo", "hi", "n_models", "paired"};
    char path[4096];
    if (join_path(path, sizeof path, dir, "variants.csv") != SP_OK) return SP_ERR_USAGE;
    sp_csv *csv = NULL;
    sp_status st = sp_csv_open(&csv, path, cols, sizeof cols / sizeof cols[0]);
    if (st != SP_OK) return st;
    for (size_t j = 0; j < s->n_variants; j++) {
        const run_variant *v = &s->variants[j];
        for (size_t k = 0; k < v->n_splits; k++)
            TRY(variants_rows(csv, v->name, v->splits[k].name, v->M, -1, &v->us[k * US_COUNT],
                              &v->us_lo[k * US_COUNT], &v->us_hi[k * US_COUNT]));
    }
    if (s->have_diff) {
        const run_variant *va = &s->variants[s->diff_a];
        for (size_t k = 0; k < va->n_splits; k++)
            TRY(variants_rows(csv, "finetune-minus-joint", va->splits[k].name, va->M + s->variants[s->diff_b].M,
                              s->diff_paired, &s->diff[k * US_COUNT], &s->diff_lo[k * US_COUNT],
                              &s->diff_hi[k * US_COUNT]));
    }
    return sp_csv_commit(csv);
fail:
    sp_csv_abort(csv);
    return st;
}

/* The pairwise tables, then removal of those of splits the current models no longer have. */
static sp_status write_pairwise_files(const run_state *s, const char *dir)
{
    size_t cap = 0;
    for (size_t j = 0; j < s->n_variants; j++) cap += s->variants[j].n_splits;
    char (*written)[160] = malloc((cap ? cap : 1) * sizeof *written);
    const char **keep = malloc((cap ? cap : 1) * sizeof *keep);
    size_t n = 0;
    sp_status st = written && keep ? write_pairwise_csv(s, dir, written, &n) : sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SP_OK && i < n; i++) keep[i] = written[i];
    if (st == SP_OK) st = sp_outputs_remove_pairwise(dir, keep, n);
    free(written);
    free(keep);
    return st;
}

sp_status run_write(const run_state *s)
{
    char dir[4096];
    if (join_path(dir, sizeof dir, s->run_dir, "analysis") != SP_OK) return SP_ERR_USAGE;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return sp_fail(SP_ERR_IO, "%s: cannot create the analysis directory (%s)", dir, strerror(errno));
    sp_status st = write_h5(s, dir);
    if (st == SP_OK) st = write_models_csv(s, dir);
    if (st == SP_OK) st = write_multiplicity_csv(s, dir);
    if (st == SP_OK) st = write_examples_csv(s, dir);
    if (st == SP_OK) st = write_pairwise_files(s, dir);
    if (st == SP_OK) st = write_variants_csv(s, dir);
    /* Optional outputs this run does not write are removed, so none from an earlier run looks current. */
    if (st == SP_OK) st = s->exact ? run_exact_write_csv(s, dir) : sp_outputs_remove(dir, SP_OUTPUTS_EXACT);
    return st;
}
