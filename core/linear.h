/* linear.h: the linear family: L2-regularised softmax (multinomial logistic) regression on sparse features,
 * its loss and gradient, a seeded minibatch trainer (SGD or AdamW) and predictions.
 *
 * Objective (docs/linear.md), over R training rows x_i with labels y_i and C classes:
 *     L(W, b) = (1/R) sum_i [ logsumexp(z_i) - z_i[y_i] ] + (l2/2) ||W||_F^2,   z_i = x_i W + b
 * (the bias is not penalised). Every source of randomness is a named seed stream: `init` draws the starting
 * weights, `order` the per-epoch permutation, `bootstrap` the resample of the training rows. SGD with batch 1
 * is per-sample SGD (scikit-learn's SGDClassifier algorithm), run by a kernel of its own: one sparse read and
 * one sparse write of the weights per example.
 *
 *     sp_linear_model *m = sp_linear_alloc(X->n_cols, 2);
 *     sp_linear_train_options o = sp_linear_train_options_default();
 *     sp_seeds s; sp_seeds_from_master(&s, 7);
 *     float tl[5], vl[5];                       // o.epochs = 5
 *     if (sp_linear_train(m, tl, vl, X, y, train, n_train, val, n_val, &o, &s) != SP_OK) ...;
 *     sp_linear_predict_proba(probs, m, X);     // probs[X->n_rows, 2]
 *     sp_linear_free(m);
 *
 * Dimension letters: R rows, F features, C classes, B minibatch rows, K top contributions.
 */
#ifndef SPLINTER_LINEAR_H
#define SPLINTER_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "seeds.h"
#include "sparse.h"
#include "status.h"

#define SP_LINEAR_MAX_CLASSES 64

typedef struct {
    size_t n_features; /* F */
    int n_classes;     /* C */
    float *W;          /* [F, C] row-major: a feature's C weights are adjacent */
    float *b;          /* [C] */
} sp_linear_model;

typedef enum { SP_LINEAR_SGD = 0, SP_LINEAR_ADAMW = 1 } sp_linear_optimizer;

/* Step size of step k (0-based) of T (docs/linear.md):
 *   constant  lr
 *   linear    lr (1 - k/T)
 *   optimal   1 / (l2 (t0 + k)),  t0 = 1 / (l2 eta0),  eta0 = (l2/2)^(-1/4) / 2
 * "optimal" is scikit-learn's learning_rate="optimal" (Bottou's schedule with its initial step for the log
 * loss) in this objective's units: for two classes it makes the same updates as SGDClassifier with
 * alpha = l2/2. It ignores lr and needs l2 > 0 with l2 eta0 < 1. */
typedef enum { SP_LINEAR_LR_CONSTANT = 0, SP_LINEAR_LR_LINEAR = 1, SP_LINEAR_LR_OPTIMAL = 2 } sp_linear_lr_schedule;

typedef struct {
    sp_linear_optimizer optimizer; /* default SGD */
    int epochs;                    /* passes over the (resampled) training rows, default 5 */
    int batch;                     /* minibatch rows B, default 1; SGD with 1 = per-sample SGD */
    double lr;                     /* peak step size of constant / linear, default 0.05 */
    sp_linear_lr_schedule lr_schedule; /* default optimal */
    double l2;                     /* L2 strength of the objective; also AdamW's decoupled decay; 1e-4 */
    double init_std;               /* W starts N(0, init_std^2) from the init stream, b at 0; 0 */
    int bootstrap;                 /* 1: train on a bootstrap resample of the training rows (default 0) */
    double beta1, beta2, eps;      /* AdamW moments: 0.9, 0.999, 1e-8 */
} sp_linear_train_options;

/* A zeroed model (W = 0, b = 0); NULL on allocation failure, F == 0 or C outside [2, SP_LINEAR_MAX_CLASSES]. */
sp_linear_model *sp_linear_alloc(size_t n_features, int n_classes);
void sp_linear_free(sp_linear_model *m);

sp_linear_train_options sp_linear_train_options_default(void);

/* SP_ERR_USAGE naming the option if a value is out of range. */
sp_status sp_linear_train_options_check(const sp_linear_train_options *o);

/* Name of an optimizer ("sgd", "adamw"), and the reverse (-1 if unknown). */
const char *sp_linear_optimizer_name(sp_linear_optimizer opt);
int sp_linear_optimizer_parse(const char *name);

/* Name of a schedule ("constant", "linear", "optimal"), and the reverse (-1 if unknown). */
const char *sp_linear_lr_schedule_name(sp_linear_lr_schedule s);
int sp_linear_lr_schedule_parse(const char *name);

/* The step size of step k of T under o's schedule (above); o must pass sp_linear_train_options_check. */
double sp_linear_lr_at(const sp_linear_train_options *o, long k, long T);

/* The objective L above and its gradient, in double precision, over every row of X (labels y[R]).
 * theta = [W (F*C, row-major), b (C)]; grad (same layout) is overwritten unless NULL. F = X->n_cols. */
double sp_linear_objective(double *grad, const double *theta, const sp_csr *X, const int32_t *y, int C, double l2);

/* Trains m (its F must equal X->n_cols) on rows train_rows[0..n_train-1] of X / y. train_loss[epochs] gets
 * each epoch's mean minibatch NLL (the loss of each example when its batch was taken); val_loss[epochs]
 * (may be NULL) the mean NLL on val_rows after each epoch (NaN if n_val == 0). Single-threaded and a
 * function only of (X, y, rows, options, seeds): bit-identical on any machine thread count.
 * SP_ERR_NUMERIC if the loss diverges (naming the epoch). */
sp_status sp_linear_train(sp_linear_model *m, float *train_loss, float *val_loss, const sp_csr *X, const int32_t *y,
                          const size_t *train_rows, size_t n_train, const size_t *val_rows, size_t n_val,
                          const sp_linear_train_options *o, const sp_seeds *seeds);

/* The training rows in the trainer's compact form, built once and shared read-only by any number of seeds
 * (sp_linear_train_on). Features are renumbered 0..Fc-1 in order of first occurrence in the rows. */
typedef struct {
    size_t n_features;  /* F of the full feature space */
    size_t n_compact;   /* Fc: features that occur in the training rows */
    int32_t *map;       /* [F] compact id of each feature, -1 if it does not occur */
    sp_csr *X;          /* [n_train, Fc] the rows with compact column ids (not sorted within a row) */
    int32_t *y;         /* [n_train] labels */
    float *row_value;   /* [n_train] the value every entry of a row shares (binary l2-normalised features),
                         * or NaN if the row's values differ; lets per-sample SGD skip reading X->val */
    size_t max_row_nnz;
} sp_linear_trainset;

/* SP_ERR_INPUT naming the row if a label is outside [0, C) or a row is out of range, or if n == 0. */
sp_status sp_linear_trainset_build(sp_linear_trainset **out, const sp_csr *X, const int32_t *y, const size_t *rows,
                                   size_t n, int C);
void sp_linear_trainset_free(sp_linear_trainset *ts);

/* sp_linear_train on a prebuilt training set (X and y are still needed for the validation rows). */
sp_status sp_linear_train_on(sp_linear_model *m, float *train_loss, float *val_loss, const sp_linear_trainset *ts,
                             const sp_csr *X, const int32_t *y, const size_t *val_rows, size_t n_val,
                             const sp_linear_train_options *o, const sp_seeds *seeds);

/* probs[R, C] = softmax(X W + b), row by row. */
void sp_linear_predict_proba(float *probs, const sp_linear_model *m, const sp_csr *X);

/* Accuracy (argmax, ties to the lower class) and mean NLL of probs[n, C] against labels y[n] (the label of
 * probs row i is y[rows[i]] when rows is not NULL). Probabilities are clamped at 1e-30 inside the log. */
void sp_linear_evaluate(double *accuracy, double *loss, const float *probs, const int32_t *y, const size_t *rows,
                        size_t n, int C);

/* Per row of X, the K features with the largest |contribution| to the centred logit of the predicted class:
 * value = x_f * (W[f, c^] - mean_c W[f, c]), c^ = argmax of the logits. ids[R, K] int32, values[R, K];
 * rows with fewer than K features are padded with id -1 and value 0. Order: |value| descending, ties by id. */
sp_status sp_linear_top_contributions(int32_t *ids, float *values, const sp_linear_model *m, const sp_csr *X, int K);

/* Both of the above in one pass over X: probs[R, C] (may be NULL) exactly as sp_linear_predict_proba, and
 * ids / values [R, K] (K = 0: none) exactly as sp_linear_top_contributions; each row's logits are computed
 * once and its weights are still in cache for the contributions. */
sp_status sp_linear_predict_explain(float *probs, int32_t *ids, float *values, const sp_linear_model *m,
                                    const sp_csr *X, int K);

/* ---------------------------------------------------------------- exact mode (linear_exact.c) */

typedef struct {
    double grad_tol; /* stop when ||grad L||_2 < grad_tol (default 1e-7) */
    int max_iter;    /* BFGS iterations, default 50000 */
} sp_linear_exact_options;

sp_linear_exact_options sp_linear_exact_options_default(void);

/* The unique minimiser of L (l2 > 0) over every row of X with labels y, by GSL's vector_bfgs2 from zero,
 * restarted when the line search stalls. theta[F*C + C] (layout of sp_linear_objective) receives the
 * optimum with the bias centred (sum_c b_c = 0; L does not depend on a common shift of b). *grad_norm and
 * *iterations (either may be NULL) report the final gradient norm and iteration count. Deterministic and
 * single-threaded. SP_ERR_NUMERIC if the gradient norm does not reach grad_tol within max_iter. */
sp_status sp_linear_fit_exact(double *theta, double *grad_norm, int *iterations, const sp_csr *X, const int32_t *y,
                              int C, double l2, const sp_linear_exact_options *o);

#endif
