/* cmd_sweep.c: `splinter sweep CONFIG.yaml`: import the data set, expand the config into model jobs and
 * train whatever is not complete yet, on all cores or divided over MPI ranks. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>

#include "cli.h"
#include "fsutil.h"
#include "mpi_ranks.h"
#include "sweep.h"
#include "sweep_dataset.h"
#include "sweep_jobs.h"

static void sweep_usage(FILE *out)
{
    fprintf(out,
            "usage: splinter sweep [--dry-run] [--threads T] [--quiet] CONFIG.yaml\n\n"
            "Trains every model of a sweep configuration (experiments/*.yaml; keys in docs/sweeps.md) into its\n"
            "run directory: RUN/run.yaml (resolved config), RUN/dataset.h5, RUN/models/<name>.h5.\n"
            "Resumable: models whose file is complete are skipped; a killed sweep rerun finishes the rest.\n"
            "Distributed: under `mpirun -np N splinter sweep CONFIG.yaml` the models are divided over ranks,\n"
            "each writing into the shared run directory.\n\n"
            "  --dry-run     list every model as train / complete / other-rank, train nothing\n"
            "  --threads T   cores to use on this process (default: all)\n"
            "  --quiet       no progress lines\n");
}

/* The dotted key path ("linear.seeds.count") of line `target` (1-based) of a resolved config text: the key
 * of that line and of each line above it with less indentation; list items ("- ") add no key. */
static void config_key_path(const char *text, size_t target, char *out, size_t cap)
{
    enum { DEPTH = 16 };
    size_t indent[DEPTH], n = 0;
    const char *key[DEPTH];
    int key_len[DEPTH];
    const char *p = text;
    for (size_t line = 1; *p && line <= target; line++) {
        size_t len = strcspn(p, "\n"), ind = strspn(p, " ");
        const char *k = p + ind;
        size_t klen = strcspn(k, ":\n");
        if (ind < len && *k != '#' && *k != '-' && k[klen] == ':') {
            while (n > 0 && indent[n - 1] >= ind) n--;
            if (n < DEPTH) indent[n] = ind, key[n] = k, key_len[n] = (int)klen, n++;
        }
        p += len + (p[len] != 0);
    }
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s", i ? "." : "", key_len[i], key[i]);
}

/* RUN/run.yaml records the resolved config; a run directory made by another config is refused. */
static sp_status sweep_check_run_config(const sp_sweep_config *cfg, int write)
{
    char path[4096], *mine = NULL;
    snprintf(path, sizeof path, "%s/run.yaml", cfg->run_dir);
    sp_status st = sp_sweep_config_text(cfg, &mine);
    if (st != SP_OK) return st;
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        sp_sweep_config *old = NULL;
        char *theirs = NULL;
        st = sp_sweep_config_load(path, &old);
        if (st == SP_OK) st = sp_sweep_config_text(old, &theirs);
        if (st == SP_OK && strcmp(mine, theirs) != 0) {
            /* name the first setting that differs: a run made by an older version differs where a default
             * changed, and the user should see which one */
            const char *a = theirs, *b = mine;
            size_t line = 1;
            for (;;) {
                size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
                if (la != lb || memcmp(a, b, la) != 0) {
                    char where[256];
                    const size_t ia = strspn(a, " ") < la ? strspn(a, " ") : la;
                    const size_t ib = strspn(b, " ") < lb ? strspn(b, " ") : lb;
                    config_key_path(theirs, line, where, sizeof where);
                    st = sp_fail(SP_ERR_USAGE,
                                 "%s was made by a different configuration (%s, resolved line %zu: run has '%.*s', "
                                 "config gives '%.*s'); use another run_dir, or delete the run directory to start "
                                 "over",
                                 path, where[0] ? where : "top level", line, (int)(la - ia), a + ia,
                                 (int)(lb - ib), b + ib);
                    break;
                }
                if (!a[la] || !b[lb]) { /* the same lines, one text longer by a newline */
                    st = sp_fail(SP_ERR_USAGE, "%s was made by a different configuration; use another run_dir, "
                                               "or delete the run directory to start over", path);
                    break;
                }
                a += la + 1, b += lb + 1, line++;
            }
        }
        free(theirs);
        sp_sweep_config_free(old);
    } else if (write) {
        if (sp_make_dirs(cfg->run_dir) != SP_OK || access(cfg->run_dir, W_OK) != 0)
            st = sp_fail(SP_ERR_IO, "cannot create run directory %s; choose a writable run_dir", cfg->run_dir);
        if (st == SP_OK) st = sp_sweep_config_save(cfg, path);
    }
    free(mine);
    return st;
}

static void sweep_barrier(void) { cli_mpi_barrier(); }

int cmd_sweep(int argc, char **argv)
{
    static const struct option options[] = {{"dry-run", no_argument, NULL, 'n'},
                                            {"threads", required_argument, NULL, 't'},
                                            {"quiet", no_argument, NULL, 'q'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    sp_sweep_options opt = sp_sweep_options_default();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "nt:qh", options, NULL)) != -1) {
        switch (c) {
        case 'n': opt.dry_run = 1; break;
        case 't':
            if (!cli_parse_int("sweep", "--threads", optarg, 1, 4096, &opt.threads)) return CLI_EXIT_USAGE;
            break;
        case 'q': opt.quiet = 1; break;
        case 'h': sweep_usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("sweep", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("sweep", "expected one CONFIG.yaml");

    sp_sweep_config *cfg = NULL;
    sp_status st = sp_sweep_config_load(argv[optind], &cfg);
    if (st != SP_OK) return cli_report(st);
    if ((st = cli_mpi_start(&opt.rank, &opt.n_ranks)) != SP_OK) {
        sp_sweep_config_free(cfg);
        return cli_report(st);
    }
    if (opt.n_ranks > 1) opt.barrier = sweep_barrier;

    sp_sweep_job *jobs = NULL;
    size_t n_jobs = 0;
    sp_dataset *ds = NULL;
    sweep_jobs_context *ctx = NULL;
    /* Rank 0 writes run.yaml and imports the data set; the other ranks wait, then read both. */
    if (opt.rank == 0 && !opt.dry_run) st = sweep_check_run_config(cfg, 1);
    if (st == SP_OK && opt.rank == 0 && !opt.dry_run) st = sp_sweep_prepare_dataset(cfg, &ds);
    if (st != SP_OK) cli_report(st);
    int early = cli_mpi_worst_exit(sp_status_exit_code(st));
    if (early && st == SP_OK) fprintf(stderr, "splinter sweep: rank %d stops: another rank failed to prepare the run\n", opt.rank);
    if (early == 0 && opt.rank != 0 && !opt.dry_run) {
        st = sweep_check_run_config(cfg, 0);
        if (st == SP_OK) st = sp_sweep_prepare_dataset(cfg, &ds);
    }
    if (early == 0 && st == SP_OK) st = sp_sweep_expand(cfg, &jobs, &n_jobs);
    if (early == 0 && st == SP_OK && !opt.dry_run) st = sweep_jobs_context_alloc(&ctx, cfg, ds, opt.threads);
    if (early == 0 && st == SP_OK) {
        /* Each model trains single-threaded; OpenBLAS must not spawn its own threads under ours. */
        openblas_set_num_threads(1);
        opt.train = sweep_jobs_train;
        opt.ctx = ctx;
        st = sp_sweep_run(cfg, jobs, n_jobs, &opt);
    }
    int code = early ? early : cli_report(st);
    if (!early && st == SP_OK && opt.dry_run) code = CLI_EXIT_OK;
    if (early == 0 && st == SP_OK && !opt.dry_run && opt.rank == 0 && !opt.quiet)
        fprintf(stderr, "splinter sweep: %s complete: %zu models in %s/models\n", cfg->name, n_jobs, cfg->run_dir);
    code = cli_mpi_worst_exit(code);
    sweep_jobs_context_free(ctx);
    sp_dataset_free(ds);
    free(jobs);
    sp_sweep_config_free(cfg);
    cli_mpi_stop();
    return code;
}
