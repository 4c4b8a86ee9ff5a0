/* test_elf.c - the ELF symbol reader that names crash frames in the next run
   (telemetry__elf_symbol), on small real executables of four kinds in tests/fuzz/corpus/elf/:
   elf64 (x86-64), elf32 (i386), elf32-thumb (32-bit ARM, Thumb code: odd symbol values) and
   elf64-be (s390x, big-endian). Each was linked from the same three functions, seed_triple,
   seed_next and _start, with the build id 0102...14:
     CC -O1 -nostdlib -static -fno-asynchronous-unwind-tables -Wl,--build-id=0x0102030405060708090a0b0c0d0e0f1011121314 \
        -Wl,-z,max-page-size=16 -Wl,-z,noseparate-code seed.c   (and -mthumb for ARM)
   Checks: every function is found by an address inside it, in 32-bit files as in 64-bit ones;
   its symbol address is at or below the address, and even for Thumb code; another build id, or a
   file of the other byte order, names nothing (the platform jobs run this on i386, armhf and
   big-endian s390x too). */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"

#define SEED_ID "0102030405060708090a0b0c0d0e0f1011121314"

/* Looks up every offset in [0, 0x400) of the image; how many of the three functions were found. */
static int scan(const char *path, const char *id, int *odd_symbol) {
    int found_triple = 0, found_next = 0, found_start = 0;
    uint64_t off;
    *odd_symbol = 0;
    for (off = 0; off < 0x400; off++) {
        char name[64];
        uint64_t sym = 0;
        if (!telemetry__elf_symbol(path, id, "", off, name, sizeof name, &sym)) continue;
        CHECK(sym <= off);
        if (sym & 1) *odd_symbol = 1;
        if (!strcmp(name, "seed_triple")) found_triple = 1;
        else if (!strcmp(name, "seed_next")) found_next = 1;
        else if (!strcmp(name, "_start")) found_start = 1;
        else { fprintf(stderr, "%s: unexpected name %s at +0x%llx\n", path, name, (unsigned long long)off); CHECK(0); }
    }
    return found_triple + found_next + found_start;
}

int main(void) {
    static const char *const little_endian[] = { "tests/fuzz/corpus/elf/elf64", "tests/fuzz/corpus/elf/elf32",
                                                 "tests/fuzz/corpus/elf/elf32-thumb" };
    const uint16_t one = 1;
    int i, odd, little = *(const unsigned char *)&one == 1;
    /* the reader reads files of this machine's byte order (the program's own) and refuses others */
    for (i = 0; i < 3; i++) {
        CHECK_INT(scan(little_endian[i], SEED_ID, &odd), little ? 3 : 0);
        if (i == 2) CHECK_INT(odd, 0);                  /* Thumb: the code starts at the even address */
        CHECK_INT(scan(little_endian[i], "0102030405060708090a0b0c0d0e0f1011121315", &odd), 0);   /* rebuilt */
    }
    CHECK_INT(scan("tests/fuzz/corpus/elf/elf64-be", SEED_ID, &odd), little ? 0 : 3);           /* s390x */
    CHECK_INT(scan("tests/fuzz/corpus/elf/elf64-be", "0102030405060708090a0b0c0d0e0f1011121315", &odd), 0);
    CHECK_INT(scan("tests/fuzz/corpus/elf/missing", SEED_ID, &odd), 0);
    return testlib_report("test_elf");
}
