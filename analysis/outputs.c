/* outputs.c: removal of optional RUN/analysis/ files an analysis run did not write (see outputs.h). */
#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "strlist.h"

static const char *const exact_names[] = {"exact_vpr.csv", "exact_summary.csv", NULL};
static const char *const concept_names[] = {"concepts.csv", "splinter_concept_pairs.csv",
                                            "splinter_concept_variants.csv", "splinter_concept_compare.csv", NULL};
static const char *const feature_names[] = {"similarity.csv", "crosslayer.csv", "splinter_pairs.csv",
                                            "splinter_variants.csv", "splinter_compare.csv", "splinter_2x2.csv",
                                            "splinter.h5", "concepts.csv", "splinter_concept_pairs.csv",
                                            "splinter_concept_variants.csv", "splinter_concept_compare.csv", NULL};
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
    struct stat sb;
    if (stat(dir, &sb) != 0 && errno == ENOENT) return SP_OK; /* nothing written yet */
    /* the names are listed first: removing entries while the directory is read may skip some */
    char **names = NULL;
    size_t n = 0;
    sp_status st = sp_dir_list(&names, &n, dir, ".csv");
    for (size_t k = 0; k < n && st == SP_OK; k++) {
        const char *name = names[k];
        if (strlen(name) <= 13 || strncmp(name, "pairwise_", 9) != 0) continue;
        int kept = 0;
        for (size_t i = 0; i < n_keep && !kept; i++) kept = strcmp(keep[i], name) == 0;
        if (!kept && has_pairwise_header(dir, name)) st = remove_one(dir, name);
    }
    sp_strlist_free(names, n);
    return st;
}
