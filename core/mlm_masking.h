/* mlm_masking.h: BERT's masked-language-model corruption of a batch of token ids.
 *
 * Each non-special, non-pad position (id >= SP_TOK_BYTE0) is chosen with probability mask_prob (0.15);
 * a chosen position becomes [MASK] with probability 0.8, a random non-special id (uniform over 5..V-1)
 * with probability 0.1, and keeps its id otherwise; its target is the original id (-1 elsewhere).
 * Draws are counter-based: row b of a batch uses the sub-seed sp_seed_for(step_key, "row", b), so the
 * corruption depends only on the key, the row and its ids, never on thread count or batch split.
 *
 *     uint64_t key = sp_seed_for(seeds.mask, "step", step);
 *     sp_mlm_mask(inputs, targets, tokens, B, T, V, 0.15f, key);   // inputs/targets [B, T]
 */
#ifndef SPLINTER_MLM_MASKING_H
#define SPLINTER_MLM_MASKING_H

#include <stddef.h>
#include <stdint.h>

/* inputs [B, T] = corrupted copy of tokens [B, T]; targets [B, T] = original id at chosen positions, -1
 * elsewhere. vocab_size > SP_TOK_BYTE0. tokens may alias inputs or targets (each index is read before it is
 * written). Returns the number of chosen positions. */
int sp_mlm_mask(int32_t *inputs, int32_t *targets, const int32_t *tokens, int B, int T, int vocab_size,
                float mask_prob, uint64_t key);

#endif
