/* adamw.h: AdamW with decoupled weight decay, bias correction, a warmup + linear/cosine learning-rate
 * schedule and global-norm gradient clipping, over one contiguous parameter block.
 *
 * The update of step t (t = 1, 2, ...; lr_t from sp_adamw_lr at t - 1) follows PyTorch's AdamW:
 *   p <- p (1 - lr_t wd)            (only where the segment decays: not LayerNorm parameters, not biases)
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr_t / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Before it, if the global L2 norm of g exceeds clip_norm, g is scaled by clip_norm / (norm + 1e-6).
 *
 *     sp_adamw_config cfg = sp_adamw_defaults();
 *     cfg.lr = 3e-4f; cfg.warmup_steps = 100; cfg.total_steps = 2000; cfg.schedule = SP_LR_COSINE;
 *     sp_adamw *opt;
 *     sp_adamw_segment segs[SP_ENCODER_N_TENSORS];
 *     int ns = sp_encoder_decay_segments(model, segs);
 *     if (sp_adamw_alloc(&cfg, model->n_params, segs, ns, &opt) != SP_OK) return ...;
 *     double norm;
 *     st = sp_adamw_step(opt, model->params_memory, model->grads_memory, &norm);  // SP_ERR_NUMERIC on NaN/Inf
 *     sp_adamw_free(opt);
 */
#ifndef SPLINTER_ADAMW_H
#define SPLINTER_ADAMW_H

#include <stddef.h>

#include "status.h"

typedef enum { SP_LR_CONSTANT = 0, SP_LR_LINEAR, SP_LR_COSINE } sp_lr_schedule;

typedef struct {
    float lr;              /* peak learning rate */
    float beta1, beta2, eps;
    float weight_decay;    /* decoupled, applied only to decaying segments */
    int warmup_steps;      /* linear warmup from lr / warmup_steps to lr over this many steps */
    int total_steps;       /* the decay reaches its floor here */
    sp_lr_schedule schedule;
    float min_lr_ratio;    /* floor of the decay as a fraction of lr, in [0, 1] */
    float clip_norm;       /* global gradient-norm clip; <= 0 disables */
} sp_adamw_config;

/* A run of parameters sharing one weight-decay choice. Segments not listed are updated without decay. */
typedef struct {
    size_t offset, count;
    int decay;
} sp_adamw_segment;

typedef struct {
    sp_adamw_config cfg;
    size_t n;
    long step;          /* updates done so far */
    float *m, *v;       /* first and second moments: [n] each, one allocation */
    unsigned char *decay; /* [n] 1 where weight decay applies */
} sp_adamw;

/* lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01, constant schedule, no warmup, no clipping. */
sp_adamw_config sp_adamw_defaults(void);

/* SP_ERR_USAGE naming the field unless lr > 0, betas in [0, 1), eps > 0, weight_decay >= 0,
 * warmup_steps >= 0, min_lr_ratio in [0, 1]. */
sp_status sp_adamw_config_check(const sp_adamw_config *cfg);

/* Moments zeroed. Segments must lie inside [0, n). */
sp_status sp_adamw_alloc(const sp_adamw_config *cfg, size_t n, const sp_adamw_segment *segs, int n_segs,
                         sp_adamw **out);
void sp_adamw_free(sp_adamw *opt);

/* Learning rate of the update with 0-based index t: warmup factor (t + 1) / warmup_steps while
 * t < warmup_steps, then constant, linear or cosine decay from lr to min_lr_ratio * lr over
 * progress = (t - warmup_steps) / max(1, total_steps - warmup_steps), clamped to [0, 1]. */
double sp_adamw_lr(const sp_adamw_config *cfg, long t);

/* Global L2 norm of g [n], summed in double over fixed chunks combined in order (thread-count independent);
 * NaN or Inf if any element is. */
double sp_adamw_grad_norm(const float *g, size_t n);

/* One update of params [n] from grads [n] (clipped in place). If any gradient is NaN or Inf, nothing is
 * changed and SP_ERR_NUMERIC is returned. *grad_norm (may be NULL) receives the norm before clipping. */
sp_status sp_adamw_step(sp_adamw *opt, float *params, float *grads, double *grad_norm);

#endif
