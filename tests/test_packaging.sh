#!/usr/bin/env bash
# test_packaging.sh - `make install` into a staging folder (DESTDIR, PREFIX), a program built with
# nothing but what pkg-config says, and the CMake consumer of examples/cmake/ built against the
# installed header and run: the INTERFACE target and the implementation file work, and a metric
# alone in a static library's object is in the report with TELEMETRY_REGISTER and with
# whole-archive linking, and missing without either (the trap docs/building.md warns about).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
tmp=$(mktemp -d /tmp/telemetry-pkg-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage prefix=/opt/telemetry

make -s --no-print-directory install DESTDIR="$stage" PREFIX="$prefix" >"$tmp/install.log" 2>&1
check "make install succeeds" [ $? -eq 0 ]
check "the header is installed unchanged" cmp -s telemetry.h "$stage$prefix/include/telemetry.h"
pc=$stage$prefix/lib/pkgconfig/telemetry.pc
check "telemetry.pc is installed" [ -f "$pc" ]
export PKG_CONFIG_PATH=$stage$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
version=$(sed -n 's/^#define TELEMETRY_VERSION_STRING "\(.*\)"/\1/p' telemetry.h)
check "pkg-config --modversion is the header's version ($version)" [ "$(pkg-config --modversion telemetry 2>&1)" = "$version" ]
cflags=$(pkg-config --cflags telemetry) libs=$(pkg-config --libs telemetry)
check "pkg-config --cflags names the include folder ($cflags)" [ "$(echo $cflags)" = "-I$stage$prefix/include" ]
check "pkg-config --libs is -lbearssl -lpthread -lm ($libs)" [ "$(echo $libs)" = "-lbearssl -lpthread -lm" ]
check "telemetry.pc notes the Windows libraries" grep -q 'Windows (mingw): -lbearssl -lws2_32 -lbcrypt -lcrypt32' "$pc"

# a program built from the installed files only (the repository's folder is not on the path)
cp examples/cmake/telemetry_impl.c examples/cmake/app.c "$tmp/"
mkdir -p "$tmp/stats" && cp examples/cmake/stats/* "$tmp/stats/"
(cd "$tmp" && ${CC:-cc} -std=c99 -Wall -Wextra -Werror -pedantic $cflags app.c telemetry_impl.c stats/stats.c stats/stats_metric.c \
    -o "$tmp/pc_app" $libs) >"$tmp/cc.log" 2>&1
check "a program builds with the pkg-config flags alone" [ -x "$tmp/pc_app" ]
mkdir -p "$tmp/state"
out=$(env -u DO_NOT_TRACK -u CMAKE_EXAMPLE_NO_TELEMETRY "$tmp/pc_app" "$tmp/state" 2>&1)
check "and runs: its report has its metric" grep -q app_answer <<<"$out"

# the CMake consumer, against the installed header
if command -v cmake >/dev/null; then
    cmake -S examples/cmake -B "$tmp/cmake" -DTELEMETRY_INCLUDE_DIR="$stage$prefix/include" \
        -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$tmp/cmake.log" 2>&1 &&
        cmake --build "$tmp/cmake" -j2 >>"$tmp/cmake.log" 2>&1
    rc=$?
    check "examples/cmake configures and builds" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || tail -20 "$tmp/cmake.log"
    report() { env -u DO_NOT_TRACK -u CMAKE_EXAMPLE_NO_TELEMETRY "$tmp/cmake/$1" "$tmp/state" 2>&1; }
    out=$(report app_register)
    check "app_register runs (sum=6)" grep -q '^sum=6$' <<<"$out"
    check "app_register: the program's metric is reported" grep -q '"app_answer":42' <<<"$out"
    check "app_register: the static library's metric is reported (TELEMETRY_REGISTER)" grep -q '"stats_backend":"scalar"' <<<"$out"
    out=$(report app_whole_archive)
    check "app_whole_archive: the static library's metric is reported (whole archive)" grep -q '"stats_backend":"scalar"' <<<"$out"
    out=$(report app_plain)
    check "app_plain: the program's metric is reported" grep -q '"app_answer":42' <<<"$out"
    check "app_plain: the static library's metric is missing (the linker left it out)" bash -c '! grep -q stats_backend <<<"$1"' _ "$out"
else
    bad "cmake is not installed (tests/install-deps.sh installs it)"
fi

make -s --no-print-directory uninstall DESTDIR="$stage" PREFIX="$prefix" >/dev/null 2>&1
check "make uninstall removes both files" [ ! -e "$stage$prefix/include/telemetry.h" -a ! -e "$pc" ]
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
