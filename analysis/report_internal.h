/* report_internal.h: state and helpers shared by report.c (orchestration, staleness, report.md framing),
 * report_model.c (model-level sections) and report_feature.c (feature-level sections). Not a public API. */
#ifndef SPLINTER_REPORT_INTERNAL_H
#define SPLINTER_REPORT_INTERNAL_H

#include <stdio.h>

#include "csv_read.h"
#include "report.h"

/* A list of distinct names in first-appearance order. */
typedef struct {
    char **v;
    size_t n, cap;
} rp_names;

/* Adds s unless present; returns its index, or -1 when out of memory. */
long rp_names_add(rp_names *l, const char *s);
/* Index of s, or -1. */
long rp_names_find(const rp_names *l, const char *s);
void rp_names_free(rp_names *l);

typedef struct {
    const char *run;
    char dir[4096];      /* the report being built (RUN/report.tmp) */
    char analysis[4096]; /* RUN/analysis */
    const sp_report_options *opt;
    FILE *md;            /* report.md being written */
    sp_report_result *res;
    double level;        /* interval level read from analysis.h5 (NaN when unknown) */
} rp_ctx;

/* Appends to report.md. */
void rp_md(rp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads RUN/analysis/<file>; *t = NULL (and SP_OK) when the file does not exist or has no records. */
sp_status rp_table(rp_ctx *c, const char *file, sp_csv_table **t);

/* Looks up several columns at once: cols[k] = index of names[k]; fails naming the first missing one. */
sp_status rp_columns(const sp_csv_table *t, size_t n, const char *const *names, size_t *cols);

/* Full path of the figure stem inside the report being built. */
void rp_stem(const rp_ctx *c, char *out, size_t cap, const char *stem);

/* Records a drawn figure and links it in report.md as ![caption](stem.png). */
sp_status rp_figure(rp_ctx *c, const char *stem, const char *caption);

/* Records a figure left out and says why in report.md (one italic line). */
sp_status rp_skip(rp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "0.8123 [0.8011, 0.8240]", or without the interval when a bound is NaN, or "n/a" when v is NaN. */
void rp_fmt(char *out, size_t cap, double v, double lo, double hi);
/* The same for counts (set sizes): shortest form, "10 [9, 10]" or "3 [1, 3.275]". */
void rp_fmt_count(char *out, size_t cap, double v, double lo, double hi);

/* The interval's verdict on a difference: "above 0", "below 0", "contains 0", or "missing or of zero width"
 * (bootstrap off, a single pair). */
const char *rp_sign_phrase(double lo, double hi);

/* 1 when split names an out-of-domain evaluation split (ood-*). */
int rp_is_ood(const char *split);

/* Distinct values of column `name`, in file order. */
sp_status rp_column_values(const sp_csv_table *t, const char *name, rp_names *out);

/* Distinct layers of the rows whose `filter` column equals `value` (all rows when filter is NULL), in network
 * order ("emb", block0, block1, ...): the CSVs list layers in the order their rows happen to be written. */
sp_status rp_layers_in_order(const sp_csv_table *t, const char *filter, const char *value, rp_names *out);

/* The pooling shown: "cls" when present, else the first in the list. */
const char *rp_pick_pooling(const rp_names *poolings);

/* "Models by heatmap index: 0 = a, ..." under a heatmap, so its axes can be read. */
void rp_model_index_line(rp_ctx *c, const rp_names *models);

/* Sections (report_model.c). */
sp_status rp_model_summary(rp_ctx *c);
sp_status rp_model_verdict(rp_ctx *c);
sp_status rp_model_figures(rp_ctx *c);

/* Sections (report_feature.c). */
sp_status rp_feature_verdict(rp_ctx *c);
sp_status rp_feature_figures(rp_ctx *c);

/* Section (report_concepts.c): concept probes from concepts.csv and splinter_concept_variants.csv. */
sp_status rp_concepts(rp_ctx *c);

#endif
