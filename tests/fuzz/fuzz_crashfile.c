/* fuzz_crashfile.c - libFuzzer target for the reader that names the frames of a crash envelope
   the crash handler left in the store (telemetry__symbolicate_envelope). Checks: no crash; a
   rewritten envelope still starts with the header line and its event item's length matches the
   bytes that follow. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_crashfile: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = (char *)malloc(size + 1);
    telemetry__buf out;
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = 0;                             /* the sender reads records NUL-terminated */
    telemetry__buf_init(&out);
    if (telemetry__symbolicate_envelope(text, size, &out) == 0) {
        char *p = (char *)memchr(out.data, '\n', out.len);
        REQUIRE(p);
        REQUIRE(strncmp(p + 1, "{\"type\":\"event\",\"length\":", 25) == 0);
        REQUIRE(strtoull(p + 26, NULL, 10) <= out.len);
    }
    telemetry__buf_free(&out);
    free(text);
    return 0;
}

#include "standalone.h"
