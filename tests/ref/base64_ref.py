"""Reference for test_mime: Python's lenient base64 decoder (binascii.a2b_base64, as used by the email package).

usage: base64_ref.py IN OUT   IN has one hex-encoded input per line; OUT gets, per line, the hex of the
                              decoded bytes, or "error" where Python rejects the input (bad padding).
"""
import binascii
import sys

with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        try:
            out.write(binascii.a2b_base64(bytes.fromhex(line.strip())).hex() + "\n")
        except binascii.Error:
            out.write("error\n")
