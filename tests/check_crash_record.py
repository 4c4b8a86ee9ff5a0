#!/usr/bin/python3
"""check_crash_record.py RECORD SIGNAL SCHEMA [FUNCTION] [OPTION...]: the receiver's record (JSON lines) holds
exactly one crash event for SIGNAL, valid under Sentry's event schema, with the crashing frame and
its image, and a session that ended "crashed". Prints "N passed, M failed".
FUNCTION (or -): the name the next run gives the crashing frame. Options:
  --has NAME         some frame is named NAME (looked up at return address - 1)
  --sent             the signal was sent by a process: no fault address, "sent by a process"
  --fault            a hardware fault: mechanism.data.fault_address is there
  --image SUFFIX     the crashing frame's image has a code_file ending in SUFFIX
  --text-id BINARY   BINARY has no build id: its image's debug_id is the .text hash (computed
                     here, independently) and it has no code_id"""
import json
import struct
import sys

import jsonschema

record, signal, schema_path = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]
expect_function = None                 # the next run names the frames
if args and not args[0].startswith("--"):
    expect_function = None if args[0] == "-" else args[0]
    args = args[1:]
opts = {"has": [], "sent": False, "fault": False, "image": None, "text_id": None}
while args:
    a = args.pop(0)
    if a == "--has": opts["has"].append(args.pop(0))
    elif a == "--sent": opts["sent"] = True
    elif a == "--fault": opts["fault"] = True
    elif a == "--image": opts["image"] = args.pop(0)
    elif a == "--text-id": opts["text_id"] = args.pop(0)
    else: sys.exit("unknown option " + a)


def text_debug_id(path):
    """Sentry's identifier of an ELF file without a build id (symbolic's ElfObject::debug_id):
    the first 4096 bytes of .text XORed into 16, read as a little-endian GUID."""
    data = open(path, "rb").read()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "64-bit ELF only"
    e = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
    def sh(i):
        return struct.unpack_from(e + "IIQQQQIIQQ", data, shoff + i * shentsize)
    names_off = sh(shstrndx)[4]
    for i in range(shnum):
        name, typ, _, _, off, size = sh(i)[:6]
        end = data.index(b"\0", names_off + name)
        if typ == 1 and data[names_off + name:end] == b".text":
            h = bytearray(16)
            for k, b in enumerate(data[off:off + min(size, 4096)]):
                h[k % 16] ^= b
            g = bytes(h[3::-1] + h[5:3:-1] + h[7:5:-1] + h[8:])
            x = g.hex()
            return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])
    return None
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
        check(bool(inside) and (inside[0].get("code_id") or opts["text_id"]) and inside[0].get("debug_id"), "the image has code_id and debug_id")
    if expect_function:
        names = [f.get("function") for f in frames]
        check(expect_function in names, "a frame is named %s (got %s)" % (expect_function, names))
        check(frames and frames[-1].get("function") == expect_function, "the crashing frame is %s" % expect_function)
    for name in opts["has"]:
        check(name in [f.get("function") for f in frames], "a frame is named %s (got %s)" % (name, [f.get("function") for f in frames]))
    fault_address = mech.get("data", {}).get("fault_address")
    if opts["sent"]:
        check(fault_address is None, "no fault_address for a sent signal (got %s)" % fault_address)
        check((signal == "SIGABRT" or exc.get("value", "").endswith("sent by a process")) and " at 0x" not in exc.get("value", ""),
              "the value names the sender, not an address (got %r)" % exc.get("value"))
    if opts["fault"]:
        check(fault_address is not None and exc.get("value", "").find(" at 0x") > 0, "a fault has its address (got %r)" % exc.get("value"))
    crashing = [i for i in images if frames and int(i["image_addr"], 16) <= int(frames[-1]["instruction_addr"], 16) < int(i["image_addr"], 16) + i["image_size"]]
    if opts["image"]:
        check(bool(crashing) and crashing[0].get("code_file", "").endswith(opts["image"]),
              "the crashing frame's image is %s (got %s)" % (opts["image"], [i.get("code_file") for i in crashing]))
    if opts["text_id"]:
        want = text_debug_id(opts["text_id"])
        check(bool(crashing) and crashing[0].get("debug_id") == want and "code_id" not in crashing[0],
              "the image without a build id has debug_id %s from .text and no code_id (got %s)" % (want, crashing))
    threads = ev.get("threads", {}).get("values", [])
    check(any(t.get("crashed") and t.get("id") == exc.get("thread_id") for t in threads), "the crashing thread is named")
    check(any(c.get("message", "").startswith("about to crash") for c in ev.get("breadcrumbs", {}).get("values", [])),
          "breadcrumbs as they were")
    check(ev.get("tags", {}).get("mode") is not None, "tags as they were")
check(any(s.get("status") == "crashed" and s.get("errors", 0) >= 1 for s in sessions), "the session ended crashed")
check(not any(s.get("status") == "abnormal" for s in sessions), "no abnormal session besides it")
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
