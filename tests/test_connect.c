/* test_connect.c - the socket transport's connect step against 127.0.0.1 with one deadline: a
   refused port fails at once as a network error naming the refusal, never by waiting out the
   deadline; a listening port connects. Runs on Linux and
   in the Windows jobs (WSAPoll does not report a refused connect before Windows 10 2004, so the
   Windows build waits in select(); wine reports it either way, so there this checks the path). */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"

/* A port on 127.0.0.1 nobody listens on: bound, its number read, closed. */
static unsigned closed_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    telemetry__socket s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0) return 9;
    telemetry__sock_close(s);
    return ntohs(a.sin_port);
}

static void test_refused(void) {
    telemetry__net n;
    int64_t t0 = telemetry__monotonic_ms(), took;
    unsigned port = closed_port();
    int rc = telemetry__net_connect(&n, NULL, "127.0.0.1", port, t0 + 10000);
    took = telemetry__monotonic_ms() - t0;
    CHECK_INT(rc, TELEMETRY_ERR_NETWORK);
    CHECK(took < 3000);                                  /* at once, not at the 10 s deadline */
    CHECK(strstr(n.err, "failed") != NULL && strstr(n.err, "timed out") == NULL);
    if (took >= 3000 || rc != TELEMETRY_ERR_NETWORK) fprintf(stderr, "  refused connect: rc %d after %lld ms: %s\n", rc, (long long)took, n.err);
    telemetry__net_close(&n);
}

static void test_listening(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    telemetry__net n;
    telemetry__socket s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4) == 0 && getsockname(s, (struct sockaddr *)&a, &len) == 0);
    CHECK_INT(telemetry__net_connect(&n, NULL, "127.0.0.1", ntohs(a.sin_port), telemetry__monotonic_ms() + 10000), 0);
    telemetry__net_close(&n);
    telemetry__sock_close(s);
}

int main(void) {
#if defined(_WIN32)
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
#endif
    test_refused();
    test_listening();
    return testlib_report("test_connect");
}
