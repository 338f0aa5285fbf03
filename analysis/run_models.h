/* run_models.h: which files of a run's models/ directory are models. The model-level analysis and feature
 * splintering both read a run through this one listing, so they always agree on the set of models.
 *
 * The rule: RUN/models/<name>.h5, a regular file (links followed), <name> not hidden; sorted by file name
 * (strcmp), so no result depends on the directory order. <name>.h5.tmp is a write in progress or an
 * interrupted one (core/store.h renames it when complete) and is never listed; nor is any other name.
 * Every listed file must be HDF5; each is classified by its format and completeness.
 *
 *     sp_run_models *ms = NULL;
 *     if (sp_run_models_list(&ms, "runs/spam", 2) != SP_OK) return ...;  // at least 2 complete models
 *     for (size_t k = 0; k < ms->n_files; k++)
 *         if (ms->files[k].kind == SP_RUN_FILE_MODEL) read_model(ms->files[k].path);
 *     sp_run_models_free(ms);
 */
#ifndef SPLINTER_RUN_MODELS_H
#define SPLINTER_RUN_MODELS_H

#include <stddef.h>

#include "status.h"

typedef enum {
    SP_RUN_FILE_MODEL,     /* complete, format "splinter-model": a model to analyse */
    SP_RUN_FILE_ENCODER,   /* complete, format "splinter-encoder": a pretrained encoder, not a model */
    SP_RUN_FILE_OTHER,     /* complete splinter file of another format */
    SP_RUN_FILE_INCOMPLETE /* HDF5, but no format attribute or no complete = 1: its writer did not finish */
} sp_run_file_kind;

typedef struct {
    char *path;            /* RUN/models/<name>.h5 */
    char *format;          /* its format attribute; NULL for SP_RUN_FILE_INCOMPLETE */
    sp_run_file_kind kind;
} sp_run_file;

typedef struct {
    char *dir;             /* RUN/models */
    sp_run_file *files;    /* [n_files] every <name>.h5, sorted by name */
    size_t n_files;
    size_t n_models;       /* files of kind SP_RUN_FILE_MODEL */
} sp_run_models;

/* Lists and classifies RUN/models (the rule above) into *out (free with sp_run_models_free).
 * SP_ERR_INPUT when RUN/models is not a directory ("is RUN a run directory?"), when a listed file is not
 * HDF5 (move it away), or when fewer than min_models files are complete models (the message counts the
 * partially written *.h5.tmp files when there are any); SP_ERR_NOMEM. *out is NULL on failure. */
sp_status sp_run_models_list(sp_run_models **out, const char *run_dir, size_t min_models);

/* Frees a listing; safe on NULL. */
void sp_run_models_free(sp_run_models *ms);

#endif
