/* import_internal.h: helpers shared by the importers (import_*.c); not part of the public API.
 *
 *     json_t *prov = json_pack("{s:s}", "importer", "imdb");
 *     ... fill ds ...;
 *     return sp_import_finish(ds, prov, &so);   // provenance text + content hash; consumes prov
 */
#ifndef SPLINTER_IMPORT_INTERNAL_H
#define SPLINTER_IMPORT_INTERNAL_H

#include <jansson.h>

#include "dataset.h"
#include "import.h"

/* Copies `n` names into a new owned array (*names, *count set). SP_ERR_NOMEM on failure. */
sp_status sp_import_set_names(char ***names, int *count, const char *const *src, int n);

/* Checks split fractions as sp_dataset_assign_splits does, before any work is done. */
sp_status sp_import_check_split_options(const sp_split_options *opt);

/* Adds the split options and program version to `prov`, stores it compactly (sorted keys) as
 * ds->provenance_json and computes the content hash. Always consumes `prov` (NULL is an allocation failure). */
sp_status sp_import_finish(sp_dataset *ds, json_t *prov, const sp_split_options *opt);

/* The lowercase hex digest of data[0..len) with OpenSSL's `md` ("MD5", "SHA256"); hex holds 2*size+1. */
sp_status sp_import_digest_hex(const char *md, const void *data, size_t len, char *hex, size_t hex_cap);

#endif
