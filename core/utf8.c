/* utf8.c: UTF-8 validation (RFC 3629), repair, and the single-byte charset tables for mail text (the label
 * lookup and the iconv path are in charset.c). */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t sp_utf8_sequence_length(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0) return 0;
    unsigned char c = u[0];
    if (c < 0x80) return 1;
    /* Second-byte ranges per lead byte (RFC 3629 table): they exclude overlongs (E0 80..9F, F0 80..8F),
     * surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..BF). */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if (len < n) return 0;
    if (u[1] < lo || u[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if ((u[k] & 0xC0) != 0x80) return 0;
    return n;
}

size_t sp_utf8_valid_prefix(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII runs dominate mail text: test 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= len) break;
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = sp_utf8_sequence_length(s + i, len - i);
        if (n == 0) return i;
        i += n;
    }
    return len;
}

/* windows-1252 0x80..0x9F; 0 marks the five unassigned bytes. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static uint32_t decode_single_byte(sp_charset cs, unsigned char c)
{
    if (cs == SP_CHARSET_ISO_8859_15) {
        switch (c) {
        case 0xA4: return 0x20AC;
        case 0xA6: return 0x0160;
        case 0xA8: return 0x0161;
        case 0xB4: return 0x017D;
        case 0xB8: return 0x017E;
        case 0xBC: return 0x0152;
        case 0xBD: return 0x0153;
        case 0xBE: return 0x0178;
        default: return c;
        }
    }
    if (c >= 0x80 && c <= 0x9F) {
        uint32_t cp = cp1252_high[c - 0x80];
        return cp ? cp : 0xFFFD;
    }
    return c;
}

void sp_utf8_append_decoded(sp_textbuf *b, sp_charset cs, const char *s, size_t len)
{
    /* Worst case is 3 output bytes per input byte (U+FFFD or a BMP character for one byte). */
    if (len > (SIZE_MAX - 16) / 3 || sp_textbuf_reserve(b, 3 * len) != 0) {
        b->failed = 1;
        return;
    }
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && (unsigned char)s[run] < 0x80 && s[run] != '\0') run++;
        if (run > i) {
            memcpy(b->data + b->len, s + i, run - i);
            b->len += run - i;
            i = run;
            if (i >= len) break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == 0) {
            i++;
            continue;
        }
        if (cs == SP_CHARSET_UTF8) {
            size_t n = sp_utf8_sequence_length(s + i, len - i);
            if (n == 0) {
                sp_textbuf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                sp_textbuf_append(b, s + i, n);
                i += n;
            }
        } else {
            sp_textbuf_put_codepoint(b, decode_single_byte(cs, c));
            i++;
        }
    }
}

sp_status sp_utf8_sanitize(const char *s, size_t len, char **out, size_t *out_len)
{
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_utf8_append_decoded(&b, SP_CHARSET_UTF8, s, len);
    return sp_textbuf_finish(&b, out, out_len);
}
