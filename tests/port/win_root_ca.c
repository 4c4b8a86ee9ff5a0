/* win_root_ca.c - puts a CA certificate into the current user's ROOT store of a Windows (wine)
   prefix, so that the Windows jobs can check that with no ca_file / ca_pem the library trusts what
   the system store trusts, and only that (tests/port/run.sh takes it out again).

     win_root_ca CERT.der      exits 0 when it is in the store */
#include <windows.h>
#include <wincrypt.h>
#include <stdio.h>

int main(int argc, char **argv) {
    static unsigned char der[16384];
    HCERTSTORE store;
    size_t len;
    FILE *f;
    BOOL ok;
    if (argc != 2) { fprintf(stderr, "usage: win_root_ca CERT.der\n"); return 2; }
    if (!(f = fopen(argv[1], "rb"))) { perror(argv[1]); return 2; }
    len = fread(der, 1, sizeof der, f);
    fclose(f);
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"ROOT");
    if (!store) { fprintf(stderr, "win_root_ca: cannot open ROOT (%lu)\n", GetLastError()); return 1; }
    ok = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, (DWORD)len, CERT_STORE_ADD_REPLACE_EXISTING, NULL);
    if (!ok) fprintf(stderr, "win_root_ca: cannot add %s (%lu)\n", argv[1], GetLastError());
    CertCloseStore(store, 0);
    return ok ? 0 : 1;
}
