/* test_signal_safe.c - the functions documented as async-signal-safe work from a signal handler
   that interrupts the library mid-call (F22): telemetry_count for a known name after the run's
   first work, telemetry_status_reason and telemetry_result_string, called from a SIGPROF handler
   firing every 100 us while the main thread adds breadcrumbs and counts. A deadlock is ended by
   the alarm, which kills the test: a failure. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t fired, bad;
static void on_prof(int sig) {
    (void)sig;
    if (telemetry_count("from_signal", 1) != 0) bad = 1;
    if (!telemetry_status_reason()[0] || !telemetry_result_string(0)[0]) bad = 1;
    fired++;
}

int main(void) {
    telemetry_config cfg;
    struct itimerval it;
    struct sigaction sa;
    char *json = NULL, want[64];
    long i;
    unsetenv("DO_NOT_TRACK");
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "fromsignal";
    cfg.state_dir = make_temp_dir();
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
    cfg.no_crash_handler = 1;
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_count("from_signal", 0), 0);       /* the name is known, the first work done */
    alarm(60);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prof;                               /* (signal() is one-shot under strict C99) */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, NULL);
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = 100; it.it_value.tv_usec = 100;
    setitimer(ITIMER_PROF, &it, NULL);
    for (i = 0; fired < 50 && i < 100000000L; i++) {      /* until 50 signals landed inside the library */
        telemetry_add_breadcrumb("main", "step %ld", i);
        telemetry_count("main", 1);
    }
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_PROF, &it, NULL);
    signal(SIGPROF, SIG_IGN);
    alarm(0);
    CHECK(fired >= 50);
    CHECK_INT(bad, 0);
    CHECK_INT(telemetry_build_usage_report(&json, NULL), 0);
    snprintf(want, sizeof want, "\"from_signal\":%d", (int)fired);
    CHECK(json && strstr(json, want) != NULL);             /* every call from the handler counted */
    telemetry_free(json);
    telemetry_shutdown();
    printf("test_signal_safe: %d signals handled during %ld breadcrumbs\n", (int)fired, i);
    return testlib_report("test_signal_safe");
}
