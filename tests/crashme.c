/* crashme.c - a program that really crashes, for tests/test_crash.sh.

     crashme MODE STATE_DIR DSN

   MODE: null, abort, fpe, stack, thread, chained, inhandler (crash), selfcheck (exits 97 when
   the allocator interposition works), or none (a next run that
   sends what the last one left and exits cleanly). malloc, calloc, realloc and free are
   interposed: called while the crash handler runs, they end the process with status 97, which
   the test reports as "the handler is not async-signal-safe". */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static void in_handler_alarm(void) {
    static const char msg[] = "crashme: the crash handler called the allocator\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(97);
}
void *malloc(size_t n) { if (telemetry__in_crash_handler) in_handler_alarm(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (telemetry__in_crash_handler) in_handler_alarm(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (telemetry__in_crash_handler) in_handler_alarm(); return __libc_realloc(p, n); }
void free(void *p) { if (telemetry__in_crash_handler) in_handler_alarm(); __libc_free(p); }

static int *volatile nowhere;
static volatile int zero;
static char marker_path[1200];

__attribute__((noinline)) static void parse_config(void) { *nowhere = 1; }
static volatile int keep_going = 1;
__attribute__((noinline)) static int recurse(int depth) {
    volatile char pad[512];
    pad[0] = (char)depth;
    return keep_going ? recurse(depth + 1) + pad[0] : 0;      /* until the stack runs out */
}
static void *thread_main(void *arg) { (void)arg; parse_config(); return NULL; }

/* The program's own handler, installed before telemetry_init: it must still run. */
static void own_handler(int sig) {
    int fd = open(marker_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) { if (write(fd, "own handler ran\n", 16) < 0) {} close(fd); }
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv) {
    telemetry_config cfg;
    const char *mode;
    if (argc != 4) return 2;
    mode = argv[1];
    if (!strcmp(mode, "selfcheck")) {            /* proves the interposed allocator is the one used */
        void *p;
        telemetry__in_crash_handler = 1;
        p = strdup(argv[1]);                     /* libc's own call goes through our malloc too */
        free(p);
        return 0;
    }
    snprintf(marker_path, sizeof marker_path, "%s/own-handler-ran", argv[2]);
    if (!strcmp(mode, "chained")) signal(SIGSEGV, own_handler);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "crashme";
    cfg.app_version = "2.0";
    cfg.state_dir = argv[2];
    cfg.sentry_dsn = argv[3];
    cfg.timeout_ms = 3000;
    cfg.shutdown_timeout_ms = 3000;
    if (telemetry_init(&cfg) != 0) return 3;
    telemetry_set_tag("mode", mode);
    telemetry_add_breadcrumb("test", "about to crash: %s", mode);
    /* the run's first work (a run that does nothing sends nothing): the store opens, the
       sidecar may send; the crash then arrives with no next run */
    if (strcmp(mode, "none") != 0) telemetry_capture_message(TELEMETRY_LEVEL_INFO, "crashme %s starts", mode);
    if (!strcmp(mode, "null") || !strcmp(mode, "chained")) parse_config();
    else if (!strcmp(mode, "abort")) abort();
    else if (!strcmp(mode, "fpe")) { volatile int seven = 7, x = seven / zero; (void)x; }  /* 1/x would become a compare */
    else if (!strcmp(mode, "stack")) recurse(0);
    else if (!strcmp(mode, "thread")) { pthread_t t; pthread_create(&t, NULL, thread_main, NULL); pthread_join(t, NULL); }
    else if (!strcmp(mode, "inhandler")) { telemetry__cr.modules = (telemetry__module *)16; parse_config(); }
    else if (!strcmp(mode, "none")) { telemetry_flush(3000); telemetry_shutdown(); return 0; }
    return 4;                                                /* should not get here */
}
