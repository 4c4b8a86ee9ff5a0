/* tests/port/wincrash.c - Windows error events and crashes, run under wine by
   tests/port/wincrash.sh against the local receiver; tests/port/check_wincrash.py checks what
   arrived against the .exe's own PE headers.

     wincrash.exe --dsn DSN --state-dir DIR MODE

   MODE: error  three nested functions, the innermost captures an error; then flush
         send   init, then flush: sends what an earlier run left (a crash report)
         av | div | ill | abort | stack   crash that way in wincrash_crash_*
         dll    load tests/port/wincrash_plugin.c's DLL (WINCRASH_PLUGIN), then crash in it
         thread an access violation on a second thread
         revoked  consent revoked, then an access violation: the handler is gone, nothing written
         errcrash an error, then the worker made to rewrite the session file again and again right
                up to an access violation (the crash lands at every phase of a rewrite)
         invparam  (built for the UCRT) _close(-1) with no invalid-parameter handler of the
                program's (as in an MSVC program; mingw-w64's startup sets one, taken away
                first): the CRT's invalid-parameter handler ends the process
         invparam-own  (UCRT) the program's own handler set first: it is called and returns, the
                call returns EBADF, nothing is recorded, shutdown puts the program's handler back
                (exits 0 when all of that held)
         next   the run after errcrash: one message, flush, shutdown (its first work reads the
                session file the crashed run may have left: it would be reported abnormal)
   Every crash mode counts once (the run's first work) and never flushes: the report is what the
   crash handler wrote. The library's allocator ends the process with status 97 if the handler
   calls it (on the thread that records). */
#include <stdlib.h>
/* The library's allocator: a call while the crash handler runs ends the process with status 97,
   which the script sees as an exit status different from the run without the handler. */
static void *wincrash_malloc(size_t n);
static void *wincrash_realloc(void *p, size_t n);
static void wincrash_free(void *p);
#define TELEMETRY_MALLOC(sz) wincrash_malloc(sz)
#define TELEMETRY_REALLOC(p, sz) wincrash_realloc((p), (sz))
#define TELEMETRY_FREE(p) wincrash_free(p)
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

#if !defined(TELEMETRY_NO_CRASH_HANDLER)
/* (the recording thread's calls: the sender thread goes on meanwhile) */
static void wincrash_no_heap(void) {
    if (telemetry__in_crash_handler && telemetry__cr.owner == GetCurrentThreadId()) TerminateProcess(GetCurrentProcess(), 97);
}
#else
static void wincrash_no_heap(void) {}
#endif
static void *wincrash_malloc(size_t n) { wincrash_no_heap(); return malloc(n); }
static void *wincrash_realloc(void *p, size_t n) { wincrash_no_heap(); return realloc(p, n); }
static void wincrash_free(void *p) { wincrash_no_heap(); free(p); }

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#  define NOINLINE __attribute__((noinline))
#else
#  define NOINLINE __declspec(noinline)
#endif

static volatile int sink_int;

NOINLINE void wincrash_error_inner(int n) { telemetry_capture_error("WinError", "error %d from wincrash_error_inner", n); sink_int++; }
NOINLINE void wincrash_error_middle(int n) { wincrash_error_inner(n + 1); sink_int++; }
NOINLINE void wincrash_error_outer(int n) { wincrash_error_middle(n + 1); sink_int++; }

NOINLINE void wincrash_crash_av(volatile int *p) { *p = 42; sink_int++; }
NOINLINE int wincrash_crash_div(volatile int d) { return 1000 / d; }
NOINLINE void wincrash_crash_ill(void) {
#if defined(__GNUC__) || defined(__clang__)
    __asm__ volatile("ud2");
#endif
    sink_int++;
}
NOINLINE void wincrash_crash_abort(void) { abort(); }
#if defined(_UCRT)
#  include <errno.h>
#  include <io.h>
static volatile int bad_fd = -1;
NOINLINE int wincrash_crash_invparam(void) { int r = _close(bad_fd); sink_int++; return r; }
static int own_calls;
static void __cdecl wincrash_own_handler(const wchar_t *e, const wchar_t *f, const wchar_t *file, unsigned int line, uintptr_t r) {
    (void)e; (void)f; (void)file; (void)line; (void)r;
    own_calls++;
}
#endif
static volatile int deeper = 1;                  /* always 1: the compiler cannot see the end */
NOINLINE int wincrash_crash_stack(int n) {
    volatile char pad[4096];
    pad[0] = (char)n; pad[4095] = 1;
    return (deeper ? wincrash_crash_stack(n + 1) : 0) + pad[0] + pad[4095];
}
/* a DLL loaded after telemetry_init (WINCRASH_PLUGIN names it), with a breadcrumb after it: the
   crash handler's image list is made again at the breadcrumb */
NOINLINE void wincrash_crash_dll(void) {
    typedef void (*crash_fn)(volatile int *);
    union { FARPROC proc; crash_fn fn; } f;
    HMODULE h = LoadLibraryA(getenv("WINCRASH_PLUGIN") ? getenv("WINCRASH_PLUGIN") : "wincrash_plugin.dll");
    if (!h || !(f.proc = GetProcAddress(h, "wincrash_plugin_crash"))) { printf("wincrash: no plugin\n"); exit(4); }
    telemetry_add_breadcrumb("plugin", "loaded");
    f.fn((volatile int *)(void *)0);
    sink_int++;
}
/* an access violation on a thread of the program's own */
static DWORD WINAPI wincrash_thread_main(LPVOID arg) { wincrash_crash_av((volatile int *)arg); return 0; }
NOINLINE void wincrash_crash_thread(void) {
    HANDLE t = CreateThread(NULL, 0, wincrash_thread_main, NULL, 0, NULL);
    if (t) WaitForSingleObject(t, 20000);
}
NOINLINE void wincrash_outer(const char *mode) {
    if (!strcmp(mode, "av")) wincrash_crash_av((volatile int *)(void *)0);
    else if (!strcmp(mode, "div")) sink_int = wincrash_crash_div(0);
    else if (!strcmp(mode, "ill")) wincrash_crash_ill();
    else if (!strcmp(mode, "abort")) wincrash_crash_abort();
    else if (!strcmp(mode, "stack")) sink_int = wincrash_crash_stack(0);
    else if (!strcmp(mode, "dll")) wincrash_crash_dll();
    else if (!strcmp(mode, "thread")) wincrash_crash_thread();
#if defined(_UCRT)
    else if (!strcmp(mode, "invparam")) sink_int = wincrash_crash_invparam();
#endif
    else if (!strcmp(mode, "revoked")) { telemetry_set_consent(0); wincrash_crash_av((volatile int *)(void *)0); }
    sink_int++;
}

int main(int argc, char **argv) {
    telemetry_config cfg;
    const char *mode = argc > 5 ? argv[5] : "";
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "wincrash";
    cfg.app_version = "1.0.0";
    cfg.no_notice = 1;
    cfg.timeout_ms = 10000;
    cfg.shutdown_timeout_ms = 10000;
    if (argc < 6 || strcmp(argv[1], "--dsn") || strcmp(argv[3], "--state-dir")) {
        fprintf(stderr, "usage: wincrash --dsn DSN --state-dir DIR MODE\n");
        return 2;
    }
    cfg.sentry_dsn = argv[2];
    cfg.no_crash_handler = getenv("WINCRASH_NO_HANDLER") && getenv("WINCRASH_NO_HANDLER")[0];   /* the exit status without the library's handler */
    cfg.state_dir = argv[4];
    {   /* "-": the folder from WINCRASH_STATE, read wide (argv is in the ANSI code page) as UTF-8 */
        static char utf8[2048];
        const wchar_t *w = _wgetenv(L"WINCRASH_STATE");
        if (!strcmp(argv[4], "-") && w && WideCharToMultiByte(CP_UTF8, 0, w, -1, utf8, (int)sizeof utf8, NULL, NULL) > 0)
            cfg.state_dir = utf8;
    }
    /* no error dialog at an unhandled exception on Windows (wine ignores this; the script turns
       its debugger off): the process ends with the exception's code, with the library's handler
       as without it */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
#if defined(_UCRT)
    if (!strcmp(mode, "invparam")) _set_invalid_parameter_handler(NULL);   /* the CRT's default: fatal */
    if (!strcmp(mode, "invparam-own")) _set_invalid_parameter_handler(wincrash_own_handler);
#endif
    rc = telemetry_init(&cfg);
    printf("wincrash: init %s\n", telemetry_result_string(rc));
    if (rc < 0) return 1;
    if (!strcmp(mode, "error")) wincrash_error_outer(1);
    else if (!strcmp(mode, "errcrash")) {
        unsigned char r = 0;
        int i;
        telemetry_capture_error("SetupError", "the error just before the crash");
        telemetry__os_entropy(&r, 1);
        for (i = 0; i < 20 + r % 40; i++) {
            telemetry__lock(&telemetry__state_lock);
            telemetry__note_session(1);
            telemetry__unlock(&telemetry__state_lock);
            if (i % 4 == 0 && r % 3) { if (r % 3 == 1) SwitchToThread(); else Sleep(1); }
        }
        wincrash_crash_av((volatile int *)(void *)0);
        return 3;
    } else if (!strcmp(mode, "next")) telemetry_capture_message(TELEMETRY_LEVEL_INFO, "the run after the crash");
#if defined(_UCRT)
    else if (!strcmp(mode, "invparam-own")) {
        int r, e, ours;
        telemetry_count("wincrash_runs", 1);
        ours = _get_invalid_parameter_handler() != wincrash_own_handler;   /* the library's in between */
        errno = 0;
        r = wincrash_crash_invparam();
        e = errno;
        telemetry_shutdown();
        printf("wincrash: invparam-own: library's handler installed %d, own handler called %d, _close %d errno %d, "
               "recorded %d, own handler back after shutdown %d\n", ours, own_calls, r, e, (int)telemetry__cr.done,
               _get_invalid_parameter_handler() == wincrash_own_handler);
        return ours && own_calls == 1 && r == -1 && e == EBADF && !telemetry__cr.done &&
               _get_invalid_parameter_handler() == wincrash_own_handler ? 0 : 6;
    }
#endif
    else if (strcmp(mode, "send") && strcmp(mode, "next")) {
        telemetry_count("wincrash_runs", 1);               /* the run's first work: the session starts */
        printf("wincrash: crashing (%s)\n", mode);
        fflush(stdout);
        wincrash_outer(mode);
        printf("wincrash: survived %s\n", mode);
        return 3;
    }
    rc = telemetry_flush(10000);
    printf("wincrash: flush %s\n", telemetry_result_string(rc));
    telemetry_shutdown();
    return rc < 0 ? 1 : 0;
}
