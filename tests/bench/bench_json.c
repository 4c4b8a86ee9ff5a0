/* bench_json.c - telemetry.h's JSON writer against cJSON (Debian libcjson-dev, a bench-only
   dependency) on the same documents, with identical bytes out of both (checked first):
     event    the message event the library sends (docs/examples/message-event.json's fields),
              every field encoded, as by a writer without the library's cached fixed fields
     strings  string-heavy: 40 strings of 60-300 bytes with quotes, backslashes, newlines, tabs,
              a control byte and UTF-8 (Latin, CJK, emoji), as keys and values
   cJSON builds its tree, prints it (cJSON_PrintUnformatted) and deletes it: that is how a
   program uses it; telemetry.h writes into a growable buffer and frees it, as a capture does.
   Timing: BENCH_JSON_ROUNDS (11) alternating rounds of BENCH_JSON_N (20,000) documents each;
   the figure is the median of cJSON's ns per document over telemetry.h's, round by round,
   printed next to its bound (2x); exits 1 when it is missed.
   `bench_json count tm|cj event|strings N` encodes N documents with one of them and nothing else,
   for tests/bench/instr.sh to count instructions. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "bench.h"
#include <cjson/cJSON.h>

#define JSON_BOUND 2.0

static char strs[40][320];
static const char *const keys[8] = { "message", "path", "user \"name\"", "note\\n", "title", "comment", "body", "caption" };

static void make_strings(void) {
    static const char *const pieces[] = { "plain words here ", "\"quoted\" ", "back\\slash ", "line\nbreak ", "tab\there ",
                                          "caf\xC3\xA9 na\xC3\xAFve ", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E ", "\xF0\x9F\x98\x80 ",
                                          "bell\x07 ", "/usr/local/lib/libfoo.so.1 " };
    int i;
    for (i = 0; i < 40; i++) {
        size_t want = 60 + (size_t)(i * 61 % 240), n = 0;
        int k = i;
        strs[i][0] = 0;
        while (n < want) {
            const char *p = pieces[k++ % 10];
            size_t l = strlen(p);
            if (n + l >= sizeof strs[i]) break;
            memcpy(strs[i] + n, p, l + 1);
            n += l;
        }
    }
}

/* ---- telemetry.h ------------------------------------------------------------------------------ */
static void tm_event(telemetry__json *j) {
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "event_id"); telemetry__json_string(j, "4c4d4e4f505142539455565758595a5b");
    telemetry__json_key(j, "timestamp"); telemetry__json_string(j, "2026-11-26T10:00:00.000Z");
    telemetry__json_key(j, "platform"); telemetry__json_string(j, "native");
    telemetry__json_key(j, "level"); telemetry__json_string(j, "warning");
    telemetry__json_key(j, "logger"); telemetry__json_string(j, "mytool");
    telemetry__json_key(j, "release"); telemetry__json_string(j, "mytool@1.4.2");
    telemetry__json_key(j, "environment"); telemetry__json_string(j, "production");
    telemetry__json_key(j, "sdk"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "name"); telemetry__json_string(j, "telemetry.h");
    telemetry__json_key(j, "version"); telemetry__json_string(j, "0.1.0");
    telemetry__json_object_end(j);
    telemetry__json_key(j, "user"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "id"); telemetry__json_string(j, "101112131415461798191a1b1c1d1e1f");
    telemetry__json_object_end(j);
    telemetry__json_key(j, "contexts"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "os"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "name"); telemetry__json_string(j, "Linux");
    telemetry__json_key(j, "version"); telemetry__json_string(j, "6.1.0-18-amd64");
    telemetry__json_key(j, "kernel_version"); telemetry__json_string(j, "6.1.0-18-amd64");
    telemetry__json_key(j, "distribution"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "name"); telemetry__json_string(j, "debian");
    telemetry__json_key(j, "version"); telemetry__json_string(j, "12");
    telemetry__json_key(j, "pretty_name"); telemetry__json_string(j, "Debian GNU/Linux 12 (bookworm)");
    telemetry__json_object_end(j);
    telemetry__json_object_end(j);
    telemetry__json_key(j, "device"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "arch"); telemetry__json_string(j, "x86_64");
    telemetry__json_object_end(j);
    telemetry__json_key(j, "app"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "app_name"); telemetry__json_string(j, "mytool");
    telemetry__json_key(j, "app_version"); telemetry__json_string(j, "1.4.2");
    telemetry__json_key(j, "app_start_time"); telemetry__json_string(j, "2026-11-26T10:00:00.000Z");
    telemetry__json_object_end(j);
    telemetry__json_object_end(j);
    telemetry__json_key(j, "tags"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "command"); telemetry__json_string(j, "convert");
    telemetry__json_object_end(j);
    telemetry__json_key(j, "logentry"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "formatted"); telemetry__json_string(j, "disk /data is 97% full");
    telemetry__json_object_end(j);
    telemetry__json_object_end(j);
}
static void tm_strings(telemetry__json *j) {
    int i;
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "values");
    telemetry__json_array_begin(j);
    for (i = 0; i < 40; i += 2) {
        telemetry__json_object_begin(j);
        telemetry__json_key(j, keys[i % 8]); telemetry__json_string(j, strs[i]);
        telemetry__json_key(j, strs[i + 1]); telemetry__json_string(j, strs[(i + 7) % 40]);
        telemetry__json_object_end(j);
    }
    telemetry__json_array_end(j);
    telemetry__json_object_end(j);
}
static __attribute__((noinline)) size_t bench_json_tm(int doc, char *copy) {
    telemetry__buf b;
    telemetry__json j;
    size_t n;
    telemetry__buf_init(&b);
    telemetry__json_init(&j, &b);
    if (doc) tm_strings(&j); else tm_event(&j);
    n = telemetry__json_finish(&j) == 0 ? b.len : 0;
    if (copy) memcpy(copy, b.data, n + 1);
    telemetry__buf_free(&b);
    return n;
}

/* ---- cJSON ---------------------------------------------------------------------------------- */
static cJSON *cj_obj(cJSON *parent, const char *key) { cJSON *o = cJSON_CreateObject(); cJSON_AddItemToObject(parent, key, o); return o; }
static cJSON *cj_event(void) {
    cJSON *e = cJSON_CreateObject(), *o, *c, *os, *d;
    cJSON_AddStringToObject(e, "event_id", "4c4d4e4f505142539455565758595a5b");
    cJSON_AddStringToObject(e, "timestamp", "2026-11-26T10:00:00.000Z");
    cJSON_AddStringToObject(e, "platform", "native");
    cJSON_AddStringToObject(e, "level", "warning");
    cJSON_AddStringToObject(e, "logger", "mytool");
    cJSON_AddStringToObject(e, "release", "mytool@1.4.2");
    cJSON_AddStringToObject(e, "environment", "production");
    o = cj_obj(e, "sdk");
    cJSON_AddStringToObject(o, "name", "telemetry.h");
    cJSON_AddStringToObject(o, "version", "0.1.0");
    o = cj_obj(e, "user");
    cJSON_AddStringToObject(o, "id", "101112131415461798191a1b1c1d1e1f");
    c = cj_obj(e, "contexts");
    os = cj_obj(c, "os");
    cJSON_AddStringToObject(os, "name", "Linux");
    cJSON_AddStringToObject(os, "version", "6.1.0-18-amd64");
    cJSON_AddStringToObject(os, "kernel_version", "6.1.0-18-amd64");
    d = cj_obj(os, "distribution");
    cJSON_AddStringToObject(d, "name", "debian");
    cJSON_AddStringToObject(d, "version", "12");
    cJSON_AddStringToObject(d, "pretty_name", "Debian GNU/Linux 12 (bookworm)");
    o = cj_obj(c, "device");
    cJSON_AddStringToObject(o, "arch", "x86_64");
    o = cj_obj(c, "app");
    cJSON_AddStringToObject(o, "app_name", "mytool");
    cJSON_AddStringToObject(o, "app_version", "1.4.2");
    cJSON_AddStringToObject(o, "app_start_time", "2026-11-26T10:00:00.000Z");
    o = cj_obj(e, "tags");
    cJSON_AddStringToObject(o, "command", "convert");
    o = cj_obj(e, "logentry");
    cJSON_AddStringToObject(o, "formatted", "disk /data is 97% full");
    return e;
}
static cJSON *cj_strings(void) {
    cJSON *e = cJSON_CreateObject(), *a = cJSON_CreateArray(), *o;
    int i;
    cJSON_AddItemToObject(e, "values", a);
    for (i = 0; i < 40; i += 2) {
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(a, o);
        cJSON_AddStringToObject(o, keys[i % 8], strs[i]);
        cJSON_AddStringToObject(o, strs[i + 1], strs[(i + 7) % 40]);
    }
    return e;
}
static __attribute__((noinline)) size_t bench_json_cj(int doc, char *copy) {
    cJSON *e = doc ? cj_strings() : cj_event();
    char *s = cJSON_PrintUnformatted(e);
    size_t n = s ? strlen(s) : 0;
    if (copy && s) memcpy(copy, s, n + 1);
    cJSON_free(s);
    cJSON_Delete(e);
    return n;
}

int main(int argc, char **argv) {
    static char a[65536], b[65536];
    static const char *const names[2] = { "event", "strings" };
    long n = bench_env_long("BENCH_JSON_N", 20000), rounds = bench_env_long("BENCH_JSON_ROUNDS", 11), i, r;
    int doc, missed = 0;
    make_strings();
    if (argc == 5 && !strcmp(argv[1], "count")) {          /* for callgrind */
        int tm = !strcmp(argv[2], "tm");
        doc = !strcmp(argv[3], "strings");
        n = strtol(argv[4], NULL, 10);
        for (i = 0; i < n; i++) (tm ? bench_json_tm : bench_json_cj)(doc, NULL);
        return 0;
    }
    printf("== bench_json: telemetry.h's JSON writer vs cJSON %s, same documents\n", cJSON_Version());
    for (doc = 0; doc < 2; doc++) {
        double *ratio = (double *)malloc((size_t)rounds * sizeof *ratio), tm_ns = 0, cj_ns = 0;
        size_t la = bench_json_tm(doc, a), lb = bench_json_cj(doc, b);
        if (la == 0 || la != lb || memcmp(a, b, la) != 0) {
            printf("  %s: the two documents differ (%zu vs %zu bytes)\n%s\n%s\n", names[doc], la, lb, a, b);
            return 1;
        }
        for (r = 0; r < rounds; r++) {
            int64_t t0 = bench_ns(), t1, t2;
            for (i = 0; i < n; i++) bench_json_tm(doc, NULL);
            t1 = bench_ns();
            for (i = 0; i < n; i++) bench_json_cj(doc, NULL);
            t2 = bench_ns();
            ratio[r] = (double)(t2 - t1) / (double)(t1 - t0);
            tm_ns += (double)(t1 - t0) / (double)n;
            cj_ns += (double)(t2 - t1) / (double)n;
        }
        {
            double med = bench_median(ratio, (size_t)rounds);
            printf("  %-8s %5zu bytes: telemetry.h %7.0f ns, cJSON %7.0f ns per document (means); cJSON / telemetry.h median %.2fx (bound >= %.1fx) %s\n",
                   names[doc], la, tm_ns / (double)rounds, cj_ns / (double)rounds, med, JSON_BOUND, med >= JSON_BOUND ? "ok" : "MISSED");
            bench_emitf(tm_ns / (double)rounds, "ns", "json_%s_telemetry", names[doc]);
            bench_emitf(cj_ns / (double)rounds, "ns", "json_%s_cjson", names[doc]);
            bench_emitf(med, "x", "json_%s_speedup_vs_cjson", names[doc]);
            if (med < JSON_BOUND) missed = 1;
        }
        free(ratio);
    }
    return missed;
}
