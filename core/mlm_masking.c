/* mlm_masking.c: BERT masking (80% [MASK], 10% random id, 10% kept) with counter-based draws per row. */
#include "mlm_masking.h"

#include "seeds.h"
#include "tokenizer.h"

/* A uniform double in [0, 1) and the next state of a SplitMix64 stream. */
static double mask_uniform(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return (double)(sp_splitmix64(*state) >> 11) * 0x1.0p-53;
}

int sp_mlm_mask(int32_t *inputs, int32_t *targets, const int32_t *tokens, int B, int T, int vocab_size,
                float mask_prob, uint64_t key)
{
    int chosen = 0;
    int n_random = vocab_size - SP_TOK_BYTE0;
    for (int b = 0; b < B; b++) {
        uint64_t state = sp_seed_for(key, "row", (uint64_t)b);
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            int32_t tok = tokens[i];
            inputs[i] = tok;
            targets[i] = -1;
            if (tok < SP_TOK_BYTE0) continue; /* PAD, CLS, SEP, MASK, UNK are never chosen */
            if (mask_uniform(&state) >= mask_prob) continue;
            chosen++;
            targets[i] = tok;
            double r = mask_uniform(&state);
            if (r < 0.8) {
                inputs[i] = SP_TOK_MASK;
            } else if (r < 0.9 && n_random > 0) {
                int32_t k = (int32_t)(mask_uniform(&state) * n_random);
                inputs[i] = SP_TOK_BYTE0 + (k < n_random ? k : n_random - 1);
            }
        }
    }
    return chosen;
}
