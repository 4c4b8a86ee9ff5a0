/* test_delivery.c - delivery that never waits and never needs a next run, with real processes
   (this binary re-run as the program) and the local receiver: exit() without shutdown, SIGKILL
   in the middle of a flood, an error just before a crash (50 crashes: each session ends once, as
   crashed), a short tool against a server answering after 150 ms, the sidecar's lifetime (gone
   within its bound, never holding the program's stdout, never reaped by waitpid(-1)), 8
   concurrent runs sharing a state folder, init with 20,000 queued payloads, 10,000 events back
   to back with a small peak RSS, revocation (nothing more leaves, no file comes back), a program
   that forks while capturing, a file size limit, an oversized record. */
#define _DEFAULT_SOURCE 1   /* wait4 (BSD/Linux), declared by the C library: 32-bit builds redirect it to the 64-bit time one */
#define LIFETIME_MS 3000                        /* cfg.sidecar_lifetime_ms of the lifetime test */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include "sink_helpers.h"
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define KEY "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b"
#define TOKEN "tok-delivery"

static const char *self_path;
static char dsn[256], usage_url[256];

static void set_urls(int port) {
    snprintf(dsn, sizeof dsn, "http://" KEY "@127.0.0.1:%d/7", port);
    snprintf(usage_url, sizeof usage_url, "http://127.0.0.1:%d/d/app.json?auth=" TOKEN, port);
}

/* ---- the program (a child) ------------------------------------------------------------------- */
static telemetry_config child_config(const char *state, const char *d, const char *u) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "delivery";
    cfg.app_version = "1.0";
    cfg.state_dir = state;
    cfg.sentry_dsn = d;
    cfg.usage_url = u[0] == '-' ? NULL : u;
    cfg.retry_initial_ms = 50;
    cfg.retry_max_ms = 200;
    cfg.outbox_disk_bytes = 64u << 20;
    cfg.no_notice = 1;                          /* these runs are not about the first-run notice */
    return cfg;
}
static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
static void progress(const char *path, int i) {
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0) { ssize_t n = pwrite(fd, &i, sizeof i, 0); (void)n; close(fd); }
}
static int child(int argc, char **argv) {
    const char *mode = argv[2], *state = argv[3];
    telemetry_config cfg = child_config(state, argv[4], argv[5]);
    int i, n = argc > 6 ? atoi(argv[6]) : 0;
    if (!strcmp(mode, "fill")) {                 /* a run that leaves n payloads queued */
        cfg.no_sidecar = 1;
        cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    }
    if (!strcmp(mode, "lifetime")) cfg.sidecar_lifetime_ms = LIFETIME_MS;
    if (!strcmp(mode, "alternate") || !strcmp(mode, "slowsentry")) {   /* thread mode, usage and Sentry on two receivers */
        cfg.no_sidecar = 1;
        cfg.shutdown_timeout_ms = 1000;
    }
    if ((argc > 6 && !strcmp(argv[6], "thread")) || (argc > 7 && !strcmp(argv[7], "thread"))) cfg.no_sidecar = 1;
    if (!strcmp(mode, "inittime")) {            /* this thread's CPU time in init, and the wall time */
        double t0 = sh_now_ms(), c0 = cpu_ms(), dt, dc;
        int rc = telemetry_init(&cfg);
        dc = cpu_ms() - c0;
        dt = sh_now_ms() - t0;
        printf("%.3f %.3f %d %d\n", dc, dt, rc, telemetry__dl.sidecar);
        fflush(stdout);
        telemetry__stop_sender(0);               /* measured: leave the queue as it is */
        _exit(0);
    }
    if (telemetry_init(&cfg) != TELEMETRY_OK) return 3;
    if (!strcmp(mode, "exit")) {
        telemetry_report_usage();
        telemetry_capture_message(TELEMETRY_LEVEL_INFO, "about to exit");
        exit(2);
    }
    if (!strcmp(mode, "flood")) {                /* argv[7]: the progress file */
        for (i = 0; i < n; i++) {
            telemetry_capture_message(TELEMETRY_LEVEL_INFO, "flood %d", i);
            progress(argv[7], i + 1);
            if (i % 16 == 0) sh_sleep_ms(0.5);
        }
        sh_sleep_ms(20000);
        _exit(0);
    }
    if (!strcmp(mode, "alternate")) {            /* usage, Sentry, usage, ... each sent on its own */
        for (i = 0; i < n; i++) {
            telemetry_report_usage();
            sh_sleep_ms(40);
            telemetry_capture_message(TELEMETRY_LEVEL_INFO, "alternate %d", i);
            sh_sleep_ms(40);
        }
        telemetry_shutdown();
        return 0;
    }
    if (!strcmp(mode, "slowsentry")) {           /* prints how long shutdown took */
        double t0;
        telemetry_capture_message(TELEMETRY_LEVEL_INFO, "first");
        telemetry_capture_message(TELEMETRY_LEVEL_INFO, "second");
        telemetry_report_usage();
        t0 = sh_now_ms();
        telemetry_shutdown();
        printf("%.1f\n", sh_now_ms() - t0);
        return 0;
    }
    if (!strcmp(mode, "errcrash")) {
        telemetry_capture_error("SetupError", "the error just before the crash");
        if (cfg.no_sidecar) {
            /* thread mode: the worker is made to rewrite the session file again and again right
               up to the crash, so the crash lands at every phase of a rewrite */
            unsigned char r = 0;
            telemetry__os_entropy(&r, 1);
            for (i = 0; i < 20 + r % 40; i++) {
                telemetry__lock(&telemetry__state_lock);
                telemetry__note_session(1);
                telemetry__unlock(&telemetry__state_lock);
                if (i % 4 == 0) sh_sleep_ms(0.05 * (r % 8));
            }
        }
        *(volatile int *)(uintptr_t)(argc * 4) = 1;   /* argc is small: an aligned null-page write */
        return 0;
    }
    if (!strcmp(mode, "cli") || !strcmp(mode, "events") || !strcmp(mode, "fill")) {
        if (!strcmp(mode, "cli")) telemetry_report_usage();
        for (i = 0; i < (n ? n : 1); i++) telemetry_capture_message(TELEMETRY_LEVEL_INFO, "event %d of %d", i, n);
        telemetry_shutdown();
        return 0;
    }
    if (!strcmp(mode, "lifetime")) {             /* stdout is a pipe the parent reads to EOF */
        int st;
        pid_t r;
        telemetry_capture_message(TELEMETRY_LEVEL_INFO, "lifetime");
        printf("hello\n");
        fflush(stdout);
        r = waitpid(-1, &st, WNOHANG);           /* the sidecar is never our child */
        st = r < 0 && errno == ECHILD ? 0 : 9;
        telemetry_shutdown();
        return st;
    }
    if (!strcmp(mode, "revoke")) {               /* argv[6] unused: crash after revocation? */
        telemetry_capture_message(TELEMETRY_LEVEL_INFO, "before revocation");
        telemetry_capture_error("E", "before revocation");
        sh_sleep_ms(300);                        /* the sidecar is in a request that hangs */
        telemetry_set_consent(0);
        sh_sleep_ms(1500);
        if (argc > 6 && !strcmp(argv[6], "crash")) *(volatile int *)(uintptr_t)(argc * 4) = 1;
        telemetry_shutdown();
        return 0;
    }
    if (!strcmp(mode, "relative")) {             /* state_dir and ca_file relative to the folder */
        cfg.state_dir = "state";
        cfg.ca_file = "ca.pem";
        telemetry_shutdown();                    /* (the first init above used the absolute one) */
        if (chdir(state) != 0 || telemetry_init(&cfg) != TELEMETRY_OK) return 5;
        if (chdir("/") != 0) return 6;           /* the program moves on: nothing follows it */
        telemetry_capture_message(TELEMETRY_LEVEL_INFO, "relative paths");
        telemetry_shutdown();
        return 0;
    }
    if (!strcmp(mode, "fsize")) {                /* a 4 KiB file size limit: never SIGXFSZ */
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = 4096;
        setrlimit(RLIMIT_FSIZE, &rl);
        for (i = 0; i < 50; i++) telemetry_capture_message(TELEMETRY_LEVEL_INFO, "limited %d %0200d", i, 0);
        telemetry_shutdown();
        return 0;
    }
    return 4;
}

/* ---- the parent's side ----------------------------------------------------------------------- */
static pid_t run(const char *mode, const char *state, const char *n, const char *extra, const char *out) {
    char *argv[9];
    argv[0] = (char *)self_path; argv[1] = (char *)"--child"; argv[2] = (char *)mode; argv[3] = (char *)state;
    argv[4] = dsn; argv[5] = usage_url; argv[6] = (char *)n; argv[7] = (char *)extra; argv[8] = NULL;
    return sh_spawn(argv, out);
}
static int run_wait(const char *mode, const char *state, const char *n, const char *extra) {
    int st = sh_reap(run(mode, state, n, extra, NULL), 30000);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
/* The record file keeps every run's requests: a test counts only what came after its start. */
static size_t record_from;
static void record_mark(const sink *s) {
    char *rec = sh_read_file(s->record);
    record_from = strlen(rec);
    free(rec);
}
static long record_count(const sink *s, const char *needle) {
    char *rec = sh_read_file(s->record);
    long n = strlen(rec) >= record_from ? sh_count_substr(rec + record_from, needle) : 0;
    free(rec);
    return n;
}
/* Waits at most ms until the record holds want lines with needle. */
static int wait_record(const sink *s, const char *needle, long want, double ms) {
    double end = sh_now_ms() + ms;
    while (record_count(s, needle) < want && sh_now_ms() < end) sh_sleep_ms(20);
    return record_count(s, needle) >= want;
}
static int segments(const char *dir) {
    char path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof path, "%s/outbox", dir);
    if (!(d = opendir(path))) return 0;
    while ((e = readdir(d)) != NULL) if (strstr(e->d_name, ".seg")) n++;
    closedir(d);
    return n;
}
/* Sidecars of this test still alive. The test is the child subreaper (main): the sidecars of the
   runs it starts become its children when their first fork exits, so other programs' sidecars on
   the machine are never counted. A sidecar (and its first fork) runs in a session of its own; the
   runs the test starts stay in the test's. Exited ones are reaped here (the first fork has no exit signal:
   __WCLONE). */
static int sidecars_alive(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    char path[300], line[512];
    while (d && (e = readdir(d)) != NULL) {
        FILE *f;
        char *p, state;
        int pid, ppid, pgrp, session, st;
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r"))) continue;
        p = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
        fclose(f);
        pid = atoi(e->d_name);
        if (!p || sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4) continue;
        if (ppid != (int)getpid() || session == (int)getsid(0)) continue;
        if (state == 'Z') {
            if (waitpid(pid, &st, WNOHANG) <= 0) waitpid(pid, &st, WNOHANG | (int)__WCLONE);
            continue;
        }
        n++;
    }
    if (d) closedir(d);
    return n;
}
static void wait_sidecars_gone(double ms) {
    double end = sh_now_ms() + ms;
    while (sidecars_alive() && sh_now_ms() < end) sh_sleep_ms(20);
}

/* A test's start: the last test's sidecars are gone, the receiver's counters zero and its record
   counted from here; a fresh state folder. */
static char *begin_test(sink *s) {
    wait_sidecars_gone(10000);
    CHECK(sink_reset(s));
    record_mark(s);
    return make_temp_dir();
}

/* exit(2) without telemetry_shutdown: the report and the exited session arrive (no next run). */
static void test_exit_without_shutdown(sink *s) {
    char *dir = begin_test(s);
    CHECK_INT(run_wait("exit", dir, NULL, NULL), 2);
    CHECK(sink_wait_stat(s, "firebase_writes", 1, 5000));
    CHECK(sink_wait_stat(s, "events", 1, 5000));
    CHECK(wait_record(s, "\"status\":\"exited\"", 1, 5000));
    CHECK_INT(record_count(s, "\"status\":\"abnormal\""), 0);
    wait_sidecars_gone(5000);
    printf("test_delivery: exit(2) without shutdown: report, event and exited session arrived, no next run\n");
    rm_tree(dir);
}

/* SIGKILL at a random instant of a flood: every captured payload and an abnormal session arrive
   without a next run. */
static void test_sigkill_flood(sink *s) {
    char *dir = make_temp_dir(), prog[600], *rec;
    pid_t pid;
    int done = 0, fd, i, missing = 0;
    double kill_after = 30 + (double)(sh_wall_ms() % 120);
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    snprintf(prog, sizeof prog, "%s/progress", dir);
    pid = run("flood", dir, "3000", prog, NULL);
    for (i = 0; i < 2000; i++) {                                  /* the flood has begun */
        fd = open(prog, O_RDONLY);
        if (fd >= 0) { if (read(fd, &done, sizeof done) != (ssize_t)sizeof done) done = 0; close(fd); }
        if (done > 0) break;
        sh_sleep_ms(5);
    }
    done = 0;
    sh_sleep_ms(kill_after);
    kill(pid, SIGKILL);
    sh_reap(pid, 5000);
    fd = open(prog, O_RDONLY);
    if (fd >= 0) { if (read(fd, &done, sizeof done) != (ssize_t)sizeof done) done = 0; close(fd); }
    CHECK(done > 0);
    CHECK(sink_wait_stat(s, "events", done, 10000));
    CHECK(wait_record(s, "\"status\":\"abnormal\"", 1, 5000));
    {
        char *all = sh_read_file(s->record);
        rec = strdup(all + (strlen(all) >= record_from ? record_from : 0));
        free(all);
    }
    for (i = 0; i < done; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "\"flood %d\"", i);
        if (!strstr(rec, needle)) missing++;
    }
    CHECK_INT(missing, 0);
    CHECK_INT(sh_count_substr(rec, "\"status\":\"abnormal\""), 1);
    free(rec);
    {
        char *stats = sink_stats(s);
        CHECK_INT(sh_map_summarize(stats, "event_ids").max, 1);        /* none twice */
        free(stats);
    }
    wait_sidecars_gone(5000);
    printf("test_delivery: SIGKILL %.0f ms into a flood: all %d captured events and one abnormal session arrived, no next run\n",
           kill_after, done);
    rm_tree(dir);
}

/* An error just before a crash, 50 times: the error, the crash, the session's start and one
   crashed end arrive each time, within 5 s, with no next run; never abnormal. */
static void test_error_then_crash(sink *s, int rounds) {
    int r, late = 0, twice = 0, wrong = 0;
    double worst = 0;
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    for (r = 0; r < rounds; r++) {
        char *dir = make_temp_dir();
        double t0;
        int st = run_wait("errcrash", dir, NULL, NULL);
        t0 = sh_now_ms();
        if (st != 128 + SIGSEGV) wrong++;
        if (!wait_record(s, "\"status\":\"crashed\"", r + 1, 5000) || !wait_record(s, "\"level\":\"fatal\"", r + 1, 5000)) late++;
        if (sh_now_ms() - t0 > worst) worst = sh_now_ms() - t0;
        rm_tree(dir);
    }
    sh_sleep_ms(300);
    if (record_count(s, "\"status\":\"crashed\"") != rounds) twice++;
    CHECK_INT(wrong, 0);
    CHECK_INT(late, 0);
    CHECK_INT(twice, 0);
    CHECK_INT(record_count(s, "\"status\":\"abnormal\""), 0);         /* each session ends once */
    CHECK_INT(record_count(s, "the error just before the crash"), rounds);
    CHECK_INT(record_count(s, "\"init\":true"), rounds);
    CHECK_INT(sink_stat(s, "events"), 2 * rounds);
    wait_sidecars_gone(5000);
    printf("test_delivery: %d crashes after an error: each error, crash, session start and one crashed end arrived "
           "(slowest %.0f ms after the crash), never abnormal\n", rounds, worst);
}

/* The same in thread mode (cfg.no_sidecar), where the crash handler and the worker both touch the
   session file: the crashing run leaves its crash in the store, and a next run (thread mode too,
   one event) sends it. Each crashed session ends exactly once, as crashed, never abnormal, and
   the next run's own session ends once, as exited. */
static void test_error_then_crash_thread(sink *s, int rounds) {
    int r, wrong = 0, late = 0;
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    for (r = 0; r < rounds; r++) {
        char *dir = make_temp_dir();
        if (run_wait("errcrash", dir, "thread", NULL) != 128 + SIGSEGV) wrong++;
        if (run_wait("events", dir, "1", "thread") != 0) wrong++;
        if (!wait_record(s, "\"status\":\"exited\"", r + 1, 5000)) late++;
        rm_tree(dir);
    }
    sh_sleep_ms(300);
    CHECK_INT(wrong, 0);
    CHECK_INT(late, 0);
    CHECK_INT(record_count(s, "\"status\":\"crashed\""), rounds);
    CHECK_INT(record_count(s, "\"status\":\"abnormal\""), 0);     /* each session ends once */
    CHECK_INT(record_count(s, "\"status\":\"exited\""), rounds);
    CHECK_INT(record_count(s, "\"level\":\"fatal\""), rounds);
    CHECK_INT(record_count(s, "the error just before the crash"), rounds);
    CHECK_INT(record_count(s, "\"init\":true"), 2 * rounds);
    CHECK_INT(sink_stat(s, "events"), 3 * rounds);
    printf("test_delivery: thread mode, %d crashes after an error while the worker rewrites the session file: each crashed "
           "session ended once, as crashed, never abnormal (the next run sent the crash)\n", rounds);
}

/* Thread mode with usage and Sentry on two receivers (two hosts, as in real use): one worker per
   endpoint, each keeping its own connection alive, and shutdown sending to both at once within
   its bound. */
static void test_thread_endpoints(sink *s) {
    sink b;                                                       /* the Sentry side */
    char *dir = make_temp_dir(), out[600], *text;
    static const char *const extra[] = { "--sentry-key", KEY, "--firebase-auth", TOKEN, "--quiet", NULL };
    long conns_usage, conns_sentry;
    double took = 1e9;
    int rounds = 5;
    char rounds_text[16];
    if (sink_start(&b, extra) != 0) { CHECK(0); return; }
    snprintf(usage_url, sizeof usage_url, "http://127.0.0.1:%d/d/app.json?auth=" TOKEN, s->http);
    snprintf(dsn, sizeof dsn, "http://" KEY "@127.0.0.1:%d/7", b.http);
    /* keep-alive per endpoint: usage and Sentry alternate, each payload on its own */
    CHECK(sink_reset(s));
    CHECK(sink_reset(&b));
    snprintf(rounds_text, sizeof rounds_text, "%d", rounds);
    CHECK_INT(run_wait("alternate", dir, rounds_text, NULL), 0);
    CHECK_INT(sink_stat(s, "firebase_writes"), rounds);
    CHECK_INT(sink_stat(&b, "events"), rounds);
    conns_usage = sink_stat(s, "connections") - 2;                /* minus the 2 stats requests */
    conns_sentry = sink_stat(&b, "connections") - 2;
    CHECK_INT(conns_usage, 1);
    CHECK_INT(conns_sentry, 1);
    printf("test_delivery: thread mode, %d usage reports and %d events alternating to two receivers: %ld connection(s) "
           "to the usage one, %ld to Sentry's\n", rounds, rounds, conns_usage, conns_sentry);
    /* shutdown with Sentry slow (800 ms an answer) and usage fast, bound 1000 ms: the usage
       report and the session (with the first event) arrive, the second event is not begun (it
       could not end in time: it waits in the store), and shutdown keeps its bound */
    rm_tree(dir);
    dir = make_temp_dir();
    CHECK(sink_reset(s));
    CHECK(sink_reset(&b));
    record_mark(&b);
    CHECK(sink_mode(&b, "m=delay&ms=800"));
    snprintf(out, sizeof out, "%s.out", dir);
    CHECK_INT(sh_reap(run("slowsentry", dir, NULL, NULL, out), 10000), 0);
    text = sh_read_file(out);
    if (sscanf(text, "%lf", &took) != 1) took = 1e9;
    free(text);
    unlink(out);
    CHECK_INT(sink_stat(s, "firebase_writes"), 1);               /* arrived before shutdown returned */
    CHECK(wait_record(&b, "\"init\":true", 1, 2000));
    CHECK_INT(record_count(&b, "\"first\""), 1);
    sh_sleep_ms(1000);
    CHECK_INT(record_count(&b, "\"second\""), 0);                /* not begun: 800 ms did not fit */
    CHECK(took < 1050.0 + sh_grace());
    CHECK(took > 700.0);                                          /* it did wait for the first event */
    CHECK(segments(dir) >= 1);                                    /* the rest waits for the next run */
    printf("test_delivery: thread-mode shutdown, Sentry answering after 800 ms, usage fast, bound 1000 ms: usage report "
           "and session arrived, shutdown took %.0f ms, the request that could not end in time was not begun\n", took);
    CHECK(sink_mode(&b, "m=ok"));
    sink_stop(&b);
    set_urls(s->http);
    rm_tree(dir);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
/* One run of the short tool: its wall time and its own CPU time (the sidecar is not its child,
   so not counted: it is not the program's cost). */
static void run_cli(const char *dir, double *wall, double *cpu) {
    struct rusage ru;
    int st;
    double t0 = sh_now_ms();
    pid_t pid = run("cli", dir, NULL, NULL, NULL);
    memset(&ru, 0, sizeof ru);
    wait4(pid, &st, 0, &ru);
    *wall = sh_now_ms() - t0;
    *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}
/* A short tool against a server answering after 150 ms: telemetry adds < 5 ms of the program's
   own CPU time and no wait for the server (median wall time added < 50 ms: the first design
   added 459 ms), and all its payloads arrive within 3 s. Medians of 20 alternating pairs. */
static void test_short_tool(sink *s) {
    double added[20], added_cpu[20], on_ms, off_ms, on_cpu, off_cpu, med, med_cpu;
    int i, late = 0;
    wait_sidecars_gone(10000);
    CHECK(sink_reset(s));
    record_mark(s);
    CHECK(sink_mode(s, "m=delay&ms=150"));
    for (i = 0; i < 20; i++) {
        char *dir = make_temp_dir();
        long ev0 = sink_stat(s, "events"), fb0 = sink_stat(s, "firebase_writes");
        run_cli(dir, &on_ms, &on_cpu);
        setenv("DO_NOT_TRACK", "1", 1);
        run_cli(dir, &off_ms, &off_cpu);
        unsetenv("DO_NOT_TRACK");
        added[i] = on_ms - off_ms;
        added_cpu[i] = on_cpu - off_cpu;
        if (!sink_wait_stat(s, "events", ev0 + 1, 3000) || !sink_wait_stat(s, "firebase_writes", fb0 + 1, 3000)) late++;
        rm_tree(dir);
    }
    CHECK(sink_mode(s, "m=ok"));
    qsort(added, 20, sizeof added[0], cmp_double);
    qsort(added_cpu, 20, sizeof added_cpu[0], cmp_double);
    med = (added[9] + added[10]) / 2;
    med_cpu = (added_cpu[9] + added_cpu[10]) / 2;
    CHECK(med_cpu < 5.0 * sh_slow());
    CHECK(med < 50.0 * sh_slow());
    CHECK_INT(late, 0);
    wait_sidecars_gone(5000);
    printf("test_delivery: short tool, server answers after 150 ms: telemetry adds %.2f ms of the program's CPU and %.2f ms of "
           "wall time (medians of 20; wall min %.2f, max %.2f), every run's payloads arrived within 3 s\n", med_cpu, med, added[0],
           added[19]);
}

/* The sidecar: never holds the program's stdout, never its child, gone within its bound after
   the program even when the server hangs. */
static void test_lifetime(sink *s) {
    char *dir = make_temp_dir(), buf[64];
    int p[2], st;
    pid_t pid;
    double t_exit, t_eof;
    ssize_t n;
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    CHECK(sink_mode(s, "m=hang"));
    CHECK(pipe(p) == 0);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        char *argv[8];
        dup2(p[1], 1);
        close(p[0]); close(p[1]);
        argv[0] = (char *)self_path; argv[1] = (char *)"--child"; argv[2] = (char *)"lifetime"; argv[3] = dir;
        argv[4] = dsn; argv[5] = usage_url; argv[6] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    while ((n = read(p[0], buf, sizeof buf)) > 0) {}
    t_eof = sh_now_ms();
    st = sh_reap(pid, 5000);
    t_exit = sh_now_ms();
    close(p[0]);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);                 /* waitpid(-1) found no child */
    CHECK(t_exit - t_eof < 1000);                                 /* EOF came with the exit */
    CHECK(sidecars_alive() >= 1);                                 /* still trying (server hangs) */
    {
        double t0 = sh_now_ms();
        wait_sidecars_gone(LIFETIME_MS + 3000);
        CHECK_INT(sidecars_alive(), 0);
        printf("test_delivery: sidecar: the program's stdout saw EOF at its exit, waitpid(-1) found no child, the sidecar "
               "was gone %.0f ms after the program (bound %d ms, server hanging)\n", sh_now_ms() - t0 + (t_exit - t_eof),
               LIFETIME_MS);
    }
    CHECK(sink_mode(s, "m=ok"));
    rm_tree(dir);
}

/* 8 runs at once on one state folder, 100 events each: exactly 800 events, none twice. */
static void test_concurrent(sink *s) {
    char *dir = make_temp_dir();
    pid_t pids[8];
    int i;
    char *st;
    sh_map_summary ev;
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    for (i = 0; i < 8; i++) pids[i] = run("events", dir, "100", NULL, NULL);
    for (i = 0; i < 8; i++) sh_reap(pids[i], 30000);
    CHECK(sink_wait_stat(s, "events", 800, 20000));
    wait_sidecars_gone(10000);
    st = sink_stats(s);
    ev = sh_map_summarize(st, "event_ids");
    CHECK_INT(sink_stat(s, "events"), 800);
    CHECK_INT(ev.entries, 800);
    CHECK_INT(ev.max, 1);
    CHECK_INT(segments(dir), 0);
    free(st);
    printf("test_delivery: 8 concurrent runs x 100 events on one state folder: %ld events, %ld distinct, none twice, store empty\n",
           ev.sum, ev.entries);
    rm_tree(dir);
}

/* One init's time in a fresh process (median of 5 runs): sidecar mode, or "thread". */
static double init_ms(const char *dir, const char *how, double *wall) {
    char out[600], *text;
    double t[5], w[5];
    int i;
    snprintf(out, sizeof out, "%s.inittime", dir);
    for (i = 0; i < 5; i++) {
        unlink(out);
        sh_reap(run("inittime", dir, how, NULL, out), 10000);
        text = sh_read_file(out);
        t[i] = w[i] = 1e9;
        if (sscanf(text, "%lf %lf", &t[i], &w[i]) != 2) t[i] = w[i] = 1e9;
        free(text);
    }
    unlink(out);
    qsort(t, 5, sizeof t[0], cmp_double);
    qsort(w, 5, sizeof w[0], cmp_double);
    *wall = w[2];
    return t[2];
}
/* init is O(1) in what is queued: with 20,000 payloads it takes no longer than with none, and
   under 2 ms on the caller's thread in thread mode (the sidecar's fork is measured beside). */
static void test_init_queued(void) {
    char *dir = make_temp_dir(), *empty = make_temp_dir();
    char saved_dsn[256];
    double full_thread, empty_thread, full_sidecar, empty_sidecar, w_full_thread, w_empty_thread, w_full_sidecar, w_empty_sidecar;
    int queued;
    snprintf(saved_dsn, sizeof saved_dsn, "%s", dsn);
    snprintf(dsn, sizeof dsn, "http://" KEY "@127.0.0.1:1/7");   /* nobody answers (a free ephemeral port may not stay free) */
    CHECK_INT(run_wait("fill", dir, "20000", NULL), 0);
    queued = outbox_files(dir);
    CHECK(queued >= 20000);
    full_thread = init_ms(dir, "thread", &w_full_thread);
    empty_thread = init_ms(empty, "thread", &w_empty_thread);
    full_sidecar = init_ms(dir, "-", &w_full_sidecar);
    empty_sidecar = init_ms(empty, "-", &w_empty_sidecar);
    /* CPU time of the calling thread: what init costs the program, whatever the machine's load */
    CHECK(full_thread < 2.0 * sh_slow());
    CHECK(full_sidecar < 2.0 * sh_slow());
    CHECK(full_thread < empty_thread + 0.5 * sh_slow());
    CHECK(full_sidecar < empty_sidecar + 0.5 * sh_slow());
    printf("test_delivery: init with %d payloads queued, CPU of the calling thread (wall): thread mode %.3f ms (%.3f), "
           "with none %.3f ms (%.3f); sidecar mode %.3f ms (%.3f), with none %.3f ms (%.3f); medians of 5\n", queued,
           full_thread, w_full_thread, empty_thread, w_empty_thread, full_sidecar, w_full_sidecar, empty_sidecar, w_empty_sidecar);
    snprintf(dsn, sizeof dsn, "%s", saved_dsn);
    wait_sidecars_gone(1000);
    rm_tree(dir);
    rm_tree(empty);
}

/* 10,000 events back to back with the server up: all delivered, the program's peak RSS small. */
static void test_burst(sink *s) {
    char *dir = make_temp_dir();
    struct rusage ru;
    int st = 0;
    pid_t pid;
    double t0 = sh_now_ms();
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    pid = run("events", dir, "10000", NULL, NULL);
    memset(&ru, 0, sizeof ru);
    CHECK(wait4(pid, &st, 0, &ru) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(sink_wait_stat(s, "events", 10000, 180000 * sh_slow()));   /* one request each: ~14 s on an idle 2-core machine */
    {
        char *stats = sink_stats(s);
        CHECK_INT(sh_map_summarize(stats, "event_ids").max, 1);
        free(stats);
    }
    if (!SH_SANITIZED) CHECK(ru.ru_maxrss < 16 * 1024);        /* the sanitizers' own memory is no measure */
    printf("test_delivery: 10,000 events back to back: %ld delivered in %.0f ms, the program's peak RSS %ld KB\n",
           sink_stat(s, "events"), sh_now_ms() - t0, ru.ru_maxrss);
    wait_sidecars_gone(10000);
    rm_tree(dir);
}

/* Revocation while a request hangs: no new connection after it, the store and the session file
   are gone and stay gone, and a crash after it writes nothing. */
static void test_revoke(sink *s, int crash) {
    char *dir = make_temp_dir(), path[600];
    long conns;
    int rc;
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    CHECK(sink_mode(s, "m=hang"));
    rc = run_wait("revoke", dir, crash ? "crash" : "-", NULL);
    CHECK_INT(rc, crash ? 128 + SIGSEGV : 0);
    conns = sink_stat(s, "connections");
    sh_sleep_ms(1500);
    CHECK(sink_stat(s, "connections") - conns <= 1);             /* nothing more was tried (1: this stat request) */
    snprintf(path, sizeof path, "%s/outbox", dir);
    CHECK(!path_exists(path));
    snprintf(path, sizeof path, "%s/session", dir);
    CHECK(!path_exists(path));
    snprintf(path, sizeof path, "%s/install_id", dir);
    CHECK(!path_exists(path));
    CHECK_INT(sidecars_alive(), 0);
    CHECK(sink_mode(s, "m=ok"));
    printf("test_delivery: revocation while a request hangs%s: %ld connection(s) before, none after, no store, no session "
           "file, no sidecar\n", crash ? ", then a crash" : "", conns);
    rm_tree(dir);
}

/* A file size limit below a segment: the program is never killed by SIGXFSZ. */
static void test_fsize(sink *s) {
    char *dir = begin_test(s);
    CHECK_INT(run_wait("fsize", dir, NULL, NULL), 0);
    CHECK(sink_wait_stat(s, "events", 1, 5000));
    wait_sidecars_gone(5000);
    printf("test_delivery: RLIMIT_FSIZE 4 KiB: the program ended normally, %ld events delivered before the limit\n",
           sink_stat(s, "events"));
    rm_tree(dir);
}

/* A record larger than the disk cap (a planted 1 GiB sparse one): skipped without being read;
   the records after it are delivered. */
static void test_oversized_record(sink *s) {
    char *dir = make_temp_dir(), path[600];
    unsigned char h[40];
    int fd;
    struct rusage ru;
    int st = 0;
    pid_t pid;
    wait_sidecars_gone(10000);                                    /* the last test's are done */
    CHECK(sink_reset(s));
    record_mark(s);
    snprintf(path, sizeof path, "%s/outbox", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/outbox/0000000000001-1-00000000.seg", dir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    memset(h, 0, sizeof h);
    memcpy(h, "TLR1", 4);
    h[4] = 0; h[5] = 0; h[6] = 0; h[7] = 0x40;                  /* 1 GiB */
    h[12] = 1; h[13] = 1;
    CHECK(fd >= 0 && write(fd, h, sizeof h) == (ssize_t)sizeof h);
    CHECK(ftruncate(fd, (off_t)(1u << 30) + 40) == 0);
    close(fd);
    pid = run("events", dir, "3", NULL, NULL);
    CHECK(wait4(pid, &st, 0, &ru) == pid);
    CHECK(sink_wait_stat(s, "events", 3, 5000));
    wait_sidecars_gone(5000);
    CHECK(!path_exists(path));                                    /* done with, and removed */
    printf("test_delivery: a planted 1 GiB record: skipped unread, the run's 3 events delivered, program RSS %ld KB\n", ru.ru_maxrss);
    rm_tree(dir);
}

/* A relative state_dir and ca_file (HTTPS) work for the sidecar, which runs in "/", and after
   the program changes folder: init makes them absolute. */
static void test_relative_paths(sink *s) {
    char *dir = make_temp_dir(), path[600], https_dsn[256], *pem = sh_read_file("tests/certs/ca.pem"), *argv[9];
    FILE *f;
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    CHECK(pem != NULL && (f = fopen(path, "w")) != NULL && fputs(pem, f) >= 0 && fclose(f) == 0);
    snprintf(https_dsn, sizeof https_dsn, "https://" KEY "@127.0.0.1:%d/7", s->https);
    wait_sidecars_gone(10000);
    CHECK(sink_reset(s));
    record_mark(s);
    argv[0] = (char *)self_path; argv[1] = (char *)"--child"; argv[2] = (char *)"relative"; argv[3] = dir;
    argv[4] = https_dsn; argv[5] = (char *)"-"; argv[6] = argv[7] = NULL;
    CHECK_INT(sh_reap(sh_spawn(argv, NULL), 30000), 0);
    CHECK(wait_record(s, "relative paths", 1, 5000));
    snprintf(path, sizeof path, "%s/state/outbox", dir);
    CHECK(access(path, F_OK) == 0);                          /* the store is in <dir>/state */
    wait_sidecars_gone(5000);
    printf("test_delivery: relative state_dir and ca_file: the event arrived over HTTPS from the sidecar\n");
    free(pem);
    rm_tree(dir);
}

/* A ".seg.new" whose maker died between create and rename: removed by the sender once it is an
   hour old (by the time in its name); a young one (a crash handler writing it now) stays. */
static void test_stale_new(sink *s) {
    char *dir = make_temp_dir(), outbox[600], old_new[700], young_new[700];
    long long now = (long long)time(NULL) * 1000;
    FILE *f;
    snprintf(outbox, sizeof outbox, "%s/outbox", dir);
    CHECK(mkdir(outbox, 0700) == 0);
    snprintf(old_new, sizeof old_new, "%s/%013lld-1-00000000.seg.new", outbox, now - 7200000);
    snprintf(young_new, sizeof young_new, "%s/%013lld-2-00000000.seg.new", outbox, now - 60000);
    CHECK((f = fopen(old_new, "w")) != NULL && fclose(f) == 0);
    CHECK((f = fopen(young_new, "w")) != NULL && fclose(f) == 0);
    wait_sidecars_gone(10000);
    CHECK(sink_reset(s));
    record_mark(s);
    CHECK_INT(run_wait("events", dir, "1", NULL), 0);
    CHECK(sink_wait_stat(s, "events", 1, 5000));
    wait_sidecars_gone(5000);
    CHECK(access(old_new, F_OK) != 0);                       /* the abandoned one went */
    CHECK(access(young_new, F_OK) == 0);                     /* the young one stayed */
    printf("test_delivery: an abandoned .seg.new two hours old was removed, one a minute old kept\n");
    rm_tree(dir);
}

/* TEST_ONLY=name,name runs only those parts (while debugging one). */
static int want(const char *name) {
    const char *only = getenv("TEST_ONLY");
    return !only || strstr(only, name) != NULL;
}

int main(int argc, char **argv) {
    static const char *const extra[] = { "--sentry-key", KEY, "--firebase-auth", TOKEN, "--quiet", NULL };
    sink s;
    double t0 = sh_now_ms();
    int emulated;
    if (argc >= 6 && strcmp(argv[1], "--child") == 0) return child(argc, argv);
    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);   /* the runs' sidecars end up as our children */
    unsetenv("DO_NOT_TRACK");
    unsetenv("DELIVERY_NO_TELEMETRY");
    unsetenv("TELEMETRY_DEBUG");
    unsetenv("TELEMETRY_NO_SIDECAR");
    unsetenv("https_proxy"); unsetenv("HTTPS_PROXY"); unsetenv("http_proxy"); unsetenv("HTTP_PROXY");
    self_path = sh_self_path(argv[0]);
    sh_find_sink(argv[0]);
    atexit(sh_stop_all);
    if (sink_start(&s, extra) != 0) { CHECK(0); return testlib_report("test_delivery"); }
    set_urls(s.http);
    /* Under qemu-user the emulator's own thread is in every process, so every run takes thread
       mode (a program with threads at init never forks): the sidecar's parts, the timing and the
       scale run natively only; what holds in thread mode runs here too. */
    emulated = sh_emulated();
    if (emulated)
        printf("test_delivery: emulated (qemu-user): every run is in thread mode; the sidecar, timing and scale parts "
               "are skipped here (they run natively)\n");
    if (want("exit_without_shutdown")) test_exit_without_shutdown(&s);
    if (want("sigkill_flood") && !emulated) test_sigkill_flood(&s);
    if (want("error_then_crash") && !emulated) test_error_then_crash(&s, 50);
    if (want("thread_crash")) test_error_then_crash_thread(&s, emulated ? 10 : 50);
    if (want("thread_endpoints") && !emulated) test_thread_endpoints(&s);
    if (want("short_tool") && !emulated) test_short_tool(&s);
    if (want("lifetime") && !emulated) test_lifetime(&s);
    if (want("concurrent") && !emulated) test_concurrent(&s);
    if (want("init_queued") && !emulated) test_init_queued();
    if (want("burst") && !emulated) test_burst(&s);
    if (want("revoke")) test_revoke(&s, 0);
    if (want("revoke")) test_revoke(&s, 1);
    if (want("relative_paths")) test_relative_paths(&s);
    if (want("stale_new")) test_stale_new(&s);
    if (want("fsize")) test_fsize(&s);
    if (want("oversized_record")) test_oversized_record(&s);
    sink_stop(&s);
    printf("test_delivery: total %.0f ms\n", sh_now_ms() - t0);
    return testlib_report("test_delivery");
}
