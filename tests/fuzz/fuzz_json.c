/* fuzz_json.c - libFuzzer target for the JSON string encoder (telemetry__json_quote and the
   writer around it).

   The fuzz input is taken as raw bytes and written as a string value: alone, as both key and value
   of an object, inside an array next to numbers made from the same bytes, through the C-string
   entry point, and into a fixed buffer whose size comes from the input. Every finished document is
   checked by this file's own strict JSON parser (RFC 8259, one value, nothing after it) and strict
   UTF-8 validator, and every decoded string is compared with this file's own reference repair of
   the input (ill-formed UTF-8 replaced by U+FFFD per maximal subpart, computed differently from
   the library: by the range of code points a prefix can still reach). Valid UTF-8 must come back
   unchanged. A fixed buffer that is too small must make telemetry__json_finish fail; one that is
   big enough must hold exactly the growable buffer's document. Any violation calls abort().

   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L -I. \
              tests/fuzz/fuzz_json.c -o build/fuzz_json -lbearssl -lpthread -lm
   Without libFuzzer (-DFUZZ_STANDALONE), main() runs each file named on the command line once. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(cond, what) do { \
    if (!(cond)) { fprintf(stderr, "fuzz_json: %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); abort(); } \
} while (0)

/* ---- a growable byte string ------------------------------------------------------------------ */
typedef struct fz_str { unsigned char *p; size_t n, cap; } fz_str;

static void fz_put(fz_str *s, const void *src, size_t n) {
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->n + n) cap *= 2;
        s->p = (unsigned char *)realloc(s->p, cap);
        FUZZ_REQUIRE(s->p != NULL, "out of memory in the harness");
        s->cap = cap;
    }
    if (n) memcpy(s->p + s->n, src, n);
    s->n += n;
}
static void fz_free(fz_str *s) { free(s->p); memset(s, 0, sizeof *s); }

/* ---- strict UTF-8: decode each sequence to a code point and check its range ------------------ */
static int fz_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        uint32_t cp;
        size_t len, k;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return 0;
        if (n - i < len) return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u)) return 0;   /* overlong */
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* ---- reference repair: maximal subparts become one U+FFFD each ------------------------------- */
/* Whether some code point in [lo, hi] (at least min) is a Unicode scalar value. */
static int fz_reachable(uint32_t lo, uint32_t hi, uint32_t min) {
    uint32_t a = lo > min ? lo : min, b = hi < 0x10FFFF ? hi : 0x10FFFF;
    if (a > b) return 0;
    return !(a >= 0xD800 && b <= 0xDFFF);
}
/* At s: *ok=1 and the length of a well-formed sequence, or *ok=0 and the length of the longest
   prefix that some completion would make well-formed (at least 1 byte). */
static size_t fz_next(const unsigned char *s, size_t n, int *ok) {
    unsigned c = s[0];
    size_t len, k, good = 0;
    uint32_t lead, min;
    if (c < 0x80) { *ok = 1; return 1; }
    if ((c & 0xE0) == 0xC0) { len = 2; lead = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; lead = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; lead = c & 0x07; min = 0x10000; }
    else { *ok = 0; return 1; }
    for (k = 1; k <= len; k++) {
        uint32_t cp = lead, lo, hi;
        size_t j, rem = len - k;
        if (k > 1 && (k - 1 >= n || (s[k - 1] & 0xC0) != 0x80)) break;
        for (j = 1; j < k; j++) cp = (cp << 6) | (s[j] & 0x3F);
        lo = cp << (6 * rem);
        hi = lo | ((1u << (6 * rem)) - 1);
        if (!fz_reachable(lo, hi, min)) break;
        good = k;
    }
    if (good == len) { *ok = 1; return len; }
    *ok = 0;
    return good ? good : 1;
}
static void fz_repair(const unsigned char *s, size_t n, fz_str *out) {
    size_t i = 0;
    while (i < n) {
        int ok;
        size_t len = fz_next(s + i, n - i, &ok);
        if (ok) fz_put(out, s + i, len);
        else fz_put(out, "\xEF\xBF\xBD", 3);
        i += len;
    }
}

/* ---- strict JSON parser ----------------------------------------------------------------------- */
/* Records the document's shape ("{s:s}", "[s,n,n,t,z]": s string, n number, t/f/z true, false,
   null) and decodes every string and number in order. */
typedef struct fz_parser {
    const unsigned char *s;
    size_t n, i;
    int depth;
    fz_str shape;
    fz_str strings[4];
    int nstrings;
    double numbers[4];
    int nnumbers;
} fz_parser;

static void fz_ws(fz_parser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}
static int fz_hex4(fz_parser *p, uint32_t *v) {
    int k;
    *v = 0;
    if (p->n - p->i < 4) return 0;
    for (k = 0; k < 4; k++) {
        unsigned c = p->s[p->i++];
        *v <<= 4;
        if (c >= '0' && c <= '9') *v |= c - '0';
        else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
        else return 0;
    }
    return 1;
}
static void fz_put_cp(fz_str *d, uint32_t cp) {
    unsigned char u[4];
    if (cp < 0x80) { u[0] = (unsigned char)cp; fz_put(d, u, 1); }
    else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 0x3F)); fz_put(d, u, 2); }
    else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F)); fz_put(d, u, 3);
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (unsigned char)(0x80 | (cp & 0x3F)); fz_put(d, u, 4);
    }
}
static int fz_string(fz_parser *p) {
    fz_str scratch = { NULL, 0, 0 };
    fz_str *d = p->nstrings < 4 ? &p->strings[p->nstrings] : &scratch;
    size_t start;
    if (p->i >= p->n || p->s[p->i] != '"') return 0;
    p->i++;
    for (;;) {
        unsigned c;
        if (p->i >= p->n) goto fail;
        c = p->s[p->i];
        if (c == '"') { p->i++; break; }
        if (c < 0x20) goto fail;                                   /* raw control character */
        if (c != '\\') {
            start = p->i;
            while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' && p->s[p->i] >= 0x20) p->i++;
            fz_put(d, p->s + start, p->i - start);
            continue;
        }
        p->i++;
        if (p->i >= p->n) goto fail;
        c = p->s[p->i++];
        switch (c) {
        case '"': fz_put(d, "\"", 1); break;
        case '\\': fz_put(d, "\\", 1); break;
        case '/': fz_put(d, "/", 1); break;
        case 'b': fz_put(d, "\b", 1); break;
        case 'f': fz_put(d, "\f", 1); break;
        case 'n': fz_put(d, "\n", 1); break;
        case 'r': fz_put(d, "\r", 1); break;
        case 't': fz_put(d, "\t", 1); break;
        case 'u': {
            uint32_t cp, lo;
            if (!fz_hex4(p, &cp)) goto fail;
            if (cp >= 0xDC00 && cp <= 0xDFFF) goto fail;            /* lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') goto fail;
                p->i += 2;
                if (!fz_hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto fail;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            fz_put_cp(d, cp);
            break;
        }
        default: goto fail;
        }
    }
    if (p->nstrings < 4) p->nstrings++;
    fz_free(&scratch);
    fz_put(&p->shape, "s", 1);
    return 1;
fail:
    fz_free(&scratch);
    return 0;
}
static int fz_digits(fz_parser *p) {
    size_t start = p->i;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    return p->i > start;
}
static int fz_number(fz_parser *p) {
    size_t start = p->i;
    char tmp[64];
    if (p->i < p->n && p->s[p->i] == '-') p->i++;
    if (p->i < p->n && p->s[p->i] == '0') p->i++;
    else if (p->i < p->n && p->s[p->i] >= '1' && p->s[p->i] <= '9') fz_digits(p);
    else return 0;
    if (p->i < p->n && p->s[p->i] == '.') { p->i++; if (!fz_digits(p)) return 0; }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (!fz_digits(p)) return 0;
    }
    if (p->i - start >= sizeof tmp) return 0;                      /* the writer never needs more */
    memcpy(tmp, p->s + start, p->i - start);
    tmp[p->i - start] = 0;
    if (p->nnumbers < 4) p->numbers[p->nnumbers++] = strtod(tmp, NULL);
    fz_put(&p->shape, "n", 1);
    return 1;
}
static int fz_literal(fz_parser *p, const char *word, const char *shape) {
    size_t n = strlen(word);
    if (p->n - p->i < n || memcmp(p->s + p->i, word, n) != 0) return 0;
    p->i += n;
    fz_put(&p->shape, shape, 1);
    return 1;
}
static int fz_value(fz_parser *p) {
    int ok = 0;
    fz_ws(p);
    if (p->i >= p->n) return 0;
    if (++p->depth > 64) return 0;
    switch (p->s[p->i]) {
    case '{':
        p->i++;
        fz_put(&p->shape, "{", 1);
        fz_ws(p);
        if (p->i < p->n && p->s[p->i] == '}') { p->i++; ok = 1; break; }
        for (;;) {
            fz_ws(p);
            if (!fz_string(p)) return 0;
            fz_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return 0;
            p->i++;
            fz_put(&p->shape, ":", 1);
            if (!fz_value(p)) return 0;
            fz_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; fz_put(&p->shape, ",", 1); continue; }
            if (p->i < p->n && p->s[p->i] == '}') { p->i++; ok = 1; break; }
            return 0;
        }
        break;
    case '[':
        p->i++;
        fz_put(&p->shape, "[", 1);
        fz_ws(p);
        if (p->i < p->n && p->s[p->i] == ']') { p->i++; ok = 1; break; }
        for (;;) {
            if (!fz_value(p)) return 0;
            fz_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; fz_put(&p->shape, ",", 1); continue; }
            if (p->i < p->n && p->s[p->i] == ']') { p->i++; ok = 1; break; }
            return 0;
        }
        break;
    case '"': ok = fz_string(p); break;
    case 't': ok = fz_literal(p, "true", "t"); break;
    case 'f': ok = fz_literal(p, "false", "f"); break;
    case 'n': ok = fz_literal(p, "null", "z"); break;
    default: ok = fz_number(p); break;
    }
    if (ok && (p->s[p->i - 1] == '}' || p->s[p->i - 1] == ']')) fz_put(&p->shape, p->s + p->i - 1, 1);
    p->depth--;
    return ok;
}
static void fz_parser_free(fz_parser *p) {
    int k;
    fz_free(&p->shape);
    for (k = 0; k < 4; k++) fz_free(&p->strings[k]);
}
/* Parses a whole document: exactly one value and nothing else, valid UTF-8 throughout. */
static void fz_parse(fz_parser *p, const char *doc, size_t n, const char *want_shape) {
    memset(p, 0, sizeof *p);
    p->s = (const unsigned char *)doc;
    p->n = n;
    FUZZ_REQUIRE(fz_utf8_valid(p->s, n), "the document is not valid UTF-8");
    FUZZ_REQUIRE(fz_value(p), "the document is not one JSON value");
    fz_ws(p);
    FUZZ_REQUIRE(p->i == n, "text after the JSON value");
    fz_put(&p->shape, "", 1);
    p->shape.p[p->shape.n - 1] = 0;
    if (strcmp((const char *)p->shape.p, want_shape) != 0) {
        fprintf(stderr, "fuzz_json: shape %s, want %s\n", (const char *)p->shape.p, want_shape);
        abort();
    }
}
static void fz_same(const fz_str *got, const fz_str *want, const char *what) {
    FUZZ_REQUIRE(got->n == want->n && (want->n == 0 || memcmp(got->p, want->p, want->n) == 0), what);
}

/* ---- the target ------------------------------------------------------------------------------- */
static uint64_t fz_bits(const uint8_t *data, size_t size, size_t at) {
    uint64_t u = 0;
    size_t k;
    for (k = 0; k < 8; k++) u = (u << 8) | (at + k < size ? data[at + k] : 0);
    return u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    fz_str want = { NULL, 0, 0 }, in_str = { NULL, 0, 0 };
    telemetry__buf b, fb;
    telemetry__json j, fj;
    fz_parser p;
    char *mem;
    size_t cap, k;
    int valid = fz_utf8_valid(data, size), has_nul = memchr(data, 0, size) != NULL, rc;
    uint64_t ibits = fz_bits(data, size, 0), dbits = fz_bits(data, size, 8);
    double d;

    fz_repair(data, size, &want);
    fz_put(&in_str, data, size);
    if (valid) fz_same(&want, &in_str, "the reference repair changed valid UTF-8");

    /* 1. a top-level string */
    telemetry__buf_init(&b);
    telemetry__json_init(&j, &b);
    telemetry__json_string_n(&j, in, size);
    FUZZ_REQUIRE(telemetry__json_finish(&j) == 0, "a string value did not finish");
    FUZZ_REQUIRE(b.data && strlen(b.data) == b.len, "the document has a NUL byte or a wrong length");
    fz_parse(&p, b.data, b.len, "s");
    fz_same(&p.strings[0], &want, "the decoded string differs from the repaired input");
    if (valid) fz_same(&p.strings[0], &in_str, "valid UTF-8 did not round-trip");
    fz_parser_free(&p);

    /* 2. the same document into a fixed buffer of a size taken from the input */
    cap = (size_t)(size > 0 ? data[0] : 0) | (size_t)(size > 1 ? data[1] : 0) << 8;
    cap %= b.len + 2;
    mem = (char *)malloc(cap ? cap : 1);
    telemetry__buf_init_fixed(&fb, mem, cap);
    telemetry__json_init(&fj, &fb);
    telemetry__json_string_n(&fj, in, size);
    rc = telemetry__json_finish(&fj);
    if (cap > b.len) {
        FUZZ_REQUIRE(rc == 0, "a fixed buffer with room failed");
        FUZZ_REQUIRE(fb.len == b.len && memcmp(mem, b.data, b.len + 1) == 0, "fixed and growable buffers differ");
    } else {
        FUZZ_REQUIRE(rc == TELEMETRY_ERR_NO_SPACE, "a fixed-buffer overflow was not reported");
    }
    free(mem);
    telemetry__buf_free(&b);

    /* 3. the input as key and value of an object, into a growable and a fixed buffer */
    telemetry__buf_init(&b);
    telemetry__json_init(&j, &b);
    telemetry__json_object_begin(&j);
    telemetry__json_key_n(&j, in, size);
    telemetry__json_string_n(&j, in, size);
    telemetry__json_object_end(&j);
    FUZZ_REQUIRE(telemetry__json_finish(&j) == 0, "an object did not finish");
    fz_parse(&p, b.data, b.len, "{s:s}");
    fz_same(&p.strings[0], &want, "the decoded key differs from the repaired input");
    fz_same(&p.strings[1], &want, "the decoded value differs from the repaired input");
    fz_parser_free(&p);
    for (k = 0; k < 3; k++) {
        size_t c = k == 0 ? b.len : k == 1 ? b.len + 1 : cap % (b.len + 1);
        mem = (char *)malloc(c ? c : 1);
        telemetry__buf_init_fixed(&fb, mem, c);
        telemetry__json_init(&fj, &fb);
        telemetry__json_object_begin(&fj);
        telemetry__json_key_n(&fj, in, size);
        telemetry__json_string_n(&fj, in, size);
        telemetry__json_object_end(&fj);
        rc = telemetry__json_finish(&fj);
        if (c > b.len) FUZZ_REQUIRE(rc == 0 && memcmp(mem, b.data, b.len + 1) == 0, "an object in a fixed buffer with room");
        else FUZZ_REQUIRE(rc == TELEMETRY_ERR_NO_SPACE, "an object overflowing a fixed buffer was not reported");
        free(mem);
    }
    telemetry__buf_free(&b);

    /* 4. an array: the string, numbers made from the input's bytes, literals, a nested object */
    memcpy(&d, &dbits, sizeof d);
    telemetry__buf_init(&b);
    telemetry__json_init(&j, &b);
    telemetry__json_array_begin(&j);
    telemetry__json_string_n(&j, in, size);
    telemetry__json_int(&j, (int64_t)ibits);
    telemetry__json_double(&j, d);
    telemetry__json_bool(&j, size & 1);
    telemetry__json_null(&j);
    telemetry__json_object_begin(&j);
    telemetry__json_key_n(&j, in, size);
    telemetry__json_array_begin(&j);
    telemetry__json_array_end(&j);
    telemetry__json_object_end(&j);
    telemetry__json_array_end(&j);
    FUZZ_REQUIRE(telemetry__json_finish(&j) == 0, "an array did not finish");
    {
        const char *shape_finite = (size & 1) ? "[s,n,n,t,z,{s:[]}]" : "[s,n,n,f,z,{s:[]}]";
        const char *shape_null = (size & 1) ? "[s,n,z,t,z,{s:[]}]" : "[s,n,z,f,z,{s:[]}]";
        int finite = !(isnan(d) || isinf(d));
        fz_parse(&p, b.data, b.len, finite ? shape_finite : shape_null);
        fz_same(&p.strings[0], &want, "the decoded array string differs");
        fz_same(&p.strings[1], &want, "the decoded nested key differs");
        FUZZ_REQUIRE(p.numbers[0] == (double)(int64_t)ibits, "the integer did not read back");
        if (finite) {
            uint64_t back;
            memcpy(&back, &p.numbers[1], sizeof back);
            FUZZ_REQUIRE(back == dbits, "the double did not round-trip");
        }
        fz_parser_free(&p);
    }
    telemetry__buf_free(&b);

    /* 5. the C-string entry point stops at the first NUL */
    if (!has_nul) {
        char *z = (char *)malloc(size + 1);
        memcpy(z, data, size);
        z[size] = 0;
        telemetry__buf_init(&b);
        telemetry__json_init(&j, &b);
        telemetry__json_string(&j, z);
        FUZZ_REQUIRE(telemetry__json_finish(&j) == 0, "a C string did not finish");
        fz_parse(&p, b.data, b.len, "s");
        fz_same(&p.strings[0], &want, "the decoded C string differs");
        if (valid) fz_same(&p.strings[0], &in_str, "a valid UTF-8 C string did not round-trip");
        fz_parser_free(&p);
        telemetry__buf_free(&b);
        free(z);
    }

    fz_free(&want);
    fz_free(&in_str);
    return 0;
}

#include "standalone.h"
