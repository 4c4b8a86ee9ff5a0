# tests/mk/bench.mk - the benchmarks (tests/bench/bench_*.c; not part of `make test`):
#   make bench        builds them into $(BUILD)/bench_* and runs them all with tests/bench/run.sh,
#                     which starts the local receiver (two: EC and RSA certificates) and stops it,
#                     and runs tests/test_delivery.c's short-tool case for its figure (5 ms bound)
#   make bench-build  only builds them
# Knobs (environment), e.g. BENCH_REPEAT=3 (run the set three times and print the medians),
# BENCH_N, BENCH_CAPTURES, BENCH_FORK_SIZES: see docs/benchmarks.md. bench_transport also links libcurl
# (libcurl4-openssl-dev), the reference client; bench_json links cJSON (libcjson-dev).
# Included by the top-level Makefile, which defines CC, BUILD, WARN, CPPFLAGS and LDLIBS.

BENCH_SRCS   := $(wildcard tests/bench/bench_*.c)
BENCHES      := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/%)
BENCH_CFLAGS := -O2 -std=c99 $(WARN) $(CPPFLAGS)
BENCH_DEPS   := telemetry.h tests/bench/bench.h

.PHONY: bench bench-build instr
bench-build: $(BENCHES) $(BUILD)/telemetry_sink $(BUILD)/instr_capture $(BUILD)/test_delivery

# Instructions per captured event under callgrind (tests/bench/instr.sh): deterministic.
instr: $(BUILD)/instr_capture
	BUILD=$(BUILD) bash tests/bench/instr.sh

$(BUILD)/instr_capture: tests/bench/instr_capture.c $(BENCH_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(BENCH_CFLAGS) -g $< -o $@ $(LDLIBS)

bench: bench-build
	BUILD=$(BUILD) bash tests/bench/run.sh

$(BUILD)/bench_%: tests/bench/bench_%.c $(BENCH_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(LDLIBS)

# libcurl (OpenSSL flavour: libcurl4-openssl-dev) is the reference client.
$(BUILD)/bench_transport: tests/bench/bench_transport.c $(BENCH_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(LDLIBS) -lcurl

# cJSON (libcjson-dev) is the reference JSON writer.
$(BUILD)/bench_json: tests/bench/bench_json.c $(BENCH_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(LDLIBS) -lcjson
