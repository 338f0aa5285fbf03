/* splinter_run_internal.h: state shared by the run-level splintering driver (splinter_run.c) and its
 * summaries and outputs (splinter_summary.c). Not a public API. */
#ifndef SPLINTER_SPLINTER_RUN_INTERNAL_H
#define SPLINTER_SPLINTER_RUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "splinter_measures.h"
#include "splinter_run.h"
#include "status.h"

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
} srun_pair;

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
    sp_splinter_run_result *result;
} srun_state;

/* The value of one summarised quantity of a pair record (NAN when undefined). */
double srun_measure_value(const srun_pair *p, int measure);

/* Appends a warning line to the result. */
sp_status srun_warn(srun_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes splinter_pairs.csv, splinter_variants.csv, splinter_compare.csv, splinter_2x2.csv and the pair
 * table of splinter.h5 into `dir`. */
sp_status srun_write_summaries(const srun_state *st, const sp_splinter_run_options *opt, const char *dir);

#endif
