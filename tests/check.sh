#!/usr/bin/env bash
# check.sh - runs every test binary of a normal (unsanitized) build under valgrind, as `make check`
# does after the sanitizer pass. A test fails when valgrind reports an error (invalid access,
# uninitialised value, definite leak: exit code 99) or when the test itself fails. Children the
# tests start (servers, other programs) are not traced. Ends with "N passed, M failed".
#   tests/check.sh [BUILD]        (default build/)
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
    echo "check.sh: valgrind is not installed (Debian: apt-get install -y valgrind)"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$BUILD/valgrind"
passed=0 failed=0 failing=()
for t in "$BUILD"/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    case "$t" in *.o|*.d|*.sh|*.log) continue;; esac
    name=$(basename "$t")
    log="$BUILD/valgrind/$name.log"
    out=$(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                   --trace-children=no --log-file="$log" "$t" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok    $name"
        continue
    fi
    failed=$((failed + 1))
    failing+=("$name")
    if [ $rc -eq 99 ]; then
        echo "FAIL  $name: valgrind reported errors ($log)"
        sed 's/^/      /' "$log" | head -60
    else
        echo "FAIL  $name: the test failed under valgrind (exit $rc)"
        printf '%s\n' "$out" | tail -20 | sed 's/^/      /'
    fi
done
if [ ${#failing[@]} -ne 0 ]; then echo "failing under valgrind: ${failing[*]}"; fi
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
