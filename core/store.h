/* store.h: the HDF5 run store: one file per model (and per pretrained encoder), readable by h5py as-is.
 *
 * A file is written as <path>.tmp and renamed to <path> by sp_store_commit, after the attribute
 * `complete = 1` is written, the file closed and fsynced. Readers ignore *.tmp and anything without
 * `complete`. Layout (docs/store.md):
 *
 *   /                      attrs: format="splinter-model", format_version, program_version, blas_config,
 *                                 family, variant, name, spec_json, data_hash, tokenizer_hash,
 *                                 seed_<stream> (uint64), n_classes, complete
 *   /weights/<name>        float32 parameter tensors
 *   /predictions/<split>   float32 [n, C] probabilities; attrs accuracy, loss
 *   /rows/<split>          int64 [n] dataset row of each prediction
 *   /activations/<split>/<layer>_<pooling>   float32 [n, d], chunked, shuffle + deflate
 *   /curves/<name>         float32 or float64 [steps]
 *
 *     sp_store_writer *w = NULL;
 *     if (sp_store_create("run/models/linear-s1.h5", "splinter-model", &w) != SP_OK) return ...;
 *     sp_store_attr_str(w, "/", "family", "linear");
 *     hsize_t dims[2] = {n, 2};
 *     sp_store_write_f32(w, "/predictions/test", 2, dims, probs, 0);
 *     return sp_store_commit(w);   // or sp_store_abort(w) on any failure: nothing is left behind
 */
#ifndef SPLINTER_STORE_H
#define SPLINTER_STORE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct sp_store_writer sp_store_writer;

/* Creates <path>.tmp (truncating a stale one), stamps format, format_version, program_version and
 * blas_config on the root group. Fails with SP_ERR_IO naming the path if the directory is not writable. */
sp_status sp_store_create(const char *path, const char *format, sp_store_writer **out);

/* The open HDF5 file of a writer, for callers that need raw H5* calls. */
hid_t sp_store_file(sp_store_writer *w);

/* Attributes on an existing object (group or dataset) `obj`, e.g. "/" or "/predictions/test". */
sp_status sp_store_attr_str(sp_store_writer *w, const char *obj, const char *name, const char *value);
sp_status sp_store_attr_i64(sp_store_writer *w, const char *obj, const char *name, int64_t value);
sp_status sp_store_attr_u64(sp_store_writer *w, const char *obj, const char *name, uint64_t value);
sp_status sp_store_attr_f64(sp_store_writer *w, const char *obj, const char *name, double value);

/* Datasets; intermediate groups are created. compress != 0 chunks the data (rows) with shuffle+deflate. */
sp_status sp_store_write_f32(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const float *data, int compress);
sp_status sp_store_write_f64(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const double *data, int compress);
sp_status sp_store_write_i32(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const int32_t *data, int compress);
sp_status sp_store_write_i64(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const int64_t *data, int compress);
sp_status sp_store_write_u8(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                            const uint8_t *data, int compress);
/* A 1-D dataset of variable-length UTF-8 strings. */
sp_status sp_store_write_strings(sp_store_writer *w, const char *path, size_t n, char *const *strings);

/* Writes complete=1, flushes, closes, fsyncs and renames <path>.tmp to <path>; frees w. */
sp_status sp_store_commit(sp_store_writer *w);

/* Closes and deletes <path>.tmp; frees w. Safe on NULL. */
void sp_store_abort(sp_store_writer *w);

/* --- reading --- */

/* Opens a committed file read-only and checks format and complete=1; SP_ERR_INPUT naming the path if it
 * is not HDF5, truncated, of another format or incomplete. Close with H5Fclose. */
sp_status sp_store_open(const char *path, const char *format, hid_t *file);

/* 1 if `path` is a complete, readable file of this format, else 0 (never prints). */
int sp_store_is_complete(const char *path, const char *format);

/* Reads a whole dataset converted to float/double/int32/int64; *dims (up to 4) and *rank filled;
 * the buffer is malloc'ed and owned by the caller. SP_ERR_INPUT names file and dataset on failure. */
sp_status sp_store_read_f32(hid_t file, const char *path, int *rank, hsize_t dims[4], float **data);
sp_status sp_store_read_f64(hid_t file, const char *path, int *rank, hsize_t dims[4], double **data);
sp_status sp_store_read_i32(hid_t file, const char *path, int *rank, hsize_t dims[4], int32_t **data);
sp_status sp_store_read_i64(hid_t file, const char *path, int *rank, hsize_t dims[4], int64_t **data);
sp_status sp_store_read_u8(hid_t file, const char *path, int *rank, hsize_t dims[4], uint8_t **data);
/* Reads a 1-D variable-length string dataset; strings and the array malloc'ed, owned by the caller. */
sp_status sp_store_read_strings(hid_t file, const char *path, size_t *n, char ***strings);

/* Attribute readers; the string is malloc'ed. SP_ERR_INPUT if missing or of the wrong type. */
sp_status sp_store_read_attr_str(hid_t file, const char *obj, const char *name, char **value);
sp_status sp_store_read_attr_i64(hid_t file, const char *obj, const char *name, int64_t *value);
sp_status sp_store_read_attr_u64(hid_t file, const char *obj, const char *name, uint64_t *value);
sp_status sp_store_read_attr_f64(hid_t file, const char *obj, const char *name, double *value);

/* 1 if the link `path` exists in the file (intermediate groups checked), else 0. */
int sp_store_exists(hid_t file, const char *path);

/* The store's string type: variable-length UTF-8 (h5py reads it as str). The caller closes it with H5Tclose;
 * H5I_INVALID_HID on failure. */
hid_t sp_store_string_type(void);

/* Program version string and BLAS configuration (openblas_get_config()). */
const char *sp_program_version(void);
const char *sp_blas_config(void);

#endif
