/* fuzz_dsn.c - libFuzzer target for Sentry DSN parsing (protocols.md 1.2 and 1.3).

   A DSN that parses must give a non-empty public key, a numeric project id, an envelope target
   "<prefix>/api/<project>/envelope/", an X-Sentry-Auth value that one header line can carry, and
   an envelope URL that telemetry__url_parse reads back the same.

   Build: make fuzz. With -DFUZZ_STANDALONE, main() runs each file named on the command line. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_dsn: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = (char *)malloc(size + 1);
    telemetry__dsn d;
    memcpy(text, data, size);
    text[size] = 0;
    if (telemetry__dsn_parse(text, &d) == 0) {
        char url[4400], tail[64];
        const char *s;
        size_t tl;
        telemetry__url u;
        REQUIRE(d.public_key && d.public_key[0]);
        REQUIRE(d.project_id && d.project_id[0] && strlen(d.project_id) <= 20);
        for (s = d.project_id; *s; s++) REQUIRE(*s >= '0' && *s <= '9');
        snprintf(tail, sizeof tail, "/api/%s/envelope/", d.project_id);
        tl = strlen(tail);
        REQUIRE(strlen(d.envelope.target) >= tl && strcmp(d.envelope.target + strlen(d.envelope.target) - tl, tail) == 0);
        REQUIRE(d.envelope.target[0] == '/' && telemetry__valid_target_chars(d.envelope.target));
        REQUIRE(!strpbrk(d.auth_header, "\r\n") && strstr(d.auth_header, d.public_key));
        REQUIRE(d.envelope.port >= 1 && d.envelope.port <= 65535);
        snprintf(url, sizeof url, "%s://%s%s%s:%u%s", d.envelope.secure ? "https" : "http", d.envelope.host_is_ipv6 ? "[" : "",
                 d.envelope.host, d.envelope.host_is_ipv6 ? "]" : "", d.envelope.port, d.envelope.target);
        REQUIRE(telemetry__url_parse(url, &u) == 0);
        REQUIRE(strcmp(u.host, d.envelope.host) == 0 && u.port == d.envelope.port && strcmp(u.target, d.envelope.target) == 0);
        telemetry__url_free(&u);
        telemetry__dsn_free(&d);
    }
    free(text);
    return 0;
}

#include "standalone.h"
