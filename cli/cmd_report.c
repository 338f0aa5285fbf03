/* cmd_report.c: `splinter report RUN`: bring the analysis up to date and write RUN/report/ (report.md and
 * figures; docs/report.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static void report_usage(FILE *out)
{
    fprintf(out,
            "usage: splinter report RUN [--force] [--eps E] [--eps-kind KIND] [--bootstrap B] [--seed N]\n"
            "                       [--delta D] [--max-examples N] [--concepts FILE]\n\n"
            "Writes RUN/report/: report.md (summary table with intervals, fine-tuning vs joint training verdict,\n"
            "2x2 tables, concept probes) and its figures (each as .dat, .gp, .png, .svg). The analyses (splinter analyze and the\n"
            "feature-splintering analysis) are rerun first when RUN/analysis/analysis.h5 is missing or older than\n"
            "a model file. The report is built in RUN/report.tmp/ and replaces RUN/report/ only when complete.\n\n"
            "  --force          recompute the analyses even when they are up to date\n"
            "  --eps E          epsilon of the summary table: the grid value closest to E (default 0.01)\n"
            "  --eps-kind KIND  Rashomon-set kind shown: loss-abs (default), loss-rel, error-abs, error-rel\n"
            "  --bootstrap B    Multi-Bootstrap replicates when recomputing (default 200; 0: no intervals)\n"
            "  --seed N         bootstrap seed when recomputing (default 0)\n"
            "  --delta D        when recomputing: threshold of delta-ambiguity (default 0.1)\n"
            "  --max-examples N when recomputing: inputs per split for feature splintering (default 2000; 0: all)\n"
            "  --concepts FILE  when recomputing: concept probes from a word-list file (default: the sweep's\n"
            "                   analysis.concepts)\n");
}

int cmd_report(int argc, char **argv)
{
    sp_report_options opt;
    sp_report_options_default(&opt);
    static const struct option longopts[] = {
        {"force", no_argument, NULL, 'f'},          {"eps", required_argument, NULL, 'e'},
        {"eps-kind", required_argument, NULL, 'k'}, {"bootstrap", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},     {"delta", required_argument, NULL, 'd'},
        {"max-examples", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'},
        {"concepts", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0}};
    int c, v, boot_set = 0, seed_set = 0;
    uint64_t u;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            opt.force = 1;
            break;
        case 'e':
            if (!cli_parse_double("report", "--eps", optarg, 0.0, 1e300, &opt.eps)) return CLI_EXIT_USAGE;
            break;
        case 'k':
            if (strcmp(optarg, "loss-abs") != 0 && strcmp(optarg, "loss-rel") != 0 &&
                strcmp(optarg, "error-abs") != 0 && strcmp(optarg, "error-rel") != 0)
                return cli_usage_error("report", "--eps-kind must be loss-abs, loss-rel, error-abs or error-rel");
            snprintf(opt.eps_kind, sizeof opt.eps_kind, "%s", optarg);
            break;
        case 'b':
            if (!cli_parse_int("report", "--bootstrap", optarg, 0, 1000000, &v)) return CLI_EXIT_USAGE;
            opt.analysis.bootstrap = (size_t)v;
            opt.splinter.bootstrap = (size_t)v;
            boot_set = 1;
            break;
        case 's':
            if (!cli_parse_u64("report", "--seed", optarg, &u)) return CLI_EXIT_USAGE;
            opt.analysis.seed = u;
            opt.splinter.seed = u;
            seed_set = 1;
            break;
        case 'd':
            if (!cli_parse_double("report", "--delta", optarg, 0.0, 1.0, &opt.analysis.delta)) return CLI_EXIT_USAGE;
            break;
        case 'm':
            if (!cli_parse_int("report", "--max-examples", optarg, 0, 100000000, &v)) return CLI_EXIT_USAGE;
            opt.splinter.max_examples = (size_t)v;
            break;
        case 'C':
            opt.splinter.concepts = optarg;
            break;
        case 'h':
            report_usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("report", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("report", "expects exactly one run directory");
    const char *run = argv[optind];
    /* A sweep's run directory records its analysis settings; options given here take precedence. */
    cli_run_analysis rc;
    sp_status st = cli_run_analysis_load(run, &rc);
    if (st != SP_OK) return cli_report(st);
    if (rc.found) {
        memcpy(opt.analysis.eps, rc.eps, rc.n_eps * sizeof *rc.eps);
        opt.analysis.n_eps = rc.n_eps;
        if (!boot_set) opt.analysis.bootstrap = opt.splinter.bootstrap = rc.bootstrap;
        if (!seed_set) opt.analysis.seed = opt.splinter.seed = rc.seed;
        if (!opt.splinter.concepts && rc.concepts[0]) opt.splinter.concepts = rc.concepts;
    }
    sp_report_result *res = NULL;
    st = sp_report_run(run, &opt, &res);
    if (st != SP_OK) return cli_report(st);
    for (size_t k = 0; k < res->n_warnings; k++) fprintf(stderr, "splinter report: warning: %s\n", res->warnings[k]);
    fprintf(stderr, "splinter report: %s; %zu figures, %zu left out; %s/report/report.md\n",
            res->recomputed ? "analysis recomputed" : "analysis up to date", res->n_figures, res->n_skipped, run);
    sp_report_result_free(res);
    return CLI_EXIT_OK;
}
