/* fuzz_elf.c - libFuzzer target for the ELF symbol reader the next run uses to name crash frames
   (telemetry__elf_symbol, 32- and 64-bit ELF): the input is written to a file and looked up at a
   few offsets with the build id the seeds carry (tests/fuzz/corpus/elf/, made as test_elf.c
   says). Checks: no crash, no read past the input; a name found is non-empty and NUL-terminated
   within its buffer, and its symbol lies at or below the looked-up address. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_elf: %s\n", #c); abort(); } } while (0)
#define SEED_ID "0102030405060708090a0b0c0d0e0f1011121314"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    static const uint64_t offsets[] = { 0, 4, 0x8, 0xb8, 0xbc, 0xc0, 0xc8, 0x10c, 0x110, 0x114, 0x1000, UINT64_MAX / 2 };
    char name[32];
    size_t i;
    FILE *f;
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_elf.%d", (int)getpid());
    f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    for (i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        uint64_t sym = UINT64_MAX;
        memset(name, 'x', sizeof name);
        if (telemetry__elf_symbol(path, SEED_ID, "", offsets[i], name, sizeof name, &sym)) {
            REQUIRE(memchr(name, 0, sizeof name) != NULL && name[0] != 0);
            REQUIRE(sym <= offsets[i]);
        }
    }
    remove(path);
    return 0;
}

#include "standalone.h"
