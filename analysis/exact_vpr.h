/* exact_vpr.h: exact viable prediction ranges of the two-class linear family over the convex level set of
 * its training objective (Watson-Daniels, Parkes & Ustun, AAAI 2023), instead of the range over sampled seeds.
 *
 * For two classes a model's predictions depend only on the margin m(x) = x.d + beta with d = W[:,1] - W[:,0]
 * and beta = b1 - b0, and among all (W, b) with the same (d, beta) the objective of linear.h is smallest at
 * the centred weights W = [-d/2, d/2], where it equals
 *     f(d, beta) = (1/R) sum_i softplus(-s_i (x_i.d + beta)) + (l2/4) ||d||^2,     s_i = +1 (y_i = 1), -1 (y_i = 0)
 * So the projection of the level set {(W, b) : L(W, b) <= L* + eps} onto (d, beta) is {f <= f* + eps}, f* = L*,
 * and the exact range of the margin of x over the level set is [min, max] of x.d + beta subject to
 * f(d, beta) <= f* + eps: a linear objective over a convex set. It is solved through its Lagrangian: for
 * t > 0, z(t) = argmin f(z) - t sigma m(z) (sigma = +1 for the max, -1 for the min) is a smooth strictly
 * convex problem (Newton with conjugate-gradient steps and exact Hessian-vector products); f(z(t)) grows
 * with t, and Newton steps on t (slope from the path's tangent, safeguarded by a regula falsi bracket) find
 * f(z(t)) = f* + eps. Every solve gives two certified
 * numbers: a feasible point (its margin is attained inside the set: an inner bound) and the dual bound
 * (c - min_z [f - t sigma m]) / t >= max over the set (an outer bound, up to the inner solve's Newton
 * decrement). The search stops when outer - inner <= tol.
 *
 *     sp_vpr_problem *p = NULL;
 *     if (sp_vpr_problem_alloc(&p, X, y, train_rows, n_train, l2) != SP_OK) ...;   // X: [rows, F] features
 *     if (sp_vpr_fit(p, d0, beta0, &opt) != SP_OK) ...;       // the optimum, from a warm start (may be NULL)
 *     sp_vpr_workspace *ws = sp_vpr_workspace_alloc(p);
 *     double eps[3] = {0.001, 0.01, 0.1};
 *     sp_vpr_range r[3];
 *     if (sp_vpr_solve(r, ws, p, cols, vals, k, eps, 3, &opt) != SP_OK) ...;   // one example x (k entries)
 *     sp_vpr_workspace_free(ws);
 *     sp_vpr_problem_free(p);
 *
 * Dimension letters: R training rows, F features of the hashed space, Fc features that occur in the
 * training rows (the others only enter the penalty; their part of each solve is closed-form), N = Fc + 1.
 */
#ifndef SPLINTER_EXACT_VPR_H
#define SPLINTER_EXACT_VPR_H

#include <stddef.h>
#include <stdint.h>

#include "linear.h"
#include "sparse.h"
#include "status.h"

typedef struct {
    double tol;          /* stop a range when outer - inner margin <= tol * max(1, |inner|) (default 1e-6) */
    int max_outer;       /* secant steps on t per example, side and epsilon (default 60) */
    int max_newton;      /* Newton iterations per inner solve (default 100) */
    int max_cg;          /* conjugate-gradient iterations per Newton step (default 1000) */
    double fit_grad_tol; /* the optimum: stop when ||grad f|| <= fit_grad_tol (default 1e-11) */
    size_t precond_max_rows; /* precondition the range solves with H(z_star)^{-1} (R^2 doubles, O(R^3) once)
                              * when R <= this (default 4096; 0: Jacobi only) */
} sp_vpr_options;

sp_vpr_options sp_vpr_options_default(void);

typedef struct {
    double l2;
    size_t n_features;   /* F */
    sp_linear_trainset *ts; /* training rows with compact feature ids, labels */
    int32_t *full_id;    /* [Fc] full feature id of each compact id */
    double *s;           /* [R] label sign +1 / -1 */
    double *z_star;      /* [N] (d restricted to the training features, beta) at the optimum */
    double f_star;       /* f at the optimum (0 before sp_vpr_fit) */
    double fit_grad_norm; /* ||grad f|| at z_star */
    struct sp_vpr_precond *pc; /* H(z_star)^{-1} for the conjugate gradients of sp_vpr_solve (exact_precond.h) */
} sp_vpr_problem;

/* The margin range of one example at one epsilon (margins; sigmoid gives class-1 probabilities). */
typedef struct {
    double lo, hi;         /* outer bounds: no point of the set has a margin outside [lo, hi] */
    double lo_in, hi_in;   /* inner bounds: margins attained by points of the set (lo <= lo_in, hi_in <= hi) */
    int converged;         /* 1 if both sides met the tolerance */
    int solves;            /* inner solves used for this epsilon (both sides) */
} sp_vpr_range;

/* The training problem of rows[0..n-1] of X (labels y indexed by row, two classes) with penalty l2 > 0.
 * SP_ERR_USAGE if l2 <= 0; SP_ERR_INPUT (naming the row) for a label outside {0, 1}, and when the rows
 * hold a single class (the optimum is then not finite). */
sp_status sp_vpr_problem_alloc(sp_vpr_problem **out, const sp_csr *X, const int32_t *y, const size_t *rows,
                               size_t n, double l2);
void sp_vpr_problem_free(sp_vpr_problem *p);

/* Computes the optimum z_star, f_star by Newton-CG from the warm start d0[F] (full feature space, may be
 * NULL = 0) and beta0, then (R <= o->precond_max_rows) the preconditioner p->pc of the range solves.
 * SP_ERR_NUMERIC if ||grad f|| does not reach o->fit_grad_tol. */
sp_status sp_vpr_fit(sp_vpr_problem *p, const double *d0, double beta0, const sp_vpr_options *o);

/* f(d, beta) for a model given by its full-space d[F] and beta (the objective of its centred weights). */
double sp_vpr_objective(const sp_vpr_problem *p, const double *d, double beta);

/* The margin x.d + beta of the optimum for the example (cols[k] full feature ids, vals[k]). */
double sp_vpr_margin_star(const sp_vpr_problem *p, const int32_t *cols, const float *vals, size_t k);

/* Per-thread scratch of sp_vpr_solve (a few N- and R-vectors). NULL on allocation failure. */
typedef struct sp_vpr_workspace sp_vpr_workspace;
sp_vpr_workspace *sp_vpr_workspace_alloc(const sp_vpr_problem *p);
void sp_vpr_workspace_free(sp_vpr_workspace *ws);

/* Work done with a workspace so far: Hessian-vector products (two passes over the training non-zeros each)
 * and Newton steps. */
void sp_vpr_workspace_counters(size_t *n_hvp, size_t *n_newton, const sp_vpr_workspace *ws);

/* out[n_eps]: the margin range of example x (cols[k] in [0, F), vals[k]) over {f <= f* + eps[e]} for each
 * eps[e] >= 0 (any order; eps 0 gives the single point z_star). Needs sp_vpr_fit first. A range that does not
 * meet the tolerance within the step limits is still returned with its certified bounds and converged = 0.
 * Deterministic; thread-safe for distinct workspaces. SP_ERR_NUMERIC if an inner solve produces NaN. */
sp_status sp_vpr_solve(sp_vpr_range *out, sp_vpr_workspace *ws, const sp_vpr_problem *p, const int32_t *cols,
                       const float *vals, size_t k, const double *eps, size_t n_eps, const sp_vpr_options *o);

#endif
