/* bench_transport.c - telemetry.h's HTTPS client (BearSSL) against libcurl with OpenSSL, doing
   the same POST to the same local receiver, side by side in one run.

   Issue: "One HTTPS POST to the local sink (handshake, request, response) against libcurl with
   OpenSSL doing the same POST to the same sink: within 1.5x of its wall time. With a reused
   connection, at least 2,000 small POSTs a second."

   (a) fresh: one ~1 KB JSON POST on a connection of its own, N times (BENCH_N, default 200),
       alternating which library goes first. Two variants, each compared like with like:
       - "fresh": a new telemetry__http_client per POST (trust anchors parsed, no TLS session
         cached) against a new curl easy handle per POST (new SSL_CTX, CA file parsed, empty
         session cache). This is the first connection a program ever makes.
       - "reconnect": one client / one easy handle for all N, but a new TCP+TLS connection for
         each POST (telemetry__http_close after each; CURLOPT_FORBID_REUSE for curl). Both then
         offer the session they cached, and the sink (BearSSL's session cache) resumes the ones
         it still has: setup costs and, where a session resumes, the key exchange are gone.
       - "resumed": the next run of a program. A new telemetry__http_client per POST, each given
         the same TLS session file (as the library keeps in its state folder), against a new
         client per POST without one (a full handshake): telemetry.h against itself, bound: the
         full handshake at least 3x the resumed one (wall-time medians).
       Wall time covers client creation, DNS ("localhost"), connect, handshake with chain and host
       checks, request, response and teardown. Also the client process's CPU time per POST.
       Done against the EC (P-256) certificate sink and, when BENCH_SINK_RSA_HTTPS is set, an
       RSA-2048 one.
   Bounds (printed beside the figures; the program exits 1 when one is missed): fresh, EC
   certificate: telemetry.h / curl wall-time median <= 1.0; resumed: full / resumed >= 3.
   (b) keep-alive: BENCH_KA (default 5000) small POSTs on one kept-alive connection, for each
       library, BENCH_ROUNDS (default 3) rounds alternating the order; POSTs/s is the median round.
       The same over plain HTTP, to separate TLS from HTTP and from the sink's own cost. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "bench.h"
#include <curl/curl.h>

#define CA_FILE "tests/certs/ca.pem"

static char body_1k[1100];
static size_t body_1k_len;
static const char small_body[] = "{\"n\":1,\"ok\":true}";

/* ---- telemetry.h --------------------------------------------------------------------------- */
static const char *th_session_file;          /* "resumed": the TLS session file, else NULL */
static int bounds_missed;
static telemetry__http_client *th_client(void) {
    telemetry__http_client *c = NULL;
    telemetry__transport_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = CA_FILE;
    cfg.tls_session_file = th_session_file;
    if (telemetry__http_client_new(&c, &cfg) != 0) { fprintf(stderr, "telemetry__http_client_new failed\n"); exit(2); }
    return c;
}
/* One POST with client c; returns the HTTP status or a negative telemetry_result. */
static int th_post(telemetry__http_client *c, const char *url, const char *body, size_t len) {
    telemetry__url u;
    telemetry__http_request req;
    telemetry__http_response resp;
    int rc;
    if (telemetry__url_parse(url, &u) != 0) return TELEMETRY_ERR_INVALID_URL;
    memset(&req, 0, sizeof req);
    req.method = "POST"; req.url = &u; req.content_type = "application/json";
    req.body = body; req.body_len = len;
    rc = telemetry__http_send(c, &req, &resp, telemetry__monotonic_ms() + 10000);
    if (rc == 0) rc = resp.status;
    telemetry__http_response_free(&resp);
    telemetry__url_free(&u);
    return rc;
}
static int th_post_fresh(const char *url) {
    telemetry__http_client *c = th_client();
    int rc = th_post(c, url, body_1k, body_1k_len);
    telemetry__http_client_free(c);
    return rc;
}
static const char *suite_name(unsigned s) {
    switch (s) {
    case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: return "ECDHE-ECDSA-AES128-GCM-SHA256";
    case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: return "ECDHE-RSA-AES128-GCM-SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: return "ECDHE-ECDSA-CHACHA20-POLY1305";
    case BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: return "ECDHE-RSA-CHACHA20-POLY1305";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: return "ECDHE-ECDSA-AES256-GCM-SHA384";
    case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: return "ECDHE-RSA-AES256-GCM-SHA384";
    default: return "?";
    }
}
static const char *curve_name(int id) {
    return id == 23 ? "P-256" : id == 24 ? "P-384" : id == 25 ? "P-521" : id == 29 ? "X25519" : "?";
}

/* ---- libcurl ------------------------------------------------------------------------------- */
static size_t curl_discard(char *p, size_t size, size_t n, void *ud) { (void)p; (void)ud; return size * n; }
static struct curl_slist *curl_headers;
static char curl_tls_info[200];
static int curl_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud) {
    (void)h; (void)ud;
    if (type == CURLINFO_TEXT && size > 20 && strncmp(data, "SSL connection using", 20) == 0)
        snprintf(curl_tls_info, sizeof curl_tls_info, "%.*s", (int)(size && data[size - 1] == '\n' ? size - 1 : size), data);
    return 0;
}
static void curl_setup(CURL *h, const char *url, const char *body, size_t len) {
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, curl_headers);
    curl_easy_setopt(h, CURLOPT_CAINFO, CA_FILE);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);                 /* only the CA file, like telemetry.h */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bench");
}
static int curl_post(CURL *h, long *connects) {
    long code = 0, nc = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) { fprintf(stderr, "curl: %s\n", curl_easy_strerror(rc)); return -1; }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc);
    if (connects) *connects += nc;
    return (int)code;
}
static int curl_post_fresh(const char *url) {
    CURL *h = curl_easy_init();
    int rc;
    if (!h) return -1;
    curl_setup(h, url, body_1k, body_1k_len);
    rc = curl_post(h, NULL);
    curl_easy_cleanup(h);
    return rc;
}

/* ---- (a) one POST per connection --------------------------------------------------------------- */
typedef struct series { double wall_ms[4096], cpu_ms[4096]; int n, failures; } series;
static series s_th, s_curl;

static void print_pair(const char *what, const char *label, int emit) {
    bench_stats a = bench_summary(s_th.wall_ms, (size_t)s_th.n), b = bench_summary(s_curl.wall_ms, (size_t)s_curl.n);
    bench_stats ac = bench_summary(s_th.cpu_ms, (size_t)s_th.n), bc = bench_summary(s_curl.cpu_ms, (size_t)s_curl.n);
    printf("  %-28s %9s %9s %9s %9s   %s\n", what, "median", "p90", "min", "max", "client CPU median");
    printf("  %-28s %7.2fms %7.2fms %7.2fms %7.2fms   %.2f ms%s\n", "telemetry.h (BearSSL)", a.median, a.p90, a.min, a.max, ac.median,
           s_th.failures ? "  FAILURES" : "");
    printf("  %-28s %7.2fms %7.2fms %7.2fms %7.2fms   %.2f ms%s\n", "libcurl (OpenSSL)", b.median, b.p90, b.min, b.max, bc.median,
           s_curl.failures ? "  FAILURES" : "");
    printf("  ratio telemetry.h / curl: median %.2fx, p90 %.2fx (issue: <= 1.5x)   [%d + %d POSTs, %d failed]\n",
           a.median / b.median, a.p90 / b.p90, s_th.n, s_curl.n, s_th.failures + s_curl.failures);
    if (!strcmp(label, "fresh_ec")) {               /* issue 11: a fresh connection no slower than curl */
        printf("  fresh, EC: telemetry.h / curl %.2fx (bound <= 1.0x) %s\n", a.median / b.median, a.median / b.median <= 1.0 ? "ok" : "MISSED");
        if (a.median / b.median > 1.0) bounds_missed = 1;
    }
    if (!emit) return;
    bench_emitf(a.median, "ms", "transport_%s_telemetry_median", label);
    bench_emitf(a.p90, "ms", "transport_%s_telemetry_p90", label);
    bench_emitf(b.median, "ms", "transport_%s_curl_median", label);
    bench_emitf(b.p90, "ms", "transport_%s_curl_p90", label);
    bench_emitf(a.median / b.median, "x", "transport_%s_ratio_median", label);
    bench_emitf(a.p90 / b.p90, "x", "transport_%s_ratio_p90", label);
    bench_emitf(ac.median, "ms", "transport_%s_telemetry_cpu_median", label);
    bench_emitf(bc.median, "ms", "transport_%s_curl_cpu_median", label);
    bench_emitf((double)(s_th.failures + s_curl.failures), "count", "transport_%s_failures", label);
}

static void one_per_connection(const char *cert, int port, int n) {
    char url[200], label[64];
    int i, mode;
    snprintf(url, sizeof url, "https://localhost:%d/bench/fresh.json", port);
    /* what each side negotiates (not timed) */
    {
        telemetry__http_client *c = th_client();
        br_ssl_session_parameters sp;
        CURL *h = curl_easy_init();
        int st = th_post(c, url, body_1k, body_1k_len);
        br_ssl_engine_get_session_parameters(&c->tls->sc.eng, &sp);
        printf("\n-- %s certificate, https://localhost:%d (status %d)\n", cert, port, st);
        printf("  telemetry.h negotiates TLS 1.2 %s, ECDHE %s\n", suite_name(sp.cipher_suite), curve_name(br_ssl_engine_get_ecdhe_curve(&c->tls->sc.eng)));
        telemetry__http_client_free(c);
        curl_setup(h, url, body_1k, body_1k_len);
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, curl_debug);
        curl_tls_info[0] = 0;
        curl_post(h, NULL);
        printf("  libcurl %s: %s\n", curl_version_info(CURLVERSION_NOW)->ssl_version, curl_tls_info[0] ? curl_tls_info : "(not reported)");
        curl_easy_cleanup(h);
    }
    for (mode = 0; mode < 2; mode++) {
        telemetry__http_client *c = NULL;
        CURL *h = NULL;
        long curl_connects = 0;
        memset(&s_th, 0, sizeof s_th);
        memset(&s_curl, 0, sizeof s_curl);
        if (mode == 1) {
            c = th_client();
            h = curl_easy_init();
            curl_setup(h, url, body_1k, body_1k_len);
            curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
            /* warm both up once: the sessions are cached, the anchors loaded */
            th_post(c, url, body_1k, body_1k_len);
            telemetry__http_close(c);
            curl_post(h, NULL);
        } else {
            th_post_fresh(url);                                /* warm-up: page in code, both libraries */
            curl_post_fresh(url);
        }
        for (i = 0; i < 2 * n; i++) {
            int th_turn = (i % 2) == ((i / 2) % 2);             /* order alternates: TC CT TC CT ... */
            series *s = th_turn ? &s_th : &s_curl;
            int64_t t0 = bench_ns(), c0 = bench_cpu_ns(), t1, c1;
            int st;
            if (th_turn) {
                if (mode == 0) st = th_post_fresh(url);
                else { st = th_post(c, url, body_1k, body_1k_len); telemetry__http_close(c); }
            } else {
                st = mode == 0 ? curl_post_fresh(url) : curl_post(h, &curl_connects);
            }
            t1 = bench_ns(); c1 = bench_cpu_ns();
            if (st != 200) { s->failures++; continue; }
            s->wall_ms[s->n] = (double)(t1 - t0) / 1e6;
            s->cpu_ms[s->n] = (double)(c1 - c0) / 1e6;
            s->n++;
        }
        snprintf(label, sizeof label, "%s_%s", mode == 0 ? "fresh" : "reconnect", cert);
        print_pair(mode == 0 ? "fresh client per POST" : "one client, new connection", label, 1);
        if (mode == 1) {
            printf("  (connections: telemetry.h %lu, curl %ld for %d POSTs each)\n", c->connects, curl_connects, n);
            telemetry__http_client_free(c);
            curl_easy_cleanup(h);
        }
    }
}

/* ---- (b) one kept-alive connection --------------------------------------------------------- */
/* (a) "resumed": full handshakes (no session file) against resumed ones (a primed file). */
static void resumed_vs_full(int port, int n) {
    char url[200], dir[600], file[700];
    double *full = (double *)malloc((size_t)n * sizeof *full), *res = (double *)malloc((size_t)n * sizeof *res);
    double *fullc = (double *)malloc((size_t)n * sizeof *fullc), *resc = (double *)malloc((size_t)n * sizeof *resc);
    int i, nf = 0, nr = 0, fail = 0;
    double ratio, ratio_cpu;
    snprintf(url, sizeof url, "https://localhost:%d/bench/resume.json", port);
    bench_temp_dir(dir, sizeof dir, "sessions");
    snprintf(file, sizeof file, "%s/tls_sessions", dir);
    th_session_file = file;
    if (th_post_fresh(url) != 200) fail++;                 /* primes the file */
    for (i = 0; i < 2 * n; i++) {
        int resumed = (i % 2) == ((i / 2) % 2);
        int64_t t0, c0;
        int st;
        th_session_file = resumed ? file : NULL;
        t0 = bench_ns(); c0 = bench_cpu_ns();
        st = th_post_fresh(url);
        if (st != 200) { fail++; continue; }
        if (resumed) { res[nr] = (double)(bench_ns() - t0) / 1e6; resc[nr++] = (double)(bench_cpu_ns() - c0) / 1e6; }
        else { full[nf] = (double)(bench_ns() - t0) / 1e6; fullc[nf++] = (double)(bench_cpu_ns() - c0) / 1e6; }
    }
    th_session_file = NULL;
    ratio = bench_median(full, (size_t)nf) / bench_median(res, (size_t)nr);
    ratio_cpu = bench_median(fullc, (size_t)nf) / bench_median(resc, (size_t)nr);
    printf("\n-- the next run: a new client per POST, TLS session file vs none (telemetry.h only)\n");
    printf("  full handshake %.3f ms (CPU %.3f ms), resumed %.3f ms (CPU %.3f ms): full / resumed %.2fx (bound >= 3.0x) %s, CPU %.2fx  [%d + %d POSTs, %d failed]\n",
           bench_median(full, (size_t)nf), bench_median(fullc, (size_t)nf), bench_median(res, (size_t)nr), bench_median(resc, (size_t)nr),
           ratio, ratio >= 3.0 ? "ok" : "MISSED", ratio_cpu, nf, nr, fail);
    if (ratio < 3.0 || fail) bounds_missed = 1;
    bench_emitf(bench_median(full, (size_t)nf), "ms", "transport_full_handshake_median");
    bench_emitf(bench_median(res, (size_t)nr), "ms", "transport_resumed_median");
    bench_emitf(bench_median(resc, (size_t)nr), "ms", "transport_resumed_cpu_median");
    bench_emitf(ratio, "x", "transport_full_over_resumed");
    bench_emitf((double)fail, "count", "transport_resumed_failures");
    remove(file);
    bench_rm_tree(dir);
    free(full); free(res); free(fullc); free(resc);
}

static double ka_th(const char *url, int n, unsigned long *connects, int *fail) {
    telemetry__http_client *c = th_client();
    int64_t t0;
    int i;
    th_post(c, url, small_body, sizeof small_body - 1);        /* the connection is open */
    t0 = bench_ns();
    for (i = 0; i < n; i++) if (th_post(c, url, small_body, sizeof small_body - 1) != 200) (*fail)++;
    t0 = bench_ns() - t0;
    *connects = c->connects;
    telemetry__http_client_free(c);
    return (double)n / ((double)t0 / 1e9);
}
static double ka_curl(const char *url, int n, long *connects, int *fail) {
    CURL *h = curl_easy_init();
    int64_t t0;
    int i;
    *connects = 0;
    curl_setup(h, url, small_body, sizeof small_body - 1);
    curl_post(h, connects);
    t0 = bench_ns();
    for (i = 0; i < n; i++) if (curl_post(h, connects) != 200) (*fail)++;
    t0 = bench_ns() - t0;
    curl_easy_cleanup(h);
    return (double)n / ((double)t0 / 1e9);
}
static void keep_alive(const char *label, const char *url, int n, int rounds) {
    double th[16], cu[16], ratio[16];
    int r, fail = 0;
    unsigned long thc = 0;
    long cuc = 0;
    if (rounds > 16) rounds = 16;
    printf("\n-- %d small POSTs on one kept-alive connection, %s (%d rounds, order alternating)\n", n, url, rounds);
    for (r = 0; r < rounds; r++) {
        if (r % 2 == 0) { th[r] = ka_th(url, n, &thc, &fail); cu[r] = ka_curl(url, n, &cuc, &fail); }
        else { cu[r] = ka_curl(url, n, &cuc, &fail); th[r] = ka_th(url, n, &thc, &fail); }
        ratio[r] = th[r] / cu[r];
        printf("  round %d: telemetry.h %7.0f POSTs/s (%lu connection%s)   curl %7.0f POSTs/s (%ld connection%s)   ratio %.2fx\n",
               r + 1, th[r], thc, thc == 1 ? "" : "s", cu[r], cuc, cuc == 1 ? "" : "s", ratio[r]);
    }
    printf("  median: telemetry.h %.0f POSTs/s (%.1f us each), curl %.0f POSTs/s (%.1f us each); median of the rounds' ratios %.2fx;"
           " failures %d (issue: >= 2000/s)\n",
           bench_median(th, (size_t)rounds), 1e6 / bench_median(th, (size_t)rounds),
           bench_median(cu, (size_t)rounds), 1e6 / bench_median(cu, (size_t)rounds), bench_median(ratio, (size_t)rounds), fail);
    bench_emitf(bench_median(th, (size_t)rounds), "posts/s", "keepalive_%s_telemetry", label);
    bench_emitf(bench_median(cu, (size_t)rounds), "posts/s", "keepalive_%s_curl", label);
    bench_emitf(bench_median(ratio, (size_t)rounds), "x", "keepalive_%s_ratio", label);
    bench_emitf((double)fail, "count", "keepalive_%s_failures", label);
}

int main(void) {
    bench_sink s;
    char url[200];
    int n = (int)bench_env_long("BENCH_N", 200), ka = (int)bench_env_long("BENCH_KA", 5000);
    int rounds = (int)bench_env_long("BENCH_ROUNDS", 3);
    const curl_version_info_data *cv;
    size_t i;
    if (n < 1) n = 1;
    if (n > 4096) n = 4096;
    signal(SIGPIPE, SIG_IGN);
    bench_header("bench_transport");
    bench_sink_get(&s);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cv = curl_version_info(CURLVERSION_NOW);
    if (!cv->ssl_version || strncmp(cv->ssl_version, "OpenSSL", 7) != 0)
        printf("  warning: libcurl's TLS backend is %s, not OpenSSL\n", cv->ssl_version ? cv->ssl_version : "none");
    printf("libcurl %s with %s; telemetry.h %s with BearSSL\n", cv->version, cv->ssl_version ? cv->ssl_version : "-", TELEMETRY_VERSION_STRING);
    curl_headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_headers = curl_slist_append(curl_headers, "Expect:");     /* no 100-continue round trip */
    /* ~1 KB of JSON */
    body_1k_len = (size_t)snprintf(body_1k, sizeof body_1k, "{\"app\":\"bench\",\"version\":\"1.0\",\"pad\":\"");
    for (i = 0; body_1k_len < 1024 - 2; i++) body_1k[body_1k_len++] = (char)('a' + i % 26);
    body_1k[body_1k_len++] = '"'; body_1k[body_1k_len++] = '}'; body_1k[body_1k_len] = 0;
    printf("body: %zu bytes of JSON; %d POSTs per library per variant\n", body_1k_len, n);

    one_per_connection("ec", s.https, n);
    resumed_vs_full(s.https, n);
    if (s.rsa_https > 0) one_per_connection("rsa", s.rsa_https, n);
    else printf("\n(no RSA sink: set BENCH_SINK_RSA_HTTPS, as tests/bench/run.sh does)\n");

    snprintf(url, sizeof url, "https://localhost:%d/bench/ka.json", s.https);
    keep_alive("https", url, ka, rounds);
    snprintf(url, sizeof url, "http://localhost:%d/bench/ka.json", s.http);
    keep_alive("http", url, ka, rounds);

    curl_slist_free_all(curl_headers);
    curl_global_cleanup();
    return bounds_missed;
}
