/* encoder_kernels.h: the forward and backward kernels of the encoder (core/encoder.c), as plain functions.
 *
 * Dimension legend: B batch, T sequence length, C model width, NH heads, hs = C / NH head width,
 * F feed-forward width, V vocabulary, K classes, N = rows of a flattened [B, T] (or gathered) matrix.
 * Conventions: outputs first, then inputs, then dimensions; `d` prefixes a gradient; every backward
 * ACCUMULATES into its outputs (+=), so callers zero gradient buffers once per step. Matrices are flat
 * row-major float arrays. Forward kernels save what the backward needs (mean, rstd, attention weights).
 *
 *     sp_k_layernorm_forward(out, mean, rstd, x, w, b, N, C);
 *     ... loss ...
 *     sp_k_layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C);
 *
 * Dropout masks are counter-based: element i of a dropout site with key k is kept iff
 * splitmix64(k + i * golden) >> 40 >= p * 2^24, so a mask never depends on thread count or call order.
 */
#ifndef SPLINTER_ENCODER_KERNELS_H
#define SPLINTER_ENCODER_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* LayerNorm epsilon (PyTorch's default, not BERT's 1e-12). */
#define SP_K_LN_EPS 1e-5f

/* 1 if element i of the dropout site `key` is kept at drop probability p (0 <= p < 1). */
static inline int sp_k_dropout_keep(uint64_t key, size_t i, float p)
{
    /* SplitMix64 output on state key + (i+1) * golden: the i-th draw of a SplitMix64 stream seeded by key. */
    uint64_t x = key + ((uint64_t)i + 1) * 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (x >> 40) >= (uint64_t)(p * 16777216.0f);
}

/* exp(x) for finite x, branch-free so loops over it vectorise: x clamped to [-87.3, 88.3], split as
 * n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts), exp(r) by the degree-6 polynomial of Cephes' expf
 * (relative error ~1e-7), times 2^n assembled in the exponent bits. n = round(x / ln2) comes from adding
 * 1.5 * 2^23, which leaves n in the low mantissa bits (no floorf or float-to-int conversion, neither of
 * which GCC vectorises without -ffast-math). Below -87.3 it returns ~1e-38, not 0. */
static inline float sp_k_expf(float x)
{
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x; /* 2^127 at most: n = 128 would make the exponent bits 255 (inf) */
    float shifted = x * 1.44269504088896341f + 12582912.0f;
    float n = shifted - 12582912.0f;
    int32_t ni;
    memcpy(&ni, &shifted, sizeof ni);
    ni -= 0x4B400000; /* bits of 1.5 * 2^23 */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float z = r * r;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    int32_t bits = (ni + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* tanh(x) = 1 - 2 / (exp(2x) + 1), absolute error ~1e-7 (what GELU's 1 + tanh needs). */
static inline float sp_k_tanhf(float x) { return 1.0f - 2.0f / (sp_k_expf(2.0f * x) + 1.0f); }

/* out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:].  out [B,T,C], tokens [B,T], wte [V,C], wpe [maxT,C]. */
void sp_k_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C);
/* dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]. Serial over rows where tokens may repeat. */
void sp_k_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C);

/* out = (x - mean) * rstd * w + b per row; saves mean [N] and rstd [N]. out, x [N,C]; w, b [C]. */
void sp_k_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
                            int N, int C);
/* dx [N,C] += ..., dw [C] += ..., db [C] += ... (dw, db may be NULL). x is the forward input. */
void sp_k_layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                             const float *mean, const float *rstd, int N, int C);

/* BLAS inside OpenMP: with more than one OpenMP thread (outside a parallel region) and n_blocks >= 2, sets
 * OpenBLAS to one thread and returns its previous count (> 0: run the blocks in parallel); otherwise 0 (run
 * them in order). sp_k_blas_par_end(saved) restores the count. */
int sp_k_blas_par_begin(int n_blocks);
void sp_k_blas_par_end(int saved);

/* out [N,OC] = x [N,IC] @ w[OC,IC]^T + b [OC] (b may be NULL). cblas_sgemm, in a few blocks fixed by the
 * shapes that run in parallel under OpenMP (the same bits for any thread count). */
void sp_k_matmul_forward(float *out, const float *x, const float *w, const float *b, int N, int IC, int OC);
/* dx [N,IC] += dout @ w; dw [OC,IC] += dout^T @ x; db [OC] += column sums of dout. Any output may be NULL. */
void sp_k_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                          int N, int IC, int OC);

/* As sp_k_matmul_backward, but dx is overwritten (dx = dout @ w), which spares zeroing it first. */
void sp_k_matmul_backward_set(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                              int N, int IC, int OC);

/* The same with rows of x (and dx) ldx floats apart (ldx >= IC), e.g. position 0 of each sequence. */
void sp_k_matmul_forward_strided(float *out, const float *x, int ldx, const float *w, const float *b, int N, int IC,
                                 int OC);
void sp_k_matmul_backward_strided(float *dx, float *dw, float *db, const float *dout, const float *x, int ldx,
                                  const float *w, int N, int IC, int OC);

/* General strides: out [N,OC] rows ldo apart, x (and dx) rows ldx apart, dout rows ldd apart; beta_dx 0
 * overwrites dx, 1 accumulates (dw and db always accumulate). For column slices of a wider matrix. */
void sp_k_matmul_forward_ld(float *out, int ldo, const float *x, int ldx, const float *w, const float *b, int N,
                            int IC, int OC);
void sp_k_matmul_backward_ld(float *dx, float beta_dx, float *dw, float *db, const float *dout, int ldd,
                             const float *x, int ldx, const float *w, int N, int IC, int OC);

/* GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise over n. */
void sp_k_gelu_forward(float *out, const float *x, size_t n);
/* dx += dout * gelu'(x). */
void sp_k_gelu_backward(float *dx, const float *x, const float *dout, size_t n);
/* Bias then GELU in one pass: pre [N,F] += b [F] (kept for the backward), out [N,F] = gelu(pre). */
void sp_k_bias_gelu_forward(float *out, float *pre, const float *b, int N, int F);
/* dx [N,F] = dout * gelu'(x) (overwrites), and db [F] += column sums of dx (db may be NULL). */
void sp_k_gelu_bias_backward(float *dx, float *db, const float *x, const float *dout, int N, int F);

/* out = res + dropout(branch): branch kept with probability 1 - p and scaled by 1 / (1 - p); p = 0 is identity.
 * out may alias res. n elements. */
void sp_k_residual_forward(float *out, const float *res, const float *branch, size_t n, float p, uint64_t key);
/* dbranch = dropout mask applied to dout (overwrites dbranch); the residual path passes dout through unchanged. */
void sp_k_residual_branch_backward(float *dbranch, const float *dout, size_t n, float p, uint64_t key);

/* out = res + dropout(branch) on selected rows: out [n,C]; row i adds res row res_rows[i] (NULL: i) and draws
 * its mask at the elements of full row mask_rows[i] (NULL: i), so a subset of rows sees the same masks as the
 * whole [B*T, C] tensor. out may alias res when res_rows is NULL. */
void sp_k_residual_forward_rows(float *out, const float *res, const int32_t *res_rows, const float *branch,
                                const int32_t *mask_rows, int n, int C, float p, uint64_t key);
/* dbranch [n,C] = dropout mask of full rows mask_rows[i] (NULL: i) applied to dout [n,C] (overwrites). */
void sp_k_residual_branch_backward_rows(float *dbranch, const float *dout, const int32_t *mask_rows, int n, int C,
                                        float p, uint64_t key);

/* Bidirectional multi-head attention over qkv [B,T,3C] (q | k | v, heads contiguous within each), keys with
 * key_valid[b,s] == 0 masked out. Saves the softmax weights att [B,NH,T,T] (before dropout; masked keys 0);
 * out [B,T,C] = dropout(att) @ v per head. scratch [B,NH,T,T] holds the dropped-out weights when p > 0. */
void sp_k_attention_forward(float *out, float *att, float *scratch, const float *qkv, const uint8_t *key_valid,
                            int B, int T, int C, int NH, float p, uint64_t key);
/* dqkv [B,T,3C] += gradient of out w.r.t. qkv given dout [B,T,C], att and qkv from the forward.
 * scratch and scratch2 are [B,NH,T,T] workspaces (scratch2 only used when p > 0). */
void sp_k_attention_backward(float *dqkv, float *scratch, float *scratch2, const float *dout, const float *att,
                             const float *qkv, int B, int T, int C, int NH, float p, uint64_t key);

/* Attention for selected query rows: the queries of batch row b are rows q_start[b] .. q_start[b+1]-1 of q
 * (row stride ldq) at positions q_pos[row] of the sequence; keys and values are every position of qkv.
 * q_start == NULL (and q_pos NULL) means all T positions of every row in order (q may then be qkv, ldq 3C).
 * out [nQ,C]; att holds, per (b, head h), an n_b x T block at offset (q_start[b] * NH + h * n_b) * T (for all
 * queries: the [B,NH,T,T] layout above); dropout masks are those of the full [B,NH,T,T] tensor. */
void sp_k_attention_forward_rows(float *out, float *att, float *scratch, const float *q, int ldq, const float *qkv,
                                 const uint8_t *key_valid, const int32_t *q_start, const int32_t *q_pos, int B, int T,
                                 int C, int NH, float p, uint64_t key);
/* dq [nQ, lddq] = beta * dq + d queries; dqkv [B,T,3C] = beta * dqkv + d keys and d values (beta 0 or 1; its
 * query columns are untouched unless dq points into it). */
void sp_k_attention_backward_rows(float *dq, int lddq, float *dqkv, float beta, float *scratch, float *scratch2,
                                  const float *dout, const float *att, const float *q, int ldq, const float *qkv,
                                  const int32_t *q_start, const int32_t *q_pos, int B, int T, int C, int NH, float p,
                                  uint64_t key);

/* Row softmax and cross-entropy: probs [N,V] = softmax(logits [N,V]); losses [N] = -log softmax at target[n]
 * for rows with target[n] >= 0, else 0 (computed as logsumexp - logit, so it never takes log of 0). */
void sp_k_softmax_xent_forward(float *probs, float *losses, const float *logits, const int32_t *targets, int N,
                               int V);
/* dlogits [N,V] += scale * (probs - onehot(target)) on rows with target >= 0 (rows with target < 0 get
 * nothing). For a mean loss times weight w, scale = w / count. */
void sp_k_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *targets, int N, int V,
                                float scale);

#endif
