/* encoder_train_internal.h: pieces shared by the encoder training files (loop, variants, store); not public. */
#ifndef SPLINTER_ENCODER_TRAIN_INTERNAL_H
#define SPLINTER_ENCODER_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "encoder.h"
#include "encoder_train.h"
#include "seeds.h"
#include "store.h"
#include "tokenizer.h"

/* One training phase: which rows feed which loss, the criterion of early stopping, the schedule. */
typedef struct {
    const char *phase;         /* "pretrain" or "train" */
    const char *name;          /* model name, for messages */
    const int32_t *tokens;     /* [n_rows_total, T] every dataset row, encoded */
    int T;
    const int32_t *labels;     /* [n_rows_total] */
    const size_t *cls_rows;    /* classification pool (NULL, 0: no classification loss) */
    size_t n_cls;
    const size_t *mlm_rows;    /* MLM pool (NULL, 0: no MLM loss) */
    size_t n_mlm;
    int mlm_same_rows;         /* 1: each step's MLM rows are its classification rows (joint-nosplit) */
    const size_t *val_rows;    /* validation rows */
    size_t n_val;
    int val_mlm;               /* 1: stop on validation MLM loss (pretraining); 0: on classification loss */
    float w_cls, w_mlm;        /* loss weights */
    int epochs;
    float lr;
    int head_only;             /* probe: features of the frozen encoder, only clsw/clsb train */
    sp_seeds seeds;
} enc_phase;

/* Curves of one phase (malloc'ed arrays, freed by enc_curves_free). */
typedef struct {
    long n_steps;
    float *train_cls, *train_mlm; /* [n_steps] */
    int n_evals;
    double *val_loss, *val_acc;   /* [n_evals]; val_acc NaN when stopping on MLM loss */
    int64_t *val_step;            /* [n_evals] steps done at each evaluation */
    int best_eval;
    int stopped_early;
} enc_curves;

void enc_curves_free(enc_curves *c);

/* Trains m in place; on return m holds the weights of the best evaluation. SP_ERR_NUMERIC on divergence. */
sp_status enc_train_phase(sp_encoder *m, const enc_phase *ph, const sp_encoder_train_spec *spec, enc_curves *cv);

/* Rows per forward chunk in evaluation and the MLM cap of a B x T batch. */
int enc_max_masked(int B, int T);

/* Encodes every record of ds into tokens [ds->n, T] (malloc'ed). */
sp_status enc_tokenize_all(const sp_dataset *ds, const sp_tokenizer *tok, int T, int32_t **tokens);

/* The encoder configuration of a spec for a tokenizer and data set. */
sp_encoder_config enc_config(const sp_encoder_train_spec *spec, const sp_tokenizer *tok, int n_classes);

/* --- store (encoder_store.c) --- */

/* Root attributes shared by model and pretrain files: family, variant, name, spec_json, data_hash,
 * tokenizer_hash, seed_<stream>, n_classes, the architecture (cfg_*), and the tokenizer group. */
sp_status enc_store_header(sp_store_writer *w, const sp_encoder_train_spec *spec, const char *variant,
                           const char *name, const sp_dataset *ds, const sp_tokenizer *tok, const sp_seeds *seeds,
                           const sp_encoder *m);
sp_status enc_store_weights(sp_store_writer *w, const sp_encoder *m);
sp_status enc_store_curves(sp_store_writer *w, const enc_curves *cv, const char *val_name);

/* Loads the weights of a pretrained file into m (all but the classification head), checking that its
 * architecture, data hash and tokenizer hash match. */
sp_status enc_load_pretrained(sp_encoder *m, const char *path, const sp_dataset *ds, const sp_tokenizer *tok);

/* Predictions, rows and (for every split but train) activations of every split view. */
sp_status enc_store_outputs(sp_store_writer *w, sp_encoder *m, const sp_dataset *ds, const int32_t *tokens, int T,
                            const sp_encoder_train_spec *spec);

#endif
