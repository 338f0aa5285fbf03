"""Reference for test_html: code points of named and numeric character references per Python's html module.

usage: html_entities_ref.py IN OUT   IN has one reference per line (a name like "eacute", or "#233" / "#xE9");
                                     OUT gets the decimal code point of each (html.unescape of "&<ref>;"),
                                     or -1 when Python does not decode it to exactly one character.
"""
import html
import sys

with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        ref = line.strip()
        text = html.unescape("&" + ref + ";")
        out.write("%d\n" % (ord(text) if len(text) == 1 else -1))
