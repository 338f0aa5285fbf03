/* sweep_jobs.h: the trainers behind a sweep's jobs: builds what every job of a run shares once (the linear
 * family's features) and trains one job into its model file.
 *
 *     sweep_jobs_context *ctx = NULL;
 *     sweep_jobs_context_alloc(&ctx, cfg, ds, threads);
 *     opt.train = sweep_jobs_train; opt.ctx = ctx;
 *     sp_sweep_run(cfg, jobs, n, &opt);
 *     sweep_jobs_context_free(ctx);
 */
#ifndef SPLINTER_SWEEP_JOBS_H
#define SPLINTER_SWEEP_JOBS_H

#include "dataset.h"
#include "status.h"
#include "sweep.h"
#include "sweep_config.h"

typedef struct sweep_jobs_context sweep_jobs_context;

/* Shared state for the jobs of cfg on data set ds (borrowed; must outlive the context). */
sp_status sweep_jobs_context_alloc(sweep_jobs_context **out, const sp_sweep_config *cfg, const sp_dataset *ds,
                                   int threads);
void sweep_jobs_context_free(sweep_jobs_context *ctx);

/* An sp_sweep_train_fn: trains `job` into model_path. */
sp_status sweep_jobs_train(const sp_sweep_config *cfg, const sp_sweep_job *job, const char *model_path, int threads,
                           void *ctx);

#endif
