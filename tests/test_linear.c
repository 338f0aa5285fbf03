/* test_linear.c: the linear family's objective (finite differences), trainers (against naive dense
 * re-implementations of the same updates), determinism and thread invariance, seed-stream separation, the
 * exact optimum (gradient norm, parity with scikit-learn), SGD sanity against SGDClassifier, per-sample SGD
 * update for update against SGDClassifier, predictions and top contributions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linear.h"
#include "store.h"

/* |a - b| <= tol in double precision (cmocka's assert_float_equal works in float and casts only the first
 * token of an expression). Prints both operands on failure. */
#define assert_close(a, b, tol) assert_close_impl((double)(a), (double)(b), (double)(tol), #a, __FILE__, __LINE__)
static void assert_close_impl(double a, double b, double tol, const char *what, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%s = %.17g, expected %.17g within %g\n", what, a, b, tol);
        _fail(file, line);
    }
}

#define TEST_DIR "tmp-test_linear"

/* A synthetic problem: R rows of 3..10 features among F, labels drawn from a planted softmax model. */
typedef struct {
    sp_csr *X;
    int32_t *y;
    size_t *all; /* 0..R-1 */
    int C;
} problem;

static problem make_problem(size_t R, size_t F, int C, uint64_t seed)
{
    problem p = {.X = sp_csr_alloc(F, 0), .y = malloc(R * sizeof(int32_t)), .all = malloc(R * sizeof(size_t)),
                 .C = C};
    assert_non_null(p.X);
    assert_non_null(p.y);
    assert_non_null(p.all);
    gsl_rng *rng = sp_rng_alloc(seed);
    double *Wstar = malloc(F * (size_t)C * sizeof *Wstar);
    for (size_t i = 0; i < F * (size_t)C; i++) Wstar[i] = gsl_ran_gaussian(rng, 3.0);
    for (size_t r = 0; r < R; r++) {
        int32_t cols[16];
        float vals[16];
        size_t k = 0, want = 3 + gsl_rng_uniform_int(rng, 8);
        for (size_t f = 0; f < F && k < want; f++)
            if (gsl_rng_uniform(rng) < (double)want / (double)F * 1.5) {
                cols[k] = (int32_t)f;
                vals[k++] = (float)(0.2 + gsl_rng_uniform(rng));
            }
        assert_int_equal(sp_csr_append_row(p.X, cols, vals, k), SP_OK);
        double z[8], sum = 0, u = gsl_rng_uniform(rng);
        for (int c = 0; c < C; c++) {
            z[c] = 0;
            for (size_t j = 0; j < k; j++) z[c] += vals[j] * Wstar[(size_t)cols[j] * C + c];
            z[c] = exp(z[c] / 2);
            sum += z[c];
        }
        int label = C - 1;
        for (int c = 0; c < C; c++) {
            u -= z[c] / sum;
            if (u < 0) {
                label = c;
                break;
            }
        }
        p.y[r] = label;
        p.all[r] = r;
    }
    free(Wstar);
    gsl_rng_free(rng);
    return p;
}

static void problem_free(problem *p)
{
    sp_csr_free(p->X);
    free(p->y);
    free(p->all);
}

static void test_objective_matches_finite_differences(void **state)
{
    (void)state;
    for (int C = 2; C <= 3; C++) {
        problem p = make_problem(40, 12, C, 100 + C);
        size_t n = 12 * (size_t)C + (size_t)C;
        double *theta = malloc(n * sizeof *theta), *g = malloc(n * sizeof *g);
        gsl_rng *rng = sp_rng_alloc(7);
        for (size_t i = 0; i < n; i++) theta[i] = gsl_ran_gaussian(rng, 0.7);
        gsl_rng_free(rng);
        double l2 = 0.03;
        double f = sp_linear_objective(g, theta, p.X, p.y, C, l2);
        assert_true(isfinite(f) && f > 0);
        assert_true(f == sp_linear_objective(NULL, theta, p.X, p.y, C, l2));
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double h = 1e-5, keep = theta[i];
            theta[i] = keep + h;
            double fp = sp_linear_objective(NULL, theta, p.X, p.y, C, l2);
            theta[i] = keep - h;
            double fm = sp_linear_objective(NULL, theta, p.X, p.y, C, l2);
            theta[i] = keep;
            double fd = (fp - fm) / (2 * h), err = fabs(fd - g[i]) / (1e-6 + fabs(fd) + fabs(g[i]));
            worst = err > worst ? err : worst;
        }
        assert_true(worst < 1e-6);
        /* hand-checked value: theta = 0 gives mean NLL log C and no penalty */
        memset(theta, 0, n * sizeof *theta);
        assert_close(sp_linear_objective(NULL, theta, p.X, p.y, C, l2), log((double)C), 1e-12);
        free(theta);
        free(g);
        problem_free(&p);
    }
}

/* The documented step sizes (docs/linear.md), written out independently of linear.c. */
static double reference_lr(const sp_linear_train_options *o, long k, long T)
{
    if (o->lr_schedule == SP_LINEAR_LR_LINEAR) return o->lr * (1.0 - (double)k / (double)T);
    if (o->lr_schedule == SP_LINEAR_LR_CONSTANT) return o->lr;
    double alpha = o->l2 / 2, eta0 = 0.5 / sqrt(sqrt(alpha)), t0 = 1.0 / (o->l2 * eta0);
    return 1.0 / (o->l2 * (t0 + (double)k));
}

/* Naive dense re-implementation of the documented updates (same rng draws), in double precision. */
static void reference_train(double *W, double *b, const problem *p, const size_t *rows, size_t R,
                            const sp_linear_train_options *o, const sp_seeds *s)
{
    size_t F = p->X->n_cols, n = F * (size_t)p->C;
    int C = p->C;
    double *M = calloc(n, sizeof *M), *S = calloc(n, sizeof *S), *G = calloc(n, sizeof *G);
    double bM[8] = {0}, bS[8] = {0};
    gsl_rng *rng = sp_rng_alloc(sp_seed_for(s->init, "linear-weights", 0));
    for (size_t i = 0; i < n; i++) W[i] = (float)gsl_ran_gaussian_ziggurat(rng, o->init_std);
    gsl_rng_free(rng);
    for (int c = 0; c < C; c++) b[c] = 0;
    size_t *base = malloc(R * sizeof *base), *order = malloc(R * sizeof *order);
    rng = sp_rng_alloc(sp_seed_for(s->bootstrap, "linear-resample", 0));
    for (size_t i = 0; i < R; i++) base[i] = rows[o->bootstrap ? gsl_rng_uniform_int(rng, R) : i];
    gsl_rng_free(rng);
    long step = 0, total = (long)o->epochs * (long)((R + (size_t)o->batch - 1) / (size_t)o->batch);
    for (int e = 0; e < o->epochs; e++) {
        memcpy(order, base, R * sizeof *order);
        rng = sp_rng_alloc(sp_seed_for(s->order, "linear-epoch", (uint64_t)e));
        gsl_ran_shuffle(rng, order, R, sizeof *order);
        gsl_rng_free(rng);
        for (size_t lo = 0; lo < R; lo += (size_t)o->batch) {
            size_t B = R - lo < (size_t)o->batch ? R - lo : (size_t)o->batch;
            double db[8] = {0};
            memset(G, 0, n * sizeof *G);
            unsigned char *touched = calloc(F, 1);
            for (size_t i = 0; i < B; i++) {
                size_t r = order[lo + i];
                double z[8], mx = -INFINITY, sum = 0;
                for (int c = 0; c < C; c++) {
                    z[c] = b[c];
                    for (int64_t j = p->X->row_ptr[r]; j < p->X->row_ptr[r + 1]; j++)
                        z[c] += p->X->val[j] * W[(size_t)p->X->col[j] * C + c];
                    mx = z[c] > mx ? z[c] : mx;
                }
                for (int c = 0; c < C; c++) sum += exp(z[c] - mx);
                for (int c = 0; c < C; c++) {
                    double dz = (exp(z[c] - mx) / sum - (c == p->y[r])) / (double)B;
                    db[c] += dz;
                    for (int64_t j = p->X->row_ptr[r]; j < p->X->row_ptr[r + 1]; j++) {
                        G[(size_t)p->X->col[j] * C + c] += p->X->val[j] * dz;
                        touched[p->X->col[j]] = 1;
                    }
                }
            }
            double lr = reference_lr(o, step, total);
            step++;
            for (size_t f = 0; f < F; f++)
                for (int c = 0; c < C; c++) {
                    size_t i = f * C + c;
                    W[i] *= 1 - lr * o->l2;
                    if (!touched[f]) continue;
                    if (o->optimizer == SP_LINEAR_SGD) {
                        W[i] -= lr * G[i];
                    } else {
                        M[i] = o->beta1 * M[i] + (1 - o->beta1) * G[i];
                        S[i] = o->beta2 * S[i] + (1 - o->beta2) * G[i] * G[i];
                        W[i] -= lr * (M[i] / (1 - pow(o->beta1, step))) /
                                (sqrt(S[i] / (1 - pow(o->beta2, step))) + o->eps);
                    }
                }
            for (int c = 0; c < C; c++) {
                if (o->optimizer == SP_LINEAR_SGD) {
                    b[c] -= lr * db[c];
                } else {
                    bM[c] = o->beta1 * bM[c] + (1 - o->beta1) * db[c];
                    bS[c] = o->beta2 * bS[c] + (1 - o->beta2) * db[c] * db[c];
                    b[c] -= lr * (bM[c] / (1 - pow(o->beta1, step))) /
                            (sqrt(bS[c] / (1 - pow(o->beta2, step))) + o->eps);
                }
            }
            free(touched);
        }
    }
    free(M), free(S), free(G), free(base), free(order);
}

static void test_trainer_matches_dense_reference(void **state)
{
    (void)state;
    for (int opt = 0; opt < 4; opt++)
        for (int C = 2; C <= 3; C++) {
            problem p = make_problem(150, 40, C, 200 + C);
            sp_linear_train_options o = sp_linear_train_options_default();
            o.optimizer = opt % 2 ? SP_LINEAR_ADAMW : SP_LINEAR_SGD;
            o.lr_schedule = opt / 2 ? SP_LINEAR_LR_LINEAR : SP_LINEAR_LR_CONSTANT;
            o.epochs = 3;
            o.batch = 7; /* the last batch is short */
            o.lr = opt % 2 ? 0.01 : 0.5;
            o.l2 = 0.05; /* strong decay so the scale trick is exercised */
            o.init_std = 0.1;
            o.bootstrap = 1;
            sp_seeds s;
            sp_seeds_from_master(&s, 11);
            sp_linear_model *m = sp_linear_alloc(40, C);
            float tl[3], vl[3];
            assert_int_equal(sp_linear_train(m, tl, vl, p.X, p.y, p.all, 150, p.all, 150, &o, &s), SP_OK);
            double W[40 * 3], b[3];
            reference_train(W, b, &p, p.all, 150, &o, &s);
            double worst = 0;
            for (size_t i = 0; i < 40 * (size_t)C; i++) worst = fmax(worst, fabs(W[i] - m->W[i]));
            for (int c = 0; c < C; c++) worst = fmax(worst, fabs(b[c] - m->b[c]));
            assert_true(worst < 2e-4);
            /* the loss went down and the validation curve is the mean NLL of the final model */
            assert_true(tl[2] < tl[0]);
            float *probs = malloc(150 * (size_t)C * sizeof *probs);
            sp_linear_predict_proba(probs, m, p.X);
            double acc, loss;
            sp_linear_evaluate(&acc, &loss, probs, p.y, NULL, 150, C);
            assert_close(loss, vl[2], 1e-4);
            free(probs);
            sp_linear_free(m);
            problem_free(&p);
        }
}

/* Every row's values set to 1/sqrt(nnz): binary l2-normalised features, the rows per-sample SGD reads
 * without X->val. */
static void problem_binarize(problem *p)
{
    for (size_t r = 0; r < p->X->n_rows; r++) {
        int64_t lo = p->X->row_ptr[r], hi = p->X->row_ptr[r + 1];
        for (int64_t j = lo; j < hi; j++) p->X->val[j] = 1.0f / sqrtf((float)(hi - lo));
    }
}

/* Per-sample SGD (batch 1, its own kernel) against the naive dense algorithm with B = 1: the three step-size
 * schedules, 2 and 3 classes, rows with one shared value and with distinct values, drawn and zero initial
 * weights, with and without bootstrap. */
static void test_per_sample_sgd_matches_dense_reference(void **state)
{
    (void)state;
    for (int sched = 0; sched < 3; sched++)
        for (int C = 2; C <= 3; C++)
            for (int shared = 0; shared < 2; shared++) {
                enum { R = 120, F = 40, E = 3 };
                problem p = make_problem(R, F, C, 1000 + 10 * (uint64_t)sched + (uint64_t)C);
                if (shared) problem_binarize(&p);
                sp_linear_train_options o = sp_linear_train_options_default();
                o.optimizer = SP_LINEAR_SGD;
                o.batch = 1;
                o.lr_schedule = (sp_linear_lr_schedule)sched;
                o.epochs = E;
                o.lr = 0.3;
                o.l2 = 0.05; /* optimal: eta0 = 1.257, t0 = 15.9 */
                o.init_std = shared ? 0.0 : 0.1;
                o.bootstrap = C == 3;
                sp_seeds s;
                sp_seeds_from_master(&s, 31);
                sp_linear_model *m = sp_linear_alloc(F, C);
                float tl[E], vl[E];
                assert_int_equal(sp_linear_train(m, tl, vl, p.X, p.y, p.all, R, p.all, R, &o, &s), SP_OK);
                double W[F * 3], b[3], worst = 0, scale = 0;
                reference_train(W, b, &p, p.all, R, &o, &s);
                for (size_t i = 0; i < F * (size_t)C; i++) {
                    worst = fmax(worst, fabs(W[i] - m->W[i]));
                    scale = fmax(scale, fabs(W[i]));
                }
                for (int c = 0; c < C; c++) worst = fmax(worst, fabs(b[c] - m->b[c]));
                print_message("per-sample %s, C %d, %s rows: max |W - W_ref| %.2g (max |W_ref| %.2g)\n",
                              sp_linear_lr_schedule_name(o.lr_schedule), C, shared ? "shared-value" : "general",
                              worst, scale);
                assert_true(scale > 0.1);      /* the models moved */
                assert_true(worst < 2e-6 * scale); /* float32 weights against a double reference */
                float probs[R * 3];
                double acc, loss;
                sp_linear_predict_proba(probs, m, p.X);
                sp_linear_evaluate(&acc, &loss, probs, p.y, NULL, R, C);
                assert_close(loss, vl[E - 1], 1e-4);
                assert_true(tl[E - 1] < tl[0]);
                sp_linear_free(m);
                problem_free(&p);
            }
}

/* The optimal schedule's step sizes, computed by hand: l2 = 1e-4 (alpha = 5e-5), eta0 = (5e-5)^(-1/4) / 2
 * = 5.946035575, t0 = 1 / (l2 eta0) = 1681.792831; step k = 1 / (l2 (t0 + k)). */
static void test_lr_schedules_known_values(void **state)
{
    (void)state;
    sp_linear_train_options o = sp_linear_train_options_default();
    o.l2 = 1e-4;
    o.lr = 0.2;
    o.lr_schedule = SP_LINEAR_LR_OPTIMAL;
    assert_int_equal(sp_linear_train_options_check(&o), SP_OK);
    assert_close(sp_linear_lr_at(&o, 0, 100), 5.946035575013605, 1e-12);
    assert_close(sp_linear_lr_at(&o, 1000, 100), 1.0 / (1e-4 * 2681.792830507429), 1e-12);
    assert_close(sp_linear_lr_at(&o, 9000, 100), 0.9361724345972883, 1e-12);
    o.lr_schedule = SP_LINEAR_LR_LINEAR;
    assert_close(sp_linear_lr_at(&o, 25, 100), 0.15, 1e-15);
    o.lr_schedule = SP_LINEAR_LR_CONSTANT;
    assert_close(sp_linear_lr_at(&o, 25, 100), 0.2, 0);
    /* optimal needs 0 < l2 < 2: its first step multiplies the weights by 1 - (l2/2)^(3/4) */
    o.lr_schedule = SP_LINEAR_LR_OPTIMAL;
    o.l2 = 0;
    assert_int_equal(sp_linear_train_options_check(&o), SP_ERR_USAGE);
    o.l2 = 2.5;
    assert_int_equal(sp_linear_train_options_check(&o), SP_ERR_USAGE);
    o.l2 = 1.9;
    assert_int_equal(sp_linear_train_options_check(&o), SP_OK);
    o.lr_schedule = (sp_linear_lr_schedule)7;
    assert_int_equal(sp_linear_train_options_check(&o), SP_ERR_USAGE);
    assert_int_equal(sp_linear_lr_schedule_parse("optimal"), SP_LINEAR_LR_OPTIMAL);
    assert_int_equal(sp_linear_lr_schedule_parse("linear"), SP_LINEAR_LR_LINEAR);
    assert_int_equal(sp_linear_lr_schedule_parse("constant"), SP_LINEAR_LR_CONSTANT);
    assert_int_equal(sp_linear_lr_schedule_parse("invscaling"), -1);
    assert_string_equal(sp_linear_lr_schedule_name(SP_LINEAR_LR_OPTIMAL), "optimal");
}

/* Training on a few rows leaves most features out of the compact table (they only decay), and a strong
 * decay forces the scale to be folded back into the weights several times: still the dense algorithm. */
static void test_trainer_subset_and_scale_fold(void **state)
{
    (void)state;
    for (int opt = 0; opt < 3; opt++) { /* SGD, AdamW, per-sample SGD */
        problem p = make_problem(150, 60, 2, 900);
        sp_linear_train_options o = sp_linear_train_options_default();
        o.optimizer = opt == 1 ? SP_LINEAR_ADAMW : SP_LINEAR_SGD;
        o.epochs = 14;
        o.batch = opt == 2 ? 1 : 2; /* 42 or 84 steps */
        o.lr = opt ? 0.05 : 0.5;
        o.l2 = 0.5 / o.lr; /* decay factor 0.5 per step: s < 1e-6 every 20 steps, 42 steps */
        o.init_std = 0.3;
        o.bootstrap = 1;
        o.lr_schedule = SP_LINEAR_LR_CONSTANT;
        sp_seeds s;
        sp_seeds_from_master(&s, 21);
        size_t train[6] = {3, 17, 40, 41, 99, 120};
        sp_linear_model *m = sp_linear_alloc(60, 2);
        float vl[14];
        assert_int_equal(sp_linear_train(m, NULL, vl, p.X, p.y, train, 6, p.all, 150, &o, &s), SP_OK);
        double W[120], b[2];
        reference_train(W, b, &p, train, 6, &o, &s);
        double worst = 0;
        for (size_t i = 0; i < 120; i++) worst = fmax(worst, fabs(W[i] - m->W[i]) / (1e-30 + fabs(W[i])));
        print_message("relative difference to the dense reference %.3g\n", worst);
        assert_true(worst < 1e-3);
        float probs[300];
        double acc, loss;
        sp_linear_predict_proba(probs, m, p.X);
        sp_linear_evaluate(&acc, &loss, probs, p.y, NULL, 150, 2);
        assert_close(loss, vl[13], 1e-4);
        sp_linear_free(m);
        problem_free(&p);
    }
}

/* Trains seeds 0..n-1 in an OpenMP loop on `threads` threads; models[i] gets seed i. */
static void train_many(sp_linear_model **models, int n, int threads, const problem *p, sp_linear_train_options *o)
{
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int i = 0; i < n; i++) {
        sp_seeds s;
        sp_seeds_from_master(&s, (uint64_t)i);
        models[i] = sp_linear_alloc(p->X->n_cols, p->C);
        sp_status st = sp_linear_train(models[i], NULL, NULL, p->X, p->y, p->all, p->X->n_rows, NULL, 0, o, &s);
        if (st != SP_OK) {
            sp_linear_free(models[i]);
            models[i] = NULL;
        }
    }
}

static void test_seeds_deterministic_and_thread_invariant(void **state)
{
    (void)state;
    for (int per_sample = 0; per_sample < 2; per_sample++) { /* AdamW; the defaults (per-sample SGD, optimal) */
        problem p = make_problem(300, 200, 2, 300);
        if (per_sample) problem_binarize(&p);
        sp_linear_train_options o = sp_linear_train_options_default();
        if (!per_sample) {
            o.optimizer = SP_LINEAR_ADAMW;
            o.batch = 32;
            o.lr_schedule = SP_LINEAR_LR_LINEAR;
            o.init_std = 0.01;
        }
        enum { N = 6 };
        sp_linear_model *one[N], *two[N], *again[N];
        train_many(one, N, 1, &p, &o);
        train_many(two, N, 2, &p, &o);
        train_many(again, N, 2, &p, &o);
        for (int i = 0; i < N; i++) {
            assert_non_null(one[i]);
            assert_non_null(two[i]);
            assert_memory_equal(one[i]->W, two[i]->W, 200 * 2 * sizeof(float));
            assert_memory_equal(one[i]->b, two[i]->b, 2 * sizeof(float));
            assert_memory_equal(one[i]->W, again[i]->W, 200 * 2 * sizeof(float));
            if (i > 0) assert_true(memcmp(one[i]->W, one[0]->W, 200 * 2 * sizeof(float)) != 0);
        }
        for (int i = 0; i < N; i++) sp_linear_free(one[i]), sp_linear_free(two[i]), sp_linear_free(again[i]);
        problem_free(&p);
    }
}

/* Each stream changes the model on its own; with init_std 0 and no bootstrap only `order` matters. Minibatch
 * SGD (batch 32) and per-sample SGD (batch 1). */
static void test_streams_are_separate(void **state)
{
    (void)state;
    for (int batch = 32; batch > 0; batch -= 31) {
        problem p = make_problem(200, 50, 2, 400);
        sp_linear_train_options o = sp_linear_train_options_default();
        o.optimizer = SP_LINEAR_SGD;
        o.batch = batch;
        o.lr = batch == 1 ? 0.05 : 0.3;
        o.init_std = 0.01;
        o.bootstrap = 1;
        sp_seeds base;
        sp_seeds_from_master(&base, 5);
        const char *streams[] = {"init", "order", "bootstrap", "mask"};
        sp_linear_model *ref = sp_linear_alloc(50, 2), *m = sp_linear_alloc(50, 2);
        assert_int_equal(sp_linear_train(ref, NULL, NULL, p.X, p.y, p.all, 200, NULL, 0, &o, &base), SP_OK);
        for (int k = 0; k < 4; k++) {
            sp_seeds s = base;
            *sp_seeds_stream(&s, streams[k]) += 1;
            assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 200, NULL, 0, &o, &s), SP_OK);
            int differs = memcmp(ref->W, m->W, 50 * 2 * sizeof(float)) != 0;
            assert_int_equal(differs, k < 3); /* mask does not drive the linear family */
        }
        o.init_std = 0;
        o.bootstrap = 0;
        assert_int_equal(sp_linear_train(ref, NULL, NULL, p.X, p.y, p.all, 200, NULL, 0, &o, &base), SP_OK);
        sp_seeds s = base;
        s.init += 1, s.bootstrap += 1;
        assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 200, NULL, 0, &o, &s), SP_OK);
        assert_memory_equal(ref->W, m->W, 50 * 2 * sizeof(float));
        s.order += 1;
        assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 200, NULL, 0, &o, &s), SP_OK);
        assert_true(memcmp(ref->W, m->W, 50 * 2 * sizeof(float)) != 0);
        sp_linear_free(ref);
        sp_linear_free(m);
        problem_free(&p);
    }
}

static void test_bad_options_and_labels(void **state)
{
    (void)state;
    problem p = make_problem(20, 10, 2, 500);
    sp_linear_train_options o = sp_linear_train_options_default();
    sp_seeds s;
    sp_seeds_from_master(&s, 0);
    sp_linear_model *m = sp_linear_alloc(10, 2);
    o.batch = 0;
    assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 20, NULL, 0, &o, &s), SP_ERR_USAGE);
    o = sp_linear_train_options_default();
    o.lr = -1;
    assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 20, NULL, 0, &o, &s), SP_ERR_USAGE);
    o = sp_linear_train_options_default();
    p.y[3] = 2;
    assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 20, NULL, 0, &o, &s), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "training row 3"));
    p.y[3] = 0;
    assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 0, NULL, 0, &o, &s), SP_ERR_INPUT);
    p.X->val[0] = NAN; /* a non-finite feature value makes the loss NaN */
    assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 20, NULL, 0, &o, &s), SP_ERR_NUMERIC);
    assert_non_null(strstr(sp_error_message(), "diverged in epoch 1"));
    assert_int_equal(sp_linear_optimizer_parse("adamw"), SP_LINEAR_ADAMW);
    assert_int_equal(sp_linear_optimizer_parse("sgd"), SP_LINEAR_SGD);
    assert_int_equal(sp_linear_optimizer_parse("adam"), -1);
    assert_null(sp_linear_alloc(10, 1));
    sp_linear_free(m);
    problem_free(&p);
}

static void test_exact_optimum(void **state)
{
    (void)state;
    problem p = make_problem(120, 30, 2, 600);
    size_t n = 30 * 2 + 2;
    double *theta = malloc(n * sizeof *theta), *g = malloc(n * sizeof *g);
    sp_linear_exact_options eo = sp_linear_exact_options_default();
    double gnorm;
    int iters;
    assert_int_equal(sp_linear_fit_exact(theta, &gnorm, &iters, p.X, p.y, 2, 0.01, &eo), SP_OK);
    double f = sp_linear_objective(g, theta, p.X, p.y, 2, 0.01), ss = 0;
    for (size_t i = 0; i < n; i++) ss += g[i] * g[i];
    assert_true(sqrt(ss) < 1e-6);
    assert_true(gnorm < 1e-7);
    assert_close(theta[60] + theta[61], 0.0, 1e-12); /* centred bias */
    /* at the optimum the class columns of W sum to zero (the penalty breaks the softmax's shift symmetry) */
    for (size_t i = 0; i < 30; i++) assert_close(theta[2 * i] + theta[2 * i + 1], 0.0, 2 * gnorm / 0.01);
    /* SGD with many small steps and no randomness in the start gets close to the same objective */
    sp_linear_train_options o = sp_linear_train_options_default();
    o.optimizer = SP_LINEAR_SGD;
    o.epochs = 300;
    o.batch = 120;
    o.lr = 2.0;
    o.l2 = 0.01;
    o.init_std = 0;
    o.bootstrap = 0;
    sp_seeds s;
    sp_seeds_from_master(&s, 1);
    sp_linear_model *m = sp_linear_alloc(30, 2);
    assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 120, NULL, 0, &o, &s), SP_OK);
    double *th2 = malloc(n * sizeof *th2);
    for (size_t i = 0; i < 60; i++) th2[i] = m->W[i];
    th2[60] = m->b[0], th2[61] = m->b[1];
    double f2 = sp_linear_objective(NULL, th2, p.X, p.y, 2, 0.01);
    assert_true(f2 >= f - 1e-12);
    assert_true(f2 - f < 1e-4);
    assert_int_equal(sp_linear_fit_exact(theta, NULL, NULL, p.X, p.y, 2, 0.0, &eo), SP_ERR_USAGE);
    eo.max_iter = 1;
    assert_int_equal(sp_linear_fit_exact(theta, NULL, NULL, p.X, p.y, 2, 0.01, &eo), SP_ERR_NUMERIC);
    free(theta), free(g), free(th2);
    sp_linear_free(m);
    problem_free(&p);
}

/* Writes the problem, the exact optimum and an SGD model to HDF5 and runs the scikit-learn reference. */
static void test_parity_with_sklearn(void **state)
{
    (void)state;
    const char *src = getenv("SPLINTER_SRC");
    if (!src) skip();
    assert_int_equal(system("mkdir -p " TEST_DIR), 0);
    for (int C = 2; C <= 3; C++) {
        problem p = make_problem(400, 60, C, 700 + C);
        size_t F = 60, n = F * (size_t)C + (size_t)C;
        double l2 = 0.003;
        double *theta = malloc(n * sizeof *theta);
        sp_linear_exact_options eo = sp_linear_exact_options_default();
        sp_status est = sp_linear_fit_exact(theta, NULL, NULL, p.X, p.y, C, l2, &eo);
        if (est != SP_OK) print_error("%s\n", sp_error_message());
        assert_int_equal(est, SP_OK);
        sp_linear_train_options o = sp_linear_train_options_default();
        o.optimizer = SP_LINEAR_SGD;
        o.epochs = 20;
        o.batch = 1;
        o.lr = 0.1;
        o.lr_schedule = SP_LINEAR_LR_CONSTANT; /* as SGDClassifier(learning_rate="constant") */
        o.l2 = l2;
        o.init_std = 0;
        o.bootstrap = 0;
        sp_seeds s;
        sp_seeds_from_master(&s, 3);
        sp_linear_model *m = sp_linear_alloc(F, C);
        assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, 400, NULL, 0, &o, &s), SP_OK);
        float *probs = malloc(400 * (size_t)C * sizeof *probs);
        sp_linear_predict_proba(probs, m, p.X);

        char path[256], cmd[1024];
        snprintf(path, sizeof path, TEST_DIR "/parity-%d.h5", C);
        sp_store_writer *w = NULL;
        assert_int_equal(sp_store_create(path, "splinter-test", &w), SP_OK);
        hsize_t dr = 400, dt = n, dp[2] = {400, (hsize_t)C};
        assert_int_equal(sp_csr_write(w, "/X", p.X), SP_OK);
        assert_int_equal(sp_store_write_i32(w, "/y", 1, &dr, p.y, 0), SP_OK);
        assert_int_equal(sp_store_write_f64(w, "/theta", 1, &dt, theta, 0), SP_OK);
        assert_int_equal(sp_store_write_f32(w, "/sgd_probs", 2, dp, probs, 0), SP_OK);
        assert_int_equal(sp_store_attr_f64(w, "/", "l2", l2), SP_OK);
        assert_int_equal(sp_store_attr_i64(w, "/", "n_classes", C), SP_OK);
        assert_int_equal(sp_store_attr_i64(w, "/", "epochs", o.epochs), SP_OK);
        assert_int_equal(sp_store_attr_f64(w, "/", "lr", o.lr), SP_OK);
        assert_int_equal(sp_store_commit(w), SP_OK);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/linear_sklearn_parity.py %s", src, path);
        assert_int_equal(system(cmd), 0);
        free(theta), free(probs);
        sp_linear_free(m);
        problem_free(&p);
    }
}

/* Per-sample SGD with the optimal schedule makes SGDClassifier's updates (tests/ref/linear_sgd_sklearn_updates.py
 * runs scikit-learn on the rows in the order this epoch visited them). */
static void test_per_sample_sgd_matches_sgdclassifier(void **state)
{
    (void)state;
    const char *src = getenv("SPLINTER_SRC");
    if (!src) skip();
    assert_int_equal(system("mkdir -p " TEST_DIR), 0);
    enum { R = 300, F = 50 };
    for (int shared = 0; shared < 2; shared++) {
        problem p = make_problem(R, F, 2, 1300 + (uint64_t)shared);
        if (shared) problem_binarize(&p);
        sp_linear_train_options o = sp_linear_train_options_default();
        o.optimizer = SP_LINEAR_SGD;
        o.batch = 1;
        o.lr_schedule = SP_LINEAR_LR_OPTIMAL;
        o.epochs = 1;
        o.l2 = 0.02;
        o.init_std = 0;
        sp_seeds s;
        sp_seeds_from_master(&s, 8);
        sp_linear_model *m = sp_linear_alloc(F, 2);
        assert_int_equal(sp_linear_train(m, NULL, NULL, p.X, p.y, p.all, R, NULL, 0, &o, &s), SP_OK);
        /* the epoch's order, as docs/linear.md defines it */
        size_t order[R];
        int32_t y[R];
        for (size_t i = 0; i < R; i++) order[i] = i;
        gsl_rng *rng = sp_rng_alloc(sp_seed_for(s.order, "linear-epoch", 0));
        gsl_ran_shuffle(rng, order, R, sizeof *order);
        gsl_rng_free(rng);
        for (size_t i = 0; i < R; i++) y[i] = p.y[order[i]];
        sp_csr *Xo = NULL;
        assert_int_equal(sp_csr_select_rows(&Xo, p.X, order, R), SP_OK);

        char path[256], cmd[1024];
        snprintf(path, sizeof path, TEST_DIR "/sgd-updates-%d.h5", shared);
        sp_store_writer *w = NULL;
        hsize_t dr = R, dW[2] = {F, 2}, db = 2;
        assert_int_equal(sp_store_create(path, "splinter-test", &w), SP_OK);
        assert_int_equal(sp_csr_write(w, "/X", Xo), SP_OK);
        assert_int_equal(sp_store_write_i32(w, "/y", 1, &dr, y, 0), SP_OK);
        assert_int_equal(sp_store_write_f32(w, "/W", 2, dW, m->W, 0), SP_OK);
        assert_int_equal(sp_store_write_f32(w, "/b", 1, &db, m->b, 0), SP_OK);
        assert_int_equal(sp_store_attr_f64(w, "/", "l2", o.l2), SP_OK);
        assert_int_equal(sp_store_commit(w), SP_OK);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/linear_sgd_sklearn_updates.py %s", src, path);
        assert_int_equal(system(cmd), 0);
        sp_csr_free(Xo);
        sp_linear_free(m);
        problem_free(&p);
    }
}

static void test_predictions_and_contributions(void **state)
{
    (void)state;
    /* F = 4, C = 2: row 0 = {f1: 2, f3: 1}, row 1 = {} */
    sp_csr *X = sp_csr_alloc(4, 0);
    int32_t cols[2] = {1, 3};
    float vals[2] = {2, 1};
    assert_int_equal(sp_csr_append_row(X, cols, vals, 2), SP_OK);
    assert_int_equal(sp_csr_append_row(X, NULL, NULL, 0), SP_OK);
    sp_linear_model *m = sp_linear_alloc(4, 2);
    float W[8] = {9, 9, 0.5f, -0.5f, 9, 9, -1, 2};
    memcpy(m->W, W, sizeof W);
    m->b[0] = 0.25f, m->b[1] = -0.25f;
    float probs[4];
    sp_linear_predict_proba(probs, m, X);
    /* row 0: z = [2*0.5 - 1 + 0.25, -1 + 2 - 0.25] = [0.25, 0.75] */
    assert_close(probs[1], 1.0 / (1.0 + exp(-0.5)), 1e-6);
    assert_close(probs[0] + probs[1], 1.0, 1e-6);
    assert_close(probs[2], 1.0 / (1.0 + exp(-0.5)), 1e-6); /* row 1: z = b */
    int32_t y[2] = {1, 1};
    double acc, loss;
    sp_linear_evaluate(&acc, &loss, probs, y, NULL, 2, 2);
    assert_close(acc, 0.5, 0);
    assert_close(loss, 0.5 * (log(1 + exp(-0.5)) + log(1 + exp(0.5))), 1e-6);
    int32_t ids[2 * 3];
    float cv[2 * 3];
    assert_int_equal(sp_linear_top_contributions(ids, cv, m, X, 3), SP_OK);
    /* predicted class 1; f3: 1 * (2 - 0.5) = 1.5; f1: 2 * (-0.5 - 0) = -1; then padding */
    assert_int_equal(ids[0], 3);
    assert_close(cv[0], 1.5, 1e-6);
    assert_int_equal(ids[1], 1);
    assert_close(cv[1], -1.0, 1e-6);
    assert_int_equal(ids[2], -1);
    assert_true(cv[2] == 0.0f);
    assert_int_equal(ids[3], -1);
    sp_linear_free(m);
    sp_csr_free(X);
}

/* The bounded-heap selection equals a full sort by (|value| desc, id asc) of every row's contributions. */
static void test_top_contributions_match_full_sort(void **state)
{
    (void)state;
    problem p = make_problem(60, 40, 3, 800);
    sp_linear_model *m = sp_linear_alloc(40, 3);
    gsl_rng *rng = sp_rng_alloc(9);
    for (size_t i = 0; i < 120; i++) m->W[i] = (float)gsl_ran_gaussian(rng, 1.0);
    m->W[5 * 3 + 1] = m->W[5 * 3 + 0] = m->W[5 * 3 + 2]; /* feature 5 contributes exactly 0 */
    gsl_rng_free(rng);
    enum { K = 4 };
    int32_t ids[60 * K];
    float vals[60 * K];
    assert_int_equal(sp_linear_top_contributions(ids, vals, m, p.X, K), SP_OK);
    for (size_t r = 0; r < 60; r++) {
        double z[3] = {m->b[0], m->b[1], m->b[2]};
        int32_t fid[16];
        double v[16];
        size_t k = 0;
        for (int64_t j = p.X->row_ptr[r]; j < p.X->row_ptr[r + 1]; j++)
            for (int c = 0; c < 3; c++) z[c] += p.X->val[j] * m->W[p.X->col[j] * 3 + c];
        int best = z[1] > z[0] ? 1 : 0;
        best = z[2] > z[best] ? 2 : best;
        for (int64_t j = p.X->row_ptr[r]; j < p.X->row_ptr[r + 1]; j++, k++) {
            const float *w = m->W + p.X->col[j] * 3;
            fid[k] = p.X->col[j];
            v[k] = p.X->val[j] * (w[best] - (w[0] + w[1] + w[2]) / 3.0);
        }
        /* selection sort, the slow obvious way */
        for (size_t a = 0; a < k; a++)
            for (size_t b = a + 1; b < k; b++)
                if (fabs(v[b]) > fabs(v[a]) || (fabs(v[b]) == fabs(v[a]) && fid[b] < fid[a])) {
                    double tv = v[a];
                    int32_t ti = fid[a];
                    v[a] = v[b], fid[a] = fid[b], v[b] = tv, fid[b] = ti;
                }
        for (size_t j = 0; j < K; j++) {
            assert_int_equal(ids[r * K + j], j < k ? fid[j] : -1);
            assert_close(vals[r * K + j], j < k ? v[j] : 0.0, 1e-5);
        }
    }
    sp_linear_free(m);
    problem_free(&p);
}

/* Reference ranking for the test below: |value| descending, then id ascending. */
typedef struct {
    double value;
    int32_t id;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (fabs(x->value) != fabs(y->value)) return fabs(x->value) > fabs(y->value) ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Long rows (up to 300 features, K = 32 of them selected) and weights from a small set of values, so that
 * many contributions tie in |value| and the id decides: the fused predict + explain pass against a full
 * sort, and its probabilities bit for bit against sp_linear_predict_proba. */
static void test_predict_explain_long_rows_and_ties(void **state)
{
    (void)state;
    enum { R = 40, F = 1000, C = 2, K = 32 };
    gsl_rng *rng = sp_rng_alloc(77);
    sp_csr *X = sp_csr_alloc(F, 0);
    for (size_t r = 0; r < R; r++) {
        int32_t cols[F];
        float vals[F];
        size_t k = 0, want = r < 5 ? r * 7 : 50 + gsl_rng_uniform_int(rng, 250); /* some rows shorter than K */
        for (int32_t f = 0; f < F && k < want; f++)
            if (gsl_rng_uniform(rng) < (double)want / F * 1.3) cols[k] = f, vals[k++] = (float)(1 + (f % 3));
        assert_int_equal(sp_csr_append_row(X, cols, vals, k), SP_OK);
    }
    sp_linear_model *m = sp_linear_alloc(F, C);
    for (size_t i = 0; i < F * C; i++) m->W[i] = (float)((int)gsl_rng_uniform_int(rng, 5) - 2) * 0.5f;
    m->b[0] = 0.25f, m->b[1] = -0.5f;
    gsl_rng_free(rng);
    float *probs = malloc(R * C * sizeof *probs), *ref_probs = malloc(R * C * sizeof *ref_probs);
    int32_t *ids = malloc(R * K * sizeof *ids);
    float *vals = malloc(R * K * sizeof *vals);
    assert_int_equal(sp_linear_predict_explain(probs, ids, vals, m, X, K), SP_OK);
    sp_linear_predict_proba(ref_probs, m, X);
    assert_memory_equal(probs, ref_probs, R * C * sizeof *probs);
    size_t ties = 0;
    for (size_t r = 0; r < R; r++) {
        ranked e[F];
        size_t n = 0;
        float z0 = m->b[0], z1 = m->b[1];
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++) {
            z0 += X->val[j] * m->W[X->col[j] * 2];
            z1 += X->val[j] * m->W[X->col[j] * 2 + 1];
        }
        int best = z1 > z0;
        for (int64_t j = X->row_ptr[r]; j < X->row_ptr[r + 1]; j++, n++) {
            const float *w = m->W + X->col[j] * 2;
            e[n] = (ranked){.value = (float)(X->val[j] * (w[best] - (w[0] + (double)w[1]) / 2)), .id = X->col[j]};
        }
        qsort(e, n, sizeof *e, ranked_cmp);
        for (size_t j = 0; j + 1 < n && j + 1 < K; j++) ties += fabs(e[j].value) == fabs(e[j + 1].value);
        for (size_t j = 0; j < K; j++) {
            assert_int_equal(ids[r * K + j], j < n ? e[j].id : -1);
            assert_true(vals[r * K + j] == (j < n ? (float)e[j].value : 0.0f));
        }
    }
    assert_true(ties > 100); /* the id tie-break was exercised */
    free(probs), free(ref_probs), free(ids), free(vals);
    sp_linear_free(m);
    sp_csr_free(X);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objective_matches_finite_differences),
        cmocka_unit_test(test_trainer_matches_dense_reference),
        cmocka_unit_test(test_per_sample_sgd_matches_dense_reference),
        cmocka_unit_test(test_lr_schedules_known_values),
        cmocka_unit_test(test_trainer_subset_and_scale_fold),
        cmocka_unit_test(test_seeds_deterministic_and_thread_invariant),
        cmocka_unit_test(test_streams_are_separate),
        cmocka_unit_test(test_bad_options_and_labels),
        cmocka_unit_test(test_exact_optimum),
        cmocka_unit_test(test_parity_with_sklearn),
        cmocka_unit_test(test_per_sample_sgd_matches_sgdclassifier),
        cmocka_unit_test(test_predictions_and_contributions),
        cmocka_unit_test(test_top_contributions_match_full_sort),
        cmocka_unit_test(test_predict_explain_long_rows_and_ties),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!failed) (void)system("rm -rf " TEST_DIR);
    return failed;
}
