#!/usr/bin/python3
# report-record.py FILE ACTION LOGDATA: whether FILE holds the report_error
# record s390-tools' zpcictl writes for ACTION with LOGDATA (a C string, its
# NUL included; "" for none), built here from the published layout: the
# whole packed struct, big-endian as on s390, err_log_id 0x4713, log_data
# zero-padded. The timestamp must be now.
import struct
import sys
import time

path, action, log = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
got = open(path, "rb").read()
data = log + b"\0" if log else b""
data = data[:4054]
if data:
    data = data[:-1] + b"\0"
ts = int.from_bytes(got[4:12], "big") if len(got) >= 12 else 0
want = struct.pack(">BBHQQ", 1, action, 16 + len(data), ts, 0x4713) + data.ljust(4054, b"\0")
if len(got) != len(want):
    sys.exit(f"{len(got)} bytes written, s390-tools writes {len(want)}")
if got != want:
    i = next(i for i in range(len(got)) if got[i] != want[i])
    sys.exit(f"byte {i} differs: {got[max(0, i - 4):i + 8].hex()} != {want[max(0, i - 4):i + 8].hex()}")
if not 0 <= time.time() - ts < 60:
    sys.exit(f"timestamp {ts} is not now")
