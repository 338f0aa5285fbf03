/* cmd_analyze.c: `splinter analyze RUN`: Rashomon sets, predictive multiplicity and underspecification of
 * the models in RUN/models/, written to RUN/analysis/ (docs/metrics.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run_analysis.h"
#include "store.h"

static void analyze_usage(FILE *out)
{
    fprintf(out,
            "usage: splinter analyze RUN [--eps-grid E1,E2,...] [--delta D] [--top K] [--bootstrap B] [--seed N]\n\n"
            "Model-level analysis of the complete model files in RUN/models/, grouped by variant: epsilon-Rashomon\n"
            "sets (validation loss and error, absolute and relative epsilon), ambiguity, discrepancy, viable\n"
            "prediction ranges, Rashomon capacity, seed disagreement, pairwise disagreement, underspecification\n"
            "(ID vs OOD spread, rank correlations), Multi-Bootstrap intervals. Writes RUN/analysis/analysis.h5,\n"
            "models.csv, multiplicity.csv, examples.csv, pairwise_<split>.csv, variants.csv.\n\n"
            "  --eps-grid LIST  comma-separated epsilons, used for every kind (default 0,0.001,0.002,0.005,0.01,\n"
            "                   0.02,0.05,0.1)\n"
            "  --delta D        probability threshold of delta-ambiguity/discrepancy (default 0.1)\n"
            "  --top K          print the K most ambiguous OOD examples (highest Rashomon capacity) with their text\n"
            "  --bootstrap B    Multi-Bootstrap replicates (default 200; 0: no intervals)\n"
            "  --seed N         seed of the bootstrap streams (default 0)\n");
}

static int parse_grid(const char *text, sp_analysis_options *opt)
{
    char *copy = strdup(text);
    if (!copy) return 0;
    size_t n = 0;
    int ok = 1;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        if (n == SP_ANALYSIS_MAX_EPS) {
            cli_usage_error("analyze", "--eps-grid takes at most %d values", SP_ANALYSIS_MAX_EPS);
            ok = 0;
            break;
        }
        ok = cli_parse_double("analyze", "--eps-grid", tok, 0.0, 1e300, &opt->eps[n++]);
    }
    free(copy);
    if (ok && n == 0) {
        cli_usage_error("analyze", "--eps-grid needs at least one value");
        ok = 0;
    }
    if (ok) opt->n_eps = n;
    return ok;
}

/* Prints one line of text: newlines and tabs as spaces, cut at `max` bytes. */
static void print_excerpt(const char *text, size_t max)
{
    size_t k = 0;
    for (; text[k] && k < max; k++) putchar(text[k] == '\n' || text[k] == '\r' || text[k] == '\t' ? ' ' : text[k]);
    if (text[k]) fputs(" [...]", stdout);
    putchar('\n');
}

static int print_top(const char *run, const sp_analysis_result *res)
{
    if (res->n_top == 0) {
        printf("no OOD examples to rank\n");
        return CLI_EXIT_OK;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", run);
    hid_t f;
    sp_status st = sp_store_open(path, "splinter-dataset", &f);
    if (st != SP_OK) return cli_report(st);
    char **text = NULL;
    size_t n = 0;
    st = sp_store_read_strings(f, "/text", &n, &text);
    H5Fclose(f);
    if (st != SP_OK) return cli_report(st);
    printf("the %zu most ambiguous OOD examples (Rashomon capacity over each variant's models):\n", res->n_top);
    for (size_t k = 0; k < res->n_top; k++) {
        const sp_analysis_example *e = &res->top[k];
        printf("%zu. %s %s row %lld label %d: capacity %.4f, seed disagreement %.4f, viable range [%.3f, %.3f]\n   ",
               k + 1, e->variant, e->split, (long long)e->row, e->label, e->capacity, e->mu_unbiased, e->vpr_low,
               e->vpr_high);
        if (e->row >= 0 && (size_t)e->row < n) print_excerpt(text[e->row], 300);
        else printf("(row not in dataset.h5 /text)\n");
    }
    for (size_t k = 0; k < n; k++) free(text[k]);
    free(text);
    return CLI_EXIT_OK;
}

int cmd_analyze(int argc, char **argv)
{
    sp_analysis_options opt;
    sp_analysis_options_default(&opt);
    static const struct option longopts[] = {
        {"eps-grid", required_argument, NULL, 'e'}, {"delta", required_argument, NULL, 'd'},
        {"top", required_argument, NULL, 't'},      {"bootstrap", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c, v;
    uint64_t u;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (!parse_grid(optarg, &opt)) return CLI_EXIT_USAGE;
            break;
        case 'd':
            if (!cli_parse_double("analyze", "--delta", optarg, 0.0, 1.0, &opt.delta)) return CLI_EXIT_USAGE;
            break;
        case 't':
            if (!cli_parse_int("analyze", "--top", optarg, 0, 1000000, &v)) return CLI_EXIT_USAGE;
            opt.top_k = (size_t)v;
            break;
        case 'b':
            if (!cli_parse_int("analyze", "--bootstrap", optarg, 0, 1000000, &v)) return CLI_EXIT_USAGE;
            opt.bootstrap = (size_t)v;
            break;
        case 's':
            if (!cli_parse_u64("analyze", "--seed", optarg, &u)) return CLI_EXIT_USAGE;
            opt.seed = u;
            break;
        case 'h':
            analyze_usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("analyze", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("analyze", "expects exactly one run directory");
    const char *run = argv[optind];
    sp_analysis_result *res = NULL;
    sp_status st = sp_analysis_run(run, &opt, &res);
    if (st != SP_OK) return cli_report(st);
    for (size_t k = 0; k < res->n_warnings; k++) fprintf(stderr, "splinter analyze: warning: %s\n", res->warnings[k]);
    fprintf(stderr, "splinter analyze: %zu models in %zu variant(s); results in %s/analysis/\n", res->n_models,
            res->n_variants, run);
    int rc = opt.top_k ? print_top(run, res) : CLI_EXIT_OK;
    sp_analysis_result_free(res);
    return rc;
}
