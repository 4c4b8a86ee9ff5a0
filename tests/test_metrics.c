/* test_metrics.c - the metric macro, manual registration, value constructors, counters. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <pthread.h>

TELEMETRY_METRIC(zeta_count, "A count, registered automatically") { return telemetry_int(-42); }
TELEMETRY_METRIC(alpha_ratio, "A ratio") { return telemetry_double(0.25); }
TELEMETRY_METRIC(beta_flag, "A flag") { return telemetry_bool(7); }
TELEMETRY_METRIC(gamma_none, "Nothing") { return telemetry_null(); }
TELEMETRY_METRIC(delta_text, "Text with \"quotes\" and a newline") { return telemetry_string("a\"b\nc"); }
TELEMETRY_METRIC(epsilon_nan, "NaN becomes null") { return telemetry_double(0.0 / 0.0 * 0.0 + (double)NAN); }

static char long_text[5000];
TELEMETRY_COUNTER(zz_declared, "A counter declared at file scope");
TELEMETRY_COUNTER(nd_declared, "A declared counter that is counted");
TELEMETRY_COUNTER(aa_declared, "Another, sorted first");
TELEMETRY_METRIC(long_value, "A string longer than the cap") { return telemetry_string(long_text); }

static telemetry_value other_fn(void) { return telemetry_int(1); }

static void *count_thread(void *arg) {
    int i;
    (void)arg;
    for (i = 0; i < 100000; i++) telemetry_count("shared", 1);
    for (i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "name_%d", i % 20);
        telemetry_count(name, 2);
    }
    return NULL;
}

static void test_registry(void) {
    static telemetry_metric ok;                  /* registered for good: it must outlive the call */
    telemetry_metric dup, bad;
    telemetry_metric *m;
    const char *prev = "";
    int n = 0;
    /* automatic registration happened before main, sorted by id */
    for (m = telemetry__metrics; m; m = m->next) { CHECK(strcmp(prev, m->id) < 0); prev = m->id; n++; }
    CHECK_INT(n, 7);
    CHECK_INT(telemetry_metric_zeta_count.registered, 1);
    CHECK_INT(TELEMETRY_REGISTER(zeta_count), 0);                 /* again: harmless */
    memset(&dup, 0, sizeof dup);
    dup.id = "alpha_ratio"; dup.description = "another"; dup.fn = other_fn;
    CHECK_INT(telemetry_register_metric(&dup), TELEMETRY_ERR_DUPLICATE);
    memset(&bad, 0, sizeof bad);
    bad.id = "has.dot"; bad.description = "x"; bad.fn = other_fn;
    CHECK_INT(telemetry_register_metric(&bad), TELEMETRY_ERR_INVALID_ARGUMENT);
    bad.id = "";
    CHECK_INT(telemetry_register_metric(&bad), TELEMETRY_ERR_INVALID_ARGUMENT);
    bad.id = "x"; bad.fn = NULL;
    CHECK_INT(telemetry_register_metric(&bad), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_register_metric(NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
    memset(&ok, 0, sizeof ok);
    ok.id = "manual-one"; ok.description = "registered by hand"; ok.fn = other_fn;
    CHECK_INT(telemetry_register_metric(&ok), 0);
}

static void test_values(void) {
    telemetry_value v = telemetry_string(NULL);
    CHECK_INT(v.type, TELEMETRY_VALUE_NULL);
    v = telemetry_double(1.0 / 0.0);
    CHECK_INT(v.type, TELEMETRY_VALUE_NULL);
    v = telemetry_bool(5);
    CHECK_INT(v.as.b, 1);
    v = telemetry_int(INT64_MIN);
    CHECK(v.as.i == INT64_MIN);
}

static void test_report_contents(void) {
    telemetry_config cfg;
    char *json = NULL;
    size_t len = 0;
    char expect[8000];
    memset(long_text, 'x', sizeof long_text - 1);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "mtest";
    cfg.app_version = "2.0";
    cfg.state_dir = make_temp_dir();
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_build_usage_report(&json, &len), 0);
    CHECK(json && strlen(json) == len);
    CHECK(strstr(json, "\"alpha_ratio\":0.25,\"app\":\"mtest\",\"app_version\":\"2.0\",\"arch\":") != NULL);
    CHECK(strstr(json, "\"beta_flag\":true,\"delta_text\":\"a\\\"b\\nc\",\"epsilon_nan\":null,\"first_run\":true,\"gamma_none\":null,") != NULL);
    CHECK(strstr(json, "\"manual-one\":1,") != NULL);
    CHECK(strstr(json, "\"zeta_count\":-42}") != NULL);
    snprintf(expect, sizeof expect, "\"long_value\":\"%.*s\"", TELEMETRY_MAX_STRING_VALUE, long_text);
    CHECK(strstr(json, expect) != NULL);                           /* cut at the documented cap */
    CHECK(strstr(json, "\"library_version\":\"" TELEMETRY_VERSION_STRING "\"") != NULL);
    telemetry_free(json);
    telemetry_shutdown();
}

static void test_counters(void) {
    pthread_t t[4];
    int i, rc = 0;
    char *json = NULL;
    telemetry_config cfg;
    char name[40];
    for (i = 0; i < 4; i++) pthread_create(&t[i], NULL, count_thread, NULL);
    for (i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_INT(telemetry_count("bad name", 1), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_count(NULL, 1), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_count("neg", -5), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "ctest";
    cfg.state_dir = make_temp_dir();
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_build_usage_report(&json, NULL), 0);
    CHECK(strstr(json, "\"counters\":{\"name_0\":400,\"name_1\":400,\"name_10\":400,") != NULL);
    CHECK(strstr(json, "\"neg\":-5,\"shared\":400000}") != NULL);
    telemetry_free(json);
    /* a real report takes the counts: the next report starts from zero */
    {
        telemetry__buf b;
        telemetry__buf_init(&b);
        CHECK_INT(telemetry__usage_report(&b, 1, 0), 0);
        CHECK(strstr(b.data, "\"shared\":400000") != NULL);
        telemetry__buf_free(&b);
        telemetry__buf_init(&b);
        CHECK_INT(telemetry__usage_report(&b, 1, 0), 0);
        CHECK(strstr(b.data, "\"shared\":0") != NULL);
        telemetry__buf_free(&b);
    }
    telemetry_shutdown();
    /* the table is bounded: names beyond it are refused, known names still count */
    for (i = 0; i < TELEMETRY_MAX_COUNTERS + 10; i++) {
        snprintf(name, sizeof name, "fill_%d", i);
        if (telemetry_count(name, 1) == TELEMETRY_ERR_NO_SPACE) rc++;
    }
    CHECK(rc >= 10);
    CHECK_INT(telemetry_count("shared", 1), 0);
}

/* TELEMETRY_COUNTER registers a description before main, sorted; by hand it is harmless twice;
   duplicates and bad ids are refused; the disclosure lists declared and undeclared counters. */
static void test_declared_counters(void) {
    static telemetry_counter_info dup = { "zz_declared", "the same id again", NULL, 0 };
    static telemetry_counter_info bad = { "has.dot", "x", NULL, 0 };
    static telemetry_counter_info nodesc = { "no_description", NULL, NULL, 0 };
    static telemetry_counter_info byhand = { "by_hand", "Registered by hand (the static-library fallback)", NULL, 0 };
    telemetry_config cfg;
    const char *d;
    CHECK(telemetry__declared_counters != NULL && strcmp(telemetry__declared_counters->id, "aa_declared") == 0);
    CHECK(telemetry__declared_counters && telemetry__declared_counters->next && telemetry__declared_counters->next->next &&
          strcmp(telemetry__declared_counters->next->id, "nd_declared") == 0 &&
          strcmp(telemetry__declared_counters->next->next->id, "zz_declared") == 0);
    CHECK_INT(TELEMETRY_REGISTER_COUNTER(zz_declared), 0);                /* again: harmless */
    CHECK_INT(telemetry_register_counter(&dup), TELEMETRY_ERR_DUPLICATE);
    CHECK_INT(telemetry_register_counter(&bad), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_register_counter(&nodesc), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_register_counter(NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_register_counter(&byhand), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "ctest";
    cfg.state_dir = make_temp_dir();
    CHECK_INT(telemetry_init(&cfg), 0);
    /* names between test_counters' "name_*" and "neg", so its sorted checks still hold */
    CHECK_INT(telemetry_count("nd_declared", 5), 0);
    CHECK_INT(telemetry_count("nd_undeclared", 2), 0);
    d = capture_disclosure(telemetry_print_disclosure);
    CHECK(strstr(d, "    nd_declared    A declared counter that is counted\n                   = 5\n") != NULL);
    CHECK(strstr(d, "    zz_declared    A counter declared at file scope\n                   = 0\n") != NULL);
    CHECK(strstr(d, "    by_hand        Registered by hand") != NULL);
    CHECK(strstr(d, "    nd_undeclared  (undeclared: the program did not say what it counts)\n                   = 2\n") != NULL);
    CHECK(strstr(d, "the same id again") == NULL);
    if (testlib_failed) fprintf(stderr, "%s\n", d);
    telemetry_shutdown();
}

int main(void) {
    test_registry();
    test_values();
    test_report_contents();
    test_declared_counters();        /* before test_counters fills the counter table */
    test_counters();
    return testlib_report("test_metrics");
}
