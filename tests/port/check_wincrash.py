#!/usr/bin/env python3
"""tests/port/check_wincrash.py - checks the Windows error and crash events of tests/port/wincrash.c
against the .exe itself: the PE headers and the CodeView RSDS record are read from the file here
(not by the library), and frames are named with binutils' addr2line for the target.

  check_wincrash.py error RECORD.jsonl EXE ADDR2LINE      the error event the receiver got
  check_wincrash.py crash MODE RECORD.jsonl EXE ADDR2LINE [DLL] [full]   the crash event the
                       receiver got; DLL for mode dll; full: main must be on the stack
  check_wincrash.py nofatal RECORD.jsonl                  no fatal event arrived
  check_wincrash.py sessions RECORD.jsonl N             N rounds of errcrash + next (the race of
                       the crash handler and the worker's session file): each session ends once
  check_wincrash.py pe EXE                                 prints what the file says (a tool)

Prints one line per check and "N passed, M failed"; exits 1 on any failure."""
import json
import os
import struct
import subprocess
import sys

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAILED: {what} {detail}")


def pe_info(path):
    """TimeDateStamp, SizeOfImage, ImageBase and the RSDS record (GUID string, age, PDB path)."""
    data = open(path, "rb").read()
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0", "not a PE file"
    nsect, stamp = struct.unpack_from("<HI", data, pe + 6)
    opt_size = struct.unpack_from("<H", data, pe + 20)[0]
    opt = pe + 24
    magic = struct.unpack_from("<H", data, opt)[0]
    pe64 = magic == 0x20B
    base = struct.unpack_from("<Q", data, opt + 24)[0] if pe64 else struct.unpack_from("<I", data, opt + 28)[0]
    size = struct.unpack_from("<I", data, opt + 56)[0]
    dirs = opt + (112 if pe64 else 96)
    dbg_rva, dbg_size = struct.unpack_from("<II", data, dirs + 6 * 8)
    sections = []
    for i in range(nsect):
        s = opt + opt_size + 40 * i
        vsize, va, rawsize, rawptr = struct.unpack_from("<IIII", data, s + 8)
        sections.append((va, max(vsize, rawsize), rawptr))

    def file_offset(rva):
        for va, sz, raw in sections:
            if va <= rva < va + sz:
                return rva - va + raw
        return None

    info = {"stamp": stamp, "size": size, "base": base, "pe64": pe64, "guid": None, "age": None, "pdb": None}
    off = file_offset(dbg_rva) if dbg_rva else None
    for k in range(0, dbg_size if off is not None else 0, 28):
        typ, sz, rva, ptr = struct.unpack_from("<IIII", data, off + k + 12)
        if typ != 2:   # IMAGE_DEBUG_TYPE_CODEVIEW
            continue
        rec = data[ptr:ptr + sz]
        if rec[:4] != b"RSDS":
            continue
        d1, d2, d3 = struct.unpack_from("<IHH", rec, 4)
        d4 = rec[12:20]
        info["guid"] = f"{d1:08x}-{d2:04x}-{d3:04x}-{d4[:2].hex()}-{d4[2:].hex()}"
        info["age"] = struct.unpack_from("<I", rec, 20)[0]
        info["pdb"] = rec[24:].split(b"\0")[0].decode("utf-8", "replace")
        break
    return info


def objdump_rsds(exe):
    """objdump -p's own reading of the RSDS record, as a second opinion: 'signature age'."""
    tool = "x86_64-w64-mingw32-objdump"
    try:
        out = subprocess.run([tool, "-p", exe], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        if "RSDS signature" in line:
            w = line.split()
            return w[w.index("signature") + 1], int(w[w.index("age") + 1])
    return None


def events(record_path):
    out = []
    for line in open(record_path):
        r = json.loads(line)
        if r.get("kind") != "envelope":
            continue
        for it in r.get("items", []):
            if it["headers"].get("type") == "event":
                out.append((r, it["payload"]))
    return out


SYMBOLS = {}


def nm_symbol(addr2line, exe, file_addr):
    """The function symbol at or before file_addr (nm -n), for code without debug info (asm)."""
    if exe not in SYMBOLS:
        out = subprocess.run([addr2line.replace("addr2line", "nm"), "-n", exe], capture_output=True, text=True).stdout
        SYMBOLS[exe] = [(int(w[0], 16), w[2]) for w in (l.split() for l in out.splitlines()) if len(w) == 3 and w[1] in "tT"]
    best = "??"
    for a, n in SYMBOLS[exe]:
        if a > file_addr:
            break
        best = n.lstrip("_") if n.lstrip("_").startswith("chkstk") else n
    return best


def name(addr2line, exe, info, image_addr, addr):
    file_addr = addr - image_addr + info["base"]
    out = subprocess.run([addr2line, "-f", "-e", exe, hex(file_addr)], capture_output=True, text=True).stdout.split("\n")
    return out[0] if out and out[0] != "??" else nm_symbol(addr2line, exe, file_addr)


def check_schema(ev):
    """The event against Sentry's event schema (tests/schema, the one Relay is generated from)."""
    import jsonschema
    here = os.path.dirname(os.path.abspath(__file__))
    schema = json.load(open(os.path.join(here, "..", "schema", "sentry-event.schema.json")))
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(ev)]
    check("the event validates against Sentry's event schema", not errors, errors[:3])


def check_images(ev, exe, info, frames, what="the program's"):
    images = ev.get("debug_meta", {}).get("images", [])
    check("debug_meta.images present", len(images) > 0)
    exe_name = exe.replace("/", "\\").split("\\")[-1].lower()
    mine = [im for im in images if im.get("code_file", "").replace("/", "\\").split("\\")[-1].lower() == exe_name]
    check(f"{what} image is listed", len(mine) == 1, [im.get("code_file") for im in images])
    check("every image has type pe", all(im.get("type") == "pe" for im in images), [im.get("type") for im in images])
    for f in frames:
        a = int(f["instruction_addr"], 16)
        if not any(int(im["image_addr"], 16) <= a < int(im["image_addr"], 16) + im["image_size"] for im in images):
            check(f"frame {hex(a)} lies in a listed image", False)
            break
    else:
        check("every frame lies in a listed image", True)
    if not mine:
        return None
    im = mine[0]
    check(f"{what} image_size is the file's SizeOfImage", im.get("image_size") == info["size"], f'{im.get("image_size")} vs {info["size"]}')
    want_code = "%08x%X" % (info["stamp"], info["size"])
    check(f"{what} code_id is TimeDateStamp + SizeOfImage", im.get("code_id") == want_code, f'{im.get("code_id")} vs {want_code}')
    if info["guid"] is None:
        check("no RSDS record in the file, no debug_id", "debug_id" not in im, im.get("debug_id"))
    else:
        want = f'{info["guid"]}-{info["age"]:x}'
        check(f"{what} debug_id is the file's RSDS GUID + age", im.get("debug_id") == want, f'{im.get("debug_id")} vs {want}')
        od = objdump_rsds(exe) if info["pe64"] else None
        if od:
            check("objdump -p reads the same RSDS GUID", od[0] == info["guid"].replace("-", "") and od[1] == info["age"], od)
        if info["pdb"]:
            check("debug_file is the PDB path the record names", im.get("debug_file", "").endswith(info["pdb"].replace("/", "\\").split("\\")[-1]),
                  f'{im.get("debug_file")} vs {info["pdb"]}')
        else:
            check("no PDB path in the record, no debug_file", "debug_file" not in im, im.get("debug_file"))
    return int(im["image_addr"], 16)


CRASH = {   # mode: (exception type, value start, function of the innermost frame in the program)
    "av": ("EXCEPTION_ACCESS_VIOLATION", "AccessViolation at 0x0", ["wincrash_crash_av"]),
    "div": ("EXCEPTION_INT_DIVIDE_BY_ZERO", "IntegerDivideByZero", ["wincrash_crash_div"]),
    "ill": ("EXCEPTION_ILLEGAL_INSTRUCTION", "IllegalInstruction", ["wincrash_crash_ill"]),
    "abort": ("SIGABRT", "Abort", ["wincrash_crash_abort"]),
    "stack": ("EXCEPTION_STACK_OVERFLOW", "StackOverflow", ["wincrash_crash_stack", "chkstk_ms"]),
    "dll": ("EXCEPTION_ACCESS_VIOLATION", "AccessViolation at 0x0", ["wincrash_plugin_crash"]),
    "thread": ("EXCEPTION_ACCESS_VIOLATION", "AccessViolation at 0x0", ["wincrash_crash_av"]),
    "invparam": ("STATUS_INVALID_CRUNTIME_PARAMETER", "InvalidParameter", ["wincrash_crash_invparam"]),
}
MECHANISM = {"abort": "signalhandler", "invparam": "invalid_parameter_handler"}   # else the filter's


def check_sessions(record, rounds):
    """rounds of an error, then a crash while the worker rewrites the session file, then a next
    run: each crashed session ends exactly once, as crashed (with its fatal event), never abnormal
    (its file left behind for the next run); each next run's session ends once, as exited. A
    payload delivered twice (at least once: the dying run's sender may have sent it too) is one."""
    ends = {}                                 # sid -> the distinct ending payloads
    fatal, errors = {}, {}
    for line in open(record):
        r = json.loads(line)
        if r.get("kind") != "envelope":
            continue
        ev = [it["payload"] for it in r.get("items", []) if it["headers"].get("type") == "event"]
        sessions = [it["payload"] for it in r.get("items", []) if it["headers"].get("type") == "session"]
        for e in ev:
            if e.get("level") == "fatal":
                fatal[e.get("event_id")] = [s.get("status") for s in sessions]
            elif "the error just before the crash" in json.dumps(e):
                errors[e.get("event_id")] = e
        for it in r.get("items", []):
            if it["headers"].get("type") != "session":
                continue
            s = it["payload"]
            if s.get("status") in ("crashed", "abnormal", "exited"):
                ends.setdefault(s.get("sid"), set()).add(json.dumps(s, sort_keys=True))
    statuses = {sid: sorted(json.loads(p)["status"] for p in ps) for sid, ps in ends.items()}
    crashed = [sid for sid, st in statuses.items() if "crashed" in st]
    abnormal = [sid for sid, st in statuses.items() if "abnormal" in st]
    exited = [sid for sid, st in statuses.items() if st == ["exited"]]
    check(f"{rounds} fatal events arrived", len(fatal) == rounds, len(fatal))
    check(f"{rounds} errors from just before the crash arrived", len(errors) == rounds, len(errors))
    check(f"{rounds} sessions ended crashed", len(crashed) == rounds, len(crashed))
    check("no session ended abnormal (a session file left by a crashed run)", not abnormal,
          f"{len(abnormal)} of {rounds}: " + str([statuses[s] for s in abnormal][:5]))
    check("each session ended exactly once", all(len(st) == 1 for st in statuses.values()),
          [st for st in statuses.values() if len(st) != 1][:5])
    check("each fatal event's envelope ends its session crashed", all(st == ["crashed"] for st in fatal.values()),
          [st for st in fatal.values() if st != ["crashed"]][:5])
    check(f"{rounds} next runs' sessions ended exited", len(exited) == rounds, len(exited))
    print(f"sessions: {rounds} rounds: {len(crashed)} crashed, {len(abnormal)} abnormal, {len(exited)} exited")
    return done()


def main():
    mode = sys.argv[1]
    if mode == "nofatal":
        n = len({e.get("event_id") for _, e in events(sys.argv[2]) if e.get("level") == "fatal"})
        check("no fatal event arrived", n == 0, n)
        return done()
    if mode == "sessions":
        return check_sessions(sys.argv[2], int(sys.argv[3]))
    if mode == "pe":
        print(json.dumps(pe_info(sys.argv[2])))
        return 0
    if mode == "error":
        record, exe, addr2line = sys.argv[2:5]
        evs = [e for _, e in events(record) if e.get("exception", {}).get("values", [{}])[0].get("type") == "WinError"]
        check("one error event arrived", len(evs) == 1, len(evs))
        if not evs:
            return done()
        ev = evs[0]
        check_schema(ev)
        exc = ev["exception"]["values"][0]
        st = exc.get("stacktrace", {})
        frames = st.get("frames", [])
        check("the error event has a stack", len(frames) >= 4, len(frames))
        check("instruction_addr_adjustment all", st.get("instruction_addr_adjustment") == "all")
        info = pe_info(exe)
        base = check_images(ev, exe, info, frames)
        if base is not None and frames:
            # return addresses: named one byte back, in the call (as Sentry does with "all")
            names = [name(addr2line, exe, info, base, int(f["instruction_addr"], 16) - 1) for f in reversed(frames)]
            check("innermost frames: inner, middle, outer, main (the caller's call first)",
                  names[:4] == ["wincrash_error_inner", "wincrash_error_middle", "wincrash_error_outer", "main"], names[:6])
    elif mode == "crash":
        kind, record, exe, addr2line = sys.argv[2:6]
        want_type, want_value, want_fn = CRASH[kind]
        # by event id: the dying run's sender may have sent it as the next run did (at least once)
        evs = list({e.get("event_id"): e for _, e in events(record) if e.get("level") == "fatal"}.values())
        check("one fatal event arrived", len(evs) == 1, len(evs))
        if not evs:
            return done()
        ev = evs[0]
        check_schema(ev)
        sessions = [it["payload"] for r, e in events(record) if e.get("event_id") == ev.get("event_id")
                    for it in r["items"] if it["headers"]["type"] == "session"]
        copies = len([1 for _, e in events(record) if e.get("event_id") == ev.get("event_id")])
        check("the session ends crashed in the same envelope",
              len(sessions) == copies and all(s.get("status") == "crashed" for s in sessions), sessions)
        exc = ev["exception"]["values"][0]
        check(f"exception type {want_type}", exc.get("type") == want_type, exc.get("type"))
        check(f"value {want_value}", exc.get("value", "").startswith(want_value), exc.get("value"))
        mech = exc.get("mechanism", {})
        check("mechanism unhandled", mech.get("handled") is False, mech)
        want_mech = MECHANISM.get(kind, "UnhandledExceptionFilter")
        check(f"mechanism type {want_mech}", mech.get("type") == want_mech, mech.get("type"))
        if kind == "invparam":
            check("exception_code 0xc0000417", mech.get("data", {}).get("exception_code") == "0xc0000417", mech.get("data"))
        if kind == "av":
            check("the access was a write of 0x0", mech.get("data", {}).get("access") == "write" and
                  mech.get("data", {}).get("fault_address") == "0x0", mech.get("data"))
            check("exception_code 0xc0000005", mech.get("data", {}).get("exception_code") == "0xc0000005", mech.get("data"))
        thr = ev.get("threads", {}).get("values", [{}])[0]
        on_main = kind != "thread"
        check("the crashed thread is " + ("the main thread" if on_main else "a second thread, not main"),
              thr.get("crashed") and thr.get("main") is on_main and thr.get("id") == exc.get("thread_id"), thr)
        frames = exc.get("stacktrace", {}).get("frames", [])
        check("the crash event has a stack", len(frames) >= 1, len(frames))
        want_adj = "all" if kind in ("abort", "invparam") else "auto"   # return addresses only, or the fault first
        check(f"instruction_addr_adjustment {want_adj}", exc.get("stacktrace", {}).get("instruction_addr_adjustment") == want_adj,
              exc.get("stacktrace", {}).get("instruction_addr_adjustment"))
        info = pe_info(exe)
        base = check_images(ev, exe, info, frames)
        if kind == "dll":
            # the DLL loaded after init: its image listed (home folder redacted), the crash in it
            dll = sys.argv[6]
            dinfo = pe_info(dll)
            dbase = check_images(ev, dll, dinfo, frames, "the DLL's")
            im = [i for i in ev.get("debug_meta", {}).get("images", []) if i.get("code_file", "").lower().endswith("wincrash_plugin.dll")]
            check("the DLL's path has the user's folder as ~", bool(im) and im[0]["code_file"].startswith("~\\plugin\\"),
                  [i.get("code_file") for i in im])
            if dbase is not None and frames:
                inner = int(frames[-1]["instruction_addr"], 16)
                check("the innermost frame is in the DLL's wincrash_plugin_crash",
                      name(addr2line, dll, dinfo, dbase, inner) == "wincrash_plugin_crash", hex(inner))
                names = [name(addr2line, exe, info, base, int(f["instruction_addr"], 16) - 1) for f in reversed(frames[:-1])
                         if base <= int(f["instruction_addr"], 16) < base + info["size"]]
                check("the program's caller follows (wincrash_crash_dll)", names[:1] == ["wincrash_crash_dll"], names[:3])
            base = None                          # the program's frame checks below do not apply
        if base is not None and frames:
            inner = int(frames[-1]["instruction_addr"], 16)
            in_exe = base <= inner < base + info["size"]
            crt_first = kind in ("abort", "invparam")   # the C runtime's own frames come first
            if not crt_first:
                check("the innermost frame is in the program's image", in_exe, hex(inner))
            names = [name(addr2line, exe, info, base, int(f["instruction_addr"], 16) - (0 if i == 0 else 1))
                     if base <= int(f["instruction_addr"], 16) < base + info["size"] else "(other image)"
                     for i, f in enumerate(reversed(frames))]
            if crt_first:
                check(f"the program's function that called the C runtime ({want_fn[0]}) is on the stack", want_fn[0] in names[:8], names[:8])
            else:
                check(f"the innermost frame is in {want_fn[0]}", names[0] in want_fn and want_fn[0] in names[:3], names[:4])
            fp = len(sys.argv) > 6 and sys.argv[-1] == "full"
            if fp and kind not in ("stack", "thread"):   # an overflow's 64 frames are all the recursion
                check("main is on the stack", "main" in names, names[:12])
            if kind == "thread":
                check("the thread's own stack: its start function follows", "wincrash_thread_main" in names[:3] and "main" not in names, names[:6])
    return done()


def done():
    """The count (also when no event arrived: the script tallies it)."""
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
