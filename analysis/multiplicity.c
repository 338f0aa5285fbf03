/* multiplicity.c: ambiguity, discrepancy, delta variants, viable prediction ranges, seed disagreement,
 * pairwise disagreement and churn over a prediction matrix (definitions in multiplicity.h). */
#include "multiplicity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IS_MEMBER(member, m) ((member) == NULL || (member)[m])

/* sum_i w_i over the set bits of words[0..W) (w == NULL: the popcount). */
static double weighted_bits(const uint64_t *words, size_t W, const double *w)
{
    if (!w) {
        size_t c = 0;
        for (size_t k = 0; k < W; k++) c += (size_t)__builtin_popcountll(words[k]);
        return (double)c;
    }
    double s = 0;
    for (size_t k = 0; k < W; k++)
        for (uint64_t x = words[k]; x; x &= x - 1) s += w[k * 64 + (size_t)__builtin_ctzll(x)];
    return s;
}

static double weight_total(const double *w, size_t n)
{
    if (!w) return (double)n;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += w[i];
    return s;
}

/* acc[k] |= bits where model m differs from ref. */
static void or_diff(uint64_t *acc, const sp_predmatrix *pm, size_t m, size_t ref)
{
    const size_t W = pm->n_words;
    const uint64_t *x = sp_predmatrix_bits(pm, m), *y = sp_predmatrix_bits(pm, ref);
    for (int p = 0; p < pm->n_planes; p++)
        for (size_t k = 0; k < W; k++) acc[k] |= x[(size_t)p * W + k] ^ y[(size_t)p * W + k];
}

double sp_mult_ambiguity(const sp_predmatrix *pm, size_t ref, const uint8_t *member, const double *ex_weight,
                         uint64_t *work)
{
    memset(work, 0, pm->n_words * sizeof *work);
    for (size_t m = 0; m < pm->n_models; m++)
        if (IS_MEMBER(member, m) && m != ref) or_diff(work, pm, m, ref);
    double total = weight_total(ex_weight, pm->n_examples);
    return total > 0 ? weighted_bits(work, pm->n_words, ex_weight) / total : NAN;
}

void sp_mult_flips(uint8_t *flip, const sp_predmatrix *pm, size_t ref, const uint8_t *member,
                   uint64_t *work)
{
    memset(work, 0, pm->n_words * sizeof *work);
    for (size_t m = 0; m < pm->n_models; m++)
        if (IS_MEMBER(member, m) && m != ref) or_diff(work, pm, m, ref);
    for (size_t i = 0; i < pm->n_examples; i++) flip[i] = (uint8_t)(work[i / 64] >> (i % 64) & 1);
}

double sp_mult_discrepancy(const sp_predmatrix *pm, size_t ref, const uint8_t *member, const double *ex_weight,
                           uint64_t *work)
{
    double total = weight_total(ex_weight, pm->n_examples);
    if (!(total > 0)) return NAN;
    double best = 0;
    for (size_t m = 0; m < pm->n_models; m++) {
        if (!IS_MEMBER(member, m) || m == ref) continue;
        double d;
        if (!ex_weight) {
            d = (double)sp_predmatrix_disagree_count(pm, m, ref);
        } else {
            sp_predmatrix_diff(work, pm, m, ref);
            d = weighted_bits(work, pm->n_words, ex_weight);
        }
        if (d > best) best = d;
    }
    return best / total;
}

void sp_mult_delta(double *delta_ambiguity, double *delta_discrepancy, const sp_predmatrix *pm, size_t ref,
                   const uint8_t *member, const double *ex_weight, double delta, uint8_t *work)
{
    const size_t n = pm->n_examples;
    const int C = pm->n_classes;
    const float *g0 = sp_predmatrix_row(pm, ref);
    double total = weight_total(ex_weight, n);
    memset(work, 0, n);
    double best = 0;
    for (size_t m = 0; m < pm->n_models; m++) {
        if (!IS_MEMBER(member, m) || m == ref) continue;
        const float *g = sp_predmatrix_row(pm, m);
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            double dist = 0;
            for (int c = 0; c < C; c++) {
                double d = fabs((double)g[i * (size_t)C + (size_t)c] - (double)g0[i * (size_t)C + (size_t)c]);
                if (d > dist) dist = d;
            }
            if (dist >= delta) {
                work[i] = 1;
                s += ex_weight ? ex_weight[i] : 1.0;
            }
        }
        if (s > best) best = s;
    }
    double amb = 0;
    for (size_t i = 0; i < n; i++)
        if (work[i]) amb += ex_weight ? ex_weight[i] : 1.0;
    *delta_ambiguity = total > 0 ? amb / total : NAN;
    *delta_discrepancy = total > 0 ? best / total : NAN;
}

void sp_mult_vpr(float *lo, float *hi, const sp_predmatrix *pm, const uint8_t *member)
{
    const size_t nc = pm->n_examples * (size_t)pm->n_classes;
    int first = 1;
    for (size_t m = 0; m < pm->n_models; m++) {
        if (!IS_MEMBER(member, m)) continue;
        const float *g = sp_predmatrix_row(pm, m);
        if (first) {
            memcpy(lo, g, nc * sizeof *lo);
            memcpy(hi, g, nc * sizeof *hi);
            first = 0;
            continue;
        }
        for (size_t k = 0; k < nc; k++) {
            lo[k] = g[k] < lo[k] ? g[k] : lo[k];
            hi[k] = g[k] > hi[k] ? g[k] : hi[k];
        }
    }
    if (first)
        for (size_t k = 0; k < nc; k++) lo[k] = hi[k] = NAN;
}

void sp_mult_seed_disagreement(double *mu, double *mu_unbiased, double *sc, const sp_predmatrix *pm,
                               const uint32_t *count)
{
    const size_t n = pm->n_examples;
    const int C = pm->n_classes;
    double B = 0;
    for (size_t m = 0; m < pm->n_models; m++) B += count ? count[m] : 1;
#pragma omp parallel
    {
        double *votes = malloc((size_t)C * sizeof *votes);
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            if (!votes) {
                mu[i] = mu_unbiased[i] = sc[i] = NAN;
                continue;
            }
            for (int c = 0; c < C; c++) votes[c] = 0;
            for (size_t m = 0; m < pm->n_models; m++) {
                double k = count ? count[m] : 1;
                if (k > 0) votes[sp_predmatrix_label(pm, m, i)] += k;
            }
            double sq = 0, pairs = 0;
            for (int c = 0; c < C; c++) {
                sq += (votes[c] / B) * (votes[c] / B);
                pairs += votes[c] * (votes[c] - 1);
            }
            mu[i] = B > 0 ? 2.0 * (1.0 - sq) : NAN;
            mu_unbiased[i] = B >= 2 ? B / (B - 1) * mu[i] : NAN;
            sc[i] = B >= 2 ? pairs / (B * (B - 1)) : NAN;
        }
        free(votes);
    }
}

/* Tile sizes for the pairwise kernel: TM models x TW words of each side stay in L2 together. */
#define PAIR_TM 32
#define PAIR_TW 512

/* out[j] += popcount(x ^ y_j) summed over words [0, len), for four y's at once: x is loaded once per
 * word, and the loops are plain enough for the compiler to vectorise the popcount (vpopcntq on AVX-512). */
static void popcount_xor4(uint64_t out[4], const uint64_t *x, const uint64_t *y0, const uint64_t *y1,
                          const uint64_t *y2, const uint64_t *y3, size_t len)
{
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (size_t k = 0; k < len; k++) {
        uint64_t v = x[k];
        c0 += (uint64_t)__builtin_popcountll(v ^ y0[k]);
        c1 += (uint64_t)__builtin_popcountll(v ^ y1[k]);
        c2 += (uint64_t)__builtin_popcountll(v ^ y2[k]);
        c3 += (uint64_t)__builtin_popcountll(v ^ y3[k]);
    }
    out[0] += c0, out[1] += c1, out[2] += c2, out[3] += c3;
}

static uint64_t popcount_xor(const uint64_t *x, const uint64_t *y, size_t len)
{
    uint64_t c = 0;
    for (size_t k = 0; k < len; k++) c += (uint64_t)__builtin_popcountll(x[k] ^ y[k]);
    return c;
}

/* Disagreement count of models a and b over words [w0, w1), several bit planes. */
static uint64_t popcount_diff_planes(const uint64_t *x, const uint64_t *y, size_t W, size_t P, size_t w0, size_t w1)
{
    uint64_t c = 0;
    for (size_t k = w0; k < w1; k++) {
        uint64_t d = 0;
        for (size_t p = 0; p < P; p++) d |= x[p * W + k] ^ y[p * W + k];
        c += (uint64_t)__builtin_popcountll(d);
    }
    return c;
}

void sp_mult_pairwise(double *D, const sp_predmatrix *pm)
{
    const size_t M = pm->n_models, W = pm->n_words, P = (size_t)pm->n_planes;
    const size_t T = (M + PAIR_TM - 1) / PAIR_TM, n_tiles = T * (T + 1) / 2;
    const double inv_n = 1.0 / (double)pm->n_examples;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t t = 0; t < n_tiles; t++) {
        /* tile t -> (ta, tb), ta <= tb, row-major over the upper triangle */
        size_t ta = 0, rest = t;
        while (rest >= T - ta) rest -= T - ta++;
        size_t tb = ta + rest;
        size_t a0 = ta * PAIR_TM, a1 = a0 + PAIR_TM < M ? a0 + PAIR_TM : M;
        size_t b0 = tb * PAIR_TM, b1 = b0 + PAIR_TM < M ? b0 + PAIR_TM : M;
        uint64_t counts[PAIR_TM][PAIR_TM];
        memset(counts, 0, sizeof counts);
        for (size_t w0 = 0; w0 < W; w0 += PAIR_TW) {
            size_t w1 = w0 + PAIR_TW < W ? w0 + PAIR_TW : W;
            for (size_t a = a0; a < a1; a++) {
                const uint64_t *x = sp_predmatrix_bits(pm, a);
                size_t b = ta == tb ? a + 1 : b0;
                if (P == 1) {
                    for (; b + 4 <= b1; b += 4)
                        popcount_xor4(&counts[a - a0][b - b0], x + w0, sp_predmatrix_bits(pm, b) + w0,
                                      sp_predmatrix_bits(pm, b + 1) + w0, sp_predmatrix_bits(pm, b + 2) + w0,
                                      sp_predmatrix_bits(pm, b + 3) + w0, w1 - w0);
                    for (; b < b1; b++) counts[a - a0][b - b0] += popcount_xor(x + w0, sp_predmatrix_bits(pm, b) + w0, w1 - w0);
                } else {
                    for (; b < b1; b++)
                        counts[a - a0][b - b0] += popcount_diff_planes(x, sp_predmatrix_bits(pm, b), W, P, w0, w1);
                }
            }
        }
        for (size_t a = a0; a < a1; a++)
            for (size_t b = (ta == tb ? a + 1 : b0); b < b1; b++)
                D[a * M + b] = D[b * M + a] = (double)counts[a - a0][b - b0] * inv_n;
        if (ta == tb)
            for (size_t a = a0; a < a1; a++) D[a * M + a] = 0.0;
    }
}

void sp_mult_churn(double *churn, const sp_predmatrix *pm, size_t ref)
{
#pragma omp parallel for schedule(static)
    for (size_t m = 0; m < pm->n_models; m++)
        churn[m] = (double)sp_predmatrix_disagree_count(pm, m, ref) / (double)pm->n_examples;
}
