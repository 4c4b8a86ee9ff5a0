/* tests/port/device_syscalls.c - the few system calls newlib needs on a board without an OS, as a
   device's own startup code would give them (the cortex-m4 job links the device program with these
   instead of libnosys, so the link shows exactly what the library pulls in). No file, no console:
   every I/O call fails; the heap is a static arena. */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/time.h>

#undef errno
extern int errno;

static char heap[128 * 1024];             /* the library peaks near 106 KB with TLS (tests/port/run.sh) */
static size_t heap_used;

void *_sbrk(ptrdiff_t incr) {
    void *p;
    if (incr < 0 || heap_used + (size_t)incr > sizeof heap) { errno = ENOMEM; return (void *)-1; }
    p = heap + heap_used;
    heap_used += (size_t)incr;
    return p;
}
int _open(const char *path, int flags, int mode) { (void)path; (void)flags; (void)mode; errno = ENOENT; return -1; }
int _close(int fd) { (void)fd; errno = EBADF; return -1; }
int _read(int fd, void *buf, size_t len) { (void)fd; (void)buf; (void)len; errno = EBADF; return -1; }
int _write(int fd, const void *buf, size_t len) { (void)fd; (void)buf; return (int)len; }  /* console: dropped */
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; errno = ESPIPE; return -1; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
int _getpid(void) { return 1; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void _exit(int code) { (void)code; for (;;) {} }
int _gettimeofday(struct timeval *tv, void *tz) { (void)tz; if (tv) { tv->tv_sec = 0; tv->tv_usec = 0; } return 0; }
int _times(void *buf) { (void)buf; return 0; }
