/* fuzz_cfi.c - libFuzzer target for the x86-64 unwinder's reader of .eh_frame_hdr and .eh_frame
   (telemetry__cfi_find: the header's table, the FDE, its CIE and their call-frame programs). The
   input is a 4-byte little-endian signed offset, then the bytes of a loaded segment that starts
   with an .eh_frame_hdr; the rule is asked for at that offset from the header and a few bytes
   around it. Checks: no crash, no read outside the segment (the input is copied into a buffer of
   exactly its size), a known kind, and a rule found has a CFA above the stack pointer. Seeds
   (tests/fuzz/corpus/cfi/): the .eh_frame_hdr..end of .eh_frame of test programs built by gcc
   and clang at -O0 and -O2 with offsets of functions in them. Elsewhere than x86-64 the unwinder
   is not built and the target does nothing. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_cfi: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if defined(TELEMETRY__FAST_UNWIND)
    static const int around[] = { 0, -1, 1, 4, 17, -64 };
    unsigned char *seg;
    int32_t delta;
    size_t i;
    if (size < 5) return 0;
    delta = (int32_t)((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24);
    seg = (unsigned char *)malloc(size - 4);
    if (!seg) return 0;
    memcpy(seg, data + 4, size - 4);
    for (i = 0; i < sizeof around / sizeof around[0]; i++) {
        telemetry__cfi_rule r;
        uintptr_t pc = (uintptr_t)seg + (uintptr_t)(intptr_t)delta + (uintptr_t)(intptr_t)around[i];
        telemetry__cfi_find(seg, seg, seg + (size - 4), pc, &r);
        REQUIRE(r.kind >= TELEMETRY__CFI_OK && r.kind <= TELEMETRY__CFI_ODD);
        REQUIRE(r.pc == pc);
        if (r.kind == TELEMETRY__CFI_OK) REQUIRE(r.cfa_off >= 0);
    }
    free(seg);
#else
    (void)data; (void)size;
#endif
    return 0;
}

#include "standalone.h"
