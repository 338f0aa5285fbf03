/* exact_run.c: the convex exact mode of `splinter analyze` (docs/metrics.md, "Exact viable prediction ranges").
 *
 * When RUN/models/ holds the exact L2 optimum of the linear family (variant "exact", linear-exact.h5), the
 * features are rebuilt from dataset.h5 with the model's spec, the optimum is re-polished in double precision
 * (the file stores float32 weights), and for a documented subset of every evaluation split the exact margin
 * range over {w : L(w) <= L(w*) + eps} is solved (exact_vpr.h), one example per OpenMP task. The seed-sampled
 * linear models (every other linear variant) are compared with it: a model is inside the set when its own
 * training objective is within eps, and its prediction must then lie inside the exact range. */
#include "run_internal.h"

#include <gsl/gsl_randist.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "exact_vpr.h"
#include "seeds.h"
#include "store.h"
#include "train_linear.h"

const char *const run_exact_summary_names[EXS_COUNT] = {
    "n_examples", "n_solved", "n_sampled", "n_sampled_in_set", "exact_ambiguity", "exact_ambiguity_solved",
    "sampled_ambiguity", "sampled_ambiguity_split", "exact_vpr_width", "sampled_vpr_width", "n_undecided",
    "n_unconverged", "n_violations", "max_violation", "solves"};

static double sigmoid(double a) { return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a)); }

void run_exact_free(run_exact *e)
{
    if (!e) return;
    for (size_t k = 0; k < e->n_splits; k++) {
        run_exact_split *x = &e->splits[k];
        free(x->idx), free(x->rows), free(x->label), free(x->weight), free(x->stratum), free(x->m_star);
        free(x->range);
        free(x->s_lo), free(x->s_hi), free(x->s_flip), free(x->summary);
    }
    free(e->splits);
    for (size_t m = 0; m < e->n_sampled; m++) free(e->sampled_names[m]);
    free(e->sampled_names), free(e->sampled_gap), free(e->model);
    free(e);
}

/* ---------------------------------------------------------------- model files */

/* The feature options and l2 of a linear model's spec_json. */
static sp_status spec_read(sp_ngram_options *f, double *l2, hid_t file, const char *path)
{
    char *text = NULL;
    sp_status st = sp_store_read_attr_str(file, "/", "spec_json", &text);
    if (st != SP_OK) return sp_fail_context(st, "%s", path);
    json_error_t err;
    json_t *o = json_loads(text, 0, &err);
    free(text);
    json_t *bits = o ? json_object_get(o, "bits") : NULL, *big = o ? json_object_get(o, "bigrams") : NULL;
    json_t *wt = o ? json_object_get(o, "weighting") : NULL, *nrm = o ? json_object_get(o, "l2_normalize") : NULL;
    json_t *jl2 = o ? json_object_get(o, "l2") : NULL;
    if (!json_is_integer(bits) || !json_is_boolean(big) || !json_is_string(wt) || !json_is_boolean(nrm) ||
        !json_is_number(jl2)) {
        json_decref(o);
        return sp_fail(SP_ERR_INPUT, "%s: spec_json lacks bits, bigrams, weighting, l2_normalize or l2; regenerate "
                       "the model with splinter train --family linear", path);
    }
    f->bits = (int)json_integer_value(bits);
    f->bigrams = json_is_true(big);
    f->weighting = strcmp(json_string_value(wt), "tf") == 0 ? SP_NGRAM_TF : SP_NGRAM_BINARY;
    f->l2_normalize = json_is_true(nrm);
    *l2 = json_number_value(jl2);
    json_decref(o);
    return sp_ngram_options_check(f);
}

/* d[F] = W[:,1] - W[:,0] and beta = b1 - b0 of a two-class linear model file. */
static sp_status weights_read(double *d, double *beta, hid_t file, const char *path, size_t F)
{
    int rank;
    hsize_t dims[4];
    float *W = NULL, *b = NULL;
    sp_status st = sp_store_read_f32(file, "/weights/W", &rank, dims, &W);
    if (st == SP_OK && (rank != 2 || dims[0] != F || dims[1] != 2))
        st = sp_fail(SP_ERR_INPUT, "%s: /weights/W is not [%zu, 2]: the model's features do not match the exact "
                     "model's; analyse models of one feature spec together", path, F);
    if (st == SP_OK) st = sp_store_read_f32(file, "/weights/b", &rank, dims, &b);
    if (st == SP_OK && (rank != 1 || dims[0] != 2)) st = sp_fail(SP_ERR_INPUT, "%s: /weights/b is not [2]", path);
    if (st == SP_OK) {
        for (size_t f = 0; f < F; f++) d[f] = (double)W[2 * f + 1] - (double)W[2 * f];
        *beta = (double)b[1] - (double)b[0];
    }
    free(W), free(b);
    return st;
}

static double margin_full(const double *d, double beta, const sp_csr *X, size_t r)
{
    double a = beta;
    for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) a += (double)X->val[j] * d[X->col[j]];
    return a;
}

/* The stored class-1 probabilities of a model's split reproduce from d, beta and the rebuilt features
 * (within tol), or the features / data / weights do not belong together. */
static sp_status check_predictions(const run_model *m, const char *split, const double *d, double beta,
                                   const sp_csr *X, double tol)
{
    for (size_t k = 0; k < m->n_splits; k++) {
        const run_model_split *sp = &m->splits[k];
        if (strcmp(sp->name, split) != 0) continue;
        for (size_t i = 0; i < sp->n; i++) {
            double p = sigmoid(margin_full(d, beta, X, (size_t)sp->rows[i]));
            if (fabs(p - sp->prob[2 * i + 1]) > tol)
                return sp_fail(SP_ERR_INPUT, "%s: /predictions/%s[%zu] = %.6f but the features rebuilt from dataset.h5 "
                               "with the model's spec give %.6f; the model does not match this run's data or "
                               "features (retrain it)", m->path, split, i, sp->prob[2 * i + 1], p);
        }
    }
    return SP_OK;
}

/* ---------------------------------------------------------------- selection */

typedef struct {
    double a;
    size_t i;
} key_idx;

static int cmp_key(const void *pa, const void *pb)
{
    const key_idx *a = pa, *b = pb;
    if (a->a != b->a) return a->a < b->a ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Chooses the solved examples of a split of n: all when n <= cap (or cap == 0); else the cap/2 examples with
 * the smallest |margin| of the optimum (stratum 1, weight 1) and a uniform sample of the rest (stratum 2,
 * weight (n - cap/2) / its size), seeded by sp_seed_for(seed, "exact:<split>", 0). idx[*n_sel] ascending. */
static sp_status select_examples(size_t *idx, uint8_t *stratum, double *weight, size_t *n_sel, const double *m_all,
                                 size_t n, size_t cap, uint64_t seed, const char *split)
{
    if (cap == 0 || n <= cap) {
        for (size_t i = 0; i < n; i++) idx[i] = i, stratum[i] = 0, weight[i] = 1.0;
        *n_sel = n;
        return SP_OK;
    }
    key_idx *k = malloc(n * sizeof *k);
    size_t *rest = malloc(n * sizeof *rest), *pick = malloc(cap * sizeof *pick);
    uint8_t *chosen = calloc(n, 1);
    if (!k || !rest || !pick || !chosen) {
        free(k), free(rest), free(pick), free(chosen);
        return sp_fail(SP_ERR_NOMEM, "out of memory selecting examples of %s", split);
    }
    for (size_t i = 0; i < n; i++) k[i].a = fabs(m_all[i]), k[i].i = i;
    qsort(k, n, sizeof *k, cmp_key);
    size_t nb = cap / 2, nr = 0;
    for (size_t j = 0; j < nb; j++) chosen[k[j].i] = 1;
    for (size_t i = 0; i < n; i++)
        if (!chosen[i]) rest[nr++] = i;
    char purpose[128];
    snprintf(purpose, sizeof purpose, "exact:%s", split);
    gsl_rng *r = sp_rng_alloc(sp_seed_for(seed, purpose, 0));
    if (!r) {
        free(k), free(rest), free(pick), free(chosen);
        return sp_fail(SP_ERR_NOMEM, "out of memory for a generator");
    }
    size_t ns = cap - nb;
    gsl_ran_choose(r, pick, ns, rest, nr, sizeof *rest); /* keeps the input order */
    gsl_rng_free(r);
    for (size_t j = 0; j < ns; j++) chosen[pick[j]] = 2;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (!chosen[i]) continue;
        idx[t] = i;
        stratum[t] = chosen[i];
        weight[t] = chosen[i] == 1 ? 1.0 : (double)nr / (double)ns;
        t++;
    }
    *n_sel = t;
    free(k), free(rest), free(pick), free(chosen);
    return SP_OK;
}

/* ---------------------------------------------------------------- the computation */

static int is_eval(const char *name) { return strcmp(name, "test") == 0 || strncmp(name, "ood-", 4) == 0; }

/* Per-split flips, sampled ranges and the summary rows; smarg[M][n] = the sampled models' margins on every
 * example of the split, m_all[n] the optimum's. */
static void split_summary(run_exact_split *x, const run_exact *e, const double *smarg, const double *m_all,
                          const size_t *idx)
{
    const size_t E = e->n_eps, M = e->n_sampled;
    for (size_t k = 0; k < E; k++) {
        double *out = &x->summary[k * EXS_COUNT];
        const double eps = e->eps[k];
        size_t in_set = 0;
        for (size_t m = 0; m < M; m++) in_set += e->sampled_gap[m] <= eps;
        double amb = 0, amb_solved = 0, samb = 0, width = 0, swidth = 0, maxv = 0;
        size_t undecided = 0, unconv = 0, viol = 0, solves = 0, samb_all = 0;
        for (size_t i = 0; i < x->n; i++) { /* sampled ambiguity over the whole split */
            int h = m_all[i] > 0, flip = 0;
            for (size_t m = 0; m < M && !flip; m++)
                flip = e->sampled_gap[m] <= eps && (smarg[m * x->n + i] > 0) != h;
            samb_all += (size_t)flip;
        }
        for (size_t j = 0; j < x->n_sel; j++) {
            const sp_vpr_range *r = &x->range[j * E + k];
            const size_t i = idx[j];
            const double ms = x->m_star[j], w = x->weight[j];
            int h = ms > 0;
            int flip = h ? r->lo_in <= 0 : r->hi_in > 0, maybe = h ? r->lo <= 0 : r->hi > 0;
            double lo = ms, hi = ms;
            int sflip = 0;
            for (size_t m = 0; m < M; m++) {
                if (e->sampled_gap[m] > eps) continue;
                double a = smarg[m * x->n + i];
                lo = a < lo ? a : lo, hi = a > hi ? a : hi;
                sflip |= (a > 0) != h;
                double tol = 1e-6 * (fabs(a) > 1 ? fabs(a) : 1.0);
                double v = a < r->lo - tol ? r->lo - a : a > r->hi + tol ? a - r->hi : 0;
                if (v > 0) viol++, maxv = v > maxv ? v : maxv;
            }
            x->s_lo[j * E + k] = lo, x->s_hi[j * E + k] = hi, x->s_flip[j * E + k] = (uint8_t)sflip;
            amb += w * flip, amb_solved += flip, samb += w * sflip;
            width += w * (sigmoid(r->hi) - sigmoid(r->lo)), swidth += w * (sigmoid(hi) - sigmoid(lo));
            undecided += (size_t)(maybe && !flip), unconv += (size_t)!r->converged, solves += (size_t)r->solves;
        }
        double n = (double)x->n;
        out[EXS_N_EXAMPLES] = n;
        out[EXS_N_SOLVED] = (double)x->n_sel;
        out[EXS_N_SAMPLED] = (double)M;
        out[EXS_N_IN_SET] = (double)in_set;
        out[EXS_EXACT_AMB] = amb / n;
        out[EXS_EXACT_AMB_SOLVED] = x->n_sel ? amb_solved / (double)x->n_sel : NAN;
        out[EXS_SAMPLED_AMB] = samb / n;
        out[EXS_SAMPLED_AMB_SPLIT] = (double)samb_all / n;
        out[EXS_EXACT_WIDTH] = width / n;
        out[EXS_SAMPLED_WIDTH] = swidth / n;
        out[EXS_UNDECIDED] = (double)undecided;
        out[EXS_UNCONVERGED] = (double)unconv;
        out[EXS_VIOLATIONS] = (double)viol;
        out[EXS_MAX_VIOLATION] = maxv;
        out[EXS_SOLVES] = (double)solves;
    }
}

/* Solves every selected example of every split, one example per task (results do not depend on the thread
 * count: each task writes only its own slots). */
static sp_status solve_all(run_exact *e, const sp_vpr_problem *p, const sp_csr *X, const sp_vpr_options *vo)
{
    size_t n_jobs = 0;
    for (size_t k = 0; k < e->n_splits; k++) n_jobs += e->splits[k].n_sel;
    size_t *job_split = malloc((n_jobs ? n_jobs : 1) * sizeof *job_split);
    sp_status *stats = calloc(n_jobs ? n_jobs : 1, sizeof *stats);
    char (*msgs)[512] = calloc(n_jobs ? n_jobs : 1, sizeof *msgs);
    if (!job_split || !stats || !msgs) {
        free(job_split), free(stats), free(msgs);
        return sp_fail(SP_ERR_NOMEM, "out of memory scheduling exact ranges");
    }
    for (size_t k = 0, t = 0; k < e->n_splits; k++)
        for (size_t j = 0; j < e->splits[k].n_sel; j++) job_split[t++] = k;
    int nomem = 0;
    double t0 = omp_get_wtime();
#pragma omp parallel reduction(| : nomem)
    {
        sp_vpr_workspace *ws = sp_vpr_workspace_alloc(p);
        if (!ws) nomem = 1;
#pragma omp for schedule(dynamic, 1)
        for (size_t t = 0; t < n_jobs; t++) {
            if (!ws) continue;
            size_t k = job_split[t], j = t;
            for (size_t q = 0; q < k; q++) j -= e->splits[q].n_sel;
            run_exact_split *x = &e->splits[k];
            size_t r = (size_t)x->rows[j];
            int64_t a = X->row_ptr[r], b = X->row_ptr[r + 1];
            stats[t] = sp_vpr_solve(&x->range[j * e->n_eps], ws, p, X->col + a, X->val + a, (size_t)(b - a), e->eps,
                                    e->n_eps, vo);
            if (stats[t] != SP_OK) snprintf(msgs[t], sizeof msgs[t], "%s", sp_error_message());
        }
        sp_vpr_workspace_free(ws);
    }
    e->seconds = omp_get_wtime() - t0;
    sp_status st = nomem ? sp_fail(SP_ERR_NOMEM, "out of memory for exact-range workspaces") : SP_OK;
    for (size_t t = 0; t < n_jobs && st == SP_OK; t++)
        if (stats[t] != SP_OK) st = sp_fail(stats[t], "exact range of split %s: %s", e->splits[job_split[t]].name, msgs[t]);
    free(job_split), free(stats), free(msgs);
    return st;
}

/* Reads one sampled model: its objective gap and its margins on every evaluation example. */
static sp_status sampled_read(run_exact *e, size_t slot, const run_model *m, const run_model *em,
                              const sp_ngram_options *feat, const sp_vpr_problem *p, const sp_csr *X, double *d,
                              double **smarg)
{
    hid_t f;
    sp_status st = sp_store_open(m->path, "splinter-model", &f);
    if (st != SP_OK) return st;
    sp_ngram_options mf;
    double l2, beta = 0;
    st = spec_read(&mf, &l2, f, m->path);
    if (st == SP_OK && (mf.bits != feat->bits || mf.bigrams != feat->bigrams || mf.weighting != feat->weighting ||
                        mf.l2_normalize != feat->l2_normalize))
        st = sp_fail(SP_ERR_INPUT, "%s: features (bits %d, bigrams %d, %s, l2_normalize %d) differ from the exact "
                     "model's (bits %d, bigrams %d, %s, l2_normalize %d); exact ranges compare models of one feature "
                     "space: move it to another run or pass --no-exact", m->path, mf.bits, mf.bigrams,
                     mf.weighting == SP_NGRAM_TF ? "tf" : "binary", mf.l2_normalize, feat->bits, feat->bigrams,
                     feat->weighting == SP_NGRAM_TF ? "tf" : "binary", feat->l2_normalize);
    if (st == SP_OK) st = weights_read(d, &beta, f, m->path, p->n_features);
    H5Fclose(f);
    if (st == SP_OK) st = check_predictions(m, "val", d, beta, X, 1e-4);
    if (st != SP_OK) return st;
    e->sampled_gap[slot] = sp_vpr_objective(p, d, beta) - p->f_star;
    if (!(e->sampled_names[slot] = strdup(m->name))) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < e->n_splits; k++) {
        const run_model_split *ms = NULL;
        for (size_t q = 0; q < m->n_splits; q++)
            if (strcmp(m->splits[q].name, e->splits[k].name) == 0) ms = &m->splits[q];
        const run_model_split *es = NULL;
        for (size_t q = 0; q < em->n_splits; q++)
            if (strcmp(em->splits[q].name, e->splits[k].name) == 0) es = &em->splits[q];
        const run_exact_split *x = &e->splits[k];
        if (!ms || ms->n != x->n || memcmp(ms->rows, es->rows, x->n * sizeof *ms->rows) != 0)
            return sp_fail(SP_ERR_INPUT, "%s: split %s is missing or holds other rows than in %s; retrain the models "
                           "on this run's dataset.h5", m->path, x->name, em->path);
        for (size_t i = 0; i < x->n; i++) smarg[k][slot * x->n + i] = margin_full(d, beta, X, (size_t)ms->rows[i]);
    }
    return SP_OK;
}

/* The exact model of the run: SIZE_MAX when there is none; SP_ERR_INPUT when there are several. */
static sp_status find_exact(size_t *out, const run_state *s)
{
    *out = SIZE_MAX;
    for (size_t k = 0; k < s->n_models; k++) {
        if (strcmp(s->models[k].family, "linear") != 0 || strcmp(s->models[k].variant, "exact") != 0) continue;
        if (*out != SIZE_MAX)
            return sp_fail(SP_ERR_INPUT, "%s and %s are both exact linear models; keep one per run",
                           s->models[*out].path, s->models[k].path);
        *out = k;
    }
    return SP_OK;
}

/* Builds the evaluation splits of the exact model with their selected examples (m_all[k][n] = margins of the
 * optimum on every example of split k). */
static sp_status splits_build(run_exact *e, double ***m_all, const run_model *em, const sp_vpr_problem *p,
                              const sp_csr *X, const run_state *s)
{
    const size_t E = e->n_eps;
    size_t ns = 0;
    for (size_t q = 0; q < em->n_splits; q++) ns += is_eval(em->splits[q].name);
    e->splits = calloc(ns ? ns : 1, sizeof *e->splits);
    *m_all = calloc(ns ? ns : 1, sizeof **m_all);
    if (!e->splits || !*m_all) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (size_t q = 0; q < em->n_splits; q++) {
        const run_model_split *ms = &em->splits[q];
        if (!is_eval(ms->name)) continue;
        run_exact_split *x = &e->splits[e->n_splits++];
        const size_t n = ms->n, cap = s->opt->exact_max && s->opt->exact_max < n ? s->opt->exact_max : n;
        snprintf(x->name, sizeof x->name, "%s", ms->name);
        x->n = n;
        double *ma = (*m_all)[e->n_splits - 1] = malloc(n * sizeof *ma);
        size_t *idx = malloc(n * sizeof *idx);
        x->rows = malloc(cap * sizeof *x->rows);
        x->label = malloc(cap * sizeof *x->label);
        x->weight = malloc(n * sizeof *x->weight);
        x->stratum = malloc(n);
        x->m_star = malloc(cap * sizeof *x->m_star);
        x->range = calloc(cap * E, sizeof *x->range);
        x->s_lo = malloc(cap * E * sizeof *x->s_lo);
        x->s_hi = malloc(cap * E * sizeof *x->s_hi);
        x->s_flip = malloc(cap * E);
        x->summary = malloc(E * EXS_COUNT * sizeof *x->summary);
        x->idx = idx;
        if (!ma || !idx || !x->rows || !x->label || !x->weight || !x->stratum || !x->m_star || !x->range ||
            !x->s_lo || !x->s_hi || !x->s_flip || !x->summary)
            return sp_fail(SP_ERR_NOMEM, "out of memory for exact ranges of %s", x->name);
        for (size_t i = 0; i < n; i++) {
            size_t r = (size_t)ms->rows[i];
            if (r >= X->n_rows) return sp_fail(SP_ERR_INPUT, "%s: /rows/%s[%zu] is outside dataset.h5", em->path, ms->name, i);
            int64_t a = X->row_ptr[r];
            ma[i] = sp_vpr_margin_star(p, X->col + a, X->val + a, (size_t)(X->row_ptr[r + 1] - a));
        }
        sp_status st = select_examples(idx, x->stratum, x->weight, &x->n_sel, ma, n, s->opt->exact_max, s->opt->seed,
                                       x->name);
        if (st != SP_OK) return st;
        for (size_t j = 0; j < x->n_sel; j++) {
            x->rows[j] = ms->rows[idx[j]];
            x->label[j] = s->labels[x->rows[j]];
            x->m_star[j] = ma[idx[j]];
        }
    }
    return SP_OK;
}

sp_status run_exact_compute(run_state *s)
{
    const sp_analysis_options *opt = s->opt;
    if (opt->exact == SP_EXACT_OFF) return SP_OK;
    size_t ei;
    sp_status st = find_exact(&ei, s);
    if (st != SP_OK) return st;
    if (ei == SIZE_MAX) {
        if (opt->exact == SP_EXACT_ON)
            return sp_fail(SP_ERR_INPUT, "%s/models: no exact linear model (variant exact); train it with splinter "
                           "train --family linear %s --exact, or drop --exact", s->run_dir, s->run_dir);
        return SP_OK;
    }
    const run_model *em = &s->models[ei];
    if (em->n_classes != 2) {
        if (opt->exact == SP_EXACT_ON)
            return sp_fail(SP_ERR_INPUT, "%s: %d classes; exact viable prediction ranges are implemented for two "
                           "classes", em->path, em->n_classes);
        return run_warn(s, "exact ranges skipped: %s has %d classes (implemented for two)", em->path, em->n_classes);
    }
    run_exact *e = calloc(1, sizeof *e);
    if (!e) return sp_fail(SP_ERR_NOMEM, "out of memory");
    s->exact = e;
    if (!(e->model = strdup(em->path))) return sp_fail(SP_ERR_NOMEM, "out of memory");
    e->n_eps = opt->n_exact_eps;
    memcpy(e->eps, opt->exact_eps, e->n_eps * sizeof *e->eps);

    /* the exact model: features, l2, weights */
    sp_ngram_options feat;
    double *d = NULL, beta = 0;
    hid_t f;
    int64_t nf = 0;
    if ((st = sp_store_open(em->path, "splinter-model", &f)) != SP_OK) return st;
    st = spec_read(&feat, &e->l2, f, em->path);
    if (st == SP_OK) st = sp_store_read_attr_i64(f, "/", "n_features", &nf);
    if (st == SP_OK && nf != (int64_t)1 << feat.bits)
        st = sp_fail(SP_ERR_INPUT, "%s: n_features %lld is not 2^bits = %lld", em->path, (long long)nf,
                     (long long)1 << feat.bits);
    if (st == SP_OK && !(d = malloc((size_t)nf * sizeof *d))) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    if (st == SP_OK) st = weights_read(d, &beta, f, em->path, (size_t)nf);
    H5Fclose(f);
    e->n_features = (size_t)nf;

    /* features rebuilt from dataset.h5; they must reproduce the stored predictions */
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", s->run_dir);
    sp_dataset *ds = NULL;
    sp_linear_data *ld = NULL;
    sp_vpr_problem *p = NULL;
    double **m_all = NULL, **smarg = NULL;
    sp_vpr_options vo = sp_vpr_options_default();
    vo.tol = opt->exact_tol > 0 ? opt->exact_tol : vo.tol;
    if (st == SP_OK) st = sp_dataset_load(path, &ds);
    if (st == SP_OK) st = sp_linear_data_build(&ld, ds, &feat, omp_get_max_threads());
    if (st == SP_OK) st = check_predictions(em, "val", d, beta, ld->X, 1e-4);
    if (st == SP_OK) {
        const sp_split_view *tr = &ld->views[ld->train_view];
        e->n_train = tr->n;
        st = sp_vpr_problem_alloc(&p, ld->X, ds->label, tr->rows, tr->n, e->l2);
    }
    if (st == SP_OK) st = sp_vpr_fit(p, d, beta, &vo);
    if (st == SP_OK) {
        /* the polished optimum must still be the file's model (else another l2 or training split) */
        double *dz = d;
        memset(dz, 0, (size_t)nf * sizeof *dz);
        for (size_t j = 0; j < p->ts->n_compact; j++) dz[p->full_id[j]] = p->z_star[j];
        st = check_predictions(em, "val", dz, p->z_star[p->ts->n_compact], ld->X, 1e-3);
        if (st != SP_OK)
            st = sp_fail(SP_ERR_INPUT, "%s is not the optimum of the training objective (l2 %g) on dataset.h5's train "
                         "split: refit it with splinter train --family linear --exact", em->path, e->l2);
        e->f_star = p->f_star;
        e->fit_grad_norm = p->fit_grad_norm;
    }
    if (st == SP_OK) st = splits_build(e, &m_all, em, p, ld->X, s);

    /* the seed-sampled linear models */
    size_t M = 0;
    for (size_t k = 0; k < s->n_models; k++) M += k != ei && strcmp(s->models[k].family, "linear") == 0;
    if (st == SP_OK) {
        e->sampled_names = calloc(M ? M : 1, sizeof *e->sampled_names);
        e->sampled_gap = malloc((M ? M : 1) * sizeof *e->sampled_gap);
        smarg = calloc(e->n_splits ? e->n_splits : 1, sizeof *smarg);
        if (!e->sampled_names || !e->sampled_gap || !smarg) st = sp_fail(SP_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < e->n_splits && st == SP_OK; k++)
            if (!(smarg[k] = malloc((M ? M : 1) * e->splits[k].n * sizeof **smarg)))
                st = sp_fail(SP_ERR_NOMEM, "out of memory for the sampled models' margins");
    }
    for (size_t k = 0; k < s->n_models && st == SP_OK; k++) {
        if (k == ei || strcmp(s->models[k].family, "linear") != 0) continue;
        st = sampled_read(e, e->n_sampled, &s->models[k], em, &feat, p, ld->X, d, smarg);
        e->n_sampled++;
    }
    if (st == SP_OK) st = solve_all(e, p, ld->X, &vo);
    if (st == SP_OK)
        for (size_t k = 0; k < e->n_splits; k++) split_summary(&e->splits[k], e, smarg[k], m_all[k], e->splits[k].idx);
    size_t viol = 0, unconv = 0;
    double maxv = 0;
    for (size_t k = 0; k < e->n_splits && st == SP_OK; k++)
        for (size_t q = 0; q < e->n_eps; q++) {
            const double *row = &e->splits[k].summary[q * EXS_COUNT];
            viol += (size_t)row[EXS_VIOLATIONS], unconv += (size_t)row[EXS_UNCONVERGED];
            maxv = row[EXS_MAX_VIOLATION] > maxv ? row[EXS_MAX_VIOLATION] : maxv;
        }
    if (st == SP_OK && viol)
        st = run_warn(s, "exact ranges: %zu (model, example, eps) predictions of sampled models inside the level set "
                      "fall outside the exact range (largest excess %.3g in logit): solver tolerance exceeded", viol, maxv);
    if (st == SP_OK && unconv)
        st = run_warn(s, "exact ranges: %zu (example, eps) ranges did not reach the tolerance %g; their certified "
                      "bounds are reported (see exact_vpr.csv gap)", unconv, vo.tol);
    for (size_t k = 0; k < e->n_splits; k++) {
        if (m_all) free(m_all[k]);
        if (smarg) free(smarg[k]);
    }
    free(m_all), free(smarg), free(d);
    sp_vpr_problem_free(p);
    sp_linear_data_free(ld);
    sp_dataset_free(ds);
    return st;
}
