/* demo.c - a small command-line tool that uses telemetry.h the way a real one would.

     demo [--usage-url URL] [--dsn DSN] [--ca-file FILE] [--state-dir DIR] [--opt-in]
          [--disclosure] [--error] [--crash] [--consent yes|no] [--no-notice]
          [telemetry on|off|status|show [--markdown]|log]

   It defines two metrics, counts what it does, sends a usage report and (with --error) a Sentry
   error event, then shuts down. `make demo` runs it against the local receiver. */
#define _POSIX_C_SOURCE 200809L
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TELEMETRY_METRIC(cpu_count, "Number of online CPU cores") {
    return telemetry_int(sysconf(_SC_NPROCESSORS_ONLN));
}

TELEMETRY_COUNTER(files_processed, "Files the demo processed in one run");

TELEMETRY_METRIC(output_format, "Output format chosen on the command line (text or json)") {
    const char *fmt = getenv("DEMO_FORMAT");
    return telemetry_string(fmt && strcmp(fmt, "json") == 0 ? "json" : "text");
}

static void print_log(telemetry_level level, const char *message, void *user_data) {
    (void)user_data;
    if (level >= TELEMETRY_LEVEL_WARNING) fprintf(stderr, "demo: telemetry: %s\n", message);
}

int main(int argc, char **argv) {
    telemetry_config cfg;
    int i, rc, disclosure = 0, error = 0, crash = 0, consent = -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "demo";
    cfg.app_version = "1.0.0";
    cfg.timeout_ms = 5000;
    cfg.log_fn = print_log;
    cfg.purpose = "to learn which output formats the demo's users need, and where it fails.";
    cfg.opt_out_command = "demo telemetry off";
    for (i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--usage-url") && next) { cfg.usage_url = next; i++; }
        else if (!strcmp(argv[i], "--dsn") && next) { cfg.sentry_dsn = next; i++; }
        else if (!strcmp(argv[i], "--ca-file") && next) { cfg.ca_file = next; i++; }
        else if (!strcmp(argv[i], "--state-dir") && next) { cfg.state_dir = next; i++; }
        else if (!strcmp(argv[i], "--config-file") && next) { cfg.config_file = next; i++; }
        else if (!strcmp(argv[i], "--consent") && next) { consent = !strcmp(next, "yes"); i++; }
        else if (!strcmp(argv[i], "--opt-in")) cfg.opt_in = 1;
        else if (!strcmp(argv[i], "--no-notice")) cfg.no_notice = 1;
        else if (!strcmp(argv[i], "telemetry")) {      /* the tool's own subcommand: words after it */
            telemetry_init(&cfg);
            rc = telemetry_command(argc - i - 1, argv + i + 1, stdout);
            telemetry_shutdown();
            return rc == 0 ? 0 : rc == TELEMETRY_DISABLED ? 1 : 2;
        }
        else if (!strcmp(argv[i], "--disclosure")) disclosure = 1;
        else if (!strcmp(argv[i], "--error")) error = 1;
        else if (!strcmp(argv[i], "--crash")) crash = 1;
        else { fprintf(stderr, "demo: unknown argument %s\n", argv[i]); return 2; }
    }
    rc = telemetry_init(&cfg);
    if (rc < 0 && rc != TELEMETRY_DISABLED) fprintf(stderr, "demo: telemetry_init: %s\n", telemetry_result_string(rc));
    if (consent >= 0) telemetry_set_consent(consent);
    if (disclosure) telemetry_print_disclosure(stdout);

    /* the tool's real work, counted */
    telemetry_count("files_processed", 3);
    telemetry_add_breadcrumb("work", "processed %d files", 3);
    printf("demo: did its work (telemetry is %s)\n", telemetry_enabled() ? "on" : "off");

    rc = telemetry_report_usage();
    printf("demo: usage report: %s\n", telemetry_result_string(rc));
    if (error) {
        rc = telemetry_capture_error("ConfigError", "could not parse %s line %d", "demo.conf", 12);
        printf("demo: error event: %s\n", telemetry_result_string(rc));
        rc = telemetry_capture_message(TELEMETRY_LEVEL_INFO, "demo finished with %d warnings", 1);
        printf("demo: message event: %s\n", telemetry_result_string(rc));
    }
    if (crash) {
        volatile int *nowhere = NULL;
        printf("demo: crashing now (the next run sends the report)\n");
        fflush(stdout);
        *nowhere = 42;                                   /* SIGSEGV */
    }
    if (getenv("DEMO_EXIT_BEFORE_SHUTDOWN")) _exit(0);   /* for tests: a run that never ends cleanly */
    telemetry_shutdown();
    return 0;
}
