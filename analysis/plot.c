/* plot.c: gnuplot-drawn figures (see plot.h). The .gp script renders both terminals in one loop, so a user
 * who restyles it gets matching PNG and SVG from a single `gnuplot <stem>.gp`. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

sp_plot_axes sp_plot_axes_default(const char *title, const char *xlabel, const char *ylabel)
{
    sp_plot_axes a = {title, xlabel, ylabel, 0, NAN, NAN, NAN, NAN, NULL, NULL, 0};
    return a;
}

/* Paths of one figure's files, final and temporary. */
typedef struct {
    char dat[1024], gp[1024], png[1024], svg[1024];
    char dat_tmp[1040], gp_tmp[1040], png_tmp[1040], svg_tmp[1040];
    const char *base; /* file name part of the stem, for the script's relative paths */
} plot_paths;

static sp_status plot_paths_make(plot_paths *p, const char *stem)
{
    if (strlen(stem) > 1000) return sp_fail(SP_ERR_USAGE, "plot path too long: %s", stem);
    snprintf(p->dat, sizeof p->dat, "%s.dat", stem);
    snprintf(p->gp, sizeof p->gp, "%s.gp", stem);
    snprintf(p->png, sizeof p->png, "%s.png", stem);
    snprintf(p->svg, sizeof p->svg, "%s.svg", stem);
    snprintf(p->dat_tmp, sizeof p->dat_tmp, "%s.tmp", p->dat);
    snprintf(p->gp_tmp, sizeof p->gp_tmp, "%s.tmp", p->gp);
    snprintf(p->png_tmp, sizeof p->png_tmp, "%s.tmp", p->png);
    snprintf(p->svg_tmp, sizeof p->svg_tmp, "%s.tmp", p->svg);
    const char *slash = strrchr(stem, '/');
    p->base = slash ? slash + 1 : stem;
    return SP_OK;
}

static void plot_paths_unlink_tmp(const plot_paths *p)
{
    unlink(p->dat_tmp);
    unlink(p->gp_tmp);
    unlink(p->png_tmp);
    unlink(p->svg_tmp);
}

/* Writes s as a gnuplot double-quoted string literal (backslash and quote escaped). */
static void plot_quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Opening of every script: output names overridable with -e, a loop over the two terminals. */
static void plot_script_begin(FILE *f, const plot_paths *p, int width, int height)
{
    fprintf(f, "# %s.gp: rerun with `gnuplot %s.gp` after restyling; data in %s.dat.\n", p->base, p->base, p->base);
    fprintf(f, "if (!exists(\"png_out\")) png_out = \"%s.png\"\n", p->base);
    fprintf(f, "if (!exists(\"svg_out\")) svg_out = \"%s.svg\"\n", p->base);
    fprintf(f, "if (!exists(\"datafile\")) datafile = \"%s.dat\"\n", p->base);
    fprintf(f, "do for [terminal_index = 1:2] {\n");
    fprintf(f, "  if (terminal_index == 1) {\n"
               "    set terminal pngcairo size %d,%d font \",11\" noenhanced\n"
               "    set output png_out\n"
               "  } else {\n"
               "    set terminal svg size %d,%d font \",11\" noenhanced dynamic\n"
               "    set output svg_out\n"
               "  }\n",
            width, height, width, height);
}

static void plot_script_end(FILE *f) { fprintf(f, "  set output\n}\n"); }

static void plot_axes_settings(FILE *f, const sp_plot_axes *a)
{
    fprintf(f, "  set title ");
    plot_quote(f, a->title);
    fprintf(f, "\n  set xlabel ");
    plot_quote(f, a->xlabel);
    fprintf(f, "\n  set ylabel ");
    plot_quote(f, a->ylabel);
    /* width 2: gnuplot underestimates short proportional-font titles and lets them touch the box. */
    fprintf(f, "\n  set key %s box opaque width 2\n", a->key ? a->key : "top right");
    fprintf(f, "  set grid\n");
    if (a->log_x) fprintf(f, "  set logscale x\n");
    if (a->x_labels && a->n_x_labels) {
        /* Categories: named tics at 0..n-1 only, with half a slot of margin on both sides. */
        fprintf(f, "  set xtics (");
        for (size_t i = 0; i < a->n_x_labels; i++) {
            if (i) fprintf(f, ", ");
            plot_quote(f, a->x_labels[i]);
            fprintf(f, " %zu", i);
        }
        fprintf(f, ")\n");
        if (!isfinite(a->x_min) && !isfinite(a->x_max))
            fprintf(f, "  set xrange [-0.5:%.1f]\n", (double)a->n_x_labels - 0.5);
    }
    if (isfinite(a->x_min) || isfinite(a->x_max)) {
        fprintf(f, "  set xrange [");
        if (isfinite(a->x_min)) fprintf(f, "%.17g", a->x_min);
        fprintf(f, ":");
        if (isfinite(a->x_max)) fprintf(f, "%.17g", a->x_max);
        fprintf(f, "]\n");
    }
    if (isfinite(a->y_min) || isfinite(a->y_max)) {
        fprintf(f, "  set yrange [");
        if (isfinite(a->y_min)) fprintf(f, "%.17g", a->y_min);
        fprintf(f, ":");
        if (isfinite(a->y_max)) fprintf(f, "%.17g", a->y_max);
        fprintf(f, "]\n");
    }
}

/* Runs `gnuplot -e "png_out=...;svg_out=..." <script>` in the figure's directory, then renames all four
 * temporary files into place. */
static sp_status plot_render(const plot_paths *p, const char *stem)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", stem);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else strcpy(dir, ".");

    /* The script is rendered while its files still have temporary names; tell it which. */
    char assign[3300];
    const char *png_base = strrchr(p->png_tmp, '/'), *svg_base = strrchr(p->svg_tmp, '/'),
               *dat_base = strrchr(p->dat_tmp, '/');
    snprintf(assign, sizeof assign, "png_out='%s'; svg_out='%s'; datafile='%s'",
             png_base ? png_base + 1 : p->png_tmp, svg_base ? svg_base + 1 : p->svg_tmp,
             dat_base ? dat_base + 1 : p->dat_tmp);
    const char *gp_base = strrchr(p->gp_tmp, '/');
    gp_base = gp_base ? gp_base + 1 : p->gp_tmp;

    pid_t pid = fork();
    if (pid < 0) return sp_fail(SP_ERR_IO, "cannot start gnuplot for %s: %s", p->png, strerror(errno));
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(126);
        /* gnuplot prints warnings on stderr; keep them (they point at a broken restyle), drop stdout. */
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execlp("gnuplot", "gnuplot", "-e", assign, gp_base, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return sp_fail(SP_ERR_IO, "lost gnuplot drawing %s: %s", p->png, strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return sp_fail(SP_ERR_IO, "gnuplot failed drawing %s (exit %d%s)", p->png, code,
                       code == 127 ? ": gnuplot not found; install gnuplot-nox" : "");
    }
    const char *from[4] = {p->dat_tmp, p->gp_tmp, p->png_tmp, p->svg_tmp};
    const char *to[4] = {p->dat, p->gp, p->png, p->svg};
    for (int i = 0; i < 4; i++)
        if (rename(from[i], to[i]) != 0)
            return sp_fail(SP_ERR_IO, "cannot rename %s to %s: %s", from[i], to[i], strerror(errno));
    return SP_OK;
}

/* Opens the two temporary text files of a figure. */
static sp_status plot_open(const plot_paths *p, FILE **dat, FILE **gp)
{
    *dat = fopen(p->dat_tmp, "w");
    *gp = *dat ? fopen(p->gp_tmp, "w") : NULL;
    if (!*dat || !*gp) {
        int err = errno;
        if (*dat) fclose(*dat);
        plot_paths_unlink_tmp(p);
        return sp_fail(SP_ERR_IO, "cannot write %s: %s; check that the report directory is writable", p->dat_tmp,
                       strerror(err));
    }
    return SP_OK;
}

/* Closes both files and renders; on any failure removes every temporary file. */
static sp_status plot_finish(const plot_paths *p, const char *stem, FILE *dat, FILE *gp)
{
    int bad = ferror(dat) | ferror(gp);
    bad |= fclose(dat) != 0;
    bad |= fclose(gp) != 0;
    sp_status st = bad ? sp_fail(SP_ERR_IO, "cannot write %s (disk full?)", p->dat_tmp) : plot_render(p, stem);
    if (st != SP_OK) plot_paths_unlink_tmp(p);
    return st;
}

sp_status sp_plot_xy(const char *stem, const sp_plot_axes *axes, sp_plot_style style, size_t n_series,
                     const sp_plot_series *series)
{
    plot_paths p;
    FILE *dat, *gp;
    sp_status st = plot_paths_make(&p, stem);
    if (st != SP_OK || (st = plot_open(&p, &dat, &gp)) != SP_OK) return st;
    for (size_t s = 0; s < n_series; s++) {
        const sp_plot_series *se = &series[s];
        int bands = se->y_lo && se->y_hi;
        fprintf(dat, "# series %zu: ", s);
        fprintf(dat, "%s\n# x y%s\n", se->name, bands ? " y_low y_high" : "");
        size_t written = 0;
        for (size_t i = 0; i < se->n; i++) {
            if (!isfinite(se->x[i]) || !isfinite(se->y[i])) continue;
            if (bands && (!isfinite(se->y_lo[i]) || !isfinite(se->y_hi[i]))) continue;
            fprintf(dat, "%.9g %.9g", se->x[i], se->y[i]);
            if (bands) fprintf(dat, " %.9g %.9g", se->y_lo[i], se->y_hi[i]);
            fputc('\n', dat);
            written++;
        }
        /* gnuplot rejects an empty index block; a lone NaN row keeps indices aligned and draws nothing. */
        if (written == 0) fprintf(dat, bands ? "NaN NaN NaN NaN\n" : "NaN NaN\n");
        fprintf(dat, "\n\n");
    }
    plot_script_begin(gp, &p, 1000, 650);
    plot_axes_settings(gp, axes);
    fprintf(gp, "  plot \\\n");
    for (size_t s = 0; s < n_series; s++) {
        const sp_plot_series *se = &series[s];
        int bands = se->y_lo && se->y_hi;
        int lt = (int)(s % 8) + 1;
        if (style == SP_PLOT_LINES && bands)
            fprintf(gp, "    datafile index %zu using 1:3:4 with filledcurves fs transparent solid 0.2 lt %d notitle, \\\n",
                    s, lt);
        fprintf(gp, "    datafile index %zu using 1:2%s with %s lt %d lw 2 pt 7 ps 0.8 title ", s,
                style == SP_PLOT_ERRORBARS && bands ? ":3:4" : "",
                style == SP_PLOT_POINTS ? "points" : style == SP_PLOT_LINES ? "linespoints" : "yerrorbars", lt);
        plot_quote(gp, se->name);
        fprintf(gp, "%s\n", s + 1 < n_series ? ", \\" : "");
    }
    plot_script_end(gp);
    return plot_finish(&p, stem, dat, gp);
}

sp_status sp_plot_histograms(const char *stem, const sp_plot_axes *axes, size_t n_sets, const char *const *names,
                             const double *const *values, const size_t *counts, size_t n_bins, double lo, double hi)
{
    if (n_bins == 0 || !(hi > lo)) return sp_fail(SP_ERR_USAGE, "histogram %s: need bins > 0 and hi > lo", stem);
    plot_paths p;
    FILE *dat, *gp;
    sp_status st = plot_paths_make(&p, stem);
    if (st != SP_OK) return st;
    double *frac = calloc(n_bins, sizeof *frac);
    if (!frac) return sp_fail(SP_ERR_NOMEM, "out of memory drawing %s", stem);
    if ((st = plot_open(&p, &dat, &gp)) != SP_OK) {
        free(frac);
        return st;
    }
    double width = (hi - lo) / (double)n_bins;
    for (size_t s = 0; s < n_sets; s++) {
        memset(frac, 0, n_bins * sizeof *frac);
        size_t used = 0;
        for (size_t i = 0; i < counts[s]; i++) {
            double v = values[s][i];
            if (!isfinite(v)) continue;
            long b = (long)floor((v - lo) / width);
            if (b < 0) b = 0;
            if (b >= (long)n_bins) b = (long)n_bins - 1;
            frac[b] += 1.0;
            used++;
        }
        fprintf(dat, "# set %zu: %s (%zu values)\n# bin_centre fraction\n", s, names[s], used);
        for (size_t b = 0; b < n_bins; b++)
            fprintf(dat, "%.9g %.9g\n", lo + ((double)b + 0.5) * width, used ? frac[b] / (double)used : 0.0);
        fprintf(dat, "\n\n");
    }
    free(frac);
    plot_script_begin(gp, &p, 1000, 650);
    /* Fractions start at zero and the bins fill the x axis unless the caller chose otherwise. */
    sp_plot_axes a = *axes;
    if (!isfinite(a.x_min) && !isfinite(a.x_max)) a.x_min = lo, a.x_max = hi;
    if (!isfinite(a.y_min)) a.y_min = 0;
    plot_axes_settings(gp, &a);
    fprintf(gp, "  set boxwidth %.9g absolute\n  set style fill transparent solid 0.35 border\n", width);
    fprintf(gp, "  plot \\\n");
    for (size_t s = 0; s < n_sets; s++) {
        fprintf(gp, "    datafile index %zu using 1:2 with boxes lt %d title ", s, (int)(s % 8) + 1);
        plot_quote(gp, names[s]);
        fprintf(gp, "%s\n", s + 1 < n_sets ? ", \\" : "");
    }
    plot_script_end(gp);
    return plot_finish(&p, stem, dat, gp);
}

sp_status sp_plot_heatmaps(const char *stem, const char *title, const char *cblabel, size_t n_panels,
                           const char *const *panel_titles, const double *const *matrices, size_t n,
                           double z_min, double z_max)
{
    plot_paths p;
    FILE *dat, *gp;
    sp_status st = plot_paths_make(&p, stem);
    if (st != SP_OK || (st = plot_open(&p, &dat, &gp)) != SP_OK) return st;
    for (size_t k = 0; k < n_panels; k++) {
        fprintf(dat, "# panel %zu: %s (%zu x %zu matrix)\n", k, panel_titles[k], n, n);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++) fprintf(dat, "%s%.9g", j ? " " : "", matrices[k][i * n + j]);
            fputc('\n', dat);
        }
        fprintf(dat, "\n\n");
    }
    int width = 560 * (int)(n_panels ? n_panels : 1), height = 560;
    plot_script_begin(gp, &p, width, height);
    fprintf(gp, "  set multiplot layout 1,%zu title ", n_panels);
    plot_quote(gp, title);
    fprintf(gp, "\n  set size ratio -1\n  set palette rgbformulae 33,13,10\n  set cblabel ");
    plot_quote(gp, cblabel);
    fprintf(gp, "\n");
    if (isfinite(z_min) && isfinite(z_max)) fprintf(gp, "  set cbrange [%.9g:%.9g]\n", z_min, z_max);
    fprintf(gp, "  set xrange [-0.5:%zu.5]\n  set yrange [%zu.5:-0.5]\n", n ? n - 1 : 0, n ? n - 1 : 0);
    size_t step = n > 10 ? (n + 9) / 10 : 1; /* about ten integer tics per axis */
    fprintf(gp, "  set xtics 0,%zu out nomirror\n  set ytics 0,%zu out nomirror\n", step, step);
    fprintf(gp, "  set xlabel \"model\"\n  set ylabel \"model\"\n");
    for (size_t k = 0; k < n_panels; k++) {
        /* With a shared colour range one labelled colour box (the last panel's) is enough; the others would run
         * their rotated label into the next panel's axis label. */
        if (n_panels > 1 && k + 1 < n_panels && isfinite(z_min) && isfinite(z_max)) fprintf(gp, "  unset colorbox\n");
        else if (n_panels > 1) fprintf(gp, "  set colorbox\n");
        if (n_panels > 1 && k + 1 < n_panels) fprintf(gp, "  unset cblabel\n");
        else if (n_panels > 1) {
            fprintf(gp, "  set cblabel ");
            plot_quote(gp, cblabel);
            fprintf(gp, "\n");
        }
        fprintf(gp, "  set title ");
        plot_quote(gp, panel_titles[k]);
        fprintf(gp, "\n  plot datafile index %zu matrix with image notitle\n", k);
    }
    fprintf(gp, "  unset multiplot\n");
    plot_script_end(gp);
    return plot_finish(&p, stem, dat, gp);
}
