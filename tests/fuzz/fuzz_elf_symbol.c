/* fuzz_elf_symbol.c - libFuzzer target for the ELF reading the next run does on a crashed image:
   telemetry__elf_symbol (the function containing an offset, if the file's build id or .text hash
   matches) and telemetry__text_id (Sentry's id of a file without a build id). Input: 8 bytes of
   offset into the image, then the file, written to disk and read back. The ids to match come from
   the input itself (its first GNU build-id note, its .text hash), so the fuzzer reaches the
   symbol tables. Checks: no crash; a name found is a non-empty string within the buffer, and its
   symbol starts at or before the offset. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_elf_symbol: %s\n", #c); abort(); } } while (0)

static void note_id(const uint8_t *d, size_t n, char *hexid) {
    size_t i;
    hexid[0] = 0;
    for (i = 0; i + 16 <= n; i++) {
        uint32_t nsz, dsz, type;
        memcpy(&nsz, d + i, 4); memcpy(&dsz, d + i + 4, 4); memcpy(&type, d + i + 8, 4);
        if (nsz == 4 && type == 3 && dsz > 0 && dsz <= 64 && memcmp(d + i + 12, "GNU", 4) == 0 && i + 16 + dsz <= n) {
            telemetry__hex(d + i + 16, dsz, hexid);
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    char name[64], code_id[129], debug_id[37];
    unsigned char text[16];
    uint64_t off = 0, sym = 0;
    FILE *f;
    int found;
    if (size < 8) return 0;
    memcpy(&off, data, 8);
    off %= 1u << 24;
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_elf_symbol.%d", (int)getpid());
    f = fopen(path, "wb");
    if (!f) return 0;
    if (size > 8) fwrite(data + 8, 1, size - 8, f);
    fclose(f);
    note_id(data + 8, size - 8, code_id);
    debug_id[0] = 0;
    if (telemetry__text_id(path, text) == 0) telemetry__debug_id(text, 16, debug_id);
    memset(name, 'x', sizeof name);
    found = telemetry__elf_symbol(path, code_id, debug_id, off, name, sizeof name, &sym);
    if (found) {
        REQUIRE(memchr(name, 0, sizeof name) != NULL && name[0] != 0);
        REQUIRE(sym <= off);
    }
    /* an id that matches nothing: never a name */
    REQUIRE(!telemetry__elf_symbol(path, "00", "", off, name, sizeof name, &sym));
    remove(path);
    return 0;
}

#include "standalone.h"
