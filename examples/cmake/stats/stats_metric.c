/* stats_metric.c - a metric alone in its object file: nothing in the program calls into this
   file, so a static link leaves it out unless the program registers the metric or links the
   library whole (see ../CMakeLists.txt). */
#include "telemetry.h"

TELEMETRY_METRIC(stats_backend, "Which summing code the stats library uses") {
    return telemetry_string("scalar");
}
