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
SCHEMA=${SENTRY_SCHEMA:-tests/schema/sentry-event.schema.json}
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

# crash BINARY MODE SIGNAL NUMBER FUNCTION [CHECK OPTIONS]: the crash run ends by the signal with
# one crash file; the next run sends it and check_crash_record.py checks what arrived.
crash() {
    local bin=$1 mode=$2 sig=$3 num=$4 func=$5; shift 5
    local state="$tmp/state-$mode-$(basename "$bin")" rc ms start files out p f left
    mkdir -p "$state"
    : >"$tmp/record.jsonl"
    start=$(date +%s%N)
    CRASHME_PLUGIN_DIR="$BUILD" timeout 30 "$bin" "$mode" "$state" "$dsn" 2>"$tmp/$mode.err"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ $rc -eq 97 ]; then fail "$mode: the crash handler called the allocator"; return; fi
    if [ $rc -eq $((128 + num)) ]; then pass; else fail "$mode: exit status $rc, want $((128 + num)) ($sig)"; fi
    if [ "$mode" = chained ]; then
        if grep -q "own handler ran" "$state/own-handler-ran" 2>/dev/null; then pass; else fail "chained: the program's own handler did not run"; fi
    fi
    if [ "$mode" = inhandler ]; then
        # a fault inside the handler: no hang (the timeout did not fire), the default action
        if [ $ms -lt 10000 ]; then pass; else fail "inhandler: took $ms ms"; fi
        # no crash record could be written: the sidecar tells the run's end as abnormal (and
        # this run's late report must not land in the next mode's record)
        for _ in $(seq 100); do grep -q '"status":"abnormal"' "$tmp/record.jsonl" 2>/dev/null && break; sleep 0.05; done
        if grep -q '"status":"abnormal"' "$tmp/record.jsonl"; then pass; else fail "inhandler: no abnormal session arrived"; fi
        return
    fi
    # no next run: within 5 s of the crash the sidecar has delivered it (a fatal event in the record)
    for _ in $(seq 100); do grep -q '"level":"fatal"' "$tmp/record.jsonl" 2>/dev/null && break; sleep 0.05; done
    if grep -q '"level":"fatal"' "$tmp/record.jsonl"; then pass; else fail "$mode: the crash did not arrive within 5 s without a next run"; fi
    sleep 0.3
    if grep -q '"init":true' "$tmp/record.jsonl"; then pass; else fail "$mode: the session start did not arrive"; fi
    out=$(/usr/bin/python3 tests/check_crash_record.py "$tmp/record.jsonl" "$sig" "$SCHEMA" "$func" "$@")
    p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$out" | tail -1); f=$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$out" | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
    grep FAILED <<<"$out" | sed "s/^/$mode: /"
    for _ in $(seq 100); do [ "$(ls "$state/outbox" 2>/dev/null | grep -c '\.seg$')" -eq 0 ] && break; sleep 0.05; done
    left=$(ls "$state/outbox" 2>/dev/null | grep -c '\.seg$')
    if [ "$left" -eq 0 ]; then pass; else fail "$mode: $left segments left in the store after the sidecar"; fi
    echo "ok $mode ($sig, crash run $ms ms)"
}

# mode, signal name, signal number, the crashing function the next run must name (- for none), checks
while read -r mode sig num func opts; do
    # shellcheck disable=SC2086
    crash "$BUILD/crashme" "$mode" "$sig" "$num" "$func" $opts
done <<'MODES'
null SIGSEGV 11 parse_config --fault
abort SIGABRT 6 - --sent
fpe SIGFPE 8 main --fault
stack SIGSEGV 11 recurse
thread SIGSEGV 11 parse_config
chained SIGSEGV 11 parse_config
inhandler SIGSEGV 11 -
altbefore SIGSEGV 11 parse_config
altafter SIGSEGV 11 parse_config
sent SIGSEGV 11 - --sent
handledcrash SIGSEGV 11 parse_config
returning SIGSEGV 11 parse_config
aborttail SIGABRT 6 - --has abort_tail --has abort_caller --has main
plugin SIGSEGV 11 plugin_crash --image crash_plugin.so
MODES
if [ "$(uname -m)" = x86_64 ]; then crash "$BUILD/crashme" badstack SIGILL 4 -; fi
# no build id: Sentry's .text-hash debug id, and the next run still names the frames by it
crash "$BUILD/crashme_noid" null SIGSEGV 11 parse_config --text-id "$BUILD/crashme_noid"
if command -v sentry-cli >/dev/null; then
    want=$(sentry-cli debug-files check "$BUILD/crashme_noid" | sed -n 's/.*Debug ID: *//p' | head -1)
    got=$(/usr/bin/python3 -c 'import sys; sys.argv[1:] = ["", "", ""]; exec(open("tests/check_crash_record.py").read().split("\ncrashes, sessions")[0].replace("validator = jsonschema", "_v = jsonschema").replace("json.load(open(schema_path))", "{}")); print(text_debug_id(sys.argv[4]))' "$BUILD/crashme_noid" 2>&1)
    if [ -n "$want" ] && [ "$want" = "$got" ]; then pass; else fail "sentry-cli says $want for the no-build-id binary, the test computes $got"; fi
fi

# a fault the program handles itself (siglongjmp, 3 times) is no crash: exit 0, no crash file,
# the session ends "exited", and the next run sends no fatal event
state="$tmp/state-handled"; mkdir -p "$state"; : >"$tmp/record.jsonl"
timeout 30 "$BUILD/crashme" handled "$state" "$dsn" 2>"$tmp/handled.err"; rc=$?
if [ $rc -eq 0 ]; then pass; else fail "handled: exit status $rc, want 0"; fi
n=$(ls "$state/outbox" 2>/dev/null | xargs -r -I{} grep -l '"level":"fatal"' "$state/outbox/{}" | wc -l)
if [ "$n" -eq 0 ]; then pass; else fail "handled: $n fatal events in the outbox"; fi
timeout 30 "$BUILD/crashme" none "$state" "$dsn" || fail "handled: the next run failed"
if ! grep -q '"level":"fatal"' "$tmp/record.jsonl"; then pass; else fail "handled: a fatal event was sent"; fi
if ! grep -q '"status":"crashed"' "$tmp/record.jsonl"; then pass; else fail "handled: a crashed session was sent"; fi
if grep -q '"status":"exited"' "$tmp/record.jsonl"; then pass; else fail "handled: no exited session"; fi

# revoked consent disarms the crash handler: the fault ends the program as before (SIGSEGV) and
# leaves no file but the consent decision; consent given again re-arms it
state="$tmp/state-revoked"; mkdir -p "$state"
timeout 30 "$BUILD/crashme" revoked "$state" "$dsn" 2>/dev/null; rc=$?
if [ $rc -eq 139 ]; then pass; else fail "revoked: exit status $rc, want 139 (SIGSEGV)"; fi
left=$(cd "$state" && find . -type f ! -name consent | wc -l)
if [ "$left" -eq 0 ]; then pass; else fail "revoked: $left files left in the state folder: $(cd "$state" && find . -type f ! -name consent)"; fi
if [ "$(cat "$state/consent" 2>/dev/null)" = revoked ]; then pass; else fail "revoked: the consent file does not say revoked"; fi
state="$tmp/state-regiven"; mkdir -p "$state"; : >"$tmp/record.jsonl"
timeout 30 "$BUILD/crashme" regiven "$state" "$dsn" 2>/dev/null; rc=$?
if [ $rc -eq 139 ]; then pass; else fail "regiven: exit status $rc, want 139 (SIGSEGV)"; fi
for _ in $(seq 100); do grep -q '"level":"fatal"' "$tmp/record.jsonl" 2>/dev/null && break; sleep 0.05; done
n=$(grep -c '"level":"fatal"' "$tmp/record.jsonl")
if [ "$n" -eq 1 ]; then pass; else fail "regiven: $n crash reports arrived, want 1"; fi

# a fault on the library's worker (in the program's telemetry_io callback) is recorded, and the
# program's own handler still runs (it exits 77)
state="$tmp/state-worker"; mkdir -p "$state"; : >"$tmp/record.jsonl"
timeout 30 "$BUILD/crashme" worker "$state" "$dsn" 2>"$tmp/worker.err"; rc=$?
if [ $rc -eq 77 ]; then pass; else fail "worker: exit status $rc, want 77 (the program's handler)"; fi
files=$(ls "$state/outbox" 2>/dev/null | xargs -r -I{} grep -l '"level":"fatal"' "$state/outbox/{}" | wc -l)
if [ "$files" -eq 1 ]; then pass; else fail "worker: $files crash files, want 1"; fi
timeout 30 "$BUILD/crashme" none "$state" "$dsn" || fail "worker: the next run failed"
out=$(/usr/bin/python3 tests/check_crash_record.py "$tmp/record.jsonl" SIGSEGV "$SCHEMA" bad_connect --fault)
p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$out" | tail -1); f=$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$out" | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1})); grep FAILED <<<"$out" | sed "s/^/worker: /"

# 8 threads fault at the same moment, 20 times: one crash record each time, always whole (the
# store is read where it stays: thread mode, and a server that is not there)
broken=0 counts=
for i in $(seq 20); do
    state="$tmp/state-race-$i"; mkdir -p "$state"
    TELEMETRY_NO_SIDECAR=1 timeout 30 "$BUILD/crashme" race "$state" "http://$KEY@127.0.0.1:9/42" 2>/dev/null; rc=$?
    [ $rc -eq 139 ] || broken=$((broken + 1))
    out=$(/usr/bin/python3 tests/check_store.py --crashes 1 "$state"/outbox/*.seg) || broken=$((broken + 1))
    counts="$counts $(sed -n 's/.* records, \([0-9]*\) crash records.*/\1/p' <<<"$out")"
done
if [ $broken -eq 0 ]; then pass; else fail "race: $broken broken runs (crash records per run:$counts)"; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
