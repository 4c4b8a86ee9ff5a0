/* size_client.c - the program whose stripped size docs/building.md quotes (tests/bench/size.sh): init
   with a DSN and a usage URL, a counter, a usage report, a message, an error, shutdown. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
int main(int argc, char **argv) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "sizeapp";
    cfg.app_version = "1.0.0";
    cfg.sentry_dsn = argc > 1 ? argv[1] : NULL;
    cfg.usage_url = argc > 2 ? argv[2] : NULL;
    if (telemetry_init(&cfg) < 0) return 1;
    telemetry_count("runs", 1);
    telemetry_report_usage();
    telemetry_capture_message(TELEMETRY_LEVEL_INFO, "hello %d", argc);
    telemetry_capture_error("SizeError", "error %d", argc);
    telemetry_shutdown();
    return 0;
}
