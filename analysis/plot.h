/* plot.h: figures for reports, drawn by gnuplot, each as data + script + PNG + SVG.
 *
 * Every figure <stem> is four files: <stem>.dat (the numbers, whitespace-separated, one gnuplot index block
 * per series), <stem>.gp (a readable script users can restyle and rerun with `gnuplot <stem>.gp`),
 * <stem>.png and <stem>.svg. All four are written under temporary names and renamed when gnuplot succeeded.
 *
 *     double x[3] = {0.97, 0.98, 0.99}, y[3] = {0.80, 0.60, 0.85};
 *     sp_plot_series s = {.name = "joint", .n = 3, .x = x, .y = y};
 *     sp_plot_axes ax = sp_plot_axes_default("ID vs OOD accuracy", "ID test accuracy", "OOD accuracy");
 *     sp_plot_xy("report/id_vs_ood", &ax, SP_PLOT_POINTS, 1, &s);
 */
#ifndef SPLINTER_PLOT_H
#define SPLINTER_PLOT_H

#include <stddef.h>

#include "status.h"

typedef enum {
    SP_PLOT_POINTS,     /* scatter */
    SP_PLOT_LINES,      /* lines with point markers; y_lo/y_hi drawn as a shaded band when given */
    SP_PLOT_ERRORBARS   /* points with vertical interval bars (y_lo, y_hi required) */
} sp_plot_style;

typedef struct {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int log_x;          /* logarithmic x axis */
    double x_min, x_max; /* NAN for automatic */
    double y_min, y_max;
    const char *key;    /* gnuplot key placement ("top left", "outside right", ...); NULL for "top right" */
    const char *const *x_labels; /* optional: n_x_labels tic labels placed at x = 0, 1, ..., n_x_labels - 1 */
    size_t n_x_labels;           /* (categories such as layers or splits on the x axis) */
} sp_plot_axes;

/* One named series; y_lo/y_hi optional (NULL) interval bounds. */
typedef struct {
    const char *name;
    size_t n;
    const double *x;
    const double *y;
    const double *y_lo;
    const double *y_hi;
} sp_plot_series;

/* Axes with a title and labels, automatic ranges, linear scales. */
sp_plot_axes sp_plot_axes_default(const char *title, const char *xlabel, const char *ylabel);

/* Draws n_series series on shared axes. Non-finite points are skipped (gnuplot cannot draw them). */
sp_status sp_plot_xy(const char *stem, const sp_plot_axes *axes, sp_plot_style style, size_t n_series,
                     const sp_plot_series *series);

/* Overlaid histograms of several value sets (e.g. ID vs OOD) on one range [lo, hi] with n_bins bins,
 * normalised to fractions so sets of different sizes compare. Values outside the range are clamped into
 * the edge bins (and counted). */
sp_status sp_plot_histograms(const char *stem, const sp_plot_axes *axes, size_t n_sets, const char *const *names,
                             const double *const *values, const size_t *counts, size_t n_bins, double lo, double hi);

/* Heatmaps of n_panels square matrices (n x n, row-major) side by side with a shared colour range
 * [z_min, z_max] (NAN for automatic), each panel titled. cblabel names the colour scale. */
sp_status sp_plot_heatmaps(const char *stem, const char *title, const char *cblabel, size_t n_panels,
                           const char *const *panel_titles, const double *const *matrices, size_t n,
                           double z_min, double z_max);

#endif
