/* matrix_bare.c - the implementation built with no feature macro at all (`cc -std=c99 -pedantic`),
   after C headers only: the header must turn POSIX on by itself. Opt-in mode without consent, so
   the run writes nothing; it builds the usage report and checks it. With MATRIX_BARE_SPLIT the
   implementation comes from tests/matrix_impl.c (the header first in its file). */
#include <stdio.h>
#include <string.h>
#ifndef MATRIX_BARE_SPLIT                /* else the implementation is tests/matrix_impl.c, alone */
#define TELEMETRY_IMPLEMENTATION
#endif
#include "telemetry.h"

int main(void) {
    telemetry_config cfg;
    char *json = NULL;
    int ok;
    memset(&cfg, 0, sizeof cfg);
    cfg.app_name = "bare";
    cfg.opt_in = 1;
    if (telemetry_init(&cfg) != TELEMETRY_DISABLED) return 1;
    ok = telemetry_build_usage_report(&json, NULL) == 0 && strstr(json, "\"app\":\"bare\"") != NULL;
    telemetry_free(json);
    telemetry_shutdown();
    if (ok) printf("matrix_main: ok\n");
    return ok ? 0 : 1;
}
