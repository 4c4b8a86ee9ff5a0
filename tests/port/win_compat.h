/* win_compat.h - force-included (-include) into the project's tests for a mingw-w64 build: the few
   POSIX calls the tests' own harness (tests/helpers.h) uses that the Windows CRT lacks or spells
   differently. The library itself is compiled as it is: nothing here reaches telemetry.h's code. */
#ifndef TELEMETRY_PORT_WIN_COMPAT_H
#define TELEMETRY_PORT_WIN_COMPAT_H
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <direct.h>
#include <io.h>
#include <process.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdtemp: the CRT's _mktemp gives only 26 names per template and process, so a counter instead */
static __attribute__((unused)) char *port_mkdtemp(char *t) {
    static unsigned counter;
    size_t n = strlen(t), i;
    int tries;
    if (n < 6 || strcmp(t + n - 6, "XXXXXX") != 0) { errno = EINVAL; return NULL; }
    for (tries = 0; tries < 1000; tries++) {
        unsigned v = (unsigned)_getpid() * 2654435761u + ++counter * 40503u + (unsigned)tries * 977u;
        for (i = n - 6; i < n; i++) { t[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[v % 36]; v /= 36; }
        if (_mkdir(t) == 0) return t;
        if (errno != EEXIST) return NULL;
    }
    return NULL;
}
static __attribute__((unused)) int port_setenv(const char *n, const char *v, int overwrite) {
    if (!overwrite && getenv(n)) return 0;
    return _putenv_s(n, v);
}
static __attribute__((unused)) int port_unsetenv(const char *n) { return _putenv_s(n, ""); }
/* alarm as a watchdog: a thread that ends the process when the time passes first (alarm(0) and
   a new alarm move the time; the last one counts) */
#include <winsock2.h>                   /* before windows.h, as the header needs it */
#include <windows.h>
static volatile LONG port_alarm_at;        /* GetTickCount()/1000 + seconds; 0: none */
static DWORD WINAPI port_alarm_thread(void *arg) {
    (void)arg;
    for (;;) {
        LONG at = port_alarm_at;
        if (at && (LONG)(GetTickCount() / 1000u) >= at) { fprintf(stderr, "alarm: the watchdog fired\n"); _exit(14); }
        Sleep(200);
    }
}
static __attribute__((unused)) unsigned port_alarm(unsigned seconds) {
    static int started;
    port_alarm_at = seconds ? (LONG)(GetTickCount() / 1000u + seconds) : 0;
    if (!started && seconds) { started = 1; CloseHandle(CreateThread(NULL, 0, port_alarm_thread, NULL, 0, NULL)); }
    return 0;
}
#define alarm port_alarm
#define mkdtemp port_mkdtemp
#define setenv port_setenv
#define unsetenv port_unsetenv
#define mkdir(p, m) _mkdir(p)
/* files the harness opens (stderr captured to a file included) in binary mode, as on POSIX: text
   mode would turn each \n into \r\n */
#include <fcntl.h>
__attribute__((constructor)) static void port_binary_mode(void) {
    _fmode = _O_BINARY;
    _setmode(1, _O_BINARY);
    _setmode(2, _O_BINARY);
}
#define lstat stat
#define S_ISLNK(m) 0
#endif
