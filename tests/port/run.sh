#!/usr/bin/env bash
# tests/port/run.sh - the platform jobs: telemetry.h built and run for every target Debian can
# reach, against the native local receiver (build/telemetry_sink) on 127.0.0.1.
#   bash tests/port/run.sh [TARGET...]    (default: all; PORT_TARGETS="..." does the same)
# Targets and what each does (docs/building.md, "Platform jobs", says what each proves):
#   linux-i386   i686-linux-gnu-gcc -static, run natively on the 64-bit kernel: every
#                tests/test_*.c, then tests/port/e2e.c end to end and a crash the next run reports
#   linux-armhf  arm-linux-gnueabihf-gcc -static -funwind-tables under qemu-arm: the same
#   linux-s390x  s390x-linux-gnu-gcc -static under qemu-s390x (64-bit big-endian): the same
#   linux-musl   musl-gcc -static (BearSSL built with musl): e2e.c end to end, a crash, then every
#                tests/test_*.c
#   win-x86_64, win-i686   mingw-w64 gcc -static, run under wine: the tests that make sense there
#                (WIN_TESTS), then e2e.c end to end over HTTPS; every build option compiled -Werror
#   cortex-m4    arm-none-eabi-gcc + newlib: BearSSL built; the header is expected not to compile
#                yet (issue 12, bare metal), so the job checks that it still fails and why
# Under emulation (qemu) the tests get TELEMETRY_TEST_EMULATED=1, which skips their timing checks
# (only those). Each target's results go to $BUILD/port/<target>/; the script ends with a table
# target x result and "N passed, M failed" (N, M: checks of the test programs and of the jobs).
# PORT_JOBS (default 2) jobs run at once, in three phases (below) so that the native timing checks
# of linux-i386 share the CPUs with nothing; PORT_TESTS="tests/test_x.c ..." picks test programs.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
OUT=$ROOT/$BUILD/port
mkdir -p "$OUT"
KEY=0123456789abcdef0123456789abcdef
WARN="-Wall -Wextra -Werror -pedantic"
ALL_TARGETS="linux-i386 linux-musl win-x86_64 win-i686 cortex-m4 linux-armhf linux-s390x"

# ---- the local receiver ----------------------------------------------------------------------
# start_sink DIR: the receiver on free ports, recording into DIR/record.jsonl; sets HTTPS_PORT,
# HTTP_PORT, SINK_PID. stop_sink stops it.
SINK_PID=
start_sink() {
    local dir=$1 i
    mkdir -p "$dir"; rm -f "$dir/ports" "$dir/record.jsonl"
    "$ROOT/$BUILD/telemetry_sink" --https-port 0 --http-port 0 --cert tests/certs/server.pem --key tests/certs/server.key \
        --sentry-key "$KEY" --port-file "$dir/ports" --record "$dir/record.jsonl" --quiet >"$dir/sink.log" 2>&1 &
    SINK_PID=$!
    for i in $(seq 200); do [ -s "$dir/ports" ] && break; sleep 0.05; done
    [ -s "$dir/ports" ] || { echo "receiver did not start: $(cat "$dir/sink.log")"; return 1; }
    HTTPS_PORT=$(sed -n 's/^https=//p' "$dir/ports"); HTTP_PORT=$(sed -n 's/^http=//p' "$dir/ports")
}
stop_sink() {
    [ -n "$SINK_PID" ] || return 0
    kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; SINK_PID=
}

# ---- one result file per target: key=value lines, read by the table ------------------------
result() { echo "$2=$3" >>"$OUT/$1/result"; }

# ---- the project's tests, built for the target and run through RUNNER -----------------------
# run_tests TARGET CC "CFLAGS" "LIBS" "RUNNER" ["TESTS"] [EXE-SUFFIX]: every tests/test_*.c (or
# PORT_TESTS, or TESTS); adds passed/failed counts
run_tests() {
    local t=$1 cc=$2 cflags=$3 libs=$4 runner=$5 list=${PORT_TESTS:-${6:-tests/test_*.c}} x=${7:-} d=$OUT/$1/tests n p f line rc s0 src tp=0 tf=0 built=0 broken=0
    mkdir -p "$d"
    ln -sf "$ROOT/$BUILD/telemetry_sink" "$d/telemetry_sink"   # the receiver runs natively
    # all built first (BUILD_JOBS at once), then run one after the other
    for src in $list; do
        n=$(basename "$src" .c)
        while [ "$(jobs -pr | wc -l)" -ge "${BUILD_JOBS:-1}" ]; do wait -n; done
        $cc -std=c99 $WARN -O2 -g -D_POSIX_C_SOURCE=200809L -I. $cflags "$src" -o "$d/$n" $libs >"$d/$n.build.log" 2>&1 &
    done
    wait
    for src in $list; do
        n=$(basename "$src" .c)
        if [ ! -x "$d/$n$x" ]; then
            echo "  $t $n: BUILD FAILED: $(grep -m1 -E 'error|undefined reference' "$d/$n.build.log")"
            broken=$((broken + 1)); tf=$((tf + 1)); continue
        fi
        built=$((built + 1))
        s0=$(date +%s)
        timeout 900 $runner "$d/$n$x" >"$d/$n.log" 2>&1; rc=$?
        line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$d/$n.log" | tail -1)
        p=$(sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        f=$(sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
        [[ $p =~ ^[0-9]+$ ]] || p=0; [[ $f =~ ^[0-9]+$ ]] || f=0
        [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1                    # died without saying why
        tp=$((tp + p)); tf=$((tf + f))
        echo "  $t $n: ${line:-no result line} (exit $rc, $(( $(date +%s) - s0 )) s)"
        [ "$f" -eq 0 ] || grep -E 'FAIL|BUG' "$d/$n.log" | head -5 | sed 's/^/      /'
    done
    result "$t" builds "$([ $broken -eq 0 ] && echo yes || echo "no ($broken of $((built + broken)))")"
    result "$t" tests_passed $tp; result "$t" tests_failed $tf
}

# ---- e2e.c end to end: a normal run, then a crash and the run after it -----------------------
# run_e2e TARGET BINARY "RUNNER" ["NO-CRASH REASON"] [E2E ARGUMENTS, for every run...]
run_e2e() {
    local t=$1 bin=$2 runner=$3 nocrash=${4:-} d=$OUT/$1/e2e-run rc base
    shift 4 2>/dev/null || shift $#
    rm -rf "$d"; mkdir -p "$d"
    start_sink "$d/sink" || { result "$t" e2e "no (receiver)"; result "$t" crash "no"; return; }
    base=https://localhost:$HTTPS_PORT
    HOME=$d/home timeout 300 $runner "$bin" --usage-url "$base/usage/e2e.json" --dsn "https://$KEY@localhost:$HTTPS_PORT/1" \
        --ca-file tests/certs/ca.pem --threads 4 "$@" >"$d/run.log" 2>&1
    echo "exit=$?" >>"$d/run.log"
    if python3 tests/port/check_e2e.py run "$d/sink/record.jsonl" "$bin" "$d/run.log" >"$d/check-run.log" 2>&1; then
        result "$t" e2e yes
    else
        result "$t" e2e "no: $(tail -1 "$d/check-run.log")"
    fi
    sed 's/^/    e2e: /' "$d/check-run.log"
    cp "$d/sink/record.jsonl" "$d/run-record.jsonl"; : >"$d/sink/record.jsonl"   # the receiver appends
    if [ -n "$nocrash" ]; then result "$t" crash "not run ($nocrash)"; stop_sink; return; fi
    HOME=$d/home timeout 300 $runner "$bin" --dsn "http://$KEY@127.0.0.1:$HTTP_PORT/1" --crash "$@" >"$d/crash.log" 2>&1
    rc=$?
    HOME=$d/home timeout 300 $runner "$bin" --dsn "http://$KEY@127.0.0.1:$HTTP_PORT/1" "$@" >"$d/next.log" 2>&1
    echo "crash run exit=$rc" >>"$d/next.log"
    if python3 tests/port/check_e2e.py crash "$d/sink/record.jsonl" "$bin" "$d/next.log" >"$d/check-crash.log" 2>&1; then
        result "$t" crash "yes: $(tail -1 "$d/check-crash.log")"
    else
        result "$t" crash "no: $(tail -1 "$d/check-crash.log")"
    fi
    sed 's/^/    crash: /' "$d/check-crash.log"
    stop_sink
}

# ---- BearSSL for a target: Debian's multiarch library, else built from source ----------------
bearssl_lib() {   # TARGET-NAME TRIPLET  -> prints the path of libbearssl.a
    if [ -n "$2" ] && [ -f "/usr/lib/$2/libbearssl.a" ]; then echo "/usr/lib/$2/libbearssl.a"; return; fi
    bash tests/port/bearssl.sh "$1" >&2 || return 1
    echo "$OUT/bearssl/$1/libbearssl.a"
}

# ---- the jobs ----------------------------------------------------------------------------------
job_linux() {   # TARGET CC TRIPLET BEARSSL-NAME QEMU "EXTRA CFLAGS"
    local t=$1 cc=$2 triplet=$3 bname=$4 qemu=$5 extra=$6 lib runner="" cflags
    lib=$(bearssl_lib "$bname" "$triplet") || { result "$t" builds "no (BearSSL)"; return; }
    cflags="-static $extra"
    if [ -n "$qemu" ]; then
        runner="$(command -v "$qemu")"
        export TELEMETRY_TEST_EMULATED=1
        cflags="$cflags -include $ROOT/tests/port/qemu_exec.h -DPORT_QEMU=\"$runner\" tests/port/qemu_exec.c"
    fi
    run_tests "$t" "$cc" "$cflags" "$lib -lpthread -lm" "$runner"
    if $cc -std=c99 $WARN -O2 -g -static $extra -I. tests/port/e2e.c -o "$OUT/$t/e2e" "$lib" -lpthread -lm >"$OUT/$t/e2e.build.log" 2>&1; then
        run_e2e "$t" "$OUT/$t/e2e" "$runner"
    else
        result "$t" e2e "no (build: $(grep -m1 -E 'error|undefined' "$OUT/$t/e2e.build.log"))"
    fi
}

job_linux-i386()  { job_linux linux-i386 i686-linux-gnu-gcc i386-linux-gnu i386 "" ""; }
# Debian's armhf gcc emits no unwind tables for C: without -funwind-tables no stack is captured
# (docs/building.md says so); the job builds as that page tells ARM users to.
job_linux-armhf() { job_linux linux-armhf arm-linux-gnueabihf-gcc arm-linux-gnueabihf armhf qemu-arm "-funwind-tables"; }
job_linux-s390x() {
    # the host's locale archive is little-endian: the JSON writer's locale checks need big-endian
    # copies of the two locales, made once into $OUT/locale-be and found through LOCPATH
    local l=$OUT/locale-be
    if [ ! -d "$l/ps_AF.UTF-8" ]; then
        mkdir -p "$l"
        localedef --big-endian -i de_DE -f UTF-8 "$l/de_DE.UTF-8" 2>/dev/null
        localedef --big-endian -i ps_AF -f UTF-8 "$l/ps_AF.UTF-8" 2>/dev/null
    fi
    LOCPATH=$l job_linux linux-s390x s390x-linux-gnu-gcc s390x-linux-gnu s390x qemu-s390x ""
}

job_linux-musl() {
    local t=linux-musl lib inc=$OUT/bearssl/inc
    bash tests/port/bearssl.sh musl || { result $t builds "no (BearSSL)"; return; }
    lib=$OUT/bearssl/musl/libbearssl.a
    # Debian's musl-gcc: -Wl,--build-id (its link line has none: no debug_id otherwise, as
    # docs/building.md tells musl users), -Wl,--eh-frame-hdr and the _dl_find_object shim (both
    # only for Debian's glibc-built libgcc_eh, see the shim's comment)
    if musl-gcc -std=c99 $WARN -O2 -g -static -Wl,--build-id -Wl,--eh-frame-hdr -I. -I"$inc" tests/port/e2e.c \
            tests/port/musl_dl_find_object.c -o "$OUT/$t/e2e" "$lib" >"$OUT/$t/e2e.build.log" 2>&1; then
        result $t builds yes
        run_e2e $t "$OUT/$t/e2e" ""
    else
        result $t builds "no: $(grep -m1 -E 'error|undefined' "$OUT/$t/e2e.build.log")"
        return
    fi
    # the unit tests, built the same way (musl-gcc's headers, BearSSL built with musl)
    run_tests $t musl-gcc "-static -Wl,--build-id -Wl,--eh-frame-hdr -I$inc tests/port/musl_dl_find_object.c" "$lib" ""
}

# ---- Windows under wine: one prefix for both targets (a win64 prefix runs 32-bit programs too),
# made once under build/port/wine, quiet (WINEDEBUG=-all) and never asking (no Mono/Gecko)
export WINEPREFIX=$OUT/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
wine_ready() {
    (
        flock 9
        [ -f "$WINEPREFIX/.telemetry-ready" ] && exit 0
        rm -rf "$WINEPREFIX"
        timeout 300 wineboot --init >/dev/null 2>&1 && timeout 120 wineserver -w && touch "$WINEPREFIX/.telemetry-ready"
    ) 9>"$OUT/wine.lock"
}
# the test programs that make sense on Windows: the others need fork, poll, sys/wait.h or
# setitimer in their own harness (tests/sink_helpers.h, test_state, test_tls, test_signal_safe)
# or test the ELF reader
WIN_TESTS="tests/test_json.c tests/test_http.c tests/test_metrics.c tests/test_sentry.c tests/test_badinput.c
           tests/test_reentry.c tests/test_consent.c"

job_win() {   # TARGET GCC BEARSSL-NAME
    local t=$1 cc=$2 lib opt bad=0 n=0 libs
    bash tests/port/bearssl.sh "$3" || { result "$t" builds "no (BearSSL)"; return; }
    lib=$OUT/bearssl/$3/libbearssl.a
    libs="$lib -lws2_32 -lbcrypt"
    # --build-id: GNU ld writes the CodeView record the images' debug_id comes from; x86 stacks
    # follow frame pointers (docs/crashes.md, "Windows")
    if $cc -std=c99 $WARN -O2 -g -static -Wl,--build-id $([ "$t" = win-i686 ] && echo -fno-omit-frame-pointer) -I. -I"$OUT/bearssl/inc" tests/port/e2e.c -o "$OUT/$t/e2e.exe" $libs \
            >"$OUT/$t/e2e.build.log" 2>&1; then
        result "$t" builds yes
    else
        result "$t" builds "no: $(grep -m1 -E 'error|undefined' "$OUT/$t/e2e.build.log" | sed "s#$ROOT/##")"
        return
    fi
    # the build options, compiled (-Werror) but not linked
    for opt in -DTELEMETRY_NO_THREADS -DTELEMETRY_NO_TLS -DTELEMETRY_NO_CRASH_HANDLER -DTELEMETRY_STATIC; do
        n=$((n + 1))
        $cc -std=c99 $WARN -O2 $opt -I. -I"$OUT/bearssl/inc" -c tests/port/e2e.c -o "$OUT/$t/opt.o" >"$OUT/$t/opt$n.log" 2>&1 ||
            { bad=$((bad + 1)); echo "  $t $opt: $(grep -m1 error "$OUT/$t/opt$n.log")"; }
    done
    [ $bad -eq 0 ] || result "$t" builds "no ($bad of $n build options)"
    if [ "$t" = win-i686 ] && ! i686-w64-mingw32-objdump -d "$OUT/$t/e2e.exe" | grep -A3 '<_telemetry__worker_main@4>:' | grep -q 'and .*0xfffffff0,%esp'; then
        result "$t" failed "the worker thread's entry does not realign the stack"
    fi
    wine_ready || { result "$t" e2e "no (wine prefix)"; return; }
    # the tests' harness gets the few POSIX calls the CRT lacks (tests/port/win_compat.h)
    run_tests "$t" "$cc" "-static -include tests/port/win_compat.h -I$OUT/bearssl/inc" "$libs -lpthread" wine "$WIN_TESTS" .exe
    # the state folder a Windows path (the default, %LOCALAPPDATA%, is the prefix's: shared)
    mkdir -p "$OUT/$t/e2e-state"
    run_e2e "$t" "$OUT/$t/e2e.exe" wine "Windows crashes: tests/port/wincrash.sh" --state-dir "$(winepath -w "$OUT/$t/e2e-state")"
    # the crash handler and the error events' stacks and images: seven real crashes, checked in
    # what the handler wrote (tests/port/wincrash.sh); its checks count with the tests'
    local wlog=$OUT/$t/wincrash.log line wp wf
    bash tests/port/wincrash.sh "${t#win-}" >"$wlog" 2>&1
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$wlog" | tail -1)
    wp=$(cut -d' ' -f1 <<<"$line"); wf=$(cut -d' ' -f3 <<<"$line")
    [ -n "$line" ] || { wp=0; wf=1; }
    grep FAILED "$wlog" | sed "s/^/  $t wincrash: /"
    result "$t" tests_passed $(( $(sed -n 's/^tests_passed=//p' "$OUT/$t/result" | tail -1) + wp ))
    result "$t" tests_failed $(( $(sed -n 's/^tests_failed=//p' "$OUT/$t/result" | tail -1) + wf ))
    result "$t" crash "wincrash.sh: $wp/$((wp + wf)) checks (delivered by the next run)"
}
job_win-x86_64() { job_win win-x86_64 x86_64-w64-mingw32-gcc mingw64; }
job_win-i686()   { job_win win-i686 i686-w64-mingw32-gcc mingw32; }

job_cortex-m4() {
    local t=cortex-m4 log=$OUT/cortex-m4/compile.log
    bash tests/port/bearssl.sh cm4 || { result $t builds "no (BearSSL)"; return; }
    result $t bearssl "$(arm-none-eabi-size -t "$OUT/bearssl/cm4/libbearssl.a" | tail -1 | awk '{print "text " $1 " B"}')"
    # the header has no bare-metal build yet (no switch for the program's own I/O only): the job
    # checks that it still stops at the first of those errors, so it is noticed when that changes
    if arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -std=c99 $WARN -Os -D_POSIX_C_SOURCE=200809L -DTELEMETRY_NO_THREADS \
            -DTELEMETRY_NO_CRASH_HANDLER -I. -I"$OUT/bearssl/inc" -c tests/port/e2e.c -o "$OUT/$t/e2e.o" >"$log" 2>&1; then
        result $t builds "UNEXPECTED: compiles now; make this job link and size it"
        result $t failed 1
    elif grep -q 'sys/utsname.h: No such file' "$log"; then
        result $t builds "not yet (expected: $(grep -m1 -o '[a-z/]*\.h: No such file' "$log"))"
    else
        result $t builds "no: $(grep -m1 error "$log" | sed "s#$ROOT/##")"
        result $t failed 1
    fi
}

# ---- run them, PORT_JOBS at a time; emulated jobs after the native ones ---------------------
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"${PORT_TARGETS:-$ALL_TARGETS}"
[ -x "$BUILD/telemetry_sink" ] || make -s "$BUILD/telemetry_sink" >/dev/null || exit 1
for t in "${targets[@]}"; do
    declare -F "job_$t" >/dev/null || { echo "unknown target $t (known: $ALL_TARGETS)"; exit 2; }
done
# wine's server outlives its last program by a few seconds: stopped at the end too
trap 'stop_sink; kill $(jobs -p) 2>/dev/null; [ -d "$WINEPREFIX" ] && wineserver -k 2>/dev/null' EXIT
start_all=$(date +%s)
run_job() {   # runs one job in the background, its output into its log
    local t=$1
    rm -rf "$OUT/$t"; mkdir -p "$OUT/$t"
    ( trap stop_sink EXIT; s=$(date +%s); "job_$t"; result "$t" seconds $(( $(date +%s) - s )) ) >"$OUT/$t/job.log" 2>&1 &
}
# three phases: the compile-only and musl jobs side by side; linux-i386 alone (its native timing
# checks must not share the CPUs; its compiles use all of them); the emulated ones side by side
phase_of() { case $1 in linux-i386) echo 2;; linux-armhf|linux-s390x) echo 3;; *) echo 1;; esac; }
for phase in 1 2 3; do
    for t in "${targets[@]}"; do
        [ "$(phase_of "$t")" = $phase ] || continue
        while [ "$(jobs -pr | wc -l)" -ge "${PORT_JOBS:-2}" ]; do sleep 0.5; done
        echo "== $t: started"
        if [ $phase = 2 ]; then BUILD_JOBS=${PORT_JOBS:-2} run_job "$t"; wait; else run_job "$t"; fi
    done
    wait
done

# ---- the table ----------------------------------------------------------------------------------
passed=0 failed=0 bad=()
printf '\n%-12s | %5s | %-26s | %-16s | %-22s | %s\n' target time builds "tests passed/all" "end to end" "crash report (next run)"
printf -- '-------------+-------+----------------------------+------------------+------------------------+------------------------\n'
for t in "${targets[@]}"; do
    r=$OUT/$t/result
    get() { sed -n "s/^$1=//p" "$r" 2>/dev/null | tail -1; }
    b=$(get builds); tp=$(get tests_passed); tf=$(get tests_failed); e=$(get e2e); c=$(get crash)
    tests="-"; [ -n "$tp" ] && tests="$tp/$((tp + tf))"
    printf '%-12s | %4ss | %-26s | %-16s | %-22s | %s\n' "$t" "$(get seconds)" "${b:-?}" "$tests" "${e:--}" "${c:--}"
    [ -n "$(get bearssl)" ] && printf '%-12s           BearSSL: %s\n' "" "$(get bearssl)"
    [ -n "$(get failed)" ] && printf '%-12s           FAILED: %s\n' "" "$(get failed)"
    f0=$failed
    passed=$((passed + ${tp:-0})); failed=$((failed + ${tf:-0}))
    case $b in yes|"not yet"*) passed=$((passed + 1));; *) failed=$((failed + 1));; esac
    case $e in "") ;; yes) passed=$((passed + 1));; "not run"*) ;; *) failed=$((failed + 1));; esac
    case $c in "") ;; yes*) passed=$((passed + 1));; "not run"*) ;; *) failed=$((failed + 1));; esac
    [ -n "$(get failed)" ] && failed=$((failed + 1))
    [ $failed -eq $f0 ] || bad+=("$t")
done
echo "(logs: $BUILD/port/<target>/; $(( $(date +%s) - start_all )) s in all)"
for t in "${bad[@]}"; do echo "--- $t:"; tail -40 "$OUT/$t/job.log"; done
echo "port: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
