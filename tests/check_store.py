#!/usr/bin/python3
"""check_store.py [--crashes N] SEGMENT...: reads the store's segment files (telemetry.h >>outbox:
40-byte record headers "TLR1", payload length, the record checksum of rec_sum below) and checks that every record is whole and that each envelope's items have the lengths
their headers say and JSON payloads. Prints one line per record; with --crashes N, exits 1 unless
exactly N crash records (flags bit 1) were found. Exit 1 on any broken record."""
import json
import struct
import sys

M64 = (1 << 64) - 1
SUM_K = 0x9E3779B97F4A7C15
SUM_SEED = 0x243F6A8885A308D3


def sum_words(h, data):
    """telemetry__sum: each little-endian 64-bit word (the last one zero-padded) mixed in by
    h = mix(h ^ word), mix(x) = the 128-bit product x * K with its two halves added."""
    for i in range(0, len(data), 8):
        p = (h ^ int.from_bytes(data[i:i + 8], "little")) * SUM_K
        h = ((p & M64) + (p >> 64)) & M64
    return h


def rec_sum(header, payload):
    """telemetry__rec_sum: the header with bytes 8..11 (the checksum) and 15 (the state) as
    zeros, then the payload; the 64-bit sum folded to 32 bits."""
    head = header[:8] + bytes(4) + header[12:15] + bytes(1) + header[16:40]
    h = sum_words(sum_words(SUM_SEED, head), payload)
    return (h ^ (h >> 32)) & 0xFFFFFFFF



def record(kind, category, payload, flags=0, push_id=b"", state=0):
    """One record as telemetry__rec_header makes it (tests/fuzz/make_store_corpus.py uses it)."""
    h = bytearray(40)
    h[0:4] = b"TLR1"
    h[4:8] = struct.pack("<I", len(payload))
    h[12], h[13], h[14] = kind, category, flags
    h[16:16 + len(push_id)] = push_id[:20]
    h[8:12] = struct.pack("<I", rec_sum(bytes(h), payload))
    h[15] = state
    return bytes(h) + payload


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


def main(args):
    want_crashes = None
    if args[:1] == ["--crashes"]:
        want_crashes = int(args[1])
        args = args[2:]
    bad = crashes = records = 0
    for path in args:
        data = open(path, "rb").read()
        off = 0
        while off < len(data):
            try:
                h = data[off:off + 40]
                if len(h) < 40 or h[:4] != b"TLR1":
                    raise ValueError("no record header at offset %d" % off)
                length, want = struct.unpack("<II", h[4:12])
                payload = data[off + 40:off + 40 + length]
                if len(payload) != length:
                    raise ValueError("torn record at offset %d" % off)
                if rec_sum(h, payload) != want:
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
    return 1 if bad or (want_crashes is not None and crashes != want_crashes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
