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
#   cortex-m4    arm-none-eabi-gcc + newlib nano: tests/port/device.c (no sockets, no files, no
#                threads, no POSIX) compiled -Werror and linked with and without TLS; sizes printed
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
# made once under build/port/wine, quiet (WINEDEBUG=-all) and never asking (no Mono/Gecko). It
# plays Windows 10, where GetVersionEx says 6.2 to a program without a manifest, as Windows does:
# the end-to-end check wants the real 10.0 (RtlGetVersion)
export WINEPREFIX=$OUT/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
wine_ready() {
    (
        flock 9
        [ "$(cat "$WINEPREFIX/.telemetry-ready" 2>/dev/null)" = win10 ] && exit 0
        rm -rf "$WINEPREFIX"
        timeout 300 wineboot --init >/dev/null 2>&1 && timeout 60 wine winecfg -v win10 && timeout 120 wineserver -w &&
            echo win10 >"$WINEPREFIX/.telemetry-ready"
    ) 9>"$OUT/wine.lock"
}
# the test programs that make sense on Windows: the others need fork, poll, sys/wait.h or
# setitimer in their own harness (tests/sink_helpers.h, test_state, test_tls, test_signal_safe)
# or test the ELF reader
WIN_TESTS="tests/test_json.c tests/test_http.c tests/test_metrics.c tests/test_sentry.c tests/test_badinput.c
           tests/test_reentry.c tests/test_consent.c tests/test_paths.c tests/test_connect.c"

job_win() {   # TARGET GCC BEARSSL-NAME
    local t=$1 cc=$2 lib opt bad=0 n=0 libs
    bash tests/port/bearssl.sh "$3" || { result "$t" builds "no (BearSSL)"; return; }
    lib=$OUT/bearssl/$3/libbearssl.a
    libs="$lib -lws2_32 -lbcrypt -lcrypt32"
    # --build-id: GNU ld writes the CodeView record the images' debug_id comes from; x86 stacks
    # follow frame pointers (docs/crashes.md, "Windows")
    if $cc -std=c99 $WARN -O2 -g -static -Wl,--build-id $([ "$t" = win-i686 ] && echo -fno-omit-frame-pointer) -I. -I"$OUT/bearssl/inc" tests/port/e2e.c -o "$OUT/$t/e2e.exe" $libs -lshell32 \
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
    # test_paths' refused state folders: another (Unix) user's, whose owner wine shows as another
    # SID (chown: root only, as CI runs), and a symlink, which wine shows as a reparse point
    local odir=$OUT/$t/state-owner foreign=
    rm -rf "$odir"; mkdir -p "$odir/mine" "$odir/foreign"; ln -s mine "$odir/link"
    chown 12345:12345 "$odir/foreign" 2>/dev/null && foreign=$(winepath -w "$odir/foreign")
    # the tests' harness gets the few POSIX calls the CRT lacks (tests/port/win_compat.h)
    TELEMETRY_TEST_FOREIGN_DIR=$foreign TELEMETRY_TEST_LINK_DIR=$(winepath -w "$odir/link") \
        run_tests "$t" "$cc" "-static -include tests/port/win_compat.h -I$OUT/bearssl/inc" "$libs -lpthread" wine "$WIN_TESTS" .exe
    # the state folder: a Windows path with names outside any ANSI code page (the default,
    # %LOCALAPPDATA%, is the prefix's, which both jobs share)
    local state=$OUT/$t/e2e-state/$WIN_NAME
    mkdir -p "$OUT/$t/e2e-state"
    E2E_OS_VERSION="10.0." \
        run_e2e "$t" "$OUT/$t/e2e.exe" wine "Windows crashes: tests/port/wincrash.sh" --state-dir "$(winepath -w "$state")"
    if [ -s "$state/install_id" ]; then echo "  $t: the state folder is $state"
    else result "$t" failed "no install_id in the state folder $state: $(ls "$OUT/$t/e2e-state")"; fi
    run_win_rootstore "$t" "$OUT/$t/e2e.exe"
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
    # (the table counts a crash column that starts with "yes" as passed)
    result "$t" crash "$([ "$wf" -eq 0 ] && echo yes || echo no): wincrash.sh: $wp/$((wp + wf)) checks (delivered by the next run)"
}
# A folder name no ANSI code page holds: Latin, CJK and one past U+FFFF (a surrogate pair)
WIN_NAME="état-测试-😀"

# With no ca_file / ca_pem the anchors are the Windows ROOT store's: the receiver's test CA is
# refused while it is not in the store, and trusted once it is (tests/port/win_root_ca.c adds it;
# it is taken out through the registry, where the store keeps it under its SHA-1: wine's
# CertDeleteCertificateFromStore leaves it there). Under the prefix's lock: both Windows jobs
# change the same store.
run_win_rootstore() {   # TARGET E2E.EXE
    local t=$1 bin=$2 d=$OUT/$1/rootstore n0 n1 key
    rm -rf "$d"; mkdir -p "$d"
    if ! x86_64-w64-mingw32-gcc -std=c99 $WARN -O2 -static tests/port/win_root_ca.c -o "$d/win_root_ca.exe" -lcrypt32 >"$d/build.log" 2>&1 ||
            ! openssl x509 -in tests/certs/ca.pem -outform der -out "$d/ca.der" 2>>"$d/build.log"; then
        result "$t" failed "ROOT store: build ($(head -1 "$d/build.log"))"; return
    fi
    key='HKCU\Software\Microsoft\SystemCertificates\Root\Certificates\'$(openssl x509 -in tests/certs/ca.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
    start_sink "$d/sink" || { result "$t" failed "ROOT store: receiver"; return; }
    (
        flock 9
        wine reg delete "$key" /f >/dev/null 2>&1
        wine reg query "$key" >/dev/null 2>&1 && exit 1
        timeout 120 wine "$bin" --usage-url "https://localhost:$HTTPS_PORT/usage/e2e.json" \
            --state-dir "$(winepath -w "$d/state-untrusted")" >"$d/untrusted.log" 2>&1
        wc -l <"$d/sink/record.jsonl" >"$d/n0" 2>/dev/null || echo 0 >"$d/n0"
        wine "$d/win_root_ca.exe" "$d/ca.der" && wine reg query "$key" >/dev/null 2>&1 || exit 1
        timeout 120 wine "$bin" --usage-url "https://localhost:$HTTPS_PORT/usage/e2e.json" \
            --state-dir "$(winepath -w "$d/state-trusted")" >"$d/trusted.log" 2>&1
        wine reg delete "$key" /f >/dev/null 2>&1
    ) 9>"$OUT/wine.lock" || { result "$t" failed "ROOT store: the test CA could not be put in or taken out"; stop_sink; return; }
    stop_sink
    n0=$(cat "$d/n0"); n1=$(grep -c '"kind":"firebase","tls":true' "$d/sink/record.jsonl")
    echo "  $t ROOT store: test CA not in it: $n0 delivered; in it: $n1 delivered"
    if [ "$n0" -eq 0 ] && [ "$n1" -eq 1 ] && grep -q 'flush: success' "$d/trusted.log"; then
        echo "  $t ROOT store: ok"
    else
        result "$t" failed "ROOT store: $n0 delivered untrusted (want 0), $n1 trusted (want 1)"
    fi
}
job_win-x86_64() { job_win win-x86_64 x86_64-w64-mingw32-gcc mingw64; }
job_win-i686()   { job_win win-i686 i686-w64-mingw32-gcc mingw32; }

# The device program (tests/port/device.c) for a Cortex-M4 with newlib nano and the job's own stub
# syscalls (tests/port/device_syscalls.c): TELEMETRY_NO_SOCKETS, _NO_FILES, _NO_THREADS and
# _NO_CRASH_HANDLER, no _POSIX_C_SOURCE; compiled -Werror and linked with and without TLS, sizes
# from arm-none-eabi-size (the whole image, and the library's own share: its symbols)
CM4="arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb"
DEVICE_FLAGS="-DTELEMETRY_NO_SOCKETS -DTELEMETRY_NO_FILES -DTELEMETRY_NO_THREADS -DTELEMETRY_NO_CRASH_HANDLER"
cm4_build() {   # VARIANT (notls|tls|tls-small) -> $OUT/cortex-m4/device-VARIANT.elf; tls-small: the
    # sizing macros a device would lower (10 breadcrumbs, 8 tags, 16 counter names)
    local v=$1 d=$OUT/cortex-m4 f=-DTELEMETRY_NO_TLS l=""
    [ "$v" != notls ] && { f="-I$OUT/bearssl/inc"; l="$OUT/bearssl/cm4/libbearssl.a"; }
    [ "$v" = tls-small ] && f="$f -DTELEMETRY_MAX_BREADCRUMBS=10 -DTELEMETRY_MAX_TAGS=8 -DTELEMETRY_MAX_COUNTERS=16"
    $CM4 -std=c99 $WARN -Os -ffunction-sections -fdata-sections $DEVICE_FLAGS $f -I. -c tests/port/device.c -o "$d/device-$v.o" &&
        $CM4 -std=c99 $WARN -Os -ffunction-sections -c tests/port/device_syscalls.c -o "$d/syscalls.o" &&
        $CM4 --specs=nano.specs -Wl,--gc-sections "$d/device-$v.o" "$d/syscalls.o" -o "$d/device-$v.elf" $l -lm
}
cm4_sizes() {   # ELF -> "text T, data D, bss B (...)": the whole image (newlib included); its bss
    # also holds the device program's own flash image and heap arena, given apart
    local own
    own=$(arm-none-eabi-nm -S -t d "$1" | awk '$4 == "flash" || $4 == "heap" { n += $2 } END { print n + 0 }')
    arm-none-eabi-size "$1" | awk -v own="$own" 'NR == 2 {
        printf "text %d, data %d, bss %d (of which %d the test'"'"'s flash image and heap arena)", $1, $2, $3, own }'
}
job_cortex-m4() {
    local t=cortex-m4 v
    bash tests/port/bearssl.sh cm4 || { result $t builds "no (BearSSL)"; return; }
    result $t bearssl "$(arm-none-eabi-size -t "$OUT/bearssl/cm4/libbearssl.a" | tail -1 | awk '{print "text " $1 " B"}')"
    for v in notls tls tls-small; do
        if cm4_build $v >"$OUT/$t/build-$v.log" 2>&1; then
            result $t "size_$v" "$(cm4_sizes "$OUT/$t/device-$v.elf")"
            echo "  cortex-m4 $v: $(cm4_sizes "$OUT/$t/device-$v.elf")"
        else
            result $t builds "no ($v): $(grep -m1 -E 'error|undefined' "$OUT/$t/build-$v.log" | sed "s#$ROOT/##")"
            return
        fi
    done
    result $t builds yes
    if command -v qemu-arm >/dev/null; then cm4_run; else result $t e2e "not run (no qemu-arm)"; fi
}
# The same program end to end under emulation: newlib's Thumb-2 build for a Cortex-A15 with
# semihosting (qemu-arm runs A-profile code; the M-profile build above needs a board emulator),
# TLS, the stream through tests/port/stream_bridge.py to the receiver. Run 1 has no stream: its
# report and error wait in the device's flash (a host file); run 2 ("after a reboot") sends both,
# under the install id kept in the flash.
cm4_run() {
    local t=cortex-m4 d=$OUT/cortex-m4/run elf=$OUT/cortex-m4/device-semihost.elf bridge rc
    bash tests/port/bearssl.sh armv7a >/dev/null || { result $t e2e "no (BearSSL for armv7a)"; return; }
    if ! arm-none-eabi-gcc -mcpu=cortex-a15 -mthumb --specs=rdimon.specs -std=c99 $WARN -O2 $DEVICE_FLAGS -I"$OUT/bearssl/inc" -I. \
            tests/port/device.c -o "$elf" "$OUT/bearssl/armv7a/libbearssl.a" -lm >"$OUT/$t/build-semihost.log" 2>&1; then
        result $t e2e "no (build: $(grep -m1 -E 'error|undefined' "$OUT/$t/build-semihost.log" | sed "s#$ROOT/##"))"; return
    fi
    rm -rf "$d"; mkdir -p "$d/stream"
    cp "$elf" "$d/device.elf"; cp tests/certs/ca.pem "$d/ca.pem"
    start_sink "$d/sink" || { result $t e2e "no (receiver)"; return; }
    # short relative arguments: semihosting hands the program its command line in a small buffer
    # (the URL's port is never dialled: the bridge decides where the bytes go)
    # run 1 offline when the store keeps its outbox in the device's storage (TELEMETRY__RAM_FD),
    # else online too (the outbox is then memory only; install id and consent still persist)
    python3 tests/port/stream_bridge.py "$d/stream/uart" 127.0.0.1 "$HTTPS_PORT" >"$d/bridge.log" 2>&1 &
    bridge=$!
    for _ in $(seq 100); do [ -p "$d/stream/uart.rx" ] && break; sleep 0.05; done
    run1=stream/uart; grep -q 'define TELEMETRY__RAM_FD' telemetry.h && run1=offline/uart
    (cd "$d" && timeout 300 qemu-arm -cpu cortex-a15 device.elf $run1 flash.bin https://localhost/u.json \
        "https://$KEY@localhost/1" ca.pem) >"$d/run1.log" 2>&1
    (cd "$d" && timeout 300 qemu-arm -cpu cortex-a15 device.elf stream/uart flash.bin https://localhost/u.json \
        "https://$KEY@localhost/1" ca.pem) >"$d/run2.log" 2>&1
    rc=$?
    kill $bridge 2>/dev/null; wait $bridge 2>/dev/null
    stop_sink
    if [ $rc -eq 0 ] && python3 tests/port/check_device.py "$d/sink/record.jsonl" >"$d/check.log" 2>&1; then
        result $t e2e yes
        result $t heap "$(sed -n 's/^device: .*\(heap arena [0-9]* bytes\).*/\1 (newlib malloc, TLS included)/p' "$d/run2.log")"
    else
        result $t e2e "no: exit $rc, $(tail -1 "$d/check.log" 2>/dev/null)"
    fi
    sed 's/^/    device: /' "$d/check.log" 2>/dev/null
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
    [ -n "$(get size_notls)" ] && printf '%-12s           without TLS: %s\n' "" "$(get size_notls)"
    [ -n "$(get size_tls)" ] && printf '%-12s           with TLS:    %s\n' "" "$(get size_tls)"
    [ -n "$(get size_tls-small)" ] && printf '%-12s           TLS, small:  %s\n' "" "$(get size_tls-small)"
    [ -n "$(get heap)" ] && printf '%-12s           run: %s\n' "" "$(get heap)"
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
