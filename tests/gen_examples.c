/* gen_examples.c - makes the payload examples in docs/examples/ with the real code: a fixed clock
   and a counting entropy source make the ids and times repeatable, TELEMETRY_DEBUG prints every
   payload exactly as it would be sent. tests/test_examples.sh compares them with the docs. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>
#include <string.h>

static int64_t fixed_clock(void *ud) { (void)ud; return INT64_C(1795687200000); }  /* 2026-11-26T10:00:00Z */
static int counting_entropy(void *ud, void *buf, size_t len) {
    static unsigned char next = 0x10;
    size_t i;
    (void)ud;
    for (i = 0; i < len; i++) ((unsigned char *)buf)[i] = next++;
    return 0;
}

TELEMETRY_METRIC(cpu_count, "Number of online CPU cores") { return telemetry_int(8); }
TELEMETRY_METRIC(output_format, "Output format chosen on the command line") { return telemetry_string("json"); }

static void parse_config(void) {
    telemetry_capture_error("ConfigError", "unknown key '%s' on line %d", "colour", 12);
}

int main(int argc, char **argv) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    if (argc < 2) return 2;
    cfg.app_name = "mytool";
    cfg.app_version = "1.4.2";
    cfg.state_dir = argv[1];
    cfg.usage_url = "https://mytool-default-rtdb.firebaseio.com/usage.json";
    cfg.sentry_dsn = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42";
    cfg.clock_fn = fixed_clock;
    cfg.entropy_fn = counting_entropy;
    setenv("TELEMETRY_DEBUG", "1", 1);
    unsetenv("DO_NOT_TRACK");
    if (telemetry_init(&cfg) != 0) return 1;
    /* the machine's own facts would change the examples from one machine to the next */
    strcpy(telemetry__st.os.kernel, "6.1.0-18-amd64");
    strcpy(telemetry__st.os.distro_id, "debian");
    strcpy(telemetry__st.os.distro_version, "12");
    strcpy(telemetry__st.os.distro_pretty, "Debian GNU/Linux 12 (bookworm)");
    strcpy(telemetry__st.os.distribution, "debian 12");
    telemetry_count("files_processed", 3);
    telemetry_report_usage();
    telemetry_flush(5000);
    telemetry_set_tag("command", "convert");
    telemetry_add_breadcrumb("config", "read %s", "~/.mytool.toml");
    telemetry_capture_message(TELEMETRY_LEVEL_WARNING, "disk %s is %d%% full", "/data", 97);
    telemetry_flush(5000);
    parse_config();
    telemetry_flush(5000);
    telemetry_shutdown();
    return 0;
}
