#!/usr/bin/env bash
# test_fuzz_corpus.sh - replays each fuzz target's seed corpus (tests/fuzz/corpus/<name>/) through
# the target built without libFuzzer ($BUILD/replay_<name>): every parser and encoder check the
# fuzzers make runs on every input that ever mattered.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
passed=0 failed=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c); name=${name#fuzz_}
    bin="$BUILD/replay_$name"
    if [ ! -x "$bin" ]; then echo "FAILED: $bin is not built"; failed=$((failed + 1)); continue; fi
    files=(tests/fuzz/corpus/"$name"/*)
    if [ ! -e "${files[0]}" ]; then echo "FAILED: no seed corpus for $name"; failed=$((failed + 1)); continue; fi
    if "$bin" "${files[@]}" >/dev/null 2>&1; then passed=$((passed + 1)); echo "ok $name (${#files[@]} inputs)"
    else failed=$((failed + 1)); echo "FAILED: $name on its corpus"; fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
