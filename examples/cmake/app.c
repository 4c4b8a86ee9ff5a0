/* app.c - prints the usage report it would send (TELEMETRY_DEBUG-free: telemetry_print_disclosure
   shows the next report), so the test can see which metrics made it into the program.
   usage: app STATE_DIR */
#include <stdio.h>
#include "telemetry.h"
#include "stats/stats.h"

#if defined(APP_REGISTER_METRICS)
TELEMETRY_METRIC_DECLARE(stats_backend);     /* defined in the stats library */
#endif

TELEMETRY_METRIC(app_answer, "A metric of the program itself") { return telemetry_int(42); }

int main(int argc, char **argv) {
    static const long v[] = { 1, 2, 3 };
    telemetry_config cfg = {0};
    if (argc != 2) { fprintf(stderr, "usage: %s STATE_DIR\n", argv[0]); return 2; }
    cfg.app_name = "cmake_example";
    cfg.app_version = "1.0";
    cfg.state_dir = argv[1];
    cfg.no_crash_handler = 1;
#if defined(APP_REGISTER_METRICS)
    TELEMETRY_REGISTER(stats_backend);       /* before the first report */
#endif
    if (telemetry_init(&cfg) != 0) { fprintf(stderr, "telemetry_init failed\n"); return 1; }
    printf("sum=%ld\n", stats_sum(v, 3));
    telemetry_print_disclosure(stdout);
    telemetry_shutdown();
    return 0;
}
