#!/usr/bin/env python3
"""check_report.py EXPECTED.json GOT.json [HTML] - compares telemetry_report's --json summary with
the one tests/gen_usage_export.py computed for the same records, and, given the page, checks that
the numbers shown in it are the summary's. Prints one line per check and "N passed, M failed"."""
import json
import math
import sys
from html.parser import HTMLParser

exp = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - %s %s" % (what, detail))


for k in ("reports", "installs", "first_runs", "dropped_reports", "skipped", "other_apps"):
    check("%s = %s" % (k, exp[k]), got.get(k) == exp[k], "(got %r)" % got.get(k))
diff = next(((a, b) for a, b in zip(got["days"], exp["days"]) if a != b), (len(got["days"]), len(exp["days"])))
check("days", got["days"] == exp["days"], "(first difference: %r)" % (diff,))
check("weeks", got["weeks"] == exp["weeks"], "(got %r, want %r)" % (got["weeks"][:3], exp["weeks"][:3]))
for k in ("versions", "os", "arch"):
    rows = [{"value": r["value"], "reports": r["reports"], "installs": r["installs"]} for r in got[k]]
    check(k, rows == exp[k], "(got %r, want %r)" % (rows, exp[k]))
    total = max(1, got["installs"])
    check(k + " shares are installs / installs", all(abs(r["share"] - r["installs"] / total) < 1e-9 for r in got[k]))
m = got["metrics"]
rows = [{"value": r["value"], "reports": r["reports"], "installs": r["installs"]} for r in m["output_format"]["values"]]
check("metric output_format (strings)", rows == exp["output_format"], "(got %r)" % rows)
hist = {str(h["from"]): h["count"] for h in m["cpu_count"]["histogram"]}
check("metric cpu_count (exact numbers)", hist == exp["cpu_count"] and all(h["from"] == h["to"] for h in m["cpu_count"]["histogram"]),
      "(got %r)" % hist)
buckets = {}
for h in m["load_avg"]["histogram"]:
    key = "zero" if h["from"] == 0 and h["to"] == 0 else str(math.frexp(h["from"])[1])
    ok_bucket = h["from"] == h["to"] == 0 or (h["to"] == 2 * h["from"] and math.frexp(h["from"])[0] == 0.5)
    check("load_avg bucket [%s, %s) is a power of two" % (h["from"], h["to"]), ok_bucket)
    buckets[key] = h["count"]
check("metric load_avg (power-of-2 histogram)", buckets == exp["load_buckets"], "(got %r, want %r)" % (buckets, exp["load_buckets"]))
for name, c in exp["counters"].items():
    g = got["counters"].get(name, {})
    check("counter %s total %s" % (name, c["total"]), g.get("total") == c["total"], "(got %r)" % g.get("total"))
    days = {d["date"]: d["sum"] for d in g.get("days", [])}
    check("counter %s per day" % name, days == c["days"])
for k in ("reports", "installs", "first_runs", "days", "versions", "os", "arch", "metrics", "counters", "dropped_reports"):
    check("key %s present" % k, k in got)

if len(sys.argv) > 3:
    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.tables, self.cur_id, self.cur_table, self.row, self.cell = {}, {}, None, None, None, None
            self.scripts = self.external = 0

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "script":
                self.scripts += 1
            for k in ("src", "href"):
                if k in a and not a[k].startswith("#"):
                    self.external += 1
            if tag == "b" and "id" in a:
                self.cur_id = a["id"]
                self.ids[self.cur_id] = ""
            if tag == "table" and "id" in a:
                self.cur_table = a["id"]
                self.tables[self.cur_table] = []
            if tag == "tr" and self.cur_table:
                self.row = []
            if tag == "td" and self.row is not None:
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "b":
                self.cur_id = None
            if tag == "td" and self.cell is not None:
                self.row.append(self.cell)
                self.cell = None
            if tag == "tr" and self.row is not None:
                if self.row:
                    self.tables[self.cur_table].append(self.row)
                self.row = None
            if tag == "table":
                self.cur_table = None

        def handle_data(self, data):
            if self.cur_id:
                self.ids[self.cur_id] += data
            if self.cell is not None:
                self.cell += data

    page = Page()
    page.feed(open(sys.argv[3], encoding="utf-8").read())
    check("the page has no script", page.scripts == 0)
    check("the page loads nothing (no src/href)", page.external == 0, "(%d)" % page.external)
    for k in ("reports", "installs", "first_runs", "dropped_reports"):
        check("page %s = summary's %s" % (k, got[k]), page.ids.get(k, "").strip() == str(got[k]), "(page says %r)" % page.ids.get(k))
    rows = [[d["date"], str(d["reports"]), str(d["installs"]), str(d["first_runs"])] for d in got["days"]]
    check("page's table of days = summary's days", page.tables.get("days") == rows, "(page %r)" % (page.tables.get("days") or [])[:2])
    vrows = page.tables.get("versions", [])
    check("page's versions = summary's (installs, reports, share)",
          vrows == [[v["value"], str(v["installs"]), str(v["reports"]), "%.1f %%" % (100 * v["share"])] for v in got["versions"][:10]],
          "(page %r)" % vrows[:2])

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
