/* crash_plugin.c - a library that tests/crashme.c loads with dlopen after telemetry_init, and
   that crashes (test_crash.sh, mode plugin): its frames must fall in an image of the crash event. */
static int *volatile plugin_nowhere;
__attribute__((noinline)) void plugin_crash(void) { *plugin_nowhere = 42; }
