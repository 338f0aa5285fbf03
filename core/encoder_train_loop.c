/* encoder_train_loop.c: one training phase of the encoder: batches from the order stream, BERT masking from
 * the mask stream, dropout keys from the dropout stream, AdamW with warmup + linear decay and clipping,
 * periodic validation, early stopping that keeps the best weights, and divergence detection. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>

#include "adamw.h"
#include "encoder_kernels.h"
#include "encoder_train_internal.h"
#include "mlm_masking.h"

void enc_curves_free(enc_curves *c)
{
    if (!c) return;
    free(c->train_cls);
    free(c->train_mlm);
    free(c->val_loss);
    free(c->val_acc);
    free(c->val_step);
    memset(c, 0, sizeof *c);
}

int enc_max_masked(int B, int T)
{
    /* 15% is expected; a quarter of the batch (at least 64) is beyond any plausible draw for real batches,
     * and the rare excess of tiny batches is dropped deterministically (enc_cap_masks). */
    long bt = (long)B * T, cap = bt / 4 > 64 ? bt / 4 : 64;
    return (int)(cap < bt ? cap : bt);
}

/* Keeps the first `cap` MLM targets of a batch, undoing the corruption of the rest. Returns the kept count. */
static int enc_cap_masks(int32_t *inputs, int32_t *targets, int n, int cap)
{
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (targets[i] < 0) continue;
        if (kept < cap) {
            kept++;
        } else {
            inputs[i] = targets[i];
            targets[i] = -1;
        }
    }
    return kept;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A permutation of 0..n-1 drawn from `seed`. */
static sp_status enc_permutation(size_t *perm, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) perm[i] = i;
    gsl_rng *r = sp_rng_alloc(seed);
    if (!r) return sp_fail(SP_ERR_NOMEM, "encoder training: out of memory for a generator");
    if (n > 1) gsl_ran_shuffle(r, perm, n, sizeof(size_t));
    gsl_rng_free(r);
    return SP_OK;
}

/* Work state of a phase. */
typedef struct {
    const enc_phase *ph;
    const sp_encoder_train_spec *spec;
    sp_encoder *m;
    sp_encoder_acts *acts;
    int cap_B, T, max_masked;
    int32_t *tok, *lab, *tgt; /* [cap_B * T], [cap_B], [cap_B * T] */
    /* head-only phases: frozen features and head buffers */
    float *feat_train, *feat_val; /* [n_cls, C], [n_val, C] */
    float *xb, *logits, *probs, *losses, *dlogits, *ln_mean, *ln_rstd, *pooled;
} enc_work;

static void enc_copy_row(enc_work *w, int slot, size_t row)
{
    memcpy(w->tok + (size_t)slot * w->T, w->ph->tokens + row * (size_t)w->T, (size_t)w->T * sizeof(int32_t));
}

/* Validation loss (and accuracy, classification only) of the full model, without dropout. */
static sp_status enc_eval_full(enc_work *w, double *loss, double *acc)
{
    const enc_phase *ph = w->ph;
    int T = w->T, K = w->m->cfg.n_classes, V = w->m->cfg.vocab_size;
    double sum = 0.0, n_items = 0.0, correct = 0.0;
    for (size_t start = 0, chunk = 0; start < ph->n_val; start += (size_t)w->cap_B, chunk++) {
        int b = (int)((ph->n_val - start) < (size_t)w->cap_B ? ph->n_val - start : (size_t)w->cap_B);
        sp_encoder_batch bt = {.tokens = w->tok, .B = b, .T = T, .train = 0};
        if (ph->val_mlm) {
            for (int i = 0; i < b; i++) enc_copy_row(w, i, ph->val_rows[start + i]);
            /* a fixed key per chunk, so every evaluation scores the same corruption */
            memcpy(w->tgt, w->tok, (size_t)b * T * sizeof(int32_t));
            sp_mlm_mask(w->tok, w->tgt, w->tgt, b, T, V, w->spec->mask_prob,
                        sp_seed_for(ph->seeds.mask, "val", (uint64_t)chunk));
            enc_cap_masks(w->tok, w->tgt, b * T, w->max_masked);
            bt.mlm_targets = w->tgt;
        } else {
            for (int i = 0; i < b; i++) {
                enc_copy_row(w, i, ph->val_rows[start + i]);
                w->lab[i] = ph->labels[ph->val_rows[start + i]];
            }
            bt.labels = w->lab;
        }
        sp_encoder_losses ls;
        sp_status st = sp_encoder_forward(w->m, w->acts, &bt, &ls);
        if (st != SP_OK) return st;
        if (ph->val_mlm) {
            sum += ls.mlm_loss * ls.n_mlm;
            n_items += ls.n_mlm;
        } else {
            sum += ls.cls_loss * ls.n_cls;
            n_items += ls.n_cls;
            const float *pr = sp_encoder_cls_probs(w->acts);
            for (int i = 0; i < b; i++) {
                int best = 0;
                for (int k = 1; k < K; k++)
                    if (pr[(size_t)i * K + k] > pr[(size_t)i * K + best]) best = k;
                correct += best == w->lab[i];
            }
        }
    }
    *loss = n_items > 0 ? sum / n_items : 0.0;
    *acc = ph->val_mlm ? NAN : correct / (double)ph->n_val;
    return SP_OK;
}

/* Final-LayerNorm [CLS] vectors of rows[0..n) into out [n, C]: what the classification head reads. */
static sp_status enc_head_features(enc_work *w, const size_t *rows, size_t n, float *out)
{
    const sp_encoder_config *c = &w->m->cfg;
    int T = w->T, C = c->d_model, L = c->n_layers;
    for (size_t start = 0; start < n; start += (size_t)w->cap_B) {
        int b = (int)((n - start) < (size_t)w->cap_B ? n - start : (size_t)w->cap_B);
        for (int i = 0; i < b; i++) enc_copy_row(w, i, rows[start + i]);
        sp_status st = sp_encoder_pooled(w->m, w->acts, w->tok, b, T, w->pooled, NULL);
        if (st != SP_OK) return st;
        for (int i = 0; i < b; i++)
            memcpy(w->xb + (size_t)i * C, w->pooled + ((size_t)i * (L + 1) + L) * C, (size_t)C * sizeof(float));
        sp_k_layernorm_forward(out + start * C, w->ln_mean, w->ln_rstd, w->xb, w->m->params.lnfw, w->m->params.lnfb,
                               b, C);
    }
    return SP_OK;
}

/* Head forward on feature rows x [b, C] with labels lab: mean loss; probs in w->probs. */
static double enc_head_forward(enc_work *w, const float *x, const int32_t *lab, int b)
{
    int C = w->m->cfg.d_model, K = w->m->cfg.n_classes;
    sp_k_matmul_forward(w->logits, x, w->m->params.clsw, w->m->params.clsb, b, C, K);
    sp_k_softmax_xent_forward(w->probs, w->losses, w->logits, lab, b, K);
    double s = 0.0;
    for (int i = 0; i < b; i++) s += w->losses[i];
    return s / b;
}

static sp_status enc_eval_head(enc_work *w, double *loss, double *acc)
{
    const enc_phase *ph = w->ph;
    int C = w->m->cfg.d_model, K = w->m->cfg.n_classes;
    double sum = 0.0, correct = 0.0;
    for (size_t start = 0; start < ph->n_val; start += (size_t)w->cap_B) {
        int b = (int)((ph->n_val - start) < (size_t)w->cap_B ? ph->n_val - start : (size_t)w->cap_B);
        for (int i = 0; i < b; i++) w->lab[i] = ph->labels[ph->val_rows[start + i]];
        sum += enc_head_forward(w, w->feat_val + start * C, w->lab, b) * b;
        for (int i = 0; i < b; i++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (w->probs[(size_t)i * K + k] > w->probs[(size_t)i * K + best]) best = k;
            correct += best == w->lab[i];
        }
    }
    *loss = sum / (double)ph->n_val;
    *acc = correct / (double)ph->n_val;
    return SP_OK;
}

static void enc_work_free(enc_work *w)
{
    sp_encoder_acts_free(w->acts);
    free(w->tok);
    free(w->lab);
    free(w->tgt);
    free(w->feat_train);
    free(w->feat_val);
    free(w->xb);
    free(w->logits);
    free(w->probs);
    free(w->losses);
    free(w->dlogits);
    free(w->ln_mean);
    free(w->ln_rstd);
    free(w->pooled);
}

static sp_status enc_work_alloc(enc_work *w, sp_encoder *m, const enc_phase *ph, const sp_encoder_train_spec *spec)
{
    memset(w, 0, sizeof *w);
    w->ph = ph;
    w->spec = spec;
    w->m = m;
    w->T = ph->T;
    int two_pools = ph->n_cls > 0 && ph->n_mlm > 0;
    w->cap_B = two_pools ? 2 * spec->batch : spec->batch;
    w->max_masked = enc_max_masked(w->cap_B, w->T);
    sp_status st = sp_encoder_acts_alloc(m, w->cap_B, w->T, w->max_masked, &w->acts);
    if (st != SP_OK) return st;
    size_t bt = (size_t)w->cap_B * w->T, C = (size_t)m->cfg.d_model, K = (size_t)m->cfg.n_classes;
    w->tok = malloc(bt * sizeof(int32_t));
    w->lab = malloc((size_t)w->cap_B * sizeof(int32_t));
    w->tgt = malloc(bt * sizeof(int32_t));
    int ok = w->tok && w->lab && w->tgt;
    if (ph->head_only) {
        w->feat_train = malloc(ph->n_cls * C * sizeof(float));
        w->feat_val = malloc(ph->n_val * C * sizeof(float));
        w->xb = malloc((size_t)w->cap_B * C * sizeof(float));
        w->logits = malloc((size_t)w->cap_B * K * sizeof(float));
        w->probs = malloc((size_t)w->cap_B * K * sizeof(float));
        w->losses = malloc((size_t)w->cap_B * sizeof(float));
        w->dlogits = malloc((size_t)w->cap_B * K * sizeof(float));
        w->ln_mean = malloc((size_t)w->cap_B * sizeof(float));
        w->ln_rstd = malloc((size_t)w->cap_B * sizeof(float));
        w->pooled = malloc((size_t)w->cap_B * (m->cfg.n_layers + 1) * C * sizeof(float));
        ok = ok && w->feat_train && w->feat_val && w->xb && w->logits && w->probs && w->losses && w->dlogits &&
             w->ln_mean && w->ln_rstd && w->pooled;
    }
    if (!ok) return sp_fail(SP_ERR_NOMEM, "encoder training: out of memory for the batch buffers");
    return SP_OK;
}

/* One step of the full model on a batch: cls rows (labelled, clean) then MLM rows (corrupted, unlabelled). */
static sp_status enc_full_step(enc_work *w, const size_t *cls_rows, int n_cls, const size_t *mlm_rows, int n_mlm,
                               long step, sp_encoder_losses *ls)
{
    const enc_phase *ph = w->ph;
    int T = w->T, V = w->m->cfg.vocab_size;
    for (int i = 0; i < n_cls; i++) {
        enc_copy_row(w, i, cls_rows[i]);
        w->lab[i] = ph->labels[cls_rows[i]];
    }
    for (int i = 0; i < n_cls * T; i++) w->tgt[i] = -1;
    for (int i = 0; i < n_mlm; i++) w->lab[n_cls + i] = -1;
    if (n_mlm > 0) {
        /* the clean rows go to the target buffer first, then are corrupted into the token buffer */
        int32_t *clean = w->tgt + (size_t)n_cls * T, *in = w->tok + (size_t)n_cls * T;
        for (int i = 0; i < n_mlm; i++)
            memcpy(in + (size_t)i * T, ph->tokens + mlm_rows[i] * (size_t)T, (size_t)T * sizeof(int32_t));
        memcpy(clean, in, (size_t)n_mlm * T * sizeof(int32_t));
        /* sp_mlm_mask reads tokens[i] before writing inputs[i] and targets[i] of the same index */
        sp_mlm_mask(in, clean, clean, n_mlm, T, V, w->spec->mask_prob, sp_seed_for(ph->seeds.mask, "step", (uint64_t)step));
        enc_cap_masks(in, clean, n_mlm * T, w->max_masked);
    }
    sp_encoder_batch bt = {.tokens = w->tok, .labels = w->lab, .mlm_targets = w->tgt, .B = n_cls + n_mlm, .T = T,
                           .train = 1, .dropout_key = sp_seed_for(ph->seeds.dropout, "step", (uint64_t)step)};
    sp_encoder_zero_grad(w->m);
    sp_status st = sp_encoder_forward(w->m, w->acts, &bt, ls);
    if (st != SP_OK) return st;
    sp_encoder_backward(w->m, w->acts, n_cls > 0 ? ph->w_cls : 0.0f, n_mlm > 0 ? ph->w_mlm : 0.0f);
    return SP_OK;
}

/* One step of the classification head on frozen features. */
static double enc_head_step(enc_work *w, const size_t *idx, int b)
{
    const enc_phase *ph = w->ph;
    int C = w->m->cfg.d_model, K = w->m->cfg.n_classes;
    for (int i = 0; i < b; i++) {
        memcpy(w->xb + (size_t)i * C, w->feat_train + idx[i] * C, (size_t)C * sizeof(float));
        w->lab[i] = ph->labels[ph->cls_rows[idx[i]]];
    }
    double loss = enc_head_forward(w, w->xb, w->lab, b);
    sp_encoder_zero_grad(w->m);
    memset(w->dlogits, 0, (size_t)b * K * sizeof(float));
    sp_k_softmax_xent_backward(w->dlogits, w->probs, w->lab, b, K, 1.0f / (float)b);
    sp_k_matmul_backward(NULL, w->m->grads.clsw, w->m->grads.clsb, w->dlogits, w->xb, w->m->params.clsw, b, C, K);
    return loss;
}

sp_status enc_train_phase(sp_encoder *m, const enc_phase *ph, const sp_encoder_train_spec *spec, enc_curves *cv)
{
    memset(cv, 0, sizeof *cv);
    enc_work w;
    sp_adamw *opt = NULL;
    float *best = NULL;
    size_t *perm = NULL, *mlm_perm = NULL, *cls_batch = NULL, *mlm_batch = NULL;
    double t0 = now_seconds();
    sp_status st = enc_work_alloc(&w, m, ph, spec);
    if (st != SP_OK) goto done;

    int B = spec->batch;
    size_t n_primary = ph->n_cls > 0 ? ph->n_cls : ph->n_mlm;
    long steps_per_epoch = (long)((n_primary + (size_t)B - 1) / (size_t)B);
    long total = steps_per_epoch * ph->epochs;
    if (spec->max_steps > 0 && total > spec->max_steps) total = spec->max_steps;
    long eval_every = steps_per_epoch / spec->evals_per_epoch;
    if (eval_every < 1) eval_every = 1;
    int max_evals = (int)(total / eval_every) + 2;

    /* parameters this phase trains: the whole block, or the contiguous classification head */
    int i_clsw = 16, i_clsb = 17;
    size_t off = 0, n_train = m->n_params;
    sp_adamw_segment segs[SP_ENCODER_N_TENSORS];
    int n_segs;
    if (ph->head_only) {
        off = m->tensor_offset[i_clsw];
        n_train = m->tensor_size[i_clsw] + m->tensor_size[i_clsb];
        segs[0] = (sp_adamw_segment){0, m->tensor_size[i_clsw], 1};
        segs[1] = (sp_adamw_segment){m->tensor_size[i_clsw], m->tensor_size[i_clsb], 0};
        n_segs = 2;
    } else {
        n_segs = sp_encoder_decay_segments(m, segs);
    }
    sp_adamw_config ac = sp_adamw_defaults();
    ac.lr = ph->lr;
    ac.weight_decay = spec->weight_decay;
    ac.warmup_steps = (int)(spec->warmup_frac * (float)total);
    ac.total_steps = (int)total;
    ac.schedule = SP_LR_LINEAR;
    ac.min_lr_ratio = spec->min_lr_ratio;
    ac.clip_norm = spec->clip_norm;
    if ((st = sp_adamw_config_check(&ac)) != SP_OK) goto done;
    if ((st = sp_adamw_alloc(&ac, n_train, segs, n_segs, &opt)) != SP_OK) goto done;

    best = malloc(m->n_params * sizeof(float));
    perm = malloc(n_primary * sizeof(size_t));
    cls_batch = malloc((size_t)B * sizeof(size_t));
    mlm_batch = malloc((size_t)B * sizeof(size_t));
    if (ph->n_cls > 0 && ph->n_mlm > 0 && !ph->mlm_same_rows) mlm_perm = malloc(ph->n_mlm * sizeof(size_t));
    cv->train_cls = calloc((size_t)total, sizeof(float));
    cv->train_mlm = calloc((size_t)total, sizeof(float));
    cv->val_loss = calloc((size_t)max_evals, sizeof(double));
    cv->val_acc = calloc((size_t)max_evals, sizeof(double));
    cv->val_step = calloc((size_t)max_evals, sizeof(int64_t));
    if (!best || !perm || !cls_batch || !mlm_batch || (ph->n_cls > 0 && ph->n_mlm > 0 && !ph->mlm_same_rows && !mlm_perm) ||
        !cv->train_cls || !cv->train_mlm || !cv->val_loss || !cv->val_acc || !cv->val_step) {
        st = sp_fail(SP_ERR_NOMEM, "encoder training: out of memory for %ld steps", total);
        goto done;
    }
    if (ph->head_only) {
        if ((st = enc_head_features(&w, ph->cls_rows, ph->n_cls, w.feat_train)) != SP_OK) goto done;
        if ((st = enc_head_features(&w, ph->val_rows, ph->n_val, w.feat_val)) != SP_OK) goto done;
    }
    memcpy(best, m->params_memory, m->n_params * sizeof(float));
    double best_loss = INFINITY, last_val = NAN;
    int since_best = 0;
    size_t mlm_pos = 0, mlm_pass = 0;
    long step = 0;
    for (int epoch = 0; epoch < ph->epochs && step < total && !cv->stopped_early; epoch++) {
        if ((st = enc_permutation(perm, n_primary, sp_seed_for(ph->seeds.order, "epoch", (uint64_t)epoch))) != SP_OK)
            goto done;
        for (long s = 0; s < steps_per_epoch && step < total; s++, step++) {
            size_t start = (size_t)s * B;
            int b = (int)((n_primary - start) < (size_t)B ? n_primary - start : (size_t)B);
            sp_encoder_losses ls = {0};
            double obj;
            if (ph->head_only) {
                ls.cls_loss = enc_head_step(&w, perm + start, b);
                obj = ls.cls_loss;
            } else {
                const size_t *pool = ph->n_cls > 0 ? ph->cls_rows : ph->mlm_rows;
                for (int i = 0; i < b; i++) cls_batch[i] = pool[perm[start + i]];
                int n_c = ph->n_cls > 0 ? b : 0, n_m = 0;
                const size_t *mrows = cls_batch;
                if (ph->n_mlm > 0) {
                    n_m = b;
                    if (ph->n_cls > 0 && !ph->mlm_same_rows) {
                        /* the MLM pool is cycled with its own shuffles, one per pass */
                        for (int i = 0; i < b; i++) {
                            if (mlm_pos == 0 &&
                                (st = enc_permutation(mlm_perm, ph->n_mlm,
                                                      sp_seed_for(ph->seeds.order, "mlm-pass", mlm_pass))) != SP_OK)
                                goto done;
                            mlm_batch[i] = ph->mlm_rows[mlm_perm[mlm_pos]];
                            if (++mlm_pos == ph->n_mlm) {
                                mlm_pos = 0;
                                mlm_pass++;
                            }
                        }
                        mrows = mlm_batch;
                    }
                }
                if ((st = enc_full_step(&w, cls_batch, n_c, mrows, n_m, step, &ls)) != SP_OK) goto done;
                obj = (n_c ? ph->w_cls * ls.cls_loss : 0.0) + (n_m ? ph->w_mlm * ls.mlm_loss : 0.0);
            }
            cv->train_cls[step] = (float)ls.cls_loss;
            cv->train_mlm[step] = (float)ls.mlm_loss;
            cv->n_steps = step + 1;
            double gnorm = 0.0;
            if (!isfinite(obj) ||
                sp_adamw_step(opt, m->params_memory + off, m->grads_memory + off, &gnorm) != SP_OK) {
                st = sp_fail(SP_ERR_NUMERIC,
                             "%s: %s diverged at step %ld of %ld (loss %g, gradient norm %g); lower the learning "
                             "rate (now %g) or raise the warmup",
                             ph->name, ph->phase, step + 1, total, obj, gnorm, (double)ph->lr);
                goto done;
            }
            int eval_now = (step + 1) % eval_every == 0 || step + 1 == total;
            if (eval_now) {
                double vl, va;
                st = ph->head_only ? enc_eval_head(&w, &vl, &va) : enc_eval_full(&w, &vl, &va);
                if (st != SP_OK) goto done;
                if (!isfinite(vl)) {
                    st = sp_fail(SP_ERR_NUMERIC, "%s: %s diverged: validation loss %g after step %ld; lower the "
                                                 "learning rate (now %g)", ph->name, ph->phase, vl, step + 1,
                                 (double)ph->lr);
                    goto done;
                }
                cv->val_loss[cv->n_evals] = vl;
                cv->val_acc[cv->n_evals] = va;
                cv->val_step[cv->n_evals] = step + 1;
                last_val = vl;
                if (vl < best_loss) {
                    best_loss = vl;
                    cv->best_eval = cv->n_evals;
                    since_best = 0;
                    memcpy(best, m->params_memory, m->n_params * sizeof(float));
                } else if (spec->patience > 0 && ++since_best >= spec->patience) {
                    cv->stopped_early = 1;
                }
                cv->n_evals++;
            }
            if (spec->progress) {
                sp_encoder_progress pr = {ph->phase, ph->name, step + 1, total, epoch + 1, ph->epochs, obj, last_val,
                                          now_seconds() - t0};
                spec->progress(spec->progress_ctx, &pr);
            }
            if (cv->stopped_early) {
                step++;
                break;
            }
        }
    }
    memcpy(m->params_memory, best, m->n_params * sizeof(float));
    st = SP_OK;
done:
    if (st != SP_OK) enc_curves_free(cv);
    enc_work_free(&w);
    sp_adamw_free(opt);
    free(best);
    free(perm);
    free(mlm_perm);
    free(cls_batch);
    free(mlm_batch);
    return st;
}
