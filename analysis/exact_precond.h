/* exact_precond.h: an exact-inverse preconditioner for the Hessians of exact_vpr.c, built once at the
 * optimum's curvatures. The Hessian of the two-class objective on z = (u[Fc], beta) is
 *     H(D) = X~^T diag(D) X~ + diag(c on u, 0 on beta),   X~ = [X, 1] (R training rows), c = l2 / 2,
 * and R (a few thousand rows) is far below N = Fc + 1 (10^5 features), so H(D*)^{-1} is applied exactly through
 * the Woodbury identity on the R x R matrix c I + S X X^T S (S = diag(sqrt D*)), with the bias eliminated by
 * its Schur complement. As a preconditioner for H(D) at nearby points, the preconditioned spectrum lies
 * between the smallest and largest ratio D_i / D*_i (and 1), so conjugate gradients need few iterations.
 *
 *     sp_vpr_precond *pc = NULL;
 *     if (sp_vpr_precond_build(&pc, X, D_star, l2 / 2) != SP_OK) ...;   // X: [R, Fc] compact training rows
 *     sp_vpr_precond_apply(y, pc, r, scratch);                          // y = H(D*)^{-1} r, scratch[R]
 *     sp_vpr_precond_free(pc);
 */
#ifndef SPLINTER_EXACT_PRECOND_H
#define SPLINTER_EXACT_PRECOND_H

#include "sparse.h"
#include "status.h"

typedef struct sp_vpr_precond sp_vpr_precond;

/* Builds H(D)^{-1} for the rows of X (column ids < X->n_cols = Fc) at curvatures D[R] >= 0 and c > 0.
 * O(R^2 nnz/R + R^3 / 3) time, R^2 doubles. SP_ERR_NOMEM on allocation failure, SP_ERR_NUMERIC if the
 * factorisation fails (sum D = 0 leaves the bias undetermined). */
sp_status sp_vpr_precond_build(sp_vpr_precond **out, const sp_csr *X, const double *D, double c);
void sp_vpr_precond_free(sp_vpr_precond *pc);

/* Number of training rows R (the length of the scratch of sp_vpr_precond_apply). */
size_t sp_vpr_precond_rows(const sp_vpr_precond *pc);

/* y[N] = H(D)^{-1} r[N] (N = Fc + 1, bias last); scratch[R]. y and r must not overlap. */
void sp_vpr_precond_apply(double *y, const sp_vpr_precond *pc, const double *r, double *scratch);

#endif
