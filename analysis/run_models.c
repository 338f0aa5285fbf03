/* run_models.c: lists and classifies the model files of a run directory (see run_models.h). */
#include "run_models.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "store.h"

void sp_run_models_free(sp_run_models *ms)
{
    if (!ms) return;
    for (size_t k = 0; k < ms->n_files; k++) {
        free(ms->files[k].path);
        free(ms->files[k].format);
    }
    free(ms->files);
    free(ms->dir);
    free(ms);
}

/* Sets rf->kind (and rf->format) from the file's root attributes; a file that is not HDF5 at all is an error,
 * since nothing but the store writes into models/. */
static sp_status run_file_classify(sp_run_file *rf)
{
    hid_t f;
    if (sp_store_open(rf->path, NULL, &f) != SP_OK) { /* its reason is replaced by the kind */
        if (H5Fis_hdf5(rf->path) <= 0)
            return sp_fail(SP_ERR_INPUT, "%s: not an HDF5 file; models/ must hold only model files (move it away)",
                           rf->path);
        sp_error_clear(); /* no format attribute or no complete = 1: a query, not a failure */
        rf->kind = SP_RUN_FILE_INCOMPLETE;
        return SP_OK;
    }
    sp_status st = sp_store_read_attr_str(f, "/", "format", &rf->format);
    H5Fclose(f);
    if (st != SP_OK) return st;
    rf->kind = strcmp(rf->format, "splinter-model") == 0     ? SP_RUN_FILE_MODEL
               : strcmp(rf->format, "splinter-encoder") == 0 ? SP_RUN_FILE_ENCODER
                                                             : SP_RUN_FILE_OTHER;
    return SP_OK;
}

/* The "too few models" error; it names the partially written files, the usual reason for a missing model. */
static sp_status run_models_too_few(const sp_run_models *ms, size_t min_models)
{
    char **partial = NULL;
    size_t n_partial = 0;
    if (sp_dir_list(&partial, &n_partial, ms->dir, ".h5.tmp") != SP_OK) n_partial = 0; /* only for the message */
    sp_strlist_free(partial, n_partial);
    sp_error_clear();
    char note[256] = "";
    if (n_partial)
        snprintf(note, sizeof note, "; %zu partially written *.h5.tmp file(s) there: training is still running or "
                 "was interrupted (wait for it, or delete them and train again)", n_partial);
    return sp_fail(SP_ERR_INPUT, "%s: %zu complete model file(s); the analysis needs at least %zu (train more "
                   "models)%s", ms->dir, ms->n_models, min_models, note);
}

sp_status sp_run_models_list(sp_run_models **out, const char *run_dir, size_t min_models)
{
    *out = NULL;
    sp_run_models *ms = calloc(1, sizeof *ms);
    size_t len = strlen(run_dir) + sizeof "/models";
    if (!ms || !(ms->dir = malloc(len))) {
        free(ms);
        return sp_fail(SP_ERR_NOMEM, "out of memory listing %s/models", run_dir);
    }
    snprintf(ms->dir, len, "%s/models", run_dir);
    struct stat sb;
    if (stat(ms->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        sp_status st = sp_fail(SP_ERR_INPUT, "%s: cannot open the models directory; is %s a run directory?",
                               ms->dir, run_dir);
        sp_run_models_free(ms);
        return st;
    }
    char **names = NULL;
    size_t n = 0;
    sp_status st = sp_dir_list(&names, &n, ms->dir, ".h5");
    if (st == SP_OK && n && !(ms->files = calloc(n, sizeof *ms->files)))
        st = sp_fail(SP_ERR_NOMEM, "out of memory listing %s", ms->dir);
    for (size_t k = 0; k < n && st == SP_OK; k++) {
        sp_run_file *rf = &ms->files[ms->n_files];
        size_t plen = strlen(ms->dir) + strlen(names[k]) + 2;
        if (!(rf->path = malloc(plen))) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory listing %s", ms->dir);
            break;
        }
        snprintf(rf->path, plen, "%s/%s", ms->dir, names[k]);
        ms->n_files++;
        if ((st = run_file_classify(rf)) == SP_OK) ms->n_models += rf->kind == SP_RUN_FILE_MODEL;
    }
    sp_strlist_free(names, n);
    if (st == SP_OK && ms->n_models < min_models) st = run_models_too_few(ms, min_models);
    if (st != SP_OK) {
        sp_run_models_free(ms);
        return st;
    }
    *out = ms;
    return SP_OK;
}
