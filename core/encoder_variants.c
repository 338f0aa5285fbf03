/* encoder_variants.c: the run tokenizer cache, MLM pretraining and the five classifier variants as jobs
 * that each write one store file (docs/encoder.md). */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_randist.h>

#include "encoder_train_internal.h"

extern void openblas_set_num_threads(int);

static pthread_mutex_t enc_run_lock = PTHREAD_MUTEX_INITIALIZER;

/* Training-split texts of ds (pointers into it) and their row indices. */
static sp_status enc_split_rows(const sp_dataset *ds, uint8_t split, size_t **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) k += ds->split[i] == split;
    if (k == 0) return SP_OK;
    size_t *r = malloc(k * sizeof(size_t));
    if (!r) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for %zu rows", k);
    k = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->split[i] == split) r[k++] = i;
    *rows = r;
    *n = k;
    return SP_OK;
}

static sp_status enc_tokenizer_train(const sp_dataset *ds, int vocab_size, sp_tokenizer **out)
{
    size_t *rows, n;
    sp_status st = enc_split_rows(ds, SP_SPLIT_TRAIN, &rows, &n);
    if (st != SP_OK) return st;
    if (n == 0) return sp_fail(SP_ERR_USAGE, "encoder: data set '%s' has no training rows to train a tokenizer on", ds->name);
    const char **texts = malloc(n * sizeof(char *));
    if (!texts) {
        free(rows);
        return sp_fail(SP_ERR_NOMEM, "encoder: out of memory");
    }
    for (size_t i = 0; i < n; i++) texts[i] = ds->text[rows[i]];
    sp_tokenizer_options opt = sp_tokenizer_defaults();
    opt.vocab_size = vocab_size;
    st = sp_tokenizer_train(texts, n, &opt, out);
    free(texts);
    free(rows);
    return st;
}

sp_status sp_encoder_run_tokenizer(const sp_dataset *ds, const char *run_dir, int vocab_size, sp_tokenizer **out)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.h5", run_dir);
    pthread_mutex_lock(&enc_run_lock);
    sp_status st = SP_OK;
    sp_tokenizer *tok = NULL;
    if (sp_store_is_complete(path, "splinter-tokenizer")) {
        hid_t f = H5I_INVALID_HID;
        char *dh = NULL;
        int64_t req = 0;
        if ((st = sp_store_open(path, "splinter-tokenizer", &f)) != SP_OK) goto unlock;
        st = sp_store_read_attr_str(f, "/", "data_hash", &dh);
        if (st == SP_OK) st = sp_store_read_attr_i64(f, "/", "vocab_size_requested", &req);
        if (st == SP_OK && strcmp(dh, ds->content_hash) != 0)
            st = sp_fail(SP_ERR_STATE, "%s: trained on data set %.16s..., not %.16s...; delete it (and the models "
                                       "that use it) or use another run directory", path, dh, ds->content_hash);
        if (st == SP_OK && req != vocab_size)
            st = sp_fail(SP_ERR_USAGE, "%s: trained for vocab_size %lld but the spec asks for %d; use vocab_size "
                                       "%lld or another run directory", path, (long long)req, vocab_size,
                         (long long)req);
        if (st == SP_OK) st = sp_tokenizer_load(f, "/tokenizer", &tok); /* rechecks the stored hash */
        free(dh);
        H5Fclose(f);
        goto unlock;
    }
    if ((st = enc_tokenizer_train(ds, vocab_size, &tok)) != SP_OK) goto unlock;
    if (mkdir(run_dir, 0777) != 0 && errno != EEXIST) {
        st = sp_fail(SP_ERR_IO, "%s: cannot create the run directory: %s", run_dir, strerror(errno));
        goto unlock;
    }
    sp_store_writer *w = NULL;
    if ((st = sp_store_create(path, "splinter-tokenizer", &w)) != SP_OK) goto unlock;
    st = sp_tokenizer_save(tok, sp_store_file(w), "/tokenizer");
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "data_hash", ds->content_hash);
    if (st == SP_OK) st = sp_store_attr_i64(w, "/", "vocab_size_requested", vocab_size);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "tokenizer_hash", sp_tokenizer_hash(tok));
    if (st == SP_OK)
        st = sp_store_commit(w);
    else
        sp_store_abort(w);
unlock:
    pthread_mutex_unlock(&enc_run_lock);
    if (st != SP_OK) {
        sp_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return SP_OK;
}

sp_status enc_tokenize_all(const sp_dataset *ds, const sp_tokenizer *tok, int T, int32_t **tokens)
{
    int32_t *t = malloc(ds->n * (size_t)T * sizeof(int32_t));
    if (!t) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for %zu x %d token ids", ds->n, T);
    /* the tokenizer is immutable, and each row is written by one thread */
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < ds->n; i++) sp_tokenizer_encode_fixed(tok, ds->text[i], T, t + i * (size_t)T);
    *tokens = t;
    return SP_OK;
}

sp_encoder_config enc_config(const sp_encoder_train_spec *s, const sp_tokenizer *tok, int n_classes)
{
    sp_encoder_config c = {.vocab_size = sp_tokenizer_vocab_size(tok),
                           .d_model = s->d_model,
                           .n_layers = s->n_layers,
                           .n_heads = s->n_heads,
                           .d_ff = s->d_ff,
                           .max_len = s->max_len,
                           .n_classes = n_classes,
                           .dropout = s->dropout,
                           .pad_id = SP_TOK_PAD};
    return c;
}

void sp_encoder_pretrain_path(const char *run_dir, uint64_t pretrain_seed, char *buf, size_t size)
{
    snprintf(buf, size, "%s/models/pretrain-p%llu.h5", run_dir, (unsigned long long)pretrain_seed);
}

/* The file stem of a path ("runs/x/models/joint-s3.h5" -> "joint-s3"). */
static void enc_stem(const char *path, char *out, size_t size)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, size, "%s", b);
    char *dot = strstr(out, ".h5");
    if (dot && dot[3] == '\0') *dot = '\0';
}

/* Everything a job needs, prepared (and checked) before training. */
typedef struct {
    sp_tokenizer *tok;
    int32_t *tokens;
    size_t *train_rows, n_train, *val_rows, n_val;
    sp_encoder *m;
} enc_job;

static void enc_job_free(enc_job *j)
{
    sp_tokenizer_free(j->tok);
    free(j->tokens);
    free(j->train_rows);
    free(j->val_rows);
    sp_encoder_free(j->m);
    memset(j, 0, sizeof *j);
}

static sp_status enc_job_prepare(enc_job *j, const sp_dataset *ds, const char *run_dir,
                                 const sp_encoder_train_spec *spec, int threads)
{
    memset(j, 0, sizeof *j);
    if (threads > 0) {
        /* one pool of threads: the kernels run their BLAS calls in OpenMP loops, one BLAS thread each */
        omp_set_num_threads(threads);
        openblas_set_num_threads(1);
    }
    sp_status st = sp_encoder_train_spec_check(spec);
    if (st != SP_OK) return st;
    if ((st = enc_split_rows(ds, SP_SPLIT_TRAIN, &j->train_rows, &j->n_train)) != SP_OK) return st;
    if ((st = enc_split_rows(ds, SP_SPLIT_VAL, &j->val_rows, &j->n_val)) != SP_OK) return st;
    if (j->n_train == 0 || j->n_val == 0)
        return sp_fail(SP_ERR_USAGE, "encoder: the %s split of data set '%s' is empty; re-import it with other "
                                     "split fractions", j->n_train == 0 ? "train" : "val", ds->name);
    if (ds->n_classes < 2)
        return sp_fail(SP_ERR_USAGE, "encoder: data set '%s' has %d class; a classifier needs 2 or more", ds->name,
                       ds->n_classes);
    if ((st = sp_encoder_run_tokenizer(ds, run_dir, spec->vocab_size, &j->tok)) != SP_OK) return st;
    if (sp_tokenizer_vocab_size(j->tok) > spec->vocab_size)
        return sp_fail(SP_ERR_USAGE, "encoder: the run's tokenizer has %d ids, more than vocab_size %d",
                       sp_tokenizer_vocab_size(j->tok), spec->vocab_size);
    sp_encoder_config cfg = enc_config(spec, j->tok, ds->n_classes);
    if ((st = sp_encoder_config_check(&cfg)) != SP_OK) return st;
    if ((st = sp_encoder_alloc(&cfg, &j->m)) != SP_OK) return st;
    return enc_tokenize_all(ds, j->tok, spec->max_len, &j->tokens);
}

/* The phase fields common to every job. */
static enc_phase enc_phase_base(const enc_job *j, const sp_dataset *ds, const sp_encoder_train_spec *spec,
                                const char *phase, const char *name, const sp_seeds *seeds)
{
    enc_phase ph;
    memset(&ph, 0, sizeof ph);
    ph.phase = phase;
    ph.name = name;
    ph.tokens = j->tokens;
    ph.T = spec->max_len;
    ph.labels = ds->label;
    ph.val_rows = j->val_rows;
    ph.n_val = j->n_val;
    ph.seeds = *seeds;
    return ph;
}

static sp_status enc_pretrain_locked(const sp_dataset *ds, const char *run_dir, const sp_encoder_train_spec *spec,
                                     uint64_t pretrain_seed, const char *path, int threads)
{
    enc_job j;
    enc_curves cv = {0};
    sp_store_writer *w = NULL;
    char name[256];
    enc_stem(path, name, sizeof name);
    sp_status st = enc_job_prepare(&j, ds, run_dir, spec, threads);
    if (st != SP_OK) goto done;
    sp_seeds seeds;
    sp_seeds_from_master(&seeds, pretrain_seed);
    seeds.pretrain = pretrain_seed;
    seeds.data = ds->data_seed;
    if ((st = sp_encoder_init(j.m, seeds.init)) != SP_OK) goto done;
    enc_phase ph = enc_phase_base(&j, ds, spec, "pretrain", name, &seeds);
    ph.mlm_rows = j.train_rows;
    ph.n_mlm = j.n_train;
    ph.val_mlm = 1;
    ph.w_mlm = 1.0f;
    ph.epochs = spec->pretrain_epochs;
    ph.lr = spec->pretrain_lr;
    if ((st = enc_train_phase(j.m, &ph, spec, &cv)) != SP_OK) goto done;
    if ((st = sp_store_create(path, "splinter-encoder", &w)) != SP_OK) goto done;
    if ((st = enc_store_header(w, spec, NULL, name, ds, j.tok, &seeds, j.m)) != SP_OK) goto done;
    if ((st = enc_store_weights(w, j.m)) != SP_OK) goto done;
    if ((st = enc_store_curves(w, &cv, "val_mlm_loss")) != SP_OK) goto done;
    st = sp_store_commit(w);
    w = NULL;
done:
    sp_store_abort(w);
    enc_curves_free(&cv);
    enc_job_free(&j);
    return st;
}

sp_status sp_encoder_pretrain_job(const sp_dataset *ds, const char *run_dir, const sp_encoder_train_spec *spec,
                                  uint64_t pretrain_seed, const char *path, int threads)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/models", run_dir);
    if (mkdir(run_dir, 0777) != 0 && errno != EEXIST)
        return sp_fail(SP_ERR_IO, "%s: cannot create the run directory: %s", run_dir, strerror(errno));
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return sp_fail(SP_ERR_IO, "%s: cannot create the models directory: %s", dir, strerror(errno));
    return enc_pretrain_locked(ds, run_dir, spec, pretrain_seed, path, threads);
}

/* The pretrained encoder of seed P: trained now if its file is missing (once per process at a time). */
static sp_status enc_ensure_pretrained(const sp_dataset *ds, const char *run_dir, const sp_encoder_train_spec *spec,
                                       uint64_t pretrain_seed, int threads, char *path, size_t size)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sp_encoder_pretrain_path(run_dir, pretrain_seed, path, size);
    pthread_mutex_lock(&lock);
    sp_status st = SP_OK;
    if (!sp_store_is_complete(path, "splinter-encoder"))
        st = sp_encoder_pretrain_job(ds, run_dir, spec, pretrain_seed, path, threads);
    pthread_mutex_unlock(&lock);
    return st;
}

/* Joint partition: the training rows shuffled by the split stream; the first half (rounded up) feed the
 * classification loss, the rest the MLM loss. Both lists come back sorted by row. */
static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static sp_status enc_partition(const size_t *rows, size_t n, uint64_t split_seed, size_t **cls, size_t *n_cls,
                               size_t **mlm, size_t *n_mlm)
{
    size_t nc = (n + 1) / 2, nm = n - nc;
    size_t *p = malloc(n * sizeof(size_t));
    if (!p) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory");
    memcpy(p, rows, n * sizeof(size_t));
    gsl_rng *r = sp_rng_alloc(sp_seed_for(split_seed, "partition", 0));
    if (!r) {
        free(p);
        return sp_fail(SP_ERR_NOMEM, "encoder: out of memory for a generator");
    }
    gsl_ran_shuffle(r, p, n, sizeof(size_t));
    gsl_rng_free(r);
    *cls = malloc((nc ? nc : 1) * sizeof(size_t));
    *mlm = malloc((nm ? nm : 1) * sizeof(size_t));
    if (!*cls || !*mlm) {
        free(p);
        free(*cls);
        free(*mlm);
        *cls = *mlm = NULL;
        return sp_fail(SP_ERR_NOMEM, "encoder: out of memory");
    }
    memcpy(*cls, p, nc * sizeof(size_t));
    memcpy(*mlm, p + nc, nm * sizeof(size_t));
    free(p);
    qsort(*cls, nc, sizeof(size_t), cmp_size);
    qsort(*mlm, nm, sizeof(size_t), cmp_size);
    *n_cls = nc;
    *n_mlm = nm;
    return SP_OK;
}

static sp_status enc_write_rows(sp_store_writer *w, const char *path, const size_t *rows, size_t n)
{
    int64_t *r = malloc((n ? n : 1) * sizeof(int64_t));
    if (!r) return sp_fail(SP_ERR_NOMEM, "encoder: out of memory");
    for (size_t i = 0; i < n; i++) r[i] = (int64_t)rows[i];
    hsize_t d = n;
    sp_status st = sp_store_write_i64(w, path, 1, &d, r, 0);
    free(r);
    return st;
}

sp_status sp_encoder_train_job(const sp_dataset *ds, const char *run_dir, const sp_encoder_train_spec *spec,
                               const char *variant, uint64_t seed, uint64_t pretrain_seed, const char *model_path,
                               int threads)
{
    if (!sp_encoder_variant_known(variant))
        return sp_fail(SP_ERR_USAGE, "encoder: unknown variant '%s'; use finetune, joint, joint-nosplit, scratch or "
                                     "probe", variant ? variant : "(null)");
    int from_pretrained = strcmp(variant, "finetune") == 0 || strcmp(variant, "probe") == 0;
    int joint = strncmp(variant, "joint", 5) == 0, nosplit = strcmp(variant, "joint-nosplit") == 0;
    enc_job j;
    enc_curves cv = {0};
    sp_store_writer *w = NULL;
    size_t *cls = NULL, *mlm = NULL, n_cls = 0, n_mlm = 0;
    char name[256], pre_path[4096] = "";
    enc_stem(model_path, name, sizeof name);
    sp_status st = enc_job_prepare(&j, ds, run_dir, spec, threads);
    if (st != SP_OK) goto done;
    sp_seeds seeds;
    sp_seeds_from_master(&seeds, seed);
    seeds.data = ds->data_seed;
    if (from_pretrained) seeds.pretrain = pretrain_seed;
    if ((st = sp_encoder_init(j.m, seeds.init)) != SP_OK) goto done;
    if (from_pretrained) {
        if ((st = enc_ensure_pretrained(ds, run_dir, spec, pretrain_seed, threads, pre_path, sizeof pre_path)) != SP_OK)
            goto done;
        if ((st = enc_load_pretrained(j.m, pre_path, ds, j.tok)) != SP_OK) goto done;
    }
    enc_phase ph = enc_phase_base(&j, ds, spec, "train", name, &seeds);
    ph.cls_rows = j.train_rows;
    ph.n_cls = j.n_train;
    ph.w_cls = 1.0f;
    ph.epochs = spec->epochs;
    ph.lr = spec->lr;
    if (strcmp(variant, "probe") == 0) {
        ph.head_only = 1;
        ph.lr = spec->probe_lr;
    }
    if (joint) {
        ph.w_cls = spec->mlm_lambda;
        ph.w_mlm = 1.0f;
        if (nosplit) {
            ph.mlm_rows = j.train_rows;
            ph.n_mlm = j.n_train;
            ph.mlm_same_rows = 1;
        } else {
            if (j.n_train < 2) {
                st = sp_fail(SP_ERR_USAGE, "encoder: joint needs at least 2 training rows to split into two pools");
                goto done;
            }
            if ((st = enc_partition(j.train_rows, j.n_train, seeds.split, &cls, &n_cls, &mlm, &n_mlm)) != SP_OK) goto done;
            ph.cls_rows = cls;
            ph.n_cls = n_cls;
            ph.mlm_rows = mlm;
            ph.n_mlm = n_mlm;
        }
    }
    if ((st = enc_train_phase(j.m, &ph, spec, &cv)) != SP_OK) goto done;
    if ((st = sp_store_create(model_path, "splinter-model", &w)) != SP_OK) goto done;
    if ((st = enc_store_header(w, spec, variant, name, ds, j.tok, &seeds, j.m)) != SP_OK) goto done;
    if (from_pretrained) {
        char pre_name[256];
        enc_stem(pre_path, pre_name, sizeof pre_name);
        if ((st = sp_store_attr_str(w, "/", "pretrain", pre_name)) != SP_OK) goto done;
    }
    if (joint && !nosplit) {
        if ((st = enc_write_rows(w, "/partition/cls_rows", cls, n_cls)) != SP_OK) goto done;
        if ((st = enc_write_rows(w, "/partition/mlm_rows", mlm, n_mlm)) != SP_OK) goto done;
    }
    if ((st = enc_store_weights(w, j.m)) != SP_OK) goto done;
    if ((st = enc_store_curves(w, &cv, "val_loss")) != SP_OK) goto done;
    if ((st = enc_store_outputs(w, j.m, ds, j.tokens, spec->max_len, spec)) != SP_OK) goto done;
    st = sp_store_commit(w);
    w = NULL;
done:
    sp_store_abort(w);
    enc_curves_free(&cv);
    enc_job_free(&j);
    free(cls);
    free(mlm);
    return st;
}
