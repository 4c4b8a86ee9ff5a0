/* testlib.h - the few macros the tests share. Each test binary ends with
   "<name>: N passed, M failed" and exits 1 when anything failed. */
#ifndef TESTLIB_H
#define TESTLIB_H
#include <stdio.h>
#include <string.h>

static int testlib_passed, testlib_failed;

#define CHECK(cond) do { \
    if (cond) testlib_passed++; \
    else { testlib_failed++; fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_INT(got, want) do { \
    long long g_ = (long long)(got), w_ = (long long)(want); \
    if (g_ == w_) testlib_passed++; \
    else { testlib_failed++; fprintf(stderr, "%s:%d: FAILED: %s == %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); } \
} while (0)

#define CHECK_STR(got, want) do { \
    const char *g_ = (got), *w_ = (want); \
    if (g_ && w_ && strcmp(g_, w_) == 0) testlib_passed++; \
    else { testlib_failed++; fprintf(stderr, "%s:%d: FAILED: %s\n   got: %s\n  want: %s\n", __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } \
} while (0)

static int testlib_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, testlib_passed, testlib_failed);
    return testlib_failed ? 1 : 0;
}
#endif
