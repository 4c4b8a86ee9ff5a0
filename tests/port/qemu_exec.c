/* tests/port/qemu_exec.c - see qemu_exec.h: an execv of this program's own path goes through the
   emulator named by PORT_QEMU (its absolute path); every other execv (the native receiver,
   tinyproxy) is left as it is. */
#undef execv                     /* the -include of qemu_exec.h renamed it */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>

int port_execv(const char *path, char *const argv[]);
int port_execv(const char *path, char *const argv[]) {
    char self[4096], *args[64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);   /* qemu answers with the guest's */
    int i, k = 0;
    if (n <= 0) return execv(path, argv);
    self[n] = 0;
    if (strcmp(self, path) != 0) return execv(path, argv);
    args[k++] = (char *)PORT_QEMU;
    args[k++] = (char *)path;
    for (i = 1; argv[i] && k < 63; i++) args[k++] = argv[i];
    args[k] = NULL;
    return execv(PORT_QEMU, args);
}
