/* bootstrap.c: nested model draws, example weights, percentile intervals and the nested ANOVA. */
#include "bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

sp_status sp_boot_groups_alloc(sp_boot_groups **out, const uint64_t *key, size_t n_models)
{
    *out = NULL;
    if (n_models == 0) return sp_fail(SP_ERR_USAGE, "bootstrap over an empty set of models");
    sp_boot_groups *g = calloc(1, sizeof *g);
    if (!g) return sp_fail(SP_ERR_NOMEM, "out of memory for bootstrap groups");
    g->n_models = n_models;
    g->group_start = malloc((n_models + 1) * sizeof *g->group_start);
    g->members = malloc(n_models * sizeof *g->members);
    g->group_of = malloc(n_models * sizeof *g->group_of);
    size_t *size = calloc(n_models, sizeof *size);
    if (!g->group_start || !g->members || !g->group_of || !size) {
        free(size);
        sp_boot_groups_free(g);
        return sp_fail(SP_ERR_NOMEM, "out of memory for bootstrap groups");
    }
    /* group index by first appearance of the key (quadratic, fine for thousands of models) */
    size_t G = 0;
    for (size_t m = 0; m < n_models; m++) {
        size_t grp = G;
        if (key)
            for (size_t j = 0; j < m; j++)
                if (key[j] == key[m]) {
                    grp = g->group_of[j];
                    break;
                }
        if (grp == G) G++;
        g->group_of[m] = grp;
        size[grp]++;
    }
    g->n_groups = G;
    g->group_start[0] = 0;
    g->max_group = 0;
    for (size_t k = 0; k < G; k++) {
        g->group_start[k + 1] = g->group_start[k] + size[k];
        if (size[k] > g->max_group) g->max_group = size[k];
        size[k] = 0;
    }
    for (size_t m = 0; m < n_models; m++) {
        size_t grp = g->group_of[m];
        g->members[g->group_start[grp] + size[grp]++] = m;
    }
    free(size);
    *out = g;
    return SP_OK;
}

void sp_boot_groups_free(sp_boot_groups *g)
{
    if (!g) return;
    free(g->group_start);
    free(g->members);
    free(g->group_of);
    free(g);
}

size_t sp_boot_groups_max_draw(const sp_boot_groups *g) { return g->n_groups * g->max_group; }

void sp_boot_draw_models(size_t *out, size_t *slot, size_t *k, const sp_boot_groups *g, gsl_rng *r)
{
    size_t count = 0;
    for (size_t j = 0; j < g->n_groups; j++) {
        size_t grp = gsl_rng_uniform_int(r, g->n_groups);
        size_t start = g->group_start[grp], size = g->group_start[grp + 1] - start;
        for (size_t t = 0; t < size; t++) {
            if (slot) slot[count] = j;
            out[count++] = g->members[start + gsl_rng_uniform_int(r, size)];
        }
    }
    *k = count;
}

void sp_boot_example_weights(double *w, size_t n, gsl_rng *r)
{
    memset(w, 0, n * sizeof *w);
    for (size_t t = 0; t < n; t++) w[gsl_rng_uniform_int(r, n)] += 1.0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Index of seed in the sorted seeds[0..F), or F. */
static size_t seed_index(const uint64_t *seeds, size_t F, uint64_t seed)
{
    const uint64_t *hit = bsearch(&seed, seeds, F, sizeof *seeds, cmp_u64);
    return hit ? (size_t)(hit - seeds) : F;
}

/* Fills cell[G][F] of one variant from its models; 0 if a cell is empty, filled twice or a seed is not in
 * seeds. */
static int pairing_fill(size_t *cell, const uint64_t *seeds, size_t F, const uint64_t *seed, const size_t *group,
                        size_t G, size_t M)
{
    for (size_t c = 0; c < G * F; c++) cell[c] = SIZE_MAX;
    for (size_t m = 0; m < M; m++) {
        size_t g = group ? group[m] : 0, f = seed_index(seeds, F, seed[m]);
        if (g >= G || f == F || cell[g * F + f] != SIZE_MAX) return 0;
        cell[g * F + f] = m;
    }
    for (size_t c = 0; c < G * F; c++)
        if (cell[c] == SIZE_MAX) return 0;
    return 1;
}

sp_status sp_boot_pairing_alloc(sp_boot_pairing **out, const uint64_t *seed0, const size_t *group0,
                                size_t n_groups0, size_t M0, const uint64_t *seed1, const size_t *group1,
                                size_t n_groups1, size_t M1)
{
    *out = NULL;
    if (M0 == 0 || M1 == 0) return SP_OK;
    size_t G0 = group0 ? n_groups0 : 1, G1 = group1 ? n_groups1 : 1;
    if (G0 == 0 || G1 == 0) return SP_OK;
    /* the seed set of variant 1 (distinct, sorted); a complete grid of either variant has exactly these */
    uint64_t *seeds = malloc(M1 * sizeof *seeds);
    if (!seeds) return sp_fail(SP_ERR_NOMEM, "out of memory for a seed pairing");
    memcpy(seeds, seed1, M1 * sizeof *seeds);
    qsort(seeds, M1, sizeof *seeds, cmp_u64);
    size_t F = 0;
    for (size_t m = 0; m < M1; m++)
        if (F == 0 || seeds[F - 1] != seeds[m]) seeds[F++] = seeds[m];
    if (G0 * F != M0 || G1 * F != M1) {
        free(seeds);
        return SP_OK;
    }
    sp_boot_pairing *p = calloc(1, sizeof *p);
    if (!p) {
        free(seeds);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a seed pairing");
    }
    p->n_seeds = F;
    p->n_groups[0] = G0, p->n_groups[1] = G1;
    p->cell[0] = malloc(M0 * sizeof *p->cell[0]);
    p->cell[1] = malloc(M1 * sizeof *p->cell[1]);
    if (!p->cell[0] || !p->cell[1]) {
        free(seeds);
        sp_boot_pairing_free(p);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a seed pairing");
    }
    int ok = pairing_fill(p->cell[0], seeds, F, seed0, group0, G0, M0) &&
             pairing_fill(p->cell[1], seeds, F, seed1, group1, G1, M1);
    free(seeds);
    if (!ok) {
        sp_boot_pairing_free(p);
        return SP_OK;
    }
    *out = p;
    return SP_OK;
}

void sp_boot_pairing_free(sp_boot_pairing *p)
{
    if (!p) return;
    free(p->cell[0]);
    free(p->cell[1]);
    free(p);
}

/* Variant v's share of a paired draw: G_v groups from r, the drawn seeds fidx[0..F) in each. */
static void paired_variant(size_t *out, size_t *slot, const sp_boot_pairing *p, int v, const size_t *fidx,
                           gsl_rng *r)
{
    const size_t F = p->n_seeds, G = p->n_groups[v];
    size_t count = 0;
    for (size_t j = 0; j < G; j++) {
        size_t g = G > 1 ? gsl_rng_uniform_int(r, G) : 0;
        for (size_t t = 0; t < F; t++) {
            if (slot) slot[count] = j;
            out[count++] = p->cell[v][g * F + fidx[t]];
        }
    }
}

void sp_boot_draw_paired(size_t *seed_draw, size_t *out0, size_t *slot0, size_t *out1, size_t *slot1,
                         const sp_boot_pairing *p, gsl_rng *r_seed, gsl_rng *r_group0, gsl_rng *r_group1)
{
    for (size_t t = 0; t < p->n_seeds; t++) seed_draw[t] = gsl_rng_uniform_int(r_seed, p->n_seeds);
    paired_variant(out0, slot0, p, 0, seed_draw, r_group0);
    paired_variant(out1, slot1, p, 1, seed_draw, r_group1);
}

sp_status sp_boot_percentile(double *lo, double *hi, const double *reps, size_t B, double level)
{
    *lo = *hi = NAN;
    if (!(level > 0 && level < 1)) return sp_fail(SP_ERR_USAGE, "interval level %g is not in (0, 1)", level);
    double *v = malloc((B ? B : 1) * sizeof *v);
    if (!v) return sp_fail(SP_ERR_NOMEM, "out of memory for a bootstrap interval");
    size_t k = 0;
    for (size_t b = 0; b < B; b++)
        if (isfinite(reps[b])) v[k++] = reps[b];
    if (k >= 2) {
        gsl_sort(v, 1, k);
        *lo = gsl_stats_quantile_from_sorted_data(v, 1, k, (1.0 - level) / 2);
        *hi = gsl_stats_quantile_from_sorted_data(v, 1, k, (1.0 + level) / 2);
    }
    free(v);
    return SP_OK;
}

sp_status sp_nested_variance(sp_nested_var *out, const double *y, const size_t *group_of, size_t n,
                             size_t n_groups)
{
    memset(out, 0, sizeof *out);
    if (n_groups < 2 || n <= n_groups)
        return sp_fail(SP_ERR_USAGE, "nested variance needs >= 2 groups and more models than groups "
                                     "(got %zu models in %zu groups)", n, n_groups);
    double *sum = calloc(n_groups, sizeof *sum), *cnt = calloc(n_groups, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a variance decomposition");
    }
    double total = 0;
    for (size_t j = 0; j < n; j++) {
        sum[group_of[j]] += y[j];
        cnt[group_of[j]] += 1;
        total += y[j];
    }
    double N = (double)n, G = 0, mean = total / N, ssb = 0, ssw = 0, sumsq_n = 0;
    for (size_t g = 0; g < n_groups; g++) {
        if (cnt[g] == 0) continue;
        G += 1;
        double mg = sum[g] / cnt[g];
        ssb += cnt[g] * (mg - mean) * (mg - mean);
        sumsq_n += cnt[g] * cnt[g];
    }
    for (size_t j = 0; j < n; j++) {
        double mg = sum[group_of[j]] / cnt[group_of[j]];
        ssw += (y[j] - mg) * (y[j] - mg);
    }
    free(sum);
    free(cnt);
    if (G < 2 || N <= G)
        return sp_fail(SP_ERR_USAGE, "nested variance needs >= 2 non-empty groups and more models than groups");
    double msb = ssb / (G - 1), msw = ssw / (N - G), n0 = (N - sumsq_n / N) / (G - 1);
    out->mean = mean;
    out->var_within = msw;
    out->var_between_raw = (msb - msw) / n0;
    out->var_between = out->var_between_raw > 0 ? out->var_between_raw : 0.0;
    double tot = out->var_between + out->var_within;
    out->share_between = tot > 0 ? out->var_between / tot : NAN;
    out->n_groups = (size_t)G;
    out->n = n;
    return SP_OK;
}
