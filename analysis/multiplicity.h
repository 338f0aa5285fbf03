/* multiplicity.h: predictive multiplicity of a set of models against a reference model h_0.
 *
 * Metrics (definitions and sources in docs/metrics.md), for a member set S (NULL = every model) that
 * contains the reference `ref`, on the n examples of one split:
 *   ambiguity      (1/n) sum_i max_{m in S} 1[h_m(x_i) != h_0(x_i)]          (Marx, Calmon & Ustun 2020)
 *   discrepancy    max_{m in S} (1/n) sum_i 1[h_m(x_i) != h_0(x_i)]          (<= ambiguity)
 *   delta-ambiguity / delta-discrepancy: the same with 1[ max_c |g_m(x_i)_c - g_0(x_i)_c| >= delta ]
 *   viable prediction range [min_{m in S} g_m(x_i)_c, max_{m in S} g_m(x_i)_c]  (Watson-Daniels et al. 2023)
 *   seed disagreement mu(x) = 2 (1 - sum_c p_c^2), p_c = share of the B models predicting c (= 4p(1-p)
 *     for two classes; Kulynych et al. 2023), and its unbiased form B/(B-1) mu(x);
 *   self-consistency SC(x) = sum_c B_c (B_c - 1) / (B (B - 1)) (= 1 - 2 B0 B1 / (B (B - 1)); Cooper et al.
 *     2024) = 1 - B/(B-1) mu(x) / 2; NaN when B < 2;
 *   pairwise disagreement D(m, m') = (1/n) sum_i 1[h_m(x_i) != h_m'(x_i)]; churn(m) = D(m, h_0).
 * Example weights w_i (NULL = all 1) turn every mean over examples into sum_i w_i (.) / sum_i w_i, which
 * is how the bootstrap resamples examples (w_i = how often example i was drawn).
 *
 *     uint64_t *work = malloc(pm->n_words * sizeof *work);
 *     double amb = sp_mult_ambiguity(pm, ref, member, NULL, work);
 *     double dis = sp_mult_discrepancy(pm, ref, member, NULL, work);
 *     double *D = malloc(M * M * sizeof *D); sp_mult_pairwise(D, pm);
 */
#ifndef SPLINTER_MULTIPLICITY_H
#define SPLINTER_MULTIPLICITY_H

#include <stddef.h>
#include <stdint.h>

#include "predmatrix.h"

/* Ambiguity of S against ref. work: [W] words. */
double sp_mult_ambiguity(const sp_predmatrix *pm, size_t ref, const uint8_t *member, const double *ex_weight,
                         uint64_t *work);

/* flip[i] = 1 iff some member of S predicts a different class than ref on x_i. flip: [n]. */
void sp_mult_flips(uint8_t *flip, const sp_predmatrix *pm, size_t ref, const uint8_t *member,
                   uint64_t *work);

/* Discrepancy of S against ref. work: [W] words. */
double sp_mult_discrepancy(const sp_predmatrix *pm, size_t ref, const uint8_t *member, const double *ex_weight,
                           uint64_t *work);

/* delta-ambiguity and delta-discrepancy with the L-infinity distance over classes (for two classes:
 * |g_m(x)_1 - g_0(x)_1|). work: [n] bytes. */
void sp_mult_delta(double *delta_ambiguity, double *delta_discrepancy, const sp_predmatrix *pm, size_t ref,
                   const uint8_t *member, const double *ex_weight, double delta, uint8_t *work);

/* Viable prediction ranges. lo, hi: [n][C]. */
void sp_mult_vpr(float *lo, float *hi, const sp_predmatrix *pm, const uint8_t *member);

/* Per-example seed disagreement and self-consistency over a multiset of models: count[m] = how many times
 * model m is in it (NULL = every model once). mu, mu_unbiased, sc: [n]; mu_unbiased and sc are NaN when
 * the multiset has fewer than 2 models. */
void sp_mult_seed_disagreement(double *mu, double *mu_unbiased, double *sc, const sp_predmatrix *pm,
                               const uint32_t *count);

/* The M x M pairwise disagreement matrix D (symmetric, zero diagonal), by popcount over the packed
 * predictions, tiled and parallel over tiles (exact integer counts, so any thread count gives the same
 * bits). D: [M][M]. */
void sp_mult_pairwise(double *D, const sp_predmatrix *pm);

/* churn[m] = D(m, ref), the share of examples whose prediction differs from the reference's. churn: [M]. */
void sp_mult_churn(double *churn, const sp_predmatrix *pm, size_t ref);

#endif
