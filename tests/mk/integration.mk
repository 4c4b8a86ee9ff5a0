# tests/mk/integration.mk -- the end-to-end tests (tests/test_send.c, test_faults.c, test_threads.c)
# talk to the local receiver, so it is built first, in the same build folder; they share
# tests/sink_helpers.h. `make tsan` builds test_threads with ThreadSanitizer and runs it.
# Included by the top-level Makefile, which defines CC, BUILD, WARN, CPPFLAGS and LDLIBS.

INTEGRATION_TESTS = $(BUILD)/test_send $(BUILD)/test_faults $(BUILD)/test_threads

$(INTEGRATION_TESTS): $(BUILD)/telemetry_sink tests/sink_helpers.h

TSAN_CC      ?= clang
TSAN_FLAGS   ?= -fsanitize=thread -O1 -g -fno-omit-frame-pointer
TSAN_OPTIONS ?= halt_on_error=1 second_deadlock_stack=1

.PHONY: tsan
tsan: $(BUILD)/tsan/test_threads $(BUILD)/tsan/telemetry_sink
	TSAN_OPTIONS="$(TSAN_OPTIONS)" $(BUILD)/tsan/test_threads

$(BUILD)/tsan/test_threads: tests/test_threads.c tests/sink_helpers.h $(TEST_DEPS)
	@mkdir -p $(BUILD)/tsan
	$(TSAN_CC) -std=c99 $(WARN) $(TSAN_FLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

# the receiver next to it is an ordinary build (only the library is under the sanitizer)
$(BUILD)/tsan/telemetry_sink: examples/telemetry_sink.c
	@mkdir -p $(BUILD)/tsan
	$(CC) -std=c99 $(WARN) -O2 -g $(CPPFLAGS) -o $@ $< -lbearssl -lpthread
