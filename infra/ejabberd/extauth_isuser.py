#!/usr/bin/python3
"""ejabberd extauth helper that only answers `isuser` (so offline messages are stored).
Passwords are never accepted here: authentication is ejabberd's JWT backend."""
import re
import struct
import sys

USER_RE = re.compile(r"^[A-Za-z0-9+._-]{1,64}$")
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    hdr = inp.read(2)
    if len(hdr) < 2:
        break
    (n,) = struct.unpack(">H", hdr)
    parts = inp.read(n).decode("utf-8", "replace").split(":", 3)
    ok = 1 if (parts[0] == "isuser" and len(parts) >= 2 and USER_RE.match(parts[1])) else 0
    out.write(struct.pack(">HH", 2, ok))
    out.flush()
