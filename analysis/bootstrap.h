/* bootstrap.h: the Multi-Bootstrap (Sellam et al., ICLR 2022) and a nested variance decomposition.
 *
 * One replicate resamples seeds and examples jointly: models are drawn in two stages that follow the
 * nesting of fine-tuning seeds in pretraining seeds (groups with replacement, then models within each
 * drawn group with replacement; a model with no group is its own group), and each split's examples are
 * drawn with replacement (example weights w_i = times drawn). Every replicate b draws from its own
 * generator seeded sp_seed_for(seed, "<purpose>", b), so replicates are independent of thread count and
 * order, and two variants compared with the same example purpose string are paired by example.
 * Intervals are percentile intervals of the finite replicates.
 *
 * A difference of two variants can also be paired by seed (sp_boot_pairing): when both variants trained the
 * same set of F fine-tuning seeds (in every pretraining group of a nested variant), a replicate draws F
 * fine-tuning seeds once and both variants use the models of those seeds; a nested variant still draws
 * its pretraining groups with replacement and uses the drawn seeds in every drawn group.
 *
 *     sp_boot_groups *g = NULL; sp_boot_groups_alloc(&g, pretrain_seed_of_model, M);
 *     size_t *draw = malloc(sp_boot_groups_max_draw(g) * sizeof *draw), k;
 *     gsl_rng *r = sp_rng_alloc(sp_seed_for(seed, "models:finetune", b));
 *     sp_boot_draw_models(draw, NULL, &k, g, r);
 *     ...; sp_boot_percentile(&lo, &hi, reps, B, 0.95);
 */
#ifndef SPLINTER_BOOTSTRAP_H
#define SPLINTER_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#include "status.h"

typedef struct {
    size_t n_models;     /* M */
    size_t n_groups;     /* G */
    size_t *group_start; /* [G + 1] offsets into members */
    size_t *members;     /* [M] model indices, grouped, ascending within a group */
    size_t *group_of;    /* [M] group index of each model */
    size_t max_group;    /* largest group size */
} sp_boot_groups;

/* Groups models by key (models with equal key share a group; groups ordered by first appearance);
 * key == NULL puts every model in its own group (a plain bootstrap of models). M >= 1. */
sp_status sp_boot_groups_alloc(sp_boot_groups **out, const uint64_t *key, size_t n_models);
void sp_boot_groups_free(sp_boot_groups *g);

/* Capacity a draw buffer needs: G * max_group. */
size_t sp_boot_groups_max_draw(const sp_boot_groups *g);

/* One nested draw of model indices into out[0..*k). slot (may be NULL) gets, for each draw, which of the
 * G group draws it came from (0..G-1): a group drawn twice counts as two groups in a nested analysis. */
void sp_boot_draw_models(size_t *out, size_t *slot, size_t *k, const sp_boot_groups *g, gsl_rng *r);

/* w[i] = number of times example i is drawn in n draws with replacement. w: [n]. */
void sp_boot_example_weights(double *w, size_t n, gsl_rng *r);

/* Two variants' models matched by fine-tuning seed. Variant v (0, 1) is a grid of G_v pretraining groups x
 * the same F fine-tuning seeds, one model per cell. */
typedef struct {
    size_t n_seeds;     /* F */
    size_t n_groups[2]; /* G_0, G_1 */
    size_t *cell[2];    /* [G_v][F] model index of (group, seed); seeds in ascending order */
} sp_boot_pairing;

/* Matches variant 0 (seed0[m], group0[m] for its M0 models) with variant 1 (seed1, group1, M1) on the
 * fine-tuning seed. group_v[m] in 0..n_groups_v-1 is model m's pretraining group (group_v == NULL: one
 * group). *out = NULL with SP_OK when they cannot be paired: some group lacks a seed of the other
 * variant's set or holds a seed twice, or the two seed sets differ. */
sp_status sp_boot_pairing_alloc(sp_boot_pairing **out, const uint64_t *seed0, const size_t *group0,
                                size_t n_groups0, size_t M0, const uint64_t *seed1, const size_t *group1,
                                size_t n_groups1, size_t M1);
void sp_boot_pairing_free(sp_boot_pairing *p);

/* One paired draw: seed_draw[0..F) = F fine-tuning seed indices (into the sorted seed set) drawn with
 * replacement from r_seed, shared by both variants; then for each variant v, G_v groups with replacement
 * from r_group_v (no draw when G_v = 1) and, in each drawn group j, the models of the drawn seeds in draw
 * order. out_v: [G_v * F] model indices; slot_v (may be NULL): [G_v * F] the group draw j each model came
 * from, as in sp_boot_draw_models. */
void sp_boot_draw_paired(size_t *seed_draw, size_t *out0, size_t *slot0, size_t *out1, size_t *slot1,
                         const sp_boot_pairing *p, gsl_rng *r_seed, gsl_rng *r_group0, gsl_rng *r_group1);

/* Percentile interval at `level` (e.g. 0.95) of the finite values in reps[0..B) (quantiles by linear
 * interpolation, GSL's definition); NaN bounds when fewer than 2 finite values. reps is not modified. */
sp_status sp_boot_percentile(double *lo, double *hi, const double *reps, size_t B, double level);

/* Nested one-way random-effects model y_gj = mu + a_g + e_gj (pretraining seed g, fine-tuning seed j),
 * estimated by ANOVA (method of moments, unbalanced groups through n0):
 *   MSB = sum_g n_g (ybar_g - ybar)^2 / (G - 1),  MSW = sum_gj (y_gj - ybar_g)^2 / (N - G),
 *   n0 = (N - sum_g n_g^2 / N) / (G - 1),
 *   var_within = MSW,  var_between = max(0, (MSB - MSW) / n0)   (truncated at 0; raw value kept).
 * Needs G >= 2 groups and N > G observations (some group with >= 2 models). */
typedef struct {
    double mean;
    double var_between;     /* pretraining-seed component */
    double var_between_raw; /* (MSB - MSW) / n0 before truncation, may be negative */
    double var_within;      /* fine-tuning-seed component */
    double share_between;   /* var_between / (var_between + var_within); NaN if both are 0 */
    size_t n_groups, n;
} sp_nested_var;

/* group_of[j] in 0..G-1 for each observation j. SP_ERR_USAGE if the design is too small. */
sp_status sp_nested_variance(sp_nested_var *out, const double *y, const size_t *group_of, size_t n,
                             size_t n_groups);

#endif
