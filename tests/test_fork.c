/* test_fork.c - fork() after telemetry_init (F2). Two threads of the parent capture events the
   whole time, so the library's locks are often held at the instant of a fork. Each child calls
   every public function: none may block (a child that needs 5 s is counted as hung and killed),
   each says telemetry is off, and nothing of the child's reaches the receiver or ends the
   parent's session. A crash of a child leaves no crash report in the parent's outbox.
   Run from the repository root; every wait is bounded. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include "sink_helpers.h"
#include <pthread.h>

#define KEY "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"
#define FORKS 60

static volatile int stop_threads = 0;

static void *capture_loop(void *arg) {
    long n = 0;
    (void)arg;
    while (!stop_threads) {
        /* each capture is a payload in the store that the sidecar sends after the run: a few
           hundred, then only calls that take the lock and queue nothing */
        if (n < 300) telemetry_capture_message(TELEMETRY_LEVEL_INFO, "parent message %ld", n);
        else (void)telemetry_enabled();
        n++;
        telemetry_add_breadcrumb("loop", "crumb %ld", n);
        if (n % 16 == 0 && n < 300) telemetry_report_usage();
    }
    return NULL;
}

/* What a child does: every call returns at once and says off. The exit status names the first
   call that did not. */
static int child_calls(int crash) {
    char *json = NULL;
    size_t len = 0;
    if (telemetry_enabled() != 0) return 10;
    if (telemetry_capture_message(TELEMETRY_LEVEL_ERROR, "child message") != TELEMETRY_DISABLED) return 11;
    if (telemetry_capture_error("ChildError", "child error") != TELEMETRY_DISABLED) return 12;
    if (telemetry_add_breadcrumb("child", "crumb") != TELEMETRY_DISABLED) return 13;
    if (telemetry_set_tag("child", "yes") != TELEMETRY_DISABLED) return 14;
    if (telemetry_count("child_count", 1) != TELEMETRY_DISABLED) return 15;
    if (telemetry_report_usage() != TELEMETRY_DISABLED) return 16;
    if (telemetry_build_usage_report(&json, &len) != TELEMETRY_DISABLED) return 17;
    if (telemetry_flush(2000) != TELEMETRY_DISABLED) return 18;
    if (telemetry_set_consent(0) != TELEMETRY_DISABLED) return 19;
    if (telemetry_consent_state() != TELEMETRY_CONSENT_UNKNOWN) return 20;
    if (strstr(telemetry_status_reason(), "forked") == NULL) return 21;
    if (crash) { volatile uintptr_t bad = 16; *(volatile int *)bad = 1; }   /* a null-page write (not NULL: UBSan) */
    telemetry_shutdown();
    return 0;
}

int main(int argc, char **argv) {
    static const char *const extra[] = { "--sentry-key", KEY, NULL };
    char *dir, dsn[256], url[256], consent_path[600];
    telemetry_config cfg;
    pthread_t t[2];
    sink s;
    int i, hung = 0, bad = 0, crashed_ok = 0, worst_ms = 0;
    (void)argc;
    signal(SIGPIPE, SIG_DFL);
    unsetenv("DO_NOT_TRACK");
    unsetenv("TELEMETRY_DEBUG");
    sh_find_sink(argv[0]);
    atexit(sh_stop_all);
    if (sink_start(&s, extra) != 0) { CHECK(0); return testlib_report("test_fork"); }
    dir = make_temp_dir();
    snprintf(dsn, sizeof dsn, "http://" KEY "@127.0.0.1:%d/7", s.http);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/usage/forktest.json", s.http);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "forktest";
    cfg.state_dir = dir;
    cfg.sentry_dsn = dsn;
    cfg.usage_url = url;
    cfg.shutdown_timeout_ms = 5000;
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "before the forks"), 0);
    for (i = 0; i < 2; i++) pthread_create(&t[i], NULL, capture_loop, NULL);
    for (i = 0; i < FORKS; i++) {
        double t0 = sh_now_ms();
        int st = 0, crash = i % 10 == 9;
        pid_t pid = fork();
        if (pid == 0) _exit(child_calls(crash));
        {
            double end = t0 + 5000.0 * sh_slow();
            pid_t r;
            while ((r = waitpid(pid, &st, WNOHANG)) == 0 && sh_now_ms() < end) sh_sleep_ms(1);
            if (r != pid) { kill(pid, SIGKILL); waitpid(pid, &st, 0); hung++; continue; }
        }
        if ((int)(sh_now_ms() - t0) > worst_ms) worst_ms = (int)(sh_now_ms() - t0);
        if (crash) crashed_ok += WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            bad++;
            fprintf(stderr, "child %d: %s %d\n", i, WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        }
    }
    stop_threads = 1;
    for (i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("%d forks while two threads capture: %d hung, %d with a wrong answer, slowest child %d ms\n",
           FORKS, hung, bad, worst_ms);
    CHECK_INT(hung, 0);
    CHECK_INT(bad, 0);
    CHECK_INT(crashed_ok, FORKS / 10);             /* a child's crash still ends it by its signal */
    /* the parent goes on: its telemetry is on, its session is its own */
    CHECK_INT(telemetry_enabled(), 1);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "after the forks"), 0);
    snprintf(consent_path, sizeof consent_path, "%s/consent", dir);
    CHECK(!path_exists(consent_path));              /* a child's set_consent(0) recorded nothing */
    telemetry_shutdown();
    {   /* the sidecar delivers after the program's shutdown: wait for the last words */
        double end = sh_now_ms() + 10000.0 * sh_slow();
        char *record = NULL;
        while (sh_now_ms() < end) {
            record = sh_read_file(s.record);
            if (record && sh_count_substr(record, "after the forks") >= 1 && sh_count_substr(record, "\"status\":\"exited\"") >= 1) break;
            free(record);
            record = NULL;
            sh_sleep_ms(20);
        }
        free(record);
        sh_sleep_ms(300);                           /* a duplicate would land meanwhile */
    }
    {
        char *record = sh_read_file(s.record);
        CHECK(record != NULL);
        if (record) {
            CHECK_INT(sh_count_substr(record, "child message"), 0);
            CHECK_INT(sh_count_substr(record, "ChildError"), 0);
            CHECK_INT(sh_count_substr(record, "SIGSEGV"), 0);   /* no child crash was reported */
            CHECK(sh_count_substr(record, "after the forks") == 1);
            CHECK_INT(sh_count_substr(record, "\"status\":\"crashed\""), 0);
            CHECK(sh_count_substr(record, "\"status\":\"exited\"") == 1);   /* the parent's, once */
            free(record);
        }
    }
    {   /* a child made after shutdown may start telemetry afresh */
        int st = 0;
        pid_t pid = fork();
        if (pid == 0) {
            int rc = telemetry_init(&cfg);
            telemetry_shutdown();
            _exit(rc == 0 ? 0 : 30);
        }
        CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    sink_stop(&s);
    rm_tree(dir);
    return testlib_report("test_fork");
}
