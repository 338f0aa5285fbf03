/* cmd_export_notebook.c: `splinter export-notebook RUN -o run.ipynb`: a run directory as a Jupyter notebook. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "notebook.h"

static void export_notebook_help(FILE *out)
{
    fprintf(out,
            "usage: splinter export-notebook RUN -o OUT.ipynb\n\n"
            "Writes a Jupyter notebook (nbformat 4.5) of run directory RUN: run name, versions, data hash, seeds\n"
            "and configuration; the narrative of RUN/report/report.md with every figure redrawn by matplotlib from\n"
            "its data (the stored output is the PNG splinter made); and cells that load RUN/analysis/*.csv with\n"
            "pandas and every model's predictions with h5py. The notebook refers to RUN by its absolute path\n"
            "(first code cell). Without report.md the figures in RUN/report are shown without narrative.\n\n"
            "options:\n"
            "  -o, --output FILE   the notebook to write (required; written as FILE.tmp, then renamed)\n"
            "  -h, --help          this help\n");
}

int cmd_export_notebook(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            export_notebook_help(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("export-notebook", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("export-notebook", "expected one run directory");
    if (!out || !out[0]) return cli_usage_error("export-notebook", "missing -o OUT.ipynb");
    const char *run = argv[optind];
    sp_notebook_summary sum;
    sp_status st = sp_notebook_export(run, out, &sum);
    if (st != SP_OK) return cli_report(st);
    fprintf(stderr, "splinter: wrote %s: %zu cells, %zu figure%s (%zu redrawn from data), %zu table%s, %zu model%s%s\n",
            out, sum.n_cells, sum.n_figures, sum.n_figures == 1 ? "" : "s", sum.n_figures_redraw, sum.n_tables,
            sum.n_tables == 1 ? "" : "s", sum.n_models, sum.n_models == 1 ? "" : "s",
            sum.has_report ? "" : "; no report/report.md, so no narrative");
    if (sum.n_figures_missing)
        fprintf(stderr, "splinter: warning: report.md links %zu figure file%s missing from %s/report\n",
                sum.n_figures_missing, sum.n_figures_missing == 1 ? "" : "s", run);
    return CLI_EXIT_OK;
}
