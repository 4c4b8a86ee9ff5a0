#!/usr/bin/python3
"""check_store.py [--crashes N] SEGMENT...: reads the store's segment files (telemetry.h >>outbox:
40-byte record headers "TLR1", payload length, CRC-32 of header bytes 12..14 and 16..39 and the
payload) and checks that every record is whole and that each envelope's items have the lengths
their headers say and JSON payloads. Prints one line per record; with --crashes N, exits 1 unless
exactly N crash records (flags bit 1) were found. Exit 1 on any broken record."""
import json
import struct
import sys
import zlib

args = sys.argv[1:]
want_crashes = None
if args[:1] == ["--crashes"]:
    want_crashes = int(args[1])
    args = args[2:]
bad = crashes = records = 0


def check_envelope(payload):
    header, rest = payload.split(b"\n", 1)
    json.loads(header)
    items = 0
    while rest.strip():
        ih, rest = rest.split(b"\n", 1)
        ih = json.loads(ih)
        body, rest = rest[:ih["length"]], rest[ih["length"]:]
        json.loads(body)
        items += 1
        if rest[:1] == b"\n":
            rest = rest[1:]
    if items == 0:
        raise ValueError("no items")


for path in args:
    data = open(path, "rb").read()
    off = 0
    while off < len(data):
        try:
            h = data[off:off + 40]
            if len(h) < 40 or h[:4] != b"TLR1":
                raise ValueError("no record header at offset %d" % off)
            length, crc = struct.unpack("<II", h[4:12])
            payload = data[off + 40:off + 40 + length]
            if len(payload) != length:
                raise ValueError("torn record at offset %d" % off)
            if zlib.crc32(payload, zlib.crc32(h[16:40], zlib.crc32(h[12:15]))) != crc:
                raise ValueError("checksum mismatch at offset %d" % off)
            kind, flags = h[12], h[14]
            if kind == 1:
                check_envelope(payload)
            else:
                json.loads(payload)
            records += 1
            crashes += flags & 1
            print("%s @%d kind %d category %d flags %d state %r, %d bytes" % (path, off, kind, h[13], flags, chr(h[15]) if h[15] else 0, length))
            off += 40 + length
        except Exception as e:  # noqa: BLE001 - any failure means a broken store
            bad += 1
            print("BROKEN %s: %s: %r" % (path, type(e).__name__, str(e)[:100]))
            break
print("%d records, %d crash records, %d broken" % (records, crashes, bad))
sys.exit(1 if bad or (want_crashes is not None and crashes != want_crashes) else 0)
