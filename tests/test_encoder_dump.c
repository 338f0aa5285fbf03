/* test_encoder_dump.c: runs a small encoder on a fixed batch (joint loss, dropout off and on, pooled
 * activations, 10 AdamW steps) and checks what it can on its own: finite losses, dropout changing the loss,
 * the loss falling over the AdamW steps, repeat runs bit-identical. With SPLINTER_ENCODER_DUMP=<file.h5> it
 * also writes weights, batch, masks, outputs, gradients and step losses there for the PyTorch reference
 * (tests/ref/encoder_torch.py, run by tests/check_encoder_torch.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "encoder.h"
#include "seeds.h"
#include "store.h"

enum { B = 4, T = 12, V = 50, C = 32, L = 2, NH = 4, F = 64, K = 3, N_STEPS = 10 };

static const sp_encoder_config cfg = {.vocab_size = V, .d_model = C, .n_layers = L, .n_heads = NH, .d_ff = F,
                                      .max_len = 16, .n_classes = K, .dropout = 0.1f, .pad_id = 0};
static const uint64_t DROP_KEY = 0xd00dfeedULL;

typedef struct {
    int32_t tokens[B * T], labels[B], targets[B * T];
    float cls_logits[B * K], *mlm_logits, cls_probs[B * K];
    int n_mlm;
    double cls_loss, mlm_loss, drop_cls_loss, drop_mlm_loss;
    float *grads, *drop_grads, *weights0, *weights_final;
    float pooled_cls[B * (L + 1) * C], pooled_mean[B * (L + 1) * C];
    double step_loss[N_STEPS], step_norm[N_STEPS];
    sp_adamw_config opt;
} run_result;

static void make_batch(run_result *r)
{
    const int lens[B] = {12, 9, 5, 7};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int i = b * T + t;
            int tok = t == 0 ? 1 : t == lens[b] - 1 ? 2 : t < lens[b] ? 5 + (int)(sp_splitmix64(i) % (V - 5)) : 0;
            r->tokens[i] = tok;
            /* mask every third interior token; the input keeps [MASK]=3 there */
            r->targets[i] = (t > 0 && t < lens[b] - 1 && (t + b) % 3 == 1) ? tok : -1;
            if (r->targets[i] >= 0) r->tokens[i] = 3;
        }
    for (int b = 0; b < B; b++) r->labels[b] = b % K;
}

/* Parameters: the normal init, then biases and LayerNorm parameters moved off 0 / 1 so they matter. */
static void make_weights(sp_encoder *m)
{
    assert_int_equal(sp_encoder_init(m, 2024), SP_OK);
    for (size_t i = 0; i < m->n_params; i++) {
        double u = (double)(sp_splitmix64(0xabcdef + i) >> 11) / 9007199254740992.0 - 0.5;
        m->params_memory[i] += (float)(0.1 * u);
    }
}

static void run_all(run_result *r)
{
    sp_encoder *m;
    sp_encoder_acts *a;
    assert_int_equal(sp_encoder_alloc(&cfg, &m), SP_OK);
    assert_int_equal(sp_encoder_acts_alloc(m, B, T, B * T, &a), SP_OK);
    make_weights(m);
    make_batch(r);
    size_t n = m->n_params;
    r->grads = malloc(n * sizeof(float));
    r->drop_grads = malloc(n * sizeof(float));
    r->weights0 = malloc(n * sizeof(float));
    r->weights_final = malloc(n * sizeof(float));
    r->mlm_logits = malloc((size_t)B * T * V * sizeof(float));
    memcpy(r->weights0, m->params_memory, n * sizeof(float));

    /* dropout off: outputs, joint-loss gradients */
    sp_encoder_batch batch = {r->tokens, r->labels, r->targets, B, T, 0, DROP_KEY};
    sp_encoder_losses ls;
    sp_encoder_zero_grad(m);
    assert_int_equal(sp_encoder_forward(m, a, &batch, &ls), SP_OK);
    memcpy(r->cls_logits, sp_encoder_cls_logits(a), sizeof r->cls_logits);
    memcpy(r->cls_probs, sp_encoder_cls_probs(a), sizeof r->cls_probs);
    const float *ml = sp_encoder_mlm_logits(a, &r->n_mlm);
    memcpy(r->mlm_logits, ml, (size_t)r->n_mlm * V * sizeof(float));
    r->cls_loss = ls.cls_loss;
    r->mlm_loss = ls.mlm_loss;
    sp_encoder_backward(m, a, 1.0f, 1.0f);
    memcpy(r->grads, m->grads_memory, n * sizeof(float));

    /* dropout on */
    batch.train = 1;
    sp_encoder_zero_grad(m);
    assert_int_equal(sp_encoder_forward(m, a, &batch, &ls), SP_OK);
    r->drop_cls_loss = ls.cls_loss;
    r->drop_mlm_loss = ls.mlm_loss;
    sp_encoder_backward(m, a, 1.0f, 1.0f);
    memcpy(r->drop_grads, m->grads_memory, n * sizeof(float));

    /* pooled activations (no dropout) */
    assert_int_equal(sp_encoder_pooled(m, a, r->tokens, B, T, r->pooled_cls, r->pooled_mean), SP_OK);

    /* 10 AdamW steps on the joint loss without dropout: warmup, cosine decay, clipping, weight decay */
    r->opt = sp_adamw_defaults();
    r->opt.lr = 1e-2f;
    r->opt.weight_decay = 0.1f;
    r->opt.warmup_steps = 3;
    r->opt.total_steps = N_STEPS;
    r->opt.schedule = SP_LR_COSINE;
    r->opt.min_lr_ratio = 0.1f;
    r->opt.clip_norm = 1.0f;
    sp_adamw_segment segs[SP_ENCODER_N_TENSORS];
    int ns = sp_encoder_decay_segments(m, segs);
    sp_adamw *opt;
    assert_int_equal(sp_adamw_alloc(&r->opt, n, segs, ns, &opt), SP_OK);
    batch.train = 0;
    for (int s = 0; s < N_STEPS; s++) {
        sp_encoder_zero_grad(m);
        assert_int_equal(sp_encoder_forward(m, a, &batch, &ls), SP_OK);
        r->step_loss[s] = ls.cls_loss + ls.mlm_loss;
        sp_encoder_backward(m, a, 1.0f, 1.0f);
        assert_int_equal(sp_adamw_step(opt, m->params_memory, m->grads_memory, &r->step_norm[s]), SP_OK);
    }
    memcpy(r->weights_final, m->params_memory, n * sizeof(float));
    sp_adamw_free(opt);
    sp_encoder_acts_free(a);
    sp_encoder_free(m);
}

static void free_result(run_result *r)
{
    free(r->grads);
    free(r->drop_grads);
    free(r->weights0);
    free(r->weights_final);
    free(r->mlm_logits);
}

/* Writes every tensor of `block` under `group`/<tensor name> with its shape. */
static void write_tensors(sp_store_writer *w, const sp_encoder *m, const char *group, const float *block)
{
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", group, sp_encoder_tensor_name(i));
        hsize_t dims[3];
        for (int d = 0; d < m->tensor_rank[i]; d++) dims[d] = (hsize_t)m->tensor_dims[i][d];
        assert_int_equal(sp_store_write_f32(w, path, m->tensor_rank[i], dims, block + m->tensor_offset[i], 0), SP_OK);
    }
}

static void write_dump(const char *path, const run_result *r)
{
    sp_encoder *m;
    assert_int_equal(sp_encoder_alloc(&cfg, &m), SP_OK);
    sp_store_writer *w;
    assert_int_equal(sp_store_create(path, "splinter-encoder-parity", &w), SP_OK);
    const char *ik[] = {"vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "max_len", "n_classes", "pad_id"};
    const int iv[] = {V, C, L, NH, F, cfg.max_len, K, cfg.pad_id};
    for (int i = 0; i < 8; i++) assert_int_equal(sp_store_attr_i64(w, "/", ik[i], iv[i]), SP_OK);
    assert_int_equal(sp_store_attr_f64(w, "/", "dropout", cfg.dropout), SP_OK);
    const char *ok[] = {"lr", "beta1", "beta2", "eps", "weight_decay", "min_lr_ratio", "clip_norm"};
    const double ov[] = {r->opt.lr, r->opt.beta1, r->opt.beta2, r->opt.eps, r->opt.weight_decay, r->opt.min_lr_ratio,
                         r->opt.clip_norm};
    for (int i = 0; i < 7; i++) assert_int_equal(sp_store_attr_f64(w, "/", ok[i], ov[i]), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "warmup_steps", r->opt.warmup_steps), SP_OK);
    assert_int_equal(sp_store_attr_i64(w, "/", "total_steps", r->opt.total_steps), SP_OK);
    assert_int_equal(sp_store_attr_str(w, "/", "schedule", "cosine"), SP_OK);
    write_tensors(w, m, "/weights", r->weights0);
    write_tensors(w, m, "/grads", r->grads);
    write_tensors(w, m, "/grads_dropout", r->drop_grads);
    write_tensors(w, m, "/weights_final", r->weights_final);
    hsize_t dbt[2] = {B, T}, db[1] = {B}, dbk[2] = {B, K}, dmv[2] = {(hsize_t)r->n_mlm, V}, one[1] = {1},
            dst[1] = {N_STEPS}, dpool[3] = {B, L + 1, C};
    assert_int_equal(sp_store_write_i32(w, "/batch/tokens", 2, dbt, r->tokens, 0), SP_OK);
    assert_int_equal(sp_store_write_i32(w, "/batch/labels", 1, db, r->labels, 0), SP_OK);
    assert_int_equal(sp_store_write_i32(w, "/batch/mlm_targets", 2, dbt, r->targets, 0), SP_OK);
    assert_int_equal(sp_store_write_f32(w, "/out/cls_logits", 2, dbk, r->cls_logits, 0), SP_OK);
    assert_int_equal(sp_store_write_f32(w, "/out/mlm_logits", 2, dmv, r->mlm_logits, 0), SP_OK);
    assert_int_equal(sp_store_write_f64(w, "/out/cls_loss", 1, one, &r->cls_loss, 0), SP_OK);
    assert_int_equal(sp_store_write_f64(w, "/out/mlm_loss", 1, one, &r->mlm_loss, 0), SP_OK);
    assert_int_equal(sp_store_write_f64(w, "/out/dropout_cls_loss", 1, one, &r->drop_cls_loss, 0), SP_OK);
    assert_int_equal(sp_store_write_f64(w, "/out/dropout_mlm_loss", 1, one, &r->drop_mlm_loss, 0), SP_OK);
    assert_int_equal(sp_store_write_f32(w, "/out/pooled_cls", 3, dpool, r->pooled_cls, 0), SP_OK);
    assert_int_equal(sp_store_write_f32(w, "/out/pooled_mean", 3, dpool, r->pooled_mean, 0), SP_OK);
    assert_int_equal(sp_store_write_f64(w, "/adamw/losses", 1, dst, r->step_loss, 0), SP_OK);
    assert_int_equal(sp_store_write_f64(w, "/adamw/grad_norms", 1, dst, r->step_norm, 0), SP_OK);
    /* the dropout masks of the dropout-on pass */
    size_t n_att = (size_t)L * B * NH * T * T, n_res = (size_t)L * B * T * C;
    uint8_t *ma = malloc(n_att), *mr = malloc(n_res), *mm = malloc(n_res);
    sp_encoder_dropout_masks(m, B, T, DROP_KEY, ma, mr, mm);
    hsize_t datt[4] = {L * B, NH, T, T} /* rank <= 4 in the store: [L*B, NH, T, T] */, dres[4] = {L, B, T, C};
    assert_int_equal(sp_store_write_u8(w, "/dropout/attn", 4, datt, ma, 0), SP_OK);
    assert_int_equal(sp_store_write_u8(w, "/dropout/attn_res", 4, dres, mr, 0), SP_OK);
    assert_int_equal(sp_store_write_u8(w, "/dropout/mlp_res", 4, dres, mm, 0), SP_OK);
    free(ma);
    free(mr);
    free(mm);
    assert_int_equal(sp_store_commit(w), SP_OK);
    sp_encoder_free(m);
}

static void test_encoder_runs_and_dumps(void **state)
{
    (void)state;
    run_result r1, r2;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    run_all(&r1);
    assert_true(isfinite(r1.cls_loss) && isfinite(r1.mlm_loss));
    /* untrained: losses near log K and log V (weights are small) */
    assert_true(fabs(r1.cls_loss - log(K)) < 0.5 && fabs(r1.mlm_loss - log(V)) < 0.5);
    assert_true(r1.n_mlm > 5);
    assert_true(r1.drop_cls_loss != r1.cls_loss && r1.drop_mlm_loss != r1.mlm_loss);
    assert_true(r1.step_loss[N_STEPS - 1] < r1.step_loss[0] - 0.5);
    /* repeatable to the bit */
    run_all(&r2);
    assert_memory_equal(r1.drop_grads, r2.drop_grads, sizeof(float) * 1000);
    assert_memory_equal(r1.step_loss, r2.step_loss, sizeof r1.step_loss);
    const char *dump = getenv("SPLINTER_ENCODER_DUMP");
    if (dump && *dump) write_dump(dump, &r1);
    free_result(&r1);
    free_result(&r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_encoder_runs_and_dumps)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
