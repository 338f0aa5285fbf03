/* concepts.c: the concept word-list parser and matcher (see concepts.h for the format and the rule). */
#include "concepts.h"

#include "fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static int is_alnum_ascii(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static int is_name_char(char c) { return is_alnum_ascii((unsigned char)c) || c == '_' || c == '.' || c == '-'; }

void sp_concepts_free(sp_concept_list *c)
{
    if (!c) return;
    for (size_t k = 0; k < c->n; k++) {
        for (size_t w = 0; w < c->concepts[k].n_words; w++) free(c->concepts[k].words[w]);
        free(c->concepts[k].words);
    }
    free(c->concepts);
    free(c);
}

/* Parses one concept line s[0..len) (no newline) into *out. */
static sp_status parse_line(sp_concept *out, const char *s, size_t len, const char *name, size_t line,
                            const sp_concept_list *seen)
{
    memset(out, 0, sizeof *out);
    out->line = line;
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return sp_fail(SP_ERR_INPUT, "%s:%zu: no ':' after the concept name; write 'name: word word ...' (or start "
                                     "a comment with '#')", name, line);
    size_t a = 0, b = (size_t)(colon - s);
    while (a < b && is_blank(s[a])) a++;
    while (b > a && is_blank(s[b - 1])) b--;
    if (a == b) return sp_fail(SP_ERR_INPUT, "%s:%zu: empty concept name before ':'; name the concept", name, line);
    if (b - a > SP_CONCEPT_NAME_MAX)
        return sp_fail(SP_ERR_INPUT, "%s:%zu: concept name longer than %d characters; shorten it", name, line,
                       SP_CONCEPT_NAME_MAX);
    for (size_t i = a; i < b; i++)
        if (!is_name_char(s[i]))
            return sp_fail(SP_ERR_INPUT, "%s:%zu: concept name '%.*s' has character '%c'; use letters, digits, '_', "
                                         "'.' and '-'", name, line, (int)(b - a), s + a, s[i]);
    memcpy(out->name, s + a, b - a);
    out->name[b - a] = '\0';
    for (size_t k = 0; k < seen->n; k++)
        if (strcmp(seen->concepts[k].name, out->name) == 0)
            return sp_fail(SP_ERR_INPUT, "%s:%zu: concept '%s' is already defined on line %zu; merge the two lines",
                           name, line, out->name, seen->concepts[k].line);
    sp_status st = SP_OK;
    for (size_t i = (size_t)(colon - s) + 1; i < len && st == SP_OK;) {
        while (i < len && is_blank(s[i])) i++;
        size_t j = i;
        while (j < len && !is_blank(s[j])) j++;
        if (j == i) break;
        if (j - i > SP_CONCEPT_WORD_MAX) {
            st = sp_fail(SP_ERR_INPUT, "%s:%zu: a word of concept '%s' is longer than %d bytes; shorten it", name, line,
                         out->name, SP_CONCEPT_WORD_MAX);
            break;
        }
        char *w = malloc(j - i + 1);
        char **grown = realloc(out->words, (out->n_words + 1) * sizeof *grown);
        if (!w || !grown) {
            free(w);
            if (grown) out->words = grown;
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", name);
            break;
        }
        out->words = grown;
        for (size_t t = 0; t < j - i; t++) w[t] = lower_ascii(s[i + t]);
        w[j - i] = '\0';
        for (size_t t = 0; t < out->n_words && st == SP_OK; t++)
            if (strcmp(out->words[t], w) == 0)
                st = sp_fail(SP_ERR_INPUT, "%s:%zu: word '%s' appears twice in concept '%s' (words match without "
                                           "case); remove one", name, line, w, out->name);
        if (st != SP_OK) {
            free(w);
            break;
        }
        out->words[out->n_words++] = w;
        i = j;
    }
    if (st == SP_OK && out->n_words == 0)
        st = sp_fail(SP_ERR_INPUT, "%s:%zu: concept '%s' has no words; list them after the ':'", name, line, out->name);
    if (st != SP_OK) {
        for (size_t t = 0; t < out->n_words; t++) free(out->words[t]);
        free(out->words);
        out->words = NULL;
        out->n_words = 0;
    }
    return st;
}

sp_status sp_concepts_parse(sp_concept_list **out, const char *text, size_t len, const char *name)
{
    *out = NULL;
    sp_concept_list *c = calloc(1, sizeof *c);
    if (!c) return sp_fail(SP_ERR_NOMEM, "out of memory reading %s", name);
    sp_status st = SP_OK;
    size_t line = 0;
    for (size_t pos = 0; pos < len && st == SP_OK;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        const char *s = text + pos;
        size_t n = end - pos, i = 0;
        pos = end + 1;
        if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3; /* a UTF-8 byte-order mark */
        while (i < n && is_blank(s[i])) i++;
        if (i == n || s[i] == '#') continue;
        if (memchr(s, '\0', n)) {
            st = sp_fail(SP_ERR_INPUT, "%s:%zu: line has a NUL byte; is this a text file?", name, line);
            break;
        }
        if (c->n == SP_CONCEPTS_MAX) {
            st = sp_fail(SP_ERR_INPUT, "%s:%zu: more than %d concepts; split the file", name, line, SP_CONCEPTS_MAX);
            break;
        }
        sp_concept *grown = realloc(c->concepts, (c->n + 1) * sizeof *grown);
        if (!grown) {
            st = sp_fail(SP_ERR_NOMEM, "out of memory reading %s", name);
            break;
        }
        c->concepts = grown;
        if ((st = parse_line(&c->concepts[c->n], s + i, n - i, name, line, c)) == SP_OK) c->n++;
    }
    if (st == SP_OK && c->n == 0)
        st = sp_fail(SP_ERR_INPUT, "%s: no concept defined; write lines 'name: word word ...'", name);
    if (st != SP_OK) {
        sp_concepts_free(c);
        return st;
    }
    *out = c;
    return SP_OK;
}

sp_status sp_concepts_load(sp_concept_list **out, const char *path)
{
    *out = NULL;
    char *text;
    size_t len;
    sp_status st = sp_read_file(path, &text, &len);
    if (st != SP_OK) return st;
    st = sp_concepts_parse(out, text, len, path);
    free(text);
    return st;
}

/* 1 when lowercased text `low` has concept c (see the rule in concepts.h). */
static int concept_in_lower(const sp_concept *c, const char *low)
{
    for (size_t w = 0; w < c->n_words; w++) {
        const char *word = c->words[w];
        const size_t wl = strlen(word);
        const int check_before = is_alnum_ascii((unsigned char)word[0]);
        const int check_after = is_alnum_ascii((unsigned char)word[wl - 1]);
        for (const char *p = strstr(low, word); p; p = strstr(p + 1, word)) {
            if (check_before && p > low && is_alnum_ascii((unsigned char)p[-1])) continue;
            if (check_after && is_alnum_ascii((unsigned char)p[wl])) continue;
            return 1;
        }
    }
    return 0;
}

static char *lower_copy(const char *text)
{
    size_t n = strlen(text);
    char *low = malloc(n + 1);
    if (!low) return NULL;
    for (size_t i = 0; i <= n; i++) low[i] = lower_ascii(text[i]);
    return low;
}

int sp_concept_in_text(const sp_concept *concept, const char *text)
{
    if (!text) return 0;
    char *low = lower_copy(text);
    if (!low) return 0;
    int r = concept_in_lower(concept, low);
    free(low);
    return r;
}

sp_status sp_concepts_match(uint8_t *targets, const sp_concept_list *c, const char *const *texts, size_t n_texts)
{
    sp_status st = SP_OK;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < n_texts; i++) {
        char *low = texts[i] ? lower_copy(texts[i]) : NULL;
        if (texts[i] && !low) {
#pragma omp critical(concepts_nomem)
            st = SP_ERR_NOMEM;
            continue;
        }
        for (size_t k = 0; k < c->n; k++) targets[k * n_texts + i] = low ? (uint8_t)concept_in_lower(&c->concepts[k], low) : 0;
        free(low);
    }
    if (st != SP_OK) return sp_fail(st, "out of memory matching concepts on %zu texts", n_texts);
    return SP_OK;
}
