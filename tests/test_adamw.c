/* test_adamw.c: AdamW known answers (one hand-computed step with and without decay, bias correction over
 * two steps), the warmup + linear/cosine schedule, global-norm clipping, NaN/Inf refusal and config checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "adamw.h"

static void test_schedule_known_answers(void **state)
{
    (void)state;
    sp_adamw_config c = sp_adamw_defaults();
    c.lr = 1.0f;
    c.warmup_steps = 4;
    c.total_steps = 14;
    c.min_lr_ratio = 0.1f;
    c.schedule = SP_LR_LINEAR;
    assert_true(fabs(sp_adamw_lr(&c, 0) - 0.25) < 1e-12);
    assert_true(fabs(sp_adamw_lr(&c, 3) - 1.0) < 1e-12);
    assert_true(fabs(sp_adamw_lr(&c, 4) - 1.0) < 1e-12);
    assert_true(fabs(sp_adamw_lr(&c, 9) - (1.0 - 0.9 * 0.5)) < 1e-7);
    assert_true(fabs(sp_adamw_lr(&c, 14) - 0.1) < 1e-7);
    assert_true(fabs(sp_adamw_lr(&c, 100) - 0.1) < 1e-7);
    c.schedule = SP_LR_COSINE;
    assert_true(fabs(sp_adamw_lr(&c, 9) - (0.1 + 0.9 * 0.5)) < 1e-7); /* cos(pi/2) = 0 */
    assert_true(fabs(sp_adamw_lr(&c, 14) - 0.1) < 1e-7);
    c.schedule = SP_LR_CONSTANT;
    assert_true(fabs(sp_adamw_lr(&c, 100) - 1.0) < 1e-12);
}

static void test_two_steps_hand_computed(void **state)
{
    (void)state;
    sp_adamw_config c = sp_adamw_defaults();
    c.lr = 0.1f;
    c.weight_decay = 0.5f;
    /* element 0 decays, element 1 does not */
    sp_adamw_segment segs[2] = {{0, 1, 1}, {1, 1, 0}};
    sp_adamw *o;
    assert_int_equal(sp_adamw_alloc(&c, 2, segs, 2, &o), SP_OK);
    float p[2] = {1.0f, 1.0f}, g[2] = {0.2f, 0.2f};
    assert_int_equal(sp_adamw_step(o, p, g, NULL), SP_OK);
    /* step 1: m = 0.02, v = 4e-5, m_hat / sqrt(v_hat) = 0.2 / 0.2 = 1 (up to eps): p -= 0.1 */
    double upd = 0.1 * (0.02 / 0.1) / (sqrt(4e-5 / 0.001) + 1e-8);
    assert_true(fabs(p[0] - (1.0 * (1.0 - 0.05) - upd)) < 1e-6);
    assert_true(fabs(p[1] - (1.0 - upd)) < 1e-6);
    /* step 2 with gradient -0.2: m = 0.018 - 0.02 = -0.002, v = 0.999 * 4e-5 + 4e-5 */
    float p0 = p[0], p1 = p[1];
    g[0] = g[1] = -0.2f;
    assert_int_equal(sp_adamw_step(o, p, g, NULL), SP_OK);
    double m2 = 0.9 * 0.02 + 0.1 * -0.2, v2 = 0.999 * 4e-5 + 0.001 * 0.04;
    double u2 = 0.1 * (m2 / (1 - 0.81)) / (sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
    assert_true(fabs(p[0] - (p0 * 0.95 - u2)) < 1e-6);
    assert_true(fabs(p[1] - (p1 - u2)) < 1e-6);
    assert_int_equal(o->step, 2);
    sp_adamw_free(o);
}

static void test_clipping_and_norm(void **state)
{
    (void)state;
    sp_adamw_config c = sp_adamw_defaults();
    c.clip_norm = 1.0f;
    sp_adamw *o;
    assert_int_equal(sp_adamw_alloc(&c, 2, NULL, 0, &o), SP_OK);
    float p[2] = {0, 0}, g[2] = {3.0f, 4.0f};
    double norm;
    assert_int_equal(sp_adamw_step(o, p, g, &norm), SP_OK);
    assert_true(fabs(norm - 5.0) < 1e-12);
    /* clipped in place to norm 1 (coef 1 / (5 + 1e-6)) */
    assert_true(fabs(g[0] - 0.6) < 1e-6 && fabs(g[1] - 0.8) < 1e-6);
    /* below the threshold nothing is scaled */
    g[0] = 0.3f;
    g[1] = 0.4f;
    assert_int_equal(sp_adamw_step(o, p, g, &norm), SP_OK);
    assert_true(g[0] == 0.3f && g[1] == 0.4f);
    sp_adamw_free(o);
    /* the chunked norm over more than one chunk equals the plain sum */
    enum { N = 200000 };
    static float big[N];
    double ref = 0.0;
    for (int i = 0; i < N; i++) {
        big[i] = (float)((i % 17) - 8) * 0.01f;
        ref += (double)big[i] * big[i];
    }
    assert_true(fabs(sp_adamw_grad_norm(big, N) - sqrt(ref)) < 1e-9 * sqrt(ref));
}

static void test_nan_refused(void **state)
{
    (void)state;
    sp_adamw_config c = sp_adamw_defaults();
    sp_adamw *o;
    assert_int_equal(sp_adamw_alloc(&c, 3, NULL, 0, &o), SP_OK);
    float p[3] = {1, 2, 3}, g[3] = {0.1f, NAN, 0.2f};
    assert_int_equal(sp_adamw_step(o, p, g, NULL), SP_ERR_NUMERIC);
    assert_true(p[0] == 1 && p[1] == 2 && p[2] == 3);
    assert_int_equal(o->step, 0);
    g[1] = INFINITY;
    assert_int_equal(sp_adamw_step(o, p, g, NULL), SP_ERR_NUMERIC);
    assert_non_null(strstr(sp_error_message(), "NaN or Inf"));
    sp_adamw_free(o);
}

static void test_config_checks(void **state)
{
    (void)state;
    sp_adamw_config c = sp_adamw_defaults();
    sp_adamw *o = NULL;
    c.lr = 0.0f;
    assert_int_equal(sp_adamw_alloc(&c, 1, NULL, 0, &o), SP_ERR_USAGE);
    assert_null(o);
    c = sp_adamw_defaults();
    c.beta2 = 1.0f;
    assert_int_equal(sp_adamw_config_check(&c), SP_ERR_USAGE);
    c = sp_adamw_defaults();
    sp_adamw_segment bad = {2, 5, 1};
    assert_int_equal(sp_adamw_alloc(&c, 4, &bad, 1, &o), SP_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_known_answers), cmocka_unit_test(test_two_steps_hand_computed),
        cmocka_unit_test(test_clipping_and_norm),      cmocka_unit_test(test_nan_refused),
        cmocka_unit_test(test_config_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
