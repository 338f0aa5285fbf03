/* encoder.h: a small BERT-like Transformer encoder with hand-written forward and backward passes.
 *
 * Architecture: token + learned position embeddings; L pre-LN blocks x += drop(attn(ln1(x))),
 * x += drop(mlp(ln2(x))) with bidirectional multi-head attention (keys at padding tokens masked, dropout on
 * the attention weights) and a GELU MLP (tanh approximation); a final LayerNorm; a classification head on
 * the final-LN vector at position 0 ([CLS]); an MLM head (dense C->C, GELU, LayerNorm, decoder tied to the
 * token embedding plus a bias [V]) evaluated only at masked positions. LayerNorm eps is 1e-5.
 * Losses: classification cross-entropy (mean over rows with a label) and MLM cross-entropy (mean over
 * masked positions). Parameters, gradients (and the optimiser's moments, core/adamw.h) are each one
 * contiguous float block; sp_encoder_params points into it tensor by tensor.
 *
 *     sp_encoder_config cfg = {.vocab_size = 8192, .d_model = 128, .n_layers = 2, .n_heads = 4,
 *                              .d_ff = 512, .max_len = 128, .n_classes = 2, .dropout = 0.1f, .pad_id = 0};
 *     sp_encoder *m; sp_encoder_acts *a;
 *     if (sp_encoder_alloc(&cfg, &m) != SP_OK) return ...;
 *     sp_encoder_init(m, seeds.init);
 *     if (sp_encoder_acts_alloc(m, B, T, B * T, &a) != SP_OK) return ...;
 *     sp_encoder_batch batch = {tokens, labels, mlm_targets, B, T, 1, sp_seed_for(seeds.dropout, "step", step)};
 *     sp_encoder_losses loss;
 *     sp_encoder_zero_grad(m);
 *     if (sp_encoder_forward(m, a, &batch, &loss) != SP_OK) return ...;
 *     sp_encoder_backward(m, a, 1.0f, 1.0f);          // d(cls_loss + mlm_loss) accumulated into m->grads
 *     ... sp_adamw_step(...) ...;
 *     sp_encoder_acts_free(a); sp_encoder_free(m);
 */
#ifndef SPLINTER_ENCODER_H
#define SPLINTER_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "adamw.h"
#include "status.h"

typedef struct {
    int vocab_size; /* V */
    int d_model;    /* C, divisible by n_heads */
    int n_layers;   /* L */
    int n_heads;    /* NH */
    int d_ff;       /* F */
    int max_len;    /* maxT: rows of the position embedding */
    int n_classes;  /* K */
    float dropout;  /* p in [0, 1): attention weights and both residual branches, in training only */
    int pad_id;     /* token id of padding: keys at these positions are masked, mean pooling skips them */
} sp_encoder_config;

#define SP_ENCODER_N_TENSORS 23

/* Pointers into the one parameter (or gradient) block; shapes use the legend of encoder_kernels.h. */
typedef struct {
    float *wte;      /* [V, C] token embedding, also the MLM decoder weight */
    float *wpe;      /* [maxT, C] */
    float *ln1w;     /* [L, C] */
    float *ln1b;     /* [L, C] */
    float *qkvw;     /* [L, 3C, C] */
    float *qkvb;     /* [L, 3C] */
    float *attprojw; /* [L, C, C] */
    float *attprojb; /* [L, C] */
    float *ln2w;     /* [L, C] */
    float *ln2b;     /* [L, C] */
    float *fcw;      /* [L, F, C] */
    float *fcb;      /* [L, F] */
    float *fcprojw;  /* [L, C, F] */
    float *fcprojb;  /* [L, C] */
    float *lnfw;     /* [C] */
    float *lnfb;     /* [C] */
    float *clsw;     /* [K, C] */
    float *clsb;     /* [K] */
    float *mlmw;     /* [C, C] MLM transform */
    float *mlmb;     /* [C] */
    float *mlmlnw;   /* [C] */
    float *mlmlnb;   /* [C] */
    float *mlmbias;  /* [V] MLM decoder bias */
} sp_encoder_params;

typedef struct {
    sp_encoder_config cfg;
    size_t n_params;                            /* total floats in each block */
    size_t tensor_size[SP_ENCODER_N_TENSORS];   /* floats per tensor, in struct order */
    size_t tensor_offset[SP_ENCODER_N_TENSORS]; /* offset of each tensor in the block */
    int tensor_rank[SP_ENCODER_N_TENSORS];
    int tensor_dims[SP_ENCODER_N_TENSORS][3];
    float *params_memory;
    float *grads_memory;
    sp_encoder_params params;
    sp_encoder_params grads;
} sp_encoder;

/* Forward and backward workspace for batches up to B x T with up to max_masked MLM positions. Opaque. */
typedef struct sp_encoder_acts sp_encoder_acts;

typedef struct {
    const int32_t *tokens;      /* [B, T] ids in [0, V) */
    const int32_t *labels;      /* [B] class in [0, K), or -1 for no classification loss on that row; may be NULL */
    const int32_t *mlm_targets; /* [B, T] original id at masked positions, -1 elsewhere; may be NULL */
    int B, T;
    int train;            /* 1: dropout on (with dropout_key), 0: off */
    uint64_t dropout_key; /* per-step key from the dropout seed stream; masks are a pure function of it */
} sp_encoder_batch;

typedef struct {
    double cls_loss; /* mean over rows with a label; 0 if none */
    double mlm_loss; /* mean over masked positions; 0 if none */
    int n_cls;       /* rows with a label */
    int n_mlm;       /* masked positions */
} sp_encoder_losses;

/* SP_OK if every dimension is positive, d_model % n_heads == 0, 0 <= dropout < 1 and 0 <= pad_id < V;
 * otherwise SP_ERR_USAGE naming the field. */
sp_status sp_encoder_config_check(const sp_encoder_config *cfg);

/* Allocates parameters and gradients (zeroed); call sp_encoder_init or load weights next. */
sp_status sp_encoder_alloc(const sp_encoder_config *cfg, sp_encoder **out);
void sp_encoder_free(sp_encoder *m);

/* Initialises weights ~ N(0, 0.02^2) (embeddings and matrices), biases 0, LayerNorm weights 1, drawing in
 * tensor order from one generator seeded by `init_seed` (the init seed stream). */
sp_status sp_encoder_init(sp_encoder *m, uint64_t init_seed);

/* Tensor table: name ("wte", "qkvw", ...), and whether AdamW applies weight decay (not to LayerNorm
 * parameters or biases). */
const char *sp_encoder_tensor_name(int i);
int sp_encoder_tensor_decays(int i);

/* Fills segs[SP_ENCODER_N_TENSORS] with one AdamW segment per tensor (decay per sp_encoder_tensor_decays);
 * returns the count. */
int sp_encoder_decay_segments(const sp_encoder *m, sp_adamw_segment *segs);

void sp_encoder_zero_grad(sp_encoder *m);

sp_status sp_encoder_acts_alloc(const sp_encoder *m, int B, int T, int max_masked, sp_encoder_acts **out);
void sp_encoder_acts_free(sp_encoder_acts *a);

/* Runs the model on a batch, saving activations in `a` for the backward. Classification logits are
 * computed for every row; the MLM head only at positions with mlm_targets >= 0; the last block only at the
 * positions these heads read (position 0 and the masked ones; keys and values everywhere), which gives the
 * same outputs and gradients as the full pass. SP_ERR_INPUT if a token, label or target is out of range or
 * the batch exceeds the workspace. */
sp_status sp_encoder_forward(sp_encoder *m, sp_encoder_acts *a, const sp_encoder_batch *batch,
                             sp_encoder_losses *losses);

/* Accumulates d(w_cls * cls_loss + w_mlm * mlm_loss) / d(params) into m->grads for the last forward on `a`.
 * Destroys the MLM probabilities kept in `a`. */
void sp_encoder_backward(sp_encoder *m, sp_encoder_acts *a, float w_cls, float w_mlm);

/* Outputs of the last forward on `a`: classification logits and probabilities [B, K]; MLM logits
 * [n_masked, V] in row-major order of the masked positions. */
const float *sp_encoder_cls_logits(const sp_encoder_acts *a);
const float *sp_encoder_cls_probs(const sp_encoder_acts *a);
const float *sp_encoder_mlm_logits(const sp_encoder_acts *a, int *n_masked);

/* Forward without dropout and pooling of the residual stream at L + 1 depths (embedding output, then each
 * block's output, before the final LayerNorm): cls_out [B, L+1, C] takes position 0, mean_out [B, L+1, C]
 * the mean over non-pad positions. Either output may be NULL. Leaves classification outputs in `a`. */
sp_status sp_encoder_pooled(sp_encoder *m, sp_encoder_acts *a, const int32_t *tokens, int B, int T,
                            float *cls_out, float *mean_out);

/* The dropout masks a training forward with this key and batch shape applies (1 = kept), for reference
 * checks against other implementations: attn [L, B, NH, T, T], attn_res and mlp_res [L, B, T, C]. */
void sp_encoder_dropout_masks(const sp_encoder *m, int B, int T, uint64_t dropout_key, uint8_t *attn,
                              uint8_t *attn_res, uint8_t *mlp_res);

#endif
