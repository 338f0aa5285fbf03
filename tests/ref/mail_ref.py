"""Reference for test_mime: the text of plain-text mail, from Python's own e-mail parser.

usage: mail_ref.py OUT FILE...   OUT gets one line per FILE: the hex of the expected UTF-8 text
                                 ("Subject\\n\\nbody"), or "skip <reason>" for messages this reference
                                 does not cover (HTML parts, parser defects).

Python's email package parses the MIME structure and undoes RFC 2047 and the transfer encodings; the
splinter rules are applied on top: charset table (utf-8, iso-8859-15, else windows-1252; valid non-ASCII
UTF-8 kept as UTF-8), alternative prefers text/plain, message/rfc822 adds its Subject line, plain-text
normalisation (line ends, controls, trailing blanks, blank-line runs), subject whitespace collapsed.
"""
import email
import email.errors
import email.header
import re
import sys
from email import policy


class Skip(Exception):
    pass


def to_text(b, charset):
    cs = (charset or "").lower().strip("\"' ")
    if cs == "unknown-8bit":
        cs = ""
    try:
        u = b.decode("utf-8")
        if cs in ("utf-8", "utf8") or any(ord(c) > 127 for c in u):
            return u.replace("\0", "")
    except UnicodeDecodeError:
        pass
    if cs in ("utf-8", "utf8"):
        return b.decode("utf-8", errors="one_byte").replace("\0", "")
    codec = "iso8859_15" if cs in ("iso-8859-15", "latin9") else "cp1252"
    return b.decode(codec, errors="replace").replace("\0", "")


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
    s = "".join(to_text(p, c) if isinstance(p, bytes) else to_text(p.encode("utf-8", "surrogateescape"), None)
                for p, c in parts)
    s = "".join(ch for ch in s if ch in "\t\n\r" or not (ord(ch) < 0x20 or ord(ch) == 0x7F))
    return " ".join(s.replace("\xa0", " ").split())


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
    t = plain(to_text(part.get_payload(decode=True) or b"", part.get_content_charset()))
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
