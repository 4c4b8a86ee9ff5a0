#!/usr/bin/env bash
# test_deps.sh - what a program built as the README says needs at run time, and C++ strictness.
# 1. tests/matrix_main.c built with gcc and clang, `-lbearssl -lpthread -lm -static-libgcc`:
#    `ldd` lists libc, libm, libbearssl and the loader, and no libgcc_s.so.1 (the stack unwinder
#    is linked in); the program runs. build/crashme (the crash tests' program, linked the same
#    way) has no libgcc_s.so.1 either, and test_crash.sh shows its stack walks work.
# 2. tests/cxx_app.cpp, a C++ file that uses the API and the macros (metrics, a counter), builds
#    with g++ and clang++ under -Wzero-as-null-pointer-constant -Wold-style-cast and runs.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$BUILD/deps
mkdir -p "$out"
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset DO_NOT_TRACK MATRIX_NO_TELEMETRY

# only these may be needed at run time
allowed='^(linux-vdso\.so|libc\.so|libm\.so|libbearssl\.so|libpthread\.so|/lib.*/ld-linux.*\.so|ld-linux.*\.so)'
check_ldd() {   # name, binary
    local libs bad
    libs=$(ldd "$2" | awk '{print $1}')
    bad=$(grep -v -E "$allowed" <<<"$libs" | tr '\n' ' ')
    if [ -z "$bad" ]; then pass; else fail "$1 needs $bad"; fi
    if ! grep -q libgcc_s <<<"$libs"; then pass; else fail "$1 needs libgcc_s.so.1"; fi
}
for cc in gcc clang; do
    command -v $cc >/dev/null || { fail "$cc is missing"; continue; }
    if $cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -D_POSIX_C_SOURCE=200809L -I. tests/matrix_main.c \
        -o "$out/main-$cc" -lbearssl -lpthread -lm -static-libgcc; then pass; else fail "$cc: build"; continue; fi
    check_ldd "$cc" "$out/main-$cc"
    if (cd "$tmp" && HOME="$tmp" "$OLDPWD/$out/main-$cc" 2>/dev/null) | grep -q '^matrix_main: ok$'; then pass; else fail "$cc: the program did not run"; fi
done
[ -x "$BUILD/crashme" ] && check_ldd crashme "$BUILD/crashme"

printf '#define TELEMETRY_IMPLEMENTATION\n#include "telemetry.h"\n' >"$tmp/impl.c"
gcc -std=c99 -O1 -D_POSIX_C_SOURCE=200809L -I. -c "$tmp/impl.c" -o "$tmp/impl.o" || fail "the implementation object"
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || { fail "$cxx is missing"; continue; }
    if $cxx -std=c++11 -Wall -Wextra -Werror -pedantic -Wzero-as-null-pointer-constant -Wold-style-cast -O1 \
        -D_POSIX_C_SOURCE=200809L -I. tests/cxx_app.cpp "$tmp/impl.o" -o "$out/cxx-$cxx" -lbearssl -lpthread -lm -static-libgcc; then
        pass
        if "$out/cxx-$cxx" "$tmp" 2>/dev/null | grep -q '^cxx_app: ok$'; then pass; else fail "$cxx: the C++ program's metrics are missing"; fi
    else
        fail "$cxx: tests/cxx_app.cpp is not clean under -Wzero-as-null-pointer-constant -Wold-style-cast"
    fi
done
echo "test_deps: $passed passed, $failed failed"
[ $failed -eq 0 ]
