/* telemetry_impl.c - the one file that compiles the implementation of telemetry.h. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
