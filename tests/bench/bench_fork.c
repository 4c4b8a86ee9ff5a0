/* bench_fork.c - what the sidecar's fork costs a program of a given resident size (issue 10:
   "Measure fork cost against the program's resident size and document when to prefer the
   thread"). No bound: the figures go to docs/design.md ("When to choose the thread").

   For each size (BENCH_FORK_SIZES, "10 100 1024" MB) and each mode, a fresh process (this program
   started again with --child) that mallocs the buffer and writes every byte of it (memset), then:
     1. telemetry_init: wall time and the calling thread's CPU time (the fork's page-table copy is
        kernel time on this thread); sidecar mode (the default) against thread mode (no_sidecar);
     2. the first capture (the run's first work: the store opens; thread mode starts its thread);
     3. copy-on-write: the time to rewrite the whole buffer once while the sidecar lives (every
        page the program writes is copied once, the sidecar keeps the old one), against the same
        rewrite in thread mode (no other process shares the pages); minor page faults of it; the
        sidecar's resident size afterwards (/proc/<pid>/status VmRSS).
   BENCH_FORK_RUNS (5; 3 for 1 GB and above) runs per size and mode, alternating; medians. A size
   is skipped when MemAvailable is under twice the size plus 512 MB (the sidecar's copy of every
   page doubles the memory in use); the output says so. The DSN points at a port that refuses:
   nothing here is sent, and the sidecar stays dormant until the first capture. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "bench.h"

static long minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}
static long proc_rss_kb(long pid) {
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (!(f = fopen(path, "r"))) return -1;
    while (fgets(line, sizeof line, f)) if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* argv: --child results state_dir dsn size_mb sidecar */
static int child(char **argv) {
    const char *state_dir = argv[3], *dsn = argv[4];
    size_t size = (size_t)strtoul(argv[5], NULL, 10) << 20;
    int sidecar = atoi(argv[6]), rc;
    unsigned char *buf;
    telemetry_config cfg;
    int64_t t0;
    double c0;
    long f0;
    if (!(res = fopen(argv[2], "w"))) return 2;
    if (!(buf = (unsigned char *)malloc(size))) { put("no_memory", 1); return 3; }
    memset(buf, 1, size);                        /* resident */
    put("rss_kb", (double)bench_rss_kb());
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "benchapp";
    cfg.app_version = "1.0.0";
    cfg.sentry_dsn = dsn;
    cfg.state_dir = state_dir;
    cfg.no_crash_handler = 1;
    cfg.no_sidecar = !sidecar;
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    cfg.sidecar_lifetime_ms = 200;
    c0 = thread_cpu_ms();
    t0 = bench_ns();
    rc = telemetry_init(&cfg);
    put("init_ms", (double)(bench_ns() - t0) / 1e6);
    put("init_cpu_ms", thread_cpu_ms() - c0);
    if (rc != 0) return 4;
    put("sidecar", telemetry__dl.sidecar);
    t0 = bench_ns();
    telemetry_capture_message(TELEMETRY_LEVEL_INFO, "first work");
    put("first_capture_ms", (double)(bench_ns() - t0) / 1e6);
    f0 = minflt();
    t0 = bench_ns();
    memset(buf, 2, size);                        /* the whole buffer rewritten once */
    put("rewrite_ms", (double)(bench_ns() - t0) / 1e6);
    put("rewrite_minflt", (double)(minflt() - f0));
    if (telemetry__sh && telemetry__sh->sidecar_pid > 0) put("sidecar_rss_kb", (double)proc_rss_kb(telemetry__sh->sidecar_pid));
    t0 = bench_ns();
    telemetry_shutdown();
    put("shutdown_ms", (double)(bench_ns() - t0) / 1e6);
    put("check", buf[size / 2]);                 /* the rewrite is not optimised away */
    free(buf);
    fclose(res);
    return 0;
}

static long mem_available_mb(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) if (!strncmp(line, "MemAvailable:", 13)) kb = strtol(line + 13, NULL, 10);
    fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

enum { K_INIT, K_INIT_CPU, K_FIRST, K_REWRITE, K_FLT, K_SC_RSS, K_COUNT };
static const char *const keys[K_COUNT] = { "init_ms", "init_cpu_ms", "first_capture_ms", "rewrite_ms", "rewrite_minflt", "sidecar_rss_kb" };

/* One run: the figures into v[K_COUNT]; 0 on success. */
static int run_one(const char *dsn, long mb, int sidecar, double *v) {
    char dir[512], path[600], a_mb[32], a_sc[8];
    pid_t pid;
    int st = 0, k;
    bench_temp_dir(dir, sizeof dir, "fork");
    snprintf(path, sizeof path, "%s.result", dir);
    snprintf(a_mb, sizeof a_mb, "%ld", mb);
    snprintf(a_sc, sizeof a_sc, "%d", sidecar);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "bench_fork", "--child", path, dir, dsn, a_mb, a_sc, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_fork: the %ld MB %s run failed (status %d)\n", mb, sidecar ? "sidecar" : "thread", st);
        bench_rm_tree(dir); unlink(path);
        return -1;
    }
    for (k = 0; k < K_COUNT; k++) v[k] = bench_result(path, keys[k]);
    if (bench_result(path, "sidecar") != sidecar) fprintf(stderr, "bench_fork: the %ld MB run was not in %s mode\n", mb, sidecar ? "sidecar" : "thread");
    bench_wait_sender_gone(dir, 5000);
    bench_sleep_ms(250);                         /* the dormant sidecar leaves at the program's end */
    bench_rm_tree(dir);
    unlink(path);
    return 0;
}

int main(int argc, char **argv) {
    const char *sizes_env = getenv("BENCH_FORK_SIZES");
    char sizes[256], dsn[128], *tok, *save = NULL;
    int closed_fd, port;
    if (argc >= 7 && !strcmp(argv[1], "--child")) return child(argv);
    signal(SIGPIPE, SIG_IGN);
    unsetenv("TELEMETRY_NO_SIDECAR");
    bench_header("bench_fork");
    port = bench_closed_port(&closed_fd);
    snprintf(dsn, sizeof dsn, "http://" BENCH_DEFAULT_KEY "@127.0.0.1:%d/1", port);
    snprintf(sizes, sizeof sizes, "%s", sizes_env && *sizes_env ? sizes_env : "10 100 1024");
    {
        FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
        char thp[128] = "?";
        if (f) { if (!fgets(thp, sizeof thp, f)) snprintf(thp, sizeof thp, "?"); fclose(f); }
        thp[strcspn(thp, "\n")] = 0;
        printf("page size %ld B; transparent huge pages: %s; MemAvailable %ld MB\n", sysconf(_SC_PAGESIZE), thp, mem_available_mb());
    }
    printf("%-8s %-7s %12s %12s %12s %12s %10s %12s\n", "resident", "mode", "init wall", "init CPU", "1st capture", "rewrite",
           "faults", "sidecar RSS");
    for (tok = strtok_r(sizes, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        long mb = strtol(tok, NULL, 10), avail = mem_available_mb();
        int runs = (int)bench_env_long("BENCH_FORK_RUNS", mb >= 1024 ? 3 : 5), r, m, k, n[2] = { 0, 0 };
        double v[2][16][K_COUNT], col[16], med[2][K_COUNT];
        if (runs > 16) runs = 16;
        if (mb <= 0) continue;
        if (avail >= 0 && avail < 2 * mb + 512) {
            printf("%-8s skipped: MemAvailable %ld MB, under twice the size plus 512 MB (the sidecar's copy-on-write doubles it)\n",
                   tok, avail);
            printf("BENCH fork_%ldmb_skipped=1 (MemAvailable %ld MB)\n", mb, avail);
            continue;
        }
        for (r = 0; r < runs; r++)
            for (m = 0; m < 2; m++) {                    /* alternating: sidecar, thread, sidecar ... */
                int sidecar = m == 0;
                if (run_one(dsn, mb, sidecar, v[m][n[m]]) == 0) n[m]++;
            }
        for (m = 0; m < 2; m++) {
            for (k = 0; k < K_COUNT; k++) {
                for (r = 0; r < n[m]; r++) col[r] = v[m][r][k];
                med[m][k] = n[m] ? bench_median(col, (size_t)n[m]) : -1;
            }
            printf("%5ld MB %-7s %9.3f ms %9.3f ms %9.3f ms %9.2f ms %10.0f %9.0f kB\n", mb, m == 0 ? "sidecar" : "thread",
                   med[m][K_INIT], med[m][K_INIT_CPU], med[m][K_FIRST], med[m][K_REWRITE], med[m][K_FLT], m == 0 ? med[m][K_SC_RSS] : 0.0);
            bench_emitf(med[m][K_INIT], "ms", "fork_%ldmb_%s_init", mb, m == 0 ? "sidecar" : "thread");
            bench_emitf(med[m][K_INIT_CPU], "ms", "fork_%ldmb_%s_init_cpu", mb, m == 0 ? "sidecar" : "thread");
            bench_emitf(med[m][K_FIRST], "ms", "fork_%ldmb_%s_first_capture", mb, m == 0 ? "sidecar" : "thread");
            bench_emitf(med[m][K_REWRITE], "ms", "fork_%ldmb_%s_rewrite", mb, m == 0 ? "sidecar" : "thread");
        }
        if (n[0] && n[1]) {
            printf("         sidecar - thread: init %+.3f ms (CPU %+.3f ms); rewriting %ld MB once costs %+.1f ms more with the sidecar "
                   "(%.1fx; %.0f page faults, the sidecar then holds %.0f MB)  [medians of %d and %d runs]\n",
                   med[0][K_INIT] - med[1][K_INIT], med[0][K_INIT_CPU] - med[1][K_INIT_CPU], mb, med[0][K_REWRITE] - med[1][K_REWRITE],
                   med[1][K_REWRITE] > 0 ? med[0][K_REWRITE] / med[1][K_REWRITE] : 0.0, med[0][K_FLT], med[0][K_SC_RSS] / 1024, n[0], n[1]);
            bench_emitf(med[0][K_INIT] - med[1][K_INIT], "ms", "fork_%ldmb_init_added", mb);
            bench_emitf(med[0][K_REWRITE] - med[1][K_REWRITE], "ms", "fork_%ldmb_cow_added", mb);
        }
    }
    close(closed_fd);
    return 0;
}
