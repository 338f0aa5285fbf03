/* cmd_train_encoder.c: `splinter train-encoder`: train one encoder model (or one MLM-pretrained encoder) of a
 * run directory, with progress on stderr (docs/encoder.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "encoder_train.h"

static const char *CMD = "train-encoder";

static void train_encoder_usage(FILE *out)
{
    fprintf(out,
            "usage: splinter train-encoder --run RUN --variant V [--seed S] [--pretrain-seed P] [options]\n\n"
            "Trains one encoder on RUN/dataset.h5 and writes RUN/models/<name>.h5 (finetune/probe: <v>-p<P>-s<S>,\n"
            "others: <v>-s<S>; pretrain: pretrain-p<P>). finetune and probe start from RUN/models/pretrain-p<P>.h5\n"
            "and train it first if missing. The tokenizer is trained once per run (RUN/tokenizer.h5).\n\n"
            "  --variant V        finetune | joint | joint-nosplit | scratch | probe | pretrain\n"
            "  --seed S           master seed of the model (default 0)\n"
            "  --pretrain-seed P  which pretrained encoder (default 0)\n"
            "  --data PATH        data set (default RUN/dataset.h5)\n"
            "  -o, --output PATH  model file (default RUN/models/<name>.h5)\n"
            "  --threads N        OpenMP/BLAS threads (default: all)\n"
            "  --quiet            no progress\n"
            "  --vocab N --d-model N --layers N --heads N --ffn N --max-len N --dropout X\n"
            "  --batch N --epochs N --pretrain-epochs N --patience N --evals-per-epoch N --max-steps N\n"
            "  --lr X --pretrain-lr X --probe-lr X --weight-decay X --warmup X --clip X --mlm-lambda X\n"
            "  --poolings cls,mean   activation poolings to store (default both)\n"
            "  --max-layer N      store activations of layers 0..N only (0 = emb; default all)\n"
            "  --no-activations   store no activations\n"
            "Defaults and their reasons: docs/encoder.md.\n");
}

typedef struct {
    int tty, quiet;
    double last_print;
    const char *last_phase;
} progress_state;

/* A bar with ETA on a terminal (redrawn in place), otherwise a plain line about every 10% of the phase. */
static void on_progress(void *ctx, const sp_encoder_progress *p)
{
    progress_state *ps = ctx;
    if (ps->quiet) return;
    double frac = p->total_steps > 0 ? (double)p->step / (double)p->total_steps : 1.0;
    double eta = frac > 0 ? p->seconds * (1.0 - frac) / frac : 0.0;
    if (ps->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r%s %-8s [%s] %ld/%ld ep %d/%d loss %.4f val %.4f  %.0fs ETA %.0fs ", p->name, p->phase,
                bar, p->step, p->total_steps, p->epoch, p->epochs, p->train_loss, p->val_loss, p->seconds, eta);
        if (p->step == p->total_steps) fputc('\n', stderr);
        fflush(stderr);
        return;
    }
    long every = p->total_steps / 10 > 0 ? p->total_steps / 10 : 1;
    if (p->step % every == 0 || p->step == p->total_steps || p->step == 1)
        fprintf(stderr, "%s %s step %ld/%ld epoch %d/%d loss %.4f val %.4f %.1fs ETA %.0fs\n", p->name, p->phase,
                p->step, p->total_steps, p->epoch, p->epochs, p->train_loss, p->val_loss, p->seconds, eta);
}

static int parse_poolings(const char *text, sp_encoder_train_spec *s)
{
    s->pool_cls = s->pool_mean = 0;
    char *copy = strdup(text);
    if (!copy) return 0;
    int ok = 1;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "cls") == 0)
            s->pool_cls = 1;
        else if (strcmp(t, "mean") == 0)
            s->pool_mean = 1;
        else
            ok = 0;
    }
    free(copy);
    if (!ok || (!s->pool_cls && !s->pool_mean)) {
        cli_usage_error(CMD, "--poolings expects a comma-separated list of cls and mean, got '%s'", text);
        return 0;
    }
    return 1;
}

int cmd_train_encoder(int argc, char **argv)
{
    enum { O_VARIANT = 256, O_SEED, O_PSEED, O_DATA, O_THREADS, O_QUIET, O_VOCAB, O_DMODEL, O_LAYERS, O_HEADS,
           O_FFN, O_MAXLEN, O_DROPOUT, O_BATCH, O_EPOCHS, O_PEPOCHS, O_PATIENCE, O_EVALS, O_MAXSTEPS, O_LR, O_PLR,
           O_PROBELR, O_WD, O_WARMUP, O_CLIP, O_LAMBDA, O_POOL, O_MAXLAYER, O_NOACT, O_RUN };
    static const struct option opts[] = {
        {"run", required_argument, 0, O_RUN},          {"variant", required_argument, 0, O_VARIANT},
        {"seed", required_argument, 0, O_SEED},        {"pretrain-seed", required_argument, 0, O_PSEED},
        {"data", required_argument, 0, O_DATA},        {"output", required_argument, 0, 'o'},
        {"threads", required_argument, 0, O_THREADS},  {"quiet", no_argument, 0, O_QUIET},
        {"vocab", required_argument, 0, O_VOCAB},      {"d-model", required_argument, 0, O_DMODEL},
        {"layers", required_argument, 0, O_LAYERS},    {"heads", required_argument, 0, O_HEADS},
        {"ffn", required_argument, 0, O_FFN},          {"max-len", required_argument, 0, O_MAXLEN},
        {"dropout", required_argument, 0, O_DROPOUT},  {"batch", required_argument, 0, O_BATCH},
        {"epochs", required_argument, 0, O_EPOCHS},    {"pretrain-epochs", required_argument, 0, O_PEPOCHS},
        {"patience", required_argument, 0, O_PATIENCE}, {"evals-per-epoch", required_argument, 0, O_EVALS},
        {"max-steps", required_argument, 0, O_MAXSTEPS}, {"lr", required_argument, 0, O_LR},
        {"pretrain-lr", required_argument, 0, O_PLR},  {"probe-lr", required_argument, 0, O_PROBELR},
        {"weight-decay", required_argument, 0, O_WD},  {"warmup", required_argument, 0, O_WARMUP},
        {"clip", required_argument, 0, O_CLIP},        {"mlm-lambda", required_argument, 0, O_LAMBDA},
        {"poolings", required_argument, 0, O_POOL},    {"max-layer", required_argument, 0, O_MAXLAYER},
        {"no-activations", no_argument, 0, O_NOACT},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    sp_encoder_train_spec spec = sp_encoder_train_spec_defaults();
    const char *run = NULL, *variant = NULL, *data = NULL, *output = NULL;
    uint64_t seed = 0, pseed = 0;
    int threads = 0, quiet = 0, c, big = 1 << 30;
    double x;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int ok = 1;
        switch (c) {
        case O_RUN: run = optarg; break;
        case O_VARIANT: variant = optarg; break;
        case O_SEED: ok = cli_parse_u64(CMD, "--seed", optarg, &seed); break;
        case O_PSEED: ok = cli_parse_u64(CMD, "--pretrain-seed", optarg, &pseed); break;
        case O_DATA: data = optarg; break;
        case 'o': output = optarg; break;
        case O_THREADS: ok = cli_parse_int(CMD, "--threads", optarg, 1, 1024, &threads); break;
        case O_QUIET: quiet = 1; break;
        case O_VOCAB: ok = cli_parse_int(CMD, "--vocab", optarg, 1, big, &spec.vocab_size); break;
        case O_DMODEL: ok = cli_parse_int(CMD, "--d-model", optarg, 1, big, &spec.d_model); break;
        case O_LAYERS: ok = cli_parse_int(CMD, "--layers", optarg, 1, big, &spec.n_layers); break;
        case O_HEADS: ok = cli_parse_int(CMD, "--heads", optarg, 1, big, &spec.n_heads); break;
        case O_FFN: ok = cli_parse_int(CMD, "--ffn", optarg, 1, big, &spec.d_ff); break;
        case O_MAXLEN: ok = cli_parse_int(CMD, "--max-len", optarg, 1, big, &spec.max_len); break;
        case O_BATCH: ok = cli_parse_int(CMD, "--batch", optarg, 1, big, &spec.batch); break;
        case O_EPOCHS: ok = cli_parse_int(CMD, "--epochs", optarg, 1, big, &spec.epochs); break;
        case O_PEPOCHS: ok = cli_parse_int(CMD, "--pretrain-epochs", optarg, 1, big, &spec.pretrain_epochs); break;
        case O_PATIENCE: ok = cli_parse_int(CMD, "--patience", optarg, 0, big, &spec.patience); break;
        case O_EVALS: ok = cli_parse_int(CMD, "--evals-per-epoch", optarg, 1, big, &spec.evals_per_epoch); break;
        case O_MAXLAYER: ok = cli_parse_int(CMD, "--max-layer", optarg, 0, big, &spec.act_max_layer); break;
        case O_MAXSTEPS: {
            int v = 0;
            ok = cli_parse_int(CMD, "--max-steps", optarg, 1, big, &v);
            spec.max_steps = v;
            break;
        }
        case O_DROPOUT: ok = cli_parse_double(CMD, "--dropout", optarg, 0.0, 0.999, &x); spec.dropout = (float)x; break;
        case O_LR: ok = cli_parse_double(CMD, "--lr", optarg, 1e-12, 1e12, &x); spec.lr = (float)x; break;
        case O_PLR: ok = cli_parse_double(CMD, "--pretrain-lr", optarg, 1e-12, 1e12, &x); spec.pretrain_lr = (float)x; break;
        case O_PROBELR: ok = cli_parse_double(CMD, "--probe-lr", optarg, 1e-12, 1e12, &x); spec.probe_lr = (float)x; break;
        case O_WD: ok = cli_parse_double(CMD, "--weight-decay", optarg, 0.0, 1e6, &x); spec.weight_decay = (float)x; break;
        case O_WARMUP: ok = cli_parse_double(CMD, "--warmup", optarg, 0.0, 1.0, &x); spec.warmup_frac = (float)x; break;
        case O_CLIP: ok = cli_parse_double(CMD, "--clip", optarg, 0.0, 1e12, &x); spec.clip_norm = (float)x; break;
        case O_LAMBDA: ok = cli_parse_double(CMD, "--mlm-lambda", optarg, 0.0, 1e6, &x); spec.mlm_lambda = (float)x; break;
        case O_POOL: ok = parse_poolings(optarg, &spec); break;
        case O_NOACT: spec.activations = 0; break;
        case 'h': train_encoder_usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(CMD, "unknown option");
        }
        if (!ok) return CLI_EXIT_USAGE;
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!run) return cli_usage_error(CMD, "--run RUN is required");
    if (!variant) return cli_usage_error(CMD, "--variant is required");
    int pretrain = strcmp(variant, "pretrain") == 0;
    if (!pretrain && !sp_encoder_variant_known(variant))
        return cli_usage_error(CMD, "unknown --variant '%s' (finetune, joint, joint-nosplit, scratch, probe, pretrain)",
                               variant);
    sp_status st = sp_encoder_train_spec_check(&spec);
    if (st != SP_OK) return cli_usage_error(CMD, "%s", sp_error_message());

    char data_path[4096], out_path[4096], dir[4096];
    if (!data) {
        snprintf(data_path, sizeof data_path, "%s/dataset.h5", run);
        data = data_path;
    }
    int with_p = pretrain || strcmp(variant, "finetune") == 0 || strcmp(variant, "probe") == 0;
    if (!output) {
        if (pretrain)
            sp_encoder_pretrain_path(run, pseed, out_path, sizeof out_path);
        else if (with_p)
            snprintf(out_path, sizeof out_path, "%s/models/%s-p%llu-s%llu.h5", run, variant, (unsigned long long)pseed,
                     (unsigned long long)seed);
        else
            snprintf(out_path, sizeof out_path, "%s/models/%s-s%llu.h5", run, variant, (unsigned long long)seed);
        output = out_path;
        snprintf(dir, sizeof dir, "%s/models", run);
        mkdir(run, 0777);
        mkdir(dir, 0777);
    }
    sp_dataset *ds = NULL;
    if ((st = sp_dataset_load(data, &ds)) != SP_OK) return cli_report(st);
    progress_state ps = {isatty(2), quiet, 0.0, NULL};
    spec.progress = on_progress;
    spec.progress_ctx = &ps;
    if (pretrain)
        st = sp_encoder_pretrain_job(ds, run, &spec, pseed, output, threads);
    else
        st = sp_encoder_train_job(ds, run, &spec, variant, seed, pseed, output, threads);
    sp_dataset_free(ds);
    if (st != SP_OK) return cli_report(st);
    if (!quiet) fprintf(stderr, "splinter %s: wrote %s\n", CMD, output);
    return CLI_EXIT_OK;
}
