/* matrix_bare_late.c - POSIX headers before the implementation under strict -std=c99 with no
   feature macro: the header must refuse with a message that says what to do. */
#include <unistd.h>
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
int main(void) { return 0; }
