# tests/mk/sink.mk -- the local receiver (examples/telemetry_sink.c) and the test
# certificates.  Included by the top-level Makefile, which defines CC, BUILD,
# WARN, CFLAGS and CPPFLAGS.

SINK_LIBS = -lbearssl -lpthread

EXAMPLES += $(BUILD)/telemetry_sink

$(BUILD)/telemetry_sink: examples/telemetry_sink.c tests/mk/sink.mk
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) -o $@ examples/telemetry_sink.c $(LDFLAGS) $(SINK_LIBS)

# Regenerate tests/certs/*.pem and *.key (new random keys, same shape).
.PHONY: certs
certs:
	sh tests/certs/gen.sh
