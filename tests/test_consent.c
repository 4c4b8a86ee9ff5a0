/* test_consent.c - every consent source, and that "off" writes nothing. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <signal.h>

static char state_dir[256];

static int start(const char *app, const char *config_file, int opt_in) {
    telemetry_config cfg;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = app;
    cfg.state_dir = state_dir;
    cfg.config_file = config_file;
    cfg.opt_in = opt_in;
    rc = telemetry_init(&cfg);
    telemetry_count("work", 1);      /* the run's first work makes the state (nothing when off) */
    return rc;
}

static void fresh_state_dir(void) {
    snprintf(state_dir, sizeof state_dir, "%s/state", make_temp_dir());
}

static void test_default_on(void) {
    fresh_state_dir();
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    CHECK_INT(telemetry_enabled(), 1);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "Status: ON: no opt-out is set") != NULL);
    telemetry_shutdown();
    CHECK(path_exists(state_dir));
}

/* Each environment variable value: explicit false keeps telemetry on, anything else turns it off
   and then nothing at all is created. */
static void test_env(const char *var, const char *value, int want_on) {
    fresh_state_dir();
    setenv(var, value, 1);
    CHECK_INT(start("my-app_x", NULL, 0), want_on ? TELEMETRY_OK : TELEMETRY_DISABLED);
    CHECK_INT(telemetry_enabled(), want_on);
    CHECK_INT(telemetry_report_usage(), want_on ? TELEMETRY_ERR_NOT_CONFIGURED : TELEMETRY_DISABLED);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "x"), want_on ? TELEMETRY_ERR_NOT_CONFIGURED : TELEMETRY_DISABLED);
    if (!want_on) {
        const char *d = capture_disclosure(telemetry_print_disclosure);
        CHECK(strstr(d, var) != NULL);
        CHECK(strstr(d, "Status: OFF") != NULL);
    }
    telemetry_shutdown();
    CHECK_INT(path_exists(state_dir), want_on);
    unsetenv(var);
}

static void test_config_file(const char *text, const char *key, int want_on) {
    char path[512];
    telemetry_config cfg;
    fresh_state_dir();
    snprintf(path, sizeof path, "%s.conf", state_dir);
    write_text(path, text);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "myapp";
    cfg.state_dir = state_dir;
    cfg.config_file = path;
    cfg.config_key = key;
    CHECK_INT(telemetry_init(&cfg), want_on ? TELEMETRY_OK : TELEMETRY_DISABLED);
    telemetry_count("work", 1);
    if (telemetry_enabled() != want_on) fprintf(stderr, "  config text was: [%s]\n", text);
    CHECK_INT(telemetry_enabled(), want_on);
    telemetry_shutdown();
    CHECK_INT(path_exists(state_dir), want_on);
}

static void test_config_unreadable(void) {
    char path[512];
    const char *d;
    fresh_state_dir();
    snprintf(path, sizeof path, "%s.dir", state_dir);
    mkdir(path, 0700);                       /* a folder where a file should be: cannot be read */
    CHECK_INT(start("myapp", path, 0), TELEMETRY_DISABLED);
    d = capture_disclosure(telemetry_print_disclosure);
    CHECK(strstr(d, "could not be read") != NULL);
    telemetry_shutdown();
    CHECK(!path_exists(state_dir));
    /* a missing config file is normal: no opinion */
    snprintf(path, sizeof path, "%s.missing", state_dir);
    CHECK_INT(start("myapp", path, 0), TELEMETRY_OK);
    telemetry_shutdown();
}

static void test_revoke_and_give(void) {
    char id_path[512], consent_path[512], tls_path[512];
    fresh_state_dir();
    snprintf(id_path, sizeof id_path, "%s/install_id", state_dir);
    snprintf(consent_path, sizeof consent_path, "%s/consent", state_dir);
    snprintf(tls_path, sizeof tls_path, "%s/tls_sessions", state_dir);
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    CHECK(path_exists(id_path));
    CHECK_INT(telemetry__write_file_atomic(tls_path, "x\n", 2, 0), 0);   /* as a TLS connection leaves it */
    CHECK_INT(telemetry_set_consent(0), 0);
    CHECK_INT(telemetry_enabled(), 0);
    CHECK(!path_exists(id_path));                          /* revoking deletes the install id */
    CHECK(!path_exists(tls_path));                         /* ... and the kept TLS sessions */
    CHECK_STR(read_text(consent_path), "revoked\n");
    CHECK_INT(telemetry_report_usage(), TELEMETRY_DISABLED);
    telemetry_shutdown();
    /* the next run remembers */
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_DISABLED);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "consent was revoked") != NULL);
    CHECK(!path_exists(id_path));
    CHECK_INT(telemetry_set_consent(1), 0);
    CHECK_INT(telemetry_enabled(), 1);
    telemetry_count("work", 1);                              /* the first work makes the id */
    CHECK(path_exists(id_path));
    CHECK_STR(read_text(consent_path), "given\n");
    telemetry_shutdown();
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    telemetry_shutdown();
    /* DO_NOT_TRACK is stronger than a consent that was given: set_consent(1) says so */
    setenv("DO_NOT_TRACK", "1", 1);
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_DISABLED);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_GIVEN);        /* recorded, yet off */
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_DISABLED);
    CHECK_STR(telemetry_status_reason(), "DO_NOT_TRACK=1 in the environment");
    CHECK_INT(telemetry_enabled(), 0);
    telemetry_shutdown();
    unsetenv("DO_NOT_TRACK");
}

static void test_opt_in(void) {
    char path[512];
    fresh_state_dir();
    CHECK_INT(start("myapp", NULL, 1), TELEMETRY_DISABLED);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "consent was not given") != NULL);
    telemetry_shutdown();
    CHECK(!path_exists(state_dir));                       /* nothing written while waiting */
    CHECK_INT(start("myapp", NULL, 1), TELEMETRY_DISABLED);
    CHECK_INT(telemetry_set_consent(1), 0);
    CHECK_INT(telemetry_enabled(), 1);
    telemetry_shutdown();
    CHECK_INT(start("myapp", NULL, 1), TELEMETRY_OK);     /* remembered */
    telemetry_shutdown();
    /* an explicit "on" in the app's config file counts as consent in opt-in mode */
    fresh_state_dir();
    snprintf(path, sizeof path, "%s.conf", state_dir);
    write_text(path, "telemetry = on\n");
    CHECK_INT(start("myapp", path, 1), TELEMETRY_OK);
    telemetry_shutdown();
}

static void test_invalid_config(void) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    CHECK_INT(telemetry_init(NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);      /* no app_name */
    cfg.app_name = "has space";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    cfg.app_name = "ok";
    cfg.environment = "a/b";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    CHECK(strstr(telemetry_status_reason(), "environment must be") != NULL);   /* says why */
    CHECK_INT(telemetry_enabled(), 0);
    CHECK_INT(telemetry_report_usage(), TELEMETRY_ERR_NOT_INITIALIZED);
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_ERR_NOT_INITIALIZED);
    telemetry_shutdown();                                   /* harmless without init */
    fresh_state_dir();
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_ERR_ALREADY_INITIALIZED);
    telemetry_shutdown();
}

/* ---- the hardening of issue 9 and the consent queries of issue 13 ------------------------- */

static char cfg_path[512];

/* Writes n bytes (NULs allowed) as the config file and starts; the caller shuts down. */
static int start_with_config(const char *data, size_t n, const char *section, int opt_in) {
    telemetry_config cfg;
    FILE *f;
    int rc;
    fresh_state_dir();
    snprintf(cfg_path, sizeof cfg_path, "%s.conf", state_dir);
    f = fopen(cfg_path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "myapp";
    cfg.state_dir = state_dir;
    cfg.config_file = cfg_path;
    cfg.config_section = section;
    cfg.opt_in = opt_in;
    rc = telemetry_init(&cfg);
    telemetry_count("work", 1);      /* the run's first work makes the state (nothing when off) */
    return rc;
}
#define CONFIG_CASE(lit, section, opt_in, want) do { \
    CHECK_INT(start_with_config(lit, sizeof lit - 1, section, opt_in), want); \
    if (telemetry_enabled() != ((want) == TELEMETRY_OK)) fprintf(stderr, "  reason: %s\n", telemetry_status_reason()); \
    telemetry_shutdown(); \
    CHECK_INT(path_exists(state_dir), (want) == TELEMETRY_OK); \
} while (0)

/* F10 (a-d) and F17: what the config-file parser used to miss. */
static void test_config_hardening(void) {
    char *big;
    size_t n;
    CONFIG_CASE("\xef\xbb\xbftelemetry = off\n", NULL, 0, TELEMETRY_DISABLED);           /* UTF-8 BOM */
    CONFIG_CASE("telemetry = off\r\nx = 1\r\n", NULL, 0, TELEMETRY_DISABLED);             /* CRLF */
    CONFIG_CASE("telemetry = off\n[plugin]\ntelemetry = on\n", NULL, 0, TELEMETRY_DISABLED);
    CONFIG_CASE("[plugins.foo]\ntelemetry = off\n", NULL, 0, TELEMETRY_DISABLED);          /* a false anywhere */
    CONFIG_CASE("telemetry = off\n[myapp]\ntelemetry = on\n", "myapp", 0, TELEMETRY_OK);   /* the app's own section */
    CONFIG_CASE("telemetry = on\n[MyApp]\ntelemetry = off\n", "myapp", 0, TELEMETRY_DISABLED);
    CONFIG_CASE("a = 1\0\ntelemetry = off\n", NULL, 0, TELEMETRY_DISABLED);                /* after a NUL byte */
    CONFIG_CASE("x = \0\0\0 telemetry = off\n", NULL, 0, TELEMETRY_OK);                     /* not a key line */
    CONFIG_CASE("t\0e\0l\0e\0m\0e\0t\0r\0y\0 \0=\0 \0o\0n\0\n\0", NULL, 0, TELEMETRY_DISABLED);   /* UTF-16 */
    CHECK(strstr(telemetry_status_reason(), "telemetry_shutdown") != NULL);
    CHECK_INT(start_with_config("\xff\xfet\0=\0o\0n\0", 10, NULL, 0), TELEMETRY_DISABLED); /* UTF-16 with BOM */
    CHECK(strstr(telemetry_status_reason(), "not UTF-8 text") != NULL);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "Status: OFF: the config file") != NULL);
    telemetry_shutdown();
    /* a key after a 2 MB line (used to be read up to 1 MiB only) */
    n = 2000000;
    big = (char *)malloc(n + 64);
    memcpy(big, "x = ", 4);
    memset(big + 4, 'a', n - 4);
    n += (size_t)sprintf(big + n, "\ntelemetry = off\n");
    CHECK_INT(start_with_config(big, n, NULL, 0), TELEMETRY_DISABLED);
    CHECK_STR(telemetry_status_reason() + strlen(telemetry_status_reason()) - strlen(cfg_path), cfg_path);
    CHECK(strncmp(telemetry_status_reason(), "telemetry = off in /", 20) == 0);
    telemetry_shutdown();
    free(big);
    /* larger than 16 MiB: refused as unreadable (off), not read for ever */
    CHECK_INT(start_with_config("x = 1\n", 6, NULL, 0), TELEMETRY_OK);
    telemetry_shutdown();
    CHECK(truncate(cfg_path, (off_t)17 << 20) == 0);
    {
        telemetry_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.app_name = "myapp"; cfg.no_notice = 1; cfg.state_dir = state_dir; cfg.config_file = cfg_path;
        CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);
        CHECK(strstr(telemetry_status_reason(), "larger than 16 MiB") != NULL);
        telemetry_shutdown();
    }
    /* F17: in opt-in mode a plugin's section never gives consent; the app's own section does */
    CONFIG_CASE("[plugins.uploader]\ntelemetry = on\n", NULL, 1, TELEMETRY_DISABLED);
    CONFIG_CASE("[plugins.uploader]\ntelemetry = on\n", "myapp", 1, TELEMETRY_DISABLED);
    CHECK_INT(start_with_config("[myapp]\ntelemetry = on\n", 23, "myapp", 1), TELEMETRY_OK);
    CHECK(strstr(telemetry_status_reason(), "consent was given in ") != NULL);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_UNKNOWN);    /* no set_consent call */
    telemetry_shutdown();
    CONFIG_CASE("telemetry = on\n", NULL, 1, TELEMETRY_OK);                                 /* top level: the app's */
}

/* F10 (e): the environment's values, exactly as documented. */
static void test_env_values(void) {
    test_env("DO_NOT_TRACK", "disabled", 0);
    test_env("DO_NOT_TRACK", "disable", 0);
    test_env("DO_NOT_TRACK", " ", 1);          /* surrounding spaces trimmed: empty */
    test_env("DO_NOT_TRACK", " 1 ", 0);
    test_env("DO_NOT_TRACK", "\tfalse ", 1);
    test_env("DO_NOT_TRACK", "never", 0);
    test_env("MY_APP_X_NO_TELEMETRY", "disabled", 0);
    test_env("MY_APP_X_NO_TELEMETRY", " off", 1);
}

/* Issue 13 item 2: the consent state and the sentence on what decided. */
static void test_consent_state_and_reason(void) {
    char path[512];
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_UNKNOWN);
    fresh_state_dir();
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    CHECK_STR(telemetry_status_reason(), "no opt-out is set");
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_UNKNOWN);
    CHECK_INT(telemetry_set_consent(0), 0);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_REVOKED);
    CHECK_STR(telemetry_status_reason(), "consent was revoked with telemetry_set_consent(0)");
    telemetry_shutdown();
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_UNKNOWN);   /* not initialised */
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_DISABLED);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_REVOKED);   /* remembered */
    CHECK_STR(telemetry_status_reason(), "consent was revoked with telemetry_set_consent(0) (recorded in the state folder)");
    CHECK_INT(telemetry_set_consent(1), 0);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_GIVEN);
    CHECK_STR(telemetry_status_reason(), "consent was given with telemetry_set_consent(1)");
    telemetry_shutdown();
    setenv("MY_APP_X_NO_TELEMETRY", "1", 1);
    CHECK_INT(start("my-app_x", NULL, 0), TELEMETRY_DISABLED);
    CHECK_STR(telemetry_status_reason(), "MY_APP_X_NO_TELEMETRY=1 in the environment");
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_DISABLED);          /* an opt-out is in force */
    CHECK_INT(telemetry_enabled(), 0);
    telemetry_shutdown();
    unsetenv("MY_APP_X_NO_TELEMETRY");
    snprintf(path, sizeof path, "%s.conf", state_dir);
    write_text(path, "telemetry: no\n");
    CHECK_INT(start("myapp", path, 0), TELEMETRY_DISABLED);
    CHECK(strncmp(telemetry_status_reason(), "telemetry = no in ", 18) == 0);
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_DISABLED);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "Status: OFF: telemetry = no in ") != NULL);
    telemetry_shutdown();
    fresh_state_dir();
    CHECK_INT(start("myapp", NULL, 1), TELEMETRY_DISABLED);
    CHECK(strstr(telemetry_status_reason(), "consent was not given") != NULL);
    CHECK_INT(telemetry_set_consent(1), 0);                            /* opt-in is not an opt-out */
    telemetry_shutdown();
}

/* F1: consent given at run time after a disabled init opens what init would have opened; the
   sends that used to dereference a NULL outbox work. */
static void test_consent_at_run_time(void) {
    telemetry_config cfg;
#if !defined(_WIN32)                 /* a POSIX crash handler; Windows has its own (issue 12) */
    struct sigaction sa;
#endif
    char path[600];
    int saved;
    fresh_state_dir();
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "optin";
    cfg.no_notice = 1;
    cfg.opt_in = 1;
    cfg.state_dir = state_dir;
    cfg.usage_url = "http://127.0.0.1:9/usage.json";
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
    cfg.shutdown_timeout_ms = 200;
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);
#if !defined(_WIN32)
    sigaction(SIGSEGV, NULL, &sa);
    CHECK(sa.sa_handler == SIG_DFL);                                  /* off: no crash handler */
#endif
    CHECK_INT(telemetry_set_consent(1), 0);
    CHECK_INT(telemetry_enabled(), 1);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "hello"), 0);
    CHECK_INT(telemetry_capture_error("E", "boom"), 0);
#if !defined(_WIN32)
    sigaction(SIGSEGV, NULL, &sa);
    CHECK(sa.sa_handler != SIG_DFL);                                  /* the crash handler is on */
#endif
    snprintf(path, sizeof path, "%s/session", state_dir);
    CHECK(path_exists(path));                                         /* the session started */
    saved = stderr_to_file("/dev/null");
    telemetry_shutdown();
    stderr_restore(saved);
    CHECK(outbox_files(state_dir) >= 3);                              /* kept for the next run */
}

/* Issue 13 item 8: a bad DSN or URL is loud and turns off only its own part. */
static void test_loud_config(void) {
    char log_path[600];
    telemetry_config cfg;
    const char *text, *d;
    int saved;
    fresh_state_dir();
    snprintf(log_path, sizeof log_path, "%s.stderr", state_dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "myapp";
    cfg.no_notice = 1;
    cfg.state_dir = state_dir;
    cfg.usage_url = "http://127.0.0.1:9/usage.json";
    cfg.sentry_dsn = "https://short@o1.ingest.sentry.io/42";
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    saved = stderr_to_file(log_path);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    stderr_restore(saved);
    text = read_text(log_path);
    CHECK(strncmp(text, "telemetry: invalid sentry_dsn", 29) == 0);
    CHECK(strchr(text, '\n') == text + strlen(text) - 1);                /* one line */
    CHECK_INT(telemetry_report_usage(), 0);                              /* usage reports still go */
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "x"), TELEMETRY_ERR_INVALID_DSN);
    d = capture_disclosure(telemetry_print_disclosure);
    CHECK(strstr(d, "Configuration problem: invalid sentry_dsn") != NULL);
    telemetry_shutdown();
    /* and the other way round */
    cfg.usage_url = "ftp://x/y";
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
    cfg.no_crash_handler = 1;
    saved = stderr_to_file(log_path);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    stderr_restore(saved);
    CHECK(strncmp(read_text(log_path), "telemetry: invalid usage_url", 28) == 0);
    CHECK_INT(telemetry_report_usage(), TELEMETRY_ERR_INVALID_URL);
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "x"), 0);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "Configuration problem: invalid usage_url") != NULL);
    telemetry_shutdown();
    /* an invalid app name: init fails, and says so */
    cfg.app_name = "has space";
    saved = stderr_to_file(log_path);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    stderr_restore(saved);
    CHECK(strncmp(read_text(log_path), "telemetry: invalid configuration: app_name", 42) == 0);
    CHECK(strstr(telemetry_status_reason(), "app_name") != NULL);
}

int main(void) {
    CHECK_STR(telemetry_status_reason(), "telemetry_init was not called");
    unsetenv("DO_NOT_TRACK");
    unsetenv("MY_APP_X_NO_TELEMETRY");
    unsetenv("TELEMETRY_DEBUG");
    test_default_on();
    test_env("DO_NOT_TRACK", "1", 0);
    test_env("DO_NOT_TRACK", "yes", 0);
    test_env("DO_NOT_TRACK", "true", 0);
    test_env("DO_NOT_TRACK", "0", 1);
    test_env("DO_NOT_TRACK", "false", 1);
    test_env("DO_NOT_TRACK", "No", 1);
    test_env("DO_NOT_TRACK", "off", 1);
    test_env("DO_NOT_TRACK", "", 1);
    test_env("MY_APP_X_NO_TELEMETRY", "1", 0);
    test_env("MY_APP_X_NO_TELEMETRY", "0", 1);
    test_config_file("telemetry = off\n", NULL, 0);
    test_config_file("telemetry=false", NULL, 0);
    test_config_file("telemetry: no\n", NULL, 0);
    test_config_file("[general]\ncolor = true\n  telemetry = \"false\"   # keep quiet\n", NULL, 0);
    test_config_file("# YAML\nother: 1\ntelemetry: 'off'\r\n", NULL, 0);
    test_config_file("\"telemetry\": false,\n", NULL, 0);
    test_config_file("telemetry = 0 ; ini comment\n", NULL, 0);
    test_config_file("Telemetry = Off\n", NULL, 0);
    test_config_file("# telemetry = off\n", NULL, 1);              /* a comment */
    test_config_file("; telemetry = off\n", NULL, 1);
    test_config_file("telemetry_level = off\n", NULL, 1);          /* another key */
    test_config_file("telemetry = on\n", NULL, 1);
    test_config_file("telemetry = off\ntelemetry = on\n", NULL, 1); /* the last one wins */
    test_config_file("send_stats = no\n", "send_stats", 0);
    test_config_file("telemetry = no\n", "send_stats", 1);
    test_config_unreadable();
    test_revoke_and_give();
    test_opt_in();
    test_invalid_config();
    test_config_hardening();
    test_env_values();
    test_consent_state_and_reason();
    test_consent_at_run_time();
    test_loud_config();
    return testlib_report("test_consent");
}
