/* fsutil.h: small file-system helpers shared by the modules that create run and cache directories.
 *
 *     if (sp_make_dirs("runs/spam-demo/models") != SP_OK) return ...;   // mkdir -p
 *     sp_safe_name(part, sizeof part, variant);                         // "a/b c" -> "a_b_c"
 *     if (sp_read_file("concepts.txt", &text, &len) != SP_OK) return ...; // whole file, NUL-terminated
 *     if (sp_dir_list(&names, &n, "runs/spam-demo/models", ".h5") != SP_OK) return ...; // sorted
 *     sp_strlist_free(names, n);
 */
#ifndef SPLINTER_FSUTIL_H
#define SPLINTER_FSUTIL_H

#include <stddef.h>

#include "status.h"
#include "strlist.h"

/* Creates `path` and any missing parents (mode 0777 before the umask). SP_OK if it exists as a directory
 * afterwards; SP_ERR_IO naming the directory that could not be created; SP_ERR_USAGE for an empty path. */
sp_status sp_make_dirs(const char *path);

/* out = in with every byte outside [A-Za-z0-9._-] replaced by '_', truncated to cap - 1 bytes: a name that is
 * safe as a file-name part and as an HDF5 link name (variant, split and model names can hold anything). */
void sp_safe_name(char *out, size_t cap, const char *in);

/* Reads a whole file (a regular file in one read, or a pipe / device until end of file) into a
 * NUL-terminated malloc'ed buffer; *len excludes the NUL. SP_ERR_IO naming the file when it cannot be
 * opened or read, SP_ERR_NOMEM when it does not fit. */
sp_status sp_read_file(const char *path, char **data, size_t *len);

/* *names = the names (not paths) of the regular files in `dir` (symbolic links followed) whose name ends in
 * `suffix` and is longer than it, without hidden names (a leading '.'), sorted by strcmp so that no result
 * depends on the file system's readdir order. *names is malloc'ed (NULL when *n == 0); free it with
 * sp_strlist_free. SP_ERR_INPUT naming the directory and the reason when it cannot be opened; SP_ERR_NOMEM. */
sp_status sp_dir_list(char ***names, size_t *n, const char *dir, const char *suffix);

#endif
