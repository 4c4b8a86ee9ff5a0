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

/* Files waiting in <state_dir>/outbox (0 when the folder does not exist). */
TEST_UNUSED static int outbox_files(const char *dir) {
    char path[1200];
    int n;
    snprintf(path, sizeof path, "%s/outbox", dir);
    n = count_entries(path);
    return n < 0 ? 0 : n;
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
