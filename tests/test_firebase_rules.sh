#!/usr/bin/env bash
# test_firebase_rules.sh - docs/firebase.rules.json against the library's real requests: the
# library sends every shape of usage report to the local receiver ($BUILD/firebase_capture, which
# keeps the receiver's record of each request), then targaryen (tests/node_modules, installed by
# tests/install-deps.sh) replays them and tries reads, overwrites, deletes, extra or oversized
# fields, wrong types and a client-chosen timestamp (tests/firebase_rules_check.js).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
fail() { echo "FAILED: $*"; echo "0 passed, 1 failed"; exit 1; }
command -v node >/dev/null || fail "node is not installed (tests/install-deps.sh installs it)"
[ -f tests/node_modules/targaryen/package.json ] || fail "targaryen is missing: run tests/install-deps.sh"
[ -x "$BUILD/firebase_capture" ] || fail "$BUILD/firebase_capture is not built"
tmp=$(mktemp -d /tmp/telemetry-rules-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/firebase_capture" "$tmp/record" >"$tmp/capture.log" 2>&1 || { cat "$tmp/capture.log"; fail "capturing the library's requests"; }
node tests/firebase_rules_check.js docs/firebase.rules.json "$tmp/record"
