#!/usr/bin/env bash
# Runs every built test binary and every tests/test_*.sh script; prints the totals as
# "N passed, M failed" and exits non-zero when anything failed.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
passed=0 failed=0 failed_names=()
run_one() {
    local name=$1; shift
    local out
    out=$("$@" 2>&1); local rc=$?
    printf '%s\n' "$out" | sed 's/^/  /'
    local line p f
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
    # (a greedy ".* ?" before the digits would keep only the last digit of the count)
    p=$(sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    f=$(sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
    [[ $p =~ ^[0-9]+$ ]] || p=0
    [[ $f =~ ^[0-9]+$ ]] || f=0
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failed_names+=("$name"); fi
}
for t in "$BUILD"/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.o|*.d) continue;; esac
    echo "== $(basename "$t")"
    run_one "$(basename "$t")" "$t"
done
for s in tests/test_*.sh; do
    [ -f "$s" ] || continue
    echo "== $(basename "$s")"
    run_one "$(basename "$s")" env BUILD="$BUILD" bash "$s"
done
if [ ${#failed_names[@]} -ne 0 ]; then echo "failing: ${failed_names[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
