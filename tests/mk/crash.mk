# The crash tests' program (it interposes malloc, so it is built on its own), the same program
# linked without a build id (Sentry's .text-hash identifier), and the library it loads with
# dlopen after init.
EXTRA += $(BUILD)/crashme $(BUILD)/crashme_noid $(BUILD)/crash_plugin.so

$(BUILD)/crashme: tests/crashme.c telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) -O1 -g -fno-omit-frame-pointer $(CPPFLAGS) $< -o $@ $(LDLIBS) -ldl

$(BUILD)/crashme_noid: tests/crashme.c telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) -O1 -g -fno-omit-frame-pointer $(CPPFLAGS) -Wl,--build-id=none $< -o $@ $(LDLIBS) -ldl

$(BUILD)/crash_plugin.so: tests/crash_plugin.c
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) -O1 -g -fPIC -shared $< -o $@
