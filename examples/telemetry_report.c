/*
 * telemetry_report.c -- what the usage reports say: a summary of the records telemetry.h
 * stored in a Firebase Realtime Database, as text, JSON or a self-contained HTML page.
 *
 *   telemetry_report [options] FILE            a console export, a saved GET <db>/usage.json,
 *                                              or the local receiver's --record file ("-": stdin)
 *   telemetry_report [options] --url https://<db>/usage.json [--auth TOKEN]
 *
 *   --json FILE     write the summary as JSON (the keys are listed in docs/report.md)
 *   --html FILE     write a single page with inline SVG charts: no script, no network, ready to
 *                   publish
 *   --app NAME      only the reports of this app (a database may hold several)
 *   --top N         values shown per table in the text and the page (default 10; JSON has all)
 *   --auth TOKEN    with --url: a credential for reading, sent as auth= (a database secret or
 *                   an ID token); --access-token TOKEN sends access_token= (an OAuth token of a
 *                   service account). Kept on your machine: docs/server.md, never in a program.
 *   --ca-file FILE  with --url: trust anchors (default: the system's)
 *   --timeout S     with --url: seconds for the whole download (default 300)
 *   --quiet         no text summary on stdout
 *
 * The input is read as a stream (any size, bounded memory): a usage record is any JSON object
 * with "metrics" or with "app" and "timestamp", at any depth, so the export of a whole database,
 * of /usage, of /usage/<app>, or the receiver's JSON lines all work. Records that are not well
 * formed are counted and skipped. Input that is not JSON (an empty file, a truncated file, an
 * HTML page, nesting deeper than 64 levels), or that holds no usage record, is an error: a message
 * on stderr and exit status 1 (2 for a bad command line).
 *
 * Build: make build/telemetry_report   (it includes the implementation for its HTTPS client)
 */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- limits --------------------------------------------------------------------------------- */
#define TR_MAX_DEPTH 64            /* JSON nesting (Firebase itself stops at 32) */
#define TR_MAX_STRING 1024         /* bytes of a string kept (longer ones are cut) */
#define TR_MAX_KEY 63              /* bytes of a key kept; a longer metric id is not one */
#define TR_MAX_FIELDS 4096         /* fields of one object kept; a record with more is skipped */
#define TR_MAX_VALUES 5000         /* distinct values per table; the rest go to "(other)" */
#define TR_MAX_METRICS 200         /* distinct metric and counter ids */
#define TR_MAX_EXACT 16            /* distinct numbers shown one by one, else power-of-2 buckets */
#define TR_FIRST_DAY 10957         /* 2000-01-01: days outside [2000, 2100) are not a report's */
#define TR_LAST_DAY 47482

/* ---- small helpers ---------------------------------------------------------------------------- */
static void *tr_alloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) { fprintf(stderr, "telemetry_report: out of memory\n"); exit(1); }
    return p;
}
static void *tr_grow(void *p, size_t *cap, size_t need, size_t item) {
    size_t c = *cap ? *cap : 16;
    void *q;
    if (need <= *cap) return p;
    while (c < need) c *= 2;
    q = realloc(p, c * item);
    if (!q) { fprintf(stderr, "telemetry_report: out of memory\n"); exit(1); }
    *cap = c;
    return q;
}
static char *tr_strndup(const char *s, size_t n) {
    char *d = (char *)tr_alloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}
static uint64_t tr_mix(uint64_t x) {                   /* splitmix64's finaliser */
    x ^= x >> 30; x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27; x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}
static uint64_t tr_hash(uint64_t seed, const char *s, size_t n) {
    uint64_t h = UINT64_C(1469598103934665603) ^ tr_mix(seed);
    size_t i;
    for (i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= UINT64_C(1099511628211); }
    h = tr_mix(h ^ n);
    return h ? h : 1;
}
static uint64_t tr_hash2(uint64_t a, uint64_t b) { uint64_t h = tr_mix(a * 31 + tr_mix(b)); return h ? h : 1; }

/* Valid UTF-8 out, whatever came in: bad bytes become U+FFFD, control characters a space. */
static char *tr_clean(const char *s, size_t n) {
    char *out = (char *)tr_alloc(n * 3 + 1);
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        size_t k;
        int ok = len > 0 && i + len <= n;
        for (k = 1; ok && k < len; k++) {
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) ok = 0;
            else cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3Fu);
        }
        if (ok && len > 1 && (cp < (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = 0;
        if (!ok) { memcpy(out + o, "\xEF\xBF\xBD", 3); o += 3; i++; continue; }
        if (len == 1 && (c < 0x20 || c == 0x7F)) { out[o++] = ' '; i++; continue; }
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
    }
    out[o] = 0;
    return out;
}

/* ---- a hash map of 64-bit keys to indexes (key 0 is "empty") ----------------------------------- */
typedef struct tr_map { uint64_t *keys; size_t *vals; size_t cap, n; } tr_map;
static void tr_map_free(tr_map *m) { free(m->keys); free(m->vals); memset(m, 0, sizeof *m); }
static size_t *tr_map_slot(tr_map *m, uint64_t key, int *found) {
    size_t i;
    if (m->cap == 0 || (m->n + 1) * 10 > m->cap * 7) {        /* grow at 70 % */
        tr_map old = *m;
        size_t k;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->keys = (uint64_t *)tr_alloc(m->cap * sizeof *m->keys);
        m->vals = (size_t *)tr_alloc(m->cap * sizeof *m->vals);
        m->n = 0;
        for (k = 0; k < old.cap; k++) {
            if (!old.keys[k]) continue;
            for (i = (size_t)(old.keys[k] & (m->cap - 1)); m->keys[i]; i = (i + 1) & (m->cap - 1)) {}
            m->keys[i] = old.keys[k];
            m->vals[i] = old.vals[k];
            m->n++;
        }
        tr_map_free(&old);
    }
    for (i = (size_t)(key & (m->cap - 1)); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key) { *found = 1; return &m->vals[i]; }
    m->keys[i] = key;
    m->n++;
    *found = 0;
    return &m->vals[i];
}
/* 1 when key was new. */
static int tr_set_add(tr_map *m, uint64_t key) { int found; tr_map_slot(m, key, &found); return !found; }

/* ---- what is counted ---------------------------------------------------------------------------- */
typedef struct tr_count { char *value; uint64_t reports, installs; } tr_count;
typedef struct tr_table {
    uint64_t seed;              /* tells the tables apart in the shared (value, install) set */
    tr_count *v;
    size_t n, cap;
    tr_map index;
    uint64_t other_reports;     /* values past TR_MAX_VALUES */
} tr_table;
typedef struct tr_day { int day; uint64_t reports, installs, first_runs; } tr_day;
typedef struct tr_daysum { int day; double sum; } tr_daysum;
typedef struct tr_bucket { double from, to; uint64_t count; int exp; } tr_bucket;
typedef struct tr_metric {
    char name[TR_MAX_KEY + 1];
    uint64_t reports, numbers, strings, booleans;
    double min, max, sum;
    double exact[TR_MAX_EXACT];
    uint64_t exact_count[TR_MAX_EXACT];
    int n_exact, inexact;
    tr_bucket *buckets;         /* power-of-2 buckets, used once there are too many numbers */
    size_t n_buckets, cap_buckets;
    uint64_t zero, all_numbers_seen;
    tr_table values;            /* strings and booleans */
} tr_metric;
typedef struct tr_counter {
    char name[TR_MAX_KEY + 1];
    uint64_t reports;
    double total;
    tr_daysum *days;
    size_t n_days, cap_days;
    tr_map day_index;
} tr_counter;

enum { TR_SKIP_NO_APP, TR_SKIP_NO_VERSION, TR_SKIP_NO_METRICS, TR_SKIP_BAD_TIME, TR_SKIP_BAD_FIELD, TR_SKIP_TOO_BIG, TR_SKIP_COUNT };
static const char *const tr_skip_names[TR_SKIP_COUNT] = {
    "no_app", "no_version", "no_metrics", "bad_time", "bad_field", "too_big"
};

typedef struct tr_summary {
    const char *only_app;
    uint64_t reports, first_runs, other_apps, skipped, skip[TR_SKIP_COUNT];
    double dropped_reports;
    tr_map installs;            /* install id hashes */
    tr_map seen;                /* (table, value, install) and (day, install) pairs */
    tr_day *days; size_t n_days, cap_days; tr_map day_index;
    tr_day *weeks; size_t n_weeks, cap_weeks; tr_map week_index;
    tr_table apps, versions, os, os_version, os_distribution, arch, library;
    tr_metric *metrics; size_t n_metrics, cap_metrics;
    tr_counter *counters; size_t n_counters, cap_counters;
    uint64_t dropped_ids;       /* metric or counter ids past TR_MAX_METRICS */
} tr_summary;

static void tr_table_add(tr_summary *s, tr_table *t, const char *value, size_t n, uint64_t install) {
    uint64_t h = tr_hash(t->seed, value, n);
    int found;
    size_t *slot;
    tr_count *c;
    slot = tr_map_slot(&t->index, h, &found);
    if (!found) {
        if (t->n >= TR_MAX_VALUES) { *slot = (size_t)-1; t->other_reports++; return; }
        t->v = (tr_count *)tr_grow(t->v, &t->cap, t->n + 1, sizeof *t->v);
        t->v[t->n].value = tr_clean(value, n);
        t->v[t->n].reports = t->v[t->n].installs = 0;
        *slot = t->n++;
    }
    if (*slot == (size_t)-1) { t->other_reports++; return; }
    c = &t->v[*slot];
    c->reports++;
    if (install && tr_set_add(&s->seen, tr_hash2(h, install))) c->installs++;
}
static tr_day *tr_day_get(tr_day **v, size_t *n, size_t *cap, tr_map *index, int day) {
    int found;
    size_t *slot = tr_map_slot(index, (uint64_t)day + 1, &found);
    if (!found) {
        *v = (tr_day *)tr_grow(*v, cap, *n + 1, sizeof **v);
        memset(&(*v)[*n], 0, sizeof **v);
        (*v)[*n].day = day;
        *slot = (*n)++;
    }
    return &(*v)[*slot];
}
static tr_metric *tr_metric_get(tr_summary *s, const char *name) {
    size_t i;
    for (i = 0; i < s->n_metrics; i++) if (!strcmp(s->metrics[i].name, name)) return &s->metrics[i];
    if (s->n_metrics >= TR_MAX_METRICS) { s->dropped_ids++; return NULL; }
    s->metrics = (tr_metric *)tr_grow(s->metrics, &s->cap_metrics, s->n_metrics + 1, sizeof *s->metrics);
    memset(&s->metrics[s->n_metrics], 0, sizeof *s->metrics);
    snprintf(s->metrics[s->n_metrics].name, sizeof s->metrics[0].name, "%s", name);
    s->metrics[s->n_metrics].values.seed = tr_hash(3, name, strlen(name));
    return &s->metrics[s->n_metrics++];
}
static tr_counter *tr_counter_get(tr_summary *s, const char *name) {
    size_t i;
    for (i = 0; i < s->n_counters; i++) if (!strcmp(s->counters[i].name, name)) return &s->counters[i];
    if (s->n_counters >= TR_MAX_METRICS) { s->dropped_ids++; return NULL; }
    s->counters = (tr_counter *)tr_grow(s->counters, &s->cap_counters, s->n_counters + 1, sizeof *s->counters);
    memset(&s->counters[s->n_counters], 0, sizeof *s->counters);
    snprintf(s->counters[s->n_counters].name, sizeof s->counters[0].name, "%s", name);
    return &s->counters[s->n_counters++];
}
/* Power-of-2 bucket of v: [2^e, 2^(e+1)) for v > 0, mirrored for v < 0. */
static void tr_bucket_add(tr_metric *m, double v, uint64_t count) {
    int e, code;
    size_t i;
    if (v == 0) { m->zero += count; return; }
    (void)frexp(fabs(v), &e);
    code = v > 0 ? e : -e - 10000;
    for (i = 0; i < m->n_buckets && m->buckets[i].exp != code; i++) {}
    if (i == m->n_buckets) {
        double lo = ldexp(1.0, e - 1), hi = ldexp(1.0, e);
        m->buckets = (tr_bucket *)tr_grow(m->buckets, &m->cap_buckets, m->n_buckets + 1, sizeof *m->buckets);
        m->buckets[i].exp = code;
        m->buckets[i].from = v > 0 ? lo : -hi;
        m->buckets[i].to = v > 0 ? hi : -lo;
        m->buckets[i].count = 0;
        m->n_buckets++;
    }
    m->buckets[i].count += count;
}
static void tr_metric_number(tr_metric *m, double v) {
    int i;
    if (m->numbers == 0 || v < m->min) m->min = v;
    if (m->numbers == 0 || v > m->max) m->max = v;
    m->numbers++;
    m->sum += v;
    if (!m->inexact) {
        for (i = 0; i < m->n_exact && m->exact[i] != v; i++) {}
        if (i < m->n_exact) { m->exact_count[i]++; return; }
        if (m->n_exact < TR_MAX_EXACT) { m->exact[i] = v; m->exact_count[i] = 1; m->n_exact++; return; }
        m->inexact = 1;                                   /* too many: move to buckets */
        for (i = 0; i < m->n_exact; i++) tr_bucket_add(m, m->exact[i], m->exact_count[i]);
    }
    tr_bucket_add(m, v, 1);
}

/* ---- a record while it is read: an object's fields (nested objects kept where they matter) ---- */
enum { TR_STR, TR_NUM, TR_BOOL, TR_NULL, TR_OBJ, TR_ARR };
struct tr_obj;
typedef struct tr_field {
    char key[TR_MAX_KEY + 1];
    int key_ok;                 /* the key fit (and so may be an id) */
    int type;
    char *str; size_t len;      /* TR_STR: cleaned later, bounded */
    double num;
    int b;
    struct tr_obj *obj;         /* TR_OBJ: kept for metrics, counters and server_time, else NULL */
} tr_field;
typedef struct tr_obj { tr_field *f; size_t n, cap; int too_big; } tr_obj;

static void tr_obj_free(tr_obj *o) {
    size_t i;
    if (!o) return;
    for (i = 0; i < o->n; i++) { free(o->f[i].str); tr_obj_free(o->f[i].obj); }
    free(o->f);
    free(o);
}
static tr_field *tr_obj_add(tr_obj *o, const char *key, size_t klen, int key_trunc) {
    tr_field *f;
    if (o->n >= TR_MAX_FIELDS) { o->too_big = 1; return NULL; }
    o->f = (tr_field *)tr_grow(o->f, &o->cap, o->n + 1, sizeof *o->f);
    f = &o->f[o->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->key, key, klen > TR_MAX_KEY ? TR_MAX_KEY : klen);
    f->key_ok = !key_trunc && klen <= TR_MAX_KEY && klen > 0 && strlen(f->key) == klen;
    return f;
}
static const tr_field *tr_get(const tr_obj *o, const char *key) {
    size_t i;
    if (!o) return NULL;
    for (i = 0; i < o->n; i++) if (!strcmp(o->f[i].key, key)) return &o->f[i];
    return NULL;
}
static const char *tr_get_str(const tr_obj *o, const char *key, size_t *len) {
    const tr_field *f = tr_get(o, key);
    if (!f || f->type != TR_STR) return NULL;
    *len = f->len;
    return f->str;
}

/* "2026-11-26T10:00:00.000Z" (or with an offset): the UTC day number since 1970-01-01, or -1. */
static long tr_days_from_civil(long y, unsigned m, unsigned d) {
    long era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}
static int tr_digits(const char *s, int n, int *out) {
    int i, v = 0;
    for (i = 0; i < n; i++) { if (s[i] < '0' || s[i] > '9') return 0; v = v * 10 + (s[i] - '0'); }
    *out = v;
    return 1;
}
static int tr_parse_day(const char *s, size_t n) {
    int y, mo, d, h, mi, se;
    long day, mins = 0;
    const char *p;
    if (n < 20 || n > 40) return -1;
    if (!tr_digits(s, 4, &y) || s[4] != '-' || !tr_digits(s + 5, 2, &mo) || s[7] != '-' || !tr_digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !tr_digits(s + 11, 2, &h) || s[13] != ':' ||
        !tr_digits(s + 14, 2, &mi) || s[16] != ':' || !tr_digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    p = s + 19;
    if (*p == '.') { p++; while (p < s + n && *p >= '0' && *p <= '9') p++; }
    if (p < s + n && (*p == 'Z' || *p == 'z') && p + 1 == s + n) mins = 0;
    else if (p + 6 == s + n && (*p == '+' || *p == '-') && p[3] == ':') {
        int oh, om;
        if (!tr_digits(p + 1, 2, &oh) || !tr_digits(p + 4, 2, &om) || oh > 23 || om > 59) return -1;
        mins = (*p == '+' ? -1 : 1) * (oh * 60 + om);
    } else return -1;
    day = tr_days_from_civil(y, (unsigned)mo, (unsigned)d);
    mins += h * 60 + mi;
    day += mins < 0 ? -1 : mins >= 1440 ? 1 : 0;
    if (day < TR_FIRST_DAY || day >= TR_LAST_DAY) return -1;
    return (int)day;
}
static void tr_format_day(int day, char out[16]) {        /* days since 1970-01-01 -> "YYYY-MM-DD" */
    long z = (long)day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long y = (long)yoe + era * 400 + (m <= 2);
    snprintf(out, 16, "%04u-%02u-%02u", (unsigned)(y < 0 ? 0 : y % 10000), m % 100u, d % 100u);
}

static int tr_is_builtin(const char *k) {
    static const char *const b[] = { "app", "app_version", "arch", "first_run", "library_version", "os", "os_distribution", "os_version" };
    size_t i;
    for (i = 0; i < sizeof b / sizeof b[0]; i++) if (!strcmp(k, b[i])) return 1;
    return 0;
}
static int tr_valid_id(const tr_field *f) {
    const char *p;
    if (!f->key_ok) return 0;
    for (p = f->key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) return 0;
    return 1;
}

/* One record: checked, then counted. */
static void tr_record(tr_summary *s, const tr_obj *r) {
    size_t app_n = 0, ver_n = 0, ts_n = 0, id_n = 0, lib_n = 0, i;
    const char *app = tr_get_str(r, "app", &app_n), *ver = tr_get_str(r, "version", &ver_n);
    const char *ts = tr_get_str(r, "timestamp", &ts_n), *id, *lib = tr_get_str(r, "library", &lib_n);
    const tr_field *metrics = tr_get(r, "metrics"), *counters = tr_get(r, "counters");
    const tr_field *st = tr_get(r, "server_time"), *dr = tr_get(r, "dropped_reports"), *idf = tr_get(r, "install_id");
    const tr_field *fr;
    const tr_obj *mo;
    uint64_t install = 0;
    int day = -1, week, reason = -1;
    tr_day *d;
    if (r->too_big || (metrics && metrics->obj && metrics->obj->too_big) || (counters && counters->obj && counters->obj->too_big)) reason = TR_SKIP_TOO_BIG;
    else if (!app || app_n == 0) reason = TR_SKIP_NO_APP;
    else if (!ver || ver_n == 0) reason = TR_SKIP_NO_VERSION;
    else if (!metrics || metrics->type != TR_OBJ || !metrics->obj) reason = TR_SKIP_NO_METRICS;
    else if ((idf && idf->type != TR_STR && idf->type != TR_NULL) || (counters && counters->type != TR_OBJ && counters->type != TR_NULL) ||
             (dr && dr->type != TR_NUM && dr->type != TR_NULL) || (dr && dr->type == TR_NUM && (dr->num < 0 || dr->num > 1e12)))
        reason = TR_SKIP_BAD_FIELD;
    else {
        if (st && st->type == TR_NUM && st->num >= (double)TR_FIRST_DAY * 86400000.0 && st->num < (double)TR_LAST_DAY * 86400000.0)
            day = (int)floor(st->num / 86400000.0);     /* the server's clock, where Firebase filled it in */
        else if (ts) day = tr_parse_day(ts, ts_n);
        if (day < 0) reason = TR_SKIP_BAD_TIME;
    }
    if (reason >= 0) { s->skipped++; s->skip[reason]++; return; }
    if (s->only_app && (strlen(s->only_app) != app_n || memcmp(s->only_app, app, app_n) != 0)) { s->other_apps++; return; }

    s->reports++;
    if ((id = tr_get_str(r, "install_id", &id_n)) != NULL && id_n > 0) {
        install = tr_hash(0x696e7374ULL, id, id_n);
        tr_set_add(&s->installs, install);
    }
    mo = metrics->obj;
    fr = tr_get(mo, "first_run");
    d = tr_day_get(&s->days, &s->n_days, &s->cap_days, &s->day_index, day);
    d->reports++;
    if (install && tr_set_add(&s->seen, tr_hash2(0x646179ULL + (uint64_t)day, install))) d->installs++;
    if (fr && fr->type == TR_BOOL && fr->b) {      /* every report of the install's first run says so: count the install */
        if (!install || tr_set_add(&s->seen, tr_hash2(0x6e6577ULL + (uint64_t)day, install))) d->first_runs++;
        if (!install || tr_set_add(&s->seen, tr_hash2(0x6e6577ULL, install))) s->first_runs++;
    }
    week = day - (int)(((long)day + 3) % 7);            /* the Monday of its week (1970-01-01 was a Thursday) */
    d = tr_day_get(&s->weeks, &s->n_weeks, &s->cap_weeks, &s->week_index, week);
    d->reports++;
    if (install && tr_set_add(&s->seen, tr_hash2(0x7765656bULL + (uint64_t)week, install))) d->installs++;
    if (dr && dr->type == TR_NUM) s->dropped_reports += dr->num;

    tr_table_add(s, &s->apps, app, app_n, install);
    tr_table_add(s, &s->versions, ver, ver_n, install);
    if (lib) tr_table_add(s, &s->library, lib, lib_n, install);
    {
        static const char *const dims[] = { "os", "os_version", "os_distribution", "arch" };
        tr_table *tables[4];
        size_t k, n;
        const char *v;
        tables[0] = &s->os; tables[1] = &s->os_version; tables[2] = &s->os_distribution; tables[3] = &s->arch;
        for (k = 0; k < 4; k++) if ((v = tr_get_str(mo, dims[k], &n)) != NULL) tr_table_add(s, tables[k], v, n, install);
    }
    for (i = 0; i < mo->n; i++) {
        const tr_field *f = &mo->f[i];
        tr_metric *m;
        if (tr_is_builtin(f->key) || !tr_valid_id(f) || f->type == TR_NULL) continue;
        if (!(m = tr_metric_get(s, f->key))) continue;
        m->reports++;
        if (f->type == TR_NUM) tr_metric_number(m, f->num);
        else if (f->type == TR_STR) { m->strings++; tr_table_add(s, &m->values, f->str, f->len, install); }
        else if (f->type == TR_BOOL) { m->booleans++; tr_table_add(s, &m->values, f->b ? "true" : "false", f->b ? 4 : 5, install); }
    }
    if (counters && counters->obj) {
        const tr_obj *co = counters->obj;
        for (i = 0; i < co->n; i++) {
            const tr_field *f = &co->f[i];
            tr_counter *c;
            size_t *slot;
            int found;
            if (f->type != TR_NUM || !tr_valid_id(f) || !(c = tr_counter_get(s, f->key))) continue;
            c->reports++;
            c->total += f->num;
            slot = tr_map_slot(&c->day_index, (uint64_t)day + 1, &found);
            if (!found) {
                c->days = (tr_daysum *)tr_grow(c->days, &c->cap_days, c->n_days + 1, sizeof *c->days);
                c->days[c->n_days].day = day;
                c->days[c->n_days].sum = 0;
                *slot = c->n_days++;
            }
            c->days[*slot].sum += f->num;
        }
    }
}

/* ---- the streaming JSON parser: bytes in, in pieces of any size ------------------------------ */
enum { P_VALUE, P_VALUE_OR_END, P_KEY_OR_END, P_KEY, P_COLON, P_COMMA_OR_END, P_TOP };
enum { L_NONE, L_STRING, L_ESCAPE, L_UNICODE, L_NUMBER, L_LITERAL };
typedef struct tr_parser {
    tr_summary *sum;
    int state, lex, depth, failed;
    char kind[TR_MAX_DEPTH];            /* 'o' object, 'a' array */
    tr_obj *objs[TR_MAX_DEPTH + 1];     /* the open objects (NULL for arrays) */
    char okey[TR_MAX_DEPTH + 1][TR_MAX_KEY + 1];   /* each open container's key in its parent */
    int okey_ok[TR_MAX_DEPTH + 1];
    char key[TR_MAX_KEY + 2]; size_t key_len; int key_trunc;
    int in_key;
    char str[TR_MAX_STRING + 4]; size_t str_len; int str_trunc;
    uint32_t u, hi; int u_digits;
    char num[40]; size_t num_len;
    const char *lit; size_t lit_pos; int lit_type;
    uint64_t offset, line, values;
    char error[240];
} tr_parser;

static void tr_parser_init(tr_parser *p, tr_summary *s) {
    memset(p, 0, sizeof *p);
    p->sum = s;
    p->state = P_VALUE;
    p->line = 1;
}
static int tr_fail(tr_parser *p, const char *why) {
    if (!p->failed) snprintf(p->error, sizeof p->error, "%s at line %llu, byte %llu", why, (unsigned long long)p->line, (unsigned long long)p->offset);
    p->failed = 1;
    return -1;
}
/* The key the next value has in its object ("" in an array or at the top). */
static void tr_take_key(tr_parser *p, const char **k, size_t *n, int *trunc) {
    if (p->depth > 0 && p->kind[p->depth - 1] == 'o') { *k = p->key; *n = p->key_len; *trunc = p->key_trunc; }
    else { *k = ""; *n = 0; *trunc = 1; }
}
static void tr_after_value(tr_parser *p) {
    if (p->depth == 0) { p->values++; p->state = P_TOP; }
    else p->state = P_COMMA_OR_END;
}
static void tr_scalar(tr_parser *p, int type, double num, int b) {
    const char *k;
    size_t n;
    int trunc;
    tr_obj *parent = p->depth > 0 ? p->objs[p->depth - 1] : NULL;
    tr_take_key(p, &k, &n, &trunc);
    if (parent && !parent->too_big) {
        tr_field *f = tr_obj_add(parent, k, n, trunc);
        if (f) {
            f->type = type;
            f->num = num;
            f->b = b;
            if (type == TR_STR) { f->str = tr_strndup(p->str, p->str_len); f->len = p->str_len; }
        }
    }
    tr_after_value(p);
}
static int tr_begin(tr_parser *p, char kind) {
    const char *k;
    size_t n;
    int trunc;
    if (p->depth >= TR_MAX_DEPTH) return tr_fail(p, "nesting deeper than 64 levels");
    tr_take_key(p, &k, &n, &trunc);
    memcpy(p->okey[p->depth], k, n > TR_MAX_KEY ? TR_MAX_KEY : n);
    p->okey[p->depth][n > TR_MAX_KEY ? TR_MAX_KEY : n] = 0;
    p->okey_ok[p->depth] = !trunc && n <= TR_MAX_KEY;
    p->kind[p->depth] = kind;
    p->objs[p->depth] = kind == 'o' ? (tr_obj *)tr_alloc(sizeof(tr_obj)) : NULL;
    p->depth++;
    p->state = kind == 'o' ? P_KEY_OR_END : P_VALUE_OR_END;
    return 0;
}
static int tr_is_record(const tr_obj *o) {
    return tr_get(o, "metrics") != NULL || (tr_get(o, "app") && tr_get(o, "timestamp"));
}
static void tr_end(tr_parser *p) {
    tr_obj *o;
    tr_obj *parent;
    const char *k;
    int nested;
    p->depth--;
    o = p->objs[p->depth];
    p->objs[p->depth] = NULL;
    parent = p->depth > 0 ? p->objs[p->depth - 1] : NULL;
    k = p->okey[p->depth];
    nested = parent && (!strcmp(k, "metrics") || !strcmp(k, "counters") || !strcmp(k, "server_time"));
    if (o && !nested && tr_is_record(o)) {                       /* a usage record: count it, forget it */
        tr_record(p->sum, o);
        tr_obj_free(o);
        o = NULL;
    } else if (parent && !parent->too_big) {          /* a field of the object around it */
        tr_field *f = tr_obj_add(parent, k, strlen(k), !p->okey_ok[p->depth]);
        if (f) {
            f->type = p->kind[p->depth] == 'o' ? TR_OBJ : TR_ARR;
            if (o && nested) { f->obj = o; o = NULL; }
        }
    }
    tr_obj_free(o);
    tr_after_value(p);
}
static int tr_number_done(tr_parser *p) {
    size_t i = 0, n = p->num_len;
    const char *s = p->num;
    double v;
    p->num[n] = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return tr_fail(p, "bad number");
    if (i < n && s[i] == '.') { i++; if (i >= n || s[i] < '0' || s[i] > '9') return tr_fail(p, "bad number"); while (i < n && s[i] >= '0' && s[i] <= '9') i++; }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return tr_fail(p, "bad number");
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i != n) return tr_fail(p, "bad number");
    v = strtod(s, NULL);
    p->lex = L_NONE;
    if (!isfinite(v)) { tr_scalar(p, TR_ARR, 0, 0); return 0; }   /* out of range: a wrong-typed field */
    tr_scalar(p, TR_NUM, v, 0);
    return 0;
}
static void tr_str_put(tr_parser *p, const char *b, size_t n) {
    char *dst = p->in_key ? p->key : p->str;
    size_t *len = p->in_key ? &p->key_len : &p->str_len;
    size_t cap = p->in_key ? TR_MAX_KEY + 1 : TR_MAX_STRING;
    int *trunc = p->in_key ? &p->key_trunc : &p->str_trunc;
    if (*len + n > cap) {                      /* keep what fits, ending on a whole character */
        size_t k = cap - *len, start;
        memcpy(dst + *len, b, k);
        *len += k;
        *trunc = 1;
        for (start = *len; start > 0 && *len - start < 4 && ((unsigned char)dst[start - 1] & 0xC0) == 0x80; start--) {}
        if (start > 0 && ((unsigned char)dst[start - 1] & 0x80)) {
            unsigned char lead = (unsigned char)dst[start - 1];
            size_t want = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
            if (*len - (start - 1) < want) *len = start - 1;
        }
        return;
    }
    memcpy(dst + *len, b, n);
    *len += n;
}
static void tr_put_cp(tr_parser *p, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) { u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
    else { u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3F)); u[2] = (char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
    tr_str_put(p, u, n);
}
static int tr_string_done(tr_parser *p) {
    p->lex = L_NONE;
    if (p->hi) return tr_fail(p, "lone surrogate in a string");
    if (p->in_key) { p->key[p->key_len < sizeof p->key ? p->key_len : sizeof p->key - 1] = 0; p->state = P_COLON; return 0; }
    tr_scalar(p, TR_STR, 0, 0);
    return 0;
}

/* Feeds bytes; 0, or -1 with p->error. */
static int tr_parser_feed(tr_parser *p, const char *data, size_t len) {
    size_t i = 0;
    if (p->failed) return -1;
    while (i < len) {
        char c = data[i];
        switch (p->lex) {
        case L_STRING: {
            size_t j = i;
            while (j < len && data[j] != '"' && data[j] != '\\' && (unsigned char)data[j] >= 0x20) j++;
            if (j > i) { if (p->hi) return tr_fail(p, "lone surrogate in a string"); tr_str_put(p, data + i, j - i); p->offset += j - i; i = j; continue; }
            p->offset++; i++;
            if (c == '"') { if (tr_string_done(p)) return -1; }
            else if (c == '\\') p->lex = L_ESCAPE;
            else return tr_fail(p, c == '\n' ? "unterminated string" : "control character in a string");
            continue;
        }
        case L_ESCAPE: {
            const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
            const char *m;
            p->offset++; i++;
            if (c == 'u') { p->lex = L_UNICODE; p->u = 0; p->u_digits = 0; continue; }
            if (p->hi) return tr_fail(p, "lone surrogate in a string");
            for (m = map; *m && *m != c; m += 2) {}
            if (!*m) return tr_fail(p, "bad escape in a string");
            tr_str_put(p, m + 1, 1);
            p->lex = L_STRING;
            continue;
        }
        case L_UNICODE:
            p->offset++; i++;
            if (c >= '0' && c <= '9') p->u = p->u * 16 + (uint32_t)(c - '0');
            else if (c >= 'a' && c <= 'f') p->u = p->u * 16 + (uint32_t)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') p->u = p->u * 16 + (uint32_t)(c - 'A' + 10);
            else return tr_fail(p, "bad \\u escape in a string");
            if (++p->u_digits < 4) continue;
            p->lex = L_STRING;
            if (p->u >= 0xD800 && p->u <= 0xDBFF) { if (p->hi) return tr_fail(p, "lone surrogate in a string"); p->hi = p->u; }
            else if (p->u >= 0xDC00 && p->u <= 0xDFFF) {
                if (!p->hi) return tr_fail(p, "lone surrogate in a string");
                tr_put_cp(p, 0x10000 + ((p->hi - 0xD800) << 10) + (p->u - 0xDC00));
                p->hi = 0;
            } else { if (p->hi) return tr_fail(p, "lone surrogate in a string"); tr_put_cp(p, p->u); }
            continue;
        case L_NUMBER:
            if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
                if (p->num_len + 1 >= sizeof p->num) return tr_fail(p, "number too long");
                p->num[p->num_len++] = c;
                p->offset++; i++;
                continue;
            }
            if (tr_number_done(p)) return -1;
            continue;                                  /* c is looked at again */
        case L_LITERAL:
            if (c != p->lit[p->lit_pos]) return tr_fail(p, "unexpected character");
            p->offset++; i++;
            if (p->lit[++p->lit_pos] == 0) { p->lex = L_NONE; if (p->lit_type >= 0) tr_scalar(p, p->lit_type, 0, p->lit[0] == 't'); }
            continue;
        default: break;
        }
        p->offset++; i++;
        if (c == ' ' || c == '\t' || c == '\r') continue;
        if (c == '\n') { p->line++; continue; }
        switch (p->state) {
        case P_KEY_OR_END: case P_KEY:
            if (c == '}' && p->state == P_KEY_OR_END) { tr_end(p); continue; }
            if (c != '"') return tr_fail(p, "expected a key");
            p->lex = L_STRING; p->in_key = 1; p->key_len = 0; p->key_trunc = 0; p->hi = 0;
            continue;
        case P_COLON:
            if (c != ':') return tr_fail(p, "expected ':'");
            p->state = P_VALUE;
            continue;
        case P_COMMA_OR_END:
            if (c == ',') { p->state = p->kind[p->depth - 1] == 'o' ? P_KEY : P_VALUE; continue; }
            if (c == (p->kind[p->depth - 1] == 'o' ? '}' : ']')) { tr_end(p); continue; }
            return tr_fail(p, "expected ',' or the end of the object or array");
        case P_VALUE_OR_END:
            if (c == ']') { tr_end(p); continue; }
            /* fall through */
        case P_VALUE: case P_TOP:
            switch (c) {
            case '{': if (tr_begin(p, 'o')) return -1; continue;
            case '[': if (tr_begin(p, 'a')) return -1; continue;
            case '"': p->lex = L_STRING; p->in_key = 0; p->str_len = 0; p->str_trunc = 0; p->hi = 0; continue;
            case 't': p->lex = L_LITERAL; p->lit = "true"; p->lit_pos = 1; p->lit_type = TR_BOOL; continue;
            case 'f': p->lex = L_LITERAL; p->lit = "false"; p->lit_pos = 1; p->lit_type = TR_BOOL; continue;
            case 'n': p->lex = L_LITERAL; p->lit = "null"; p->lit_pos = 1; p->lit_type = TR_NULL; continue;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) { p->lex = L_NUMBER; p->num_len = 0; p->num[p->num_len++] = c; continue; }
                if (c == '<') return tr_fail(p, "not JSON (it starts like an HTML page)");
                if (p->offset == 1 && (unsigned char)c == 0xEF) {    /* a UTF-8 byte order mark */
                    p->lex = L_LITERAL; p->lit = "\xEF\xBB\xBF"; p->lit_pos = 1; p->lit_type = -1;
                    continue;
                }
                return tr_fail(p, "unexpected character");
            }
        default:
            return tr_fail(p, "parser state");
        }
    }
    return 0;
}
/* The input ended: 0 when it was complete JSON holding at least one value. */
static int tr_parser_finish(tr_parser *p) {
    if (p->failed) return -1;
    if (p->lex == L_NUMBER && p->depth == 0 && tr_number_done(p)) return -1;
    if (p->lex != L_NONE || p->depth > 0) return tr_fail(p, "the input ends in the middle of the JSON (truncated?)");
    if (p->values == 0) return tr_fail(p, "the input is empty");
    return 0;
}
static void tr_parser_free(tr_parser *p) {
    int k;
    for (k = 0; k <= TR_MAX_DEPTH; k++) { tr_obj_free(p->objs[k]); p->objs[k] = NULL; }
}

/* ---- the summary, sorted ------------------------------------------------------------------------ */
static int tr_cmp_count(const void *a, const void *b) {
    const tr_count *x = (const tr_count *)a, *y = (const tr_count *)b;
    if (x->installs != y->installs) return x->installs < y->installs ? 1 : -1;
    if (x->reports != y->reports) return x->reports < y->reports ? 1 : -1;
    return strcmp(x->value, y->value);
}
static int tr_cmp_day(const void *a, const void *b) { return ((const tr_day *)a)->day - ((const tr_day *)b)->day; }
static int tr_cmp_daysum(const void *a, const void *b) { return ((const tr_daysum *)a)->day - ((const tr_daysum *)b)->day; }
static int tr_cmp_bucket(const void *a, const void *b) {
    double x = ((const tr_bucket *)a)->from, y = ((const tr_bucket *)b)->from;
    return x < y ? -1 : x > y;
}
static int tr_cmp_metric(const void *a, const void *b) { return strcmp(((const tr_metric *)a)->name, ((const tr_metric *)b)->name); }
static int tr_cmp_counter(const void *a, const void *b) { return strcmp(((const tr_counter *)a)->name, ((const tr_counter *)b)->name); }
static void tr_sort(tr_summary *s) {
    tr_table *t[7];
    size_t k, i;
    t[0] = &s->apps; t[1] = &s->versions; t[2] = &s->os; t[3] = &s->os_version; t[4] = &s->os_distribution; t[5] = &s->arch; t[6] = &s->library;
    for (k = 0; k < 7; k++) if (t[k]->n) qsort(t[k]->v, t[k]->n, sizeof *t[k]->v, tr_cmp_count);
    if (s->n_days) qsort(s->days, s->n_days, sizeof *s->days, tr_cmp_day);
    if (s->n_weeks) qsort(s->weeks, s->n_weeks, sizeof *s->weeks, tr_cmp_day);
    if (s->n_metrics) qsort(s->metrics, s->n_metrics, sizeof *s->metrics, tr_cmp_metric);
    if (s->n_counters) qsort(s->counters, s->n_counters, sizeof *s->counters, tr_cmp_counter);
    for (i = 0; i < s->n_metrics; i++) {
        tr_metric *m = &s->metrics[i];
        if (m->values.n) qsort(m->values.v, m->values.n, sizeof *m->values.v, tr_cmp_count);
        if (m->zero && m->inexact) {                   /* zero gets a bucket of its own */
            m->buckets = (tr_bucket *)tr_grow(m->buckets, &m->cap_buckets, m->n_buckets + 1, sizeof *m->buckets);
            m->buckets[m->n_buckets].from = m->buckets[m->n_buckets].to = 0;
            m->buckets[m->n_buckets].count = m->zero;
            m->n_buckets++;
            m->zero = 0;
        }
        if (m->n_buckets) qsort(m->buckets, m->n_buckets, sizeof *m->buckets, tr_cmp_bucket);
        if (!m->inexact) {                             /* exact values, in order, as buckets of one */
            int a, b;
            for (a = 1; a < m->n_exact; a++)
                for (b = a; b > 0 && m->exact[b - 1] > m->exact[b]; b--) {
                    double tv = m->exact[b]; uint64_t tc = m->exact_count[b];
                    m->exact[b] = m->exact[b - 1]; m->exact_count[b] = m->exact_count[b - 1];
                    m->exact[b - 1] = tv; m->exact_count[b - 1] = tc;
                }
        }
    }
    for (i = 0; i < s->n_counters; i++)
        if (s->counters[i].n_days) qsort(s->counters[i].days, s->counters[i].n_days, sizeof *s->counters[i].days, tr_cmp_daysum);
}
static void tr_table_free(tr_table *t) {
    size_t i;
    for (i = 0; i < t->n; i++) free(t->v[i].value);
    free(t->v);
    tr_map_free(&t->index);
}
static void tr_summary_init(tr_summary *s) {
    memset(s, 0, sizeof *s);
    s->apps.seed = 11; s->versions.seed = 12; s->os.seed = 13; s->os_version.seed = 14;
    s->os_distribution.seed = 15; s->arch.seed = 16; s->library.seed = 17;
}
static void tr_summary_free(tr_summary *s) {
    size_t i;
    tr_map_free(&s->installs); tr_map_free(&s->seen); tr_map_free(&s->day_index); tr_map_free(&s->week_index);
    free(s->days); free(s->weeks);
    tr_table_free(&s->apps); tr_table_free(&s->versions); tr_table_free(&s->os); tr_table_free(&s->os_version);
    tr_table_free(&s->os_distribution); tr_table_free(&s->arch); tr_table_free(&s->library);
    for (i = 0; i < s->n_metrics; i++) { tr_table_free(&s->metrics[i].values); free(s->metrics[i].buckets); }
    for (i = 0; i < s->n_counters; i++) { free(s->counters[i].days); tr_map_free(&s->counters[i].day_index); }
    free(s->metrics); free(s->counters);
    memset(s, 0, sizeof *s);
}
static uint64_t tr_installs(const tr_summary *s) { return (uint64_t)s->installs.n; }
/* A value's share: of installs when reports carry install ids, else of reports. */
static double tr_share(const tr_summary *s, const tr_count *c, uint64_t reports) {
    if (tr_installs(s)) return (double)c->installs / (double)tr_installs(s);
    return reports ? (double)c->reports / (double)reports : 0;
}

/* ---- JSON out (the library's writer: always valid JSON) ---------------------------------------- */
static void tr_json_table(tr_summary *s, telemetry__json *j, const char *key, const tr_table *t, uint64_t reports) {
    size_t i;
    telemetry__json_key(j, key);
    telemetry__json_array_begin(j);
    for (i = 0; i < t->n; i++) {
        telemetry__json_object_begin(j);
        telemetry__json_key(j, "value"); telemetry__json_string(j, t->v[i].value);
        telemetry__json_key(j, "reports"); telemetry__json_int(j, (int64_t)t->v[i].reports);
        telemetry__json_key(j, "installs"); telemetry__json_int(j, (int64_t)t->v[i].installs);
        telemetry__json_key(j, "share"); telemetry__json_double(j, tr_share(s, &t->v[i], reports));
        telemetry__json_object_end(j);
    }
    if (t->other_reports) {
        telemetry__json_object_begin(j);
        telemetry__json_key(j, "value"); telemetry__json_string(j, "(other)");
        telemetry__json_key(j, "reports"); telemetry__json_int(j, (int64_t)t->other_reports);
        telemetry__json_object_end(j);
    }
    telemetry__json_array_end(j);
}
static void tr_json_number(telemetry__json *j, double v) {
    if (v == floor(v) && fabs(v) < 9e15) telemetry__json_int(j, (int64_t)v);
    else telemetry__json_double(j, v);
}
static int tr_write_json(tr_summary *s, telemetry__buf *out) {
    telemetry__json j;
    char date[16];
    size_t i, k;
    telemetry__json_init(&j, out);
    telemetry__json_object_begin(&j);
    telemetry__json_key(&j, "reports"); telemetry__json_int(&j, (int64_t)s->reports);
    telemetry__json_key(&j, "installs"); telemetry__json_int(&j, (int64_t)tr_installs(s));
    telemetry__json_key(&j, "first_runs"); telemetry__json_int(&j, (int64_t)s->first_runs);
    telemetry__json_key(&j, "dropped_reports"); tr_json_number(&j, s->dropped_reports);
    telemetry__json_key(&j, "skipped"); telemetry__json_int(&j, (int64_t)s->skipped);
    telemetry__json_key(&j, "skipped_reasons");
    telemetry__json_object_begin(&j);
    for (k = 0; k < TR_SKIP_COUNT; k++) if (s->skip[k]) { telemetry__json_key(&j, tr_skip_names[k]); telemetry__json_int(&j, (int64_t)s->skip[k]); }
    telemetry__json_object_end(&j);
    telemetry__json_key(&j, "other_apps"); telemetry__json_int(&j, (int64_t)s->other_apps);
    telemetry__json_key(&j, "days");
    telemetry__json_array_begin(&j);
    for (i = 0; i < s->n_days; i++) {
        tr_format_day(s->days[i].day, date);
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "date"); telemetry__json_string(&j, date);
        telemetry__json_key(&j, "reports"); telemetry__json_int(&j, (int64_t)s->days[i].reports);
        telemetry__json_key(&j, "installs"); telemetry__json_int(&j, (int64_t)s->days[i].installs);
        telemetry__json_key(&j, "first_runs"); telemetry__json_int(&j, (int64_t)s->days[i].first_runs);
        telemetry__json_object_end(&j);
    }
    telemetry__json_array_end(&j);
    telemetry__json_key(&j, "weeks");
    telemetry__json_array_begin(&j);
    for (i = 0; i < s->n_weeks; i++) {
        tr_format_day(s->weeks[i].day, date);
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "week"); telemetry__json_string(&j, date);
        telemetry__json_key(&j, "reports"); telemetry__json_int(&j, (int64_t)s->weeks[i].reports);
        telemetry__json_key(&j, "installs"); telemetry__json_int(&j, (int64_t)s->weeks[i].installs);
        telemetry__json_object_end(&j);
    }
    telemetry__json_array_end(&j);
    tr_json_table(s, &j, "apps", &s->apps, s->reports);
    tr_json_table(s, &j, "versions", &s->versions, s->reports);
    tr_json_table(s, &j, "os", &s->os, s->reports);
    tr_json_table(s, &j, "os_version", &s->os_version, s->reports);
    tr_json_table(s, &j, "os_distribution", &s->os_distribution, s->reports);
    tr_json_table(s, &j, "arch", &s->arch, s->reports);
    tr_json_table(s, &j, "library", &s->library, s->reports);
    telemetry__json_key(&j, "metrics");
    telemetry__json_object_begin(&j);
    for (i = 0; i < s->n_metrics; i++) {
        tr_metric *m = &s->metrics[i];
        telemetry__json_key(&j, m->name);
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "reports"); telemetry__json_int(&j, (int64_t)m->reports);
        telemetry__json_key(&j, "numbers"); telemetry__json_int(&j, (int64_t)m->numbers);
        telemetry__json_key(&j, "strings"); telemetry__json_int(&j, (int64_t)m->strings);
        telemetry__json_key(&j, "booleans"); telemetry__json_int(&j, (int64_t)m->booleans);
        if (m->numbers) {
            telemetry__json_key(&j, "min"); tr_json_number(&j, m->min);
            telemetry__json_key(&j, "max"); tr_json_number(&j, m->max);
            telemetry__json_key(&j, "mean"); telemetry__json_double(&j, m->sum / (double)m->numbers);
            telemetry__json_key(&j, "histogram");
            telemetry__json_array_begin(&j);
            if (!m->inexact) {
                for (k = 0; k < (size_t)m->n_exact; k++) {
                    telemetry__json_object_begin(&j);
                    telemetry__json_key(&j, "from"); tr_json_number(&j, m->exact[k]);
                    telemetry__json_key(&j, "to"); tr_json_number(&j, m->exact[k]);
                    telemetry__json_key(&j, "count"); telemetry__json_int(&j, (int64_t)m->exact_count[k]);
                    telemetry__json_object_end(&j);
                }
            } else {
                for (k = 0; k < m->n_buckets; k++) {
                    telemetry__json_object_begin(&j);
                    telemetry__json_key(&j, "from"); tr_json_number(&j, m->buckets[k].from);
                    telemetry__json_key(&j, "to"); tr_json_number(&j, m->buckets[k].to);
                    telemetry__json_key(&j, "count"); telemetry__json_int(&j, (int64_t)m->buckets[k].count);
                    telemetry__json_object_end(&j);
                }
            }
            telemetry__json_array_end(&j);
        }
        if (m->values.n) tr_json_table(s, &j, "values", &m->values, m->strings + m->booleans);
        telemetry__json_object_end(&j);
    }
    telemetry__json_object_end(&j);
    telemetry__json_key(&j, "counters");
    telemetry__json_object_begin(&j);
    for (i = 0; i < s->n_counters; i++) {
        tr_counter *c = &s->counters[i];
        telemetry__json_key(&j, c->name);
        telemetry__json_object_begin(&j);
        telemetry__json_key(&j, "total"); tr_json_number(&j, c->total);
        telemetry__json_key(&j, "reports"); telemetry__json_int(&j, (int64_t)c->reports);
        telemetry__json_key(&j, "days");
        telemetry__json_array_begin(&j);
        for (k = 0; k < c->n_days; k++) {
            tr_format_day(c->days[k].day, date);
            telemetry__json_object_begin(&j);
            telemetry__json_key(&j, "date"); telemetry__json_string(&j, date);
            telemetry__json_key(&j, "sum"); tr_json_number(&j, c->days[k].sum);
            telemetry__json_object_end(&j);
        }
        telemetry__json_array_end(&j);
        telemetry__json_object_end(&j);
    }
    telemetry__json_object_end(&j);
    telemetry__json_object_end(&j);
    if (telemetry__json_finish(&j) != 0) return -1;
    return telemetry__buf_puts(out, "\n") ? -1 : 0;
}

/* ---- text out ------------------------------------------------------------------------------------ */
static void tr_print_num(FILE *f, double v) {
    if (v == floor(v) && fabs(v) < 9e15) fprintf(f, "%lld", (long long)v);
    else fprintf(f, "%.6g", v);
}
/* At most max bytes of s, cut at a character boundary. */
static void tr_cut(char *out, size_t cap, const char *s, size_t max) {
    size_t n = strlen(s);
    if (max >= cap) max = cap - 1;
    if (n > max) { n = max; while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; }
    memcpy(out, s, n);
    out[n] = 0;
}
static void tr_text_table(FILE *f, tr_summary *s, const char *title, const tr_table *t, uint64_t reports, size_t top) {
    size_t i;
    char v[40];
    if (!t->n) return;
    fprintf(f, "\n%s\n", title);
    for (i = 0; i < t->n && i < top && (tr_cut(v, sizeof v, t->v[i].value, 32), 1); i++)
        fprintf(f, "  %-32s %6.1f %%  %8llu installs %10llu reports\n", v, 100.0 * tr_share(s, &t->v[i], reports),
                (unsigned long long)t->v[i].installs, (unsigned long long)t->v[i].reports);
    if (t->n > top) fprintf(f, "  ... %lu more\n", (unsigned long)(t->n - top));
}
static void tr_write_text(FILE *f, tr_summary *s, size_t top) {
    char a[16], b[16];
    size_t i, k;
    fprintf(f, "%llu reports from %llu installs", (unsigned long long)s->reports, (unsigned long long)tr_installs(s));
    if (s->n_days) { tr_format_day(s->days[0].day, a); tr_format_day(s->days[s->n_days - 1].day, b); fprintf(f, ", %s to %s", a, b); }
    fprintf(f, "\nfirst runs (new installs): %llu; dropped reports (lost to full queues): ", (unsigned long long)s->first_runs);
    tr_print_num(f, s->dropped_reports);
    fprintf(f, "\n");
    if (s->skipped) {
        fprintf(f, "skipped %llu records that are not usage reports (", (unsigned long long)s->skipped);
        for (k = 0, i = 0; k < TR_SKIP_COUNT; k++) if (s->skip[k]) fprintf(f, "%s%s %llu", i++ ? ", " : "", tr_skip_names[k], (unsigned long long)s->skip[k]);
        fprintf(f, ")\n");
    }
    if (s->other_apps) fprintf(f, "left out %llu reports of other apps\n", (unsigned long long)s->other_apps);
    fprintf(f, "\nday         reports   installs  first runs\n");
    for (i = 0; i < s->n_days; i++) {
        tr_format_day(s->days[i].day, a);
        fprintf(f, "%s %9llu %10llu %11llu\n", a, (unsigned long long)s->days[i].reports, (unsigned long long)s->days[i].installs,
                (unsigned long long)s->days[i].first_runs);
    }
    fprintf(f, "\nweek of      reports   installs\n");
    for (i = 0; i < s->n_weeks; i++) {
        tr_format_day(s->weeks[i].day, a);
        fprintf(f, "%s %9llu %10llu\n", a, (unsigned long long)s->weeks[i].reports, (unsigned long long)s->weeks[i].installs);
    }
    if (s->apps.n > 1) tr_text_table(f, s, "apps", &s->apps, s->reports, top);
    tr_text_table(f, s, "versions", &s->versions, s->reports, top);
    tr_text_table(f, s, "os", &s->os, s->reports, top);
    tr_text_table(f, s, "os distribution", &s->os_distribution, s->reports, top);
    tr_text_table(f, s, "os version", &s->os_version, s->reports, top);
    tr_text_table(f, s, "arch", &s->arch, s->reports, top);
    for (i = 0; i < s->n_metrics; i++) {
        tr_metric *m = &s->metrics[i];
        char title[200];
        if (m->numbers) {
            fprintf(f, "\nmetric %s: %llu numbers, min ", m->name, (unsigned long long)m->numbers);
            tr_print_num(f, m->min); fprintf(f, ", max "); tr_print_num(f, m->max);
            fprintf(f, ", mean %.4g\n", m->sum / (double)m->numbers);
            if (!m->inexact)
                for (k = 0; k < (size_t)m->n_exact; k++) { fprintf(f, "  %14s", ""); tr_print_num(f, m->exact[k]); fprintf(f, ": %llu\n", (unsigned long long)m->exact_count[k]); }
            else
                for (k = 0; k < m->n_buckets; k++) {
                    fprintf(f, "  ["); tr_print_num(f, m->buckets[k].from); fprintf(f, ", "); tr_print_num(f, m->buckets[k].to);
                    fprintf(f, "%s: %llu\n", m->buckets[k].from == m->buckets[k].to ? "]" : ")", (unsigned long long)m->buckets[k].count);
                }
        }
        snprintf(title, sizeof title, "metric %s: values", m->name);
        tr_text_table(f, s, title, &m->values, m->strings + m->booleans, top);
    }
    for (i = 0; i < s->n_counters; i++) {
        tr_counter *c = &s->counters[i];
        fprintf(f, "\ncounter %s: total ", c->name);
        tr_print_num(f, c->total);
        fprintf(f, " in %llu reports\n", (unsigned long long)c->reports);
        for (k = 0; k < c->n_days; k++) { tr_format_day(c->days[k].day, a); fprintf(f, "  %s ", a); tr_print_num(f, c->days[k].sum); fprintf(f, "\n"); }
    }
}

/* ---- HTML out: one page, inline SVG, no script ---------------------------------------------------- */
static void tr_html_esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}
/* At most max bytes of s (whole UTF-8 characters), escaped, with "…" when cut. */
static void tr_html_short(FILE *f, const char *s, size_t max) {
    size_t n = strlen(s);
    char *copy;
    if (n <= max) { tr_html_esc(f, s); return; }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
    copy = tr_strndup(s, max);
    tr_html_esc(f, copy);
    fputs("\xE2\x80\xA6", f);
    free(copy);
}
static void tr_fmt_num(char *out, size_t cap, double v) {
    if (v == floor(v) && fabs(v) < 9e15) snprintf(out, cap, "%lld", (long long)v);
    else snprintf(out, cap, fabs(v) < 1 ? "%.2g" : "%.4g", v);
}
/* The axis' top for counts: 4, 8, 12, 16, 20, 24, 32, 40, 60, 80 times a power of ten, so that
   each quarter of it is a whole number. */
static double tr_nice_max(double v) {
    static const double steps[] = { 4, 8, 12, 16, 20, 24, 32, 40, 60, 80 };
    double p = 1;
    size_t i;
    if (!(v > 4)) return 4;
    for (;;) {
        for (i = 0; i < sizeof steps / sizeof steps[0]; i++) if (steps[i] * p >= v) return steps[i] * p;
        p *= 10;
    }
}
/* A bar chart of one series over labelled columns (days, buckets). */
static void tr_svg_bars(FILE *f, const char *title, char (*labels)[32], const double *values, size_t n, const char *colour) {
    const double W = 880, H = 220, left = 56, right = 12, top = 14, bottom = 40;
    double max = 0, top_v, step, bw, label_w = 0;
    size_t i, every, fit;
    char num[32];
    for (i = 0; i < n; i++) {
        if (values[i] > max) max = values[i];
        if (strlen(labels[i]) * 6.4 + 10 > label_w) label_w = (double)strlen(labels[i]) * 6.4 + 10;
    }
    top_v = tr_nice_max(max);
    step = n ? (W - left - right) / (double)n : 0;
    bw = step > 4 ? step * 0.78 : step;
    if (bw > 56) bw = 56;                          /* a few bars stay bars, not walls */
    fit = label_w > 0 ? (size_t)((W - left - right) / label_w) : n;   /* labels that fit side by side */
    every = fit == 0 ? n : n > fit ? (n + fit - 1) / fit : 1;
    fprintf(f, "<figure><figcaption>");
    tr_html_esc(f, title);
    fprintf(f, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, H);
    tr_html_esc(f, title);
    fprintf(f, "\">\n");
    for (i = 0; i <= 4; i++) {
        double y = top + (H - top - bottom) * (1 - (double)i / 4);
        tr_fmt_num(num, sizeof num, top_v * (double)i / 4);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"ax\">%s</text>\n",
                left, y, W - right, y, i ? "#e5e7eb" : "#9ca3af", left - 6, y + 4, num);
    }
    for (i = 0; i < n; i++) {
        double h = values[i] > 0 ? (H - top - bottom) * values[i] / top_v : 0, x = left + step * (double)i + (step - bw) / 2;
        tr_fmt_num(num, sizeof num, values[i]);
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" rx=\"%.1f\" fill=\"%s\"><title>%s: %s</title></rect>\n",
                x, H - bottom - h, bw, h, bw > 6 ? 2.0 : 0.0, colour, labels[i], num);
        if (i % every == 0)
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"ax\">%s</text>\n", x + bw / 2, H - bottom + 16, labels[i]);
    }
    fprintf(f, "</svg></figure>\n");
}
/* Horizontal bars of a table's top values, with a data table the numbers can be read from. */
static void tr_html_table(FILE *f, tr_summary *s, const char *id, const char *title, const tr_table *t, uint64_t reports, size_t top) {
    size_t i, n = t->n < top ? t->n : top;
    double rowh = 26, W = 880, label = 260, barw = 480;
    if (!t->n) return;
    fprintf(f, "<section class=\"card\"><h3>");
    tr_html_esc(f, title);
    fprintf(f, "</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", W, rowh * (double)n + 6);
    for (i = 0; i < n; i++) {
        double sh = tr_share(s, &t->v[i], reports), y = rowh * (double)i + 4;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" class=\"lb\">", label - 10, y + 15);
        tr_html_short(f, t->v[i].value, 36);
        fprintf(f, "</text><rect x=\"%.0f\" y=\"%.1f\" width=\"%.0f\" height=\"18\" rx=\"3\" fill=\"#eef2ff\"/>"
                   "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.2f\" height=\"18\" rx=\"3\" fill=\"#4f46e5\"/>"
                   "<text x=\"%.0f\" y=\"%.1f\" class=\"lb\">%.1f %%</text>\n",
                label, y, barw, label, y, barw * (sh > 1 ? 1 : sh), label + barw + 10, y + 15, 100.0 * sh);
    }
    fprintf(f, "</svg>\n<details><summary>numbers</summary><table id=\"%s\"><tr><th>value</th><th>installs</th><th>reports</th><th>share</th></tr>\n", id);
    for (i = 0; i < n; i++) {
        fprintf(f, "<tr><td>");
        tr_html_short(f, t->v[i].value, 200);
        fprintf(f, "</td><td>%llu</td><td>%llu</td><td>%.1f %%</td></tr>\n", (unsigned long long)t->v[i].installs,
                (unsigned long long)t->v[i].reports, 100.0 * tr_share(s, &t->v[i], reports));
    }
    fprintf(f, "</table></details></section>\n");
}
static int tr_write_html(FILE *f, tr_summary *s, size_t top) {
    char a[16], b[16];
    char (*labels)[32];
    double *vals;
    size_t i, k, most = s->n_days > s->n_weeks ? s->n_days : s->n_weeks;
    const char *app = s->apps.n == 1 ? s->apps.v[0].value : s->only_app ? s->only_app : "all apps";
    for (i = 0; i < s->n_metrics; i++) {
        if (s->metrics[i].n_buckets > most) most = s->metrics[i].n_buckets;
        if ((size_t)s->metrics[i].n_exact > most) most = (size_t)s->metrics[i].n_exact;
    }
    for (i = 0; i < s->n_counters; i++) if (s->counters[i].n_days > most) most = s->counters[i].n_days;
    labels = (char (*)[32])tr_alloc((most + 1) * sizeof *labels);
    vals = (double *)tr_alloc((most + 1) * sizeof *vals);
    a[0] = b[0] = 0;
    if (s->n_days) { tr_format_day(s->days[0].day, a); tr_format_day(s->days[s->n_days - 1].day, b); }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Usage of ");
    tr_html_esc(f, app);
    fprintf(f, "</title>\n<style>\n"
        "body{margin:0;background:#f5f6fa;color:#111827;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
        "main{max-width:960px;margin:0 auto;padding:28px 20px 48px}\n"
        "h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px}h3{font-size:16px;margin:0 0 8px}\n"
        ".sub{color:#6b7280;margin:0 0 20px}\n"
        ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}\n"
        ".stat{flex:1 1 160px;background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 16px}\n"
        ".stat b{display:block;font-size:28px;font-weight:650;color:#1f2937}.stat span{color:#6b7280;font-size:13px}\n"
        ".card,figure{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:14px 16px;margin:12px 0}\n"
        "figcaption{font-weight:600;margin-bottom:6px}svg{width:100%%;height:auto;display:block}\n"
        "svg text{font:12px system-ui,'DejaVu Sans',sans-serif;fill:#374151}.ax{fill:#6b7280;font-size:11px}\n"
        "table{border-collapse:collapse;margin-top:8px;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}\n"
        "td:first-child,th:first-child{text-align:left}details summary{cursor:pointer;color:#4f46e5;font-size:13px;margin-top:4px}\n"
        "footer{color:#6b7280;font-size:12px;margin-top:36px}\n"
        "</style></head><body><main>\n<h1>Usage of ");
    tr_html_esc(f, app);
    fprintf(f, "</h1>\n<p class=\"sub\">%s%s%s. Anonymous usage reports sent by telemetry.h; each install counts once however often it reports.</p>\n",
            a[0] ? a : "no reports", a[0] && strcmp(a, b) ? " to " : "", strcmp(a, b) ? b : "");
    fprintf(f, "<div class=\"cards\">\n"
               "<div class=\"stat\"><b id=\"reports\">%llu</b><span>reports</span></div>\n"
               "<div class=\"stat\"><b id=\"installs\">%llu</b><span>distinct installs</span></div>\n"
               "<div class=\"stat\"><b id=\"first_runs\">%llu</b><span>new installs (first runs)</span></div>\n",
            (unsigned long long)s->reports, (unsigned long long)tr_installs(s), (unsigned long long)s->first_runs);
    tr_fmt_num(a, sizeof a, s->dropped_reports);
    fprintf(f, "<div class=\"stat\"><b id=\"dropped_reports\">%s</b><span>reports lost to full queues</span></div>\n</div>\n", a);

    fprintf(f, "<h2>Activity</h2>\n");
    for (i = 0; i < s->n_days; i++) { tr_format_day(s->days[i].day, a); snprintf(labels[i], 32, "%s", a + 5); vals[i] = (double)s->days[i].installs; }
    tr_svg_bars(f, "Active installs per day", labels, vals, s->n_days, "#4f46e5");
    for (i = 0; i < s->n_days; i++) vals[i] = (double)s->days[i].first_runs;
    tr_svg_bars(f, "New installs (first runs) per day", labels, vals, s->n_days, "#059669");
    for (i = 0; i < s->n_weeks; i++) { tr_format_day(s->weeks[i].day, a); snprintf(labels[i], 32, "%s", a + 5); vals[i] = (double)s->weeks[i].installs; }
    tr_svg_bars(f, "Active installs per week (weeks from Monday)", labels, vals, s->n_weeks, "#7c3aed");
    fprintf(f, "<details><summary>numbers per day</summary><table id=\"days\"><tr><th>date</th><th>reports</th><th>installs</th><th>first runs</th></tr>\n");
    for (i = 0; i < s->n_days; i++) {
        tr_format_day(s->days[i].day, a);
        fprintf(f, "<tr><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td></tr>\n", a, (unsigned long long)s->days[i].reports,
                (unsigned long long)s->days[i].installs, (unsigned long long)s->days[i].first_runs);
    }
    fprintf(f, "</table></details>\n");

    fprintf(f, "<h2>Versions and platforms</h2>\n");
    if (s->apps.n > 1) tr_html_table(f, s, "apps", "Apps", &s->apps, s->reports, top);
    tr_html_table(f, s, "versions", "App versions (share of installs)", &s->versions, s->reports, top);
    tr_html_table(f, s, "os", "Operating systems", &s->os, s->reports, top);
    tr_html_table(f, s, "os_distribution", "Distributions", &s->os_distribution, s->reports, top);
    tr_html_table(f, s, "os_version", "OS versions (kernel)", &s->os_version, s->reports, top);
    tr_html_table(f, s, "arch", "CPU architectures", &s->arch, s->reports, top);

    if (s->n_metrics) fprintf(f, "<h2>Metrics</h2>\n");
    for (i = 0; i < s->n_metrics; i++) {
        tr_metric *m = &s->metrics[i];
        char title[256], lo[32], hi[32];
        if (m->numbers) {
            size_t n = 0;
            if (!m->inexact)
                for (k = 0; k < (size_t)m->n_exact; k++) { tr_fmt_num(labels[n], 32, m->exact[k]); vals[n++] = (double)m->exact_count[k]; }
            else
                for (k = 0; k < m->n_buckets; k++) {
                    tr_fmt_num(lo, sizeof lo, m->buckets[k].from); tr_fmt_num(hi, sizeof hi, m->buckets[k].to);
                    if (m->buckets[k].from == m->buckets[k].to) snprintf(labels[n], 32, "%.31s", lo);
                    else snprintf(labels[n], 32, "%.15s-%.15s", lo, hi);
                    vals[n++] = (double)m->buckets[k].count;
                }
            tr_fmt_num(lo, sizeof lo, m->min); tr_fmt_num(hi, sizeof hi, m->max);
            snprintf(title, sizeof title, "%.63s: %llu reports, min %s, max %s, mean %.4g", m->name, (unsigned long long)m->numbers, lo, hi, m->sum / (double)m->numbers);
            tr_svg_bars(f, title, labels, vals, n, "#0891b2");
        }
        if (m->values.n) {
            char id[96];
            snprintf(title, sizeof title, "%.63s", m->name);
            snprintf(id, sizeof id, "metric-%.63s", m->name);
            tr_html_table(f, s, id, title, &m->values, m->strings + m->booleans, top);
        }
    }
    if (s->n_counters) fprintf(f, "<h2>Counters</h2>\n");
    for (i = 0; i < s->n_counters; i++) {
        tr_counter *c = &s->counters[i];
        char title[160], tot[32];
        for (k = 0; k < c->n_days; k++) { tr_format_day(c->days[k].day, a); snprintf(labels[k], 32, "%s", a + 5); vals[k] = c->days[k].sum; }
        tr_fmt_num(tot, sizeof tot, c->total);
        snprintf(title, sizeof title, "%.63s per day (total %s)", c->name, tot);
        tr_svg_bars(f, title, labels, vals, c->n_days, "#d97706");
    }
    fprintf(f, "<footer>Made by telemetry_report from %llu reports", (unsigned long long)s->reports);
    if (s->skipped) fprintf(f, "; %llu records that were not usage reports were left out", (unsigned long long)s->skipped);
    fprintf(f, ".</footer>\n</main></body></html>\n");
    free(labels);
    free(vals);
    return ferror(f) ? -1 : 0;
}

#if !defined(TELEMETRY_REPORT_NO_MAIN)
/* ---- input: a file, stdin, or an HTTPS GET streamed through the parser ---------------------------- */
static int tr_read_stream(FILE *in, tr_parser *p, const char *name) {
    static char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (tr_parser_feed(p, buf, n)) return -1;
    if (ferror(in)) { snprintf(p->error, sizeof p->error, "cannot read %s: %s", name, strerror(errno)); p->failed = 1; return -1; }
    return tr_parser_finish(p);
}

typedef struct tr_fetch_opts { const char *url, *auth, *auth_param, *ca_file; long timeout_s; } tr_fetch_opts;

/* GET url with the library's own HTTP/1.1 + TLS client; the body goes to the parser as it comes. */
static int tr_fetch(const tr_fetch_opts *o, tr_parser *p, char *err, size_t errcap) {
    telemetry__url u;
    telemetry__transport_config tc;
    telemetry__http_client *c = NULL;
    telemetry__http_response resp;
    telemetry__http_request req;
    telemetry__buf head, target, errbody;
    const telemetry__proxy *px = NULL;
    const char *headers[2] = { "Accept: application/json", NULL };
    int64_t deadline = telemetry__monotonic_ms() + (int64_t)o->timeout_s * 1000;
    int rc, done = 0;
    size_t got = 0;
    char buf[16384], hp[300];
    memset(&resp, 0, sizeof resp);
    telemetry__buf_init(&head); telemetry__buf_init(&target); telemetry__buf_init(&errbody);
    if (telemetry__url_parse(o->url, &u) != 0) { snprintf(err, errcap, "not an http(s) URL: %s", o->url); return -1; }
    telemetry__buf_puts(&target, u.target);
    if (o->auth) {                 /* ?auth=<token> or ?access_token=<token>, percent-encoded */
        const char *t;
        telemetry__buf_printf(&target, "%c%s=", strchr(u.target, '?') ? '&' : '?', o->auth_param);
        for (t = o->auth; *t; t++) {
            unsigned char ch = (unsigned char)*t;
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch)) telemetry__buf_append(&target, t, 1);
            else telemetry__buf_printf(&target, "%%%02X", ch);
        }
    }
    telemetry__url_hostport(&u, hp, sizeof hp);
    memset(&tc, 0, sizeof tc);
    tc.ca_file = o->ca_file;
    tc.use_proxy_env = 1;
    if (target.failed || telemetry__http_client_new(&c, &tc) != 0) { snprintf(err, errcap, "out of memory"); rc = -1; goto out; }
    if (u.secure) px = c->https_proxy.var ? &c->https_proxy : NULL;
    else px = c->http_proxy.var ? &c->http_proxy : NULL;
    if (px && (px->invalid || telemetry__no_proxy_match(c->no_proxy, u.host, u.port))) px = NULL;
    {
        telemetry__url tu = u;
        tu.target = target.data;
        memset(&req, 0, sizeof req);
        req.method = "GET";
        req.url = &tu;
        req.headers = headers;
        rc = telemetry__http_write_head(&head, &req, px && !u.secure, px && !u.secure ? px->auth : NULL);
    }
    if (rc) { snprintf(err, errcap, "cannot make the request (a bad character in the URL or token?)"); rc = -1; goto out; }
    rc = telemetry__http_open(c, &u, px, deadline);
    if (!rc) rc = telemetry__http_write(c, head.data, head.len, deadline);
#if !defined(TELEMETRY_NO_TLS)
    if (!rc && c->tls_on) rc = telemetry__tls_flush(c->tls, &c->net, deadline);
#endif
    if (rc) { snprintf(err, errcap, "%s: %s", hp, c->net.err[0] ? c->net.err : telemetry_result_string(rc)); rc = -1; goto out; }
    telemetry__http_parser_init(&c->parser, 0);
    while (!done) {
        long n;
        size_t used = 0;
#if !defined(TELEMETRY_NO_TLS)
        if (c->tls_on) n = telemetry__tls_read(c->tls, &c->net, buf, sizeof buf, deadline);
        else
#endif
        n = telemetry__net_io(&c->net, 0, buf, sizeof buf, deadline);
        if (n > 0) {
            size_t off = 0;
            got += (size_t)n;
            while (off < (size_t)n && !done) {              /* the body is taken out as it comes */
                int r = telemetry__http_parser_feed(&c->parser, &resp, buf + off, (size_t)n - off, &used);
                off += used;
                if (r == TELEMETRY_ERR_PROTOCOL) { snprintf(err, errcap, "%s: malformed HTTP response: %s", hp, c->parser.error); rc = -1; goto out; }
                if (r < 0) { snprintf(err, errcap, "out of memory"); rc = -1; goto out; }
                if (resp.body.len) {
                    if (resp.status / 100 == 2) { if (tr_parser_feed(p, resp.body.data, resp.body.len)) { rc = -1; goto out; } }
                    else if (errbody.len < 400) telemetry__buf_append(&errbody, resp.body.data, resp.body.len < 400 ? resp.body.len : 400);
                    resp.body.len = 0;
                }
                if (r == TELEMETRY__HTTP_COMPLETE) done = 1;
                if (used == 0 && !done) break;
            }
            continue;
        }
        if (n == 0 || n == TELEMETRY__EOF_UNCLEAN) {
            if (got == 0) { snprintf(err, errcap, "%s closed the connection before answering", hp); rc = -1; goto out; }
            if (telemetry__http_parser_eof(&c->parser) != TELEMETRY__HTTP_COMPLETE || (n == TELEMETRY__EOF_UNCLEAN && c->parser.state != TELEMETRY__HP_DONE)) {
                snprintf(err, errcap, "%s: the answer was cut short (%s)", hp, c->parser.error ? c->parser.error : "connection closed");
                rc = -1; goto out;
            }
            done = 1;
            continue;
        }
        snprintf(err, errcap, "%s: %s", hp, n == TELEMETRY_ERR_TIMEOUT ? "no complete answer within --timeout" : c->net.err[0] ? c->net.err : telemetry_result_string((int)n));
        rc = -1;
        goto out;
    }
    if (resp.status / 100 != 2) {
        char *clean = tr_clean(errbody.data ? errbody.data : "", errbody.len);
        snprintf(err, errcap, "%s answered HTTP %d%s%s%s", hp, resp.status, clean[0] ? ": " : "", clean,
                 resp.status == 401 || resp.status == 403 ? " (reading needs --auth or --access-token: a credential of yours, never one shipped in a program)" : "");
        free(clean);
        rc = -1;
        goto out;
    }
    rc = tr_parser_finish(p);
out:
    if (rc && p->failed && !err[0]) snprintf(err, errcap, "%s", p->error);
    telemetry__http_response_free(&resp);
    telemetry__buf_free(&head); telemetry__buf_free(&target); telemetry__buf_free(&errbody);
    telemetry__http_client_free(c);
    telemetry__url_free(&u);
    return rc;
}

static int tr_usage(void) {
    fprintf(stderr, "usage: telemetry_report [--json FILE] [--html FILE] [--app NAME] [--top N] [--quiet] FILE|-\n"
                    "       telemetry_report [...] --url https://<db>/usage.json [--auth TOKEN | --access-token TOKEN]\n"
                    "                        [--ca-file FILE] [--timeout S]\n");
    return 2;
}
static int tr_write_file(const char *path, const char *what, int (*fn)(FILE *, tr_summary *, size_t), tr_summary *s, size_t top) {
    FILE *f = fopen(path, "wb");
    int rc;
    if (!f) { fprintf(stderr, "telemetry_report: cannot write %s: %s\n", path, strerror(errno)); return -1; }
    rc = fn(f, s, top);
    if (fclose(f) != 0) rc = -1;
    if (rc) fprintf(stderr, "telemetry_report: writing the %s to %s failed\n", what, path);
    return rc;
}
static int tr_json_file(FILE *f, tr_summary *s, size_t top) {
    telemetry__buf b;
    int rc;
    (void)top;
    telemetry__buf_init(&b);
    rc = tr_write_json(s, &b);
    if (!rc && fwrite(b.data, 1, b.len, f) != b.len) rc = -1;
    telemetry__buf_free(&b);
    return rc;
}

int main(int argc, char **argv) {
    const char *json = NULL, *html = NULL, *input = NULL;
    tr_fetch_opts fo;
    tr_summary s;
    tr_parser *p;
    size_t top = 10;
    int quiet = 0, i, rc;
    char err[700];
    memset(&fo, 0, sizeof fo);
    fo.timeout_s = 300;
    tr_summary_init(&s);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--json") && has) json = argv[++i];
        else if (!strcmp(a, "--html") && has) html = argv[++i];
        else if (!strcmp(a, "--app") && has) s.only_app = argv[++i];
        else if (!strcmp(a, "--url") && has) fo.url = argv[++i];
        else if (!strcmp(a, "--auth") && has) { fo.auth = argv[++i]; fo.auth_param = "auth"; }
        else if (!strcmp(a, "--access-token") && has) { fo.auth = argv[++i]; fo.auth_param = "access_token"; }
        else if (!strcmp(a, "--ca-file") && has) fo.ca_file = argv[++i];
        else if (!strcmp(a, "--timeout") && has) { fo.timeout_s = atol(argv[++i]); if (fo.timeout_s <= 0) return tr_usage(); }
        else if (!strcmp(a, "--top") && has) { long t = atol(argv[++i]); if (t <= 0) return tr_usage(); top = (size_t)t; }
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { tr_usage(); return 0; }
        else if ((a[0] != '-' || !strcmp(a, "-")) && !input) input = a;
        else return tr_usage();
    }
    if (!input == !fo.url) return tr_usage();
    p = (tr_parser *)tr_alloc(sizeof *p);
    tr_parser_init(p, &s);
    err[0] = 0;
    if (fo.url) rc = tr_fetch(&fo, p, err, sizeof err);
    else {
        FILE *in = strcmp(input, "-") ? fopen(input, "rb") : stdin;
        if (!in) { fprintf(stderr, "telemetry_report: cannot open %s: %s\n", input, strerror(errno)); free(p); return 1; }
        rc = tr_read_stream(in, p, input);
        if (in != stdin) fclose(in);
        if (rc) snprintf(err, sizeof err, "%s: %s", input, p->error);
    }
    tr_parser_free(p);
    free(p);
    if (rc) { fprintf(stderr, "telemetry_report: %s\n", err); tr_summary_free(&s); return 1; }
    if (s.reports == 0) {
        fprintf(stderr, "telemetry_report: %s holds no usage reports", fo.url ? fo.url : input);
        if (s.skipped) fprintf(stderr, " (%llu records were not well formed)", (unsigned long long)s.skipped);
        if (s.other_apps) fprintf(stderr, " (%llu reports of other apps)", (unsigned long long)s.other_apps);
        fprintf(stderr, ": expected a Firebase export of /usage, or records like docs/examples/usage-report.json\n");
        tr_summary_free(&s);
        return 1;
    }
    tr_sort(&s);
    rc = 0;
    if (!quiet) tr_write_text(stdout, &s, top);
    if (json && tr_write_file(json, "JSON summary", tr_json_file, &s, top)) rc = 1;
    if (html && tr_write_file(html, "HTML page", tr_write_html, &s, top)) rc = 1;
    tr_summary_free(&s);
    return rc;
}
#endif
