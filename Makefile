# telemetry.h - build the examples and tests; `make test` runs them, `make check` runs them
# under AddressSanitizer + UndefinedBehaviorSanitizer and valgrind, `make demo` shows it working.
CC       ?= cc
CXX      ?= c++
BUILD    ?= build
WARN      = -Wall -Wextra -Werror -pedantic
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -I.
LDLIBS    = -lbearssl -lpthread -lm -static-libgcc   # the unwinder linked in: no libgcc_s.so.1 (docs/building.md)
SAN       = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

TEST_SRCS := $(wildcard tests/test_*.c)
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/%)
TEST_DEPS := telemetry.h tests/testlib.h tests/helpers.h
EXAMPLES  :=
EXTRA     :=

.PHONY: all test check demo clean matrix fuzz bench deps build-all

all: build-all

include $(wildcard tests/mk/*.mk)

build-all: $(TESTS) $(EXAMPLES) $(EXTRA)

$(BUILD)/test_%: tests/test_%.c $(TEST_DEPS)
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

deps:
	@bash tests/install-deps.sh

test: deps
	$(MAKE) build-all
	tests/run.sh $(BUILD)

demo:
	@bash examples/demo.sh

clean:
	rm -rf $(BUILD)
