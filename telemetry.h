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
   with TELEMETRY_NO_TLS, and with -lpthread unless you build with TELEMETRY_NO_THREADS. No feature
   macro is needed, even with -std=c99 -pedantic, when the implementation include comes before
   POSIX headers (<unistd.h>, <time.h>, <signal.h>) in its file; otherwise an #error says so.

   Platforms (docs/building.md, "Platforms", says what is tested where): Linux (glibc or musl,
   64- and 32-bit, any byte order), Windows x86-64 and x86 (mingw-w64, run under wine; MSVC by
   reading), the BSDs and macOS by reading.
   On 32-bit Linux the implementation's file gets 64-bit off_t and time_t when its include comes
   before any system header (else build that file with -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64).
   On ARM build with -funwind-tables, or events carry no stack; link with -Wl,--build-id where
   the toolchain does not (musl-gcc, mingw-w64: there it writes the CodeView record), or images
   carry no debug_id. On Windows crashes are structured exceptions, abort() and, with the
   Universal CRT (MSVC, mingw-w64 with _UCRT), a fatal CRT invalid parameter (docs/crashes.md,
   "Windows"); 32-bit Windows builds need -fno-omit-frame-pointer for whole stacks. On Windows link
   with -lbearssl -lws2_32 -lbcrypt -lcrypt32 (MSVC: the header asks for its libraries with
   #pragma comment) and include telemetry.h before <windows.h> in the implementation's file, or
   define WIN32_LEAN_AND_MEAN first (<windows.h> alone brings the old winsock.h). File names and
   the environment are used in UTF-16 there; the library's strings stay UTF-8.

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
           cfg.opt_out_command = "mytool telemetry off";
           telemetry_init(&cfg);                       // never fatal: check the result if you like
           if (argc > 1 && !strcmp(argv[1], "telemetry")) {   // mytool telemetry on|off|status|show|log
               int rc = telemetry_command(argc - 2, argv + 2, stdout);
               telemetry_shutdown();
               return rc == 0 ? 0 : 1;
           }
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
       TELEMETRY_NO_THREADS           off          no sender thread, no sidecar and no locks;
                                                   sends happen in telemetry_flush / shutdown
       TELEMETRY_NO_SIDECAR           off          never fork a sender process: a thread in the
                                                   program sends (as cfg.no_sidecar)
       TELEMETRY_NO_TLS               off          no BearSSL: plain http or your own I/O only
       TELEMETRY_NO_SOCKETS           off          the program's own byte stream (cfg.io) is the
                                                   only way out: no socket, resolver or uname
                                                   code (devices; docs/building.md "Bare metal")
       TELEMETRY_NO_FILES             off          no file system: the state (install id, consent,
                                                   rate limits...) lives in the device's
                                                   cfg.storage, or in memory only (the outbox:
                                                   memory only); no crash handler, config_file,
                                                   ca_file or sent.log. With
                                                   NO_SOCKETS, NO_THREADS and NO_CRASH_HANDLER
                                                   too it needs only the C library (no POSIX).
                                                   Not for Windows (an #error)
       TELEMETRY_SMALL_TLS            off          one portable implementation of each TLS
                                                   algorithm: no AES-NI/PCLMUL code, BearSSL's
                                                   P-256 code instead of the 64-bit check (4 KB
                                                   smaller, slower bulk encryption and ECDSA
                                                   handshakes; docs/building.md "Size")
       TELEMETRY_NO_CRASH_HANDLER     off          never install signal handlers (Windows:
                                                   exception filters)
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
       TELEMETRY_MAX_TAGS             64           tags kept for events
       TELEMETRY_MAX_BREADCRUMBS      100          breadcrumbs kept (a ring: the oldest goes first)
       TELEMETRY_MAX_FRAMES           64           stack frames in an error or crash event
       TELEMETRY_OUTBOX_DISK          8 MiB        default of cfg.outbox_disk_bytes
       TELEMETRY_SEGMENT_BYTES        256 KiB      a process starts a new store segment past it
       TELEMETRY_SIDECAR_LIFETIME_MS  30000        default of cfg.sidecar_lifetime_ms
       TELEMETRY_CRASH_BUFFER         192 KiB      room for the crash event, made at init

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

       1. DO_NOT_TRACK is set to anything but an explicit false: empty, 0, false, no or off (any
          case; surrounding spaces are ignored, so " " is empty and " 1" is a yes);
       2. <APP>_NO_TELEMETRY is set likewise (app name upper-cased, other characters as '_');
       3. the program's config file (cfg.config_file) sets cfg.config_key (default "telemetry")
          to a false value (false, off, no, 0, disabled) as `key = value`, `key: value` or
          `key=value` (INI, TOML and YAML-style lines; '#' and ';' comments; quotes allowed; CRLF,
          a UTF-8 byte order mark and NUL bytes are fine; the whole file is read, up to 16 MiB).
          The key counts at the top level and in the [section] named by cfg.config_section; the
          last of those wins. In any other section it never turns telemetry on nor gives consent,
          but a false value there still turns it off. A config file that exists but is not
          readable UTF-8 text (a folder, a FIFO, UTF-16, over 16 MiB) keeps telemetry off;
       4. the state folder exists but is not the user's own (another owner, writable by group or
          others, a symlink): it is not used, and telemetry stays off;
       5. the user revoked consent with telemetry_set_consent(0), kept in the state folder;
       6. cfg.opt_in is set and consent was never given, neither with telemetry_set_consent(1)
          nor by a true value of the key at the top level or in cfg.config_section.

   telemetry_status_reason() says in one sentence which source decided, telemetry_consent_state()
   what the user last answered. A consent given while 1-4 say no is recorded (it is the user's
   explicit word) but telemetry stays off, and telemetry_set_consent returns TELEMETRY_DISABLED.
   An invalid usage_url or sentry_dsn turns off that endpoint only, with one line on stderr
   (even without TELEMETRY_DEBUG; to log_fn when there is one) and a note in the disclosure.

   telemetry_print_disclosure(FILE *) prints whether telemetry is on and which source decided it,
   why (cfg.purpose) and the privacy page (cfg.privacy_url), every metric and declared counter
   with its description and current value (undeclared counters marked so), what error reports
   and sessions hold, the endpoints' hosts, the state folder, the install id, how to opt out
   (cfg.opt_out_command included), and the usage report exactly as it would be sent.
   TELEMETRY_DEBUG=1 in the environment prints every payload to stderr instead of sending it.

   Nothing at init: telemetry_init writes and sends nothing. The state folder, the install id, the
   first-run notice, the session (one per run, with a DSN, unless cfg.no_sessions) and the sender
   wait for the run's first work: the first count, report, capture or flush. A --version run, the
   disclosure or telemetry_command open no socket and write no file.

   The first-run notice (TELEMETRY_HAS_NOTICE): at the run's first work, if it was never shown,
   cfg.notice (default: the app, what is sent, the exact opt-out commands) goes to stderr, only
   when stderr is a terminal, and <state_dir>/notice_shown records it. That run and every run
   before one did send nothing: what they capture waits in the store and goes from the next run
   on, or is deleted by `telemetry off` first. cfg.no_notice: the program tells its users itself.

   telemetry_command(argc, argv, out) is a `telemetry` subcommand for the program: on, off,
   status (the state and the source that decided it), show (the disclosure), show --markdown (the
   "what is collected" section of docs/privacy-template.md) and log (<state_dir>/sent.log: every
   payload delivered, as sent, auth= and other secrets masked, at most cfg.sent_log_bytes, 256 KiB,
   oldest dropped; TELEMETRY_NO_WAIT turns the log off).

   cfg.report_interval_s: counters add up across runs in <state_dir>/counters and
   telemetry_report_usage sends at most one report per interval (the sums); 0 sends one per call.

   ============================================================================================
   6. WHAT IS SENT
   ============================================================================================

   A usage report (telemetry_report_usage) is one JSON object:

       {"app":"mytool","version":"1.4.2","library":"0.1.0","install_id":"<32 hex>",
        "timestamp":"2026-11-26T10:00:00.000Z",
        "metrics":{"arch":"x86_64","first_run":true,...},"counters":{"runs":1}}

   Built-in metrics: app, app_version, arch, first_run, library_version, os, os_distribution,
   os_version. docs/ shows every field of every payload. docs/server.md sets up a Firebase
   database that accepts exactly these reports and nothing else, and build/telemetry_report
   (examples/telemetry_report.c) summarises what arrived.

   ============================================================================================
   7. STATE FOLDER
   ============================================================================================

   cfg.state_dir, else $XDG_STATE_HOME/<app>, else ~/.local/state/<app> (Linux and other Unix),
   ~/Library/Application Support/<app> (macOS), %LOCALAPPDATA%\<app> (Windows: the folder
   SHGetKnownFolderPath(FOLDERID_LocalAppData) names, read wide from the environment). Created with
   owner-only permissions at the first work of an enabled run. It holds `install_id`, `consent`,
   `notice_shown`, `sent.log`, `counters` (with report_interval_s), `session`, `tls_sessions`
   (the last TLS session per server, so the next run resumes it), `ratelimits` and `outbox/` (the
   store: segment files and sender.lock, section 9).
   Every file is written atomically (temporary file, flush, fsync, rename). An existing folder is
   used only when it is a real folder (not a symlink) owned by the user (effective uid) that
   neither group nor others can write; else telemetry is off and the log says why. Files in it
   are opened relative to the folder, never through a symlink, never blocking (a FIFO in place of
   a file is refused). A cfg.state_dir of 1024 bytes or more is an invalid configuration. On
   Windows the folder must be a real folder (not a reparse point) owned by the process's user
   (or by its TokenOwner: Administrators when elevated), checked at init; its ACL is not
   checked. Every name is used through the wide (UTF-16) calls: any Unicode path works.
   TELEMETRY_NO_FILES builds have no folder: the same items are keys of the program's
   cfg.storage (telemetry_storage: load, save, remove by key; each save replaces a value whole);
   the store is the key "outbox" (one segment, saved whole after every change); without
   cfg.storage, everything is memory only.

   ============================================================================================
   8. THREADS, ERRORS AND LOGGING
   ============================================================================================

   Signal handlers: only these are async-signal-safe (no lock, no allocation): telemetry_count for
   a name already counted once after the run's first work, telemetry_status_reason and
   telemetry_result_string (they read static text). Every other function takes a lock or
   allocates and must not be called from a signal handler (tests/test_signal_safe.c).
   Every public function may be called from any thread. telemetry_count() takes no lock and
   allocates nothing once its name has been seen. Functions return telemetry_result codes: 0 is
   success, negatives are errors; telemetry_result_string() describes each. Network and server
   failures are never fatal. Log lines go to cfg.log_fn (with cfg.log_user_data); without one,
   they go to stderr only when TELEMETRY_DEBUG is set. log_fn must not call telemetry functions.
   fork(): in a child made between telemetry_init and telemetry_shutdown, telemetry is off
   (pthread_atfork): every call
   returns TELEMETRY_DISABLED (telemetry_enabled 0) at once, before any lock a parent thread may
   have held at the fork, and touches nothing of the parent (session, store, consent); the crash
   handler gives the child's signals back to the program's own handlers. A child that wants its
   own telemetry execs a program that calls telemetry_init (tests/test_fork.c).

   ============================================================================================
   9. SENDING: THE STORE, THE SIDECAR, SHUTDOWN
   ============================================================================================

   Durable at capture: before telemetry_report_usage or a capture returns, its payload is in the
   state folder's store (<state_dir>/outbox/: each process appends checksummed records to a
   segment file of its own, one write() each; the page cache is enough: a process killed at any
   instant loses nothing it captured). The crash handler appends its event to the same store.
   The calling thread does no network I/O.

   Who sends (docs/design.md has the picture and the costs):
   - The sidecar (POSIX default): telemetry_init of a single-threaded program forks a small
     sender process (twice: the program can never wait() for it; setsid, stdio on the read end
     of a pipe, every other inherited descriptor closed, terminal signals ignored, named
     "<app>-telemetry" in ps). It sends while the program runs and after it ends - by
     telemetry_shutdown, exit(), a crash or SIGKILL (it sees the pipe's end) - for at most
     cfg.sidecar_lifetime_ms (30 s), then exits; what is left stays in the store for the next
     run. A run killed without a word has its session reported "abnormal" by the sidecar at
     once. One sender per state folder (flock on outbox/sender.lock): concurrent runs hand
     over to it and every record is sent once (a sent or dropped mark is written in place). A
     run that does nothing writes nothing and the dormant sidecar exits with it.
   - A thread in the program: with cfg.no_sidecar or TELEMETRY_NO_SIDECAR, when the program
     already has threads at init (a fork there may only exec), with cfg.io or TELEMETRY_DEBUG,
     on Windows (the same store; its locks there are LockFileEx on one byte far past the data),
     and without a state folder (then the store is an unlinked temporary file: this run's
     payloads only; on Windows nothing is kept, with a log line). With both a usage URL and a DSN
     (POSIX) there are two such threads, one per endpoint, each sending its own records from the
     same store: a slow or failing endpoint never holds the other. Under TELEMETRY_NO_THREADS
     nothing runs in the background: telemetry_flush and telemetry_shutdown send, within the
     same bounds.

   The sender sends oldest first, keeping one connection alive per endpoint (usage, Sentry:
   often two hosts). 2xx: done. 4xx other than 429: dropped with a log line, never retried
   (except a Firebase 401/403 to a report an earlier try may have stored: create-only rules
   refuse the repeat, so it counts as delivered; docs/server.md). Network errors, 5xx and 429: kept, retried with exponential
   back-off per endpoint (cfg.retry_initial_ms 1 s, doubling to cfg.retry_max_ms 5 min, 50-100 %
   jitter); Sentry rate limits hold their category until they end, remembered across runs. The
   store is capped at cfg.outbox_disk_bytes (8 MiB, real bytes on disk); past it a new payload
   is dropped and counted exactly (Sentry client reports; "dropped_reports" in the next usage
   report). telemetry_init reads nothing of what earlier runs left (O(1) in the queue).

   telemetry_shutdown() ends the session. With the sidecar it returns at once (well under 1 ms:
   no network wait is added to the program's exit). In thread mode it waits at most
   cfg.shutdown_timeout_ms (TELEMETRY_NO_WAIT: not at all) while both endpoints' threads send
   what is left at once; from then on no request runs past the bound and none begins that its
   endpoint's last round trip says cannot end before it. A request still running at the bound
   is stopped within 20 ms; the rest stays in the store for the next run. exit() without
   telemetry_shutdown ends the session as "exited" too (an atexit handler; cfg.no_atexit refuses
   it). Revoking consent stops the sender (a request in progress too) and deletes the store at
   once.

   ============================================================================================
   10. TRANSPORT: HTTP/1.1, TLS, PROXIES, LIMITS
   ============================================================================================

   - TLS 1.2 (BearSSL 0.6), ECDHE with AES-GCM (no ChaCha20-Poly1305, for size),
     X25519/P-256/P-384/P-521, RSA and ECDSA chains. The chain is always validated and the host name checked; there is no switch to
     turn that off. For an IP-address host (https://127.0.0.1/...) no SNI is sent and the address
     must be among the certificate's IP subject alternative names.
   - Trust anchors: cfg.ca_pem (PEM text compiled into the program: devices with no bundle), else
     cfg.ca_file, else the system's: the first bundle found (Debian/Ubuntu, Fedora/RHEL, Alpine,
     openSUSE, macOS, FreeBSD, OpenBSD, NetBSD paths), on Windows the current user's ROOT
     certificate store (which shows the machine's; Windows fetches a root it updates automatically
     only when its own chain building first needs it, so give ca_pem for a CA no other program of
     the machine has used). The certificate dates are checked against cfg.clock_fn or the system
     clock.
   - One deadline per request (cfg.timeout_ms, default 10 s) covers connect, TLS, sending and the
     whole response. Name resolution (getaddrinfo) cannot be given a deadline: it is bounded by the
     resolver's own timeout, and the deadline is checked as soon as it returns. SIGPIPE never fires.
   - Proxies: https_proxy / HTTPS_PROXY for https URLs (HTTP CONNECT), http_proxy / HTTP_PROXY for
     http URLs (HTTP_PROXY is ignored in CGI programs), no_proxy / NO_PROXY; http:// proxies with
     optional user:password (Basic). Read once, at telemetry_init.
   - Limits: response header block 16 KiB, one header line 8 KiB, response body kept up to
     64 KiB. Redirects are not followed. Memory: about 9 KB per connection, plus 58 KB once HTTPS is
     used (BearSSL's buffers), plus the trust anchors.
   - TELEMETRY_NO_TLS: https URLs go to cfg.io unencrypted (your stream must provide TLS) or fail
     with TELEMETRY_ERR_UNSUPPORTED without cfg.io.
   - cfg.io replaces the sockets (embedded systems): each callback gets the milliseconds left.
     TELEMETRY_NO_SOCKETS leaves the socket code out (an endpoint without cfg.io is then an
     invalid configuration); cfg.monotonic_fn gives deadlines and back-off a tick counter where
     the OS has no monotonic clock. IP-literal hosts are parsed by the library itself.

   ============================================================================================
   11. CRASHES
   ============================================================================================

   With a DSN, telemetry_init installs a handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and
   SIGTRAP on an alternate stack (stack overflows included; the library's own 64 KiB one unless
   the program's is at least that big), keeping the previous handlers. A handler the program
   installed before telemetry_init runs first: a fault it handles (siglongjmp, or it changes the
   registers) is no crash; one it passes on (raises again, returns into the same fault, abort)
   is. At a crash it writes a fatal Sentry event (signal, fault address, the crashing thread's
   stack, the images the frames fall in, tags, breadcrumbs, the session marked crashed) into the
   store as one record with one write(), no malloc and no lock, then restores the previous
   handlers and raises the signal again: the process ends as it would have without the library,
   and the program's own handler runs. A fault while walking a wild stack only shortens the
   report. The sidecar sends it within moments of the crash (in thread mode, or when the crash
   came before the sidecar could start, the next run does: in thread mode no request and no
   session-file write begins once the handler starts, and it waits up to 1 s for one in
   progress, so the crash is sent once and its session ends once, as crashed), first naming the frames from the
   ELF symbol tables where the binary is unchanged. In C++ builds (with exceptions) a std::set_terminate hook,
   chaining to the previous one, turns an uncaught exception into the same fatal event, named by
   its type and what(). cfg.no_crash_handler or TELEMETRY_NO_CRASH_HANDLER turn it off. Not
   captured: memory, registers, environment, other threads. The handler's memory stays
   allocated after telemetry_shutdown (docs/api.md says why). docs/crashes.md has the details.

   ============================================================================================
   12. METRICS
   ============================================================================================

       TELEMETRY_METRIC(id, "description") { return telemetry_int(42); }

   defines a metric whose key in the usage report is `id` and whose description is shown by the
   disclosure. Defining it registers it before main() (GCC/Clang constructor, MSVC .CRT$XCU).
   Where that cannot work (other compilers, TELEMETRY_NO_AUTO_REGISTER, or a metric inside a
   static library whose object file nothing else references, so the linker drops it), register
   it by hand; registering twice is harmless:

       TELEMETRY_METRIC_DECLARE(cpu_count);          // in any file: declares the metric
       TELEMETRY_REGISTER(cpu_count);                // before telemetry_report_usage()

   or link the static library whole (CMake: $<LINK_LIBRARY:WHOLE_ARCHIVE,lib>; GNU ld:
   -Wl,--whole-archive -llib -Wl,--no-whole-archive), or make it an OBJECT library: see
   docs/building.md and examples/cmake/. `make install` installs this header and telemetry.pc.

   Counters are declared the same way, so the disclosure can say what each counts:

       TELEMETRY_COUNTER(files_processed, "Files the program processed");   // file scope
       telemetry_count("files_processed", 1);                               // anywhere
       TELEMETRY_COUNTER_DECLARE(files_processed);                          // by hand, as above:
       TELEMETRY_REGISTER_COUNTER(files_processed);

   Metric functions run when a report or disclosure is built, on the calling thread, with the
   library's locks held: from one, telemetry_enabled, telemetry_count, telemetry_consent_state and
   telemetry_status_reason answer, every other call returns TELEMETRY_ERR_REENTRY. A string
   value is copied at once (up to TELEMETRY_MAX_STRING_VALUE bytes), so it may point to a static
   buffer. Metric identifiers are at most TELEMETRY_MAX_NAME-1 bytes of [A-Za-z0-9_-].

   ============================================================================================
   13. PUBLIC FUNCTIONS AND CONFIG FIELDS
   ============================================================================================

   See the declarations below: each has a comment. docs/api.md repeats them with examples.
*/

/* The implementation needs POSIX (clock_gettime, fsync, sigaction, ...). Under a strict -std=c99
   Linux hides it unless asked before the first system header, so the implementation file asks. */
#if defined(TELEMETRY_IMPLEMENTATION) && defined(__linux__) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif
/* 64-bit file offsets and time_t on 32-bit Linux too: without them readdir fails (EOVERFLOW) on
   file systems with 64-bit inode numbers, so stored reports would never be found, and the clock and
   certificate checks end in January 2038. The public API has no off_t or time_t, so other files of
   the program need not agree; code in this file that hands time_t or off_t to a library built
   without them should live in another file. They work only before the first system header: where
   one comes first, build the file with -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 (docs/building.md).
   (No-ops on 64-bit and musl; not on Android, where they change which functions exist.) */
#if defined(TELEMETRY_IMPLEMENTATION) && defined(__linux__) && !defined(__ANDROID__) && !defined(_FILE_OFFSET_BITS)
#  define _FILE_OFFSET_BITS 64
#endif
#if defined(TELEMETRY_IMPLEMENTATION) && defined(__linux__) && !defined(__ANDROID__) && !defined(_TIME_BITS) && \
    _FILE_OFFSET_BITS == 64
#  define _TIME_BITS 64
#endif

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
/* Feature macros: code built against older and newer headers can test for these. */
#define TELEMETRY_HAS_NOTICE 1           /* cfg.notice, cfg.no_notice: the first-run notice */

#ifndef TELEMETRY_API
#  if defined(TELEMETRY_STATIC) && (defined(__GNUC__) || defined(__clang__))
#    define TELEMETRY_API static __attribute__((unused))
#  elif defined(TELEMETRY_STATIC)
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
    X(TELEMETRY_ERR_UNSUPPORTED,     -20, "not supported by this build") \
    X(TELEMETRY_ERR_REENTRY,         -21, "called from inside a metric function (the library is busy building a report)")

typedef enum telemetry_result {
#define TELEMETRY__RESULT_ENUM(name, value, text) name = value,
    TELEMETRY__RESULTS(TELEMETRY__RESULT_ENUM)
#undef TELEMETRY__RESULT_ENUM
    TELEMETRY__RESULT_LAST = -22
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
/* Integers are written exactly; Firebase keeps numbers as doubles, so beyond 2^53 in magnitude
   the stored value is rounded: send such values with telemetry_string. */
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
    telemetry_metric telemetry_metric_##id = { #id, description, telemetry__metric_fn_##id, NULL, 0 }; \
    TELEMETRY__AUTO_REGISTER(id) \
    static telemetry_value telemetry__metric_fn_##id(void)

/* ---- declared counters -------------------------------------------------------------------- */
typedef struct telemetry_counter_info {
    const char *id;                       /* the name given to telemetry_count */
    const char *description;              /* shown by the disclosure and `telemetry show` */
    struct telemetry_counter_info *next;  /* registry link: the library's, do not touch */
    int registered;                       /* the library's, do not touch */
} telemetry_counter_info;

/* Registers a counter's description by hand (see section 12). 0, TELEMETRY_ERR_DUPLICATE for
   another counter with the same id, TELEMETRY_ERR_INVALID_ARGUMENT for a bad id. */
TELEMETRY_API int telemetry_register_counter(telemetry_counter_info *counter);

#define TELEMETRY_COUNTER_DECLARE(id) TELEMETRY__EXTERN_C telemetry_counter_info telemetry_counter_##id
#define TELEMETRY_REGISTER_COUNTER(id) telemetry_register_counter(&telemetry_counter_##id)

#if defined(TELEMETRY_NO_AUTO_REGISTER)
#  define TELEMETRY__AUTO_REGISTER_COUNTER(id)
#elif defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__AUTO_REGISTER_COUNTER(id) \
    __attribute__((constructor)) static void telemetry__register_counter_##id(void) { TELEMETRY_REGISTER_COUNTER(id); }
#elif defined(_MSC_VER)
#  define TELEMETRY__AUTO_REGISTER_COUNTER(id) \
    static void __cdecl telemetry__register_counter_##id(void) { TELEMETRY_REGISTER_COUNTER(id); } \
    __declspec(allocate(".CRT$XCU")) void (__cdecl *telemetry__register_counter_ptr_##id)(void) = telemetry__register_counter_##id;
#else
#  define TELEMETRY__AUTO_REGISTER_COUNTER(id)   /* unknown compiler: register by hand */
#endif

/* TELEMETRY_COUNTER(files_processed, "Files the program processed"); at file scope, then
   telemetry_count("files_processed", n). Declares what the counter means, so the disclosure can
   list it before it was ever counted. */
#define TELEMETRY_COUNTER(id, description) \
    TELEMETRY_COUNTER_DECLARE(id); \
    telemetry_counter_info telemetry_counter_##id = { #id, description, NULL, 0 }; \
    TELEMETRY__AUTO_REGISTER_COUNTER(id) \
    typedef int telemetry__counter_semicolon_##id

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

/* The device's own persistent storage (flash, EEPROM, a key-value store), used by a build without
   a file system (TELEMETRY_NO_FILES) for what the state folder holds elsewhere: the install id,
   consent, the first-run notice, Sentry rate limits, counters kept across runs, the session and
   TLS sessions and the store ("outbox"). Keys are short names of
   [a-z_.] ("install_id", "consent", "outbox", ...). Called with one of the library's locks held,
   never from a signal handler; with TELEMETRY_NO_THREADS only from the thread that calls
   telemetry, else the worker thread calls them too (then they must be safe from two threads). */
typedef struct telemetry_storage {
    /* Copies the first min(cap, stored length) bytes of key's value into buf (buf may be NULL
       when cap is 0) and returns the stored length, or a negative value when key is not stored. */
    long (*load)(void *user_data, const char *key, void *buf, size_t cap);
    /* Replaces key's value with len bytes, all at once: after a reset during save, load finds the
       old value or the new one, never a mix. 0, or negative on failure. */
    int  (*save)(void *user_data, const char *key, const void *data, size_t len);
    /* Removes key; a key that is not stored is no error. 0, or negative on failure. */
    int  (*remove)(void *user_data, const char *key);
    void *user_data;
} telemetry_storage;

typedef void (*telemetry_log_fn)(telemetry_level level, const char *message, void *user_data);

/* ---- configuration: zero means default ---------------------------------------------------- */
typedef struct telemetry_config {
    const char *app_name;        /* required: [A-Za-z0-9_-]+, at most 64 bytes */
    const char *app_version;     /* default "0"; Sentry release is "<app_name>@<app_version>" */
    const char *environment;     /* default "production" */
    const char *dist;            /* default none: Sentry build variant */
    const char *sentry_dsn;      /* default none: no error or crash reports */
    const char *usage_url;       /* default none: no usage reports. Firebase ".json" URL, with no
                                    auth= (docs/server.md: never ship a database secret or token),
                                    or any http(s) endpoint taking a JSON POST */
    const char *state_dir;       /* default: the per-user state folder for the app (section 7);
                                    a relative one is taken from the current folder at init */
    const char *ca_file;         /* default: the system's CA bundle (Windows: its ROOT store). A PEM
                                    file of trust anchors; relative: from the folder at init */
    const char *ca_pem;          /* default none: PEM trust anchors compiled into the program (for
                                    devices with no bundle); used instead of ca_file and the system */
    const char *config_file;     /* default none: the app's own config file that may turn it off */
    const char *config_key;      /* default "telemetry": the key in config_file */
    int opt_in;                  /* default 0 (opt-out mode). Nonzero: off until consent given */
    unsigned timeout_ms;         /* default 10000: deadline of one request, connect to response */
    unsigned shutdown_timeout_ms;/* default 2000: most telemetry_shutdown waits in thread mode
                                    (the sidecar never makes it wait). TELEMETRY_NO_WAIT: never */
    int no_crash_handler;        /* default 0: install the crash handler when a DSN is set */
    telemetry_log_fn log_fn;     /* default: stderr, only when TELEMETRY_DEBUG is set */
    void *log_user_data;         /* passed to log_fn */
    const telemetry_io *io;      /* default: the library's own sockets. Its connections: one at a
                                    time, shared by both endpoints (a device's single stream) */
    /* default: the OS's secure random source. Fill buf with len random bytes, 0 on success */
    int (*entropy_fn)(void *user_data, void *buf, size_t len);
    /* default: the system clock. Current UTC time in milliseconds since 1970 */
    int64_t (*clock_fn)(void *user_data);
    void *platform_user_data;    /* passed to entropy_fn, clock_fn and monotonic_fn */
    size_t outbox_disk_bytes;    /* default 8 MiB: unsent payloads kept in the state folder (bytes
                                    on disk); past it new payloads are dropped and counted */
    unsigned retry_initial_ms;   /* default 1000: first retry delay after a failed send */
    unsigned retry_max_ms;       /* default 300000: longest retry delay (doubling, with jitter) */
    int no_client_reports;       /* default 0: tell Sentry how many events were dropped */
    int no_sidecar;              /* default 0: a sidecar process sends (POSIX). Nonzero: a thread in
                                    this process sends, and shutdown waits for it (bounded) */
    int no_atexit;               /* default 0: exit() without telemetry_shutdown still ends the
                                    session as exited (an atexit handler). Nonzero: no handler */
    unsigned sidecar_lifetime_ms;/* default 30000: the longest the sidecar goes on sending after
                                    the program ended; what is left stays on disk */
    /* ---- what the end user is told (section 5) ---- */
    const char *notice;          /* default: a notice naming the app, what is collected and how to
                                    opt out. Printed once to stderr, only when it is a terminal */
    int no_notice;               /* default 0. Nonzero: the program tells its users itself (or asks
                                    first with opt_in): no notice, and sending is not held for it */
    const char *purpose;         /* default: a generic sentence. Why the program collects, in the
                                    disclosure and `telemetry show` */
    const char *privacy_url;     /* default none: the program's privacy page, in the disclosure */
    const char *opt_out_command; /* default none: the program's own opt-out, e.g. "mytool
                                    telemetry off", named by the notice and the disclosure */
    int no_sessions;             /* default 0: with a DSN, one release-health session per run that
                                    does something. Nonzero: no sessions */
    size_t sent_log_bytes;       /* default 256 KiB: <state_dir>/sent.log keeps what was sent, the
                                    oldest dropped first. TELEMETRY_NO_WAIT: no log */
    unsigned report_interval_s;  /* default 0: each telemetry_report_usage sends a report. Nonzero:
                                    counters add up across runs in the state folder and a report
                                    is sent at most once per interval (86400: daily) */
    /* ---- the consent decision (section 5) ---- */
    const char *config_section;  /* default none: the [section] of config_file that is the app's.
                                    The key counts at the top level and in this section; in other
                                    sections it never turns telemetry on (a false still counts) */
    /* ---- devices (docs/building.md, "Bare metal") ---- */
    /* default: the OS's monotonic clock. Milliseconds from any fixed start that never go back (a
       tick counter): request deadlines, retry back-off, waits. Set it where there is no
       clock_gettime(CLOCK_MONOTONIC); called from the sending thread too */
    int64_t (*monotonic_fn)(void *user_data);
    /* default none. TELEMETRY_NO_FILES builds only: the device's own storage for what the state
       folder holds elsewhere (telemetry_storage). Without it such a build keeps everything in
       memory (a new install id at every start, nothing survives a reset) */
    const telemetry_storage *storage;
} telemetry_config;

#define TELEMETRY_NO_WAIT 0xFFFFFFFFu

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* Validates the config and decides consent; writes and sends nothing (the state folder, the
   notice, the session and the sender wait for the run's first count, report, capture or flush). 0 when telemetry
   is on, TELEMETRY_DISABLED when the user opted out (still a valid state: every other call then
   does nothing), or a negative error for an invalid config (telemetry then stays off). */
TELEMETRY_API int telemetry_init(const telemetry_config *config);
/* Waits at most timeout_ms until every payload that may go now was sent (one fresh try for an
   endpoint in back-off). 0 when none waits, TELEMETRY_ERR_TIMEOUT otherwise (it stays stored;
   also at once while another run's sender holds the state folder: that one delivers it). */
TELEMETRY_API int telemetry_flush(unsigned timeout_ms);
/* Ends the session and releases everything. With the sidecar it returns at once (the sidecar
   sends); in thread mode it waits at most shutdown_timeout_ms. Unsent payloads stay in the store.
   Safe to call when init failed or was never called. */
TELEMETRY_API void telemetry_shutdown(void);
TELEMETRY_API const char *telemetry_result_string(int result);

/* ---- consent and transparency ------------------------------------------------------------- */
TELEMETRY_API int telemetry_enabled(void);          /* 1 when on, 0 when off or not initialised */
/* Nonzero gives consent, zero revokes it. Persisted in the state folder (even while another
   opt-out is in force: it is the user's explicit decision). Revoking also deletes the install id
   and every queued payload, disarms the crash handler (a later crash writes nothing), and turns
   telemetry off at once. Giving consent turns telemetry on at
   once, opening what telemetry_init would have opened; it returns TELEMETRY_DISABLED (and logs
   why) when an opt-out of the environment, the config file or the state folder keeps it off:
   telemetry_status_reason() says which. TELEMETRY_ERR_IO when it could not be recorded. */
TELEMETRY_API int telemetry_set_consent(int given);
/* The recorded decision of telemetry_set_consent (this run, or an earlier one kept in the state
   folder): TELEMETRY_CONSENT_GIVEN, TELEMETRY_CONSENT_REVOKED, or TELEMETRY_CONSENT_UNKNOWN (never
   asked, or not initialised). Whether telemetry is on is telemetry_enabled(). */
#define TELEMETRY_CONSENT_UNKNOWN 0
#define TELEMETRY_CONSENT_GIVEN   1
#define TELEMETRY_CONSENT_REVOKED 2
TELEMETRY_API int telemetry_consent_state(void);
/* One sentence on what decided whether telemetry is on: "DO_NOT_TRACK=1 in the environment",
   "telemetry = off in /etc/mytool.conf", "no opt-out is set", "consent was given with
   telemetry_set_consent(1)", or why telemetry_init refused the configuration. Never NULL; a static
   text that stays valid until the next telemetry_init, telemetry_set_consent or telemetry_shutdown. */
TELEMETRY_API const char *telemetry_status_reason(void);
/* Prints whether telemetry is on and why, every metric with description and current value,
   endpoints, state folder, install id, how to opt out, and the next usage report as sent. */
TELEMETRY_API int telemetry_print_disclosure(FILE *out);

/* Handles the words after the program's own `telemetry` subcommand: "on", "off", "status",
   "show" (the disclosure; "show --markdown": the "what is collected" section of a privacy page)
   and "log" (what was sent, from <state_dir>/sent.log), printing to out. Sends nothing and starts
   no session. 0 when it handled the words (for "on": TELEMETRY_DISABLED when an environment or
   config-file opt-out still keeps telemetry off, and the message says which);
   TELEMETRY_ERR_INVALID_ARGUMENT with a usage line otherwise. */
TELEMETRY_API int telemetry_command(int argc, char **argv, FILE *out);

/* ---- usage -------------------------------------------------------------------------------- */
/* Adds delta to a named counter (created on first use, at most TELEMETRY_MAX_COUNTERS names;
   beyond, TELEMETRY_ERR_NO_SPACE: the first refusal of a run is logged, the rest counted).
   Thread-safe; lock-free and allocation-free once the name is known. Counters are sent with the
   next usage report and then reset (with cfg.report_interval_s they add up across runs). Declare
   each with TELEMETRY_COUNTER so the disclosure can say what it counts. */
TELEMETRY_API int telemetry_count(const char *name, int64_t delta);
/* Collects every registered metric and the counters into one JSON document and sends it to
   usage_url (or prints it to stderr with TELEMETRY_DEBUG=1). With cfg.report_interval_s, inside
   the interval it only keeps the counts in the state folder (0): at most one report per interval. */
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
/* Without sockets, files, threads and signals nothing of POSIX is left: the implementation then
   needs only the C library (bare metal: newlib, no OS) and no feature macro. */
#if !defined(_WIN32) && defined(TELEMETRY_NO_SOCKETS) && defined(TELEMETRY_NO_FILES) && defined(TELEMETRY_NO_THREADS) && \
    defined(TELEMETRY_NO_CRASH_HANDLER)
#  define TELEMETRY__NO_OS 1
#endif
#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  include <bcrypt.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "bcrypt.lib")
#  endif
#  include <direct.h>
#  include <io.h>
#  include <fcntl.h>                  /* _O_WRONLY, _O_CREAT, ... */
#  include <sys/stat.h>               /* _S_IREAD, _S_IWRITE */
#  include <errno.h>                  /* EIO, EEXIST, ENOENT: only by chance through others */
#elif defined(TELEMETRY__NO_OS)
#  include <errno.h>
#  include <time.h>
#else
#  if defined(__GLIBC__) && !defined(__USE_POSIX199309) && (defined(_UNISTD_H) || defined(_TIME_H) || defined(_SIGNAL_H))
#    error "telemetry.h: <unistd.h>, <time.h> or <signal.h> was included before the implementation with POSIX off (strict -std=c99): include telemetry.h first in that file, or define _POSIX_C_SOURCE 200809L before any include"
#  elif defined(__GLIBC__) && !defined(__USE_POSIX199309)
     /* only C headers (stdio, string, ...) came before this file under strict -std=c99, with POSIX
        off: glibc lets its feature selection run again, so the headers read from here on declare
        POSIX */
#    undef _FEATURES_H
#    undef _POSIX_C_SOURCE
#    define _POSIX_C_SOURCE 200809L
#    include <features.h>
#    define TELEMETRY__STDIO_WITHOUT_POSIX 1
#  elif !defined(__GLIBC__) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) && \
        !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE) && !defined(__APPLE__) && !defined(__FreeBSD__) && \
        !defined(__OpenBSD__) && !defined(__NetBSD__)
#    error "telemetry.h: define _POSIX_C_SOURCE 200809L before the first include of the implementation file"
#  endif
#  include <unistd.h>
#  include <fcntl.h>
#  include <errno.h>
#  include <sys/types.h>
#  include <sys/stat.h>
#  include <sys/time.h>
#  include <sys/resource.h>
#  if !defined(TELEMETRY_NO_SOCKETS)
#    include <sys/utsname.h>
#  endif
#  include <time.h>
#  include <dirent.h>
#  include <signal.h>
#  if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#    include <sys/random.h>
#    define TELEMETRY__HAVE_GETRANDOM 1
#  endif
#  ifndef TELEMETRY_NO_THREADS
#    include <pthread.h>
#  endif
#  if defined(TELEMETRY__STDIO_WITHOUT_POSIX)
/* <stdio.h> was read (by telemetry.h's public part) while POSIX was off: the two POSIX functions
   it would have declared are declared here, as POSIX gives them */
extern FILE *fdopen(int fd, const char *mode);
extern int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
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
#if defined(_WIN32) && defined(TELEMETRY_NO_FILES)
#  error "telemetry.h: TELEMETRY_NO_FILES is for devices without a file system (bare metal); on Windows the state folder is in %LOCALAPPDATA%, or cfg.state_dir"
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
/* Internal functions: static, and quiet when a build option leaves one unused. The few on every
   byte's path (the buffer's room check, the JSON string scan) are inlined. */
#define TELEMETRY__INTERNAL static TELEMETRY__UNUSED
#if defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__HOT static inline __attribute__((always_inline, unused))
#else
#  define TELEMETRY__HOT static
#endif
/* A thread's entry function. 32-bit Windows starts a thread with the stack aligned to 4 bytes, but
   GCC's code (and BearSSL's AES-NI path, whose SSE loads fault otherwise) assumes 16: realign. */
#if defined(_WIN32) && defined(__i386__) && (defined(__GNUC__) || defined(__clang__))
#  define TELEMETRY__THREAD_ENTRY __attribute__((force_align_arg_pointer))
#else
#  define TELEMETRY__THREAD_ENTRY
#endif

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

/* Set in the child of a fork() made after telemetry_init (pthread_atfork). Another thread of the
   parent may have held a lock at that instant, and the worker does not exist in the child, so
   every public call there returns at once, before any lock: telemetry is off in the child. */
TELEMETRY__DEF int telemetry__forked_child = 0;
/* From telemetry_init taking the lock to telemetry_shutdown releasing it: a fork then is marked. A
   child made after shutdown may call telemetry_init afresh. */
TELEMETRY__DEF int telemetry__live = 0;
#define TELEMETRY__OFF_IN_FORK_CHILD(result) do { if (TELEMETRY__ATOMIC_LOAD(&telemetry__forked_child)) return result; } while (0)

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

/* ---- UTF-8 <-> UTF-16: Windows' wide file names and environment. Our own, in plain C, so that
   it is tested (and fuzzed) on every platform; the library's strings are UTF-8 everywhere. ----- */
#if defined(_WIN32)
typedef wchar_t telemetry__u16;             /* the Win32 wide calls take it as it is */
#else
typedef uint16_t telemetry__u16;
#endif
/* The NUL-terminated UTF-8 text s as NUL-terminated UTF-16 in out[cap] (surrogate pairs above
   U+FFFF). Its length in units, or -1 when s is not valid UTF-8 (overlong forms, surrogates, past
   U+10FFFF, cut short) or does not fit: a file name is never guessed at. */
TELEMETRY__INTERNAL long telemetry__utf8_to_utf16(const char *s, telemetry__u16 *out, size_t cap) {
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        uint32_t c = *p, min;
        int k, more = c < 0x80 ? 0 : c >= 0xC2 && c < 0xE0 ? 1 : c >= 0xE0 && c < 0xF0 ? 2 : c >= 0xF0 && c < 0xF5 ? 3 : -1;
        if (more < 0) return -1;
        if (more) c &= 0x3Fu >> more;
        for (k = 1; k <= more; k++) {
            if ((p[k] & 0xC0) != 0x80) return -1;          /* also stops at the NUL */
            c = c << 6 | (p[k] & 0x3Fu);
        }
        min = more == 2 ? 0x800 : more == 3 ? 0x10000 : 0;
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return -1;
        p += more + 1;
        if (o + (c >= 0x10000 ? 2 : 1) >= cap) return -1;
        if (c >= 0x10000) {
            c -= 0x10000;
            out[o++] = (telemetry__u16)(0xD800 + (c >> 10));
            out[o++] = (telemetry__u16)(0xDC00 + (c & 0x3FF));
        } else {
            out[o++] = (telemetry__u16)c;
        }
    }
    if (o >= cap) return -1;
    out[o] = 0;
    return (long)o;
}
/* The NUL-terminated UTF-16 text s as NUL-terminated UTF-8 in out[cap]. Its length in bytes, or
   -1 for a lone surrogate or no room. */
TELEMETRY__INTERNAL long telemetry__utf16_to_utf8(const telemetry__u16 *s, char *out, size_t cap) {
    size_t o = 0;
    for (; *s; s++) {
        uint32_t c = (uint32_t)*s;
        if (c >= 0xDC00 && c <= 0xDFFF) return -1;
        if (c >= 0xD800 && c <= 0xDBFF) {
            uint32_t lo = (uint32_t)s[1];
            if (lo < 0xDC00 || lo > 0xDFFF) return -1;
            c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            s++;
        }
        if (o + (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4) >= cap) return -1;
        if (c < 0x80) out[o++] = (char)c;
        else if (c < 0x800) { out[o++] = (char)(0xC0 | c >> 6); out[o++] = (char)(0x80 | (c & 0x3F)); }
        else if (c < 0x10000) {
            out[o++] = (char)(0xE0 | c >> 12); out[o++] = (char)(0x80 | (c >> 6 & 0x3F)); out[o++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | c >> 18); out[o++] = (char)(0x80 | (c >> 12 & 0x3F));
            out[o++] = (char)(0x80 | (c >> 6 & 0x3F)); out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    if (o >= cap) return -1;
    out[o] = 0;
    return (long)o;
}
#if defined(_WIN32)
/* Windows takes every file name as UTF-16: the wide calls, never the ANSI ones (a name outside
   the ANSI code page would become "?"). Longest path the library builds, in UTF-16 units. */
#  define TELEMETRY__WPATH 2048
/* The UTF-8 path as a wide one; 0, or -1 with errno set (EINVAL: not UTF-8; ENAMETOOLONG). */
TELEMETRY__INTERNAL int telemetry__wpath(const char *path, wchar_t out[TELEMETRY__WPATH]) {
    if (telemetry__utf8_to_utf16(path, out, TELEMETRY__WPATH) >= 0) return 0;
    errno = strlen(path) < TELEMETRY__WPATH ? EINVAL : ENAMETOOLONG;   /* a unit a byte at most */
    return -1;
}
/* The environment variable name (its wide value, as Windows keeps it) in UTF-8; NULL when unset,
   empty or not convertible. */
TELEMETRY__INTERNAL const char *telemetry__getenv_utf8(const wchar_t *name, char *out, size_t cap) {
    const wchar_t *v = _wgetenv(name);
    if (!v || !*v || telemetry__utf16_to_utf8(v, out, cap) < 0) return NULL;
    return out;
}
#endif

/* ---- clock --------------------------------------------------------------------------------- */
/* Wall-clock UTC milliseconds since 1970 (for timestamps and certificate dates). */
TELEMETRY__INTERNAL int64_t telemetry__system_time_ms(void) {
#if defined(_WIN32)
    FILETIME ft; ULARGE_INTEGER u;
    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime; u.HighPart = ft.dwHighDateTime;
    return (int64_t)(u.QuadPart / 10000u) - INT64_C(11644473600000);
#elif defined(TELEMETRY__NO_OS)
    return (int64_t)time(NULL) * 1000;           /* C's clock (seconds); cfg.clock_fn does better */
#else
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}
/* cfg.monotonic_fn and its user data (platform_user_data), set by telemetry_init: a device's tick
   counter where the OS has no monotonic clock. */
TELEMETRY__DEF int64_t (*telemetry__monotonic_fn)(void *user_data);
TELEMETRY__DEF void *telemetry__monotonic_user;
/* Monotonic milliseconds (for deadlines): never jumps with the wall clock. */
TELEMETRY__INTERNAL int64_t telemetry__monotonic_ms(void) {
    if (telemetry__monotonic_fn) return telemetry__monotonic_fn(telemetry__monotonic_user);
    {
#if defined(_WIN32)
    return (int64_t)GetTickCount64();
#elif defined(TELEMETRY__NO_OS)
    return telemetry__system_time_ms();          /* no monotonic clock without an OS: set the hook */
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
    }
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

/* Whether stderr is a terminal (a person may read it). */
TELEMETRY__INTERNAL int telemetry__stderr_is_terminal(void) {
#if defined(_WIN32)
    return _isatty(2) != 0;
#elif defined(TELEMETRY__NO_OS)
    return 0;
#else
    return isatty(2) != 0;
#endif
}

/* ---- entropy ------------------------------------------------------------------------------- */
/* The OS's secure random source. 0 on success. */
TELEMETRY__INTERNAL int telemetry__os_entropy(void *buf, size_t len) {
#if defined(_WIN32)
    return BCryptGenRandom(NULL, (PUCHAR)buf, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0 ? 0 : -1;
#elif defined(__APPLE__) || defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__)
    arc4random_buf(buf, len);
    return 0;
#elif defined(TELEMETRY__NO_OS)
    (void)buf; (void)len;
    return -1;                                   /* no OS, no source: cfg.entropy_fn is needed */
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

/* ---- reading files ------------------------------------------------------------------------ */
#if defined(TELEMETRY_NO_FILES)
/* TELEMETRY_NO_FILES: there is no file to open (the state lives in cfg.storage, see >>files) */
#  define TELEMETRY__NOT_REGULAR (-1)
#  define TELEMETRY__CWD (-100)
TELEMETRY__INTERNAL int telemetry__open_read_at(int dirfd, const char *path, int nofollow, int *err) {
    (void)dirfd; (void)path; (void)nofollow;
    *err = ENOENT;
    return -1;
}
TELEMETRY__INTERNAL const char *telemetry__err_text(int err) { return err == ENOENT ? "no file system" : strerror(err); }
TELEMETRY__INTERNAL long telemetry__read_some(int fd, void *buf, size_t len) { (void)fd; (void)buf; (void)len; return -1; }
TELEMETRY__INTERNAL void telemetry__close_fd(int fd) { (void)fd; }
TELEMETRY__INTERNAL FILE *telemetry__fopen_read(const char *path) { (void)path; return NULL; }
#else
/* Opens path (relative to the folder dirfd, or TELEMETRY__CWD) for reading: close-on-exec,
   never blocking (a FIFO or a device in its place cannot hold the host up), and only when it is
   a regular file. nofollow also refuses a symlink (the state folder's own files). An fd, or -1
   with *err set: an errno value, or TELEMETRY__NOT_REGULAR. */
#define TELEMETRY__NOT_REGULAR (-1)
#if defined(_WIN32)
#  define TELEMETRY__CWD (-100)
#else
#  define TELEMETRY__CWD AT_FDCWD
#endif
TELEMETRY__INTERNAL int telemetry__open_read_at(int dirfd, const char *path, int nofollow, int *err) {
    int fd;
#if defined(_WIN32)
    struct _stat st;
    wchar_t w[TELEMETRY__WPATH];
    (void)dirfd; (void)nofollow;
    if (telemetry__wpath(path, w) != 0) { *err = errno; return -1; }
    fd = _wopen(w, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
    if (fd < 0) { *err = errno; return -1; }
    if (_fstat(fd, &st) != 0 || !(st.st_mode & _S_IFREG)) { _close(fd); *err = TELEMETRY__NOT_REGULAR; return -1; }
#else
    struct stat st;
    int flags;
    do fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    while (fd < 0 && errno == EINTR);
    if (fd < 0) { *err = errno == ELOOP && nofollow ? TELEMETRY__NOT_REGULAR : errno; return -1; }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { close(fd); *err = TELEMETRY__NOT_REGULAR; return -1; }
    flags = fcntl(fd, F_GETFL);              /* a regular file: ordinary blocking reads again */
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
#endif
    *err = 0;
    return fd;
}

/* What a read error means, in words. */
TELEMETRY__INTERNAL const char *telemetry__err_text(int err) {
    return err == TELEMETRY__NOT_REGULAR ? "not a regular file" : strerror(err);
}

/* read(2) that retries on EINTR; what it read, 0 at the end, -1 on error. */
TELEMETRY__INTERNAL long telemetry__read_some(int fd, void *buf, size_t len) {
    for (;;) {
#if defined(_WIN32)
        int n = _read(fd, buf, (unsigned)(len > 65536 ? 65536 : len));
#else
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
#endif
        return (long)n;
    }
}
TELEMETRY__INTERNAL void telemetry__close_fd(int fd) {
#if defined(_WIN32)
    _close(fd);
#else
    close(fd);
#endif
}

/* The same as a FILE, for the readers that want one (CA bundle, ELF files): NULL on failure. */
TELEMETRY__INTERNAL FILE *telemetry__fopen_read(const char *path) {
    int err, fd = telemetry__open_read_at(TELEMETRY__CWD, path, 0, &err);
    FILE *f;
    if (fd < 0) return NULL;
#if defined(_WIN32)
    f = _fdopen(fd, "rb");
#else
    f = fdopen(fd, "rb");
#endif
    if (!f) telemetry__close_fd(fd);
    return f;
}
#endif

/* =============================================================================================
   >>log: one log function; messages go to the program's callback
   ============================================================================================= */
typedef struct telemetry__logger {
    telemetry_log_fn fn;
    void *user_data;
    int debug;               /* TELEMETRY_DEBUG set: default logger writes to stderr */
} telemetry__logger;

TELEMETRY__DEF telemetry__logger telemetry__log_sink = { NULL, NULL, 0 };
/* Held while the program's callback runs, so shutdown can take the callback away safely. */
TELEMETRY__DEF telemetry__mutex telemetry__log_lock = TELEMETRY__MUTEX_INIT;

TELEMETRY__INTERNAL void telemetry__log(telemetry_level level, const char *fmt, ...) TELEMETRY__PRINTF(2, 3);
TELEMETRY__INTERNAL void telemetry__log(telemetry_level level, const char *fmt, ...) {
    static const char *names[] = { "debug", "info", "warning", "error", "fatal" };
    char msg[512];
    va_list ap;
    int on;
    telemetry__lock(&telemetry__log_lock);          /* log_detach clears the sink under this lock */
    on = telemetry__log_sink.fn || telemetry__log_sink.debug;
    telemetry__unlock(&telemetry__log_lock);
    if (!on) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    telemetry__lock(&telemetry__log_lock);
    if (telemetry__log_sink.fn) telemetry__log_sink.fn(level, msg, telemetry__log_sink.user_data);
    else if (telemetry__log_sink.debug) fprintf(stderr, "telemetry: %s: %s\n", names[(int)level % 5], msg);
    telemetry__unlock(&telemetry__log_lock);
}

/* After shutdown leaves a worker to finish a hung request, nothing may call the program's
   callback (its user_data may be gone). */
TELEMETRY__INTERNAL void telemetry__log_detach(void) {
    telemetry__lock(&telemetry__log_lock);
    telemetry__log_sink.fn = NULL;
    telemetry__log_sink.user_data = NULL;
    telemetry__unlock(&telemetry__log_lock);
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
/* Grows the buffer so that n more bytes plus the terminating NUL fit: where they go, or NULL
   (then b->failed is set and every later write is a no-op). The slow half of telemetry__buf_room. */
TELEMETRY__INTERNAL char *telemetry__buf_grow(telemetry__buf *b, size_t n) {
    size_t need, cap;
    char *p;
    if (b->failed) return NULL;
    if (n > (size_t)-1 / 2 - b->len) { b->failed = 1; return NULL; }
    need = b->len + n + 1;
    if (need <= b->cap) return b->data + b->len;
    if (b->fixed) { b->failed = 1; return NULL; }
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    p = (char *)telemetry__realloc(b->data, cap);
    if (!p) { b->failed = 1; return NULL; }
    b->data = p; b->cap = cap;
    return b->data + b->len;
}
/* Where n more bytes go (room for them and the NUL), or NULL. One compare when they fit: every
   writer reserves its whole piece with this, then stores into it. */
TELEMETRY__HOT char *telemetry__buf_room(telemetry__buf *b, size_t n) {
    if (b->cap - b->len > n && !b->failed) return b->data + b->len;
    return telemetry__buf_grow(b, n);
}
/* Grows a growable buffer ahead for n more bytes, so a document made of many pieces allocates
   once; a fixed buffer is left alone (its room is what it is). */
TELEMETRY__INTERNAL void telemetry__buf_presize(telemetry__buf *b, size_t n) {
    if (!b->fixed) telemetry__buf_room(b, n);
}
TELEMETRY__INTERNAL int telemetry__buf_append(telemetry__buf *b, const void *s, size_t n) {
    char *p;
    TELEMETRY_ASSERT(b != NULL && (s != NULL || n == 0));
    if (!(p = telemetry__buf_room(b, n))) return -1;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    b->len += n;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__buf_puts(telemetry__buf *b, const char *s) { return telemetry__buf_append(b, s, strlen(s)); }
TELEMETRY__INTERNAL int telemetry__buf_putc(telemetry__buf *b, char c) {
    char *p = telemetry__buf_room(b, 1);
    if (!p) return -1;
    p[0] = c; p[1] = 0;
    b->len++;
    return 0;
}
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
    if (!telemetry__buf_room(b, (size_t)n)) return -1;
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
    int depth;                                         /* 0 at top level */
    int error;                                         /* misuse: unbalanced, key missing, ... */
    int after_key;                                     /* a key was written; its value is due */
    unsigned char count[TELEMETRY_JSON_MAX_DEPTH + 1]; /* values written so far at each depth */
    unsigned char is_object[TELEMETRY_JSON_MAX_DEPTH + 1];
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

/* 1 for the bytes a JSON string holds as they are: printable ASCII other than '"' and '\\'. */
static const unsigned char telemetry__json_plain[256] = {
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    1,1,0,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,0,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
};
/* How many bytes from the start of p[n] go into a JSON string as they are: printable ASCII other
   than '"' and '\\'. Eight at a time (the classic "has a byte below / equal to" word tricks: a
   false alarm in a word only sends it to the byte loop, which decides). */
TELEMETRY__HOT size_t telemetry__json_plain_run(const unsigned char *p, size_t n) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t w, q, bs, ctl, hi;
        memcpy(&w, p + i, 8);
        q = w ^ (ones * '"');
        bs = w ^ (ones * '\\');
        q = (q - ones) & ~q;                          /* a byte equal to '"' */
        bs = (bs - ones) & ~bs;                       /* ... to '\\' */
        ctl = (w - ones * 0x20) & ~w;                 /* ... below 0x20 */
        hi = w | ((w & ~highs) + ones);               /* ... 0x7F or above */
        if ((q | bs | ctl | hi) & highs) break;
        i += 8;
    }
    while (i < n && telemetry__json_plain[p[i]]) i++;
    return i;
}

/* Writes s (n bytes) as a quoted JSON string: escapes '"', '\\', controls and DEL; replaces
   ill-formed UTF-8 with U+FFFD. Plain runs and well-formed UTF-8 are copied as they are into room
   reserved once (the output is never shorter than n + 2); only an escape or a replacement, which
   can be longer than what it replaces, reserves again. */
TELEMETRY__INTERNAL int telemetry__json_quote(telemetry__buf *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o;
    char *d;
    if (!telemetry__buf_room(b, n + 2)) return -1;
    d = b->data;
    o = b->len;
    d[o++] = '"';
    for (;;) {
        size_t run = telemetry__json_plain_run(p + i, n - i), len, bad = 0;
        unsigned char c;
        memcpy(d + o, p + i, run);
        o += run; i += run;
        if (i == n) break;
        c = p[i];
        if (c >= 0xC2 && c <= 0xDF && n - i >= 2 && (p[i + 1] & 0xC0) == 0x80) {    /* 2 bytes, well formed */
            d[o] = (char)c; d[o + 1] = (char)p[i + 1];
            o += 2; i += 2;
            continue;
        }
        if (((c >= 0xE1 && c <= 0xEC) || c >= 0xEE) && c <= 0xEF && n - i >= 3 && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
            d[o] = (char)c; d[o + 1] = (char)p[i + 1]; d[o + 2] = (char)p[i + 2];   /* 3 bytes, well formed */
            o += 3; i += 3;
            continue;
        }
        if (c >= 0xF0 && c <= 0xF3 && n - i >= 4 && (p[i + 1] & 0xC0) == 0x80 && (c != 0xF0 || p[i + 1] >= 0x90) &&
            (p[i + 2] & 0xC0) == 0x80 && (p[i + 3] & 0xC0) == 0x80) {                 /* 4 bytes, well formed */
            memcpy(d + o, p + i, 4);
            o += 4; i += 4;
            continue;
        }
        if (c >= 0x80 && (len = telemetry__utf8_seq(p + i, n - i, &bad)) != 0) {   /* as it is */
            memcpy(d + o, p + i, len);
            o += len; i += len;
            continue;
        }
        /* longer than what it replaces: room for it, the rest as it is and the closing quote
           (exactly that much: a fixed buffer may have no byte more) */
        {
            char e = c == '"' ? '"' : c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : c == '\f' ? 'f' : 0;
            size_t k = c >= 0x80 ? 3 : e ? 2 : 6, used = c >= 0x80 ? bad : 1;
            b->len = o;
            if (!telemetry__buf_room(b, k + (n - i - used) + 1)) return -1;
            d = b->data;
            if (c >= 0x80) memcpy(d + o, "\xEF\xBF\xBD", 3);
            else if (k == 2) { d[o] = '\\'; d[o + 1] = e; }
            else {
                memcpy(d + o, "\\u00", 4);
                d[o + 4] = "0123456789abcdef"[c >> 4]; d[o + 5] = "0123456789abcdef"[c & 15];
            }
            o += k; i += used;
        }
    }
    d[o++] = '"';
    d[o] = 0;
    b->len = o;
    return 0;
}

/* The length of s cut to at most max bytes, never inside a UTF-8 sequence. */
TELEMETRY__INTERNAL size_t telemetry__utf8_cut(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
    return max;
}

/* Separator before a value: a comma after a previous sibling, nothing after a key. */
TELEMETRY__INTERNAL void telemetry__json_pre(telemetry__json *j) {
    TELEMETRY_ASSERT(j->depth >= 0 && j->depth <= TELEMETRY_JSON_MAX_DEPTH);
    if (j->after_key) { j->after_key = 0; return; }
    if (j->depth > 0 && j->is_object[j->depth]) j->error = 1;      /* a value needs a key here */
    if (j->count[j->depth]) {
        if (j->depth == 0) j->error = 1;                          /* a second top-level value */
        else telemetry__buf_putc(j->out, ',');
    }
    j->count[j->depth] = 1;
}
TELEMETRY__INTERNAL void telemetry__json_open(telemetry__json *j, char c, int is_object) {
    telemetry__json_pre(j);
    if (j->depth >= TELEMETRY_JSON_MAX_DEPTH) { j->error = 1; return; }
    telemetry__buf_putc(j->out, c);
    j->depth++;
    j->count[j->depth] = 0;
    j->is_object[j->depth] = (unsigned char)is_object;
}
TELEMETRY__INTERNAL void telemetry__json_close(telemetry__json *j, char c, int is_object) {
    if (j->depth == 0 || j->is_object[j->depth] != is_object || j->after_key) { j->error = 1; return; }
    telemetry__buf_putc(j->out, c);
    j->depth--;
}
TELEMETRY__INTERNAL void telemetry__json_object_begin(telemetry__json *j) { telemetry__json_open(j, '{', 1); }
TELEMETRY__INTERNAL void telemetry__json_object_end(telemetry__json *j) { telemetry__json_close(j, '}', 1); }
TELEMETRY__INTERNAL void telemetry__json_array_begin(telemetry__json *j) { telemetry__json_open(j, '[', 0); }
TELEMETRY__INTERNAL void telemetry__json_array_end(telemetry__json *j) { telemetry__json_close(j, ']', 0); }

TELEMETRY__INTERNAL void telemetry__json_key_n(telemetry__json *j, const char *k, size_t n) {
    if (j->depth == 0 || !j->is_object[j->depth] || j->after_key) { j->error = 1; return; }
    j->after_key = 1;
    if (telemetry__json_plain_run((const unsigned char *)k, n) == n) {   /* the usual key: one piece */
        int comma = j->count[j->depth] != 0;
        char *d = telemetry__buf_room(j->out, n + 3 + (size_t)comma);   /* exactly: a fixed buffer may be full */
        if (!d) return;
        if (comma) *d++ = ',';
        *d++ = '"';
        memcpy(d, k, n);
        d[n] = '"'; d[n + 1] = ':'; d[n + 2] = 0;
        j->out->len = (size_t)(d + n + 2 - j->out->data);
    } else {
        if (j->count[j->depth]) telemetry__buf_putc(j->out, ',');
        telemetry__json_quote(j->out, k, n);
        telemetry__buf_putc(j->out, ':');
    }
    j->count[j->depth] = 1;
}
TELEMETRY__INTERNAL void telemetry__json_key(telemetry__json *j, const char *k) { telemetry__json_key_n(j, k, strlen(k)); }
TELEMETRY__INTERNAL void telemetry__json_value_start(telemetry__json *j) { telemetry__json_pre(j); }
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
    if (v != v || v - v != 0) return 0;  /* NaN or infinity */
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 40, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    dp = localeconv()->decimal_point;          /* may be several bytes (U+066B in ps_AF) */
    if (dp && dp[0] && strcmp(dp, ".") != 0) {
        char *at = strstr(out, dp);
        if (at) {
            size_t dl = strlen(dp);
            *at = '.';
            memmove(at + 1, at + dl, strlen(at + dl) + 1);
            n -= (int)dl - 1;
        }
    }
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
    if (j->error || j->depth != 0 || j->count[0] != 1 || j->after_key) return TELEMETRY_ERR_INVALID_ARGUMENT;
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

/* A hex digit's value, or -1. */
TELEMETRY__INTERNAL int telemetry__hexval(int c) {
    c = telemetry__lower(c);
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* IP literals, as inet_pton reads them but without the socket headers (TLS checks an address host
   against the certificate's IP names). An IPv4 dotted quad: four decimal numbers 0-255 with no
   leading zeros, from s to end. 0 with the 4 bytes in out, or -1. */
TELEMETRY__INTERNAL int telemetry__ip4_parse(const char *s, const char *end, unsigned char out[4]) {
    unsigned char b[4];
    unsigned v = 0;
    int octets = 0, digits = 0;
    for (; s < end; s++) {
        if (*s >= '0' && *s <= '9') {
            if (digits && v == 0) return -1;                   /* "01": a leading zero */
            v = v * 10 + (unsigned)(*s - '0');
            if (v > 255) return -1;
            if (!digits++ && ++octets > 4) return -1;
        } else if (*s == '.' && digits) {
            if (octets == 4) return -1;
            b[octets - 1] = (unsigned char)v;
            v = 0; digits = 0;
        } else {
            return -1;
        }
    }
    if (octets != 4 || !digits) return -1;
    b[3] = (unsigned char)v;
    memcpy(out, b, 4);
    return 0;
}
/* An IPv6 address (RFC 4291 text: eight groups of 1-4 hex digits, one "::" for a run of zero
   groups, optionally ending in a dotted quad). No zone ("%eth0"). 0 with the 16 bytes, or -1. */
TELEMETRY__INTERNAL int telemetry__ip6_parse(const char *s, unsigned char out[16]) {
    unsigned char b[16];
    const char *group = s, *end = s + strlen(s);
    size_t o = 0, gap = (size_t)-1;
    unsigned v = 0;
    int digits = 0;
    memset(b, 0, sizeof b);
    if (*s == ':' && *++s != ':') return -1;                   /* a lone leading ':' */
    for (; *s; s++) {
        int x = telemetry__hexval((unsigned char)*s);
        if (x >= 0) {
            if (++digits > 4) return -1;
            v = v << 4 | (unsigned)x;
        } else if (*s == ':') {
            group = s + 1;
            if (!digits) {                                      /* "::" */
                if (gap != (size_t)-1) return -1;
                gap = o;
                continue;
            }
            if (!s[1] || o + 2 > 16) return -1;                 /* a trailing ':', or too many groups */
            b[o++] = (unsigned char)(v >> 8); b[o++] = (unsigned char)v;
            v = 0; digits = 0;
        } else if (*s == '.' && o + 4 <= 16 && telemetry__ip4_parse(group, end, b + o) == 0) {
            o += 4; digits = 0;
            break;
        } else {
            return -1;
        }
    }
    if (digits) {
        if (o + 2 > 16) return -1;
        b[o++] = (unsigned char)(v >> 8); b[o++] = (unsigned char)v;
    }
    if (gap != (size_t)-1) {                                    /* the zero run fills the middle */
        if (o == 16) return -1;
        memmove(b + 16 - (o - gap), b + gap, o - gap);
        memset(b + gap, 0, 16 - o);
        o = 16;
    }
    if (o != 16) return -1;
    memcpy(out, b, 16);
    return 0;
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
   >>net: TCP connections where every step shares one deadline, or the program's own byte stream

   getaddrinfo() cannot be given a deadline: name resolution is bounded only by the resolver's own
   timeout (resolv.conf: by default 5 s x 2 attempts per server). The deadline is checked as soon
   as it returns. Everything after it (connect, TLS, send, receive) waits in poll() against the
   one deadline, so a server that accepts and then says nothing costs at most the deadline.
   Sockets are non-blocking, close-on-exec, TCP_NODELAY, and never raise SIGPIPE.
   ============================================================================================= */
#include <limits.h>
#if defined(TELEMETRY_NO_SOCKETS)
/* TELEMETRY_NO_SOCKETS: no socket or resolver header is read; cfg.io is the only way out */
typedef int telemetry__socket;
#  define TELEMETRY__NO_SOCKET (-1)
#  define telemetry__sock_close(s) ((void)(s))
#elif defined(_WIN32)
#  include <winsock2.h>
#  include <ws2tcpip.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "ws2_32.lib")
#  endif
typedef SOCKET telemetry__socket;
typedef WSAPOLLFD telemetry__pollfd;
#  define TELEMETRY__NO_SOCKET INVALID_SOCKET
#  define telemetry__sock_close(s) closesocket(s)
#  define telemetry__sock_errno() ((int)WSAGetLastError())
#  define telemetry__sock_poll(fds, n, ms) WSAPoll((fds), (ULONG)(n), (ms))
#  define TELEMETRY__EINPROGRESS WSAEWOULDBLOCK
#  define TELEMETRY__EWOULDBLOCK WSAEWOULDBLOCK
#  define TELEMETRY__EINTR WSAEINTR
#  define TELEMETRY__SEND_FLAGS 0
#else
#  include <sys/socket.h>
#  include <netinet/in.h>
#  include <netinet/tcp.h>
#  include <arpa/inet.h>
#  include <netdb.h>
#  include <poll.h>
typedef int telemetry__socket;
typedef struct pollfd telemetry__pollfd;
#  define TELEMETRY__NO_SOCKET (-1)
#  define telemetry__sock_close(s) close(s)
#  define telemetry__sock_errno() errno
#  define telemetry__sock_poll(fds, n, ms) poll((fds), (nfds_t)(n), (ms))
#  define TELEMETRY__EINPROGRESS EINPROGRESS
#  define TELEMETRY__EWOULDBLOCK EWOULDBLOCK
#  define TELEMETRY__EINTR EINTR
#  ifdef MSG_NOSIGNAL
#    define TELEMETRY__SEND_FLAGS MSG_NOSIGNAL
#  else
#    define TELEMETRY__SEND_FLAGS 0                  /* SO_NOSIGPIPE is set on the socket instead */
#  endif
#endif

/* What the transport needs from the library's config. */
typedef struct telemetry__transport_config {
    const char *ca_file;            /* PEM file of trust anchors, or NULL */
    const char *ca_pem;             /* PEM text of trust anchors, or NULL (wins over ca_file) */
    const telemetry_io *io;         /* the program's byte stream, or NULL for our sockets */
    int (*entropy_fn)(void *user_data, void *buf, size_t len);   /* or NULL: the OS */
    int64_t (*clock_fn)(void *user_data);                         /* UTC ms, or NULL: system clock */
    void *platform_user_data;
    int use_proxy_env;              /* honour https_proxy, http_proxy, no_proxy (either case) */
    const int *cancel;              /* nonzero stops any wait within TELEMETRY__CANCEL_SLICE_MS */
    const char *tls_session_file;   /* TLS sessions kept across runs (>>tls), or NULL: memory only */
} telemetry__transport_config;

/* How often a wait looks at the cancel flag: shutdown stops a hung request this fast. */
#define TELEMETRY__CANCEL_SLICE_MS 20

/* Read results beside byte counts and negative telemetry_result codes. */
#define TELEMETRY__EOF_UNCLEAN (-1000)               /* TCP closed under TLS without close_notify */

typedef struct telemetry__net {
    telemetry__socket fd;
    const telemetry_io *io;      /* the program's byte stream, or NULL for our own socket */
    void *io_conn;
    int open;
    const int *cancel;           /* the transport config's cancel flag, or NULL */
    char err[256];               /* why the last step failed: the one log line of a failed send */
} telemetry__net;

TELEMETRY__INTERNAL int telemetry__net_fail(telemetry__net *n, int rc, const char *fmt, ...) TELEMETRY__PRINTF(3, 4);
TELEMETRY__INTERNAL int telemetry__net_fail(telemetry__net *n, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->err, sizeof n->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* Milliseconds left before the deadline (monotonic clock), 0 once it has passed. */
TELEMETRY__INTERNAL int64_t telemetry__ms_left(int64_t deadline) {
    int64_t left = deadline - telemetry__monotonic_ms();
    return left > 0 ? left : 0;
}
TELEMETRY__INTERNAL unsigned telemetry__ms_left_u(int64_t deadline) {
    int64_t left = telemetry__ms_left(deadline);
    return left > (int64_t)UINT_MAX ? UINT_MAX : (unsigned)left;
}
/* ---- the library's own sockets (under TELEMETRY_NO_SOCKETS: stubs that say so) ------------ */
#if !defined(TELEMETRY_NO_SOCKETS)
TELEMETRY__INTERNAL int telemetry__would_block(int e) {
    return e == TELEMETRY__EWOULDBLOCK || e == TELEMETRY__EINPROGRESS
#if !defined(_WIN32)
        || e == EAGAIN
#endif
        ;
}
TELEMETRY__INTERNAL const char *telemetry__sock_strerror(int e, char *tmp, size_t cap) {
#if defined(_WIN32)
    snprintf(tmp, cap, "Winsock error %d", e);
    return tmp;
#else
    (void)tmp; (void)cap;
    return strerror(e);
#endif
}

/* Waits until the socket is ready for events (or has an error for the next call to report). */
TELEMETRY__INTERNAL int telemetry__net_wait(telemetry__net *n, short events, int64_t deadline) {
    char tmp[48];
    for (;;) {
        telemetry__pollfd p;
        int r;
        int64_t left = telemetry__ms_left(deadline);
        if (left <= 0) return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "timed out waiting for the server");
        if (n->cancel) {
            if (TELEMETRY__ATOMIC_LOAD(n->cancel)) return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "stopped: shutting down");
            if (left > TELEMETRY__CANCEL_SLICE_MS) left = TELEMETRY__CANCEL_SLICE_MS;
        }
        p.fd = n->fd; p.events = events; p.revents = 0;
        r = telemetry__sock_poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0) return 0;
        if (r < 0 && telemetry__sock_errno() != TELEMETRY__EINTR)
            return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "poll: %s",
                                       telemetry__sock_strerror(telemetry__sock_errno(), tmp, sizeof tmp));
    }
}

#if defined(_WIN32)
/* Waits for a non-blocking connect to finish. Not WSAPoll: before Windows 10 2004 it never reports
   a refused connect, which would wait out the deadline; select() puts that socket in its except
   set. The same slices and cancel flag as telemetry__net_wait; SO_ERROR then tells the outcome. */
TELEMETRY__INTERNAL int telemetry__net_wait_connect(telemetry__net *n, int64_t deadline) {
    char tmp[48];
    for (;;) {
        fd_set w, x;
        struct timeval tv;
        int r;
        int64_t left = telemetry__ms_left(deadline);
        if (left <= 0) return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "timed out waiting for the server");
        if (n->cancel) {
            if (TELEMETRY__ATOMIC_LOAD(n->cancel)) return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "stopped: shutting down");
            if (left > TELEMETRY__CANCEL_SLICE_MS) left = TELEMETRY__CANCEL_SLICE_MS;
        }
        FD_ZERO(&w); FD_ZERO(&x);
        FD_SET(n->fd, &w); FD_SET(n->fd, &x);
        tv.tv_sec = (long)(left / 1000); tv.tv_usec = (long)(left % 1000 * 1000);
        r = select(0, NULL, &w, &x, &tv);                 /* the first argument is ignored there */
        if (r > 0) return 0;
        if (r < 0) return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "select: %s",
                                              telemetry__sock_strerror(telemetry__sock_errno(), tmp, sizeof tmp));
    }
}
#endif

/* One address: non-blocking connect, waited for until deadline. */
TELEMETRY__INTERNAL int telemetry__net_try(telemetry__net *n, const struct addrinfo *ai, int64_t deadline) {
    int one = 1, e = 0, type = ai->ai_socktype;
    char tmp[48];
#if defined(SOCK_CLOEXEC)
    type |= SOCK_CLOEXEC;
#endif
    n->fd = socket(ai->ai_family, type, ai->ai_protocol);
    if (n->fd == TELEMETRY__NO_SOCKET) e = telemetry__sock_errno();
    else {
#if defined(_WIN32)
        u_long nb = 1;
        ioctlsocket(n->fd, FIONBIO, &nb);
#else
        fcntl(n->fd, F_SETFD, fcntl(n->fd, F_GETFD) | FD_CLOEXEC);
        fcntl(n->fd, F_SETFL, fcntl(n->fd, F_GETFL) | O_NONBLOCK);
#endif
#if defined(SO_NOSIGPIPE)
        setsockopt(n->fd, SOL_SOCKET, SO_NOSIGPIPE, (const char *)&one, sizeof one);
#endif
        if (connect(n->fd, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
            e = telemetry__sock_errno();
            if (telemetry__would_block(e) || e == TELEMETRY__EINTR) {
                socklen_t len = sizeof e;
                e = 0;
#if defined(_WIN32)
                if (telemetry__net_wait_connect(n, deadline) != 0) e = -1;
#else
                if (telemetry__net_wait(n, POLLOUT, deadline) != 0) e = -1;
#endif
                else if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, (char *)&e, &len) != 0) e = telemetry__sock_errno();
            }
        }
    }
    if (e == 0) {
        setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
        return 0;
    }
    if (e > 0) telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "%s", telemetry__sock_strerror(e, tmp, sizeof tmp));
    else telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "timed out");
    if (n->fd != TELEMETRY__NO_SOCKET) telemetry__sock_close(n->fd);
    n->fd = TELEMETRY__NO_SOCKET;
    return -1;
}

/* Connects to host:port, trying each address in turn; each gets an equal share of the time left so
   that one unreachable address (say, IPv6 without a route) cannot use up the whole deadline. */
TELEMETRY__INTERNAL int telemetry__sock_connect(telemetry__net *n, const char *host, unsigned port, int64_t deadline) {
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[8];
    int gai, count = 0, i = 0;
    snprintf(portstr, sizeof portstr, "%u", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0 || !res) return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "cannot resolve %s: %s", host, gai_strerror(gai));
    for (ai = res; ai; ai = ai->ai_next) count++;
    telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "timed out");
    for (ai = res; ai; ai = ai->ai_next, i++) {
        int64_t left = telemetry__ms_left(deadline);
        if (left <= 0) break;
        if (telemetry__net_try(n, ai, telemetry__monotonic_ms() + left / (count - i)) == 0) {
            freeaddrinfo(res);
            return 0;
        }
    }
    freeaddrinfo(res);
    {
        char why[sizeof n->err];
        memcpy(why, n->err, sizeof why);
        if (telemetry__ms_left(deadline) <= 0)
            return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "connect to %s:%u timed out", host, port);
        return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "connect to %s:%u failed: %s", host, port, why);
    }
}

/* One send or receive, waited for until the deadline (see telemetry__net_io). */
TELEMETRY__INTERNAL long telemetry__sock_io(telemetry__net *n, int writing, void *buf, size_t len, int64_t deadline) {
    char tmp[48];
    for (;;) {
        long r = writing ? (long)send(n->fd, (const char *)buf, (int)len, TELEMETRY__SEND_FLAGS)
                         : (long)recv(n->fd, (char *)buf, (int)len, 0);
        int e = telemetry__sock_errno(), rc;
        if (r > 0 || (r == 0 && !writing)) return r;
        if (r < 0 && e == TELEMETRY__EINTR) continue;
        if (r < 0 && !telemetry__would_block(e))
            return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "%s failed: %s", writing ? "send" : "receive",
                                       telemetry__sock_strerror(e, tmp, sizeof tmp));
        if ((rc = telemetry__net_wait(n, writing ? POLLOUT : POLLIN, deadline)) != 0) return rc;
    }
}

/* An idle kept-alive socket must have nothing to read: readable means closed, reset or junk. */
TELEMETRY__INTERNAL int telemetry__sock_idle_ok(telemetry__net *n) {
    telemetry__pollfd p;
    p.fd = n->fd; p.events = POLLIN; p.revents = 0;
    return telemetry__sock_poll(&p, 1, 0) == 0;
}
#else /* TELEMETRY_NO_SOCKETS */
TELEMETRY__INTERNAL int telemetry__sock_connect(telemetry__net *n, const char *host, unsigned port, int64_t deadline) {
    (void)host; (void)port; (void)deadline;
    return telemetry__net_fail(n, TELEMETRY_ERR_UNSUPPORTED, "no sockets in this build (TELEMETRY_NO_SOCKETS): cfg.io is the only transport");
}
TELEMETRY__INTERNAL long telemetry__sock_io(telemetry__net *n, int writing, void *buf, size_t len, int64_t deadline) {
    (void)n; (void)writing; (void)buf; (void)len; (void)deadline;
    return TELEMETRY_ERR_UNSUPPORTED;             /* never reached: no socket was ever opened */
}
TELEMETRY__INTERNAL int telemetry__sock_idle_ok(telemetry__net *n) { (void)n; return 0; }
#endif

/* Opens a connection before the deadline; a nonzero *cancel (when given) stops every wait. */
TELEMETRY__INTERNAL int telemetry__net_connect_c(telemetry__net *n, const telemetry_io *io, const char *host,
                                                 unsigned port, int64_t deadline, const int *cancel) {
    int rc;
    n->fd = TELEMETRY__NO_SOCKET; n->io = io; n->io_conn = NULL; n->open = 0; n->cancel = cancel;
    if (telemetry__ms_left(deadline) <= 0)
        return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "deadline passed before connecting");
    if (io) {
        rc = io->connect(io->user_data, host, (int)port, telemetry__ms_left_u(deadline), &n->io_conn);
        if (rc < 0) return telemetry__net_fail(n, rc == TELEMETRY_ERR_TIMEOUT ? rc : TELEMETRY_ERR_NETWORK,
                                               "connect to %s:%u failed (telemetry_io: %d)", host, port, rc);
    } else if ((rc = telemetry__sock_connect(n, host, port, deadline)) != 0) {
        return rc;
    }
    n->open = 1;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__net_connect(telemetry__net *n, const telemetry_io *io, const char *host,
                                               unsigned port, int64_t deadline) {
    return telemetry__net_connect_c(n, io, host, port, deadline, NULL);
}

/* One read (writing = 0) or write on the connection: bytes moved (> 0), 0 at the end of the
   stream (reading only), or a negative telemetry_result. */
TELEMETRY__INTERNAL long telemetry__net_io(telemetry__net *n, int writing, void *buf, size_t len, int64_t deadline) {
    long r;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    if (!n->io) return telemetry__sock_io(n, writing, buf, len, deadline);
    if (telemetry__ms_left(deadline) <= 0)
        return telemetry__net_fail(n, TELEMETRY_ERR_TIMEOUT, "timed out (the deadline passed before the telemetry_io %s)",
                                   writing ? "write" : "read");
    r = writing ? n->io->write(n->io->user_data, n->io_conn, buf, len, telemetry__ms_left_u(deadline))
                : n->io->read(n->io->user_data, n->io_conn, buf, len, telemetry__ms_left_u(deadline));
    if (r < 0 || (writing && r == 0))
        return telemetry__net_fail(n, r == TELEMETRY_ERR_TIMEOUT ? TELEMETRY_ERR_TIMEOUT : TELEMETRY_ERR_NETWORK,
                                   "telemetry_io %s failed (%ld)", writing ? "write" : "read", r);
    return r;
}

TELEMETRY__INTERNAL int telemetry__net_write_all(telemetry__net *n, const void *buf, size_t len, int64_t deadline) {
    const char *p = (const char *)buf;
    while (len > 0) {
        long r = telemetry__net_io(n, 1, (void *)p, len, deadline);
        if (r < 0) return (int)r;
        p += r; len -= (size_t)r;
    }
    return 0;
}

/* Whether a kept-alive connection may be used again. */
TELEMETRY__INTERNAL int telemetry__net_idle_ok(telemetry__net *n) {
    if (!n->open) return 0;
    if (n->io) return 1;          /* cannot tell: a dead stream is found by the retry */
    return telemetry__sock_idle_ok(n);
}

TELEMETRY__INTERNAL void telemetry__net_close(telemetry__net *n) {
    if (n->io) { if (n->open) n->io->close(n->io->user_data, n->io_conn); }
    else if (n->fd != TELEMETRY__NO_SOCKET) telemetry__sock_close(n->fd);
    n->fd = TELEMETRY__NO_SOCKET; n->io_conn = NULL; n->open = 0;
}

/* =============================================================================================
   >>tls: TLS 1.2 over BearSSL. Trust anchors from ca_pem, else ca_file, else the first system
   bundle found; loaded once per client. No switch turns verification off.

   Host names go in SNI and are matched against the certificate by br_x509_minimal. BearSSL
   cannot match IP-address SANs, so for an IP literal host (https://127.0.0.1/, https://[::1]/)
   no SNI is sent (RFC 6066 forbids literals there) and a thin wrapper around the minimal engine
   still validates the whole chain and then requires an iPAddress SAN equal to the host in the
   leaf certificate. A certificate that names the IP only in its CN is refused.
   ============================================================================================= */
#if !defined(TELEMETRY_NO_TLS)
#include <bearssl.h>

#define TELEMETRY__TLS_MAX_LEAF 16384    /* largest leaf certificate an IP host can be checked in */

TELEMETRY__INTERNAL const char *telemetry__tls_error_text(int err) {
    switch (err) {
    case BR_ERR_X509_EXPIRED: return "certificate expired or not yet valid (check the clock)";
    case BR_ERR_X509_BAD_SERVER_NAME: return "certificate does not match the host name";
    case BR_ERR_X509_NOT_TRUSTED: return "certificate chain does not lead to a trusted CA";
    case BR_ERR_X509_TIME_UNKNOWN: return "no current time for certificate validation";
    case BR_ERR_X509_NOT_CA: return "an issuer in the chain is not a CA";
    case BR_ERR_X509_BAD_SIGNATURE: return "bad certificate signature";
    case BR_ERR_X509_WEAK_PUBLIC_KEY: return "certificate key too weak";
    case BR_ERR_X509_EMPTY_CHAIN: return "server sent no certificate";
    case BR_ERR_X509_CRITICAL_EXTENSION: return "certificate has an unsupported critical extension";
    case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "certificate key usage forbids TLS server use";
    case BR_ERR_WRONG_KEY_USAGE: return "certificate key usage does not allow this key exchange";
    case BR_ERR_X509_UNSUPPORTED: return "unsupported certificate signature algorithm (SHA-1 is refused)";
    case BR_ERR_X509_DN_MISMATCH: return "issuer name mismatch in the chain";
    case BR_ERR_BAD_VERSION: case BR_ERR_UNSUPPORTED_VERSION: return "server does not speak TLS 1.2";
    case BR_ERR_BAD_CIPHER_SUITE: return "no cipher suite in common";
    case BR_ERR_NO_RANDOM: return "no entropy source";
    case BR_ERR_BAD_MAC: return "record authentication failed";
    case BR_ERR_BAD_SIGNATURE: return "bad server key exchange signature";
    case BR_ERR_RECV_FATAL_ALERT + 40: return "server sent handshake_failure alert";
    case BR_ERR_RECV_FATAL_ALERT + 112: return "server sent unrecognized_name alert";
    default: break;
    }
    if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT) return "server sent a fatal alert";
    if (err >= BR_ERR_SEND_FATAL_ALERT) return "sent a fatal alert";
    if (err >= BR_ERR_X509_OK) return "malformed certificate";
    return "handshake or record error";
}

/* ---- IP-literal hosts: the leaf must carry the address as an iPAddress SAN ----------------- */

/* Reads the DER element at *p (< end): single-byte tag, contents [*v, *v + *n). 0 on success. */
TELEMETRY__INTERNAL int telemetry__der_next(const unsigned char **p, const unsigned char *end, unsigned *tag,
                                            const unsigned char **v, size_t *n) {
    const unsigned char *q = *p;
    size_t len, k;
    if (end - q < 2 || (q[0] & 0x1F) == 0x1F) return -1;
    *tag = q[0]; len = q[1]; q += 2;
    if (len & 0x80) {                      /* long form; indefinite (0x80) is not DER */
        k = len & 0x7F;
        if (k == 0 || k > 3 || (size_t)(end - q) < k) return -1;
        for (len = 0; k > 0; k--) len = (len << 8) | *q++;
    }
    if ((size_t)(end - q) < len) return -1;
    *v = q; *n = len; *p = q + len;
    return 0;
}
/* Enters the element at *p if it has tag: [*p, *end) becomes its contents. */
TELEMETRY__INTERNAL int telemetry__der_enter(const unsigned char **p, const unsigned char **end, unsigned tag) {
    const unsigned char *v;
    size_t n;
    unsigned t;
    if (telemetry__der_next(p, *end, &t, &v, &n) || t != tag) return -1;
    *p = v; *end = v + n;
    return 0;
}

/* ---- trust anchors without BearSSL's X.509 decoder -------------------------------------------
   An anchor needs three things from its certificate: the subject name (as encoded), the public
   key and whether basicConstraints says it is a CA. BearSSL's decoder runs every byte of the
   certificate through its interpreter (~540,000 instructions a certificate: 78 million for a
   144-certificate system bundle, on each run's first connection); this reads the few DER headers
   on the way to them. The same results as br_x509_decoder (tests/test_tls.c compares the two on
   the system bundle and the test certificates, fuzz_anchor on any bytes). */

/* The element at *p (< end) if it has tag (then *p moves past it), else -1 and *p stays. */
TELEMETRY__INTERNAL int telemetry__der_want(const unsigned char **p, const unsigned char *end, unsigned tag, const unsigned char **v, size_t *n) {
    const unsigned char *q = *p;
    unsigned t;
    if (telemetry__der_next(&q, end, &t, v, n) || t != tag) return -1;
    *p = q;
    return 0;
}
/* An INTEGER's unsigned value without its leading zeros, as BearSSL gives an RSA key's. */
TELEMETRY__INTERNAL int telemetry__der_uint(const unsigned char **p, const unsigned char *end, const unsigned char **v, size_t *n) {
    if (telemetry__der_want(p, end, 0x02, v, n) || *n == 0 || (**v & 0x80)) return -1;
    while (*n && **v == 0) { (*v)++; (*n)--; }
    return *n ? 0 : -1;
}
#define TELEMETRY__DER_IS(v, n, bytes) ((n) == sizeof bytes - 1 && memcmp((v), bytes, sizeof bytes - 1) == 0)

typedef struct telemetry__anchor_parts {
    const unsigned char *dn, *n, *e, *q;        /* the subject name (whole), RSA n and e, EC point */
    size_t dn_len, n_len, e_len, q_len;
    int key_type, curve, is_ca;                 /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
} telemetry__anchor_parts;

/* The parts of one DER certificate; 0 when it is well-formed and has an RSA or EC key. */
TELEMETRY__INTERNAL int telemetry__anchor_parse(const unsigned char *der, size_t len, telemetry__anchor_parts *a) {
    const unsigned char *p = der, *end = der + len, *spki, *spki_end, *alg, *alg_end, *oid, *v, *bits;
    size_t oid_len, n, bits_len;
    memset(a, 0, sizeof *a);
    if (telemetry__der_enter(&p, &end, 0x30) || telemetry__der_enter(&p, &end, 0x30)) return -1;   /* cert, tbs */
    telemetry__der_want(&p, end, 0xa0, &v, &n);                                     /* version (not v1) */
    if (telemetry__der_want(&p, end, 0x02, &v, &n) || telemetry__der_want(&p, end, 0x30, &v, &n) ||   /* serial, signature */
        telemetry__der_want(&p, end, 0x30, &v, &n) || telemetry__der_want(&p, end, 0x30, &v, &n))     /* issuer, validity */
        return -1;
    a->dn = p;
    if (telemetry__der_want(&p, end, 0x30, &v, &n)) return -1;                      /* subject */
    a->dn_len = (size_t)(p - a->dn);
    spki = p; spki_end = end;
    if (telemetry__der_enter(&spki, &spki_end, 0x30)) return -1;
    p = spki_end;
    alg = spki; alg_end = spki_end;
    if (telemetry__der_enter(&alg, &alg_end, 0x30) || telemetry__der_want(&alg, alg_end, 0x06, &oid, &oid_len)) return -1;
    spki = alg_end;
    if (telemetry__der_want(&spki, spki_end, 0x03, &bits, &bits_len) || bits_len == 0 || bits[0] != 0) return -1;
    bits++; bits_len--;                                                             /* no unused bits */
    if (TELEMETRY__DER_IS(oid, oid_len, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01")) {       /* rsaEncryption */
        const unsigned char *k = bits, *kend = bits + bits_len;
        if (telemetry__der_enter(&k, &kend, 0x30) || telemetry__der_uint(&k, kend, &a->n, &a->n_len) ||
            telemetry__der_uint(&k, kend, &a->e, &a->e_len))
            return -1;
        a->key_type = BR_KEYTYPE_RSA;
    } else if (TELEMETRY__DER_IS(oid, oid_len, "\x2a\x86\x48\xce\x3d\x02\x01")) {        /* id-ecPublicKey */
        if (telemetry__der_want(&alg, alg_end, 0x06, &v, &n)) return -1;
        if (TELEMETRY__DER_IS(v, n, "\x2a\x86\x48\xce\x3d\x03\x01\x07")) a->curve = BR_EC_secp256r1;
        else if (TELEMETRY__DER_IS(v, n, "\x2b\x81\x04\x00\x22")) a->curve = BR_EC_secp384r1;
        else if (TELEMETRY__DER_IS(v, n, "\x2b\x81\x04\x00\x23")) a->curve = BR_EC_secp521r1;
        else return -1;
        a->q = bits; a->q_len = bits_len;
        a->key_type = BR_KEYTYPE_EC;
    } else return -1;
    /* the extensions: basicConstraints' cA */
    /* the unique ids [1] and [2], primitive or constructed, as BearSSL skips them */
    if (telemetry__der_want(&p, end, 0x81, &v, &n)) telemetry__der_want(&p, end, 0xa1, &v, &n);
    if (telemetry__der_want(&p, end, 0x82, &v, &n)) telemetry__der_want(&p, end, 0xa2, &v, &n);
    if (telemetry__der_want(&p, end, 0xa3, &v, &n) == 0) {
        const unsigned char *x = v, *xend = v + n;
        if (telemetry__der_enter(&x, &xend, 0x30)) return -1;
        while (x < xend) {
            const unsigned char *e = x, *eend = xend, *val;
            size_t val_len;
            if (telemetry__der_enter(&e, &eend, 0x30)) return -1;
            x = eend;
            if (telemetry__der_want(&e, eend, 0x06, &oid, &oid_len)) return -1;
            telemetry__der_want(&e, eend, 0x01, &v, &n);                            /* critical */
            if (telemetry__der_want(&e, eend, 0x04, &val, &val_len)) return -1;
            if (!TELEMETRY__DER_IS(oid, oid_len, "\x55\x1d\x13")) continue;         /* basicConstraints */
            e = val; eend = val + val_len;
            if (telemetry__der_enter(&e, &eend, 0x30)) return -1;
            if (telemetry__der_want(&e, eend, 0x01, &v, &n) == 0) a->is_ca = n == 1 && v[0] != 0;
        }
    }
    return 0;
}

/* 1 when the DER certificate lists ip (4 or 16 bytes) as an iPAddress subjectAltName. */
TELEMETRY__INTERNAL int telemetry__cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t ip_len) {
    static const unsigned char san_oid[3] = { 0x55, 0x1D, 0x11 };         /* 2.5.29.17 */
    const unsigned char *p = der, *end = der + len, *v;
    size_t n;
    unsigned tag;
    if (telemetry__der_enter(&p, &end, 0x30) || telemetry__der_enter(&p, &end, 0x30)) return 0;  /* cert, tbs */
    while (p < end) {
        const unsigned char *q, *qend;
        if (telemetry__der_next(&p, end, &tag, &v, &n)) return 0;
        if (tag != 0xA3) continue;                                         /* [3] extensions */
        q = v; qend = v + n;
        if (telemetry__der_enter(&q, &qend, 0x30)) return 0;
        while (q < qend) {
            const unsigned char *e = q, *eend = qend;
            if (telemetry__der_enter(&e, &eend, 0x30)) return 0;           /* Extension */
            q = eend;
            if (telemetry__der_next(&e, eend, &tag, &v, &n) || tag != 0x06) return 0;
            if (n != 3 || memcmp(v, san_oid, 3) != 0) continue;
            if (telemetry__der_next(&e, eend, &tag, &v, &n)) return 0;
            if (tag == 0x01 && telemetry__der_next(&e, eend, &tag, &v, &n)) return 0;  /* critical */
            if (tag != 0x04) return 0;
            e = v; eend = v + n;
            if (telemetry__der_enter(&e, &eend, 0x30)) return 0;           /* GeneralNames */
            while (e < eend) {
                if (telemetry__der_next(&e, eend, &tag, &v, &n)) return 0;
                if (tag == 0x87 && n == ip_len && memcmp(v, ip, ip_len) == 0) return 1;
            }
            return 0;
        }
        return 0;
    }
    return 0;
}

typedef struct telemetry__x509_ip {
    const br_x509_class *vtable;           /* first: BearSSL passes &vtable around */
    br_x509_minimal_context *inner;
    unsigned char ip[16];
    size_t ip_len;                         /* 0: a host name, the minimal engine checks it */
    unsigned cert_index;
    int leaf_too_big;
    size_t leaf_len;
    unsigned char leaf[TELEMETRY__TLS_MAX_LEAF];
} telemetry__x509_ip;

#define TELEMETRY__XIP(ctx) ((telemetry__x509_ip *)(void *)(ctx))
#define TELEMETRY__XIN(ctx) (&TELEMETRY__XIP(ctx)->inner->vtable)
TELEMETRY__INTERNAL void telemetry__xip_start_chain(const br_x509_class **ctx, const char *server_name) {
    TELEMETRY__XIP(ctx)->cert_index = 0;
    TELEMETRY__XIP(ctx)->leaf_len = 0;
    TELEMETRY__XIP(ctx)->leaf_too_big = 0;
    (*TELEMETRY__XIN(ctx))->start_chain(TELEMETRY__XIN(ctx), server_name);
}
TELEMETRY__INTERNAL void telemetry__xip_start_cert(const br_x509_class **ctx, uint32_t length) {
    (*TELEMETRY__XIN(ctx))->start_cert(TELEMETRY__XIN(ctx), length);
}
TELEMETRY__INTERNAL void telemetry__xip_append(const br_x509_class **ctx, const unsigned char *buf, size_t len) {
    telemetry__x509_ip *x = TELEMETRY__XIP(ctx);
    if (x->ip_len && x->cert_index == 0) {
        if (len > sizeof x->leaf - x->leaf_len) x->leaf_too_big = 1;
        else { memcpy(x->leaf + x->leaf_len, buf, len); x->leaf_len += len; }
    }
    (*TELEMETRY__XIN(ctx))->append(TELEMETRY__XIN(ctx), buf, len);
}
TELEMETRY__INTERNAL void telemetry__xip_end_cert(const br_x509_class **ctx) {
    TELEMETRY__XIP(ctx)->cert_index++;
    (*TELEMETRY__XIN(ctx))->end_cert(TELEMETRY__XIN(ctx));
}
TELEMETRY__INTERNAL unsigned telemetry__xip_end_chain(const br_x509_class **ctx) {
    telemetry__x509_ip *x = TELEMETRY__XIP(ctx);
    unsigned err = (*TELEMETRY__XIN(ctx))->end_chain(TELEMETRY__XIN(ctx));
    if (err == 0 && x->ip_len && (x->leaf_too_big || !telemetry__cert_has_ip(x->leaf, x->leaf_len, x->ip, x->ip_len)))
        err = BR_ERR_X509_BAD_SERVER_NAME;
    return err;
}
TELEMETRY__INTERNAL const br_x509_pkey *telemetry__xip_get_pkey(const br_x509_class *const *ctx, unsigned *usages) {
    const br_x509_class *const *in = (const br_x509_class *const *)TELEMETRY__XIN(ctx);
    return (*in)->get_pkey(in, usages);
}
static const br_x509_class telemetry__xip_vtable = {
    sizeof(telemetry__x509_ip), telemetry__xip_start_chain, telemetry__xip_start_cert, telemetry__xip_append,
    telemetry__xip_end_cert, telemetry__xip_end_chain, telemetry__xip_get_pkey
};

/* ---- trust anchors -------------------------------------------------------------------------- */
typedef struct telemetry__tls {
    br_ssl_client_context sc;
    br_x509_minimal_context xc;
    telemetry__x509_ip xip;
    br_x509_trust_anchor *tas;
    size_t n_tas, cap_tas;
    int ready;                             /* anchors loaded and engine configured */
    char session[280];                     /* host:port whose session sc may resume */
    unsigned char saved_id[32];            /* the session id last written to the session file */
    unsigned char saved_id_len;
    int file_session_failed;               /* a handshake resuming the file's session failed */
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
} telemetry__tls;

TELEMETRY__INTERNAL void telemetry__tls_free(telemetry__tls *t) {
    size_t i;
    if (!t) return;
    for (i = 0; i < t->n_tas; i++) telemetry__free(t->tas[i].dn.data);
    telemetry__free(t->tas);
    telemetry__free(t);
}

/* One DER certificate becomes an anchor that owns a copy of its DN and key. Others are skipped. */
TELEMETRY__INTERNAL void telemetry__tls_add_anchor(telemetry__tls *t, const unsigned char *der, size_t len) {
    telemetry__anchor_parts a;
    br_x509_trust_anchor *ta;
    unsigned char *mem;
    if (telemetry__anchor_parse(der, len, &a) != 0) return;
    if (t->n_tas == t->cap_tas) {
        size_t cap = t->cap_tas ? t->cap_tas * 2 : 64;
        br_x509_trust_anchor *p = (br_x509_trust_anchor *)telemetry__realloc(t->tas, cap * sizeof *p);
        if (!p) return;
        t->tas = p; t->cap_tas = cap;
    }
    mem = (unsigned char *)telemetry__malloc(a.dn_len + a.n_len + a.e_len + a.q_len);
    if (!mem) return;
    ta = &t->tas[t->n_tas++];
    memset(ta, 0, sizeof *ta);
    memcpy(mem, a.dn, a.dn_len);
    ta->dn.data = mem; ta->dn.len = a.dn_len;
    ta->flags = a.is_ca ? BR_X509_TA_CA : 0;
    ta->pkey.key_type = (unsigned char)a.key_type;
    mem += a.dn_len;
    if (a.key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = mem; ta->pkey.key.rsa.nlen = a.n_len;
        memcpy(mem, a.n, a.n_len);
        ta->pkey.key.rsa.e = mem + a.n_len; ta->pkey.key.rsa.elen = a.e_len;
        memcpy(mem + a.n_len, a.e, a.e_len);
    } else {
        ta->pkey.key.ec.curve = a.curve;
        ta->pkey.key.ec.q = mem; ta->pkey.key.ec.qlen = a.q_len;
        memcpy(mem, a.q, a.q_len);
    }
}

/* ---- PEM: our own decoder. BearSSL's is a byte-code interpreter at ~1,400 instructions a byte:
   300 million (~100 ms) for a 220 KB system bundle, on the first connection of every run; this
   one is a table lookup a byte. ------------------------------------------------------------- */

/* Base64 value of c, 64 for white space (skipped), -1 for anything else. */
TELEMETRY__INTERNAL int telemetry__b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 64;
    return -1;
}
/* Decodes the base64 text [p, end) into out (growable); 0 when it is well formed ('=' padding
   only at the end). */
TELEMETRY__INTERNAL int telemetry__b64_decode(const char *p, const char *end, telemetry__buf *out) {
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    char *d = telemetry__buf_room(out, (size_t)(end - p) / 4 * 3 + 3);
    size_t o = 0;
    if (!d) return -1;
    for (; p < end; p++) {
        int v = telemetry__b64_value((unsigned char)*p);
        if (v == 64) continue;
        if (*p == '=') { pad++; continue; }
        if (v < 0 || pad) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; d[o++] = (char)(acc >> bits); acc &= (1u << bits) - 1; }
    }
    if (pad > 2 || bits >= 6) return -1;
    out->len += o;
    d[o] = 0;
    return 0;
}
/* Calls fn with the DER of every CERTIFICATE (or X509 CERTIFICATE) object in the PEM text, in
   order; a malformed object is skipped, the rest still read. */
TELEMETRY__INTERNAL void telemetry__pem_certificates(const char *text, size_t len, void (*fn)(void *ctx, const unsigned char *der, size_t n), void *ctx) {
    const char *p = text, *end = text + len;
    telemetry__buf der;
    telemetry__buf_init(&der);
    while (p < end) {
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p)), *line = p, *name, *q, *body;
        size_t nl;
        if (!eol) eol = end;
        p = eol < end ? eol + 1 : end;
        if ((size_t)(eol - line) < 16 || memcmp(line, "-----BEGIN ", 11) != 0) continue;
        name = line + 11;
        for (q = name; q + 5 <= eol && memcmp(q, "-----", 5) != 0; q++) {}
        if (q + 5 > eol) continue;
        nl = (size_t)(q - name);
        body = p;
        for (q = p; q < end; ) {                          /* the END line, or the next BEGIN */
            const char *e2 = (const char *)memchr(q, '\n', (size_t)(end - q));
            if ((size_t)(end - q) >= 9 && memcmp(q, "-----END ", 9) == 0) break;
            if ((size_t)(end - q) >= 11 && memcmp(q, "-----BEGIN ", 11) == 0) break;
            q = e2 ? e2 + 1 : end;
        }
        if (q >= end) break;                             /* never closed */
        p = q;
        if (q[5] == 'B') continue;                       /* never closed: the next object is read */
        if ((nl == 11 && memcmp(name, "CERTIFICATE", 11) == 0) || (nl == 16 && memcmp(name, "X509 CERTIFICATE", 16) == 0)) {
            der.len = 0;
            der.failed = 0;
            if (telemetry__b64_decode(body, q, &der) == 0 && der.len) fn(ctx, (const unsigned char *)der.data, der.len);
        }
    }
    telemetry__buf_free(&der);
}
TELEMETRY__INTERNAL void telemetry__tls_anchor_fn(void *ctx, const unsigned char *der, size_t n) {
    telemetry__tls_add_anchor((telemetry__tls *)ctx, der, n);
}

#if defined(_WIN32)
#  include <wincrypt.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "crypt32.lib")
#  endif
/* The system's anchors on Windows: every certificate of the current user's ROOT store (which
   shows the machine's too), its DER decoded like a PEM file's. 0, or -1 when it cannot be opened. */
TELEMETRY__INTERNAL int telemetry__tls_windows_roots(telemetry__tls *t) {
    HCERTSTORE store = CertOpenSystemStoreW(0, L"ROOT");
    PCCERT_CONTEXT c = NULL;
    if (!store) return -1;
    while ((c = CertEnumCertificatesInStore(store, c)) != NULL)
        if (c->dwCertEncodingType & X509_ASN_ENCODING) telemetry__tls_add_anchor(t, c->pbCertEncoded, c->cbCertEncoded);
    CertCloseStore(store, 0);
    return 0;
}
#endif

/* 0 when the file could be opened (it may still hold no certificate). */
TELEMETRY__INTERNAL int telemetry__tls_pem_file(telemetry__tls *t, const char *path) {
    char chunk[4096];
    size_t n;
    telemetry__buf text;
    FILE *f = telemetry__fopen_read(path);
    if (!f) return -1;
    telemetry__buf_init(&text);
    /* at most 16 MiB: ca_file=/dev/zero must not hang us */
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && text.len + n <= ((size_t)16 << 20)) telemetry__buf_append(&text, chunk, n);
    fclose(f);
    if (!text.failed && text.len) telemetry__pem_certificates(text.data, text.len, telemetry__tls_anchor_fn, t);
    telemetry__buf_free(&text);
    return 0;
}

/* ---- ECDSA P-256 signature checks, 64-bit ---------------------------------------------------
   A fresh HTTPS connection to a server with an ECDSA P-256 certificate checks two signatures (the
   certificate's, by its issuer, and the key exchange's, by the certificate's key): 20 of its 27
   million instructions in BearSSL 0.6 as Debian ships it, which has only the 31-bit code for this
   curve (br_ec_p256_m31). Verifying handles public data only, so it need not be constant-time:
   here it is done with 64-bit limbs (a compiler's 128-bit product), Montgomery arithmetic modulo
   p and the group order n, Jacobian coordinates and one pass over both scalars (Shamir's trick):
   ~25x fewer instructions. Anything else (other curves, unusual encodings) goes to BearSSL.
   tests/test_tls.c and fuzz_p256 check it against BearSSL's own verifier. */
#if !defined(TELEMETRY_SMALL_TLS) && defined(__SIZEOF_INT128__) && (defined(__GNUC__) || defined(__clang__))
#  define TELEMETRY__P256 1
__extension__ typedef unsigned __int128 telemetry__u128;
typedef struct telemetry__mod { uint64_t m[4], n0, r2[4], one[4]; } telemetry__mod;   /* one: R mod m */
typedef struct telemetry__jpoint { uint64_t x[4], y[4], z[4]; } telemetry__jpoint;    /* z == 0: infinity */

/* big-endian bytes (at most 32) as 4 little-endian limbs */
TELEMETRY__INTERNAL void telemetry__p256_load(uint64_t r[4], const unsigned char *b, size_t n) {
    size_t i;
    r[0] = r[1] = r[2] = r[3] = 0;
    for (i = 0; i < n; i++) r[(n - 1 - i) / 8] |= (uint64_t)b[i] << (8 * ((n - 1 - i) % 8));
}
TELEMETRY__INTERNAL int telemetry__p256_is_zero(const uint64_t a[4]) { return (a[0] | a[1] | a[2] | a[3]) == 0; }
/* a < b */
TELEMETRY__INTERNAL int telemetry__p256_less(const uint64_t a[4], const uint64_t b[4]) {
    int i;
    for (i = 3; i >= 0; i--) if (a[i] != b[i]) return a[i] < b[i];
    return 0;
}
/* r = a - b, the borrow out */
TELEMETRY__INTERNAL uint64_t telemetry__p256_sub4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    uint64_t borrow = 0;
    int i;
    for (i = 0; i < 4; i++) {
        uint64_t d = a[i] - b[i], d2 = d - borrow;
        borrow = (a[i] < b[i]) | (d < borrow);
        r[i] = d2;
    }
    return borrow;
}
/* r = a + b mod m (a, b < m) */
TELEMETRY__INTERNAL void telemetry__p256_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const telemetry__mod *M) {
    uint64_t s[4], d[4], carry = 0;
    int i;
    for (i = 0; i < 4; i++) {
        telemetry__u128 t = (telemetry__u128)a[i] + b[i] + carry;
        s[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    if (telemetry__p256_sub4(d, s, M->m) <= carry) memcpy(s, d, sizeof d);   /* s >= m, or it overflowed */
    memcpy(r, s, sizeof s);
}
/* r = a - b mod m (a, b < m) */
TELEMETRY__INTERNAL void telemetry__p256_sub(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const telemetry__mod *M) {
    uint64_t d[4], carry = 0;
    int i;
    if (telemetry__p256_sub4(d, a, b)) {
        for (i = 0; i < 4; i++) {
            telemetry__u128 t = (telemetry__u128)d[i] + M->m[i] + carry;
            d[i] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
    }
    memcpy(r, d, sizeof d);
}
/* r = a * b / 2^256 mod m (Montgomery, word by word; a, b < m), written out in registers */
#  define TELEMETRY__P256_MAC(x, y, t) acc = (telemetry__u128)(x) * (y) + (t) + c; (t) = (uint64_t)acc; c = (uint64_t)(acc >> 64)
#  define TELEMETRY__P256_ROUND(bi) \
    c = 0; \
    TELEMETRY__P256_MAC(a0, bi, t0); TELEMETRY__P256_MAC(a1, bi, t1); TELEMETRY__P256_MAC(a2, bi, t2); TELEMETRY__P256_MAC(a3, bi, t3); \
    acc = (telemetry__u128)t4 + c; t4 = (uint64_t)acc; top = (uint64_t)(acc >> 64); \
    q = t0 * n0; \
    acc = (telemetry__u128)q * m0 + t0; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)q * m1 + t1 + c; t0 = (uint64_t)acc; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)q * m2 + t2 + c; t1 = (uint64_t)acc; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)q * m3 + t3 + c; t2 = (uint64_t)acc; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)t4 + c; t3 = (uint64_t)acc; t4 = top + (uint64_t)(acc >> 64)
/* The same for p = 2^256 - 2^224 + 2^192 + 2^96 - 1 (n0 = 1, so q = t0; its limbs are 2^64 - 1,
   2^32 - 1, 0 and 2^64 - 2^32 + 1: q m0 + t0 is q 2^64, and q m2 is 0) */
#  define TELEMETRY__P256_ROUND_P(bi) \
    c = 0; \
    TELEMETRY__P256_MAC(a0, bi, t0); TELEMETRY__P256_MAC(a1, bi, t1); TELEMETRY__P256_MAC(a2, bi, t2); TELEMETRY__P256_MAC(a3, bi, t3); \
    acc = (telemetry__u128)t4 + c; t4 = (uint64_t)acc; top = (uint64_t)(acc >> 64); \
    q = t0; c = q; \
    acc = (telemetry__u128)q * m1 + t1 + c; t0 = (uint64_t)acc; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)t2 + c; t1 = (uint64_t)acc; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)q * m3 + t3 + c; t2 = (uint64_t)acc; c = (uint64_t)(acc >> 64); \
    acc = (telemetry__u128)t4 + c; t3 = (uint64_t)acc; t4 = top + (uint64_t)(acc >> 64)
TELEMETRY__INTERNAL void telemetry__p256_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const telemetry__mod *M) {
    const uint64_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], m0 = M->m[0], m1 = M->m[1], m2 = M->m[2], m3 = M->m[3], n0 = M->n0;
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, c, q, top, d0, d1, d2, d3, borrow;
    telemetry__u128 acc;
    if (n0 == 1 && m0 == ~(uint64_t)0 && m1 == 0xffffffffu && m2 == 0) {   /* the field's p */
        TELEMETRY__P256_ROUND_P(b[0]);
        TELEMETRY__P256_ROUND_P(b[1]);
        TELEMETRY__P256_ROUND_P(b[2]);
        TELEMETRY__P256_ROUND_P(b[3]);
    } else {
        TELEMETRY__P256_ROUND(b[0]);
        TELEMETRY__P256_ROUND(b[1]);
        TELEMETRY__P256_ROUND(b[2]);
        TELEMETRY__P256_ROUND(b[3]);
    }
    /* t < 2m: subtract m once if t >= m */
    acc = (telemetry__u128)t0 - m0; d0 = (uint64_t)acc; borrow = (uint64_t)(acc >> 64) & 1;
    acc = (telemetry__u128)t1 - m1 - borrow; d1 = (uint64_t)acc; borrow = (uint64_t)(acc >> 64) & 1;
    acc = (telemetry__u128)t2 - m2 - borrow; d2 = (uint64_t)acc; borrow = (uint64_t)(acc >> 64) & 1;
    acc = (telemetry__u128)t3 - m3 - borrow; d3 = (uint64_t)acc; borrow = (uint64_t)(acc >> 64) & 1;
    if (borrow <= t4) { t0 = d0; t1 = d1; t2 = d2; t3 = d3; }
    r[0] = t0; r[1] = t1; r[2] = t2; r[3] = t3;
}
TELEMETRY__INTERNAL void telemetry__p256_mod_init(telemetry__mod *M, const unsigned char be[32]) {
    uint64_t inv, x[4] = { 1, 0, 0, 0 };
    int i;
    telemetry__p256_load(M->m, be, 32);
    inv = M->m[0];                               /* right to 3 bits (m is odd); Newton doubles them */
    for (i = 0; i < 5; i++) inv *= 2 - M->m[0] * inv;
    M->n0 = (uint64_t)0 - inv;
    for (i = 0; i < 512; i++) telemetry__p256_add(x, x, x, M);   /* 2^512 mod m */
    memcpy(M->r2, x, sizeof x);
    x[0] = 1; x[1] = x[2] = x[3] = 0;
    telemetry__p256_mul(M->one, x, M->r2, M);                  /* 2^256 mod m */
}
/* r = a^(m-2) = 1/a mod m (Montgomery form in and out; m prime) */
TELEMETRY__INTERNAL void telemetry__p256_inv(uint64_t r[4], const uint64_t a[4], const telemetry__mod *M) {
    uint64_t e[4], two[4] = { 2, 0, 0, 0 }, x[4];
    int i;
    telemetry__p256_sub4(e, M->m, two);
    memcpy(x, M->one, sizeof x);
    for (i = 255; i >= 0; i--) {
        telemetry__p256_mul(x, x, x, M);
        if ((e[i / 64] >> (i % 64)) & 1) telemetry__p256_mul(x, x, a, M);
    }
    memcpy(r, x, sizeof x);
}

/* Jacobian doubling for a = -3 */
TELEMETRY__INTERNAL void telemetry__p256_double(telemetry__jpoint *p, const telemetry__mod *P) {
    uint64_t delta[4], gamma[4], beta[4], alpha[4], t1[4], t2[4];
    if (telemetry__p256_is_zero(p->z)) return;
    telemetry__p256_mul(delta, p->z, p->z, P);
    telemetry__p256_mul(gamma, p->y, p->y, P);
    telemetry__p256_mul(beta, p->x, gamma, P);
    telemetry__p256_sub(t1, p->x, delta, P);
    telemetry__p256_add(t2, p->x, delta, P);
    telemetry__p256_mul(alpha, t1, t2, P);
    telemetry__p256_add(t1, alpha, alpha, P);
    telemetry__p256_add(alpha, t1, alpha, P);                 /* 3 (x - delta)(x + delta) */
    telemetry__p256_add(t1, p->y, p->z, P);
    telemetry__p256_mul(t1, t1, t1, P);
    telemetry__p256_sub(t1, t1, gamma, P);
    telemetry__p256_sub(p->z, t1, delta, P);                  /* z3 = (y + z)^2 - gamma - delta */
    telemetry__p256_add(beta, beta, beta, P);
    telemetry__p256_add(beta, beta, beta, P);                 /* 4 beta */
    telemetry__p256_mul(t1, alpha, alpha, P);
    telemetry__p256_add(t2, beta, beta, P);
    telemetry__p256_sub(p->x, t1, t2, P);                     /* x3 = alpha^2 - 8 beta */
    telemetry__p256_sub(t1, beta, p->x, P);
    telemetry__p256_mul(t1, alpha, t1, P);
    telemetry__p256_mul(gamma, gamma, gamma, P);
    telemetry__p256_add(gamma, gamma, gamma, P);
    telemetry__p256_add(gamma, gamma, gamma, P);
    telemetry__p256_add(gamma, gamma, gamma, P);              /* 8 gamma^2 */
    telemetry__p256_sub(p->y, t1, gamma, P);                  /* y3 = alpha (4 beta - x3) - 8 gamma^2 */
}
/* p += q (Jacobian, any points, infinity and p == q included) */
TELEMETRY__INTERNAL void telemetry__p256_add_point(telemetry__jpoint *p, const telemetry__jpoint *q, const telemetry__mod *P) {
    uint64_t z1z1[4], z2z2[4], u1[4], u2[4], s1[4], s2[4], h[4], r[4], i[4], j[4], v[4], t[4];
    if (telemetry__p256_is_zero(q->z)) return;
    if (telemetry__p256_is_zero(p->z)) { *p = *q; return; }
    telemetry__p256_mul(z1z1, p->z, p->z, P);
    telemetry__p256_mul(z2z2, q->z, q->z, P);
    telemetry__p256_mul(u1, p->x, z2z2, P);
    telemetry__p256_mul(u2, q->x, z1z1, P);
    telemetry__p256_mul(s1, p->y, q->z, P);
    telemetry__p256_mul(s1, s1, z2z2, P);
    telemetry__p256_mul(s2, q->y, p->z, P);
    telemetry__p256_mul(s2, s2, z1z1, P);
    telemetry__p256_sub(h, u2, u1, P);
    telemetry__p256_sub(r, s2, s1, P);
    if (telemetry__p256_is_zero(h)) {
        if (telemetry__p256_is_zero(r)) telemetry__p256_double(p, P);   /* the same point */
        else memset(p->z, 0, sizeof p->z);                             /* p == -q */
        return;
    }
    telemetry__p256_add(r, r, r, P);                          /* r = 2 (s2 - s1) */
    telemetry__p256_add(i, h, h, P);
    telemetry__p256_mul(i, i, i, P);                          /* i = (2h)^2 */
    telemetry__p256_mul(j, h, i, P);
    telemetry__p256_mul(v, u1, i, P);
    telemetry__p256_mul(t, r, r, P);
    telemetry__p256_sub(t, t, j, P);
    telemetry__p256_sub(t, t, v, P);
    telemetry__p256_sub(t, t, v, P);                          /* x3 = r^2 - j - 2v */
    telemetry__p256_add(z1z1, z1z1, z2z2, P);                 /* z1z1 + z2z2, then z3 */
    telemetry__p256_add(u2, p->z, q->z, P);
    telemetry__p256_mul(u2, u2, u2, P);
    telemetry__p256_sub(u2, u2, z1z1, P);
    telemetry__p256_mul(p->z, u2, h, P);                      /* z3 = ((z1 + z2)^2 - z1z1 - z2z2) h */
    memcpy(p->x, t, sizeof t);
    telemetry__p256_sub(v, v, t, P);
    telemetry__p256_mul(v, r, v, P);
    telemetry__p256_mul(s1, s1, j, P);
    telemetry__p256_add(s1, s1, s1, P);
    telemetry__p256_sub(p->y, v, s1, P);                      /* y3 = r (v - x3) - 2 s1 j */
}

static const unsigned char telemetry__p256_p[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const unsigned char telemetry__p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
static const unsigned char telemetry__p256_b[32] = {
    0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
    0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b };
static const unsigned char telemetry__p256_g[64] = {
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5 };

/* An affine point (64 bytes x || y) as a Jacobian one in Montgomery form; 0 when it is on the
   curve (x, y < p, y^2 = x^3 - 3x + b). */
TELEMETRY__INTERNAL int telemetry__p256_point(telemetry__jpoint *pt, const unsigned char xy[64], const telemetry__mod *P) {
    uint64_t x[4], y[4], lhs[4], rhs[4], t[4];
    telemetry__p256_load(x, xy, 32);
    telemetry__p256_load(y, xy + 32, 32);
    if (!telemetry__p256_less(x, P->m) || !telemetry__p256_less(y, P->m)) return -1;
    telemetry__p256_mul(pt->x, x, P->r2, P);
    telemetry__p256_mul(pt->y, y, P->r2, P);
    memcpy(pt->z, P->one, sizeof pt->z);
    telemetry__p256_mul(lhs, pt->y, pt->y, P);
    telemetry__p256_mul(rhs, pt->x, pt->x, P);
    telemetry__p256_mul(rhs, rhs, pt->x, P);                  /* x^3 */
    telemetry__p256_sub(rhs, rhs, pt->x, P);
    telemetry__p256_sub(rhs, rhs, pt->x, P);
    telemetry__p256_sub(rhs, rhs, pt->x, P);                  /* x^3 - 3x */
    telemetry__p256_load(t, telemetry__p256_b, 32);
    telemetry__p256_mul(t, t, P->r2, P);
    telemetry__p256_add(rhs, rhs, t, P);
    return memcmp(lhs, rhs, sizeof lhs) == 0 ? 0 : -1;
}

/* 1 when sig (r || s, 32 bytes each) is the signature of hash by the public key q (65 bytes,
   0x04 || x || y), as br_ecdsa_i31_vrfy_raw decides; else 0. */
TELEMETRY__INTERNAL uint32_t telemetry__p256_vrfy(const unsigned char *hash, size_t hash_len, const unsigned char *q, const unsigned char sig[64]) {
    telemetry__mod P, N;
    telemetry__jpoint table[4], acc;
    uint64_t r[4], s[4], e[4], w[4], u1[4], u2[4], x[4], t[4], plain1[4] = { 1, 0, 0, 0 };
    int i;
    telemetry__p256_mod_init(&P, telemetry__p256_p);
    telemetry__p256_mod_init(&N, telemetry__p256_n);
    telemetry__p256_load(r, sig, 32);
    telemetry__p256_load(s, sig + 32, 32);
    if (telemetry__p256_is_zero(r) || telemetry__p256_is_zero(s) || !telemetry__p256_less(r, N.m) || !telemetry__p256_less(s, N.m)) return 0;
    if (telemetry__p256_point(&table[2], q + 1, &P) != 0) return 0;
    telemetry__p256_point(&table[1], telemetry__p256_g, &P);
    /* e: the hash's leftmost 256 bits, mod n (one subtraction: n > 2^255) */
    telemetry__p256_load(e, (const unsigned char *)hash, hash_len < 32 ? hash_len : 32);
    if (!telemetry__p256_less(e, N.m)) telemetry__p256_sub4(e, e, N.m);
    if (telemetry__p256_is_zero(e)) return 0;             /* as BearSSL: a hash of 0 mod n is refused */
    /* w = 1/s, u1 = e w, u2 = r w (mod n), back out of Montgomery form */
    telemetry__p256_mul(w, s, N.r2, &N);
    telemetry__p256_inv(w, w, &N);
    telemetry__p256_mul(u1, e, N.r2, &N);
    telemetry__p256_mul(u1, u1, w, &N);
    telemetry__p256_mul(u1, u1, plain1, &N);
    telemetry__p256_mul(u2, r, N.r2, &N);
    telemetry__p256_mul(u2, u2, w, &N);
    telemetry__p256_mul(u2, u2, plain1, &N);
    /* u1 G + u2 Q, both scalars' bits at once */
    table[3] = table[1];
    telemetry__p256_add_point(&table[3], &table[2], &P);
    memset(&acc, 0, sizeof acc);
    for (i = 255; i >= 0; i--) {
        int k = (int)((u1[i / 64] >> (i % 64)) & 1) | (int)((u2[i / 64] >> (i % 64)) & 1) << 1;
        telemetry__p256_double(&acc, &P);
        if (k) telemetry__p256_add_point(&acc, &table[k], &P);
    }
    if (telemetry__p256_is_zero(acc.z)) return 0;
    /* x = X / Z^2, out of Montgomery form, mod n: it must be r */
    telemetry__p256_inv(t, acc.z, &P);
    telemetry__p256_mul(t, t, t, &P);
    telemetry__p256_mul(x, acc.x, t, &P);
    telemetry__p256_mul(x, x, plain1, &P);
    if (!telemetry__p256_less(x, N.m)) telemetry__p256_sub4(x, x, N.m);
    return memcmp(x, r, sizeof x) == 0;
}

/* BearSSL's ECDSA check (the asn1 form TLS and X.509 use), P-256 signatures done above. */
TELEMETRY__INTERNAL uint32_t telemetry__ecdsa_vrfy_asn1(const br_ec_impl *impl, const void *hash, size_t hash_len, const br_ec_public_key *pk,
                                                       const void *sig, size_t sig_len) {
    unsigned char raw[160];
    if (pk->curve == BR_EC_secp256r1 && pk->qlen == 65 && pk->q[0] == 0x04 && sig_len <= sizeof raw) {
        memcpy(raw, sig, sig_len);
        if (br_ecdsa_asn1_to_raw(raw, sig_len) == 64) return telemetry__p256_vrfy((const unsigned char *)hash, hash_len, pk->q, raw);
    }
    return br_ecdsa_i31_vrfy_asn1(impl, hash, hash_len, pk, sig, sig_len);
}
#endif

/* ---- the curves: X25519 for the key exchange, P-256/P-384/P-521 generic ------------------------
   BearSSL's br_ec_all_m31 adds its own P-256 code (br_ec_p256_m31, ~8 KB) beside the generic
   prime-curve code that P-384 and P-521 need anyway. The key exchange uses X25519 (offered first;
   OpenSSL's and BearSSL's servers prefer it), P-256 signatures go to the 64-bit check above, so
   that code is left out: P-256 is done by br_ec_prime_i31 (constant-time too, 2.4x slower) only
   for a server without X25519. Where that check does not exist (32-bit CPUs, devices,
   TELEMETRY_SMALL_TLS) every P-256 certificate check would pay for it, twice a handshake:
   br_ec_all_m31 stays there. */
#if defined(TELEMETRY__P256)
TELEMETRY__INTERNAL const br_ec_impl *telemetry__ec_for(int curve) {
    return curve == BR_EC_curve25519 ? &br_ec_c25519_m31 : &br_ec_prime_i31;
}
TELEMETRY__INTERNAL const unsigned char *telemetry__ec_generator(int curve, size_t *len) {
    return telemetry__ec_for(curve)->generator(curve, len);
}
TELEMETRY__INTERNAL const unsigned char *telemetry__ec_order(int curve, size_t *len) {
    return telemetry__ec_for(curve)->order(curve, len);
}
TELEMETRY__INTERNAL size_t telemetry__ec_xoff(int curve, size_t *len) { return telemetry__ec_for(curve)->xoff(curve, len); }
TELEMETRY__INTERNAL uint32_t telemetry__ec_mul(unsigned char *g, size_t glen, const unsigned char *x, size_t xlen, int curve) {
    return telemetry__ec_for(curve)->mul(g, glen, x, xlen, curve);
}
TELEMETRY__INTERNAL size_t telemetry__ec_mulgen(unsigned char *r, const unsigned char *x, size_t xlen, int curve) {
    return telemetry__ec_for(curve)->mulgen(r, x, xlen, curve);
}
TELEMETRY__INTERNAL uint32_t telemetry__ec_muladd(unsigned char *a, const unsigned char *b, size_t len, const unsigned char *x,
                                                  size_t xlen, const unsigned char *y, size_t ylen, int curve) {
    return telemetry__ec_for(curve)->muladd(a, b, len, x, xlen, y, ylen, curve);
}
static const br_ec_impl telemetry__ec = {
    ((uint32_t)1 << BR_EC_secp256r1) | ((uint32_t)1 << BR_EC_secp384r1) | ((uint32_t)1 << BR_EC_secp521r1) | ((uint32_t)1 << BR_EC_curve25519),
    telemetry__ec_generator, telemetry__ec_order, telemetry__ec_xoff, telemetry__ec_mul, telemetry__ec_mulgen, telemetry__ec_muladd
};
#  define TELEMETRY__EC (&telemetry__ec)
#else
#  define TELEMETRY__EC (&br_ec_all_m31)
#endif

/* Loads the anchors (once) and configures the engine: TLS 1.2 only, four ECDHE AES-GCM suites. */
TELEMETRY__INTERNAL int telemetry__tls_setup(telemetry__tls *t, const telemetry__transport_config *cfg,
                                             const char *ca_pem, const char *ca_file, telemetry__net *n) {
#if !defined(_WIN32)
    static const char *const bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",                 /* Debian, Ubuntu, Gentoo, Arch */
        "/etc/pki/tls/certs/ca-bundle.crt",                   /* Fedora, RHEL */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  /* Fedora, RHEL (newer) */
        "/etc/ssl/cert.pem",                                  /* Alpine, macOS, OpenBSD */
        "/etc/ssl/ca-bundle.pem",                             /* openSUSE */
        "/usr/local/etc/openssl/cert.pem",                    /* macOS with Homebrew OpenSSL */
        "/usr/local/share/certs/ca-root-nss.crt",             /* FreeBSD */
        "/etc/openssl/certs/ca-certificates.crt",             /* NetBSD */
        NULL
    };
#endif
    /* AES-GCM only: every server that speaks ECDHE with TLS 1.2 offers it (ChaCha20-Poly1305,
       ~7 KB, would help only a CPU without AES instructions on large bodies) */
    static const uint16_t suites[] = {
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    };
    /* no SHA-1: TLS 1.2's PRF does not use it, and a SHA-1 signature (key exchange or
       certificate) is refused anyway, so it is not offered; ~2 KB */
    static const br_hash_class *const hashes[] = {
        &br_sha224_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable
    };
    const char *source = NULL;
    unsigned char seed[32];
    int i;
    if (t->ready) return 0;
    if (t->n_tas) goto configure;                        /* anchors loaded, engine setup failed */
    if (ca_pem) {
        source = "ca_pem";
        telemetry__pem_certificates(ca_pem, strlen(ca_pem), telemetry__tls_anchor_fn, t);
    } else if (ca_file) {
        source = ca_file;
        if (telemetry__tls_pem_file(t, ca_file) != 0)
            return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "cannot open ca_file %s: %s", ca_file, strerror(errno));
    } else {
#if defined(_WIN32)
        if (telemetry__tls_windows_roots(t) != 0)
            return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "no trust anchors: the Windows ROOT store cannot be opened; set ca_file or ca_pem");
        source = "the Windows ROOT store";
#else
        for (i = 0; bundles[i] && !source; i++) if (telemetry__tls_pem_file(t, bundles[i]) == 0) source = bundles[i];
        if (!source) return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "no trust anchors: no system CA bundle found; set ca_file or ca_pem");
#endif
    }
    if (t->n_tas == 0) return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "no trust anchors: %s holds no usable certificate", source);
configure:
    br_x509_minimal_init(&t->xc, &br_sha256_vtable, t->tas, t->n_tas);
    br_ssl_client_zero(&t->sc);
    for (i = 0; i < (int)(sizeof hashes / sizeof hashes[0]); i++) {
        int id = (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
        /* certificates signed with SHA-1 are refused, as current browsers and curl do: without
           the hash in the X.509 engine their signatures cannot be checked */
        br_x509_minimal_set_hash(&t->xc, id, hashes[i]);
        br_ssl_engine_set_hash(&t->sc.eng, id, hashes[i]);
    }
    br_x509_minimal_set_minrsa(&t->xc, 256);             /* RSA keys in the chain: 2048 bits or more */
    /* RSA checks use the public exponent (65537: 17 squarings), cheap with the 31-bit code
       too: the 62-bit one (~3 KB more) saves ~1 million instructions (~0.1 ms) per RSA-2048
       signature (3.0 against 1.9 million) */
    br_x509_minimal_set_rsa(&t->xc, &br_rsa_i31_pkcs1_vrfy);
#if defined(TELEMETRY__P256)
    br_x509_minimal_set_ecdsa(&t->xc, TELEMETRY__EC, telemetry__ecdsa_vrfy_asn1);
#else
    br_x509_minimal_set_ecdsa(&t->xc, TELEMETRY__EC, &br_ecdsa_i31_vrfy_asn1);
#endif
    t->xip.vtable = &telemetry__xip_vtable;
    t->xip.inner = &t->xc;
    br_ssl_engine_set_versions(&t->sc.eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(&t->sc.eng, suites, sizeof suites / sizeof suites[0]);
    br_ssl_engine_set_prf_sha256(&t->sc.eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(&t->sc.eng, &br_tls12_sha384_prf);
#if defined(TELEMETRY_SMALL_TLS)
    /* one implementation of each, the portable constant-time ones: no AES-NI / PCLMUL variants
       beside their fallbacks (~4 KB less, slower bulk encryption and P-256 checks) */
    br_ssl_engine_set_gcm(&t->sc.eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
    br_ssl_engine_set_aes_ctr(&t->sc.eng, &br_aes_ct64_ctr_vtable);
    br_ssl_engine_set_ghash(&t->sc.eng, &br_ghash_ctmul64);
#else
    br_ssl_engine_set_default_aes_gcm(&t->sc.eng);   /* the CPU's AES-NI and PCLMUL where it has them */
#endif
    br_ssl_engine_set_rsavrfy(&t->sc.eng, &br_rsa_i31_pkcs1_vrfy);
    br_ssl_engine_set_ec(&t->sc.eng, TELEMETRY__EC);
#if defined(TELEMETRY__P256)
    br_ssl_engine_set_ecdsa(&t->sc.eng, telemetry__ecdsa_vrfy_asn1);   /* P-256 ~25x faster */
#else
    br_ssl_engine_set_ecdsa(&t->sc.eng, &br_ecdsa_i31_vrfy_asn1);
#endif
    br_ssl_engine_set_x509(&t->sc.eng, &t->xip.vtable);
    br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, sizeof t->iobuf, 1);
    br_ssl_engine_add_flags(&t->sc.eng, BR_OPT_NO_RENEGOTIATION);
    /* BearSSL seeds itself from the OS; the program's entropy_fn, or ours where BearSSL has no
       seeder, is mixed in on top. */
    if (cfg->entropy_fn) {
        if (cfg->entropy_fn(cfg->platform_user_data, seed, sizeof seed) != 0)
            return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "entropy_fn failed");
        br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof seed);
    } else if (!br_prng_seeder_system(NULL)) {
        if (telemetry__os_entropy(seed, sizeof seed) != 0)
            return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "no entropy source for TLS");
        br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof seed);
    }
    memset(seed, 0, sizeof seed);
    t->ready = 1;
    return 0;
}

/* Drives the engine until `want` (BR_SSL_SENDAPP or BR_SSL_RECVAPP) is possible: 0, or 1 when the
   server closed properly (close_notify), TELEMETRY__EOF_UNCLEAN, or a negative telemetry_result. */
TELEMETRY__INTERNAL int telemetry__tls_run(telemetry__tls *t, telemetry__net *n, unsigned want, int64_t deadline) {
    br_ssl_engine_context *e = &t->sc.eng;
    int flushed = 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        unsigned char *buf;
        size_t len;
        long r;
        if (st & BR_SSL_CLOSED) {
            int err = br_ssl_engine_last_error(e);
            if (err == BR_ERR_OK) return 1;
            return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "TLS: %s (BearSSL error %d)", telemetry__tls_error_text(err), err);
        }
        if (st & BR_SSL_SENDREC) {
            buf = br_ssl_engine_sendrec_buf(e, &len);
            r = telemetry__net_io(n, 1, buf, len, deadline);
            if (r < 0) return e->shutdown_recv ? 1 : (int)r;   /* our reply to close_notify may not get out */
            br_ssl_engine_sendrec_ack(e, (size_t)r);
            flushed = 0;
            continue;
        }
        if (st & want) return 0;
        if (st & BR_SSL_RECVAPP)
            return telemetry__net_fail(n, TELEMETRY_ERR_PROTOCOL, "server sent data before the request was complete");
        if (st & BR_SSL_RECVREC) {
            buf = br_ssl_engine_recvrec_buf(e, &len);
            r = telemetry__net_io(n, 0, buf, len, deadline);
            if (r == 0) return TELEMETRY__EOF_UNCLEAN;
            if (r < 0) return (int)r;
            br_ssl_engine_recvrec_ack(e, (size_t)r);
            flushed = 0;
            continue;
        }
        if (flushed) return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "TLS engine stalled");
        br_ssl_engine_flush(e, 0);
        flushed = 1;
    }
}

/* ---- sessions kept across runs ------------------------------------------------------------
   A short program makes one or two connections per run; resuming the last run's TLS session
   skips the certificate chain and both key exchanges (an abbreviated handshake: one round trip
   less, a fraction of the CPU). The file (in the state folder, owner-only like every file there,
   deleted with consent) holds one line per host:port:
       <host>:<port> <version hex> <suite hex> <session id hex> <master secret hex>
   at most TELEMETRY__TLS_SESSIONS lines, the newest first. Whatever does not parse is ignored:
   the worst a bad line can cause is a full handshake. */
#define TELEMETRY__TLS_SESSIONS 8

TELEMETRY__INTERNAL int telemetry__read_file(const char *path, size_t max, char **out, size_t *len, int *err);
TELEMETRY__INTERNAL int telemetry__write_file_atomic(const char *path, const void *data, size_t len, int durable);

/* Reads n bytes of hex at *p (then a space or the end of the line); 0 on success. */
TELEMETRY__INTERNAL int telemetry__tls_hex_field(const char **p, const char *end, unsigned char *out, size_t n) {
    const char *q = *p;
    size_t i;
    if ((size_t)(end - q) < 2 * n) return -1;
    for (i = 0; i < n; i++) {
        int hi = telemetry__hexval((unsigned char)q[2 * i]), lo = telemetry__hexval((unsigned char)q[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    q += 2 * n;
    if (q < end && *q != ' ') return -1;
    *p = q < end ? q + 1 : q;
    return 0;
}
/* The session for key in the file's text; 0 when found whole. */
TELEMETRY__INTERNAL int telemetry__tls_session_parse(const char *text, size_t len, const char *key, br_ssl_session_parameters *sp) {
    const char *line = text, *end = text + len;
    size_t kl = strlen(key);
    while (line < end) {
        const char *eol = (const char *)memchr(line, '\n', (size_t)(end - line)), *p;
        unsigned char v[2], su[2], idlen;
        if (!eol) eol = end;
        p = line;
        line = eol + 1;
        if ((size_t)(eol - p) <= kl || memcmp(p, key, kl) != 0 || p[kl] != ' ') continue;
        p += kl + 1;
        memset(sp, 0, sizeof *sp);
        if (telemetry__tls_hex_field(&p, eol, v, 2) || telemetry__tls_hex_field(&p, eol, su, 2)) continue;
        /* the id's length is what is left before the last field: (32 hex + space) at most */
        if (eol - p < 2 * (int)sizeof sp->master_secret) continue;
        idlen = (unsigned char)((eol - p - 2 * (int)sizeof sp->master_secret) / 2);
        if (idlen < 1 || idlen > 32 || telemetry__tls_hex_field(&p, eol, sp->session_id, idlen)) continue;
        if (telemetry__tls_hex_field(&p, eol, sp->master_secret, sizeof sp->master_secret) || p != eol) continue;
        sp->session_id_len = idlen;
        sp->version = (uint16_t)(v[0] << 8 | v[1]);
        sp->cipher_suite = (uint16_t)(su[0] << 8 | su[1]);
        if (sp->version != BR_TLS12) continue;
        return 0;
    }
    memset(sp, 0, sizeof *sp);
    return -1;
}
TELEMETRY__INTERNAL int telemetry__tls_session_load(const char *file, const char *key, br_ssl_session_parameters *sp) {
    char *text = NULL;
    size_t len = 0;
    int err, rc;
    if (!file || telemetry__read_file(file, 4096, &text, &len, &err) != 0) return -1;
    rc = telemetry__tls_session_parse(text, len, key, sp);
    memset(text, 0, len);                                    /* it held master secrets */
    telemetry__free(text);
    return rc;
}
/* Writes key's session first, then the other hosts' (the oldest dropped past the limit). */
TELEMETRY__INTERNAL void telemetry__tls_session_save(const char *file, const char *key, const br_ssl_session_parameters *sp) {
    char *old = NULL, line[400];
    size_t len = 0, kl = strlen(key), i;
    int err, kept = 1, o;
    telemetry__buf b;
    const char *p, *end;
    static const char hex[] = "0123456789abcdef";
    if (!file || kl > 300 || sp->session_id_len < 1 || sp->session_id_len > 32) return;
    telemetry__buf_init(&b);
    o = snprintf(line, sizeof line, "%s %02x%02x %02x%02x ", key, sp->version >> 8, sp->version & 255,
                 sp->cipher_suite >> 8, sp->cipher_suite & 255);
    for (i = 0; i < sp->session_id_len; i++) { line[o++] = hex[sp->session_id[i] >> 4]; line[o++] = hex[sp->session_id[i] & 15]; }
    line[o++] = ' ';
    for (i = 0; i < sizeof sp->master_secret; i++) { line[o++] = hex[sp->master_secret[i] >> 4]; line[o++] = hex[sp->master_secret[i] & 15]; }
    line[o++] = '\n';
    telemetry__buf_append(&b, line, (size_t)o);
    if (telemetry__read_file(file, 4096, &old, &len, &err) == 0) {
        for (p = old, end = old + len; p < end && kept < TELEMETRY__TLS_SESSIONS; ) {
            const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
            const char *next = eol ? eol + 1 : end;
            if (!((size_t)(next - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ' ') && next - p > 1) {
                telemetry__buf_append(&b, p, (size_t)(next - p));
                if (!eol) telemetry__buf_putc(&b, '\n');
                kept++;
            }
            p = next;
        }
        memset(old, 0, len);
        telemetry__free(old);
    }
    if (!b.failed) telemetry__write_file_atomic(file, b.data, b.len, 0);
    memset(line, 0, sizeof line);
    if (b.data) memset(b.data, 0, b.cap);
    telemetry__buf_free(&b);
}

TELEMETRY__INTERNAL int telemetry__tls_handshake(telemetry__tls *t, telemetry__net *n, const telemetry__url *u,
                                                 const telemetry__transport_config *cfg, int64_t deadline) {
    char key[sizeof t->session];
    br_ssl_session_parameters sp, now_sp;
    int resume;
    int64_t ms = cfg->clock_fn ? cfg->clock_fn(cfg->platform_user_data) : telemetry__system_time_ms();
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int rc;
    br_x509_minimal_set_time(&t->xc, (uint32_t)(days + 719528), (uint32_t)(secs - days * 86400)); /* days since 0 AD */
    t->xip.ip_len = 0;
    if (u->host_is_ipv6 && telemetry__ip6_parse(u->host, t->xip.ip) == 0) t->xip.ip_len = 16;
    else if (!u->host_is_ipv6 && telemetry__ip4_parse(u->host, u->host + strlen(u->host), t->xip.ip) == 0) t->xip.ip_len = 4;
    else if (u->host_is_ipv6) return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "cannot check an IPv6 literal %s", u->host);
    snprintf(key, sizeof key, "%s:%u", u->host, u->port);
    memset(&sp, 0, sizeof sp);
    resume = strcmp(key, t->session) == 0;                /* this connection object's last session */
    if (!resume && !t->file_session_failed && telemetry__tls_session_load(cfg->tls_session_file, key, &sp) == 0) {
        br_ssl_engine_set_session_parameters(&t->sc.eng, &sp);          /* a past run's session */
        resume = 2;
    }
    if (!br_ssl_client_reset(&t->sc, t->xip.ip_len ? NULL : u->host, resume))
        return telemetry__net_fail(n, TELEMETRY_ERR_TLS, "TLS: %s", telemetry__tls_error_text(br_ssl_engine_last_error(&t->sc.eng)));
    memcpy(t->session, key, sizeof key);
    rc = telemetry__tls_run(t, n, BR_SSL_SENDAPP, deadline);
    if (rc == 1 || rc == TELEMETRY__EOF_UNCLEAN)
        rc = telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "connection closed during the TLS handshake");
    if (rc) {
        br_ssl_client_forget_session(&t->sc);
        t->session[0] = 0;
        if (resume == 2) t->file_session_failed = 1;    /* a spoiled file: full handshakes from now on */
    } else if (cfg->tls_session_file) {
        /* a new session (a full handshake) is kept for the next run; a resumed one is already */
        br_ssl_engine_get_session_parameters(&t->sc.eng, &now_sp);
        if (now_sp.session_id_len && (now_sp.session_id_len != t->saved_id_len || memcmp(now_sp.session_id, t->saved_id, now_sp.session_id_len) != 0)) {
            if (!(resume && now_sp.session_id_len == sp.session_id_len && memcmp(now_sp.session_id, sp.session_id, sp.session_id_len) == 0))
                telemetry__tls_session_save(cfg->tls_session_file, key, &now_sp);
            memcpy(t->saved_id, now_sp.session_id, now_sp.session_id_len);
            t->saved_id_len = now_sp.session_id_len;
        }
        memset(&now_sp, 0, sizeof now_sp);
    }
    memset(&sp, 0, sizeof sp);
    return rc;
}

TELEMETRY__INTERNAL int telemetry__tls_write(telemetry__tls *t, telemetry__net *n, const void *data, size_t len, int64_t deadline) {
    const unsigned char *p = (const unsigned char *)data;
    while (len > 0) {
        size_t avail;
        unsigned char *buf;
        int rc = telemetry__tls_run(t, n, BR_SSL_SENDAPP, deadline);
        if (rc == 1 || rc == TELEMETRY__EOF_UNCLEAN) return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "connection closed while sending");
        if (rc) return rc;
        buf = br_ssl_engine_sendapp_buf(&t->sc.eng, &avail);
        if (avail > len) avail = len;
        memcpy(buf, p, avail);
        br_ssl_engine_sendapp_ack(&t->sc.eng, avail);
        p += avail; len -= avail;
    }
    return 0;
}
TELEMETRY__INTERNAL int telemetry__tls_flush(telemetry__tls *t, telemetry__net *n, int64_t deadline) {
    int rc;
    br_ssl_engine_flush(&t->sc.eng, 0);
    rc = telemetry__tls_run(t, n, BR_SSL_SENDAPP, deadline);      /* returns once every record is out */
    if (rc == 1 || rc == TELEMETRY__EOF_UNCLEAN) return telemetry__net_fail(n, TELEMETRY_ERR_NETWORK, "connection closed while sending");
    return rc;
}
/* Bytes read, 0 after close_notify, TELEMETRY__EOF_UNCLEAN, or a negative telemetry_result. */
TELEMETRY__INTERNAL long telemetry__tls_read(telemetry__tls *t, telemetry__net *n, void *out, size_t cap, int64_t deadline) {
    size_t avail;
    unsigned char *buf;
    int rc = telemetry__tls_run(t, n, BR_SSL_RECVAPP, deadline);
    if (rc == 1) return 0;
    if (rc) return rc;
    buf = br_ssl_engine_recvapp_buf(&t->sc.eng, &avail);
    if (avail > cap) avail = cap;
    memcpy(out, buf, avail);
    br_ssl_engine_recvapp_ack(&t->sc.eng, avail);
    return (long)avail;
}
#endif /* !TELEMETRY_NO_TLS */

/* =============================================================================================
   >>http: HTTP/1.1 client - request writer, incremental response parser, proxies, keep-alive

   One client holds one cached connection (used by one thread at a time). Limits: a response
   header block (status line, headers, interim 1xx responses and chunked trailers together) of at
   most 16 KiB, lines of at most 8 KiB, and the first 64 KiB of a body. A longer body is not read
   further: the response counts as complete with body_truncated set, and the connection is closed.
   Redirects are not followed here (the caller sees 3xx and Location).

   TELEMETRY_NO_TLS: https fails with TELEMETRY_ERR_UNSUPPORTED on our own sockets. With a
   telemetry_io the request bytes go to the program's stream in the clear for http and https
   alike: then that stream must provide TLS itself.
   ============================================================================================= */
#define TELEMETRY__HTTP_MAX_LINE 8192
#define TELEMETRY__HTTP_MAX_HEAD 16384
#define TELEMETRY__HTTP_MAX_BODY 65536

typedef struct telemetry__http_request {
    const char *method;                 /* "POST", "PUT", ... */
    const telemetry__url *url;
    const char *content_type;           /* or NULL */
    const char *const *headers;         /* NULL-terminated "Name: value" strings (no CRLF), or NULL */
    const void *body;
    size_t body_len;
} telemetry__http_request;

typedef struct telemetry__http_response {
    int status;
    telemetry__buf body;                /* at most TELEMETRY__HTTP_MAX_BODY bytes */
    int body_truncated;                 /* the body was longer: the rest was not read */
    char *retry_after;                  /* raw Retry-After value (the first), or NULL */
    char *rate_limits;                  /* every X-Sentry-Rate-Limits value joined with ",", or NULL */
    char *location;                     /* raw Location value (the first), or NULL */
} telemetry__http_response;

TELEMETRY__INTERNAL void telemetry__http_response_free(telemetry__http_response *r) {
    telemetry__buf_free(&r->body);
    telemetry__free(r->retry_after);
    telemetry__free(r->rate_limits);
    telemetry__free(r->location);
    memset(r, 0, sizeof *r);
}

/* ---- request writer --------------------------------------------------------------------------- */
TELEMETRY__INTERNAL int telemetry__http_tchar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}
/* A header given by the caller must be one "Name: value" line, and must not touch framing. */
TELEMETRY__INTERNAL int telemetry__http_valid_header(const char *h) {
    size_t i = 0;
    while (telemetry__http_tchar((unsigned char)h[i])) i++;
    if (i == 0 || h[i] != ':' || strpbrk(h, "\r\n")) return 0;
    return !(telemetry__strnieq(h, "Content-Length:", 15) || telemetry__strnieq(h, "Transfer-Encoding:", 18) ||
             telemetry__strnieq(h, "Host:", 5));
}

/* The request head, everything before the body. absolute_form: the target as a full URL, for a
   plain-http request through a proxy. TELEMETRY_ERR_INVALID_ARGUMENT for a bad method, target
   or header (CR or LF inside: header injection), TELEMETRY_ERR_NO_MEMORY. */
TELEMETRY__INTERNAL int telemetry__http_write_head(telemetry__buf *b, const telemetry__http_request *req,
                                                   int absolute_form, const char *proxy_auth) {
    char hp[300];
    const char *const *h;
    size_t i;
    const char *m = req->method;
    for (i = 0; m && m[i]; i++) if (!telemetry__http_tchar((unsigned char)m[i])) return TELEMETRY_ERR_INVALID_ARGUMENT;
    if (!m || i == 0 || !req->url || !req->url->host || !req->url->target || req->url->target[0] != '/' ||
        !telemetry__valid_target_chars(req->url->target) || (req->content_type && strpbrk(req->content_type, "\r\n")))
        return TELEMETRY_ERR_INVALID_ARGUMENT;
    for (h = req->headers; h && *h; h++) if (!telemetry__http_valid_header(*h)) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__url_hostport(req->url, hp, sizeof hp);
    telemetry__buf_printf(b, "%s %s%s", m, absolute_form ? "http://" : "", absolute_form ? hp : "");
    telemetry__buf_puts(b, req->url->target);
    telemetry__buf_printf(b, " HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s/%s\r\n", hp, TELEMETRY_SDK_NAME, TELEMETRY_VERSION_STRING);
    if (proxy_auth) telemetry__buf_printf(b, "Proxy-Authorization: Basic %s\r\n", proxy_auth);
    for (h = req->headers; h && *h; h++) { telemetry__buf_puts(b, *h); telemetry__buf_puts(b, "\r\n"); }
    if (req->content_type) telemetry__buf_printf(b, "Content-Type: %s\r\n", req->content_type);
    telemetry__buf_puts(b, "Content-Length: ");
    telemetry__buf_put_i64(b, (int64_t)req->body_len);
    telemetry__buf_puts(b, "\r\n\r\n");
    return b->failed ? TELEMETRY_ERR_NO_MEMORY : 0;
}

/* ---- response parser: fed any split of the bytes, it gives the same answer --------------------- */
#define TELEMETRY__HTTP_NEED_MORE 0
#define TELEMETRY__HTTP_COMPLETE 1
#define TELEMETRY__HTTP_HEAD 1          /* flags: the request was HEAD (no body) */
#define TELEMETRY__HTTP_CONNECT 2       /*        the request was CONNECT (a 2xx has no body) */
#define TELEMETRY__HTTP_EOF 4           /*        (one-shot parse) the server closed after these bytes */

enum { TELEMETRY__HP_STATUS, TELEMETRY__HP_HEADER, TELEMETRY__HP_LENGTH, TELEMETRY__HP_CHUNK_SIZE,
       TELEMETRY__HP_CHUNK_DATA, TELEMETRY__HP_CHUNK_END, TELEMETRY__HP_TRAILER, TELEMETRY__HP_CLOSE,
       TELEMETRY__HP_DONE };

typedef struct telemetry__http_parser {
    int state, flags;
    int minor;                  /* HTTP/1.minor of the final response */
    int keep_alive;             /* the connection may carry another request (once complete) */
    int extra;                  /* bytes followed the complete response */
    int te_seen, te_chunked, cl_seen, conn_close, conn_keep;
    uint64_t length;            /* Content-Length */
    uint64_t left;              /* bytes left in the body or the current chunk */
    size_t head_bytes;          /* header bytes so far, interim responses and trailers included */
    const char *error;          /* why it failed, for the log */
    size_t line_len;
    char line[TELEMETRY__HTTP_MAX_LINE];
} telemetry__http_parser;

TELEMETRY__INTERNAL void telemetry__http_parser_init(telemetry__http_parser *p, int flags) {
    memset(p, 0, offsetof(telemetry__http_parser, line));
    p->flags = flags;
}
TELEMETRY__INTERNAL int telemetry__http_bad(telemetry__http_parser *p, const char *why) {
    p->error = why;
    return TELEMETRY_ERR_PROTOCOL;
}
TELEMETRY__INTERNAL const char *telemetry__skip_ows(const char *s, const char *end) {
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    return s;
}
/* Calls fn for each comma-separated, OWS-trimmed, non-empty element of [s, end). */
TELEMETRY__INTERNAL int telemetry__http_list(telemetry__http_parser *p, const char *s, const char *end,
                                             int (*fn)(telemetry__http_parser *, const char *, size_t)) {
    while (s < end) {
        const char *e = (const char *)memchr(s, ',', (size_t)(end - s)), *t;
        int rc;
        if (!e) e = end;
        s = telemetry__skip_ows(s, e);
        for (t = e; t > s && (t[-1] == ' ' || t[-1] == '\t'); t--) {}
        if (t > s && (rc = fn(p, s, (size_t)(t - s))) != 0) return rc;
        s = e + 1;
    }
    return 0;
}
TELEMETRY__INTERNAL int telemetry__http_on_length(telemetry__http_parser *p, const char *s, size_t n) {
    uint64_t v = 0;
    size_t i;
    if (n > 18) return telemetry__http_bad(p, "Content-Length too large");
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return telemetry__http_bad(p, "invalid Content-Length");
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (p->cl_seen && v != p->length) return telemetry__http_bad(p, "conflicting Content-Length values");
    p->cl_seen = 1;
    p->length = v;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__http_on_te(telemetry__http_parser *p, const char *s, size_t n) {
    p->te_chunked = n == 7 && telemetry__strnieq(s, "chunked", 7);   /* chunked counts only as the last coding */
    return 0;
}
TELEMETRY__INTERNAL int telemetry__http_on_conn(telemetry__http_parser *p, const char *s, size_t n) {
    if (n == 5 && telemetry__strnieq(s, "close", 5)) p->conn_close = 1;
    if (n == 10 && telemetry__strnieq(s, "keep-alive", 10)) p->conn_keep = 1;
    return 0;
}

TELEMETRY__INTERNAL int telemetry__http_header(telemetry__http_parser *p, telemetry__http_response *r, char *s, size_t n) {
    char *colon = (char *)memchr(s, ':', n), *end = s + n, *v;
    const char *name = s;
    char **keep = NULL;
    size_t i;
    if (s[0] == ' ' || s[0] == '\t') return telemetry__http_bad(p, "obsolete header line folding");
    if (!colon || colon == s) return telemetry__http_bad(p, "header line without a name");
    for (i = 0; s + i < colon; i++) if (!telemetry__http_tchar((unsigned char)s[i])) return telemetry__http_bad(p, "invalid header name");
    if (r->status < 200) return 0;                       /* interim response: headers unused */
    *colon = 0;
    v = (char *)telemetry__skip_ows(colon + 1, end);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
    *end = 0;
    if (telemetry__strieq(name, "content-length")) return telemetry__http_list(p, v, end, telemetry__http_on_length);
    if (telemetry__strieq(name, "transfer-encoding")) { p->te_seen = 1; return telemetry__http_list(p, v, end, telemetry__http_on_te); }
    if (telemetry__strieq(name, "connection")) return telemetry__http_list(p, v, end, telemetry__http_on_conn);
    if (telemetry__strieq(name, "retry-after")) keep = &r->retry_after;
    else if (telemetry__strieq(name, "location")) keep = &r->location;
    else if (telemetry__strieq(name, "x-sentry-rate-limits") && end > v) {
        size_t old = r->rate_limits ? strlen(r->rate_limits) : 0, add = (size_t)(end - v);
        char *j = (char *)telemetry__realloc(r->rate_limits, old + add + 2);
        if (!j) return TELEMETRY_ERR_NO_MEMORY;
        if (old) j[old++] = ',';
        memcpy(j + old, v, add + 1);
        r->rate_limits = j;
    }
    if (keep && !*keep && !(*keep = telemetry__strdup(v))) return TELEMETRY_ERR_NO_MEMORY;
    return 0;
}

/* The empty line after the headers: decides how the body is framed (RFC 9112 section 6.3). */
TELEMETRY__INTERNAL int telemetry__http_headers_done(telemetry__http_parser *p, telemetry__http_response *r) {
    int s = r->status;
    if (s < 200) {                                       /* 100 Continue, 103 Early Hints: skip */
        if (s == 101) return telemetry__http_bad(p, "unexpected 101 Switching Protocols");
        p->state = TELEMETRY__HP_STATUS;
        return 0;
    }
    p->keep_alive = !p->conn_close && (p->minor >= 1 || p->conn_keep);
    p->state = TELEMETRY__HP_DONE;
    if ((p->flags & TELEMETRY__HTTP_CONNECT) && s / 100 == 2) return 0;
    if ((p->flags & TELEMETRY__HTTP_HEAD) || s == 204 || s == 304) return 0;
    if (p->te_seen) {
        if (p->cl_seen) p->keep_alive = 0;               /* both: a smuggling smell; do not reuse */
        if (p->te_chunked) p->state = TELEMETRY__HP_CHUNK_SIZE;
        else { p->state = TELEMETRY__HP_CLOSE; p->keep_alive = 0; }
    } else if (p->cl_seen) {
        p->left = p->length;
        if (p->length) p->state = TELEMETRY__HP_LENGTH;
    } else {
        p->state = TELEMETRY__HP_CLOSE;
        p->keep_alive = 0;
    }
    return 0;
}

TELEMETRY__INTERNAL int telemetry__http_line(telemetry__http_parser *p, telemetry__http_response *r) {
    char *s = p->line;
    size_t n = p->line_len, i;
    uint64_t v = 0;
    if (memchr(s, 0, n) || memchr(s, '\r', n)) return telemetry__http_bad(p, "NUL or CR inside a line");
    s[n] = 0;
    switch (p->state) {
    case TELEMETRY__HP_STATUS:                           /* HTTP/1.x SP 3DIGIT [SP reason] */
        if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ' ||
            s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
            return telemetry__http_bad(p, "invalid status line");
        p->minor = s[7] - '0';
        r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
        p->state = TELEMETRY__HP_HEADER;
        return 0;
    case TELEMETRY__HP_HEADER:
        return n == 0 ? telemetry__http_headers_done(p, r) : telemetry__http_header(p, r, s, n);
    case TELEMETRY__HP_CHUNK_SIZE:                       /* hex [BWS] [; extensions] */
        for (i = 0; i < n; i++) {
            int c = telemetry__lower((unsigned char)s[i]);
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0) break;
            if (v >> 58) return telemetry__http_bad(p, "chunk size too large");
            v = v * 16 + (uint64_t)d;
        }
        if (i == 0) return telemetry__http_bad(p, "invalid chunk size");
        i = (size_t)(telemetry__skip_ows(s + i, s + n) - s);
        if (i < n && s[i] != ';') return telemetry__http_bad(p, "invalid chunk size");
        p->left = v;
        p->state = v ? TELEMETRY__HP_CHUNK_DATA : TELEMETRY__HP_TRAILER;
        return 0;
    case TELEMETRY__HP_CHUNK_END:
        if (n) return telemetry__http_bad(p, "chunk data longer than its size");
        p->state = TELEMETRY__HP_CHUNK_SIZE;
        return 0;
    default:                                             /* trailer fields: checked, then ignored */
        if (n == 0) p->state = TELEMETRY__HP_DONE;
        else if (s[0] == ' ' || s[0] == '\t') return telemetry__http_bad(p, "obsolete line folding in trailer");
        return 0;
    }
}

/* Feeds bytes: TELEMETRY__HTTP_COMPLETE, _NEED_MORE, or TELEMETRY_ERR_PROTOCOL (p->error says why)
   or TELEMETRY_ERR_NO_MEMORY. *consumed: bytes used; anything after a complete response is not
   part of it. */
TELEMETRY__INTERNAL int telemetry__http_parser_feed(telemetry__http_parser *p, telemetry__http_response *r,
                                                    const char *data, size_t len, size_t *consumed) {
    size_t i = 0;
    int rc = 0;
    while (i < len && p->state != TELEMETRY__HP_DONE && rc == 0) {
        int st = p->state;
        if (st == TELEMETRY__HP_LENGTH || st == TELEMETRY__HP_CHUNK_DATA || st == TELEMETRY__HP_CLOSE) {
            size_t n = len - i, room = TELEMETRY__HTTP_MAX_BODY - r->body.len;
            if (st != TELEMETRY__HP_CLOSE && n > p->left) n = (size_t)p->left;
            if (n > room) {                              /* over the cap: keep the start, stop reading */
                n = room;
                r->body_truncated = 1;
                p->keep_alive = 0;
                p->state = TELEMETRY__HP_DONE;
            }
            if (telemetry__buf_append(&r->body, data + i, n)) rc = TELEMETRY_ERR_NO_MEMORY;
            i += n;
            if (st != TELEMETRY__HP_CLOSE && p->state != TELEMETRY__HP_DONE && (p->left -= n) == 0)
                p->state = st == TELEMETRY__HP_LENGTH ? TELEMETRY__HP_DONE : TELEMETRY__HP_CHUNK_END;
        } else {
            const char *nl = (const char *)memchr(data + i, '\n', len - i);
            size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
            int in_head = st == TELEMETRY__HP_STATUS || st == TELEMETRY__HP_HEADER || st == TELEMETRY__HP_TRAILER;
            if (p->line_len + n >= TELEMETRY__HTTP_MAX_LINE) return telemetry__http_bad(p, "line too long");
            if (in_head && (p->head_bytes += n + (nl != NULL)) > TELEMETRY__HTTP_MAX_HEAD)
                return telemetry__http_bad(p, "header block too large");
            memcpy(p->line + p->line_len, data + i, n);
            p->line_len += n;
            i += n;
            if (!nl) break;
            i++;
            if (p->line_len && p->line[p->line_len - 1] == '\r') p->line_len--;   /* CRLF or bare LF */
            rc = telemetry__http_line(p, r);
            p->line_len = 0;
        }
    }
    *consumed = i;
    if (rc) return rc;
    return p->state == TELEMETRY__HP_DONE ? TELEMETRY__HTTP_COMPLETE : TELEMETRY__HTTP_NEED_MORE;
}

/* The server closed: complete only for a body delimited by the close. */
TELEMETRY__INTERNAL int telemetry__http_parser_eof(telemetry__http_parser *p) {
    if (p->state == TELEMETRY__HP_CLOSE) p->state = TELEMETRY__HP_DONE;
    if (p->state == TELEMETRY__HP_DONE) return TELEMETRY__HTTP_COMPLETE;
    return telemetry__http_bad(p, p->state <= TELEMETRY__HP_HEADER ? "connection closed inside the response header"
                                                                    : "connection closed before the end of the body");
}

/* One-shot form of the parser, for tests and fuzzing. flags: TELEMETRY__HTTP_HEAD, _CONNECT, _EOF.
   The caller frees resp with telemetry__http_response_free whatever the result. */
TELEMETRY__INTERNAL int telemetry__http_parse_response(const char *data, size_t len, int flags,
                                                       telemetry__http_response *resp, size_t *consumed) {
    telemetry__http_parser *p = (telemetry__http_parser *)telemetry__malloc(sizeof *p);
    int rc;
    memset(resp, 0, sizeof *resp);
    *consumed = 0;
    if (!p) return TELEMETRY_ERR_NO_MEMORY;
    telemetry__http_parser_init(p, flags);
    rc = telemetry__http_parser_feed(p, resp, data, len, consumed);
    if (rc == TELEMETRY__HTTP_NEED_MORE && (flags & TELEMETRY__HTTP_EOF)) rc = telemetry__http_parser_eof(p);
    telemetry__free(p);
    return rc;
}

/* ---- proxies from the environment ------------------------------------------------------------ */
typedef struct telemetry__proxy {
    const char *var;            /* the variable it came from, for messages; NULL: no proxy */
    int invalid;
    telemetry__url url;         /* host and port */
    char *auth;                 /* base64 "user:password" for Proxy-Authorization, or NULL */
} telemetry__proxy;

TELEMETRY__INTERNAL void telemetry__base64(const unsigned char *s, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3, out += 4) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        out[0] = t[v >> 18]; out[1] = t[v >> 12 & 63]; out[2] = t[v >> 6 & 63]; out[3] = t[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
        out[0] = t[v >> 18]; out[1] = t[v >> 12 & 63];
        out[2] = i + 1 < n ? t[v >> 6 & 63] : '='; out[3] = '=';
        out += 4;
    }
    *out = 0;
}

/* "[http://][user[:password]@]host[:port][/]"; the port defaults to 1080 as in curl. Userinfo is
   percent-decoded. TELEMETRY_ERR_UNSUPPORTED for https:// or socks proxies. */
TELEMETRY__INTERNAL int telemetry__proxy_parse(const char *text, telemetry__proxy *p) {
    const char *a = text, *end, *at = NULL, *s;
    memset(p, 0, sizeof *p);
    if (telemetry__strnieq(text, "http://", 7)) a = text + 7;
    else if (strstr(text, "://")) return TELEMETRY_ERR_UNSUPPORTED;
    end = a + strcspn(a, "/?#");
    for (s = a; s < end; s++) if (*s == '@') at = s;
    if (telemetry__parse_authority(at ? at + 1 : a, (size_t)(end - (at ? at + 1 : a)), &p->url)) {
        telemetry__url_free(&p->url);
        return TELEMETRY_ERR_INVALID_URL;
    }
    if (!p->url.port_given) p->url.port = 1080;
    if (at) {
        size_t n = 0;
        unsigned char *plain = (unsigned char *)telemetry__malloc((size_t)(at - a) + 1);
        p->auth = (char *)telemetry__malloc(((size_t)(at - a) + 2) / 3 * 4 + 1);
        if (!plain || !p->auth) { telemetry__free(plain); telemetry__free(p->auth); telemetry__url_free(&p->url); return TELEMETRY_ERR_NO_MEMORY; }
        for (s = a; s < at; s++) {
            if (*s == '%' && at - s > 2 && telemetry__hexval((unsigned char)s[1]) >= 0 && telemetry__hexval((unsigned char)s[2]) >= 0) {
                plain[n++] = (unsigned char)(telemetry__hexval((unsigned char)s[1]) * 16 + telemetry__hexval((unsigned char)s[2]));
                s += 2;
            } else plain[n++] = (unsigned char)*s;
        }
        telemetry__base64(plain, n, p->auth);
        telemetry__free(plain);
    }
    return 0;
}
TELEMETRY__INTERNAL void telemetry__proxy_free(telemetry__proxy *p) {
    telemetry__url_free(&p->url);
    telemetry__free(p->auth);
    memset(p, 0, sizeof *p);
}

/* 1 when no_proxy exempts host:port. Comma-separated entries: "*" (everything), a host name or IP
   literal (exact match, also bracketed IPv6), or a domain with or without a leading "." or "*."
   that also covers its subdomains; each optionally ":port". No CIDR ranges. */
TELEMETRY__INTERNAL int telemetry__no_proxy_match(const char *list, const char *host, unsigned port) {
    size_t hl = strlen(host);
    while (list && *list) {
        const char *s = list, *t = list + strcspn(list, ","), *c;
        unsigned long eport = 0;
        size_t n;
        list = *t ? t + 1 : t;
        s = telemetry__skip_ows(s, t);
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (t - s == 1 && *s == '*') return 1;
        if (s < t && *s == '[') {                        /* [v6] or [v6]:port */
            const char *rb = (const char *)memchr(s, ']', (size_t)(t - s));
            if (!rb) continue;
            c = rb + 1 < t && rb[1] == ':' ? rb + 1 : NULL;
            if (c == NULL && rb + 1 != t) continue;
            s++;
            if (c) { const char *q; for (q = c + 1; q < t; q++) eport = eport * 10 + (unsigned long)(*q - '0'); }
            t = rb;
        } else if ((c = (const char *)memchr(s, ':', (size_t)(t - s))) != NULL && !memchr(c + 1, ':', (size_t)(t - c - 1))) {
            const char *q;                               /* one colon: name:port (more: bare IPv6) */
            for (q = c + 1; q < t && eport < 65536; q++) {
                if (*q < '0' || *q > '9') { eport = 65536; break; }
                eport = eport * 10 + (unsigned long)(*q - '0');
            }
            if (eport == 0 || eport > 65535) continue;
            t = c;
        }
        if (eport && eport != port) continue;
        if (t - s >= 2 && s[0] == '*' && s[1] == '.') s++;
        if (s < t && *s == '.') s++;
        n = (size_t)(t - s);
        if (n == 0) continue;
        if (hl == n && telemetry__strnieq(host, s, n)) return 1;
        if (hl > n && host[hl - n - 1] == '.' && telemetry__strnieq(host + hl - n, s, n)) return 1;
    }
    return 0;
}

/* ---- the client ------------------------------------------------------------------------------ */
typedef struct telemetry__http_client {
    telemetry__transport_config cfg;    /* ca_pem and ca_file point to our own copies */
    telemetry__net net;                 /* the cached connection */
    int reusable;                       /* the server allowed another request on it */
    char key[600];                      /* where it goes: scheme, origin, proxy */
    unsigned long connects;             /* connections opened (tests count them) */
    telemetry__proxy http_proxy, https_proxy;
    char *no_proxy;
    int tls_on;                         /* the cached connection speaks TLS */
#if !defined(TELEMETRY_NO_TLS)
    telemetry__tls *tls;                /* created on the first https request */
#endif
    telemetry__http_parser parser;
} telemetry__http_client;

TELEMETRY__INTERNAL void telemetry__http_close(telemetry__http_client *c) {
    telemetry__net_close(&c->net);
    c->reusable = 0;
    c->tls_on = 0;
    c->key[0] = 0;
}

TELEMETRY__INTERNAL int telemetry__proxy_env(telemetry__proxy *p, const char *lower, const char *upper, int upper_ok) {
    const char *v = getenv(lower), *var = lower;
    int rc;
    if ((!v || !*v) && upper_ok) { v = getenv(upper); var = upper; }
    if (!v || !*v) return 0;
    rc = telemetry__proxy_parse(v, p);
    if (rc == TELEMETRY_ERR_NO_MEMORY) return rc;
    p->invalid = rc != 0;
    p->var = var;
    return 0;
}

TELEMETRY__INTERNAL void telemetry__http_client_free(telemetry__http_client *c) {
    if (!c) return;
    telemetry__http_close(c);
#if !defined(TELEMETRY_NO_TLS)
    telemetry__tls_free(c->tls);
#endif
    telemetry__proxy_free(&c->http_proxy);
    telemetry__proxy_free(&c->https_proxy);
    telemetry__free(c->no_proxy);
    telemetry__free((void *)c->cfg.ca_pem);
    telemetry__free((void *)c->cfg.ca_file);
    telemetry__free(c);
#if defined(_WIN32) && !defined(TELEMETRY_NO_SOCKETS)
    WSACleanup();
#endif
}

/* Copies the config; reads the proxy variables now (getenv is not safe against a concurrent
   setenv, so not on every send). HTTP_PROXY is ignored in a CGI program (REQUEST_METHOD set),
   where a request's "Proxy:" header would set it ("httpoxy"). */
TELEMETRY__INTERNAL int telemetry__http_client_new(telemetry__http_client **out, const telemetry__transport_config *cfg) {
    telemetry__http_client *c = (telemetry__http_client *)telemetry__malloc(sizeof *c);
    int rc = 0;
    *out = NULL;
    if (!c) return TELEMETRY_ERR_NO_MEMORY;
    memset(c, 0, sizeof *c);
#if defined(_WIN32) && !defined(TELEMETRY_NO_SOCKETS)
    { WSADATA wsa; if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) { telemetry__free(c); return TELEMETRY_ERR_NETWORK; } }
#endif
    c->net.fd = TELEMETRY__NO_SOCKET;
    if (cfg) c->cfg = *cfg;
    c->cfg.ca_pem = telemetry__strdup(c->cfg.ca_pem);
    c->cfg.ca_file = c->cfg.ca_pem ? NULL : telemetry__strdup(c->cfg.ca_file);
    if (cfg && ((cfg->ca_pem && !c->cfg.ca_pem) || (!cfg->ca_pem && cfg->ca_file && !c->cfg.ca_file))) rc = TELEMETRY_ERR_NO_MEMORY;
    if (!rc && c->cfg.use_proxy_env) {
        const char *np = getenv("no_proxy");
        if (!np || !*np) np = getenv("NO_PROXY");
        if (np && *np && !(c->no_proxy = telemetry__strdup(np))) rc = TELEMETRY_ERR_NO_MEMORY;
        if (!rc) rc = telemetry__proxy_env(&c->https_proxy, "https_proxy", "HTTPS_PROXY", 1);
        if (!rc) rc = telemetry__proxy_env(&c->http_proxy, "http_proxy", "HTTP_PROXY", getenv("REQUEST_METHOD") == NULL);
    }
    if (rc) { telemetry__http_client_free(c); return rc; }
    *out = c;
    return 0;
}

/* Reads one response into resp. *got counts the bytes received. */
TELEMETRY__INTERNAL int telemetry__http_read_response(telemetry__http_client *c, int flags, telemetry__http_response *resp,
                                                      int64_t deadline, size_t *got) {
    char buf[4096];
    telemetry__http_parser *p = &c->parser;
    telemetry__http_parser_init(p, flags);
    for (;;) {
        size_t used = 0;
        long n;
        int rc;
#if !defined(TELEMETRY_NO_TLS)
        if (c->tls_on) n = telemetry__tls_read(c->tls, &c->net, buf, sizeof buf, deadline);
        else
#endif
        n = telemetry__net_io(&c->net, 0, buf, sizeof buf, deadline);
        if (n > 0) {
            *got += (size_t)n;
            rc = telemetry__http_parser_feed(p, resp, buf, (size_t)n, &used);
            if (rc == TELEMETRY__HTTP_COMPLETE) {
                /* bytes after the response (here or still inside BearSSL): do not reuse the connection */
                p->extra = used < (size_t)n;
#if !defined(TELEMETRY_NO_TLS)
                if (c->tls_on && (br_ssl_engine_current_state(&c->tls->sc.eng) & BR_SSL_RECVAPP)) p->extra = 1;
#endif
                if (p->extra) p->keep_alive = 0;
                return 0;
            }
            if (rc == TELEMETRY_ERR_PROTOCOL) return telemetry__net_fail(&c->net, rc, "malformed response: %s", p->error);
            if (rc < 0) return telemetry__net_fail(&c->net, rc, "out of memory reading the response");
            continue;
        }
        if (n != 0 && n != TELEMETRY__EOF_UNCLEAN) return (int)n;
        if (*got == 0) return telemetry__net_fail(&c->net, TELEMETRY_ERR_NETWORK, "connection closed before any response");
        /* A body delimited by the close needs close_notify under TLS, else it may be truncated. */
        if (n == TELEMETRY__EOF_UNCLEAN && p->state == TELEMETRY__HP_CLOSE)
            return telemetry__net_fail(&c->net, TELEMETRY_ERR_NETWORK, "TLS connection closed without close_notify before the end of an unframed body");
        if (telemetry__http_parser_eof(p) == TELEMETRY__HTTP_COMPLETE) return 0;
        return telemetry__net_fail(&c->net, TELEMETRY_ERR_NETWORK, "%s", p->error);
    }
}

TELEMETRY__INTERNAL int telemetry__http_write(telemetry__http_client *c, const void *data, size_t len, int64_t deadline) {
#if !defined(TELEMETRY_NO_TLS)
    if (c->tls_on) return telemetry__tls_write(c->tls, &c->net, data, len, deadline);
#endif
    return telemetry__net_write_all(&c->net, data, len, deadline);
}

/* Opens the connection for url: directly or through the proxy, then TLS for https. */
TELEMETRY__INTERNAL int telemetry__http_open(telemetry__http_client *c, const telemetry__url *u, const telemetry__proxy *px,
                                             int64_t deadline) {
    int rc;
    c->connects++;
    rc = telemetry__net_connect_c(&c->net, c->cfg.io, px ? px->url.host : u->host, px ? px->url.port : u->port, deadline, c->cfg.cancel);
    if (rc || !u->secure) return rc;
    if (px) {                                            /* a tunnel to the origin: CONNECT host:port */
        telemetry__buf b;
        telemetry__http_response r;
        size_t got = 0;
        char hp[300];
        if (u->host_is_ipv6) snprintf(hp, sizeof hp, "[%s]:%u", u->host, u->port);
        else snprintf(hp, sizeof hp, "%s:%u", u->host, u->port);
        telemetry__buf_init(&b);
        telemetry__buf_printf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s/%s\r\n", hp, hp, TELEMETRY_SDK_NAME, TELEMETRY_VERSION_STRING);
        if (px->auth) telemetry__buf_printf(&b, "Proxy-Authorization: Basic %s\r\n", px->auth);
        telemetry__buf_puts(&b, "\r\n");
        rc = b.failed ? telemetry__net_fail(&c->net, TELEMETRY_ERR_NO_MEMORY, "out of memory")
                      : telemetry__net_write_all(&c->net, b.data, b.len, deadline);
        telemetry__buf_free(&b);
        memset(&r, 0, sizeof r);
        if (!rc) rc = telemetry__http_read_response(c, TELEMETRY__HTTP_CONNECT, &r, deadline, &got);
        if (!rc && r.status / 100 != 2)
            rc = telemetry__net_fail(&c->net, TELEMETRY_ERR_NETWORK, "proxy %s:%u refused CONNECT with status %d", px->url.host, px->url.port, r.status);
        else if (!rc && c->parser.extra)
            rc = telemetry__net_fail(&c->net, TELEMETRY_ERR_PROTOCOL, "proxy sent data after its CONNECT response");
        telemetry__http_response_free(&r);
        if (rc) return rc;
    }
#if defined(TELEMETRY_NO_TLS)
    return 0;                                            /* the program's telemetry_io provides TLS */
#else
    if (!c->tls) {
        c->tls = (telemetry__tls *)telemetry__malloc(sizeof *c->tls);
        if (!c->tls) return telemetry__net_fail(&c->net, TELEMETRY_ERR_NO_MEMORY, "out of memory for TLS");
        memset(c->tls, 0, sizeof *c->tls);
    }
    rc = telemetry__tls_setup(c->tls, &c->cfg, c->cfg.ca_pem, c->cfg.ca_file, &c->net);
    if (!rc && (c->cfg.ca_pem || c->cfg.ca_file)) {          /* the anchors are copied: drop the text */
        telemetry__free((void *)c->cfg.ca_pem); telemetry__free((void *)c->cfg.ca_file);
        c->cfg.ca_pem = c->cfg.ca_file = NULL;
    }
    if (!rc) rc = telemetry__tls_handshake(c->tls, &c->net, u, &c->cfg, deadline);
    c->tls_on = rc == 0;
    return rc;
#endif
}

/* Sends one request and reads the response before deadline_ms (telemetry__monotonic_ms() clock).
   Reuses the cached connection when it goes to the same place and the server allowed keep-alive;
   a reused connection that turns out dead before any response byte is reopened once and the
   request resent. 0 when a complete response was read (any status), or TELEMETRY_ERR_NETWORK,
   _TIMEOUT, _TLS, _PROTOCOL, _NO_MEMORY, _INVALID_ARGUMENT, _UNSUPPORTED, with one log line that
   names the method and host:port (never the path or query: they carry tokens). */
TELEMETRY__INTERNAL int telemetry__http_send(telemetry__http_client *c, const telemetry__http_request *req,
                                             telemetry__http_response *resp, int64_t deadline_ms) {
    const telemetry__url *u = req ? req->url : NULL;
    const telemetry__proxy *px = NULL;
    telemetry__buf head;
    char hp[300];
    int rc, attempt, flags;
    memset(resp, 0, sizeof *resp);
    if (!c || !u || !u->host || !req->method || (req->body_len && !req->body)) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__url_hostport(u, hp, sizeof hp);
    if (u->secure) px = c->https_proxy.var ? &c->https_proxy : NULL;
    else px = c->http_proxy.var ? &c->http_proxy : NULL;
    if (px && telemetry__no_proxy_match(c->no_proxy, u->host, u->port)) px = NULL;
#if defined(TELEMETRY_NO_TLS)
    if (u->secure && !c->cfg.io) {
        telemetry__log(TELEMETRY_LEVEL_WARNING, "%s %s: https needs TLS, and this build has TELEMETRY_NO_TLS", req->method, hp);
        return TELEMETRY_ERR_UNSUPPORTED;
    }
#endif
    if (px && px->invalid) {
        telemetry__log(TELEMETRY_LEVEL_WARNING, "%s %s: %s is not an http:// proxy URL", req->method, hp, px->var);
        return TELEMETRY_ERR_NETWORK;
    }
    telemetry__buf_init(&head);
    rc = telemetry__http_write_head(&head, req, px && !u->secure, px && !u->secure ? px->auth : NULL);
    if (!rc && req->body_len <= 16384 && telemetry__buf_append(&head, req->body, req->body_len)) rc = TELEMETRY_ERR_NO_MEMORY;
    if (rc) {
        telemetry__buf_free(&head);
        telemetry__log(TELEMETRY_LEVEL_WARNING, "%s %s: %s", req->method ? req->method : "?", hp,
                       rc == TELEMETRY_ERR_NO_MEMORY ? "out of memory" : "invalid method, target or header (CR/LF?)");
        return rc;
    }
    flags = strcmp(req->method, "HEAD") == 0 ? TELEMETRY__HTTP_HEAD : 0;
    for (attempt = 0;; attempt++) {
        char key[sizeof c->key];
        size_t got = 0;
        int reused;
        snprintf(key, sizeof key, "%s://%s:%u via %s:%u", u->secure ? "https" : "http", u->host, u->port,
                 px ? px->url.host : "-", px ? px->url.port : 0);
        reused = c->reusable && strcmp(c->key, key) == 0 && telemetry__net_idle_ok(&c->net);
        if (!reused) {
            telemetry__http_close(c);
            if ((rc = telemetry__http_open(c, u, px, deadline_ms)) != 0) break;
            memcpy(c->key, key, sizeof key);
        }
        c->reusable = 0;
        rc = telemetry__http_write(c, head.data, head.len, deadline_ms);
        if (!rc && req->body_len > 16384) rc = telemetry__http_write(c, req->body, req->body_len, deadline_ms);
#if !defined(TELEMETRY_NO_TLS)
        if (!rc && c->tls_on) rc = telemetry__tls_flush(c->tls, &c->net, deadline_ms);
#endif
        if (!rc) rc = telemetry__http_read_response(c, flags, resp, deadline_ms, &got);
        if (!rc) { c->reusable = c->parser.keep_alive; break; }
        telemetry__http_close(c);
        if (!reused || attempt > 0 || got > 0 || rc == TELEMETRY_ERR_TIMEOUT || rc == TELEMETRY_ERR_NO_MEMORY) break;
        telemetry__log(TELEMETRY_LEVEL_DEBUG, "%s %s: kept-alive connection failed (%s); reconnecting", req->method, hp, c->net.err);
        telemetry__http_response_free(resp);
    }
    telemetry__buf_free(&head);
    if (!c->reusable) telemetry__http_close(c);
    if (rc) {
        telemetry__http_response_free(resp);
        telemetry__log(TELEMETRY_LEVEL_WARNING, "%s %s%s%s: %s", req->method, hp, px ? " via proxy " : "",
                       px ? px->url.host : "", c->net.err);
    }
    return rc;
}

/* =============================================================================================
   >>metrics: the registry that the usage report, the disclosure and the debug print all read
   ============================================================================================= */
TELEMETRY__DEF telemetry__mutex telemetry__registry_lock = TELEMETRY__MUTEX_INIT;
TELEMETRY__DEF telemetry_metric *telemetry__metrics = NULL;   /* sorted by id */
/* Registration often runs before main(), when there is no log yet: the last refusal is kept
   and logged by telemetry_init. */
TELEMETRY__DEF char telemetry__refused_metric[80];

TELEMETRY_API telemetry_value telemetry_string(const char *s) {
    telemetry_value v;
    memset(&v, 0, sizeof v);
    v.type = s ? TELEMETRY_VALUE_STRING : TELEMETRY_VALUE_NULL;
    v.as.s = s;
    return v;
}
TELEMETRY_API telemetry_value telemetry_int(int64_t i) {
    telemetry_value v;
    memset(&v, 0, sizeof v);
    v.type = TELEMETRY_VALUE_INT; v.as.i = i;
    return v;
}
TELEMETRY_API telemetry_value telemetry_double(double d) {
    telemetry_value v;
    memset(&v, 0, sizeof v);
    v.type = (d != d || d - d != 0) ? TELEMETRY_VALUE_NULL : TELEMETRY_VALUE_DOUBLE;
    v.as.d = d;
    return v;
}
TELEMETRY_API telemetry_value telemetry_bool(int b) {
    telemetry_value v;
    memset(&v, 0, sizeof v);
    v.type = TELEMETRY_VALUE_BOOL; v.as.b = b ? 1 : 0;
    return v;
}
TELEMETRY_API telemetry_value telemetry_null(void) {
    telemetry_value v;
    memset(&v, 0, sizeof v);
    return v;
}

/* A name the usage report can carry as a key anywhere (Firebase refuses . $ # [ ] / and
   controls; we keep to a portable subset): [A-Za-z0-9_-], 1 to TELEMETRY_MAX_NAME-1 bytes. */
TELEMETRY__INTERNAL int telemetry__valid_name(const char *s) {
    size_t n = 0;
    if (!s || !*s) return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n < TELEMETRY_MAX_NAME;
}

/* ---- re-entry: metric functions run while the library holds its locks (the report, the
   disclosure). A call back into the library from one, on that thread, is detected and refused
   with TELEMETRY_ERR_REENTRY instead of waiting for ever on a lock the thread itself holds;
   telemetry_enabled, telemetry_count and telemetry_status_reason still answer. Other threads
   just wait their turn. ------------------------------------------------------------------------ */
#if defined(TELEMETRY_NO_THREADS)
TELEMETRY__DEF int telemetry__metric_running = 0;
TELEMETRY__INTERNAL int telemetry__in_metric(void) { return telemetry__metric_running; }
TELEMETRY__INTERNAL void telemetry__metric_enter(int inside) { telemetry__metric_running = inside; }
#elif defined(_WIN32)
TELEMETRY__DEF long telemetry__metric_thread = 0;        /* the thread inside a metric, or 0 */
TELEMETRY__INTERNAL int telemetry__in_metric(void) {
    return TELEMETRY__ATOMIC_LOAD(&telemetry__metric_thread) == (long)GetCurrentThreadId();
}
TELEMETRY__INTERNAL void telemetry__metric_enter(int inside) {
    TELEMETRY__ATOMIC_STORE(&telemetry__metric_thread, inside ? (long)GetCurrentThreadId() : 0);
}
#else
TELEMETRY__DEF pthread_once_t telemetry__metric_once = PTHREAD_ONCE_INIT;
TELEMETRY__DEF pthread_key_t telemetry__metric_key;     /* non-NULL on the thread inside a metric */
TELEMETRY__DEF int telemetry__metric_key_ok = 0;
TELEMETRY__INTERNAL void telemetry__metric_key_make(void) {
    telemetry__metric_key_ok = pthread_key_create(&telemetry__metric_key, NULL) == 0;
}
TELEMETRY__INTERNAL int telemetry__in_metric(void) {
    pthread_once(&telemetry__metric_once, telemetry__metric_key_make);
    return telemetry__metric_key_ok && pthread_getspecific(telemetry__metric_key) != NULL;
}
TELEMETRY__INTERNAL void telemetry__metric_enter(int inside) {
    static char mark;
    pthread_once(&telemetry__metric_once, telemetry__metric_key_make);
    if (telemetry__metric_key_ok) pthread_setspecific(telemetry__metric_key, inside ? &mark : NULL);
}
#endif
#define TELEMETRY__NO_REENTRY(result) do { if (telemetry__in_metric()) return (result); } while (0)

TELEMETRY_API int telemetry_register_metric(telemetry_metric *m) {
    telemetry_metric **at;
    int rc = 0;
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!m || !m->fn || !telemetry__valid_name(m->id) || !m->description) {
        telemetry__lock(&telemetry__registry_lock);
        snprintf(telemetry__refused_metric, sizeof telemetry__refused_metric, "%.63s", m && m->id ? m->id : "(null)");
        telemetry__unlock(&telemetry__registry_lock);
        telemetry__log(TELEMETRY_LEVEL_WARNING, "metric '%s' refused: an id is 1 to %d characters of [A-Za-z0-9_-] "
                       "(keys Firebase and every other store accept), with a description and a function",
                       telemetry__refused_metric, TELEMETRY_MAX_NAME - 1);
        return TELEMETRY_ERR_INVALID_ARGUMENT;
    }
    telemetry__lock(&telemetry__registry_lock);
    if (m->registered) { telemetry__unlock(&telemetry__registry_lock); return 0; }
    for (at = &telemetry__metrics; *at && strcmp((*at)->id, m->id) < 0; at = &(*at)->next) {}
    if (*at && strcmp((*at)->id, m->id) == 0) rc = TELEMETRY_ERR_DUPLICATE;
    else { m->next = *at; *at = m; m->registered = 1; }
    telemetry__unlock(&telemetry__registry_lock);
    if (rc) telemetry__log(TELEMETRY_LEVEL_WARNING, "metric '%s' is registered twice; the second one is ignored", m->id);
    return rc;
}

/* Declared counters (TELEMETRY_COUNTER): only their descriptions, for the disclosure. Sorted by id. */
TELEMETRY__DEF telemetry_counter_info *telemetry__declared_counters = NULL;

TELEMETRY_API int telemetry_register_counter(telemetry_counter_info *c) {
    telemetry_counter_info **at;
    int rc = 0;
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!c || !telemetry__valid_name(c->id) || !c->description) {
        telemetry__lock(&telemetry__registry_lock);
        snprintf(telemetry__refused_metric, sizeof telemetry__refused_metric, "%.63s", c && c->id ? c->id : "(null)");
        telemetry__unlock(&telemetry__registry_lock);
        return TELEMETRY_ERR_INVALID_ARGUMENT;
    }
    telemetry__lock(&telemetry__registry_lock);
    if (c->registered) { telemetry__unlock(&telemetry__registry_lock); return 0; }
    for (at = &telemetry__declared_counters; *at && strcmp((*at)->id, c->id) < 0; at = &(*at)->next) {}
    if (*at && strcmp((*at)->id, c->id) == 0) rc = TELEMETRY_ERR_DUPLICATE;
    else { c->next = *at; *at = c; c->registered = 1; }
    telemetry__unlock(&telemetry__registry_lock);
    if (rc) telemetry__log(TELEMETRY_LEVEL_WARNING, "counter '%s' is declared twice; the second one is ignored", c->id);
    return rc;
}

/* The declared counter named name, or NULL. Registry lock held. */
TELEMETRY__INTERNAL const telemetry_counter_info *telemetry__counter_declared(const char *name) {
    const telemetry_counter_info *c;
    for (c = telemetry__declared_counters; c; c = c->next) if (strcmp(c->id, name) == 0) return c;
    return NULL;
}

/* ---- counters: a fixed open-addressing table; a slot's name is written once, then published.
   The hot path (a known name) is one hash, a probe, a compare and an atomic add. ------------ */
typedef struct telemetry__counter {
    int state;                          /* 0 empty, 1 being claimed, 2 ready */
    char name[TELEMETRY_MAX_NAME];
    int64_t value;
} telemetry__counter;

TELEMETRY__DEF telemetry__counter telemetry__counters[TELEMETRY_MAX_COUNTERS];

TELEMETRY__INTERNAL uint32_t telemetry__hash(const char *s) {
    uint32_t h = 2166136261u;                          /* FNV-1a */
    while (*s) { h ^= (unsigned char)*s++; h *= 16777619u; }
    return h;
}

/* Calls refused because the table was full: the first is logged, the rest only counted (a
   program with a million names must not write a million log lines); the disclosure tells. */
TELEMETRY__DEF int64_t telemetry__counters_refused = 0;
TELEMETRY__DEF int telemetry__counters_refusal_logged = 0;

/* Adds delta to the named counter (the table only; telemetry_count also starts the run's work). */
TELEMETRY__INTERNAL int telemetry__counter_add(const char *name, int64_t delta) {
    uint32_t i, start;
    start = telemetry__hash(name) & (TELEMETRY_MAX_COUNTERS - 1);
    for (i = 0; i < TELEMETRY_MAX_COUNTERS; i++) {
        telemetry__counter *c = &telemetry__counters[(start + i) & (TELEMETRY_MAX_COUNTERS - 1)];
        int state = TELEMETRY__ATOMIC_LOAD(&c->state);
        if (state == 0 && TELEMETRY__ATOMIC_CAS_INT(&c->state, 0, 1)) {
            strcpy(c->name, name);                    /* fits: telemetry__valid_name */
            TELEMETRY__ATOMIC_STORE(&c->state, 2);
            state = 2;
        }
        while (state == 1) state = TELEMETRY__ATOMIC_LOAD(&c->state);   /* another thread is naming it */
        if (strcmp(c->name, name) == 0) { TELEMETRY__ATOMIC_ADD64(&c->value, delta); return 0; }
    }
    TELEMETRY__ATOMIC_ADD64(&telemetry__counters_refused, 1);
    if (TELEMETRY__ATOMIC_CAS_INT(&telemetry__counters_refusal_logged, 0, 1))
        telemetry__log(TELEMETRY_LEVEL_WARNING, "counter '%s' dropped: more than %d counter names (further refusals are "
                       "counted, not logged)", name, TELEMETRY_MAX_COUNTERS);
    return TELEMETRY_ERR_NO_SPACE;
}

/* Set by telemetry_init on an enabled run until the first capture, report or count did the
   run's first work (>>enduser): the one atomic read telemetry_count pays for it. */
TELEMETRY__DEF int telemetry__activation_pending = 0;
TELEMETRY__INTERNAL void telemetry__activate_now(void);

TELEMETRY_API int telemetry_count(const char *name, int64_t delta) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    if (!telemetry__valid_name(name)) return TELEMETRY_ERR_INVALID_ARGUMENT;
    /* (inside a metric function the library's lock is this thread's: the work starts later) */
    if (TELEMETRY__ATOMIC_LOAD(&telemetry__activation_pending) && !telemetry__in_metric()) telemetry__activate_now();
    return telemetry__counter_add(name, delta);
}

/* Writes {"name":value,...} sorted by name. With reset, each value is taken (set to 0)
   atomically, so increments racing with a report land in this report or the next. */
TELEMETRY__INTERNAL void telemetry__counters_json(telemetry__json *j, int reset) {
    int order[TELEMETRY_MAX_COUNTERS], n = 0, i, k;
    for (i = 0; i < TELEMETRY_MAX_COUNTERS; i++)
        if (TELEMETRY__ATOMIC_LOAD(&telemetry__counters[i].state) == 2) order[n++] = i;
    for (i = 1; i < n; i++) {                          /* insertion sort: n is small */
        int v = order[i];
        for (k = i; k > 0 && strcmp(telemetry__counters[order[k - 1]].name, telemetry__counters[v].name) > 0; k--) order[k] = order[k - 1];
        order[k] = v;
    }
    telemetry__json_object_begin(j);
    for (i = 0; i < n; i++) {
        telemetry__counter *c = &telemetry__counters[order[i]];
        int64_t v = reset ? TELEMETRY__ATOMIC_XCHG64(&c->value, 0) : TELEMETRY__ATOMIC_LOAD(&c->value);
        telemetry__json_key(j, c->name);
        telemetry__json_int(j, v);
    }
    telemetry__json_object_end(j);
}

/* Calls one metric and writes its value; string values are cut at TELEMETRY_MAX_STRING_VALUE. */
TELEMETRY__INTERNAL void telemetry__metric_json(telemetry__json *j, const telemetry_metric *m) {
    telemetry_value v;
    telemetry__metric_enter(1);
    v = m->fn();
    telemetry__metric_enter(0);
    if (v.type == TELEMETRY_VALUE_STRING && v.as.s) {
        size_t n = strlen(v.as.s);
        telemetry__json_string_n(j, v.as.s, n < TELEMETRY_MAX_STRING_VALUE ? n : TELEMETRY_MAX_STRING_VALUE);
    } else {
        telemetry__json_value(j, v);
    }
}

/* =============================================================================================
   >>files: the few file operations the library needs; every write is atomic
   ============================================================================================= */
#if defined(_WIN32)
#  define TELEMETRY__SEP "\\"
#else
#  define TELEMETRY__SEP "/"
#endif

#if defined(TELEMETRY_NO_FILES)
/* ---- TELEMETRY_NO_FILES: the state folder is the program's cfg.storage. Its folder is named
   TELEMETRY__STORAGE_DIR, and the file "<that>/name" is the key "name"; no other path exists.
   Every write replaces a whole value (save is atomic by contract). ---------------------------- */
#define TELEMETRY__STORAGE_DIR "cfg.storage"
TELEMETRY__DEF const telemetry_storage *telemetry__storage;     /* cfg.storage, set by telemetry_init */

/* The key of a path in the storage, or NULL. */
TELEMETRY__INTERNAL const char *telemetry__storage_key(const char *path) {
    size_t n = sizeof TELEMETRY__STORAGE_DIR - 1;
    if (!telemetry__storage || strncmp(path, TELEMETRY__STORAGE_DIR, n) != 0 || (path[n] != '/' && path[n] != '\\') || !path[n + 1])
        return NULL;
    return path + n + 1;
}
/* Reads a whole small value (at most max bytes) into a NUL-terminated allocation. 0, or
   TELEMETRY_ERR_IO with *err set (ENOENT: not stored), or NO_MEMORY. */
TELEMETRY__INTERNAL int telemetry__read_file(const char *path, size_t max, char **out, size_t *len, int *err) {
    const telemetry_storage *st = telemetry__storage;
    const char *key = telemetry__storage_key(path);
    long n;
    size_t want;
    char *data;
    *out = NULL; *err = ENOENT;
    if (!key || (n = st->load(st->user_data, key, NULL, 0)) < 0) return TELEMETRY_ERR_IO;
    want = (size_t)n < max ? (size_t)n : max;
    data = (char *)telemetry__malloc(want + 1);
    if (!data) return TELEMETRY_ERR_NO_MEMORY;
    n = st->load(st->user_data, key, data, want);
    if (n < 0) { telemetry__free(data); return TELEMETRY_ERR_IO; }
    if ((size_t)n < want) want = (size_t)n;
    data[want] = 0;
    *out = data;
    if (len) *len = want;
    *err = 0;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__write_file_atomic(const char *path, const void *data, size_t len, int durable) {
    const char *key = telemetry__storage_key(path);
    (void)durable;                                /* the device's save decides how durable it is */
    if (!key) { errno = ENOENT; return TELEMETRY_ERR_IO; }
    if (telemetry__storage->save(telemetry__storage->user_data, key, data, len) != 0) { errno = EIO; return TELEMETRY_ERR_IO; }
    return 0;
}
TELEMETRY__INTERNAL int telemetry__remove_file(const char *path) {
    const char *key = telemetry__storage_key(path);
    return key && telemetry__storage->remove(telemetry__storage->user_data, key) == 0 ? 0 : -1;
}
/* Appending would rewrite a whole value each time: flash is not a log (no sent.log there). */
TELEMETRY__INTERNAL int telemetry__append_file(const char *path, const void *data, size_t len) {
    (void)path; (void)data; (void)len;
    return TELEMETRY_ERR_IO;
}
/* The size of a stored value, or -1. */
TELEMETRY__INTERNAL long telemetry__file_size(const char *path) {
    const char *key = telemetry__storage_key(path);
    return key ? telemetry__storage->load(telemetry__storage->user_data, key, NULL, 0) : -1;
}
/* The storage's "folder" exists when there is a storage; there is no other. */
TELEMETRY__INTERNAL int telemetry__mkdirs(const char *dir) {
    size_t n = sizeof TELEMETRY__STORAGE_DIR - 1;
    return telemetry__storage && strncmp(dir, TELEMETRY__STORAGE_DIR, n) == 0 && (dir[n] == 0 || dir[n] == '/') ? 0 : TELEMETRY_ERR_IO;
}
TELEMETRY__INTERNAL int telemetry__size_allowed(uint64_t size) { (void)size; return 1; }
#else
/* Reads a whole small file (at most max bytes) from an open fd into a NUL-terminated
   allocation, and closes the fd. 0, or TELEMETRY_ERR_IO with *err set, or NO_MEMORY. */
TELEMETRY__INTERNAL int telemetry__read_fd(int fd, size_t max, char **out, size_t *len, int *err) {
    char *data = (char *)telemetry__malloc(max + 1);
    size_t n = 0;
    long got = 1;
    if (!data) { telemetry__close_fd(fd); return TELEMETRY_ERR_NO_MEMORY; }
    while (n < max && (got = telemetry__read_some(fd, data + n, max - n)) > 0) n += (size_t)got;
    if (got < 0) { *err = errno ? errno : EIO; telemetry__close_fd(fd); telemetry__free(data); return TELEMETRY_ERR_IO; }
    telemetry__close_fd(fd);
    data[n] = 0;
    *out = data;
    if (len) *len = n;
    return 0;
}

/* Reads a whole small file by path (see telemetry__read_fd). */
TELEMETRY__INTERNAL int telemetry__read_file(const char *path, size_t max, char **out, size_t *len, int *err) {
    int fd;
    *out = NULL; *err = 0;
    fd = telemetry__open_read_at(TELEMETRY__CWD, path, 0, err);
    if (fd < 0) return TELEMETRY_ERR_IO;
    return telemetry__read_fd(fd, max, out, len, err);
}

/* ---- the state folder: opened once per operation as a folder fd that is checked (owned by us,
   not writable by group or others, not a symlink); the files in it are reached relative to that
   fd and never through a symlink, so nobody else can point the library at other files. -------- */

/* Opens the folder dir, creating it (and its parents, 0700) first when create is set. The fd,
   or -1 with *why set: "missing" (ENOENT), or a sentence on why the folder is refused. */
TELEMETRY__INTERNAL int telemetry__dir_open(const char *dir, int create, const char **why);

/* Creates dir and any missing parents, owner-only (0700). 0 or TELEMETRY_ERR_IO. */
TELEMETRY__INTERNAL int telemetry__mkdirs(const char *dir) {
    char path[4096];
#if defined(_WIN32)
    wchar_t w[TELEMETRY__WPATH];
#endif
    size_t i, n = strlen(dir);
    if (n == 0 || n >= sizeof path) return TELEMETRY_ERR_IO;
    memcpy(path, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\\' || path[i] == 0) {
            char c = path[i];
            path[i] = 0;
#if defined(_WIN32)
            if (i == 2 && path[1] == ':') { path[i] = c; continue; }              /* "C:" */
            if (telemetry__wpath(path, w) != 0) return TELEMETRY_ERR_IO;
            if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS && i == n) return TELEMETRY_ERR_IO;
#else
            if (mkdir(path, 0700) != 0 && errno != EEXIST && i == n) return TELEMETRY_ERR_IO;
#endif
            path[i] = c;
        }
    }
    return 0;
}

TELEMETRY__INTERNAL int telemetry__dir_open(const char *dir, int create, const char **why) {
#if defined(_WIN32)
    (void)dir; (void)create;
    *why = "not supported";                  /* Windows builds use the path functions */
    return -1;
#else
    struct stat st;
    int fd;
    *why = NULL;
    if (create && telemetry__mkdirs(dir) != 0) { *why = "it cannot be created"; return -1; }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || ((e == ENOTDIR || e == ELOOP) && lstat(dir, &st) != 0)) *why = "missing";   /* a parent is a file */
        else if (e == ENOTDIR || e == ELOOP) *why = S_ISLNK(st.st_mode) ? "it is a symlink" : "it is not a folder";
        else *why = "it cannot be opened";
        return -1;
    }
    if (fstat(fd, &st) != 0) { close(fd); *why = "it cannot be opened"; return -1; }
    if (st.st_uid != geteuid()) { close(fd); *why = "it belongs to another user"; return -1; }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) { close(fd); *why = "others can write to it"; return -1; }
    return fd;
#endif
}

/* Reads the file name in the folder dirfd (not through a symlink; see telemetry__read_fd). */
TELEMETRY__INTERNAL int telemetry__dir_read(int dirfd, const char *name, size_t max, char **out, size_t *len, int *err) {
    int fd;
    *out = NULL; *err = 0;
    fd = telemetry__open_read_at(dirfd, name, 1, err);
    if (fd < 0) return TELEMETRY_ERR_IO;
    return telemetry__read_fd(fd, max, out, len, err);
}

/* Removes the file name from the folder dirfd (a symlink there is removed, not followed). */
TELEMETRY__INTERNAL int telemetry__dir_unlink(int dirfd, const char *name) {
#if defined(_WIN32)
    (void)dirfd; (void)name;
    return -1;
#else
    return unlinkat(dirfd, name, 0);
#endif
}

/* Writes all of len bytes to fd. 0 or -1. */
TELEMETRY__INTERNAL int telemetry__write_fd_all(int fd, const char *p, size_t len) {
    while (len > 0) {
#if defined(_WIN32)
        int n = _write(fd, p, (unsigned)(len > 65536 ? 65536 : len));
#else
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
#endif
        if (n <= 0) return -1;
        p += n; len -= (size_t)n;
    }
    return 0;
}

/* 1 when a file may grow to size bytes under the process's RLIMIT_FSIZE. Past it the kernel sends
   SIGXFSZ, whose default action ends the program (`ulimit -f`): the library writes less instead. */
TELEMETRY__INTERNAL int telemetry__size_allowed(uint64_t size) {
#if defined(_WIN32)
    (void)size;
    return 1;
#else
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1;
    return size <= (uint64_t)rl.rlim_cur;
#endif
}

/* Writes a file so that readers see the old content or the new, never a mix: a temporary file in
   the same folder (dirfd, or TELEMETRY__CWD for a path), written, then renamed over the target.
   The temporary file is created exclusively (O_EXCL never follows a symlink) and the rename
   replaces a symlink rather than following it. durable also flushes it to the disk first
   (survives a power cut, not only a crash of the process). */
TELEMETRY__INTERNAL int telemetry__write_atomic_at(int dirfd, const char *path, const void *data, size_t len, int durable) {
    char tmp[4200];
    unsigned char rnd[4] = { 0, 0, 0, 0 };
    int fd, ok;
#if defined(_WIN32)
    wchar_t wtmp[TELEMETRY__WPATH], wpath[TELEMETRY__WPATH];
#endif
    telemetry__os_entropy(rnd, sizeof rnd);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2], rnd[3]) >= sizeof tmp ||
        !telemetry__size_allowed(len))
        return TELEMETRY_ERR_IO;
#if defined(_WIN32)
    (void)dirfd;
    if (telemetry__wpath(tmp, wtmp) != 0 || telemetry__wpath(path, wpath) != 0) return TELEMETRY_ERR_IO;
    fd = _wopen(wtmp, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT, _S_IREAD | _S_IWRITE);
#else
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
#endif
    if (fd < 0) return TELEMETRY_ERR_IO;
    ok = telemetry__write_fd_all(fd, (const char *)data, len) == 0;
#if defined(_WIN32)
    if (ok && durable && _commit(fd) != 0) ok = 0;
    if (_close(fd) != 0) ok = 0;
    if (ok && !MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) ok = 0;
    if (!ok) { DeleteFileW(wtmp); return TELEMETRY_ERR_IO; }
#else
    if (ok && durable && fsync(fd) != 0) ok = 0;
    if (close(fd) != 0) ok = 0;
    if (ok && renameat(dirfd, tmp, dirfd, path) != 0) ok = 0;
    if (!ok) { unlinkat(dirfd, tmp, 0); return TELEMETRY_ERR_IO; }
#endif
    return 0;
}
TELEMETRY__INTERNAL int telemetry__write_file_atomic(const char *path, const void *data, size_t len, int durable) {
    return telemetry__write_atomic_at(TELEMETRY__CWD, path, data, len, durable);
}

/* Appends len bytes to the existing file path (never through a symlink). 0 or TELEMETRY_ERR_IO. */
TELEMETRY__INTERNAL int telemetry__append_file(const char *path, const void *data, size_t len) {
    int rc = 0;
#if defined(_WIN32)
    wchar_t w[TELEMETRY__WPATH];
    FILE *f = telemetry__wpath(path, w) == 0 ? _wfopen(w, L"ab") : NULL;
    if (!f || fwrite(data, 1, len, f) != len) rc = TELEMETRY_ERR_IO;
    if (f && fclose(f) != 0) rc = TELEMETRY_ERR_IO;
#else
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);   /* no symlink, no fd leak */
    if (fd < 0 || telemetry__write_fd_all(fd, (const char *)data, len) != 0) rc = TELEMETRY_ERR_IO;
    if (fd >= 0 && close(fd) != 0) rc = TELEMETRY_ERR_IO;
#endif
    return rc;
}
TELEMETRY__INTERNAL int telemetry__remove_file(const char *path) {
#if defined(_WIN32)
    wchar_t w[TELEMETRY__WPATH];
    return telemetry__wpath(path, w) == 0 && DeleteFileW(w) ? 0 : -1;
#else
    return remove(path);
#endif
}
/* The size of the file path, or -1. */
TELEMETRY__INTERNAL long telemetry__file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}
#endif

/* =============================================================================================
   >>sentlog: <state_dir>/sent.log, the user's own record of every payload that was delivered
   ============================================================================================= */
#define TELEMETRY__SENT_LOG_DEFAULT ((size_t)256u * 1024u)
#define TELEMETRY__SENT_LOG_MARK "=== sent "

/* Appends s[0..n) to out with the value of every secret-bearing parameter (auth=, token=,
   sentry_key=, ...) replaced by "***": the log is for reading, not a second copy of a token. */
TELEMETRY__INTERNAL void telemetry__mask_secrets(telemetry__buf *out, const char *s, size_t n) {
    static const char *const keys[] = { "auth=", "token=", "sentry_key=", "sentry_secret=", "secret=", "password=" };
    size_t i = 0, k;
    while (i < n) {
        int masked = 0;
        int boundary = i == 0 || !((s[i - 1] >= 'a' && s[i - 1] <= 'z') || (s[i - 1] >= 'A' && s[i - 1] <= 'Z') ||
                                   (s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == '_');
        for (k = 0; boundary && k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k]), e;
            if (n - i < kl || memcmp(s + i, keys[k], kl) != 0) continue;
            telemetry__buf_append(out, s + i, kl);
            for (e = i + kl; e < n && !strchr("&\"', \t\r\n#;", s[e]); e++) {}
            if (e > i + kl) telemetry__buf_puts(out, "***");
            i = e;
            masked = 1;
            break;
        }
        if (!masked) telemetry__buf_putc(out, s[i++]);
    }
}

/* One entry: "=== sent <time> <what> <method> <url>" then the payload as sent, then a newline. */
TELEMETRY__INTERNAL void telemetry__sent_log_entry(telemetry__buf *e, int64_t now_ms, const char *what, const char *method,
                                                   const char *url, const char *body, size_t len) {
    char ts[32];
    telemetry__format_time(now_ms, ts);
    telemetry__buf_printf(e, TELEMETRY__SENT_LOG_MARK "%s %s %s ", ts, what, method);
    telemetry__mask_secrets(e, url, strlen(url));
    telemetry__buf_putc(e, '\n');
    telemetry__mask_secrets(e, body, len);
    if (len == 0 || body[len - 1] != '\n') telemetry__buf_putc(e, '\n');
}

/* Where the log may be cut so that old + entry fits in cap: the start of the first whole entry
   at or after the excess. Returns old_len when every old entry must go. */
TELEMETRY__INTERNAL size_t telemetry__sent_log_cut(const char *old, size_t old_len, size_t entry_len, size_t cap) {
    size_t need, i, ml = strlen(TELEMETRY__SENT_LOG_MARK);
    if (old_len + entry_len <= cap) return 0;
    need = old_len + entry_len - cap;
    for (i = need; i < old_len; i++)
        if (old[i - 1] == '\n' && old_len - i >= ml && memcmp(old + i, TELEMETRY__SENT_LOG_MARK, ml) == 0) return i;
    return old_len;
}

/* Adds one delivered payload to the log at path, keeping the file within cap bytes (oldest
   entries dropped). Called by the sender after a 2xx. 0, or TELEMETRY_ERR_IO. */
TELEMETRY__INTERNAL int telemetry__sent_log_append(const char *path, size_t cap, int64_t now_ms, const char *what, const char *method,
                                                   const char *url, const char *body, size_t len) {
    telemetry__buf e, all;
    char *old = NULL;
    size_t old_len = 0, cut;
    int err = 0, rc = 0;
    if (!path || !path[0] || cap == 0) return 0;
    telemetry__buf_init(&e);
    telemetry__sent_log_entry(&e, now_ms, what, method, url, body, len);
    if (e.failed || e.len > cap) { telemetry__buf_free(&e); return e.failed ? TELEMETRY_ERR_NO_MEMORY : 0; }
    if (telemetry__read_file(path, cap + 1, &old, &old_len, &err) != 0) old_len = 0;
    cut = telemetry__sent_log_cut(old ? old : "", old_len, e.len, cap);
    if (!telemetry__size_allowed((uint64_t)old_len + e.len)) rc = TELEMETRY_ERR_IO;   /* ulimit -f */
    else if (cut == 0 && old) {                          /* it fits: a plain append */
        rc = telemetry__append_file(path, e.data, e.len);
    } else {                                             /* new, or the oldest entries go */
        telemetry__buf_init(&all);
        if (old && cut < old_len) telemetry__buf_append(&all, old + cut, old_len - cut);
        telemetry__buf_append(&all, e.data, e.len);
        rc = all.failed ? TELEMETRY_ERR_NO_MEMORY : telemetry__write_file_atomic(path, all.data, all.len, 0);
        telemetry__buf_free(&all);
    }
    telemetry__free(old);
    telemetry__buf_free(&e);
    return rc;
}

/* =============================================================================================
   >>consent: environment, the app's config file, the consent file, opt-in mode
   ============================================================================================= */

/* Surrounding spaces and tabs (and a line's \r) removed: the trimmed length. */
TELEMETRY__INTERNAL size_t telemetry__trim(const char **s, size_t n) {
    while (n && (**s == ' ' || **s == '\t')) { (*s)++; n--; }
    while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\r' || (*s)[n - 1] == '\n')) n--;
    return n;
}
TELEMETRY__INTERNAL int telemetry__word_in(const char *s, size_t n, const char *const *words) {
    int i;
    for (i = 0; words[i]; i++) if (strlen(words[i]) == n && telemetry__strnieq(s, words[i], n)) return 1;
    return 0;
}

/* An environment variable's explicit false, exactly as documented: empty, 0, false, no, off (any
   case, surrounding spaces ignored). Every other value is a yes. */
TELEMETRY__INTERNAL int telemetry__is_false_word(const char *s, size_t n) {
    static const char *const words[] = { "0", "false", "no", "off", NULL };
    n = telemetry__trim(&s, n);
    return n == 0 || telemetry__word_in(s, n, words);
}

/* An environment variable that is set to anything but an explicit false says "opt out". */
TELEMETRY__INTERNAL int telemetry__env_says_off(const char *name) {
    const char *v = getenv(name);
    return v != NULL && !telemetry__is_false_word(v, strlen(v));
}
TELEMETRY__INTERNAL int telemetry__env_true(const char *name) { return telemetry__env_says_off(name); }

/* "<APP>_NO_TELEMETRY": the app name upper-cased, every other character as '_'. */
TELEMETRY__INTERNAL void telemetry__app_env_name(const char *app, char *out, size_t cap) {
    size_t i = 0;
    for (; *app && i + 14 < cap; app++) {
        char c = *app;
        out[i++] = (char)((c >= 'a' && c <= 'z') ? c - 32 : ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_');
    }
    memcpy(out + i, "_NO_TELEMETRY", 14);
}

/* ---- the app's config file: scanned line by line, whatever its size, in one pass ----------
   Lines are `key = value`, `key: value` or `key=value` (INI, TOML, YAML-style), with blank lines,
   comment lines (# or ;), trailing comments after a blank, quotes and indentation ignored; CRLF
   and a UTF-8 byte order mark are fine; a NUL byte is an ordinary byte. A [section] (or
   [[section]]) header starts a section. The key counts at the top level (before any section)
   and in the section the app names (cfg.config_section); there the last assignment wins, as it
   does for the parsers of those formats. In any other section (a plugin's own setting) it never
   turns telemetry on nor gives consent, but a false value there still turns it off, to be safe.
   UTF-16 and UTF-32 text is refused (unreadable: off). */
#define TELEMETRY__CFG_LINE 4096
typedef struct telemetry__cfgscan {
    const char *key, *section;      /* section NULL: only the top level is the app's */
    size_t klen;
    int where;                      /* 0 top level, 1 the app's section, 2 another section */
    int verdict;                    /* the app's: -1 false, 1 true, 0 not set */
    int other_false;                /* a false value in another section */
    int not_text;                   /* UTF-16 or UTF-32 */
    size_t bytes;                   /* seen so far */
    size_t n;                       /* bytes in line */
    int too_long;                   /* the current line passed TELEMETRY__CFG_LINE: ignored */
    unsigned char head[3];          /* the file's first bytes */
    char word[24];                  /* the value that decided, for the status sentence */
    char other_word[24];            /* the false value in another section, and that section */
    char other_section[64];
    char line[TELEMETRY__CFG_LINE];
} telemetry__cfgscan;

TELEMETRY__INTERNAL void telemetry__cfg_begin(telemetry__cfgscan *s, const char *key, const char *section) {
    memset(s, 0, sizeof *s);
    s->key = key;
    s->klen = strlen(key);
    s->section = section && section[0] ? section : NULL;
}

/* A config value: -1 false (false, off, no, 0, disabled), 1 true (true, on, yes, 1, enabled), or
   0 for anything else (any case). */
TELEMETRY__INTERNAL int telemetry__cfg_word(const char *v, size_t n) {
    static const char *const no[] = { "false", "off", "no", "0", "disabled", NULL };
    static const char *const yes[] = { "true", "on", "yes", "1", "enabled", NULL };
    return telemetry__word_in(v, n, no) ? -1 : telemetry__word_in(v, n, yes) ? 1 : 0;
}

TELEMETRY__INTERNAL void telemetry__cfg_line(telemetry__cfgscan *s, const char *p, const char *end) {
    const char *v, *ve;
    int w;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p < end && *p == '[') {                                        /* [section] or [[section]] */
        const char *name = p + 1, *ne;
        if (name < end && *name == '[') name++;
        for (ne = name; ne < end && *ne != ']'; ne++) {}
        if (ne == end) return;                                         /* not a header: a YAML list */
        while (name < ne && (*name == ' ' || *name == '\t' || *name == '"' || *name == '\'')) name++;
        while (ne > name && (ne[-1] == ' ' || ne[-1] == '\t' || ne[-1] == '"' || ne[-1] == '\'')) ne--;
        s->where = s->section && strlen(s->section) == (size_t)(ne - name) && telemetry__strnieq(name, s->section, (size_t)(ne - name)) ? 1 : 2;
        if (s->where == 2) {
            size_t k = (size_t)(ne - name) < sizeof s->other_section - 1 ? (size_t)(ne - name) : sizeof s->other_section - 1;
            if (!s->other_false) { memcpy(s->other_section, name, k); s->other_section[k] = 0; }
        }
        return;
    }
    if (p < end && (*p == '"' || *p == '\'') && (size_t)(end - p) > s->klen + 1 && p[s->klen + 1] == *p &&
        telemetry__strnieq(p + 1, s->key, s->klen)) p += 1;           /* "key": value (quoted key) */
    if ((size_t)(end - p) <= s->klen || !telemetry__strnieq(p, s->key, s->klen)) return;
    v = p + s->klen;
    if (*v == '"' || *v == '\'') v++;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    if (v >= end || (*v != '=' && *v != ':')) return;
    v++;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    ve = v;
    while (ve < end && !((*ve == '#' || *ve == ';') && (ve == v || ve[-1] == ' ' || ve[-1] == '\t'))) ve++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r' || ve[-1] == ',')) ve--;
    if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) { v++; ve--; }
    w = telemetry__cfg_word(v, (size_t)(ve - v));
    if (w == 0) return;
    if (s->where == 2) {
        if (w < 0 && !s->other_false) {
            s->other_false = 1;
            memcpy(s->other_word, v, (size_t)(ve - v));                /* a listed word: short */
            s->other_word[ve - v] = 0;
        }
        return;
    }
    s->verdict = w;
    memcpy(s->word, v, (size_t)(ve - v));                              /* a listed word: short */
    s->word[ve - v] = 0;
}

/* Feeds the next len bytes of the file. */
TELEMETRY__INTERNAL void telemetry__cfg_feed(telemetry__cfgscan *s, const char *data, size_t len) {
    size_t i;
    for (i = 0; i < len && !s->not_text; i++) {
        char c = data[i];
        size_t at = s->bytes++;
        if (at < 3) {                          /* the first bytes tell UTF-16 and UTF-32 apart */
            unsigned char *h = s->head;
            h[at] = (unsigned char)c;
            if (at == 1 && ((h[0] == 0xff && h[1] == 0xfe) || (h[0] == 0xfe && h[1] == 0xff) || h[0] == 0 || h[1] == 0)) {
                s->not_text = 1;               /* a byte order mark, or ASCII text as UTF-16 */
                break;
            }
            if (at == 2 && h[0] == 0xef && h[1] == 0xbb && h[2] == 0xbf && s->n == 2) { s->n = 0; continue; }   /* UTF-8 BOM */
        }
        if (c == '\n') {
            if (!s->too_long) telemetry__cfg_line(s, s->line, s->line + s->n);
            s->n = 0; s->too_long = 0;
        } else if (s->n < sizeof s->line) {
            s->line[s->n++] = c;
        } else {
            s->too_long = 1;                   /* no key line is this long: skipped */
        }
    }
}

/* The verdict: -1 false (off), 1 true, 0 not set, -2 not text (UTF-16/32: unreadable). */
TELEMETRY__INTERNAL int telemetry__cfg_end(telemetry__cfgscan *s) {
    if (s->not_text) return -2;
    if (s->n && !s->too_long) telemetry__cfg_line(s, s->line, s->line + s->n);
    s->n = 0;
    if (s->other_false) return -1;
    return s->verdict;
}

/* The whole scan over text in memory (the fuzz target's entry). */
TELEMETRY__INTERNAL int telemetry__config_text_says(const char *text, size_t len, const char *key, const char *section) {
    telemetry__cfgscan *s = (telemetry__cfgscan *)telemetry__malloc(sizeof *s);
    int verdict;
    if (!s) return -2;
    telemetry__cfg_begin(s, key, section);
    telemetry__cfg_feed(s, text, len);
    verdict = telemetry__cfg_end(s);
    telemetry__free(s);
    return verdict;
}

typedef enum telemetry__source {
    TELEMETRY__SOURCE_DEFAULT = 0,      /* nothing said no: on in opt-out mode */
    TELEMETRY__SOURCE_DO_NOT_TRACK,
    TELEMETRY__SOURCE_APP_ENV,
    TELEMETRY__SOURCE_CONFIG_FILE,
    TELEMETRY__SOURCE_CONFIG_UNREADABLE,
    TELEMETRY__SOURCE_STATE_UNSAFE,     /* the state folder is not the user's own: off */
    TELEMETRY__SOURCE_REVOKED,
    TELEMETRY__SOURCE_NO_OPT_IN,
    TELEMETRY__SOURCE_CONFIG_GIVEN,     /* opt-in mode, the key is true in the app's config: on */
    TELEMETRY__SOURCE_GIVEN             /* telemetry_set_consent(1), now or in an earlier run: on */
} telemetry__source;

/* =============================================================================================
   >>state: the per-app state folder and the anonymous install id
   ============================================================================================= */

/* path made absolute in place, from the current folder: the sidecar runs in "/", and a program
   may change folder later. -1 when the result does not fit in cap (path is then unchanged). */
TELEMETRY__INTERNAL int telemetry__make_absolute(char *path, size_t cap) {
#if defined(_WIN32) || defined(TELEMETRY_NO_FILES)
    (void)path; (void)cap;                /* no sidecar there: the thread shares the folder */
#else
    char cwd[1024];
    size_t n, len = strlen(path);
    if (!len || path[0] == '/') return 0;
    if (!getcwd(cwd, sizeof cwd)) return -1;
    n = strlen(cwd);
    if (n + 1 + len + 1 > cap) return -1;
    memmove(path + n + 1, path, len + 1);
    memcpy(path, cwd, n);
    path[n] = '/';
#endif
    return 0;
}

/* A copy of path made absolute (the sidecar reads ca_file from "/"); as given when it does not fit. */
TELEMETRY__INTERNAL char *telemetry__strdup_absolute(const char *path) {
    char full[2048];
    if (!path || telemetry__copy(full, sizeof full, path) != 0 || telemetry__make_absolute(full, sizeof full) != 0)
        return telemetry__strdup(path);
    return telemetry__strdup(full);
}

/* The platform's per-user state folder for app, or "" when there is none (no HOME). -1 when
   the path does not fit in cap (never cut short: that would be another folder). */
TELEMETRY__INTERNAL int telemetry__default_state_dir(const char *app, char *out, size_t cap) {
    const char *base;
    int n = 0;
#if defined(_WIN32)
    char env[1024];
#endif
    out[0] = 0;
#if defined(_WIN32)
    /* %LOCALAPPDATA%: what SHGetKnownFolderPath(FOLDERID_LocalAppData) gives, without linking
       shell32 and ole32 for it; read wide (a profile folder outside the ANSI code page) */
    base = telemetry__getenv_utf8(L"LOCALAPPDATA", env, sizeof env);
    if (base) n = snprintf(out, cap, "%s\\%s", base, app);
#elif defined(__APPLE__)
    base = getenv("HOME");
    if (base && *base) n = snprintf(out, cap, "%s/Library/Application Support/%s", base, app);
#else
    base = getenv("XDG_STATE_HOME");
    if (base && base[0] == '/') n = snprintf(out, cap, "%s/%s", base, app);
    else if ((base = getenv("HOME")) != NULL && *base) n = snprintf(out, cap, "%s/.local/state/%s", base, app);
#endif
    if (n < 0 || (size_t)n >= cap) { out[0] = 0; return -1; }
    return 0;
}

TELEMETRY__INTERNAL int telemetry__is_hex_id(const char *s) {
    int i;
    for (i = 0; i < 32; i++) if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return s[32] == 0 || s[32] == '\n' || s[32] == '\r';
}

TELEMETRY__INTERNAL void telemetry__hex(const unsigned char *in, size_t n, char *out) {
    size_t i;
    for (i = 0; i < n; i++) { out[2 * i] = "0123456789abcdef"[in[i] >> 4]; out[2 * i + 1] = "0123456789abcdef"[in[i] & 15]; }
    out[2 * n] = 0;
}

/* What the library knows about the OS, read once at init. */
typedef struct telemetry__osinfo {
    char kernel[128];            /* uname release */
    char distro_id[64], distro_version[64], distro_pretty[128], distribution[140];
} telemetry__osinfo;

/* A release health session (protocols.md section 4): one per run. */
typedef struct telemetry__session {
    char sid[33];
    char did[33];
    char release[256];
    char environment[65];
    char status[12];            /* ok, exited, crashed, abnormal */
    int64_t started_ms, updated_ms;
    int64_t errors;
    int init_pending;           /* the first transmission is still to come: it says init:true */
} telemetry__session;

/* Sentry rate-limit categories that this library sends. */
enum { TELEMETRY__RL_ALL, TELEMETRY__RL_ERROR, TELEMETRY__RL_SESSION, TELEMETRY__RL_INTERNAL, TELEMETRY__RL_COUNT };

/* The library's state: one per process, guarded by telemetry__state_lock. */
typedef struct telemetry__state {
    int initialized;
    int enabled;
    telemetry__source source;       /* which consent source decided */
    int debug;                      /* TELEMETRY_DEBUG: print payloads instead of sending */
    char *app_name, *app_version, *environment, *dist, *config_file, *config_key, *config_section;
    char *ca_file, *ca_pem, *usage_url_text, *dsn_text;
    char release[256];
    char state_dir[1024];           /* "" when there is none: memory only */
    char config_problem[300];       /* why the config file could not be read, for the disclosure */
    char config_notes[700];         /* endpoints refused as invalid (issue lines), for the disclosure */
    const char *state_refused;      /* why the state folder is not used (telemetry is then off) */
    int consent;                    /* the recorded telemetry_set_consent: 1 given, -1 revoked, 0 none */
    int started;                    /* what an enabled run opens is open (telemetry__switch_on) */
    telemetry_config config;        /* the program's config as given (its scalars and callbacks) */
    telemetry__url usage;
    int has_usage;
    telemetry__dsn dsn;
    int has_dsn;
    int opt_in;
    int session_consent;            /* telemetry_set_consent in this run: 1 given, -1 revoked */
    char install_id[33];            /* "" until the first enabled run creates it */
    int first_run;
    unsigned timeout_ms, shutdown_timeout_ms;
    int no_crash_handler;
    const telemetry_io *io;
    int (*entropy_fn)(void *, void *, size_t);
    int64_t (*clock_fn)(void *);
    void *platform_user_data;
    int64_t started_ms;
    int64_t push_last_ms;           /* Firebase push ids made in the same millisecond count up */
    unsigned char push_last_rand[12];
    telemetry__osinfo os;
    telemetry__session session;     /* this run's */
    int has_session;
    /* what the end user is told and can decide (>>enduser) */
    char *notice, *purpose, *privacy_url, *opt_out_command;
    int no_notice, no_sessions;
    size_t sent_log_cap;            /* 0: no sent.log */
    unsigned report_interval_s;
    int activated;                  /* the run's first capture, report or count happened */
    int session_prefilled;          /* session holds this run's, made at init in memory, for a crash before any work */
    int hold;                       /* this run sends nothing: the notice had not been shown before it */

} telemetry__state;

TELEMETRY__DEF telemetry__state telemetry__st;
TELEMETRY__DEF telemetry__mutex telemetry__state_lock = TELEMETRY__MUTEX_INIT;

/* Whether this run may send (>>enduser: the run did its first work, and the first-run notice
   had been shown before it): the sender's hooks ask this before starting. Lock held. */
TELEMETRY__INTERNAL int telemetry__may_send_this_run(void) {
    return telemetry__st.activated && !telemetry__st.hold;
}

TELEMETRY__INTERNAL int64_t telemetry__now_ms(void) {
    return telemetry__st.clock_fn ? telemetry__st.clock_fn(telemetry__st.platform_user_data) : telemetry__system_time_ms();
}
TELEMETRY__INTERNAL int telemetry__random(void *buf, size_t len) {
    if (telemetry__st.entropy_fn) return telemetry__st.entropy_fn(telemetry__st.platform_user_data, buf, len) == 0 ? 0 : TELEMETRY_ERR_ENTROPY;
    return telemetry__os_entropy(buf, len) == 0 ? 0 : TELEMETRY_ERR_ENTROPY;
}
/* 128 random bits as 32 lowercase hex digits (install ids, event ids, session ids). */
TELEMETRY__INTERNAL int telemetry__random_id(char out[33]) {
    unsigned char b[16];
    int rc = telemetry__random(b, sizeof b);
    if (rc) { out[0] = 0; return rc; }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);  /* a valid UUID v4 in its 32-hex form */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    telemetry__hex(b, 16, out);
    return 0;
}

TELEMETRY__INTERNAL void telemetry__state_path(const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s" TELEMETRY__SEP "%s", telemetry__st.state_dir, name);
}

/* ---- the files in the state folder, each reached through the checked folder fd (see >>files).
   For the parts that own other files in the state folder (the outbox, the session): read, write
   atomically, remove, by name. A folder that is not the user's own is never used. ------------ */
TELEMETRY__INTERNAL int telemetry__state_read(const char *name, size_t max, char **out, size_t *len, int *err) {
#if defined(_WIN32) || defined(TELEMETRY_NO_FILES)
    char path[1100];
    telemetry__state_path(name, path, sizeof path);
    return telemetry__read_file(path, max, out, len, err);
#else
    const char *why;
    int rc, dirfd;
    *out = NULL; *err = ENOENT;
    if (!telemetry__st.state_dir[0] || (dirfd = telemetry__dir_open(telemetry__st.state_dir, 0, &why)) < 0) return TELEMETRY_ERR_IO;
    rc = telemetry__dir_read(dirfd, name, max, out, len, err);
    close(dirfd);
    return rc;
#endif
}
/* Creates the state folder when it is missing. */
TELEMETRY__INTERNAL int telemetry__state_write(const char *name, const void *data, size_t len, int durable) {
#if defined(_WIN32) || defined(TELEMETRY_NO_FILES)
    char path[1100];
    telemetry__state_path(name, path, sizeof path);
    if (telemetry__mkdirs(telemetry__st.state_dir) != 0) return TELEMETRY_ERR_IO;
    return telemetry__write_file_atomic(path, data, len, durable);
#else
    const char *why;
    int rc, dirfd;
    if (!telemetry__st.state_dir[0] || (dirfd = telemetry__dir_open(telemetry__st.state_dir, 1, &why)) < 0) return TELEMETRY_ERR_IO;
    rc = telemetry__write_atomic_at(dirfd, name, data, len, durable);
    close(dirfd);
    return rc;
#endif
}
TELEMETRY__INTERNAL void telemetry__state_remove(const char *name) {
#if defined(_WIN32) || defined(TELEMETRY_NO_FILES)
    char path[1100];
    telemetry__state_path(name, path, sizeof path);
    telemetry__remove_file(path);
#else
    const char *why;
    int dirfd;
    if (!telemetry__st.state_dir[0] || (dirfd = telemetry__dir_open(telemetry__st.state_dir, 0, &why)) < 0) return;
    telemetry__dir_unlink(dirfd, name);
    close(dirfd);
#endif
}

#if defined(_WIN32) && !defined(TELEMETRY_NO_FILES)
#  if defined(_MSC_VER)
#    pragma comment(lib, "advapi32.lib")         /* mingw-w64 links it by default */
#  endif
/* The same verdict on Windows, by path (the library reaches its files by path there): a real
   folder, not a link (a reparse point: symlink or junction), owned by this process's user or by
   the owner its new files get (TokenOwner: Administrators when elevated). A file system without
   owners (FAT) passes. Who else may write to it (the ACL) is not checked. */
TELEMETRY__INTERNAL const char *telemetry__win_state_check(const char *dir) {
    wchar_t w[TELEMETRY__WPATH];
    union { SECURITY_DESCRIPTOR sd; char b[1024]; } sd;
    union { TOKEN_USER user; TOKEN_OWNER owner; char b[512]; } tok;
    PSID owner = NULL;
    BOOL defaulted;
    DWORD attrs, n;
    HANDLE token;
    int mine = 0;
    if (telemetry__wpath(dir, w) != 0) return "it cannot be opened";
    attrs = GetFileAttributesW(w);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? NULL : "it cannot be opened";
    }
    if (!(attrs & FILE_ATTRIBUTE_DIRECTORY)) return "it is not a folder";
    if (attrs & FILE_ATTRIBUTE_REPARSE_POINT) return "it is a link";
    if (!GetFileSecurityW(w, OWNER_SECURITY_INFORMATION, &sd.sd, (DWORD)sizeof sd, &n) || !GetSecurityDescriptorOwner(&sd.sd, &owner, &defaulted))
        return "its owner cannot be read";
    if (!owner) return NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return "its owner cannot be read";
    if (GetTokenInformation(token, TokenUser, &tok, (DWORD)sizeof tok, &n) && EqualSid(owner, tok.user.User.Sid)) mine = 1;
    if (!mine && GetTokenInformation(token, TokenOwner, &tok, (DWORD)sizeof tok, &n) && EqualSid(owner, tok.owner.Owner)) mine = 1;
    CloseHandle(token);
    return mine ? NULL : "it belongs to another user";
}
#endif

/* The state folder's verdict: NULL when it may be used (or does not exist yet), else why not. */
TELEMETRY__INTERNAL const char *telemetry__state_check(void) {
#if defined(TELEMETRY_NO_FILES)
    return NULL;
#elif defined(_WIN32)
    return telemetry__st.state_dir[0] ? telemetry__win_state_check(telemetry__st.state_dir) : NULL;
#else
    const char *why = NULL;
    int dirfd;
    if (!telemetry__st.state_dir[0]) return NULL;
    dirfd = telemetry__dir_open(telemetry__st.state_dir, 0, &why);
    if (dirfd >= 0) { close(dirfd); return NULL; }
    return strcmp(why, "missing") == 0 ? NULL : why;
#endif
}

/* Reads the consent file: 1 given, -1 revoked, 0 no decision. Reading never creates anything. */
TELEMETRY__INTERNAL int telemetry__read_consent_file(void) {
    char *text = NULL;
    int err, verdict = 0;
    if (telemetry__state_read("consent", 256, &text, NULL, &err) != 0) return 0;
    if (strncmp(text, "given", 5) == 0) verdict = 1;
    else if (strncmp(text, "revoked", 7) == 0) verdict = -1;
    telemetry__free(text);
    return verdict;
}

/* Reads the app's config file through the scanner, whatever its size up to 16 MiB, in chunks.
   -1 false, 1 true, 0 no opinion (or no file), -2 unreadable (config_problem says why). */
#define TELEMETRY__CONFIG_MAX ((size_t)16 << 20)
TELEMETRY__INTERNAL int telemetry__read_config(telemetry__cfgscan *s) {
    char chunk[8192];
    const char *path = telemetry__st.config_file, *problem = NULL;
    size_t total = 0;
    long n = 0;
    int err = 0, fd = telemetry__open_read_at(TELEMETRY__CWD, path, 0, &err), verdict;
    if (fd < 0 && err == ENOENT) return 0;                       /* no file: the normal case */
    if (fd >= 0) {
        while (total <= TELEMETRY__CONFIG_MAX && (n = telemetry__read_some(fd, chunk, sizeof chunk)) > 0) {
            total += (size_t)n;
            telemetry__cfg_feed(s, chunk, (size_t)n);
        }
        if (n < 0) err = errno ? errno : EIO;
        telemetry__close_fd(fd);
    }
    verdict = telemetry__cfg_end(s);
    if (fd < 0 || n < 0) problem = telemetry__err_text(err);
    else if (total > TELEMETRY__CONFIG_MAX) problem = "larger than 16 MiB";
    else if (verdict == -2) problem = "not UTF-8 text (UTF-16 or UTF-32)";
    if (!problem) return verdict;
    snprintf(telemetry__st.config_problem, sizeof telemetry__st.config_problem, "%s could not be read (%s)", path, problem);
    return -2;
}

/* The value of an environment variable as a status sentence may show it: printable, short. */
TELEMETRY__INTERNAL void telemetry__shown_value(const char *v, char *out, size_t cap) {
    size_t i, o = 0;
    for (i = 0; v[i] && o + 4 < cap && i < 32; i++) out[o++] = (v[i] >= 0x20 && v[i] < 0x7F) ? v[i] : '?';
    if (v[i] && o + 4 < cap) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = 0;
}

/* The one sentence on what decided the current state (telemetry_status_reason); empty until
   init decides (zeroed, so that 1.4 KB lies in .bss, not in the program file). */
TELEMETRY__DEF char telemetry__reason[1400];
TELEMETRY__INTERNAL const char *telemetry__reason_text(void) {
    return telemetry__reason[0] ? telemetry__reason : "telemetry_init was not called";
}

/* Every consent source, in the documented order; the first that says no decides, and
   telemetry__reason says which. */
TELEMETRY__INTERNAL void telemetry__decide(void) {
    char env_name[128], value[40];
    const char *cf = telemetry__st.config_file, *key = telemetry__st.config_key;
    int file_says = 0, consent;
    telemetry__cfgscan *cs = NULL;
    telemetry__st.config_problem[0] = 0;
    if (cf) {
        cs = (telemetry__cfgscan *)telemetry__malloc(sizeof *cs);
        if (!cs) {
            snprintf(telemetry__st.config_problem, sizeof telemetry__st.config_problem, "%s could not be read (out of memory)", cf);
            file_says = -2;
        } else {
            telemetry__cfg_begin(cs, key, telemetry__st.config_section);
            file_says = telemetry__read_config(cs);
        }
    }
    /* the state folder is checked before anything in it is believed */
    telemetry__st.state_refused = telemetry__state_check();
    consent = telemetry__st.state_refused ? 0 : telemetry__read_consent_file();
    if (telemetry__st.session_consent) consent = telemetry__st.session_consent;
    telemetry__st.consent = consent;
    telemetry__app_env_name(telemetry__st.app_name, env_name, sizeof env_name);
    if (telemetry__env_says_off("DO_NOT_TRACK")) {
        telemetry__st.source = TELEMETRY__SOURCE_DO_NOT_TRACK;
        telemetry__shown_value(getenv("DO_NOT_TRACK"), value, sizeof value);
        snprintf(telemetry__reason, sizeof telemetry__reason, "DO_NOT_TRACK=%s in the environment", value);
    } else if (telemetry__env_says_off(env_name)) {
        telemetry__st.source = TELEMETRY__SOURCE_APP_ENV;
        telemetry__shown_value(getenv(env_name), value, sizeof value);
        snprintf(telemetry__reason, sizeof telemetry__reason, "%s=%s in the environment", env_name, value);
    } else if (file_says == -1) {
        telemetry__st.source = TELEMETRY__SOURCE_CONFIG_FILE;
        if (cs->verdict == -1) snprintf(telemetry__reason, sizeof telemetry__reason, "%s = %s in %s", key, cs->word, cf);
        else snprintf(telemetry__reason, sizeof telemetry__reason, "%s = %s in [%s] of %s", key, cs->other_word, cs->other_section, cf);
    } else if (file_says == -2) {
        telemetry__st.source = TELEMETRY__SOURCE_CONFIG_UNREADABLE;
        snprintf(telemetry__reason, sizeof telemetry__reason, "the config file %s: off to be safe", telemetry__st.config_problem);
    } else if (telemetry__st.state_refused) {
        telemetry__st.source = TELEMETRY__SOURCE_STATE_UNSAFE;
        snprintf(telemetry__reason, sizeof telemetry__reason, "the state folder %s is not used because %s: off to be safe",
                 telemetry__st.state_dir, telemetry__st.state_refused);
    } else if (consent < 0) {
        telemetry__st.source = TELEMETRY__SOURCE_REVOKED;
        snprintf(telemetry__reason, sizeof telemetry__reason, "consent was revoked with telemetry_set_consent(0)%s",
                 telemetry__st.session_consent ? "" : " (recorded in the state folder)");
    } else if (consent > 0) {
        telemetry__st.source = TELEMETRY__SOURCE_GIVEN;
        snprintf(telemetry__reason, sizeof telemetry__reason, "consent was given with telemetry_set_consent(1)%s",
                 telemetry__st.session_consent ? "" : " (recorded in the state folder)");
    } else if (telemetry__st.opt_in && file_says == 1) {
        telemetry__st.source = TELEMETRY__SOURCE_CONFIG_GIVEN;
        snprintf(telemetry__reason, sizeof telemetry__reason, "consent was given in %s (%s = %s)", cf, key, cs->word);
    } else if (telemetry__st.opt_in) {
        telemetry__st.source = TELEMETRY__SOURCE_NO_OPT_IN;
        snprintf(telemetry__reason, sizeof telemetry__reason, "this program asks before it collects anything, and consent was not given");
    } else {
        telemetry__st.source = TELEMETRY__SOURCE_DEFAULT;
        snprintf(telemetry__reason, sizeof telemetry__reason, "no opt-out is set");
    }
    telemetry__st.enabled = telemetry__st.source == TELEMETRY__SOURCE_DEFAULT || telemetry__st.source == TELEMETRY__SOURCE_GIVEN ||
                            telemetry__st.source == TELEMETRY__SOURCE_CONFIG_GIVEN;
    telemetry__free(cs);
}

/* "ON: <reason>" or "OFF: <reason>", for the disclosure and the telemetry command. */
TELEMETRY__INTERNAL void telemetry__source_text(char *out, size_t cap) {
    const char *state = telemetry__st.enabled ? "ON: " : "OFF: ";
    size_t n = strlen(state);
    if (cap <= n) { if (cap) out[0] = 0; return; }
    memcpy(out, state, n);
    telemetry__copy(out + n, cap - n, telemetry__reason_text());
}

/* An opt-out that telemetry_set_consent(1) cannot override (environment, config file, state
   folder); consent itself can. */
TELEMETRY__INTERNAL int telemetry__opted_out_elsewhere(void) {
    return telemetry__st.source >= TELEMETRY__SOURCE_DO_NOT_TRACK && telemetry__st.source <= TELEMETRY__SOURCE_STATE_UNSAFE;
}

/* At init: the install id if one exists, read only (the run's first work makes a missing one),
   so first_run, the disclosure and telemetry_build_usage_report know it without writing. */
TELEMETRY__INTERNAL void telemetry__peek_state(void) {
    char *text = NULL;
    int err;
    telemetry__st.first_run = 1;
    telemetry__st.install_id[0] = 0;
    if (!telemetry__st.state_dir[0]) return;
    if (telemetry__state_read("install_id", 64, &text, NULL, &err) == 0 && telemetry__is_hex_id(text)) {
        memcpy(telemetry__st.install_id, text, 32);
        telemetry__st.install_id[32] = 0;
        telemetry__st.first_run = 0;
    }
    telemetry__free(text);
}

/* Creates the state folder and the install id on an enabled run. Failures leave telemetry on in
   memory-only mode (a fresh id for this run) with a log line: never fatal to the host. */
TELEMETRY__INTERNAL void telemetry__prepare_state(void) {
    char *text = NULL;
    int err;
    telemetry__st.first_run = 0;
    if (telemetry__st.state_dir[0]) {
        if (telemetry__state_read("install_id", 64, &text, NULL, &err) == 0 && telemetry__is_hex_id(text)) {
            memcpy(telemetry__st.install_id, text, 32);
            telemetry__st.install_id[32] = 0;
            telemetry__free(text);
            return;
        }
        if (text) telemetry__log(TELEMETRY_LEVEL_WARNING, "the install id file was damaged; making a new one");
        telemetry__free(text);
    }
    if (telemetry__random_id(telemetry__st.install_id) != 0) {
        telemetry__log(TELEMETRY_LEVEL_ERROR, "no secure random source: no install id");
        return;
    }
    telemetry__st.first_run = 1;
    if (!telemetry__st.state_dir[0]) {
#if defined(TELEMETRY_NO_FILES)
        telemetry__log(TELEMETRY_LEVEL_WARNING, "no cfg.storage: the install id lives in memory only");
#else
        telemetry__log(TELEMETRY_LEVEL_WARNING, "no state folder (HOME is not set): the install id lives in memory only");
#endif
        return;
    }
    if (telemetry__state_write("install_id", telemetry__st.install_id, 32, 1) != 0) {
        telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot write to the state folder %s (%s): memory only",
                       telemetry__st.state_dir, strerror(errno));
    }
}

/* =============================================================================================
   >>builtins: the metrics every usage report carries
   ============================================================================================= */
TELEMETRY__INTERNAL const char *telemetry__os_name(void) {
#if defined(_WIN32)
    return "windows";
#elif defined(__APPLE__)
    return "macos";
#elif defined(__ANDROID__)
    return "android";
#elif defined(__linux__)
    return "linux";
#elif defined(__FreeBSD__)
    return "freebsd";
#elif defined(__OpenBSD__)
    return "openbsd";
#elif defined(__NetBSD__)
    return "netbsd";
#else
    return "unknown";
#endif
}
TELEMETRY__INTERNAL const char *telemetry__arch(void) {
#if defined(__x86_64__) || defined(_M_X64)
    return "x86_64";
#elif defined(__i386__) || defined(_M_IX86)
    return "x86";
#elif defined(__aarch64__) || defined(_M_ARM64)
    return "aarch64";
#elif defined(__arm__) || defined(_M_ARM)
    return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#else
    return "unknown";
#endif
}
/* The kernel's release ("6.1.0-18-amd64"): no host name, which uname also knows. On Windows
   "10.0.19045" from ntdll's RtlGetVersion: GetVersionEx tells a program without a compatibility
   manifest that Windows 8.1 and later are 6.2. */
TELEMETRY__INTERNAL void telemetry__os_version(char *out, size_t cap) {
#if defined(_WIN32)
    typedef LONG (WINAPI *rtl_get_version)(OSVERSIONINFOW *);
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");                  /* in every process */
    rtl_get_version get = nt ? (rtl_get_version)(void (*)(void))GetProcAddress(nt, "RtlGetVersion") : NULL;
    OSVERSIONINFOW v;
    memset(&v, 0, sizeof v);
    v.dwOSVersionInfoSize = sizeof v;
    if (get && get(&v) == 0) snprintf(out, cap, "%lu.%lu.%lu", v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber);
    else telemetry__copy(out, cap, "unknown");
#elif defined(TELEMETRY_NO_SOCKETS)
    telemetry__copy(out, cap, "unknown");       /* the program's own I/O only: no uname either */
#else
    struct utsname u;
    if (uname(&u) == 0) telemetry__copy(out, cap, u.release);
    else telemetry__copy(out, cap, "unknown");
#endif
}
/* ID, VERSION_ID and PRETTY_NAME from /etc/os-release, where there is one (never on Windows: wine
   would serve the Linux host's). */
TELEMETRY__INTERNAL void telemetry__os_release(telemetry__osinfo *os) {
    char *text = NULL;
    int err;
    const char *line;
    if (telemetry__read_file("/etc/os-release", 16384, &text, NULL, &err) != 0) return;
    for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char *dst;
        size_t k = 0, cap;
        const char *v;
        if (strncmp(line, "ID=", 3) == 0) { dst = os->distro_id; cap = sizeof os->distro_id; v = line + 3; }
        else if (strncmp(line, "VERSION_ID=", 11) == 0) { dst = os->distro_version; cap = sizeof os->distro_version; v = line + 11; }
        else if (strncmp(line, "PRETTY_NAME=", 12) == 0) { dst = os->distro_pretty; cap = sizeof os->distro_pretty; v = line + 12; }
        else continue;
        if (*v == '"' || *v == '\'') v++;
        while (*v && *v != '\n' && *v != '"' && *v != '\'' && k + 1 < cap) dst[k++] = *v++;
        dst[k] = 0;
    }
    telemetry__free(text);
}

#if defined(__APPLE__) && !defined(TELEMETRY__NO_OS)
/* <sys/sysctl.h> needs the BSD types that strict POSIX hides on macOS: declared as libSystem has it */
#  ifdef __cplusplus
extern "C"
#  endif
int sysctlbyname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#endif
/* Read once at init: events and reports must not touch the file system. */
TELEMETRY__INTERNAL void telemetry__read_osinfo(telemetry__osinfo *os) {
    memset(os, 0, sizeof *os);
    telemetry__os_version(os->kernel, sizeof os->kernel);
#if defined(__APPLE__) && !defined(TELEMETRY__NO_OS)
    {   /* macOS: the product version ("14.1") is Sentry's os.version, uname's release Darwin's
           kernel_version (untested: no Mac here) */
        size_t n = sizeof os->distro_version;
        if (sysctlbyname("kern.osproductversion", os->distro_version, &n, NULL, 0) != 0 || n == 0) os->distro_version[0] = 0;
        os->distro_version[sizeof os->distro_version - 1] = 0;
        if (os->distro_version[0]) snprintf(os->distribution, sizeof os->distribution, "macos %s", os->distro_version);
    }
#elif !defined(_WIN32)
    telemetry__os_release(os);
#endif
    if (os->distro_id[0])
        snprintf(os->distribution, sizeof os->distribution, os->distro_version[0] ? "%s %s" : "%s", os->distro_id, os->distro_version);
}

/* The name Sentry shows for the os context. */
TELEMETRY__INTERNAL const char *telemetry__os_display_name(void) {
    const char *n = telemetry__os_name();
    if (!strcmp(n, "linux")) return "Linux";
    if (!strcmp(n, "macos")) return "macOS";
    if (!strcmp(n, "windows")) return "Windows";
    if (!strcmp(n, "freebsd")) return "FreeBSD";
    if (!strcmp(n, "openbsd")) return "OpenBSD";
    if (!strcmp(n, "netbsd")) return "NetBSD";
    if (!strcmp(n, "android")) return "Android";
    return n;
}

TELEMETRY__INTERNAL telemetry_value telemetry__m_os(void) { return telemetry_string(telemetry__os_name()); }
TELEMETRY__INTERNAL telemetry_value telemetry__m_os_version(void) { return telemetry_string(telemetry__st.os.kernel); }
TELEMETRY__INTERNAL telemetry_value telemetry__m_os_distribution(void) {
    return telemetry__st.os.distribution[0] ? telemetry_string(telemetry__st.os.distribution) : telemetry_null();
}
TELEMETRY__INTERNAL telemetry_value telemetry__m_arch(void) { return telemetry_string(telemetry__arch()); }
TELEMETRY__INTERNAL telemetry_value telemetry__m_app(void) { return telemetry_string(telemetry__st.app_name); }
TELEMETRY__INTERNAL telemetry_value telemetry__m_app_version(void) { return telemetry_string(telemetry__st.app_version); }
TELEMETRY__INTERNAL telemetry_value telemetry__m_library_version(void) { return telemetry_string(TELEMETRY_VERSION_STRING); }
TELEMETRY__INTERNAL telemetry_value telemetry__m_first_run(void) { return telemetry_bool(telemetry__st.first_run); }

TELEMETRY__DEF telemetry_metric telemetry__builtin_metrics[] = {
    { "app", "Name of this program", telemetry__m_app, NULL, 0 },
    { "app_version", "Version of this program", telemetry__m_app_version, NULL, 0 },
    { "arch", "CPU architecture the program was built for", telemetry__m_arch, NULL, 0 },
    { "first_run", "Whether this is the first run that sent telemetry on this machine", telemetry__m_first_run, NULL, 0 },
    { "library_version", "Version of telemetry.h", telemetry__m_library_version, NULL, 0 },
    { "os", "Operating system name", telemetry__m_os, NULL, 0 },
    { "os_distribution", "Operating system distribution and release, from /etc/os-release", telemetry__m_os_distribution, NULL, 0 },
    { "os_version", "Operating system kernel release", telemetry__m_os_version, NULL, 0 }
};

TELEMETRY__INTERNAL void telemetry__register_builtins(void) {
    size_t i;
    for (i = 0; i < sizeof telemetry__builtin_metrics / sizeof telemetry__builtin_metrics[0]; i++)
        telemetry_register_metric(&telemetry__builtin_metrics[i]);
}

/* =============================================================================================
   >>firebase: push ids and write targets for the Firebase Realtime Database (protocols.md 6)
   ============================================================================================= */
static const char telemetry__push_chars[] = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/* 8 characters of millisecond time, then 12 random ones; within one millisecond the random part
   counts up, so ids sort in the order they were made. */
TELEMETRY__INTERNAL void telemetry__push_id(int64_t ms, const unsigned char random12[12], int64_t *last_ms,
                                           unsigned char last_rand[12], char out[21]) {
    int i;
    int64_t t = ms < 0 ? 0 : ms;
    for (i = 7; i >= 0; i--) { out[i] = telemetry__push_chars[t % 64]; t /= 64; }
    if (ms == *last_ms) {
        for (i = 11; i >= 0 && last_rand[i] == 63; i--) last_rand[i] = 0;
        if (i >= 0) last_rand[i]++;
    } else {
        for (i = 0; i < 12; i++) last_rand[i] = (unsigned char)(random12[i] & 63);
        *last_ms = ms;
    }
    for (i = 0; i < 12; i++) out[8 + i] = telemetry__push_chars[last_rand[i]];
    out[20] = 0;
}

/* A usage_url whose path ends in ".json" is the Firebase REST API: reports are PUT to
   <path>/<push id>.json?<query>&print=silent, so a retried report can never be stored twice. */
TELEMETRY__INTERNAL int telemetry__is_firebase(const telemetry__url *u) {
    size_t n = strcspn(u->target, "?");
    return n >= 5 && strncmp(u->target + n - 5, ".json", 5) == 0;
}
TELEMETRY__INTERNAL char *telemetry__firebase_target(const telemetry__url *u, const char *push_id) {
    telemetry__buf b;
    size_t n = strcspn(u->target, "?");
    const char *query = u->target + n;
    size_t base = n - 5;
    telemetry__buf_init(&b);
    while (base > 0 && u->target[base - 1] == '/') base--;        /* "/usage/.json" is tolerated */
    telemetry__buf_append(&b, u->target, base);
    telemetry__buf_printf(&b, "/%s.json", push_id);
    if (*query) { telemetry__buf_puts(&b, query); telemetry__buf_puts(&b, "&print=silent"); }
    else telemetry__buf_puts(&b, "?print=silent");
    return b.failed ? (telemetry__buf_free(&b), (char *)NULL) : b.data;
}

/* Create-only rules (docs/firebase.rules.json) answer a second PUT to a stored record with 401
   "Permission denied". When an earlier try of the same report may have reached the server (no
   answer came back, or an earlier run sent it before it ended), that refusal says the record is
   already stored: the report is delivered, not refused. A first try refused is still refused. */
TELEMETRY__INTERNAL int telemetry__firebase_already_stored(int status, int maybe_stored) {
    return maybe_stored && (status == 401 || status == 403);
}

/* Formats a message for an event: at most TELEMETRY__MESSAGE_MAX bytes, marked when cut. */
TELEMETRY__INTERNAL void telemetry__vformat_message(char *out, size_t cap, const char *fmt, va_list ap) {
    int n = vsnprintf(out, cap, fmt ? fmt : "", ap);
    if (n < 0) { telemetry__copy(out, cap, "(unformattable message)"); return; }
    if ((size_t)n >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);   /* marked as truncated */
}

/* =============================================================================================
   >>report: the usage report document
   ============================================================================================= */

/* {"app":...,"version":...,"library":...,"install_id":...,"timestamp":...,
    "metrics":{...},"counters":{...}}. take_counters resets the counters it reports. */
TELEMETRY__INTERNAL int telemetry__usage_report(telemetry__buf *out, int take_counters, int64_t dropped_reports) {
    telemetry__json j;
    telemetry_metric *m;
    char ts[32];
    telemetry__json_init(&j, out);
    telemetry__format_time(telemetry__now_ms(), ts);
    telemetry__json_object_begin(&j);
    telemetry__json_key(&j, "app"); telemetry__json_string(&j, telemetry__st.app_name);
    telemetry__json_key(&j, "version"); telemetry__json_string(&j, telemetry__st.app_version);
    telemetry__json_key(&j, "library"); telemetry__json_string(&j, TELEMETRY_VERSION_STRING);
    telemetry__json_key(&j, "install_id");
    if (telemetry__st.install_id[0]) telemetry__json_string(&j, telemetry__st.install_id);
    else telemetry__json_null(&j);
    telemetry__json_key(&j, "timestamp"); telemetry__json_string(&j, ts);
    if (telemetry__st.has_usage && telemetry__is_firebase(&telemetry__st.usage)) {
        telemetry__json_key(&j, "server_time");             /* Firebase fills in its own clock */
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, ".sv"); telemetry__json_string(&j, "timestamp");
        telemetry__json_object_end(&j);
    }
    telemetry__json_key(&j, "metrics");
    telemetry__json_object_begin(&j);
    telemetry__lock(&telemetry__registry_lock);
    for (m = telemetry__metrics; m; m = m->next) {
        telemetry__json_key(&j, m->id);
        telemetry__metric_json(&j, m);
    }
    telemetry__unlock(&telemetry__registry_lock);
    telemetry__json_object_end(&j);
    telemetry__json_key(&j, "counters");
    telemetry__counters_json(&j, take_counters);
    if (dropped_reports > 0) {                          /* reports lost to full queues since */
        telemetry__json_key(&j, "dropped_reports");
        telemetry__json_int(&j, dropped_reports);
    }
    telemetry__json_object_end(&j);
    return telemetry__json_finish(&j);
}

/* =============================================================================================
   >>stack: the caller's stack and the modules its frames fall in (for Sentry symbolication)
   ============================================================================================= */
#if !defined(_WIN32) && (defined(__GNUC__) || defined(__clang__))
#  include <unwind.h>
#  define TELEMETRY__HAVE_UNWIND 1
#endif
#if (defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || defined(__ANDROID__)) && \
    !defined(TELEMETRY__NO_OS)
#  include <link.h>
#  define TELEMETRY__HAVE_PHDR 1
#endif
#if defined(__APPLE__) && !defined(TELEMETRY__NO_OS)
#  include <mach-o/dyld.h>
#  include <mach-o/loader.h>
#  define TELEMETRY__HAVE_DYLD 1                   /* the image list from dyld (untested: no Mac) */
#endif
#ifndef TELEMETRY_MAX_FRAMES
#  define TELEMETRY_MAX_FRAMES 64
#endif

typedef struct telemetry__stack {
    uintptr_t addr[TELEMETRY_MAX_FRAMES];    /* innermost first, as the unwinder finds them */
    int count;
    unsigned long long loads;                /* the loader's load count then (telemetry__module_adds) */
} telemetry__stack;

#if defined(TELEMETRY__HAVE_UNWIND)
typedef struct telemetry__unwind_state { telemetry__stack *stack; uintptr_t from; } telemetry__unwind_state;
TELEMETRY__INTERNAL _Unwind_Reason_Code telemetry__unwind_step(struct _Unwind_Context *ctx, void *arg) {
    telemetry__unwind_state *u = (telemetry__unwind_state *)arg;
    uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
    if (ip == 0) return _URC_END_OF_STACK;
    if (u->from) {                               /* the library's own frames, whatever inlining did */
        if (ip != u->from) return _URC_NO_REASON;
        u->from = 0;
    }
    u->stack->addr[u->stack->count++] = ip;
    return u->stack->count >= TELEMETRY_MAX_FRAMES ? _URC_END_OF_STACK : _URC_NO_REASON;
}
#endif

typedef struct telemetry__module {
    uintptr_t start, end;                    /* image_addr and image_addr + image_size */
    unsigned char build_id[64];
    int build_id_len;
    unsigned char text_id[16];               /* without a build id: Sentry's hash of .text */
    int has_text_id;
    char path[512];
#if defined(_WIN32)
    uint32_t pe_stamp, pe_size;              /* PE: TimeDateStamp, SizeOfImage (code_id); build_id */
    char debug_file[260];                    /* holds the CodeView GUID + age, this its PDB path */
#endif
} telemetry__module;

/* Opens one image of debug_meta.images with what every format has: {"type":...,"image_addr":...,
   "image_size":...,"code_file":...; the caller adds its ids and closes it. */
TELEMETRY__INTERNAL void telemetry__json_image_head(telemetry__json *j, const telemetry__module *m, const char *type) {
    char hex[24];
    telemetry__buf hb;
    telemetry__buf_init_fixed(&hb, hex, sizeof hex);
    telemetry__buf_put_hex(&hb, (uint64_t)m->start);
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "type"); telemetry__json_string(j, type);
    telemetry__json_key(j, "image_addr"); telemetry__json_string(j, hex);
    telemetry__json_key(j, "image_size"); telemetry__json_int(j, (int64_t)(m->end - m->start));
    telemetry__json_key(j, "code_file"); telemetry__json_string(j, m->path);
}

/* Sentry's debug_id for an ELF build id (protocols.md 3.11): the first 16 bytes read as a
   little-endian GUID, zero-padded. */
TELEMETRY__INTERNAL void telemetry__debug_id(const unsigned char *id, int len, char out[37]) {
    unsigned char g[16];
    static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
    int i, o = 0;
    memset(g, 0, sizeof g);
    memcpy(g, id, (size_t)(len < 16 ? len : 16));
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = "0123456789abcdef"[g[order[i]] >> 4];
        out[o++] = "0123456789abcdef"[g[order[i]] & 15];
    }
    out[o] = 0;
}

/* The images of error events, encoded once (see telemetry__json_debug_meta_cached). */
#define TELEMETRY__IMAGE_MAX 256
typedef struct telemetry__image_span { uintptr_t start, end; size_t at, len; } telemetry__image_span;
typedef struct telemetry__image_cache {
    unsigned long long adds;                    /* the loader's load count when it was made */
    int valid, count;
    telemetry__image_span *span;
    telemetry__buf json;                        /* the objects, one after the other */
} telemetry__image_cache;
TELEMETRY__DEF telemetry__image_cache telemetry__images;

/* The user's home folders, read once by an enabled telemetry_init on the program's thread (getenv is not
   safe against a concurrent setenv, so the worker never calls it): $HOME as given, its real path
   (a symlinked or automounted home), the home /etc/passwd gives the effective uid, and that
   one's real path. */
typedef struct telemetry__homes {
    char dir[4][512];
    int count;
} telemetry__homes;
TELEMETRY__DEF telemetry__homes telemetry__home;

TELEMETRY__INTERNAL void telemetry__home_add(const char *dir) {
    telemetry__homes *h = &telemetry__home;
    size_t n;
    int i;
    if (!dir || dir[0] == 0 || h->count == 4) return;
    n = strlen(dir);
    while (n > 1 && (dir[n - 1] == '/' || dir[n - 1] == '\\')) n--;
    if (n <= 1 || n >= sizeof h->dir[0]) return;                   /* "/" is nobody's home */
    for (i = 0; i < h->count; i++) if (strlen(h->dir[i]) == n && strncmp(h->dir[i], dir, n) == 0) return;
    memcpy(h->dir[h->count], dir, n);
    h->dir[h->count++][n] = 0;
}
/* The folder's real path, symlinks resolved (Linux: what its open fd names), or "". */
TELEMETRY__INTERNAL void telemetry__real_dir(const char *dir, char *out, size_t cap) {
    out[0] = 0;
#if defined(__linux__) && !defined(TELEMETRY_NO_FILES)
    {
        char link[64];
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ssize_t n;
        if (fd < 0) return;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, out, cap - 1);
        out[n > 0 ? n : 0] = 0;
        close(fd);
    }
#else
    (void)dir; (void)cap;
#endif
}
/* The effective user's home in /etc/passwd, read as a file: getpwuid would ask the name
   service, which may be a socket or the network, and a run that does nothing must not. */
TELEMETRY__INTERNAL void telemetry__passwd_home(char *out, size_t cap) {
    char *text = NULL, *line, *end, uid[24];
    size_t len = 0, ulen;
    int err;
    out[0] = 0;
#if !defined(_WIN32) && !defined(TELEMETRY_NO_FILES)
    ulen = (size_t)snprintf(uid, sizeof uid, "%lu", (unsigned long)geteuid());
    if (telemetry__read_file("/etc/passwd", 1u << 20, &text, &len, &err) != 0) return;
    for (line = text; line && *line; line = end ? end + 1 : NULL) {
        char *f[7];
        int k = 0;
        end = strchr(line, '\n');
        if (end) *end = 0;
        f[k++] = line;                                   /* name:password:uid:gid:gecos:home:shell */
        while (k < 7 && (f[k] = strchr(f[k - 1], ':')) != NULL) *f[k]++ = 0, k++;
        if (k >= 6 && strlen(f[2]) == ulen && strcmp(f[2], uid) == 0) { telemetry__copy(out, cap, f[5]); break; }
    }
#else
    (void)uid; (void)ulen; (void)line; (void)end; (void)err; (void)cap;
#endif
    telemetry__free(text);
    (void)len;
}
TELEMETRY__INTERNAL void telemetry__homes_read(void) {
    const char *env = getenv("HOME");
#if !defined(_WIN32) && !defined(TELEMETRY_NO_FILES)
    char real[4096], pw[1024];
#endif
    memset(&telemetry__home, 0, sizeof telemetry__home);
    telemetry__images.valid = 0;                         /* their paths are redacted with these */
    telemetry__home_add(env);
#if defined(_WIN32)
    {
        char profile[512];
        telemetry__home_add(telemetry__getenv_utf8(L"USERPROFILE", profile, sizeof profile));
    }
#elif !defined(TELEMETRY_NO_FILES)               /* else no folder to resolve, no passwd to read */
    if (env) { telemetry__real_dir(env, real, sizeof real); telemetry__home_add(real); }
    telemetry__passwd_home(pw, sizeof pw);
    if (pw[0]) {
        telemetry__home_add(pw);
        telemetry__real_dir(pw, real, sizeof real);
        telemetry__home_add(real);
    }
#endif
}

/* The path with any user's home folder shown as "~": module and program paths must never name
   the user. The homes read at init, and whatever HOME says, every /home/<name>, /usr/home/<name>,
   /Users/<name> and <drive>:\Users\<name> prefix. */
TELEMETRY__INTERNAL void telemetry__redact_home(const char *path, char *out, size_t cap) {
    static const char *const roots[] = { "/home/", "/usr/home/", "/Users/", NULL };
    const char *rest = NULL;
    size_t n;
    int i;
    for (i = 0; i < telemetry__home.count && !rest; i++) {
        n = strlen(telemetry__home.dir[i]);
#if defined(_WIN32)
        if (!telemetry__strnieq(path, telemetry__home.dir[i], n)) continue;   /* file names ignore case there */
#else
        if (strncmp(path, telemetry__home.dir[i], n) != 0) continue;
#endif
        if (path[n] == '/' || path[n] == '\\' || path[n] == 0) rest = path + n;
    }
    for (i = 0; roots[i] && !rest; i++) {
        n = strlen(roots[i]);
        if (strncmp(path, roots[i], n) == 0 && path[n] && path[n] != '/') rest = path + n + strcspn(path + n, "/");
    }
    if (!rest && ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z')) && path[1] == ':' &&
        (path[2] == '\\' || path[2] == '/') && telemetry__strnieq(path + 3, "users", 5) && (path[8] == '\\' || path[8] == '/') &&
        path[9] && path[9] != '\\' && path[9] != '/')
        rest = path + 9 + strcspn(path + 9, "\\/");
    if (rest) snprintf(out, cap, "~%s", rest);
    else telemetry__copy(out, cap, path);
}

/* ---- Windows: the stack from RtlCaptureStackBackTrace, PE images from the loader ----------
   Only kernel32 and ntdll, which every Windows program links (no psapi, no dbghelp). Every
   loaded image from the loader's list under the loader lock (error events copy the images their
   frames fall in from >>stack's cache of them; the crash handler's list is made in advance). What Sentry reads of a PE image
   (sentry-native's form): code_id = TimeDateStamp (8 hex) + SizeOfImage (hex), debug_id = the
   CodeView RSDS record's GUID + "-" + age, debug_file = the PDB path that record names. mingw's
   ld writes an RSDS record only with -Wl,--build-id (or -Wl,--pdb=); docs/crashes.md. */
#if defined(_WIN32)
#  include <tlhelp32.h>
#  include <winternl.h>

#  if defined(__GNUC__) && !defined(__clang__)
#    pragma GCC diagnostic push
#    pragma GCC diagnostic ignored "-Warray-bounds"    /* gcc 12 takes the gs:/fs: read for an array */
#  endif
TELEMETRY__INTERNAL TEB *telemetry__teb(void) { return (TEB *)NtCurrentTeb(); }
#  if defined(__GNUC__) && !defined(__clang__)
#    pragma GCC diagnostic pop
#  endif

/* x64 walks the unwind tables (.pdata, which mingw and MSVC always emit); x86 the frame-pointer
   chain, so an x86 build without frame pointers gets a short stack. */
TELEMETRY__INTERNAL void telemetry__win_capture_stack(telemetry__stack *st, uintptr_t from) {
    void *pc[TELEMETRY_MAX_FRAMES + 16];          /* room for the library's own frames */
    int n = (int)RtlCaptureStackBackTrace(0, (DWORD)(sizeof pc / sizeof pc[0]), pc, NULL), i, first = 0;
    if (from) {
        for (i = 0; i < n && (uintptr_t)pc[i] != from; i++) {}
        first = i < n ? i : 0;                    /* not found (an unusual frame): every frame */
    }
    st->count = 0;
    /* the first 64 KiB are never code: a walk that reaches them (wine's past the thread's start)
       has left the stack */
    for (i = first; i < n && st->count < TELEMETRY_MAX_FRAMES && (uintptr_t)pc[i] >= 0x10000; i++) st->addr[st->count++] = (uintptr_t)pc[i];
}

/* A wide path as UTF-8 with the home folder redacted. */
TELEMETRY__INTERNAL void telemetry__win_path(const wchar_t *w, char *out, size_t cap) {
    char utf8[1024];
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, utf8, (int)sizeof utf8, NULL, NULL);
    if (n <= 0) utf8[0] = 0;
    telemetry__redact_home(utf8, out, cap);
}

/* The image loaded at base, read from its headers in memory: range, code id, and the CodeView
   record (GUID + age into build_id, 20 bytes, and the PDB path). -1 when it is no PE image. */
TELEMETRY__INTERNAL int telemetry__pe_read(uintptr_t base, telemetry__module *m) {
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    const IMAGE_NT_HEADERS *nt;
    const IMAGE_DATA_DIRECTORY *dd;
    uint32_t size, k;
    if (!base || dos->e_magic != IMAGE_DOS_SIGNATURE || dos->e_lfanew <= 0) return -1;
    nt = (const IMAGE_NT_HEADERS *)(base + (uintptr_t)dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE) return -1;
    size = nt->OptionalHeader.SizeOfImage;
    m->start = base;
    m->end = base + size;
    m->pe_stamp = nt->FileHeader.TimeDateStamp;
    m->pe_size = size;
    m->build_id_len = 0;
    m->has_text_id = 0;
    m->debug_file[0] = 0;
    if (nt->OptionalHeader.NumberOfRvaAndSizes <= IMAGE_DIRECTORY_ENTRY_DEBUG) return 0;
    dd = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_DEBUG];
    if (!dd->VirtualAddress || dd->VirtualAddress > size || dd->Size > size - dd->VirtualAddress) return 0;
    for (k = 0; k + sizeof(IMAGE_DEBUG_DIRECTORY) <= dd->Size; k += sizeof(IMAGE_DEBUG_DIRECTORY)) {
        const IMAGE_DEBUG_DIRECTORY *d = (const IMAGE_DEBUG_DIRECTORY *)(base + dd->VirtualAddress + k);
        const unsigned char *cv;
        char pdb[sizeof m->debug_file];
        size_t n = 0;
        if (d->Type != IMAGE_DEBUG_TYPE_CODEVIEW || !d->AddressOfRawData || d->SizeOfData < 24 ||
            d->AddressOfRawData > size || d->SizeOfData > size - d->AddressOfRawData)
            continue;                             /* not mapped, or not inside the image */
        cv = (const unsigned char *)(base + d->AddressOfRawData);
        if (memcmp(cv, "RSDS", 4) != 0) continue;
        memcpy(m->build_id, cv + 4, 20);          /* GUID (16 bytes as stored) and age */
        m->build_id_len = 20;
        while (n + 1 < sizeof pdb && 24 + n < d->SizeOfData && cv[24 + n]) { pdb[n] = (char)cv[24 + n]; n++; }
        pdb[n] = 0;
        telemetry__redact_home(pdb, m->debug_file, sizeof m->debug_file);
        break;
    }
    return 0;
}

/* One image from its module handle, with its path. */
TELEMETRY__INTERNAL int telemetry__pe_module(HMODULE h, telemetry__module *m) {
    wchar_t w[1024];
    DWORD n;
    if (telemetry__pe_read((uintptr_t)h, m) != 0) return -1;
    n = GetModuleFileNameW(h, w, (DWORD)(sizeof w / sizeof w[0]));
    if (n == 0 || n >= sizeof w / sizeof w[0]) w[0] = 0;
    telemetry__win_path(w, m->path, sizeof m->path);
    return 0;
}

typedef LONG (NTAPI *telemetry__ldr_lock_fn)(ULONG flags, ULONG *disposition, ULONG_PTR *cookie);
typedef LONG (NTAPI *telemetry__ldr_unlock_fn)(ULONG flags, ULONG_PTR cookie);
/* FARPROC to a typed pointer through a union: a direct cast is a warning under -Wcast-function-type */
typedef union telemetry__proc { FARPROC proc; telemetry__ldr_lock_fn lock; telemetry__ldr_unlock_fn unlock; } telemetry__proc;
typedef int (*telemetry__ldr_visit)(const LDR_DATA_TABLE_ENTRY *d, void *arg);   /* 1: stop */

/* Calls visit for each loaded image in the loader's own list (the PEB's, in load order), under
   the loader lock: microseconds, where a toolhelp snapshot takes milliseconds (22 ms under wine).
   -1 when ntdll does not offer the lock. */
TELEMETRY__INTERNAL int telemetry__win_loader_walk(telemetry__ldr_visit visit, void *arg) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    telemetry__proc lock, unlock;
    ULONG_PTR cookie = 0;
    const LIST_ENTRY *head, *e;
    if (!ntdll) return -1;
    lock.proc = GetProcAddress(ntdll, "LdrLockLoaderLock");
    unlock.proc = GetProcAddress(ntdll, "LdrUnlockLoaderLock");
    if (!lock.proc || !unlock.proc || lock.lock(0, NULL, &cookie) != 0) return -1;
    head = &telemetry__teb()->ProcessEnvironmentBlock->Ldr->InMemoryOrderModuleList;
    for (e = head->Flink; e && e != head; e = e->Flink)
        if (visit(CONTAINING_RECORD(e, LDR_DATA_TABLE_ENTRY, InMemoryOrderLinks), arg)) break;
    unlock.unlock(0, cookie);
    return 0;
}

typedef struct telemetry__win_list { telemetry__module *out; int max, count; } telemetry__win_list;
TELEMETRY__INTERNAL int telemetry__win_list_visit(const LDR_DATA_TABLE_ENTRY *d, void *arg) {
    telemetry__win_list *l = (telemetry__win_list *)arg;
    wchar_t w[1024];
    size_t n = d->FullDllName.Buffer ? d->FullDllName.Length / sizeof(wchar_t) : 0;
    if (l->count >= l->max) return 1;
    if (telemetry__pe_read((uintptr_t)d->DllBase, &l->out[l->count]) != 0) return 0;
    if (n >= sizeof w / sizeof w[0]) n = 0;
    if (n) memcpy(w, d->FullDllName.Buffer, n * sizeof(wchar_t));
    w[n] = 0;
    telemetry__win_path(w, l->out[l->count].path, sizeof l->out[l->count].path);
    l->count++;
    return 0;
}

/* Every loaded image: the loader's list, or a toolhelp snapshot where ntdll has no loader lock
   to offer. */
TELEMETRY__INTERNAL int telemetry__win_find_modules(telemetry__module *out, int max) {
    telemetry__win_list l;
    HANDLE snap;
    MODULEENTRY32W me;
    int more;
    l.out = out; l.max = max; l.count = 0;
    if (telemetry__win_loader_walk(telemetry__win_list_visit, &l) == 0) return l.count;
    snap = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE, 0);
    if (snap == INVALID_HANDLE_VALUE) return 0;
    me.dwSize = sizeof me;
    for (more = Module32FirstW(snap, &me); more && l.count < max; more = Module32NextW(snap, &me)) {
        if (telemetry__pe_read((uintptr_t)me.modBaseAddr, &out[l.count]) != 0) continue;
        telemetry__win_path(me.szExePath, out[l.count].path, sizeof out[l.count].path);
        l.count++;
    }
    CloseHandle(snap);
    return l.count;
}

/* Changes when an image is loaded or unloaded (the image lists are then made again): a hash of
   the loader's list, each image's base and name length (a count of loads, as on Linux, would need
   a notification callback registered for the library's lifetime). */
TELEMETRY__INTERNAL int telemetry__win_hash_visit(const LDR_DATA_TABLE_ENTRY *d, void *arg) {
    unsigned long long *h = (unsigned long long *)arg;
    *h = (*h ^ (unsigned long long)(uintptr_t)d->DllBase) * 1099511628211ULL;
    *h = (*h ^ d->FullDllName.Length) * 1099511628211ULL;
    return 0;
}
TELEMETRY__INTERNAL unsigned long long telemetry__module_adds(void) {
    unsigned long long h = 14695981039346656037ULL;
    telemetry__win_loader_walk(telemetry__win_hash_visit, &h);
    return h;
}

/* {"type":"pe", ...}: one image of debug_meta.images. */
TELEMETRY__INTERNAL void telemetry__json_pe_image(telemetry__json *j, const telemetry__module *m) {
    char id[48];
    telemetry__json_image_head(j, m, "pe");
    snprintf(id, sizeof id, "%08lx%lX", (unsigned long)m->pe_stamp, (unsigned long)m->pe_size);   /* sentry-native's case */
    telemetry__json_key(j, "code_id"); telemetry__json_string(j, id);
    if (m->build_id_len == 20) {
        uint32_t age = (uint32_t)m->build_id[16] | (uint32_t)m->build_id[17] << 8 | (uint32_t)m->build_id[18] << 16 |
                       (uint32_t)m->build_id[19] << 24;
        telemetry__debug_id(m->build_id, 16, id);  /* the GUID's first three fields are little-endian */
        snprintf(id + 36, sizeof id - 36, "-%lx", (unsigned long)age);
        telemetry__json_key(j, "debug_id"); telemetry__json_string(j, id);
        if (m->debug_file[0]) { telemetry__json_key(j, "debug_file"); telemetry__json_string(j, m->debug_file); }
    }
    telemetry__json_object_end(j);
}
#endif

#if defined(TELEMETRY__HAVE_PHDR)
#  if !defined(ElfW)
#    if defined(__LP64__) || defined(_LP64)
#      define ElfW(type) Elf64_##type
#    else
#      define ElfW(type) Elf32_##type
#    endif
#  endif
/* glibc shows struct dl_phdr_info only under _GNU_SOURCE; its leading fields are a stable ABI,
   so the library reads them through its own mirror of them. */
struct dl_phdr_info;
#  if defined(__GLIBC__) && !defined(__USE_GNU)
#    ifdef __cplusplus
extern "C"
#    endif
int dl_iterate_phdr(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data);
#  endif
typedef struct telemetry__phdr_info {
    ElfW(Addr) dlpi_addr;
    const char *dlpi_name;
    const ElfW(Phdr) *dlpi_phdr;
    ElfW(Half) dlpi_phnum;
    unsigned long long dlpi_adds, dlpi_subs;    /* present when the size passed says so */
} telemetry__phdr_info;

TELEMETRY__INTERNAL int telemetry__fread_at(FILE *f, uint64_t off, void *buf, size_t len) {
    return off <= (uint64_t)LONG_MAX && fseek(f, (long)off, SEEK_SET) == 0 && fread(buf, 1, len, f) == len ? 0 : -1;
}

/* Sentry's identifier of an ELF file that has no build id (symbolic's and sentry-native's
   fallback): the first 4096 bytes of .text folded into 16 by XOR, used as the GUID's bytes.
   0 when the file has a .text section. */
TELEMETRY__INTERNAL int telemetry__text_id(const char *path, unsigned char out[16]) {
    FILE *f = telemetry__fopen_read(path);
    ElfW(Ehdr) eh;
    ElfW(Shdr) sh, names;
    unsigned char block[4096];
    char name[6];
    size_t n, i;
    int k, rc = -1;
    if (!f) return -1;
    if (telemetry__fread_at(f, 0, &eh, sizeof eh) == 0 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_shentsize == sizeof sh && eh.e_shstrndx < eh.e_shnum &&
        telemetry__fread_at(f, (uint64_t)eh.e_shoff + (uint64_t)eh.e_shstrndx * sizeof sh, &names, sizeof names) == 0) {
        for (k = 0; k < eh.e_shnum && rc != 0; k++) {
            if (telemetry__fread_at(f, (uint64_t)eh.e_shoff + (uint64_t)k * sizeof sh, &sh, sizeof sh)) break;
            if (sh.sh_type != SHT_PROGBITS || telemetry__fread_at(f, (uint64_t)names.sh_offset + sh.sh_name, name, sizeof name) ||
                memcmp(name, ".text", sizeof name) != 0)
                continue;
            n = sh.sh_size < sizeof block ? (size_t)sh.sh_size : sizeof block;
            if (telemetry__fread_at(f, sh.sh_offset, block, n)) break;
            memset(out, 0, 16);
            for (i = 0; i < n; i++) out[i % 16] ^= block[i];
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* How many times the loader has loaded a module (dlopen included): the module lists are made
   again when it changed. 0 where the loader does not say. */
TELEMETRY__INTERNAL int telemetry__adds_visit(struct dl_phdr_info *raw, size_t size, void *arg) {
    const telemetry__phdr_info *info = (const telemetry__phdr_info *)(const void *)raw;
    if (size >= sizeof(telemetry__phdr_info)) *(unsigned long long *)arg = info->dlpi_adds;
    return 1;                                       /* every entry carries it: the first will do */
}
TELEMETRY__INTERNAL unsigned long long telemetry__module_adds(void) {
    unsigned long long adds = 0;
    dl_iterate_phdr(telemetry__adds_visit, &adds);
    return adds;
}

typedef struct telemetry__module_search {
    telemetry__module *out;
    int max, count;
} telemetry__module_search;

TELEMETRY__INTERNAL void telemetry__read_build_id(const telemetry__phdr_info *info, telemetry__module *m) {
    int i;
    m->build_id_len = 0;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const unsigned char *p, *end;
        if (ph->p_type != PT_NOTE) continue;
        p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        end = p + ph->p_memsz;
        while (p + 12 <= end) {
            uint32_t namesz, descsz, type;
            const unsigned char *name, *desc;
            size_t align = ph->p_align == 8 ? 8 : 4;
            memcpy(&namesz, p, 4); memcpy(&descsz, p + 4, 4); memcpy(&type, p + 8, 4);
            name = p + 12;
            desc = name + ((namesz + align - 1) & ~(align - 1));
            if (desc + descsz > end || desc < name) break;
            if (type == 3 && namesz == 4 && memcmp(name, "GNU", 4) == 0 && descsz > 0 && descsz <= sizeof m->build_id) {
                memcpy(m->build_id, desc, descsz);
                m->build_id_len = (int)descsz;
                return;
            }
            p = desc + ((descsz + align - 1) & ~(align - 1));
        }
    }
}

TELEMETRY__INTERNAL int telemetry__module_visit(struct dl_phdr_info *raw, size_t size, void *arg) {
    telemetry__module_search *s = (telemetry__module_search *)arg;
    const telemetry__phdr_info *info = (const telemetry__phdr_info *)(const void *)raw;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int i;
    (void)size;
    if (s->count >= s->max) return 1;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        if (info->dlpi_addr + ph->p_vaddr < lo) lo = info->dlpi_addr + ph->p_vaddr;
        if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi) hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    if (hi <= lo) return 0;
    {
        telemetry__module *m = &s->out[s->count++];
        char exe[512];
        const char *name = info->dlpi_name;
        m->start = lo; m->end = hi;
        telemetry__read_build_id(info, m);
        if (!name || !name[0] || strcmp(name, "/proc/self/exe") == 0) {   /* the main program (musl
                                                                 static names it by the link) */
            ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
            exe[n > 0 ? n : 0] = 0;
            name = exe;
        } else if (name[0] != '/' && getcwd(exe, sizeof exe)) {
            /* dlopen("lib/x.so") is relative to the folder the program was in: the sender (and
               Sentry) need the whole path */
            size_t n = strlen(exe);
            if (n + 1 + strlen(name) < sizeof exe) { exe[n] = '/'; strcpy(exe + n + 1, name); name = exe; }
        }
        m->has_text_id = m->build_id_len == 0 && name[0] == '/' && telemetry__text_id(name, m->text_id) == 0;
        telemetry__redact_home(name, m->path, sizeof m->path);
    }
    return 0;
}
#endif

/* ---- macOS: the images from dyld, their Mach-O load commands read where they are mapped -------
   Written by reading Apple's headers and Sentry's image schema; no Mac runs it here. What Sentry
   reads of one: type "macho", image_addr (the image's header: its __TEXT segment begins there),
   image_size (the __TEXT segment, which holds the code: in the dyld shared cache a system
   library's other segments lie far away, so a span over all of them would cover other images),
   code_file, and debug_id = the LC_UUID bytes as a UUID, in their order. */
#if defined(TELEMETRY__HAVE_DYLD)
/* dyld's image count: it changes at every load or unload (a load and an unload between two
   calls look like no change: the list is then not made again until the next one). */
TELEMETRY__INTERNAL unsigned long long telemetry__module_adds(void) { return (unsigned long long)_dyld_image_count(); }

/* The __TEXT segment's address and size (unslid) and the LC_UUID of the image at mh; 0 when it
   has no __TEXT segment or is not a Mach-O image of this process's kind. */
TELEMETRY__INTERNAL int telemetry__macho_read(const struct mach_header *mh, uint64_t *text_addr, uint64_t *text_size, telemetry__module *m) {
    const unsigned char *p, *end;
    uint32_t k;
    if (mh->magic == MH_MAGIC_64) p = (const unsigned char *)mh + sizeof(struct mach_header_64);
    else if (mh->magic == MH_MAGIC) p = (const unsigned char *)mh + sizeof(struct mach_header);
    else return 0;
    end = p + mh->sizeofcmds;
    *text_size = 0;
    m->build_id_len = 0;
    for (k = 0; k < mh->ncmds; k++) {
        struct load_command lc;
        if ((size_t)(end - p) < sizeof lc) break;
        memcpy(&lc, p, sizeof lc);
        if (lc.cmdsize < sizeof lc || lc.cmdsize > (size_t)(end - p)) break;
        if (lc.cmd == LC_SEGMENT_64 && lc.cmdsize >= sizeof(struct segment_command_64)) {
            struct segment_command_64 seg;
            memcpy(&seg, p, sizeof seg);
            if (strncmp(seg.segname, "__TEXT", sizeof seg.segname) == 0) { *text_addr = seg.vmaddr; *text_size = seg.vmsize; }
        } else if (lc.cmd == LC_SEGMENT && lc.cmdsize >= sizeof(struct segment_command)) {
            struct segment_command seg;
            memcpy(&seg, p, sizeof seg);
            if (strncmp(seg.segname, "__TEXT", sizeof seg.segname) == 0) { *text_addr = seg.vmaddr; *text_size = seg.vmsize; }
        } else if (lc.cmd == LC_UUID && lc.cmdsize >= sizeof(struct uuid_command)) {
            struct uuid_command u;
            memcpy(&u, p, sizeof u);
            memcpy(m->build_id, u.uuid, 16);
            m->build_id_len = 16;
        }
        p += lc.cmdsize;
    }
    return *text_size != 0;
}

TELEMETRY__INTERNAL int telemetry__dyld_find_modules(telemetry__module *out, int max) {
    uint32_t i, n = _dyld_image_count();
    int count = 0;
    for (i = 0; i < n && count < max; i++) {
        const struct mach_header *mh = _dyld_get_image_header(i);
        const char *name = _dyld_get_image_name(i);
        telemetry__module *m = &out[count];
        uint64_t text_addr = 0, text_size = 0;
        if (!mh || !name || !telemetry__macho_read(mh, &text_addr, &text_size, m)) continue;
        m->start = (uintptr_t)(text_addr + (uint64_t)_dyld_get_image_vmaddr_slide(i));
        m->end = m->start + (uintptr_t)text_size;
        m->has_text_id = 0;
        telemetry__redact_home(name, m->path, sizeof m->path);
        count++;
    }
    return count;
}
#endif

/* Every loaded module, in the loader's order; how many were written to out. */
TELEMETRY__INTERNAL int telemetry__find_modules(telemetry__module *out, int max) {
#if defined(TELEMETRY__HAVE_PHDR)
    telemetry__module_search s;
    s.out = out; s.max = max; s.count = 0;
    dl_iterate_phdr(telemetry__module_visit, &s);
    return s.count;
#elif defined(_WIN32)
    return telemetry__win_find_modules(out, max);
#elif defined(TELEMETRY__HAVE_DYLD)
    return telemetry__dyld_find_modules(out, max);
#else
    (void)out; (void)max;
    return 0;
#endif
}

#if !defined(TELEMETRY__HAVE_PHDR) && !defined(_WIN32) && !defined(TELEMETRY__HAVE_DYLD)
TELEMETRY__INTERNAL unsigned long long telemetry__module_adds(void) { return 0; }
#endif

/* ---- x86-64: the same walk without libgcc's per-frame cost -------------------------------------
   _Unwind_Backtrace interprets each frame's DWARF call-frame program on every call (~1,600
   instructions a frame). What a frame needs on x86-64 is small: the CFA (canonical frame address)
   as rsp or rbp plus an offset, the return address saved at an offset from it, and rbp's save
   slot. Those are read once per return address from the module's .eh_frame_hdr / .eh_frame
   (every byte read within the segment that holds them) and kept in a table, emptied whenever the
   loader has loaded a module since. Anything unusual on the way (a signal frame, a DWARF
   expression, a CFA in another register, an address in no module) hands the whole walk to
   libgcc, so the result is always libgcc's. Not used by the crash handler (which asks libgcc). */
#if defined(__x86_64__) && defined(TELEMETRY__HAVE_UNWIND) && defined(TELEMETRY__HAVE_PHDR)
#  define TELEMETRY__FAST_UNWIND 1
#  ifndef PT_GNU_EH_FRAME
#    define PT_GNU_EH_FRAME 0x6474e550
#  endif
enum { TELEMETRY__CFI_OK = 1, TELEMETRY__CFI_END, TELEMETRY__CFI_NONE, TELEMETRY__CFI_ODD };
/* One frame's rule: CFA = (cfa_bp ? rbp : rsp) + cfa_off; the return address at CFA + ra_off;
   rbp saved at CFA + bp_off when has_bp (else it is the same in the caller). */
typedef struct telemetry__cfi_rule {
    uintptr_t pc;                               /* the address looked up; 0: an empty slot */
    int32_t cfa_off, ra_off, bp_off;
    unsigned char kind, cfa_bp, has_bp;
} telemetry__cfi_rule;

/* A bounded reader over [p, end) of the segment; any read past it marks it bad. */
typedef struct telemetry__cfi_in { const unsigned char *p, *end; int bad; } telemetry__cfi_in;
TELEMETRY__INTERNAL uint64_t telemetry__cfi_fixed(telemetry__cfi_in *in, int n) {
    uint64_t v = 0;
    int i;
    if (in->bad || (size_t)(in->end - in->p) < (size_t)n) { in->bad = 1; return 0; }
    for (i = 0; i < n; i++) v |= (uint64_t)in->p[i] << (8 * i);
    in->p += n;
    return v;
}
TELEMETRY__INTERNAL uint64_t telemetry__cfi_uleb(telemetry__cfi_in *in) {
    uint64_t v = 0;
    int shift = 0;
    for (;;) {
        unsigned b = (unsigned)telemetry__cfi_fixed(in, 1);
        if (in->bad) return 0;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) return v;
    }
}
TELEMETRY__INTERNAL int64_t telemetry__cfi_sleb(telemetry__cfi_in *in) {
    uint64_t v = 0;
    int shift = 0;
    unsigned b;
    do {
        b = (unsigned)telemetry__cfi_fixed(in, 1);
        if (in->bad) return 0;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}
/* A pointer in DWARF's exception-header encoding: absolute or relative to the field itself
   (pcrel) or to base (datarel); -1 for the encodings compilers do not use here (indirect,
   textrel, funcrel, aligned). */
TELEMETRY__INTERNAL int telemetry__cfi_ptr(telemetry__cfi_in *in, unsigned enc, uintptr_t base, uintptr_t *out) {
    uintptr_t field = (uintptr_t)in->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: v = telemetry__cfi_fixed(in, 8); break;
    case 0x01: v = telemetry__cfi_uleb(in); break;
    case 0x02: v = telemetry__cfi_fixed(in, 2); break;
    case 0x03: v = telemetry__cfi_fixed(in, 4); break;
    case 0x09: v = (uint64_t)telemetry__cfi_sleb(in); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)telemetry__cfi_fixed(in, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)telemetry__cfi_fixed(in, 4); break;
    default: return -1;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += field; break;
    case 0x30: v += base; break;
    default: return -1;
    }
    if ((enc & 0x80) || in->bad) return -1;
    *out = (uintptr_t)v;
    return 0;
}

/* A register offset: a LEB128 factored by the data alignment (|factor| <= 64 is checked), kept
   within 2^32 so that nothing overflows; larger marks the input bad. */
TELEMETRY__INTERNAL int64_t telemetry__cfi_off(telemetry__cfi_in *in, int is_signed, int64_t factor) {
    int64_t v = is_signed ? telemetry__cfi_sleb(in) : (int64_t)(telemetry__cfi_uleb(in) & 0x7fffffffffffffffULL);
    if (v > 0xffffffffLL || v < -0xffffffffLL) { in->bad = 1; return 0; }
    return v * factor;
}

/* The rules of one row as the call-frame program builds them: how 0 unsaved (the same in the
   caller), 1 at CFA + off, 2 undefined. */
typedef struct telemetry__cfi_row { int64_t cfa_off, bp_off, ra_off; uint64_t cfa_reg; int bp_how, ra_how; } telemetry__cfi_row;
typedef struct telemetry__cfi_prog {
    uint64_t code_align;
    int64_t data_align;
    unsigned fde_enc;
    uint64_t ra_reg;
    uintptr_t loc, pc;
    telemetry__cfi_row init;                    /* the row after the CIE's program (DW_CFA_restore) */
} telemetry__cfi_prog;

/* A register rule: rsp, or a tracked register moved elsewhere, is beyond this unwinder. */
TELEMETRY__INTERNAL int telemetry__cfi_set(const telemetry__cfi_prog *g, telemetry__cfi_row *r, uint64_t reg, int how, int64_t off) {
    if (reg == 7) return -1;
    if (reg == 6) { r->bp_how = how == 2 ? 0 : how; r->bp_off = off; }
    else if (reg == g->ra_reg) { r->ra_how = how; r->ra_off = off; }
    return 0;
}
/* Runs the call-frame instructions in [in) until the location passes g->pc (an FDE) or to the
   end (the CIE: in_cie). 0, or -1 for what this unwinder leaves to libgcc. */
TELEMETRY__INTERNAL int telemetry__cfi_run(telemetry__cfi_prog *g, telemetry__cfi_in *in, telemetry__cfi_row *r, int in_cie) {
    telemetry__cfi_row saved[4];
    int depth = 0;
    while (in->p < in->end && !in->bad) {
        unsigned op = (unsigned)telemetry__cfi_fixed(in, 1);
        uint64_t reg, adv = 0, len;
        int rc = 0;
        if ((op & 0xc0) == 0x40) adv = op & 0x3f;
        else if ((op & 0xc0) == 0x80) rc = telemetry__cfi_set(g, r, op & 0x3f, 1, telemetry__cfi_off(in, 0, g->data_align));
        else if ((op & 0xc0) == 0xc0) {
            reg = op & 0x3f;
            if (reg == 6) { r->bp_how = g->init.bp_how; r->bp_off = g->init.bp_off; }
            else if (reg == g->ra_reg) { r->ra_how = g->init.ra_how; r->ra_off = g->init.ra_off; }
        } else switch (op) {
        case 0x00: break;                                            /* nop */
        case 0x01: {                                                 /* set_loc */
            uintptr_t loc;
            if (in_cie || telemetry__cfi_ptr(in, g->fde_enc, 0, &loc) != 0) return -1;
            if (loc > g->pc) return 0;
            g->loc = loc;
            break;
        }
        case 0x02: adv = telemetry__cfi_fixed(in, 1); break;        /* advance_loc1, 2, 4 */
        case 0x03: adv = telemetry__cfi_fixed(in, 2); break;
        case 0x04: adv = telemetry__cfi_fixed(in, 4); break;
        case 0x05: reg = telemetry__cfi_uleb(in); rc = telemetry__cfi_set(g, r, reg, 1, telemetry__cfi_off(in, 0, g->data_align)); break;
        case 0x06:                                                   /* restore_extended */
            reg = telemetry__cfi_uleb(in);
            if (reg == 6) { r->bp_how = g->init.bp_how; r->bp_off = g->init.bp_off; }
            else if (reg == g->ra_reg) { r->ra_how = g->init.ra_how; r->ra_off = g->init.ra_off; }
            break;
        case 0x07: rc = telemetry__cfi_set(g, r, telemetry__cfi_uleb(in), 2, 0); break;   /* undefined */
        case 0x08: rc = telemetry__cfi_set(g, r, telemetry__cfi_uleb(in), 0, 0); break;   /* same_value */
        case 0x09:                                                   /* register */
            reg = telemetry__cfi_uleb(in); (void)telemetry__cfi_uleb(in);
            if (reg == 6 || reg == 7 || reg == g->ra_reg) return -1;
            break;
        case 0x0a: if (depth == 4) return -1; saved[depth++] = *r; break;          /* remember_state */
        case 0x0b: if (depth == 0) return -1; *r = saved[--depth]; break;          /* restore_state */
        case 0x0c: r->cfa_reg = telemetry__cfi_uleb(in); r->cfa_off = telemetry__cfi_off(in, 0, 1); break;
        case 0x0d: r->cfa_reg = telemetry__cfi_uleb(in); break;
        case 0x0e: r->cfa_off = telemetry__cfi_off(in, 0, 1); break;
        case 0x10: case 0x16:                                        /* expression, val_expression */
            reg = telemetry__cfi_uleb(in);
            len = telemetry__cfi_uleb(in);
            if (reg == 6 || reg == 7 || reg == g->ra_reg || len > (uint64_t)(in->end - in->p)) return -1;
            in->p += len;
            break;
        case 0x11: reg = telemetry__cfi_uleb(in); rc = telemetry__cfi_set(g, r, reg, 1, telemetry__cfi_off(in, 1, g->data_align)); break;
        case 0x12: r->cfa_reg = telemetry__cfi_uleb(in); r->cfa_off = telemetry__cfi_off(in, 1, g->data_align); break;
        case 0x13: r->cfa_off = telemetry__cfi_off(in, 1, g->data_align); break;
        case 0x14: case 0x15:                                        /* val_offset(_sf) */
            reg = telemetry__cfi_uleb(in);
            if (op == 0x14) (void)telemetry__cfi_uleb(in); else (void)telemetry__cfi_sleb(in);
            if (reg == 6 || reg == 7 || reg == g->ra_reg) return -1;
            break;
        case 0x2e: (void)telemetry__cfi_uleb(in); break;             /* GNU_args_size */
        case 0x2f: reg = telemetry__cfi_uleb(in); rc = telemetry__cfi_set(g, r, reg, 1, -telemetry__cfi_off(in, 0, g->data_align)); break;
        default: return -1;                                          /* def_cfa_expression and the rest */
        }
        if (rc) return -1;
        if (adv) {
            if (in_cie) return -1;
            adv *= g->code_align;
            if (adv > g->pc - g->loc) return 0;                      /* the row covering pc is done */
            g->loc += (uintptr_t)adv;
        }
    }
    return in->bad ? -1 : 0;
}

/* The rule for pc from the .eh_frame_hdr at hdr, every byte read within [lo, hi): kind OK, END
   (the outermost frame: no return address), NONE (no FDE covers pc) or ODD (left to libgcc). */
TELEMETRY__INTERNAL void telemetry__cfi_find(const unsigned char *hdr, const unsigned char *lo, const unsigned char *hi, uintptr_t pc,
                                            telemetry__cfi_rule *out) {
    telemetry__cfi_in in, cie;
    telemetry__cfi_prog g;
    telemetry__cfi_row row;
    uintptr_t ignored, count, range, begin;
    const unsigned char *table, *fde_end, *cie_at, *cie_end;
    uintptr_t fde_addr;
    uint64_t first, last, len, cie_off;
    char aug[8];
    size_t k = 0;
    unsigned version, eh_enc, fde_count_enc;
    memset(out, 0, sizeof *out);
    out->pc = pc;
    out->kind = TELEMETRY__CFI_ODD;
    memset(&g, 0, sizeof g);
    g.pc = pc;
    /* the header: version 1, the encodings, the .eh_frame pointer, the count, the table of
       (initial location, FDE) pairs sorted by location, both datarel sdata4 */
    if ((uintptr_t)hdr < (uintptr_t)lo || (uintptr_t)hdr >= (uintptr_t)hi) return;
    in.p = hdr; in.end = hi; in.bad = 0;
    version = (unsigned)telemetry__cfi_fixed(&in, 1);
    eh_enc = (unsigned)telemetry__cfi_fixed(&in, 1);
    fde_count_enc = (unsigned)telemetry__cfi_fixed(&in, 1);
    if (version != 1 || telemetry__cfi_fixed(&in, 1) != 0x3b) return;
    if (telemetry__cfi_ptr(&in, eh_enc, (uintptr_t)hdr, &ignored) != 0 || telemetry__cfi_ptr(&in, fde_count_enc, (uintptr_t)hdr, &count) != 0) return;
    table = in.p;
    if (count == 0) { out->kind = TELEMETRY__CFI_NONE; return; }
    if (count > (uintptr_t)(hi - table) / 8) return;
    first = 0; last = count;                                       /* the last entry <= pc */
    while (last - first > 1) {
        uint64_t mid = first + (last - first) / 2;
        int32_t loc;
        memcpy(&loc, table + mid * 8, 4);
        if ((uintptr_t)hdr + (uintptr_t)(intptr_t)loc <= pc) first = mid; else last = mid;
    }
    {
        int32_t loc, off;
        memcpy(&loc, table + first * 8, 4);
        memcpy(&off, table + first * 8 + 4, 4);
        if ((uintptr_t)hdr + (uintptr_t)(intptr_t)loc > pc) { out->kind = TELEMETRY__CFI_NONE; return; }
        fde_addr = (uintptr_t)hdr + (uintptr_t)(intptr_t)off;
    }
    /* the FDE: length, the offset back to its CIE, then (after the CIE is read) pc range */
    if (fde_addr < (uintptr_t)lo || fde_addr >= (uintptr_t)hi) return;
    in.p = lo + (fde_addr - (uintptr_t)lo); in.end = hi; in.bad = 0;
    len = telemetry__cfi_fixed(&in, 4);
    if (in.bad || len == 0 || len >= 0xfffffff0u || len > (uint64_t)(hi - in.p)) return;
    fde_end = in.p + len;
    in.end = fde_end;
    cie_off = telemetry__cfi_fixed(&in, 4);
    if (in.bad || cie_off == 0 || cie_off > (uint64_t)(in.p - 4 - lo)) return;
    cie_at = in.p - 4 - cie_off;
    /* the CIE: version, augmentation, alignments, the return address column, its data */
    cie.p = cie_at; cie.end = hi; cie.bad = 0;
    len = telemetry__cfi_fixed(&cie, 4);
    if (cie.bad || len == 0 || len >= 0xfffffff0u || len > (uint64_t)(hi - cie.p)) return;
    cie_end = cie.p + len;
    cie.end = cie_end;
    if (telemetry__cfi_fixed(&cie, 4) != 0) return;                /* a CIE's id is 0 */
    version = (unsigned)telemetry__cfi_fixed(&cie, 1);
    if (version != 1 && version != 3) return;
    for (;;) {
        int c = (int)telemetry__cfi_fixed(&cie, 1);
        if (cie.bad || k == sizeof aug) return;
        aug[k++] = (char)c;
        if (c == 0) break;
    }
    g.code_align = telemetry__cfi_uleb(&cie);
    g.data_align = telemetry__cfi_sleb(&cie);
    g.ra_reg = version == 1 ? telemetry__cfi_fixed(&cie, 1) : telemetry__cfi_uleb(&cie);
    if (cie.bad || g.ra_reg != 16 || g.code_align == 0 || g.code_align > 64 || g.data_align < -64 || g.data_align > 64) return;
    if (aug[0] == 'z') {
        const unsigned char *aug_end;
        len = telemetry__cfi_uleb(&cie);
        if (cie.bad || len > (uint64_t)(cie.end - cie.p)) return;
        aug_end = cie.p + len;
        for (k = 1; aug[k]; k++) {
            if (aug[k] == 'R') g.fde_enc = (unsigned)telemetry__cfi_fixed(&cie, 1);
            else if (aug[k] == 'L') (void)telemetry__cfi_fixed(&cie, 1);
            else if (aug[k] == 'P') {                              /* skipped: only its size matters */
                unsigned penc = (unsigned)telemetry__cfi_fixed(&cie, 1);
                if (telemetry__cfi_ptr(&cie, penc & 0x7f, 0, &ignored) != 0) return;
            } else return;                                         /* 'S' (a signal frame) and others */
        }
        if (cie.bad || cie.p > aug_end) return;
        cie.p = aug_end;
    } else if (aug[0]) return;
    memset(&row, 0, sizeof row);
    row.cfa_reg = 7;
    g.init = row;
    if (telemetry__cfi_run(&g, &cie, &row, 1) != 0) return;
    g.init = row;
    /* back in the FDE: the range it covers, its augmentation data, its program up to pc */
    if (telemetry__cfi_ptr(&in, g.fde_enc, 0, &begin) != 0 || telemetry__cfi_ptr(&in, g.fde_enc & 0x0f, 0, &range) != 0) return;
    if (pc < begin || pc - begin >= range) { out->kind = TELEMETRY__CFI_NONE; return; }
    if (aug[0] == 'z') {
        len = telemetry__cfi_uleb(&in);
        if (in.bad || len > (uint64_t)(in.end - in.p)) return;
        in.p += len;
    }
    g.loc = begin;
    if (telemetry__cfi_run(&g, &in, &row, 0) != 0) return;
    if ((row.cfa_reg != 6 && row.cfa_reg != 7) || row.cfa_off < 0 || row.cfa_off > INT32_MAX ||
        row.bp_off < INT32_MIN || row.bp_off > INT32_MAX || row.ra_off < INT32_MIN || row.ra_off > INT32_MAX)
        return;
    if (row.ra_how == 2) { out->kind = TELEMETRY__CFI_END; return; }
    if (row.ra_how != 1) return;
    out->cfa_bp = row.cfa_reg == 6;
    out->cfa_off = (int32_t)row.cfa_off;
    out->ra_off = (int32_t)row.ra_off;
    out->has_bp = row.bp_how == 1;
    out->bp_off = (int32_t)row.bp_off;
    out->kind = TELEMETRY__CFI_OK;
}

/* The module holding pc: its .eh_frame_hdr, the loaded segment that holds the header, and the
   readable segment that holds pc (code_hi its end; 0 when no module holds pc). */
typedef struct telemetry__eh_search { uintptr_t pc, code_hi; int readable; const unsigned char *hdr, *lo, *hi; } telemetry__eh_search;
TELEMETRY__INTERNAL int telemetry__eh_visit(struct dl_phdr_info *raw, size_t size, void *arg) {
    telemetry__eh_search *s = (telemetry__eh_search *)arg;
    const telemetry__phdr_info *info = (const telemetry__phdr_info *)(const void *)raw;
    const ElfW(Phdr) *eh = NULL;
    int i, in = 0;
    (void)size;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        if (ph->p_type == PT_LOAD && s->pc >= start && s->pc - start < ph->p_memsz) {
            in = 1;
            s->code_hi = start + ph->p_filesz;
            s->readable = (ph->p_flags & PF_R) != 0;
        }
        if (ph->p_type == PT_GNU_EH_FRAME) eh = ph;
    }
    if (!in) return 0;
    if (eh) {
        uintptr_t hdr = (uintptr_t)(info->dlpi_addr + eh->p_vaddr);
        for (i = 0; i < info->dlpi_phnum; i++) {
            const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
            uintptr_t start = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
            if (ph->p_type == PT_LOAD && hdr >= start && hdr - start < ph->p_filesz) {
                s->hdr = (const unsigned char *)hdr;
                s->lo = (const unsigned char *)start;
                s->hi = (const unsigned char *)(start + ph->p_filesz);
            }
        }
    }
    return 1;
}

#  define TELEMETRY__CFI_SLOTS 512
typedef struct telemetry__cfi_cache {
    unsigned long long adds;                    /* the loader's load count the rules belong to */
    telemetry__cfi_rule slot[TELEMETRY__CFI_SLOTS];
} telemetry__cfi_cache;
TELEMETRY__DEF telemetry__cfi_cache telemetry__cfi;
TELEMETRY__DEF telemetry__mutex telemetry__cfi_lock = TELEMETRY__MUTEX_INIT;
TELEMETRY__DEF unsigned long telemetry__unwind_fallbacks;   /* walks handed to libgcc (tests read it) */

/* The rule for pc (a return address - 1), from the table or read now. Where no FDE covers it,
   libgcc's walk ends, unless the return address is a signal return trampoline (the kernel's
   rt_sigreturn call: mov $15, %rax; syscall), which a C library without unwind tables has
   (musl): that frame, and an address in no module at all, go to libgcc. Lock held. */
TELEMETRY__INTERNAL const telemetry__cfi_rule *telemetry__cfi_rule_for(uintptr_t pc) {
    static const unsigned char sigreturn[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
    telemetry__cfi_rule *r = &telemetry__cfi.slot[((pc >> 2) ^ (pc >> 11)) % TELEMETRY__CFI_SLOTS];
    if (r->pc != pc) {
        telemetry__eh_search s;
        memset(&s, 0, sizeof s);
        s.pc = pc;
        dl_iterate_phdr(telemetry__eh_visit, &s);
        memset(r, 0, sizeof *r);
        r->pc = pc;
        r->kind = TELEMETRY__CFI_NONE;
        if (s.hdr) telemetry__cfi_find(s.hdr, s.lo, s.hi, pc, r);
        if (r->kind == TELEMETRY__CFI_NONE)
            r->kind = s.code_hi && s.readable && s.code_hi - pc > sizeof sigreturn && memcmp((const void *)(pc + 1), sigreturn, sizeof sigreturn) != 0
                      ? TELEMETRY__CFI_END : TELEMETRY__CFI_ODD;
    }
    return r;
}

/* The walk itself, from the registers of this function's frame; 0, or -1 when libgcc must do it. */
TELEMETRY__INTERNAL int telemetry__unwind_fast(telemetry__stack *st, uintptr_t from) {
    uintptr_t ip, sp, bp;
    int first = 1, rc = 0;
    unsigned long long adds = telemetry__module_adds();
    __asm__ volatile("leaq 0(%%rip), %0\n\tmovq %%rsp, %1\n\tmovq %%rbp, %2" : "=r"(ip), "=r"(sp), "=r"(bp));
    st->count = 0;
    st->loads = adds;
    telemetry__lock(&telemetry__cfi_lock);
    if (adds != telemetry__cfi.adds) {                          /* a module loaded since: forget all */
        memset(telemetry__cfi.slot, 0, sizeof telemetry__cfi.slot);
        telemetry__cfi.adds = adds;
    }
    while (st->count < TELEMETRY_MAX_FRAMES) {
        const telemetry__cfi_rule *r = telemetry__cfi_rule_for(first ? ip : ip - 1);
        uintptr_t cfa;
        if (from) { if (ip == from) from = 0; }
        if (!from) st->addr[st->count++] = ip;
        if (r->kind == TELEMETRY__CFI_END) break;
        if (r->kind != TELEMETRY__CFI_OK) { rc = -1; break; }
        cfa = (r->cfa_bp ? bp : sp) + (uintptr_t)(intptr_t)r->cfa_off;
        if (cfa <= sp || cfa - sp > ((uintptr_t)1 << 28) || (cfa & 7)) { rc = -1; break; }   /* not a stack */
        if (r->has_bp) memcpy(&bp, (const void *)(cfa + (uintptr_t)(intptr_t)r->bp_off), sizeof bp);
        memcpy(&ip, (const void *)(cfa + (uintptr_t)(intptr_t)r->ra_off), sizeof ip);
        sp = cfa;
        first = 0;
        if (ip == 0) break;
    }
    if (rc) telemetry__unwind_fallbacks++;
    telemetry__unlock(&telemetry__cfi_lock);
    if (from) rc = -1;                                          /* `from` never seen: as libgcc would */
    return rc;
}
#endif

/* Fills st with the calling thread's return addresses, from the frame that returns to `from`
   outwards: a public function passes __builtin_return_address(0), its return address into the
   program, so the first frame is the program's call at every optimisation level (a count of
   frames to skip depends on what the compiler inlined). from 0: every frame. Empty where the
   platform has no unwinder. */
TELEMETRY__INTERNAL void telemetry__unwind_libgcc(telemetry__stack *st, uintptr_t from) {
    st->count = 0;
#if defined(TELEMETRY__HAVE_UNWIND)
    {
        telemetry__unwind_state u;
#  if defined(__arm__)
        from &= ~(uintptr_t)1;                   /* _Unwind_GetIP drops the Thumb bit; the link register has it */
#  endif
        u.stack = st; u.from = from;
        _Unwind_Backtrace(telemetry__unwind_step, &u);
        if (from && st->count == 0) {            /* not found (an unusual frame): every frame */
            u.from = 0;
            _Unwind_Backtrace(telemetry__unwind_step, &u);
        }
    }
#else
    (void)from;
#endif
}
TELEMETRY__INTERNAL void telemetry__capture_stack_from(telemetry__stack *st, uintptr_t from) {
#if defined(_WIN32)
    telemetry__win_capture_stack(st, from);              /* the Windows sub-section */
#else
#  if defined(TELEMETRY__FAST_UNWIND)
    if (telemetry__unwind_fast(st, from) == 0) return;   /* the same frames, at a tenth of the cost */
#  endif
    telemetry__unwind_libgcc(st, from);
#endif
    st->loads = telemetry__module_adds();
}
#if defined(TELEMETRY__HAVE_UNWIND) || (defined(_WIN32) && (defined(__GNUC__) || defined(__clang__)))
#  define telemetry__capture_stack(st) telemetry__capture_stack_from((st), (uintptr_t)__builtin_return_address(0))
#elif defined(_WIN32) && defined(_MSC_VER)
#  include <intrin.h>
#  define telemetry__capture_stack(st) telemetry__capture_stack_from((st), (uintptr_t)_ReturnAddress())
#else
#  define telemetry__capture_stack(st) telemetry__capture_stack_from((st), 0)
#endif


/* "000102...feff": two hex digits at a time. */
#define TELEMETRY__HEX_ROW(h) h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char telemetry__hex_pairs[] = TELEMETRY__HEX_ROW("0") TELEMETRY__HEX_ROW("1") TELEMETRY__HEX_ROW("2") TELEMETRY__HEX_ROW("3")
    TELEMETRY__HEX_ROW("4") TELEMETRY__HEX_ROW("5") TELEMETRY__HEX_ROW("6") TELEMETRY__HEX_ROW("7") TELEMETRY__HEX_ROW("8")
    TELEMETRY__HEX_ROW("9") TELEMETRY__HEX_ROW("a") TELEMETRY__HEX_ROW("b") TELEMETRY__HEX_ROW("c") TELEMETRY__HEX_ROW("d")
    TELEMETRY__HEX_ROW("e") TELEMETRY__HEX_ROW("f");
/* How many hex digits v needs (1 for 0). */
TELEMETRY__INTERNAL int telemetry__hex_digits(uint64_t v) {
#if defined(__GNUC__) || defined(__clang__)
    return v ? (67 - __builtin_clzll(v)) / 4 : 1;
#else
    int n = 1;
    while (v >>= 4) n++;
    return n;
#endif
}

/* "stacktrace":{"frames":[oldest ... newest]} and, after it, the images those frames use. */
TELEMETRY__INTERNAL void telemetry__json_stacktrace(telemetry__json *j, const telemetry__stack *st, const char *adjustment) {
    /* {"frames":[{"instruction_addr":"0x..."},...],"instruction_addr_adjustment":"..."}: measured
       exactly (a fixed buffer may be nearly full), then written in one piece (adjustment is one of
       our own words: nothing to escape) */
    size_t adj = strlen(adjustment), need = 11 + 33 + adj + 2, at = 0;
    char *d;
    int i;
    for (i = 0; i < st->count; i++) need += (i ? 26 : 25) + (size_t)telemetry__hex_digits((uint64_t)st->addr[i]);
    telemetry__json_key(j, "stacktrace");
    telemetry__json_value_start(j);
    d = telemetry__buf_room(j->out, need);
    if (!d) return;
    memcpy(d, "{\"frames\":[", 11);
    at = 11;
    for (i = st->count - 1; i >= 0; i--) {
        uint64_t v = (uint64_t)st->addr[i];
        int n = telemetry__hex_digits(v), k = n;
        if (i != st->count - 1) d[at++] = ',';
        memcpy(d + at, "{\"instruction_addr\":\"0x", 23);
        at += 23;
        for (; k >= 2; k -= 2, v >>= 8) memcpy(d + at + (size_t)k - 2, telemetry__hex_pairs + 2 * (v & 255), 2);
        if (k) d[at] = "0123456789abcdef"[v & 15];
        at += (size_t)n;
        d[at++] = '"'; d[at++] = '}';
    }
    memcpy(d + at, "],\"instruction_addr_adjustment\":\"", 33);
    at += 33;
    memcpy(d + at, adjustment, adj);
    at += adj;
    d[at++] = '"'; d[at++] = '}';
    d[at] = 0;
    j->out->len += at;
}

/* One image of debug_meta.images: {"type":"elf","image_addr":...,"code_id":...,"debug_id":...}. */
TELEMETRY__INTERNAL void telemetry__json_image(telemetry__json *j, const telemetry__module *m) {
#if defined(_WIN32)
    telemetry__json_pe_image(j, m);                      /* {"type":"pe",...}: the Windows sub-section */
}
#elif defined(TELEMETRY__HAVE_DYLD)
    char uuid[37];
    int i, o = 0;
    telemetry__json_image_head(j, m, "macho");
    if (m->build_id_len == 16) {                         /* LC_UUID, byte for byte */
        for (i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) uuid[o++] = '-';
            uuid[o++] = "0123456789abcdef"[m->build_id[i] >> 4];
            uuid[o++] = "0123456789abcdef"[m->build_id[i] & 15];
        }
        uuid[o] = 0;
        telemetry__json_key(j, "debug_id"); telemetry__json_string(j, uuid);
    }
    telemetry__json_object_end(j);
}
#else
    char debug_id[37], code_id[129];
    telemetry__json_image_head(j, m, "elf");
    if (m->build_id_len) {
        telemetry__hex(m->build_id, (size_t)m->build_id_len, code_id);
        telemetry__debug_id(m->build_id, m->build_id_len, debug_id);
        telemetry__json_key(j, "code_id"); telemetry__json_string(j, code_id);
        telemetry__json_key(j, "debug_id"); telemetry__json_string(j, debug_id);
    } else if (m->has_text_id) {             /* no code_id: that is the build id, and there is none */
        telemetry__debug_id(m->text_id, 16, debug_id);
        telemetry__json_key(j, "debug_id"); telemetry__json_string(j, debug_id);
    }
    telemetry__json_object_end(j);
}
#endif

TELEMETRY__INTERNAL void telemetry__json_debug_meta(telemetry__json *j, const telemetry__module *mods, int n) {
    int i;
    if (n == 0) return;
    telemetry__json_key(j, "debug_meta");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "images");
    telemetry__json_array_begin(j);
    for (i = 0; i < n; i++) telemetry__json_image(j, &mods[i]);
    telemetry__json_array_end(j);
    telemetry__json_object_end(j);
}

/* ---- the images of telemetry_capture_error's events, encoded once ---------------------------
   Every loaded module's image object is encoded when first needed and copied into each event
   whose frames fall in it (the same bytes as telemetry__json_debug_meta); made again when the
   loader has loaded a module since (dlopen) and after telemetry__homes_read (paths are redacted
   with the home folders). Library lock held. */
TELEMETRY__INTERNAL void telemetry__images_free(void) {
    telemetry__free(telemetry__images.span);
    telemetry__buf_free(&telemetry__images.json);
    memset(&telemetry__images, 0, sizeof telemetry__images);
}
/* 0 when the cache holds the images of the modules loaded when the loader's load count was
   adds (a stack's: no module loaded after it was captured holds its frames). */
TELEMETRY__INTERNAL int telemetry__images_fresh(unsigned long long adds) {
    telemetry__image_cache *c = &telemetry__images;
    telemetry__module *mods;
    int i, n;
    if (c->valid && c->adds == adds) return 0;
    telemetry__images_free();
    mods = (telemetry__module *)telemetry__malloc(sizeof *mods * TELEMETRY__IMAGE_MAX);
    if (!mods) return -1;
    n = telemetry__find_modules(mods, TELEMETRY__IMAGE_MAX);
    c->span = (telemetry__image_span *)telemetry__malloc(sizeof *c->span * (size_t)(n ? n : 1));
    telemetry__buf_init(&c->json);
    for (i = 0; c->span && i < n; i++) {
        telemetry__json j;
        telemetry__json_init(&j, &c->json);
        c->span[i].start = mods[i].start;
        c->span[i].end = mods[i].end;
        c->span[i].at = c->json.len;
        telemetry__json_image(&j, &mods[i]);
        c->span[i].len = c->json.len - c->span[i].at;
    }
    telemetry__free(mods);
    if (!c->span || c->json.failed) { telemetry__images_free(); return -1; }
    c->count = n;
    c->adds = adds;
    c->valid = 1;
    return 0;
}
/* "debug_meta":{"images":[...]} of the modules the stack's frames fall in, copied from the cache
   (none when it cannot be made: out of memory). */
TELEMETRY__INTERNAL void telemetry__json_debug_meta_cached(telemetry__json *j, const telemetry__stack *st) {
    const telemetry__image_cache *c = &telemetry__images;
    int i, k, any = 0;
    if (telemetry__images_fresh(st->loads) != 0) return;
    for (i = 0; i < c->count; i++) {
        const telemetry__image_span *m = &c->span[i];
        for (k = 0; k < st->count && (st->addr[k] < m->start || st->addr[k] >= m->end); k++) {}
        if (k == st->count) continue;
        if (!any) {
            telemetry__json_key(j, "debug_meta");
            telemetry__json_object_begin(j);
            telemetry__json_key(j, "images");
            telemetry__json_array_begin(j);
            any = 1;
        }
        telemetry__json_raw(j, c->json.data + m->at, m->len);
    }
    if (any) { telemetry__json_array_end(j); telemetry__json_object_end(j); }
}

/* ---- the next run names the frames --------------------------------------------------------
   Where a crashed image is still on disk with the same build id, the worker adds "function" and
   "symbol_addr" to its frames from the ELF symbol table (.symtab, else .dynsym) before sending,
   so a project that uploads no debug files still sees parse_config instead of an address. */
#  if defined(TELEMETRY__HAVE_PHDR)
typedef struct telemetry__elf_image {
    uint64_t start, size;
    char path[512];
    char code_id[129], debug_id[37];
} telemetry__elf_image;

/* The few header, segment, section and symbol fields the symbol reader uses, from a 32- or 64-bit
   ELF file alike (i386 and ARM programs are ELF32). */
typedef struct telemetry__elf_file {
    FILE *f;
    int is64;
    uint64_t phoff, shoff;
    unsigned phnum, shnum, machine;
} telemetry__elf_file;
typedef struct telemetry__elf_seg { uint64_t type, offset, vaddr, filesz, align; } telemetry__elf_seg;
typedef struct telemetry__elf_sec { uint64_t type, offset, size, link, entsize; } telemetry__elf_sec;
typedef struct telemetry__elf_sym { uint64_t name, value, size; unsigned type; } telemetry__elf_sym;

TELEMETRY__INTERNAL int telemetry__elf_open(telemetry__elf_file *e, FILE *f) {
    unsigned char ident[EI_NIDENT];
    e->f = f;
    if (telemetry__fread_at(f, 0, ident, sizeof ident) || memcmp(ident, ELFMAG, SELFMAG)) return -1;
    e->is64 = ident[EI_CLASS] == ELFCLASS64;
    if (e->is64) {
        Elf64_Ehdr h;
        if (telemetry__fread_at(f, 0, &h, sizeof h) || h.e_phentsize != sizeof(Elf64_Phdr) || h.e_shentsize != sizeof(Elf64_Shdr)) return -1;
        e->phoff = h.e_phoff; e->shoff = h.e_shoff; e->phnum = h.e_phnum; e->shnum = h.e_shnum; e->machine = h.e_machine;
    } else if (ident[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr h;
        if (telemetry__fread_at(f, 0, &h, sizeof h) || h.e_phentsize != sizeof(Elf32_Phdr) || h.e_shentsize != sizeof(Elf32_Shdr)) return -1;
        e->phoff = h.e_phoff; e->shoff = h.e_shoff; e->phnum = h.e_phnum; e->shnum = h.e_shnum; e->machine = h.e_machine;
    } else return -1;
    return 0;
}
TELEMETRY__INTERNAL int telemetry__elf_segment(const telemetry__elf_file *e, unsigned i, telemetry__elf_seg *out) {
    if (e->is64) {
        Elf64_Phdr p;
        if (telemetry__fread_at(e->f, e->phoff + (uint64_t)i * sizeof p, &p, sizeof p)) return -1;
        out->type = p.p_type; out->offset = p.p_offset; out->vaddr = p.p_vaddr; out->filesz = p.p_filesz; out->align = p.p_align;
    } else {
        Elf32_Phdr p;
        if (telemetry__fread_at(e->f, e->phoff + (uint64_t)i * sizeof p, &p, sizeof p)) return -1;
        out->type = p.p_type; out->offset = p.p_offset; out->vaddr = p.p_vaddr; out->filesz = p.p_filesz; out->align = p.p_align;
    }
    return 0;
}
TELEMETRY__INTERNAL int telemetry__elf_section(const telemetry__elf_file *e, uint64_t i, telemetry__elf_sec *out) {
    if (e->is64) {
        Elf64_Shdr h;
        if (telemetry__fread_at(e->f, e->shoff + i * sizeof h, &h, sizeof h)) return -1;
        out->type = h.sh_type; out->offset = h.sh_offset; out->size = h.sh_size; out->link = h.sh_link; out->entsize = h.sh_entsize;
    } else {
        Elf32_Shdr h;
        if (telemetry__fread_at(e->f, e->shoff + i * sizeof h, &h, sizeof h)) return -1;
        out->type = h.sh_type; out->offset = h.sh_offset; out->size = h.sh_size; out->link = h.sh_link; out->entsize = h.sh_entsize;
    }
    return 0;
}
TELEMETRY__INTERNAL uint64_t telemetry__elf_sym_size(const telemetry__elf_file *e) { return e->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym); }
TELEMETRY__INTERNAL int telemetry__elf_symbol_at(const telemetry__elf_file *e, uint64_t off, telemetry__elf_sym *out) {
    if (e->is64) {
        Elf64_Sym y;
        if (telemetry__fread_at(e->f, off, &y, sizeof y)) return -1;
        out->name = y.st_name; out->value = y.st_value; out->size = y.st_size; out->type = ELF64_ST_TYPE(y.st_info);
    } else {
        Elf32_Sym y;
        if (telemetry__fread_at(e->f, off, &y, sizeof y)) return -1;
        out->name = y.st_name; out->value = y.st_value; out->size = y.st_size; out->type = ELF32_ST_TYPE(y.st_info);
    }
    if (e->machine == EM_ARM) out->value &= ~(uint64_t)1;  /* odd: a Thumb function; the code starts one byte lower */
    return 0;
}

/* The function containing vaddr in the ELF file at path, if it is the same file: its build id is
   code_id, or it has none and its .text hash gives debug_id (32- or 64-bit ELF of this machine's
   byte order). 1 and name/symbol address when found. */
TELEMETRY__INTERNAL int telemetry__elf_symbol(const char *path, const char *code_id, const char *debug_id, uint64_t offset_in_image,
                                             char *name, size_t cap, uint64_t *sym_offset) {
    FILE *f = telemetry__fopen_read(path);
    telemetry__elf_file e;
    telemetry__elf_seg ph;
    telemetry__elf_sec sh, strsh;
    uint64_t min_vaddr = UINT64_MAX, vaddr, best_value = 0;
    char hexid[129];
    unsigned i;
    int found = 0, id_ok = 0, has_id = 0, pass;
    if (!f) return 0;
    if (telemetry__elf_open(&e, f)) { fclose(f); return 0; }
    for (i = 0; i < e.phnum; i++) {                      /* load base and build id */
        if (telemetry__elf_segment(&e, i, &ph)) break;
        if (ph.type == PT_LOAD && ph.vaddr < min_vaddr) min_vaddr = ph.vaddr;
        if (ph.type == PT_NOTE && ph.filesz < 65536 && !id_ok) {
            unsigned char note[65536];
            size_t pos = 0;
            if (telemetry__fread_at(f, ph.offset, note, (size_t)ph.filesz)) continue;
            while (pos + 12 <= ph.filesz) {
                uint32_t nsz, dsz, type;
                size_t align = ph.align == 8 ? 8 : 4, desc;
                memcpy(&nsz, note + pos, 4); memcpy(&dsz, note + pos + 4, 4); memcpy(&type, note + pos + 8, 4);
                desc = pos + 12 + ((nsz + align - 1) & ~(align - 1));
                if (desc + dsz > ph.filesz || dsz > 64) break;
                if (type == 3 && nsz == 4 && memcmp(note + pos + 12, "GNU", 4) == 0) {
                    telemetry__hex(note + desc, dsz, hexid);
                    id_ok = strcmp(hexid, code_id) == 0;
                    has_id = 1;
                    break;
                }
                pos = desc + ((dsz + align - 1) & ~(align - 1));
            }
        }
    }
    if (!has_id && !code_id[0] && debug_id[0]) {         /* no build id: the .text hash */
        unsigned char text[16];
        char dbg[37];
        if (telemetry__text_id(path, text) == 0) {
            telemetry__debug_id(text, 16, dbg);
            id_ok = strcmp(dbg, debug_id) == 0;
        }
    }
    if (!id_ok || min_vaddr == UINT64_MAX) { fclose(f); return 0; }   /* changed or not ours */
    vaddr = min_vaddr + offset_in_image;
    for (pass = 0; pass < 2 && !found; pass++) {        /* .symtab first, then .dynsym */
        for (i = 0; i < e.shnum && !found; i++) {
            uint64_t k, count, entsize = telemetry__elf_sym_size(&e);
            if (telemetry__elf_section(&e, i, &sh)) break;
            if (sh.type != (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM) || sh.entsize != entsize) continue;
            if (telemetry__elf_section(&e, sh.link, &strsh)) continue;
            count = sh.size / entsize;
            for (k = 0; k < count && k < 4000000; k++) {
                telemetry__elf_sym sym;
                if (telemetry__elf_symbol_at(&e, sh.offset + k * entsize, &sym)) break;
                if (sym.type != STT_FUNC || sym.value == 0 || sym.value < min_vaddr) continue;
                if (vaddr >= sym.value && vaddr < sym.value + (sym.size ? sym.size : 1) && sym.value >= best_value) {
                    char candidate[256];
                    size_t n = 0;
                    int c = 0;
                    if (strsh.offset + sym.name > (uint64_t)LONG_MAX || fseek(f, (long)(strsh.offset + sym.name), SEEK_SET) != 0) continue;
                    while (n + 1 < sizeof candidate && n + 1 < cap && (c = fgetc(f)) != EOF && c != 0) candidate[n++] = (char)c;
                    if (n == 0) continue;                 /* a nameless symbol never replaces a named one */
                    candidate[n] = 0;
                    memcpy(name, candidate, n + 1);
                    best_value = sym.value;
                    *sym_offset = sym.value - min_vaddr;
                    found = 1;
                }
            }
        }
    }
    fclose(f);
    return found;
}

/* Reads "key":"value" or "key":number from s at or after p (our own writer's format). */
TELEMETRY__INTERNAL const char *telemetry__json_field(const char *p, const char *end, const char *key, char *out, size_t cap) {
    size_t kl = strlen(key), n = 0;
    const char *q;
    for (q = p; q + kl + 3 < end; q++) {
        if (q[0] != '"' || strncmp(q + 1, key, kl) != 0 || q[kl + 1] != '"' || q[kl + 2] != ':') continue;
        q += kl + 3;
        if (*q == '"') {
            for (q++; q < end && *q != '"' && n + 1 < cap; q++) {
                if (*q == '\\') return NULL;                  /* escaped text: not worth it here */
                out[n++] = *q;
            }
            if (q < end && *q == '"') q++;                 /* past the closing quote */
        } else {
            for (; q < end && ((*q >= '0' && *q <= '9') || *q == '-') && n + 1 < cap; q++) out[n++] = *q;
        }
        out[n] = 0;
        return q;
    }
    return NULL;
}

/* A crash envelope from the store with its frames named (ELF symbol tables of the images when
   the binary is unchanged), into out; 0 when any frame was named. */
TELEMETRY__INTERNAL int telemetry__symbolicate_envelope(const char *text, size_t len, telemetry__buf *out) {
    const char *event, *p, *events_end;
    char field[600];
    size_t ev_len, i, nimg = 0;
    int named = 0;
    telemetry__elf_image img[16];
    telemetry__buf ev;
    const char *home = telemetry__home.count ? telemetry__home.dir[0] : NULL;   /* read at init */
    /* header line, then {"type":"event","length":N} */
    p = (const char *)memchr(text, '\n', len);
    if (!p || (size_t)(p - text) + 27 > len || strncmp(p + 1, "{\"type\":\"event\",\"length\":", 25) != 0) return -1;
    ev_len = (size_t)strtoull(p + 26, NULL, 10);
    event = (const char *)memchr(p + 1, '\n', len - (size_t)(p + 1 - text));
    if (!event || (size_t)(++event - text) + ev_len > len) return -1;
    events_end = event + ev_len;
    /* the images */
    for (p = strstr(event, "\"debug_meta\""); p && p < events_end && nimg < 16; ) {
        telemetry__elf_image *im = &img[nimg];
        const char *q = telemetry__json_field(p, events_end, "image_addr", field, sizeof field);
        if (!q) break;
        im->start = strtoull(field, NULL, 16);
        if (!(q = telemetry__json_field(q, events_end, "image_size", field, sizeof field))) break;
        im->size = strtoull(field, NULL, 10);
        if (!(q = telemetry__json_field(q, events_end, "code_file", field, sizeof field))) break;
        if (field[0] == '~' && home) {
            telemetry__buf pb;
            telemetry__buf_init_fixed(&pb, im->path, sizeof im->path);
            telemetry__buf_puts(&pb, home);
            telemetry__buf_puts(&pb, field + 1);
            if (pb.failed) im->path[0] = 0;
        } else telemetry__copy(im->path, sizeof im->path, field);
        im->code_id[0] = im->debug_id[0] = 0;
        if (strncmp(q, ",\"code_id\":", 11) == 0 && (q = telemetry__json_field(q, events_end, "code_id", field, sizeof field)) != NULL)
            telemetry__copy(im->code_id, sizeof im->code_id, field);
        if (q && strncmp(q, ",\"debug_id\":", 12) == 0 && (q = telemetry__json_field(q, events_end, "debug_id", field, sizeof field)) != NULL)
            telemetry__copy(im->debug_id, sizeof im->debug_id, field);
        if (!q) break;
        nimg++;
        p = q;
    }
    /* the frames: {"instruction_addr":"0x..."} gains function and symbol_addr */
    telemetry__buf_init(&ev);
    for (p = event; p < events_end; ) {
        const char *f = strstr(p, "{\"instruction_addr\":\"0x");
        const char *close = f ? strchr(f + 22, '"') : NULL;
        uint64_t addr;
        char fname[256];
        uint64_t sym = 0;
        if (!f || f >= events_end || !close || close[1] != '}') { telemetry__buf_append(&ev, p, (size_t)(events_end - p)); break; }
        telemetry__buf_append(&ev, p, (size_t)(close + 1 - p));
        addr = strtoull(f + 21, NULL, 16);
        /* every frame but the crashing one (the last) is a return address: the call is the byte
           before it, and after a noreturn call the return address is already the next function */
        if (close[2] != ']' && addr > 0) addr--;
        for (i = 0; i < nimg; i++) {
            if ((!img[i].code_id[0] && !img[i].debug_id[0]) || addr < img[i].start || addr >= img[i].start + img[i].size) continue;
            if (telemetry__elf_symbol(img[i].path, img[i].code_id, img[i].debug_id, addr - img[i].start, fname, sizeof fname, &sym)) {
                telemetry__json j;
                telemetry__buf_puts(&ev, ",\"function\":");
                telemetry__json_init(&j, &ev);
                telemetry__json_string(&j, fname);
                telemetry__buf_puts(&ev, ",\"symbol_addr\":");
                telemetry__buf_printf(&ev, "\"0x%llx\"", (unsigned long long)(img[i].start + sym));
                named++;
            }
            break;
        }
        p = close + 1;
    }
    if (named == 0 || ev.failed) { telemetry__buf_free(&ev); return -1; }
    p = (const char *)memchr(text, '\n', len);
    telemetry__buf_append(out, text, (size_t)(p + 1 - text));
    telemetry__buf_printf(out, "{\"type\":\"event\",\"length\":%lu}\n", (unsigned long)ev.len);
    telemetry__buf_append(out, ev.data, ev.len);
    telemetry__buf_append(out, events_end, len - (size_t)(events_end - text));
    telemetry__buf_free(&ev);
    return out->failed ? -1 : 0;
}
#  endif

/* =============================================================================================
   >>sentry: events and envelopes (protocols.md sections 2 and 3)
   ============================================================================================= */
#ifndef TELEMETRY_MAX_TAGS
#  define TELEMETRY_MAX_TAGS 64
#endif
#ifndef TELEMETRY_MAX_BREADCRUMBS
#  define TELEMETRY_MAX_BREADCRUMBS 100
#endif
#define TELEMETRY__MESSAGE_MAX 8192       /* Sentry's limit for logentry.formatted */
#define TELEMETRY__EXCEPTION_TYPE_MAX 256 /* relay cuts exception.type there */

typedef struct telemetry__crumb {
    int64_t time_ms;
    char category[64];
    char message[256];
} telemetry__crumb;

typedef struct telemetry__scope {
    char tag_key[TELEMETRY_MAX_TAGS][33];
    char tag_value[TELEMETRY_MAX_TAGS][201];
    int tag_count;
    unsigned tag_gen;                 /* changes with every tag change (the events' fixed fields) */
    telemetry__crumb crumbs[TELEMETRY_MAX_BREADCRUMBS];
    int crumb_next, crumb_count;
} telemetry__scope;

TELEMETRY__DEF telemetry__scope telemetry__sc;

static const char *const telemetry__level_names[] = { "debug", "info", "warning", "error", "fatal" };

/* The sdk object of events and envelope headers: the same bytes in every one. */
#define TELEMETRY__SDK_JSON "{\"name\":\"" TELEMETRY_SDK_NAME "\",\"version\":\"" TELEMETRY_VERSION_STRING "\"}"

/* The first fields of an event, the ones that change with every event. Opens the event object. */
TELEMETRY__INTERNAL void telemetry__event_head_at(telemetry__json *j, const char *event_id, telemetry_level level, const char *ts) {
    const char *lv = telemetry__level_names[(int)level % 5];
    size_t il = strlen(event_id), tl = strlen(ts), ll = strlen(lv);
    char *d;
    telemetry__buf_presize(j->out, 1024);       /* the usual event without its message: one piece */
    if (j->depth != 0 || j->count[0] || telemetry__json_plain_run((const unsigned char *)event_id, il) != il) {
        telemetry__json_object_begin(j);        /* not the usual case: the writer checks everything */
        telemetry__json_key(j, "event_id"); telemetry__json_string(j, event_id);
        telemetry__json_key(j, "timestamp"); telemetry__json_string(j, ts);
        telemetry__json_key(j, "platform"); telemetry__json_string(j, "native");
        telemetry__json_key(j, "level"); telemetry__json_string(j, lv);
        return;
    }
    /* an id of plain characters, a timestamp and a level name: no byte to escape, one piece */
    d = telemetry__buf_room(j->out, il + tl + ll + 60);      /* exactly */
    if (!d) { j->error = 1; return; }
    memcpy(d, "{\"event_id\":\"", 13); d += 13;
    memcpy(d, event_id, il); d += il;
    memcpy(d, "\",\"timestamp\":\"", 15); d += 15;
    memcpy(d, ts, tl); d += tl;
    memcpy(d, "\",\"platform\":\"native\",\"level\":\"", 31); d += 31;
    memcpy(d, lv, ll); d += ll;
    *d++ = '"';
    *d = 0;
    j->out->len = (size_t)(d - j->out->data);
    j->count[0] = 1; j->depth = 1; j->is_object[1] = 1; j->count[1] = 1;
}
TELEMETRY__INTERNAL void telemetry__event_head(telemetry__json *j, const char *event_id, telemetry_level level, int64_t now) {
    char ts[32];
    telemetry__format_time(now, ts);
    telemetry__event_head_at(j, event_id, level, ts);
}

/* The fields that stay the same from one event to the next (logger through contexts, and the
   tags), written into the open event object. */
TELEMETRY__INTERNAL void telemetry__event_fixed_fields(telemetry__json *j) {
    char started[32];
    const telemetry__osinfo *os = &telemetry__st.os;
    int i;
    telemetry__format_time(telemetry__st.started_ms, started);
    telemetry__json_key(j, "logger"); telemetry__json_string(j, telemetry__st.app_name);
    telemetry__json_key(j, "release"); telemetry__json_string(j, telemetry__st.release);
    telemetry__json_key(j, "environment"); telemetry__json_string(j, telemetry__st.environment);
    if (telemetry__st.dist) { telemetry__json_key(j, "dist"); telemetry__json_string(j, telemetry__st.dist); }
    telemetry__json_key(j, "sdk"); telemetry__json_raw(j, TELEMETRY__SDK_JSON, sizeof TELEMETRY__SDK_JSON - 1);
    telemetry__json_key(j, "user");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "id"); telemetry__json_string(j, telemetry__st.install_id);
    telemetry__json_object_end(j);
    telemetry__json_key(j, "contexts");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "os");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "name"); telemetry__json_string(j, telemetry__os_display_name());
    /* Sentry's os.version is the kernel's release on Linux ("Linux 6.1.0-18-amd64" in its os
       tag, as relay and sentry-native have it); the distribution's version has its own place */
    if (!strcmp(telemetry__os_name(), "linux") || !strcmp(telemetry__os_name(), "windows")) {   /* Windows: "10.0.19045" */
        telemetry__json_key(j, "version"); telemetry__json_string(j, os->kernel);
    }
    else if (os->distro_version[0]) { telemetry__json_key(j, "version"); telemetry__json_string(j, os->distro_version); }
    telemetry__json_key(j, "kernel_version"); telemetry__json_string(j, os->kernel);
    if (os->distro_id[0]) {
        telemetry__json_key(j, "distribution");
        telemetry__json_object_begin(j);
        telemetry__json_key(j, "name"); telemetry__json_string(j, os->distro_id);
        if (os->distro_version[0]) { telemetry__json_key(j, "version"); telemetry__json_string(j, os->distro_version); }
        if (os->distro_pretty[0]) { telemetry__json_key(j, "pretty_name"); telemetry__json_string(j, os->distro_pretty); }
        telemetry__json_object_end(j);
    }
    telemetry__json_object_end(j);
    telemetry__json_key(j, "device");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "arch"); telemetry__json_string(j, telemetry__arch());
    telemetry__json_object_end(j);
    telemetry__json_key(j, "app");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "app_name"); telemetry__json_string(j, telemetry__st.app_name);
    telemetry__json_key(j, "app_version"); telemetry__json_string(j, telemetry__st.app_version);
    telemetry__json_key(j, "app_start_time"); telemetry__json_string(j, started);
    telemetry__json_object_end(j);
    telemetry__json_object_end(j);
    if (telemetry__sc.tag_count) {
        telemetry__json_key(j, "tags");
        telemetry__json_object_begin(j);
        for (i = 0; i < telemetry__sc.tag_count; i++) {
            telemetry__json_key(j, telemetry__sc.tag_key[i]);
            telemetry__json_string(j, telemetry__sc.tag_value[i]);
        }
        telemetry__json_object_end(j);
    }
}

/* The breadcrumbs, oldest first, into the open event object. */
TELEMETRY__INTERNAL void telemetry__event_crumbs(telemetry__json *j) {
    int i, start;
    if (!telemetry__sc.crumb_count) return;
    start = (telemetry__sc.crumb_next - telemetry__sc.crumb_count + TELEMETRY_MAX_BREADCRUMBS) % TELEMETRY_MAX_BREADCRUMBS;
    telemetry__json_key(j, "breadcrumbs");
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "values");
    telemetry__json_array_begin(j);
    for (i = 0; i < telemetry__sc.crumb_count; i++) {
        const telemetry__crumb *c = &telemetry__sc.crumbs[(start + i) % TELEMETRY_MAX_BREADCRUMBS];
        char cts[32];
        telemetry__format_time(c->time_ms, cts);
        telemetry__json_object_begin(j);
        telemetry__json_key(j, "timestamp"); telemetry__json_string(j, cts);
        telemetry__json_key(j, "category"); telemetry__json_string(j, c->category);
        telemetry__json_key(j, "message"); telemetry__json_string(j, c->message);
        telemetry__json_object_end(j);
    }
    telemetry__json_array_end(j);
    telemetry__json_object_end(j);
}

/* The fields every event carries. Leaves the event object open for the caller's fields.
   Signal-safe into a fixed buffer (the crash handler): encodes everything, keeps nothing. */
TELEMETRY__INTERNAL void telemetry__event_begin(telemetry__json *j, const char *event_id, telemetry_level level, int64_t now) {
    telemetry__event_head(j, event_id, level, now);
    telemetry__event_fixed_fields(j);
    telemetry__event_crumbs(j);
}

/* The fixed fields encoded once, as they follow the head (",\"logger\":...,\"contexts\":{...}"),
   and what they were made from that can change: the user and the tags' generation. The release,
   environment and contexts change only with a new telemetry_init, which starts a new copy. */
typedef struct telemetry__event_fixed {
    telemetry__buf scratch;                /* where the caller's thread encodes each event */
    int64_t time_secs;                     /* the second time_text shows (-1: none yet) */
    char time_text[32];
    telemetry__buf bytes;
    char user[33];
    unsigned tag_gen;
    int ok;
} telemetry__event_fixed;

TELEMETRY__DEF telemetry__event_fixed telemetry__evf;

/* The fixed fields' bytes, made again when the user or a tag changed; NULL when out of memory.
   Library lock held. */
TELEMETRY__INTERNAL const telemetry__buf *telemetry__event_fixed_bytes(void) {
    telemetry__event_fixed *f = &telemetry__evf;
    telemetry__json j;
    if (f->ok && f->tag_gen == telemetry__sc.tag_gen && strcmp(f->user, telemetry__st.install_id) == 0) return &f->bytes;
    f->ok = 0;
    f->bytes.len = 0;
    f->bytes.failed = 0;
    telemetry__json_init(&j, &f->bytes);
    j.depth = 1; j.is_object[1] = 1; j.count[1] = 1;      /* inside the event, after the head */
    telemetry__event_fixed_fields(&j);
    if (f->bytes.failed || j.error || j.depth != 1) return NULL;
    telemetry__copy(f->user, sizeof f->user, telemetry__st.install_id);
    f->tag_gen = telemetry__sc.tag_gen;
    f->ok = 1;
    return &f->bytes;
}
TELEMETRY__INTERNAL void telemetry__event_fixed_free(void) {
    telemetry__buf_free(&telemetry__evf.scratch);
    telemetry__buf_free(&telemetry__evf.bytes);
    memset(&telemetry__evf, 0, sizeof telemetry__evf);
    telemetry__images_free();                            /* the images of error events (>>stack) */
}

/* telemetry__event_begin for the caller's thread: the fixed fields copied from their encoding.
   The same bytes. Library lock held. */
TELEMETRY__INTERNAL void telemetry__event_begin_cached(telemetry__json *j, const char *event_id, telemetry_level level, int64_t now) {
    const telemetry__buf *fixed = telemetry__event_fixed_bytes();
    telemetry__event_fixed *f = &telemetry__evf;
    int64_t secs = now >= 0 ? now / 1000 : (now - 999) / 1000;
    int ms = (int)(now - secs * 1000);
    /* the date and time to the second are made again only when the second changes */
    if (secs != f->time_secs || !f->time_text[0]) { telemetry__format_time(now, f->time_text); f->time_secs = secs; }
    f->time_text[20] = (char)('0' + ms / 100); f->time_text[21] = (char)('0' + ms / 10 % 10); f->time_text[22] = (char)('0' + ms % 10);
    telemetry__event_head_at(j, event_id, level, f->time_text);
    if (fixed) telemetry__buf_append(j->out, fixed->data, fixed->len);
    else telemetry__event_fixed_fields(j);
    telemetry__event_crumbs(j);
}

/* The envelope header line (protocols.md 2.2): event_id when it carries an event, sent_at when
   the bytes go out now (the outbox stores envelopes without it and adds it when sending), sdk.
   Signal-safe into a fixed buffer: the crash handler writes its header with it. */
TELEMETRY__INTERNAL int telemetry__envelope_header(telemetry__buf *out, const char *event_id, const char *sent_at) {
    telemetry__json j;
    size_t il = event_id ? strlen(event_id) : 0, sl = sent_at ? strlen(sent_at) : 0;
    char *d;
    telemetry__buf_presize(out, 128 + sizeof TELEMETRY__SDK_JSON);    /* the usual header: one piece */
    if (telemetry__json_plain_run((const unsigned char *)(event_id ? event_id : ""), il) == il &&
        telemetry__json_plain_run((const unsigned char *)(sent_at ? sent_at : ""), sl) == sl &&
        (d = telemetry__buf_room(out, 1 + (event_id ? il + 14 : 0) + (sent_at ? sl + 13 : 0) + 6 + sizeof TELEMETRY__SDK_JSON)) != NULL) {
        /* ids and times of plain characters (always, from this library): no byte to escape */
        char *start = d;
        *d++ = '{';
        if (event_id) { memcpy(d, "\"event_id\":\"", 12); d += 12; memcpy(d, event_id, il); d += il; *d++ = '"'; *d++ = ','; }
        if (sent_at) { memcpy(d, "\"sent_at\":\"", 11); d += 11; memcpy(d, sent_at, sl); d += sl; *d++ = '"'; *d++ = ','; }
        memcpy(d, "\"sdk\":", 6); d += 6;
        memcpy(d, TELEMETRY__SDK_JSON "}", sizeof TELEMETRY__SDK_JSON); d += sizeof TELEMETRY__SDK_JSON;
        *d = 0;
        out->len += (size_t)(d - start);
        return 0;
    }
    telemetry__json_init(&j, out);
    telemetry__json_object_begin(&j);
    if (event_id) { telemetry__json_key(&j, "event_id"); telemetry__json_string(&j, event_id); }
    if (sent_at) { telemetry__json_key(&j, "sent_at"); telemetry__json_string(&j, sent_at); }
    telemetry__json_key(&j, "sdk"); telemetry__json_raw(&j, TELEMETRY__SDK_JSON, sizeof TELEMETRY__SDK_JSON - 1);
    telemetry__json_object_end(&j);
    return telemetry__json_finish(&j);
}
TELEMETRY__INTERNAL int telemetry__envelope_begin(telemetry__buf *out, const char *event_id, int64_t now) {
    char ts[32];
    telemetry__format_time(now, ts);
    return telemetry__envelope_header(out, event_id, ts);
}
/* One item: "\n", its header with an explicit length, the payload, and a closing "\n". */
TELEMETRY__INTERNAL int telemetry__envelope_item(telemetry__buf *out, const char *item_type, const char *payload, size_t len) {
    size_t tl = strlen(item_type);
    char digits[24], *d;
    int k = 24;
    size_t v = len;
    do { digits[--k] = (char)('0' + v % 10); v /= 10; } while (v);
    d = telemetry__buf_room(out, 10 + tl + 11 + (size_t)(24 - k) + 2 + len);     /* one piece, exactly */
    if (d) {
        char *start = d;
        memcpy(d, "\n{\"type\":\"", 10); d += 10;
        memcpy(d, item_type, tl); d += tl;
        memcpy(d, "\",\"length\":", 11); d += 11;
        memcpy(d, digits + k, (size_t)(24 - k)); d += 24 - k;
        *d++ = '}'; *d++ = '\n';
        memcpy(d, payload, len); d += len;
        *d = 0;
        out->len += (size_t)(d - start);
    }
    return out->failed ? (out->fixed ? TELEMETRY_ERR_NO_SPACE : TELEMETRY_ERR_NO_MEMORY) : 0;
}
TELEMETRY__INTERNAL int telemetry__envelope_end(telemetry__buf *out) {
    telemetry__buf_putc(out, '\n');
    return out->failed ? (out->fixed ? TELEMETRY_ERR_NO_SPACE : TELEMETRY_ERR_NO_MEMORY) : 0;
}

/* ---- release health sessions (protocols.md section 4) ------------------------------------- */

/* Written in pieces rather than through the writer's keys (the same bytes): it rides along with
   every error event, on the caller's thread. Into a fixed buffer it is signal-safe. */
TELEMETRY__INTERNAL int telemetry__session_json(telemetry__buf *out, const telemetry__session *se) {
    char started[32], ts[32];
    size_t release_len = strlen(se->release), environment_len = strlen(se->environment);
    telemetry__format_time(se->started_ms, started);
    telemetry__format_time(se->updated_ms, ts);
    telemetry__buf_presize(out, 240 + release_len + environment_len);
    telemetry__buf_append(out, "{\"sid\":", 7);
    telemetry__json_quote(out, se->sid, strlen(se->sid));
    if (se->did[0]) { telemetry__buf_append(out, ",\"did\":", 7); telemetry__json_quote(out, se->did, strlen(se->did)); }
    if (se->init_pending) telemetry__buf_append(out, ",\"init\":true", 12);
    telemetry__buf_append(out, ",\"started\":\"", 12);
    telemetry__buf_puts(out, started);
    telemetry__buf_append(out, "\",\"timestamp\":\"", 15);
    telemetry__buf_puts(out, ts);
    telemetry__buf_putc(out, '"');
    if (strcmp(se->status, "ok") != 0) {
        telemetry__json j;                        /* a writer just past a key: the number alone */
        telemetry__json_init(&j, out);
        j.depth = 1; j.is_object[1] = 1; j.count[1] = 1; j.after_key = 1;
        telemetry__buf_append(out, ",\"duration\":", 12);
        telemetry__json_decimal(&j, se->updated_ms > se->started_ms ? se->updated_ms - se->started_ms : 0, 3);
    }
    telemetry__buf_append(out, ",\"status\":", 10);
    telemetry__json_quote(out, se->status, strlen(se->status));
    telemetry__buf_append(out, ",\"errors\":", 10);
    telemetry__buf_put_i64(out, se->errors);
    telemetry__buf_append(out, ",\"attrs\":{\"release\":", 20);
    telemetry__json_quote(out, se->release, release_len);
    telemetry__buf_append(out, ",\"environment\":", 15);
    telemetry__json_quote(out, se->environment, environment_len);
    telemetry__buf_append(out, "}}", 2);
    return out->failed ? (out->fixed ? TELEMETRY_ERR_NO_SPACE : TELEMETRY_ERR_NO_MEMORY) : TELEMETRY_OK;
}

/* The session file: "key=value" lines, so a run that never reaches shutdown leaves its session
   for the next run to report as abnormal. */
TELEMETRY__INTERNAL void telemetry__session_text(const telemetry__session *se, telemetry__buf *b) {
    /* pieces, not printf: it is made again at every error event, on the caller's thread */
    telemetry__buf_presize(b, 128 + strlen(se->release) + strlen(se->environment));
    telemetry__buf_puts(b, "sid="); telemetry__buf_puts(b, se->sid);
    telemetry__buf_puts(b, "\ndid="); telemetry__buf_puts(b, se->did);
    telemetry__buf_puts(b, "\nrelease="); telemetry__buf_puts(b, se->release);
    telemetry__buf_puts(b, "\nenvironment="); telemetry__buf_puts(b, se->environment);
    telemetry__buf_puts(b, "\nstatus="); telemetry__buf_puts(b, se->status);
    telemetry__buf_puts(b, "\nstarted="); telemetry__buf_put_i64(b, se->started_ms);
    telemetry__buf_puts(b, "\nupdated="); telemetry__buf_put_i64(b, se->updated_ms);
    telemetry__buf_puts(b, "\nerrors="); telemetry__buf_put_i64(b, se->errors);
    telemetry__buf_puts(b, "\ninit="); telemetry__buf_put_i64(b, se->init_pending);
    telemetry__buf_putc(b, '\n');
}

TELEMETRY__INTERNAL int telemetry__session_save(const telemetry__session *se, const char *path) {
    telemetry__buf b;
    int rc;
    telemetry__buf_init(&b);
    telemetry__session_text(se, &b);
    rc = b.failed ? TELEMETRY_ERR_NO_MEMORY : telemetry__write_file_atomic(path, b.data, b.len, 0);
    telemetry__buf_free(&b);
    return rc;
}

TELEMETRY__INTERNAL int telemetry__session_parse(const char *text, telemetry__session *se) {
    const char *line;
    memset(se, 0, sizeof *se);
    for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *eq = strchr(line, '='), *end = strchr(line, '\n');
        char value[256];
        size_t n;
        if (!end) end = line + strlen(line);
        if (!eq || eq > end) continue;
        n = (size_t)(end - eq - 1);
        if (n >= sizeof value) continue;
        memcpy(value, eq + 1, n);
        value[n] = 0;
#define TELEMETRY__FIELD(name) ((size_t)(eq - line) == strlen(name) && strncmp(line, name, strlen(name)) == 0)
        if (TELEMETRY__FIELD("sid")) telemetry__copy(se->sid, sizeof se->sid, value);
        else if (TELEMETRY__FIELD("did")) telemetry__copy(se->did, sizeof se->did, value);
        else if (TELEMETRY__FIELD("release")) telemetry__copy(se->release, sizeof se->release, value);
        else if (TELEMETRY__FIELD("environment")) telemetry__copy(se->environment, sizeof se->environment, value);
        else if (TELEMETRY__FIELD("status")) telemetry__copy(se->status, sizeof se->status, value);
        else if (TELEMETRY__FIELD("started")) se->started_ms = strtoll(value, NULL, 10);
        else if (TELEMETRY__FIELD("updated")) se->updated_ms = strtoll(value, NULL, 10);
        else if (TELEMETRY__FIELD("errors")) se->errors = strtoll(value, NULL, 10);
        else if (TELEMETRY__FIELD("init")) se->init_pending = value[0] == '1';
#undef TELEMETRY__FIELD
    }
    if (!telemetry__is_hex_id(se->sid) || !se->release[0] || !se->environment[0] || se->started_ms <= 0) return TELEMETRY_ERR_INVALID_ARGUMENT;
    if (strcmp(se->status, "ok") && strcmp(se->status, "exited") && strcmp(se->status, "crashed") && strcmp(se->status, "abnormal"))
        return TELEMETRY_ERR_INVALID_ARGUMENT;
    if (se->errors < 0) se->errors = 0;
    if (se->updated_ms < se->started_ms) se->updated_ms = se->started_ms;
    return 0;
}

/* ---- rate limits (protocols.md 5.3) -------------------------------------------------------- */
#define TELEMETRY__RL_CAP_MS (24 * 3600 * 1000LL)

/* Applies one response's limits to until[] (wall-clock ms a category stays blocked). Elements
   that do not parse are skipped; unknown categories are ignored; a limit only ever extends. */
TELEMETRY__INTERNAL void telemetry__rate_limits_update(int64_t until[TELEMETRY__RL_COUNT], int status,
                                                      const char *limits, const char *retry_after, int64_t now) {
    int applied = 0;
    const char *p = limits;
    while (p && *p) {
        const char *end = strchr(p, ','), *q;
        char el[256];                  /* the element without white space, which is insignificant */
        size_t n = 0;
        int64_t ms = 0, frac = 0, scale = 1;
        int digits = 0, known = 0, any = 0, k;
        int hit[TELEMETRY__RL_COUNT] = { 0, 0, 0, 0 };
        if (!end) end = p + strlen(p);
        for (q = p; q < end && n < sizeof el - 1; q++) if (*q != ' ' && *q != '\t') el[n++] = *q;
        el[n] = 0;
        p = *end ? end + 1 : NULL;
        q = el;
        end = el + n;
        while (q < end && *q >= '0' && *q <= '9') { if (ms < TELEMETRY__RL_CAP_MS) ms = ms * 10 + (*q - '0'); q++; digits++; }
        if (q < end && *q == '.') for (q++; q < end && *q >= '0' && *q <= '9'; q++) { if (scale < 1000000) { frac = frac * 10 + (*q - '0'); scale *= 10; } }
        if (digits && q < end && *q == ':') {
            ms = ms * 1000 + (frac * 1000 + scale - 1) / scale;    /* whole seconds, rounded up */
            ms = ((ms + 999) / 1000) * 1000;
            if (ms > TELEMETRY__RL_CAP_MS) ms = TELEMETRY__RL_CAP_MS;
            q++;
            while (q < end && *q != ':') {
                const char *c = q;
                while (q < end && *q != ';' && *q != ':') q++;
                n = (size_t)(q - c);
                any = 1;
                if ((n == 5 && !strncmp(c, "error", 5)) || (n == 7 && !strncmp(c, "default", 7))) { hit[TELEMETRY__RL_ERROR] = 1; known = 1; }
                else if (n == 7 && !strncmp(c, "session", 7)) { hit[TELEMETRY__RL_SESSION] = 1; known = 1; }
                else if (n == 8 && !strncmp(c, "internal", 8)) { hit[TELEMETRY__RL_INTERNAL] = 1; known = 1; }
                if (q < end && *q == ';') q++;
            }
            if (!any) { hit[TELEMETRY__RL_ALL] = 1; known = 1; }
            if (known) {                                   /* a 0 s limit blocks nothing */
                for (k = 0; k < TELEMETRY__RL_COUNT; k++) if (hit[k] && ms > 0 && now + ms > until[k]) until[k] = now + ms;
                applied = 1;
            }
        }
    }
    if (status == 429 && !applied) {
        int64_t secs = 60;
        if (retry_after) {
            const char *r = retry_after;
            int64_t v = 0;
            while (*r == ' ') r++;
            if (*r >= '0' && *r <= '9') { while (*r >= '0' && *r <= '9' && v < 86400) v = v * 10 + (*r++ - '0'); secs = v; }
        }
        if (secs * 1000 > TELEMETRY__RL_CAP_MS) secs = TELEMETRY__RL_CAP_MS / 1000;
        /* "Retry-After: 0" asks for no wait at all */
        if (secs > 0 && now + secs * 1000 > until[TELEMETRY__RL_ALL]) until[TELEMETRY__RL_ALL] = now + secs * 1000;
    }
}
TELEMETRY__INTERNAL int telemetry__rate_limited(const int64_t until[TELEMETRY__RL_COUNT], int category, int64_t now) {
    return until[TELEMETRY__RL_ALL] > now || until[category] > now;
}

typedef enum telemetry__kind { TELEMETRY__KIND_USAGE, TELEMETRY__KIND_ENVELOPE } telemetry__kind;

/* =============================================================================================
   >>outbox: the durable store. Every payload is appended to it before the call that made it
   returns; the sender (>>send: a sidecar process or a worker thread) reads it from there.

   Layout of <state_dir>/outbox/:
     <13-digit ms>-<pid>-<8 hex>.seg   segments; each process appends to its own, one write() per
                                       record (O_APPEND), and holds flock(LOCK_EX) on it while it
                                       lives, so a sender can tell a finished segment from a
                                       growing one. A new segment begins past TELEMETRY_SEGMENT_BYTES.
     <name>.seg.new                    a segment being made (created, locked, renamed); one that is
                                       an hour old by its name's time was abandoned: the sender
                                       deletes it.
     sender.lock                       flock(LOCK_EX) by the one process that sends (per folder).
   A record: a 40-byte header, then the payload.
     0  "TLR1"   4  payload length (LE)   8  checksum (LE) of the header, with bytes 8..11 and 15
     read as zeros, and the payload (telemetry__rec_sum: our own, not a CRC; below)
     12 kind  13 category  14 flags (1: crash)  15 state: 0 unsent, 'S' sent, 'D' dropped (the
     sender writes this byte in place: the durable "sent" mark; 'A' a Firebase write attempted, not
     yet acknowledged)  16 Firebase push id (20 bytes, or zeros)  36 zeros
   A record torn by a crash or damaged on disk fails its checksum and is skipped (marked 'D'); a
   record longer than the disk cap is skipped without being read.
   ============================================================================================= */
#ifndef TELEMETRY_OUTBOX_DISK
#  define TELEMETRY_OUTBOX_DISK (8u * 1024u * 1024u)   /* bytes of unsent payloads kept on disk */
#endif
#ifndef TELEMETRY_SEGMENT_BYTES
#  define TELEMETRY_SEGMENT_BYTES (256u * 1024u)       /* a writer starts a new segment past this */
#endif
#ifndef TELEMETRY_SIDECAR_LIFETIME_MS
#  define TELEMETRY_SIDECAR_LIFETIME_MS 30000          /* the sidecar's time after the program */
#endif

#if !defined(_WIN32) && !defined(TELEMETRY_NO_FILES)
#  include <sys/uio.h>
#  include <sys/mman.h>
#  include <sys/wait.h>
#  include <sys/resource.h>
#  include <poll.h>
#  if defined(__linux__)
#    include <sys/prctl.h>
#    include <sys/syscall.h>
     /* strict POSIX hides syscall in glibc and in musl; their prototypes carry no exception
        specification, so declaring it again is exact in C and C++ (the crash handler uses it too) */
#    if (defined(__GLIBC__) && !defined(__USE_MISC)) || (!defined(__GLIBC__) && !defined(__ANDROID__))
#      ifdef __cplusplus
extern "C"
#      endif
long syscall(long number, ...);
#    endif
#  endif
#  include <sys/file.h>
#  if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#    define MAP_ANONYMOUS MAP_ANON
#  elif !defined(MAP_ANONYMOUS) && defined(__linux__)
#    define MAP_ANONYMOUS 0x20                    /* hidden by strict POSIX headers: the Linux value */
#  endif
#endif

/* TELEMETRY_NO_FILES has no crash handler (nothing to write a crash into) and no sidecar (no
   folder to share): the store is one segment in memory, mirrored to cfg.storage (>>files). */
#if !defined(TELEMETRY_NO_CRASH_HANDLER) && !defined(TELEMETRY_NO_FILES)
#  define TELEMETRY__HAVE_CRASH 1               /* >>crash: delivery arms and disarms it */
TELEMETRY__INTERNAL int telemetry__crash_install(void);
TELEMETRY__INTERNAL void telemetry__crash_uninstall(void);
#endif

/* ---- threads: a condition variable and a worker thread ------------------------------------ */
#if !defined(TELEMETRY_NO_THREADS)
#  if defined(_WIN32)
typedef CONDITION_VARIABLE telemetry__cond;
typedef HANDLE telemetry__thread;
TELEMETRY__INTERNAL void telemetry__cond_init(telemetry__cond *c) { InitializeConditionVariable(c); }
TELEMETRY__INTERNAL void telemetry__cond_destroy(telemetry__cond *c) { (void)c; }
TELEMETRY__INTERNAL void telemetry__cond_signal(telemetry__cond *c) { WakeAllConditionVariable(c); }
TELEMETRY__INTERNAL void telemetry__cond_wait_ms(telemetry__cond *c, telemetry__mutex *m, int64_t ms) {
    SleepConditionVariableSRW(c, m, (DWORD)(ms < 0 ? 0 : ms), 0);
}
#  else
typedef pthread_cond_t telemetry__cond;
typedef pthread_t telemetry__thread;
TELEMETRY__INTERNAL void telemetry__cond_init(telemetry__cond *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
#    if !defined(__APPLE__)
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);        /* waits immune to wall-clock jumps */
#    endif
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}
TELEMETRY__INTERNAL void telemetry__cond_destroy(telemetry__cond *c) { pthread_cond_destroy(c); }
TELEMETRY__INTERNAL void telemetry__cond_signal(telemetry__cond *c) { pthread_cond_broadcast(c); }
TELEMETRY__INTERNAL void telemetry__cond_wait_ms(telemetry__cond *c, telemetry__mutex *m, int64_t ms) {
    struct timespec ts;
    if (ms < 0) ms = 0;
#    if defined(__APPLE__)
    clock_gettime(CLOCK_REALTIME, &ts);
#    else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#    endif
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(c, m, &ts);
}
#  endif
#endif

/* ---- categories and drop reasons ------------------------------------------------------------ */
enum { TELEMETRY__CAT_USAGE, TELEMETRY__CAT_ERROR, TELEMETRY__CAT_SESSION, TELEMETRY__CAT_INTERNAL, TELEMETRY__CAT_COUNT };
static const char *const telemetry__cat_names[TELEMETRY__CAT_COUNT] = { "usage", "error", "session", "internal" };
/* Sentry's client report reasons for what we drop. */
enum { TELEMETRY__DROP_CACHE, TELEMETRY__DROP_SEND_ERROR, TELEMETRY__DROP_COUNT };
static const char *const telemetry__drop_names[TELEMETRY__DROP_COUNT] = { "cache_overflow", "send_error" };

/* What the program and its sender share. In sidecar mode this is a page mapped MAP_SHARED before
   the fork, so the sidecar sees the session as the program last left it (and whether it ended or
   crashed) after the program is gone; in thread mode it is plain memory. Written by the program
   under the library's lock (and by the crash handler), read by the sender. */
typedef struct telemetry__shared {
    volatile int ended;             /* the session's last update is in the store */
    volatile int crashed;           /* the crash handler wrote the crash and the crashed session */
    int revoked;                    /* consent revoked: send nothing more, stop at once (also the
                                       cancel flag of the sidecar's request in progress) */
    volatile int fresh;             /* telemetry_flush: endpoints in back-off get a fresh try */
    int active;                     /* the run's first work happened and it may send: the sidecar
                                       sends nothing before (a run that does nothing sends nothing) */
    volatile unsigned segments;     /* bumped when the program starts a segment: look again */
    int idle;                       /* the sidecar sleeps: the next append wakes it through the pipe */
    volatile unsigned session_seq;  /* odd while the program rewrites session (a seqlock) */
    volatile unsigned flush_gen;    /* telemetry_flush asks; the sender answers in idle_gen */
    volatile unsigned idle_gen;
    volatile int unsent;            /* records the sender holds back (failing, rate limited) */
    volatile long sidecar_pid;
    int has_session;
    telemetry__session session;
    int64_t dropped[TELEMETRY__CAT_COUNT];   /* dropped at the disk cap, not yet told */
} telemetry__shared;

/* ---- records -------------------------------------------------------------------------------- */
#define TELEMETRY__REC_HEADER 40
#define TELEMETRY__REC_CRASH 1

/* The record checksum, our own design (a byte-wise CRC-32 cost 7 instructions a byte, 60 % of a
   capture; this costs about half an instruction a byte on a 64-bit CPU and needs no table, so
   nothing has to be made before a fork or a signal). The bytes are read as little-endian 64-bit
   words, the last one padded with zeros; each word is mixed in by h = mix(h ^ word), where mix
   multiplies by an odd constant to 128 bits and adds the two halves (mod 2^64); the result is
   the 64-bit h folded to 32 bits (h ^ h >> 32). Every bit of a word reaches every bit of h in one
   step and the next words carry it on, so damage is missed with a chance of about 2^-32, as with
   a CRC-32 (which unlike this also promises to catch every burst of up to 32 bits).
   tests/check_store.py has the same function in Python. */
#define TELEMETRY__SUM_K UINT64_C(0x9E3779B97F4A7C15)  /* 2^64 / golden ratio: odd, dense bits */
#define TELEMETRY__SUM_SEED UINT64_C(0x243F6A8885A308D3)
#if defined(__SIZEOF_INT128__) && (defined(__GNUC__) || defined(__clang__))
__extension__ typedef unsigned __int128 telemetry__sum_u128;
TELEMETRY__HOT uint64_t telemetry__sum_mix(uint64_t x) {
    telemetry__sum_u128 p = (telemetry__sum_u128)x * TELEMETRY__SUM_K;
    return (uint64_t)p + (uint64_t)(p >> 64);
}
#else
/* 32-bit CPUs (and compilers without a 128-bit type): the same product from four 32x32 -> 64
   multiplies */
TELEMETRY__HOT uint64_t telemetry__sum_mix(uint64_t x) {
    uint64_t xl = (uint32_t)x, xh = x >> 32, kl = (uint32_t)TELEMETRY__SUM_K, kh = TELEMETRY__SUM_K >> 32;
    uint64_t ll = xl * kl, lh = xl * kh, hl = xh * kl, hh = xh * kh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;          /* < 3 * 2^32: no overflow */
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo + hi;
}
#endif
TELEMETRY__HOT uint64_t telemetry__get64(const unsigned char *p) {   /* little-endian */
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}
/* h with len bytes at p mixed in (whole words, then the rest padded with zeros). */
TELEMETRY__INTERNAL uint64_t telemetry__sum(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t w = 0;
#if defined(__SIZEOF_INT128__) && (defined(__GNUC__) || defined(__clang__))
    for (; len >= 32; len -= 32, p += 32) {        /* four words a turn: fewer loop steps */
        h = telemetry__sum_mix(h ^ telemetry__get64(p));
        h = telemetry__sum_mix(h ^ telemetry__get64(p + 8));
        h = telemetry__sum_mix(h ^ telemetry__get64(p + 16));
        h = telemetry__sum_mix(h ^ telemetry__get64(p + 24));
    }
#endif                                             /* (not where each mix is long: small code) */
    for (; len >= 8; len -= 8, p += 8) h = telemetry__sum_mix(h ^ telemetry__get64(p));
    if (len) {
        while (len--) w |= (uint64_t)p[len] << (8 * len);
        h = telemetry__sum_mix(h ^ w);
    }
    return h;
}
TELEMETRY__INTERNAL void telemetry__put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
TELEMETRY__INTERNAL uint32_t telemetry__get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
/* The checksum a record must have: the sum of its 40-byte header, with bytes 8..11 (the checksum)
   and 15 (the state, which the sender writes in place) read as zeros, then of its payload. */
TELEMETRY__INTERNAL uint32_t telemetry__rec_sum(const unsigned char *h, const void *payload, size_t len) {
    unsigned char head[TELEMETRY__REC_HEADER];
    uint64_t s;
    memcpy(head, h, sizeof head);
    head[8] = head[9] = head[10] = head[11] = head[15] = 0;
    s = telemetry__sum(TELEMETRY__SUM_SEED, head, sizeof head);
    s = telemetry__sum(s, payload, len);
    return (uint32_t)(s ^ s >> 32);
}
/* Fills a record header. Async-signal-safe (the crash handler uses it). */
TELEMETRY__INTERNAL void telemetry__rec_header(unsigned char *h, int kind, int category, int flags, const char *push_id,
                                               const void *payload, size_t len) {
    size_t i;
    memset(h, 0, TELEMETRY__REC_HEADER);
    h[0] = 'T'; h[1] = 'L'; h[2] = 'R'; h[3] = '1';
    telemetry__put32(h + 4, (uint32_t)len);
    h[12] = (unsigned char)kind; h[13] = (unsigned char)category; h[14] = (unsigned char)flags;
    for (i = 0; push_id && i < 20 && push_id[i]; i++) h[16 + i] = (unsigned char)push_id[i];
    telemetry__put32(h + 8, telemetry__rec_sum(h, payload, len));
}

/* ---- the writer: this process's segment ------------------------------------------------------ */
typedef struct telemetry__store {
    char dir[1100];             /* "<state>/outbox"; "" for a memory-only store (an unlinked file) */
    int fd;                     /* the segment this process appends to, -1 when none */
    int crash_fd;               /* a duplicate the crash handler writes to: never closed or rotated */
    char name[64];              /* its file name */
    uint64_t bytes;             /* written to it */
    uint64_t others;            /* bytes on disk of the other segments at the last count */
    int64_t counted_at;         /* monotonic ms of that count, 0: not counted yet */
    uint64_t cap;
    int fsize_guard;            /* RLIMIT_FSIZE is set: SIGXFSZ blocked around writes */
    int64_t appended;           /* records written by this process (tests, benchmarks) */
    telemetry__mutex lock;      /* appends and rotation */
} telemetry__store;

TELEMETRY__DEF telemetry__store telemetry__sto = { "", -1, -1, "", 0, 0, 0, 0, 0, 0, TELEMETRY__MUTEX_INIT };
TELEMETRY__DEF telemetry__shared *telemetry__sh;
/* Thread mode: what the crash handler and the threads that go on running meanwhile agree on. Each
   flag is raised before the other side's is read (sequentially consistent: of two threads, at
   least one sees the other's), so a crash and a session-file write or a request never miss each
   other. crashing: the crash handler started to write the crash (no request or session write
   begins after it); session_writing / sending: the id of the thread replacing the session file
   / in a request (the handler waits for it, bounded, unless it is that thread itself). */
TELEMETRY__DEF long telemetry__crashing;
TELEMETRY__DEF long telemetry__session_writing;
TELEMETRY__DEF long telemetry__sending[2];   /* one per endpoint: each has its own lane */
#if defined(TELEMETRY_NO_THREADS)
#  define TELEMETRY__SC_SET(p, v) (*(p) = (v))
#  define TELEMETRY__SC_GET(p) (*(p))
#elif defined(__GNUC__) || defined(__clang__)
#  define TELEMETRY__SC_SET(p, v) ((void)__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST))
#  define TELEMETRY__SC_GET(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#else
#  define TELEMETRY__SC_SET(p, v) ((void)_InterlockedExchange((volatile long *)(p), (v)))
#  define TELEMETRY__SC_GET(p) _InterlockedOr((volatile long *)(p), 0)
#endif
/* This thread's id as the crash handler knows it (Linux), or -1: some thread, unknown. */
TELEMETRY__INTERNAL long telemetry__thread_id(void) {
#if defined(__linux__) && !defined(TELEMETRY_NO_FILES)      /* (<sys/syscall.h>: above) */
    return (long)syscall(SYS_gettid);
#elif defined(_WIN32)
    return (long)GetCurrentThreadId();
#else
    return -1;
#endif
}
/* Raises flag for this thread unless a crash is being written: 1 when the caller may go on (it
   then calls telemetry__busy_end), 0 when it must not begin. */
TELEMETRY__INTERNAL int telemetry__busy_begin(long *flag) {
    TELEMETRY__SC_SET(flag, telemetry__thread_id());
    if (!TELEMETRY__SC_GET(&telemetry__crashing)) return 1;
    TELEMETRY__SC_SET(flag, 0L);
    return 0;
}
TELEMETRY__INTERNAL void telemetry__busy_end(long *flag) { TELEMETRY__SC_SET(flag, 0L); }
/* Writes the session file (thread mode: what the next run reports if this one never ends) unless
   a crash is being written; a crash that came during the write had the handler wait for it, or
   give up waiting: then the file that just appeared goes here. */
TELEMETRY__INTERNAL void telemetry__session_file_write(const char *path, const char *text, size_t len) {
    if (!telemetry__busy_begin(&telemetry__session_writing)) return;
    telemetry__write_file_atomic(path, text, len, 0);
    if (TELEMETRY__SC_GET(&telemetry__crashing)) telemetry__remove_file(path);
    telemetry__busy_end(&telemetry__session_writing);
}
/* (TELEMETRY_NO_SOCKETS: the program's own stream lives in the program, so its thread sends) */
#if !defined(TELEMETRY_NO_THREADS) && !defined(TELEMETRY_NO_SIDECAR) && !defined(TELEMETRY_NO_SOCKETS) && defined(__linux__) && \
    !defined(TELEMETRY_NO_FILES)
#  define TELEMETRY__HAVE_SIDECAR 1
/* Our own fork of the sidecar skips the fork handlers (it holds the lock they would take). */
static pid_t telemetry__sidecar_child1;        /* the first of the two forks, until reaped */
/* Reaps the intermediate child of the sidecar's double fork; wait: block until it has exited. */
TELEMETRY__INTERNAL void telemetry__reap_child1(int wait) {
    int st;
    pid_t r;
    if (telemetry__sidecar_child1 <= 0) return;
#  if !defined(__WCLONE)
#    define __WCLONE 0x80000000
#  endif
    do r = waitpid(telemetry__sidecar_child1, &st, (wait ? 0 : WNOHANG) | (int)__WCLONE); while (r < 0 && errno == EINTR);
    if (r != 0) telemetry__sidecar_child1 = 0;  /* reaped (or by the program: ECHILD) */
}
#endif

#if defined(TELEMETRY_NO_FILES)
/* ---- TELEMETRY_NO_FILES: the store is one segment in memory holding the same records, saved
   whole to cfg.storage's key "outbox" after every change and read back at open, so a reset loses
   at most the change being saved. Records every earlier one of which is done are dropped from
   its front (telemetry__seg_settle). Bounded by the cap like the folder (its bytes, not blocks). */
#  define TELEMETRY__RAM_FD (-2)                /* the "fd" of the segment in memory */
#  define telemetry__flock(fd, op) 0            /* one process: nobody to lock against */
#  define telemetry__fd_trylock(fd, keep) 0
#  if !defined(TELEMETRY_NO_THREADS)
#    define telemetry__thread_start(t, fn, arg) pthread_create((t), NULL, (fn), (arg))
#    define telemetry__thread_join(t) pthread_join((t), NULL)
#    define telemetry__thread_detach(t) pthread_detach(t)
#    define telemetry__mutex_init(m) pthread_mutex_init((m), NULL)
#    define telemetry__mutex_destroy(m) pthread_mutex_destroy(m)
#  endif
#  define LOCK_EX 2
#  define LOCK_NB 4
typedef struct telemetry__ram { unsigned char *data; size_t len, cap; } telemetry__ram;
TELEMETRY__DEF telemetry__ram telemetry__ram_seg;

/* The segment into cfg.storage (nothing without one). Store lock held. */
TELEMETRY__INTERNAL void telemetry__ram_save(void) {
    const telemetry_storage *st = telemetry__storage;
    int rc;
    if (!st) return;
    rc = telemetry__ram_seg.len ? st->save(st->user_data, "outbox", telemetry__ram_seg.data, telemetry__ram_seg.len)
                                : st->remove(st->user_data, "outbox");
    if (rc != 0) telemetry__log(TELEMETRY_LEVEL_WARNING, "cfg.storage could not save the outbox: it is kept in memory");
}
TELEMETRY__INTERNAL int telemetry__store_open(telemetry__store *s, const char *state_dir, uint64_t cap) {
    const telemetry_storage *st = telemetry__storage;
    telemetry__ram *r = &telemetry__ram_seg;
    long n;
    (void)state_dir;
    s->dir[0] = s->name[0] = 0;
    s->fd = TELEMETRY__RAM_FD;
    s->crash_fd = -1;
    s->others = 0;
    s->counted_at = 0;
    s->appended = 0;
    s->cap = cap;
    s->fsize_guard = 0;
    r->len = 0;
    if (st && (n = st->load(st->user_data, "outbox", NULL, 0)) > 0) {   /* what the last boot left */
        size_t want = (uint64_t)n < cap ? (size_t)n : (size_t)cap;
        unsigned char *d = (unsigned char *)telemetry__realloc(r->data, want);
        if (d) {
            r->data = d;
            r->cap = want;
            n = st->load(st->user_data, "outbox", d, want);
            r->len = n < 0 ? 0 : (size_t)n < want ? (size_t)n : want;   /* a cut record is skipped as torn */
        }
    }
    s->bytes = r->len;
    return 0;
}
TELEMETRY__INTERNAL void telemetry__store_close(telemetry__store *s) {
    s->fd = s->crash_fd = -1;
    telemetry__free(telemetry__ram_seg.data);
    memset(&telemetry__ram_seg, 0, sizeof telemetry__ram_seg);
}
/* Appends one record. 0; TELEMETRY_ERR_NO_SPACE past the cap (the drop is counted);
   TELEMETRY_ERR_NO_MEMORY. */
TELEMETRY__INTERNAL int telemetry__store_append(telemetry__store *s, int kind, int category, int flags, const char *push_id,
                                               const void *data, size_t len, int outside_cap) {
    unsigned char h[TELEMETRY__REC_HEADER];
    telemetry__ram *r = &telemetry__ram_seg;
    size_t need = TELEMETRY__REC_HEADER + len;
    telemetry__rec_header(h, kind, category, flags, push_id, data, len);
    telemetry__lock(&s->lock);
    if (s->fd != TELEMETRY__RAM_FD) { telemetry__unlock(&s->lock); return TELEMETRY_ERR_IO; }
    if (!outside_cap && (uint64_t)(r->len + need) > s->cap) {
        if (telemetry__sh) telemetry__sh->dropped[category]++;
        telemetry__unlock(&s->lock);
        return TELEMETRY_ERR_NO_SPACE;
    }
    if (r->len + need > r->cap) {
        size_t c = r->cap ? r->cap : 1024;
        unsigned char *d;
        while (c < r->len + need) c *= 2;
        if (!(d = (unsigned char *)telemetry__realloc(r->data, c))) { telemetry__unlock(&s->lock); return TELEMETRY_ERR_NO_MEMORY; }
        r->data = d;
        r->cap = c;
    }
    memcpy(r->data + r->len, h, TELEMETRY__REC_HEADER);
    memcpy(r->data + r->len + TELEMETRY__REC_HEADER, data, len);
    r->len += need;
    s->bytes = r->len;
    s->appended++;
    telemetry__ram_save();
    telemetry__unlock(&s->lock);
    return 0;
}
/* Consent revoked: every payload goes. */
TELEMETRY__INTERNAL void telemetry__store_remove_all(const char *dir) {
    (void)dir;
    telemetry__lock(&telemetry__sto.lock);
    telemetry__ram_seg.len = 0;
    telemetry__sto.bytes = 0;
    telemetry__ram_save();
    telemetry__unlock(&telemetry__sto.lock);
}
#else
/* ---- the few OS calls of the store and its sender, one set per system ------------------------ */
#if defined(_WIN32)
#  include <process.h>
#  define TELEMETRY__O_SEG (_O_BINARY | _O_NOINHERIT)
#  define TELEMETRY__O_NEW (_O_CREAT | _O_EXCL | _O_APPEND)
/* (every name through the wide calls: telemetry__wpath) */
typedef struct telemetry__dirit { HANDLE h; WIN32_FIND_DATAW fd; int first; char name[MAX_PATH * 3 + 1]; } telemetry__dirit;
TELEMETRY__INTERNAL int telemetry__dirit_open(telemetry__dirit *it, const char *dir) {
    char pat[1200];
    wchar_t w[TELEMETRY__WPATH];
    snprintf(pat, sizeof pat, "%s\\*", dir);
    it->first = 1;
    it->h = telemetry__wpath(pat, w) == 0 ? FindFirstFileW(w, &it->fd) : INVALID_HANDLE_VALUE;
    return it->h == INVALID_HANDLE_VALUE ? -1 : 0;
}
TELEMETRY__INTERNAL const char *telemetry__dirit_next(telemetry__dirit *it) {
    do {
        if (!it->first && !FindNextFileW(it->h, &it->fd)) return NULL;
        it->first = 0;
    } while (telemetry__utf16_to_utf8(it->fd.cFileName, it->name, sizeof it->name) < 0);
    return it->name;
}
TELEMETRY__INTERNAL void telemetry__dirit_close(telemetry__dirit *it) { FindClose(it->h); }
/* Windows locks are mandatory: the lock is one byte far past any data, never read or written.
   keep 0: only a test (the lock is given back at once: a handle cannot take its own lock twice). */
TELEMETRY__INTERNAL int telemetry__fd_trylock(int fd, int keep) {
    OVERLAPPED ov;
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    memset(&ov, 0, sizeof ov);
    ov.OffsetHigh = 0x7FFFFFFFu;
    if (h == INVALID_HANDLE_VALUE || !LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) return -1;
    if (!keep) UnlockFileEx(h, 0, 1, 0, &ov);
    return 0;
}
/* At an offset, through the file's handle (the fd's own position is left alone). */
TELEMETRY__INTERNAL long telemetry__pio(int fd, void *buf, size_t n, uint64_t off, int write) {
    OVERLAPPED ov;
    DWORD done = 0;
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)off; ov.OffsetHigh = (DWORD)(off >> 32);
    if (h == INVALID_HANDLE_VALUE) return -1;
    if (write ? !WriteFile(h, buf, (DWORD)n, &done, &ov) : !ReadFile(h, buf, (DWORD)n, &done, &ov))
        return GetLastError() == ERROR_HANDLE_EOF ? 0 : -1;
    return (long)done;
}
#  define telemetry__pread(fd, b, n, off) telemetry__pio((fd), (b), (n), (off), 0)
#  define telemetry__pwrite(fd, b, n, off) telemetry__pio((fd), (void *)(b), (n), (off), 1)
/* At the end of the file whatever the fd's position (offset all ones: WriteFile's append). */
#  define telemetry__append(fd, b, n) telemetry__pio((fd), (void *)(b), (n), ~(uint64_t)0, 1)
/* A new file, shared for delete so that it can be renamed while open; temporary: deleted when
   its last handle closes. */
TELEMETRY__INTERNAL int telemetry__seg_create(const char *path, int temporary) {
    wchar_t w[TELEMETRY__WPATH];
    HANDLE h = telemetry__wpath(path, w) != 0 ? INVALID_HANDLE_VALUE : CreateFileW(w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_NEW,
                           temporary ? FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE : FILE_ATTRIBUTE_NORMAL, NULL);
    int fd;
    if (h == INVALID_HANDLE_VALUE) return -1;
    fd = _open_osfhandle((intptr_t)h, _O_BINARY);
    if (fd < 0) CloseHandle(h);
    return fd;
}
/* A regular file's size; -1 when it is not one. */
TELEMETRY__INTERNAL int64_t telemetry__fd_size(int fd) {
    struct _stati64 st;
    if (_fstati64(fd, &st) != 0 || !(st.st_mode & _S_IFREG)) return -1;
    return (int64_t)st.st_size;
}
/* Bytes on disk: the size rounded up to the 4096-byte cluster (NTFS's default). */
TELEMETRY__INTERNAL uint64_t telemetry__disk_bytes(const char *path) {
    WIN32_FILE_ATTRIBUTE_DATA a;
    wchar_t w[TELEMETRY__WPATH];
    if (telemetry__wpath(path, w) != 0 || !GetFileAttributesExW(w, GetFileExInfoStandard, &a) || (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) return 0;
    return ((uint64_t)a.nFileSizeHigh << 32 | a.nFileSizeLow) / 4096 * 4096 + ((a.nFileSizeLow & 4095) ? 4096 : 0);
}
TELEMETRY__INTERNAL int telemetry__rename(const char *from, const char *to) {
    wchar_t wf[TELEMETRY__WPATH], wt[TELEMETRY__WPATH];
    return telemetry__wpath(from, wf) == 0 && telemetry__wpath(to, wt) == 0 && MoveFileExW(wf, wt, 0) ? 0 : -1;
}
TELEMETRY__INTERNAL int telemetry__rmdir(const char *d) {
    wchar_t w[TELEMETRY__WPATH];
    return telemetry__wpath(d, w) == 0 && RemoveDirectoryW(w) ? 0 : -1;
}
/* An existing file (or, with create, a new one) opened read-write. */
TELEMETRY__INTERNAL int telemetry__open_rw(const char *path, int create) {
    wchar_t w[TELEMETRY__WPATH];
    return telemetry__wpath(path, w) == 0 ? _wopen(w, _O_RDWR | TELEMETRY__O_SEG | (create ? _O_CREAT : 0), _S_IREAD | _S_IWRITE) : -1;
}
#  define telemetry__getpid() ((long)_getpid())
#  define telemetry__thread_start(t, fn, arg) ((*(t) = CreateThread(NULL, 0, (fn), (arg), 0, NULL)) != NULL ? 0 : -1)
#  define telemetry__thread_join(t) (WaitForSingleObject((t), INFINITE), CloseHandle(t))
#  define telemetry__thread_detach(t) CloseHandle(t)
#  define telemetry__mutex_init(m) InitializeSRWLock(m)
#  define telemetry__mutex_destroy(m) ((void)(m))
#else
#  define TELEMETRY__O_SEG (O_CLOEXEC | O_NOFOLLOW)
#  define TELEMETRY__O_NEW (O_CREAT | O_EXCL | O_APPEND)
#  if defined(LOCK_EX)
#    define telemetry__fd_trylock(fd, keep) flock((fd), LOCK_EX | LOCK_NB)   /* a second take is a no-op */
#  else
#    define telemetry__fd_trylock(fd, keep) 0
#  endif
typedef struct telemetry__dirit { DIR *d; } telemetry__dirit;
TELEMETRY__INTERNAL int telemetry__dirit_open(telemetry__dirit *it, const char *dir) { return (it->d = opendir(dir)) ? 0 : -1; }
TELEMETRY__INTERNAL const char *telemetry__dirit_next(telemetry__dirit *it) {
    struct dirent *e = readdir(it->d);
    return e ? e->d_name : NULL;
}
TELEMETRY__INTERNAL void telemetry__dirit_close(telemetry__dirit *it) { closedir(it->d); }
TELEMETRY__INTERNAL long telemetry__pread(int fd, void *buf, size_t n, uint64_t off) {
    ssize_t r;
    do r = pread(fd, buf, n, (off_t)off); while (r < 0 && errno == EINTR);
    return (long)r;
}
TELEMETRY__INTERNAL long telemetry__pwrite(int fd, const void *buf, size_t n, uint64_t off) {
    ssize_t r;
    do r = pwrite(fd, buf, n, (off_t)off); while (r < 0 && errno == EINTR);
    return (long)r;
}
TELEMETRY__INTERNAL int64_t telemetry__fd_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (int64_t)st.st_size;
}
TELEMETRY__INTERNAL uint64_t telemetry__disk_bytes(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_blocks * 512u : 0;
}
#  define telemetry__rename(from, to) rename((from), (to))
#  define telemetry__append(fd, b, n) write((fd), (b), (n))
TELEMETRY__INTERNAL int telemetry__seg_create(const char *path, int temporary) {
    int fd = open(path, O_RDWR | TELEMETRY__O_NEW | TELEMETRY__O_SEG, 0600);
    if (fd >= 0 && temporary) unlink(path);             /* gone with this process */
    return fd;
}
#  define telemetry__getpid() ((long)getpid())
#  define telemetry__rmdir(d) rmdir(d)
#  define telemetry__open_rw(path, create) open((path), O_RDWR | TELEMETRY__O_SEG | ((create) ? O_CREAT : 0), 0600)
#  define telemetry__thread_start(t, fn, arg) pthread_create((t), NULL, (fn), (arg))
#  define telemetry__thread_join(t) pthread_join((t), NULL)
#  define telemetry__thread_detach(t) pthread_detach(t)
#  define telemetry__mutex_init(m) pthread_mutex_init((m), NULL)
#  define telemetry__mutex_destroy(m) pthread_mutex_destroy(m)
#endif

TELEMETRY__INTERNAL int telemetry__is_segment(const char *name) {
    size_t n = strlen(name);
    return n > 4 && n < 64 && strcmp(name + n - 4, ".seg") == 0 && name[0] >= '0' && name[0] <= '9';
}

/* A segment that never got its name (".seg.new": its maker died between create and rename) and
   is over an hour old by the time in its name: nobody will finish it. */
TELEMETRY__INTERNAL int telemetry__is_stale_new(const char *name, int64_t now_ms) {
    size_t n = strlen(name);
    if (n < 9 || n >= 64 || strcmp(name + n - 8, ".seg.new") != 0 || name[0] < '0' || name[0] > '9') return 0;
    return now_ms - (int64_t)strtoll(name, NULL, 10) > 3600000;
}

/* Real bytes on disk of every segment but ours. O(segments), never O(records). */
TELEMETRY__INTERNAL uint64_t telemetry__store_count(const telemetry__store *s) {
    telemetry__dirit d;
    const char *e;
    uint64_t total = 0;
    char path[1400];
    if (telemetry__dirit_open(&d, s->dir) != 0) return 0;
    while ((e = telemetry__dirit_next(&d)) != NULL) {
        if (!telemetry__is_segment(e) || strcmp(e, s->name) == 0) continue;
        if (snprintf(path, sizeof path, "%s/%s", s->dir, e) >= (int)sizeof path) continue;
        total += telemetry__disk_bytes(path);
    }
    telemetry__dirit_close(&d);
    return total;
}

/* Opens a new segment for this process; 0 or TELEMETRY_ERR_IO. Store lock held (or init). */
TELEMETRY__INTERNAL int telemetry__segment_new(telemetry__store *s) {
    char path[1400], fresh[1410];
    unsigned char rnd[4] = { 0, 0, 0, 0 };
    int fd, old = s->fd;
    if (!s->dir[0]) return TELEMETRY_ERR_IO;
    telemetry__os_entropy(rnd, sizeof rnd);
    snprintf(s->name, sizeof s->name, "%013lld-%ld-%02x%02x%02x%02x.seg", (long long)telemetry__system_time_ms(),
             telemetry__getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
    snprintf(path, sizeof path, "%s/%s", s->dir, s->name);
    /* made under another name and locked before it is a segment: a sender never sees it empty and
       unlocked, which would look finished (and be deleted under the writer) */
    snprintf(fresh, sizeof fresh, "%s.new", path);
    fd = telemetry__seg_create(fresh, 0);
    if (fd < 0) { s->name[0] = 0; return TELEMETRY_ERR_IO; }
    telemetry__fd_trylock(fd, 1);               /* ours while this process lives */
    if (telemetry__rename(fresh, path) != 0) { close(fd); telemetry__remove_file(fresh); s->name[0] = 0; return TELEMETRY_ERR_IO; }
    s->fd = fd;                                 /* the new one first: a crash never sees a closed fd */
    if (telemetry__sh) TELEMETRY__ATOMIC_ADD64(&telemetry__sh->segments, 1u);
    if (old >= 0 && old != s->crash_fd) close(old);
    s->bytes = 0;
    return 0;
}

/* Opens the store: the folder and a fresh segment (nothing is read: O(1) in what is queued).
   Without a usable folder, an unlinked temporary file keeps this run's payloads for the worker. */
TELEMETRY__INTERNAL int telemetry__store_open(telemetry__store *s, const char *state_dir, uint64_t cap) {
#  if !defined(_WIN32)
    struct rlimit rl;
#  endif
    s->fd = s->crash_fd = -1;
    s->bytes = s->others = 0;
    s->counted_at = 0;
    s->appended = 0;
    s->cap = cap;
#  if !defined(_WIN32)
    s->fsize_guard = getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
#  endif
    s->dir[0] = 0;
    if (state_dir && state_dir[0]) {
        snprintf(s->dir, sizeof s->dir, "%s/outbox", state_dir);
        if (telemetry__mkdirs(s->dir) != 0 || telemetry__segment_new(s) != 0) {
            telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot write to %s: unsent payloads stay in memory only", s->dir);
            s->dir[0] = 0;
        }
    }
    if (s->fd < 0) {
        /* memory only: a temporary file (page cache) gone with this process: unlinked in /tmp,
           deleted on close in %TEMP% */
        char path[400], tmp[300] = "/tmp/";
        unsigned char rnd[8];
        int fd, k;
#  if defined(_WIN32)
        DWORD n = GetTempPathA(sizeof tmp, tmp);
        if (n == 0 || n >= sizeof tmp) return TELEMETRY_ERR_IO;
#  endif
        for (k = 0, fd = -1; k < 4 && fd < 0; k++) {
            telemetry__os_entropy(rnd, sizeof rnd);
            snprintf(path, sizeof path, "%stelemetry-%02x%02x%02x%02x%02x%02x%02x%02x", tmp, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                     rnd[5], rnd[6], rnd[7]);
            fd = telemetry__seg_create(path, 1);
        }
        if (fd < 0) return TELEMETRY_ERR_IO;
        s->fd = fd;
        s->name[0] = 0;
    }
#  if defined(_WIN32)
    s->crash_fd = -1;                           /* the crash handler writes a segment of its own */
#  else
    s->crash_fd = dup(s->fd);
    if (s->crash_fd >= 0) fcntl(s->crash_fd, F_SETFD, FD_CLOEXEC);
#  endif
    return 0;
}

TELEMETRY__INTERNAL void telemetry__store_close(telemetry__store *s) {
    if (s->fd >= 0) close(s->fd);
    if (s->crash_fd >= 0 && s->crash_fd != s->fd) close(s->crash_fd);
    s->fd = s->crash_fd = -1;
}

/* Appends one record with one write. 0; TELEMETRY_ERR_NO_SPACE when the disk cap is reached (the
   drop is counted); TELEMETRY_ERR_IO when the write failed. */
TELEMETRY__INTERNAL int telemetry__store_append(telemetry__store *s, int kind, int category, int flags, const char *push_id,
                                               const void *data, size_t len, int outside_cap) {
    unsigned char h[TELEMETRY__REC_HEADER];
#  if !defined(_WIN32)
    struct iovec iov[2];
    sigset_t xfsz, old;
#  endif
    long n;
    uint64_t need = TELEMETRY__REC_HEADER + (uint64_t)len, mine;
    int rc = 0;
    telemetry__rec_header(h, kind, category, flags, push_id, data, len);
#  if !defined(_WIN32)
    iov[0].iov_base = (void *)h; iov[0].iov_len = TELEMETRY__REC_HEADER;
    iov[1].iov_base = (void *)data; iov[1].iov_len = len;
#  endif
    telemetry__lock(&s->lock);
    if (s->fd < 0) { telemetry__unlock(&s->lock); return TELEMETRY_ERR_IO; }
    if (s->dir[0] && s->bytes + need > TELEMETRY_SEGMENT_BYTES && s->bytes > 0) {
        telemetry__segment_new(s);              /* on failure the old one goes on */
        s->counted_at = 0;
    }
    mine = (s->bytes + need + 4095) / 4096 * 4096;   /* what our segment will take on disk */
    if (s->dir[0] && !outside_cap && (s->counted_at == 0 || mine + s->others > s->cap)) {
        int64_t now = telemetry__monotonic_ms();
        if (s->counted_at == 0 || now - s->counted_at >= 1000) {   /* the sender may have freed room */
            s->others = telemetry__store_count(s);
            s->counted_at = now ? now : 1;
        }
    }
    if (!outside_cap && mine + s->others > s->cap) {
        if (telemetry__sh) telemetry__sh->dropped[category]++;
        telemetry__unlock(&s->lock);
        return TELEMETRY_ERR_NO_SPACE;
    }
#  if defined(_WIN32)
    /* two writes under the store lock (the crash handler writes its own segment) */
    n = telemetry__append(s->fd, h, TELEMETRY__REC_HEADER);
    if (n == TELEMETRY__REC_HEADER && len) {
        long m = telemetry__append(s->fd, data, len);
        n = m < 0 ? n : n + m;
    }
#  else
    if (s->fsize_guard) {                       /* a file size limit must not kill the host */
        sigemptyset(&xfsz);
        sigaddset(&xfsz, SIGXFSZ);
#  if defined(TELEMETRY_NO_THREADS)
        sigprocmask(SIG_BLOCK, &xfsz, &old);
#  else
        pthread_sigmask(SIG_BLOCK, &xfsz, &old);
#  endif
    }
    do n = writev(s->fd, iov, 2); while (n < 0 && errno == EINTR);
    if (s->fsize_guard) {
#  if defined(TELEMETRY_NO_THREADS)
        sigprocmask(SIG_SETMASK, &old, NULL);
#  else
        pthread_sigmask(SIG_SETMASK, &old, NULL);
#  endif
    }
#  endif
    if (n == (long)need) {
        s->bytes += need;
        s->appended++;
    } else {
        /* a short write left a torn record: the reader skips it; later records go to a new segment */
        if (n > 0) s->bytes += (uint64_t)n;
        if (telemetry__sh) telemetry__sh->dropped[category]++;
        if (s->dir[0]) telemetry__segment_new(s);
        rc = TELEMETRY_ERR_IO;
    }
    telemetry__unlock(&s->lock);
    return rc;
}

/* Deletes every segment and the folder (consent revoked). */
TELEMETRY__INTERNAL void telemetry__store_remove_all(const char *dir) {
    telemetry__dirit d;
    const char *e;
    char path[1400];
    if (telemetry__dirit_open(&d, dir) != 0) return;
    while ((e = telemetry__dirit_next(&d)) != NULL) {
        if (e[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e);
        telemetry__remove_file(path);
    }
    telemetry__dirit_close(&d);
    telemetry__rmdir(dir);
}
#endif /* !TELEMETRY_NO_FILES */

/* ---- the sender: reads every segment of the folder, sends each record once ------------------ */
typedef struct telemetry__seg {
    char name[64];              /* "" for the memory-only store */
    int fd;                     /* opened read-write: the state byte is written in place */
    uint64_t pos;               /* every record before it is sent or dropped */
    uint64_t scan;              /* a lane's look starts here: before it, every record is done or
                                   the other lane's (a lane never reads those again and again) */
    int foreign;                /* [pos, scan) holds a record of the other lane not seen done */
    int seen;                   /* still in the folder at the last scan */
} telemetry__seg;

/* ---- segment I/O: a file of the folder, or under TELEMETRY_NO_FILES the segment in memory ---- */
#  if defined(TELEMETRY_NO_FILES)
/* Bytes of the segment from off, at most n: how many were copied. */
TELEMETRY__INTERNAL long telemetry__seg_read(const telemetry__seg *g, void *buf, size_t n, uint64_t off) {
    telemetry__ram *r = &telemetry__ram_seg;
    size_t k = 0;
    (void)g;
    telemetry__lock(&telemetry__sto.lock);
    if (off < r->len) { k = r->len - (size_t)off < n ? r->len - (size_t)off : n; memcpy(buf, r->data + off, k); }
    telemetry__unlock(&telemetry__sto.lock);
    return (long)k;
}
/* Its size in bytes, or -1. */
TELEMETRY__INTERNAL int64_t telemetry__seg_size(const telemetry__seg *g) {
    int64_t n;
    (void)g;
    telemetry__lock(&telemetry__sto.lock);
    n = (int64_t)telemetry__ram_seg.len;
    telemetry__unlock(&telemetry__sto.lock);
    return n;
}
/* Writes a record's state byte (off + 15) in place: the durable "sent" mark. */
TELEMETRY__INTERNAL void telemetry__seg_put_state(const telemetry__seg *g, uint64_t off, char state) {
    (void)g;
    telemetry__lock(&telemetry__sto.lock);
    if (off + 15 < telemetry__ram_seg.len) { telemetry__ram_seg.data[off + 15] = (unsigned char)state; telemetry__ram_save(); }
    telemetry__unlock(&telemetry__sto.lock);
}
#  else
TELEMETRY__INTERNAL long telemetry__seg_read(const telemetry__seg *g, void *buf, size_t n, uint64_t off) {
    return telemetry__pread(g->fd, buf, n, off);
}
TELEMETRY__INTERNAL int64_t telemetry__seg_size(const telemetry__seg *g) { return telemetry__fd_size(g->fd); }
TELEMETRY__INTERNAL void telemetry__seg_put_state(const telemetry__seg *g, uint64_t off, char state) {
    telemetry__pwrite(g->fd, &state, 1, off + 15);
}
#  endif

typedef struct telemetry__sender {
    /* what sending needs, copied at init: the sender never reads the library's global state */
    telemetry__url usage;
    int has_usage;
    telemetry__dsn dsn;
    int has_dsn;
    char dir[1100];             /* the store's folder, "" memory only */
    char *ca_file, *ca_pem;
    const telemetry_io *io;
    int (*entropy_fn)(void *, void *, size_t);
    int64_t (*clock_fn)(void *);
    void *platform_user_data;
    unsigned timeout_ms, retry_initial_ms, retry_max_ms;
    uint64_t cap;
    int debug, client_reports;
    char ratelimit_path[1100];
    char tls_session_path[1100];/* >>tls keeps sessions there across runs ("": not kept) */
    char sent_log_path[1100];   /* "<state>/sent.log", "" for no log (>>sentlog) */
    size_t sent_log_cap;
    telemetry__shared *sh;
    int lock_fd, have_lock;
    int mem_fd;                 /* the memory-only store's fd (thread mode), -1 */
    telemetry__seg *segs;
    int nsegs, capsegs;
    int64_t rescan_at;          /* monotonic ms of the next look at the folder */
    int64_t rate_until[TELEMETRY__RL_COUNT];
    int64_t down_until[2];      /* per endpoint (0 usage, 1 Sentry): held after a failure */
    int fails[2];               /* consecutive failures per endpoint: the back-off doubles */
    int64_t usage_hold_until;   /* the usage server answered 429 */
    int64_t dropped[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT];
    int64_t sent;               /* records sent (tests, benchmarks) */
    volatile int stop;          /* also the cancel flag of a request in progress */
    int warned_ro, abandoned;
    unsigned seen_segments;
    int live_writers;           /* the last step saw a segment whose writer still lives */
    int64_t end_at;             /* no request goes past this: the sidecar's bound after the
                                   program ended, or thread-mode shutdown's bound */
    int64_t rtt[2];             /* ms the last request to each endpoint took, 0 unknown */
    int lane;                   /* -1 every record; 0 usage reports only, 1 Sentry envelopes only
                                   (thread mode with both endpoints: one worker per endpoint) */
    unsigned lifetime_ms;
    void *http[2];              /* one kept-alive client per endpoint (0 usage, 1 Sentry) */
#  if !defined(TELEMETRY_NO_THREADS)
    telemetry__mutex lock;      /* guards stop, asleep and the wake-ups */
    telemetry__cond cond;
    telemetry__thread thread;
    int worker_started, worker_done, asleep, wake;
    int64_t shutdown_at;        /* set by shutdown: the worker's end_at from its next request on */
    unsigned seen_flush;        /* the flush generation whose fresh try this worker gave */
    unsigned idle_gen;          /* thread mode: the flush generation answered (nothing may go) */
    int unsent_n;               /* and how many records then waited */
    char session_path[1100];
    char *session_text;         /* the session file's next content: written by the worker, so the
                                   caller's thread does no file I/O for it */
    int session_closed;         /* the session ended: the file must not come back */
    telemetry__mutex session_io;/* held while the file is written or removed */
#  endif
} telemetry__sender;

TELEMETRY__INTERNAL int64_t telemetry__snd_now(const telemetry__sender *s) {
    return s->clock_fn ? s->clock_fn(s->platform_user_data) : telemetry__system_time_ms();
}

TELEMETRY__INTERNAL int telemetry__name_cmp(const void *a, const void *b) {
    return strcmp(((const telemetry__seg *)a)->name, ((const telemetry__seg *)b)->name);
}

/* Looks at the folder: new segments are opened, vanished ones closed; oldest first. */
TELEMETRY__INTERNAL void telemetry__sender_scan(telemetry__sender *s) {
#  if defined(TELEMETRY_NO_FILES)
    (void)s;                                    /* the one segment in memory is always there */
#  else
    telemetry__dirit d;
    const char *e;
    int i, k;
    char path[1400];
    if (!s->dir[0]) return;
    if (telemetry__dirit_open(&d, s->dir) != 0) return;
    for (i = 0; i < s->nsegs; i++) s->segs[i].seen = s->segs[i].name[0] == 0;
    while ((e = telemetry__dirit_next(&d)) != NULL) {
        int fd;
        if (telemetry__is_stale_new(e, telemetry__system_time_ms())) {
            snprintf(path, sizeof path, "%s/%s", s->dir, e);
            telemetry__remove_file(path);
            continue;
        }
        if (!telemetry__is_segment(e)) continue;
        for (i = 0; i < s->nsegs && strcmp(s->segs[i].name, e) != 0; i++) {}
        if (i < s->nsegs) { s->segs[i].seen = 1; continue; }
        snprintf(path, sizeof path, "%s/%s", s->dir, e);
#  if defined(_WIN32)
        fd = telemetry__open_rw(path, 0);
#  else
        fd = open(path, O_RDWR | TELEMETRY__O_SEG | O_NONBLOCK);
#  endif
        if (fd >= 0 && telemetry__fd_size(fd) < 0) { close(fd); continue; }   /* ours are plain files (F6) */
        if (fd < 0) {
            /* a store we cannot mark as sent would be sent again and again: leave it */
            if (!s->warned_ro && errno != ENOENT) telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot open %s for writing: its payloads wait", path);
            s->warned_ro = 1;
            continue;
        }
        if (s->nsegs == s->capsegs) {
            telemetry__seg *g = (telemetry__seg *)telemetry__realloc(s->segs, (size_t)(s->capsegs = s->capsegs ? s->capsegs * 2 : 16) * sizeof *g);
            if (!g) { close(fd); break; }
            s->segs = g;
        }
        memset(&s->segs[s->nsegs], 0, sizeof s->segs[0]);
        telemetry__copy(s->segs[s->nsegs].name, sizeof s->segs[0].name, e);
        s->segs[s->nsegs].fd = fd;
        s->segs[s->nsegs].seen = 1;
        s->nsegs++;
    }
    telemetry__dirit_close(&d);
    for (i = k = 0; i < s->nsegs; i++) {
        if (!s->segs[i].seen) { close(s->segs[i].fd); continue; }
        s->segs[k++] = s->segs[i];
    }
    s->nsegs = k;
    if (s->nsegs > 1) qsort(s->segs, (size_t)s->nsegs, sizeof *s->segs, telemetry__name_cmp);
#  endif
}

/* Whether a segment's writer is gone (its lock is free); then nothing more will be added. */
TELEMETRY__INTERNAL int telemetry__seg_finished(const telemetry__seg *g) {
    if (!g->name[0]) return 0;                  /* the memory-only store lives as long as we do */
    return telemetry__fd_trylock(g->fd, 0) == 0;
}

/* The next record at or after off whose magic is right, for skipping a torn one. */
TELEMETRY__INTERNAL uint64_t telemetry__seg_resync(const telemetry__seg *g, uint64_t off, uint64_t size) {
    unsigned char buf[4096];
    for (off++; off + 4 <= size; ) {
        long n = telemetry__seg_read(g, buf, sizeof buf, off), i;
        if (n < 4) break;
        for (i = 0; i + 4 <= n; i++)
            if (buf[i] == 'T' && buf[i + 1] == 'L' && buf[i + 2] == 'R' && buf[i + 3] == '1') return off + (uint64_t)i;
        off += (uint64_t)n - 3;
    }
    return size;
}

/* Marks a record sent ('S') or dropped ('D') in place: the durable acknowledgement. */
TELEMETRY__INTERNAL void telemetry__seg_mark(const telemetry__seg *g, uint64_t off, char state) {
    telemetry__seg_put_state(g, off, state);
}

#define TELEMETRY__ENDPOINT(kind) ((kind) == TELEMETRY__KIND_USAGE ? 0 : 1)

/* The rate-limit category a record waits on, or -1. */
TELEMETRY__INTERNAL int telemetry__cat_rl(int category) {
    switch (category) {
    case TELEMETRY__CAT_ERROR: return TELEMETRY__RL_ERROR;
    case TELEMETRY__CAT_SESSION: return TELEMETRY__RL_SESSION;
    case TELEMETRY__CAT_INTERNAL: return TELEMETRY__RL_INTERNAL;
    default: return -1;
    }
}

/* How long a record of this kind and category must wait (0: it may go now). */
TELEMETRY__INTERNAL int64_t telemetry__held_ms(const telemetry__sender *s, int kind, int category, int64_t mono, int64_t wall) {
    int rl = telemetry__cat_rl(category), ep = TELEMETRY__ENDPOINT(kind);
    int64_t until = s->down_until[ep] - mono;
    if (kind == TELEMETRY__KIND_ENVELOPE && rl >= 0 && telemetry__rate_limited(s->rate_until, rl, wall)) {
        int64_t a = s->rate_until[TELEMETRY__RL_ALL] - wall, b = s->rate_until[rl] - wall;
        if (a > until) until = a;
        if (b > until) until = b;
    }
    if (kind == TELEMETRY__KIND_USAGE && s->usage_hold_until - mono > until) until = s->usage_hold_until - mono;
    return until > 0 ? until : 0;
}

/* A client report of what was dropped since the last one (protocols.md 5.6), or NULL. */
TELEMETRY__INTERNAL char *telemetry__client_report(int64_t counts[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT], int64_t now, size_t *len) {
    telemetry__buf b;
    telemetry__json j;
    char ts[32];
    int r, c, any = 0;
    for (r = 0; r < TELEMETRY__DROP_COUNT; r++) for (c = 0; c < TELEMETRY__CAT_COUNT; c++) if (counts[r][c]) any = 1;
    if (!any) return NULL;
    telemetry__format_time(now, ts);
    telemetry__buf_init(&b);
    telemetry__json_init(&j, &b);
    telemetry__json_object_begin(&j);
    telemetry__json_key(&j, "timestamp"); telemetry__json_string(&j, ts);
    telemetry__json_key(&j, "discarded_events");
    telemetry__json_array_begin(&j);
    for (r = 0; r < TELEMETRY__DROP_COUNT; r++) for (c = 0; c < TELEMETRY__CAT_COUNT; c++) {
        if (!counts[r][c]) continue;
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "reason"); telemetry__json_string(&j, telemetry__drop_names[r]);
        telemetry__json_key(&j, "category"); telemetry__json_string(&j, telemetry__cat_names[c]);
        telemetry__json_key(&j, "quantity"); telemetry__json_int(&j, counts[r][c]);
        telemetry__json_object_end(&j);
    }
    telemetry__json_array_end(&j);
    telemetry__json_object_end(&j);
    if (telemetry__json_finish(&j)) { telemetry__buf_free(&b); return NULL; }
    *len = b.len;
    return b.data;
}

/* The bytes that go on the wire: an envelope gets its sent_at now, and the client report of
   what the sender dropped rides along (taken says what it told). */
TELEMETRY__INTERNAL int telemetry__wire_body(telemetry__sender *s, int kind, const char *body, size_t len, telemetry__buf *out,
                                            int64_t taken[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT]) {
    char ts[32], *report = NULL;
    size_t report_len = 0;
    memset(taken, 0, sizeof(int64_t) * TELEMETRY__DROP_COUNT * TELEMETRY__CAT_COUNT);
    if (kind == TELEMETRY__KIND_USAGE) return telemetry__buf_append(out, body, len) ? TELEMETRY_ERR_NO_MEMORY : 0;
    if (len < 2 || body[0] != '{') return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__format_time(telemetry__snd_now(s), ts);
    telemetry__buf_puts(out, "{\"sent_at\":\"");
    telemetry__buf_puts(out, ts);
    telemetry__buf_puts(out, body[1] == '}' ? "\"" : "\",");
    telemetry__buf_append(out, body + 1, len - 1);
    if (s->client_reports && !telemetry__rate_limited(s->rate_until, TELEMETRY__RL_INTERNAL, telemetry__snd_now(s))) {
        memcpy(taken, s->dropped, sizeof s->dropped);
        report = telemetry__client_report(taken, telemetry__snd_now(s), &report_len);
    }
    if (report) {
        if (out->len && out->data[out->len - 1] == '\n') out->len--;   /* one item separator */
        telemetry__envelope_item(out, "client_report", report, report_len);
        telemetry__envelope_end(out);
        telemetry__free(report);
    } else {
        memset(taken, 0, sizeof(int64_t) * TELEMETRY__DROP_COUNT * TELEMETRY__CAT_COUNT);
    }
    return out->failed ? TELEMETRY_ERR_NO_MEMORY : 0;
}

/* The connections the sender reuses, one per endpoint it sends to (usage and Sentry are often
   different hosts: one shared connection would be closed and opened again at each change). Made
   at init on the program's thread, so the proxy variables are read there; the sidecar inherits
   them unconnected. cancel: the flag that stops a request in progress. */
TELEMETRY__INTERNAL int telemetry__sender_clients(telemetry__sender *s, const int *cancel) {
    telemetry__transport_config tc;
    int ep, rc = 0;
    memset(&tc, 0, sizeof tc);
    tc.ca_file = s->ca_file; tc.ca_pem = s->ca_pem; tc.io = s->io;
    tc.entropy_fn = s->entropy_fn; tc.clock_fn = s->clock_fn;
    tc.platform_user_data = s->platform_user_data; tc.use_proxy_env = 1;
    tc.tls_session_file = s->tls_session_path[0] ? s->tls_session_path : NULL;
    tc.cancel = cancel;
    for (ep = 0; ep < 2 && rc == 0; ep++) {
        if (s->http[ep] || !(ep ? s->has_dsn : s->has_usage) || (s->lane >= 0 && s->lane != ep)) continue;
        if (s->io && s->http[!ep]) s->http[ep] = s->http[!ep];   /* the program's own I/O: one connection (a UART) */
        else rc = telemetry__http_client_new((telemetry__http_client **)&s->http[ep], &tc);
    }
    return rc;
}
/* Two lanes append to sent.log at once (thread mode): one entry at a time. */
TELEMETRY__DEF telemetry__mutex telemetry__sent_log_mutex = TELEMETRY__MUTEX_INIT;

/* Sends one payload now, before the deadline. With TELEMETRY_DEBUG it is printed to stderr
   instead. 0 when the server took it (2xx); *status is the HTTP status or 0. Responses update
   the rate limits. */
TELEMETRY__INTERNAL int telemetry__deliver(telemetry__sender *s, int kind, const char *push_id, int maybe_stored, const char *body,
                                           size_t len, int64_t deadline, int *status) {
    const telemetry__url *base = kind == TELEMETRY__KIND_USAGE ? &s->usage : &s->dsn.envelope;
    char hostport[300];
    *status = 0;
    if (kind == TELEMETRY__KIND_USAGE ? !s->has_usage : !s->has_dsn) return TELEMETRY_ERR_NOT_CONFIGURED;
    telemetry__url_hostport(base, hostport, sizeof hostport);
    if (s->debug) {
        fprintf(stderr, "telemetry: TELEMETRY_DEBUG is set: not sending this %s to %s:\n%.*s\n",
                kind == TELEMETRY__KIND_USAGE ? "usage report" : "Sentry envelope", hostport, (int)len, body);
        *status = 200;
        return 0;
    }
    {
        telemetry__http_response resp;
        telemetry__http_request req;
        telemetry__url url = *base;
        const char *headers[2] = { NULL, NULL };
        char auth[512], *target = NULL;
        int rc;
        memset(&req, 0, sizeof req);
        memset(&resp, 0, sizeof resp);
        if (!s->http[TELEMETRY__ENDPOINT(kind)] && (rc = telemetry__sender_clients(s, (const int *)&s->stop)) != 0) return rc;
        req.method = "POST";
        if (kind == TELEMETRY__KIND_USAGE && push_id[0]) {
            target = telemetry__firebase_target(&s->usage, push_id);
            if (!target) return TELEMETRY_ERR_NO_MEMORY;
            url.target = target;
            req.method = "PUT";
        }
        req.url = &url;
        req.body = body; req.body_len = len;
        if (kind == TELEMETRY__KIND_USAGE) req.content_type = "application/json";
        else {
            req.content_type = "application/x-sentry-envelope";
            snprintf(auth, sizeof auth, "X-Sentry-Auth: %s", s->dsn.auth_header);
            headers[0] = auth;
            req.headers = headers;
        }
        rc = telemetry__http_send((telemetry__http_client *)s->http[TELEMETRY__ENDPOINT(kind)], &req, &resp, deadline);
        if (rc == 0 && resp.status >= 200 && resp.status <= 299 && s->sent_log_path[0]) {
            char full[1400];
            snprintf(full, sizeof full, "%s://%s%s", url.secure ? "https" : "http", hostport, url.target);
            telemetry__lock(&telemetry__sent_log_mutex);
            telemetry__sent_log_append(s->sent_log_path, s->sent_log_cap, telemetry__snd_now(s),
                                       kind == TELEMETRY__KIND_USAGE ? "usage-report" : "sentry-envelope", req.method, full, body, len);
            telemetry__unlock(&telemetry__sent_log_mutex);
        }
        telemetry__free(target);
        if (rc == 0) {
            *status = resp.status;
            if (kind == TELEMETRY__KIND_ENVELOPE) {
                telemetry__rate_limits_update(s->rate_until, resp.status, resp.rate_limits, resp.retry_after, telemetry__snd_now(s));
            } else if (resp.status == 429) {
                /* the usage server's own limit: it holds usage reports only, never Sentry's */
                int64_t until[TELEMETRY__RL_COUNT], now = telemetry__snd_now(s);
                memset(until, 0, sizeof until);
                telemetry__rate_limits_update(until, 429, NULL, resp.retry_after, now);
                if (until[TELEMETRY__RL_ALL] > now) s->usage_hold_until = telemetry__monotonic_ms() + (until[TELEMETRY__RL_ALL] - now);
            }
            if (resp.status == 429) rc = TELEMETRY_ERR_RATE_LIMITED;
            else if (resp.status < 200 || resp.status > 299) rc = TELEMETRY_ERR_HTTP_STATUS;
            if (rc == TELEMETRY_ERR_HTTP_STATUS && kind == TELEMETRY__KIND_USAGE && push_id[0] &&
                telemetry__firebase_already_stored(resp.status, maybe_stored)) {
                telemetry__log(TELEMETRY_LEVEL_DEBUG, "%s answered HTTP %d to a retried report: an earlier try stored it", hostport, resp.status);
                rc = 0;
            }
            if (rc)
                telemetry__log(TELEMETRY_LEVEL_WARNING, "%s answered HTTP %d: %s", hostport, resp.status,
                               resp.status == 429 ? "rate limited, will retry when the limit ends"
                               : resp.status >= 500 ? "will retry" : "the payload was refused and is dropped");
        }
        telemetry__http_response_free(&resp);
        return rc;
    }
}

/* Rate limits are remembered across runs: "<all> <error> <session> <internal>" wall-clock ms. */
TELEMETRY__INTERNAL void telemetry__load_rate_limits(telemetry__sender *s) {
    char *text = NULL;
    int err;
    long long v[4];
    if (!s->ratelimit_path[0] || telemetry__read_file(s->ratelimit_path, 200, &text, NULL, &err) != 0) return;
    if (sscanf(text, "%lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) == 4) {
        int64_t cap = telemetry__snd_now(s) + TELEMETRY__RL_CAP_MS, k;
        for (k = 0; k < 4; k++) s->rate_until[k] = v[k] > cap ? cap : v[k];   /* a skewed clock cannot block us for long */
    }
    telemetry__free(text);
}

/* Sends one record. Returns 1 when the record is done with (sent or dropped), 0 when it waits. */
TELEMETRY__INTERNAL int telemetry__send_record(telemetry__sender *s, const telemetry__seg *g, uint64_t off, const unsigned char *h,
                                              char *payload, uint32_t len) {
    int kind = h[12], category = h[13], flags = h[14], rc, status = 0, r, c, ep = TELEMETRY__ENDPOINT(kind);
    int64_t taken[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT], before[TELEMETRY__RL_COUNT];
    char push_id[21];
    telemetry__buf wire, named;
    const char *body = payload;
    size_t body_len = len;
    memcpy(push_id, h + 16, 20);
    push_id[20] = 0;
    telemetry__buf_init(&named);
#  if defined(TELEMETRY__HAVE_PHDR)
    if (flags & TELEMETRY__REC_CRASH && telemetry__symbolicate_envelope(payload, len, &named) == 0) { body = named.data; body_len = named.len; }
#  else
    (void)flags;
#  endif
    memcpy(before, s->rate_until, sizeof before);
    telemetry__buf_init(&wire);
    rc = telemetry__wire_body(s, kind, body, body_len, &wire, taken);
    if (rc == 0) {
        int64_t deadline = telemetry__monotonic_ms() + (int64_t)s->timeout_ms;
        int64_t t0 = telemetry__monotonic_ms();
        if (s->end_at && deadline > s->end_at) deadline = s->end_at;      /* the sidecar's or shutdown's bound */
        /* a Firebase write that may reach the server is marked first: if its answer is lost, the
           retry's refusal of an existing key (create-only rules) means it was stored */
        if (kind == TELEMETRY__KIND_USAGE && push_id[0] && h[15] == 0) telemetry__seg_mark(g, off, 'A');
        rc = telemetry__deliver(s, kind, push_id, h[15] == 'A', wire.data, wire.len, deadline, &status);
        if (status && !s->debug) s->rtt[ep] = telemetry__monotonic_ms() - t0 + 1;   /* an answer: what the next one may need */
    }
    telemetry__buf_free(&wire);
    telemetry__buf_free(&named);
    if (s->sh && s->sh->revoked) return 1;                  /* consent went meanwhile: write nothing */
    if (status) { s->down_until[ep] = 0; s->fails[ep] = 0; }   /* it answered */
    if (memcmp(before, s->rate_until, sizeof before) != 0 && s->ratelimit_path[0]) {
        char text[160];
        snprintf(text, sizeof text, "%lld %lld %lld %lld\n", (long long)s->rate_until[0], (long long)s->rate_until[1],
                 (long long)s->rate_until[2], (long long)s->rate_until[3]);
        telemetry__write_file_atomic(s->ratelimit_path, text, strlen(text), 0);
    }
    if (rc == 0) {
        for (r = 0; r < TELEMETRY__DROP_COUNT; r++) for (c = 0; c < TELEMETRY__CAT_COUNT; c++) s->dropped[r][c] -= taken[r][c];
        telemetry__seg_mark(g, off, 'S');
        s->sent++;
        return 1;
    }
    if (rc == TELEMETRY_ERR_NOT_CONFIGURED || rc == TELEMETRY_ERR_INVALID_ARGUMENT ||
        (rc == TELEMETRY_ERR_HTTP_STATUS && status >= 400 && status < 500)) {
        if (category != TELEMETRY__CAT_USAGE && category < TELEMETRY__CAT_COUNT) s->dropped[TELEMETRY__DROP_SEND_ERROR][category]++;
        telemetry__seg_mark(g, off, 'D');                   /* never retried */
        return 1;
    }
    {   /* network trouble, 5xx, 429: the endpoint backs off exponentially with jitter, capped */
        unsigned char j = 0;
        int64_t delay = s->retry_initial_ms;
        int k;
        for (k = 0; k < s->fails[ep] && delay < (int64_t)s->retry_max_ms; k++) delay *= 2;
        if (delay > (int64_t)s->retry_max_ms) delay = s->retry_max_ms;
        telemetry__os_entropy(&j, 1);
        s->fails[ep]++;
        s->down_until[ep] = telemetry__monotonic_ms() + delay / 2 + delay * j / 510;   /* 50% to 100% */
    }
    return 0;
}

#  if defined(TELEMETRY_NO_FILES)
TELEMETRY__INTERNAL int telemetry__sender_lock_file(telemetry__sender *s) { (void)s; return -1; }
/* After a step over segment i: the records at its front that are done leave memory and the
   storage. 0: the segment stays (the one in memory always does). */
TELEMETRY__INTERNAL int telemetry__seg_settle(telemetry__sender *s, int i, int all_done) {
    telemetry__seg *g = &s->segs[i];
    telemetry__ram *r = &telemetry__ram_seg;
    (void)all_done;
    if (g->pos == 0) return 0;
    telemetry__lock(&telemetry__sto.lock);
    if (g->pos > r->len) g->pos = r->len;
    memmove(r->data, r->data + g->pos, r->len - (size_t)g->pos);
    r->len -= (size_t)g->pos;
    telemetry__sto.bytes = r->len;
    g->pos = 0;
    telemetry__ram_save();
    telemetry__unlock(&telemetry__sto.lock);
    return 0;
}
#  else
/* The folder's sender.lock, opened (created), or -1. */
TELEMETRY__INTERNAL int telemetry__sender_lock_file(telemetry__sender *s) {
    char path[1400];
    snprintf(path, sizeof path, "%s/sender.lock", s->dir);
    return telemetry__open_rw(path, 1);
}
/* After a step over segment i: when everything in it is done (all_done) and its writer is gone,
   the segment goes. 1 when it went (the caller's index then moves back). */
TELEMETRY__INTERNAL int telemetry__seg_settle(telemetry__sender *s, int i, int all_done) {
    telemetry__seg *g = &s->segs[i];
    char path[1400];
    if (!all_done || !telemetry__seg_finished(g)) return 0;
    snprintf(path, sizeof path, "%s/%s", s->dir, g->name);
    close(g->fd);                               /* first: an open file cannot be deleted on Windows */
    telemetry__remove_file(path);
    memmove(g, g + 1, (size_t)(s->nsegs - i - 1) * sizeof *g);
    s->nsegs--;
    return 1;
}
#  endif

/* One step of the sender: the oldest record that may go now goes. 1 when it did something,
   0 when nothing may go (then *wait_ms says how long until something may, and *unsent how
   many records wait). */
TELEMETRY__INTERNAL int telemetry__sender_step(telemetry__sender *s, int64_t *wait_ms, int *unsent) {
    int64_t mono = telemetry__monotonic_ms(), wall = telemetry__snd_now(s), soonest = INT64_MAX;
    int i;
    *unsent = 0;
    *wait_ms = 60000;
    s->live_writers = 0;
    if (s->sh && s->sh->revoked) return 0;
    if (!s->have_lock) {
        if (s->lock_fd < 0 && s->dir[0]) s->lock_fd = telemetry__sender_lock_file(s);
        if (s->lock_fd >= 0 && telemetry__fd_trylock(s->lock_fd, 1) != 0) { *wait_ms = 200; *unsent = 1; return 0; }
        s->have_lock = 1;
        s->rescan_at = 0;
    }
    if (s->have_lock && (s->lane == 0   ? s->has_usage && s->down_until[0] > mono
                         : s->lane == 1 ? s->has_dsn && s->down_until[1] > mono
                                        : (s->has_usage || s->has_dsn) && (!s->has_usage || s->down_until[0] > mono) &&
                                          (!s->has_dsn || s->down_until[1] > mono))) {
        /* every endpoint it serves is down (back-off after a failure): nothing can go, however much is
           queued, so nothing is read (offline, a large backlog costs nothing per wake-up) */
        int64_t u = s->has_usage && s->lane != 1 ? s->down_until[0] - mono : INT64_MAX;
        int64_t e = s->has_dsn && s->lane != 0 ? s->down_until[1] - mono : INT64_MAX;
        for (i = 0; i < s->nsegs; i++) {
            int64_t size = telemetry__seg_size(&s->segs[i]);
            if (size >= 0 && (uint64_t)size > s->segs[i].pos) (*unsent)++;
            if (!telemetry__seg_finished(&s->segs[i])) s->live_writers = 1;
        }
        *wait_ms = u < e ? u : e;
        return 0;
    }
    if (mono >= s->rescan_at || (s->sh && TELEMETRY__ATOMIC_LOAD(&s->sh->segments) != s->seen_segments)) {
        if (s->sh) s->seen_segments = TELEMETRY__ATOMIC_LOAD(&s->sh->segments);
        telemetry__sender_scan(s);                 /* a new segment, or another run's */
        s->rescan_at = mono + 1000;
        for (i = 0; i < s->nsegs; i++) { s->segs[i].scan = 0; s->segs[i].foreign = 0; }   /* the other lane's done ones are seen */
    }
    for (i = 0; i < s->nsegs; i++) {
        telemetry__seg *g = &s->segs[i];
        int64_t bytes = telemetry__seg_size(g);
        uint64_t off = g->pos, size;
        int first = 1, clean = s->lane >= 0;    /* clean: everything before off is done or not this lane's */
        /* whether its writer is gone, asked before its size: a writer that appends and closes
           after the size was read must not make its last records look torn, or all done */
        int fin = telemetry__seg_finished(g);
        if (bytes < 0) continue;
        size = (uint64_t)bytes;
        if (!fin) s->live_writers = 1;
        if (clean && g->scan > off) { off = g->scan; first = !g->foreign; }
        while (off < size) {
            unsigned char h[TELEMETRY__REC_HEADER];
            uint32_t len;
            int64_t held;
            int ep;
            long n;
            if (clean) g->scan = off;
            n = telemetry__seg_read(g, h, sizeof h, off);
            if (n != (long)sizeof h || memcmp(h, "TLR1", 4) != 0) {
                if (n != (long)sizeof h && !fin) break;                            /* being written */
                off = telemetry__seg_resync(g, off, size);                         /* torn: skip it */
                if (first) g->pos = off;
                continue;
            }
            len = telemetry__get32(h + 4);
            if ((uint64_t)len > s->cap || h[12] > TELEMETRY__KIND_ENVELOPE || h[13] >= TELEMETRY__CAT_COUNT) {
                /* larger than the cap (never read whole) or not ours */
                uint64_t next = off + TELEMETRY__REC_HEADER + (uint64_t)len;
                if ((uint64_t)len > s->cap && next <= size) telemetry__seg_mark(g, off, 'D');
                off = next <= size ? next : telemetry__seg_resync(g, off, size);
                if (first) g->pos = off;
                continue;
            }
            if (off + TELEMETRY__REC_HEADER + len > size) {
                if (!fin) break;                             /* being written */
                off = telemetry__seg_resync(g, off, size);
                if (first) g->pos = off;
                continue;
            }
            if (h[15] != 0 && h[15] != 'A') {                                      /* sent or dropped */
                off += TELEMETRY__REC_HEADER + len;
                if (first) g->pos = off;
                continue;
            }
            ep = TELEMETRY__ENDPOINT(h[12]);
            if (s->lane >= 0 && ep != s->lane) {                                   /* the other lane sends it */
                first = 0;
                g->foreign = 1;
                off += TELEMETRY__REC_HEADER + len;
                continue;
            }
            held = telemetry__held_ms(s, h[12], h[13], mono, wall);
            /* near a bound (shutdown's, the sidecar's) no request begins that its last round
               trip to this endpoint says cannot end in time */
            if (held == 0 && s->end_at && s->rtt[ep] && mono + s->rtt[ep] > s->end_at) held = s->end_at > mono ? s->end_at - mono : 1;
            if (held > 0) {
                clean = 0;
                (*unsent)++;
                if (held < soonest) soonest = held;
                first = 0;
                off += TELEMETRY__REC_HEADER + len;
                continue;
            }
            {
                char *payload = (char *)telemetry__malloc((size_t)len + 1);
                int done;
                if (!payload) { *wait_ms = 100; (*unsent)++; return 0; }
                n = telemetry__seg_read(g, payload, len, off + TELEMETRY__REC_HEADER);
                if (n != (long)len || telemetry__rec_sum(h, payload, len) != telemetry__get32(h + 8)) {
                    telemetry__free(payload);
                    if (!fin && off + TELEMETRY__REC_HEADER + len == size) break;   /* still landing */
                    telemetry__seg_mark(g, off, 'D');                               /* damaged */
                    continue;
                }
                payload[len] = 0;
                if (!telemetry__busy_begin(&telemetry__sending[ep])) {   /* the process is crashing: its crash waits too */
                    telemetry__free(payload);
                    (*unsent)++;
                    return 0;
                }
                done = telemetry__send_record(s, g, off, h, payload, len);   /* marked sent before the flag drops */
                telemetry__busy_end(&telemetry__sending[ep]);
                telemetry__free(payload);
                if (done && first) g->pos = off + TELEMETRY__REC_HEADER + len;
                if (!done) (*unsent)++;
                *wait_ms = 0;
                return 1;
            }
        }
        if (clean && off > g->scan) g->scan = off;
        if (telemetry__seg_settle(s, i, first && off >= size && fin)) i--;
    }
    if (soonest < *wait_ms) *wait_ms = soonest;
    return 0;
}

TELEMETRY__INTERNAL void telemetry__sender_free(telemetry__sender *s) {
    int i;
    if (!s) return;
    for (i = 0; i < s->nsegs; i++) if (s->segs[i].fd != s->mem_fd) telemetry__close_fd(s->segs[i].fd);
    telemetry__free(s->segs);
    if (s->lock_fd >= 0) telemetry__close_fd(s->lock_fd);
    if (s->http[0]) telemetry__http_client_free((telemetry__http_client *)s->http[0]);
    if (s->http[1] && s->http[1] != s->http[0]) telemetry__http_client_free((telemetry__http_client *)s->http[1]);
    telemetry__url_free(&s->usage);
    telemetry__dsn_free(&s->dsn);
    telemetry__free(s->ca_file);
    telemetry__free(s->ca_pem);
#  if !defined(TELEMETRY_NO_THREADS)
    telemetry__free(s->session_text);
    telemetry__cond_destroy(&s->cond);
    telemetry__mutex_destroy(&s->lock);
    telemetry__mutex_destroy(&s->session_io);
#  endif
    telemetry__free(s);
}

/* ---- the worker thread (thread mode: cfg.no_sidecar, TELEMETRY_NO_SIDECAR, Windows) ------------- */
#if !defined(TELEMETRY_NO_THREADS)
TELEMETRY__INTERNAL void telemetry__sender_worker(telemetry__sender *s) {
    int abandoned;
    telemetry__lock(&s->lock);
    while (!s->stop) {
        int64_t wait;
        int unsent, did;
        unsigned gen;
        if (s->session_text) {
            char *text = s->session_text;
            s->session_text = NULL;
            telemetry__unlock(&s->lock);
            telemetry__lock(&s->session_io);
            if (!TELEMETRY__ATOMIC_LOAD(&s->session_closed) && s->session_path[0])
                telemetry__session_file_write(s->session_path, text, strlen(text));
            telemetry__unlock(&s->session_io);
            telemetry__free(text);
            telemetry__lock(&s->lock);
        }
        /* the generation is read in the same hold of the lock that clears wake: a flush that came
           while the lock was let go for the file above has its wake-up cleared only once its
           generation is the one this step answers */
        gen = TELEMETRY__ATOMIC_LOAD(&s->sh->flush_gen);
        if (gen != s->seen_flush) { s->seen_flush = gen; s->down_until[0] = s->down_until[1] = 0; }   /* a flush: a fresh try */
        if (s->shutdown_at) s->end_at = s->shutdown_at;     /* shutdown's bound, from the next request on */
        s->wake = 0;
        telemetry__unlock(&s->lock);
        did = telemetry__sender_step(s, &wait, &unsent);
        telemetry__lock(&s->lock);
        if (!did) { s->unsent_n = unsent; s->idle_gen = gen; }
        telemetry__cond_signal(&s->cond);                   /* flush waits on this */
        if (did || s->wake || s->stop) continue;
        s->asleep = 1;
        telemetry__cond_wait_ms(&s->cond, &s->lock, wait > 60000 ? 60000 : wait);
        s->asleep = 0;
    }
    s->worker_done = 1;
    abandoned = s->abandoned;
    telemetry__cond_signal(&s->cond);
    telemetry__unlock(&s->lock);
    if (abandoned) telemetry__sender_free(s);              /* shutdown left it to finish alone */
}
/* The library's own thread: its faults are the library's (or its callbacks'), never a probe
   the program handles, so the crash handler records them before the program's handler runs. */
#  if defined(_WIN32)
TELEMETRY__INTERNAL TELEMETRY__THREAD_ENTRY DWORD WINAPI telemetry__worker_main(LPVOID arg) {
    telemetry__sender_worker((telemetry__sender *)arg);
    return 0;
}
#  else
TELEMETRY__DEF pthread_t telemetry__worker_thread[2];     /* one per lane */
TELEMETRY__DEF volatile int telemetry__worker_running[2];
TELEMETRY__INTERNAL int telemetry__on_library_thread(void) {
    return (telemetry__worker_running[0] && pthread_equal(pthread_self(), telemetry__worker_thread[0])) ||
           (telemetry__worker_running[1] && pthread_equal(pthread_self(), telemetry__worker_thread[1]));
}
TELEMETRY__INTERNAL void *telemetry__worker_main(void *arg) {
    telemetry__sender *s = (telemetry__sender *)arg;
    int slot = s->lane == 1;
    sigset_t all;
    sigfillset(&all);
    /* the host's signals go to the host's threads; a fault here is still delivered here, to the
       crash handler and the program's own handler (blocked, the kernel would kill the process) */
    sigdelset(&all, SIGSEGV); sigdelset(&all, SIGBUS); sigdelset(&all, SIGILL); sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGTRAP); sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    telemetry__worker_thread[slot] = pthread_self();
    telemetry__worker_running[slot] = 1;
    telemetry__sender_worker(s);
    telemetry__worker_running[slot] = 0;
    return NULL;
}
#  endif
#endif

/* ---- the sidecar: a detached process that sends while the program runs and after it ends -------- */
#if defined(TELEMETRY__HAVE_SIDECAR)
/* The program ended without a last word: its session ends as abnormal, and what it dropped at the
   disk cap is told (the program could not). Written into the store like any payload. */
TELEMETRY__INTERNAL void telemetry__sidecar_host_gone(telemetry__sender *s) {
    telemetry__shared *sh = s->sh;
    telemetry__store st;
    telemetry__buf env, item;
    int64_t counts[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT];
    char *report;
    size_t len = 0;
    if (TELEMETRY__ATOMIC_LOAD(&sh->revoked) || !s->dir[0]) return;
    memset(&st, 0, sizeof st);
    telemetry__copy(st.dir, sizeof st.dir, s->dir);
    st.fd = st.crash_fd = -1;
    st.cap = s->cap;
    if (telemetry__segment_new(&st) != 0) return;
    if (!sh->ended && !sh->crashed && sh->has_session) {
        telemetry__session se = sh->session;
        telemetry__copy(se.status, sizeof se.status, "abnormal");
        telemetry__buf_init(&env);
        telemetry__buf_init(&item);
        if (telemetry__envelope_header(&env, NULL, NULL) == 0 && telemetry__session_json(&item, &se) == 0 &&
            telemetry__envelope_item(&env, "session", item.data, item.len) == 0 && telemetry__envelope_end(&env) == 0)
            telemetry__store_append(&st, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_SESSION, 0, NULL, env.data, env.len, 1);
        telemetry__buf_free(&env);
        telemetry__buf_free(&item);
    }
    memset(counts, 0, sizeof counts);
    if (!sh->ended) memcpy(counts[TELEMETRY__DROP_CACHE], sh->dropped, sizeof sh->dropped);
    counts[TELEMETRY__DROP_CACHE][TELEMETRY__CAT_USAGE] = 0;      /* usage drops ride in usage reports */
    if (s->client_reports && s->has_dsn && (report = telemetry__client_report(counts, telemetry__snd_now(s), &len)) != NULL) {
        telemetry__buf_init(&env);
        if (telemetry__envelope_header(&env, NULL, NULL) == 0 && telemetry__envelope_item(&env, "client_report", report, len) == 0 &&
            telemetry__envelope_end(&env) == 0)
            telemetry__store_append(&st, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_INTERNAL, 0, NULL, env.data, env.len, 1);
        telemetry__buf_free(&env);
        telemetry__free(report);
    }
    telemetry__store_close(&st);
    s->rescan_at = 0;
}

/* The sidecar's request in progress stops when this is set: by SIGALRM, which the program sends
   on revocation, and which the sidecar arms for its lifetime bound when its program ends (seen
   through SIGIO on the pipe: the end is noticed even in the middle of a request). */
static int telemetry__sidecar_cancel;
static unsigned telemetry__sidecar_lifetime_s;
static int telemetry__sidecar_pipe = -1;
static int64_t telemetry__sidecar_end_ms;       /* monotonic ms the program's end was seen, 0 before */
TELEMETRY__INTERNAL void telemetry__sidecar_on_alarm(int sig) { (void)sig; telemetry__sidecar_cancel = 1; }
TELEMETRY__INTERNAL void telemetry__sidecar_on_io(int sig) {
    struct pollfd pf;
    int saved = errno;
    (void)sig;
    pf.fd = telemetry__sidecar_pipe; pf.events = POLLIN; pf.revents = 0;
    if (poll(&pf, 1, 0) > 0 && (pf.revents & POLLHUP)) {
        signal(SIGIO, SIG_IGN);
        telemetry__sidecar_end_ms = telemetry__monotonic_ms();   /* clock_gettime: signal-safe */
        alarm(telemetry__sidecar_lifetime_s);   /* the bound starts at the program's end */
    }
    errno = saved;
}
#  if defined(__linux__) && !defined(F_SETOWN) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
      defined(__arm__) || defined(__riscv) || defined(__s390__))
#    define F_SETOWN 8                          /* hidden by strict POSIX headers: the Linux values */
#    define O_ASYNC 020000
#  endif

/* Closes every inherited descriptor but 0, 1, 2 and keep (moved to 3 first). */
TELEMETRY__INTERNAL void telemetry__close_inherited(int keep) {
    int fd;
    if (keep != 3) { dup2(keep, 3); close(keep); }
#  if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, 4u, ~0u, 0u) == 0) return;
#  elif defined(__linux__)
    if (syscall(436, 4u, ~0u, 0u) == 0) return;     /* close_range, Linux 5.9 */
#  endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 65536) max = 65536;
        for (fd = 4; fd < max; fd++) close(fd);
    }
}

/* The sidecar's life: detach from the program (its own session, no terminal, stdio on
   /dev/null, no inherited descriptor, its own name, the terminal's signals ignored), send until
   the program has ended and the store is empty, or the bound after the end passes. Never returns. */
TELEMETRY__INTERNAL void telemetry__sidecar_main(telemetry__sender *s, int pipe_fd, const char *app) {
    static const int ignored[] = { SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2 };
    struct sigaction sa;
    sigset_t none;
    int i, fd, host_alive = 1, final_look = 0;
    int64_t end_at = 0;
    char path[1400];
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (i = 1; i < 32; i++) if (i != SIGKILL && i != SIGSTOP) sigaction(i, &sa, NULL);   /* the program's handlers are not ours */
    sa.sa_handler = SIG_IGN;
    for (i = 0; i < (int)(sizeof ignored / sizeof ignored[0]); i++) sigaction(ignored[i], &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* stdio: the pipe's read end (writes fail, nothing of the program's is held, no file is
       opened: a run that does nothing writes nothing) */
    telemetry__close_inherited(pipe_fd);
    pipe_fd = 3;
    for (fd = 0; fd < 3; fd++) dup2(pipe_fd, fd);
    telemetry__sidecar_pipe = pipe_fd;
    telemetry__sidecar_lifetime_s = (s->lifetime_ms + 999) / 1000;
    sa.sa_handler = telemetry__sidecar_on_alarm;
    sigaction(SIGALRM, &sa, NULL);
#  if defined(F_SETOWN) && defined(O_ASYNC) && defined(SIGIO)
    sa.sa_handler = telemetry__sidecar_on_io;
    sigaction(SIGIO, &sa, NULL);
    fcntl(pipe_fd, F_SETOWN, (int)getpid());
    fcntl(pipe_fd, F_SETFL, fcntl(pipe_fd, F_GETFL) | O_ASYNC);
    telemetry__sidecar_on_io(SIGIO);            /* the program may have ended already */
#  endif
    if (chdir("/") != 0) { /* stays where it was */ }
#  if defined(__linux__)
    {
        char name[16];
        snprintf(name, sizeof name, "%.5s-telemetry", app);
        prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
    }
#  else
    (void)app;
#  endif
    telemetry__log_sink.fn = NULL;              /* nobody reads the sidecar's log */
    telemetry__log_sink.debug = 0;
    s->lock_fd = -1;                            /* opened at the first work: a run that does nothing writes nothing */
    (void)path;
    for (;;) {
        telemetry__shared *sh = s->sh;
        int64_t wait, mono;
        int unsent = 0, did;
        unsigned gen = TELEMETRY__ATOMIC_LOAD(&sh->flush_gen);
        struct pollfd pf;
        if (TELEMETRY__ATOMIC_LOAD(&sh->revoked)) break;
        if (!TELEMETRY__ATOMIC_LOAD(&sh->active)) {
            /* dormant: the program has done nothing yet (or may not send this run); its end
               without work ends the sidecar too, having sent nothing */
            char buf[64];
            ssize_t n;
            pf.fd = pipe_fd; pf.events = POLLIN; pf.revents = 0;
            TELEMETRY__ATOMIC_STORE(&sh->idle, 1);
            if (TELEMETRY__ATOMIC_LOAD(&sh->active)) continue;
            if (poll(&pf, 1, 60000) > 0) {
                n = read(pipe_fd, buf, sizeof buf);
                if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
            }
            continue;
        }
        if (sh->fresh) { sh->fresh = 0; s->down_until[0] = s->down_until[1] = 0; }
        did = telemetry__sender_step(s, &wait, &unsent);
        if (!did) {
            /* asleep from here: an append now writes a byte to the pipe (no wake-up is lost:
               idle is set before the second look) */
            TELEMETRY__ATOMIC_STORE(&sh->idle, 1);
            did = telemetry__sender_step(s, &wait, &unsent);
            if (!did) { sh->unsent = unsent; TELEMETRY__ATOMIC_STORE(&sh->idle_gen, gen); }
        }
        mono = telemetry__monotonic_ms();
        if (!host_alive) {
            /* the program ended: the sender of the folder goes on while it has work and any run
               still writes (up to the bound); another run's sidecar is the sender, so this one
               may go (its program's records are in the store, finished: that one sends them) */
            if (mono >= end_at || !s->have_lock) break;
            if (!did && (mono + wait >= end_at || (unsent == 0 && !s->live_writers))) {
                if (!final_look) { final_look = 1; s->rescan_at = 0; continue; }   /* one more look at the folder */
                break;
            }
            if (did) final_look = 0;
            if (!did) {
                struct timespec ts;
                if (wait > end_at - mono) wait = end_at - mono;
                if (wait > 200) wait = 200;          /* other runs' new segments are looked for */
                ts.tv_sec = (time_t)(wait / 1000); ts.tv_nsec = (long)(wait % 1000) * 1000000L;
                nanosleep(&ts, NULL);
            }
            continue;
        }
        pf.fd = pipe_fd; pf.events = POLLIN; pf.revents = 0;
        if (did) wait = 0;
        if (poll(&pf, 1, (int)(wait > 60000 ? 60000 : wait)) > 0) {
            char buf[64];
            ssize_t n = read(pipe_fd, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                host_alive = 0;                     /* the program ended: EOF on its pipe */
                end_at = (telemetry__sidecar_end_ms ? telemetry__sidecar_end_ms : telemetry__monotonic_ms()) + (int64_t)s->lifetime_ms;
                s->end_at = end_at;
                telemetry__sidecar_host_gone(s);
            }
        }
        TELEMETRY__ATOMIC_STORE(&sh->idle, 0);
    }
    _exit(0);
}

/* Forks the sidecar (twice, so the program can never wait() for it). Only from a single-threaded
   program: the child then runs ordinary code safely. 0, or -1 (thread mode then). */
TELEMETRY__INTERNAL int telemetry__sidecar_start(telemetry__sender *s, const char *app, int *pipe_out) {
    int p[2], status = 0;
    pid_t pid;
    if (pipe(p) != 0) return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    /* The first fork is a clone with no exit signal: the program's wait()/waitpid(-1) never see
       it (only __WCLONE does), so it can be reaped later without ever being the program's child
       to wait for, and init does not wait for the scheduler to run it. */
#  if defined(SYS_clone) && (defined(__x86_64__) || defined(__aarch64__) || defined(__i386__) || defined(__arm__) || defined(__riscv))
    pid = (pid_t)syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
#  else
    pid = fork();
#  endif
    if (pid == 0) {
        pid_t g;
        setsid();
        g = fork();
        if (g != 0) { s->sh->sidecar_pid = (long)g; _exit(g > 0 ? 0 : 1); }
        close(p[1]);
        telemetry__sidecar_main(s, p[0], app);
    }
    close(p[0]);
    if (pid < 0) { close(p[1]); return -1; }
    /* the intermediate child exits at once; it is reaped by the next call into the library (or
       shutdown) rather than waited for here: init does not wait for the scheduler */
    telemetry__sidecar_child1 = pid;
    (void)status;
    fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
    *pipe_out = p[1];
    return 0;
}

/* Whether this process has one thread only (Linux: /proc/self/stat field 20). */
TELEMETRY__INTERNAL int telemetry__single_threaded(void) {
    char buf[1024], *p;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field;
    ssize_t n;
    if (fd < 0) return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    p = strrchr(buf, ')');                      /* the name may hold spaces */
    for (field = 2; p && field < 20; field++) p = strchr(p + 1, ' ');
    return p && strtol(p + 1, NULL, 10) == 1;
}
#endif

/* =============================================================================================
   >>send: what the caller's thread does: encode, append to the store, wake the sender; and the
   delivery's life: opened at init (or when consent is given), closed at shutdown or revocation
   ============================================================================================= */
/* What delivery needs from the config, kept so telemetry_set_consent(1) can open it later. */
typedef struct telemetry__delivery_config {
    uint64_t disk_cap;
    unsigned retry_initial_ms, retry_max_ms;
    int no_client_reports, no_sidecar, no_atexit;
    unsigned sidecar_lifetime_ms;
} telemetry__delivery_config;
TELEMETRY__DEF telemetry__delivery_config telemetry__dc;

/* This run's delivery. */
typedef struct telemetry__delivery {
    int open;
    int sidecar;                /* 1: a sidecar process sends; 0: the worker thread (or flush) */
    int pipe_fd;                /* sidecar mode: our end of its pipe; its EOF tells it we ended */
    int store_open;             /* the run's first work opened the store */
    int64_t usage_dropped;      /* usage reports dropped at the disk cap, told in the next report */
    int abandoned;              /* thread mode: a worker stuck past shutdown's bound still reads the shared state */
    telemetry__sender *sender;  /* thread mode: the worker (usage reports, or everything) */
    telemetry__sender *lane2;   /* with both endpoints (POSIX): a second worker, for Sentry's envelopes */
    telemetry__buf envelope;    /* kept between envelopes (no malloc per event), under the lock */
} telemetry__delivery;
TELEMETRY__DEF telemetry__delivery telemetry__dl = { 0, 0, -1, 0, 0, 0, NULL, NULL, { NULL, 0, 0, 0, 0 } };

/* Thread mode's workers by number: 0 the first (usage reports, or everything), 1 the second (Sentry). */
TELEMETRY__INTERNAL telemetry__sender *telemetry__lane(int i) { return i ? telemetry__dl.lane2 : telemetry__dl.sender; }

#if !defined(TELEMETRY_NO_THREADS)
/* Every thread-mode lane: asks it to look at the store (signal: even when it is not asleep, as
   flush does, whose waiters share the condition) or, with stop, to stop (a request too). */
TELEMETRY__INTERNAL void telemetry__lanes_poke(int signal, int stop) {
    int i;
    for (i = 0; i < 2; i++) {
        telemetry__sender *s = telemetry__lane(i);
        if (!s) continue;
        telemetry__lock(&s->lock);
        if (stop) TELEMETRY__ATOMIC_STORE(&s->stop, 1);
        s->wake = 1;
        if (signal || stop || s->asleep) telemetry__cond_signal(&s->cond);
        telemetry__unlock(&s->lock);
    }
}
#endif

/* Wakes whoever sends: the worker through its condition, the sidecar through its pipe (only
   when it sleeps: one byte per wake-up, not per payload). */
TELEMETRY__INTERNAL void telemetry__wake_sender(void) {
#if defined(TELEMETRY__HAVE_SIDECAR)
    if (telemetry__dl.sidecar) {
        if (telemetry__sh && TELEMETRY__ATOMIC_CAS_INT(&telemetry__sh->idle, 1, 0)) {
            ssize_t n = write(telemetry__dl.pipe_fd, "w", 1);
            (void)n;
        }
        return;
    }
#endif
#if !defined(TELEMETRY_NO_THREADS)
    telemetry__lanes_poke(0, 0);
#endif
}

/* Appends a payload to the store and wakes the sender. Library lock held. */
TELEMETRY__INTERNAL int telemetry__enqueue(int kind, int category, const char *push_id, const char *data, size_t len) {
    int rc;
    if (!telemetry__dl.open) return TELEMETRY_ERR_NOT_CONFIGURED;
#if defined(TELEMETRY__HAVE_SIDECAR)
    telemetry__reap_child1(0);
#endif
    rc = telemetry__store_append(&telemetry__sto, kind, category, 0, push_id, data, len, category == TELEMETRY__CAT_INTERNAL);
    if (rc == TELEMETRY_ERR_NO_SPACE && category == TELEMETRY__CAT_USAGE) telemetry__dl.usage_dropped++;
    if (rc == 0) telemetry__wake_sender();
    return rc == TELEMETRY_ERR_NO_SPACE ? 0 : rc;      /* a drop at the cap is counted, not an error */
}

/* An envelope (header without sent_at: the sender writes it) holding an event and/or a session.
   Its buffer is kept for the next one up to this size; a device's RAM (TELEMETRY_NO_FILES) is
   worth more than the malloc it saves. */
#if defined(TELEMETRY_NO_FILES)
#  define TELEMETRY__ENVELOPE_KEEP 0
#else
#  define TELEMETRY__ENVELOPE_KEEP 65536
#endif
TELEMETRY__INTERNAL int telemetry__queue_envelope(const char *event_id, const telemetry__buf *event, const telemetry__session *session) {
    telemetry__buf *env = &telemetry__dl.envelope, item;
    int rc = 0;
    if (!telemetry__dl.open) return TELEMETRY_ERR_NOT_CONFIGURED;
    env->len = 0;
    env->failed = 0;
    telemetry__buf_presize(env, (event ? event->len : 0) + 512);      /* one allocation at most */
    rc = telemetry__envelope_header(env, event_id, NULL);
    if (rc == 0 && event) rc = telemetry__envelope_item(env, "event", event->data, event->len);
    if (rc == 0 && session) {
        telemetry__buf_init(&item);
        rc = telemetry__session_json(&item, session);
        if (rc == 0) rc = telemetry__envelope_item(env, "session", item.data, item.len);
        telemetry__buf_free(&item);
    }
    if (rc == 0) rc = telemetry__envelope_end(env);
    if (rc == 0) rc = telemetry__enqueue(TELEMETRY__KIND_ENVELOPE, event ? TELEMETRY__CAT_ERROR : TELEMETRY__CAT_SESSION, NULL, env->data, env->len);
    if (env->cap > TELEMETRY__ENVELOPE_KEEP) telemetry__buf_free(env);   /* a huge one is not kept */
    return rc;
}

/* Usage reports dropped at the disk cap since the last report; take resets the count. */
TELEMETRY__INTERNAL int64_t telemetry__usage_dropped(int take) {
    int64_t n = telemetry__dl.usage_dropped;
    if (take) telemetry__dl.usage_dropped = 0;
    return n;
}

TELEMETRY__INTERNAL void telemetry__save_session(void) {
    char path[1100];
    telemetry__buf b;
    if (!telemetry__st.has_session || !telemetry__st.state_dir[0]) return;
    telemetry__state_path("session", path, sizeof path);
    telemetry__buf_init(&b);
    telemetry__session_text(&telemetry__st.session, &b);
    if (!b.failed) telemetry__session_file_write(path, b.data, b.len);
    telemetry__buf_free(&b);
}

/* This run's session, in memory only (no file, nothing queued): what the crash handler reports
   if the run crashes before its first work started the session. */
TELEMETRY__INTERNAL void telemetry__session_prefill(void) {
    telemetry__session *se = &telemetry__st.session;
    memset(se, 0, sizeof *se);
    if (telemetry__random_id(se->sid) != 0) return;
    telemetry__copy(se->did, sizeof se->did, telemetry__st.install_id);
    telemetry__copy(se->release, sizeof se->release, telemetry__st.release);
    telemetry__copy(se->environment, sizeof se->environment, telemetry__st.environment);
    telemetry__copy(se->status, sizeof se->status, "ok");
    se->started_ms = se->updated_ms = telemetry__st.started_ms;
    se->init_pending = 1;
    telemetry__st.session_prefilled = 1;
}

/* The session changed: the sender's copy follows (it ends the session as abnormal if the program
   dies without a word); in thread mode the session file does that for the next run. Lock held. */
TELEMETRY__INTERNAL void telemetry__note_session(int write_file) {
    telemetry__shared *sh = telemetry__sh;
    if (!telemetry__st.has_session) return;
    if (sh) {
        TELEMETRY__ATOMIC_ADD64(&sh->session_seq, 1u);
        sh->session = telemetry__st.session;
        sh->has_session = 1;
        TELEMETRY__ATOMIC_ADD64(&sh->session_seq, 1u);
    }
    if (!write_file || telemetry__dl.sidecar) return;
#if !defined(TELEMETRY_NO_THREADS)
    if (telemetry__dl.sender && telemetry__dl.sender->worker_started) {
        telemetry__sender *s = telemetry__dl.sender;
        telemetry__buf b;
        telemetry__buf_init(&b);
        telemetry__session_text(&telemetry__st.session, &b);
        if (b.failed) { telemetry__buf_free(&b); return; }
        telemetry__lock(&s->lock);
        telemetry__free(s->session_text);
        s->session_text = b.data;
        s->wake = 1;
        if (s->asleep) telemetry__cond_signal(&s->cond);
        telemetry__unlock(&s->lock);
        return;
    }
#endif
    telemetry__save_session();
}

/* The last run's session file (a run in thread mode that never reached its end) is reported as
   abnormal; then this run's session starts. Lock held. */
TELEMETRY__INTERNAL void telemetry__start_session(void) {
    char path[1100], *text = NULL;
    int err;
    telemetry__session prev, *se = &telemetry__st.session;
    telemetry__state_path("session", path, sizeof path);
    if (telemetry__state_read("session", 4096, &text, NULL, &err) == 0 && telemetry__session_parse(text, &prev) == 0) {
        if (strcmp(prev.status, "ok") == 0) telemetry__copy(prev.status, sizeof prev.status, "abnormal");
        if (telemetry__queue_envelope(NULL, NULL, &prev) == 0) telemetry__remove_file(path);
    }
    telemetry__free(text);
    memset(se, 0, sizeof *se);
    if (telemetry__random_id(se->sid) != 0) return;
    telemetry__copy(se->did, sizeof se->did, telemetry__st.install_id);
    telemetry__copy(se->release, sizeof se->release, telemetry__st.release);
    telemetry__copy(se->environment, sizeof se->environment, telemetry__st.environment);
    telemetry__copy(se->status, sizeof se->status, "ok");
    se->started_ms = se->updated_ms = telemetry__st.started_ms;
    se->init_pending = 1;
    telemetry__st.has_session = 1;
    telemetry__note_session(1);
}

/* No late write by the worker may bring the session file back (it ended, or consent went);
   returns with the worker's session_io held (thread mode) until the caller removed the file. */
TELEMETRY__INTERNAL void telemetry__session_file_closed(void) {
#if !defined(TELEMETRY_NO_THREADS)
    telemetry__sender *s = telemetry__dl.sender;
    if (!s) return;
    telemetry__lock(&s->lock);
    TELEMETRY__ATOMIC_STORE(&s->session_closed, 1);
    telemetry__free(s->session_text);
    s->session_text = NULL;
    telemetry__unlock(&s->lock);
    telemetry__lock(&s->session_io);
#endif
}

/* Ends this run's session as exited, with what the run dropped at the disk cap. Lock held. */
TELEMETRY__INTERNAL void telemetry__end_session(void) {
    telemetry__session *se = &telemetry__st.session;
    char path[1100];
    int64_t counts[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT];
    char *report;
    size_t len = 0;
    telemetry__copy(se->status, sizeof se->status, "exited");
    se->updated_ms = telemetry__now_ms();
    if (telemetry__queue_envelope(NULL, NULL, se) != 0) { telemetry__save_session(); return; }
    memset(counts, 0, sizeof counts);
    if (telemetry__sh) memcpy(counts[TELEMETRY__DROP_CACHE], telemetry__sh->dropped, sizeof telemetry__sh->dropped);
    counts[TELEMETRY__DROP_CACHE][TELEMETRY__CAT_USAGE] = 0;      /* usage drops ride in usage reports */
    if (!telemetry__dc.no_client_reports && (report = telemetry__client_report(counts, telemetry__now_ms(), &len)) != NULL) {
        telemetry__buf env;
        telemetry__buf_init(&env);
        if (telemetry__envelope_header(&env, NULL, NULL) == 0 && telemetry__envelope_item(&env, "client_report", report, len) == 0 &&
            telemetry__envelope_end(&env) == 0)
            telemetry__enqueue(TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_INTERNAL, NULL, env.data, env.len);
        telemetry__buf_free(&env);
        telemetry__free(report);
    }
    if (telemetry__sh) TELEMETRY__ATOMIC_STORE(&telemetry__sh->ended, 1);
    telemetry__state_path("session", path, sizeof path);
    telemetry__session_file_closed();
    telemetry__remove_file(path);                             /* the store holds its last word now */
#if !defined(TELEMETRY_NO_THREADS)
    if (telemetry__dl.sender) telemetry__unlock(&telemetry__dl.sender->session_io);
#endif
    telemetry__st.has_session = 0;
}

/* A sender with a copy of what it needs. */
TELEMETRY__INTERNAL telemetry__sender *telemetry__sender_new(void) {
    telemetry__sender *s = (telemetry__sender *)telemetry__malloc(sizeof *s);
    if (!s) return NULL;
    memset(s, 0, sizeof *s);
    s->lock_fd = s->mem_fd = -1;
    s->lane = -1;
#  if !defined(TELEMETRY_NO_THREADS)
    telemetry__mutex_init(&s->lock);
    telemetry__mutex_init(&s->session_io);
    telemetry__cond_init(&s->cond);
    if (telemetry__st.state_dir[0]) telemetry__state_path("session", s->session_path, sizeof s->session_path);
#  endif
    if (telemetry__st.has_usage) s->has_usage = telemetry__url_parse(telemetry__st.usage_url_text, &s->usage) == 0;
    if (telemetry__st.has_dsn) s->has_dsn = telemetry__dsn_parse(telemetry__st.dsn_text, &s->dsn) == 0;
    s->ca_file = telemetry__strdup(telemetry__st.ca_file);
    s->ca_pem = telemetry__strdup(telemetry__st.ca_pem);
    s->io = telemetry__st.io;
    s->entropy_fn = telemetry__st.entropy_fn;
    s->clock_fn = telemetry__st.clock_fn;
    s->platform_user_data = telemetry__st.platform_user_data;
    s->timeout_ms = telemetry__st.timeout_ms;
    s->retry_initial_ms = telemetry__dc.retry_initial_ms ? telemetry__dc.retry_initial_ms : 1000;
    s->retry_max_ms = telemetry__dc.retry_max_ms ? telemetry__dc.retry_max_ms : 300000;
    if (s->retry_max_ms < s->retry_initial_ms) s->retry_max_ms = s->retry_initial_ms;
    s->cap = telemetry__sto.cap;
    s->debug = telemetry__st.debug;
    s->client_reports = !telemetry__dc.no_client_reports;
    s->sh = telemetry__sh;
    s->lifetime_ms = telemetry__dc.sidecar_lifetime_ms ? telemetry__dc.sidecar_lifetime_ms : TELEMETRY_SIDECAR_LIFETIME_MS;
    if (telemetry__dl.store_open) telemetry__copy(s->dir, sizeof s->dir, telemetry__sto.dir);
    else if (telemetry__st.state_dir[0]) snprintf(s->dir, sizeof s->dir, "%s" TELEMETRY__SEP "outbox", telemetry__st.state_dir);
    if (telemetry__st.state_dir[0]) {
        telemetry__state_path("ratelimits", s->ratelimit_path, sizeof s->ratelimit_path);
        telemetry__state_path("tls_sessions", s->tls_session_path, sizeof s->tls_session_path);
        if (telemetry__st.sent_log_cap) {
            telemetry__state_path("sent.log", s->sent_log_path, sizeof s->sent_log_path);
            s->sent_log_cap = telemetry__st.sent_log_cap;
        }
    }
    telemetry__load_rate_limits(s);
    if (!s->dir[0] && telemetry__sto.fd != -1) { /* the memory-only store: read through a duplicate */
#  if defined(TELEMETRY_NO_FILES)
        s->mem_fd = TELEMETRY__RAM_FD;
#  else
        s->mem_fd = dup(telemetry__sto.fd);
#  endif
        s->segs = (telemetry__seg *)telemetry__malloc(sizeof *s->segs);
        if (s->mem_fd != -1 && s->segs) {
            memset(s->segs, 0, sizeof *s->segs);
            s->segs[0].fd = s->mem_fd;
            s->segs[0].seen = 1;
            s->nsegs = s->capsegs = 1;
        }
    }
    return s;
}

/* Whether the sidecar can send for this run: see the manual (threads and processes). */
TELEMETRY__INTERNAL int telemetry__want_sidecar(void) {
#if defined(TELEMETRY__HAVE_SIDECAR)
    if (telemetry__dc.no_sidecar || telemetry__st.io || telemetry__st.debug || !telemetry__st.state_dir[0]) return 0;
    if (telemetry__env_true("TELEMETRY_NO_SIDECAR")) return 0;
    return telemetry__single_threaded();      /* a fork of a threaded program may only exec */
#else
    return 0;
#endif
}

/* Stops whoever sends and waits for it (bounded). Revocation: nothing more leaves. */
TELEMETRY__INTERNAL void telemetry__stop_sender(int64_t deadline) {
    (void)deadline;                             /* (no sidecar and no thread: nothing to wait for) */
#  if defined(TELEMETRY__HAVE_SIDECAR)
    if (telemetry__dl.sidecar) {
        struct pollfd pf;
        long pid = telemetry__sh ? telemetry__sh->sidecar_pid : 0;
        int gone = 0;
        ssize_t n = write(telemetry__dl.pipe_fd, "r", 1);
        (void)n;
        if (pid > 0) kill((pid_t)pid, SIGALRM);     /* its request in progress stops now */
        /* it is gone when our end of its pipe reports an error (no reader is left) */
        while (!gone && telemetry__monotonic_ms() < deadline) {
            pf.fd = telemetry__dl.pipe_fd; pf.events = 0; pf.revents = 0;
            if (poll(&pf, 1, 10) > 0 && (pf.revents & (POLLERR | POLLHUP))) gone = 1;
        }
        if (!gone && pid > 0) kill((pid_t)pid, SIGKILL);   /* still alive: its pid is still its own */
        return;
    }
#  endif
#  if !defined(TELEMETRY_NO_THREADS)
    {
        int i;
        telemetry__lanes_poke(1, 1);                        /* both stop at once */
        for (i = 0; i < 2; i++) {
            telemetry__sender *s = telemetry__lane(i);
            if (!s) continue;
            telemetry__lock(&s->lock);
            while (s->worker_started && !s->worker_done && telemetry__monotonic_ms() < deadline)
                telemetry__cond_wait_ms(&s->cond, &s->lock, deadline - telemetry__monotonic_ms());
            if (!s->worker_started || s->worker_done) {
                telemetry__unlock(&s->lock);
                if (s->worker_started) telemetry__thread_join(s->thread);
                telemetry__sender_free(s);
            } else {                                        /* stuck (name resolution): it frees itself */
                s->abandoned = 1;
                telemetry__dl.abandoned = 1;
                telemetry__thread_detach(s->thread);
                telemetry__unlock(&s->lock);
                telemetry__log_detach();
            }
        }
        telemetry__dl.sender = telemetry__dl.lane2 = NULL;
    }
#  else
    if (telemetry__dl.sender) { telemetry__sender_free(telemetry__dl.sender); telemetry__dl.sender = NULL; }
#  endif
}

/* Shutdown in thread mode: from now on no request goes past deadline, and none begins that its
   endpoint's last round trip says cannot end before it (each lane keeps its own connection). */
TELEMETRY__INTERNAL void telemetry__senders_bound(int64_t deadline) {
    int i;
    for (i = 0; i < 2; i++) {
        telemetry__sender *s = telemetry__lane(i);
        if (!s) continue;
#  if defined(TELEMETRY_NO_THREADS)
        s->end_at = deadline;
#  else
        telemetry__lock(&s->lock);
        s->shutdown_at = deadline;
        telemetry__unlock(&s->lock);
#  endif
    }
}

/* Waits until every record that may go now has gone, or the deadline; records in back-off get
   one fresh try. 0 when nothing waits, TELEMETRY_ERR_TIMEOUT otherwise (it stays in the store). */
TELEMETRY__INTERNAL int telemetry__flush_until(int64_t deadline) {
    telemetry__shared *sh = telemetry__sh;
    if (!sh) return 0;
#  if defined(TELEMETRY_NO_THREADS)
    {   /* no thread: the sending happens here */
        telemetry__sender *s = telemetry__dl.sender;
        int64_t wait;
        int unsent = 0;
        if (!s) return 0;
        s->down_until[0] = s->down_until[1] = 0;
        while (telemetry__monotonic_ms() < deadline && telemetry__sender_step(s, &wait, &unsent)) {}
        if (telemetry__monotonic_ms() >= deadline) return TELEMETRY_ERR_TIMEOUT;
        return unsent ? TELEMETRY_ERR_TIMEOUT : 0;
    }
#  else
    unsigned gen = (unsigned)TELEMETRY__ATOMIC_ADD64(&sh->flush_gen, 1u) + 1u;
    sh->fresh = 1;
#    if defined(TELEMETRY__HAVE_SIDECAR)
    if (telemetry__dl.sidecar) {
        ssize_t n;
        TELEMETRY__ATOMIC_STORE(&sh->idle, 0);
        n = write(telemetry__dl.pipe_fd, "f", 1);
        (void)n;
        while ((int)(TELEMETRY__ATOMIC_LOAD(&sh->idle_gen) - gen) < 0 && telemetry__monotonic_ms() < deadline) {
            struct timespec ts = { 0, 2000000L };
            nanosleep(&ts, NULL);
        }
        if ((int)(TELEMETRY__ATOMIC_LOAD(&sh->idle_gen) - gen) < 0) return TELEMETRY_ERR_TIMEOUT;
        return sh->unsent ? TELEMETRY_ERR_TIMEOUT : 0;
    }
#    endif
    {
        /* the lanes send at once (one per endpoint): waiting for each in turn is waiting for both */
        int i, rc = 0;
        telemetry__lanes_poke(1, 0);
        for (i = 0; i < 2; i++) {
            telemetry__sender *s = telemetry__lane(i);
            if (!s) continue;
            telemetry__lock(&s->lock);
            while ((int)(s->idle_gen - gen) < 0 && telemetry__monotonic_ms() < deadline && s->worker_started && !s->worker_done)
                telemetry__cond_wait_ms(&s->cond, &s->lock, deadline - telemetry__monotonic_ms());
            if ((int)(s->idle_gen - gen) < 0 || s->unsent_n) rc = TELEMETRY_ERR_TIMEOUT;
            telemetry__unlock(&s->lock);
        }
        return rc;
    }
#  endif
}

TELEMETRY__INTERNAL void telemetry__at_exit(void);

/* Opens delivery for this run: the store, the session, the crash handler, and the sender (the
   sidecar, or the worker thread). The one function telemetry_init and telemetry_set_consent(1)
   both call. O(1) in what earlier runs left: nothing is read here. Lock held. */
TELEMETRY__INTERNAL int telemetry__open_outbox(void) {
    static int atexit_done;
    telemetry__shared *sh;
    if (!telemetry__st.enabled || telemetry__forked_child || (!telemetry__st.has_usage && !telemetry__st.has_dsn)) return 0;
    if (!telemetry__dl.open) {
        /* part 1, as early as possible (init: before the program starts threads, so the fork is
           safe): the shared page and the sidecar, dormant until the run's first work */
        telemetry__dl.sidecar = telemetry__want_sidecar();
#  if defined(TELEMETRY__HAVE_SIDECAR)
        sh = telemetry__dl.sidecar ? (telemetry__shared *)mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) : NULL;
        if (sh == (telemetry__shared *)MAP_FAILED) sh = NULL;
#  else
        sh = NULL;
#  endif
        if (!sh) { telemetry__dl.sidecar = 0; sh = (telemetry__shared *)telemetry__malloc(sizeof *sh); }
        if (!sh) return TELEMETRY_ERR_NO_MEMORY;
        memset(sh, 0, sizeof *sh);
        telemetry__sh = sh;
        telemetry__sto.cap = telemetry__dc.disk_cap ? telemetry__dc.disk_cap : TELEMETRY_OUTBOX_DISK;
        telemetry__dl.open = 1;
        telemetry__dl.pipe_fd = -1;
        telemetry__dl.store_open = 0;
#  if defined(TELEMETRY__HAVE_SIDECAR)
        if (telemetry__dl.sidecar) {
            telemetry__sender *s = telemetry__sender_new();
            int ok = 0;
            if (s) {
                telemetry__sender_clients(s, &telemetry__sidecar_cancel);   /* its requests stop on revocation and at its bound */
                ok = telemetry__sidecar_start(s, telemetry__st.app_name, &telemetry__dl.pipe_fd) == 0;
                telemetry__sender_free(s);          /* the sidecar has its own copy */
            }
            if (!ok) {
                telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot start the sidecar sender: a thread sends instead");
                telemetry__dl.sidecar = 0;
            }
        }
#  endif
        if (!telemetry__dc.no_atexit && !atexit_done) { atexit_done = 1; atexit(telemetry__at_exit); }
    }
    if (!telemetry__st.activated || telemetry__dl.store_open) return 0;
    /* part 2, at the run's first work: the store, the session, and sending (unless this run
       only showed the notice: then everything waits in the store for the next run) */
    if (telemetry__store_open(&telemetry__sto, telemetry__st.state_dir, telemetry__sto.cap) != 0) return TELEMETRY_ERR_IO;
    telemetry__dl.store_open = 1;
#  if defined(TELEMETRY__HAVE_SIDECAR)
    if (telemetry__dl.sidecar && !telemetry__sto.dir[0]) {   /* memory only: the sidecar cannot read it */
        TELEMETRY__ATOMIC_STORE(&telemetry__sh->revoked, 1);
        telemetry__stop_sender(telemetry__monotonic_ms() + 500);
        if (telemetry__dl.pipe_fd >= 0) { close(telemetry__dl.pipe_fd); telemetry__dl.pipe_fd = -1; }
        munmap((void *)telemetry__sh, sizeof *telemetry__sh);
        telemetry__sh = (telemetry__shared *)telemetry__malloc(sizeof *telemetry__sh);
        if (!telemetry__sh) return TELEMETRY_ERR_NO_MEMORY;
        memset(telemetry__sh, 0, sizeof *telemetry__sh);
        telemetry__dl.sidecar = 0;
    }
#  endif
    if (telemetry__st.has_dsn && !telemetry__st.no_sessions && !telemetry__st.has_session) telemetry__start_session();
    if (!telemetry__may_send_this_run()) return 0;
    if (telemetry__dl.sidecar) {
        TELEMETRY__ATOMIC_STORE(&telemetry__sh->active, 1);  /* the sidecar may send from now on */
        TELEMETRY__ATOMIC_STORE(&telemetry__sh->idle, 1);
        telemetry__wake_sender();
        return 0;
    }
    telemetry__dl.sender = telemetry__sender_new();
    if (!telemetry__dl.sender) return TELEMETRY_ERR_NO_MEMORY;
#  if !defined(TELEMETRY_NO_THREADS)
    {
        telemetry__sender *s = telemetry__dl.sender;
#    if !defined(_WIN32)
        telemetry__sender *s2;
        /* both endpoints: a worker for each (a slow one never holds the other, and shutdown
           sends to both at once), reading the same store, each sending its own records. Not
           for the memory-only store: its file is open O_APPEND, so a record cannot be marked
           sent in place, and one worker keeps its place in memory instead */
        if (s->has_usage && s->has_dsn && s->dir[0] && !s->io && (s2 = telemetry__sender_new()) != NULL) {
            s->lane = 0;
            s2->lane = 1;
            s2->session_path[0] = 0;                /* the session file is the first worker's */
            {                                       /* one folder lock for both: the same open file */
                char path[1400];
                snprintf(path, sizeof path, "%s/sender.lock", s->dir);
                s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (s->lock_fd >= 0) s2->lock_fd = fcntl(s->lock_fd, F_DUPFD_CLOEXEC, 0);
            }
            if (!telemetry__st.debug) telemetry__sender_clients(s2, (const int *)&s2->stop);
            s2->worker_started = telemetry__thread_start(&s2->thread, telemetry__worker_main, s2) == 0;
            if (s2->worker_started) telemetry__dl.lane2 = s2;
            else { s->lane = -1; telemetry__sender_free(s2); }   /* one worker sends everything */
        }
#    endif
        if (!telemetry__st.debug) telemetry__sender_clients(s, (const int *)&s->stop);
        s->worker_started = telemetry__thread_start(&s->thread, telemetry__worker_main, s) == 0;
        if (!s->worker_started) telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot start the sender thread: payloads wait on disk");
    }
#  else
    if (!telemetry__st.debug) telemetry__sender_clients(telemetry__dl.sender, (const int *)&telemetry__dl.sender->stop);
#  endif
    return 0;
}

/* Ends delivery for this run. Sidecar: the pipe closes and the sidecar goes on alone (the
   program waits for nothing). Thread: what may go is sent until the deadline, then the worker
   stops (what is left stays in the store for later). Lock held. */
TELEMETRY__INTERNAL void telemetry__close_outbox(int64_t deadline, int64_t grace_ms) {
    if (!telemetry__dl.open) return;
#if defined(TELEMETRY__HAVE_SIDECAR)
    telemetry__reap_child1(0);                  /* if it has not run yet, init reaps it when the program ends */
#endif
    if (!telemetry__dl.sidecar) {
        telemetry__senders_bound(deadline);
        if (deadline > telemetry__monotonic_ms()) telemetry__flush_until(deadline);
        telemetry__stop_sender(deadline + grace_ms);
    }
    telemetry__dl.open = 0;
    telemetry__buf_free(&telemetry__dl.envelope);
    telemetry__lock(&telemetry__sto.lock);
    telemetry__store_close(&telemetry__sto);
    telemetry__unlock(&telemetry__sto.lock);
#  if defined(TELEMETRY__HAVE_SIDECAR)
    if (telemetry__dl.pipe_fd >= 0) { close(telemetry__dl.pipe_fd); telemetry__dl.pipe_fd = -1; }   /* EOF: the sidecar sees we ended */
#  endif
    if (telemetry__sh) {
        telemetry__shared *sh = telemetry__sh;
        telemetry__sh = NULL;
#if defined(TELEMETRY__HAVE_SIDECAR)
        if (telemetry__dl.sidecar) munmap((void *)sh, sizeof *sh);
        else
#endif
        if (!telemetry__dl.abandoned) telemetry__free(sh);   /* (else a stuck worker still reads it: kept, a few hundred bytes) */
        telemetry__dl.abandoned = 0;
    }
    telemetry__dl.sidecar = 0;
}

/* Consent revoked: the sender stops (a request in progress too), the store goes, nothing comes
   back. Lock held. */
TELEMETRY__INTERNAL void telemetry__purge_outbox(void) {
    char dir[1100];
    if (!telemetry__dl.open) {
        if (telemetry__st.state_dir[0]) {
            snprintf(dir, sizeof dir, "%s/outbox", telemetry__st.state_dir);
            telemetry__store_remove_all(dir);
        }
        return;
    }
#if defined(TELEMETRY__HAVE_CRASH)
    telemetry__crash_uninstall();
#endif
    if (telemetry__sh) TELEMETRY__ATOMIC_STORE(&telemetry__sh->revoked, 1);
    telemetry__stop_sender(telemetry__monotonic_ms() + 500);
    snprintf(dir, sizeof dir, "%s" TELEMETRY__SEP "outbox", telemetry__st.state_dir);
    telemetry__close_outbox(0, 0);
    if (telemetry__st.state_dir[0]) telemetry__store_remove_all(dir);
}

/* =============================================================================================
   >>crash: fatal signals become a Sentry event written straight into the outbox folder

   Everything the handler needs is prepared by telemetry_init: the buffers, the module list with
   build ids, the event id, the outbox path. In the handler there is no malloc, no stdio, no lock:
   the JSON writer runs on a fixed buffer, the file is written with open/write/rename, and then
   the previous handler is put back and the signal raised again, so the process ends as it would
   have without the library (same signal, core dump if enabled, the program's own handler runs).
   A second fault inside the handler falls through to the default action.
   ============================================================================================= */
#if !defined(TELEMETRY_NO_CRASH_HANDLER) && (defined(_WIN32) || !defined(TELEMETRY_NO_FILES))   /* (nowhere to write a crash) */
#  ifndef TELEMETRY_CRASH_BUFFER
#    define TELEMETRY_CRASH_BUFFER (192u * 1024u)  /* the crash event's room: breadcrumbs, frames */
#  endif
#  define TELEMETRY__CRASH_MODULES 256
#  define TELEMETRY__CRASH_RECORD (TELEMETRY_CRASH_BUFFER + 8192u)   /* header, envelope, event, session */
#  if defined(__GNUC__) || defined(__clang__)
#    define TELEMETRY__NOINLINE __attribute__((noinline))   /* one path's locals off the others' frames */
#  elif defined(_MSC_VER)
#    define TELEMETRY__NOINLINE __declspec(noinline)
#  else
#    define TELEMETRY__NOINLINE
#  endif

/* What a handler knows of the fault; the event around it is the same on every platform. */
typedef struct telemetry__fatal {
    const char *type, *value;       /* "SIGSEGV", "Segfault at 0x0" */
    const char *mechanism;          /* what caught it */
    int synthetic;                  /* the type is the handler's word for it, not the program's */
    int64_t tid;                    /* the crashing thread; 0 unknown (no "threads" then) */
    int main_thread;
    const char *frames;             /* "auto": the first frame is the faulting instruction; "all" */
    const char *data[3][2];         /* mechanism.data's fields, name and text (NULL name: none) */
    int sig;                        /* mechanism.meta.signal (0: none) */
    const char *sig_name, *code_name;
    int has_code, code;
    int64_t now;
} telemetry__fatal;

/* The images the crashing frames fall in, each once, into used; their count. */
TELEMETRY__INTERNAL int telemetry__fatal_images(const telemetry__stack *st, const telemetry__module *modules, int module_count,
                                               telemetry__module *used) {
    int i, m, u, nused = 0;
    for (i = 0; i < st->count; i++) {
        for (m = 0; m < module_count; m++) {
            const telemetry__module *mod = &modules[m];
            int seen = 0;
            if (st->addr[i] < mod->start || st->addr[i] >= mod->end) continue;
            for (u = 0; u < nused; u++) if (used[u].start == mod->start) seen = 1;
            if (!seen && nused < TELEMETRY_MAX_FRAMES) used[nused++] = *mod;
            break;
        }
    }
    return nused;
}

/* The fatal event into ev and, when the run has a session, that session as the crash ends it
   into se (se->len 0: none). Fixed buffers, no heap: the handlers call it. 0 when the event is
   whole (never a cut one). */
TELEMETRY__INTERNAL int telemetry__fatal_event(const telemetry__fatal *f, const char *event_id, const telemetry__stack *st,
                                              const telemetry__module *used, int nused, telemetry__session *session,
                                              telemetry__buf *ev, telemetry__buf *se) {
    telemetry__json j;
    int i;
    telemetry__json_init(&j, ev);
    telemetry__event_begin(&j, event_id, TELEMETRY_LEVEL_FATAL, f->now);
    telemetry__json_key(&j, "exception");
    telemetry__json_object_begin(&j);
    telemetry__json_key(&j, "values");
    telemetry__json_array_begin(&j);
    telemetry__json_object_begin(&j);
    telemetry__json_key(&j, "type"); telemetry__json_string(&j, f->type);
    telemetry__json_key(&j, "value"); telemetry__json_string(&j, f->value);
    if (f->tid) { telemetry__json_key(&j, "thread_id"); telemetry__json_int(&j, f->tid); }
    telemetry__json_key(&j, "mechanism");
    telemetry__json_object_begin(&j);
    telemetry__json_key(&j, "type"); telemetry__json_string(&j, f->mechanism);
    telemetry__json_key(&j, "handled"); telemetry__json_bool(&j, 0);
    telemetry__json_key(&j, "synthetic"); telemetry__json_bool(&j, f->synthetic);
    if (f->data[0][0]) {
        telemetry__json_key(&j, "data");
        telemetry__json_object_begin(&j);
        for (i = 0; i < 3 && f->data[i][0]; i++) { telemetry__json_key(&j, f->data[i][0]); telemetry__json_string(&j, f->data[i][1]); }
        telemetry__json_object_end(&j);
    }
    if (f->sig) {
        telemetry__json_key(&j, "meta");
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "signal");
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "number"); telemetry__json_int(&j, f->sig);
        telemetry__json_key(&j, "name"); telemetry__json_string(&j, f->sig_name);
        if (f->has_code) { telemetry__json_key(&j, "code"); telemetry__json_int(&j, f->code); }
        if (f->code_name) { telemetry__json_key(&j, "code_name"); telemetry__json_string(&j, f->code_name); }
        telemetry__json_object_end(&j);
        telemetry__json_object_end(&j);
    }
    telemetry__json_object_end(&j);
    if (st->count) telemetry__json_stacktrace(&j, st, f->frames);
    telemetry__json_object_end(&j);
    telemetry__json_array_end(&j);
    telemetry__json_object_end(&j);
    if (f->tid) {
        telemetry__json_key(&j, "threads");
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "values");
        telemetry__json_array_begin(&j);
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "id"); telemetry__json_int(&j, f->tid);
        telemetry__json_key(&j, "crashed"); telemetry__json_bool(&j, 1);
        telemetry__json_key(&j, "current"); telemetry__json_bool(&j, 1);
        telemetry__json_key(&j, "main"); telemetry__json_bool(&j, f->main_thread);
        telemetry__json_object_end(&j);
        telemetry__json_array_end(&j);
        telemetry__json_object_end(&j);
    }
    telemetry__json_debug_meta(&j, used, nused);
    telemetry__json_object_end(&j);
    if (telemetry__json_finish(&j) != 0) return -1;
    /* the session ends here: a crash is work, so the run's session ends crashed */
    *session = telemetry__st.session;
    se->len = 0;
    if (telemetry__st.has_session || telemetry__st.session_prefilled) {
        session->errors++;
        session->updated_ms = f->now;
        memcpy(session->status, "crashed", 8);
        if (telemetry__session_json(se, session) != 0) se->len = 0;
    }
    return 0;
}

/* The store's record of the crash (header and envelope, no sent_at) in record (room bytes); its
   length, or 0 when it does not fit. */
TELEMETRY__INTERNAL size_t telemetry__fatal_record(char *record, size_t room, const char *event_id, const telemetry__buf *ev,
                                                  const telemetry__buf *se) {
    telemetry__buf rb;
    telemetry__buf_init_fixed(&rb, record + TELEMETRY__REC_HEADER, room - TELEMETRY__REC_HEADER);
    if (telemetry__envelope_header(&rb, event_id, NULL) != 0) return 0;
    telemetry__envelope_item(&rb, "event", ev->data, ev->len);
    if (se->len) telemetry__envelope_item(&rb, "session", se->data, se->len);
    if (telemetry__envelope_end(&rb) != 0) return 0;
    telemetry__rec_header((unsigned char *)record, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, TELEMETRY__REC_CRASH, NULL, rb.data, rb.len);
    return TELEMETRY__REC_HEADER + rb.len;
}
#endif

#if !defined(TELEMETRY_NO_CRASH_HANDLER) && !defined(_WIN32) && !defined(TELEMETRY_NO_FILES)
#  define TELEMETRY__HAVE_CRASH 1
#  if !defined(SA_ONSTACK) && defined(__linux__)
     /* strict POSIX headers hide the alternate signal stack (an XSI part): the Linux ABI value */
#    define SA_ONSTACK 0x08000000
#    define TELEMETRY__DECLARE_SIGALTSTACK 1
#  endif
#  if defined(__linux__) && !defined(__GLIBC__) && !defined(__ANDROID__)
     /* musl shows SA_ONSTACK but hides sigaltstack under strict POSIX (syscall: >>outbox) */
#    undef TELEMETRY__DECLARE_SIGALTSTACK
#    define TELEMETRY__DECLARE_SIGALTSTACK 1
#  endif
#  if defined(TELEMETRY__DECLARE_SIGALTSTACK)
#    ifdef __cplusplus
extern "C"
#    endif
int sigaltstack(const stack_t *ss, stack_t *old);
#  endif
#  if !defined(SS_DISABLE) && defined(__linux__)
#    define SS_ONSTACK 1
#    define SS_DISABLE 2
#  endif
#  include <setjmp.h>
#  if defined(__cplusplus) && (defined(__cpp_exceptions) || defined(__EXCEPTIONS))
#    include <cstdlib>
#    include <exception>
#    include <typeinfo>
#    if defined(__GNUC__) || defined(__clang__)
#      include <cxxabi.h>
#    endif
#  endif
#  define TELEMETRY__ALTSTACK_SIZE (64u * 1024u)

static const int telemetry__crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
#  define TELEMETRY__NSIG ((int)(sizeof telemetry__crash_signals / sizeof telemetry__crash_signals[0]))

/* Where a program's handler that returned sent the fault back: per thread (tid % 16). */
#  define TELEMETRY__CHAIN_SLOTS 16
typedef struct telemetry__chain_slot {
    volatile long tid;
    int sig, repeats;
    uintptr_t addr;
    uint64_t context;                           /* hash of the registers at the fault */
    int64_t returned_ns;                        /* when the program's handler returned into it; 0: it did not */
    volatile uintptr_t depth;                   /* while the program's handler runs: an address in our frame */
} telemetry__chain_slot;

typedef struct telemetry__crash_state {
    int installed;
    struct sigaction previous[TELEMETRY__NSIG];
    char *event_mem, *session_mem;              /* the handler's buffers, made at install */
    char *record_mem;                           /* the store record (header + envelope) it writes */
    telemetry__module *modules[2];              /* every loaded module with its build id: two lists, */
    int module_count[2];                        /* one the handler may be reading, one being refreshed */
    volatile int module_set;                    /* the list the handler reads */
    unsigned long long module_adds;             /* dl_iterate_phdr's load count when it was made */
    telemetry__module *used;                    /* scratch: the images the crashing frames fall in */
    telemetry__stack stack;                     /* scratch: the crashing stack and the session as it */
    telemetry__session session;                 /* ends (they keep the handler's frame small) */
    sigset_t catchable, pending;                /* scratch: the faults caught while recording */
    void *altstack;
    char event_id[33];                          /* made in advance: no randomness in the handler */
    char state_dir[1100];
    char outbox_dir[1100];
    char crash_seg[1300];                       /* a crash before the store is open appends here */
    char crash_seg_new[1310];                   /* (first under this name, then renamed) */
    char session_path[1100];
    int entered;                                /* a handler is recording (atomic: one thread records) */
    volatile long owner;                        /* the thread recording (Linux thread id) */
    volatile sig_atomic_t done;
    volatile long guard_tid;                    /* the recording thread, while a fault in it is caught */
    volatile int walking;                       /* the fault to catch is in the stack walk */
    sigjmp_buf record_jmp, walk_jmp;
    telemetry__chain_slot chain[TELEMETRY__CHAIN_SLOTS];
    /* C++: an uncaught exception, named by the terminate hook before the event is written */
    int exc_set;
    char exc_type[256];
    char exc_value[1024];
    void (*prev_terminate)(void);
    int terminate_installed;
} telemetry__crash_state;

TELEMETRY__DEF telemetry__crash_state telemetry__cr;
/* Set while the handler runs; tests interpose malloc and fail when it is called then. */
TELEMETRY__DEF volatile sig_atomic_t telemetry__in_crash_handler = 0;

#  if defined(TELEMETRY_NO_THREADS)
#    define TELEMETRY__SIGMASK sigprocmask
TELEMETRY__INTERNAL int telemetry__on_library_thread(void) { return 0; }
#  else
#    define TELEMETRY__SIGMASK pthread_sigmask
#  endif
#  define TELEMETRY__CRASH_REFRESH_MODULES() telemetry__crash_refresh_modules()

typedef struct telemetry__signal_text { int number; const char *name, *value; } telemetry__signal_text;
/* Names as sentry-native writes them, so issues group the same way. */
static const telemetry__signal_text telemetry__signal_texts[] = {
    { SIGSEGV, "SIGSEGV", "Segfault" }, { SIGBUS, "SIGBUS", "BusError" },
    { SIGILL, "SIGILL", "IllegalInstruction" }, { SIGFPE, "SIGFPE", "FloatingPointException" },
    { SIGABRT, "SIGABRT", "Abort" }, { SIGTRAP, "SIGTRAP", "Trap" }
};

TELEMETRY__INTERNAL const char *telemetry__signal_code_name(int sig, int code) {
    switch (sig) {
    case SIGSEGV: return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : NULL;
    case SIGBUS: return code == BUS_ADRALN ? "BUS_ADRALN" : code == BUS_ADRERR ? "BUS_ADRERR" : code == BUS_OBJERR ? "BUS_OBJERR" : NULL;
    case SIGFPE: return code == FPE_INTDIV ? "FPE_INTDIV" : code == FPE_INTOVF ? "FPE_INTOVF" : code == FPE_FLTDIV ? "FPE_FLTDIV" :
                        code == FPE_FLTINV ? "FPE_FLTINV" : NULL;
    case SIGILL: return code == ILL_ILLOPC ? "ILL_ILLOPC" : code == ILL_ILLOPN ? "ILL_ILLOPN" : code == ILL_PRVOPC ? "ILL_PRVOPC" : NULL;
    default: return NULL;
    }
}

#  if defined(TELEMETRY__HAVE_UNWIND)
/* The crashing thread's frames: the unwinder walks out of the handler through the kernel's
   signal frame; the frame it marks as interrupted by a signal holds the faulting instruction,
   and everything before it (the handler's own frames) is skipped. */
typedef struct telemetry__crash_unwind { telemetry__stack *st; int found, handler_frames; uintptr_t first[8]; } telemetry__crash_unwind;
TELEMETRY__INTERNAL _Unwind_Reason_Code telemetry__crash_step(struct _Unwind_Context *ctx, void *arg) {
    telemetry__crash_unwind *u = (telemetry__crash_unwind *)arg;
    int signal_frame = 0;
    uintptr_t ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &signal_frame);
    if (ip == 0) return _URC_END_OF_STACK;
    if (!u->found) {
        if (u->handler_frames < 8) u->first[u->handler_frames] = ip;
        u->handler_frames++;
        if (!signal_frame) return u->handler_frames > 64 ? _URC_END_OF_STACK : _URC_NO_REASON;
        u->found = 1;
    }
    u->st->addr[u->st->count++] = ip;
    return u->st->count >= TELEMETRY_MAX_FRAMES ? _URC_END_OF_STACK : _URC_NO_REASON;
}
#  endif

/* The fault signals the recording thread may take while it records (a fault then jumps back):
   not one already pending, which the program's own handler raised to end the process after us.
   In the state, not on the stack: sigset_t is 128 bytes on glibc. */
TELEMETRY__INTERNAL void telemetry__crash_catchable(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    sigemptyset(&cr->catchable);
    if (sigpending(&cr->pending) != 0) return;
    if (!sigismember(&cr->pending, SIGSEGV)) sigaddset(&cr->catchable, SIGSEGV);
    if (!sigismember(&cr->pending, SIGBUS)) sigaddset(&cr->catchable, SIGBUS);
    if (!sigismember(&cr->pending, SIGILL)) sigaddset(&cr->catchable, SIGILL);
    if (!sigismember(&cr->pending, SIGFPE)) sigaddset(&cr->catchable, SIGFPE);
}

TELEMETRY__INTERNAL TELEMETRY__NOINLINE void telemetry__crash_stack(telemetry__stack *st) {
    st->count = 0;
#  if defined(TELEMETRY__HAVE_UNWIND)
    {
        telemetry__crash_state *cr = &telemetry__cr;
        static telemetry__crash_unwind u;     /* only the recording thread is here */
        memset(&u, 0, sizeof u);
        u.st = st;
        /* The walk reads the stack the faulting code left, which may be wild (a corrupt stack
           pointer, a smashed frame). A fault while walking comes back here with the frames
           found so far (telemetry__crash_handler jumps back), instead of killing the process
           with another signal. */
        if (sigsetjmp(cr->walk_jmp, 1) == 0) {   /* the jump unblocks the faults again */
            cr->walking = 1;
            _Unwind_Backtrace(telemetry__crash_step, &u);
        }
        cr->walking = 0;
        if (!u.found) {                      /* no signal frame seen: keep what was walked, minus us */
            int i;
            for (i = 3; i < u.handler_frames && i < 8 && st->count < TELEMETRY_MAX_FRAMES; i++) st->addr[st->count++] = u.first[i];
        }
    }
#  endif
}

TELEMETRY__INTERNAL int telemetry__write_all(int fd, const char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n; len -= (size_t)n;
    }
    return 0;
}

/* Waits (at most TELEMETRY__CRASH_WAIT_MS) while another thread holds flag (>>outbox). */
#  define TELEMETRY__CRASH_WAIT_MS 1000
TELEMETRY__INTERNAL void telemetry__crash_wait_for(long *flag, long self) {
    int i;
    long who;
    for (i = 0; i < TELEMETRY__CRASH_WAIT_MS && (who = TELEMETRY__SC_GET(flag)) != 0 && who != self; i++) {
        struct timespec pause;
        pause.tv_sec = 0; pause.tv_nsec = 1000000L;
        nanosleep(&pause, NULL);
    }
}

/* Builds the crash envelope from the walked stack and writes it into the outbox folder. Signal
   context; its frame is small (the module list and the copies it needs are made at install), so
   it fits on a program's own SIGSTKSZ alternate stack. */
TELEMETRY__INTERNAL void telemetry__crash_record(int sig, siginfo_t *info) {
    telemetry__crash_state *cr = &telemetry__cr;
    telemetry__buf ev, se, vb;
    telemetry__fatal f;
    struct timespec ts;
    char addr[24], value_text[96];
    int i, nused;
    int sent = info->si_code <= 0;                   /* kill, raise, abort: si_addr is the sender's pid and uid */
    memset(&f, 0, sizeof f);
    clock_gettime(CLOCK_REALTIME, &ts);
    f.now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    f.type = "SIGNAL";
    f.value = "Signal";
    for (i = 0; i < TELEMETRY__NSIG; i++)
        if (telemetry__signal_texts[i].number == sig) { f.type = telemetry__signal_texts[i].name; f.value = telemetry__signal_texts[i].value; }
    f.sig = sig;
    f.sig_name = f.type;
    f.has_code = 1;
    f.code = info->si_code;
    f.code_name = !sent ? telemetry__signal_code_name(sig, info->si_code) : info->si_code == SI_USER ? "SI_USER" :
                  info->si_code == SI_QUEUE ? "SI_QUEUE" : NULL;
#  if defined(__linux__)
    f.tid = (int64_t)syscall(SYS_gettid);
    f.main_thread = f.tid == (int64_t)getpid();
#  endif
    /* "Segfault at 0x0"; a signal another process (or the program) sent has no fault address */
    telemetry__buf_init_fixed(&vb, value_text, sizeof value_text);
    telemetry__buf_puts(&vb, f.value);
    if (sent && sig != SIGABRT) telemetry__buf_puts(&vb, ", sent by a process");
    else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
        telemetry__buf_puts(&vb, " at ");
        telemetry__buf_put_hex(&vb, (uint64_t)(uintptr_t)info->si_addr);
    }
    f.value = value_text;
    if (!sent) {
        telemetry__buf_init_fixed(&vb, addr, sizeof addr);
        telemetry__buf_put_hex(&vb, (uint64_t)(uintptr_t)info->si_addr);
        f.data[0][0] = "fault_address";
        f.data[0][1] = addr;
    }
    f.mechanism = "signalhandler";
    f.synthetic = 1;
    if (cr->exc_set) {                               /* C++: the exception names the event */
        f.type = f.sig_name = cr->exc_type;
        f.value = cr->exc_value;
        f.mechanism = "cxx_terminate";
        f.synthetic = 0;
    }
    f.frames = "auto";                               /* the first frame is the faulting instruction */
    nused = telemetry__fatal_images(&cr->stack, cr->modules[cr->module_set], cr->module_count[cr->module_set], cr->used);
    telemetry__buf_init_fixed(&ev, cr->event_mem, TELEMETRY_CRASH_BUFFER);
    telemetry__buf_init_fixed(&se, cr->session_mem, 4096);
    if (telemetry__fatal_event(&f, cr->event_id, &cr->stack, cr->used, nused, &cr->session, &ev, &se) != 0) return;
    /* the envelope, as the store keeps it (the header without sent_at), appended as one record
       with one write: a crash at any instant leaves a whole record or a torn one the reader skips */
    {
        telemetry__shared *sh = telemetry__sh;
        int fd = telemetry__sto.crash_fd, own_segment = 0;
        size_t len = telemetry__fatal_record(cr->record_mem, TELEMETRY__CRASH_RECORD, cr->event_id, &ev, &se);
        ssize_t n;
        if (len == 0) return;
        /* from here no thread begins a request (the crash is never sent by a process about to
           die, which could not mark it sent) or a session file write */
        TELEMETRY__SC_SET(&telemetry__crashing, 1L);
        if (fd < 0 && cr->crash_seg[0]) {
            /* a crash before the run's first work opened the store: a segment of its own (sent
               by the next run's sender), written under another name and then renamed, so no
               sender sees it empty (finished, to be deleted) */
            mkdir(cr->state_dir, 0700);
            mkdir(cr->outbox_dir, 0700);
            fd = open(cr->crash_seg_new, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
            own_segment = fd >= 0;
        }
        if (fd < 0) return;
        do n = write(fd, cr->record_mem, len); while (n < 0 && errno == EINTR);
        if (n != (ssize_t)len) return;
        if (own_segment && rename(cr->crash_seg_new, cr->crash_seg) != 0) return;
        if (sh) {
            TELEMETRY__ATOMIC_STORE(&sh->crashed, 1);           /* the sidecar must not say abnormal */
            if (telemetry__dl.sidecar && telemetry__dl.pipe_fd >= 0) {
                n = write(telemetry__dl.pipe_fd, "c", 1);         /* wake it: the crash goes out now */
                (void)n;
            }
        }
        if (cr->session_path[0] && !telemetry__dl.sidecar) {
            /* thread mode: the session file must not survive to say "abnormal" next run; a
               thread replacing it right now finishes first (a thread that began after the flag
               writes nothing; one slower than the bound removes its file itself) */
            telemetry__crash_wait_for(&telemetry__session_writing, cr->owner);
            unlink(cr->session_path);
        }
        /* a request in progress is let finish (bounded), so what it sends is marked sent and the
           next run does not send it again */
        if (!telemetry__dl.sidecar) {
            telemetry__crash_wait_for(&telemetry__sending[0], cr->owner);
            telemetry__crash_wait_for(&telemetry__sending[1], cr->owner);
        }
    }
}

TELEMETRY__INTERNAL int telemetry__crash_index(int sig) {
    int i;
    for (i = 0; i < TELEMETRY__NSIG; i++) if (telemetry__crash_signals[i] == sig) return i;
    return 0;
}

/* The program's own handler that was there before ours (not the default, not ignore). */
TELEMETRY__INTERNAL int telemetry__crash_has_program_handler(const struct sigaction *prev) {
    if (prev->sa_flags & SA_RESETHAND) return 0;     /* a one-shot handler: we report, then it runs */
    if (prev->sa_flags & SA_SIGINFO) return prev->sa_sigaction != NULL;
    return prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN;
}

/* FNV-1a over the registers the kernel saved: tells whether the program's handler moved the
   program on (a JIT or a runtime that redirects the faulting code) or left it to retry. */
TELEMETRY__INTERNAL uint64_t telemetry__context_hash(const void *uctx) {
    const ucontext_t *uc = (const ucontext_t *)uctx;
#  if defined(__APPLE__)
    const unsigned char *p = (const unsigned char *)uc->uc_mcontext;
    size_t n = sizeof *uc->uc_mcontext, i;
#  else
    const unsigned char *p = (const unsigned char *)&uc->uc_mcontext;
    size_t n = sizeof uc->uc_mcontext, i;
#  endif
    uint64_t h = 14695981039346656037ULL;
    if (!uc) return 0;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

TELEMETRY__INTERNAL int64_t telemetry__crash_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

TELEMETRY__INTERNAL void telemetry__crash_handler(int sig, siginfo_t *info, void *uctx);

/* A program that installed its handler before ours gets the fault first: it may handle it
   (siglongjmp out, fix the page, redirect the code), and then it is no crash. Returns 1 when it
   is a crash after all: the handler raised the signal again, gave it another disposition and
   returned into the fault, returned from an abort(), returned twice in a row into the same fault
   with nothing changed, or faulted itself. 0: it was handled, return to the program. */
TELEMETRY__INTERNAL TELEMETRY__NOINLINE int telemetry__crash_chain_first(int sig, siginfo_t *info, void *uctx, long self) {
    telemetry__crash_state *cr = &telemetry__cr;
    const struct sigaction *prev = &cr->previous[telemetry__crash_index(sig)];
    telemetry__chain_slot *s = &cr->chain[(unsigned long)self % TELEMETRY__CHAIN_SLOTS];
    char here;
    uintptr_t depth = (uintptr_t)&here;
    int fault = info->si_code > 0 && sig != SIGABRT && sig != SIGTRAP;
    uintptr_t addr = fault ? (uintptr_t)info->si_addr : 0;
    uint64_t before = telemetry__context_hash(uctx);
    int64_t now = telemetry__crash_monotonic_ns();
    sigset_t pending, old;
    struct sigaction current;
    if (s->tid == self) {
        if (s->depth && depth < s->depth) return 1;           /* a fault inside the program's handler */
        if (fault && s->returned_ns && s->sig == sig && s->addr == addr && s->context == before &&
            now - s->returned_ns < 100000000) {
            if (++s->repeats >= 2) { s->tid = 0; return 1; }  /* it returns into the same fault: it cannot fix it */
        } else s->repeats = 0;
    } else s->repeats = 0;
    s->tid = self; s->sig = sig; s->addr = addr; s->context = before; s->returned_ns = 0; s->depth = depth;
    TELEMETRY__SIGMASK(SIG_BLOCK, &prev->sa_mask, &old);
    if (prev->sa_flags & SA_SIGINFO) prev->sa_sigaction(sig, info, uctx);
    else prev->sa_handler(sig);
    TELEMETRY__SIGMASK(SIG_SETMASK, &old, NULL);
    s->depth = 0;                                             /* it returned (a siglongjmp never comes here) */
    if (sigpending(&pending) == 0 && sigismember(&pending, sig)) return 1;   /* raised again */
    if (sig == SIGABRT) return 1;                             /* abort() ends the process when a handler returns */
    if (!fault) return 0;                                     /* a sent signal the program chose to survive */
    if (telemetry__context_hash(uctx) != before) { s->tid = 0; return 0; }   /* it moved the program on */
    if (sigaction(sig, NULL, &current) == 0 && !((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == telemetry__crash_handler))
        return 1;                                             /* the retried fault meets its new disposition */
    s->returned_ns = telemetry__crash_monotonic_ns();
    return 0;                                                 /* retry: fixed, or back here */
}

/* The one thread that records, the others wait for it, then end by the default action. */
TELEMETRY__INTERNAL void telemetry__crash_wait_and_die(int sig, long self) {
    telemetry__crash_state *cr = &telemetry__cr;
    int i;
    for (i = 0; i < 200 && !cr->done && cr->owner != self; i++) {
        struct timespec pause;
        pause.tv_sec = 0; pause.tv_nsec = 10000000L;
        nanosleep(&pause, NULL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The stack left below this frame when it runs on an alternate stack (a program's own may be
   small): a fault past its end would not come back here, since the kernel then takes the
   alternate stack as unused and puts the next signal frame at its top, over this one. */
#  define TELEMETRY__CRASH_WALK_ROOM 3584u
#  define TELEMETRY__CRASH_RECORD_ROOM 2048u
TELEMETRY__INTERNAL size_t telemetry__crash_room(void) {
    stack_t cur;
    char here;
    if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_ONSTACK)) return (size_t)-1;   /* a thread's stack */
    if ((uintptr_t)&here < (uintptr_t)cur.ss_sp || (uintptr_t)&here > (uintptr_t)cur.ss_sp + cur.ss_size) return 0;
    return (size_t)((uintptr_t)&here - (uintptr_t)cur.ss_sp);
}

/* A fault while recording (a wild stack, a damaged library state) abandons the report, and the
   process still ends by the original signal. */
TELEMETRY__INTERNAL TELEMETRY__NOINLINE void telemetry__crash_record_guarded(int sig, siginfo_t *info, long self) {
    telemetry__crash_state *cr = &telemetry__cr;
    volatile size_t room = telemetry__crash_room();
    telemetry__crash_catchable();
    cr->stack.count = 0;
    if (sigsetjmp(cr->record_jmp, 0) == 0) {
        cr->guard_tid = self;
        TELEMETRY__SIGMASK(SIG_UNBLOCK, &cr->catchable, NULL);
        /* first the walk: the unwinder's frames then sit on ours alone; each step only where
           the stack has room for it (measured: the walk takes about 2.5 KiB, the rest 1.3) */
        if (room >= TELEMETRY__CRASH_WALK_ROOM) telemetry__crash_stack(&cr->stack);
        if (room >= TELEMETRY__CRASH_RECORD_ROOM) telemetry__crash_record(sig, info);
    }
    cr->guard_tid = 0;
    TELEMETRY__SIGMASK(SIG_BLOCK, &cr->catchable, NULL);   /* the handler's return restores the rest */
}

/* The previous handlers back, where the program did not set its own meanwhile. */
TELEMETRY__INTERNAL TELEMETRY__NOINLINE void telemetry__crash_restore(void) {
    int i;
    for (i = 0; i < TELEMETRY__NSIG; i++) {
        struct sigaction current;
        if (sigaction(telemetry__crash_signals[i], NULL, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
            current.sa_sigaction == telemetry__crash_handler)
            sigaction(telemetry__crash_signals[i], &telemetry__cr.previous[i], NULL);
    }
}

/* The same signal once the handler is done: the process ends as it would have without it. */
TELEMETRY__INTERNAL void telemetry__crash_handler(int sig, siginfo_t *info, void *uctx) {
    telemetry__crash_state *cr = &telemetry__cr;
    int chained = 0;
    int saved_errno = errno;
    long self = 1;
#  if defined(__linux__)
    self = (long)syscall(SYS_gettid);
#  endif
    if (cr->guard_tid == self) siglongjmp(cr->walking ? cr->walk_jmp : cr->record_jmp, 1);   /* a fault while recording */
    if (TELEMETRY__ATOMIC_LOAD(&cr->entered)) { telemetry__crash_wait_and_die(sig, self); return; }
    if (!telemetry__on_library_thread() && telemetry__crash_has_program_handler(&cr->previous[telemetry__crash_index(sig)])) {
        if (!telemetry__crash_chain_first(sig, info, uctx, self)) { errno = saved_errno; return; }
        chained = 1;
    }
    if (!TELEMETRY__ATOMIC_CAS_INT(&cr->entered, 0, 1)) { telemetry__crash_wait_and_die(sig, self); return; }
    cr->owner = self;
    telemetry__in_crash_handler = 1;
    telemetry__crash_record_guarded(sig, info, self);
    telemetry__in_crash_handler = 0;
    telemetry__crash_restore();
    cr->done = 1;
    errno = saved_errno;
    /* a sent signal is raised again: pending until this handler returns, then delivered; a
       hardware fault happens again when the instruction is retried, now with the old handler;
       after the program's own handler ran first, what it did (raise, return into abort) ends it */
    if (!chained && (info->si_code <= 0 || sig == SIGABRT || sig == SIGTRAP)) raise(sig);
}

#  if defined(__cplusplus) && (defined(__cpp_exceptions) || defined(__EXCEPTIONS))
#    define TELEMETRY__HAVE_TERMINATE 1
/* C++: an uncaught exception ends in std::terminate. The hook names it (type and what()) and
   writes the same fatal event a signal would, through telemetry__crash_record; then the previous
   signal handlers are put back and the previous terminate handler runs (by default it prints the
   exception and aborts; the SIGABRT that follows is not reported a second time). */
TELEMETRY__INTERNAL void telemetry__on_terminate() {
    telemetry__crash_state *cr = &telemetry__cr;
    std::exception_ptr ex = std::current_exception();
    if (ex && cr->installed && TELEMETRY__ATOMIC_CAS_INT(&cr->entered, 0, 1)) {
        const char *type = NULL;
        siginfo_t info;
        int i;
        cr->exc_value[0] = 0;
        try {
            std::rethrow_exception(ex);
        } catch (const std::exception &e) {
            type = typeid(e).name();
            telemetry__copy(cr->exc_value, sizeof cr->exc_value, e.what());
        } catch (...) {
#    if defined(__GNUC__) || defined(__clang__)
            const std::type_info *t = abi::__cxa_current_exception_type();
            type = t ? t->name() : NULL;
#    endif
        }
        {
#    if defined(__GNUC__) || defined(__clang__)
            int status = -1;
            char *readable = type ? abi::__cxa_demangle(type, NULL, NULL, &status) : NULL;
            telemetry__copy(cr->exc_type, sizeof cr->exc_type, status == 0 && readable ? readable : type ? type : "unknown exception");
            std::free(readable);
#    else
            telemetry__copy(cr->exc_type, sizeof cr->exc_type, type ? type : "unknown exception");
#    endif
        }
        cr->exc_set = 1;
        memset(&info, 0, sizeof info);
        info.si_signo = SIGABRT;
        cr->owner = 1;
        telemetry__crash_stack(&cr->stack);
        telemetry__crash_record(SIGABRT, &info);
        for (i = 0; i < TELEMETRY__NSIG; i++) sigaction(telemetry__crash_signals[i], &cr->previous[i], NULL);
        cr->done = 1;
    }
    if (cr->prev_terminate) cr->prev_terminate();
    std::abort();
}
#  endif

/* Everything the handler will need, made now. Safe to call again to refresh. Lock held. */
TELEMETRY__INTERNAL int telemetry__crash_prepare(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    if (!cr->event_mem) cr->event_mem = (char *)telemetry__malloc(TELEMETRY_CRASH_BUFFER);
    if (!cr->session_mem) cr->session_mem = (char *)telemetry__malloc(4096);
    if (!cr->modules[cr->module_set])
        cr->modules[cr->module_set] = (telemetry__module *)telemetry__malloc(sizeof(telemetry__module) * TELEMETRY__CRASH_MODULES);
    if (!cr->used) cr->used = (telemetry__module *)telemetry__malloc(sizeof(telemetry__module) * TELEMETRY_MAX_FRAMES);
    if (!cr->record_mem) cr->record_mem = (char *)telemetry__malloc(TELEMETRY__CRASH_RECORD);
    if (!cr->event_mem || !cr->session_mem || !cr->modules[cr->module_set] || !cr->used || !cr->record_mem) return TELEMETRY_ERR_NO_MEMORY;
    cr->module_adds = telemetry__module_adds();
    cr->module_count[cr->module_set] = telemetry__find_modules(cr->modules[cr->module_set], TELEMETRY__CRASH_MODULES);
    if (telemetry__random_id(cr->event_id) != 0) return TELEMETRY_ERR_ENTROPY;
    telemetry__state_path("session", cr->session_path, sizeof cr->session_path);
    telemetry__copy(cr->state_dir, sizeof cr->state_dir, telemetry__st.state_dir);
    snprintf(cr->outbox_dir, sizeof cr->outbox_dir, "%s" TELEMETRY__SEP "outbox", telemetry__st.state_dir);
    /* no folder is made here: a run that does nothing writes nothing (the handler makes it) */
    {
        unsigned char rnd[4] = { 0, 0, 0, 0 };
        char name[80];
        telemetry__buf b;
        telemetry__os_entropy(rnd, sizeof rnd);
        snprintf(name, sizeof name, "%013lld-%ld-%02x%02x%02x%02x.seg", (long long)telemetry__system_time_ms(), (long)getpid(),
                 rnd[0], rnd[1], rnd[2], rnd[3]);
        telemetry__buf_init_fixed(&b, cr->crash_seg, sizeof cr->crash_seg);
        telemetry__buf_puts(&b, cr->outbox_dir);
        telemetry__buf_puts(&b, TELEMETRY__SEP);
        telemetry__buf_puts(&b, name);
        if (b.failed) cr->crash_seg[0] = 0;
        telemetry__buf_init_fixed(&b, cr->crash_seg_new, sizeof cr->crash_seg_new);
        telemetry__buf_puts(&b, cr->crash_seg);
        telemetry__buf_puts(&b, ".new");
    }
    return 0;
}

/* The first call of a function through the PLT runs the dynamic linker (lazy binding), which
   needs several KiB of stack and may take a lock: every function only the handler calls is
   called once now, and the unwinder finds and caches what it needs. Lock held. */
TELEMETRY__INTERNAL void telemetry__crash_warm(void) {
    static sigjmp_buf env;
    static volatile int jumped;
    sigset_t set;
    struct timespec ts;
#  if defined(TELEMETRY__HAVE_UNWIND)
    static telemetry__stack st;
    static telemetry__crash_unwind u;
    memset(&u, 0, sizeof u);
    u.st = &st;
    _Unwind_Backtrace(telemetry__crash_step, &u);      /* _Unwind_GetIPInfo too */
#  endif
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    (void)sigismember(&set, SIGSEGV);
    (void)sigpending(&set);
    TELEMETRY__SIGMASK(SIG_BLOCK, NULL, &set);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    clock_gettime(CLOCK_REALTIME, &ts);
#  if defined(__linux__)
    (void)syscall(SYS_gettid);
#  endif
    (void)getpid();
#  if !defined(TELEMETRY_NO_THREADS)
    (void)pthread_self();
#  endif
    jumped = 0;
    if (sigsetjmp(env, 1) == 0 && !jumped) { jumped = 1; siglongjmp(env, 1); }
    {   /* the file calls that write nothing even when they succeed (not rename, unlink and
           mkdir: a run that does nothing makes none of them; they come last in the record, on
           its frame alone) */
        struct timespec zero;
        int fd = open("", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) close(fd);
        else close(-1);
        if (write(-1, "", 0) < 0) {}
        zero.tv_sec = 0; zero.tv_nsec = 0;
        nanosleep(&zero, NULL);
    }
}

/* The module list again when a library was loaded since it was made (dlopen after init): the
   handler cannot walk the loader's list itself (that takes a lock). Called at every capture and
   breadcrumb, so only a crash before any such call after a dlopen misses the new library. The
   new list is made in the other buffer and then published. Lock held. */
TELEMETRY__INTERNAL void telemetry__crash_refresh_modules(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    unsigned long long adds;
    int next;
    if (!cr->installed || TELEMETRY__ATOMIC_LOAD(&cr->entered)) return;
    adds = telemetry__module_adds();
    if (adds == cr->module_adds) return;
    next = !cr->module_set;
    if (!cr->modules[next]) {                         /* the second list: made when first needed */
        cr->modules[next] = (telemetry__module *)telemetry__malloc(sizeof(telemetry__module) * TELEMETRY__CRASH_MODULES);
        if (!cr->modules[next]) return;
    }
    cr->module_count[next] = telemetry__find_modules(cr->modules[next], TELEMETRY__CRASH_MODULES);
    cr->module_adds = adds;
    TELEMETRY__ATOMIC_STORE(&cr->module_set, next);
}

/* Installs the handlers on an alternate stack (so a stack overflow is caught too), keeping the
   previous ones. The library's own 64 KiB alternate stack replaces a smaller one the program
   set (a SIGSTKSZ one is common); a bigger one is kept. Lock held. */
TELEMETRY__INTERNAL int telemetry__crash_install(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    struct sigaction sa;
    stack_t ss;
    int i, rc;
    if (cr->installed) return 0;
    if ((rc = telemetry__crash_prepare()) != 0) return rc;
    telemetry__crash_warm();
    if (!cr->altstack) cr->altstack = telemetry__malloc(TELEMETRY__ALTSTACK_SIZE);
    if (cr->altstack) {
        stack_t old;
        memset(&ss, 0, sizeof ss);
        ss.ss_sp = cr->altstack;
        ss.ss_size = TELEMETRY__ALTSTACK_SIZE;
        if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_ONSTACK) &&
            ((old.ss_flags & SS_DISABLE) || old.ss_size < TELEMETRY__ALTSTACK_SIZE))
            sigaltstack(&ss, NULL);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = telemetry__crash_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    memset(cr->chain, 0, sizeof cr->chain);
    cr->done = 0;
    TELEMETRY__ATOMIC_STORE(&cr->entered, 0);
    for (i = 0; i < TELEMETRY__NSIG; i++) sigaction(telemetry__crash_signals[i], &sa, &cr->previous[i]);
#  if defined(TELEMETRY__HAVE_TERMINATE)
    if (!cr->terminate_installed) {
        cr->prev_terminate = std::set_terminate(telemetry__on_terminate);
        cr->terminate_installed = 1;
    }
#  endif
    cr->installed = 1;
    return 0;
}

/* Puts the previous handlers back (shutdown). The buffers and the alternate stack stay: a late
   signal on another thread may still be running on them (docs/api.md, telemetry_shutdown).
   Lock held. */
TELEMETRY__INTERNAL void telemetry__crash_uninstall(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    int i;
    if (!cr->installed || TELEMETRY__ATOMIC_LOAD(&cr->entered)) return;
    for (i = 0; i < TELEMETRY__NSIG; i++) sigaction(telemetry__crash_signals[i], &cr->previous[i], NULL);
#  if defined(TELEMETRY__HAVE_TERMINATE)
    if (cr->terminate_installed && std::get_terminate() == telemetry__on_terminate) {
        std::set_terminate(cr->prev_terminate);
        cr->terminate_installed = 0;
    }
#  endif
    cr->installed = 0;
}
#else
#  define TELEMETRY__CRASH_REFRESH_MODULES() ((void)0)
#endif

/* ---- Windows: exceptions become the same fatal event --------------------------------------
   An unhandled exception filter (access violation, illegal instruction, divide by zero, stack
   overflow, any other exception nobody handles), a SIGABRT handler (abort), and a vectored
   handler for what never reaches the filter (heap corruption and fail-fast codes raised as
   exceptions; a real __fastfail goes straight to the system and reaches no handler in the
   process) and to catch a fault of the stack walk itself. As on POSIX, everything is made by
   telemetry_init: buffers, the image list, the event id, the file names (wide). In the handler:
   no heap, no CRT, no lock, only the JSON writer on fixed buffers and CreateFileW, WriteFile,
   MoveFileExW. Then the program's previous filter runs (mingw's CRT has one: it calls a
   signal(SIGSEGV) handler), and the exception goes on as it would have without the library.
   With the Universal CRT (MSVC; mingw-w64 built for UCRT) a CRT invalid-parameter handler too:
   msvcrt.dll never calls one (mingw-w64's _set_invalid_parameter_handler only stores it there). */
#if !defined(TELEMETRY_NO_CRASH_HANDLER) && defined(_WIN32)
#  define TELEMETRY__HAVE_CRASH 1
#  if defined(_UCRT) || defined(_MSC_VER)
#    define TELEMETRY__HAVE_INVALID_PARAMETER 1
#    if !defined(_MSC_VER)                     /* in the UCRT, not in mingw-w64's headers */
#      ifdef __cplusplus
extern "C"
#      endif
_CRTIMP void __cdecl _invalid_parameter_noinfo(void);
#    endif
#  endif
#  undef TELEMETRY__CRASH_REFRESH_MODULES
#  define TELEMETRY__CRASH_REFRESH_MODULES() telemetry__crash_refresh_modules()
#  include <signal.h>
#  define TELEMETRY__STACK_GUARANTEE 65536ul     /* left to the handler after a stack overflow */

typedef struct telemetry__crash_state {
    int installed;
    char *event_mem, *session_mem;              /* the handler's buffers, made at install */
    char *record_mem;                           /* the store record (header + envelope) it writes */
    telemetry__module *modules[2];              /* every loaded image: one list the handler may */
    int module_count[2];                        /* read, one being made again */
    volatile LONG module_set;
    unsigned long long module_adds;
    telemetry__module *used;                    /* scratch: the images the frames fall in */
    telemetry__stack stack;
    telemetry__session session;
    CONTEXT walk, resume, here;                 /* the frame being unwound; where a fault in the walk
                                                   returns; abort()'s own registers */
    char event_id[33];
    char state_dir[1100], outbox_dir[1100];
    wchar_t wstate_dir[1100], woutbox_dir[1100], wsession[1100], wtmp[1300], wfinal[1300];
    volatile LONG entered, done, walking, walk_faulted;
    volatile DWORD owner;
    DWORD main_thread;
    PVOID veh;
    LPTOP_LEVEL_EXCEPTION_FILTER previous_filter;
    void (__cdecl *previous_abort)(int);
#  if defined(TELEMETRY__HAVE_INVALID_PARAMETER)
    _invalid_parameter_handler previous_invalid_parameter;
    EXCEPTION_RECORD invalid_parameter;         /* what the event says of one: its status code */
#  endif
} telemetry__crash_state;

TELEMETRY__DEF telemetry__crash_state telemetry__cr;
/* Set while the handler runs; tests make their allocator fail when it is called then. */
TELEMETRY__DEF volatile LONG telemetry__in_crash_handler = 0;

typedef struct telemetry__exception_text { DWORD code; const char *name, *value; } telemetry__exception_text;
/* Names as sentry-native writes them for Windows, so issues group the same way. */
static const telemetry__exception_text telemetry__exception_texts[] = {
    { EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "AccessViolation" },
    { EXCEPTION_ARRAY_BOUNDS_EXCEEDED, "EXCEPTION_ARRAY_BOUNDS_EXCEEDED", "ArrayBoundsExceeded" },
    { EXCEPTION_BREAKPOINT, "EXCEPTION_BREAKPOINT", "BreakPoint" },
    { EXCEPTION_DATATYPE_MISALIGNMENT, "EXCEPTION_DATATYPE_MISALIGNMENT", "DatatypeMisalignment" },
    { EXCEPTION_FLT_DIVIDE_BY_ZERO, "EXCEPTION_FLT_DIVIDE_BY_ZERO", "FloatDivideByZero" },
    { EXCEPTION_FLT_INVALID_OPERATION, "EXCEPTION_FLT_INVALID_OPERATION", "FloatInvalidOperation" },
    { EXCEPTION_FLT_OVERFLOW, "EXCEPTION_FLT_OVERFLOW", "FloatOverflow" },
    { EXCEPTION_ILLEGAL_INSTRUCTION, "EXCEPTION_ILLEGAL_INSTRUCTION", "IllegalInstruction" },
    { EXCEPTION_IN_PAGE_ERROR, "EXCEPTION_IN_PAGE_ERROR", "InPageError" },
    { EXCEPTION_INT_DIVIDE_BY_ZERO, "EXCEPTION_INT_DIVIDE_BY_ZERO", "IntegerDivideByZero" },
    { EXCEPTION_INT_OVERFLOW, "EXCEPTION_INT_OVERFLOW", "IntegerOverflow" },
    { EXCEPTION_PRIV_INSTRUCTION, "EXCEPTION_PRIV_INSTRUCTION", "PrivilegedInstruction" },
    { EXCEPTION_STACK_OVERFLOW, "EXCEPTION_STACK_OVERFLOW", "StackOverflow" },
    { 0xC0000374u, "STATUS_HEAP_CORRUPTION", "HeapCorruption" },
    { 0xC0000409u, "STATUS_STACK_BUFFER_OVERRUN", "StackBufferOverrun" },
    { 0xC0000417u, "STATUS_INVALID_CRUNTIME_PARAMETER", "InvalidParameter" },
    { 0xC0000602u, "STATUS_FAIL_FAST_EXCEPTION", "FailFast" }
};

/* The exceptions that never reach the unhandled exception filter: recorded by the vectored
   handler, which sees every exception first (these are never handled further up). */
TELEMETRY__INTERNAL int telemetry__crash_fail_fast(DWORD code) {
    return code == 0xC0000374u || code == 0xC0000409u || code == 0xC0000602u;
}

/* The frames from ctx outwards, skipping the first `skip`. x64: the unwind tables (what
   RtlCaptureStackBackTrace does, but from the exception's registers); x86: the frame-pointer
   chain, read only inside the thread's stack. A fault while walking (a wild frame register)
   comes back here through the vectored handler, with the frames found so far. */
TELEMETRY__INTERNAL TELEMETRY__NOINLINE void telemetry__crash_walk(const CONTEXT *ctx, int skip) {
    telemetry__crash_state *cr = &telemetry__cr;
    telemetry__stack *st = &cr->stack;
    const NT_TIB *tib = (const NT_TIB *)(const void *)telemetry__teb();   /* the TEB begins with it */
    uintptr_t lo = (uintptr_t)tib->StackLimit, hi = (uintptr_t)tib->StackBase;
    MEMORY_BASIC_INFORMATION mbi;
    /* after a stack overflow the registers point below StackLimit: the bound is the whole
       reservation (a read of its uncommitted part faults, and comes back below) */
    if (VirtualQuery(tib->StackLimit, &mbi, sizeof mbi) == sizeof mbi && (uintptr_t)mbi.AllocationBase < lo) lo = (uintptr_t)mbi.AllocationBase;
    st->count = 0;
    cr->walk = *ctx;
    cr->walk_faulted = 0;
    RtlCaptureContext(&cr->resume);
    if (cr->walk_faulted) { cr->walking = 0; return; }   /* back from a fault in the walk */
    cr->walking = 1;
#  if defined(_M_X64) || defined(__x86_64__)
    while (st->count < TELEMETRY_MAX_FRAMES) {
        DWORD64 pc = cr->walk.Rip, sp = cr->walk.Rsp, base = 0, frame = 0;
        PRUNTIME_FUNCTION fn;
        PVOID data = NULL;
        if (pc < 0x10000 || sp < lo || sp >= hi) break;
        if (skip > 0) skip--;
        else st->addr[st->count++] = (uintptr_t)pc;
        fn = RtlLookupFunctionEntry(pc, &base, NULL);
        if (fn) RtlVirtualUnwind(UNW_FLAG_NHANDLER, base, pc, fn, &cr->walk, &data, &frame, NULL);
        else {
            /* no unwind entry: a leaf function, the return address on top; or a stack probe
               without one (mingw's ___chkstk_ms pushes two registers first): the first of the
               top slots that is code with an unwind entry */
            int k, at = 0;
            DWORD64 b2;
            if (sp + 24 > hi) break;
            for (k = 0; k < 3 && !at; k++) if (RtlLookupFunctionEntry(((const DWORD64 *)(uintptr_t)sp)[k], &b2, NULL)) at = k + 1;
            at = at ? at - 1 : 0;
            cr->walk.Rip = ((const DWORD64 *)(uintptr_t)sp)[at];
            cr->walk.Rsp = sp + 8 * (DWORD64)at + 8;
        }
        if (cr->walk.Rsp <= sp) break;            /* a walk must go outwards */
    }
#  elif defined(_M_IX86) || defined(__i386__)
    {
        uintptr_t pc = cr->walk.Eip, fp = cr->walk.Ebp;
        while (st->count < TELEMETRY_MAX_FRAMES && pc >= 0x10000) {
            uintptr_t next;
            if (skip > 0) skip--;
            else st->addr[st->count++] = pc;
            if (fp < lo || fp + 8 > hi || (fp & 3)) break;
            next = ((const uintptr_t *)fp)[0];
            pc = ((const uintptr_t *)fp)[1];
            if (next <= fp) { if (pc >= 0x10000 && st->count < TELEMETRY_MAX_FRAMES) st->addr[st->count++] = pc; break; }
            fp = next;
        }
    }
#  else
    (void)lo; (void)hi; (void)skip;
#  endif
    cr->walking = 0;
}

/* Waits (at most TELEMETRY__CRASH_WAIT_MS) while another thread holds flag (>>outbox). */
#  define TELEMETRY__CRASH_WAIT_MS 1000
TELEMETRY__INTERNAL void telemetry__crash_wait_for(long *flag, long self) {
    int i;
    long who;
    for (i = 0; i < TELEMETRY__CRASH_WAIT_MS && (who = TELEMETRY__SC_GET(flag)) != 0 && who != self; i++) Sleep(1);
}

/* The crash record's writer: the envelope as the store keeps it (the header without sent_at),
   one record in a segment of its own, written under another name and then renamed (no sender
   sees it half made; the next run's sender delivers it), and the session file removed (the
   envelope tells its end). The one place that knows where a crash goes. */
TELEMETRY__INTERNAL int telemetry__crash_write(const telemetry__buf *ev, const telemetry__buf *se) {
    telemetry__crash_state *cr = &telemetry__cr;
    DWORD wrote, len = (DWORD)telemetry__fatal_record(cr->record_mem, TELEMETRY__CRASH_RECORD, cr->event_id, ev, se);
    int ok;
    HANDLE h;
    if (len == 0) return -1;
    /* from here no thread begins a request or a session file write (>>outbox) */
    TELEMETRY__SC_SET(&telemetry__crashing, 1L);
    h = CreateFileW(cr->wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        CreateDirectoryW(cr->wstate_dir, NULL);
        CreateDirectoryW(cr->woutbox_dir, NULL);
        h = CreateFileW(cr->wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    }
    if (h == INVALID_HANDLE_VALUE) return -1;
    ok = WriteFile(h, cr->record_mem, len, &wrote, NULL) && wrote == len;
    CloseHandle(h);
    if (!ok || !MoveFileExW(cr->wtmp, cr->wfinal, 0)) { DeleteFileW(cr->wtmp); return -1; }
    if (telemetry__sh) TELEMETRY__ATOMIC_STORE(&telemetry__sh->crashed, 1);
    if (cr->wsession[0]) {
        /* the session file must not survive to say "abnormal" next run: a thread replacing it
           right now finishes first (bounded; one slower than that removes its file itself) */
        telemetry__crash_wait_for(&telemetry__session_writing, (long)GetCurrentThreadId());
        DeleteFileW(cr->wsession);
    }
    telemetry__crash_wait_for(&telemetry__sending[0], (long)GetCurrentThreadId());   /* marked sent, not sent twice */
    telemetry__crash_wait_for(&telemetry__sending[1], (long)GetCurrentThreadId());
    return 0;
}

/* Builds the fatal event from the walked stack and hands it to the writer. er is NULL for
   abort(); mechanism: what caught it; at_fault: the first frame is the faulting instruction (an
   exception's registers), else every frame is a return address. */
TELEMETRY__INTERNAL void telemetry__crash_record(const EXCEPTION_RECORD *er, const char *mechanism, int at_fault) {
    telemetry__crash_state *cr = &telemetry__cr;
    telemetry__buf ev, se, vb, hb;
    telemetry__fatal f;
    char code[12], addr[24], value_text[96];
    FILETIME ft;
    DWORD tid = GetCurrentThreadId();
    int i, nused;
    memset(&f, 0, sizeof f);
    GetSystemTimeAsFileTime(&ft);
    f.now = (int64_t)((((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime) / 10000u) - 11644473600000LL;
    f.type = "SIGABRT";
    f.value = "Abort";
    f.tid = (int64_t)tid;
    f.main_thread = tid == cr->main_thread;
    f.mechanism = mechanism;
    f.synthetic = 1;
    f.frames = at_fault ? "auto" : "all";            /* an exception's registers: the faulting instruction first */
    telemetry__buf_init_fixed(&vb, value_text, sizeof value_text);
    if (er) {
        const char *access = NULL;
        f.type = "EXCEPTION"; f.value = "UnknownException";
        for (i = 0; i < (int)(sizeof telemetry__exception_texts / sizeof telemetry__exception_texts[0]); i++)
            if (telemetry__exception_texts[i].code == er->ExceptionCode) { f.type = telemetry__exception_texts[i].name; f.value = telemetry__exception_texts[i].value; }
        telemetry__buf_puts(&vb, f.value);
        if ((er->ExceptionCode == EXCEPTION_ACCESS_VIOLATION || er->ExceptionCode == EXCEPTION_IN_PAGE_ERROR) && er->NumberParameters >= 2) {
            uint64_t fault = (uint64_t)(uintptr_t)er->ExceptionInformation[1];
            telemetry__buf_puts(&vb, " at ");                /* "AccessViolation at 0x0" */
            telemetry__buf_put_hex(&vb, fault);
            telemetry__buf_init_fixed(&hb, addr, sizeof addr);
            telemetry__buf_put_hex(&hb, fault);
            access = er->ExceptionInformation[0] == 0 ? "read" : er->ExceptionInformation[0] == 1 ? "write" : er->ExceptionInformation[0] == 8 ? "execute" : NULL;
            f.data[1][0] = "fault_address"; f.data[1][1] = addr;
            if (access) { f.data[2][0] = "access"; f.data[2][1] = access; }
        }
        telemetry__buf_init_fixed(&hb, code, sizeof code);
        telemetry__buf_put_hex(&hb, (uint64_t)er->ExceptionCode);
        f.data[0][0] = "exception_code"; f.data[0][1] = code;
        f.value = value_text;
    } else {
        f.sig = SIGABRT;
        f.sig_name = "SIGABRT";
    }
    nused = telemetry__fatal_images(&cr->stack, cr->modules[cr->module_set], cr->module_count[cr->module_set], cr->used);
    telemetry__buf_init_fixed(&ev, cr->event_mem, TELEMETRY_CRASH_BUFFER);
    telemetry__buf_init_fixed(&se, cr->session_mem, 4096);
    if (telemetry__fatal_event(&f, cr->event_id, &cr->stack, cr->used, nused, &cr->session, &ev, &se) != 0) return;
    telemetry__crash_write(&ev, &se);
}

/* One thread records; another that crashes meanwhile waits for it (2 s at most). 1: this
   thread records. */
TELEMETRY__INTERNAL int telemetry__crash_enter(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    int i;
    if (InterlockedCompareExchange(&cr->entered, 1, 0) == 0) {
        cr->owner = GetCurrentThreadId();
        telemetry__in_crash_handler = 1;
        return 1;
    }
    for (i = 0; i < 200 && !cr->done && cr->owner != GetCurrentThreadId(); i++) Sleep(10);
    return 0;
}
TELEMETRY__INTERNAL void telemetry__crash_leave(void) {
    telemetry__in_crash_handler = 0;
    telemetry__cr.done = 1;
}

TELEMETRY__INTERNAL LONG WINAPI telemetry__crash_filter(EXCEPTION_POINTERS *ep) {
    telemetry__crash_state *cr = &telemetry__cr;
    if (cr->installed && telemetry__crash_enter()) {
        telemetry__crash_walk(ep->ContextRecord, 0);
        telemetry__crash_record(ep->ExceptionRecord, "UnhandledExceptionFilter", 1);
        telemetry__crash_leave();
    }
    return cr->previous_filter ? cr->previous_filter(ep) : EXCEPTION_CONTINUE_SEARCH;
}

TELEMETRY__INTERNAL LONG WINAPI telemetry__crash_vectored(EXCEPTION_POINTERS *ep) {
    telemetry__crash_state *cr = &telemetry__cr;
    if (cr->walking && cr->owner == GetCurrentThreadId()) {   /* the walk read a wild frame */
        cr->walk_faulted = 1;
        *ep->ContextRecord = cr->resume;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    if (cr->installed && telemetry__crash_fail_fast(ep->ExceptionRecord->ExceptionCode) && telemetry__crash_enter()) {
        telemetry__crash_walk(ep->ContextRecord, 0);
        telemetry__crash_record(ep->ExceptionRecord, "UnhandledExceptionFilter", 1);
        telemetry__crash_leave();
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

/* abort(): the CRT raises SIGABRT (the disposition is reset to the default first), then ends
   the process with exit code 3 when the handler returns. */
TELEMETRY__INTERNAL void __cdecl telemetry__crash_on_abort(int sig) {
    telemetry__crash_state *cr = &telemetry__cr;
    void (__cdecl *previous)(int) = cr->previous_abort;
    if (cr->installed && telemetry__crash_enter()) {
        RtlCaptureContext(&cr->here);             /* only the recording thread is here */
        telemetry__crash_walk(&cr->here, 1);       /* not this function's own frame */
        telemetry__crash_record(NULL, "signalhandler", 0);
        telemetry__crash_leave();
    }
    if (previous != SIG_DFL && previous != SIG_IGN && previous != SIG_ERR && previous) previous(sig);
}

#  if defined(TELEMETRY__HAVE_INVALID_PARAMETER)
/* A CRT function was given an invalid argument (_close(-1), strcpy_s(NULL, ...)). A handler the
   program had set decides what that means (mingw-w64's startup sets one that returns: the call
   returns its error), as without the library, and nothing is recorded. With none the CRT ends
   the process (on Windows by __fastfail, which no handler sees): the fatal event is recorded
   first, then the CRT's own default, the handler taken away, ends it as it would have. */
TELEMETRY__INTERNAL void __cdecl telemetry__crash_on_invalid_parameter(const wchar_t *expression, const wchar_t *function,
                                                                      const wchar_t *file, unsigned int line, uintptr_t reserved) {
    telemetry__crash_state *cr = &telemetry__cr;
    if (cr->previous_invalid_parameter) {
        cr->previous_invalid_parameter(expression, function, file, line, reserved);
        return;
    }
    if (cr->installed && telemetry__crash_enter()) {
        RtlCaptureContext(&cr->here);             /* only the recording thread is here */
        telemetry__crash_walk(&cr->here, 1);       /* not this function's own frame */
        telemetry__crash_record(&cr->invalid_parameter, "invalid_parameter_handler", 0);
        telemetry__crash_leave();
    }
    _set_invalid_parameter_handler(NULL);
    _invalid_parameter_noinfo();                  /* Windows: __fastfail; wine raises the status */
    TerminateProcess(GetCurrentProcess(), 0xC0000417u);
}
#  endif

/* Everything the handler will need, made now. Safe to call again. Lock held. */
TELEMETRY__INTERNAL int telemetry__crash_prepare(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    unsigned char rnd[4] = { 0, 0, 0, 0 };
    char rhex[9], path[1300], session[1100];
    int64_t ms = telemetry__now_ms();
    if (!cr->event_mem) cr->event_mem = (char *)telemetry__malloc(TELEMETRY_CRASH_BUFFER);
    if (!cr->session_mem) cr->session_mem = (char *)telemetry__malloc(4096);
    if (!cr->modules[cr->module_set])
        cr->modules[cr->module_set] = (telemetry__module *)telemetry__malloc(sizeof(telemetry__module) * TELEMETRY__CRASH_MODULES);
    if (!cr->used) cr->used = (telemetry__module *)telemetry__malloc(sizeof(telemetry__module) * TELEMETRY_MAX_FRAMES);
    if (!cr->record_mem) cr->record_mem = (char *)telemetry__malloc(TELEMETRY__CRASH_RECORD);
    if (!cr->event_mem || !cr->session_mem || !cr->modules[cr->module_set] || !cr->used || !cr->record_mem) return TELEMETRY_ERR_NO_MEMORY;
    cr->module_adds = telemetry__module_adds();
    cr->module_count[cr->module_set] = telemetry__find_modules(cr->modules[cr->module_set], TELEMETRY__CRASH_MODULES);
    if (telemetry__random_id(cr->event_id) != 0) return TELEMETRY_ERR_ENTROPY;
    telemetry__copy(cr->state_dir, sizeof cr->state_dir, telemetry__st.state_dir);
    snprintf(cr->outbox_dir, sizeof cr->outbox_dir, "%s" TELEMETRY__SEP "outbox", telemetry__st.state_dir);
    telemetry__state_path("session", session, sizeof session);
    telemetry__os_entropy(rnd, sizeof rnd);
    telemetry__hex(rnd, sizeof rnd, rhex);
    /* a segment of its own, named like the store's (>>outbox) */
    if (snprintf(path, sizeof path, "%s" TELEMETRY__SEP "%013lld-%ld-%s.seg", cr->outbox_dir, (long long)ms, telemetry__getpid(), rhex) >=
        (int)sizeof path)
        return TELEMETRY_ERR_IO;
    /* the names wide, as every file call of the library takes them (paths are UTF-8) */
    if (telemetry__utf8_to_utf16(cr->state_dir, cr->wstate_dir, 1100) < 0 || telemetry__utf8_to_utf16(cr->outbox_dir, cr->woutbox_dir, 1100) < 0 ||
        telemetry__utf8_to_utf16(session, cr->wsession, 1100) < 0 || telemetry__utf8_to_utf16(path, cr->wfinal, 1300) < 0)
        return TELEMETRY_ERR_IO;
    memcpy(cr->wtmp, cr->wfinal, sizeof cr->wtmp);
    wcsncat(cr->wtmp, L".new", 1300 - wcslen(cr->wtmp) - 1);
    return 0;
}

/* The image list again when an image was loaded since it was made (LoadLibrary after init).
   Called at every capture and breadcrumb. Lock held. */
TELEMETRY__INTERNAL void telemetry__crash_refresh_modules(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    unsigned long long adds;
    int next;
    if (!cr->installed || cr->entered) return;
    adds = telemetry__module_adds();
    if (adds == cr->module_adds) return;
    next = !cr->module_set;
    if (!cr->modules[next]) {
        cr->modules[next] = (telemetry__module *)telemetry__malloc(sizeof(telemetry__module) * TELEMETRY__CRASH_MODULES);
        if (!cr->modules[next]) return;
    }
    cr->module_count[next] = telemetry__find_modules(cr->modules[next], TELEMETRY__CRASH_MODULES);
    cr->module_adds = adds;
    InterlockedExchange(&cr->module_set, next);
}

/* Installs the filter, the vectored handler, the SIGABRT handler and (UCRT) the invalid-parameter
   handler, keeping the previous filter and handlers; the calling thread keeps 64 KiB for the
   handler after a stack overflow. Lock held. */
TELEMETRY__INTERNAL int telemetry__crash_install(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    ULONG guarantee = TELEMETRY__STACK_GUARANTEE;
    int rc;
    if (cr->installed) return 0;
    if ((rc = telemetry__crash_prepare()) != 0) return rc;
    cr->main_thread = GetCurrentThreadId();
    cr->done = 0;
    cr->entered = 0;
    SetThreadStackGuarantee(&guarantee);
    if (!cr->veh) cr->veh = AddVectoredExceptionHandler(1, telemetry__crash_vectored);
    cr->previous_filter = SetUnhandledExceptionFilter(telemetry__crash_filter);
    cr->previous_abort = signal(SIGABRT, telemetry__crash_on_abort);
#  if defined(TELEMETRY__HAVE_INVALID_PARAMETER)
    memset(&cr->invalid_parameter, 0, sizeof cr->invalid_parameter);
    cr->invalid_parameter.ExceptionCode = 0xC0000417u;    /* STATUS_INVALID_CRUNTIME_PARAMETER */
    cr->previous_invalid_parameter = _set_invalid_parameter_handler(telemetry__crash_on_invalid_parameter);
#  endif
    cr->installed = 1;
    return 0;
}

/* Puts the previous filter and handlers back where the program did not set others
   meanwhile (shutdown, consent revoked). The buffers stay. Lock held. */
TELEMETRY__INTERNAL void telemetry__crash_uninstall(void) {
    telemetry__crash_state *cr = &telemetry__cr;
    LPTOP_LEVEL_EXCEPTION_FILTER current;
    void (__cdecl *abort_now)(int);
    if (!cr->installed || cr->entered) return;
    current = SetUnhandledExceptionFilter(cr->previous_filter);
    if (current != telemetry__crash_filter) SetUnhandledExceptionFilter(current);   /* the program's own since */
    abort_now = signal(SIGABRT, cr->previous_abort);
    if (abort_now != telemetry__crash_on_abort && abort_now != SIG_ERR) signal(SIGABRT, abort_now);
#  if defined(TELEMETRY__HAVE_INVALID_PARAMETER)
    {
        _invalid_parameter_handler now = _set_invalid_parameter_handler(cr->previous_invalid_parameter);
        if (now != telemetry__crash_on_invalid_parameter) _set_invalid_parameter_handler(now);   /* the program's own since */
    }
#  endif
    if (cr->veh) { RemoveVectoredExceptionHandler(cr->veh); cr->veh = NULL; }
    cr->installed = 0;
}
#endif

/* =============================================================================================
   >>enduser: what the person running the program sees and decides. The run's first work (at its
   first capture, report or count, never at init), the first-run notice and the send gate it
   sets, counters kept across runs for an interval report, the catalogue of what is collected
   (disclosure and privacy-page Markdown), and telemetry_command.
   ============================================================================================= */

/* ---- the first-run notice and the send gate ---- */
TELEMETRY__INTERNAL int telemetry__notice_seen(void) {
    char *text = NULL;
    int err, seen = telemetry__state_read("notice_shown", 64, &text, NULL, &err) == 0;
    telemetry__free(text);
    return seen;
}

/* The ways to turn telemetry off, as one sentence ("run `x telemetry off`, or set ..."). */
TELEMETRY__INTERNAL void telemetry__opt_out_sentence(telemetry__buf *b) {
    char env_name[128];
    telemetry__app_env_name(telemetry__st.app_name, env_name, sizeof env_name);
    if (telemetry__st.opt_out_command) telemetry__buf_printf(b, "run `%s`,\n  or ", telemetry__st.opt_out_command);
    telemetry__buf_printf(b, "set DO_NOT_TRACK=1 or %s=1 in the environment", env_name);
    if (telemetry__st.config_file) telemetry__buf_printf(b, ", or write \"%s = off\" in %s", telemetry__st.config_key, telemetry__st.config_file);
}

/* The default notice: the program, what is collected, that nothing went yet, how to opt out. */
TELEMETRY__INTERNAL void telemetry__notice_default(telemetry__buf *b) {
    const char *app = telemetry__st.app_name;
    int sessions = telemetry__st.has_dsn && !telemetry__st.no_sessions;
    telemetry__buf_printf(b, "%s collects anonymous telemetry: %s\n", app,
                          telemetry__st.purpose ? telemetry__st.purpose : "to learn how it is used and where it fails.");
    telemetry__buf_puts(b, "  It sends");
    if (telemetry__st.has_usage)
        telemetry__buf_puts(b, " a usage report (program version, OS, CPU architecture, and the counts\n"
                               "  and settings the program declares)");
    if (telemetry__st.has_dsn)
        telemetry__buf_printf(b, "%serror and crash reports (message, stack addresses, OS)%s", telemetry__st.has_usage ? ";\n  " : " ",
                              sessions ? " and one session per\n  run (start, duration, exit status)" : "");
    telemetry__buf_puts(b, ", with a random install id.\n"
                           "  Never: user name, host name, file paths, IP addresses, environment, command line.\n"
                           "  Nothing has been sent yet, and nothing is sent during this run.\n  To opt out: ");
    telemetry__opt_out_sentence(b);
    telemetry__buf_puts(b, ".\n");
    if (telemetry__st.privacy_url) telemetry__buf_printf(b, "  Details: %s\n", telemetry__st.privacy_url);
}

/* Decides whether this run may send, and shows the notice when it is due: the run that shows it
   and every run before one did keep what they capture (sent from the next run on, deleted by an
   opt-out first). Only a terminal gets it; the folder's notice_shown records it. Lock held. */
TELEMETRY__INTERNAL void telemetry__notice_gate(void) {
    telemetry__buf b;
    telemetry__st.hold = 0;
    /* the program tells its users itself; TELEMETRY_DEBUG sends nothing anyway; an explicit yes */
    if (telemetry__st.no_notice || telemetry__st.debug || telemetry__st.source == TELEMETRY__SOURCE_GIVEN) return;
    if (telemetry__notice_seen()) return;
    telemetry__st.hold = 1;
    if (!telemetry__stderr_is_terminal()) return;
    telemetry__buf_init(&b);
    if (telemetry__st.notice) {
        telemetry__buf_puts(&b, telemetry__st.notice);
        if (b.len && b.data[b.len - 1] != '\n') telemetry__buf_putc(&b, '\n');
    } else {
        telemetry__notice_default(&b);
    }
    if (!b.failed) { fwrite(b.data, 1, b.len, stderr); fflush(stderr); }
    telemetry__buf_free(&b);
    if (!telemetry__st.state_dir[0]) return;
    if (telemetry__state_write("notice_shown", "shown\n", 6, 1) != 0)
        telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot record in %s that the notice was shown", telemetry__st.state_dir);
}

/* The run's first work, at its first capture, report or count: the install id, the notice and
   send gate, the session, then the sender. Never at init, so a run that only starts, prints the
   disclosure or runs telemetry_command writes and sends nothing. Lock held. */
TELEMETRY__INTERNAL void telemetry__activate(void) {
    if (telemetry__st.activated || !telemetry__st.initialized || !telemetry__st.enabled) return;
    telemetry__st.activated = 1;
    TELEMETRY__ATOMIC_STORE(&telemetry__activation_pending, 0);
    if (!telemetry__st.install_id[0]) telemetry__prepare_state();
#if defined(TELEMETRY__HAVE_CRASH)
    if (telemetry__cr.installed) telemetry__mkdirs(telemetry__cr.outbox_dir);   /* ready for a crash */
#endif
    telemetry__notice_gate();
    telemetry__open_outbox();                   /* the store, the session, the sender (>>send) */
}
TELEMETRY__INTERNAL void telemetry__activate_now(void) {
    telemetry__lock(&telemetry__state_lock);
    telemetry__activate();
    telemetry__unlock(&telemetry__state_lock);
}

/* ---- counters kept across runs (cfg.report_interval_s) ----
   <state_dir>/counters: "since <ms>" (when the interval began), then "<name> <sum>" lines. */

/* Reads the counters file's text: *since, and each well-formed counter handed to add. Malformed
   lines are skipped. Returns how many counters were read. */
TELEMETRY__INTERNAL int telemetry__counter_file_parse(const char *text, int64_t *since, int (*add)(const char *, int64_t)) {
    const char *line = text;
    int n = 0;
    *since = 0;
    while (line && *line) {
        const char *end = strchr(line, '\n'), *sp;
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char name[TELEMETRY_MAX_NAME], num[24];
        sp = (const char *)memchr(line, ' ', len);
        if (sp && (size_t)(sp - line) < sizeof name && len - (size_t)(sp - line) - 1 < sizeof num && len - (size_t)(sp - line) > 1) {
            char *stop;
            long long v;
            memcpy(name, line, (size_t)(sp - line)); name[sp - line] = 0;
            memcpy(num, sp + 1, len - (size_t)(sp - line) - 1); num[len - (size_t)(sp - line) - 1] = 0;
            errno = 0;
            v = strtoll(num, &stop, 10);
            if (*stop == 0 && errno == 0 && (num[0] == '-' || (num[0] >= '0' && num[0] <= '9'))) {
                if (strcmp(name, "since") == 0) { if (v > 0) *since = (int64_t)v; }
                else if (telemetry__valid_name(name) && add(name, (int64_t)v) == 0) n++;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}

TELEMETRY__INTERNAL int telemetry__counter_noop_add(const char *name, int64_t v) { (void)name; (void)v; return 0; }

/* Adds the sums earlier runs kept to this run's counters and writes the file again: with keep,
   the counters move into the file (taken from memory); without, the file restarts the interval
   at now with no counters (they are about to go out in a report). *since_out: the interval's
   start. Lock held. 0, or TELEMETRY_ERR_IO. */
TELEMETRY__INTERNAL int telemetry__counter_file_merge(int keep, int64_t now, int64_t *since_out) {
    char path[1100], *text = NULL;
    int err, i, rc;
    int64_t since = 0;
    telemetry__buf b;
    telemetry__state_path("counters", path, sizeof path);
    if (telemetry__read_file(path, 1 << 20, &text, NULL, &err) == 0) telemetry__counter_file_parse(text, &since, telemetry__counter_add);
    telemetry__free(text);
    if (since == 0 || since > now) since = now;          /* the first interval, or the clock went back */
    *since_out = since;
    telemetry__buf_init(&b);
    telemetry__buf_printf(&b, "since %lld\n", (long long)(keep ? since : now));
    for (i = 0; keep && i < TELEMETRY_MAX_COUNTERS; i++) {
        telemetry__counter *c = &telemetry__counters[i];
        int64_t v;
        if (TELEMETRY__ATOMIC_LOAD(&c->state) != 2) continue;
        v = TELEMETRY__ATOMIC_XCHG64(&c->value, 0);
        if (v) telemetry__buf_printf(&b, "%s %lld\n", c->name, (long long)v);
    }
    rc = b.failed ? TELEMETRY_ERR_NO_MEMORY : 0;
    if (rc == 0 && (telemetry__mkdirs(telemetry__st.state_dir) != 0 || telemetry__write_file_atomic(path, b.data, b.len, 0) != 0)) {
        telemetry__log(TELEMETRY_LEVEL_WARNING, "cannot keep the counters in %s", path);
        rc = TELEMETRY_ERR_IO;
    }
    telemetry__buf_free(&b);
    return rc;
}

/* With cfg.report_interval_s: 1 when the interval's report is due now (this run's counters then
   hold the sums of every run since the last report), 0 when the counts were kept for it.
   Without an interval or a state folder: always 1. Lock held. */
TELEMETRY__INTERNAL int telemetry__interval_due(void) {
    int64_t now = telemetry__now_ms(), since = now;
    char path[1100], *text = NULL;
    int err;
    if (!telemetry__st.report_interval_s || !telemetry__st.state_dir[0]) return 1;
    telemetry__state_path("counters", path, sizeof path);
    if (telemetry__read_file(path, 1 << 20, &text, NULL, &err) == 0) {
        int64_t s2;
        telemetry__counter_file_parse(text, &s2, telemetry__counter_noop_add);
        if (s2 > 0 && s2 <= now) since = s2;
    }
    telemetry__free(text);
    if (now - since >= (int64_t)telemetry__st.report_interval_s * 1000) {
        telemetry__counter_file_merge(0, now, &since);
        return 1;
    }
    telemetry__counter_file_merge(1, now, &since);
    return 0;
}

/* At shutdown in interval mode: what this run counted and did not report waits in the file. */
TELEMETRY__INTERNAL void telemetry__interval_keep(void) {
    int64_t since;
    int i, any = 0;
    if (!telemetry__st.report_interval_s || !telemetry__st.state_dir[0] || !telemetry__st.activated || !telemetry__st.enabled) return;
    for (i = 0; i < TELEMETRY_MAX_COUNTERS; i++)
        if (TELEMETRY__ATOMIC_LOAD(&telemetry__counters[i].state) == 2 && TELEMETRY__ATOMIC_LOAD(&telemetry__counters[i].value)) any = 1;
    if (any) telemetry__counter_file_merge(1, telemetry__now_ms(), &since);
}

/* ---- the catalogue: what is collected, for the disclosure and the privacy page ---- */

/* Writes s for a Markdown table cell ('|' escaped, newlines as spaces). */
TELEMETRY__INTERNAL void telemetry__md_cell(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else if (*s == '\n' || *s == '\r') fputc(' ', out);
        else fputc(*s, out);
    }
}

/* The counters: declared ones with their description and current value, then any counted name
   nobody declared. Registry lock held. */
TELEMETRY__INTERNAL void telemetry__print_counters(FILE *out, int markdown) {
    const telemetry_counter_info *d;
    size_t width = 0;
    int i, any = 0;
    for (d = telemetry__declared_counters; d; d = d->next) if (strlen(d->id) > width) width = strlen(d->id);
    for (i = 0; i < TELEMETRY_MAX_COUNTERS; i++)
        if (TELEMETRY__ATOMIC_LOAD(&telemetry__counters[i].state) == 2 && strlen(telemetry__counters[i].name) > width)
            width = strlen(telemetry__counters[i].name);
    if (markdown) fprintf(out, "| Counter | What it counts |\n|---|---|\n");
    for (d = telemetry__declared_counters; d; d = d->next) {
        int64_t v = 0;
        for (i = 0; i < TELEMETRY_MAX_COUNTERS; i++)
            if (TELEMETRY__ATOMIC_LOAD(&telemetry__counters[i].state) == 2 && strcmp(telemetry__counters[i].name, d->id) == 0)
                v = TELEMETRY__ATOMIC_LOAD(&telemetry__counters[i].value);
        if (markdown) { fprintf(out, "| `%s` | ", d->id); telemetry__md_cell(out, d->description); fprintf(out, " |\n"); }
        else fprintf(out, "    %-*s  %s\n    %-*s  = %lld\n", (int)width, d->id, d->description, (int)width, "", (long long)v);
        any = 1;
    }
    for (i = 0; i < TELEMETRY_MAX_COUNTERS; i++) {
        telemetry__counter *c = &telemetry__counters[i];
        if (TELEMETRY__ATOMIC_LOAD(&c->state) != 2 || telemetry__counter_declared(c->name)) continue;
        if (markdown) fprintf(out, "| `%s` | (undeclared: the program did not say what it counts) |\n", c->name);
        else fprintf(out, "    %-*s  (undeclared: the program did not say what it counts)\n    %-*s  = %lld\n",
                     (int)width, c->name, (int)width, "", (long long)TELEMETRY__ATOMIC_LOAD(&c->value));
        any = 1;
    }
    if (!any) fprintf(out, markdown ? "| (none) | |\n" : "    (none declared or counted yet)\n");
}

/* What a session holds, in one paragraph (docs/privacy.md says the same). */
#define TELEMETRY__SESSION_TEXT \
    "one per run that does something (sent when it starts, at its first error and when it ends):\n" \
    "  a random session id, the install id, the start time, the duration, how the run ended (ok,\n" \
    "  exited, crashed, abnormal), the number of errors, and the program's release and environment."
#define TELEMETRY__NEVER_TEXT \
    "user name, host name, IP addresses, environment variables, command line; file paths only\n" \
    "  where an error report's stack names the program's own source files (the home folder as ~)"

/* The "what is collected" section of a privacy page, in Markdown (`telemetry show --markdown`).
   Lock and registry lock held. */
TELEMETRY__INTERNAL void telemetry__print_markdown(FILE *out) {
    char hostport[300];
    const telemetry_metric *m;
    telemetry__buf opt;
    fprintf(out, "## What is collected\n\n");
    fprintf(out, "%s %s collects telemetry with telemetry.h %s. Why: %s\n\n", telemetry__st.app_name, telemetry__st.app_version,
            TELEMETRY_VERSION_STRING, telemetry__st.purpose ? telemetry__st.purpose : "to learn how it is used and where it fails.");
    if (telemetry__st.has_usage) {
        telemetry__url_hostport(&telemetry__st.usage, hostport, sizeof hostport);
        fprintf(out, "### Usage report\n\nSent to `%s`", hostport);
        if (telemetry__st.report_interval_s) fprintf(out, " at most once every %u seconds (the counts add up in between)", telemetry__st.report_interval_s);
        fprintf(out, ". Besides the program name, its version, the library version, a random install id and the time, it holds:\n\n");
        fprintf(out, "| Metric | What it is |\n|---|---|\n");
        for (m = telemetry__metrics; m; m = m->next) { fprintf(out, "| `%s` | ", m->id); telemetry__md_cell(out, m->description); fprintf(out, " |\n"); }
        fprintf(out, "\nCounters (named counts of program events, reset after each report):\n\n");
        telemetry__print_counters(out, 1);
        fprintf(out, "\n");
    }
    if (telemetry__st.has_dsn) {
        telemetry__url_hostport(&telemetry__st.dsn.envelope, hostport, sizeof hostport);
        fprintf(out, "### Error and crash reports\n\nSent to Sentry at `%s`: the error message or signal, the stack addresses and the program's "
                     "module names, OS name and kernel version, CPU architecture, tags and breadcrumbs the program set, and the install id.\n\n", hostport);
        if (!telemetry__st.no_sessions) fprintf(out, "### Sessions\n\nSent to Sentry: " TELEMETRY__SESSION_TEXT "\n\n");
    }
    fprintf(out, "### Never collected\n\n" TELEMETRY__NEVER_TEXT ".\n\n");
    telemetry__buf_init(&opt);
    telemetry__opt_out_sentence(&opt);
    fprintf(out, "### How to opt out\n\nTo opt out, %s.%s\n", opt.data ? opt.data : "",
            telemetry__st.opt_out_command ? " Opting out with the command also deletes the install id and every unsent report." : "");
    telemetry__buf_free(&opt);
}

/* ---- telemetry_command ---- */

/* The one sentence on what decided the current state (telemetry_status_reason). Lock held. */
TELEMETRY__INTERNAL void telemetry__command_reason(char *out, size_t cap) {
    telemetry__copy(out, cap, telemetry__reason_text());
}
TELEMETRY__INTERNAL int telemetry__command_usage(FILE *out) {
    fprintf(out, "usage: %s telemetry on|off|status|show [--markdown]|log\n",
            telemetry__st.app_name ? telemetry__st.app_name : "<program>");
    return TELEMETRY_ERR_INVALID_ARGUMENT;
}

TELEMETRY__INTERNAL int telemetry__command_status(FILE *out) {
    char why[600], path[1100];
    long size = -1;
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized) {
        telemetry__unlock(&telemetry__state_lock);
        fprintf(out, "Telemetry: OFF (telemetry_init was not called or failed)\n");
        return TELEMETRY_ERR_NOT_INITIALIZED;
    }
    telemetry__command_reason(why, sizeof why);
    fprintf(out, "Telemetry for %s: %s (%s)\n", telemetry__st.app_name, telemetry__st.enabled ? "ON" : "OFF", why);
    fprintf(out, "  Your decision: %s\n", telemetry__st.consent > 0 ? "consent given" : telemetry__st.consent < 0 ? "consent revoked"
                                      : "none recorded (`telemetry on` or `telemetry off` records one)");
    fprintf(out, "  State folder: %s\n", telemetry__st.state_dir[0] ? telemetry__st.state_dir : "(none: memory only)");
    if (telemetry__st.no_notice) fprintf(out, "  Notice: the program tells its users itself\n");
    else fprintf(out, "  Notice: %s\n", telemetry__notice_seen() ? "shown" : "not shown yet (nothing is sent before it has been shown on a terminal)");
    if (telemetry__st.sent_log_cap && telemetry__st.state_dir[0]) {
        telemetry__state_path("sent.log", path, sizeof path);
        size = telemetry__file_size(path);
        if (size >= 0) fprintf(out, "  Sent log: %s (%ld bytes, at most %lu)\n", path, size, (unsigned long)telemetry__st.sent_log_cap);
        else fprintf(out, "  Sent log: %s (nothing sent yet)\n", path);
    } else {
        fprintf(out, "  Sent log: off\n");
    }
    if (telemetry__st.report_interval_s) fprintf(out, "  Usage reports: at most one every %u seconds\n", telemetry__st.report_interval_s);
    telemetry__unlock(&telemetry__state_lock);
    return 0;
}

TELEMETRY__INTERNAL int telemetry__command_log(FILE *out) {
    char path[1100], *text = NULL;
    size_t len = 0;
    int err = 0;
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized) { telemetry__unlock(&telemetry__state_lock); return TELEMETRY_ERR_NOT_INITIALIZED; }
    if (!telemetry__st.sent_log_cap || !telemetry__st.state_dir[0]) {
        telemetry__unlock(&telemetry__state_lock);
        fprintf(out, "The sent log is off in this program.\n");
        return 0;
    }
    telemetry__state_path("sent.log", path, sizeof path);
    telemetry__unlock(&telemetry__state_lock);
    if (telemetry__read_file(path, 64u << 20, &text, &len, &err) != 0 || len == 0) fprintf(out, "Nothing has been sent yet (%s).\n", path);
    else fwrite(text, 1, len, out);
    telemetry__free(text);
    return 0;
}

TELEMETRY_API int telemetry_command(int argc, char **argv, FILE *out) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    const char *w;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!out) out = stdout;
    if (argc < 1 || !argv || !argv[0]) return telemetry__command_usage(out);
    w = argv[0];
    if (argc == 1 && (strcmp(w, "on") == 0 || strcmp(w, "off") == 0)) {
        int given = w[1] == 'n', rc = telemetry_set_consent(given), on;
        char why[600];
        if (rc == TELEMETRY_ERR_NOT_INITIALIZED) { fprintf(out, "Telemetry: telemetry_init was not called or failed\n"); return rc; }
        telemetry__lock(&telemetry__state_lock);
        on = telemetry__st.enabled;
        telemetry__command_reason(why, sizeof why);
        if (given && on) fprintf(out, "Telemetry is on for %s.\n", telemetry__st.app_name);
        else if (given) fprintf(out, "Telemetry stays off for %s: %s. Consent is recorded and counts once that changes.\n", telemetry__st.app_name, why);
        else fprintf(out, "Telemetry is off for %s. The install id and every unsent report were deleted.\n", telemetry__st.app_name);
        telemetry__unlock(&telemetry__state_lock);
        if (rc == TELEMETRY_ERR_IO) fprintf(out, "  (the decision could not be saved in the state folder: it holds for this run only)\n");
        return given && !on ? TELEMETRY_DISABLED : rc;
    }
    if (argc == 1 && strcmp(w, "status") == 0) return telemetry__command_status(out);
    if (argc == 1 && strcmp(w, "log") == 0) return telemetry__command_log(out);
    if (strcmp(w, "show") == 0 && argc == 1) return telemetry_print_disclosure(out);
    if (strcmp(w, "show") == 0 && argc == 2 && argv[1] && strcmp(argv[1], "--markdown") == 0) {
        telemetry__lock(&telemetry__state_lock);
        if (!telemetry__st.initialized) { telemetry__unlock(&telemetry__state_lock); return TELEMETRY_ERR_NOT_INITIALIZED; }
        telemetry__lock(&telemetry__registry_lock);
        telemetry__print_markdown(out);
        telemetry__unlock(&telemetry__registry_lock);
        telemetry__unlock(&telemetry__state_lock);
        return 0;
    }
    return telemetry__command_usage(out);
}

/* =============================================================================================
   >>public: the API, in the order of the declarations
   ============================================================================================= */
TELEMETRY_API const char *telemetry_result_string(int result) {
    switch (result) {
#define TELEMETRY__RESULT_CASE(name, value, text) case value: return text;
    TELEMETRY__RESULTS(TELEMETRY__RESULT_CASE)
#undef TELEMETRY__RESULT_CASE
    default: return "unknown result code";
    }
}

/* Sentry's rules for release and environment: no '/', '\\' or control characters; not "." or
   ".." or "latest"/"none". */
TELEMETRY__INTERNAL int telemetry__valid_label(const char *s, size_t max) {
    size_t n = strlen(s), i;
    if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    if (telemetry__strieq(s, "latest") || telemetry__strieq(s, "none")) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '/' || c == '\\') return 0;
    }
    return 1;
}

TELEMETRY__INTERNAL void telemetry__release_state(void) {
    telemetry__free(telemetry__st.app_name); telemetry__free(telemetry__st.app_version);
    telemetry__free(telemetry__st.environment); telemetry__free(telemetry__st.dist);
    telemetry__free(telemetry__st.config_file); telemetry__free(telemetry__st.config_key);
    telemetry__free(telemetry__st.config_section);
    telemetry__free(telemetry__st.ca_file); telemetry__free(telemetry__st.ca_pem);
    telemetry__free(telemetry__st.usage_url_text); telemetry__free(telemetry__st.dsn_text);
    telemetry__free(telemetry__st.notice); telemetry__free(telemetry__st.purpose);
    telemetry__free(telemetry__st.privacy_url); telemetry__free(telemetry__st.opt_out_command);
    telemetry__url_free(&telemetry__st.usage);
    telemetry__dsn_free(&telemetry__st.dsn);
    telemetry__event_fixed_free();
    memset(&telemetry__st, 0, sizeof telemetry__st);
    memset(&telemetry__sc, 0, sizeof telemetry__sc);
}

/* A configuration problem is loud: one line to stderr even without TELEMETRY_DEBUG (or to the
   program's log_fn), kept for the disclosure and the status sentence. */
TELEMETRY__INTERNAL void telemetry__config_issue(const char *fmt, ...) {
    char line[600];
    size_t n = strlen(telemetry__st.config_notes);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    telemetry__log(TELEMETRY_LEVEL_ERROR, "%s", line);
    if (!telemetry__log_sink.fn && !telemetry__log_sink.debug) fprintf(stderr, "telemetry: %s\n", line);
    if (n + strlen(line) + 2 < sizeof telemetry__st.config_notes)
        snprintf(telemetry__st.config_notes + n, sizeof telemetry__st.config_notes - n, "%s%s", n ? "\n" : "", line);
}

/* Copies and checks the config; applies every default in this one place. An invalid usage_url
   or sentry_dsn turns off that one endpoint (loudly); the other still works. */
TELEMETRY__INTERNAL int telemetry__apply_config(const telemetry_config *c) {
    const char *fail = NULL;
    if (!c) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__lock(&telemetry__log_lock);
    telemetry__log_sink.fn = c->log_fn;
    telemetry__log_sink.user_data = c->log_user_data;
    telemetry__log_sink.debug = telemetry__env_true("TELEMETRY_DEBUG");
    telemetry__unlock(&telemetry__log_lock);
    telemetry__monotonic_user = c->platform_user_data;       /* first: everything after may wait */
    telemetry__monotonic_fn = c->monotonic_fn;
    if (!c->app_name || !telemetry__valid_name(c->app_name)) fail = "app_name must be 1 to 63 characters of [A-Za-z0-9_-]";
    else if (c->app_version && !telemetry__valid_label(c->app_version, 128)) fail = "app_version must be 1 to 128 characters without '/', '\\' or control characters";
    else if (c->environment && !telemetry__valid_label(c->environment, 64)) fail = "environment must be 1 to 64 characters without '/', '\\' or control characters";
    else if (c->dist && !telemetry__valid_label(c->dist, 64)) fail = "dist must be 1 to 64 characters without '/', '\\' or control characters";
    else if (c->config_key && !c->config_key[0]) fail = "config_key must not be empty";
    else if (c->state_dir && strlen(c->state_dir) >= sizeof telemetry__st.state_dir)
        fail = "state_dir is longer than 1023 bytes (it is never cut short: that would be another folder)";
#if defined(TELEMETRY_NO_SOCKETS)
    else if (!c->io && ((c->usage_url && c->usage_url[0]) || (c->sentry_dsn && c->sentry_dsn[0])))
        fail = "this build has no sockets (TELEMETRY_NO_SOCKETS): an endpoint needs cfg.io, the program's own byte stream";
#endif
#if defined(TELEMETRY_NO_FILES)
    else if (c->state_dir || c->config_file || c->ca_file)
        fail = "this build has no file system (TELEMETRY_NO_FILES): no state_dir, config_file or ca_file (cfg.storage keeps the "
               "state, cfg.ca_pem the trust anchors)";
#else
    else if (c->storage) fail = "cfg.storage is for builds without a file system (TELEMETRY_NO_FILES); this one keeps its state in state_dir";
#endif
#if defined(TELEMETRY__NO_OS)
    else if (!c->entropy_fn) fail = "this build has no OS to ask for random bytes: cfg.entropy_fn (the device's random source) is needed";
#endif
    if (fail) {
        telemetry__config_issue("invalid configuration: %s; telemetry is off", fail);
        snprintf(telemetry__reason, sizeof telemetry__reason, "telemetry_init refused the configuration: %s", fail);
        return TELEMETRY_ERR_INVALID_CONFIG;
    }
    telemetry__st.config = *c;
    telemetry__st.app_name = telemetry__strdup(c->app_name);
    telemetry__st.app_version = telemetry__strdup(c->app_version ? c->app_version : "0");
    telemetry__st.environment = telemetry__strdup(c->environment ? c->environment : "production");
    telemetry__st.dist = telemetry__strdup(c->dist);
    telemetry__st.config_file = telemetry__strdup(c->config_file);
    telemetry__st.config_key = telemetry__strdup(c->config_key ? c->config_key : "telemetry");
    telemetry__st.config_section = telemetry__strdup(c->config_section);
    telemetry__st.ca_file = telemetry__strdup_absolute(c->ca_file);
    telemetry__st.ca_pem = telemetry__strdup(c->ca_pem);
    telemetry__st.opt_in = c->opt_in;
    telemetry__st.timeout_ms = c->timeout_ms ? c->timeout_ms : 10000;
    telemetry__st.shutdown_timeout_ms = c->shutdown_timeout_ms == TELEMETRY_NO_WAIT ? 0 : c->shutdown_timeout_ms ? c->shutdown_timeout_ms : 2000;
    telemetry__st.no_crash_handler = c->no_crash_handler;
    memset(&telemetry__dc, 0, sizeof telemetry__dc);
    telemetry__dc.disk_cap = c->outbox_disk_bytes;
    telemetry__dc.retry_initial_ms = c->retry_initial_ms;
    telemetry__dc.retry_max_ms = c->retry_max_ms;
    telemetry__dc.no_client_reports = c->no_client_reports;
    telemetry__dc.no_sidecar = c->no_sidecar;
    telemetry__dc.no_atexit = c->no_atexit;
    telemetry__dc.sidecar_lifetime_ms = c->sidecar_lifetime_ms ? c->sidecar_lifetime_ms : TELEMETRY_SIDECAR_LIFETIME_MS;
    telemetry__st.io = c->io;
    telemetry__st.entropy_fn = c->entropy_fn;
    telemetry__st.clock_fn = c->clock_fn;
    telemetry__st.platform_user_data = c->platform_user_data;
    telemetry__st.debug = telemetry__log_sink.debug;
    telemetry__st.notice = telemetry__strdup(c->notice);
    telemetry__st.purpose = telemetry__strdup(c->purpose);
    telemetry__st.privacy_url = telemetry__strdup(c->privacy_url);
    telemetry__st.opt_out_command = telemetry__strdup(c->opt_out_command);
    telemetry__st.no_notice = c->no_notice;
    telemetry__st.no_sessions = c->no_sessions;
    telemetry__st.sent_log_cap = c->sent_log_bytes == (size_t)TELEMETRY_NO_WAIT ? 0 : c->sent_log_bytes ? c->sent_log_bytes : TELEMETRY__SENT_LOG_DEFAULT;
    telemetry__st.report_interval_s = c->report_interval_s;
    if (!telemetry__st.app_name || !telemetry__st.app_version || !telemetry__st.environment || !telemetry__st.config_key)
        return TELEMETRY_ERR_NO_MEMORY;
    if ((size_t)snprintf(telemetry__st.release, sizeof telemetry__st.release, "%s@%s", telemetry__st.app_name, telemetry__st.app_version) > 200) {
        telemetry__config_issue("invalid configuration: release \"%s\" is longer than Sentry's 200 bytes; telemetry is off", telemetry__st.release);
        snprintf(telemetry__reason, sizeof telemetry__reason, "telemetry_init refused the configuration: the release is longer than 200 bytes");
        return TELEMETRY_ERR_INVALID_CONFIG;
    }
    telemetry__st.usage_url_text = telemetry__strdup(c->usage_url);
    telemetry__st.dsn_text = telemetry__strdup(c->sentry_dsn);
    if (c->usage_url && c->usage_url[0]) {
        if (telemetry__url_parse(c->usage_url, &telemetry__st.usage) == 0) telemetry__st.has_usage = 1;
        else telemetry__config_issue("invalid usage_url (expected http(s)://host[:port]/path[?query]): no usage reports");
    }
    if (c->sentry_dsn && c->sentry_dsn[0]) {
        int rc = telemetry__dsn_parse(c->sentry_dsn, &telemetry__st.dsn);
        if (rc == 0 && strlen(telemetry__st.dsn.public_key) != 32) {
            telemetry__dsn_free(&telemetry__st.dsn);
            rc = TELEMETRY_ERR_INVALID_DSN;
        }
        if (rc == 0) telemetry__st.has_dsn = 1;
        else telemetry__config_issue("invalid sentry_dsn (expected https://<32-character key>@host[:port][/prefix]/<numeric project id>): "
                                     "no error or crash reports");
    }
#if defined(TELEMETRY_NO_FILES)
    telemetry__storage = c->storage;              /* the state folder is the device's storage, or none */
    telemetry__copy(telemetry__st.state_dir, sizeof telemetry__st.state_dir, c->storage ? TELEMETRY__STORAGE_DIR : "");
    telemetry__st.sent_log_cap = 0;               /* flash is not a log */
#else
    if (c->state_dir && c->state_dir[0]) telemetry__copy(telemetry__st.state_dir, sizeof telemetry__st.state_dir, c->state_dir);
    else if (telemetry__default_state_dir(telemetry__st.app_name, telemetry__st.state_dir, sizeof telemetry__st.state_dir) != 0)
        telemetry__config_issue("the default state folder's path is longer than 1023 bytes: memory only");
    if (telemetry__make_absolute(telemetry__st.state_dir, sizeof telemetry__st.state_dir) != 0) {
        telemetry__config_issue("the state folder %s, made absolute, is longer than 1023 bytes: memory only", telemetry__st.state_dir);
        telemetry__st.state_dir[0] = 0;
    }
#endif
    return 0;
}

/* What an enabled run opens: the outbox and its sender and the crash handler at once; the install
   id, the notice and the session at the run's first work (telemetry__activate). The one place
   that does it, for telemetry_init and for consent given later at run time
   (telemetry_set_consent); each part is opened once. Lock held. */
TELEMETRY__INTERNAL void telemetry__switch_on(void) {
    if (!telemetry__st.started) telemetry__homes_read();
    if (!telemetry__st.install_id[0]) telemetry__peek_state();
    if (!telemetry__st.has_session && telemetry__st.has_dsn && !telemetry__st.no_sessions) telemetry__session_prefill();
    if (telemetry__open_outbox() != 0) telemetry__log(TELEMETRY_LEVEL_WARNING, "delivery could not be opened: nothing is sent this run");
#if defined(TELEMETRY__HAVE_CRASH)
    if (!telemetry__cr.installed && telemetry__st.has_dsn && telemetry__st.state_dir[0] && !telemetry__st.no_crash_handler &&
        telemetry__crash_install() != 0)
        telemetry__log(TELEMETRY_LEVEL_WARNING, "the crash handler could not be installed");
#endif
    telemetry__st.started = 1;
    telemetry__st.activated = 0;            /* after a revocation: a new id and session at the next work */
    TELEMETRY__ATOMIC_STORE(&telemetry__activation_pending, 1);
}

#if !defined(TELEMETRY_NO_THREADS) && !defined(_WIN32)
/* The child of a fork: telemetry off there (TELEMETRY__OFF_IN_FORK_CHILD), and the crash handler
   gives the child's signals back to the program's handlers, so a crash of the child never writes
   into the parent's store. Its copies of the store's files and of the sidecar's pipe are closed:
   the parent's sidecar waits for the parent alone. Only async-signal-safe calls: the child of a
   threaded program. */
TELEMETRY__INTERNAL void telemetry__atfork_child(void) {
    if (!TELEMETRY__ATOMIC_LOAD(&telemetry__live)) return;
    TELEMETRY__ATOMIC_STORE(&telemetry__forked_child, 1);
    if (telemetry__dl.pipe_fd >= 0) close(telemetry__dl.pipe_fd);
    if (telemetry__sto.fd >= 0) close(telemetry__sto.fd);
    if (telemetry__sto.crash_fd >= 0 && telemetry__sto.crash_fd != telemetry__sto.fd) close(telemetry__sto.crash_fd);
#  if defined(TELEMETRY__HAVE_CRASH)
    if (telemetry__cr.installed) {
        int i;
        for (i = 0; i < TELEMETRY__NSIG; i++) sigaction(telemetry__crash_signals[i], &telemetry__cr.previous[i], NULL);
        telemetry__cr.installed = 0;
    }
#  endif
}
#endif

TELEMETRY_API int telemetry_init(const telemetry_config *config) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    int rc;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    telemetry__lock(&telemetry__state_lock);
    if (telemetry__st.initialized) { telemetry__unlock(&telemetry__state_lock); return TELEMETRY_ERR_ALREADY_INITIALIZED; }
    TELEMETRY__ATOMIC_STORE(&telemetry__live, 1);
    rc = telemetry__apply_config(config);
    if (rc) {
        telemetry__release_state();
        telemetry__unlock(&telemetry__state_lock);
        TELEMETRY__ATOMIC_STORE(&telemetry__live, 0);
        return rc;
    }
    telemetry__st.initialized = 1;
    telemetry__st.started_ms = telemetry__now_ms();
#if !defined(TELEMETRY_NO_THREADS) && !defined(_WIN32)
    {
        static int atfork_registered = 0;           /* once per process: handlers cannot be removed */
        if (!atfork_registered && pthread_atfork(NULL, NULL, telemetry__atfork_child) == 0) atfork_registered = 1;
    }
#endif
    TELEMETRY__ATOMIC_STORE(&telemetry__counters_refusal_logged, 0);   /* one line per run */
    telemetry__read_osinfo(&telemetry__st.os);
    telemetry__register_builtins();
    if (telemetry__refused_metric[0])
        telemetry__log(TELEMETRY_LEVEL_WARNING, "metric '%s' was refused at registration: ids are 1 to %d characters of [A-Za-z0-9_-]",
                       telemetry__refused_metric, TELEMETRY_MAX_NAME - 1);
    telemetry__decide();
    if (telemetry__st.state_refused)
        telemetry__log(TELEMETRY_LEVEL_WARNING, "the state folder %s is not used because %s: telemetry is off",
                       telemetry__st.state_dir, telemetry__st.state_refused);
    if (telemetry__st.enabled) telemetry__switch_on();
    rc = telemetry__st.enabled ? TELEMETRY_OK : TELEMETRY_DISABLED;
    telemetry__unlock(&telemetry__state_lock);
    return rc;
}

TELEMETRY_API int telemetry_enabled(void) {
    TELEMETRY__OFF_IN_FORK_CHILD(0);
    int on;
    if (telemetry__in_metric()) return telemetry__st.initialized && telemetry__st.enabled;   /* the lock is ours */
    telemetry__lock(&telemetry__state_lock);
    on = telemetry__st.initialized && telemetry__st.enabled;
    telemetry__unlock(&telemetry__state_lock);
    return on;
}

/* Deletes what identifies this install: the install id (and, with the outbox, queued payloads). */
TELEMETRY__INTERNAL void telemetry__forget_everything(void) {
    static const char *const files[] = { "install_id", "session", "session.previous", "tls_sessions" };
    size_t i;
    telemetry__purge_outbox();                  /* the sender stops first: nothing it writes comes back */
    for (i = 0; i < sizeof files / sizeof files[0]; i++) telemetry__state_remove(files[i]);
    telemetry__st.install_id[0] = 0;
    telemetry__st.has_session = 0;
}

TELEMETRY_API int telemetry_set_consent(int given) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    const char *word = given ? "given\n" : "revoked\n";
    int rc = 0;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized) { telemetry__unlock(&telemetry__state_lock); return TELEMETRY_ERR_NOT_INITIALIZED; }
    telemetry__st.session_consent = given ? 1 : -1;
    if (telemetry__st.state_dir[0] && !telemetry__state_check()) {
        if (!given) telemetry__forget_everything();
        /* the user's explicit decision is recorded even while another opt-out is in force */
        if (telemetry__state_write("consent", word, strlen(word), 1) != 0) {
            telemetry__log(TELEMETRY_LEVEL_ERROR, "cannot record the consent decision in %s", telemetry__st.state_dir);
            rc = TELEMETRY_ERR_IO;
        }
    } else {
        rc = TELEMETRY_ERR_IO;
        telemetry__log(TELEMETRY_LEVEL_ERROR, "no usable state folder: the consent decision holds for this run only");
    }
    /* re-decide: the other sources still count (DO_NOT_TRACK stays stronger than consent) */
    telemetry__decide();
    if (!telemetry__st.enabled) telemetry__purge_outbox();     /* off now: nothing more is sent, a crash writes nothing */
    if (telemetry__st.enabled) telemetry__switch_on();
    else if (given && telemetry__opted_out_elsewhere()) {
        telemetry__log(TELEMETRY_LEVEL_WARNING, "consent is recorded, but telemetry stays off: %s", telemetry__reason_text());
        rc = TELEMETRY_DISABLED;
    }
    telemetry__unlock(&telemetry__state_lock);
    return rc;
}

TELEMETRY_API int telemetry_consent_state(void) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_CONSENT_UNKNOWN);
    int c;
    if (telemetry__in_metric()) c = !telemetry__st.initialized ? 0 : telemetry__st.consent;   /* the lock is ours */
    else {
        telemetry__lock(&telemetry__state_lock);
        c = !telemetry__st.initialized ? 0 : telemetry__st.consent;
        telemetry__unlock(&telemetry__state_lock);
    }
    return c > 0 ? TELEMETRY_CONSENT_GIVEN : c < 0 ? TELEMETRY_CONSENT_REVOKED : TELEMETRY_CONSENT_UNKNOWN;
}

TELEMETRY_API const char *telemetry_status_reason(void) {
    TELEMETRY__OFF_IN_FORK_CHILD("telemetry is off in a process forked after telemetry_init");
    return telemetry__reason_text();        /* rewritten only by init, set_consent and shutdown */
}

TELEMETRY_API int telemetry_build_usage_report(char **json, size_t *len) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    telemetry__buf b;
    int rc;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!json) return TELEMETRY_ERR_INVALID_ARGUMENT;
    *json = NULL;
    telemetry__buf_init(&b);
    telemetry__lock(&telemetry__state_lock);
    rc = telemetry__st.initialized ? telemetry__usage_report(&b, 0, telemetry__usage_dropped(0)) : TELEMETRY_ERR_NOT_INITIALIZED;
    telemetry__unlock(&telemetry__state_lock);
    if (rc) { telemetry__buf_free(&b); return rc; }
    *json = b.data;
    if (len) *len = b.len;
    return 0;
}
TELEMETRY_API void telemetry_free(void *p) { telemetry__free(p); }

TELEMETRY_API int telemetry_report_usage(void) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    telemetry__buf b;
    int rc;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    telemetry__buf_init(&b);
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized) rc = TELEMETRY_ERR_NOT_INITIALIZED;
    else if (!telemetry__st.enabled) rc = TELEMETRY_DISABLED;
    else if (!telemetry__st.has_usage) rc = telemetry__st.usage_url_text && telemetry__st.usage_url_text[0] ? TELEMETRY_ERR_INVALID_URL : TELEMETRY_ERR_NOT_CONFIGURED;
    else if (!telemetry__dl.open) rc = TELEMETRY_ERR_NO_MEMORY;          /* delivery could not be opened */
    else if ((telemetry__activate(), !telemetry__interval_due())) rc = 0;   /* kept for the interval's report */
    else {
        char push_id[21] = "";
        unsigned char rnd[12];
        int64_t dropped = telemetry__usage_dropped(1);
        rc = telemetry__usage_report(&b, 1, dropped);
        if (rc == 0 && telemetry__is_firebase(&telemetry__st.usage)) {
            /* the record's key is fixed now, so a retry overwrites rather than duplicates */
            rc = telemetry__random(rnd, sizeof rnd);
            if (rc == 0) telemetry__push_id(telemetry__now_ms(), rnd, &telemetry__st.push_last_ms, telemetry__st.push_last_rand, push_id);
        }
        if (rc == 0) {
            rc = telemetry__enqueue(TELEMETRY__KIND_USAGE, TELEMETRY__CAT_USAGE, push_id, b.data, b.len);
        }
    }
    telemetry__unlock(&telemetry__state_lock);
    telemetry__buf_free(&b);
    return rc;
}

/* Builds and sends one event; exception_type NULL makes a message event. */
TELEMETRY__INTERNAL int telemetry__capture(telemetry_level level, const char *exception_type, const telemetry__stack *stack,
                                           const char *fmt, va_list ap) {
    char small[512], *message = small;         /* most messages are short: no allocation */
    char event_id[33];
    telemetry__buf *event = &telemetry__evf.scratch;   /* kept between events, under the lock */
    telemetry__json j;
    int64_t now;
    int rc;
    va_list again;
    int n;
    va_copy(again, ap);
    n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) telemetry__copy(small, sizeof small, "(unformattable message)");
    else if ((size_t)n >= sizeof small) {                 /* longer: up to Sentry's limit */
        message = (char *)telemetry__malloc(TELEMETRY__MESSAGE_MAX + 1);
        if (message) telemetry__vformat_message(message, TELEMETRY__MESSAGE_MAX + 1, fmt, again);
    }
    va_end(again);
    if (!message) return TELEMETRY_ERR_NO_MEMORY;
    telemetry__lock(&telemetry__state_lock);
    event->len = 0;
    event->failed = 0;
    if (!telemetry__st.initialized) rc = TELEMETRY_ERR_NOT_INITIALIZED;
    else if (!telemetry__st.enabled) rc = TELEMETRY_DISABLED;
    else if (!telemetry__st.has_dsn) rc = telemetry__st.dsn_text && telemetry__st.dsn_text[0] ? TELEMETRY_ERR_INVALID_DSN : TELEMETRY_ERR_NOT_CONFIGURED;
    else if (!telemetry__dl.open) rc = TELEMETRY_ERR_NO_MEMORY;          /* delivery could not be opened */
    else if ((telemetry__activate(), rc = telemetry__random_id(event_id)) == 0) {
        TELEMETRY__CRASH_REFRESH_MODULES();               /* a library dlopen'ed since: in a crash too */
        now = telemetry__now_ms();
        telemetry__json_init(&j, event);
        telemetry__event_begin_cached(&j, event_id, level, now);
        if (exception_type) {
            telemetry__json_key(&j, "exception");
            telemetry__json_object_begin(&j);
            telemetry__json_key(&j, "values");
            telemetry__json_array_begin(&j);
            telemetry__json_object_begin(&j);
            telemetry__json_key(&j, "type");
            telemetry__json_string_n(&j, exception_type, telemetry__utf8_cut(exception_type, TELEMETRY__EXCEPTION_TYPE_MAX));
            telemetry__json_key(&j, "value"); telemetry__json_string(&j, message);
            telemetry__json_key(&j, "mechanism");
            telemetry__json_object_begin(&j);
            telemetry__json_key(&j, "type"); telemetry__json_string(&j, "generic");
            telemetry__json_key(&j, "handled"); telemetry__json_bool(&j, 1);
            telemetry__json_object_end(&j);
            /* return addresses all: Sentry steps each back into its call instruction */
            if (stack->count) telemetry__json_stacktrace(&j, stack, "all");
            telemetry__json_object_end(&j);
            telemetry__json_array_end(&j);
            telemetry__json_object_end(&j);
            telemetry__json_debug_meta_cached(&j, stack);
        } else {
            telemetry__json_key(&j, "logentry");
            telemetry__json_object_begin(&j);
            telemetry__json_key(&j, "formatted"); telemetry__json_string(&j, message);
            telemetry__json_object_end(&j);
        }
        telemetry__json_object_end(&j);
        rc = telemetry__json_finish(&j);
        if (rc == 0) {
            /* the session rides along when this event changed it, or when it was never sent */
            int with_session = telemetry__st.has_session && (level >= TELEMETRY_LEVEL_ERROR || telemetry__st.session.init_pending);
            if (level >= TELEMETRY_LEVEL_ERROR && telemetry__st.has_session) {
                telemetry__st.session.errors++;
                telemetry__st.session.updated_ms = now;
            }
            rc = telemetry__queue_envelope(event_id, event, with_session ? &telemetry__st.session : NULL);
            if (rc == 0 && with_session) {
                int was_pending = telemetry__st.session.init_pending;
                telemetry__st.session.init_pending = 0;       /* init:true goes out once */
                /* the file only matters if this run never reaches shutdown: written when the
                   session starts and at its first error, not at every error (this is disk I/O on
                   the caller's thread, under the library's lock) */
                telemetry__note_session(was_pending || (level >= TELEMETRY_LEVEL_ERROR && telemetry__st.session.errors == 1));
            }
        }
    }
    if (event->cap > 65536) telemetry__buf_free(event);         /* a huge one is not kept */
    telemetry__unlock(&telemetry__state_lock);
    if (message != small) telemetry__free(message);
    return rc;
}

TELEMETRY_API int telemetry_capture_message(telemetry_level level, const char *fmt, ...) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    va_list ap;
    int rc;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if ((unsigned)level > (unsigned)TELEMETRY_LEVEL_FATAL || !fmt) return TELEMETRY_ERR_INVALID_ARGUMENT;   /* negatives too */
    va_start(ap, fmt);
    rc = telemetry__capture(level, NULL, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

TELEMETRY_API int telemetry_capture_error(const char *type, const char *fmt, ...) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    va_list ap;
    int rc;
    telemetry__stack stack;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!type || !*type || !fmt) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__capture_stack(&stack);             /* innermost frame: the caller's call of this function */
    va_start(ap, fmt);
    rc = telemetry__capture(TELEMETRY_LEVEL_ERROR, type, &stack, fmt, ap);
    va_end(ap);
    return rc;
}

TELEMETRY_API int telemetry_add_breadcrumb(const char *category, const char *fmt, ...) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    va_list ap;
    telemetry__crumb *c;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!fmt) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized || !telemetry__st.enabled) {
        int rc = telemetry__st.initialized ? TELEMETRY_DISABLED : TELEMETRY_ERR_NOT_INITIALIZED;   /* read under the lock */
        telemetry__unlock(&telemetry__state_lock);
        return rc;
    }
    TELEMETRY__CRASH_REFRESH_MODULES();               /* a library dlopen'ed since: in a crash too */
    c = &telemetry__sc.crumbs[telemetry__sc.crumb_next];
    telemetry__sc.crumb_next = (telemetry__sc.crumb_next + 1) % TELEMETRY_MAX_BREADCRUMBS;
    if (telemetry__sc.crumb_count < TELEMETRY_MAX_BREADCRUMBS) telemetry__sc.crumb_count++;
    c->time_ms = telemetry__now_ms();
    telemetry__copy(c->category, sizeof c->category, category ? category : "default");
    va_start(ap, fmt);
    telemetry__vformat_message(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    telemetry__unlock(&telemetry__state_lock);
    return 0;
}

/* Sentry tag rules: key [A-Za-z0-9_.:-]{1,32}, value at most 200 bytes without newlines.
   A NULL value removes the tag. */
TELEMETRY_API int telemetry_set_tag(const char *key, const char *value) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    size_t i;
    int k, rc = 0;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!key || !*key || strlen(key) > 32) return TELEMETRY_ERR_INVALID_ARGUMENT;
    for (i = 0; key[i]; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-'))
            return TELEMETRY_ERR_INVALID_ARGUMENT;
    }
    if (value && (strlen(value) > 200 || strpbrk(value, "\r\n"))) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__lock(&telemetry__state_lock);
    for (k = 0; k < telemetry__sc.tag_count && strcmp(telemetry__sc.tag_key[k], key) != 0; k++) {}
    if (!value) {
        if (k < telemetry__sc.tag_count) {
            telemetry__sc.tag_count--;
            memmove(telemetry__sc.tag_key[k], telemetry__sc.tag_key[k + 1], (size_t)(telemetry__sc.tag_count - k) * sizeof telemetry__sc.tag_key[0]);
            memmove(telemetry__sc.tag_value[k], telemetry__sc.tag_value[k + 1], (size_t)(telemetry__sc.tag_count - k) * sizeof telemetry__sc.tag_value[0]);
        }
    } else if (k == telemetry__sc.tag_count && k == TELEMETRY_MAX_TAGS) {
        rc = TELEMETRY_ERR_NO_SPACE;
    } else {
        if (k == telemetry__sc.tag_count) { telemetry__copy(telemetry__sc.tag_key[k], 33, key); telemetry__sc.tag_count++; }
        telemetry__copy(telemetry__sc.tag_value[k], 201, value);
    }
    telemetry__sc.tag_gen++;
    telemetry__unlock(&telemetry__state_lock);
    return rc;
}

TELEMETRY_API int telemetry_flush(unsigned timeout_ms) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    int rc;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized) rc = TELEMETRY_ERR_NOT_INITIALIZED;
    else if (!telemetry__st.enabled) rc = TELEMETRY_DISABLED;
    else if ((telemetry__activate(), !telemetry__dl.open || !telemetry__may_send_this_run())) rc = 0;   /* held for the next run */
    else rc = telemetry__flush_until(telemetry__monotonic_ms() + (int64_t)timeout_ms);
    telemetry__unlock(&telemetry__state_lock);
    return rc;
}

TELEMETRY_API void telemetry_shutdown(void) {
    TELEMETRY__OFF_IN_FORK_CHILD();
    int64_t deadline;
    if (telemetry__in_metric()) return;
    telemetry__lock(&telemetry__state_lock);
    deadline = telemetry__monotonic_ms() + (int64_t)telemetry__st.shutdown_timeout_ms;
#if defined(TELEMETRY__HAVE_CRASH)
    telemetry__crash_uninstall();              /* before anything it reads is released */
#endif
    if (telemetry__st.initialized && telemetry__st.enabled && telemetry__st.has_session) telemetry__end_session();
    if (telemetry__st.initialized) telemetry__interval_keep();
    TELEMETRY__ATOMIC_STORE(&telemetry__activation_pending, 0);
    telemetry__close_outbox(deadline, telemetry__st.shutdown_timeout_ms ? 2 * TELEMETRY__CANCEL_SLICE_MS : 0);
    telemetry__release_state();
    snprintf(telemetry__reason, sizeof telemetry__reason, "telemetry_shutdown ended telemetry");
    telemetry__unlock(&telemetry__state_lock);
    TELEMETRY__ATOMIC_STORE(&telemetry__live, 0);
}

/* exit() without telemetry_shutdown: the session ends as exited all the same. */
TELEMETRY__INTERNAL void telemetry__at_exit(void) {
    if (telemetry__forked_child || telemetry__dc.no_atexit) return;
    telemetry_shutdown();
}

TELEMETRY_API int telemetry_print_disclosure(FILE *out) {
    TELEMETRY__OFF_IN_FORK_CHILD(TELEMETRY_DISABLED);
    char env_name[128], hostport[300];
    telemetry_metric *m;
    telemetry__buf report, value;
    telemetry__json j;
    size_t width = 0;
    TELEMETRY__NO_REENTRY(TELEMETRY_ERR_REENTRY);
    if (!out) return TELEMETRY_ERR_INVALID_ARGUMENT;
    telemetry__lock(&telemetry__state_lock);
    if (!telemetry__st.initialized) {
        telemetry__unlock(&telemetry__state_lock);
        fprintf(out, "Telemetry: OFF (telemetry_init was not called or failed)\n");
        return TELEMETRY_ERR_NOT_INITIALIZED;
    }
    telemetry__app_env_name(telemetry__st.app_name, env_name, sizeof env_name);
    fprintf(out, "Telemetry for %s %s (telemetry.h %s)\n", telemetry__st.app_name, telemetry__st.app_version, TELEMETRY_VERSION_STRING);
    fprintf(out, "  Status: %s: %s\n", telemetry__st.enabled ? "ON" : "OFF", telemetry__reason_text());
    if (telemetry__st.config_problem[0] && telemetry__st.source != TELEMETRY__SOURCE_CONFIG_UNREADABLE)
        fprintf(out, "  Note: the config file %s\n", telemetry__st.config_problem);
    if (telemetry__st.config_notes[0]) {
        const char *p = telemetry__st.config_notes, *nl;
        for (; p; p = nl ? nl + 1 : NULL) {
            nl = strchr(p, '\n');
            fprintf(out, "  Configuration problem: %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
        }
    }
    if (telemetry__st.debug) fprintf(out, "  Debug: TELEMETRY_DEBUG is set: payloads are printed to stderr, not sent\n");
    if (telemetry__st.purpose) fprintf(out, "\nWhy: %s\n", telemetry__st.purpose);
    else fprintf(out, "\nWhy: to learn how %s is used and where it fails, so that work goes where it helps.\n", telemetry__st.app_name);
    if (telemetry__st.privacy_url) fprintf(out, "Privacy page: %s\n", telemetry__st.privacy_url);
    fprintf(out, "\nUsage report");
    if (telemetry__st.has_usage) {
        telemetry__url_hostport(&telemetry__st.usage, hostport, sizeof hostport);
        fprintf(out, " (sent to %s%s):\n", hostport, telemetry__st.usage.secure ? "" : ", unencrypted");
    } else {
        fprintf(out, " (not sent: no endpoint is configured):\n");
    }
    telemetry__lock(&telemetry__registry_lock);
    for (m = telemetry__metrics; m; m = m->next) if (strlen(m->id) > width) width = strlen(m->id);
    for (m = telemetry__metrics; m; m = m->next) {
        telemetry__buf_init(&value);
        telemetry__json_init(&j, &value);
        telemetry__metric_json(&j, m);
        fprintf(out, "  %-*s  %s\n  %-*s  = %s\n", (int)width, m->id, m->description, (int)width, "", value.data ? value.data : "null");
        telemetry__buf_free(&value);
    }
    fprintf(out, "  Counters (named counts of program events, reset after each report; under \"counters\"):\n");
    telemetry__print_counters(out, 0);
    telemetry__unlock(&telemetry__registry_lock);
    if (TELEMETRY__ATOMIC_LOAD(&telemetry__counters_refused))
        fprintf(out, "  %lld counter calls were refused: more than %d counter names\n",
                (long long)TELEMETRY__ATOMIC_LOAD(&telemetry__counters_refused), TELEMETRY_MAX_COUNTERS);
    if (telemetry__st.report_interval_s)
        fprintf(out, "  Sent at most once every %u seconds; the counts add up in the state folder in between.\n", telemetry__st.report_interval_s);
    if (telemetry__st.has_dsn) {
        telemetry__url_hostport(&telemetry__st.dsn.envelope, hostport, sizeof hostport);
        fprintf(out, "\nError and crash reports (sent to Sentry at %s): the error message or signal, the stack\n"
                     "  addresses and the program's module names, OS name and kernel version, CPU architecture,\n"
                     "  tags and breadcrumbs the program set, and the install id.\n", hostport);
        if (!telemetry__st.no_sessions) fprintf(out, "\nSessions (sent to Sentry at %s): " TELEMETRY__SESSION_TEXT "\n", hostport);
    } else {
        fprintf(out, "\nError and crash reports: not sent (no Sentry DSN is configured).\n");
    }
    fprintf(out, "\nNever collected: " TELEMETRY__NEVER_TEXT ".\n");
    fprintf(out, "\nState folder: %s\n", telemetry__st.state_dir[0] ? telemetry__st.state_dir : "(none: memory only)");
    fprintf(out, "Install id: %s\n", telemetry__st.install_id[0] ? telemetry__st.install_id : "(none: created only on the first run with telemetry on)");
    fprintf(out, "  (random, made on this machine, not derived from it; revoking consent deletes it)\n");
    fprintf(out, "\nTo turn telemetry off, do any one of:\n");
    fprintf(out, "  - set DO_NOT_TRACK=1 in the environment (turns it off for every program that honours it)\n");
    fprintf(out, "  - set %s=1 in the environment\n", env_name);
    if (telemetry__st.config_file) fprintf(out, "  - write \"%s = off\" in %s\n", telemetry__st.config_key, telemetry__st.config_file);
    if (telemetry__st.opt_out_command)
        fprintf(out, "  - run `%s` (this also deletes the install id and every unsent report)\n", telemetry__st.opt_out_command);
    if (telemetry__st.sent_log_cap && telemetry__st.state_dir[0])
        fprintf(out, "\nEverything sent is recorded in %s" TELEMETRY__SEP "sent.log (secrets masked).\n", telemetry__st.state_dir);
    telemetry__buf_init(&report);
    if (telemetry__usage_report(&report, 0, telemetry__usage_dropped(0)) == 0)
        fprintf(out, "\n%s\n%s\n", telemetry__st.enabled ? "The next usage report, exactly as it would be sent:"
                                    : "Telemetry is off, so nothing is sent. Were it on, a usage report would be:", report.data);
    telemetry__buf_free(&report);
    telemetry__unlock(&telemetry__state_lock);
    return 0;
}

#endif /* TELEMETRY_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under the MIT License.
------------------------------------------------------------------------------
Copyright (c) 2026 The telemetry.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
