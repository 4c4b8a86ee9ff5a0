#!/usr/bin/env bash
# test_crash.sh - real programs that really crash (tests/crashme.c), with no next run: the
# sidecar sends the report to the local receiver within 5 s of the crash. For each crash: the
# exit status is the signal, the event arrives once, validates against Sentry's schema, names the
# signal, has the crashing frame (named by the sidecar) and its image, the session is crashed and
# its start arrived too, and the store is empty afterwards. The program interposes malloc: a
# handler that allocates ends it with status 97 instead of the signal.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SCHEMA=${SENTRY_SCHEMA:-../shared/reference/sentry-event.schema.json}
KEY=0123456789abcdef0123456789abcdef
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
tmp=$(mktemp -d)
sink_pid=
cleanup() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
for f in "$BUILD/crashme" "$BUILD/telemetry_sink" "$SCHEMA"; do
    [ -e "$f" ] || { echo "FAILED: $f is missing"; echo "0 passed, 1 failed"; exit 1; }
done

start_sink() {
    rm -f "$tmp/ports"
    "$BUILD/telemetry_sink" --https-port off --http-port 0 --sentry-key "$KEY" --quiet \
        --port-file "$tmp/ports" --record "$tmp/record.jsonl" >"$tmp/sink.log" 2>&1 &
    sink_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/ports" ] && break; sleep 0.05; done
    port=$(sed -n 's/^http=//p' "$tmp/ports")
}
"$BUILD/crashme" selfcheck "$tmp" x 2>/dev/null
if [ $? -eq 97 ]; then pass; else fail "the allocator interposition does not work: the safety check proves nothing"; fi
start_sink
dsn="http://$KEY@127.0.0.1:$port/42"

# mode, signal name, signal number, the crashing function the next run must name (- for none)
while read -r mode sig num func; do
    state="$tmp/state-$mode"
    mkdir -p "$state"
    : >"$tmp/record.jsonl"
    start=$(date +%s%N)
    timeout 30 "$BUILD/crashme" "$mode" "$state" "$dsn" 2>"$tmp/$mode.err"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ $rc -eq 97 ]; then fail "$mode: the crash handler called the allocator"; continue; fi
    if [ $rc -eq $((128 + num)) ]; then pass; else fail "$mode: exit status $rc, want $((128 + num)) ($sig)"; fi
    if [ "$mode" = chained ]; then
        if grep -q "own handler ran" "$state/own-handler-ran" 2>/dev/null; then pass; else fail "chained: the program's own handler did not run"; fi
    fi
    if [ "$mode" = inhandler ]; then
        # a fault inside the handler: no hang (the timeout did not fire), the default action
        if [ $ms -lt 10000 ]; then pass; else fail "inhandler: took $ms ms"; fi
        continue
    fi
    # no next run: within 5 s of the crash the sidecar has delivered it (a fatal event in the record)
    for _ in $(seq 100); do grep -q '"level":"fatal"' "$tmp/record.jsonl" 2>/dev/null && break; sleep 0.05; done
    if grep -q '"level":"fatal"' "$tmp/record.jsonl"; then pass; else fail "$mode: the crash did not arrive within 5 s without a next run"; fi
    sleep 0.3
    if grep -q '"init":true' "$tmp/record.jsonl"; then pass; else fail "$mode: the session start did not arrive"; fi
    out=$(/usr/bin/python3 tests/check_crash_record.py "$tmp/record.jsonl" "$sig" "$SCHEMA" $( [ "$func" != - ] && echo "$func"))
    p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$out" | tail -1); f=$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$out" | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
    grep FAILED <<<"$out"
    for _ in $(seq 100); do [ "$(ls "$state/outbox" 2>/dev/null | grep -c '\.seg$')" -eq 0 ] && break; sleep 0.05; done
    left=$(ls "$state/outbox" 2>/dev/null | grep -c '\.seg$')
    if [ "$left" -eq 0 ]; then pass; else fail "$mode: $left segments left in the store after the sidecar"; fi
    echo "ok $mode ($sig, crash run $ms ms)"
done <<'MODES'
null SIGSEGV 11 parse_config
abort SIGABRT 6 -
fpe SIGFPE 8 main
stack SIGSEGV 11 recurse
thread SIGSEGV 11 parse_config
chained SIGSEGV 11 parse_config
inhandler SIGSEGV 11 -
MODES
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
