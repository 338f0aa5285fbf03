/* concepts.h: user-given concepts for probe-level splintering: a word-list file and the binary target of
 * each concept on each input text (docs/splintering.md, "Concept probes").
 *
 * File format (UTF-8 or ASCII text, one concept per line):
 *     # a comment line (a '#' as the first non-blank character); blank lines are ignored
 *     money: cash dollars $ price
 *     unsubscribe: unsubscribe remove opt-out
 * A concept line is NAME ':' WORD... : NAME is 1-48 characters of [A-Za-z0-9_.-], unique in the file; the
 * words (at least one, each at most 64 bytes, none repeated within the concept) are separated by blanks.
 * An input has the concept when its text contains any of the words: ASCII case folded, and not inside a
 * longer run of ASCII letters and digits (where a word begins with a letter or digit, the text character
 * before it must not be one; likewise where it ends). Non-ASCII bytes compare exactly.
 *
 *     sp_concept_list *c = NULL;
 *     if (sp_concepts_load(&c, "experiments/spam-concepts.txt") != SP_OK) return ...; // "file:line: ..."
 *     uint8_t *t = malloc(c->n * n_texts);
 *     sp_concepts_match(t, c, texts, n_texts);   // t[k * n_texts + i]: text i has concept k
 *     sp_concepts_free(c);
 */
#ifndef SPLINTER_CONCEPTS_H
#define SPLINTER_CONCEPTS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SP_CONCEPT_NAME_MAX 48
#define SP_CONCEPT_WORD_MAX 64
#define SP_CONCEPTS_MAX 256

typedef struct {
    char name[SP_CONCEPT_NAME_MAX + 1];
    char **words;   /* [n_words], ASCII-lowercased */
    size_t n_words;
    size_t line;    /* 1-based line of the definition */
} sp_concept;

typedef struct {
    sp_concept *concepts; /* [n], file order */
    size_t n;
} sp_concept_list;

/* Reads and parses a word-list file. SP_ERR_INPUT "path:line: <what>; <what to do>" on a line without ':',
 * a bad or repeated name, a concept without words, a repeated or over-long word, more than SP_CONCEPTS_MAX
 * concepts, or a file with no concept; SP_ERR_IO when it cannot be read. */
sp_status sp_concepts_load(sp_concept_list **out, const char *path);

/* The same for text[0..len) (which need not be NUL-terminated); `name` stands for the file in messages. */
sp_status sp_concepts_parse(sp_concept_list **out, const char *text, size_t len, const char *name);

void sp_concepts_free(sp_concept_list *c);

/* targets [c->n][n_texts]: 1 when text i has concept k (a NULL text has none). */
sp_status sp_concepts_match(uint8_t *targets, const sp_concept_list *c, const char *const *texts, size_t n_texts);

/* 1 when `text` has `concept`. */
int sp_concept_in_text(const sp_concept *concept, const char *text);

#endif
