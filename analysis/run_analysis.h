/* run_analysis.h: `splinter analyze`: the model-level analysis of a run directory.
 *
 * Loads every complete model file in RUN/models/ (format splinter-model; *.tmp and splinter-encoder files
 * are skipped), groups models by their `variant` attribute, checks that all share one data_hash (and the
 * run's dataset.h5), and computes per variant: Rashomon sets over an epsilon grid (loss/error, absolute/
 * relative), multiplicity on every evaluation split (test, ood-*), underspecification summaries, a nested
 * variance decomposition when fine-tuning seeds share pretraining seeds, Multi-Bootstrap intervals and the
 * finetune-minus-joint difference. Writes RUN/analysis/analysis.h5 and the CSV files documented in
 * docs/metrics.md, each through a temporary name.
 *
 *     sp_analysis_options opt;
 *     sp_analysis_options_default(&opt);
 *     sp_analysis_result *res = NULL;
 *     if (sp_analysis_run("runs/spam", &opt, &res) != SP_OK) return ...;
 *     for (size_t k = 0; k < res->n_warnings; k++) fprintf(stderr, "warning: %s\n", res->warnings[k]);
 *     sp_analysis_result_free(res);
 */
#ifndef SPLINTER_RUN_ANALYSIS_H
#define SPLINTER_RUN_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SP_ANALYSIS_MAX_EPS 64

/* Exact viable prediction ranges of the linear family's convex level set (docs/metrics.md). */
typedef enum {
    SP_EXACT_AUTO = 0, /* when models/ holds an exact linear model (linear-exact.h5); skipped with a warning if it
                        * has more than two classes */
    SP_EXACT_OFF = 1,
    SP_EXACT_ON = 2    /* required: an error when the run has no usable exact model */
} sp_exact_mode;

typedef struct {
    double eps[SP_ANALYSIS_MAX_EPS]; /* epsilon grid, used for each of the four kinds */
    size_t n_eps;
    double delta;      /* threshold of delta-ambiguity / delta-discrepancy (default 0.1) */
    size_t bootstrap;  /* Multi-Bootstrap replicates (default 200; 0 = no intervals) */
    uint64_t seed;     /* seed of the bootstrap streams (default 0) */
    double level;      /* interval level (default 0.95) */
    size_t top_k;      /* collect the top_k most ambiguous OOD examples (default 0) */
    sp_exact_mode exact;                   /* default SP_EXACT_AUTO */
    double exact_eps[SP_ANALYSIS_MAX_EPS]; /* absolute epsilons on the training objective (default 1e-5, 1e-4,
                                            * 1e-3): not the validation-loss epsilons of the Rashomon sets */
    size_t n_exact_eps;
    size_t exact_max;  /* examples solved per evaluation split (default 20; 0 = all) */
    double exact_tol;  /* margin tolerance of the exact ranges (default 1e-6) */
} sp_analysis_options;

/* One of the most ambiguous OOD examples (highest Rashomon capacity over the variant's pool, then highest
 * unbiased seed disagreement). */
typedef struct {
    char variant[64];
    char split[64];
    int64_t row;          /* dataset.h5 row */
    int32_t label;
    double capacity;
    double mu_unbiased;
    double vpr_low, vpr_high;
} sp_analysis_example;

typedef struct {
    size_t n_models;   /* model files analysed */
    size_t n_variants;
    char **warnings;   /* skipped files or splits, capped iterations: one line each */
    size_t n_warnings;
    sp_analysis_example *top; /* [n_top], most ambiguous first */
    size_t n_top;
    size_t exact_examples;    /* examples given exact ranges (0: none) */
    size_t exact_solves;      /* inner solves they took */
    double exact_seconds;     /* wall time of those solves */
} sp_analysis_result;

/* Defaults: eps grid {0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1}, delta 0.1, 200 replicates, seed 0,
 * level 0.95, top_k 0, exact ranges automatic at 1e-5, 1e-4, 1e-3 on the training objective, 20 examples per split,
 * tolerance 1e-6. */
void sp_analysis_options_default(sp_analysis_options *opt);

/* Runs the analysis of run_dir. SP_ERR_INPUT with a one-line message on bad input (fewer than 2 complete
 * models, differing data_hash, a non-HDF5 file in models/, inconsistent rows or labels, a model without a
 * val split). Nothing is left half-written: each output file appears complete or not at all. */
sp_status sp_analysis_run(const char *run_dir, const sp_analysis_options *opt, sp_analysis_result **out);
void sp_analysis_result_free(sp_analysis_result *res);

#endif
