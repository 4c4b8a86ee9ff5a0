/*
 * telemetry_sink.c -- a local receiver for what telemetry.h sends.
 *
 * Run it, point your program's Sentry DSN and Firebase URL at it, and watch
 * every envelope and metrics write arrive, pretty-printed.  The test-suite
 * uses it as the "real server" for the HTTP/TLS client.  It speaks HTTP/1.1
 * over TLS 1.2 (BearSSL server side) and over plain TCP, on 127.0.0.1 only.
 *
 * Build:  cc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 examples/telemetry_sink.c \
 *            -o build/telemetry_sink -lbearssl -lpthread        (or: make)
 *
 * ---------------------------------------------------------------------------
 * COMMAND LINE
 *
 *   telemetry_sink [--https-port N|off] [--http-port N|off]
 *                  [--cert FILE] [--key FILE]
 *                  [--sentry-key KEY] [--firebase-auth TOKEN]
 *                  [--record FILE] [--mode MODE[:COUNT]] [--quiet]
 *                  [--port-file FILE] [--firebase-create-only]
 *
 *   Ports: N = 0 picks a free port.  With neither port option given, HTTPS is
 *   on 8443 and HTTP on 8080.  As soon as one of the two options is given,
 *   the other listener is off unless it is given too.
 *   --cert/--key: PEM certificate chain (leaf first) and private key
 *   (PKCS#8 "PRIVATE KEY", "EC PRIVATE KEY" or "RSA PRIVATE KEY").  Default
 *   tests/certs/server.pem and tests/certs/server.key (run from the repo root).
 *   The key type (EC or RSA) selects the BearSSL server profile.
 *   --sentry-key KEY: envelopes must authenticate with this public key.
 *   --firebase-auth TOKEN: Firebase writes must carry auth=TOKEN (or
 *   access_token=TOKEN) in the query string.
 *   --firebase-create-only: answer a PUT to a path already written with 401
 *   {"error" : "Permission denied"}, as create-only security rules
 *   (docs/firebase.rules.json) do.
 *   --record FILE: append one JSON line per delivered payload (below).
 *   --mode MODE[:COUNT]: initial misbehaviour (see MODES).
 *   --quiet: print nothing on stdout (errors still go to stderr).
 *   --no-session-cache: no TLS session cache, so no handshake resumes.
 *   --port-file FILE: once listening, write "https=<n>\nhttp=<n>\npid=<n>\n"
 *   (0 for a disabled listener) to FILE.tmp.<pid> and rename it to FILE, so a
 *   reader sees either no file or the complete file.  The file is removed on
 *   a clean exit.
 *
 *   SIGINT/SIGTERM: stop (open connections are shut down, exit status 0).
 *   SIGUSR1: set the mode back to "ok".
 *
 * ---------------------------------------------------------------------------
 * ROUTES  (same on both ports)
 *
 *   POST [/prefix]/api/<digits>/envelope/      Sentry envelope endpoint.
 *     Auth: X-Sentry-Auth: Sentry sentry_key=...,sentry_version=7,... or
 *     "Authorization: Sentry ..." or ?sentry_key=...&sentry_version=7.
 *     No auth, or more than one auth source -> 401.  A key that is not 32
 *     characters -> 400 (as Relay).  --sentry-key given and different -> 401.
 *     sentry_version > 7 or not a number -> 400.  Content-Encoding other than
 *     identity -> 415 (the sink cannot decompress).  The envelope is parsed
 *     strictly (header line, items with and without "length", per the
 *     protocol notes); malformed -> 400 {"detail":"..."}.  Also 400: an event
 *     or attachment without an envelope "event_id", a bad event_id, two
 *     "sent_at", two events, an event over 1 MiB, more than 100 sessions, an
 *     attachment without "filename", a "dsn" header whose key or project
 *     disagrees with the request.  Success: 200 {"id":"<event_id>"} or {}.
 *
 *   PUT|POST|PATCH /<path>.json[?query]        Firebase RTDB REST write.
 *     (POST with X-HTTP-Method-Override: PUT|PATCH is honoured.)
 *     --firebase-auth mismatch -> 401 {"error" : "Permission denied"}.
 *     Path keys are checked like Firebase does (no . $ # [ ] / or control
 *     characters, < 32 levels, <= 768 bytes) -> 400.  The body must be valid
 *     JSON (strict: UTF-8, no lone surrogates, nesting <= 128) whose object
 *     keys follow the same key rules (".sv", ".value", ".priority" allowed)
 *     -> else 400.  PATCH needs an object.  print=silent -> 204 without body;
 *     POST -> 200 {"name":"<20-char push id>"}; PUT/PATCH -> 200, body echoed.
 *
 *   GET  /_sink/stats      counters as one JSON object (see STATS).
 *   POST /_sink/reset      zero the counters (the record file is kept).
 *   GET  /_sink/mode       {"mode":"ok","remaining":-1,"ms":0,"only":"any"}
 *   POST /_sink/mode?m=MODE[&n=COUNT][&ms=MS][&only=envelope|firebase]
 *                   [&retry_after=SECONDS][&rate_limits=VALUE]
 *     switch misbehaviour for the next COUNT payload requests (default:
 *     until changed).  Answers like GET.  Unknown mode -> 400.
 *     retry_after (-1: no header) and rate_limits (percent-encoded, empty:
 *     no header) only change what mode 429 sends; each POST resets them to
 *     the defaults (60 and the value below) unless given.
 *   Control routes (/_sink/...) are never subject to misbehaviour.
 *   Anything else -> 404 with a JSON explanation.
 *
 * MODES (apply to every non-control request, or only to one route kind with
 * only=; each affected request consumes one COUNT):
 *   ok       normal answers (default).
 *   hang     read the request, never answer; the socket stays open until the
 *            client goes away or the sink stops.
 *   close    send the first bytes of a status line/header
 *            ("HTTP/1.1 200 OK\r\nContent-Ty"), then close the TCP
 *            connection (no TLS close_notify).  Note: curl accepts this as
 *            a 200 without body; a strict client must not.
 *   truncate send a complete 200 header with Content-Length: 64 and only
 *            the 11 body bytes {"partial":, then close (no close_notify).
 *   reset    read the request, then close with SO_LINGER 0 (TCP RST).
 *   429      429 with Retry-After: 60 and X-Sentry-Rate-Limits:
 *            60:error;transaction:organization:quota_exceeded
 *            (or the retry_after= / rate_limits= values of the mode route)
 *   500, 503 that status with a JSON error body.
 *   307      307 with Location: <same scheme>://localhost:<port><same target>
 *            (a client must not follow it for Sentry, nor to a non-Firebase
 *            host).
 *   trickle  the normal answer, sent one byte every MS ms (default 200).
 *   delay    wait MS ms (default 2000), then answer normally.  Delivered.
 *   chunked  the normal answer with Transfer-Encoding: chunked (7-byte
 *            chunks, upper-case hex, a chunk extension and a trailer).
 *            Delivered.
 *   eof      the normal answer without Content-Length, ended by closing the
 *            connection (TLS close_notify, then FIN).  Delivered.
 *   interim  the normal answer preceded by "100 Continue" and "103 Early
 *            Hints" interim responses.  Delivered.
 *   lost     the payload is taken (recorded, counted), then the connection
 *            is closed without an answer: a server that stored it and whose
 *            answer was lost.  Delivered.
 *   refuse   close each new connection right after accept(), before TLS or
 *            HTTP (consumes COUNT per connection, ignores only=).  Control
 *            requests cannot get through either: use n=COUNT or SIGUSR1.
 *   Requests answered by hang/close/truncate/reset/429/500/503/307/trickle
 *   are NOT counted as delivered: no record line, only "faults" in the stats.
 *   ok/delay/chunked/eof/interim/lost are delivered (recorded, counted).
 *
 * STATS (GET /_sink/stats; only delivered payloads are counted, except
 * requests/rejected/faults/tls_errors/connections):
 *   {"requests":N,"connections":N,"envelopes":N,"events":N,"sessions":N,
 *    "attachments":N,"client_reports":N,"other_items":N,"firebase_writes":N,
 *    "rejected":N,"faults":N,"tls_errors":N,"tls_resumed":N,
 *    "distinct_event_ids":N,"event_ids":{"<32 hex>":count,...},
 *    "distinct_firebase_paths":N,"firebase_paths":{"/a/b.json":count,...},
 *    "truncated":false,"mode":{...}}
 *   requests counts every request whose header block was read (control
 *   routes included); rejected counts 4xx/5xx answers given by the routes
 *   themselves (bad auth, bad data, bad HTTP), faults the injected ones;
 *   tls_errors counts TLS connections that ended before their first request
 *   with a BearSSL error (each is also printed, with the alert if any);
 *   tls_resumed counts TLS handshakes that resumed a cached session (the
 *   server keeps 100 sessions, shared by all connections, unless
 *   --no-session-cache).
 *   event_ids are taken from envelopes that carry an event item (envelope
 *   header id, lower-case, without dashes).  firebase_paths are request paths
 *   without the query.  At most 20000 distinct keys per map ("truncated").
 *
 * RECORD FILE (--record): one JSON object per line, flushed after each line,
 * only for delivered payloads:
 *   {"time":"2024-08-15T10:20:31.250Z","kind":"envelope","tls":true,
 *    "conn":3,"req":1,"method":"POST","path":"/api/42/envelope/","query":"",
 *    "status":200,"size":1130,"project_id":"42","sentry_key":"...",
 *    "event_id":"..."|null,"headers":{envelope header},
 *    "items":[{"headers":{item header},"encoding":"json","payload":{...}},
 *             {"headers":{...},"encoding":"text","payload":"boot ok\n"},
 *             {"headers":{...},"encoding":"base64","payload":"TURNUA..."}],
 *    "warnings":["item 1 (event) has no length", ...]}
 *   {"time":...,"kind":"firebase","tls":true,"conn":4,"req":2,
 *    "method":"PUT","path":"/metrics/app/-O4IKNV-a9Qk2ZxLm0Pt.json",
 *    "query":"print=silent&auth=...","status":204,"size":83,"body":{...},
 *    "name":"<push id>" (POST only)}
 *   JSON payloads are embedded minified; an item payload that is valid JSON
 *   is embedded as JSON whatever its type, else as a string ("text": UTF-8
 *   without control characters other than TAB/CR/LF) or base64.  "conn"
 *   numbers connections since start and "req" the request on that connection
 *   (keep-alive checks).  "warnings" lists things Relay tolerates but
 *   telemetry.h should not do: an item without "length", no "sent_at", an
 *   event_id with dashes or upper case or differing from the event payload's,
 *   an event without event_id, no sentry_version / sentry_client in the
 *   auth, a Content-Type other than application/x-sentry-envelope, duplicate
 *   header keys, an envelope without items.
 *
 * HTTP: keep-alive (Connection: close and HTTP/1.0 honoured), pipelining,
 * Content-Length and chunked request bodies, Expect: 100-continue; header
 * block <= 16 KiB (else 431), body <= 20 MiB (else 413); Host is required.
 * One thread per connection, at most 256 connections, 30 s idle timeout.
 *
 * Only libc, POSIX threads/sockets and BearSSL are used.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

/* ======================================================================== */
/* Limits                                                                   */

#define SINK_HEADER_MAX (16 * 1024)              /* request line + headers */
#define SINK_BODY_MAX (20L * 1024 * 1024)        /* request body */
#define SINK_CONTROL_BODY_MAX (64 * 1024)        /* body of /_sink/ requests */
#define SINK_IBUF_SIZE (SINK_HEADER_MAX + 4096)  /* per-connection input buffer */
#define SINK_MAX_CONNS 256
#define SINK_IDLE_MS 30000                       /* inactivity timeout */
#define SINK_JSON_DEPTH 128
#define SINK_MAX_DISTINCT 20000
#define SINK_EVENT_MAX (1024L * 1024)
#define SINK_SESSIONS_MAX 100
#define SINK_FB_KEY_MAX 768
#define SINK_FB_DEPTH_MAX 32
#define SINK_PRINT_TEXT_MAX 1024                 /* attachment preview */
#define SINK_RL_MAX 256                          /* mode 429's X-Sentry-Rate-Limits */
#define SINK_RL_DEFAULT "60:error;transaction:organization:quota_exceeded"

/* ======================================================================== */
/* Growable byte buffer                                                     */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t add)
{
    size_t need, ncap;
    char *np;
    if (b->oom) return;
    if (add > (size_t)-1 - b->len - 1) { b->oom = 1; return; }
    need = b->len + add + 1;
    if (need <= b->cap) return;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        if (ncap > (size_t)-1 / 2) { ncap = need; break; }
        ncap *= 2;
    }
    np = (char *)realloc(b->p, ncap);
    if (!np) { b->oom = 1; return; }
    b->p = np;
    b->cap = ncap;
}

static void sb_add(sbuf *b, const void *d, size_t n)
{
    sb_reserve(b, n);
    if (b->oom) return;
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_adds(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_addc(sbuf *b, char c) { sb_add(b, &c, 1); }

static void sb_addf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) { sb_add(b, tmp, (size_t)n); return; }
    sb_reserve(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_spaces(sbuf *b, int n)
{
    while (n-- > 0) sb_addc(b, ' ');
}

static void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* ======================================================================== */
/* Time and misc helpers                                                    */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TS_LEN 80
static void iso_now(char out[TS_LEN])
{
    long long ms = wall_ms();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, TS_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms % 1000));
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hex_val(int c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

/* RFC 9110 token character. */
static int is_tchar(int c)
{
    if (c >= 'a' && c <= 'z') return 1;
    if (c >= 'A' && c <= 'Z') return 1;
    if (is_digit(c)) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ======================================================================== */
/* UTF-8 and JSON strings                                                   */

/* Decode one UTF-8 sequence at p (p < e).  Returns its length, 0 if invalid
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_dec(const unsigned char *p, const unsigned char *e,
                       unsigned long *cp)
{
    unsigned c = p[0];
    size_t n, i;
    unsigned long v, min;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(e - p) < n) return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

/* Append p[0..n) as a quoted JSON string; invalid UTF-8 becomes U+FFFD. */
static void sb_jstr(sbuf *b, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data, *e = p + n;
    sb_addc(b, '"');
    while (p < e) {
        unsigned c = *p;
        unsigned long cp;
        size_t k;
        if (c == '"') { sb_adds(b, "\\\""); p++; continue; }
        if (c == '\\') { sb_adds(b, "\\\\"); p++; continue; }
        if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': sb_adds(b, "\\n"); break;
            case '\r': sb_adds(b, "\\r"); break;
            case '\t': sb_adds(b, "\\t"); break;
            default: sb_addf(b, "\\u%04x", c); break;
            }
            p++;
            continue;
        }
        if (c < 0x80) { sb_addc(b, (char)c); p++; continue; }
        k = utf8_dec(p, e, &cp);
        if (!k) { sb_adds(b, "\\ufffd"); p++; continue; }
        sb_add(b, p, k);
        p += k;
    }
    sb_addc(b, '"');
}

static void sb_jstrs(sbuf *b, const char *s) { sb_jstr(b, s, strlen(s)); }

/* ======================================================================== */
/* JSON validation                                                          */

typedef struct {
    int fb_keys;      /* apply the Firebase key rules to object keys */
    const char *err;  /* first error */
    int key_err;      /* the error is a key rule violation */
} jctx;

static const unsigned char *jfail(jctx *c, const char *why)
{
    if (!c->err) c->err = why;
    return NULL;
}

static const unsigned char *j_ws(const unsigned char *p, const unsigned char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int fb_forbidden(unsigned long cp)
{
    return cp < 0x20 || cp == 0x7F || cp == '.' || cp == '$' || cp == '#' ||
           cp == '[' || cp == ']' || cp == '/';
}

static int read_hex4(const unsigned char *p, const unsigned char *e,
                     unsigned long *v)
{
    int i;
    if (e - p < 4) return 0;
    *v = 0;
    for (i = 0; i < 4; i++) {
        if (!is_hex(p[i])) return 0;
        *v = (*v << 4) | (unsigned long)hex_val(p[i]);
    }
    return 1;
}

/* p points at the opening quote. */
static const unsigned char *j_string(jctx *c, const unsigned char *p,
                                     const unsigned char *e, int is_key)
{
    const unsigned char *start = p + 1;
    int check = c->fb_keys && is_key, bad = 0;
    size_t rawlen;
    p++;
    for (;;) {
        unsigned long cp;
        unsigned ch;
        if (p >= e) return jfail(c, "unterminated string");
        ch = *p;
        if (ch == '"') break;
        if (ch < 0x20) return jfail(c, "unescaped control character in string");
        if (ch == '\\') {
            p++;
            if (p >= e) return jfail(c, "unterminated string");
            switch (*p) {
            case '"': cp = '"'; p++; break;
            case '\\': cp = '\\'; p++; break;
            case '/': cp = '/'; p++; break;
            case 'b': cp = 8; p++; break;
            case 'f': cp = 12; p++; break;
            case 'n': cp = 10; p++; break;
            case 'r': cp = 13; p++; break;
            case 't': cp = 9; p++; break;
            case 'u':
                if (!read_hex4(p + 1, e, &cp)) return jfail(c, "bad \\u escape");
                p += 5;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return jfail(c, "lone low surrogate in string");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned long lo;
                    if (e - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                        !read_hex4(p + 2, e, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return jfail(c, "lone high surrogate in string");
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                break;
            default:
                return jfail(c, "invalid escape in string");
            }
        } else if (ch >= 0x80) {
            size_t k = utf8_dec(p, e, &cp);
            if (!k) return jfail(c, "invalid UTF-8 in string");
            p += k;
        } else {
            cp = ch;
            p++;
        }
        if (check && fb_forbidden(cp)) bad = 1;
    }
    rawlen = (size_t)(p - start);
    if (check) {
        int reserved = (rawlen == 3 && !memcmp(start, ".sv", 3)) ||
                       (rawlen == 6 && !memcmp(start, ".value", 6)) ||
                       (rawlen == 9 && !memcmp(start, ".priority", 9));
        if (rawlen == 0 || rawlen > SINK_FB_KEY_MAX || (bad && !reserved)) {
            c->key_err = 1;
            return jfail(c, "invalid key");
        }
    }
    return p + 1;
}

static const unsigned char *j_number(jctx *c, const unsigned char *p,
                                     const unsigned char *e)
{
    if (p < e && *p == '-') p++;
    if (p >= e) return jfail(c, "bad number");
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < e && is_digit(*p)) p++; }
    else return jfail(c, "bad number");
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p)) return jfail(c, "bad number");
        while (p < e && is_digit(*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !is_digit(*p)) return jfail(c, "bad number");
        while (p < e && is_digit(*p)) p++;
    }
    return p;
}

static const unsigned char *j_lit(jctx *c, const unsigned char *p,
                                  const unsigned char *e, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(e - p) < n || memcmp(p, lit, n)) return jfail(c, "invalid literal");
    return p + n;
}

static const unsigned char *j_value(jctx *c, const unsigned char *p,
                                    const unsigned char *e, int depth)
{
    p = j_ws(p, e);
    if (p >= e) return jfail(c, "unexpected end of JSON");
    switch (*p) {
    case '{':
        if (depth >= SINK_JSON_DEPTH) return jfail(c, "JSON nested too deeply");
        p = j_ws(p + 1, e);
        if (p < e && *p == '}') return p + 1;
        for (;;) {
            if (p >= e || *p != '"') return jfail(c, "expected object key");
            p = j_string(c, p, e, 1);
            if (!p) return NULL;
            p = j_ws(p, e);
            if (p >= e || *p != ':') return jfail(c, "expected ':'");
            p = j_value(c, p + 1, e, depth + 1);
            if (!p) return NULL;
            p = j_ws(p, e);
            if (p < e && *p == ',') { p = j_ws(p + 1, e); continue; }
            if (p < e && *p == '}') return p + 1;
            return jfail(c, "expected ',' or '}'");
        }
    case '[':
        if (depth >= SINK_JSON_DEPTH) return jfail(c, "JSON nested too deeply");
        p = j_ws(p + 1, e);
        if (p < e && *p == ']') return p + 1;
        for (;;) {
            p = j_value(c, p, e, depth + 1);
            if (!p) return NULL;
            p = j_ws(p, e);
            if (p < e && *p == ',') { p++; continue; }
            if (p < e && *p == ']') return p + 1;
            return jfail(c, "expected ',' or ']'");
        }
    case '"':
        return j_string(c, p, e, 0);
    case 't':
        return j_lit(c, p, e, "true");
    case 'f':
        return j_lit(c, p, e, "false");
    case 'n':
        return j_lit(c, p, e, "null");
    default:
        if (*p == '-' || is_digit(*p)) return j_number(c, p, e);
        return jfail(c, "unexpected character");
    }
}

/* Whole buffer is exactly one JSON value (surrounding whitespace allowed). */
static int json_check(const void *data, size_t n, jctx *c)
{
    const unsigned char *p = (const unsigned char *)data, *e = p + n;
    p = j_value(c, p, e, 0);
    if (!p) return 0;
    if (j_ws(p, e) != e) { jfail(c, "data after the JSON value"); return 0; }
    return 1;
}

static int json_is_object(const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    p = j_ws(p, p + n);
    return p < (const unsigned char *)data + n && *p == '{';
}

/* Members of an already validated object. */
typedef struct {
    const unsigned char *p, *e;
} jiter;

typedef struct {
    const unsigned char *k, *v; /* key without quotes (raw), value */
    size_t klen, vlen;
} jmember;

static int jobj_begin(jiter *it, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data, *e = p + n;
    p = j_ws(p, e);
    if (p >= e || *p != '{') return 0;
    it->p = p + 1;
    it->e = e;
    return 1;
}

static int jobj_next(jiter *it, jmember *m)
{
    jctx c;
    const unsigned char *p = j_ws(it->p, it->e), *q;
    memset(&c, 0, sizeof c);
    if (p < it->e && *p == ',') p = j_ws(p + 1, it->e);
    if (p >= it->e || *p != '"') return 0;
    q = j_string(&c, p, it->e, 0);
    if (!q) return 0;
    m->k = p + 1;
    m->klen = (size_t)(q - 1 - m->k);
    p = j_ws(q, it->e);
    if (p >= it->e || *p != ':') return 0;
    p = j_ws(p + 1, it->e);
    q = j_value(&c, p, it->e, 0);
    if (!q) return 0;
    m->v = p;
    m->vlen = (size_t)(q - p);
    it->p = q;
    return 1;
}

static int jkey_is(const jmember *m, const char *k)
{
    return m->klen == strlen(k) && !memcmp(m->k, k, m->klen);
}

/* Number of members named key; the first one's value in v, vlen. */
static int jobj_get(const void *obj, size_t n, const char *key,
                    const unsigned char **v, size_t *vlen)
{
    jiter it;
    jmember m;
    int count = 0;
    if (!jobj_begin(&it, obj, n)) return 0;
    while (jobj_next(&it, &m)) {
        if (!jkey_is(&m, key)) continue;
        if (!count) { *v = m.v; *vlen = m.vlen; }
        count++;
    }
    return count;
}

/* Raw contents of a string value (escapes left as they are). */
static int jstr_raw(const unsigned char *v, size_t vlen, const char **s, size_t *slen)
{
    if (vlen < 2 || v[0] != '"') return 0;
    *s = (const char *)v + 1;
    *slen = vlen - 2;
    return 1;
}

/* A non-negative JSON integer (no fraction or exponent). */
static int jnum_uint(const unsigned char *v, size_t vlen, unsigned long long *out)
{
    size_t i;
    unsigned long long x = 0;
    if (vlen == 0) return 0;
    for (i = 0; i < vlen; i++) {
        if (!is_digit(v[i])) return 0;
        if (x > (ULLONG_MAX - 9) / 10) return 0;
        x = x * 10 + (unsigned)(v[i] - '0');
    }
    if (vlen > 1 && v[0] == '0') return 0;
    *out = x;
    return 1;
}

/* Copy of a validated JSON value without insignificant whitespace. */
static void json_minify(sbuf *b, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data, *e = p + n, *run;
    int in_str = 0, esc = 0;
    run = p;
    for (; p < e; p++) {
        unsigned c = *p;
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') { in_str = 1; continue; }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            sb_add(b, run, (size_t)(p - run));
            run = p + 1;
        }
    }
    sb_add(b, run, (size_t)(p - run));
}

static void pretty_nl(sbuf *b, int base, int level)
{
    sb_addc(b, '\n');
    sb_spaces(b, base + 2 * level);
}

/* Indented copy of a validated JSON value; continuation lines start with
 * `base` spaces (the caller writes the first line's indentation). */
static void json_pretty(sbuf *b, const void *data, size_t n, int base)
{
    const unsigned char *p = (const unsigned char *)data, *e = p + n;
    int level = 0, in_str = 0, esc = 0;
    for (; p < e; p++) {
        unsigned c = *p;
        if (in_str) {
            sb_addc(b, (char)c);
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
            continue;
        }
        switch (c) {
        case ' ': case '\t': case '\n': case '\r':
            break;
        case '"':
            in_str = 1;
            sb_addc(b, '"');
            break;
        case '{': case '[': {
            const unsigned char *q = j_ws(p + 1, e);
            if (q < e && (*q == '}' || *q == ']')) {
                sb_addc(b, (char)c);
                sb_addc(b, (char)*q);
                p = q;
                break;
            }
            sb_addc(b, (char)c);
            level++;
            pretty_nl(b, base, level);
            break;
        }
        case '}': case ']':
            level--;
            pretty_nl(b, base, level);
            sb_addc(b, (char)c);
            break;
        case ',':
            sb_addc(b, ',');
            pretty_nl(b, base, level);
            break;
        case ':':
            sb_adds(b, ": ");
            break;
        default:
            sb_addc(b, (char)c);
        }
    }
}

static void sb_base64(sbuf *b, const unsigned char *p, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = ((unsigned long)p[i] << 16) | ((unsigned long)p[i + 1] << 8) | p[i + 2];
        char o[4];
        o[0] = tbl[(v >> 18) & 63]; o[1] = tbl[(v >> 12) & 63];
        o[2] = tbl[(v >> 6) & 63]; o[3] = tbl[v & 63];
        sb_add(b, o, 4);
    }
    if (i < n) {
        unsigned long v = (unsigned long)p[i] << 16;
        char o[4];
        if (i + 1 < n) v |= (unsigned long)p[i + 1] << 8;
        o[0] = tbl[(v >> 18) & 63]; o[1] = tbl[(v >> 12) & 63];
        o[2] = (i + 1 < n) ? tbl[(v >> 6) & 63] : '=';
        o[3] = '=';
        sb_add(b, o, 4);
    }
}

/* Valid UTF-8 without control characters other than TAB, LF, CR. */
static int is_text(const unsigned char *p, size_t n)
{
    const unsigned char *e = p + n;
    while (p < e) {
        unsigned long cp;
        size_t k = utf8_dec(p, e, &cp);
        if (!k) return 0;
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F) return 0;
        p += k;
    }
    return 1;
}

/* ======================================================================== */
/* Global state                                                             */

enum {
    M_OK, M_HANG, M_CLOSE, M_TRUNCATE, M_RESET, M_429, M_500, M_503, M_307,
    M_TRICKLE, M_DELAY, M_CHUNKED, M_EOF, M_INTERIM, M_REFUSE, M_LOST, M_COUNT
};
static const char *const mode_names[M_COUNT] = {
    "ok", "hang", "close", "truncate", "reset", "429", "500", "503", "307",
    "trickle", "delay", "chunked", "eof", "interim", "refuse", "lost"
};
/* Modes that still answer normally (the payload counts as delivered). */
static int mode_delivers(int m)
{
    return m == M_OK || m == M_DELAY || m == M_CHUNKED || m == M_EOF || m == M_INTERIM || m == M_LOST;
}

enum { ROUTE_OTHER, ROUTE_ENVELOPE, ROUTE_FIREBASE, ROUTE_CONTROL };
enum { ONLY_ANY, ONLY_ENVELOPE, ONLY_FIREBASE };
static const char *const only_names[] = { "any", "envelope", "firebase" };

typedef struct {
    char *key;
    unsigned long count;
} sm_ent;

typedef struct {
    sm_ent *v;
    size_t n, cap;
} strmap;

struct conn;

static struct {
    pthread_mutex_t lock; /* everything below except the output */
    pthread_cond_t cond;  /* signalled when a connection ends */
    int mode, only;
    long remaining;       /* -1: until changed */
    long ms;
    long retry_after;     /* mode 429: Retry-After seconds, -1 = no header */
    char rate_limits[SINK_RL_MAX]; /* mode 429: X-Sentry-Rate-Limits, "" = none */
    unsigned long requests, connections, envelopes, events, sessions,
        attachments, client_reports, other_items, fb_writes, rejected,
        faults, tls_errors, tls_resumed;
    strmap event_ids, fb_paths;
    strmap fb_stored;     /* --firebase-create-only: paths written (kept by /_sink/reset) */
    int truncated;
    struct conn *conns[SINK_MAX_CONNS];
    int active;
    unsigned long conn_serial;
    int stopping;
    unsigned long long rng;
    long long push_last_ms;
    int push_rand[12];

    pthread_mutex_t out_lock; /* stdout and the record file */
    FILE *record;
} G;

static struct {
    int https_port, http_port; /* -1 = off */
    const char *cert, *key, *sentry_key, *fb_auth, *record, *port_file;
    int quiet, fb_create_only;
    int no_session_cache;      /* --no-session-cache: every TLS handshake is a full one */
} O;

/* TLS material (read-only after start-up). */
static br_x509_certificate g_chain[8];
static size_t g_chain_len;
static br_skey_decoder_context g_skey;
static int g_key_type, g_issuer_type;

/* TLS session cache shared by every connection (BearSSL's LRU, behind a lock: connections run on
   their own threads), so clients can resume; each resumption is counted ("tls_resumed"). */
static struct {
    const br_ssl_session_cache_class *vtable;
    pthread_mutex_t lock;
    br_ssl_session_cache_lru lru;
    unsigned char store[256 * 100];
} g_cache;

static void cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                       const br_ssl_session_parameters *params)
{
    (void)ctx;
    pthread_mutex_lock(&g_cache.lock);
    g_cache.lru.vtable->save(&g_cache.lru.vtable, sc, params);
    pthread_mutex_unlock(&g_cache.lock);
}
static int cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                      br_ssl_session_parameters *params)
{
    int found;
    (void)ctx;
    pthread_mutex_lock(&g_cache.lock);
    found = g_cache.lru.vtable->load(&g_cache.lru.vtable, sc, params);
    pthread_mutex_unlock(&g_cache.lock);
    if (found) {
        pthread_mutex_lock(&G.lock);
        G.tls_resumed++;
        pthread_mutex_unlock(&G.lock);
    }
    return found;
}
static const br_ssl_session_cache_class cache_vtable = { sizeof g_cache, cache_save, cache_load };

static int g_https_port, g_http_port; /* actual ports */
static volatile sig_atomic_t g_sig_stop, g_sig_usr1;
static int g_pipe[2] = { -1, -1 };

static int is_stopping(void)
{
    int s;
    pthread_mutex_lock(&G.lock);
    s = G.stopping;
    pthread_mutex_unlock(&G.lock);
    return s;
}

static void sm_add(strmap *m, const char *k, size_t klen)
{
    size_t i;
    char *copy;
    for (i = 0; i < m->n; i++) {
        if (strlen(m->v[i].key) == klen && !memcmp(m->v[i].key, k, klen)) {
            m->v[i].count++;
            return;
        }
    }
    if (m->n >= SINK_MAX_DISTINCT) { G.truncated = 1; return; }
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        sm_ent *nv = (sm_ent *)realloc(m->v, ncap * sizeof *nv);
        if (!nv) { G.truncated = 1; return; }
        m->v = nv;
        m->cap = ncap;
    }
    copy = (char *)malloc(klen + 1);
    if (!copy) { G.truncated = 1; return; }
    memcpy(copy, k, klen);
    copy[klen] = 0;
    m->v[m->n].key = copy;
    m->v[m->n].count = 1;
    m->n++;
}

static int sm_has(const strmap *m, const char *k)
{
    size_t i;
    for (i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, k)) return 1;
    return 0;
}

static void sm_clear(strmap *m)
{
    size_t i;
    for (i = 0; i < m->n; i++) free(m->v[i].key);
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

static void sm_json(sbuf *b, const strmap *m)
{
    size_t i;
    sb_addc(b, '{');
    for (i = 0; i < m->n; i++) {
        if (i) sb_addc(b, ',');
        sb_jstrs(b, m->v[i].key);
        sb_addf(b, ":%lu", m->v[i].count);
    }
    sb_addc(b, '}');
}

/* xorshift64*; caller holds G.lock. */
static unsigned long long rng_next(void)
{
    G.rng ^= G.rng >> 12;
    G.rng ^= G.rng << 25;
    G.rng ^= G.rng >> 27;
    return G.rng * 2685821657736338717ULL;
}

static void rng_seed(void)
{
    unsigned long long s = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s) s = 0;
        close(fd);
    }
    s ^= (unsigned long long)wall_ms() ^ ((unsigned long long)getpid() << 32);
    G.rng = s ? s : 0x9E3779B97F4A7C15ULL;
}

/* Firebase push id: 8 chars of millisecond time, 12 random chars; ids made
 * in the same millisecond increment the random part. */
static void push_id(char out[21])
{
    static const char alpha[] =
        "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
    long long t = wall_ms();
    int i;
    pthread_mutex_lock(&G.lock);
    if (t == G.push_last_ms) {
        for (i = 11; i >= 0; i--) {
            if (G.push_rand[i] != 63) { G.push_rand[i]++; break; }
            G.push_rand[i] = 0;
        }
    } else {
        for (i = 0; i < 12; i++) G.push_rand[i] = (int)(rng_next() >> 58);
    }
    G.push_last_ms = t;
    for (i = 7; i >= 0; i--) {
        out[i] = alpha[t % 64];
        t /= 64;
    }
    for (i = 0; i < 12; i++) out[8 + i] = alpha[G.push_rand[i]];
    out[20] = 0;
    pthread_mutex_unlock(&G.lock);
}

/* Mode state as JSON; caller holds G.lock. */
static void mode_json_locked(sbuf *b)
{
    sb_addf(b, "{\"mode\":\"%s\",\"remaining\":%ld,\"ms\":%ld,\"only\":\"%s\"}",
            mode_names[G.mode], G.remaining, G.ms, only_names[G.only]);
}

static void set_mode_locked(int mode, long count, long ms, int only)
{
    G.mode = mode;
    G.remaining = mode == M_OK ? -1 : count;
    G.only = only;
    if (ms < 0) ms = mode == M_TRICKLE ? 200 : mode == M_DELAY ? 2000 : 0;
    G.ms = ms;
}

/* What mode 429 answers with, as it was when the fault was taken. */
typedef struct {
    long retry_after;
    char rate_limits[SINK_RL_MAX];
} fault_429;

/* Take the fault to apply to a payload request of the given route. */
static int take_fault(int route, long *ms, fault_429 *f429)
{
    int m;
    pthread_mutex_lock(&G.lock);
    m = G.mode;
    *ms = G.ms;
    f429->retry_after = G.retry_after;
    memcpy(f429->rate_limits, G.rate_limits, sizeof f429->rate_limits);
    if (m == M_OK || m == M_REFUSE ||
        (G.only == ONLY_ENVELOPE && route != ROUTE_ENVELOPE) ||
        (G.only == ONLY_FIREBASE && route != ROUTE_FIREBASE)) {
        pthread_mutex_unlock(&G.lock);
        return M_OK;
    }
    if (G.remaining > 0 && --G.remaining == 0) set_mode_locked(M_OK, -1, 0, ONLY_ANY);
    if (!mode_delivers(m)) G.faults++;
    pthread_mutex_unlock(&G.lock);
    return m;
}

static int take_refuse(void)
{
    int r = 0;
    pthread_mutex_lock(&G.lock);
    if (G.mode == M_REFUSE) {
        r = 1;
        G.faults++;
        if (G.remaining > 0 && --G.remaining == 0) set_mode_locked(M_OK, -1, 0, ONLY_ANY);
    }
    pthread_mutex_unlock(&G.lock);
    return r;
}

static void out_stdout(const sbuf *b)
{
    if (O.quiet || !b->len) return;
    pthread_mutex_lock(&G.out_lock);
    fwrite(b->p, 1, b->len, stdout);
    fflush(stdout);
    pthread_mutex_unlock(&G.out_lock);
}

static void out_record(const sbuf *line)
{
    if (line->oom) return;
    pthread_mutex_lock(&G.out_lock);
    if (G.record) {
        fwrite(line->p, 1, line->len, G.record);
        fputc('\n', G.record);
        fflush(G.record);
    }
    pthread_mutex_unlock(&G.out_lock);
}

/* ======================================================================== */
/* Connections and I/O                                                      */

typedef struct conn {
    int fd, tls, slot;
    unsigned long id, nreq;
    int infinite;          /* no inactivity timeout (hang mode) */
    long long last_io;
    size_t ipos, ilen;
    unsigned char ibuf[SINK_IBUF_SIZE];
    br_ssl_server_context sc;
    br_sslio_context ioc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
} conn;

/* Wait until fd is ready for `ev`; -1 on inactivity timeout or shutdown. */
static int wait_io(conn *c, short ev)
{
    for (;;) {
        struct pollfd pfd;
        int tmo = 250, r;
        if (is_stopping()) return -1;
        if (!c->infinite) {
            long long left = c->last_io + SINK_IDLE_MS - now_ms();
            if (left <= 0) return -1;
            if (left < tmo) tmo = (int)left;
        }
        pfd.fd = c->fd;
        pfd.events = ev;
        pfd.revents = 0;
        r = poll(&pfd, 1, tmo);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static int low_read(void *ctx, unsigned char *buf, size_t len)
{
    conn *c = (conn *)ctx;
    if (len > INT_MAX) len = INT_MAX;
    for (;;) {
        ssize_t r;
        if (wait_io(c, POLLIN) < 0) return -1;
        r = recv(c->fd, buf, len, 0);
        if (r > 0) { c->last_io = now_ms(); return (int)r; }
        if (r == 0) return -1;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
}

static int low_write(void *ctx, const unsigned char *buf, size_t len)
{
    conn *c = (conn *)ctx;
    if (len > INT_MAX) len = INT_MAX;
    for (;;) {
        ssize_t r;
        if (wait_io(c, POLLOUT) < 0) return -1;
        r = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (r > 0) { c->last_io = now_ms(); return (int)r; }
        if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
}

/* > 0 bytes read, -1 on EOF, error, timeout or shutdown. */
static int conn_recv(conn *c, unsigned char *buf, size_t len)
{
    if (len > INT_MAX) len = INT_MAX;
    if (c->tls) {
        int r = br_sslio_read(&c->ioc, buf, len);
        return r > 0 ? r : -1;
    }
    return low_read(c, buf, len);
}

static int conn_send(conn *c, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    if (c->tls) return br_sslio_write_all(&c->ioc, p, len) < 0 ? -1 : 0;
    while (len) {
        int w = low_write(c, p, len);
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int conn_flush(conn *c)
{
    if (c->tls) return br_sslio_flush(&c->ioc) < 0 ? -1 : 0;
    return 0;
}

/* Read more into ibuf; -2 when full, -1 on EOF/error. */
static int conn_fill(conn *c)
{
    int r;
    if (c->ipos > 0) {
        memmove(c->ibuf, c->ibuf + c->ipos, c->ilen - c->ipos);
        c->ilen -= c->ipos;
        c->ipos = 0;
    }
    if (c->ilen == sizeof c->ibuf) return -2;
    r = conn_recv(c, c->ibuf + c->ilen, sizeof c->ibuf - c->ilen);
    if (r <= 0) return -1;
    c->ilen += (size_t)r;
    return r;
}

static int conn_read_exact(conn *c, unsigned char *dst, size_t n)
{
    size_t avail = c->ilen - c->ipos, take = avail < n ? avail : n;
    memcpy(dst, c->ibuf + c->ipos, take);
    c->ipos += take;
    dst += take;
    n -= take;
    while (n) {
        int r = conn_recv(c, dst, n);
        if (r <= 0) return -1;
        dst += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One line without its CR LF into out (NUL-terminated).  Returns its
 * length, -1 on EOF/error, -2 when longer than cap - 1. */
static long conn_getline(conn *c, char *out, size_t cap)
{
    for (;;) {
        unsigned char *s = c->ibuf + c->ipos;
        unsigned char *nl = (unsigned char *)memchr(s, '\n', c->ilen - c->ipos);
        if (nl) {
            size_t len = (size_t)(nl - s);
            if (len && s[len - 1] == '\r') len--;
            if (len >= cap) return -2;
            memcpy(out, s, len);
            out[len] = 0;
            c->ipos += (size_t)(nl - s) + 1;
            return (long)len;
        }
        if (c->ilen - c->ipos > cap + 1) return -2;
        if (conn_fill(c) < 0) return -1;
    }
}

/* Run the engine until all pending records are written (after close). */
static void tls_push_records(conn *c)
{
    br_ssl_engine_context *eng = &c->sc.eng;
    while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
        int w = low_write(c, buf, len);
        if (w <= 0) break;
        br_ssl_engine_sendrec_ack(eng, (size_t)w);
    }
}

enum { END_GRACEFUL, END_ABRUPT, END_RESET };

static void conn_finish(conn *c, int how)
{
    if (how == END_RESET) {
        struct linger lg;
        lg.l_onoff = 1;
        lg.l_linger = 0;
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else if (how == END_GRACEFUL) {
        long long until;
        if (c->tls && !(br_ssl_engine_current_state(&c->sc.eng) & BR_SSL_CLOSED)) {
            br_ssl_engine_close(&c->sc.eng);
            tls_push_records(c);
        }
        shutdown(c->fd, SHUT_WR);
        /* Lingering close: read what the client still sends for a short
         * while, so that unread data does not turn our FIN into an RST that
         * could destroy the response before the client reads it. */
        until = now_ms() + 500;
        while (!is_stopping()) {
            unsigned char tmp[4096];
            struct pollfd pfd;
            long long left = until - now_ms();
            if (left <= 0) break;
            pfd.fd = c->fd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            if (poll(&pfd, 1, left < 100 ? (int)left : 100) < 0 && errno != EINTR) break;
            if (pfd.revents) {
                ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
                if (r == 0) break;
                if (r < 0 && errno != EINTR && errno != EAGAIN) break;
            }
        }
    }
    pthread_mutex_lock(&G.lock); /* main() may call shutdown() on c->fd */
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&G.lock);
}

static void sleep_ms(long ms)
{
    long long until = now_ms() + ms;
    while (!is_stopping()) {
        struct timespec ts;
        long long left = until - now_ms();
        if (left <= 0) break;
        if (left > 50) left = 50;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
}

/* ======================================================================== */
/* HTTP requests                                                            */

typedef struct {
    char *head;             /* copy of the header block, split in place */
    char *method, *target, *path, *query; /* query: NULL when absent */
    int minor;
    long long clen;         /* -1: no Content-Length */
    int chunked, close, keep_alive, expect100, n_host;
    int n_xsa, n_authz;
    const char *xsa, *authz, *cenc, *ctype, *override;
    unsigned char *body;
    size_t blen;
} req;

typedef struct {
    int status;
    sbuf body;
    sbuf xhdr;   /* extra header lines, each ending in CRLF */
    int close;
    int no_body; /* answer to HEAD: headers only */
    int framing; /* M_OK (Content-Length), M_CHUNKED or M_EOF */
    int interim; /* precede the answer with 100 and 103 interim responses */
} resp;

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static long head_end(const unsigned char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (b[i] != '\n') continue;
        if (i + 1 < n && b[i + 1] == '\n') return (long)(i + 2);
        if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n') return (long)(i + 3);
    }
    return -1;
}

/* 0: header block copied into r->head; -1: connection gone; 431. */
static int read_head(conn *c, req *r)
{
    for (;;) {
        long e;
        while (c->ipos < c->ilen && (c->ibuf[c->ipos] == '\r' || c->ibuf[c->ipos] == '\n'))
            c->ipos++;
        e = head_end(c->ibuf + c->ipos, c->ilen - c->ipos);
        if (e > 0) {
            if (e > SINK_HEADER_MAX) return 431;
            r->head = (char *)malloc((size_t)e + 1);
            if (!r->head) return -1;
            memcpy(r->head, c->ibuf + c->ipos, (size_t)e);
            r->head[e] = 0;
            c->ipos += (size_t)e;
            return 0;
        }
        if (c->ilen - c->ipos >= SINK_HEADER_MAX) return 431;
        e = conn_fill(c);
        if (e == -2) return 431;
        if (e < 0) return -1;
    }
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t') s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
    return s;
}

/* Is `tok` in the comma-separated list `v` (case-insensitive)? */
static int list_has(const char *v, const char *tok)
{
    size_t n = strlen(tok);
    while (*v) {
        const char *s, *e;
        while (*v == ' ' || *v == '\t' || *v == ',') v++;
        s = v;
        while (*v && *v != ',') v++;
        e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - s) == n && !strncasecmp(s, tok, n)) return 1;
    }
    return 0;
}

/* Parse r->head; returns 0 or an HTTP status with *why set. */
static int parse_head(req *r, const char **why)
{
    char *line = r->head, *next, *sp;
    int first = 1;
    r->clen = -1;
    for (; *line; line = next) {
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        next = nl + 1;
        if (nl > line && nl[-1] == '\r') nl[-1] = 0;
        if (first) {
            char *version;
            size_t i;
            first = 0;
            sp = strchr(line, ' ');
            if (!sp) { *why = "malformed request line"; return 400; }
            *sp = 0;
            r->method = line;
            if (!*r->method || strlen(r->method) > 15) { *why = "bad method"; return 400; }
            for (i = 0; r->method[i]; i++)
                if (!is_tchar((unsigned char)r->method[i])) { *why = "bad method"; return 400; }
            r->target = sp + 1;
            sp = strchr(r->target, ' ');
            if (!sp) { *why = "malformed request line"; return 400; }
            *sp = 0;
            version = sp + 1;
            if (r->target[0] != '/') { *why = "request target must be in origin-form"; return 400; }
            for (i = 0; r->target[i]; i++) {
                unsigned char ch = (unsigned char)r->target[i];
                if (ch <= 0x20 || ch >= 0x7F) { *why = "bad character in request target"; return 400; }
            }
            if (!strcmp(version, "HTTP/1.1")) r->minor = 1;
            else if (!strcmp(version, "HTTP/1.0")) r->minor = 0;
            else if (!strncmp(version, "HTTP/", 5)) { *why = "unsupported HTTP version"; return 505; }
            else { *why = "malformed request line"; return 400; }
            continue;
        }
        if (!*line) break; /* end of headers */
        if (*line == ' ' || *line == '\t') { *why = "obsolete header line folding"; return 400; }
        {
            char *colon = strchr(line, ':'), *name = line, *value;
            char *k;
            if (!colon || colon == line) { *why = "malformed header line"; return 400; }
            *colon = 0;
            for (k = name; *k; k++)
                if (!is_tchar((unsigned char)*k)) { *why = "malformed header name"; return 400; }
            value = trim(colon + 1);
            for (k = value; *k; k++) {
                unsigned char ch = (unsigned char)*k;
                if ((ch < 0x20 && ch != '\t') || ch == 0x7F) { *why = "control character in header value"; return 400; }
            }
            if (!strcasecmp(name, "Content-Length")) {
                long long v = 0;
                size_t i, n = strlen(value);
                if (!n || n > 15) { *why = "bad Content-Length"; return 400; }
                for (i = 0; i < n; i++) {
                    if (!is_digit((unsigned char)value[i])) { *why = "bad Content-Length"; return 400; }
                    v = v * 10 + (value[i] - '0');
                }
                if (r->clen >= 0 && r->clen != v) { *why = "conflicting Content-Length headers"; return 400; }
                r->clen = v;
            } else if (!strcasecmp(name, "Transfer-Encoding")) {
                if (strcasecmp(value, "chunked")) { *why = "unsupported Transfer-Encoding"; return 501; }
                if (r->chunked) { *why = "repeated Transfer-Encoding"; return 400; }
                r->chunked = 1;
            } else if (!strcasecmp(name, "Connection")) {
                if (list_has(value, "close")) r->close = 1;
                if (list_has(value, "keep-alive")) r->keep_alive = 1;
            } else if (!strcasecmp(name, "Expect")) {
                if (strcasecmp(value, "100-continue")) { *why = "unsupported Expect"; return 417; }
                r->expect100 = 1;
            } else if (!strcasecmp(name, "Host")) {
                r->n_host++;
            } else if (!strcasecmp(name, "X-Sentry-Auth")) {
                r->n_xsa++;
                r->xsa = value;
            } else if (!strcasecmp(name, "Authorization")) {
                if (!strncasecmp(value, "Sentry", 6) && (value[6] == ' ' || value[6] == '\t')) {
                    r->n_authz++;
                    r->authz = value;
                }
            } else if (!strcasecmp(name, "Content-Encoding")) {
                r->cenc = value;
            } else if (!strcasecmp(name, "Content-Type")) {
                r->ctype = value;
            } else if (!strcasecmp(name, "X-HTTP-Method-Override")) {
                r->override = value;
            }
        }
    }
    if (!r->method) { *why = "malformed request"; return 400; }
    if (r->minor == 1 && r->n_host != 1) {
        *why = r->n_host ? "more than one Host header" : "missing Host header";
        return 400;
    }
    if (r->minor == 0 && !r->keep_alive) r->close = 1;
    if (r->chunked && r->clen >= 0) r->close = 1; /* RFC 9112 6.3: chunked wins */
    r->path = r->target;
    sp = strchr(r->target, '?');
    if (sp) {
        /* keep target intact for printing: split into a copy */
        size_t pl = (size_t)(sp - r->target);
        char *copy = (char *)malloc(strlen(r->target) + 2);
        if (!copy) { *why = "out of memory"; return 500; }
        memcpy(copy, r->target, pl);
        copy[pl] = 0;
        strcpy(copy + pl + 1, sp + 1);
        r->path = copy;
        r->query = copy + pl + 1;
    }
    return 0;
}

/* 0 ok, -1 connection gone, else HTTP status with *why. */
static int read_body(conn *c, req *r, long max, const char **why)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (r->chunked) {
        sbuf b;
        char line[256];
        memset(&b, 0, sizeof b);
        if (r->expect100 && (conn_send(c, cont, sizeof cont - 1) || conn_flush(c))) return -1;
        for (;;) {
            long n = conn_getline(c, line, sizeof line);
            unsigned long long size = 0;
            char *p = line;
            if (n == -1) { sb_free(&b); return -1; }
            if (n == -2 || !is_hex((unsigned char)*p)) { sb_free(&b); *why = "bad chunk size line"; return 400; }
            while (is_hex((unsigned char)*p)) {
                if (size > (unsigned long long)max) { sb_free(&b); *why = "request body too large"; return 413; }
                size = size * 16 + (unsigned)hex_val((unsigned char)*p++);
            }
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ';') { sb_free(&b); *why = "bad chunk size line"; return 400; }
            if (size == 0) break;
            if (size > (unsigned long long)max - b.len) { sb_free(&b); *why = "request body too large"; return 413; }
            sb_reserve(&b, (size_t)size);
            if (b.oom) { sb_free(&b); *why = "out of memory"; return 413; }
            if (conn_read_exact(c, (unsigned char *)b.p + b.len, (size_t)size)) { sb_free(&b); return -1; }
            b.len += (size_t)size;
            b.p[b.len] = 0;
            n = conn_getline(c, line, sizeof line);
            if (n == -1) { sb_free(&b); return -1; }
            if (n != 0) { sb_free(&b); *why = "missing CRLF after chunk data"; return 400; }
        }
        {   /* trailer section */
            int lines = 0;
            for (;;) {
                long n = conn_getline(c, line, sizeof line);
                if (n == -1) { sb_free(&b); return -1; }
                if (n == 0) break;
                if (n < 0 || ++lines > 64) { sb_free(&b); *why = "bad chunked trailer"; return 400; }
            }
        }
        r->body = (unsigned char *)(b.p ? b.p : calloc(1, 1));
        r->blen = b.len;
        return r->body ? 0 : -1;
    }
    if (r->clen > max) { *why = "request body too large"; return 413; }
    r->blen = r->clen > 0 ? (size_t)r->clen : 0;
    r->body = (unsigned char *)malloc(r->blen + 1);
    if (!r->body) { *why = "out of memory"; return 413; }
    if (r->blen && r->expect100 && (conn_send(c, cont, sizeof cont - 1) || conn_flush(c))) return -1;
    if (conn_read_exact(c, r->body, r->blen)) return -1;
    r->body[r->blen] = 0;
    return 0;
}

static void req_free(req *r)
{
    if (r->path && r->path != r->target) free(r->path);
    free(r->head);
    free(r->body);
}

/* Query parameter `name`, %-decoded ('+' is a space) into out.  1 found,
 * 0 absent, -1 malformed or too long. */
static int query_get(const char *q, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        const char *kend = eq ? eq : end;
        if ((size_t)(kend - q) == nlen && !memcmp(q, name, nlen)) {
            const char *v = eq ? eq + 1 : end;
            size_t o = 0;
            while (v < end) {
                int ch = (unsigned char)*v;
                if (ch == '%') {
                    if (end - v < 3 || !is_hex((unsigned char)v[1]) || !is_hex((unsigned char)v[2])) return -1;
                    ch = hex_val((unsigned char)v[1]) * 16 + hex_val((unsigned char)v[2]);
                    v += 3;
                } else {
                    if (ch == '+') ch = ' ';
                    v++;
                }
                if (o + 1 >= cap) return -1;
                out[o++] = (char)ch;
            }
            out[o] = 0;
            return 1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* Query with the values of auth/access_token/sentry_key replaced by "***". */
static void sb_redacted_query(sbuf *b, const char *q)
{
    while (q && *q) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        size_t klen = eq ? (size_t)(eq - q) : (size_t)(end - q);
        if (eq && ((klen == 4 && !memcmp(q, "auth", 4)) ||
                   (klen == 12 && !memcmp(q, "access_token", 12)))) {
            sb_add(b, q, klen + 1);
            sb_adds(b, "***");
        } else {
            sb_add(b, q, (size_t)(end - q));
        }
        if (amp) sb_addc(b, '&');
        q = amp ? amp + 1 : NULL;
    }
}

/* ======================================================================== */
/* Responses                                                                */

static void resp_json(resp *o, int status, const char *body)
{
    o->status = status;
    o->body.len = 0;
    sb_adds(&o->body, body);
}

static void sentry_error(resp *o, int status, const char *detail)
{
    o->status = status;
    o->body.len = 0;
    sb_adds(&o->body, "{\"detail\":");
    sb_jstrs(&o->body, detail);
    sb_addc(&o->body, '}');
    sb_adds(&o->xhdr, "X-Sentry-Error: ");
    sb_adds(&o->xhdr, detail);
    sb_adds(&o->xhdr, "\r\n");
}

static void firebase_error(resp *o, int status, const char *msg)
{
    o->status = status;
    o->body.len = 0;
    sb_adds(&o->body, "{\n  \"error\" : ");
    sb_jstrs(&o->body, msg);
    sb_adds(&o->body, "\n}\n");
}

static void build_response(sbuf *out, const resp *o)
{
    int has_body = o->status != 204 && !o->no_body;
    if (o->interim)
        sb_adds(out, "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n");
    sb_addf(out, "HTTP/1.1 %d %s\r\nServer: telemetry_sink\r\n", o->status, reason(o->status));
    if (o->status != 204) {
        sb_adds(out, "Content-Type: application/json; charset=utf-8\r\n");
        if (o->framing == M_CHUNKED) sb_adds(out, "Transfer-Encoding: chunked\r\n");
        else if (o->framing != M_EOF)
            sb_addf(out, "Content-Length: %lu\r\n", (unsigned long)o->body.len);
    }
    sb_adds(out, o->close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
    if (o->xhdr.len) sb_add(out, o->xhdr.p, o->xhdr.len);
    sb_adds(out, "\r\n");
    if (!has_body) return;
    if (o->framing == M_CHUNKED) {
        /* small chunks, upper-case hex, an extension and a trailer: all legal */
        size_t i;
        for (i = 0; i < o->body.len; i += 7) {
            size_t n = o->body.len - i < 7 ? o->body.len - i : 7;
            sb_addf(out, "%lX%s\r\n", (unsigned long)n, i ? "" : ";sink=1");
            sb_add(out, o->body.p + i, n);
            sb_adds(out, "\r\n");
        }
        sb_adds(out, "0\r\nX-Sink-Trailer: 1\r\n\r\n");
    } else {
        sb_add(out, o->body.p, o->body.len);
    }
}

/* Send a response; with trickle_ms > 0 one byte at a time. */
static int send_response(conn *c, const resp *o, long trickle_ms)
{
    sbuf out;
    int rc = 0;
    memset(&out, 0, sizeof out);
    build_response(&out, o);
    if (out.oom) { sb_free(&out); return -1; }
    if (trickle_ms > 0) {
        size_t i;
        for (i = 0; i < out.len && rc == 0; i++) {
            if (i) sleep_ms(trickle_ms);
            if (is_stopping()) rc = -1;
            else rc = (conn_send(c, out.p + i, 1) || conn_flush(c)) ? -1 : 0;
        }
    } else {
        rc = (conn_send(c, out.p, out.len) || conn_flush(c)) ? -1 : 0;
    }
    sb_free(&out);
    return rc;
}

/* ======================================================================== */
/* Output                                                                   */

static void log_prefix(sbuf *b, const conn *c, const req *r)
{
    char ts[TS_LEN];
    iso_now(ts);
    sb_addf(b, "[%s] #%lu.%lu %s %s %s", ts, c->id, c->nreq, c->tls ? "https" : "http",
            r->method ? r->method : "?", r->path ? r->path : "?");
    if (r->query) {
        sb_addc(b, '?');
        sb_redacted_query(b, r->query);
    }
}

static void log_simple(const conn *c, const req *r, const char *what)
{
    sbuf b;
    if (O.quiet) return;
    memset(&b, 0, sizeof b);
    log_prefix(&b, c, r);
    sb_adds(&b, " -> ");
    sb_adds(&b, what);
    sb_addc(&b, '\n');
    out_stdout(&b);
    sb_free(&b);
}

static void log_rejected(const conn *c, const req *r, const resp *o, const char *kind)
{
    char what[64];
    pthread_mutex_lock(&G.lock);
    G.rejected++;
    pthread_mutex_unlock(&G.lock);
    if (O.quiet) return;
    snprintf(what, sizeof what, "%d %s rejected: ", o->status, kind);
    {
        sbuf b;
        memset(&b, 0, sizeof b);
        log_prefix(&b, c, r);
        sb_adds(&b, " -> ");
        sb_adds(&b, what);
        sb_add(&b, o->body.p, o->body.len);
        while (b.len && (b.p[b.len - 1] == '\n')) b.p[--b.len] = 0;
        sb_addc(&b, '\n');
        out_stdout(&b);
        sb_free(&b);
    }
}

static void record_common(sbuf *b, const conn *c, const req *r, const char *kind,
                          int status, const char *method)
{
    char ts[TS_LEN];
    iso_now(ts);
    sb_addf(b, "{\"time\":\"%s\",\"kind\":\"%s\",\"tls\":%s,\"conn\":%lu,\"req\":%lu,\"method\":",
            ts, kind, c->tls ? "true" : "false", c->id, c->nreq);
    sb_jstrs(b, method);
    sb_adds(b, ",\"path\":");
    sb_jstrs(b, r->path);
    sb_adds(b, ",\"query\":");
    sb_jstrs(b, r->query ? r->query : "");
    sb_addf(b, ",\"status\":%d,\"size\":%lu", status, (unsigned long)r->blen);
}

/* ======================================================================== */
/* Sentry envelopes                                                         */

typedef struct {
    const unsigned char *hdr, *payload;
    size_t hlen, plen;
    char type[32];
    int has_length;
} item;

typedef struct {
    char key[80], version[16];
    int has_key, has_version, has_client;
} sauth;

static int copy_field(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) return 0;
    memcpy(dst, s, n);
    dst[n] = 0;
    return 1;
}

/* X-Sentry-Auth value.  0 when unparsable. */
static int parse_auth_header(const char *v, sauth *a)
{
    while (*v == ' ' || *v == '\t') v++;
    if (strncasecmp(v, "Sentry", 6) || (v[6] != ' ' && v[6] != '\t')) return 0;
    v += 6;
    while (*v) {
        const char *s, *e, *eq, *ns, *ne, *vs, *ve;
        while (*v == ' ' || *v == '\t' || *v == ',') v++;
        if (!*v) break;
        s = v;
        while (*v && *v != ',') v++;
        e = v;
        eq = memchr(s, '=', (size_t)(e - s));
        if (!eq) return 0;
        ns = s; ne = eq;
        while (ne > ns && (ne[-1] == ' ' || ne[-1] == '\t')) ne--;
        vs = eq + 1; ve = e;
        while (vs < ve && (*vs == ' ' || *vs == '\t')) vs++;
        while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
#define NAME_IS(lit) ((size_t)(ne - ns) == sizeof lit - 1 && !memcmp(ns, lit, sizeof lit - 1))
        if (NAME_IS("sentry_key")) {
            if (!copy_field(a->key, sizeof a->key, vs, (size_t)(ve - vs))) return 0;
            a->has_key = 1;
        } else if (NAME_IS("sentry_version")) {
            if (!copy_field(a->version, sizeof a->version, vs, (size_t)(ve - vs))) return 0;
            a->has_version = 1;
        } else if (NAME_IS("sentry_client")) {
            a->has_client = 1;
        }
#undef NAME_IS
    }
    return 1;
}

/* Envelope and item header lines: one JSON object, no surrounding space. */
static const char *check_header_line(const unsigned char *p, size_t n)
{
    jctx c;
    memset(&c, 0, sizeof c);
    if (n == 0) return "empty header line";
    if (p[0] == ' ' || p[0] == '\t' || p[0] == '\r' || p[n - 1] == ' ' ||
        p[n - 1] == '\t' || p[n - 1] == '\r')
        return "whitespace around a header line";
    if (!json_check(p, n, &c)) return c.err;
    if (!json_is_object(p, n)) return "header is not a JSON object";
    return NULL;
}

static int dup_keys(const unsigned char *p, size_t n)
{
    jiter a, b;
    jmember ma, mb;
    int i = 0, j;
    if (!jobj_begin(&a, p, n)) return 0;
    while (jobj_next(&a, &ma)) {
        i++;
        jobj_begin(&b, p, n);
        for (j = 0; j < i - 1 && jobj_next(&b, &mb); j++)
            if (ma.klen == mb.klen && !memcmp(ma.k, mb.k, ma.klen)) return 1;
    }
    return 0;
}

/* Normalise an event id (32 hex, or 36 with dashes) to 32 lower-case hex.
 * Returns 0 if invalid, 1 if already canonical, 2 if it needed changes. */
static int norm_event_id(const char *s, size_t n, char out[33])
{
    size_t i, o = 0;
    int changed = 0;
    if (n != 32 && n != 36) return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (ch != '-') return 0;
            changed = 1;
            continue;
        }
        if (!is_hex((unsigned char)ch)) return 0;
        if (ch >= 'A' && ch <= 'F') { ch = (char)(ch - 'A' + 'a'); changed = 1; }
        out[o++] = ch;
    }
    out[o] = 0;
    return changed ? 2 : 1;
}

typedef struct {
    const unsigned char *hdr;
    size_t hlen;
    item *items;
    size_t n, cap;
    char event_id[33];
    int has_event_id;
    sbuf warnings; /* JSON array body: "w1","w2" */
    char why[160];
} envelope;

static void env_warn(envelope *e, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (e->warnings.len) sb_addc(&e->warnings, ',');
    sb_jstrs(&e->warnings, tmp);
}

/* Parse per the envelope grammar.  Returns 0, or 400 with e->why. */
static int parse_envelope(const unsigned char *data, size_t len, envelope *e)
{
    const unsigned char *p = data, *end = data + len, *nl;
    const char *err;
    const unsigned char *v;
    size_t vlen;
    int n_events = 0, n_sessions = 0, n_needs_id = 0;
#define BAD(...) do { snprintf(e->why, sizeof e->why, __VA_ARGS__); return 400; } while (0)
    if (len == 0) BAD("empty envelope");
    nl = (const unsigned char *)memchr(p, '\n', len);
    e->hdr = p;
    e->hlen = nl ? (size_t)(nl - p) : len;
    if ((err = check_header_line(e->hdr, e->hlen))) BAD("envelope header: %s", err);
    if (jobj_get(e->hdr, e->hlen, "sent_at", &v, &vlen) > 1) BAD("envelope header: duplicate sent_at");
    if (dup_keys(e->hdr, e->hlen)) env_warn(e, "envelope header has duplicate keys");
    if (jobj_get(e->hdr, e->hlen, "event_id", &v, &vlen)) {
        const char *s;
        size_t sl;
        int k;
        if (!jstr_raw(v, vlen, &s, &sl) || !(k = norm_event_id(s, sl, e->event_id)))
            BAD("envelope header: invalid event_id");
        if (k == 2) env_warn(e, "event_id should be 32 lower-case hex digits without dashes");
        e->has_event_id = 1;
    }
    if (!jobj_get(e->hdr, e->hlen, "sent_at", &v, &vlen)) env_warn(e, "envelope header has no sent_at");
    p = nl ? nl + 1 : end;
    while (p < end) {
        item it;
        unsigned long long length;
        const char *s;
        size_t sl;
        memset(&it, 0, sizeof it);
        nl = (const unsigned char *)memchr(p, '\n', (size_t)(end - p));
        it.hdr = p;
        it.hlen = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if ((err = check_header_line(it.hdr, it.hlen)))
            BAD("item %lu header: %s", (unsigned long)e->n + 1, err);
        if (jobj_get(it.hdr, it.hlen, "type", &v, &vlen) != 1 || !jstr_raw(v, vlen, &s, &sl) ||
            sl == 0 || !copy_field(it.type, sizeof it.type, s, sl))
            BAD("item %lu header: missing or bad type", (unsigned long)e->n + 1);
        p = nl ? nl + 1 : end;
        if (jobj_get(it.hdr, it.hlen, "length", &v, &vlen)) {
            if (!jnum_uint(v, vlen, &length)) BAD("item %lu header: bad length", (unsigned long)e->n + 1);
            if (length > (unsigned long long)(end - p)) BAD("item %lu: payload shorter than its length", (unsigned long)e->n + 1);
            it.payload = p;
            it.plen = (size_t)length;
            it.has_length = 1;
            p += length;
            if (p < end) {
                if (*p != '\n') BAD("item %lu: payload not followed by a newline", (unsigned long)e->n + 1);
                p++;
            }
        } else {
            nl = (const unsigned char *)memchr(p, '\n', (size_t)(end - p));
            it.payload = p;
            it.plen = nl ? (size_t)(nl - p) : (size_t)(end - p);
            p = nl ? nl + 1 : end;
            env_warn(e, "item %lu (%s) has no length", (unsigned long)e->n + 1, it.type);
        }
        if (!strcmp(it.type, "event") || !strcmp(it.type, "session") ||
            !strcmp(it.type, "client_report") || !strcmp(it.type, "transaction")) {
            jctx c;
            memset(&c, 0, sizeof c);
            if (!json_check(it.payload, it.plen, &c))
                BAD("item %lu (%s): invalid JSON: %s", (unsigned long)e->n + 1, it.type, c.err);
            if (!json_is_object(it.payload, it.plen))
                BAD("item %lu (%s): payload is not a JSON object", (unsigned long)e->n + 1, it.type);
        }
        if (!strcmp(it.type, "event")) {
            n_events++;
            n_needs_id++;
            if (n_events > 1) BAD("more than one event item");
            if (it.plen > (size_t)SINK_EVENT_MAX) BAD("envelope exceeded size limits for type 'event'");
            if (jobj_get(it.payload, it.plen, "event_id", &v, &vlen)) {
                char id[33];
                if (!jstr_raw(v, vlen, &s, &sl) || !norm_event_id(s, sl, id))
                    env_warn(e, "event payload has an invalid event_id");
                else if (e->has_event_id && strcmp(id, e->event_id))
                    env_warn(e, "event_id of the event payload differs from the envelope header");
            } else {
                env_warn(e, "event payload has no event_id");
            }
        } else if (!strcmp(it.type, "session")) {
            if (++n_sessions > SINK_SESSIONS_MAX) BAD("envelope exceeded size limits for type 'session'");
        } else if (!strcmp(it.type, "attachment")) {
            n_needs_id++;
            if (!jobj_get(it.hdr, it.hlen, "filename", &v, &vlen) || !jstr_raw(v, vlen, &s, &sl) || !sl)
                BAD("item %lu: attachment without filename", (unsigned long)e->n + 1);
        }
        if (e->n == e->cap) {
            size_t ncap = e->cap ? e->cap * 2 : 8;
            item *ni;
            if (ncap > 100000) BAD("too many items");
            ni = (item *)realloc(e->items, ncap * sizeof *ni);
            if (!ni) BAD("out of memory");
            e->items = ni;
            e->cap = ncap;
        }
        e->items[e->n++] = it;
    }
    if (n_needs_id && !e->has_event_id) BAD("envelope with an event or attachment needs event_id in its header");
    if (e->n == 0) env_warn(e, "envelope carries no items");
    return 0;
#undef BAD
}

static void print_envelope(const conn *c, const req *r, const envelope *e, int status)
{
    sbuf b;
    size_t i;
    if (O.quiet) return;
    memset(&b, 0, sizeof b);
    log_prefix(&b, c, r);
    sb_addf(&b, " -> %d envelope", status);
    if (e->has_event_id) sb_addf(&b, " event_id=%s", e->event_id);
    sb_addf(&b, " (%lu item%s, %lu bytes)\n", (unsigned long)e->n, e->n == 1 ? "" : "s",
            (unsigned long)r->blen);
    sb_adds(&b, "    header: ");
    json_pretty(&b, e->hdr, e->hlen, 4);
    sb_addc(&b, '\n');
    for (i = 0; i < e->n; i++) {
        const item *it = &e->items[i];
        jctx jc;
        memset(&jc, 0, sizeof jc);
        sb_addf(&b, "    item %lu/%lu: %s, %lu bytes", (unsigned long)i + 1, (unsigned long)e->n,
                it->type, (unsigned long)it->plen);
        if (!strcmp(it->type, "attachment")) {
            const unsigned char *v;
            size_t vlen;
            if (jobj_get(it->hdr, it->hlen, "filename", &v, &vlen)) { sb_adds(&b, ", "); sb_add(&b, v, vlen); }
        }
        sb_addc(&b, '\n');
        if (it->plen && json_check(it->payload, it->plen, &jc)) {
            sb_spaces(&b, 6);
            json_pretty(&b, it->payload, it->plen, 6);
            sb_addc(&b, '\n');
        } else if (is_text(it->payload, it->plen)) {
            size_t n = it->plen < SINK_PRINT_TEXT_MAX ? it->plen : SINK_PRINT_TEXT_MAX, j, ls = 0;
            for (j = 0; j <= n; j++) {
                if (j == n || it->payload[j] == '\n') {
                    if (j > ls || j < n) {
                        sb_adds(&b, "      | ");
                        sb_add(&b, it->payload + ls, j - ls);
                        sb_addc(&b, '\n');
                    }
                    ls = j + 1;
                }
            }
            if (n < it->plen) sb_adds(&b, "      | ...\n");
        } else if (it->plen) {
            size_t j;
            sb_adds(&b, "      (binary)");
            for (j = 0; j < it->plen && j < 16; j++) sb_addf(&b, " %02x", it->payload[j]);
            sb_adds(&b, it->plen > 16 ? " ...\n" : "\n");
        }
    }
    if (e->warnings.len) {
        sb_adds(&b, "    warnings: [");
        sb_add(&b, e->warnings.p, e->warnings.len);
        sb_adds(&b, "]\n");
    }
    out_stdout(&b);
    sb_free(&b);
}

static void record_envelope(const conn *c, const req *r, const envelope *e, int status,
                            const char *project, const sauth *a)
{
    sbuf b;
    size_t i;
    if (!O.record) return;
    memset(&b, 0, sizeof b);
    record_common(&b, c, r, "envelope", status, r->method);
    sb_adds(&b, ",\"project_id\":");
    sb_jstrs(&b, project);
    sb_adds(&b, ",\"sentry_key\":");
    sb_jstrs(&b, a->key);
    sb_adds(&b, ",\"event_id\":");
    if (e->has_event_id) sb_jstrs(&b, e->event_id);
    else sb_adds(&b, "null");
    sb_adds(&b, ",\"headers\":");
    json_minify(&b, e->hdr, e->hlen);
    sb_adds(&b, ",\"items\":[");
    for (i = 0; i < e->n; i++) {
        const item *it = &e->items[i];
        jctx jc;
        memset(&jc, 0, sizeof jc);
        if (i) sb_addc(&b, ',');
        sb_adds(&b, "{\"headers\":");
        json_minify(&b, it->hdr, it->hlen);
        if (it->plen && json_check(it->payload, it->plen, &jc)) {
            sb_adds(&b, ",\"encoding\":\"json\",\"payload\":");
            json_minify(&b, it->payload, it->plen);
        } else if (is_text(it->payload, it->plen)) {
            sb_adds(&b, ",\"encoding\":\"text\",\"payload\":");
            sb_jstr(&b, it->payload, it->plen);
        } else {
            sb_adds(&b, ",\"encoding\":\"base64\",\"payload\":\"");
            sb_base64(&b, it->payload, it->plen);
            sb_addc(&b, '"');
        }
        sb_addc(&b, '}');
    }
    sb_adds(&b, "],\"warnings\":[");
    sb_add(&b, e->warnings.p, e->warnings.len);
    sb_adds(&b, "]}");
    out_record(&b);
    sb_free(&b);
}

/* Project id of "[/prefix]/api/<digits>/envelope/", or NULL. */
static int envelope_route(const char *path, char *project, size_t cap)
{
    static const char suffix[] = "/envelope/";
    size_t n = strlen(path), sl = sizeof suffix - 1;
    const char *digits_end, *d;
    if (n < sl + 6 || strcmp(path + n - sl, suffix)) return 0;
    digits_end = path + n - sl;
    d = digits_end;
    while (d > path && is_digit((unsigned char)d[-1])) d--;
    if (d == digits_end || (size_t)(d - path) < 5 || strncmp(d - 5, "/api/", 5)) return 0;
    return copy_field(project, cap, d, (size_t)(digits_end - d));
}

static void handle_envelope(conn *c, req *r, const char *project, resp *o, int dry)
{
    sauth a;
    envelope e;
    const unsigned char *v;
    size_t vlen;
    int sources, st;
    char tmp[96];
    memset(&a, 0, sizeof a);
    memset(&e, 0, sizeof e);
    if (strcmp(r->method, "POST")) {
        resp_json(o, 404, "{\"detail\":\"not found: the envelope endpoint only takes POST\"}");
        if (!dry) log_rejected(c, r, o, "envelope");
        return;
    }
    sources = r->n_xsa + r->n_authz + (r->query && strstr(r->query, "sentry_") ? 1 : 0);
    if (sources > 1) { sentry_error(o, 401, "multiple authorization payloads detected"); goto rejected; }
    if (sources == 0) { sentry_error(o, 401, "missing authorization information"); goto rejected; }
    if (r->n_xsa || r->n_authz) {
        if (!parse_auth_header(r->n_xsa ? r->xsa : r->authz, &a)) {
            sentry_error(o, 401, "invalid authorization header");
            goto rejected;
        }
    } else {
        int k = query_get(r->query, "sentry_key", a.key, sizeof a.key);
        int ver = query_get(r->query, "sentry_version", a.version, sizeof a.version);
        if (k < 0 || ver < 0) { sentry_error(o, 401, "invalid authorization query"); goto rejected; }
        a.has_key = k > 0;
        a.has_version = ver > 0;
        a.has_client = query_get(r->query, "sentry_client", tmp, sizeof tmp) != 0;
    }
    if (!a.has_key || !a.key[0]) { sentry_error(o, 401, "missing authorization information"); goto rejected; }
    if (a.has_version) {
        size_t i, n = strcspn(a.version, ".");
        long ver = 0;
        if (n == 0 || n > 4) { sentry_error(o, 400, "invalid sentry_version"); goto rejected; }
        for (i = 0; i < n; i++) {
            if (!is_digit((unsigned char)a.version[i])) { sentry_error(o, 400, "invalid sentry_version"); goto rejected; }
            ver = ver * 10 + (a.version[i] - '0');
        }
        if (ver > 7) { sentry_error(o, 400, "unsupported protocol version"); goto rejected; }
    }
    if (strlen(a.key) != 32) { sentry_error(o, 400, "bad sentry DSN public key"); goto rejected; }
    if (O.sentry_key && strcmp(O.sentry_key, a.key)) {
        sentry_error(o, 401, "invalid sentry_key (not the key telemetry_sink was started with)");
        goto rejected;
    }
    if (r->cenc && strcasecmp(r->cenc, "identity")) {
        sentry_error(o, 415, "telemetry_sink cannot decode this Content-Encoding");
        goto rejected;
    }
    if ((st = parse_envelope(r->body, r->blen, &e)) != 0) {
        char why[200];
        snprintf(why, sizeof why, "invalid envelope: %s", e.why);
        sentry_error(o, st, why);
        goto rejected;
    }
    if (jobj_get(e.hdr, e.hlen, "dsn", &v, &vlen)) {
        const char *s, *ks, *at;
        size_t sl;
        if (jstr_raw(v, vlen, &s, &sl) && (ks = strstr(s, "://")) && (size_t)(ks - s) < sl) {
            const char *dend = s + sl, *ke, *last;
            ks += 3;
            at = memchr(ks, '@', (size_t)(dend - ks));
            ke = ks;
            while (ke < dend && *ke != ':' && *ke != '@') ke++;
            if (!at || (size_t)(ke - ks) != strlen(a.key) || memcmp(ks, a.key, (size_t)(ke - ks))) {
                sentry_error(o, 400, "dsn envelope header does not match the request's public key");
                goto rejected;
            }
            while (dend > at && dend[-1] == '/') dend--;
            last = dend;
            while (last > at && last[-1] != '/') last--;
            if ((size_t)(dend - last) != strlen(project) || memcmp(last, project, (size_t)(dend - last))) {
                sentry_error(o, 400, "dsn envelope header does not match the project id");
                goto rejected;
            }
        }
    }
    if (!a.has_version) env_warn(&e, "auth has no sentry_version");
    if (!a.has_client) env_warn(&e, "auth has no sentry_client");
    if (!r->ctype) env_warn(&e, "no Content-Type (expected application/x-sentry-envelope)");
    else if (strcasecmp(r->ctype, "application/x-sentry-envelope"))
        env_warn(&e, "Content-Type is %.60s (expected application/x-sentry-envelope)", r->ctype);
    o->status = 200;
    o->body.len = 0;
    if (e.has_event_id) sb_addf(&o->body, "{\"id\":\"%s\"}", e.event_id);
    else sb_adds(&o->body, "{}");
    if (!dry) {
        size_t i;
        int has_event = 0;
        pthread_mutex_lock(&G.lock);
        G.envelopes++;
        for (i = 0; i < e.n; i++) {
            const char *t = e.items[i].type;
            if (!strcmp(t, "event")) { G.events++; has_event = 1; }
            else if (!strcmp(t, "session")) G.sessions++;
            else if (!strcmp(t, "attachment")) G.attachments++;
            else if (!strcmp(t, "client_report")) G.client_reports++;
            else G.other_items++;
        }
        if (has_event && e.has_event_id) sm_add(&G.event_ids, e.event_id, 32);
        pthread_mutex_unlock(&G.lock);
        record_envelope(c, r, &e, o->status, project, &a);
        print_envelope(c, r, &e, o->status);
    }
    free(e.items);
    sb_free(&e.warnings);
    return;
rejected:
    free(e.items);
    sb_free(&e.warnings);
    if (!dry) log_rejected(c, r, o, "envelope");
}

/* ======================================================================== */
/* Firebase                                                                 */

static const char *fb_path_check(const char *path)
{
    size_t n = strlen(path), total = 0;
    int depth = 0;
    const char *p = path, *end = path + n - 5; /* without ".json" */
    while (p < end) {
        unsigned char seg[SINK_FB_KEY_MAX + 4];
        size_t sl = 0;
        const unsigned char *q, *qe;
        while (p < end && *p == '/') p++;
        if (p >= end) break;
        while (p < end && *p != '/') {
            int ch = (unsigned char)*p;
            if (ch == '%') {
                if (end - p < 3 || !is_hex((unsigned char)p[1]) || !is_hex((unsigned char)p[2]))
                    return "Invalid path: bad percent-encoding";
                ch = hex_val((unsigned char)p[1]) * 16 + hex_val((unsigned char)p[2]);
                p += 3;
            } else {
                p++;
            }
            if (sl >= SINK_FB_KEY_MAX) return "Invalid path: key longer than 768 bytes";
            seg[sl++] = (unsigned char)ch;
        }
        q = seg;
        qe = seg + sl;
        while (q < qe) {
            unsigned long cp;
            size_t k = utf8_dec(q, qe, &cp);
            if (!k) return "Invalid path: key is not UTF-8";
            if (fb_forbidden(cp))
                return "Invalid path: keys must not contain '.', '#', '$', '[', ']', '/' or control characters";
            q += k;
        }
        depth++;
        total += sl + 1;
    }
    if (depth >= SINK_FB_DEPTH_MAX) return "Invalid path: more than 31 levels";
    if (total > SINK_FB_KEY_MAX) return "Invalid path: longer than 768 bytes";
    return NULL;
}

static void handle_firebase(conn *c, req *r, resp *o, int dry)
{
    char tok[8192], silent[32], name[21];
    const char *method = r->method, *err;
    int k, is_post;
    jctx jc;
    memset(&jc, 0, sizeof jc);
    if (!strcmp(method, "POST") && r->override) {
        if (!strcasecmp(r->override, "PUT")) method = "PUT";
        else if (!strcasecmp(r->override, "PATCH")) method = "PATCH";
        else method = r->override;
    }
    if (strcmp(method, "PUT") && strcmp(method, "POST") && strcmp(method, "PATCH")) {
        o->status = 404;
        sb_adds(&o->body, "{\"error\" : \"telemetry_sink only accepts PUT, POST and PATCH on .json paths\"}");
        if (!dry) log_rejected(c, r, o, "firebase");
        return;
    }
    if (O.fb_auth) {
        k = query_get(r->query, "auth", tok, sizeof tok);
        if (k == 0) k = query_get(r->query, "access_token", tok, sizeof tok);
        if (k <= 0 || strcmp(tok, O.fb_auth)) {
            firebase_error(o, 401, "Permission denied");
            goto rejected;
        }
    }
    if ((err = fb_path_check(r->path))) { firebase_error(o, 400, err); goto rejected; }
    if (r->cenc && strcasecmp(r->cenc, "identity")) {
        firebase_error(o, 415, "telemetry_sink cannot decode this Content-Encoding");
        goto rejected;
    }
    jc.fb_keys = 1;
    if (!json_check(r->body, r->blen, &jc)) {
        firebase_error(o, 400, jc.key_err
            ? "Invalid data; keys must be non-empty, at most 768 bytes, and cannot contain '.', '#', '$', '/', '[', ']' or control characters"
            : "Invalid data; couldn't parse JSON object, array, or value.");
        goto rejected;
    }
    if (!strcmp(method, "PATCH") && !json_is_object(r->body, r->blen)) {
        firebase_error(o, 400, "Invalid data; PATCH needs a JSON object.");
        goto rejected;
    }
    if (O.fb_create_only && !strcmp(method, "PUT")) {
        int stored;
        pthread_mutex_lock(&G.lock);
        stored = sm_has(&G.fb_stored, r->path);
        if (!stored && !dry) sm_add(&G.fb_stored, r->path, strlen(r->path));
        pthread_mutex_unlock(&G.lock);
        if (stored) { firebase_error(o, 401, "Permission denied"); goto rejected; }
    }
    is_post = !strcmp(method, "POST");
    if (is_post) push_id(name);
    if (query_get(r->query, "print", silent, sizeof silent) > 0 && !strcmp(silent, "silent")) {
        o->status = 204;
    } else if (is_post) {
        o->status = 200;
        sb_addf(&o->body, "{\"name\":\"%s\"}", name);
    } else {
        o->status = 200;
        sb_add(&o->body, r->body, r->blen);
    }
    if (dry) return;
    pthread_mutex_lock(&G.lock);
    G.fb_writes++;
    sm_add(&G.fb_paths, r->path, strlen(r->path));
    pthread_mutex_unlock(&G.lock);
    if (O.record) {
        sbuf b;
        memset(&b, 0, sizeof b);
        record_common(&b, c, r, "firebase", o->status, method);
        sb_adds(&b, ",\"body\":");
        json_minify(&b, r->body, r->blen);
        if (is_post) sb_addf(&b, ",\"name\":\"%s\"", name);
        sb_addc(&b, '}');
        out_record(&b);
        sb_free(&b);
    }
    if (!O.quiet) {
        sbuf b;
        memset(&b, 0, sizeof b);
        log_prefix(&b, c, r);
        sb_addf(&b, " -> %d firebase %s", o->status, method);
        if (is_post) sb_addf(&b, " name=%s", name);
        sb_adds(&b, "\n    ");
        json_pretty(&b, r->body, r->blen, 4);
        sb_addc(&b, '\n');
        out_stdout(&b);
        sb_free(&b);
    }
    return;
rejected:
    if (!dry) log_rejected(c, r, o, "firebase");
}

/* ======================================================================== */
/* Control routes                                                           */

static void stats_json(sbuf *b)
{
    pthread_mutex_lock(&G.lock);
    sb_addf(b, "{\"requests\":%lu,\"connections\":%lu,\"envelopes\":%lu,\"events\":%lu,"
               "\"sessions\":%lu,\"attachments\":%lu,\"client_reports\":%lu,"
               "\"other_items\":%lu,\"firebase_writes\":%lu,\"rejected\":%lu,"
               "\"faults\":%lu,\"tls_errors\":%lu,\"tls_resumed\":%lu,\"distinct_event_ids\":%lu,\"event_ids\":",
            G.requests, G.connections, G.envelopes, G.events, G.sessions, G.attachments,
            G.client_reports, G.other_items, G.fb_writes, G.rejected, G.faults,
            G.tls_errors, G.tls_resumed, (unsigned long)G.event_ids.n);
    sm_json(b, &G.event_ids);
    sb_addf(b, ",\"distinct_firebase_paths\":%lu,\"firebase_paths\":", (unsigned long)G.fb_paths.n);
    sm_json(b, &G.fb_paths);
    sb_addf(b, ",\"truncated\":%s,\"mode\":", G.truncated ? "true" : "false");
    mode_json_locked(b);
    sb_adds(b, "}\n");
    pthread_mutex_unlock(&G.lock);
}

static int parse_mode(const char *s)
{
    int i;
    for (i = 0; i < M_COUNT; i++)
        if (!strcmp(s, mode_names[i])) return i;
    return -1;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    long v;
    if (!*s) return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < -1) return 0;
    *out = v;
    return 1;
}

static void handle_control(conn *c, req *r, resp *o)
{
    if (!strcmp(r->path, "/_sink/stats") && !strcmp(r->method, "GET")) {
        o->status = 200;
        stats_json(&o->body);
    } else if (!strcmp(r->path, "/_sink/mode") && !strcmp(r->method, "GET")) {
        o->status = 200;
        pthread_mutex_lock(&G.lock);
        mode_json_locked(&o->body);
        pthread_mutex_unlock(&G.lock);
        sb_addc(&o->body, '\n');
    } else if (!strcmp(r->path, "/_sink/mode") && !strcmp(r->method, "POST")) {
        char m[32], n[32], ms[32], only[32], ra[32], rl[SINK_RL_MAX];
        long count = -1, msv = -1, rav = 60;
        int mode, onlyv = ONLY_ANY, got_rl;
        size_t i;
        if (query_get(r->query, "m", m, sizeof m) <= 0 || (mode = parse_mode(m)) < 0) {
            resp_json(o, 400, "{\"error\":\"m must be one of ok hang close truncate reset 429 500 503 307 trickle delay chunked eof interim refuse\"}\n");
            return;
        }
        if (query_get(r->query, "n", n, sizeof n) > 0 && (!parse_long(n, &count) || count == 0)) {
            resp_json(o, 400, "{\"error\":\"n must be a positive count (or -1)\"}\n");
            return;
        }
        if (query_get(r->query, "ms", ms, sizeof ms) > 0 && (!parse_long(ms, &msv) || msv > 600000)) {
            resp_json(o, 400, "{\"error\":\"ms must be 0..600000\"}\n");
            return;
        }
        if (query_get(r->query, "only", only, sizeof only) > 0) {
            if (!strcmp(only, "envelope")) onlyv = ONLY_ENVELOPE;
            else if (!strcmp(only, "firebase")) onlyv = ONLY_FIREBASE;
            else if (!strcmp(only, "any")) onlyv = ONLY_ANY;
            else { resp_json(o, 400, "{\"error\":\"only must be envelope, firebase or any\"}\n"); return; }
        }
        if (query_get(r->query, "retry_after", ra, sizeof ra) > 0 && (!parse_long(ra, &rav) || rav > 86400)) {
            resp_json(o, 400, "{\"error\":\"retry_after must be 0..86400 seconds, or -1 for no header\"}\n");
            return;
        }
        got_rl = query_get(r->query, "rate_limits", rl, sizeof rl);
        for (i = 0; got_rl > 0 && rl[i]; i++)
            if ((unsigned char)rl[i] < 0x20 || (unsigned char)rl[i] > 0x7E) got_rl = -1;
        if (got_rl < 0) {
            resp_json(o, 400, "{\"error\":\"rate_limits must be printable ASCII, at most 255 bytes\"}\n");
            return;
        }
        o->status = 200;
        pthread_mutex_lock(&G.lock);
        set_mode_locked(mode, count, msv, onlyv);
        G.retry_after = rav;
        snprintf(G.rate_limits, sizeof G.rate_limits, "%s", got_rl > 0 ? rl : SINK_RL_DEFAULT);
        mode_json_locked(&o->body);
        pthread_mutex_unlock(&G.lock);
        sb_addc(&o->body, '\n');
        {
            char what[160];
            snprintf(what, sizeof what, "mode is now %.100s", o->body.p);
            what[strcspn(what, "\n")] = 0;
            log_simple(c, r, what);
        }
    } else if (!strcmp(r->path, "/_sink/reset") && !strcmp(r->method, "POST")) {
        pthread_mutex_lock(&G.lock);
        G.requests = G.connections = G.envelopes = G.events = G.sessions = 0;
        G.attachments = G.client_reports = G.other_items = G.fb_writes = 0;
        G.rejected = G.faults = G.tls_errors = G.tls_resumed = 0;
        sm_clear(&G.event_ids);
        sm_clear(&G.fb_paths);
        G.truncated = 0;
        pthread_mutex_unlock(&G.lock);
        resp_json(o, 200, "{}\n");
        log_simple(c, r, "stats reset");
    } else {
        resp_json(o, 404, "{\"error\":\"control routes: GET /_sink/stats, GET|POST /_sink/mode, POST /_sink/reset\"}\n");
    }
}

/* ======================================================================== */
/* Connection thread                                                        */

static int route_of(const req *r, char *project, size_t cap)
{
    size_t n = strlen(r->path);
    if (!strncmp(r->path, "/_sink/", 7)) return ROUTE_CONTROL;
    if (envelope_route(r->path, project, cap)) return ROUTE_ENVELOPE;
    if (n >= 5 && !strcmp(r->path + n - 5, ".json")) return ROUTE_FIREBASE;
    return ROUTE_OTHER;
}

static void dispatch(conn *c, req *r, int route, const char *project, resp *o, int dry)
{
    if (route == ROUTE_ENVELOPE) handle_envelope(c, r, project, o, dry);
    else if (route == ROUTE_FIREBASE) handle_firebase(c, r, o, dry);
    else {
        o->status = 404;
        sb_adds(&o->body, "{\"error\":\"not found; telemetry_sink serves POST .../api/<id>/envelope/, "
                          "PUT|POST|PATCH /<path>.json and /_sink/...\"}\n");
        if (!dry) log_simple(c, r, "404 not found");
    }
}

static const char *alert_name(int a)
{
    switch (a) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 120: return "no_application_protocol";
    default: return "?";
    }
}

static void tls_error_text(int err, char *out, size_t cap)
{
    if (err >= BR_ERR_SEND_FATAL_ALERT)
        snprintf(out, cap, "the sink sent fatal alert %d %s", err - BR_ERR_SEND_FATAL_ALERT,
                 alert_name(err - BR_ERR_SEND_FATAL_ALERT));
    else if (err >= BR_ERR_RECV_FATAL_ALERT)
        snprintf(out, cap, "the client sent fatal alert %d %s", err - BR_ERR_RECV_FATAL_ALERT,
                 alert_name(err - BR_ERR_RECV_FATAL_ALERT));
    else if (err == BR_ERR_IO)
        snprintf(out, cap, "connection closed or timed out during the handshake");
    else if (err == BR_ERR_BAD_VERSION || err == BR_ERR_UNSUPPORTED_VERSION)
        snprintf(out, cap, "unsupported protocol version (the sink speaks TLS 1.2 only)");
    else if (err == BR_ERR_BAD_CIPHER_SUITE)
        snprintf(out, cap, "no common cipher suite");
    else
        snprintf(out, cap, "see BR_ERR_* in bearssl_ssl.h");
}

/* Serve one request.  Returns 1 to keep the connection, else 0 with
 * *how set to the way it must be closed. */
static int serve_one(conn *c, int *how)
{
    req r;
    resp o;
    const char *why = NULL;
    char project[32];
    int st, route, fault, keep = 0;
    long ms = 0;
    fault_429 f429;
    memset(&r, 0, sizeof r);
    memset(&o, 0, sizeof o);
    *how = END_GRACEFUL;
    st = read_head(c, &r);
    if (st < 0) {
        if (c->tls && c->nreq == 0 && !is_stopping()) {
            int err = br_ssl_engine_last_error(&c->sc.eng);
            if (err != BR_ERR_OK) {
                pthread_mutex_lock(&G.lock);
                G.tls_errors++;
                pthread_mutex_unlock(&G.lock);
                if (!O.quiet) {
                    sbuf b;
                    char ts[TS_LEN], text[96];
                    memset(&b, 0, sizeof b);
                    iso_now(ts);
                    tls_error_text(err, text, sizeof text);
                    sb_addf(&b, "[%s] #%lu.0 https: TLS connection ended before a request: "
                                "BearSSL error %d (%s)\n", ts, c->id, err, text);
                    out_stdout(&b);
                    sb_free(&b);
                }
            }
        }
        *how = END_ABRUPT;
        goto done;
    }
    c->nreq++;
    pthread_mutex_lock(&G.lock);
    G.requests++;
    pthread_mutex_unlock(&G.lock);
    if (st == 0) st = parse_head(&r, &why);
    if (st != 0) {
        if (!why) why = "request header too large";
        o.status = st;
        sb_adds(&o.body, "{\"error\":");
        sb_jstrs(&o.body, why);
        sb_adds(&o.body, "}\n");
        o.close = 1;
        send_response(c, &o, 0);
        {
            char what[200];
            snprintf(what, sizeof what, "%d %s", st, why);
            log_simple(c, &r, what);
        }
        pthread_mutex_lock(&G.lock);
        G.rejected++;
        pthread_mutex_unlock(&G.lock);
        goto done;
    }
    route = route_of(&r, project, sizeof project);
    st = read_body(c, &r, route == ROUTE_CONTROL ? SINK_CONTROL_BODY_MAX : SINK_BODY_MAX, &why);
    if (st < 0) { *how = END_ABRUPT; goto done; }
    if (st > 0) {
        o.status = st;
        sb_adds(&o.body, "{\"error\":");
        sb_jstrs(&o.body, why);
        sb_adds(&o.body, "}\n");
        o.close = 1;
        send_response(c, &o, 0);
        {
            char what[200];
            snprintf(what, sizeof what, "%d %s", st, why);
            log_simple(c, &r, what);
        }
        pthread_mutex_lock(&G.lock);
        G.rejected++;
        pthread_mutex_unlock(&G.lock);
        goto done;
    }
    o.close = r.close;
    o.no_body = !strcmp(r.method, "HEAD");
    if (route == ROUTE_CONTROL) {
        handle_control(c, &r, &o);
        keep = send_response(c, &o, 0) == 0 && !o.close;
        goto done;
    }
    fault = take_fault(route, &ms, &f429);
    switch (fault) {
    case M_HANG:
        log_simple(c, &r, "fault 'hang': not answering (not delivered)");
        c->infinite = 1;
        for (;;) {
            unsigned char tmp[4096];
            if (conn_recv(c, tmp, sizeof tmp) < 0) break;
        }
        *how = END_ABRUPT;
        break;
    case M_CLOSE: {
        static const char partial[] = "HTTP/1.1 200 OK\r\nContent-Ty";
        log_simple(c, &r, "fault 'close': closing mid-response (not delivered)");
        if (conn_send(c, partial, sizeof partial - 1) == 0) conn_flush(c);
        *how = END_ABRUPT;
        break;
    }
    case M_TRUNCATE: {
        static const char partial[] =
            "HTTP/1.1 200 OK\r\nServer: telemetry_sink\r\nContent-Type: application/json\r\n"
            "Content-Length: 64\r\n\r\n{\"partial\":";
        log_simple(c, &r, "fault 'truncate': closing mid-body (not delivered)");
        if (conn_send(c, partial, sizeof partial - 1) == 0) conn_flush(c);
        *how = END_ABRUPT;
        break;
    }
    case M_RESET:
        log_simple(c, &r, "fault 'reset': TCP reset (not delivered)");
        *how = END_RESET;
        break;
    case M_429: case M_500: case M_503: {
        int status = fault == M_429 ? 429 : fault == M_500 ? 500 : 503;
        const char *msg = fault == M_429 ? "rate limited by telemetry_sink (mode 429)"
                        : fault == M_500 ? "internal error injected by telemetry_sink (mode 500)"
                                         : "unavailable: injected by telemetry_sink (mode 503)";
        if (route == ROUTE_FIREBASE) firebase_error(&o, status, msg);
        else sentry_error(&o, status, msg);
        if (fault == M_429 && f429.retry_after >= 0) sb_addf(&o.xhdr, "Retry-After: %ld\r\n", f429.retry_after);
        if (fault == M_429 && f429.rate_limits[0]) {
            sb_adds(&o.xhdr, "X-Sentry-Rate-Limits: ");
            sb_adds(&o.xhdr, f429.rate_limits);
            sb_adds(&o.xhdr, "\r\n");
        }
        {
            char what[64];
            snprintf(what, sizeof what, "fault '%s': %d (not delivered)", mode_names[fault], status);
            log_simple(c, &r, what);
        }
        keep = send_response(c, &o, 0) == 0 && !o.close;
        break;
    }
    case M_307: {
        char loc[64];
        resp_json(&o, 307, "{\"error\":\"redirect injected by telemetry_sink (mode 307)\"}");
        snprintf(loc, sizeof loc, "%s://localhost:%d", c->tls ? "https" : "http",
                 c->tls ? g_https_port : g_http_port);
        sb_adds(&o.xhdr, "Location: ");
        sb_adds(&o.xhdr, loc);
        sb_adds(&o.xhdr, r.target);
        sb_adds(&o.xhdr, "\r\n");
        log_simple(c, &r, "fault '307': redirect to the same URL (not delivered)");
        keep = send_response(c, &o, 0) == 0 && !o.close;
        break;
    }
    case M_TRICKLE:
        dispatch(c, &r, route, project, &o, 1);
        {
            char what[96];
            snprintf(what, sizeof what, "fault 'trickle': %d sent 1 byte per %ld ms (not delivered)",
                     o.status, ms);
            log_simple(c, &r, what);
        }
        keep = send_response(c, &o, ms) == 0 && !o.close;
        break;
    case M_LOST:
        dispatch(c, &r, route, project, &o, 0);
        log_simple(c, &r, "fault 'lost': taken, then closed without an answer (delivered)");
        *how = END_ABRUPT;
        break;
    case M_DELAY:
        sleep_ms(ms);
        /* fall through */
    default:
        dispatch(c, &r, route, project, &o, 0);
        if (fault == M_CHUNKED) o.framing = M_CHUNKED;
        if (fault == M_EOF && o.status != 204 && !o.no_body) { o.framing = M_EOF; o.close = 1; }
        if (fault == M_INTERIM) o.interim = 1;
        keep = send_response(c, &o, 0) == 0 && !o.close;
        break;
    }
done:
    req_free(&r);
    sb_free(&o.body);
    sb_free(&o.xhdr);
    return keep;
}

/* First bytes of the connection in the wrong protocol? */
static int wrong_protocol(conn *c)
{
    unsigned char b = 0;
    ssize_t r;
    if (wait_io(c, POLLIN) < 0) return 0;
    r = recv(c->fd, &b, 1, MSG_PEEK);
    if (r != 1) return 0;
    if (c->tls && b >= 'A' && b <= 'Z') {
        static const char msg[] =
            "HTTP/1.1 400 Bad Request\r\nServer: telemetry_sink\r\nContent-Type: application/json\r\n"
            "Content-Length: 52\r\nConnection: close\r\n\r\n"
            "{\"error\":\"plain HTTP request on the HTTPS port\"}\n\n\n";
        low_write(c, (const unsigned char *)msg, sizeof msg - 1);
        if (!O.quiet) {
            sbuf s;
            memset(&s, 0, sizeof s);
            sb_addf(&s, "#%lu: plain HTTP request on the HTTPS port: answered 400\n", c->id);
            out_stdout(&s);
            sb_free(&s);
        }
        return 1;
    }
    if (!c->tls && b == 0x16) {
        if (!O.quiet) {
            sbuf s;
            memset(&s, 0, sizeof s);
            sb_addf(&s, "#%lu: TLS handshake on the plain HTTP port: closed\n", c->id);
            out_stdout(&s);
            sb_free(&s);
        }
        return 1;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    conn *c = (conn *)arg;
    int how = END_GRACEFUL;
    c->last_io = now_ms();
    if (wrong_protocol(c)) {
        conn_finish(c, END_GRACEFUL);
    } else {
        if (c->tls) {
            static const char *alpn[] = { "http/1.1" };
            if (g_key_type == BR_KEYTYPE_RSA)
                br_ssl_server_init_full_rsa(&c->sc, g_chain, g_chain_len, br_skey_decoder_get_rsa(&g_skey));
            else
                br_ssl_server_init_full_ec(&c->sc, g_chain, g_chain_len, (unsigned)g_issuer_type,
                                           br_skey_decoder_get_ec(&g_skey));
            br_ssl_engine_set_versions(&c->sc.eng, BR_TLS12, BR_TLS12);
            br_ssl_engine_set_buffer(&c->sc.eng, c->iobuf, sizeof c->iobuf, 1);
            br_ssl_engine_set_protocol_names(&c->sc.eng, alpn, 1);
            if (!O.no_session_cache) br_ssl_server_set_cache(&c->sc, &g_cache.vtable);
            if (!br_ssl_server_reset(&c->sc)) how = END_ABRUPT;
            br_sslio_init(&c->ioc, &c->sc.eng, low_read, c, low_write, c);
        }
        if (how == END_GRACEFUL)
            while (serve_one(c, &how)) {}
        conn_finish(c, how);
    }
    pthread_mutex_lock(&G.lock);
    G.conns[c->slot] = NULL;
    G.active--;
    pthread_cond_broadcast(&G.cond);
    pthread_mutex_unlock(&G.lock);
    free(c);
    return NULL;
}

static void spawn(int fd, int tls)
{
    conn *c;
    pthread_attr_t attr;
    pthread_t th;
    int i, one = 1, fl;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) { close(fd); return; }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (take_refuse()) {
        if (!O.quiet) {
            sbuf s;
            memset(&s, 0, sizeof s);
            sb_adds(&s, "fault 'refuse': closed a new connection\n");
            out_stdout(&s);
            sb_free(&s);
        }
        close(fd);
        return;
    }
    c = (conn *)calloc(1, sizeof *c);
    if (!c) { close(fd); return; }
    c->fd = fd;
    c->tls = tls;
    pthread_mutex_lock(&G.lock);
    if (G.stopping || G.active >= SINK_MAX_CONNS) {
        pthread_mutex_unlock(&G.lock);
        close(fd);
        free(c);
        return;
    }
    for (i = 0; i < SINK_MAX_CONNS && G.conns[i]; i++) {}
    c->slot = i;
    G.conns[i] = c;
    G.active++;
    c->id = ++G.conn_serial;
    G.connections++;
    pthread_mutex_unlock(&G.lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, conn_main, c) != 0) {
        pthread_mutex_lock(&G.lock);
        G.conns[i] = NULL;
        G.active--;
        pthread_mutex_unlock(&G.lock);
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&attr);
}

/* ======================================================================== */
/* Start-up: certificates, listeners, signals                               */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    sbuf b;
    char tmp[4096];
    size_t n;
    memset(&b, 0, sizeof b);
    if (!f) return NULL;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        sb_add(&b, tmp, n);
        if (b.len > 1024 * 1024) break;
    }
    fclose(f);
    if (b.oom || b.len > 1024 * 1024) { sb_free(&b); return NULL; }
    *len = b.len;
    return (unsigned char *)(b.p ? b.p : calloc(1, 1));
}

static void pem_dest(void *ctx, const void *data, size_t len)
{
    sb_add((sbuf *)ctx, data, len);
}

typedef struct {
    char name[128];
    unsigned char *der;
    size_t len;
} pem_obj;

/* Decode every PEM object of a file. Returns the count, -1 on error. */
static int pem_load(const char *path, pem_obj *objs, int max)
{
    size_t len, off = 0;
    unsigned char *data = read_file(path, &len);
    br_pem_decoder_context pc;
    sbuf cur;
    int n = 0, inobj = 0, pushed_nl = 0;
    char name[128] = "";
    if (!data) { fprintf(stderr, "telemetry_sink: cannot read %s\n", path); return -1; }
    memset(&cur, 0, sizeof cur);
    br_pem_decoder_init(&pc);
    for (;;) {
        int ev;
        if (off < len) {
            off += br_pem_decoder_push(&pc, data + off, len - off);
        } else if (!pushed_nl) {
            br_pem_decoder_push(&pc, "\n", 1); /* file may lack a final newline */
            pushed_nl = 1;
        }
        ev = br_pem_decoder_event(&pc);
        if (ev == BR_PEM_BEGIN_OBJ) {
            snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
            cur.len = 0;
            br_pem_decoder_setdest(&pc, pem_dest, &cur);
            inobj = 1;
        } else if (ev == BR_PEM_END_OBJ) {
            if (inobj && n < max && !cur.oom) {
                snprintf(objs[n].name, sizeof objs[n].name, "%s", name);
                objs[n].der = (unsigned char *)cur.p;
                objs[n].len = cur.len;
                memset(&cur, 0, sizeof cur);
                n++;
            }
            inobj = 0;
        } else if (ev == BR_PEM_ERROR) {
            fprintf(stderr, "telemetry_sink: %s: PEM decoding error\n", path);
            sb_free(&cur);
            free(data);
            return -1;
        } else if (off >= len && pushed_nl) {
            break;
        }
    }
    sb_free(&cur);
    free(data);
    return n;
}

static int key_type_of_cert(const br_x509_certificate *crt)
{
    br_x509_decoder_context dc;
    const br_x509_pkey *pk;
    br_x509_decoder_init(&dc, NULL, NULL);
    br_x509_decoder_push(&dc, crt->data, crt->data_len);
    pk = br_x509_decoder_get_pkey(&dc);
    return pk ? pk->key_type : -1;
}

static int load_tls(void)
{
    pem_obj objs[16];
    int n, i, found = 0;
    n = pem_load(O.cert, objs, 16);
    if (n < 0) return -1;
    for (i = 0; i < n; i++) {
        if ((!strcmp(objs[i].name, "CERTIFICATE") || !strcmp(objs[i].name, "X509 CERTIFICATE")) &&
            g_chain_len < sizeof g_chain / sizeof g_chain[0]) {
            g_chain[g_chain_len].data = objs[i].der;
            g_chain[g_chain_len].data_len = objs[i].len;
            g_chain_len++;
        } else {
            free(objs[i].der);
        }
    }
    if (!g_chain_len) { fprintf(stderr, "telemetry_sink: no certificate in %s\n", O.cert); return -1; }
    n = pem_load(O.key, objs, 16);
    if (n < 0) return -1;
    for (i = 0; i < n; i++) {
        if (!found && (!strcmp(objs[i].name, "PRIVATE KEY") || !strcmp(objs[i].name, "EC PRIVATE KEY") ||
                       !strcmp(objs[i].name, "RSA PRIVATE KEY"))) {
            int err;
            br_skey_decoder_init(&g_skey);
            br_skey_decoder_push(&g_skey, objs[i].der, objs[i].len);
            err = br_skey_decoder_last_error(&g_skey);
            if (err) {
                fprintf(stderr, "telemetry_sink: %s: cannot decode private key (BearSSL error %d)\n", O.key, err);
            } else {
                found = 1;
                g_key_type = br_skey_decoder_key_type(&g_skey);
            }
        }
        free(objs[i].der);
    }
    if (!found) { fprintf(stderr, "telemetry_sink: no usable private key in %s\n", O.key); return -1; }
    if (key_type_of_cert(&g_chain[0]) != g_key_type) {
        fprintf(stderr, "telemetry_sink: the key in %s does not match the certificate type in %s\n", O.key, O.cert);
        return -1;
    }
    g_issuer_type = g_chain_len > 1 ? key_type_of_cert(&g_chain[1]) : g_key_type;
    if (g_issuer_type != BR_KEYTYPE_RSA) g_issuer_type = BR_KEYTYPE_EC;
    return 0;
}

static int listen_on(int port, int *actual)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, fl;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        fprintf(stderr, "telemetry_sink: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *actual = ntohs(sa.sin_port);
    return fd;
}

static int write_port_file(const char *path, int https, int http)
{
    char tmp[4096];
    FILE *f;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) return -1;
    f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "https=%d\nhttp=%d\npid=%ld\n", https, http, (long)getpid());
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) { fclose(f); unlink(tmp); return -1; }
    if (fclose(f) != 0 || rename(tmp, path) != 0) { unlink(tmp); return -1; }
    return 0;
}

static void on_signal(int sig)
{
    int saved = errno;
    char ch = 's';
    if (sig == SIGUSR1) g_sig_usr1 = 1;
    else g_sig_stop = 1;
    if (g_pipe[1] >= 0 && write(g_pipe[1], &ch, 1) < 0) {}
    errno = saved;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: telemetry_sink [--https-port N|off] [--http-port N|off] [--cert FILE] [--key FILE]\n"
        "                      [--sentry-key KEY] [--firebase-auth TOKEN] [--record FILE]\n"
        "                      [--mode MODE[:COUNT]] [--quiet] [--port-file FILE] [--firebase-create-only]\n"
        "                      [--no-session-cache]\n"
        "Listens on 127.0.0.1 (port 0 = any free port; defaults https 8443 and http 8080\n"
        "when neither port option is given).  MODE: ok hang close truncate reset 429 500 503\n"
        "307 trickle delay chunked eof interim refuse lost.  Control: GET /_sink/stats, GET|POST /_sink/mode?m=MODE&n=COUNT&ms=MS,\n"
        "(mode 429 also &retry_after=SECONDS&rate_limits=VALUE),\n"
        "POST /_sink/reset.  See the comment at the top of examples/telemetry_sink.c.\n");
}

static int parse_port(const char *s, int *out)
{
    long v;
    if (!strcmp(s, "off") || !strcmp(s, "none")) { *out = -1; return 1; }
    if (!parse_long(s, &v) || v < 0 || v > 65535) return 0;
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv)
{
    int i, https_fd = -1, http_fd = -1, https_actual = 0, http_actual = 0, ports_given = 0;
    struct sigaction sa;
    const char *mode_arg = NULL;

    pthread_mutex_init(&G.lock, NULL);
    pthread_mutex_init(&G.out_lock, NULL);
    pthread_cond_init(&G.cond, NULL);
    set_mode_locked(M_OK, -1, 0, ONLY_ANY);
    G.retry_after = 60;
    snprintf(G.rate_limits, sizeof G.rate_limits, "%s", SINK_RL_DEFAULT);
    O.https_port = 8443;
    O.http_port = 8080;
    O.cert = "tests/certs/server.pem";
    O.key = "tests/certs/server.key";
    g_cache.vtable = &cache_vtable;
    pthread_mutex_init(&g_cache.lock, NULL);
    br_ssl_session_cache_lru_init(&g_cache.lru, g_cache.store, sizeof g_cache.store);

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *eq;
        char name[32];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { O.quiet = 1; continue; }
        if (!strcmp(a, "--no-session-cache")) { O.no_session_cache = 1; continue; }
        if (!strcmp(a, "--firebase-create-only")) { O.fb_create_only = 1; continue; }
        if (strncmp(a, "--", 2)) goto bad;
        eq = strchr(a, '=');
        if (eq) {
            if ((size_t)(eq - a) >= sizeof name) goto bad;
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            v = eq + 1;
        } else {
            if ((size_t)snprintf(name, sizeof name, "%s", a) >= sizeof name) goto bad;
            if (i + 1 >= argc) { fprintf(stderr, "telemetry_sink: %s needs a value\n", a); return 2; }
            v = argv[++i];
        }
        if (!strcmp(name, "--https-port") || !strcmp(name, "--http-port")) {
            int port;
            if (!parse_port(v, &port)) { fprintf(stderr, "telemetry_sink: bad port '%s'\n", v); return 2; }
            if (!ports_given) { O.https_port = O.http_port = -1; ports_given = 1; }
            if (!strcmp(name, "--https-port")) O.https_port = port;
            else O.http_port = port;
        } else if (!strcmp(name, "--cert")) O.cert = v;
        else if (!strcmp(name, "--key")) O.key = v;
        else if (!strcmp(name, "--sentry-key")) O.sentry_key = v;
        else if (!strcmp(name, "--firebase-auth")) O.fb_auth = v;
        else if (!strcmp(name, "--record")) O.record = v;
        else if (!strcmp(name, "--mode")) mode_arg = v;
        else if (!strcmp(name, "--port-file")) O.port_file = v;
        else goto bad;
        continue;
    bad:
        fprintf(stderr, "telemetry_sink: unknown argument '%s'\n", a);
        usage(stderr);
        return 2;
    }
    if (O.https_port < 0 && O.http_port < 0) {
        fprintf(stderr, "telemetry_sink: both listeners are off\n");
        return 2;
    }
    if (mode_arg) {
        char m[32];
        const char *colon = strchr(mode_arg, ':');
        long count = -1;
        int mode;
        size_t ml = colon ? (size_t)(colon - mode_arg) : strlen(mode_arg);
        if (ml >= sizeof m) ml = sizeof m - 1;
        memcpy(m, mode_arg, ml);
        m[ml] = 0;
        mode = parse_mode(m);
        if (mode < 0 || (colon && (!parse_long(colon + 1, &count) || count == 0))) {
            fprintf(stderr, "telemetry_sink: bad --mode '%s'\n", mode_arg);
            return 2;
        }
        set_mode_locked(mode, count, -1, ONLY_ANY);
    }
    if (O.sentry_key && strlen(O.sentry_key) != 32)
        fprintf(stderr, "telemetry_sink: warning: --sentry-key is not 32 characters; "
                        "every envelope will be answered 400 (bad public key)\n");
    rng_seed();
    if (O.https_port >= 0 && load_tls() < 0) return 1;
    if (O.record) {
        G.record = fopen(O.record, "a");
        if (!G.record) {
            fprintf(stderr, "telemetry_sink: cannot open %s: %s\n", O.record, strerror(errno));
            return 1;
        }
    }

    if (pipe(g_pipe) < 0) { perror("telemetry_sink: pipe"); return 1; }
    for (i = 0; i < 2; i++) {
        fcntl(g_pipe[i], F_SETFL, fcntl(g_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(g_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    if (O.https_port >= 0 && (https_fd = listen_on(O.https_port, &https_actual)) < 0) return 1;
    if (O.http_port >= 0 && (http_fd = listen_on(O.http_port, &http_actual)) < 0) return 1;
    g_https_port = https_actual;
    g_http_port = http_actual;
    if (O.port_file && write_port_file(O.port_file, https_actual, http_actual) < 0) {
        fprintf(stderr, "telemetry_sink: cannot write %s: %s\n", O.port_file, strerror(errno));
        return 1;
    }
    if (!O.quiet) {
        printf("telemetry_sink: listening on 127.0.0.1 (pid %ld)\n", (long)getpid());
        if (https_fd >= 0)
            printf("  https://localhost:%d   %s key, cert %s (trust tests/certs/ca.pem)\n", https_actual,
                   g_key_type == BR_KEYTYPE_RSA ? "RSA" : "EC", O.cert);
        if (http_fd >= 0) printf("  http://127.0.0.1:%d\n", http_actual);
        printf("  Sentry DSN:   %s://%s@%s:%d/1\n", https_fd >= 0 ? "https" : "http",
               O.sentry_key ? O.sentry_key : "<32-char public key>",
               https_fd >= 0 ? "localhost" : "127.0.0.1", https_fd >= 0 ? https_actual : http_actual);
        printf("  Firebase URL: %s://%s:%d  (PUT|POST|PATCH /<path>.json)%s\n",
               https_fd >= 0 ? "https" : "http", https_fd >= 0 ? "localhost" : "127.0.0.1",
               https_fd >= 0 ? https_actual : http_actual,
               O.fb_auth ? "  auth required" : "");
        pthread_mutex_lock(&G.lock);
        printf("  mode: %s;  stats: GET /_sink/stats%s%s\n", mode_names[G.mode],
               O.record ? ";  recording to " : "", O.record ? O.record : "");
        pthread_mutex_unlock(&G.lock);
        fflush(stdout);
    }

    while (!g_sig_stop) {
        struct pollfd pf[3];
        int np = 0, k;
        pf[np].fd = g_pipe[0]; pf[np].events = POLLIN; pf[np].revents = 0; np++;
        if (https_fd >= 0) { pf[np].fd = https_fd; pf[np].events = POLLIN; pf[np].revents = 0; np++; }
        if (http_fd >= 0) { pf[np].fd = http_fd; pf[np].events = POLLIN; pf[np].revents = 0; np++; }
        if (poll(pf, (nfds_t)np, -1) < 0) {
            if (errno == EINTR) continue;
            perror("telemetry_sink: poll");
            break;
        }
        if (pf[0].revents) {
            char tmp[64];
            while (read(g_pipe[0], tmp, sizeof tmp) > 0) {}
        }
        if (g_sig_usr1) {
            g_sig_usr1 = 0;
            pthread_mutex_lock(&G.lock);
            set_mode_locked(M_OK, -1, 0, ONLY_ANY);
            pthread_mutex_unlock(&G.lock);
            if (!O.quiet) { printf("telemetry_sink: SIGUSR1: mode is now ok\n"); fflush(stdout); }
        }
        for (k = 1; k < np; k++) {
            if (!pf[k].revents) continue;
            for (;;) {
                int fd = accept(pf[k].fd, NULL, NULL);
                if (fd < 0) break;
                spawn(fd, pf[k].fd == https_fd);
            }
        }
    }

    /* Shut down: wake every connection thread and wait a little for them. */
    {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 3;
        pthread_mutex_lock(&G.lock);
        G.stopping = 1;
        for (i = 0; i < SINK_MAX_CONNS; i++)
            if (G.conns[i] && G.conns[i]->fd >= 0) shutdown(G.conns[i]->fd, SHUT_RDWR);
        while (G.active > 0)
            if (pthread_cond_timedwait(&G.cond, &G.lock, &deadline) != 0) break;
        pthread_mutex_unlock(&G.lock);
    }
    if (https_fd >= 0) close(https_fd);
    if (http_fd >= 0) close(http_fd);
    if (O.port_file) unlink(O.port_file);
    pthread_mutex_lock(&G.out_lock);
    if (G.record) fclose(G.record);
    G.record = NULL;
    pthread_mutex_unlock(&G.out_lock);
    if (!O.quiet) { printf("telemetry_sink: stopped\n"); fflush(stdout); }
    pthread_mutex_lock(&G.lock);
    sm_clear(&G.event_ids);
    sm_clear(&G.fb_paths);
    sm_clear(&G.fb_stored);
    i = G.active;
    pthread_mutex_unlock(&G.lock);
    if (i == 0)
        for (i = 0; i < (int)g_chain_len; i++) free(g_chain[i].data);
    return 0;
}
