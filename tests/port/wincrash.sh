#!/usr/bin/env bash
# tests/port/wincrash.sh [x86_64] [i686] - Windows error events and real crashes under wine,
# against the local receiver (build/telemetry_sink) on 127.0.0.1. For each target it builds
# tests/port/wincrash.c with mingw-w64 (-Wl,--build-id, so the .exe has a CodeView RSDS record; i686
# with -fno-omit-frame-pointer, docs/crashes.md), then:
#   - an error event from three nested functions, sent at once: its stack and PE image list;
#   - each crash kind (access violation, integer divide by zero, illegal instruction, abort,
#     stack overflow, an access violation in a DLL loaded after telemetry_init from under a
#     C:\users\<name>\ folder, and one on a second thread): the run crashes; its exit status must
#     equal that of the same crash with the handler off (WINCRASH_NO_HANDLER; the program's
#     allocator exits 97 when the handler calls it); the crash record it appended to the store
#     is delivered by the next run ("send") and the event the receiver got is checked: type, top
#     frame, thread, images, the session ended crashed;
#   - an access violation with a state folder named outside the ANSI code page: its record in
#     that folder's store, delivered from there by the next run.
#   - built for the UCRT (wincrash-ucrt.exe): _close(-1) with no invalid-parameter handler of the
#     program's, checked like the crashes (the event's mechanism is invalid_parameter_handler);
#     and with the program's own handler set first: it runs, nothing is recorded, shutdown puts
#     it back;
#   - the crashed-session race: WINCRASH_ROUNDS (30) times an error, then an access violation
#     while the worker rewrites the session file, then a next run: each crashed session ends
#     exactly once, as crashed, never abnormal.
# tests/port/check_wincrash.py reads the .exe's own PE headers and RSDS record (and objdump -p's
# reading) to check code_id, debug_id and image_size. Prints "N passed, M failed".
# WINCRASH_ONLY="av errcrash": only those cases (their names below: error, the crash kinds and
# invparam, unicode, revoked, invparam-own, errcrash).
# WINEPREFIX: tests/port/run.sh's prefix when it runs this; else one of its own under build/port.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
OUT=$ROOT/$BUILD/port/wincrash
mkdir -p "$OUT"
KEY=0123456789abcdef0123456789abcdef
WARN="-Wall -Wextra -Werror -pedantic"
OWN_PREFIX=0; [ -n "${WINEPREFIX:-}" ] || OWN_PREFIX=1      # a shared prefix's server is its owner's to stop
export WINEPREFIX=${WINEPREFIX:-$ROOT/$BUILD/port/wine-crash} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
TARGETS=${*:-x86_64 i686}
ROUNDS=${WINCRASH_ROUNDS:-30}          # crashes of the session race case (each ~0.8 s under wine with its next run)
ONLY=${WINCRASH_ONLY:-}                   # cases to run (while working on one): error av ... errcrash
run_case() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAILED: $*"; }
tally() {   # adds a checker's "N passed, M failed"
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    if [ -z "$line" ]; then bad "$2: the checker printed no count"; sed 's/^/    /' "$1"; return; fi
    PASSED=$((PASSED + $(cut -d' ' -f1 <<<"$line"))); FAILED=$((FAILED + $(cut -d' ' -f3 <<<"$line")))
    grep FAILED "$1" | sed "s/^/    $2: /"
}

[ -x "$BUILD/telemetry_sink" ] || make -s "$BUILD/telemetry_sink" || exit 1
command -v wine >/dev/null || { echo "wine is not installed (tests/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -f "$WINEPREFIX/.telemetry-ready" ]; then
    (flock 9; [ -f "$WINEPREFIX/.telemetry-ready" ] ||
        { rm -rf "$WINEPREFIX"; timeout 300 wineboot --init >/dev/null 2>&1 && timeout 120 wineserver -w && touch "$WINEPREFIX/.telemetry-ready"; }
    ) 9>"$OUT/wine.lock"
fi

SINK_PID=
start_sink() {
    local d=$1 i
    mkdir -p "$d"; rm -f "$d/ports" "$d/record.jsonl"
    "$ROOT/$BUILD/telemetry_sink" --https-port 0 --http-port 0 --cert tests/certs/server.pem --key tests/certs/server.key \
        --sentry-key "$KEY" --port-file "$d/ports" --record "$d/record.jsonl" --quiet >"$d/sink.log" 2>&1 &
    SINK_PID=$!
    for i in $(seq 200); do [ -s "$d/ports" ] && break; sleep 0.05; done
    HTTP_PORT=$(sed -n 's/^http=//p' "$d/ports")
    [ -n "$HTTP_PORT" ]
}
stop_sink() { [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null; SINK_PID=; }
trap 'stop_sink; [ $OWN_PREFIX -eq 0 ] || wineserver -k 2>/dev/null' EXIT

for t in $TARGETS; do
    case $t in
        x86_64) cc=x86_64-w64-mingw32-gcc; lib=mingw64; a2l=x86_64-w64-mingw32-addr2line; extra=;;
        i686)   cc=i686-w64-mingw32-gcc; lib=mingw32; a2l=i686-w64-mingw32-addr2line; extra=-fno-omit-frame-pointer;;
        *) echo "unknown target $t"; exit 2;;
    esac
    d=$OUT/$t; rm -rf "$d"; mkdir -p "$d"
    bash tests/port/bearssl.sh "$lib" >"$d/bearssl.log" 2>&1 || { bad "$t: BearSSL for $lib"; continue; }
    exe=$d/wincrash.exe
    # the plugin under some user's folder in the prefix's C:\users (its path must be redacted); one
    # user a target: tests/port/run.sh runs both targets at once in one prefix
    pdir=$WINEPREFIX/drive_c/users/wincrash-$t/plugin; mkdir -p "$pdir"
    dll=$pdir/wincrash_plugin.dll
    $cc -std=c99 $WARN -O2 -g $extra -shared tests/port/wincrash_plugin.c -o "$dll" -Wl,--build-id >"$d/plugin.build.log" 2>&1 ||
        bad "$t: plugin build: $(grep -m1 -E 'error|undefined' "$d/plugin.build.log")"
    if $cc -std=c99 $WARN -O2 -g $extra -static -I. -I"$BUILD/port/bearssl/inc" tests/port/wincrash.c -o "$exe" \
            "$BUILD/port/bearssl/$lib/libbearssl.a" -lws2_32 -lbcrypt -lcrypt32 -Wl,--build-id >"$d/build.log" 2>&1; then
        ok "$t: wincrash.exe builds -Werror"
    else
        bad "$t: build: $(grep -m1 -E 'error|undefined' "$d/build.log")"; continue
    fi
    # the same for the Universal CRT (mingw-w64 links msvcrt.dll, which never calls an
    # invalid-parameter handler): its specs with -lucrt for -lmsvcrt, and _UCRT for the headers
    uexe=$d/wincrash-ucrt.exe
    $cc -dumpspecs | sed 's/-lmsvcrt/-lucrt/g' >"$d/ucrt.specs"
    if $cc -specs="$d/ucrt.specs" -D_UCRT -std=c99 $WARN -O2 -g $extra -static -I. -I"$BUILD/port/bearssl/inc" tests/port/wincrash.c -o "$uexe" \
            "$BUILD/port/bearssl/$lib/libbearssl.a" -lws2_32 -lbcrypt -lcrypt32 -Wl,--build-id >"$d/build-ucrt.log" 2>&1; then
        ok "$t: wincrash-ucrt.exe (UCRT) builds -Werror"
    else
        bad "$t: UCRT build: $(grep -m1 -E 'error|undefined' "$d/build-ucrt.log")"; uexe=
    fi
    start_sink "$d/sink" || { bad "$t: the receiver did not start"; continue; }
    dsn="http://$KEY@127.0.0.1:$HTTP_PORT/1"
    state=$d/state; mkdir -p "$state"
    wstate=$(winepath -w "$state" 2>/dev/null)
    if run_case error; then
        # the error event
        timeout 120 wine "$exe" --dsn "$dsn" --state-dir "$wstate" error >"$d/error.log" 2>&1
        [ $? -eq 0 ] && ok "$t: error run exits 0" || bad "$t: error run: $(tail -3 "$d/error.log")"
        python3 tests/port/check_wincrash.py error "$d/sink/record.jsonl" "$exe" "$a2l" >"$d/check-error.log" 2>&1
        tally "$d/check-error.log" "$t error"
    fi
    export WINCRASH_PLUGIN='C:\users\wincrash-'$t'\plugin\wincrash_plugin.dll'
    for kind in av div ill abort stack dll thread invparam; do
        run_case $kind || continue
        kexe=$exe
        if [ $kind = invparam ]; then kexe=$uexe; [ -n "$kexe" ] || continue; fi
        : >"$d/sink/record.jsonl"
        rm -rf "$state"; mkdir -p "$state"
        # wine x86-64 never ends a process after a stack overflow, with or without the handler:
        # that run is cut at 30 s there (both then end 124; i686 ends it, slowly under load)
        tmo=120; [ $kind = stack ] && [ $t = x86_64 ] && tmo=30
        # no winedbg at the unhandled exception (it slows the end and sometimes changes the status)
        WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" WINCRASH_NO_HANDLER=1 timeout $tmo wine "$kexe" --dsn "$dsn" --state-dir "$wstate" $kind >"$d/$kind-nohandler.log" 2>&1 </dev/null
        want=$?
        # wine itself dies (SIGSEGV, 139) at the unhandled exception now and then under load, twice
        # in a row once in CI: that is not what the program does without the handler; asked up to
        # four times in all, a second apart
        for again in 2 3 4; do
            [ $want -eq 139 ] || break
            sleep 1; rm -rf "$state"; mkdir -p "$state"
            WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" WINCRASH_NO_HANDLER=1 timeout $tmo wine "$kexe" --dsn "$dsn" --state-dir "$wstate" $kind >"$d/$kind-nohandler.log" 2>&1 </dev/null
            want=$?
            echo "$t $kind: the run without the handler asked again ($again): $want" >>"$d/retries.log"
        done
        rm -rf "$state"; mkdir -p "$state"
        WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" timeout $tmo wine "$kexe" --dsn "$dsn" --state-dir "$wstate" $kind >"$d/$kind.log" 2>&1 </dev/null
        rc=$?
        [ "$rc" -eq "$want" ] && [ "$rc" -ne 0 -o "$kind" = stack ] && ok "$t $kind: exit status $rc, as without the handler" ||
            bad "$t $kind: exit status $rc, without the handler $want"
        # the record the handler appended to the store (a segment of its own) is delivered by
        # the next run's sender (or already by the dying run's, which goes on meanwhile)
        timeout 120 wine "$kexe" --dsn "$dsn" --state-dir "$wstate" send >"$d/$kind-next.log" 2>&1 </dev/null
        python3 tests/port/check_wincrash.py crash $kind "$d/sink/record.jsonl" "$kexe" "$a2l" $([ $kind = dll ] && echo "$dll") \
            $([ "$t" = x86_64 ] && echo full) >"$d/check-$kind.log" 2>&1
        tally "$d/check-$kind.log" "$t $kind"
    done
    if run_case unicode; then
        # a state folder outside the ANSI code page (its name reaches the program wide, as UTF-8): the
        # handler's segment and the store's files are named wide from UTF-8. The crashing run's DSN
        # is a closed port, so its record stays in that folder's store, and only the next run, reading
        # the same folder, can deliver it
        ustate=$d/state-测试; rm -rf "$ustate"; mkdir -p "$ustate"
        : >"$d/sink/record.jsonl"
        wustate=$(winepath -w "$ustate" 2>/dev/null)
        WINCRASH_STATE="$wustate" WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" \
            timeout 120 wine "$exe" --dsn "http://$KEY@127.0.0.1:9/1" --state-dir - av >"$d/unicode.log" 2>&1 </dev/null
        rc=$?
        [ "$rc" -eq 5 ] && ok "$t unicode folder: exit status 5 (the access violation's)" || bad "$t unicode folder: exit status $rc"
        segs=$(find "$ustate/outbox" -name '*.seg' 2>/dev/null | wc -l)
        [ "$segs" -ge 1 ] && ok "$t unicode folder: the crash record is in that folder's store ($segs segments)" ||
            bad "$t unicode folder: no segment in $ustate/outbox"
        WINCRASH_STATE="$wustate" timeout 120 wine "$exe" --dsn "$dsn" --state-dir - send >"$d/unicode-next.log" 2>&1 </dev/null
        python3 tests/port/check_wincrash.py crash av "$d/sink/record.jsonl" "$exe" "$a2l" >"$d/check-unicode.log" 2>&1
        tally "$d/check-unicode.log" "$t unicode folder"
    fi
    if run_case revoked; then
        # revoked consent takes the handler away: the same exit status, no crash report in the folder
        rm -rf "$state"; mkdir -p "$state"
        WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" timeout 120 wine "$exe" --dsn "$dsn" --state-dir "$wstate" revoked >"$d/revoked.log" 2>&1 </dev/null
        rc=$?
        [ "$rc" -eq 5 ] && ok "$t revoked: exit status 5 (the access violation's, as without the handler)" || bad "$t revoked: exit status $rc"
        left=$(find "$state" -name '*.seg*' | wc -l)
        [ "$left" -eq 0 ] && ok "$t revoked: no crash report written" || bad "$t revoked: $left crash files written"
    fi
    if run_case invparam-own && [ -n "$uexe" ]; then
        # an invalid parameter with the program's own handler set before init (UCRT): that
        # handler is called and returns, the call returns EBADF, nothing is recorded, and
        # shutdown puts it back (the program checks all of it: exit 0); no fatal event arrives
        : >"$d/sink/record.jsonl"
        rm -rf "$state"; mkdir -p "$state"
        WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" timeout 120 wine "$uexe" --dsn "$dsn" --state-dir "$wstate" invparam-own >"$d/invparam-own.log" 2>&1 </dev/null
        rc=$?
        [ "$rc" -eq 0 ] && ok "$t invparam-own: the program's handler ran, the call failed EBADF, nothing recorded, the handler back after shutdown" ||
            bad "$t invparam-own: exit status $rc: $(grep invparam-own "$d/invparam-own.log")"
        timeout 120 wine "$uexe" --dsn "$dsn" --state-dir "$wstate" send >"$d/invparam-own-next.log" 2>&1 </dev/null
        python3 tests/port/check_wincrash.py nofatal "$d/sink/record.jsonl" >"$d/check-invparam-own.log" 2>&1
        tally "$d/check-invparam-own.log" "$t invparam-own"
    fi
    if run_case errcrash; then
        # the crashed-session race (issue 12 item 5): an error, then an access violation while the
        # worker rewrites the session file again and again; the next run (its first work reads the
        # file a crashed run left, and would report it abnormal) delivers the crash. Each crashed
        # session ends exactly once, as crashed; without the crash handler's handshake with the
        # worker (telemetry__crashing / telemetry__session_writing) 2 in 3 ended abnormal too
        : >"$d/sink/record.jsonl"
        wrong=0 left=0
        for r in $(seq "$ROUNDS"); do
            rm -rf "$state"; mkdir -p "$state"
            WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winedbg.exe=d" timeout 120 wine "$exe" --dsn "$dsn" --state-dir "$wstate" errcrash >"$d/errcrash.log" 2>&1 </dev/null
            [ $? -eq 5 ] || wrong=$((wrong + 1))
            [ -f "$state/session" ] && left=$((left + 1))
            timeout 120 wine "$exe" --dsn "$dsn" --state-dir "$wstate" next >"$d/errcrash-next.log" 2>&1 </dev/null || wrong=$((wrong + 1))
        done
        [ "$wrong" -eq 0 ] && ok "$t errcrash: $ROUNDS crashes exit 5, their next runs 0" || bad "$t errcrash: $wrong of $((2 * ROUNDS)) runs ended otherwise"
        [ "$left" -eq 0 ] && ok "$t errcrash: no crashed run left its session file" || bad "$t errcrash: $left of $ROUNDS crashed runs left their session file"
        python3 tests/port/check_wincrash.py sessions "$d/sink/record.jsonl" "$ROUNDS" >"$d/check-errcrash.log" 2>&1
        tally "$d/check-errcrash.log" "$t errcrash"
    fi
    stop_sink
done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
