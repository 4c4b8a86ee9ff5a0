/* fuzz_config.c - libFuzzer target for the app's config-file scanner (>>consent): the opt-out
   key, [sections], BOM, CRLF, NUL bytes, UTF-16, lines of any length. The first byte picks the
   key, the app's section and how the rest is cut into chunks. Checks: no crash, no read out of
   bounds (under ASan), a verdict in the documented range, the same verdict however the file
   arrives in chunks (the reader feeds 8 KiB at a time), and a UTF-8 byte order mark changes
   nothing. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_config: %s\n", #c); abort(); } } while (0)

static telemetry__cfgscan scan;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const keys[] = { "telemetry", "send_stats" };
    static const char *const sections[] = { NULL, "myapp", "plugins.uploader", "" };
    const char *text = (const char *)data + 1, *key, *section;
    size_t n, at, step;
    char *with_bom;
    int v, chunked;
    if (size == 0) return 0;
    key = keys[data[0] & 1];
    section = sections[(data[0] >> 1) & 3];
    step = (size_t)(data[0] >> 3) + 1;              /* 1 to 32 bytes a chunk */
    n = size - 1;
    v = telemetry__config_text_says(text, n, key, section);
    REQUIRE(v >= -2 && v <= 1);
    telemetry__cfg_begin(&scan, key, section);
    for (at = 0; at < n; at += step) telemetry__cfg_feed(&scan, text + at, n - at < step ? n - at : step);
    chunked = telemetry__cfg_end(&scan);
    REQUIRE(chunked == v);
    if (v != -2 && n > 0 && data[1] != 0xEF) {
        with_bom = (char *)malloc(n + 3);
        if (!with_bom) return 0;
        memcpy(with_bom, "\xef\xbb\xbf", 3);
        memcpy(with_bom + 3, text, n);
        REQUIRE(telemetry__config_text_says(with_bom, n + 3, key, section) == v);
        free(with_bom);
    }
    return 0;
}

#include "standalone.h"
