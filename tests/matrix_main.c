/* matrix_main.c - the program tests/test_matrix.sh builds with every compiler, language standard
   and build option. It defines one metric, initialises with a temporary state folder (and
   DO_NOT_TRACK unset), checks the metric is in the usage report, sends one report
   (TELEMETRY_DEBUG=1: printed to stderr, never sent), shuts down and exits 0 when all went as
   expected. Macros the script sets, besides the library's own build options:
     MATRIX_ALLOC        override the allocator with counting wrappers (all three macros)
     MATRIX_ASSERT       override TELEMETRY_ASSERT
     MATRIX_SECOND_TU    call into tests/matrix_second.c (a second embedded copy, TELEMETRY_STATIC)
     MATRIX_LIB_LOST     lib_metric lives in a static library nothing references: expect it absent
     MATRIX_LIB_KEPT     the same, registered by hand: expect it present
     MATRIX_NO_IMPL      the implementation lives elsewhere (a shared library) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef MATRIX_ALLOC
static long matrix_allocs, matrix_frees;
static void *matrix_malloc(size_t n) { matrix_allocs++; return malloc(n); }
static void *matrix_realloc(void *p, size_t n) { if (!p) matrix_allocs++; return realloc(p, n); }
static void matrix_free(void *p) { if (p) matrix_frees++; free(p); }
#  define TELEMETRY_MALLOC(sz) matrix_malloc(sz)
#  define TELEMETRY_REALLOC(p, sz) matrix_realloc((p), (sz))
#  define TELEMETRY_FREE(p) matrix_free(p)
#endif

#ifdef MATRIX_ASSERT
static long matrix_asserts;
static void matrix_assert_failed(const char *what) { fprintf(stderr, "matrix_main: assertion failed: %s\n", what); abort(); }
#  define TELEMETRY_ASSERT(c) ((void)matrix_asserts++, (c) ? (void)0 : matrix_assert_failed(#c))
#endif

#ifndef MATRIX_NO_IMPL
#  define TELEMETRY_IMPLEMENTATION
#endif
#include "telemetry.h"

TELEMETRY_METRIC(matrix_metric, "A metric defined by the build-matrix program") {
    return telemetry_int(1234);
}

TELEMETRY_COUNTER(matrix_counter, "A counter declared by the build-matrix program");

#ifdef MATRIX_SECOND_TU
int matrix_second(void);
#endif
#if defined(MATRIX_LIB_LOST) || defined(MATRIX_LIB_KEPT)
TELEMETRY_METRIC_DECLARE(lib_metric);
#endif

#ifdef TELEMETRY_NO_SOCKETS
/* the program's own byte stream, the only transport of this build (never reached: TELEMETRY_DEBUG
   prints instead of sending) */
static int matrix_connect(void *ud, const char *host, int port, unsigned ms, void **conn) {
    (void)ud; (void)host; (void)port; (void)ms; (void)conn;
    return TELEMETRY_ERR_NETWORK;
}
static long matrix_rw(void *ud, void *conn, void *buf, size_t len, unsigned ms) { (void)ud; (void)conn; (void)buf; (void)len; (void)ms; return -1; }
static long matrix_w(void *ud, void *conn, const void *buf, size_t len, unsigned ms) { (void)ud; (void)conn; (void)buf; (void)len; (void)ms; return -1; }
static void matrix_close(void *ud, void *conn) { (void)ud; (void)conn; }
static telemetry_io matrix_io = { matrix_connect, matrix_rw, matrix_w, matrix_close, NULL };
#endif

static int failures;
#define EXPECT(cond) do { if (!(cond)) { failures++; fprintf(stderr, "matrix_main:%d: expected %s\n", __LINE__, #cond); } } while (0)

/* Whether the current usage report mentions the JSON key "name". */
static int report_has(const char *name) {
    char *json = NULL, key[80];
    int found;
    if (telemetry_build_usage_report(&json, NULL) != 0 || !json) return -1;
    snprintf(key, sizeof key, "\"%s\":", name);
    found = strstr(json, key) != NULL;
    telemetry_free(json);
    return found;
}

static void remove_state(const char *root) {
    char path[512];
    static const char *const files[] = { "install_id", "consent", NULL };
    int i;
    for (i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "%s/state/%s", root, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/state", root);
    rmdir(path);
    rmdir(root);
}

int main(void) {
    char root[] = "/tmp/telemetry-matrix-XXXXXX", state[300];
    telemetry_config cfg;
    int rc;
    if (!mkdtemp(root)) { perror("mkdtemp"); return 2; }
    snprintf(state, sizeof state, "%s/state", root);
    unsetenv("DO_NOT_TRACK");
    unsetenv("MATRIX_NO_TELEMETRY");
    setenv("TELEMETRY_DEBUG", "1", 1);

    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "matrix";
    cfg.app_version = "1.0";
#ifndef TELEMETRY_NO_FILES
    cfg.state_dir = state;                            /* (no file system: memory only) */
#endif
    cfg.usage_url = "http://127.0.0.1:9/usage.json";
#ifdef TELEMETRY_NO_SOCKETS
    cfg.io = &matrix_io;
#endif
    rc = telemetry_init(&cfg);
    EXPECT(rc == TELEMETRY_OK);
    EXPECT(telemetry_enabled() == 1);
    EXPECT(telemetry_count("matrix_runs", 1) == 0);

#ifdef TELEMETRY_NO_AUTO_REGISTER
    EXPECT(report_has("matrix_metric") == 0);         /* not registered by itself */
    EXPECT(TELEMETRY_REGISTER(matrix_metric) == 0);
#endif
    EXPECT(report_has("matrix_metric") == 1);
    EXPECT(TELEMETRY_REGISTER(matrix_metric) == 0);   /* registering twice is harmless */
#ifdef TELEMETRY_NO_AUTO_REGISTER
    EXPECT(telemetry_counter_matrix_counter.registered == 0);
    EXPECT(TELEMETRY_REGISTER_COUNTER(matrix_counter) == 0);
#endif
    EXPECT(telemetry_counter_matrix_counter.registered == 1);
    EXPECT(TELEMETRY_REGISTER_COUNTER(matrix_counter) == 0);   /* twice: harmless */
    EXPECT(report_has("arch") == 1);

#ifdef MATRIX_LIB_LOST
    EXPECT(report_has("lib_metric") == 0);            /* its object file was never linked */
#endif
#ifdef MATRIX_LIB_KEPT
    EXPECT(TELEMETRY_REGISTER(lib_metric) == 0);
    EXPECT(report_has("lib_metric") == 1);
#endif
#ifdef MATRIX_SECOND_TU
    EXPECT(matrix_second() == 0);
    EXPECT(telemetry_enabled() == 1);                 /* the other copy did not disturb ours */
#endif

    EXPECT(telemetry_report_usage() == TELEMETRY_OK);
    telemetry_shutdown();
    EXPECT(telemetry_enabled() == 0);
    remove_state(root);

#ifdef MATRIX_ALLOC
    EXPECT(matrix_allocs > 0);
    EXPECT(matrix_frees > 0);
#endif
#ifdef MATRIX_ASSERT
    (void)matrix_assert_failed;   /* used only through the macro, which the library may not expand */
    printf("matrix_main: the library evaluated TELEMETRY_ASSERT %ld times\n", matrix_asserts);
#endif
    if (failures) { fprintf(stderr, "matrix_main: %d failures\n", failures); return 1; }
    printf("matrix_main: ok\n");
    return 0;
}
