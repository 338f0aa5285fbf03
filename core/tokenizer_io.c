/* tokenizer_io.c: the tokenizer as an HDF5 group inside a run file (docs/tokenizer.md):
 *     <group>/merges   int32 [n_merges, 2]   left, right id of the merge that makes id 261+row
 *     <group> attrs    vocab_size, n_merges, lowercase (int64); pretokenizer, hash (UTF-8 strings)
 * Loading rebuilds the tokenizer from the merges and refuses anything whose recomputed hash differs
 * from the stored one, so a run can never silently encode with other merges than it trained with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "tokenizer_internal.h"

static const char *io_file_name(hid_t file, char *buf, size_t cap)
{
    if (H5Fget_name(file, buf, cap) < 0) snprintf(buf, cap, "(hdf5 file)");
    return buf;
}

/* Scalar attribute `name` on object o: int64 value or (str != NULL) a variable-length UTF-8 string. */
static int io_attr_write(hid_t o, const char *name, int64_t value, const char *str)
{
    hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    int rc = -1;
    if ((space = H5Screate(H5S_SCALAR)) < 0) goto done;
    if (str) {
        if ((type = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
            H5Tset_cset(type, H5T_CSET_UTF8) < 0 ||
            (attr = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            H5Awrite(attr, type, &str) < 0)
            goto done;
    } else if ((attr = H5Acreate2(o, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
               H5Awrite(attr, H5T_NATIVE_INT64, &value) < 0) {
        goto done;
    }
    rc = 0;
done:
    if (attr >= 0) H5Aclose(attr);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return rc;
}

sp_status sp_tokenizer_save(const sp_tokenizer *t, hid_t file, const char *group)
{
    hid_t lcpl = H5I_INVALID_HID, g = H5I_INVALID_HID, space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    sp_status st = SP_OK;
    char fname[512];
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* library code never prints: errors become one message */
    hsize_t dims[2] = {(hsize_t)t->n_merges, 2};
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        (g = H5Gcreate2(file, group, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        st = sp_fail(SP_ERR_IO, "%s: cannot create tokenizer group %s (does it exist already?)",
                     io_file_name(file, fname, sizeof fname), group);
        goto done;
    }
    if ((space = H5Screate_simple(2, dims, NULL)) < 0 ||
        (dset = H5Dcreate2(g, "merges", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (t->n_merges > 0 && H5Dwrite(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->merges) < 0)) {
        st = sp_fail(SP_ERR_IO, "%s: cannot write dataset %s/merges", io_file_name(file, fname, sizeof fname),
                     group);
        goto done;
    }
    if (io_attr_write(g, "vocab_size", sp_tokenizer_vocab_size(t), NULL) ||
        io_attr_write(g, "n_merges", t->n_merges, NULL) || io_attr_write(g, "lowercase", t->lowercase, NULL) ||
        io_attr_write(g, "pretokenizer", 0, SP_TOK_PRETOKENIZER) || io_attr_write(g, "hash", 0, t->hash))
        st = sp_fail(SP_ERR_IO, "%s: cannot write the attributes of tokenizer group %s",
                     io_file_name(file, fname, sizeof fname), group);
done:
    if (dset >= 0) H5Dclose(dset);
    if (space >= 0) H5Sclose(space);
    if (g >= 0) H5Gclose(g);
    if (lcpl >= 0) H5Pclose(lcpl);
    return st;
}

sp_status sp_tokenizer_load(hid_t file, const char *group, sp_tokenizer **out)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char fname[512], path[1024];
    io_file_name(file, fname, sizeof fname);
    int32_t *merges = NULL;
    char *pretok = NULL, *hash = NULL;
    int64_t vocab = 0, n_merges = 0, lowercase = 0;
    sp_tokenizer *t = NULL;
    sp_status st;
    if (snprintf(path, sizeof path, "%s/merges", group) >= (int)sizeof path)
        return sp_fail(SP_ERR_USAGE, "tokenizer group name %.40s... is too long", group);
    if (!sp_store_exists(file, group)) {
        st = sp_fail(SP_ERR_INPUT, "%s: no tokenizer group %s; tokenize the run first", fname, group);
        goto done;
    }
    int rank = 0;
    hsize_t dims[4] = {0};
    if ((st = sp_store_read_i32(file, path, &rank, dims, &merges)) != SP_OK ||
        (st = sp_store_read_attr_i64(file, group, "vocab_size", &vocab)) != SP_OK ||
        (st = sp_store_read_attr_i64(file, group, "n_merges", &n_merges)) != SP_OK ||
        (st = sp_store_read_attr_i64(file, group, "lowercase", &lowercase)) != SP_OK ||
        (st = sp_store_read_attr_str(file, group, "pretokenizer", &pretok)) != SP_OK ||
        (st = sp_store_read_attr_str(file, group, "hash", &hash)) != SP_OK)
        goto done;
    if (rank != 2 || dims[1] != 2 || dims[0] != (hsize_t)n_merges || n_merges > SP_TOK_MAX_VOCAB - SP_TOK_N_BASE ||
        vocab != SP_TOK_N_BASE + n_merges) {
        st = sp_fail(SP_ERR_INPUT, "%s: tokenizer %s: merges shape, n_merges (%lld) and vocab_size (%lld) "
                     "disagree; the file is corrupt, tokenize again", fname, group, (long long)n_merges,
                     (long long)vocab);
        goto done;
    }
    if (strcmp(pretok, SP_TOK_PRETOKENIZER) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: tokenizer %s uses pre-tokenizer '%s', this program has '%s'; "
                     "tokenize again with this version", fname, group, pretok, SP_TOK_PRETOKENIZER);
        goto done;
    }
    if (lowercase != 0 && lowercase != 1) {
        st = sp_fail(SP_ERR_INPUT, "%s: tokenizer %s: lowercase is %lld, not 0 or 1; the file is corrupt",
                     fname, group, (long long)lowercase);
        goto done;
    }
    if ((st = sp_tokenizer_from_merges(merges, (int)n_merges, (int)lowercase, &t)) != SP_OK) {
        st = sp_fail_context(st, "%s: tokenizer %s", fname, group);
        goto done;
    }
    if (strcmp(hash, t->hash) != 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: tokenizer %s: stored hash %.16s... differs from the merges' hash "
                     "%.16s...; the file is corrupt or edited, tokenize again", fname, group, hash, t->hash);
        goto done;
    }
    *out = t;
    t = NULL;
done:
    sp_tokenizer_free(t);
    free(merges);
    free(pretok);
    free(hash);
    return st;
}
