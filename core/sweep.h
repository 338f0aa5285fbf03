/* sweep.h: expand a sweep configuration into model jobs and run them: resumable, parallel across models,
 * and divided over MPI ranks when launched by mpirun.
 *
 * A job is one model file RUN/models/<name>.h5. Jobs run in two waves: first everything that needs no other
 * model (linear seeds, pretrained encoders, joint/scratch models), then the models that start from a
 * pretrained encoder (finetune, probe). A job whose file exists and is complete is skipped, so a killed sweep
 * rerun finishes exactly the rest; a partial <name>.h5.tmp is overwritten when its job reruns.
 *
 *     sp_sweep_job *jobs; size_t n;
 *     sp_sweep_expand(cfg, &jobs, &n);
 *     sp_sweep_options opt = sp_sweep_options_default();
 *     opt.train = my_train_fn; opt.ctx = &shared_state;   // the family trainers, wired by cli/cmd_sweep.c
 *     sp_sweep_run(cfg, jobs, n, &opt);
 *     free(jobs);
 */
#ifndef SPLINTER_SWEEP_H
#define SPLINTER_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "sweep_config.h"

typedef enum {
    SP_JOB_LINEAR,   /* one linear seed (minibatch optimizer) */
    SP_JOB_EXACT,    /* the exact L2 optimum of the linear family (one per l2 value) */
    SP_JOB_PRETRAIN, /* an MLM-pretrained encoder (format splinter-encoder) */
    SP_JOB_ENCODER   /* one encoder classifier of some variant */
} sp_job_kind;

typedef struct {
    sp_job_kind kind;
    char name[96];          /* file stem, unique within the run: linear-s3, pretrain-p0, finetune-p0-s2, ... */
    char variant[48];       /* analysis group: adamw, exact, finetune, joint, ... (with the l2 value on a grid) */
    uint64_t seed;          /* master seed of the model (all its streams derive from it) */
    uint64_t pretrain_seed; /* finetune/probe: which pretrained encoder; pretrain jobs: their own seed */
    double l2;              /* linear family: the grid point */
    long needs;             /* index of the job whose file must exist first, or -1 */
} sp_sweep_job;

/* Expands the configuration into jobs in a fixed order (linear, exact, pretrain, then encoder variants in
 * the configured order, seeds ascending). The array is malloc'ed. */
sp_status sp_sweep_expand(const sp_sweep_config *cfg, sp_sweep_job **jobs, size_t *n_jobs);

/* Trains one job and writes RUN/models/<job->name>.h5 through the store (atomically). Called concurrently
 * from several threads when models_parallel > 1; each call must then use one thread. */
typedef sp_status (*sp_sweep_train_fn)(const sp_sweep_config *cfg, const sp_sweep_job *job, const char *model_path,
                                       int threads, void *ctx);

typedef struct {
    sp_sweep_train_fn train;
    void *ctx;
    int threads;         /* cores to use on this process (default: all of omp_get_max_threads()) */
    int dry_run;         /* list what would run (stdout) and train nothing */
    int rank, n_ranks;   /* this process's share of the jobs (default 0 of 1) */
    int quiet;           /* no progress lines */
    void (*barrier)(void); /* distributed runs: waits for every rank between waves (NULL single-process) */
} sp_sweep_options;

sp_sweep_options sp_sweep_options_default(void);

/* Path of a job's model file: <run_dir>/models/<name>.h5 (buffer of `size` bytes). */
void sp_sweep_model_path(const char *run_dir, const sp_sweep_job *job, char *path, size_t size);

/* How many models to train at once on `threads` cores for a job kind, and threads per model.
 * The rule is documented in docs/sweeps.md. */
void sp_sweep_parallelism(sp_job_kind kind, int threads, int *models_parallel, int *threads_per_model);

/* Runs every job of this rank that has no complete file, wave by wave; progress (done/total, ETA) goes to
 * stderr. On the first failure the remaining jobs of the wave still finish, then the failure is returned. */
sp_status sp_sweep_run(const sp_sweep_config *cfg, const sp_sweep_job *jobs, size_t n_jobs,
                       const sp_sweep_options *opt);

#endif
