/* main.c: `splinter <command> [options]`: dispatch to the subcommands in cli/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static int cmd_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("splinter %s\nblas: %s\n", sp_program_version(), sp_blas_config());
    return CLI_EXIT_OK;
}

/* One line per subcommand; its code lives in cli/cmd_<name>.c. */
static const command commands[] = {
    {"version", cmd_version, "print the program version and BLAS configuration"},
    {"data", cmd_data, "fetch, import and describe data sets (fetch | import | info)"},
    {"train", cmd_train, "train a model family on RUN/dataset.h5 (--family linear | encoder)"},
    {"sweep", cmd_sweep, "train every model of a sweep config (resumable; MPI-distributed under mpirun)"},
    {"analyze", cmd_analyze, "Rashomon sets, predictive multiplicity and underspecification of a run"},
    {"report", cmd_report, "bring the analysis up to date and write RUN/report/ (report.md and figures)"},
    {"export-notebook", cmd_export_notebook, "write a run as a Jupyter notebook (narrative, redrawn figures, data)"},
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage: splinter <command> [options]\n\n"
                 "How much of a trained text classifier is decided by arbitrary choices, and where do\n"
                 "equally good models come apart out of domain?\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'splinter <command> --help' describes a command. Exit codes: 0 ok, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "splinter: unknown command '%s'\n", name);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}
