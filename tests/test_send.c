/* test_send.c - end to end through the public API only (telemetry_init, telemetry_count,
   telemetry_report_usage, telemetry_capture_message, telemetry_capture_error, telemetry_flush,
   telemetry_shutdown) against the local receiver (telemetry_sink) over HTTPS and plain HTTP:
   Firebase PUTs under a push id with print=silent, POSTs to other endpoints, Sentry envelopes
   with the right key and event ids, stack traces and images, sessions (init, exited, abnormal
   after a run that never reached shutdown), and 401s that drop a payload without a retry.
   Run from the repository root; every wait is bounded. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include "sink_helpers.h"

#define KEY   "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"
#define WRONG "0123456789abcdef0123456789abcdef"
#define TOKEN "tok-e2e-123"

TELEMETRY_METRIC(e2e_answer, "A fixed number the end-to-end test looks for") { return telemetry_int(42); }

static const char *self_path;

/* A config for one run: state in dir, trust in the test CA, logs collected, quick retries. */
static telemetry_config base_config(const char *dir) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "e2e";
    cfg.app_version = "1.2.3";
    cfg.state_dir = dir;
    cfg.ca_file = "tests/certs/ca.pem";
    cfg.log_fn = sh_log_fn;
    cfg.retry_initial_ms = 50;
    cfg.retry_max_ms = 200;
    cfg.timeout_ms = 5000;
    cfg.no_crash_handler = 1;
    return cfg;
}

/* The record lines a run added (from line `from` on), malloc'd, one per line. */
typedef struct lines { char *v[64]; int n; } lines;
static void lines_since(const sink *s, int from, lines *out) {
    char *text = sh_read_file(s->record), *l;
    out->n = 0;
    while (out->n < 64 && (l = sh_line(text, from + out->n)) != NULL) out->v[out->n++] = l;
    free(text);
}
static void lines_free(lines *l) { int i; for (i = 0; i < l->n; i++) free(l->v[i]); l->n = 0; }
static int push_id_ok(const char *p, size_t n) {
    size_t i;
    if (n != 20) return 0;
    for (i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') || p[i] == '-' || p[i] == '_'))
            return 0;
    return 1;
}

/* (a) usage report to a Firebase URL: PUT /metrics/app/<push id>.json?auth=..&print=silent -> 204 */
static void test_usage_firebase(sink *s, int tls) {
    char *dir = make_temp_dir(), url[256], path[128];
    telemetry_config cfg = base_config(dir);
    lines got;
    int from = sink_record_lines(s);
    const char *l, *p;
    snprintf(url, sizeof url, "%s://localhost:%d/metrics/app.json?auth=" TOKEN, tls ? "https" : "http", tls ? s->https : s->http);
    cfg.usage_url = url;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("runs", 3), 0);
    CHECK_INT(telemetry_count("files_seen", 7), 0);
    CHECK_INT(telemetry_count("files_seen", 1), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    lines_since(s, from, &got);
    CHECK_INT(got.n, 1);
    l = got.n ? got.v[0] : "";
    CHECK(strstr(l, "\"kind\":\"firebase\"") != NULL);
    CHECK(strstr(l, tls ? "\"tls\":true" : "\"tls\":false") != NULL);
    CHECK(strstr(l, "\"method\":\"PUT\"") != NULL);
    sh_json_str(l, "path", path, sizeof path);
    CHECK(strncmp(path, "/metrics/app/", 13) == 0 && strlen(path) == 13 + 20 + 5 && strcmp(path + 33, ".json") == 0);
    CHECK(push_id_ok(path + 13, strlen(path) >= 33 ? 20 : 0));
    CHECK(strstr(l, "\"query\":\"auth=" TOKEN "&print=silent\"") != NULL);
    CHECK(strstr(l, "\"status\":204") != NULL);
    p = strstr(l, "\"body\":{");
    CHECK(p != NULL);
    if (p) {
        CHECK(strstr(p, "\"app\":\"e2e\"") != NULL);
        CHECK(strstr(p, "\"version\":\"1.2.3\"") != NULL);
        CHECK(strstr(p, "\"install_id\":\"") != NULL);
        CHECK(strstr(p, "\"metrics\":{") != NULL);
        CHECK(strstr(p, "\"e2e_answer\":42") != NULL);
        CHECK(strstr(p, "\"first_run\":true") != NULL);
        CHECK(strstr(p, "\"counters\":{") != NULL);
        CHECK(strstr(p, "\"runs\":3") != NULL);
        CHECK(strstr(p, "\"files_seen\":8") != NULL);
    }
    {
        char *st = sink_stats(s);
        CHECK_INT(sh_map_get(st, "firebase_paths", path), 1);
        free(st);
    }
    CHECK_INT(outbox_files(dir), 0);
    lines_free(&got);
    rm_tree(dir);
}

/* (a) a wrong token: 401, dropped at once, never retried, nothing left on disk */
static void test_usage_wrong_token(sink *s) {
    char *dir = make_temp_dir(), url[256];
    telemetry_config cfg = base_config(dir);
    int from = sink_record_lines(s);
    long rejected0 = sink_stat(s, "rejected"), requests0 = sink_stat(s, "requests");
    snprintf(url, sizeof url, "https://localhost:%d/metrics/app.json?auth=not-the-token", s->https);
    cfg.usage_url = url;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);                 /* dropped: the queue is empty */
    sh_sleep_ms(600);                                      /* three retry periods: none may come */
    CHECK_INT(outbox_files(dir), 0);
    telemetry_shutdown();
    /* one payload request, and the two stats requests of ours */
    CHECK_INT(sink_stat(s, "rejected") - rejected0, 1);
    CHECK_INT(sink_stat(s, "requests") - requests0, 1 + 2);
    CHECK_INT(sink_record_lines(s) - from, 0);
    CHECK_INT(sh_log_count("answered HTTP 401"), 1);
    CHECK_INT(outbox_files(dir), 0);
    rm_tree(dir);
}

/* ---- a one-shot plain-HTTP server in a thread: keeps the request, answers 200 ---------------- */
typedef struct mini { int fd, port; char req[65536]; size_t len; } mini;
static void *mini_main(void *arg) {
    mini *m = (mini *)arg;
    struct pollfd pfd;
    int c = -1;
    double end = sh_now_ms() + 8000;
    long need = -1;
    pfd.fd = m->fd; pfd.events = POLLIN; pfd.revents = 0;
    if (poll(&pfd, 1, 8000) == 1) c = accept(m->fd, NULL, NULL);
    while (c >= 0 && sh_now_ms() < end && (need < 0 || m->len < (size_t)need)) {
        ssize_t n;
        char *hend;
        pfd.fd = c; pfd.events = POLLIN; pfd.revents = 0;
        if (poll(&pfd, 1, 200) != 1) continue;
        n = read(c, m->req + m->len, sizeof m->req - 1 - m->len);
        if (n <= 0) break;
        m->len += (size_t)n;
        m->req[m->len] = 0;
        if (need < 0 && (hend = strstr(m->req, "\r\n\r\n")) != NULL) {
            char *cl = strstr(m->req, "Content-Length: ");
            need = (long)(hend + 4 - m->req) + (cl ? strtol(cl + 16, NULL, 10) : 0);
        }
    }
    if (c >= 0) {
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        if (write(c, answer, sizeof answer - 1) < 0) {}
        close(c);
    }
    return NULL;
}
static int mini_start(mini *m, pthread_t *t) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    memset(m, 0, sizeof *m);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(m->fd, 4) != 0 ||
        getsockname(m->fd, (struct sockaddr *)&a, &l) != 0) return -1;
    m->port = ntohs(a.sin_port);
    return pthread_create(t, NULL, mini_main, m);
}

/* (a) a URL that does not end in .json gets a POST: to a server of ours over plain HTTP (the
   whole request is checked), and to the sink over HTTPS (its log shows the POST; it answers 404
   to paths without .json, so the report is dropped as a 4xx) */
static void test_usage_post(sink *s) {
    char *dir = make_temp_dir(), url[256];
    telemetry_config cfg = base_config(dir);
    mini m;
    pthread_t t;
    char *out;
    const char *body;
    if (mini_start(&m, &t) != 0) { CHECK(0); rm_tree(dir); return; }
    snprintf(url, sizeof url, "http://localhost:%d/v1/usage?key=abc", m.port);
    cfg.usage_url = url;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("posts", 2), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    pthread_join(t, NULL);
    close(m.fd);
    CHECK(strncmp(m.req, "POST /v1/usage?key=abc HTTP/1.1\r\n", 33) == 0);
    CHECK(strstr(m.req, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strstr(m.req, "print=silent") == NULL);
    body = strstr(m.req, "\r\n\r\n");
    CHECK(body && body[4] == '{' && strstr(body, "\"e2e_answer\":42") && strstr(body, "\"posts\":2"));
    CHECK(body && strstr(body, "server_time") == NULL);           /* Firebase's ".sv" is for Firebase */
    CHECK_INT(outbox_files(dir), 0);

    snprintf(url, sizeof url, "https://localhost:%d/v1/usage", s->https);
    cfg.usage_url = url;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    out = sh_read_file(s->out);
    CHECK(strstr(out, "https POST /v1/usage -> 404") != NULL);
    CHECK_INT(sh_count_substr(out, "POST /v1/usage"), 1);
    free(out);
    CHECK_INT(sh_log_count("answered HTTP 404"), 1);
    CHECK_INT(outbox_files(dir), 0);
    rm_tree(dir);
}

/* The item payload of a given type in an envelope record line ("" when absent), copied. */
static const char *item_payload(const char *line, const char *type, char *out, size_t cap) {
    char needle[64];
    const char *p, *q;
    int depth = 0;
    size_t n;
    out[0] = 0;
    snprintf(needle, sizeof needle, "\"type\":\"%s\"", type);
    p = strstr(line, needle);
    if (!p || !(p = strstr(p, "\"payload\":{"))) return out;
    p += 10;
    for (q = p; *q; q++) {                 /* to the matching brace (strings hold no braces here) */
        if (*q == '{') depth++;
        else if (*q == '}' && --depth == 0) break;
    }
    n = (size_t)(q - p + 1) < cap - 1 ? (size_t)(q - p + 1) : cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

/* (b) a message and an error arrive as envelopes with the right key and event ids; the error has
   a stack trace and images; the session arrives with init first and exited at shutdown */
static void test_sentry(sink *s, int tls) {
    char *dir = make_temp_dir(), dsn[256], sid[40] = "", eid[40], pay[32768], *st;
    telemetry_config cfg = base_config(dir);
    lines got;
    int from = sink_record_lines(s), i, n_events = 0;
    snprintf(dsn, sizeof dsn, "%s://" KEY "@localhost:%d/42", tls ? "https" : "http", tls ? s->https : s->http);
    cfg.sentry_dsn = dsn;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "hello %d from e2e", 7), 0);
    CHECK_INT(telemetry_capture_error("ConfigError", "bad value '%s'", "x"), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    lines_since(s, from, &got);
    CHECK_INT(got.n, 3);                              /* message, error, the final session */
    for (i = 0; i < got.n; i++) {
        const char *l = got.v[i];
        char hdr_id[40], ev[40], sess[4096];
        CHECK(strstr(l, "\"kind\":\"envelope\"") != NULL);
        CHECK(strstr(l, tls ? "\"tls\":true" : "\"tls\":false") != NULL);
        CHECK(strstr(l, "\"path\":\"/api/42/envelope/\"") != NULL);
        CHECK(strstr(l, "\"sentry_key\":\"" KEY "\"") != NULL);
        CHECK(strstr(l, "\"status\":200") != NULL);
        CHECK(strstr(l, "\"warnings\":[\"") == NULL);
        if (strstr(l, "\"warnings\":[\"")) fprintf(stderr, "sink warnings: %s\n", strstr(l, "\"warnings\""));
        item_payload(l, "event", pay, sizeof pay);
        item_payload(l, "session", sess, sizeof sess);
        if (pay[0]) {
            n_events++;
            /* the envelope header's id is the event's */
            sh_json_str(l, "event_id", hdr_id, sizeof hdr_id);
            sh_json_str(pay, "event_id", ev, sizeof ev);
            CHECK(strlen(hdr_id) == 32 && strcmp(hdr_id, ev) == 0);
            if (i == 0) {
                CHECK(strstr(pay, "\"level\":\"info\"") != NULL);
                CHECK(strstr(pay, "\"logentry\":{\"formatted\":\"hello 7 from e2e\"}") != NULL);
                CHECK(strstr(pay, "\"release\":\"e2e@1.2.3\"") != NULL);
                /* the session's first word rides with the first event */
                CHECK(strstr(sess, "\"init\":true") != NULL && strstr(sess, "\"status\":\"ok\"") != NULL);
                CHECK(strstr(sess, "\"errors\":0") != NULL);
                sh_json_str(sess, "sid", sid, sizeof sid);
                CHECK_INT(strlen(sid), 32);
                snprintf(eid, sizeof eid, "%s", hdr_id);
            } else if (i == 1) {
                CHECK(strstr(pay, "\"level\":\"error\"") != NULL);
                CHECK(strstr(pay, "\"exception\":{\"values\":[{\"type\":\"ConfigError\",\"value\":\"bad value 'x'\"") != NULL);
                CHECK(strstr(pay, "\"mechanism\":{\"type\":\"generic\",\"handled\":true}") != NULL);
                CHECK(strstr(pay, "\"stacktrace\":{\"frames\":[{\"instruction_addr\":\"0x") != NULL);
                CHECK(strstr(pay, "\"instruction_addr_adjustment\":\"all\"") != NULL);
                CHECK(strstr(pay, "\"debug_meta\":{\"images\":[{\"type\":\"elf\",\"image_addr\":\"0x") != NULL);
                {                                                         /* this program is an image */
                    const char *base = strrchr(self_path, '/');
                    char needle[300];
                    snprintf(needle, sizeof needle, "%s\"", base ? base + 1 : self_path);
                    CHECK(strstr(pay, needle) != NULL);
                }
                CHECK(strstr(pay, "\"debug_id\":\"") != NULL && strstr(pay, "\"code_id\":\"") != NULL);
                CHECK(strcmp(hdr_id, eid) != 0);
                /* an error updates the session: errors 1, no second init */
                sh_json_str(sess, "sid", ev, sizeof ev);
                CHECK_STR(ev, sid);
                CHECK(strstr(sess, "\"errors\":1") != NULL && strstr(sess, "\"init\"") == NULL);
            }
        } else {
            /* the last word: exited, with a duration */
            CHECK_INT(i, 2);
            CHECK(strstr(l, "\"event_id\":null") != NULL);
            sh_json_str(sess, "sid", ev, sizeof ev);
            CHECK_STR(ev, sid);
            CHECK(strstr(sess, "\"status\":\"exited\"") != NULL && strstr(sess, "\"duration\":") != NULL);
            CHECK(strstr(sess, "\"errors\":1") != NULL && strstr(sess, "\"init\"") == NULL);
        }
    }
    CHECK_INT(n_events, 2);
    st = sink_stats(s);
    CHECK_INT(sh_map_get(st, "event_ids", eid), 1);
    free(st);
    CHECK_INT(outbox_files(dir), 0);
    CHECK_INT(sh_log_count("warning:") + sh_log_count("error:"), 0);
    if (sh_log_count("warning:")) sh_log_dump("test_sentry");
    lines_free(&got);
    rm_tree(dir);
}

/* (c) a run that ends without telemetry_shutdown (a child that _exit()s): the next run reports
   that run's session as abnormal */
static int child_init_and_exit(const char *dsn, const char *dir) {
    telemetry_config cfg = base_config(dir);
    cfg.sentry_dsn = dsn;
    cfg.log_fn = NULL;
    if (telemetry_init(&cfg) != TELEMETRY_OK) _exit(3);
    telemetry_count("work", 1);                  /* the run's first work starts the session */
    _exit(0);
}
static void test_abnormal(sink *s) {
    char *dir = make_temp_dir(), dsn[256], path[256], child_sid[40], sid[40], sess[4096];
    char *argv[5], *text;
    telemetry_config cfg = base_config(dir);
    lines got;
    int from, st, i, abnormal = 0, exited = 0;
    pid_t pid;
    snprintf(dsn, sizeof dsn, "https://" KEY "@localhost:%d/42", s->https);
    argv[0] = (char *)self_path; argv[1] = (char *)"--child-init-exit"; argv[2] = dsn; argv[3] = dir; argv[4] = NULL;
    from = sink_record_lines(s);
    pid = sh_spawn(argv, NULL);
    st = sh_reap(pid, 10000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(path, sizeof path, "%s/session", dir);
    text = sh_read_file(path);
    CHECK(strstr(text, "status=ok\n") != NULL);                 /* left behind by the child */
    {
        const char *p = strstr(text, "sid=");
        snprintf(child_sid, sizeof child_sid, "%.32s", p ? p + 4 : "");
    }
    free(text);
    CHECK_INT(sink_record_lines(s), from);                      /* the child sent nothing */
    cfg.sentry_dsn = dsn;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    lines_since(s, from, &got);
    CHECK_INT(got.n, 2);                                         /* abnormal, then this run's exited */
    for (i = 0; i < got.n; i++) {
        item_payload(got.v[i], "session", sess, sizeof sess);
        sh_json_str(sess, "sid", sid, sizeof sid);
        if (strstr(sess, "\"status\":\"abnormal\"")) {
            abnormal++;
            CHECK_STR(sid, child_sid);
            CHECK(strstr(sess, "\"duration\":") != NULL);
        } else if (strstr(sess, "\"status\":\"exited\"")) {
            exited++;
            CHECK(strcmp(sid, child_sid) != 0);
        }
    }
    CHECK_INT(abnormal, 1);
    CHECK_INT(exited, 1);
    CHECK_INT(outbox_files(dir), 0);
    CHECK(!path_exists(path));                                   /* a clean end leaves no session */
    lines_free(&got);
    rm_tree(dir);
}

/* (d) a DSN whose key the server refuses: 401, dropped, logged, never retried */
static void test_wrong_key(sink *s) {
    char *dir = make_temp_dir(), dsn[256];
    telemetry_config cfg = base_config(dir);
    int from = sink_record_lines(s);
    long rejected0 = sink_stat(s, "rejected");
    snprintf(dsn, sizeof dsn, "https://" WRONG "@localhost:%d/42", s->https);
    cfg.sentry_dsn = dsn;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_WARNING, "refused %s", "key"), 0);
    CHECK_INT(telemetry_flush(10000), 0);                   /* dropped: the queue is empty */
    sh_sleep_ms(600);                                       /* several retry periods */
    CHECK_INT(sink_stat(s, "rejected") - rejected0, 1);
    CHECK_INT(outbox_files(dir), 0);
    CHECK_INT(sh_log_count("answered HTTP 401"), 1);
    CHECK_INT(sh_log_count("refused and is dropped"), 1);
    telemetry_shutdown();                                    /* the session's last word: refused too */
    CHECK_INT(sink_stat(s, "rejected") - rejected0, 2);
    CHECK_INT(sh_log_count("answered HTTP 401"), 2);
    CHECK_INT(sink_record_lines(s) - from, 0);
    CHECK_INT(outbox_files(dir), 0);
    rm_tree(dir);
}

int main(int argc, char **argv) {
    static const char *const extra[] = { "--sentry-key", KEY, "--firebase-auth", TOKEN, NULL };
    sink s;
    double t0 = sh_now_ms();
    if (argc == 4 && strcmp(argv[1], "--child-init-exit") == 0) return child_init_and_exit(argv[2], argv[3]);
    signal(SIGPIPE, SIG_DFL);                 /* the library must never raise it */
    unsetenv("DO_NOT_TRACK");
    unsetenv("E2E_NO_TELEMETRY");
    unsetenv("TELEMETRY_DEBUG");
    unsetenv("https_proxy"); unsetenv("HTTPS_PROXY"); unsetenv("http_proxy"); unsetenv("HTTP_PROXY");
    self_path = sh_self_path(argv[0]);
    sh_find_sink(argv[0]);
    atexit(sh_stop_all);
    if (sink_start(&s, extra) != 0) { CHECK(0); return testlib_report("test_send"); }
    test_usage_firebase(&s, 1);
    test_usage_firebase(&s, 0);
    test_usage_wrong_token(&s);
    test_usage_post(&s);
    test_sentry(&s, 1);
    test_sentry(&s, 0);
    test_abnormal(&s);
    test_wrong_key(&s);
    sink_stop(&s);
    printf("test_send: %.0f ms\n", sh_now_ms() - t0);
    return testlib_report("test_send");
}
