/* test_badinput.c - hostile input to the event and report APIs: invalid UTF-8, NUL bytes made by
   the format, huge messages, thousands of tags and breadcrumbs, odd metric values. Everything
   stays bounded, the output is valid JSON and valid UTF-8, and nothing crashes. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"

static char logged[600];
static void keep_log(telemetry_level level, const char *msg, void *ud) { (void)level; (void)ud; snprintf(logged, sizeof logged, "%s", msg); }

/* Valid UTF-8, and no raw control characters (they must be escaped in JSON strings). */
static int valid_utf8_json_text(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t bad = 0, len = telemetry__utf8_seq((const unsigned char *)s + i, n - i, &bad);
        if (!len) return 0;
        if (c < 0x20 && c != '\n') return 0;
        i += len;
    }
    return 1;
}

static const char *capture_stderr_of(int (*fn)(void)) {
    static char path[300];
    int saved;
    snprintf(path, sizeof path, "%s/err.txt", make_temp_dir());
    saved = stderr_to_file(path);
    fn();
    telemetry_flush(5000);
    stderr_restore(saved);
    return read_text(path);
}

static int send_hostile_events(void) {
    static char huge[100000];
    int i;
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    telemetry_capture_message(TELEMETRY_LEVEL_WARNING, "bad utf-8: %s|%s|%s", "\xC0\x80", "\xED\xA0\x80", "\xF5\xFF\xFE");
    telemetry_capture_message(TELEMETRY_LEVEL_INFO, "nul made by the format: [%c] after", 0);
    telemetry_capture_message(TELEMETRY_LEVEL_INFO, "%s", huge);
    telemetry_capture_error("Type\xFF\"quoted\"\n", "value with \x01 control and \\ backslash");
    for (i = 0; i < 5000; i++) telemetry_add_breadcrumb("spam\xC3", "crumb %d \xE2\x82", i);
    telemetry_capture_message(TELEMETRY_LEVEL_ERROR, "after many crumbs");
    return 0;
}

static void test_events(void) {
    telemetry_config cfg;
    const char *out, *p;
    char key[40];
    int i, accepted = 0, events = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "badinput";
    cfg.state_dir = make_temp_dir();
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42";
    cfg.log_fn = keep_log;
    cfg.outbox_disk_bytes = 8u << 20;
    setenv("TELEMETRY_DEBUG", "1", 1);
    CHECK_INT(telemetry_init(&cfg), 0);
    for (i = 0; i < 3000; i++) {                        /* thousands of tags: bounded at 64 */
        snprintf(key, sizeof key, "tag%d", i);
        if (telemetry_set_tag(key, "v") == 0) accepted++;
    }
    CHECK_INT(accepted, TELEMETRY_MAX_TAGS);
    CHECK_INT(telemetry_set_tag("bad key!", "v"), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_set_tag("k", "line\nbreak"), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_set_tag("tag0", NULL), 0);      /* removed: room for one more */
    CHECK_INT(telemetry_set_tag("late", "x"), 0);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_capture_message((telemetry_level)99, "x"), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_capture_error(NULL, "x"), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_capture_error("", "x"), TELEMETRY_ERR_INVALID_ARGUMENT);
    out = capture_stderr_of(send_hostile_events);
    CHECK(valid_utf8_json_text(out, strlen(out)));
    CHECK(strstr(out, "bad utf-8: \xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") != NULL);
    CHECK(strstr(out, "nul made by the format: [") != NULL);
    CHECK(strstr(out, "\"type\":\"Type\xEF\xBF\xBD\\\"quoted\\\"\\n\"") != NULL);
    CHECK(strstr(out, "value with \\u0001 control and \\\\ backslash") != NULL);
    /* the huge message is cut to Sentry's 8192 and marked */
    p = strstr(out, "\"formatted\":\"AAAA");
    CHECK(p != NULL);
    if (p) {
        const char *end = strchr(p + 13, '"');
        CHECK(end && end - (p + 13) == 8192 && memcmp(end - 3, "...", 3) == 0);
    }
    /* the breadcrumb ring holds the newest 100 */
    p = strstr(out, "after many crumbs");
    CHECK(p != NULL);
    CHECK(strstr(out, "crumb 4999 \xEF\xBF\xBD") != NULL && strstr(out, "crumb 4900 ") != NULL);
    for (p = out; (p = strstr(p, "\"category\":\"spam\xEF\xBF\xBD\"")) != NULL; p++) events++;
    CHECK(events >= 100);
    /* every event is well under Sentry's 1 MB */
    for (p = out; (p = strstr(p, "{\"type\":\"event\",\"length\":")) != NULL; p++) CHECK(atol(p + 25) < 200000);
    telemetry_shutdown();
    unsetenv("TELEMETRY_DEBUG");
}

static char nasty[5000];
TELEMETRY_METRIC(nasty_value, "A value full of invalid bytes") { return telemetry_string(nasty); }

static void test_metric_values(void) {
    telemetry_config cfg;
    telemetry_metric bad;
    char *json = NULL;
    size_t len = 0, i;
    for (i = 0; i < sizeof nasty - 1; i++) nasty[i] = (char)(0x80 + i % 128);   /* never valid UTF-8 */
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "badinput";
    cfg.state_dir = make_temp_dir();
    cfg.log_fn = keep_log;
    memset(&bad, 0, sizeof bad);
    bad.id = "has/slash"; bad.description = "x"; bad.fn = NULL;
    CHECK_INT(telemetry_register_metric(&bad), TELEMETRY_ERR_INVALID_ARGUMENT);  /* before init: remembered */
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK(strstr(logged, "'has/slash' was refused at registration") != NULL);
    CHECK_INT(telemetry_build_usage_report(&json, &len), 0);
    CHECK(json && valid_utf8_json_text(json, len));
    CHECK(len < 20000);                                  /* cut at TELEMETRY_MAX_STRING_VALUE */
    telemetry_free(json);
    telemetry_shutdown();
}

int main(void) {
    unsetenv("DO_NOT_TRACK");
    test_events();
    test_metric_values();
    return testlib_report("test_badinput");
}
