/* fuzz_mime.c: libFuzzer target for the mail decoder. Any input must decode without a crash, leak or
 * undefined behaviour, to valid UTF-8 without NUL bytes, with and without keep_headers; the HTML converter
 * and the header decoder are exercised directly on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "mime.h"
#include "mime_decode.h"
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
    return 0;
}
