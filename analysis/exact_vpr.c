/* exact_vpr.c: the exact margin range of an example over the convex level set of the two-class linear
 * objective (see exact_vpr.h for the problem and the certificate). Inner solves are Newton steps with
 * preconditioned conjugate gradients on exact Hessian-vector products (two passes over the training
 * non-zeros each; the preconditioner is H(z_star)^{-1} of exact_precond.h, else Jacobi) and an Armijo
 * backtracking line search that costs O(R) per trial. GSL's multimin (the
 * memoryless BFGS of linear_exact.c) needs thousands of iterations at l2 = 1e-4 on 10^5 features; the
 * Newton steps need a handful from a warm start, which is what makes per-example solves affordable. */
#include "exact_vpr.h"

#include "exact_precond.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sp_vpr_options sp_vpr_options_default(void)
{
    sp_vpr_options o = {.tol = 1e-6, .max_outer = 60, .max_newton = 100, .max_cg = 1000, .fit_grad_tol = 1e-11,
                         .precond_max_rows = 4096};
    return o;
}

/* ---------------------------------------------------------------- the loss */

/* softplus(-a) = ln(1 + e^{-a}), the logistic loss at signed margin a, without overflow. */
static double loss_at(double a) { return a > 0 ? log1p(exp(-a)) : -a + log1p(exp(a)); }

/* d/da ln(1 + e^{-a}) = -1 / (1 + e^a) and its second derivative sigma(a) sigma(-a). */
static double dloss_at(double a) { return a > 0 ? -exp(-a) / (1.0 + exp(-a)) : -1.0 / (1.0 + exp(a)); }
static double d2loss_at(double a)
{
    double e = exp(-fabs(a));
    return e / ((1.0 + e) * (1.0 + e));
}

/* ---------------------------------------------------------------- problem */

void sp_vpr_problem_free(sp_vpr_problem *p)
{
    if (!p) return;
    sp_linear_trainset_free(p->ts);
    free(p->full_id);
    free(p->s);
    free(p->z_star);
    sp_vpr_precond_free(p->pc);
    free(p);
}

sp_status sp_vpr_problem_alloc(sp_vpr_problem **out, const sp_csr *X, const int32_t *y, const size_t *rows,
                               size_t n, double l2)
{
    *out = NULL;
    if (!(l2 > 0) || !isfinite(l2))
        return sp_fail(SP_ERR_USAGE, "exact ranges need l2 > 0 (got %g): the level set is not bounded", l2);
    size_t n_pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= X->n_rows)
            return sp_fail(SP_ERR_INPUT, "training row %zu is outside the %zu feature rows", rows[i], X->n_rows);
        if (y[rows[i]] != 0 && y[rows[i]] != 1)
            return sp_fail(SP_ERR_INPUT, "training row %zu: label %d; exact ranges are for two classes (0, 1)",
                           rows[i], y[rows[i]]);
        n_pos += y[rows[i]] == 1;
    }
    if (n == 0 || n_pos == 0 || n_pos == n)
        return sp_fail(SP_ERR_INPUT, "the training rows hold %zu examples of class 1 and %zu of class 0; exact "
                       "ranges need both classes", n_pos, n - n_pos);
    sp_vpr_problem *p = calloc(1, sizeof *p);
    if (!p) return sp_fail(SP_ERR_NOMEM, "out of memory for the exact-range problem");
    p->l2 = l2;
    p->n_features = X->n_cols;
    sp_status st = sp_linear_trainset_build(&p->ts, X, y, rows, n, 2);
    if (st != SP_OK) {
        sp_vpr_problem_free(p);
        return st;
    }
    size_t Fc = p->ts->n_compact, N = Fc + 1;
    p->full_id = malloc((Fc ? Fc : 1) * sizeof *p->full_id);
    p->s = malloc(n * sizeof *p->s);
    p->z_star = calloc(N, sizeof *p->z_star);
    if (!p->full_id || !p->s || !p->z_star) {
        sp_vpr_problem_free(p);
        return sp_fail(SP_ERR_NOMEM, "out of memory for the exact-range problem");
    }
    for (size_t f = 0; f < X->n_cols; f++)
        if (p->ts->map[f] >= 0) p->full_id[p->ts->map[f]] = (int32_t)f;
    for (size_t i = 0; i < n; i++) p->s[i] = p->ts->y[i] == 1 ? 1.0 : -1.0;
    *out = p;
    return SP_OK;
}

/* ---------------------------------------------------------------- workspace */

struct sp_vpr_workspace {
    size_t N, R;
    /* N-vectors: point, gradient, Newton direction, CG residual / preconditioned residual / search direction /
     * its Hessian product, Jacobi diagonal, H*^{-1} x~ at the optimum, a right-hand side for CG, the path's
     * tangent dz/dt = H(z_t)^{-1} sigma x~ at the last solved point */
    double *z, *g, *p, *r, *y, *dir, *Hd, *diag, *w, *xd, *u;
    /* R-vectors: margins of z, X~ dir, curvatures / R */
    double *m, *q, *D, *pa;
    int32_t *xc;   /* the example's compact ids */
    float *xv;     /* and values */
    size_t x_cap, nx;
    double xu2;    /* squared norm of the example's features absent from training */
    double xb;     /* sigma: the bias entry of sigma x~ (xv holds sigma x) */
    /* one side's path of solved points: t, f(z_t) - f*, sigma m(z_t), lower bound of min_z G_t */
    double *pt_t, *pt_phi, *pt_sm, *pt_glb;
    double last_slope;      /* d(sigma m)/dt = sigma x~' H^{-1} sigma x~ at the last solved point (0: none) */
    size_t pt_cap, n_pt;
    int jacobi;             /* 1: Jacobi preconditioning even when the problem has H(z_star)^{-1} (the fit) */
    size_t n_hvp, n_newton; /* Hessian-vector products and Newton steps since allocation (cost counters) */
};

void sp_vpr_workspace_free(sp_vpr_workspace *ws)
{
    if (!ws) return;
    double **v[] = {&ws->z, &ws->g, &ws->p, &ws->r, &ws->y, &ws->dir, &ws->Hd, &ws->diag, &ws->w, &ws->xd, &ws->u,
                    &ws->m, &ws->q, &ws->D, &ws->pa, &ws->pt_t, &ws->pt_phi, &ws->pt_sm, &ws->pt_glb};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) free(*v[k]);
    free(ws->xc);
    free(ws->xv);
    free(ws);
}

sp_vpr_workspace *sp_vpr_workspace_alloc(const sp_vpr_problem *p)
{
    sp_vpr_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->N = p->ts->n_compact + 1;
    ws->R = p->ts->X->n_rows;
    double **nv[] = {&ws->z, &ws->g, &ws->p, &ws->r, &ws->y, &ws->dir, &ws->Hd, &ws->diag, &ws->w, &ws->xd, &ws->u};
    for (size_t k = 0; k < sizeof nv / sizeof nv[0]; k++)
        if (!(*nv[k] = calloc(ws->N, sizeof(double)))) goto fail;
    double **rv[] = {&ws->m, &ws->q, &ws->D, &ws->pa};
    for (size_t k = 0; k < sizeof rv / sizeof rv[0]; k++)
        if (!(*rv[k] = calloc(ws->R, sizeof(double)))) goto fail;
    return ws;
fail:
    sp_vpr_workspace_free(ws);
    return NULL;
}

/* ---------------------------------------------------------------- kernels on (u, beta) = z[N] */

/* out[R] = X u + beta: the training margins of z. */
static void margins(double *out, const sp_vpr_problem *p, const double *z)
{
    const sp_csr *X = p->ts->X;
    const double beta = z[p->ts->n_compact];
    for (size_t i = 0; i < X->n_rows; i++) {
        double a = beta;
        for (int64_t j = X->row_ptr[i]; j < X->row_ptr[i + 1]; j++) a += (double)X->val[j] * z[X->col[j]];
        out[i] = a;
    }
}

/* (1/R) sum_i loss(s_i (m_i + alpha q_i)); q may be NULL (alpha unused). */
static double data_term(const sp_vpr_problem *p, const double *m, const double *q, double alpha)
{
    const size_t R = p->ts->X->n_rows;
    double s = 0;
    for (size_t i = 0; i < R; i++) s += loss_at(p->s[i] * (q ? m[i] + alpha * q[i] : m[i]));
    return s / (double)R;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The Lagrangian G_t(z) = f(z) - t sigma m_x(z) of the current example (t = 0: f), with the features of x
 * absent from training at their closed-form optimum d_j = 2 t sigma x_j / l2, which contributes
 * -t^2 ||x_u||^2 / l2. *f_out and *sm_out (may be NULL) receive f(z) and sigma m_x(z) including that part. */
static double lagrangian(double *f_out, double *sm_out, const sp_vpr_workspace *ws, const sp_vpr_problem *p,
                         const double *z, const double *m, double t)
{
    const size_t Fc = p->ts->n_compact;
    double uu = dot(z, z, Fc), xz = ws->xb * z[Fc];
    for (size_t j = 0; j < ws->nx; j++) xz += (double)ws->xv[j] * z[ws->xc[j]];
    double pen_u = t * t * ws->xu2 / p->l2;
    double f = data_term(p, m, NULL, 0) + 0.25 * p->l2 * uu + pen_u;
    double sm = xz + 2.0 * t * ws->xu2 / p->l2; /* sigma m_x: xv holds sigma x, xb = sigma */
    if (f_out) *f_out = f;
    if (sm_out) *sm_out = sm;
    return f - t * sm;
}

/* At margins m: ws->D = curvature / R, and g = grad G_t = X~^T r + (l2/2) u - t (sigma x); ws->diag = the
 * Jacobi preconditioner. Returns ||g||. */
static double gradient(sp_vpr_workspace *ws, const sp_vpr_problem *p, const double *z, const double *m, double t)
{
    const sp_csr *X = p->ts->X;
    const size_t Fc = p->ts->n_compact, R = X->n_rows;
    const double inv_r = 1.0 / (double)R, half = 0.5 * p->l2;
    double gb = 0, db = 0;
    for (size_t j = 0; j < Fc; j++) ws->g[j] = half * z[j], ws->diag[j] = half;
    for (size_t i = 0; i < R; i++) {
        double a = p->s[i] * m[i];
        double r = p->s[i] * dloss_at(a) * inv_r, d = d2loss_at(a) * inv_r;
        ws->D[i] = d;
        gb += r, db += d;
        for (int64_t j = X->row_ptr[i]; j < X->row_ptr[i + 1]; j++) {
            double x = X->val[j];
            ws->g[X->col[j]] += x * r;
            ws->diag[X->col[j]] += x * x * d;
        }
    }
    ws->g[Fc] = gb;
    ws->diag[Fc] = db > 1e-300 ? db : 1e-300;
    for (size_t j = 0; j < ws->nx; j++) ws->g[ws->xc[j]] -= t * (double)ws->xv[j];
    ws->g[Fc] -= t * ws->xb;
    return sqrt(dot(ws->g, ws->g, Fc + 1));
}

/* out = H v with H = X~^T diag(D) X~ + diag(l2/2 on u, 0 on beta); q[R] receives X~ v. */
static void hess_vec(double *out, double *q, const sp_vpr_workspace *ws, const sp_vpr_problem *p, const double *v)
{
    const sp_csr *X = p->ts->X;
    const size_t Fc = p->ts->n_compact, R = X->n_rows;
    const double half = 0.5 * p->l2;
    ((sp_vpr_workspace *)ws)->n_hvp++;
    margins(q, p, v);
    double ob = 0;
    for (size_t j = 0; j < Fc; j++) out[j] = half * v[j];
    for (size_t i = 0; i < R; i++) {
        double w = ws->D[i] * q[i];
        ob += w;
        for (int64_t j = X->row_ptr[i]; j < X->row_ptr[i + 1]; j++) out[X->col[j]] += (double)X->val[j] * w;
    }
    out[Fc] = ob;
}

/* y = M^{-1} ws->r: H(z_star)^{-1} when the problem has it, else Jacobi. */
static void precondition(double *y, sp_vpr_workspace *ws, const sp_vpr_problem *p)
{
    if (p->pc && !ws->jacobi) {
        sp_vpr_precond_apply(y, p->pc, ws->r, ws->pa);
        return;
    }
    for (size_t j = 0; j < ws->N; j++) y[j] = ws->r[j] / ws->diag[j];
}

/* Solves H x = b approximately by preconditioned CG from x = 0 until ||residual|| <= rtol ||b||. */
static void pcg(double *x, sp_vpr_workspace *ws, const sp_vpr_problem *p, const double *b, double rtol, int max_it)
{
    const size_t N = ws->N;
    double bn = sqrt(dot(b, b, N));
    memset(x, 0, N * sizeof *x);
    if (bn == 0) return;
    for (size_t j = 0; j < N; j++) ws->r[j] = b[j];
    precondition(ws->y, ws, p);
    for (size_t j = 0; j < N; j++) ws->dir[j] = ws->y[j];
    double ry = dot(ws->r, ws->y, N);
    for (int it = 0; it < max_it; it++) {
        hess_vec(ws->Hd, ws->q, ws, p, ws->dir);
        double dHd = dot(ws->dir, ws->Hd, N);
        if (!(dHd > 0)) break;
        double a = ry / dHd;
        for (size_t j = 0; j < N; j++) x[j] += a * ws->dir[j], ws->r[j] -= a * ws->Hd[j];
        if (sqrt(dot(ws->r, ws->r, N)) <= rtol * bn) break;
        precondition(ws->y, ws, p);
        double ry_new = dot(ws->r, ws->y, N);
        double beta = ry_new / ry;
        ry = ry_new;
        for (size_t j = 0; j < N; j++) ws->dir[j] = ws->y[j] + beta * ws->dir[j];
    }
}

/* Minimises G_t over z = ws->z (warm start) by Newton-CG. Stops when the Newton decrement
 * lambda^2 = -g.p falls to dec_tol or ||g|| to grad_tol. *lambda2 gets the final decrement (an estimate of
 * 2 (G_t(z) - min G_t), used with a factor 2 margin by the caller). SP_ERR_NUMERIC on NaN. */
static sp_status newton(double *lambda2, sp_vpr_workspace *ws, const sp_vpr_problem *p, double t, double dec_tol,
                        double grad_tol, const sp_vpr_options *o)
{
    const size_t N = ws->N, Fc = N - 1;
    margins(ws->m, p, ws->z);
    double G = lagrangian(NULL, NULL, ws, p, ws->z, ws->m, t);
    *lambda2 = INFINITY;
    for (int it = 0; it < o->max_newton; it++) {
        double gn = gradient(ws, p, ws->z, ws->m, t);
        if (!isfinite(gn) || !isfinite(G)) return sp_fail(SP_ERR_NUMERIC, "exact range: the Newton solve produced NaN");
        if (gn <= grad_tol) {
            *lambda2 = 0;
            for (size_t j = 0; j < N; j++) *lambda2 += ws->g[j] * ws->g[j] / ws->diag[j];
            return SP_OK;
        }
        ws->n_newton++;
        for (size_t j = 0; j < N; j++) ws->xd[j] = -ws->g[j];
        double eta = fmin(0.5, sqrt(gn));
        pcg(ws->p, ws, p, ws->xd, eta, o->max_cg);
        double gp = dot(ws->g, ws->p, N);
        *lambda2 = -gp;
        if (!(gp < 0)) { /* CG gave no descent direction (H numerically singular): steepest descent */
            for (size_t j = 0; j < N; j++) ws->p[j] = -ws->g[j] / ws->diag[j];
            gp = dot(ws->g, ws->p, N);
            *lambda2 = -gp;
        }
        if (*lambda2 <= dec_tol) return SP_OK;
        /* Armijo backtracking; the data term along the ray costs O(R) with q = X~ p */
        margins(ws->q, p, ws->p);
        double uu = dot(ws->z, ws->z, Fc), up = dot(ws->z, ws->p, Fc), pp = dot(ws->p, ws->p, Fc);
        double xz = ws->xb * ws->z[Fc], xp = ws->xb * ws->p[Fc];
        for (size_t j = 0; j < ws->nx; j++) xz += (double)ws->xv[j] * ws->z[ws->xc[j]], xp += (double)ws->xv[j] * ws->p[ws->xc[j]];
        double cst = t * t * ws->xu2 / p->l2 - t * 2.0 * t * ws->xu2 / p->l2;
        double a = 1.0, Gn = G;
        for (int ls = 0; ls < 60; ls++, a *= 0.5) {
            Gn = data_term(p, ws->m, ws->q, a) + 0.25 * p->l2 * (uu + 2 * a * up + a * a * pp) - t * (xz + a * xp) + cst;
            if (Gn <= G + 1e-4 * a * gp) break;
        }
        /* With a decrement this small the full Newton step is in the quadratic-convergence region, and the
         * decrease it brings is below the rounding of G: take it without the Armijo test. */
        if (*lambda2 < 1e-12 * fmax(1.0, fabs(G))) a = 1.0, Gn = G - 0.5 * *lambda2;
        else if (!(Gn <= G + 1e-4 * a * gp)) return SP_OK; /* no representable decrease: precision limit */
        for (size_t j = 0; j < N; j++) ws->z[j] += a * ws->p[j];
        for (size_t i = 0; i < ws->R; i++) ws->m[i] += a * ws->q[i];
        G = Gn;
    }
    return SP_OK;
}

/* ---------------------------------------------------------------- fit */

double sp_vpr_objective(const sp_vpr_problem *p, const double *d, double beta)
{
    const sp_csr *X = p->ts->X;
    double s = 0;
    for (size_t i = 0; i < X->n_rows; i++) {
        double a = beta;
        for (int64_t j = X->row_ptr[i]; j < X->row_ptr[i + 1]; j++) a += (double)X->val[j] * d[p->full_id[X->col[j]]];
        s += loss_at(p->s[i] * a);
    }
    double dd = 0;
    for (size_t f = 0; f < p->n_features; f++) dd += d[f] * d[f];
    return s / (double)X->n_rows + 0.25 * p->l2 * dd;
}

double sp_vpr_margin_star(const sp_vpr_problem *p, const int32_t *cols, const float *vals, size_t k)
{
    size_t Fc = p->ts->n_compact;
    double a = p->z_star[Fc];
    for (size_t j = 0; j < k; j++) {
        int32_t c = cols[j] >= 0 && (size_t)cols[j] < p->n_features ? p->ts->map[cols[j]] : -1;
        if (c >= 0) a += (double)vals[j] * p->z_star[c];
    }
    return a;
}

sp_status sp_vpr_fit(sp_vpr_problem *p, const double *d0, double beta0, const sp_vpr_options *o)
{
    sp_vpr_workspace *ws = sp_vpr_workspace_alloc(p);
    if (!ws) return sp_fail(SP_ERR_NOMEM, "out of memory for the exact-range workspace");
    const size_t Fc = p->ts->n_compact;
    for (size_t j = 0; j < Fc; j++) ws->z[j] = d0 ? d0[p->full_id[j]] : 0.0;
    ws->z[Fc] = beta0;
    ws->jacobi = 1; /* the fit itself is unchanged by a preconditioner of an earlier fit */
    double lambda2;
    sp_status st = newton(&lambda2, ws, p, 0.0, 0.0, o->fit_grad_tol, o);
    if (st == SP_OK) {
        margins(ws->m, p, ws->z);
        double gn = gradient(ws, p, ws->z, ws->m, 0.0);
        double f = lagrangian(NULL, NULL, ws, p, ws->z, ws->m, 0.0);
        p->fit_grad_norm = gn;
        if (!(gn <= o->fit_grad_tol))
            st = sp_fail(SP_ERR_NUMERIC, "exact ranges: the optimum's gradient norm %.3g is above %.3g after %d "
                         "Newton iterations", gn, o->fit_grad_tol, o->max_newton);
        memcpy(p->z_star, ws->z, (Fc + 1) * sizeof *p->z_star);
        p->f_star = f;
    }
    /* H(z_star)^{-1} from the curvatures gradient() left in ws->D: the preconditioner of every range solve */
    sp_vpr_precond_free(p->pc);
    p->pc = NULL;
    if (st == SP_OK && p->ts->X->n_rows <= o->precond_max_rows) st = sp_vpr_precond_build(&p->pc, p->ts->X, ws->D, 0.5 * p->l2);
    sp_vpr_workspace_free(ws);
    return st;
}

/* ---------------------------------------------------------------- ranges */

/* Loads example x into ws as sigma = +1: entries on training features (compact ids) and ||x_rest||^2. */
static sp_status set_example(sp_vpr_workspace *ws, const sp_vpr_problem *p, const int32_t *cols, const float *vals,
                             size_t k)
{
    if (k > ws->x_cap) {
        int32_t *c = realloc(ws->xc, k * sizeof *c);
        if (c) ws->xc = c;
        float *v = realloc(ws->xv, k * sizeof *v);
        if (v) ws->xv = v;
        if (!c || !v) return sp_fail(SP_ERR_NOMEM, "out of memory for an example of %zu features", k);
        ws->x_cap = k;
    }
    ws->nx = 0;
    ws->xu2 = 0;
    ws->xb = 1.0;
    for (size_t j = 0; j < k; j++) {
        if (cols[j] < 0 || (size_t)cols[j] >= p->n_features)
            return sp_fail(SP_ERR_INPUT, "example feature %d is outside the model's %zu features", cols[j],
                           p->n_features);
        if (!isfinite(vals[j])) return sp_fail(SP_ERR_INPUT, "example feature %d has a non-finite value", cols[j]);
        int32_t c = p->ts->map[cols[j]];
        if (c >= 0) {
            ws->xc[ws->nx] = c;
            ws->xv[ws->nx++] = vals[j];
        } else {
            ws->xu2 += (double)vals[j] * vals[j];
        }
    }
    return SP_OK;
}

/* Certified bounds on max sigma m over {f <= f* + eps} from one side's path: the smallest dual bound and the
 * best attained value (a solved point inside the set, or the chord from z_star towards one outside it,
 * inside by convexity). sm_star = sigma m(z_star). */
static void path_bounds(double *upper, double *inner, const sp_vpr_workspace *ws, double f_star, double eps,
                        double sm_star)
{
    double up = INFINITY, in = sm_star;
    for (size_t j = 0; j < ws->n_pt; j++) {
        double ub = (f_star + eps - ws->pt_glb[j]) / ws->pt_t[j];
        up = ub < up ? ub : up;
        double phi = ws->pt_phi[j], v;
        if (phi <= eps) v = ws->pt_sm[j];
        else {
            double lam = eps / phi;
            v = lam * ws->pt_sm[j] + (1.0 - lam) * sm_star;
        }
        in = v > in ? v : in;
    }
    *upper = up;
    *inner = in;
}

/* The next multiplier t for level eps. psi(t) = sqrt(f(z_t) - f*) - sqrt(eps) is nearly linear in t
 * (f - f* ~ t^2 x~'H^{-1}x~ / 2 for small t), and along the path d f / dt = t (sigma x~)' H^{-1} (sigma x~)
 * = t slope, so a Newton step on psi from the last solved point is used when it stays strictly inside the
 * bracket of solved points; otherwise a regula falsi step (Illinois-modified after two steps on one side),
 * an extrapolation from the largest t below the level when nothing is above it yet, or t0 when nothing is
 * solved. */
static double next_t(const sp_vpr_workspace *ws, double eps, double t0, int streak_side, int streak)
{
    double ta = 0, pa = 0, tb = INFINITY, pb = 0;
    for (size_t j = 0; j < ws->n_pt; j++) {
        double t = ws->pt_t[j], phi = ws->pt_phi[j] > 0 ? ws->pt_phi[j] : 0;
        if (phi <= eps && t > ta) ta = t, pa = phi;
        if (phi > eps && t < tb) tb = t, pb = phi;
    }
    if (ws->n_pt && ws->last_slope > 0) {
        size_t l = ws->n_pt - 1;
        double tl = ws->pt_t[l], phl = ws->pt_phi[l] > 0 ? ws->pt_phi[l] : 0;
        if (phl > 0) {
            double dpsi = tl * ws->last_slope / (2.0 * sqrt(phl));
            double t = tl - (sqrt(phl) - sqrt(eps)) / dpsi;
            if (t > ta && t < tb) return t;
        }
    }
    if (!isfinite(tb)) {
        if (ta == 0) return t0;
        double ratio = pa > 0 ? sqrt(eps / pa) : 1e3;
        return ta * (ratio < 1e3 ? ratio : 1e3) * 1.01;
    }
    double fa = sqrt(pa) - sqrt(eps), fb = sqrt(pb) - sqrt(eps);
    if (streak >= 2) {
        double k = ldexp(1.0, -(streak - 1));
        if (streak_side > 0) fa *= k; /* the new points kept landing above: pull towards b */
        else fb *= k;
    }
    double t = ta - fa * (tb - ta) / (fb - fa), w = tb - ta;
    if (!(t >= ta + 1e-3 * w)) t = ta + 1e-3 * w;
    if (!(t <= tb - 1e-3 * w)) t = tb - 1e-3 * w;
    return t;
}

/* ws->xd = sigma x~ densely (compact ids, bias last). */
static void example_dense(sp_vpr_workspace *ws)
{
    memset(ws->xd, 0, ws->N * sizeof *ws->xd);
    for (size_t j = 0; j < ws->nx; j++) ws->xd[ws->xc[j]] += ws->xv[j];
    ws->xd[ws->N - 1] = ws->xb;
}

sp_status sp_vpr_solve(sp_vpr_range *out, sp_vpr_workspace *ws, const sp_vpr_problem *p, const int32_t *cols,
                       const float *vals, size_t k, const double *eps, size_t n_eps, const sp_vpr_options *o)
{
    const size_t N = ws->N, Fc = N - 1;
    for (size_t e = 0; e < n_eps; e++)
        if (!(eps[e] >= 0) || !isfinite(eps[e]))
            return sp_fail(SP_ERR_USAGE, "epsilon %g is not a finite non-negative number", eps[e]);
    sp_status st = set_example(ws, p, cols, vals, k);
    if (st != SP_OK) return st;
    size_t cap = (size_t)(o->max_outer + 1) * (n_eps ? n_eps : 1);
    if (cap > ws->pt_cap) {
        double **v[] = {&ws->pt_t, &ws->pt_phi, &ws->pt_sm, &ws->pt_glb};
        for (size_t j = 0; j < 4; j++) {
            double *g = realloc(*v[j], cap * sizeof *g);
            if (!g) return sp_fail(SP_ERR_NOMEM, "out of memory for an exact-range path");
            *v[j] = g;
        }
        ws->pt_cap = cap;
    }
    size_t *order = malloc((n_eps ? n_eps : 1) * sizeof *order);
    if (!order) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t e = 0; e < n_eps; e++) { /* ascending epsilon: each level starts from the previous one's path */
        size_t j = e;
        while (j > 0 && eps[order[j - 1]] > eps[e]) order[j] = order[j - 1], j--;
        order[j] = e;
    }
    /* margin of the optimum, and w = H*^{-1} x~ at the optimum for the first multiplier and starting point */
    double m_star = p->z_star[Fc];
    for (size_t j = 0; j < ws->nx; j++) m_star += (double)ws->xv[j] * p->z_star[ws->xc[j]];
    margins(ws->m, p, p->z_star);
    gradient(ws, p, p->z_star, ws->m, 0.0);
    example_dense(ws);
    pcg(ws->w, ws, p, ws->xd, 1e-3, o->max_cg);
    double q = dot(ws->xd, ws->w, N) + 2.0 * ws->xu2 / p->l2;
    for (size_t e = 0; e < n_eps; e++) out[e].converged = 1, out[e].solves = 0;
    for (int side = 0; side < 2 && st == SP_OK; side++) {
        double sigma = side == 0 ? 1.0 : -1.0, sm_star = sigma * m_star;
        if (side == 1) {
            for (size_t j = 0; j < ws->nx; j++) ws->xv[j] = -ws->xv[j];
            ws->xb = -1.0;
        }
        ws->n_pt = 0;
        ws->last_slope = 0;
        int have_z = 0;
        for (size_t oe = 0; oe < n_eps && st == SP_OK; oe++) {
            size_t e = order[oe];
            double upper = sm_star, inner = sm_star;
            int done = eps[e] == 0, streak_side = 0, streak = 0;
            for (int it = 0; !done && st == SP_OK; it++) {
                path_bounds(&upper, &inner, ws, p->f_star, eps[e], sm_star);
                double scale = fabs(inner) > 1 ? fabs(inner) : 1.0;
                if (upper - inner <= o->tol * scale) break;
                if (it == o->max_outer) {
                    out[e].converged = 0;
                    break;
                }
                double t = next_t(ws, eps[e], sqrt(2.0 * eps[e] / q), streak_side, streak);
                if (!have_z) { /* the quadratic model's maximiser: z* + t sigma H*^{-1} x~ */
                    for (size_t j = 0; j < N; j++) ws->z[j] = p->z_star[j] + t * sigma * ws->w[j];
                    have_z = 1;
                } else if (ws->last_slope > 0) { /* predictor along the path's tangent */
                    double dt = t - ws->pt_t[ws->n_pt - 1];
                    for (size_t j = 0; j < N; j++) ws->z[j] += dt * ws->u[j];
                }
                /* The solve must resolve sigma m to well below tol: its error is about sqrt(q) lambda, and the
                 * dual bound's is lambda^2 / t. */
                double lambda2, f, sm, tol_m = o->tol * scale;
                double dec_tol = fmin(0.01 * tol_m * t, 1e-4 * tol_m * tol_m / q);
                st = newton(&lambda2, ws, p, t, dec_tol, 0.0, o);
                if (st != SP_OK) break;
                double G = lagrangian(&f, &sm, ws, p, ws->z, ws->m, t);
                size_t n = ws->n_pt++;
                ws->pt_t[n] = t;
                ws->pt_phi[n] = f - p->f_star;
                ws->pt_sm[n] = sm;
                ws->pt_glb[n] = G - lambda2; /* min G_t >= G(z) - lambda^2 / 2, kept with a factor 2 */
                out[e].solves++;
                /* tangent at the solved point, with the curvatures newton() left for this z */
                example_dense(ws);
                pcg(ws->u, ws, p, ws->xd, 1e-3, o->max_cg);
                ws->last_slope = dot(ws->xd, ws->u, N) + 2.0 * ws->xu2 / p->l2;
                int s_new = ws->pt_phi[n] > eps[e] ? 1 : -1;
                streak = s_new == streak_side ? streak + 1 : 1;
                streak_side = s_new;
            }
            if (side == 0) out[e].hi = upper, out[e].hi_in = inner;
            else out[e].lo = -upper, out[e].lo_in = -inner;
        }
    }
    free(order);
    return st;
}

void sp_vpr_workspace_counters(size_t *n_hvp, size_t *n_newton, const sp_vpr_workspace *ws)
{
    *n_hvp = ws->n_hvp;
    *n_newton = ws->n_newton;
}
