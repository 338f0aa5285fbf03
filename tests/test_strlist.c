/* test_strlist.c: growable string arrays: copies are appended in order, formatted lines are truncated at
 * 1023 bytes, the caller's buffer may change after a push, and freeing NULL is safe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "strlist.h"

static sp_status push_via_wrapper(char ***list, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_status st = sp_strlist_vpushf(list, n, fmt, ap);
    va_end(ap);
    return st;
}

static void test_push_order_and_copies(void **state)
{
    (void)state;
    char **list = NULL;
    size_t n = 0;
    char buf[16] = "first";
    assert_int_equal(sp_strlist_push(&list, &n, buf), SP_OK);
    strcpy(buf, "changed"); /* the list holds a copy */
    assert_int_equal(sp_strlist_pushf(&list, &n, "%s-%d", "second", 2), SP_OK);
    assert_int_equal(push_via_wrapper(&list, &n, "third %zu", (size_t)3), SP_OK);
    assert_int_equal(sp_strlist_push(&list, &n, ""), SP_OK);
    assert_int_equal(n, 4);
    assert_string_equal(list[0], "first");
    assert_string_equal(list[1], "second-2");
    assert_string_equal(list[2], "third 3");
    assert_string_equal(list[3], "");
    sp_strlist_free(list, n);
    sp_strlist_free(NULL, 0);
}

static void test_long_formatted_line_is_truncated(void **state)
{
    (void)state;
    char long_word[3000];
    memset(long_word, 'x', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    char **list = NULL;
    size_t n = 0;
    assert_int_equal(sp_strlist_pushf(&list, &n, "w=%s", long_word), SP_OK);
    assert_int_equal(strlen(list[0]), 1023);
    assert_memory_equal(list[0], "w=xxx", 5);
    assert_int_equal(sp_strlist_push(&list, &n, long_word), SP_OK); /* push copies whole strings */
    assert_int_equal(strlen(list[1]), 2999);
    sp_strlist_free(list, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_order_and_copies),
        cmocka_unit_test(test_long_formatted_line_is_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
