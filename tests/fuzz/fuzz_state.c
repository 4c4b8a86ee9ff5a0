/* fuzz_state.c - libFuzzer target for the parsers of local state: the app's config file (the
   opt-out key), the session file, and an outbox file's first line. The first byte picks one.
   Checks: no crash, no read out of bounds (under ASan), and results in their documented range. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_state: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text;
    if (size == 0) return 0;
    text = (char *)malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    switch (data[0] % 3) {
    case 0: {
        int v = telemetry__config_text_says(text, size - 1, "telemetry", NULL);   /* fuzz_config goes deeper */
        REQUIRE(v >= -2 && v <= 1);
        break;
    }
    case 1: {
        telemetry__session se;
        if (telemetry__session_parse(text, &se) == 0) {
            telemetry__buf b;
            REQUIRE(telemetry__is_hex_id(se.sid) && se.errors >= 0 && se.updated_ms >= se.started_ms);
            telemetry__buf_init(&b);
            REQUIRE(telemetry__session_json(&b, &se) == 0);     /* whatever was read, the JSON is whole */
            telemetry__buf_free(&b);
        }
        break;
    }
    default: {
        telemetry__item it;
        memset(&it, 0, sizeof it);
        if (telemetry__item_parse_meta(text, strlen(text), &it) == 0) {
            REQUIRE(it.kind == TELEMETRY__KIND_USAGE || it.kind == TELEMETRY__KIND_ENVELOPE);
            REQUIRE(it.category >= 0 && it.category < TELEMETRY__CAT_COUNT);
            REQUIRE(it.push_id[0] == 0 || strlen(it.push_id) == 20);
        }
        break;
    }
    }
    free(text);
    return 0;
}

#include "standalone.h"
