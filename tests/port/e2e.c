/* tests/port/e2e.c - the program every platform job runs end to end against the local receiver
   (tests/port/run.sh checks what arrived with tests/port/check_e2e.py): a usage report with a
   metric and a counter, a message, an error event, breadcrumbs, optionally from several threads,
   then a flush and a shutdown; with --crash a null-pointer write, whose report the next run sends.

     e2e [--usage-url URL] [--dsn DSN] [--ca-file FILE] [--state-dir DIR] [--threads N] [--crash]

   It prints one line per call and exits 0 when every call succeeded. Portable C99 plus POSIX
   threads (Win32 threads on Windows, and the arguments read as UTF-16: link -lshell32). */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#  include <windows.h>
#  include <shellapi.h>
#else
#  include <pthread.h>
#endif
#if defined(__linux__)
#  include <sys/types.h>
#  include <time.h>
#endif

TELEMETRY_METRIC(e2e_answer, "A fixed value the checker looks for") { return telemetry_int(42); }

static int failures;

static void check(const char *what, int rc) {
    printf("e2e: %s: %s\n", what, telemetry_result_string(rc));
    if (rc < 0) failures++;
}

static void *worker(void *arg) {
    int i, n = *(const int *)arg;
    for (i = 0; i < 5; i++) {
        telemetry_count("e2e_thread_calls", 1);
        telemetry_add_breadcrumb("thread", "thread %d step %d", n, i);
    }
    if (telemetry_capture_message(TELEMETRY_LEVEL_WARNING, "e2e thread %d done", n) < 0) failures++;
    return NULL;
}

#if defined(_WIN32)
static DWORD WINAPI worker_win(void *arg) { worker(arg); return 0; }
#endif

/* Kept out of line so the crash's stack has frames of this program the next run can name. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void e2e_crash(volatile int *where) {
    printf("e2e: crashing now\n");
    fflush(stdout);
    *where = 42;                                   /* SIGSEGV / access violation */
}

#if defined(_WIN32)
/* Windows hands main its arguments in the ANSI code page: a state folder named outside it would
   arrive as "?". The library takes UTF-8, so the arguments are read wide and converted. */
static char **utf8_args(int *argc) {
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), argc);
    char **a = (char **)calloc((size_t)*argc + 1, sizeof *a);
    int i;
    for (i = 0; w && a && i < *argc; i++) {
        int n = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
        a[i] = (char *)malloc((size_t)(n > 0 ? n : 1));
        if (a[i]) { a[i][0] = 0; WideCharToMultiByte(CP_UTF8, 0, w[i], -1, a[i], n, NULL, NULL); }
    }
    return a;
}
#endif

int main(int argc, char **argv) {
    telemetry_config cfg;
    int i, threads = 0, crash = 0;
#if defined(_WIN32)
    argv = utf8_args(&argc);
#endif
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "e2e";
    cfg.app_version = "1.0.0";
    cfg.timeout_ms = 20000;                        /* emulated targets are slow */
    cfg.shutdown_timeout_ms = 20000;
    cfg.no_notice = 1;                             /* sends from the first run (no first-run notice) */
    for (i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--usage-url") && next) { cfg.usage_url = next; i++; }
        else if (!strcmp(argv[i], "--dsn") && next) { cfg.sentry_dsn = next; i++; }
        else if (!strcmp(argv[i], "--ca-file") && next) { cfg.ca_file = next; i++; }
        else if (!strcmp(argv[i], "--state-dir") && next) { cfg.state_dir = next; i++; }
        else if (!strcmp(argv[i], "--threads") && next) { threads = atoi(next); i++; }
        else if (!strcmp(argv[i], "--crash")) crash = 1;
        else { fprintf(stderr, "e2e: unknown argument %s\n", argv[i]); return 2; }
    }
#if defined(__linux__)
    /* the header asks for 64-bit off_t and time_t when its implementation comes first (32-bit) */
    printf("e2e: sizeof(off_t)=%u sizeof(time_t)=%u\n", (unsigned)sizeof(off_t), (unsigned)sizeof(time_t));
#endif
    check("init", telemetry_init(&cfg));
    check("count", telemetry_count("e2e_runs", 1));
    check("breadcrumb", telemetry_add_breadcrumb("e2e", "started with %d threads", threads));
    if (cfg.usage_url) check("usage report", telemetry_report_usage());
    check("message", telemetry_capture_message(TELEMETRY_LEVEL_INFO, "e2e message %d", 1));
    check("error", telemetry_capture_error("E2EError", "e2e error in %s", "main"));
    if (threads > 0) {
        int ids[16], n = threads > 16 ? 16 : threads;
#if defined(_WIN32)
        HANDLE t[16];
        for (i = 0; i < n; i++) { ids[i] = i; if (!(t[i] = CreateThread(NULL, 0, worker_win, &ids[i], 0, NULL))) failures++; }
        for (i = 0; i < n; i++) if (t[i]) { WaitForSingleObject(t[i], INFINITE); CloseHandle(t[i]); }
#else
        pthread_t t[16];
        for (i = 0; i < n; i++) { ids[i] = i; if (pthread_create(&t[i], NULL, worker, &ids[i]) != 0) failures++; }
        for (i = 0; i < n; i++) pthread_join(t[i], NULL);
#endif
        printf("e2e: %d threads done\n", n);
    }
    if (crash) e2e_crash((volatile int *)(void *)0);
    check("flush", telemetry_flush(20000));
    telemetry_shutdown();
    printf("e2e: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
