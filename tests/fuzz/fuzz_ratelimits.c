/* fuzz_ratelimits.c - libFuzzer target for the Sentry rate-limit parser (X-Sentry-Rate-Limits and
   Retry-After). The input is split at the first NUL into the two headers. Checks: a limit never
   lies in the past of "now", never exceeds the 24 h cap, and a later response never shortens one. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_ratelimits: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = (char *)malloc(size + 2);
    const char *limits, *retry = NULL;
    int64_t until[TELEMETRY__RL_COUNT], before[TELEMETRY__RL_COUNT];
    const int64_t now = INT64_C(1800000000000);
    size_t k;
    int status = size && (data[0] & 1) ? 429 : 200;
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; text[size + 1] = 0;
    limits = text;
    if (strlen(text) < size) retry = text + strlen(text) + 1;
    memset(until, 0, sizeof until);
    telemetry__rate_limits_update(until, status, limits, retry, now);
    for (k = 0; k < TELEMETRY__RL_COUNT; k++) REQUIRE(until[k] == 0 || (until[k] > now && until[k] <= now + TELEMETRY__RL_CAP_MS));
    memcpy(before, until, sizeof until);
    telemetry__rate_limits_update(until, status, limits, retry, now);       /* the same again: no change */
    for (k = 0; k < TELEMETRY__RL_COUNT; k++) REQUIRE(until[k] == before[k]);
    telemetry__rate_limits_update(until, 200, "1:error;session;internal:key", NULL, now);
    for (k = 0; k < TELEMETRY__RL_COUNT; k++) REQUIRE(until[k] >= before[k]);   /* only ever extends */
    free(text);
    return 0;
}

#include "standalone.h"
