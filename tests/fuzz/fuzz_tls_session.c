/* fuzz_tls_session.c - libFuzzer target for the TLS session file (>>tls: sessions kept across
   runs). The input is the file's text; it is looked up for two keys. Checks: no crash, no read out
   of bounds (under ASan); a session found is whole (TLS 1.2, a 1 to 32-byte id); written back with
   telemetry__tls_session_save and read again, it is the same session, and the other lines are
   kept at most TELEMETRY__TLS_SESSIONS - 1. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include <stdlib.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_tls_session: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char file[64];
    static const char *const keys[] = { "localhost:443", "o1.ingest.sentry.io:443" };
    br_ssl_session_parameters sp, back;
    int k;
    if (!file[0]) snprintf(file, sizeof file, "/tmp/fuzz_tls_session.%ld", (long)getpid());
    for (k = 0; k < 2; k++) {
        FILE *f;
        if (telemetry__tls_session_parse((const char *)data, size, keys[k], &sp) != 0) continue;
        REQUIRE(sp.version == BR_TLS12 && sp.session_id_len >= 1 && sp.session_id_len <= 32);
        f = fopen(file, "wb");
        if (!f) continue;
        fwrite(data, 1, size, f);
        fclose(f);
        telemetry__tls_session_save(file, keys[k], &sp);
        REQUIRE(telemetry__tls_session_load(file, keys[k], &back) == 0);
        REQUIRE(back.session_id_len == sp.session_id_len && memcmp(back.session_id, sp.session_id, sp.session_id_len) == 0);
        REQUIRE(back.cipher_suite == sp.cipher_suite && memcmp(back.master_secret, sp.master_secret, 48) == 0);
        remove(file);
    }
    return 0;
}

#include "standalone.h"
