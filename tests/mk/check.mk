# tests/mk/check.mk - the C++ twin of the tests, and the heavier checks:
#   make check      every test built with ASan+UBSan into build-san/ and run, then every test
#                   binary of the normal build run under valgrind (tests/check.sh), then the
#                   many-thread test under ThreadSanitizer (make tsan, tests/mk/integration.mk), then
#                   the instructions one telemetry_capture_message and one telemetry_capture_error
#                   (10-frame stack) cost their caller, counted by callgrind (tests/bench/instr.sh
#                   check: deterministic, bounds 5,000 and 15,000)
#   make matrix     compilers, language standards and build options (tests/test_matrix.sh)
#   make fuzz       every tests/fuzz/fuzz_*.c built with libFuzzer into $(BUILD)/fuzz_*
#   make fuzz-run   each fuzzer for FUZZ_SECONDS (default 30), seeded from tests/fuzz/corpus/<name>/
# Included by the top-level Makefile, which defines CC, CXX, BUILD, WARN, CFLAGS, CPPFLAGS,
# LDLIBS, SAN and TEST_DEPS.

SAN_BUILD    ?= build-san
FUZZ_CC      ?= clang
FUZZ_FLAGS   ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 30
# Extra flags for one fuzzer: $(BUILD)/fuzz_x: FUZZ_CPPFLAGS += -DSOMETHING
FUZZ_CPPFLAGS ?=
FUZZERS      := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))

# ---- the C++ twin: the implementation compiled as C++11 --------------------------------------
EXTRA += $(BUILD)/test_cxx

$(BUILD)/test_cxx: tests/test_cxx.cpp $(TEST_DEPS)
	@mkdir -p $(BUILD)
	$(CXX) -std=c++11 $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

.PHONY: check matrix fuzz fuzz-run

# ---- sanitizers, then valgrind -------------------------------------------------------------------
# The sanitizer flags go in CFLAGS (the test rules compile and link in one step) and LDFLAGS (for
# rules that link separately).
check: build-all $(BUILD)/instr_capture
	$(MAKE) BUILD=$(SAN_BUILD) CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" PORT=0 test
	tests/check.sh $(BUILD)
	$(MAKE) tsan
	BUILD=$(BUILD) bash tests/bench/instr.sh check

# ---- build matrix ----------------------------------------------------------------------------------
matrix:
	BUILD=$(BUILD) bash tests/test_matrix.sh

# ---- fuzzing -----------------------------------------------------------------------------------------
fuzz: $(FUZZERS)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c telemetry.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -std=c99 $(WARN) $(FUZZ_FLAGS) $(CPPFLAGS) $(FUZZ_CPPFLAGS) $< -o $@ $(LDLIBS)

# New inputs go to $(BUILD)/corpus/<name>/ (the first directory); tests/fuzz/corpus/<name>/ is only
# read, so a run leaves the repository clean. Crashes are written as $(BUILD)/crash-*.
fuzz-run: fuzz
	@set -e; for f in $(FUZZERS); do \
	    name=$${f##*/fuzz_}; \
	    mkdir -p $(BUILD)/corpus/$$name tests/fuzz/corpus/$$name; \
	    echo "== $$f for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/ \
	        $(BUILD)/corpus/$$name tests/fuzz/corpus/$$name; \
	done
