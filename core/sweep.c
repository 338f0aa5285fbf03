/* sweep.c: job expansion, resumable wave scheduling and progress for seed sweeps (see sweep.h). */
#include "sweep.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "store.h"

sp_sweep_options sp_sweep_options_default(void)
{
    sp_sweep_options o = {.train = NULL, .ctx = NULL, .threads = omp_get_max_threads(), .dry_run = 0,
                          .rank = 0, .n_ranks = 1, .quiet = 0, .barrier = NULL};
    return o;
}

void sp_sweep_model_path(const char *run_dir, const sp_sweep_job *job, char *path, size_t size)
{
    snprintf(path, size, "%s/models/%s.h5", run_dir, job->name);
}

static const char *sweep_format_of(sp_job_kind kind) { return kind == SP_JOB_PRETRAIN ? "splinter-encoder" : "splinter-model"; }

void sp_sweep_parallelism(sp_job_kind kind, int threads, int *models_parallel, int *threads_per_model)
{
    if (threads < 1) threads = 1;
    /* Linear models are memory-bound sparse updates with no useful intra-model parallelism: one model per
     * core. Encoders at the default size (d=128, batch 32, length 128) keep GEMMs too small for two cores
     * to beat two independent models (docs/sweeps.md has the measurement), so they run one per core too. */
    (void)kind;
    *models_parallel = threads;
    *threads_per_model = 1;
}

/* Appends one job; names are checked unique by construction (distinct seeds per variant). */
static sp_sweep_job *sweep_push(sp_sweep_job *jobs, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        sp_sweep_job *j = realloc(jobs, c * sizeof *j);
        if (!j) return NULL;
        jobs = j;
        *cap = c;
    }
    memset(&jobs[*n], 0, sizeof jobs[*n]);
    jobs[*n].needs = -1;
    (*n)++;
    return jobs;
}

sp_status sp_sweep_expand(const sp_sweep_config *cfg, sp_sweep_job **out, size_t *n_out)
{
    sp_sweep_job *jobs = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
#define PUSH()                                                                          \
    do {                                                                                \
        sp_sweep_job *grown = sweep_push(jobs, &n, &cap);                               \
        if (!grown) {                                                                   \
            free(jobs);                                                                 \
            return sp_fail(SP_ERR_NOMEM, "out of memory expanding sweep %s", cfg->name); \
        }                                                                               \
        jobs = grown;                                                                   \
    } while (0)

    if (cfg->linear) {
        const sp_cfg_linear *l = cfg->linear;
        for (unsigned g = 0; g < l->l2_count; g++) {
            char suffix[40] = "";
            /* On an l2 grid every grid point is its own variant (its own Rashomon pool). */
            if (l->l2_count > 1) snprintf(suffix, sizeof suffix, "-l2_%g", l->l2[g]);
            for (uint64_t s = 0; s < l->seeds->count; s++) {
                PUSH();
                sp_sweep_job *j = &jobs[n - 1];
                j->kind = SP_JOB_LINEAR;
                j->seed = l->seeds->first + s;
                j->l2 = l->l2[g];
                snprintf(j->variant, sizeof j->variant, "%s%s", l->optimizer, suffix);
                snprintf(j->name, sizeof j->name, "linear%s-s%llu", suffix, (unsigned long long)j->seed);
            }
            if (*l->exact) {
                PUSH();
                sp_sweep_job *j = &jobs[n - 1];
                j->kind = SP_JOB_EXACT;
                j->l2 = l->l2[g];
                snprintf(j->variant, sizeof j->variant, "exact%s", suffix);
                snprintf(j->name, sizeof j->name, "linear-exact%s", suffix);
            }
        }
    }
    if (cfg->encoder) {
        const sp_cfg_encoder *e = cfg->encoder;
        int needs_pretrain = 0;
        for (unsigned v = 0; v < e->variants_count; v++)
            if (strcmp(e->variants[v], "finetune") == 0 || strcmp(e->variants[v], "probe") == 0) needs_pretrain = 1;
        size_t first_pretrain = n;
        if (needs_pretrain) {
            for (uint64_t p = 0; p < e->pretrain_seeds->count; p++) {
                PUSH();
                sp_sweep_job *j = &jobs[n - 1];
                j->kind = SP_JOB_PRETRAIN;
                j->seed = j->pretrain_seed = e->pretrain_seeds->first + p;
                snprintf(j->variant, sizeof j->variant, "pretrain");
                snprintf(j->name, sizeof j->name, "pretrain-p%llu", (unsigned long long)j->seed);
            }
        }
        for (unsigned v = 0; v < e->variants_count; v++) {
            const char *variant = e->variants[v];
            int nested = strcmp(variant, "finetune") == 0 || strcmp(variant, "probe") == 0;
            uint64_t n_pre = nested ? e->pretrain_seeds->count : 1;
            for (uint64_t p = 0; p < n_pre; p++) {
                for (uint64_t s = 0; s < e->seeds->count; s++) {
                    PUSH();
                    sp_sweep_job *j = &jobs[n - 1];
                    j->kind = SP_JOB_ENCODER;
                    j->seed = e->seeds->first + s;
                    snprintf(j->variant, sizeof j->variant, "%s", variant);
                    if (nested) {
                        j->pretrain_seed = e->pretrain_seeds->first + p;
                        j->needs = (long)(first_pretrain + p);
                        snprintf(j->name, sizeof j->name, "%s-p%llu-s%llu", variant,
                                 (unsigned long long)j->pretrain_seed, (unsigned long long)j->seed);
                    } else {
                        snprintf(j->name, sizeof j->name, "%s-s%llu", variant, (unsigned long long)j->seed);
                    }
                }
            }
        }
    }
#undef PUSH
    *out = jobs;
    *n_out = n;
    return SP_OK;
}

/* mkdir -p of a run's directory, which must end up writable. */
static sp_status sweep_mkdir(const char *path)
{
    sp_status st = sp_make_dirs(path);
    if (st == SP_OK && access(path, W_OK) != 0)
        st = sp_fail(SP_ERR_IO, "cannot write directory %s: %s", path, strerror(errno));
    if (st == SP_OK) return st;
    char why[512];
    snprintf(why, sizeof why, "%s", sp_error_message());
    return sp_fail(st, "%s; choose a writable run_dir", why);
}

/* Progress shared by the worker threads of one process. */
typedef struct {
    size_t total, done_before, done_now;
    double start;
    int quiet, tty;
} sweep_progress;

static double sweep_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sweep_progress_print(const sweep_progress *p, const char *last)
{
    if (p->quiet) return;
    size_t done = p->done_before + p->done_now;
    double elapsed = sweep_now() - p->start;
    double eta = p->done_now ? elapsed / (double)p->done_now * (double)(p->total - done) : 0;
    int width = 30, filled = p->total ? (int)((double)width * (double)done / (double)p->total) : width;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "%s[%s] %zu/%zu models, %.0f s elapsed, ETA %.0f s  %s%s", p->tty ? "\r" : "", bar, done,
            p->total, elapsed, eta, last, p->tty ? "\033[K" : "\n");
    fflush(stderr);
}

/* Jobs whose final file exists (a final name only ever appears complete: it is renamed into place). */
static size_t sweep_count_existing(const sp_sweep_config *cfg, const sp_sweep_job *jobs, size_t n_jobs)
{
    size_t n = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        char path[4352];
        sp_sweep_model_path(cfg->run_dir, &jobs[i], path, sizeof path);
        n += access(path, F_OK) == 0;
    }
    return n;
}

/* Every job in list[0..count) must find the file it starts from complete (written by wave 0, possibly on
 * another rank). */
static sp_status sweep_check_dependencies(const sp_sweep_config *cfg, const sp_sweep_job *jobs, const size_t *list,
                                          size_t count)
{
    for (size_t k = 0; k < count; k++) {
        const sp_sweep_job *dep = &jobs[jobs[list[k]].needs];
        char path[4352];
        sp_sweep_model_path(cfg->run_dir, dep, path, sizeof path);
        if (!sp_store_is_complete(path, sweep_format_of(dep->kind)))
            return sp_fail(SP_ERR_STATE, "%s needs %s, which is missing or incomplete; rerun the sweep",
                           jobs[list[k]].name, path);
    }
    return SP_OK;
}

sp_status sp_sweep_run(const sp_sweep_config *cfg, const sp_sweep_job *jobs, size_t n_jobs, const sp_sweep_options *opt)
{
    char models_dir[4096];
    snprintf(models_dir, sizeof models_dir, "%s/models", cfg->run_dir);
    sp_status st;
    if (!opt->dry_run && ((st = sweep_mkdir(cfg->run_dir)) != SP_OK || (st = sweep_mkdir(models_dir)) != SP_OK))
        return st;

    /* Which jobs are mine, and which are already complete (valid files are never retrained):
     * per job 1 = train here, 2 = already complete, 0 = another rank's. */
    unsigned char *job_state = calloc(n_jobs ? n_jobs : 1, 1);
    if (!job_state) return sp_fail(SP_ERR_NOMEM, "out of memory scheduling sweep %s", cfg->name);
    sweep_progress prog = {.total = n_jobs, .start = sweep_now(), .quiet = opt->quiet || opt->rank != 0,
                           .tty = isatty(2)};
    size_t mine = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        char path[4352];
        sp_sweep_model_path(cfg->run_dir, &jobs[i], path, sizeof path);
        if (sp_store_is_complete(path, sweep_format_of(jobs[i].kind))) {
            prog.done_before++;
            job_state[i] = 2; /* complete */
            continue;
        }
        if ((long)(i % (size_t)opt->n_ranks) == opt->rank) job_state[i] = 1, mine++;
    }
    if (opt->dry_run) {
        for (size_t i = 0; i < n_jobs; i++)
            printf("%s\t%s\t%s\n", job_state[i] == 1 ? "train" : job_state[i] == 2 ? "complete" : "other-rank", jobs[i].name,
                   jobs[i].variant);
        free(job_state);
        return SP_OK;
    }
    if (!prog.quiet)
        fprintf(stderr, "sweep %s: %zu models, %zu already complete, %zu to train here\n", cfg->name, n_jobs,
                prog.done_before, mine);

    sp_status failure = SP_OK;
    char failure_message[1024] = "";
    for (int wave = 0; wave < 2; wave++) {
        /* Wave 0: jobs with no dependency; wave 1: jobs that start from a pretrained encoder. */
        size_t *list = malloc((n_jobs ? n_jobs : 1) * sizeof *list), count = 0;
        if (!list) {
            free(job_state);
            return sp_fail(SP_ERR_NOMEM, "out of memory scheduling sweep %s", cfg->name);
        }
        for (size_t i = 0; i < n_jobs; i++)
            if (job_state[i] == 1 && ((jobs[i].needs < 0) == (wave == 0))) list[count++] = i;
        if (wave == 1 && opt->barrier) opt->barrier();
        if (wave == 1 && (failure = sweep_check_dependencies(cfg, jobs, list, count)) != SP_OK) {
            snprintf(failure_message, sizeof failure_message, "%s", sp_error_message());
            free(list);
            break;
        }
        int models_parallel = 1, threads_per_model = 1;
        if (count) sp_sweep_parallelism(jobs[list[0]].kind, opt->threads, &models_parallel, &threads_per_model);
        if ((size_t)models_parallel > count) models_parallel = count ? (int)count : 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(models_parallel)
        for (size_t k = 0; k < count; k++) {
            const sp_sweep_job *job = &jobs[list[k]];
            char path[4352];
            sp_sweep_model_path(cfg->run_dir, job, path, sizeof path);
            sp_status s = opt->train(cfg, job, path, threads_per_model, opt->ctx);
#pragma omp critical(sweep_progress)
            {
                if (s != SP_OK && failure == SP_OK) {
                    failure = s;
                    snprintf(failure_message, sizeof failure_message, "model %s: %s", job->name, sp_error_message());
                }
                if (s == SP_OK) prog.done_now++;
                /* Other ranks' models count too: finished files are the shared progress record. */
                if (opt->n_ranks > 1 && !prog.quiet) prog.done_before = sweep_count_existing(cfg, jobs, n_jobs) - prog.done_now;
                sweep_progress_print(&prog, job->name);
            }
        }
        free(list);
        if (failure != SP_OK) break;
    }
    if (!prog.quiet && prog.tty) fputc('\n', stderr);
    free(job_state);
    if (failure != SP_OK) return sp_fail(failure, "%s", failure_message);
    return SP_OK;
}
