/* test_consent.c - every consent source, and that "off" writes nothing. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"

static char state_dir[256];

static int start(const char *app, const char *config_file, int opt_in) {
    telemetry_config cfg;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
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
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
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
    CHECK(path_exists(id_path));
    CHECK_STR(read_text(consent_path), "given\n");
    telemetry_shutdown();
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    telemetry_shutdown();
    /* DO_NOT_TRACK is stronger than a consent that was given */
    setenv("DO_NOT_TRACK", "1", 1);
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_DISABLED);
    CHECK_INT(telemetry_set_consent(1), 0);
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
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    CHECK_INT(telemetry_init(NULL), TELEMETRY_ERR_INVALID_ARGUMENT);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);      /* no app_name */
    cfg.app_name = "has space";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    cfg.app_name = "ok";
    cfg.environment = "a/b";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_CONFIG);
    cfg.environment = NULL;
    cfg.usage_url = "ftp://x/y";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_URL);
    cfg.usage_url = NULL;
    cfg.sentry_dsn = "https://short@o1.ingest.sentry.io/42";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_DSN);
    cfg.sentry_dsn = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/notanumber";
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_ERR_INVALID_DSN);
    CHECK_INT(telemetry_enabled(), 0);
    CHECK_INT(telemetry_report_usage(), TELEMETRY_ERR_NOT_INITIALIZED);
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_ERR_NOT_INITIALIZED);
    telemetry_shutdown();                                   /* harmless without init */
    fresh_state_dir();
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_OK);
    CHECK_INT(start("myapp", NULL, 0), TELEMETRY_ERR_ALREADY_INITIALIZED);
    telemetry_shutdown();
}

int main(void) {
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
    return testlib_report("test_consent");
}
