#!/usr/bin/env bash
# test_matrix.sh - the build matrix. Builds tests/matrix_main.c (one metric; init, report,
# shutdown with a temporary state folder) with gcc and clang in C99 and C11, g++ and clang++ in
# C++11, and with every build option of the header's table, all under -Wall -Wextra -Werror
# -pedantic, and runs each program. Options that must be refused (an allocator override given in
# part, TELEMETRY_MAX_COUNTERS not a power of two) must fail to compile with the header's #error.
# Also: two TELEMETRY_STATIC copies in one program, a fully static link, a metric in a static
# library (lost without a reference, kept by TELEMETRY_REGISTER) and the implementation in a
# shared library that exports only the API. Cases run in parallel (MATRIX_JOBS, default: CPUs);
# the script ends with "N passed, M failed". Needs gcc, g++, clang, clang++, libbearssl-dev and,
# for -static, the static libraries of libc6-dev and libbearssl-dev.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=$BUILD/matrix
rm -rf "$OUT"
mkdir -p "$OUT"
JOBS=${MATRIX_JOBS:-$(nproc 2>/dev/null || echo 2)}

WARN=(-Wall -Wextra -Werror -pedantic)
BASE=(-O1 -D_POSIX_C_SOURCE=200809L -I.)
LIBS=(-lbearssl -lpthread -lm)
MAIN=tests/matrix_main.c
unset DO_NOT_TRACK MATRIX_NO_TELEMETRY

# ---- case kinds (each runs in its own background job; output in $OUT/<name>.log) -----------

# run_prog NAME: runs the built program; passes when it exits 0 and says so.
run_prog() {
    local out
    out=$("$OUT/$1" 2>&1); local rc=$?
    printf '%s\n' "$out"
    [ $rc -eq 0 ] && grep -q '^matrix_main: ok$' <<<"$out"
}

# builds NAME COMPILER ARGS...: compiles and links $OUT/NAME, then runs it.
builds() {
    local name=$1 cc=$2; shift 2
    echo "+ $cc $* -o $OUT/$name"
    "$cc" "$@" -o "$OUT/$name" || return 1
    run_prog "$name"
}

# refused NAME PATTERN COMPILER ARGS...: the compile must fail, with PATTERN in its messages.
refused() {
    local name=$1 pattern=$2 cc=$3; shift 3
    local out
    echo "+ $cc $* -o $OUT/$name   (must fail: $pattern)"
    if out=$("$cc" "$@" -o "$OUT/$name" 2>&1); then
        echo "compiled, but should have been refused"
        return 1
    fi
    printf '%s\n' "$out" | head -5
    grep -qF -- "$pattern" <<<"$out" || { echo "refused, but without the expected message"; return 1; }
}

# static_library NAME MODE: lib_metric in its own object inside libmatrixmetric.a.
static_library() {
    local name=$1 mode=$2 dir=$OUT/$1.d
    mkdir -p "$dir"
    gcc -std=c99 "${WARN[@]}" "${BASE[@]}" -c tests/matrix_lib_metric.c -o "$dir/matrix_lib_metric.o" || return 1
    ar rcs "$dir/libmatrixmetric.a" "$dir/matrix_lib_metric.o" || return 1
    nm "$dir/libmatrixmetric.a" | grep -q 'telemetry_metric_lib_metric' || { echo "the archive lacks the metric"; return 1; }
    builds "$name" gcc -std=c99 "${WARN[@]}" "${BASE[@]}" "-DMATRIX_LIB_$mode" "$MAIN" -L"$dir" -lmatrixmetric "${LIBS[@]}"
}

# shared_library NAME: the implementation alone in a shared library built with hidden visibility
# and TELEMETRY_API exporting the public functions; the program links against it.
shared_library() {
    local name=$1 dir=$OUT/$1.d api='-DTELEMETRY_API=__attribute__((visibility("default")))'
    mkdir -p "$dir"
    gcc -std=c99 "${WARN[@]}" "${BASE[@]}" -fPIC -shared -fvisibility=hidden "$api" tests/matrix_impl.c \
        -o "$dir/libtelemetry.so" "${LIBS[@]}" || return 1
    if nm -D --defined-only "$dir/libtelemetry.so" | grep -q ' telemetry__'; then
        echo "private symbols are exported:"; nm -D --defined-only "$dir/libtelemetry.so" | grep ' telemetry__' | head
        return 1
    fi
    nm -D --defined-only "$dir/libtelemetry.so" | grep -q ' T telemetry_init$' || { echo "telemetry_init is not exported"; return 1; }
    echo "+ gcc ... -DMATRIX_NO_IMPL $MAIN -ltelemetry"
    gcc -std=c99 "${WARN[@]}" "${BASE[@]}" "$api" -DMATRIX_NO_IMPL "$MAIN" -L"$dir" -ltelemetry \
        -Wl,-rpath,"$(cd "$dir" && pwd)" -o "$OUT/$name" || return 1
    run_prog "$name"
}

# without NAME REGEX DEFINE LIBS...: the option leaves the object no undefined symbol matching
# REGEX (no pthread_* without threads, no br_* without TLS, ...), and the program links with
# LIBS alone and runs.
without() {
    local name=$1 regex=$2 def=$3 refs; shift 3
    echo "+ gcc ... $def -c $MAIN; nm -u | grep -E '$regex'"
    gcc "${C99[@]}" "$def" -c "$MAIN" -o "$OUT/$name.o" || return 1
    refs=$(nm -u "$OUT/$name.o" | awk '{print $NF}' | grep -E "$regex")
    if [ -n "$refs" ]; then echo "built with $def, the program still needs:" $refs; return 1; fi
    builds "$name" gcc "${C99[@]}" "$def" "$MAIN" "$@"
}

# static_symbols NAME: an object embedding the library with TELEMETRY_STATIC defines no global
# symbol of the library's (functions or data); only what the program itself defines, and its
# metrics (TELEMETRY_METRIC_DECLARE needs them external).
static_symbols() {
    local name=$1 extra
    echo "+ gcc -std=c99 ... -DTELEMETRY_STATIC -c tests/matrix_second.c; nm -g --defined-only"
    gcc -std=c99 "${WARN[@]}" "${BASE[@]}" -DTELEMETRY_STATIC -c tests/matrix_second.c -o "$OUT/$name.o" || return 1
    extra=$(nm -g --defined-only "$OUT/$name.o" | awk '{print $3}' | grep -vx -e matrix_second -e telemetry_metric_second_metric)
    if [ -n "$extra" ]; then echo "global symbols under TELEMETRY_STATIC:"; printf '  %s\n' $extra; return 1; fi
}

# fully_static NAME: -static; reports which static libraries are missing instead of guessing.
fully_static() {
    local name=$1 lib missing=()
    for lib in libc.a libm.a libpthread.a libbearssl.a; do
        [ -n "$(gcc -print-file-name="$lib" | grep /)" ] && [ -f "$(gcc -print-file-name="$lib")" ] || missing+=("$lib")
    done
    if [ ${#missing[@]} -ne 0 ]; then
        echo "missing static libraries: ${missing[*]} (libc.a, libm.a, libpthread.a: libc6-dev; libbearssl.a: libbearssl-dev)"
        return 1
    fi
    builds "$name" gcc -std=c99 "${WARN[@]}" "${BASE[@]}" -static "$MAIN" "${LIBS[@]}" || return 1
    file "$OUT/$name" 2>/dev/null | grep -q 'statically linked' || ldd "$OUT/$name" 2>&1 | grep -q 'not a dynamic' \
        || { echo "the program is not statically linked"; return 1; }
}

# ---- the job runner ----------------------------------------------------------------------------
names=()
job() {
    local name=$1; shift
    names+=("$name")
    ( "$@"; echo $? >"$OUT/$name.rc" ) >"$OUT/$name.log" 2>&1 </dev/null &
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || true; done
}

C99=(-std=c99 "${WARN[@]}" "${BASE[@]}")
ALLOC1='-DTELEMETRY_MALLOC(sz)=malloc(sz)'
ALLOC3='-DTELEMETRY_FREE(p)=free(p)'

# compilers and standards
job gcc-c99          builds gcc-c99 gcc -std=c99 "${WARN[@]}" "${BASE[@]}" "$MAIN" "${LIBS[@]}"
job gcc-c11          builds gcc-c11 gcc -std=c11 "${WARN[@]}" "${BASE[@]}" "$MAIN" "${LIBS[@]}"
job clang-c99        builds clang-c99 clang -std=c99 "${WARN[@]}" "${BASE[@]}" "$MAIN" "${LIBS[@]}"
job clang-c11        builds clang-c11 clang -std=c11 "${WARN[@]}" "${BASE[@]}" "$MAIN" "${LIBS[@]}"
job g++-c++11        builds g++-c++11 g++ -std=c++11 "${WARN[@]}" "${BASE[@]}" -x c++ "$MAIN" -x none "${LIBS[@]}"
job clang++-c++11    builds clang++-c++11 clang++ -std=c++11 "${WARN[@]}" "${BASE[@]}" -x c++ "$MAIN" -x none "${LIBS[@]}"
# no feature macro from the build at all (plain `cc -std=c99 -pedantic`): the header turns POSIX on
# when it comes first, or after C headers only; after POSIX headers it refuses, saying what to do
NODEF=(-O1 -I.)
job gcc-c99-bare-first builds gcc-c99-bare-first gcc -std=c99 "${WARN[@]}" "${NODEF[@]}" tests/matrix_impl.c tests/matrix_bare.c -DMATRIX_BARE_SPLIT "${LIBS[@]}"
job gcc-c99-bare     builds gcc-c99-bare gcc -std=c99 "${WARN[@]}" "${NODEF[@]}" tests/matrix_bare.c "${LIBS[@]}"
job clang-c99-bare   builds clang-c99-bare clang -std=c99 "${WARN[@]}" "${NODEF[@]}" tests/matrix_bare.c "${LIBS[@]}"
job clang-c11-bare   builds clang-c11-bare clang -std=c11 "${WARN[@]}" "${NODEF[@]}" tests/matrix_bare.c "${LIBS[@]}"
job gcc-c99-bare-late refused gcc-c99-bare-late "include telemetry.h first" gcc -std=c99 "${WARN[@]}" "${NODEF[@]}" -c tests/matrix_bare_late.c
# build options
job static           builds static gcc "${C99[@]}" -DTELEMETRY_STATIC "$MAIN" "${LIBS[@]}"
job static-two-tu    builds static-two-tu gcc "${C99[@]}" -DTELEMETRY_STATIC -DMATRIX_SECOND_TU "$MAIN" tests/matrix_second.c "${LIBS[@]}"
job static-two-tu-c++ builds static-two-tu-c++ clang++ -std=c++11 "${WARN[@]}" "${BASE[@]}" -DTELEMETRY_STATIC -DMATRIX_SECOND_TU \
                     -x c++ "$MAIN" tests/matrix_second.c -x none "${LIBS[@]}"
job static-symbols   static_symbols static-symbols
job no-threads       without no-threads '^pthread_' -DTELEMETRY_NO_THREADS -lbearssl -lm
job no-tls           without no-tls '^br_' -DTELEMETRY_NO_TLS -lpthread -lm
# (sigaction stays: the sidecar resets the program's handlers in its own process)
job no-crash-handler without no-crash-handler '^(sigaltstack|signal|backtrace)$' -DTELEMETRY_NO_CRASH_HANDLER "${LIBS[@]}"
job no-files         without no-files '^(openat|opendir|readdir|renameat|unlinkat|fsync|flock|pread|pwrite|writev|mmap)$' -DTELEMETRY_NO_FILES "${LIBS[@]}"
job no-sockets       without no-sockets '^(socket|connect|getaddrinfo|poll|send|recv|uname|inet_pton)$' -DTELEMETRY_NO_SOCKETS "${LIBS[@]}"
job minimal          builds minimal clang "${C99[@]}" -DTELEMETRY_NO_THREADS -DTELEMETRY_NO_TLS -DTELEMETRY_NO_CRASH_HANDLER "$MAIN" -lm
job no-auto-register builds no-auto-register gcc "${C99[@]}" -DTELEMETRY_NO_AUTO_REGISTER "$MAIN" "${LIBS[@]}"
job alloc-override   builds alloc-override gcc "${C99[@]}" -DMATRIX_ALLOC "$MAIN" "${LIBS[@]}"
job alloc-only-malloc refused alloc-only-malloc "define all of TELEMETRY_MALLOC, TELEMETRY_REALLOC and TELEMETRY_FREE, or none" \
                     gcc "${C99[@]}" "$ALLOC1" "$MAIN" "${LIBS[@]}"
job alloc-two-of-three refused alloc-two-of-three "define all of TELEMETRY_MALLOC, TELEMETRY_REALLOC and TELEMETRY_FREE, or none" \
                     gcc "${C99[@]}" "$ALLOC1" "$ALLOC3" "$MAIN" "${LIBS[@]}"
job assert-override  builds assert-override gcc "${C99[@]}" -DMATRIX_ASSERT "$MAIN" "${LIBS[@]}"
job max-counters-64  builds max-counters-64 gcc "${C99[@]}" -DTELEMETRY_MAX_COUNTERS=64 "$MAIN" "${LIBS[@]}"
job max-counters-100 refused max-counters-100 "TELEMETRY_MAX_COUNTERS must be a power of two" \
                     gcc "${C99[@]}" -DTELEMETRY_MAX_COUNTERS=100 "$MAIN" "${LIBS[@]}"
job small-sizes      builds small-sizes gcc "${C99[@]}" -DTELEMETRY_MAX_NAME=32 -DTELEMETRY_MAX_STRING_VALUE=16 \
                     -DTELEMETRY_JSON_MAX_DEPTH=8 "$MAIN" "${LIBS[@]}"
# linking
job static-link      fully_static static-link
job static-lib-lost  static_library static-lib-lost LOST
job static-lib-kept  static_library static-lib-kept KEPT
job shared-api       shared_library shared-api
wait

# ---- verdicts ----------------------------------------------------------------------------------
passed=0 failed=0
for name in "${names[@]}"; do
    rc=$(cat "$OUT/$name.rc" 2>/dev/null || echo 1)
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        printf 'ok    %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$OUT/$name.log" | head -40
    fi
done
echo "test_matrix: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
