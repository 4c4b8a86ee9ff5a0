#!/usr/bin/python3
"""split_examples.py OUT_DIR < debug-output: writes each payload of a TELEMETRY_DEBUG run as a file:
usage-report.json, message-event.json, error-event.json, session-<status>.json (pretty-printed),
and message-envelope.txt (the envelope's exact bytes as sent, sent_at and all)."""
import json
import os
import sys

MARK = b"telemetry: TELEMETRY_DEBUG is set: not sending this "
data = sys.stdin.buffer.read()
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write(name, obj):
    with open(os.path.join(out, name), "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


pos = data.find(MARK)
while pos >= 0:
    start = data.index(b"\n", pos) + 1
    nxt = data.find(MARK, start)
    chunk = data[start:nxt if nxt >= 0 else len(data)]
    if data[pos + len(MARK):].startswith(b"usage report"):
        write("usage-report.json", json.loads(chunk.split(b"\n")[0]))
    else:
        header_end = chunk.index(b"\n")
        p = header_end + 1
        while p < len(chunk) and chunk[p:p + 9] == b'{"type":"':
            nl = chunk.index(b"\n", p)
            item = json.loads(chunk[p:nl])
            payload = json.loads(chunk[nl + 1:nl + 1 + item["length"]])
            p = nl + 1 + item["length"] + 1
            if item["type"] == "event":
                kind = "error" if "exception" in payload else "message"
                write("%s-event.json" % kind, payload)
                if kind == "message":
                    with open(os.path.join(out, "message-envelope.txt"), "wb") as f:
                        f.write(chunk[:p])
            elif item["type"] == "session":
                write("session-%s%s.json" % (payload["status"], "-init" if payload.get("init") else ""), payload)
    pos = nxt
