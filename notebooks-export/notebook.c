/* notebook.c: assembles the notebook of a run (see notebook.h) and writes it atomically.
 *
 * Cell order: title, models and seeds, configuration; setup (RUN path, imports); the redraw helper; the
 * report narrative with its figures; the Data section. JSON is written like nbformat writes it (one-space
 * indent, sorted keys, UTF-8), so saving the notebook from Jupyter changes little.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nb_internal.h"

/* The notebook-level metadata: a Python 3 kernel and where the notebook came from. */
static json_t *notebook_metadata(const nb_builder *nb)
{
    /* The run path goes through nb_string: a directory name need not be valid UTF-8. */
    json_t *run = nb_string(nb->run_abs, strlen(nb->run_abs));
    if (!run) return NULL;
    return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:o}}",
                     "kernelspec", "display_name", "Python 3", "language", "python", "name", "python3",
                     "language_info", "name", "python", "file_extension", ".py",
                     "splinter", "run", run);
}

sp_status sp_notebook_render(const char *run_dir, char **json_text, sp_notebook_summary *summary)
{
    *json_text = NULL;
    nb_builder nb;
    memset(&nb, 0, sizeof nb);
    if (!nb_is_dir(run_dir))
        return sp_fail(SP_ERR_USAGE, "%s is not a directory; give the run directory (the one holding dataset.h5, "
                                     "models/, analysis/, report/)", run_dir);
    if (!realpath(run_dir, nb.run_abs))
        return sp_fail(SP_ERR_INPUT, "cannot resolve the path of %s: %s", run_dir, strerror(errno));
    const char *parts[4] = {"dataset.h5", "models", "analysis", "report"};
    int found = 0;
    for (int i = 0; i < 4; i++) {
        char path[PATH_MAX];
        if (nb_path(path, "%s/%s", nb.run_abs, parts[i]) == SP_OK && access(path, F_OK) == 0) found = 1;
    }
    if (!found)
        return sp_fail(SP_ERR_INPUT, "%s is not a splinter run directory (no dataset.h5, models/, analysis/ or "
                                     "report/); give the directory a sweep wrote", run_dir);
    if (!(nb.cells = json_array())) return sp_fail(SP_ERR_NOMEM, "out of memory");

    sp_status st;
    if ((st = nb_add_title(&nb)) != SP_OK) goto done;
    nb_add_setup(&nb);
    if ((st = nb_add_report(&nb)) != SP_OK || (st = nb_add_data(&nb)) != SP_OK) goto done;
    nb_assign_ids(&nb);
    if (nb.oom) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory building the notebook of %s", run_dir);
        goto done;
    }
    nb.summary.n_cells = json_array_size(nb.cells);
    json_t *root = json_pack("{s:O, s:i, s:i}", "cells", nb.cells, "nbformat", 4, "nbformat_minor", 5);
    json_t *metadata = notebook_metadata(&nb);
    if (root && (!metadata || json_object_set_new(root, "metadata", metadata) != 0)) {
        json_decref(root);
        root = NULL;
    } else if (!root) {
        json_decref(metadata);
    }
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    char *with_newline = text ? realloc(text, strlen(text) + 2) : NULL;
    if (!with_newline) {
        free(text);
        st = sp_fail(SP_ERR_NOMEM, "out of memory writing the notebook of %s", run_dir);
        goto done;
    }
    strcat(with_newline, "\n");
    *json_text = with_newline;
    if (summary) *summary = nb.summary;
done:
    json_decref(nb.cells);
    return st;
}

sp_status sp_notebook_export(const char *run_dir, const char *out_path, sp_notebook_summary *summary)
{
    char tmp[PATH_MAX];
    sp_status st = nb_path(tmp, "%s.tmp", out_path);
    if (st != SP_OK) return st;
    char *text = NULL;
    sp_notebook_summary sum;
    if ((st = sp_notebook_render(run_dir, &text, &sum)) != SP_OK) return st;

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        st = sp_fail(SP_ERR_IO, "cannot write %s: %s; check that the directory exists and is writable", tmp,
                     strerror(errno));
        free(text);
        return st;
    }
    size_t n = strlen(text), done = 0;
    while (done < n && st == SP_OK) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) st = sp_fail(SP_ERR_IO, "cannot write %s: %s", tmp, strerror(w < 0 ? errno : ENOSPC));
        else done += (size_t)w;
    }
    free(text);
    if (st == SP_OK && fsync(fd) != 0) st = sp_fail(SP_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == SP_OK) st = sp_fail(SP_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (st == SP_OK && rename(tmp, out_path) != 0)
        st = sp_fail(SP_ERR_IO, "cannot rename %s to %s: %s", tmp, out_path, strerror(errno));
    if (st != SP_OK) {
        unlink(tmp);
        return st;
    }
    if (summary) *summary = sum;
    return SP_OK;
}
