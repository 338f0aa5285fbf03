/* test_encoder.c: central finite-difference gradient checks of every encoder kernel and of the whole model
 * (classification, MLM and joint losses, dropout off and on with fixed masks), plus known answers and
 * invariances (padding masks, thread-count independence, pooled activations, input validation).
 *
 * Kernels are checked through a scalar objective f = sum_i r_i out_i (r fixed, accumulated in double),
 * whose analytic gradient is the kernel's backward fed with dout = r. The relative error of one component
 * is |analytic - numeric| / max(|analytic|, |numeric|, 1e-2 * max|analytic| over the tensor), so
 * components that are zero up to rounding do not dominate; the test asserts the maximum over components.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "encoder_kernels.h"
#include "seeds.h"

/* ---------------------------------------------------------------- helpers */

/* Deterministic uniform values in [lo, hi) from a SplitMix64 counter. */
static void fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t h = sp_splitmix64(seed * 1000003ULL + i);
        x[i] = lo + (hi - lo) * (float)((h >> 40) / 16777216.0);
    }
}

static double dot_d(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

typedef double (*objective_fn)(void *ctx);

/* Max relative error of analytic gradient `g` of f against a central five-point stencil on `x` (n components):
 * f' = (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h, truncation O(h^4), so h can be large enough that
 * float rounding in f stays small against the differences. */
static double fd_max_rel_err(float *x, const float *g, size_t n, objective_fn f, void *ctx, float eps)
{
    double gmax = 0.0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        double fv[4];
        const float steps[4] = {eps, -eps, 2.0f * eps, -2.0f * eps};
        for (int k = 0; k < 4; k++) {
            x[i] = keep + steps[k];
            fv[k] = f(ctx);
        }
        x[i] = keep;
        double num = (8.0 * (fv[0] - fv[1]) - (fv[2] - fv[3])) / (12.0 * (double)eps);
        double den = fmax(fmax(fabs(g[i]), fabs(num)), 1e-2 * gmax);
        double err = den > 0.0 ? fabs(g[i] - num) / den : 0.0;
        if (err > worst) worst = err;
    }
    return worst;
}

static void report(const char *what, double err, double tol)
{
    printf("  %-34s max rel err %.3e (tol %.0e)\n", what, err, tol);
    assert_true(err <= tol);
}

/* ---------------------------------------------------------------- layernorm */

enum { LN_N = 5, LN_C = 7 };
typedef struct {
    float x[LN_N * LN_C], w[LN_C], b[LN_C], r[LN_N * LN_C], out[LN_N * LN_C], mean[LN_N], rstd[LN_N];
} ln_ctx;

static double ln_obj(void *p)
{
    ln_ctx *c = p;
    sp_k_layernorm_forward(c->out, c->mean, c->rstd, c->x, c->w, c->b, LN_N, LN_C);
    return dot_d(c->out, c->r, LN_N * LN_C);
}

static void test_layernorm_grad(void **state)
{
    (void)state;
    ln_ctx c;
    fill_uniform(c.x, LN_N * LN_C, 1, -2.0f, 2.0f);
    fill_uniform(c.w, LN_C, 2, 0.5f, 1.5f);
    fill_uniform(c.b, LN_C, 3, -0.5f, 0.5f);
    fill_uniform(c.r, LN_N * LN_C, 4, -1.0f, 1.0f);
    ln_obj(&c);
    /* known answer: each output row, un-affined, has mean 0 and variance 1 - eps-ish */
    for (int n = 0; n < LN_N; n++) {
        double s = 0.0, s2 = 0.0;
        for (int j = 0; j < LN_C; j++) {
            double z = (c.out[n * LN_C + j] - c.b[j]) / c.w[j];
            s += z;
            s2 += z * z;
        }
        assert_true(fabs(s / LN_C) < 1e-5);
        assert_true(fabs(s2 / LN_C - 1.0) < 1e-3);
    }
    float dx[LN_N * LN_C] = {0}, dw[LN_C] = {0}, db[LN_C] = {0};
    sp_k_layernorm_backward(dx, dw, db, c.r, c.x, c.w, c.mean, c.rstd, LN_N, LN_C);
    report("layernorm dx", fd_max_rel_err(c.x, dx, LN_N * LN_C, ln_obj, &c, 1e-2f), 5e-3);
    report("layernorm dw", fd_max_rel_err(c.w, dw, LN_C, ln_obj, &c, 1e-2f), 5e-3);
    report("layernorm db", fd_max_rel_err(c.b, db, LN_C, ln_obj, &c, 1e-2f), 5e-3);
}

/* ---------------------------------------------------------------- matmul */

enum { MM_N = 4, MM_IC = 6, MM_OC = 5 };
typedef struct {
    float x[MM_N * MM_IC], w[MM_OC * MM_IC], b[MM_OC], r[MM_N * MM_OC], out[MM_N * MM_OC];
} mm_ctx;

static double mm_obj(void *p)
{
    mm_ctx *c = p;
    sp_k_matmul_forward(c->out, c->x, c->w, c->b, MM_N, MM_IC, MM_OC);
    return dot_d(c->out, c->r, MM_N * MM_OC);
}

static void test_matmul_grad(void **state)
{
    (void)state;
    mm_ctx c;
    fill_uniform(c.x, MM_N * MM_IC, 11, -1.0f, 1.0f);
    fill_uniform(c.w, MM_OC * MM_IC, 12, -1.0f, 1.0f);
    fill_uniform(c.b, MM_OC, 13, -1.0f, 1.0f);
    fill_uniform(c.r, MM_N * MM_OC, 14, -1.0f, 1.0f);
    mm_obj(&c);
    /* known answer for one entry */
    double o = c.b[2];
    for (int i = 0; i < MM_IC; i++) o += (double)c.x[3 * MM_IC + i] * c.w[2 * MM_IC + i];
    assert_true(fabs(c.out[3 * MM_OC + 2] - o) < 1e-5);
    float dx[MM_N * MM_IC] = {0}, dw[MM_OC * MM_IC] = {0}, db[MM_OC] = {0};
    sp_k_matmul_backward(dx, dw, db, c.r, c.x, c.w, MM_N, MM_IC, MM_OC);
    report("matmul dx", fd_max_rel_err(c.x, dx, MM_N * MM_IC, mm_obj, &c, 1e-2f), 1e-3);
    report("matmul dw", fd_max_rel_err(c.w, dw, MM_OC * MM_IC, mm_obj, &c, 1e-2f), 1e-3);
    report("matmul db", fd_max_rel_err(c.b, db, MM_OC, mm_obj, &c, 1e-2f), 1e-3);
}

/* ---------------------------------------------------------------- gelu */

enum { GE_N = 40 };
typedef struct {
    float x[GE_N], r[GE_N], out[GE_N];
} ge_ctx;

static double ge_obj(void *p)
{
    ge_ctx *c = p;
    sp_k_gelu_forward(c->out, c->x, GE_N);
    return dot_d(c->out, c->r, GE_N);
}

static void test_gelu_grad(void **state)
{
    (void)state;
    /* known answers of the tanh approximation: gelu(0) = 0, gelu(1) = 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) */
    float in[3] = {0.0f, 1.0f, -3.0f}, out[3];
    sp_k_gelu_forward(out, in, 3);
    assert_true(out[0] == 0.0f);
    assert_true(fabs(out[1] - 0.8411920) < 1e-6);
    assert_true(fabs(out[2] - (-0.0036373920)) < 1e-6);
    ge_ctx c;
    fill_uniform(c.x, GE_N, 21, -4.0f, 4.0f);
    fill_uniform(c.r, GE_N, 22, -1.0f, 1.0f);
    float dx[GE_N] = {0};
    sp_k_gelu_backward(dx, c.x, c.r, GE_N);
    report("gelu dx", fd_max_rel_err(c.x, dx, GE_N, ge_obj, &c, 1e-2f), 5e-3);
}

/* ---------------------------------------------------------------- attention */

enum { AT_B = 2, AT_T = 5, AT_C = 6, AT_NH = 2 };
typedef struct {
    float qkv[AT_B * AT_T * 3 * AT_C], r[AT_B * AT_T * AT_C], out[AT_B * AT_T * AT_C];
    float att[AT_B * AT_NH * AT_T * AT_T], scratch[AT_B * AT_NH * AT_T * AT_T];
    uint8_t valid[AT_B * AT_T];
    float p;
    uint64_t key;
} at_ctx;

static double at_obj(void *p)
{
    at_ctx *c = p;
    sp_k_attention_forward(c->out, c->att, c->scratch, c->qkv, c->valid, AT_B, AT_T, AT_C, AT_NH, c->p, c->key);
    return dot_d(c->out, c->r, AT_B * AT_T * AT_C);
}

static void attention_check(float p, const char *name)
{
    at_ctx c;
    fill_uniform(c.qkv, sizeof c.qkv / sizeof(float), 31, -1.5f, 1.5f);
    fill_uniform(c.r, sizeof c.r / sizeof(float), 32, -1.0f, 1.0f);
    /* row 0 fully valid, row 1 with its last two keys padded */
    for (int i = 0; i < AT_B * AT_T; i++) c.valid[i] = !(i >= AT_T + 3);
    c.p = p;
    c.key = 0x1234;
    at_obj(&c);
    /* masked keys get weight exactly 0; every row sums to 1 */
    for (int h = 0; h < AT_NH; h++)
        for (int t = 0; t < AT_T; t++) {
            const float *a = c.att + ((1 * AT_NH + h) * AT_T + t) * AT_T;
            assert_true(a[3] == 0.0f && a[4] == 0.0f);
            assert_true(fabs(a[0] + a[1] + a[2] - 1.0) < 1e-6);
        }
    float dqkv[AT_B * AT_T * 3 * AT_C] = {0}, s1[AT_B * AT_NH * AT_T * AT_T], s2[AT_B * AT_NH * AT_T * AT_T];
    sp_k_attention_backward(dqkv, s1, s2, c.r, c.att, c.qkv, AT_B, AT_T, AT_C, AT_NH, c.p, c.key);
    /* keys and values at padded positions get exactly zero gradient */
    for (int t = 3; t < AT_T; t++)
        for (int j = AT_C; j < 3 * AT_C; j++) assert_true(dqkv[(AT_T + t) * 3 * AT_C + j] == 0.0f);
    report(name, fd_max_rel_err(c.qkv, dqkv, sizeof c.qkv / sizeof(float), at_obj, &c, 1e-2f), 5e-3);
}

static void test_attention_grad(void **state)
{
    (void)state;
    attention_check(0.0f, "attention dqkv (mask)");
}

static void test_attention_dropout_grad(void **state)
{
    (void)state;
    attention_check(0.3f, "attention dqkv (mask, dropout 0.3)");
}

/* ---------------------------------------------------------------- residual dropout */

static void test_residual_dropout(void **state)
{
    (void)state;
    enum { N = 20000 };
    float *res = calloc(N, sizeof(float)), *br = malloc(N * sizeof(float)), *out = malloc(N * sizeof(float)),
          *d = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) br[i] = 1.0f;
    sp_k_residual_forward(out, res, br, N, 0.25f, 99);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        assert_true(out[i] == 0.0f || fabs(out[i] - 1.0f / 0.75f) < 1e-6);
        kept += out[i] != 0.0f;
    }
    /* 75% kept, within 4 binomial standard deviations (sd = sqrt(N p q) ~ 61) */
    assert_true(abs(kept - 15000) < 250);
    /* the backward applies the same mask: d branch = dout * mask / (1 - p) */
    sp_k_residual_branch_backward(d, br, N, 0.25f, 99);
    assert_memory_equal(d, out, N * sizeof(float));
    free(res);
    free(br);
    free(out);
    free(d);
}

/* ---------------------------------------------------------------- softmax cross-entropy */

enum { SX_N = 4, SX_V = 6 };
typedef struct {
    float logits[SX_N * SX_V], probs[SX_N * SX_V], losses[SX_N];
    int32_t tg[SX_N];
} sx_ctx;

static double sx_obj(void *p)
{
    sx_ctx *c = p;
    sp_k_softmax_xent_forward(c->probs, c->losses, c->logits, c->tg, SX_N, SX_V);
    double s = 0.0;
    for (int n = 0; n < SX_N; n++) s += c->losses[n];
    return s / 3.0; /* three rows carry a target */
}

static void test_softmax_xent_grad(void **state)
{
    (void)state;
    sx_ctx c;
    /* known answer: equal logits give loss log V */
    for (int i = 0; i < SX_N * SX_V; i++) c.logits[i] = 0.7f;
    int32_t tg[SX_N] = {2, -1, 5, 0};
    memcpy(c.tg, tg, sizeof tg);
    sx_obj(&c);
    assert_true(fabs(c.losses[0] - log(SX_V)) < 1e-6);
    assert_true(c.losses[1] == 0.0f);
    fill_uniform(c.logits, SX_N * SX_V, 41, -3.0f, 3.0f);
    sx_obj(&c);
    float dl[SX_N * SX_V] = {0};
    sp_k_softmax_xent_backward(dl, c.probs, c.tg, SX_N, SX_V, 1.0f / 3.0f);
    for (int v = 0; v < SX_V; v++) assert_true(dl[SX_V + v] == 0.0f);
    report("softmax-xent dlogits", fd_max_rel_err(c.logits, dl, SX_N * SX_V, sx_obj, &c, 1e-2f), 1e-3);
}

/* ---------------------------------------------------------------- whole model */

enum { MD_B = 3, MD_T = 6, MD_V = 13 };
static const sp_encoder_config md_cfg = {.vocab_size = MD_V, .d_model = 8, .n_layers = 2, .n_heads = 2,
                                         .d_ff = 12, .max_len = 7, .n_classes = 3, .dropout = 0.2f, .pad_id = 0};
/* [CLS]=1 ... [SEP]=2 then padding; rows of different lengths */
static const int32_t md_tokens[MD_B * MD_T] = {1, 5, 9, 3, 2, 0, 1, 7, 3, 2, 0, 0, 1, 12, 6, 8, 11, 2};
static const int32_t md_labels[MD_B] = {2, 0, 1};
static const int32_t md_mlm[MD_B * MD_T] = {-1, 6, -1, 10, -1, -1, -1, -1, 4, -1, -1, -1, -1, -1, 6, -1, 3, -1};

typedef struct {
    sp_encoder *m;
    sp_encoder_acts *a;
    sp_encoder_batch batch;
    float w_cls, w_mlm;
} md_ctx;

static double md_obj(void *p)
{
    md_ctx *c = p;
    sp_encoder_losses l;
    assert_int_equal(sp_encoder_forward(c->m, c->a, &c->batch, &l), SP_OK);
    return c->w_cls * l.cls_loss + c->w_mlm * l.mlm_loss;
}

/* Random (not default) parameters so LayerNorm affines and biases matter. */
static void md_setup(md_ctx *c, int train, float w_cls, float w_mlm)
{
    assert_int_equal(sp_encoder_alloc(&md_cfg, &c->m), SP_OK);
    fill_uniform(c->m->params_memory, c->m->n_params, 51, -0.5f, 0.5f);
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        const char *nm = sp_encoder_tensor_name(i);
        size_t len = strlen(nm);
        if (len >= 3 && strcmp(nm + len - 1, "w") == 0 && strstr(nm, "ln")) /* LayerNorm weights near 1 */
            for (size_t j = 0; j < c->m->tensor_size[i]; j++) c->m->params_memory[c->m->tensor_offset[i] + j] += 1.0f;
    }
    assert_int_equal(sp_encoder_acts_alloc(c->m, MD_B, MD_T, 8, &c->a), SP_OK);
    c->batch = (sp_encoder_batch){md_tokens, md_labels, md_mlm, MD_B, MD_T, train, 0xfeed};
    c->w_cls = w_cls;
    c->w_mlm = w_mlm;
}

static void md_check(int train, float w_cls, float w_mlm, const char *what, double tol)
{
    md_ctx c;
    md_setup(&c, train, w_cls, w_mlm);
    sp_encoder_zero_grad(c.m);
    md_obj(&c);
    sp_encoder_backward(c.m, c.a, w_cls, w_mlm);
    double worst = 0.0;
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        float *x = c.m->params_memory + c.m->tensor_offset[i];
        const float *g = c.m->grads_memory + c.m->tensor_offset[i];
        double gmax = 0.0;
        for (size_t j = 0; j < c.m->tensor_size[i]; j++) gmax = fmax(gmax, fabs(g[j]));
        if (gmax == 0.0) continue; /* tensors the loss does not reach (e.g. the MLM head for w_mlm = 0) */
        double e = fd_max_rel_err(x, g, c.m->tensor_size[i], md_obj, &c, 4e-2f);
        if (e > 5e-3) printf("    %s: %s max rel err %.3e\n", what, sp_encoder_tensor_name(i), e);
        worst = fmax(worst, e);
    }
    report(what, worst, tol);
    sp_encoder_acts_free(c.a);
    sp_encoder_free(c.m);
}

static void test_model_grad_cls(void **state)
{
    (void)state;
    md_check(0, 1.0f, 0.0f, "model: classification loss", 1e-2);
}

static void test_model_grad_mlm(void **state)
{
    (void)state;
    md_check(0, 0.0f, 1.0f, "model: MLM loss (MLM head)", 1e-2);
}

static void test_model_grad_joint_dropout(void **state)
{
    (void)state;
    md_check(1, 0.7f, 1.0f, "model: joint loss, dropout 0.2", 1e-2);
}

/* ---------------------------------------------------------------- invariances */

/* Same seeds => identical logits and gradients for 1 and 2 OpenMP threads, dropout on; the batch is large
 * enough that every kernel takes its parallel path. */
static void test_thread_count_invariance(void **state)
{
    (void)state;
    enum { B = 8, T = 40, V = 50 };
    sp_encoder_config cfg = {.vocab_size = V, .d_model = 64, .n_layers = 2, .n_heads = 4, .d_ff = 128,
                             .max_len = T, .n_classes = 2, .dropout = 0.1f, .pad_id = 0};
    sp_encoder *m;
    sp_encoder_acts *a;
    assert_int_equal(sp_encoder_alloc(&cfg, &m), SP_OK);
    assert_int_equal(sp_encoder_init(m, 7), SP_OK);
    assert_int_equal(sp_encoder_acts_alloc(m, B, T, B * T, &a), SP_OK);
    int32_t tokens[B * T], targets[B * T], labels[B];
    for (int i = 0; i < B * T; i++) {
        int len = 10 + 3 * (i / T); /* rows of different lengths, the rest padding */
        tokens[i] = i % T < len ? 1 + (int)(sp_splitmix64(i) % (V - 1)) : 0;
        targets[i] = (i % T < len && i % 7 == 3) ? tokens[i] : -1;
    }
    for (int b = 0; b < B; b++) labels[b] = b % 2;
    sp_encoder_batch batch = {tokens, labels, targets, B, T, 1, 42};
    float *g1 = malloc(m->n_params * sizeof(float));
    float logits[B * 2];
    int saved = omp_get_max_threads();
    for (int run = 0; run < 2; run++) {
        omp_set_num_threads(run == 0 ? 1 : 2);
        sp_encoder_zero_grad(m);
        sp_encoder_losses l;
        assert_int_equal(sp_encoder_forward(m, a, &batch, &l), SP_OK);
        assert_true(l.n_mlm > 0 && l.n_cls == B);
        sp_encoder_backward(m, a, 1.0f, 1.0f);
        if (run == 0) {
            memcpy(g1, m->grads_memory, m->n_params * sizeof(float));
            memcpy(logits, sp_encoder_cls_logits(a), sizeof logits);
        } else {
            assert_memory_equal(g1, m->grads_memory, m->n_params * sizeof(float));
            assert_memory_equal(logits, sp_encoder_cls_logits(a), sizeof logits);
        }
    }
    omp_set_num_threads(saved);
    free(g1);
    sp_encoder_acts_free(a);
    sp_encoder_free(m);
}

/* Extra padding changes nothing: logits and pooled activations of a batch padded to T=7 equal those at T=6;
 * [CLS] pooling is position 0 of the residual stream; mean pooling averages non-pad positions. */
static void test_padding_and_pooling(void **state)
{
    (void)state;
    md_ctx c;
    md_setup(&c, 0, 1.0f, 0.0f);
    enum { L1 = 3, C = 8 };
    float cls6[MD_B * L1 * C], mean6[MD_B * L1 * C], cls7[MD_B * L1 * C], mean7[MD_B * L1 * C];
    float logits6[MD_B * 3];
    assert_int_equal(sp_encoder_pooled(c.m, c.a, md_tokens, MD_B, MD_T, cls6, mean6), SP_OK);
    memcpy(logits6, sp_encoder_cls_logits(c.a), sizeof logits6);
    sp_encoder_acts *a7;
    assert_int_equal(sp_encoder_acts_alloc(c.m, MD_B, 7, 0, &a7), SP_OK);
    int32_t tok7[MD_B * 7];
    for (int b = 0; b < MD_B; b++) {
        memcpy(tok7 + b * 7, md_tokens + b * MD_T, MD_T * sizeof(int32_t));
        tok7[b * 7 + 6] = 0;
    }
    assert_int_equal(sp_encoder_pooled(c.m, a7, tok7, MD_B, 7, cls7, mean7), SP_OK);
    for (int i = 0; i < MD_B * 3; i++) assert_true(fabs(logits6[i] - sp_encoder_cls_logits(a7)[i]) < 1e-5);
    for (int i = 0; i < MD_B * L1 * C; i++) {
        assert_true(fabs(cls6[i] - cls7[i]) < 1e-5);
        assert_true(fabs(mean6[i] - mean7[i]) < 1e-5);
    }
    /* layer 0 [CLS] = wte[1] + wpe[0]; layer 0 mean of row 1 = mean over its 4 non-pad tokens of wte + wpe */
    const sp_encoder_params *w = &c.m->params;
    for (int j = 0; j < C; j++) {
        assert_true(fabs(cls6[j] - (w->wte[1 * C + j] + w->wpe[j])) < 1e-6);
        double s = 0.0;
        for (int t = 0; t < 4; t++) s += w->wte[md_tokens[MD_T + t] * C + j] + w->wpe[t * C + j];
        assert_true(fabs(mean6[(1 * L1 + 0) * C + j] - s / 4) < 1e-5);
    }
    sp_encoder_acts_free(a7);
    sp_encoder_acts_free(c.a);
    sp_encoder_free(c.m);
}

/* The last block runs only at the rows the heads read: classification logits equal those of the full pass
 * (sp_encoder_pooled), and the MLM logits of the masked positions equal those computed when every non-pad
 * position is a target (the last block then runs nearly everywhere). */
static void test_last_block_rows(void **state)
{
    (void)state;
    md_ctx c;
    md_setup(&c, 0, 1.0f, 1.0f);
    enum { K = 3, NM = 5 }; /* md_mlm has 5 targets */
    sp_encoder_acts *all;
    assert_int_equal(sp_encoder_acts_alloc(c.m, MD_B, MD_T, MD_B * MD_T, &all), SP_OK);
    sp_encoder_losses l;
    assert_int_equal(sp_encoder_forward(c.m, c.a, &c.batch, &l), SP_OK);
    assert_int_equal(l.n_mlm, NM);
    float logits[MD_B * K], mlm[NM * MD_V];
    int n_masked = 0;
    memcpy(logits, sp_encoder_cls_logits(c.a), sizeof logits);
    memcpy(mlm, sp_encoder_mlm_logits(c.a, &n_masked), sizeof mlm);
    /* targets at every non-pad position after [CLS]; the masked ones keep their order among them */
    int32_t every[MD_B * MD_T];
    int masked_rank[NM], n_every = 0, k = 0;
    for (int i = 0; i < MD_B * MD_T; i++) {
        every[i] = (i % MD_T) > 0 && md_tokens[i] != 0 ? md_tokens[i] : -1;
        if (md_mlm[i] >= 0) masked_rank[k++] = n_every;
        if (every[i] >= 0) n_every++;
    }
    sp_encoder_batch b2 = {md_tokens, md_labels, every, MD_B, MD_T, 0, 0};
    assert_int_equal(sp_encoder_forward(c.m, all, &b2, &l), SP_OK);
    assert_int_equal(l.n_mlm, n_every);
    const float *mlm_all = sp_encoder_mlm_logits(all, &n_masked);
    assert_int_equal(k, NM);
    for (int j = 0; j < NM; j++)
        for (int v = 0; v < MD_V; v++)
            assert_true(fabs(mlm[j * MD_V + v] - mlm_all[masked_rank[j] * MD_V + v]) < 1e-5);
    for (int i = 0; i < MD_B * K; i++) assert_true(fabs(logits[i] - sp_encoder_cls_logits(all)[i]) < 1e-5);
    /* the full pass */
    assert_int_equal(sp_encoder_pooled(c.m, all, md_tokens, MD_B, MD_T, NULL, NULL), SP_OK);
    for (int i = 0; i < MD_B * K; i++) assert_true(fabs(logits[i] - sp_encoder_cls_logits(all)[i]) < 1e-5);
    sp_encoder_acts_free(all);
    sp_encoder_acts_free(c.a);
    sp_encoder_free(c.m);
}

/* A workspace larger than the batch (more rows, longer T, more MLM slots) gives bit-identical losses and
 * gradients: activations are packed at the batch's own shape. */
static void test_workspace_larger_than_batch(void **state)
{
    (void)state;
    md_ctx c;
    md_setup(&c, 1, 0.5f, 1.0f);
    sp_encoder_zero_grad(c.m);
    double f1 = md_obj(&c);
    sp_encoder_backward(c.m, c.a, 0.5f, 1.0f);
    float *g1 = malloc(c.m->n_params * sizeof(float));
    memcpy(g1, c.m->grads_memory, c.m->n_params * sizeof(float));
    sp_encoder_acts *big;
    assert_int_equal(sp_encoder_acts_alloc(c.m, MD_B + 2, 7, 20, &big), SP_OK);
    sp_encoder_acts *small = c.a;
    c.a = big;
    sp_encoder_zero_grad(c.m);
    double f2 = md_obj(&c);
    sp_encoder_backward(c.m, c.a, 0.5f, 1.0f);
    assert_true(f1 == f2);
    assert_memory_equal(g1, c.m->grads_memory, c.m->n_params * sizeof(float));
    free(g1);
    sp_encoder_acts_free(big);
    sp_encoder_acts_free(small);
    sp_encoder_free(c.m);
}

static void test_bad_input(void **state)
{
    (void)state;
    md_ctx c;
    md_setup(&c, 0, 1.0f, 1.0f);
    int32_t tok[MD_B * MD_T];
    memcpy(tok, md_tokens, sizeof tok);
    tok[7] = MD_V;
    c.batch.tokens = tok;
    sp_encoder_losses l;
    assert_int_equal(sp_encoder_forward(c.m, c.a, &c.batch, &l), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "row 1 position 1"));
    int32_t lab[MD_B] = {0, 3, 1};
    c.batch.tokens = md_tokens;
    c.batch.labels = lab;
    assert_int_equal(sp_encoder_forward(c.m, c.a, &c.batch, &l), SP_ERR_INPUT);
    c.batch.labels = md_labels;
    c.batch.T = 7;
    assert_int_equal(sp_encoder_forward(c.m, c.a, &c.batch, &l), SP_ERR_USAGE);
    sp_encoder_config bad = md_cfg;
    bad.n_heads = 3;
    sp_encoder *m2 = NULL;
    assert_int_equal(sp_encoder_alloc(&bad, &m2), SP_ERR_USAGE);
    assert_null(m2);
    sp_encoder_acts_free(c.a);
    sp_encoder_free(c.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_grad),          cmocka_unit_test(test_matmul_grad),
        cmocka_unit_test(test_gelu_grad),               cmocka_unit_test(test_attention_grad),
        cmocka_unit_test(test_attention_dropout_grad),  cmocka_unit_test(test_residual_dropout),
        cmocka_unit_test(test_softmax_xent_grad),       cmocka_unit_test(test_model_grad_cls),
        cmocka_unit_test(test_model_grad_mlm),          cmocka_unit_test(test_model_grad_joint_dropout),
        cmocka_unit_test(test_thread_count_invariance), cmocka_unit_test(test_padding_and_pooling),
        cmocka_unit_test(test_workspace_larger_than_batch), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_last_block_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
