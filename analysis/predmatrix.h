/* predmatrix.h: the predictions of M models on the n examples of one split, as one float matrix plus
 * bit-packed hard predictions, the input of every model-level metric (rashomon, multiplicity, capacity).
 *
 *     sp_predmatrix *pm = NULL;
 *     if (sp_predmatrix_alloc(&pm, M, n, C) != SP_OK) return ...;
 *     memcpy(sp_predmatrix_row(pm, m), probs_of_model_m, n * C * sizeof(float));   // for each m
 *     sp_predmatrix_pack(pm);               // hard predictions h_m(x_i) = argmax_c g_m(x_i)_c
 *     int h = sp_predmatrix_label(pm, m, i);
 *     sp_predmatrix_free(pm);
 *
 * Dimensions: M models, n examples, C classes. Hard predictions are stored as P = ceil(log2 C) bit planes
 * (P = 1 for C = 2): bit i of plane p of model m is bit p of h_m(x_i). Two models disagree on x_i iff any
 * plane differs at bit i, so disagreement counts are popcounts of OR-ed XORs. Ties in argmax go to the
 * lowest class index (numpy.argmax's convention). Bits past n in the last word are always zero.
 */
#ifndef SPLINTER_PREDMATRIX_H
#define SPLINTER_PREDMATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct {
    size_t n_models;   /* M */
    size_t n_examples; /* n */
    int n_classes;     /* C >= 2 */
    int n_planes;      /* P = ceil(log2 C) */
    size_t n_words;    /* W = ceil(n / 64) */
    float *prob;       /* [M][n][C] probabilities */
    uint64_t *bits;    /* [M][P][W] hard predictions, bit-packed */
} sp_predmatrix;

/* Allocates a zeroed matrix. SP_ERR_USAGE if M or n is 0 or C < 2; SP_ERR_NOMEM. */
sp_status sp_predmatrix_alloc(sp_predmatrix **out, size_t n_models, size_t n_examples, int n_classes);
void sp_predmatrix_free(sp_predmatrix *pm);

/* Model m's probabilities, [n][C]. */
static inline float *sp_predmatrix_row(const sp_predmatrix *pm, size_t m)
{
    return pm->prob + m * pm->n_examples * (size_t)pm->n_classes;
}

/* Model m's bit planes, [P][W]. */
static inline uint64_t *sp_predmatrix_bits(const sp_predmatrix *pm, size_t m)
{
    return pm->bits + m * (size_t)pm->n_planes * pm->n_words;
}

/* Recomputes every hard prediction from pm->prob (call after filling or changing prob). */
void sp_predmatrix_pack(sp_predmatrix *pm);

/* Checks that every probability is finite and in [0, 1] and that each row sums to 1 within `tol`;
 * on failure returns SP_ERR_INPUT with a message naming the model (model_names[m], e.g. its file, or its
 * index when model_names is NULL), `what` (e.g. the split), the example and the offending value. */
sp_status sp_predmatrix_validate(const sp_predmatrix *pm, double tol, const char *const *model_names,
                                 const char *what);

/* h_m(x_i), decoded from the bit planes. */
int sp_predmatrix_label(const sp_predmatrix *pm, size_t m, size_t i);

/* out[w] = bits where models a and b disagree (OR over planes of XOR). out: [W]. */
void sp_predmatrix_diff(uint64_t *out, const sp_predmatrix *pm, size_t a, size_t b);

/* Number of examples on which models a and b predict different classes. */
size_t sp_predmatrix_disagree_count(const sp_predmatrix *pm, size_t a, size_t b);

#endif
