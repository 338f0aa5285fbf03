/* encoder_kernels.c: row-wise kernels of the encoder: embeddings, LayerNorm, matmul (cblas_sgemm), GELU,
 * residual dropout and softmax cross-entropy (attention lives in encoder_attention.c). See encoder_kernels.h
 * for the dimension legend and conventions.
 *
 * OpenMP only parallelises loops whose writes do not overlap; weight gradients that sum over rows are
 * computed by a separate channel-parallel loop (each thread owns some channels and sums rows in order), and
 * GEMMs run as a fixed pair of single-threaded BLAS blocks (k_gemm_*), so results are identical for any
 * thread count.
 */
#include "encoder_kernels.h"

#include "blas_threads.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* Channel blocks for the weight-parallel loops: wide enough to vectorise, narrow enough to share out. */
#define K_COL_BLOCK 64
/* Loops with less work than this many elements run on one thread: a parallel region costs more. */
#define K_PAR_MIN 16384

/* acc[0..n) += x[0..n) (restrict: vectorises without alias checks). */
static inline void k_add_seg(float *restrict acc, const float *restrict x, int n)
{
    for (int c = 0; c < n; c++) acc[c] += x[c];
}

/* acc [C] += column sums of x [N, C] (rows ld apart), each column summed over rows in order. Columns are split into a few
 * wide blocks (contiguous segments of each row stream well); any split gives the same bits. */
static void k_col_sums(float *acc, const float *x, int ld, int N, int C)
{
    int width = (C + 3) / 4;
    width = (width + 15) / 16 * 16;
    if (width < K_COL_BLOCK) width = K_COL_BLOCK;
#pragma omp parallel for if ((size_t)N * C > K_PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += width) {
        int c1 = c0 + width < C ? c0 + width : C;
        for (int n = 0; n < N; n++) k_add_seg(acc + c0, x + (size_t)n * ld + c0, c1 - c0);
    }
}

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

/* Sum of x[0..n) in 16 interleaved float lanes (vectorisable without reassociation), combined in double. */
static inline double k_sum16(const float *x, int n)
{
    float part[16] = {0};
    int n16 = n - n % 16;
    for (int i = 0; i < n16; i += 16)
        for (int j = 0; j < 16; j++) part[j] += x[i + j];
    double s = 0.0;
    for (int j = 0; j < 16; j++) s += part[j];
    for (int i = n16; i < n; i++) s += x[i];
    return s;
}

void sp_k_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
                            int N, int C)
{
#pragma omp parallel for if ((size_t)N * C > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float m = (float)(k_sum16(xr, C) / C);
        float part[16] = {0};
        int C16 = C - C % 16;
        for (int c = 0; c < C16; c += 16)
            for (int j = 0; j < 16; j++) {
                float d = xr[c + j] - m;
                part[j] += d * d;
            }
        double v = 0.0;
        for (int j = 0; j < 16; j++) v += part[j];
        for (int c = C16; c < C; c++) v += (double)(xr[c] - m) * (xr[c] - m);
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
        float pg[16] = {0}, pgx[16] = {0};
        int C16 = C - C % 16;
        for (int c = 0; c < C16; c += 16)
            for (int j = 0; j < 16; j++) {
                float g = dr[c + j] * w[c + j];
                pg[j] += g;
                pgx[j] += g * (xr[c + j] - m) * r;
            }
        float sg = 0.0f, sgx = 0.0f;
        for (int j = 0; j < 16; j++) {
            sg += pg[j];
            sgx += pgx[j];
        }
        for (int c = C16; c < C; c++) {
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

int sp_k_blas_par_begin(int n_blocks)
{
    return n_blocks < 2 ? 0 : sp_blas_serial_begin();
}

void sp_k_blas_par_end(int saved) { sp_blas_serial_end(saved); }

/* GEMMs are cut into two blocks along one output dimension, fixed by the shapes alone (never by the thread
 * count, so the bits are the same for any number of threads), and the blocks are an OpenMP loop. Each block
 * is one single-threaded BLAS call that packs its own copy of the operand it shares with the other block; the
 * cut is chosen so that this operand is the small one where the shapes allow. Two blocks keep that extra
 * packing small on one thread and balance two threads exactly. */
#define K_GEMM_MAX_BLOCKS 2
#define K_GEMM_MIN_BLOCK 128

/* Block size (a multiple of 16) and count for n items cut into at most max_blocks blocks of >= min_size. */
static int k_gemm_blocks(int n, int min_size, int max_blocks, int *size)
{
    int nb = n / min_size;
    nb = nb < 1 ? 1 : nb > max_blocks ? max_blocks : nb;
    int sz = (n + nb - 1) / nb;
    sz = (sz + 15) / 16 * 16;
    *size = sz;
    return (n + sz - 1) / sz;
}

/* out [N, OC] (ld ldo) = x [N, IC] (ld ldx) @ w [OC, IC]^T + beta * out. */
static void k_gemm_nt(float *out, int ldo, const float *x, int ldx, const float *w, int N, int IC, int OC, float beta)
{
    int by_rows = N >= OC, sz, nb = k_gemm_blocks(by_rows ? N : OC, K_GEMM_MIN_BLOCK, K_GEMM_MAX_BLOCKS, &sz);
    int saved = sp_k_blas_par_begin(nb);
#pragma omp parallel for schedule(static) if (saved)
    for (int k = 0; k < nb; k++) {
        int lo = k * sz, n = (by_rows ? N : OC) - lo < sz ? (by_rows ? N : OC) - lo : sz;
        if (by_rows)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, OC, IC, 1.0f, x + (size_t)lo * ldx, ldx, w, IC,
                        beta, out + (size_t)lo * ldo, ldo);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, n, IC, 1.0f, x, ldx, w + (size_t)lo * IC, IC, beta,
                        out + lo, ldo);
    }
    sp_k_blas_par_end(saved);
}

/* dx [N, IC] (ld ldx) = dout [N, OC] (ld ldd) @ w [OC, IC] + beta * dx, cut along the rows. */
static void k_gemm_nn(float *dx, int ldx, const float *dout, int ldd, const float *w, int N, int IC, int OC,
                      float beta)
{
    int sz, nb = k_gemm_blocks(N, K_GEMM_MIN_BLOCK, K_GEMM_MAX_BLOCKS, &sz);
    int saved = sp_k_blas_par_begin(nb);
#pragma omp parallel for schedule(static) if (saved)
    for (int k = 0; k < nb; k++) {
        int lo = k * sz, n = N - lo < sz ? N - lo : sz;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, IC, OC, 1.0f, dout + (size_t)lo * ldd, ldd, w, IC,
                    beta, dx + (size_t)lo * ldx, ldx);
    }
    sp_k_blas_par_end(saved);
}

/* dw [OC, IC] += dout [N, OC]^T (ld ldd) @ x [N, IC] (ld ldx): every element sums all N rows; cut along OC or
 * IC, the wider one. */
static void k_gemm_tn(float *dw, const float *dout, int ldd, const float *x, int ldx, int N, int IC, int OC)
{
    int by_oc = OC >= IC, sz, nb = k_gemm_blocks(by_oc ? OC : IC, 32, K_GEMM_MAX_BLOCKS, &sz);
    int saved = sp_k_blas_par_begin(nb);
#pragma omp parallel for schedule(static) if (saved)
    for (int k = 0; k < nb; k++) {
        int lo = k * sz, n = (by_oc ? OC : IC) - lo < sz ? (by_oc ? OC : IC) - lo : sz;
        if (by_oc)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, IC, N, 1.0f, dout + lo, ldd, x, ldx, 1.0f,
                        dw + (size_t)lo * IC, IC);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, n, N, 1.0f, dout, ldd, x + lo, ldx, 1.0f, dw + lo,
                        IC);
    }
    sp_k_blas_par_end(saved);
}

void sp_k_matmul_forward_ld(float *out, int ldo, const float *x, int ldx, const float *w, const float *b, int N,
                            int IC, int OC)
{
    if (N == 0) return;
    /* the bias is written first and the product added (beta 1): with beta 0 the BLAS would clear out anyway */
    if (b) {
#pragma omp parallel for if ((size_t)N * OC > K_PAR_MIN)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * ldo, b, (size_t)OC * sizeof(float));
    }
    k_gemm_nt(out, ldo, x, ldx, w, N, IC, OC, b ? 1.0f : 0.0f);
}

void sp_k_matmul_forward_strided(float *out, const float *x, int ldx, const float *w, const float *b, int N, int IC,
                                 int OC)
{
    sp_k_matmul_forward_ld(out, OC, x, ldx, w, b, N, IC, OC);
}

void sp_k_matmul_forward(float *out, const float *x, const float *w, const float *b, int N, int IC, int OC)
{
    sp_k_matmul_forward_ld(out, OC, x, IC, w, b, N, IC, OC);
}

void sp_k_matmul_backward_ld(float *dx, float beta_dx, float *dw, float *db, const float *dout, int ldd,
                             const float *x, int ldx, const float *w, int N, int IC, int OC)
{
    if (N == 0) return;
    /* forward: out = x @ w^T + b */
    if (dx) k_gemm_nn(dx, ldx, dout, ldd, w, N, IC, OC, beta_dx);
    if (dw) k_gemm_tn(dw, dout, ldd, x, ldx, N, IC, OC);
    if (db) k_col_sums(db, dout, ldd, N, OC);
}

void sp_k_matmul_backward_strided(float *dx, float *dw, float *db, const float *dout, const float *x, int ldx,
                                  const float *w, int N, int IC, int OC)
{
    sp_k_matmul_backward_ld(dx, 1.0f, dw, db, dout, OC, x, ldx, w, N, IC, OC);
}

void sp_k_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                          int N, int IC, int OC)
{
    sp_k_matmul_backward_ld(dx, 1.0f, dw, db, dout, OC, x, IC, w, N, IC, OC);
}

void sp_k_matmul_backward_set(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                              int N, int IC, int OC)
{
    sp_k_matmul_backward_ld(dx, 0.0f, dw, db, dout, OC, x, IC, w, N, IC, OC);
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

void sp_k_bias_gelu_forward(float *out, float *pre, const float *b, int N, int F)
{
#pragma omp parallel for if ((size_t)N * F > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *pr = pre + (size_t)n * F, *o = out + (size_t)n * F;
        for (int j = 0; j < F; j++) {
            float v = pr[j] + b[j];
            pr[j] = v;
            o[j] = 0.5f * v * (1.0f + sp_k_tanhf(K_GELU_SCALE * (v + K_GELU_CUBIC * v * v * v)));
        }
    }
}

/* dx[i] = dout[i] * gelu'(x[i]) over one row segment (restrict: lets the loop vectorise without alias checks). */
static inline void k_gelu_grad_seg(float *restrict dx, const float *restrict x, const float *restrict dout, int n)
{
    for (int c = 0; c < n; c++) {
        float v = x[c];
        float th = sp_k_tanhf(K_GELU_SCALE * (v + K_GELU_CUBIC * v * v * v));
        float sech2 = 1.0f - th * th;
        float g = 0.5f * (1.0f + th) + 0.5f * v * sech2 * K_GELU_SCALE * (1.0f + 3.0f * K_GELU_CUBIC * v * v);
        dx[c] = g * dout[c];
    }
}

void sp_k_gelu_bias_backward(float *dx, float *db, const float *x, const float *dout, int N, int F)
{
#pragma omp parallel for if ((size_t)N * F > K_PAR_MIN)
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * F;
        k_gelu_grad_seg(dx + o, x + o, dout + o, F);
    }
    if (db) k_col_sums(db, dx, F, N, F);
}

void sp_k_residual_forward_rows(float *out, const float *res, const int32_t *res_rows, const float *branch,
                                const int32_t *mask_rows, int n, int C, float p, uint64_t key)
{
    float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for if ((size_t)n * C > K_PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *r = res + (size_t)(res_rows ? res_rows[i] : i) * C, *br = branch + (size_t)i * C;
        float *o = out + (size_t)i * C;
        size_t base = (size_t)(mask_rows ? mask_rows[i] : i) * C;
        if (p <= 0.0f)
            for (int c = 0; c < C; c++) o[c] = r[c] + br[c];
        else
            for (int c = 0; c < C; c++) o[c] = r[c] + (sp_k_dropout_keep(key, base + c, p) ? br[c] * scale : 0.0f);
    }
}

void sp_k_residual_branch_backward_rows(float *dbranch, const float *dout, const int32_t *mask_rows, int n, int C,
                                        float p, uint64_t key)
{
    if (p <= 0.0f) {
        memcpy(dbranch, dout, (size_t)n * C * sizeof *dbranch);
        return;
    }
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for if ((size_t)n * C > K_PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *d = dout + (size_t)i * C;
        float *o = dbranch + (size_t)i * C;
        size_t base = (size_t)(mask_rows ? mask_rows[i] : i) * C;
        for (int c = 0; c < C; c++) o[c] = sp_k_dropout_keep(key, base + c, p) ? d[c] * scale : 0.0f;
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
        /* max and sum in 16 interleaved lanes (vectorisable without reassociation) */
        float pm[16];
        for (int j = 0; j < 16; j++) pm[j] = l[0];
        int v16 = V - V % 16;
        for (int v = 0; v < v16; v += 16)
            for (int j = 0; j < 16; j++) pm[j] = l[v + j] > pm[j] ? l[v + j] : pm[j];
        float mx = l[0];
        for (int j = 0; j < 16; j++) mx = pm[j] > mx ? pm[j] : mx;
        for (int v = v16; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        /* exp and its sum in one pass (16 lanes, combined in lane order as k_sum16 does) */
        float part[16] = {0};
        for (int v = 0; v < v16; v += 16)
            for (int j = 0; j < 16; j++) {
                float e = sp_k_expf(l[v + j] - mx);
                pr[v + j] = e;
                part[j] += e;
            }
        double sum = 0.0;
        for (int j = 0; j < 16; j++) sum += part[j];
        for (int v = v16; v < V; v++) {
            pr[v] = sp_k_expf(l[v] - mx);
            sum += pr[v];
        }
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
