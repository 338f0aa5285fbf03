/* fuzz_mime.c: libFuzzer target for the mail decoder. Any input must decode without a crash, leak or
 * undefined behaviour, to valid UTF-8 without NUL bytes, with and without keep_headers; the HTML converter,
 * the header decoder and the charset conversion (tables and iconv, with the first input byte choosing the
 * charset) are exercised directly on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "mime.h"
#include "mime_decode.h"
#include "textbuf.h"
#include "utf8.h"

static void check_text(const char *text, size_t len)
{
    if (sp_utf8_valid_prefix(text, len) != len) abort();
    if (strlen(text) != len) abort(); /* no NUL inside, NUL-terminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *raw = (const char *)data;
    char *text;
    size_t len;
    for (int keep = 0; keep <= 1; keep++) {
        sp_mail_options opt = {.keep_headers = keep};
        if (sp_mail_to_text(raw, size, &opt, &text, &len) != SP_OK) return 0; /* only allocation failure */
        check_text(text, len);
        /* Text output starts with the subject line and its blank-line separator. */
        if (!keep && strstr(text, "\n\n") == NULL) abort();
        free(text);
    }
    if (sp_html_to_text(raw, size, &text, &len) == SP_OK) {
        check_text(text, len);
        free(text);
    }
    if (sp_header_decode(raw, size, &text, &len) == SP_OK) {
        if (sp_utf8_valid_prefix(text, len) != len) abort();
        free(text);
    }
    /* Stateful, multibyte and single-byte iconv charsets, a table one and an unknown label. */
    static const char *const charsets[] = {"big5", "gb2312", "iso-2022-jp", "shift_jis", "ks_c_5601-1987",
                                           "koi8-r", "utf-7", "euc-jp", "windows-1251", "utf-16", "utf-8",
                                           "x-unknown"};
    if (size > 0) {
        const char *cs = charsets[data[0] % (sizeof charsets / sizeof *charsets)];
        sp_charset_stats st = {0};
        sp_textbuf b;
        sp_textbuf_init(&b);
        sp_charset_append(&b, cs, (size_t)-1, raw + 1, size - 1, (data[0] & 0x80) ? SP_CHARSET_TRUST_UTF8 : 0, &st);
        if (sp_textbuf_finish(&b, &text, &len) == SP_OK) {
            check_text(text, len);
            free(text);
        }
    }
    return 0;
}
