/* similarity.h: representation similarity between layers of models run on the same inputs.
 *
 * Measures (exact definitions in docs/similarity.md): linear CKA, debiased CKA (unbiased HSIC), orthogonal
 * Procrustes distance, CCA / SVCCA / PWCCA. Every function centres its inputs itself.
 *
 *     // M models, one layer, same n inputs: acts[m] is float32 [n, dims[m]] row-major.
 *     double *cka = malloc(M * M * sizeof *cka);
 *     if (sp_similarity_all_pairs(cka, NULL, NULL, acts, dims, M, n) != SP_OK) return ...;
 *     // cka[a * M + b] is linear CKA of models a and b (symmetric, diagonal 1).
 *
 *     sp_cca_result r;
 *     sp_cca(&r, NULL, X, Y, n, p, q, 0.99);     // SVCCA: r.mean_rho; PWCCA: r.pwcca; check r.warning
 *
 * Precision: activations are float32; centring (column means), row norms, every sum of squares, the HSIC
 * terms and all eigen- and singular value decompositions are in double. The cross products X_a^T X_b are
 * one float32 SYRK (OpenBLAS accumulates each entry in float32); against a float64 reference this costs
 * about 1e-7 (docs/similarity.md).
 */
#ifndef SPLINTER_SIMILARITY_H
#define SPLINTER_SIMILARITY_H

#include <stddef.h>

#include "status.h"

/* All-pairs similarity of M representations of the same n inputs (acts[m]: float32 [n, dims[m]]).
 * Centres every matrix once, stacks them into Z [n, sum dims] and forms Z^T Z with one symmetric rank-k
 * update; every pair's terms are read from its block (row norms only when debiased CKA or Procrustes is
 * asked). Outputs are [M, M] row-major, symmetric; pass NULL
 * for a measure you do not need (Procrustes costs one p x q eigendecomposition per pair):
 *   cka_linear     linear CKA in [0, 1] (diagonal 1);
 *   cka_debiased   debiased CKA (unbiased HSIC; needs n >= 4; can be slightly negative; diagonal 1);
 *   procrustes_d2  orthogonal Procrustes distance d^2 in [0, 2] (diagonal 0).
 * A matrix whose centred values are all zero has no similarity: SP_ERR_NUMERIC naming its index.
 * Pairs run in parallel (OpenMP); each pair's value is computed by one thread in a fixed order, so the
 * result does not depend on the thread count. Memory: 4 (n D + D^2) bytes for Z and G, D = sum of widths
 * (M = 50, d = 128, n = 5000: 290 MB); split very large model sets into groups with sp_similarity_cross. */
sp_status sp_similarity_all_pairs(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                                  const float *const *acts, const size_t *dims, size_t n_models, size_t n);

/* Cross-layer (or cross-model) matrix: entry [i, j] compares acts_a[i] with acts_b[j] (all on the same n
 * inputs), e.g. every layer of model a against every layer of model b. Outputs [n_a, n_b] row-major; NULL
 * skips a measure. Same definitions and precision as sp_similarity_all_pairs. */
sp_status sp_similarity_cross(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                              const float *const *acts_a, const size_t *dims_a, size_t n_a,
                              const float *const *acts_b, const size_t *dims_b, size_t n_b, size_t n);

/* Reusable buffers (the stacked matrix Z and its Gram matrix G, grown on demand) for callers that compare
 * many sets in a loop (every layer, every model pair): a loop of _ws calls with one workspace allocates and
 * first-touches them once instead of once per call (about 0.3 s per 128 MB of fresh pages on the 2-core
 * build machine, ~10% of an all-pairs call at M = 50, d = 128, n = 5000). One workspace per thread.
 *
 *     sp_similarity_workspace *w = sp_similarity_workspace_alloc();
 *     for (l = 0; l < L; l++) sp_similarity_all_pairs_ws(cka + l * M * M, NULL, NULL, acts + l * M, dims, M, n, w);
 *     sp_similarity_workspace_free(w);
 */
typedef struct sp_similarity_workspace sp_similarity_workspace;

/* An empty workspace (NULL when out of memory); buffers are allocated by the first call that uses it. */
sp_similarity_workspace *sp_similarity_workspace_alloc(void);

/* Releases w and its buffers (NULL is a no-op). */
void sp_similarity_workspace_free(sp_similarity_workspace *w);

/* sp_similarity_all_pairs and sp_similarity_cross with the buffers of w (not NULL). The cross form computes
 * only the Gram blocks it reads: each matrix's own block and the blocks between the two sides, not those
 * within a side. */
sp_status sp_similarity_all_pairs_ws(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                                     const float *const *acts, const size_t *dims, size_t n_models, size_t n,
                                     sp_similarity_workspace *w);
sp_status sp_similarity_cross_ws(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                                 const float *const *acts_a, const size_t *dims_a, size_t n_a,
                                 const float *const *acts_b, const size_t *dims_b, size_t n_b, size_t n,
                                 sp_similarity_workspace *w);

/* Switches GSL's default error handler (which aborts the process) off, once per process and thread-safely,
 * so GSL failures come back as status codes. Every function here calls it; callers of GSL elsewhere may too. */
void sp_gsl_quiet(void);

/* Single pairs: X float32 [n, p], Y float32 [n, q]. */
sp_status sp_cka_linear(double *out, const float *X, const float *Y, size_t n, size_t p, size_t q);
sp_status sp_cka_debiased(double *out, const float *X, const float *Y, size_t n, size_t p, size_t q);
sp_status sp_procrustes_distance(double *d2, const float *X, const float *Y, size_t n, size_t p, size_t q);

/* Nuclear norm (sum of singular values) of a double [rows, cols] row-major matrix, as the sum of square
 * roots of the eigenvalues of A^T A or A A^T (GSL symmetric eigensolver); within min(rows, cols) * 1.5e-8 *
 * ||A||_2 of an SVD's. SP_ERR_NOMEM or SP_ERR_NUMERIC on failure. */
sp_status sp_nuclear_norm(double *out, const double *A, size_t rows, size_t cols);

/* CCA family. */
typedef struct {
    size_t rank_x, rank_y; /* directions kept per side after centring (numerical rank, then truncation) */
    size_t n_rho;          /* canonical correlations = min(rank_x, rank_y) */
    size_t n_forced;       /* correlations equal to 1 by dimension alone: max(0, rank_x + rank_y - (n - 1)) */
    int warning;           /* 1 when n_forced > 0 (e.g. width >= n): the statistics say nothing then */
    double mean_rho;       /* mean canonical correlation (SVCCA when keep_var < 1) */
    double pwcca;          /* PWCCA similarity sum_i alpha_i rho_i, weights from X's side (asymmetric) */
} sp_cca_result;

/* Canonical correlation analysis of centred X float32 [n, p] and Y float32 [n, q]. Each side is reduced to
 * its top singular directions holding a share keep_var of its variance (0.99 = SVCCA, Raghu et al. 2017;
 * 1.0 = plain CCA over the numerical rank). rho (optional, room for min(p, q)) receives the canonical
 * correlations in decreasing order. PWCCA (Morcos et al. 2018) weights rho_i by alpha_i proportional to
 * sum_j |<h_i, x_j>| over X's centred units x_j and canonical variates h_i. Needs n >= 2, 0 < keep_var <= 1. */
sp_status sp_cca(sp_cca_result *res, double *rho, const float *X, const float *Y, size_t n, size_t p, size_t q,
                 double keep_var);

/* All pairs of M representations of the same n inputs: each side is centred and decomposed once, then every
 * ordered pair (a, b) gives mean_rho[a * M + b] (symmetric; SVCCA when keep_var < 1) and pwcca[a * M + b]
 * (weights from a's side; not symmetric). Diagonals are 1; NULL skips an output. n_warnings (optional)
 * counts unordered pairs with forced correlations (see sp_cca_result.warning). OpenMP over models, then
 * pairs; each value is computed by one thread, so results do not depend on the thread count. */
sp_status sp_cca_all_pairs(double *mean_rho, double *pwcca, size_t *n_warnings, const float *const *acts,
                           const size_t *dims, size_t n_models, size_t n, double keep_var);

#endif
