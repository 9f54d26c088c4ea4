#!/usr/bin/env bash
# A host given with --tunnel is passed through untouched: the client sees the upstream's own
# certificate and the bytes arrive unchanged. Without --tunnel the same host is intercepted and
# the client sees a leaf issued by regcache's root.
source "$(dirname "$0")/lib.sh"

make_pki "$WORK/pki" registry-b.test registry.test
start_dns registry-b.test registry.test
mkdir -p "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/payload.bin"
start_nginx "$WORK/pki" "$WORK/www"
start_proxy --dns-server "127.0.0.1:$DNS_PORT" --upstream-ca "$WORK/pki/ca.crt" --tunnel registry-b.test

# Trusting only the upstream's test CA works for the tunnelled host: no interception.
timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$WORK/pki/ca.crt" \
  "https://registry-b.test:$NGINX_TLS_PORT/payload.bin" -o "$WORK/tunnelled.bin" ||
  fail "download through the tunnel failed"
cmp -s "$WORK/tunnelled.bin" "$WORK/www/payload.bin" || fail "tunnelled bytes differ"
grep -q 'method=CONNECT host=registry-b.test' "$ACCESS_LOG" || fail "no CONNECT line in the access log"

issuer=$(timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" -connect "registry-b.test:$NGINX_TLS_PORT" \
  -servername registry-b.test </dev/null 2>/dev/null | openssl x509 -noout -issuer)
echo "$issuer" | grep -q "test upstream CA" || fail "tunnelled host shows issuer '$issuer'"

# The same upstream under an intercepted name shows regcache's root as issuer.
issuer=$(timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" -connect "registry.test:$NGINX_TLS_PORT" \
  -servername registry.test </dev/null 2>/dev/null | openssl x509 -noout -issuer)
echo "$issuer" | grep -q "regcache root CA" || fail "intercepted host shows issuer '$issuer'"
timeout 30 curl -fsS --proxy "http://127.0.0.1:$PROXY_PORT" --cacert "$PROXY_BUNDLE" \
  "https://registry.test:$NGINX_TLS_PORT/payload.bin" -o "$WORK/intercepted.bin" ||
  fail "download through interception failed"
cmp -s "$WORK/intercepted.bin" "$WORK/www/payload.bin" || fail "intercepted bytes differ"
log "PASS"
