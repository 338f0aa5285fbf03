/* cli_common.c: shared option parsing and error reporting for the subcommands. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sweep_config.h"

int cli_report(sp_status st)
{
    if (st == SP_OK) return CLI_EXIT_OK;
    const char *msg = sp_error_message();
    fprintf(stderr, "splinter: %s\n", msg[0] ? msg : sp_status_name(st));
    return sp_status_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "splinter %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'splinter %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (text[0] == '-' || text[0] == '\0') goto bad;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') goto bad;
    *out = (uint64_t)v;
    return 1;
bad:
    cli_usage_error(cmd, "option %s expects a non-negative integer, got '%s'", option, text);
    return 0;
}

int cli_parse_int(const char *cmd, const char *option, const char *text, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        cli_usage_error(cmd, "option %s expects an integer in [%d, %d], got '%s'", option, min, max, text);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_parse_double(const char *cmd, const char *option, const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
        cli_usage_error(cmd, "option %s expects a number in [%g, %g], got '%s'", option, min, max, text);
        return 0;
    }
    *out = v;
    return 1;
}

sp_status cli_run_analysis_load(const char *run, cli_run_analysis *out)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/run.yaml", run);
    FILE *f = fopen(path, "r");
    if (!f) return SP_OK;
    fclose(f);
    sp_sweep_config *cfg = NULL;
    sp_status st = sp_sweep_config_load(path, &cfg);
    if (st != SP_OK) return st;
    const sp_cfg_analysis *a = cfg->analysis;
    out->found = 1;
    out->n_eps = a->eps_count < 64 ? a->eps_count : 64;
    for (size_t i = 0; i < out->n_eps; i++) out->eps[i] = a->eps[i];
    out->bootstrap = (size_t)*a->bootstrap;
    out->seed = *a->seed;
    out->top = (size_t)*a->top;
    if (a->concepts) snprintf(out->concepts, sizeof out->concepts, "%s", a->concepts);
    sp_sweep_config_free(cfg);
    return SP_OK;
}
