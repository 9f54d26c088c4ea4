#!/usr/bin/env bash
# Makes a throwaway test CA and one server certificate for tests, in OUTDIR:
#   ca.crt ca.key server.crt server.key
# The server certificate carries every NAME as a DNS SAN plus IP:127.0.0.1 (Go clients need
# SANs). ECDSA P-256, valid for two days. Nothing here is committed: tests run it at start.
# Usage: certs/make-test-pki.sh OUTDIR NAME [NAME...]
set -euo pipefail
out="$1"; shift
mkdir -p "$out"
san="IP:127.0.0.1"
for name in "$@"; do san="$san,DNS:$name"; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/O=regcache tests/CN=test upstream CA $(date +%s%N)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${1:-localhost}" \
  -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 2 -out "$out/server.crt" \
  -extfile <(printf "subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n" "$san") \
  2>/dev/null
rm -f "$out/server.csr" "$out/ca.srl"
chmod 600 "$out"/*.key
