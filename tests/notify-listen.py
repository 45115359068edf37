#!/usr/bin/python3
"""A stand-in for the service manager's NOTIFY_SOCKET: binds a datagram
socket at argv[1] and appends every message it receives to argv[2], one
message per line with embedded newlines turned into '|'."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        data = s.recv(4096)
        f.write(data.decode(errors="replace").replace("\n", "|") + "\n")
