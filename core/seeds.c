/* seeds.c: seed-stream derivation (see seeds.h and docs/seeds.md). */
#include "seeds.h"

#include <string.h>

const char *const sp_seed_stream_names[SP_SEED_STREAM_COUNT] = {
    "init", "order", "mask", "dropout", "pretrain", "split", "data", "bootstrap"};

uint64_t sp_splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t sp_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void sp_seeds_from_master(sp_seeds *s, uint64_t master)
{
    for (int i = 0; i < SP_SEED_STREAM_COUNT; i++)
        *sp_seeds_stream(s, sp_seed_stream_names[i]) = sp_splitmix64(master ^ sp_fnv1a64(sp_seed_stream_names[i]));
}

uint64_t *sp_seeds_stream(sp_seeds *s, const char *name)
{
    uint64_t *fields[SP_SEED_STREAM_COUNT] = {&s->init,     &s->order, &s->mask, &s->dropout,
                                              &s->pretrain, &s->split, &s->data, &s->bootstrap};
    for (int i = 0; i < SP_SEED_STREAM_COUNT; i++)
        if (strcmp(name, sp_seed_stream_names[i]) == 0) return fields[i];
    return NULL;
}

uint64_t sp_seed_for(uint64_t stream_seed, const char *purpose, uint64_t index)
{
    return sp_splitmix64(sp_splitmix64(stream_seed ^ sp_fnv1a64(purpose)) + index);
}

gsl_rng *sp_rng_alloc(uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) return NULL;
    /* mt19937 takes 32 bits of seed; fold the high half in so every bit of the stream seed matters.
     * gsl_rng_set treats 0 as its default seed 4357, which is harmless here. */
    gsl_rng_set(r, (unsigned long)((seed ^ (seed >> 32)) & 0xffffffffULL));
    return r;
}
