/* fuzz_state.c - libFuzzer target for the parsers of local state: the app's config file (the
   opt-out key), the session file, and a segment of the store (records, torn or not). The first byte picks one.
   Checks: no crash, no read out of bounds (under ASan), and results in their documented range. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_state: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text;
    if (size == 0) return 0;
    text = (char *)malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    switch (data[0] % 3) {
    case 0: {
        int v = telemetry__config_text_says(text, size - 1, "telemetry", NULL);   /* fuzz_config goes deeper */
        REQUIRE(v >= -2 && v <= 1);
        break;
    }
    case 1: {
        telemetry__session se;
        if (telemetry__session_parse(text, &se) == 0) {
            telemetry__buf b;
            REQUIRE(telemetry__is_hex_id(se.sid) && se.errors >= 0 && se.updated_ms >= se.started_ms);
            telemetry__buf_init(&b);
            REQUIRE(telemetry__session_json(&b, &se) == 0);     /* whatever was read, the JSON is whole */
            telemetry__buf_free(&b);
        }
        break;
    }
    default: {
        /* the input as a segment of the store, read by the sender (no endpoint: every whole
           record is dropped, torn ones skipped); it must finish and leave no record unread */
        static char dir[64];
        char path[128];
        telemetry__sender s;
        int64_t wait;
        int unsent = 0, steps = 0;
        FILE *f;
        if (!dir[0]) { snprintf(dir, sizeof dir, "/tmp/fuzz_state.%d", (int)getpid()); mkdir(dir, 0700); }
        snprintf(path, sizeof path, "%s/0000000000001-1-00000000.seg", dir);
        f = fopen(path, "wb");
        if (!f) break;
        if (size > 1) fwrite(data + 1, 1, size - 1, f);
        fclose(f);
        memset(&s, 0, sizeof s);
        s.lock_fd = s.mem_fd = -1;
        s.lane = -1;                                           /* every record, as sender_new makes it */
        s.cap = 1u << 20;
        telemetry__copy(s.dir, sizeof s.dir, dir);
        while (telemetry__sender_step(&s, &wait, &unsent) && steps < 100000) steps++;
        REQUIRE(steps < 100000 && unsent == 0);
        REQUIRE(s.nsegs == 0);                                 /* read to its end and removed */
        telemetry__free(s.segs);
        if (s.lock_fd >= 0) close(s.lock_fd);                  /* the folder's sender lock */
        remove(path);
        break;
    }
    }
    free(text);
    return 0;
}

#include "standalone.h"
