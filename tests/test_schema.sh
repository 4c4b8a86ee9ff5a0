#!/usr/bin/env bash
# test_schema.sh - every kind of event and the session lifecycle, as the demo really makes them,
# validated against Sentry's event schema (tests/schema, MIT) by tests/validate_envelopes.py.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SCHEMA=${SENTRY_SCHEMA:-tests/schema/sentry-event.schema.json}
if [ ! -f "$SCHEMA" ]; then echo "FAILED: the Sentry event schema is missing at $SCHEMA"; echo "0 passed, 1 failed"; exit 1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dsn="http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42"
# run 1: error event (with stack and images) + session, message event, exited session
env -u DO_NOT_TRACK TELEMETRY_DEBUG=1 "$BUILD/demo" --state-dir "$tmp/s" --dsn "$dsn" --error >/dev/null 2>"$tmp/run1.txt"
# run 2 is killed before shutdown is reached, run 3 reports its session as abnormal
env -u DO_NOT_TRACK TELEMETRY_DEBUG=1 DEMO_EXIT_BEFORE_SHUTDOWN=1 "$BUILD/demo" --state-dir "$tmp/s" --dsn "$dsn" >/dev/null 2>"$tmp/run2.txt"
env -u DO_NOT_TRACK TELEMETRY_DEBUG=1 "$BUILD/demo" --state-dir "$tmp/s" --dsn "$dsn" --error >/dev/null 2>"$tmp/run3.txt"
fail=0
grep -q '"status":"abnormal"' "$tmp/run3.txt" || { echo "FAILED: run 3 did not report the abnormal session"; fail=1; }
grep -q '"status":"exited"' "$tmp/run1.txt" || { echo "FAILED: run 1 did not end its session as exited"; fail=1; }
/usr/bin/python3 tests/validate_envelopes.py "$SCHEMA" "$tmp/run1.txt" "$tmp/run3.txt"
rc=$?
if [ $fail -ne 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
exit $rc
