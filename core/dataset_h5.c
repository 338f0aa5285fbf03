/* dataset_h5.c: dataset.h5 writer and reader on the run store (layout in docs/datasets.md).
 *
 * Record arrays are datasets (/text, /source_id, /label, /domain, /split); the class and domain tables are
 * array attributes on the root group, next to name, content_hash, data_seed and provenance_json.
 */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "store.h"

#define DATASET_FORMAT "splinter-dataset"

/* A 1-D array attribute on the root group: `n` elements of `type` from `data`. */
static sp_status write_array_attr(hid_t file, const char *path, const char *name, hid_t type, size_t n,
                                  const void *data)
{
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    hsize_t dims[1] = {n};
    sp_status st = SP_OK;
    if ((space = H5Screate_simple(1, dims, NULL)) < 0 ||
        (attr = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(attr, type, data) < 0)
        st = sp_fail(SP_ERR_IO, "%s: cannot write attribute %s", path, name);
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    return st;
}

sp_status sp_dataset_save(const sp_dataset *ds, const char *path)
{
    sp_status st = sp_dataset_validate(ds, path);
    if (st != SP_OK) return st;
    char hex[65];
    if ((st = sp_dataset_compute_hash(ds, hex)) != SP_OK) return st;
    if (strcmp(hex, ds->content_hash) != 0)
        return sp_fail(SP_ERR_STATE, "%s: the data set's content hash is stale (records changed after "
                                     "sp_dataset_hash); hash it again before saving",
                       path);
    sp_store_writer *w = NULL;
    if ((st = sp_store_create(path, DATASET_FORMAT, &w)) != SP_OK) return st;
    hid_t file = sp_store_file(w), str_type = sp_store_string_type();
    hsize_t dims[1] = {ds->n};
    if (str_type < 0) st = sp_fail(SP_ERR_IO, "%s: cannot make a string type", path);
    if (st == SP_OK) st = sp_store_write_strings(w, "/text", ds->n, ds->text);
    if (st == SP_OK) st = sp_store_write_strings(w, "/source_id", ds->n, ds->source_id);
    if (st == SP_OK) st = sp_store_write_i32(w, "/label", 1, dims, ds->label, 1);
    if (st == SP_OK) st = sp_store_write_i32(w, "/domain", 1, dims, ds->domain, 1);
    if (st == SP_OK) st = sp_store_write_u8(w, "/split", 1, dims, ds->split, 1);
    if (st == SP_OK)
        st = write_array_attr(file, path, "class_names", str_type, (size_t)ds->n_classes, ds->class_names);
    if (st == SP_OK)
        st = write_array_attr(file, path, "domain_names", str_type, (size_t)ds->n_domains, ds->domain_names);
    if (st == SP_OK)
        st = write_array_attr(file, path, "domain_is_ood", H5T_NATIVE_UINT8, (size_t)ds->n_domains, ds->domain_is_ood);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "name", ds->name);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "content_hash", ds->content_hash);
    if (st == SP_OK) st = sp_store_attr_u64(w, "/", "data_seed", ds->data_seed);
    if (st == SP_OK) st = sp_store_attr_str(w, "/", "provenance_json", ds->provenance_json ? ds->provenance_json : "{}");
    if (str_type >= 0) H5Tclose(str_type);
    if (st != SP_OK) {
        sp_store_abort(w);
        return st;
    }
    return sp_store_commit(w);
}

/* Reads a 1-D string array attribute of the root group into malloc'ed strings; *n receives its length. */
static sp_status read_string_array_attr(hid_t file, const char *path, const char *name, size_t *n, char ***out)
{
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    char **raw = NULL, **copy = NULL;
    hsize_t dims[1] = {0};
    sp_status st = SP_OK;
    *out = NULL;
    *n = 0;
    if (H5Aexists(file, name) <= 0 || (attr = H5Aopen(file, name, H5P_DEFAULT)) < 0 ||
        (ftype = H5Aget_type(attr)) < 0 || H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) <= 0 ||
        (space = H5Aget_space(attr)) < 0 || H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: missing or malformed attribute %s (a list of strings); re-import the data set",
                     path, name);
        goto done;
    }
    size_t m = (size_t)dims[0];
    raw = calloc(m ? m : 1, sizeof *raw);
    copy = calloc(m ? m : 1, sizeof *copy);
    if (!raw || !copy) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    if ((mtype = sp_store_string_type()) < 0 || (m > 0 && H5Aread(attr, mtype, raw) < 0)) {
        st = sp_fail(SP_ERR_INPUT, "%s: cannot read attribute %s", path, name);
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        copy[i] = strdup(raw[i] ? raw[i] : "");
        if (!copy[i]) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
            break;
        }
    }
    if (m > 0) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
    if (st == SP_OK) {
        *out = copy;
        *n = m;
        copy = NULL;
    } else {
        for (size_t i = 0; i < m; i++) free(copy[i]);
    }
done:
    free(raw);
    free(copy);
    if (mtype >= 0) H5Tclose(mtype);
    if (space >= 0) H5Sclose(space);
    if (ftype >= 0) H5Tclose(ftype);
    if (attr >= 0) H5Aclose(attr);
    return st;
}

/* Reads the uint8 domain_is_ood attribute (exactly n values). */
static sp_status read_ood_attr(hid_t file, const char *path, size_t n, uint8_t *out)
{
    hid_t attr = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    sp_status st = SP_OK;
    if (H5Aexists(file, "domain_is_ood") <= 0 || (attr = H5Aopen(file, "domain_is_ood", H5P_DEFAULT)) < 0 ||
        (space = H5Aget_space(attr)) < 0 || H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0 || dims[0] != n ||
        (n > 0 && H5Aread(attr, H5T_NATIVE_UINT8, out) < 0))
        st = sp_fail(SP_ERR_INPUT, "%s: missing or malformed attribute domain_is_ood (%zu flags expected); re-import "
                                   "the data set",
                     path, n);
    if (space >= 0) H5Sclose(space);
    if (attr >= 0) H5Aclose(attr);
    return st;
}

/* Reads a 1-D record array and checks it has n elements. */
#define READ_RECORDS(fn, file, path, dset, n, out)                                                             \
    do {                                                                                                       \
        int rank_ = 0;                                                                                         \
        hsize_t d_[4] = {0};                                                                                   \
        if ((st = fn(file, dset, &rank_, d_, out)) != SP_OK) goto fail;                                        \
        if (rank_ != 1 || d_[0] != (hsize_t)(n)) {                                                             \
            st = sp_fail(SP_ERR_INPUT, "%s: %s has %llu rows, /text has %zu; re-import the data set", path,     \
                         dset, (unsigned long long)d_[0], (size_t)(n));                                        \
            goto fail;                                                                                         \
        }                                                                                                      \
    } while (0)

sp_status sp_dataset_load(const char *path, sp_dataset **out)
{
    *out = NULL;
    hid_t file = H5I_INVALID_HID;
    sp_status st = sp_store_open(path, DATASET_FORMAT, &file);
    if (st != SP_OK) return st;
    sp_dataset *ds = calloc(1, sizeof *ds);
    char *name = NULL, *hash = NULL;
    size_t n_src = 0, n_cls = 0, n_dom = 0;
    if (!ds) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        goto fail;
    }
    if ((st = sp_store_read_strings(file, "/text", &ds->n, &ds->text)) != SP_OK) goto fail;
    if ((st = sp_store_read_strings(file, "/source_id", &n_src, &ds->source_id)) != SP_OK) goto fail;
    if (n_src != ds->n) {
        /* Keep the free loop in bounds: it walks ds->n entries of both arrays. */
        for (size_t i = 0; i < n_src; i++) free(ds->source_id[i]);
        free(ds->source_id);
        ds->source_id = NULL;
        st = sp_fail(SP_ERR_INPUT, "%s: /source_id has %zu rows, /text has %zu; re-import the data set", path, n_src,
                     ds->n);
        goto fail;
    }
    READ_RECORDS(sp_store_read_i32, file, path, "/label", ds->n, &ds->label);
    READ_RECORDS(sp_store_read_i32, file, path, "/domain", ds->n, &ds->domain);
    READ_RECORDS(sp_store_read_u8, file, path, "/split", ds->n, &ds->split);
    if ((st = read_string_array_attr(file, path, "class_names", &n_cls, &ds->class_names)) != SP_OK) goto fail;
    ds->n_classes = (int)n_cls;
    if ((st = read_string_array_attr(file, path, "domain_names", &n_dom, &ds->domain_names)) != SP_OK) goto fail;
    ds->n_domains = (int)n_dom;
    if (!(ds->domain_is_ood = calloc(n_dom ? n_dom : 1, 1))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        goto fail;
    }
    if ((st = read_ood_attr(file, path, n_dom, ds->domain_is_ood)) != SP_OK) goto fail;
    if ((st = sp_store_read_attr_str(file, "/", "name", &name)) != SP_OK) goto fail;
    snprintf(ds->name, sizeof ds->name, "%s", name);
    if ((st = sp_store_read_attr_str(file, "/", "content_hash", &hash)) != SP_OK) goto fail;
    if ((st = sp_store_read_attr_u64(file, "/", "data_seed", &ds->data_seed)) != SP_OK) goto fail;
    if ((st = sp_store_read_attr_str(file, "/", "provenance_json", &ds->provenance_json)) != SP_OK) goto fail;
    H5Fclose(file);
    file = H5I_INVALID_HID;

    if (sp_dataset_validate(ds, path) != SP_OK) {
        st = sp_fail_context(SP_ERR_INPUT, "%s is not a consistent data set; re-import it", path);
        goto fail;
    }
    if ((st = sp_dataset_compute_hash(ds, ds->content_hash)) != SP_OK) goto fail;
    if (strcmp(hash, ds->content_hash) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: content hash mismatch (stored %.16s..., records hash to %.16s...): the file "
                                   "was modified after import; re-import it",
                     path, hash, ds->content_hash);
        goto fail;
    }
    free(name);
    free(hash);
    *out = ds;
    return SP_OK;
fail:
    if (file >= 0) H5Fclose(file);
    free(name);
    free(hash);
    sp_dataset_free(ds);
    return st;
}
