/* outputs.h: the optional files of RUN/analysis/ and their removal when an analysis does not produce them.
 *
 * `splinter analyze` rewrites RUN/analysis/ in place. Files that only some runs write (the exact viable
 * prediction ranges, the concept probes, the whole feature-splintering set, one pairwise_<split>.csv per
 * evaluation split) would otherwise survive from an earlier run next to fresh files and look current. Each
 * writer therefore removes the group it did not write this time; only names splinter itself writes are
 * ever removed (docs/metrics.md "Outputs", docs/splintering.md "Files").
 *
 *     // the model-level analysis ran without exact ranges:
 *     if (sp_outputs_remove("runs/spam/analysis", SP_OUTPUTS_EXACT) != SP_OK) return ...;
 */
#ifndef SPLINTER_OUTPUTS_H
#define SPLINTER_OUTPUTS_H

#include <stddef.h>

#include "status.h"

typedef enum {
    SP_OUTPUTS_EXACT,    /* exact_vpr.csv, exact_summary.csv (analysis/exact_write.c) */
    SP_OUTPUTS_CONCEPTS, /* concepts.csv, splinter_concept_pairs.csv, splinter_concept_variants.csv,
                          * splinter_concept_compare.csv */
    SP_OUTPUTS_FEATURES  /* splinter.h5 and the feature-splintering CSVs, the concept files included */
} sp_outputs_group;

/* The file names of group g, NULL-terminated, in the order the docs list them. */
const char *const *sp_outputs_names(sp_outputs_group g);

/* Removes dir/<name> for every name of group g; names that do not exist are fine. SP_ERR_IO naming the file
 * when one exists but cannot be removed (it would look current). */
sp_status sp_outputs_remove(const char *dir, sp_outputs_group g);

/* Removes every dir/pairwise_<x>.csv not among keep[0..n_keep) (bare file names) whose first line is the
 * header splinter writes there ("variant,model_a,model_b,disagreement"): the tables of evaluation splits the
 * current models no longer have. Other files are left alone. SP_ERR_IO as above. */
sp_status sp_outputs_remove_pairwise(const char *dir, const char *const *keep, size_t n_keep);

#endif
