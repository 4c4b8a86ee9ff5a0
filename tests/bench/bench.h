/* bench.h - what the benchmarks in tests/bench/ share: clocks, statistics, the machine-readable
   "BENCH name=value unit" lines, and the local receiver (examples/telemetry_sink.c): where it
   listens, its control routes over plain HTTP, and its record file.

   The sink is normally started by tests/bench/run.sh, which exports
       BENCH_SINK_HTTPS, BENCH_SINK_HTTP   ports of the EC-certificate sink
       BENCH_SINK_RECORD                   its --record file (may be unset)
       BENCH_SINK_RSA_HTTPS                port of a second sink with the RSA certificate (optional)
       BENCH_SENTRY_KEY                    the --sentry-key both were given
   When BENCH_SINK_HTTPS is unset, a benchmark started by hand (from the repository root) starts
   build/telemetry_sink itself and stops it at exit.

   Every network wait here has a deadline and every loop a bound. */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <sys/file.h>

#define BENCH_UNUSED __attribute__((unused))
#define BENCH_DEFAULT_KEY "0123456789abcdef0123456789abcdef"

/* ---- clocks --------------------------------------------------------------------------------- */
BENCH_UNUSED static int64_t bench_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
BENCH_UNUSED static int64_t bench_cpu_ns(void) {              /* this process, all threads */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* A child run's results file: one "key value" line each (put), read by the parent. */
BENCH_UNUSED static FILE *res;
BENCH_UNUSED static void put(const char *key, double v) { fprintf(res, "%s %.6f\n", key, v); fflush(res); }
BENCH_UNUSED static double thread_cpu_ms(void) {            /* the calling thread's CPU time */
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
/* A figure from a child run's results file (put's lines); the last one of that key, -1 when absent. */
BENCH_UNUSED static double bench_result(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    char k[64];
    double v, out = -1;
    if (!f) return -1;
    while (fscanf(f, "%63s %lf", k, &v) == 2) if (!strcmp(k, key)) out = v;
    fclose(f);
    return out;
}
BENCH_UNUSED static void bench_sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000; ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}
BENCH_UNUSED static long bench_maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}
/* Current resident set (kB) from /proc/self/statm; -1 when unavailable. */
BENCH_UNUSED static long bench_rss_kb(void) {
    long size = 0, res = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- statistics ------------------------------------------------------------------------------ */
typedef struct bench_stats { double mean, median, p90, p99, min, max; size_t n; } bench_stats;

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
/* Percentile q (0..1) of sorted v[n], nearest-rank. */
static double bench_pct_sorted(const double *v, size_t n, double q) {
    size_t k;
    if (n == 0) return 0;
    k = (size_t)(q * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}
/* Sorts a copy of v[n] and summarises it. */
BENCH_UNUSED static bench_stats bench_summary(const double *v, size_t n) {
    bench_stats s;
    double *c = (double *)malloc((n ? n : 1) * sizeof *c), sum = 0;
    size_t i;
    memset(&s, 0, sizeof s);
    if (!c) return s;
    for (i = 0; i < n; i++) { c[i] = v[i]; sum += v[i]; }
    qsort(c, n, sizeof *c, bench_cmp_double);
    s.n = n;
    if (n) {
        s.mean = sum / (double)n;
        s.median = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
        s.p90 = bench_pct_sorted(c, n, 0.90);
        s.p99 = bench_pct_sorted(c, n, 0.99);
        s.min = c[0];
        s.max = c[n - 1];
    }
    free(c);
    return s;
}
BENCH_UNUSED static double bench_median(const double *v, size_t n) { return bench_summary(v, n).median; }

/* The machine-readable line: "BENCH name=value unit". */
BENCH_UNUSED static void bench_emit(const char *name, double value, const char *unit) {
    if (value == (double)(long long)value && value < 1e15 && value > -1e15) printf("BENCH %s=%lld %s\n", name, (long long)value, unit);
    else printf("BENCH %s=%.4g %s\n", name, value, unit);
    fflush(stdout);
}
BENCH_UNUSED static void bench_emitf(double value, const char *unit, const char *fmt, ...) {
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    bench_emit(name, value, unit);
}
BENCH_UNUSED static long bench_env_long(const char *name, long def) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

/* An absolute path for rel (relative to the current folder): the sidecar sender works from "/",
   so a relative ca_file would not be found there. */
BENCH_UNUSED static void bench_abs_path(const char *rel, char *out, size_t cap) {
    char cwd[2048];
    if (rel[0] == '/' || !getcwd(cwd, sizeof cwd)) snprintf(out, cap, "%s", rel);
    else snprintf(out, cap, "%s/%s", cwd, rel);
}

/* ---- temp folders ---------------------------------------------------------------------------- */
BENCH_UNUSED static void bench_rm_tree(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    char child[4096];
    if (!d) { remove(path); return; }
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        bench_rm_tree(child);
    }
    closedir(d);
    rmdir(path);
}
/* A new folder under $TMPDIR (or /tmp), written into out. */
BENCH_UNUSED static void bench_temp_dir(char *out, size_t cap, const char *tag) {
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/telemetry-bench-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(out)) { perror("mkdtemp"); exit(2); }
}
/* Files and bytes directly in dir whose names end in suffix (NULL: all). */
BENCH_UNUSED static long bench_dir_usage(const char *dir, const char *suffix, long long *bytes) {
    DIR *d = opendir(dir);
    struct dirent *e;
    long n = 0;
    if (bytes) *bytes = 0;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        char p[4096];
        struct stat st;
        size_t len = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;
        if (e->d_name[0] == '.') continue;
        if (suffix && (len < sl || strcmp(e->d_name + len - sl, suffix) != 0)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        n++;
        if (bytes) *bytes += st.st_size;
    }
    closedir(d);
    return n;
}

/* ---- the sink ------------------------------------------------------------------------------- */
typedef struct bench_sink {
    int https, http, rsa_https;
    char key[64];
    char record[512];            /* "" when there is no record file */
    pid_t pid;                   /* > 0 when we started it */
    char dir[256];
} bench_sink;

static bench_sink bench_own_sink;
static void bench_stop_own_sink(void) {
    int st;
    if (bench_own_sink.pid > 0) {
        kill(bench_own_sink.pid, SIGTERM);
        waitpid(bench_own_sink.pid, &st, 0);
        bench_own_sink.pid = 0;
        bench_rm_tree(bench_own_sink.dir);
    }
}

/* Where the sink is: from run.sh's environment, else a sink started here. Exits on failure. */
BENCH_UNUSED static void bench_sink_get(bench_sink *s) {
    const char *key = getenv("BENCH_SENTRY_KEY"), *rec = getenv("BENCH_SINK_RECORD");
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key && *key ? key : BENCH_DEFAULT_KEY);
    if (getenv("BENCH_SINK_HTTPS")) {
        s->https = (int)bench_env_long("BENCH_SINK_HTTPS", 0);
        s->http = (int)bench_env_long("BENCH_SINK_HTTP", 0);
        s->rsa_https = (int)bench_env_long("BENCH_SINK_RSA_HTTPS", 0);
        if (rec) snprintf(s->record, sizeof s->record, "%s", rec);
        if (s->https <= 0 || s->http <= 0) { fprintf(stderr, "bench: BENCH_SINK_HTTPS/BENCH_SINK_HTTP are not ports\n"); exit(2); }
        return;
    }
    {
        char ports[400];
        const char *bin = getenv("BENCH_SINK_BIN");
        pid_t pid;
        int i;
        if (!bin || !*bin) bin = "build/telemetry_sink";
        bench_temp_dir(s->dir, sizeof s->dir, "sink");
        snprintf(ports, sizeof ports, "%s/ports", s->dir);
        snprintf(s->record, sizeof s->record, "%s/record", s->dir);
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            execl(bin, bin, "--https-port", "0", "--http-port", "0", "--port-file", ports, "--quiet",
                  "--sentry-key", s->key, "--record", s->record, (char *)NULL);
            _exit(127);
        }
        if (pid < 0) { perror("fork"); exit(2); }
        s->pid = pid;
        bench_own_sink = *s;
        atexit(bench_stop_own_sink);
        for (i = 0; i < 500; i++) {                            /* at most 5 s */
            FILE *f = fopen(ports, "r");
            if (f) {
                int ok = fscanf(f, "https=%d http=%d", &s->https, &s->http) == 2;
                fclose(f);
                if (ok) { bench_own_sink = *s; return; }
            }
            bench_sleep_ms(10);
        }
        fprintf(stderr, "bench: %s did not start (run from the repository root after `make build/telemetry_sink`)\n", bin);
        exit(2);
    }
}

/* One request to the sink's plain-HTTP port (control routes); Connection: close, 5 s deadline.
   Returns the status (or -1) and the body in out (NUL-terminated, cut at cap). */
BENCH_UNUSED static int bench_http(int port, const char *method, const char *path, char *out, size_t cap) {
    struct sockaddr_in a;
    char req[512], *buf;
    size_t got = 0, bcap = 1 << 20;
    int fd, status = -1;
    int64_t deadline = bench_ns() + 5000000000LL;
    const char *body;
    if (out && cap) out[0] = 0;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_port = htons((unsigned short)port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path, port);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) { close(fd); return -1; }
    buf = (char *)malloc(bcap + 1);
    if (!buf) { close(fd); return -1; }
    for (;;) {
        struct pollfd p;
        ssize_t n;
        int64_t left = (deadline - bench_ns()) / 1000000;
        if (left <= 0 || got >= bcap) break;
        p.fd = fd; p.events = POLLIN; p.revents = 0;
        if (poll(&p, 1, (int)left) <= 0) break;
        n = read(fd, buf + got, bcap - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    if (got > 12 && strncmp(buf, "HTTP/1.", 7) == 0) status = atoi(buf + 9);
    body = strstr(buf, "\r\n\r\n");
    if (out && cap && body) snprintf(out, cap, "%s", body + 4);
    free(buf);
    return status;
}
/* A number from GET /_sink/stats ("events", "envelopes", "connections", ...); -1 on failure. */
BENCH_UNUSED static long bench_sink_stat(const bench_sink *s, const char *name) {
    static char body[1 << 20];
    char key[80];
    const char *p;
    snprintf(key, sizeof key, "\"%s\":", name);
    if (bench_http(s->http, "GET", "/_sink/stats", body, sizeof body) != 200) return -1;
    p = strstr(body, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}
/* POST /_sink/mode?<query>, e.g. "m=hang" or "m=ok". 0 on success. */
BENCH_UNUSED static int bench_sink_mode(const bench_sink *s, const char *query) {
    char path[200];
    snprintf(path, sizeof path, "/_sink/mode?%s", query);
    return bench_http(s->http, "POST", path, NULL, 0) == 200 ? 0 : -1;
}
BENCH_UNUSED static int bench_sink_reset(const bench_sink *s) {
    return bench_http(s->http, "POST", "/_sink/reset", NULL, 0) == 200 ? 0 : -1;
}
/* Waits (at most timeout_ms, polling every poll_ms) until stat `name` reaches want. Returns the
   last value seen; *at_ns gets the time it was first seen at or above want (else 0). */
BENCH_UNUSED static long bench_sink_wait(const bench_sink *s, const char *name, long want, long timeout_ms, long poll_ms, int64_t *at_ns) {
    int64_t end = bench_ns() + (int64_t)timeout_ms * 1000000;
    long v = -1;
    if (at_ns) *at_ns = 0;
    for (;;) {
        v = bench_sink_stat(s, name);
        if (v >= want) { if (at_ns) *at_ns = bench_ns(); return v; }
        if (bench_ns() >= end) return v;
        bench_sleep_ms(poll_ms);
    }
}

/* ---- the record file (--record): one JSON line per delivered payload ------------------------- */
BENCH_UNUSED static long bench_file_size(const char *path) {
    struct stat st;
    return path && *path && stat(path, &st) == 0 ? (long)st.st_size : 0;
}
typedef struct bench_record_scan {
    long lines, envelopes, with_event, client_reports;
    long long dropped_reported;     /* sum of every client report's "quantity" */
    long long dropped_by_reason[3]; /* queue_overflow, cache_overflow, send_error */
    long long dropped_reported_error;   /* of those, category "error" (events) */
    /* message-only envelopes (one event item, no session, no client report) */
    long plain_events;
    double plain_size_sum, plain_event_len_sum;
    long plain_size_min, plain_size_max, plain_event_len_min, plain_event_len_max;
    char example[4096];             /* one such record line, cut */
} bench_record_scan;

static long bench_num_after(const char *line, const char *key) {
    const char *p = strstr(line, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}
/* Reads the record file from byte offset `from` to its end. */
BENCH_UNUSED static void bench_record_scan_from(const char *path, long from, bench_record_scan *r) {
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    memset(r, 0, sizeof *r);
    r->plain_size_min = r->plain_event_len_min = -1;
    if (!path || !*path || !(f = fopen(path, "r"))) return;
    fseek(f, from, SEEK_SET);
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *cr;
        r->lines++;
        if (!strstr(line, "\"kind\":\"envelope\"")) continue;
        r->envelopes++;
        if ((cr = strstr(line, "\"type\":\"client_report\"")) != NULL) {
            const char *q = cr;
            r->client_reports++;
            while ((q = strstr(q, "\"reason\":\"")) != NULL) {
                const char *qq = strstr(q, "\"quantity\":");
                long v = qq ? strtol(qq + 11, NULL, 10) : 0;
                int k = !strncmp(q + 10, "queue_overflow", 14) ? 0 : !strncmp(q + 10, "cache_overflow", 14) ? 1 : 2;
                const char *cat = strstr(q, "\"category\":\"");
                r->dropped_reported += v;
                r->dropped_by_reason[k] += v;
                if (cat && (!qq || cat < qq) && !strncmp(cat + 12, "error\"", 6)) r->dropped_reported_error += v;
                q += 10;
            }
        }
        if (strstr(line, "\"type\":\"event\"")) {
            r->with_event++;
            if (!strstr(line, "\"type\":\"session\"") && !cr) {
                long size = bench_num_after(line, "\"size\":");
                const char *ev = strstr(line, "\"type\":\"event\"");
                long elen = -1;
                const char *lp = strstr(ev, "\"length\":"), *close = strchr(ev, '}');
                if (lp && close && lp < close) elen = strtol(lp + 9, NULL, 10);
                r->plain_events++;
                r->plain_size_sum += (double)size;
                r->plain_event_len_sum += (double)elen;
                if (r->plain_size_min < 0 || size < r->plain_size_min) r->plain_size_min = size;
                if (size > r->plain_size_max) r->plain_size_max = size;
                if (r->plain_event_len_min < 0 || elen < r->plain_event_len_min) r->plain_event_len_min = elen;
                if (elen > r->plain_event_len_max) r->plain_event_len_max = elen;
                if (!r->example[0]) snprintf(r->example, sizeof r->example, "%s", line);
            }
        }
    }
    free(line);
    fclose(f);
}

/* A loopback TCP port that refuses connections: bound, never listening (kept for the run). */
BENCH_UNUSED static int bench_closed_port(int *fd_out) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        perror("bench_closed_port");
        exit(2);
    }
    *fd_out = s;
    return ntohs(a.sin_port);
}

/* The 1-minute load average ("?" when unknown): other jobs on the machine skew every timing. */
BENCH_UNUSED static void bench_loadavg(char *out, size_t cap) {
    FILE *f = fopen("/proc/loadavg", "r");
    snprintf(out, cap, "?");
    if (f) { if (fscanf(f, "%15s", out) != 1) snprintf(out, cap, "?"); fclose(f); }
}
BENCH_UNUSED static void bench_header(const char *name) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char load[16];
    bench_loadavg(load, sizeof load);
    printf("== %s (%ld CPUs online, load average %s; compare ratios within one run, timings on a shared machine are noisy)\n",
           name, cpus, load);
    fflush(stdout);
}

/* ---- the store's files, seen from outside (docs/design.md, the >>outbox banner) ------------- */
/* Real bytes on disk (st_blocks) of <state_dir>/outbox/ *.seg, and how many segments. */
BENCH_UNUSED static long long bench_store_disk(const char *state_dir, long *segments) {
    char dir[4096];
    DIR *d;
    struct dirent *e;
    long long total = 0;
    if (segments) *segments = 0;
    snprintf(dir, sizeof dir, "%s/outbox", state_dir);
    if (!(d = opendir(dir))) return 0;
    while ((e = readdir(d)) != NULL) {
        char p[8192];
        struct stat st;
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".seg") != 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        total += (long long)st.st_blocks * 512;
        if (segments) (*segments)++;
    }
    closedir(d);
    return total;
}
/* Records of the segments by state (byte 15: 0 unsent, 'S' sent, 'D' dropped, 'A' attempted)
   for one category (byte 13: 0 usage, 1 error, 2 session, 3 internal; -1 every category). Reads
   the 40-byte headers only; a torn record ends the walk of its segment. */
typedef struct bench_store_records { long unsent, sent, dropped, attempted, torn; } bench_store_records;
BENCH_UNUSED static void bench_store_scan(const char *state_dir, int category, bench_store_records *r) {
    char dir[4096];
    DIR *d;
    struct dirent *e;
    memset(r, 0, sizeof *r);
    snprintf(dir, sizeof dir, "%s/outbox", state_dir);
    if (!(d = opendir(dir))) return;
    while ((e = readdir(d)) != NULL) {
        char p[8192];
        unsigned char h[40];
        size_t len = strlen(e->d_name);
        FILE *f;
        if (len < 5 || strcmp(e->d_name + len - 4, ".seg") != 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!(f = fopen(p, "rb"))) continue;
        for (;;) {
            size_t got = fread(h, 1, sizeof h, f);
            unsigned long plen;
            if (got == 0) break;
            if (got < sizeof h || memcmp(h, "TLR1", 4) != 0) { r->torn++; break; }
            plen = (unsigned long)h[4] | (unsigned long)h[5] << 8 | (unsigned long)h[6] << 16 | (unsigned long)h[7] << 24;
            if (category < 0 || h[13] == category) {
                if (h[15] == 0) r->unsent++;
                else if (h[15] == 'S') r->sent++;
                else if (h[15] == 'D') r->dropped++;
                else r->attempted++;
            }
            if (fseek(f, (long)plen, SEEK_CUR) != 0) { r->torn++; break; }
        }
        fclose(f);
    }
    closedir(d);
}
/* Whether a sender holds <state_dir>/outbox/sender.lock (a sidecar still alive, or a worker). */
BENCH_UNUSED static int bench_sender_alive(const char *state_dir) {
    char p[4096];
    int fd, busy;
    snprintf(p, sizeof p, "%s/outbox/sender.lock", state_dir);
    if ((fd = open(p, O_RDWR | O_CLOEXEC)) < 0) return 0;
    busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);                                  /* releases it if we got it */
    return busy;
}
/* Waits (at most timeout_ms) until no sender holds the folder's lock. 1 when none does. */
BENCH_UNUSED static int bench_wait_sender_gone(const char *state_dir, long timeout_ms) {
    int64_t end = bench_ns() + (int64_t)timeout_ms * 1000000;
    while (bench_sender_alive(state_dir)) {
        if (bench_ns() >= end) return 0;
        bench_sleep_ms(20);
    }
    return 1;
}

/* ---- the store, seen from inside (only where the implementation is compiled in) -------------- */
#if defined(TELEMETRY__IMPLEMENTED) && !defined(_WIN32)
typedef struct bench_store {
    int ok;                             /* delivery is open */
    int sidecar;                        /* 1: a sidecar process sends (its counters are not ours) */
    long long appended;                 /* records this process wrote to the store */
    long long dropped_cap[TELEMETRY__CAT_COUNT];  /* dropped at the disk cap, not yet told */
    long long usage_dropped;            /* usage reports dropped at the cap, told in the next one */
    long long dropped_total;
    long long sent;                     /* thread mode: records the worker sent; -1 in sidecar mode */
    long long cap;                      /* the disk cap */
    long long disk_bytes;               /* st_blocks of outbox/ *.seg */
    long segments;
} bench_store;
/* A snapshot: the counters under the store's lock (the appender counts drops under it); the
   worker's sent count is read atomically, it is the worker's own. */
BENCH_UNUSED static void bench_store_read(bench_store *o) {
    int c;
    memset(o, 0, sizeof *o);
    o->sent = -1;
    telemetry__lock(&telemetry__state_lock);
    if (telemetry__dl.open) {
        o->ok = 1;
        o->sidecar = telemetry__dl.sidecar;
        telemetry__lock(&telemetry__sto.lock);
        o->appended = telemetry__sto.appended;
        o->cap = (long long)telemetry__sto.cap;
        for (c = 0; c < TELEMETRY__CAT_COUNT; c++) {
            o->dropped_cap[c] = telemetry__sh ? telemetry__sh->dropped[c] : 0;
            o->dropped_total += o->dropped_cap[c];
        }
        telemetry__unlock(&telemetry__sto.lock);
        o->usage_dropped = telemetry__dl.usage_dropped;
        if (telemetry__dl.sender) o->sent = __atomic_load_n(&telemetry__dl.sender->sent, __ATOMIC_RELAXED);
    }
    telemetry__unlock(&telemetry__state_lock);
    if (telemetry__st.state_dir[0]) o->disk_bytes = bench_store_disk(telemetry__st.state_dir, &o->segments);
}
#endif

#endif
