#!/usr/bin/python3
"""validate_envelopes.py - checks Sentry envelopes as telemetry.h writes them.

Reads TELEMETRY_DEBUG output (or raw envelope files) and, for every envelope: parses it by the
grammar of protocols.md section 2 (explicit lengths, one JSON header line per item), checks the
header's event_id matches the event's, validates every event against Sentry's event schema
(the one Relay is generated from) and every session against the rules of protocols.md 4.1.
Prints one line per envelope and "N passed, M failed"; exits 1 on any failure.

usage: validate_envelopes.py SCHEMA FILE...
"""
import json
import re
import sys

import jsonschema

MARK = b"telemetry: TELEMETRY_DEBUG is set: not sending this Sentry envelope to "
HEX32 = re.compile(r"^[0-9a-f]{32}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

SESSION_SCHEMA = {
    "type": "object",
    "required": ["sid", "started", "status", "attrs"],
    "additionalProperties": False,
    "properties": {
        "sid": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "did": {"type": "string", "minLength": 1},
        "init": {"type": "boolean"},
        "started": {"type": "string", "pattern": RFC3339.pattern},
        "timestamp": {"type": "string", "pattern": RFC3339.pattern},
        "seq": {"type": "integer"},
        "duration": {"type": "number", "minimum": 0},
        "status": {"enum": ["ok", "exited", "crashed", "abnormal"]},
        "errors": {"type": "integer", "minimum": 0},
        "attrs": {
            "type": "object",
            "required": ["release"],
            "additionalProperties": False,
            "properties": {"release": {"type": "string", "minLength": 1, "maxLength": 200},
                           "environment": {"type": "string", "minLength": 1, "maxLength": 64}},
        },
    },
}


def parse_envelope(data, pos):
    """Parses one envelope at data[pos:]; returns (header, items, next_pos)."""
    nl = data.index(b"\n", pos)
    header = json.loads(data[pos:nl])
    pos = nl + 1
    items = []
    while pos < len(data) and data[pos:pos + 9] == b'{"type":"':
        nl = data.index(b"\n", pos)
        item_header = json.loads(data[pos:nl])
        if "length" not in item_header:
            raise ValueError("item without an explicit length: %r" % item_header)
        start = nl + 1
        end = start + item_header["length"]
        if end > len(data):
            raise ValueError("item runs past the end of the data")
        if end < len(data) and data[end:end + 1] != b"\n":
            raise ValueError("byte after an item's payload is not a newline")
        items.append((item_header, data[start:end]))
        pos = end + 1
    return header, items, pos


def check(header, items, validator, session_validator):
    problems = []
    events = [json.loads(p) for h, p in items if h["type"] == "event"]
    if len(events) > 1:
        problems.append("more than one event in an envelope")
    if "sent_at" not in header or not RFC3339.match(header["sent_at"]):
        problems.append("sent_at missing or malformed")
    for event in events:
        if header.get("event_id") != event.get("event_id"):
            problems.append("envelope event_id differs from the event's")
        if not HEX32.match(event.get("event_id", "")):
            problems.append("event_id is not 32 lowercase hex digits")
        for err in validator.iter_errors(event):
            problems.append("event: %s at %s" % (err.message[:200], "/".join(map(str, err.path))))
        for key in ("server_name",):
            if key in event:
                problems.append("event carries %s (PII)" % key)
    if not events and "event_id" in header:
        problems.append("event_id header without an event")
    sessions = [json.loads(p) for h, p in items if h["type"] == "session"]
    for s in sessions:
        for err in session_validator.iter_errors(s):
            problems.append("session: %s" % err.message[:200])
        if s.get("status") == "crashed" and s.get("errors", 0) < 1:
            problems.append("crashed session with errors < 1")
    kinds = ",".join(h["type"] for h, _ in items) or "(no items)"
    return kinds, problems


def main():
    schema = json.load(open(sys.argv[1]))
    validator = jsonschema.Draft7Validator(schema)
    session_validator = jsonschema.Draft7Validator(SESSION_SCHEMA)
    passed = failed = 0
    for path in sys.argv[2:]:
        data = open(path, "rb").read()
        starts = []
        i = data.find(MARK)
        while i >= 0:
            starts.append(data.index(b"\n", i) + 1)
            i = data.find(MARK, i + 1)
        if not starts and data.startswith(b"{"):
            starts = [0]
        for pos in starts:
            try:
                header, items, _ = parse_envelope(data, pos)
                kinds, problems = check(header, items, validator, session_validator)
            except (ValueError, KeyError) as e:
                kinds, problems = "(unparsable)", [str(e)]
            if problems:
                failed += 1
                print("FAILED %s [%s]" % (path, kinds))
                for p in problems:
                    print("   ", p)
            else:
                passed += 1
                print("ok %s [%s]" % (path, kinds))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
