# mk/author.mk -- the tool author's side: the rules test's request capture, the usage report
# tool, packaging (make install) and the CMake consumer example.

EXTRA += $(BUILD)/firebase_capture

$(BUILD)/firebase_capture: tests/firebase_capture.c $(TEST_DEPS) tests/sink_helpers.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)
