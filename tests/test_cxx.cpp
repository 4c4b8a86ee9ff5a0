// test_cxx.cpp - the C++ twin: the whole implementation compiled as C++11 (tests/mk/check.mk builds it
// with $(CXX) -std=c++11 and the same warnings as the C tests). Metrics defined in C++, at file
// scope and inside a namespace, register themselves and appear in the usage report.
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

TELEMETRY_METRIC(cxx_answer, "An integer metric defined in C++") {
    return telemetry_int(42);
}

TELEMETRY_METRIC(cxx_text, "A string metric defined in C++") {
    return telemetry_string("twin \"quoted\"");
}

namespace cxx_app {
TELEMETRY_METRIC(cxx_ratio, "A double metric defined inside a C++ namespace") {
    return telemetry_double(0.5);
}
}

// Declaring a metric again (what another file would do) and registering it by hand is harmless.
TELEMETRY_METRIC_DECLARE(cxx_answer);

static void remove_tree(const std::string &path) {
    DIR *d = opendir(path.c_str());
    if (!d) { unlink(path.c_str()); return; }
    while (struct dirent *e = readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") remove_tree(path + "/" + name);
    }
    closedir(d);
    rmdir(path.c_str());
}

static bool contains(const char *haystack, const char *needle) {
    return haystack && strstr(haystack, needle) != NULL;
}

int main() {
    char tmp[] = "/tmp/telemetry-cxx-XXXXXX";
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 2; }
    const std::string root = tmp, state = root + "/state";
    unsetenv("DO_NOT_TRACK");
    unsetenv("TEST_CXX_NO_TELEMETRY");
    unsetenv("TELEMETRY_DEBUG");

    telemetry_config cfg = telemetry_config();     // value-initialised: every field zero
    cfg.app_name = "test_cxx";
    cfg.app_version = "1.2.3";
    cfg.state_dir = state.c_str();
    CHECK_INT(telemetry_init(&cfg), TELEMETRY_OK);
    CHECK_INT(telemetry_enabled(), 1);
    CHECK_INT(telemetry_count("cxx_runs", 3), TELEMETRY_OK);
    CHECK_INT(TELEMETRY_REGISTER(cxx_answer), TELEMETRY_OK);

    char *json = NULL;
    size_t len = 0;
    CHECK_INT(telemetry_build_usage_report(&json, &len), TELEMETRY_OK);
    CHECK(json != NULL && strlen(json) == len);
    CHECK(contains(json, "\"app\":\"test_cxx\""));
    CHECK(contains(json, "\"version\":\"1.2.3\""));
    CHECK(contains(json, "\"cxx_answer\":42"));
    CHECK(contains(json, "\"cxx_text\":\"twin \\\"quoted\\\"\""));
    CHECK(contains(json, "\"cxx_ratio\":0.5"));
    CHECK(contains(json, "\"counters\":{\"cxx_runs\":3}"));
    if (testlib_failed) fprintf(stderr, "report: %s\n", json ? json : "(none)");
    telemetry_free(json);

    // the disclosure lists the C++ metrics with their descriptions
    FILE *f = tmpfile();
    if (f) {
        char text[1 << 15];
        CHECK_INT(telemetry_print_disclosure(f), TELEMETRY_OK);
        rewind(f);
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
        CHECK(contains(text, "A double metric defined inside a C++ namespace"));
        CHECK(contains(text, "cxx_answer"));
    }

    telemetry_shutdown();
    CHECK(access(state.c_str(), F_OK) == 0);       // the state folder was created
    remove_tree(root);
    return testlib_report("test_cxx");
}
