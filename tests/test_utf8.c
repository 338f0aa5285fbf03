/* test_utf8.c: UTF-8 validation and repair, and charset conversion, against hand-computed cases and
 * against Python's strict decoder and codecs (tests/ref/utf8_ref.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seeds.h"
#include "text_test_util.h"
#include "utf8.h"

#define PREFIX(lit) sp_utf8_valid_prefix(lit, sizeof lit - 1)

static void test_valid_prefix_known_answers(void **state)
{
    (void)state;
    assert_int_equal(PREFIX(""), 0);
    assert_int_equal(PREFIX("plain ascii text, longer than eight bytes"), 41);
    assert_int_equal(PREFIX("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), 14);      /* é € U+1F600 */
    /* Range ends that are valid. */
    assert_int_equal(PREFIX("\xC2\x80"), 2);                                          /* U+0080 */
    assert_int_equal(PREFIX("\xED\x9F\xBF"), 3);                                      /* U+D7FF */
    assert_int_equal(PREFIX("\xEE\x80\x80"), 3);                                      /* U+E000 */
    assert_int_equal(PREFIX("\xEF\xBF\xBF"), 3);                                      /* U+FFFF */
    assert_int_equal(PREFIX("\xF4\x8F\xBF\xBF"), 4);                                  /* U+10FFFF */
    /* Overlong forms of '/' and of U+0800 / U+10000 boundaries. */
    assert_int_equal(PREFIX("ab\xC0\xAF"), 2);
    assert_int_equal(PREFIX("ab\xC1\xBF"), 2);
    assert_int_equal(PREFIX("ab\xE0\x80\xAF"), 2);
    assert_int_equal(PREFIX("ab\xE0\x9F\xBF"), 2);
    assert_int_equal(PREFIX("ab\xF0\x80\x80\xAF"), 2);
    assert_int_equal(PREFIX("ab\xF0\x8F\xBF\xBF"), 2);
    /* Lone surrogates (CESU-style encodings of U+D800 and U+DFFF). */
    assert_int_equal(PREFIX("x\xED\xA0\x80"), 1);
    assert_int_equal(PREFIX("x\xED\xBF\xBF"), 1);
    /* Above U+10FFFF, and bytes that never occur. */
    assert_int_equal(PREFIX("x\xF4\x90\x80\x80"), 1);
    assert_int_equal(PREFIX("x\xF5\x80\x80\x80"), 1);
    assert_int_equal(PREFIX("x\xFF"), 1);
    /* A lone continuation byte, and a sequence cut off by the end of the input or by ASCII. */
    assert_int_equal(PREFIX("0123456789\x80"), 10);
    assert_int_equal(PREFIX("euro \xE2\x82"), 5);
    assert_int_equal(PREFIX("euro \xE2\x82" "A"), 5);
    /* The length argument is respected: a valid sequence split by len is invalid. */
    assert_int_equal(sp_utf8_valid_prefix("\xC3\xA9", 1), 0);
    assert_int_equal(sp_utf8_sequence_length("\xF0\x9F\x98\x80", 4), 4);
    assert_int_equal(sp_utf8_sequence_length("\xF0\x9F\x98\x80", 3), 0);
}

static void assert_sanitized(const char *in, size_t n, const char *want, size_t want_len)
{
    char *out = NULL;
    size_t len = 99;
    assert_int_equal(sp_utf8_sanitize(in, n, &out, &len), SP_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(out, want, want_len);
    assert_int_equal(out[len], '\0');
    assert_int_equal(sp_utf8_valid_prefix(out, len), len);
    free(out);
}
#define SANITIZED(in, want) assert_sanitized(in, sizeof in - 1, want, sizeof want - 1)
#define FFFD "\xEF\xBF\xBD"

static void test_sanitize_known_answers(void **state)
{
    (void)state;
    SANITIZED("", "");
    SANITIZED("ok \xC3\xA9", "ok \xC3\xA9");
    SANITIZED("a\0b\0", "ab");                                  /* NUL bytes dropped */
    SANITIZED("P\xE1" "draig", "P" FFFD "draig");               /* Latin-1 byte in UTF-8 text */
    SANITIZED("\xC0\xAF", FFFD FFFD);                           /* overlong: one U+FFFD per byte */
    SANITIZED("\xED\xA0\x80!", FFFD FFFD FFFD "!");             /* lone surrogate */
    SANITIZED("\xE2\x82" "A", FFFD FFFD "A");                   /* truncated sequence */
    SANITIZED("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);         /* above U+10FFFF */
    SANITIZED("\x80\xF0\x9F\x98\x80", FFFD "\xF0\x9F\x98\x80"); /* stray continuation, then valid */
}

static void assert_converted(const char *charset, const char *in, size_t n, const char *want, size_t want_len)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(sp_charset_to_utf8(charset, in, n, &out, &len), SP_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
}
#define CONVERTED(cs, in, want) assert_converted(cs, in, sizeof in - 1, want, sizeof want - 1)

static void test_charset_known_answers(void **state)
{
    (void)state;
    CONVERTED("iso-8859-1", "caf\xE9", "caf\xC3\xA9");
    CONVERTED("ISO_8859-1", "\xFF", "\xC3\xBF");
    CONVERTED("latin1", "\xA3" "5", "\xC2\xA3" "5");
    CONVERTED("\"windows-1252\"", "\x93q\x94", "\xE2\x80\x9Cq\xE2\x80\x9D");  /* curly quotes */
    CONVERTED("cp1252", "\x80\x81", "\xE2\x82\xAC" FFFD);                     /* euro; 0x81 unassigned */
    CONVERTED("iso-8859-1", "it\x92s", "it\xE2\x80\x99s");                    /* read as windows-1252 */
    CONVERTED("iso-8859-15", "\xA4\xBD\xE9", "\xE2\x82\xAC\xC5\x93\xC3\xA9"); /* euro, oe, e-acute */
    CONVERTED("Latin9", "\xA4", "\xE2\x82\xAC");
    CONVERTED("iso-8859-1", "\xA4", "\xC2\xA4");                              /* currency sign in Latin-1 */
    CONVERTED("us-ascii", "plain\0", "plain");
    CONVERTED("UTF-8", "ok \xC3\xA9 \xE9", "ok \xC3\xA9 " FFFD);
    CONVERTED("utf8", "\xED\xA0\x80", FFFD FFFD FFFD);
    CONVERTED("x-unknown-charset", "\xE9\x80", "\xC3\xA9\xE2\x82\xAC");      /* unknown: windows-1252 */
    CONVERTED(NULL, "\xE9", "\xC3\xA9");
    CONVERTED("", "\xE9", "\xC3\xA9");
    CONVERTED("utf-8*en", "\xC3\xA9", "\xC3\xA9");                            /* RFC 2231 language suffix */
    CONVERTED("us-ascii", "\x93" "a", "\xE2\x80\x9C" "a");                    /* table, not iconv's ASCII */
}

/* Expected bytes are the UTF-8 of the text Python's codecs encoded into the input (see each comment). */
static void test_charset_iconv_known_answers(void **state)
{
    (void)state;
    CONVERTED("gb2312", "\xC4\xE3", "\xE4\xBD\xA0");                         /* U+4F60 */
    CONVERTED("GBK", "\xE9\x46", "\xE9\x95\x95");                            /* U+9555, GBK only */
    CONVERTED("gb2312", "\xE9\x46", "\xE9\x95\x95");                         /* gb2312 label read as GBK */
    CONVERTED("big5", "\xA4\xA4\xA4\xE5", "\xE4\xB8\xAD\xE6\x96\x87");     /* U+4E2D U+6587 */
    CONVERTED("koi8-r", "\xF0\xD2\xC9\xD7\xC5\xD4",
              "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");        /* Cyrillic "Privet" */
    CONVERTED("windows-1251", "\xC6\xE8\xE7\xED\xFC", "\xD0\x96\xD0\xB8\xD0\xB7\xD0\xBD\xD1\x8C");
    CONVERTED("x-cp1251", "\xC6", "\xD0\x96");                                  /* x- prefix dropped */
    CONVERTED("ks_c_5601-1987", "\xC7\xD1\xB1\xB9\xBE\xEE",
              "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4");                      /* Korean, as CP949 */
    CONVERTED("iso-2022-jp", "a\x1B\x24\x42\x46\x7C\x4B\x5C\x38\x6C\x1B\x28\x42" "b",
              "a\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E" "b");                   /* U+65E5 U+672C U+8A9E */
    CONVERTED("Shift_JIS", "\x83\x65\x83\x58\x83\x67\x5C\x7E",
              "\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88\x5C\x7E");             /* 0x5C, 0x7E stay ASCII */
    CONVERTED("x-sjis", "\x83\x65", "\xE3\x83\x86");
    CONVERTED("iso-8859-8-i", "\xF9\xEC\xE5\xED", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D");
    CONVERTED("iso-8859-9", "\xF0\xFD\xFE\x80", "\xC4\x9F\xC4\xB1\xC5\x9F\xE2\x82\xAC"); /* as cp1254 */
    CONVERTED("iso-8859-2", "\xB1\xE6", "\xC4\x85\xC4\x87");                  /* a-ogonek, c-acute */
    CONVERTED("koi8-r", "a\0b", "ab");                                         /* NUL dropped on this path too */
}

static void test_charset_invalid_bytes(void **state)
{
    (void)state;
    /* Each byte where the decoder stops becomes one U+FFFD; decoding resumes at the next byte, so the
     * ASCII byte after a bad lead byte survives. */
    CONVERTED("big5", "\xA4\xA4\xFF" "x\xA4\xE5", "\xE4\xB8\xAD" FFFD "x\xE6\x96\x87");
    CONVERTED("gb2312", "\xC4 A", FFFD " A");                                 /* lead + space: invalid pair */
    CONVERTED("gb2312", "\xC4" "A", "\xE8\x85\x81");                            /* but a GBK pair: U+8181 */
    CONVERTED("iso-2022-jp", "\x1B(I\x31\x1B(B", "\xEF\xBD\xB1");                /* JIS X 0201 katakana */
    CONVERTED("gb2312", "ok\xC4", "ok" FFFD);                                  /* cut off at the end */
    CONVERTED("shift_jis", "\xA0", FFFD);                                     /* unassigned in CP932 */
    CONVERTED("iso-2022-jp", "\x1B\x24\x42\x46", FFFD);                       /* half a character at the end */
    CONVERTED("iso-2022-jp", "\xE9z", FFFD "z");                              /* 8-bit byte in a 7-bit code */
    sp_charset_stats st = {0};
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_charset_append(&b, "big5", 4, "\xFF\xFF" "a", 3, 0, &st);
    assert_int_equal(st.replaced, 2);
    assert_int_equal(st.fallbacks, 0);
    sp_textbuf_free(&b);
}

static void test_charset_lookup_and_fallback(void **state)
{
    (void)state;
    char name[32];
    assert_int_equal(sp_charset_lookup("UTF-8", (size_t)-1, name), SP_CHARSET_UTF8);
    assert_string_equal(name, "");
    assert_int_equal(sp_charset_lookup("utf-8xyz", 5, NULL), SP_CHARSET_UTF8);
    assert_int_equal(sp_charset_lookup("ISO-8859-15", (size_t)-1, NULL), SP_CHARSET_ISO_8859_15);
    assert_int_equal(sp_charset_lookup("\"ANSI_X3.4-1968\"", (size_t)-1, NULL), SP_CHARSET_WINDOWS_1252);
    assert_int_equal(sp_charset_lookup(NULL, 0, NULL), SP_CHARSET_WINDOWS_1252);
    static const struct {
        const char *label, *iconv;
    } known[] = {{"GB2312", "GB18030"},         {"x-gbk", "GB18030"},        {"Big5", "BIG5-HKSCS"},
                 {"ks_c_5601-1987", "CP949"},   {"EUC-KR", "CP949"},         {"shift_jis", "CP932"},
                 {"iso-2022-jp", "ISO-2022-JP-2"}, {"iso-8859-8-i", "ISO-8859-8"}, {"koi8-r", "koi8-r"},
                 {"'windows-1251'", "windows-1251"}, {"x-euc-jp", "euc-jp"},  {"iso-8859-2*pl", "iso-8859-2"}};
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
        if (sp_charset_lookup(known[k].label, (size_t)-1, name) != SP_CHARSET_ICONV) fail_msg("%s", known[k].label);
        assert_string_equal(name, known[k].iconv);
    }
    /* Unknown: not iconv names, iconv syntax, names too long to be one. */
    const char *unknown[] = {"default", "unknown-8bit", "x-user-defined", "utf-8//translit", "big5,koi8-r",
                             "x-", "iso-8859-1-but-much-longer-than-any-real-charset-name-could-be-at-all"};
    for (size_t k = 0; k < sizeof unknown / sizeof *unknown; k++) {
        if (sp_charset_lookup(unknown[k], (size_t)-1, name) != SP_CHARSET_UNKNOWN) fail_msg("%s", unknown[k]);
        assert_string_equal(name, "");
    }
    /* A fallback is counted when an unknown label decides how non-ASCII bytes are read. */
    sp_charset_stats st = {0};
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_charset_append(&b, "\"DEFAULT\"", (size_t)-1, "plain", 5, 0, &st);           /* ASCII: no fallback */
    assert_int_equal(st.fallbacks, 0);
    sp_charset_append(&b, "DEFAULT_CHARSET", (size_t)-1, "\xC3\xA9", 2, SP_CHARSET_TRUST_UTF8, &st);
    assert_int_equal(st.fallbacks, 0);                                       /* valid UTF-8 kept as such */
    sp_charset_append(&b, "\"DEFAULT\"", (size_t)-1, "caf\xE9", 4, SP_CHARSET_TRUST_UTF8, &st);
    sp_charset_append(&b, "unknown-8bit", 12, "\x93", 1, 0, &st);
    assert_int_equal(st.fallbacks, 2);
    assert_string_equal(st.fallback_label, "default");                      /* the first one */
    assert_int_equal(st.replaced, 0);
    /* Valid UTF-8 wins over a CJK label, but not over a 7-bit escape encoding. */
    sp_charset_append(&b, "big5", 4, "\xE4\xB8\xAD", 3, SP_CHARSET_TRUST_UTF8, &st);
    sp_charset_append(&b, "iso-2022-jp", (size_t)-1, "\x1B\x24\x42\x46\x7C\x1B\x28\x42", 8,
                      SP_CHARSET_TRUST_UTF8, &st);
    char *out;
    size_t n;
    assert_int_equal(sp_textbuf_finish(&b, &out, &n), SP_OK);
    const char want[] = "plain\xC3\xA9" "caf\xC3\xA9\xE2\x80\x9C\xE4\xB8\xAD\xE6\x97\xA5";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(out, want, n);
    free(out);
}

/* Runs the Python reference; returns 0 on success. */
static int run_reference(const char *args)
{
    char script[4096], cmd[8192];
    if (text_tests_path(script, sizeof script, "ref/utf8_ref.py") != 0) return -1;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s", script, args);
    return system(cmd);
}

/* Random byte strings biased towards the interesting bytes (lead bytes, continuation bytes, E0/ED/F0/F4
 * boundaries), compared with Python's strict decoder: the valid prefix and the per-byte repair. */
static void test_parity_with_python_decoder(void **state)
{
    (void)state;
    static const unsigned char pool[] = {'a', 'Z', ' ', 0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
                                         0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5,
                                         0xF8, 0xFE, 0xFF};
    enum { N = 3000, MAXLEN = 12 };
    char in_path[64], out_path[64];
    snprintf(in_path, sizeof in_path, "utf8_parity_%d.in", (int)getpid());
    snprintf(out_path, sizeof out_path, "utf8_parity_%d.out", (int)getpid());
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    static char strings[N][MAXLEN];
    static size_t lens[N];
    uint64_t x = 20240601;
    for (int k = 0; k < N; k++) {
        x = sp_splitmix64(x);
        lens[k] = 1 + (size_t)(x % MAXLEN);
        for (size_t j = 0; j < lens[k]; j++) {
            x = sp_splitmix64(x);
            strings[k][j] = (char)pool[x % sizeof pool];
        }
        char hex[6 * MAXLEN + 1];
        text_hex(hex, strings[k], lens[k]);
        fprintf(f, "%s\n", hex);
    }
    fclose(f);
    char args[256];
    snprintf(args, sizeof args, "utf8 %s %s", in_path, out_path);
    assert_int_equal(run_reference(args), 0);
    f = fopen(out_path, "r");
    assert_non_null(f);
    char line[1024];
    int checked = 0, invalid = 0;
    for (int k = 0; k < N; k++) {
        assert_non_null(fgets(line, sizeof line, f));
        size_t want_prefix = strtoul(line, NULL, 10);
        const char *want_hex = strchr(line, ' ') + 1;
        size_t got = sp_utf8_valid_prefix(strings[k], lens[k]);
        if (got != want_prefix) fail_msg("string %d: prefix %zu, python %zu (%s)", k, got, want_prefix, line);
        invalid += got != lens[k];
        char *fixed;
        size_t fixed_len;
        assert_int_equal(sp_utf8_sanitize(strings[k], lens[k], &fixed, &fixed_len), SP_OK);
        char hex[6 * MAXLEN + 1];
        text_hex(hex, fixed, fixed_len);
        if (strncmp(hex, want_hex, strlen(hex)) != 0 || want_hex[strlen(hex)] != '\n')
            fail_msg("string %d: repaired %s, python %s", k, hex, want_hex);
        free(fixed);
        checked++;
    }
    fclose(f);
    remove(in_path);
    remove(out_path);
    assert_int_equal(checked, N);
    assert_true(invalid > N / 4 && invalid < N); /* the pool exercises both outcomes */
}

static void test_parity_with_python_codecs(void **state)
{
    (void)state;
    const char *names[] = {"windows-1252", "iso-8859-15"};
    for (int c = 0; c < 2; c++) {
        char out_path[64], args[256];
        snprintf(out_path, sizeof out_path, "charset_parity_%d_%d.out", (int)getpid(), c);
        snprintf(args, sizeof args, "charset %s %s", names[c], out_path);
        assert_int_equal(run_reference(args), 0);
        FILE *f = fopen(out_path, "r");
        assert_non_null(f);
        char line[64];
        for (int byte = 1; byte < 256; byte++) {
            assert_non_null(fgets(line, sizeof line, f));
            line[strcspn(line, "\n")] = '\0';
            char in = (char)byte, *u, hex[16];
            size_t n;
            assert_int_equal(sp_charset_to_utf8(names[c], &in, 1, &u, &n), SP_OK);
            text_hex(hex, u, n);
            if (strcmp(hex, line) != 0) fail_msg("%s byte 0x%02X: %s, python %s", names[c], byte, hex, line);
            free(u);
        }
        fclose(f);
        remove(out_path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_prefix_known_answers),
        cmocka_unit_test(test_sanitize_known_answers),
        cmocka_unit_test(test_charset_known_answers),
        cmocka_unit_test(test_charset_iconv_known_answers),
        cmocka_unit_test(test_charset_invalid_bytes),
        cmocka_unit_test(test_charset_lookup_and_fallback),
        cmocka_unit_test(test_parity_with_python_decoder),
        cmocka_unit_test(test_parity_with_python_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
