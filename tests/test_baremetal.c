/* test_baremetal.c - the device build on Linux: telemetry.h with TELEMETRY_NO_SOCKETS,
   TELEMETRY_NO_FILES, TELEMETRY_NO_THREADS and TELEMETRY_NO_CRASH_HANDLER (as tests/port/run.sh's
   cortex-m4 job builds it for a Cortex-M), where the program's own byte stream (cfg.io) is the only
   way out, cfg.storage (here a RAM key-value store standing for the device's flash) the only
   persistence and cfg.monotonic_fn the only clock for deadlines. The stream is the test's own TCP
   connection to the local receiver (examples/telemetry_sink.c): what the receiver records is what
   left through cfg.io.
   Checks: an endpoint without cfg.io, or a file path (state_dir, ca_file), is refused at init; a
   usage report and an error event go out through the stream over plain HTTP and over TLS (ca_pem)
   to an IP-literal host (v4 and v6: the library's own IP parser, checked against the certificate's
   IP names); the deadline is the tick hook's (a tick that jumps past it inside connect fails the
   request, the real clock would not); across a simulated reboot (shutdown, init again with the
   same storage) the install id and a revoked consent stay, and without a storage they do not.
   Run from the repository root. */
#define TELEMETRY_NO_SOCKETS
#define TELEMETRY_NO_FILES
#define TELEMETRY_NO_THREADS
#define TELEMETRY_NO_CRASH_HANDLER
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
    return n < 0 ? (long)TELEMETRY_ERR_NETWORK : n;
}
static long io_write(void *ud, void *conn, const void *buf, size_t len, unsigned timeout_ms) {
    stream *st = (stream *)ud;
    long n = (long)send((int)(intptr_t)conn - 1, buf, len, MSG_NOSIGNAL);
    (void)timeout_ms;
    if (n > 0) st->bytes_out += (int)n;
    return n < 0 ? (long)TELEMETRY_ERR_NETWORK : n;
}
static void io_close(void *ud, void *conn) { (void)ud; close((int)(intptr_t)conn - 1); }

/* ---- the device's flash: a RAM key-value store that outlives a "reboot" --------------------- */
#define SLOTS 32
typedef struct flash { char key[32][SLOTS]; unsigned char *val[SLOTS]; size_t len[SLOTS]; long saves, loads, removes; } flash;
static int flash_find(flash *f, const char *key) {
    int i;
    for (i = 0; i < SLOTS; i++) if (f->val[i] && strcmp(f->key[i], key) == 0) return i;
    return -1;
}
static long st_load(void *ud, const char *key, void *buf, size_t cap) {
    flash *f = (flash *)ud;
    int i = flash_find(f, key);
    f->loads++;
    if (i < 0) return -1;
    if (cap) memcpy(buf, f->val[i], cap < f->len[i] ? cap : f->len[i]);
    return (long)f->len[i];
}
static int st_save(void *ud, const char *key, const void *data, size_t len) {
    flash *f = (flash *)ud;
    int i = flash_find(f, key);
    unsigned char *copy = (unsigned char *)malloc(len ? len : 1);
    if (!copy || strlen(key) >= sizeof f->key[0]) { free(copy); return -1; }
    memcpy(copy, data, len);
    if (i < 0) for (i = 0; i < SLOTS && f->val[i]; i++) {}
    if (i == SLOTS) { free(copy); return -1; }
    free(f->val[i]);
    strcpy(f->key[i], key);
    f->val[i] = copy;
    f->len[i] = len;
    f->saves++;
    return 0;
}
static int st_remove(void *ud, const char *key) {
    flash *f = (flash *)ud;
    int i = flash_find(f, key);
    f->removes++;
    if (i >= 0) { free(f->val[i]); f->val[i] = NULL; }
    return 0;
}
static void flash_free(flash *f) { int i; for (i = 0; i < SLOTS; i++) free(f->val[i]); memset(f, 0, sizeof *f); }
/* The stored value of key as a string ("" when absent). */
static const char *flash_text(flash *f, const char *key) {
    static char text[256];
    int i = flash_find(f, key);
    size_t n = i < 0 ? 0 : f->len[i] < sizeof text - 1 ? f->len[i] : sizeof text - 1;
    if (n) memcpy(text, f->val[i], n);
    text[n] = 0;
    return text;
}

static char *ca_pem;                         /* tests/certs/ca.pem: the firmware's trust anchors */

/* The device's hardware random source (here the host's). */
static int dev_entropy(void *ud, void *buf, size_t len) {
    FILE *f = fopen("/dev/urandom", "rb");
    size_t n = f ? fread(buf, 1, len, f) : 0;
    (void)ud;
    if (f) fclose(f);
    return n == len ? 0 : -1;
}

static telemetry_config device_config(telemetry_storage *storage, telemetry_io *io) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "device";
    cfg.app_version = "2.0";
    cfg.no_notice = 1;
    cfg.no_sessions = 1;
    cfg.storage = storage;
    cfg.io = io;
    cfg.entropy_fn = dev_entropy;
    cfg.monotonic_fn = tick;
    cfg.log_fn = sh_log_fn;
    cfg.timeout_ms = 5000;
    return cfg;
}

/* TELEMETRY_NO_SOCKETS: an endpoint with no stream to reach it is an invalid configuration. */
static void test_no_stream_refused(void) {
    telemetry_config cfg = device_config(NULL, NULL);
    cfg.usage_url = "http://127.0.0.1:9/usage.json";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    CHECK(strstr(telemetry_status_reason(), "TELEMETRY_NO_SOCKETS") != NULL);
    CHECK_INT(telemetry_enabled(), 0);
    telemetry_shutdown();
    cfg.usage_url = NULL;                    /* no endpoint: nothing to reach, a valid config */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    telemetry_shutdown();
    cfg.state_dir = "/tmp";                  /* TELEMETRY_NO_FILES: no path means anything */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    CHECK(strstr(telemetry_status_reason(), "TELEMETRY_NO_FILES") != NULL);
    telemetry_shutdown();
    cfg.state_dir = NULL;
    cfg.ca_file = "tests/certs/ca.pem";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    telemetry_shutdown();
    cfg.ca_file = NULL;                      /* no OS: the device's random source is required */
    cfg.entropy_fn = NULL;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    CHECK(strstr(telemetry_status_reason(), "entropy_fn") != NULL);
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
    cfg = device_config(NULL, &io);
    cfg.platform_user_data = &st;
    /* the port in the URL is never dialled: the stream decides where bytes go */
    snprintf(url, sizeof url, "%s://%s:4711/usage.json", tls ? "https" : "http", host);
    snprintf(dsn, sizeof dsn, "%s://" KEY "@%s:4711/42", tls ? "https" : "http", host);
    cfg.usage_url = url;
    cfg.sentry_dsn = dsn;
    if (tls) cfg.ca_pem = ca_pem;
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
    cfg = device_config(NULL, &io);
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

/* The install id the usage report carries ("" when none). */
static void report_install_id(char out[33]) {
    char *json = NULL;
    const char *p;
    out[0] = 0;
    if (telemetry_build_usage_report(&json, NULL) != 0 || !json) return;
    if ((p = strstr(json, "\"install_id\":\"")) != NULL && strlen(p) > 14 + 32) { memcpy(out, p + 14, 32); out[32] = 0; }
    telemetry_free(json);
}

/* A reboot is a shutdown and an init with the same flash: the install id and the user's decision
   are still there; without a storage every boot is a new install. */
static void test_state_across_reboot(void) {
    flash f;
    telemetry_storage storage;
    telemetry_config cfg;
    char id1[33], id2[33], id3[33];
    memset(&f, 0, sizeof f);
    storage.load = st_load; storage.save = st_save; storage.remove = st_remove; storage.user_data = &f;
    cfg = device_config(&storage, NULL);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("boots", 1), TELEMETRY_OK);       /* the first work makes the id */
    report_install_id(id1);
    CHECK_INT((int)strlen(id1), 32);
    CHECK_STR(flash_text(&f, "install_id"), id1);                /* it lives in the flash */
    telemetry_shutdown();

    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);               /* reboot */
    report_install_id(id2);
    CHECK_STR(id2, id1);
    CHECK_INT(telemetry_set_consent(0), TELEMETRY_OK);
    CHECK_STR(flash_text(&f, "consent"), "revoked\n");
    CHECK_INT(flash_find(&f, "install_id"), -1);                 /* revoking deletes the id */
    telemetry_shutdown();

    CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);         /* reboot: still revoked */
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_REVOKED);
    CHECK(strstr(telemetry_status_reason(), "revoked") != NULL);
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_OK);
    telemetry_shutdown();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_GIVEN);
    CHECK_INT(telemetry_count("boots", 1), TELEMETRY_OK);
    report_install_id(id3);
    CHECK((int)strlen(id3) == 32 && strcmp(id3, id1) != 0);      /* a new id after the revocation */
    telemetry_shutdown();
    CHECK(f.saves >= 3 && f.loads > 0);

    cfg.storage = NULL;                                          /* memory only */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("boots", 1), TELEMETRY_OK);
    report_install_id(id1);
    telemetry_shutdown();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("boots", 1), TELEMETRY_OK);
    report_install_id(id2);
    telemetry_shutdown();
    CHECK((int)strlen(id1) == 32 && (int)strlen(id2) == 32 && strcmp(id1, id2) != 0);
    flash_free(&f);
}

/* The outbox lives in the flash too: what a boot could not send (no stream) the next boot sends,
   once; and the flash never holds more than cfg.outbox_disk_bytes of it. (Only with the durable
   store's storage backend, TELEMETRY__RAM_FD; before it the outbox of this build is memory only.) */
#if defined(TELEMETRY__RAM_FD)
static void test_outbox_across_reboot(sink *s) {
    flash f;
    telemetry_storage storage;
    stream st;
    telemetry_io io;
    telemetry_config cfg;
    char url[128], dsn[160], *rec;
    long writes0 = sink_stat(s, "firebase_writes"), events0 = sink_stat(s, "events");
    int i, lines0;
    memset(&f, 0, sizeof f);
    memset(&st, 0, sizeof st);
    storage.load = st_load; storage.save = st_save; storage.remove = st_remove; storage.user_data = &f;
    io.connect = io_connect; io.read = io_read; io.write = io_write; io.close = io_close; io.user_data = &st;
    cfg = device_config(&storage, &io);
    cfg.platform_user_data = &st;
    snprintf(url, sizeof url, "http://device.invalid/usage.json");
    snprintf(dsn, sizeof dsn, "http://" KEY "@device.invalid/42");
    cfg.usage_url = url;
    cfg.sentry_dsn = dsn;
    rec = sh_read_file(s->record);
    lines0 = sh_count_lines(rec);
    free(rec);

    st.port = sh_free_port();                     /* boot 1: the modem has no network */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), TELEMETRY_OK);
    CHECK_INT(telemetry_capture_error("RebootError", "captured before the reboot"), TELEMETRY_OK);
    CHECK(telemetry_flush(300) != TELEMETRY_OK);
    telemetry_shutdown();
    CHECK(st.connects >= 1);
    CHECK(flash_find(&f, "outbox") >= 0 && f.len[flash_find(&f, "outbox")] > 200);
    CHECK_INT(sink_stat(s, "firebase_writes"), writes0);

    st.port = s->http;                            /* boot 2: the network is back */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_flush(10000), TELEMETRY_OK);
    telemetry_shutdown();
    CHECK(sink_wait_stat(s, "firebase_writes", writes0 + 1, 5000));
    CHECK(sink_wait_stat(s, "events", events0 + 1, 5000));
    rec = sh_read_file(s->record);
    CHECK(strstr(rec, "captured before the reboot") != NULL);
    CHECK_INT(sh_count_lines(rec) - lines0, 2);
    free(rec);

    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);   /* boot 3: nothing is sent twice */
    CHECK_INT(telemetry_flush(3000), TELEMETRY_OK);
    telemetry_shutdown();
    sh_sleep_ms(50);
    CHECK_INT(sink_stat(s, "firebase_writes"), writes0 + 1);
    CHECK_INT(sink_stat(s, "events"), events0 + 1);

    st.port = sh_free_port();                     /* offline for long: the flash stays bounded */
    cfg.outbox_disk_bytes = 8192;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    for (i = 0; i < 40; i++) {
        int rc = telemetry_capture_error("FloodError", "error %d while offline, padded %0200d", i, i);
        CHECK(rc == TELEMETRY_OK || rc == TELEMETRY_ERR_NO_SPACE);   /* past the cap: dropped, counted */
    }
    telemetry_shutdown();
    i = flash_find(&f, "outbox");
    CHECK(i >= 0 && f.len[i] > 1000 && f.len[i] <= 8192);
    flash_free(&f);
}
#endif

int main(int argc, char **argv) {
    sink s;
    static const char *const extra[] = { "--sentry-key", KEY, "--cert", "tests/certs/server.pem", "--key", "tests/certs/server.key", NULL };
    (void)argc;
    sh_find_sink(argv[0]);
    ca_pem = sh_read_file("tests/certs/ca.pem");
    test_no_stream_refused();
    test_state_across_reboot();
    if (sink_start(&s, extra) != 0) { CHECK(0); return testlib_report("test_baremetal"); }
    test_through_stream(&s, 0, "device.invalid");
    test_through_stream(&s, 1, "127.0.0.1");
    test_through_stream(&s, 1, "[::1]");
    test_deadline_on_tick(&s);
#if defined(TELEMETRY__RAM_FD)
    test_outbox_across_reboot(&s);
#else
    printf("test_baremetal: the outbox across a reboot: not in this build (memory only until the store has a storage backend)\n");
#endif
    sink_stop(&s);
    free(ca_pem);
    return testlib_report("test_baremetal");
}
