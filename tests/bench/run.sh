#!/usr/bin/env bash
# Runs every built benchmark ($BUILD/bench_*) against local receivers it starts and stops itself:
# build/telemetry_sink with the EC test certificate (HTTPS + HTTP, with a record file) and a
# second one with the RSA certificate (HTTPS only). Usage: tests/bench/run.sh [bench_name ...]
# (names: bench_* programs, and instr, size, short_tool for the three scripted figures below)
# Environment: BUILD (default build), BENCH_REPEAT (run the whole set this many times, 1), and
# the knobs each benchmark reads (see tests/mk/bench.mk). Output: human-readable text with one
# "BENCH name=value unit" line per figure; with BENCH_REPEAT > 1, a summary of the medians.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
REPEAT=${BENCH_REPEAT:-1}
SINK=$BUILD/telemetry_sink
KEY=0123456789abcdef0123456789abcdef

[ -x "$SINK" ] || { echo "run.sh: $SINK is missing: make $SINK" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/telemetry-bench-run-XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_sink NAME ARGS...: starts a sink, waits (at most 5 s) for its port file.
start_sink() {
    local name=$1; shift
    "$SINK" --port-file "$work/$name.ports" --quiet --sentry-key "$KEY" "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    local i
    for i in $(seq 1 500); do
        [ -s "$work/$name.ports" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.01
    done
    echo "run.sh: the $name sink did not start:" >&2
    cat "$work/$name.log" >&2
    exit 2
}
port_of() { sed -n "s/^$2=//p" "$work/$1.ports"; }

start_sink ec --https-port 0 --http-port 0 --record "$work/record.jsonl"
start_sink rsa --https-port 0 --http-port off \
    --cert tests/certs/server-rsa.pem --key tests/certs/server-rsa.key

export BENCH_SINK_HTTPS=$(port_of ec https) BENCH_SINK_HTTP=$(port_of ec http)
export BENCH_SINK_RSA_HTTPS=$(port_of rsa https) BENCH_SINK_RECORD=$work/record.jsonl
export BENCH_SENTRY_KEY=$KEY
unset TELEMETRY_DEBUG DO_NOT_TRACK https_proxy HTTPS_PROXY http_proxy HTTP_PROXY

benches=()
if [ $# -gt 0 ]; then
    for b in "$@"; do [ "$b" = instr ] || [ "$b" = size ] || [ "$b" = short_tool ] || benches+=("$BUILD/${b#$BUILD/}"); done
else
    for b in "$BUILD"/bench_*; do [ -x "$b" ] && benches+=("$b"); done
fi
[ ${#benches[@]} -gt 0 ] || [ $# -gt 0 ] || { echo "run.sh: no benchmarks in $BUILD (make bench-build)" >&2; exit 2; }

echo "machine: $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "telemetry.h: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet -- telemetry.h 2>/dev/null || echo ' (working tree modified)')"
echo "sinks: EC https=$BENCH_SINK_HTTPS http=$BENCH_SINK_HTTP, RSA https=$BENCH_SINK_RSA_HTTPS"
status=0
for r in $(seq 1 "$REPEAT"); do
    [ "$REPEAT" -gt 1 ] && echo "######## repetition $r of $REPEAT"
    for b in "${benches[@]}"; do
        echo
        "$b" 2>&1 | tee -a "$work/all.out"
        rc=${PIPESTATUS[0]}
        if [ "$rc" -ne 0 ]; then echo "run.sh: $b exited with $rc" >&2; status=1; fi
        # a benchmark that left the sink misbehaving must not spoil the next one
        curl -s -o /dev/null -X POST "http://127.0.0.1:$BENCH_SINK_HTTP/_sink/mode?m=ok" 2>/dev/null || true
    done
done
# the short tool against a server answering after 150 ms: tests/test_delivery.c measures it (median
# of 20 pairs, telemetry on minus DO_NOT_TRACK=1); its figure is printed here against issue 10's bound
if [ $# -eq 0 ] || [[ " $* " == *" short_tool "* ]]; then
    echo
    echo "== short tool (tests/test_delivery.c, TEST_ONLY=short_tool: init, usage report, one event, shutdown; server delay 150 ms)"
    if [ -x "$BUILD/test_delivery" ]; then
        out=$(TEST_ONLY=short_tool "$BUILD/test_delivery" 2>&1); rc=$?
        echo "$out" | grep -E "short tool|passed" | sed 's/^/  /'
        wall=$(echo "$out" | sed -n 's/.*program.s CPU and \([0-9.]*\) ms of wall time.*/\1/p')
        cpu=$(echo "$out" | sed -n 's/.*telemetry adds \([0-9.]*\) ms of the program.s CPU.*/\1/p')
        if [ -n "$wall" ] && [ "$rc" -eq 0 ]; then
            verdict=$(awk -v w="$wall" 'BEGIN { print (w < 5.0) ? "ok" : "MISSED" }')
            [ "$verdict" = ok ] || status=1
            echo "BENCH short_tool_added_wall_median=$wall ms (bound 5) $verdict" | tee -a "$work/all.out"
            echo "BENCH short_tool_added_cpu_median=$cpu ms" | tee -a "$work/all.out"
        else
            echo "run.sh: $BUILD/test_delivery short_tool failed ($rc)" >&2; status=1
        fi
    else
        echo "run.sh: $BUILD/test_delivery is missing: make $BUILD/test_delivery" >&2; status=1
    fi
fi
# instruction counts (callgrind; deterministic): with the whole set, or when asked for by name
if [ $# -eq 0 ] || [[ " $* " == *" instr "* ]]; then
    echo
    echo "== instr.sh (callgrind instruction counts, per event)"
    BUILD=$BUILD bash tests/bench/instr.sh || status=1
fi
if [ $# -eq 0 ] || [[ " $* " == *" size "* ]]; then
    echo
    echo "== size.sh (stripped static program, docs/building.md)"
    BUILD=$BUILD bash tests/bench/size.sh || status=1
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
if [ "$REPEAT" -gt 1 ]; then
    echo
    echo "######## medians over $REPEAT repetitions (name median [min .. max] unit)"
    awk '/^BENCH / {
            split($2, kv, "="); name = kv[1]; v = kv[2] + 0; unit[name] = $3;
            n[name]++; vals[name, n[name]] = v; if (!(name in order)) { order[name] = ++k; names[k] = name }
        }
        END {
            for (i = 1; i <= k; i++) {
                nm = names[i]; c = n[nm];
                for (a = 1; a <= c; a++) s[a] = vals[nm, a];
                for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
                med = c % 2 ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2;
                printf "MEDIAN %s=%g %s [%g .. %g] (%d runs)\n", nm, med, unit[nm], s[1], s[c], c
            }
        }' "$work/all.out"
fi
exit $status
