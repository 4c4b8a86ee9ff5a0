/* test_reentry.c - a metric function that calls back into the library never deadlocks (F20):
   each call either answers (telemetry_enabled, telemetry_count, telemetry_consent_state,
   telemetry_status_reason) or is refused with TELEMETRY_ERR_REENTRY, from every place metric
   functions run (report, built report, disclosure); other threads keep working. And a flood of
   counter names past the table logs one line, not one per call (F24b). A deadlock is ended by
   the alarm, which kills the test: a failure. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <pthread.h>
#include <signal.h>

#define NCALLS 17
static int results[NCALLS], calls;
static telemetry_metric late = { "late", "registered from inside a metric", NULL, NULL, 0 };
static telemetry_value late_fn(void) { return telemetry_int(1); }

TELEMETRY_METRIC(reentry, "calls back into the library") {
    char *json = NULL;
    char *argv[] = { (char *)"status", NULL };
    telemetry_config cfg;
    FILE *f = tmpfile();
    int i = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "again";
    late.fn = late_fn;
    results[i++] = telemetry_enabled();
    results[i++] = telemetry_count("from_metric", 1);
    results[i++] = telemetry_consent_state();
    results[i++] = telemetry_status_reason()[0] != 0;
    results[i++] = telemetry_flush(10);
    results[i++] = telemetry_register_metric(&late);
    results[i++] = telemetry_report_usage();
    results[i++] = telemetry_build_usage_report(&json, NULL);
    results[i++] = telemetry_capture_message(TELEMETRY_LEVEL_INFO, "x");
    results[i++] = telemetry_capture_error("E", "x");
    results[i++] = telemetry_add_breadcrumb("c", "x");
    results[i++] = telemetry_set_tag("k", "v");
    results[i++] = telemetry_print_disclosure(f);
    results[i++] = telemetry_set_consent(0);
    results[i++] = telemetry_init(&cfg);
    results[i++] = telemetry_command(1, argv, f);
    telemetry_shutdown();                                  /* returns at once, does nothing */
    results[i++] = 0;
    fclose(f);
    telemetry_free(json);
    calls++;
    return telemetry_int(i);
}

static void check_results(const char *where) {
    int i;
    CHECK_INT(results[0], 1);                              /* telemetry_enabled answers */
    CHECK_INT(results[1], 0);                              /* telemetry_count counts */
    CHECK_INT(results[2], TELEMETRY_CONSENT_UNKNOWN);
    CHECK_INT(results[3], 1);
    for (i = 4; i < NCALLS - 1; i++) {
        if (results[i] != TELEMETRY_ERR_REENTRY) fprintf(stderr, "  %s: call %d gave %d\n", where, i, results[i]);
        CHECK_INT(results[i], TELEMETRY_ERR_REENTRY);
    }
    memset(results, 0x55, sizeof results);
}

static void *other_thread(void *arg) {
    (void)arg;
    return (void *)(intptr_t)telemetry_report_usage();         /* waits its turn, then works */
}

static void test_metric_calls_back(void) {
    telemetry_config cfg;
    char *json = NULL;
    FILE *f = tmpfile();
    pthread_t t;
    void *trc;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "reentry";
    cfg.state_dir = make_temp_dir();
    cfg.usage_url = "http://127.0.0.1:9/u.json";
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    alarm(30);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_build_usage_report(&json, NULL), 0);   /* before the run's first work */
    check_results("build_usage_report");
    CHECK(json && strstr(json, "\"reentry\":17") != NULL);
    telemetry_free(json);
    CHECK_INT(telemetry_report_usage(), 0);
    check_results("report_usage");
    CHECK_INT(telemetry_print_disclosure(f), 0);
    check_results("print_disclosure");
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK_INT(telemetry_report_usage(), 0);
    pthread_join(t, &trc);
    CHECK_INT((intptr_t)trc, 0);
    CHECK_INT(calls, 6);                                   /* the disclosure runs them twice */
    CHECK_INT(telemetry_enabled(), 1);                     /* outside a metric: the normal path again */
    CHECK_INT(late.registered, 0);
    CHECK_INT(telemetry_register_metric(&late), 0);
    telemetry_shutdown();
    alarm(0);
    fclose(f);
}

static int dropped_lines;
static void count_log(telemetry_level level, const char *message, void *user) {
    (void)level; (void)user;
    if (strstr(message, "dropped: more than")) dropped_lines++;
}

static void test_counter_flood(void) {
    telemetry_config cfg;
    char name[32];
    int i, refused = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "flood";
    cfg.state_dir = make_temp_dir();
    cfg.log_fn = count_log;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    for (i = 0; i < 200000; i++) {
        snprintf(name, sizeof name, "c%d", i);
        if (telemetry_count(name, 1) == TELEMETRY_ERR_NO_SPACE) refused++;
    }
    CHECK(refused >= 200000 - TELEMETRY_MAX_COUNTERS);
    CHECK_INT(dropped_lines, 1);                           /* one line, not 199,872 */
    CHECK_INT(telemetry__counters_refused, refused);       /* the rest are counted */
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "counter calls were refused") != NULL);
    telemetry_shutdown();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);          /* the next run logs once again */
    CHECK_INT(telemetry_count("another_name", 1), TELEMETRY_ERR_NO_SPACE);
    CHECK_INT(dropped_lines, 2);
    telemetry_shutdown();
}

int main(void) {
    unsetenv("DO_NOT_TRACK");
    unsetenv("TELEMETRY_DEBUG");
    test_metric_calls_back();
    test_counter_flood();
    return testlib_report("test_reentry");
}
