/* html_entities.c: the named HTML character references sp_html_to_text decodes (Latin-1 and the
 * typographic and symbol entities common in mail), looked up by binary search. */
#include <string.h>

#include "html.h"

typedef struct {
    const char *name;
    uint32_t cp;
} html_entity;

/* Sorted by strcmp (byte order), which the binary search relies on; test_html checks the order. */
static const html_entity entities[] = {
    {"AElig", 0x00C6}, {"Aacute", 0x00C1}, {"Acirc", 0x00C2}, {"Agrave", 0x00C0}, {"Aring", 0x00C5},
    {"Atilde", 0x00C3}, {"Auml", 0x00C4}, {"Ccedil", 0x00C7}, {"Dagger", 0x2021}, {"ETH", 0x00D0},
    {"Eacute", 0x00C9}, {"Ecirc", 0x00CA}, {"Egrave", 0x00C8}, {"Euml", 0x00CB}, {"Iacute", 0x00CD},
    {"Icirc", 0x00CE}, {"Igrave", 0x00CC}, {"Iuml", 0x00CF}, {"Ntilde", 0x00D1}, {"OElig", 0x0152},
    {"Oacute", 0x00D3}, {"Ocirc", 0x00D4}, {"Ograve", 0x00D2}, {"Omega", 0x03A9}, {"Oslash", 0x00D8},
    {"Otilde", 0x00D5}, {"Ouml", 0x00D6}, {"Prime", 0x2033}, {"Scaron", 0x0160}, {"THORN", 0x00DE},
    {"Uacute", 0x00DA}, {"Ucirc", 0x00DB}, {"Ugrave", 0x00D9}, {"Uuml", 0x00DC}, {"Yacute", 0x00DD},
    {"Yuml", 0x0178}, {"aacute", 0x00E1}, {"acirc", 0x00E2}, {"acute", 0x00B4}, {"aelig", 0x00E6},
    {"agrave", 0x00E0}, {"alpha", 0x03B1}, {"amp", 0x0026}, {"apos", 0x0027}, {"aring", 0x00E5},
    {"atilde", 0x00E3}, {"auml", 0x00E4}, {"bdquo", 0x201E}, {"beta", 0x03B2}, {"brvbar", 0x00A6},
    {"bull", 0x2022}, {"ccedil", 0x00E7}, {"cedil", 0x00B8}, {"cent", 0x00A2}, {"circ", 0x02C6}, {"clubs", 0x2663},
    {"copy", 0x00A9}, {"curren", 0x00A4}, {"dagger", 0x2020}, {"darr", 0x2193}, {"deg", 0x00B0}, {"delta", 0x03B4},
    {"diams", 0x2666}, {"divide", 0x00F7}, {"eacute", 0x00E9}, {"ecirc", 0x00EA}, {"egrave", 0x00E8},
    {"emsp", 0x2003}, {"ensp", 0x2002}, {"eth", 0x00F0}, {"euml", 0x00EB}, {"euro", 0x20AC}, {"fnof", 0x0192},
    {"frac12", 0x00BD}, {"frac14", 0x00BC}, {"frac34", 0x00BE}, {"frasl", 0x2044}, {"gamma", 0x03B3},
    {"ge", 0x2265}, {"gt", 0x003E}, {"harr", 0x2194}, {"hearts", 0x2665}, {"hellip", 0x2026}, {"iacute", 0x00ED},
    {"icirc", 0x00EE}, {"iexcl", 0x00A1}, {"igrave", 0x00EC}, {"infin", 0x221E}, {"iquest", 0x00BF},
    {"iuml", 0x00EF}, {"laquo", 0x00AB}, {"larr", 0x2190}, {"ldquo", 0x201C}, {"le", 0x2264}, {"lrm", 0x200E},
    {"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x003C}, {"macr", 0x00AF}, {"mdash", 0x2014}, {"micro", 0x00B5},
    {"middot", 0x00B7}, {"minus", 0x2212}, {"mu", 0x03BC}, {"nbsp", 0x00A0}, {"ndash", 0x2013}, {"ne", 0x2260},
    {"not", 0x00AC}, {"ntilde", 0x00F1}, {"oacute", 0x00F3}, {"ocirc", 0x00F4}, {"oelig", 0x0153},
    {"ograve", 0x00F2}, {"oline", 0x203E}, {"omega", 0x03C9}, {"ordf", 0x00AA}, {"ordm", 0x00BA},
    {"oslash", 0x00F8}, {"otilde", 0x00F5}, {"ouml", 0x00F6}, {"para", 0x00B6}, {"permil", 0x2030}, {"pi", 0x03C0},
    {"plusmn", 0x00B1}, {"pound", 0x00A3}, {"prime", 0x2032}, {"quot", 0x0022}, {"raquo", 0x00BB},
    {"rarr", 0x2192}, {"rdquo", 0x201D}, {"reg", 0x00AE}, {"rlm", 0x200F}, {"rsaquo", 0x203A}, {"rsquo", 0x2019},
    {"sbquo", 0x201A}, {"scaron", 0x0161}, {"sect", 0x00A7}, {"shy", 0x00AD}, {"sigma", 0x03C3},
    {"spades", 0x2660}, {"sup1", 0x00B9}, {"sup2", 0x00B2}, {"sup3", 0x00B3}, {"szlig", 0x00DF},
    {"thinsp", 0x2009}, {"thorn", 0x00FE}, {"tilde", 0x02DC}, {"times", 0x00D7}, {"trade", 0x2122},
    {"uacute", 0x00FA}, {"uarr", 0x2191}, {"ucirc", 0x00FB}, {"ugrave", 0x00F9}, {"uml", 0x00A8}, {"uuml", 0x00FC},
    {"yacute", 0x00FD}, {"yen", 0x00A5}, {"yuml", 0x00FF}, {"zwj", 0x200D}, {"zwnj", 0x200C},
};

uint32_t sp_html_entity_lookup(const char *name, size_t len)
{
    char key[16];
    if (len == 0 || len >= sizeof key) return 0;
    memcpy(key, name, len);
    key[len] = '\0';
    size_t lo = 0, hi = sizeof entities / sizeof *entities;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, entities[mid].name);
        if (c == 0) return entities[mid].cp;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return 0;
}

size_t sp_html_entity_count(void) { return sizeof entities / sizeof *entities; }

const char *sp_html_entity_name(size_t k) { return k < sp_html_entity_count() ? entities[k].name : NULL; }
