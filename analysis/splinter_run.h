/* splinter_run.h: feature splintering of a whole run: every model pair, layer, pooling and OOD split.
 *
 * Reads every complete model file in RUN/models/ that stores activations (the encoder family), groups them
 * by `variant`, and for the pairs of models of one variant measures, on ID test inputs and on each OOD
 * group: representation similarity (linear CKA, debiased CKA, Procrustes, SVCCA, PWCCA), behavioural and
 * representational splintering, alignment transfer, unit-level and probe-level splintering
 * (analysis/splinter_measures.h; definitions in docs/similarity.md and docs/splintering.md). Then per variant:
 * summaries with Multi-Bootstrap intervals over seeds (fine-tuning seeds nested in pretraining seeds), the
 * paired variant differences (finetune - joint first), and the model-level vs feature-level 2x2 tables.
 * Writes RUN/analysis/splinter.h5 and the CSVs similarity.csv, crosslayer.csv, splinter_pairs.csv,
 * splinter_variants.csv, splinter_compare.csv and splinter_2x2.csv, each atomically; with a concept file also
 * concepts.csv, splinter_concept_pairs.csv, splinter_concept_variants.csv and splinter_concept_compare.csv.
 *
 *     sp_splinter_run_options opt;
 *     sp_splinter_run_options_default(&opt);
 *     sp_splinter_run_result *res = NULL;
 *     if (sp_splinter_run("runs/spam", &opt, &res) != SP_OK) return ...;
 *     printf("%zu models, %zu pairs\n", res->n_models, res->n_pairs);
 *     sp_splinter_run_result_free(res);
 */
#ifndef SPLINTER_SPLINTER_RUN_H
#define SPLINTER_SPLINTER_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "concepts.h"
#include "splinter_measures.h"
#include "status.h"

typedef struct {
    double agree_eps;    /* a pair agrees in domain when its ID test disagreement is <= agree_eps (0.05) */
    double tau_beh;      /* 2x2: predictions agree OOD when s_beh <= tau_beh (0.02) */
    int tau_rep_calibrated; /* 2x2: 1 (default): features agree OOD when the linear-CKA drop s_rep is at most
                             * the drop expected from sampling alone (per pair, layer and OOD split; see
                             * docs/splintering.md); 0: at most the fixed tau_rep */
    double tau_rep;      /* the fixed threshold when tau_rep_calibrated == 0 (0.05) */
    size_t tau_resamples; /* random ID half splits behind the calibrated threshold (50) */
    double tau_level;    /* the calibrated threshold is this quantile of the ID-vs-ID drop (0.95) */
    size_t bootstrap;    /* Multi-Bootstrap replicates over seeds (200; 0 = no intervals) */
    uint64_t seed;       /* bootstrap and example-subsampling seed (0) */
    double level;        /* interval level (0.95) */
    size_t max_examples; /* per split, a seeded subset of at most this many inputs (2000; 0 = all) */
    int cca;             /* also SVCCA (99% variance) and PWCCA per pair (1) */
    const char *concepts; /* concept word-list file for concept probes (NULL: none; analysis/concepts.h); with
                           * concept_list set, only the name recorded in messages and splinter.h5 */
    const sp_concept_list *concept_list; /* the concepts already loaded (borrowed; NULL: load `concepts`):
                                          * lets a caller read a pipe once, check it, then run */
    double concept_min_rate; /* concepts whose ID positive rate is < this or > 1 - this are skipped (0.01) */
    sp_splinter_options pair; /* per-pair options (fit share, unit delta, probes) */
} sp_splinter_run_options;

void sp_splinter_run_options_default(sp_splinter_run_options *opt);

typedef struct {
    size_t n_models;    /* model files with activations; 0 means nothing was written */
    size_t n_variants;
    size_t n_pairs;     /* pair x OOD split x layer x pooling records */
    size_t n_agreeing;  /* of those, records of pairs that agree in domain */
    char **warnings;    /* one line each (e.g. CCA statistics forced to 1 by width) */
    size_t n_warnings;
} sp_splinter_run_result;

/* Runs the feature-level analysis of run_dir. A run whose models store no activations (the linear family)
 * is a documented skip: SP_OK with n_models = 0 and a warning; nothing is written, and feature outputs of an
 * earlier analysis are removed (analysis/outputs.h), as are its concept files when opt has no concepts.
 * SP_ERR_INPUT naming
 * the file on models trained on different inputs, a missing split or layer in some model, or fewer than
 * two models in every variant. */
sp_status sp_splinter_run(const char *run_dir, const sp_splinter_run_options *opt, sp_splinter_run_result **out);
void sp_splinter_run_result_free(sp_splinter_run_result *res);

#endif
