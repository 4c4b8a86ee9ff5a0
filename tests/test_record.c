/* test_record.c - the store's record checksum (telemetry.h >>outbox, telemetry__rec_sum): the
   same values as tests/check_store.py computes (pinned below; the platform jobs run this on
   32-bit, big-endian and 64-bit CPUs, whose code paths differ), and the damage it catches in a
   record the store itself wrote: every flip of one or two bits (within 256 of each other),
   300,000 random three-bit flips, every run of zeros (a torn write that left a hole), every swap
   of two different bytes, every bit of the header but the state byte, and 300,000 random
   bursts of up to 16 bytes. Each kind of damage is counted: none may go unseen. The fuzz target's
   seed segments are checked to be of this format. The end to end
   case (a damaged record on disk skipped by the sender, the others delivered) is in
   test_delivery (damaged_record). */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"

/* a deterministic generator (xorshift64): the same damage on every run */
static uint64_t rng = 88172645463325252u;
static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Values from tests/check_store.py (record()): the same layout in Python. */
static void test_known_values(void) {
    unsigned char h[TELEMETRY__REC_HEADER], big[1000];
    size_t i;
    for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7 + 3);
    telemetry__rec_header(h, 1, 2, 0, NULL, "", 0);
    CHECK_INT(telemetry__get32(h + 8), 0x6a8b60fbu);
    telemetry__rec_header(h, 0, 0, 0, "-O4IKNV-a9Qk2ZxLm0Pt", "{\"app\":\"x\"}", 11);
    CHECK_INT(telemetry__get32(h + 8), 0x3c2131bdu);
    telemetry__rec_header(h, 1, 1, TELEMETRY__REC_CRASH, NULL, big, sizeof big);
    CHECK_INT(telemetry__get32(h + 8), 0xb769fd68u);
    h[15] = 'S';                                        /* the sender's mark is not covered */
    CHECK_INT(telemetry__rec_sum(h, big, sizeof big), 0xb769fd68u);
}

/* A record as the store writes it: appended by telemetry__store_append to a segment in a fresh
   folder, read back from the file. */
static size_t store_record(unsigned char *rec, size_t cap) {
    char *dir = make_temp_dir(), path[600];
    static const char payload[] =
        "{\"sdk\":{\"name\":\"telemetry.h\",\"version\":\"1\"}}\n{\"type\":\"event\",\"length\":191}\n"
        "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"timestamp\":\"2026-12-02T04:00:00.000Z\","
        "\"level\":\"info\",\"platform\":\"native\",\"logentry\":{\"formatted\":\"a message of the test\"},"
        "\"release\":\"test@1.0\"}\n";
    telemetry__store s = { "", -1, -1, "", 0, 0, 0, 0, 0, 0, TELEMETRY__MUTEX_INIT };
    DIR *d;
    struct dirent *e;
    size_t n = 0;
    CHECK_INT(telemetry__store_open(&s, dir, 1u << 20), 0);
    CHECK_INT(telemetry__store_append(&s, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, 0, NULL, payload, sizeof payload - 1, 0), 0);
    telemetry__store_close(&s);
    snprintf(path, sizeof path, "%s/outbox", dir);
    d = opendir(path);
    while (d && (e = readdir(d)) != NULL) {
        FILE *f;
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".seg") != 0) continue;
        snprintf(path, sizeof path, "%s/outbox/%s", dir, e->d_name);
        if ((f = fopen(path, "rb")) != NULL) { n = fread(rec, 1, cap, f); fclose(f); }
    }
    if (d) closedir(d);
    rm_tree(dir);
    CHECK_INT(n, TELEMETRY__REC_HEADER + sizeof payload - 1);
    return n;
}

/* 1 when the reader takes rec (n bytes: header and payload) as whole */
static int whole(const unsigned char *rec, size_t n) {
    return telemetry__rec_sum(rec, rec + TELEMETRY__REC_HEADER, n - TELEMETRY__REC_HEADER) == telemetry__get32(rec + 8);
}

static void test_damage(void) {
    unsigned char rec[1024], bad[1024];
    size_t n = store_record(rec, sizeof rec), len, i, j, k;
    long tries, missed;
    if (n <= TELEMETRY__REC_HEADER) return;
    len = n - TELEMETRY__REC_HEADER;
    CHECK(whole(rec, n));
    /* one or two bits of the payload */
    tries = missed = 0;
    for (i = 0; i < len * 8; i++)
        for (j = i; j < len * 8 && j < i + 256; j++) {
            memcpy(bad, rec, n);
            bad[TELEMETRY__REC_HEADER + i / 8] ^= (unsigned char)(1u << (i % 8));
            if (j != i) bad[TELEMETRY__REC_HEADER + j / 8] ^= (unsigned char)(1u << (j % 8));
            tries++;
            missed += whole(bad, n);
        }
    CHECK_INT(missed, 0);
    printf("test_record: %ld flips of one or two bits in a %zu-byte payload: %ld unseen\n", tries, len, missed);
    /* three random bits */
    tries = missed = 0;
    for (k = 0; k < 300000; k++) {
        memcpy(bad, rec, n);
        for (i = 0; i < 3; i++) {
            size_t b = (size_t)(next_random() % (len * 8));
            bad[TELEMETRY__REC_HEADER + b / 8] ^= (unsigned char)(1u << (b % 8));
        }
        if (memcmp(bad, rec, n) == 0) continue;
        tries++;
        missed += whole(bad, n);
    }
    CHECK_INT(missed, 0);
    /* a run of zeros anywhere (a hole a crash left in the file) */
    tries = missed = 0;
    for (i = 0; i < len; i++)
        for (k = 1; i + k <= len; k++) {
            memcpy(bad, rec, n);
            memset(bad + TELEMETRY__REC_HEADER + i, 0, k);
            if (memcmp(bad, rec, n) == 0) continue;
            tries++;
            missed += whole(bad, n);
        }
    CHECK_INT(missed, 0);
    CHECK(tries > 10000);
    /* two different bytes swapped */
    tries = missed = 0;
    for (i = 0; i < len; i++)
        for (j = i + 1; j < len; j++) {
            unsigned char *p = rec + TELEMETRY__REC_HEADER;
            if (p[i] == p[j]) continue;
            memcpy(bad, rec, n);
            bad[TELEMETRY__REC_HEADER + i] = p[j];
            bad[TELEMETRY__REC_HEADER + j] = p[i];
            tries++;
            missed += whole(bad, n);
        }
    CHECK_INT(missed, 0);
    /* every bit of the header: all are covered but the state byte (the sender writes it) */
    tries = missed = 0;
    for (i = 0; i < TELEMETRY__REC_HEADER * 8; i++) {
        memcpy(bad, rec, n);
        bad[i / 8] ^= (unsigned char)(1u << (i % 8));
        if (i / 8 == 15) { CHECK(whole(bad, n)); continue; }
        tries++;
        missed += whole(bad, n);
    }
    CHECK_INT(missed, 0);
    /* random bursts of up to 16 bytes */
    tries = missed = 0;
    for (k = 0; k < 300000; k++) {
        size_t at = (size_t)(next_random() % len), blen = 1 + (size_t)(next_random() % 16);
        memcpy(bad, rec, n);
        for (i = at; i < at + blen && i < len; i++) bad[TELEMETRY__REC_HEADER + i] = (unsigned char)next_random();
        if (memcmp(bad, rec, n) == 0) continue;
        tries++;
        missed += whole(bad, n);
    }
    CHECK_INT(missed, 0);
    printf("test_record: %ld random bursts of up to 16 bytes: %ld unseen\n", tries, missed);
}

/* The fuzz target's seed segments (tests/fuzz/make_store_corpus.py) hold records of this format:
   both of segment_two_records are whole, the first of segment_bad_crc is not. */
static void test_seed_corpus(void) {
    static const char *const names[] = { "segment_two_records", "segment_bad_crc" };
    int i;
    for (i = 0; i < 2; i++) {
        char path[200];
        unsigned char seg[512];
        size_t n = 0, first;
        FILE *f;
        snprintf(path, sizeof path, "tests/fuzz/corpus/state/%s", names[i]);
        if ((f = fopen(path, "rb")) != NULL) { n = fread(seg, 1, sizeof seg, f); fclose(f); }
        CHECK(n > 1 + 2 * TELEMETRY__REC_HEADER);
        if (n <= 1 + 2 * TELEMETRY__REC_HEADER) continue;
        first = TELEMETRY__REC_HEADER + telemetry__get32(seg + 1 + 4);         /* after the selector byte */
        CHECK(1 + first + TELEMETRY__REC_HEADER <= n);
        if (1 + first + TELEMETRY__REC_HEADER > n) continue;
        CHECK_INT(whole(seg + 1, first), i == 0);
        CHECK(whole(seg + 1 + first, n - 1 - first));
    }
}

int main(void) {
    test_known_values();
    test_seed_corpus();
    test_damage();
    return testlib_report("test_record");
}
