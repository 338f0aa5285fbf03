/* encoder.c: the encoder model: parameter block layout, initialisation, workspace, and the forward and
 * backward passes composed from the kernels in encoder_kernels.h (see encoder.h for the architecture).
 */
#include "encoder.h"

#include <gsl/gsl_randist.h>
#include <stdlib.h>
#include <string.h>

#include "encoder_kernels.h"
#include "seeds.h"

static const char *const enc_tensor_names[SP_ENCODER_N_TENSORS] = {
    "wte",  "wpe",  "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w",   "ln2b",   "fcw",    "fcb",
    "fcprojw", "fcprojb", "lnfw", "lnfb", "clsw", "clsb", "mlmw", "mlmb", "mlmlnw", "mlmlnb", "mlmbias"};

/* 1 for matrices and embeddings (weight decay and N(0, 0.02^2) init), 0 for biases (init 0),
 * 2 for LayerNorm weights (init 1); neither biases nor LayerNorm parameters decay. */
static const int enc_tensor_kind[SP_ENCODER_N_TENSORS] = {1, 1, 2, 0, 1, 0, 1, 0, 2, 0, 1, 0,
                                                          1, 0, 2, 0, 1, 0, 1, 0, 2, 0, 0};

const char *sp_encoder_tensor_name(int i) { return (i >= 0 && i < SP_ENCODER_N_TENSORS) ? enc_tensor_names[i] : NULL; }

int sp_encoder_tensor_decays(int i) { return (i >= 0 && i < SP_ENCODER_N_TENSORS) && enc_tensor_kind[i] == 1; }

struct sp_encoder_acts {
    int cap_B, cap_T, cap_M; /* capacity */
    int B, T, M;             /* last forward */
    float p;                 /* dropout in effect for the last forward (0 in eval) */
    uint64_t key;
    int n_cls;
    float *memory;
    uint8_t *valid;   /* [B, T] key is not padding */
    int32_t *tokens;  /* [B, T] copy of the batch */
    int32_t *labels;  /* [B] */
    int32_t *mlm_pos; /* [M] flat b*T + t of each masked position */
    int32_t *mlm_tgt; /* [M] */
    float *encoded;   /* [B, T, C] */
    float *ln1, *ln1_mean, *ln1_rstd; /* [L, B, T, C], [L, B, T] x2 */
    float *qkv;                       /* [L, B, T, 3C] */
    float *att;                       /* [L, B, NH, T, T] */
    float *atty;                      /* [L, B, T, C] */
    float *res2;                      /* [L, B, T, C] */
    float *ln2, *ln2_mean, *ln2_rstd; /* [L, B, T, C], [L, B, T] x2 */
    float *fch, *fch_gelu;            /* [L, B, T, F] x2 */
    float *res3;                      /* [L, B, T, C] */
    float *lnf, *lnf_mean, *lnf_rstd; /* [B, T, C], [B, T] x2 */
    float *cls_logits, *cls_probs, *cls_losses;        /* [B, K] x2, [B] */
    float *mlm_in, *mlm_h, *mlm_g, *mlm_ln;            /* [M, C] x4 */
    float *mlm_mean, *mlm_rstd, *mlm_losses;           /* [M] x3 */
    float *mlm_logits, *mlm_probs;                     /* [M, V] x2 */
    /* scratch: branch outputs in the forward, gradients in the backward */
    float *branch;            /* [B, T, C] */
    float *attn_scratch;      /* [B, NH, T, T] */
    float *attn_scratch2;     /* [B, NH, T, T] */
    float *dres, *dln, *datty; /* [B, T, C] x3 */
    float *dqkv;              /* [B, T, 3C] */
    float *dff, *dfc;         /* [B, T, F] x2: d fch_gelu, d fch */
    float *dcls;              /* [B, K] */
    float *dmlm_a, *dmlm_b;   /* [M, C] x2 */
    /* Rows of the last layer. A loss forward computes the last block only at the positions that feed a head
     * (position 0 of every row, the masked positions): earlier layers need keys and values everywhere, the
     * last one only these queries. Its per-layer slots of atty, res2, ln2, fch, res3 (and lnf) then hold
     * n_sel rows, and att an n_b x T block per (row, head). */
    int pruned;               /* 1: sel lists the rows; 0: every position */
    int n_sel;
    int32_t *sel;             /* [n_sel] flat b*T + t, ascending */
    int32_t *sel_pos;         /* [n_sel] t */
    int32_t *sel_start;       /* [B + 1] first selected row of each batch row (its position 0) */
    int32_t *mlm_sel;         /* [M] last-layer row of each masked position */
    float *qsel, *dqsel;      /* [B, T, C] x2: queries of the selected rows and their gradient */
    float *ln1sel;            /* [B, T, C] the last layer's ln1 output at the selected rows */
    float *dres_sel;          /* [B, T, C] */
    float *cls_in, *dcls_in;  /* [B, C] x2: final-LN vectors at position 0 */
};

sp_status sp_encoder_config_check(const sp_encoder_config *c)
{
    if (c->vocab_size <= 0) return sp_fail(SP_ERR_USAGE, "encoder: vocab_size must be positive (got %d)", c->vocab_size);
    if (c->d_model <= 0) return sp_fail(SP_ERR_USAGE, "encoder: d_model must be positive (got %d)", c->d_model);
    if (c->n_layers <= 0) return sp_fail(SP_ERR_USAGE, "encoder: n_layers must be positive (got %d)", c->n_layers);
    if (c->n_heads <= 0 || c->d_model % c->n_heads != 0)
        return sp_fail(SP_ERR_USAGE, "encoder: n_heads (%d) must be positive and divide d_model (%d)", c->n_heads,
                       c->d_model);
    if (c->d_ff <= 0) return sp_fail(SP_ERR_USAGE, "encoder: d_ff must be positive (got %d)", c->d_ff);
    if (c->max_len <= 0) return sp_fail(SP_ERR_USAGE, "encoder: max_len must be positive (got %d)", c->max_len);
    if (c->n_classes <= 0) return sp_fail(SP_ERR_USAGE, "encoder: n_classes must be positive (got %d)", c->n_classes);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return sp_fail(SP_ERR_USAGE, "encoder: dropout must be in [0, 1) (got %g)", (double)c->dropout);
    if (c->pad_id < 0 || c->pad_id >= c->vocab_size)
        return sp_fail(SP_ERR_USAGE, "encoder: pad_id %d is outside the vocabulary [0, %d)", c->pad_id, c->vocab_size);
    return SP_OK;
}

/* Points every field of `p` into `block` following the layout in m->tensor_offset. */
static void enc_point(sp_encoder_params *p, float *block, const sp_encoder *m)
{
    float **f[SP_ENCODER_N_TENSORS] = {&p->wte,     &p->wpe,     &p->ln1w,    &p->ln1b,  &p->qkvw,   &p->qkvb,
                                       &p->attprojw, &p->attprojb, &p->ln2w,   &p->ln2b,  &p->fcw,    &p->fcb,
                                       &p->fcprojw, &p->fcprojb, &p->lnfw,    &p->lnfb,  &p->clsw,   &p->clsb,
                                       &p->mlmw,    &p->mlmb,    &p->mlmlnw,  &p->mlmlnb, &p->mlmbias};
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) *f[i] = block + m->tensor_offset[i];
}

sp_status sp_encoder_alloc(const sp_encoder_config *cfg, sp_encoder **out)
{
    *out = NULL;
    sp_status st = sp_encoder_config_check(cfg);
    if (st != SP_OK) return st;
    sp_encoder *m = calloc(1, sizeof *m);
    if (!m) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory");
    m->cfg = *cfg;
    int V = cfg->vocab_size, C = cfg->d_model, L = cfg->n_layers, F = cfg->d_ff, T = cfg->max_len,
        K = cfg->n_classes;
    const int dims[SP_ENCODER_N_TENSORS][3] = {
        {V, C, 0},     {T, C, 0},     {L, C, 0}, {L, C, 0}, {L, 3 * C, C}, {L, 3 * C, 0}, {L, C, C}, {L, C, 0},
        {L, C, 0},     {L, C, 0},     {L, F, C}, {L, F, 0}, {L, C, F},     {L, C, 0},     {C, 0, 0}, {C, 0, 0},
        {K, C, 0},     {K, 0, 0},     {C, C, 0}, {C, 0, 0}, {C, 0, 0},     {C, 0, 0},     {V, 0, 0}};
    size_t off = 0;
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        size_t n = 1;
        int r = 0;
        for (; r < 3 && dims[i][r] > 0; r++) {
            n *= (size_t)dims[i][r];
            m->tensor_dims[i][r] = dims[i][r];
        }
        m->tensor_rank[i] = r;
        m->tensor_size[i] = n;
        m->tensor_offset[i] = off;
        off += n;
    }
    m->n_params = off;
    m->params_memory = calloc(off, sizeof(float));
    m->grads_memory = calloc(off, sizeof(float));
    if (!m->params_memory || !m->grads_memory) {
        sp_encoder_free(m);
        return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for %zu parameters", off);
    }
    enc_point(&m->params, m->params_memory, m);
    enc_point(&m->grads, m->grads_memory, m);
    *out = m;
    return SP_OK;
}

void sp_encoder_free(sp_encoder *m)
{
    if (!m) return;
    free(m->params_memory);
    free(m->grads_memory);
    free(m);
}

sp_status sp_encoder_init(sp_encoder *m, uint64_t init_seed)
{
    gsl_rng *r = sp_rng_alloc(init_seed);
    if (!r) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for the init generator");
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        float *t = m->params_memory + m->tensor_offset[i];
        for (size_t j = 0; j < m->tensor_size[i]; j++)
            t[j] = enc_tensor_kind[i] == 1 ? (float)gsl_ran_gaussian(r, 0.02) : enc_tensor_kind[i] == 2 ? 1.0f : 0.0f;
    }
    gsl_rng_free(r);
    return SP_OK;
}

int sp_encoder_decay_segments(const sp_encoder *m, sp_adamw_segment *segs)
{
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++)
        segs[i] = (sp_adamw_segment){m->tensor_offset[i], m->tensor_size[i], sp_encoder_tensor_decays(i)};
    return SP_ENCODER_N_TENSORS;
}

void sp_encoder_zero_grad(sp_encoder *m)
{
    size_t n = m->n_params, chunk = 65536, n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for if (n_chunks > 1)
    for (size_t k = 0; k < n_chunks; k++) {
        size_t lo = k * chunk, len = n - lo < chunk ? n - lo : chunk;
        memset(m->grads_memory + lo, 0, len * sizeof(float));
    }
}

sp_status sp_encoder_acts_alloc(const sp_encoder *m, int B, int T, int max_masked, sp_encoder_acts **out)
{
    *out = NULL;
    const sp_encoder_config *c = &m->cfg;
    if (B <= 0 || T <= 0 || T > c->max_len || max_masked < 0)
        return sp_fail(SP_ERR_USAGE, "encoder: workspace for B=%d T=%d masked=%d is invalid (need B>0, 0<T<=%d)", B,
                       T, max_masked, c->max_len);
    sp_encoder_acts *a = calloc(1, sizeof *a);
    if (!a) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for the workspace");
    a->cap_B = B;
    a->cap_T = T;
    a->cap_M = max_masked;
    size_t BT = (size_t)B * T, C = (size_t)c->d_model, L = (size_t)c->n_layers, NH = (size_t)c->n_heads,
           F = (size_t)c->d_ff, V = (size_t)c->vocab_size, K = (size_t)c->n_classes, M = (size_t)max_masked;
    /* One float block; sizes in the order of the pointers assigned below. */
    size_t sizes[] = {BT * C,      L * BT * C, L * BT, L * BT, L * BT * 3 * C, L * B * NH * T * T, L * BT * C,
                      L * BT * C,  L * BT * C, L * BT, L * BT, L * BT * F,     L * BT * F,         L * BT * C,
                      BT * C,      BT,         BT,     B * K,  B * K,          (size_t)B,          M * C,
                      M * C,       M * C,      M * C,  M,      M,              M,                  M * V,
                      M * V,       BT * C,     B * NH * T * T, B * NH * T * T,         BT * C,             BT * C,
                      BT * C,      BT * 3 * C, BT * F, BT * F, B * K,  M * C,          M * C,
                      BT * C,      BT * C,     BT * C, B * C,  B * C,          BT * C};
    float **ptrs[] = {&a->encoded,    &a->ln1,      &a->ln1_mean,   &a->ln1_rstd,  &a->qkv,      &a->att,
                      &a->atty,       &a->res2,     &a->ln2,        &a->ln2_mean,  &a->ln2_rstd, &a->fch,
                      &a->fch_gelu,   &a->res3,     &a->lnf,        &a->lnf_mean,  &a->lnf_rstd, &a->cls_logits,
                      &a->cls_probs,  &a->cls_losses, &a->mlm_in,   &a->mlm_h,     &a->mlm_g,    &a->mlm_ln,
                      &a->mlm_mean,   &a->mlm_rstd, &a->mlm_losses, &a->mlm_logits, &a->mlm_probs, &a->branch,
                      &a->attn_scratch, &a->attn_scratch2, &a->dres,       &a->dln,       &a->datty,    &a->dqkv,
                      &a->dff,        &a->dfc,      &a->dcls,     &a->dmlm_a,     &a->dmlm_b,
                      &a->qsel,       &a->dqsel,    &a->dres_sel, &a->cls_in,     &a->dcls_in,    &a->ln1sel};
    _Static_assert(sizeof sizes / sizeof sizes[0] == sizeof ptrs / sizeof ptrs[0], "one size per array");
    size_t n_arrays = sizeof sizes / sizeof sizes[0], total = 0;
    for (size_t i = 0; i < n_arrays; i++) total += sizes[i];
    a->memory = malloc(total * sizeof(float));
    a->valid = malloc(BT);
    a->tokens = malloc(BT * sizeof(int32_t));
    a->labels = malloc((size_t)B * sizeof(int32_t));
    a->mlm_pos = malloc((M + 1) * sizeof(int32_t));
    a->mlm_tgt = malloc((M + 1) * sizeof(int32_t));
    a->sel = malloc(BT * sizeof(int32_t));
    a->sel_pos = malloc(BT * sizeof(int32_t));
    a->sel_start = malloc(((size_t)B + 1) * sizeof(int32_t));
    a->mlm_sel = malloc((M + 1) * sizeof(int32_t));
    if (!a->memory || !a->valid || !a->tokens || !a->labels || !a->mlm_pos || !a->mlm_tgt || !a->sel ||
        !a->sel_pos || !a->sel_start || !a->mlm_sel) {
        sp_encoder_acts_free(a);
        return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for a %zu-float workspace (B=%d T=%d)", total, B, T);
    }
    float *p = a->memory;
    for (size_t i = 0; i < n_arrays; i++) {
        *ptrs[i] = p;
        p += sizes[i];
    }
    *out = a;
    return SP_OK;
}

void sp_encoder_acts_free(sp_encoder_acts *a)
{
    if (!a) return;
    free(a->memory);
    free(a->valid);
    free(a->tokens);
    free(a->labels);
    free(a->mlm_pos);
    free(a->mlm_tgt);
    free(a->sel);
    free(a->sel_pos);
    free(a->sel_start);
    free(a->mlm_sel);
    free(a);
}

/* The dropout key of one site (layer l, site name) for the batch's step key. */
static uint64_t enc_site_key(uint64_t key, const char *site, int l) { return sp_seed_for(key, site, (uint64_t)l); }

/* Copies and validates the batch into the workspace. */
static sp_status enc_take_batch(const sp_encoder *m, sp_encoder_acts *a, const sp_encoder_batch *bt)
{
    const sp_encoder_config *c = &m->cfg;
    int B = bt->B, T = bt->T;
    if (B <= 0 || T <= 0 || B > a->cap_B || T > a->cap_T)
        return sp_fail(SP_ERR_USAGE, "encoder: batch %dx%d does not fit the %dx%d workspace", B, T, a->cap_B, a->cap_T);
    int M = 0;
    for (int i = 0; i < B * T; i++) {
        int tok = bt->tokens[i];
        if (tok < 0 || tok >= c->vocab_size)
            return sp_fail(SP_ERR_INPUT, "encoder: token %d at row %d position %d is outside [0, %d)", tok, i / T,
                           i % T, c->vocab_size);
        a->tokens[i] = tok;
        a->valid[i] = tok != c->pad_id;
        int tg = bt->mlm_targets ? bt->mlm_targets[i] : -1;
        if (tg < -1 || tg >= c->vocab_size)
            return sp_fail(SP_ERR_INPUT, "encoder: MLM target %d at row %d position %d is outside [-1, %d)", tg,
                           i / T, i % T, c->vocab_size);
        if (tg >= 0) {
            if (M >= a->cap_M)
                return sp_fail(SP_ERR_USAGE, "encoder: more than %d masked positions in a batch; allocate the "
                                             "workspace with a larger max_masked", a->cap_M);
            a->mlm_pos[M] = i;
            a->mlm_tgt[M] = tg;
            M++;
        }
    }
    int n_cls = 0;
    for (int b = 0; b < B; b++) {
        int lb = bt->labels ? bt->labels[b] : -1;
        if (lb < -1 || lb >= c->n_classes)
            return sp_fail(SP_ERR_INPUT, "encoder: label %d of row %d is outside [-1, %d)", lb, b, c->n_classes);
        a->labels[b] = lb;
        n_cls += lb >= 0;
    }
    a->B = B;
    a->T = T;
    a->M = M;
    a->n_cls = n_cls;
    a->p = bt->train ? c->dropout : 0.0f;
    a->key = bt->dropout_key;
    return SP_OK;
}

/* Chooses the rows of the last layer: all positions (full) or position 0 of every row plus the masked
 * positions, and where each head reads them. */
static void enc_select_rows(sp_encoder_acts *a, int full)
{
    int B = a->B, T = a->T, M = a->M;
    if (full) {
        a->pruned = 0;
        a->n_sel = B * T;
        for (int b = 0; b <= B; b++) a->sel_start[b] = b * T;
        for (int i = 0; i < M; i++) a->mlm_sel[i] = a->mlm_pos[i];
        return;
    }
    int n = 0, j = 0;
    for (int b = 0; b < B; b++) {
        a->sel_start[b] = n;
        a->sel[n] = b * T;
        a->sel_pos[n] = 0;
        n++;
        /* mlm_pos is ascending, so row b's masked positions come next */
        for (; j < M && a->mlm_pos[j] < (b + 1) * T; j++) {
            int t = a->mlm_pos[j] - b * T;
            if (t == 0) {
                a->mlm_sel[j] = a->sel_start[b];
                continue;
            }
            a->sel[n] = a->mlm_pos[j];
            a->sel_pos[n] = t;
            a->mlm_sel[j] = n++;
        }
    }
    a->sel_start[B] = n;
    a->n_sel = n;
    a->pruned = 1;
}

/* The forward of sp_encoder_forward; full = 1 computes the last block at every position (pooling needs it). */
static sp_status enc_forward(sp_encoder *m, sp_encoder_acts *a, const sp_encoder_batch *batch,
                             sp_encoder_losses *losses, int full)
{
    sp_status st = enc_take_batch(m, a, batch);
    if (st != SP_OK) return st;
    enc_select_rows(a, full);
    const sp_encoder_config *c = &m->cfg;
    const sp_encoder_params *w = &m->params;
    int B = a->B, T = a->T, M = a->M, C = c->d_model, NH = c->n_heads, F = c->d_ff, V = c->vocab_size,
        K = c->n_classes, BT = B * T, L = c->n_layers;
    float p = a->p;

    sp_k_embed_forward(a->encoded, a->tokens, w->wte, w->wpe, B, T, C);
    for (int l = 0; l < L; l++) {
        /* the last layer runs on the selected rows only: nq rows, row i at full position rows[i] */
        const int32_t *rows = l == L - 1 && a->pruned ? a->sel : NULL;
        int nq = rows ? a->n_sel : BT;
        const float *x = l == 0 ? a->encoded : a->res3 + (size_t)(l - 1) * BT * C;
        float *ln1 = a->ln1 + (size_t)l * BT * C, *ln1m = a->ln1_mean + (size_t)l * BT,
              *ln1r = a->ln1_rstd + (size_t)l * BT, *qkv = a->qkv + (size_t)l * BT * 3 * C,
              *att = a->att + (size_t)l * B * NH * T * T, *atty = a->atty + (size_t)l * BT * C,
              *res2 = a->res2 + (size_t)l * BT * C, *ln2 = a->ln2 + (size_t)l * BT * C,
              *ln2m = a->ln2_mean + (size_t)l * BT, *ln2r = a->ln2_rstd + (size_t)l * BT,
              *fch = a->fch + (size_t)l * BT * F, *fchg = a->fch_gelu + (size_t)l * BT * F,
              *res3 = a->res3 + (size_t)l * BT * C;
        const float *qkvw = w->qkvw + (size_t)l * 3 * C * C, *qkvb = w->qkvb + l * 3 * C;
        sp_k_layernorm_forward(ln1, ln1m, ln1r, x, w->ln1w + l * C, w->ln1b + l * C, BT, C);
        const float *q = qkv;
        int ldq = 3 * C;
        if (rows) {
            /* keys and values at every position, queries only at the selected rows (qkvw rows: q | k | v) */
            sp_k_matmul_forward_ld(qkv + C, 3 * C, ln1, C, qkvw + (size_t)C * C, qkvb + C, BT, C, 2 * C);
            for (int i = 0; i < nq; i++)
                memcpy(a->ln1sel + (size_t)i * C, ln1 + (size_t)rows[i] * C, (size_t)C * sizeof(float));
            sp_k_matmul_forward(a->qsel, a->ln1sel, qkvw, qkvb, nq, C, C);
            q = a->qsel;
            ldq = C;
        } else {
            sp_k_matmul_forward(qkv, ln1, qkvw, qkvb, BT, C, 3 * C);
        }
        sp_k_attention_forward_rows(atty, att, a->attn_scratch, q, ldq, qkv, a->valid, rows ? a->sel_start : NULL,
                                    rows ? a->sel_pos : NULL, B, T, C, NH, p, enc_site_key(a->key, "attention", l));
        sp_k_matmul_forward(a->branch, atty, w->attprojw + (size_t)l * C * C, w->attprojb + l * C, nq, C, C);
        sp_k_residual_forward_rows(res2, x, rows, a->branch, rows, nq, C, p,
                                   enc_site_key(a->key, "attention-residual", l));
        sp_k_layernorm_forward(ln2, ln2m, ln2r, res2, w->ln2w + l * C, w->ln2b + l * C, nq, C);
        sp_k_matmul_forward(fch, ln2, w->fcw + (size_t)l * F * C, NULL, nq, C, F);
        sp_k_bias_gelu_forward(fchg, fch, w->fcb + l * F, nq, F);
        sp_k_matmul_forward(a->branch, fchg, w->fcprojw + (size_t)l * C * F, w->fcprojb + l * C, nq, F, C);
        sp_k_residual_forward_rows(res3, res2, NULL, a->branch, rows, nq, C, p,
                                   enc_site_key(a->key, "mlp-residual", l));
    }
    int n_last = a->pruned ? a->n_sel : BT;
    const float *last = a->res3 + (size_t)(L - 1) * BT * C;
    sp_k_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, last, w->lnfw, w->lnfb, n_last, C);

    /* classification head on position 0 */
    for (int b = 0; b < B; b++)
        memcpy(a->cls_in + (size_t)b * C, a->lnf + (size_t)a->sel_start[b] * C, (size_t)C * sizeof(float));
    sp_k_matmul_forward(a->cls_logits, a->cls_in, w->clsw, w->clsb, B, C, K);
    sp_k_softmax_xent_forward(a->cls_probs, a->cls_losses, a->cls_logits, a->labels, B, K);
    double cls_sum = 0.0;
    for (int b = 0; b < B; b++) cls_sum += a->cls_losses[b];

    /* MLM head at the masked positions */
    double mlm_sum = 0.0;
    if (M > 0) {
        for (int i = 0; i < M; i++)
            memcpy(a->mlm_in + (size_t)i * C, a->lnf + (size_t)a->mlm_sel[i] * C, C * sizeof(float));
        sp_k_matmul_forward(a->mlm_h, a->mlm_in, w->mlmw, w->mlmb, M, C, C);
        sp_k_gelu_forward(a->mlm_g, a->mlm_h, (size_t)M * C);
        sp_k_layernorm_forward(a->mlm_ln, a->mlm_mean, a->mlm_rstd, a->mlm_g, w->mlmlnw, w->mlmlnb, M, C);
        sp_k_matmul_forward(a->mlm_logits, a->mlm_ln, w->wte, w->mlmbias, M, C, V);
        sp_k_softmax_xent_forward(a->mlm_probs, a->mlm_losses, a->mlm_logits, a->mlm_tgt, M, V);
        for (int i = 0; i < M; i++) mlm_sum += a->mlm_losses[i];
    }
    if (losses) {
        losses->n_cls = a->n_cls;
        losses->n_mlm = M;
        losses->cls_loss = a->n_cls > 0 ? cls_sum / a->n_cls : 0.0;
        losses->mlm_loss = M > 0 ? mlm_sum / M : 0.0;
    }
    return SP_OK;
}

sp_status sp_encoder_forward(sp_encoder *m, sp_encoder_acts *a, const sp_encoder_batch *batch,
                             sp_encoder_losses *losses)
{
    return enc_forward(m, a, batch, losses, 0);
}

static inline void enc_scale_seg(float *restrict x, float s, int n)
{
    for (int i = 0; i < n; i++) x[i] *= s;
}

static inline void enc_add_seg(float *restrict acc, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++) acc[i] += x[i];
}

/* Columns per block of the MLM logit-gradient pass (each block's bias gradient sums its rows in order). */
#define ENC_VOCAB_BLOCK 256

void sp_encoder_backward(sp_encoder *m, sp_encoder_acts *a, float w_cls, float w_mlm)
{
    const sp_encoder_config *c = &m->cfg;
    const sp_encoder_params *w = &m->params;
    sp_encoder_params *g = &m->grads;
    int B = a->B, T = a->T, M = a->M, C = c->d_model, NH = c->n_heads, F = c->d_ff, V = c->vocab_size,
        K = c->n_classes, BT = B * T, L = c->n_layers;
    float p = a->p;
    size_t nBTC = (size_t)BT * C;
    int n_last = a->pruned ? a->n_sel : BT;
    float *dlnf = a->dln;
    memset(dlnf, 0, (size_t)n_last * C * sizeof(float));

    /* classification head: logits = lnf[position 0] @ clsw^T + clsb */
    if (a->n_cls > 0 && w_cls != 0.0f) {
        memset(a->dcls, 0, (size_t)B * K * sizeof(float));
        sp_k_softmax_xent_backward(a->dcls, a->cls_probs, a->labels, B, K, w_cls / (float)a->n_cls);
        sp_k_matmul_backward_set(a->dcls_in, g->clsw, g->clsb, a->dcls, a->cls_in, w->clsw, B, C, K);
        for (int b = 0; b < B; b++) {
            float *dst = dlnf + (size_t)a->sel_start[b] * C;
            const float *src = a->dcls_in + (size_t)b * C;
            for (int j = 0; j < C; j++) dst[j] += src[j];
        }
    }
    /* MLM head, innermost first; the probabilities buffer becomes dlogits = (probs - onehot) * w_mlm / M, whose
     * column sums are the decoder bias gradient (one pass over the [M, V] block) */
    if (M > 0 && w_mlm != 0.0f) {
        float *dlogits = a->mlm_probs;
        float scale = w_mlm / (float)M;
        const int32_t *tgt = a->mlm_tgt;
        float *dbias = g->mlmbias;
#pragma omp parallel for if ((size_t)M * V > 16384)
        for (int v0 = 0; v0 < V; v0 += ENC_VOCAB_BLOCK) {
            int v1 = v0 + ENC_VOCAB_BLOCK < V ? v0 + ENC_VOCAB_BLOCK : V;
            for (int i = 0; i < M; i++) {
                float *d = dlogits + (size_t)i * V;
                enc_scale_seg(d + v0, scale, v1 - v0);
                if (tgt[i] >= v0 && tgt[i] < v1) d[tgt[i]] -= scale;
                enc_add_seg(dbias + v0, d + v0, v1 - v0);
            }
        }
        float *dln = a->dmlm_a, *dh = a->dmlm_b;
        sp_k_matmul_backward_set(dln, g->wte, NULL, dlogits, a->mlm_ln, w->wte, M, C, V);
        float *dgel = a->dmlm_b;
        memset(dgel, 0, (size_t)M * C * sizeof(float));
        sp_k_layernorm_backward(dgel, g->mlmlnw, g->mlmlnb, dln, a->mlm_g, w->mlmlnw, a->mlm_mean, a->mlm_rstd, M, C);
        sp_k_gelu_bias_backward(dln, NULL, a->mlm_h, dgel, M, C); /* dln now holds d mlm_h */
        sp_k_matmul_backward_set(dh, g->mlmw, g->mlmb, dln, a->mlm_in, w->mlmw, M, C, C); /* dh holds d mlm_in */
        for (int i = 0; i < M; i++) {
            float *dst = dlnf + (size_t)a->mlm_sel[i] * C;
            const float *src = dh + (size_t)i * C;
            for (int j = 0; j < C; j++) dst[j] += src[j];
        }
    }
    /* final LayerNorm, on the last layer's rows */
    float *dres = a->pruned ? a->dres_sel : a->dres;
    memset(dres, 0, (size_t)n_last * C * sizeof(float));
    const float *last = a->res3 + (size_t)(L - 1) * nBTC;
    sp_k_layernorm_backward(dres, g->lnfw, g->lnfb, dlnf, last, w->lnfw, a->lnf_mean, a->lnf_rstd, n_last, C);

    for (int l = L - 1; l >= 0; l--) {
        const int32_t *rows = l == L - 1 && a->pruned ? a->sel : NULL;
        int nq = rows ? a->n_sel : BT;
        const float *x = l == 0 ? a->encoded : a->res3 + (size_t)(l - 1) * nBTC;
        const float *ln1 = a->ln1 + (size_t)l * nBTC, *ln1m = a->ln1_mean + (size_t)l * BT,
                    *ln1r = a->ln1_rstd + (size_t)l * BT, *qkv = a->qkv + (size_t)l * nBTC * 3,
                    *att = a->att + (size_t)l * B * NH * T * T, *atty = a->atty + (size_t)l * nBTC,
                    *res2 = a->res2 + (size_t)l * nBTC, *ln2 = a->ln2 + (size_t)l * nBTC,
                    *ln2m = a->ln2_mean + (size_t)l * BT, *ln2r = a->ln2_rstd + (size_t)l * BT,
                    *fch = a->fch + (size_t)l * BT * F, *fchg = a->fch_gelu + (size_t)l * BT * F;
        /* res3 = res2 + drop(fcproj(gelu(fc(ln2(res2))))): dres carries d res3 and, unchanged, d res2 */
        sp_k_residual_branch_backward_rows(a->branch, dres, rows, nq, C, p, enc_site_key(a->key, "mlp-residual", l));
        sp_k_matmul_backward_set(a->dff, g->fcprojw + (size_t)l * C * F, g->fcprojb + l * C, a->branch, fchg,
                                 w->fcprojw + (size_t)l * C * F, nq, F, C);
        sp_k_gelu_bias_backward(a->dfc, g->fcb + l * F, fch, a->dff, nq, F);
        sp_k_matmul_backward_set(a->dln, g->fcw + (size_t)l * F * C, NULL, a->dfc, ln2, w->fcw + (size_t)l * F * C,
                                 nq, C, F);
        sp_k_layernorm_backward(dres, g->ln2w + l * C, g->ln2b + l * C, a->dln, res2, w->ln2w + l * C, ln2m, ln2r, nq,
                                C);
        /* res2 = x + drop(attproj(attention(qkv(ln1(x))))) */
        sp_k_residual_branch_backward_rows(a->branch, dres, rows, nq, C, p,
                                           enc_site_key(a->key, "attention-residual", l));
        sp_k_matmul_backward_set(a->datty, g->attprojw + (size_t)l * C * C, g->attprojb + l * C, a->branch, atty,
                                 w->attprojw + (size_t)l * C * C, nq, C, C);
        uint64_t akey = enc_site_key(a->key, "attention", l);
        const float *qkvw = w->qkvw + (size_t)l * 3 * C * C;
        float *gqkvw = g->qkvw + (size_t)l * 3 * C * C, *gqkvb = g->qkvb + l * 3 * C;
        if (rows) {
            /* queries only at the selected rows: their gradient goes to dqsel; keys and values everywhere */
            sp_k_attention_backward_rows(a->dqsel, C, a->dqkv, 0.0f, a->attn_scratch, a->attn_scratch2, a->datty,
                                         att, a->qsel, C, qkv, a->sel_start, a->sel_pos, B, T, C, NH, p, akey);
            /* the residual stream below the last block has gradient only at the selected rows */
            memset(a->dres, 0, nBTC * sizeof(float));
            for (int i = 0; i < nq; i++)
                memcpy(a->dres + (size_t)rows[i] * C, dres + (size_t)i * C, (size_t)C * sizeof(float));
            dres = a->dres;
            /* d ln1 = dK,dV @ W_kv everywhere, plus dQ @ W_q at the selected rows (dres_sel is free again) */
            sp_k_matmul_backward_ld(a->dln, 0.0f, gqkvw + (size_t)C * C, gqkvb + C, a->dqkv + C, 3 * C, ln1, C,
                                    qkvw + (size_t)C * C, BT, C, 2 * C);
            sp_k_matmul_backward_ld(a->dres_sel, 0.0f, gqkvw, gqkvb, a->dqsel, C, a->ln1sel, C, qkvw, nq, C, C);
            for (int i = 0; i < nq; i++) {
                float *dst = a->dln + (size_t)rows[i] * C;
                const float *src = a->dres_sel + (size_t)i * C;
                for (int j = 0; j < C; j++) dst[j] += src[j];
            }
        } else {
            sp_k_attention_backward_rows(a->dqkv, 3 * C, a->dqkv, 0.0f, a->attn_scratch, a->attn_scratch2, a->datty,
                                         att, qkv, 3 * C, qkv, NULL, NULL, B, T, C, NH, p, akey);
            sp_k_matmul_backward_set(a->dln, gqkvw, gqkvb, a->dqkv, ln1, qkvw, BT, C, 3 * C);
        }
        sp_k_layernorm_backward(dres, g->ln1w + l * C, g->ln1b + l * C, a->dln, x, w->ln1w + l * C, ln1m, ln1r, BT, C);
    }
    sp_k_embed_backward(g->wte, g->wpe, dres, a->tokens, B, T, C);
}

const float *sp_encoder_cls_logits(const sp_encoder_acts *a) { return a->cls_logits; }
const float *sp_encoder_cls_probs(const sp_encoder_acts *a) { return a->cls_probs; }

const float *sp_encoder_mlm_logits(const sp_encoder_acts *a, int *n_masked)
{
    if (n_masked) *n_masked = a->M;
    return a->mlm_logits;
}

sp_status sp_encoder_pooled(sp_encoder *m, sp_encoder_acts *a, const int32_t *tokens, int B, int T,
                            float *cls_out, float *mean_out)
{
    sp_encoder_batch batch = {.tokens = tokens, .B = B, .T = T};
    sp_status st = enc_forward(m, a, &batch, NULL, 1);
    if (st != SP_OK) return st;
    int C = m->cfg.d_model, L = m->cfg.n_layers;
    size_t nBTC = (size_t)B * T * C;
    double *sums = mean_out ? malloc((size_t)B * C * sizeof(double)) : NULL;
    if (mean_out && !sums) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for pooling %d rows", B);
#pragma omp parallel for if ((size_t)B * T * C * (L + 1) > 16384)
    for (int b = 0; b < B; b++) {
        double *sum = sums ? sums + (size_t)b * C : NULL;
        int n_valid = 0;
        for (int t = 0; t < T; t++) n_valid += a->valid[b * T + t];
        for (int l = 0; l <= L; l++) {
            const float *h = (l == 0 ? a->encoded : a->res3 + (size_t)(l - 1) * nBTC) + (size_t)b * T * C;
            float *co = cls_out ? cls_out + ((size_t)b * (L + 1) + l) * C : NULL;
            float *mo = mean_out ? mean_out + ((size_t)b * (L + 1) + l) * C : NULL;
            if (co) memcpy(co, h, C * sizeof(float));
            if (!mo) continue;
            /* positions in order, all channels at once (per-channel double sums, as a column loop would) */
            for (int j = 0; j < C; j++) sum[j] = 0.0;
            for (int t = 0; t < T; t++)
                if (a->valid[b * T + t])
                    for (int j = 0; j < C; j++) sum[j] += h[(size_t)t * C + j];
            for (int j = 0; j < C; j++) mo[j] = n_valid > 0 ? (float)(sum[j] / n_valid) : 0.0f;
        }
    }
    free(sums);
    return SP_OK;
}

void sp_encoder_dropout_masks(const sp_encoder *m, int B, int T, uint64_t dropout_key, uint8_t *attn,
                              uint8_t *attn_res, uint8_t *mlp_res)
{
    const sp_encoder_config *c = &m->cfg;
    size_t n_att = (size_t)B * c->n_heads * T * T, n_res = (size_t)B * T * c->d_model;
    for (int l = 0; l < c->n_layers; l++) {
        uint64_t ka = enc_site_key(dropout_key, "attention", l), kr = enc_site_key(dropout_key, "attention-residual", l),
                 km = enc_site_key(dropout_key, "mlp-residual", l);
        for (size_t i = 0; i < n_att; i++) attn[l * n_att + i] = (uint8_t)sp_k_dropout_keep(ka, i, c->dropout);
        for (size_t i = 0; i < n_res; i++) {
            attn_res[l * n_res + i] = (uint8_t)sp_k_dropout_keep(kr, i, c->dropout);
            mlp_res[l * n_res + i] = (uint8_t)sp_k_dropout_keep(km, i, c->dropout);
        }
    }
}
