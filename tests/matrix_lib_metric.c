/* matrix_lib_metric.c - a metric alone in its object file, which tests/test_matrix.sh archives
   into a static library: nothing in the program references it, so the linker leaves it out and
   its self-registration with it, unless the program registers it by hand. */
#include "telemetry.h"

TELEMETRY_METRIC(lib_metric, "A metric that lives in a static library") {
    return telemetry_int(77);
}
