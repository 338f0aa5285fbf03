/* rashomon.h: epsilon-Rashomon sets of a pool of models, the empirical and pattern Rashomon ratios.
 *
 * S_eps = { m : L(h_m) <= L(h_0) + eps } (absolute) or L(h_m) <= L(h_0) * (1 + eps) (relative), with L the
 * validation loss or validation error and h_0 the reference model: lowest validation loss (ties: lowest
 * index), whichever of loss or error defines the set. h_0 is always a member.
 *
 *     size_t ref = sp_rashomon_reference(val_loss, M);
 *     uint8_t member[M]; size_t size;
 *     sp_rashomon_set(member, &size, val_error, M, ref, SP_EPS_ERROR_ABS, 0.01);
 *     size_t patterns; sp_rashomon_patterns(&patterns, pm, member);   // distinct hard-prediction vectors in S
 */
#ifndef SPLINTER_RASHOMON_H
#define SPLINTER_RASHOMON_H

#include <stddef.h>
#include <stdint.h>

#include "predmatrix.h"
#include "status.h"

typedef enum {
    SP_EPS_LOSS_ABS = 0, /* val loss <= ref loss + eps */
    SP_EPS_LOSS_REL,     /* val loss <= ref loss * (1 + eps) */
    SP_EPS_ERROR_ABS,    /* val error <= ref error + eps */
    SP_EPS_ERROR_REL     /* val error <= ref error * (1 + eps) */
} sp_eps_kind;
#define SP_EPS_KIND_COUNT 4

/* "loss-abs", "loss-rel", "error-abs", "error-rel". */
const char *sp_eps_kind_name(sp_eps_kind kind);

/* Index of the lowest validation loss (ties: the lowest index). M >= 1. */
size_t sp_rashomon_reference(const double *val_loss, size_t n_models);

/* member[m] = 1 iff model m is in S_eps; *size = |S_eps|. `score` is the validation loss for the LOSS kinds
 * and the validation error for the ERROR kinds. SP_ERR_USAGE if eps < 0 or not finite. */
sp_status sp_rashomon_set(uint8_t *member, size_t *size, const double *score, size_t n_models, size_t ref,
                          sp_eps_kind kind, double eps);

/* Number of distinct hard-prediction vectors (h_m(x_1..x_n)) among the members (all models if member is
 * NULL) into *out. Exact (sorts and compares the packed bits, no hashing). */
sp_status sp_rashomon_patterns(size_t *out, const sp_predmatrix *pm, const uint8_t *member);

#endif
