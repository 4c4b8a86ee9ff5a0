# Every fuzz target also builds without libFuzzer (-DFUZZ_STANDALONE) with the normal compiler,
# and tests/test_fuzz_corpus.sh replays its seed corpus in `make test` (and, in `make check`,
# under the sanitizers): what a fuzzer once found stays fixed.
REPLAYS := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/replay_%,$(wildcard tests/fuzz/fuzz_*.c))
EXTRA += $(REPLAYS)

$(BUILD)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.h telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DFUZZ_STANDALONE $(CPPFLAGS) $< -o $@ $(LDLIBS)
