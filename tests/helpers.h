/* helpers.h - small helpers the library tests share (temp folders, files, capturing output). */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#define TEST_UNUSED __attribute__((unused))

/* A fresh folder under /tmp; the caller removes it with rm_tree. */
TEST_UNUSED static char *make_temp_dir(void) {
    static char paths[64][64];
    static int next;
    char *p = paths[next++ % 64];
    strcpy(p, "/tmp/telemetry-test-XXXXXX");
    if (!mkdtemp(p)) { perror("mkdtemp"); exit(2); }
    return p;
}

TEST_UNUSED static void rm_tree(const char *path) {
    DIR *d;
    struct dirent *e;
    struct stat st;
    char child[4096];
    if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode)) { remove(path); return; }   /* a symlink is not followed */
    d = opendir(path);
    if (!d) { remove(path); return; }
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        rm_tree(child);
    }
    closedir(d);
    rmdir(path);
}

TEST_UNUSED static int count_entries(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Payloads waiting in the store <state_dir>/outbox: records of every segment whose state byte
   says unsent (0 when the folder does not exist). Read with our own parser of the documented
   record layout, not the library's. */
TEST_UNUSED static int outbox_files(const char *dir) {
    char path[1400];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof path, "%s/outbox", dir);
    if (!(d = opendir(path))) return 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        FILE *f;
        unsigned char h[40];
        if (len < 5 || strcmp(e->d_name + len - 4, ".seg") != 0) continue;
        snprintf(path, sizeof path, "%s/outbox/%s", dir, e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        while (fread(h, 1, sizeof h, f) == sizeof h && memcmp(h, "TLR1", 4) == 0) {
            long plen = (long)h[4] | (long)h[5] << 8 | (long)h[6] << 16 | (long)h[7] << 24;
            if (h[15] == 0 || h[15] == 'A') n++;            /* unsent ('A': tried, not acknowledged) */
            if (fseek(f, plen, SEEK_CUR) != 0) break;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Sends stderr to path until stderr_restore(saved) (for the TELEMETRY_DEBUG print). */
TEST_UNUSED static int stderr_to_file(const char *path) {
    int saved, fd;
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    return saved;
}
TEST_UNUSED static void stderr_restore(int saved) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

TEST_UNUSED static int path_exists(const char *path) { struct stat st; return stat(path, &st) == 0; }

TEST_UNUSED static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

/* Reads a file into a static buffer ("" when missing). */
TEST_UNUSED static const char *read_text(const char *path) {
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    buf[0] = 0;
    if (!f) return buf;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Runs fn with stdout-like output captured from a FILE* into a static buffer. */
TEST_UNUSED static const char *capture_disclosure(int (*fn)(FILE *)) {
    static char buf[1 << 16];
    FILE *f = tmpfile();
    size_t n;
    fn(f);
    fflush(f);
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}
#endif
