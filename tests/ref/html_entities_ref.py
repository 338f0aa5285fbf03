"""Reference for test_html: code points of named and numeric character references per Python's html module.

usage: html_entities_ref.py IN OUT   IN has one reference per line (a name like "eacute", or "#233" / "#xE9");
                                     OUT gets "<code point> <legacy>" per line: the decimal code point of
                                     html.unescape("&<ref>;") (-1 unless exactly one character) and 1 if
                                     HTML5 also accepts the name without ';' (html.entities.html5), else 0.
"""
import html
import html.entities
import sys

with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        ref = line.strip()
        text = html.unescape("&" + ref + ";")
        legacy = 1 if not ref.startswith("#") and ref in html.entities.html5 else 0
        out.write("%d %d\n" % (ord(text) if len(text) == 1 else -1, legacy))
