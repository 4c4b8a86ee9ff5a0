# tests/mk/transport.mk -- the transport's (>>net >>tls >>http) integration test dependency and its fuzz
# targets. Included by the top-level Makefile.

$(BUILD)/test_tls: $(BUILD)/telemetry_sink          # the real server it talks to

# libFuzzer targets: `make fuzz` builds them, `make fuzz-transport` also runs each for
# FUZZ_SECONDS on a scratch copy of its seed corpus (tests/fuzz/corpus/<name>).
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_FLAGS     = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
TRANSPORT_FUZZ = $(BUILD)/fuzz_http_response $(BUILD)/fuzz_url $(BUILD)/fuzz_dsn $(BUILD)/fuzz_cert_ip

fuzz: $(TRANSPORT_FUZZ)

$(TRANSPORT_FUZZ): $(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c telemetry.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -D_POSIX_C_SOURCE=200809L -I. $< -o $@ -lbearssl -lpthread -lm

.PHONY: fuzz-transport
fuzz-transport: $(TRANSPORT_FUZZ)
	@for t in $(TRANSPORT_FUZZ); do \
	    name=$${t##*/fuzz_}; work=$$(mktemp -d); cp tests/fuzz/corpus/$$name/* $$work/ 2>/dev/null; \
	    echo "== $$t ($(FUZZ_SECONDS) s)"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$work >$$work.log 2>&1; status=$$?; \
	    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|SUMMARY' $$work.log; \
	    rm -rf $$work $$work.log; [ $$status -eq 0 ] || exit $$status; \
	done
