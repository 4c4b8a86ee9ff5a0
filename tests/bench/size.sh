#!/usr/bin/env bash
# size.sh - the stripped size of the smallest static program (docs/building.md, "Size"): built
# -Os with section GC, BearSSL static, once as is and once with -DTELEMETRY_SMALL_TLS. Prints
# "BENCH size_<variant>=N bytes (bound 163840) ok|MISSED"; exits 1 when a figure is over.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
mkdir -p "$BUILD"
missed=0
for variant in default small_tls; do
    def=; [ $variant = small_tls ] && def=-DTELEMETRY_SMALL_TLS
    out=$BUILD/size_client_$variant
    cc -std=c99 -Os $def -ffunction-sections -fdata-sections -D_POSIX_C_SOURCE=200809L -I. \
        tests/bench/size_client.c -o "$out" -Wl,--gc-sections -s -Wl,-Bstatic -lbearssl -Wl,-Bdynamic -lpthread -lm || exit 2
    n=$(stat -c %s "$out")
    if [ "$n" -le 163840 ]; then v=ok; else v=MISSED; missed=1; fi
    # the file grows in 4 KiB steps (its segments are page-aligned): the loaded bytes show more
    loaded=$(size "$out" | awk 'NR == 2 { print $1 + $2 }')
    echo "BENCH size_$variant=$n bytes (bound 163840) $v   [text+data $loaded bytes]"
done
exit $missed
