/* fuzz_url.c - libFuzzer target for URL parsing, the request writer, proxy URLs and no_proxy.

   Input: "<url>\n<no_proxy list>". A URL that parses must have a sane host, port and target,
   must read back the same from its own parts (scheme://host:port + target), and must make a
   request head with exactly the lines we write (no CR or LF smuggled in). Proxy URLs and
   no_proxy matching must not crash and must be symmetric in letter case.

   Build: make fuzz. With -DFUZZ_STANDALONE, main() runs each file named on the command line. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_url: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = (char *)malloc(size + 1), *list, *upper;
    telemetry__url u, v;
    telemetry__proxy px;
    size_t i;
    memcpy(text, data, size);
    text[size] = 0;
    list = strchr(text, '\n');
    if (list) *list++ = 0;

    if (telemetry__url_parse(text, &u) == 0) {
        char hp[300], again[4200];
        telemetry__buf b;
        telemetry__http_request req;
        const char *s;
        int lines = 0;
        REQUIRE(u.host && u.host[0] && strlen(u.host) <= 253);
        REQUIRE(u.port >= 1 && u.port <= 65535);
        REQUIRE(u.target && u.target[0] == '/' && telemetry__valid_target_chars(u.target));
        for (s = u.host; *s; s++) REQUIRE(!(*s >= 'A' && *s <= 'Z'));
        telemetry__url_hostport(&u, hp, sizeof hp);
        snprintf(again, sizeof again, "%s://%s%s%s:%u%s", u.secure ? "https" : "http", u.host_is_ipv6 ? "[" : "",
                 u.host, u.host_is_ipv6 ? "]" : "", u.port, u.target);
        REQUIRE(telemetry__url_parse(again, &v) == 0);
        REQUIRE(strcmp(u.host, v.host) == 0 && u.port == v.port && strcmp(u.target, v.target) == 0 && u.secure == v.secure);
        telemetry__url_free(&v);
        memset(&req, 0, sizeof req);
        req.method = "POST"; req.url = &u;
        telemetry__buf_init(&b);
        REQUIRE(telemetry__http_write_head(&b, &req, (int)(size & 1), NULL) == 0);
        for (i = 0; i < b.len; i++) {
            if (b.data[i] == '\n') { REQUIRE(i > 0 && b.data[i - 1] == '\r'); lines++; }
            if (b.data[i] == '\r') REQUIRE(i + 1 < b.len && b.data[i + 1] == '\n');
        }
        REQUIRE(lines == 5);                              /* request, Host, User-Agent, Length, end */
        telemetry__buf_free(&b);
        (void)telemetry__no_proxy_match(list, u.host, u.port);
        telemetry__url_free(&u);
    }
    if (telemetry__proxy_parse(text, &px) == 0) {
        REQUIRE(px.url.host && px.url.port >= 1 && px.url.port <= 65535);
        telemetry__proxy_free(&px);
    }
    if (list && *text) {                                  /* matching ignores letter case */
        int a = telemetry__no_proxy_match(list, text, 443);
        upper = (char *)malloc(strlen(list) + 1);
        for (i = 0; list[i]; i++) upper[i] = (char)(list[i] >= 'a' && list[i] <= 'z' ? list[i] - 32 : list[i]);
        upper[i] = 0;
        REQUIRE(telemetry__no_proxy_match(upper, text, 443) == a);
        free(upper);
    }
    free(text);
    return 0;
}

#include "standalone.h"
