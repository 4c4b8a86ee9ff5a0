/* fuzz_enduser.c - libFuzzer target for the end user's files: the counters file kept between runs
   (report_interval_s), the secret masking of the sent log, and where the sent log is cut to fit.
   The first byte picks one. Checks: no crash, no read out of bounds (under ASan), every counter
   read has a valid name, a masked text never holds a byte of a secret's value, and a cut always
   falls at the start of a whole entry (or drops everything) and leaves room for the new entry. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_enduser: %s\n", #c); abort(); } } while (0)

static int fuzz_add(const char *name, int64_t v) {
    (void)v;
    REQUIRE(telemetry__valid_name(name));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text;
    size_t n;
    if (size == 0) return 0;
    n = size - 1;
    text = (char *)malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, n);
    text[n] = 0;
    switch (data[0] % 3) {
    case 0: {
        int64_t since = -1;
        int got = telemetry__counter_file_parse(text, &since, fuzz_add);
        REQUIRE(got >= 0 && since >= 0);
        break;
    }
    case 1: {
        telemetry__buf b;
        const char *p;
        telemetry__buf_init(&b);
        telemetry__mask_secrets(&b, text, n);
        REQUIRE(!b.failed);
        /* after "auth=" at a word start, only "***" or an end character may follow */
        for (p = b.data ? b.data : ""; (p = strstr(p, "auth=")) != NULL; p += 5) {
            int start = p == b.data || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
                                          (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_');
            if (start) REQUIRE(p[5] == 0 || strchr("&\"', \t\r\n#;", p[5]) || strncmp(p + 5, "***", 3) == 0);
        }
        telemetry__buf_free(&b);
        break;
    }
    default: {
        size_t entry = n ? (unsigned char)text[0] : 0, cap = 64 + (n ? (unsigned char)text[n - 1] : 0);
        size_t cut;
        if (entry > cap) entry = cap;
        cut = telemetry__sent_log_cut(text, n, entry, cap);
        REQUIRE(cut <= n);
        REQUIRE(cut == 0 || cut == n || strncmp(text + cut, TELEMETRY__SENT_LOG_MARK, strlen(TELEMETRY__SENT_LOG_MARK)) == 0);
        REQUIRE(n - cut + entry <= cap || cut == 0);
        if (cut == 0) REQUIRE(n + entry <= cap);
        break;
    }
    }
    free(text);
    return 0;
}

#include "standalone.h"
