/* instr_capture.c - the program tests/bench/instr.sh runs under callgrind to count instructions
   per captured event (deterministic, unlike wall time on a shared machine).

   Usage: instr_capture MODE N [DSN]
     MODE  message   N telemetry_capture_message calls (the bench's message and level)
           error     N telemetry_capture_error calls, each from a 10-frame deep call chain
     N     how many; the script runs two N and takes the difference, so init, the first call
           (which starts the worker) and shutdown cancel out
     DSN   default: a dead port on 127.0.0.1 (the server is down)
   The state folder is TMPDIR/instr-<pid> (removed at exit). Release benchapp@1.0.0 and
   environment production, as in docs/benchmarks.md. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "bench.h"

static volatile int sink_guard;

/* Ten frames of the program's own between main and telemetry_capture_error. */
#define INSTR_LEVEL(n, next) \
    static __attribute__((noinline)) int instr_frame##n(long i) { int rc = next(i); sink_guard += rc; return rc; }
static __attribute__((noinline)) int instr_frame0(long i) {
    return telemetry_capture_error("bench_error", "bench error %ld: %s", i, "something went wrong");
}
INSTR_LEVEL(1, instr_frame0)
INSTR_LEVEL(2, instr_frame1)
INSTR_LEVEL(3, instr_frame2)
INSTR_LEVEL(4, instr_frame3)
INSTR_LEVEL(5, instr_frame4)
INSTR_LEVEL(6, instr_frame5)
INSTR_LEVEL(7, instr_frame6)
INSTR_LEVEL(8, instr_frame7)
INSTR_LEVEL(9, instr_frame8)

int main(int argc, char **argv) {
    telemetry_config cfg;
    char state_dir[512];
    const char *tmp = getenv("TMPDIR");
    long n, i;
    int error_mode, rc;
    if (argc < 3) { fprintf(stderr, "usage: instr_capture message|error N [DSN]\n"); return 2; }
    error_mode = strcmp(argv[1], "error") == 0;
    n = strtol(argv[2], NULL, 10);
    snprintf(state_dir, sizeof state_dir, "%s/instr-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "benchapp";
    cfg.app_version = "1.0.0";
    cfg.sentry_dsn = argc > 3 ? argv[3] : "https://" BENCH_DEFAULT_KEY "@127.0.0.1:1/42";
    cfg.ca_file = "tests/certs/ca.pem";
    cfg.state_dir = state_dir;
    cfg.no_crash_handler = 1;
    cfg.shutdown_timeout_ms = argc > 3 ? 10000 : TELEMETRY_NO_WAIT;
    rc = telemetry_init(&cfg);
    if (rc != 0) { fprintf(stderr, "telemetry_init: %s\n", telemetry_result_string(rc)); return 2; }
    telemetry_set_tag("bench", "instr");
    for (i = 0; i < n; i++) {
        rc = error_mode ? instr_frame9(i)
                        : telemetry_capture_message(TELEMETRY_LEVEL_INFO, "bench message %ld of %ld: %s", i, n, "something happened");
        if (rc != 0 && rc != TELEMETRY_ERR_NO_SPACE) { fprintf(stderr, "capture: %s\n", telemetry_result_string(rc)); return 1; }
        /* a pause now and then lets the worker drain, so the queue never fills (a full queue
           drops, which costs less and would flatter the figure) */
        if (argc > 3 && i % 50 == 49) telemetry_flush(10000);
    }
    telemetry_shutdown();
    bench_rm_tree(state_dir);
    return 0;
}
