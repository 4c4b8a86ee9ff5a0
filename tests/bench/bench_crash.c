/* bench_crash.c - what the crash handler costs: the extra time telemetry_init takes to install it
   and prepare its state (module list with build ids, buffers, alternate stack) in a program with
   about 50 loaded modules, and how long a crash takes from the fault to the process's end (the
   handler writing its file, then the default action). Prints BENCH lines. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <dlfcn.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
static int cmp_double(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

/* Loads shared libraries from the system until about 50 modules are mapped. */
static int load_modules(int want) {
    static const char *names[] = { "libz.so.1", "libbz2.so.1.0", "liblzma.so.5", "libzstd.so.1", "libcrypt.so.1",
        "libgmp.so.10", "libmpfr.so.6", "libexpat.so.1", "libffi.so.8", "libuuid.so.1", "libblkid.so.1", "libmount.so.1",
        "libselinux.so.1", "libpcre2-8.so.0", "libcap.so.2", "libacl.so.1", "libattr.so.1", "libgcrypt.so.20",
        "libgpg-error.so.0", "libidn2.so.0", "libunistring.so.2", "libtasn1.so.6", "libp11-kit.so.0", "libgnutls.so.30",
        "libnettle.so.8", "libhogweed.so.6", "libsqlite3.so.0", "libssl.so.3", "libcrypto.so.3", "libcurl.so.4",
        "libnghttp2.so.14", "librtmp.so.1", "libssh2.so.1", "libpsl.so.5", "libkrb5.so.3", "libk5crypto.so.3",
        "libcom_err.so.2", "libkrb5support.so.0", "libkeyutils.so.1", "libgssapi_krb5.so.2", "libldap-2.5.so.0",
        "liblber-2.5.so.0", "libsasl2.so.2", "libbrotlidec.so.1", "libbrotlicommon.so.1", "libreadline.so.8",
        "libtinfo.so.6", "libncursesw.so.6", "libedit.so.2", "libbsd.so.0", "libmd.so.0", "libmagic.so.1", NULL };
    telemetry__module mods[300];
    int i;
    for (i = 0; names[i] && telemetry__find_modules(mods, 300) < want; i++) dlopen(names[i], RTLD_LAZY | RTLD_LOCAL);
    return telemetry__find_modules(mods, 300);
}

static double init_time(const char *dir, int handler) {
    telemetry_config cfg;
    double t0, t1;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "benchcrash";
    cfg.state_dir = dir;
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42";
    cfg.no_crash_handler = !handler;
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    t0 = now_us();
    telemetry_init(&cfg);
    t1 = now_us();
    telemetry_shutdown();
    return t1 - t0;
}

int main(void) {
    char dir[] = "/tmp/bench-crash-XXXXXX";
    double with[21], without[21], crash[11];
    int i, modules;
    if (!mkdtemp(dir)) return 1;
    unsetenv("DO_NOT_TRACK");
    modules = load_modules(50);
    for (i = 0; i < 21; i++) { without[i] = init_time(dir, 0); with[i] = init_time(dir, 1); }
    qsort(with, 21, sizeof(double), cmp_double);
    qsort(without, 21, sizeof(double), cmp_double);
    printf("crash handler: %d modules loaded\n", modules);
    printf("  telemetry_init with the handler    %8.0f us (median of 21)\n", with[10]);
    printf("  telemetry_init without it          %8.0f us\n", without[10]);
    printf("  installing and preparing it costs  %8.0f us\n", with[10] - without[10]);
    printf("BENCH crash_modules=%d count\nBENCH crash_install_us=%.0f us\n", modules, with[10] - without[10]);
    /* from the fault to the end of the process: the handler writes its file in this time */
    for (i = 0; i < 11; i++) {
        int fds[2], status;
        double t_fault = 0;
        pid_t pid;
        if (pipe(fds) != 0) return 1;
        pid = fork();
        if (pid == 0) {
            telemetry_config cfg;
            double t;
            memset(&cfg, 0, sizeof cfg);
            cfg.no_notice = 1;               /* these runs are not about the first-run notice */
            cfg.app_name = "benchcrash";
            cfg.state_dir = dir;
            cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42";
            telemetry_init(&cfg);
            t = now_us();
            if (write(fds[1], &t, sizeof t) < 0) _exit(1);
            raise(SIGSEGV);
            _exit(0);
        }
        close(fds[1]);
        if (read(fds[0], &t_fault, sizeof t_fault) != (ssize_t)sizeof t_fault) return 1;
        waitpid(pid, &status, 0);
        crash[i] = now_us() - t_fault;
        close(fds[0]);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV) { printf("the child did not die of SIGSEGV\n"); return 1; }
    }
    qsort(crash, 11, sizeof(double), cmp_double);
    printf("  fault to process end (handler + exit) %5.0f us (median of 11), max %.0f us\n", crash[5], crash[10]);
    printf("BENCH crash_handler_us=%.0f us\n", crash[5]);
    {
        char cmd[100];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
