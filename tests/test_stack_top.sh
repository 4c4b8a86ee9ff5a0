#!/usr/bin/env bash
# test_stack_top.sh - the stack of telemetry_capture_error starts at the program's call, not in
# the library, at every optimisation level: tests/stack_top.c built with gcc and clang at -O0, -Og,
# -O1, -O2, -O3 and -O2 -fno-inline; each run prints its event (TELEMETRY_DEBUG=1) and
# tests/check_stack_top.py names the frames from the binary's symbols.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$BUILD/stack_top
mkdir -p "$out"
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset DO_NOT_TRACK STACKTOP_NO_TELEMETRY
for cc in gcc clang; do
    command -v $cc >/dev/null || { failed=$((failed + 1)); echo "FAILED: $cc is missing"; continue; }
    for opt in -O0 -Og -O1 -O2 -O3 "-O2 -fno-inline"; do
        name="$cc$(tr -d ' ' <<<"$opt")"
        # shellcheck disable=SC2086
        if ! $cc -std=c99 -Wall -Wextra -Werror -pedantic $opt -g -D_POSIX_C_SOURCE=200809L -I. tests/stack_top.c \
            -o "$out/$name" -lbearssl -lpthread -lm -static-libgcc; then
            failed=$((failed + 1)); echo "FAILED: $name: build"; continue
        fi
        rm -rf "$tmp/state"
        TELEMETRY_DEBUG=1 "$out/$name" "$tmp/state" >"$tmp/$name.out" 2>&1
        if res=$(/usr/bin/python3 tests/check_stack_top.py "$tmp/$name.out" "$out/$name" app_reports 2>&1); then
            passed=$((passed + 1)); echo "ok $name"
        else
            failed=$((failed + 1)); echo "FAILED: $name: $res"
        fi
    done
done
echo "test_stack_top: $passed passed, $failed failed"
[ $failed -eq 0 ]
