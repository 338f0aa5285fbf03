/* splinter_run_internal.h: state shared by the run-level splintering driver (splinter_run.c) and its
 * summaries and outputs (splinter_summary.c). Not a public API. */
#ifndef SPLINTER_SPLINTER_RUN_INTERNAL_H
#define SPLINTER_SPLINTER_RUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "activations.h"
#include "bootstrap.h"
#include "concepts.h"
#include "splinter_measures.h"
#include "splinter_run.h"
#include "status.h"
#include "store.h"

typedef struct {
    char path[4096];
    char name[128];
    char variant[64];
    uint64_t group_key; /* models sharing a pretrained encoder share a key (bootstrap nesting) */
} srun_model;

/* The per-pair quantities summarised per variant, in output order. */
enum {
    SRUN_S_BEH,
    SRUN_S_REP_CKA,
    SRUN_S_REP_DCKA,
    SRUN_S_REP_PROCRUSTES,
    SRUN_S_REP_SVCCA,
    SRUN_S_REP_PWCCA,
    SRUN_S_ALIGN,
    SRUN_S_ALIGN_CCA,
    SRUN_UNIT_SPLINTER,
    SRUN_S_PROBE,
    SRUN_N_MEASURES
};
extern const char *const srun_measure_names[SRUN_N_MEASURES];

/* One model pair on one OOD split, layer and pooling. */
typedef struct {
    size_t a, b;       /* model indices, a < b, same variant */
    size_t variant, ood, layer, pooling;
    int agree_id;      /* d_id <= agree_eps */
    double d_id, d_ood, s_beh;
    sp_splinter_layer m;
    double svcca_id, svcca_ood, pwcca_id, pwcca_ood; /* NAN when CCA is off */
    double tau_rep[SP_SIM_MEASURES]; /* threshold of s_rep per measure (calibrated or the fixed value) */
} srun_pair;

/* One concept of one pair record. */
typedef struct {
    size_t pair;     /* index into srun_state.pairs */
    size_t concept;  /* index into the concept list */
    sp_concept_pair c;
} srun_concept_rec;

/* Concept probes of a run (splinter_concepts_run.c); all NULL / 0 without a concept file. */
typedef struct {
    const sp_concept_list *list;
    sp_concept_list *owned; /* the list when loaded here (freed with the state); NULL when borrowed */
    char **texts;          /* dataset.h5 /text, by dataset row */
    size_t n_texts;
    unsigned char *used;   /* [list->n] 1 when the ID positive rate is within [min_rate, 1 - min_rate] */
    size_t *positives;     /* [1 + n_ood][list->n] positive inputs per split (test first) */
    size_t *n_inputs;      /* [1 + n_ood] inputs per split */
    int recorded;          /* positives and used are filled in (by the first pooling) */
    srun_concept_rec *recs;
    size_t n_recs, cap_recs;
} srun_concepts;

typedef struct {
    srun_model *models;
    size_t n_models;
    char **variants;     /* ordered: finetune, joint, then the rest alphabetically */
    size_t n_variants;
    size_t *variant_of;  /* [n_models] */
    char **ood_splits;   /* "ood-<domain>" */
    size_t n_ood;
    char **layers;       /* network order */
    size_t n_layers;
    const char *poolings[2];
    size_t n_poolings;
    srun_pair *pairs;
    size_t n_pairs, cap_pairs;
    srun_concepts concepts;
    sp_splinter_run_result *result;
} srun_state;

/* The ID-vs-ID null of s_rep for one pooling (splinter_tau.c): per layer, measure and model pair, the
 * similarity on all ID inputs, the mean over B random half splits, and each split's half-vs-half difference. */
typedef struct {
    size_t n_id, n1, n2, B, n_models;
    double *full;      /* [n_layers][3][M * M] */
    double *half_mean; /* [n_layers][3][M * M] */
    double *diff;      /* [n_layers][3][M * M][B] */
} srun_tau_null;

/* Builds the null of the ID set `id` (layers with skip[l] set are left out); with opt->tau_rep_calibrated == 0
 * it only records the sizes. */
sp_status srun_tau_null_build(srun_tau_null *t, const srun_state *st, const sp_activation_set *id,
                              const unsigned char *skip, const char *pooling, const sp_splinter_run_options *opt);
void srun_tau_null_free(srun_tau_null *t);

/* tau of one pair (a, b), layer and measure (SP_SIM_*) against an OOD split of n_ood inputs: the tau_level
 * quantile of the modelled ID-vs-ID drop, plus 1e-6 (docs/splintering.md); opt->tau_rep when not calibrated. */
sp_status srun_tau_value(double *tau, const srun_tau_null *t, size_t layer, int measure, size_t a, size_t b,
                         size_t n_ood, const sp_splinter_run_options *opt);

/* Takes opt->concept_list, else loads the file opt->concepts, and reads the run's texts (nothing when both
 * are NULL). */
sp_status srun_concepts_init(srun_state *st, const char *run_dir, const sp_splinter_run_options *opt);
void srun_concepts_free(srun_concepts *c);

/* Targets of the used concepts on the inputs of `set` (split_index 0: the ID test split, which on the first
 * call also decides which concepts are used and warns about the others; 1 + o: OOD split o). *targets is
 * [n_used][set->n] (NULL when no concept is used), *n_used how many. */
sp_status srun_concept_targets(uint8_t **targets, size_t *n_used, srun_state *st, const sp_activation_set *set,
                               size_t split_index, const sp_splinter_run_options *opt);

/* Writes concepts.csv, splinter_concept_pairs.csv, splinter_concept_variants.csv and splinter_concept_compare.csv
 * into dir (without a concept file: removes those of an earlier run), and the /concepts group of splinter.h5
 * through w. */
sp_status srun_write_concepts(const srun_state *st, const sp_splinter_run_options *opt, const char *dir);
sp_status srun_write_concepts_h5(const srun_state *st, sp_store_writer *w);

/* The value of one summarised quantity of a pair record (NAN when undefined). */
double srun_measure_value(const srun_pair *p, int measure);

/* One variant's models in one (OOD split, layer, pooling) cell (splinter_cell.c): per measure q, the values of
 * its model pairs as an Mv x Mv matrix (upper triangle; NAN where a pair does not agree in domain or the value
 * is undefined), and the models' nesting groups for the Multi-Bootstrap. */
typedef struct {
    size_t Mv, n_measures;
    size_t *global;        /* [Mv] model indices of the variant, ascending */
    size_t *local;         /* [n_models] index within global of each model of the variant */
    sp_boot_groups *groups; /* by srun_model.group_key; NULL when Mv = 0 */
    double *value;         /* [n_measures][Mv][Mv] */
} srun_cell;

/* A cell of variant v with n_measures measures, every value NAN. */
sp_status srun_cell_alloc(srun_cell *c, const srun_state *st, size_t v, size_t n_measures);
void srun_cell_free(srun_cell *c);

/* The value slot of measure q for the pair of global models a and b (either order; both of the variant). */
double *srun_cell_at(srun_cell *c, size_t q, size_t model_a, size_t model_b);

/* est[q] = mean of measure q over the cell's pairs with a defined value (n_pairs[q] of them), and for
 * b < B, reps[q * B + b] = the same mean over the distinct pairs among the models of replicate b (a model
 * drawn twice is not paired with itself). Replicate b draws models (nested by group) from the generator
 * sp_seed_for(seed, "splinter-models:<variant>", b), the same for every cell of the variant, so all
 * cells and measures of one variant are resampled alike. est, n_pairs: [n_measures]; reps:
 * [n_measures * B]. */
sp_status srun_cell_estimates(double *est, size_t *n_pairs, double *reps, const srun_cell *c, const char *variant,
                              size_t B, uint64_t seed);

/* Percentile interval at `level` of reps[0..B); NAN bounds when B < 2 (bootstrap off). */
sp_status srun_interval(double *lo, double *hi, const double *reps, size_t B, double level);

/* The interval of the replicate differences reps_a[r] - reps_b[r] (two variants, each resampled by its own
 * stream); work: [B] scratch. */
sp_status srun_diff_interval(double *lo, double *hi, double *work, const double *reps_a, const double *reps_b,
                             size_t B, double level);

/* Appends a warning line to the result. */
sp_status srun_warn(srun_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes splinter_pairs.csv, splinter_variants.csv, splinter_compare.csv, splinter_2x2.csv and the pair
 * table of splinter.h5 into `dir`. */
sp_status srun_write_summaries(const srun_state *st, const sp_splinter_run_options *opt, const char *dir);

#endif
