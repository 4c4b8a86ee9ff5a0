/* standalone.h - lets a fuzz target run without libFuzzer: built with -DFUZZ_STANDALONE it reads
   each file named on the command line and feeds it to LLVMFuzzerTestOneInput once, so any
   compiler can replay the seed corpus and the crashes a fuzzer found. */
#ifndef FUZZ_STANDALONE_H
#define FUZZ_STANDALONE_H
#ifdef FUZZ_STANDALONE
#include <stdio.h>
#include <stdint.h>
int main(int argc, char **argv) {
    static uint8_t buf[1 << 20];
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        size_t n;
        if (!f) continue;
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
#endif
