/* tests/port/wincrash_plugin.c - a DLL that tests/port/wincrash.c loads after telemetry_init and
   crashes in (mode dll): its frames must fall in an image the crash handler lists, named with the
   home folder redacted (the script puts it under C:\users\<someone>\). */
#if defined(__GNUC__) || defined(__clang__)
#  define NOINLINE __attribute__((noinline))
#else
#  define NOINLINE __declspec(noinline)
#endif
__declspec(dllexport) NOINLINE void wincrash_plugin_crash(volatile int *p);
NOINLINE void wincrash_plugin_crash(volatile int *p) { *p = 7; }
