/* encoder_train.h: training recipes of the encoder family: MLM pretraining and the five classifier variants,
 * each written as one store file per model (layout in docs/encoder.md).
 *
 * Variants: "finetune" (all weights trained on classification from a pretrained encoder RUN/models/
 * pretrain-p<P>.h5, trained first if missing), "joint" (from scratch, MLM + lambda * classification on two
 * disjoint pools of training rows drawn by the split seed stream), "joint-nosplit" (both losses on the same
 * rows), "scratch" (classification only from random init), "probe" (frozen pretrained encoder, only the
 * classification head trains). Every model of a run shares one tokenizer trained on the training split and
 * cached in RUN/tokenizer.h5.
 *
 *     sp_encoder_train_spec spec = sp_encoder_train_spec_defaults();
 *     sp_encoder_train_spec_from_cfg(&spec, cfg->encoder);                 // the sweep's encoder section
 *     st = sp_encoder_train_job(ds, "runs/demo", &spec, "finetune", 3, 0,
 *                               "runs/demo/models/finetune-p0-s3.h5", 1);  // pretrains p0 if missing
 */
#ifndef SPLINTER_ENCODER_TRAIN_H
#define SPLINTER_ENCODER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "status.h"
#include "sweep_config.h"
#include "tokenizer.h"

/* One progress report: phase "pretrain" or "train", step counts, last losses, seconds elapsed. */
typedef struct {
    const char *phase;
    const char *name;    /* model file stem */
    long step, total_steps;
    int epoch, epochs;
    double train_loss;   /* last step's objective */
    double val_loss;     /* last evaluation (NaN before the first) */
    double seconds;
} sp_encoder_progress;

typedef struct {
    /* architecture */
    int vocab_size;     /* tokenizer size requested (the model uses the trained tokenizer's size) */
    int d_model, n_layers, n_heads, d_ff, max_len;
    float dropout;
    /* optimisation */
    int batch;          /* rows per step (joint: per pool, so each step sees 2 * batch rows) */
    int pretrain_epochs, epochs;
    int patience;       /* evaluations without a lower validation loss before stopping; 0 = never stop early */
    int evals_per_epoch;/* validation evaluations per epoch, >= 1 */
    long max_steps;     /* cap on the steps of one training phase (0 = none), for quick checks */
    float lr, pretrain_lr, probe_lr;
    float weight_decay;
    float warmup_frac;  /* warmup steps as a fraction of the phase's steps */
    float min_lr_ratio; /* the linear decay's floor */
    float clip_norm;    /* global gradient norm clip, <= 0 disables */
    float mlm_lambda;   /* joint: loss = MLM + mlm_lambda * classification */
    float mask_prob;    /* MLM: fraction of eligible tokens chosen (0.15) */
    /* outputs */
    int pool_cls, pool_mean;   /* which poolings of the activations to store */
    int act_max_layer;         /* store activations of layers 0 .. act_max_layer (-1 = all; 0 = "emb") */
    int activations;           /* 0: store no activations */
    /* progress (optional): called from the training thread after every step and evaluation */
    void (*progress)(void *ctx, const sp_encoder_progress *p);
    void *progress_ctx;
} sp_encoder_train_spec;

/* The defaults of docs/encoder.md (the small configuration: d=128, 2 layers, 4 heads, FFN 512, length 128). */
sp_encoder_train_spec sp_encoder_train_spec_defaults(void);

/* Copies the hyperparameters present in a resolved sweep configuration's encoder section onto spec. */
void sp_encoder_train_spec_from_cfg(sp_encoder_train_spec *spec, const sp_cfg_encoder *cfg);

/* SP_ERR_USAGE naming the option for values no training can use: heads not dividing d_model, max_len below
 * 3 or above 4096, vocab below 262, non-positive sizes or rates, dropout outside [0, 1), ... */
sp_status sp_encoder_train_spec_check(const sp_encoder_train_spec *spec);

/* Every hyperparameter (and the variant, NULL for pretraining) as one JSON object; *json malloc'ed. */
sp_status sp_encoder_spec_json(const sp_encoder_train_spec *spec, const char *variant, char **json);

/* 1 for the five variant names above, else 0. */
int sp_encoder_variant_known(const char *variant);

/* The run's tokenizer: loads RUN/tokenizer.h5 (checking that it was trained for this data set and vocab
 * size, and its hash) or trains one on the training split and writes it atomically. Thread-safe within a
 * process. *out owned by the caller. */
sp_status sp_encoder_run_tokenizer(const sp_dataset *ds, const char *run_dir, int vocab_size, sp_tokenizer **out);

/* RUN/models/pretrain-p<P>.h5 into buf. */
void sp_encoder_pretrain_path(const char *run_dir, uint64_t pretrain_seed, char *buf, size_t size);

/* MLM pretraining on the training split with master seed `pretrain_seed`; writes a "splinter-encoder" file
 * (weights, tokenizer, config, seeds, curves) at `path` atomically. */
sp_status sp_encoder_pretrain_job(const sp_dataset *ds, const char *run_dir, const sp_encoder_train_spec *spec,
                                  uint64_t pretrain_seed, const char *path, int threads);

/* Trains one classifier of `variant` with master seed `seed` (finetune/probe start from pretrain-p<P>,
 * trained first if missing) and writes the model file at `model_path` atomically. SP_ERR_USAGE for bad
 * configurations before any training, SP_ERR_NUMERIC (and no file) if training diverges. threads <= 0 keeps
 * the current OpenMP setting. */
sp_status sp_encoder_train_job(const sp_dataset *ds, const char *run_dir, const sp_encoder_train_spec *spec,
                               const char *variant, uint64_t seed, uint64_t pretrain_seed, const char *model_path,
                               int threads);

#endif
