/* fuzz_utf16.c - libFuzzer target for the library's UTF-8 <-> UTF-16 conversion (the wide file
   names and environment of Windows builds: telemetry__utf8_to_utf16, telemetry__utf16_to_utf8).

   Input: any bytes. Read as a C string (up to the first NUL), UTF-8 to UTF-16 must succeed exactly
   when a reference check written differently here (Unicode's table of well-formed byte sequences)
   says the text is UTF-8, and then convert back to the same bytes. Read as little-endian 16-bit
   units, UTF-16 to UTF-8 must succeed exactly when no surrogate is unpaired, and convert back to
   the same units. Too small an output buffer must fail, never overrun (ASan sees exact sizes).

   Build: make fuzz. With -DFUZZ_STANDALONE, main() runs each file named on the command line. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_utf16: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* Well-formed UTF-8 by the Unicode standard's table 3-7: the code points it encodes, or -1. */
static long reference_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    long units = 0;
    while (i < n) {
        unsigned char b = s[i];
        unsigned char lo = 0x80, hi = 0xBF;
        int k;
        if (b <= 0x7F) { i++; units++; continue; }
        if (b >= 0xC2 && b <= 0xDF) k = 1;
        else if (b == 0xE0) { k = 2; lo = 0xA0; }
        else if (b == 0xED) { k = 2; hi = 0x9F; }
        else if (b >= 0xE1 && b <= 0xEF) k = 2;
        else if (b == 0xF0) { k = 3; lo = 0x90; }
        else if (b == 0xF4) { k = 3; hi = 0x8F; }
        else if (b >= 0xF1 && b <= 0xF3) k = 3;
        else return -1;
        if (i + (size_t)k >= n) return -1;                   /* cut short */
        if (s[i + 1] < lo || s[i + 1] > hi) return -1;
        if (k >= 2 && (s[i + 2] < 0x80 || s[i + 2] > 0xBF)) return -1;
        if (k == 3 && (s[i + 3] < 0x80 || s[i + 3] > 0xBF)) return -1;
        units += k == 3 ? 2 : 1;
        i += (size_t)k + 1;
    }
    return units;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n = 0, m, i, cap;
    char *text, *back;
    telemetry__u16 *w, *units, *wback;
    long want, got;
    int paired = 1;
    while (n < size && data[n]) n++;
    text = (char *)malloc(n + 1);
    memcpy(text, data, n);
    text[n] = 0;
    want = reference_utf8((const unsigned char *)text, n);
    w = (telemetry__u16 *)malloc((n + 1) * sizeof *w);
    got = telemetry__utf8_to_utf16(text, w, n + 1);
    REQUIRE(got == want);
    if (got >= 0) {
        back = (char *)malloc(n + 1);
        REQUIRE(telemetry__utf16_to_utf8(w, back, n + 1) == (long)n && memcmp(back, text, n + 1) == 0);
        if (n) REQUIRE(telemetry__utf16_to_utf8(w, back, n) == -1);          /* one byte short */
        free(back);
        REQUIRE(telemetry__utf8_to_utf16(text, w, (size_t)got) == -1);         /* no room for the NUL */
    }
    free(w);
    free(text);

    m = size / 2;                                      /* the bytes as UTF-16LE units, to a 0 unit */
    units = (telemetry__u16 *)malloc((m + 1) * sizeof *units);
    for (i = 0; i < m; i++) {
        units[i] = (telemetry__u16)(data[2 * i] | data[2 * i + 1] << 8);
        if (!units[i]) break;
    }
    m = i;
    units[m] = 0;
    for (i = 0; i < m; i++) {
        if (units[i] >= 0xD800 && units[i] <= 0xDBFF && i + 1 < m && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF) i++;
        else if (units[i] >= 0xD800 && units[i] <= 0xDFFF) paired = 0;
    }
    cap = 3 * m + 1;                                   /* at most 3 bytes a unit (4 a pair) */
    back = (char *)malloc(cap);
    got = telemetry__utf16_to_utf8(units, back, cap);
    REQUIRE((got >= 0) == paired);
    if (got >= 0) {
        wback = (telemetry__u16 *)malloc((m + 1) * sizeof *wback);
        REQUIRE(telemetry__utf8_to_utf16(back, wback, m + 1) == (long)m && memcmp(wback, units, (m + 1) * sizeof *units) == 0);
        REQUIRE(telemetry__utf16_to_utf8(units, back, (size_t)got) == -1);    /* no room for the NUL */
        free(wback);
    }
    free(back);
    free(units);
    return 0;
}

#include "standalone.h"
