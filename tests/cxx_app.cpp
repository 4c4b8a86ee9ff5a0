// cxx_app.cpp - a C++ file of a program that uses telemetry.h's API and macros (no
// implementation here): tests/test_cxx_strict.sh compiles it with g++ and clang++ under
// -Wzero-as-null-pointer-constant -Wold-style-cast (and the usual -Wall -Wextra -Werror
// -pedantic), links it with the implementation built as C, and runs it.
#include "telemetry.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

TELEMETRY_METRIC(cxx_strict_answer, "An integer metric in a strict C++ file") {
    return telemetry_int(42);
}

namespace cxx_strict {
TELEMETRY_METRIC(cxx_strict_flag, "A boolean metric inside a namespace") {
    return telemetry_bool(1);
}
TELEMETRY_METRIC(cxx_strict_text, "A string metric") {
    return telemetry_string("strict");
}
TELEMETRY_METRIC(cxx_strict_ratio, "A double metric") {
    return telemetry_double(0.25);
}
TELEMETRY_METRIC(cxx_strict_none, "A metric with no value") {
    return telemetry_null();
}
}

TELEMETRY_COUNTER(cxx_strict_clicks, "A declared counter in a strict C++ file");

TELEMETRY_METRIC_DECLARE(cxx_strict_answer);

int main(int argc, char **argv) {
    char *json = nullptr;
    size_t len = 0;
    const std::string state = std::string(argc > 1 ? argv[1] : "/tmp") + "/cxx-app-state";
    telemetry_config cfg = telemetry_config();
    cfg.app_name = "cxx_app";
    cfg.state_dir = state.c_str();
    cfg.no_notice = 1;
    unsetenv("DO_NOT_TRACK");
    if (telemetry_init(&cfg) != TELEMETRY_OK) { std::printf("init failed\n"); return 1; }
    telemetry_count("cxx_strict_clicks", 2);
    int rc = TELEMETRY_REGISTER(cxx_strict_answer);            // again by hand: harmless
    std::printf("register again: %d\n", rc);
    rc = telemetry_build_usage_report(&json, &len);
    if (rc != 0 || !json) { std::printf("no report: %d\n", rc); return 1; }
    std::printf("%s\n", json);
    bool ok = std::strstr(json, "\"cxx_strict_answer\":42") && std::strstr(json, "\"cxx_strict_flag\":true") &&
              std::strstr(json, "\"cxx_strict_text\":\"strict\"");
    telemetry_free(json);
    telemetry_shutdown();
    std::printf("cxx_app: %s\n", ok ? "ok" : "missing metrics");
    return ok ? 0 : 1;
}
