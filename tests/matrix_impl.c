/* matrix_impl.c - the two-line companion file for people who want the implementation in its own
   object (here: a shared library built by tests/test_matrix.sh). */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
