/* fuzz_concepts.c: libFuzzer target for the concept word-list parser and matcher. Any input must parse or
 * fail with a status (never crash or leak); a parsed list must hold valid names and non-empty lowercase
 * words, and matching the input itself as a text must not crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "concepts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_concept_list *c = NULL;
    if (sp_concepts_parse(&c, (const char *)data, size, "fuzz") != SP_OK) {
        if (c) abort(); /* nothing returned on failure */
        return 0;
    }
    if (c->n == 0 || c->n > SP_CONCEPTS_MAX) abort();
    for (size_t k = 0; k < c->n; k++) {
        const sp_concept *x = &c->concepts[k];
        if (x->name[0] == '\0' || strlen(x->name) > SP_CONCEPT_NAME_MAX || x->n_words == 0) abort();
        for (size_t w = 0; w < x->n_words; w++) {
            const size_t len = strlen(x->words[w]);
            if (len == 0 || len > SP_CONCEPT_WORD_MAX) abort();
            for (size_t i = 0; i < len; i++)
                if (x->words[w][i] >= 'A' && x->words[w][i] <= 'Z') abort();
        }
    }
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        const char *texts[1] = {text};
        uint8_t *t = malloc(c->n);
        if (t && sp_concepts_match(t, c, texts, 1) != SP_OK) abort();
        free(t);
        free(text);
    }
    sp_concepts_free(c);
    return 0;
}
