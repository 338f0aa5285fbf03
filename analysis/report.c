/* report.c: `splinter report` orchestration (see report.h): staleness of the analysis, building the report
 * in RUN/report.tmp/ and swapping it in, and the helpers every section uses. */
#include "report.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activations.h"
#include "fsutil.h"
#include "report_internal.h"
#include "store.h"
#include "strlist.h"

void sp_report_options_default(sp_report_options *opt)
{
    memset(opt, 0, sizeof *opt);
    sp_analysis_options_default(&opt->analysis);
    sp_splinter_run_options_default(&opt->splinter);
    snprintf(opt->eps_kind, sizeof opt->eps_kind, "loss-abs");
    opt->eps = 0.01;
}

/* ---------------------------------------------------------------- helpers */

long rp_names_find(const rp_names *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return (long)i;
    return -1;
}

long rp_names_add(rp_names *l, const char *s)
{
    long k = rp_names_find(l, s);
    if (k >= 0) return k;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return -1;
    return (long)l->n++;
}

void rp_names_free(rp_names *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void rp_md(rp_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->md, fmt, ap);
    va_end(ap);
}

sp_status rp_table(rp_ctx *c, const char *file, sp_csv_table **t)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", c->analysis, file);
    *t = NULL;
    if (access(path, F_OK) != 0) return SP_OK;
    sp_status st = sp_csv_table_read(t, path);
    /* A header without records (e.g. the feature tables of a run without activations) has nothing to show. */
    if (st == SP_OK && sp_csv_table_rows(*t) == 0) {
        sp_csv_table_free(*t);
        *t = NULL;
    }
    return st;
}

sp_status rp_columns(const sp_csv_table *t, size_t n, const char *const *names, size_t *cols)
{
    for (size_t k = 0; k < n; k++) {
        sp_status st = sp_csv_table_column(t, names[k], &cols[k]);
        if (st != SP_OK) return st;
    }
    return SP_OK;
}

void rp_stem(const rp_ctx *c, char *out, size_t cap, const char *stem) { snprintf(out, cap, "%s/%s", c->dir, stem); }

sp_status rp_figure(rp_ctx *c, const char *stem, const char *caption)
{
    /* Brackets would end the link text early; the caption is ours, so plain replacement is enough. */
    char text[512];
    snprintf(text, sizeof text, "%s", caption);
    for (char *p = text; *p; p++)
        if (*p == '[' || *p == ']') *p = *p == '[' ? '(' : ')';
    rp_md(c, "![%s](%s.png)\n\n", text, stem);
    return sp_strlist_push(&c->res->figures, &c->res->n_figures, stem);
}

sp_status rp_skip(rp_ctx *c, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rp_md(c, "*Not drawn: %s.*\n\n", line);
    return sp_strlist_push(&c->res->skipped, &c->res->n_skipped, line);
}

void rp_fmt(char *out, size_t cap, double v, double lo, double hi)
{
    if (isnan(v)) snprintf(out, cap, "n/a");
    else if (isnan(lo) || isnan(hi)) snprintf(out, cap, "%.4f", v);
    else snprintf(out, cap, "%.4f [%.4f, %.4f]", v, lo, hi);
}

void rp_fmt_count(char *out, size_t cap, double v, double lo, double hi)
{
    if (isnan(v)) snprintf(out, cap, "n/a");
    else if (isnan(lo) || isnan(hi)) snprintf(out, cap, "%g", v);
    else snprintf(out, cap, "%g [%g, %g]", v, lo, hi);
}

const char *rp_sign_phrase(double lo, double hi)
{
    /* A zero-width interval (one agreeing pair, or replicates that never vary) carries no uncertainty estimate. */
    if (isnan(lo) || isnan(hi) || lo == hi) return "missing or of zero width";
    if (lo > 0) return "above 0";
    if (hi < 0) return "below 0";
    return "contains 0";
}

int rp_is_ood(const char *split) { return strncmp(split, "ood-", 4) == 0; }

sp_status rp_column_values(const sp_csv_table *t, const char *name, rp_names *out)
{
    size_t col;
    sp_status st = sp_csv_table_column(t, name, &col);
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++)
        if (rp_names_add(out, sp_csv_table_cell(t, r, col)) < 0) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    return st;
}

static int layer_qsort_cmp(const void *a, const void *b)
{
    return sp_activations_layer_order(*(char *const *)a, *(char *const *)b);
}

sp_status rp_layers_in_order(const sp_csv_table *t, const char *filter, const char *value, rp_names *out)
{
    size_t col, fcol = 0;
    sp_status st = sp_csv_table_column(t, "layer", &col);
    if (st == SP_OK && filter) st = sp_csv_table_column(t, filter, &fcol);
    for (size_t r = 0; st == SP_OK && r < sp_csv_table_rows(t); r++) {
        if (filter && strcmp(sp_csv_table_cell(t, r, fcol), value) != 0) continue;
        if (rp_names_add(out, sp_csv_table_cell(t, r, col)) < 0) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    if (st == SP_OK && out->n > 1) qsort(out->v, out->n, sizeof *out->v, layer_qsort_cmp);
    return st;
}

const char *rp_pick_pooling(const rp_names *poolings)
{
    return rp_names_find(poolings, "cls") >= 0 ? "cls" : poolings->n ? poolings->v[0] : "";
}

/* ---------------------------------------------------------------- staleness */

static int newer(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Number of RUN/models/<name>.h5 files (the listing rule of analysis/run_models); *latest = the newest
 * modification time among them. 0 when models/ cannot be listed. */
static size_t scan_models(const char *run_dir, struct timespec *latest)
{
    char dir[4200], path[4500];
    snprintf(dir, sizeof dir, "%s/models", run_dir);
    latest->tv_sec = 0, latest->tv_nsec = 0;
    char **names = NULL;
    size_t n = 0;
    if (sp_dir_list(&names, &n, dir, ".h5") != SP_OK) return 0;
    for (size_t k = 0; k < n; k++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        if (stat(path, &st) == 0 && newer(&st.st_mtim, latest)) *latest = st.st_mtim;
    }
    sp_strlist_free(names, n);
    return n;
}

int sp_report_analysis_stale(const char *run_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/analysis/analysis.h5", run_dir);
    struct stat st;
    if (stat(path, &st) != 0) return 1;
    struct timespec latest;
    scan_models(run_dir, &latest);
    return newer(&latest, &st.st_mtim);
}

/* ---------------------------------------------------------------- the report directory */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Moves the finished RUN/report.tmp to RUN/report, replacing an earlier report. */
static sp_status swap_in(const char *run_dir, const char *tmp)
{
    char final[4200], old[4200];
    snprintf(final, sizeof final, "%s/report", run_dir);
    snprintf(old, sizeof old, "%s/report.old", run_dir);
    remove_tree(old);
    struct stat st;
    int had = lstat(final, &st) == 0;
    if (had && rename(final, old) != 0)
        return sp_fail(SP_ERR_IO, "cannot move the previous report %s aside: %s", final, strerror(errno));
    if (rename(tmp, final) != 0) {
        int err = errno;
        if (had) (void)rename(old, final);
        return sp_fail(SP_ERR_IO, "cannot rename %s to %s: %s", tmp, final, strerror(err));
    }
    remove_tree(old);
    return SP_OK;
}

/* Interval level stored by the analysis (root attribute "level" of analysis.h5); NaN when unreadable. */
static double read_level(const char *run_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/analysis/analysis.h5", run_dir);
    hid_t f;
    double level = NAN;
    if (sp_store_open(path, "splinter-analysis", &f) != SP_OK) return NAN;
    if (sp_store_read_attr_f64(f, "/", "level", &level) != SP_OK) level = NAN;
    H5Fclose(f);
    sp_error_clear();
    return level;
}

static sp_status recompute(const char *run_dir, const sp_report_options *opt, sp_report_result *res)
{
    /* Features first: analysis.h5 is the freshness stamp, so it is written only after both succeeded. */
    sp_splinter_run_result *sr = NULL;
    sp_status st = sp_splinter_run(run_dir, &opt->splinter, &sr);
    if (st != SP_OK) return st;
    for (size_t k = 0; k < sr->n_warnings && st == SP_OK; k++)
        st = sp_strlist_push(&res->warnings, &res->n_warnings, sr->warnings[k]);
    sp_splinter_run_result_free(sr);
    if (st != SP_OK) return st;
    sp_analysis_result *ar = NULL;
    if ((st = sp_analysis_run(run_dir, &opt->analysis, &ar)) != SP_OK) return st;
    for (size_t k = 0; k < ar->n_warnings && st == SP_OK; k++)
        st = sp_strlist_push(&res->warnings, &res->n_warnings, ar->warnings[k]);
    sp_analysis_result_free(ar);
    res->recomputed = 1;
    return st;
}

static sp_status write_report(rp_ctx *c)
{
    const char *name = strrchr(c->run, '/');
    char run_name[512];
    snprintf(run_name, sizeof run_name, "%s", name && name[1] ? name + 1 : c->run);
    /* A trailing slash leaves an empty base name; fall back to the whole path. */
    rp_md(c, "# Report: %s\n\n", run_name);
    rp_md(c, "Written by splinter %s from the tables in `analysis/` (columns in docs/metrics.md and "
             "docs/splintering.md). Intervals are Multi-Bootstrap percentile intervals over seeds",
          sp_program_version());
    if (!isnan(c->level)) rp_md(c, " at level %.2f", c->level);
    rp_md(c, "; every figure has its numbers in `<figure>.dat` and its gnuplot script in `<figure>.gp`.\n\n");
    sp_status st = rp_model_summary(c);
    if (st == SP_OK) st = rp_model_verdict(c);
    if (st == SP_OK) st = rp_feature_verdict(c);
    if (st == SP_OK) st = rp_model_figures(c);
    if (st == SP_OK) st = rp_feature_figures(c);
    if (st == SP_OK) st = rp_concepts(c);
    return st;
}

sp_status sp_report_run(const char *run_dir, const sp_report_options *opt, sp_report_result **out)
{
    *out = NULL;
    struct stat st_run;
    if (stat(run_dir, &st_run) != 0 || !S_ISDIR(st_run.st_mode))
        return sp_fail(SP_ERR_USAGE, "%s is not a directory; give the run directory (the one holding models/)",
                       run_dir);
    struct timespec latest;
    if (scan_models(run_dir, &latest) == 0)
        return sp_fail(SP_ERR_INPUT, "%s/models: no model files (*.h5); train models first (splinter train)", run_dir);
    sp_report_result *res = calloc(1, sizeof *res);
    if (!res) return sp_fail(SP_ERR_NOMEM, "out of memory");
    sp_status st = SP_OK;
    if (opt->force || sp_report_analysis_stale(run_dir)) st = recompute(run_dir, opt, res);

    rp_ctx c = {.run = run_dir, .opt = opt, .res = res};
    snprintf(c.dir, sizeof c.dir, "%s/report.tmp", run_dir);
    snprintf(c.analysis, sizeof c.analysis, "%s/analysis", run_dir);
    if (st == SP_OK) {
        remove_tree(c.dir);
        if (mkdir(c.dir, 0777) != 0)
            st = sp_fail(SP_ERR_IO, "cannot create %s: %s; check that the run directory is writable", c.dir,
                         strerror(errno));
    }
    if (st == SP_OK) {
        char md[4300];
        snprintf(md, sizeof md, "%s/report.md", c.dir);
        c.level = read_level(run_dir);
        if (!(c.md = fopen(md, "w"))) st = sp_fail(SP_ERR_IO, "cannot write %s: %s", md, strerror(errno));
        if (st == SP_OK) st = write_report(&c);
        if (c.md) {
            int bad = ferror(c.md);
            bad |= fclose(c.md) != 0;
            if (bad && st == SP_OK) st = sp_fail(SP_ERR_IO, "cannot write %s (disk full?)", md);
        }
        if (st == SP_OK) st = swap_in(run_dir, c.dir);
        if (st != SP_OK) remove_tree(c.dir);
    }
    if (st != SP_OK) {
        sp_report_result_free(res);
        return st;
    }
    *out = res;
    return SP_OK;
}

void sp_report_result_free(sp_report_result *res)
{
    if (!res) return;
    sp_strlist_free(res->figures, res->n_figures);
    sp_strlist_free(res->skipped, res->n_skipped);
    sp_strlist_free(res->warnings, res->n_warnings);
    free(res);
}
