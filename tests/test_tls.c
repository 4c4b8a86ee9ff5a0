/* test_tls.c - the transport against real servers on loopback: build/telemetry_sink (HTTPS and
   HTTP, good and bad certificates, misbehaviour modes), tinyproxy (CONNECT and absolute-form),
   and a small scripted server forked here (odd responses, dead kept-alive connections, ::1).
   Run from the repository root. Every network wait is bounded by a deadline. Also: the trust
   anchor reader (telemetry__anchor_parse) against BearSSL's X.509 decoder on every certificate of
   the system bundle and tests/certs/. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <signal.h>
#include <sys/wait.h>

/* ---- child processes ---------------------------------------------------------------------------- */
static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000; ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}
static pid_t children[32];
static int n_children;
static void stop_child(pid_t pid) {
    int i, st;
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    for (i = 0; i < n_children; i++) if (children[i] == pid) children[i] = 0;
}
static void stop_all(void) { int i; for (i = 0; i < n_children; i++) stop_child(children[i]); }
static pid_t spawn(char *const argv[]) {
    pid_t pid;
    fflush(NULL);                          /* a child must not repeat our buffered output */
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0 && !getenv("TEST_VERBOSE")) { dup2(fd, 1); dup2(fd, 2); }
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0 && n_children < 32) children[n_children++] = pid;
    return pid;
}

typedef struct sink { pid_t pid; int https, http; char dir[64], record[96]; } sink;

/* Starts build/telemetry_sink with a certificate; 0 when both ports are known. */
static int sink_start(sink *s, const char *cert) {
    char certf[96], keyf[96], ports[96];
    char *argv[16];
    int i;
    snprintf(s->dir, sizeof s->dir, "%s", make_temp_dir());
    snprintf(certf, sizeof certf, "tests/certs/%s.pem", cert);
    snprintf(keyf, sizeof keyf, "tests/certs/%s.key", cert);
    snprintf(ports, sizeof ports, "%s/ports", s->dir);
    snprintf(s->record, sizeof s->record, "%s/record", s->dir);
    argv[0] = (char *)"build/telemetry_sink"; argv[1] = (char *)"--https-port"; argv[2] = (char *)"0";
    argv[3] = (char *)"--http-port"; argv[4] = (char *)"0"; argv[5] = (char *)"--cert"; argv[6] = certf;
    argv[7] = (char *)"--key"; argv[8] = keyf; argv[9] = (char *)"--port-file"; argv[10] = ports;
    argv[11] = (char *)"--record"; argv[12] = s->record; argv[13] = (char *)"--quiet"; argv[14] = NULL;
    s->pid = spawn(argv);
    for (i = 0; i < 500; i++) {
        FILE *f = fopen(ports, "r");
        if (f) {
            int ok = fscanf(f, "https=%d http=%d", &s->https, &s->http) == 2;
            fclose(f);
            if (ok) return 0;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "telemetry_sink (%s) did not start\n", cert);
    return -1;
}
static void sink_stop(sink *s) { stop_child(s->pid); rm_tree(s->dir); }
static int record_lines(const sink *s) {
    const char *t = read_text(s->record);
    int n = 0;
    for (; *t; t++) n += *t == '\n';
    return n;
}

/* ---- sending --------------------------------------------------------------------------------- */
static char last_log[1024];
static void capture_log(telemetry_level level, const char *msg, void *ud) {
    (void)ud;
    if (level >= TELEMETRY_LEVEL_WARNING) snprintf(last_log, sizeof last_log, "%s", msg);
    if (getenv("TEST_VERBOSE")) fprintf(stderr, "  log: %s\n", msg);
}

static telemetry__http_client *client(const char *ca_file) {
    telemetry__http_client *c = NULL;
    telemetry__transport_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = ca_file;
    if (telemetry__http_client_new(&c, &cfg) != 0) { fprintf(stderr, "client_new failed\n"); exit(2); }
    return c;
}

/* Sends method url with body (may be NULL); returns the result, elapsed ms in *ms. */
static int send_req(telemetry__http_client *c, const char *method, const char *url, const char *body, int timeout_ms,
                    telemetry__http_response *resp, int64_t *ms) {
    telemetry__url u;
    telemetry__http_request req;
    int64_t t0 = telemetry__monotonic_ms();
    int rc;
    memset(&req, 0, sizeof req);
    memset(resp, 0, sizeof *resp);
    last_log[0] = 0;
    if (telemetry__url_parse(url, &u) != 0) { fprintf(stderr, "bad test URL %s\n", url); exit(2); }
    req.method = method; req.url = &u; req.content_type = body ? "application/json" : NULL;
    req.body = body; req.body_len = body ? strlen(body) : 0;
    rc = telemetry__http_send(c, &req, resp, t0 + timeout_ms);
    if (ms) *ms = telemetry__monotonic_ms() - t0;
    telemetry__url_free(&u);
    return rc;
}
/* Sends and frees the response; returns the status, or the error when negative. */
static int send_status(telemetry__http_client *c, const char *method, const char *url, const char *body, int timeout_ms) {
    telemetry__http_response r;
    int rc = send_req(c, method, url, body, timeout_ms, &r, NULL);
    if (rc == 0) rc = r.status;
    telemetry__http_response_free(&r);
    return rc;
}
/* A sink control request on its plain-HTTP port. */
static void sink_mode(const sink *s, const char *query) {
    char url[200];
    telemetry__http_client *c = client(NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_sink/mode?%s", s->http, query);
    CHECK_INT(send_status(c, "POST", url, NULL, 3000), 200);
    telemetry__http_client_free(c);
}
static long sink_stat(telemetry__http_client *c, const sink *s, const char *name) {
    char url[200], key[64];
    telemetry__http_response r;
    const char *p;
    long v = -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_sink/stats", s->http);
    snprintf(key, sizeof key, "\"%s\":", name);
    if (send_req(c, "GET", url, NULL, 3000, &r, NULL) == 0 && r.body.data && (p = strstr(r.body.data, key)) != NULL)
        v = strtol(p + strlen(key), NULL, 10);
    telemetry__http_response_free(&r);
    return v;
}

/* ---- a scripted server forked here ------------------------------------------------------------ */
/* For each request it reads (head, then a Content-Length body) it writes the next script entry;
   "CLOSE" closes the connection without answering, "SILENT" accepts the next connection and
   never reads or writes. After an entry holding "Connection: close" it closes. */
static pid_t mini_start(int family, const char *const *script, int *port) {
    int s, one = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    pid_t pid;
    memset(&ss, 0, sizeof ss);
    s = socket(family, SOCK_STREAM, 0);
    if (s < 0) return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6; a->sin6_addr = in6addr_loopback; sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET; a->sin_addr.s_addr = htonl(INADDR_LOOPBACK); sl = sizeof *a;
    }
    if (bind(s, (struct sockaddr *)&ss, sl) != 0 || listen(s, 8) != 0 || getsockname(s, (struct sockaddr *)&ss, &sl) != 0) { close(s); return -1; }
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        int i = 0;
        while (script[i]) {
            int cfd = accept(s, NULL, NULL);
            if (cfd < 0) _exit(1);
            if (!strcmp(script[i], "SILENT")) { for (;;) pause(); }
            while (script[i]) {
                char req[65536];
                size_t got = 0;
                long need = -1;
                while (need < 0 || got < (size_t)need) {
                    ssize_t n = read(cfd, req + got, sizeof req - 1 - got);
                    char *end;
                    if (n <= 0) break;
                    got += (size_t)n; req[got] = 0;
                    if (need < 0 && (end = strstr(req, "\r\n\r\n")) != NULL) {
                        char *cl = strstr(req, "Content-Length: ");
                        need = (long)(end + 4 - req) + (cl ? strtol(cl + 16, NULL, 10) : 0);
                    }
                }
                if (need < 0 || got < (size_t)need) break;           /* client went away */
                if (!strcmp(script[i], "CLOSE")) { i++; break; }
                if (write(cfd, script[i], strlen(script[i])) < 0) {}
                if (strstr(script[i++], "Connection: close")) break;
            }
            close(cfd);
        }
        _exit(0);
    }
    close(s);
    if (pid > 0 && n_children < 32) children[n_children++] = pid;
    return pid;
}

/* A port nothing listens on (for a moment). */
static int free_port(void) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    close(s);
    return port;
}
/* ---- the tests ------------------------------------------------------------------------------ */
static void test_delivery(sink *a) {
    telemetry__http_client *c = client("tests/certs/ca.pem"), *ctl = client(NULL);
    telemetry__http_response r;
    char url[200];
    int i, lines = record_lines(a);
    int64_t t0;
    /* HTTPS by name and by IP literal (the IP SAN check), and plain HTTP */
    snprintf(url, sizeof url, "https://localhost:%d/t/a.json?auth=SECRET", a->https);
    CHECK_INT(send_req(c, "PUT", url, "{\"a\":1}", 5000, &r, NULL), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body.data, "{\"a\":1}");
    telemetry__http_response_free(&r);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/t/b.json", a->https);
    CHECK_INT(send_status(c, "PUT", url, "{\"b\":2}", 5000), 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/t/c.json", a->http);
    CHECK_INT(send_req(c, "POST", url, "{\"c\":3}", 5000, &r, NULL), 0);
    CHECK_INT(r.status, 200);
    CHECK(r.body.data && strstr(r.body.data, "\"name\":") != NULL);
    telemetry__http_response_free(&r);
    CHECK_INT(record_lines(a) - lines, 3);
    CHECK(strstr(read_text(a->record), "\"path\":\"/t/b.json\"") != NULL);
    telemetry__http_client_free(c);

    /* keep-alive: 20 requests, one connection (counted by us and by the sink) */
    c = client("tests/certs/ca.pem");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_sink/reset", a->http);
    CHECK_INT(send_status(ctl, "POST", url, NULL, 3000), 200);
    snprintf(url, sizeof url, "https://localhost:%d/t/k.json", a->https);
    t0 = telemetry__monotonic_ms();
    for (i = 0; i < 20; i++) CHECK_INT(send_status(c, "PUT", url, "{\"k\":true}", 5000), 200);
    printf("test_tls: 20 HTTPS requests on one kept-alive connection: %d ms\n", (int)(telemetry__monotonic_ms() - t0));
    CHECK_INT(c->connects, 1);
    CHECK_INT(sink_stat(ctl, a, "connections"), 1);      /* c's; ctl's own predates the reset */
    CHECK_INT(sink_stat(ctl, a, "firebase_writes"), 20);
    CHECK_INT(ctl->connects, 1);
    /* a switch of host or scheme opens a new connection */
    snprintf(url, sizeof url, "https://127.0.0.1:%d/t/k.json", a->https);
    CHECK_INT(send_status(c, "PUT", url, "{\"k\":1}", 5000), 200);
    CHECK_INT(c->connects, 2);
    /* 429 and 503 are complete responses; rate-limit headers come through */
    sink_mode(a, "m=429&n=1");
    CHECK_INT(send_req(c, "PUT", url, "{}", 5000, &r, NULL), 0);
    CHECK_INT(r.status, 429);
    CHECK_STR(r.retry_after, "60");
    CHECK_STR(r.rate_limits, "60:error;transaction:organization:quota_exceeded");
    telemetry__http_response_free(&r);
    sink_mode(a, "m=503&n=1");
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 503);
    /* trickled answers are read whole; too slow ones hit the deadline */
    sink_mode(a, "m=trickle&ms=2&n=1");
    CHECK_INT(send_status(c, "PUT", url, "{\"t\":1}", 5000), 200);
    telemetry__http_client_free(c);
    telemetry__http_client_free(ctl);
}

static void test_failures(sink *a) {
    telemetry__http_client *c = client("tests/certs/ca.pem");
    telemetry__http_response r;
    char url[200];
    int64_t ms;
    int lines = record_lines(a), rc;
    /* a server that never answers costs the deadline, not more */
    sink_mode(a, "m=hang&n=1");
    snprintf(url, sizeof url, "https://localhost:%d/t/h.json?auth=SECRET", a->https);
    CHECK_INT(send_req(c, "PUT", url, "{}", 500, &r, &ms), TELEMETRY_ERR_TIMEOUT);
    CHECK(ms >= 450 && ms <= 600);
    printf("test_tls: HTTPS server that never answers, 500 ms deadline: returned after %d ms\n", (int)ms);
    CHECK(strstr(last_log, "localhost") != NULL && strstr(last_log, "SECRET") == NULL && strstr(last_log, "/t/") == NULL);
    sink_mode(a, "m=hang&n=1");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/t/h.json", a->http);
    CHECK_INT(send_req(c, "PUT", url, "{}", 500, &r, &ms), TELEMETRY_ERR_TIMEOUT);
    CHECK(ms >= 450 && ms <= 600);
    sink_mode(a, "m=trickle&ms=300&n=1");
    CHECK_INT(send_req(c, "PUT", url, "{}", 500, &r, &ms), TELEMETRY_ERR_TIMEOUT);
    CHECK(ms >= 450 && ms <= 600);
    /* close mid-response and reset: errors, over TLS and plain */
    sink_mode(a, "m=close&n=2");
    snprintf(url, sizeof url, "https://localhost:%d/t/x.json", a->https);
    CHECK_INT(send_req(c, "PUT", url, "{}", 3000, &r, NULL), TELEMETRY_ERR_NETWORK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/t/x.json", a->http);
    CHECK_INT(send_req(c, "PUT", url, "{}", 3000, &r, NULL), TELEMETRY_ERR_NETWORK);
    sink_mode(a, "m=reset&n=2");
    CHECK_INT(send_req(c, "PUT", url, "{}", 3000, &r, NULL), TELEMETRY_ERR_NETWORK);
    snprintf(url, sizeof url, "https://localhost:%d/t/x.json", a->https);
    CHECK_INT(send_req(c, "PUT", url, "{}", 3000, &r, NULL), TELEMETRY_ERR_NETWORK);
    /* refused before TLS */
    sink_mode(a, "m=refuse&n=1");
    rc = send_req(c, "PUT", url, "{}", 3000, &r, NULL);
    CHECK(rc == TELEMETRY_ERR_NETWORK);
    CHECK_INT(record_lines(a), lines);                    /* none of those was delivered */
    /* nothing listening */
    {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/", free_port());
        CHECK_INT(send_req(c, "GET", url, NULL, 3000, &r, NULL), TELEMETRY_ERR_NETWORK);
        CHECK(strstr(last_log, "refused") != NULL);
    }
    telemetry__http_client_free(c);
}

/* expired / wrong host / untrusted / SHA-1-signed / 1024-bit RSA: TELEMETRY_ERR_TLS with a clear
   reason, nothing delivered */
static void test_bad_certs(void) {
    static const char *const certs[] = { "expired", "wronghost", "untrusted", "sha1", "weakrsa" };
    static const char *const why[] = { "expired", "does not match", "trusted CA", "SHA-1 is refused", "key too weak" };
    int i;
    for (i = 0; i < 5; i++) {
        sink s;
        telemetry__http_client *c = client("tests/certs/ca.pem");
        char url[200];
        if (sink_start(&s, certs[i]) != 0) { CHECK(0); continue; }
        snprintf(url, sizeof url, "https://localhost:%d/t/bad.json", s.https);
        CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_TLS);
        if (!strstr(last_log, why[i])) fprintf(stderr, "log for %s: %s\n", certs[i], last_log);
        CHECK(strstr(last_log, why[i]) != NULL);
        snprintf(url, sizeof url, "https://127.0.0.1:%d/t/bad.json", s.https);      /* IP host: the IP SAN check */
        CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_TLS);
        CHECK(strstr(last_log, why[i]) != NULL);
        CHECK_INT(record_lines(&s), 0);
        telemetry__http_client_free(c);
        sink_stop(&s);
    }
}

/* RSA server key, ca_pem instead of ca_file, clock_fn, entropy_fn, the program's telemetry_io */
static int entropy_calls;
static int test_entropy(void *ud, void *buf, size_t len) { (void)ud; entropy_calls++; return telemetry__os_entropy(buf, len); }
static int64_t clock_2001(void *ud) { (void)ud; return INT64_C(978307200000); }   /* 2001-01-01 */
typedef struct { int connects, reads, writes, closes; } io_count;
static int io_connect(void *ud, const char *host, int port, unsigned timeout_ms, void **conn) {
    telemetry__net *n = (telemetry__net *)calloc(1, sizeof *n);
    int rc = telemetry__net_connect(n, NULL, host, (unsigned)port, telemetry__monotonic_ms() + timeout_ms);
    ((io_count *)ud)->connects++;
    if (rc) { free(n); return rc; }
    *conn = n;
    return 0;
}
static long io_read(void *ud, void *conn, void *buf, size_t len, unsigned timeout_ms) {
    ((io_count *)ud)->reads++;
    return telemetry__net_io((telemetry__net *)conn, 0, buf, len, telemetry__monotonic_ms() + timeout_ms);
}
static long io_write(void *ud, void *conn, const void *buf, size_t len, unsigned timeout_ms) {
    ((io_count *)ud)->writes++;
    return telemetry__net_io((telemetry__net *)conn, 1, (void *)buf, len, telemetry__monotonic_ms() + timeout_ms);
}
static void io_close(void *ud, void *conn) { ((io_count *)ud)->closes++; telemetry__net_close((telemetry__net *)conn); free(conn); }

static void test_config(sink *a) {
    sink rsa;
    telemetry__transport_config cfg;
    telemetry__http_client *c;
    telemetry_io io;
    io_count counts;
    char url[200];
    const char *pem = read_text("tests/certs/ca.pem");
    char *pem_copy = (char *)malloc(strlen(pem) + 1);
    strcpy(pem_copy, pem);
    memset(&cfg, 0, sizeof cfg);
    /* RSA certificate (ECDHE_RSA suites), anchors from ca_pem, our entropy source */
    cfg.ca_pem = pem_copy;
    cfg.ca_file = "does/not/exist.pem";                     /* ca_pem wins */
    cfg.entropy_fn = test_entropy;
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    memset(pem_copy, 0, strlen(pem_copy));                  /* the client keeps its own copy */
    if (sink_start(&rsa, "server-rsa") == 0) {
        snprintf(url, sizeof url, "https://localhost:%d/t/rsa.json", rsa.https);
        CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
        CHECK_INT(record_lines(&rsa), 1);
        sink_stop(&rsa);
    } else CHECK(0);
    CHECK_INT(entropy_calls, 1);
    telemetry__http_client_free(c);
    free(pem_copy);
    /* the clock comes from clock_fn: in 2001 the certificate is not valid yet */
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = "tests/certs/ca.pem";
    cfg.clock_fn = clock_2001;
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    snprintf(url, sizeof url, "https://localhost:%d/t/clock.json", a->https);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_TLS);
    CHECK(strstr(last_log, "expired") != NULL);
    telemetry__http_client_free(c);
    /* no usable anchors */
    c = client("tests/certs/server.key");
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_TLS);
    CHECK(strstr(last_log, "no trust anchors") != NULL);
    telemetry__http_client_free(c);
    c = client("tests/certs/missing.pem");
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_TLS);
    CHECK(strstr(last_log, "missing.pem") != NULL);
    telemetry__http_client_free(c);
    /* the program's byte stream: TLS runs over it, keep-alive too */
    memset(&counts, 0, sizeof counts);
    io.connect = io_connect; io.read = io_read; io.write = io_write; io.close = io_close; io.user_data = &counts;
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = "tests/certs/ca.pem";
    cfg.io = &io;
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/t/io.json", a->http);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(counts.connects, 2);
    CHECK_INT(counts.closes, 2);
    CHECK(counts.reads > 2 && counts.writes > 2);
}

/* Odd but valid answers over a real socket, dead kept-alive connections, IPv6 */
static void test_scripted(void) {
    static const char *const odd[] = {
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK",          /* junk after it: not reused */
        "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil close",    /* body ends with the close */
        NULL };
    static const char *const stale[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1",
        "CLOSE",                                                       /* kept-alive, then dropped */
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n3",              /* body cut short */
        NULL };
    static const char *const silent[] = { "SILENT", NULL };
    static const char *const v6[] = { "HTTP/1.1 204 No Content\r\n\r\n", NULL };
    telemetry__http_client *c = client("tests/certs/ca.pem");
    telemetry__http_response r;
    char url[200];
    int port;
    int64_t ms;
    pid_t p = mini_start(AF_INET, odd, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    CHECK_INT(send_req(c, "POST", url, "{}", 3000, &r, NULL), 0);
    CHECK_INT(r.status, 200); CHECK_STR(r.body.data, "hello");
    telemetry__http_response_free(&r);
    CHECK_INT(send_req(c, "POST", url, "{}", 3000, &r, NULL), 0);
    CHECK_STR(r.body.data, "ok");
    telemetry__http_response_free(&r);
    CHECK_INT(send_req(c, "POST", url, "{}", 3000, &r, NULL), 0);
    CHECK_STR(r.body.data, "until close");
    telemetry__http_response_free(&r);
    CHECK_INT(c->connects, 2);
    stop_child(p);

    /* a kept-alive connection the server drops before answering: reconnect once, resend */
    p = mini_start(AF_INET, stale, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    CHECK_INT(send_status(c, "POST", url, "{}", 3000), 200);
    CHECK_INT(send_req(c, "POST", url, "{}", 3000, &r, NULL), 0);
    CHECK_STR(r.body.data, "2");
    telemetry__http_response_free(&r);
    CHECK_INT(c->connects, 4);
    CHECK_INT(send_req(c, "POST", url, "{}", 3000, &r, NULL), TELEMETRY_ERR_NETWORK);   /* ...and closed */
    CHECK(strstr(last_log, "before the end of the body") != NULL);
    CHECK_INT(c->connects, 4);                                     /* an answer began: no resend */
    stop_child(p);
    CHECK_INT(send_req(c, "POST", url, "{}", 3000, &r, NULL), TELEMETRY_ERR_NETWORK);    /* server gone */

    /* a server that accepts and never speaks TLS: the handshake is bounded by the deadline */
    p = mini_start(AF_INET, silent, &port);
    snprintf(url, sizeof url, "https://localhost:%d/", port);
    CHECK_INT(send_req(c, "POST", url, "{}", 500, &r, &ms), TELEMETRY_ERR_TIMEOUT);
    CHECK(ms >= 450 && ms <= 600);
    stop_child(p);

    /* ::1 when the machine has IPv6 loopback */
    p = mini_start(AF_INET6, v6, &port);
    if (p > 0) {
        snprintf(url, sizeof url, "http://[::1]:%d/x", port);
        CHECK_INT(send_status(c, "PUT", url, "{}", 3000), 204);
        stop_child(p);
    } else printf("test_tls: no IPv6 loopback here, ::1 not tested\n");
    telemetry__http_client_free(c);
}

/* Through tinyproxy: CONNECT for https, absolute-form for http, Basic auth, no_proxy */
static void test_proxy(sink *a) {
    const char *dir = make_temp_dir();
    char conf[128], logf[128], text[512], proxy[128], url[200];
    char *argv[5];
    telemetry__transport_config cfg;
    telemetry__http_client *c;
    int port = free_port(), i, up = 0, lines;
    pid_t pid;
    if (access("/usr/bin/tinyproxy", X_OK) != 0 && access("/usr/sbin/tinyproxy", X_OK) != 0) {
        fprintf(stderr, "tinyproxy is not installed: the proxy tests cannot run\n");
        CHECK(0);
        return;
    }
    snprintf(conf, sizeof conf, "%s/tinyproxy.conf", dir);
    snprintf(logf, sizeof logf, "%s/tinyproxy.log", dir);
    snprintf(text, sizeof text, "Port %d\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nConnectPort %d\nLogFile \"%s\"\n"
             "LogLevel Info\nMaxClients 20\nBasicAuth user pass\n", port, a->https, logf);
    write_text(conf, text);
    argv[0] = (char *)(access("/usr/bin/tinyproxy", X_OK) == 0 ? "/usr/bin/tinyproxy" : "/usr/sbin/tinyproxy");
    argv[1] = (char *)"-d"; argv[2] = (char *)"-c"; argv[3] = conf; argv[4] = NULL;
    pid = spawn(argv);
    for (i = 0; i < 300 && !up; i++) {                             /* wait until it listens */
        telemetry__net n;
        if (telemetry__net_connect(&n, NULL, "127.0.0.1", (unsigned)port, telemetry__monotonic_ms() + 200) == 0) up = 1;
        telemetry__net_close(&n);
        if (!up) sleep_ms(10);
    }
    CHECK(up);
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = "tests/certs/ca.pem";
    cfg.use_proxy_env = 1;
    lines = record_lines(a);
    /* without credentials: 407 */
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", port);
    setenv("https_proxy", proxy, 1); setenv("http_proxy", proxy, 1); unsetenv("no_proxy"); unsetenv("NO_PROXY");
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    snprintf(url, sizeof url, "https://localhost:%d/t/p.json", a->https);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_NETWORK);
    CHECK(strstr(last_log, "407") != NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_sink/stats", a->http);   /* no body: tinyproxy */
    CHECK_INT(send_status(c, "GET", url, NULL, 5000), 407);               /* resets on unread ones */
    telemetry__http_client_free(c);
    /* with credentials (percent-encoded): delivered through the proxy */
    snprintf(proxy, sizeof proxy, "http://user:%%70ass@127.0.0.1:%d/", port);
    setenv("HTTPS_PROXY", proxy, 1); unsetenv("https_proxy");
    setenv("http_proxy", proxy, 1);
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    snprintf(url, sizeof url, "https://localhost:%d/t/p.json", a->https);
    CHECK_INT(send_status(c, "PUT", url, "{\"via\":\"connect\"}", 5000), 200);
    CHECK_INT(send_status(c, "PUT", url, "{\"via\":\"connect\"}", 5000), 200);
    CHECK_INT(c->connects, 1);                                      /* the tunnel is kept alive */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/t/p.json", a->http);
    CHECK_INT(send_status(c, "PUT", url, "{\"via\":\"absolute\"}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(record_lines(a) - lines, 3);
    snprintf(text, sizeof text, "CONNECT localhost:%d", a->https);
    CHECK(strstr(read_text(logf), text) != NULL);
    snprintf(text, sizeof text, "http://127.0.0.1:%d/t/p.json", a->http);
    CHECK(strstr(read_text(logf), text) != NULL);
    /* no_proxy: straight to the server, even with a dead proxy configured */
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", free_port());
    setenv("HTTPS_PROXY", proxy, 1); setenv("http_proxy", proxy, 1);
    setenv("no_proxy", "example.com, .localhost,127.0.0.1", 1);
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    snprintf(url, sizeof url, "https://localhost:%d/t/np.json", a->https);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/t/np.json", a->http);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    unsetenv("no_proxy");
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);           /* the dead proxy is used: error */
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_NETWORK);
    telemetry__http_client_free(c);
    setenv("http_proxy", "socks5://127.0.0.1:1080", 1);            /* unsupported proxies are not skipped */
    CHECK_INT(telemetry__http_client_new(&c, &cfg), 0);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), TELEMETRY_ERR_NETWORK);
    CHECK(strstr(last_log, "http_proxy") != NULL);
    telemetry__http_client_free(c);
    unsetenv("http_proxy"); unsetenv("HTTPS_PROXY");
    stop_child(pid);
    rm_tree(dir);
}

/* TLS sessions kept across runs: a new connection object (the next run) with the same session file
   resumes (the sink counts it), the file is owner-only, a connection object without the file or
   with a spoiled one makes a full handshake, and consent revoked deletes the file. */
static telemetry__http_client *client_sessions(const char *file) {
    telemetry__http_client *c = NULL;
    telemetry__transport_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = "tests/certs/ca.pem";
    cfg.tls_session_file = file;
    if (telemetry__http_client_new(&c, &cfg) != 0) { fprintf(stderr, "client_new failed\n"); exit(2); }
    return c;
}
static void test_resumption(sink *a) {
    char *dir = make_temp_dir(), file[600], url[200];
    telemetry__http_client *ctl = client(NULL), *c;
    struct stat st;
    long resumed0 = sink_stat(ctl, a, "tls_resumed");
    FILE *f;
    snprintf(file, sizeof file, "%s/tls_sessions", dir);
    snprintf(url, sizeof url, "https://localhost:%d/t/resume.json", a->https);
    CHECK(resumed0 >= 0);
    c = client_sessions(file);                                       /* first run: full handshake */
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(sink_stat(ctl, a, "tls_resumed"), resumed0);
    CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(strstr(read_text(file), "localhost:") == read_text(file));
    c = client_sessions(file);                                       /* next run: resumed */
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(sink_stat(ctl, a, "tls_resumed"), resumed0 + 1);
    c = client_sessions(NULL);                                       /* no file: full */
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(sink_stat(ctl, a, "tls_resumed"), resumed0 + 1);
    f = fopen(file, "w");                                            /* spoiled: full, then kept anew */
    if (f) { fputs("localhost:1 0303 c02b zz 00\ngarbage\n", f); fclose(f); }
    snprintf(url, sizeof url, "https://localhost:%d/t/resume.json", a->https);
    f = fopen(file, "a");
    if (f) { fprintf(f, "localhost:%d 0303 c02b 0011 %096d\n", a->https, 0); fclose(f); }   /* unknown id */
    c = client_sessions(file);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(sink_stat(ctl, a, "tls_resumed"), resumed0 + 1);
    c = client_sessions(file);
    CHECK_INT(send_status(c, "PUT", url, "{}", 5000), 200);
    telemetry__http_client_free(c);
    CHECK_INT(sink_stat(ctl, a, "tls_resumed"), resumed0 + 2);
    {   /* one line per host: the other lines are kept, this host's replaced */
        const char *t = read_text(file);
        int lines = 0;
        for (; *t; t++) lines += *t == '\n';
        CHECK_INT(lines, 3);
    }
    telemetry__http_client_free(ctl);
    rm_tree(dir);
}

/* ---- trust anchors: the library's reader against BearSSL's X.509 decoder ----------------------- */
static int anchors_total, anchors_differ;
static void anchor_append(void *ctx, const void *buf, size_t len) { telemetry__buf_append((telemetry__buf *)ctx, buf, len); }
static void anchor_compare(void *ctx, const unsigned char *der, size_t len) {
    br_x509_decoder_context dc;
    telemetry__buf dn;
    const br_x509_pkey *pk;
    telemetry__anchor_parts a;
    int ours, same;
    (void)ctx;
    telemetry__buf_init(&dn);
    br_x509_decoder_init(&dc, anchor_append, &dn);
    br_x509_decoder_push(&dc, der, len);
    pk = br_x509_decoder_get_pkey(&dc);
    ours = telemetry__anchor_parse(der, len, &a) == 0;
    if (!pk || (pk->key_type != BR_KEYTYPE_RSA && pk->key_type != BR_KEYTYPE_EC)) same = !ours;
    else {
        same = ours && a.key_type == pk->key_type && a.dn_len == dn.len && memcmp(a.dn, dn.data, dn.len) == 0 &&
               a.is_ca == (br_x509_decoder_isCA(&dc) ? 1 : 0);
        if (same && pk->key_type == BR_KEYTYPE_RSA)
            same = a.n_len == pk->key.rsa.nlen && memcmp(a.n, pk->key.rsa.n, a.n_len) == 0 &&
                   a.e_len == pk->key.rsa.elen && memcmp(a.e, pk->key.rsa.e, a.e_len) == 0;
        else if (same)
            same = a.curve == pk->key.ec.curve && a.q_len == pk->key.ec.qlen && memcmp(a.q, pk->key.ec.q, a.q_len) == 0;
    }
    anchors_total++;
    if (!same) anchors_differ++;
    telemetry__buf_free(&dn);
}
/* The name, key and CA flag of every certificate of the system bundle and of tests/certs/, as
   BearSSL's decoder reads them (trust anchors are read without it: ~12x fewer instructions). */
/* ---- what is offered: curves and suites against openssl s_server (docs/transport.md) ----------- */
/* Starts openssl s_server (-www: a GET gets a status page) on a free port, TLS 1.2 only, with
   extra arguments; 0 and the port once it accepts connections, -1 without openssl. */
static pid_t ossl_start(const char *cert, const char *key, const char *opt, const char *val, int *port) {
    char acc[64];
    char *argv[16];
    int i;
    *port = free_port();
    snprintf(acc, sizeof acc, "127.0.0.1:%d", *port);
    argv[0] = (char *)"/usr/bin/openssl"; argv[1] = (char *)"s_server"; argv[2] = (char *)"-accept"; argv[3] = acc;
    argv[4] = (char *)"-cert"; argv[5] = (char *)cert; argv[6] = (char *)"-key"; argv[7] = (char *)key;
    argv[8] = (char *)"-tls1_2"; argv[9] = (char *)"-www"; argv[10] = (char *)"-quiet";
    argv[11] = (char *)opt; argv[12] = (char *)val; argv[13] = NULL;
    if (access(argv[0], X_OK) != 0) return -1;
    {
        pid_t pid = spawn(argv);
        for (i = 0; i < 500; i++) {
            struct sockaddr_in a;
            int s = socket(AF_INET, SOCK_STREAM, 0), ok;
            memset(&a, 0, sizeof a);
            a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); a.sin_port = htons((unsigned short)*port);
            ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
            close(s);
            if (ok) return pid;
            sleep_ms(10);
        }
        stop_child(pid);
    }
    return -1;
}
/* One GET against s_server configured with opt val: the status, or the error. */
static int ossl_get(const char *ca, const char *cert, const char *key, const char *opt, const char *val) {
    int port, rc;
    char url[100];
    telemetry__http_client *c;
    pid_t pid = ossl_start(cert, key, opt, val, &port);
    if (pid < 0) { fprintf(stderr, "openssl s_server %s %s did not start\n", opt, val); return -999; }
    c = client(ca);
    snprintf(url, sizeof url, "https://localhost:%d/", port);
    rc = send_status(c, "GET", url, NULL, 10000);
    telemetry__http_client_free(c);
    stop_child(pid);
    return rc;
}
/* The library offers X25519, P-256, P-384 and P-521 (P-256 beside X25519 by BearSSL's generic
   code, not br_ec_p256_m31) and ECDHE with AES-GCM only: a server limited to any one of those
   curves is reached, with P-384 certificates and SHA-384 signatures too; a server offering
   only ChaCha20-Poly1305 is not (left out for size). */
static void test_offered(void) {
    char *dir = make_temp_dir(), cmd[2048], ca[600], leaf[600], key[600];
    snprintf(ca, sizeof ca, "%s/ca384.pem", dir);
    snprintf(leaf, sizeof leaf, "%s/leaf384.pem", dir);
    snprintf(key, sizeof key, "%s/leaf384.key", dir);
    snprintf(cmd, sizeof cmd,
             "cd %s && printf 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth\\n' >ext && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca384.key -out ca384.pem "
             "-days 30 -subj '/CN=P-384 test CA' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign -sha384 && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout leaf384.key -out leaf.csr -subj /CN=localhost && "
             "openssl x509 -req -in leaf.csr -CA ca384.pem -CAkey ca384.key -set_serial 7 -days 30 -sha384 -extfile ext -out leaf384.pem >/dev/null 2>&1",
             dir);
    if (system(cmd) != 0) cmd[0] = 0;
    CHECK(cmd[0] != 0);
    CHECK_INT(ossl_get("tests/certs/ca.pem", "tests/certs/server.pem", "tests/certs/server.key", "-groups", "X25519"), 200);
    CHECK_INT(ossl_get("tests/certs/ca.pem", "tests/certs/server.pem", "tests/certs/server.key", "-groups", "P-256"), 200);
    CHECK_INT(ossl_get("tests/certs/ca.pem", "tests/certs/server.pem", "tests/certs/server.key", "-groups", "P-521"), 200);
    CHECK_INT(ossl_get("tests/certs/ca.pem", "tests/certs/server-rsa.pem", "tests/certs/server-rsa.key", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"), 200);
    CHECK_INT(ossl_get(ca, leaf, key, "-groups", "P-384"), 200);       /* P-384 chain, key exchange and signatures */
    CHECK_INT(ossl_get("tests/certs/ca.pem", "tests/certs/server.pem", "tests/certs/server.key", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"),
              TELEMETRY_ERR_TLS);
    rm_tree(dir);
}

static void test_anchor_parse(void) {
    static const char *const files[] = {
        "/etc/ssl/certs/ca-certificates.crt", "tests/certs/ca.pem", "tests/certs/server.pem", "tests/certs/server-rsa.pem",
        "tests/certs/expired.pem", "tests/certs/sha1.pem", "tests/certs/untrusted-ca.pem", "tests/certs/untrusted.pem",
        "tests/certs/weakrsa.pem", "tests/certs/wronghost.pem", NULL };
    int i, bundle = 0;
    for (i = 0; files[i]; i++) {
        char *text = NULL;
        size_t len = 0;
        int err;
        if (telemetry__read_file(files[i], 1u << 22, &text, &len, &err) != 0) continue;
        telemetry__pem_certificates(text, len, anchor_compare, NULL);
        if (i == 0) bundle = anchors_total;
        telemetry__free(text);
    }
    CHECK_INT(anchors_differ, 0);
    CHECK(anchors_total >= 9 + (bundle ? 1 : 0));
    printf("test_tls: %d certificates read as BearSSL's decoder reads them (%d from the system bundle)\n", anchors_total, bundle);
    {   /* an object that is never closed does not swallow the certificate after it */
        static const char *const heads[] = { "-----BEGIN CERTIFICATE-----\nMIIBcz\n", "-----BEGIN CERTIFICATE-----\n",
                                             "-----BEGIN PRIVATE KEY-----\nMIIB\n" };
        const char *ca = read_text("tests/certs/ca.pem");
        char text[8192];
        int before = anchors_total;
        for (i = 0; i < 3; i++) {
            snprintf(text, sizeof text, "%s%s", heads[i], ca);
            telemetry__pem_certificates(text, strlen(text), anchor_compare, NULL);
        }
        CHECK_INT(anchors_total - before, 3);
        CHECK_INT(anchors_differ, 0);
    }
}

int main(void) {
    sink a;
    int fds;
    signal(SIGPIPE, SIG_DFL);              /* a SIGPIPE would kill us: the library must avoid it */
    telemetry__log_sink.fn = capture_log;
    atexit(stop_all);
    if (access("build/telemetry_sink", X_OK) != 0) {
        fprintf(stderr, "build/telemetry_sink is missing: run make build/telemetry_sink from the repo root\n");
        CHECK(0);
        return testlib_report("test_tls");
    }
    test_anchor_parse();
    fds = count_entries("/proc/self/fd");              /* -1 where there is no /proc */
    if (sink_start(&a, "server") != 0) { CHECK(0); return testlib_report("test_tls"); }
    test_delivery(&a);
    test_failures(&a);
    test_bad_certs();
    test_config(&a);
    test_scripted();
    test_proxy(&a);
    test_resumption(&a);
    test_offered();
    sink_stop(&a);
    if (fds >= 0) CHECK_INT(count_entries("/proc/self/fd"), fds);    /* every socket was closed */
    return testlib_report("test_tls");
}
