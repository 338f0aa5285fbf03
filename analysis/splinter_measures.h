/* splinter_measures.h: feature splintering of one model pair: do features that agree in domain come apart
 * out of domain? Behavioural, representational, alignment, unit and probe levels (docs/similarity.md).
 *
 * Everything fitted (the orthogonal map, the unit matching, the probes) is fitted on a random "fit" share
 * of the ID inputs and scored on the rest of the ID inputs ("held-out") and on the OOD inputs, so an ID
 * score is never a training score.
 *
 *     sp_splinter_options opt;
 *     sp_splinter_options_default(&opt);                 // fit share 0.5, delta 0.2, ...
 *     sp_splinter_layer L;
 *     if (sp_splinter_pair(&L, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, labels_id, 2, &opt) != SP_OK)
 *         return ...;
 *     // L.s_rep[SP_SIM_DCKA], L.s_align, L.unit_splinter_frac, L.s_probe, L.probe_cosine
 *     double s_beh, d_id, d_ood;
 *     sp_splinter_behaviour(&s_beh, &d_id, &d_ood, pa_id, pb_id, n_id, pa_ood, pb_ood, n_ood);
 *
 * Shapes: a_* float32 [n, da] (model a), b_* float32 [n, db] (model b), row i of a_id and b_id is the same
 * input (likewise for OOD). labels int32 [n_id] in [0, n_classes).
 */
#ifndef SPLINTER_SPLINTER_MEASURES_H
#define SPLINTER_SPLINTER_MEASURES_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Representational measures, as similarities (higher = more alike). Procrustes enters as 1 - d^2 / 2
 * = ||A^T B||_* (normalised), in [0, 1]. */
enum { SP_SIM_CKA = 0, SP_SIM_DCKA = 1, SP_SIM_PROCRUSTES = 2, SP_SIM_MEASURES = 3 };
extern const char *const sp_sim_measure_names[SP_SIM_MEASURES]; /* "cka", "dcka", "procrustes" */

typedef struct {
    double fit_fraction;  /* share of the ID inputs that fit maps, matches and probes; (0, 1) */
    double unit_delta;    /* a matched unit pair splinters when corr_held-out - corr_OOD > unit_delta */
    double unit_min_corr; /* only pairs with held-out ID correlation >= this count as agreeing in domain */
    double probe_l2;      /* probe objective: mean cross-entropy + probe_l2 / 2 * ||W||_F^2 */
    int probe_max_iter;   /* BFGS iterations per probe */
    uint64_t seed;        /* the fit / held-out partition of the ID inputs */
    size_t cca_k;         /* CCA alignment map: canonical directions kept (clipped to the smaller width) */
    double cca_ridge;     /* CCA alignment map: covariance ridge, relative to the mean variance (> 0) */
} sp_splinter_options;

/* fit_fraction 0.5, unit_delta 0.2, unit_min_corr 0.5, probe_l2 1e-3, probe_max_iter 200, seed 0, cca_k 10,
 * cca_ridge 0.01. */
void sp_splinter_options_default(sp_splinter_options *opt);

typedef struct {
    /* representational: similarity on all ID inputs and on all OOD inputs; s_rep = sim_id - sim_ood */
    double sim_id[SP_SIM_MEASURES], sim_ood[SP_SIM_MEASURES], s_rep[SP_SIM_MEASURES];
    /* alignment transfer: residual ||A R - B||_F^2 of the orthogonal map R fitted on the fit share, each
     * set centred and scaled to unit Frobenius norm (so residuals are Procrustes-like, in [0, 4]) */
    double align_fit, align_heldout, align_ood;
    double align_ood_refit; /* the best orthogonal map fitted on OOD itself: its Procrustes d^2 */
    double s_align;         /* align_ood - align_heldout */
    /* alignment transfer with the CCA map (analysis/cca_map.h) fitted on the fit share: mean correlation of
     * its top cca_k canonical variate pairs on each set (1 = perfectly aligned) */
    size_t align_cca_k;     /* directions used: min(cca_k, da, db) */
    double align_cca_fit, align_cca_heldout, align_cca_ood;
    double s_align_cca;     /* align_cca_heldout - align_cca_ood */
    /* units: max-correlation one-to-one matching (Hungarian) on the fit share */
    size_t unit_pairs;         /* matched pairs with held-out ID correlation >= unit_min_corr */
    double unit_corr_id;       /* their mean held-out ID correlation (NAN if unit_pairs == 0) */
    double unit_corr_ood;      /* their mean OOD correlation (NAN if unit_pairs == 0) */
    double unit_splinter_frac; /* share of them whose correlation drops by more than unit_delta (NAN if 0) */
    /* probes (only when labels were given; else has_probes = 0 and the fields are NAN) */
    int has_probes;
    double probe_acc_a, probe_acc_b;   /* held-out ID accuracy of each model's probe */
    double probe_agree_id;             /* share of held-out ID inputs where both probes predict alike */
    double probe_agree_ood;            /* the same on OOD inputs */
    double s_probe;                    /* probe_agree_id - probe_agree_ood */
    double probe_cosine;               /* cosine of probe directions after the orthogonal map */
} sp_splinter_layer;

/* All measures above for one layer of one pair (see the file comment for shapes). labels_id may be NULL
 * (n_classes ignored): no probes. Needs n_id >= 8, n_ood >= 4. SP_ERR_USAGE on bad options or sizes,
 * SP_ERR_INPUT on a label outside [0, n_classes) or a fit share holding one class only, SP_ERR_NUMERIC on
 * constant or non-finite activations. Deterministic for given options (seed) and any thread count. */
sp_status sp_splinter_pair(sp_splinter_layer *out, const float *a_id, const float *b_id, size_t n_id,
                           const float *a_ood, const float *b_ood, size_t n_ood, size_t da, size_t db,
                           const int32_t *labels_id, size_t n_classes, const sp_splinter_options *opt);

/* The per-model half of sp_splinter_pair, to reuse across pairs: with M models, prepare each model once
 * (partition, normalised copies, its probe) and call sp_splinter_pair_prepared for every pair; probes are then
 * fitted M times instead of M (M - 1). The model borrows id [n_id, d] and ood [n_ood, d]: keep them alive
 * until sp_splinter_model_free. Same checks and errors as sp_splinter_pair. Memory: about
 * 2 (n_id + n_ood) d doubles. */
typedef struct sp_splinter_model sp_splinter_model;
sp_status sp_splinter_model_prepare(sp_splinter_model **out, const float *id, size_t n_id, const float *ood,
                                    size_t n_ood, size_t d, const int32_t *labels_id, size_t n_classes,
                                    const sp_splinter_options *opt);
void sp_splinter_model_free(sp_splinter_model *m);

/* Concept probes (docs/splintering.md, "Concept probes"): binary targets of each concept on the ID and OOD
 * inputs (1 = the input's text has the concept), probed like the label on the same coordinates. */
typedef struct {
    size_t n_concepts;
    const uint8_t *id;  /* [n_concepts][n_id] */
    const uint8_t *ood; /* [n_concepts][n_ood] */
} sp_concept_targets;

/* sp_splinter_model_prepare plus one binary logistic probe per concept (same objective, options and
 * coordinates as the label probe; fitted on the fit share). A concept whose fit share holds one class is
 * left undefined (its pair results NAN), not an error. concepts may be NULL. */
sp_status sp_splinter_model_prepare_concepts(sp_splinter_model **out, const float *id, size_t n_id, const float *ood,
                                             size_t n_ood, size_t d, const int32_t *labels_id, size_t n_classes,
                                             const sp_concept_targets *concepts, const sp_splinter_options *opt);

/* One concept of one pair. */
typedef struct {
    int defined;                  /* 0 when either model's probe is undefined (the fields below are NAN) */
    double acc_id_a, acc_id_b;    /* held-out ID accuracy of each model's probe against the concept targets */
    double acc_ood_a, acc_ood_b;  /* OOD accuracy likewise */
    double bacc_id_a, bacc_id_b;  /* balanced accuracy (mean recall of the two classes) on held-out ID */
    double bacc_ood_a, bacc_ood_b; /* and on OOD: 0.5 for a probe that predicts one class only */
    double agree_id, agree_ood;   /* share of held-out ID / OOD inputs where both probes predict alike */
    double s_probe;               /* agree_id - agree_ood */
    double cosine;                /* cosine of the probe directions after the orthogonal (Procrustes) map */
} sp_concept_pair;

/* sp_splinter_pair_prepared plus concepts [n_concepts] (NULL: none) for models prepared with the same
 * concept targets. */
sp_status sp_splinter_pair_concepts(sp_splinter_layer *out, sp_concept_pair *concepts, const sp_splinter_model *a,
                                    const sp_splinter_model *b, const sp_splinter_options *opt);

/* sp_splinter_pair for two prepared models (a first); SP_ERR_USAGE if they were prepared on different
 * input counts, seeds or fit shares, or only one with labels. Thread-safe on shared prepared models. */
sp_status sp_splinter_pair_prepared(sp_splinter_layer *out, const sp_splinter_model *a, const sp_splinter_model *b,
                                    const sp_splinter_options *opt);

/* Behavioural splintering: d_id = share of ID inputs where the predicted classes differ, d_ood likewise,
 * s_beh = d_ood - d_id. */
sp_status sp_splinter_behaviour(double *s_beh, double *d_id, double *d_ood, const int32_t *pred_a_id,
                                const int32_t *pred_b_id, size_t n_id, const int32_t *pred_a_ood,
                                const int32_t *pred_b_ood, size_t n_ood);

/* Percentile bootstrap over inputs for one pair and layer: ID and OOD inputs are resampled (with
 * replacement, independently) n_boot times and sp_splinter_pair (without probes) rerun on each resample. */
typedef struct {
    double est, lo, hi; /* estimate on the original inputs; interval bounds */
} sp_interval;

typedef struct {
    sp_interval s_rep[SP_SIM_MEASURES];
    sp_interval s_align;
    sp_interval unit_splinter_frac; /* resamples with no agreeing unit pair are left out */
} sp_splinter_intervals;

/* level in (0, 1), e.g. 0.95; seed drives the resampling (the bootstrap stream). n_boot >= 2. */
sp_status sp_splinter_pair_bootstrap(sp_splinter_intervals *ci, const float *a_id, const float *b_id,
                                     size_t n_id, const float *a_ood, const float *b_ood, size_t n_ood,
                                     size_t da, size_t db, const sp_splinter_options *opt, size_t n_boot,
                                     double level, uint64_t seed);

/* Maximum-weight one-to-one assignment (Hungarian algorithm, O(r^2 c)): match[i] is the column given to
 * row i of w [rows, cols] (row-major); needs rows <= cols. */
sp_status sp_assignment_max(size_t *match, const double *w, size_t rows, size_t cols);

/* L2-regularised multinomial logistic probe: W [d, C] and bias [C] minimise
 * mean_i -log softmax(x_i W + bias)_{y_i} + l2 / 2 ||W||_F^2 (BFGS, GSL). X double [n, d]. */
sp_status sp_probe_fit(double *W, double *bias, const double *X, const int32_t *y, size_t n, size_t d,
                       size_t n_classes, double l2, int max_iter);

/* Predicted classes pred [n] of a probe on X double [n, d]. */
void sp_probe_predict(int32_t *pred, const double *W, const double *bias, const double *X, size_t n, size_t d,
                      size_t n_classes);

#endif
