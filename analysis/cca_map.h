/* cca_map.h: the CCA alignment map between two representations of the same inputs, fitted on one set of
 * inputs and scored on others (alignment transfer S_align with a CCA map; docs/similarity.md).
 *
 * Fit (on n inputs, each side centred by its own column means):
 *   S_aa = A^T A / (n - 1) + ridge * (tr(A^T A / (n - 1)) / p) I   (likewise S_bb, width q)
 *   M = S_aa^{-1/2} (A^T B / (n - 1)) S_bb^{-1/2} = P diag(s) Q^T   (s decreasing)
 *   Ua = S_aa^{-1/2} P[:, :k],  Ub = S_bb^{-1/2} Q[:, :k]         (the top-k canonical directions)
 * s[0..k) are the (ridge-regularised) canonical correlations on the fitting inputs. Score on another set:
 * rho_i = Pearson correlation of A_S Ua e_i and B_S Ub e_i (signed; 0 when either is constant), and the
 * score is the mean of rho_0..rho_{k-1}.
 *
 *     double Wa[p * p], Wb[q * q], Ua[p * k], Ub[q * k], s[k], rho[k], mean;
 *     sp_cca_whitener(Wa, A_fit, n_fit, p, 0.01);
 *     sp_cca_whitener(Wb, B_fit, n_fit, q, 0.01);
 *     sp_cca_map_fit(Ua, Ub, s, Wa, Wb, A_fit, B_fit, n_fit, p, q, k);
 *     sp_cca_map_score(rho, &mean, Ua, Ub, A_ood, B_ood, n_ood, p, q, k);
 *
 * Matrices are double, row-major: A [n, p], B [n, q], W [p, p], U [p, k].
 */
#ifndef SPLINTER_CCA_MAP_H
#define SPLINTER_CCA_MAP_H

#include <stddef.h>

#include "status.h"

/* W [p, p] = S^{-1/2} with S the ridge-regularised covariance of X [n, p] above (symmetric; from the
 * eigendecomposition of S). Needs n >= 2 and ridge > 0; SP_ERR_NUMERIC when X is constant (tr S = 0) or
 * not finite. */
sp_status sp_cca_whitener(double *W, const double *X, size_t n, size_t p, double ridge);

/* The top-k canonical directions Ua [p, k], Ub [q, k] and correlations s [k] of A [n, p] and B [n, q],
 * given their whiteners from sp_cca_whitener on the same A and B. 1 <= k <= min(p, q). A direction beyond
 * the rank of the cross-covariance (s_i = 0) is left zero. */
sp_status sp_cca_map_fit(double *Ua, double *Ub, double *s, const double *Wa, const double *Wb, const double *A,
                         const double *B, size_t n, size_t p, size_t q, size_t k);

/* rho [k] (may be NULL) and their mean: the correlations of the canonical variates on A [n, p], B [n, q]
 * (centred by their own means here). n >= 2. */
sp_status sp_cca_map_score(double *rho, double *mean, const double *Ua, const double *Ub, const double *A,
                           const double *B, size_t n, size_t p, size_t q, size_t k);

#endif
