/* import_util.c: helpers shared by the importers (see import_internal.h). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "store.h"

sp_status sp_import_set_names(char ***names, int *count, const char *const *src, int n)
{
    char **a = calloc(n > 0 ? (size_t)n : 1, sizeof *a);
    if (!a) return sp_fail(SP_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        if (!(a[i] = strdup(src[i]))) {
            for (int j = 0; j < i; j++) free(a[j]);
            free(a);
            return sp_fail(SP_ERR_NOMEM, "out of memory");
        }
    }
    *names = a;
    *count = n;
    return SP_OK;
}

sp_status sp_import_check_split_options(const sp_split_options *opt)
{
    double v = opt->val_fraction, t = opt->test_fraction;
    if (!(v > 0 && v < 1) || !(t > 0 && t < 1) || !(v + t < 1))
        return sp_fail(SP_ERR_USAGE, "split fractions --val %g --test %g: each must be in (0,1) and their sum below 1",
                       v, t);
    return SP_OK;
}

sp_status sp_import_finish(sp_dataset *ds, json_t *prov, const sp_split_options *opt)
{
    if (!prov) return sp_fail(SP_ERR_NOMEM, "out of memory building provenance");
    char seed_text[32];
    /* JSON numbers lose precision above 2^53: the seed goes in as decimal text. */
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)ds->data_seed);
    json_t *splits = json_pack("{s:s, s:f, s:f}", "data_seed", seed_text, "val_fraction", opt->val_fraction,
                               "test_fraction", opt->test_fraction);
    if (!splits || json_object_set_new(prov, "splits", splits) != 0 ||
        json_object_set_new(prov, "program_version", json_string(sp_program_version())) != 0) {
        json_decref(prov);
        return sp_fail(SP_ERR_NOMEM, "out of memory building provenance");
    }
    free(ds->provenance_json);
    ds->provenance_json = json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(prov);
    if (!ds->provenance_json) return sp_fail(SP_ERR_NOMEM, "out of memory building provenance");
    return sp_dataset_hash(ds);
}

sp_status sp_import_digest_hex(const char *md, const void *data, size_t len, char *hex, size_t hex_cap)
{
    const EVP_MD *type = EVP_get_digestbyname(md);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!type || EVP_Digest(data, len, out, &n, type, NULL) != 1 || hex_cap < 2 * (size_t)n + 1)
        return sp_fail(SP_ERR_STATE, "OpenSSL cannot compute %s", md);
    for (unsigned i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", out[i]);
    return SP_OK;
}
