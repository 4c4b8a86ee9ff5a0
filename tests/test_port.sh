#!/usr/bin/env bash
# test_port.sh - the platform jobs (tests/port/run.sh: i386, armhf and s390x Linux, musl, mingw-w64,
# Cortex-M) as part of `make test`; its last line is "port: N passed, M failed".
# PORT=0 skips them (the sanitizer pass of `make check` sets it: the jobs build their own
# binaries, so a second pass would only repeat them); PORT_TARGETS picks some.
set -u
cd "$(dirname "$0")/.."
if [ "${PORT:-1}" = 0 ]; then echo "port: skipped (PORT=0)"; echo "0 passed, 0 failed"; exit 0; fi
exec bash tests/port/run.sh
