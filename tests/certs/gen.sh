#!/bin/sh
# Regenerate the test PKI used by the telemetry.h test-suite and by
# examples/telemetry_sink.c.  Keys are random on every run; names, serials,
# extensions and validity windows are always the same.  See README.md here.
#
# Usage: tests/certs/gen.sh [OUTDIR]      (default: the directory of this script)
#
# Needs only the openssl command line tool (written against OpenSSL 3.0, whose
# "x509 -req" cannot set explicit dates, hence "openssl ca" for all signing).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/telemetry-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

# Fixed validity windows, so that the committed files do not depend on the
# clock of the machine that generated them (a generation-time notBefore would
# make them "not yet valid" on a machine whose clock is slightly behind).
VALID_FROM=20200101000000Z
VALID_TO=20450101000000Z        # 25 years; UTCTime, readable by every decoder
EXPIRED_FROM=20000101000000Z
EXPIRED_TO=20010101000000Z

# EC P-256 key with a named curve (BearSSL cannot use explicit curve
# parameters), written as PKCS#8 ("-----BEGIN PRIVATE KEY-----").
eckey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$1"
}
# RSA 2048 key, PKCS#8.
rsakey() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
}

cat > ca.cnf <<'CNF'
[ca]
default_ca = test_ca

[test_ca]
dir = .
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/new
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = yes

[policy_any]
organizationName = optional
commonName = supplied

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[leaf_localhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $ENV::LEAF_KU
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[leaf_wronghost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $ENV::LEAF_KU
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
mkdir new
: > index.txt

# sign NAME CN SERIAL SECTION FROM TO [ISSUER]  -> NAME.crt
# Without ISSUER the certificate is self-signed (used for the two CAs).
sign() {
    name=$1 cn=$2 section=$4 from=$5 to=$6 issuer=${7:-}
    openssl req -new -key "$name.key" -subj "/O=telemetry.h tests/CN=$cn" -out "$name.csr"
    echo "$3" > serial
    if [ -n "$issuer" ]; then
        signer="-cert $issuer.crt -keyfile $issuer.key"
    else
        signer="-selfsign -keyfile $name.key"
    fi
    # shellcheck disable=SC2086  # $signer is a word list of plain file names
    openssl ca -batch -config ca.cnf -notext -md "${SIGN_MD:-sha256}" -startdate "$from" -enddate "$to" \
        -extensions "$section" -in "$name.csr" -out "$name.crt" $signer \
        2>ca.log || { cat ca.log >&2; exit 1; }
}

# Key usage of leaf certificates: ECDSA keys only sign; RSA keys may also be
# used for (static RSA) key encipherment.
LEAF_KU=digitalSignature
export LEAF_KU

eckey ca.key
sign ca "telemetry.h test CA" 01 ca_ext "$VALID_FROM" "$VALID_TO"
eckey untrusted-ca.key
sign untrusted-ca "telemetry.h UNTRUSTED test CA" 02 ca_ext "$VALID_FROM" "$VALID_TO"

eckey server.key
sign server localhost 1001 leaf_localhost "$VALID_FROM" "$VALID_TO" ca
rsakey server-rsa.key
LEAF_KU="digitalSignature, keyEncipherment"
sign server-rsa localhost 1002 leaf_localhost "$VALID_FROM" "$VALID_TO" ca
LEAF_KU=digitalSignature
eckey wronghost.key
sign wronghost wrong.example 1003 leaf_wronghost "$VALID_FROM" "$VALID_TO" ca
eckey expired.key
sign expired localhost 1004 leaf_localhost "$EXPIRED_FROM" "$EXPIRED_TO" ca
eckey untrusted.key
sign untrusted localhost 2001 leaf_localhost "$VALID_FROM" "$VALID_TO" untrusted-ca
# Weaker than clients accept today (security review F18): a SHA-1 signature, a 1024-bit RSA key.
eckey sha1.key
SIGN_MD=sha1 sign sha1 localhost 1005 leaf_localhost "$VALID_FROM" "$VALID_TO" ca
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weakrsa.key 2>/dev/null
LEAF_KU="digitalSignature, keyEncipherment"
sign weakrsa localhost 1006 leaf_localhost "$VALID_FROM" "$VALID_TO" ca
LEAF_KU=digitalSignature

# Files as the tests use them: CAs alone; leaves followed by their issuer.
cp ca.crt ca.pem
cp untrusted-ca.crt untrusted-ca.pem
for f in server server-rsa wronghost expired sha1 weakrsa; do cat "$f.crt" ca.crt > "$f.pem"; done
cat untrusted.crt untrusted-ca.crt > untrusted.pem

for f in ca server server-rsa wronghost expired untrusted sha1 weakrsa; do
    cp "$f.pem" "$f.key" "$out/"
done
cp untrusted-ca.pem "$out/"    # its key is not needed by any test: not shipped
(cd "$out" && chmod 644 ca.pem ca.key server.pem server.key server-rsa.pem \
    server-rsa.key wronghost.pem wronghost.key expired.pem expired.key \
    untrusted.pem untrusted.key untrusted-ca.pem sha1.pem sha1.key weakrsa.pem weakrsa.key)

# Sanity checks: fail loudly if the set is not what the tests expect.
cd "$out"
for f in server server-rsa wronghost; do
    openssl verify -CAfile ca.pem "$f.pem" >/dev/null
done
openssl verify -CAfile untrusted-ca.pem untrusted.pem >/dev/null
if openssl verify -CAfile ca.pem expired.pem >/dev/null 2>&1; then
    echo "gen.sh: expired.pem unexpectedly verifies" >&2; exit 1
fi
if openssl verify -CAfile ca.pem untrusted.pem >/dev/null 2>&1; then
    echo "gen.sh: untrusted.pem unexpectedly verifies against ca.pem" >&2; exit 1
fi
echo "gen.sh: wrote test certificates to $out"
