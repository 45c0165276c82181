#!/usr/bin/env bash
# Makes the certificates the TLS tests use, in DIR, with openssl (and
# faketime for the expired ones). EC P-256 keys: quick to make, and
# mbedTLS 2.28 (nng's TLS) speaks them.
#   ca.pem ca.key          the CA hbmon-server trusts for clients
#   server.pem server.key  127.0.0.1's certificate, signed by ca
#   client.pem client.key  a client certificate signed by ca
#   client.both.pem        the same, certificate and key in one file
#                          (libhbmon-client's hbmon_client_set_tls)
#   ca2.pem ...            another CA, with server2.* and client2.*
#   expired.pem/.key       a server certificate signed by ca, expired
#   client-expired.pem/.key a client certificate signed by ca, expired
# mbedTLS 2.28 checks the server name only against DNS subjectAltNames,
# so 127.0.0.1 is named as DNS:127.0.0.1.
set -euo pipefail
dir=$1
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3 \
    -subj "/CN=hbmon test $1" 2>/dev/null
}

# leaf NAME CA CN EXT [faketime offset]
leaf() {
  local name=$1 ca=$2 cn=$3 ext=$4 when=${5:-}
  key "$name.key"
  openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
  printf '%s\n' "$ext" > "$name.ext"
  local run=()
  if [ -n "$when" ]; then run=(faketime -f "$when"); fi
  "${run[@]}" openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
    -CAcreateserial -out "$name.pem" -days 1 -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

server_ext="subjectAltName=DNS:127.0.0.1,DNS:localhost"
client_ext="extendedKeyUsage=clientAuth"

ca ca
leaf server ca 127.0.0.1 "$server_ext"
leaf client ca robot-R1 "$client_ext"
cat client.pem client.key > client.both.pem
leaf expired ca 127.0.0.1 "$server_ext" -10d
leaf client-expired ca robot-R1 "$client_ext" -10d
ca ca2
leaf server2 ca2 127.0.0.1 "$server_ext"
leaf client2 ca2 robot-R1 "$client_ext"
cat client2.pem client2.key > client2.both.pem
chmod 600 ./*.key
