#!/usr/bin/env bash
# test_examples.sh - the payload examples in docs/examples/ are what the code really sends:
# regenerates them with tests/gen_examples.c and compares. Fields that depend on the build (stack
# addresses, build ids, image sizes and paths) are masked on both sides.
# `make examples` rewrites docs/examples/ after a deliberate change.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/gen_examples" "$tmp/state" 2>"$tmp/debug.txt" >/dev/null || { echo "gen_examples failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 tests/split_examples.py "$tmp/new" <"$tmp/debug.txt"
if [ "${1:-}" = "--write" ]; then rm -rf docs/examples; cp -r "$tmp/new" docs/examples; echo "docs/examples rewritten"; exit 0; fi
mask() { sed -E 's/"0x[0-9a-f]+"/"0x…"/g; s/"(code_id|debug_id|code_file)": "[^"]*"/"\1": "…"/; s/"image_size": [0-9]+/"image_size": …/' "$1"; }
passed=0 failed=0
for f in docs/examples/*; do
    name=$(basename "$f")
    if [ ! -f "$tmp/new/$name" ]; then echo "FAILED: $name is no longer produced"; failed=$((failed + 1)); continue; fi
    if diff <(mask "$f") <(mask "$tmp/new/$name") >"$tmp/diff"; then passed=$((passed + 1)); echo "ok $name"
    else echo "FAILED: docs/examples/$name differs from what the code sends (run: make examples)"; head -20 "$tmp/diff"; failed=$((failed + 1)); fi
done
for f in "$tmp/new"/*; do [ -f "docs/examples/$(basename "$f")" ] || { echo "FAILED: new example $(basename "$f") is not in docs/examples (run: make examples)"; failed=$((failed + 1)); }; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
