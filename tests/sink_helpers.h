/* sink_helpers.h - what the end-to-end tests share: the local receiver (telemetry_sink) started as
   a child on ephemeral loopback ports, a tiny HTTP/1.1 client of our own for its control routes
   (the library's client is what is under test, so it is not used to observe it), its stats and
   record file read back, a clock, child processes, and bounds that widen under valgrind and the
   sanitizers, and the library's log lines collected. Every wait is bounded in count and in time.
   Include after telemetry.h, testlib.h and helpers.h. */
#ifndef SINK_HELPERS_H
#define SINK_HELPERS_H
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#if defined(__linux__)
#  include <sys/prctl.h>
#endif

#define SH_UNUSED __attribute__((unused))

/* ---- time ------------------------------------------------------------------------------------ */
SH_UNUSED static double sh_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
SH_UNUSED static int64_t sh_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
SH_UNUSED static void sh_sleep_ms(double ms) {
    struct timespec ts;
    if (ms <= 0) return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ---- how slow this build is: bounds are widened under valgrind and the sanitizers ------------- */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SH_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define SH_SANITIZED 1
#  endif
#endif
#ifndef SH_SANITIZED
#  define SH_SANITIZED 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define SH_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define SH_ASAN 1
#  endif
#endif
#if defined(SH_ASAN)
/* The tests crash programs on purpose: AddressSanitizer leaves the fatal signals to the library's
   crash handler (and the default action after it), as in a normal build. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0"; }
#endif
SH_UNUSED static int sh_under_valgrind(void) {
    static int known = -1;
    if (known < 0) {
        FILE *f = fopen("/proc/self/maps", "r");
        char line[512];
        known = 0;
        while (f && fgets(line, sizeof line, f)) if (strstr(line, "vgpreload")) { known = 1; break; }
        if (f) fclose(f);
    }
    return known;
}
/* Multiplier for bounds that measure the library's own CPU work (microseconds per call). */
SH_UNUSED static double sh_slow(void) { return sh_under_valgrind() ? 100.0 : SH_SANITIZED ? 10.0 : 1.0; }
/* Under an emulator (qemu-user: tests/port/run.sh sets TELEMETRY_TEST_EMULATED=1) the program runs
   10-50 times slower, unevenly: the timing checks are skipped there, and only there. */
SH_UNUSED static int sh_emulated(void) {
    const char *e = getenv("TELEMETRY_TEST_EMULATED");
    return e && e[0] && strcmp(e, "0") != 0;
}
/* Extra milliseconds for bounds on waits (flush, shutdown). */
SH_UNUSED static double sh_grace(void) { return sh_under_valgrind() ? 2000.0 : SH_SANITIZED ? 300.0 : 0.0; }

/* ---- files ----------------------------------------------------------------------------------- */
/* The whole file, malloc'd and NUL-terminated ("" when missing); the caller frees it. */
SH_UNUSED static char *sh_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, len = 0, n;
    char *buf = (char *)malloc(cap);
    if (!buf) { fprintf(stderr, "out of memory\n"); exit(2); }
    buf[0] = 0;
    if (!f) return buf;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *grown = (char *)realloc(buf, cap * 2);
            if (!grown) { fprintf(stderr, "out of memory\n"); exit(2); }
            buf = grown;
            cap *= 2;
        }
    }
    buf[len] = 0;
    fclose(f);
    return buf;
}
SH_UNUSED static int sh_count_lines(const char *text) {
    int n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}
/* The n-th line (0-based) of text, copied into a malloc'd string, or NULL. */
SH_UNUSED static char *sh_line(const char *text, int n) {
    const char *p = text, *e;
    char *out;
    while (n-- > 0 && p) { p = strchr(p, '\n'); if (p) p++; }
    if (!p || !*p) return NULL;
    e = strchr(p, '\n');
    if (!e) e = p + strlen(p);
    out = (char *)malloc((size_t)(e - p) + 1);
    if (!out) exit(2);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return out;
}
SH_UNUSED static int sh_count_substr(const char *text, const char *needle) {
    int n = 0;
    size_t len = strlen(needle);
    while ((text = strstr(text, needle)) != NULL) { n++; text += len; }
    return n;
}

/* ---- child processes -------------------------------------------------------------------------- */
static pid_t sh_children[64];
static int sh_n_children;

/* Waits at most ms for pid to end (then kills it); its exit status, or -1. */
SH_UNUSED static int sh_reap(pid_t pid, double ms) {
    double end = sh_now_ms() + ms;
    int st = 0, i;
    pid_t r = 0;
    if (pid <= 0) return -1;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 && sh_now_ms() < end) sh_sleep_ms(2);
    if (r == 0) { kill(pid, SIGKILL); r = waitpid(pid, &st, 0); }
    for (i = 0; i < sh_n_children; i++) if (sh_children[i] == pid) sh_children[i] = 0;
    return r == pid ? st : -1;
}
SH_UNUSED static void sh_stop_child(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    sh_reap(pid, 5000);
}
SH_UNUSED static void sh_stop_all(void) {
    int i;
    for (i = 0; i < sh_n_children; i++) if (sh_children[i] > 0) sh_stop_child(sh_children[i]);
}
/* Starts argv[0] with stdout and stderr to out_path (NULL: /dev/null, or kept with TEST_VERBOSE). */
SH_UNUSED static pid_t sh_spawn(char *const argv[], const char *out_path) {
    pid_t pid;
    fflush(NULL);                              /* a child must not repeat our buffered output */
    pid = fork();
    if (pid == 0) {
        int fd = -1;
#if defined(__linux__) && defined(PR_SET_PDEATHSIG)
        /* a test that dies without its atexit handlers (a sanitizer's halt_on_error, a crash,
           SIGKILL) must not leave its server running */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        if (out_path) fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        else if (!getenv("TEST_VERBOSE")) fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0 && sh_n_children < 64) sh_children[sh_n_children++] = pid;
    return pid;
}
/* This program's own path, to re-run it as a child (fork + exec: no fork of a threaded process
   that keeps running the library). */
SH_UNUSED static const char *sh_self_path(const char *argv0) {
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0 && !strstr(path, "valgrind") && !strstr(path, "memcheck")) { path[n] = 0; return path; }
    snprintf(path, sizeof path, "%s", argv0);
    return path;
}

/* ---- a port nothing listens on (for a moment) ----------------------------------------------- */
SH_UNUSED static int sh_free_port(void) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        if (s >= 0) close(s);
        return 9;                                 /* discard: nothing listens there either */
    }
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* ---- a tiny HTTP/1.1 client for the sink's control routes ----------------------------------- */
/* Sends "method target" with Connection: close to 127.0.0.1:port and reads the answer until the
   server closes, within timeout_ms. Returns the body (malloc'd; NULL when there is no complete
   answer) and the status (or -1) in *status. */
SH_UNUSED static char *sh_http(int port, const char *method, const char *target, int *status_out, double timeout_ms) {
    struct sockaddr_in a;
    char req[1024];
    size_t cap = 1 << 16, len = 0, sent = 0, reqlen;
    char *buf = (char *)malloc(cap), *p;
    double end = sh_now_ms() + timeout_ms;
    char *body = NULL;
    int s, status = -1, flags;
    if (!buf) exit(2);
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { free(buf); *status_out = -1; return NULL; }
    flags = fcntl(s, F_GETFL, 0);
    fcntl(s, F_SETFL, flags | O_NONBLOCK);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    reqlen = (size_t)snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n", method, target, port);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) goto done;
    while (sh_now_ms() < end) {                     /* send, then read until EOF */
        struct pollfd pfd;
        ssize_t n;
        pfd.fd = s;
        pfd.events = sent < reqlen ? POLLOUT : POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, (int)(end - sh_now_ms()) + 1) <= 0) continue;
        if (sent < reqlen) {
            n = send(s, req + sent, reqlen - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) goto done;
            if (n > 0) sent += (size_t)n;
            continue;
        }
        n = recv(s, buf + len, cap - len - 1, 0);
        if (n == 0) break;
        if (n < 0) { if (errno == EAGAIN || errno == EINTR) continue; goto done; }
        len += (size_t)n;
        if (cap - len < 4096) {
            char *grown = (char *)realloc(buf, cap * 2);
            if (!grown) exit(2);
            buf = grown;
            cap *= 2;
        }
    }
    buf[len] = 0;
    if (len > 12 && strncmp(buf, "HTTP/1.", 7) == 0 && (p = strstr(buf, "\r\n\r\n")) != NULL) {
        size_t blen = len - (size_t)(p + 4 - buf);
        status = atoi(buf + 9);
        memmove(buf, p + 4, blen);
        buf[blen] = 0;
        body = buf;
        buf = NULL;
    }
done:
    close(s);
    free(buf);
    *status_out = status;
    return body;
}
/* The status of a control request whose body does not matter. */
SH_UNUSED static int sh_http_status(int port, const char *method, const char *target, double timeout_ms) {
    int status;
    free(sh_http(port, method, target, &status, timeout_ms));
    return status;
}

/* ---- the sink ----------------------------------------------------------------------------- */
typedef struct sink {
    pid_t pid;
    int https, http;
    char dir[64], record[128], out[128];
} sink;

static char sh_sink_bin[4096] = "build/telemetry_sink";

/* The sink next to this test binary (build/ or build-san/), else build/telemetry_sink. */
SH_UNUSED static void sh_find_sink(const char *argv0) {
    const char *slash = strrchr(argv0, '/');
    char path[4096];
    if (slash && (size_t)(slash - argv0) < sizeof path - 32) {
        snprintf(path, sizeof path, "%.*s/telemetry_sink", (int)(slash - argv0), argv0);
        if (access(path, X_OK) == 0) { snprintf(sh_sink_bin, sizeof sh_sink_bin, "%s", path); return; }
    }
}

/* Starts the sink on ephemeral ports (HTTPS with tests/certs/server.*, and plain HTTP) with the
   extra arguments (NULL-terminated; may be NULL). Its stdout goes to s->out. 0 when both ports
   are known (within 10 s). */
SH_UNUSED static int sink_start(sink *s, const char *const *extra) {
    char ports[128];
    char *argv[40];
    int i, n = 0;
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", make_temp_dir());
    snprintf(ports, sizeof ports, "%s/ports", s->dir);
    snprintf(s->record, sizeof s->record, "%s/record", s->dir);
    snprintf(s->out, sizeof s->out, "%s/out", s->dir);
    argv[n++] = sh_sink_bin;
    argv[n++] = (char *)"--https-port"; argv[n++] = (char *)"0";
    argv[n++] = (char *)"--http-port"; argv[n++] = (char *)"0";
    argv[n++] = (char *)"--port-file"; argv[n++] = ports;
    argv[n++] = (char *)"--record"; argv[n++] = s->record;
    for (i = 0; extra && extra[i] && n < 38; i++) argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    s->pid = sh_spawn(argv, s->out);
    for (i = 0; i < 1000; i++) {
        FILE *f = fopen(ports, "r");
        int st;
        if (f) {
            int ok = fscanf(f, "https=%d http=%d", &s->https, &s->http) == 2;
            fclose(f);
            if (ok) return 0;
        }
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) break;
        sh_sleep_ms(10);
    }
    fprintf(stderr, "%s did not start (is it built? make %s)\n", sh_sink_bin, sh_sink_bin);
    return -1;
}
SH_UNUSED static void sink_stop(sink *s) {
    sh_stop_child(s->pid);
    s->pid = 0;
    if (!getenv("TEST_KEEP")) rm_tree(s->dir);
}
/* POST /_sink/mode?query on the plain-HTTP port; 1 when the sink said 200. */
SH_UNUSED static int sink_mode(const sink *s, const char *query) {
    char target[512];
    int st;
    snprintf(target, sizeof target, "/_sink/mode?%s", query);
    st = sh_http_status(s->http, "POST", target, 3000);
    if (st != 200) fprintf(stderr, "sink_mode(%s): HTTP %d\n", query, st);
    return st == 200;
}
SH_UNUSED static int sink_reset(const sink *s) { return sh_http_status(s->http, "POST", "/_sink/reset", 3000) == 200; }
/* GET /_sink/stats: the JSON text (malloc'd; "{}" when the sink did not answer). */
SH_UNUSED static char *sink_stats(const sink *s) {
    int status;
    char *body = sh_http(s->http, "GET", "/_sink/stats", &status, 5000);
    if (status != 200 || !body) {
        free(body);
        body = (char *)malloc(3);
        if (!body) exit(2);
        strcpy(body, "{}");
    }
    return body;
}
/* The number after "key": in a JSON text (the first occurrence), or -1. */
SH_UNUSED static long sh_json_long(const char *json, const char *key) {
    char k[96];
    const char *p;
    snprintf(k, sizeof k, "\"%s\":", key);
    p = strstr(json, k);
    return p ? strtol(p + strlen(k), NULL, 10) : -1;
}
SH_UNUSED static long sink_stat(const sink *s, const char *key) {
    char *st = sink_stats(s);
    long v = sh_json_long(st, key);
    free(st);
    return v;
}

/* Waits at most ms until the stat key reaches want; 1 when it did. */
SH_UNUSED static int sink_wait_stat(const sink *s, const char *key, long want, double ms) {
    double end = sh_now_ms() + ms;
    long v;
    while ((v = sink_stat(s, key)) < want && sh_now_ms() < end) sh_sleep_ms(10);
    return v >= want;
}

/* The flat map "name":{"k":n,...} of a stats text: calls fn for each entry; the number of
   entries, or -1 when the map is missing. Keys are short ids and paths without quotes inside. */
typedef void (*sh_map_fn)(const char *key, long count, void *ud);
SH_UNUSED static int sh_map_each(const char *json, const char *name, sh_map_fn fn, void *ud) {
    char k[96], key[1024];
    const char *p;
    int n = 0;
    snprintf(k, sizeof k, "\"%s\":{", name);
    p = strstr(json, k);
    if (!p) return -1;
    p += strlen(k);
    while (*p == '"') {
        const char *q = strchr(p + 1, '"');
        size_t len;
        if (!q || q[1] != ':') return -1;
        len = (size_t)(q - p - 1);
        if (len >= sizeof key) len = sizeof key - 1;
        memcpy(key, p + 1, len);
        key[len] = 0;
        if (fn) fn(key, strtol(q + 2, (char **)&p, 10), ud);
        else strtol(q + 2, (char **)&p, 10);
        n++;
        if (*p == ',') p++;
    }
    return *p == '}' ? n : -1;
}
/* Summary of a map: entries, the largest count, the sum of counts. */
typedef struct sh_map_summary { long entries, max, sum; } sh_map_summary;
SH_UNUSED static void sh_summary_add(const char *key, long count, void *ud) {
    sh_map_summary *m = (sh_map_summary *)ud;
    (void)key;
    m->entries++;
    m->sum += count;
    if (count > m->max) m->max = count;
}
SH_UNUSED static sh_map_summary sh_map_summarize(const char *json, const char *name) {
    sh_map_summary m;
    memset(&m, 0, sizeof m);
    if (sh_map_each(json, name, sh_summary_add, &m) < 0) m.entries = m.max = m.sum = -1;
    return m;
}
/* The count of one key in a map (0 when absent). */
SH_UNUSED static long sh_map_get(const char *json, const char *name, const char *key) {
    char k[96], needle[1100];
    const char *p, *end;
    snprintf(k, sizeof k, "\"%s\":{", name);
    p = strstr(json, k);
    if (!p) return 0;
    end = strchr(p, '}');
    snprintf(needle, sizeof needle, "\"%s\":", key);
    p = strstr(p, needle);
    return p && end && p < end ? strtol(p + strlen(needle), NULL, 10) : 0;
}

/* ---- the record file -------------------------------------------------------------------------- */
SH_UNUSED static int sink_record_lines(const sink *s) {
    char *t = sh_read_file(s->record);
    int n = sh_count_lines(t);
    free(t);
    return n;
}
/* The string value of "key":"..." in a record line (the first occurrence), copied into out. */
SH_UNUSED static const char *sh_json_str(const char *json, const char *key, char *out, size_t cap) {
    char k[96];
    const char *p, *q;
    size_t n;
    out[0] = 0;
    snprintf(k, sizeof k, "\"%s\":\"", key);
    p = strstr(json, k);
    if (!p) return out;
    p += strlen(k);
    q = strchr(p, '"');
    if (!q) return out;
    n = (size_t)(q - p) < cap - 1 ? (size_t)(q - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}
/* What the client reports recorded since record line `from` say was discarded in one category:
   each entry of "discarded_events" is a flat object {"reason":...,"category":...,"quantity":N}. */
SH_UNUSED static long sink_discarded(const sink *s, int from, const char *category) {
    char *rec = sh_read_file(s->record), entry[256], want[64];
    const char *p = rec;
    long n = 0;
    int i;
    snprintf(want, sizeof want, "\"category\":\"%s\"", category);
    for (i = 0; i < from && p; i++) { p = strchr(p, '\n'); if (p) p++; }
    while (p && (p = strstr(p, "\"discarded_events\":[")) != NULL) {
        const char *end = strchr(p, ']');
        p += 20;
        while (end && p < end && (p = strchr(p, '{')) != NULL && p < end) {
            const char *close = strchr(p, '}'), *q;
            size_t len = close ? (size_t)(close - p) : 0;
            if (!close || len >= sizeof entry) break;
            memcpy(entry, p, len);
            entry[len] = 0;
            if (strstr(entry, want) && (q = strstr(entry, "\"quantity\":")) != NULL) n += strtol(q + 11, NULL, 10);
            p = close + 1;
        }
        p = end;
    }
    free(rec);
    return n;
}
/* The sum of "dropped_reports" in the usage reports recorded since line `from`. */
SH_UNUSED static long sink_dropped_reports(const sink *s, int from) {
    char *rec = sh_read_file(s->record);
    const char *p = rec;
    long n = 0;
    int i;
    for (i = 0; i < from && p; i++) { p = strchr(p, '\n'); if (p) p++; }
    while (p && (p = strstr(p, "\"dropped_reports\":")) != NULL) { p += 18; n += strtol(p, NULL, 10); }
    free(rec);
    return n;
}

/* ---- the library's log lines (cfg.log_fn; called from the worker thread too) ---------------- */
static pthread_mutex_t sh_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char sh_log_text[1 << 16];
static size_t sh_log_len;
SH_UNUSED static void sh_log_fn(telemetry_level level, const char *msg, void *ud) {
    static const char *const names[] = { "debug", "info", "warning", "error", "fatal" };
    (void)ud;
    pthread_mutex_lock(&sh_log_lock);
    if (sh_log_len < sizeof sh_log_text - 600) {
        int n = snprintf(sh_log_text + sh_log_len, sizeof sh_log_text - sh_log_len, "%s: %s\n", names[(int)level % 5], msg);
        if (n > 0) sh_log_len += (size_t)n;
    }
    pthread_mutex_unlock(&sh_log_lock);
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "  log: %s\n", msg);
}
SH_UNUSED static void sh_log_clear(void) {
    pthread_mutex_lock(&sh_log_lock);
    sh_log_len = 0;
    sh_log_text[0] = 0;
    pthread_mutex_unlock(&sh_log_lock);
}
SH_UNUSED static int sh_log_count(const char *needle) {
    int n;
    pthread_mutex_lock(&sh_log_lock);
    n = sh_count_substr(sh_log_text, needle);
    pthread_mutex_unlock(&sh_log_lock);
    return n;
}
SH_UNUSED static void sh_log_dump(const char *why) {
    pthread_mutex_lock(&sh_log_lock);
    fprintf(stderr, "--- log (%s):\n%s---\n", why, sh_log_text);
    pthread_mutex_unlock(&sh_log_lock);
}
#endif
