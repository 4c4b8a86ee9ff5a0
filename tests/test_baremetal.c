/* test_baremetal.c - the device build on Linux: telemetry.h with TELEMETRY_NO_SOCKETS and
   TELEMETRY_NO_THREADS (as tests/port/run.sh's cortex-m4 job builds it for a Cortex-M), where the
   program's own byte stream (cfg.io) is the only way out and cfg.monotonic_fn is the only clock
   for deadlines. The stream here is the test's own TCP connection to the local receiver
   (examples/telemetry_sink.c): what the receiver records is what left through cfg.io.
   Checks: an endpoint without cfg.io is refused at init; a usage report and an error event go out
   through the stream over plain HTTP and over TLS to an IP-literal host (v4 and v6: the library's
   own IP parser, checked against the certificate's IP names); the deadline is the tick hook's (a
   tick that jumps past it inside connect fails the request, the real clock would not).
   Run from the repository root. */
#define TELEMETRY_NO_SOCKETS
#define TELEMETRY_NO_THREADS
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include "sink_helpers.h"

#define KEY "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"

/* ---- the program's own byte stream: a TCP connection the test makes to the receiver -------- */
typedef struct stream {
    int port;                  /* where the "device's modem" really connects: the receiver */
    int connects, bytes_out, bytes_in;
    char last_host[64];
    int last_port;
} stream;
/* The device's tick counter: 1 ms per call, plus what the test adds. */
static int64_t tick_now = 1000, tick_calls, tick_jump_in_connect;

static int64_t tick(void *ud) {
    (void)ud;
    tick_calls++;
    return tick_now++;
}
static int io_connect(void *ud, const char *host, int port, unsigned timeout_ms, void **conn) {
    stream *st = (stream *)ud;
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    (void)timeout_ms;
    st->connects++;
    snprintf(st->last_host, sizeof st->last_host, "%s", host);
    st->last_port = port;
    tick_now += tick_jump_in_connect;       /* "the modem took that long" */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)st->port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { if (fd >= 0) close(fd); return TELEMETRY_ERR_NETWORK; }
    *conn = (void *)(intptr_t)(fd + 1);
    return 0;
}
static long io_read(void *ud, void *conn, void *buf, size_t len, unsigned timeout_ms) {
    stream *st = (stream *)ud;
    struct pollfd p;
    long n;
    p.fd = (int)(intptr_t)conn - 1; p.events = POLLIN; p.revents = 0;
    if (poll(&p, 1, (int)(timeout_ms > 10000 ? 10000 : timeout_ms)) <= 0) return TELEMETRY_ERR_TIMEOUT;
    n = (long)recv(p.fd, buf, len, 0);
    if (n > 0) st->bytes_in += (int)n;
    return n < 0 ? TELEMETRY_ERR_NETWORK : n;
}
static long io_write(void *ud, void *conn, const void *buf, size_t len, unsigned timeout_ms) {
    stream *st = (stream *)ud;
    long n = (long)send((int)(intptr_t)conn - 1, buf, len, MSG_NOSIGNAL);
    (void)timeout_ms;
    if (n > 0) st->bytes_out += (int)n;
    return n < 0 ? TELEMETRY_ERR_NETWORK : n;
}
static void io_close(void *ud, void *conn) { (void)ud; close((int)(intptr_t)conn - 1); }

static telemetry_config device_config(const char *dir, telemetry_io *io) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "device";
    cfg.app_version = "2.0";
    cfg.no_notice = 1;
    cfg.no_sessions = 1;
    cfg.state_dir = dir;
    cfg.io = io;
    cfg.monotonic_fn = tick;
    cfg.log_fn = sh_log_fn;
    cfg.timeout_ms = 5000;
    return cfg;
}

/* TELEMETRY_NO_SOCKETS: an endpoint with no stream to reach it is an invalid configuration. */
static void test_no_stream_refused(void) {
    telemetry_config cfg = device_config(make_temp_dir(), NULL);
    cfg.usage_url = "http://127.0.0.1:9/usage.json";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    CHECK(strstr(telemetry_status_reason(), "TELEMETRY_NO_SOCKETS") != NULL);
    CHECK_INT(telemetry_enabled(), 0);
    telemetry_shutdown();
    cfg.usage_url = NULL;                    /* no endpoint: nothing to reach, a valid config */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    telemetry_shutdown();
}

/* A report and an error event leave through the program's stream (host as given by the URL). */
static void test_through_stream(sink *s, int tls, const char *host) {
    char url[128], dsn[160];
    stream st;
    telemetry_io io;
    telemetry_config cfg;
    long writes0 = sink_stat(s, "firebase_writes"), events0 = sink_stat(s, "events");
    memset(&st, 0, sizeof st);
    st.port = tls ? s->https : s->http;
    io.connect = io_connect; io.read = io_read; io.write = io_write; io.close = io_close; io.user_data = &st;
    cfg = device_config(make_temp_dir(), &io);
    cfg.platform_user_data = &st;
    /* the port in the URL is never dialled: the stream decides where bytes go */
    snprintf(url, sizeof url, "%s://%s:4711/usage.json", tls ? "https" : "http", host);
    snprintf(dsn, sizeof dsn, "%s://" KEY "@%s:4711/42", tls ? "https" : "http", host);
    cfg.usage_url = url;
    cfg.sentry_dsn = dsn;
    if (tls) cfg.ca_file = "tests/certs/ca.pem";
    tick_calls = 0;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), TELEMETRY_OK);
    CHECK_INT(telemetry_capture_error("DeviceError", "sensor %d stuck", 3), TELEMETRY_OK);
    CHECK_INT(telemetry_flush(10000), TELEMETRY_OK);
    telemetry_shutdown();
    CHECK(st.connects >= 1);
    CHECK_INT(st.last_port, 4711);
    CHECK_STR(st.last_host, host[0] == '[' ? "::1" : host);
    CHECK(st.bytes_out > 200 && st.bytes_in > 20);
    CHECK(tick_calls > 0);                   /* deadlines were measured with the device's tick */
    CHECK(sink_wait_stat(s, "firebase_writes", writes0 + 1, 5000));
    CHECK(sink_wait_stat(s, "events", events0 + 1, 5000));
    if (testlib_failed) fprintf(stderr, "  (tls=%d host=%s) log:\n%s", tls, host, sh_log_text);
}

/* The deadline runs on cfg.monotonic_fn: when the tick jumps past it while connecting, the request
   fails as timed out and nothing reaches the receiver (on the real clock it took a millisecond). */
static void test_deadline_on_tick(sink *s) {
    stream st;
    telemetry_io io;
    telemetry_config cfg;
    char url[128];
    double t0;
    long writes0 = sink_stat(s, "firebase_writes");
    memset(&st, 0, sizeof st);
    st.port = s->http;
    io.connect = io_connect; io.read = io_read; io.write = io_write; io.close = io_close; io.user_data = &st;
    cfg = device_config(make_temp_dir(), &io);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/usage.json", s->http);
    cfg.usage_url = url;
    cfg.timeout_ms = 3000;
    cfg.platform_user_data = &st;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), TELEMETRY_OK);
    tick_jump_in_connect = 3001;
    t0 = sh_now_ms();
    CHECK(telemetry_flush(2000) != TELEMETRY_OK);
    tick_jump_in_connect = 0;
    CHECK(sh_now_ms() - t0 < 1500);          /* it did not wait for a real deadline */
    CHECK(st.connects >= 1 && st.bytes_out == 0);
    CHECK(strstr(sh_log_text, "deadline") != NULL || strstr(sh_log_text, "timed out") != NULL);
    CHECK_INT(sink_stat(s, "firebase_writes"), writes0);
    telemetry_shutdown();                    /* on a tick that keeps time, the report goes out */
    CHECK(sink_wait_stat(s, "firebase_writes", writes0 + 1, 5000));
}

int main(int argc, char **argv) {
    sink s;
    static const char *const extra[] = { "--sentry-key", KEY, "--cert", "tests/certs/server.pem", "--key", "tests/certs/server.key", NULL };
    (void)argc;
    sh_find_sink(argv[0]);
    test_no_stream_refused();
    if (sink_start(&s, extra) != 0) { CHECK(0); return testlib_report("test_baremetal"); }
    test_through_stream(&s, 0, "device.invalid");
    test_through_stream(&s, 1, "127.0.0.1");
    test_through_stream(&s, 1, "[::1]");
    test_deadline_on_tick(&s);
    sink_stop(&s);
    return testlib_report("test_baremetal");
}
