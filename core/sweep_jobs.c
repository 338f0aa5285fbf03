/* sweep_jobs.c: one sweep job -> one trained model file (see sweep_jobs.h). */
#include "sweep_jobs.h"

#include <stdlib.h>
#include <string.h>

#include "encoder_train.h"
#include "train_linear.h"

struct sweep_jobs_context {
    const sp_dataset *ds;
    sp_linear_data *linear; /* features of every record, shared read-only by all linear jobs */
    sp_linear_spec linear_spec;
    sp_encoder_train_spec encoder_spec; /* the encoder section's hyperparameters over the defaults */
};

/* The linear spec of a sweep config (before the per-job l2). */
static sp_status sweep_linear_spec(sp_linear_spec *spec, const sp_cfg_linear *l)
{
    *spec = sp_linear_spec_default();
    spec->features.bits = (int)*l->bits;
    spec->train.optimizer = strcmp(l->optimizer, "sgd") == 0 ? SP_LINEAR_SGD : SP_LINEAR_ADAMW;
    spec->train.epochs = (int)*l->epochs;
    spec->train.batch = (int)*l->batch;
    spec->train.lr = *l->lr;
    spec->train.lr_schedule = (sp_linear_lr_schedule)sp_linear_lr_schedule_parse(l->lr_schedule);
    spec->train.init_std = *l->init_std;
    spec->train.bootstrap = *l->bootstrap ? 1 : 0;
    return sp_ngram_options_check(&spec->features);
}

sp_status sweep_jobs_context_alloc(sweep_jobs_context **out, const sp_sweep_config *cfg, const sp_dataset *ds,
                                   int threads)
{
    *out = NULL;
    sweep_jobs_context *c = calloc(1, sizeof *c);
    if (!c) return sp_fail(SP_ERR_NOMEM, "out of memory preparing sweep %s", cfg->name);
    c->ds = ds;
    sp_status st = SP_OK;
    c->encoder_spec = sp_encoder_train_spec_defaults();
    if (cfg->encoder) {
        sp_encoder_train_spec_from_cfg(&c->encoder_spec, cfg->encoder);
        st = sp_encoder_train_spec_check(&c->encoder_spec);
    }
    if (st == SP_OK && cfg->linear) {
        st = sweep_linear_spec(&c->linear_spec, cfg->linear);
        if (st == SP_OK) st = sp_linear_data_build(&c->linear, ds, &c->linear_spec.features, threads);
    }
    if (st != SP_OK) {
        sweep_jobs_context_free(c);
        return st;
    }
    *out = c;
    return SP_OK;
}

void sweep_jobs_context_free(sweep_jobs_context *ctx)
{
    if (!ctx) return;
    sp_linear_data_free(ctx->linear);
    free(ctx);
}

sp_status sweep_jobs_train(const sp_sweep_config *cfg, const sp_sweep_job *job, const char *model_path, int threads,
                           void *ctx_)
{
    sweep_jobs_context *ctx = ctx_;
    switch (job->kind) {
    case SP_JOB_LINEAR:
    case SP_JOB_EXACT: {
        sp_linear_spec spec = ctx->linear_spec;
        spec.train.l2 = job->l2;
        if (job->kind == SP_JOB_EXACT)
            return sp_linear_fit_exact_model(ctx->linear, &spec, job->seed, job->name, model_path, NULL);
        return sp_linear_train_model(ctx->linear, &spec, job->seed, job->name, job->variant, model_path, NULL);
    }
    case SP_JOB_PRETRAIN:
        return sp_encoder_pretrain_job(ctx->ds, cfg->run_dir, &ctx->encoder_spec, job->pretrain_seed, model_path,
                                       threads);
    case SP_JOB_ENCODER:
        return sp_encoder_train_job(ctx->ds, cfg->run_dir, &ctx->encoder_spec, job->variant, job->seed,
                                    job->pretrain_seed, model_path, threads);
    }
    return sp_fail(SP_ERR_STATE, "sweep %s: job %s has an unknown kind", cfg->name, job->name);
}
