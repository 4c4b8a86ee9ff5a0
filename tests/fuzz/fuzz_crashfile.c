/* fuzz_crashfile.c - libFuzzer target for the reader that names the frames of a crash report the
   crash handler left in the outbox (telemetry__symbolicate_file): the input is written to a file
   and read back. Checks: no crash; a rewritten file still starts with the meta and header lines
   and its event item's length matches the bytes that follow. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_crashfile: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    char *text = NULL;
    size_t n = 0, len = 0;
    int err;
    FILE *f;
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_crashfile.%d", (int)getpid());
    f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    if (telemetry__symbolicate_file(path, &n) == 0 && telemetry__read_file(path, 8u << 20, &text, &len, &err) == 0) {
        char *p = strchr(text, '\n');
        REQUIRE(n == len && p);
        p = strchr(p + 1, '\n');
        REQUIRE(p && strncmp(p + 1, "{\"type\":\"event\",\"length\":", 25) == 0);
        REQUIRE(strtoull(p + 26, NULL, 10) <= len);
        telemetry__free(text);
    }
    remove(path);
    return 0;
}

#include "standalone.h"
