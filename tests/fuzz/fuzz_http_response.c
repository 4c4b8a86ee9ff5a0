/* fuzz_http_response.c - libFuzzer target for the HTTP/1.1 response parser.

   The first input byte picks the request kind (HEAD, CONNECT) and how the rest is cut into
   pieces; the rest is the response. The parser must give the same answer (result, bytes used,
   status, body, headers kept) whether it gets the bytes at once or piece by piece, with or
   without the end of the stream after them, and what it keeps must respect its limits.

   Build: make fuzz (clang -fsanitize=fuzzer,address,undefined). With -DFUZZ_STANDALONE, main()
   runs each file named on the command line once. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_http_response: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static void same_response(const telemetry__http_response *a, const telemetry__http_response *b) {
    REQUIRE(a->status == b->status);
    REQUIRE(a->body.len == b->body.len);
    REQUIRE(a->body.len == 0 || memcmp(a->body.data, b->body.data, a->body.len) == 0);
    REQUIRE(a->body_truncated == b->body_truncated);
    REQUIRE(same_str(a->retry_after, b->retry_after));
    REQUIRE(same_str(a->rate_limits, b->rate_limits));
    REQUIRE(same_str(a->location, b->location));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    telemetry__http_response one, eof, inc;
    telemetry__http_parser *p;
    const char *text = (const char *)(data + 1);
    size_t len, used1 = 0, used_eof = 0, used = 0, off = 0, step;
    int flags, rc1, rc_eof, rc = TELEMETRY__HTTP_NEED_MORE;
    if (size < 1) return 0;
    flags = data[0] & 3;
    step = (size_t)(data[0] >> 2) + 1;                    /* piece size 1..64 */
    len = size - 1;

    rc1 = telemetry__http_parse_response(text, len, flags, &one, &used1);
    rc_eof = telemetry__http_parse_response(text, len, flags | TELEMETRY__HTTP_EOF, &eof, &used_eof);
    REQUIRE(rc1 == TELEMETRY__HTTP_COMPLETE || rc1 == TELEMETRY__HTTP_NEED_MORE || rc1 == TELEMETRY_ERR_PROTOCOL);
    REQUIRE(rc_eof == TELEMETRY__HTTP_COMPLETE || rc_eof == TELEMETRY_ERR_PROTOCOL);
    REQUIRE(used1 <= len && used_eof == used1);
    if (rc1 != TELEMETRY__HTTP_NEED_MORE) REQUIRE(rc_eof == rc1);
    if (rc1 == TELEMETRY__HTTP_COMPLETE) {
        REQUIRE(one.status >= 200 && one.status <= 599);
        REQUIRE(one.body.len <= TELEMETRY__HTTP_MAX_BODY);
        REQUIRE(!one.body_truncated || one.body.len == TELEMETRY__HTTP_MAX_BODY);
        same_response(&one, &eof);
    }

    p = (telemetry__http_parser *)malloc(sizeof *p);
    telemetry__http_parser_init(p, flags);
    memset(&inc, 0, sizeof inc);
    while (off < len && rc == TELEMETRY__HTTP_NEED_MORE) {
        size_t n = len - off < step ? len - off : step, u = 0;
        rc = telemetry__http_parser_feed(p, &inc, text + off, n, &u);
        REQUIRE(u <= n);
        REQUIRE(rc != TELEMETRY__HTTP_NEED_MORE || u == n);
        used += u;
        off += n;
        step = step * 7 % 61 + 1;                         /* vary the cuts */
    }
    REQUIRE(rc == rc1);
    if (rc == TELEMETRY__HTTP_COMPLETE) { REQUIRE(used == used1); same_response(&one, &inc); }
    if (rc == TELEMETRY__HTTP_NEED_MORE) {
        rc = telemetry__http_parser_eof(p);
        REQUIRE(rc == rc_eof);
        if (rc == TELEMETRY__HTTP_COMPLETE) same_response(&eof, &inc);
    }
    free(p);
    telemetry__http_response_free(&one);
    telemetry__http_response_free(&eof);
    telemetry__http_response_free(&inc);
    return 0;
}

#include "standalone.h"
