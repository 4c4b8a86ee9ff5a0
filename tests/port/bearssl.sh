#!/usr/bin/env bash
# tests/port/bearssl.sh - BearSSL 0.6 as a static library for a cross target, built from Debian's
# source package (`apt-get source bearssl`; tests/install-deps.sh adds the deb-src entry) and cached:
# a second run with the same source and flags costs nothing.
#   bash tests/port/bearssl.sh TARGET...     TARGET: mingw64 mingw32 musl cm4 armv7a i386 armhf s390x
# (cm4: Cortex-M4 Thumb-2 for newlib; armv7a: the same compiler for a Cortex-A15 in Thumb mode, the
# newlib build that qemu-arm runs with semihosting)
# Result: $BUILD/port/bearssl/TARGET/libbearssl.a; headers in $BUILD/port/bearssl/inc.
# For i386, armhf and s390x tests/port/run.sh prefers Debian's own multiarch libbearssl.a and
# builds here only when that is missing. MAKE_JOBS (default 2) is make's -j.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${BUILD:-build}/port/bearssl
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# TARGET -> compiler prefix and flags (the flags are part of the cache key)
target_cc() {
    case $1 in
        mingw64) echo "x86_64-w64-mingw32-";;
        mingw32) echo "i686-w64-mingw32-";;
        musl)    echo "musl";;
        cm4)     echo "arm-none-eabi-";;
        armv7a)  echo "arm-none-eabi-";;
        i386)    echo "i686-linux-gnu-";;
        armhf)   echo "arm-linux-gnueabihf-";;
        s390x)   echo "s390x-linux-gnu-";;
        *) return 1;;
    esac
}
target_flags() {
    case $1 in
        cm4)  echo "-Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections";;
        armv7a) echo "-O2 -mcpu=cortex-a15 -mthumb -ffunction-sections -fdata-sections";;
        musl) echo "-O2 -fPIC";;
        *)    echo "-O2";;
    esac
}

source_dir() {   # unpacks the source package once; prints its folder
    local src=$OUT/src d
    d=$(ls -d "$src"/bearssl-*/ 2>/dev/null | head -1)
    if [ -z "$d" ]; then
        rm -rf "$src"; mkdir -p "$src"
        (cd "$src" && apt-get source bearssl >"$OUT/source.log" 2>&1) || {
            echo "bearssl: apt-get source failed (a deb-src entry and dpkg-dev are needed; see $OUT/source.log)" >&2
            tail -5 "$OUT/source.log" >&2; return 1; }
        d=$(ls -d "$src"/bearssl-*/ | head -1)
    fi
    echo "${d%/}"
}

# platform jobs run side by side and each may need the source: one fetches and unpacks it, the
# others wait for it (two apt-get source in one folder break each other)
exec 9>"$OUT/.source.lock"
flock 9
B=$(source_dir)
flock -u 9
[ -d "$OUT/inc" ] || cp -r "$B/inc" "$OUT/inc"
for t in "$@"; do
    prefix=$(target_cc "$t") || { echo "bearssl: unknown target $t" >&2; exit 2; }
    if [ "$prefix" = musl ]; then cc=musl-gcc; ar=ar; else cc=${prefix}gcc; ar=${prefix}ar; fi
    flags=$(target_flags "$t")
    key="$(basename "$B") $cc $flags"
    if [ -f "$OUT/$t/libbearssl.a" ] && [ "$(cat "$OUT/$t/key" 2>/dev/null)" = "$key" ]; then
        echo "bearssl $t: cached"; continue
    fi
    command -v "$cc" >/dev/null || { echo "bearssl $t: $cc is not installed (tests/install-deps.sh)" >&2; exit 1; }
    start=$(date +%s)
    cat >"$B/conf/port_$t.mk" <<MK
include conf/Unix.mk
BUILD = build_port_$t
CC = $cc
LD = $cc
AR = $ar
CFLAGS = -W -Wall $flags
DLL = no
TOOLS = no
TESTS = no
MK
    rm -rf "$B/build_port_$t"
    if ! (cd "$B" && make -j"${MAKE_JOBS:-2}" CONF="port_$t" lib) >"$OUT/$t.log" 2>&1; then
        echo "bearssl $t: build failed (see $OUT/$t.log)" >&2; tail -10 "$OUT/$t.log" >&2; exit 1
    fi
    mkdir -p "$OUT/$t"
    cp "$B/build_port_$t/libbearssl.a" "$OUT/$t/libbearssl.a"
    echo "$key" >"$OUT/$t/key"
    rm -rf "$B/build_port_$t"
    echo "bearssl $t: built in $(( $(date +%s) - start )) s"
done
