/* report.h: `splinter report`: figures and a readable summary of a run's analysis, in RUN/report/.
 *
 * Brings the analysis up to date first (RUN/analysis/analysis.h5 missing or older than a model file: the
 * feature-level sp_splinter_run, then the model-level sp_analysis_run, so analysis.h5 is stamped only when
 * both succeeded), then reads the CSV tables of RUN/analysis/ and writes RUN/report/: report.md and one
 * figure per question (each <stem>.dat/.gp/.png/.svg, drawn by analysis/plot.h). Figures whose inputs are
 * absent (no OOD split, no activations, no finetune/joint pair) are skipped with a line in report.md.
 * The report is built in RUN/report.tmp/ and swapped in whole, so RUN/report/ is always a complete report.
 * Layout and contents: docs/report.md.
 *
 *     sp_report_options opt;
 *     sp_report_options_default(&opt);
 *     sp_report_result *res = NULL;
 *     if (sp_report_run("runs/spam", &opt, &res) != SP_OK) return ...;
 *     printf("%zu figures%s\n", res->n_figures, res->recomputed ? " (analysis recomputed)" : "");
 *     sp_report_result_free(res);
 */
#ifndef SPLINTER_REPORT_H
#define SPLINTER_REPORT_H

#include <stddef.h>

#include "run_analysis.h"
#include "splinter_run.h"
#include "status.h"

typedef struct {
    sp_analysis_options analysis; /* used when the analysis is recomputed */
    sp_splinter_run_options splinter;
    int force;            /* recompute the analysis even when it is up to date */
    char eps_kind[16];    /* Rashomon-set kind shown in the summary and figures ("loss-abs") */
    double eps;           /* epsilon of the summary table: the grid value closest to it (0.01) */
} sp_report_options;

typedef struct {
    int recomputed;        /* 1 when the analyses were run */
    char **figures;        /* [n_figures] stems written, in report order */
    size_t n_figures;
    char **skipped;        /* [n_skipped] one line per figure left out, saying why */
    size_t n_skipped;
    char **warnings;       /* analysis warnings when recomputed */
    size_t n_warnings;
} sp_report_result;

void sp_report_options_default(sp_report_options *opt);

/* 1 when RUN/analysis/analysis.h5 is missing or older than some RUN/models/<name>.h5 (temporary files ignored). */
int sp_report_analysis_stale(const char *run_dir);

/* Writes RUN/report/ for run_dir. SP_ERR_USAGE when run_dir is not a directory; SP_ERR_INPUT when it has no
 * model files or a CSV lacks a documented column (naming file and column); on any failure RUN/report/ is left
 * as it was and RUN/report.tmp/ is removed. */
sp_status sp_report_run(const char *run_dir, const sp_report_options *opt, sp_report_result **out);
void sp_report_result_free(sp_report_result *res);

#endif
