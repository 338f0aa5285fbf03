/* encoder_attention.c: bidirectional multi-head self-attention with a key padding mask and attention-weight
 * dropout, forward and backward (see encoder_kernels.h for the legend).
 *
 * The four per-head products (Q K^T, A V and their gradients) go through cblas_sgemm on strided views of
 * qkv [B,T,3C], one call per (batch row, head) from a serial loop, so OpenBLAS's own threads do the work
 * and no BLAS call runs inside an OpenMP region. The row-wise parts (mask, softmax, dropout, softmax
 * backward) are an OpenMP loop over (batch row, head, query) rows, whose writes never overlap.
 */
#include "encoder_kernels.h"

#include <cblas.h>
#include <math.h>

void sp_k_attention_forward(float *out, float *att, float *scratch, const float *qkv, const uint8_t *key_valid,
                            int B, int T, int C, int NH, float p, uint64_t key)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    size_t TT = (size_t)T * T;
    /* scores = (Q K^T) / sqrt(hs) */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, C3, k, C3, 0.0f,
                        att + ((size_t)b * NH + h) * TT, T);
        }
    /* softmax over valid keys (padded keys get weight exactly 0), then the dropped-out copy */
    float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    int rows = B * NH * T;
#pragma omp parallel for if ((size_t)rows * T > 16384)
    for (int row = 0; row < rows; row++) {
        const uint8_t *valid = key_valid + (size_t)(row / (NH * T)) * T;
        float *a = att + (size_t)row * T;
        float mx = -INFINITY;
        for (int s = 0; s < T; s++)
            if (valid[s] && a[s] > mx) mx = a[s];
        for (int s = 0; s < T; s++) a[s] = valid[s] ? sp_k_expf(a[s] - mx) : 0.0f;
        float sum = 0.0f;
        for (int s = 0; s < T; s++) sum += a[s];
        float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        for (int s = 0; s < T; s++) a[s] *= inv;
        if (p > 0.0f) {
            float *ad = scratch + (size_t)row * T;
            size_t base = (size_t)row * T;
            for (int s = 0; s < T; s++) ad[s] = sp_k_dropout_keep(key, base + s, p) ? a[s] * keep_scale : 0.0f;
        }
    }
    /* out[:, head h] = dropout(att) V */
    const float *ad = p > 0.0f ? scratch : att;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *v = qkv + (size_t)b * T * C3 + 2 * C + h * hs;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, ad + ((size_t)b * NH + h) * TT, T,
                        v, C3, 0.0f, out + (size_t)b * T * C + h * hs, C);
        }
}

void sp_k_attention_backward(float *dqkv, float *scratch, float *scratch2, const float *dout, const float *att,
                             const float *qkv, int B, int T, int C, int NH, float p, uint64_t key)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    size_t TT = (size_t)T * T;
    int rows = B * NH * T;
    /* the dropped-out weights the forward multiplied V by (recomputed from the counter-based masks) */
    const float *ad = att;
    if (p > 0.0f) {
#pragma omp parallel for if ((size_t)rows * T > 16384)
        for (int row = 0; row < rows; row++) {
            const float *a = att + (size_t)row * T;
            float *d = scratch2 + (size_t)row * T;
            size_t base = (size_t)row * T;
            for (int s = 0; s < T; s++) d[s] = sp_k_dropout_keep(key, base + s, p) ? a[s] * keep_scale : 0.0f;
        }
        ad = scratch2;
    }
    /* out = ad V: d ad = dout V^T (into scratch), dV += ad^T dout */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *v = qkv + (size_t)b * T * C3 + 2 * C + h * hs;
            const float *dy = dout + (size_t)b * T * C + h * hs;
            size_t o = ((size_t)b * NH + h) * TT;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dy, C, v, C3, 0.0f, scratch + o, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, ad + o, T, dy, C, 1.0f,
                        dqkv + (size_t)b * T * C3 + 2 * C + h * hs, C3);
        }
    /* through the dropout mask, then a = softmax(scores): dscores = a (datt - sum_j a_j datt_j), times the
     * 1/sqrt(hs) of scores = (q . k) / sqrt(hs) */
#pragma omp parallel for if ((size_t)rows * T > 16384)
    for (int row = 0; row < rows; row++) {
        const float *a = att + (size_t)row * T;
        float *d = scratch + (size_t)row * T;
        if (p > 0.0f) {
            size_t base = (size_t)row * T;
            for (int s = 0; s < T; s++) d[s] = sp_k_dropout_keep(key, base + s, p) ? d[s] * keep_scale : 0.0f;
        }
        float dot = 0.0f;
        for (int s = 0; s < T; s++) dot += a[s] * d[s];
        for (int s = 0; s < T; s++) d[s] = scale * a[s] * (d[s] - dot);
    }
    /* scores = Q K^T: dQ += dS K, dK += dS^T Q */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C;
            float *dq = dqkv + (size_t)b * T * C3 + h * hs, *dk = dq + C;
            const float *ds = scratch + ((size_t)b * NH + h) * TT;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, ds, T, k, C3, 1.0f, dq, C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, ds, T, q, C3, 1.0f, dk, C3);
        }
}
