/* dataset.h: the canonical labelled text data set every importer produces and every trainer reads.
 *
 * One record = text (UTF-8, NUL-terminated), integer label, domain (an ID or OOD group), split, source id.
 * Stored as dataset.h5 (layout and the content-hash serialisation in docs/datasets.md), read back
 * bit-identically.
 *
 *     sp_dataset *ds = NULL;
 *     if (sp_dataset_load("run/dataset.h5", &ds) != SP_OK) ...;
 *     sp_split_view *views; size_t nv;
 *     sp_dataset_split_views(ds, &views, &nv);   // "train", "val", "test", "ood-<domain>", ...
 *     ...; sp_split_views_free(views, nv); sp_dataset_free(ds);
 */
#ifndef SPLINTER_DATASET_H
#define SPLINTER_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum { SP_SPLIT_TRAIN = 0, SP_SPLIT_VAL = 1, SP_SPLIT_TEST = 2, SP_SPLIT_OOD = 3 } sp_split;

#define SP_NAME_MAX 64

typedef struct {
    size_t n;               /* number of records */
    char **text;            /* [n] UTF-8 text, owned */
    int32_t *label;         /* [n] 0 .. n_classes-1 */
    int32_t *domain;        /* [n] 0 .. n_domains-1 */
    uint8_t *split;         /* [n] sp_split; OOD domains are always SP_SPLIT_OOD */
    char **source_id;       /* [n] id in the source (file name, line number), owned */
    int n_classes;
    char **class_names;     /* [n_classes], owned */
    int n_domains;
    char **domain_names;    /* [n_domains], owned */
    uint8_t *domain_is_ood; /* [n_domains] */
    char name[SP_NAME_MAX]; /* "spam-assassin", "imdb", or the user's */
    char content_hash[65];  /* SHA-256 (hex) of the records, computed by sp_dataset_hash */
    uint64_t data_seed;     /* the seed the ID splits were drawn with */
    char *provenance_json;  /* importer, source package and version, options: owned JSON text */
} sp_dataset;

/* One evaluation split: a name and the dataset rows in it, in dataset order. */
typedef struct {
    char name[SP_NAME_MAX]; /* "train", "val", "test", or "ood-<domain name>" */
    size_t n;
    size_t *rows;           /* [n] indices into the dataset, owned */
} sp_split_view;

/* An empty data set with n records (all fields zeroed, arrays allocated); NULL on allocation failure. */
sp_dataset *sp_dataset_alloc(size_t n);
void sp_dataset_free(sp_dataset *ds);

/* Assigns train/val/test to the records of ID domains, stratified by (domain, label), shuffled by
 * data_seed; records of OOD domains get SP_SPLIT_OOD. Fractions must be in (0,1) with val+test < 1. */
sp_status sp_dataset_assign_splits(sp_dataset *ds, uint64_t data_seed, double val_fraction, double test_fraction);

/* Computes ds->content_hash over the class names, domain names and OOD flags, and every record's text,
 * label, domain and split (byte serialisation in docs/datasets.md); validates the data set first. */
sp_status sp_dataset_hash(sp_dataset *ds);

/* The same hash into `hex` (64 hex digits + NUL) without touching ds. */
sp_status sp_dataset_compute_hash(const sp_dataset *ds, char hex[65]);

/* Checks the invariants: every record has text and source id, labels in 0..n_classes-1, domains in
 * 0..n_domains-1, split SP_SPLIT_OOD exactly for records of OOD domains. SP_ERR_STATE naming `what` and
 * the first broken record. */
sp_status sp_dataset_validate(const sp_dataset *ds, const char *what);

/* Longest domain name: "ood-<name>" must fit in an sp_split_view name. */
#define SP_DOMAIN_NAME_MAX (SP_NAME_MAX - 5)

/* Writes dataset.h5 to `path` (through `path`.tmp, renamed when complete). ds->content_hash must be set
 * (sp_dataset_hash) and match the records. */
sp_status sp_dataset_save(const sp_dataset *ds, const char *path);

/* Reads a dataset.h5 written by sp_dataset_save; verifies the stored content hash and the invariants.
 * SP_ERR_INPUT naming the file if it is not a complete splinter data set or was modified. */
sp_status sp_dataset_load(const char *path, sp_dataset **out);

/* The evaluation splits of a data set in a fixed order: train, val, test, then ood-<domain> for each OOD
 * domain in domain order. Empty splits are omitted. */
sp_status sp_dataset_split_views(const sp_dataset *ds, sp_split_view **views, size_t *n_views);
void sp_split_views_free(sp_split_view *views, size_t n_views);

/* Quantiles p[0..k) (each in [0,1]) of the UTF-8 byte lengths of the texts of rows[0..n) (rows NULL: the
 * first n records), linear interpolation between order statistics (numpy's default). SP_ERR_USAGE if n = 0. */
sp_status sp_dataset_length_quantiles(double *out, const sp_dataset *ds, const size_t *rows, size_t n,
                                      const double *p, size_t k);

#endif
