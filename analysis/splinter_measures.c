/* splinter_measures.c: feature splintering of one model pair and one layer (see splinter_measures.h and
 * docs/similarity.md for the definitions; probes live in splinter_probe.c, intervals in
 * splinter_bootstrap.c).
 *
 * Per model (prepared once): the fit / held-out partition, normalised double copies of the three input
 * sets, the probe and its predictions. Per pair: two similarity Grams (ID, OOD), one d_a x d_b SVD for the
 * orthogonal map, one d_a x d_b correlation matrix and its Hungarian matching. Fitted objects use the fit
 * share of the ID inputs only.
 */
#include "splinter_measures.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cca_map.h"
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
    opt->cca_k = 10;
    opt->cca_ridge = 0.01;
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

/* ------------------------------------------------------------------ one model, prepared once */

/* Sets: [0] fit share of the ID inputs, [1] held-out ID inputs, [2] OOD inputs. */
struct sp_splinter_model {
    size_t d, n_id, n[3];
    uint64_t seed;           /* the partition's seed, checked when two models are paired */
    double fit_fraction;
    const float *id, *ood;   /* borrowed, for the representational measures */
    gsl_matrix *al[3];       /* each set centred by its own means, unit Frobenius norm (alignment) */
    gsl_matrix *st[3];       /* each set's columns centred and scaled to unit norm (unit correlations) */
    double *Wcca;            /* [d, d] ridge whitener of al[0] for the CCA map */
    size_t n_classes;        /* 0: no probe */
    double *W;               /* [d, C] probe weights minus each row's mean over classes */
    int32_t *pred[2];        /* probe predictions on the held-out and OOD inputs */
    double probe_acc;        /* held-out ID accuracy */
    size_t n_concepts;       /* 0: no concept probes */
    double *cW;              /* [n_concepts][d, 2] class-centred concept probe weights */
    int32_t *cpred;          /* [n_concepts][n[1] + n[2]] predictions on held-out then OOD inputs */
    double *cacc;            /* [n_concepts][4] accuracy on held-out ID, on OOD, then balanced accuracy on
                              * each (NAN if undefined) */
    unsigned char *cdefined; /* [n_concepts] 0 when the fit share held one class only */
};

void sp_splinter_model_free(sp_splinter_model *m)
{
    if (!m) return;
    for (int s = 0; s < 3; s++) {
        gsl_matrix_free(m->al[s]);
        gsl_matrix_free(m->st[s]);
    }
    free(m->W);
    free(m->Wcca);
    free(m->pred[0]);
    free(m->pred[1]);
    free(m->cW);
    free(m->cpred);
    free(m->cacc);
    free(m->cdefined);
    free(m);
}

/* Probe coordinates, in place: every set centred by the fit means and scaled so the fit rows have unit RMS
 * norm (an isotropic scale, so the orthogonal map between two models still relates their probe coordinates). */
static void probe_coordinates(gsl_matrix *raw[3], size_t n_fit, double *mu)
{
    double scale;
    centre_scale(raw[0], mu, &scale, 1);
    gsl_matrix_scale(raw[0], sqrt((double)n_fit));
    scale /= sqrt((double)n_fit);
    centre_scale(raw[1], mu, &scale, 0);
    centre_scale(raw[2], mu, &scale, 0);
}

/* One probe (label or concept) on probe coordinates X[3]: W [d, C] minus each row's mean over classes
 * (softmax ignores a vector added to every class column), predictions on the held-out and OOD sets. */
static sp_status probe_fit_predict(double *W, int32_t *pred_ho, int32_t *pred_ood, gsl_matrix *const X[3],
                                   const int32_t *y_fit, size_t C, const sp_splinter_options *opt)
{
    const size_t d = X[0]->size2;
    double *bias = malloc(C * sizeof *bias);
    if (!bias) return sp_fail(SP_ERR_NOMEM, "out of memory for a probe of width %zu", d);
    sp_status st = sp_probe_fit(W, bias, X[0]->data, y_fit, X[0]->size1, d, C, opt->probe_l2, opt->probe_max_iter);
    if (st == SP_OK) {
        sp_probe_predict(pred_ho, W, bias, X[1]->data, X[1]->size1, d, C);
        sp_probe_predict(pred_ood, W, bias, X[2]->data, X[2]->size1, d, C);
        for (size_t j = 0; j < d; j++) {
            double mean = 0.0;
            for (size_t c = 0; c < C; c++) mean += W[j * C + c];
            for (size_t c = 0; c < C; c++) W[j * C + c] -= mean / (double)C;
        }
    }
    free(bias);
    return st;
}

static double accuracy(const int32_t *pred, const int32_t *y, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += pred[i] == y[i];
    return (double)ok / (double)n;
}

/* Binary balanced accuracy: the mean recall over the classes present among y (a probe that always predicts
 * the majority class scores 0.5 whatever the base rate). */
static double balanced_accuracy(const int32_t *pred, const int32_t *y, size_t n)
{
    size_t hit[2] = {0, 0}, count[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        count[y[i] != 0]++;
        hit[y[i] != 0] += (pred[i] != 0) == (y[i] != 0);
    }
    double sum = 0.0;
    int classes = 0;
    for (int c = 0; c < 2; c++)
        if (count[c]) sum += (double)hit[c] / (double)count[c], classes++;
    return classes ? sum / classes : NAN;
}

/* The label probe (y: fit labels then held-out labels, in partition order). */
static sp_status model_probe(sp_splinter_model *m, gsl_matrix *const X[3], const int32_t *y,
                             const sp_splinter_options *opt)
{
    const size_t d = m->d, C = m->n_classes;
    m->W = malloc(d * C * sizeof *m->W);
    m->pred[0] = malloc(m->n[1] * sizeof *m->pred[0]);
    m->pred[1] = malloc(m->n[2] * sizeof *m->pred[1]);
    if (!m->W || !m->pred[0] || !m->pred[1]) return sp_fail(SP_ERR_NOMEM, "out of memory for a probe of width %zu", d);
    sp_status st = probe_fit_predict(m->W, m->pred[0], m->pred[1], X, y, C, opt);
    if (st == SP_OK) m->probe_acc = accuracy(m->pred[0], y + m->n[0], m->n[1]);
    return st;
}

/* Binary concept probes: concept k's targets on the fit, held-out and OOD inputs (idx: the partition). A
 * concept whose fit share holds one class only is left undefined (cdefined[k] = 0), not an error: its
 * rarity is a property of the data, reported by the caller. */
static sp_status model_concepts(sp_splinter_model *m, gsl_matrix *const X[3], const size_t *idx,
                                const sp_concept_targets *ct, const sp_splinter_options *opt)
{
    const size_t d = m->d, K = ct->n_concepts, n_id = m->n_id, n_fit = m->n[0], n_ho = m->n[1], n_ood = m->n[2];
    m->n_concepts = K;
    m->cW = calloc(K * d * 2, sizeof *m->cW);
    m->cpred = calloc(K * (n_ho + n_ood), sizeof *m->cpred);
    m->cacc = malloc(K * 4 * sizeof *m->cacc);
    m->cdefined = calloc(K, 1);
    int32_t *y = malloc((n_id + n_ood) * sizeof *y);
    sp_status st = m->cW && m->cpred && m->cacc && m->cdefined && y
                       ? SP_OK
                       : sp_fail(SP_ERR_NOMEM, "out of memory for %zu concept probes of width %zu", K, d);
    for (size_t k = 0; k < K && st == SP_OK; k++) {
        const uint8_t *tid = ct->id + k * n_id, *tood = ct->ood + k * n_ood;
        size_t pos = 0;
        for (size_t i = 0; i < n_id; i++) y[i] = tid[idx[i]] != 0; /* fit, then held-out */
        for (size_t i = 0; i < n_ood; i++) y[n_id + i] = tood[i] != 0;
        for (size_t i = 0; i < n_fit; i++) pos += (size_t)y[i];
        m->cacc[4 * k] = m->cacc[4 * k + 1] = m->cacc[4 * k + 2] = m->cacc[4 * k + 3] = NAN;
        if (pos == 0 || pos == n_fit) continue;
        int32_t *pho = m->cpred + k * (n_ho + n_ood);
        if ((st = probe_fit_predict(m->cW + k * d * 2, pho, pho + n_ho, X, y, 2, opt)) != SP_OK) break;
        m->cacc[4 * k] = accuracy(pho, y + n_fit, n_ho);
        m->cacc[4 * k + 1] = accuracy(pho + n_ho, y + n_id, n_ood);
        m->cacc[4 * k + 2] = balanced_accuracy(pho, y + n_fit, n_ho);
        m->cacc[4 * k + 3] = balanced_accuracy(pho + n_ho, y + n_id, n_ood);
        m->cdefined[k] = 1;
    }
    free(y);
    return st;
}

sp_status sp_splinter_model_prepare(sp_splinter_model **out, const float *id, size_t n_id, const float *ood,
                                    size_t n_ood, size_t d, const int32_t *labels_id, size_t n_classes,
                                    const sp_splinter_options *opt)
{
    return sp_splinter_model_prepare_concepts(out, id, n_id, ood, n_ood, d, labels_id, n_classes, NULL, opt);
}

sp_status sp_splinter_model_prepare_concepts(sp_splinter_model **out, const float *id, size_t n_id, const float *ood,
                                             size_t n_ood, size_t d, const int32_t *labels_id, size_t n_classes,
                                             const sp_concept_targets *concepts, const sp_splinter_options *opt)
{
    *out = NULL;
    if (!id || !ood || d == 0)
        return sp_fail(SP_ERR_USAGE, "splintering needs ID and OOD activations of a model (width %zu)", d);
    if (n_id < 8 || n_ood < 4)
        return sp_fail(SP_ERR_USAGE, "splintering needs >= 8 ID and >= 4 OOD inputs (got %zu and %zu)", n_id, n_ood);
    if (!(opt->fit_fraction > 0.0 && opt->fit_fraction < 1.0) || !(opt->probe_l2 > 0.0) || opt->probe_max_iter < 1 ||
        !(opt->unit_delta >= 0.0) || opt->cca_k < 1 || !(opt->cca_ridge > 0.0))
        return sp_fail(SP_ERR_USAGE, "splinter options out of range (fit share %g must be in (0, 1), probe l2 %g > 0, "
                                     "iterations %d >= 1, unit delta %g >= 0, CCA directions %zu >= 1, CCA ridge %g > 0)",
                       opt->fit_fraction, opt->probe_l2, opt->probe_max_iter, opt->unit_delta, opt->cca_k,
                       opt->cca_ridge);
    if (labels_id && n_classes < 2) return sp_fail(SP_ERR_USAGE, "probes need >= 2 classes (got %zu)", n_classes);
    if (labels_id)
        for (size_t i = 0; i < n_id; i++)
            if (labels_id[i] < 0 || (size_t)labels_id[i] >= n_classes)
                return sp_fail(SP_ERR_INPUT, "label %d of ID input %zu is outside [0, %zu); check the data set's "
                                             "label column", (int)labels_id[i], i, n_classes);
    if (concepts && concepts->n_concepts && (!concepts->id || !concepts->ood))
        return sp_fail(SP_ERR_USAGE, "concept probes need targets on the ID and the OOD inputs");
    sp_gsl_quiet(); /* GSL's default handler aborts; we return a status instead */
    sp_splinter_model *m = calloc(1, sizeof *m);
    size_t *idx = malloc(n_id * sizeof *idx);
    int32_t *y = labels_id ? malloc(n_id * sizeof *y) : NULL;
    double *scratch = malloc(2 * d * sizeof *scratch);
    gsl_rng *rng = sp_rng_alloc(opt->seed);
    gsl_matrix *raw[3] = {NULL, NULL, NULL};
    sp_status st = SP_OK;
    if (!m || !idx || (labels_id && !y) || !scratch || !rng) goto nomem;
    /* The fit / held-out partition: a seeded shuffle, each part in input order. It depends only on n_id and
     * the seed, so every model of a run gets the same one. */
    for (size_t i = 0; i < n_id; i++) idx[i] = i;
    gsl_ran_shuffle(rng, idx, n_id, sizeof *idx);
    size_t n_fit = (size_t)lround(opt->fit_fraction * (double)n_id);
    n_fit = n_fit < 4 ? 4 : n_fit > n_id - 4 ? n_id - 4 : n_fit;
    qsort(idx, n_fit, sizeof *idx, size_cmp);
    qsort(idx + n_fit, n_id - n_fit, sizeof *idx, size_cmp);
    m->d = d;
    m->n_id = n_id;
    m->n[0] = n_fit;
    m->n[1] = n_id - n_fit;
    m->n[2] = n_ood;
    m->seed = opt->seed;
    m->fit_fraction = opt->fit_fraction;
    m->id = id;
    m->ood = ood;
    const size_t *rows[3] = {idx, idx + n_fit, NULL};
    const float *src[3] = {id, id, ood};
    for (int s = 0; s < 3; s++) {
        raw[s] = rows_f64(src[s], rows[s], m->n[s], d);
        m->al[s] = gsl_matrix_alloc(m->n[s], d);
        m->st[s] = gsl_matrix_alloc(m->n[s], d);
        if (!raw[s] || !m->al[s] || !m->st[s]) goto nomem;
        double scale;
        gsl_matrix_memcpy(m->al[s], raw[s]);
        centre_scale(m->al[s], scratch, &scale, 1);
        gsl_matrix_memcpy(m->st[s], raw[s]);
        standardise_columns(m->st[s], scratch, scratch + d);
    }
    if (!(m->Wcca = malloc(d * d * sizeof *m->Wcca))) goto nomem;
    if ((st = sp_cca_whitener(m->Wcca, m->al[0]->data, n_fit, d, opt->cca_ridge)) != SP_OK) goto fail;
    if (labels_id) {
        int two_classes = 0;
        for (size_t i = 0; i < n_id; i++) y[i] = labels_id[idx[i]]; /* fit labels, then held-out labels */
        for (size_t i = 1; i < n_fit; i++) two_classes |= y[i] != y[0];
        if (!two_classes) {
            st = sp_fail(SP_ERR_INPUT, "the %zu ID inputs that fit the probes all have label %d; a probe needs two "
                                       "classes (use more ID inputs or another seed)", n_fit, (int)y[0]);
            goto fail;
        }
        m->n_classes = n_classes;
    }
    if (labels_id || (concepts && concepts->n_concepts)) probe_coordinates(raw, n_fit, scratch);
    if (labels_id && (st = model_probe(m, raw, y, opt)) != SP_OK) goto fail;
    if (concepts && concepts->n_concepts && (st = model_concepts(m, raw, idx, concepts, opt)) != SP_OK) goto fail;
    *out = m;
    m = NULL;
    goto done;
nomem:
    st = sp_fail(SP_ERR_NOMEM, "out of memory preparing %zu + %zu inputs of width %zu", n_id, n_ood, d);
fail:
    sp_splinter_model_free(m);
done:
    for (int s = 0; s < 3; s++) gsl_matrix_free(raw[s]);
    free(idx);
    free(y);
    free(scratch);
    gsl_rng_free(rng);
    return st;
}

/* ------------------------------------------------------------------ one pair */

/* S_align: R fitted on the fit share (both sides centred, unit norm); residuals on every set. */
static sp_status pair_alignment(sp_splinter_layer *L, gsl_matrix *R, const sp_splinter_model *a,
                                const sp_splinter_model *b)
{
    sp_status st = procrustes_map(R, a->al[0], b->al[0]);
    if (st != SP_OK) return st;
    double res[3];
    for (int s = 0; s < 3; s++) {
        gsl_matrix *AR = gsl_matrix_alloc(a->n[s], b->d);
        if (!AR) return sp_fail(SP_ERR_NOMEM, "out of memory for the alignment residual");
        res[s] = map_residual(a->al[s], R, b->al[s], AR);
        gsl_matrix_free(AR);
    }
    L->align_fit = res[0];
    L->align_heldout = res[1];
    L->align_ood = res[2];
    L->s_align = res[2] - res[1];
    return SP_OK;
}

/* S_align with the CCA map: fitted on the fit share (each side's whitener prepared with its model), scored
 * on every set. */
static sp_status pair_alignment_cca(sp_splinter_layer *L, const sp_splinter_model *a, const sp_splinter_model *b,
                                    const sp_splinter_options *opt)
{
    const size_t da = a->d, db = b->d, r = da < db ? da : db, k = opt->cca_k < r ? opt->cca_k : r;
    double *Ua = malloc(da * k * sizeof *Ua), *Ub = malloc(db * k * sizeof *Ub), *s = malloc(k * sizeof *s);
    sp_status st = SP_OK;
    if (!Ua || !Ub || !s) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu CCA map", da, db);
        goto done;
    }
    if ((st = sp_cca_map_fit(Ua, Ub, s, a->Wcca, b->Wcca, a->al[0]->data, b->al[0]->data, a->n[0], da, db, k)) != SP_OK)
        goto done;
    double score[3];
    for (int set = 0; set < 3 && st == SP_OK; set++)
        st = sp_cca_map_score(NULL, &score[set], Ua, Ub, a->al[set]->data, b->al[set]->data, a->n[set], da, db, k);
    if (st != SP_OK) goto done;
    L->align_cca_k = k;
    L->align_cca_fit = score[0];
    L->align_cca_heldout = score[1];
    L->align_cca_ood = score[2];
    L->s_align_cca = score[1] - score[2];
done:
    free(Ua);
    free(Ub);
    free(s);
    return st;
}

/* Units: Hungarian matching on fit-share correlations; drops scored on the held-out and OOD sets. */
static sp_status pair_units(sp_splinter_layer *L, const sp_splinter_model *a, const sp_splinter_model *b,
                            const sp_splinter_options *opt)
{
    const size_t da = a->d, db = b->d, tr = da > db;
    const size_t rows = tr ? db : da, cols = tr ? da : db;
    gsl_matrix *C = gsl_matrix_alloc(rows, cols);
    size_t *match = malloc(rows * sizeof *match);
    sp_status st = SP_OK;
    if (!C || !match) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory for unit matching of widths %zu and %zu", da, db);
        goto done;
    }
    if (tr)
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, b->st[0], a->st[0], 0.0, C);
    else
        gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, a->st[0], b->st[0], 0.0, C);
    if ((st = sp_assignment_max(match, C->data, rows, cols)) != SP_OK) goto done;
    size_t kept = 0, dropped = 0;
    double sum_id = 0.0, sum_ood = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const size_t ia = tr ? match[r] : r, ib = tr ? r : match[r];
        const double c_id = column_dot(a->st[1], ia, b->st[1], ib);
        const double c_ood = column_dot(a->st[2], ia, b->st[2], ib);
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
    return st;
}

/* Cosine between W_a [da, C] and R W_b (model b's probe read in a's coordinates: x_a R W_b). */
static double probe_cosine(const double *Wa, const double *Wb, const gsl_matrix *R, size_t da, size_t db, size_t C)
{
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (size_t j = 0; j < da; j++)
        for (size_t c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t k = 0; k < db; k++) s += R->data[j * db + k] * Wb[k * C + c];
            dot += Wa[j * C + c] * s;
            na += Wa[j * C + c] * Wa[j * C + c];
            nb += s * s;
        }
    return na > 0.0 && nb > 0.0 ? dot / sqrt(na * nb) : NAN;
}

static double agreement(const int32_t *x, const int32_t *y, size_t n)
{
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) agree += x[i] == y[i];
    return (double)agree / (double)n;
}

/* Label-probe agreement from the stored predictions and the cosine of the probe directions. */
static void pair_probes(sp_splinter_layer *L, const gsl_matrix *R, const sp_splinter_model *a,
                        const sp_splinter_model *b)
{
    L->probe_agree_id = agreement(a->pred[0], b->pred[0], a->n[1]);
    L->probe_agree_ood = agreement(a->pred[1], b->pred[1], a->n[2]);
    L->s_probe = L->probe_agree_id - L->probe_agree_ood;
    L->probe_acc_a = a->probe_acc;
    L->probe_acc_b = b->probe_acc;
    L->probe_cosine = probe_cosine(a->W, b->W, R, a->d, b->d, a->n_classes);
    L->has_probes = 1;
}

/* The same per concept; undefined (NAN, defined = 0) when either model's concept probe is. */
static void pair_concepts(sp_concept_pair *out, const gsl_matrix *R, const sp_splinter_model *a,
                          const sp_splinter_model *b)
{
    const size_t n_ho = a->n[1], n_ood = a->n[2];
    for (size_t k = 0; k < a->n_concepts; k++) {
        sp_concept_pair *c = &out[k];
        c->defined = a->cdefined[k] && b->cdefined[k];
        c->acc_id_a = a->cacc[4 * k], c->acc_ood_a = a->cacc[4 * k + 1];
        c->acc_id_b = b->cacc[4 * k], c->acc_ood_b = b->cacc[4 * k + 1];
        c->bacc_id_a = a->cacc[4 * k + 2], c->bacc_ood_a = a->cacc[4 * k + 3];
        c->bacc_id_b = b->cacc[4 * k + 2], c->bacc_ood_b = b->cacc[4 * k + 3];
        c->agree_id = c->agree_ood = c->s_probe = c->cosine = NAN;
        if (!c->defined) continue;
        const int32_t *pa = a->cpred + k * (n_ho + n_ood), *pb = b->cpred + k * (n_ho + n_ood);
        c->agree_id = agreement(pa, pb, n_ho);
        c->agree_ood = agreement(pa + n_ho, pb + n_ho, n_ood);
        c->s_probe = c->agree_id - c->agree_ood;
        c->cosine = probe_cosine(a->cW + k * a->d * 2, b->cW + k * b->d * 2, R, a->d, b->d, 2);
    }
}

sp_status sp_splinter_pair_prepared(sp_splinter_layer *out, const sp_splinter_model *a, const sp_splinter_model *b,
                                    const sp_splinter_options *opt)
{
    return sp_splinter_pair_concepts(out, NULL, a, b, opt);
}

sp_status sp_splinter_pair_concepts(sp_splinter_layer *out, sp_concept_pair *concepts, const sp_splinter_model *a,
                                    const sp_splinter_model *b, const sp_splinter_options *opt)
{
    if (a->n_id != b->n_id || a->n[2] != b->n[2] || a->seed != b->seed || a->fit_fraction != b->fit_fraction)
        return sp_fail(SP_ERR_USAGE, "models prepared on different inputs or partitions (ID %zu vs %zu, OOD %zu vs "
                                     "%zu inputs); prepare both with the same options and splits",
                       a->n_id, b->n_id, a->n[2], b->n[2]);
    if ((a->n_classes == 0) != (b->n_classes == 0) || a->n_classes != b->n_classes)
        return sp_fail(SP_ERR_USAGE, "one model was prepared with probes and the other without (or with other "
                                     "classes); give both the same labels");
    if (concepts && (a->n_concepts != b->n_concepts || a->n_concepts == 0))
        return sp_fail(SP_ERR_USAGE, "concept results asked for models prepared with %zu and %zu concepts; prepare "
                                     "both with the same concept targets", a->n_concepts, b->n_concepts);
    sp_splinter_layer L;
    memset(&L, 0, sizeof L);
    L.probe_acc_a = L.probe_acc_b = L.probe_agree_id = L.probe_agree_ood = L.s_probe = L.probe_cosine = NAN;

    /* Representational: no fitting, all inputs of each split. */
    double lin[2], deb[2], proc[2];
    sp_status st;
    if ((st = sp_similarity_cross(&lin[0], &deb[0], &proc[0], &a->id, &a->d, 1, &b->id, &b->d, 1, a->n_id)) !=
            SP_OK ||
        (st = sp_similarity_cross(&lin[1], &deb[1], &proc[1], &a->ood, &a->d, 1, &b->ood, &b->d, 1, a->n[2])) != SP_OK)
        return st;
    L.sim_id[SP_SIM_CKA] = lin[0];
    L.sim_ood[SP_SIM_CKA] = lin[1];
    L.sim_id[SP_SIM_DCKA] = deb[0];
    L.sim_ood[SP_SIM_DCKA] = deb[1];
    L.sim_id[SP_SIM_PROCRUSTES] = 1.0 - proc[0] / 2.0;
    L.sim_ood[SP_SIM_PROCRUSTES] = 1.0 - proc[1] / 2.0;
    for (int m = 0; m < SP_SIM_MEASURES; m++) L.s_rep[m] = L.sim_id[m] - L.sim_ood[m];
    L.align_ood_refit = proc[1];

    gsl_matrix *R = gsl_matrix_alloc(a->d, b->d);
    if (!R) return sp_fail(SP_ERR_NOMEM, "out of memory for a %zu x %zu map", a->d, b->d);
    if ((st = pair_alignment(&L, R, a, b)) == SP_OK && (st = pair_alignment_cca(&L, a, b, opt)) == SP_OK &&
        (st = pair_units(&L, a, b, opt)) == SP_OK) {
        if (a->n_classes) pair_probes(&L, R, a, b);
        if (concepts) pair_concepts(concepts, R, a, b);
        *out = L;
    }
    gsl_matrix_free(R);
    return st;
}

sp_status sp_splinter_pair(sp_splinter_layer *out, const float *a_id, const float *b_id, size_t n_id,
                           const float *a_ood, const float *b_ood, size_t n_ood, size_t da, size_t db,
                           const int32_t *labels_id, size_t n_classes, const sp_splinter_options *opt)
{
    sp_splinter_model *a = NULL, *b = NULL;
    sp_status st;
    if ((st = sp_splinter_model_prepare(&a, a_id, n_id, a_ood, n_ood, da, labels_id, n_classes, opt)) == SP_OK &&
        (st = sp_splinter_model_prepare(&b, b_id, n_id, b_ood, n_ood, db, labels_id, n_classes, opt)) == SP_OK)
        st = sp_splinter_pair_prepared(out, a, b, opt);
    sp_splinter_model_free(a);
    sp_splinter_model_free(b);
    return st;
}
