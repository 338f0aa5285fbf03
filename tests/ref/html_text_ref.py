"""Reference for test_html: visible text of HTML through Python's html.parser, with splinter's rules.

usage: html_text_ref.py OUT FILE...   OUT gets one line per FILE: the hex of the UTF-8 text.

Rules mirrored from core/html.h: script/style content dropped, block tags start a line, td/th/img
separate by a space, whitespace (and U+00A0) collapses, other control characters vanish, entities are
decoded by html.parser (the full HTML5 set). Not mirrored, so inputs must avoid them: unclosed comments
and tags at the end of the input (splinter follows browsers there, html.parser keeps them as text) and
"</" followed by a non-letter (a bogus comment in HTML5, an end tag for html.parser).
"""
import sys
from html.parser import HTMLParser

BLOCK = set(("address article aside blockquote body br caption center dd div dl dt fieldset footer form h1 h2 h3 "
             "h4 h5 h6 head header hr html legend li nav noscript ol option p pre section table tbody tfoot thead "
             "title tr ul").split())


class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.pending, self.skip = [], 0, False

    def space(self, kind):
        self.pending = max(self.pending, kind)

    def tag(self, name):
        if name in BLOCK:
            self.space(2)
        elif name in ("td", "th", "img"):
            self.space(1)

    def handle_starttag(self, name, attrs):
        self.tag(name)
        if name in ("script", "style"):
            self.skip = True

    def handle_startendtag(self, name, attrs):
        self.tag(name)

    def handle_endtag(self, name):
        self.tag(name)
        if name in ("script", "style"):
            self.skip = False

    def handle_data(self, data):
        if self.skip:
            return
        for ch in data:
            if ch in " \t\n\r\f\xa0":
                self.space(1)
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                continue
            else:
                if self.pending and self.out:
                    self.out.append("\n" if self.pending == 2 else " ")
                self.pending = 0
                self.out.append(ch)


def main():
    with open(sys.argv[1], "w") as out:
        for path in sys.argv[2:]:
            with open(path, encoding="utf-8") as f:
                p = Text()
                p.feed(f.read())
                p.close()
            out.write("".join(p.out).encode("utf-8").hex() + "\n")


main()
