/* crashme.c - a program that really crashes, for tests/test_crash.sh.

     crashme MODE STATE_DIR DSN

   MODE (a crash unless said otherwise):
     null, abort, fpe, stack, thread      the plain kinds
     chained      the program's own handler, installed before init, re-raises the signal
     inhandler    a fault inside the crash handler
     altbefore    an 8 KiB alternate stack with a guard page, set before init (the library's replaces it)
     altafter     the same set after init: the handler must fit in it
     sent         kill(getpid(), SIGSEGV): a signal sent by a process, no fault address
     badstack     ud2 with rsp and rbp wild (x86-64; elsewhere a plain SIGILL)
     handled      the program's handler (siglongjmp) recovers from 3 faults, shuts down, exits 0
     handledcrash the same, then a real fault its handler passes on (re-raise)
     returning    the program's handler returns without fixing anything, 5 times, then gives up
     worker       a fault on the library's worker (in a telemetry_io callback); the program's
                  handler then exits 77
     race         8 threads fault at the same moment
     aborttail    abort() as a function's last instruction (the next run names frames at ret-1)
     plugin       a library dlopen'ed after init crashes (build/crash_plugin.so)
     revoked      the user revokes consent (telemetry_set_consent(0)), then a fault: nothing is written
     regiven      consent revoked and given again in the same run, then a fault: reported again
     selfcheck    exits 97 when the allocator interposition works
     none         a next run that sends what the last one left and exits cleanly
   malloc, calloc, realloc and free are interposed: called by the thread the crash handler runs on
   while it records, they end the process with status 97, which the test reports as "the handler is not async-signal-safe". */
#define _DEFAULT_SOURCE 1                 /* MAP_ANONYMOUS */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
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
/* Only the thread that records: the library's sender thread may allocate meanwhile (it was not
   interrupted inside the allocator). selfcheck has no recording thread: owner 0 matches. */
static int on_recording_thread(void) {
    return telemetry__in_crash_handler && (telemetry__cr.owner == 0 || telemetry__cr.owner == (long)syscall(SYS_gettid));
}
void *malloc(size_t n) { if (on_recording_thread()) in_handler_alarm(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (on_recording_thread()) in_handler_alarm(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (on_recording_thread()) in_handler_alarm(); return __libc_realloc(p, n); }
void free(void *p) { if (on_recording_thread()) in_handler_alarm(); __libc_free(p); }

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

/* abort() as the last instruction: its return address is the next function's first byte */
__attribute__((noinline, noreturn)) void abort_tail(void) { abort(); }
__attribute__((noinline)) int after_abort_tail(int x) { return x * 3 + 1; }
__attribute__((noinline)) void abort_caller(void) { abort_tail(); }

/* An alternate stack of 8 KiB (SIGSTKSZ-like; CRASHME_ALTSTACK bytes if set) with an
   inaccessible guard page below it. */
static void small_altstack(void) {
    size_t size = getenv("CRASHME_ALTSTACK") ? (size_t)atol(getenv("CRASHME_ALTSTACK")) : 8192, page = 4096;
    char *mem = (char *)mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss;
    if (mem == MAP_FAILED || mprotect(mem, page, PROT_NONE) != 0) _exit(5);
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = mem + page; ss.ss_size = size;
    if (sigaltstack(&ss, NULL) != 0) _exit(5);
}

/* A program that probes memory: its handler recovers with siglongjmp while `probing`. */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probing, own_calls;
static void probe_handler(int sig) {
    own_calls++;
    if (probing) siglongjmp(probe_env, 1);
    signal(sig, SIG_DFL);                         /* not a probe: pass it on */
    raise(sig);
}
static int readable(const volatile int *p) {
    if (sigsetjmp(probe_env, 1)) return 0;
    (void)*p;
    return 1;
}
/* A handler that returns without fixing anything, and gives up after 5 calls. */
static void returning_handler(int sig) {
    if (++own_calls >= 5) signal(sig, SIG_DFL);
}
static void exit77_handler(int sig) { (void)sig; _exit(77); }

/* A telemetry_io whose connect (run by the library's worker) dereferences NULL. */
static int bad_connect(void *u, const char *h, int p, unsigned ms, void **conn) {
    (void)u; (void)h; (void)p; (void)ms; (void)conn;
    *nowhere = 1;
    return 0;
}
static long bad_read(void *u, void *c, void *b, size_t n, unsigned ms) { (void)u; (void)c; (void)b; (void)n; (void)ms; return -1; }
static long bad_write(void *u, void *c, const void *b, size_t n, unsigned ms) { (void)u; (void)c; (void)b; (void)n; (void)ms; return -1; }
static void bad_close(void *u, void *c) { (void)u; (void)c; }
static telemetry_io bad_io = { bad_connect, bad_read, bad_write, bad_close, NULL };

static pthread_barrier_t race_go;
static void *race_main(void *arg) { (void)arg; pthread_barrier_wait(&race_go); parse_config(); return NULL; }

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
    if (!strcmp(mode, "handled") || !strcmp(mode, "handledcrash")) signal(SIGSEGV, probe_handler);
    if (!strcmp(mode, "returning")) signal(SIGSEGV, returning_handler);
    if (!strcmp(mode, "worker")) signal(SIGSEGV, exit77_handler);
    if (!strcmp(mode, "altbefore")) small_altstack();
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "crashme";
    cfg.app_version = "2.0";
    cfg.state_dir = argv[2];
    cfg.sentry_dsn = argv[3];
    cfg.timeout_ms = 3000;
    cfg.shutdown_timeout_ms = 3000;
    if (!strcmp(mode, "worker")) cfg.io = &bad_io;
    if (telemetry_init(&cfg) != 0) return 3;
    if (!strcmp(mode, "altafter")) small_altstack();
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
    else if (!strcmp(mode, "inhandler")) { telemetry__cr.modules[telemetry__cr.module_set] = (telemetry__module *)16; parse_config(); }
    else if (!strcmp(mode, "altbefore") || !strcmp(mode, "altafter")) parse_config();
    else if (!strcmp(mode, "revoked")) { if (telemetry_set_consent(0) != 0) return 8; parse_config(); }
    else if (!strcmp(mode, "regiven")) {
        if (telemetry_set_consent(0) != 0 || telemetry_set_consent(1) != 0) return 8;
        parse_config();
    }
    else if (!strcmp(mode, "sent")) kill(getpid(), SIGSEGV);
    else if (!strcmp(mode, "badstack")) {
#if defined(__x86_64__)
        __asm__ volatile("mov $0x1000, %%rsp\n\tmov $0x2000, %%rbp\n\tud2" ::: "memory");
#else
        raise(SIGILL);
#endif
    } else if (!strcmp(mode, "handled") || !strcmp(mode, "handledcrash")) {
        int i, seen = 0;
        probing = 1;
        for (i = 0; i < 3; i++) seen += !readable((const volatile int *)16);
        probing = 0;
        if (seen != 3 || own_calls != 3) return 6;            /* the program's handler saw every fault */
        if (!strcmp(mode, "handled")) { telemetry_shutdown(); return 0; }
        parse_config();
    } else if (!strcmp(mode, "returning")) parse_config();
    else if (!strcmp(mode, "worker")) { telemetry_capture_message(TELEMETRY_LEVEL_INFO, "to the worker"); sleep(10); }
    else if (!strcmp(mode, "race")) {
        pthread_t t[8];
        int i;
        pthread_barrier_init(&race_go, NULL, 8);
        for (i = 0; i < 8; i++) pthread_create(&t[i], NULL, race_main, NULL);
        for (i = 0; i < 8; i++) pthread_join(t[i], NULL);
    } else if (!strcmp(mode, "aborttail")) { abort_caller(); }
    else if (!strcmp(mode, "plugin")) {
        char path[1200];
        void *lib;
        void (*crash)(void);
        snprintf(path, sizeof path, "%s/crash_plugin.so", getenv("CRASHME_PLUGIN_DIR") ? getenv("CRASHME_PLUGIN_DIR") : "build");
        lib = dlopen(path, RTLD_NOW);
        if (!lib) return 7;
        *(void **)&crash = dlsym(lib, "plugin_crash");
        if (!crash) return 7;
        telemetry_add_breadcrumb("test", "plugin loaded");    /* a safe point: the module list is made again */
        crash();
    }
    else if (!strcmp(mode, "none")) { telemetry_flush(3000); telemetry_shutdown(); return 0; }
    return 4;                                                /* should not get here */
}
