/* encoder_attention.c: bidirectional multi-head self-attention with a key padding mask and attention-weight
 * dropout, forward and backward (see encoder_kernels.h for the legend).
 *
 * One OpenMP task per (batch row, head): their writes (att rows, out columns, dqkv columns) never overlap.
 * Inner loops are written as axpy over contiguous memory (keys and values transposed into a scratch
 * [hs, T] per head) so they vectorise without reassociating float sums.
 */
#include "encoder_kernels.h"

#include <math.h>

/* scratch[d*T + s] = qkv[b, s, off + h*hs + d] for one (b, h): the transposed keys or values of a head. */
static void attn_transpose(float *scratch, const float *base, int T, int C3, int off, int hs)
{
    for (int s = 0; s < T; s++) {
        const float *row = base + (size_t)s * C3 + off;
        for (int d = 0; d < hs; d++) scratch[(size_t)d * T + s] = row[d];
    }
}

void sp_k_attention_forward(float *out, float *att, float *scratch, const float *qkv, const uint8_t *key_valid,
                            int B, int T, int C, int NH, float p, uint64_t key)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for collapse(2) if ((size_t)B * T * T * C > 16384)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *base = qkv + (size_t)b * T * C3;
            const uint8_t *valid = key_valid + (size_t)b * T;
            float *kt = scratch + ((size_t)b * NH + h) * hs * T;
            attn_transpose(kt, base, T, C3, C + h * hs, hs);
            for (int t = 0; t < T; t++) {
                const float *q = base + (size_t)t * C3 + h * hs;
                float *a = att + (((size_t)b * NH + h) * T + t) * T;
                /* scores[s] = (q . k_s) / sqrt(hs) */
                for (int s = 0; s < T; s++) a[s] = 0.0f;
                for (int d = 0; d < hs; d++) {
                    float qd = q[d] * scale;
                    const float *kr = kt + (size_t)d * T;
                    for (int s = 0; s < T; s++) a[s] += qd * kr[s];
                }
                /* softmax over valid keys; padded keys get weight exactly 0 */
                float mx = -INFINITY;
                for (int s = 0; s < T; s++)
                    if (valid[s] && a[s] > mx) mx = a[s];
                float sum = 0.0f;
                for (int s = 0; s < T; s++) {
                    a[s] = valid[s] ? expf(a[s] - mx) : 0.0f;
                    sum += a[s];
                }
                float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
                for (int s = 0; s < T; s++) a[s] *= inv;
                /* out = dropout(att) @ v */
                float *o = out + ((size_t)b * T + t) * C + h * hs;
                for (int d = 0; d < hs; d++) o[d] = 0.0f;
                size_t drop_base = (((size_t)b * NH + h) * T + t) * T;
                for (int s = 0; s < T; s++) {
                    float w = a[s];
                    if (w == 0.0f) continue;
                    if (p > 0.0f) w = sp_k_dropout_keep(key, drop_base + s, p) ? w * keep_scale : 0.0f;
                    const float *v = base + (size_t)s * C3 + 2 * C + h * hs;
                    for (int d = 0; d < hs; d++) o[d] += w * v[d];
                }
            }
        }
    }
}

void sp_k_attention_backward(float *dqkv, float *scratch, float *rowbuf, const float *dout, const float *att,
                             const float *qkv, int B, int T, int C, int NH, float p, uint64_t key)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for collapse(2) if ((size_t)B * T * T * C > 16384)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *base = qkv + (size_t)b * T * C3;
            float *dbase = dqkv + (size_t)b * T * C3;
            float *vt = scratch + ((size_t)b * NH + h) * hs * T;
            float *datt = rowbuf + ((size_t)b * NH + h) * 2 * T;
            float *dsc = datt + T;
            attn_transpose(vt, base, T, C3, 2 * C + h * hs, hs);
            for (int t = 0; t < T; t++) {
                const float *a = att + (((size_t)b * NH + h) * T + t) * T;
                const float *dy = dout + ((size_t)b * T + t) * C + h * hs;
                size_t drop_base = (((size_t)b * NH + h) * T + t) * T;
                /* out[t] = sum_s drop(a)[s] v[s]: d drop(a)[s] = dy . v[s]; dv[s] += drop(a)[s] dy */
                for (int s = 0; s < T; s++) datt[s] = 0.0f;
                for (int d = 0; d < hs; d++) {
                    float g = dy[d];
                    const float *vr = vt + (size_t)d * T;
                    for (int s = 0; s < T; s++) datt[s] += g * vr[s];
                }
                for (int s = 0; s < T; s++) {
                    float w = a[s];
                    if (p > 0.0f) {
                        int keep = sp_k_dropout_keep(key, drop_base + s, p);
                        w = keep ? w * keep_scale : 0.0f;
                        datt[s] = keep ? datt[s] * keep_scale : 0.0f;
                    }
                    if (w == 0.0f) continue;
                    float *dv = dbase + (size_t)s * C3 + 2 * C + h * hs;
                    for (int d = 0; d < hs; d++) dv[d] += w * dy[d];
                }
                /* a = softmax(scores): dscores[s] = a[s] (datt[s] - sum_j a[j] datt[j]) */
                float dot = 0.0f;
                for (int s = 0; s < T; s++) dot += a[s] * datt[s];
                for (int s = 0; s < T; s++) dsc[s] = a[s] * (datt[s] - dot);
                /* scores[s] = scale * q . k_s */
                const float *q = base + (size_t)t * C3 + h * hs;
                float *dq = dbase + (size_t)t * C3 + h * hs;
                for (int s = 0; s < T; s++) {
                    float g = dsc[s] * scale;
                    if (g == 0.0f) continue;
                    const float *k = base + (size_t)s * C3 + C + h * hs;
                    float *dk = dbase + (size_t)s * C3 + C + h * hs;
                    for (int d = 0; d < hs; d++) {
                        dq[d] += g * k[d];
                        dk[d] += g * q[d];
                    }
                }
            }
        }
    }
}
