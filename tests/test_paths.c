/* test_paths.c - file names outside ASCII: the library's own UTF-8 <-> UTF-16 conversion, and the
   file layer and the state folder under a folder named in Latin, CJK and a character past U+FFFF.
   On Linux the names pass through as bytes; on Windows (the win-* platform jobs, under wine) every
   name goes through the wide calls, and the test looks for each file under its UTF-16 name itself.
   There too: the default state folder from a wide %LOCALAPPDATA%, and the home redaction of a
   %USERPROFILE% and of C:\Users\<name>. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"
#include <sys/stat.h>

#define NAME "\xc3\xa9tat-\xe6\xb5\x8b\xe8\xaf\x95-\xf0\x9f\x98\x80"     /* "état-测试-😀" */

/* Whether path (UTF-8) names a file, asked of the system independently of the library. */
static int exists_utf8(const char *path) {
#if defined(_WIN32)
    wchar_t w[2048];
    struct _stat st;
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, 2048)) return 0;
    return _wstat(w, &st) == 0;
#else
    struct stat st;
    return stat(path, &st) == 0;
#endif
}

/* Entries in the folder path (UTF-8), asked of the system likewise; -1 when it cannot be read. */
static int count_utf8(const char *path) {
#if defined(_WIN32)
    wchar_t w[2048];
    WIN32_FIND_DATAW e;
    HANDLE h;
    int n = 0;
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, 2040)) return -1;
    wcscat(w, L"\\*");
    if ((h = FindFirstFileW(w, &e)) == INVALID_HANDLE_VALUE) return -1;
    do n += wcscmp(e.cFileName, L".") && wcscmp(e.cFileName, L"..");
    while (FindNextFileW(h, &e));
    FindClose(h);
    return n;
#else
    return count_entries(path);
#endif
}

static void test_utf16(void) {
    telemetry__u16 w[16];
    char back[32];
    static const telemetry__u16 want[] = { 'a', 0xE9, 0x6D4B, 0xD83D, 0xDE00, 0 };
    static const char *const bad[] = {
        "\xc0\x80", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\x80",       /* overlong */
        "\xed\xa0\x80", "\xed\xbf\xbf",                                   /* surrogates */
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",                   /* past U+10FFFF */
        "\xe6\xb5", "\xf0\x9f\x98", "\x80", "a\xc3", NULL                 /* cut short, stray */
    };
    static const telemetry__u16 lone_hi[] = { 'x', 0xD800, 'y', 0 }, lone_lo[] = { 0xDC00, 0 }, end_hi[] = { 0xDBFF, 0 };
    int i, same = 1;
    CHECK_INT(telemetry__utf8_to_utf16("a\xc3\xa9\xe6\xb5\x8b\xf0\x9f\x98\x80", w, 16), 5);
    for (i = 0; i < 6; i++) same &= w[i] == want[i];
    CHECK(same);
    CHECK_INT(telemetry__utf16_to_utf8(w, back, sizeof back), 10);
    CHECK_STR(back, "a\xc3\xa9\xe6\xb5\x8b\xf0\x9f\x98\x80");
    for (i = 0; bad[i]; i++) {
        if (telemetry__utf8_to_utf16(bad[i], w, 16) != -1) { fprintf(stderr, "accepted bad UTF-8 #%d\n", i); testlib_failed++; }
        else testlib_passed++;
    }
    CHECK_INT(telemetry__utf16_to_utf8(lone_hi, back, sizeof back), -1);
    CHECK_INT(telemetry__utf16_to_utf8(lone_lo, back, sizeof back), -1);
    CHECK_INT(telemetry__utf16_to_utf8(end_hi, back, sizeof back), -1);
    /* room: the NUL always counts; a pair is never split */
    CHECK_INT(telemetry__utf8_to_utf16("abc", w, 4), 3);
    CHECK_INT(telemetry__utf8_to_utf16("abc", w, 3), -1);
    CHECK_INT(telemetry__utf8_to_utf16("\xf0\x9f\x98\x80", w, 3), 2);
    CHECK_INT(telemetry__utf8_to_utf16("\xf0\x9f\x98\x80", w, 2), -1);
    CHECK_INT(telemetry__utf16_to_utf8(want + 3, back, 5), 4);
    CHECK_INT(telemetry__utf16_to_utf8(want + 3, back, 4), -1);
    CHECK_INT(telemetry__utf8_to_utf16("", w, 1), 0);
}

static void test_files(void) {
    char dir[1024], sub[1100], file[1200], *text = NULL;
    size_t len = 0;
    int err;
    FILE *f;
    snprintf(dir, sizeof dir, "%s/%s", make_temp_dir(), NAME);
    snprintf(sub, sizeof sub, "%s" TELEMETRY__SEP "%s", dir, NAME);
    snprintf(file, sizeof file, "%s" TELEMETRY__SEP "f-" NAME ".txt", sub);
    CHECK_INT(telemetry__mkdirs(sub), 0);
    CHECK(exists_utf8(sub));
    CHECK_INT(telemetry__write_file_atomic(file, "hello", 5, 1), 0);
    CHECK(exists_utf8(file));
    CHECK_INT(telemetry__read_file(file, 100, &text, &len, &err), 0);
    CHECK(text && len == 5 && memcmp(text, "hello", 5) == 0);
    telemetry__free(text);
    CHECK_INT(telemetry__write_file_atomic(file, "again", 5, 0), 0);     /* replaces it */
    CHECK_INT(telemetry__read_file(file, 100, &text, &len, &err), 0);
    CHECK(text && len == 5 && memcmp(text, "again", 5) == 0);
    telemetry__free(text);
    f = telemetry__fopen_read(file);                                     /* the CA bundle's reader */
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK_INT(count_utf8(sub), 1);                                       /* no temporary file left */
}

/* A whole run with its state folder there: the install id is written, and the next run reads it. */
static void test_state_folder(void) {
    char dir[1024], idpath[1200], first[64], *text = NULL;
    telemetry_config cfg;
    int err;
    snprintf(dir, sizeof dir, "%s/%s", make_temp_dir(), NAME);
    snprintf(idpath, sizeof idpath, "%s" TELEMETRY__SEP "install_id", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "paths";
    cfg.state_dir = dir;
    cfg.usage_url = "http://127.0.0.1:9/u.json";
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_count("paths_runs", 1), 0);                      /* the run's first work */
    CHECK(strstr(telemetry_status_reason(), "memory only") == NULL);
    snprintf(first, sizeof first, "%s", telemetry__st.install_id);
    telemetry_shutdown();
    CHECK(exists_utf8(idpath));
    CHECK_INT(telemetry__read_file(idpath, 100, &text, NULL, &err), 0);
    CHECK(text && strncmp(text, first, 32) == 0);
    telemetry__free(text);
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_STR(telemetry__st.install_id, first);                          /* read back, not made anew */
    telemetry_shutdown();
}

#if defined(_WIN32)
static void wide_env(const wchar_t *name, const char *utf8) {
    wchar_t w[1024];
    MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w, 1024);
    _wputenv_s(name, w);
}

static void test_windows_env(void) {
    char base[1024], out[1200], want[1200];
    snprintf(base, sizeof base, "%s\\%s", make_temp_dir(), NAME);
    wide_env(L"LOCALAPPDATA", base);
    CHECK_INT(telemetry__default_state_dir("app1", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s\\app1", base);
    CHECK_STR(out, want);
    /* the profile folder as %USERPROFILE% says, in any case, and every C:\Users\<name> */
    wide_env(L"USERPROFILE", "D:\\Profiles\\Jos\xc3\xa9");
    wide_env(L"HOME", "");
    telemetry__homes_read();
    telemetry__redact_home("D:\\profiles\\Jos\xc3\xa9\\bin\\tool.exe", out, sizeof out);
    CHECK_STR(out, "~\\bin\\tool.exe");
    telemetry__redact_home("C:\\Users\\J\xc3\xbcrgen \xe6\xb5\x8b\\AppData\\Local\\app\\x.dll", out, sizeof out);
    CHECK_STR(out, "~\\AppData\\Local\\app\\x.dll");
    telemetry__redact_home("c:/users/someone/x.dll", out, sizeof out);
    CHECK_STR(out, "~/x.dll");
    telemetry__redact_home("C:\\Program Files\\app\\x.dll", out, sizeof out);
    CHECK_STR(out, "C:\\Program Files\\app\\x.dll");
    telemetry__redact_home("D:\\Profiles\\Josef\\x.dll", out, sizeof out);      /* another folder */
    CHECK_STR(out, "D:\\Profiles\\Josef\\x.dll");
}

/* A state folder that is not the user's own is refused on Windows as on POSIX (telemetry off,
   nothing written there): one of another user (tests/port/run.sh makes it another Unix user's,
   which wine shows as another owner), and one that is a link (a symlink: a reparse point). */
static void test_windows_state_owner(void) {
    const char *foreign = getenv("TELEMETRY_TEST_FOREIGN_DIR"), *link = getenv("TELEMETRY_TEST_LINK_DIR");
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;
    cfg.app_name = "paths";
    cfg.usage_url = "http://127.0.0.1:9/u.json";
    cfg.shutdown_timeout_ms = TELEMETRY_NO_WAIT;
    if (foreign && foreign[0]) {
        cfg.state_dir = foreign;
        CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);
        CHECK(strstr(telemetry_status_reason(), "belongs to another user") != NULL);
        CHECK_INT(telemetry_set_consent(1), TELEMETRY_DISABLED);     /* nothing is written there */
        telemetry_count("paths_runs", 1);
        telemetry_shutdown();
        CHECK_INT(count_utf8(foreign), 0);
    } else {
        printf("test_paths: TELEMETRY_TEST_FOREIGN_DIR not set (tests/port/run.sh sets it as root): "
               "another user's folder is not tried\n");
    }
    if (link && link[0]) {
        cfg.state_dir = link;
        CHECK_INT(telemetry_init(&cfg), TELEMETRY_DISABLED);
        CHECK(strstr(telemetry_status_reason(), "is a link") != NULL);
        telemetry_count("paths_runs", 1);
        telemetry_shutdown();
        CHECK_INT(count_utf8(link), 0);
    } else {
        printf("test_paths: TELEMETRY_TEST_LINK_DIR not set (tests/port/run.sh sets it): a linked folder is not tried\n");
    }
}
#endif

int main(void) {
    test_utf16();
    test_files();
    test_state_folder();
#if defined(_WIN32)
    test_windows_env();
    test_windows_state_owner();
#endif
    return testlib_report("test_paths");
}
