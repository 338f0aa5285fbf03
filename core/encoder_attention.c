/* encoder_attention.c: bidirectional multi-head self-attention with a key padding mask and attention-weight
 * dropout, forward and backward (see encoder_kernels.h for the legend), for all queries of a batch or for a
 * selection of query positions per batch row (the last layer only needs the rows that feed a loss).
 *
 * Work is split into (batch row, head) blocks: Q K^T, softmax (+ dropout), A V in the forward; the four
 * products and the softmax backward in the backward, each block done whole while its weights are in cache.
 * The products are cblas_sgemm calls on strided views of qkv [B,T,3C]. With one OpenMP thread the blocks run
 * in order (OpenBLAS may thread the larger products); with more, the blocks are an OpenMP loop and OpenBLAS
 * runs single-threaded inside it. Blocks write disjoint memory, so results never depend on the thread count.
 */
#include "encoder_kernels.h"

#include <cblas.h>
#include <math.h>

/* Query rows of batch row b: [start, start + n) of q / out; the attention block of head h starts at
 * (start * NH + h * n) * T. Without a selection every row has its T positions in order. */
static inline void att_rows(const int32_t *q_start, int b, int T, int *start, int *n)
{
    if (q_start) {
        *start = q_start[b];
        *n = q_start[b + 1] - q_start[b];
    } else {
        *start = b * T;
        *n = T;
    }
}

/* Position t of query row i (global row index) of batch row b. */
static inline int att_pos(const int32_t *q_pos, int i, int start) { return q_pos ? q_pos[i] : i - start; }

/* Softmax over the valid keys of one row (padded keys get exactly 0), in place. 16 interleaved lanes for the
 * max and the sum so both loops vectorise without reassociating across lanes. */
static void att_softmax_row(float *a, const uint8_t *valid, int T)
{
    float mx[16], sm[16];
    for (int j = 0; j < 16; j++) mx[j] = -INFINITY;
    int T16 = T - T % 16;
    for (int s = 0; s < T16; s += 16)
        for (int j = 0; j < 16; j++) {
            float v = valid[s + j] ? a[s + j] : -INFINITY;
            mx[j] = v > mx[j] ? v : mx[j];
        }
    float m = -INFINITY;
    for (int j = 0; j < 16; j++) m = mx[j] > m ? mx[j] : m;
    for (int s = T16; s < T; s++)
        if (valid[s] && a[s] > m) m = a[s];
    for (int s = 0; s < T; s++) a[s] = valid[s] ? sp_k_expf(a[s] - m) : 0.0f;
    for (int j = 0; j < 16; j++) sm[j] = 0.0f;
    for (int s = 0; s < T16; s += 16)
        for (int j = 0; j < 16; j++) sm[j] += a[s + j];
    float sum = 0.0f;
    for (int j = 0; j < 16; j++) sum += sm[j];
    for (int s = T16; s < T; s++) sum += a[s];
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int s = 0; s < T; s++) a[s] *= inv;
}

void sp_k_attention_forward_rows(float *out, float *att, float *scratch, const float *q, int ldq, const float *qkv,
                                 const uint8_t *key_valid, const int32_t *q_start, const int32_t *q_pos, int B, int T,
                                 int C, int NH, float p, uint64_t key)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    int saved = sp_k_blas_par_begin(B * NH);
#pragma omp parallel for schedule(dynamic, 1) if (saved)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH, start, n;
        att_rows(q_start, b, T, &start, &n);
        const float *qb = q + (size_t)start * ldq + h * hs, *k = qkv + (size_t)b * T * C3 + C + h * hs, *v = k + C;
        size_t blk = ((size_t)start * NH + (size_t)h * n) * T;
        /* scores = (Q K^T) / sqrt(hs), softmax over valid keys, then the dropped-out copy */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, T, hs, scale, qb, ldq, k, C3, 0.0f, att + blk, T);
        const uint8_t *valid = key_valid + (size_t)b * T;
        for (int i = 0; i < n; i++) {
            float *a = att + blk + (size_t)i * T;
            att_softmax_row(a, valid, T);
            if (p > 0.0f) {
                float *ad = scratch + blk + (size_t)i * T;
                size_t base = (((size_t)b * NH + h) * T + att_pos(q_pos, start + i, start)) * T;
                for (int s = 0; s < T; s++) ad[s] = sp_k_dropout_keep(key, base + s, p) ? a[s] * keep_scale : 0.0f;
            }
        }
        /* out[:, head h] = dropout(att) V */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, T, 1.0f, (p > 0.0f ? scratch : att) + blk, T, v,
                    C3, 0.0f, out + (size_t)start * C + h * hs, C);
    }
    sp_k_blas_par_end(saved);
}

void sp_k_attention_backward_rows(float *dq, int lddq, float *dqkv, float beta, float *scratch, float *scratch2,
                                  const float *dout, const float *att, const float *q, int ldq, const float *qkv,
                                  const int32_t *q_start, const int32_t *q_pos, int B, int T, int C, int NH, float p,
                                  uint64_t key)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    int saved = sp_k_blas_par_begin(B * NH);
#pragma omp parallel for schedule(dynamic, 1) if (saved)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH, start, n;
        att_rows(q_start, b, T, &start, &n);
        size_t blk = ((size_t)start * NH + (size_t)h * n) * T;
        const float *qb = q + (size_t)start * ldq + h * hs, *k = qkv + (size_t)b * T * C3 + C + h * hs, *v = k + C;
        const float *dy = dout + (size_t)start * C + h * hs;
        float *dqb = dq + (size_t)start * lddq + h * hs, *dk = dqkv + (size_t)b * T * C3 + C + h * hs, *dv = dk + C;
        /* the dropped-out weights the forward multiplied V by (recomputed from the counter-based masks) */
        const float *ad = att + blk;
        if (p > 0.0f) {
            for (int i = 0; i < n; i++) {
                const float *a = att + blk + (size_t)i * T;
                float *d = scratch2 + blk + (size_t)i * T;
                size_t base = (((size_t)b * NH + h) * T + att_pos(q_pos, start + i, start)) * T;
                for (int s = 0; s < T; s++) d[s] = sp_k_dropout_keep(key, base + s, p) ? a[s] * keep_scale : 0.0f;
            }
            ad = scratch2 + blk;
        }
        /* out = ad V: d ad = dout V^T (into scratch), dV += ad^T dout */
        float *ds = scratch + blk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, T, hs, 1.0f, dy, C, v, C3, 0.0f, ds, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, n, 1.0f, ad, T, dy, C, beta, dv, C3);
        /* through the dropout mask, then a = softmax(scores): dscores = a (datt - sum_j a_j datt_j), times the
         * 1/sqrt(hs) of scores = (q . k) / sqrt(hs). A weight is kept and positive iff its dropped-out copy is
         * positive, and a zero weight zeroes both terms, so the mask is read off ad instead of recomputed. */
        for (int i = 0; i < n; i++) {
            const float *a = att + blk + (size_t)i * T, *adr = ad + (size_t)i * T;
            float *d = ds + (size_t)i * T;
            if (p > 0.0f)
                for (int s = 0; s < T; s++) d[s] = adr[s] > 0.0f ? d[s] * keep_scale : 0.0f;
            float part[16] = {0};
            int T16 = T - T % 16;
            for (int s = 0; s < T16; s += 16)
                for (int j = 0; j < 16; j++) part[j] += a[s + j] * d[s + j];
            float dot = 0.0f;
            for (int j = 0; j < 16; j++) dot += part[j];
            for (int s = T16; s < T; s++) dot += a[s] * d[s];
            for (int s = 0; s < T; s++) d[s] = scale * a[s] * (d[s] - dot);
        }
        /* scores = Q K^T: dQ += dS K, dK += dS^T Q */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, T, 1.0f, ds, T, k, C3, beta, dqb, lddq);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, n, 1.0f, ds, T, qb, ldq, beta, dk, C3);
    }
    sp_k_blas_par_end(saved);
}

void sp_k_attention_forward(float *out, float *att, float *scratch, const float *qkv, const uint8_t *key_valid,
                            int B, int T, int C, int NH, float p, uint64_t key)
{
    sp_k_attention_forward_rows(out, att, scratch, qkv, 3 * C, qkv, key_valid, NULL, NULL, B, T, C, NH, p, key);
}

void sp_k_attention_backward(float *dqkv, float *scratch, float *scratch2, const float *dout, const float *att,
                             const float *qkv, int B, int T, int C, int NH, float p, uint64_t key)
{
    sp_k_attention_backward_rows(dqkv, 3 * C, dqkv, 1.0f, scratch, scratch2, dout, att, qkv, 3 * C, qkv, NULL, NULL, B, T,
                                 C, NH, p, key);
}
