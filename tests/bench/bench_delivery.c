/* bench_delivery.c - delivery (issue 10: the durable store and the sidecar sender) under a bad
   server, a dead server and a backlog. Every run is a fresh process (this program started again
   with --child): the sidecar is forked only by a single-threaded program, and a program's peak
   RSS is its own.

   Issue 10's bounds: "with the sidecar, telemetry_shutdown returns in under 1 ms"; "in thread
   mode shutdown keeps its bound" (the earlier issue: within shutdown_timeout_ms + 50 ms; told not
   to wait, TELEMETRY_NO_WAIT, within 5 ms); the store is "bounded by outbox_disk_bytes counted in
   real bytes on disk"; "drops only when the disk cap is hit, counted exactly". Earlier targets
   printed beside (not issue 10's, not enforced): 5 us per capture; draining a backlog at 2,000
   events/s or more. The short tool against a 150 ms server is measured by tests/test_delivery.c
   (run.sh runs it and prints its figure against the 5 ms bound).

   (a) The sink in `hang` mode. Each run: init (sidecar, or thread with cfg.no_sidecar), capture
       one event, wait until the sink holds that request (so a request is really in progress),
       optionally BENCH_BURST (999) more captures, then time telemetry_shutdown. Sidecar mode with
       the default bound; thread mode with shutdown_timeout_ms = 500 and with TELEMETRY_NO_WAIT.
       BENCH_SHUTDOWN_RUNS (10) runs each, BENCH_BURST_RUNS (5) with the burst; median and max
       (and the calling thread's CPU time);
       the verdict is the median's (a shared machine's scheduler makes single runs late). After a
       burst: the events still in the store for the next run's sender (the store is durable).
   (b) The server down (a loopback port that refuses). BENCH_CAPTURES (10,000) captures, each
       timed (one writev each, on the caller's thread); the program's peak RSS (getrusage); the
       store's real bytes on disk (st_blocks of outbox/ *.seg) against the cap; the records
       appended and dropped at the cap (the library's counters). Then, with the sink up, the next
       run (its sidecar sends what is in the store): captured = delivered + dropped and reported
       (client reports, category "error"), exactly.
   (c) A backlog of BENCH_BACKLOG (1,000) events left by a run whose server was down; the next
       run's sidecar drains it (telemetry_flush is that run's first work): while that run waits
       in telemetry_flush (done when it returns), and after that run ended at once (done when the
       sink counted every event, polled every 50 ms). Events/s from that run's telemetry_init.
       BENCH_DRAIN_RUNS (3) runs each; median. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "bench.h"

#define CA_FILE "tests/certs/ca.pem"

static bench_sink sink;
static int missed;                       /* a bound was missed: exit status 1 */

static const char *verdict(int ok) {
    if (!ok) missed = 1;
    return ok ? "ok" : "MISSED";
}

/* ---- the child: one run of a program using telemetry.h -------------------------------------- */
static void child_init(const char *state_dir, const char *dsn, int sidecar, unsigned shutdown_ms, unsigned lifetime_ms) {
    telemetry_config cfg;
    char ca[4096];
    int64_t t0;
    double c0;
    int rc;
    bench_abs_path(CA_FILE, ca, sizeof ca);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;                   /* these runs are not about the first-run notice */
    cfg.app_name = "benchapp";
    cfg.app_version = "1.0.0";
    cfg.sentry_dsn = dsn;
    cfg.ca_file = ca;
    cfg.state_dir = state_dir;
    cfg.no_crash_handler = 1;
    cfg.no_sidecar = !sidecar;
    cfg.shutdown_timeout_ms = shutdown_ms;
    cfg.sidecar_lifetime_ms = lifetime_ms;
    cfg.timeout_ms = 10000;
    cfg.retry_initial_ms = 100;
    cfg.retry_max_ms = 500;
    put("t_init_ns", (double)bench_ns());
    c0 = thread_cpu_ms();
    t0 = bench_ns();
    rc = telemetry_init(&cfg);
    put("init_ms", (double)(bench_ns() - t0) / 1e6);
    put("init_cpu_ms", thread_cpu_ms() - c0);
    if (rc != 0) { fprintf(stderr, "telemetry_init: %s\n", telemetry_result_string(rc)); exit(2); }
    put("sidecar", telemetry__dl.sidecar);
}
/* telemetry_shutdown's wall time; its CPU time on this thread goes in the results too (on a
   loaded machine the wall time also holds the time spent waiting for a core). */
static double timed_shutdown(void) {
    double c0 = thread_cpu_ms();
    int64_t t0 = bench_ns();
    telemetry_shutdown();
    t0 = bench_ns() - t0;
    put("shutdown_cpu_ms", thread_cpu_ms() - c0);
    return (double)t0 / 1e6;
}

/* argv: --child MODE results state_dir dsn sidecar shutdown_ms lifetime_ms N [sink_http] */
static int child(int argc, char **argv) {
    const char *mode = argv[2], *state_dir = argv[4], *dsn = argv[5];
    int sidecar = atoi(argv[6]), n = atoi(argv[9]), i;
    unsigned shutdown_ms = (unsigned)strtoul(argv[7], NULL, 10), lifetime_ms = (unsigned)strtoul(argv[8], NULL, 10);
    if (!(res = fopen(argv[3], "w"))) return 2;
    if (!strcmp(mode, "hang")) {                 /* (a): n more captures after the held one */
        int port = argc > 10 ? atoi(argv[10]) : 0;
        bench_sink s;
        long faults0;
        memset(&s, 0, sizeof s);
        s.http = port;
        faults0 = bench_sink_stat(&s, "faults");
        child_init(state_dir, dsn, sidecar, shutdown_ms, lifetime_ms);
        telemetry_capture_message(TELEMETRY_LEVEL_WARNING, "hang run");
        put("held", bench_sink_wait(&s, "faults", faults0 + 1, 3000, 2, NULL) >= faults0 + 1);
        for (i = 0; i < n; i++) telemetry_capture_message(TELEMETRY_LEVEL_INFO, "burst %d before shutdown", i);
        put("shutdown_ms", timed_shutdown());
    } else if (!strcmp(mode, "down")) {          /* (b) and (c): n captures, the server down */
        double *us = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof *us);
        long long peak_disk = 0;
        long over5 = 0;
        bench_store st;
        bench_stats s;
        put("rss_before_kb", (double)bench_maxrss_kb());
        child_init(state_dir, dsn, sidecar, shutdown_ms, lifetime_ms);
        for (i = 0; i < n; i++) {
            int64_t a = bench_ns();
            telemetry_capture_message(TELEMETRY_LEVEL_INFO, "offline message %d of %d: %s", i, n, "something happened");
            us[i] = (double)(bench_ns() - a) / 1e3;
            if (us[i] > 5) over5++;
            if (i % 500 == 499) {                /* outside the timed call */
                bench_store_read(&st);
                if (st.disk_bytes > peak_disk) peak_disk = st.disk_bytes;
            }
        }
        bench_store_read(&st);
        if (st.disk_bytes > peak_disk) peak_disk = st.disk_bytes;
        s = bench_summary(us, (size_t)n);
        put("capture_mean_us", s.mean); put("capture_median_us", s.median); put("capture_p90_us", s.p90);
        put("capture_p99_us", s.p99); put("capture_max_us", s.max); put("capture_over5", (double)over5);
        put("appended", (double)st.appended); put("dropped_cap", (double)st.dropped_total);
        put("dropped_cap_error", (double)st.dropped_cap[TELEMETRY__CAT_ERROR]);
        put("disk_bytes", (double)st.disk_bytes); put("disk_peak", (double)peak_disk); put("segments", (double)st.segments);
        put("cap", (double)st.cap);
        if (telemetry__dl.sidecar) {             /* its sidecar holds the folder's lock before we end, */
            int64_t end = bench_ns() + 3000000000LL;   /* so the parent can wait for it to go */
            while (!bench_sender_alive(state_dir) && bench_ns() < end) bench_sleep_ms(1);
        }
        put("shutdown_ms", timed_shutdown());
        put("rss_peak_kb", (double)bench_maxrss_kb());
        free(us);
    } else if (!strcmp(mode, "next")) {          /* (b) and (c): the next run, the server up */
        int64_t t0;
        int rc;
        child_init(state_dir, dsn, sidecar, shutdown_ms, lifetime_ms);
        t0 = bench_ns();
        rc = telemetry_flush((unsigned)n);       /* the run's first work: its sender starts */
        put("flush_ms", (double)(bench_ns() - t0) / 1e6);
        put("flush_rc", rc);
        put("shutdown_ms", timed_shutdown());
    } else {
        return 4;
    }
    fclose(res);
    return 0;
}

/* ---- the parent ------------------------------------------------------------------------------ */
typedef struct run_result { char path[600]; int status; } run_result;

/* Runs one child to its end (at most 120 s). Its results are in r->path. */
static void run_child(run_result *r, const char *mode, const char *state_dir, const char *dsn, int sidecar, unsigned shutdown_ms,
                      unsigned lifetime_ms, long n, int port) {
    char a_sc[16], a_sd[32], a_lt[32], a_n[32], a_port[16];
    pid_t pid;
    int st = 0;
    int64_t end = bench_ns() + 120000000000LL;
    snprintf(r->path, sizeof r->path, "%s.result", state_dir);
    snprintf(a_sc, sizeof a_sc, "%d", sidecar);
    snprintf(a_sd, sizeof a_sd, "%u", shutdown_ms);
    snprintf(a_lt, sizeof a_lt, "%u", lifetime_ms);
    snprintf(a_n, sizeof a_n, "%ld", n);
    snprintf(a_port, sizeof a_port, "%d", port);
    unlink(r->path);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "bench_delivery", "--child", mode, r->path, state_dir, dsn, a_sc, a_sd, a_lt, a_n, a_port, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) { perror("fork"); exit(2); }
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        if (bench_ns() > end) { kill(pid, SIGKILL); waitpid(pid, &st, 0); break; }
        bench_sleep_ms(2);
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (r->status != 0) fprintf(stderr, "bench_delivery: child %s exited with %d\n", mode, r->status);
}
static double got(const run_result *r, const char *key) { return bench_result(r->path, key); }
static void done_with(const char *state_dir, const run_result *r) {
    bench_wait_sender_gone(state_dir, 10000);
    bench_rm_tree(state_dir);
    unlink(r->path);
}

/* ---- (a) shutdown against a hanging server --------------------------------------------------- */
static void shutdown_hang(int sidecar, unsigned shutdown_ms, const char *label, double bound_ms, int runs, int burst) {
    double ms[64], cpu[64], kept[64];
    int r, k = 0, held = 0, within = 0;
    char dsn[256];
    bench_stats s;
    if (runs > 64) runs = 64;
    snprintf(dsn, sizeof dsn, "https://%s@localhost:%d/42", sink.key, sink.https);
    for (r = 0; r < runs; r++) {
        char dir[512];
        run_result rr;
        bench_store_records rec;
        bench_temp_dir(dir, sizeof dir, "hang");
        if (bench_sink_mode(&sink, "m=hang") != 0) { fprintf(stderr, "cannot set the sink's mode\n"); exit(2); }
        run_child(&rr, "hang", dir, dsn, sidecar, shutdown_ms, 300, burst, sink.http);
        if (got(&rr, "held") > 0) held++;
        if (got(&rr, "sidecar") != sidecar) { fprintf(stderr, "bench_delivery: the run was not in %s mode\n", sidecar ? "sidecar" : "thread"); missed = 1; }
        ms[k] = got(&rr, "shutdown_ms");
        cpu[k] = got(&rr, "shutdown_cpu_ms");
        if (ms[k] < 0) ms[k] = 1e9;
        within += ms[k] <= bound_ms;
        bench_sink_mode(&sink, "m=ok");          /* the held request ends; the sidecar sends or goes */
        if (burst) {
            bench_store_scan(dir, 1, &rec);       /* before the sidecar (if any) sends them */
            kept[k] = (double)(rec.unsent + rec.attempted + rec.sent);
        }
        k++;
        done_with(dir, &rr);
    }
    s = bench_summary(ms, (size_t)k);
    printf("  %-30s median %8.3f ms  min %8.3f  max %8.3f  bound %g ms: %s (%d of %d runs within; %d had the request held)\n",
           label, s.median, s.min, s.max, bound_ms, verdict(s.median <= bound_ms), within, k, held);
    printf("BENCH %s_median=%.4g ms (bound %g) %s\n", label, s.median, bound_ms, s.median <= bound_ms ? "ok" : "MISSED");
    bench_emitf(s.max, "ms", "%s_max", label);
    printf("  %-30s the calling thread's CPU time: median %.3f ms\n", "", bench_median(cpu, (size_t)k));
    bench_emitf(bench_median(cpu, (size_t)k), "ms", "%s_cpu_median", label);
    if (burst) {
        double kmed = bench_median(kept, (size_t)k);
        printf("  %-30s %.0f of %d events in the store for the next run's sender (median)\n", "", kmed, burst + 1);
        bench_emitf(kmed, "events", "%s_kept", label);
    }
}

/* ---- (b) the server down, then the next run ------------------------------------------------ */
static void server_down(int n) {
    char dir[512], dsn_down[256], dsn_up[256];
    int closed_fd, port = bench_closed_port(&closed_fd);
    run_result r1, r2;
    long events0, from, conns0;
    double cap, disk, appended, dropped, delivered, told;
    bench_record_scan rs;
    bench_store_records left;
    int64_t at = 0;
    bench_temp_dir(dir, sizeof dir, "down");
    snprintf(dsn_down, sizeof dsn_down, "https://%s@localhost:%d/42", sink.key, port);
    snprintf(dsn_up, sizeof dsn_up, "https://%s@localhost:%d/42", sink.key, sink.https);
    printf("\n-- (b) %d x telemetry_capture_message while the server is down (localhost:%d refuses), sidecar mode\n", n, port);
    events0 = bench_sink_stat(&sink, "events");
    from = bench_file_size(sink.record);
    run_child(&r1, "down", dir, dsn_down, 1, 2000, 1000, n, 0);
    bench_wait_sender_gone(dir, 10000);          /* its sidecar gave up (1 s after the program) */
    close(closed_fd);
    cap = got(&r1, "cap"); disk = got(&r1, "disk_bytes");
    appended = got(&r1, "appended"); dropped = got(&r1, "dropped_cap_error");
    printf("  telemetry_capture_message  mean %6.2f us  median %6.2f us  p90 %6.2f us  p99 %7.2f us  max %8.1f us; %.0f calls over 5 us"
           " (earlier target 5 us, not issue 10's)\n", got(&r1, "capture_mean_us"), got(&r1, "capture_median_us"),
           got(&r1, "capture_p90_us"), got(&r1, "capture_p99_us"), got(&r1, "capture_max_us"), got(&r1, "capture_over5"));
    printf("  program: peak RSS %.0f kB (%.0f kB before telemetry_init; issue 10's 16 MB bound is for the server up, here for reference)\n",
           got(&r1, "rss_peak_kb"), got(&r1, "rss_before_kb"));
    printf("  store: %.0f records appended, %.0f events dropped at the disk cap; %.0f bytes on disk in %.0f segments (peak %.0f), "
           "cap %.0f: %s\n", appended, dropped, disk, got(&r1, "segments"), got(&r1, "disk_peak"), cap,
           verdict(got(&r1, "disk_peak") <= cap + 8192));
    printf("  telemetry_shutdown (sidecar, server down): %.3f ms\n", got(&r1, "shutdown_ms"));
    bench_emit("down_capture_mean", got(&r1, "capture_mean_us"), "us");
    bench_emit("down_capture_median", got(&r1, "capture_median_us"), "us");
    bench_emit("down_capture_p99", got(&r1, "capture_p99_us"), "us");
    bench_emit("down_capture_max", got(&r1, "capture_max_us"), "us");
    bench_emit("down_rss_peak", got(&r1, "rss_peak_kb"), "kB");
    bench_emit("down_dropped_at_cap", dropped, "events");
    printf("BENCH down_store_disk_peak=%.0f bytes (bound %.0f + one 8 KiB of records outside the cap) %s\n", got(&r1, "disk_peak"), cap,
           got(&r1, "disk_peak") <= cap + 8192 ? "ok" : "MISSED");
    bench_emit("down_shutdown", got(&r1, "shutdown_ms"), "ms");

    /* the next run: the sink is up; its sidecar sends what the first left, the client report too,
       while the program waits in telemetry_flush (60 s at most) */
    conns0 = bench_sink_stat(&sink, "connections");
    run_child(&r2, "next", dir, dsn_up, 1, 2000, 30000, 60000, 0);
    bench_sink_wait(&sink, "events", events0 + (long)(n - dropped), 60000, 10, &at);
    bench_wait_sender_gone(dir, 35000);
    delivered = (double)(bench_sink_stat(&sink, "events") - events0);
    bench_record_scan_from(sink.record, from, &rs);
    told = (double)rs.dropped_reported_error;
    bench_store_scan(dir, 1, &left);
    printf("  next run (sink up): init %.3f ms on the calling thread; %.0f events delivered over %ld connections while the "
           "program waited in telemetry_flush (%.0f ms: %.0f events/s), %.0f dropped and reported (client reports: cache_overflow %lld, "
           "send_error %lld); %ld events left unsent in the store\n", got(&r2, "init_ms"), delivered,
           bench_sink_stat(&sink, "connections") - conns0, got(&r2, "flush_ms"),
           got(&r2, "flush_ms") > 0 ? delivered / (got(&r2, "flush_ms") / 1e3) : 0.0, told, rs.dropped_by_reason[1],
           rs.dropped_by_reason[2], left.unsent + left.attempted);
    printf("  accounting: captured %d = delivered %.0f + dropped and reported %.0f: %s (exactly)\n", n, delivered, told,
           verdict((double)n == delivered + told));
    bench_emit("down_next_run_delivered", delivered, "events");
    bench_emit("down_next_run_dropped_reported", told, "events");
    printf("BENCH down_accounting_gap=%.0f events (bound 0) %s\n", (double)n - delivered - told, (double)n == delivered + told ? "ok" : "MISSED");
    done_with(dir, &r2);
    unlink(r1.path);
}

/* ---- (c) draining a backlog ---------------------------------------------------------------- */
/* One backlog of n events, drained by the next run's sidecar: after_exit 0, while that run waits
   in telemetry_flush (done when flush returns: nothing polls the sink meanwhile); after_exit 1,
   after that run ended at once (done when the sink counted them all, polled every 50 ms: each
   poll is a connection to the sink and a stats document, which would slow it down if frequent).
   Events/s from that run's telemetry_init. */
static double drain_once(int n, int after_exit) {
    char dir[512], dsn_down[256], dsn_up[256];
    int closed_fd, port = bench_closed_port(&closed_fd);
    run_result r1, r2;
    bench_store_records rec;
    long events0, got_events, conns0, conns;
    int64_t at = 0, t0;
    double rate, ms;
    bench_temp_dir(dir, sizeof dir, "backlog");
    snprintf(dsn_down, sizeof dsn_down, "https://%s@localhost:%d/42", sink.key, port);
    snprintf(dsn_up, sizeof dsn_up, "https://%s@localhost:%d/42", sink.key, sink.https);
    run_child(&r1, "down", dir, dsn_down, 1, 2000, 300, n, 0);
    bench_wait_sender_gone(dir, 10000);
    close(closed_fd);
    bench_store_scan(dir, 1, &rec);
    bench_sink_reset(&sink);                     /* a small stats document */
    events0 = bench_sink_stat(&sink, "events");
    conns0 = bench_sink_stat(&sink, "connections");
    run_child(&r2, "next", dir, dsn_up, 1, 2000, 30000, after_exit ? 0 : 60000, 0);
    t0 = (int64_t)got(&r2, "t_init_ns");
    if (after_exit) {
        got_events = bench_sink_wait(&sink, "events", events0 + rec.unsent, 60000, 50, &at) - events0;
        ms = at ? (double)(at - t0) / 1e6 : -1.0;
    } else {
        ms = got(&r2, "flush_rc") == 0 ? got(&r2, "init_ms") + got(&r2, "flush_ms") : -1.0;
        got_events = bench_sink_stat(&sink, "events") - events0;
    }
    conns = bench_sink_stat(&sink, "connections") - conns0 - 2;   /* less our two stats requests */
    rate = ms > 0 && got_events >= rec.unsent ? (double)got_events / (ms / 1e3) : 0.0;
    printf("  %s: %ld of %d events in the store; the next run's init %.3f ms; its sidecar delivered %ld", after_exit ?
           "after that run's exit" : "while that run waits in flush", rec.unsent, n, got(&r2, "init_ms"), got_events);
    if (!after_exit) printf(" over %ld connection%s", conns, conns == 1 ? "" : "s");
    printf(" in %.0f ms from that init: %.0f events/s\n", ms, rate);
    done_with(dir, &r2);
    unlink(r1.path);
    return rate;
}

int main(int argc, char **argv) {
    int runs, n, backlog, drains, burst, burst_runs, i;
    double rate[16];
    if (argc >= 10 && !strcmp(argv[1], "--child")) return child(argc, argv);
    runs = (int)bench_env_long("BENCH_SHUTDOWN_RUNS", 10);
    n = (int)bench_env_long("BENCH_CAPTURES", 10000);
    backlog = (int)bench_env_long("BENCH_BACKLOG", 1000);
    drains = (int)bench_env_long("BENCH_DRAIN_RUNS", 3);
    burst = (int)bench_env_long("BENCH_BURST", 999);
    burst_runs = (int)bench_env_long("BENCH_BURST_RUNS", 5);
    if (drains > 16) drains = 16;
    if (drains < 1) drains = 1;
    if (n < 1) n = 1;
    signal(SIGPIPE, SIG_IGN);
    unsetenv("TELEMETRY_NO_SIDECAR");
    bench_header("bench_delivery");
    bench_sink_get(&sink);

    printf("\n-- (a) telemetry_shutdown while the sink holds a request without answering (%d runs each)\n", runs);
    shutdown_hang(1, 2000, "shutdown_sidecar_hang", 1, runs, 0);
    shutdown_hang(0, 500, "shutdown_thread_hang_500ms", 550, runs, 0);
    shutdown_hang(0, TELEMETRY_NO_WAIT, "shutdown_thread_hang_no_wait", 5, runs, 0);
    printf("  the same right after a burst of %d more captures (%d runs each):\n", burst, burst_runs);
    shutdown_hang(1, 2000, "shutdown_sidecar_hang_burst", 1, burst_runs, burst);
    shutdown_hang(0, 500, "shutdown_thread_hang_500ms_burst", 550, burst_runs, burst);
    shutdown_hang(0, TELEMETRY_NO_WAIT, "shutdown_thread_hang_no_wait_burst", 5, burst_runs, burst);

    server_down(n);

    printf("\n-- (c) the next run's sidecar drains a backlog of %d events over a kept-alive HTTPS connection (%d runs each)\n", backlog, drains);
    for (i = 0; i < drains; i++) rate[i] = drain_once(backlog, 0);
    printf("  while the program waits: median %.0f events/s (earlier target >= 2000, not issue 10's)\n", bench_median(rate, (size_t)drains));
    bench_emit("backlog_drain_rate", bench_median(rate, (size_t)drains), "events/s");
    for (i = 0; i < drains; i++) rate[i] = drain_once(backlog, 1);
    printf("  after the program's exit: median %.0f events/s\n", bench_median(rate, (size_t)drains));
    bench_emit("backlog_drain_rate_after_exit", bench_median(rate, (size_t)drains), "events/s");
    return missed;
}
