/* matrix_second.c - a second translation unit that embeds its own copy of the library, as a
   second library bundling telemetry.h would. tests/test_matrix.sh links it with matrix_main.c,
   both built with TELEMETRY_STATIC: the program must link (no duplicate symbols, data included)
   and the two copies must keep separate state. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"

TELEMETRY_METRIC(second_metric, "A metric of the second embedded copy") {
    return telemetry_int(2);
}

int matrix_second(void);
int matrix_second(void) {
    if (telemetry_enabled() != 0) return 1;                       /* this copy was never initialised */
    if (telemetry_report_usage() != TELEMETRY_ERR_NOT_INITIALIZED) return 2;
    if (telemetry_count("second_runs", 1) != 0) return 3;
    return 0;
}
