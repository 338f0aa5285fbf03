/* sweep_config.h: a seed-sweep configuration (experiments/<name>.yaml), parsed with libcyaml.
 *
 * Unknown keys and wrong types are rejected with the key and line; missing optional values get the defaults
 * documented in docs/sweeps.md. The resolved configuration (every default filled in) is what a run records
 * as RUN/run.yaml and what reruns are compared against.
 *
 *     sp_sweep_config *cfg = NULL;
 *     if (sp_sweep_config_load("experiments/spam-demo.yaml", &cfg) != SP_OK) ...;  // parsed + resolved
 *     printf("%s: %" PRIu64 " linear seeds\n", cfg->name, cfg->linear ? cfg->linear->seeds->count : 0);
 *     sp_sweep_config_free(cfg);
 */
#ifndef SPLINTER_SWEEP_CONFIG_H
#define SPLINTER_SWEEP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

/* Seeds first, first+1, ..., first+count-1. */
typedef struct {
    uint64_t first;
    uint64_t count;
} sp_seed_range;

/* Pointer members are optional in the YAML (NULL when absent) and always set after resolution. */
typedef struct {
    char *source;          /* spam-assassin | imdb | table */
    char *cache;           /* npm package cache; NULL = the default cache directory */
    uint64_t *data_seed;   /* default 0 */
    double *val_fraction;  /* default 0.2 */
    double *test_fraction; /* default 0.2 */
    /* source: table only */
    char *input;
    char *format;          /* jsonl | csv | tsv */
    char *text_column;
    char *label_column;
    char *domain_column;
    char *split_column;
    char **ood_domains;
    unsigned ood_domains_count;
} sp_cfg_dataset;

typedef struct {
    sp_seed_range *seeds;  /* required when the section is present */
    char *optimizer;       /* sgd | adamw (default sgd) */
    uint64_t *epochs;      /* default 5 */
    uint64_t *batch;       /* default 1 (sgd with batch 1: per-sample SGD) */
    uint64_t *bits;        /* hashed feature bits, default 18 */
    char *lr_schedule;     /* optimal | linear | constant (default optimal; optimal ignores lr) */
    double *lr;            /* default 0.05 */
    double *init_std;      /* initial weights N(0, init_std^2), default 0 */
    double *l2;            /* grid: one model family per value; default [1e-4] */
    unsigned l2_count;
    bool *exact;           /* also fit the exact L2 optimum, default true */
    bool *bootstrap;       /* train each seed on a bootstrap resample of the training set, default false */
} sp_cfg_linear;

typedef struct {
    char **variants;       /* finetune | joint | joint-nosplit | scratch | probe */
    unsigned variants_count;
    sp_seed_range *pretrain_seeds; /* default {0, 1} */
    sp_seed_range *seeds;          /* fine-tuning / training seeds; required */
    uint64_t *vocab_size;  /* default 8192 */
    uint64_t *d_model;     /* default 128 */
    uint64_t *layers;      /* default 2 */
    uint64_t *heads;       /* default 4 */
    uint64_t *ffn;         /* default 512 */
    uint64_t *max_len;     /* default 128 */
    uint64_t *batch;       /* default 32 */
    uint64_t *pretrain_epochs; /* default 2 */
    uint64_t *epochs;      /* default 3 */
    uint64_t *patience;    /* early-stopping patience in evaluations, default 2 */
    double *dropout;       /* default 0.1 */
    double *lr;            /* default 1e-3 */
    double *weight_decay;  /* default 0.01 */
    double *mlm_lambda;    /* joint objective's classification weight, default 1.0 */
    char **activation_poolings; /* cls | mean; default both */
    unsigned activation_poolings_count;
} sp_cfg_encoder;

typedef struct {
    double *eps;           /* epsilon grid on validation loss; default a 20-point log grid */
    unsigned eps_count;
    uint64_t *bootstrap;   /* replicates, default 1000 */
    uint64_t *seed;        /* bootstrap seed, default 0 */
    uint64_t *top;         /* most ambiguous OOD examples to print, default 10 */
    char *concepts;        /* concept word-list file for concept probes (docs/splintering.md); default none */
} sp_cfg_analysis;

typedef struct {
    char *name;
    char *run_dir;         /* default runs/<name> */
    sp_cfg_dataset *dataset;
    sp_cfg_linear *linear;   /* NULL: no linear models */
    sp_cfg_encoder *encoder; /* NULL: no encoder models */
    sp_cfg_analysis *analysis;
} sp_sweep_config;

/* Parses and resolves a YAML file. SP_ERR_USAGE names the file, key and line on an unknown key, a wrong
 * type, an empty seed range or an invalid value; SP_ERR_INPUT if the file cannot be read. */
sp_status sp_sweep_config_load(const char *path, sp_sweep_config **out);

/* Writes the resolved configuration as YAML to `path` (through `path`.tmp). */
sp_status sp_sweep_config_save(const sp_sweep_config *cfg, const char *path);

/* The resolved configuration as YAML text (malloc'ed), e.g. for the spec_json of model files. Doubles are
 * written in the shortest form that reads back to the same bits (0.2, not 2.0000000000000001e-01); the text
 * loads back to an identical configuration (docs/sweeps.md). */
sp_status sp_sweep_config_text(const sp_sweep_config *cfg, char **text);

void sp_sweep_config_free(sp_sweep_config *cfg);

#endif
