#!/usr/bin/python3
"""check_crash_record.py RECORD SIGNAL SCHEMA [FUNCTION]: the receiver's record (JSON lines) holds exactly one
crash event for SIGNAL, valid under Sentry's event schema, with the crashing frame and its image,
and a session that ended "crashed". Prints "N passed, M failed"."""
import json
import sys

import jsonschema

record, signal, schema_path = sys.argv[1], sys.argv[2], sys.argv[3]
expect_function = sys.argv[4] if len(sys.argv) > 4 else None   # the next run names the frames
validator = jsonschema.Draft7Validator(json.load(open(schema_path)))
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAILED: %s: %s" % (signal, what))


crashes, sessions = [], []
for line in open(record):
    rec = json.loads(line)
    if rec.get("kind") != "envelope":
        continue
    for item in rec.get("items", []):
        t = item["headers"].get("type")
        if t == "event" and item["payload"].get("level") == "fatal":
            crashes.append((rec, item["payload"]))
        elif t == "session":
            sessions.append(item["payload"])
check(len(crashes) == 1, "exactly one crash event arrived (got %d)" % len(crashes))
if crashes:
    rec, ev = crashes[0]
    errors = list(validator.iter_errors(ev))
    check(not errors, "valid under the event schema: %s" % "; ".join(e.message[:120] for e in errors[:3]))
    check(rec.get("event_id") == ev.get("event_id"), "envelope header event_id matches")
    exc = ev.get("exception", {}).get("values", [{}])[0]
    check(exc.get("type") == signal, "exception type is %s (got %s)" % (signal, exc.get("type")))
    mech = exc.get("mechanism", {})
    check(mech.get("type") == "signalhandler" and mech.get("handled") is False, "mechanism signalhandler, unhandled")
    check(mech.get("meta", {}).get("signal", {}).get("name") == signal, "meta.signal names the signal")
    frames = exc.get("stacktrace", {}).get("frames", [])
    check(len(frames) >= 1, "at least the crashing frame")
    images = ev.get("debug_meta", {}).get("images", [])
    if frames:
        last = int(frames[-1]["instruction_addr"], 16)
        inside = [i for i in images if int(i["image_addr"], 16) <= last < int(i["image_addr"], 16) + i["image_size"]]
        check(len(inside) == 1, "the crashing frame's image is in debug_meta")
        check(bool(inside) and inside[0].get("code_id") and inside[0].get("debug_id"), "the image has code_id and debug_id")
    if expect_function:
        names = [f.get("function") for f in frames]
        check(expect_function in names, "a frame is named %s (got %s)" % (expect_function, names))
        check(frames and frames[-1].get("function") == expect_function, "the crashing frame is %s" % expect_function)
    threads = ev.get("threads", {}).get("values", [])
    check(any(t.get("crashed") and t.get("id") == exc.get("thread_id") for t in threads), "the crashing thread is named")
    check(any(c.get("message", "").startswith("about to crash") for c in ev.get("breadcrumbs", {}).get("values", [])),
          "breadcrumbs as they were")
    check(ev.get("tags", {}).get("mode") is not None, "tags as they were")
check(any(s.get("status") == "crashed" and s.get("errors", 0) >= 1 for s in sessions), "the session ended crashed")
check(not any(s.get("status") == "abnormal" for s in sessions), "no abnormal session besides it")
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
