/* fuzz_p256.c - differential libFuzzer target for the library's ECDSA P-256 check (>>tls,
   telemetry__p256_vrfy) against BearSSL's br_ecdsa_i31_vrfy_raw: the input is a hash length
   (1 byte, 0 to 64), a 64-byte hash, a public key's x and y (64 bytes, after the 0x04 the two
   read) and a signature r || s (64 bytes), zero-padded when short. The two must decide the same.
   Seeds (tests/fuzz/corpus/p256/): valid signatures made by BearSSL over 32- and 48-byte hashes,
   so mutations start next to the accepting path. Not built where the 64-bit check is not. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_p256: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if defined(TELEMETRY__P256)
    unsigned char in[1 + 64 + 64 + 64], q[65];
    br_ec_public_key pk;
    size_t hl;
    memset(in, 0, sizeof in);
    memcpy(in, data, size < sizeof in ? size : sizeof in);
    hl = in[0] % 65;
    q[0] = 0x04;
    memcpy(q + 1, in + 65, 64);
    pk.curve = BR_EC_secp256r1; pk.q = q; pk.qlen = sizeof q;
    REQUIRE(telemetry__p256_vrfy(in + 1, hl, q, in + 129) == br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, in + 1, hl, &pk, in + 129, 64));
#else
    (void)data; (void)size;
#endif
    return 0;
}

#include "standalone.h"
