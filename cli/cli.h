/* cli.h: the splinter command line: subcommand entry points and shared option helpers.
 *
 * Each subcommand lives in cli/cmd_<name>.c as `int cmd_<name>(int argc, char **argv)` (argv[0] is the
 * subcommand name), parses its options with getopt_long, calls the library, and returns an exit code:
 * 0 ok, 1 runtime failure, 2 usage error. Messages go to stderr; results go to files.
 */
#ifndef SPLINTER_CLI_H
#define SPLINTER_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* Prints "splinter: <message>" for a failed status and returns its exit code. */
int cli_report(sp_status st);

/* Prints "splinter <cmd>: <message>\nTry 'splinter <cmd> --help'." and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing of option values: the whole string must be a number in range.
 * On failure prints a usage error naming the option and returns 0; returns 1 on success. */
int cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out);
int cli_parse_int(const char *cmd, const char *option, const char *text, int min, int max, int *out);
int cli_parse_double(const char *cmd, const char *option, const char *text, double min, double max, double *out);

/* The analysis section of RUN/run.yaml, the resolved configuration a sweep records in its run directory. */
typedef struct {
    int found;          /* 0: RUN has no run.yaml (not made by `splinter sweep`) */
    double eps[64];
    size_t n_eps;
    size_t bootstrap;
    uint64_t seed;
    size_t top;
    char concepts[4096]; /* analysis.concepts, "" when not set */
} cli_run_analysis;

/* Reads RUN/run.yaml's analysis section when the file exists; SP_OK with found = 0 when it does not. */
sp_status cli_run_analysis_load(const char *run, cli_run_analysis *out);

/* Subcommands (one per cli/cmd_<name>.c). */
int cmd_data(int argc, char **argv);
int cmd_export_notebook(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

/* The encoder family of `splinter train` (cli/cmd_train_encoder.c): argv as cmd_train received it. */
int cli_train_encoder(int argc, char **argv);
void cli_train_encoder_usage(FILE *out);

#endif
