/* capacity.c: Blahut-Arimoto channel capacity and the per-example Rashomon capacity. */
#include "capacity.h"

#include <math.h>
#include <omp.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include <stdlib.h>

sp_status sp_capacity_ws_alloc(sp_capacity_ws **out, size_t max_rows, int n_classes)
{
    *out = NULL;
    if (max_rows == 0 || n_classes < 1)
        return sp_fail(SP_ERR_USAGE, "capacity workspace needs >= 1 row and >= 1 class");
    sp_capacity_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return sp_fail(SP_ERR_NOMEM, "out of memory for a capacity workspace");
    ws->max_rows = max_rows;
    ws->n_classes = n_classes;
    ws->W = malloc(max_rows * (size_t)n_classes * sizeof *ws->W);
    ws->p = malloc(2 * max_rows * sizeof *ws->p); /* current and trial distributions */
    ws->d = malloc(2 * max_rows * sizeof *ws->d);
    ws->q = malloc((size_t)n_classes * sizeof *ws->q);
    if (!ws->W || !ws->p || !ws->d || !ws->q) {
        sp_capacity_ws_free(ws);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %d capacity workspace", max_rows, n_classes);
    }
    *out = ws;
    return SP_OK;
}

void sp_capacity_ws_free(sp_capacity_ws *ws)
{
    if (!ws) return;
    free(ws->W);
    free(ws->p);
    free(ws->d);
    free(ws->q);
    free(ws);
}

/* One evaluation at input distribution p: q = p W, d[m] = KL(W_m || q) (nats); returns I(p) = sum p d and
 * Blahut's bounds *lower = ln sum_m p_m e^{d_m} <= C <= *upper = max_m d_m (valid for any p). */
/* ln(1 + x), x > -1: glibc's log is several times faster than its log1p, and away from 0 it loses nothing
 * (1 + x is rounded once, a relative error <= 2^-53 in it is an absolute error <= 2^-53 in the logarithm,
 * below 1e-15 relative to |ln(1 + x)| >= 0.22 for |x| > 0.25). */
static inline double log1p_wide(double x)
{
    return fabs(x) > 0.25 ? log(1.0 + x) : log1p(x);
}

/* (1 + x) ln(1 + x) - x >= 0 without cancellation: the series sum_{k>=2} (-x)^k / (k (k - 1)) for small |x|
 * (15 terms leave a relative error below 1e-17 for |x| < 0.05). */
static double kl_term(double x)
{
    if (x <= -1.0) return 1.0; /* w = 0: the limit of (1 + x) ln(1 + x) is 0 */
    if (fabs(x) >= 0.05) return (1.0 + x) * log1p_wide(x) - x;
    static const double inv[15] = {1.0 / 2,   1.0 / 6,   1.0 / 12,  1.0 / 20,  1.0 / 30,
                                   1.0 / 42,  1.0 / 56,  1.0 / 72,  1.0 / 90,  1.0 / 110,
                                   1.0 / 132, 1.0 / 156, 1.0 / 182, 1.0 / 210, 1.0 / 240}; /* 1/(k(k-1)) */
    double s = 0;
    for (int k = 14; k >= 0; k--) s = s * -x + inv[k]; /* Horner in -x */
    return s * x * x;
}

/* One evaluation at input distribution p: q = p W, d[m] = KL(W_m || q) (nats); returns I(p) = sum p d and
 * Blahut's bounds *lower = ln sum_m p_m e^{d_m} <= C <= *upper = max_m d_m (valid for any p).
 * KL is summed as sum_c q_c f((w_c - q_c) / q_c), f(x) = (1 + x) ln(1 + x) - x: every term is >= 0 and
 * second order, so nearly coinciding rows (every model says 0.999) keep full relative precision instead
 * of cancelling to rounding noise, which the over-relaxed steps below rely on. */
static double ba_eval(sp_capacity_ws *ws, size_t M, const double *p, double *d, double *lower, double *upper)
{
    const int C = ws->n_classes;
    const double *W = ws->W;
    double *q = ws->q;
    for (int c = 0; c < C; c++) q[c] = 0;
    for (size_t m = 0; m < M; m++)
        for (int c = 0; c < C; c++) q[c] += p[m] * W[m * (size_t)C + (size_t)c];
    double up = -INFINITY, mi = 0;
    for (size_t m = 0; m < M; m++) {
        double kl = 0;
        for (int c = 0; c < C; c++) {
            double w = W[m * (size_t)C + (size_t)c];
            if (q[c] > 0) kl += q[c] * kl_term((w - q[c]) / q[c]);
        }
        d[m] = kl;
        mi += p[m] * kl;
        if (kl > up) up = kl;
    }
    double z = 0; /* sum p (e^{d - up} - 1), so ln(1 + z) keeps the small gap exact */
    for (size_t m = 0; m < M; m++) z += p[m] * expm1(d[m] - up);
    *lower = up + log1p(z);
    *upper = up;
    return mi;
}

/* Two rows: p = (sigma(t), sigma(-t)) in log-odds t. The Blahut-Arimoto step is t <- t + g(t) with
 * g = D_0 - D_1, and its fixed point g(t) = 0 is the capacity-achieving input; g decreases in t. We take
 * secant steps on g, fall back to the BA step (or bisection once a sign change is bracketed) when the secant
 * leaves the bracket, and stop on Blahut's bounds as in the general case: a handful of evaluations where BA
 * needs tens to thousands. */
static double capacity_two_rows(sp_capacity_ws *ws, int *iterations)
{
    double *p = ws->p, *d = ws->d, lower, upper;
    double best_lower = -INFINITY, best_upper = INFINITY;
    double t = 0, t_prev = 0, g_prev = 0, t_lo = -INFINITY, t_hi = INFINITY;
    int have_prev = 0, it;
    for (it = 1; it <= SP_CAPACITY_MAX_ITER; it++) {
        p[0] = 1.0 / (1.0 + exp(-t));
        p[1] = 1.0 / (1.0 + exp(t));
        ba_eval(ws, 2, p, d, &lower, &upper);
        if (lower > best_lower) best_lower = lower;
        if (upper < best_upper) best_upper = upper;
        double g = d[0] - d[1];
        if (best_upper - best_lower <= SP_CAPACITY_TOL || g == 0) break;
        if (g > 0) t_lo = t;
        else t_hi = t;
        double next = have_prev && g != g_prev ? t - g * (t - t_prev) / (g - g_prev) : t + g;
        if (!(next > t_lo && next < t_hi)) next = isfinite(t_lo) && isfinite(t_hi) ? 0.5 * (t_lo + t_hi) : t + g;
        t_prev = t, g_prev = g, have_prev = 1;
        t = next;
    }
    if (iterations) *iterations = it;
    return (best_lower > 0 ? best_lower : 0.0) / log(2.0);
}

double sp_capacity_blahut_arimoto(sp_capacity_ws *ws, size_t M, int *iterations)
{
    const int C = ws->n_classes;
    double *W = ws->W, *p = ws->p, *d = ws->d;
    double *p_try = ws->p + ws->max_rows, *d_try = ws->d + ws->max_rows;
    for (size_t m = 0; m < M; m++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += W[m * (size_t)C + (size_t)c];
        for (int c = 0; c < C; c++) {
            double w = W[m * (size_t)C + (size_t)c] / s;
            W[m * (size_t)C + (size_t)c] = w;
        }
        p[m] = 1.0 / (double)M;
    }
    if (M == 2) return capacity_two_rows(ws, iterations);
    double lower, upper;
    double mi = ba_eval(ws, M, p, d, &lower, &upper);
    double best_lower = lower, best_upper = upper, step = 1.0;
    int it;
    for (it = 1; it <= SP_CAPACITY_MAX_ITER; it++) {
        if (best_upper - best_lower <= SP_CAPACITY_TOL) break;
        /* Over-relaxed update p' ~ p e^{step d}: step 1 is Blahut-Arimoto (never decreases I); a longer step
         * is kept only if I(p') >= I(p), and the step doubles after each accepted one. */
        for (;;) {
            double z = 0;
            for (size_t m = 0; m < M; m++) z += p_try[m] = p[m] * exp(step * (d[m] - upper));
            for (size_t m = 0; m < M; m++) p_try[m] /= z;
            double lo_try, up_try;
            double mi_try = ba_eval(ws, M, p_try, d_try, &lo_try, &up_try);
            if (step == 1.0 || mi_try >= mi) {
                for (size_t m = 0; m < M; m++) p[m] = p_try[m], d[m] = d_try[m];
                mi = mi_try, lower = lo_try, upper = up_try;
                break;
            }
            step = step / 4 > 1.0 ? step / 4 : 1.0;
        }
        step = step * 2 < 1e15 ? step * 2 : 1e15;
        if (lower > best_lower) best_lower = lower;
        if (upper < best_upper) best_upper = upper;
    }
    if (iterations) *iterations = it;
    /* Rounding can leave the bound a hair below zero for identical rows. */
    return (best_lower > 0 ? best_lower : 0.0) / log(2.0);
}

/* a ln(1 + d/a) / d, the divided-difference part of x ln x between a and a + d (0 at a = 0). */
static double xlogx_dd_part(double a, double d)
{
    return a > 0 ? a * log1p_wide(d / a) / d : 0.0;
}

double sp_capacity_binary(double a, double b)
{
    if (a > b) {
        double t = a;
        a = b, b = t;
    }
    const double d = b - a;
    if (!(d > 0)) return 0.0;
    /* KL(w || q) is convex in w, so max(KL(a || q), KL(b || q)) >= C for every q with equality at the
     * optimum q*, where the mutual information h(q) - h(a) - (q - a) (h(b) - h(a)) / d (as a function of the
     * output probability q) is stationary: ln((1 - q*) / q*) = slope = (h(b) - h(a)) / d, h the binary
     * entropy in nats. The slope is written as divided differences that stay exact when d is tiny:
     * (x ln x)[a, b] = ln b + a ln(1 + d/a)/d and, with u = 1 - x, the same in u. */
    const double ua = 1.0 - a, ub = 1.0 - b;
    const double slope = -(log(b) + xlogx_dd_part(a, d)) + (log(ua) + xlogx_dd_part(ub, d));
    const double e = exp(slope);
    const double q = isinf(e) ? 0.0 : 1.0 / (1.0 + e), uq = isinf(e) ? 1.0 : e / (1.0 + e); /* q*, 1 - q* */
    double kl_a = 0, kl_b = 0; /* second-order-exact KL as in ba_eval */
    if (q > 0) kl_a += q * kl_term((a - q) / q), kl_b += q * kl_term((b - q) / q);
    if (uq > 0) kl_a += uq * kl_term((ua - uq) / uq), kl_b += uq * kl_term((ub - uq) / uq);
    return (kl_a > kl_b ? kl_a : kl_b) / log(2.0);
}

/* The extreme rows of a block of examples, kept as the pairs themselves: (lo0[t], lo1[t]) is the pair with the
 * smallest renormalised P(class 1) = g1 / (g0 + g1) seen so far, (hi0[t], hi1[t]) the largest; g[2t], g[2t+1]
 * is the next member's pair, t < len. Comparing two pairs needs no division: g1 / (g0 + g1) increases with
 * g1 / g0, and c1 / c0 > h1 / h0 <=> c1 h0 > h1 c0 for non-negative entries, tested with an FMA
 * (products_greater below), and one division per example at the end replaces one per model and example:
 * the pass is then bound by memory bandwidth, not by the divider. A pair (0, 0) never
 * compares greater or smaller, so it is skipped. The AVX-512 form does the same comparisons 16 examples at a
 * time with blends (the compiler's own vectorisation of the scalar loop branches on its store masks, which
 * costs more than the divisions it saves). */
static inline int products_greater_scalar(float a, float b, float c, float d)
{
    const float p = c * d, e = fmaf(c, d, -p);
    return fmaf(a, b, -p) > e;
}

static void extreme_update_scalar(float *restrict lo0, float *restrict lo1, float *restrict hi0,
                                  float *restrict hi1, const float *restrict g, size_t t, size_t len)
{
    for (; t < len; t++) {
        const float g0 = g[2 * t], g1 = g[2 * t + 1];
        if (products_greater_scalar(g1, hi0[t], hi1[t], g0)) hi0[t] = g0, hi1[t] = g1;
        if (products_greater_scalar(lo1[t], g0, g1, lo0[t])) lo0[t] = g0, lo1[t] = g1;
    }
}

#ifdef __AVX512F__
/* Bit i set when a[i] b[i] > c[i] d[i]. With p = fl(c d) and e = c d - p (exact by FMA), a b - c d =
 * (a b - p) - e, and fl(a b - p) > e differs from the exact test only when the two products agree to about
 * 2^-47 relative, where either answer moves a share by less than 1e-14; four float operations instead of a
 * widening to double. */
static inline __mmask16 products_greater(__m512 a, __m512 b, __m512 c, __m512 d)
{
    const __m512 p = _mm512_mul_ps(c, d), e = _mm512_fmsub_ps(c, d, p);
    return _mm512_cmp_ps_mask(_mm512_fmsub_ps(a, b, p), e, _CMP_GT_OQ);
}

/* One member's 16 pairs g[0..31] against the extremes (l0, l1), (h0, h1) of the same 16 examples. */
static inline void extreme_step(__m512 *l0, __m512 *l1, __m512 *h0, __m512 *h1, const float *g)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 pa = _mm512_loadu_ps(g), pb = _mm512_loadu_ps(g + 16);
    const __m512 c0 = _mm512_permutex2var_ps(pa, even, pb), c1 = _mm512_permutex2var_ps(pa, odd, pb);
    const __mmask16 above = products_greater(c1, *h0, *h1, c0), below = products_greater(*l1, c0, c1, *l0);
    *h0 = _mm512_mask_blend_ps(above, *h0, c0);
    *h1 = _mm512_mask_blend_ps(above, *h1, c1);
    *l0 = _mm512_mask_blend_ps(below, *l0, c0);
    *l1 = _mm512_mask_blend_ps(below, *l1, c1);
}

/* Members g[0..n) through the block together: the extremes of each 16 examples are loaded once, updated by
 * every member in order, stored once; the scalar tail (t >= vec_len) follows, member by member. */
static inline void extreme_group(float *restrict lo0, float *restrict lo1, float *restrict hi0,
                                 float *restrict hi1, const float *const *g, size_t n, size_t vec_len, size_t len)
{
    for (size_t t = 0; t < vec_len; t += 16) {
        __m512 h0 = _mm512_loadu_ps(hi0 + t), h1 = _mm512_loadu_ps(hi1 + t);
        __m512 l0 = _mm512_loadu_ps(lo0 + t), l1 = _mm512_loadu_ps(lo1 + t);
        for (size_t i = 0; i < n; i++) extreme_step(&l0, &l1, &h0, &h1, g[i] + 2 * t);
        _mm512_storeu_ps(hi0 + t, h0);
        _mm512_storeu_ps(hi1 + t, h1);
        _mm512_storeu_ps(lo0 + t, l0);
        _mm512_storeu_ps(lo1 + t, l1);
    }
    for (size_t i = 0; i < n; i++) extreme_update_scalar(lo0, lo1, hi0, hi1, g[i], vec_len, len);
}

/* As extreme_update_scalar for the members g[0..k-1] (each a pointer to its pairs), in member order. GROUP
 * members go through the block together: GROUP sequential streams in flight and 1/GROUP of the loads and
 * stores of the extremes (one member at a time leaves the pass bound by its own loads' latency; 8 was
 * fastest on the machines measured, 32 streams defeat the hardware prefetcher). The remaining k mod GROUP
 * members go one at a time (GROUP and 1 are constants, so both calls are specialised). */
enum { GROUP = 8 };
static void extreme_update(float *restrict lo0, float *restrict lo1, float *restrict hi0, float *restrict hi1,
                           const float *const *g, size_t k, size_t len)
{
    const size_t vec_len = len / 16 * 16;
    size_t j = 0;
    for (; j + GROUP <= k; j += GROUP) extreme_group(lo0, lo1, hi0, hi1, g + j, GROUP, vec_len, len);
    for (; j < k; j++) extreme_group(lo0, lo1, hi0, hi1, g + j, 1, vec_len, len);
}
#else
static void extreme_update(float *restrict lo0, float *restrict lo1, float *restrict hi0, float *restrict hi1,
                           const float *const *g, size_t k, size_t len)
{
    for (size_t j = 0; j < k; j++) extreme_update_scalar(lo0, lo1, hi0, hi1, g[j], 0, len);
}
#endif

/* The renormalised P(class 1) of a pair. (An example whose pairs are all (0, 0), which validated
 * probabilities never are, keeps the starting pairs (0, 1) and (1, 0): shares 1 and 0.) */
static double renormalised_share(float g0, float g1)
{
    return (double)g1 / ((double)g0 + (double)g1);
}

sp_status sp_rashomon_capacity(double *rc, size_t *n_capped, const sp_predmatrix *pm, const uint8_t *member)
{
    const size_t n = pm->n_examples, M = pm->n_models;
    const int C = pm->n_classes;
    size_t k = 0;
    for (size_t m = 0; m < M; m++) k += member == NULL || member[m];
    if (k == 0) return sp_fail(SP_ERR_USAGE, "Rashomon capacity of an empty set of models");
    size_t *idx = malloc(k * sizeof *idx);
    if (!idx) return sp_fail(SP_ERR_NOMEM, "out of memory for Rashomon capacity");
    k = 0;
    for (size_t m = 0; m < M; m++)
        if (member == NULL || member[m]) idx[k++] = m;
    size_t rows = C == 2 ? 2 : k, capped = 0; /* two classes: the workspace is not used */
    int failed = 0;
    /* Examples go in blocks: for two classes each block streams a contiguous slice of every member's row
     * to find the extreme rows, instead of gathering one example across M rows at a time. Blocks are
     * handed out dynamically (each example's value does not depend on which thread computes it), at most
     * MAX_BLOCK examples each (64 KB of extreme pairs, in L2), their number a multiple of the thread count
     * so that no thread waits for the last block of another. */
    enum { MAX_BLOCK = 4096 };
    const size_t threads = (size_t)omp_get_max_threads();
    size_t n_blocks = (n + MAX_BLOCK - 1) / MAX_BLOCK;
    n_blocks = (n_blocks + threads - 1) / threads * threads;
    const size_t BLOCK = ((n + n_blocks - 1) / n_blocks + 15) / 16 * 16;
#pragma omp parallel reduction(+ : capped) reduction(| : failed)
    {
        sp_capacity_ws *ws = NULL;
        if (sp_capacity_ws_alloc(&ws, rows, C) != SP_OK) failed = 1;
        /* the pairs with the smallest and largest renormalised P(class 1) of each example in the block */
        float *ext = malloc(4 * BLOCK * sizeof *ext);
        const float **slices = malloc(k * sizeof *slices); /* each member's pairs of the block */
        if (!ext || !slices) {
            sp_capacity_ws_free(ws);
            ws = NULL;
            failed = 1;
        }
        float *lo0 = ext, *lo1 = ext + BLOCK, *hi0 = ext + 2 * BLOCK, *hi1 = ext + 3 * BLOCK;
#pragma omp for schedule(dynamic, 1)
        for (size_t blk = 0; blk < n_blocks; blk++) {
            if (!ws) continue;
            const size_t i0 = blk * BLOCK, len = i0 + BLOCK < n ? BLOCK : n - i0;
            if (C == 2) {
                /* the two extreme rows (see capacity.h), by P(class 1) after renormalising each row, then
                 * the closed form of their channel */
                /* start from share 1 (lo) and share 0 (hi): (0, 1) and (1, 0) compare like any pair, and
                 * the first member replaces them unless its share equals them, which is then the same value */
                for (size_t t = 0; t < len; t++) lo0[t] = 0.0f, lo1[t] = 1.0f, hi0[t] = 1.0f, hi1[t] = 0.0f;
                for (size_t j = 0; j < k; j++) slices[j] = sp_predmatrix_row(pm, idx[j]) + 2 * i0;
                extreme_update(lo0, lo1, hi0, hi1, slices, k, len);
                for (size_t t = 0; t < len; t++)
                    rc[i0 + t] = exp2(sp_capacity_binary(renormalised_share(lo0[t], lo1[t]),
                                                         renormalised_share(hi0[t], hi1[t])));
                continue;
            }
            for (size_t t = 0; t < len; t++) {
                for (size_t j = 0; j < k; j++) {
                    const float *g = sp_predmatrix_row(pm, idx[j]) + (size_t)C * (i0 + t);
                    for (int c = 0; c < C; c++) ws->W[j * (size_t)C + (size_t)c] = g[c];
                }
                int iters;
                double bits = sp_capacity_blahut_arimoto(ws, k, &iters);
                if (iters > SP_CAPACITY_MAX_ITER) capped++;
                rc[i0 + t] = exp2(bits);
            }
        }
        sp_capacity_ws_free(ws);
        free(ext);
        free(slices);
    }
    free(idx);
    if (failed) return sp_fail(SP_ERR_NOMEM, "out of memory for Rashomon capacity workspaces");
    if (n_capped) *n_capped = capped;
    return SP_OK;
}
