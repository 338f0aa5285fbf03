/* linear.c: softmax regression on sparse rows: objective, the minibatch SGD / AdamW trainer and the
 * per-sample SGD kernels (predictions and contributions: linear_predict.c).
 *
 * The trainer never touches all F*C weights per step. Weight decay scales every weight by the same factor,
 * so the weights are kept as W = s * V with a scalar s: decay multiplies s, and a step only writes the
 * coordinates whose feature occurs in the minibatch. For SGD this is exactly dense SGD on the L2 objective
 * (W <- (1 - lr l2) W - lr g). For AdamW, the first and second moments of a coordinate are updated only on
 * steps where its feature occurs (the lazy/sparse Adam of torch.optim.SparseAdam), with the bias correction
 * of the global step; decoupled decay still applies to every weight every step.
 */
#include "linear.h"
#include "linear_internal.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

sp_linear_model *sp_linear_alloc(size_t n_features, int n_classes)
{
    if (n_features == 0 || n_classes < 2 || n_classes > SP_LINEAR_MAX_CLASSES) return NULL;
    sp_linear_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_features = n_features;
    m->n_classes = n_classes;
    m->W = calloc(n_features * (size_t)n_classes, sizeof *m->W);
    m->b = calloc((size_t)n_classes, sizeof *m->b);
    if (!m->W || !m->b) {
        sp_linear_free(m);
        return NULL;
    }
    return m;
}

void sp_linear_free(sp_linear_model *m)
{
    if (!m) return;
    free(m->W);
    free(m->b);
    free(m);
}

/* The optimal schedule's first step eta0 = (l2/2)^(-1/4) / 2: scikit-learn's initial step for the log loss,
 * typw = alpha^(-1/4) with alpha = l2/2, halved because a step on the two columns W0, W1 moves D = W1 - W0
 * twice as far as SGDClassifier's step on its single w. */
static double linear_optimal_eta0(double l2) { return 0.5 * pow(0.5 * l2, -0.25); }

/* A schedule with its constants computed once (the per-sample kernel asks for a step size per example). */
typedef struct {
    sp_linear_lr_schedule kind;
    double lr, l2, t0;
    double total; /* T */
} linear_schedule;

static linear_schedule linear_schedule_make(const sp_linear_train_options *o, long T)
{
    linear_schedule s = {.kind = o->lr_schedule, .lr = o->lr, .l2 = o->l2, .total = (double)T};
    if (o->lr_schedule == SP_LINEAR_LR_OPTIMAL) s.t0 = 1.0 / (o->l2 * linear_optimal_eta0(o->l2));
    return s;
}

static inline double linear_schedule_lr(const linear_schedule *s, long k)
{
    switch (s->kind) {
    case SP_LINEAR_LR_LINEAR: return s->lr * (1.0 - (double)k / s->total);
    case SP_LINEAR_LR_OPTIMAL: return 1.0 / (s->l2 * (s->t0 + (double)k));
    default: return s->lr;
    }
}

double sp_linear_lr_at(const sp_linear_train_options *o, long k, long T)
{
    linear_schedule s = linear_schedule_make(o, T);
    return linear_schedule_lr(&s, k);
}

sp_linear_train_options sp_linear_train_options_default(void)
{
    /* per-sample SGD from zero with the optimal schedule: scikit-learn's SGDClassifier(log_loss) */
    sp_linear_train_options o = {.optimizer = SP_LINEAR_SGD, .epochs = 5, .batch = 1, .lr = 0.05, .l2 = 1e-4,
                                 .lr_schedule = SP_LINEAR_LR_OPTIMAL, .init_std = 0, .bootstrap = 0, .beta1 = 0.9,
                                 .beta2 = 0.999, .eps = 1e-8};
    return o;
}

sp_status sp_linear_train_options_check(const sp_linear_train_options *o)
{
    if (o->optimizer != SP_LINEAR_SGD && o->optimizer != SP_LINEAR_ADAMW)
        return sp_fail(SP_ERR_USAGE, "unknown optimizer %d; use sgd or adamw", (int)o->optimizer);
    if (o->epochs < 1) return sp_fail(SP_ERR_USAGE, "epochs %d: must be at least 1", o->epochs);
    if (o->batch < 1) return sp_fail(SP_ERR_USAGE, "batch %d: must be at least 1", o->batch);
    if (!(o->lr > 0 && isfinite(o->lr))) return sp_fail(SP_ERR_USAGE, "lr %g: must be positive", o->lr);
    if (o->lr_schedule != SP_LINEAR_LR_CONSTANT && o->lr_schedule != SP_LINEAR_LR_LINEAR &&
        o->lr_schedule != SP_LINEAR_LR_OPTIMAL)
        return sp_fail(SP_ERR_USAGE, "unknown lr schedule %d; use constant, linear or optimal", (int)o->lr_schedule);
    if (o->lr_schedule == SP_LINEAR_LR_OPTIMAL) {
        /* the first step multiplies the weights by 1 - l2 eta0, which must stay positive */
        if (!(o->l2 > 0 && isfinite(o->l2) && o->l2 * linear_optimal_eta0(o->l2) < 1))
            return sp_fail(SP_ERR_USAGE, "l2 %g: the optimal lr schedule needs 0 < l2 < 2 (so that l2 eta0 < 1)", o->l2);
    } else if (!(o->l2 >= 0 && o->lr * o->l2 < 1)) {
        return sp_fail(SP_ERR_USAGE, "l2 %g: must be >= 0 with lr * l2 < 1", o->l2);
    }
    if (!(o->init_std >= 0 && isfinite(o->init_std)))
        return sp_fail(SP_ERR_USAGE, "init_std %g: must be >= 0", o->init_std);
    if (!(o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1 && o->eps > 0))
        return sp_fail(SP_ERR_USAGE, "AdamW needs 0 <= beta1, beta2 < 1 and eps > 0 (got %g, %g, %g)", o->beta1,
                       o->beta2, o->eps);
    return SP_OK;
}

const char *sp_linear_optimizer_name(sp_linear_optimizer opt) { return opt == SP_LINEAR_SGD ? "sgd" : "adamw"; }

int sp_linear_optimizer_parse(const char *name)
{
    if (strcmp(name, "sgd") == 0) return SP_LINEAR_SGD;
    if (strcmp(name, "adamw") == 0) return SP_LINEAR_ADAMW;
    return -1;
}

static const char *const linear_schedule_names[] = {"constant", "linear", "optimal"};

const char *sp_linear_lr_schedule_name(sp_linear_lr_schedule s)
{
    return (unsigned)s < 3 ? linear_schedule_names[s] : "unknown";
}

int sp_linear_lr_schedule_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, linear_schedule_names[i]) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------- objective (double precision) */

double sp_linear_objective(double *grad, const double *theta, const sp_csr *X, const int32_t *y, int C, double l2)
{
    size_t F = X->n_cols, R = X->n_rows;
    const double *W = theta, *b = theta + F * (size_t)C;
    double *dW = grad, *db = grad ? grad + F * (size_t)C : NULL;
    double zp[SP_LINEAR_MAX_CLASSES];
    if (C < 2 || C > SP_LINEAR_MAX_CLASSES) return NAN;
    if (grad) memset(grad, 0, (F * (size_t)C + (size_t)C) * sizeof *grad);
    double nll = 0.0, inv_r = R ? 1.0 / (double)R : 0.0;
    for (size_t r = 0; r < R; r++) {
        /* forward: z = x W + b */
        for (int c = 0; c < C; c++) zp[c] = b[c];
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) {
            const double *w = W + (size_t)X->col[j] * C;
            double x = X->val[j];
            for (int c = 0; c < C; c++) zp[c] += x * w[c];
        }
        double zmax = zp[0];
        for (int c = 1; c < C; c++) zmax = zp[c] > zmax ? zp[c] : zmax;
        double sum = 0.0;
        for (int c = 0; c < C; c++) sum += exp(zp[c] - zmax);
        double lse = zmax + log(sum);
        nll += lse - zp[y[r]];
        if (!grad) continue;
        /* backward: dz = (softmax(z) - onehot(y)) / R; dW[f] += x dz; db += dz */
        for (int c = 0; c < C; c++) zp[c] = (exp(zp[c] - lse) - (c == y[r])) * inv_r;
        for (int c = 0; c < C; c++) db[c] += zp[c];
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) {
            double *dw = dW + (size_t)X->col[j] * C;
            double x = X->val[j];
            for (int c = 0; c < C; c++) dw[c] += x * zp[c];
        }
    }
    double sq = 0.0;
    for (size_t i = 0; i < F * (size_t)C; i++) {
        sq += W[i] * W[i];
        if (grad) dW[i] += l2 * W[i];
    }
    return nll * inv_r + 0.5 * l2 * sq;
}

/* ---------------------------------------------------------------- trainer */

/* The trainer is bound by memory latency on randomly hashed features, so it works on a compact copy of the
 * training rows: features renumbered 0..Fc-1 in order of first occurrence in the training rows (frequent
 * features come early and share cache lines), and per-feature state interleaved, one block of `stride`
 * floats per compact feature: V[C] (scaled weights, W = s * V), G[C] (the current batch's gradient, zero
 * outside touched features) and, for AdamW, M[C] and S[C] (first and second moments); per-sample SGD keeps
 * V only. A feature's update then touches one cache line. Features absent from the training rows never get a gradient: they keep their
 * initial weight times the common decay s, which is what the dense algorithm does to them too. */
typedef struct {
    size_t F;        /* compact features Fc */
    int C;
    size_t stride;   /* C (per-sample SGD), 2C (SGD) or 4C (AdamW); C -> 1 for two classes */
    float *P;        /* [F + 1, stride]; block F stays zero (linear_export_undrawn) */
    double s;        /* the common decay scale */
    double fold;     /* product of the scales folded into V so far: features outside the training rows,
                      * which are not in V, have weight W0 * fold * s */
    int binary;      /* C == 2: V holds one number per feature, see linear_step2 */
    float *S0;       /* [F] binary only: W0[f,0] + W0[f,1] of the initial weights */
    float *b;        /* [C] */
    float bM[SP_LINEAR_MAX_CLASSES], bS[SP_LINEAR_MAX_CLASSES]; /* the bias's moments */
    uint8_t *mark;   /* [F] 1 while a feature is in `touched` */
    int32_t *touched;/* features of the current batch, in first-seen order */
    size_t n_touched, cap_touched;
    double *dz;      /* [C] one row's dL/dz */
    double *db;      /* [C] batch bias gradient */
    long step;       /* optimizer steps taken (AdamW bias correction) */
} linear_state;

static void linear_state_free(linear_state *t)
{
    free(t->P), free(t->b), free(t->mark), free(t->touched), free(t->S0);
    free(t->dz), free(t->db);
}

/* Logits of one row with the scaled weights: z = s * (x V) + b. */
static inline void linear_row_logits(double *z, const linear_state *t, const sp_csr *X, size_t r, const int C)
{
    for (int c = 0; c < C; c++) z[c] = 0.0;
    for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) {
        const float *v = t->P + (size_t)X->col[j] * t->stride;
        float x = X->val[j];
        for (int c = 0; c < C; c++) z[c] += x * v[c];
    }
    for (int c = 0; c < C; c++) z[c] = t->s * z[c] + t->b[c];
}

/* AdamW's constants at optimizer step `step` (counted from 1): the moment rates, eps, and both bias
 * corrections folded into update = step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps). */
typedef struct {
    float b1, b2, eps, step_size, inv_sqrt_bc2;
} linear_adam;

static linear_adam linear_adam_at(const sp_linear_train_options *o, double lr_step, long step)
{
    linear_adam a;
    a.b1 = (float)o->beta1, a.b2 = (float)o->beta2, a.eps = (float)o->eps;
    double bc1 = 1.0 - pow(o->beta1, (double)step), bc2 = 1.0 - pow(o->beta2, (double)step);
    a.step_size = (float)(lr_step / bc1), a.inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    return a;
}

/* One step of the C biases from their batch gradient db: SGD when a is NULL, else AdamW (no decay on biases). */
static void linear_bias_step(linear_state *t, const double *db, int C, double lr_step, const linear_adam *a)
{
    for (int c = 0; c < C; c++) {
        if (!a) {
            t->b[c] -= (float)(lr_step * db[c]);
            continue;
        }
        float g = (float)db[c];
        t->bM[c] = a->b1 * t->bM[c] + (1.0f - a->b1) * g;
        t->bS[c] = a->b2 * t->bS[c] + (1.0f - a->b2) * g * g;
        t->b[c] -= a->step_size * t->bM[c] / (sqrtf(t->bS[c]) * a->inv_sqrt_bc2 + a->eps);
    }
}

/* One minibatch step on rows[0..B-1] for any C (two classes take linear_step2); returns the batch's summed
 * NLL. */
static double
linear_step(linear_state *t, const sp_csr *X, const int32_t *y, const size_t *rows, size_t B,
            const sp_linear_train_options *o, double lr_step, const int C)
{
    double z[SP_LINEAR_MAX_CLASSES], nll = 0.0, inv_b = 1.0 / (double)B;
    for (int c = 0; c < C; c++) t->db[c] = 0.0;
    for (size_t i = 0; i < B; i++) {
        size_t r = rows[i];
        linear_row_logits(z, t, X, r, C);
        double zy = z[y[r]];
        nll += linear_softmax(z, C) - zy; /* -log p_y = logsumexp(z) - z_y */
        /* dL/dz = (p - onehot(y)) / B */
        for (int c = 0; c < C; c++) t->dz[c] = (z[c] - (c == y[r])) * inv_b;
        for (int c = 0; c < C; c++) t->db[c] += t->dz[c];
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) {
            int32_t f = X->col[j];
            if (!t->mark[f]) {
                t->mark[f] = 1;
                t->touched[t->n_touched++] = f;
            }
            float *g = t->P + (size_t)f * t->stride + C;
            float x = X->val[j];
            for (int c = 0; c < C; c++) g[c] += (float)(x * t->dz[c]);
        }
    }
    /* Decoupled decay of every weight: W <- (1 - lr l2) W, kept in the scale. */
    t->s *= 1.0 - lr_step * o->l2;
    float inv_s = (float)(1.0 / t->s);
    t->step++;
    if (o->optimizer == SP_LINEAR_SGD) {
        float lr = (float)lr_step;
        for (size_t k = 0; k < t->n_touched; k++) {
            size_t f = (size_t)t->touched[k];
            float *v = t->P + f * t->stride, *g = v + C;
            for (int c = 0; c < C; c++) {
                v[c] -= lr * g[c] * inv_s;
                g[c] = 0.0f;
            }
            t->mark[f] = 0;
        }
        linear_bias_step(t, t->db, C, lr_step, NULL);
    } else {
        const linear_adam a = linear_adam_at(o, lr_step, t->step);
        const float b1 = a.b1, b2 = a.b2, eps = a.eps, step_size = a.step_size, inv_sqrt_bc2 = a.inv_sqrt_bc2;
        for (size_t k = 0; k < t->n_touched; k++) {
            size_t f = (size_t)t->touched[k];
            float *v = t->P + f * t->stride, *g = v + C, *m1 = v + 2 * C, *m2 = v + 3 * C;
            for (int c = 0; c < C; c++) {
                m1[c] = b1 * m1[c] + (1.0f - b1) * g[c];
                m2[c] = b2 * m2[c] + (1.0f - b2) * g[c] * g[c];
                v[c] -= step_size * m1[c] / (sqrtf(m2[c]) * inv_sqrt_bc2 + eps) * inv_s;
                g[c] = 0.0f;
            }
            t->mark[f] = 0;
        }
        linear_bias_step(t, t->db, C, lr_step, &a);
    }
    t->n_touched = 0;
    /* Fold the scale back before it underflows the float range of V's updates. */
    if (t->s < 1e-6) {
        for (size_t f = 0; f < t->F; f++)
            for (int c = 0; c < C; c++) t->P[f * t->stride + c] = (float)(t->P[f * t->stride + c] * t->s);
        t->fold *= t->s;
        t->s = 1.0;
    }
    return nll;
}

/* Two classes. The gradients of the two weight columns are exact negatives (p0 - y0 = -(p1 - y1)), so every
 * update (SGD, and AdamW, whose moments then stay negatives too) keeps W0 + W1 at its initial value times the
 * common decay, and moves only D = W1 - W0: by 2 lr g1 (SGD) or 2 lr m1^ / (sqrt(v1^) + eps) (AdamW).
 * The trainer therefore stores per feature [V_D, G] (SGD) or [V_D, G, M, S] (AdamW) with D = s * V_D: half
 * the memory of two columns, and the softmax of two logits is the sigmoid of their difference. */
static double linear_step2(linear_state *t, const sp_csr *X, const int32_t *y, const size_t *rows, size_t B,
                           const sp_linear_train_options *o, double lr_step)
{
    const size_t st = t->stride;
    float *P = t->P;
    double nll = 0.0, inv_b = 1.0 / (double)B, db1 = 0.0;
    for (size_t i = 0; i < B; i++) {
        size_t r = rows[i];
        float d = 0.0f;
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) d += X->val[j] * P[(size_t)X->col[j] * st];
        double delta = t->s * d + ((double)t->b[1] - t->b[0]); /* z1 - z0 */
        double e = exp(-fabs(delta)), p1 = delta >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        /* -log p_y = log(1 + exp(-|delta|)) + max(0, -delta) for y = 1, max(0, delta) for y = 0 */
        nll += log1p(e) + (y[r] ? fmax(0.0, -delta) : fmax(0.0, delta));
        double dz1 = (p1 - (double)y[r]) * inv_b;
        db1 += dz1;
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) {
            int32_t f = X->col[j];
            if (!t->mark[f]) {
                t->mark[f] = 1;
                t->touched[t->n_touched++] = f;
            }
            P[(size_t)f * st + 1] += (float)(X->val[j] * dz1);
        }
    }
    t->s *= 1.0 - lr_step * o->l2;
    float inv_s = (float)(1.0 / t->s);
    t->step++;
    double db[2] = {-db1, db1};
    if (o->optimizer == SP_LINEAR_SGD) {
        float lr2 = (float)(2.0 * lr_step);
        for (size_t k = 0; k < t->n_touched; k++) {
            float *v = P + (size_t)t->touched[k] * st;
            v[0] -= lr2 * v[1] * inv_s;
            v[1] = 0.0f;
            t->mark[t->touched[k]] = 0;
        }
        linear_bias_step(t, db, 2, lr_step, NULL);
    } else {
        const linear_adam a = linear_adam_at(o, lr_step, t->step);
        const float b1 = a.b1, b2 = a.b2, eps = a.eps, inv_sqrt_bc2 = a.inv_sqrt_bc2;
        float step2 = 2.0f * a.step_size;
        for (size_t k = 0; k < t->n_touched; k++) {
            float *v = P + (size_t)t->touched[k] * st;
            float g = v[1];
            v[2] = b1 * v[2] + (1.0f - b1) * g;
            v[3] = b2 * v[3] + (1.0f - b2) * g * g;
            v[0] -= step2 * v[2] / (sqrtf(v[3]) * inv_sqrt_bc2 + eps) * inv_s;
            v[1] = 0.0f;
            t->mark[t->touched[k]] = 0;
        }
        linear_bias_step(t, db, 2, lr_step, &a);
    }
    t->n_touched = 0;
    if (t->s < 1e-6) {
        for (size_t f = 0; f < t->F; f++) P[f * st] = (float)(P[f * st] * t->s);
        t->fold *= t->s;
        t->s = 1.0;
    }
    return nll;
}

/* ---------------------------------------------------------------- per-sample SGD (batch 1) */

/* Per-sample SGD is minibatch SGD with B = 1 (the same updates and step sizes) without the gradient buffer:
 * one example's gradient is its own row times dL/dz, so the weights are read once for the logits and written
 * once for the update, and the decay of every weight stays in the scalar s (scikit-learn's "wscale"). The
 * state is then V alone: stride 1 (two classes, V = D / s) or C. */

/* Folds the scale into V before it underflows the float range of the updates (see linear_step). */
static void linear_fold_scale(linear_state *t, double *s)
{
    size_t n = t->F * t->stride;
    for (size_t i = 0; i < n; i++) t->P[i] = (float)(t->P[i] * *s);
    t->fold *= *s;
    *s = 1.0;
}

/* sum_j V[col[j]] (v == NULL) or sum_j v[j] V[col[j]] over j in [lo, hi): entry j goes to partial sum
 * (j - lo) mod LINEAR_LANES and the sums are combined in a fixed tree, so the order of every addition is
 * fixed by this code and there is no long chain of dependent adds. Kept scalar: vector gathers (8 or 16
 * lanes) were slower than scalar loads on the machines measured (docs/linear.md). */
#define LINEAR_LANES 4
__attribute__((optimize("no-tree-vectorize"))) static inline float
linear_sparse_dot(const float *V, const int32_t *col, const float *v, int64_t lo, int64_t hi)
{
    float acc[LINEAR_LANES] = {0};
    int64_t j = lo;
    if (!v) {
        for (; j + LINEAR_LANES <= hi; j += LINEAR_LANES)
            for (int k = 0; k < LINEAR_LANES; k++) acc[k] += V[col[j + k]];
        for (int k = 0; j < hi; j++, k++) acc[k] += V[col[j]];
    } else {
        for (; j + LINEAR_LANES <= hi; j += LINEAR_LANES)
            for (int k = 0; k < LINEAR_LANES; k++) acc[k] += v[j + k] * V[col[j + k]];
        for (int k = 0; j < hi; j++, k++) acc[k] += v[j] * V[col[j]];
    }
    for (int w = LINEAR_LANES / 2; w > 0; w /= 2)
        for (int k = 0; k < w; k++) acc[k] += acc[k + w];
    return acc[0];
}

/* Two classes: one epoch, one step per row of rows[0..n-1] (positions in ts) in that order; returns the
 * summed NLL of each row before its step (0 unless want_loss; NaN or Inf if the logits diverged either
 * way). Same algebra as linear_step2 with B = 1: D <- (1 - lr l2) D - 2 lr (p1 - y) x. A row whose entries
 * share one value x (ts->row_value) is x times the indicator of its columns, so X->val is not read. */
static double linear_epoch_sample2(linear_state *t, const sp_linear_trainset *ts, const size_t *rows, size_t n,
                                   const linear_schedule *sched, double l2, int want_loss)
{
    float *V = t->P;
    const int64_t *rp = ts->X->row_ptr;
    const int32_t *col = ts->X->col, *y = ts->y;
    const float *val = ts->X->val;
    double s = t->s, b0 = t->b[0], b1 = t->b[1], nll = 0.0, logits = 0.0;
    for (size_t i = 0; i < n; i++) {
        const size_t r = rows[i];
        const int64_t lo = rp[r], hi = rp[r + 1];
        const float x = ts->row_value[r];
        const int shared = !isnan(x);
        float d = shared ? x * linear_sparse_dot(V, col, NULL, lo, hi) : linear_sparse_dot(V, col, val, lo, hi);
        double delta = s * (double)d + (b1 - b0); /* z1 - z0 */
        double e = exp(-fabs(delta)), p1 = delta >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        if (want_loss) nll += log1p(e) + (y[r] ? fmax(0.0, -delta) : fmax(0.0, delta));
        logits += delta;
        double g = p1 - (double)y[r], lr = linear_schedule_lr(sched, t->step++); /* g = dNLL/dz1 = -dNLL/dz0 */
        s *= 1.0 - lr * l2;
        const float coef = (float)(2.0 * lr * g / s);
        if (shared) {
            const float u = coef * x;
            for (int64_t j = lo; j < hi; j++) V[col[j]] -= u;
        } else {
            for (int64_t j = lo; j < hi; j++) V[col[j]] -= coef * val[j];
        }
        b1 -= lr * g;
        b0 += lr * g;
        if (s < 1e-6) linear_fold_scale(t, &s);
    }
    t->s = s;
    t->b[0] = (float)b0;
    t->b[1] = (float)b1;
    return nll + 0.0 * logits; /* 0 * logits: NaN if a logit was not finite */
}

/* Any C: as linear_epoch_sample2 with V[F, C]: W <- (1 - lr l2) W - lr x^T (p - onehot(y)). The NLL is
 * computed always (the softmax needs logsumexp anyway). */
static double linear_epoch_sample(linear_state *t, const sp_linear_trainset *ts, const size_t *rows, size_t n,
                                  const linear_schedule *sched, double l2, const int C)
{
    const sp_csr *X = ts->X;
    const int32_t *y = ts->y;
    float *V = t->P;
    double z[SP_LINEAR_MAX_CLASSES], b[SP_LINEAR_MAX_CLASSES], s = t->s, nll = 0.0;
    float coef[SP_LINEAR_MAX_CLASSES];
    for (int c = 0; c < C; c++) b[c] = t->b[c];
    for (size_t i = 0; i < n; i++) {
        const size_t r = rows[i];
        const int64_t lo = X->row_ptr[r], hi = X->row_ptr[r + 1];
        for (int c = 0; c < C; c++) z[c] = 0.0;
        for (int64_t j = lo; j < hi; j++) {
            const float *v = V + (size_t)X->col[j] * C, x = X->val[j];
            for (int c = 0; c < C; c++) z[c] += x * v[c];
        }
        for (int c = 0; c < C; c++) z[c] = s * z[c] + b[c];
        double zy = z[y[r]];
        nll += linear_softmax(z, C) - zy; /* z is now p */
        double lr = linear_schedule_lr(sched, t->step++);
        s *= 1.0 - lr * l2;
        for (int c = 0; c < C; c++) {
            double g = z[c] - (c == y[r]);
            coef[c] = (float)(lr * g / s);
            b[c] -= lr * g;
        }
        for (int64_t j = lo; j < hi; j++) {
            float *v = V + (size_t)X->col[j] * C, x = X->val[j];
            for (int c = 0; c < C; c++) v[c] -= coef[c] * x;
        }
        if (s < 1e-6) linear_fold_scale(t, &s);
    }
    t->s = s;
    for (int c = 0; c < C; c++) t->b[c] = (float)b[c];
    return nll;
}

/* Mean NLL of rows[0..n-1] of the full matrix X under the current state: a feature's weight is s * V of its
 * compact index, or s * fold * W0 (its initial weight) if it never occurs in the training rows. */
static double linear_state_nll(const linear_state *t, const int32_t *map, const float *W0, const sp_csr *X,
                               const int32_t *y, const size_t *rows, size_t n)
{
    double z[SP_LINEAR_MAX_CLASSES], z0[SP_LINEAR_MAX_CLASSES], nll = 0.0;
    const int C = t->C;
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < C; c++) z[c] = z0[c] = 0.0;
        for (int64_t j = X->row_ptr[rows[i]]; j < X->row_ptr[rows[i] + 1]; j++) {
            int32_t f = X->col[j];
            if (map[f] >= 0 && t->binary) /* only z1 - z0 matters: put D in z1 */
                z[1] += X->val[j] * t->P[(size_t)map[f] * t->stride];
            else if (map[f] >= 0)
                for (int c = 0; c < C; c++) z[c] += X->val[j] * t->P[(size_t)map[f] * t->stride + c];
            else
                for (int c = 0; c < C; c++) z0[c] += X->val[j] * W0[(size_t)f * C + c];
        }
        for (int c = 0; c < C; c++) z[c] = t->s * (z[c] + t->fold * z0[c]) + t->b[c];
        double zmax = z[0], sum = 0.0;
        for (int c = 1; c < t->C; c++) zmax = z[c] > zmax ? z[c] : zmax;
        for (int c = 0; c < t->C; c++) sum += exp(z[c] - zmax);
        nll += zmax + log(sum) - z[y[rows[i]]];
    }
    return n ? nll / (double)n : NAN;
}

void sp_linear_trainset_free(sp_linear_trainset *ts)
{
    if (!ts) return;
    free(ts->map);
    free(ts->y);
    free(ts->row_value);
    sp_csr_free(ts->X);
    free(ts);
}

sp_status sp_linear_trainset_build(sp_linear_trainset **out, const sp_csr *X, const int32_t *y, const size_t *rows,
                                   size_t n, int C)
{
    *out = NULL;
    if (n == 0) return sp_fail(SP_ERR_INPUT, "no training rows; the data set needs a non-empty train split");
    size_t F = X->n_cols, nnz = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= X->n_rows || y[rows[i]] < 0 || y[rows[i]] >= C)
            return sp_fail(SP_ERR_INPUT, "training row %zu: label %d outside [0, %d) or row out of range", rows[i],
                           rows[i] < X->n_rows ? (int)y[rows[i]] : -1, C);
        size_t k = (size_t)(X->row_ptr[rows[i] + 1] - X->row_ptr[rows[i]]);
        nnz += k;
    }
    sp_linear_trainset *ts = calloc(1, sizeof *ts);
    if (!ts) return sp_fail(SP_ERR_NOMEM, "out of memory for %zu training rows", n);
    ts->n_features = F;
    ts->map = malloc(F * sizeof *ts->map);
    ts->y = malloc(n * sizeof *ts->y);
    ts->row_value = malloc(n * sizeof *ts->row_value);
    int32_t *cols = malloc((nnz ? nnz : 1) * sizeof *cols);
    if (!ts->map || !ts->y || !ts->row_value || !cols) {
        free(cols);
        sp_linear_trainset_free(ts);
        return sp_fail(SP_ERR_NOMEM, "out of memory for %zu training rows", n);
    }
    /* features numbered by first occurrence: the first pass assigns ids, the matrix is built with them
     * (numbering by descending count instead made no measurable difference) */
    memset(ts->map, 0xff, F * sizeof *ts->map); /* all -1 */
    for (size_t i = 0; i < n; i++)
        for (int64_t j = X->row_ptr[rows[i]]; j < X->row_ptr[rows[i] + 1]; j++) {
            int32_t f = X->col[j];
            if (ts->map[f] < 0) ts->map[f] = (int32_t)ts->n_compact++;
        }
    ts->X = sp_csr_alloc(ts->n_compact ? ts->n_compact : 1, nnz);
    sp_status st = ts->X ? SP_OK : sp_fail(SP_ERR_NOMEM, "out of memory for %zu training rows", n);
    for (size_t i = 0; i < n && st == SP_OK; i++) {
        int64_t lo = X->row_ptr[rows[i]], k = X->row_ptr[rows[i] + 1] - lo;
        /* compact ids are not ascending within a row; the trainer does not need them sorted, so the row is
         * copied as it is (append_row's ordering check is for user-facing matrices; sorting the rows by
         * compact id made no measurable difference to the trainer's speed) */
        for (int64_t j = 0; j < k; j++) cols[j] = ts->map[X->col[lo + j]];
        size_t at = sp_csr_nnz(ts->X);
        memcpy(ts->X->col + at, cols, (size_t)k * sizeof *cols);
        memcpy(ts->X->val + at, X->val + lo, (size_t)k * sizeof *X->val);
        if (ts->X->n_rows + 1 > ts->X->cap_rows) {
            size_t cap = 2 * ts->X->cap_rows + n;
            int64_t *p = realloc(ts->X->row_ptr, (cap + 1) * sizeof *p);
            if (!p) {
                st = sp_fail(SP_ERR_NOMEM, "out of memory for %zu training rows", n);
                break;
            }
            ts->X->row_ptr = p;
            ts->X->cap_rows = cap;
        }
        ts->X->row_ptr[ts->X->n_rows + 1] = (int64_t)(at + (size_t)k);
        ts->X->n_rows++;
        ts->y[i] = y[rows[i]];
        ts->row_value[i] = k ? X->val[lo] : 0.0f;
        for (int64_t j = 1; j < k; j++)
            if (X->val[lo + j] != X->val[lo]) ts->row_value[i] = NAN;
        ts->max_row_nnz = (size_t)k > ts->max_row_nnz ? (size_t)k : ts->max_row_nnz;
    }
    free(cols);
    if (st != SP_OK) {
        sp_linear_trainset_free(ts);
        return st;
    }
    *out = ts;
    return SP_OK;
}

/* The final weights W[F, C] when nothing was drawn (init_std 0): features outside the training rows end at
 * zero, the others at s V (two classes: W0 = -D / 2, W1 = D / 2 with D = s V, as S = W0 + W1 stays 0).
 * Branch-free: an outside feature reads the zero block P[Fc] (about half of the features are outside, in
 * no predictable pattern). */
static void linear_export_undrawn(float *restrict W, const float *restrict P, const int32_t *restrict map, size_t F,
                                  size_t Fc, size_t stride, int C, int binary, double s)
{
    if (binary) {
        for (size_t f = 0; f < F; f++) {
            double D = P[(map[f] >= 0 ? (size_t)map[f] : Fc) * stride] * s;
            W[2 * f] = (float)(0.5 * (0.0 - D));
            W[2 * f + 1] = (float)(0.5 * D);
        }
        return;
    }
    for (size_t f = 0; f < F; f++) {
        const float *v = P + (map[f] >= 0 ? (size_t)map[f] : Fc) * stride;
        for (int c = 0; c < C; c++) W[f * (size_t)C + c] = (float)(v[c] * s);
    }
}

sp_status sp_linear_train(sp_linear_model *m, float *train_loss, float *val_loss, const sp_csr *X, const int32_t *y,
                          const size_t *train_rows, size_t n_train, const size_t *val_rows, size_t n_val,
                          const sp_linear_train_options *o, const sp_seeds *seeds)
{
    sp_status st = sp_linear_train_options_check(o);
    if (st != SP_OK) return st;
    sp_linear_trainset *ts = NULL;
    if ((st = sp_linear_trainset_build(&ts, X, y, train_rows, n_train, m->n_classes)) != SP_OK) return st;
    st = sp_linear_train_on(m, train_loss, val_loss, ts, X, y, val_rows, n_val, o, seeds);
    sp_linear_trainset_free(ts);
    return st;
}

sp_status sp_linear_train_on(sp_linear_model *m, float *train_loss, float *val_loss, const sp_linear_trainset *ts,
                             const sp_csr *X, const int32_t *y, const size_t *val_rows, size_t n_val,
                             const sp_linear_train_options *o, const sp_seeds *seeds)
{
    sp_status st = sp_linear_train_options_check(o);
    if (st != SP_OK) return st;
    const int C = m->n_classes;
    const size_t F = m->n_features, n_train = ts->X->n_rows, max_nnz = ts->max_row_nnz;
    if (F != X->n_cols || F != ts->n_features)
        return sp_fail(SP_ERR_STATE, "model has %zu features, data %zu, training set %zu", F, X->n_cols,
                       ts->n_features);
    const int32_t *map = ts->map, *yc = ts->y;
    const sp_csr *Xc = ts->X;
    linear_state t = {.C = C, .s = 1.0, .fold = 1.0, .F = ts->n_compact, .binary = C == 2};
    size_t *base = malloc(n_train * sizeof *base), *order = malloc(n_train * sizeof *order);
    gsl_rng *rng = NULL;
    if (!base || !order) goto nomem_model;
    /* per-sample SGD keeps V only; the minibatch trainers interleave V with G (and AdamW's moments) */
    const int per_sample = o->optimizer == SP_LINEAR_SGD && o->batch == 1;
    t.cap_touched = max_nnz * (size_t)o->batch < t.F ? max_nnz * (size_t)o->batch : t.F;
    t.stride = (per_sample ? 1 : o->optimizer == SP_LINEAR_ADAMW ? 4 : 2) * (size_t)(t.binary ? 1 : C);
    const int drawn = o->init_std > 0;
    /* S0 only matters for drawn initial weights (it is 0 otherwise); P gets one extra zero block at index
     * F, the weight of every feature outside the training rows when nothing is drawn */
    if (t.binary && drawn && !(t.S0 = calloc(t.F ? t.F : 1, sizeof *t.S0))) goto nomem_model;
    t.P = calloc((t.F + 1) * t.stride, sizeof *t.P);
    t.b = calloc((size_t)C, sizeof *t.b);
    t.mark = calloc(t.F ? t.F : 1, 1);
    t.touched = malloc((t.cap_touched ? t.cap_touched : 1) * sizeof *t.touched);
    t.dz = calloc((size_t)C, sizeof *t.dz);
    t.db = calloc((size_t)C, sizeof *t.db);
    if (!t.P || !t.b || !t.mark || !t.touched || !t.dz || !t.db) goto nomem_model;

    /* init stream: W ~ N(0, init_std^2), all F*C weights in order; features outside the training rows keep
     * theirs in m->W (scaled by the final decay at the end). With init_std 0 there is nothing to draw: V, S0
     * and b start at zero from calloc, and the features outside the training rows end at zero. */
    if (drawn && !(rng = sp_rng_alloc(sp_seed_for(seeds->init, "linear-weights", 0)))) goto nomem;
    for (size_t f = 0; f < F && drawn; f++) {
        float w[SP_LINEAR_MAX_CLASSES];
        for (int c = 0; c < C; c++) w[c] = (float)gsl_ran_gaussian_ziggurat(rng, o->init_std);
        /* plain loops: a memcpy call per feature costs more than the copy */
        if (map[f] < 0) {
            for (int c = 0; c < C; c++) m->W[f * (size_t)C + c] = w[c];
        } else if (t.binary) {
            t.P[(size_t)map[f] * t.stride] = w[1] - w[0];
            t.S0[map[f]] = w[0] + w[1];
        } else {
            for (int c = 0; c < C; c++) t.P[(size_t)map[f] * t.stride + c] = w[c];
        }
    }
    if (rng) gsl_rng_free(rng);
    rng = NULL;

    /* bootstrap stream: n_train draws with replacement, or the rows themselves (positions in Xc) */
    if (o->bootstrap) {
        if (!(rng = sp_rng_alloc(sp_seed_for(seeds->bootstrap, "linear-resample", 0)))) goto nomem;
        for (size_t i = 0; i < n_train; i++) base[i] = gsl_rng_uniform_int(rng, n_train);
        gsl_rng_free(rng);
        rng = NULL;
    } else {
        for (size_t i = 0; i < n_train; i++) base[i] = i;
    }

    size_t total_steps = (size_t)o->epochs * ((n_train + (size_t)o->batch - 1) / (size_t)o->batch);
    const linear_schedule sched = linear_schedule_make(o, (long)total_steps);
    for (int e = 0; e < o->epochs; e++) {
        /* order stream: epoch e's permutation depends only on (order seed, e) */
        memcpy(order, base, n_train * sizeof *order);
        if (!(rng = sp_rng_alloc(sp_seed_for(seeds->order, "linear-epoch", (uint64_t)e)))) goto nomem;
        gsl_ran_shuffle(rng, order, n_train, sizeof *order);
        gsl_rng_free(rng);
        rng = NULL;
        double nll = 0.0;
        if (per_sample) {
            nll = t.binary ? linear_epoch_sample2(&t, ts, order, n_train, &sched, o->l2, train_loss != NULL)
                           : linear_epoch_sample(&t, ts, order, n_train, &sched, o->l2, C);
        } else {
            for (size_t lo = 0; lo < n_train; lo += (size_t)o->batch) {
                size_t B = n_train - lo < (size_t)o->batch ? n_train - lo : (size_t)o->batch;
                double lr = linear_schedule_lr(&sched, t.step);
                nll += t.binary ? linear_step2(&t, Xc, yc, order + lo, B, o, lr)
                                : linear_step(&t, Xc, yc, order + lo, B, o, lr, C);
            }
        }
        nll /= (double)n_train;
        if (!isfinite(nll)) {
            st = sp_fail(SP_ERR_NUMERIC, "linear training diverged in epoch %d (mean loss %g); lower --lr", e + 1,
                         nll);
            goto done;
        }
        if (train_loss) train_loss[e] = (float)nll;
        if (val_loss) val_loss[e] = (float)linear_state_nll(&t, map, m->W, X, y, val_rows, n_val);
    }
    if (!drawn) linear_export_undrawn(m->W, t.P, map, F, t.F, t.stride, C, t.binary, t.s);
    for (size_t f = 0; f < F && drawn; f++) {
        float *w = m->W + f * (size_t)C;
        if (map[f] < 0) {
            for (int c = 0; c < C; c++) w[c] = (float)(w[c] * t.s * t.fold);
        } else if (t.binary) { /* W0 = (S - D) / 2, W1 = (S + D) / 2 */
            double S = t.S0[map[f]] * t.s * t.fold, D = t.P[(size_t)map[f] * t.stride] * t.s;
            w[0] = (float)(0.5 * (S - D));
            w[1] = (float)(0.5 * (S + D));
        } else {
            for (int c = 0; c < C; c++) w[c] = (float)(t.P[(size_t)map[f] * t.stride + c] * t.s);
        }
    }
    memcpy(m->b, t.b, (size_t)C * sizeof *m->b);
    goto done;
nomem_model:
    st = sp_fail(SP_ERR_NOMEM, "out of memory for a linear model of %zu x %d weights", F, C);
    goto done;
nomem:
    st = sp_fail(SP_ERR_NOMEM, "out of memory for a random number generator");
done:
    if (rng) gsl_rng_free(rng);
    free(base), free(order);
    linear_state_free(&t);
    return st;
}
