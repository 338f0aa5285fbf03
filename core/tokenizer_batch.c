/* tokenizer_batch.c: the tokenizer over a whole data set: training on its training split and encoding
 * many texts into one fixed-width id matrix, in parallel over texts. */
#include <stdlib.h>

#include "dataset.h"
#include "tokenizer.h"

sp_status sp_tokenizer_train_split(const sp_dataset *ds, const sp_tokenizer_options *opt, sp_tokenizer **out)
{
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++) n += ds->split[i] == SP_SPLIT_TRAIN;
    if (n == 0)
        return sp_fail(SP_ERR_INPUT, "data set %s has no training records; assign splits before training the "
                       "tokenizer", ds->name);
    const char **texts = malloc(n * sizeof *texts);
    if (!texts) return sp_fail(SP_ERR_NOMEM, "tokenizer: out of memory for %zu training texts", n);
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->split[i] == SP_SPLIT_TRAIN) texts[k++] = ds->text[i];
    sp_status st = sp_tokenizer_train(texts, n, opt, out);
    free(texts);
    if (st != SP_OK) return sp_fail_context(st, "training the tokenizer on %s", ds->name);
    return SP_OK;
}

sp_status sp_tokenizer_encode_fixed_batch(const sp_tokenizer *t, const char *const *texts, size_t n, int max_len,
                                          int32_t *ids, int32_t *lengths)
{
    if (max_len < 2)
        return sp_fail(SP_ERR_USAGE, "tokenizer: max_len %d leaves no room for [CLS] and [SEP]; use >= 2",
                       max_len);
    /* each text writes only its own row: no shared state, same ids for any thread count */
#pragma omp parallel for schedule(dynamic, 16)
    for (long i = 0; i < (long)n; i++) {
        int m = sp_tokenizer_encode_fixed(t, texts[i], max_len, ids + (size_t)i * (size_t)max_len);
        if (lengths) lengths[i] = m;
    }
    return SP_OK;
}
