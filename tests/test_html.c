/* test_html.c: HTML to text on hand-written documents (exact expected strings), and the entity table
 * against Python's html module (tests/ref/html_entities_ref.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "html.h"
#include "mime_decode.h"
#include "text_test_util.h"
#include "utf8.h"

static void assert_text(const char *html, size_t n, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(sp_html_to_text(html, n, &out, &len), SP_OK);
    if (len != strlen(want) || memcmp(out, want, len) != 0)
        fail_msg("html [%.*s]\n got [%s]\nwant [%s]", (int)n, html, out, want);
    assert_int_equal(sp_utf8_valid_prefix(out, len), len);
    free(out);
}
#define TEXT(html, want) assert_text(html, sizeof html - 1, want)
#define FFFD "\xEF\xBF\xBD"

static void test_tags_and_blocks(void **state)
{
    (void)state;
    TEXT("", "");
    TEXT("<p>Caf&eacute; <b>now</b></p><p>&#36;5&nbsp;off", "Caf\xC3\xA9 now\n$5 off");
    /* Inline markup inside a word leaves the word whole. */
    TEXT("V<b></b>ia<font color=red>gra</font> now", "Viagra now");
    TEXT("  a \n\t b  <br><br>  c <div> d </div>  ", "a b\nc\nd");
    TEXT("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>", "a b\nc");
    TEXT("<ul><li>one<li>two</ul>after", "one\ntwo\nafter");
    TEXT("<H1>Title</H1><P ALIGN=center>Body</P>", "Title\nBody");
    /* Quotes are significant in attribute values only. */
    TEXT("<a href=\"x>y\" title='a>b'>link</a> it's", "link it's");
    TEXT("<img alt=x>t<img src=y>u", "t u");
    /* Unquoted values may contain quotes (undecoded quoted-printable in spam-2/00248). */
    TEXT("<font size=3D\"4=\n\"><br>May 7th</font>", "May 7th");
    TEXT("<a title = \"x>y\" b='>'c>z", "z");
    TEXT("<a = \"x>y\">", "y\">"); /* '=' starts a name, so the quote is no value: the tag ends at the first '>' */
    /* "</" and a non-letter is a bogus comment; a tag name runs to a blank, '/' or '>'. */
    TEXT("save $20</ p>now</= i>!</>x", "save $20now!x");
    TEXT("a<br=\n>b<br/>c<o:p>d</o:p>", "ab\ncd");
    /* A '<' that starts no tag is text. */
    TEXT("a < b and c > d, <3", "a < b and c > d, <3");
    /* Unclosed tag or script at the end swallows the rest, as in a browser. */
    TEXT("text<a href='x", "text");
    TEXT("a<script>bbb", "a");
}

static void test_dropped_content(void **state)
{
    (void)state;
    TEXT("<html><head><title>Hi</title><style type=\"text/css\">p{color:red}</style>"
         "<SCRIPT>if (a<b) x='</p>';</SCRIPT></head><body>A<!-- hidden <b>bold</b> -->B</body></html>",
         "Hi\nAB");
    TEXT("<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.0//EN\"><?xml version='1.0'?>ok", "ok");
    TEXT("a<!-- b > c -->d", "ad");
    TEXT("a<!-->b<!--->c", "abc");
    /* An unclosed comment ends at the next '>' (spam writes "<!--#rotate>" and means the text to show). */
    TEXT("x<!--#rotate>Terrific", "xTerrific");
    TEXT("<style>unclosed", "");
}

static void test_entities(void **state)
{
    (void)state;
    TEXT("&amp;&lt;&gt;&quot;&#39;&apos;", "&<>\"''");
    TEXT("&#x41;&#65&#X42; &amp &lt3", "AAB & <3");
    TEXT("&copy; &euro; &hellip; &mdash; &trade; &Uuml;ber",
         "\xC2\xA9 \xE2\x82\xAC \xE2\x80\xA6 \xE2\x80\x94 \xE2\x84\xA2 \xC3\x9C" "ber");
    /* Unknown names and names that need ";" stay literal; legacy names do not need it. */
    TEXT("&unknown; &eacute &AMP; AT&T &hellip", "&unknown; \xC3\xA9 &AMP; AT&T &hellip");
    TEXT("&copyright &ampx;", "\xC2\xA9right &x;");
    /* HTML5's own example: "&notit;" is the legacy "&not" followed by "it;". */
    TEXT("planes de operaci&oacuten &equiv; &Omega; &notit; &not",
         "planes de operaci\xC3\xB3n \xE2\x89\xA1 \xCE\xA9 \xC2\xACit; \xC2\xAC");
    /* 0x80..0x9F are windows-1252; 0, surrogates and > U+10FFFF are U+FFFD; huge numbers do not overflow. */
    TEXT("&#x80;&#150;&#0;&#xD800;&#1114112;&#99999999999999999999;", "\xE2\x82\xAC\xE2\x80\x93" FFFD FFFD FFFD FFFD);
    TEXT("&#128512;", "\xF0\x9F\x98\x80");
    /* Whitespace entities collapse with the text around them; other control characters vanish. */
    TEXT("a&nbsp;&nbsp; &#10;b&#7;c", "a bc");
    TEXT("a\xC2\xA0\xC2\xA0" "b", "a b");
}

static void test_invalid_input_bytes(void **state)
{
    (void)state;
    TEXT("caf\xE9 \0ok\x01", "caf" FFFD " ok");
    TEXT("<b>\xED\xA0\x80</b>", FFFD FFFD FFFD);
}

static void test_append_keeps_earlier_content(void **state)
{
    (void)state;
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_textbuf_append(&b, "head ", 5);
    sp_html_to_text_append(&b, "  <p> x </p> ", 13);
    char *s;
    size_t n;
    assert_int_equal(sp_textbuf_finish(&b, &s, &n), SP_OK);
    assert_string_equal(s, "head x");
    free(s);
}

static void test_entity_table_sorted_and_matches_python(void **state)
{
    (void)state;
    size_t count = sp_html_entity_count();
    assert_int_equal(count, 253); /* HTML 4.01's 252 and &apos; */
    for (size_t k = 1; k < count; k++) assert_true(strcmp(sp_html_entity_name(k - 1), sp_html_entity_name(k)) < 0);
    assert_null(sp_html_entity_name(count));
    char in_path[64], out_path[64], script[4096], cmd[8192];
    snprintf(in_path, sizeof in_path, "html_entities_%d.in", (int)getpid());
    snprintf(out_path, sizeof out_path, "html_entities_%d.out", (int)getpid());
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    for (size_t k = 0; k < count; k++) fprintf(f, "%s\n", sp_html_entity_name(k));
    /* Numeric references, through the full converter: decimal and hex, windows-1252 range, invalid ones. */
    static const char *const numeric[] = {"#65", "#x41", "#233", "#x20AC", "#128", "#x9F", "#150", "#0",
                                          "#xD800", "#xDFFF", "#x10FFFD", "#1114112", "#x1F600", "#160"};
    size_t nnum = sizeof numeric / sizeof *numeric;
    for (size_t k = 0; k < nnum; k++) fprintf(f, "%s\n", numeric[k]);
    fclose(f);
    assert_int_equal(text_tests_path(script, sizeof script, "ref/html_entities_ref.py"), 0);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s %s", script, in_path, out_path);
    assert_int_equal(system(cmd), 0);
    f = fopen(out_path, "r");
    assert_non_null(f);
    char line[64];
    int legacy = 0;
    for (size_t k = 0; k < count; k++) {
        assert_non_null(fgets(line, sizeof line, f));
        char *rest;
        long want = strtol(line, &rest, 10);
        long want_legacy = strtol(rest, NULL, 10);
        const char *name = sp_html_entity_name(k);
        uint32_t got = sp_html_entity_lookup(name, strlen(name));
        if ((long)got != want) fail_msg("&%s;: U+%04X, python %ld", name, (unsigned)got, want);
        if (sp_html_entity_is_legacy(k) != want_legacy) fail_msg("&%s: legacy flag differs from HTML5", name);
        legacy += sp_html_entity_is_legacy(k);
    }
    for (size_t k = 0; k < nnum; k++) {
        assert_non_null(fgets(line, sizeof line, f));
        long want = strtol(line, NULL, 10);
        char ref[32], *out;
        size_t n;
        snprintf(ref, sizeof ref, "x&%s;x", numeric[k]);
        assert_int_equal(sp_html_to_text(ref, strlen(ref), &out, &n), SP_OK);
        /* Decode the one code point between the two x's. */
        assert_true(n >= 3 && out[0] == 'x' && out[n - 1] == 'x');
        const unsigned char *u = (const unsigned char *)out + 1;
        size_t ul = n - 2;
        assert_int_equal(sp_utf8_sequence_length((const char *)u, ul), ul);
        long cp = ul == 1 ? u[0]
                : ul == 2 ? ((u[0] & 0x1F) << 6) | (u[1] & 0x3F)
                : ul == 3 ? ((u[0] & 0x0F) << 12) | ((u[1] & 0x3F) << 6) | (u[2] & 0x3F)
                          : ((long)(u[0] & 0x07) << 18) | ((u[1] & 0x3F) << 12) | ((u[2] & 0x3F) << 6) | (u[3] & 0x3F);
        if (strcmp(numeric[k], "#160") == 0) want = ' '; /* no-break space is whitespace for us */
        if (cp != want) fail_msg("&%s;: U+%04lX, python %ld", numeric[k], cp, want);
        free(out);
    }
    fclose(f);
    remove(in_path);
    remove(out_path);
    assert_int_equal(legacy, 100); /* HTML5's 106 legacy names less the upper-case AMP, COPY, GT, LT, QUOT, REG */
}

/* Writes n bytes to a new file at path. */
static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* The quoted-printable HTML of a real message: the body after `from` up to `until` (or the end), decoded
 * and converted from windows-1252. Caller frees. */
static char *fixture_html(const char *name, const char *from, const char *until, size_t *n)
{
    char path[4096];
    assert_int_equal(text_tests_path(path, sizeof path, "fixtures/mail/"), 0);
    strncat(path, name, sizeof path - strlen(path) - 1);
    size_t len = 0;
    char *raw = text_slurp(path, &len);
    assert_non_null(raw);
    char *a = strstr(raw, from);
    assert_non_null(a);
    a = strstr(a, "\n\n");
    assert_non_null(a);
    char *z = until ? strstr(a, until) : raw + len;
    assert_non_null(z);
    sp_textbuf qp;
    sp_textbuf_init(&qp);
    sp_qp_decode_append(&qp, a + 2, (size_t)(z - a - 2), 0);
    char *html;
    assert_int_equal(sp_charset_to_utf8("windows-1252", qp.data, qp.len, &html, n), SP_OK);
    sp_textbuf_free(&qp);
    free(raw);
    return html;
}

/* Documents without unclosed comments or tags give the same text as the same rules on Python's
 * html.parser (tests/ref/html_text_ref.py): tokenizing, entities, block structure, whitespace. */
static void test_parity_with_python_html_parser(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "<p>Caf&eacute; <b>now</b></p><p>&#36;5&nbsp;off",
        "<html><head><title>Hi</title><style>p{}</style><SCRIPT>if (a<b) x='</p>';</SCRIPT></head>"
        "<body>A<!-- hidden -->B</body></html>",
        "<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table><ul><li>one<li>two</ul>after",
        "<a href=\"x>y\" title='a>b'>link</a> it's <img alt=x>t &amp; &lt;&gt; &#x41;&#65; &copy; &hellip; "
        "&mdash; &Omega; &equiv; &euro; &#128512;",
        "  a \n\t b  <br><br>  c <div> d </div> &#10; e <font size=3D\"4=\n\">f</font> V<b></b>iagra",
        "<!DOCTYPE html><h1>T</h1><P ALIGN=center>Body</P>save ok <o:p>x</o:p> a < b, c > d",
    };
    size_t nd = sizeof docs / sizeof *docs;
    enum { NMAX = 8 };
    char paths[NMAX][64], out_path[64], script[4096], cmd[8192];
    const char *inputs[NMAX];
    size_t lens[NMAX];
    char *owned[2];
    owned[0] = fixture_html("spam_qp_html.eml", "Content-Transfer-Encoding", NULL, &lens[nd]);
    owned[1] = fixture_html("spam_alternative.eml", "Content-Type: text/html", "\n------=_NextPart", &lens[nd + 1]);
    size_t n = nd + 2;
    assert_true(n <= NMAX);
    for (size_t k = 0; k < nd; k++) {
        inputs[k] = docs[k];
        lens[k] = strlen(docs[k]);
    }
    inputs[nd] = owned[0];
    inputs[nd + 1] = owned[1];
    int used = snprintf(cmd, sizeof cmd, "/usr/bin/python3 ");
    assert_int_equal(text_tests_path(script, sizeof script, "ref/html_text_ref.py"), 0);
    snprintf(out_path, sizeof out_path, "html_parity_%d.out", (int)getpid());
    used += snprintf(cmd + used, sizeof cmd - (size_t)used, "'%s' %s", script, out_path);
    for (size_t k = 0; k < n; k++) {
        snprintf(paths[k], sizeof paths[k], "html_parity_%d_%zu.html", (int)getpid(), k);
        write_file(paths[k], inputs[k], lens[k]);
        used += snprintf(cmd + used, sizeof cmd - (size_t)used, " %s", paths[k]);
    }
    assert_true((size_t)used < sizeof cmd);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    size_t line_cap = 1 << 16;
    char *line = malloc(line_cap), *hex = malloc(line_cap);
    assert_true(line && hex);
    for (size_t k = 0; k < n; k++) {
        assert_non_null(fgets(line, (int)line_cap, f));
        line[strcspn(line, "\n")] = '\0';
        char *text;
        size_t len;
        assert_int_equal(sp_html_to_text(inputs[k], lens[k], &text, &len), SP_OK);
        assert_true(2 * len + 1 <= line_cap);
        text_hex(hex, text, len);
        if (strcmp(hex, line) != 0) fail_msg("document %zu differs from html.parser:\n got [%s]", k, text);
        assert_true(len > 0);
        free(text);
        remove(paths[k]);
    }
    fclose(f);
    remove(out_path);
    free(line);
    free(hex);
    free(owned[0]);
    free(owned[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_and_blocks),
        cmocka_unit_test(test_dropped_content),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_invalid_input_bytes),
        cmocka_unit_test(test_append_keeps_earlier_content),
        cmocka_unit_test(test_entity_table_sorted_and_matches_python),
        cmocka_unit_test(test_parity_with_python_html_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
