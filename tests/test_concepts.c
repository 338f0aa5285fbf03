/* test_concepts.c: the concept word-list format (analysis/concepts.h): parsing, every error with its
 * file:line message, and the matching rule (ASCII case folding, whole words on ASCII letter/digit
 * boundaries, words with punctuation at an edge). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concepts.h"

static sp_concept_list *parse_ok(const char *text)
{
    sp_concept_list *c = NULL;
    assert_int_equal(sp_concepts_parse(&c, text, strlen(text), "words.txt"), SP_OK);
    return c;
}

static void test_parse_format(void **state)
{
    (void)state;
    sp_concept_list *c = parse_ok("\xEF\xBB\xBF# spam concepts\n\n  money: Cash  dollars\t$\r\n"
                                  "   # indented comment\nlinks:http www.\nopt-out.v2 : Unsubscribe");
    assert_int_equal(c->n, 3);
    assert_string_equal(c->concepts[0].name, "money");
    assert_int_equal(c->concepts[0].line, 3);
    assert_int_equal(c->concepts[0].n_words, 3);
    assert_string_equal(c->concepts[0].words[0], "cash"); /* lowercased */
    assert_string_equal(c->concepts[0].words[2], "$");
    assert_string_equal(c->concepts[1].name, "links");
    assert_int_equal(c->concepts[1].line, 5);
    assert_string_equal(c->concepts[2].name, "opt-out.v2");
    assert_string_equal(c->concepts[2].words[0], "unsubscribe");
    assert_int_equal(c->concepts[2].line, 6);
    sp_concepts_free(c);
}

static void expect_error(const char *text, const char *message)
{
    sp_concept_list *c = NULL;
    assert_int_equal(sp_concepts_parse(&c, text, strlen(text), "words.txt"), SP_ERR_INPUT);
    assert_null(c);
    if (!strstr(sp_error_message(), message)) fail_msg("message '%s' lacks '%s'", sp_error_message(), message);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("money: cash\nno colon here\n", "words.txt:2: no ':' after the concept name");
    expect_error("money: cash\n\n money : dollars\n", "words.txt:3: concept 'money' is already defined on line 1");
    expect_error("# c\nmoney:   \n", "words.txt:2: concept 'money' has no words");
    expect_error(": cash\n", "words.txt:1: empty concept name");
    expect_error("big money: cash\n", "words.txt:1: concept name 'big money' has character ' '");
    expect_error("money: cash CASH\n", "words.txt:1: word 'cash' appears twice in concept 'money'");
    expect_error("# only comments\n\n", "words.txt: no concept defined");
    expect_error("", "words.txt: no concept defined");
    char longword[200] = "x: ";
    memset(longword + 3, 'a', 70);
    expect_error(longword, "words.txt:1: a word of concept 'x' is longer than 64 bytes");
    sp_concept_list *c = NULL;
    assert_int_equal(sp_concepts_load(&c, "no-such-concepts.txt"), SP_ERR_IO);
    assert_non_null(strstr(sp_error_message(), "no-such-concepts.txt"));
}

static void test_match_rule(void **state)
{
    (void)state;
    sp_concept_list *c = parse_ok("money: cash $ free\nlinks: http www. click-here\nunsub: unsubscribe\n");
    const char *texts[] = {
        "Get CASH now",                 /* 0: money (case folded) */
        "cashier wanted",               /* 1: none: 'cash' inside a longer word */
        "only $5 today",                /* 2: money: '$' has no letter edge to check */
        "Free!!! see http://x.org",     /* 3: money, links */
        "visit WWW.example.com",        /* 4: links ('www.' ends in '.', so the next letter is fine) */
        "you unsubscribed, freely",     /* 5: none: 'unsubscribed', 'freely' */
        "To UNSUBSCRIBE: reply",        /* 6: unsub */
        "Click-Here for 1cash",         /* 7: links; '1cash' has a digit before 'cash' */
        "caf\xC3\xA9 free_stuff",       /* 8: money: '_' is not a letter or digit */
        NULL,                           /* 9: none */
    };
    enum { N = 10 };
    uint8_t t[3 * N];
    assert_int_equal(sp_concepts_match(t, c, texts, N), SP_OK);
    const uint8_t want[3][N] = {{1, 0, 1, 1, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 1, 1, 0, 0, 1, 0, 0}, {0, 0, 0, 0, 0, 0, 1, 0, 0, 0}};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < N; i++) {
            if (t[k * N + i] != want[k][i]) fail_msg("concept %d text %d: got %d", k, i, t[k * N + i]);
            assert_int_equal(sp_concept_in_text(&c->concepts[k], texts[i]), want[k][i]);
        }
    sp_concepts_free(c);
}

static void test_shipped_spam_concepts_parse(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/experiments/spam-concepts.txt", getenv("SPLINTER_SRC"));
    sp_concept_list *c = NULL;
    assert_int_equal(sp_concepts_load(&c, path), SP_OK);
    assert_true(c->n >= 6);
    sp_concepts_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_match_rule),
        cmocka_unit_test(test_shipped_spam_concepts_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
