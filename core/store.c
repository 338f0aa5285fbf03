/* store.c: the HDF5 run store (see store.h and docs/store.md).
 *
 * Writers create <path>.tmp and only rename it into place after stamping complete=1, closing and fsyncing,
 * so a crash never leaves a file that looks finished. Every HDF5 call is checked; HDF5's own error stack
 * printing is silenced and replaced by one message naming the file and object.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_FORMAT_VERSION 1

struct sp_store_writer {
    hid_t file;
    char *path;     /* final name */
    char *tmp_path; /* <path>.tmp */
};

/* HDF5 prints its error stack to stderr by default; library code must not print. */
static void store_silence_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static char *store_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---------------------------------------------------------------- writing */

sp_status sp_store_create(const char *path, const char *format, sp_store_writer **out)
{
    *out = NULL;
    store_silence_hdf5();
    sp_store_writer *w = calloc(1, sizeof *w);
    if (!w) return sp_fail(SP_ERR_NOMEM, "out of memory creating %s", path);
    w->file = H5I_INVALID_HID;
    w->path = store_strdup(path);
    w->tmp_path = malloc(strlen(path) + 5);
    if (!w->path || !w->tmp_path) {
        free(w->path);
        free(w->tmp_path);
        free(w);
        return sp_fail(SP_ERR_NOMEM, "out of memory creating %s", path);
    }
    strcpy(w->tmp_path, path);
    strcat(w->tmp_path, ".tmp");

    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* Pin the object-header format (HDF5 1.8+) so files are identical across library patch versions
     * and readable by any h5py built on HDF5 >= 1.8. */
    if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        sp_store_abort(w);
        return sp_fail(SP_ERR_IO, "%s: cannot set HDF5 file access properties", path);
    }
    w->file = H5Fcreate(w->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w->file < 0) {
        sp_status st = sp_fail(SP_ERR_IO, "cannot create %s; check that the directory exists and is writable",
                               w->tmp_path);
        free(w->path);
        free(w->tmp_path);
        free(w);
        return st;
    }
    sp_status st;
    if ((st = sp_store_attr_str(w, "/", "format", format)) != SP_OK ||
        (st = sp_store_attr_i64(w, "/", "format_version", STORE_FORMAT_VERSION)) != SP_OK ||
        (st = sp_store_attr_str(w, "/", "program_version", sp_program_version())) != SP_OK ||
        (st = sp_store_attr_str(w, "/", "blas_config", sp_blas_config())) != SP_OK) {
        sp_store_abort(w);
        return st;
    }
    *out = w;
    return SP_OK;
}

hid_t sp_store_file(sp_store_writer *w) { return w->file; }

/* Writes (or replaces) a scalar attribute of type `mem_type` from `value` on object `obj`. */
static sp_status store_attr_write(sp_store_writer *w, const char *obj, const char *name, hid_t file_type,
                                  hid_t mem_type, const void *value)
{
    hid_t o = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    sp_status st = SP_OK;
    if ((o = H5Oopen(w->file, obj, H5P_DEFAULT)) < 0) {
        st = sp_fail(SP_ERR_IO, "%s: no object %s to put attribute %s on", w->tmp_path, obj, name);
        goto done;
    }
    if (H5Aexists(o, name) > 0 && H5Adelete(o, name) < 0) {
        st = sp_fail(SP_ERR_IO, "%s: cannot replace attribute %s of %s", w->tmp_path, name, obj);
        goto done;
    }
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(o, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(attr, mem_type, value) < 0)
        st = sp_fail(SP_ERR_IO, "%s: cannot write attribute %s of %s", w->tmp_path, name, obj);
done:
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    if (o >= 0) H5Oclose(o);
    return st;
}

hid_t sp_store_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

sp_status sp_store_attr_str(sp_store_writer *w, const char *obj, const char *name, const char *value)
{
    hid_t t = sp_store_string_type();
    if (t < 0) return sp_fail(SP_ERR_IO, "%s: cannot make a string type", w->tmp_path);
    sp_status st = store_attr_write(w, obj, name, t, t, &value);
    H5Tclose(t);
    return st;
}

sp_status sp_store_attr_i64(sp_store_writer *w, const char *obj, const char *name, int64_t value)
{
    return store_attr_write(w, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

sp_status sp_store_attr_u64(sp_store_writer *w, const char *obj, const char *name, uint64_t value)
{
    return store_attr_write(w, obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

sp_status sp_store_attr_f64(sp_store_writer *w, const char *obj, const char *name, double value)
{
    return store_attr_write(w, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* Writes a dataset at `path` (intermediate groups created). Chunks of whole rows, shuffle + deflate 4
 * when compress != 0 and the data are non-empty. */
static sp_status store_write(sp_store_writer *w, const char *path, int rank, const hsize_t *dims, hid_t file_type,
                             hid_t mem_type, const void *data, int compress)
{
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID, lcpl = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    sp_status st = SP_OK;
    if (rank < 1 || rank > 4) return sp_fail(SP_ERR_STATE, "%s: dataset %s has rank %d (1..4 supported)",
                                             w->tmp_path, path, rank);
    hsize_t total = 1;
    for (int i = 0; i < rank; i++) total *= dims[i];
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || (space = H5Screate_simple(rank, dims, NULL)) < 0) {
        st = sp_fail(SP_ERR_IO, "%s: cannot prepare dataset %s", w->tmp_path, path);
        goto done;
    }
    if (compress && total > 0) {
        hsize_t chunk[4];
        /* Rows per chunk so that a chunk is about 256 KiB: large enough for deflate, small enough that
         * a reader slicing rows does not decompress the whole dataset. */
        hsize_t row = H5Tget_size(mem_type);
        for (int i = 1; i < rank; i++) row *= dims[i], chunk[i] = dims[i];
        hsize_t rows = row ? (262144 + row - 1) / row : 1;
        if (rows < 1) rows = 1;
        chunk[0] = rows < dims[0] ? rows : dims[0];
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 4) < 0) {
            st = sp_fail(SP_ERR_IO, "%s: cannot set compression of %s", w->tmp_path, path);
            goto done;
        }
    }
    if ((dset = H5Dcreate2(w->file, path, file_type, space, lcpl, dcpl, H5P_DEFAULT)) < 0) {
        st = sp_fail(SP_ERR_IO, "%s: cannot create dataset %s (does it exist already?)", w->tmp_path, path);
        goto done;
    }
    if (total > 0 && H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = sp_fail(SP_ERR_IO, "%s: cannot write dataset %s", w->tmp_path, path);
done:
    if (dset >= 0) H5Dclose(dset);
    if (space >= 0) H5Sclose(space);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (lcpl >= 0) H5Pclose(lcpl);
    return st;
}

sp_status sp_store_write_f32(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const float *data, int compress)
{
    return store_write(w, path, rank, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, compress);
}

sp_status sp_store_write_f64(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const double *data, int compress)
{
    return store_write(w, path, rank, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, compress);
}

sp_status sp_store_write_i32(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const int32_t *data, int compress)
{
    return store_write(w, path, rank, dims, H5T_STD_I32LE, H5T_NATIVE_INT32, data, compress);
}

sp_status sp_store_write_i64(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                             const int64_t *data, int compress)
{
    return store_write(w, path, rank, dims, H5T_STD_I64LE, H5T_NATIVE_INT64, data, compress);
}

sp_status sp_store_write_u8(sp_store_writer *w, const char *path, int rank, const hsize_t *dims,
                            const uint8_t *data, int compress)
{
    return store_write(w, path, rank, dims, H5T_STD_U8LE, H5T_NATIVE_UINT8, data, compress);
}

sp_status sp_store_write_strings(sp_store_writer *w, const char *path, size_t n, char *const *strings)
{
    hid_t t = sp_store_string_type();
    if (t < 0) return sp_fail(SP_ERR_IO, "%s: cannot make a string type", w->tmp_path);
    hsize_t dims[1] = {n};
    /* Variable-length strings live in the global heap, which HDF5 filters cannot compress. */
    sp_status st = store_write(w, path, 1, dims, t, t, strings, 0);
    H5Tclose(t);
    return st;
}

/* fsyncs a file or directory by path; errors are reported. */
static sp_status store_fsync_path(const char *path, int directory)
{
    int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return sp_fail(SP_ERR_IO, "cannot open %s to sync it: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    /* Some file systems refuse fsync on directories (EINVAL); the rename is still atomic there. */
    if (rc != 0 && !(directory && err == EINVAL))
        return sp_fail(SP_ERR_IO, "cannot sync %s: %s", path, strerror(err));
    return SP_OK;
}

sp_status sp_store_commit(sp_store_writer *w)
{
    sp_status st = sp_store_attr_i64(w, "/", "complete", 1);
    if (st != SP_OK) {
        sp_store_abort(w);
        return st;
    }
    if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 || H5Fclose(w->file) < 0) {
        w->file = H5I_INVALID_HID;
        st = sp_fail(SP_ERR_IO, "cannot finish writing %s (disk full?)", w->tmp_path);
        sp_store_abort(w);
        return st;
    }
    w->file = H5I_INVALID_HID;
    if ((st = store_fsync_path(w->tmp_path, 0)) != SP_OK) {
        sp_store_abort(w);
        return st;
    }
    if (rename(w->tmp_path, w->path) != 0) {
        st = sp_fail(SP_ERR_IO, "cannot rename %s to %s: %s", w->tmp_path, w->path, strerror(errno));
        sp_store_abort(w);
        return st;
    }
    /* Make the rename itself durable. */
    char *dir = store_strdup(w->path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash == dir) slash[1] = '\0';
        else if (slash) *slash = '\0';
        else strcpy(dir, ".");
        st = store_fsync_path(dir, 1);
        free(dir);
    }
    free(w->path);
    free(w->tmp_path);
    free(w);
    return st;
}

void sp_store_abort(sp_store_writer *w)
{
    if (!w) return;
    if (w->file >= 0) H5Fclose(w->file);
    if (w->tmp_path) unlink(w->tmp_path);
    free(w->path);
    free(w->tmp_path);
    free(w);
}

/* ---------------------------------------------------------------- reading */

/* Reads a scalar string attribute (fixed or variable length) into a malloc'ed string. */
static sp_status store_attr_read_str(hid_t file, const char *obj, const char *name, char **value, const char *what)
{
    hid_t o = H5I_INVALID_HID, attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    sp_status st = SP_OK;
    *value = NULL;
    if ((o = H5Oopen(file, obj, H5P_DEFAULT)) < 0 || H5Aexists(o, name) <= 0 ||
        (attr = H5Aopen(o, name, H5P_DEFAULT)) < 0 || (ftype = H5Aget_type(attr)) < 0 ||
        H5Tget_class(ftype) != H5T_STRING) {
        st = sp_fail(SP_ERR_INPUT, "%s: no string attribute %s on %s", what, name, obj);
        goto done;
    }
    if (H5Tis_variable_str(ftype) > 0) {
        char *s = NULL;
        mtype = sp_store_string_type();
        if (mtype < 0 || H5Aread(attr, mtype, &s) < 0) {
            st = sp_fail(SP_ERR_INPUT, "%s: cannot read attribute %s on %s", what, name, obj);
            goto done;
        }
        *value = store_strdup(s ? s : "");
        H5free_memory(s);
    } else {
        size_t n = H5Tget_size(ftype);
        char *s = calloc(n + 1, 1);
        mtype = H5Tcopy(ftype);
        if (!s || mtype < 0 || H5Aread(attr, mtype, s) < 0) {
            free(s);
            st = sp_fail(SP_ERR_INPUT, "%s: cannot read attribute %s on %s", what, name, obj);
            goto done;
        }
        *value = s;
    }
    if (!*value) st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", what);
done:
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    if (attr >= 0) H5Aclose(attr);
    if (o >= 0) H5Oclose(o);
    return st;
}

/* The name of an open file, for messages; a static per-thread buffer. */
static const char *store_file_name(hid_t file)
{
    static _Thread_local char name[1024];
    if (H5Fget_name(file, name, sizeof name) < 0) strcpy(name, "(hdf5 file)");
    return name;
}

sp_status sp_store_open(const char *path, const char *format, hid_t *file)
{
    store_silence_hdf5();
    *file = H5I_INVALID_HID;
    if (access(path, R_OK) != 0)
        return sp_fail(SP_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return sp_fail(SP_ERR_INPUT, "%s is not an HDF5 file (or is truncated); regenerate it", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return sp_fail(SP_ERR_INPUT, "%s cannot be opened as HDF5 (truncated or corrupt?); regenerate it", path);
    char *fmt = NULL;
    int64_t complete = 0;
    sp_status st = store_attr_read_str(f, "/", "format", &fmt, path);
    if (st != SP_OK) {
        st = sp_fail(SP_ERR_INPUT, "%s is not a splinter file (no format attribute)", path);
    } else if (format && strcmp(fmt, format) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s is a '%s' file, expected '%s'", path, fmt, format);
    } else if (sp_store_read_attr_i64(f, "/", "complete", &complete) != SP_OK || complete != 1) {
        st = sp_fail(SP_ERR_INPUT, "%s is incomplete (its writer did not finish); delete it and rerun", path);
    }
    free(fmt);
    if (st != SP_OK) {
        H5Fclose(f);
        return st;
    }
    *file = f;
    return SP_OK;
}

int sp_store_is_complete(const char *path, const char *format)
{
    hid_t f;
    char saved[1024];
    /* Preserve the caller's error message: this is a query, not a failure. */
    snprintf(saved, sizeof saved, "%s", sp_error_message());
    int ok = sp_store_open(path, format, &f) == SP_OK;
    if (ok) H5Fclose(f);
    sp_fail(SP_OK, "%s", saved);
    return ok;
}

int sp_store_exists(hid_t file, const char *path)
{
    /* H5Lexists requires each intermediate link to exist, so walk the path. */
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return 0;
    if (strcmp(path, "/") == 0) return 1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return 0;
            if (c == '\0') return 1;
            *p = c;
        }
    }
}

/* Reads a whole dataset converted to `mem_type` into a malloc'ed buffer of elements of `elem_size`. */
static sp_status store_read(hid_t file, const char *path, hid_t mem_type, size_t elem_size, int *rank,
                            hsize_t dims[4], void **data)
{
    hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
    sp_status st = SP_OK;
    *data = NULL;
    if (!sp_store_exists(file, path) || (dset = H5Dopen2(file, path, H5P_DEFAULT)) < 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: missing dataset %s", store_file_name(file), path);
        goto done;
    }
    int r;
    if ((space = H5Dget_space(dset)) < 0 || (r = H5Sget_simple_extent_ndims(space)) < 1 || r > 4 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: dataset %s has an unsupported shape", store_file_name(file), path);
        goto done;
    }
    *rank = r;
    size_t total = 1;
    for (int i = 0; i < r; i++) total *= (size_t)dims[i];
    void *buf = malloc(total ? total * elem_size : 1);
    if (!buf) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s from %s", path, store_file_name(file));
        goto done;
    }
    if (total > 0 && H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        st = sp_fail(SP_ERR_INPUT, "%s: cannot read dataset %s (corrupt or wrong type)", store_file_name(file), path);
        goto done;
    }
    *data = buf;
done:
    if (space >= 0) H5Sclose(space);
    if (dset >= 0) H5Dclose(dset);
    return st;
}

sp_status sp_store_read_f32(hid_t file, const char *path, int *rank, hsize_t dims[4], float **data)
{
    return store_read(file, path, H5T_NATIVE_FLOAT, sizeof(float), rank, dims, (void **)data);
}

sp_status sp_store_read_f64(hid_t file, const char *path, int *rank, hsize_t dims[4], double **data)
{
    return store_read(file, path, H5T_NATIVE_DOUBLE, sizeof(double), rank, dims, (void **)data);
}

sp_status sp_store_read_i32(hid_t file, const char *path, int *rank, hsize_t dims[4], int32_t **data)
{
    return store_read(file, path, H5T_NATIVE_INT32, sizeof(int32_t), rank, dims, (void **)data);
}

sp_status sp_store_read_i64(hid_t file, const char *path, int *rank, hsize_t dims[4], int64_t **data)
{
    return store_read(file, path, H5T_NATIVE_INT64, sizeof(int64_t), rank, dims, (void **)data);
}

sp_status sp_store_read_u8(hid_t file, const char *path, int *rank, hsize_t dims[4], uint8_t **data)
{
    return store_read(file, path, H5T_NATIVE_UINT8, sizeof(uint8_t), rank, dims, (void **)data);
}

sp_status sp_store_read_strings(hid_t file, const char *path, size_t *n, char ***strings)
{
    hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    char **raw = NULL, **copy = NULL;
    sp_status st = SP_OK;
    hsize_t count = 0;
    *strings = NULL;
    *n = 0;
    if (!sp_store_exists(file, path) || (dset = H5Dopen2(file, path, H5P_DEFAULT)) < 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: missing dataset %s", store_file_name(file), path);
        goto done;
    }
    if ((space = H5Dget_space(dset)) < 0 || H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, &count, NULL) < 0 || (mtype = sp_store_string_type()) < 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: dataset %s is not a 1-D string list", store_file_name(file), path);
        goto done;
    }
    raw = calloc(count ? count : 1, sizeof *raw);
    copy = calloc(count ? count : 1, sizeof *copy);
    if (!raw || !copy) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    if (count > 0 && H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: cannot read strings %s (corrupt or not variable-length strings)",
                     store_file_name(file), path);
        goto done;
    }
    for (hsize_t i = 0; i < count; i++) {
        copy[i] = store_strdup(raw[i] ? raw[i] : "");
        if (!copy[i]) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
            goto done;
        }
    }
    if (count > 0) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
    free(raw);
    raw = NULL;
    *strings = copy;
    *n = (size_t)count;
    copy = NULL;
done:
    if (raw) {
        if (count > 0 && mtype >= 0 && space >= 0) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
        free(raw);
    }
    if (copy) {
        for (hsize_t i = 0; i < count; i++) free(copy[i]);
        free(copy);
    }
    if (mtype >= 0) H5Tclose(mtype);
    if (space >= 0) H5Sclose(space);
    if (dset >= 0) H5Dclose(dset);
    return st;
}

sp_status sp_store_read_attr_str(hid_t file, const char *obj, const char *name, char **value)
{
    return store_attr_read_str(file, obj, name, value, store_file_name(file));
}

/* Reads a scalar numeric attribute converted to `mem_type`. */
static sp_status store_attr_read_num(hid_t file, const char *obj, const char *name, hid_t mem_type, void *value)
{
    hid_t o = H5I_INVALID_HID, attr = H5I_INVALID_HID, space = H5I_INVALID_HID, ftype = H5I_INVALID_HID;
    sp_status st = SP_OK;
    H5T_class_t cls;
    if ((o = H5Oopen(file, obj, H5P_DEFAULT)) < 0 || H5Aexists(o, name) <= 0 ||
        (attr = H5Aopen(o, name, H5P_DEFAULT)) < 0 || (space = H5Aget_space(attr)) < 0 ||
        H5Sget_simple_extent_npoints(space) != 1 || (ftype = H5Aget_type(attr)) < 0 ||
        ((cls = H5Tget_class(ftype)) != H5T_INTEGER && cls != H5T_FLOAT) || H5Aread(attr, mem_type, value) < 0)
        st = sp_fail(SP_ERR_INPUT, "%s: no numeric attribute %s on %s", store_file_name(file), name, obj);
    if (ftype >= 0) H5Tclose(ftype);
    if (space >= 0) H5Sclose(space);
    if (attr >= 0) H5Aclose(attr);
    if (o >= 0) H5Oclose(o);
    return st;
}

sp_status sp_store_read_attr_i64(hid_t file, const char *obj, const char *name, int64_t *value)
{
    return store_attr_read_num(file, obj, name, H5T_NATIVE_INT64, value);
}

sp_status sp_store_read_attr_u64(hid_t file, const char *obj, const char *name, uint64_t *value)
{
    return store_attr_read_num(file, obj, name, H5T_NATIVE_UINT64, value);
}

sp_status sp_store_read_attr_f64(hid_t file, const char *obj, const char *name, double *value)
{
    return store_attr_read_num(file, obj, name, H5T_NATIVE_DOUBLE, value);
}
