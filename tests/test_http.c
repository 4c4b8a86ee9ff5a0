/* test_http.c - unit tests of the transport's pure parts: the request writer (golden bytes), the
   response parser (hostile and odd responses, any split of the bytes), URLs, DSNs, proxy settings
   and the IP-SAN check. No network. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"

/* ---- helpers ----------------------------------------------------------------------------------- */
static int parse(const char *text, int flags, telemetry__http_response *r, size_t *consumed) {
    return telemetry__http_parse_response(text, strlen(text), flags, r, consumed);
}
/* Result of parsing text fed one byte at a time must equal the one-shot result. */
static int parse_bytewise(const char *text, size_t len, int flags, telemetry__http_response *r) {
    telemetry__http_parser *p = (telemetry__http_parser *)malloc(sizeof *p);
    size_t i, used;
    int rc = TELEMETRY__HTTP_NEED_MORE;
    memset(r, 0, sizeof *r);
    telemetry__http_parser_init(p, flags);
    for (i = 0; i < len && rc == TELEMETRY__HTTP_NEED_MORE; i++) rc = telemetry__http_parser_feed(p, r, text + i, 1, &used);
    if (rc == TELEMETRY__HTTP_NEED_MORE && (flags & TELEMETRY__HTTP_EOF)) rc = telemetry__http_parser_eof(p);
    free(p);
    return rc;
}
/* rc of a response that must be rejected, checked one-shot, bytewise and with EOF. */
static void check_bad(const char *text, int line) {
    telemetry__http_response r;
    size_t used;
    int a = parse(text, TELEMETRY__HTTP_EOF, &r, &used), b;
    telemetry__http_response_free(&r);
    b = parse_bytewise(text, strlen(text), TELEMETRY__HTTP_EOF, &r);
    telemetry__http_response_free(&r);
    if (a != TELEMETRY_ERR_PROTOCOL || b != TELEMETRY_ERR_PROTOCOL) fprintf(stderr, "line %d: want a protocol error, got %d/%d\n", line, a, b);
    CHECK_INT(a, TELEMETRY_ERR_PROTOCOL);
    CHECK_INT(b, TELEMETRY_ERR_PROTOCOL);
}
#define BAD(text) check_bad(text, __LINE__)

static const char *body_of(const telemetry__http_response *r) { return r->body.data ? r->body.data : ""; }

/* ---- request writer ---------------------------------------------------------------------------- */
static void test_request_writer(void) {
    telemetry__dsn d;
    telemetry__url u;
    telemetry__buf b;
    telemetry__http_request req;
    const char *hdrs[2];
    char auth[300];
    memset(&req, 0, sizeof req);

    /* protocols.md 1.6, with our User-Agent and without Connection: close (we keep connections) */
    CHECK_INT(telemetry__dsn_parse("https://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b@o123456.ingest.us.sentry.io/4507654321", &d), 0);
    snprintf(auth, sizeof auth, "X-Sentry-Auth: %s", d.auth_header);
    hdrs[0] = auth; hdrs[1] = NULL;
    req.method = "POST"; req.url = &d.envelope; req.content_type = "application/x-sentry-envelope";
    req.headers = hdrs; req.body = "x"; req.body_len = 1130;
    telemetry__buf_init(&b);
    CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), 0);
    CHECK_STR(b.data,
        "POST /api/4507654321/envelope/ HTTP/1.1\r\n"
        "Host: o123456.ingest.us.sentry.io\r\n"
        "User-Agent: telemetry.h/0.1.0\r\n"
        "X-Sentry-Auth: Sentry sentry_version=7, sentry_client=telemetry.h/0.1.0, sentry_key=3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b\r\n"
        "Content-Type: application/x-sentry-envelope\r\n"
        "Content-Length: 1130\r\n"
        "\r\n");
    CHECK(strstr(b.data, "Expect") == NULL && strstr(b.data, "Accept-Encoding") == NULL);
    telemetry__buf_free(&b);
    telemetry__dsn_free(&d);

    /* IPv6 with a non-default port, no body, no content type: Content-Length: 0 still sent */
    CHECK_INT(telemetry__url_parse("http://[::1]:8080/usage.json?auth=t0k%2Fen&print=silent", &u), 0);
    req.url = &u; req.content_type = NULL; req.headers = NULL; req.body = NULL; req.body_len = 0; req.method = "PUT";
    telemetry__buf_init(&b);
    CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), 0);
    CHECK_STR(b.data, "PUT /usage.json?auth=t0k%2Fen&print=silent HTTP/1.1\r\nHost: [::1]:8080\r\n"
                      "User-Agent: telemetry.h/0.1.0\r\nContent-Length: 0\r\n\r\n");
    telemetry__buf_free(&b);
    /* absolute form for a plain-http proxy, with Proxy-Authorization */
    telemetry__buf_init(&b);
    CHECK_INT(telemetry__http_write_head(&b, &req, 1, "dXNlcjpwYXNz"), 0);
    CHECK_STR(b.data, "PUT http://[::1]:8080/usage.json?auth=t0k%2Fen&print=silent HTTP/1.1\r\nHost: [::1]:8080\r\n"
                      "User-Agent: telemetry.h/0.1.0\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nContent-Length: 0\r\n\r\n");
    telemetry__buf_free(&b);
    telemetry__url_free(&u);

    /* refused: header injection, bad names, framing headers, bad method */
    CHECK_INT(telemetry__url_parse("https://example.com/x", &u), 0);
    req.url = &u; req.headers = hdrs; req.method = "POST";
    {
        static const char *const bad[] = { "X-A: b\r\nEvil: 1", "X-A: b\nEvil: 1", "X-A: b\r", "NoColon", ": v",
                                           "Bad Name: v", "Content-Length: 5", "transfer-encoding: chunked", "Host: evil", NULL };
        int i;
        for (i = 0; bad[i]; i++) {
            hdrs[0] = bad[i];
            telemetry__buf_init(&b);
            CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
            telemetry__buf_free(&b);
        }
        hdrs[0] = "X-Ok: a:b c";
        telemetry__buf_init(&b);
        CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), 0);
        telemetry__buf_free(&b);
        hdrs[0] = NULL;
        req.content_type = "text/plain\r\nX-Evil: 1";
        telemetry__buf_init(&b);
        CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
        telemetry__buf_free(&b);
        req.content_type = NULL;
        req.method = "PO ST";
        telemetry__buf_init(&b);
        CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
        telemetry__buf_free(&b);
        req.method = "";
        telemetry__buf_init(&b);
        CHECK_INT(telemetry__http_write_head(&b, &req, 0, NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
        telemetry__buf_free(&b);
    }
    telemetry__url_free(&u);
}

/* ---- response parser --------------------------------------------------------------------------- */
static void test_parser_good(void) {
    telemetry__http_response r;
    telemetry__http_parser *p = (telemetry__http_parser *)malloc(sizeof *p);
    size_t used;
    const char *t;

    t = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.status, 200); CHECK_STR(body_of(&r), "hello"); CHECK_INT(used, strlen(t));
    telemetry__http_response_free(&r);

    /* keep-alive rules */
    telemetry__http_parser_init(p, 0); memset(&r, 0, sizeof r);
    t = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    CHECK_INT(telemetry__http_parser_feed(p, &r, t, strlen(t), &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(p->keep_alive, 1);
    telemetry__http_response_free(&r);
    telemetry__http_parser_init(p, 0);
    t = "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n";
    CHECK_INT(telemetry__http_parser_feed(p, &r, t, strlen(t), &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(p->keep_alive, 0);
    telemetry__http_response_free(&r);
    telemetry__http_parser_init(p, 0);
    t = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK_INT(telemetry__http_parser_feed(p, &r, t, strlen(t), &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(p->keep_alive, 0); CHECK_STR(body_of(&r), "ok");
    telemetry__http_response_free(&r);
    telemetry__http_parser_init(p, 0);
    t = "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";
    CHECK_INT(telemetry__http_parser_feed(p, &r, t, strlen(t), &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(p->keep_alive, 1);
    telemetry__http_response_free(&r);

    /* chunked: hex in either case, extensions, trailers; split anywhere gives the same */
    t = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        "A;name=value;x=\"q\"\r\n0123456789\r\n"
        "1a  \r\nabcdefghijklmnopqrstuvwxyz\r\n"
        "0000F\r\n!!!!!!!!!!!!!!!\r\n"
        "0;last\r\nX-Trailer: 1\r\nOther: 2\r\n\r\n";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(body_of(&r), "0123456789abcdefghijklmnopqrstuvwxyz!!!!!!!!!!!!!!!");
    CHECK_INT(used, strlen(t));
    telemetry__http_response_free(&r);
    CHECK_INT(parse_bytewise(t, strlen(t), 0, &r), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(body_of(&r), "0123456789abcdefghijklmnopqrstuvwxyz!!!!!!!!!!!!!!!");
    telemetry__http_response_free(&r);
    /* TE and CL together: chunked wins, and the connection is not reused */
    telemetry__http_parser_init(p, 0);
    CHECK_INT(telemetry__http_parser_feed(p, &r, t, strlen(t), &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(p->keep_alive, 0);
    telemetry__http_response_free(&r);
    /* chunked counts only as the last coding */
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(body_of(&r), "abc");
    telemetry__http_response_free(&r);
    t = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_NEED_MORE);
    telemetry__http_response_free(&r);
    CHECK_INT(parse(t, TELEMETRY__HTTP_EOF, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(body_of(&r), "3\r\nabc");
    telemetry__http_response_free(&r);

    /* interim responses are skipped, their headers ignored */
    t = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\nRetry-After: 99\r\n\r\n"
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\nContent-Length: 0\r\n\r\n";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.status, 429); CHECK_STR(r.retry_after, "60");
    telemetry__http_response_free(&r);

    /* names in any case, OWS trimmed, list headers joined, the first Retry-After/Location kept */
    t = "HTTP/1.1 429 x\r\nx-sentry-rate-limits:  60:error:org  \t\r\nRETRY-AFTER:\t 30 \r\nRetry-After: 99\r\n"
        "X-Sentry-Rate-Limits: 2700:default:project\r\nX-Sentry-Rate-Limits:\r\nLocation: https://a.example/x?t=1\r\n"
        "Content-Length:  0 \r\n\r\n";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(r.rate_limits, "60:error:org,2700:default:project");
    CHECK_STR(r.retry_after, "30");
    CHECK_STR(r.location, "https://a.example/x?t=1");
    telemetry__http_response_free(&r);

    /* HTTP/1.0, reason phrase empty or absent, bare LF line ends */
    CHECK_INT(parse("HTTP/1.0 204 \r\n\r\n", 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.status, 204);
    telemetry__http_response_free(&r);
    CHECK_INT(parse("HTTP/1.1 200\nContent-Length: 1\n\nx", 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(body_of(&r), "x");
    telemetry__http_response_free(&r);

    /* no body: 204, 304, HEAD - whatever Content-Length says */
    t = "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(used, strlen(t));
    telemetry__http_response_free(&r);
    t = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    CHECK_INT(parse(t, TELEMETRY__HTTP_HEAD, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.body.len, 0);
    telemetry__http_response_free(&r);
    /* CONNECT: a 2xx ends at its header; what follows belongs to the tunnel */
    t = "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy\r\n\r\n\x16\x03\x03";
    CHECK_INT(parse(t, TELEMETRY__HTTP_CONNECT, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(used, strlen(t) - 3);
    telemetry__http_response_free(&r);
    /* a response ends where its framing says: the rest is not consumed */
    t = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(used, strlen(t) - 17);
    telemetry__http_response_free(&r);
    /* duplicate but equal Content-Length values are fine */
    CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2, 2\r\n\r\nok", 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    telemetry__http_response_free(&r);
    /* NUL bytes in a body are data */
    CHECK_INT(telemetry__http_parse_response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0b", 41, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.body.len, 3); CHECK(r.body.data && r.body.data[1] == 0);
    telemetry__http_response_free(&r);
    /* a body delimited by the close */
    t = "HTTP/1.1 500 Oops\r\n\r\nsomething broke";
    CHECK_INT(parse(t, 0, &r, &used), TELEMETRY__HTTP_NEED_MORE);
    telemetry__http_response_free(&r);
    CHECK_INT(parse(t, TELEMETRY__HTTP_EOF, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_STR(body_of(&r), "something broke");
    telemetry__http_response_free(&r);
    free(p);
}

static void test_parser_limits(void) {
    telemetry__http_response r;
    telemetry__buf b;
    size_t used, i, head;
    /* the body cap: the first 64 KiB kept, the rest not read */
    telemetry__buf_init(&b);
    telemetry__buf_puts(&b, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    head = b.len;
    for (i = 0; i < 100000; i++) telemetry__buf_putc(&b, (char)('a' + i % 26));
    CHECK_INT(telemetry__http_parse_response(b.data, b.len, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.body.len, TELEMETRY__HTTP_MAX_BODY); CHECK_INT(r.body_truncated, 1);
    CHECK_INT(used, head + TELEMETRY__HTTP_MAX_BODY);
    telemetry__http_response_free(&r);
    telemetry__buf_free(&b);
    /* a huge declared chunk is not allocated up front: it just fills the cap */
    telemetry__buf_init(&b);
    telemetry__buf_puts(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffff\r\n");
    for (i = 0; i < 70000; i++) telemetry__buf_putc(&b, 'z');
    CHECK_INT(telemetry__http_parse_response(b.data, b.len, 0, &r, &used), TELEMETRY__HTTP_COMPLETE);
    CHECK_INT(r.body_truncated, 1); CHECK_INT(r.body.len, TELEMETRY__HTTP_MAX_BODY);
    telemetry__http_response_free(&r);
    telemetry__buf_free(&b);
    /* header block over 16 KiB, one line over 8 KiB */
    telemetry__buf_init(&b);
    telemetry__buf_puts(&b, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 300; i++) telemetry__buf_puts(&b, "X-Filler: 0123456789012345678901234567890123456789012345678\r\n");
    telemetry__buf_puts(&b, "Content-Length: 0\r\n\r\n");
    BAD(b.data);
    telemetry__buf_free(&b);
    telemetry__buf_init(&b);
    telemetry__buf_puts(&b, "HTTP/1.1 200 OK\r\nX-Long: ");
    for (i = 0; i < 9000; i++) telemetry__buf_putc(&b, 'v');
    telemetry__buf_puts(&b, "\r\nContent-Length: 0\r\n\r\n");
    BAD(b.data);
    telemetry__buf_free(&b);
    /* endless interim responses run into the header limit */
    telemetry__buf_init(&b);
    for (i = 0; i < 1000; i++) telemetry__buf_puts(&b, "HTTP/1.1 100 Continue\r\n\r\n");
    BAD(b.data);
    telemetry__buf_free(&b);
    /* endless trailers too */
    telemetry__buf_init(&b);
    telemetry__buf_puts(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
    for (i = 0; i < 1000; i++) telemetry__buf_puts(&b, "X-Trailer: 0123456789\r\n");
    BAD(b.data);
    telemetry__buf_free(&b);
}

static void test_parser_bad(void) {
    telemetry__http_response r;
    size_t used;
    /* status lines */
    BAD("HTTP/2 200 OK\r\n\r\n");
    BAD("HTTP/1.1 20 OK\r\n\r\n");
    BAD("HTTP/1.1 2000 OK\r\n\r\n");
    BAD("HTTP/1.1 200OK\r\n\r\n");
    BAD("HTTP/1.1 099 x\r\n\r\n");
    BAD("HTTP/1.1 600 x\r\n\r\n");
    BAD("ICY 200 OK\r\n\r\n");
    BAD("http/1.1 200 OK\r\n\r\n");
    BAD("\r\nHTTP/1.1 200 OK\r\n\r\n");
    BAD("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    /* headers */
    BAD("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\n\tfolded: 1\r\nContent-Length: 0\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\n: novalue\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nno colon\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(telemetry__http_parse_response("HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n", 46, 0, &r, &used), TELEMETRY_ERR_PROTOCOL);
    telemetry__http_response_free(&r);
    /* Content-Length */
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\nx");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\n");
    /* chunked */
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded-trailer\r\n\r\n");
    /* truncated: the server closed too early */
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    BAD("HTTP/1.1 200 OK\r\nContent-Le");
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    BAD("HTTP/1.1 100 Continue\r\n\r\n");
    BAD("");
}

/* ---- URLs and DSNs ----------------------------------------------------------------------------- */
static void test_url(void) {
    telemetry__url u;
    char hp[300];
    static const char *const bad[] = {
        "", "ftp://example.com/", "https://", "https:///x", "https://user@example.com/", "https://u:p@example.com/",
        "https://example.com:0/", "https://example.com:65536/", "https://example.com:123456/", "https://example.com:/",
        "https://example.com:8x/", "https://[::1/", "https://[]/", "https://[::1]x/", "https://[zz::1]/", "https://exa mple.com/",
        "https://example.com/a b", "https://example.com/a\r\nHost: evil", "https://example.com/#frag",
        "https://example.com/\x7f", "https://example.com/\xc3\xa9", "https://ex%41mple.com/", "https://example.com\\x/", NULL };
    int i;
    CHECK_INT(telemetry__url_parse("https://mytool-default-rtdb.firebaseio.com/usage.json?auth=abc%2Fdef&x=1", &u), 0);
    CHECK_INT(u.secure, 1); CHECK_INT(u.port, 443); CHECK_INT(u.port_given, 0);
    CHECK_STR(u.host, "mytool-default-rtdb.firebaseio.com");
    CHECK_STR(u.target, "/usage.json?auth=abc%2Fdef&x=1");
    telemetry__url_hostport(&u, hp, sizeof hp);
    CHECK_STR(hp, "mytool-default-rtdb.firebaseio.com");
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("HTTP://LocalHost:8080", &u), 0);
    CHECK_INT(u.secure, 0); CHECK_INT(u.port, 8080); CHECK_STR(u.host, "localhost"); CHECK_STR(u.target, "/");
    telemetry__url_hostport(&u, hp, sizeof hp);
    CHECK_STR(hp, "localhost:8080");
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("http://127.0.0.1:80?q=1", &u), 0);
    CHECK_STR(u.target, "/?q=1");
    telemetry__url_hostport(&u, hp, sizeof hp);
    CHECK_STR(hp, "127.0.0.1");
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("https://[2001:DB8::5]:8443/a/b/?x=[1]&y=%00", &u), 0);
    CHECK_INT(u.host_is_ipv6, 1); CHECK_STR(u.host, "2001:db8::5"); CHECK_INT(u.port, 8443);
    CHECK_STR(u.target, "/a/b/?x=[1]&y=%00");
    telemetry__url_hostport(&u, hp, sizeof hp);
    CHECK_STR(hp, "[2001:db8::5]:8443");
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("https://[::1]:443/", &u), 0);
    telemetry__url_hostport(&u, hp, sizeof hp);
    CHECK_STR(hp, "[::1]");
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("https://example.com:65535", &u), 0);
    CHECK_INT(u.port, 65535);
    telemetry__url_free(&u);
    for (i = 0; bad[i]; i++) {
        int rc = telemetry__url_parse(bad[i], &u);
        if (rc == 0) { fprintf(stderr, "accepted bad URL: %s\n", bad[i]); telemetry__url_free(&u); }
        CHECK_INT(rc, TELEMETRY_ERR_INVALID_URL);
    }
    CHECK_INT(telemetry__url_parse(NULL, &u), TELEMETRY_ERR_INVALID_URL);
}

static void test_dsn(void) {
    telemetry__dsn d;
    char url[400];
    static const char *const bad[] = {
        "", "   ", "https://o1.ingest.sentry.io/42", "https://@o1.ingest.sentry.io/42", "https://:secret@o1.ingest.sentry.io/42",
        "https://key@o1.ingest.sentry.io", "https://key@o1.ingest.sentry.io/", "https://key@o1.ingest.sentry.io/abc",
        "https://key@o1.ingest.sentry.io/42?x=1", "https://key@o1.ingest.sentry.io/42#f", "ftp://key@host/1",
        "https://key@host:0/1", "https://key@/1", "https://ke y@host/1", "https://key@[::1/1", "https://k,ey@host/1",
        "https://key@host/123456789012345678901", NULL };
    int i;
    /* the three examples of protocols.md 1.2 and their envelope URLs (1.3) */
    CHECK_INT(telemetry__dsn_parse("https://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b@o123456.ingest.us.sentry.io/4507654321", &d), 0);
    CHECK_STR(d.public_key, "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"); CHECK(d.secret_key == NULL);
    CHECK_STR(d.envelope.host, "o123456.ingest.us.sentry.io"); CHECK_INT(d.envelope.port, 443);
    CHECK_STR(d.project_id, "4507654321");
    CHECK_STR(d.envelope.target, "/api/4507654321/envelope/");
    CHECK_STR(d.auth_header, "Sentry sentry_version=7, sentry_client=telemetry.h/0.1.0, sentry_key=3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b");
    telemetry__url_hostport(&d.envelope, url, sizeof url);
    CHECK_STR(url, "o123456.ingest.us.sentry.io");
    telemetry__dsn_free(&d);

    CHECK_INT(telemetry__dsn_parse("http://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b:0badc0de@sentry.corp.example:9000/tools/sentry/17", &d), 0);
    CHECK_STR(d.secret_key, "0badc0de"); CHECK_INT(d.envelope.secure, 0); CHECK_INT(d.envelope.port, 9000);
    CHECK_STR(d.envelope.target, "/tools/sentry/api/17/envelope/");
    CHECK_STR(d.auth_header, "Sentry sentry_version=7, sentry_client=telemetry.h/0.1.0, sentry_key=3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b, sentry_secret=0badc0de");
    telemetry__url_hostport(&d.envelope, url, sizeof url);
    CHECK_STR(url, "sentry.corp.example:9000");
    telemetry__dsn_free(&d);

    CHECK_INT(telemetry__dsn_parse("  https://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b@[2001:db8::5]/42/ \n", &d), 0);
    CHECK_INT(d.envelope.host_is_ipv6, 1); CHECK_STR(d.envelope.host, "2001:db8::5");
    CHECK_STR(d.project_id, "42"); CHECK_STR(d.envelope.target, "/api/42/envelope/");
    telemetry__url_hostport(&d.envelope, url, sizeof url);
    CHECK_STR(url, "[2001:db8::5]");
    telemetry__dsn_free(&d);

    CHECK_INT(telemetry__dsn_parse("https://key:@host/7", &d), 0);           /* empty secret: none */
    CHECK(d.secret_key == NULL);
    telemetry__dsn_free(&d);
    for (i = 0; bad[i]; i++) {
        int rc = telemetry__dsn_parse(bad[i], &d);
        if (rc == 0) { fprintf(stderr, "accepted bad DSN: %s\n", bad[i]); telemetry__dsn_free(&d); }
        CHECK_INT(rc, TELEMETRY_ERR_INVALID_DSN);
    }
}

/* ---- proxy settings ---------------------------------------------------------------------------- */
static void test_proxy(void) {
    telemetry__proxy p;
    CHECK_INT(telemetry__proxy_parse("http://127.0.0.1:8888", &p), 0);
    CHECK_STR(p.url.host, "127.0.0.1"); CHECK_INT(p.url.port, 8888); CHECK(p.auth == NULL);
    telemetry__proxy_free(&p);
    CHECK_INT(telemetry__proxy_parse("proxy.corp:3128/", &p), 0);
    CHECK_STR(p.url.host, "proxy.corp"); CHECK_INT(p.url.port, 3128);
    telemetry__proxy_free(&p);
    CHECK_INT(telemetry__proxy_parse("HTTP://user:pass@proxy", &p), 0);
    CHECK_INT(p.url.port, 1080); CHECK_STR(p.auth, "dXNlcjpwYXNz");
    telemetry__proxy_free(&p);
    CHECK_INT(telemetry__proxy_parse("http://us%40er:p%3as@[::1]:8080", &p), 0);   /* "us@er:p:s" */
    CHECK_STR(p.auth, "dXNAZXI6cDpz"); CHECK_STR(p.url.host, "::1");
    telemetry__proxy_free(&p);
    CHECK_INT(telemetry__proxy_parse("http://a@b:c@host:1", &p), 0);              /* "a@b:c" */
    CHECK_STR(p.auth, "YUBiOmM="); CHECK_STR(p.url.host, "host");
    telemetry__proxy_free(&p);
    CHECK_INT(telemetry__proxy_parse("https://proxy:443", &p), TELEMETRY_ERR_UNSUPPORTED);
    CHECK_INT(telemetry__proxy_parse("socks5://proxy:1080", &p), TELEMETRY_ERR_UNSUPPORTED);
    CHECK_INT(telemetry__proxy_parse("http://", &p), TELEMETRY_ERR_INVALID_URL);
    CHECK_INT(telemetry__proxy_parse("http://proxy:99999", &p), TELEMETRY_ERR_INVALID_URL);

    CHECK_INT(telemetry__no_proxy_match(NULL, "example.com", 443), 0);
    CHECK_INT(telemetry__no_proxy_match("", "example.com", 443), 0);
    CHECK_INT(telemetry__no_proxy_match("*", "example.com", 443), 1);
    CHECK_INT(telemetry__no_proxy_match("example.com", "example.com", 443), 1);
    CHECK_INT(telemetry__no_proxy_match("EXAMPLE.com", "a.b.example.com", 443), 1);
    CHECK_INT(telemetry__no_proxy_match(".example.com", "a.example.com", 443), 1);
    CHECK_INT(telemetry__no_proxy_match(".example.com", "example.com", 443), 1);
    CHECK_INT(telemetry__no_proxy_match("*.example.com", "x.example.com", 443), 1);
    CHECK_INT(telemetry__no_proxy_match("example.com", "badexample.com", 443), 0);
    CHECK_INT(telemetry__no_proxy_match("ample.com", "example.com", 443), 0);
    CHECK_INT(telemetry__no_proxy_match("foo, bar , localhost", "localhost", 80), 1);
    CHECK_INT(telemetry__no_proxy_match("localhost:8080", "localhost", 80), 0);
    CHECK_INT(telemetry__no_proxy_match("localhost:8080", "localhost", 8080), 1);
    CHECK_INT(telemetry__no_proxy_match("127.0.0.1", "127.0.0.1", 1), 1);
    CHECK_INT(telemetry__no_proxy_match("127.0.0.1", "127.0.0.10", 1), 0);
    CHECK_INT(telemetry__no_proxy_match("::1", "::1", 1), 1);
    CHECK_INT(telemetry__no_proxy_match("[::1]", "::1", 1), 1);
    CHECK_INT(telemetry__no_proxy_match("[::1]:8443", "::1", 8443), 1);
    CHECK_INT(telemetry__no_proxy_match("[::1]:8443", "::1", 443), 0);
    CHECK_INT(telemetry__no_proxy_match(",,", "x", 1), 0);
    CHECK_INT(telemetry__no_proxy_match("host:notaport", "host", 1), 0);
}

/* ---- the IP-SAN check (BearSSL cannot match IP SANs itself) ------------------------------------- */
#if !defined(TELEMETRY_NO_TLS)
static void der_append(void *ctx, const void *buf, size_t len) { telemetry__buf_append((telemetry__buf *)ctx, buf, len); }
/* The first certificate of a PEM file as DER. */
static int read_leaf(const char *path, telemetry__buf *der) {
    char text[16384];
    br_pem_decoder_context pem;
    size_t n, off = 0;
    int ev, inside = 0;
    FILE *f = fopen(path, "rb");
    telemetry__buf_init(der);
    if (!f) return -1;
    n = fread(text, 1, sizeof text, f);
    fclose(f);
    br_pem_decoder_init(&pem);
    while (off < n) {
        off += br_pem_decoder_push(&pem, text + off, n - off);
        ev = br_pem_decoder_event(&pem);
        if (ev == BR_PEM_BEGIN_OBJ) { inside = 1; br_pem_decoder_setdest(&pem, der_append, der); }
        if (ev == BR_PEM_END_OBJ && inside) return 0;
        if (ev == BR_PEM_ERROR) return -1;
    }
    return -1;
}
static void test_cert_ip(void) {
    static const unsigned char v4[4] = { 127, 0, 0, 1 }, v4b[4] = { 127, 0, 0, 2 };
    static const unsigned char v6[16] = { 0,0,0,0, 0,0,0,0, 0,0,0,0, 0,0,0,1 };
    telemetry__buf der;
    size_t i;
    CHECK_INT(read_leaf("tests/certs/server.pem", &der), 0);
    CHECK_INT(telemetry__cert_has_ip((const unsigned char *)der.data, der.len, v4, 4), 1);
    CHECK_INT(telemetry__cert_has_ip((const unsigned char *)der.data, der.len, v6, 16), 1);
    CHECK_INT(telemetry__cert_has_ip((const unsigned char *)der.data, der.len, v4b, 4), 0);
    for (i = 0; i < der.len; i++)                               /* every truncation is refused, safely */
        if (telemetry__cert_has_ip((const unsigned char *)der.data, i, v4, 4)) break;
    CHECK(i == der.len || i > der.len - 40);                    /* only a cut inside the trailing signature may pass */
    telemetry__buf_free(&der);
    CHECK_INT(read_leaf("tests/certs/wronghost.pem", &der), 0);
    CHECK_INT(telemetry__cert_has_ip((const unsigned char *)der.data, der.len, v4, 4), 0);
    telemetry__buf_free(&der);
    CHECK_INT(telemetry__cert_has_ip((const unsigned char *)"\x30\x80", 2, v4, 4), 0);
    CHECK_INT(telemetry__cert_has_ip((const unsigned char *)"\x30\x84\xff\xff\xff\xff", 6, v4, 4), 0);
}
#endif

/* ---- arguments refused before any network I/O --------------------------------------------------- */
static void test_send_refusals(void) {
    telemetry__http_client *c;
    telemetry__transport_config cfg;
    telemetry__http_request req;
    telemetry__http_response resp;
    telemetry__url u;
    const char *hdrs[2] = { "X-A: 1\r\nX-Injected: 1", NULL };
    memset(&cfg, 0, sizeof cfg);
    memset(&req, 0, sizeof req);
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    CHECK_INT(telemetry__url_parse("http://127.0.0.1:9/", &u), 0);
    req.method = "POST"; req.url = &u; req.headers = hdrs;
    CHECK_INT(telemetry__http_send(c, &req, &resp, telemetry__monotonic_ms() + 1000), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(c->connects, 0);
    req.headers = NULL; req.body = NULL; req.body_len = 5;
    CHECK_INT(telemetry__http_send(c, &req, &resp, telemetry__monotonic_ms() + 1000), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__url_free(&u);
#if defined(TELEMETRY_NO_TLS)
    CHECK_INT(telemetry__url_parse("https://127.0.0.1:9/", &u), 0);
    req.body_len = 0;
    CHECK_INT(telemetry__http_send(c, &req, &resp, telemetry__monotonic_ms() + 1000), TELEMETRY_ERR_UNSUPPORTED);
    CHECK_INT(c->connects, 0);
    telemetry__url_free(&u);
#endif
    telemetry__http_client_free(c);
}

int main(void) {
    test_request_writer();
    test_parser_good();
    test_parser_limits();
    test_parser_bad();
    test_url();
    test_dsn();
    test_proxy();
#if !defined(TELEMETRY_NO_TLS)
    test_cert_ip();
#endif
    test_send_refusals();
    return testlib_report("test_http");
}
