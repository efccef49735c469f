#!/usr/bin/env bash
# Makes the certificates the TLS tests use, in DIR, with the openssl CLI:
#   ca.pem ca.key           the test CA
#   server.pem server.key   localhost, 127.0.0.1, ::1; signed by the CA
#   wronghost.pem .key      only example.com; signed by the CA
#   expired.pem .key        localhost, expired a year ago; signed by the CA
#   alice.pem alice.key     a client certificate, CN=alice; signed by the CA
#   badname.pem .key        a client certificate whose CN is no user name ("group:ops")
#   ca2.pem, server2.pem .key   a second CA and a localhost certificate it signed (reloads)
# Keys are P-256. Valid for 2 days (expired.pem excepted).
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }

ca() {  # NAME SUBJECT
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.pem" -days 2 -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
}

# NAME CA CN SAN EKU [START END]: a leaf signed by CA, dated with `openssl ca` when START
# and END are given (openssl x509 -req cannot date a certificate in the past).
leaf() {
  local name=$1 ca=$2 cn=$3 san=$4 eku=$5
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" \
    -out "$name.csr" -subj "/CN=$cn"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n%s' \
    "$eku" "${san:+subjectAltName=$san}" > "$name.ext"
  if [ $# -ge 7 ]; then
    mkdir -p db && : > db/index && echo 01 > db/serial
    cat > db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = db/index
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
    ossl ca -batch -config db/ca.cnf -cert "$ca.pem" -keyfile "$ca.key" -in "$name.csr" \
      -out "$name.pem" -startdate "$6" -enddate "$7" -extfile "$name.ext" -notext
  else
    ossl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
      -out "$name.pem" -days 2 -extfile "$name.ext"
  fi
  rm -f "$name.csr" "$name.ext"
}

ca ca "ferry test CA"
ca ca2 "ferry test CA 2"
leaf server ca localhost "DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth
leaf server2 ca2 localhost "DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth
leaf wronghost ca example.com "DNS:example.com" serverAuth
leaf expired ca localhost "DNS:localhost,IP:127.0.0.1,IP:::1" serverAuth \
  "$(date -u -d '2 years ago' +%Y%m%d%H%M%SZ)" "$(date -u -d '1 year ago' +%Y%m%d%H%M%SZ)"
leaf alice ca alice "" clientAuth
leaf badname ca "group:ops" "" clientAuth
rm -rf db ./*.srl
