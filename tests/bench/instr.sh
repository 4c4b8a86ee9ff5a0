#!/usr/bin/env bash
# Instructions per captured event, counted by callgrind (deterministic: repeats agree to ~0.1 %).
# Each figure is (count with N2 events - count with N1 events) / (N2 - N1), so init, the first
# capture (which starts the worker) and shutdown cancel out. Prints each figure next to its bound
# ("BENCH name=value instr (bound B)") and exits 1 when one is over it.
#
#   tests/bench/instr.sh [quick|check]  quick and check (make check, ~4 s): only the calling
#                                       thread's figures
# Environment: BUILD (build), INSTR_N1 (20), INSTR_N2 (220); BENCH_SINK_HTTPS (a running sink's
# HTTPS port, as tests/bench/run.sh exports) adds the "server up over HTTPS" figure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N1=${INSTR_N1:-20}
N2=${INSTR_N2:-220}
PROG=$BUILD/instr_capture
KEY=${BENCH_SENTRY_KEY:-0123456789abcdef0123456789abcdef}
command -v valgrind >/dev/null || { echo "instr.sh: valgrind is not installed (tests/install-deps.sh)" >&2; exit 2; }
[ -x "$PROG" ] || { echo "instr.sh: $PROG is missing: make $PROG" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/telemetry-instr-XXXXXX")
trap 'rm -rf "$work"' EXIT
missed=0

# count FILE-TAG TOGGLE ARGS...: total instructions of one run ("" TOGGLE: all threads).
count() {
    local tag=$1 toggle=$2; shift 2
    local out=$work/$tag.out
    local opts=(--tool=callgrind --callgrind-out-file="$out")
    [ -n "$toggle" ] && opts+=(--toggle-collect="$toggle")
    TMPDIR=$work valgrind "${opts[@]}" "$PROG" "$@" >"$work/$tag.log" 2>&1 || { cat "$work/$tag.log" >&2; echo "instr.sh: $PROG $* failed" >&2; exit 2; }
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}
# figure NAME BOUND TOGGLE MODE [DSN]
figure() {
    local name=$1 bound=$2 toggle=$3 mode=$4; shift 4
    local a b per
    a=$(count "$name-1" "$toggle" "$mode" "$N1" "$@")
    b=$(count "$name-2" "$toggle" "$mode" "$N2" "$@")
    [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] || { echo "instr.sh: no count for $name" >&2; exit 2; }
    per=$(( (b - a) / (N2 - N1) ))
    if [ "$per" -le "$bound" ]; then verdict=ok; else verdict=MISSED; missed=1; fi
    printf 'BENCH %s=%d instr (bound %d) %s\n' "$name" "$per" "$bound" "$verdict"
}

figure instr_capture_message_caller 5000 telemetry_capture_message message
figure instr_capture_error_caller 15000 telemetry_capture_error error
if [ "${1:-}" != quick ] && [ "${1:-}" != check ]; then
    figure instr_capture_message_all_server_down 15000 "" message
    # the JSON writer against cJSON (tests/bench/bench_json.c), instructions per document
    if [ -x "$BUILD/bench_json" ]; then
        for doc in event strings; do
            for lib in tm cj; do
                TMPDIR=$work valgrind --tool=callgrind --callgrind-out-file="$work/j.out" "$BUILD/bench_json" count $lib $doc 0 >/dev/null 2>&1
                a=$(awk '/^(summary|totals):/ { print $2; exit }' "$work/j.out")
                TMPDIR=$work valgrind --tool=callgrind --callgrind-out-file="$work/j.out" "$BUILD/bench_json" count $lib $doc 200 >/dev/null 2>&1
                b=$(awk '/^(summary|totals):/ { print $2; exit }' "$work/j.out")
                eval "j_$lib=\$(( (b - a) / 200 ))"
            done
            ratio=$(awk -v t="$j_tm" -v c="$j_cj" 'BEGIN { printf "%.2f", c / t }')
            verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 2.0) ? "ok" : "MISSED" }')
            [ "$verdict" = ok ] || missed=1
            printf 'BENCH instr_json_%s=%d instr (cJSON %d: %sx, bound >= 2.0x) %s\n' "$doc" "$j_tm" "$j_cj" "$ratio" "$verdict"
        done
    fi
    if [ -n "${BENCH_SINK_HTTPS:-}" ]; then
        figure instr_capture_message_all_server_up_https 30000 "" message "https://$KEY@localhost:$BENCH_SINK_HTTPS/42"
    fi
fi
exit $missed
