/* predmatrix.c: allocation, argmax packing and bitwise disagreement of a prediction matrix. */
#include "predmatrix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sp_status sp_predmatrix_alloc(sp_predmatrix **out, size_t n_models, size_t n_examples, int n_classes)
{
    *out = NULL;
    if (n_models == 0 || n_examples == 0 || n_classes < 2 || n_classes > 1 << 30)
        return sp_fail(SP_ERR_USAGE, "prediction matrix needs >= 1 model, >= 1 example and 2 to 2^30 classes "
                                     "(got %zu, %zu, %d)", n_models, n_examples, n_classes);
    sp_predmatrix *pm = calloc(1, sizeof *pm);
    if (!pm) return sp_fail(SP_ERR_NOMEM, "out of memory for a prediction matrix");
    pm->n_models = n_models;
    pm->n_examples = n_examples;
    pm->n_classes = n_classes;
    int planes = 0;
    while ((1 << planes) < n_classes) planes++;
    pm->n_planes = planes;
    pm->n_words = (n_examples + 63) / 64;
    pm->prob = calloc(n_models * n_examples * (size_t)n_classes, sizeof *pm->prob);
    pm->bits = calloc(n_models * (size_t)planes * pm->n_words, sizeof *pm->bits);
    if (!pm->prob || !pm->bits) {
        sp_predmatrix_free(pm);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu x %d prediction matrix", n_models,
                       n_examples, n_classes);
    }
    *out = pm;
    return SP_OK;
}

void sp_predmatrix_free(sp_predmatrix *pm)
{
    if (!pm) return;
    free(pm->prob);
    free(pm->bits);
    free(pm);
}

void sp_predmatrix_pack(sp_predmatrix *pm)
{
    const size_t n = pm->n_examples, W = pm->n_words;
    const int C = pm->n_classes, P = pm->n_planes;
#pragma omp parallel for schedule(static)
    for (size_t m = 0; m < pm->n_models; m++) {
        const float *g = sp_predmatrix_row(pm, m);
        uint64_t *b = sp_predmatrix_bits(pm, m);
        /* one word (64 examples) at a time, built in registers */
        for (size_t w = 0; w < W; w++) {
            const size_t i0 = w * 64, len = i0 + 64 <= n ? 64 : n - i0;
            if (C == 2) {
                uint64_t word = 0;
                const float *gi = g + 2 * i0;
                for (size_t t = 0; t < len; t++) word |= (uint64_t)(gi[2 * t + 1] > gi[2 * t]) << t;
                b[w] = word;
                continue;
            }
            uint64_t planes[32] = {0};
            for (size_t t = 0; t < len; t++) {
                const float *gi = g + (i0 + t) * (size_t)C;
                int best = 0;
                for (int c = 1; c < C; c++)
                    if (gi[c] > gi[best]) best = c; /* strict: ties keep the lowest index */
                for (int p = 0; p < P; p++) planes[p] |= (uint64_t)(best >> p & 1) << t;
            }
            for (int p = 0; p < P; p++) b[(size_t)p * W + w] = planes[p];
        }
    }
}

sp_status sp_predmatrix_validate(const sp_predmatrix *pm, double tol, const char *const *model_names,
                                 const char *what)
{
    const size_t n = pm->n_examples;
    const int C = pm->n_classes;
    for (size_t m = 0; m < pm->n_models; m++) {
        const float *g = sp_predmatrix_row(pm, m);
        char name[64];
        if (!model_names) snprintf(name, sizeof name, "model %zu", m);
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int c = 0; c < C; c++) {
                float v = g[i * (size_t)C + (size_t)c];
                if (!isfinite(v) || v < 0.0f || v > 1.0f)
                    return sp_fail(SP_ERR_INPUT, "%s: predictions of %s, row %zu, class %d: probability %g is not "
                                   "in [0, 1]; retrain or delete the model file",
                                   model_names ? model_names[m] : name, what, i, c, (double)v);
                s += v;
            }
            if (fabs(s - 1.0) > tol)
                return sp_fail(SP_ERR_INPUT, "%s: predictions of %s, row %zu: probabilities sum to %.9g, not 1; "
                               "the file does not hold probabilities", model_names ? model_names[m] : name, what, i, s);
        }
    }
    return SP_OK;
}

int sp_predmatrix_label(const sp_predmatrix *pm, size_t m, size_t i)
{
    const uint64_t *b = sp_predmatrix_bits(pm, m);
    int h = 0;
    for (int p = 0; p < pm->n_planes; p++)
        h |= (int)(b[(size_t)p * pm->n_words + i / 64] >> (i % 64) & 1) << p;
    return h;
}

void sp_predmatrix_diff(uint64_t *out, const sp_predmatrix *pm, size_t a, size_t b)
{
    const size_t W = pm->n_words;
    const uint64_t *x = sp_predmatrix_bits(pm, a), *y = sp_predmatrix_bits(pm, b);
    for (size_t w = 0; w < W; w++) out[w] = x[w] ^ y[w];
    for (int p = 1; p < pm->n_planes; p++)
        for (size_t w = 0; w < W; w++) out[w] |= x[(size_t)p * W + w] ^ y[(size_t)p * W + w];
}

size_t sp_predmatrix_disagree_count(const sp_predmatrix *pm, size_t a, size_t b)
{
    const size_t W = pm->n_words;
    const uint64_t *x = sp_predmatrix_bits(pm, a), *y = sp_predmatrix_bits(pm, b);
    size_t count = 0;
    if (pm->n_planes == 1) {
        for (size_t w = 0; w < W; w++) count += (size_t)__builtin_popcountll(x[w] ^ y[w]);
        return count;
    }
    for (size_t w = 0; w < W; w++) {
        uint64_t d = 0;
        for (int p = 0; p < pm->n_planes; p++) d |= x[(size_t)p * W + w] ^ y[(size_t)p * W + w];
        count += (size_t)__builtin_popcountll(d);
    }
    return count;
}
