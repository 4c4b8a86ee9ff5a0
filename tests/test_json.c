/* test_json.c - the JSON writer (>>json) and the byte buffer under it (>>buf): golden outputs for
   every kind of value, string escaping, UTF-8 repair (maximal-subpart rule), numbers that
   round-trip, fixed buffers that report overflow, misuse caught by telemetry__json_finish, and
   doubles that ignore the locale.

   The locale checks need two generated locales (the test FAILS without them, it never skips):
   one whose decimal point is ',' (de_DE.UTF-8) and one whose decimal point is a multi-byte
   character (ps_AF.UTF-8, U+066B). On Debian:
       apt-get install -y locales
       localedef -i de_DE -f UTF-8 de_DE.UTF-8
       localedef -i ps_AF -f UTF-8 ps_AF.UTF-8 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An allocator that can be told to fail, to reach the writer's out-of-memory path. */
static long test_alloc_budget = -1;    /* allocations left before failing; -1 never fails */
static int test_alloc_take(void) {
    if (test_alloc_budget < 0) return 1;
    if (test_alloc_budget == 0) return 0;
    test_alloc_budget--;
    return 1;
}
static void *test_malloc(size_t n) { return test_alloc_take() ? malloc(n) : NULL; }
static void *test_realloc(void *p, size_t n) { return test_alloc_take() ? realloc(p, n) : NULL; }
#define TELEMETRY_MALLOC(sz) test_malloc(sz)
#define TELEMETRY_REALLOC(p, sz) test_realloc((p), (sz))
#define TELEMETRY_FREE(p) free(p)

#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"

#include <float.h>
#include <locale.h>
#include <math.h>

#define R "\xEF\xBF\xBD"   /* U+FFFD REPLACEMENT CHARACTER */

static telemetry__buf B;
static telemetry__json J;

/* A fresh growable buffer and writer. */
static telemetry__json *fresh(void) {
    telemetry__buf_free(&B);
    telemetry__buf_init(&B);
    telemetry__json_init(&J, &B);
    return &J;
}
static const char *text(void) { return B.data ? B.data : ""; }

/* One top-level string value made of n raw bytes; the finished document. */
static const char *str_n(const char *s, size_t n) {
    telemetry__json_string_n(fresh(), s, n);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_OK);
    return text();
}
static const char *str(const char *s) { return str_n(s, strlen(s)); }

static int dbl_unfinished;   /* doubles of the loops below whose document did not finish */
static const char *dbl_quiet(double v) {
    telemetry__json_double(fresh(), v);
    if (telemetry__json_finish(&J) != TELEMETRY_OK) dbl_unfinished++;
    return text();
}
static const char *dbl(double v) {
    telemetry__json_double(fresh(), v);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_OK);
    return text();
}

/* ---- JSON number grammar (RFC 8259 section 6) ------------------------------------------------ */
static int is_json_number(const char *s) {
    if (*s == '-') s++;
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9') { while (*s >= '0' && *s <= '9') s++; }
    else return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void) {                      /* xorshift64* */
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}
static double bits_to_double(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }
static uint64_t double_to_bits(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }

/* ---- structure --------------------------------------------------------------------------------- */
static void test_scalars(void) {
    telemetry__json_null(fresh());
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "null");
    telemetry__json_bool(fresh(), 1);
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "true");
    telemetry__json_bool(fresh(), 0);
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "false");
    telemetry__json_bool(fresh(), 42);
    CHECK_STR(text(), "true");
    telemetry__json_int(fresh(), 0);
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "0");
    telemetry__json_int(fresh(), -1);
    CHECK_STR(text(), "-1");
    telemetry__json_int(fresh(), INT64_MAX);
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "9223372036854775807");
    telemetry__json_int(fresh(), INT64_MIN);
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "-9223372036854775808");
    telemetry__json_int(fresh(), INT64_MIN + 1);
    CHECK_STR(text(), "-9223372036854775807");
    telemetry__json_string(fresh(), NULL);
    CHECK_INT(telemetry__json_finish(&J), 0); CHECK_STR(text(), "null");
    CHECK_STR(str(""), "\"\"");
    CHECK_STR(str("hello, world"), "\"hello, world\"");
}

static void test_objects_and_arrays(void) {
    telemetry__json *j;

    j = fresh();
    telemetry__json_object_begin(j);
    telemetry__json_object_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "{}");

    j = fresh();
    telemetry__json_array_begin(j);
    telemetry__json_array_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "[]");

    j = fresh();
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "a"); telemetry__json_int(j, 1);
    telemetry__json_key(j, "b"); telemetry__json_string(j, "two");
    telemetry__json_key(j, "c"); telemetry__json_null(j);
    telemetry__json_key(j, "d"); telemetry__json_bool(j, 1);
    telemetry__json_key(j, "e"); telemetry__json_double(j, 2.5);
    telemetry__json_object_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "{\"a\":1,\"b\":\"two\",\"c\":null,\"d\":true,\"e\":2.5}");

    j = fresh();
    telemetry__json_array_begin(j);
    telemetry__json_int(j, 1);
    telemetry__json_string(j, "x");
    telemetry__json_null(j);
    telemetry__json_bool(j, 0);
    telemetry__json_double(j, -0.5);
    telemetry__json_array_begin(j); telemetry__json_array_end(j);
    telemetry__json_object_begin(j); telemetry__json_object_end(j);
    telemetry__json_array_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "[1,\"x\",null,false,-0.5,[],{}]");

    /* nesting: objects in arrays in objects, empty containers as siblings */
    j = fresh();
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "a");
    telemetry__json_array_begin(j);
    telemetry__json_int(j, 1);
    telemetry__json_int(j, 2);
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "b"); telemetry__json_null(j);
    telemetry__json_key(j, "c"); telemetry__json_array_begin(j); telemetry__json_array_end(j);
    telemetry__json_object_end(j);
    telemetry__json_array_end(j);
    telemetry__json_key(j, "d"); telemetry__json_object_begin(j); telemetry__json_object_end(j);
    telemetry__json_key(j, "e");
    telemetry__json_array_begin(j);
    telemetry__json_array_begin(j); telemetry__json_array_end(j);
    telemetry__json_array_begin(j); telemetry__json_object_begin(j); telemetry__json_object_end(j); telemetry__json_array_end(j);
    telemetry__json_array_end(j);
    telemetry__json_key(j, "f"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "g"); telemetry__json_object_begin(j);
    telemetry__json_key(j, "h"); telemetry__json_int(j, -7);
    telemetry__json_object_end(j);
    telemetry__json_object_end(j);
    telemetry__json_object_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "{\"a\":[1,2,{\"b\":null,\"c\":[]}],\"d\":{},\"e\":[[],[{}]],\"f\":{\"g\":{\"h\":-7}}}");

    /* keys are escaped like strings; key_n takes bytes */
    j = fresh();
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "q\"b\\s\n");
    telemetry__json_int(j, 1);
    telemetry__json_key_n(j, "n\0l", 3);
    telemetry__json_int(j, 2);
    telemetry__json_key(j, "");
    telemetry__json_int(j, 3);
    telemetry__json_object_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "{\"q\\\"b\\\\s\\n\":1,\"n\\u0000l\":2,\"\":3}");

    /* raw inserts already-encoded JSON with the right separators */
    j = fresh();
    telemetry__json_array_begin(j);
    telemetry__json_raw(j, "{\"x\":1}", 7);
    telemetry__json_raw(j, "2", 1);
    telemetry__json_array_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "[{\"x\":1},2]");
}

static void test_values(void) {
    telemetry__json *j = fresh();
    telemetry__json_array_begin(j);
    telemetry__json_value(j, telemetry_int(INT64_MIN));
    telemetry__json_value(j, telemetry_bool(7));
    telemetry__json_value(j, telemetry_bool(0));
    telemetry__json_value(j, telemetry_double(0.25));
    telemetry__json_value(j, telemetry_double(NAN));
    telemetry__json_value(j, telemetry_double(INFINITY));
    telemetry__json_value(j, telemetry_string("s"));
    telemetry__json_value(j, telemetry_string(NULL));
    telemetry__json_value(j, telemetry_null());
    telemetry__json_array_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "[-9223372036854775808,true,false,0.25,null,null,\"s\",null,null]");
    CHECK_INT(telemetry_double(NAN).type, TELEMETRY_VALUE_NULL);
    CHECK_INT(telemetry_double(-INFINITY).type, TELEMETRY_VALUE_NULL);
    CHECK_INT(telemetry_double(1.0).type, TELEMETRY_VALUE_DOUBLE);
}

static void test_decimal(void) {
    telemetry__json *j = fresh();
    telemetry__json_array_begin(j);
    telemetry__json_decimal(j, 1099912, 3);
    telemetry__json_decimal(j, -5, 2);
    telemetry__json_decimal(j, 0, 0);
    telemetry__json_decimal(j, 7, 0);
    telemetry__json_decimal(j, 1000, 3);
    telemetry__json_decimal(j, INT64_MIN, 3);
    telemetry__json_decimal(j, INT64_MAX, 18);
    telemetry__json_array_end(j);
    CHECK_INT(telemetry__json_finish(j), 0);
    CHECK_STR(text(), "[1099.912,-0.05,0,7,1.000,-9223372036854775.808,9.223372036854775807]");
}

/* ---- doubles ------------------------------------------------------------------------------------ */
static void test_doubles(void) {
    int i, bad_grammar = 0, bad_roundtrip = 0, bad_kind = 0, nonfinite = 0, bad_null = 0;
    CHECK_STR(dbl(0.1), "0.1");
    CHECK_STR(dbl(1e300), "1e+300");
    CHECK_STR(dbl(-0.0), "-0.0");
    CHECK_STR(dbl(0.0), "0.0");
    CHECK_STR(dbl(5e-324), "4.94065645841247e-324");     /* %.15g already reads back */
    CHECK_STR(dbl(1.0 / 3.0), "0.3333333333333333");
    CHECK_STR(dbl(3.0), "3.0");
    CHECK_STR(dbl(-3.0), "-3.0");
    CHECK_STR(dbl(100.0), "100.0");
    CHECK_STR(dbl(1.5), "1.5");
    CHECK_STR(dbl(1e21), "1e+21");
    CHECK_STR(dbl(9007199254740992.0), "9007199254740992.0");
    CHECK_STR(dbl(DBL_MAX), "1.7976931348623157e+308");
    CHECK_STR(dbl(-DBL_MAX), "-1.7976931348623157e+308");
    CHECK_STR(dbl(DBL_MIN), "2.2250738585072014e-308");
    CHECK_STR(dbl(NAN), "null");
    CHECK_STR(dbl(-NAN), "null");
    CHECK_STR(dbl(INFINITY), "null");
    CHECK_STR(dbl(-INFINITY), "null");
    CHECK(strtod(dbl(-0.0), NULL) == 0.0 && signbit(strtod(dbl(-0.0), NULL)));

    /* NaN and infinities inside containers become null too */
    telemetry__json_object_begin(fresh());
    telemetry__json_key(&J, "nan"); telemetry__json_double(&J, NAN);
    telemetry__json_key(&J, "inf"); telemetry__json_double(&J, -INFINITY);
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), 0);
    CHECK_STR(text(), "{\"nan\":null,\"inf\":null}");

    /* Random bit patterns (a quarter of them subnormal or tiny, to reach that range): the output
       is a JSON number that still reads as a double and strtod gives back the same bits. */
    for (i = 0; i < 6000; i++) {
        uint64_t u = rng();
        double v, back;
        const char *s;
        if (i % 4 == 0) u &= 0x800FFFFFFFFFFFFFu;                    /* exponent 0: subnormal */
        v = bits_to_double(u);
        s = dbl_quiet(v);
        if (isnan(v) || isinf(v)) { nonfinite++; if (strcmp(s, "null") != 0) bad_null++; continue; }
        if (!is_json_number(s)) { if (bad_grammar++ < 5) fprintf(stderr, "  not a JSON number: %s\n", s); }
        if (!strpbrk(s, ".eE")) { if (bad_kind++ < 5) fprintf(stderr, "  reads as an integer: %s\n", s); }
        back = strtod(s, NULL);
        if (double_to_bits(back) != u) {
            if (bad_roundtrip++ < 5) fprintf(stderr, "  round trip: %016llx -> %s\n", (unsigned long long)u, s);
        }
    }
    CHECK_INT(bad_grammar, 0);
    CHECK_INT(bad_kind, 0);
    CHECK_INT(bad_roundtrip, 0);
    CHECK_INT(bad_null, 0);
    CHECK_INT(dbl_unfinished, 0);
    CHECK(nonfinite < 20);   /* about 6000/2048*0.75 exponents of all ones */
}

/* ---- strings ------------------------------------------------------------------------------------ */
static void test_escaping(void) {
    char all[34];
    int c;
    CHECK_STR(str("\""), "\"\\\"\"");
    CHECK_STR(str("\\"), "\"\\\\\"");
    CHECK_STR(str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    CHECK_STR(str("/"), "\"/\"");
    CHECK_STR(str("\x7F"), "\"\\u007f\"");
    CHECK_STR(str("~\x7F" "A"), "\"~\\u007fA\"");
    /* every control character 0x00-0x1F, then DEL */
    for (c = 0; c < 0x20; c++) all[c] = (char)c;
    all[32] = 0x7F;
    all[33] = 0;
    CHECK_STR(str_n(all, 33),
              "\""
              "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
              "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
              "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
              "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
              "\\u007f"
              "\"");
    /* each control character alone, between printable neighbours */
    for (c = 0; c < 0x20; c++) {
        char in[3], want[16];
        const char *esc;
        in[0] = 'x'; in[1] = (char)c; in[2] = 'y';
        switch (c) {
        case '\b': esc = "\\b"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\f': esc = "\\f"; break;
        case '\r': esc = "\\r"; break;
        default: esc = NULL;
        }
        if (esc) snprintf(want, sizeof want, "\"x%sy\"", esc);
        else snprintf(want, sizeof want, "\"x\\u%04xy\"", c);
        CHECK_STR(str_n(in, 3), want);
    }
    /* embedded NUL only through the _n form; the C-string form stops at it */
    CHECK_STR(str_n("a\0b", 3), "\"a\\u0000b\"");
    CHECK_STR(str_n("\0", 1), "\"\\u0000\"");
    CHECK_STR(str_n("\0\0", 2), "\"\\u0000\\u0000\"");
    CHECK_STR(str("a\0b"), "\"a\"");
    /* printable ASCII passes through untouched */
    {
        char ascii[96], want[200];
        size_t k = 0, w = 0;
        for (c = 0x20; c < 0x7F; c++) ascii[k++] = (char)c;
        ascii[k] = 0;
        want[w++] = '"';
        for (k = 0; ascii[k]; k++) {
            if (ascii[k] == '"' || ascii[k] == '\\') want[w++] = '\\';
            want[w++] = ascii[k];
        }
        want[w++] = '"';
        want[w] = 0;
        CHECK_STR(str(ascii), want);
    }
}

typedef struct utf8_case { const char *in; size_t len; const char *want; } utf8_case;
#define U8(in, want) { in, sizeof(in) - 1, "\"" want "\"" }

static const utf8_case utf8_cases[] = {
    /* well-formed: passes through, at every boundary of every length */
    U8("\xC2\x80", "\xC2\x80"),                       /* U+0080 */
    U8("\xC3\xA9", "\xC3\xA9"),                       /* e acute */
    U8("\xDF\xBF", "\xDF\xBF"),                       /* U+07FF */
    U8("\xE0\xA0\x80", "\xE0\xA0\x80"),               /* U+0800 */
    U8("\xE2\x82\xAC", "\xE2\x82\xAC"),               /* euro sign */
    U8("\xED\x9F\xBF", "\xED\x9F\xBF"),               /* U+D7FF, last before the surrogates */
    U8("\xEE\x80\x80", "\xEE\x80\x80"),               /* U+E000, first after them */
    U8("\xEF\xBF\xBD", "\xEF\xBF\xBD"),               /* U+FFFD itself */
    U8("\xEF\xBF\xBF", "\xEF\xBF\xBF"),               /* U+FFFF */
    U8("\xF0\x90\x80\x80", "\xF0\x90\x80\x80"),       /* U+10000 */
    U8("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"),       /* emoji */
    U8("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"),       /* U+10FFFF */
    U8("a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d", "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d"),
    U8("\"\xC3\xA9\\", "\\\"\xC3\xA9\\\\"),
    /* overlong forms: every byte is its own maximal subpart */
    U8("\xC0\x80", R R),
    U8("\xC1\xBF", R R),
    U8("\xE0\x80\x80", R R R),
    U8("\xE0\x9F\xBF", R R R),
    U8("\xF0\x80\x80\x80", R R R R),
    U8("\xF0\x8F\xBF\xBF", R R R R),
    /* surrogates encoded in UTF-8 (CESU) */
    U8("\xED\xA0\x80", R R R),
    U8("\xED\xBF\xBF", R R R),
    U8("\xED\xA0\xBD\xED\xB8\x80", R R R R R R),
    /* above U+10FFFF */
    U8("\xF4\x90\x80\x80", R R R R),
    U8("\xF7\xBF\xBF\xBF", R R R R),
    /* bytes that never occur in UTF-8 */
    U8("\xF5", R), U8("\xF8", R), U8("\xFC", R), U8("\xFE", R), U8("\xFF", R),
    U8("\xF5\x80\x80\x80", R R R R),
    U8("\xF8\x88\x80\x80\x80", R R R R R),
    U8("\xFC\x84\x80\x80\x80\x80", R R R R R R),
    /* lone continuation bytes */
    U8("\x80", R), U8("\xBF", R), U8("\x80\xBF", R R),
    U8("a\x80" "b", "a" R "b"),
    U8("\xC3\xA9\x80", "\xC3\xA9" R),
    /* truncated at the end of the input: the whole valid prefix is one U+FFFD */
    U8("\xC3", R),
    U8("\xE2", R),
    U8("\xE2\x82", R),
    U8("\xF0", R),
    U8("\xF0\x9F", R),
    U8("\xF0\x9F\x98", R),
    U8("a\xF0\x9F\x98", "a" R),
    U8("\xF4\x8F\xBF", R),
    /* truncated in the middle of the string */
    U8("\xC3" "A", R "A"),
    U8("\xE2\x82" "A", R "A"),
    U8("\xF0\x9F\x98" "A", R "A"),
    U8("\xE2\x82\xE2\x82\xAC", R "\xE2\x82\xAC"),
    U8("\xF0\x9F\x98\xF0\x9F\x98\x80", R "\xF0\x9F\x98\x80"),
    U8("\xC3\xC3\xA9", R "\xC3\xA9"),
    U8("\xE2\x82\"", R "\\\""),
    U8("\xF0\x9F\n", R "\\n"),
    U8("\xE0\xA0" "\x7F", R "\\u007f"),
    /* the example from the Unicode Standard, chapter 3 (U+FFFD substitution, table 3-8) */
    U8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", "a" R R R "b" R "c" R R "d"),
};

static void test_utf8(void) {
    size_t i;
    for (i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const char *got = str_n(utf8_cases[i].in, utf8_cases[i].len);
        if (strcmp(got, utf8_cases[i].want) != 0) fprintf(stderr, "  utf8 case %u:\n", (unsigned)i);
        CHECK_STR(got, utf8_cases[i].want);
    }
    /* the same repair applies to keys */
    telemetry__json_object_begin(fresh());
    telemetry__json_key_n(&J, "k\xE2\x82", 3);
    telemetry__json_string_n(&J, "\xED\xA0\x80v", 4);
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), 0);
    CHECK_STR(text(), "{\"k" R "\":\"" R R R "v\"}");
    /* the C-string form repairs too */
    CHECK_STR(str("x\xFFy"), "\"x" R "y\"");
}

static void test_long_strings(void) {
    size_t n = 300000, i;
    char *s = (char *)malloc(n), *want = (char *)malloc(6 * n + 3);
    size_t w = 0;
    want[w++] = '"';
    for (i = 0; i < n; i++) {
        s[i] = (char)("ab\"\x01" "c")[i % 5];
        if (s[i] == '"') { want[w++] = '\\'; want[w++] = '"'; }
        else if (s[i] == 1) { memcpy(want + w, "\\u0001", 6); w += 6; }
        else want[w++] = s[i];
    }
    want[w++] = '"';
    want[w] = 0;
    CHECK(strcmp(str_n(s, n), want) == 0);   /* not CHECK_STR: too long to print */
    CHECK_INT(B.len, w);
    free(s);
    free(want);
}

/* ---- buffers ------------------------------------------------------------------------------------ */
/* A document that exercises every kind of write. */
static void sample(telemetry__json *j) {
    telemetry__json_object_begin(j);
    telemetry__json_key(j, "name"); telemetry__json_string(j, "caf\xC3\xA9 \"quoted\"\n");
    telemetry__json_key(j, "bad"); telemetry__json_string_n(j, "\xF0\x9F\x98", 3);
    telemetry__json_key(j, "list");
    telemetry__json_array_begin(j);
    telemetry__json_int(j, INT64_MIN);
    telemetry__json_double(j, 0.1);
    telemetry__json_bool(j, 1);
    telemetry__json_null(j);
    telemetry__json_decimal(j, 12345, 2);
    telemetry__json_array_end(j);
    telemetry__json_key(j, "empty"); telemetry__json_object_begin(j); telemetry__json_object_end(j);
    telemetry__json_object_end(j);
}

static void test_fixed_buffer(void) {
    const char *want = "{\"name\":\"caf\xC3\xA9 \\\"quoted\\\"\\n\",\"bad\":\"" R "\","
                       "\"list\":[-9223372036854775808,0.1,true,null,123.45],\"empty\":{}}";
    size_t len = strlen(want), cap;
    int wrong_rc = 0, overrun = 0, wrong_text = 0;
    char *mem;
    telemetry__buf fb;
    telemetry__json fj;

    sample(fresh());
    CHECK_INT(telemetry__json_finish(&J), 0);
    CHECK_STR(text(), want);
    CHECK_INT(B.len, len);

    /* exact fit: the document and its terminating NUL */
    mem = (char *)malloc(len + 1);
    telemetry__buf_init_fixed(&fb, mem, len + 1);
    telemetry__json_init(&fj, &fb);
    sample(&fj);
    CHECK_INT(telemetry__json_finish(&fj), TELEMETRY_OK);
    CHECK_STR(mem, want);
    CHECK_INT(fb.len, len);
    telemetry__buf_free(&fb);                  /* a fixed buffer's memory is the caller's */
    free(mem);

    /* one byte short */
    mem = (char *)malloc(len);
    telemetry__buf_init_fixed(&fb, mem, len);
    telemetry__json_init(&fj, &fb);
    sample(&fj);
    CHECK_INT(telemetry__json_finish(&fj), TELEMETRY_ERR_NO_SPACE);
    free(mem);

    /* every size: never a byte past the end, never a partial document passed off as whole */
    for (cap = 0; cap <= len + 8; cap++) {
        size_t k;
        int rc;
        mem = (char *)malloc(cap + 16);
        memset(mem, 0xA5, cap + 16);
        telemetry__buf_init_fixed(&fb, mem, cap);
        telemetry__json_init(&fj, &fb);
        sample(&fj);
        rc = telemetry__json_finish(&fj);
        if (rc != (cap > len ? TELEMETRY_OK : TELEMETRY_ERR_NO_SPACE)) wrong_rc++;
        if (rc == 0 && strcmp(mem, want) != 0) wrong_text++;
        for (k = cap; k < cap + 16; k++) if ((unsigned char)mem[k] != 0xA5) { overrun++; break; }
        free(mem);
    }
    CHECK_INT(wrong_rc, 0);
    CHECK_INT(wrong_text, 0);
    CHECK_INT(overrun, 0);

    /* a string that overflows in the middle of a multi-byte sequence or an escape */
    {
        char small[8];
        telemetry__buf_init_fixed(&fb, small, sizeof small);
        telemetry__json_init(&fj, &fb);
        telemetry__json_string(&fj, "ab\xE2\x82\xAC\n");    /* "ab" euro "\n" = 10 bytes quoted */
        CHECK_INT(telemetry__json_finish(&fj), TELEMETRY_ERR_NO_SPACE);
        telemetry__buf_init_fixed(&fb, small, sizeof small);
        telemetry__json_init(&fj, &fb);
        telemetry__json_string(&fj, "ab\xE2\x82\xAC");       /* 7 bytes + NUL: fits */
        CHECK_INT(telemetry__json_finish(&fj), TELEMETRY_OK);
        CHECK_STR(small, "\"ab\xE2\x82\xAC\"");
    }
}

static void test_out_of_memory(void) {
    long budget;
    int ok = 0, nomem = 0, other = 0;
    /* every allocation that could fail, fails once: finish says NO_MEMORY, nothing leaks */
    for (budget = 0; budget < 20; budget++) {
        int rc;
        size_t i;
        fresh();
        test_alloc_budget = budget;
        telemetry__json_array_begin(&J);
        for (i = 0; i < 200; i++) telemetry__json_string(&J, "0123456789abcdef0123456789abcdef");
        telemetry__json_array_end(&J);
        rc = telemetry__json_finish(&J);
        test_alloc_budget = -1;
        if (rc == TELEMETRY_OK) ok++;
        else if (rc == TELEMETRY_ERR_NO_MEMORY) nomem++;
        else other++;
    }
    CHECK(nomem > 0);
    CHECK(ok > 0);
    CHECK_INT(other, 0);
    fresh();
}

static void test_buf(void) {
    char big[1000], fixed[16];
    telemetry__buf fb;
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;

    telemetry__buf_free(&B); telemetry__buf_init(&B);
    CHECK_INT(telemetry__buf_put_i64(&B, INT64_MIN), 0);
    CHECK_INT(telemetry__buf_putc(&B, ' '), 0);
    CHECK_INT(telemetry__buf_put_i64(&B, INT64_MAX), 0);
    CHECK_INT(telemetry__buf_putc(&B, ' '), 0);
    CHECK_INT(telemetry__buf_put_i64(&B, 0), 0);
    CHECK_INT(telemetry__buf_putc(&B, ' '), 0);
    CHECK_INT(telemetry__buf_put_hex(&B, 0), 0);
    CHECK_INT(telemetry__buf_putc(&B, ' '), 0);
    CHECK_INT(telemetry__buf_put_hex(&B, UINT64_MAX), 0);
    CHECK_STR(text(), "-9223372036854775808 9223372036854775807 0 0x0 0xffffffffffffffff");

    /* printf past its 256-byte scratch buffer */
    telemetry__buf_free(&B); telemetry__buf_init(&B);
    CHECK_INT(telemetry__buf_printf(&B, "<%s>%d", big, 7), 0);
    CHECK_INT(B.len, 1002);
    CHECK(B.data[0] == '<' && B.data[1000] == '>' && B.data[1001] == '7' && B.data[1002] == 0);

    /* fixed: fits with the NUL, one more byte fails and stays failed */
    telemetry__buf_init_fixed(&fb, fixed, sizeof fixed);
    CHECK_INT(telemetry__buf_puts(&fb, "0123456789abcde"), 0);
    CHECK_STR(fixed, "0123456789abcde");
    CHECK_INT(telemetry__buf_putc(&fb, 'x'), -1);
    CHECK_INT(fb.failed, 1);
    CHECK_INT(telemetry__buf_append(&fb, "", 0), -1);
    telemetry__buf_init_fixed(&fb, fixed, sizeof fixed);
    CHECK_INT(telemetry__buf_printf(&fb, "%s", big), -1);
    CHECK_INT(fb.failed, 1);
    telemetry__buf_init_fixed(&fb, fixed, sizeof fixed);
    CHECK_INT(telemetry__buf_printf(&fb, "%d-%d", 123456, 7890123), 0);
    CHECK_STR(fixed, "123456-7890123");
    CHECK_INT(telemetry__buf_printf(&fb, "%s", "xy"), -1);
    telemetry__buf_init_fixed(&fb, fixed, 0);
    CHECK_INT(telemetry__buf_putc(&fb, 'x'), -1);
}

/* ---- misuse ------------------------------------------------------------------------------------- */
static void test_misuse(void) {
    int d;
    /* nothing written */
    fresh();
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    /* a value without a key inside an object */
    telemetry__json_object_begin(fresh());
    telemetry__json_int(&J, 1);
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_begin(fresh());
    telemetry__json_key(&J, "a"); telemetry__json_int(&J, 1);
    telemetry__json_string(&J, "no key");
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_begin(fresh());
    telemetry__json_array_begin(&J); telemetry__json_array_end(&J);
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    /* a key where none belongs: top level, in an array, twice in a row, dangling at the end */
    telemetry__json_key(fresh(), "a");
    telemetry__json_int(&J, 1);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_array_begin(fresh());
    telemetry__json_key(&J, "a"); telemetry__json_int(&J, 1);
    telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_begin(fresh());
    telemetry__json_key(&J, "a"); telemetry__json_key(&J, "b"); telemetry__json_int(&J, 1);
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_begin(fresh());
    telemetry__json_key(&J, "a");
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    /* unbalanced: unclosed, closed twice, closed with the wrong bracket, closed at top level */
    telemetry__json_object_begin(fresh());
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_array_begin(fresh());
    telemetry__json_array_begin(&J);
    telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_array_begin(fresh());
    telemetry__json_array_end(&J);
    telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_begin(fresh());
    telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_array_begin(fresh());
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_end(fresh());
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    /* two top-level values, in every combination of scalar and container */
    telemetry__json_int(fresh(), 1); telemetry__json_int(&J, 2);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_object_begin(fresh()); telemetry__json_object_end(&J);
    telemetry__json_object_begin(&J); telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_array_begin(fresh()); telemetry__json_int(&J, 1); telemetry__json_array_end(&J);
    telemetry__json_int(&J, 2);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_string(fresh(), "a");
    telemetry__json_array_begin(&J); telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    telemetry__json_null(fresh()); telemetry__json_raw(&J, "1", 1);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    /* misuse is sticky: repairing the structure afterwards does not clear it */
    telemetry__json_object_begin(fresh());
    telemetry__json_int(&J, 1);
    telemetry__json_object_end(&J);
    telemetry__json_init(&J, &B);   /* a new writer on the same buffer starts clean */
    CHECK_INT(J.error, 0);

    /* depth: TELEMETRY_JSON_MAX_DEPTH levels are fine, one more is an error */
    fresh();
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH; d++) telemetry__json_array_begin(&J);
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH; d++) telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_OK);
    CHECK_INT(B.len, 2 * TELEMETRY_JSON_MAX_DEPTH);
    fresh();
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH; d++) {
        telemetry__json_object_begin(&J);
        telemetry__json_key(&J, "k");
    }
    telemetry__json_int(&J, 1);
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH; d++) telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_OK);
    fresh();
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH + 1; d++) telemetry__json_array_begin(&J);
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH + 1; d++) telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    fresh();
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH + 10; d++) telemetry__json_array_begin(&J);
    telemetry__json_int(&J, 1);
    for (d = 0; d < TELEMETRY_JSON_MAX_DEPTH + 10; d++) telemetry__json_array_end(&J);
    CHECK_INT(telemetry__json_finish(&J), TELEMETRY_ERR_INVALID_ARGUMENT);
    /* an overflowed fixed buffer reports NO_SPACE even when the structure is also wrong */
    {
        char small[4];
        telemetry__buf fb;
        telemetry__json fj;
        telemetry__buf_init_fixed(&fb, small, sizeof small);
        telemetry__json_init(&fj, &fb);
        telemetry__json_object_begin(&fj);
        telemetry__json_string(&fj, "long enough to overflow");
        CHECK_INT(telemetry__json_finish(&fj), TELEMETRY_ERR_NO_SPACE);
    }
}

/* ---- locale ------------------------------------------------------------------------------------- */
/* Formats doubles in the current locale; checks the goldens, then (back in "C", where strtod reads
   '.') that random values still round-trip. */
static void check_doubles_in_locale(const char *name) {
    enum { N = 2000 };
    static char out[N][48];
    static uint64_t in[N];
    int i, bad = 0;
    CHECK_STR(dbl(0.1), "0.1");
    CHECK_STR(dbl(-1234.5), "-1234.5");
    CHECK_STR(dbl(1.0 / 3.0), "0.3333333333333333");
    CHECK_STR(dbl(1e300), "1e+300");
    CHECK_STR(dbl(2.5e-8), "2.5e-08");
    CHECK_STR(dbl(3.0), "3.0");
    CHECK_STR(dbl(-0.0), "-0.0");
    CHECK_STR(dbl(DBL_MAX), "1.7976931348623157e+308");
    telemetry__json_object_begin(fresh());
    telemetry__json_key(&J, "v"); telemetry__json_double(&J, 1.25);
    telemetry__json_object_end(&J);
    CHECK_INT(telemetry__json_finish(&J), 0);
    CHECK_STR(text(), "{\"v\":1.25}");
    for (i = 0; i < N; i++) {
        double v;
        do { in[i] = rng(); v = bits_to_double(in[i]); } while (isnan(v) || isinf(v));
        snprintf(out[i], sizeof out[i], "%s", dbl_quiet(v));
    }
    setlocale(LC_ALL, "C");
    for (i = 0; i < N; i++) {
        if (!is_json_number(out[i]) || double_to_bits(strtod(out[i], NULL)) != in[i]) {
            if (bad++ < 5) fprintf(stderr, "  %s: %016llx written as \"%s\"\n", name, (unsigned long long)in[i], out[i]);
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(dbl_unfinished, 0);
}

/* Sets the first locale of the list that exists and has the wanted decimal point. */
static const char *use_locale(const char *const *names, const char *point) {
    for (; *names; names++) {
        if (setlocale(LC_ALL, *names) && strcmp(localeconv()->decimal_point, point) == 0) return *names;
    }
    setlocale(LC_ALL, "C");
    return NULL;
}

/* A C library that accepts a locale's name but keeps '.' as its decimal point has no numeric
   locales at all (musl): printf cannot be moved off '.', so there is nothing to test there. */
static int no_numeric_locales(const char *name) {
    int none = setlocale(LC_ALL, name) != NULL && strcmp(localeconv()->decimal_point, ".") == 0;
    setlocale(LC_ALL, "C");
    if (none) printf("test_json: the C library accepts %s but keeps '.' (no numeric locales, as musl): locale checks skipped\n", name);
    return none;
}

static void test_locale(void) {
    static const char *const comma[] = { "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
                                         "nl_NL.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8", "ru_RU.UTF-8", NULL };
    static const char *const multibyte[] = { "ps_AF.UTF-8", "ps_AF.utf8", "ps_AF", NULL };
    const char *name;

    if (no_numeric_locales(comma[0])) return;

    name = use_locale(comma, ",");
    if (!name) {
        fprintf(stderr, "%s:%d: FAILED: no locale with ',' as its decimal point is installed, so the\n"
                        "  writer's locale independence is untested. On Debian: apt-get install -y locales &&\n"
                        "  localedef -i de_DE -f UTF-8 de_DE.UTF-8\n", __FILE__, __LINE__);
        testlib_failed++;
    } else {
        check_doubles_in_locale(name);
    }

    /* The decimal point is a string: in ps_AF it is U+066B, two bytes in UTF-8. */
    name = use_locale(multibyte, "\xD9\xAB");
#if defined(_WIN32)
    /* msvcrt.dll (mingw's C runtime) has no UTF-8 locales: a multi-byte point cannot be set */
    if (!name) { printf("skipped: the multi-byte decimal point (no UTF-8 locale in this C runtime)\n"); return; }
#endif
    if (!name) {
        fprintf(stderr, "%s:%d: FAILED: the locale ps_AF.UTF-8 (multi-byte decimal point) is not installed.\n"
                        "  On Debian: apt-get install -y locales && localedef -i ps_AF -f UTF-8 ps_AF.UTF-8\n",
                __FILE__, __LINE__);
        testlib_failed++;
    } else {
        check_doubles_in_locale(name);
    }
    setlocale(LC_ALL, "C");
}

int main(void) {
    test_scalars();
    test_objects_and_arrays();
    test_values();
    test_decimal();
    test_doubles();
    test_escaping();
    test_utf8();
    test_long_strings();
    test_fixed_buffer();
    test_out_of_memory();
    test_buf();
    test_misuse();
    test_locale();
    telemetry__buf_free(&B);
    return testlib_report("test_json");
}
