/* test_plot.c: every figure kind produces non-empty PNG (by magic bytes), SVG, data and script files; the
 * data file holds exactly the numbers given; failures leave no temporary files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot.h"

#define DIR "plot-test"

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void assert_figure(const char *stem)
{
    char path[512];
    const char *ext[4] = {"dat", "gp", "png", "svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s.%s", stem, ext[i]);
        assert_true(file_size(path) > 0);
        snprintf(path, sizeof path, "%s.%s.tmp", stem, ext[i]);
        assert_int_equal(file_size(path), -1);
    }
    snprintf(path, sizeof path, "%s.png", stem);
    FILE *f = fopen(path, "rb");
    unsigned char magic[8];
    assert_int_equal(fread(magic, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
    snprintf(path, sizeof path, "%s.svg", stem);
    f = fopen(path, "r");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "<svg"));
}

static void test_scatter_with_names_that_need_quoting(void **state)
{
    (void)state;
    double x[3] = {0.97, 0.98, 0.99}, y[3] = {0.8, NAN, 0.85}, x2[1] = {0.5}, y2[1] = {0.25};
    sp_plot_series s[2] = {{.name = "joint \"split\" ood_easy", .n = 3, .x = x, .y = y},
                           {.name = "finetune", .n = 1, .x = x2, .y = y2}};
    sp_plot_axes ax = sp_plot_axes_default("ID vs OOD accuracy", "ID test accuracy", "OOD accuracy (fraction)");
    assert_int_equal(sp_plot_xy(DIR "/scatter", &ax, SP_PLOT_POINTS, 2, s), SP_OK);
    assert_figure(DIR "/scatter");
    /* The NaN point is dropped; the two finite points of series 0 and the one of series 1 are written. */
    FILE *f = fopen(DIR "/scatter.dat", "r");
    char line[256];
    int rows = 0;
    double sum = 0;
    while (fgets(line, sizeof line, f)) {
        double a, b;
        if (line[0] != '#' && sscanf(line, "%lf %lf", &a, &b) == 2) rows++, sum += a + b;
    }
    fclose(f);
    assert_int_equal(rows, 3);
    assert_float_equal(sum, 0.97 + 0.8 + 0.99 + 0.85 + 0.5 + 0.25, 1e-9);
}

static void test_lines_with_bands_and_errorbars(void **state)
{
    (void)state;
    double x[4] = {0.001, 0.01, 0.1, 1}, y[4] = {1, 3, 9, 20}, lo[4] = {1, 2, 7, 18}, hi[4] = {1, 4, 11, 22};
    sp_plot_series s = {.name = "joint", .n = 4, .x = x, .y = y, .y_lo = lo, .y_hi = hi};
    sp_plot_axes ax = sp_plot_axes_default("Rashomon set size", "epsilon", "models in the set");
    ax.log_x = 1;
    ax.y_min = 0;
    assert_int_equal(sp_plot_xy(DIR "/lines", &ax, SP_PLOT_LINES, 1, &s), SP_OK);
    assert_figure(DIR "/lines");
    assert_int_equal(sp_plot_xy(DIR "/bars", &ax, SP_PLOT_ERRORBARS, 1, &s), SP_OK);
    assert_figure(DIR "/bars");
}

/* Category tics: the script names each label at its integer position and frames them with half a slot. */
static void test_category_labels_on_x(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {0.1, 0.3, 0.2}, lo[3] = {0, 0.2, 0.1}, hi[3] = {0.2, 0.4, 0.3};
    sp_plot_series s = {.name = "finetune", .n = 3, .x = x, .y = y, .y_lo = lo, .y_hi = hi};
    static const char *const layers[3] = {"emb", "block0", "say \"hi\""};
    sp_plot_axes ax = sp_plot_axes_default("Splintering per layer", "layer", "CKA drop");
    ax.x_labels = layers;
    ax.n_x_labels = 3;
    assert_int_equal(sp_plot_xy(DIR "/categories", &ax, SP_PLOT_ERRORBARS, 1, &s), SP_OK);
    assert_figure(DIR "/categories");
    FILE *f = fopen(DIR "/categories.gp", "r");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "set xtics (\"emb\" 0, \"block0\" 1, \"say \\\"hi\\\"\" 2)\n"));
    assert_non_null(strstr(buf, "set xrange [-0.5:2.5]\n"));
    /* Without labels there are no named tics. */
    ax.x_labels = NULL;
    ax.n_x_labels = 0;
    assert_int_equal(sp_plot_xy(DIR "/plain", &ax, SP_PLOT_ERRORBARS, 1, &s), SP_OK);
    f = fopen(DIR "/plain.gp", "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_null(strstr(buf, "set xtics ("));
}

static void test_histograms_are_fractions(void **state)
{
    (void)state;
    double a[4] = {0.1, 0.1, 0.9, 5.0}, b[2] = {0.5, -3};
    const double *v[2] = {a, b};
    size_t n[2] = {4, 2};
    const char *names[2] = {"ID test", "OOD"};
    sp_plot_axes ax = sp_plot_axes_default("Viable prediction range", "range width", "fraction of examples");
    assert_int_equal(sp_plot_histograms(DIR "/hist", &ax, 2, names, v, n, 2, 0.0, 1.0), SP_OK);
    assert_figure(DIR "/hist");
    /* bins [0,.5) and [.5,1]: a -> 2/4, 2/4 (5.0 clamped to the top bin); b -> 1/2 (-3 clamped), 1/2. */
    FILE *f = fopen(DIR "/hist.dat", "r");
    char line[256];
    double got[4];
    int k = 0;
    while (fgets(line, sizeof line, f) && k < 4) {
        double c, fr;
        if (line[0] != '#' && sscanf(line, "%lf %lf", &c, &fr) == 2) got[k++] = fr;
    }
    fclose(f);
    assert_int_equal(k, 4);
    assert_float_equal(got[0], 0.5, 1e-12);
    assert_float_equal(got[1], 0.5, 1e-12);
    assert_float_equal(got[2], 0.5, 1e-12);
    assert_float_equal(got[3], 0.5, 1e-12);
    assert_int_equal(sp_plot_histograms(DIR "/bad", &ax, 2, names, v, n, 0, 0.0, 1.0), SP_ERR_USAGE);
}

static void test_heatmaps_side_by_side(void **state)
{
    (void)state;
    double id[9] = {0, 0.1, 0.2, 0.1, 0, 0.05, 0.2, 0.05, 0}, ood[9] = {0, 0.4, 0.3, 0.4, 0, 0.5, 0.3, 0.5, 0};
    const double *m[2] = {id, ood};
    const char *titles[2] = {"ID test", "OOD spam-2"};
    assert_int_equal(sp_plot_heatmaps(DIR "/heat", "Pairwise disagreement", "disagreement", 2, titles, m, 3, 0, 1),
                     SP_OK);
    assert_figure(DIR "/heat");
}

static void test_unwritable_directory_leaves_nothing(void **state)
{
    (void)state;
    double x[1] = {1}, y[1] = {1};
    sp_plot_series s = {.name = "a", .n = 1, .x = x, .y = y};
    sp_plot_axes ax = sp_plot_axes_default("t", "x", "y");
    assert_int_equal(sp_plot_xy(DIR "/missing/fig", &ax, SP_PLOT_POINTS, 1, &s), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), DIR "/missing/fig.dat.tmp"));
}

static int setup(void **state)
{
    (void)state;
    (void)system("rm -rf " DIR);
    return mkdir(DIR, 0755);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scatter_with_names_that_need_quoting),
        cmocka_unit_test(test_lines_with_bands_and_errorbars),
        cmocka_unit_test(test_category_labels_on_x),
        cmocka_unit_test(test_histograms_are_fractions),
        cmocka_unit_test(test_heatmaps_side_by_side),
        cmocka_unit_test(test_unwritable_directory_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
