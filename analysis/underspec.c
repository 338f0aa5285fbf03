/* underspec.c: spread statistics and rank correlations of per-model scores. */
#include "underspec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

sp_status sp_spread_compute(sp_spread *out, const double *x, size_t n)
{
    memset(out, 0, sizeof *out);
    if (n == 0) return sp_fail(SP_ERR_USAGE, "spread of an empty set of scores");
    double *v = malloc(n * sizeof *v);
    if (!v) return sp_fail(SP_ERR_NOMEM, "out of memory for a spread");
    memcpy(v, x, n * sizeof *v);
    gsl_sort(v, 1, n);
    out->n = n;
    out->mean = gsl_stats_mean(v, 1, n);
    out->sd = n >= 2 ? gsl_stats_sd_m(v, 1, n, out->mean) : NAN;
    out->min = v[0];
    out->max = v[n - 1];
    out->range = out->max - out->min;
    out->iqr = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.75) - gsl_stats_quantile_from_sorted_data(v, 1, n, 0.25);
    free(v);
    return SP_OK;
}

double sp_spread_ratio(double a, double b)
{
    if (!isfinite(a) || !isfinite(b) || b == 0) return NAN;
    return a / b;
}

static int is_constant(const double *x, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}

double sp_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2 || is_constant(x, n) || is_constant(y, n)) return NAN;
    double *work = malloc(2 * n * sizeof *work);
    if (!work) return NAN;
    double rho = gsl_stats_spearman(x, 1, y, 1, n, work);
    free(work);
    return rho;
}

double sp_kendall_tau_b(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double concordant = 0, discordant = 0, tie_x = 0, tie_y = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0) tie_x += 1;
            if (dy == 0) tie_y += 1;
            if (dx == 0 || dy == 0) continue;
            if ((dx > 0) == (dy > 0)) concordant += 1;
            else discordant += 1;
        }
    double n0 = (double)n * (double)(n - 1) / 2;
    double denom = sqrt((n0 - tie_x) * (n0 - tie_y));
    return denom > 0 ? (concordant - discordant) / denom : NAN;
}
