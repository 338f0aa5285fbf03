/* encoder_spec.c: the encoder training spec: defaults, the sweep-config mapping, validation and its JSON. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder_train_internal.h"

sp_encoder_train_spec sp_encoder_train_spec_defaults(void)
{
    sp_encoder_train_spec s;
    memset(&s, 0, sizeof s);
    s.vocab_size = 8192;
    s.d_model = 128;
    s.n_layers = 2;
    s.n_heads = 4;
    s.d_ff = 512;
    s.max_len = 128;
    s.dropout = 0.1f;
    s.batch = 32;
    s.pretrain_epochs = 2;
    s.epochs = 3;
    s.patience = 2;
    s.evals_per_epoch = 1;
    s.lr = 1e-3f;
    s.pretrain_lr = 1e-3f;
    s.probe_lr = 1e-2f;
    s.weight_decay = 0.01f;
    s.warmup_frac = 0.1f;
    s.min_lr_ratio = 0.0f;
    s.clip_norm = 1.0f;
    s.mlm_lambda = 1.0f;
    s.mask_prob = 0.15f;
    s.pool_cls = 1;
    s.pool_mean = 1;
    s.act_max_layer = -1;
    s.activations = 1;
    return s;
}

void sp_encoder_train_spec_from_cfg(sp_encoder_train_spec *s, const sp_cfg_encoder *c)
{
    if (!c) return;
    if (c->vocab_size) s->vocab_size = (int)*c->vocab_size;
    if (c->d_model) s->d_model = (int)*c->d_model;
    if (c->layers) s->n_layers = (int)*c->layers;
    if (c->heads) s->n_heads = (int)*c->heads;
    if (c->ffn) s->d_ff = (int)*c->ffn;
    if (c->max_len) s->max_len = (int)*c->max_len;
    if (c->batch) s->batch = (int)*c->batch;
    if (c->pretrain_epochs) s->pretrain_epochs = (int)*c->pretrain_epochs;
    if (c->epochs) s->epochs = (int)*c->epochs;
    if (c->patience) s->patience = (int)*c->patience;
    if (c->dropout) s->dropout = (float)*c->dropout;
    if (c->lr) s->lr = (float)*c->lr;
    if (c->weight_decay) s->weight_decay = (float)*c->weight_decay;
    if (c->mlm_lambda) s->mlm_lambda = (float)*c->mlm_lambda;
    if (c->activation_poolings) {
        s->pool_cls = s->pool_mean = 0;
        for (unsigned i = 0; i < c->activation_poolings_count; i++) {
            if (strcmp(c->activation_poolings[i], "cls") == 0) s->pool_cls = 1;
            if (strcmp(c->activation_poolings[i], "mean") == 0) s->pool_mean = 1;
        }
    }
}

sp_status sp_encoder_train_spec_check(const sp_encoder_train_spec *s)
{
    struct {
        const char *name;
        long value, min, max;
    } ints[] = {{"vocab_size", s->vocab_size, SP_TOK_N_BASE + 1, 1 << 20},
                {"d_model", s->d_model, 1, 1 << 14},
                {"layers", s->n_layers, 1, 64},
                {"heads", s->n_heads, 1, 1 << 10},
                {"ffn", s->d_ff, 1, 1 << 16},
                {"max_len", s->max_len, 3, 4096},
                {"batch", s->batch, 1, 1 << 16},
                {"pretrain_epochs", s->pretrain_epochs, 1, 1 << 20},
                {"epochs", s->epochs, 1, 1 << 20},
                {"patience", s->patience, 0, 1 << 20},
                {"evals_per_epoch", s->evals_per_epoch, 1, 1 << 20}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (ints[i].value < ints[i].min || ints[i].value > ints[i].max)
            return sp_fail(SP_ERR_USAGE, "encoder: %s = %ld is outside [%ld, %ld]", ints[i].name, ints[i].value,
                           ints[i].min, ints[i].max);
    if (s->d_model % s->n_heads != 0)
        return sp_fail(SP_ERR_USAGE, "encoder: heads = %d does not divide d_model = %d; pick heads among the divisors "
                                     "of d_model", s->n_heads, s->d_model);
    if (!(s->dropout >= 0.0f && s->dropout < 1.0f))
        return sp_fail(SP_ERR_USAGE, "encoder: dropout = %g is outside [0, 1)", (double)s->dropout);
    struct {
        const char *name;
        float value;
    } rates[] = {{"lr", s->lr}, {"pretrain_lr", s->pretrain_lr}, {"probe_lr", s->probe_lr}};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (!(rates[i].value > 0.0f) || !isfinite(rates[i].value))
            return sp_fail(SP_ERR_USAGE, "encoder: %s = %g must be a positive number", rates[i].name,
                           (double)rates[i].value);
    if (!(s->weight_decay >= 0.0f) || !(s->mlm_lambda >= 0.0f) || !(s->warmup_frac >= 0.0f && s->warmup_frac <= 1.0f) ||
        !(s->min_lr_ratio >= 0.0f && s->min_lr_ratio <= 1.0f))
        return sp_fail(SP_ERR_USAGE, "encoder: weight_decay and mlm_lambda must be >= 0, warmup and min_lr_ratio in "
                                     "[0, 1]");
    if (!(s->mask_prob > 0.0f && s->mask_prob < 1.0f))
        return sp_fail(SP_ERR_USAGE, "encoder: mask_prob = %g is outside (0, 1)", (double)s->mask_prob);
    return SP_OK;
}

int sp_encoder_variant_known(const char *v)
{
    static const char *const names[] = {"finetune", "joint", "joint-nosplit", "scratch", "probe"};
    for (size_t i = 0; v && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i]) == 0) return 1;
    return 0;
}

sp_status sp_encoder_spec_json(const sp_encoder_train_spec *s, const char *variant, char **out)
{
    *out = NULL;
    json_t *o = json_object();
    if (!o) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for the spec JSON");
    int bad = 0;
    bad |= json_object_set_new(o, "family", json_string("encoder"));
    bad |= json_object_set_new(o, "variant", variant ? json_string(variant) : json_string("pretrain"));
    struct {
        const char *k;
        long v;
    } ints[] = {{"vocab_size", s->vocab_size},
                {"d_model", s->d_model},
                {"layers", s->n_layers},
                {"heads", s->n_heads},
                {"ffn", s->d_ff},
                {"max_len", s->max_len},
                {"batch", s->batch},
                {"pretrain_epochs", s->pretrain_epochs},
                {"epochs", s->epochs},
                {"patience", s->patience},
                {"evals_per_epoch", s->evals_per_epoch},
                {"max_steps", s->max_steps},
                {"activation_cls", s->pool_cls},
                {"activation_mean", s->pool_mean},
                {"activation_max_layer", s->act_max_layer},
                {"activations", s->activations}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) bad |= json_object_set_new(o, ints[i].k, json_integer(ints[i].v));
    struct {
        const char *k;
        float v;
    } reals[] = {{"dropout", s->dropout},         {"lr", s->lr},
                 {"pretrain_lr", s->pretrain_lr}, {"probe_lr", s->probe_lr},
                 {"weight_decay", s->weight_decay}, {"warmup_frac", s->warmup_frac},
                 {"min_lr_ratio", s->min_lr_ratio}, {"clip_norm", s->clip_norm},
                 {"mlm_lambda", s->mlm_lambda},   {"mask_prob", s->mask_prob}};
    /* floats go through their shortest decimal so the JSON shows 0.001, not 0.0010000000474974513 */
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.9g", (double)reals[i].v);
        for (int p = 1; p <= 9; p++) {
            char t[32];
            snprintf(t, sizeof t, "%.*g", p, (double)reals[i].v);
            if ((float)strtod(t, NULL) == reals[i].v) {
                memcpy(buf, t, sizeof t);
                break;
            }
        }
        bad |= json_object_set_new(o, reals[i].k, json_real(strtod(buf, NULL)));
    }
    bad |= json_object_set_new(o, "schedule", json_string("linear"));
    bad |= json_object_set_new(o, "optimizer", json_string("adamw"));
    char *text = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!text) return sp_fail(SP_ERR_NOMEM, "encoder: cannot build the spec JSON");
    *out = text;
    return SP_OK;
}
