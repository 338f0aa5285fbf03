/* fsutil.h: small file-system helpers shared by the modules that create run and cache directories.
 *
 *     if (sp_make_dirs("runs/spam-demo/models") != SP_OK) return ...;   // mkdir -p
 */
#ifndef SPLINTER_FSUTIL_H
#define SPLINTER_FSUTIL_H

#include "status.h"

/* Creates `path` and any missing parents (mode 0777 before the umask). SP_OK if it exists as a directory
 * afterwards; SP_ERR_IO naming the directory that could not be created; SP_ERR_USAGE for an empty path. */
sp_status sp_make_dirs(const char *path);

#endif
