#!/usr/bin/env bash
# demo.sh - the main job, end to end, on this machine: builds the local receiver and the demo
# program, starts the receiver on 127.0.0.1 (HTTPS with the test CA), runs the demo against it
# (a usage report to a Firebase-style endpoint, an error and a message to a Sentry-style one),
# shows what arrived, and stops the receiver.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

bash tests/install-deps.sh
make --no-print-directory -s "$BUILD/telemetry_sink" "$BUILD/demo"

work=$(mktemp -d)
sink_pid=
cleanup() {
    if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

KEY=0123456789abcdef0123456789abcdef
# the usage URL carries no token, as a shipped program's must not (docs/server.md); the receiver
# plays create-only rules like docs/firebase.rules.json
"$BUILD/telemetry_sink" --https-port 0 --http-port off --cert tests/certs/server.pem --key tests/certs/server.key \
    --sentry-key "$KEY" --firebase-create-only --port-file "$work/ports" --record "$work/record.jsonl" \
    >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.05; done
[ -s "$work/ports" ] || { echo "the receiver did not start:"; cat "$work/sink.log"; exit 1; }
port=$(sed -n 's/^https=//p' "$work/ports")

echo "== the receiver listens on https://localhost:$port (certificate from tests/certs/ca.pem)"
echo
echo "== running: demo --disclosure --error --no-notice (telemetry on, state in a temporary folder;"
echo "   --no-notice: this script is not a terminal, and a real first run would send nothing until"
echo "   the first-run notice had been shown on one)"
echo
env -u DO_NOT_TRACK -u DEMO_NO_TELEMETRY "$BUILD/demo" \
    --usage-url "https://localhost:$port/usage.json" \
    --dsn "https://$KEY@localhost:$port/42" \
    --ca-file tests/certs/ca.pem --state-dir "$work/state" --disclosure --error --no-notice
echo
echo "== what the receiver got"
echo
# the demo returned at once: its sidecar ("demo-telemetry" in ps) sends, then deletes what it sent
segments() { ls "$work/state/outbox" 2>/dev/null | grep -c '\.seg$'; }
for i in $(seq 100); do [ "$(segments)" = 0 ] && break; sleep 0.1; done
cat "$work/sink.log"
echo
delivered=$(wc -l <"$work/record.jsonl")
echo "== $delivered payloads delivered by the sidecar; store segments left in the outbox: $(segments)"
echo
echo "== the same program with DO_NOT_TRACK=1 sends nothing:"
DO_NOT_TRACK=1 "$BUILD/demo" --usage-url "https://localhost:$port/usage.json" \
    --dsn "https://$KEY@localhost:$port/42" --ca-file tests/certs/ca.pem --state-dir "$work/state2"
sleep 0.2
echo "   payloads delivered after that run: $(( $(wc -l <"$work/record.jsonl") - delivered ))"
