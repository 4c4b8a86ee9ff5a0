# tests/mk/author.mk -- the tool author's side: the rules test's request capture, the usage report
# tool, packaging (make install) and the CMake consumer example.

EXTRA += $(BUILD)/firebase_capture

$(BUILD)/firebase_capture: tests/firebase_capture.c $(TEST_DEPS) tests/sink_helpers.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

# ---- packaging: make install PREFIX=/usr/local DESTDIR= -----------------------------------------
# Installs telemetry.h and a pkg-config file. BearSSL has no .pc of its own, so its library is
# named in Libs. With a mingw compiler (CC=x86_64-w64-mingw32-gcc) Libs are the Windows ones.
PREFIX       ?= /usr/local
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(PREFIX)/lib/pkgconfig
TELEMETRY_VERSION := $(shell sed -n 's/^\#define TELEMETRY_VERSION_STRING "\(.*\)"/\1/p' telemetry.h)
PC_LIBS_POSIX   = -lbearssl -lpthread -lm
PC_LIBS_WINDOWS = -lbearssl -lws2_32 -lbcrypt -lcrypt32
PC_LIBS ?= $(if $(findstring mingw,$(shell $(CC) -dumpmachine 2>/dev/null)),$(PC_LIBS_WINDOWS),$(PC_LIBS_POSIX))

.PHONY: install uninstall
install:
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 telemetry.h $(DESTDIR)$(INCLUDEDIR)/telemetry.h
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$(INCLUDEDIR)' '' \
	    'Name: telemetry' \
	    'Description: Usage telemetry (Firebase/HTTPS) and Sentry crash reporting in one C header; define TELEMETRY_IMPLEMENTATION in one file' \
	    'Version: $(TELEMETRY_VERSION)' \
	    'Cflags: -I$${includedir}' \
	    '# POSIX: $(PC_LIBS_POSIX)    Windows (mingw): $(PC_LIBS_WINDOWS)' \
	    'Libs: $(PC_LIBS)' >$(DESTDIR)$(PKGCONFIGDIR)/telemetry.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/telemetry.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/telemetry.h $(DESTDIR)$(PKGCONFIGDIR)/telemetry.pc

# ---- the usage report tool ----------------------------------------------------------------------
EXAMPLES += $(BUILD)/telemetry_report

$(BUILD)/telemetry_report: examples/telemetry_report.c telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

# its fuzz target includes the tool's source
$(BUILD)/replay_report $(BUILD)/fuzz_report: examples/telemetry_report.c
