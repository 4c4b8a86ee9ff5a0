/* fuzz_pem.c - libFuzzer target for the PEM decoder that reads trust anchors (>>tls,
   telemetry__pem_certificates and telemetry__b64_decode).
   1. The input as PEM text: no crash, no read out of bounds (under ASan); every DER handed out
      is non-empty.
   2. The input as DER bytes: wrapped as a CERTIFICATE in base64 lines of a length taken from the
      first byte (with CRLF or LF, text before and after, another object before it), it must come
      back exactly, once.
   Build as the other targets (tests/mk/check.mk); -DFUZZ_STANDALONE replays files. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_pem: %s\n", #c); abort(); } } while (0)

typedef struct { int count; const uint8_t *want; size_t want_len; int matched; } fz_ctx;
static void fz_any(void *ctx, const unsigned char *der, size_t n) {
    (void)der;
    REQUIRE(n > 0);
    ((fz_ctx *)ctx)->count++;
}
static void fz_match(void *ctx, const unsigned char *der, size_t n) {
    fz_ctx *c = (fz_ctx *)ctx;
    c->count++;
    if (n == c->want_len && memcmp(der, c->want, n) == 0) c->matched++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fz_ctx c;
    telemetry__buf t;
    size_t i, col = 0, width;
    int crlf;
    memset(&c, 0, sizeof c);
    telemetry__pem_certificates((const char *)data, size, fz_any, &c);
    if (size < 2) return 0;
    width = (size_t)(data[0] % 80) * 4 + 4;       /* base64 line length, a multiple of 4 */
    crlf = data[0] & 1;
    data++; size--;
    telemetry__buf_init(&t);
    telemetry__buf_puts(&t, "junk before\n-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n");
    telemetry__buf_puts(&t, crlf ? "-----BEGIN CERTIFICATE-----\r\n" : "-----BEGIN CERTIFICATE-----\n");
    for (i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < size ? (uint32_t)data[i + 1] << 8 : 0) | (i + 2 < size ? data[i + 2] : 0);
        char q[4];
        q[0] = b64[v >> 18]; q[1] = b64[v >> 12 & 63];
        q[2] = i + 1 < size ? b64[v >> 6 & 63] : '='; q[3] = i + 2 < size ? b64[v & 63] : '=';
        telemetry__buf_append(&t, q, 4);
        col += 4;
        if (col >= width) { telemetry__buf_puts(&t, crlf ? "\r\n" : "\n"); col = 0; }
    }
    telemetry__buf_puts(&t, crlf ? "\r\n-----END CERTIFICATE-----\r\ntrailing text" : "\n-----END CERTIFICATE-----\ntrailing text");
    REQUIRE(!t.failed);
    memset(&c, 0, sizeof c);
    c.want = data; c.want_len = size;
    telemetry__pem_certificates(t.data, t.len, fz_match, &c);
    REQUIRE(c.count == 1 && c.matched == 1);
    telemetry__buf_free(&t);
    return 0;
}

#include "standalone.h"
