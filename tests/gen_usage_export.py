#!/usr/bin/env python3
"""gen_usage_export.py - usage records shaped like the library's own (docs/examples/usage-report.json),
written the ways a tool author gets them, and the summary telemetry_report must print for them,
computed here independently.

    gen_usage_export.py N OUT.json EXPECTED.json [--shape root|usage|app|lines] [--seed S] [--bad]

Shapes: "root" is the console's export of the whole database ({"usage": {<push id>: record}}),
"usage" a saved GET <db>/usage.json, "app" records under /usage/<app>/ with a second app mixed
in, "lines" the local receiver's --record file (one JSON object per line, the record in "body",
server_time still {".sv": "timestamp"}). --bad adds records that must be skipped, one per reason.
The records are made in a stream (any N; 100000 is about 70 MB)."""
import json
import math
import random
import sys
from datetime import datetime, timedelta, timezone

PUSH = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
BASE = datetime(2026, 11, 2, tzinfo=timezone.utc)      # a Monday


def push_id(i):
    out = []
    v = 1764000000000 + i
    for _ in range(8):
        out.append(PUSH[v % 64]); v //= 64
    r = i * 2654435761 % (64 ** 6)
    for _ in range(12):
        out.append(PUSH[r % 64]); r //= 64
    return "".join(reversed(out[:8])) + "".join(out[8:])


def main():
    args = sys.argv[1:]
    n, out_path, exp_path = int(args[0]), args[1], args[2]
    shape = args[args.index("--shape") + 1] if "--shape" in args else "usage"
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    bad = "--bad" in args
    rnd = random.Random(seed)
    n_installs = max(1, n // 20)
    installs = []
    for k in range(n_installs):
        os_ = rnd.choices(["linux", "macos", "windows"], [7, 2, 1])[0]
        installs.append({
            "id": "%032x" % rnd.getrandbits(128),
            "os": os_,
            "arch": rnd.choice(["x86_64", "x86_64", "aarch64"]),
            "dist": {"linux": rnd.choice(["debian 12", "ubuntu 24.04", "fedora 41"]), "macos": None, "windows": None}[os_],
            "kernel": {"linux": "6.1.0-%d-amd64" % rnd.randint(10, 30), "macos": "24.1.0", "windows": "10.0.22631"}[os_],
            "cpus": rnd.choice([1, 2, 4, 8, 16, 32, 64]),
            "fmt": rnd.choices(["json", "text", "csv", "<b>html</b>"], [5, 3, 1, 1])[0],
            "first_day": rnd.randint(0, 27),
            "upgrade_day": rnd.randint(5, 40),
            "seen": False,
        })
    exp = {"reports": 0, "installs": set(), "first_runs": set(), "days": {}, "weeks": {}, "versions": {}, "os": {},
           "arch": {}, "dropped_reports": 0, "counters": {}, "cpu_count": {}, "load_buckets": {}, "fmt": {},
           "skipped": 0, "other_apps": 0}

    def add_value(table, value, install):
        e = table.setdefault(value, [0, set()])
        e[0] += 1
        e[1].add(install)

    def record(i):
        ins = installs[rnd.randrange(n_installs)]
        day = ins["first_day"] + int(rnd.expovariate(0.25))
        while day > 29:
            day = ins["first_day"] + int(rnd.expovariate(0.25))
        t = BASE + timedelta(days=day, seconds=rnd.randint(0, 86399))
        first = not ins["seen"]
        ins["seen"] = True
        version = "1.5.0" if day >= ins["upgrade_day"] else "1.4.2"
        ms = int(t.timestamp() * 1000)
        rec = {
            "app": "mytool", "version": version, "library": "0.1.0", "install_id": ins["id"],
            "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % rnd.randint(0, 999),
            "server_time": ms,
            "metrics": {"app": "mytool", "app_version": version, "arch": ins["arch"], "cpu_count": ins["cpus"],
                        "first_run": first, "library_version": "0.1.0", "load_avg": round(rnd.uniform(0, 40), 3),
                        "os": ins["os"], "os_version": ins["kernel"], "output_format": ins["fmt"]},
            "counters": {"files_processed": rnd.randint(0, 50), "runs": 1},
        }
        if ins["dist"]:
            rec["metrics"]["os_distribution"] = ins["dist"]
        if i % 97 == 0:
            rec["dropped_reports"] = rnd.randint(1, 5)
        if i % 10 == 3:
            del rec["server_time"]                     # the day then comes from the timestamp
        # what the tool must count, computed the plain way
        d = t.strftime("%Y-%m-%d")
        week = (t - timedelta(days=t.weekday())).strftime("%Y-%m-%d")
        exp["reports"] += 1
        exp["installs"].add(ins["id"])
        dd = exp["days"].setdefault(d, [0, set(), set()])
        dd[0] += 1
        dd[1].add(ins["id"])
        if first:
            dd[2].add(ins["id"])
            exp["first_runs"].add(ins["id"])
        ww = exp["weeks"].setdefault(week, [0, set()])
        ww[0] += 1
        ww[1].add(ins["id"])
        add_value(exp["versions"], version, ins["id"])
        add_value(exp["os"], ins["os"], ins["id"])
        add_value(exp["arch"], ins["arch"], ins["id"])
        add_value(exp["fmt"], ins["fmt"], ins["id"])
        exp["cpu_count"][ins["cpus"]] = exp["cpu_count"].get(ins["cpus"], 0) + 1
        v = rec["metrics"]["load_avg"]
        key = "zero" if v == 0 else str(math.frexp(v)[1])
        exp["load_buckets"][key] = exp["load_buckets"].get(key, 0) + 1
        exp["dropped_reports"] += rec.get("dropped_reports", 0)
        for c, v in rec["counters"].items():
            cc = exp["counters"].setdefault(c, {"total": 0, "days": {}})
            cc["total"] += v
            cc["days"][d] = cc["days"].get(d, 0) + v
        return rec

    def bad_records():
        good = {"app": "mytool", "version": "1", "timestamp": "2026-11-03T10:00:00Z", "metrics": {"os": "linux"}}
        variants = [
            dict(good, app=None), dict(good, version=7), dict(good, metrics="flat"),
            dict(good, timestamp="yesterday"), dict(good, install_id=12),
            dict(good, counters=[1, 2]), dict(good, dropped_reports="many"),
        ]
        for v in variants:
            yield {k: x for k, x in v.items() if x is not None}

    out = open(out_path, "w")

    def emit_records(write, wrap=None):
        first = True
        for i in range(n):
            rec = record(i)
            write(push_id(i), rec, first)
            first = False
        if bad:
            for j, rec in enumerate(bad_records()):
                exp["skipped"] += 1
                write(push_id(n + j), rec, first)
                first = False

    if shape == "lines":
        def w(key, rec, first):
            if "server_time" in rec:
                rec = dict(rec, server_time={".sv": "timestamp"})
            out.write(json.dumps({"time": "x", "kind": "firebase", "method": "PUT", "path": "/usage/%s.json" % key,
                                  "query": "print=silent", "status": 204, "body": rec}) + "\n")
        emit_records(w)
    else:
        if shape == "root":
            out.write('{"other_data": {"a": [1, 2, {"b": null}]}, "usage": {')
        elif shape == "app":
            out.write('{"othertool": {"%s": %s}, "mytool": {' % (push_id(10 ** 9), json.dumps(
                {"app": "othertool", "version": "9", "timestamp": "2026-11-05T00:00:00Z", "install_id": "f" * 32,
                 "metrics": {"os": "haiku"}})))
            exp["other_apps"] = 1
        else:
            out.write("{")

        def w(key, rec, first):
            out.write(("" if first else ",\n") + json.dumps(key) + ": " + json.dumps(rec, separators=(",", ":")))
        emit_records(w)
        out.write("}}\n" if shape in ("root", "app") else "}\n")
    out.close()

    def table(t):
        rows = [{"value": k, "reports": v[0], "installs": len(v[1])} for k, v in t.items()]
        return sorted(rows, key=lambda r: (-r["installs"], -r["reports"], r["value"]))
    summary = {
        "reports": exp["reports"], "installs": len(exp["installs"]), "first_runs": len(exp["first_runs"]),
        "dropped_reports": exp["dropped_reports"], "skipped": exp["skipped"], "other_apps": exp["other_apps"],
        "days": [{"date": d, "reports": v[0], "installs": len(v[1]), "first_runs": len(v[2])} for d, v in sorted(exp["days"].items())],
        "weeks": [{"week": d, "reports": v[0], "installs": len(v[1])} for d, v in sorted(exp["weeks"].items())],
        "versions": table(exp["versions"]), "os": table(exp["os"]), "arch": table(exp["arch"]),
        "output_format": table(exp["fmt"]),
        "cpu_count": {str(k): v for k, v in sorted(exp["cpu_count"].items())},
        "load_buckets": exp["load_buckets"],
        "counters": exp["counters"],
    }
    json.dump(summary, open(exp_path, "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
