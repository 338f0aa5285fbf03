/* underspec.h: underspecification summaries (D'Amour et al., JMLR 2022; McCoy, Min & Linzen 2020):
 * the spread of per-model scores in domain and out of domain, and their rank agreement across models.
 *
 *     sp_spread id, ood;
 *     sp_spread_compute(&id, id_acc, M);  sp_spread_compute(&ood, ood_acc, M);
 *     double ratio = sp_spread_ratio(ood.sd, id.sd);        // OOD spread / ID spread
 *     double rho = sp_spearman(id_acc, ood_acc, M), tau = sp_kendall_tau_b(id_acc, ood_acc, M);
 */
#ifndef SPLINTER_UNDERSPEC_H
#define SPLINTER_UNDERSPEC_H

#include <stddef.h>

#include "status.h"

typedef struct {
    size_t n;
    double mean;
    double sd;    /* sample standard deviation (n - 1); NaN for n < 2 */
    double min, max, range;
    double iqr;   /* q(0.75) - q(0.25), quantiles by linear interpolation (GSL, numpy's default) */
} sp_spread;

/* Spread of x[0..n); n >= 1. SP_ERR_NOMEM. */
sp_status sp_spread_compute(sp_spread *out, const double *x, size_t n);

/* a / b, NaN when b is 0 or either is NaN. */
double sp_spread_ratio(double a, double b);

/* Spearman's rho (Pearson correlation of mid-ranks, gsl_stats_spearman); NaN for n < 2, for a constant
 * input or on allocation failure. */
double sp_spearman(const double *x, const double *y, size_t n);

/* Kendall's tau-b: (n_c - n_d) / sqrt((n0 - n1)(n0 - n2)), n0 = n(n-1)/2, n1 / n2 = tied pairs in x / y;
 * O(n^2). NaN when either variable is constant or n < 2. */
double sp_kendall_tau_b(const double *x, const double *y, size_t n);

#endif
