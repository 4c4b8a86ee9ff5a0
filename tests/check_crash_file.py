#!/usr/bin/python3
"""check_crash_file.py FILE...: each crash file the handler left in the outbox is one whole envelope
(a meta line, the header, items whose lengths match and whose payloads are JSON). Exit 1 if not."""
import json
import sys

bad = 0
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    try:
        _meta, rest = data.split(b"\n", 1)
        header, rest = rest.split(b"\n", 1)
        json.loads(header)
        items = 0
        while rest.strip():
            ih, rest = rest.split(b"\n", 1)
            ih = json.loads(ih)
            payload, rest = rest[:ih["length"]], rest[ih["length"]:]
            json.loads(payload)
            items += 1
            if rest[:1] == b"\n":
                rest = rest[1:]
        if items == 0:
            raise ValueError("no items")
    except Exception as e:  # noqa: BLE001 - any failure means a broken file
        bad += 1
        print("BROKEN %s: %s: %r" % (path, type(e).__name__, str(e)[:100]))
print("%d files, %d broken" % (len(sys.argv) - 1, bad))
sys.exit(1 if bad else 0)
