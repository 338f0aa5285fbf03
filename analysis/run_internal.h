/* run_internal.h: data structures shared by run_analysis.c (orchestration and statistics), run_load.c
 * (reading model files) and run_write.c (analysis.h5 and CSV output). Not a public API. */
#ifndef SPLINTER_RUN_INTERNAL_H
#define SPLINTER_RUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bootstrap.h"
#include "predmatrix.h"
#include "rashomon.h"
#include "run_analysis.h"
#include "status.h"
#include "underspec.h"

/* Probabilities below this are clamped when recomputing the negative log-likelihood. */
#define RUN_LOSS_CLAMP 1e-12

/* One split of one model, as read. */
typedef struct {
    char name[64];
    size_t n;
    int64_t *rows;   /* [n] */
    float *prob;     /* [n][C] */
    double stored_accuracy, stored_loss; /* attributes; NaN when absent */
} run_model_split;

typedef struct {
    char *path, *name, *family, *variant, *data_hash;
    int n_classes;
    uint64_t seed_pretrain;
    int has_seed_pretrain;
    uint64_t seed_finetune; /* attribute `seed_init` (a function of the master seed), else `seed` */
    int has_seed_finetune;
    run_model_split *splits;
    size_t n_splits;
} run_model;

/* Bootstrap replicate summary of one multiplicity cell, one value per metric. */
enum {
    MET_SET_SIZE = 0,
    MET_RASHOMON_RATIO,
    MET_PATTERN_RATIO,
    MET_AMBIGUITY,
    MET_DISCREPANCY,
    MET_DELTA_AMBIGUITY,
    MET_DELTA_DISCREPANCY,
    MET_VPR_WIDTH,
    MET_CAPACITY,
    MET_MU,
    MET_MU_UNBIASED,
    MET_SELF_CONSISTENCY,
    MET_PAIRWISE,
    MET_COUNT
};
extern const char *const run_metric_names[MET_COUNT];

/* One evaluation split of one variant: everything computed on it. */
typedef struct {
    char name[64];
    size_t n;
    int64_t *rows;          /* [n] */
    int32_t *label;         /* [n] */
    sp_predmatrix *pm;      /* M x n x C */
    double *accuracy;       /* [M] recomputed from labels */
    double *loss;           /* [M] mean -ln max(g_y, RUN_LOSS_CLAMP) */
    double *stored_accuracy, *stored_loss; /* [M] */
    uint8_t *correct;       /* [M][n] */
    double *nll;            /* [M][n] per-example negative log-likelihood */
    double *churn;          /* [M] vs the variant's reference */
    double *pairwise;       /* [M][M] */
    /* per example, over the variant's whole pool */
    double *capacity, *mu, *mu_unbiased, *sc; /* [n] */
    uint8_t *flip;          /* [n] */
    float *vpr_low, *vpr_high; /* [n][C] */
    /* multiplicity cells: [kind][eps][metric] point values and interval bounds */
    double *cell, *cell_lo, *cell_hi;
} run_split;

/* Underspecification statistic names (per split): values in run_variant.us[split][stat]. */
enum {
    US_ACC_MEAN = 0, US_ACC_SD, US_ACC_RANGE, US_ACC_IQR,
    US_LOSS_MEAN, US_LOSS_SD, US_LOSS_RANGE, US_LOSS_IQR,
    US_ACC_SD_RATIO, US_ACC_RANGE_RATIO, US_ACC_IQR_RATIO,
    US_LOSS_SD_RATIO, US_LOSS_RANGE_RATIO, US_LOSS_IQR_RATIO,
    US_ACC_SPEARMAN, US_ACC_KENDALL, US_LOSS_SPEARMAN, US_LOSS_KENDALL,
    US_ACC_VAR_PRETRAIN, US_ACC_VAR_FINETUNE, US_ACC_SHARE_PRETRAIN,
    US_COUNT
};
extern const char *const run_us_names[US_COUNT];

typedef struct {
    char *name;
    size_t M;
    run_model **models;     /* [M], sorted by name */
    int n_classes;
    double *val_loss, *val_error; /* [M] recomputed on the val split */
    size_t ref;             /* lowest val loss */
    sp_boot_groups *groups; /* pretraining-seed nesting (every model alone when there is none) */
    int nested;             /* 1 if some pretraining seed has >= 2 models and there are >= 2 seeds */
    run_split *splits;      /* evaluation splits: "test" then "ood-*" in name order */
    size_t n_splits;
    size_t test_split;      /* index of "test" in splits, or n_splits if absent */
    double *us, *us_lo, *us_hi; /* [n_splits][US_COUNT] */
    double *us_reps;        /* [B][n_splits][US_COUNT] replicates, kept for the variant difference */
} run_variant;

typedef struct {
    const char *run_dir;
    const sp_analysis_options *opt;
    run_model *models;
    size_t n_models;
    run_variant *variants;
    size_t n_variants;
    int32_t *labels;        /* dataset.h5 /label */
    size_t n_labels;
    char **source_ids;      /* dataset.h5 /source_id, NULL if absent */
    size_t n_source_ids;
    char **warnings;
    size_t n_warnings;
    /* finetune-minus-joint: [n_splits of finetune][US_COUNT] */
    int have_diff;
    size_t diff_a, diff_b;  /* variant indices of finetune and joint */
    int diff_paired;        /* 1: models resampled paired by fine-tuning seed (sp_boot_pairing) */
    double *diff, *diff_lo, *diff_hi;
} run_state;

/* Appends a formatted warning line. */
sp_status run_warn(run_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* run_load.c: read models/, dataset labels; build variants and their prediction matrices. */
sp_status run_load(run_state *s);
void run_state_free(run_state *s);
void run_split_clear(run_split *sp);

/* run_write.c: analysis.h5 and the CSV files. */
sp_status run_write(const run_state *s);

#endif
