#!/usr/bin/env bash
# test_small_tls.sh - the TLS tests (tests/test_tls.c: real handshakes with the local receiver, EC
# and RSA certificates, refusals, resumption) built with -DTELEMETRY_SMALL_TLS, the build option
# that links one portable implementation of each algorithm instead of BearSSL's run-time choice.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
bin=$BUILD/small_tls_check
cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -D_POSIX_C_SOURCE=200809L -I. -DTELEMETRY_SMALL_TLS \
    tests/test_tls.c -o "$bin" -lbearssl -lpthread -lm || { echo "0 passed, 1 failed"; exit 1; }
"$bin"
