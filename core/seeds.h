/* seeds.h: named, independent seed streams derived from one master seed, and GSL generators on them.
 *
 * Every arbitrary choice in training draws from its own stream, so changing one (say the data order)
 * leaves every other draw identical:
 *
 *     sp_seeds s; sp_seeds_from_master(&s, 42);      // all streams derived from --seed 42
 *     s.order = 7;                                    // override one stream (--order-seed 7)
 *     gsl_rng *r = sp_rng_alloc(sp_seed_for(s.order, "order", epoch));
 *     ...; gsl_rng_free(r);
 *
 * Derivation (documented in docs/seeds.md): stream seed = splitmix64(master ^ fnv1a64(stream name)).
 * Generators are gsl_rng_mt19937 seeded with the low 32 bits folded with the high 32 bits.
 */
#ifndef SPLINTER_SEEDS_H
#define SPLINTER_SEEDS_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

typedef struct {
    uint64_t init;      /* parameter initialisation */
    uint64_t order;     /* data order (shuffling per epoch) */
    uint64_t mask;      /* masked-token choices */
    uint64_t dropout;   /* dropout masks */
    uint64_t pretrain;  /* which pretrained encoder a fine-tuned model starts from */
    uint64_t split;     /* the joint objective's MLM / classification partition */
    uint64_t data;      /* ID train/val/test splits of the data set */
    uint64_t bootstrap; /* bootstrap resample of the training set (linear family) */
} sp_seeds;

#define SP_SEED_STREAM_COUNT 8
/* Stream names in struct order: "init", "order", "mask", ... */
extern const char *const sp_seed_stream_names[SP_SEED_STREAM_COUNT];

/* SplitMix64 finaliser: a bijective 64-bit mix. */
uint64_t sp_splitmix64(uint64_t x);

/* FNV-1a 64-bit hash of a NUL-terminated string. */
uint64_t sp_fnv1a64(const char *s);

/* Fills every stream from one master seed. */
void sp_seeds_from_master(sp_seeds *s, uint64_t master);

/* Pointer to the named stream's field, or NULL if the name is unknown. */
uint64_t *sp_seeds_stream(sp_seeds *s, const char *name);

/* A sub-seed of a stream for one purpose and index (e.g. the order stream's epoch 3). */
uint64_t sp_seed_for(uint64_t stream_seed, const char *purpose, uint64_t index);

/* A gsl_rng (mt19937) seeded from a 64-bit seed; NULL on allocation failure. Free with gsl_rng_free. */
gsl_rng *sp_rng_alloc(uint64_t seed);

#endif
