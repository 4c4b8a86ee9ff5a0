/* test_ecdsa.c - the library's own ECDSA P-256 check (>>tls, used for certificate chains and the
   TLS key exchange) decides exactly as BearSSL's br_ecdsa_i31_vrfy_raw: 450 keys made and
   signatures made by BearSSL, checked by both as they are and with a bit flipped in the signature,
   the hash or the public key, with r or s zero or too large, and with hashes of 20 to 64 bytes;
   keys next to the generator (Q = G, 2G, 3G, -G, -2G) and a signature whose check sums to the
   point at infinity;
   the asn1 form the TLS engine calls agrees with BearSSL's for P-256 and hands P-384 to BearSSL.
   Where the 64-bit code is not built (TELEMETRY_SMALL_TLS, no 128-bit product) nothing is checked. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"

#if defined(TELEMETRY__P256)
static br_hmac_drbg_context rng;

/* A key and a signature of hash (hash_len bytes: BearSSL signs the first 32) on curve. */
static size_t make(int curve, br_ec_private_key *sk, unsigned char *kb, br_ec_public_key *pk, unsigned char *pb,
                   unsigned char *hash, unsigned char *sig, int asn1) {
    const br_ec_impl *impl = &br_ec_all_m31;
    const br_hash_class *hf = curve == BR_EC_secp384r1 ? &br_sha384_vtable : &br_sha256_vtable;
    br_ec_keygen(&rng.vtable, impl, sk, kb, curve);
    br_ec_compute_pub(impl, pk, pb, sk);
    br_hmac_drbg_generate(&rng, hash, 64);
    return asn1 ? br_ecdsa_i31_sign_asn1(impl, hf, hash, sk, sig) : br_ecdsa_i31_sign_raw(impl, hf, hash, sk, sig);
}

static void test_raw(void) {
    static const unsigned char n[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
    int i, valid = 0, disagree = 0, total = 0;
    for (i = 0; i < 450; i++) {
        br_ec_private_key sk;
        br_ec_public_key pk;
        unsigned char kb[BR_EC_KBUF_PRIV_MAX_SIZE], pb[BR_EC_KBUF_PUB_MAX_SIZE], hash[64], sig[64], q[65];
        size_t hl = (size_t)(i % 4 == 0 ? 32 : i % 4 == 1 ? 20 : i % 4 == 2 ? 48 : 64);
        uint32_t theirs, ours;
        if (make(BR_EC_secp256r1, &sk, kb, &pk, pb, hash, sig, 0) != 64) continue;
        memcpy(q, pk.q, 65);
        switch (i % 9) {
        case 1: sig[i % 64] ^= (unsigned char)(1 << (i % 8)); break;
        case 2: hash[i % 32] ^= 1; break;
        case 3: q[1 + i % 64] ^= 0x10; break;           /* off the curve */
        case 4: memset(sig, 0, 32); break;               /* r = 0 */
        case 5: memset(sig + 32, 0xff, 32); break;       /* s >= n */
        case 6: memcpy(sig, n, 32); break;               /* r = n */
        case 7: memset(q + 1, 0xff, 32); break;          /* x >= p */
        default: break;
        }
        pk.q = q;
        theirs = br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, hl, &pk, sig, 64);
        ours = telemetry__p256_vrfy(hash, hl, q, sig);
        total++;
        if (theirs != ours) { disagree++; if (disagree < 5) fprintf(stderr, "key %d, variant %d: BearSSL %u, ours %u\n", i, i % 9, theirs, ours); }
        valid += theirs == 1;
    }
    CHECK_INT(disagree, 0);
    CHECK(total > 420);
    CHECK(valid > 50 && valid < total / 2);            /* both kinds were tried */
}

/* Keys next to the generator: Q = G, 2G, 3G, -G, -2G (private keys 1, 2, 3, n-1, n-2). The joint
   ladder then adds a point to itself (G + Q with Q = G is a doubling) or to its negative (G + Q
   with Q = -G is the point at infinity), paths random keys never reach. Each key signs 12 hashes
   (BearSSL), checked as they are and with one bit of the signature flipped; then a signature whose
   u1 G + u2 Q is the point at infinity (the hash chosen as -r d mod n), which both must refuse. */
static void test_edge_keys(void) {
    static const unsigned char n[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
    static const int small[5] = { 1, 2, 3, -1, -2 };        /* d, or n + d when negative */
    int k, i, disagree = 0, valid = 0, refused_infinity = 0;
    for (k = 0; k < 5; k++) {
        br_ec_private_key sk;
        br_ec_public_key pk;
        unsigned char x[32], pb[BR_EC_KBUF_PUB_MAX_SIZE], hash[32], sig[64];
        int j, borrow = 0;
        /* x = d as 32 big-endian bytes: n - |d| for the negative ones */
        memset(x, 0, sizeof x);
        if (small[k] > 0) x[31] = (unsigned char)small[k];
        else for (j = 31; j >= 0; j--) {
            int v = n[j] - (j == 31 ? -small[k] : 0) - borrow;
            borrow = v < 0;
            x[j] = (unsigned char)(v + (borrow ? 256 : 0));
        }
        sk.curve = BR_EC_secp256r1; sk.x = x; sk.xlen = 32;
        if (br_ec_compute_pub(&br_ec_all_m31, &pk, pb, &sk) != 65) { CHECK(0); continue; }
        for (i = 0; i < 24; i++) {
            br_hmac_drbg_generate(&rng, hash, sizeof hash);
            if (br_ecdsa_i31_sign_raw(&br_ec_all_m31, &br_sha256_vtable, hash, &sk, sig) != 64) { CHECK(0); continue; }
            if (i % 2) sig[i % 64] ^= (unsigned char)(1 << (i % 8));
            if (br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, 32, &pk, sig, 64) != telemetry__p256_vrfy(hash, 32, pk.q, sig)) disagree++;
            valid += telemetry__p256_vrfy(hash, 32, pk.q, sig) == 1;
        }
        /* d = 1: e = n - r makes u1 + u2 = w (e + r) = 0; d = n - 1: e = r makes u1 - u2 = 0 */
        if (small[k] == 1 || small[k] == -1) {
            br_hmac_drbg_generate(&rng, sig, 64);
            sig[0] &= 0x7f;                                  /* r, s < n */
            sig[32] &= 0x7f;
            if (small[k] == 1) {
                for (j = 31, borrow = 0; j >= 0; j--) {      /* hash = n - r */
                    int v = n[j] - sig[j] - borrow;
                    borrow = v < 0;
                    hash[j] = (unsigned char)(v + (borrow ? 256 : 0));
                }
            } else memcpy(hash, sig, 32);
            refused_infinity += telemetry__p256_vrfy(hash, 32, pk.q, sig) == 0 &&
                                br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, 32, &pk, sig, 64) == 0;
        }
    }
    CHECK_INT(disagree, 0);
    CHECK_INT(valid, 5 * 12);                               /* every unflipped signature holds */
    CHECK_INT(refused_infinity, 2);
    {   /* a hash that is 0 mod n (zero bytes, or none): BearSSL refuses even its own signature */
        br_ec_private_key sk;
        br_ec_public_key pk;
        unsigned char kb[BR_EC_KBUF_PRIV_MAX_SIZE], pb[BR_EC_KBUF_PUB_MAX_SIZE], zero[32], sig[64];
        size_t hl;
        memset(zero, 0, sizeof zero);
        br_ec_keygen(&rng.vtable, &br_ec_all_m31, &sk, kb, BR_EC_secp256r1);
        br_ec_compute_pub(&br_ec_all_m31, &pk, pb, &sk);
        CHECK(br_ecdsa_i31_sign_raw(&br_ec_all_m31, &br_sha256_vtable, zero, &sk, sig) == 64);
        for (hl = 0; hl <= 32; hl += 16) {
            CHECK_INT((int)br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, zero, hl, &pk, sig, 64), 0);
            CHECK_INT((int)telemetry__p256_vrfy(zero, hl, pk.q, sig), 0);
        }
        memcpy(zero, n, 32);                                 /* the hash n itself */
        CHECK_INT((int)telemetry__p256_vrfy(zero, 32, pk.q, sig), (int)br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, zero, 32, &pk, sig, 64));
    }
}

static void test_asn1(void) {
    int i, curve, disagree = 0, valid = 0;
    for (i = 0; i < 60; i++) {
        br_ec_private_key sk;
        br_ec_public_key pk;
        unsigned char kb[BR_EC_KBUF_PRIV_MAX_SIZE], pb[BR_EC_KBUF_PUB_MAX_SIZE], hash[64], sig[160];
        size_t len;
        curve = i % 4 == 3 ? BR_EC_secp384r1 : BR_EC_secp256r1;
        len = make(curve, &sk, kb, &pk, pb, hash, sig, 1);
        if (!len) continue;
        if (i % 2) sig[len - 1 - i % 8] ^= 4;
        if (telemetry__ecdsa_vrfy_asn1(&br_ec_all_m31, hash, curve == BR_EC_secp384r1 ? 48 : 32, &pk, sig, len) !=
            br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, curve == BR_EC_secp384r1 ? 48 : 32, &pk, sig, len))
            disagree++;
        valid += br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, curve == BR_EC_secp384r1 ? 48 : 32, &pk, sig, len) == 1;
    }
    CHECK_INT(disagree, 0);
    CHECK(valid > 20);
}
#endif

int main(void) {
#if defined(TELEMETRY__P256)
    br_hmac_drbg_init(&rng, &br_sha256_vtable, "test_ecdsa", 10);
    test_raw();
    test_edge_keys();
    test_asn1();
#else
    printf("test_ecdsa: the 64-bit P-256 check is not built here\n");
#endif
    return testlib_report("test_ecdsa");
}
