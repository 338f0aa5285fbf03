/* splinter_measures.c: feature splintering of one model pair and one layer (see splinter_measures.h and
 * docs/similarity.md for the definitions; probes live in splinter_probe.c).
 *
 * Work per call: two similarity Grams (ID, OOD), one d_a x d_b SVD for the orthogonal map, one
 * d_a x d_b correlation matrix and its Hungarian matching, and (with labels) two probes. Fitted objects use
 * the fit share of the ID inputs only; all matrices of the fitted parts are double.
 */
#include "splinter_measures.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"
#include "similarity.h"

const char *const sp_sim_measure_names[SP_SIM_MEASURES] = {"cka", "dcka", "procrustes"};

void sp_splinter_options_default(sp_splinter_options *opt)
{
    opt->fit_fraction = 0.5;
    opt->unit_delta = 0.2;
    opt->unit_min_corr = 0.5;
    opt->probe_l2 = 1e-3;
    opt->probe_max_iter = 200;
    opt->seed = 0;
}

sp_status sp_splinter_behaviour(double *s_beh, double *d_id, double *d_ood, const int32_t *pred_a_id,
                                const int32_t *pred_b_id, size_t n_id, const int32_t *pred_a_ood,
                                const int32_t *pred_b_ood, size_t n_ood)
{
    if (n_id == 0 || n_ood == 0)
        return sp_fail(SP_ERR_USAGE, "behavioural splintering needs ID and OOD predictions (n_id=%zu, n_ood=%zu)",
                       n_id, n_ood);
    size_t k_id = 0, k_ood = 0;
    for (size_t i = 0; i < n_id; i++) k_id += pred_a_id[i] != pred_b_id[i];
    for (size_t i = 0; i < n_ood; i++) k_ood += pred_a_ood[i] != pred_b_ood[i];
    *d_id = (double)k_id / (double)n_id;
    *d_ood = (double)k_ood / (double)n_ood;
    *s_beh = *d_ood - *d_id;
    return SP_OK;
}

/* ------------------------------------------------------------------ assignment */

sp_status sp_assignment_max(size_t *match, const double *w, size_t rows, size_t cols)
{
    if (rows > cols) return sp_fail(SP_ERR_USAGE, "assignment needs rows <= columns (got %zu x %zu)", rows, cols);
    /* Kuhn-Munkres with potentials on cost = -w (1-based; column 0 is the virtual start). */
    const size_t n = rows, m = cols;
    double *u = calloc(n + 1, sizeof *u), *v = calloc(m + 1, sizeof *v), *minv = malloc((m + 1) * sizeof *minv);
    size_t *p = calloc(m + 1, sizeof *p), *way = calloc(m + 1, sizeof *way);
    char *used = malloc(m + 1);
    if (!u || !v || !minv || !p || !way || !used) {
        free(u), free(v), free(minv), free(p), free(way), free(used);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu assignment", rows, cols);
    }
    for (size_t i = 1; i <= n; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            const size_t i0 = p[j0];
            double delta = INFINITY;
            size_t j1 = 0;
            for (size_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                const double cur = -w[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do { /* augment along the alternating path */
            const size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0 != 0);
    }
    for (size_t j = 1; j <= m; j++)
        if (p[j]) match[p[j] - 1] = j - 1;
    free(u), free(v), free(minv), free(p), free(way), free(used);
    return SP_OK;
}

/* ------------------------------------------------------------------ helpers */

/* Helpers below use the contiguous row-major storage of matrices from gsl_matrix_alloc (tda == size2). */

/* Rows idx[0..m) of float X [*, d] as a double matrix (idx NULL: the first m rows). */
static gsl_matrix *rows_f64(const float *X, const size_t *idx, size_t m, size_t d)
{
    gsl_matrix *A = gsl_matrix_alloc(m, d);
    if (!A) return NULL;
    for (size_t i = 0; i < m; i++) {
        const float *x = X + (idx ? idx[i] : i) * d;
        double *a = A->data + i * d;
        for (size_t j = 0; j < d; j++) a[j] = x[j];
    }
    return A;
}

/* Column means of A into mu [d]. */
static void column_means(double *mu, const gsl_matrix *A)
{
    const size_t n = A->size1, d = A->size2;
    for (size_t j = 0; j < d; j++) mu[j] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mu[j] += A->data[i * d + j];
    for (size_t j = 0; j < d; j++) mu[j] /= (double)n;
}

/* Subtracts the column means mu (computed here when compute != 0) and divides by scale (set to the
 * Frobenius norm of the centred matrix when compute != 0). */
static void centre_scale(gsl_matrix *A, double *mu, double *scale, int compute)
{
    const size_t n = A->size1, d = A->size2;
    if (compute) column_means(mu, A);
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            const double c = A->data[i * d + j] - mu[j];
            A->data[i * d + j] = c;
            ss += c * c;
        }
    if (compute) *scale = sqrt(ss);
    if (*scale > 0.0) gsl_matrix_scale(A, 1.0 / *scale);
}

/* Each column centred and scaled to unit norm (a constant column stays zero), so dot products of
 * columns are Pearson correlations. mu and inv are scratch [d]. */
static void standardise_columns(gsl_matrix *A, double *mu, double *inv)
{
    const size_t n = A->size1, d = A->size2;
    column_means(mu, A);
    for (size_t j = 0; j < d; j++) inv[j] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            const double c = A->data[i * d + j] - mu[j];
            A->data[i * d + j] = c;
            inv[j] += c * c;
        }
    for (size_t j = 0; j < d; j++) inv[j] = inv[j] > 0.0 ? 1.0 / sqrt(inv[j]) : 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) A->data[i * d + j] *= inv[j];
}

static double column_dot(const gsl_matrix *A, size_t ja, const gsl_matrix *B, size_t jb)
{
    const size_t da = A->size2, db = B->size2;
    double s = 0.0;
    for (size_t i = 0; i < A->size1; i++) s += A->data[i * da + ja] * B->data[i * db + jb];
    return s;
}

/* Orthogonal Procrustes map R [da, db] = U V^T from the SVD A^T B = U S V^T (Schoenemann 1966). */
static sp_status procrustes_map(gsl_matrix *R, const gsl_matrix *A, const gsl_matrix *B)
{
    const size_t da = A->size2, db = B->size2, tr = da < db;
    const size_t r = tr ? da : db;
    gsl_matrix *C = gsl_matrix_alloc(tr ? db : da, r), *V = gsl_matrix_alloc(r, r);
    gsl_vector *s = gsl_vector_alloc(r), *work = gsl_vector_alloc(r);
    sp_status st = SP_OK;
    if (!C || !V || !s || !work) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu Procrustes map", da, db);
        goto done;
    }
    if (tr) /* C = B^T A = V' S U'^T ... so A^T B = U' S V'^T with the roles swapped */
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, B, A, 0.0, C);
    else
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, A, B, 0.0, C);
    if (gsl_linalg_SV_decomp(C, V, s, work) != 0) {
        st = sp_fail(SP_ERR_NUMERIC, "SVD for the %zu x %zu Procrustes map did not converge", da, db);
        goto done;
    }
    if (tr) /* A^T B = V S C^T: R = V C^T */
        gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, V, C, 0.0, R);
    else    /* A^T B = C S V^T: R = C V^T */
        gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, C, V, 0.0, R);
done:
    gsl_matrix_free(C);
    gsl_matrix_free(V);
    gsl_vector_free(s);
    gsl_vector_free(work);
    return st;
}

/* ||A R - B||_F^2; AR is scratch [n, db]. */
static double map_residual(const gsl_matrix *A, const gsl_matrix *R, const gsl_matrix *B, gsl_matrix *AR)
{
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, A, R, 0.0, AR);
    double s = 0.0;
    for (size_t k = 0; k < B->size1 * B->size2; k++) {
        const double e = AR->data[k] - B->data[k];
        s += e * e;
    }
    return s;
}

static int size_cmp(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The fitted parts of one pair: the three input sets of each model in double ([0] fit, [1] held-out ID,
 * [2] OOD), scratch of the same shapes, and the orthogonal map. */
typedef struct {
    gsl_matrix *a[3], *b[3], *wa[3], *wb[3];
    gsl_matrix *R; /* [da, db] */
    int32_t *y_fit, *y_ho;
    size_t n[3];
} pair_work;

static void pair_work_free(pair_work *w)
{
    for (int s = 0; s < 3; s++) {
        gsl_matrix_free(w->a[s]);
        gsl_matrix_free(w->b[s]);
        gsl_matrix_free(w->wa[s]);
        gsl_matrix_free(w->wb[s]);
    }
    gsl_matrix_free(w->R);
    free(w->y_fit);
    free(w->y_ho);
}

/* S_align: R fitted on the fit share; every set centred by its own means and scaled to unit norm. */
static sp_status pair_alignment(sp_splinter_layer *L, pair_work *w)
{
    double *mu = malloc((w->a[0]->size2 > w->b[0]->size2 ? w->a[0]->size2 : w->b[0]->size2) * sizeof *mu);
    if (!mu) return sp_fail(SP_ERR_NOMEM, "out of memory for the alignment");
    for (int s = 0; s < 3; s++) {
        double scale;
        gsl_matrix_memcpy(w->wa[s], w->a[s]);
        gsl_matrix_memcpy(w->wb[s], w->b[s]);
        centre_scale(w->wa[s], mu, &scale, 1);
        centre_scale(w->wb[s], mu, &scale, 1);
    }
    free(mu);
    sp_status st = procrustes_map(w->R, w->wa[0], w->wb[0]);
    if (st != SP_OK) return st;
    double res[3];
    for (int s = 0; s < 3; s++) {
        gsl_matrix *AR = gsl_matrix_alloc(w->n[s], w->b[s]->size2);
        if (!AR) return sp_fail(SP_ERR_NOMEM, "out of memory for the alignment residual");
        res[s] = map_residual(w->wa[s], w->R, w->wb[s], AR);
        gsl_matrix_free(AR);
    }
    L->align_fit = res[0];
    L->align_heldout = res[1];
    L->align_ood = res[2];
    L->s_align = res[2] - res[1];
    return SP_OK;
}

/* Units: Hungarian matching on fit-share correlations; drops scored on the held-out and OOD sets. */
static sp_status pair_units(sp_splinter_layer *L, pair_work *w, const sp_splinter_options *opt)
{
    const size_t da = w->a[0]->size2, db = w->b[0]->size2, tr = da > db;
    const size_t rows = tr ? db : da, cols = tr ? da : db;
    gsl_matrix *C = gsl_matrix_alloc(rows, cols);
    size_t *match = malloc(rows * sizeof *match);
    double *scratch = malloc(2 * cols * sizeof *scratch);
    sp_status st = SP_OK;
    if (!C || !match || !scratch) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for unit matching of widths %zu and %zu", da, db);
        goto done;
    }
    for (int s = 0; s < 3; s++) {
        gsl_matrix_memcpy(w->wa[s], w->a[s]);
        gsl_matrix_memcpy(w->wb[s], w->b[s]);
        standardise_columns(w->wa[s], scratch, scratch + cols);
        standardise_columns(w->wb[s], scratch, scratch + cols);
    }
    if (tr)
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, w->wb[0], w->wa[0], 0.0, C);
    else
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, w->wa[0], w->wb[0], 0.0, C);
    if ((st = sp_assignment_max(match, C->data, rows, cols)) != SP_OK) goto done;
    size_t kept = 0, dropped = 0;
    double sum_id = 0.0, sum_ood = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const size_t ia = tr ? match[r] : r, ib = tr ? r : match[r];
        const double c_id = column_dot(w->wa[1], ia, w->wb[1], ib);
        const double c_ood = column_dot(w->wa[2], ia, w->wb[2], ib);
        if (!(c_id >= opt->unit_min_corr)) continue;
        kept++;
        sum_id += c_id;
        sum_ood += c_ood;
        dropped += c_id - c_ood > opt->unit_delta;
    }
    L->unit_pairs = kept;
    L->unit_corr_id = kept ? sum_id / (double)kept : NAN;
    L->unit_corr_ood = kept ? sum_ood / (double)kept : NAN;
    L->unit_splinter_frac = kept ? (double)dropped / (double)kept : NAN;
done:
    gsl_matrix_free(C);
    free(match);
    free(scratch);
    return st;
}

/* Probes on each model's fit share, in coordinates centred by the fit means and scaled to unit RMS row
 * norm (an isotropic scale, so the orthogonal map R still relates the two coordinate systems). */
static sp_status pair_probes(sp_splinter_layer *L, pair_work *w, size_t C, const sp_splinter_options *opt)
{
    const size_t da = w->a[0]->size2, db = w->b[0]->size2;
    const size_t dmax = da > db ? da : db, nmax = w->n[0] > w->n[1] ? (w->n[0] > w->n[2] ? w->n[0] : w->n[2])
                                                                    : (w->n[1] > w->n[2] ? w->n[1] : w->n[2]);
    double *mu = malloc(dmax * sizeof *mu), *Wa = malloc(da * C * sizeof *Wa), *Wb = malloc(db * C * sizeof *Wb);
    double *ba = malloc(C * sizeof *ba), *bb = malloc(C * sizeof *bb);
    int32_t *pa = malloc(nmax * sizeof *pa), *pb = malloc(nmax * sizeof *pb);
    sp_status st = SP_OK;
    if (!mu || !Wa || !Wb || !ba || !bb || !pa || !pb) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for probes of widths %zu and %zu", da, db);
        goto done;
    }
    for (int side = 0; side < 2; side++) {
        gsl_matrix **raw = side ? w->b : w->a, **wk = side ? w->wb : w->wa;
        double scale;
        for (int s = 0; s < 3; s++) gsl_matrix_memcpy(wk[s], raw[s]);
        centre_scale(wk[0], mu, &scale, 1);
        scale /= sqrt((double)w->n[0]);
        gsl_matrix_scale(wk[0], sqrt((double)w->n[0]));
        centre_scale(wk[1], mu, &scale, 0);
        centre_scale(wk[2], mu, &scale, 0);
        const size_t d = side ? db : da;
        if ((st = sp_probe_fit(side ? Wb : Wa, side ? bb : ba, wk[0]->data, w->y_fit, w->n[0], d, C, opt->probe_l2,
                               opt->probe_max_iter)) != SP_OK)
            goto done;
    }
    size_t ok_a = 0, ok_b = 0, agree = 0;
    sp_probe_predict(pa, Wa, ba, w->wa[1]->data, w->n[1], da, C);
    sp_probe_predict(pb, Wb, bb, w->wb[1]->data, w->n[1], db, C);
    for (size_t i = 0; i < w->n[1]; i++) {
        ok_a += pa[i] == w->y_ho[i];
        ok_b += pb[i] == w->y_ho[i];
        agree += pa[i] == pb[i];
    }
    L->probe_acc_a = (double)ok_a / (double)w->n[1];
    L->probe_acc_b = (double)ok_b / (double)w->n[1];
    L->probe_agree_id = (double)agree / (double)w->n[1];
    sp_probe_predict(pa, Wa, ba, w->wa[2]->data, w->n[2], da, C);
    sp_probe_predict(pb, Wb, bb, w->wb[2]->data, w->n[2], db, C);
    agree = 0;
    for (size_t i = 0; i < w->n[2]; i++) agree += pa[i] == pb[i];
    L->probe_agree_ood = (double)agree / (double)w->n[2];
    L->s_probe = L->probe_agree_id - L->probe_agree_ood;
    /* Softmax ignores a vector added to every class column, so compare class-centred weights: in model a's
     * coordinates model b's probe reads x_a R W_b. */
    for (int side = 0; side < 2; side++) {
        double *W = side ? Wb : Wa;
        const size_t d = side ? db : da;
        for (size_t j = 0; j < d; j++) {
            double m = 0.0;
            for (size_t c = 0; c < C; c++) m += W[j * C + c];
            for (size_t c = 0; c < C; c++) W[j * C + c] -= m / (double)C;
        }
    }
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (size_t j = 0; j < da; j++)
        for (size_t c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t k = 0; k < db; k++) s += w->R->data[j * db + k] * Wb[k * C + c];
            dot += Wa[j * C + c] * s;
            na += Wa[j * C + c] * Wa[j * C + c];
            nb += s * s;
        }
    L->probe_cosine = na > 0.0 && nb > 0.0 ? dot / sqrt(na * nb) : NAN;
    L->has_probes = 1;
done:
    free(mu), free(Wa), free(Wb), free(ba), free(bb), free(pa), free(pb);
    return st;
}

static sp_status pair_check(const float *a_id, const float *b_id, size_t n_id, const float *a_ood,
                            const float *b_ood, size_t n_ood, size_t da, size_t db, const sp_splinter_options *opt)
{
    if (!a_id || !b_id || !a_ood || !b_ood || da == 0 || db == 0)
        return sp_fail(SP_ERR_USAGE, "splintering needs ID and OOD activations of both models (widths %zu, %zu)",
                       da, db);
    if (n_id < 8 || n_ood < 4)
        return sp_fail(SP_ERR_USAGE, "splintering needs >= 8 ID and >= 4 OOD inputs (got %zu and %zu)", n_id, n_ood);
    if (!(opt->fit_fraction > 0.0 && opt->fit_fraction < 1.0) || !(opt->probe_l2 > 0.0) || opt->probe_max_iter < 1 ||
        !(opt->unit_delta >= 0.0))
        return sp_fail(SP_ERR_USAGE, "splinter options out of range (fit share %g must be in (0, 1), probe l2 %g > 0, "
                                     "iterations %d >= 1, unit delta %g >= 0)",
                       opt->fit_fraction, opt->probe_l2, opt->probe_max_iter, opt->unit_delta);
    return SP_OK;
}

sp_status sp_splinter_pair(sp_splinter_layer *out, const float *a_id, const float *b_id, size_t n_id,
                           const float *a_ood, const float *b_ood, size_t n_ood, size_t da, size_t db,
                           const int32_t *labels_id, size_t n_classes, const sp_splinter_options *opt)
{
    sp_status st = pair_check(a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, opt);
    if (st != SP_OK) return st;
    if (labels_id && n_classes < 2) return sp_fail(SP_ERR_USAGE, "probes need >= 2 classes (got %zu)", n_classes);
    if (labels_id)
        for (size_t i = 0; i < n_id; i++)
            if (labels_id[i] < 0 || (size_t)labels_id[i] >= n_classes)
                return sp_fail(SP_ERR_INPUT, "label %d of ID input %zu is outside [0, %zu); check the data set's "
                                             "label column", (int)labels_id[i], i, n_classes);
    sp_splinter_layer L;
    memset(&L, 0, sizeof L);
    L.probe_acc_a = L.probe_acc_b = L.probe_agree_id = L.probe_agree_ood = L.s_probe = L.probe_cosine = NAN;

    /* Representational: no fitting, all inputs of each split. */
    double lin[2], deb[2], proc[2];
    if ((st = sp_similarity_cross(&lin[0], &deb[0], &proc[0], &a_id, &da, 1, &b_id, &db, 1, n_id)) != SP_OK ||
        (st = sp_similarity_cross(&lin[1], &deb[1], &proc[1], &a_ood, &da, 1, &b_ood, &db, 1, n_ood)) != SP_OK)
        return st;
    L.sim_id[SP_SIM_CKA] = lin[0];
    L.sim_ood[SP_SIM_CKA] = lin[1];
    L.sim_id[SP_SIM_DCKA] = deb[0];
    L.sim_ood[SP_SIM_DCKA] = deb[1];
    L.sim_id[SP_SIM_PROCRUSTES] = 1.0 - proc[0] / 2.0;
    L.sim_ood[SP_SIM_PROCRUSTES] = 1.0 - proc[1] / 2.0;
    for (int m = 0; m < SP_SIM_MEASURES; m++) L.s_rep[m] = L.sim_id[m] - L.sim_ood[m];
    L.align_ood_refit = proc[1];

    /* The fit / held-out partition: a seeded shuffle, each part in input order. */
    pair_work w;
    memset(&w, 0, sizeof w);
    size_t *idx = malloc(n_id * sizeof *idx);
    gsl_rng *rng = sp_rng_alloc(opt->seed);
    if (!idx || !rng) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for the fit / held-out partition");
        goto done;
    }
    for (size_t i = 0; i < n_id; i++) idx[i] = i;
    gsl_ran_shuffle(rng, idx, n_id, sizeof *idx);
    size_t n_fit = (size_t)lround(opt->fit_fraction * (double)n_id);
    n_fit = n_fit < 4 ? 4 : n_fit > n_id - 4 ? n_id - 4 : n_fit;
    qsort(idx, n_fit, sizeof *idx, size_cmp);
    qsort(idx + n_fit, n_id - n_fit, sizeof *idx, size_cmp);
    w.n[0] = n_fit;
    w.n[1] = n_id - n_fit;
    w.n[2] = n_ood;
    const size_t *rows[3] = {idx, idx + n_fit, NULL};
    const float *srca[3] = {a_id, a_id, a_ood}, *srcb[3] = {b_id, b_id, b_ood};
    for (int s = 0; s < 3; s++) {
        w.a[s] = rows_f64(srca[s], rows[s], w.n[s], da);
        w.b[s] = rows_f64(srcb[s], rows[s], w.n[s], db);
        w.wa[s] = gsl_matrix_alloc(w.n[s], da);
        w.wb[s] = gsl_matrix_alloc(w.n[s], db);
        if (!w.a[s] || !w.b[s] || !w.wa[s] || !w.wb[s]) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory for %zu inputs of widths %zu and %zu", w.n[s], da, db);
            goto done;
        }
    }
    w.R = gsl_matrix_alloc(da, db);
    if (!w.R) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu map", da, db);
        goto done;
    }
    sp_gsl_quiet(); /* GSL's default handler aborts; we return a status instead */
    if ((st = pair_alignment(&L, &w)) != SP_OK || (st = pair_units(&L, &w, opt)) != SP_OK) goto done;
    if (labels_id) {
        w.y_fit = malloc(w.n[0] * sizeof *w.y_fit);
        w.y_ho = malloc(w.n[1] * sizeof *w.y_ho);
        if (!w.y_fit || !w.y_ho) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory for probe labels");
            goto done;
        }
        int seen_other = 0;
        for (size_t i = 0; i < w.n[0]; i++) {
            w.y_fit[i] = labels_id[idx[i]];
            seen_other |= w.y_fit[i] != w.y_fit[0];
        }
        for (size_t i = 0; i < w.n[1]; i++) w.y_ho[i] = labels_id[idx[n_fit + i]];
        if (!seen_other) {
            st = sp_fail(SP_ERR_INPUT, "the %zu ID inputs that fit the probes all have label %d; a probe needs two "
                                       "classes (use more ID inputs or another seed)", w.n[0], (int)w.y_fit[0]);
            goto done;
        }
        if ((st = pair_probes(&L, &w, n_classes, opt)) != SP_OK) goto done;
    }
    *out = L;
done:
    pair_work_free(&w);
    free(idx);
    gsl_rng_free(rng);
    return st;
}

/* ------------------------------------------------------------------ bootstrap */

/* Percentile (linear interpolation between order statistics) of sorted x[0..n). */
static double quantile_sorted(const double *x, size_t n, double q)
{
    const double h = q * (double)(n - 1);
    const size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    return x[lo] + (h - (double)lo) * (x[hi] - x[lo]);
}

static int double_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Interval of the finite values among v[0..n) (sorted in place). */
static void interval_of(sp_interval *ci, double *v, size_t n, double level)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) v[k++] = v[i];
    if (k == 0) {
        ci->lo = ci->hi = NAN;
        return;
    }
    qsort(v, k, sizeof *v, double_cmp);
    ci->lo = quantile_sorted(v, k, (1.0 - level) / 2.0);
    ci->hi = quantile_sorted(v, k, (1.0 + level) / 2.0);
}

/* One replicate: gathers the resampled rows and reruns the pair measures without probes. */
static sp_status boot_one(sp_splinter_layer *L, const float *a_id, const float *b_id, size_t n_id,
                          const float *a_ood, const float *b_ood, size_t n_ood, size_t da, size_t db,
                          const size_t *ri, const size_t *ro, const sp_splinter_options *opt)
{
    float *buf = malloc((n_id + n_ood) * (da + db) * sizeof *buf);
    if (!buf) return sp_fail(SP_ERR_NOMEM, "out of memory for a bootstrap resample");
    float *ai = buf, *bi = ai + n_id * da, *ao = bi + n_id * db, *bo = ao + n_ood * da;
    for (size_t i = 0; i < n_id; i++) {
        memcpy(ai + i * da, a_id + ri[i] * da, da * sizeof *ai);
        memcpy(bi + i * db, b_id + ri[i] * db, db * sizeof *bi);
    }
    for (size_t i = 0; i < n_ood; i++) {
        memcpy(ao + i * da, a_ood + ro[i] * da, da * sizeof *ao);
        memcpy(bo + i * db, b_ood + ro[i] * db, db * sizeof *bo);
    }
    sp_status st = sp_splinter_pair(L, ai, bi, n_id, ao, bo, n_ood, da, db, NULL, 0, opt);
    free(buf);
    return st;
}

sp_status sp_splinter_pair_bootstrap(sp_splinter_intervals *ci, const float *a_id, const float *b_id,
                                     size_t n_id, const float *a_ood, const float *b_ood, size_t n_ood,
                                     size_t da, size_t db, const sp_splinter_options *opt, size_t n_boot,
                                     double level, uint64_t seed)
{
    if (n_boot < 2 || !(level > 0.0 && level < 1.0))
        return sp_fail(SP_ERR_USAGE, "bootstrap needs >= 2 resamples and a level in (0, 1) (got %zu, %g)", n_boot,
                       level);
    sp_splinter_layer L0;
    sp_status st = sp_splinter_pair(&L0, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, NULL, 0, opt);
    if (st != SP_OK) return st;
    const size_t K = SP_SIM_MEASURES + 2; /* s_rep per measure, s_align, unit fraction */
    size_t *ri = malloc(n_boot * n_id * sizeof *ri), *ro = malloc(n_boot * n_ood * sizeof *ro);
    double *stat = malloc(K * n_boot * sizeof *stat);
    sp_status *bst = malloc(n_boot * sizeof *bst);
    gsl_rng *rng = sp_rng_alloc(seed);
    if (!ri || !ro || !stat || !bst || !rng) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for %zu bootstrap resamples", n_boot);
        goto done;
    }
    /* All resamples are drawn up front from one generator, so they do not depend on the thread count. */
    for (size_t b = 0; b < n_boot; b++) {
        for (size_t i = 0; i < n_id; i++) ri[b * n_id + i] = gsl_rng_uniform_int(rng, n_id);
        for (size_t i = 0; i < n_ood; i++) ro[b * n_ood + i] = gsl_rng_uniform_int(rng, n_ood);
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t b = 0; b < n_boot; b++) {
        sp_splinter_layer L;
        bst[b] = boot_one(&L, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, ri + b * n_id, ro + b * n_ood, opt);
        if (bst[b] != SP_OK) continue;
        for (int m = 0; m < SP_SIM_MEASURES; m++) stat[m * n_boot + b] = L.s_rep[m];
        stat[SP_SIM_MEASURES * n_boot + b] = L.s_align;
        stat[(SP_SIM_MEASURES + 1) * n_boot + b] = L.unit_splinter_frac;
    }
    for (size_t b = 0; b < n_boot; b++)
        if (bst[b] != SP_OK) { /* rerun serially so this thread holds the message */
            sp_splinter_layer L;
            st = boot_one(&L, a_id, b_id, n_id, a_ood, b_ood, n_ood, da, db, ri + b * n_id, ro + b * n_ood, opt);
            st = st != SP_OK ? sp_fail_context(st, "bootstrap resample %zu", b)
                             : sp_fail(SP_ERR_STATE, "bootstrap resample %zu failed only in parallel", b);
            goto done;
        }
    for (int m = 0; m < SP_SIM_MEASURES; m++) {
        ci->s_rep[m].est = L0.s_rep[m];
        interval_of(&ci->s_rep[m], stat + m * n_boot, n_boot, level);
    }
    ci->s_align.est = L0.s_align;
    interval_of(&ci->s_align, stat + SP_SIM_MEASURES * n_boot, n_boot, level);
    ci->unit_splinter_frac.est = L0.unit_splinter_frac;
    interval_of(&ci->unit_splinter_frac, stat + (SP_SIM_MEASURES + 1) * n_boot, n_boot, level);
done:
    free(ri);
    free(ro);
    free(stat);
    free(bst);
    gsl_rng_free(rng);
    return st;
}
