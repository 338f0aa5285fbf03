/* charset.c: MIME charset labels to UTF-8: the label lookup (tables, aliases, iconv) and the iconv
 * conversion with U+FFFD replacement (see utf8.h; the rules are listed in docs/mail-text.md).
 *
 * Labels with a table in utf8.c (utf-8, windows-1252 and its aliases, iso-8859-15) stay on that fast path.
 * Every other label goes to glibc's iconv, after aliases that map a label to the superset real mail means
 * by it (the WHATWG Encoding Standard's choices, which browsers and mail readers share). A label iconv does
 * not know is decoded as windows-1252, as every unknown label was before iconv was used, and counted.
 */
#include <errno.h>
#include <stdio.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define LABEL_MAX 64 /* longer labels are unknown (iconv names are at most 31 bytes) */

/* Lower-cases name[0..len) into buf (at most cap-1 bytes), dropping surrounding quotes and blanks and an
 * RFC 2231 "*language" suffix. */
static void label_normalize(char *buf, size_t cap, const char *name, size_t len)
{
    size_t a = 0, z = len;
    while (a < z && (name[a] == ' ' || name[a] == '\t' || name[a] == '"' || name[a] == '\'')) a++;
    while (z > a && (name[z - 1] == ' ' || name[z - 1] == '\t' || name[z - 1] == '"' || name[z - 1] == '\'')) z--;
    size_t n = 0;
    for (size_t i = a; i < z && n + 1 < cap; i++) {
        char c = name[i];
        if (c == '*') break;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        buf[n++] = c;
    }
    buf[n] = '\0';
}

static int in_list(const char *label, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(label, list[k]) == 0) return 1;
    return 0;
}

#define IN_LIST(label, list) in_list(label, list, sizeof list / sizeof *list)

/* Labels of the three table charsets (the WHATWG labels plus common mail spellings). */
static const char *const utf8_labels[] = {"utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8",
                                          "x-unicode20utf8"};
static const char *const cp1252_labels[] = {
    "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "csascii", "cp367", "ibm367", "iso-ir-6",
    "iso-8859-1", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "latin1", "latin-1", "l1",
    "cp819", "ibm819", "iso-ir-100", "csisolatin1", "windows-1252", "cp1252", "x-cp1252"};
static const char *const latin9_labels[] = {"iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15",
                                            "iso_8859-15:1998", "latin9", "latin-9", "l9", "csisolatin9",
                                            "iso-ir-203"};

/* Labels whose meaning in mail is a superset or a variant that iconv knows under another name. */
typedef struct {
    const char *label;
    const char *iconv_name;
} charset_alias;

static const charset_alias aliases[] = {
    /* Chinese (simplified): GB2312 text is a subset of GBK, which GB18030 extends; mailers that say gb2312
     * often send GBK characters. */
    {"gb2312", "GB18030"}, {"gbk", "GB18030"}, {"gb18030", "GB18030"}, {"csgb2312", "GB18030"},
    {"gb_2312", "GB18030"}, {"gb_2312-80", "GB18030"}, {"csiso58gb231280", "GB18030"}, {"iso-ir-58", "GB18030"},
    {"chinese", "GB18030"}, {"euc-cn", "GB18030"}, {"cp936", "GB18030"}, {"ms936", "GB18030"},
    {"windows-936", "GB18030"}, {"gb2312_charset", "GB18030"}, /* Windows' GDI constant, seen as a label */
    /* Chinese (traditional): Big5 with the HKSCS extensions (a superset). */
    {"big5", "BIG5-HKSCS"}, {"big5-hkscs", "BIG5-HKSCS"}, {"cn-big5", "BIG5-HKSCS"}, {"csbig5", "BIG5-HKSCS"},
    {"x-x-big5", "BIG5-HKSCS"}, {"chinesebig5", "BIG5-HKSCS"}, {"chinesebig5_charset", "BIG5-HKSCS"},
    /* Korean: EUC-KR / KS C 5601 text is a subset of Microsoft's CP949 (unified Hangul code). */
    {"euc-kr", "CP949"}, {"cseuckr", "CP949"}, {"ks_c_5601-1987", "CP949"}, {"ks_c_5601-1989", "CP949"},
    {"ks_c_5601", "CP949"}, {"ksc5601", "CP949"}, {"ksc_5601", "CP949"}, {"csksc56011987", "CP949"},
    {"iso-ir-149", "CP949"}, {"korean", "CP949"}, {"windows-949", "CP949"}, {"cp949", "CP949"}, {"uhc", "CP949"},
    /* Japanese: Shift_JIS as Windows writes it (CP932 keeps 0x5C and 0x7E ASCII, glibc's SJIS does not);
     * ISO-2022-JP as its superset ISO-2022-JP-2. */
    {"shift_jis", "CP932"}, {"shift-jis", "CP932"}, {"sjis", "CP932"}, {"ms_kanji", "CP932"},
    {"csshiftjis", "CP932"}, {"windows-31j", "CP932"}, {"ms932", "CP932"}, {"cp932", "CP932"},
    {"iso-2022-jp", "ISO-2022-JP-2"}, {"csiso2022jp", "ISO-2022-JP-2"},
    /* Hebrew and Arabic: -i / -e only say how the text is ordered, not how it is encoded. */
    {"iso-8859-8-i", "ISO-8859-8"}, {"iso-8859-8-e", "ISO-8859-8"}, {"csiso88598i", "ISO-8859-8"},
    {"csiso88598e", "ISO-8859-8"}, {"logical", "ISO-8859-8"}, {"visual", "ISO-8859-8"},
    {"iso-8859-6-i", "ISO-8859-6"}, {"iso-8859-6-e", "ISO-8859-6"}, {"csiso88596i", "ISO-8859-6"},
    {"csiso88596e", "ISO-8859-6"},
    /* Turkish and Thai: the Windows supersets, as for Latin-1 (WHATWG). */
    {"iso-8859-9", "WINDOWS-1254"}, {"iso8859-9", "WINDOWS-1254"}, {"iso88599", "WINDOWS-1254"},
    {"iso_8859-9", "WINDOWS-1254"}, {"latin5", "WINDOWS-1254"}, {"l5", "WINDOWS-1254"},
    {"csisolatin5", "WINDOWS-1254"}, {"iso-ir-148", "WINDOWS-1254"}, {"tis-620", "WINDOWS-874"},
    {"iso-8859-11", "WINDOWS-874"}, {"iso8859-11", "WINDOWS-874"}, {"dos-874", "WINDOWS-874"},
    {"x-mac-roman", "MACINTOSH"}, {"mac-roman", "MACINTOSH"},
};

/* Can iconv convert from `name` to UTF-8? Only names made of letters, digits and "-_.:" are tried, so that
 * iconv's own syntax ("//TRANSLIT", "," lists) and the empty name (the locale's charset) never apply. */
static int iconv_knows(const char *name)
{
    if (name[0] == '\0') return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':'))
            return 0;
    }
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) return 0;
    iconv_close(cd);
    return 1;
}

/* Classifies one normalized label (without the "x-" retry). */
static sp_charset label_classify(const char *label, char *iconv_name, size_t cap)
{
    if (IN_LIST(label, utf8_labels)) return SP_CHARSET_UTF8;
    if (label[0] == '\0' || IN_LIST(label, cp1252_labels)) return SP_CHARSET_WINDOWS_1252;
    if (IN_LIST(label, latin9_labels)) return SP_CHARSET_ISO_8859_15;
    for (size_t k = 0; k < sizeof aliases / sizeof *aliases; k++) {
        if (strcmp(label, aliases[k].label) == 0) {
            snprintf(iconv_name, cap, "%s", aliases[k].iconv_name);
            return iconv_knows(iconv_name) ? SP_CHARSET_ICONV : SP_CHARSET_UNKNOWN;
        }
    }
    if (strlen(label) < cap && iconv_knows(label)) {
        snprintf(iconv_name, cap, "%s", label);
        return SP_CHARSET_ICONV;
    }
    return SP_CHARSET_UNKNOWN;
}

sp_charset sp_charset_lookup(const char *name, size_t len, char iconv_name[32])
{
    char ignored[32];
    if (!iconv_name) iconv_name = ignored;
    iconv_name[0] = '\0';
    if (!name) return SP_CHARSET_WINDOWS_1252;
    if (len == (size_t)-1) len = strlen(name);
    char label[LABEL_MAX];
    label_normalize(label, sizeof label, name, len);
    if (len > LABEL_MAX - 1) return SP_CHARSET_UNKNOWN;
    sp_charset cs = label_classify(label, iconv_name, 32);
    /* "x-" marks a private name; many are a registered name with the prefix (x-sjis, x-euc-jp, x-gbk). */
    if (cs == SP_CHARSET_UNKNOWN && strncmp(label, "x-", 2) == 0 && label[2] != '\0')
        cs = label_classify(label + 2, iconv_name, 32);
    if (cs != SP_CHARSET_ICONV) iconv_name[0] = '\0';
    return cs;
}

/* Is the iconv charset one whose text is 7-bit with escape sequences (so pure ASCII says nothing)? */
static int escape_encoding(const char *iconv_name)
{
    static const char *const prefixes[] = {"iso-2022", "iso2022", "csiso2022", "utf-7", "utf7", "hz"};
    char lower[32];
    label_normalize(lower, sizeof lower, iconv_name, strlen(iconv_name));
    for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++)
        if (strncmp(lower, prefixes[k], strlen(prefixes[k])) == 0) return 1;
    return 0;
}

static int has_high_byte(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) return 1;
    return 0;
}

#define REPLACEMENT "\xEF\xBF\xBD"

/* Decodes s[0..len) with iconv (cd from `iconv_name` to UTF-8) into b; returns the number of U+FFFD
 * written for invalid input, or (size_t)-1 if iconv_open failed (nothing written). */
static size_t iconv_append(sp_textbuf *b, const char *iconv_name, const char *s, size_t len)
{
    iconv_t cd = iconv_open("UTF-8", iconv_name);
    if (cd == (iconv_t)-1) return (size_t)-1;
    sp_textbuf tmp;
    sp_textbuf_init(&tmp);
    char *in = (char *)s; /* iconv's prototype is not const-correct; it never writes through it */
    size_t inleft = len, replaced = 0;
    int flushing = 0;
    for (;;) {
        /* Room for a typical expansion (3 UTF-8 bytes per input byte); E2BIG asks for more. */
        size_t room = (inleft < SIZE_MAX / 8 ? 3 * inleft : inleft) + 64;
        if (sp_textbuf_reserve(&tmp, room) != 0) break;
        char *out = tmp.data + tmp.len;
        size_t outleft = tmp.cap - tmp.len;
        size_t r = flushing ? iconv(cd, NULL, NULL, &out, &outleft) : iconv(cd, &in, &inleft, &out, &outleft);
        int err = errno;
        tmp.len = (size_t)(out - tmp.data);
        if (r != (size_t)-1) {
            if (flushing) break; /* state reset written (nothing, for UTF-8 output): done */
            flushing = 1;
            continue;
        }
        if (err == E2BIG) {
            if (sp_textbuf_reserve(&tmp, tmp.cap + 64) != 0) break;
            continue;
        }
        if (err == EILSEQ && !flushing && inleft > 0) {
            /* The decoder stopped at this byte: replace it and resynchronise on the next one. */
            sp_textbuf_append(&tmp, REPLACEMENT, 3);
            replaced++;
            in++;
            inleft--;
            continue;
        }
        if (err == EINVAL && !flushing) {
            /* A multibyte sequence cut off by the end of the text. */
            sp_textbuf_append(&tmp, REPLACEMENT, 3);
            replaced++;
            inleft = 0;
            flushing = 1;
            continue;
        }
        break; /* no other error is documented for iconv(); keep what was converted */
    }
    iconv_close(cd);
    if (tmp.failed) b->failed = 1;
    /* iconv writes valid UTF-8; this drops NUL bytes (as every other path does). */
    else sp_utf8_append_decoded(b, SP_CHARSET_UTF8, tmp.data ? tmp.data : "", tmp.len);
    sp_textbuf_free(&tmp);
    return replaced;
}

void sp_charset_append(sp_textbuf *b, const char *name, size_t name_len, const char *s, size_t len, int flags,
                       sp_charset_stats *stats)
{
    char iconv_name[32];
    sp_charset cs = sp_charset_lookup(name, name ? name_len : 0, iconv_name);
    if ((flags & SP_CHARSET_TRUST_UTF8) && cs != SP_CHARSET_UTF8 &&
        !(cs == SP_CHARSET_ICONV && escape_encoding(iconv_name)) && sp_utf8_valid_prefix(s, len) == len)
        cs = SP_CHARSET_UTF8;
    if (cs == SP_CHARSET_ICONV) {
        size_t replaced = iconv_append(b, iconv_name, s, len);
        if (replaced != (size_t)-1) {
            if (stats) stats->replaced += replaced;
            return;
        }
        cs = SP_CHARSET_UNKNOWN; /* iconv_open failed after the lookup succeeded (no memory): as unknown */
    }
    if (cs == SP_CHARSET_UNKNOWN && stats && has_high_byte(s, len)) {
        /* Only text with non-ASCII bytes depends on the label; ASCII reads the same in any fallback. */
        if (stats->fallbacks++ == 0) {
            label_normalize(stats->fallback_label, sizeof stats->fallback_label, name ? name : "",
                            name ? (name_len == (size_t)-1 ? strlen(name) : name_len) : 0);
        }
    }
    sp_utf8_append_decoded(b, cs == SP_CHARSET_UNKNOWN ? SP_CHARSET_WINDOWS_1252 : cs, s, len);
}

int sp_charset_guess_usable(const char *name, size_t len)
{
    char iconv_name[32];
    return sp_charset_lookup(name, len, iconv_name) == SP_CHARSET_ICONV && !escape_encoding(iconv_name);
}

int sp_charset_find_declared(const char *s, size_t len, char label[32])
{
    static const char key[] = "charset";
    label[0] = '\0';
    for (size_t i = 0; i + 8 < len; i++) {
        if ((s[i] | 0x20) != 'c') continue;
        size_t k = 1;
        while (k < 7 && (s[i + k] | 0x20) == key[k]) k++;
        if (k < 7) continue;
        size_t j = i + 7;
        while (j < len && (s[j] == ' ' || s[j] == '\t')) j++;
        if (j >= len || s[j] != '=') continue;
        j++;
        if (j + 1 < len && s[j] == '3' && (s[j + 1] == 'D' || s[j + 1] == 'd')) j += 2; /* "=3D": QP-encoded '=' */
        while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '"' || s[j] == '\'')) j++;
        size_t a = j;
        while (j < len && j - a < 31 &&
               ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9') ||
                s[j] == '-' || s[j] == '_' || s[j] == '.' || s[j] == ':'))
            j++;
        if (j == a || !sp_charset_guess_usable(s + a, j - a)) continue;
        memcpy(label, s + a, j - a);
        label[j - a] = '\0';
        return 1;
    }
    return 0;
}

sp_status sp_charset_to_utf8(const char *charset, const char *s, size_t len, char **out, size_t *out_len)
{
    sp_textbuf b;
    sp_textbuf_init(&b);
    sp_charset_append(&b, charset, (size_t)-1, s, len, 0, NULL);
    return sp_textbuf_finish(&b, out, out_len);
}
