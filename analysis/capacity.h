/* capacity.h: Rashomon capacity (Hsu & Calmon, NeurIPS 2022) by the Blahut-Arimoto algorithm.
 *
 * For one example x the M models' probability vectors g_1(x)..g_M(x) are the rows of a channel from
 * "which model" to "which class". Its capacity C(x) = max_{P_M} I(M; Y) (in bits) measures how many
 * distinguishable predictions the set holds; RC(x) = 2^C(x) lies in [1, min(M, C)].
 *
 * Blahut-Arimoto with certified stopping: at any input distribution p, Blahut's bounds
 * I_L = ln sum_m p_m e^{D_m} <= C <= I_U = max_m D_m hold (nats, D_m = KL(W_m || q), q = p W). We iterate
 * until (best I_U) - (best I_L) <= SP_CAPACITY_TOL (1e-10 nats, so RC = e^C is within ~2e-10 relative) or
 * SP_CAPACITY_MAX_ITER iterations, and return the best lower bound. Plain BA (p <- p e^D / z) crawls when
 * the rows nearly coincide (e.g. every model says 0.999): the steps scale with the spread of D. So each
 * iteration tries an over-relaxed step p <- p e^{s D} / z with s doubling after every accepted step, keeps
 * it only if the mutual information I(p) = sum p_m D_m does not decrease, and otherwise falls back towards
 * s = 1, the plain BA step, which never decreases I. The bounds make the answer certified whatever the
 * steps did. With exactly two rows the same bounds stop a safeguarded secant iteration on BA's fixed-point
 * condition D_0 = D_1 in the log-odds of p (BA's own step is the fallback), ~6 evaluations per example.
 * Rows are renormalised to sum 1 in double. With more than two classes, near-duplicate
 * extreme rows (two models at 0.924 and 0.9240001) still make the full channel ill-conditioned and can hit
 * the cap; the result is then a lower bound within the final gap, and callers count such examples.
 * Two classes: the capacity of a channel depends only on the extreme points of the convex hull of its
 * rows (KL(w || q) is convex in w, so max_m KL(W_m || q) sits at a vertex and C = min_q max_m KL), and with
 * two classes those are the rows with the smallest and largest g(x)_1 (rows compared by renormalised
 * g(x)_1, in double). The capacity of that 2-row binary channel has a closed form (sp_capacity_binary):
 * the optimal output probability q* solves ln((1 - q*) / q*) = (h(b) - h(a)) / (b - a), and C = KL(b || q*)
 * = KL(a || q*). sp_rashomon_capacity uses it for two classes; Blahut-Arimoto stays for more classes and
 * is the reference the closed form is tested against. With more classes all member rows enter.
 *
 *     double rc[n];
 *     size_t capped;
 *     if (sp_rashomon_capacity(rc, &capped, pm, member) != SP_OK) ...;
 */
#ifndef SPLINTER_CAPACITY_H
#define SPLINTER_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

#include "predmatrix.h"
#include "status.h"

#define SP_CAPACITY_TOL 1e-10
#define SP_CAPACITY_MAX_ITER 10000

typedef struct {
    size_t max_rows;
    int n_classes;
    double *W;    /* [max_rows][C] channel rows */
    double *p;    /* [2][max_rows] input distribution, current and trial */
    double *d;    /* [2][max_rows] KL(W_m || q), current and trial */
    double *q;    /* [C] output distribution */
} sp_capacity_ws;

/* Workspace for channels of up to max_rows rows and n_classes columns. */
sp_status sp_capacity_ws_alloc(sp_capacity_ws **out, size_t max_rows, int n_classes);
void sp_capacity_ws_free(sp_capacity_ws *ws);

/* Capacity in bits of the channel held in ws->W (rows 0..M-1, each a probability vector; rows are
 * renormalised in place). *iterations (may be NULL) gets the number of accepted steps + 1;
 * SP_CAPACITY_MAX_ITER + 1 means the cap was hit before the tolerance (the value is then a lower bound).
 * M >= 1. */
double sp_capacity_blahut_arimoto(sp_capacity_ws *ws, size_t M, int *iterations);

/* Capacity in bits of the binary-output channel with the two rows (1 - a, a) and (1 - b, b), a, b in
 * [0, 1] in either order: 0 when a == b, 1 for {0, 1}, 1 - H(a) for b = 1 - a. Closed form (see the top of
 * this file), accurate to ~1e-15 in absolute terms, also when a and b nearly coincide. */
double sp_capacity_binary(double a, double b);

/* rc[i] = Rashomon capacity 2^C(x_i) of the members (NULL = all models), for every example, in parallel
 * over examples. Two classes: the extreme members by renormalised P(class 1), then sp_capacity_binary;
 * more classes: Blahut-Arimoto on all member rows. *n_capped (may be NULL) = examples that hit the
 * iteration cap (always 0 for two classes). Each example's value is independent of the thread count.
 * rc: [n]. */
sp_status sp_rashomon_capacity(double *rc, size_t *n_capped, const sp_predmatrix *pm, const uint8_t *member);

#endif
