#!/usr/bin/python3
"""make_store_corpus.py: writes the seed segments of fuzz_state (tests/fuzz/corpus/state/segment_*)
with the record layout of telemetry.h >>outbox (the checksum from tests/check_store.py). The
first byte (2) makes fuzz_state read the rest as a segment of the store."""
import os
import sys

sys.dont_write_bytecode = True                   # no __pycache__ in tests/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from check_store import record  # noqa: E402

ENVELOPE = b'{"sdk":{"name":"x","version":"1"}}\n{"type":"session","length":2}\n{}\n'
session = record(1, 2, ENVELOPE)
usage = record(0, 0, b'{"app":"x"}', push_id=b"-O4IKNV-a9Qk2ZxLm0Pt")
damaged = bytearray(session)
damaged[40 + 6] = ord("X")                      # a byte of the payload changed after its checksum
torn = record(1, 1, ENVELOPE)[:30]              # a crash in the middle of the header's write
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "state")
for name, data in (("segment_two_records", session + usage), ("segment_bad_crc", bytes(damaged) + usage),
                   ("segment_torn", torn + session)):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"\x02" + data)
