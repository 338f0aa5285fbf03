/* similarity.c: linear CKA, debiased CKA and orthogonal Procrustes distance from one stacked Gram matrix.
 *
 * Every measure here needs only, per pair (a, b) of centred matrices X_a [n, p], X_b [n, q]:
 *   F_ab = ||X_a^T X_b||_F^2,   N_ab = ||X_a^T X_b||_*,   t_a = ||X_a||_F^2 = sum_i k_i,
 *   R_ab = sum_i k_i l_i        (k_i = ||row i of X_a||^2, l_i = ||row i of X_b||^2).
 * With linear kernels K = X_a X_a^T, L = X_b X_b^T and K~, L~ their copies with zero diagonal:
 *   tr(K~ L~) = F_ab - R_ab;  1^T K~ 1 = ||X_a^T 1||^2 - t_a = -t_a (columns centred);
 *   1^T K~ L~ 1 = (X_a X_a^T 1 - k)^T (X_b X_b^T 1 - l) = R_ab.
 * So the unbiased HSIC never forms an n x n matrix. The cross products X_a^T X_b of all M models come from
 * one SYRK over Z = [X_1 ... X_M] (n x D, D = sum of widths): G = Z^T Z, block (a, b) = X_a^T X_b.
 * Centring translates nothing the estimators see (all three are translation invariant), it only keeps the
 * float32 products well conditioned.
 */
#include "similarity.h"

#include <gsl/gsl_cblas.h> /* CBLAS prototypes; the symbols resolve to OpenBLAS (CMakeLists.txt) */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Terms shared by the measures, for one list of M matrices. */
typedef struct {
    size_t M, n, D;
    size_t *off;  /* [M] first column of matrix m in Z */
    size_t *dim;  /* [M] width of matrix m */
    float *G;     /* [D, D] Z^T Z, upper triangle (row <= column) valid where computed (see sim_gram_build);
                   * owned by the workspace */
    double *k;    /* [M, n] squared row norms of the centred rows (NULL when not needed) */
    double *t;    /* [M] ||X_m||_F^2 */
} sim_gram;

struct sp_similarity_workspace {
    float *Z;     /* [n, D] stacked centred matrices */
    float *G;     /* [D, D] their Gram matrix */
    size_t Z_cap, G_cap; /* floats allocated */
};

sp_similarity_workspace *sp_similarity_workspace_alloc(void) { return calloc(1, sizeof(sp_similarity_workspace)); }

void sp_similarity_workspace_free(sp_similarity_workspace *w)
{
    if (!w) return;
    free(w->Z);
    free(w->G);
    free(w);
}

/* Makes *buf hold at least `need` floats; the old content is not kept. Returns 0, or -1 out of memory. */
static int ws_reserve(float **buf, size_t *cap, size_t need)
{
    if (*cap >= need) return 0;
    free(*buf);
    *buf = malloc(need * sizeof **buf);
    *cap = *buf ? need : 0;
    return *buf ? 0 : -1;
}

static void sim_gram_free(sim_gram *g)
{
    free(g->off);
    free(g->dim);
    free(g->k);
    free(g->t);
    memset(g, 0, sizeof *g);
}

/* Centres acts[m] into columns off[m].. of Z (means in double), then forms the blocks of G = Z^T Z the
 * measures read:
 *   n_left == 0: every block, one SYRK (all pairs);
 *   n_left > 0:  only the diagonal blocks (one SYRK per matrix) and the blocks between the first n_left
 *                matrices and the others (one GEMM): a cross comparison never reads the blocks within
 *                either side, which would be (n_a^2 + n_b^2 - n_a - n_b) / 2 more d x d blocks.
 * With rows set, also the squared row norms k and t = sum k in double (debiased CKA and Procrustes need
 * them); without, t is the trace of the diagonal block of G (only the constant-representation check reads
 * it then), so the copy loop has no reduction and vectorises. Z and G live in the workspace w. */
static sp_status sim_gram_build(sim_gram *g, sp_similarity_workspace *w, const float *const *acts,
                                const size_t *dims, size_t M, size_t n, size_t n_left, int rows)
{
    memset(g, 0, sizeof *g);
    g->M = M;
    g->n = n;
    g->off = malloc(M * sizeof *g->off);
    g->dim = malloc(M * sizeof *g->dim);
    g->t = calloc(M, sizeof *g->t);
    g->k = rows ? calloc(M * n, sizeof *g->k) : NULL;
    if (!g->off || !g->dim || !g->t || (rows && !g->k)) goto nomem;
    size_t D = 0;
    for (size_t m = 0; m < M; m++) {
        g->off[m] = D;
        g->dim[m] = dims[m];
        D += dims[m];
    }
    g->D = D;
    if (ws_reserve(&w->Z, &w->Z_cap, n * D) != 0 || ws_reserve(&w->G, &w->G_cap, D * D) != 0) goto nomem;
    float *Z = w->Z;
    g->G = w->G;
    int failed = 0;
#pragma omp parallel for schedule(static) reduction(| : failed)
    for (size_t m = 0; m < M; m++) {
        const size_t d = dims[m], off = g->off[m];
        const float *X = acts[m];
        double *mean = calloc(d, sizeof *mean);
        if (!mean) {
            failed = 1;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) mean[j] += X[i * d + j];
        for (size_t j = 0; j < d; j++) mean[j] /= (double)n;
        double t = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *x = X + i * d;
            float *z = Z + i * D + off;
            for (size_t j = 0; j < d; j++) z[j] = (float)((double)x[j] - mean[j]);
            if (rows) {
                double ki = 0.0;
                for (size_t j = 0; j < d; j++) ki += (double)z[j] * z[j]; /* the stored values, as G sees them */
                g->k[m * n + i] = ki;
                t += ki;
            }
        }
        g->t[m] = t;
        free(mean);
    }
    if (failed) goto nomem;
    /* Row-major Z is n x D, so X_a^T X_b is Trans x NoTrans with K = n, and Z^T Z is a Trans SYRK. */
    if (n_left == 0 || n_left >= M) {
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)n, 1.0f, Z, (int)D, 0.0f, g->G, (int)D);
    } else {
        const size_t DA = g->off[n_left];
        for (size_t m = 0; m < M; m++) {
            const size_t o = g->off[m];
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dims[m], (int)n, 1.0f, Z + o, (int)D, 0.0f,
                        g->G + o * D + o, (int)D);
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)DA, (int)(D - DA), (int)n, 1.0f, Z, (int)D, Z + DA,
                    (int)D, 0.0f, g->G + DA, (int)D);
    }
    if (!rows)
        for (size_t m = 0; m < M; m++) {
            double t = 0.0;
            for (size_t j = g->off[m]; j < g->off[m] + g->dim[m]; j++) t += g->G[j * D + j];
            g->t[m] = t;
        }
    return SP_OK;
nomem:
    sim_gram_free(g);
    return sp_fail(SP_ERR_NOMEM, "out of memory for the Gram matrix of %zu representations of %zu inputs", M, n);
}

/* ||X_a^T X_b||_F^2 from G's upper triangle, summed in double. */
static double sim_frob2(const sim_gram *g, size_t a, size_t b)
{
    const size_t D = g->D, oa = g->off[a], ob = g->off[b], da = g->dim[a], db = g->dim[b];
    double s = 0.0;
    if (a == b) {
        for (size_t i = 0; i < da; i++) {
            const float *row = g->G + (oa + i) * D + oa;
            double diag = row[i], off = 0.0;
            for (size_t j = i + 1; j < da; j++) off += (double)row[j] * row[j];
            s += diag * diag + 2.0 * off;
        }
        return s;
    }
    if (a > b) return sim_frob2(g, b, a); /* only blocks above the diagonal are stored */
    for (size_t i = 0; i < da; i++) {
        const float *row = g->G + (oa + i) * D + ob;
        for (size_t j = 0; j < db; j++) s += (double)row[j] * row[j];
    }
    return s;
}

static double sim_rowdot(const sim_gram *g, size_t a, size_t b)
{
    const double *ka = g->k + a * g->n, *kb = g->k + b * g->n;
    double s = 0.0;
    for (size_t i = 0; i < g->n; i++) s += ka[i] * kb[i];
    return s;
}

/* Unbiased HSIC_1 (Song et al. 2012) times n (n - 3), from the feature-space terms. */
static double sim_hsic1_scaled(double F, double R, double ta, double tb, double n)
{
    return (F - R) + ta * tb / ((n - 1.0) * (n - 2.0)) - 2.0 / (n - 2.0) * R;
}

static void sim_gsl_handler_off(void) { gsl_set_error_handler_off(); }

void sp_gsl_quiet(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sim_gsl_handler_off);
}

/* ||A||_* = sum_i sqrt(lambda_i(S)) with S = A^T A or A A^T (the smaller), by GSL's symmetric eigensolver
 * in double. This is ~15x faster than GSL's Golub-Reinsch SVD at 128 x 128 (3.8 vs 56 ms), which matters
 * with one SVD per model pair. Each eigenvalue carries an absolute error ~ eps ||A||_2^2, so a singular
 * value near zero is off by at most ~sqrt(eps) ||A||_2 = 1.5e-8 ||A||_2: the sum is within
 * min(rows, cols) * 1.5e-8 * ||A||_2 of the SVD's (tests/test_similarity.c checks it on a rank-deficient A). */
static sp_status sim_nuclear_norm(double *out, const double *A, size_t rows, size_t cols)
{
    const int tall = rows >= cols;
    const size_t k = tall ? cols : rows;
    gsl_matrix *S = gsl_matrix_alloc(k, k);
    gsl_vector *lambda = gsl_vector_alloc(k);
    gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc(k);
    sp_status st = SP_OK;
    if (!S || !lambda || !ws) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for the nuclear norm of a %zu x %zu matrix", rows, cols);
        goto done;
    }
    gsl_matrix_const_view Av = gsl_matrix_const_view_array(A, rows, cols);
    /* S = A^T A or A A^T; gsl_eigen_symm reads only the lower triangle. */
    gsl_blas_dsyrk(CblasLower, tall ? CblasTrans : CblasNoTrans, 1.0, &Av.matrix, 0.0, S);
    if (gsl_eigen_symm(S, lambda, ws) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "eigenvalues of a %zu x %zu Gram matrix did not converge; check the "
                                     "activations for NaN or Inf", k, k);
        goto done;
    }
    double s = 0.0;
    for (size_t i = 0; i < k; i++) {
        const double l = gsl_vector_get(lambda, i);
        s += l > 0.0 ? sqrt(l) : 0.0; /* rounding can leave a zero eigenvalue slightly negative */
    }
    *out = s;
done:
    gsl_matrix_free(S);
    gsl_vector_free(lambda);
    gsl_eigen_symm_free(ws);
    return st;
}

sp_status sp_nuclear_norm(double *out, const double *A, size_t rows, size_t cols)
{
    sp_gsl_quiet();
    return sim_nuclear_norm(out, A, rows, cols);
}

/* ||X_a^T X_b||_* with the block copied to double. */
static sp_status sim_nuclear(double *out, const sim_gram *g, size_t a, size_t b)
{
    if (a > b) return sim_nuclear(out, g, b, a); /* the singular values of a block and its transpose agree */
    const size_t D = g->D, oa = g->off[a], ob = g->off[b], da = g->dim[a], db = g->dim[b];
    double *B = malloc(da * db * sizeof *B);
    if (!B) return sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu block", da, db);
    for (size_t i = 0; i < da; i++)
        for (size_t j = 0; j < db; j++) B[i * db + j] = g->G[(oa + i) * D + ob + j];
    sp_status st = sim_nuclear_norm(out, B, da, db);
    free(B);
    return st;
}

/* Fills the requested measures for the pairs (ia[p], ib[p]) into out[p] (each output indexed by pair). */
static sp_status sim_pairs(double *lin, double *deb, double *proc, const sim_gram *g, const size_t *ia,
                           const size_t *ib, size_t n_pairs)
{
    const double n = (double)g->n;
    /* Self terms once per matrix: F_aa for CKA normalisers. */
    double *Faa = malloc(g->M * sizeof *Faa);
    double *Raa = malloc(g->M * sizeof *Raa);
    if (!Faa || !Raa) {
        free(Faa);
        free(Raa);
        return sp_fail(SP_ERR_NOMEM, "out of memory for %zu similarity pairs", n_pairs);
    }
    for (size_t m = 0; m < g->M; m++) {
        Faa[m] = sim_frob2(g, m, m);
        Raa[m] = deb ? sim_rowdot(g, m, m) : 0.0; /* row norms exist only when debiased CKA is asked */
    }
    sp_status st = SP_OK;
    for (size_t m = 0; m < g->M; m++)
        if (!(g->t[m] > 0.0)) {
            st = sp_fail(SP_ERR_NUMERIC, "representation %zu is constant over the %zu inputs (or not finite): "
                                         "similarity is undefined; drop that layer or model", m, g->n);
            goto done;
        }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
    for (size_t p = 0; p < n_pairs; p++) {
        const size_t a = ia[p], b = ib[p];
        const double F = sim_frob2(g, a, b);
        if (lin) lin[p] = F / sqrt(Faa[a] * Faa[b]);
        if (deb) {
            const double R = sim_rowdot(g, a, b);
            const double hab = sim_hsic1_scaled(F, R, g->t[a], g->t[b], n);
            const double haa = sim_hsic1_scaled(Faa[a], Raa[a], g->t[a], g->t[a], n);
            const double hbb = sim_hsic1_scaled(Faa[b], Raa[b], g->t[b], g->t[b], n);
            deb[p] = hab / sqrt(haa * hbb);
        }
        if (proc) {
            double nuc = 0.0;
            if (sim_nuclear(&nuc, g, a, b) != SP_OK) {
                failed = 1;
                continue;
            }
            double d2 = 2.0 - 2.0 * nuc / sqrt(g->t[a] * g->t[b]);
            proc[p] = d2 < 0.0 ? 0.0 : d2; /* rounding can push identical inputs a hair below 0 */
        }
    }
    if (failed) st = sp_fail(SP_ERR_NUMERIC, "Procrustes SVD failed; check the activations for NaN or Inf");
done:
    free(Faa);
    free(Raa);
    return st;
}

static sp_status sim_check(const float *const *acts, const size_t *dims, size_t M, size_t n, int debiased)
{
    if (M == 0) return sp_fail(SP_ERR_USAGE, "similarity needs at least one representation");
    if (n < 2) return sp_fail(SP_ERR_USAGE, "similarity needs at least 2 inputs (got %zu)", n);
    if (debiased && n < 4) return sp_fail(SP_ERR_USAGE, "debiased CKA needs at least 4 inputs (got %zu)", n);
    for (size_t m = 0; m < M; m++)
        if (!acts[m] || dims[m] == 0)
            return sp_fail(SP_ERR_USAGE, "representation %zu is empty (width %zu)", m, dims[m]);
    return SP_OK;
}

sp_status sp_similarity_all_pairs_ws(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                                     const float *const *acts, const size_t *dims, size_t M, size_t n,
                                     sp_similarity_workspace *w)
{
    sp_status st = sim_check(acts, dims, M, n, cka_debiased != NULL);
    if (st != SP_OK) return st;
    sp_gsl_quiet();
    sim_gram g;
    if ((st = sim_gram_build(&g, w, acts, dims, M, n, 0, cka_debiased || procrustes_d2)) != SP_OK) return st;
    const size_t P = M * (M - 1) / 2;
    size_t *ia = malloc((P ? P : 1) * sizeof *ia), *ib = malloc((P ? P : 1) * sizeof *ib);
    double *buf = malloc(3 * (P ? P : 1) * sizeof *buf);
    if (!ia || !ib || !buf) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for %zu similarity pairs", P);
        goto done;
    }
    size_t p = 0;
    for (size_t a = 0; a < M; a++)
        for (size_t b = a + 1; b < M; b++, p++) {
            ia[p] = a;
            ib[p] = b;
        }
    double *lin = cka_linear ? buf : NULL, *deb = cka_debiased ? buf + P : NULL;
    double *proc = procrustes_d2 ? buf + 2 * P : NULL;
    if ((st = sim_pairs(lin, deb, proc, &g, ia, ib, P)) != SP_OK) goto done;
    for (size_t a = 0; a < M; a++) {
        if (cka_linear) cka_linear[a * M + a] = 1.0;
        if (cka_debiased) cka_debiased[a * M + a] = 1.0;
        if (procrustes_d2) procrustes_d2[a * M + a] = 0.0;
    }
    for (p = 0; p < P; p++) {
        const size_t a = ia[p], b = ib[p];
        if (cka_linear) cka_linear[a * M + b] = cka_linear[b * M + a] = lin[p];
        if (cka_debiased) cka_debiased[a * M + b] = cka_debiased[b * M + a] = deb[p];
        if (procrustes_d2) procrustes_d2[a * M + b] = procrustes_d2[b * M + a] = proc[p];
    }
done:
    free(ia);
    free(ib);
    free(buf);
    sim_gram_free(&g);
    return st;
}

sp_status sp_similarity_cross_ws(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                                 const float *const *acts_a, const size_t *dims_a, size_t n_a,
                                 const float *const *acts_b, const size_t *dims_b, size_t n_b, size_t n,
                                 sp_similarity_workspace *w)
{
    const size_t M = n_a + n_b, P = n_a * n_b;
    const float **acts = malloc((M ? M : 1) * sizeof *acts);
    size_t *dims = malloc((M ? M : 1) * sizeof *dims);
    size_t *ia = malloc((P ? P : 1) * sizeof *ia), *ib = malloc((P ? P : 1) * sizeof *ib);
    sp_status st = SP_OK;
    sim_gram g = {0};
    if (!acts || !dims || !ia || !ib) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu similarity matrix", n_a, n_b);
        goto done;
    }
    for (size_t i = 0; i < n_a; i++) {
        acts[i] = acts_a[i];
        dims[i] = dims_a[i];
    }
    for (size_t j = 0; j < n_b; j++) {
        acts[n_a + j] = acts_b[j];
        dims[n_a + j] = dims_b[j];
    }
    if ((st = sim_check(acts, dims, M, n, cka_debiased != NULL)) != SP_OK) goto done;
    sp_gsl_quiet();
    if ((st = sim_gram_build(&g, w, acts, dims, M, n, n_a, cka_debiased || procrustes_d2)) != SP_OK) goto done;
    for (size_t i = 0, p = 0; i < n_a; i++)
        for (size_t j = 0; j < n_b; j++, p++) {
            ia[p] = i;
            ib[p] = n_a + j;
        }
    st = sim_pairs(cka_linear, cka_debiased, procrustes_d2, &g, ia, ib, P);
done:
    free(acts);
    free(dims);
    free(ia);
    free(ib);
    sim_gram_free(&g);
    return st;
}

/* The calls without a workspace use a temporary one. */
sp_status sp_similarity_all_pairs(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                                  const float *const *acts, const size_t *dims, size_t M, size_t n)
{
    sp_similarity_workspace *w = sp_similarity_workspace_alloc();
    if (!w) return sp_fail(SP_ERR_NOMEM, "out of memory");
    sp_status st = sp_similarity_all_pairs_ws(cka_linear, cka_debiased, procrustes_d2, acts, dims, M, n, w);
    sp_similarity_workspace_free(w);
    return st;
}

sp_status sp_similarity_cross(double *cka_linear, double *cka_debiased, double *procrustes_d2,
                              const float *const *acts_a, const size_t *dims_a, size_t n_a,
                              const float *const *acts_b, const size_t *dims_b, size_t n_b, size_t n)
{
    sp_similarity_workspace *w = sp_similarity_workspace_alloc();
    if (!w) return sp_fail(SP_ERR_NOMEM, "out of memory");
    sp_status st = sp_similarity_cross_ws(cka_linear, cka_debiased, procrustes_d2, acts_a, dims_a, n_a, acts_b,
                                          dims_b, n_b, n, w);
    sp_similarity_workspace_free(w);
    return st;
}

/* One pair through the same machinery as the all-pairs driver (block (0, 1) of a two-matrix Gram). */
static sp_status sim_one(double *lin, double *deb, double *proc, const float *X, const float *Y, size_t n,
                         size_t p, size_t q)
{
    const float *acts[1] = {X}, *acts_b[1] = {Y};
    size_t da[1] = {p}, db[1] = {q};
    return sp_similarity_cross(lin, deb, proc, acts, da, 1, acts_b, db, 1, n);
}

sp_status sp_cka_linear(double *out, const float *X, const float *Y, size_t n, size_t p, size_t q)
{
    return sim_one(out, NULL, NULL, X, Y, n, p, q);
}

sp_status sp_cka_debiased(double *out, const float *X, const float *Y, size_t n, size_t p, size_t q)
{
    return sim_one(NULL, out, NULL, X, Y, n, p, q);
}

sp_status sp_procrustes_distance(double *d2, const float *X, const float *Y, size_t n, size_t p, size_t q)
{
    return sim_one(NULL, NULL, d2, X, Y, n, p, q);
}
