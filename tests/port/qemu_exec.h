/* tests/port/qemu_exec.h - force-included (-include) into the test programs that run under
   qemu-user (tests/port/run.sh), with tests/port/qemu_exec.c linked in: the end-to-end tests
   re-run their own binary as a child, and without binfmt_misc the host kernel cannot start a
   foreign binary, so their execv goes to port_execv, which sends an exec of the program's own
   path through the emulator. It includes no system header: it comes before the test's first
   line, and a system header here would switch off what telemetry.h asks for when it comes first
   (64-bit off_t and time_t). */
#ifndef PORT_QEMU_EXEC_H
#define PORT_QEMU_EXEC_H
#ifdef __cplusplus
extern "C"
#endif
int port_execv(const char *path, char *const argv[]);
#define execv port_execv
#endif
