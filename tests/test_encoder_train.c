/* test_encoder_train.c: the encoder training recipes on tiny models: BERT masking proportions, the joint
 * partition read back from the model file, bit-identical reruns, early stopping keeping the best weights,
 * divergence without a file, configuration errors before training, and an end-to-end run of every variant
 * on the SpamAssassin fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "encoder.h"
#include "encoder_train.h"
#include "import.h"
#include "mlm_masking.h"
#include "seeds.h"
#include "store.h"
#include "tokenizer.h"

#define TEST_DIR "encoder-train-test"

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* A small two-class, two-domain data set: class 1 texts use "spam" words, class 0 "ham" words; domain "b"
 * is out of domain. Deterministic. */
static sp_dataset *toy_dataset(size_t n, double val_fraction)
{
    static const char *ham[] = {"meeting", "project", "lunch", "notes", "report", "team", "schedule", "draft"};
    static const char *spam[] = {"winner", "free", "money", "click", "offer", "prize", "cash", "urgent"};
    sp_dataset *ds = sp_dataset_alloc(n);
    assert_non_null(ds);
    ds->n_classes = 2;
    ds->class_names = calloc(2, sizeof(char *));
    ds->class_names[0] = xstrdup("ham");
    ds->class_names[1] = xstrdup("spam");
    ds->n_domains = 2;
    ds->domain_names = calloc(2, sizeof(char *));
    ds->domain_names[0] = xstrdup("a");
    ds->domain_names[1] = xstrdup("b");
    ds->domain_is_ood = calloc(2, 1);
    ds->domain_is_ood[1] = 1;
    snprintf(ds->name, sizeof ds->name, "toy");
    for (size_t i = 0; i < n; i++) {
        int y = (int)(i % 2), dom = i % 5 == 4;
        char buf[256] = "";
        size_t len = 0;
        for (int w = 0; w < 6; w++) {
            uint64_t h = sp_splitmix64(i * 31 + (uint64_t)w);
            const char *word = (y ? spam : ham)[h % 8];
            if (h % 5 == 0) word = (y ? ham : spam)[(h >> 8) % 8]; /* some overlap so the task is not trivial */
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", w ? " " : "", word);
        }
        ds->text[i] = xstrdup(buf);
        char id[32];
        snprintf(id, sizeof id, "r%zu", i);
        ds->source_id[i] = xstrdup(id);
        ds->label[i] = y;
        ds->domain[i] = dom;
        ds->split[i] = dom ? SP_SPLIT_OOD : SP_SPLIT_TRAIN;
    }
    if (val_fraction > 0) assert_int_equal(sp_dataset_assign_splits(ds, 7, val_fraction, 0.2), SP_OK);
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    return ds;
}

static sp_encoder_train_spec tiny_spec(void)
{
    sp_encoder_train_spec s = sp_encoder_train_spec_defaults();
    s.vocab_size = 300;
    s.d_model = 16;
    s.n_layers = 1;
    s.n_heads = 2;
    s.d_ff = 32;
    s.max_len = 12;
    s.batch = 8;
    s.epochs = 3;
    s.pretrain_epochs = 1;
    s.lr = 3e-3f;
    s.pretrain_lr = 3e-3f;
    return s;
}

/* An empty directory `dir`: whatever was there from an earlier run is removed. */
static void fresh_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mkdir(dir, 0777), 0);
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static float *read_f32(hid_t f, const char *path, size_t *n)
{
    int rank;
    hsize_t dims[4];
    float *d = NULL;
    assert_int_equal(sp_store_read_f32(f, path, &rank, dims, &d), SP_OK);
    *n = 1;
    for (int r = 0; r < rank; r++) *n *= (size_t)dims[r];
    return d;
}

/* Asserts that the float32 dataset `path` holds the same values, bit for bit, in two open files. */
static void assert_same_f32(hid_t fa, hid_t fb, const char *path)
{
    size_t na, nb;
    float *x = read_f32(fa, path, &na), *y = read_f32(fb, path, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(x, y, na * sizeof(float));
    free(x);
    free(y);
}

static int64_t *read_i64(hid_t f, const char *path, size_t *n)
{
    int rank;
    hsize_t dims[4];
    int64_t *d = NULL;
    assert_int_equal(sp_store_read_i64(f, path, &rank, dims, &d), SP_OK);
    *n = (size_t)dims[0];
    return d;
}

/* ---------------------------------------------------------------- masking */

static void test_mask_proportions(void **state)
{
    (void)state;
    enum { B = 64, T = 2048, V = 1000 };
    int32_t *tok = malloc(sizeof(int32_t) * B * T), *in = malloc(sizeof(int32_t) * B * T),
            *tg = malloc(sizeof(int32_t) * B * T);
    size_t eligible = 0;
    for (int i = 0; i < B * T; i++) {
        uint64_t h = sp_splitmix64((uint64_t)i);
        /* every 10th position a special or pad, the rest regular ids */
        tok[i] = i % 10 == 0 ? (int32_t)(h % SP_TOK_BYTE0) : SP_TOK_BYTE0 + (int32_t)(h % (V - SP_TOK_BYTE0));
        eligible += tok[i] >= SP_TOK_BYTE0;
    }
    int chosen = sp_mlm_mask(in, tg, tok, B, T, V, 0.15f, 12345);
    size_t n_mask = 0, n_rand = 0, n_keep = 0, n_tg = 0;
    for (int i = 0; i < B * T; i++) {
        if (tok[i] < SP_TOK_BYTE0) {
            assert_int_equal(tg[i], -1); /* specials and pad are never chosen */
            assert_int_equal(in[i], tok[i]);
            continue;
        }
        if (tg[i] < 0) {
            assert_int_equal(in[i], tok[i]);
            continue;
        }
        n_tg++;
        assert_int_equal(tg[i], tok[i]);
        assert_true(in[i] == SP_TOK_MASK || (in[i] >= SP_TOK_BYTE0 && in[i] < V));
        if (in[i] == SP_TOK_MASK)
            n_mask++;
        else if (in[i] == tok[i])
            n_keep++; /* includes the 1/995 of random draws that hit the original id */
        else
            n_rand++;
    }
    assert_int_equal((size_t)chosen, n_tg);
    double frac = (double)n_tg / (double)eligible;
    assert_true(fabs(frac - 0.15) < 0.01);
    assert_true(fabs((double)n_mask / n_tg - 0.8) < 0.01);
    assert_true(fabs((double)n_rand / n_tg - 0.1) < 0.01);
    assert_true(fabs((double)n_keep / n_tg - 0.1) < 0.01);
    /* same key -> same corruption; the rows are independent of the batch they are cut into */
    int32_t *in2 = malloc(sizeof(int32_t) * B * T), *tg2 = malloc(sizeof(int32_t) * B * T);
    sp_mlm_mask(in2, tg2, tok, B, T, V, 0.15f, 12345);
    assert_memory_equal(in, in2, sizeof(int32_t) * B * T);
    sp_mlm_mask(in2, tg2, tok, 1, T, V, 0.15f, 12345);
    assert_memory_equal(in, in2, sizeof(int32_t) * T);
    sp_mlm_mask(in2, tg2, tok, B, T, V, 0.15f, 12346);
    assert_true(memcmp(in, in2, sizeof(int32_t) * B * T) != 0);
    free(tok);
    free(in);
    free(tg);
    free(in2);
    free(tg2);
}

/* ---------------------------------------------------------------- variants and store layout */

static void test_joint_partition_and_layout(void **state)
{
    (void)state;
    const char *run = TEST_DIR "/joint";
    fresh_dir(run);
    sp_dataset *ds = toy_dataset(80, 0.2);
    sp_encoder_train_spec spec = tiny_spec();
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "joint", 3, 0, TEST_DIR "/joint/joint-s3.h5", 1), SP_OK);
    hid_t f;
    assert_int_equal(sp_store_open(TEST_DIR "/joint/joint-s3.h5", "splinter-model", &f), SP_OK);
    size_t nc, nm;
    int64_t *cls = read_i64(f, "/partition/cls_rows", &nc), *mlm = read_i64(f, "/partition/mlm_rows", &nm);
    size_t n_train = 0;
    for (size_t i = 0; i < ds->n; i++) n_train += ds->split[i] == SP_SPLIT_TRAIN;
    assert_int_equal(nc + nm, n_train);
    assert_true(nc >= n_train / 2 && nm >= n_train / 2 - 1);
    char *seen = calloc(ds->n, 1);
    for (size_t i = 0; i < nc; i++) seen[cls[i]] += 1;
    for (size_t i = 0; i < nm; i++) seen[mlm[i]] += 2;
    for (size_t i = 0; i < ds->n; i++) assert_int_equal(seen[i] != 0, ds->split[i] == SP_SPLIT_TRAIN);
    for (size_t i = 0; i < ds->n; i++) assert_true(seen[i] == 0 || seen[i] == 1 || seen[i] == 2); /* disjoint */
    free(seen);
    free(cls);
    free(mlm);
    /* every split view has predictions and rows; evaluation splits have every layer x pooling */
    sp_split_view *views;
    size_t nv;
    assert_int_equal(sp_dataset_split_views(ds, &views, &nv), SP_OK);
    for (size_t v = 0; v < nv; v++) {
        char p[160];
        size_t n;
        snprintf(p, sizeof p, "/predictions/%s", views[v].name);
        float *pr = read_f32(f, p, &n);
        assert_int_equal(n, views[v].n * 2);
        for (size_t i = 0; i < views[v].n; i++) assert_true(fabsf(pr[2 * i] + pr[2 * i + 1] - 1.0f) < 1e-5f);
        free(pr);
        snprintf(p, sizeof p, "/rows/%s", views[v].name);
        int64_t *rows = read_i64(f, p, &n);
        assert_int_equal(n, views[v].n);
        for (size_t i = 0; i < n; i++) assert_int_equal(rows[i], (int64_t)views[v].rows[i]);
        free(rows);
        const char *layers[] = {"emb", "block0"};
        for (int l = 0; l < 2; l++)
            for (int pool = 0; pool < 2; pool++) {
                snprintf(p, sizeof p, "/activations/%s/%s_%s", views[v].name, layers[l], pool ? "mean" : "cls");
                int is_eval = strcmp(views[v].name, "train") != 0;
                assert_int_equal(sp_store_exists(f, p), is_eval);
                if (!is_eval) continue;
                float *a = read_f32(f, p, &n);
                assert_int_equal(n, views[v].n * 16);
                free(a);
            }
        assert_int_equal(sp_store_exists(f, "/activations/val/block1_cls"), 0);
    }
    sp_split_views_free(views, nv);
    char *s = NULL;
    assert_int_equal(sp_store_read_attr_str(f, "/", "family", &s), SP_OK);
    assert_string_equal(s, "encoder");
    free(s);
    assert_int_equal(sp_store_read_attr_str(f, "/", "data_hash", &s), SP_OK);
    assert_string_equal(s, ds->content_hash);
    free(s);
    uint64_t u;
    sp_seeds seeds;
    sp_seeds_from_master(&seeds, 3);
    assert_int_equal(sp_store_read_attr_u64(f, "/", "seed_split", &u), SP_OK);
    assert_true(u == seeds.split);
    assert_int_equal(sp_store_read_attr_u64(f, "/", "seed_data", &u), SP_OK);
    assert_true(u == ds->data_seed);
    H5Fclose(f);
    /* the run tokenizer was cached */
    assert_true(sp_store_is_complete(TEST_DIR "/joint/tokenizer.h5", "splinter-tokenizer"));
    sp_dataset_free(ds);
}

/* Bit-identical weights, predictions and activations from two runs in fresh directories. */
static void compare_files(const char *a, const char *b, const sp_dataset *ds)
{
    hid_t fa, fb;
    assert_int_equal(sp_store_open(a, "splinter-model", &fa), SP_OK);
    assert_int_equal(sp_store_open(b, "splinter-model", &fb), SP_OK);
    char p[160];
    for (int i = 0; i < SP_ENCODER_N_TENSORS; i++) {
        snprintf(p, sizeof p, "/weights/%s", sp_encoder_tensor_name(i));
        assert_same_f32(fa, fb, p);
    }
    sp_split_view *views;
    size_t nv;
    assert_int_equal(sp_dataset_split_views(ds, &views, &nv), SP_OK);
    for (size_t v = 0; v < nv; v++) {
        const char *kinds[] = {"/predictions/%s", "/activations/%s/block0_mean", "/activations/%s/emb_cls"};
        for (int k = 0; k < 3; k++) {
            if (k > 0 && strcmp(views[v].name, "train") == 0) continue;
            snprintf(p, sizeof p, kinds[k], views[v].name);
            assert_same_f32(fa, fb, p);
        }
    }
    sp_split_views_free(views, nv);
    H5Fclose(fa);
    H5Fclose(fb);
}

static void test_determinism(void **state)
{
    (void)state;
    sp_dataset *ds = toy_dataset(80, 0.2);
    sp_encoder_train_spec spec = tiny_spec();
    const char *variants[] = {"joint-nosplit", "finetune"};
    for (int v = 0; v < 2; v++) {
        char run[2][128], path[2][192];
        for (int r = 0; r < 2; r++) {
            snprintf(run[r], sizeof run[r], TEST_DIR "/det%d-%d", v, r);
            fresh_dir(run[r]);
            snprintf(path[r], sizeof path[r], "%s/model.h5", run[r]);
            assert_int_equal(sp_encoder_train_job(ds, run[r], &spec, variants[v], 5, 1, path[r], 2), SP_OK);
        }
        compare_files(path[0], path[1], ds);
    }
    /* a different seed gives different weights */
    assert_int_equal(sp_encoder_train_job(ds, TEST_DIR "/det0-0", &spec, "joint-nosplit", 6, 1,
                                          TEST_DIR "/det0-0/other.h5", 2), SP_OK);
    hid_t fa, fb;
    assert_int_equal(sp_store_open(TEST_DIR "/det0-0/model.h5", "splinter-model", &fa), SP_OK);
    assert_int_equal(sp_store_open(TEST_DIR "/det0-0/other.h5", "splinter-model", &fb), SP_OK);
    size_t na, nb;
    float *x = read_f32(fa, "/weights/qkvw", &na), *y = read_f32(fb, "/weights/qkvw", &nb);
    assert_true(memcmp(x, y, na * sizeof(float)) != 0);
    free(x);
    free(y);
    H5Fclose(fa);
    H5Fclose(fb);
    sp_dataset_free(ds);
}

/* The stored model is the one of the best evaluation, not the last: its validation loss is the curve's
 * minimum, reached before the end. */
static void test_early_stopping_keeps_best(void **state)
{
    (void)state;
    const char *run = TEST_DIR "/early";
    fresh_dir(run);
    sp_dataset *ds = toy_dataset(80, 0.2);
    sp_encoder_train_spec spec = tiny_spec();
    spec.epochs = 30;
    spec.evals_per_epoch = 2;
    spec.patience = 3;
    spec.lr = 3e-2f; /* large enough that validation loss rises again after its minimum */
    spec.dropout = 0.0f;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 2, 0, TEST_DIR "/early/m.h5", 1), SP_OK);
    hid_t f;
    assert_int_equal(sp_store_open(TEST_DIR "/early/m.h5", "splinter-model", &f), SP_OK);
    int rank;
    hsize_t dims[4];
    double *vl = NULL, loss;
    assert_int_equal(sp_store_read_f64(f, "/curves/val_loss", &rank, dims, &vl), SP_OK);
    int64_t best, stopped;
    assert_int_equal(sp_store_read_attr_i64(f, "/curves", "best_eval", &best), SP_OK);
    assert_int_equal(sp_store_read_attr_i64(f, "/curves", "stopped_early", &stopped), SP_OK);
    size_t ne = (size_t)dims[0];
    assert_true(stopped == 1);
    assert_true(ne < (size_t)spec.epochs * 2);              /* stopped before the end */
    assert_int_equal((size_t)best, ne - 1 - (size_t)spec.patience); /* patience evaluations after the best */
    for (size_t i = 0; i < ne; i++) assert_true(vl[i] >= vl[best]);
    assert_true(vl[ne - 1] > vl[best]);
    assert_int_equal(sp_store_read_attr_f64(f, "/predictions/val", "loss", &loss), SP_OK);
    assert_true(fabs(loss - vl[best]) < 1e-5 * (1.0 + vl[best]));
    free(vl);
    H5Fclose(f);
    sp_dataset_free(ds);
}

static void test_divergence_leaves_no_file(void **state)
{
    (void)state;
    const char *run = TEST_DIR "/diverge";
    fresh_dir(run);
    sp_dataset *ds = toy_dataset(80, 0.2);
    sp_encoder_train_spec spec = tiny_spec();
    spec.lr = 1e6f;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 0, 0, TEST_DIR "/diverge/m.h5", 1),
                     SP_ERR_NUMERIC);
    assert_non_null(strstr(sp_error_message(), "diverged"));
    assert_false(file_exists(TEST_DIR "/diverge/m.h5"));
    assert_false(file_exists(TEST_DIR "/diverge/m.h5.tmp"));
    sp_dataset_free(ds);
}

static void test_bad_configs(void **state)
{
    (void)state;
    const char *run = TEST_DIR "/bad";
    fresh_dir(run);
    sp_dataset *ds = toy_dataset(80, 0.2);
    const char *out = TEST_DIR "/bad/m.h5";
    sp_encoder_train_spec spec = tiny_spec();
    spec.n_heads = 3;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 0, 0, out, 1), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "heads = 3 does not divide d_model = 16"));
    spec = tiny_spec();
    spec.max_len = 5000;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 0, 0, out, 1), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "max_len = 5000"));
    spec = tiny_spec();
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "bogus", 0, 0, out, 1), SP_ERR_USAGE);
    assert_false(file_exists(TEST_DIR "/bad/tokenizer.h5")); /* refused before any work */
    /* the run tokenizer is trained for vocab 300; another vocab size on the same run is refused */
    spec.max_steps = 1;
    spec.activations = 0;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 0, 0, out, 1), SP_OK);
    spec.vocab_size = 400;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 0, 0, out, 1), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "trained for vocab_size 300"));
    /* a pretrained encoder of another width is refused, naming the file */
    spec = tiny_spec();
    spec.max_steps = 1;
    spec.activations = 0;
    assert_int_equal(mkdir(TEST_DIR "/bad/models", 0777), 0);
    char pre[256];
    sp_encoder_pretrain_path(run, 4, pre, sizeof pre);
    assert_int_equal(sp_encoder_pretrain_job(ds, run, &spec, 4, pre, 1), SP_OK);
    spec.d_model = 32;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "finetune", 0, 4, TEST_DIR "/bad/f.h5", 1), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "d_model = 16"));
    assert_false(file_exists(TEST_DIR "/bad/f.h5"));
    sp_dataset_free(ds);
    /* an empty validation split */
    sp_dataset *nov = toy_dataset(40, 0.0);
    spec = tiny_spec();
    assert_int_equal(sp_encoder_train_job(nov, TEST_DIR "/bad", &spec, "scratch", 0, 0, TEST_DIR "/bad/e.h5", 1),
                     SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "the val split of data set 'toy' is empty"));
    sp_dataset_free(nov);
}

/* Activations restricted to one split, one layer and one pooling; predictions still cover every split. */
static void test_output_restrictions(void **state)
{
    (void)state;
    const char *run = TEST_DIR "/restrict";
    fresh_dir(run);
    sp_dataset *ds = toy_dataset(80, 0.2);
    sp_encoder_train_spec spec = tiny_spec();
    spec.max_steps = 2;
    spec.act_splits = "test,ood-b";
    spec.pool_mean = 0;
    spec.act_max_layer = 0;
    assert_int_equal(sp_encoder_train_job(ds, run, &spec, "scratch", 0, 0, TEST_DIR "/restrict/m.h5", 1), SP_OK);
    hid_t f;
    assert_int_equal(sp_store_open(TEST_DIR "/restrict/m.h5", "splinter-model", &f), SP_OK);
    assert_true(sp_store_exists(f, "/activations/test/emb_cls"));
    assert_true(sp_store_exists(f, "/activations/ood-b/emb_cls"));
    assert_false(sp_store_exists(f, "/activations/test/emb_mean"));
    assert_false(sp_store_exists(f, "/activations/test/block0_cls"));
    assert_false(sp_store_exists(f, "/activations/val"));
    assert_true(sp_store_exists(f, "/predictions/val") && sp_store_exists(f, "/predictions/train"));
    int64_t n_steps = 0;
    int rank;
    hsize_t dims[4];
    float *c = NULL;
    assert_int_equal(sp_store_read_f32(f, "/curves/train_cls_loss", &rank, dims, &c), SP_OK);
    n_steps = (int64_t)dims[0];
    assert_int_equal(n_steps, 2); /* max_steps */
    free(c);
    H5Fclose(f);
    sp_dataset_free(ds);
}

/* ---------------------------------------------------------------- SpamAssassin fixture, every variant */

static void test_fixture_every_variant(void **state)
{
    (void)state;
    const char *root = getenv("SPLINTER_FIXTURES");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data/spam-assassin", root ? root : "tests/fixtures");
    sp_split_options so = {5, 0.25, 0.25};
    sp_dataset *ds = NULL;
    assert_int_equal(sp_import_spam_assassin(&ds, dir, NULL, &so), SP_OK);
    /* 11 messages: keep hard-ham-1 out of domain, bring the other groups in, and deal the in-domain
     * messages round-robin to train, train, val, test so that every split has rows */
    size_t k = 0;
    for (int d = 0; d < ds->n_domains; d++) ds->domain_is_ood[d] = strcmp(ds->domain_names[d], "hard-ham-1") == 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->domain_is_ood[ds->domain[i]]) {
            ds->split[i] = SP_SPLIT_OOD;
            continue;
        }
        static const uint8_t deal[4] = {SP_SPLIT_TRAIN, SP_SPLIT_TRAIN, SP_SPLIT_VAL, SP_SPLIT_TEST};
        ds->split[i] = deal[k++ % 4];
    }
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    const char *run = TEST_DIR "/fixture";
    fresh_dir(run);
    assert_int_equal(mkdir(TEST_DIR "/fixture/models", 0777), 0);
    sp_encoder_train_spec spec = tiny_spec();
    spec.max_len = 32;
    spec.vocab_size = 400;
    spec.batch = 2;
    const char *variants[] = {"finetune", "joint", "joint-nosplit", "scratch", "probe"};
    for (int v = 0; v < 5; v++) {
        char path[256];
        snprintf(path, sizeof path, TEST_DIR "/fixture/models/%s-s1.h5", variants[v]);
        sp_status st = sp_encoder_train_job(ds, run, &spec, variants[v], 1, 0, path, 1);
        if (st != SP_OK) fail_msg("%s: %s", variants[v], sp_error_message());
        hid_t f;
        assert_int_equal(sp_store_open(path, "splinter-model", &f), SP_OK);
        char *s = NULL;
        assert_int_equal(sp_store_read_attr_str(f, "/", "variant", &s), SP_OK);
        assert_string_equal(s, variants[v]);
        free(s);
        int pre = v == 0 || v == 4;
        assert_int_equal(sp_store_read_attr_str(f, "/", "pretrain", &s) == SP_OK, pre);
        if (pre) {
            assert_string_equal(s, "pretrain-p0");
            free(s);
        }
        double acc;
        assert_int_equal(sp_store_read_attr_f64(f, "/predictions/test", "accuracy", &acc), SP_OK);
        assert_true(acc >= 0.0 && acc <= 1.0);
        H5Fclose(f);
    }
    /* the probe trained only the head: its encoder weights are the pretrained ones */
    hid_t fp, fe;
    assert_int_equal(sp_store_open(TEST_DIR "/fixture/models/probe-s1.h5", "splinter-model", &fp), SP_OK);
    assert_int_equal(sp_store_open(TEST_DIR "/fixture/models/pretrain-p0.h5", "splinter-encoder", &fe), SP_OK);
    assert_same_f32(fp, fe, "/weights/fcw");
    H5Fclose(fp);
    H5Fclose(fe);
    sp_dataset_free(ds);
}

int main(void)
{
    mkdir(TEST_DIR, 0777);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_proportions),
        cmocka_unit_test(test_joint_partition_and_layout),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_early_stopping_keeps_best),
        cmocka_unit_test(test_divergence_leaves_no_file),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_output_restrictions),
        cmocka_unit_test(test_fixture_every_variant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
