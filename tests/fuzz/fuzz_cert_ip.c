/* fuzz_cert_ip.c - libFuzzer target for the DER walk that finds iPAddress subjectAltNames in a
   leaf certificate (BearSSL cannot match IP SANs, so telemetry.h does it for IP-literal hosts).

   Input: 1 byte choosing a 4- or 16-byte address, the address, then the certificate DER. The walk
   must never read outside the input, and must find an address only when its bytes appear in the
   input preceded by the iPAddress tag and length.

   Build: make fuzz. With -DFUZZ_STANDALONE, main() runs each file named on the command line. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_cert_ip: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t ip_len, i, n;
    unsigned char *der, tagged[18];
    int found, present = 0;
    if (size < 1) return 0;
    ip_len = (data[0] & 1) ? 16 : 4;
    if (size < 1 + ip_len) return 0;
    n = size - 1 - ip_len;
    der = (unsigned char *)malloc(n ? n : 1);             /* exact size: ASan sees any overread */
    memcpy(der, data + 1 + ip_len, n);
    found = telemetry__cert_has_ip(der, n, data + 1, ip_len);
    tagged[0] = 0x87; tagged[1] = (unsigned char)ip_len;
    memcpy(tagged + 2, data + 1, ip_len);
    for (i = 0; i + ip_len + 2 <= n && !present; i++) present = memcmp(der + i, tagged, ip_len + 2) == 0;
    REQUIRE(!found || present);
    free(der);
    return 0;
}

#include "standalone.h"
