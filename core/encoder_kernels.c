/* encoder_kernels.c: row-wise kernels of the encoder: embeddings, LayerNorm, matmul (cblas_sgemm), GELU,
 * residual dropout and softmax cross-entropy (attention lives in encoder_attention.c). See encoder_kernels.h
 * for the dimension legend and conventions.
 *
 * OpenMP only parallelises loops whose writes do not overlap; weight gradients that sum over rows are
 * computed by a separate channel-parallel loop (each thread owns some channels and sums rows in order), so
 * results are identical for any thread count.
 */
#include "encoder_kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Channel blocks for the weight-parallel loops: wide enough to vectorise, narrow enough to share out. */
#define K_COL_BLOCK 64
/* Loops with less work than this many elements run on one thread: a parallel region costs more. */
#define K_PAR_MIN 16384

void sp_k_embed_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C)
{
#pragma omp parallel for if ((size_t)B * T * C > K_PAR_MIN)
    for (int bt = 0; bt < B * T; bt++) {
        const float *we = wte + (size_t)tokens[bt] * C;
        const float *pe = wpe + (size_t)(bt % T) * C;
        float *o = out + (size_t)bt * C;
        for (int c = 0; c < C; c++) o[c] = we[c] + pe[c];
    }
}

void sp_k_embed_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C)
{
    /* Tokens repeat, so rows of dwte may be hit by several positions: a serial loop keeps the sum order fixed. */
    for (int bt = 0; bt < B * T; bt++) {
        float *dw = dwte + (size_t)tokens[bt] * C;
        const float *d = dout + (size_t)bt * C;
        for (int c = 0; c < C; c++) dw[c] += d[c];
    }
    /* Positions are distinct across t: parallel over t, batch summed in order. */
#pragma omp parallel for if ((size_t)B * T * C > K_PAR_MIN)
    for (int t = 0; t < T; t++) {
        float *dp = dwpe + (size_t)t * C;
        for (int b = 0; b < B; b++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) dp[c] += d[c];
        }
    }
}

void sp_k_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
                            int N, int C)
{
#pragma omp parallel for if ((size_t)N * C > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += xr[c];
        float m = (float)(s / C);
        double v = 0.0;
        for (int c = 0; c < C; c++) {
            double d = (double)(xr[c] - m);
            v += d * d;
        }
        float r = 1.0f / sqrtf((float)(v / C) + SP_K_LN_EPS);
        float *o = out + (size_t)n * C;
        for (int c = 0; c < C; c++) o[c] = (xr[c] - m) * r * w[c] + b[c];
        mean[n] = m;
        rstd[n] = r;
    }
}

void sp_k_layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                             const float *mean, const float *rstd, int N, int C)
{
    /* Input-parallel: with xhat = (x - mean) * rstd and g = dout * w,
     * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). */
#pragma omp parallel for if ((size_t)N * C > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C, *dr = dout + (size_t)n * C;
        float m = mean[n], r = rstd[n];
        float sg = 0.0f, sgx = 0.0f;
        for (int c = 0; c < C; c++) {
            float g = dr[c] * w[c];
            sg += g;
            sgx += g * (xr[c] - m) * r;
        }
        sg /= C;
        sgx /= C;
        float *dxr = dx + (size_t)n * C;
        for (int c = 0; c < C; c++) dxr[c] += r * (dr[c] * w[c] - sg - (xr[c] - m) * r * sgx);
    }
    if (!dw && !db) return;
    /* Weight-parallel: out = xhat * w + b, so dw += dout * xhat and db += dout, rows summed in order. */
#pragma omp parallel for if ((size_t)N * C > K_PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += K_COL_BLOCK) {
        int c1 = c0 + K_COL_BLOCK < C ? c0 + K_COL_BLOCK : C;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dr = dout + (size_t)n * C;
            float m = mean[n], r = rstd[n];
            for (int c = c0; c < c1; c++) {
                if (dw) dw[c] += dr[c] * (xr[c] - m) * r;
                if (db) db[c] += dr[c];
            }
        }
    }
}

void sp_k_matmul_forward_strided(float *out, const float *x, int ldx, const float *w, const float *b, int N, int IC,
                                 int OC)
{
    if (N == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, x, ldx, w, IC, 0.0f, out, OC);
    if (!b) return;
#pragma omp parallel for if ((size_t)N * OC > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * OC;
        for (int j = 0; j < OC; j++) o[j] += b[j];
    }
}

void sp_k_matmul_forward(float *out, const float *x, const float *w, const float *b, int N, int IC, int OC)
{
    sp_k_matmul_forward_strided(out, x, IC, w, b, N, IC, OC);
}

void sp_k_matmul_backward_strided(float *dx, float *dw, float *db, const float *dout, const float *x, int ldx,
                                  const float *w, int N, int IC, int OC)
{
    if (N == 0) return;
    /* forward: out = x @ w^T + b */
    if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, dx, ldx);
    if (dw) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, x, ldx, 1.0f, dw, IC);
    if (!db) return;
#pragma omp parallel for if ((size_t)N * OC > K_PAR_MIN)
    for (int j0 = 0; j0 < OC; j0 += K_COL_BLOCK) {
        int j1 = j0 + K_COL_BLOCK < OC ? j0 + K_COL_BLOCK : OC;
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC;
            for (int j = j0; j < j1; j++) db[j] += d[j];
        }
    }
}

void sp_k_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                          int N, int IC, int OC)
{
    sp_k_matmul_backward_strided(dx, dw, db, dout, x, IC, w, N, IC, OC);
}

#define K_GELU_SCALE 0.7978845608028654f /* sqrt(2 / pi) */
#define K_GELU_CUBIC 0.044715f

void sp_k_gelu_forward(float *out, const float *x, size_t n)
{
#pragma omp parallel for if (n > K_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + sp_k_tanhf(K_GELU_SCALE * (v + K_GELU_CUBIC * v * v * v)));
    }
}

void sp_k_gelu_backward(float *dx, const float *x, const float *dout, size_t n)
{
#pragma omp parallel for if (n > K_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float th = sp_k_tanhf(K_GELU_SCALE * (v + K_GELU_CUBIC * v * v * v));
        float sech2 = 1.0f - th * th;
        float g = 0.5f * (1.0f + th) + 0.5f * v * sech2 * K_GELU_SCALE * (1.0f + 3.0f * K_GELU_CUBIC * v * v);
        dx[i] += g * dout[i];
    }
}

void sp_k_residual_forward(float *out, const float *res, const float *branch, size_t n, float p, uint64_t key)
{
    if (p <= 0.0f) {
#pragma omp parallel for if (n > K_PAR_MIN)
        for (size_t i = 0; i < n; i++) out[i] = res[i] + branch[i];
        return;
    }
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for if (n > K_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = res[i] + (sp_k_dropout_keep(key, i, p) ? branch[i] * scale : 0.0f);
}

void sp_k_residual_branch_backward(float *dbranch, const float *dout, size_t n, float p, uint64_t key)
{
    if (p <= 0.0f) {
        memcpy(dbranch, dout, n * sizeof *dbranch);
        return;
    }
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for if (n > K_PAR_MIN)
    for (size_t i = 0; i < n; i++) dbranch[i] = sp_k_dropout_keep(key, i, p) ? dout[i] * scale : 0.0f;
}

void sp_k_softmax_xent_forward(float *probs, float *losses, const float *logits, const int32_t *targets, int N,
                               int V)
{
#pragma omp parallel for if ((size_t)N * V > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *pr = probs + (size_t)n * V;
        float mx = l[0];
        for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        double sum = 0.0;
        for (int v = 0; v < V; v++) pr[v] = sp_k_expf(l[v] - mx);
        /* 16 interleaved float partial sums (vectorisable without reassociation), combined in double */
        float part[16] = {0};
        int v16 = V - V % 16;
        for (int v = 0; v < v16; v += 16)
            for (int j = 0; j < 16; j++) part[j] += pr[v + j];
        for (int j = 0; j < 16; j++) sum += part[j];
        for (int v = v16; v < V; v++) sum += pr[v];
        float inv = (float)(1.0 / sum);
        for (int v = 0; v < V; v++) pr[v] *= inv;
        int tg = targets ? targets[n] : -1;
        losses[n] = tg >= 0 ? (float)(log(sum) + mx - l[tg]) : 0.0f;
    }
}

void sp_k_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *targets, int N, int V,
                                float scale)
{
#pragma omp parallel for if ((size_t)N * V > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        int tg = targets[n];
        if (tg < 0) continue;
        const float *pr = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        for (int v = 0; v < V; v++) d[v] += scale * pr[v];
        d[tg] -= scale;
    }
}
