/* fuzz_ip_literal.c - libFuzzer target for the library's own IP-literal parsers (telemetry__ip4_parse,
   telemetry__ip6_parse: TLS checks an address host against the certificate's IP names without the
   socket headers, so bare-metal builds have them too).

   Input: any bytes, read as a C string (up to the first NUL). Differential: each parser must agree
   with the C library's inet_pton (glibc) on whether the text is an address and on its 16 or 4
   bytes; the parsers must never read past the string (ASan sees an exact-size copy).

   Build: make fuzz. With -DFUZZ_STANDALONE, main() runs each file named on the command line. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_ip_literal: %s:%d: %s [%s]\n", __FILE__, __LINE__, #c, text); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n = 0;
    char *text;
    unsigned char ours[16], libc[16];
    int a, b;
    while (n < size && data[n]) n++;
    text = (char *)malloc(n + 1);
    memcpy(text, data, n);
    text[n] = 0;
    a = telemetry__ip4_parse(text, text + n, ours) == 0;
    b = inet_pton(AF_INET, text, libc) == 1;
    REQUIRE(a == b);
    if (a) REQUIRE(memcmp(ours, libc, 4) == 0);
    a = telemetry__ip6_parse(text, ours) == 0;
    b = inet_pton(AF_INET6, text, libc) == 1;
    REQUIRE(a == b);
    if (a) REQUIRE(memcmp(ours, libc, 16) == 0);
    free(text);
    return 0;
}

#include "standalone.h"
