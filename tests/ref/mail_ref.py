"""Reference for test_mime: the text of plain-text mail, from Python's own e-mail parser.

usage: mail_ref.py OUT FILE...   OUT gets one line per FILE: the hex of the expected UTF-8 text
                                 ("Subject\\n\\nbody"), or "skip <reason>" for messages this reference
                                 does not cover (HTML parts, parser defects).

Python's email package parses the MIME structure and undoes RFC 2047 and the transfer encodings; the
splinter rules are applied on top: charsets (utf-8; the windows-1252 labels; iso-8859-15; other labels
through Python's codecs with the aliases of docs/mail-text.md, each undecodable byte one U+FFFD; unknown
labels windows-1252; valid UTF-8 kept as UTF-8 except under 7-bit escape charsets; unlabelled 8-bit text in
the charset the message declares elsewhere), alternative prefers text/plain, message/rfc822 adds its Subject
line, plain-text normalisation (line ends, controls, trailing blanks, blank-line runs), subject whitespace
collapsed.
"""
import email
import email.errors
import email.header
import re
import sys
from email import policy


class Skip(Exception):
    pass


UTF8 = {"utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"}
CP1252 = {"", "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "csascii", "cp367", "ibm367", "iso-ir-6",
          "iso-8859-1", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "latin1", "latin-1", "l1", "cp819",
          "ibm819", "iso-ir-100", "csisolatin1", "windows-1252", "cp1252", "x-cp1252"}
LATIN9 = {"iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "iso_8859-15:1998", "latin9", "latin-9", "l9",
          "csisolatin9", "iso-ir-203"}
# The supersets docs/mail-text.md names, as Python codecs.
ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "csgb2312": "gb18030", "euc-cn": "gb18030", "cp936": "gb18030",
           "gb2312_charset": "gb18030", "big5": "big5hkscs", "chinesebig5": "big5hkscs", "euc-kr": "cp949",
           "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "korean": "cp949", "shift_jis": "cp932",
           "sjis": "cp932", "x-sjis": "cp932", "iso-2022-jp": "iso2022_jp_2", "iso-8859-8-i": "iso8859_8",
           "iso-8859-6-i": "iso8859_6", "iso-8859-9": "cp1254", "latin5": "cp1254", "tis-620": "cp874",
           "iso-8859-11": "cp874"}
ESCAPE = ("iso2022", "iso-2022", "utf_7", "utf-7", "hz")


def label_of(charset):
    return (charset or "").lower().strip("\"' \t").split("*")[0]


def codec_of(cs):
    """Python codec for a label outside the tables, or None if unknown."""
    for name in (cs, cs[2:] if cs.startswith("x-") and len(cs) > 2 else None):
        if not name:
            continue
        name = ALIASES.get(name, name)
        if not re.fullmatch(r"[a-z0-9_.:-]+", name):
            return None
        try:
            return codecs.lookup(name).name
        except LookupError:
            pass
    return None


def guess_usable(cs):
    cs = label_of(cs)
    if cs in UTF8 or cs in CP1252 or cs in LATIN9:
        return False
    c = codec_of(cs)
    return c is not None and not c.replace("-", "_").startswith(tuple(e.replace("-", "_") for e in ESCAPE))


HINT = [""]  # the message's guess for unlabelled 8-bit text (set per message by mail())


def to_text(b, charset, trust_utf8=True, unlabelled=False):
    cs = label_of(charset)
    if unlabelled and cs == "" and HINT[0]:
        cs = label_of(HINT[0])
    codec = None if cs in UTF8 or cs in CP1252 or cs in LATIN9 else codec_of(cs)
    escape = codec is not None and codec.replace("-", "_").startswith(tuple(e.replace("-", "_") for e in ESCAPE))
    if trust_utf8 and not escape:
        try:
            return b.decode("utf-8").replace("\0", "")
        except UnicodeDecodeError:
            pass
    if cs in UTF8:
        return b.decode("utf-8", errors="one_byte").replace("\0", "")
    if codec is not None:
        return b.decode(codec, errors="one_byte").replace("\0", "")
    return b.decode("iso8859_15" if cs in LATIN9 else "cp1252", errors="replace").replace("\0", "")


def one_byte(err):
    return ("\ufffd", err.start + 1)


import codecs  # noqa: E402

codecs.register_error("one_byte", one_byte)


def plain(t):
    t = t.replace("\r\n", "\n").replace("\r", "\n")
    t = "".join(ch for ch in t if ch in "\t\n" or not (ord(ch) < 0x20 or ord(ch) == 0x7F))
    out = []
    for line in t.split("\n"):
        line = line.rstrip(" \t")
        if not out and line.strip(" \t") == "":
            continue
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).lstrip(" \t").rstrip(" \t\n")


def header_text(value):
    parts = email.header.decode_header(value)
    # Encoded words in their own charset; raw bytes (which compat32 labels "unknown-8bit") as UTF-8 if
    # valid, else in the message's guess.
    s = "".join(to_text(p, c, trust_utf8=False) if isinstance(p, bytes) and c and c != "unknown-8bit" else
                to_text(p if isinstance(p, bytes) else p.encode("utf-8", "surrogateescape"), None, unlabelled=True)
                for p, c in parts)
    s = "".join(ch for ch in s if ch in "\t\n\r" or not (ord(ch) < 0x20 or ord(ch) == 0x7F))
    # The whitespace splinter collapses: ASCII blanks, line breaks, \f, \v and U+00A0 (not U+3000, U+0085).
    return " ".join(w for w in re.split("[ \t\r\n\f\v\xa0]+", s) if w)


def render(part, out):
    ct = part.get_content_type()
    if ct == "message/rfc822":
        inner = part.get_payload()[0]
        if inner.get("Subject") is not None and header_text(inner.get("Subject")):
            out.append(header_text(inner.get("Subject")))
        render(inner, out)
        return
    if part.is_multipart():
        subs = part.get_payload()
        if ct == "multipart/alternative":
            for s in subs:
                if s.get_content_type() == "text/plain":
                    buf = []
                    render(s, buf)
                    if "".join(buf).strip():
                        out.extend(buf)
                        return
            raise Skip("alternative without text/plain")
        for s in subs:
            render(s, out)
        return
    if ct in ("text/html", "text/enriched", "text/richtext"):
        raise Skip("html")
    if not ct.startswith("text/"):
        return
    t = plain(to_text(part.get_payload(decode=True) or b"", part.get_content_charset(), unlabelled=True))
    if t:
        out.append(t)


def mail(raw):
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    m = email.message_from_bytes(raw, policy=policy.compat32)
    for part in m.walk():
        # A missing closing boundary ends the last part at the end of input, as in splinter; other
        # defects (no start boundary, ...) are where the two parsers' repairs differ.
        if any(not isinstance(d, email.errors.CloseBoundaryNotFoundDefect) for d in part.defects):
            raise Skip("defects")
    if m.get("Content-Type") is None and not m.is_multipart():
        head = m.get_payload().lstrip()[:2048].lower()
        if head.startswith("<") and any(k in head for k in ("<html", "<body", "<!doctype html", "<head", "<table",
                                                             "<font", "<p>", "<div", "<br")):
            raise Skip("html")  # splinter reads such bodies as HTML
    HINT[0] = ""
    for mt in re.finditer(rb"(?i)charset[ \t]*=(?:3D)?[ \t\"']*([A-Za-z0-9_.:-]{1,31})", raw):
        if guess_usable(mt.group(1).decode()):
            HINT[0] = mt.group(1).decode()
            break
    if not HINT[0]:
        top = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
        for mt in re.finditer(rb"=\?([^?\s]{1,40})\?", top):
            if guess_usable(mt.group(1).decode("latin-1")):
                HINT[0] = mt.group(1).decode("latin-1")
                break
    subject = m.get("Subject")
    s = header_text(subject) if subject is not None else ""
    body = []
    render(m, body)
    return s + "\n\n" + "\n".join(body)


def main():
    with open(sys.argv[1], "w") as out:
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                raw = f.read()
            try:
                out.write(mail(raw).encode("utf-8").hex() + "\n")
            except Skip as e:
                out.write("skip %s\n" % e)


main()
