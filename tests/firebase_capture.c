/* firebase_capture.c - makes the library send every shape of usage report it can send to a
   Firebase URL, to the local receiver, and copies the receiver's record of those requests
   (method, path, query, body: exactly what went over the wire) to the file named by argv[1].
   tests/test_firebase_rules.sh replays them against docs/firebase.rules.json with targaryen.

   Shapes: custom metrics of every type (integer, double, boolean, string, null) with counters;
   the longest metric id; a string metric cut to the longest value kept; a report without
   counters; two reports made in a row (push ids in one millisecond); a first try whose answer
   is lost and its retry (same path, same body); reports carrying dropped_reports; a run with no
   state folder (its install id lives in memory). Each report's "shape" is told by its counters. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include "sink_helpers.h"

static int with_custom = 1;
static char long_string[3000];

TELEMETRY_METRIC(cpu_count, "An integer") { return with_custom ? telemetry_int(8) : telemetry_null(); }
TELEMETRY_METRIC(load_ratio, "A double") { return with_custom ? telemetry_double(0.375) : telemetry_null(); }
TELEMETRY_METRIC(colour_mode, "A boolean") { return with_custom ? telemetry_bool(1) : telemetry_null(); }
TELEMETRY_METRIC(output_format, "A string with quotes, slashes and non-ASCII") {
    return with_custom ? telemetry_string("gr\xC3\xBCn \"quoted\" / slash . dot # $ [x]") : telemetry_null();
}
TELEMETRY_METRIC(long_text, "The longest string kept") { return with_custom ? telemetry_string(long_string) : telemetry_null(); }
TELEMETRY_METRIC(a23456789012345678901234567890123456789012345678901234567890123, "The longest metric id") {
    return telemetry_int(-5);
}
TELEMETRY_METRIC(nothing, "A null value") { return telemetry_null(); }

static telemetry_config config(const char *dir, const char *url) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "capture";
    cfg.app_version = "3.1.4-beta+build.7";
    cfg.state_dir = dir;
    cfg.usage_url = url;
    cfg.log_fn = sh_log_fn;
    cfg.retry_initial_ms = 50;
    cfg.retry_max_ms = 100;
    cfg.timeout_ms = 5000;
    cfg.no_crash_handler = 1;
    return cfg;
}

int main(int argc, char **argv) {
    static const char *const extra[] = { "--quiet", NULL };
    sink s;
    char url[256], *dir, *text;
    telemetry_config cfg;
    FILE *out;
    int i;
    if (argc != 2) { fprintf(stderr, "usage: firebase_capture OUT\n"); return 2; }
    for (i = 0; i + 2 < (int)sizeof long_string; i += 2) { long_string[i] = (char)0xC3; long_string[i + 1] = (char)0xA9; }
    unsetenv("DO_NOT_TRACK"); unsetenv("CAPTURE_NO_TELEMETRY"); unsetenv("TELEMETRY_DEBUG");
    unsetenv("http_proxy"); unsetenv("HTTP_PROXY");
    sh_find_sink(argv[0]);
    atexit(sh_stop_all);
    if (sink_start(&s, extra) != 0) return 1;
    snprintf(url, sizeof url, "http://localhost:%d/usage.json", s.http);

    /* 1. every value type, counters; 2. the next report, counters empty; 3. two in a row */
    dir = make_temp_dir();
    cfg = config(dir, url);
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_count("files_processed", 3), 0);
    CHECK_INT(telemetry_count("shape_all_types", 1), 0);
    CHECK_INT(telemetry_count("big", INT64_C(9007199254740993)), 0);
    CHECK_INT(telemetry_count("negative", -2), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    CHECK_INT(telemetry_count("shape_in_a_row", 1), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);

    /* 4. a first try whose answer is lost, and its retry */
    CHECK(sink_mode(&s, "m=lost&n=1&only=firebase"));
    CHECK_INT(telemetry_count("shape_retry", 1), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    (void)telemetry_flush(10000);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    rm_tree(dir);

    /* 5. reports dropped while the server failed: the next one says how many */
    dir = make_temp_dir();
    cfg = config(dir, url);
    cfg.outbox_disk_bytes = 6000;
    with_custom = 0;
    CHECK(sink_mode(&s, "m=500&only=firebase"));
    CHECK_INT(telemetry_init(&cfg), 0);
    for (i = 0; i < 12; i++) CHECK_INT(telemetry_report_usage(), 0);
    (void)telemetry_flush(500);
    CHECK(sink_mode(&s, "m=ok"));
    CHECK_INT(telemetry_count("shape_after_drops", 1), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    (void)telemetry_flush(10000);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();
    rm_tree(dir);

    /* 6. no state folder */
    cfg = config("/dev/null/none", url);
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_count("shape_no_state", 1), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(10000), 0);
    telemetry_shutdown();

    text = sh_read_file(s.record);
    CHECK(strstr(text, "\"dropped_reports\":") != NULL);
    out = fopen(argv[1], "wb");
    CHECK(out != NULL);
    if (out) { fputs(text, out); fclose(out); }
    free(text);
    sink_stop(&s);
    if (testlib_failed) sh_log_dump("capture");
    return testlib_report("firebase_capture");
}
