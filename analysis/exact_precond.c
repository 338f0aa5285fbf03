/* exact_precond.c: H(D)^{-1} through the Woodbury identity on the R x R training Gram matrix (see
 * exact_precond.h). With B = S X (S = diag(sqrt D)) the feature block is Hf = c I + B^T B, and
 *     Hf^{-1} = (1/c) (I - B^T (c I + B B^T)^{-1} B),
 * where c I + B B^T = c I + S X X^T S is dense R x R, symmetric positive definite with eigenvalues >= c, and
 * factorised once by Cholesky. The bias couples to every feature through h = X^T D 1; it is eliminated by
 * its Schur complement s = sum D - h' Hf^{-1} h, with v = Hf^{-1} h kept. Everything is serial and in a
 * fixed order, so the result does not depend on the thread count. The factorisation and the triangular
 * solves are written out rather than taken from GSL or LAPACK: those go through OpenBLAS, whose own threads
 * inside the OpenMP loop over examples would contend (core/blas_threads.h) and whose blocking would make
 * the bits depend on the BLAS thread count; at R = 1,800 the plain loops cost ~0.3 s once per run. */
#include "exact_precond.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sp_vpr_precond {
    const sp_csr *X; /* [R, Fc] borrowed: the training rows outlive the preconditioner */
    size_t R, Fc;
    double c;
    double *L;  /* [R, R] row-major lower Cholesky factor of c I + S X X^T S */
    double *sd; /* [R] sqrt D */
    double *v;  /* [Fc] Hf^{-1} h */
    double s;   /* the bias's Schur complement */
};

void sp_vpr_precond_free(sp_vpr_precond *pc)
{
    if (!pc) return;
    free(pc->L);
    free(pc->sd);
    free(pc->v);
    free(pc);
}

size_t sp_vpr_precond_rows(const sp_vpr_precond *pc) { return pc->R; }

/* a.b over n entries with eight partial sums in a fixed order (deterministic; the compiler vectorises the
 * lanes without reassociating anything). */
static double dot8(const double *a, const double *b, size_t n)
{
    double acc[8] = {0};
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[k + l] * b[k + l];
    for (; k < n; k++) acc[0] += a[k] * b[k];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* In place: x[R] = (L L^T)^{-1} x, L[R, R] lower row-major. */
static void chol_solve(double *x, const double *L, size_t R)
{
    for (size_t i = 0; i < R; i++) x[i] = (x[i] - dot8(L + i * R, x, i)) / L[i * R + i];
    for (size_t i = R; i-- > 0;) { /* L^T x = b by columns of L^T = rows of L, contiguous */
        x[i] /= L[i * R + i];
        const double *li = L + i * R;
        for (size_t k = 0; k < i; k++) x[k] -= li[k] * x[i];
    }
}

/* out[Fc] = Hf^{-1} r[Fc]; a[R] scratch. */
static void feature_solve(double *out, const sp_vpr_precond *pc, const double *r, double *a)
{
    const sp_csr *X = pc->X;
    for (size_t i = 0; i < pc->R; i++) {
        double q = 0;
        for (int64_t j = X->row_ptr[i]; j < X->row_ptr[i + 1]; j++) q += (double)X->val[j] * r[X->col[j]];
        a[i] = pc->sd[i] * q;
    }
    chol_solve(a, pc->L, pc->R);
    const double ic = 1.0 / pc->c;
    for (size_t j = 0; j < pc->Fc; j++) out[j] = r[j];
    for (size_t i = 0; i < pc->R; i++) {
        double w = pc->sd[i] * a[i];
        for (int64_t j = X->row_ptr[i]; j < X->row_ptr[i + 1]; j++) out[X->col[j]] -= (double)X->val[j] * w;
    }
    for (size_t j = 0; j < pc->Fc; j++) out[j] *= ic;
}

sp_status sp_vpr_precond_build(sp_vpr_precond **out, const sp_csr *X, const double *D, double c)
{
    *out = NULL;
    const size_t R = X->n_rows, Fc = X->n_cols;
    sp_vpr_precond *pc = calloc(1, sizeof *pc);
    double *w = NULL, *h = NULL;
    if (!pc) return sp_fail(SP_ERR_NOMEM, "out of memory for the exact-range preconditioner");
    pc->X = X, pc->R = R, pc->Fc = Fc, pc->c = c;
    pc->L = malloc((R ? R * R : 1) * sizeof *pc->L);
    pc->sd = malloc((R ? R : 1) * sizeof *pc->sd);
    pc->v = malloc((Fc ? Fc : 1) * sizeof *pc->v);
    w = calloc(Fc > R ? Fc : R ? R : 1, sizeof *w); /* a dense row, then the solve's R-vector */
    h = calloc(Fc ? Fc : 1, sizeof *h);
    if (!pc->L || !pc->sd || !pc->v || !w || !h) goto nomem;
    double hb = 0;
    for (size_t i = 0; i < R; i++) pc->sd[i] = sqrt(D[i] > 0 ? D[i] : 0), hb += D[i];
    /* lower triangle of M = c I + S X X^T S, row i against rows j <= i through a dense copy of row i */
    for (size_t i = 0; i < R; i++) {
        for (int64_t k = X->row_ptr[i]; k < X->row_ptr[i + 1]; k++) w[X->col[k]] += X->val[k];
        for (size_t j = 0; j <= i; j++) {
            double g = 0;
            for (int64_t k = X->row_ptr[j]; k < X->row_ptr[j + 1]; k++) g += (double)X->val[k] * w[X->col[k]];
            pc->L[i * R + j] = pc->sd[i] * pc->sd[j] * g + (i == j ? c : 0.0);
        }
        for (int64_t k = X->row_ptr[i]; k < X->row_ptr[i + 1]; k++) w[X->col[k]] = 0;
    }
    /* Cholesky-Banachiewicz in place: row i of L from the rows above it */
    for (size_t i = 0; i < R; i++) {
        double *li = pc->L + i * R;
        for (size_t j = 0; j < i; j++) li[j] = (li[j] - dot8(li, pc->L + j * R, j)) / pc->L[j * R + j];
        double d = li[i] - dot8(li, li, i);
        if (!(d > 0)) {
            free(w), free(h);
            sp_vpr_precond_free(pc);
            return sp_fail(SP_ERR_NUMERIC, "exact-range preconditioner: the Gram matrix is not positive definite "
                           "at row %zu", i);
        }
        li[i] = sqrt(d);
    }
    /* the bias: h = X^T D 1, v = Hf^{-1} h, s = sum D - h' v */
    for (size_t i = 0; i < R; i++)
        for (int64_t k = X->row_ptr[i]; k < X->row_ptr[i + 1]; k++) h[X->col[k]] += (double)X->val[k] * D[i];
    feature_solve(pc->v, pc, h, w);
    pc->s = hb - dot8(h, pc->v, Fc);
    free(w), free(h);
    if (!(pc->s > 0)) {
        sp_vpr_precond_free(pc);
        return sp_fail(SP_ERR_NUMERIC, "exact-range preconditioner: the bias is not determined (sum of curvatures "
                       "%g)", hb);
    }
    *out = pc;
    return SP_OK;
nomem:
    free(w), free(h);
    sp_vpr_precond_free(pc);
    return sp_fail(SP_ERR_NOMEM, "out of memory for the exact-range preconditioner (%zu training rows)", R);
}

void sp_vpr_precond_apply(double *y, const sp_vpr_precond *pc, const double *r, double *scratch)
{
    const size_t Fc = pc->Fc;
    feature_solve(y, pc, r, scratch);
    double yb = (r[Fc] - dot8(pc->v, r, Fc)) / pc->s;
    for (size_t j = 0; j < Fc; j++) y[j] -= yb * pc->v[j];
    y[Fc] = yb;
}
