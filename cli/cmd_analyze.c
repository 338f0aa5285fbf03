/* cmd_analyze.c: `splinter analyze RUN`: Rashomon sets, predictive multiplicity and underspecification of
 * the models in RUN/models/ (docs/metrics.md), then feature splintering of the models that store
 * activations (docs/splintering.md), written to RUN/analysis/. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "concepts.h"
#include "outputs.h"
#include "run_analysis.h"
#include "splinter_run.h"
#include "store.h"

static void analyze_usage(FILE *out)
{
    fprintf(out,
            "usage: splinter analyze RUN [--eps-grid E1,E2,...] [--delta D] [--top K] [--bootstrap B] [--seed N]\n"
            "                       [--exact | --no-exact] [--exact-eps LIST] [--exact-max N] [--exact-tol T]\n\n"
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
            "  --seed N         seed of the bootstrap streams (default 0)\n\n"
            "Exact viable prediction ranges of the linear family (when models/ holds linear-exact.h5; two classes):\n"
            "the range of each example's prediction over {w : L(w) <= L(w*) + eps}, L the training objective,\n"
            "compared with the seed-sampled linear models; writes exact_vpr.csv and exact_summary.csv:\n"
            "  --exact          require them (error without a usable exact model); default: when present\n"
            "  --no-exact       skip them\n"
            "  --exact-eps LIST absolute epsilons on the training objective (default 1e-5,1e-4,1e-3); not the\n"
            "                   validation-loss epsilons of --eps-grid\n"
            "  --exact-max N    examples solved per split: N/2 nearest the boundary + a random N/2 (default 20;\n"
            "                   0: all)\n"
            "  --exact-tol T    margin (logit) tolerance of the solver (default 1e-6)\n\n"
            "Feature splintering (models with activations: the encoder family; docs/splintering.md) writes\n"
            "similarity.csv, crosslayer.csv, splinter_pairs.csv, splinter_variants.csv, splinter_compare.csv,\n"
            "splinter_2x2.csv and splinter.h5:\n"
            "  --agree-eps E    pairs agree in domain when their ID test disagreement is <= E (default 0.05)\n"
            "  --tau-beh T      2x2: predictions agree OOD when s_beh <= T (default 0.02)\n"
            "  --tau-rep T      2x2: features agree OOD when the linear-CKA drop s_rep <= T; 'calibrated' (default):\n"
            "                   T per pair, layer and OOD split = the 95th percentile of the drop expected from\n"
            "                   sampling alone (ID vs ID; docs/splintering.md)\n"
            "  --tau-resamples B  random ID half splits behind the calibrated tau_rep (default 50)\n"
            "  --max-examples N at most N inputs per split for the fitted measures (default 2000; 0: all)\n"
            "  --concepts FILE  concept probes from a word-list file (lines 'name: word word ...'; default: the\n"
            "                   sweep's analysis.concepts); writes concepts.csv, splinter_concept_pairs.csv,\n"
            "                   splinter_concept_variants.csv (means with intervals) and\n"
            "                   splinter_concept_compare.csv (variant differences)\n"
            "  --no-features    skip feature splintering\n\n"
            "Optional files this run does not write (exact_*.csv without exact ranges, the concept files without\n"
            "concepts, every feature file with --no-features or without activations, pairwise_<split>.csv of a\n"
            "split the models no longer have) are removed from RUN/analysis/ if an earlier run left them.\n");
}

static int parse_grid(const char *text, double *eps, size_t *n_eps, const char *option)
{
    char *copy = strdup(text);
    if (!copy) return 0;
    size_t n = 0;
    int ok = 1;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        if (n == SP_ANALYSIS_MAX_EPS) {
            cli_usage_error("analyze", "%s takes at most %d values", option, SP_ANALYSIS_MAX_EPS);
            ok = 0;
            break;
        }
        ok = cli_parse_double("analyze", option, tok, 0.0, 1e300, &eps[n++]);
    }
    free(copy);
    if (ok && n == 0) {
        cli_usage_error("analyze", "%s needs at least one value", option);
        ok = 0;
    }
    if (ok) *n_eps = n;
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
    sp_splinter_run_options fopt;
    sp_splinter_run_options_default(&fopt);
    int features = 1;
    static const struct option longopts[] = {
        {"agree-eps", required_argument, NULL, 'A'}, {"tau-beh", required_argument, NULL, 'B'},
        {"tau-rep", required_argument, NULL, 'R'},   {"max-examples", required_argument, NULL, 'X'},
        {"no-features", no_argument, NULL, 'N'},   {"tau-resamples", required_argument, NULL, 'T'},
        {"concepts", required_argument, NULL, 'C'},
        {"eps-grid", required_argument, NULL, 'e'}, {"delta", required_argument, NULL, 'd'},
        {"top", required_argument, NULL, 't'},      {"bootstrap", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},     {"help", no_argument, NULL, 'h'},
        {"exact", no_argument, NULL, 'E'},          {"no-exact", no_argument, NULL, 'O'},
        {"exact-eps", required_argument, NULL, 'P'}, {"exact-max", required_argument, NULL, 'M'},
        {"exact-tol", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0}};
    int c, v, grid_set = 0, top_set = 0, boot_set = 0, seed_set = 0;
    uint64_t u;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (!parse_grid(optarg, opt.eps, &opt.n_eps, "--eps-grid")) return CLI_EXIT_USAGE;
            grid_set = 1;
            break;
        case 'd':
            if (!cli_parse_double("analyze", "--delta", optarg, 0.0, 1.0, &opt.delta)) return CLI_EXIT_USAGE;
            break;
        case 't':
            if (!cli_parse_int("analyze", "--top", optarg, 0, 1000000, &v)) return CLI_EXIT_USAGE;
            opt.top_k = (size_t)v;
            top_set = 1;
            break;
        case 'b':
            if (!cli_parse_int("analyze", "--bootstrap", optarg, 0, 1000000, &v)) return CLI_EXIT_USAGE;
            opt.bootstrap = (size_t)v;
            boot_set = 1;
            break;
        case 's':
            if (!cli_parse_u64("analyze", "--seed", optarg, &u)) return CLI_EXIT_USAGE;
            opt.seed = u;
            seed_set = 1;
            break;
        case 'A':
            if (!cli_parse_double("analyze", "--agree-eps", optarg, 0.0, 1.0, &fopt.agree_eps)) return CLI_EXIT_USAGE;
            break;
        case 'B':
            if (!cli_parse_double("analyze", "--tau-beh", optarg, -1.0, 1.0, &fopt.tau_beh)) return CLI_EXIT_USAGE;
            break;
        case 'R':
            if (strcmp(optarg, "calibrated") == 0) {
                fopt.tau_rep_calibrated = 1;
                break;
            }
            if (!cli_parse_double("analyze", "--tau-rep", optarg, -2.0, 2.0, &fopt.tau_rep)) return CLI_EXIT_USAGE;
            fopt.tau_rep_calibrated = 0;
            break;
        case 'T':
            if (!cli_parse_int("analyze", "--tau-resamples", optarg, 2, 100000, &v)) return CLI_EXIT_USAGE;
            fopt.tau_resamples = (size_t)v;
            break;
        case 'X':
            if (!cli_parse_int("analyze", "--max-examples", optarg, 0, 100000000, &v)) return CLI_EXIT_USAGE;
            fopt.max_examples = (size_t)v;
            break;
        case 'N': features = 0; break;
        case 'C': fopt.concepts = optarg; break;
        case 'E': opt.exact = SP_EXACT_ON; break;
        case 'O': opt.exact = SP_EXACT_OFF; break;
        case 'P':
            if (!parse_grid(optarg, opt.exact_eps, &opt.n_exact_eps, "--exact-eps")) return CLI_EXIT_USAGE;
            break;
        case 'M':
            if (!cli_parse_int("analyze", "--exact-max", optarg, 0, 100000000, &v)) return CLI_EXIT_USAGE;
            opt.exact_max = (size_t)v;
            break;
        case 'L':
            if (!cli_parse_double("analyze", "--exact-tol", optarg, 1e-12, 1.0, &opt.exact_tol)) return CLI_EXIT_USAGE;
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
    /* A sweep's run directory records its analysis settings; options given here take precedence. */
    cli_run_analysis recorded;
    sp_status st = cli_run_analysis_load(run, &recorded);
    if (st != SP_OK) return cli_report(st);
    if (recorded.found) {
        if (!grid_set) memcpy(opt.eps, recorded.eps, recorded.n_eps * sizeof *recorded.eps), opt.n_eps = recorded.n_eps;
        if (!top_set) opt.top_k = recorded.top;
        if (!boot_set) opt.bootstrap = recorded.bootstrap;
        if (!seed_set) opt.seed = recorded.seed;
        if (!fopt.concepts && recorded.concepts[0]) fopt.concepts = recorded.concepts;
    }
    /* The concept file is read once, here: a bad one fails before anything is written, and a pipe
     * (--concepts <(...)) cannot be read a second time. The feature run gets the parsed list. */
    sp_concept_list *concepts = NULL;
    if (features && fopt.concepts) {
        if ((st = sp_concepts_load(&concepts, fopt.concepts)) != SP_OK) return cli_report(st);
        fopt.concept_list = concepts;
    }
    sp_analysis_result *res = NULL;
    st = sp_analysis_run(run, &opt, &res);
    if (st != SP_OK) {
        sp_concepts_free(concepts);
        return cli_report(st);
    }
    for (size_t k = 0; k < res->n_warnings; k++) fprintf(stderr, "splinter analyze: warning: %s\n", res->warnings[k]);
    fprintf(stderr, "splinter analyze: %zu models in %zu variant(s); results in %s/analysis/\n", res->n_models,
            res->n_variants, run);
    if (res->exact_examples)
        fprintf(stderr, "splinter analyze: exact ranges of %zu examples (%zu inner solves) in %.1f s\n",
                res->exact_examples, res->exact_solves, res->exact_seconds);
    int rc = opt.top_k ? print_top(run, res) : CLI_EXIT_OK;
    sp_analysis_result_free(res);
    if (rc != CLI_EXIT_OK) {
        sp_concepts_free(concepts);
        return rc;
    }
    if (!features) { /* feature outputs of an earlier analyze would look current next to the new tables */
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/analysis", run);
        st = sp_outputs_remove(dir, SP_OUTPUTS_FEATURES);
        return st == SP_OK ? rc : cli_report(st);
    }

    fopt.bootstrap = opt.bootstrap;
    fopt.seed = opt.seed;
    fopt.level = opt.level;
    sp_splinter_run_result *fres = NULL;
    st = sp_splinter_run(run, &fopt, &fres);
    sp_concepts_free(concepts);
    if (st != SP_OK) return cli_report(st);
    for (size_t k = 0; k < fres->n_warnings; k++) fprintf(stderr, "splinter analyze: warning: %s\n", fres->warnings[k]);
    if (fres->n_models)
        fprintf(stderr, "splinter analyze: feature splintering of %zu models: %zu pair records (%zu agree in domain)\n",
                fres->n_models, fres->n_pairs, fres->n_agreeing);
    sp_splinter_run_result_free(fres);
    return rc;
}
