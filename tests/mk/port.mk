# tests/mk/port.mk - the platform jobs (tests/port/run.sh; docs/building.md, "Platform jobs"):
#   make port     every target; PORT_TARGETS="linux-i386 linux-musl" picks some
# `make test` runs them too (tests/test_port.sh); PORT=0 skips them there.
# Included by the top-level Makefile, which defines BUILD.
.PHONY: port
port: $(BUILD)/telemetry_sink
	BUILD=$(BUILD) bash tests/port/run.sh
