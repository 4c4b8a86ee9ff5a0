/* enduser_tool.c - a small command-line tool for tests/test_enduser.sh, built as C (enduser_tool)
   and as C++ (enduser_tool_cxx, for the uncaught-exception case). Each run is one real process:

     enduser_tool STATE_DIR USAGE_URL|- DSN|- ACTION...

   ACTIONs, done in order, then telemetry_shutdown:
     version          print a version line and nothing else (a --version-style run)
     count N          telemetry_count("files_processed", N)   (a declared counter)
     mystery          telemetry_count("mystery", 1)           (an undeclared one)
     report           telemetry_report_usage()
     error            telemetry_capture_error()
     flush            telemetry_flush(5000)
     telemetry W...   telemetry_command(the remaining words), prints "rc=<result>"
     throw            (C++ only) throw std::runtime_error("boom") and never catch it
     throwint         (C++ only) throw 42 (not a std::exception) and never catch it

   Environment (test knobs): TOOL_CLOCK_MS fixes the clock (ms since 1970), TOOL_INTERVAL sets
   cfg.report_interval_s, TOOL_SENT_LOG_BYTES cfg.sent_log_bytes ("off": TELEMETRY_NO_WAIT),
   TOOL_NO_NOTICE cfg.no_notice, TOOL_NOTICE cfg.notice, TOOL_NO_SESSIONS cfg.no_sessions. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>
#include <string.h>
#ifdef __cplusplus
#  include <stdexcept>
#endif

TELEMETRY_COUNTER(files_processed, "Files the tool processed");

TELEMETRY_METRIC(tool_mode, "How the tool was built (c or cxx)") {
#ifdef __cplusplus
    return telemetry_string("cxx");
#else
    return telemetry_string("c");
#endif
}

static int64_t fixed_clock(void *user_data) {
    (void)user_data;
    return (int64_t)strtoll(getenv("TOOL_CLOCK_MS"), NULL, 10);
}

int main(int argc, char **argv) {
    telemetry_config cfg;
    int i;
    if (argc < 4) { fprintf(stderr, "usage: enduser_tool STATE_DIR USAGE_URL|- DSN|- ACTION...\n"); return 2; }
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = getenv("TOOL_SIDECAR") == NULL;   /* the end-user checks run in thread mode (see test_delivery for the sidecar) */
    cfg.app_name = "enduser_tool";
    cfg.app_version = "3.1";
    cfg.state_dir = argv[1];
    cfg.usage_url = strcmp(argv[2], "-") ? argv[2] : NULL;
    cfg.sentry_dsn = strcmp(argv[3], "-") ? argv[3] : NULL;
    cfg.timeout_ms = 3000;
    cfg.shutdown_timeout_ms = 3000;
    cfg.retry_initial_ms = 50;
    cfg.purpose = "to learn which file types matter to the tool's users.";
    cfg.privacy_url = "https://example.org/enduser_tool/privacy";
    cfg.opt_out_command = "enduser_tool telemetry off";
    if (getenv("TOOL_CLOCK_MS")) cfg.clock_fn = fixed_clock;
    if (getenv("TOOL_INTERVAL")) cfg.report_interval_s = (unsigned)strtoul(getenv("TOOL_INTERVAL"), NULL, 10);
    if (getenv("TOOL_SENT_LOG_BYTES"))
        cfg.sent_log_bytes = strcmp(getenv("TOOL_SENT_LOG_BYTES"), "off") ? (size_t)strtoul(getenv("TOOL_SENT_LOG_BYTES"), NULL, 10)
                                                                       : (size_t)TELEMETRY_NO_WAIT;
    cfg.no_notice = getenv("TOOL_NO_NOTICE") != NULL;
    cfg.no_sessions = getenv("TOOL_NO_SESSIONS") != NULL;
    cfg.notice = getenv("TOOL_NOTICE");
    telemetry_init(&cfg);
    for (i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "version")) printf("enduser_tool 3.1\n");
        else if (!strcmp(a, "count") && i + 1 < argc) telemetry_count("files_processed", strtoll(argv[++i], NULL, 10));
        else if (!strcmp(a, "mystery")) telemetry_count("mystery", 1);
        else if (!strcmp(a, "report")) printf("report: %s\n", telemetry_result_string(telemetry_report_usage()));
        else if (!strcmp(a, "error")) telemetry_capture_error("ToolError", "could not read %s", "input.txt");
        else if (!strcmp(a, "flush")) telemetry_flush(5000);
        else if (!strcmp(a, "telemetry")) {
            int rc = telemetry_command(argc - i - 1, argv + i + 1, stdout);
            printf("rc=%d\n", rc);
            break;
        }
#ifdef __cplusplus
        else if (!strcmp(a, "throw")) throw std::runtime_error("boom");
        else if (!strcmp(a, "throwint")) throw 42;
#endif
        else { fprintf(stderr, "enduser_tool: unknown action %s\n", a); return 2; }
    }
    telemetry_shutdown();
    return 0;
}
