/* adamw.c: AdamW with warmup + decay schedule and global-norm clipping (see adamw.h). */
#include "adamw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fixed chunk of the norm reduction: the partition never depends on the number of threads. */
#define ADAMW_NORM_CHUNK 65536

sp_adamw_config sp_adamw_defaults(void)
{
    sp_adamw_config c = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f,
                         .warmup_steps = 0, .total_steps = 0, .schedule = SP_LR_CONSTANT, .min_lr_ratio = 0.0f,
                         .clip_norm = 0.0f};
    return c;
}

sp_status sp_adamw_config_check(const sp_adamw_config *c)
{
    if (!(c->lr > 0.0f && isfinite(c->lr))) return sp_fail(SP_ERR_USAGE, "adamw: lr must be positive (got %g)", (double)c->lr);
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return sp_fail(SP_ERR_USAGE, "adamw: beta1 and beta2 must be in [0, 1) (got %g, %g)", (double)c->beta1,
                       (double)c->beta2);
    if (!(c->eps > 0.0f)) return sp_fail(SP_ERR_USAGE, "adamw: eps must be positive (got %g)", (double)c->eps);
    if (!(c->weight_decay >= 0.0f))
        return sp_fail(SP_ERR_USAGE, "adamw: weight_decay must be >= 0 (got %g)", (double)c->weight_decay);
    if (c->warmup_steps < 0) return sp_fail(SP_ERR_USAGE, "adamw: warmup_steps must be >= 0 (got %d)", c->warmup_steps);
    if (!(c->min_lr_ratio >= 0.0f && c->min_lr_ratio <= 1.0f))
        return sp_fail(SP_ERR_USAGE, "adamw: min_lr_ratio must be in [0, 1] (got %g)", (double)c->min_lr_ratio);
    if (c->schedule != SP_LR_CONSTANT && c->schedule != SP_LR_LINEAR && c->schedule != SP_LR_COSINE)
        return sp_fail(SP_ERR_USAGE, "adamw: unknown schedule %d; use constant, linear or cosine", (int)c->schedule);
    return SP_OK;
}

sp_status sp_adamw_alloc(const sp_adamw_config *cfg, size_t n, const sp_adamw_segment *segs, int n_segs,
                         sp_adamw **out)
{
    *out = NULL;
    sp_status st = sp_adamw_config_check(cfg);
    if (st != SP_OK) return st;
    for (int i = 0; i < n_segs; i++)
        if (segs[i].offset > n || segs[i].count > n - segs[i].offset)
            return sp_fail(SP_ERR_USAGE, "adamw: segment %d [%zu, +%zu) lies outside the %zu parameters", i,
                           segs[i].offset, segs[i].count, n);
    sp_adamw *o = calloc(1, sizeof *o);
    if (!o) return sp_fail(SP_ERR_NOMEM, "adamw: out of memory");
    o->cfg = *cfg;
    o->n = n;
    o->m = calloc(2 * n + 1, sizeof(float));
    o->decay = calloc(n + 1, 1);
    if (!o->m || !o->decay) {
        sp_adamw_free(o);
        return sp_fail(SP_ERR_NOMEM, "adamw: out of memory for moments of %zu parameters", n);
    }
    o->v = o->m + n;
    for (int i = 0; i < n_segs; i++) memset(o->decay + segs[i].offset, segs[i].decay ? 1 : 0, segs[i].count);
    *out = o;
    return SP_OK;
}

void sp_adamw_free(sp_adamw *opt)
{
    if (!opt) return;
    free(opt->m);
    free(opt->decay);
    free(opt);
}

double sp_adamw_lr(const sp_adamw_config *c, long t)
{
    if (c->warmup_steps > 0 && t < c->warmup_steps) return (double)c->lr * (double)(t + 1) / c->warmup_steps;
    if (c->schedule == SP_LR_CONSTANT) return c->lr;
    long span = (long)c->total_steps - c->warmup_steps;
    double progress = (double)(t - c->warmup_steps) / (double)(span > 1 ? span : 1);
    progress = progress < 0.0 ? 0.0 : progress > 1.0 ? 1.0 : progress;
    double lo = c->min_lr_ratio;
    double f = c->schedule == SP_LR_LINEAR ? 1.0 - (1.0 - lo) * progress
                                           : lo + (1.0 - lo) * 0.5 * (1.0 + cos(M_PI * progress));
    return (double)c->lr * f;
}

double sp_adamw_grad_norm(const float *g, size_t n)
{
    size_t n_chunks = (n + ADAMW_NORM_CHUNK - 1) / ADAMW_NORM_CHUNK;
    double total = 0.0;
    /* chunk partials combined in chunk order: the same bits for any thread count */
    double *part = malloc((n_chunks + 1) * sizeof(double));
    if (!part) {
        for (size_t i = 0; i < n; i++) total += (double)g[i] * g[i];
        return sqrt(total);
    }
#pragma omp parallel for if (n_chunks > 1)
    for (size_t k = 0; k < n_chunks; k++) {
        size_t lo = k * ADAMW_NORM_CHUNK, hi = lo + ADAMW_NORM_CHUNK < n ? lo + ADAMW_NORM_CHUNK : n;
        /* 8 interleaved double lanes (vectorisable, fixed order), combined in lane order */
        double lane[8] = {0};
        size_t i = lo;
        for (; i + 8 <= hi; i += 8)
            for (int j = 0; j < 8; j++) lane[j] += (double)g[i + j] * g[i + j];
        double s = 0.0;
        for (int j = 0; j < 8; j++) s += lane[j];
        for (; i < hi; i++) s += (double)g[i] * g[i];
        part[k] = s;
    }
    for (size_t k = 0; k < n_chunks; k++) total += part[k];
    free(part);
    return sqrt(total);
}

/* The update of n parameters. restrict lets the loop vectorise without alias checks, and this file is built
 * with -fno-math-errno (CMakeLists.txt) so sqrtf of the non-negative second moment becomes the vector square
 * root: the same correctly rounded IEEE result, without the scalar errno path. */
static void adamw_update(float *restrict params, float *restrict m, float *restrict v, const float *restrict grads,
                         const unsigned char *restrict dm, size_t n, float b1, float b2, float eps, float step_size,
                         float bc2_sqrt, float decay)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        float p = params[i] * (dm[i] ? decay : 1.0f);
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] = p - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

sp_status sp_adamw_step(sp_adamw *o, float *params, float *grads, double *grad_norm)
{
    const sp_adamw_config *c = &o->cfg;
    size_t n = o->n;
    double norm = sp_adamw_grad_norm(grads, n);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm))
        return sp_fail(SP_ERR_NUMERIC, "adamw: gradient is NaN or Inf at step %ld; lower the learning rate or "
                                       "enable clipping", o->step + 1);
    if (c->clip_norm > 0.0f) {
        double coef = c->clip_norm / (norm + 1e-6);
        if (coef < 1.0) {
            float fc = (float)coef;
#pragma omp parallel for if (n > 65536)
            for (size_t i = 0; i < n; i++) grads[i] *= fc;
        }
    }
    double lr = sp_adamw_lr(c, o->step);
    o->step++;
    double bc1 = 1.0 - pow(c->beta1, (double)o->step), bc2 = 1.0 - pow(c->beta2, (double)o->step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2), decay = (float)(1.0 - lr * c->weight_decay);
    float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    float *m = o->m, *v = o->v;
    const unsigned char *dm = o->decay;
    size_t n_chunks = (n + ADAMW_NORM_CHUNK - 1) / ADAMW_NORM_CHUNK;
#pragma omp parallel for if (n_chunks > 1)
    for (size_t k = 0; k < n_chunks; k++) {
        size_t lo = k * ADAMW_NORM_CHUNK, hi = lo + ADAMW_NORM_CHUNK < n ? lo + ADAMW_NORM_CHUNK : n;
        adamw_update(params + lo, m + lo, v + lo, grads + lo, dm + lo, hi - lo, b1, b2, eps, step_size, bc2_sqrt,
                     decay);
    }
    return SP_OK;
}
