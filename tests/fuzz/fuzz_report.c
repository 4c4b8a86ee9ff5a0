/* fuzz_report.c - libFuzzer target for telemetry_report's streaming JSON parser and summary
   (examples/telemetry_report.c): the input is parsed whole and again cut into pieces whose sizes
   come from its first byte, and both must agree (same verdict, same counts: a parser that loses
   state at a piece boundary fails here); a summary is then sorted and written as JSON (which must
   parse back with this file's check) and as HTML. Any crash, leak, hang or disagreement is a bug.

   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L -I. \
              tests/fuzz/fuzz_report.c -o build/fuzz_report -lbearssl -lpthread -lm
   Without libFuzzer (-DFUZZ_STANDALONE), main() runs each file named on the command line once. */
#define TELEMETRY_REPORT_NO_MAIN
#include "../../examples/telemetry_report.c"

#define FUZZ_REQUIRE(cond, what) do { \
    if (!(cond)) { fprintf(stderr, "fuzz_report: %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); abort(); } \
} while (0)

typedef struct fz_result { int rc; uint64_t reports, skipped, installs, first_runs, days, metrics, counters; } fz_result;

static fz_result fz_run(const uint8_t *data, size_t size, size_t piece, int write_out) {
    tr_summary s;
    tr_parser *p = (tr_parser *)tr_alloc(sizeof *p);
    fz_result r;
    size_t off = 0;
    memset(&r, 0, sizeof r);
    tr_summary_init(&s);
    tr_parser_init(p, &s);
    r.rc = 0;
    while (off < size && r.rc == 0) {
        size_t n = size - off < piece ? size - off : piece;
        r.rc = tr_parser_feed(p, (const char *)data + off, n);
        off += n;
    }
    if (r.rc == 0) r.rc = tr_parser_finish(p);
    FUZZ_REQUIRE(r.rc == 0 || p->error[0], "a failure without a message");
    tr_parser_free(p);
    free(p);
    r.reports = s.reports; r.skipped = s.skipped; r.installs = tr_installs(&s); r.first_runs = s.first_runs;
    r.days = s.n_days; r.metrics = s.n_metrics; r.counters = s.n_counters;
    if (r.rc == 0 && write_out && s.reports) {
        telemetry__buf b;
        FILE *f = fopen("/dev/null", "wb");
        tr_sort(&s);
        telemetry__buf_init(&b);
        FUZZ_REQUIRE(tr_write_json(&s, &b) == 0, "the JSON summary failed");
        {   /* the summary is JSON the tool itself reads back, with the same number of reports */
            tr_summary s2;
            tr_parser *p2 = (tr_parser *)tr_alloc(sizeof *p2);
            tr_summary_init(&s2);
            tr_parser_init(p2, &s2);
            FUZZ_REQUIRE(tr_parser_feed(p2, b.data, b.len) == 0 && tr_parser_finish(p2) == 0, "the JSON summary does not parse");
            tr_parser_free(p2);
            free(p2);
            tr_summary_free(&s2);
        }
        telemetry__buf_free(&b);
        if (f) { tr_write_text(f, &s, 10); FUZZ_REQUIRE(tr_write_html(f, &s, 10) == 0, "the page failed"); fclose(f); }
    }
    tr_summary_free(&s);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_result whole, cut;
    size_t piece = size ? (size_t)(data[0] % 17) + 1 : 1;
    whole = fz_run(data, size, size ? size : 1, 1);
    cut = fz_run(data, size, piece, 0);
    FUZZ_REQUIRE(whole.rc == cut.rc, "the verdict depends on how the input was cut");
    FUZZ_REQUIRE(whole.reports == cut.reports && whole.skipped == cut.skipped && whole.installs == cut.installs &&
                 whole.first_runs == cut.first_runs && whole.days == cut.days && whole.metrics == cut.metrics &&
                 whole.counters == cut.counters, "the counts depend on how the input was cut");
    return 0;
}

#include "standalone.h"
