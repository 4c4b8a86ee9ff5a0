#!/usr/bin/env python3
"""check_device.py - what the local receiver recorded from the emulated device (tests/port/run.sh,
cortex-m4 job): two runs of the device (run 1 without a stream when the outbox is kept in the
device's flash: its report and error then wait there for run 2). Both runs' usage reports and
SensorError events must have arrived, the reports under one install id (kept in the flash across
the "reboot") with the device's metric.

  check_device.py RECORD      prints one line per check and a summary; exits 1 on a failure"""
import json
import sys

payloads = [json.loads(line) for line in open(sys.argv[1])]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


usage = [p["body"] for p in payloads if p.get("kind") == "firebase" and isinstance(p.get("body"), dict)]
items = [it for p in payloads if p.get("kind") == "envelope" for it in p.get("items") or []]
events = [it["payload"] for it in items if it["headers"].get("type") == "event" and isinstance(it["payload"], dict)]
errors = [e for e in events if ((e.get("exception") or {}).get("values") or [{}])[0].get("type") == "SensorError"]
check(len(usage) == 2, "two usage reports arrived, one per run (%d)" % len(usage))
ids = {u.get("install_id") for u in usage}
check(len(ids) == 1 and None not in ids, "both under one install id, kept in the flash (%s)" % sorted(map(str, ids)))
check(all((u.get("metrics") or {}).get("device_answer") == 42 for u in usage), "each with the device's metric")
check(all((u.get("counters") or {}).get("device_boots") == 1 for u in usage), "each with its boot counted once")
check(len(errors) == 2, "two SensorError events arrived, one per run (%d)" % len(errors))
print("%d checks failed" % len(failures) if failures else "device: both runs delivered through the stream")
sys.exit(1 if failures else 0)
