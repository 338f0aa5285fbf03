/* activations.h: loads one split's pooled layer activations of a set of model files, checked to be on the
 * same inputs, laid out so that one layer of all models can go straight to sp_similarity_all_pairs.
 *
 * Model files hold /activations/<split>/<layer>_<pooling> float32 [n, d] (docs/store.md); splits are "test"
 * (ID) and "ood-<domain>", layers "emb", "block0", "block1", ..., pooling "cls" or "mean".
 *
 *     sp_activation_set *s = NULL;
 *     if (sp_activations_load(&s, paths, M, "ood-spam-2", "cls", NULL, 0) != SP_OK) return ...;
 *     for (size_t l = 0; l < s->n_layers; l++)       // layer-major: M pointers per layer
 *         sp_similarity_all_pairs(cka + l * M * M, NULL, NULL, (const float *const *)s->acts + l * M,
 *                                 s->dims + l * M, M, s->n);
 *     sp_activations_free(s);
 */
#ifndef SPLINTER_ACTIVATIONS_H
#define SPLINTER_ACTIVATIONS_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct {
    size_t n_models, n_layers;
    size_t n;        /* inputs (rows) of the split, the same in every model */
    char *split;     /* e.g. "test" */
    char *pooling;   /* "cls" or "mean" */
    char **layers;   /* [n_layers] layer names in network order: "emb", "block0", "block1", ... */
    size_t *dims;    /* [n_layers * n_models] width of layer l of model m at l * n_models + m */
    float **acts;    /* [n_layers * n_models] float32 [n, dims[...]] row-major, same indexing */
    int64_t *rows;   /* [n] data-set row of each input (from /rows/<split>), or NULL if the files lack it */
} sp_activation_set;

/* Loads split/pooling activations of n_models files. layers NULL: every layer with that pooling found in
 * the first file (network order), which every other file must also have. Fails with SP_ERR_INPUT naming
 * the file and dataset when a file is missing a layer, the row counts differ, /rows/<split> differs
 * between files (they were not run on the same inputs), a dataset is not 2-D, or a value is NaN/Inf. */
sp_status sp_activations_load(sp_activation_set **out, const char *const *paths, size_t n_models, const char *split,
                              const char *pooling, const char *const *layers, size_t n_layers);

void sp_activations_free(sp_activation_set *s);

/* Network order of two layer names, as a comparison (< 0: x before y): "emb" first, then "block<k>" by k,
 * then any other name alphabetically. */
int sp_activations_layer_order(const char *x, const char *y);

/* Layers with the given pooling under /activations/<split> of an open model file, in network order
 * ("emb" first, then "block<k>" by k, then any other name alphabetically). Strings and array are
 * malloc'ed; free each and the array. */
sp_status sp_activations_list_layers(char ***layers, size_t *n_layers, hid_t file, const char *split,
                                     const char *pooling);

/* Splits with activations in an open model file ("test", "ood-..."), alphabetical; malloc'ed as above. */
sp_status sp_activations_list_splits(char ***splits, size_t *n_splits, hid_t file);

#endif
