/* telemetry.h - v0.1.0 - honest, minimal usage monitoring and crash reporting for C programs
   https://github.com/ (this repository) - see LICENSE at the end of this file.

   telemetry.h lets a small program learn how it is really used (a usage report of metrics the
   program declares, sent to the Firebase Realtime Database or any HTTPS endpoint) and where it
   really fails (errors and messages as Sentry events), without betraying its users: every
   opt-out is honoured before anything is written or sent, and the program can print exactly
   what is collected.

   ============================================================================================
   1. DO THIS
   ============================================================================================

       #define TELEMETRY_IMPLEMENTATION     // in exactly ONE .c or .cpp file
       #include "telemetry.h"

   Every other file just includes "telemetry.h". Link with BearSSL (-lbearssl) unless you build
   with TELEMETRY_NO_TLS, and with -lpthread unless you build with TELEMETRY_NO_THREADS.

   ============================================================================================
   2. A SHORT EXAMPLE
   ============================================================================================

       #define TELEMETRY_IMPLEMENTATION
       #include "telemetry.h"
       #include <unistd.h>

       TELEMETRY_METRIC(cpu_count, "Number of online CPU cores") {
           return telemetry_int(sysconf(_SC_NPROCESSORS_ONLN));
       }

       int main(int argc, char **argv) {
           telemetry_config cfg = {0};                 // zero means defaults
           cfg.app_name    = "mytool";
           cfg.app_version = "1.4.2";
           cfg.usage_url   = "https://mytool-default-rtdb.firebaseio.com/usage.json";
           cfg.sentry_dsn  = "https://<32-hex-key>@o1.ingest.sentry.io/42";
           telemetry_init(&cfg);                       // never fatal: check the result if you like
           if (argc > 1 && !strcmp(argv[1], "--telemetry")) telemetry_print_disclosure(stdout);
           telemetry_count("runs", 1);
           telemetry_report_usage();
           telemetry_shutdown();
       }

   ============================================================================================
   3. BUILD OPTIONS (define before the implementation include; each is tested in the matrix)
   ============================================================================================

       macro                          default      what it does
       -----------------------------  -----------  ---------------------------------------------
       TELEMETRY_STATIC               off          make every symbol (functions and data) static,
                                                   for a program that embeds the library twice
       TELEMETRY_API                  extern       decoration of every public function
       TELEMETRY_NO_THREADS           off          no worker thread and no locks; sends happen
                                                   in telemetry_flush / telemetry_shutdown
       TELEMETRY_NO_TLS               off          no BearSSL: plain http or your own I/O only
       TELEMETRY_NO_CRASH_HANDLER     off          never install signal handlers
       TELEMETRY_NO_AUTO_REGISTER     off          TELEMETRY_METRIC does not self-register; call
                                                   TELEMETRY_REGISTER(id) for each metric
       TELEMETRY_MALLOC(sz)           malloc       allocator override: define all three or none
       TELEMETRY_REALLOC(p, sz)       realloc        (enforced with #error)
       TELEMETRY_FREE(p)              free
       TELEMETRY_ASSERT(c)            assert(c)    assertion override
       TELEMETRY_MAX_COUNTERS         128          distinct telemetry_count() names (power of 2)
       TELEMETRY_MAX_NAME             64           longest counter or metric name, in bytes
       TELEMETRY_MAX_STRING_VALUE     1024         longest metric string value kept, in bytes
       TELEMETRY_JSON_MAX_DEPTH       32           deepest nesting the JSON writer accepts

   ============================================================================================
   4. WHAT IT DOES NOT DO
   ============================================================================================

   - It never collects the user name, host name, file paths, IP addresses, the environment or the
     command line. The only identifier is a random install id (128 bits from the OS's secure
     random source), which the user can delete by revoking consent.
   - It does not follow HTTP redirects to arbitrary hosts, speak HTTP/2 or TLS 1.3 (BearSSL 0.6
     speaks TLS 1.2), or compress payloads.
   - It has no switch that turns off certificate verification.
   - It never aborts or exits the host program; every failure is a result code and a log line.

   ============================================================================================
   5. PRIVACY AND OPT-OUT
   ============================================================================================

   Telemetry is OFF, and the library then opens no socket, creates no file and queues nothing,
   when any one of these says so (checked by telemetry_init, in this order):

       1. DO_NOT_TRACK is set to anything but an explicit false ("", 0, false, no, off);
       2. <APP>_NO_TELEMETRY is set likewise (app name upper-cased, other characters as '_');
       3. the program's config file (cfg.config_file) sets cfg.config_key (default "telemetry")
          to a false value (false, off, no, 0, disabled) as `key = value`, `key: value` or
          `key=value` (INI, TOML and YAML-style lines; '#' and ';' comments; quotes allowed);
       4. the user revoked consent with telemetry_set_consent(0), kept in the state folder;
       5. cfg.opt_in is set and consent was never given with telemetry_set_consent(1).

   telemetry_print_disclosure(FILE *) prints whether telemetry is on and which source decided it,
   every metric with its description and current value, the endpoints' hosts, the state folder,
   the install id, how to opt out, and the usage report exactly as it would be sent.
   TELEMETRY_DEBUG=1 in the environment prints every payload to stderr instead of sending it.

   ============================================================================================
   6. WHAT IS SENT
   ============================================================================================

   A usage report (telemetry_report_usage) is one JSON object:

       {"app":"mytool","version":"1.4.2","library":"0.1.0","install_id":"<32 hex>",
        "timestamp":"2026-11-26T10:00:00.000Z",
        "metrics":{"arch":"x86_64","first_run":true,...},"counters":{"runs":1}}

   Built-in metrics: app, app_version, arch, first_run, library_version, os, os_version.
   docs/ shows every field of every payload.

   ============================================================================================
   7. STATE FOLDER
   ============================================================================================

   cfg.state_dir, else $XDG_STATE_HOME/<app>, else ~/.local/state/<app> (Linux and other Unix),
   ~/Library/Application Support/<app> (macOS), %LOCALAPPDATA%\<app> (Windows). Created with
   owner-only permissions on the first enabled run. It holds `install_id` and `consent`.
   Every file is written atomically (temporary file, flush, fsync, rename).

   ============================================================================================
   8. THREADS, ERRORS AND LOGGING
   ============================================================================================

   Every public function may be called from any thread. telemetry_count() takes no lock and
   allocates nothing once its name has been seen. Functions return telemetry_result codes: 0 is
   success, negatives are errors; telemetry_result_string() describes each. Network and server
   failures are never fatal. Log lines go to cfg.log_fn (with cfg.log_user_data); without one,
   they go to stderr only when TELEMETRY_DEBUG is set.

   ============================================================================================
   9. METRICS
   ============================================================================================

       TELEMETRY_METRIC(id, "description") { return telemetry_int(42); }

   defines a metric whose key in the usage report is `id` and whose description is shown by the
   disclosure. Defining it registers it before main() (GCC/Clang constructor, MSVC .CRT$XCU).
   Where that cannot work (other compilers, TELEMETRY_NO_AUTO_REGISTER, or a metric inside a
   static library whose object file nothing else references, so the linker drops it), register
   it by hand; registering twice is harmless:

       TELEMETRY_METRIC_DECLARE(cpu_count);          // in any file: declares the metric
       TELEMETRY_REGISTER(cpu_count);                // before telemetry_report_usage()

   Metric functions run when a report or disclosure is built, on the calling thread. A string
   value is copied at once (up to TELEMETRY_MAX_STRING_VALUE bytes), so it may point to a static
   buffer. Metric identifiers are at most TELEMETRY_MAX_NAME-1 bytes of [A-Za-z0-9_-].

   ============================================================================================
   10. PUBLIC FUNCTIONS AND CONFIG FIELDS
   ============================================================================================

   See the declarations below: each has a comment. docs/api.md repeats them with examples.
*/

#ifndef TELEMETRY_H
#define TELEMETRY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TELEMETRY_VERSION_MAJOR 0
#define TELEMETRY_VERSION_MINOR 1
#define TELEMETRY_VERSION_PATCH 0
#define TELEMETRY_VERSION_STRING "0.1.0"
#define TELEMETRY_SDK_NAME "telemetry.h"

#ifndef TELEMETRY_API
#  ifdef TELEMETRY_STATIC
#    define TELEMETRY_API static
#  else
#    define TELEMETRY_API extern
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results: 0 success, negatives errors ------------------------------------------------ */
#define TELEMETRY__RESULTS(X) \
    X(TELEMETRY_OK,                    0, "success") \
    X(TELEMETRY_DISABLED,             -1, "telemetry is off (the user opted out or never opted in)") \
    X(TELEMETRY_ERR_INVALID_ARGUMENT, -2, "invalid argument") \
    X(TELEMETRY_ERR_INVALID_CONFIG,   -3, "invalid configuration") \
    X(TELEMETRY_ERR_INVALID_URL,      -4, "invalid URL") \
    X(TELEMETRY_ERR_INVALID_DSN,      -5, "invalid Sentry DSN") \
    X(TELEMETRY_ERR_NO_MEMORY,        -6, "out of memory") \
    X(TELEMETRY_ERR_NO_SPACE,         -7, "output buffer too small") \
    X(TELEMETRY_ERR_NOT_INITIALIZED,  -8, "telemetry_init has not been called") \
    X(TELEMETRY_ERR_ALREADY_INITIALIZED, -9, "telemetry_init was already called") \
    X(TELEMETRY_ERR_IO,              -10, "file system error") \
    X(TELEMETRY_ERR_ENTROPY,         -11, "no secure random source") \
    X(TELEMETRY_ERR_DUPLICATE,       -12, "a metric with this identifier is already registered") \
    X(TELEMETRY_ERR_NOT_CONFIGURED,  -13, "no endpoint configured for this kind of payload") \
    X(TELEMETRY_ERR_NETWORK,         -14, "network error (resolve, connect, send or receive)") \
    X(TELEMETRY_ERR_TIMEOUT,         -15, "deadline passed") \
    X(TELEMETRY_ERR_TLS,             -16, "TLS error (handshake or certificate validation)") \
    X(TELEMETRY_ERR_PROTOCOL,        -17, "malformed or oversized HTTP response") \
    X(TELEMETRY_ERR_HTTP_STATUS,     -18, "the server answered with an error status") \
    X(TELEMETRY_ERR_RATE_LIMITED,    -19, "rate limited by the server") \
    X(TELEMETRY_ERR_UNSUPPORTED,     -20, "not supported by this build")

typedef enum telemetry_result {
#define TELEMETRY__RESULT_ENUM(name, value, text) name = value,
    TELEMETRY__RESULTS(TELEMETRY__RESULT_ENUM)
#undef TELEMETRY__RESULT_ENUM
    TELEMETRY__RESULT_LAST = -21
} telemetry_result;

/* ---- levels ------------------------------------------------------------------------------- */
typedef enum telemetry_level {
    TELEMETRY_LEVEL_DEBUG = 0,
    TELEMETRY_LEVEL_INFO,
    TELEMETRY_LEVEL_WARNING,
    TELEMETRY_LEVEL_ERROR,
    TELEMETRY_LEVEL_FATAL
} telemetry_level;

/* ---- metric values ------------------------------------------------------------------------ */
typedef enum telemetry_value_type {
    TELEMETRY_VALUE_NULL = 0,
    TELEMETRY_VALUE_BOOL,
    TELEMETRY_VALUE_INT,
    TELEMETRY_VALUE_DOUBLE,
    TELEMETRY_VALUE_STRING
} telemetry_value_type;

typedef struct telemetry_value {
    telemetry_value_type type;
    union { int b; int64_t i; double d; const char *s; } as;
} telemetry_value;

TELEMETRY_API telemetry_value telemetry_string(const char *s);   /* NULL becomes null */
TELEMETRY_API telemetry_value telemetry_int(int64_t i);
TELEMETRY_API telemetry_value telemetry_double(double d);        /* NaN, inf become null */
TELEMETRY_API telemetry_value telemetry_bool(int b);
TELEMETRY_API telemetry_value telemetry_null(void);

/* ---- metric registry ---------------------------------------------------------------------- */
typedef struct telemetry_metric {
    const char *id;                       /* key in the usage report */
    const char *description;              /* shown by telemetry_print_disclosure */
    telemetry_value (*fn)(void);          /* writes the value, called at report time */
    struct telemetry_metric *next;        /* registry link: the library's, do not touch */
    int registered;                       /* the library's, do not touch */
} telemetry_metric;

/* Registers a metric by hand (see section 9). 0, TELEMETRY_ERR_DUPLICATE for another metric with
   the same id, or TELEMETRY_ERR_INVALID_ARGUMENT for a bad id. Registering the same metric
   twice is harmless and returns 0. */
TELEMETRY_API int telemetry_register_metric(telemetry_metric *metric);

#ifdef __cplusplus
#  define TELEMETRY__EXTERN_C extern "C"
#else
#  define TELEMETRY__EXTERN_C extern
#endif

#define TELEMETRY_METRIC_DECLARE(id) TELEMETRY__EXTERN_C telemetry_metric telemetry_metric_##id
#define TELEMETRY_REGISTER(id) telemetry_register_metric(&telemetry_metric_##id)

#if defined(TELEMETRY_NO_AUTO_REGISTER)
#  define TELEMETRY__AUTO_REGISTER(id)
#elif defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__AUTO_REGISTER(id) \
    __attribute__((constructor)) static void telemetry__register_##id(void) { TELEMETRY_REGISTER(id); }
#elif defined(_MSC_VER)
#  pragma section(".CRT$XCU", read)
#  define TELEMETRY__AUTO_REGISTER(id) \
    static void __cdecl telemetry__register_##id(void) { TELEMETRY_REGISTER(id); } \
    __declspec(allocate(".CRT$XCU")) void (__cdecl *telemetry__register_ptr_##id)(void) = telemetry__register_##id;
#else
#  define TELEMETRY__AUTO_REGISTER(id)   /* unknown compiler: register by hand */
#endif

/* TELEMETRY_METRIC(id, "description") { return telemetry_int(...); } */
#define TELEMETRY_METRIC(id, description) \
    static telemetry_value telemetry__metric_fn_##id(void); \
    TELEMETRY_METRIC_DECLARE(id); \
    telemetry_metric telemetry_metric_##id = { #id, description, telemetry__metric_fn_##id, 0, 0 }; \
    TELEMETRY__AUTO_REGISTER(id) \
    static telemetry_value telemetry__metric_fn_##id(void)

/* ---- pluggable platform (embedded builds) ------------------------------------------------- */

/* Your own byte stream, used instead of the library's sockets when set. Every call receives the
   time left before the request's deadline; honour it. Return bytes moved (> 0), 0 for end of
   stream (read only), or a negative telemetry_result. */
typedef struct telemetry_io {
    int  (*connect)(void *user_data, const char *host, int port, unsigned timeout_ms, void **conn);
    long (*read)(void *user_data, void *conn, void *buf, size_t len, unsigned timeout_ms);
    long (*write)(void *user_data, void *conn, const void *buf, size_t len, unsigned timeout_ms);
    void (*close)(void *user_data, void *conn);
    void *user_data;
} telemetry_io;

typedef void (*telemetry_log_fn)(telemetry_level level, const char *message, void *user_data);

/* ---- configuration: zero means default ---------------------------------------------------- */
typedef struct telemetry_config {
    const char *app_name;        /* required: [A-Za-z0-9_-]+, at most 64 bytes */
    const char *app_version;     /* default "0"; Sentry release is "<app_name>@<app_version>" */
    const char *environment;     /* default "production" */
    const char *dist;            /* default none: Sentry build variant */
    const char *sentry_dsn;      /* default none: no error or crash reports */
    const char *usage_url;       /* default none: no usage reports. Firebase ".json" URL (may end in
                                    ?auth=...) or any http(s) endpoint taking a JSON POST */
    const char *state_dir;       /* default: the per-user state folder for the app (section 7) */
    const char *ca_file;         /* default: the system CA bundle. A PEM file of trust anchors */
    const char *ca_pem;          /* default none: PEM trust anchors compiled into the program (for
                                    devices with no bundle); used instead of ca_file and the system */
    const char *config_file;     /* default none: the app's own config file that may turn it off */
    const char *config_key;      /* default "telemetry": the key in config_file */
    int opt_in;                  /* default 0 (opt-out mode). Nonzero: off until consent given */
    unsigned timeout_ms;         /* default 10000: deadline of one request, connect to response */
    unsigned shutdown_timeout_ms;/* default 2000: most telemetry_shutdown waits.
                                    TELEMETRY_NO_WAIT: do not wait at all */
    int no_crash_handler;        /* default 0: install the crash handler when a DSN is set */
    telemetry_log_fn log_fn;     /* default: stderr, only when TELEMETRY_DEBUG is set */
    void *log_user_data;         /* passed to log_fn */
    const telemetry_io *io;      /* default: the library's own sockets */
    /* default: the OS's secure random source. Fill buf with len random bytes, 0 on success */
    int (*entropy_fn)(void *user_data, void *buf, size_t len);
    /* default: the system clock. Current UTC time in milliseconds since 1970 */
    int64_t (*clock_fn)(void *user_data);
    void *platform_user_data;    /* passed to entropy_fn and clock_fn */
} telemetry_config;

#define TELEMETRY_NO_WAIT 0xFFFFFFFFu

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* Validates the config, decides consent and prepares state. Returns quickly and never touches
   the network on the calling thread (unless built with TELEMETRY_NO_THREADS). 0 when telemetry
   is on, TELEMETRY_DISABLED when the user opted out (still a valid state: every other call then
   does nothing), or a negative error for an invalid config (telemetry then stays off). */
TELEMETRY_API int telemetry_init(const telemetry_config *config);
/* Waits at most timeout_ms for queued payloads to be sent. 0 when the queue is empty. */
TELEMETRY_API int telemetry_flush(unsigned timeout_ms);
/* Ends the session, waits at most shutdown_timeout_ms, keeps unsent payloads for the next run,
   releases everything. Safe to call when init failed or was never called. */
TELEMETRY_API void telemetry_shutdown(void);
TELEMETRY_API const char *telemetry_result_string(int result);

/* ---- consent and transparency ------------------------------------------------------------- */
TELEMETRY_API int telemetry_enabled(void);          /* 1 when on, 0 when off or not initialised */
/* Nonzero gives consent, zero revokes it. Persisted in the state folder. Revoking also deletes
   the install id and every queued payload, and turns telemetry off at once. */
TELEMETRY_API int telemetry_set_consent(int given);
/* Prints whether telemetry is on and why, every metric with description and current value,
   endpoints, state folder, install id, how to opt out, and the next usage report as sent. */
TELEMETRY_API int telemetry_print_disclosure(FILE *out);

/* ---- usage -------------------------------------------------------------------------------- */
/* Adds delta to a named counter (created on first use, at most TELEMETRY_MAX_COUNTERS names).
   Thread-safe; lock-free and allocation-free once the name is known. Counters are sent with the
   next usage report and then reset. */
TELEMETRY_API int telemetry_count(const char *name, int64_t delta);
/* Collects every registered metric and the counters into one JSON document and sends it to
   usage_url (or prints it to stderr with TELEMETRY_DEBUG=1). */
TELEMETRY_API int telemetry_report_usage(void);
/* Builds the usage report into a growable buffer the caller frees with telemetry_free. */
TELEMETRY_API int telemetry_build_usage_report(char **json, size_t *len);
TELEMETRY_API void telemetry_free(void *p);

/* ---- errors, messages, breadcrumbs -------------------------------------------------------- */
#if defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#  define TELEMETRY__PRINTF(fmt_index, first_arg)
#endif
TELEMETRY_API int telemetry_capture_message(telemetry_level level, const char *fmt, ...) TELEMETRY__PRINTF(2, 3);
TELEMETRY_API int telemetry_capture_error(const char *type, const char *fmt, ...) TELEMETRY__PRINTF(2, 3);
TELEMETRY_API int telemetry_add_breadcrumb(const char *category, const char *fmt, ...) TELEMETRY__PRINTF(2, 3);
TELEMETRY_API int telemetry_set_tag(const char *key, const char *value);

#ifdef __cplusplus
}
#endif
#endif /* TELEMETRY_H */

/* =============================================================================================
   =============================================================================================

       IMPLEMENTATION

   =============================================================================================
   ============================================================================================= */
#if defined(TELEMETRY_IMPLEMENTATION) && !defined(TELEMETRY__IMPLEMENTED)
#define TELEMETRY__IMPLEMENTED

/* =============================================================================================
   >>platform: includes, overrides, atomics, locks, clock, entropy
   ============================================================================================= */
#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  include <bcrypt.h>
#  include <direct.h>
#  include <io.h>
#else
#  if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#    error "telemetry.h: define _POSIX_C_SOURCE 200809L (or _GNU_SOURCE) before any include in the implementation file, or compile with -D_POSIX_C_SOURCE=200809L"
#  endif
#  include <unistd.h>
#  include <fcntl.h>
#  include <errno.h>
#  include <sys/types.h>
#  include <sys/stat.h>
#  include <sys/time.h>
#  include <sys/utsname.h>
#  include <time.h>
#  if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#    include <sys/random.h>
#    define TELEMETRY__HAVE_GETRANDOM 1
#  endif
#  ifndef TELEMETRY_NO_THREADS
#    include <pthread.h>
#  endif
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <math.h>

#if defined(TELEMETRY_MALLOC) && defined(TELEMETRY_REALLOC) && defined(TELEMETRY_FREE)
/* all three given */
#elif !defined(TELEMETRY_MALLOC) && !defined(TELEMETRY_REALLOC) && !defined(TELEMETRY_FREE)
#  define TELEMETRY_MALLOC(sz) malloc(sz)
#  define TELEMETRY_REALLOC(p, sz) realloc((p), (sz))
#  define TELEMETRY_FREE(p) free(p)
#else
#  error "telemetry.h: define all of TELEMETRY_MALLOC, TELEMETRY_REALLOC and TELEMETRY_FREE, or none"
#endif

#ifndef TELEMETRY_ASSERT
#  include <assert.h>
#  define TELEMETRY_ASSERT(c) assert(c)
#endif
#ifndef TELEMETRY_MAX_COUNTERS
#  define TELEMETRY_MAX_COUNTERS 128
#endif
#ifndef TELEMETRY_MAX_NAME
#  define TELEMETRY_MAX_NAME 64
#endif
#ifndef TELEMETRY_MAX_STRING_VALUE
#  define TELEMETRY_MAX_STRING_VALUE 1024
#endif
#ifndef TELEMETRY_JSON_MAX_DEPTH
#  define TELEMETRY_JSON_MAX_DEPTH 32
#endif
#if (TELEMETRY_MAX_COUNTERS & (TELEMETRY_MAX_COUNTERS - 1)) != 0
#  error "telemetry.h: TELEMETRY_MAX_COUNTERS must be a power of two"
#endif

/* Internal linkage for data and functions under TELEMETRY_STATIC. */
#ifdef TELEMETRY_STATIC
#  define TELEMETRY__DEF static
#else
#  define TELEMETRY__DEF
#endif
#if defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__UNUSED __attribute__((unused))
#else
#  define TELEMETRY__UNUSED
#endif
/* Internal functions: static, and quiet when a build option leaves one unused. */
#define TELEMETRY__INTERNAL static TELEMETRY__UNUSED

/* Atomics: GCC/Clang builtins, MSVC interlocked, or plain access without threads. */
#if defined(TELEMETRY_NO_THREADS)
#  define TELEMETRY__ATOMIC_LOAD(p) (*(p))
#  define TELEMETRY__ATOMIC_STORE(p, v) (*(p) = (v))
#  define TELEMETRY__ATOMIC_ADD64(p, v) (*(p) += (v))
#  define TELEMETRY__ATOMIC_XCHG64(p, v) telemetry__xchg64_plain((p), (v))
#  define TELEMETRY__ATOMIC_CAS_INT(p, expected, desired) \
     (*(p) == (expected) ? (*(p) = (desired), 1) : 0)
TELEMETRY__INTERNAL int64_t telemetry__xchg64_plain(int64_t *p, int64_t v) { int64_t o = *p; *p = v; return o; }
#elif defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#  define TELEMETRY__ATOMIC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#  define TELEMETRY__ATOMIC_ADD64(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#  define TELEMETRY__ATOMIC_XCHG64(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#  define TELEMETRY__ATOMIC_CAS_INT(p, expected, desired) \
     telemetry__cas_int((p), (expected), (desired))
TELEMETRY__INTERNAL int telemetry__cas_int(int *p, int expected, int desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
#elif defined(_MSC_VER)
#  include <intrin.h>
#  define TELEMETRY__ATOMIC_LOAD(p) (_ReadWriteBarrier(), *(volatile long *)(p))
#  define TELEMETRY__ATOMIC_STORE(p, v) (_ReadWriteBarrier(), *(volatile long *)(p) = (v))
#  define TELEMETRY__ATOMIC_ADD64(p, v) _InterlockedExchangeAdd64((volatile __int64 *)(p), (v))
#  define TELEMETRY__ATOMIC_XCHG64(p, v) _InterlockedExchange64((volatile __int64 *)(p), (v))
#  define TELEMETRY__ATOMIC_CAS_INT(p, expected, desired) \
     (_InterlockedCompareExchange((volatile long *)(p), (desired), (expected)) == (expected))
#else
#  error "telemetry.h: no atomics for this compiler; build with TELEMETRY_NO_THREADS"
#endif

/* One process-wide lock guards the library's state; the hot paths (telemetry_count) avoid it. */
#if defined(TELEMETRY_NO_THREADS)
typedef int telemetry__mutex;
#  define TELEMETRY__MUTEX_INIT 0
#  define telemetry__lock(m) ((void)(m))
#  define telemetry__unlock(m) ((void)(m))
#elif defined(_WIN32)
typedef SRWLOCK telemetry__mutex;
#  define TELEMETRY__MUTEX_INIT SRWLOCK_INIT
#  define telemetry__lock(m) AcquireSRWLockExclusive(m)
#  define telemetry__unlock(m) ReleaseSRWLockExclusive(m)
#else
typedef pthread_mutex_t telemetry__mutex;
#  define TELEMETRY__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#  define telemetry__lock(m) pthread_mutex_lock(m)
#  define telemetry__unlock(m) pthread_mutex_unlock(m)
#endif

/* ---- memory -------------------------------------------------------------------------------- */
TELEMETRY__INTERNAL void *telemetry__malloc(size_t n) { return TELEMETRY_MALLOC(n ? n : 1); }
TELEMETRY__INTERNAL void *telemetry__realloc(void *p, size_t n) { return TELEMETRY_REALLOC(p, n ? n : 1); }
TELEMETRY__INTERNAL void telemetry__free(void *p) { if (p) TELEMETRY_FREE(p); }

TELEMETRY__INTERNAL char *telemetry__strndup(const char *s, size_t n) {
    char *d;
    if (!s) return NULL;
    d = (char *)telemetry__malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}
TELEMETRY__INTERNAL char *telemetry__strdup(const char *s) { return s ? telemetry__strndup(s, strlen(s)) : NULL; }

/* Bounded copy that always terminates; returns 0 when it fit, -1 when truncated. */
TELEMETRY__INTERNAL int telemetry__copy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (cap == 0) return -1;
    if (n >= cap) { memcpy(dst, src, cap - 1); dst[cap - 1] = 0; return -1; }
    memcpy(dst, src, n + 1);
    return 0;
}

TELEMETRY__INTERNAL int telemetry__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
TELEMETRY__INTERNAL int telemetry__strieq(const char *a, const char *b) {
    while (*a && *b && telemetry__lower((unsigned char)*a) == telemetry__lower((unsigned char)*b)) { a++; b++; }
    return *a == 0 && *b == 0;
}
TELEMETRY__INTERNAL int telemetry__strnieq(const char *a, const char *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (telemetry__lower((unsigned char)a[i]) != telemetry__lower((unsigned char)b[i])) return 0;
        if (!a[i]) return 1;
    }
    return 1;
}

/* ---- clock --------------------------------------------------------------------------------- */
/* Wall-clock UTC milliseconds since 1970 (for timestamps and certificate dates). */
TELEMETRY__INTERNAL int64_t telemetry__system_time_ms(void) {
#if defined(_WIN32)
    FILETIME ft; ULARGE_INTEGER u;
    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime; u.HighPart = ft.dwHighDateTime;
    return (int64_t)(u.QuadPart / 10000u) - INT64_C(11644473600000);
#else
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}
/* Monotonic milliseconds (for deadlines): never jumps with the wall clock. */
TELEMETRY__INTERNAL int64_t telemetry__monotonic_ms(void) {
#if defined(_WIN32)
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's well-known
   algorithm, re-derived). Pure arithmetic: usable in a signal handler. */
TELEMETRY__INTERNAL void telemetry__civil(int64_t days, int *y, int *m, int *d) {
    int64_t era, doe, yoe, doy, mp;
    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* RFC 3339 UTC with milliseconds, "2024-08-15T10:20:31.250Z" (24 chars + NUL). Signal-safe. */
TELEMETRY__INTERNAL void telemetry__format_time(int64_t ms, char out[32]) {
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int y, mo, d, i = 0, frac = (int)(ms - secs * 1000);
    int fields[6];
    telemetry__civil(days, &y, &mo, &d);
    fields[0] = y; fields[1] = mo; fields[2] = d;
    fields[3] = (int)(rem / 3600); fields[4] = (int)(rem / 60 % 60); fields[5] = (int)(rem % 60);
    if (y < 0 || y > 9999) { y = 0; fields[0] = 0; }
    out[i++] = (char)('0' + fields[0] / 1000); out[i++] = (char)('0' + fields[0] / 100 % 10);
    out[i++] = (char)('0' + fields[0] / 10 % 10); out[i++] = (char)('0' + fields[0] % 10);
    out[i++] = '-'; out[i++] = (char)('0' + fields[1] / 10); out[i++] = (char)('0' + fields[1] % 10);
    out[i++] = '-'; out[i++] = (char)('0' + fields[2] / 10); out[i++] = (char)('0' + fields[2] % 10);
    out[i++] = 'T'; out[i++] = (char)('0' + fields[3] / 10); out[i++] = (char)('0' + fields[3] % 10);
    out[i++] = ':'; out[i++] = (char)('0' + fields[4] / 10); out[i++] = (char)('0' + fields[4] % 10);
    out[i++] = ':'; out[i++] = (char)('0' + fields[5] / 10); out[i++] = (char)('0' + fields[5] % 10);
    out[i++] = '.'; out[i++] = (char)('0' + frac / 100); out[i++] = (char)('0' + frac / 10 % 10);
    out[i++] = (char)('0' + frac % 10); out[i++] = 'Z'; out[i] = 0;
}

/* ---- entropy ------------------------------------------------------------------------------- */
/* The OS's secure random source. 0 on success. */
TELEMETRY__INTERNAL int telemetry__os_entropy(void *buf, size_t len) {
#if defined(_WIN32)
    return BCryptGenRandom(NULL, (PUCHAR)buf, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0 ? 0 : -1;
#elif defined(__APPLE__) || defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__)
    arc4random_buf(buf, len);
    return 0;
#else
    unsigned char *p = (unsigned char *)buf;
    int fd;
#  if defined(TELEMETRY__HAVE_GETRANDOM)
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) { if (errno == EINTR) continue; break; }
        p += n; len -= (size_t)n;
    }
    if (len == 0) return 0;
#  endif
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0) { if (n < 0 && errno == EINTR) continue; close(fd); return -1; }
        p += n; len -= (size_t)n;
    }
    close(fd);
    return 0;
#endif
}

/* =============================================================================================
   >>log: one log function; messages go to the program's callback
   ============================================================================================= */
typedef struct telemetry__logger {
    telemetry_log_fn fn;
    void *user_data;
    int debug;               /* TELEMETRY_DEBUG set: default logger writes to stderr */
} telemetry__logger;

TELEMETRY__DEF telemetry__logger telemetry__log_sink = { NULL, NULL, 0 };

TELEMETRY__INTERNAL void telemetry__log(telemetry_level level, const char *fmt, ...) TELEMETRY__PRINTF(2, 3);
TELEMETRY__INTERNAL void telemetry__log(telemetry_level level, const char *fmt, ...) {
    static const char *names[] = { "debug", "info", "warning", "error", "fatal" };
    char msg[512];
    va_list ap;
    if (!telemetry__log_sink.fn && !telemetry__log_sink.debug) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (telemetry__log_sink.fn) telemetry__log_sink.fn(level, msg, telemetry__log_sink.user_data);
    else fprintf(stderr, "telemetry: %s: %s\n", names[(int)level % 5], msg);
}

/* =============================================================================================
   >>buf: a growable byte buffer, or a fixed one that reports overflow
   ============================================================================================= */
typedef struct telemetry__buf {
    char *data;
    size_t len, cap;
    int fixed;        /* caller's memory: never reallocated */
    int failed;       /* ran out of room or memory: the content is incomplete */
} telemetry__buf;

TELEMETRY__INTERNAL void telemetry__buf_init(telemetry__buf *b) { memset(b, 0, sizeof *b); }
TELEMETRY__INTERNAL void telemetry__buf_init_fixed(telemetry__buf *b, char *mem, size_t cap) {
    memset(b, 0, sizeof *b);
    b->data = mem; b->cap = cap; b->fixed = 1;
    if (cap) mem[0] = 0;
}
TELEMETRY__INTERNAL void telemetry__buf_free(telemetry__buf *b) {
    if (!b->fixed) telemetry__free(b->data);
    memset(b, 0, sizeof *b);
}
/* Ensures room for n more bytes plus a terminating NUL. */
TELEMETRY__INTERNAL int telemetry__buf_reserve(telemetry__buf *b, size_t n) {
    size_t need, cap;
    char *p;
    if (b->failed) return -1;
    if (n > (size_t)-1 / 2 - b->len) { b->failed = 1; return -1; }
    need = b->len + n + 1;
    if (need <= b->cap) return 0;
    if (b->fixed) { b->failed = 1; return -1; }
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    p = (char *)telemetry__realloc(b->data, cap);
    if (!p) { b->failed = 1; return -1; }
    b->data = p; b->cap = cap;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__buf_append(telemetry__buf *b, const void *s, size_t n) {
    if (telemetry__buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__buf_puts(telemetry__buf *b, const char *s) { return telemetry__buf_append(b, s, strlen(s)); }
TELEMETRY__INTERNAL int telemetry__buf_putc(telemetry__buf *b, char c) { return telemetry__buf_append(b, &c, 1); }
/* Decimal integer without stdio or locale (signal-safe). */
TELEMETRY__INTERNAL int telemetry__buf_put_i64(telemetry__buf *b, int64_t v) {
    char tmp[24];
    int i = 24;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do { tmp[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) tmp[--i] = '-';
    return telemetry__buf_append(b, tmp + i, (size_t)(24 - i));
}
TELEMETRY__INTERNAL int telemetry__buf_put_hex(telemetry__buf *b, uint64_t v) {
    char tmp[18];
    int i = 18;
    do { tmp[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    tmp[--i] = 'x'; tmp[--i] = '0';
    return telemetry__buf_append(b, tmp + i, (size_t)(18 - i));
}
TELEMETRY__INTERNAL int telemetry__buf_printf(telemetry__buf *b, const char *fmt, ...) TELEMETRY__PRINTF(2, 3);
TELEMETRY__INTERNAL int telemetry__buf_printf(telemetry__buf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    char small[256];
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { b->failed = 1; return -1; }
    if ((size_t)n < sizeof small) return telemetry__buf_append(b, small, (size_t)n);
    if (telemetry__buf_reserve(b, (size_t)n)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* =============================================================================================
   >>json: a small JSON writer. Always valid JSON and valid UTF-8 out, whatever bytes come in.
   Into a fixed buffer it allocates nothing and calls nothing unsafe in a signal handler, except
   for doubles (snprintf); telemetry__json_decimal writes fixed-point numbers safely instead.
   ============================================================================================= */
typedef struct telemetry__json {
    telemetry__buf *out;
    int depth;
    int error;                                     /* nesting misuse */
    unsigned char count[TELEMETRY_JSON_MAX_DEPTH]; /* values written at each level (0, 1, many) */
    unsigned char is_object[TELEMETRY_JSON_MAX_DEPTH];
    int after_key;
} telemetry__json;

TELEMETRY__INTERNAL void telemetry__json_init(telemetry__json *j, telemetry__buf *out) {
    memset(j, 0, sizeof *j);
    j->out = out;
}

/* Length of the well-formed UTF-8 sequence at s (1-4), or 0 when it is ill-formed; then *bad is
   the length of its maximal ill-formed prefix (1-3), replaced by one U+FFFD (Unicode 3.9, "best
   practice for U+FFFD substitution"). */
TELEMETRY__INTERNAL size_t telemetry__utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned c = s[0];
    size_t need, i;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else { *bad = 1; return 0; }
    for (i = 1; i <= need; i++) {
        unsigned lim_lo = i == 1 ? lo : 0x80, lim_hi = i == 1 ? hi : 0xBF;
        if (i >= n || s[i] < lim_lo || s[i] > lim_hi) { *bad = i; return 0; }
    }
    return need + 1;
}

/* Writes s (n bytes) as a quoted JSON string: escapes '"', '\\', controls and DEL; replaces
   ill-formed UTF-8 with U+FFFD. */
TELEMETRY__INTERNAL int telemetry__json_quote(telemetry__buf *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    if (telemetry__buf_putc(b, '"')) return -1;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7F) { run++; i++; continue; }
        if (run) { telemetry__buf_append(b, p + i - run, run); run = 0; }
        if (c < 0x80) {
            char esc[7];
            switch (c) {
            case '"': telemetry__buf_append(b, "\\\"", 2); break;
            case '\\': telemetry__buf_append(b, "\\\\", 2); break;
            case '\n': telemetry__buf_append(b, "\\n", 2); break;
            case '\r': telemetry__buf_append(b, "\\r", 2); break;
            case '\t': telemetry__buf_append(b, "\\t", 2); break;
            case '\b': telemetry__buf_append(b, "\\b", 2); break;
            case '\f': telemetry__buf_append(b, "\\f", 2); break;
            default:
                esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                esc[4] = "0123456789abcdef"[c >> 4]; esc[5] = "0123456789abcdef"[c & 15];
                telemetry__buf_append(b, esc, 6);
            }
            i++;
        } else {
            size_t bad = 0, len = telemetry__utf8_seq(p + i, n - i, &bad);
            if (len) { telemetry__buf_append(b, p + i, len); i += len; }
            else { telemetry__buf_append(b, "\xEF\xBF\xBD", 3); i += bad; }
        }
    }
    if (run) telemetry__buf_append(b, p + i - run, run);
    telemetry__buf_putc(b, '"');
    return b->failed ? -1 : 0;
}

/* Separator before a value: a comma after a previous sibling, nothing after a key. */
TELEMETRY__INTERNAL void telemetry__json_pre(telemetry__json *j) {
    if (j->after_key) { j->after_key = 0; return; }
    if (j->depth > 0) {
        if (j->is_object[j->depth - 1]) j->error = 1;   /* value without key inside an object */
        if (j->count[j->depth - 1]) telemetry__buf_putc(j->out, ',');
        j->count[j->depth - 1] = 1;
    } else if (j->count[0] == 2) {
        j->error = 1;                                    /* second top-level value */
    }
}
TELEMETRY__INTERNAL void telemetry__json_open(telemetry__json *j, char c, int is_object) {
    telemetry__json_pre(j);
    if (j->depth == 0) j->count[0] = 2;
    if (j->depth >= TELEMETRY_JSON_MAX_DEPTH - 1) { j->error = 1; return; }
    telemetry__buf_putc(j->out, c);
    j->depth++;
    j->count[j->depth - 1] = 0;
    j->is_object[j->depth - 1] = (unsigned char)is_object;
}
TELEMETRY__INTERNAL void telemetry__json_close(telemetry__json *j, char c, int is_object) {
    if (j->depth <= 1 && j->depth == 0) { j->error = 1; return; }
    if (j->is_object[j->depth - 1] != is_object || j->after_key) j->error = 1;
    telemetry__buf_putc(j->out, c);
    j->depth--;
}
TELEMETRY__INTERNAL void telemetry__json_object_begin(telemetry__json *j) { telemetry__json_open(j, '{', 1); }
TELEMETRY__INTERNAL void telemetry__json_object_end(telemetry__json *j) { telemetry__json_close(j, '}', 1); }
TELEMETRY__INTERNAL void telemetry__json_array_begin(telemetry__json *j) { telemetry__json_open(j, '[', 0); }
TELEMETRY__INTERNAL void telemetry__json_array_end(telemetry__json *j) { telemetry__json_close(j, ']', 0); }

TELEMETRY__INTERNAL void telemetry__json_key_n(telemetry__json *j, const char *k, size_t n) {
    if (j->depth == 0 || !j->is_object[j->depth - 1] || j->after_key) { j->error = 1; return; }
    if (j->count[j->depth - 1]) telemetry__buf_putc(j->out, ',');
    j->count[j->depth - 1] = 1;
    telemetry__json_quote(j->out, k, n);
    telemetry__buf_putc(j->out, ':');
    j->after_key = 1;
}
TELEMETRY__INTERNAL void telemetry__json_key(telemetry__json *j, const char *k) { telemetry__json_key_n(j, k, strlen(k)); }
TELEMETRY__INTERNAL void telemetry__json_value_start(telemetry__json *j) {
    telemetry__json_pre(j);
    if (j->depth == 0) j->count[0] = 2;
}
TELEMETRY__INTERNAL void telemetry__json_string_n(telemetry__json *j, const char *s, size_t n) {
    telemetry__json_value_start(j);
    telemetry__json_quote(j->out, s, n);
}
TELEMETRY__INTERNAL void telemetry__json_string(telemetry__json *j, const char *s) {
    if (!s) { telemetry__json_value_start(j); telemetry__buf_puts(j->out, "null"); return; }
    telemetry__json_string_n(j, s, strlen(s));
}
TELEMETRY__INTERNAL void telemetry__json_int(telemetry__json *j, int64_t v) {
    telemetry__json_value_start(j);
    telemetry__buf_put_i64(j->out, v);
}
TELEMETRY__INTERNAL void telemetry__json_bool(telemetry__json *j, int v) {
    telemetry__json_value_start(j);
    telemetry__buf_puts(j->out, v ? "true" : "false");
}
TELEMETRY__INTERNAL void telemetry__json_null(telemetry__json *j) {
    telemetry__json_value_start(j);
    telemetry__buf_puts(j->out, "null");
}
/* value / 10^scale as a JSON number ("1099.912" for 1099912, 3). Signal-safe. */
TELEMETRY__INTERNAL void telemetry__json_decimal(telemetry__json *j, int64_t value, int scale) {
    char tmp[32];
    int i = 32, k;
    uint64_t u = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    telemetry__json_value_start(j);
    for (k = 0; k < scale; k++) { tmp[--i] = (char)('0' + u % 10); u /= 10; }
    if (scale > 0) tmp[--i] = '.';
    do { tmp[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (value < 0) tmp[--i] = '-';
    telemetry__buf_append(j->out, tmp + i, (size_t)(32 - i));
}
/* Shortest of %.15g, %.16g, %.17g that reads back to the same double (so it round-trips
   exactly), with the locale's decimal point turned into '.'. NaN and infinities are null. */
TELEMETRY__INTERNAL int telemetry__format_double(double v, char out[40]) {
    int prec, i, n = 0;
    const char *dp;
    char point;
    if (v != v || v - v != 0) return 0;  /* NaN or infinity */
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 40, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    dp = localeconv()->decimal_point;
    point = (dp && dp[0]) ? dp[0] : '.';
    for (i = 0; i < n; i++) if (out[i] == point) out[i] = '.';
    for (i = 0; i < n; i++) if (out[i] == '.' || out[i] == 'e' || out[i] == 'n' || out[i] == 'i') break;
    if (i == n && n + 2 < 40) { out[n++] = '.'; out[n++] = '0'; out[n] = 0; }  /* keep it a double */
    return n;
}
TELEMETRY__INTERNAL void telemetry__json_double(telemetry__json *j, double v) {
    char tmp[40];
    int n = telemetry__format_double(v, tmp);
    telemetry__json_value_start(j);
    if (n <= 0) telemetry__buf_puts(j->out, "null");
    else telemetry__buf_append(j->out, tmp, (size_t)n);
}
/* Inserts text that is already valid JSON (a value produced by this writer). */
TELEMETRY__INTERNAL void telemetry__json_raw(telemetry__json *j, const char *s, size_t n) {
    telemetry__json_value_start(j);
    telemetry__buf_append(j->out, s, n);
}
TELEMETRY__INTERNAL void telemetry__json_value(telemetry__json *j, telemetry_value v) {
    switch (v.type) {
    case TELEMETRY_VALUE_BOOL: telemetry__json_bool(j, v.as.b); break;
    case TELEMETRY_VALUE_INT: telemetry__json_int(j, v.as.i); break;
    case TELEMETRY_VALUE_DOUBLE: telemetry__json_double(j, v.as.d); break;
    case TELEMETRY_VALUE_STRING: telemetry__json_string(j, v.as.s); break;
    default: telemetry__json_null(j); break;
    }
}
/* 0 when the document is whole: one complete value, balanced, and it all fit. Never pass off a
   partial document as whole: TELEMETRY_ERR_NO_SPACE / _NO_MEMORY / _INVALID_ARGUMENT otherwise. */
TELEMETRY__INTERNAL int telemetry__json_finish(const telemetry__json *j) {
    if (j->out->failed) return j->out->fixed ? TELEMETRY_ERR_NO_SPACE : TELEMETRY_ERR_NO_MEMORY;
    if (j->error || j->depth != 0 || j->count[0] != 2 || j->after_key) return TELEMETRY_ERR_INVALID_ARGUMENT;
    return TELEMETRY_OK;
}

/* =============================================================================================
   >>url: http(s) URLs and Sentry DSNs (protocols.md section 1)
   ============================================================================================= */
typedef struct telemetry__url {
    int secure;              /* 1 for https */
    char *host;              /* without brackets; IPv6 literals bare ("::1") */
    int host_is_ipv6;
    unsigned port;           /* explicit or the scheme's default */
    int port_given;
    char *target;            /* origin-form request target: path plus "?query"; at least "/" */
} telemetry__url;

TELEMETRY__INTERNAL void telemetry__url_free(telemetry__url *u) {
    telemetry__free(u->host);
    telemetry__free(u->target);
    memset(u, 0, sizeof *u);
}

/* Parses the authority "host[:port]" (host may be "[v6]"). 0 or TELEMETRY_ERR_INVALID_URL. */
TELEMETRY__INTERNAL int telemetry__parse_authority(const char *a, size_t n, telemetry__url *u) {
    size_t host_start = 0, host_end, i;
    unsigned long port = 0;
    if (n == 0) return TELEMETRY_ERR_INVALID_URL;
    if (a[0] == '[') {
        for (i = 1; i < n && a[i] != ']'; i++) {
            char c = a[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
                return TELEMETRY_ERR_INVALID_URL;
        }
        if (i >= n || i == 1) return TELEMETRY_ERR_INVALID_URL;
        host_start = 1; host_end = i; i++;
        u->host_is_ipv6 = 1;
    } else {
        for (i = 0; i < n && a[i] != ':'; i++) {
            unsigned char c = (unsigned char)a[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_'))
                return TELEMETRY_ERR_INVALID_URL;
        }
        host_end = i;
        if (host_end == 0) return TELEMETRY_ERR_INVALID_URL;
    }
    if (host_end - host_start > 253) return TELEMETRY_ERR_INVALID_URL;
    if (i < n) {
        if (a[i] != ':' || i + 1 == n || n - i - 1 > 5) return TELEMETRY_ERR_INVALID_URL;
        for (i++; i < n; i++) {
            if (a[i] < '0' || a[i] > '9') return TELEMETRY_ERR_INVALID_URL;
            port = port * 10 + (unsigned long)(a[i] - '0');
        }
        if (port < 1 || port > 65535) return TELEMETRY_ERR_INVALID_URL;
        u->port = (unsigned)port;
        u->port_given = 1;
    }
    u->host = telemetry__strndup(a + host_start, host_end - host_start);
    if (!u->host) return TELEMETRY_ERR_NO_MEMORY;
    for (i = 0; u->host[i]; i++) u->host[i] = (char)telemetry__lower((unsigned char)u->host[i]);
    return 0;
}

/* Splits "scheme://authority" off text; *rest points after the authority. */
TELEMETRY__INTERNAL int telemetry__parse_scheme(const char *text, int *secure, const char **auth) {
    if (telemetry__strnieq(text, "https://", 8)) { *secure = 1; *auth = text + 8; return 0; }
    if (telemetry__strnieq(text, "http://", 7)) { *secure = 0; *auth = text + 7; return 0; }
    return TELEMETRY_ERR_INVALID_URL;
}

/* Rejects bytes that may not appear in a request target (controls, space, non-ASCII, '#'). */
TELEMETRY__INTERNAL int telemetry__valid_target_chars(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7F || c == '#' || c == '\\') return 0;
    }
    return 1;
}

/* "http(s)://host[:port][/path][?query]". Userinfo is refused (it would leak into logs). */
TELEMETRY__INTERNAL int telemetry__url_parse(const char *text, telemetry__url *u) {
    const char *auth, *end;
    int rc;
    memset(u, 0, sizeof *u);
    if (!text) return TELEMETRY_ERR_INVALID_URL;
    if (telemetry__parse_scheme(text, &u->secure, &auth)) return TELEMETRY_ERR_INVALID_URL;
    end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(end - auth))) return TELEMETRY_ERR_INVALID_URL;
    if (!telemetry__valid_target_chars(end)) return TELEMETRY_ERR_INVALID_URL;
    rc = telemetry__parse_authority(auth, (size_t)(end - auth), u);
    if (rc) { telemetry__url_free(u); return rc; }
    if (!u->port_given) u->port = u->secure ? 443 : 80;
    if (*end == '/') u->target = telemetry__strdup(end);
    else {                                   /* "http://h?x" means "/?x" */
        u->target = (char *)telemetry__malloc(strlen(end) + 2);
        if (u->target) { u->target[0] = '/'; strcpy(u->target + 1, end); }
    }
    if (!u->target) { telemetry__url_free(u); return TELEMETRY_ERR_NO_MEMORY; }
    return 0;
}

/* The "host[:port]" form used by the Host header and messages: brackets for IPv6, the port only
   when it differs from the scheme's default. */
TELEMETRY__INTERNAL void telemetry__url_hostport(const telemetry__url *u, char *out, size_t cap) {
    int def = u->port == (u->secure ? 443u : 80u);
    if (u->host_is_ipv6) snprintf(out, cap, def ? "[%s]" : "[%s]:%u", u->host, u->port);
    else snprintf(out, cap, def ? "%s" : "%s:%u", u->host, u->port);
}

typedef struct telemetry__dsn {
    telemetry__url envelope;     /* {scheme}://{host}[:{port}]{prefix}/api/{project}/envelope/ */
    char *public_key;
    char *secret_key;            /* NULL when absent or empty */
    char *project_id;
    char *auth_header;           /* the X-Sentry-Auth value */
} telemetry__dsn;

TELEMETRY__INTERNAL void telemetry__dsn_free(telemetry__dsn *d) {
    telemetry__url_free(&d->envelope);
    telemetry__free(d->public_key);
    telemetry__free(d->secret_key);
    telemetry__free(d->project_id);
    telemetry__free(d->auth_header);
    memset(d, 0, sizeof *d);
}

/* protocols.md 1.2, step by step. TELEMETRY_ERR_INVALID_DSN for anything off the grammar. */
TELEMETRY__INTERNAL int telemetry__dsn_parse(const char *text, telemetry__dsn *d) {
    const char *auth, *slash, *at, *p, *colon, *path_end, *last;
    size_t len, i;
    char *trimmed = NULL, *prefix = NULL;
    telemetry__buf b;
    int rc = TELEMETRY_ERR_INVALID_DSN;
    memset(d, 0, sizeof *d);
    if (!text) return TELEMETRY_ERR_INVALID_DSN;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') text++;
    len = strlen(text);
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    trimmed = telemetry__strndup(text, len);
    if (!trimmed) return TELEMETRY_ERR_NO_MEMORY;
    if (telemetry__parse_scheme(trimmed, &d->envelope.secure, &auth)) goto fail;
    slash = strchr(auth, '/');
    if (!slash) goto fail;                                   /* no project id */
    if (strpbrk(trimmed, "?#") || !telemetry__valid_target_chars(slash)) goto fail;
    at = NULL;
    for (p = auth; p < slash; p++) if (*p == '@') at = p;    /* the last '@' */
    if (!at) goto fail;
    colon = (const char *)memchr(auth, ':', (size_t)(at - auth));
    if (!colon) colon = at;
    if (colon == auth) goto fail;                            /* empty public key */
    for (p = auth; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7F || c == ',' || c == '=' || c == '/') goto fail;
    }
    d->public_key = telemetry__strndup(auth, (size_t)(colon - auth));
    if (colon < at && at - colon > 1) d->secret_key = telemetry__strndup(colon + 1, (size_t)(at - colon - 1));
    if (telemetry__parse_authority(at + 1, (size_t)(slash - at - 1), &d->envelope)) goto fail;
    if (!d->envelope.port_given) d->envelope.port = d->envelope.secure ? 443 : 80;
    path_end = slash + strlen(slash);
    while (path_end > slash && path_end[-1] == '/') path_end--;
    if (path_end == slash) goto fail;                        /* no project id */
    last = path_end;
    while (last > slash && last[-1] != '/') last--;
    for (i = 0; last + i < path_end; i++) if (last[i] < '0' || last[i] > '9') goto fail;
    if (i > 20) goto fail;
    d->project_id = telemetry__strndup(last, (size_t)(path_end - last));
    prefix = telemetry__strndup(slash, (size_t)(last - 1 - slash));  /* "" or "/prefix" */
    if (!d->public_key || !d->project_id || !prefix) { rc = TELEMETRY_ERR_NO_MEMORY; goto fail; }
    telemetry__buf_init(&b);
    telemetry__buf_printf(&b, "%s/api/%s/envelope/", prefix, d->project_id);
    d->envelope.target = b.data;
    telemetry__buf_init(&b);
    telemetry__buf_printf(&b, "Sentry sentry_version=7, sentry_client=%s/%s, sentry_key=%s",
                          TELEMETRY_SDK_NAME, TELEMETRY_VERSION_STRING, d->public_key);
    if (d->secret_key) telemetry__buf_printf(&b, ", sentry_secret=%s", d->secret_key);
    d->auth_header = b.data;
    if (!d->envelope.target || !d->auth_header) { rc = TELEMETRY_ERR_NO_MEMORY; goto fail; }
    telemetry__free(trimmed);
    telemetry__free(prefix);
    return 0;
fail:
    telemetry__free(trimmed);
    telemetry__free(prefix);
    telemetry__dsn_free(d);
    return rc;
}

/* =============================================================================================
   >>net >>http >>tls: sockets with deadlines, HTTP/1.1 client, TLS over BearSSL
   (being developed in dev/transport.h; spliced in here when done)
   ============================================================================================= */
#if defined(TELEMETRY__DEV_TRANSPORT)
#  include "dev/transport.h"
#endif
