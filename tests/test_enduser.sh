#!/usr/bin/env bash
# test_enduser.sh - what the person running a tool sees and decides, with real processes
# (tests/enduser_tool.c) against the local receiver: the first-run notice on a terminal (a pty
# made by script(1)) and not on a pipe, nothing sent by the notice run or any run before it and
# everything from the next; each telemetry_command word and its output; runs that do nothing
# (--version style, the disclosure, the command) open no socket and write no file (strace); the
# sent log is bounded and masks auth=; an interval report sums counters over 5 runs and is sent
# once; an uncaught std::runtime_error("boom") arrives with its type and message.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KEY=0123456789abcdef0123456789abcdef
TOKEN=SECRET-enduser-42
TOOL=$BUILD/enduser_tool
TOOLXX=$BUILD/enduser_tool_cxx
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() { if eval "$1"; then pass; else fail "$2"; fi; }
# the tool's sidecar sends after the tool ended: wait (bounded) until it is done
# (a sidecar not yet renamed still has the tool's name; the tool itself has ended)
settle() { for _ in $(seq 200); do pgrep -x 'endus-telemetry|enduser_tool' >/dev/null || break; sleep 0.05; done; }
for f in "$TOOL" "$TOOLXX" "$BUILD/telemetry_sink"; do
    [ -x "$f" ] || { echo "FAILED: $f is not built"; echo "0 passed, 1 failed"; exit 1; }
done
for c in script strace python3; do
    command -v $c >/dev/null || { echo "FAILED: $c is not installed"; echo "0 passed, 1 failed"; exit 1; }
done
tmp=$(mktemp -d)
sink_pid=
cleanup() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
unset DO_NOT_TRACK ENDUSER_TOOL_NO_TELEMETRY TELEMETRY_DEBUG TOOL_CLOCK_MS TOOL_INTERVAL TOOL_SENT_LOG_BYTES TOOL_NO_NOTICE TOOL_NOTICE TOOL_NO_SESSIONS

"$BUILD/telemetry_sink" --https-port off --http-port 0 --sentry-key "$KEY" --firebase-auth "$TOKEN" --quiet \
    --port-file "$tmp/ports" --record "$tmp/record.jsonl" >"$tmp/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do [ -s "$tmp/ports" ] && break; sleep 0.05; done
port=$(sed -n 's/^http=//p' "$tmp/ports")
[ -n "$port" ] || { echo "FAILED: the receiver did not start"; echo "0 passed, 1 failed"; exit 1; }
URL="http://127.0.0.1:$port/metrics/tool.json?auth=$TOKEN"
DSN="http://$KEY@127.0.0.1:$port/42"
records() { wc -l <"$tmp/record.jsonl" | tr -d ' '; }
# on a terminal: script(1) gives the tool a pty for stdin, stdout and stderr
on_tty() { local out=$1; shift; script -qec "$(printf '%q ' "$@")" /dev/null >"$out" 2>&1 </dev/null; }
# payloads waiting in the store: unsent records of its segments (the documented record layout)
outbox_count() {
    python3 - "$1/outbox" <<'PY'
import os, struct, sys
n = 0
d = sys.argv[1]
for f in (os.listdir(d) if os.path.isdir(d) else []):
    if not f.endswith('.seg'):
        continue
    b = open(os.path.join(d, f), 'rb').read()
    off = 0
    while off + 40 <= len(b) and b[off:off + 4] == b'TLR1':
        if b[off + 15] in (0, ord('A')):
            n += 1
        off += 40 + struct.unpack_from('<I', b, off + 4)[0]
print(n)
PY
}
usage_reports_since() {   # usage reports in the record from line $1 on; prints "count sum-of-files_processed"
    tail -n +"$(( $1 + 1 ))" "$tmp/record.jsonl" | python3 -c '
import json, sys
n = s = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("kind") == "firebase":
        n += 1; s += r["body"]["counters"].get("files_processed", 0)
print(n, s)'
}

# ---- 1. the first-run notice: a pipe sees none and sends nothing; the terminal run shows it once
# and sends nothing; the next run sends everything the three runs captured
st=$tmp/notice
from=$(records)
"$TOOL" "$st" "$URL" "$DSN" count 2 report >"$tmp/pipe.out" 2>"$tmp/pipe.err"
check '[ ! -s "$tmp/pipe.err" ]' "a pipe got the notice: $(head -2 "$tmp/pipe.err")"
check '[ ! -e "$st/notice_shown" ]' "the notice was recorded as shown on a pipe"
check '[ "$(outbox_count "$st")" -ge 2 ]' "the pipe run did not keep its report and session ($(outbox_count "$st") files)"
on_tty "$tmp/tty1.out" "$TOOL" "$st" "$URL" "$DSN" count 3 report
check 'grep -q "enduser_tool collects anonymous telemetry: to learn which file types matter" "$tmp/tty1.out"' \
      "the terminal run did not show the notice with the purpose: $(head -3 "$tmp/tty1.out")"
check 'grep -q "run \`enduser_tool telemetry off\`" "$tmp/tty1.out" && grep -q "DO_NOT_TRACK=1 or ENDUSER_TOOL_NO_TELEMETRY=1" "$tmp/tty1.out"' \
      "the notice does not name the opt-out commands"
check 'grep -q "Nothing has been sent yet" "$tmp/tty1.out"' "the notice does not say nothing was sent"
check '[ -e "$st/notice_shown" ]' "the notice run left no notice_shown"
settle
check '[ "$(records)" -eq "$from" ]' "the notice run or the pipe run before it sent $(( $(records) - from )) payloads"
on_tty "$tmp/tty2.out" "$TOOL" "$st" "$URL" "$DSN" count 4 report
check '! grep -q "collects anonymous telemetry" "$tmp/tty2.out"' "the notice was shown twice"
settle
read -r n sum <<<"$(usage_reports_since "$from")"
check '[ "$n" -eq 3 ] && [ "$sum" -eq 9 ]' "after the notice run: want the 3 kept and new usage reports summing 9, got $n summing $sum"
check '[ "$(outbox_count "$st")" -eq 0 ]' "$(outbox_count "$st") payloads left in the outbox after the sending run"
sessions=$(tail -n +"$(( from + 1 ))" "$tmp/record.jsonl" | grep -c '"type":"session"')
check '[ "$sessions" -ge 3 ]' "want the three runs' sessions, got $sessions"
# the program's own notice text, and cfg.no_notice
st2=$tmp/notice2
TOOL_NOTICE="Hello from the tool's own notice" on_tty "$tmp/tty3.out" "$TOOL" "$st2" "$URL" "$DSN" count 1
check 'grep -q "Hello from the tool.s own notice" "$tmp/tty3.out" && ! grep -q "collects anonymous" "$tmp/tty3.out"' "cfg.notice was not printed instead"
st3=$tmp/notice3
from=$(records)
TOOL_NO_NOTICE=1 on_tty "$tmp/tty4.out" "$TOOL" "$st3" "$URL" - count 1 report
settle
check '! grep -q "collects anonymous" "$tmp/tty4.out" && [ "$(records)" -eq $((from + 1)) ]' "cfg.no_notice: notice shown or report not sent"
# captured before the notice, then opted out with the command: deleted, never sent
st4=$tmp/optout
from=$(records)
"$TOOL" "$st4" "$URL" "$DSN" count 5 report error 2>/dev/null >/dev/null
kept=$(outbox_count "$st4")
"$TOOL" "$st4" "$URL" "$DSN" telemetry off >"$tmp/off.out" 2>&1
check '[ "$kept" -ge 2 ] && [ "$(outbox_count "$st4")" -eq 0 ] && [ ! -e "$st4/install_id" ]' \
      "opting out before the notice: $kept kept, $(outbox_count "$st4") left, install id $( [ -e "$st4/install_id" ] && echo kept || echo gone)"
on_tty "$tmp/tty5.out" "$TOOL" "$st4" "$URL" "$DSN" count 1 report
settle
check '[ "$(records)" -eq "$from" ]' "an opted-out tool sent $(( $(records) - from )) payloads"

# ---- 2. each telemetry_command word, with its output (state from part 1: notice shown, sent)
cmd() { "$TOOL" "$st" "$URL" "$DSN" telemetry "$@" >"$tmp/cmd.out" 2>&1; }
cmd status
check 'grep -q "^Telemetry for enduser_tool: ON (no opt-out is set)" "$tmp/cmd.out" && grep -q "Notice: shown" "$tmp/cmd.out" && grep -q "rc=0" "$tmp/cmd.out"' \
      "status: $(head -3 "$tmp/cmd.out")"
check 'grep -q "Sent log: $st/sent.log ([0-9]* bytes" "$tmp/cmd.out"' "status does not name the sent log"
DO_NOT_TRACK=1 "$TOOL" "$st" "$URL" "$DSN" telemetry status >"$tmp/cmd.out" 2>&1
check 'grep -q "^Telemetry for enduser_tool: OFF (.*DO_NOT_TRACK" "$tmp/cmd.out"' "status under DO_NOT_TRACK: $(head -1 "$tmp/cmd.out")"
"$TOOL" "$st" "$URL" "$DSN" mystery count 1 telemetry show >"$tmp/cmd.out" 2>&1
check 'grep -q "^Why: to learn which file types matter" "$tmp/cmd.out" && grep -q "Privacy page: https://example.org/enduser_tool/privacy" "$tmp/cmd.out"' \
      "show: no purpose or privacy page"
check 'grep -q "files_processed  Files the tool processed" "$tmp/cmd.out" && grep -q "mystery          (undeclared" "$tmp/cmd.out"' \
      "show: declared and undeclared counters not listed: $(grep -A4 Counters "$tmp/cmd.out")"
check 'grep -q "^Sessions (sent to Sentry" "$tmp/cmd.out" && grep -q "a random session id, the install id, the start time, the duration" "$tmp/cmd.out"' \
      "show: sessions not described"
check 'grep -q "run \`enduser_tool telemetry off\`" "$tmp/cmd.out"' "show: the tool's opt-out command is missing"
cmd show --markdown
check 'grep -q "^## What is collected" "$tmp/cmd.out" && grep -q "^| \`files_processed\` | Files the tool processed |" "$tmp/cmd.out" && grep -q "^### Sessions" "$tmp/cmd.out" && grep -q "^| \`tool_mode\` |" "$tmp/cmd.out"' \
      "show --markdown: $(head -5 "$tmp/cmd.out")"
cmd log
check 'grep -q "^=== sent .* usage-report PUT http://127.0.0.1:$port/metrics/tool/.*auth=\*\*\*" "$tmp/cmd.out" && grep -q "files_processed" "$tmp/cmd.out"' \
      "log: $(head -2 "$tmp/cmd.out")"
cmd off
check 'grep -q "Telemetry is off for enduser_tool. The install id and every unsent report were deleted." "$tmp/cmd.out" && grep -q "rc=0" "$tmp/cmd.out"' "off: $(cat "$tmp/cmd.out")"
cmd status
check 'grep -q "^Telemetry for enduser_tool: OFF (.*revoked" "$tmp/cmd.out" && grep -q "Your decision: consent revoked" "$tmp/cmd.out"' \
      "status after off: $(head -2 "$tmp/cmd.out")"
cmd on
check 'grep -q "Telemetry is on for enduser_tool." "$tmp/cmd.out" && grep -q "rc=0" "$tmp/cmd.out"' "on: $(cat "$tmp/cmd.out")"
DO_NOT_TRACK=1 "$TOOL" "$st" "$URL" "$DSN" telemetry on >"$tmp/cmd.out" 2>&1
check 'grep -q "Telemetry stays off for enduser_tool: .*DO_NOT_TRACK" "$tmp/cmd.out" && grep -q "rc=-1" "$tmp/cmd.out"' \
      "on under DO_NOT_TRACK must say it stays off and return TELEMETRY_DISABLED: $(cat "$tmp/cmd.out")"
cmd bogus
check 'grep -q "^usage: enduser_tool telemetry on|off|status|show \[--markdown\]|log" "$tmp/cmd.out" && grep -q "rc=-2" "$tmp/cmd.out"' "a bad word: $(cat "$tmp/cmd.out")"
cmd
check 'grep -q "^usage:" "$tmp/cmd.out" && grep -q "rc=-2" "$tmp/cmd.out"' "no word: $(cat "$tmp/cmd.out")"
cmd status extra
check 'grep -q "rc=-2" "$tmp/cmd.out"' "extra words accepted"

# ---- 3. runs that do nothing send nothing and write nothing (strace), even with kept payloads
traced() {   # name, then the tool's arguments; prints the offending system calls
    local name=$1; shift
    strace -f -qq -o "$tmp/$name.trace" \
        -e trace=socket,connect,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,truncate,ftruncate \
        env ASAN_OPTIONS=detect_leaks=0 "$TOOL" "$@" >"$tmp/$name.out" 2>&1
    grep -E 'socket\(|connect\(|creat\(|mkdir|rename|unlink|truncate|O_WRONLY|O_RDWR|O_CREAT' "$tmp/$name.trace" \
        | grep -v -E 'socket\(AF_UNIX|= -1 ENOENT .*(mkdir|unlink)|^[0-9]+ +(execve|openat\(AT_FDCWD, "/(usr|lib|etc|proc)/)' || true
}
silent() {   # name, then the tool's arguments
    local name=$1 bad before after
    shift
    before=$(find "$tmp/quiet" -type f 2>/dev/null | sort | xargs -r md5sum)
    bad=$(traced "$name" "$@")
    after=$(find "$tmp/quiet" -type f 2>/dev/null | sort | xargs -r md5sum)
    if [ -z "$bad" ] && [ "$before" = "$after" ]; then pass; else fail "$name wrote or connected: $(echo "$bad" | head -3)"; fi
}
q=$tmp/quiet
"$TOOL" "$q" "$URL" "$DSN" count 1 report error >/dev/null 2>&1          # a pipe run: kept, not sent
check '[ "$(outbox_count "$q")" -ge 2 ]' "the pipe run kept nothing"
silent version "$q" "$URL" "$DSN" version
check 'grep -q "^enduser_tool 3.1$" "$tmp/version.out"' "the version run did not run"
silent show "$q" "$URL" "$DSN" telemetry show
silent status "$q" "$URL" "$DSN" telemetry status
silent log "$q" "$URL" "$DSN" telemetry log
silent markdown "$q" "$URL" "$DSN" telemetry show --markdown
fresh=$tmp/fresh
bad=$(traced fresh "$fresh" "$URL" "$DSN" version)
check '[ -z "$bad" ] && [ ! -e "$fresh" ]' "a first --version run created the state folder or connected: $(echo "$bad" | head -3)"
# control: a run that does work under the same trace connects and writes, or the check proves nothing
bad=$(TOOL_NO_NOTICE=1 traced control "$q" "$URL" "$DSN" count 1 report)
check 'grep -q "connect(" <<<"$bad" && grep -q -E "O_CREAT|rename" <<<"$bad"' "the control run neither connected nor wrote: the trace check is broken"

# cfg.no_sessions: an error event goes alone, a run that only counts sends nothing to Sentry
ns=$tmp/nosessions
from=$(records)
TOOL_NO_NOTICE=1 TOOL_NO_SESSIONS=1 "$TOOL" "$ns" - "$DSN" count 1 error >/dev/null 2>&1
TOOL_NO_NOTICE=1 TOOL_NO_SESSIONS=1 "$TOOL" "$ns" - "$DSN" count 1 >/dev/null 2>&1
settle
got=$(tail -n +"$(( from + 1 ))" "$tmp/record.jsonl")
check '[ "$(grep -c . <<<"$got")" -eq 1 ] && grep -q "\"type\":\"event\"" <<<"$got" && ! grep -q "\"type\":\"session\"" <<<"$got"' \
      "cfg.no_sessions: want one envelope with the event and no session, got: $(echo "$got" | cut -c1-200)"
TOOL_NO_SESSIONS=1 "$TOOL" "$ns" - "$DSN" telemetry show >"$tmp/cmd.out" 2>&1
check '! grep -q "^Sessions" "$tmp/cmd.out"' "the disclosure lists sessions that are off"

# ---- 4. the sent log: bounded, oldest entries dropped, auth= masked; off with TELEMETRY_NO_WAIT
sl=$tmp/sentlog
for i in 1 2 3 4 5 6 7 8; do TOOL_NO_NOTICE=1 TOOL_SENT_LOG_BYTES=2500 "$TOOL" "$sl" "$URL" - count "$i" report >/dev/null 2>&1; done
size=$(stat -c %s "$sl/sent.log" 2>/dev/null || echo 0)
check '[ "$size" -gt 0 ] && [ "$size" -le 2500 ]' "sent.log is $size bytes, want 1..2500"
check '! grep -q "$TOKEN" "$sl/sent.log" && grep -q "auth=\*\*\*" "$sl/sent.log"' "sent.log does not mask the auth= token"
check '[ "$(head -c 9 "$sl/sent.log")" = "=== sent " ]' "sent.log does not begin with a whole entry after dropping"
check 'grep -q "\"files_processed\":8" "$sl/sent.log" && ! grep -q "\"files_processed\":1}" "$sl/sent.log"' "sent.log did not drop the oldest entries first"
entries=$(grep -c '^=== sent ' "$sl/sent.log")
check '[ "$entries" -ge 2 ] && [ "$entries" -lt 8 ]' "sent.log holds $entries entries, want some but not all 8"
sl2=$tmp/sentlog-off
TOOL_NO_NOTICE=1 TOOL_SENT_LOG_BYTES=off "$TOOL" "$sl2" "$URL" - count 1 report >/dev/null 2>&1
check '[ -e "$sl2/install_id" ] && [ ! -e "$sl2/sent.log" ]' "TELEMETRY_NO_WAIT did not turn the sent log off"

# ---- 5. an interval report: counters add up across 5 runs, one report is sent
iv=$tmp/interval
from=$(records)
t0=1800000000000
for i in 0 1 2 3; do
    TOOL_NO_NOTICE=1 TOOL_INTERVAL=3600 TOOL_CLOCK_MS=$((t0 + i * 1000)) "$TOOL" "$iv" "$URL" - count 1 report >/dev/null 2>&1
done
settle
read -r n sum <<<"$(usage_reports_since "$from")"
check '[ "$n" -eq 0 ]' "runs inside the interval sent $n usage reports"
check 'grep -q "^files_processed 4$" "$iv/counters"' "the counters file does not hold the 4 runs' sum: $(cat "$iv/counters" 2>/dev/null)"
TOOL_NO_NOTICE=1 TOOL_INTERVAL=3600 TOOL_CLOCK_MS=$((t0 + 3601 * 1000)) "$TOOL" "$iv" "$URL" - count 1 report >/dev/null 2>&1
settle
read -r n sum <<<"$(usage_reports_since "$from")"
check '[ "$n" -eq 1 ] && [ "$sum" -eq 5 ]' "after the interval: want 1 report summing 5, got $n summing $sum"
check '! grep -q files_processed "$iv/counters"' "the counters were not reset after the report"
# a run that counts and never reports: its counts wait for the interval's report too
TOOL_NO_NOTICE=1 TOOL_INTERVAL=3600 TOOL_CLOCK_MS=$((t0 + 3700 * 1000)) "$TOOL" "$iv" "$URL" - count 2 >/dev/null 2>&1
check 'grep -q "^files_processed 2$" "$iv/counters"' "a run without a report lost its counts: $(cat "$iv/counters" 2>/dev/null)"
TOOL_INTERVAL=3600 "$TOOL" "$iv" "$URL" - telemetry status >"$tmp/cmd.out" 2>&1
check 'grep -q "Usage reports: at most one every 3600 seconds" "$tmp/cmd.out"' "status does not state the interval"

# ---- 6. C++: an uncaught std::runtime_error("boom") is a fatal event with its type and message
cx=$tmp/cxx
from=$(records)
rc=$( (TOOL_NO_NOTICE=1 exec "$TOOLXX" "$cx" - "$DSN" count 1 throw >/dev/null 2>"$tmp/throw.err"); echo $?)
check '[ "$rc" -eq 134 ]' "the uncaught exception ended with $rc, want 134 (SIGABRT, as without the library)"
check 'grep -q "terminate called after throwing" "$tmp/throw.err"' "the previous terminate handler did not run: $(head -2 "$tmp/throw.err")"
TOOL_NO_NOTICE=1 "$TOOLXX" "$cx" - "$DSN" flush >/dev/null 2>&1
settle
out=$(tail -n +"$(( from + 1 ))" "$tmp/record.jsonl" | python3 -c '
import json, sys
fatal = []
for line in sys.stdin:
    r = json.loads(line)
    for it in r.get("items", []):
        if it["headers"].get("type") == "event" and it["payload"].get("level") == "fatal":
            fatal.append(it["payload"]["exception"]["values"][0])
print(len(fatal), *( [fatal[0]["type"], fatal[0]["value"], fatal[0]["mechanism"]["type"]] if fatal else [] ))')
check '[ "$out" = "1 std::runtime_error boom cxx_terminate" ]' "the next run sent: $out (want one fatal event std::runtime_error boom)"

# an exception that is not a std::exception: named by its type, with no message
cx2=$tmp/cxx2
from=$(records)
rc=$( (TOOL_NO_NOTICE=1 exec "$TOOLXX" "$cx2" - "$DSN" count 1 throwint >/dev/null 2>/dev/null); echo $?)
TOOL_NO_NOTICE=1 "$TOOLXX" "$cx2" - "$DSN" flush >/dev/null 2>&1
sleep 0.2
out=$(tail -n +"$(( from + 1 ))" "$tmp/record.jsonl" | python3 -c '
import json, sys
fatal = [it["payload"]["exception"]["values"][0] for line in sys.stdin for it in json.loads(line).get("items", [])
         if it["headers"].get("type") == "event" and it["payload"].get("level") == "fatal"]
print(len(fatal), *( [fatal[0]["type"], repr(fatal[0].get("value", ""))] if fatal else [] ))')
check '[ "$rc" -eq 134 ] && [ "$out" = "1 int '"''"'" ]' "throw 42: exit $rc, the next run sent: $out (want one fatal event of type int)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
