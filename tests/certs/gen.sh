#!/bin/sh
# Regenerate the test PKI used by the telemetry.h test-suite and by
# examples/telemetry_sink.c.  Keys are random on every run; names, extensions
# and validity windows are always the same.  See README.md in this directory.
#
# Usage: tests/certs/gen.sh [OUTDIR]      (default: the directory of this script)
#
# Needs only the openssl command line tool (checked with OpenSSL 3.0).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/telemetry-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

DAYS=7300            # ~20 years
umask 077            # keys are test keys, but keep habits good

# EC P-256 key, named curve (BearSSL cannot use explicit curve parameters),
# written as PKCS#8 ("PRIVATE KEY").
eckey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null
}
# RSA 2048 key, PKCS#8 ("PRIVATE KEY").
rsakey() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
}

# Extension sections used below.
cat > ext.cnf <<'CNF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[leaf_localhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[leaf_wronghost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# mkca NAME CN  -> NAME.pem NAME.key (self-signed CA)
mkca() {
    eckey "$1.key"
    openssl req -new -x509 -key "$1.key" -out "$1.pem" -days "$DAYS" -sha256 \
        -subj "/O=telemetry.h tests/CN=$2" -config /dev/null \
        -extensions ca_ext -extfile ext.cnf 2>/dev/null ||
    openssl req -new -x509 -key "$1.key" -out "$1.pem" -days "$DAYS" -sha256 \
        -subj "/O=telemetry.h tests/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# mkleaf NAME KEYTYPE CN SECTION CA SERIAL -> NAME.crt (leaf only), NAME.key
mkleaf() {
    "$2key" "$1.key"
    openssl req -new -key "$1.key" -subj "/O=telemetry.h tests/CN=$3" \
        -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" \
        -set_serial "$6" -days "$DAYS" -sha256 \
        -extfile ext.cnf -extensions "$4" -out "$1.crt" 2>/dev/null
}

mkca ca "telemetry.h test CA"
mkca untrusted-ca "telemetry.h UNTRUSTED test CA"

mkleaf server    ec  localhost     leaf_localhost ca           1001
mkleaf server-rsa rsa localhost    leaf_localhost ca           1002
mkleaf wronghost ec  wrong.example leaf_wronghost ca           1003
mkleaf untrusted ec  localhost     leaf_localhost untrusted-ca 2001

# expired: OpenSSL 3.0's "x509 -req" cannot set explicit dates, so use a
# throwaway "openssl ca" database with -startdate/-enddate (both in the past).
eckey expired.key
openssl req -new -key expired.key -subj "/O=telemetry.h tests/CN=localhost" \
    -out expired.csr 2>/dev/null
mkdir -p db/new
: > db/index.txt
echo 1004 > db/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = test_ca
[test_ca]
dir = ./db
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/new
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
organizationName = optional
commonName = supplied
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key \
    -startdate 20000101000000Z -enddate 20010101000000Z \
    -extfile ext.cnf -extensions leaf_localhost -notext \
    -in expired.csr -out expired.crt 2>/dev/null

# Chains: leaf first, then the issuing CA.
cat server.crt     ca.pem           > server.pem
cat server-rsa.crt ca.pem           > server-rsa.pem
cat wronghost.crt  ca.pem           > wronghost.pem
cat expired.crt    ca.pem           > expired.pem
cat untrusted.crt  untrusted-ca.pem > untrusted.pem

for f in ca untrusted-ca server server-rsa wronghost expired untrusted; do
    cp "$f.pem" "$out/$f.pem"
    cp "$f.key" "$out/$f.key"
    chmod 644 "$out/$f.pem" "$out/$f.key"
done
# The untrusted CA's key is not needed by any test; do not ship it.
rm -f "$out/untrusted-ca.key"

# Sanity checks: fail loudly if the generated set is not what tests expect.
cd "$out"
openssl verify -CAfile ca.pem server.pem >/dev/null
openssl verify -CAfile ca.pem -untrusted server-rsa.pem server-rsa.pem >/dev/null
openssl verify -CAfile ca.pem wronghost.pem >/dev/null
openssl verify -CAfile untrusted-ca.pem untrusted.pem >/dev/null
if openssl verify -CAfile ca.pem expired.pem >/dev/null 2>&1; then
    echo "gen.sh: expired.pem unexpectedly verifies" >&2; exit 1
fi
if openssl verify -CAfile ca.pem untrusted.pem >/dev/null 2>&1; then
    echo "gen.sh: untrusted.pem unexpectedly verifies against ca.pem" >&2; exit 1
fi
echo "gen.sh: wrote test certificates to $out"
