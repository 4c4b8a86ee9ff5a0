#!/usr/bin/env bash
# test_report.sh - build/telemetry_report (examples/telemetry_report.c) against records made by
# tests/gen_usage_export.py, which also computes the expected summary the plain way:
#   - every input shape (console export, GET /usage.json, per-app paths, the receiver's record file):
#     the --json summary is the expected one (tests/check_report.py);
#   - 100,000 records: under 2 s of CPU and far less memory than the file (it streams);
#   - bad input (empty, truncated, wrong shape, HTML, nesting 1000 deep, NaN, hostile fields,
#     random bytes): a message and exit status 1, never a crash or a hang; malformed records among
#     good ones are counted and skipped;
#   - --url over HTTPS with the library's own client, against a local server (tests/report_server.py):
#     the same summary; 401, an HTML page, a cut-short answer: a message and exit status 1;
#   - the page rendered by headless Chromium: not blank, and its numbers are the summary's.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TOOL=$BUILD/telemetry_report
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
tmp=$(mktemp -d /tmp/telemetry-report-XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
[ -x "$TOOL" ] || { echo "FAIL - $TOOL is not built"; echo "0 passed, 1 failed"; exit 1; }
gen() { python3 tests/gen_usage_export.py "$@"; }
# adds check_report.py's counts to ours
compare() {
    local out
    out=$(python3 tests/check_report.py "$@" 2>&1)
    printf '%s\n' "$out" | grep -v '^ok' | grep -v 'passed,' | sed 's/^/  /'
    local p f
    p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$out")
    f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$out")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
    echo "     ($*: ${p:-0} passed, ${f:-?} failed)"
}

# ---- 1. every shape of input ------------------------------------------------------------------
for shape in root usage app lines; do
    gen 3000 "$tmp/$shape.json" "$tmp/$shape.exp" --shape "$shape" --bad --seed 11
    extra=(); [ "$shape" = app ] && extra=(--app mytool)
    if timeout 60 "$TOOL" "$tmp/$shape.json" "${extra[@]}" --json "$tmp/$shape.got" --html "$tmp/$shape.html" >"$tmp/$shape.txt" 2>"$tmp/$shape.err"; then
        ok "shape $shape: exit status 0"
    else
        bad "shape $shape: exit status $? ($(cat "$tmp/$shape.err"))"; continue
    fi
    compare "$tmp/$shape.exp" "$tmp/$shape.got" "$tmp/$shape.html"
done
grep -q '^3000 reports from' "$tmp/usage.txt" && ok "the text summary starts with the counts" || bad "text summary: $(head -2 "$tmp/usage.txt")"
grep -q 'skipped 7 records that are not usage reports' "$tmp/usage.txt" && ok "the text summary tells the skipped records" || bad "no skipped line"
cat "$tmp/usage.json" | timeout 60 "$TOOL" - --quiet --json "$tmp/stdin.got" && cmp -s "$tmp/stdin.got" "$tmp/usage.got" &&
    ok "stdin (-) gives the same summary" || bad "stdin differs"

# ---- 2. 100,000 records ---------------------------------------------------------------------------
gen 100000 "$tmp/big.json" "$tmp/big.exp" --shape root --seed 3
size=$(stat -c %s "$tmp/big.json")
measure=$(python3 - "$TOOL" "$tmp/big.json" "$tmp/big.got" <<'EOF'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], sys.argv[2], "--quiet", "--json", sys.argv[3]], timeout=120)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.returncode, "%.3f" % (u.ru_utime + u.ru_stime), u.ru_maxrss)
EOF
)
read -r rc cpu rss <<<"$measure"
# a sanitizer build (make check) is slower and keeps shadow memory: wider bounds there
cpu_max=2.0 rss_max=$((64 * 1024))
if grep -q __asan_init "$TOOL" 2>/dev/null; then cpu_max=20.0 rss_max=$((1024 * 1024)); fi
echo "     100000 records, $((size / 1000000)) MB: exit $rc, $cpu s CPU, peak $((rss / 1024)) MiB"
[ "$rc" = 0 ] && ok "100000 records: exit status 0" || bad "100000 records: exit status $rc"
python3 -c "import sys; sys.exit(0 if float('$cpu') < $cpu_max else 1)" && ok "100000 records in under $cpu_max s of CPU ($cpu s)" || bad "100000 records took $cpu s of CPU"
if [ "$rss_max" -gt $((64 * 1024)) ]; then
    [ "$rss" -lt "$rss_max" ] && ok "peak memory $((rss / 1024)) MiB (sanitizer build)" || bad "peak memory $((rss / 1024)) MiB"
else
    [ "$rss" -lt "$rss_max" ] && [ "$((rss * 1024))" -lt "$size" ] && ok "peak memory $((rss / 1024)) MiB: bounded, less than the $((size / 1000000)) MB file" ||
        bad "peak memory $((rss / 1024)) MiB for a $((size / 1000000)) MB file"
fi
compare "$tmp/big.exp" "$tmp/big.got"

# ---- 3. bad input: a message, exit 1, no crash, no hang -------------------------------------------------
expect_fail() {        # name, message part, file
    local name=$1 want=$2 file=$3 rc err
    timeout 20 "$TOOL" "$file" --quiet --json "$tmp/bad.got" >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    err=$(head -c 300 "$tmp/bad.err")
    if [ $rc -eq 1 ] && grep -q -- "$want" "$tmp/bad.err"; then ok "$name: exit 1, \"$(head -1 "$tmp/bad.err" | cut -c1-110)\""
    else bad "$name: exit $rc (want 1 and \"$want\"): $err"; fi
}
: >"$tmp/empty.json"; expect_fail "empty file" "the input is empty" "$tmp/empty.json"
printf ' \n\t\n' >"$tmp/blank.json"; expect_fail "only white space" "the input is empty" "$tmp/blank.json"
head -c $((size / 2)) "$tmp/big.json" >"$tmp/trunc.json"; expect_fail "truncated export" "truncated" "$tmp/trunc.json"
echo '[1, 2, 3]' >"$tmp/arr.json"; expect_fail "wrong shape: an array of numbers" "holds no usage reports" "$tmp/arr.json"
echo '{"users": {"a": {"name": "x"}}}' >"$tmp/obj.json"; expect_fail "wrong shape: other data" "holds no usage reports" "$tmp/obj.json"
printf '<!DOCTYPE html>\n<html><body>Sign in</body></html>\n' >"$tmp/page.json"; expect_fail "an HTML page" "HTML" "$tmp/page.json"
python3 -c "print('{\"usage\": ' + '[' * 1000 + ']' * 1000 + '}')" >"$tmp/deep.json"; expect_fail "nesting 1000 deep" "nesting deeper than 64" "$tmp/deep.json"
echo '{"u":{"app":"a","version":"1","timestamp":"2026-11-03T10:00:00Z","metrics":{"x":NaN}}}' >"$tmp/nan.json"; expect_fail "a NaN literal" "unexpected character" "$tmp/nan.json"
echo '{"u":{"app":"a","version":"1","timestamp":"2026-11-03T10:00:00Z","metrics":{"x":Infinity}}}' >"$tmp/inf.json"; expect_fail "an Infinity literal" "unexpected character" "$tmp/inf.json"
echo '{"u":{"app":"a\ud800","version":"1","timestamp":"2026-11-03T10:00:00Z","metrics":{}}}' >"$tmp/sur.json"; expect_fail "a lone surrogate" "lone surrogate" "$tmp/sur.json"
echo '{"u":{"app":"a","version":"1","timestamp":"2026-11-03T10:00:00Z","metrics":{}},}' >"$tmp/comma.json"; expect_fail "a trailing comma" "expected a key" "$tmp/comma.json"
echo '{"u":{"app":"a","version":"1","timestamp":"2026-11-03T10:00:00Z","metrics":{}, "dropped_reports": 1e999}}' >"$tmp/huge_num.json"
expect_fail "only record has 1e999 dropped reports" "1 records were not well formed" "$tmp/huge_num.json"
echo '{"a":{"version":"1","metrics":{}},"b":{"app":"x","timestamp":"2026-11-03T10:00:00Z","metrics":{}}}' >"$tmp/missing.json"
expect_fail "records with missing fields only" "2 records were not well formed" "$tmp/missing.json"
head -c 20000 /dev/urandom >"$tmp/random.bin"; expect_fail "random bytes" "at line" "$tmp/random.bin"
expect_fail "a file that does not exist" "cannot open" "$tmp/nothing-here.json"
timeout 10 "$TOOL" --bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok "a bad command line: exit 2" || bad "a bad command line"

# hostile fields among good records: counted and skipped, or cut, never a crash
python3 - "$tmp/hostile.json" <<'EOF'
import json, sys
good = {"app": "mytool", "version": "1.0", "timestamp": "2026-11-03T10:00:00Z", "install_id": "a" * 32, "metrics": {"os": "linux"}}
recs = {
    "g1": good,
    "g2": dict(good, version="v" * 5000000, install_id="b" * 32, metrics={"os": "linux", "note": "\u202e<script>alert(1)</script>" * 1000}),
    "g3": dict(good, install_id="c" * 32, metrics={"os": "linux", "k" * 10000: 1, "nested": {"a": {"b": [1, 2]}}, "n": -1e308}),
    "s1": dict(good, metrics={"m%d" % i: i for i in range(5000)}),
    "s2": dict(good, timestamp="2026-13-45T99:00:00Z"), "s3": dict(good, timestamp=1234), "s4": dict(good, app=None),
    "s5": dict(good, metrics=[1, 2]), "s6": dict(good, counters="many"), "s7": dict(good, dropped_reports=-3),
}
out = open(sys.argv[1], "w")
out.write(json.dumps({"usage": recs})[:-2])
out.write(', "s8": {"app": "mytool", "version": "1", "timestamp": "2026-11-03T10:00:00Z", "metrics": {"x": "\xff\xfe bad utf-8"}, "install_id": "\xc3"}}}')
EOF
if timeout 20 "$TOOL" "$tmp/hostile.json" --json "$tmp/hostile.got" --html "$tmp/hostile.html" >"$tmp/hostile.txt" 2>"$tmp/hostile.err"; then
    python3 - "$tmp/hostile.got" "$tmp/hostile.html" <<'EOF' && ok "hostile records: 4 counted, 7 skipped, strings cut to 1024 bytes, output valid" || bad "hostile records: $(cat "$tmp/hostile.err")"
import json, sys
s = json.load(open(sys.argv[1]))
page = open(sys.argv[2], encoding="utf-8").read()          # valid UTF-8, or this raises
assert s["reports"] == 4 and s["skipped"] == 7, (s["reports"], s["skipped"], s["skipped_reasons"])
assert s["skipped_reasons"] == {"too_big": 1, "bad_time": 2, "no_app": 1, "no_metrics": 1, "bad_field": 2}, s["skipped_reasons"]
assert all(len(v["value"].encode()) <= 1024 for v in s["versions"]), "a long string was kept"
assert "<script>" not in page and "&lt;script&gt;" in page
assert "kkkkkkkkkk" not in json.dumps(s["metrics"]), "a 10000-character id became a metric"
EOF
else
    bad "hostile records: exit $? ($(head -c 300 "$tmp/hostile.err"))"
fi

# ---- 4. --url: the library's HTTPS client, against a local server -----------------------------------
gen 2000 "$tmp/net.json" "$tmp/net.exp" --shape usage --seed 5
python3 tests/report_server.py "$tmp/net.json" "$tmp/port" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port" 2>/dev/null)
if [ -n "$port" ]; then
    url() { timeout 60 "$TOOL" --quiet --ca-file tests/certs/ca.pem --url "https://localhost:$port$1" "${@:2}" 2>"$tmp/url.err"; }
    url /usage.json --auth good-token --json "$tmp/net.got" && ok "--url with --auth (chunked answer): exit 0" || bad "--url: $(cat "$tmp/url.err")"
    compare "$tmp/net.exp" "$tmp/net.got"
    url /usage.json --access-token good-token --json "$tmp/net3.got" && cmp -s "$tmp/net.got" "$tmp/net3.got" && ok "--url with --access-token: the same summary" || bad "--access-token: $(cat "$tmp/url.err")"
    url /plain/usage.json --json "$tmp/net2.got" && cmp -s "$tmp/net.got" "$tmp/net2.got" && ok "--url (Content-Length answer): the same summary" || bad "--url plain: $(cat "$tmp/url.err")"
    url /usage.json --auth wrong-token; rc=$?
    [ $rc -eq 1 ] && grep -q 'answered HTTP 401.*Permission denied.*--access-token' "$tmp/url.err" && ok "--url answered 401: exit 1, \"$(cut -c1-100 "$tmp/url.err")\"" || bad "401: exit $rc $(cat "$tmp/url.err")"
    url /page/usage.json; rc=$?
    [ $rc -eq 1 ] && grep -q 'HTML' "$tmp/url.err" && ok "--url answered an HTML page: exit 1" || bad "HTML page: exit $rc $(cat "$tmp/url.err")"
    url /cut/usage.json; rc=$?
    [ $rc -eq 1 ] && grep -q 'cut short' "$tmp/url.err" && ok "--url answer cut short: exit 1" || bad "cut short: exit $rc $(cat "$tmp/url.err")"
    url /usage.json --auth good-token --ca-file /dev/null; rc=$?
    [ $rc -eq 1 ] && ok "--url with a certificate nobody trusts: exit 1 ($(cut -c1-80 "$tmp/url.err"))" || bad "untrusted: exit $rc"
else
    bad "the local HTTPS server did not start: $(cat "$tmp/server.log")"
fi

# ---- 5. the page in a browser ----------------------------------------------------------------------
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
    mkdir -p "$tmp/profile"
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir="$tmp/profile" --hide-scrollbars \
        --window-size=1000,2400 --screenshot="$tmp/page.png" "file://$tmp/root.html" >"$tmp/chromium.log" 2>&1
    if [ -s "$tmp/page.png" ]; then
        ok "Chromium rendered the page"
        python3 - "$tmp/page.png" <<'EOF' && ok "the screenshot is not blank ($(cat "$tmp/pixels"))" || bad "the screenshot looks blank: $(cat "$tmp/pixels" 2>/dev/null)"
import struct, sys, zlib, os
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp
rows, prev, dark, coloured = [], bytearray(stride), 0, 0
i = 0
for y in range(h):                   # undo the PNG filters, count the pixels that are not background
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        r, g, bl = line[x], line[x + 1], line[x + 2]
        if r < 100 and g < 100 and bl < 160: dark += 1            # text and bars
        if abs(r - g) > 40 or abs(g - bl) > 40: coloured += 1      # the charts' colours
    prev = line
open(os.path.join(os.path.dirname(sys.argv[1]), "pixels"), "w").write("%d dark, %d coloured of %d pixels" % (dark, coloured, w * h))
sys.exit(0 if dark > w * h // 200 and coloured > w * h // 100 else 1)
EOF
        [ -n "${KEEP_SCREENSHOT:-}" ] && cp "$tmp/page.png" "$KEEP_SCREENSHOT"
    else
        bad "Chromium wrote no screenshot: $(tail -3 "$tmp/chromium.log")"
    fi
else
    bad "chromium is not installed (tests/install-deps.sh installs it)"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
