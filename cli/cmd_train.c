/* cmd_train.c: `splinter train --family F RUN [options]`: train models of one family on RUN/dataset.h5 into
 * RUN/models/. Each family parses its own options; this file only finds --family and dispatches. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "dataset.h"
#include "train_linear.h"

/* ---------------------------------------------------------------- shared helpers */

static double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Parses "N", "A-B" and comma lists of those ("0-4,10") into a malloc'ed array. Returns 1 on success. */
static int train_parse_seeds(const char *text, uint64_t **out, size_t *n_out)
{
    size_t n = 0, cap = 16;
    uint64_t *s = malloc(cap * sizeof *s);
    const char *p = text;
    if (!s) return 0;
    while (*p) {
        char *end;
        errno = 0;
        if (*p < '0' || *p > '9') goto bad;
        unsigned long long a = strtoull(p, &end, 10), b = a;
        if (errno) goto bad;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9') goto bad;
            b = strtoull(p, &end, 10);
            if (errno || b < a || b - a >= 10000000ULL) goto bad;
            p = end;
        }
        for (unsigned long long v = a;; v++) {
            if (n == cap) {
                uint64_t *g = realloc(s, 2 * cap * sizeof *s);
                if (!g) goto bad;
                s = g, cap *= 2;
            }
            s[n++] = v;
            if (v == b) break;
        }
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    if (n == 0) goto bad;
    *out = s;
    *n_out = n;
    return 1;
bad:
    free(s);
    return 0;
}

/* ---------------------------------------------------------------- --family linear */

static void train_linear_usage(FILE *out)
{
    sp_linear_spec d = sp_linear_spec_default();
    fprintf(out,
            "usage: splinter train --family linear RUN [--seeds A-B[,C...] | --seed N] [--exact]\n"
            "         [--optimizer sgd|adamw] [--epochs E] [--batch B] [--lr LR]\n"
            "         [--lr-schedule linear|constant|optimal | --constant-lr]\n"
            "         [--l2 L] [--init-std S] [--bootstrap | --no-bootstrap] [--bits B] [--unigrams]\n"
            "         [--weighting tf|binary] [--no-l2-normalize] [--topk K] [--threads T]\n\n"
            "Trains L2-regularised softmax regression on hashed word uni+bigram features of RUN/dataset.h5,\n"
            "one model per seed, into RUN/models/linear-s<seed>.h5 (seeds run in parallel, one per thread;\n"
            "a model does not depend on --threads). --exact also (or, without --seed/--seeds, only) fits the\n"
            "unique optimum of the same objective into RUN/models/linear-exact.h5.\n"
            "--optimizer sgd --batch 1 is per-sample SGD (scikit-learn's SGDClassifier; with\n"
            "--lr-schedule optimal its learning_rate='optimal', alpha = l2/2 for two classes).\n"
            "Defaults: seed 0, %s, %d epochs, batch %d, lr schedule %s (lr %g for linear/constant),\n"
            "l2 %g, init-std %g, no bootstrap, 2^%d binary l2-normalised features, topk %d,\n"
            "threads = OMP_NUM_THREADS. Details: docs/linear.md.\n",
            sp_linear_optimizer_name(d.train.optimizer), d.train.epochs, d.train.batch,
            sp_linear_lr_schedule_name(d.train.lr_schedule), d.train.lr, d.train.l2, d.train.init_std,
            d.features.bits, d.topk);
}

static int train_linear_run(int argc, char **argv)
{
    const char *cmd = "train";
    enum { O_FAMILY = 256, O_SEEDS, O_SEED, O_EXACT, O_OPT, O_EPOCHS, O_BATCH, O_LR, O_L2, O_INIT, O_NOBOOT,
           O_BITS, O_UNI, O_CONST, O_SCHED, O_BOOT, O_WEIGHT, O_NONORM, O_TOPK, O_THREADS };
    static const struct option opts[] = {
        {"family", required_argument, 0, O_FAMILY}, {"seeds", required_argument, 0, O_SEEDS},
        {"seed", required_argument, 0, O_SEED}, {"exact", no_argument, 0, O_EXACT},
        {"optimizer", required_argument, 0, O_OPT}, {"epochs", required_argument, 0, O_EPOCHS},
        {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
        {"l2", required_argument, 0, O_L2}, {"init-std", required_argument, 0, O_INIT},
        {"no-bootstrap", no_argument, 0, O_NOBOOT}, {"constant-lr", no_argument, 0, O_CONST},
        {"lr-schedule", required_argument, 0, O_SCHED},
        {"bootstrap", no_argument, 0, O_BOOT}, {"bits", required_argument, 0, O_BITS},
        {"unigrams", no_argument, 0, O_UNI}, {"weighting", required_argument, 0, O_WEIGHT},
        {"no-l2-normalize", no_argument, 0, O_NONORM}, {"topk", required_argument, 0, O_TOPK},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    sp_linear_spec spec = sp_linear_spec_default();
    uint64_t *seeds = NULL, one_seed = 0;
    size_t n_seeds = 0;
    int exact = 0, seeds_given = 0, threads = omp_get_max_threads(), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int ok = 1;
        switch (c) {
        case O_FAMILY: break; /* dispatched on already */
        case O_SEEDS:
            free(seeds);
            seeds = NULL;
            if (!train_parse_seeds(optarg, &seeds, &n_seeds)) {
                cli_usage_error(cmd, "--seeds expects N, A-B or a comma list of those (A <= B), got '%s'", optarg);
                ok = 0;
            }
            seeds_given = 1;
            break;
        case O_SEED:
            ok = cli_parse_u64(cmd, "--seed", optarg, &one_seed);
            free(seeds);
            seeds = malloc(sizeof *seeds);
            if (ok && seeds) seeds[0] = one_seed, n_seeds = 1;
            seeds_given = 1;
            break;
        case O_EXACT: exact = 1; break;
        case O_OPT: {
            int o = sp_linear_optimizer_parse(optarg);
            if (o < 0) ok = 0, cli_usage_error(cmd, "--optimizer must be sgd or adamw, got '%s'", optarg);
            else spec.train.optimizer = (sp_linear_optimizer)o;
            break;
        }
        case O_EPOCHS: ok = cli_parse_int(cmd, "--epochs", optarg, 1, 100000, &spec.train.epochs); break;
        case O_BATCH: ok = cli_parse_int(cmd, "--batch", optarg, 1, 1 << 24, &spec.train.batch); break;
        case O_LR: ok = cli_parse_double(cmd, "--lr", optarg, 1e-12, 1e6, &spec.train.lr); break;
        case O_L2: ok = cli_parse_double(cmd, "--l2", optarg, 0, 1e3, &spec.train.l2); break;
        case O_INIT: ok = cli_parse_double(cmd, "--init-std", optarg, 0, 1e3, &spec.train.init_std); break;
        case O_NOBOOT: spec.train.bootstrap = 0; break;
        case O_CONST: spec.train.lr_schedule = SP_LINEAR_LR_CONSTANT; break;
        case O_SCHED: {
            int k = sp_linear_lr_schedule_parse(optarg);
            if (k < 0) ok = 0, cli_usage_error(cmd, "--lr-schedule must be linear, constant or optimal, got '%s'", optarg);
            else spec.train.lr_schedule = (sp_linear_lr_schedule)k;
            break;
        }
        case O_BOOT: spec.train.bootstrap = 1; break;
        case O_BITS: ok = cli_parse_int(cmd, "--bits", optarg, 1, 30, &spec.features.bits); break;
        case O_UNI: spec.features.bigrams = 0; break;
        case O_WEIGHT:
            if (strcmp(optarg, "tf") == 0) spec.features.weighting = SP_NGRAM_TF;
            else if (strcmp(optarg, "binary") == 0) spec.features.weighting = SP_NGRAM_BINARY;
            else ok = 0, cli_usage_error(cmd, "--weighting must be tf or binary, got '%s'", optarg);
            break;
        case O_NONORM: spec.features.l2_normalize = 0; break;
        case O_TOPK: ok = cli_parse_int(cmd, "--topk", optarg, 0, 4096, &spec.topk); break;
        case O_THREADS: ok = cli_parse_int(cmd, "--threads", optarg, 1, 4096, &threads); break;
        case 'h': train_linear_usage(stdout); free(seeds); return CLI_EXIT_OK;
        default: ok = 0, cli_usage_error(cmd, "unknown option (see the list above)");
        }
        if (!ok) {
            free(seeds);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        free(seeds);
        return cli_usage_error(cmd, optind >= argc ? "missing the run directory RUN" : "unexpected argument '%s'",
                               argv[optind + (optind < argc)]);
    }
    if (!seeds_given && !exact) {
        seeds = malloc(sizeof *seeds);
        if (seeds) seeds[0] = 0, n_seeds = 1;
    }
    if (!seeds_given && exact) n_seeds = 0;
    sp_status st = SP_OK;
    if (exact && !(spec.train.l2 > 0))
        st = sp_fail(SP_ERR_USAGE, "--exact needs --l2 > 0: without a penalty the optimum is not unique");
    if (st == SP_OK) st = sp_linear_train_options_check(&spec.train);
    if (st != SP_OK) {
        free(seeds);
        return cli_usage_error(cmd, "%s", sp_error_message());
    }

    const char *run = argv[optind];
    char ds_path[4096], models[4096];
    snprintf(ds_path, sizeof ds_path, "%s/dataset.h5", run);
    snprintf(models, sizeof models, "%s/models", run);
    double t0 = train_now();
    sp_dataset *ds = NULL;
    sp_linear_data *data = NULL;
    double *acc = NULL;
    st = sp_dataset_load(ds_path, &ds);
    if (st == SP_OK && mkdir(models, 0777) != 0 && errno != EEXIST)
        st = sp_fail(SP_ERR_IO, "cannot create %s: %s; check the run directory's permissions", models,
                     strerror(errno));
    if (st == SP_OK) st = sp_linear_data_build(&data, ds, &spec.features, threads);
    double t1 = train_now();
    if (st == SP_OK) {
        fprintf(stderr, "splinter train: %s: %zu records hashed into 2^%d features (%zu non-zeros) in %.2f s\n",
                ds->name, ds->n, spec.features.bits, sp_csr_nnz(data->X), t1 - t0);
        acc = calloc((n_seeds + 1) * data->n_views, sizeof *acc);
        if (!acc) st = sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    if (st == SP_OK && n_seeds > 0) {
        st = sp_linear_train_seeds(data, &spec, seeds, n_seeds, models, threads, acc);
        if (st == SP_OK)
            fprintf(stderr, "splinter train: %zu linear seeds (%s) on %d threads in %.2f s\n", n_seeds,
                    sp_linear_optimizer_name(spec.train.optimizer), threads, train_now() - t1);
    }
    if (st == SP_OK && exact) {
        char path[4096 + 32];
        double t2 = train_now();
        snprintf(path, sizeof path, "%s/linear-exact.h5", models);
        uint64_t s0 = n_seeds ? seeds[0] : 0;
        st = sp_linear_fit_exact_model(data, &spec, s0, "linear-exact", path, acc + n_seeds * data->n_views);
        if (st == SP_OK) fprintf(stderr, "splinter train: exact optimum in %.2f s\n", train_now() - t2);
    }
    if (st == SP_OK) {
        /* accuracy table: one line per model, one column per split */
        printf("%-20s", "model");
        for (size_t v = 0; v < data->n_views; v++) printf(" %14s", data->views[v].name);
        printf("\n");
        for (size_t i = 0; i < n_seeds + (size_t)exact; i++) {
            char name[64];
            if (i < n_seeds) snprintf(name, sizeof name, "linear-s%" PRIu64, seeds[i]);
            else snprintf(name, sizeof name, "linear-exact");
            printf("%-20s", name);
            for (size_t v = 0; v < data->n_views; v++) printf(" %14.4f", acc[i * data->n_views + v]);
            printf("\n");
        }
    }
    free(acc);
    free(seeds);
    sp_linear_data_free(data);
    sp_dataset_free(ds);
    return cli_report(st);
}

/* ---------------------------------------------------------------- family dispatch */

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* parses all of argv itself (and accepts --family) */
    void (*usage)(FILE *out);
} train_family;

static const train_family train_families[] = {
    {"linear", train_linear_run, train_linear_usage},
    {"encoder", cli_train_encoder, cli_train_encoder_usage},
};

static void train_usage(FILE *out)
{
    fprintf(out, "usage: splinter train --family FAMILY RUN [options]\nfamilies:");
    for (size_t i = 0; i < sizeof train_families / sizeof train_families[0]; i++)
        fprintf(out, " %s", train_families[i].name);
    fprintf(out, "\n'splinter train --family FAMILY --help' lists a family's options.\n");
}

int cmd_train(int argc, char **argv)
{
    const char *family = NULL;
    int help = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--family") == 0 && i + 1 < argc) family = argv[++i];
        else if (strncmp(argv[i], "--family=", 9) == 0) family = argv[i] + 9;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) help = 1;
    }
    if (!family) {
        if (help) {
            train_usage(stdout);
            return CLI_EXIT_OK;
        }
        train_usage(stderr);
        return cli_usage_error("train", "missing --family");
    }
    for (size_t i = 0; i < sizeof train_families / sizeof train_families[0]; i++)
        if (strcmp(family, train_families[i].name) == 0) return train_families[i].run(argc, argv);
    return cli_usage_error("train", "unknown family '%s'", family);
}
