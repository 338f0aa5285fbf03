/* encoder_store.c: what an encoder model or pretrained-encoder file holds (docs/encoder.md): header
 * attributes, the tokenizer, weights, curves, and per split the predictions, rows and pooled activations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder_train_internal.h"

#define ENC_TRY(expr)                                                                                         \
    do {                                                                                                      \
        sp_status st_ = (expr);                                                                               \
        if (st_ != SP_OK) return st_;                                                                         \
    } while (0)

sp_status enc_store_header(sp_store_writer *w, const sp_encoder_train_spec *spec, const char *variant,
                           const char *name, const sp_dataset *ds, const sp_tokenizer *tok, const sp_seeds *seeds,
                           const sp_encoder *m)
{
    char *json = NULL;
    ENC_TRY(sp_encoder_spec_json(spec, variant, &json));
    sp_status st = sp_store_attr_str(w, "/", "spec_json", json);
    free(json);
    if (st != SP_OK) return st;
    ENC_TRY(sp_store_attr_str(w, "/", "family", "encoder"));
    ENC_TRY(sp_store_attr_str(w, "/", "variant", variant ? variant : "pretrain"));
    ENC_TRY(sp_store_attr_str(w, "/", "name", name));
    ENC_TRY(sp_store_attr_str(w, "/", "data_hash", ds->content_hash));
    ENC_TRY(sp_store_attr_str(w, "/", "tokenizer_hash", sp_tokenizer_hash(tok)));
    sp_seeds copy = *seeds;
    for (int i = 0; i < SP_SEED_STREAM_COUNT; i++) {
        char an[64];
        snprintf(an, sizeof an, "seed_%s", sp_seed_stream_names[i]);
        ENC_TRY(sp_store_attr_u64(w, "/", an, *sp_seeds_stream(&copy, sp_seed_stream_names[i])));
    }
    const sp_encoder_config *c = &m->cfg;
    ENC_TRY(sp_store_attr_i64(w, "/", "n_classes", c->n_classes));
    struct {
        const char *name;
        int value;
    } ints[] = {{"cfg_vocab_size", c->vocab_size}, {"cfg_d_model", c->d_model}, {"cfg_n_layers", c->n_layers},
                {"cfg_n_heads", c->n_heads},       {"cfg_d_ff", c->d_ff},       {"cfg_max_len", c->max_len},
                {"cfg_pad_id", c->pad_id}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) ENC_TRY(sp_store_attr_i64(w, "/", ints[i].name, ints[i].value));
    ENC_TRY(sp_store_attr_f64(w, "/", "cfg_dropout", c->dropout));
    return sp_tokenizer_save(tok, sp_store_file(w), "/tokenizer");
}

sp_status enc_store_weights(sp_store_writer *w, const sp_encoder *m)
{
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        char path[128];
        snprintf(path, sizeof path, "/weights/%s", sp_encoder_tensor_name(i));
        hsize_t dims[3];
        for (int r = 0; r < m->tensor_rank[i]; r++) dims[r] = (hsize_t)m->tensor_dims[i][r];
        ENC_TRY(sp_store_write_f32(w, path, m->tensor_rank[i], dims, m->params_memory + m->tensor_offset[i], 0));
    }
    return SP_OK;
}

sp_status enc_store_curves(sp_store_writer *w, const enc_curves *cv, const char *val_name)
{
    hsize_t ns = (hsize_t)cv->n_steps, ne = (hsize_t)cv->n_evals;
    char path[96];
    ENC_TRY(sp_store_write_f32(w, "/curves/train_cls_loss", 1, &ns, cv->train_cls, 0));
    ENC_TRY(sp_store_write_f32(w, "/curves/train_mlm_loss", 1, &ns, cv->train_mlm, 0));
    snprintf(path, sizeof path, "/curves/%s", val_name);
    ENC_TRY(sp_store_write_f64(w, path, 1, &ne, cv->val_loss, 0));
    if (strcmp(val_name, "val_loss") == 0) ENC_TRY(sp_store_write_f64(w, "/curves/val_accuracy", 1, &ne, cv->val_acc, 0));
    ENC_TRY(sp_store_write_i64(w, "/curves/val_step", 1, &ne, cv->val_step, 0));
    ENC_TRY(sp_store_attr_i64(w, "/curves", "best_eval", cv->best_eval));
    ENC_TRY(sp_store_attr_i64(w, "/curves", "best_step", ne > 0 ? cv->val_step[cv->best_eval] : 0));
    return sp_store_attr_i64(w, "/curves", "stopped_early", cv->stopped_early);
}

sp_status enc_load_pretrained(sp_encoder *m, const char *path, const sp_dataset *ds, const sp_tokenizer *tok)
{
    hid_t f = H5I_INVALID_HID;
    ENC_TRY(sp_store_open(path, "splinter-encoder", &f));
    sp_status st = SP_OK;
    char *s = NULL;
    float *data = NULL;
    const sp_encoder_config *c = &m->cfg;
    struct {
        const char *name;
        int want;
    } ints[] = {{"cfg_vocab_size", c->vocab_size}, {"cfg_d_model", c->d_model}, {"cfg_n_layers", c->n_layers},
                {"cfg_n_heads", c->n_heads},       {"cfg_d_ff", c->d_ff},       {"cfg_max_len", c->max_len}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        if ((st = sp_store_read_attr_i64(f, "/", ints[i].name, &v)) != SP_OK) goto done;
        if (v != ints[i].want) {
            st = sp_fail(SP_ERR_USAGE, "%s: pretrained with %s = %lld but this model asks for %d; delete the file "
                                       "to pretrain it again with the current settings", path, ints[i].name + 4,
                         (long long)v, ints[i].want);
            goto done;
        }
    }
    if ((st = sp_store_read_attr_str(f, "/", "data_hash", &s)) != SP_OK) goto done;
    if (strcmp(s, ds->content_hash) != 0) {
        st = sp_fail(SP_ERR_STATE, "%s: pretrained on data set %.16s..., not this run's %.16s...; delete it", path, s,
                     ds->content_hash);
        goto done;
    }
    free(s);
    s = NULL;
    if ((st = sp_store_read_attr_str(f, "/", "tokenizer_hash", &s)) != SP_OK) goto done;
    if (strcmp(s, sp_tokenizer_hash(tok)) != 0) {
        st = sp_fail(SP_ERR_STATE, "%s: its tokenizer (hash %.16s...) is not the run's tokenizer (%.16s...); delete "
                                   "it to pretrain again", path, s, sp_tokenizer_hash(tok));
        goto done;
    }
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        const char *tn = sp_encoder_tensor_name(i);
        if (strcmp(tn, "clsw") == 0 || strcmp(tn, "clsb") == 0) continue; /* the head starts from this model's init */
        char dpath[128];
        snprintf(dpath, sizeof dpath, "/weights/%s", tn);
        int rank;
        hsize_t dims[4];
        if ((st = sp_store_read_f32(f, dpath, &rank, dims, &data)) != SP_OK) goto done;
        size_t n = 1;
        for (int r = 0; r < rank; r++) n *= (size_t)dims[r];
        if (n != m->tensor_size[i]) {
            st = sp_fail(SP_ERR_INPUT, "%s: %s has %zu values, expected %zu; delete the file", path, dpath, n,
                         m->tensor_size[i]);
            goto done;
        }
        memcpy(m->params_memory + m->tensor_offset[i], data, n * sizeof(float));
        free(data);
        data = NULL;
    }
done:
    free(s);
    free(data);
    H5Fclose(f);
    return st;
}

/* 1 if `name` is an element of the comma-separated `list` (NULL = every name). */
static int enc_in_list(const char *list, const char *name)
{
    if (!list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* A row's length (up to its last non-pad token) and its index in the split. */
typedef struct {
    int len;
    size_t index;
} enc_len_index;

static int enc_len_cmp(const void *x, const void *y)
{
    const enc_len_index *a = x, *b = y;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Writes predictions, rows and activations of one split. */
static sp_status enc_store_split(sp_store_writer *w, sp_encoder *m, sp_encoder_acts *a, const sp_dataset *ds,
                                 const int32_t *tokens, int T, int cap_B, const sp_split_view *v,
                                 const sp_encoder_train_spec *spec)
{
    const sp_encoder_config *c = &m->cfg;
    int K = c->n_classes, C = c->d_model, L = c->n_layers;
    int n_layers_out = spec->act_max_layer < 0 || spec->act_max_layer > L ? L + 1 : spec->act_max_layer + 1;
    int with_acts = spec->activations && strcmp(v->name, "train") != 0 && (spec->pool_cls || spec->pool_mean) &&
                    enc_in_list(spec->act_splits, v->name);
    size_t n = v->n;
    float *probs = malloc(n * K * sizeof(float));
    int64_t *rows = malloc(n * sizeof(int64_t));
    int32_t *tok = malloc((size_t)cap_B * T * sizeof(int32_t));
    float *pc = with_acts && spec->pool_cls ? malloc((size_t)cap_B * (L + 1) * C * sizeof(float)) : NULL;
    float *pm = with_acts && spec->pool_mean ? malloc((size_t)cap_B * (L + 1) * C * sizeof(float)) : NULL;
    float *acts = with_acts ? malloc(n * (size_t)(L + 1) * 2 * C * sizeof(float)) : NULL; /* [pool][layer][n, C] */
    enc_len_index *order = malloc((n ? n : 1) * sizeof *order);
    double *row_nll = malloc((n ? n : 1) * sizeof *row_nll);
    unsigned char *row_ok = malloc(n ? n : 1);
    sp_status st = SP_OK;
    if (!probs || !rows || !tok || !order || !row_nll || !row_ok ||
        (with_acts && (!acts || (spec->pool_cls && !pc) || (spec->pool_mean && !pm)))) {
        st = sp_fail(SP_ERR_NOMEM, "encoder: out of memory for the outputs of split %s", v->name);
        goto done;
    }
    /* Rows go through the model in order of length (ties by index), each batch cut to its longest row: padded
     * positions are never computed (padding changes no output) and results land at the rows' own places. */
    for (size_t r = 0; r < n; r++) {
        const int32_t *tr = tokens + v->rows[r] * (size_t)T;
        int len = T;
        while (len > 1 && tr[len - 1] == m->cfg.pad_id) len--;
        order[r] = (enc_len_index){len, r};
    }
    qsort(order, n, sizeof *order, enc_len_cmp);
    for (size_t start = 0; start < n; start += (size_t)cap_B) {
        int b = (int)((n - start) < (size_t)cap_B ? n - start : (size_t)cap_B);
        int Tb = order[start + (size_t)b - 1].len;
        Tb = (Tb + 15) / 16 * 16 < T ? (Tb + 15) / 16 * 16 : T; /* whole 16-lane blocks in the row loops */
        for (int i = 0; i < b; i++)
            memcpy(tok + (size_t)i * Tb, tokens + v->rows[order[start + i].index] * (size_t)T,
                   (size_t)Tb * sizeof(int32_t));
        if (with_acts) {
            st = sp_encoder_pooled(m, a, tok, b, Tb, pc, pm);
        } else {
            sp_encoder_batch bt = {.tokens = tok, .B = b, .T = Tb};
            st = sp_encoder_forward(m, a, &bt, NULL);
        }
        if (st != SP_OK) goto done;
        const float *lg = sp_encoder_cls_logits(a), *pr = sp_encoder_cls_probs(a);
        for (int i = 0; i < b; i++) {
            size_t r = order[start + i].index;
            int y = ds->label[v->rows[r]];
            /* NLL from the logits in double: exact even where a float probability underflows */
            double mx = lg[(size_t)i * K];
            for (int k = 1; k < K; k++) mx = fmax(mx, lg[(size_t)i * K + k]);
            double se = 0.0;
            int arg = 0;
            for (int k = 0; k < K; k++) {
                se += exp(lg[(size_t)i * K + k] - mx);
                if (pr[(size_t)i * K + k] > pr[(size_t)i * K + arg]) arg = k;
            }
            row_nll[r] = log(se) + mx - lg[(size_t)i * K + y];
            row_ok[r] = arg == y;
            memcpy(probs + r * K, pr + (size_t)i * K, (size_t)K * sizeof(float));
            rows[r] = (int64_t)v->rows[r];
            for (int p = 0; with_acts && p < 2; p++) {
                const float *src = p == 0 ? pc : pm;
                if (!src) continue;
                for (int l = 0; l < n_layers_out; l++)
                    memcpy(acts + (((size_t)p * (L + 1) + l) * n + r) * C, src + ((size_t)i * (L + 1) + l) * C,
                           (size_t)C * sizeof(float));
            }
        }
    }
    double nll = 0.0, correct = 0.0;
    for (size_t r = 0; r < n; r++) {
        nll += row_nll[r];
        correct += row_ok[r];
    }
    char path[160];
    hsize_t dp[2] = {n, (hsize_t)K}, dr[1] = {n}, da[2] = {n, (hsize_t)C};
    snprintf(path, sizeof path, "/predictions/%s", v->name);
    if ((st = sp_store_write_f32(w, path, 2, dp, probs, 0)) != SP_OK) goto done;
    if ((st = sp_store_attr_f64(w, path, "accuracy", correct / (double)n)) != SP_OK) goto done;
    if ((st = sp_store_attr_f64(w, path, "loss", nll / (double)n)) != SP_OK) goto done;
    snprintf(path, sizeof path, "/rows/%s", v->name);
    if ((st = sp_store_write_i64(w, path, 1, dr, rows, 0)) != SP_OK) goto done;
    for (int p = 0; with_acts && p < 2; p++) {
        if ((p == 0 && !pc) || (p == 1 && !pm)) continue;
        for (int l = 0; l < n_layers_out; l++) {
            char layer[32];
            if (l == 0)
                snprintf(layer, sizeof layer, "emb");
            else
                snprintf(layer, sizeof layer, "block%d", l - 1);
            snprintf(path, sizeof path, "/activations/%s/%s_%s", v->name, layer, p == 0 ? "cls" : "mean");
            if ((st = sp_store_write_f32(w, path, 2, da, acts + ((size_t)p * (L + 1) + l) * n * C, 1)) != SP_OK)
                goto done;
        }
    }
done:
    free(order);
    free(row_nll);
    free(row_ok);
    free(probs);
    free(rows);
    free(tok);
    free(pc);
    free(pm);
    free(acts);
    return st;
}

sp_status enc_store_outputs(sp_store_writer *w, sp_encoder *m, const sp_dataset *ds, const int32_t *tokens, int T,
                            const sp_encoder_train_spec *spec)
{
    sp_split_view *views = NULL;
    size_t nv = 0;
    ENC_TRY(sp_dataset_split_views(ds, &views, &nv));
    int cap_B = spec->batch * 2;
    sp_encoder_acts *a = NULL;
    sp_status st = sp_encoder_acts_alloc(m, cap_B, T, 0, &a);
    for (size_t i = 0; st == SP_OK && i < nv; i++) st = enc_store_split(w, m, a, ds, tokens, T, cap_B, &views[i], spec);
    sp_encoder_acts_free(a);
    sp_split_views_free(views, nv);
    return st;
}
