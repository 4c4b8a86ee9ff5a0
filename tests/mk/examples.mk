EXAMPLES += $(BUILD)/demo

$(BUILD)/demo: examples/demo.c telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) $(EXAMPLE_CPPFLAGS) $< -o $@ $(LDLIBS)
