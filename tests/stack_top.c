/* stack_top.c - for tests/test_stack_top.sh: app_reports() calls telemetry_capture_error; with
   TELEMETRY_DEBUG=1 the event is printed instead of sent. The test then checks that the newest
   frame of its stack is app_reports' call, at whatever optimisation level this was built. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) int app_reports(int n) {
    int rc = telemetry_capture_error("TopError", "reported from app_reports %d", n);
    return rc + n;                             /* work after the call: no tail call */
}

int main(int argc, char **argv) {
    telemetry_config cfg;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "stacktop";
    cfg.state_dir = argc > 1 ? argv[1] : "/tmp/stacktop-state";
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
    cfg.no_crash_handler = 1;
    cfg.no_notice = 1;
    if (telemetry_init(&cfg) != 0) return 3;
    rc = app_reports(argc);
    printf("rc=%d\n", rc);
    telemetry_shutdown();
    return 0;
}
