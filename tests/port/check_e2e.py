#!/usr/bin/env python3
"""check_e2e.py - what the local receiver recorded from tests/port/e2e.c (tests/port/run.sh).

  check_e2e.py run   RECORD BINARY LOG   a normal run: the usage report (with e2e's metric and
                                         counter), the message, the error event with a stack and
                                         the program's own image (its real path, a debug_id), the
                                         threads' events, a session that ended "exited"
  check_e2e.py crash RECORD BINARY LOG   a crash run then a normal one: the fatal SIGSEGV event with
                                         frames the next run named (e2e_crash, main), the image,
                                         and the crashed session

E2E_OS_VERSION=PREFIX: the OS version the usage report and the events carry must start so (Windows
under wine playing Windows 10: "10.0.", which only RtlGetVersion tells a program without a manifest).
Prints one line per check and, last, a one-line summary; exits 1 when a check failed."""
import json
import os
import sys

mode, record, binary, log = sys.argv[1:5]
binary = os.path.realpath(binary)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


payloads = []
try:
    for line in open(record):
        payloads.append(json.loads(line))
except OSError:
    pass
items = [it for p in payloads if p.get("kind") == "envelope" for it in p.get("items") or []]
events = [it["payload"] for it in items if it["headers"].get("type") == "event" and isinstance(it["payload"], dict)]
sessions = [it["payload"] for it in items if it["headers"].get("type") == "session" and isinstance(it["payload"], dict)]
usage = [p["body"] for p in payloads if p.get("kind") == "firebase" and isinstance(p.get("body"), dict)]
log_text = open(log, errors="replace").read() if os.path.exists(log) else ""


def frames(ev):
    vals = (ev.get("exception") or {}).get("values") or [{}]
    return (vals[0].get("stacktrace") or {}).get("frames") or []


def own_image(ev):
    """The image entry of the program itself: named by its real path, with a debug_id."""
    home = os.environ.get("HOME", "")
    for im in (ev.get("debug_meta") or {}).get("images") or []:
        path = im.get("code_file") or ""
        if path.startswith("~") and home:
            path = home + path[1:]
        if path[:3].upper() == "Z:\\":           # wine: drive Z: is the Linux root
            path = "/" + path[3:].replace("\\", "/")
        if os.path.realpath(path) == binary:
            return im
    return None


def images(ev):
    return [im.get("code_file") for im in (ev.get("debug_meta") or {}).get("images") or []]


if mode == "run":
    check("exit=0" in log_text and "e2e: ok" in log_text, "the program's calls all succeeded and it exited 0")
    if "sizeof(off_t)" in log_text:
        check("sizeof(off_t)=8 sizeof(time_t)=8" in log_text, "64-bit off_t and time_t in the implementation's file")
    check(len(usage) == 1, "one usage report arrived (%d)" % len(usage))
    m = usage[0].get("metrics", {}) if usage else {}
    check(m.get("e2e_answer") == 42, "the usage report carries the program's metric (e2e_answer=%r)" % m.get("e2e_answer"))
    body = json.dumps(usage[0] if usage else {})
    check("e2e_runs" in body, "... and its counter")
    err = [e for e in events if e.get("level") == "error"]
    check(len(err) == 1, "one error event (%d)" % len(err))
    if err:
        check(len(frames(err[0])) > 0, "the error event has a stack (%d frames)" % len(frames(err[0])))
        im = own_image(err[0])
        check(im is not None, "its images name the program by its real path (%s)" % images(err[0]))
        check(bool(im and im.get("debug_id")), "the program's image has a debug_id (%s)" % (im or {}).get("debug_id"))
    info = [e for e in events if e.get("level") == "info"]
    check(len(info) == 1, "one message event (%d)" % len(info))
    warn = [e for e in events if e.get("level") == "warning"]
    check(len(warn) == 4, "one warning event from each of the 4 threads (%d)" % len(warn))
    want = os.environ.get("E2E_OS_VERSION")
    if want:
        got = [str(m.get("os_version"))] + [str(((e.get("contexts") or {}).get("os") or {}).get("version")) for e in events]
        check(all(v.startswith(want) for v in got), "the OS version is %s... everywhere (%s)" % (want, sorted(set(got))))
        check(m.get("os_distribution") is None, "no distribution (%r)" % m.get("os_distribution"))
    ended = [s for s in sessions if s.get("status") == "exited"]
    check(len(ended) == 1, "the session ended as exited (%s)" % [s.get("status") for s in sessions])
    summary = "%d payloads" % len(payloads)
elif mode == "crash":
    check("crash run exit=" in log_text and "crash run exit=0\n" not in log_text, "the crash run died")
    fatal = [e for e in events if e.get("level") == "fatal"]
    check(len(fatal) == 1, "the next run delivered one fatal event (%d)" % len(fatal))
    summary = "no fatal event"
    if fatal:
        ev = fatal[0]
        ex = ((ev.get("exception") or {}).get("values") or [{}])[0]
        check(ex.get("type") == "SIGSEGV", "it is a SIGSEGV (%s)" % ex.get("type"))
        fr = frames(ev)
        names = [f.get("function") or "" for f in fr]
        check(len(fr) > 0, "it has the crashing stack (%d frames)" % len(fr))
        check(any(n.startswith("e2e_crash") for n in names) and "main" in names,
              "the next run named its frames e2e_crash and main (%s)" % [n for n in names if n][-4:])
        im = own_image(ev)
        check(im is not None, "its images name the program by its real path (%s)" % images(ev))
        check(bool(im and im.get("debug_id")), "the program's image has a debug_id")
        summary = "%d frames, %d named" % (len(fr), len([n for n in names if n]))
    crashed = [s for s in sessions if s.get("status") == "crashed"]
    check(len(crashed) == 1, "the crashed session was reported crashed (%s)" % [s.get("status") for s in sessions])
else:
    sys.exit("usage: check_e2e.py run|crash RECORD BINARY LOG")

print("%d checks failed: %s" % (len(failures), failures[0]) if failures else summary)
sys.exit(1 if failures else 0)
