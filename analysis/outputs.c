/* outputs.c: removal of optional RUN/analysis/ files an analysis run did not write (see outputs.h). */
#include "outputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const exact_names[] = {"exact_vpr.csv", "exact_summary.csv", NULL};
static const char *const concept_names[] = {"concepts.csv", "splinter_concept_pairs.csv",
                                            "splinter_concept_variants.csv", NULL};
static const char *const feature_names[] = {"similarity.csv", "crosslayer.csv", "splinter_pairs.csv",
                                            "splinter_variants.csv", "splinter_compare.csv", "splinter_2x2.csv",
                                            "splinter.h5", "concepts.csv", "splinter_concept_pairs.csv",
                                            "splinter_concept_variants.csv", NULL};
static const char *const no_names[] = {NULL};

/* Must match write_pairwise_csv in run_write.c. */
static const char pairwise_header[] = "variant,model_a,model_b,disagreement";

const char *const *sp_outputs_names(sp_outputs_group g)
{
    switch (g) {
    case SP_OUTPUTS_EXACT: return exact_names;
    case SP_OUTPUTS_CONCEPTS: return concept_names;
    case SP_OUTPUTS_FEATURES: return feature_names;
    }
    return no_names;
}

static sp_status remove_one(const char *dir, const char *name)
{
    char path[4608];
    int k = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= sizeof path) return sp_fail(SP_ERR_USAGE, "%s/%s: path too long", dir, name);
    if (remove(path) != 0 && errno != ENOENT)
        return sp_fail(SP_ERR_IO, "cannot remove %s, left from an earlier analysis (%s); remove it by hand", path,
                       strerror(errno));
    return SP_OK;
}

sp_status sp_outputs_remove(const char *dir, sp_outputs_group g)
{
    for (const char *const *n = sp_outputs_names(g); *n; n++) {
        sp_status st = remove_one(dir, *n);
        if (st != SP_OK) return st;
    }
    return SP_OK;
}

/* 1 when the first line of dir/name is exactly the pairwise header (LF or CRLF). */
static int has_pairwise_header(const char *dir, const char *name)
{
    char path[4608], line[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok) return 0;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, pairwise_header) == 0;
}

sp_status sp_outputs_remove_pairwise(const char *dir, const char *const *keep, size_t n_keep)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? SP_OK : sp_fail(SP_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    sp_status st = SP_OK;
    struct dirent *e;
    /* Names are collected first: removing entries while readdir walks the directory may skip some. */
    char (*stale)[256] = NULL;
    size_t n_stale = 0;
    while (st == SP_OK && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 13 || strncmp(e->d_name, "pairwise_", 9) != 0 || strcmp(e->d_name + len - 4, ".csv") != 0 ||
            len >= sizeof *stale)
            continue;
        int kept = 0;
        for (size_t i = 0; i < n_keep && !kept; i++) kept = strcmp(keep[i], e->d_name) == 0;
        if (kept || !has_pairwise_header(dir, e->d_name)) continue;
        char (*grown)[256] = realloc(stale, (n_stale + 1) * sizeof *stale);
        if (!grown) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        stale = grown;
        memcpy(stale[n_stale++], e->d_name, len + 1);
    }
    closedir(d);
    for (size_t i = 0; i < n_stale && st == SP_OK; i++) st = remove_one(dir, stale[i]);
    free(stale);
    return st;
}
