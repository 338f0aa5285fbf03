"""Reference for test_utf8: Python's strict UTF-8 decoder and its cp1252 / iso-8859-15 codecs.

usage: utf8_ref.py utf8 IN OUT     IN has one hex-encoded byte string per line; OUT gets, per line,
                                   "<valid prefix length> <hex of the per-byte-repaired UTF-8>"
       utf8_ref.py charset NAME OUT  OUT gets the hex UTF-8 decoding of each byte 0x01..0xFF, one per line
"""
import codecs
import sys


def one_byte_replace(err):
    # Each byte that is not part of a valid sequence becomes one U+FFFD (Python's own 'replace'
    # handler replaces maximal subparts instead).
    return ("\ufffd", err.start + 1)


codecs.register_error("one_byte_replace", one_byte_replace)


def main():
    mode = sys.argv[1]
    if mode == "utf8":
        with open(sys.argv[2]) as f, open(sys.argv[3], "w") as out:
            for line in f:
                b = bytes.fromhex(line.strip())
                try:
                    b.decode("utf-8")
                    prefix = len(b)
                except UnicodeDecodeError as e:
                    prefix = e.start
                fixed = b.decode("utf-8", errors="one_byte_replace").replace("\0", "")
                out.write("%d %s\n" % (prefix, fixed.encode("utf-8").hex()))
    elif mode == "charset":
        codec = {"windows-1252": "cp1252", "iso-8859-15": "iso8859_15"}[sys.argv[2]]
        with open(sys.argv[3], "w") as out:
            for byte in range(1, 256):
                out.write(bytes([byte]).decode(codec, errors="replace").encode("utf-8").hex() + "\n")
    else:
        sys.exit("unknown mode " + mode)


main()
