/* tests/port/device.c - a bare-metal device program (tests/port/run.sh's cortex-m4 job): telemetry.h
   built with TELEMETRY_NO_SOCKETS, TELEMETRY_NO_FILES, TELEMETRY_NO_THREADS and
   TELEMETRY_NO_CRASH_HANDLER (no POSIX, only newlib), with TLS or with TELEMETRY_NO_TLS.

   What a device gives the library, each the way a small board would:
   - cfg.io: its byte stream. Here two files opened with newlib's open/read/write, "<io>.tx"
     written and "<io>.rx" read (a modem's or a UART's two directions). Under qemu with
     semihosting they are host FIFOs that a host-side bridge (tests/port/stream_bridge.py) joins to
     the local receiver; on the size build they end in the job's stub syscalls.
   - cfg.storage: its flash. Here a RAM image of key-value slots, loaded from and saved to the
     file "<flash>" (semihosting: a host file, so a "reboot" is the next run).
   - cfg.entropy_fn (a test stub: a real device uses its hardware RNG), cfg.clock_fn (time()),
     cfg.monotonic_fn (clock(): the board's tick).

     device [io-prefix] [flash-file] [usage-url] [dsn] [ca-pem-file]

   It prints one line per call and returns 0 when every call succeeded (-1 for "not configured"
   is no failure). Portable C99 and newlib only. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

TELEMETRY_METRIC(device_answer, "A fixed value the checker looks for") { return telemetry_int(42); }

/* ---- the stream --------------------------------------------------------------------------------- */
typedef struct device_stream { int tx, rx; } device_stream;
static device_stream stream = { -1, -1 };
static const char *io_prefix = "uart";

static int dev_connect(void *ud, const char *host, int port, unsigned timeout_ms, void **conn) {
    char path[128];
    (void)ud; (void)timeout_ms;
    printf("device: connect %s:%d\n", host, port);
    snprintf(path, sizeof path, "%s.tx", io_prefix);
    stream.tx = open(path, O_WRONLY);
    snprintf(path, sizeof path, "%s.rx", io_prefix);
    stream.rx = stream.tx >= 0 ? open(path, O_RDONLY) : -1;
    if (stream.tx < 0 || stream.rx < 0) {
        if (stream.tx >= 0) close(stream.tx);
        stream.tx = stream.rx = -1;
        return TELEMETRY_ERR_NETWORK;
    }
    *conn = &stream;
    return 0;
}
static long dev_read(void *ud, void *conn, void *buf, size_t len, unsigned timeout_ms) {
    device_stream *s = (device_stream *)conn;
    int n = read(s->rx, buf, len > 4096 ? 4096 : len);   /* what has arrived, at least a byte */
    (void)ud; (void)timeout_ms;
    return n >= 0 ? (long)n : TELEMETRY_ERR_NETWORK;
}
static long dev_write(void *ud, void *conn, const void *buf, size_t len, unsigned timeout_ms) {
    device_stream *s = (device_stream *)conn;
    int n = write(s->tx, buf, len);
    (void)ud; (void)timeout_ms;
    return n > 0 ? (long)n : TELEMETRY_ERR_NETWORK;
}
static void dev_close(void *ud, void *conn) {
    device_stream *s = (device_stream *)conn;
    (void)ud;
    if (s->tx >= 0) close(s->tx);
    if (s->rx >= 0) close(s->rx);
    s->tx = s->rx = -1;
}

/* ---- the flash: key-value slots in RAM, mirrored to one file --------------------------------- */
#define SLOTS 16
#define SLOT_BYTES 8192
typedef struct slot { char key[24]; unsigned len; unsigned char data[SLOT_BYTES]; } slot;
static slot flash[SLOTS];
static const char *flash_file;
static long flash_saves;

static void flash_sync(void) {
    FILE *f;
    if (!flash_file || !(f = fopen(flash_file, "wb"))) return;
    fwrite(flash, 1, sizeof flash, f);
    fclose(f);
}
static slot *flash_find(const char *key) {
    int i;
    for (i = 0; i < SLOTS; i++) if (flash[i].key[0] && strcmp(flash[i].key, key) == 0) return &flash[i];
    return NULL;
}
static long st_load(void *ud, const char *key, void *buf, size_t cap) {
    slot *s = flash_find(key);
    (void)ud;
    if (!s) return -1;
    memcpy(buf, s->data, cap < s->len ? cap : s->len);
    return (long)s->len;
}
static int st_save(void *ud, const char *key, const void *data, size_t len) {
    slot *s = flash_find(key);
    int i;
    (void)ud;
    for (i = 0; !s && i < SLOTS; i++) if (!flash[i].key[0]) s = &flash[i];
    if (!s || len > SLOT_BYTES || strlen(key) >= sizeof s->key) return -1;
    strcpy(s->key, key);
    memcpy(s->data, data, len);
    s->len = (unsigned)len;
    flash_saves++;
    flash_sync();
    return 0;
}
static int st_remove(void *ud, const char *key) {
    slot *s = flash_find(key);
    (void)ud;
    if (s) { memset(s, 0, sizeof *s); flash_sync(); }
    return 0;
}

/* ---- entropy and clocks ---------------------------------------------------------------------- */
static uint32_t rng_state;
static int dev_entropy(void *ud, void *buf, size_t len) {
    unsigned char *p = (unsigned char *)buf;
    (void)ud;
    if (!rng_state) rng_state = (uint32_t)time(NULL) ^ (uint32_t)clock() ^ 0x9E3779B9u;
    while (len--) {
        rng_state ^= rng_state << 13; rng_state ^= rng_state >> 17; rng_state ^= rng_state << 5;
        *p++ = (unsigned char)(rng_state >> 24);
    }
    return 0;
}
static int64_t dev_clock(void *ud) { (void)ud; return (int64_t)time(NULL) * 1000; }
static int64_t dev_tick(void *ud) { (void)ud; return (int64_t)clock() * 1000 / CLOCKS_PER_SEC; }

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    if (!f) return NULL;
    text = (char *)malloc(16384);
    n = text ? fread(text, 1, 16383, f) : 0;
    fclose(f);
    if (text) text[n] = 0;
    return text;
}

static int failures;
/* the library's log lines (warnings: a failed request and why) go to the job's log */
static void dev_log(telemetry_level level, const char *message, void *ud) {
    (void)ud;
    printf("device: telemetry %s: %s\n", level >= TELEMETRY_LEVEL_WARNING ? "warning" : "note", message);
}
static void check(const char *what, int rc) {
    printf("device: %s: %s\n", what, telemetry_result_string(rc));
    if (rc < 0 && rc != TELEMETRY_ERR_NOT_CONFIGURED) failures++;
}

int main(int argc, char **argv) {
    static telemetry_io io;
    static telemetry_storage storage;
    telemetry_config cfg;
    char *ca = NULL;
    FILE *f;
    if (argc > 1) io_prefix = argv[1];
    if (argc > 2) flash_file = argv[2];
    if (flash_file && (f = fopen(flash_file, "rb")) != NULL) {     /* boot: read the flash */
        if (fread(flash, 1, sizeof flash, f) != sizeof flash) memset(flash, 0, sizeof flash);
        fclose(f);
    }
    io.connect = dev_connect; io.read = dev_read; io.write = dev_write; io.close = dev_close;
    storage.load = st_load; storage.save = st_save; storage.remove = st_remove;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "device";
    cfg.app_version = "1.0.0";
    cfg.no_notice = 1;                           /* no terminal: the device's maker tells its users */
    cfg.io = &io;
    cfg.storage = &storage;
    cfg.entropy_fn = dev_entropy;
    cfg.clock_fn = dev_clock;
    cfg.monotonic_fn = dev_tick;
    cfg.timeout_ms = 60000;                      /* emulated TLS is slow */
    cfg.log_fn = dev_log;
    cfg.usage_url = argc > 3 && argv[3][0] ? argv[3] : "http://telemetry.example/usage.json";
    cfg.sentry_dsn = argc > 4 && argv[4][0] ? argv[4] : NULL;
    if (argc > 5 && (ca = read_all(argv[5])) != NULL) cfg.ca_pem = ca;
    check("init", telemetry_init(&cfg));
    check("count", telemetry_count("device_boots", 1));
    check("report", telemetry_report_usage());
    check("error", telemetry_capture_error("SensorError", "sensor %d stuck at %d", 2, 1023));
    check("flush", telemetry_flush(120000));
    telemetry_shutdown();
    /* the heap newlib took from _sbrk: the library's peak, TLS buffers included (it frees them) */
    printf("device: %ld flash saves, heap arena %d bytes, %d failures\n", flash_saves, (int)mallinfo().arena, failures);
    free(ca);
    return failures ? 1 : 0;
}
