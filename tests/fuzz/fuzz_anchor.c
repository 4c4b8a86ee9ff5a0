/* fuzz_anchor.c - differential libFuzzer target for the trust anchor reader (>>tls,
   telemetry__anchor_parse: subject name, RSA or EC key, basicConstraints' cA from one DER
   certificate) against BearSSL's br_x509_decoder on the same bytes. Checks: no crash, no read
   outside the input (copied into a buffer of exactly its size), every part found lies inside it,
   and where both accept the certificate they found the same name, key and CA flag. (The reader
   may accept DER that BearSSL's stricter decoder refuses: anchors come from the program's own CA
   file.) Seeds (tests/fuzz/corpus/anchor/): the DER of tests/certs/ and of a few system CAs. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_anchor: %s\n", #c); abort(); } } while (0)
#define INSIDE(p, n) ((p) >= der && (p) + (n) <= der + size)

static void append(void *ctx, const void *buf, size_t len) { telemetry__buf_append((telemetry__buf *)ctx, buf, len); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if !defined(TELEMETRY_NO_TLS)
    unsigned char *der = (unsigned char *)malloc(size ? size : 1);
    telemetry__anchor_parts a;
    br_x509_decoder_context dc;
    const br_x509_pkey *pk;
    telemetry__buf dn;
    if (!der) return 0;
    memcpy(der, data, size);
    if (telemetry__anchor_parse(der, size, &a) == 0) {
        REQUIRE(a.key_type == BR_KEYTYPE_RSA || a.key_type == BR_KEYTYPE_EC);
        REQUIRE(INSIDE(a.dn, a.dn_len) && a.dn_len >= 2);
        if (a.key_type == BR_KEYTYPE_RSA) REQUIRE(INSIDE(a.n, a.n_len) && INSIDE(a.e, a.e_len) && a.n_len && a.e_len && a.n[0] && a.e[0]);
        else REQUIRE(INSIDE(a.q, a.q_len));
        telemetry__buf_init(&dn);
        br_x509_decoder_init(&dc, append, &dn);
        br_x509_decoder_push(&dc, der, size);
        pk = br_x509_decoder_get_pkey(&dc);
        if (pk && pk->key_type == (unsigned char)a.key_type) {
            REQUIRE(dn.len == a.dn_len && memcmp(dn.data, a.dn, a.dn_len) == 0);
            REQUIRE(a.is_ca == (br_x509_decoder_isCA(&dc) ? 1 : 0));
            if (a.key_type == BR_KEYTYPE_RSA)
                REQUIRE(pk->key.rsa.nlen == a.n_len && memcmp(pk->key.rsa.n, a.n, a.n_len) == 0 && pk->key.rsa.elen == a.e_len &&
                        memcmp(pk->key.rsa.e, a.e, a.e_len) == 0);
            else REQUIRE(pk->key.ec.curve == a.curve && pk->key.ec.qlen == a.q_len && memcmp(pk->key.ec.q, a.q, a.q_len) == 0);
        }
        telemetry__buf_free(&dn);
    }
    free(der);
#else
    (void)data; (void)size;
#endif
    return 0;
}

#include "standalone.h"
