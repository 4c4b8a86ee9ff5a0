/* test_firebase.c - usage reports against create-only Firebase rules (docs/firebase.rules.json),
   played by the local receiver with --firebase-create-only (a second PUT to a stored path gets
   401 "Permission denied", as the rules answer) and its "lost" mode (the write is stored, the
   answer never comes back):
   - a retry after a lost answer, in the same run, is refused with 401 and counted as delivered:
     no "refused" warning, nothing left queued;
   - the same when the retry happens in the next run (the report was kept on disk);
   - a first try that is refused (here: a wrong token) is still refused, warned and dropped.
   Run from the repository root; every wait is bounded. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include "sink_helpers.h"

#define TOKEN "tok-create-only"

static telemetry_config base_config(const char *dir) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "fbretry";
    cfg.app_version = "2.0.0";
    cfg.state_dir = dir;
    cfg.log_fn = sh_log_fn;
    cfg.retry_initial_ms = 50;
    cfg.retry_max_ms = 200;
    cfg.timeout_ms = 5000;
    cfg.no_crash_handler = 1;
    return cfg;
}

static void test_decision(void) {
    CHECK_INT(telemetry__firebase_already_stored(401, 1), 1);
    CHECK_INT(telemetry__firebase_already_stored(403, 1), 1);
    CHECK_INT(telemetry__firebase_already_stored(401, 0), 0);     /* a first try refused is refused */
    CHECK_INT(telemetry__firebase_already_stored(400, 1), 0);     /* bad data is not "stored" */
    CHECK_INT(telemetry__firebase_already_stored(404, 1), 0);
}

/* The answer to the first PUT is lost; the retry meets the stored record. */
static void test_retry_same_run(sink *s) {
    char *dir = make_temp_dir(), url[256];
    telemetry_config cfg = base_config(dir);
    int from = sink_record_lines(s);
    long rejected0 = sink_stat(s, "rejected"), writes0 = sink_stat(s, "firebase_writes");
    snprintf(url, sizeof url, "http://localhost:%d/usage.json", s->http);
    cfg.usage_url = url;
    CHECK(sink_mode(s, "m=lost&n=1&only=firebase"));
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("runs", 1), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    (void)telemetry_flush(10000);           /* one try per flush: the worker may or may not have */
    CHECK_INT(telemetry_flush(10000), 0);   /* made the first one already */
    telemetry_shutdown();
    CHECK_INT(sink_record_lines(s) - from, 1);                    /* stored once, by the first try */
    CHECK_INT(sink_stat(s, "firebase_writes") - writes0, 1);
    CHECK_INT(sink_stat(s, "rejected") - rejected0, 1);          /* the retry: 401 */
    CHECK_INT(sh_log_count("answered HTTP 401"), 1);
    CHECK_INT(sh_log_count("an earlier try stored it"), 1);
    CHECK_INT(sh_log_count("refused"), 0);
    CHECK_INT(outbox_files(dir), 0);
    if (testlib_failed) sh_log_dump("retry in the same run");
    rm_tree(dir);
}

/* Run 1 sends, the answer is lost, its retry at shutdown is lost too: the report stays on disk.
   Run 2 sends it again and meets the stored record. */
static void test_retry_next_run(sink *s) {
    char *dir = make_temp_dir(), url[256];
    telemetry_config cfg = base_config(dir);
    int from = sink_record_lines(s);
    long rejected0 = sink_stat(s, "rejected"), writes0 = sink_stat(s, "firebase_writes");
    snprintf(url, sizeof url, "http://localhost:%d/usage.json", s->http);
    cfg.usage_url = url;
    cfg.retry_initial_ms = cfg.retry_max_ms = 60000;              /* no retry but the flushes' */
    CHECK(sink_mode(s, "m=lost&n=2&only=firebase"));
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK(sink_wait_stat(s, "firebase_writes", writes0 + 1, 5000)); /* try 1: stored, answer lost */
    telemetry_shutdown();                                         /* try 2: 401, answer lost too */
    CHECK_INT(outbox_files(dir), 1);
    CHECK_INT(sink_record_lines(s) - from, 1);
    CHECK(sink_mode(s, "m=ok"));
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_flush(10000), 0);                         /* try 3: 401, answered */
    telemetry_shutdown();
    CHECK_INT(outbox_files(dir), 0);
    CHECK_INT(sink_record_lines(s) - from, 1);
    CHECK_INT(sink_stat(s, "rejected") - rejected0, 2);
    CHECK_INT(sh_log_count("an earlier try stored it"), 1);
    CHECK_INT(sh_log_count("refused"), 0);
    if (testlib_failed) sh_log_dump("retry in the next run");
    rm_tree(dir);
}

/* A first try answered 401 is a refusal: warned, dropped, never retried. */
static void test_first_try_refused(sink *s) {
    char *dir = make_temp_dir(), url[256];
    telemetry_config cfg = base_config(dir);
    long rejected0 = sink_stat(s, "rejected");
    snprintf(url, sizeof url, "http://localhost:%d/usage.json?auth=wrong", s->http);
    cfg.usage_url = url;
    sh_log_clear();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    CHECK_INT(sink_stat(s, "rejected") - rejected0, 1);
    CHECK_INT(sh_log_count("the payload was refused and is dropped"), 1);
    CHECK_INT(sh_log_count("an earlier try stored it"), 0);
    CHECK_INT(outbox_files(dir), 0);
    rm_tree(dir);
}

int main(int argc, char **argv) {
    static const char *const create_only[] = { "--firebase-create-only", "--quiet", NULL };
    static const char *const with_token[] = { "--firebase-create-only", "--firebase-auth", TOKEN, "--quiet", NULL };
    sink s;
    (void)argc;
    signal(SIGPIPE, SIG_DFL);
    unsetenv("DO_NOT_TRACK");
    unsetenv("FBRETRY_NO_TELEMETRY");
    unsetenv("TELEMETRY_DEBUG");
    unsetenv("http_proxy"); unsetenv("HTTP_PROXY");
    sh_find_sink(argv[0]);
    atexit(sh_stop_all);
    test_decision();
    if (sink_start(&s, create_only) != 0) { CHECK(0); return testlib_report("test_firebase"); }
    test_retry_same_run(&s);
    test_retry_next_run(&s);
    sink_stop(&s);
    if (sink_start(&s, with_token) != 0) { CHECK(0); return testlib_report("test_firebase"); }
    test_first_try_refused(&s);
    sink_stop(&s);
    return testlib_report("test_firebase");
}
