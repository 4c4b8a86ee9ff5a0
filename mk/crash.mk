# The crash tests' program (it interposes malloc, so it is built on its own).
EXTRA += $(BUILD)/crashme

$(BUILD)/crashme: tests/crashme.c telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) -O1 -g -fno-omit-frame-pointer $(CPPFLAGS) $< -o $@ $(LDLIBS)
