/* sweep_config.c: libcyaml schema, defaults and validation of sweep configurations (see sweep_config.h). */
#include "sweep_config.h"

#include <cyaml/cyaml.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- schema */

static const cyaml_schema_field_t seed_range_fields[] = {
    CYAML_FIELD_UINT("first", CYAML_FLAG_DEFAULT, sp_seed_range, first),
    CYAML_FIELD_UINT("count", CYAML_FLAG_DEFAULT, sp_seed_range, count),
    CYAML_FIELD_END};

static const cyaml_schema_value_t string_entry = {CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED)};
static const cyaml_schema_value_t float_entry = {CYAML_VALUE_FLOAT(CYAML_FLAG_DEFAULT, double)};

#define OPT CYAML_FLAG_OPTIONAL
#define OPT_PTR (CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER)

static const cyaml_schema_field_t dataset_fields[] = {
    CYAML_FIELD_STRING_PTR("source", CYAML_FLAG_POINTER, sp_cfg_dataset, source, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("cache", OPT_PTR, sp_cfg_dataset, cache, 1, CYAML_UNLIMITED),
    CYAML_FIELD_UINT_PTR("data_seed", OPT_PTR, sp_cfg_dataset, data_seed),
    CYAML_FIELD_FLOAT_PTR("val_fraction", OPT_PTR, sp_cfg_dataset, val_fraction),
    CYAML_FIELD_FLOAT_PTR("test_fraction", OPT_PTR, sp_cfg_dataset, test_fraction),
    CYAML_FIELD_STRING_PTR("input", OPT_PTR, sp_cfg_dataset, input, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("format", OPT_PTR, sp_cfg_dataset, format, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("text_column", OPT_PTR, sp_cfg_dataset, text_column, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("label_column", OPT_PTR, sp_cfg_dataset, label_column, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("domain_column", OPT_PTR, sp_cfg_dataset, domain_column, 1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("split_column", OPT_PTR, sp_cfg_dataset, split_column, 1, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE("ood_domains", OPT_PTR, sp_cfg_dataset, ood_domains, &string_entry, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END};

static const cyaml_schema_field_t linear_fields[] = {
    CYAML_FIELD_MAPPING_PTR("seeds", CYAML_FLAG_POINTER, sp_cfg_linear, seeds, seed_range_fields),
    CYAML_FIELD_STRING_PTR("optimizer", OPT_PTR, sp_cfg_linear, optimizer, 1, CYAML_UNLIMITED),
    CYAML_FIELD_UINT_PTR("epochs", OPT_PTR, sp_cfg_linear, epochs),
    CYAML_FIELD_UINT_PTR("batch", OPT_PTR, sp_cfg_linear, batch),
    CYAML_FIELD_UINT_PTR("bits", OPT_PTR, sp_cfg_linear, bits),
    CYAML_FIELD_STRING_PTR("lr_schedule", OPT_PTR, sp_cfg_linear, lr_schedule, 1, CYAML_UNLIMITED),
    CYAML_FIELD_FLOAT_PTR("lr", OPT_PTR, sp_cfg_linear, lr),
    CYAML_FIELD_FLOAT_PTR("init_std", OPT_PTR, sp_cfg_linear, init_std),
    CYAML_FIELD_SEQUENCE("l2", OPT_PTR, sp_cfg_linear, l2, &float_entry, 1, CYAML_UNLIMITED),
    CYAML_FIELD_BOOL_PTR("exact", OPT_PTR, sp_cfg_linear, exact),
    CYAML_FIELD_BOOL_PTR("bootstrap", OPT_PTR, sp_cfg_linear, bootstrap),
    CYAML_FIELD_END};

static const cyaml_schema_field_t encoder_fields[] = {
    CYAML_FIELD_SEQUENCE("variants", CYAML_FLAG_POINTER, sp_cfg_encoder, variants, &string_entry, 1, 5),
    CYAML_FIELD_MAPPING_PTR("pretrain_seeds", OPT_PTR, sp_cfg_encoder, pretrain_seeds, seed_range_fields),
    CYAML_FIELD_MAPPING_PTR("seeds", CYAML_FLAG_POINTER, sp_cfg_encoder, seeds, seed_range_fields),
    CYAML_FIELD_UINT_PTR("vocab_size", OPT_PTR, sp_cfg_encoder, vocab_size),
    CYAML_FIELD_UINT_PTR("d_model", OPT_PTR, sp_cfg_encoder, d_model),
    CYAML_FIELD_UINT_PTR("layers", OPT_PTR, sp_cfg_encoder, layers),
    CYAML_FIELD_UINT_PTR("heads", OPT_PTR, sp_cfg_encoder, heads),
    CYAML_FIELD_UINT_PTR("ffn", OPT_PTR, sp_cfg_encoder, ffn),
    CYAML_FIELD_UINT_PTR("max_len", OPT_PTR, sp_cfg_encoder, max_len),
    CYAML_FIELD_UINT_PTR("batch", OPT_PTR, sp_cfg_encoder, batch),
    CYAML_FIELD_UINT_PTR("pretrain_epochs", OPT_PTR, sp_cfg_encoder, pretrain_epochs),
    CYAML_FIELD_UINT_PTR("epochs", OPT_PTR, sp_cfg_encoder, epochs),
    CYAML_FIELD_UINT_PTR("patience", OPT_PTR, sp_cfg_encoder, patience),
    CYAML_FIELD_FLOAT_PTR("dropout", OPT_PTR, sp_cfg_encoder, dropout),
    CYAML_FIELD_FLOAT_PTR("lr", OPT_PTR, sp_cfg_encoder, lr),
    CYAML_FIELD_FLOAT_PTR("weight_decay", OPT_PTR, sp_cfg_encoder, weight_decay),
    CYAML_FIELD_FLOAT_PTR("mlm_lambda", OPT_PTR, sp_cfg_encoder, mlm_lambda),
    CYAML_FIELD_SEQUENCE("activation_poolings", OPT_PTR, sp_cfg_encoder, activation_poolings, &string_entry, 1, 2),
    CYAML_FIELD_END};

static const cyaml_schema_field_t analysis_fields[] = {
    CYAML_FIELD_SEQUENCE("eps", OPT_PTR, sp_cfg_analysis, eps, &float_entry, 1, CYAML_UNLIMITED),
    CYAML_FIELD_UINT_PTR("bootstrap", OPT_PTR, sp_cfg_analysis, bootstrap),
    CYAML_FIELD_UINT_PTR("seed", OPT_PTR, sp_cfg_analysis, seed),
    CYAML_FIELD_UINT_PTR("top", OPT_PTR, sp_cfg_analysis, top),
    CYAML_FIELD_STRING_PTR("concepts", OPT_PTR, sp_cfg_analysis, concepts, 1, CYAML_UNLIMITED),
    CYAML_FIELD_END};

static const cyaml_schema_field_t config_fields[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, sp_sweep_config, name, 1, 64),
    CYAML_FIELD_STRING_PTR("run_dir", OPT_PTR, sp_sweep_config, run_dir, 1, CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING_PTR("dataset", CYAML_FLAG_POINTER, sp_sweep_config, dataset, dataset_fields),
    CYAML_FIELD_MAPPING_PTR("linear", OPT_PTR, sp_sweep_config, linear, linear_fields),
    CYAML_FIELD_MAPPING_PTR("encoder", OPT_PTR, sp_sweep_config, encoder, encoder_fields),
    CYAML_FIELD_MAPPING_PTR("analysis", OPT_PTR, sp_sweep_config, analysis, analysis_fields),
    CYAML_FIELD_END};

static const cyaml_schema_value_t config_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, sp_sweep_config, config_fields)};

/* ---------------------------------------------------------------- libcyaml plumbing */

/* libcyaml reports the reason and a backtrace with line numbers through its log callback; collect the
 * error lines into one message. */
typedef struct {
    char text[1024];
} config_log;

static void config_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    config_log *log = ctx;
    if (level < CYAML_LOG_ERROR) return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, args);
    /* Drop libcyaml's "Load: " prefixes, newlines and the backtrace header to keep one readable line. */
    char *s = line;
    if (strncmp(s, "Load: ", 6) == 0) s += 6;
    if (strncmp(s, "Save: ", 6) == 0) s += 6;
    if (strncmp(s, "Backtrace:", 10) == 0) return;
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t') *p = ' ';
    while (*s == ' ') s++;
    size_t len = strlen(s);
    while (len && s[len - 1] == ' ') s[--len] = '\0';
    if (!len) return;
    size_t used = strlen(log->text);
    snprintf(log->text + used, sizeof log->text - used, "%s%s", used ? "; " : "", s);
}

static cyaml_config_t config_cyaml(config_log *log)
{
    cyaml_config_t c = {.log_fn = config_log_fn, .log_ctx = log, .mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR,
                        .flags = CYAML_CFG_DEFAULT | CYAML_CFG_NO_ALIAS};
    return c;
}

void sp_sweep_config_free(sp_sweep_config *cfg)
{
    if (!cfg) return;
    config_log log = {{0}};
    cyaml_config_t c = config_cyaml(&log);
    cyaml_free(&c, &config_schema, cfg, 0);
}

/* ---------------------------------------------------------------- defaults */

/* Allocations here use cyaml_mem's allocator (realloc/free), so cyaml_free releases them too. */
#define DEFAULT_NUM(field, type, value)                                                                    \
    do {                                                                                                   \
        if (!(field)) {                                                                                    \
            (field) = malloc(sizeof(type));                                                                \
            if (!(field)) return sp_fail(SP_ERR_NOMEM, "out of memory resolving the sweep configuration"); \
            *(field) = (value);                                                                            \
        }                                                                                                  \
    } while (0)

static char *config_strdup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

#define DEFAULT_STR(field, value)                                                                          \
    do {                                                                                                   \
        if (!(field) && !((field) = config_strdup(value)))                                                 \
            return sp_fail(SP_ERR_NOMEM, "out of memory resolving the sweep configuration");              \
    } while (0)

static sp_status config_default_list(double **list, unsigned *count, const double *values, unsigned n)
{
    if (*list) return SP_OK;
    *list = malloc(n * sizeof **list);
    if (!*list) return sp_fail(SP_ERR_NOMEM, "out of memory resolving the sweep configuration");
    memcpy(*list, values, n * sizeof **list);
    *count = n;
    return SP_OK;
}

static sp_status config_default_strings(char ***list, unsigned *count, const char *const *values, unsigned n)
{
    if (*list) return SP_OK;
    *list = calloc(n, sizeof **list);
    if (!*list) return sp_fail(SP_ERR_NOMEM, "out of memory resolving the sweep configuration");
    for (unsigned i = 0; i < n; i++)
        if (!((*list)[i] = config_strdup(values[i])))
            return sp_fail(SP_ERR_NOMEM, "out of memory resolving the sweep configuration");
    *count = n;
    return SP_OK;
}

static int config_one_of(const char *value, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, allowed[i]) == 0) return 1;
    return 0;
}

static sp_status config_resolve(sp_sweep_config *c, const char *path)
{
    for (const char *p = c->name; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z')))
            return sp_fail(SP_ERR_USAGE, "%s: name '%s' may only use letters, digits, '-', '_' and '.'", path, c->name);
    if (!c->run_dir) {
        c->run_dir = malloc(strlen(c->name) + 6);
        if (!c->run_dir) return sp_fail(SP_ERR_NOMEM, "out of memory resolving %s", path);
        sprintf(c->run_dir, "runs/%s", c->name);
    }

    sp_cfg_dataset *d = c->dataset;
    static const char *const sources[] = {"spam-assassin", "imdb", "table"};
    if (!config_one_of(d->source, sources, 3))
        return sp_fail(SP_ERR_USAGE, "%s: dataset.source '%s' is not one of spam-assassin, imdb, table", path, d->source);
    DEFAULT_NUM(d->data_seed, uint64_t, 0);
    DEFAULT_NUM(d->val_fraction, double, 0.2);
    DEFAULT_NUM(d->test_fraction, double, 0.2);
    if (!(*d->val_fraction > 0 && *d->test_fraction > 0 && *d->val_fraction + *d->test_fraction < 1))
        return sp_fail(SP_ERR_USAGE, "%s: dataset.val_fraction and dataset.test_fraction must be > 0 with a sum < 1",
                       path);
    if (strcmp(d->source, "table") == 0) {
        if (!d->input || !d->format || !d->text_column || !d->label_column)
            return sp_fail(SP_ERR_USAGE, "%s: dataset.source 'table' needs dataset.input, format, text_column and "
                                         "label_column", path);
        static const char *const formats[] = {"jsonl", "csv", "tsv"};
        if (!config_one_of(d->format, formats, 3))
            return sp_fail(SP_ERR_USAGE, "%s: dataset.format '%s' is not one of jsonl, csv, tsv", path, d->format);
    } else if (d->input || d->format || d->text_column || d->label_column || d->domain_column || d->split_column ||
               d->ood_domains) {
        return sp_fail(SP_ERR_USAGE, "%s: dataset.input/format/*_column/ood_domains apply only to source 'table'", path);
    }

    if (!c->linear && !c->encoder)
        return sp_fail(SP_ERR_USAGE, "%s: nothing to train: add a 'linear' or an 'encoder' section", path);

    if (c->linear) {
        sp_cfg_linear *l = c->linear;
        if (l->seeds->count == 0) return sp_fail(SP_ERR_USAGE, "%s: linear.seeds.count is 0: the seed range is empty", path);
        DEFAULT_STR(l->optimizer, "sgd");
        static const char *const optimizers[] = {"sgd", "adamw"};
        if (!config_one_of(l->optimizer, optimizers, 2))
            return sp_fail(SP_ERR_USAGE, "%s: linear.optimizer '%s' is not one of sgd, adamw", path, l->optimizer);
        DEFAULT_STR(l->lr_schedule, "optimal");
        static const char *const schedules[] = {"optimal", "linear", "constant"};
        if (!config_one_of(l->lr_schedule, schedules, 3))
            return sp_fail(SP_ERR_USAGE, "%s: linear.lr_schedule '%s' is not one of optimal, linear, constant", path,
                           l->lr_schedule);
        DEFAULT_NUM(l->epochs, uint64_t, 5);
        DEFAULT_NUM(l->batch, uint64_t, 1);
        DEFAULT_NUM(l->bits, uint64_t, 18);
        DEFAULT_NUM(l->lr, double, 0.05);
        DEFAULT_NUM(l->init_std, double, 0.0);
        DEFAULT_NUM(l->exact, bool, true);
        DEFAULT_NUM(l->bootstrap, bool, false);
        static const double l2_default[] = {1e-4};
        sp_status st = config_default_list(&l->l2, &l->l2_count, l2_default, 1);
        if (st != SP_OK) return st;
        if (*l->epochs < 1 || *l->batch < 1) return sp_fail(SP_ERR_USAGE, "%s: linear.epochs and linear.batch must be >= 1", path);
        if (*l->bits < 8 || *l->bits > 28) return sp_fail(SP_ERR_USAGE, "%s: linear.bits must be in [8, 28]", path);
        if (!(*l->lr > 0)) return sp_fail(SP_ERR_USAGE, "%s: linear.lr must be > 0", path);
        if (!(*l->init_std >= 0) || !isfinite(*l->init_std))
            return sp_fail(SP_ERR_USAGE, "%s: linear.init_std must be a finite number >= 0", path);
        for (unsigned i = 0; i < l->l2_count; i++)
            if (!(l->l2[i] >= 0) || !isfinite(l->l2[i]))
                return sp_fail(SP_ERR_USAGE, "%s: linear.l2[%u] must be a finite number >= 0", path, i);
            else if (strcmp(l->lr_schedule, "optimal") == 0 && !(l->l2[i] > 0 && l->l2[i] < 2))
                return sp_fail(SP_ERR_USAGE, "%s: linear.l2[%u] = %g: lr_schedule optimal needs 0 < l2 < 2 "
                                             "(or choose lr_schedule linear or constant)", path, i, l->l2[i]);
    }

    if (c->encoder) {
        sp_cfg_encoder *e = c->encoder;
        static const char *const variants[] = {"finetune", "joint", "joint-nosplit", "scratch", "probe"};
        for (unsigned i = 0; i < e->variants_count; i++) {
            if (!config_one_of(e->variants[i], variants, 5))
                return sp_fail(SP_ERR_USAGE, "%s: encoder.variants[%u] '%s' is not one of finetune, joint, joint-nosplit, "
                                             "scratch, probe", path, i, e->variants[i]);
            for (unsigned j = 0; j < i; j++)
                if (strcmp(e->variants[i], e->variants[j]) == 0)
                    return sp_fail(SP_ERR_USAGE, "%s: encoder.variants lists '%s' twice", path, e->variants[i]);
        }
        if (e->seeds->count == 0) return sp_fail(SP_ERR_USAGE, "%s: encoder.seeds.count is 0: the seed range is empty", path);
        if (!e->pretrain_seeds) {
            e->pretrain_seeds = malloc(sizeof *e->pretrain_seeds);
            if (!e->pretrain_seeds) return sp_fail(SP_ERR_NOMEM, "out of memory resolving %s", path);
            e->pretrain_seeds->first = 0;
            e->pretrain_seeds->count = 1;
        }
        if (e->pretrain_seeds->count == 0)
            return sp_fail(SP_ERR_USAGE, "%s: encoder.pretrain_seeds.count is 0: the seed range is empty", path);
        DEFAULT_NUM(e->vocab_size, uint64_t, 8192);
        DEFAULT_NUM(e->d_model, uint64_t, 128);
        DEFAULT_NUM(e->layers, uint64_t, 2);
        DEFAULT_NUM(e->heads, uint64_t, 4);
        DEFAULT_NUM(e->ffn, uint64_t, 512);
        DEFAULT_NUM(e->max_len, uint64_t, 128);
        DEFAULT_NUM(e->batch, uint64_t, 32);
        DEFAULT_NUM(e->pretrain_epochs, uint64_t, 2);
        DEFAULT_NUM(e->epochs, uint64_t, 3);
        DEFAULT_NUM(e->patience, uint64_t, 2);
        DEFAULT_NUM(e->dropout, double, 0.1);
        DEFAULT_NUM(e->lr, double, 1e-3);
        DEFAULT_NUM(e->weight_decay, double, 0.01);
        DEFAULT_NUM(e->mlm_lambda, double, 1.0);
        static const char *const poolings[] = {"cls", "mean"};
        sp_status st = config_default_strings(&e->activation_poolings, &e->activation_poolings_count, poolings, 2);
        if (st != SP_OK) return st;
        for (unsigned i = 0; i < e->activation_poolings_count; i++)
            if (!config_one_of(e->activation_poolings[i], poolings, 2))
                return sp_fail(SP_ERR_USAGE, "%s: encoder.activation_poolings[%u] '%s' is not one of cls, mean", path, i,
                               e->activation_poolings[i]);
        if (*e->vocab_size < 261)
            return sp_fail(SP_ERR_USAGE, "%s: encoder.vocab_size must be >= 261 (5 special + 256 byte tokens)", path);
        if (*e->d_model < 1 || *e->heads < 1 || *e->d_model % *e->heads != 0)
            return sp_fail(SP_ERR_USAGE, "%s: encoder.heads (%llu) must divide encoder.d_model (%llu)", path,
                           (unsigned long long)*e->heads, (unsigned long long)*e->d_model);
        if (*e->layers < 1 || *e->ffn < 1 || *e->max_len < 4 || *e->batch < 1 || *e->epochs < 1)
            return sp_fail(SP_ERR_USAGE, "%s: encoder.layers, ffn, batch and epochs must be >= 1 and max_len >= 4", path);
        if (!(*e->dropout >= 0 && *e->dropout < 1)) return sp_fail(SP_ERR_USAGE, "%s: encoder.dropout must be in [0, 1)", path);
        if (!(*e->lr > 0)) return sp_fail(SP_ERR_USAGE, "%s: encoder.lr must be > 0", path);
        if (!(*e->mlm_lambda >= 0)) return sp_fail(SP_ERR_USAGE, "%s: encoder.mlm_lambda must be >= 0", path);
    }

    if (!c->analysis) {
        c->analysis = calloc(1, sizeof *c->analysis);
        if (!c->analysis) return sp_fail(SP_ERR_NOMEM, "out of memory resolving %s", path);
    }
    sp_cfg_analysis *a = c->analysis;
    /* 20 epsilons from 1e-3 to 1 on a log grid: Rashomon-set growth is roughly logarithmic in epsilon. */
    double grid[20];
    for (int i = 0; i < 20; i++) grid[i] = pow(10.0, -3.0 + 3.0 * i / 19.0);
    sp_status st = config_default_list(&a->eps, &a->eps_count, grid, 20);
    if (st != SP_OK) return st;
    for (unsigned i = 0; i < a->eps_count; i++)
        if (!(a->eps[i] >= 0) || !isfinite(a->eps[i]))
            return sp_fail(SP_ERR_USAGE, "%s: analysis.eps[%u] must be a finite number >= 0", path, i);
    DEFAULT_NUM(a->bootstrap, uint64_t, 1000);
    DEFAULT_NUM(a->seed, uint64_t, 0);
    DEFAULT_NUM(a->top, uint64_t, 10);
    return SP_OK;
}

/* ---------------------------------------------------------------- load / save */

/* libcyaml locates a bad key by its enclosing mapping only; find the 1-based line where `key` first
 * appears as a mapping key so the message points at the offending line. 0 if not found. */
static unsigned config_key_line(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    unsigned number = 0, found = 0;
    size_t klen = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        number++;
        /* A key starts a line (after indentation or "- ") or follows '{' / ',' in a flow mapping. */
        for (char *p = line; *p && *p != '#'; p++) {
            int at_key_start = p == line || p[-1] == ' ' || p[-1] == '{' || p[-1] == ',' || p[-1] == '\t';
            if (at_key_start && strncmp(p, key, klen) == 0) {
                char *q = p + klen;
                while (*q == ' ') q++;
                if (*q == ':') {
                    found = number;
                    break;
                }
            }
        }
    }
    fclose(f);
    return found;
}

sp_status sp_sweep_config_load(const char *path, sp_sweep_config **out)
{
    *out = NULL;
    if (access(path, R_OK) != 0) return sp_fail(SP_ERR_INPUT, "cannot read config %s: %s", path, strerror(errno));
    config_log log = {{0}};
    cyaml_config_t c = config_cyaml(&log);
    sp_sweep_config *cfg = NULL;
    cyaml_err_t err = cyaml_load_file(path, &c, &config_schema, (cyaml_data_t **)&cfg, NULL);
    if (err != CYAML_OK) {
        const char *unexpected = strstr(log.text, "Unexpected key: ");
        if (unexpected) {
            char key[128];
            if (sscanf(unexpected + 16, "%127[^;( ]", key) == 1) {
                unsigned line = config_key_line(path, key);
                if (line)
                    return sp_fail(SP_ERR_USAGE, "%s:%u: unknown key '%s' (%s); see docs/sweeps.md for the keys",
                                   path, line, key, log.text);
            }
        }
        return sp_fail(SP_ERR_USAGE, "%s: %s%s%s", path, cyaml_strerror(err), log.text[0] ? ": " : "", log.text);
    }
    sp_status st = config_resolve(cfg, path);
    if (st != SP_OK) {
        sp_sweep_config_free(cfg);
        return st;
    }
    *out = cfg;
    return SP_OK;
}

/* ---------------------------------------------------------------- writing */

/* Shortest decimal text that strtod reads back as x exactly ("%.{1..17}g", the first that round-trips),
 * with ".0" added when it would otherwise read as an integer ("1" -> "1.0"). */
static void float_shortest(char *buf, size_t cap, double x)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, x);
        if (strtod(buf, NULL) == x) break;
    }
    if (!strpbrk(buf, ".eEni")) strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* Is v[0..n) exactly a float as libcyaml 1.3 writes it ("%.16e": -?D.DDDDDDDDDDDDDDDDe[+-]DD[D])? */
static int is_cyaml_float(const char *v, size_t n)
{
    size_t i = 0;
    if (i < n && v[i] == '-') i++;
    if (i + 2 > n || v[i] < '0' || v[i] > '9' || v[i + 1] != '.') return 0;
    i += 2;
    for (int k = 0; k < 16; k++, i++)
        if (i >= n || v[i] < '0' || v[i] > '9') return 0;
    if (i + 2 > n || v[i] != 'e' || (v[i + 1] != '+' && v[i + 1] != '-')) return 0;
    i += 2;
    size_t digits = n - i;
    if (digits < 2 || digits > 3) return 0;
    for (; i < n; i++)
        if (v[i] < '0' || v[i] > '9') return 0;
    return 1;
}

/* Copies the block-style YAML raw[0..len) to a new string in which every plain scalar value (after "key: "
 * or "- ", to the end of its line) written in libcyaml's "%.16e" float form is replaced by its shortest
 * round-trip form (2.0000000000000001e-01 -> 0.2). NULL if out of memory. */
static char *floats_shorten(const char *raw, size_t len)
{
    char *out = malloc(len + 1); /* the shortest form is never longer */
    if (!out) return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        const char *nl = memchr(raw + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - raw) : len;
        /* Value start: after the first ": " of the line, or after a leading "- ". */
        size_t v = i;
        while (v < e && raw[v] == ' ') v++;
        if (v + 1 < e && raw[v] == '-' && raw[v + 1] == ' ') v += 2;
        else {
            const char *colon = NULL;
            for (size_t k = v; k + 1 < e; k++)
                if (raw[k] == ':' && raw[k + 1] == ' ') { colon = raw + k; break; }
            v = colon ? (size_t)(colon - raw) + 2 : e;
        }
        memcpy(out + o, raw + i, v - i);
        o += v - i;
        if (v < e && is_cyaml_float(raw + v, e - v)) {
            char buf[40];
            float_shortest(buf, sizeof buf, strtod(raw + v, NULL));
            memcpy(out + o, buf, strlen(buf));
            o += strlen(buf);
        } else {
            memcpy(out + o, raw + v, e - v);
            o += e - v;
        }
        if (nl) out[o++] = '\n';
        i = nl ? e + 1 : len;
    }
    out[o] = '\0';
    return out;
}

/* libcyaml's own text of cfg (malloc'ed with cyaml_mem; caller frees it with cyaml_mem(NULL, raw, 0)). */
static sp_status config_emit(const sp_sweep_config *cfg, char **raw, size_t *len)
{
    config_log log = {{0}};
    cyaml_config_t c = config_cyaml(&log);
    c.flags |= CYAML_CFG_STYLE_BLOCK;
    *raw = NULL;
    *len = 0;
    cyaml_err_t err = cyaml_save_data(raw, len, &c, &config_schema, cfg, 0);
    if (err != CYAML_OK)
        return sp_fail(SP_ERR_STATE, "cannot serialise the sweep configuration: %s %s", cyaml_strerror(err), log.text);
    return SP_OK;
}

/* 1 if text parses (schema only, no defaults) to a configuration that libcyaml writes as exactly want. */
static int config_text_reads_as(const char *text, const char *want, size_t want_len)
{
    config_log log = {{0}};
    cyaml_config_t c = config_cyaml(&log);
    sp_sweep_config *back = NULL;
    if (cyaml_load_data((const uint8_t *)text, strlen(text), &c, &config_schema, (cyaml_data_t **)&back, NULL) !=
        CYAML_OK)
        return 0;
    char *raw = NULL;
    size_t len = 0;
    int same = config_emit(back, &raw, &len) == SP_OK && len == want_len && memcmp(raw, want, len) == 0;
    cyaml_mem(NULL, raw, 0);
    cyaml_free(&c, &config_schema, back, 0);
    return same;
}

sp_status sp_sweep_config_text(const sp_sweep_config *cfg, char **text)
{
    char *raw = NULL;
    size_t len = 0;
    sp_status st = config_emit(cfg, &raw, &len);
    if (st != SP_OK) return st;
    *text = floats_shorten(raw, len);
    /* The short floats must read back to the very same doubles (and nothing else may have changed); if
     * they did not, libcyaml's own 17-digit text is kept. */
    if (*text && !config_text_reads_as(*text, raw, len)) {
        free(*text);
        *text = malloc(len + 1);
        if (*text) {
            memcpy(*text, raw, len);
            (*text)[len] = '\0';
        }
    }
    cyaml_mem(NULL, raw, 0);
    if (!*text) return sp_fail(SP_ERR_NOMEM, "out of memory serialising the sweep configuration");
    return SP_OK;
}

sp_status sp_sweep_config_save(const sp_sweep_config *cfg, const char *path)
{
    char *text = NULL;
    sp_status st = sp_sweep_config_text(cfg, &text);
    if (st != SP_OK) return st;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        st = sp_fail(SP_ERR_IO, "cannot write %s: %s; check that the run directory is writable", tmp, strerror(errno));
        free(text);
        return st;
    }
    fputs("# Resolved sweep configuration: every default filled in. Written by splinter sweep.\n", f);
    fputs(text, f);
    free(text);
    if (ferror(f) | (fclose(f) != 0)) {
        unlink(tmp);
        return sp_fail(SP_ERR_IO, "cannot write %s (disk full?)", tmp);
    }
    if (rename(tmp, path) != 0) {
        st = sp_fail(SP_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return st;
    }
    return SP_OK;
}
