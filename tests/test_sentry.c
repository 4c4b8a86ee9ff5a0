/* test_sentry.c - Sentry and Firebase wire details: debug ids, envelopes, sessions, rate limits,
   push ids, Firebase targets, DSN parsing, the event a captured error makes. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"

static void check_debug_id(const char *build_id_hex, const char *want) {
    unsigned char id[64];
    char out[37];
    int n = 0;
    for (; build_id_hex[2 * n] && build_id_hex[2 * n + 1]; n++) {
        unsigned v;
        sscanf(build_id_hex + 2 * n, "%2x", &v);
        id[n] = (unsigned char)v;
    }
    telemetry__debug_id(id, n, out);
    CHECK_STR(out, want);
}

static void test_debug_ids(void) {
    /* the vectors of protocols.md 3.11, including sentry-native's own fixture */
    check_debug_id("8f3a2c1b9d4e7f60a1b2c3d4e5f60718293a4b5c", "1b2c3a8f-4e9d-607f-a1b2-c3d4e5f60718");
    check_debug_id("0123456789abcdef", "67452301-ab89-efcd-0000-000000000000");
    check_debug_id("1c304742f114215453a8a777f6cdb3a2b8505e11", "4247301c-14f1-5421-53a8-a777f6cdb3a2");
}

static void test_envelope_framing(void) {
    telemetry__buf b;
    const char *payload = "{\"a\":\"x\ny\"}";                   /* a newline inside the payload */
    telemetry__buf_init(&b);
    CHECK_INT(telemetry__envelope_begin(&b, "5d2f8b3c9a1e4f6b8c7d0e1f2a3b4c5d", INT64_C(1723717231250)), 0);
    CHECK_INT(telemetry__envelope_item(&b, "event", payload, strlen(payload)), 0);
    CHECK_INT(telemetry__envelope_item(&b, "session", "{}", 2), 0);
    CHECK_INT(telemetry__envelope_end(&b), 0);
    CHECK_STR(b.data,
        "{\"event_id\":\"5d2f8b3c9a1e4f6b8c7d0e1f2a3b4c5d\",\"sent_at\":\"2024-08-15T10:20:31.250Z\","
        "\"sdk\":{\"name\":\"telemetry.h\",\"version\":\"" TELEMETRY_VERSION_STRING "\"}}\n"
        "{\"type\":\"event\",\"length\":11}\n{\"a\":\"x\ny\"}\n"
        "{\"type\":\"session\",\"length\":2}\n{}\n");
    telemetry__buf_free(&b);
    /* a fixed buffer too small reports it, never a cut envelope passed off as whole */
    {
        char small[64];
        telemetry__buf_init_fixed(&b, small, sizeof small);
        CHECK_INT(telemetry__envelope_begin(&b, "5d2f8b3c9a1e4f6b8c7d0e1f2a3b4c5d", 0), TELEMETRY_ERR_NO_SPACE);
    }
}

static void test_sessions(void) {
    telemetry__session se, back;
    telemetry__buf b;
    char *dir = make_temp_dir(), path[512], *text = NULL;
    int err;
    memset(&se, 0, sizeof se);
    strcpy(se.sid, "0f1e2d3c4b5a49788796a5b4c3d2e1f0");
    strcpy(se.release, "demo-app@1.4.2");
    strcpy(se.environment, "production");
    strcpy(se.status, "crashed");
    se.started_ms = INT64_C(1723716131000);
    se.updated_ms = INT64_C(1723717230912);
    se.errors = 1;
    se.init_pending = 1;
    telemetry__buf_init(&b);
    CHECK_INT(telemetry__session_json(&b, &se), 0);
    /* byte for byte the session of protocols.md 2.6 example A (244 bytes) */
    CHECK_STR(b.data, "{\"sid\":\"0f1e2d3c4b5a49788796a5b4c3d2e1f0\",\"init\":true,\"started\":\"2024-08-15T10:02:11.000Z\","
                      "\"timestamp\":\"2024-08-15T10:20:30.912Z\",\"duration\":1099.912,\"status\":\"crashed\",\"errors\":1,"
                      "\"attrs\":{\"release\":\"demo-app@1.4.2\",\"environment\":\"production\"}}");
    CHECK_INT((int)b.len, 244);
    telemetry__buf_free(&b);
    snprintf(path, sizeof path, "%s/session", dir);
    CHECK_INT(telemetry__session_save(&se, path), 0);
    CHECK_INT(telemetry__read_file(path, 4096, &text, NULL, &err), 0);
    CHECK_INT(telemetry__session_parse(text, &back), 0);
    CHECK_STR(back.sid, se.sid);
    CHECK_STR(back.status, "crashed");
    CHECK(back.started_ms == se.started_ms && back.updated_ms == se.updated_ms && back.errors == 1 && back.init_pending == 1);
    telemetry__free(text);
    CHECK_INT(telemetry__session_parse("sid=nothex\nrelease=a\n", &back), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry__session_parse("", &back), TELEMETRY_ERR_INVALID_ARGUMENT);
    rm_tree(dir);
}

static void test_rate_limits(void) {
    int64_t until[TELEMETRY__RL_COUNT];
    const int64_t now = 1000000;
    memset(until, 0, sizeof until);
    /* protocols.md 5.3's example: errors 60 s, everything 3600 s */
    telemetry__rate_limits_update(until, 429, "60:error;default:key:over_quota, 3600::organization", "3600", now);
    CHECK(until[TELEMETRY__RL_ERROR] == now + 60000);
    CHECK(until[TELEMETRY__RL_ALL] == now + 3600000);
    CHECK(telemetry__rate_limited(until, TELEMETRY__RL_SESSION, now + 3599999));
    CHECK(!telemetry__rate_limited(until, TELEMETRY__RL_SESSION, now + 3600000));
    memset(until, 0, sizeof until);
    telemetry__rate_limits_update(until, 200, "2.1:session:project", NULL, now);   /* fractions round up */
    CHECK(until[TELEMETRY__RL_SESSION] == now + 3000);
    CHECK(until[TELEMETRY__RL_ALL] == 0 && until[TELEMETRY__RL_ERROR] == 0);
    telemetry__rate_limits_update(until, 200, "1:session:project", NULL, now);     /* never shortens */
    CHECK(until[TELEMETRY__RL_SESSION] == now + 3000);
    memset(until, 0, sizeof until);
    telemetry__rate_limits_update(until, 200, "30:transaction;profile:key, x:error:key, :error, 10", NULL, now);
    CHECK(until[TELEMETRY__RL_ALL] == 0 && until[TELEMETRY__RL_ERROR] == 0);     /* unknown only / malformed */
    telemetry__rate_limits_update(until, 200, "  40 : error ; transaction : key : reason : ns : future", NULL, now);
    CHECK(until[TELEMETRY__RL_ERROR] == now + 40000);                               /* white space is insignificant */
    telemetry__rate_limits_update(until, 200, "50:error;transaction:key:reason:ns:future", NULL, now);
    CHECK(until[TELEMETRY__RL_ERROR] == now + 50000);
    memset(until, 0, sizeof until);
    telemetry__rate_limits_update(until, 429, NULL, "120", now);                  /* Retry-After alone */
    CHECK(until[TELEMETRY__RL_ALL] == now + 120000);
    memset(until, 0, sizeof until);
    telemetry__rate_limits_update(until, 429, NULL, "Wed, 21 Oct 2015 07:28:00 GMT", now);  /* a date: 60 s */
    CHECK(until[TELEMETRY__RL_ALL] == now + 60000);
    memset(until, 0, sizeof until);
    telemetry__rate_limits_update(until, 429, "999999999999:error:key", NULL, now);        /* capped at a day */
    CHECK(until[TELEMETRY__RL_ERROR] == now + TELEMETRY__RL_CAP_MS);
}

static void test_push_ids(void) {
    unsigned char rnd[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 63 }, last_rand[12];
    int64_t last_ms = -1;
    char a[21], b[21], c[21];
    telemetry__push_id(INT64_C(1723680000000), rnd, &last_ms, last_rand, a);
    CHECK(strncmp(a, "-O4IKNV-", 8) == 0);                          /* protocols.md 6.7 */
    CHECK_STR(a + 8, "-0123456789z");
    telemetry__push_id(INT64_C(1723680000000), rnd, &last_ms, last_rand, b);  /* same ms: +1 */
    CHECK_STR(b + 8, "-012345678A-");
    CHECK(strcmp(a, b) < 0);
    telemetry__push_id(INT64_C(1723680000001), rnd, &last_ms, last_rand, c);
    CHECK(strcmp(b, c) < 0);
    CHECK_INT((int)strlen(c), 20);
}

static void test_firebase_targets(void) {
    telemetry__url u;
    char *t;
    CHECK_INT(telemetry__url_parse("https://demo-default-rtdb.firebaseio.com/metrics/demo.json?auth=TOKEN", &u), 0);
    CHECK(telemetry__is_firebase(&u));
    t = telemetry__firebase_target(&u, "-O4IKNV-a9Qk2ZxLm0Pt");
    CHECK_STR(t, "/metrics/demo/-O4IKNV-a9Qk2ZxLm0Pt.json?auth=TOKEN&print=silent");
    telemetry__free(t);
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("https://x.firebasedatabase.app/usage/.json", &u), 0);
    t = telemetry__firebase_target(&u, "-O4IKNV-a9Qk2ZxLm0Pt");
    CHECK_STR(t, "/usage/-O4IKNV-a9Qk2ZxLm0Pt.json?print=silent");
    telemetry__free(t);
    telemetry__url_free(&u);
    CHECK_INT(telemetry__url_parse("https://collector.example/api/usage", &u), 0);
    CHECK(!telemetry__is_firebase(&u));
    telemetry__url_free(&u);
}

static void test_dsn(void) {
    telemetry__dsn d;
    char hp[300];
    CHECK_INT(telemetry__dsn_parse("https://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b@o123456.ingest.us.sentry.io/4507654321", &d), 0);
    CHECK_STR(d.envelope.host, "o123456.ingest.us.sentry.io");
    CHECK_STR(d.envelope.target, "/api/4507654321/envelope/");
    CHECK_INT((int)d.envelope.port, 443);
    CHECK_STR(d.auth_header, "Sentry sentry_version=7, sentry_client=telemetry.h/" TELEMETRY_VERSION_STRING ", sentry_key=3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b");
    telemetry__dsn_free(&d);
    CHECK_INT(telemetry__dsn_parse(" http://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b:0badc0de@sentry.corp.example:9000/tools/sentry/17\n", &d), 0);
    CHECK_STR(d.envelope.target, "/tools/sentry/api/17/envelope/");
    CHECK_INT((int)d.envelope.port, 9000);
    CHECK_STR(d.secret_key, "0badc0de");
    CHECK(strstr(d.auth_header, ", sentry_secret=0badc0de") != NULL);
    telemetry__url_hostport(&d.envelope, hp, sizeof hp);
    CHECK_STR(hp, "sentry.corp.example:9000");
    telemetry__dsn_free(&d);
    CHECK_INT(telemetry__dsn_parse("https://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b@[2001:db8::5]/42/", &d), 0);
    CHECK_STR(d.envelope.host, "2001:db8::5");
    CHECK_STR(d.envelope.target, "/api/42/envelope/");
    telemetry__url_hostport(&d.envelope, hp, sizeof hp);
    CHECK_STR(hp, "[2001:db8::5]");
    telemetry__dsn_free(&d);
    CHECK_INT(telemetry__dsn_parse("https://3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b:@h/1", &d), 0);   /* empty secret */
    CHECK(d.secret_key == NULL);
    telemetry__dsn_free(&d);
    CHECK_INT(telemetry__dsn_parse("ftp://k@h/1", &d), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry__dsn_parse("https://h/1", &d), TELEMETRY_ERR_INVALID_DSN);            /* no key */
    CHECK_INT(telemetry__dsn_parse("https://:s@h/1", &d), TELEMETRY_ERR_INVALID_DSN);         /* empty key */
    CHECK_INT(telemetry__dsn_parse("https://k@h", &d), TELEMETRY_ERR_INVALID_DSN);            /* no project */
    CHECK_INT(telemetry__dsn_parse("https://k@h/", &d), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry__dsn_parse("https://k@h/abc", &d), TELEMETRY_ERR_INVALID_DSN);        /* not numeric */
    CHECK_INT(telemetry__dsn_parse("https://k@h:0/1", &d), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry__dsn_parse("https://k@h:65536/1", &d), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry__dsn_parse("https://k@h/1?x=1", &d), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry__dsn_parse("https://k@[::1/1", &d), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry__dsn_parse("", &d), TELEMETRY_ERR_INVALID_DSN);
}

/* A captured error names the caller's frames and the images they fall in. */
static int capture_here(void) {
    return telemetry_capture_error("TestError", "value %d", 7);
}

static void test_error_event(void) {
    telemetry_config cfg;
    char errpath[600], *dir = make_temp_dir();
    const char *text;
    int saved;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "sentrytest";
    cfg.state_dir = dir;
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42";
    setenv("TELEMETRY_DEBUG", "1", 1);
    CHECK_INT(telemetry_init(&cfg), 0);
    snprintf(errpath, sizeof errpath, "%s/out.txt", dir);
    saved = stderr_to_file(errpath);
    CHECK_INT(capture_here(), 0);
    CHECK_INT(telemetry_flush(5000), 0);
    stderr_restore(saved);
    text = read_text(errpath);
#if defined(_WIN32)                  /* no stack capture or PE image list on Windows yet (issue 12) */
    CHECK(strstr(text, "\"exception\":{\"values\":[{\"type\":\"TestError\",\"value\":\"value 7\",\"mechanism\":{\"type\":\"generic\",\"handled\":true}") != NULL);
#else
    CHECK(strstr(text, "\"exception\":{\"values\":[{\"type\":\"TestError\",\"value\":\"value 7\",\"mechanism\":{\"type\":\"generic\",\"handled\":true},\"stacktrace\":{\"frames\":[{\"instruction_addr\":\"0x") != NULL);
    CHECK(strstr(text, "\"debug_meta\":{\"images\":[{\"type\":\"elf\",\"image_addr\":\"0x") != NULL);
    CHECK(strstr(text, "test_sentry\",\"code_id\":\"") != NULL);          /* this program's own image */
#endif
    CHECK(strstr(text, "{\"type\":\"session\",\"length\":") != NULL);    /* the session rides along */
    CHECK(strstr(text, "\"init\":true") != NULL && strstr(text, "\"errors\":1") != NULL);
    CHECK(strstr(text, "\"user\":{\"id\":\"") != NULL);
    telemetry_shutdown();
    unsetenv("TELEMETRY_DEBUG");
    rm_tree(dir);
}

/* The fields every event shares are encoded once and copied: the copy must be the bytes the full
   encoder writes, and follow a tag change and a new user. On Linux os.version is the kernel's
   release, the distribution's version stays in os.distribution. */
static void encode_both(telemetry__buf *full, telemetry__buf *cached) {
    telemetry__json j;
    telemetry__buf_free(full); telemetry__buf_free(cached);
    telemetry__json_init(&j, full);
    telemetry__event_begin(&j, "00112233445566778899aabbccddeeff", TELEMETRY_LEVEL_INFO, INT64_C(1723717231250));
    telemetry__json_object_end(&j);
    CHECK_INT(telemetry__json_finish(&j), 0);
    telemetry__json_init(&j, cached);
    telemetry__event_begin_cached(&j, "00112233445566778899aabbccddeeff", TELEMETRY_LEVEL_INFO, INT64_C(1723717231250));
    telemetry__json_object_end(&j);
    CHECK_INT(telemetry__json_finish(&j), 0);
    CHECK_STR(cached->data, full->data);
}
static void test_event_fixed_fields(void) {
    telemetry_config cfg;
    telemetry__buf full, cached;
    char *dir = make_temp_dir(), want[600];
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "sentrytest";
    cfg.state_dir = dir;
    cfg.no_crash_handler = 1;
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42";
    CHECK_INT(telemetry_init(&cfg), 0);
    telemetry__buf_init(&full); telemetry__buf_init(&cached);
    encode_both(&full, &cached);
    CHECK(strstr(cached.data, "\"tags\"") == NULL);
    CHECK_INT(telemetry_set_tag("command", "convert"), 0);
    encode_both(&full, &cached);
    CHECK(strstr(cached.data, "\"tags\":{\"command\":\"convert\"}") != NULL);
    CHECK_INT(telemetry_set_tag("command", "a\"b"), 0);
    encode_both(&full, &cached);
    CHECK(strstr(cached.data, "\"tags\":{\"command\":\"a\\\"b\"}") != NULL);
    CHECK_INT(telemetry_set_tag("command", NULL), 0);
    encode_both(&full, &cached);
    CHECK(strstr(cached.data, "\"tags\"") == NULL);
    memcpy(telemetry__st.install_id, "ffeeddccbbaa99887766554433221100", 33);   /* a new user */
    encode_both(&full, &cached);
    CHECK(strstr(cached.data, "\"user\":{\"id\":\"ffeeddccbbaa99887766554433221100\"}") != NULL);
#if defined(__linux__)
    snprintf(want, sizeof want, "\"os\":{\"name\":\"Linux\",\"version\":\"%s\",\"kernel_version\":\"%s\"", telemetry__st.os.kernel, telemetry__st.os.kernel);
    CHECK(telemetry__st.os.kernel[0] != 0 && strstr(cached.data, want) != NULL);
    if (telemetry__st.os.distro_version[0]) {
        snprintf(want, sizeof want, "\"distribution\":{\"name\":\"%s\",\"version\":\"%s\"", telemetry__st.os.distro_id, telemetry__st.os.distro_version);
        CHECK(strstr(cached.data, want) != NULL);
    }
#else
    (void)want;
#endif
    telemetry__buf_free(&full); telemetry__buf_free(&cached);
    telemetry_shutdown();
    rm_tree(dir);
}

/* exception.type is cut at relay's 256 bytes, never inside a character. */
static void test_exception_type_cap(void) {
    telemetry_config cfg;
    char errpath[600], type[400], want[400], *dir = make_temp_dir();
    const char *text;
    int saved, i;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "sentrytest";
    cfg.state_dir = dir;
    cfg.no_crash_handler = 1;
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42";
    for (i = 0; i < 255; i++) type[i] = 'T';
    for (i = 0; i < 10; i++) { type[255 + 2 * i] = (char)0xC3; type[256 + 2 * i] = (char)0xA9; }   /* e-acute */
    type[275] = 0;
    snprintf(want, sizeof want, "\"type\":\"%.255s\"", type);     /* 255 bytes: the next character would pass 256 */
    setenv("TELEMETRY_DEBUG", "1", 1);
    CHECK_INT(telemetry_init(&cfg), 0);
    snprintf(errpath, sizeof errpath, "%s/out.txt", dir);
    saved = stderr_to_file(errpath);
    CHECK_INT(telemetry_capture_error(type, "long type"), 0);
    CHECK_INT(telemetry_flush(5000), 0);
    stderr_restore(saved);
    text = read_text(errpath);
    CHECK(strstr(text, want) != NULL);
    type[257] = 0;                                        /* 255 + one 2-byte character: 257 bytes */
    CHECK(strstr(text, type) == NULL);
    telemetry_shutdown();
    unsetenv("TELEMETRY_DEBUG");
    rm_tree(dir);
}

int main(void) {
    unsetenv("DO_NOT_TRACK");
    test_debug_ids();
    test_envelope_framing();
    test_sessions();
    test_rate_limits();
    test_push_ids();
    test_firebase_targets();
    test_dsn();
    test_error_event();
    test_event_fixed_fields();
    test_exception_type_cap();
    return testlib_report("test_sentry");
}
