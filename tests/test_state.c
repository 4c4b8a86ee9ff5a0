/* test_state.c - the state folder, the install id, atomic writes, the debug print. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>

static int init_app(const char *state_dir, const char *usage_url) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "stateapp";
    cfg.state_dir = state_dir;
    cfg.usage_url = usage_url;
    return telemetry_init(&cfg);
}

static void test_default_folder(void) {
    char buf[1024], *home = make_temp_dir(), *xdg = make_temp_dir();
    struct stat st;
    telemetry_config cfg;
    setenv("HOME", home, 1);
    unsetenv("XDG_STATE_HOME");
    telemetry__default_state_dir("app1", buf, sizeof buf);
    CHECK_STR(buf + strlen(home), "/.local/state/app1");
    setenv("XDG_STATE_HOME", xdg, 1);
    telemetry__default_state_dir("app1", buf, sizeof buf);
    CHECK(strncmp(buf, xdg, strlen(xdg)) == 0);
    setenv("XDG_STATE_HOME", "relative/not/allowed", 1);      /* the spec wants absolute paths */
    telemetry__default_state_dir("app1", buf, sizeof buf);
    CHECK_STR(buf + strlen(home), "/.local/state/app1");
    unsetenv("XDG_STATE_HOME");
    /* created on the first enabled run, owner-only, with missing parents */
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "app1";
    CHECK_INT(telemetry_init(&cfg), 0);
    telemetry_count("clicks", 0);                                  /* the run's first work makes it */
    telemetry_shutdown();
    snprintf(buf, sizeof buf, "%s/.local/state/app1", home);
    CHECK(stat(buf, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(buf, sizeof buf, "%s/.local/state/app1/install_id", home);
    CHECK(stat(buf, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* no HOME: memory only, still works */
    unsetenv("HOME");
    memset(&cfg, 0, sizeof cfg);
    cfg.no_sidecar = 1;          /* in-process observation: the log, flush, the worker */
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "app2";
    CHECK_INT(telemetry_init(&cfg), 0);
    telemetry_count("clicks", 0);
    CHECK_INT((int)strlen(telemetry__st.install_id), 32);
    CHECK(strstr(capture_disclosure(telemetry_print_disclosure), "State folder: (none: memory only)") != NULL);
    telemetry_shutdown();
    setenv("HOME", home, 1);
}

static void test_install_id(void) {
    char *dir = make_temp_dir(), path[512], first[33];
    int i;
    snprintf(path, sizeof path, "%s/install_id", dir);
    CHECK_INT(init_app(dir, NULL), 0);
    telemetry_count("clicks", 0);                                   /* the run's first work makes the id */
    CHECK_INT(telemetry__st.first_run, 1);
    CHECK(telemetry__is_hex_id(telemetry__st.install_id));
    CHECK_INT(telemetry__st.install_id[12], '4');                  /* UUID v4 form */
    strcpy(first, telemetry__st.install_id);
    CHECK_STR(read_text(path), first);
    telemetry_shutdown();
    CHECK_INT(init_app(dir, NULL), 0);
    telemetry_count("clicks", 0);
    CHECK_INT(telemetry__st.first_run, 0);
    CHECK_STR(telemetry__st.install_id, first);                    /* stable across runs */
    telemetry_shutdown();
    write_text(path, "garbage\n");                                 /* damaged: replaced */
    CHECK_INT(init_app(dir, NULL), 0);
    telemetry_count("clicks", 0);
    CHECK(telemetry__is_hex_id(telemetry__st.install_id) && strcmp(telemetry__st.install_id, first) != 0);
    CHECK_INT(telemetry__st.first_run, 1);
    telemetry_shutdown();
    /* ids differ between installs */
    for (i = 0; i < 3; i++) {
        char *other = make_temp_dir();
        CHECK_INT(init_app(other, NULL), 0);
        telemetry_count("clicks", 0);
        CHECK(strcmp(telemetry__st.install_id, first) != 0);
        telemetry_shutdown();
        rm_tree(other);
    }
    /* a state folder that cannot be created: memory only, not fatal */
    CHECK_INT(init_app("/proc/definitely/not/writable", NULL), 0);
    telemetry_count("clicks", 0);
    CHECK(telemetry__is_hex_id(telemetry__st.install_id));
    telemetry_shutdown();
    rm_tree(dir);
}

/* A writer killed at random moments never leaves a torn file: the target always holds one whole
   version, and the next write succeeds over whatever temp file was left. */
static void test_atomic_write(void) {
    char *dir = make_temp_dir(), path[512];
    static char a[200000], b[200000];
    int round, torn = 0, whole = 0;
    snprintf(path, sizeof path, "%s/file", dir);
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    CHECK_INT(telemetry__write_file_atomic(path, a, sizeof a, 1), 0);
    for (round = 0; round < 20; round++) {
        pid_t pid = fork();
        int status;
        if (pid == 0) {
            for (;;) { telemetry__write_file_atomic(path, (round & 1) ? a : b, sizeof a, 1); }
        }
        { struct timespec ts; ts.tv_sec = 0; ts.tv_nsec = 1000000L + round * 700000L; nanosleep(&ts, NULL); }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        {
            char *text = NULL;
            size_t len = 0, i;
            int err;
            if (telemetry__read_file(path, sizeof a + 10, &text, &len, &err) == 0 && len == sizeof a) {
                for (i = 1; i < len && text[i] == text[0]; i++) {}
                if (i == len) whole++; else torn++;
            } else torn++;
            telemetry__free(text);
        }
    }
    CHECK_INT(torn, 0);
    CHECK_INT(whole, 20);
    CHECK_INT(telemetry__write_file_atomic(path, "new", 3, 1), 0);
    CHECK_STR(read_text(path), "new");
    CHECK_INT(telemetry__write_file_atomic("/proc/nope/file", "x", 1, 1), TELEMETRY_ERR_IO);
    rm_tree(dir);
}

/* TELEMETRY_DEBUG=1 prints the whole report to stderr instead of sending it. */
static void test_debug_print(void) {
    char *dir = make_temp_dir(), errpath[512];
    const char *text;
    int saved;
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    setenv("TELEMETRY_DEBUG", "1", 1);
    CHECK_INT(init_app(dir, "https://db.example/usage.json?auth=secret"), 0);
    telemetry_count("clicks", 3);
    saved = stderr_to_file(errpath);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_flush(5000), 0);                            /* the sender prints it */
    stderr_restore(saved);
    text = read_text(errpath);
    CHECK(strstr(text, "not sending this usage report to db.example") != NULL);
    CHECK(strstr(text, "secret") == NULL);                          /* never the query string */
    CHECK(strstr(text, "{\"app\":\"stateapp\",\"version\":\"0\",\"library\":\"" TELEMETRY_VERSION_STRING "\",\"install_id\":\"") != NULL);
    CHECK(strstr(text, "\"counters\":{\"clicks\":3}}") != NULL);
    telemetry_shutdown();
    unsetenv("TELEMETRY_DEBUG");
    rm_tree(dir);
}

int main(void) {
    unsetenv("DO_NOT_TRACK");
    unsetenv("TELEMETRY_DEBUG");
    test_default_folder();
    test_install_id();
    test_atomic_write();
    test_debug_print();
    return testlib_report("test_state");
}
