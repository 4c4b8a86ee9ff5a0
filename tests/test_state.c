/* test_state.c - the state folder, the install id, atomic writes, the debug print. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/resource.h>

static int init_app(const char *state_dir, const char *usage_url) {
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
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

/* F15: under a file size limit (`ulimit -f`) a write that would pass it is refused, never a
   SIGXFSZ that ends the program; a run that queues and keeps a big payload exits normally. */
static void test_file_size_limit(void) {
    char *dir = make_temp_dir(), path[512];
    pid_t pid;
    int status = 0;
    snprintf(path, sizeof path, "%s/big", dir);
    pid = fork();
    if (pid == 0) {
        static char big[8192];
        struct rlimit rl;
        char msg[3000];
        int rc;
        rl.rlim_cur = rl.rlim_max = 4096;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        memset(big, 'x', sizeof big);
        if (telemetry__write_file_atomic(path, big, sizeof big, 0) != TELEMETRY_ERR_IO) _exit(11);
        if (telemetry__write_file_atomic(path, big, 100, 0) != 0) _exit(12);     /* under the limit: written */
        {
            telemetry_config cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.no_notice = 1;
            cfg.app_name = "stateapp";
            cfg.state_dir = dir;
            cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:1/1";   /* refused */
            cfg.shutdown_timeout_ms = 300;
            if ((rc = telemetry_init(&cfg)) != 0) {
                fprintf(stderr, "init: %s (%s)\n", telemetry_result_string(rc), telemetry_status_reason());
                _exit(13);
            }
        }
        memset(msg, 'm', sizeof msg - 1);
        msg[sizeof msg - 1] = 0;
        for (rc = 0; rc < 5; rc++) telemetry_capture_message(TELEMETRY_LEVEL_ERROR, "%s", msg);
        telemetry_shutdown();                    /* what could not be sent is kept: more than 4 KiB */
        _exit(0);
    }
    CHECK(pid > 0);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    if (WIFSIGNALED(status)) fprintf(stderr, "killed by signal %d\n", WTERMSIG(status));
    CHECK_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    CHECK_STR(read_text(path), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
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

/* F6: a FIFO in place of the config file or of any state file never blocks telemetry_init (a
   hang here is ended by the alarm, which kills the test: a failure). */
static void test_fifos(void) {
    char *dir = make_temp_dir(), state[512], path[600];
    telemetry_config cfg;
    static const char *const files[] = { "install_id", "consent", "session" };
    size_t i;
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(path, sizeof path, "%s/app.conf", dir);
    CHECK(mkfifo(path, 0600) == 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "stateapp";
    cfg.no_notice = 1;
    cfg.state_dir = state;
    cfg.config_file = path;
    alarm(20);
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);             /* unreadable: off */
    CHECK(strstr(telemetry_status_reason(), "could not be read (not a regular file)") != NULL);
    telemetry_shutdown();
    CHECK(!path_exists(state));
    cfg.config_file = NULL;
    cfg.sentry_dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
    cfg.no_crash_handler = 1;
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    CHECK(mkdir(state, 0700) == 0);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", state, files[i]);
        CHECK(mkfifo(path, 0600) == 0);
    }
    setenv("DO_NOT_TRACK", "1", 1);                                   /* the consent file is read even then */
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);
    CHECK_INT(telemetry_consent_state(), TELEMETRY_CONSENT_UNKNOWN);
    telemetry_shutdown();
    unsetenv("DO_NOT_TRACK");
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);                    /* install_id and session too */
    CHECK_INT(telemetry_capture_message(TELEMETRY_LEVEL_INFO, "work"), 0);   /* the first work reads them */
    CHECK(telemetry__is_hex_id(telemetry__st.install_id));
    telemetry_shutdown();
    alarm(0);
    rm_tree(dir);
}

/* F9: a state folder that is not the user's own is not used (telemetry off, nothing written);
   no symlink inside one is followed. */
static void test_unsafe_state_dir(void) {
    char *dir = make_temp_dir(), state[512], path[600], target[600], link[600];
    snprintf(state, sizeof state, "%s/state", dir);
    CHECK(mkdir(state, 0700) == 0);
    CHECK(chmod(state, 0777) == 0);                                   /* world-writable: refused */
    CHECK_INT(init_app(state, NULL), TELEMETRY_DISABLED);
    CHECK(strstr(telemetry_status_reason(), "others can write to it") != NULL);
    CHECK_INT(telemetry_set_consent(1), TELEMETRY_DISABLED);          /* nothing is written there */
    CHECK_INT(telemetry_set_consent(0), TELEMETRY_ERR_IO);
    CHECK_INT(telemetry_enabled(), 0);
    telemetry_shutdown();
    CHECK_INT(count_entries(state), 0);
    CHECK(chmod(state, 0720) == 0);                                   /* group-writable too */
    CHECK_INT(init_app(state, NULL), TELEMETRY_DISABLED);
    telemetry_shutdown();
    CHECK(chmod(state, 0700) == 0);
    if (geteuid() == 0) {                                             /* another user's folder */
        CHECK(chown(state, 1000, 1000) == 0);
        CHECK_INT(init_app(state, NULL), TELEMETRY_DISABLED);
        CHECK(strstr(telemetry_status_reason(), "belongs to another user") != NULL);
        telemetry_shutdown();
        CHECK_INT(count_entries(state), 0);
        CHECK(chown(state, 0, 0) == 0);
    } else {
        printf("test_state: not root: the other-owner case is covered by the mode cases only\n");
    }
    snprintf(link, sizeof link, "%s/state-link", dir);                 /* the folder itself a symlink */
    CHECK(symlink(state, link) == 0);
    CHECK_INT(init_app(link, NULL), TELEMETRY_DISABLED);
    CHECK(strstr(telemetry_status_reason(), "symlink") != NULL);
    telemetry_shutdown();
    CHECK_INT(count_entries(state), 0);
    /* a symlinked install_id or consent inside a good folder is not followed */
    snprintf(target, sizeof target, "%s/planted", dir);
    write_text(target, "0123456789abcdef0123456789abcdef\n");
    snprintf(path, sizeof path, "%s/install_id", state);
    CHECK(symlink(target, path) == 0);
    snprintf(link, sizeof link, "%s/revoked", dir);
    write_text(link, "revoked\n");
    snprintf(path, sizeof path, "%s/consent", state);
    CHECK(symlink(link, path) == 0);
    CHECK_INT(init_app(state, NULL), TELEMETRY_OK);                   /* the planted "revoked" is not read */
    telemetry_count("work", 1);
    CHECK(telemetry__is_hex_id(telemetry__st.install_id));
    CHECK(strcmp(telemetry__st.install_id, "0123456789abcdef0123456789abcdef") != 0);
    telemetry_shutdown();
    CHECK_STR(read_text(target), "0123456789abcdef0123456789abcdef\n");   /* untouched */
    {
        struct stat st;
        snprintf(path, sizeof path, "%s/install_id", state);
        CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));           /* replaced, not written through */
    }
    rm_tree(dir);
}

/* F24a: a state_dir longer than the library's limit is refused, never cut to another folder. */
static void test_long_state_dir(void) {
    char *dir = make_temp_dir(), path[1200];
    size_t n = strlen(dir);
    memcpy(path, dir, n);
    path[n++] = '/';
    while (n < 1100) path[n++] = 'a';
    memcpy(path + n, "-state", 7);
    CHECK_INT(init_app(path, NULL), TELEMETRY_ERR_INVALID_CONFIG);
    CHECK(strstr(telemetry_status_reason(), "state_dir is longer than 1023 bytes") != NULL);
    telemetry_shutdown();
    CHECK_INT(count_entries(dir), 0);                                 /* no truncated folder */
    rm_tree(dir);
}

/* F7: module and program paths never name the user, whatever HOME says. */
static const char *redacted(const char *path) {
    static char out[600];
    telemetry__redact_home(path, out, sizeof out);
    return out;
}
static void test_redact_home(void) {
    static telemetry__module mods[256];
    char *dir = make_temp_dir(), link[600], cwd[1024], *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    int n, i, found = 0;
    struct passwd *pw = getpwuid(geteuid());
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    /* HOME is a symlink to the folder the program lives under (NFS and automount homes) */
    snprintf(link, sizeof link, "%s/alice-link", dir);
    CHECK(symlink(cwd, link) == 0);                         /* removed before rm_tree, which would follow it */
    setenv("HOME", link, 1);
    telemetry__homes_read();
    n = telemetry__find_modules(mods, 256);
    for (i = 0; i < n; i++) {
        if (strstr(mods[i].path, "test_state")) {
            found = 1;
            char exe[1024], want[1100];
            ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);  /* the real path */
            size_t cl = strlen(cwd);
            if (len > 0 && !getenv("TELEMETRY_TEST_EMULATED")) {          /* qemu-user runs it from elsewhere */
                exe[len] = 0;
                if (strncmp(exe, cwd, cl) == 0 && exe[cl] == '/') {         /* the build folder may vary (port jobs) */
                    snprintf(want, sizeof want, "~%s", exe + cl);
                    CHECK_STR(mods[i].path, want);
                }
            }
        }
        CHECK(strstr(mods[i].path, cwd) == NULL);
    }
    CHECK(found);
    /* HOME elsewhere (sudo, cron, services) or another user's program */
    setenv("HOME", "/var/lib/service", 1);
    telemetry__homes_read();
    CHECK_STR(redacted("/home/alice-secret/bin/probe"), "~/bin/probe");
    CHECK_STR(redacted("/home/bob"), "~");
    CHECK_STR(redacted("/usr/home/carol/lib/x.so"), "~/lib/x.so");
    CHECK_STR(redacted("/Users/dave/Library/x.dylib"), "~/Library/x.dylib");
    CHECK_STR(redacted("C:\\Users\\erin\\app\\tool.exe"), "~\\app\\tool.exe");
    CHECK_STR(redacted("d:/users/frank/tool.exe"), "~/tool.exe");
    CHECK_STR(redacted("/var/lib/service/bin/x"), "~/bin/x");
    CHECK_STR(redacted("/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
    CHECK_STR(redacted("/homestead/x"), "/homestead/x");
    CHECK_STR(redacted("/home//x"), "/home//x");
    CHECK_STR(redacted("C:\\Program Files\\x.exe"), "C:\\Program Files\\x.exe");
    if (pw && pw->pw_dir && strlen(pw->pw_dir) > 1) {          /* the password database's home */
        char p[600];
        if ((size_t)snprintf(p, sizeof p, "%s/bin/tool", pw->pw_dir) < sizeof p) CHECK_STR(redacted(p), "~/bin/tool");
    }
    unsetenv("HOME");
    telemetry__homes_read();
    CHECK_STR(redacted("/home/alice-secret/bin/probe"), "~/bin/probe");
    if (saved_home) { setenv("HOME", saved_home, 1); free(saved_home); }
    telemetry__homes_read();
    CHECK(unlink(link) == 0);
    rm_tree(dir);
}

int main(void) {
    unsetenv("DO_NOT_TRACK");
    unsetenv("TELEMETRY_DEBUG");
    test_default_folder();
    test_install_id();
    test_atomic_write();
    test_file_size_limit();
    test_debug_print();
    test_fifos();
    test_unsafe_state_dir();
    test_long_state_dir();
    test_redact_home();
    return testlib_report("test_state");
}
