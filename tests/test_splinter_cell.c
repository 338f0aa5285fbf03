/* test_splinter_cell.c: the per-variant cell behind the splintering and concept-probe summaries
 * (analysis/splinter_cell.c): means over in-domain-agreeing pairs, Multi-Bootstrap replicates checked by hand
 * against the documented draws, intervals that collapse when every pair has the same value or only one pair
 * exists, and no interval with bootstrap 0 or 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "bootstrap.h"
#include "seeds.h"
#include "splinter_run_internal.h"

/* A state with n models: variant_of[m], group key key[m]; variants "ft" (0) and "joint" (1). */
typedef struct {
    srun_model models[8];
    size_t variant_of[8];
    char *variants[2];
    srun_state st;
} fake_state;

static void fake_init(fake_state *f, size_t n, const size_t *variant_of, const uint64_t *key)
{
    memset(f, 0, sizeof *f);
    f->variants[0] = "ft";
    f->variants[1] = "joint";
    for (size_t m = 0; m < n; m++) {
        f->variant_of[m] = variant_of[m];
        f->models[m].group_key = key[m];
    }
    f->st.models = f->models;
    f->st.n_models = n;
    f->st.variants = f->variants;
    f->st.n_variants = 2;
    f->st.variant_of = f->variant_of;
}

/* Every pair of a variant with the same value: the mean and both bounds are that value; a measure without any
 * defined pair has a NaN mean and no interval; the other variant's model is not in the cell. */
static void test_identical_pairs_collapse(void **state)
{
    (void)state;
    const size_t vof[5] = {0, 1, 0, 0, 0};
    const uint64_t key[5] = {7, 9, 7, 8, 8};
    fake_state f;
    fake_init(&f, 5, vof, key);
    srun_cell c;
    assert_int_equal(srun_cell_alloc(&c, &f.st, 0, 2), SP_OK);
    assert_int_equal(c.Mv, 4);
    assert_int_equal(c.groups->n_groups, 2);
    const size_t ms[4] = {0, 2, 3, 4};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) *srun_cell_at(&c, 0, ms[j], ms[i]) = 0.125; /* either order */
    enum { B = 30 };
    double est[2], reps[2 * B], lo, hi;
    size_t n_pairs[2];
    assert_int_equal(srun_cell_estimates(est, n_pairs, reps, &c, "ft", B, 11), SP_OK);
    assert_true(est[0] == 0.125);
    assert_int_equal(n_pairs[0], 6);
    assert_int_equal(srun_interval(&lo, &hi, reps, B, 0.95), SP_OK);
    assert_true(lo == 0.125 && hi == 0.125);
    assert_true(isnan(est[1]));
    assert_int_equal(n_pairs[1], 0);
    assert_int_equal(srun_interval(&lo, &hi, reps + B, B, 0.95), SP_OK);
    assert_true(isnan(lo) && isnan(hi));
    /* No interval without replicates (bootstrap 0) or with one. */
    assert_int_equal(srun_interval(&lo, &hi, reps, 0, 0.95), SP_OK);
    assert_true(isnan(lo) && isnan(hi));
    assert_int_equal(srun_interval(&lo, &hi, reps, 1, 0.95), SP_OK);
    assert_true(isnan(lo) && isnan(hi));
    srun_cell_free(&c);
}

/* Three ungrouped models with pair values 1 (0,1), 2 (0,2), 4 (1,2): replicate b draws three models from
 * sp_seed_for(seed, "splinter-models:ft", b); its mean is 7/3 when all three are drawn, the one pair's value
 * when two are, undefined when one model is drawn three times. Two models: every defined replicate is the
 * single pair, so the interval is that value. */
static void test_replicates_by_hand(void **state)
{
    (void)state;
    const size_t vof[3] = {0, 0, 0};
    const uint64_t key[3] = {1, 2, 3};
    fake_state f;
    fake_init(&f, 3, vof, key);
    srun_cell c;
    assert_int_equal(srun_cell_alloc(&c, &f.st, 0, 1), SP_OK);
    *srun_cell_at(&c, 0, 0, 1) = 1;
    *srun_cell_at(&c, 0, 2, 0) = 2;
    *srun_cell_at(&c, 0, 1, 2) = 4;
    enum { B = 64 };
    double est, reps[B], want[B];
    size_t n_pairs;
    const uint64_t seed = 5;
    assert_int_equal(srun_cell_estimates(&est, &n_pairs, reps, &c, "ft", B, seed), SP_OK);
    assert_true(est == 7.0 / 3.0);
    assert_int_equal(n_pairs, 3);
    const double pair_value[3][3] = {{NAN, 1, 2}, {1, NAN, 4}, {2, 4, NAN}};
    int kinds[3] = {0};
    for (size_t b = 0; b < B; b++) {
        gsl_rng *r = sp_rng_alloc(sp_seed_for(seed, "splinter-models:ft", b));
        size_t draw[3], k;
        sp_boot_draw_models(draw, NULL, &k, c.groups, r);
        gsl_rng_free(r);
        assert_int_equal(k, 3);
        int seen[3] = {0}, distinct = 0;
        for (int i = 0; i < 3; i++) distinct += !seen[draw[i]]++;
        if (distinct == 3) want[b] = 7.0 / 3.0;
        else if (distinct == 1) want[b] = NAN;
        else want[b] = pair_value[draw[0]][draw[0] != draw[1] ? draw[1] : draw[2]];
        kinds[distinct - 1]++;
        if (isnan(want[b])) assert_true(isnan(reps[b]));
        else assert_true(reps[b] == want[b]);
    }
    assert_true(kinds[1] > 0 && kinds[2] > 0); /* both kinds of replicate occur */
    double lo, hi, wlo, whi;
    assert_int_equal(srun_interval(&lo, &hi, reps, B, 0.9), SP_OK);
    assert_int_equal(sp_boot_percentile(&wlo, &whi, want, B, 0.9), SP_OK);
    assert_true(lo == wlo && hi == whi && lo < hi);
    /* The difference of two cells' replicates, replicate by replicate. */
    double shifted[B], work[B];
    for (size_t b = 0; b < B; b++) shifted[b] = reps[b] - 0.5;
    assert_int_equal(srun_diff_interval(&lo, &hi, work, reps, shifted, B, 0.9), SP_OK);
    assert_true(lo == 0.5 && hi == 0.5);
    srun_cell_free(&c);

    fake_init(&f, 2, vof, key);
    assert_int_equal(srun_cell_alloc(&c, &f.st, 0, 1), SP_OK);
    *srun_cell_at(&c, 0, 1, 0) = 0.3;
    assert_int_equal(srun_cell_estimates(&est, &n_pairs, reps, &c, "ft", B, seed), SP_OK);
    assert_int_equal(srun_interval(&lo, &hi, reps, B, 0.95), SP_OK);
    assert_true(est == 0.3 && lo == 0.3 && hi == 0.3);
    srun_cell_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_pairs_collapse),
        cmocka_unit_test(test_replicates_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
